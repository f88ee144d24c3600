/* rootfs.c - the container's filesystem view (see rootfs.h).
 *
 * Every mount point inside the rootfs is first resolved with the rootfs as
 * "/" (symlinks followed but never out of it), opened with
 * fs_open_in_root(), and the mount is made on "/proc/self/fd/N" of that fd:
 * the kernel then mounts on exactly the dentry we resolved.  After each
 * mount the destination is looked up again and must now show a new mount
 * whose path lies under the rootfs, or the mount is refused.
 */
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

/* per-mount attribute flags (what a bind remount can change) */
#define ATTR_FLAGS                                                                           \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME | MS_NOSYMFOLLOW)
#define ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)
#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static void mount_opts_clear(struct mount_opts *o)
{
	free(o->data);
	o->data = NULL;
}
#define _cleanup_mount_opts_ __attribute__((cleanup(mount_opts_clear)))

/* ------------------------------------------------------------------ */
/* mount options */

struct flag_opt {
	const char *name;
	unsigned long flag;
	bool clear;
};

static const struct flag_opt flag_opts[] = {
	{ "ro", MS_RDONLY, false },
	{ "rw", MS_RDONLY, true },
	{ "suid", MS_NOSUID, true },
	{ "nosuid", MS_NOSUID, false },
	{ "dev", MS_NODEV, true },
	{ "nodev", MS_NODEV, false },
	{ "exec", MS_NOEXEC, true },
	{ "noexec", MS_NOEXEC, false },
	{ "sync", MS_SYNCHRONOUS, false },
	{ "async", MS_SYNCHRONOUS, true },
	{ "dirsync", MS_DIRSYNC, false },
	{ "remount", MS_REMOUNT, false },
	{ "mand", MS_MANDLOCK, false },
	{ "nomand", MS_MANDLOCK, true },
	{ "atime", MS_NOATIME, true },
	{ "noatime", MS_NOATIME, false },
	{ "diratime", MS_NODIRATIME, true },
	{ "nodiratime", MS_NODIRATIME, false },
	{ "relatime", MS_RELATIME, false },
	{ "norelatime", MS_RELATIME, true },
	{ "strictatime", MS_STRICTATIME, false },
	{ "nostrictatime", MS_STRICTATIME, true },
	{ "lazytime", MS_LAZYTIME, false },
	{ "nolazytime", MS_LAZYTIME, true },
	{ "symfollow", MS_NOSYMFOLLOW, true },
	{ "nosymfollow", MS_NOSYMFOLLOW, false },
};

struct prop_opt {
	const char *name;
	unsigned long flags;
};

static const struct prop_opt prop_opts[] = {
	{ "private", MS_PRIVATE },
	{ "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },
	{ "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },
	{ "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE },
	{ "runbindable", MS_UNBINDABLE | MS_REC },
};

static unsigned long propagation_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(prop_opts); i++)
		if (strcmp(prop_opts[i].name, name) == 0)
			return prop_opts[i].flags;
	return 0;
}

static int append_data(char **data, size_t *len, const char *opt)
{
	size_t n = strlen(opt);
	char *nd = realloc(*data, *len + n + 2);
	if (!nd)
		return -ENOMEM;
	if (*len)
		nd[(*len)++] = ',';
	memcpy(nd + *len, opt, n + 1);
	*len += n;
	*data = nd;
	return 0;
}

int rootfs_parse_mount_options(char *const *options, struct mount_opts *ret, hull_error **err)
{
	struct mount_opts o = { 0 };
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	for (char *const *p = options; p && *p; p++) {
		const char *opt = *p;
		bool done = false;
		if (*opt == '\0' || strcmp(opt, "defaults") == 0)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(flag_opts) && !done; i++) {
			if (strcmp(flag_opts[i].name, opt) != 0)
				continue;
			if (flag_opts[i].clear) {
				o.flags &= ~flag_opts[i].flag;
				o.clear_flags |= flag_opts[i].flag;
			} else {
				o.flags |= flag_opts[i].flag;
				o.clear_flags &= ~flag_opts[i].flag;
			}
			done = true;
		}
		if (done)
			continue;
		unsigned long prop = propagation_from_name(opt);
		if (prop) {
			o.propagation = prop;
		} else if (strcmp(opt, "bind") == 0) {
			o.bind = true;
			o.flags |= MS_BIND;
		} else if (strcmp(opt, "rbind") == 0) {
			o.bind = o.rbind = true;
			o.flags |= MS_BIND | MS_REC;
		} else if (strcmp(opt, "rro") == 0) {
			o.recursive_ro = true;
		} else if (strcmp(opt, "tmpcopyup") == 0) {
			o.tmpcopyup = true;
		} else if (append_data(&data, &len, opt) < 0) {
			return hull_error_set(err, ENOMEM, "parse mount option '%s'", opt);
		}
	}
	if (!data && !(data = strdup("")))
		return hull_error_set(err, ENOMEM, "parse mount options");
	o.data = TAKE_PTR(data);
	*ret = o;
	return 0;
}

/* ------------------------------------------------------------------ */
/* small helpers */

/* Mount target for an fd: its /proc/self/fd path, or `fallback` when /proc
 * is not mounted (only possible inside the new root). */
static const char *fd_target(int fd, const char *fallback, char buf[static 32])
{
	if (fallback && access("/proc/self/fd", F_OK) < 0)
		return fallback;
	return fs_proc_fd_path(fd, buf);
}

static unsigned long vfs_to_ms(unsigned long f)
{
	unsigned long r = 0;
	if (f & ST_RDONLY)
		r |= MS_RDONLY;
	if (f & ST_NOSUID)
		r |= MS_NOSUID;
	if (f & ST_NODEV)
		r |= MS_NODEV;
	if (f & ST_NOEXEC)
		r |= MS_NOEXEC;
	if (f & ST_NOATIME)
		r |= MS_NOATIME;
	if (f & ST_NODIRATIME)
		r |= MS_NODIRATIME;
	if (f & ST_RELATIME)
		r |= MS_RELATIME;
	if (f & ST_NOSYMFOLLOW)
		r |= MS_NOSYMFOLLOW;
	return r;
}

