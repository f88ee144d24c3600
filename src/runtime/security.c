/* security.c - user, groups, capabilities, rlimits, OOM score, scheduler
 * and I/O priority of the container process.  See security.h.
 *
 * Capabilities: a NULL `caps` pointer, or a NULL list inside it, is taken
 * as an empty set - the same as runc, which gives a process whose config has
 * no "capabilities" object no capabilities at all (and an empty bounding
 * set).  A name that libcap does not know is an error; a name libcap knows
 * but the running kernel does not (a capability newer than the kernel) is
 * ignored with a warning, as runc does.
 */
#include "runtime/security.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>

#include "util/cleanup.h"
#include "util/log.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_LOWER 3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* We keep capability sets as 64-bit masks; the kernel has 41 today. */
#define HULL_CAP_MAX 63

/* ------------------------------------------------------------------ */
/* capability names                                                    */

/* The number libcap gives a "CAP_*" name (any case), or -1. */
static int cap_lookup(const char *name)
{
	char lower[64];
	size_t len;
	cap_value_t v;

	if (!name || strncasecmp(name, "CAP_", 4) != 0)
		return -1;
	len = strlen(name);
	if (len <= 4 || len >= sizeof(lower))
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_')
			return -1;
		lower[i] = (char)tolower(c);
	}
	lower[len] = '\0';
	if (cap_from_name(lower, &v) < 0)
		return -1;
	if (v < 0 || v > HULL_CAP_MAX)
		return -1;
	return (int)v;
}

/* "CAP_SYS_ADMIN" for 21 into buf. */
static const char *cap_name(int cap, char buf[static 48])
{
	char *n = cap_to_name((cap_value_t)cap);
	if (!n) {
		snprintf(buf, 48, "capability %d", cap);
		return buf;
	}
	if (strncmp(n, "cap_", 4) == 0) {
		size_t i;
		for (i = 0; n[i] && i < 47; i++)
			buf[i] = (char)toupper((unsigned char)n[i]);
		buf[i] = '\0';
	} else {
		snprintf(buf, 48, "capability %s", n);
	}
	cap_free(n);
	return buf;
}

int sec_cap_last(void)
{
	static int cached = -1;
	char buf[32];
	int last = -1;

	if (cached >= 0)
		return cached;

	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			char *end = NULL;
			long v = strtol(buf, &end, 10);
			if (end != buf && v >= 0 && v <= HULL_CAP_MAX)
				last = (int)v;
		}
	}
	if (last < 0) {
		/* No /proc (early in a container's setup): ask the bounding
		 * set, which answers EINVAL for numbers the kernel lacks. */
		for (int c = 0; c <= HULL_CAP_MAX; c++) {
			if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0) {
				if (errno != EINVAL)
					last = -1; /* cannot tell */
				break;
			}
			last = c;
		}
	}
	if (last < 0)
		last = CAP_LAST_CAP;
	if (last > HULL_CAP_MAX)
		last = HULL_CAP_MAX;
	cached = last;
	return last;
}

int sec_cap_from_name(const char *name)
{
	int v = cap_lookup(name);
	if (v < 0 || v > sec_cap_last())
		return -1;
	return v;
}

static const char *const cap_set_names[] = {"bounding", "effective", "inheritable", "permitted",
					   "ambient"};

static char **caps_list(const struct oci_caps *caps, size_t i)
{
	if (!caps)
		return NULL;
	switch (i) {
	case 0: return caps->bounding;
	case 1: return caps->effective;
	case 2: return caps->inheritable;
	case 3: return caps->permitted;
	default: return caps->ambient;
	}
}

int sec_caps_validate(const struct oci_caps *caps, hull_error **err)
{
	if (!caps)
		return 0;
	int last = sec_cap_last();
	for (size_t i = 0; i < ARRAY_SIZE(cap_set_names); i++) {
		char **l = caps_list(caps, i);
		for (size_t j = 0; l && l[j]; j++) {
			int v = cap_lookup(l[j]);
			if (v < 0)
				return hull_error_set(err, 0,
						      "unknown capability '%s' in process.capabilities.%s",
						      l[j], cap_set_names[i]);
			if (v > last)
				log_warn("capability '%s' in process.capabilities.%s is not known to the "
					 "running kernel (last is %d); ignored",
					 l[j], cap_set_names[i], last);
		}
	}
	return 0;
}

/* Mask of the capabilities in `names` (NULL = empty), skipping those the
 * kernel does not have.  `set` names the list for errors. */
