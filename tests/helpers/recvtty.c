/* recvtty - the receiving end of an OCI runtime's --console-socket, for tests.
 *
 *   recvtty SOCKETPATH [--out FILE]
 *
 * Listens on a unix stream socket at SOCKETPATH (the path only appears once
 * the socket accepts connections, so a caller may wait for it with
 * `[ -S SOCKETPATH ]`), accepts one connection, receives the pty master
 * through SCM_RIGHTS, and then copies everything the pty prints to stdout
 * (or FILE, written unbuffered) until the pty reports EOF, that is until
 * every process holding its other side has closed it.  Meanwhile what
 * arrives on recvtty's own stdin is written into the pty; EOF on stdin only
 * stops that.  The pty's name (sent as the message's data) goes to stderr.
 * Exit status: 0 after EOF on the pty, 1 on any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *prog = "recvtty";

static int die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return 1;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Receive one fd (and the pty name as data) from a connected socket. */
static int recv_fd(int sock, char *name, size_t name_len)
{
	struct iovec iov = { .iov_base = name, .iov_len = name_len - 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	name[n > 0 ? n : 0] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			return fd;
		}
	}
	errno = n == 0 ? ECONNRESET : EBADMSG;
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *out_path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out_path = argv[++i];
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else {
			fprintf(stderr, "usage: %s SOCKETPATH [--out FILE]\n", prog);
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: %s SOCKETPATH [--out FILE]\n", prog);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	int out = STDOUT_FILENO;
	if (out_path) {
		out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0)
			return die(out_path);
	}

	/* bind to a temporary name, listen, then rename into place: the path
	 * never names a socket that refuses connections */
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char tmp[sizeof(addr.sun_path)];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= sizeof(tmp) ||
	    strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: socket path '%s' is too long\n", prog, path);
		return 1;
	}
	strcpy(addr.sun_path, tmp);
	int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0)
		return die("socket");
	unlink(tmp);
	if (bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return die(tmp);
	if (listen(lsock, 1) < 0) {
		unlink(tmp);
		return die("listen");
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return die(path);
	}

	int conn;
	do
		conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0) {
		unlink(path);
		return die("accept");
	}
	close(lsock);
	unlink(path);

	char name[4096];
	int pty = recv_fd(conn, name, sizeof(name));
	if (pty < 0)
		return die("receive the pty master");
	close(conn);
	fprintf(stderr, "%s: received the pty master%s%s\n", prog, name[0] ? " of " : "", name);

	bool in_open = true;
	char buf[8192];
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = pty, .events = POLLIN },
			{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return die("poll");
		}
		if (p[0].revents) {
			ssize_t n = read(pty, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) /* EIO: nobody holds the other side any more */
				break;
			if (write_all(out, buf, (size_t)n) < 0)
				return die("write the output");
		}
		if (in_open && p[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				in_open = false;
			else if (write_all(pty, buf, (size_t)n) < 0)
				return die("write into the pty");
		}
	}
	close(pty);
	if (out != STDOUT_FILENO && close(out) < 0)
		return die(out_path);
	return 0;
}
