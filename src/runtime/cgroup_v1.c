/* cgroup_v1.c - the cgroup v1 backend: one directory per mounted hierarchy
 * (including the named "name=systemd" one; the hybrid layout's controller-less
 * cgroup2 mount is left alone). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/log.h"

#define FREEZE_TIMEOUT_MS 5000
#define DESTROY_WAIT_MS 1000

struct v1 {
	struct cgroup_v1_hier *h;
	size_t n;
	const char *path;
};

static void v1_unload(struct v1 *c)
{
	cgroup_v1_list_free(c->h, c->n);
	c->h = NULL;
	c->n = 0;
}

static int v1_load(struct v1 *c, const char *path, hull_error **err)
{
	c->path = path;
	c->h = NULL;
	c->n = 0;
	if (cgroup_v1_list(&c->h, &c->n, err) < 0)
		return -1;
	if (c->n == 0)
		return hull_error_set(err, ENOENT, "no cgroup v1 hierarchy is mounted under '%s'", cgroup_root());
	return 0;
}

/* Directory of our cgroup in the hierarchy holding ctrl; *ret NULL if that
 * controller is not mounted (an error when required). */
static int ctrl_dir(const struct v1 *c, const char *ctrl, bool required, char **ret, hull_error **err)
{
	*ret = NULL;
	const struct cgroup_v1_hier *h = cgroup_v1_find(c->h, c->n, ctrl);
	if (!h) {
		if (required)
			return hull_error_set(err, ENOENT, "cgroup controller '%s' is not mounted", ctrl);
		return 0;
	}
	*ret = cgroup_v1_dir(h, c->path);
	if (!*ret)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", c->path);
	return 0;
}


static bool set_nonzero(bool has, int64_t v)
{
	return has && v != 0;
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t\n")] == '\0';
}

/* ---- resources ---- */

static int write_i64(const char *dir, const char *file, int64_t v, hull_error **err)
{
	return v < 0 ? cgroup_write(dir, file, "-1", err) : cgroup_writef(dir, file, err, "%" PRId64, v);
}

static int apply_memory(const struct v1 *c, const struct oci_resources *r, hull_error **err)
{
	bool limit_set = set_nonzero(r->has_memory_limit, r->memory_limit);
	bool swap_set = set_nonzero(r->has_memory_swap, r->memory_swap);
	bool resv_set = set_nonzero(r->has_memory_reservation, r->memory_reservation);
	if (r->has_memory_kernel || r->has_memory_kernel_tcp)
		log_debug("cgroup: kernel memory limits are deprecated, ignored");
	if (!limit_set && !swap_set && !resv_set && !r->has_memory_swappiness && !r->has_disable_oom_killer)
		return 0;
	_cleanup_free_ char *dir = NULL;
	if (ctrl_dir(c, "memory", true, &dir, err) < 0)
		return -1;
	if (swap_set && !cgroup_file_exists(dir, "memory.memsw.limit_in_bytes")) {
		log_debug("cgroup: no memory.memsw.limit_in_bytes (swap accounting off), swap limit ignored");
		swap_set = false;
	}
	if (limit_set && swap_set) {
		if (r->memory_swap >= 0 && (r->memory_limit < 0 || r->memory_swap < r->memory_limit))
			return hull_error_set(err, EINVAL,
					      "set 'memory.memsw.limit_in_bytes' to '%" PRId64
					      "': below the memory limit '%" PRId64 "'",
					      r->memory_swap, r->memory_limit);
		/* memsw must stay >= limit at every moment: raise memsw first when
		 * the new limit would exceed the current memsw, else lower limit first */
		uint64_t new_limit = r->memory_limit < 0 ? UINT64_MAX : (uint64_t)r->memory_limit;
		uint64_t cur_memsw = UINT64_MAX;
		_cleanup_free_ char *cur = NULL;
		if (cgroup_read(dir, "memory.memsw.limit_in_bytes", &cur, NULL) == 0)
			cur_memsw = strtoull(cur, NULL, 10);
		if (new_limit <= cur_memsw) {
			if (write_i64(dir, "memory.limit_in_bytes", r->memory_limit, err) < 0 ||
			    write_i64(dir, "memory.memsw.limit_in_bytes", r->memory_swap, err) < 0)
				return -1;
		} else {
			if (write_i64(dir, "memory.memsw.limit_in_bytes", r->memory_swap, err) < 0 ||
			    write_i64(dir, "memory.limit_in_bytes", r->memory_limit, err) < 0)
				return -1;
		}
	} else if (limit_set) {
		if (write_i64(dir, "memory.limit_in_bytes", r->memory_limit, err) < 0)
			return -1;
	} else if (swap_set) {
		if (write_i64(dir, "memory.memsw.limit_in_bytes", r->memory_swap, err) < 0)
			return -1;
	}
	if (resv_set && write_i64(dir, "memory.soft_limit_in_bytes", r->memory_reservation, err) < 0)
		return -1;
	if (r->has_memory_swappiness) {
		if (r->memory_swappiness > 100)
			return hull_error_set(err, EINVAL, "set 'memory.swappiness' to '%" PRIu64 "': out of range 0-100",
					      r->memory_swappiness);
		if (cgroup_writef(dir, "memory.swappiness", err, "%" PRIu64, r->memory_swappiness) < 0)
			return -1;
	}
	if (r->has_disable_oom_killer &&
	    cgroup_write(dir, "memory.oom_control", r->disable_oom_killer ? "1" : "0", err) < 0)
		return -1;
	return 0;
}

