/* cgroup.c - cgroup layout detection, path resolution, dispatch to the v1 or
 * v2 backend, state (de)serialisation and helpers shared by both backends. */
#include "runtime/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_FILE_MAX (4u << 20)

const char *cgroup_root(void)
{
	const char *r = getenv("HULL_CGROUP_ROOT");
	return (r && r[0]) ? r : "/sys/fs/cgroup";
}

static bool fake_root(void)
{
	const char *r = getenv("HULL_CGROUP_ROOT");
	return r && r[0];
}

int cgroup_detect(enum cgroup_mode *ret, hull_error **err)
{
	if (fake_root()) {
		const char *m = getenv("HULL_CGROUP_MODE");
		if (m && strcmp(m, "1") == 0) {
			*ret = CGROUP_MODE_V1;
			return 0;
		}
		if (m && strcmp(m, "2") == 0) {
			*ret = CGROUP_MODE_V2;
			return 0;
		}
	}
	struct statfs sfs;
	if (statfs(cgroup_root(), &sfs) < 0)
		return hull_error_set(err, errno, "statfs '%s'", cgroup_root());
	*ret = sfs.f_type == CGROUP2_SUPER_MAGIC ? CGROUP_MODE_V2 : CGROUP_MODE_V1;
	return 0;
}

static const struct cgroup_ops *ops_for(enum cgroup_mode mode)
{
	return mode == CGROUP_MODE_V2 ? &cgroup_v2_ops : &cgroup_v1_ops;
}

/* ---- paths ---- */

/* Normalise an absolute path: collapse slashes, drop ".", refuse "..". */
static int normalise_path(const char *in, char **ret, hull_error **err)
{
	size_t len = strlen(in);
	_cleanup_free_ char *out = malloc(len + 2);
	if (!out)
		return hull_error_set(err, ENOMEM, "cgroup path '%s'", in);
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return hull_error_set(err, 0, "cgroup path '%s': '..' is not allowed", in);
		out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p = e;
	}
	if (o == 0)
		return hull_error_set(err, 0, "cgroup path '%s': the root cgroup cannot be used", in);
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

/* The caller's own cgroup from /proc/self/cgroup. */
static int own_cgroup(enum cgroup_mode mode, char **ret, hull_error **err)
{
	_cleanup_free_ char *data = NULL;
	int r = fs_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1u << 20, &data, NULL);
	if (r < 0)
		return hull_error_set(err, -r, "read '/proc/self/cgroup'");
	const char *found = NULL;
	size_t found_len = 0;
	int found_rank = 99;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		if (!c1)
			continue;
		char *c2 = strchr(c1 + 1, ':');
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		const char *path = c2 + 1;
		int rank = 99;
		if (mode == CGROUP_MODE_V2) {
			if (strncmp(line, "0:", 2) == 0 && ctrls[0] == '\0')
				rank = 0;
		} else {
			_cleanup_free_ char *copy = strdup(ctrls);
			if (!copy)
				return hull_error_set(err, ENOMEM, "read '/proc/self/cgroup'");
			char *s2 = NULL;
			for (char *t = strtok_r(copy, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
				if (strcmp(t, "memory") == 0 && rank > 0)
					rank = 0;
				else if (strcmp(t, "pids") == 0 && rank > 1)
					rank = 1;
			}
		}
		if (rank < found_rank) {
			found_rank = rank;
			found = path;
			found_len = strlen(path);
		}
	}
	if (!found)
		return hull_error_set(err, 0, "read '/proc/self/cgroup': no %s line",
				      mode == CGROUP_MODE_V2 ? "cgroup2" : "memory or pids");
	*ret = strndup(found, found_len);
	if (!*ret)
		return hull_error_set(err, ENOMEM, "read '/proc/self/cgroup'");
	return 0;
}

