/* store.c - the image store: options, opening, the writer lock and its
 * "dirty" marker, staging under tmp/, and blobs.  Layers are in
 * store_layers.c, SQLite in store_db.c, sweeping and checks in
 * store_gc.c. */
#include "image/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#define CONF_LINE_MAX 4096
#define CONF_SIZE_MAX (1u << 20)

/* ---- options ---- */

void store_opts_clear(struct store_opts *o)
{
	if (!o)
		return;
	free((char *)o->root);
	free((char *)o->runroot);
	free((char *)o->driver);
	memset(o, 0, sizeof(*o));
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h == '/')
		return h;
	struct passwd *pw = getpwuid(geteuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

static char *conf_path(void)
{
	const char *env = getenv("HULL_STORAGE_CONF");
	char *p = NULL;
	if (env && *env)
		return strdup(env);
	if (geteuid() == 0)
		return strdup("/etc/hull/storage.conf");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && *xdg == '/')
		return asprintf(&p, "%s/hull/storage.conf", xdg) < 0 ? NULL : p;
	return asprintf(&p, "%s/.config/hull/storage.conf", home_dir()) < 0 ? NULL : p;
}

/* A TOML-ish value: "double quoted" (\" \\ escapes), 'single quoted' or
 * bare up to a '#' comment.  *ret malloc'd. */
static int conf_value(const char *v, char **ret)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '"' || *v == '\'') {
		char q = *v++;
		_cleanup_free_ char *out = malloc(strlen(v) + 1);
		if (!out)
			return -ENOMEM;
		size_t n = 0;
		for (; *v && *v != q; v++) {
			if (q == '"' && *v == '\\' && (v[1] == '"' || v[1] == '\\'))
				v++;
			out[n++] = *v;
		}
		if (*v != q)
			return -EINVAL;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		if (*v && *v != '#')
			return -EINVAL;
		out[n] = '\0';
		*ret = TAKE_PTR(out);
		return 0;
	}
	size_t n = strcspn(v, "#");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -EINVAL;
	*ret = strndup(v, n);
	return *ret ? 0 : -ENOMEM;
}

static int conf_line(char *line, bool *in_storage, struct store_opts *c)
{
	char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		p[--n] = '\0';
	if (*p == '\0' || *p == '#')
		return 0;
	if (*p == '[') {
		char *end = strchr(p, ']');
		if (!end)
			return -EINVAL;
		*end = '\0';
		*in_storage = strcmp(p + 1, "storage") == 0;
		return 0;
	}
	char *eq = strchr(p, '=');
	if (!eq)
		return -EINVAL;
	char *k_end = eq;
	while (k_end > p && (k_end[-1] == ' ' || k_end[-1] == '\t'))
		k_end--;
	*k_end = '\0';
	const char **slot = NULL;
	if (*in_storage && strcmp(p, "driver") == 0)
		slot = &c->driver;
	else if (*in_storage && strcmp(p, "graphroot") == 0)
		slot = &c->root;
	else if (*in_storage && strcmp(p, "runroot") == 0)
		slot = &c->runroot;
	char *v = NULL;
	int r = conf_value(eq + 1, &v);
	if (r < 0)
		return r;
	if (!slot) {
		free(v);
		return 0;
	}
	free((char *)*slot);
	*slot = v;
	return 0;
}

static int conf_parse(const char *path, struct store_opts *c, hull_error **err)
{
	_cleanup_free_ char *buf = NULL;
	int r = fs_read_file_at(AT_FDCWD, path, CONF_SIZE_MAX, &buf, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hull_error_set(err, -r, "read '%s'", path);
	bool in_storage = false;
	unsigned lineno = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		r = conf_line(line, &in_storage, c);
		if (r == -ENOMEM)
			return hull_error_set(err, ENOMEM, "parse '%s'", path);
		if (r < 0)
			return hull_error_set(err, EINVAL, "parse '%s': line %u: expected key = \"value\"", path, lineno);
	}
	return 0;
}

