/* cgroup.h - control groups for a container, v1 and v2 behind one interface.
 *
 * The layout is detected at run time: a pure cgroup2 /sys/fs/cgroup is v2;
 * anything else (v1, or the "hybrid" layout with a cgroup2 mount at
 * /sys/fs/cgroup/unified that holds no controllers) is driven as v1.  Each
 * version is a backend (cgroup_v1.c, cgroup_v2.c) exposing the same table of
 * functions (struct cgroup_ops); cgroup.c picks one and holds shared code.
 */
#ifndef HULL_RUNTIME_CGROUP_H
#define HULL_RUNTIME_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/config.h"
#include "util/error.h"

enum cgroup_mode {
	CGROUP_MODE_V1 = 1,
	CGROUP_MODE_V2 = 2,
};

/* A container's cgroup.  `path` is the path below each hierarchy's root,
 * always starting with '/', e.g. "/hull/abc123" (no trailing slash). */
struct hull_cgroup {
	enum cgroup_mode mode;
	char *path;
	bool created; /* we made the directory (so delete removes it) */
};

/* Detect the host's cgroup layout.  0 or -1 with err. */
int cgroup_detect(enum cgroup_mode *ret, hull_error **err);

/* Compute the path for a container: cgroups_path from config.json (absolute:
 * taken as is; relative: below the caller's own cgroup; NULL or empty:
 * "/hull/<id>").  A "slice:prefix:name" systemd-style path is an error
 * ("systemd cgroup paths are not supported"). */
int cgroup_resolve_path(const char *cgroups_path, const char *id, char **ret, hull_error **err);

/* Create the cgroup (all hierarchies for v1; for v2 also enabling the needed
 * controllers in cgroup.subtree_control of every ancestor) and apply the
 * resources (res may be NULL).  Without permission to create it (rootless,
 * no delegation) and with no resources asked for, this succeeds with
 * (*ret)->created == false and the caller's cgroup kept.  A resource the
 * host cannot apply is an error naming the file and value. */
int cgroup_create(const char *path, const struct oci_resources *res, struct hull_cgroup **ret,
		  hull_error **err);

/* Move pid into the cgroup (every v1 hierarchy, or the v2 one). */
int cgroup_enter(const struct hull_cgroup *cg, pid_t pid, hull_error **err);

/* Open the v2 cgroup directory (O_PATH|O_DIRECTORY) for clone3's
 * CLONE_INTO_CGROUP.  -1 with err if not v2 or not created. */
int cgroup_open_v2_fd(const struct hull_cgroup *cg, hull_error **err);

/* Apply resources again (runtime `update`). */
int cgroup_update(const struct hull_cgroup *cg, const struct oci_resources *res, hull_error **err);

/* All pids in the cgroup (and its descendants), malloc'd array. */
int cgroup_pids(const struct hull_cgroup *cg, pid_t **ret, size_t *ret_n, hull_error **err);

/* Send sig to every process in the cgroup. */
int cgroup_kill_all(const struct hull_cgroup *cg, int sig, hull_error **err);

/* Freeze or thaw (v1 freezer.state FROZEN/THAWED, v2 cgroup.freeze) and wait
 * until the state is reached. */
int cgroup_freeze(const struct hull_cgroup *cg, bool frozen, hull_error **err);
/* Whether it is frozen now. */
int cgroup_is_frozen(const struct hull_cgroup *cg, bool *ret, hull_error **err);

/* Remove the cgroup directories (after killing whatever is left in them
 * and waiting briefly).  Missing directories are fine. */
int cgroup_destroy(const struct hull_cgroup *cg, hull_error **err);

/* For the container's "cgroup" mount on v1: each mounted hierarchy, with
 * the controller names it holds (e.g. "cpu,cpuacct"), its host mount point,
 * and the name of the directory under /sys/fs/cgroup to use.  NULL-terminated
 * arrays, parallel, malloc'd (free with strv_free). */
int cgroup_v1_hierarchies(char ***ret_names, char ***ret_mountpoints, hull_error **err);

/* Host path of the container's cgroup in a hierarchy: for v2 `controller`
 * is ignored; for v1 it is one of the names from cgroup_v1_hierarchies. */
int cgroup_host_path(const struct hull_cgroup *cg, const char *controller, char **ret, hull_error **err);

/* Serialise / restore for the container's state file:
 * {"mode":1|2,"path":"/hull/x","created":true}. */
json_t *cgroup_to_json(const struct hull_cgroup *cg);
int cgroup_from_json(json_t *j, struct hull_cgroup **ret, hull_error **err);

void cgroup_free(struct hull_cgroup *cg);