int cgroup_resolve_path(const char *cgroups_path, const char *id, char **ret, hull_error **err)
{
	if (!cgroups_path || !cgroups_path[0]) {
		if (!id || !id[0] || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
			return hull_error_set(err, 0, "cgroup path for container id '%s': invalid id",
					      id ? id : "");
		if (asprintf(ret, "/hull/%s", id) < 0)
			return hull_error_set(err, ENOMEM, "cgroup path");
		return 0;
	}
	if (cgroups_path[0] != '/') {
		const char *c1 = strchr(cgroups_path, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 && !strchr(c2 + 1, ':'))
			return hull_error_set(err, 0, "systemd cgroup paths are not supported: '%s'",
					      cgroups_path);
		enum cgroup_mode mode;
		if (cgroup_detect(&mode, err) < 0)
			return -1;
		_cleanup_free_ char *own = NULL;
		if (own_cgroup(mode, &own, err) < 0)
			return hull_error_wrap(err, "resolve cgroup path '%s'", cgroups_path);
		_cleanup_free_ char *joined = NULL;
		if (asprintf(&joined, "%s/%s", own, cgroups_path) < 0)
			return hull_error_set(err, ENOMEM, "cgroup path");
		return normalise_path(joined, ret, err);
	}
	return normalise_path(cgroups_path, ret, err);
}

/* ---- dispatch ---- */

static int new_cgroup(enum cgroup_mode mode, const char *path, bool created, struct hull_cgroup **ret,
		      hull_error **err)
{
	struct hull_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg || !(cg->path = strdup(path))) {
		free(cg);
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	}
	cg->mode = mode;
	cg->created = created;
	*ret = cg;
	return 0;
}

/* Refuse to act on the root cgroup or a path with ".." (a hand-made or
 * corrupted state): destroy and kill would reach every process. */
static int check_path(const struct hull_cgroup *cg, const char *what, hull_error **err)
{
	if (!cg || !cg->path)
		return hull_error_set(err, EINVAL, "%s cgroup: no cgroup", what);
	_cleanup_free_ char *norm = NULL;
	if (cg->path[0] != '/' || normalise_path(cg->path, &norm, err) < 0)
		return hull_error_wrap(err, "%s cgroup '%s'", what, cg->path);
	return 0;
}

static int check_resources(enum cgroup_mode mode, const struct oci_resources *res, hull_error **err)
{
	if (!res)
		return 0;
	if (mode == CGROUP_MODE_V1 && res->n_unified > 0)
		return hull_error_set(err, 0,
				      "linux.resources.unified ('%s') needs cgroup v2, the host uses cgroup v1",
				      res->unified_keys[0]);
	return 0;
}

int cgroup_create(const char *path, const struct oci_resources *res, struct hull_cgroup **ret,
		  hull_error **err)
{
	if (!path || path[0] != '/')
		return hull_error_set(err, EINVAL, "create cgroup '%s'", path ? path : "");
	_cleanup_free_ char *norm = NULL;
	if (normalise_path(path, &norm, err) < 0)
		return hull_error_wrap(err, "create cgroup");
	path = norm;
	enum cgroup_mode mode;
	if (cgroup_detect(&mode, err) < 0)
		return hull_error_wrap(err, "create cgroup '%s'", path);
	if (check_resources(mode, res, err) < 0)
		return hull_error_wrap(err, "create cgroup '%s'", path);
	bool created = false;
	if (ops_for(mode)->create(path, res, &created, err) < 0)
		return hull_error_wrap(err, "create cgroup '%s'", path);
	if (new_cgroup(mode, path, created, ret, err) < 0)
		return -1;
	log_debug("cgroup '%s' (v%d): %s", path, (int)mode, created ? "in use" : "not available, kept the caller's");
	return 0;
}

int cgroup_enter(const struct hull_cgroup *cg, pid_t pid, hull_error **err)
{
	if (!cg->created)
		return 0;
	if (ops_for(cg->mode)->enter(cg->path, pid, err) < 0)
		return hull_error_wrap(err, "move pid %d into cgroup '%s'", (int)pid, cg->path);
	return 0;
}

int cgroup_open_v2_fd(const struct hull_cgroup *cg, hull_error **err)
{
	if (cg->mode != CGROUP_MODE_V2 || !cg->created)
		return hull_error_set(err, EINVAL, "open cgroup '%s'", cg->path);
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s%s", cgroup_root(), cg->path) < 0)
		return hull_error_set(err, ENOMEM, "open cgroup '%s'", cg->path);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_set(err, errno, "open cgroup '%s'", dir);
	return fd;
}

int cgroup_update(const struct hull_cgroup *cg, const struct oci_resources *res, hull_error **err)
{
	if (!cg->created) {
		if (cgroup_resources_empty(res))
			return 0;
		return hull_error_set(err, EPERM, "update cgroup '%s': the container has no cgroup of its own",
				      cg->path);
	}
	if (check_resources(cg->mode, res, err) < 0 || (res && ops_for(cg->mode)->apply(cg->path, res, err) < 0))
		return hull_error_wrap(err, "update cgroup '%s'", cg->path);
	return 0;
}

