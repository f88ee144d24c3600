/* layer.c - unpack untrusted layer tarballs, pack directories into tars.
 *
 * Extraction is one pass over the input: an outer libarchive reader (the
 * compression filters, "raw" format) pulls the bytes from in_fd through
 * outer_read(), which hashes them (blob digest) and copies them to copy_fd;
 * its decompressed output feeds an inner reader (tar only, no filters)
 * through inner_read(), which hashes it (diff ID).  Entries are written with
 * our own *at() calls, never archive_write_disk:
 *
 *   - names are normalised lexically ("./a//b" -> "a/b", "/etc/x" -> "etc/x"
 *     as tar does); a ".." that would climb above the root is refused;
 *   - the parent directory is opened with openat2(RESOLVE_BENEATH) relative
 *     to the layer root: a path that only works by leaving the layer (an
 *     absolute symlink, or a symlink with ".." above the root, made earlier
 *     in the archive or present in the lower copy) is refused, EXDEV; a
 *     symlink loop is refused, ELOOP.  Without openat2 the parent is opened
 *     with fs_open_in_root() instead (resolved inside the layer, safe, but
 *     not reported as an escape);
 *   - the final component is created relative to that parent fd and never
 *     followed (O_EXCL|O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, lsetxattr through
 *     /proc/self/fd/PARENT/NAME, chmod through an O_PATH fd).  Whatever
 *     exists under the name is removed first (unless both are directories);
 *   - directory modes and times are applied after all entries, in reverse.
 *
 * Whiteouts in LAYER_WHITEOUT_APPLY mode only remove what the lower layers
 * put in dirfd (OCI: a whiteout never hides entries of its own layer).  We
 * track the names this archive created (and their ancestors) in a set, so
 * the order of entries within a directory does not matter: a whiteout of a
 * name this archive made keeps it, and a directory this archive touched is
 * only cleared of the children it did not make.  In OVERLAY mode the same
 * rule gives: ".wh.NAME" where this layer made a file NAME is ignored, where
 * it made a directory NAME marks it opaque, and a directory (or a missing
 * parent) replacing a whiteout of this layer becomes an opaque directory.
 *
 * Compressions: gzip, zstd, bzip2, xz, built into libarchive (not
 * archive_read_support_filter_all(), which may fork external programs such
 * as lrzip or lzop and accepts uu/rpm wrappers); nesting is refused.
 *
 * Packing writes a pax (restricted) tar in a stable order: names sorted,
 * mtimes in whole seconds (as Docker and Podman write them), no atime,
 * ctime or user/group names, overlay xattrs left out.
 */
#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define LAYER_DEFAULT_MAX_BYTES (64ULL << 30)
#define LAYER_DEFAULT_MAX_ENTRIES 10000000ULL
#define LAYER_IO_BUF (256 * 1024)
#define WH_PREFIX ".wh."
#define WH_PREFIX_LEN 4
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVL_OPAQUE_XATTR "trusted.overlay.opaque"
#define PROC_PATH_MAX (PATH_MAX + 64)

/* ------------------------------------------------------------------------
 * A string-keyed hash map (open addressing) with a size_t value.
 */

struct strmap {
	char **keys;
	size_t *vals;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t strmap_slot(const struct strmap *m, const char *key)
{
	size_t i = (size_t)str_hash(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int strmap_grow(struct strmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256;
	char **keys = calloc(ncap, sizeof(*keys));
	size_t *vals = calloc(ncap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	struct strmap nm = { keys, vals, ncap, m->n };
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = strmap_slot(&nm, m->keys[i]);
		nm.keys[j] = m->keys[i];
		nm.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	*m = nm;
	return 0;
}

/* Find key; NULL when absent. */
static size_t *strmap_get(const struct strmap *m, const char *key)
{
	if (m->cap == 0)
		return NULL;
	size_t i = strmap_slot(m, key);
	return m->keys[i] ? &m->vals[i] : NULL;
}

/* Insert key (copied) with val, or overwrite its value.  0 or -ENOMEM. */
static int strmap_put(struct strmap *m, const char *key, size_t val)
{
	if ((m->n + 1) * 4 > m->cap * 3) {
		int r = strmap_grow(m);
		if (r < 0)
			return r;
	}
	size_t i = strmap_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = strdup(key);
		if (!m->keys[i])
			return -ENOMEM;
		m->n++;
	}
	m->vals[i] = val;
	return 0;
}

static void strmap_clear(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	*m = (struct strmap){ 0 };
}

/* ------------------------------------------------------------------------
 * Small helpers.
 */

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

static int pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Lexically clean a member name into out: leading "/" and "./" dropped,
 * "." and empty components removed, ".." pops a component.  "" names the
 * root.  -EXDEV when a ".." would climb above the root. */
static int normalise_name(const char *raw, char out[static PATH_MAX])
{
	size_t len = 0;
	const char *p = raw;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		const char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (len == 0)
				return -EXDEV;
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash */
		} else {
			if (n > NAME_MAX || len + n + 2 > PATH_MAX)
				return -ENAMETOOLONG;
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p = end;
	}
	out[len] = '\0';
	return 0;
}

/* Split a normalised non-empty name into parent ("" for the root) and the
 * last component, both pointing into buf (a copy of name). */
static void split_name(const char *name, char buf[static PATH_MAX], const char **ret_parent, const char **ret_base)
{
	strcpy(buf, name); /* name was built to fit PATH_MAX */
	char *slash = strrchr(buf, '/');
	if (!slash) {
		*ret_parent = "";
		*ret_base = buf;
		return;
	}
	*slash = '\0';
	*ret_parent = buf;
	*ret_base = slash + 1;
}

static int have_openat2 = -1;

/* Open path below dirfd without ever leaving it: -EXDEV when resolving it
 * would need to (absolute symlink, ".." above the root), -ELOOP on loops.
 * Falls back to fs_open_in_root() (resolution clamped inside) without
 * openat2. */
static int open_beneath(int dirfd, const char *path, int flags)
{
	if (path[0] == '\0')
		path = ".";
	if (have_openat2 != 0) {
		struct open_how how = {
			.flags = (uint64_t)(flags | O_CLOEXEC),
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
		};
		int fd, tries = 0;
		do /* EAGAIN: a rename raced with ".." resolution */
			fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 16);
		if (fd >= 0 || errno != ENOSYS)
			return fd >= 0 ? fd : -errno;
		have_openat2 = 0;
	}
	return fs_open_in_root(dirfd, path, flags, 0);
}

/* Remove name below parent (recursively for a directory; links are never
 * followed, mount points are not crossed).  A missing name is success. */
static int rm_rf_at(int parent, const char *name, dev_t dev)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EBUSY;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = rm_rf_at(dirfd(d), de->d_name, dev);
		if (r < 0)
			return r;
	}
	if (errno != 0)
		return -errno;
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* The names in a directory (without "." and ".."), sorted.  *ret is a
 * NULL-terminated strv.  0 or -errno. */