/* Flags for a bind remount asking for `want` (attribute flags) while
 * keeping what the mount has now (`cur`) unless explicitly cleared: the
 * kernel refuses (EPERM) to drop locked nosuid/nodev/noexec/ro/atime flags
 * in a user namespace. */
static unsigned long remount_flags(unsigned long want, unsigned long clear, unsigned long cur)
{
	unsigned long flags = want & ATTR_FLAGS;
	static const unsigned long keep[] = { MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOSYMFOLLOW };
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if ((cur & keep[i]) && !(clear & keep[i]))
			flags |= keep[i];
	if (!((want | clear) & ATIME_FLAGS)) {
		flags |= cur & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
		if (!(cur & (MS_NOATIME | MS_RELATIME)))
			flags |= MS_STRICTATIME;
	}
	return flags;
}

/* Bind-remount the mount whose root fd is `fd` (named `name`) with `want`,
 * keeping locked flags.  `fallback`: see fd_target(). */
static int remount_bind(int fd, const char *name, const char *fallback, unsigned long want, unsigned long clear,
			hull_error **err)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return hull_error_set(err, errno, "statvfs '%s'", name);
	unsigned long flags = remount_flags(want, clear, vfs_to_ms(sv.f_flag));
	char buf[32];
	if (mount(NULL, fd_target(fd, fallback, buf), NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
		return hull_error_set(err, errno, "remount '%s' with flags 0x%lx", name, flags);
	return 0;
}

/* The mount id of fd, and whether fd is the root of its mount (true when
 * the kernel cannot tell). */
static int mnt_id_of(int fd, uint64_t *ret, bool *ret_is_root)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0)
		return -errno;
	*ret_is_root = !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
		       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	if (stx.stx_mask & STATX_MNT_ID) {
		*ret = stx.stx_mnt_id;
		return 0;
	}
	/* old kernel: read it from fdinfo */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	_cleanup_free_ char *info = NULL;
	int r = fs_read_file_at(AT_FDCWD, path, 1 << 16, &info, NULL);
	if (r < 0)
		return r;
	const char *p = strstr(info, "mnt_id:");
	if (!p)
		return -ENOTSUP;
	*ret = strtoull(p + 7, NULL, 10);
	return 0;
}

static bool path_has_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n == 0)
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Normalise an absolute path lexically (collapse "//", drop "." and a
 * trailing '/'); used to compare destinations. */
static char *path_normalize(const char *p)
{
	char *r = malloc(strlen(p) + 2);
	if (!r)
		return NULL;
	size_t n = 0;
	r[n++] = '/';
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t len = (size_t)(e - p);
		if (len == 0)
			break;
		if (!(len == 1 && p[0] == '.')) {
			if (n > 1)
				r[n++] = '/';
			memcpy(r + n, p, len);
			n += len;
		}
		p = e;
	}
	r[n] = '\0';
	return r;
}

static bool path_is(const char *p, const char *want)
{
	_cleanup_free_ char *n = path_normalize(p);
	return n && strcmp(n, want) == 0;
}

/* Resolve `path` inside root_fd as the kernel would with root_fd as "/":
 * symlinks are followed (an absolute target restarts at the root, ".."
 * stops at it); components that do not exist are kept as written.  The
 * result is an absolute path inside the root, malloc'd.  0 or -errno. */
static int resolve_in_root(int root_fd, const char *path, char **ret)
{
	_cleanup_free_ char *resolved = strdup("");
	_cleanup_free_ char *todo = strdup(path);
	if (!resolved || !todo)
		return -ENOMEM;
	size_t rlen = 0;
	const char *rest = todo;
	int links = 0;

	for (;;) {
		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			break;
		const char *end = strchrnul(rest, '/');
		size_t clen = (size_t)(end - rest);
		if (clen == 1 && rest[0] == '.') {
			rest = end;
			continue;
		}
		if (clen == 2 && rest[0] == '.' && rest[1] == '.') {
			char *slash = strrchr(resolved, '/');
			if (slash)
				*slash = '\0';
			rlen = strlen(resolved);
			rest = end;
			continue;
		}
		char *cand = malloc(rlen + clen + 2);
		if (!cand)
			return -ENOMEM;
		memcpy(cand, resolved, rlen);
		cand[rlen] = '/';
		memcpy(cand + rlen + 1, rest, clen);
		cand[rlen + 1 + clen] = '\0';

		_cleanup_close_ int fd = fs_open_in_root(root_fd, cand, O_PATH | O_NOFOLLOW, 0);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) < 0) {
			free(cand);
			return -errno;
		}
		if (fd < 0 && fd != -ENOENT) {
			free(cand);
			return fd;
		}
		if (fd < 0 || !S_ISLNK(st.st_mode)) {
			free(resolved);
			resolved = cand;
			rlen += clen + 1;
			rest = end;
			continue;
		}
		free(cand);
		if (++links > 40)
			return -ELOOP;
		char target[PATH_MAX];
		ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		char *nt = NULL;
		if (asprintf(&nt, "%s/%s", target, end) < 0)
			return -ENOMEM;
		free(todo);
		todo = nt;
		rest = todo;
		if (target[0] == '/') {
			resolved[0] = '\0';
			rlen = 0;
		}
	}
	if (rlen == 0) {
		free(resolved);
		resolved = strdup("/");
		if (!resolved)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(resolved);
	return 0;
}

static int split_parent(const char *path, char **ret_parent, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash[1] == '\0')
		return -EINVAL;
	*ret_parent = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!*ret_parent)
		return -ENOMEM;
	*ret_base = slash + 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the prepare phase */