int cgroup_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n, hull_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	if (!cg->created)
		return 0;
	if (ops_for(cg->mode)->pids(cg->path, ret, ret_n, err) < 0)
		return hull_error_wrap(err, "list processes of cgroup '%s'", cg->path);
	return 0;
}

int cgroup_kill_all(const struct hull_cgroup *cg, int sig, hull_error **err)
{
	if (check_path(cg, "kill", err) < 0)
		return -1;
	if (!cg->created)
		return 0;
	if (cg->mode == CGROUP_MODE_V2 && sig == SIGKILL) {
		_cleanup_free_ char *dir = NULL;
		if (asprintf(&dir, "%s%s", cgroup_root(), cg->path) < 0)
			return hull_error_set(err, ENOMEM, "kill cgroup '%s'", cg->path);
		if (cgroup_file_exists(dir, "cgroup.kill")) {
			if (cgroup_write(dir, "cgroup.kill", "1", err) < 0)
				return hull_error_wrap(err, "kill cgroup '%s'", cg->path);
			return 0;
		}
	}
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (ops_for(cg->mode)->pids(cg->path, &pids, &n, err) < 0)
		return hull_error_wrap(err, "kill cgroup '%s'", cg->path);
	int r = cgroup_signal_pids(pids, n, sig);
	if (r < 0)
		return hull_error_set(err, -r, "kill cgroup '%s' with signal %d", cg->path, sig);
	return 0;
}

int cgroup_freeze(const struct hull_cgroup *cg, bool frozen, hull_error **err)
{
	if (!cg->created)
		return hull_error_set(err, EOPNOTSUPP, "%s cgroup '%s': the container has no cgroup of its own",
				      frozen ? "freeze" : "thaw", cg->path);
	if (ops_for(cg->mode)->freeze(cg->path, frozen, err) < 0)
		return hull_error_wrap(err, "%s cgroup '%s'", frozen ? "freeze" : "thaw", cg->path);
	return 0;
}

int cgroup_is_frozen(const struct hull_cgroup *cg, bool *ret, hull_error **err)
{
	*ret = false;
	if (!cg->created)
		return 0;
	if (ops_for(cg->mode)->is_frozen(cg->path, ret, err) < 0)
		return hull_error_wrap(err, "freezer state of cgroup '%s'", cg->path);
	return 0;
}

int cgroup_destroy(const struct hull_cgroup *cg, hull_error **err)
{
	if (check_path(cg, "remove", err) < 0)
		return -1;
	if (!cg->created)
		return 0;
	if (ops_for(cg->mode)->destroy(cg->path, err) < 0)
		return hull_error_wrap(err, "remove cgroup '%s'", cg->path);
	return 0;
}

int cgroup_host_path(const struct hull_cgroup *cg, const char *controller, char **ret, hull_error **err)
{
	if (check_path(cg, "host path of", err) < 0)
		return -1;
	if (ops_for(cg->mode)->host_path(cg->path, controller, ret, err) < 0)
		return hull_error_wrap(err, "host path of cgroup '%s'", cg->path);
	return 0;
}

int cgroup_v1_hierarchies(char ***ret_names, char ***ret_mountpoints, hull_error **err)
{
	struct cgroup_v1_hier *h = NULL;
	size_t n = 0;
	if (cgroup_v1_list(&h, &n, err) < 0)
		return -1;
	char **names = calloc(n + 1, sizeof(char *));
	char **mps = calloc(n + 1, sizeof(char *));
	if (!names || !mps) {
		free(names);
		free(mps);
		cgroup_v1_list_free(h, n);
		return hull_error_set(err, ENOMEM, "cgroup hierarchies");
	}
	for (size_t i = 0; i < n; i++) {
		names[i] = TAKE_PTR(h[i].name);
		mps[i] = TAKE_PTR(h[i].mountpoint);
	}
	cgroup_v1_list_free(h, n);
	*ret_names = names;
	*ret_mountpoints = mps;
	return 0;
}

json_t *cgroup_to_json(const struct hull_cgroup *cg)
{
	return json_pack("{s:i,s:s,s:b}", "mode", (int)cg->mode, "path", cg->path, "created",
			 cg->created ? 1 : 0);
}