static int list_dir(int dfd, char ***ret)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	size_t n = 0, cap = 1;
	if (!v)
		return -ENOMEM;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n + 1 >= cap) {
			char **nv = realloc(v, cap * 2 * sizeof(char *));
			if (!nv)
				return -ENOMEM;
			v = nv;
			cap *= 2;
		}
		v[n] = strdup(de->d_name);
		if (!v[n])
			return -ENOMEM;
		v[++n] = NULL;
	}
	if (errno != 0)
		return -errno;
	*ret = TAKE_PTR(v);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------------------
 * Extraction state.
 */

struct dir_meta {
	char *path; /* normalised, "" for the root */
	mode_t perm;
	dev_t dev;
	ino_t ino;
	bool has_times;
	struct timespec ts[2];
};

struct extract_ctx {
	int in_fd, copy_fd, dirfd;
	enum layer_whiteout_mode mode;
	uint64_t max_bytes, max_entries;
	bool root;
	dev_t root_dev;

	struct archive *outer, *inner;
	struct digester *blob, *diff;
	bool hash_diff; /* false when the stream is not compressed: diff ID = blob digest */
	unsigned char *buf;

	/* the parent directory of the last entry, kept open */
	char cache_path[PATH_MAX];
	int cache_fd;

	struct dir_meta *dirs;
	size_t n_dirs, cap_dirs;
	struct strmap dir_index; /* path -> index in dirs */
	struct strmap seen;      /* APPLY: names (and ancestors) made by this archive */
	char wpath[PATH_MAX];    /* scratch path for remove_lower() */

	uint64_t entries, unpacked;
	char *last_name; /* raw name of the last entry, for errors */
};

