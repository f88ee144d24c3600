/* security.h - what the container process is allowed: user and groups,
 * capabilities, rlimits, no_new_privs, OOM score, scheduler, I/O priority,
 * and seccomp.
 *
 * These run in the container's init (or exec'd) process, in this order:
 *   sec_apply_rlimits, sec_set_oom_score_adj, sec_set_scheduler,
 *   sec_set_io_priority, sec_drop_bounding, sec_set_user (keeps caps),
 *   sec_apply_caps, [no_new_privs], seccomp load, exec.
 * Each returns 0 or -1 with err naming what was being set and the value.
 */
#ifndef HULL_RUNTIME_SECURITY_H
#define HULL_RUNTIME_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/config.h"
#include "util/error.h"

/* "CAP_SYS_ADMIN" -> 21; -1 if unknown (or not known to this kernel). */
int sec_cap_from_name(const char *name);
/* Highest capability number the running kernel knows. */
int sec_cap_last(void);
/* Check that every name in caps is a known capability (done at create time,
 * so a typo is a clear error before anything is set up). */
int sec_caps_validate(const struct oci_caps *caps, hull_error **err);

/* Set each rlimit.  Lowering always works; raising a hard limit above the
 * caller's without CAP_SYS_RESOURCE fails with an error naming the limit,
 * the value asked for, and the caller's hard limit. */
int sec_apply_rlimits(const struct oci_process *p, hull_error **err);

int sec_set_oom_score_adj(const struct oci_process *p, hull_error **err);
int sec_set_scheduler(const struct oci_process *p, hull_error **err);
int sec_set_io_priority(const struct oci_process *p, hull_error **err);

/* Drop from the bounding set every capability not in caps->bounding.
 * For this and sec_apply_caps, a NULL caps (no "capabilities" object) or a
 * NULL list is an empty set, as in runc: such a process gets no capability. */
int sec_drop_bounding(const struct oci_caps *caps, hull_error **err);

/* setgroups (additionalGids; skipped when !setgroups_allowed and the list is
 * empty), setgid, setuid - keeping the permitted set across the uid change
 * (PR_SET_KEEPCAPS) so sec_apply_caps can set it after.  umask too. */
int sec_set_user(const struct oci_user *u, bool setgroups_allowed, hull_error **err);

/* Set effective, permitted, inheritable (libcap) and raise ambient caps. */
int sec_apply_caps(const struct oci_caps *caps, hull_error **err);

/* A compiled seccomp filter: a classic BPF program, ready to load.  Compile
 * in the runtime before cloning (libseccomp is slow: milliseconds), load in
 * the child just before exec (microseconds). */
struct hull_bpf {
	void *filter;  /* struct sock_filter[] */
	size_t len;    /* number of instructions */
	unsigned flags; /* SECCOMP_FILTER_FLAG_* from the spec's "flags" */
	bool notify;    /* listenerPath set: load with NEW_LISTENER */
};

/* Compile the spec's seccomp section.  Unknown syscall names are skipped
 * (the kernel may not have them), unknown actions/ops/arches are errors. */
int seccomp_compile(const struct oci_seccomp *s, struct hull_bpf **ret, hull_error **err);

/* Load a compiled filter into the calling thread/process.  When the filter
 * asks for a notify listener, the listener fd is returned in *ret_listener
 * (else -1); ret_listener may be NULL.  (Not "seccomp_load": libseccomp
 * has a function of that name.) */
int hull_seccomp_load(const struct hull_bpf *bpf, int *ret_listener, hull_error **err);

void hull_bpf_free(struct hull_bpf *bpf);

/* The default config.json of `hull-runtime spec` (and --rootless), as runc's
 * spec command makes: args ["sh"], terminal true, default caps, mounts,
 * masked and readonly paths, namespaces. New reference. */
json_t *spec_default(bool rootless);

/* The runtime-spec "features" document (features.md) for this build. */
json_t *spec_features(void);

#endif