static int default_dirs(char **ret_root, char **ret_runroot)
{
	if (geteuid() == 0) {
		*ret_root = strdup("/var/lib/hull");
		*ret_runroot = strdup("/run/hull");
		return *ret_root && *ret_runroot ? 0 : -ENOMEM;
	}
	const char *data = getenv("XDG_DATA_HOME");
	int r = data && *data == '/' ? asprintf(ret_root, "%s/hull", data)
				     : asprintf(ret_root, "%s/.local/share/hull", home_dir());
	if (r < 0) {
		*ret_root = NULL;
		return -ENOMEM;
	}
	const char *run = getenv("XDG_RUNTIME_DIR");
	char user_run[64];
	snprintf(user_run, sizeof(user_run), "/run/user/%u", (unsigned)geteuid());
	if (run && *run == '/')
		r = asprintf(ret_runroot, "%s/hull", run);
	else if (access(user_run, W_OK) == 0)
		r = asprintf(ret_runroot, "%s/hull", user_run);
	else
		r = asprintf(ret_runroot, "/tmp/hull-run-%u", (unsigned)geteuid());
	if (r < 0) {
		*ret_runroot = NULL;
		return -ENOMEM;
	}
	return 0;
}

static const char *pick(const char *a, const char *b, const char *c)
{
	return a && *a ? a : b && *b ? b : c;
}

int store_resolve_opts(const struct store_opts *in, struct store_opts *ret, hull_error **err)
{
	struct store_opts conf = { 0 };
	_cleanup_free_ char *path = conf_path();
	_cleanup_free_ char *def_root = NULL, *def_run = NULL;
	memset(ret, 0, sizeof(*ret));
	if (!path || default_dirs(&def_root, &def_run) < 0)
		return hull_error_set(err, ENOMEM, "storage options");
	if (conf_parse(path, &conf, err) < 0) {
		store_opts_clear(&conf);
		return -1;
	}
	const struct store_opts none = { 0 };
	if (!in)
		in = &none;
	const char *root = pick(in->root, conf.root, def_root);
	const char *runroot = pick(in->runroot, conf.runroot, def_run);
	const char *driver = pick(in->driver, conf.driver, NULL);
	ret->root = strdup(root);
	ret->runroot = strdup(runroot);
	ret->driver = driver ? strdup(driver) : NULL;
	store_opts_clear(&conf);
	if (!ret->root || !ret->runroot || (driver && !ret->driver)) {
		store_opts_clear(ret);
		return hull_error_set(err, ENOMEM, "storage options");
	}
	return 0;
}

/* ---- small shared helpers ---- */

const char *store_owner(struct image_store *s)
{
	pid_t pid = getpid();
	if (s->owner_pid != pid) {
		uint64_t start = 0;
		(void)proc_stat(pid, &start, NULL);
		snprintf(s->owner, sizeof(s->owner), "%d-%llu", (int)pid, (unsigned long long)start);
		s->owner_pid = pid;
	}
	return s->owner;
}

const char *store_layers_dir(const struct image_store *s)
{
	return s->vfs ? "vfs" : "overlay";
}

void store_now_rfc3339(char buf[static 40])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 40 - n, ".%09ldZ", (long)ts.tv_nsec);
}

void store_crash_point(const char *point)
{
	const char *want = getenv("HULL_TEST_CRASH_AT");
	if (want && strcmp(want, point) == 0)
		raise(SIGKILL);
}

static int rm_children(int dfd)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = store_rm_at(dirfd(d), de->d_name);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	return ret;
}

int store_rm_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
			return 0;
		return -errno;
	}
	/* a directory we cannot read or write into (a layer's 0500 dir, as
	 * an ordinary user): make it ours to empty first */
	if ((st.st_mode & S_IRWXU) != S_IRWXU && geteuid() != 0)
		(void)fchmodat(dirfd, name, st.st_mode | S_IRWXU, 0);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat fst;
	if (fstat(fd, &fst) == 0) {
		struct stat pst;
		/* never descend into another mount (a leftover mount point) */
		if (fstatat(dirfd, ".", &pst, 0) == 0 && pst.st_dev != fst.st_dev) {
			close(fd);
			return -EBUSY;
		}
	}
	int ret = rm_children(fd);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && ret == 0)
		ret = -errno;
	return ret;
}