static void extract_ctx_done(struct extract_ctx *c)
{
	if (c->inner)
		archive_read_free(c->inner);
	if (c->outer)
		archive_read_free(c->outer);
	if (c->blob)
		digester_free(c->blob);
	if (c->diff)
		digester_free(c->diff);
	free(c->buf);
	if (c->cache_fd >= 0)
		close(c->cache_fd);
	for (size_t i = 0; i < c->n_dirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	strmap_clear(&c->dir_index);
	strmap_clear(&c->seen);
	free(c->last_name);
}

/* Read callback of the outer reader: the raw stream. */
static la_ssize_t outer_read(struct archive *a, void *ud, const void **ret_buf)
{
	struct extract_ctx *c = ud;
	ssize_t n;
	do
		n = read(c->in_fd, c->buf, LAYER_IO_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read input");
		return -1;
	}
	digester_update(c->blob, c->buf, (size_t)n);
	if (c->copy_fd >= 0 && n > 0) {
		int r = write_all(c->copy_fd, c->buf, (size_t)n);
		if (r < 0) {
			archive_set_error(a, -r, "write copy of the blob");
			return -1;
		}
	}
	*ret_buf = c->buf;
	return n;
}

/* Read callback of the inner (tar) reader: the decompressed stream. */
static la_ssize_t inner_read(struct archive *a, void *ud, const void **ret_buf)
{
	struct extract_ctx *c = ud;
	for (;;) {
		size_t size = 0;
		la_int64_t off;
		int r = archive_read_data_block(c->outer, ret_buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_OK) {
			archive_set_error(a, archive_errno(c->outer), "%s", archive_error_string(c->outer));
			return -1;
		}
		if (size == 0)
			continue;
		if (c->hash_diff)
			digester_update(c->diff, *ret_buf, size);
		return (la_ssize_t)size;
	}
}

/* Refuse with the entry's name. */
static int entry_error(hull_error **err, int errnum, const char *raw, const char *what)
{
	return hull_error_set(err, errnum, "entry '%s': %s", raw, what);
}

static int mark_opaque(int dfd, const char *base);
static bool is_overlay_whiteout(const struct stat *st);

/* Make the missing directories of parent one by one, each below the last.
 * In OVERLAY mode a whiteout of this layer in the way becomes an opaque
 * directory (the layer deleted the lower one and made a new one).  Returns
 * an O_PATH fd of parent or -errno. */
static int make_parents(struct extract_ctx *c, const char *parent)
{
	char buf[PATH_MAX];
	strcpy(buf, parent);
	int prev = -1, fd;
	for (char *p = buf;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		int at = prev >= 0 ? prev : c->dirfd;
		fd = open_beneath(c->dirfd, buf, O_PATH | O_DIRECTORY);
		struct stat st;
		bool opaque = false;
		if (fd == -ENOTDIR && c->mode == LAYER_WHITEOUT_OVERLAY && fstatat(at, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    is_overlay_whiteout(&st)) {
			opaque = true;
			fd = unlinkat(at, p, 0) < 0 ? -errno : -ENOENT;
		}
		if (fd == -ENOENT) {
			if (mkdirat(at, p, 0755) < 0 && errno != EEXIST)
				fd = -errno;
			else
				fd = open_beneath(c->dirfd, buf, O_PATH | O_DIRECTORY);
			/* 0755 whatever the umask, as other engines make them */
			char path[32];
			if (fd >= 0 && chmod(fs_proc_fd_path(fd, path), 0755) < 0) {
				close(fd);
				fd = -errno;
			}
		}
		if (prev >= 0)
			close(prev);
		if (fd >= 0 && opaque) {
			int r = mark_opaque(fd, NULL);
			if (r < 0) {
				close(fd);
				return r;
			}
		}
		if (fd < 0 || !slash)
			return fd;
		prev = fd;
		*slash = '/';
		p = slash + 1;
	}
}

/* Open (and remember) the parent directory `parent` of the entry; create
 * missing directories when `create`.  *ret_fd is borrowed (owned by the
 * cache), or -1 when it is not there (or not a directory) and !create. */
static int get_parent(struct extract_ctx *c, const char *raw, const char *parent, bool create, int *ret_fd,
		      hull_error **err)
{
	if (c->cache_fd >= 0 && strcmp(c->cache_path, parent) == 0) {
		*ret_fd = c->cache_fd;
		return 0;
	}
	int fd = open_beneath(c->dirfd, parent, O_PATH | O_DIRECTORY);
	if (create && (fd == -ENOENT || (fd == -ENOTDIR && c->mode == LAYER_WHITEOUT_OVERLAY)))
		fd = make_parents(c, parent);
	if ((fd == -ENOENT || fd == -ENOTDIR) && !create) {
		*ret_fd = -1;
		return 0;
	}
	if (fd == -EXDEV)
		return hull_error_set(err, 0, "entry '%s': path '%s' leads out of the layer", raw, parent);
	if (fd < 0)
		return hull_error_set(err, -fd, "entry '%s': open directory '%s'", raw, parent);
	if (c->cache_fd >= 0)
		close(c->cache_fd);
	c->cache_fd = fd;
	strcpy(c->cache_path, parent);
	*ret_fd = fd;
	return 0;
}

/* Record name and its ancestors as made by this archive (APPLY mode). */
static int track_name(struct extract_ctx *c, const char *name)
{
	if (c->mode != LAYER_WHITEOUT_APPLY || name[0] == '\0')
		return 0;
	char buf[PATH_MAX];
	strcpy(buf, name);
	for (;;) {
		if (strmap_get(&c->seen, buf))
			return 0; /* ancestors are in already */
		int r = strmap_put(&c->seen, buf, 0);
		if (r < 0)
			return r;
		char *slash = strrchr(buf, '/');
		if (!slash)
			return 0;
		*slash = '\0';
	}
}

/* Remove `name` in parent fd pfd unless this archive made it; for a
 * directory it made, remove what it did not make below it (APPLY-mode
 * whiteouts).  c->wpath[0..plen) is the path of pfd ("" for the root); it
 * is a buffer shared down the recursion, so deep trees cost little stack. */
static int remove_lower(struct extract_ctx *c, int pfd, size_t plen, const char *name)
{
	size_t nlen = strlen(name), len = plen;
	if (plen + nlen + 2 > sizeof(c->wpath))
		return -ENAMETOOLONG;
	if (len > 0)
		c->wpath[len++] = '/';
	memcpy(c->wpath + len, name, nlen + 1);
	len += nlen;
	if (!strmap_get(&c->seen, c->wpath))
		return rm_rf_at(pfd, name, c->root_dev);
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return 0;
	_cleanup_close_ int dfd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	_cleanup_strv_ char **names = NULL;
	int r = list_dir(dfd, &names);
	for (char **n = names; r == 0 && *n; n++)
		r = remove_lower(c, dfd, len, *n);
	return r;
}

/* Remove what exists at base in pfd before creating an entry there. */
static int remove_existing(struct extract_ctx *c, const char *raw, int pfd, const char *base, hull_error **err)
{
	int r = rm_rf_at(pfd, base, c->root_dev);
	if (r < 0)
		return hull_error_set(err, -r, "entry '%s': remove the existing entry", raw);
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2], bool *ret_set)
{
	*ret_set = archive_entry_mtime_is_set(e);
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
	if (!*ret_set)
		ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
}

static int entry_owner(struct archive_entry *e, const char *raw, uid_t *ret_uid, gid_t *ret_gid, hull_error **err)
{
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	if (uid < 0 || uid >= (la_int64_t)UINT32_MAX || gid < 0 || gid >= (la_int64_t)UINT32_MAX) {
		entry_error(err, 0, raw, "invalid owner");
		return -1;
	}
	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	return 0;
}

/* Set the entry's xattrs on fd (>= 0), else on base in pfd (never followed),
 * else (base NULL) on the directory pfd itself.  Overlay xattrs are dropped:
 * they would forge whiteouts or opaque directories. */
static int set_xattrs(struct extract_ctx *c, struct archive_entry *e, const char *raw, int fd, int pfd,
		      const char *base, bool is_link, hull_error **err)
{
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	char path[PROC_PATH_MAX];
	if (fd < 0) {
		if (base)
			snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, base);
		else
			snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd);
	}
	const char *name;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!name || !*name)
			continue;
		if (has_prefix(name, "trusted.overlay.") || has_prefix(name, "user.overlay.")) {
			log_debug("layer entry '%s': dropped xattr '%s'", raw, name);
			continue;
		}
		if (is_link && has_prefix(name, "user."))
			continue; /* the kernel refuses user.* on symlinks */
		int r;
		if (fd >= 0)
			r = fsetxattr(fd, name, value, size, 0);
		else if (base)
			r = lsetxattr(path, name, value, size, 0);
		else
			r = setxattr(path, name, value, size, 0);
		if (r == 0)
			continue;
		if (errno == ENOTSUP || errno == EOPNOTSUPP || (errno == EPERM && !c->root)) {
			log_debug("layer entry '%s': xattr '%s' not set: %s", raw, name, strerror(errno));
			continue;
		}
		return hull_error_set(err, errno, "entry '%s': set xattr '%s'", raw, name);
	}
	return 0;
}

enum meta_kind {
	META_NODE,     /* device, fifo: owner, mode, xattrs, times */
	META_LINK,     /* symlink: no mode, no user.* xattrs */
	META_WHITEOUT, /* whiteout device for a .wh. entry: owner and times */
};

/* Metadata of a non-directory, non-regular entry at base in pfd, without
 * following it. */