/* Backend table (internal to cgroup*.c). */
struct cgroup_ops {
	const char *name;
	int (*create)(const char *path, const struct oci_resources *res, bool *ret_created, hull_error **err);
	int (*apply)(const char *path, const struct oci_resources *res, hull_error **err);
	int (*enter)(const char *path, pid_t pid, hull_error **err);
	int (*pids)(const char *path, pid_t **ret, size_t *ret_n, hull_error **err);
	int (*freeze)(const char *path, bool frozen, hull_error **err);
	int (*is_frozen)(const char *path, bool *ret, hull_error **err);
	int (*destroy)(const char *path, hull_error **err);
	int (*host_path)(const char *path, const char *controller, char **ret, hull_error **err);
};
extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* Root of the hierarchies; "/sys/fs/cgroup" unless HULL_CGROUP_ROOT is set
 * in the environment (used by unit tests on a fake tree). */
const char *cgroup_root(void);

/* ---- Internal helpers shared by cgroup.c, cgroup_v1.c and cgroup_v2.c only.
 * With HULL_CGROUP_ROOT set, HULL_CGROUP_MODE=1|2 forces the mode and the v1
 * hierarchies are the directories below the root (a fake tree). ---- */

/* One mounted v1 hierarchy: name as in cgroup_v1_hierarchies ("cpu,cpuacct",
 * "systemd"), host mount point, and the mount's root inside the hierarchy. */
struct cgroup_v1_hier {
	char *name;
	char *mountpoint;
	char *mount_root;
};

/* The v1 hierarchies (from /proc/self/mountinfo, or the fake tree). */
int cgroup_v1_list(struct cgroup_v1_hier **ret, size_t *ret_n, hull_error **err);
void cgroup_v1_list_free(struct cgroup_v1_hier *h, size_t n);
/* The hierarchy holding `controller` ("memory", "systemd"...), or NULL. */
const struct cgroup_v1_hier *cgroup_v1_find(const struct cgroup_v1_hier *h, size_t n,
					    const char *controller);
/* Host directory of cgroup `path` in hierarchy h (malloc'd, NULL on ENOMEM). */
char *cgroup_v1_dir(const struct cgroup_v1_hier *h, const char *path);

/* Write value to dir/file in one write(2); error "set 'file' to 'value': ...". */
int cgroup_write(const char *dir, const char *file, const char *value, hull_error **err);
/* cgroup_write of a printf-formatted value. */
int cgroup_writef(const char *dir, const char *file, hull_error **err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same, for a file that only some kernels have: when dir/file is
 * missing, log "cgroup: no FILE, WHAT ignored" at debug level and succeed. */
int cgroup_writef_optional(const char *dir, const char *file, const char *what, hull_error **err, const char *fmt,
			   ...) __attribute__((format(printf, 5, 6)));
/* Read dir/file whole (malloc'd, NUL-terminated); error "read 'file': ...". */
int cgroup_read(const char *dir, const char *file, char **ret, hull_error **err);
/* Whether dir/file exists. */
bool cgroup_file_exists(const char *dir, const char *file);
/* Append every pid in dir/cgroup.procs and in all descendant directories
 * to *pids (a missing dir adds nothing). */
int cgroup_collect_pids(const char *dir, pid_t **pids, size_t *n, hull_error **err);
/* Send sig to each pid (ESRCH ignored).  0 or -errno of the first failure. */
int cgroup_signal_pids(const pid_t *pids, size_t n, int sig);
/* Wait (bounded, about timeout_ms) until dir and its descendants hold no
 * process; true if they became empty. */
bool cgroup_wait_empty(const char *dir, int timeout_ms);
/* rmdir dir and its descendant directories bottom-up (retrying EBUSY
 * briefly); a missing dir is fine. */
int cgroup_rmdir_tree(const char *dir, hull_error **err);
/* Whether res asks for nothing a cgroup would enforce (NULL counts as
 * empty).  Device rules do not count: without a cgroup of its own a
 * container cannot be given device nodes it could not already open. */
bool cgroup_resources_empty(const struct oci_resources *res);
/* Sleep for the attempt-th step of a short backoff (1ms doubling to 32ms). */
void cgroup_backoff(unsigned attempt);

/* ---- cgroup v2 device access (cgroup_v2_devices.c), used by cgroup_v2.c.
 * Rules apply in order; each access bit of a device is decided by the last
 * rule matching the device that names the bit; what no rule allows is
 * denied. ---- */
struct bpf_insn;
/* Translate rules into a BPF_PROG_TYPE_CGROUP_DEVICE program: a malloc'd
 * array of *ret_n instructions returning 1 (allow) or 0 (deny). */
int cgroup_v2_devices_program(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **ret,
			      size_t *ret_n, hull_error **err);
/* Load the program for rules and attach it to the cgroup2 directory dir
 * (`path` names the cgroup in errors), replacing the one an earlier call
 * attached; n == 0 leaves the cgroup as it is. */
int cgroup_v2_devices_apply(const char *dir, const char *path, const struct oci_device_cgroup *rules, size_t n,
			    hull_error **err);

#endif