bool store_tmp_entry_stale(const char *name)
{
	char *end;
	errno = 0;
	long pid = strtol(name, &end, 10);
	if (errno || end == name || *end != '-' || pid <= 0 || pid > INT_MAX)
		return true;
	const char *p = end + 1;
	unsigned long long start = strtoull(p, &end, 10);
	if (end == p || (*end != '-' && *end != '\0'))
		return true;
	return !proc_alive((pid_t)pid, start);
}

int store_tmp_entry(struct image_store *s, bool dir, char **ret_name, int *ret_fd)
{
	static unsigned long counter;
	for (int tries = 0; tries < 1000; tries++) {
		char *name = NULL;
		if (asprintf(&name, "%s-%lu", store_owner(s), ++counter) < 0)
			return -ENOMEM;
		_cleanup_free_ char *rel = NULL;
		if (asprintf(&rel, "tmp/%s", name) < 0) {
			free(name);
			return -ENOMEM;
		}
		int r;
		if (dir) {
			r = mkdirat(s->root_fd, rel, 0700) < 0 ? -errno : 0;
		} else {
			r = openat(s->root_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (r < 0)
				r = -errno;
			else if (ret_fd)
				*ret_fd = r;
			else
				close(r);
		}
		if (r == -EEXIST) {
			free(name);
			continue;
		}
		if (r < 0) {
			free(name);
			return r;
		}
		*ret_name = name;
		return 0;
	}
	return -EEXIST;
}

int store_tmp_dir(struct image_store *s, char **ret, hull_error **err)
{
	_cleanup_free_ char *name = NULL;
	int r = store_tmp_entry(s, true, &name, NULL);
	if (r < 0)
		return hull_error_set(err, -r, "make staging directory in '%s/tmp'", s->root);
	if (asprintf(ret, "%s/tmp/%s", s->root, name) < 0)
		return hull_error_set(err, ENOMEM, "make staging directory");
	return 0;
}

int store_tmp_remove(struct image_store *s, const char *path)
{
	size_t n = strlen(s->root);
	if (strncmp(path, s->root, n) != 0 || strncmp(path + n, "/tmp/", 5) != 0 || strchr(path + n + 5, '/') ||
	    strcmp(path + n + 5, "..") == 0 || path[n + 5] == '\0')
		return -EINVAL;
	_cleanup_close_ int tfd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return -errno;
	return store_rm_at(tfd, path + n + 5);
}

int store_trash_at(struct image_store *s, int dirfd, const char *name, char **trash_name)
{
	static unsigned long k;
	if (!*trash_name) {
		int r = store_tmp_entry(s, true, trash_name, NULL);
		if (r < 0)
			return r;
	}
	char dst[PATH_MAX];
	snprintf(dst, sizeof(dst), "tmp/%s/%lu", *trash_name, ++k);
	if (renameat(dirfd, name, s->root_fd, dst) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

void store_trash_empty(struct image_store *s, char **trash_name)
{
	if (!*trash_name)
		return;
	_cleanup_close_ int tfd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd >= 0)
		(void)store_rm_at(tfd, *trash_name);
	free(*trash_name);
	*trash_name = NULL;
}

/* ---- lock ---- */

static int lock_raw(struct image_store *s, hull_error **err)
{
	int fd = openat(s->root_fd, "store.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error_set(err, errno, "open '%s/store.lock'", s->root);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return hull_error_set(err, e, "lock '%s/store.lock'", s->root);
		}
	}
	s->lock_fd = fd;
	s->lock_depth = 1;
	return 0;
}

int store_lock(struct image_store *s, hull_error **err)
{
	if (s->lock_depth > 0) {
		s->lock_depth++;
		return 0;
	}
	if (lock_raw(s, err) < 0)
		return -1;
	if (store_sweep_locked(s, err) < 0) {
		store_unlock(s);
		return hull_error_wrap(err, "lock store '%s'", s->root);
	}
	return 0;
}

void store_unlock(struct image_store *s)
{
	if (s->lock_depth == 0 || --s->lock_depth > 0)
		return;
	close(s->lock_fd);
	s->lock_fd = -1;
}

int store_dirty_begin(struct image_store *s, hull_error **err)
{
	int fd = openat(s->root_fd, "dirty", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error_set(err, errno, "create '%s/dirty'", s->root);
	close(fd);
	return 0;
}

void store_dirty_end(struct image_store *s)
{
	(void)unlinkat(s->root_fd, "dirty", 0);
}

/* ---- open / close ---- */

/* p made absolute (relative to the working directory), without trailing
 * slashes, so paths built from it compare equal. */
static char *absolute(const char *p)
{
	char cwd[PATH_MAX];
	char *out = NULL;
	if (p[0] == '/')
		out = strdup(p);
	else if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, p) < 0)
		return NULL;
	if (!out)
		return NULL;
	for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
		out[n - 1] = '\0';
	return out;
}

