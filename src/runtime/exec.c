/* exec.c - run another process inside a running container (`exec`).
 *
 * The runtime forks an intermediate process that joins the container's
 * namespaces (user first, mount last) and clones the new process with
 * CLONE_PARENT, so the runtime can wait for it; the runtime puts it into
 * the container's cgroup before letting it go on.  The new process then
 * takes the same final steps as the container's init (init_finish_process).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"

static const int ns_order[] = RT_NS_JOIN_ORDER;

/* Open the container's namespaces that differ from ours; fds[i] is -1 for
 * ones shared with us. */
static int open_namespaces(pid_t pid, int fds[static 8], hull_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
		fds[i] = -1;
		const char *name = oci_namespace_name(ns_order[i]); /* the /proc/PID/ns/ name */
		char path[64], self[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
		struct stat a, b;
		if (stat(path, &a) < 0) {
			if (errno == ENOENT)
				continue; /* kernel without it */
			return hull_error_set(err, errno, "stat '%s'", path);
		}
		if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return hull_error_set(err, errno, "open '%s'", path);
	}
	return 0;
}

int rt_exec(const struct hull_runtime *rt, const char *id, const struct rt_exec_opts *o, int *ret_exit,
	    hull_error **err)
{
	struct rt_record *rec = NULL;
	struct oci_config *cfg = NULL;
	struct oci_process proc;
	memset(&proc, 0, sizeof(proc));
	struct hull_bpf *bpf = NULL;
	int ns[8];
	for (int i = 0; i < 8; i++)
		ns[i] = -1;
	int sync[2] = { -1, -1 }, console = -1, pty = -1;
	bool ok = false;
	pid_t pid = -1;

	if (rt_validate_id(id, err) < 0 || state_load(rt, id, &rec, err) < 0)
		goto out;
	const char *status = state_status(rt, rec);
	if (strcmp(status, "running") != 0 && strcmp(status, "created") != 0) {
		hull_error_set(err, 0, "cannot exec in a container that is %s", status);
		goto out;
	}
	if (state_load_config(rt, id, &cfg, err) < 0)
		goto out;
	if (oci_process_parse(o->process, &proc, err) < 0) {
		hull_error_wrap(err, "process");
		goto out;
	}
	if (!proc.args || !proc.args[0]) {
		hull_error_set(err, 0, "process.args is empty");
		goto out;
	}
	if (proc.has_caps && sec_caps_validate(&proc.caps, err) < 0)
		goto out;
	if (proc.terminal && !o->console_socket && o->detach) {
		hull_error_set(err, 0, "a terminal with --detach needs --console-socket");
		goto out;
	}
	if (cfg->linux_.seccomp && seccomp_compile(cfg->linux_.seccomp, &bpf, err) < 0) {
		hull_error_wrap(err, "seccomp");
		goto out;
	}
	if (open_namespaces(rec->pid, ns, err) < 0)
		goto out;
	if (o->console_socket && (console = proc_unix_connect(o->console_socket)) < 0) {
		hull_error_set(err, -console, "connect to the console socket '%s'", o->console_socket);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		hull_error_set(err, errno, "make the sync socket");
		goto out;
	}
	pid_t mid = fork();
	if (mid < 0) {
		hull_error_set(err, errno, "fork");
		goto out;
	}
	if (mid == 0) {
		hull_error *e = NULL;
		close(sync[0]);
		for (size_t i = 0; i < ARRAY_SIZE(ns_order); i++) {
			if (ns[i] >= 0 && setns(ns[i], ns_order[i]) < 0) {
				hull_error_set(&e, errno, "join the container's %s namespace",
					       oci_namespace_name(ns_order[i]));
				init_fail(sync[1], e);
			}
		}
		pid_t c = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
		if (c < 0) {
			hull_error_set(&e, errno, "clone the exec process");
			init_fail(sync[1], e);
		}
		if (c == 0) {
			struct sync_msg m;
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (sync_expect(sync[1], SYNC_GO, &m, &e) < 0)
				_exit(1);
			struct finish_args f = {
				.p = &proc,
				.seccomp = bpf,
				.sync_fd = sync[1],
				.console_fd = console,
				.pty_to_runtime = proc.terminal && console < 0,
				.preserve_fds = o->preserve_fds,
				.fifo_fd = -1,
			};
			init_finish_process(&f);
		}
		sync_send(sync[1], SYNC_CHILD_PID, c, NULL);
		_exit(0);
	}
	close(sync[1]);
	sync[1] = -1;
	if (console >= 0) {
		close(console);
		console = -1;
	}
	struct sync_msg m;
	int rr = sync_expect(sync[0], SYNC_CHILD_PID, &m, err);
	int code = proc_wait_exit_code(mid);
	if (rr < 0)
		goto out;
	if (code != 0) {
		hull_error_set(err, 0, "the intermediate process failed with code %d", code);
		goto out;
	}
	pid = m.value;
	if (rec->cgroup && rec->cgroup->created && cgroup_enter(rec->cgroup, pid, err) < 0)
		goto out;
	if (sync_send(sync[0], SYNC_GO, 0, NULL) < 0) {
		hull_error_set(err, errno, "start the exec process");
		goto out;
	}
	if (sync_wait_ready(sync[0], SYNC_EXEC_READY, "the exec process", &pty, err) < 0)
		goto out;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		int r = fs_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, false);
		if (r < 0) {
			hull_error_set(err, -r, "write pid file '%s'", o->pid_file);
			goto out;
		}
	}
	if (o->detach) {
		*ret_exit = 0;
		ok = true;
		pid = -1;
		goto out;
	}
	if (pty >= 0) {
		code = rt_supervise_pty(pid, pty, err);
	} else {
		code = proc_wait_exit_code(pid);
	}
	pid = -1;
	if (code < 0)
		goto out;
	*ret_exit = code;
	ok = true;
out:
	if (!ok && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < 8; i++)
		if (ns[i] >= 0)
			close(ns[i]);
	for (int i = 0; i < 2; i++)
		if (sync[i] >= 0)
			close(sync[i]);
	if (console >= 0)
		close(console);
	if (pty >= 0)
		close(pty);
	hull_bpf_free(bpf);
	oci_process_clear(&proc);
	oci_config_free(cfg);
	rt_record_free(rec);
	if (!ok)
		return hull_error_wrap(err, "exec in container '%s'", id);
	return 0;
}