static int apply_meta_at(struct extract_ctx *c, struct archive_entry *e, const char *raw, int pfd, const char *base,
			 enum meta_kind kind, hull_error **err)
{
	uid_t uid;
	gid_t gid;
	if (entry_owner(e, raw, &uid, &gid, err) < 0)
		return -1;
	if (c->root && fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error_set(err, errno, "entry '%s': chown", raw);
	if (kind == META_NODE) {
		_cleanup_close_ int fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char path[32];
		if (fd < 0)
			return hull_error_set(err, errno, "entry '%s': open", raw);
		if (chmod(fs_proc_fd_path(fd, path), archive_entry_perm(e) & 07777) < 0)
			return hull_error_set(err, errno, "entry '%s': chmod", raw);
	}
	if (kind != META_WHITEOUT && set_xattrs(c, e, raw, -1, pfd, base, kind == META_LINK, err) < 0)
		return -1;
	struct timespec ts[2];
	bool set;
	entry_times(e, ts, &set);
	if (set && utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error_set(err, errno, "entry '%s': set times", raw);
	return 0;
}

/* Copy the entry's data into fd, bounded by its header size. */
static int copy_data(struct extract_ctx *c, const char *raw, int fd, la_int64_t size, hull_error **err)
{
	la_int64_t pos = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(c->inner, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return hull_error_set(err, 0, "entry '%s': read data: %s", raw,
					      archive_error_string(c->inner) ?: "unknown error");
		if (off < 0 || (uint64_t)len > (uint64_t)size || off > size - (la_int64_t)len)
			return entry_error(err, 0, raw, "data longer than its header size");
		int w = pwrite_all(fd, buf, len, off);
		if (w < 0)
			return hull_error_set(err, -w, "entry '%s': write", raw);
		if (off + (la_int64_t)len > pos)
			pos = off + (la_int64_t)len;
	}
	if (pos < size && ftruncate(fd, size) < 0)
		return hull_error_set(err, errno, "entry '%s': set size", raw);
	return 0;
}

static int extract_file(struct extract_ctx *c, struct archive_entry *e, const char *raw, int pfd, const char *base,
			hull_error **err)
{
	la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
	if (size < 0)
		return entry_error(err, 0, raw, "invalid size");
	if ((uint64_t)size > c->max_bytes - c->unpacked)
		return hull_error_set(err, EFBIG, "entry '%s': %" PRId64 " bytes would pass the limit of %" PRIu64
				      " bytes unpacked", raw, (int64_t)size, c->max_bytes);
	c->unpacked += (uint64_t)size;
	_cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		if (remove_existing(c, raw, pfd, base, err) < 0)
			return -1;
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return hull_error_set(err, errno, "entry '%s': create file", raw);
	if (copy_data(c, raw, fd, size, err) < 0)
		return -1;
	uid_t uid;
	gid_t gid;
	if (entry_owner(e, raw, &uid, &gid, err) < 0)
		return -1;
	/* chown before chmod (it clears setuid) and before xattrs (it clears
	 * security.capability) */
	if (c->root && fchown(fd, uid, gid) < 0)
		return hull_error_set(err, errno, "entry '%s': chown", raw);
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return hull_error_set(err, errno, "entry '%s': chmod", raw);
	if (set_xattrs(c, e, raw, fd, pfd, base, false, err) < 0)
		return -1;
	struct timespec ts[2];
	bool set;
	entry_times(e, ts, &set);
	if (set && futimens(fd, ts) < 0)
		return hull_error_set(err, errno, "entry '%s': set times", raw);
	return 0;
}

/* Set trusted.overlay.opaque=y on base in dfd, or on dfd itself (base
 * NULL).  0 or -errno. */
static int mark_opaque(int dfd, const char *base)
{
	char path[PROC_PATH_MAX];
	int r;
	if (base) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, base);
		r = lsetxattr(path, OVL_OPAQUE_XATTR, "y", 1, 0);
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", dfd);
		r = setxattr(path, OVL_OPAQUE_XATTR, "y", 1, 0);
	}
	return r < 0 ? -errno : 0;
}

static int set_opaque(int dfd, const char *base, const char *raw, hull_error **err)
{
	int r = mark_opaque(dfd, base);
	if (r < 0)
		return hull_error_set(err, -r, "entry '%s': mark the directory opaque", raw);
	return 0;
}

static bool is_overlay_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Remember the mode and times of a directory, applied after all entries;
 * a later entry for the same path replaces the record. */
static int defer_dir(struct extract_ctx *c, struct archive_entry *e, const char *name, int dfd, const char *raw,
		     hull_error **err)
{
	struct stat st;
	if (fstat(dfd, &st) < 0)
		return hull_error_set(err, errno, "entry '%s': stat", raw);
	size_t *idx = strmap_get(&c->dir_index, name);
	struct dir_meta *m;
	if (idx) {
		m = &c->dirs[*idx];
	} else {
		if (c->n_dirs == c->cap_dirs) {
			size_t ncap = c->cap_dirs ? c->cap_dirs * 2 : 64;
			struct dir_meta *nd = realloc(c->dirs, ncap * sizeof(*nd));
			if (!nd)
				return hull_error_set(err, ENOMEM, "entry '%s'", raw);
			c->dirs = nd;
			c->cap_dirs = ncap;
		}
		m = &c->dirs[c->n_dirs];
		*m = (struct dir_meta){ .path = strdup(name) };
		if (!m->path || strmap_put(&c->dir_index, name, c->n_dirs) < 0) {
			free(m->path);
			return hull_error_set(err, ENOMEM, "entry '%s'", raw);
		}
		c->n_dirs++;
	}
	m->perm = archive_entry_perm(e) & 07777;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	entry_times(e, m->ts, &m->has_times);
	return 0;
}

