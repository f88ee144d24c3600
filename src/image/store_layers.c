/* store_layers.c - layers of the image store: unpacking (staged under
 * tmp/, published under the lock), the vfs driver's copies, and read-only
 * image mounts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

#include "image/layer.h"
#include "image/store.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VALUE_MAX_BYTES 65536

/* ---- copying a tree (vfs: the parent's root below a new layer) ---- */

struct hardlink {
	dev_t dev;
	ino_t ino;
	char *rel;
};

struct copy_ctx {
	int dst_root;
	bool root_user;
	struct hardlink *links;
	size_t n_links, cap_links;
	char *fail_rel; /* the entry that could not be copied */
};

static void copy_ctx_clear(struct copy_ctx *c)
{
	for (size_t i = 0; i < c->n_links; i++)
		free(c->links[i].rel);
	free(c->links);
	free(c->fail_rel);
}

static const char *find_link(struct copy_ctx *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_links; i++)
		if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
			return c->links[i].rel;
	return NULL;
}

static int add_link(struct copy_ctx *c, const struct stat *st, const char *rel)
{
	if (c->n_links == c->cap_links) {
		size_t cap = c->cap_links ? c->cap_links * 2 : 16;
		struct hardlink *n = realloc(c->links, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->links = n;
		c->cap_links = cap;
	}
	char *d = strdup(rel);
	if (!d)
		return -ENOMEM;
	c->links[c->n_links++] = (struct hardlink){ st->st_dev, st->st_ino, d };
	return 0;
}

/* Copy extended attributes (fds when src_path is NULL, else paths that are
 * not followed at their last component); attributes the target refuses
 * are skipped (ENOTSUP, and EPERM when not root). */
static int copy_xattrs(int sfd, int dfd, const char *src_path, const char *dst_path, bool root_user)
{
	char names[XATTR_LIST_MAX_BYTES];
	ssize_t n = src_path ? llistxattr(src_path, names, sizeof(names)) : flistxattr(sfd, names, sizeof(names));
	if (n < 0)
		return errno == ENOTSUP || errno == ENODATA ? 0 : -errno;
	_cleanup_free_ char *val = malloc(XATTR_VALUE_MAX_BYTES);
	if (!val)
		return -ENOMEM;
	for (char *k = names; k < names + n; k += strlen(k) + 1) {
		ssize_t vl = src_path ? lgetxattr(src_path, k, val, XATTR_VALUE_MAX_BYTES)
				      : fgetxattr(sfd, k, val, XATTR_VALUE_MAX_BYTES);
		if (vl < 0)
			continue;
		int r = dst_path ? lsetxattr(dst_path, k, val, (size_t)vl, 0) : fsetxattr(dfd, k, val, (size_t)vl, 0);
		if (r < 0 && errno != ENOTSUP && (root_user || errno != EPERM))
			return -errno;
	}
	return 0;
}

/* Owner, mode, xattrs, times of dst (an fd open on it) from st. */
static int copy_attrs_fd(struct copy_ctx *c, int sfd, int dfd, const struct stat *st)
{
	if (fchown(dfd, st->st_uid, st->st_gid) < 0 && (c->root_user || errno != EPERM))
		return -errno;
	if (fchmod(dfd, st->st_mode & 07777) < 0)
		return -errno;
	int r = copy_xattrs(sfd, dfd, NULL, NULL, c->root_user);
	if (r < 0)
		return r;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	return futimens(dfd, ts) < 0 ? -errno : 0;
}

/* The same for an entry without an fd of its own (symlink, device, fifo). */
static int copy_attrs_at(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && (c->root_user || errno != EPERM))
		return -errno;
	if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
		return -errno;
	char a[32], b[32], sp[PATH_MAX], dp[PATH_MAX];
	snprintf(sp, sizeof(sp), "%s/%s", fs_proc_fd_path(sdir, a), name);
	snprintf(dp, sizeof(dp), "%s/%s", fs_proc_fd_path(ddir, b), name);
	int r = copy_xattrs(-1, -1, sp, dp, c->root_user);
	if (r < 0)
		return r;
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	return utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int copy_data(int sfd, int dfd)
{
	if (ioctl(dfd, FICLONE, sfd) == 0)
		return 0;
	return fs_copy_fd(sfd, dfd);
}

static int copy_dir_children(struct copy_ctx *c, int sdir, int ddir, const char *rel);

static int copy_file(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	_cleanup_close_ int sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	_cleanup_close_ int dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0)
		return -errno;
	int r = copy_data(sfd, dfd);
	return r < 0 ? r : copy_attrs_fd(c, sfd, dfd, st);
}