static int make_dirs(struct image_store *s, hull_error **err)
{
	static const char *const dirs[] = { "tmp", "blobs", "blobs/sha256" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(s->root_fd, dirs[i], 0700) < 0 && errno != EEXIST)
			return hull_error_set(err, errno, "create '%s/%s'", s->root, dirs[i]);
	return 0;
}

static int check_driver_name(const char *d, const char **ret, hull_error **err)
{
	if (strcmp(d, "overlay") == 0 || strcmp(d, "overlay2") == 0)
		*ret = "overlay";
	else if (strcmp(d, "vfs") == 0)
		*ret = "vfs";
	else
		return hull_error_set(err, EINVAL, "unknown storage driver '%s' (overlay or vfs)", d);
	return 0;
}

/* The driver is chosen once per store (given, else overlay if it mounts
 * here, else vfs) and kept in the meta table. */
static int choose_driver(struct image_store *s, const char *wanted, hull_error **err)
{
	const char *want = NULL;
	if (wanted && check_driver_name(wanted, &want, err) < 0)
		return -1;
	_cleanup_free_ char *have = NULL;
	if (db_meta_get(s, "driver", &have, err) < 0)
		return -1;
	if (!have) {
		if (lock_raw(s, err) < 0)
			return -1;
		int r = db_meta_get(s, "driver", &have, err);
		if (r == 0 && !have) {
			s->vfs = false;
			const char *pick_d = want ? want : (geteuid() == 0 && store_overlay_works(s)) ? "overlay" : "vfs";
			if ((r = db_begin(s, err)) == 0) {
				r = db_meta_set(s, "driver", pick_d, err);
				r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
			}
			if (r == 0 && !(have = strdup(pick_d)))
				r = hull_error_set(err, ENOMEM, "choose driver");
		}
		store_unlock(s);
		if (r < 0)
			return -1;
	}
	if (want && strcmp(want, have) != 0)
		return hull_error_set(err, EINVAL, "store '%s' uses the '%s' storage driver, not '%s'", s->root, have,
				      want);
	s->driver = TAKE_PTR(have);
	s->vfs = strcmp(s->driver, "vfs") == 0;
	if (mkdirat(s->root_fd, store_layers_dir(s), 0700) < 0 && errno != EEXIST)
		return hull_error_set(err, errno, "create '%s/%s'", s->root, store_layers_dir(s));
	return 0;
}

static int open_store(struct image_store *s, const struct store_opts *o, hull_error **err)
{
	s->root = absolute(o->root);
	s->runroot = absolute(o->runroot);
	if (!s->root || !s->runroot)
		return hull_error_set(err, ENOMEM, "open store");
	int r = fs_mkdir_p(s->root, 0700);
	if (r < 0)
		return hull_error_set(err, -r, "create store '%s'", s->root);
	s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return hull_error_set(err, errno, "open store '%s'", s->root);
	if (make_dirs(s, err) < 0 || db_open(s, err) < 0 || choose_driver(s, o->driver, err) < 0)
		return -1;
	return 0;
}