struct prep {
	struct rootfs_ctx *ctx;
	int root_fd;
	char *root_real;  /* the rootfs path as the kernel names it */
	struct deferred_ro {
		int fd;
		char *dest;
	} *ro;            /* tmpfs mounts to make read-only once everything is in */
	size_t n_ro;
};

static void prep_clear(struct prep *st)
{
	for (size_t i = 0; i < st->n_ro; i++) {
		close(st->ro[i].fd);
		free(st->ro[i].dest);
	}
	free(st->ro);
	free(st->root_real);
	if (st->root_fd >= 0)
		close(st->root_fd);
}

/* After mounting on `before_fd` (the mount point we resolved for `dest`),
 * look `dest` up again: it must now be the root of a different mount, and
 * that mount must lie inside the rootfs.  Returns an O_PATH fd of the new
 * mount's root. */
static int verify_mount(struct prep *st, const char *dest, int before_fd, hull_error **err)
{
	uint64_t before = 0, after = 0;
	bool root_before, root_after;
	int r = mnt_id_of(before_fd, &before, &root_before);
	if (r < 0)
		return hull_error_set(err, -r, "get the mount id of '%s'", dest);
	_cleanup_close_ int fd = fs_open_in_root(st->root_fd, dest, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		return hull_error_set(err, -fd, "open '%s' in the rootfs after mounting", dest);
	r = mnt_id_of(fd, &after, &root_after);
	if (r < 0)
		return hull_error_set(err, -r, "get the mount id of '%s'", dest);
	char buf[32], real[PATH_MAX];
	ssize_t n = readlink(fs_proc_fd_path(fd, buf), real, sizeof(real) - 1);
	if (n < 0)
		return hull_error_set(err, errno, "readlink '%s'", buf);
	real[n] = '\0';
	if (after == before || !root_after || !path_has_prefix(real, st->root_real)) {
		/* best effort: take it away again */
		umount2(fs_proc_fd_path(before_fd, buf), MNT_DETACH);
		if (!path_has_prefix(real, st->root_real))
			return hull_error_set(err, EXDEV, "mount destination '%s' now leads out of the rootfs, to '%s'",
					      dest, real);
		return hull_error_set(err, EXDEV, "mount on '%s' did not land at its destination in the rootfs", dest);
	}
	return TAKE_FD(fd);
}

/* Post-mount steps common to every mount: bind remount for attribute
 * flags, recursive read-only, propagation. */
static int finish_mount(int fd, const char *dest, const struct mount_opts *o, bool bind, hull_error **err)
{
	char buf[32];
	if (bind && (o->flags & ATTR_FLAGS) && remount_bind(fd, dest, NULL, o->flags, o->clear_flags, err) < 0)
		return hull_error_wrap(err, "make bind mount '%s' %s", dest,
				       (o->flags & MS_RDONLY) ? "read-only" : "match its options");
	if (o->recursive_ro) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			return hull_error_set(err, errno, "make '%s' recursively read-only (rro)", dest);
	}
	if (o->propagation && mount(NULL, fs_proc_fd_path(fd, buf), NULL, o->propagation, NULL) < 0)
		return hull_error_set(err, errno, "set propagation 0x%lx on '%s'", o->propagation, dest);
	return 0;
}

static int defer_ro(struct prep *st, int *fd, const char *dest)
{
	struct deferred_ro *n = realloc(st->ro, (st->n_ro + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	st->ro = n;
	if (!(n[st->n_ro].dest = strdup(dest)))
		return -ENOMEM;
	n[st->n_ro++].fd = TAKE_FD(*fd);
	return 0;
}

/* /proc is special: only procfs itself (e.g. a bind from the host's proc)
 * or a few files that tools such as lxcfs replace may be bound over it. */
static int check_proc_bind(const char *dest, const char *src, hull_error **err)
{
	static const char *const allowed[] = {
		"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",  "/proc/swaps",
		"/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
	};
	if (!path_has_prefix(dest, "/proc"))
		return 0;
	struct statfs sf;
	if (statfs(src, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
		if (strcmp(dest, allowed[i]) == 0)
			return 0;
	return hull_error_set(err, EPERM, "bind mount of '%s' over '%s' is not allowed (only procfs may be mounted there)",
			      src, dest);
}

/* Copy the tree under src (what a new tmpfs covers) into dst. */
static int copy_tree(int src, int dst)
{
	int dfd = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, name, 0700) < 0 && errno != EEXIST)
				return -errno;
			_cleanup_close_ int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int t = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || t < 0)
				return -errno;
			int r = copy_tree(s, t);
			if (r < 0)
				return r;
			if (fchown(t, st.st_uid, st.st_gid) < 0 && errno != EPERM && errno != EINVAL)
				return -errno;
			if (fchmod(t, st.st_mode & 07777) < 0)
				return -errno;
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0)
				return -errno;
			_cleanup_close_ int t =
				openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (t < 0)
				return -errno;
			int r = fs_copy_fd(s, t);
			if (r < 0)
				return r;
			if (fchown(t, st.st_uid, st.st_gid) < 0 && errno != EPERM && errno != EINVAL)
				return -errno;
			if (fchmod(t, st.st_mode & 07777) < 0)
				return -errno;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (symlinkat(target, dst, name) < 0)
				return -errno;
			if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM &&
			    errno != EINVAL)
				return -errno;
		} else {
			/* fifos, sockets, device nodes: devices need CAP_MKNOD */
			if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
				if (errno == EPERM)
					continue;
				return -errno;
			}
			if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM &&
			    errno != EINVAL)
				return -errno;
		}
	}
	return errno ? -errno : 0;
}

/* A bind mount: source on the host (relative to the bundle), destination
 * in the rootfs created as a directory or file to match the source. */
