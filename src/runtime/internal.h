/* internal.h - shared between the runtime's own files (not for callers). */
#ifndef HULL_RUNTIME_INTERNAL_H
#define HULL_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/cgroup.h"
#include "runtime/config.h"
#include "runtime/runtime.h"
#include "runtime/security.h"
#include "util/error.h"

#define OCI_VERSION "1.2.0"
#define STATE_FILE "state.json"
#define CONFIG_COPY "config.json"
#define EXEC_FIFO "exec.fifo"
#define LOCK_FILE "lock"

/* ---- state.c: the container's record under <root>/<id>/ ---- */
struct rt_record {
	char *id;
	pid_t pid;
	uint64_t start_time; /* of pid, to detect pid reuse */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *owner;
	char *status_hint; /* "creating" while create runs, else "created" */
	json_t *annotations;
	struct hull_cgroup *cgroup; /* may be NULL */
};

int state_dir(const struct hull_runtime *rt, const char *id, char **ret, hull_error **err);
/* Take an exclusive flock on <root>/<id>/lock; returns the fd. */
int state_lock(const struct hull_runtime *rt, const char *id, hull_error **err);
int state_load(const struct hull_runtime *rt, const char *id, struct rt_record **ret, hull_error **err);
int state_save(const struct hull_runtime *rt, const struct rt_record *rec, hull_error **err);
int state_load_config(const struct hull_runtime *rt, const char *id, struct oci_config **ret, hull_error **err);
void rt_record_free(struct rt_record *rec);
/* "creating" "created" "running" "paused" "stopped" */
const char *state_status(const struct hull_runtime *rt, const struct rt_record *rec);
/* The spec's state JSON for hooks and `state`. */
json_t *state_json(const struct hull_runtime *rt, const struct rt_record *rec, const char *status);
char *state_json_string(const struct hull_runtime *rt, const struct rt_record *rec, const char *status);
/* RFC 3339 timestamp of now, malloc'd. */
char *state_now_rfc3339(void);

/* ---- sync between the runtime and the container's init ---- */
enum sync_type {
	SYNC_USERMAP_PLS = 1, /* init: write my uid/gid maps */
	SYNC_USERMAP_ACK,     /* runtime: done */
	SYNC_HOOKS_PLS,       /* init: run prestart + createRuntime hooks now */
	SYNC_HOOKS_ACK,       /* runtime: done */
	SYNC_CHILD_PID,       /* intermediate: the init's pid is value */
	SYNC_PTY_MASTER,      /* init: pty master follows as SCM_RIGHTS */
	SYNC_READY,           /* init: waiting for start */
	SYNC_ERROR,           /* either: failed, msg says why */
	SYNC_EXEC_READY,      /* exec: process is about to exec */
	SYNC_GO,              /* runtime: the child may begin */
};

struct sync_msg {
	int32_t type;
	int32_t value;
	char msg[16384];
};

int sync_send(int fd, enum sync_type type, int value, const char *msg);
/* Receive one message; EOF is -ECONNRESET. */
int sync_recv(int fd, struct sync_msg *m);
/* Receive and require `type`; a SYNC_ERROR becomes err with its message. */
int sync_expect(int fd, enum sync_type type, struct sync_msg *m, hull_error **err);
/* Wait for `want` (READY or EXEC_READY), taking a pty master sent on the
 * way into *ret_pty (left alone if none comes).  A SYNC_ERROR becomes err
 * with the child's message and errno; EOF is "<who> exited before it was
 * ready". */
int sync_wait_ready(int fd, enum sync_type want, const char *who, int *ret_pty, hull_error **err);

/* The order namespaces are joined in: user first (it grants the rights for
 * the rest), mount last (it changes the root). */
#define RT_NS_JOIN_ORDER                                                                             \
	{ CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWCGROUP, \
	  CLONE_NEWTIME, CLONE_NEWNS }

/* ---- init.c: what the container's first process does ---- */
struct init_args {
	const struct oci_config *cfg;
	const char *bundle;
	const char *rootfs;
	const struct hull_cgroup *cgroup;
	const struct hull_bpf *seccomp; /* may be NULL */
	int sync_fd;
	int fifo_fd;           /* O_PATH fd of the exec fifo (-1 for run without create) */
	int console_fd;        /* connected console socket or -1 */
	bool pty_to_runtime;   /* terminal, no console socket: send the master over sync_fd */
	bool userns;           /* cloned into a new user namespace */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	int lock_fd;           /* the runtime's state lock: closed at once */
};

/* Runs in the cloned child; never returns (execs or _exit()s). */
_Noreturn void init_main(const struct init_args *a);

/* Shared by init and exec: the steps that turn the current process into the
 * container process of `p` (rlimits, user, capabilities, no_new_privs,
 * seccomp, cwd, terminal), then exec.  Never returns; on failure sends
 * SYNC_ERROR on sync_fd and _exit(1)s. */
struct finish_args {
	const struct oci_process *p;
	const struct hull_bpf *seccomp;
	int sync_fd;
	int console_fd;
	bool pty_to_runtime;
	int preserve_fds;
	int fifo_fd;            /* wait on it before exec (init after create), or -1 */
	const struct oci_config *cfg; /* for startContainer hooks (init only), or NULL */
	const char *state_json; /* for startContainer hooks */
};
_Noreturn void init_finish_process(const struct finish_args *f);

/* Report an error from a child over the sync socket and _exit(1). */
_Noreturn void init_fail(int sync_fd, hull_error *e);

/* Write uid/gid maps of pid (directly as root, or newuidmap/newgidmap). */
int userns_write_maps(pid_t pid, const struct oci_config *cfg, hull_error **err);

/* Look up args[0] in PATH (from env) inside the current root; returns a
 * malloc'd path or NULL with err ("executable file not found in $PATH"). */
char *init_find_executable(const char *name, char *const *env, hull_error **err);

/* Wait for pid while proxying its pty and forwarding signals (container.c). */
int rt_supervise_pty(pid_t pid, int pty, hull_error **err);

/* rlimit etc. applied by the whole finish step; exposed for exec.c */
int container_clone_flags(const struct oci_config *cfg, bool *ret_has_joins);

#endif
