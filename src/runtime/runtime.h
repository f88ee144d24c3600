/* runtime.h - hull's OCI runtime as a library.
 *
 * The engine (`hull run`) and the runc-compatible CLI (`hull-runtime`) both
 * call these in-process; nothing here execs another runtime binary.  The
 * lifecycle follows the runtime spec: create leaves the user process waiting
 * until start; state reports creating/created/running/paused/stopped;
 * delete removes every trace (cgroup, state directory).
 *
 * State of each container lives in <root>/<id>/ (state.json, a copy of the
 * config, the exec fifo while created, a lock file).
 */
#ifndef HULL_RUNTIME_RUNTIME_H
#define HULL_RUNTIME_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

struct hull_runtime {
	const char *root;    /* state root, e.g. /run/hull-runtime */
	bool systemd_cgroup; /* --systemd-cgroup: refused (not supported) */
};

/* The default state root: /run/hull-runtime as root, else
 * $XDG_RUNTIME_DIR/hull-runtime.  Returned string is static or owned by
 * the environment. */
const char *rt_default_root(void);

struct rt_create_opts {
	const char *bundle;         /* required; made absolute */
	const char *pid_file;       /* may be NULL */
	const char *console_socket; /* may be NULL */
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;           /* extra fds after stdio passed to the process */
};

/* Validate an id: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes. */
int rt_validate_id(const char *id, hull_error **err);

int rt_create(const struct hull_runtime *rt, const char *id, const struct rt_create_opts *o, hull_error **err);
int rt_start(const struct hull_runtime *rt, const char *id, hull_error **err);

/* create + start.  Without detach, waits for the container, forwarding
 * signals (and proxying a terminal when there is no console socket), then
 * deletes it; *ret_exit gets the exit code (128+signal if killed). */
int rt_run(const struct hull_runtime *rt, const char *id, const struct rt_create_opts *o, bool detach,
	   int *ret_exit, hull_error **err);

/* The spec's state object: ociVersion, id, status, pid, bundle, annotations
 * (plus "rootfs", "created", "owner" as runc adds).  New reference. */
int rt_state(const struct hull_runtime *rt, const char *id, json_t **ret, hull_error **err);

/* Status name of a container: "creating" "created" "running" "paused" "stopped". */
int rt_status(const struct hull_runtime *rt, const char *id, const char **ret, hull_error **err);

int rt_kill(const struct hull_runtime *rt, const char *id, int sig, bool all, hull_error **err);
int rt_delete(const struct hull_runtime *rt, const char *id, bool force, hull_error **err);
int rt_pause(const struct hull_runtime *rt, const char *id, hull_error **err);
int rt_resume(const struct hull_runtime *rt, const char *id, hull_error **err);

/* Pids of the container's processes (host pid namespace). */
int rt_pids(const struct hull_runtime *rt, const char *id, pid_t **ret, size_t *ret_n, hull_error **err);

/* The config.json the container was created with.  New reference. */
int rt_config_json(const struct hull_runtime *rt, const char *id, json_t **ret, hull_error **err);

/* State of every container under root: a JSON array of state objects. */
int rt_list(const struct hull_runtime *rt, json_t **ret, hull_error **err);

struct rt_exec_opts {
	json_t *process;            /* a spec "process" object (from --process or built from flags) */
	const char *console_socket; /* may be NULL */
	const char *pid_file;       /* may be NULL */
	bool detach;
	int preserve_fds;
};

/* Run a new process in the container's namespaces and cgroup.  Without
 * detach, waits and sets *ret_exit. */
int rt_exec(const struct hull_runtime *rt, const char *id, const struct rt_exec_opts *o, int *ret_exit,
	    hull_error **err);

/* Ensure the running binary is a sealed memfd copy, re-executing if not, so
 * a container can never open and overwrite hull's binary through
 * /proc/PID/exe (CVE-2019-5736).  Returns only on failure or when already
 * sealed (0). */
int rt_ensure_sealed_self(int argc, char **argv, hull_error **err);

#endif