static int copy_dir(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st,
		    const char *rel)
{
	if (mkdirat(ddir, name, 0700) < 0)
		return -errno;
	_cleanup_close_ int sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int dfd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0 || dfd < 0)
		return -errno;
	int r = copy_dir_children(c, sfd, dfd, rel);
	return r < 0 ? r : copy_attrs_fd(c, sfd, dfd, st);
}

static int copy_special(struct copy_ctx *c, int sdir, int ddir, const char *name, const struct stat *st)
{
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, ddir, name) < 0)
			return -errno;
	} else if (mknodat(ddir, name, st->st_mode & (S_IFMT | 0600), st->st_rdev) < 0) {
		return -errno;
	}
	return copy_attrs_at(c, sdir, ddir, name, st);
}

static int copy_entry(struct copy_ctx *c, int sdir, int ddir, const char *name, const char *rel)
{
	struct stat st;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		const char *first = find_link(c, &st);
		if (first)
			return linkat(c->dst_root, first, c->dst_root, rel, 0) < 0 ? -errno : 0;
		if (add_link(c, &st, rel) < 0)
			return -ENOMEM;
	}
	if (S_ISDIR(st.st_mode))
		return copy_dir(c, sdir, ddir, name, &st, rel);
	if (S_ISREG(st.st_mode))
		return copy_file(c, sdir, ddir, name, &st);
	return copy_special(c, sdir, ddir, name, &st);
}

