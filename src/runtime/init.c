/* init.c - the container's first process, from clone() to exec().
 *
 * It runs inside the new namespaces, talks to the runtime over a
 * SOCK_SEQPACKET socket (internal.h: enum sync_type), builds the root
 * filesystem, drops to the process's user, capabilities and seccomp filter,
 * waits on the exec fifo until `start`, and execs the user's program.
 * Nothing here returns: failures are sent to the runtime and the process
 * _exit()s.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "runtime/rootfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/proc.h"

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

_Noreturn void init_fail(int sync_fd, hull_error *e)
{
	const char *msg = e && e->msg ? e->msg : "container init failed";
	if (sync_fd < 0 || sync_send(sync_fd, SYNC_ERROR, e ? e->status : 0, msg) < 0) {
		/* nobody to tell: say it on stderr (after start, that is the
		 * container's stderr, where runc's users look too) */
		dprintf(STDERR_FILENO, "hull-runtime: %s\n", msg);
	}
	_exit(e && e->status == ENOENT ? 127 : e && e->status == EACCES ? 126 : 1);
}

static void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		struct sigaction sa = { .sa_handler = SIG_DFL };
		sigaction(s, &sa, NULL);
	}
}

static int loopback_up(hull_error **err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return hull_error_set(err, errno, "open a socket to bring 'lo' up");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return hull_error_set(err, errno, "read the flags of 'lo'");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return hull_error_set(err, errno, "bring 'lo' up");
	return 0;
}

static int apply_sysctl(const struct oci_config *cfg, hull_error **err)
{
	for (size_t i = 0; i < cfg->linux_.n_sysctl; i++) {
		const char *key = cfg->linux_.sysctl_keys[i];
		const char *val = cfg->linux_.sysctl_values[i];
		if (strstr(key, "..") || key[0] == '/' || key[0] == '.')
			return hull_error_set(err, 0, "invalid sysctl name '%s'", key);
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "/proc/sys/%s", key) < 0)
			return hull_error_set(err, ENOMEM, "sysctl '%s'", key);
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		int r = fs_write_string_at(AT_FDCWD, path, val);
		if (r < 0)
			return hull_error_set(err, -r, "set sysctl '%s' to '%s'", key, val);
	}
	return 0;
}

static bool is_executable(const char *path, bool *ret_exists)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		*ret_exists = false;
		return false;
	}
	*ret_exists = true;
	return S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

char *init_find_executable(const char *name, char *const *env, hull_error **err)
{
	bool exists;
	if (strchr(name, '/')) {
		if (is_executable(name, &exists))
			return strdup(name);
		hull_error_set(err, exists ? EACCES : ENOENT, "exec '%s'", name);
		return NULL;
	}
	const char *path = strv_env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	_cleanup_free_ char *copy = strdup(path);
	if (!copy) {
		hull_error_set(err, ENOMEM, "look up '%s'", name);
		return NULL;
	}
	bool found_noexec = false;
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *full = NULL;
		if (asprintf(&full, "%s/%s", *dir ? dir : ".", name) < 0)
			break;
		if (is_executable(full, &exists))
			return full;
		if (exists)
			found_noexec = true;
		free(full);
	}
	if (found_noexec)
		hull_error_set(err, EACCES, "exec '%s'", name);
	else {
		hull_error_set(err, 0, "exec '%s': executable file not found in $PATH", name);
		(*err)->status = ENOENT;
	}
	return NULL;
}