static int mount_bind(struct prep *st, const char *host_src, const char *dest, const struct mount_opts *o,
		      bool recursive, hull_error **err)
{
	struct stat sst;
	if (stat(host_src, &sst) < 0)
		return hull_error_set(err, errno, "stat bind source '%s'", host_src);
	if (check_proc_bind(dest, host_src, err) < 0)
		return -1;
	_cleanup_close_ int fd = fs_ensure_in_root(st->root_fd, dest, S_ISDIR(sst.st_mode));
	if (fd < 0)
		return hull_error_set(err, -fd, "create mount point '%s'", dest);
	char buf[32];
	if (mount(host_src, fs_proc_fd_path(fd, buf), NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return hull_error_set(err, errno, "bind mount '%s' on '%s'", host_src, dest);
	_cleanup_close_ int top = verify_mount(st, dest, fd, err);
	if (top < 0)
		return -1;
	return finish_mount(top, dest, o, true, err);
}

/* cgroup v1: a tmpfs with one bind mount per hierarchy of the container's
 * cgroup, and symlinks for combined controllers ("cpu" -> "cpu,cpuacct"). */
static int mount_cgroup_v1(struct prep *st, const char *dest, const struct mount_opts *o, hull_error **err)
{
	const struct hull_cgroup *cg = st->ctx->cgroup;
	_cleanup_close_ int fd = fs_ensure_in_root(st->root_fd, dest, true);
	if (fd < 0)
		return hull_error_set(err, -fd, "create mount point '%s'", dest);
	char buf[32];
	unsigned long flags = (o->flags & ATTR_FLAGS & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount("tmpfs", fs_proc_fd_path(fd, buf), "tmpfs", flags, "mode=755") < 0)
		return hull_error_set(err, errno, "mount tmpfs for cgroups on '%s'", dest);
	_cleanup_close_ int top = verify_mount(st, dest, fd, err);
	if (top < 0)
		return -1;

	_cleanup_strv_ char **names = NULL;
	_cleanup_strv_ char **mountpoints = NULL;
	if (cgroup_v1_hierarchies(&names, &mountpoints, err) < 0)
		return hull_error_wrap(err, "list cgroup hierarchies");
	for (size_t i = 0; names && names[i]; i++) {
		const char *name = names[i];
		_cleanup_free_ char *host = NULL;
		if (cgroup_host_path(cg, name, &host, err) < 0)
			return hull_error_wrap(err, "cgroup path for '%s'", name);
		struct stat hst;
		if (stat(host, &hst) < 0) {
			log_debug("cgroup mount: skip hierarchy '%s': %s missing", name, host);
			continue;
		}
		if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
			return hull_error_set(err, errno, "create '%s/%s'", dest, name);
		_cleanup_close_ int sub = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return hull_error_set(err, errno, "open '%s/%s'", dest, name);
		if (mount(host, fs_proc_fd_path(sub, buf), NULL, MS_BIND | MS_REC, NULL) < 0)
			return hull_error_set(err, errno, "bind mount '%s' on '%s/%s'", host, dest, name);
		_cleanup_close_ int subtop = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (subtop < 0)
			return hull_error_set(err, errno, "open '%s/%s'", dest, name);
		if (remount_bind(subtop, name, NULL, o->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, o->clear_flags,
				 err) < 0)
			return hull_error_wrap(err, "cgroup mount '%s'", dest);
		if (!strchr(name, ','))
			continue;
		_cleanup_free_ char *parts = strdup(name);
		if (!parts)
			return hull_error_set(err, ENOMEM, "cgroup mount");
		char *save = NULL;
		for (char *c = strtok_r(parts, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			if (symlinkat(name, top, c) < 0 && errno != EEXIST)
				return hull_error_set(err, errno, "symlink '%s/%s' -> '%s'", dest, c, name);
		}
	}
	if (o->propagation && mount(NULL, fs_proc_fd_path(top, buf), NULL, o->propagation, NULL) < 0)
		return hull_error_set(err, errno, "set propagation on '%s'", dest);
	if ((o->flags & MS_RDONLY) && defer_ro(st, &top, dest) < 0)
		return hull_error_set(err, ENOMEM, "cgroup mount");
	return 0;
}

/* A filesystem mount (proc, sysfs, tmpfs, devpts, mqueue, cgroup2, ...). */
static int mount_fs(struct prep *st, const struct oci_mount *m, const char *dest, const struct mount_opts *o,
		    hull_error **err)
{
	const char *type = m->type;
	const char *src = m->source && *m->source ? m->source : type;
	const char *data = o->data && *o->data ? o->data : NULL;
	unsigned long flags = o->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS);
	char buf[32];

	if (flags & MS_REMOUNT) {
		/* change an existing mount at dest */
		_cleanup_close_ int fd = fs_open_in_root(st->root_fd, dest, O_PATH, 0);
		if (fd < 0)
			return hull_error_set(err, -fd, "open '%s' to remount", dest);
		if (mount(src, fs_proc_fd_path(fd, buf), type, flags, data) < 0)
			return hull_error_set(err, errno, "remount '%s'", dest);
		return finish_mount(fd, dest, o, false, err);
	}

	bool is_tmpfs = strcmp(type, "tmpfs") == 0;
	bool later_ro = is_tmpfs && (flags & MS_RDONLY);
	if (later_ro)
		flags &= ~MS_RDONLY;

	_cleanup_close_ int fd = fs_ensure_in_root(st->root_fd, dest, true);
	if (fd < 0)
		return hull_error_set(err, -fd, "create mount point '%s'", dest);
	_cleanup_close_ int under = -1;
	if (o->tmpcopyup) {
		under = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (under < 0)
			return hull_error_set(err, errno, "open '%s' for tmpcopyup", dest);
	}

	const char *fallback = NULL;
	bool bound = false;
	if (mount(src, fs_proc_fd_path(fd, buf), type, flags, data) < 0) {
		int e = errno;
		/* without their own namespace these cannot be mounted fresh in a
		 * user namespace: bind what the host has instead */
		if (e == EPERM || e == EACCES || e == EBUSY) {
			if (strcmp(type, "sysfs") == 0)
				fallback = "/sys";
			else if (strcmp(type, "mqueue") == 0)
				fallback = "/dev/mqueue";
		}
		if (!fallback)
			return hull_error_set(err, e, "mount %s '%s' on '%s'", type, src, dest);
		log_debug("mount %s on '%s': %s; binding '%s' instead", type, dest, strerror(e), fallback);
		if (mount(fallback, buf, NULL, MS_BIND | MS_REC, NULL) < 0)
			return hull_error_set(err, errno, "bind mount '%s' on '%s' (mounting %s failed: %s)", fallback,
					      dest, type, strerror(e));
		bound = true;
	}
	_cleanup_close_ int top = verify_mount(st, dest, fd, err);
	if (top < 0)
		return -1;
	if (o->tmpcopyup) {
		_cleanup_close_ int dst = open(fs_proc_fd_path(top, buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dst < 0)
			return hull_error_set(err, errno, "open tmpfs '%s' for tmpcopyup", dest);
		int r = copy_tree(under, dst);
		if (r < 0)
			return hull_error_set(err, -r, "copy the contents of '%s' into its tmpfs", dest);
	}
	if (finish_mount(top, dest, o, bound, err) < 0)
		return -1;
	if (later_ro && defer_ro(st, &top, dest) < 0)
		return hull_error_set(err, ENOMEM, "mount '%s'", dest);
	return 0;
}

static int mount_cgroup(struct prep *st, const struct oci_mount *m, const char *dest, const struct mount_opts *o,
			hull_error **err)
{
	const struct hull_cgroup *cg = st->ctx->cgroup;
	if (cg && cg->mode == CGROUP_MODE_V1)
		return mount_cgroup_v1(st, dest, o, err);

	/* v2 (or no cgroup of our own): a cgroup2 mount; where that is refused
	 * (a user namespace without a cgroup namespace) bind the container's
	 * cgroup directory */
	_cleanup_close_ int fd = fs_ensure_in_root(st->root_fd, dest, true);
	if (fd < 0)
		return hull_error_set(err, -fd, "create mount point '%s'", dest);
	char buf[32];
	unsigned long flags = o->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS);
	const char *data = o->data && *o->data ? o->data : NULL;
	bool bound = false;
	if (mount("cgroup2", fs_proc_fd_path(fd, buf), "cgroup2", flags, data) < 0) {
		int e = errno;
		if (e != EPERM && e != EBUSY && e != EACCES)
			return hull_error_set(err, e, "mount cgroup2 on '%s'", dest);
		/* the container's own cgroup, or without one the host's tree */
		_cleanup_free_ char *host = NULL;
		if (cg && cgroup_host_path(cg, NULL, &host, err) < 0)
			return hull_error_wrap(err, "mount cgroup2 on '%s'", dest);
		if (!cg && !(host = strdup(cgroup_root())))
			return hull_error_set(err, ENOMEM, "mount cgroup2 on '%s'", dest);
		log_debug("mount cgroup2 on '%s': %s; binding '%s' instead", dest, strerror(e), host);
		if (mount(host, buf, NULL, MS_BIND | MS_REC, NULL) < 0)
			return hull_error_set(err, errno, "bind mount '%s' on '%s'", host, dest);
		bound = true;
	}
	(void)m;
	_cleanup_close_ int top = verify_mount(st, dest, fd, err);
	if (top < 0)
		return -1;
	return finish_mount(top, dest, o, bound, err);
}

static int mount_one(struct prep *st, const struct oci_mount *m, hull_error **err)
{
	if (!m->destination || !*m->destination)
		return hull_error_set(err, EINVAL, "mount without a destination");
	if (m->n_uid_mappings || m->n_gid_mappings)
		return hull_error_set(err, ENOTSUP, "idmapped mounts are not supported");
	_cleanup_mount_opts_ struct mount_opts o = { 0 };
	if (rootfs_parse_mount_options(m->options, &o, err) < 0)
		return -1;
	bool is_bind = o.bind || !m->type || !*m->type || strcmp(m->type, "bind") == 0;
	if (o.tmpcopyup && (is_bind || strcmp(m->type, "tmpfs") != 0))
		return hull_error_set(err, EINVAL, "tmpcopyup is only supported on tmpfs mounts");

	_cleanup_free_ char *dest = NULL;
	int r = resolve_in_root(st->root_fd, m->destination, &dest);
	if (r < 0)
		return hull_error_set(err, -r, "resolve '%s' in the rootfs", m->destination);
	if (strcmp(dest, "/") == 0)
		return hull_error_set(err, EINVAL, "mounting over the container's root is not allowed");
	if (strcmp(dest, m->destination) != 0)
		log_debug("mount destination '%s' resolves to '%s' in the rootfs", m->destination, dest);

	if (is_bind) {
		if (!m->source || !*m->source)
			return hull_error_set(err, EINVAL, "bind mount without a source");
		_cleanup_free_ char *src = NULL;
		if (m->source[0] == '/')
			src = strdup(m->source);
		else if (asprintf(&src, "%s/%s", st->ctx->bundle ? st->ctx->bundle : ".", m->source) < 0)
			src = NULL;
		if (!src)
			return hull_error_set(err, ENOMEM, "bind mount");
		bool recursive = o.rbind || (m->type && strcmp(m->type, "rbind") == 0);
		return mount_bind(st, src, dest, &o, recursive, err);
	}
	if (strcmp(m->type, "cgroup") == 0)
		return mount_cgroup(st, m, dest, &o, err);
	return mount_fs(st, m, dest, &o, err);
}

/* ------------------------------------------------------------------ */
/* /dev */

struct dev_spec {
	const char *path;
	char type;
	int64_t major, minor;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static const struct dev_spec default_devices[] = {
	{ "/dev/null", 'c', 1, 3, 0666, 0, 0 },    { "/dev/zero", 'c', 1, 5, 0666, 0, 0 },
	{ "/dev/full", 'c', 1, 7, 0666, 0, 0 },    { "/dev/random", 'c', 1, 8, 0666, 0, 0 },
	{ "/dev/urandom", 'c', 1, 9, 0666, 0, 0 }, { "/dev/tty", 'c', 5, 0, 0666, 0, 0 },
};

static int mknod_exact(int dfd, const char *name, mode_t mode, dev_t rdev)
{
	mode_t old = umask(0);
	int r = mknodat(dfd, name, mode, rdev);
	int e = errno;
	umask(old);
	return r < 0 ? -e : 0;
}

/* Bind the host's node at d->path onto the same path in the rootfs (user
 * namespaces cannot mknod devices). */
static int bind_device(struct prep *st, const struct dev_spec *d, const char *dest, hull_error **err)
{
	struct stat hst;
	if (stat(d->path, &hst) < 0)
		return hull_error_set(err, errno, "device '%s' to bind from the host", d->path);
	_cleanup_close_ int fd = fs_ensure_in_root(st->root_fd, dest, false);
	if (fd < 0)
		return hull_error_set(err, -fd, "create '%s' to bind the device on", dest);
	char buf[32];
	if (mount(d->path, fs_proc_fd_path(fd, buf), NULL, MS_BIND, NULL) < 0)
		return hull_error_set(err, errno, "bind mount device '%s'", d->path);
	_cleanup_close_ int top = verify_mount(st, dest, fd, err);
	return top < 0 ? -1 : 0;
}

static int create_device(struct prep *st, const struct dev_spec *d, hull_error **err)
{
	mode_t fmt;
	switch (d->type) {
	case 'c':
	case 'u':
		fmt = S_IFCHR;
		break;
	case 'b':
		fmt = S_IFBLK;
		break;
	case 'p':
		fmt = S_IFIFO;
		break;
	default:
		return hull_error_set(err, EINVAL, "device '%s': unknown type '%c'", d->path, d->type);
	}
	if (!d->path || d->path[0] != '/')
		return hull_error_set(err, EINVAL, "device path '%s' is not absolute", d->path ? d->path : "");
	_cleanup_free_ char *dest = NULL;
	int r = resolve_in_root(st->root_fd, d->path, &dest);
	if (r < 0)
		return hull_error_set(err, -r, "resolve '%s' in the rootfs", d->path);
	_cleanup_free_ char *parent = NULL;
	const char *base = NULL;
	r = split_parent(dest, &parent, &base);
	if (r < 0)
		return hull_error_set(err, -r, "device path '%s'", d->path);

	if (st->ctx->userns && fmt != S_IFIFO)
		return bind_device(st, d, dest, err);

	_cleanup_close_ int dfd = fs_mkdir_p_in_root(st->root_fd, parent, 0755);
	if (dfd < 0)
		return hull_error_set(err, -dfd, "create '%s'", parent);
	mode_t mode = fmt | (d->mode & 07777);
	dev_t rdev = fmt == S_IFIFO ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
	r = mknod_exact(dfd, base, mode, rdev);
	if (r == -EEXIST) {
		struct stat cur;
		if (fstatat(dfd, base, &cur, AT_SYMLINK_NOFOLLOW) < 0)
			return hull_error_set(err, errno, "stat '%s'", dest);
		if ((cur.st_mode & S_IFMT) == fmt && (fmt == S_IFIFO || cur.st_rdev == rdev)) {
			if (fchmodat(dfd, base, d->mode & 07777, 0) < 0)
				return hull_error_set(err, errno, "chmod '%s'", dest);
			r = 0;
		} else if (S_ISDIR(cur.st_mode)) {
			return hull_error_set(err, EISDIR, "create device '%s'", dest);
		} else {
			if (unlinkat(dfd, base, 0) < 0)
				return hull_error_set(err, errno, "remove '%s' to make a device there", dest);
			r = mknod_exact(dfd, base, mode, rdev);
		}
	}
	if (r == -EPERM && fmt != S_IFIFO) {
		log_debug("mknod '%s': %s; binding it from the host", dest, strerror(-r));
		return bind_device(st, d, dest, err);
	}
	if (r < 0)
		return hull_error_set(err, -r, "mknod '%s' (%c %lld:%lld)", dest, d->type, (long long)d->major,
				      (long long)d->minor);
	if (fchownat(dfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error_set(err, errno, "chown '%s' to %u:%u", dest, (unsigned)d->uid, (unsigned)d->gid);
	return 0;
}

static int dev_symlinks(struct prep *st, hull_error **err)
{
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
		{ "core", "/proc/kcore" },
	};
	_cleanup_close_ int dfd = fs_mkdir_p_in_root(st->root_fd, "/dev", 0755);
	if (dfd < 0)
		return hull_error_set(err, -dfd, "create '/dev' in the rootfs");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		if (strcmp(links[i][0], "core") == 0 && access("/proc/kcore", F_OK) < 0)
			continue;
		if (symlinkat(links[i][1], dfd, links[i][0]) < 0 && errno != EEXIST)
			return hull_error_set(err, errno, "symlink '/dev/%s' -> '%s'", links[i][0], links[i][1]);
	}
	/* /dev/ptmx must be the one of the container's devpts instance */
	struct stat cur;
	if (fstatat(dfd, "ptmx", &cur, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(cur.st_mode))
			return hull_error_set(err, EISDIR, "'/dev/ptmx' is a directory");
		if (unlinkat(dfd, "ptmx", 0) < 0)
			return hull_error_set(err, errno, "remove '/dev/ptmx'");
	}
	if (symlinkat("pts/ptmx", dfd, "ptmx") < 0)
		return hull_error_set(err, errno, "symlink '/dev/ptmx' -> 'pts/ptmx'");
	return 0;
}

static int setup_dev(struct prep *st, hull_error **err)
{
	const struct oci_config *cfg = st->ctx->cfg;
	bool dev_bound = false;
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct oci_mount *m = &cfg->mounts[i];
		if (!m->destination || !path_is(m->destination, "/dev"))
			continue;
		bool bind = !m->type || strcmp(m->type, "bind") == 0;
		for (char *const *o = m->options; o && *o && !bind; o++)
			bind = strcmp(*o, "bind") == 0 || strcmp(*o, "rbind") == 0;
		dev_bound = bind;
	}
	const struct oci_linux *lx = &cfg->linux_;
	if (!dev_bound) {
		for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
			bool overridden = false;
			for (size_t j = 0; j < lx->n_devices && !overridden; j++)
				overridden = lx->devices[j].path &&
					     path_is(lx->devices[j].path, default_devices[i].path);
			if (!overridden && create_device(st, &default_devices[i], err) < 0)
				return -1;
		}
		if (dev_symlinks(st, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < lx->n_devices; i++) {
		const struct oci_device *od = &lx->devices[i];
		struct dev_spec d = {
			.path = od->path,
			.type = od->type,
			.major = od->major,
			.minor = od->minor,
			.mode = od->has_mode ? od->file_mode : 0666,
			.uid = od->has_uid ? od->uid : 0,
			.gid = od->has_gid ? od->gid : 0,
		};
		if (create_device(st, &d, err) < 0)
			return hull_error_wrap(err, "linux.devices[%zu]", i);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the rootfs mount itself */

static int unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* pivot_root refuses a new root whose parent mount is shared: make the
 * mount the rootfs lives on private when it is. */
static int make_parent_private(const char *rootfs, hull_error **err)
{
	_cleanup_free_ char *real = realpath(rootfs, NULL);
	if (!real)
		return hull_error_set(err, errno, "resolve rootfs '%s'", rootfs);
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return hull_error_set(err, errno, "open '/proc/self/mountinfo'");
	_cleanup_free_ char *line = NULL, *best = NULL;
	size_t cap = 0, best_len = 0;
	bool best_shared = false;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *save = NULL, *mp = NULL;
		bool shared = false;
		int field = 0;
		for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save), field++) {
			if (field == 4)
				mp = t;
			else if (field >= 6 && strcmp(t, "-") == 0)
				break;
			else if (field >= 6 && strncmp(t, "shared:", 7) == 0)
				shared = true;
		}
		if (!mp)
			continue;
		unescape_mountinfo(mp);
		if (!path_has_prefix(real, mp))
			continue;
		size_t len = strlen(mp);
		if (best && len < best_len)
			continue;
		char *copy = strdup(mp);
		if (!copy)
			return hull_error_set(err, ENOMEM, "read mountinfo");
		free(best);
		best = copy;
		best_len = len;
		best_shared = shared;
	}
	if (best && best_shared) {
		log_debug("making '%s' (the mount holding the rootfs) private for pivot_root", best);
		if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
			return hull_error_set(err, errno, "make '%s' private", best);
	}
	return 0;
}

int rootfs_prepare(struct rootfs_ctx *ctx, hull_error **err)
{
	const struct oci_config *cfg = ctx->cfg;
	unsigned long prop = 0;
	if (!ctx->rootfs || ctx->rootfs[0] != '/')
		return hull_error_set(err, EINVAL, "rootfs '%s' is not an absolute path",
				      ctx->rootfs ? ctx->rootfs : "");
	if (cfg->linux_.rootfs_propagation && *cfg->linux_.rootfs_propagation) {
		prop = propagation_from_name(cfg->linux_.rootfs_propagation);
		if (!prop)
			return hull_error_set(err, EINVAL, "unknown rootfsPropagation '%s'",
					      cfg->linux_.rootfs_propagation);
	}
	/* nothing we mount may show up on the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return hull_error_set(err, errno, "make '/' a recursive slave mount");
	if (prop && mount(NULL, "/", NULL, prop, NULL) < 0)
		return hull_error_set(err, errno, "set rootfsPropagation '%s' on '/'", cfg->linux_.rootfs_propagation);
	if (make_parent_private(ctx->rootfs, err) < 0)
		return -1;
	if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hull_error_set(err, errno, "bind mount rootfs '%s' onto itself", ctx->rootfs);

	struct prep st = { .ctx = ctx, .root_fd = -1 };
	int ret = -1;
	st.root_fd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st.root_fd < 0) {
		hull_error_set(err, errno, "open rootfs '%s'", ctx->rootfs);
		goto out;
	}
	char buf[32], real[PATH_MAX];
	ssize_t n = readlink(fs_proc_fd_path(st.root_fd, buf), real, sizeof(real) - 1);
	if (n < 0) {
		hull_error_set(err, errno, "readlink '%s' (is /proc mounted?)", buf);
		goto out;
	}
	real[n] = '\0';
	st.root_real = strdup(real);
	if (!st.root_real) {
		hull_error_set(err, ENOMEM, "rootfs");
		goto out;
	}

	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct oci_mount *m = &cfg->mounts[i];
		if (mount_one(&st, m, err) < 0) {
			hull_error_wrap(err, "mount '%s' (%s)", m->destination ? m->destination : "",
					m->type ? m->type : "bind");
			goto out;
		}
	}
	if (setup_dev(&st, err) < 0)
		goto out;
	for (size_t i = 0; i < st.n_ro; i++) {
		if (remount_bind(st.ro[i].fd, st.ro[i].dest, NULL, MS_RDONLY, 0, err) < 0) {
			hull_error_wrap(err, "make tmpfs '%s' read-only", st.ro[i].dest);
			goto out;
		}
	}
	ctx->rootfs_fd = TAKE_FD(st.root_fd);
	ret = 0;
out:
	prep_clear(&st);
	return ret;
}

/* ------------------------------------------------------------------ */
/* pivot */

static int move_root(const char *rootfs, hull_error **err)
{
	log_debug("moving rootfs '%s' onto '/' and chroot into it", rootfs);
	/* a move onto a shared "/" would propagate the rootfs to its peers
	 * (not recursive: the rootfs keeps the propagation of its mounts) */
	if (mount(NULL, "/", NULL, MS_SLAVE, NULL) < 0)
		return hull_error_set(err, errno, "make '/' a slave mount");
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return hull_error_set(err, errno, "move the rootfs mount onto '/'");
	if (chroot(".") < 0)
		return hull_error_set(err, errno, "chroot into the rootfs");
	if (chdir("/") < 0)
		return hull_error_set(err, errno, "chdir '/'");
	return 0;
}

int rootfs_pivot(struct rootfs_ctx *ctx, hull_error **err)
{
	if (ctx->rootfs_fd < 0)
		return hull_error_set(err, EBADF, "pivot: the rootfs is not prepared");
	if (fchdir(ctx->rootfs_fd) < 0)
		return hull_error_set(err, errno, "chdir to rootfs '%s'", ctx->rootfs);
	if (ctx->no_pivot)
		return move_root(ctx->rootfs, err);
	/* to reach the old root once the new one is stacked under it */
	_cleanup_close_ int old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (old_root < 0)
		return hull_error_set(err, errno, "open '/'");
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		if (errno != EINVAL)
			return hull_error_set(err, errno, "pivot_root to '%s'", ctx->rootfs);
		log_debug("pivot_root to '%s': %s; falling back to MS_MOVE and chroot", ctx->rootfs,
			  strerror(errno));
		return move_root(ctx->rootfs, err);
	}
	/* the old root is now stacked on "/"; detach it without the unmount
	 * reaching the host (made a slave from itself: "." alone would name
	 * the new root, whose mounts keep their propagation) */
	if (fchdir(old_root) < 0)
		return hull_error_set(err, errno, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hull_error_set(err, errno, "make the old root a recursive slave mount");
	if (umount2(".", MNT_DETACH) < 0)
		return hull_error_set(err, errno, "unmount the old root");
	if (chdir("/") < 0)
		return hull_error_set(err, errno, "chdir '/'");
	return 0;
}

/* ------------------------------------------------------------------ */
/* finish: inside the new root */

static int mask_path(int root_fd, const char *path, hull_error **err)
{
	_cleanup_close_ int fd = fs_open_in_root(root_fd, path, O_PATH, 0);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		log_debug("masked path '%s' does not exist; skipped", path);
		return 0;
	}
	if (fd < 0)
		return hull_error_set(err, -fd, "open masked path '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error_set(err, errno, "stat masked path '%s'", path);
	char buf[32];
	const char *target = fd_target(fd, path, buf);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
			return hull_error_set(err, errno, "mask '%s' with an empty tmpfs", path);
		return 0;
	}
	struct stat nst;
	if (stat("/dev/null", &nst) < 0)
		return hull_error_set(err, errno, "stat '/dev/null' to mask '%s'", path);
	if (!S_ISCHR(nst.st_mode) || nst.st_rdev != makedev(1, 3))
		return hull_error_set(err, EINVAL, "'/dev/null' in the container is not the null device; cannot mask '%s'",
				      path);
	if (mount("/dev/null", target, NULL, MS_BIND, NULL) < 0)
		return hull_error_set(err, errno, "mask '%s' with '/dev/null'", path);
	return 0;
}

static int readonly_path(int root_fd, const char *path, hull_error **err)
{
	_cleanup_close_ int fd = fs_open_in_root(root_fd, path, O_PATH, 0);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		log_debug("read-only path '%s' does not exist; skipped", path);
		return 0;
	}
	if (fd < 0)
		return hull_error_set(err, -fd, "open read-only path '%s'", path);
	char buf[32];
	const char *target = fd_target(fd, path, buf);
	if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hull_error_set(err, errno, "bind mount '%s' onto itself", path);
	_cleanup_close_ int top = fs_open_in_root(root_fd, path, O_PATH, 0);
	if (top < 0)
		return hull_error_set(err, -top, "open '%s' after bind mounting it", path);
	if (remount_bind(top, path, path, MS_RDONLY, 0, err) < 0)
		return hull_error_wrap(err, "make '%s' read-only", path);
	return 0;
}

static int finish(struct rootfs_ctx *ctx, hull_error **err)
{
	const struct oci_linux *lx = &ctx->cfg->linux_;
	int root_fd = ctx->rootfs_fd;
	for (char **p = lx->masked_paths; p && *p; p++)
		if (mask_path(root_fd, *p, err) < 0)
			return -1;
	for (char **p = lx->readonly_paths; p && *p; p++)
		if (readonly_path(root_fd, *p, err) < 0)
			return -1;
	if (ctx->cfg->root.readonly) {
		_cleanup_close_ int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return hull_error_set(err, errno, "open '/'");
		if (remount_bind(fd, "/", "/", MS_RDONLY, 0, err) < 0)
			return hull_error_wrap(err, "make the root read-only");
	}
	if (lx->rootfs_propagation && *lx->rootfs_propagation) {
		unsigned long prop = propagation_from_name(lx->rootfs_propagation);
		if (!prop)
			return hull_error_set(err, EINVAL, "unknown rootfsPropagation '%s'", lx->rootfs_propagation);
		if (mount(NULL, "/", NULL, prop, NULL) < 0)
			return hull_error_set(err, errno, "set rootfsPropagation '%s' on '/'", lx->rootfs_propagation);
	}
	return 0;
}

int rootfs_finish(struct rootfs_ctx *ctx, hull_error **err)
{
	if (ctx->rootfs_fd < 0)
		return hull_error_set(err, EBADF, "finish: the rootfs is not prepared");
	int r = finish(ctx, err);
	close(ctx->rootfs_fd);
	ctx->rootfs_fd = -1;
	return r;
}