int store_open(const struct store_opts *o, struct image_store **ret, hull_error **err)
{
	struct store_opts resolved = { 0 };
	if (!o || !o->root || !o->runroot) {
		if (store_resolve_opts(o, &resolved, err) < 0)
			return -1;
		o = &resolved;
	}
	struct image_store *s = calloc(1, sizeof(*s));
	if (!s) {
		store_opts_clear(&resolved);
		return hull_error_set(err, ENOMEM, "open store");
	}
	s->root_fd = -1;
	s->lock_fd = -1;
	int r = open_store(s, o, err);
	store_opts_clear(&resolved);
	if (r < 0) {
		store_close(s);
		return -1;
	}
	*ret = s;
	return 0;
}

/* Drop what this process pinned but made no image of, and collect it. */
static void close_unpin(struct image_store *s)
{
	static const char q_has[] = "SELECT 1 FROM pins WHERE owner=?1 LIMIT 1";
	hull_error *err = NULL;
	sqlite3_stmt *st = NULL;
	if (db_stmt(s, q_has, &st, &err) < 0) {
		hull_error_free(err);
		return;
	}
	sqlite3_bind_text(st, 1, store_owner(s), -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW && store_lock(s, &err) == 0) {
		char *trash = NULL;
		char *owners[2] = { (char *)store_owner(s), NULL };
		(void)gc_unpin_locked(s, owners, &trash, &err);
		store_unlock(s);
		store_trash_empty(s, &trash);
	}
	hull_error_free(err);
}

void store_close(struct image_store *s)
{
	if (!s)
		return;
	if (s->db && s->owner_pid == getpid())
		close_unpin(s);
	while (s->lock_depth > 0)
		store_unlock(s);
	db_close(s);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->root);
	free(s->runroot);
	free(s->driver);
	free(s);
}

const char *store_root(const struct image_store *s)
{
	return s->root;
}

const char *store_runroot(const struct image_store *s)
{
	return s->runroot;
}

const char *store_driver(const struct image_store *s)
{
	return s->driver;
}

/* ---- blobs ---- */

static int blob_rel(const char *digest, char buf[static 96])
{
	if (!digest_valid(digest))
		return -EINVAL;
	snprintf(buf, 96, "blobs/sha256/%s", digest_hex(digest));
	return 0;
}