static int setup_terminal(const struct finish_args *f, hull_error **err)
{
	const struct oci_process *p = f->p;
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return hull_error_set(err, errno, "open '/dev/ptmx'");
	if (unlockpt(master) < 0)
		return hull_error_set(err, errno, "unlock the pty");
	char name[128];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return hull_error_set(err, errno, "get the name of the pty");
	_cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return hull_error_set(err, errno, "open the pty '%s'", name);
	if (fchown(slave, p->user.uid, p->user.gid) < 0) {
		/* not fatal: the process may run as root or the id be unmapped */
	}
	if (p->console_height || p->console_width) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	int r;
	if (f->console_fd >= 0)
		r = proc_send_fd(f->console_fd, master, name);
	else
		r = sync_send(f->sync_fd, SYNC_PTY_MASTER, 0, NULL) == 0 ? proc_send_fd(f->sync_fd, master, name) : -EIO;
	if (r < 0)
		return hull_error_set(err, -r, "send the pty master to the console socket");
	if (setsid() < 0)
		return hull_error_set(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return hull_error_set(err, errno, "make '%s' the controlling terminal", name);
	for (int i = 0; i < 3; i++)
		if (dup3(slave, i, 0) < 0)
			return hull_error_set(err, errno, "dup the pty to fd %d", i);
	return 0;
}

static int change_dir(const char *cwd, hull_error **err)
{
	if (chdir(cwd) < 0) {
		if (errno != ENOENT)
			return hull_error_set(err, errno, "chdir to cwd '%s'", cwd);
		/* like runc: make a missing working directory */
		_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int d = root >= 0 ? fs_mkdir_p_in_root(root, cwd, 0755) : -errno;
		if (d < 0 || chdir(cwd) < 0)
			return hull_error_set(err, d < 0 ? -d : errno, "chdir to cwd '%s'", cwd);
	}
	/* CVE-2024-21626: the working directory must be inside the container */
	char buf[4096];
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
		return hull_error_set(err, 0, "cwd '%s' is outside the container", cwd);
	return 0;
}

/* Whether this user namespace lets us call setgroups(2) ("deny" is written
 * for an unprivileged single-id mapping). */
static bool setgroups_allowed(void)
{
	_cleanup_free_ char *s = NULL;
	if (fs_read_file_at(AT_FDCWD, "/proc/self/setgroups", 64, &s, NULL) < 0)
		return true;
	return strncmp(s, "deny", 4) != 0;
}

_Noreturn void init_finish_process(const struct finish_args *f)
{
	hull_error *err = NULL;
	const struct oci_process *p = f->p;

	if (p->terminal && (f->console_fd >= 0 || f->pty_to_runtime)) {
		if (setup_terminal(f, &err) < 0)
			init_fail(f->sync_fd, err);
	}
	if (f->console_fd >= 0)
		close(f->console_fd);
	if (change_dir(p->cwd ? p->cwd : "/", &err) < 0)
		init_fail(f->sync_fd, err);
	_cleanup_free_ char *exe = init_find_executable(p->args[0], p->env, &err);
	if (!exe)
		init_fail(f->sync_fd, err);

	if (sec_apply_rlimits(p, &err) < 0 || sec_set_oom_score_adj(p, &err) < 0 ||
	    sec_set_scheduler(p, &err) < 0 || sec_set_io_priority(p, &err) < 0)
		init_fail(f->sync_fd, err);

	/* Without no_new_privs a filter can only be loaded while we still hold
	 * CAP_SYS_ADMIN, so before the user change; with it, as late as can be. */
	if (f->seccomp && !p->no_new_privileges && hull_seccomp_load(f->seccomp, NULL, &err) < 0)
		init_fail(f->sync_fd, err);
	if (sec_drop_bounding(&p->caps, &err) < 0)
		init_fail(f->sync_fd, err);
	if (sec_set_user(&p->user, setgroups_allowed(), &err) < 0)
		init_fail(f->sync_fd, err);
	if (sec_apply_caps(&p->caps, &err) < 0)
		init_fail(f->sync_fd, err);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		hull_error_set(&err, errno, "set no_new_privs");
		init_fail(f->sync_fd, err);
	}
	if (f->seccomp && p->no_new_privileges && hull_seccomp_load(f->seccomp, NULL, &err) < 0)
		init_fail(f->sync_fd, err);

	/* No host fd may reach the container (CVE-2024-21626): everything past
	 * stdio and the preserved fds closes at exec. */
	unsigned first = 3u + (unsigned)(f->preserve_fds > 0 ? f->preserve_fds : 0);
	if (syscall(SYS_close_range, first, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
		for (int fd = (int)first; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}

	/* from here on the runtime may exit (create does): do not die with it */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (sync_send(f->sync_fd, f->fifo_fd >= 0 ? SYNC_READY : SYNC_EXEC_READY, 0, NULL) < 0)
		_exit(1);

	if (f->fifo_fd >= 0) {
		/* wait for `start` */
		char c;
		ssize_t n;
		do
			n = read(f->fifo_fd, &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(1);
		/* fifo_fd stays open (close-on-exec): `start` waits for it to go */
		if (f->cfg && f->cfg->hooks.count[OCI_HOOK_START_CONTAINER] &&
		    hooks_run(&f->cfg->hooks, OCI_HOOK_START_CONTAINER, f->state_json, &err) < 0)
			init_fail(-1, err);
	}
	execve(exe, p->args, p->env ? p->env : (char *[]){ NULL });
	hull_error_set(&err, errno, "exec '%s'", exe);
	init_fail(-1, err);
}

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* A time namespace must get its offsets before any process is in it, so
 * it cannot come from clone(): unshare one for our children, write the
 * offsets, then join it ourselves. */
static int setup_time_namespace(const struct oci_config *cfg, hull_error **err)
{
	const struct oci_linux *l = &cfg->linux_;
	if (unshare(CLONE_NEWTIME) < 0)
		return hull_error_set(err, errno, "create a time namespace");
	if (l->has_time_offsets_monotonic || l->has_time_offsets_boottime) {
		char buf[128];
		int n = 0;
		if (l->has_time_offsets_monotonic)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "monotonic %lld %u\n",
				      (long long)l->monotonic_secs, l->monotonic_nanosecs);
		if (l->has_time_offsets_boottime)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "boottime %lld %u\n",
				      (long long)l->boottime_secs, l->boottime_nanosecs);
		_cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, buf, (size_t)n) != n)
			return hull_error_set(err, errno, "write time offsets '%.*s'", n - 1, buf);
	}
	_cleanup_close_ int ns = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWTIME) < 0)
		return hull_error_set(err, errno, "join the new time namespace");
	return 0;
}


