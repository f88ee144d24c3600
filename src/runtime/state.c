/* state.c - the container record on disk and the status it implies. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#define STATE_MAX_SIZE (4u << 20)

int state_dir(const struct hull_runtime *rt, const char *id, char **ret, hull_error **err)
{
	if (asprintf(ret, "%s/%s", rt->root, id) < 0)
		return hull_error_set(err, ENOMEM, "state directory of '%s'", id);
	return 0;
}

int state_lock(const struct hull_runtime *rt, const char *id, hull_error **err)
{
	_cleanup_free_ char *dir = NULL;
	if (state_dir(rt, id, &dir, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return hull_error_set(err, 0, "container '%s' does not exist", id);
		return hull_error_set(err, errno, "open '%s'", dir);
	}
	int fd = openat(dfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hull_error_set(err, errno, "open '%s/%s'", dir, LOCK_FILE);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return hull_error_set(err, e, "lock '%s/%s'", dir, LOCK_FILE);
		}
	}
	return fd;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int state_load(const struct hull_runtime *rt, const char *id, struct rt_record **ret, hull_error **err)
{
	_cleanup_free_ char *dir = NULL;
	if (state_dir(rt, id, &dir, err) < 0)
		return -1;
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOENT)
			return hull_error_set(err, 0, "container '%s' does not exist", id);
		return hull_error_set(err, errno, "open '%s'", dir);
	}
	_cleanup_free_ char *buf = NULL;
	int r = fs_read_file_at(dfd, STATE_FILE, STATE_MAX_SIZE, &buf, NULL);
	if (r == -ENOENT) {
		/* create died before its first write: a record with no process */
		struct rt_record *rec = calloc(1, sizeof(*rec));
		if (!rec)
			return hull_error_set(err, ENOMEM, "load state of '%s'", id);
		rec->id = strdup(id);
		rec->status_hint = strdup("creating");
		*ret = rec;
		return 0;
	}
	if (r < 0)
		return hull_error_set(err, -r, "read '%s/%s'", dir, STATE_FILE);
	json_error_t jerr;
	json_t *j = json_loads(buf, 0, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return hull_error_set(err, 0, "parse '%s/%s': %s", dir, STATE_FILE, jerr.text);
	}
	struct rt_record *rec = calloc(1, sizeof(*rec));
	if (!rec) {
		json_decref(j);
		return hull_error_set(err, ENOMEM, "load state of '%s'", id);
	}
	rec->id = strdup(id);
	rec->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	rec->start_time = (uint64_t)json_integer_value(json_object_get(j, "start_time"));
	rec->bundle = dup_or_null(jstr(j, "bundle"));
	rec->rootfs = dup_or_null(jstr(j, "rootfs"));
	rec->created = dup_or_null(jstr(j, "created"));
	rec->owner = dup_or_null(jstr(j, "owner"));
	rec->status_hint = dup_or_null(jstr(j, "status"));
	json_t *ann = json_object_get(j, "annotations");
	rec->annotations = json_is_object(ann) ? json_incref(ann) : NULL;
	json_t *cg = json_object_get(j, "cgroup");
	if (json_is_object(cg)) {
		hull_error *e = NULL;
		if (cgroup_from_json(cg, &rec->cgroup, &e) < 0) {
			json_decref(j);
			rt_record_free(rec);
			hull_error_wrap(&e, "load state of '%s'", id);
			*err = e;
			return -1;
		}
	}
	json_decref(j);
	*ret = rec;
	return 0;
}

int state_save(const struct hull_runtime *rt, const struct rt_record *rec, hull_error **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL;
	if (state_dir(rt, rec->id, &dir, err) < 0)
		return -1;
	if (asprintf(&path, "%s/%s", dir, STATE_FILE) < 0)
		return hull_error_set(err, ENOMEM, "save state");
	json_t *j = json_object();
	json_object_set_new(j, "id", json_string(rec->id));
	json_object_set_new(j, "pid", json_integer(rec->pid));
	json_object_set_new(j, "start_time", json_integer((json_int_t)rec->start_time));
	if (rec->bundle)
		json_object_set_new(j, "bundle", json_string(rec->bundle));
	if (rec->rootfs)
		json_object_set_new(j, "rootfs", json_string(rec->rootfs));
	if (rec->created)
		json_object_set_new(j, "created", json_string(rec->created));
	if (rec->owner)
		json_object_set_new(j, "owner", json_string(rec->owner));
	if (rec->status_hint)
		json_object_set_new(j, "status", json_string(rec->status_hint));
	if (rec->annotations)
		json_object_set(j, "annotations", rec->annotations);
	if (rec->cgroup)
		json_object_set_new(j, "cgroup", cgroup_to_json(rec->cgroup));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return hull_error_set(err, ENOMEM, "save state of '%s'", rec->id);
	/* no fsync: the state root is on tmpfs (/run) and dies with the boot */
	int r = fs_write_file_atomic(path, s, strlen(s), 0600, false);
	free(s);
	if (r < 0)
		return hull_error_set(err, -r, "write '%s'", path);
	return 0;
}

int state_load_config(const struct hull_runtime *rt, const char *id, struct oci_config **ret, hull_error **err)
{
	_cleanup_free_ char *dir = NULL;
	if (state_dir(rt, id, &dir, err) < 0)
		return -1;
	if (oci_config_load(dir, ret, err) < 0)
		return hull_error_wrap(err, "load the config of container '%s'", id);
	return 0;
}