bool store_blob_exists(struct image_store *s, const char *digest)
{
	char rel[96];
	return blob_rel(digest, rel) == 0 && faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

char *store_blob_path(struct image_store *s, const char *digest)
{
	char rel[96];
	char *p = NULL;
	if (blob_rel(digest, rel) < 0 || asprintf(&p, "%s/%s", s->root, rel) < 0)
		return NULL;
	return p;
}

/* Under the lock: rename the staged file (relative to the root) into
 * blobs/ unless the blob is there already, then pin it for us. */
static int publish_blob(struct image_store *s, const char *staged_rel, const char *digest, hull_error **err)
{
	char rel[96];
	if (blob_rel(digest, rel) < 0)
		return digest_check(digest, "blob", err);
	if (store_lock(s, err) < 0)
		return -1;
	int r = store_dirty_begin(s, err);
	if (r == 0) {
		if (renameat2(s->root_fd, staged_rel, s->root_fd, rel, RENAME_NOREPLACE) < 0) {
			if (errno == EEXIST)
				(void)unlinkat(s->root_fd, staged_rel, 0);
			else
				r = hull_error_set(err, errno, "move blob into '%s/%s'", s->root, rel);
		}
		store_crash_point("blob-renamed");
	}
	if (r == 0 && (r = db_begin(s, err)) == 0) {
		r = db_pin(s, PIN_BLOB, digest, err);
		r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
	}
	if (r == 0) /* else the marker stays: the next locker sweeps */
		store_dirty_end(s);
	store_unlock(s);
	return r;
}

/* If the blob is stored already, pin it: 1; not there: 0. */
static int pin_existing_blob(struct image_store *s, const char *digest, hull_error **err)
{
	if (!store_blob_exists(s, digest))
		return 0;
	if (store_lock(s, err) < 0)
		return -1;
	int r = 0;
	if (store_blob_exists(s, digest) && (r = db_begin(s, err)) == 0) {
		r = db_pin(s, PIN_BLOB, digest, err);
		r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
		if (r == 0)
			r = 1;
	}
	store_unlock(s);
	return r;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int store_blob_put(struct image_store *s, const void *data, size_t len, const char *expected,
		   char ret_digest[DIGEST_SHA256_LEN + 1], hull_error **err)
{
	char d[DIGEST_SHA256_LEN + 1];
	digest_buffer(data, len, d);
	if (expected && strcmp(expected, d) != 0) {
		if (digest_check(expected, "store blob", err) < 0)
			return -1;
		return hull_error_set(err, EINVAL, "digest mismatch for blob: expected %s, got %s", expected, d);
	}
	if (ret_digest)
		memcpy(ret_digest, d, sizeof(d));
	_cleanup_free_ char *name = NULL, *rel = NULL;
	_cleanup_close_ int fd = -1;
	int r = pin_existing_blob(s, d, err);
	if (r != 0)
		return r < 0 ? hull_error_wrap(err, "store blob '%s'", d) : 0;
	r = store_tmp_entry(s, false, &name, &fd);
	if (r < 0)
		return hull_error_set(err, -r, "store blob '%s': create staging file", d);
	if (asprintf(&rel, "tmp/%s", name) < 0)
		return hull_error_set(err, ENOMEM, "store blob");
	r = write_all(fd, data, len); /* synced by store_image_create */
	if (r < 0) {
		(void)unlinkat(s->root_fd, rel, 0);
		return hull_error_set(err, -r, "store blob '%s': write '%s/%s'", d, s->root, rel);
	}
	if (publish_blob(s, rel, d, err) < 0) {
		(void)unlinkat(s->root_fd, rel, 0);
		return hull_error_wrap(err, "store blob '%s'", d);
	}
	return 0;
}

/* Whether path has a ".." component. */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

int store_blob_adopt(struct image_store *s, const char *staged_path, const char *digest, hull_error **err)
{
	if (digest_check(digest, "adopt blob", err) < 0)
		return -1;
	size_t n = strlen(s->root);
	if (strncmp(staged_path, s->root, n) != 0 || strncmp(staged_path + n, "/tmp/", 5) != 0 ||
	    has_dotdot(staged_path + n))
		return hull_error_set(err, EINVAL, "adopt blob '%s': '%s' is not staged in '%s/tmp'", digest,
				      staged_path, s->root);
	if (publish_blob(s, staged_path + n + 1, digest, err) < 0)
		return hull_error_wrap(err, "adopt blob '%s'", digest);
	return 0;
}

int store_blob_read(struct image_store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
		    hull_error **err)
{
	char rel[96];
	if (blob_rel(digest, rel) < 0)
		return digest_check(digest, "read blob", err);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = fs_read_file_at(s->root_fd, rel, max, &data, &len);
	if (r == -EFBIG)
		return hull_error_set(err, EFBIG, "read blob '%s': larger than %zu bytes", digest, max);
	if (r < 0)
		return hull_error_set(err, -r, "read blob '%s'", digest);
	char got[DIGEST_SHA256_LEN + 1];
	digest_buffer(data, len, got);
	if (strcmp(got, digest) != 0)
		return hull_error_set(err, EIO, "read blob '%s': digest mismatch: content is %s", digest, got);
	*ret = TAKE_PTR(data);
	if (ret_len)
		*ret_len = len;
	return 0;
}