int cgroup_from_json(json_t *j, struct hull_cgroup **ret, hull_error **err)
{
	if (!json_is_object(j))
		return hull_error_set(err, 0, "cgroup state: expected an object");
	json_t *m = json_object_get(j, "mode");
	json_t *p = json_object_get(j, "path");
	json_t *c = json_object_get(j, "created");
	if (!json_is_integer(m) || (json_integer_value(m) != 1 && json_integer_value(m) != 2))
		return hull_error_set(err, 0, "cgroup state: 'mode' must be 1 or 2");
	if (!json_is_string(p) || json_string_value(p)[0] != '/')
		return hull_error_set(err, 0, "cgroup state: 'path' must be an absolute path");
	if (c && !json_is_boolean(c))
		return hull_error_set(err, 0, "cgroup state: 'created' must be a boolean");
	_cleanup_free_ char *norm = NULL;
	if (normalise_path(json_string_value(p), &norm, err) < 0)
		return hull_error_wrap(err, "cgroup state");
	return new_cgroup((enum cgroup_mode)json_integer_value(m), norm, c && json_is_true(c), ret, err);
}

void cgroup_free(struct hull_cgroup *cg)
{
	if (!cg)
		return;
	free(cg->path);
	free(cg);
}

/* ---- v1 hierarchies ---- */

void cgroup_v1_list_free(struct cgroup_v1_hier *h, size_t n)
{
	if (!h)
		return;
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].mountpoint);
		free(h[i].mount_root);
	}
	free(h);
}

static int hier_add(struct cgroup_v1_hier **h, size_t *n, const char *name, const char *mp, const char *root)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*h)[i].name, name) == 0)
			return 0; /* the same hierarchy mounted twice: keep the first */
	struct cgroup_v1_hier *nh = realloc(*h, (*n + 1) * sizeof(**h));
	if (!nh)
		return -ENOMEM;
	*h = nh;
	struct cgroup_v1_hier *e = &nh[*n];
	e->name = strdup(name);
	e->mountpoint = strdup(mp);
	e->mount_root = strdup(root);
	(*n)++;
	if (!e->name || !e->mountpoint || !e->mount_root)
		return -ENOMEM;
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static bool is_controller_name(const char *opt, char *const *known)
{
	for (char *const *k = known; k && *k; k++)
		if (strcmp(*k, opt) == 0)
			return true;
	return false;
}

/* Controller names from /proc/cgroups (or a built-in list). */
static char **known_controllers(void)
{
	static const char *const builtin[] = { "cpu",   "cpuacct",   "cpuset",   "memory", "devices",
					       "freezer", "net_cls", "blkio",   "perf_event", "net_prio",
					       "hugetlb", "pids",   "rdma",     "misc",   "debug",  NULL };
	_cleanup_free_ char *data = NULL;
	size_t cap = 32, n = 0;
	char **v = calloc(cap, sizeof(char *));
	if (!v)
		return NULL;
	if (fs_read_file_at(AT_FDCWD, "/proc/cgroups", 1u << 16, &data, NULL) == 0) {
		char *save = NULL;
		for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (line[0] == '#')
				continue;
			size_t len = strcspn(line, " \t");
			if (len == 0)
				continue;
			if (n + 1 >= cap) {
				char **nv = realloc(v, cap * 2 * sizeof(char *));
				if (!nv)
					break;
				v = nv;
				cap *= 2;
			}
			v[n] = strndup(line, len);
			if (v[n])
				v[++n] = NULL;
		}
	}
	if (n == 0) {
		for (size_t i = 0; builtin[i] && i + 1 < cap; i++) {
			v[i] = strdup(builtin[i]);
			if (!v[i])
				break;
			v[i + 1] = NULL;
		}
	}
	return v;
}

static int v1_list_fake(struct cgroup_v1_hier **h, size_t *n, hull_error **err)
{
	const char *root = cgroup_root();
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d)
		return hull_error_set(err, errno, "open '%s'", root);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "unified") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		_cleanup_free_ char *mp = NULL;
		if (asprintf(&mp, "%s/%s", root, de->d_name) < 0 || hier_add(h, n, de->d_name, mp, "/") < 0)
			return hull_error_set(err, ENOMEM, "cgroup hierarchies");
	}
	return 0;
}

