/* hooks.c - run OCI hooks.
 *
 * Each hook is forked and exec'd with the container state on its stdin (a
 * pipe that is closed once the state is written), its stdout sent to our
 * stderr (so it cannot corrupt output the runtime's caller parses) and its
 * stderr passed through.  The parent feeds the pipe without blocking and
 * waits on a pidfd (or polls waitpid when pidfd_open is missing) until the
 * hook exits or its timeout passes, in which case it is SIGKILLed.
 *
 * Between fork and exec the child only makes async-signal-safe calls: argv
 * and envp are ready before the fork, an exec failure is reported to the
 * parent as an errno over a close-on-exec pipe.
 */
#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* without a pidfd, how often waitpid(WNOHANG) is tried */
#define POLL_INTERVAL_MS 10

const char *hooks_kind_name(enum oci_hook_kind kind)
{
	static const char *const names[OCI_HOOK__MAX] = {
		[OCI_HOOK_PRESTART] = "prestart",
		[OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
		[OCI_HOOK_CREATE_CONTAINER] = "createContainer",
		[OCI_HOOK_START_CONTAINER] = "startContainer",
		[OCI_HOOK_POSTSTART] = "poststart",
		[OCI_HOOK_POSTSTOP] = "poststop",
	};
	if ((int)kind < 0 || kind >= OCI_HOOK__MAX)
		return "unknown";
	return names[kind];
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Move a pipe end above the standard fds, so the child's dup2s cannot clobber it. */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;
	close(fd);
	errno = saved;
	return n;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	p[0] = above_stdio(p[0]);
	p[1] = above_stdio(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		int e = errno;
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return -e;
	}
	return 0;
}

/* In the child, after fork: async-signal-safe calls only. */
__attribute__((noreturn)) static void child_exec(const char *path, char *const argv[], char *const envp[],
						 int stdin_fd, int errfd)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);

	if (dup2(stdin_fd, STDIN_FILENO) < 0)
		goto fail;
	/* stdout goes where stderr goes */
	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	/* nothing else of ours leaks into the hook (errfd stays usable until exec) */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	execve(path, argv, envp);
fail:;
	int e = errno;
	ssize_t n = write(errfd, &e, sizeof(e));
	(void)n;
	_exit(127);
}

static pid_t wait_child(pid_t pid, int *status, int flags)
{
	pid_t r;
	do
		r = waitpid(pid, status, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Write what the pipe takes now.  Returns false once writing is over
 * (all written, or the hook closed its stdin). */
static bool feed(int fd, const char *data, size_t len, size_t *off, bool *epipe)
{
	while (*off < len) {
		ssize_t n = write(fd, data + *off, len - *off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true;
			if (errno == EPIPE)
				*epipe = true;
			else
				log_debug("hook: write state: %s", strerror(errno));
			return false;
		}
		*off += (size_t)n;
	}
	return false;
}

static int run_hook(const struct oci_hook *h, const char *kind, const char *state, hull_error **err)
{
	char *default_argv[] = { h->path, NULL };
	char *empty_env[] = { NULL };
	char *const *argv = (h->args && h->args[0]) ? h->args : default_argv;
	char *const *envp = h->env ? h->env : empty_env;
	int in[2], ep[2];
	int r;

	if (!h->path)
		return hull_error_set(err, EINVAL, "hook '%s': no path", kind);
	if ((r = make_pipe(in)) < 0)
		return hull_error_set(err, -r, "hook '%s' '%s': pipe", kind, h->path);
	_cleanup_close_ int in_r = in[0], in_w = in[1];
	if ((r = make_pipe(ep)) < 0)
		return hull_error_set(err, -r, "hook '%s' '%s': pipe", kind, h->path);
	_cleanup_close_ int err_r = ep[0], err_w = ep[1];

	/* Block signals over the fork so that no handler of ours runs in the child. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		child_exec(h->path, argv, envp, in_r, err_w);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return hull_error_set(err, fork_errno, "hook '%s' '%s': fork", kind, h->path);

	close(TAKE_FD(in_r));
	close(TAKE_FD(err_w));
	log_debug("hook '%s' '%s': started as pid %d", kind, h->path, (int)pid);

	/* SIGPIPE (hook exits or closes stdin before reading it all) must not kill us */
	sigset_t pipe_set, prev, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &prev);
	sigpending(&pending);
	bool pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;

	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	const char *data = state ? state : "";
	size_t len = strlen(data), off = 0;
	bool epipe = false, writing = true, exited = false, timed_out = false;
	int status = 0, wait_errno = 0;
	int64_t deadline = h->timeout > 0 ? now_ms() + (int64_t)h->timeout * 1000 : -1;

	fcntl(in_w, F_SETFL, fcntl(in_w, F_GETFL) | O_NONBLOCK);
	while (!exited) {
		if (writing) {
			writing = feed(in_w, data, len, &off, &epipe);
			if (!writing)
				close(TAKE_FD(in_w));
		}

		int wait_ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				timed_out = true;
				break;
			}
			wait_ms = left > INT32_MAX ? INT32_MAX : (int)left;
		}

		struct pollfd pfd[2];
		nfds_t n = 0;
		if (pidfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		else if (wait_ms < 0 || wait_ms > POLL_INTERVAL_MS)
			wait_ms = POLL_INTERVAL_MS;
		if (writing)
			pfd[n++] = (struct pollfd){ .fd = in_w, .events = POLLOUT };
		if (poll(pfd, n, wait_ms) < 0 && errno != EINTR) {
			wait_errno = errno;
			break;
		}

		pid_t w = wait_child(pid, &status, WNOHANG);
		if (w == pid) {
			exited = true;
		} else if (w < 0) {
			wait_errno = errno;
			break;
		}
	}

	if (epipe && !pipe_was_pending) {
		/* drop the SIGPIPE our own write raised */
		struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &prev, NULL);

	if (!exited) {
		/* timed out, or poll/wait failed: do not leave the hook behind */
		kill(pid, SIGKILL);
		wait_child(pid, &status, 0);
		if (timed_out)
			return hull_error_set(err, 0, "hook '%s' '%s': timed out after %d seconds", kind,
					      h->path, h->timeout);
		return hull_error_set(err, wait_errno, "hook '%s' '%s': wait", kind, h->path);
	}

	int exec_errno = 0;
	ssize_t got;
	do
		got = read(err_r, &exec_errno, sizeof(exec_errno));
	while (got < 0 && errno == EINTR);
	if (got == (ssize_t)sizeof(exec_errno) && exec_errno)
		return hull_error_set(err, exec_errno, "hook '%s' '%s': exec", kind, h->path);

	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return hull_error_set(err, 0, "hook '%s' '%s': exited with status %d", kind, h->path,
				      WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return hull_error_set(err, 0, "hook '%s' '%s': killed by signal %d (SIG%s)", kind, h->path,
				      WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ?: "?");
	log_debug("hook '%s' '%s': done", kind, h->path);
	return 0;
}

int hooks_run(const struct oci_hooks *hooks, enum oci_hook_kind kind, const char *state_json, hull_error **err)
{
	if ((int)kind < 0 || kind >= OCI_HOOK__MAX)
		return hull_error_set(err, EINVAL, "run hooks: invalid hook kind %d", (int)kind);
	if (!hooks)
		return 0;
	const char *name = hooks_kind_name(kind);
	for (size_t i = 0; i < hooks->count[kind]; i++)
		if (run_hook(&hooks->list[kind][i], name, state_json, err) < 0)
			return -1;
	return 0;
}