static int copy_dir_children(struct copy_ctx *c, int sdir, int ddir, const char *rel)
{
	int fd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *crel = NULL;
		if (asprintf(&crel, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = copy_entry(c, sdir, ddir, de->d_name, crel);
		if (r < 0 && !c->fail_rel)
			c->fail_rel = TAKE_PTR(crel);
		free(crel);
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}

/* Copy the tree at src (a directory) into the empty directory dst_fd,
 * including src's own owner, mode, xattrs and times.  Errors name the
 * entry: "copy 'usr/bin/x': ...". */
static int copy_tree(int src_fd, int dst_fd, hull_error **err)
{
	struct copy_ctx c = { .dst_root = dst_fd, .root_user = geteuid() == 0 };
	struct stat st;
	int r = fstat(src_fd, &st) < 0 ? -errno : 0;
	if (r == 0)
		r = copy_dir_children(&c, src_fd, dst_fd, "");
	if (r == 0)
		r = copy_attrs_fd(&c, src_fd, dst_fd, &st);
	if (r < 0)
		hull_error_set(err, -r, "copy '%s'", c.fail_rel ? c.fail_rel : ".");
	copy_ctx_clear(&c);
	return r < 0 ? -1 : 0;
}

/* ---- layers ---- */

static int layer_rel(const struct image_store *s, const char *chain_id, bool diff, char buf[static 96])
{
	if (!digest_valid(chain_id))
		return -EINVAL;
	snprintf(buf, 96, "%s/%s%s", store_layers_dir(s), digest_hex(chain_id), !s->vfs && diff ? "/diff" : "");
	return 0;
}

int store_layer_path(struct image_store *s, const char *chain_id, char **ret, hull_error **err)
{
	char rel[96];
	if (layer_rel(s, chain_id, true, rel) < 0)
		return digest_check(chain_id, "layer", err);
	int r = db_layer_exists(s, chain_id, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hull_error_set(err, ENOENT, "layer '%s' not known", chain_id);
	if (asprintf(ret, "%s/%s", s->root, rel) < 0)
		return hull_error_set(err, ENOMEM, "layer path");
	return 0;
}

/* If the layer exists, pin it for us and describe it: 1; absent: 0. */
static int pin_existing_layer(struct image_store *s, const char *chain_id, struct layer_info **ret, hull_error **err)
{
	int r = db_layer_exists(s, chain_id, err);
	if (r <= 0)
		return r;
	if (store_lock(s, err) < 0)
		return -1;
	r = db_layer_exists(s, chain_id, err);
	if (r > 0) {
		if (db_begin(s, err) < 0)
			r = -1;
		else if (db_pin(s, PIN_LAYER, chain_id, err) < 0) {
			db_rollback(s);
			r = -1;
		} else if (db_commit(s, err) < 0)
			r = -1;
	}
	store_unlock(s);
	if (r > 0 && ret) {
		if (store_layer_get(s, chain_id, ret, err) < 0)
			return -1;
		if (!*ret)
			return hull_error_set(err, ENOENT, "layer '%s' vanished", chain_id);
	}
	return r;
}

struct stage {
	char *name;   /* tmp/<name> */
	int dir_fd;   /* tmp/<name> */
	int root_fd;  /* where the layer's files go */
	int blob_fd;  /* tmp/<name>/blob */
};

static void stage_clear(struct image_store *s, struct stage *st)
{
	if (st->blob_fd >= 0)
		close(st->blob_fd);
	if (st->root_fd >= 0)
		close(st->root_fd);
	if (st->dir_fd >= 0)
		close(st->dir_fd);
	if (st->name) {
		_cleanup_close_ int tfd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (tfd >= 0)
			(void)store_rm_at(tfd, st->name);
	}
	free(st->name);
	*st = (struct stage){ .dir_fd = -1, .root_fd = -1, .blob_fd = -1 };
}

static int stage_make(struct image_store *s, const char *parent, struct stage *st, hull_error **err)
{
	int r = store_tmp_entry(s, true, &st->name, NULL);
	if (r < 0)
		return hull_error_set(err, -r, "create staging directory in '%s/tmp'", s->root);
	char rel[PATH_MAX];
	snprintf(rel, sizeof(rel), "tmp/%s", st->name);
	st->dir_fd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dir_fd < 0 || mkdirat(st->dir_fd, "layer", s->vfs ? 0755 : 0700) < 0)
		return hull_error_set(err, errno, "create '%s/%s/layer'", s->root, rel);
	if (!s->vfs && mkdirat(st->dir_fd, "layer/diff", 0755) < 0)
		return hull_error_set(err, errno, "create '%s/%s/layer/diff'", s->root, rel);
	st->root_fd = openat(st->dir_fd, s->vfs ? "layer" : "layer/diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->root_fd < 0)
		return hull_error_set(err, errno, "open '%s/%s/layer'", s->root, rel);
	st->blob_fd = openat(st->dir_fd, "blob", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (st->blob_fd < 0)
		return hull_error_set(err, errno, "create '%s/%s/blob'", s->root, rel);
	if (s->vfs && parent) {
		char prel[96];
		layer_rel(s, parent, true, prel);
		_cleanup_close_ int pfd = openat(s->root_fd, prel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			return hull_error_set(err, errno, "open parent layer '%s/%s'", s->root, prel);
		if (copy_tree(pfd, st->root_fd, err) < 0)
			return hull_error_wrap(err, "copy parent layer '%s' into '%s/%s'", parent, s->root, rel);
	}
	return 0;
}

static int insert_layer(struct image_store *s, const char *chain_id, const char *parent,
			const struct layer_result *res, const char *media_type, hull_error **err)
{
	static const char sql[] = "INSERT INTO layers(chain_id, parent, diff_id, blob_digest, media_type, blob_size,"
				  " unpacked_size, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	char now[40];
	store_now_rfc3339(now);
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	if (db_stmt(s, sql, &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
	if (parent)
		sqlite3_bind_text(st, 2, parent, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, res->diff_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, res->blob_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, media_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)res->blob_size);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)res->unpacked_size);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "insert layer", err);
	/* the layer's blob is needed through its row: pin the layer only */
	return db_pin(s, PIN_LAYER, chain_id, err);
}

/* Rename the staged blob and layer into place (lock held, dirty set). */
static int move_into_place(struct image_store *s, struct stage *st, const char *chain_id, const char *blob_digest,
			   hull_error **err)
{
	char brel[96], lrel[96];
	snprintf(brel, sizeof(brel), "blobs/sha256/%s", digest_hex(blob_digest));
	layer_rel(s, chain_id, false, lrel);
	if (renameat2(st->dir_fd, "blob", s->root_fd, brel, RENAME_NOREPLACE) < 0 && errno != EEXIST)
		return hull_error_set(err, errno, "move blob into '%s/%s'", s->root, brel);
	if (renameat2(st->dir_fd, "layer", s->root_fd, lrel, RENAME_NOREPLACE) < 0) {
		int e = errno;
		if (e == EEXIST || e == ENOTEMPTY) {
			/* a directory no row knows: a leftover, which we replace */
			char *trash = NULL;
			int t = store_trash_at(s, s->root_fd, lrel, &trash);
			e = t < 0 ? -t : renameat2(st->dir_fd, "layer", s->root_fd, lrel, RENAME_NOREPLACE) < 0 ? errno : 0;
			store_trash_empty(s, &trash);
		}
		if (e)
			return hull_error_set(err, e, "move layer into '%s/%s'", s->root, lrel);
	}
	return 0; /* the directories are synced by store_image_create */
}

static int publish_layer(struct image_store *s, struct stage *st, const char *chain_id, const char *parent,
			 const struct layer_result *res, const char *media_type, hull_error **err)
{
	if (store_lock(s, err) < 0)
		return -1;
	int r = db_layer_exists(s, chain_id, err);
	if (r != 0) { /* made meanwhile by someone else: use theirs */
		store_unlock(s);
		return r < 0 ? -1 : pin_existing_layer(s, chain_id, NULL, err) < 0 ? -1 : 0;
	}
	r = store_dirty_begin(s, err);
	if (r == 0)
		r = move_into_place(s, st, chain_id, res->blob_digest, err);
	store_crash_point("layer-renamed");
	if (r == 0 && (r = db_begin(s, err)) == 0) {
		r = insert_layer(s, chain_id, parent, res, media_type, err);
		r = r < 0 ? (db_rollback(s), -1) : db_commit(s, err);
	}
	store_crash_point("layer-committed");
	if (r < 0) {
		/* nothing committed: take back what we moved */
		char lrel[96];
		layer_rel(s, chain_id, false, lrel);
		char *trash = NULL;
		(void)store_trash_at(s, s->root_fd, lrel, &trash);
		store_trash_empty(s, &trash);
	} else {
		store_dirty_end(s);
	}
	store_unlock(s);
	return r;
}

static const char *default_media_type(const char *compression)
{
	if (strcmp(compression, "gzip") == 0)
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	if (strcmp(compression, "zstd") == 0)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return "application/vnd.oci.image.layer.v1.tar";
}

static int check_expected(const struct layer_result *res, const char *exp_blob, const char *exp_diff,
			  hull_error **err)
{
	if (exp_blob && strcmp(exp_blob, res->blob_digest) != 0)
		return hull_error_set(err, EINVAL, "layer '%s': digest mismatch: got %s", exp_blob, res->blob_digest);
	if (exp_diff && strcmp(exp_diff, res->diff_id) != 0)
		return hull_error_set(err, EINVAL, "layer '%s': diff ID mismatch: got %s", exp_diff, res->diff_id);
	return 0;
}

static int create_staged(struct image_store *s, const char *parent, int in_fd, const char *media_type,
			 const char *exp_blob, const char *exp_diff, char chain_id[static DIGEST_SHA256_LEN + 1],
			 hull_error **err)
{
	struct stage st = { .dir_fd = -1, .root_fd = -1, .blob_fd = -1 };
	struct layer_result res = { 0 };
	int r = stage_make(s, parent, &st, err);
	if (r == 0) {
		enum layer_whiteout_mode mode = s->vfs ? LAYER_WHITEOUT_APPLY : LAYER_WHITEOUT_OVERLAY;
		r = layer_extract(in_fd, st.root_fd, mode, NULL, st.blob_fd, &res, err);
	}
	if (r == 0)
		r = check_expected(&res, exp_blob, exp_diff, err);
	if (r == 0 && close(TAKE_FD(st.blob_fd)) < 0)
		r = hull_error_set(err, errno, "write layer blob");
	if (r == 0) {
		digest_chain_id(parent, res.diff_id, chain_id);
		r = publish_layer(s, &st, chain_id, parent, &res, media_type ? media_type : default_media_type(res.compression),
				  err);
	}
	stage_clear(s, &st);
	return r;
}

int store_layer_create(struct image_store *s, const char *parent, int in_fd, const char *media_type,
		       const char *expected_blob_digest, const char *expected_diff_id, struct layer_info **ret,
		       hull_error **err)
{
	struct layer_info *out = NULL;
	if ((expected_blob_digest && digest_check(expected_blob_digest, "layer blob", err) < 0) ||
	    (expected_diff_id && digest_check(expected_diff_id, "layer diff ID", err) < 0) ||
	    (parent && digest_check(parent, "parent layer", err) < 0))
		return -1;
	/* the parent stays ours (pinned) until an image holds it */
	if (parent) {
		int r = pin_existing_layer(s, parent, NULL, err);
		if (r <= 0)
			return r < 0 ? -1 : hull_error_set(err, ENOENT, "parent layer '%s' not known", parent);
	}
	char chain_id[DIGEST_SHA256_LEN + 1];
	int r = 0;
	if (expected_diff_id) {
		digest_chain_id(parent, expected_diff_id, chain_id);
		r = pin_existing_layer(s, chain_id, ret ? &out : NULL, err);
		if (r < 0)
			return -1;
	}
	if (r == 0) {
		if (create_staged(s, parent, in_fd, media_type, expected_blob_digest, expected_diff_id, chain_id, err) < 0)
			return -1;
		if (ret && store_layer_get(s, chain_id, &out, err) < 0)
			return -1;
		if (ret && !out)
			return hull_error_set(err, ENOENT, "layer '%s' vanished", chain_id);
	}
	if (ret)
		*ret = out;
	return 0;
}

/* ---- overlay detection ---- */

static bool overlay_probe(const char *base, int dfd)
{
	if (mkdirat(dfd, "lower1", 0755) < 0 || mkdirat(dfd, "lower2", 0755) < 0 || mkdirat(dfd, "m", 0755) < 0 ||
	    mkdirat(dfd, "lower2/d", 0755) < 0 || mkdirat(dfd, "lower1/d", 0755) < 0)
		return false;
	int fd = openat(dfd, "lower2/d/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	close(fd);
	if ((fd = openat(dfd, "lower2/f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return false;
	close(fd);
	/* a whiteout and an opaque directory, as layer_extract writes them */
	if (mknodat(dfd, "lower1/f", S_IFCHR | 0000, makedev(0, 0)) < 0)
		return false;
	char a[32], p[64];
	snprintf(p, sizeof(p), "%s/lower1/d", fs_proc_fd_path(dfd, a));
	if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0)
		return false;
	_cleanup_free_ char *opts = NULL, *target = NULL;
	if (asprintf(&opts, "lowerdir=%s/lower1:%s/lower2", base, base) < 0 || asprintf(&target, "%s/m", base) < 0)
		return false;
	if (mount("overlay", target, "overlay", MS_RDONLY | MS_NODEV | MS_NOSUID, opts) < 0)
		return false;
	struct stat st;
	bool ok = fstatat(dfd, "m/f", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
		  fstatat(dfd, "m/d/x", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
		  fstatat(dfd, "m/d", &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (umount2(target, 0) < 0)
		(void)umount2(target, MNT_DETACH);
	return ok;
}

bool store_overlay_works(struct image_store *s)
{
	_cleanup_free_ char *name = NULL;
	if (store_tmp_entry(s, true, &name, NULL) < 0)
		return false;
	char base[PATH_MAX], rel[PATH_MAX];
	snprintf(base, sizeof(base), "%s/tmp/%s", s->root, name);
	snprintf(rel, sizeof(rel), "tmp/%s", name);
	int dfd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = dfd >= 0 && overlay_probe(base, dfd);
	if (dfd >= 0)
		close(dfd);
	_cleanup_close_ int tfd = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd >= 0)
		(void)store_rm_at(tfd, name);
	return ok;
}

/* ---- image mounts ---- */

static int mount_paths(struct image_store *s, const char *id, char **ret_dir, char **ret_count)
{
	if (!digest_valid(id))
		return -EINVAL;
	if (asprintf(ret_dir, "%s/mounts/%s", s->runroot, digest_hex(id)) < 0)
		return -ENOMEM;
	if (asprintf(ret_count, "%s/mounts/%s.count", s->runroot, digest_hex(id)) < 0) {
		free(*ret_dir);
		return -ENOMEM;
	}
	return 0;
}

static bool is_mount_root(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return false;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static unsigned read_count(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	if (fs_read_file_at(AT_FDCWD, path, 32, &buf, NULL) < 0)
		return 0;
	return (unsigned)strtoul(buf, NULL, 10);
}

static int write_count(const char *path, unsigned n)
{
	if (n == 0)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u\n", n);
	return fs_write_file_atomic(path, buf, (size_t)len, 0600, false);
}

int mount_count_locked(struct image_store *s, const char *id, unsigned *ret, hull_error **err)
{
	_cleanup_free_ char *dir = NULL, *count = NULL;
	if (mount_paths(s, id, &dir, &count) < 0)
		return hull_error_set(err, EINVAL, "image mount state of '%s'", id);
	unsigned n = read_count(count);
	*ret = n > 0 && is_mount_root(dir) ? n : 0;
	return 0;
}

/* Short names l/<20 hex> -> ../overlay/<hex>/diff, for mount(2)'s one
 * page of options. */
static int short_link(struct image_store *s, const char *chain_id, char out[static 64])
{
	const char *hex = digest_hex(chain_id);
	char target[128], have[128];
	snprintf(target, sizeof(target), "../overlay/%s/diff", hex);
	if (mkdirat(s->root_fd, "l", 0700) < 0 && errno != EEXIST)
		return -errno;
	for (int len = 20; len <= 64; len += 44) {
		snprintf(out, 64, "l/%.*s", len, hex);
		if (symlinkat(target, s->root_fd, out) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
		ssize_t n = readlinkat(s->root_fd, out, have, sizeof(have) - 1);
		if (n >= 0) {
			have[n] = '\0';
			if (strcmp(have, target) == 0)
				return 0;
		}
	}
	return -EEXIST;
}

/* mount(2) with lowerdir=l/..:l/.. relative to the root (we chdir there). */
static int mount_overlay_legacy(struct image_store *s, char *const *layers, size_t n, const char *target)
{
	size_t cap = (size_t)sysconf(_SC_PAGESIZE) - 1;
	_cleanup_free_ char *opts = malloc(cap + 1);
	if (!opts)
		return -ENOMEM;
	size_t len = (size_t)snprintf(opts, cap + 1, "lowerdir=");
	for (size_t i = n; i-- > 0;) {
		char link[64];
		int r = short_link(s, layers[i], link);
		if (r < 0)
			return r;
		if (len + strlen(link) + 8 >= cap)
			return -E2BIG;
		len += (size_t)snprintf(opts + len, cap + 1 - len, "%s%s", i == n - 1 ? "" : ":", link);
	}
	if (n == 1)
		len += (size_t)snprintf(opts + len, cap + 1 - len, ":empty");
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(s->root_fd) < 0)
		return -errno;
	int r = mount("overlay", target, "overlay", MS_RDONLY | MS_NODEV | MS_NOSUID, opts) < 0 ? -errno : 0;
	if (fchdir(cwd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* The new mount API: one "lowerdir+" per layer, no length limit. */
static int mount_overlay_fsconfig(struct image_store *s, char *const *layers, size_t n, const char *target)
{
	if (getenv("HULL_TEST_NO_LOWERDIR_PLUS"))
		return -EINVAL;
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	for (size_t i = n; i-- > 0;) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/overlay/%s/diff", s->root, digest_hex(layers[i]));
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", path, 0) < 0)
			return -errno;
	}
	char empty[PATH_MAX];
	snprintf(empty, sizeof(empty), "%s/empty", s->root);
	if (n == 1 && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", empty, 0) < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	_cleanup_close_ int mfd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
	if (mfd < 0)
		return -errno;
	return move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
}

static int do_mount(struct image_store *s, const struct image_record *r, const char *target, hull_error **err)
{
	size_t n = 0;
	while (r->layers && r->layers[n])
		n++;
	if (n == 0)
		return hull_error_set(err, EINVAL, "image '%s' has no layers", r->id);
	if (s->vfs) {
		char src[PATH_MAX];
		snprintf(src, sizeof(src), "%s/vfs/%s", s->root, digest_hex(r->layers[n - 1]));
		if (mount(src, target, NULL, MS_BIND, NULL) < 0)
			return hull_error_set(err, errno, "bind '%s' on '%s'", src, target);
		if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NODEV | MS_NOSUID, NULL) < 0) {
			int e = errno;
			(void)umount2(target, MNT_DETACH);
			return hull_error_set(err, e, "make '%s' read-only", target);
		}
		return 0;
	}
	if (mkdirat(s->root_fd, "empty", 0755) < 0 && errno != EEXIST)
		return hull_error_set(err, errno, "create '%s/empty'", s->root);
	int rc = mount_overlay_fsconfig(s, r->layers, n, target);
	if (rc == -EINVAL || rc == -ENOSYS || rc == -EOPNOTSUPP)
		rc = mount_overlay_legacy(s, r->layers, n, target);
	if (rc < 0)
		return hull_error_set(err, -rc, "mount overlay of %zu layers on '%s'", n, target);
	return 0;
}

static int mount_locked(struct image_store *s, const char *input, char **ret_path, hull_error **err)
{
	_cleanup_free_ char *id = NULL, *dir = NULL, *count = NULL, *mounts = NULL;
	struct image_record *rec = NULL;
	if (db_image_resolve(s, input, &id, err) < 0)
		return -1;
	if (mount_paths(s, id, &dir, &count) < 0 || asprintf(&mounts, "%s/mounts", s->runroot) < 0)
		return hull_error_set(err, ENOMEM, "mount image");
	int r = fs_mkdir_p(mounts, 0700);
	if (r < 0)
		return hull_error_set(err, -r, "create '%s'", mounts);
	unsigned n;
	mount_count_locked(s, id, &n, err);
	/* mounted but not counted: a mounter died before writing the count */
	if (n == 0 && !is_mount_root(dir)) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return hull_error_set(err, errno, "create '%s'", dir);
		if (db_image_load(s, id, &rec, err) < 0)
			return -1;
		r = do_mount(s, rec, dir, err);
		image_record_free(rec);
		if (r < 0)
			return -1;
	}
	r = write_count(count, n + 1);
	if (r < 0)
		return hull_error_set(err, -r, "write '%s'", count);
	*ret_path = TAKE_PTR(dir);
	return 0;
}

int store_image_mount(struct image_store *s, const char *id, char **ret_path, hull_error **err)
{
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "mount image '%s'", id);
	int r = mount_locked(s, id, ret_path, err);
	store_unlock(s);
	return r < 0 ? hull_error_wrap(err, "mount image '%s'", id) : 0;
}

int unmount_locked(struct image_store *s, const char *id, bool force, hull_error **err)
{
	_cleanup_free_ char *dir = NULL, *count = NULL;
	if (mount_paths(s, id, &dir, &count) < 0)
		return hull_error_set(err, ENOMEM, "unmount image");
	unsigned n = read_count(count);
	bool mounted = is_mount_root(dir);
	if (!mounted && !force) {
		(void)write_count(count, 0);
		hull_error_set(err, 0, "image '%s' is not mounted", id);
		if (err && *err)
			(*err)->status = EINVAL;
		return -1;
	}
	n = force || n <= 1 ? 0 : n - 1;
	if (n == 0 && mounted && umount2(dir, 0) < 0 && (errno != EBUSY || umount2(dir, MNT_DETACH) < 0))
		return hull_error_set(err, errno, "unmount '%s'", dir);
	if (n == 0)
		(void)rmdir(dir);
	int r = write_count(count, n);
	return r < 0 ? hull_error_set(err, -r, "write '%s'", count) : 0;
}

int store_image_unmount(struct image_store *s, const char *id, bool force, hull_error **err)
{
	if (store_lock(s, err) < 0)
		return hull_error_wrap(err, "unmount image '%s'", id);
	_cleanup_free_ char *full = NULL;
	int r = db_image_resolve(s, id, &full, err);
	if (r == 0)
		r = unmount_locked(s, full, force, err);
	store_unlock(s);
	return r < 0 ? hull_error_wrap(err, "unmount image '%s'", id) : 0;
}