static int v1_list_mountinfo(struct cgroup_v1_hier **h, size_t *n, hull_error **err)
{
	_cleanup_free_ char *data = NULL;
	int r = fs_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20, &data, NULL);
	if (r < 0)
		return hull_error_set(err, -r, "read '/proc/self/mountinfo'");
	_cleanup_strv_ char **known = known_controllers();
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		char *after = sep + 3;
		char *s2 = NULL;
		char *fstype = strtok_r(after, " ", &s2);
		char *source = fstype ? strtok_r(NULL, " ", &s2) : NULL;
		char *superopts = source ? strtok_r(NULL, " ", &s2) : NULL;
		if (!fstype || strcmp(fstype, "cgroup") != 0 || !superopts)
			continue;
		char *s3 = NULL;
		char *f[5] = { 0 };
		char *t = strtok_r(line, " ", &s3);
		for (int i = 0; i < 5 && t; i++, t = strtok_r(NULL, " ", &s3))
			f[i] = t;
		if (!f[4])
			continue;
		char *root = f[3], *mp = f[4];
		unescape(root);
		unescape(mp);
		/* name: the controllers joined by ',' in the kernel's order, or the
		 * name of a named hierarchy (only name=systemd is used) */
		char name[256] = "";
		bool named_systemd = false;
		char *s4 = NULL;
		for (char *o = strtok_r(superopts, ",", &s4); o; o = strtok_r(NULL, ",", &s4)) {
			if (strcmp(o, "name=systemd") == 0) {
				named_systemd = true;
			} else if (is_controller_name(o, known)) {
				if (strlen(name) + strlen(o) + 2 >= sizeof(name))
					continue;
				if (name[0])
					strcat(name, ",");
				strcat(name, o);
			}
		}
		if (!name[0] && named_systemd)
			strcpy(name, "systemd");
		if (!name[0])
			continue;
		if (hier_add(h, n, name, mp, root) < 0)
			return hull_error_set(err, ENOMEM, "cgroup hierarchies");
	}
	return 0;
}

int cgroup_v1_list(struct cgroup_v1_hier **ret, size_t *ret_n, hull_error **err)
{
	struct cgroup_v1_hier *h = NULL;
	size_t n = 0;
	int r = fake_root() ? v1_list_fake(&h, &n, err) : v1_list_mountinfo(&h, &n, err);
	if (r < 0) {
		cgroup_v1_list_free(h, n);
		return r;
	}
	*ret = h;
	*ret_n = n;
	return 0;
}

const struct cgroup_v1_hier *cgroup_v1_find(const struct cgroup_v1_hier *h, size_t n, const char *controller)
{
	if (strcmp(controller, "name=systemd") == 0)
		controller = "systemd";
	size_t clen = strlen(controller);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(h[i].name, controller) == 0)
			return &h[i];
		for (const char *p = h[i].name; *p;) {
			size_t len = strcspn(p, ",");
			if (len == clen && strncmp(p, controller, len) == 0)
				return &h[i];
			p += len;
			if (*p == ',')
				p++;
		}
	}
	return NULL;
}

char *cgroup_v1_dir(const struct cgroup_v1_hier *h, const char *path)
{
	const char *rest = path;
	size_t rl = strlen(h->mount_root);
	if (strcmp(h->mount_root, "/") != 0 && strncmp(path, h->mount_root, rl) == 0 &&
	    (path[rl] == '/' || path[rl] == '\0'))
		rest = path + rl;
	char *out = NULL;
	if (asprintf(&out, "%s%s", h->mountpoint, rest) < 0)
		return NULL;
	return out;
}

/* ---- file helpers ---- */

static int cgroup_writev(const char *dir, const char *file, hull_error **err, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static int cgroup_writev(const char *dir, const char *file, hull_error **err, const char *fmt, va_list ap)
{
	_cleanup_free_ char *v = NULL;
	if (vasprintf(&v, fmt, ap) < 0)
		return hull_error_set(err, ENOMEM, "set '%s'", file);
	return cgroup_write(dir, file, v, err);
}

int cgroup_writef(const char *dir, const char *file, hull_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cgroup_writev(dir, file, err, fmt, ap);
	va_end(ap);
	return r;
}

int cgroup_writef_optional(const char *dir, const char *file, const char *what, hull_error **err, const char *fmt,
			   ...)
{
	if (!cgroup_file_exists(dir, file)) {
		log_debug("cgroup: no %s, %s ignored", file, what);
		return 0;
	}
	va_list ap;
	va_start(ap, fmt);
	int r = cgroup_writev(dir, file, err, fmt, ap);
	va_end(ap);
	return r;
}

int cgroup_write(const char *dir, const char *file, const char *value, hull_error **err)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return hull_error_set(err, ENOMEM, "set '%s' to '%s'", file, value);
	/* O_TRUNC is a no-op on cgroupfs and keeps plain files (fake trees) exact */
	_cleanup_close_ int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return hull_error_set(err, errno, "set '%s' to '%s'", file, value);
	size_t len = strlen(value);
	ssize_t n;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hull_error_set(err, errno, "set '%s' to '%s'", file, value);
	if ((size_t)n != len)
		return hull_error_set(err, EIO, "set '%s' to '%s'", file, value);
	log_debug("cgroup: %s = %s", p, value);
	return 0;
}