static int apply_cpu(const struct v1 *c, const struct oci_resources *r, hull_error **err)
{
	bool shares = r->has_cpu_shares && r->cpu_shares != 0;
	bool quota = set_nonzero(r->has_cpu_quota, r->cpu_quota);
	bool period = r->has_cpu_period && r->cpu_period != 0;
	bool rt_runtime = set_nonzero(r->has_cpu_realtime_runtime, r->cpu_realtime_runtime);
	bool rt_period = r->has_cpu_realtime_period && r->cpu_realtime_period != 0;
	if (shares || quota || period || rt_runtime || rt_period || r->has_cpu_burst || r->has_cpu_idle) {
		_cleanup_free_ char *dir = NULL;
		if (ctrl_dir(c, "cpu", true, &dir, err) < 0)
			return -1;
		if (shares && cgroup_writef(dir, "cpu.shares", err, "%" PRIu64, r->cpu_shares) < 0)
			return -1;
		if (period) {
			hull_error *e = NULL;
			if (cgroup_writef(dir, "cpu.cfs_period_us", &e, "%" PRIu64, r->cpu_period) < 0) {
				/* the current quota may not fit the new period: quota first */
				if (!quota || e->status != EINVAL) {
					if (err && !*err)
						*err = e;
					else
						hull_error_free(e);
					return -1;
				}
				hull_error_clear(&e);
				if (write_i64(dir, "cpu.cfs_quota_us", r->cpu_quota, err) < 0 ||
				    cgroup_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu_period) < 0)
					return -1;
			}
		}
		if (quota && write_i64(dir, "cpu.cfs_quota_us", r->cpu_quota, err) < 0)
			return -1;
		if (rt_period && cgroup_writef(dir, "cpu.rt_period_us", err, "%" PRIu64, r->cpu_realtime_period) < 0)
			return -1;
		if (rt_runtime && write_i64(dir, "cpu.rt_runtime_us", r->cpu_realtime_runtime, err) < 0)
			return -1;
		if (r->has_cpu_burst &&
		    cgroup_writef_optional(dir, "cpu.cfs_burst_us", "cpu burst", err, "%" PRIu64, r->cpu_burst) < 0)
			return -1;
		if (r->has_cpu_idle &&
		    cgroup_writef_optional(dir, "cpu.idle", "cpu idle", err, "%" PRId64, r->cpu_idle) < 0)
			return -1;
	}
	bool cpus = r->cpuset_cpus && r->cpuset_cpus[0], mems = r->cpuset_mems && r->cpuset_mems[0];
	if (cpus || mems) {
		_cleanup_free_ char *dir = NULL;
		if (ctrl_dir(c, "cpuset", true, &dir, err) < 0)
			return -1;
		if (cpus && cgroup_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
			return -1;
		if (mems && cgroup_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
			return -1;
	}
	return 0;
}

static const char *first_existing(const char *dir, const char *a, const char *b)
{
	if (cgroup_file_exists(dir, a))
		return a;
	if (cgroup_file_exists(dir, b))
		return b;
	return NULL;
}

static int write_throttle(const char *dir, const char *file, const struct oci_throttle_device *d, size_t n,
			  hull_error **err)
{
	for (size_t i = 0; i < n; i++)
		if (cgroup_writef(dir, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, d[i].major, d[i].minor, d[i].rate) < 0)
			return -1;
	return 0;
}

static int apply_blkio(const struct v1 *c, const struct oci_resources *r, hull_error **err)
{
	bool weight = r->has_blkio_weight && r->blkio_weight != 0;
	bool leaf = r->has_blkio_leaf_weight && r->blkio_leaf_weight != 0;
	if (!weight && !leaf && !r->n_blkio_weight_devices && !r->n_throttle_read_bps && !r->n_throttle_write_bps &&
	    !r->n_throttle_read_iops && !r->n_throttle_write_iops)
		return 0;
	_cleanup_free_ char *dir = NULL;
	if (ctrl_dir(c, "blkio", true, &dir, err) < 0)
		return -1;
	if (weight) {
		/* CFQ's blkio.weight, or BFQ's blkio.bfq.weight on newer kernels */
		const char *f = first_existing(dir, "blkio.weight", "blkio.bfq.weight");
		if (cgroup_writef(dir, f ? f : "blkio.weight", err, "%" PRIu16, r->blkio_weight) < 0)
			return -1;
	}
	if (leaf) {
		if (cgroup_writef_optional(dir, "blkio.leaf_weight", "leafWeight", err, "%" PRIu16,
					   r->blkio_leaf_weight) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const struct oci_weight_device *wd = &r->blkio_weight_devices[i];
		if (wd->has_weight) {
			const char *f = first_existing(dir, "blkio.weight_device", "blkio.bfq.weight_device");
			if (cgroup_writef(dir, f ? f : "blkio.weight_device", err, "%" PRId64 ":%" PRId64 " %" PRIu16,
				   wd->major, wd->minor, wd->weight) < 0)
				return -1;
		}
		if (wd->has_leaf_weight) {
			if (cgroup_writef_optional(dir, "blkio.leaf_weight_device", "leafWeight", err,
						   "%" PRId64 ":%" PRId64 " %" PRIu16, wd->major, wd->minor,
						   wd->leaf_weight) < 0)
				return -1;
		}
	}
	if (write_throttle(dir, "blkio.throttle.read_bps_device", r->throttle_read_bps, r->n_throttle_read_bps,
			   err) < 0 ||
	    write_throttle(dir, "blkio.throttle.write_bps_device", r->throttle_write_bps, r->n_throttle_write_bps,
			   err) < 0 ||
	    write_throttle(dir, "blkio.throttle.read_iops_device", r->throttle_read_iops, r->n_throttle_read_iops,
			   err) < 0 ||
	    write_throttle(dir, "blkio.throttle.write_iops_device", r->throttle_write_iops,
			   r->n_throttle_write_iops, err) < 0)
		return -1;
	return 0;
}

static bool safe_name(const char *s)
{
	return s && s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int apply_hugetlb(const struct v1 *c, const struct oci_resources *r, hull_error **err)
{
	if (r->n_hugepage_limits == 0)
		return 0;
	_cleanup_free_ char *dir = NULL;
	if (ctrl_dir(c, "hugetlb", true, &dir, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		if (!safe_name(h->page_size))
			return hull_error_set(err, EINVAL, "hugepage limit: invalid page size '%s'",
					      h->page_size ? h->page_size : "");
		char file[128], rsvd[128];
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", h->page_size);
		snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.limit_in_bytes", h->page_size);
		if (cgroup_writef(dir, file, err, "%" PRIu64, h->limit) < 0)
			return -1;
		if (cgroup_file_exists(dir, rsvd) && cgroup_writef(dir, rsvd, err, "%" PRIu64, h->limit) < 0)
			return -1;
	}
	return 0;
}

static int apply_devices(const struct v1 *c, const struct oci_resources *r, hull_error **err)
{
	if (r->n_devices == 0)
		return 0;
	_cleanup_free_ char *dir = NULL;
	if (ctrl_dir(c, "devices", true, &dir, err) < 0)
		return -1;
	if (cgroup_write(dir, "devices.deny", "a", err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct oci_device_cgroup *d = &r->devices[i];
		const char *access = d->access && d->access[0] ? d->access : "rwm";
		if (access[strspn(access, "rwm")] != '\0')
			return hull_error_set(err, EINVAL, "device rule %zu: invalid access '%s'", i, access);
		const char *file = d->allow ? "devices.allow" : "devices.deny";
		char type = d->type ? d->type : 'a';
		if (type == 'a') {
			if (cgroup_write(dir, file, "a", err) < 0)
				return -1;
			continue;
		}
		if (type != 'c' && type != 'b')
			return hull_error_set(err, EINVAL, "device rule %zu: invalid type '%c'", i, type);
		char maj[24] = "*", min[24] = "*";
		if (d->major >= 0)
			snprintf(maj, sizeof(maj), "%" PRId64, d->major);
		if (d->minor >= 0)
			snprintf(min, sizeof(min), "%" PRId64, d->minor);
		if (cgroup_writef(dir, file, err, "%c %s:%s %s", type, maj, min, access) < 0)
			return -1;
	}
	return 0;
}

static int apply_all(const struct v1 *c, const struct oci_resources *r, hull_error **err)
{
	if (!r)
		return 0;
	if (r->n_unified > 0)
		return hull_error_set(err, EOPNOTSUPP, "linux.resources.unified ('%s') needs cgroup v2",
				      r->unified_keys[0]);
	if (apply_devices(c, r, err) < 0 || apply_memory(c, r, err) < 0 || apply_cpu(c, r, err) < 0)
		return -1;
	if (r->has_pids_limit) {
		_cleanup_free_ char *dir = NULL;
		if (ctrl_dir(c, "pids", true, &dir, err) < 0)
			return -1;
		if (r->pids_limit > 0 ? cgroup_writef(dir, "pids.max", err, "%" PRId64, r->pids_limit) < 0
				      : cgroup_write(dir, "pids.max", "max", err) < 0)
			return -1;
	}
	if (apply_blkio(c, r, err) < 0 || apply_hugetlb(c, r, err) < 0)
		return -1;
	if (r->has_net_class_id) {
		_cleanup_free_ char *dir = NULL;
		if (ctrl_dir(c, "net_cls", false, &dir, err) < 0)
			return -1;
		if (!dir)
			log_debug("cgroup: net_cls is not mounted, network classID ignored");
		else if (cgroup_writef(dir, "net_cls.classid", err, "%" PRIu32, r->net_class_id) < 0)
			return -1;
	}
	return 0;
}

static int v1_apply(const char *path, const struct oci_resources *res, hull_error **err)
{
	struct v1 c;
	if (v1_load(&c, path, err) < 0)
		return -1;
	int r = apply_all(&c, res, err);
	v1_unload(&c);
	return r;
}

/* ---- lifecycle ---- */

struct made_list {
	char **v;
	size_t n;
};

static void made_rollback(struct made_list *m)
{
	for (size_t i = m->n; i-- > 0;) {
		if (rmdir(m->v[i]) < 0 && errno != ENOENT)
			log_debug("cgroup: rollback rmdir '%s': %s", m->v[i], strerror(errno));
		free(m->v[i]);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static void made_forget(struct made_list *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static int made_add(struct made_list *m, const char *dir)
{
	char **nv = realloc(m->v, (m->n + 1) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	m->v = nv;
	if (!(m->v[m->n] = strdup(dir)))
		return -ENOMEM;
	m->n++;
	return 0;
}

/* A new cpuset cgroup starts with empty cpus/mems and no process can join
 * it: copy the parent's. */
static int cpuset_inherit(const char *parent, const char *dir, hull_error **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *cur = NULL, *pv = NULL;
		if (!cgroup_file_exists(dir, files[i]))
			continue; /* not a real cpuset directory (fake tree) */
		if (cgroup_read(dir, files[i], &cur, err) < 0)
			return -1;
		if (!blank(cur))
			continue;
		if (cgroup_read(parent, files[i], &pv, err) < 0)
			return -1;
		pv[strcspn(pv, "\n")] = '\0';
		if (blank(pv))
			continue;
		if (cgroup_write(dir, files[i], pv, err) < 0)
			return -1;
	}
	return 0;
}

/* mkdir -p our cgroup in one hierarchy, recording what was made.  0, 1 when
 * permission is lacking (errno-like code in *ret_errno), or -1 with err. */
static int mkdir_in_hier(const struct cgroup_v1_hier *h, const char *path, struct made_list *made,
			 int *ret_errno, hull_error **err)
{
	bool cpuset = cgroup_v1_find(h, 1, "cpuset") != NULL;
	_cleanup_free_ char *full = cgroup_v1_dir(h, path);
	if (!full)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	/* walk the components below the mount point */
	for (size_t pos = strlen(h->mountpoint); full[pos];) {
		size_t next = pos + 1 + strcspn(full + pos + 1, "/");
		char saved = full[next];
		full[pos] = '\0';
		_cleanup_free_ char *parent = strdup(full);
		full[pos] = '/';
		full[next] = '\0';
		if (!parent)
			return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
		if (mkdir(full, 0755) == 0) {
			if (made_add(made, full) < 0) {
				rmdir(full);
				return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
			}
		} else if (errno != EEXIST) {
			int e = errno;
			if (e == EACCES || e == EPERM || e == EROFS) {
				*ret_errno = e;
				log_debug("cgroup: mkdir '%s': %s", full, strerror(e));
				return 1;
			}
			return hull_error_set(err, e, "mkdir '%s'", full);
		}
		if (cpuset && cpuset_inherit(parent, full, err) < 0)
			return -1;
		full[next] = saved;
		pos = next;
	}
	return 0;
}

static int v1_create(const char *path, const struct oci_resources *res, bool *ret_created, hull_error **err)
{
	*ret_created = false;
	struct v1 c;
	if (v1_load(&c, path, err) < 0)
		return -1;
	struct made_list made = { 0 };
	int r = 0;
	for (size_t i = 0; i < c.n && r == 0; i++) {
		int e = 0;
		r = mkdir_in_hier(&c.h[i], path, &made, &e, err);
		if (r > 0) {
			if (!cgroup_resources_empty(res)) {
				char *dir = cgroup_v1_dir(&c.h[i], path);
				hull_error_set(err, e, "mkdir '%s'", dir ? dir : path);
				free(dir);
				r = -1;
			}
		}
	}
	if (r == 0 && apply_all(&c, res, err) < 0)
		r = -1;
	if (r == 0) {
		made_forget(&made);
		*ret_created = true;
	} else {
		/* r > 0: no permission and nothing asked for: stay where we are */
		made_rollback(&made);
		if (r > 0)
			log_debug("cgroup: cannot create '%s'; staying in the caller's cgroup", path);
	}
	v1_unload(&c);
	return r < 0 ? -1 : 0;
}

static int v1_enter(const char *path, pid_t pid, hull_error **err)
{
	struct v1 c;
	if (v1_load(&c, path, err) < 0)
		return -1;
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	int ret = 0;
	for (size_t i = 0; i < c.n && ret == 0; i++) {
		_cleanup_free_ char *dir = cgroup_v1_dir(&c.h[i], path);
		if (!dir)
			ret = hull_error_set(err, ENOMEM, "cgroup '%s'", path);
		else if (cgroup_write(dir, "cgroup.procs", buf, err) < 0)
			ret = hull_error_wrap(err, "hierarchy '%s'", c.h[i].name);
	}
	v1_unload(&c);
	return ret;
}

/* The hierarchy whose tree best lists the container's processes. */
static const struct cgroup_v1_hier *pid_hier(const struct v1 *c)
{
	static const char *const pref[] = { "pids", "memory", "freezer", "cpu", "devices", "systemd" };
	for (size_t i = 0; i < ARRAY_SIZE(pref); i++) {
		const struct cgroup_v1_hier *h = cgroup_v1_find(c->h, c->n, pref[i]);
		if (h)
			return h;
	}
	return &c->h[0];
}

static int v1_pids(const char *path, pid_t **ret, size_t *ret_n, hull_error **err)
{
	struct v1 c;
	if (v1_load(&c, path, err) < 0)
		return -1;
	int r = -1;
	_cleanup_free_ char *dir = cgroup_v1_dir(pid_hier(&c), path);
	if (!dir)
		hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	else
		r = cgroup_collect_pids(dir, ret, ret_n, err);
	v1_unload(&c);
	return r;
}

static int freezer_dir(const char *path, char **ret, hull_error **err)
{
	struct v1 c;
	if (v1_load(&c, path, err) < 0)
		return -1;
	int r = ctrl_dir(&c, "freezer", true, ret, err);
	v1_unload(&c);
	return r;
}

static int read_state(const char *dir, char *buf, size_t size, hull_error **err)
{
	_cleanup_free_ char *s = NULL;
	if (cgroup_read(dir, "freezer.state", &s, err) < 0)
		return -1;
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, size, "%s", s);
	return 0;
}

static int v1_is_frozen(const char *path, bool *ret, hull_error **err)
{
	_cleanup_free_ char *dir = NULL;
	if (freezer_dir(path, &dir, err) < 0)
		return -1;
	char st[32];
	if (read_state(dir, st, sizeof(st), err) < 0)
		return -1;
	*ret = strcmp(st, "FROZEN") == 0;
	return 0;
}

static int v1_freeze(const char *path, bool frozen, hull_error **err)
{
	_cleanup_free_ char *dir = NULL;
	if (freezer_dir(path, &dir, err) < 0)
		return -1;
	const char *want = frozen ? "FROZEN" : "THAWED";
	char st[32] = "";
	unsigned waited = 0;
	for (unsigned i = 0;; i++) {
		/* re-write now and then: a task that was busy may be caught next time */
		if (i % 8 == 0 && cgroup_write(dir, "freezer.state", want, err) < 0)
			return -1;
		if (read_state(dir, st, sizeof(st), err) < 0)
			return -1;
		if (strcmp(st, want) == 0)
			return 0;
		if (waited >= FREEZE_TIMEOUT_MS)
			break;
		cgroup_backoff(i);
		waited += i >= 5 ? 32 : 1u << i;
	}
	if (frozen) {
		hull_error *e = NULL;
		if (cgroup_write(dir, "freezer.state", "THAWED", &e) < 0)
			hull_error_clear(&e);
	}
	return hull_error_set(err, ETIMEDOUT, "wait for '%s' in '%s/freezer.state' (still '%s')", want, dir, st);
}

static int v1_destroy(const char *path, hull_error **err)
{
	struct v1 c;
	if (v1_load(&c, path, err) < 0)
		return -1;
	int ret = 0;
	/* frozen tasks do not act on SIGKILL until thawed */
	_cleanup_free_ char *fdir = NULL;
	if (ctrl_dir(&c, "freezer", false, &fdir, NULL) == 0 && fdir && cgroup_file_exists(fdir, "freezer.state")) {
		hull_error *e = NULL;
		if (cgroup_write(fdir, "freezer.state", "THAWED", &e) < 0)
			hull_error_clear(&e);
	}
	/* kill from the pid-listing hierarchy first, then make sure every
	 * hierarchy is empty */
	const struct cgroup_v1_hier *first = pid_hier(&c);
	for (size_t k = 0; k <= c.n; k++) {
		const struct cgroup_v1_hier *h = k == 0 ? first : &c.h[k - 1];
		if (k > 0 && h == first)
			continue;
		_cleanup_free_ char *dir = cgroup_v1_dir(h, path);
		if (!dir) {
			v1_unload(&c);
			return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
		}
		for (unsigned i = 0; i < 3; i++) {
			_cleanup_free_ pid_t *pids = NULL;
			size_t n = 0;
			hull_error *e = NULL;
			if (cgroup_collect_pids(dir, &pids, &n, &e) < 0) {
				hull_error_clear(&e);
				break;
			}
			if (n == 0)
				break;
			cgroup_signal_pids(pids, n, SIGKILL);
			if (cgroup_wait_empty(dir, DESTROY_WAIT_MS / 3))
				break;
		}
	}
	for (size_t i = 0; i < c.n; i++) {
		_cleanup_free_ char *dir = cgroup_v1_dir(&c.h[i], path);
		if (!dir) {
			if (ret == 0)
				ret = hull_error_set(err, ENOMEM, "cgroup '%s'", path);
			continue;
		}
		hull_error *e = NULL;
		if (cgroup_rmdir_tree(dir, &e) < 0) {
			if (ret == 0 && err && !*err)
				*err = e;
			else
				hull_error_free(e);
			ret = -1;
		}
	}
	v1_unload(&c);
	return ret;
}

static int v1_host_path(const char *path, const char *controller, char **ret, hull_error **err)
{
	struct v1 c;
	if (!controller)
		return hull_error_set(err, EINVAL, "host path of cgroup '%s': no controller given", path);
	if (v1_load(&c, path, err) < 0)
		return -1;
	int r = ctrl_dir(&c, controller, true, ret, err);
	v1_unload(&c);
	return r;
}

const struct cgroup_ops cgroup_v1_ops = {
	.name = "v1",
	.create = v1_create,
	.apply = v1_apply,
	.enter = v1_enter,
	.pids = v1_pids,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.destroy = v1_destroy,
	.host_path = v1_host_path,
};