void rt_record_free(struct rt_record *rec)
{
	if (!rec)
		return;
	free(rec->id);
	free(rec->bundle);
	free(rec->rootfs);
	free(rec->created);
	free(rec->owner);
	free(rec->status_hint);
	json_decref(rec->annotations);
	cgroup_free(rec->cgroup);
	free(rec);
}

const char *state_status(const struct hull_runtime *rt, const struct rt_record *rec)
{
	if (rec->status_hint && strcmp(rec->status_hint, "creating") == 0) {
		/* still being created, or create died: alive only if its pid is */
		if (rec->pid > 0 && proc_alive(rec->pid, rec->start_time))
			return "creating";
		return rec->pid > 0 ? "stopped" : "creating";
	}
	if (!proc_alive(rec->pid, rec->start_time))
		return "stopped";
	_cleanup_free_ char *dir = NULL, *fifo = NULL;
	hull_error *e = NULL;
	if (state_dir(rt, rec->id, &dir, &e) == 0 && asprintf(&fifo, "%s/%s", dir, EXEC_FIFO) >= 0 &&
	    access(fifo, F_OK) == 0)
		return "created";
	hull_error_free(e);
	if (rec->cgroup && rec->cgroup->created) {
		bool frozen = false;
		e = NULL;
		if (cgroup_is_frozen(rec->cgroup, &frozen, &e) == 0 && frozen)
			return "paused";
		hull_error_free(e);
	}
	return "running";
}

json_t *state_json(const struct hull_runtime *rt, const struct rt_record *rec, const char *status)
{
	if (!status)
		status = state_status(rt, rec);
	json_t *j = json_object();
	json_object_set_new(j, "ociVersion", json_string(OCI_VERSION));
	json_object_set_new(j, "id", json_string(rec->id));
	json_object_set_new(j, "status", json_string(status));
	json_object_set_new(j, "pid", json_integer(strcmp(status, "stopped") == 0 ? 0 : rec->pid));
	json_object_set_new(j, "bundle", json_string(rec->bundle ? rec->bundle : ""));
	json_object_set_new(j, "rootfs", json_string(rec->rootfs ? rec->rootfs : ""));
	json_object_set_new(j, "created", json_string(rec->created ? rec->created : ""));
	json_object_set_new(j, "owner", json_string(rec->owner ? rec->owner : ""));
	json_object_set_new(j, "annotations", rec->annotations ? json_incref(rec->annotations) : json_object());
	return j;
}

char *state_json_string(const struct hull_runtime *rt, const struct rt_record *rec, const char *status)
{
	json_t *j = state_json(rt, rec, status);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

char *state_now_rfc3339(void)
{
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	char buf[64];
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", now.tv_nsec);
	return strdup(buf);
}

int sync_send(int fd, enum sync_type type, int value, const char *msg)
{
	struct sync_msg m;
	memset(&m, 0, offsetof(struct sync_msg, msg) + 1);
	m.type = type;
	m.value = value;
	size_t len = 0;
	if (msg) {
		len = strlen(msg);
		if (len >= sizeof(m.msg))
			len = sizeof(m.msg) - 1;
		memcpy(m.msg, msg, len);
	}
	m.msg[len] = '\0';
	size_t total = offsetof(struct sync_msg, msg) + len + 1;
	for (;;) {
		ssize_t n = send(fd, &m, total, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int sync_recv(int fd, struct sync_msg *m)
{
	ssize_t n;
	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < offsetof(struct sync_msg, msg) + 1)
		return -EBADMSG;
	m->msg[sizeof(m->msg) - 1] = '\0';
	((char *)m)[n < (ssize_t)sizeof(*m) ? n : (ssize_t)sizeof(*m) - 1] = '\0';
	return 0;
}

int sync_expect(int fd, enum sync_type type, struct sync_msg *m, hull_error **err)
{
	int r = sync_recv(fd, m);
	if (r == -ECONNRESET)
		return hull_error_set(err, 0, "the container's init exited before it was ready");
	if (r < 0)
		return hull_error_set(err, -r, "read from the container's init");
	if (m->type == SYNC_ERROR) {
		hull_error_set(err, 0, "%s", m->msg);
		(*err)->status = m->value;
		return -1;
	}
	if (m->type != (int)type)
		return hull_error_set(err, 0, "unexpected message %d from the container's init (wanted %d)",
				      m->type, (int)type);
	return 0;
}

int sync_wait_ready(int fd, enum sync_type want, const char *who, int *ret_pty, hull_error **err)
{
	struct sync_msg m;
	for (;;) {
		if (sync_recv(fd, &m) < 0)
			return hull_error_set(err, 0, "%s exited before it was ready", who);
		if (m.type != SYNC_PTY_MASTER)
			break;
		int pty = proc_recv_fd(fd);
		if (pty < 0)
			return hull_error_set(err, -pty, "receive the pty master");
		if (*ret_pty >= 0)
			close(*ret_pty);
		*ret_pty = pty;
	}
	if (m.type == SYNC_ERROR) {
		hull_error_set(err, 0, "%s", m.msg);
		(*err)->status = m.value;
		return -1;
	}
	if (m.type != (int)want)
		return hull_error_set(err, 0, "unexpected message %d from %s", m.type, who);
	return 0;
}