int cgroup_read(const char *dir, const char *file, char **ret, hull_error **err)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return hull_error_set(err, ENOMEM, "read '%s'", file);
	int r = fs_read_file_at(AT_FDCWD, p, CGROUP_FILE_MAX, ret, NULL);
	if (r < 0)
		return hull_error_set(err, -r, "read '%s'", p);
	return 0;
}

bool cgroup_file_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return false;
	return access(p, F_OK) == 0;
}

static int append_pid(pid_t **pids, size_t *n, pid_t pid)
{
	if (*n == 0 || (*n >= 16 && (*n & (*n - 1)) == 0)) {
		size_t cap = *n ? *n * 2 : 16;
		pid_t *np = realloc(*pids, cap * sizeof(pid_t));
		if (!np)
			return -ENOMEM;
		*pids = np;
	}
	(*pids)[(*n)++] = pid;
	return 0;
}

static bool is_subdir(int dfd, const struct dirent *de)
{
	if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
		return false;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	struct stat st;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int collect_at(int dfd, const char *name, pid_t **pids, size_t *n, int depth)
{
	if (depth > 64)
		return -ELOOP;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	_cleanup_free_ char *data = NULL;
	int r = fs_read_file_at(fd, "cgroup.procs", CGROUP_FILE_MAX, &data, NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		for (char *p = data; *p;) {
			char *end;
			errno = 0;
			long v = strtol(p, &end, 10);
			if (end == p) {
				p++;
				continue;
			}
			if (v > 0 && errno == 0 && (r = append_pid(pids, n, (pid_t)v)) < 0)
				return r;
			p = end;
		}
	}
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_subdir(dirfd(d), de))
			continue;
		r = collect_at(dirfd(d), de->d_name, pids, n, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n, hull_error **err)
{
	int r = collect_at(AT_FDCWD, dir, pids, n, 0);
	if (r < 0)
		return hull_error_set(err, -r, "read processes of '%s'", dir);
	return 0;
}

int cgroup_signal_pids(const pid_t *pids, size_t n, int sig)
{
	int ret = 0;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH && ret == 0)
			ret = -errno;
	return ret;
}

void cgroup_backoff(unsigned attempt)
{
	long ms = attempt >= 5 ? 32 : 1L << attempt;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

bool cgroup_wait_empty(const char *dir, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	for (unsigned i = 0;; i++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		if (collect_at(AT_FDCWD, dir, &pids, &n, 0) < 0 || n == 0)
			return true;
		if (now_ms() >= deadline)
			return false;
		cgroup_backoff(i);
	}
}

static int rmdir_retry(int dfd, const char *name)
{
	long deadline = now_ms() + 500;
	for (unsigned i = 0;; i++) {
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ms() >= deadline)
			return -errno;
		cgroup_backoff(i);
	}
}

static int rmdir_tree_at(int dfd, const char *name, int depth)
{
	if (depth > 64)
		return -ELOOP;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_subdir(dirfd(d), de))
			continue;
		int r = rmdir_tree_at(dirfd(d), de->d_name, depth + 1);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	if (ret < 0)
		return ret;
	return rmdir_retry(dfd, name);
}

int cgroup_rmdir_tree(const char *dir, hull_error **err)
{
	int r = rmdir_tree_at(AT_FDCWD, dir, 0);
	if (r < 0)
		return hull_error_set(err, -r, "rmdir '%s'", dir);
	return 0;
}

bool cgroup_resources_empty(const struct oci_resources *r)
{
	if (!r)
		return true;
	return !(r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap ||
		 r->has_memory_swappiness || r->has_disable_oom_killer || r->has_cpu_shares || r->has_cpu_quota ||
		 r->has_cpu_burst || r->has_cpu_period || r->has_cpu_realtime_runtime ||
		 r->has_cpu_realtime_period || r->has_cpu_idle || (r->cpuset_cpus && r->cpuset_cpus[0]) ||
		 (r->cpuset_mems && r->cpuset_mems[0]) || r->has_pids_limit || r->has_blkio_weight ||
		 r->has_blkio_leaf_weight || r->n_blkio_weight_devices || r->n_throttle_read_bps ||
		 r->n_throttle_write_bps || r->n_throttle_read_iops || r->n_throttle_write_iops ||
		 r->n_hugepage_limits || r->has_net_class_id || r->n_unified);
}
