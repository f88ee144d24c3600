/* config.h - an OCI runtime-spec (1.2) config.json, parsed.
 *
 * oci_config_parse() reads the JSON once into these plain structs; every
 * other part of the runtime works from them.  All strings are owned by the
 * struct and freed by oci_config_free().  Arrays come with a count.
 * Unknown fields are ignored (as the spec requires); a field of the wrong
 * type is an error naming the field ("process.args: expected an array").
 */
#ifndef HULL_RUNTIME_CONFIG_H
#define HULL_RUNTIME_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* ---- process ---- */
struct oci_rlimit {
	int resource; /* RLIMIT_* */
	char *type;   /* "RLIMIT_NOFILE" as written */
	uint64_t hard, soft;
};

struct oci_caps {
	/* each a NULL-terminated array of "CAP_*" names; NULL when absent */
	char **bounding, **effective, **inheritable, **permitted, **ambient;
};

struct oci_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* windows only; kept for completeness */
};

struct oci_process {
	bool terminal;
	unsigned console_height, console_width; /* 0 = unset */
	struct oci_user user;
	char **args; /* NULL-terminated; required */
	char *command_line;
	char **env; /* NULL-terminated, may be NULL */
	char *cwd;  /* required, absolute */
	struct oci_caps caps;
	bool has_caps;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	/* scheduler (sched_setattr) */
	bool has_scheduler;
	char *sched_policy; /* "SCHED_OTHER", ... */
	int sched_nice;
	int sched_priority;
	char **sched_flags;
	uint64_t sched_runtime, sched_deadline, sched_period;
	/* ioPriority */
	bool has_io_priority;
	char *io_class; /* "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE" */
	int io_priority;
};

/* ---- root and mounts ---- */
struct oci_root {
	char *path; /* as written; may be relative to the bundle */
	bool readonly;
};

struct oci_mount {
	char *destination; /* absolute path inside the container */
	char *type;        /* may be NULL (bind) */
	char *source;      /* may be NULL */
	char **options;    /* NULL-terminated, may be NULL */
	struct oci_id_mapping *uid_mappings, *gid_mappings; /* idmapped mounts */
	size_t n_uid_mappings, n_gid_mappings;
};

/* ---- hooks ---- */
struct oci_hook {
	char *path;
	char **args; /* NULL-terminated, may be NULL */
	char **env;  /* NULL-terminated, may be NULL */
	int timeout; /* seconds; 0 = none */
};

enum oci_hook_kind {
	OCI_HOOK_PRESTART,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK__MAX,
};

struct oci_hooks {
	struct oci_hook *list[OCI_HOOK__MAX];
	size_t count[OCI_HOOK__MAX];
};

/* ---- linux ---- */
struct oci_id_mapping {
	uint32_t container_id, host_id, size;
};

struct oci_namespace {
	int type;   /* CLONE_NEWPID, CLONE_NEWNS, ... */
	char *path; /* NULL: create a new one; else join it */
};

struct oci_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	mode_t file_mode;
	uid_t uid;
	gid_t gid;
};

/* linux.resources */
struct oci_device_cgroup {
	bool allow;
	char type; /* 'a', 'c', 'b' */
	int64_t major, minor; /* -1 = wildcard */
	char *access;         /* "rwm" subset; NULL = "rwm" */
};

struct oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct oci_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

/* An unset numeric resource has has_X == false. */
struct oci_resources {
	struct oci_device_cgroup *devices;
	size_t n_devices;

	/* memory */
	bool has_memory_limit, has_memory_reservation, has_memory_swap, has_memory_kernel,
		has_memory_kernel_tcp, has_memory_swappiness, has_disable_oom_killer,
		has_use_hierarchy, has_check_before_update;
	int64_t memory_limit, memory_reservation, memory_swap, memory_kernel, memory_kernel_tcp;
	uint64_t memory_swappiness;
	bool disable_oom_killer, use_hierarchy, check_before_update;

	/* cpu */
	bool has_cpu_shares, has_cpu_quota, has_cpu_burst, has_cpu_period, has_cpu_realtime_runtime,
		has_cpu_realtime_period, has_cpu_idle;
	uint64_t cpu_shares, cpu_period, cpu_realtime_period, cpu_burst;
	int64_t cpu_quota, cpu_realtime_runtime, cpu_idle;
	char *cpuset_cpus, *cpuset_mems;

