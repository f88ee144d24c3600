#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dirent.h>
#include <stdbool.h>

#include "util/cleanup.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int have_openat2 = -1;

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

/* User-space fallback: walk components, resolving symlinks ourselves with the
 * root as "/", and ".." never above the root. */
#define MAX_SYMLINKS 40
static int open_in_root_fallback(int root_fd, const char *path, int flags, mode_t mode)
{
	_cleanup_free_ char *work = strdup(path);
	if (!work)
		return -ENOMEM;
	int links = 0;
	/* stack of directory fds so ".." can pop; depth bounded by PATH_MAX */
	int stack[PATH_MAX / 2];
	int depth = 0;
	int cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	char *rest = work;
	int ret;
	for (;;) {
		while (*rest == '/')
			rest++;
		if (*rest == '\0') {
			/* path names the current directory */
			ret = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC, mode);
			ret = ret < 0 ? -errno : ret;
			goto out;
		}
		char *slash = strchr(rest, '/');
		char *next = NULL;
		if (slash) {
			*slash = '\0';
			next = slash + 1;
		}
		bool last = true;
		if (next) {
			const char *q = next;
			while (*q == '/')
				q++;
			last = (*q == '\0');
		}
		if (strcmp(rest, ".") == 0) {
			rest = next ? next : rest + strlen(rest);
			continue;
		}
		if (strcmp(rest, "..") == 0) {
			if (depth > 0) {
				close(cur);
				cur = stack[--depth];
			}
			rest = next ? next : rest + strlen(rest);
			continue;
		}
		struct stat st;
		if (fstatat(cur, rest, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    !(last && (flags & O_NOFOLLOW))) {
			if (++links > MAX_SYMLINKS) {
				ret = -ELOOP;
				goto out;
			}
			char target[PATH_MAX];
			ssize_t n = readlinkat(cur, rest, target, sizeof(target) - 1);
			if (n < 0) {
				ret = -errno;
				goto out;
			}
			target[n] = '\0';
			char *nw = NULL;
			if (asprintf(&nw, "%s/%s", target, next ? next : "") < 0) {
				ret = -ENOMEM;
				goto out;
			}
			if (target[0] == '/') {
				while (depth > 0)
					close(stack[--depth]);
				close(cur);
				cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
				if (cur < 0) {
					free(nw);
					ret = -errno;
					goto out;
				}
			}
			free(work);
			work = nw;
			rest = work;
			continue;
		}
		if (last) {
			ret = openat(cur, rest, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			if (ret < 0 && errno == ELOOP && (flags & O_PATH))
				ret = openat(cur, rest, flags | O_CLOEXEC, mode);
			ret = ret < 0 ? -errno : ret;
			goto out;
		}
		int nfd = openat(cur, rest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			ret = -errno;
			goto out;
		}
		if (depth >= (int)ARRAY_SIZE(stack)) {
			close(nfd);
			ret = -ENAMETOOLONG;
			goto out;
		}
		stack[depth++] = cur;
		cur = nfd;
		rest = next;
	}
out:
	while (depth > 0)
		close(stack[--depth]);
	close(cur);
	return ret;
}

int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	if (have_openat2 != 0) {
		struct open_how how = {
			.flags = (unsigned long long)(flags | O_CLOEXEC),
			.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
			.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
		};
		const char *p = path;
		while (*p == '/')
			p++;
		if (*p == '\0')
			p = ".";
		int fd = sys_openat2(root_fd, p, &how);
		if (fd >= 0) {
			have_openat2 = 1;
			return fd;
		}
		if (errno != ENOSYS)
			return -errno;
		have_openat2 = 0;
	}
	return open_in_root_fallback(root_fd, path, flags, mode);
}

/* split path into the parent part and the last component */
static int split_last(const char *path, char **ret_parent, char **ret_base)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	char *slash = strrchr(p, '/');
	char *parent, *base;
	if (!slash) {
		parent = strdup(".");
		base = strdup(p);
	} else {
		base = strdup(slash + 1);
		*slash = '\0';
		parent = strdup(p[0] ? p : "/");
	}
	if (!parent || !base) {
		free(parent);
		free(base);
		return -ENOMEM;
	}
	*ret_parent = parent;
	*ret_base = base;
	return 0;
}

int fs_mkdir_p_in_root(int root_fd, const char *path, mode_t mode)
{
	if (mode == 0)
		mode = 0755;
	int fd = fs_open_in_root(root_fd, path, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0 || fd != -ENOENT)
		return fd;
	_cleanup_free_ char *parent = NULL, *base = NULL;
	int r = split_last(path, &parent, &base);
	if (r < 0)
		return r;
	if (strcmp(base, "") == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	_cleanup_close_ int pfd = fs_mkdir_p_in_root(root_fd, parent, mode);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, base, mode) < 0 && errno != EEXIST)
		return -errno;
	/* re-resolve through the root so a racing symlink cannot redirect us */
	return fs_open_in_root(root_fd, path, O_PATH | O_DIRECTORY, 0);
}

int fs_ensure_in_root(int root_fd, const char *path, bool is_dir)
{
	if (is_dir)
		return fs_mkdir_p_in_root(root_fd, path, 0755);
	int fd = fs_open_in_root(root_fd, path, O_PATH, 0);
	if (fd >= 0 || fd != -ENOENT)
		return fd;
	_cleanup_free_ char *parent = NULL, *base = NULL;
	int r = split_last(path, &parent, &base);
	if (r < 0)
		return r;
	_cleanup_close_ int pfd = fs_mkdir_p_in_root(root_fd, parent, 0755);
	if (pfd < 0)
		return pfd;
	char buf[32];
	/* O_PATH fds cannot be used with openat(O_CREAT); reopen the directory */
	_cleanup_close_ int dfd = open(fs_proc_fd_path(pfd, buf), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int nfd = openat(dfd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (nfd < 0 && errno != EEXIST && errno != ELOOP)
		return -errno;
	if (nfd >= 0)
		close(nfd);
	return fs_open_in_root(root_fd, path, O_PATH, 0);
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fs_read_file_at(int dirfd, const char *path, size_t max_size, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* read up to max_size + 1 bytes: one more than allowed means too big */
	size_t limit = max_size + 1;
	size_t cap = limit < 4096 ? limit : 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= limit)
				return -EFBIG;
			cap = cap * 2 > limit ? limit : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max_size)
		return -EFBIG;
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool do_sync)
{
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r == 0 && do_sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int fs_write_string_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

static int rm_rf_at(int parent, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (st.st_dev != dev)
		return -EBUSY; /* a mount point: do not cross */
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = rm_rf_at(dirfd(d), de->d_name, dev);
		if (r < 0 && ret == 0)
			ret = r;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && ret == 0)
		ret = -errno;
	return ret;
}

int fs_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

int fs_copy_fd(int src, int dst)
{
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = write_all(dst, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

const char *fs_proc_fd_path(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}