_Noreturn void init_main(const struct init_args *a)
{
	hull_error *err = NULL;
	const struct oci_config *cfg = a->cfg;
	struct sync_msg m;

	/* the flock is shared with our copy of the fd: let it go */
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	reset_signals();
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

	if (sync_expect(a->sync_fd, SYNC_GO, &m, &err) < 0)
		_exit(1);

	if (a->userns) {
		if (sync_send(a->sync_fd, SYNC_USERMAP_PLS, 0, NULL) < 0 ||
		    sync_expect(a->sync_fd, SYNC_USERMAP_ACK, &m, &err) < 0)
			_exit(1);
		/* become root of the new user namespace, if root is mapped */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			/* root unmapped: carry on as the mapped user */
		}
	}
	if (!a->no_new_keyring) {
		/* a fresh session keyring, so the host's keys stay out of reach */
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS &&
		    errno != EACCES && errno != EPERM) {
			hull_error_set(&err, errno, "join a new session keyring");
			init_fail(a->sync_fd, err);
		}
	}
	/* the runtime has put us in our cgroup: it becomes the namespace's root */
	const struct oci_namespace *cgns = oci_config_namespace(cfg, CLONE_NEWCGROUP);
	if (cgns && !cgns->path && unshare(CLONE_NEWCGROUP) < 0) {
		hull_error_set(&err, errno, "create a cgroup namespace");
		init_fail(a->sync_fd, err);
	}
	const struct oci_namespace *timens = oci_config_namespace(cfg, CLONE_NEWTIME);
	if (timens && !timens->path && setup_time_namespace(cfg, &err) < 0)
		init_fail(a->sync_fd, err);
	const struct oci_namespace *netns = oci_config_namespace(cfg, CLONE_NEWNET);
	if (netns && !netns->path && loopback_up(&err) < 0)
		init_fail(a->sync_fd, err);

	const struct oci_namespace *uts = oci_config_namespace(cfg, CLONE_NEWUTS);
	if (cfg->hostname && *cfg->hostname) {
		if (!uts) {
			hull_error_set(&err, 0, "hostname '%s' is set but the container has no UTS namespace",
				       cfg->hostname);
			init_fail(a->sync_fd, err);
		}
		if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0) {
			hull_error_set(&err, errno, "set hostname '%s'", cfg->hostname);
			init_fail(a->sync_fd, err);
		}
	}
	if (cfg->domainname && *cfg->domainname) {
		if (!uts) {
			hull_error_set(&err, 0, "domainname '%s' is set but the container has no UTS namespace",
				       cfg->domainname);
			init_fail(a->sync_fd, err);
		}
		if (setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0) {
			hull_error_set(&err, errno, "set domainname '%s'", cfg->domainname);
			init_fail(a->sync_fd, err);
		}
	}

	struct rootfs_ctx rctx = {
		.cfg = cfg,
		.bundle = a->bundle,
		.rootfs = a->rootfs,
		.cgroup = a->cgroup,
		.userns = a->userns,
		.new_netns = netns && !netns->path,
		.no_pivot = a->no_pivot,
		.rootfs_fd = -1,
	};
	if (rootfs_prepare(&rctx, &err) < 0)
		init_fail(a->sync_fd, err);

	/* prestart and createRuntime hooks run in the runtime now */
	if (sync_send(a->sync_fd, SYNC_HOOKS_PLS, 0, NULL) < 0 ||
	    sync_expect(a->sync_fd, SYNC_HOOKS_ACK, &m, &err) < 0)
		_exit(1);
	_cleanup_free_ char *state = strdup(m.msg);
	if (cfg->hooks.count[OCI_HOOK_CREATE_CONTAINER] &&
	    hooks_run(&cfg->hooks, OCI_HOOK_CREATE_CONTAINER, state, &err) < 0)
		init_fail(a->sync_fd, err);

	if (rootfs_pivot(&rctx, &err) < 0)
		init_fail(a->sync_fd, err);
	if (apply_sysctl(cfg, &err) < 0)
		init_fail(a->sync_fd, err);
	if (rootfs_finish(&rctx, &err) < 0)
		init_fail(a->sync_fd, err);

	struct finish_args f = {
		.p = &cfg->process,
		.seccomp = a->seccomp,
		.sync_fd = a->sync_fd,
		.console_fd = a->console_fd,
		.pty_to_runtime = a->pty_to_runtime,
		.preserve_fds = a->preserve_fds,
		.fifo_fd = a->fifo_fd,
		.cfg = cfg,
		.state_json = state,
	};
	init_finish_process(&f);
}