	/* pids */
	bool has_pids_limit;
	int64_t pids_limit;

	/* blkio */
	bool has_blkio_weight, has_blkio_leaf_weight;
	uint16_t blkio_weight, blkio_leaf_weight;
	struct oci_weight_device *blkio_weight_devices;
	size_t n_blkio_weight_devices;
	struct oci_throttle_device *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
		*throttle_write_iops;
	size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;

	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	/* network (v1 net_cls / net_prio) */
	bool has_net_class_id;
	uint32_t net_class_id;

	/* cgroup v2 "unified": key -> value, parallel arrays */
	char **unified_keys, **unified_values;
	size_t n_unified;
};

struct oci_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	char *op; /* "SCMP_CMP_EQ", ... */
};

struct oci_seccomp_syscall {
	char **names; /* NULL-terminated */
	char *action; /* "SCMP_ACT_ERRNO", ... */
	bool has_errno_ret;
	unsigned errno_ret;
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	unsigned default_errno_ret;
	char **architectures; /* "SCMP_ARCH_X86_64", ...; may be NULL */
	char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ...; may be NULL */
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_personality {
	char *domain; /* "LINUX" | "LINUX32" */
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	/* timeOffsets for the time namespace */
	bool has_time_offsets_monotonic, has_time_offsets_boottime;
	int64_t monotonic_secs, boottime_secs;
	uint32_t monotonic_nanosecs, boottime_nanosecs;

	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path; /* may be NULL */
	struct oci_resources resources;
	bool has_resources;
	char *rootfs_propagation; /* "shared", "slave", "private", "unbindable", ... or NULL */
	char **masked_paths;      /* NULL-terminated, may be NULL */
	char **readonly_paths;    /* NULL-terminated, may be NULL */
	char *mount_label;
	char **sysctl_keys, **sysctl_values; /* parallel */
	size_t n_sysctl;
	struct oci_seccomp *seccomp; /* NULL = no seccomp */
	struct oci_personality *personality;
	char *intel_rdt_clos_id;
};

struct oci_config {
	char *oci_version;
	struct oci_root root;
	bool has_process;
	struct oci_process process;
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hooks hooks;
	char **annotation_keys, **annotation_values; /* parallel */
	size_t n_annotations;
	bool has_linux;
	struct oci_linux linux_;
	json_t *json; /* the whole document as parsed, kept for state/annotations */
};

/* Parse a config.json document.  On success *ret is a new config owned by
 * the caller (free with oci_config_free).  Errors name the field. */
int oci_config_parse(const char *data, size_t len, struct oci_config **ret, hull_error **err);

/* Parse JSON text like oci_config_parse does: an unsigned integer above
 * INT64_MAX (e.g. 18446744073709551615) becomes a marker string that the
 * uint64 fields of oci_process_parse() accept.  NULL and *err on error. */
json_t *oci_json_parse(const char *data, size_t len, hull_error **err);

/* Read and parse <bundle>/config.json. */
int oci_config_load(const char *bundle, struct oci_config **ret, hull_error **err);

/* Parse only a "process" object (used by `exec --process FILE`). */
int oci_process_parse(json_t *obj, struct oci_process *ret, hull_error **err);
/* Free what a parsed oci_process owns and zero it. */
void oci_process_clear(struct oci_process *p);

/* Free a config and everything it owns; NULL is fine. */
void oci_config_free(struct oci_config *c);

/* Map "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown. */
int oci_rlimit_from_name(const char *name);
/* Map "pid" -> CLONE_NEWPID ...; 0 if unknown. */
int oci_namespace_from_name(const char *name);
/* Map CLONE_NEWPID -> "pid": the /proc/PID/ns/ file name, so CLONE_NEWNET ->
 * "net" and CLONE_NEWNS -> "mnt" (config.json says "network", "mount"). */
const char *oci_namespace_name(int type);
/* Find the namespace entry of type, or NULL. */
const struct oci_namespace *oci_config_namespace(const struct oci_config *c, int type);

#endif