static int caps_mask(char **names, const char *set, uint64_t *ret, hull_error **err)
{
	uint64_t m = 0;
	int last = sec_cap_last();
	for (size_t j = 0; names && names[j]; j++) {
		int v = cap_lookup(names[j]);
		if (v < 0)
			return hull_error_set(err, 0,
					      "unknown capability '%s' in process.capabilities.%s",
					      names[j], set);
		if (v > last) {
			log_debug("capability %s (process.capabilities.%s) unknown to the kernel; skipped",
				  names[j], set);
			continue;
		}
		m |= UINT64_C(1) << v;
	}
	*ret = m;
	return 0;
}

int sec_drop_bounding(const struct oci_caps *caps, hull_error **err)
{
	uint64_t keep = 0;
	char nb[48];

	if (caps_mask(caps ? caps->bounding : NULL, "bounding", &keep, err) < 0)
		return -1;
	int last = sec_cap_last();
	for (int c = 0; c <= last; c++) {
		if (keep & (UINT64_C(1) << c))
			continue;
		int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (r == 0)
			continue; /* already gone */
		if (r < 0) {
			if (errno == EINVAL)
				continue;
			return hull_error_set(err, errno, "read %s from the bounding set",
					      cap_name(c, nb));
		}
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			int e = errno;
			if (e == EINVAL)
				continue;
			return hull_error_set(err, e, "drop %s from the bounding set%s",
					      cap_name(c, nb),
					      e == EPERM ? " (needs CAP_SETPCAP)" : "");
		}
	}
	return 0;
}

/* After cap_set_proc failed: name the first capability that the kernel
 * would refuse, into buf ("" when none is found). */
static void caps_explain(uint64_t p, uint64_t i, char *buf, size_t size)
{
	char nb[48];
	int last = sec_cap_last();
	cap_t cur = cap_get_proc();

	buf[0] = '\0';
	if (!cur)
		return;
	for (int c = 0; c <= last; c++) {
		uint64_t bit = UINT64_C(1) << c;
		cap_flag_value_t oldp = CAP_CLEAR, oldi = CAP_CLEAR;
		cap_get_flag(cur, (cap_value_t)c, CAP_PERMITTED, &oldp);
		cap_get_flag(cur, (cap_value_t)c, CAP_INHERITABLE, &oldi);
		bool bset = prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0;
		if ((p & bit) && oldp != CAP_SET) {
			snprintf(buf, size,
				 " (%s in process.capabilities.permitted is not held by the runtime%s)",
				 cap_name(c, nb), bset ? "" : ": it is not in the bounding set");
			break;
		}
		if ((i & bit) && oldi != CAP_SET && (!bset || oldp != CAP_SET)) {
			snprintf(buf, size,
				 " (%s in process.capabilities.inheritable is not %s)", cap_name(c, nb),
				 bset ? "permitted to the runtime" : "in the bounding set");
			break;
		}
	}
	cap_free(cur);
}

