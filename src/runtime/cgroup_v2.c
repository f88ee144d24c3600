/* cgroup_v2.c - the cgroup v2 (unified hierarchy) backend. */
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

/* Controllers enabled for our subtree when the parent offers them. */
static const char *const v2_controllers[] = { "cpu", "memory", "pids", "io", "cpuset", "hugetlb" };

#define FREEZE_TIMEOUT_MS 5000
#define DESTROY_WAIT_MS 1000

static char *v2_dir(const char *path)
{
	char *d = NULL;
	if (asprintf(&d, "%s%s", cgroup_root(), path) < 0)
		return NULL;
	return d;
}


static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; *p;) {
		p += strspn(p, " \t\n");
		size_t len = strcspn(p, " \t\n");
		if (len == wl && strncmp(p, word, wl) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Enable in dir's cgroup.subtree_control every wanted controller that dir
 * offers.  Failures are only logged: a resource that then cannot be set
 * fails later naming its file. */
static void enable_controllers(const char *dir)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL;
	if (cgroup_read(dir, "cgroup.controllers", &avail, NULL) < 0)
		return;
	if (cgroup_read(dir, "cgroup.subtree_control", &enabled, NULL) < 0)
		return;
	char all[128] = "";
	for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++) {
		const char *c = v2_controllers[i];
		if (!has_word(avail, c) || has_word(enabled, c))
			continue;
		if (all[0])
			strcat(all, " ");
		strcat(all, "+");
		strcat(all, c);
	}
	if (!all[0])
		return;
	hull_error *e = NULL;
	if (cgroup_write(dir, "cgroup.subtree_control", all, &e) == 0)
		return;
	hull_error_clear(&e);
	/* one at a time, so one refused controller does not block the others */
	char *save = NULL;
	for (char *t = strtok_r(all, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (cgroup_write(dir, "cgroup.subtree_control", t, &e) < 0) {
			log_debug("cgroup: enable '%s' in '%s': %s", t, dir, e->msg);
			hull_error_clear(&e);
		}
	}
}

/* ---- resources ---- */

static bool set_nonzero(bool has, int64_t v)
{
	return has && v != 0;
}

static int apply_memory(const char *dir, const struct oci_resources *r, hull_error **err)
{
	bool limit_set = set_nonzero(r->has_memory_limit, r->memory_limit);
	bool swap_set = set_nonzero(r->has_memory_swap, r->memory_swap);
	if (limit_set) {
		if (r->memory_limit < 0 ? cgroup_write(dir, "memory.max", "max", err) < 0
					: cgroup_writef(dir, "memory.max", err, "%" PRId64, r->memory_limit) < 0)
			return -1;
	}
	if (set_nonzero(r->has_memory_reservation, r->memory_reservation)) {
		if (r->memory_reservation < 0 ? cgroup_write(dir, "memory.low", "max", err) < 0
					      : cgroup_writef(dir, "memory.low", err, "%" PRId64, r->memory_reservation) < 0)
			return -1;
	}
	if (swap_set) {
		/* OCI's swap is memory+swap; v2's memory.swap.max is swap alone */
		if (!cgroup_file_exists(dir, "memory.swap.max")) {
			log_debug("cgroup: no memory.swap.max (swap accounting off), swap limit ignored");
		} else if (r->memory_swap < 0) {
			if (cgroup_write(dir, "memory.swap.max", "max", err) < 0)
				return -1;
		} else if (!limit_set || r->memory_limit < 0) {
			return hull_error_set(err, EINVAL, "set 'memory.swap.max': a swap limit (%" PRId64
							    ") needs a memory limit",
					      r->memory_swap);
		} else if (r->memory_swap < r->memory_limit) {
			return hull_error_set(err, EINVAL,
					      "set 'memory.swap.max': memory+swap limit %" PRId64
					      " is below the memory limit %" PRId64,
					      r->memory_swap, r->memory_limit);
		} else if (cgroup_writef(dir, "memory.swap.max", err, "%" PRId64, r->memory_swap - r->memory_limit) < 0) {
			return -1;
		}
	}
	if (r->has_memory_kernel || r->has_memory_kernel_tcp)
		log_debug("cgroup: kernel memory limits are not supported by cgroup v2, ignored");
	if (r->has_memory_swappiness)
		log_debug("cgroup: memory.swappiness has no cgroup v2 equivalent, ignored");
	if (r->has_disable_oom_killer && r->disable_oom_killer)
		log_debug("cgroup: disableOOMKiller has no cgroup v2 equivalent, ignored");
	return 0;
}

/* cpu.shares (2..262144) -> cpu.weight (1..10000). */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int apply_cpu(const char *dir, const struct oci_resources *r, hull_error **err)
{
	if (r->has_cpu_shares && r->cpu_shares != 0 &&
	    cgroup_writef(dir, "cpu.weight", err, "%" PRIu64, shares_to_weight(r->cpu_shares)) < 0)
		return -1;
	bool quota_set = set_nonzero(r->has_cpu_quota, r->cpu_quota);
	bool period_set = r->has_cpu_period && r->cpu_period != 0;
	if (quota_set || period_set) {
		char quota[32] = "max";
		if (quota_set) {
			if (r->cpu_quota > 0)
				snprintf(quota, sizeof(quota), "%" PRId64, r->cpu_quota);
		} else {
			/* only the period changes: keep the current quota */
			_cleanup_free_ char *cur = NULL;
			if (cgroup_read(dir, "cpu.max", &cur, NULL) == 0) {
				size_t len = strcspn(cur, " \n");
				if (len > 0 && len < sizeof(quota)) {
					memcpy(quota, cur, len);
					quota[len] = '\0';
				}
			}
		}
		if (period_set ? cgroup_writef(dir, "cpu.max", err, "%s %" PRIu64, quota, r->cpu_period) < 0
			       : cgroup_write(dir, "cpu.max", quota, err) < 0)
			return -1;
	}
	if (r->has_cpu_burst &&
	    cgroup_writef_optional(dir, "cpu.max.burst", "cpu burst", err, "%" PRIu64, r->cpu_burst) < 0)
		return -1;
	if (r->has_cpu_idle && cgroup_writef_optional(dir, "cpu.idle", "cpu idle", err, "%" PRId64, r->cpu_idle) < 0)
		return -1;
	if (set_nonzero(r->has_cpu_realtime_runtime, r->cpu_realtime_runtime) ||
	    (r->has_cpu_realtime_period && r->cpu_realtime_period != 0))
		return hull_error_set(err, EOPNOTSUPP, "set realtime cpu runtime/period: not available with cgroup v2");
	if (r->cpuset_cpus && r->cpuset_cpus[0] && cgroup_write(dir, "cpuset.cpus", r->cpuset_cpus, err) < 0)
		return -1;
	if (r->cpuset_mems && r->cpuset_mems[0] && cgroup_write(dir, "cpuset.mems", r->cpuset_mems, err) < 0)
		return -1;
	return 0;
}

/* blkio weight (10..1000) -> io.weight (1..10000). */
static uint64_t blkio_to_io_weight(uint64_t w)
{
	if (w < 10)
		w = 10;
	if (w > 1000)
		w = 1000;
	return 1 + ((w - 10) * 9999) / 990;
}

static int write_weight(const char *dir, const char *dev, uint16_t weight, hull_error **err)
{
	bool bfq = cgroup_file_exists(dir, "io.bfq.weight");
	bool iow = cgroup_file_exists(dir, "io.weight");
	if (bfq && cgroup_writef(dir, "io.bfq.weight", err, "%s%" PRIu16, dev, weight) < 0)
		return -1;
	if ((iow || !bfq) && cgroup_writef(dir, "io.weight", err, "%s%" PRIu64, dev, blkio_to_io_weight(weight)) < 0)
		return -1;
	return 0;
}

static int write_io_max(const char *dir, const struct oci_throttle_device *d, size_t n, const char *key,
			hull_error **err)
{
	for (size_t i = 0; i < n; i++) {
		char rate[32];
		if (d[i].rate == 0)
			snprintf(rate, sizeof(rate), "max");
		else
			snprintf(rate, sizeof(rate), "%" PRIu64, d[i].rate);
		if (cgroup_writef(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%s", d[i].major, d[i].minor, key, rate) < 0)
			return -1;
	}
	return 0;
}

static int apply_io(const char *dir, const struct oci_resources *r, hull_error **err)
{
	if (r->has_blkio_weight && r->blkio_weight != 0 && write_weight(dir, "", r->blkio_weight, err) < 0)
		return -1;
	if (r->has_blkio_leaf_weight)
		log_debug("cgroup: blkio leafWeight has no cgroup v2 equivalent, ignored");
	for (size_t i = 0; i < r->n_blkio_weight_devices; i++) {
		const struct oci_weight_device *wd = &r->blkio_weight_devices[i];
		if (!wd->has_weight)
			continue;
		char dev[64];
		snprintf(dev, sizeof(dev), "%" PRId64 ":%" PRId64 " ", wd->major, wd->minor);
		if (write_weight(dir, dev, wd->weight, err) < 0)
			return -1;
	}
	if (write_io_max(dir, r->throttle_read_bps, r->n_throttle_read_bps, "rbps", err) < 0 ||
	    write_io_max(dir, r->throttle_write_bps, r->n_throttle_write_bps, "wbps", err) < 0 ||
	    write_io_max(dir, r->throttle_read_iops, r->n_throttle_read_iops, "riops", err) < 0 ||
	    write_io_max(dir, r->throttle_write_iops, r->n_throttle_write_iops, "wiops", err) < 0)
		return -1;
	return 0;
}

static bool safe_name(const char *s)
{
	return s && s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int apply_hugetlb(const char *dir, const struct oci_resources *r, hull_error **err)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		if (!safe_name(h->page_size))
			return hull_error_set(err, EINVAL, "hugepage limit: invalid page size '%s'",
					      h->page_size ? h->page_size : "");
		char file[128], rsvd[128];
		snprintf(file, sizeof(file), "hugetlb.%s.max", h->page_size);
		snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.max", h->page_size);
		if (cgroup_writef(dir, file, err, "%" PRIu64, h->limit) < 0)
			return -1;
		if (cgroup_file_exists(dir, rsvd) && cgroup_writef(dir, rsvd, err, "%" PRIu64, h->limit) < 0)
			return -1;
	}
	return 0;
}

static int v2_apply(const char *path, const struct oci_resources *r, hull_error **err)
{
	if (!r)
		return 0;
	_cleanup_free_ char *dir = v2_dir(path);
	if (!dir)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	if (apply_memory(dir, r, err) < 0 || apply_cpu(dir, r, err) < 0)
		return -1;
	if (r->has_pids_limit) {
		if (r->pids_limit > 0 ? cgroup_writef(dir, "pids.max", err, "%" PRId64, r->pids_limit) < 0
				      : cgroup_write(dir, "pids.max", "max", err) < 0)
			return -1;
	}
	if (apply_io(dir, r, err) < 0 || apply_hugetlb(dir, r, err) < 0)
		return -1;
	if (r->has_net_class_id)
		log_debug("cgroup: network classID needs the v1 net_cls controller, ignored on cgroup v2");
	/* device rules: an eBPF program attached to the cgroup (cgroup_v2_devices.c) */
	if (cgroup_v2_devices_apply(dir, path, r->devices, r->n_devices, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_unified; i++) {
		const char *k = r->unified_keys[i];
		if (!safe_name(k))
			return hull_error_set(err, EINVAL, "linux.resources.unified: invalid key '%s'", k ? k : "");
		if (cgroup_write(dir, k, r->unified_values[i] ? r->unified_values[i] : "", err) < 0)
			return -1;
	}
	return 0;
}

/* ---- lifecycle ---- */

static void rollback(char **made, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (rmdir(made[i]) < 0 && errno != ENOENT)
			log_debug("cgroup: rollback rmdir '%s': %s", made[i], strerror(errno));
		free(made[i]);
	}
}

static int v2_create(const char *path, const struct oci_resources *res, bool *ret_created, hull_error **err)
{
	*ret_created = false;
	_cleanup_free_ char *cur = strdup(cgroup_root());
	_cleanup_free_ char *copy = strdup(path);
	if (!cur || !copy)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	char *made[128];
	size_t n_made = 0;
	char *save = NULL;
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		enable_controllers(cur);
		char *next = NULL;
		if (asprintf(&next, "%s/%s", cur, comp) < 0) {
			rollback(made, n_made);
			return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
		}
		free(cur);
		cur = next;
		if (mkdir(cur, 0755) == 0) {
			if (n_made >= ARRAY_SIZE(made)) {
				rollback(made, n_made);
				return hull_error_set(err, ENAMETOOLONG, "mkdir '%s'", cur);
			}
			if (!(made[n_made] = strdup(cur))) {
				rmdir(cur);
				rollback(made, n_made);
				return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
			}
			n_made++;
			continue;
		}
		int e = errno;
		if (e == EEXIST)
			continue;
		rollback(made, n_made);
		if ((e == EACCES || e == EPERM || e == EROFS) && cgroup_resources_empty(res)) {
			log_debug("cgroup: mkdir '%s': %s; staying in the caller's cgroup", cur, strerror(e));
			return 0;
		}
		return hull_error_set(err, e, "mkdir '%s'", cur);
	}
	if (v2_apply(path, res, err) < 0) {
		rollback(made, n_made);
		return -1;
	}
	for (size_t i = 0; i < n_made; i++)
		free(made[i]);
	*ret_created = true;
	return 0;
}

static int v2_enter(const char *path, pid_t pid, hull_error **err)
{
	_cleanup_free_ char *dir = v2_dir(path);
	if (!dir)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return cgroup_write(dir, "cgroup.procs", buf, err);
}

static int v2_pids(const char *path, pid_t **ret, size_t *ret_n, hull_error **err)
{
	_cleanup_free_ char *dir = v2_dir(path);
	if (!dir)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	return cgroup_collect_pids(dir, ret, ret_n, err);
}

/* The value of key in cgroup.events ("frozen"), or -1. */
static int events_value(const char *dir, const char *key)
{
	_cleanup_free_ char *ev = NULL;
	if (cgroup_read(dir, "cgroup.events", &ev, NULL) < 0)
		return -1;
	size_t kl = strlen(key);
	for (char *line = ev; line && *line;) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
			return atoi(line + kl + 1);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

static int v2_is_frozen(const char *path, bool *ret, hull_error **err)
{
	_cleanup_free_ char *dir = v2_dir(path);
	if (!dir)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	int v = events_value(dir, "frozen");
	if (v < 0) {
		_cleanup_free_ char *f = NULL;
		if (cgroup_read(dir, "cgroup.freeze", &f, err) < 0)
			return -1;
		v = atoi(f);
	}
	*ret = v == 1;
	return 0;
}

static int v2_freeze(const char *path, bool frozen, hull_error **err)
{
	_cleanup_free_ char *dir = v2_dir(path);
	if (!dir)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	if (cgroup_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return -1;
	int want = frozen ? 1 : 0;
	for (unsigned i = 0, waited = 0;; i++) {
		int v = events_value(dir, "frozen");
		if (v == want)
			return 0;
		if (v < 0)
			return hull_error_set(err, ENOENT, "read 'frozen' from '%s/cgroup.events'", dir);
		if (waited >= FREEZE_TIMEOUT_MS)
			break;
		cgroup_backoff(i);
		waited += i >= 5 ? 32 : 1u << i;
	}
	if (frozen) {
		hull_error *e = NULL;
		if (cgroup_write(dir, "cgroup.freeze", "0", &e) < 0)
			hull_error_clear(&e);
	}
	return hull_error_set(err, ETIMEDOUT, "wait for 'frozen %d' in '%s/cgroup.events'", want, dir);
}

static int v2_destroy(const char *path, hull_error **err)
{
	_cleanup_free_ char *dir = v2_dir(path);
	if (!dir)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	if (access(dir, F_OK) < 0 && errno == ENOENT)
		return 0;
	bool killed = false;
	if (cgroup_file_exists(dir, "cgroup.kill")) {
		hull_error *e = NULL;
		if (cgroup_write(dir, "cgroup.kill", "1", &e) == 0)
			killed = true;
		else
			hull_error_clear(&e);
	}
	if (!killed) {
		/* SIGKILL reaches frozen tasks on v2, but thaw anyway so they exit at once */
		hull_error *e = NULL;
		if (cgroup_file_exists(dir, "cgroup.freeze") && cgroup_write(dir, "cgroup.freeze", "0", &e) < 0)
			hull_error_clear(&e);
	}
	for (unsigned i = 0; i < 3; i++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;
		if (cgroup_collect_pids(dir, &pids, &n, err) < 0)
			return -1;
		if (n == 0)
			break;
		cgroup_signal_pids(pids, n, SIGKILL);
		if (cgroup_wait_empty(dir, DESTROY_WAIT_MS / 3))
			break;
	}
	return cgroup_rmdir_tree(dir, err);
}

static int v2_host_path(const char *path, const char *controller, char **ret, hull_error **err)
{
	*ret = v2_dir(path);
	if (!*ret)
		return hull_error_set(err, ENOMEM, "cgroup '%s'", path);
	return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
	.name = "v2",
	.create = v2_create,
	.apply = v2_apply,
	.enter = v2_enter,
	.pids = v2_pids,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.destroy = v2_destroy,
	.host_path = v2_host_path,
};