/* Owner and xattrs now, mode and times later, of the directory dfd. */
static int dir_meta(struct extract_ctx *c, struct archive_entry *e, const char *name, int dfd, const char *raw,
		    hull_error **err)
{
	uid_t uid;
	gid_t gid;
	if (entry_owner(e, raw, &uid, &gid, err) < 0)
		return -1;
	if (c->root && fchownat(dfd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return hull_error_set(err, errno, "entry '%s': chown", raw);
	if (set_xattrs(c, e, raw, -1, dfd, NULL, false, err) < 0)
		return -1;
	return defer_dir(c, e, name, dfd, raw, err);
}

static int extract_dir(struct extract_ctx *c, struct archive_entry *e, const char *raw, const char *name, int pfd,
		       const char *base, hull_error **err)
{
	bool opaque = false;
	if (mkdirat(pfd, base, 0700) < 0) {
		if (errno != EEXIST)
			return hull_error_set(err, errno, "entry '%s': create directory", raw);
		struct stat st;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return hull_error_set(err, errno, "entry '%s': stat", raw);
		if (!S_ISDIR(st.st_mode)) {
			/* a directory replacing a whiteout of this layer hides
			 * the lower directory's content */
			opaque = c->mode == LAYER_WHITEOUT_OVERLAY && is_overlay_whiteout(&st);
			if (remove_existing(c, raw, pfd, base, err) < 0)
				return -1;
			if (mkdirat(pfd, base, 0700) < 0)
				return hull_error_set(err, errno, "entry '%s': create directory", raw);
		}
	}
	_cleanup_close_ int dfd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return hull_error_set(err, errno, "entry '%s': open directory", raw);
	if (opaque && set_opaque(dfd, NULL, raw, err) < 0)
		return -1;
	return dir_meta(c, e, name, dfd, raw, err);
}

static int extract_symlink(struct extract_ctx *c, struct archive_entry *e, const char *raw, int pfd,
			   const char *base, hull_error **err)
{
	const char *target = archive_entry_symlink(e);
	if (!target || !*target)
		return entry_error(err, 0, raw, "symlink without a target");
	if (symlinkat(target, pfd, base) < 0) {
		if (errno != EEXIST)
			return hull_error_set(err, errno, "entry '%s': create symlink", raw);
		if (remove_existing(c, raw, pfd, base, err) < 0)
			return -1;
		if (symlinkat(target, pfd, base) < 0)
			return hull_error_set(err, errno, "entry '%s': create symlink", raw);
	}
	return apply_meta_at(c, e, raw, pfd, base, META_LINK, err);
}

static int extract_node(struct extract_ctx *c, struct archive_entry *e, const char *raw, int pfd, const char *base,
			hull_error **err)
{
	mode_t type = archive_entry_filetype(e);
	dev_t dev = 0;
	if (type != AE_IFIFO) {
		if (!c->root) {
			log_debug("layer entry '%s': device node skipped (not root)", raw);
			return 0;
		}
		dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	}
	mode_t mode = (type == AE_IFIFO ? S_IFIFO : type == AE_IFBLK ? S_IFBLK : S_IFCHR) | 0600;
	int r = mknodat(pfd, base, mode, dev);
	if (r < 0 && errno == EEXIST) {
		if (remove_existing(c, raw, pfd, base, err) < 0)
			return -1;
		r = mknodat(pfd, base, mode, dev);
	}
	if (r < 0 && errno == EPERM && type != AE_IFIFO) {
		log_debug("layer entry '%s': device node skipped: %s", raw, strerror(errno));
		return 0;
	}
	if (r < 0)
		return hull_error_set(err, errno, "entry '%s': create node", raw);
	return apply_meta_at(c, e, raw, pfd, base, META_NODE, err);
}

/* Link fd (an O_PATH fd of the target) as base in pfd. */
static int link_fd(int fd, int pfd, const char *base)
{
	if (linkat(fd, "", pfd, base, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the magic link does not */
	char path[32];
	if (linkat(AT_FDCWD, fs_proc_fd_path(fd, path), pfd, base, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

static int extract_hardlink(struct extract_ctx *c, const char *raw, const char *name, int pfd, const char *base,
			    const char *rawtarget, hull_error **err)
{
	char target[PATH_MAX], buf[PATH_MAX];
	int r = normalise_name(rawtarget, target);
	if (r == -EXDEV || (r == 0 && target[0] == '\0'))
		return hull_error_set(err, 0, "entry '%s': hardlink target '%s' is outside the layer", raw, rawtarget);
	if (r < 0)
		return hull_error_set(err, -r, "entry '%s': hardlink target '%s'", raw, rawtarget);
	if (strcmp(target, name) == 0)
		return 0;
	const char *tparent, *tbase;
	split_name(target, buf, &tparent, &tbase);
	_cleanup_close_ int tpfd = open_beneath(c->dirfd, tparent, O_PATH | O_DIRECTORY);
	if (tpfd == -EXDEV)
		return hull_error_set(err, 0, "entry '%s': hardlink target '%s' leads out of the layer", raw,
				      rawtarget);
	if (tpfd < 0)
		return hull_error_set(err, -tpfd, "entry '%s': hardlink target '%s'", raw, rawtarget);
	_cleanup_close_ int tfd = openat(tpfd, tbase, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return hull_error_set(err, errno, "entry '%s': hardlink target '%s'", raw, rawtarget);
	struct stat st, cur;
	if (fstat(tfd, &st) < 0)
		return hull_error_set(err, errno, "entry '%s': hardlink target '%s'", raw, rawtarget);
	if (S_ISDIR(st.st_mode))
		return hull_error_set(err, EPERM, "entry '%s': hardlink target '%s' is a directory", raw, rawtarget);
	if (fstatat(pfd, base, &cur, AT_SYMLINK_NOFOLLOW) == 0) {
		if (cur.st_dev == st.st_dev && cur.st_ino == st.st_ino)
			return 0;
		if (remove_existing(c, raw, pfd, base, err) < 0)
			return -1;
	}
	r = link_fd(tfd, pfd, base);
	if (r < 0)
		return hull_error_set(err, -r, "entry '%s': link to '%s'", raw, rawtarget);
	return 0;
}

/* ".wh..wh..opq" in parent / ".wh.NAME" (wname = NAME). */
static int extract_whiteout(struct extract_ctx *c, struct archive_entry *e, const char *raw, const char *parent,
			    const char *base, hull_error **err)
{
	bool opaque = strcmp(base, WH_OPAQUE) == 0;
	if (!opaque && has_prefix(base, WH_META_PREFIX)) {
		log_debug("layer entry '%s': whiteout metadata skipped", raw);
		return 0;
	}
	const char *wname = base + WH_PREFIX_LEN;
	if (!opaque && (wname[0] == '\0' || strcmp(wname, ".") == 0 || strcmp(wname, "..") == 0))
		return entry_error(err, 0, raw, "invalid whiteout");
	int pfd;
	bool overlay = c->mode == LAYER_WHITEOUT_OVERLAY;
	if (get_parent(c, raw, parent, overlay, &pfd, err) < 0)
		return -1;
	if (pfd < 0)
		return 0; /* APPLY: nothing below to hide */
	if (overlay) {
		if (opaque)
			return set_opaque(pfd, NULL, raw, err);
		struct stat st;
		if (fstatat(pfd, wname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			/* made by this layer: a directory keeps only this
			 * layer's content, anything else stays as it is */
			return S_ISDIR(st.st_mode) ? set_opaque(pfd, wname, raw, err) : 0;
		}
		if (mknodat(pfd, wname, S_IFCHR | 0000, makedev(0, 0)) < 0) {
			if (errno == EPERM)
				return hull_error_set(err, errno, "entry '%s': whiteouts need root", raw);
			return hull_error_set(err, errno, "entry '%s': create whiteout", raw);
		}
		/* the .wh. entry's owner and times (mode stays 0): a packed
		 * layer extracts to the same tree */
		return apply_meta_at(c, e, raw, pfd, wname, META_WHITEOUT, err);
	}
	int r;
	size_t plen = strlen(parent);
	if (opaque) {
		_cleanup_strv_ char **names = NULL;
		r = list_dir(pfd, &names);
		for (char **n = names; r == 0 && *n; n++) {
			memcpy(c->wpath, parent, plen + 1);
			r = remove_lower(c, pfd, plen, *n);
		}
	} else {
		memcpy(c->wpath, parent, plen + 1);
		r = remove_lower(c, pfd, plen, wname);
	}
	if (r < 0)
		return hull_error_set(err, -r, "entry '%s': apply whiteout", raw);
	return 0;
}

static int extract_root_entry(struct extract_ctx *c, struct archive_entry *e, const char *raw, hull_error **err)
{
	if (archive_entry_filetype(e) != AE_IFDIR || archive_entry_hardlink(e))
		return entry_error(err, 0, raw, "names the layer root but is not a directory");
	_cleanup_close_ int dfd = openat(c->dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hull_error_set(err, errno, "entry '%s': open the layer root", raw);
	return dir_meta(c, e, "", dfd, raw, err);
}

static int extract_entry(struct extract_ctx *c, struct archive_entry *e, const char *raw, hull_error **err)
{
	char name[PATH_MAX], buf[PATH_MAX];
	int r = normalise_name(raw, name);
	if (r == -EXDEV)
		return entry_error(err, 0, raw, "path leads out of the layer");
	if (r < 0)
		return entry_error(err, -r, raw, "invalid name");
	if (name[0] == '\0')
		return extract_root_entry(c, e, raw, err);
	const char *parent, *base;
	split_name(name, buf, &parent, &base);
	if (has_prefix(base, WH_PREFIX))
		return extract_whiteout(c, e, raw, parent, base, err);
	if (track_name(c, name) < 0)
		return hull_error_set(err, ENOMEM, "entry '%s'", raw);
	int pfd;
	if (get_parent(c, raw, parent, true, &pfd, err) < 0)
		return -1;
	const char *hardlink = archive_entry_hardlink(e);
	if (hardlink)
		return extract_hardlink(c, raw, name, pfd, base, hardlink, err);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return extract_file(c, e, raw, pfd, base, err);
	case AE_IFDIR:
		return extract_dir(c, e, raw, name, pfd, base, err);
	case AE_IFLNK:
		return extract_symlink(c, e, raw, pfd, base, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return extract_node(c, e, raw, pfd, base, err);
	default:
		log_debug("layer entry '%s': type %o skipped", raw, (unsigned)archive_entry_filetype(e));
		return 0;
	}
}

/* Modes and times of the directories, deepest (latest) first; a path that
 * is no longer the directory recorded is skipped. */
static int apply_dir_meta(struct extract_ctx *c, hull_error **err)
{
	for (size_t i = c->n_dirs; i-- > 0;) {
		struct dir_meta *m = &c->dirs[i];
		_cleanup_close_ int fd = open_beneath(c->dirfd, m->path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != m->dev || st.st_ino != m->ino)
			continue;
		char path[32];
		fs_proc_fd_path(fd, path);
		if (chmod(path, m->perm) < 0)
			return hull_error_set(err, errno, "directory '%s': chmod", m->path);
		if (m->has_times && utimensat(AT_FDCWD, path, m->ts, 0) < 0)
			return hull_error_set(err, errno, "directory '%s': set times", m->path);
	}
	return 0;
}

static int read_error(struct extract_ctx *c, struct archive *a, hull_error **err)
{
	const char *msg = archive_error_string(a) ?: "unknown error";
	if (c->last_name)
		return hull_error_set(err, 0, "read layer after entry '%s': %s", c->last_name, msg);
	return hull_error_set(err, 0, "read layer: %s", msg);
}

static int open_readers(struct extract_ctx *c, hull_error **err)
{
	c->outer = archive_read_new();
	c->inner = archive_read_new();
	if (!c->outer || !c->inner)
		return hull_error_set(err, ENOMEM, "read layer");
	/* the compressions image layers use; no external programs */
	archive_read_support_filter_gzip(c->outer);
	archive_read_support_filter_zstd(c->outer);
	archive_read_support_filter_bzip2(c->outer);
	archive_read_support_filter_xz(c->outer);
	archive_read_support_format_raw(c->outer);
	if (archive_read_open(c->outer, c, NULL, outer_read, NULL) != ARCHIVE_OK)
		return read_error(c, c->outer, err);
	struct archive_entry *oe;
	if (archive_read_next_header(c->outer, &oe) != ARCHIVE_OK)
		return read_error(c, c->outer, err);
	if (archive_filter_count(c->outer) > 2)
		return hull_error_set(err, 0, "read layer: nested compression (%s)", archive_filter_name(c->outer, 0));
	c->hash_diff = archive_filter_code(c->outer, 0) != ARCHIVE_FILTER_NONE;
	archive_read_support_format_tar(c->inner);
	if (archive_read_open(c->inner, c, NULL, inner_read, NULL) != ARCHIVE_OK)
		return read_error(c, c->inner, err);
	return 0;
}

/* Read what is left of the stream so the digests cover all of it. */
static int drain(struct extract_ctx *c, hull_error **err)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(c->outer, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return read_error(c, c->outer, err);
		if (c->hash_diff)
			digester_update(c->diff, buf, size);
	}
	for (;;) {
		const void *buf;
		la_ssize_t n = outer_read(c->outer, c, &buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return read_error(c, c->outer, err);
	}
}

static int extract_run(struct extract_ctx *c, hull_error **err)
{
	if (open_readers(c, err) < 0)
		return -1;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(c->inner, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			log_debug("layer entry after '%s': %s", c->last_name ?: "", archive_error_string(c->inner));
		else if (r != ARCHIVE_OK)
			return read_error(c, c->inner, err);
		const char *raw = archive_entry_pathname(e);
		if (!raw)
			return read_error(c, c->inner, err);
		free(c->last_name);
		c->last_name = strdup(raw);
		if (!c->last_name)
			return hull_error_set(err, ENOMEM, "read layer");
		if (++c->entries > c->max_entries)
			return hull_error_set(err, 0, "entry '%s': more than %" PRIu64 " entries", raw, c->max_entries);
		if (extract_entry(c, e, c->last_name, err) < 0)
			return -1;
	}
	if (drain(c, err) < 0)
		return -1;
	return apply_dir_meta(c, err);
}

int layer_extract(int in_fd, int dirfd, enum layer_whiteout_mode mode, const struct layer_limits *limits,
		  int copy_fd, struct layer_result *ret, hull_error **err)
{
	struct extract_ctx c = {
		.in_fd = in_fd,
		.copy_fd = copy_fd,
		.dirfd = dirfd,
		.mode = mode,
		.max_bytes = limits && limits->max_bytes ? limits->max_bytes : LAYER_DEFAULT_MAX_BYTES,
		.max_entries = limits && limits->max_entries ? limits->max_entries : LAYER_DEFAULT_MAX_ENTRIES,
		.root = geteuid() == 0,
		.cache_fd = -1,
	};
	struct stat st;
	if (fstat(dirfd, &st) < 0)
		return hull_error_set(err, errno, "extract layer: target directory");
	if (!S_ISDIR(st.st_mode))
		return hull_error_set(err, ENOTDIR, "extract layer: target directory");
	c.root_dev = st.st_dev;
	c.blob = digester_new();
	c.diff = digester_new();
	c.buf = malloc(LAYER_IO_BUF);
	int r;
	if (!c.blob || !c.diff || !c.buf)
		r = hull_error_set(err, ENOMEM, "extract layer");
	else
		r = extract_run(&c, err);
	if (r == 0) {
		struct layer_result res = { .entries = c.entries, .unpacked_size = c.unpacked };
		res.blob_size = digester_bytes(c.blob);
		digester_final(c.blob, res.blob_digest);
		if (c.hash_diff)
			digester_final(c.diff, res.diff_id);
		else
			memcpy(res.diff_id, res.blob_digest, sizeof(res.diff_id));
		const char *f = archive_filter_code(c.outer, 0) == ARCHIVE_FILTER_NONE ? "none"
											 : archive_filter_name(c.outer, 0);
		snprintf(res.compression, sizeof(res.compression), "%s", f);
		if (ret)
			*ret = res;
	}
	extract_ctx_done(&c);
	return r;
}

/* ------------------------------------------------------------------------
 * Packing.
 */

struct pack_ctx {
	struct archive *a;
	int out_fd;
	struct digester *d;
	struct strmap links; /* "dev:ino" -> index in link_paths */
	char **link_paths;
	size_t n_links, cap_links;
	unsigned char *buf;
	char path[PATH_MAX];    /* the entry's path, shared down the recursion */
	char scratch[PATH_MAX]; /* marker names, symlink targets */
};

static la_ssize_t pack_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct pack_ctx *p = ud;
	int r = write_all(p->out_fd, buf, len);
	if (r < 0) {
		archive_set_error(a, -r, "write");
		return -1;
	}
	digester_update(p->d, buf, len);
	return (la_ssize_t)len;
}

static int pack_error(struct pack_ctx *p, const char *path, hull_error **err)
{
	return hull_error_set(err, archive_errno(p->a) > 0 ? archive_errno(p->a) : 0, "pack '%s': %s", path,
			      archive_error_string(p->a) ?: "write failed");
}

/* Copy the xattrs of name in dfd (not followed) into e, sorted, overlay
 * ones left out.  *ret_opaque tells whether it is an opaque directory. */
static int pack_xattrs(int dfd, const char *name, struct archive_entry *e, bool *ret_opaque)
{
	char path[PROC_PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	*ret_opaque = false;
	ssize_t n = llistxattr(path, NULL, 0);
	if (n < 0)
		return errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : -errno;
	if (n == 0)
		return 0;
	_cleanup_free_ char *list = malloc((size_t)n);
	if (!list)
		return -ENOMEM;
	n = llistxattr(path, list, (size_t)n);
	if (n < 0)
		return -errno;
	size_t count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		count++;
	_cleanup_free_ char **names = calloc(count + 1, sizeof(char *));
	if (!names)
		return -ENOMEM;
	count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		names[count++] = list + i;
	qsort(names, count, sizeof(char *), cmp_str);
	for (size_t i = 0; i < count; i++) {
		char value[65536];
		bool ovl = has_prefix(names[i], "trusted.overlay.") || has_prefix(names[i], "user.overlay.");
		ssize_t len = lgetxattr(path, names[i], value, sizeof(value));
		if (len < 0) {
			if (errno == ENODATA)
				continue;
			return -errno;
		}
		if (ovl) {
			if ((strcmp(names[i], "trusted.overlay.opaque") == 0 ||
			     strcmp(names[i], "user.overlay.opaque") == 0) &&
			    len == 1 && value[0] == 'y')
				*ret_opaque = true;
			continue;
		}
		archive_entry_xattr_add_entry(e, names[i], value, (size_t)len);
	}
	return 0;
}

static struct archive_entry *pack_entry_new(const char *path, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return NULL;
	archive_entry_copy_pathname(e, path);
	archive_entry_set_perm(e, st->st_mode & 07777);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	/* whole seconds, as Docker and Podman write them: no pax header per
	 * file just for the fraction */
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	return e;
}

static int pack_write_header(struct pack_ctx *p, struct archive_entry *e, const char *path, hull_error **err)
{
	int r = archive_write_header(p->a, e);
	if (r == ARCHIVE_WARN)
		log_debug("pack '%s': %s", path, archive_error_string(p->a));
	else if (r != ARCHIVE_OK)
		return pack_error(p, path, err);
	return 0;
}

/* A marker entry (whiteout / opaque) named path, with st's owner and mode. */
static int pack_marker(struct pack_ctx *p, const char *path, const struct stat *st, hull_error **err)
{
	struct archive_entry *e = pack_entry_new(path, st);
	if (!e)
		return hull_error_set(err, ENOMEM, "pack '%s'", path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, 0);
	int r = pack_write_header(p, e, path, err);
	archive_entry_free(e);
	return r;
}

static int pack_file_data(struct pack_ctx *p, int dfd, const char *name, const char *path, int64_t size,
			  hull_error **err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hull_error_set(err, errno, "pack '%s': open", path);
	while (size > 0) {
		ssize_t n = read(fd, p->buf, size < LAYER_IO_BUF ? (size_t)size : LAYER_IO_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hull_error_set(err, errno, "pack '%s': read", path);
		if (n == 0)
			break; /* shrank: libarchive pads the rest with zeros */
		if (archive_write_data(p->a, p->buf, (size_t)n) < 0)
			return pack_error(p, path, err);
		size -= n;
	}
	return 0;
}

/* Whether st (nlink > 1) was packed before; remember it otherwise. */
static int pack_link_lookup(struct pack_ctx *p, const struct stat *st, const char *path, const char **ret_target)
{
	char key[64];
	snprintf(key, sizeof(key), "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
	size_t *idx = strmap_get(&p->links, key);
	if (idx) {
		*ret_target = p->link_paths[*idx];
		return 0;
	}
	*ret_target = NULL;
	if (p->n_links == p->cap_links) {
		size_t ncap = p->cap_links ? p->cap_links * 2 : 64;
		char **nv = realloc(p->link_paths, ncap * sizeof(char *));
		if (!nv)
			return -ENOMEM;
		p->link_paths = nv;
		p->cap_links = ncap;
	}
	p->link_paths[p->n_links] = strdup(path);
	if (!p->link_paths[p->n_links] || strmap_put(&p->links, key, p->n_links) < 0) {
		free(p->link_paths[p->n_links]);
		return -ENOMEM;
	}
	p->n_links++;
	return 0;
}

static int pack_dir(struct pack_ctx *p, int dfd, size_t plen, hull_error **err);

/* Fill e (path and metadata already set) by the type of st. */
static int pack_entry_type(struct pack_ctx *p, struct archive_entry *e, int dfd, const char *name,
			   const struct stat *st, const char *link_target)
{
	if (link_target) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_copy_hardlink(e, link_target);
		archive_entry_set_size(e, 0);
	} else if (S_ISREG(st->st_mode)) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, st->st_size);
	} else if (S_ISDIR(st->st_mode)) {
		archive_entry_set_filetype(e, AE_IFDIR);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dfd, name, p->scratch, sizeof(p->scratch) - 1);
		if (n < 0)
			return -errno;
		p->scratch[n] = '\0';
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_copy_symlink(e, p->scratch);
	} else {
		archive_entry_set_filetype(e, S_ISCHR(st->st_mode)   ? AE_IFCHR
					      : S_ISBLK(st->st_mode) ? AE_IFBLK
								     : AE_IFIFO);
		archive_entry_set_rdevmajor(e, major(st->st_rdev));
		archive_entry_set_rdevminor(e, minor(st->st_rdev));
	}
	return 0;
}

/* A marker named p->path[0..plen) + marker + suffix. */
static int pack_marker_at(struct pack_ctx *p, size_t plen, const char *marker, const char *suffix,
			  const struct stat *st, hull_error **err)
{
	if (snprintf(p->scratch, sizeof(p->scratch), "%.*s%s%s", (int)plen, p->path, marker, suffix) >=
	    (int)sizeof(p->scratch))
		return hull_error_set(err, ENAMETOOLONG, "pack '%s'", p->path);
	return pack_marker(p, p->scratch, st, err);
}

/* Pack name in dfd; p->path[0..plen) is its parent's path with a trailing
 * "/" (or ""), a buffer shared down the recursion so deep trees cost
 * little stack. */
static int pack_one(struct pack_ctx *p, int dfd, const char *name, size_t plen, hull_error **err)
{
	size_t nlen = strlen(name);
	if (plen + nlen + 2 > sizeof(p->path))
		return hull_error_set(err, ENAMETOOLONG, "pack '%.*s%s'", (int)plen, p->path, name);
	memcpy(p->path + plen, name, nlen + 1);
	const char *path = p->path;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hull_error_set(err, errno, "pack '%s': stat", path);
	if (S_ISSOCK(st.st_mode)) {
		log_debug("pack '%s': socket skipped", path);
		return 0;
	}
	if (is_overlay_whiteout(&st))
		return pack_marker_at(p, plen, WH_PREFIX, name, &st, err);
	struct archive_entry *e = pack_entry_new(path, &st);
	if (!e)
		return hull_error_set(err, ENOMEM, "pack '%s'", path);
	bool opaque = false;
	const char *link_target = NULL;
	int r = pack_xattrs(dfd, name, e, &opaque);
	if (r == 0 && !S_ISDIR(st.st_mode) && st.st_nlink > 1)
		r = pack_link_lookup(p, &st, path, &link_target);
	if (r == 0)
		r = pack_entry_type(p, e, dfd, name, &st, link_target);
	if (r < 0) {
		archive_entry_free(e);
		return hull_error_set(err, -r, "pack '%s'", path);
	}
	r = pack_write_header(p, e, path, err);
	archive_entry_free(e);
	if (r < 0)
		return -1;
	if (!link_target && S_ISREG(st.st_mode))
		return pack_file_data(p, dfd, name, path, st.st_size, err);
	if (!S_ISDIR(st.st_mode))
		return 0;
	size_t len = plen + nlen;
	p->path[len++] = '/';
	p->path[len] = '\0';
	if (opaque && pack_marker_at(p, len, WH_OPAQUE, "", &st, err) < 0)
		return -1;
	_cleanup_close_ int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return hull_error_set(err, errno, "pack '%s': open", path);
	return pack_dir(p, cfd, len, err);
}

static int pack_dir(struct pack_ctx *p, int dfd, size_t plen, hull_error **err)
{
	_cleanup_strv_ char **names = NULL;
	int r = list_dir(dfd, &names);
	if (r < 0)
		return hull_error_set(err, -r, "pack '%s': list", plen ? p->path : ".");
	size_t count = 0;
	while (names[count])
		count++;
	qsort(names, count, sizeof(char *), cmp_str);
	for (char **n = names; *n; n++)
		if (pack_one(p, dfd, *n, plen, err) < 0)
			return -1;
	return 0;
}

static void pack_ctx_done(struct pack_ctx *p)
{
	if (p->a)
		archive_write_free(p->a);
	if (p->d)
		digester_free(p->d);
	strmap_clear(&p->links);
	for (size_t i = 0; i < p->n_links; i++)
		free(p->link_paths[i]);
	free(p->link_paths);
	free(p->buf);
}

static int pack_run(struct pack_ctx *p, int dirfd, hull_error **err)
{
	if (archive_write_set_format_pax_restricted(p->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(p->a, 1) != ARCHIVE_OK ||
	    archive_write_open(p->a, p, NULL, pack_write, NULL) != ARCHIVE_OK)
		return pack_error(p, ".", err);
	/* the root itself is not an entry; an opaque root is marked */
	struct stat st;
	bool opaque = false;
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return hull_error_set(err, ENOMEM, "pack");
	int r = fstat(dirfd, &st) < 0 ? -errno : pack_xattrs(dirfd, ".", e, &opaque);
	archive_entry_free(e);
	if (r < 0)
		return hull_error_set(err, -r, "pack '.'");
	if (opaque && pack_marker(p, WH_OPAQUE, &st, err) < 0)
		return -1;
	p->path[0] = '\0';
	if (pack_dir(p, dirfd, 0, err) < 0)
		return -1;
	if (archive_write_close(p->a) != ARCHIVE_OK)
		return pack_error(p, ".", err);
	return 0;
}

int layer_pack_dir(int dirfd, int out_fd, char ret_diff_id[static DIGEST_SHA256_LEN + 1], uint64_t *ret_size,
		   hull_error **err)
{
	struct pack_ctx p = {
		.a = archive_write_new(),
		.out_fd = out_fd,
		.d = digester_new(),
		.buf = malloc(LAYER_IO_BUF),
	};
	int r;
	if (!p.a || !p.d || !p.buf)
		r = hull_error_set(err, ENOMEM, "pack");
	else
		r = pack_run(&p, dirfd, err);
	if (r == 0) {
		if (ret_size)
			*ret_size = digester_bytes(p.d);
		digester_final(p.d, ret_diff_id);
	}
	pack_ctx_done(&p);
	return r;
}