int sec_apply_caps(const struct oci_caps *caps, hull_error **err)
{
	uint64_t m[ARRAY_SIZE(cap_set_names)] = {0};
	char nb[48];

	for (size_t s = 1; s < ARRAY_SIZE(cap_set_names); s++)
		if (caps_mask(caps_list(caps, s), cap_set_names[s], &m[s], err) < 0)
			return -1;
	uint64_t e = m[1], in = m[2], p = m[3], a = m[4];
	int last = sec_cap_last();

	for (int c = 0; c <= last; c++) {
		uint64_t bit = UINT64_C(1) << c;
		if ((e & bit) && !(p & bit))
			return hull_error_set(err, 0,
					      "capability %s is in process.capabilities.effective but "
					      "not in process.capabilities.permitted",
					      cap_name(c, nb));
		if ((a & bit) && (!(p & bit) || !(in & bit)))
			return hull_error_set(err, 0,
					      "ambient capability %s must also be in "
					      "process.capabilities.permitted and inheritable",
					      cap_name(c, nb));
	}

	cap_t cs = cap_init();
	if (!cs)
		return hull_error_set(err, errno, "allocate a capability state");
	for (int c = 0; c <= last; c++) {
		uint64_t bit = UINT64_C(1) << c;
		cap_value_t v = (cap_value_t)c;
		if ((e & bit) && cap_set_flag(cs, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
			goto flag_fail;
		if ((p & bit) && cap_set_flag(cs, CAP_PERMITTED, 1, &v, CAP_SET) < 0)
			goto flag_fail;
		if ((in & bit) && cap_set_flag(cs, CAP_INHERITABLE, 1, &v, CAP_SET) < 0)
			goto flag_fail;
	}
	if (cap_set_proc(cs) < 0) {
		int errsv = errno;
		char why[160];
		cap_free(cs);
		caps_explain(p, in, why, sizeof(why));
		return hull_error_set(err, errsv, "set process capabilities%s", why);
	}
	cap_free(cs);

	/* Ambient: start from nothing, then raise each one asked for. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (errno == EINVAL && a == 0)
			return 0; /* kernel without ambient capabilities; nothing asked */
		return hull_error_set(err, errno, "clear the ambient capability set");
	}
	for (int c = 0; c <= last; c++) {
		if (!(a & (UINT64_C(1) << c)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return hull_error_set(err, errno, "raise ambient capability %s",
					      cap_name(c, nb));
	}
	return 0;

flag_fail:;
	int errsv = errno;
	cap_free(cs);
	return hull_error_set(err, errsv, "build the capability state");
}

/* ------------------------------------------------------------------ */
/* user                                                                */

int sec_set_user(const struct oci_user *u, bool setgroups_allowed, hull_error **err)
{
	/* keep the permitted set across the uid change; sec_apply_caps then
	 * sets the final sets (effective is cleared by the change). */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hull_error_set(err, errno, "set keep-capabilities");

	if (u->n_additional_gids > 0) {
		if (!setgroups_allowed)
			return hull_error_set(err, 0,
					      "set %zu additional gids (process.user.additionalGids): "
					      "setgroups is denied in this user namespace",
					      u->n_additional_gids);
		if (setgroups(u->n_additional_gids, u->additional_gids) < 0)
			return hull_error_set(err, errno, "set %zu additional gids (first %u)",
					      u->n_additional_gids,
					      (unsigned)u->additional_gids[0]);
	} else if (setgroups_allowed) {
		/* drop the supplementary groups inherited from the runtime */
		if (setgroups(0, NULL) < 0)
			return hull_error_set(err, errno, "clear the supplementary groups");
	}

	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return hull_error_set(err, errno, "set gid to %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return hull_error_set(err, errno, "set uid to %u", (unsigned)u->uid);

	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hull_error_set(err, errno, "clear keep-capabilities");

	if (u->has_umask)
		umask(u->umask & 0777);
	return 0;
}

/* ------------------------------------------------------------------ */
/* rlimits                                                             */

static const char *rlim_str(uint64_t v, char buf[static 24])
{
	if (v == (uint64_t)RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, 24, "%" PRIu64, v);
	return buf;
}

static long long read_proc_number(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

int sec_apply_rlimits(const struct oci_process *p, hull_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];
		const char *type = rl->type ? rl->type : "?";
		char sb[24], hb[24], cb[24];

		if (rl->resource < 0)
			return hull_error_set(err, 0, "unknown rlimit type '%s'", type);
		if (rl->soft > rl->hard)
			return hull_error_set(err, 0,
					      "set rlimit %s to soft %s hard %s: the soft limit is "
					      "above the hard limit",
					      type, rlim_str(rl->soft, sb), rlim_str(rl->hard, hb));

		struct rlimit r = {.rlim_cur = (rlim_t)rl->soft, .rlim_max = (rlim_t)rl->hard};
		if (setrlimit((__rlimit_resource_t)rl->resource, &r) == 0)
			continue;

		int e = errno;
		struct rlimit cur;
		if (e == EPERM && getrlimit((__rlimit_resource_t)rl->resource, &cur) == 0) {
			if ((uint64_t)cur.rlim_max != (uint64_t)RLIM_INFINITY &&
			    rl->hard > (uint64_t)cur.rlim_max) {
				hull_error_set(err, 0,
					       "set rlimit %s to soft %s hard %s: operation not "
					       "permitted (the caller's hard limit is %s; raising it "
					       "needs CAP_SYS_RESOURCE)",
					       type, rlim_str(rl->soft, sb), rlim_str(rl->hard, hb),
					       rlim_str((uint64_t)cur.rlim_max, cb));
				if (err && *err)
					(*err)->status = EPERM;
				return -1;
			}
			if (rl->resource == RLIMIT_NOFILE) {
				long long nr_open = read_proc_number("/proc/sys/fs/nr_open");
				if (nr_open > 0 && rl->hard > (uint64_t)nr_open) {
					hull_error_set(err, 0,
						       "set rlimit %s to soft %s hard %s: operation not "
						       "permitted (above the kernel's fs.nr_open, %lld)",
						       type, rlim_str(rl->soft, sb),
						       rlim_str(rl->hard, hb), nr_open);
					if (err && *err)
						(*err)->status = EPERM;
					return -1;
				}
			}
		}
		return hull_error_set(err, e, "set rlimit %s to soft %s hard %s", type,
				      rlim_str(rl->soft, sb), rlim_str(rl->hard, hb));
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* OOM score, scheduler, I/O priority                                  */

int sec_set_oom_score_adj(const struct oci_process *p, hull_error **err)
{
	char buf[16];

	if (!p->has_oom_score_adj)
		return 0;
	if (p->oom_score_adj < -1000 || p->oom_score_adj > 1000)
		return hull_error_set(err, 0,
				      "set oom_score_adj to %d: out of range (-1000 to 1000)",
				      p->oom_score_adj);
	int n = snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_set(err, errno, "set oom_score_adj to %d: open '%s'",
				      p->oom_score_adj, "/proc/self/oom_score_adj");
	if (write(fd, buf, (size_t)n) != n) {
		int e = errno;
		return hull_error_set(err, e, "set oom_score_adj to %d%s", p->oom_score_adj,
				      (e == EACCES || e == EPERM) ?
					      " (lowering it needs CAP_SYS_RESOURCE)" : "");
	}
	return 0;
}

/* struct sched_attr, as the kernel defines it (SCHED_ATTR_SIZE_VER1). */
struct hull_sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

struct name_num {
	const char *name;
	unsigned long value;
};

static const struct name_num sched_policies[] = {
	{"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
	{"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

static const struct name_num sched_flag_names[] = {
	{"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
	{"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
	{"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
	{"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static int lookup(const struct name_num *t, size_t n, const char *name, unsigned long *ret)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(t[i].name, name) == 0) {
			*ret = t[i].value;
			return 0;
		}
	return -1;
}

int sec_set_scheduler(const struct oci_process *p, hull_error **err)
{
	unsigned long policy, flag;
	struct hull_sched_attr a;

	if (!p->has_scheduler)
		return 0;
	if (!p->sched_policy)
		return hull_error_set(err, 0, "process.scheduler.policy is required");
	if (lookup(sched_policies, ARRAY_SIZE(sched_policies), p->sched_policy, &policy) < 0)
		return hull_error_set(err, 0, "unknown scheduler policy '%s'", p->sched_policy);

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = (uint32_t)policy;
	for (size_t i = 0; p->sched_flags && p->sched_flags[i]; i++) {
		if (lookup(sched_flag_names, ARRAY_SIZE(sched_flag_names), p->sched_flags[i], &flag) < 0)
			return hull_error_set(err, 0, "unknown scheduler flag '%s'",
					      p->sched_flags[i]);
		a.sched_flags |= flag;
	}
	a.sched_nice = p->sched_nice;
	a.sched_priority = (uint32_t)p->sched_priority;
	a.sched_runtime = p->sched_runtime;
	a.sched_deadline = p->sched_deadline;
	a.sched_period = p->sched_period;
	/* the spec has no clamp values: with the clamp flags, clamp to the
	 * whole range (no effect beyond resetting a previous clamp) */
	a.sched_util_min = 0;
	a.sched_util_max = 1024;

	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		return hull_error_set(err, errno, "set scheduler policy %s (nice %d, priority %d)",
				      p->sched_policy, p->sched_nice, p->sched_priority);
	return 0;
}

static const struct name_num io_classes[] = {
	{"IOPRIO_CLASS_RT", 1},
	{"IOPRIO_CLASS_BE", 2},
	{"IOPRIO_CLASS_IDLE", 3},
};

int sec_set_io_priority(const struct oci_process *p, hull_error **err)
{
	unsigned long cls;

	if (!p->has_io_priority)
		return 0;
	if (lookup(io_classes, ARRAY_SIZE(io_classes), p->io_class, &cls) < 0)
		return hull_error_set(err, 0, "unknown I/O priority class '%s'",
				      p->io_class ? p->io_class : "");
	if (p->io_priority < 0 || p->io_priority > 7)
		return hull_error_set(err, 0, "I/O priority %d for %s out of range (0 to 7)",
				      p->io_priority, p->io_class);
	int prio = (int)(cls << 13) | p->io_priority;
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, prio) < 0)
		return hull_error_set(err, errno, "set I/O priority %s %d", p->io_class,
				      p->io_priority);
	return 0;
}
