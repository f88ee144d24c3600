/* Unit tests for src/image/store*.c: the image store on a temporary root,
 * with both drivers (overlay tests need root and an overlay-capable kernel
 * and skip otherwise). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/store.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"

static char test_root[128];
static char test_runroot[128];
static char test_base[64];
static const char *cur_driver; /* "vfs" or "overlay" */

/* ---- fixtures ---- */

static bool overlay_possible(void)
{
	static int cached = -1;
	if (cached < 0) {
		char dir[] = "/var/tmp/hull-test-ovl-XXXXXX";
		cached = 0;
		if (geteuid() == 0 && mkdtemp(dir)) {
			struct store_opts o = { .root = dir, .runroot = dir };
			struct image_store *s = NULL;
			hull_error *e = NULL;
			if (store_open(&o, &s, &e) == 0) {
				cached = strcmp(store_driver(s), "overlay") == 0;
				store_close(s);
			}
			hull_error_free(e);
			fs_rm_rf(dir);
		}
	}
	return cached == 1;
}

static int setup(void **state)
{
	cur_driver = *state;
	snprintf(test_base, sizeof(test_base), "/var/tmp/hull-test-store-XXXXXX");
	if (!mkdtemp(test_base))
		return -1;
	snprintf(test_root, sizeof(test_root), "%s/root", test_base);
	snprintf(test_runroot, sizeof(test_runroot), "%s/run", test_base);
	unsetenv("HULL_TEST_CRASH_AT");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(test_base);
	return 0;
}

static bool skip_driver(void)
{
	return strcmp(cur_driver, "overlay") == 0 && !overlay_possible();
}

#define NEED_DRIVER()                                                       \
	do {                                                                \
		if (skip_driver()) {                                        \
			fprintf(stderr, "skip: overlay not available here\n"); \
			skip();                                             \
		}                                                           \
	} while (0)

static struct image_store *open_store(void)
{
	struct store_opts o = { .root = test_root, .runroot = test_runroot, .driver = cur_driver };
	struct image_store *s = NULL;
	hull_error *e = NULL;
	if (store_open(&o, &s, &e) < 0) {
		fprintf(stderr, "store_open: %s\n", e ? e->msg : "?");
		hull_error_free(e);
		return NULL;
	}
	return s;
}

#define CHECK_OK(expr)                                                        \
	do {                                                                  \
		hull_error *e_ = NULL;                                        \
		int r_ = (expr);                                              \
		if (r_ < 0)                                                   \
			fprintf(stderr, "%s: %s\n", #expr, e_ ? e_->msg : "?"); \
		hull_error_free(e_);                                          \
		assert_int_equal(r_, 0);                                      \
	} while (0)

/* ---- building layers and images ---- */

struct tent {
	const char *name;
	char type; /* f file, d dir, l symlink, h hardlink, c char device 1:3 */
	const char *data; /* content, or link target */
	mode_t mode;
	const char *xattr; /* "user.x=value" */
	int uid;
};

static int tar_fd(const struct tent *t, size_t n, bool gz)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, t[i].name);
		archive_entry_set_mtime(e, 1000000, 0);
		archive_entry_set_uid(e, t[i].uid);
		archive_entry_set_gid(e, t[i].uid);
		if (t[i].xattr) {
			const char *eq = strchr(t[i].xattr, '=');
			char k[64];
			snprintf(k, sizeof(k), "%.*s", (int)(eq - t[i].xattr), t[i].xattr);
			archive_entry_xattr_add_entry(e, k, eq + 1, strlen(eq + 1));
		}
		mode_t mode = t[i].mode ? t[i].mode : 0644;
		size_t len = 0;
		switch (t[i].type) {
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, t[i].mode ? t[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, t[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, mode);
			archive_entry_set_hardlink(e, t[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_perm(e, 0666);
			archive_entry_set_rdevmajor(e, 1);
			archive_entry_set_rdevminor(e, 3);
			break;
		default:
			len = t[i].data ? strlen(t[i].data) : 0;
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, mode);
			archive_entry_set_size(e, (la_int64_t)len);
		}
		if (archive_write_header(a, e) != ARCHIVE_OK)
			return -1;
		if (len && archive_write_data(a, t[i].data, len) != (la_ssize_t)len)
			return -1;
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Digest of the whole content of fd (then rewound). */
static void fd_digest(int fd, char out[DIGEST_SHA256_LEN + 1])
{
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(digest_fd(fd, out, NULL), 0);
	lseek(fd, 0, SEEK_SET);
}

static const struct tent BASE[] = {
	{ "etc", 'd', NULL, 0 },
	{ "etc/hostname", 'f', "base\n", 0 },
	{ "etc/passwd", 'f', "root:x:0:0::/root:/bin/sh\n", 0, "user.hull=kept", 0 },
	{ "etc/owned", 'f', "x", 0600, NULL, 1234 },
	{ "bin", 'd', NULL, 0 },
	{ "bin/tool", 'f', "#!/bin/sh\necho tool\n", 04755 },
	{ "bin/tool2", 'h', "bin/tool", 04755 },
	{ "bin/sh", 'l', "/bin/tool", 0 },
	{ "gone", 'd', NULL, 0 },
	{ "gone/x", 'f', "x", 0 },
	{ "opq", 'd', NULL, 0 },
	{ "opq/old", 'f', "old", 0 },
};

static const struct tent DEV[] = {
	{ "dev", 'd', NULL, 0 },
	{ "dev/null", 'c', NULL, 0 },
};

static const struct tent TOP[] = {
	{ "etc", 'd', NULL, 0 },
	{ "etc/hostname", 'f', "top\n", 0 },
	{ ".wh.gone", 'f', NULL, 0 },
	{ "opq", 'd', NULL, 0 },
	{ "opq/.wh..wh..opq", 'f', NULL, 0 },
	{ "opq/new", 'f', "new", 0 },
};

static struct layer_info *make_layer(struct image_store *s, const char *parent, const struct tent *t, size_t n,
				     bool gz)
{
	int fd = tar_fd(t, n, gz);
	assert_true(fd >= 0);
	struct layer_info *l = NULL;
	hull_error *e = NULL;
	int r = store_layer_create(s, parent, fd, NULL, NULL, NULL, &l, &e);
	if (r < 0)
		fprintf(stderr, "store_layer_create: %s\n", e ? e->msg : "?");
	hull_error_free(e);
	close(fd);
	assert_int_equal(r, 0);
	assert_non_null(l);
	return l;
}

/* A config + manifest over the given layers, published as an image. */
static struct image_record *make_image_full(struct image_store *s, struct layer_info **layers, size_t n,
					    const char *unique, char *const *names, hull_error **err)
{
	json_t *diff = json_array(), *mlayers = json_array();
	char **chain = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(diff, json_string(layers[i]->diff_id));
		json_array_append_new(mlayers, json_pack("{s:s, s:s, s:I}", "mediaType", layers[i]->media_type, "digest",
							 layers[i]->blob_digest, "size", (json_int_t)layers[i]->blob_size));
		chain[i] = layers[i]->chain_id;
	}
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:{s:{s:s}}, s:{s:s, s:o}}", "created", "2020-01-02T03:04:05Z",
				"architecture", "amd64", "os", "linux", "config", "Labels", "unique", unique, "rootfs",
				"type", "layers", "diff_ids", diff);
	char *cfg_s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	char cfg_d[DIGEST_SHA256_LEN + 1], man_d[DIGEST_SHA256_LEN + 1];
	struct image_record *rec = NULL;
	int r = store_blob_put(s, cfg_s, strlen(cfg_s), NULL, cfg_d, err);
	json_t *man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
				"application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
				"application/vnd.oci.image.config.v1+json", "digest", cfg_d, "size",
				(json_int_t)strlen(cfg_s), "layers", mlayers);
	char *man_s = json_dumps(man, JSON_COMPACT);
	if (r == 0)
		r = store_blob_put(s, man_s, strlen(man_s), NULL, man_d, err);
	if (r == 0)
		r = store_image_create(s, cfg_d, man_d, NULL, chain, names, &rec, err);
	free(cfg_s);
	free(man_s);
	free(chain);
	json_decref(cfg);
	json_decref(man);
	return r == 0 ? rec : NULL;
}

static struct image_record *make_image(struct image_store *s, struct layer_info **layers, size_t n,
				       const char *unique, const char *name)
{
	char *names[2] = { (char *)name, NULL };
	hull_error *e = NULL;
	struct image_record *r = make_image_full(s, layers, n, unique, name ? names : NULL, &e);
	if (!r)
		fprintf(stderr, "make_image: %s\n", e ? e->msg : "?");
	hull_error_free(e);
	assert_non_null(r);
	return r;
}

static size_t count_dir(const char *sub)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", test_root, sub);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static const char *layers_dir(void)
{
	return strcmp(cur_driver, "vfs") == 0 ? "vfs" : "overlay";
}

static bool path_exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool path_exists(const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	struct stat st;
	return lstat(p, &st) == 0;
}

static size_t check_errors(struct image_store *s, bool repair, json_t **ret_report)
{
	json_t *rep = NULL;
	CHECK_OK(store_check(s, repair, &rep, &e_));
	size_t n = json_array_size(json_object_get(rep, "errors"));
	if (n) {
		char *d = json_dumps(rep, JSON_INDENT(1));
		fprintf(stderr, "check: %s\n", d);
		free(d);
	}
	if (ret_report)
		*ret_report = rep;
	else
		json_decref(rep);
	return n;
}

/* ---- tests ---- */

static void test_open_close(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	assert_non_null(s);
	assert_string_equal(store_root(s), test_root);
	assert_string_equal(store_runroot(s), test_runroot);
	assert_string_equal(store_driver(s), cur_driver);
	assert_true(path_exists("%s/hull.db", test_root));
	assert_true(path_exists("%s/blobs/sha256", test_root));
	assert_true(path_exists("%s/%s", test_root, layers_dir()));
	store_close(s);
	/* reopen: same driver remembered; another driver refused */
	struct store_opts o = { .root = test_root, .runroot = test_runroot };
	hull_error *e = NULL;
	assert_int_equal(store_open(&o, &s, &e), 0);
	assert_string_equal(store_driver(s), cur_driver);
	store_close(s);
	o.driver = strcmp(cur_driver, "vfs") == 0 ? "overlay" : "vfs";
	assert_int_equal(store_open(&o, &s, &e), -1);
	assert_non_null(strstr(e->msg, "storage driver"));
	hull_error_clear(&e);
	o.driver = "btrfs";
	assert_int_equal(store_open(&o, &s, &e), -1);
	assert_non_null(strstr(e->msg, "unknown storage driver 'btrfs'"));
	hull_error_free(e);
}

static void test_resolve_opts(void **state)
{
	(void)state;
	char conf[PATH_MAX];
	snprintf(conf, sizeof(conf), "%s/storage.conf", test_base);
	const char *text = "# comment\n[other]\ndriver = \"zfs\"\n[storage]\ndriver = \"vfs\"  # trailing\n"
			   "graphroot = '/conf/root'\nrunroot = \"/conf/run\"\nunknown_key = 3\n"
			   "[storage.options]\nmount_program = \"x\"\n";
	assert_int_equal(fs_write_file_atomic(conf, text, strlen(text), 0644, false), 0);
	setenv("HULL_STORAGE_CONF", conf, 1);
	struct store_opts in = { 0 }, out = { 0 };
	CHECK_OK(store_resolve_opts(&in, &out, &e_));
	assert_string_equal(out.root, "/conf/root");
	assert_string_equal(out.runroot, "/conf/run");
	assert_string_equal(out.driver, "vfs");
	store_opts_clear(&out);
	/* explicit options win, field by field */
	in.root = "/cli/root";
	CHECK_OK(store_resolve_opts(&in, &out, &e_));
	assert_string_equal(out.root, "/cli/root");
	assert_string_equal(out.runroot, "/conf/run");
	store_opts_clear(&out);
	/* no file: defaults */
	snprintf(conf, sizeof(conf), "%s/none.conf", test_base);
	setenv("HULL_STORAGE_CONF", conf, 1);
	in.root = NULL;
	CHECK_OK(store_resolve_opts(&in, &out, &e_));
	assert_string_equal(out.root, geteuid() == 0 ? "/var/lib/hull" : out.root);
	assert_null(out.driver);
	store_opts_clear(&out);
	/* a broken line is an error naming the file and line */
	snprintf(conf, sizeof(conf), "%s/bad.conf", test_base);
	text = "[storage]\ndriver = \"vfs\n";
	assert_int_equal(fs_write_file_atomic(conf, text, strlen(text), 0644, false), 0);
	setenv("HULL_STORAGE_CONF", conf, 1);
	hull_error *e = NULL;
	assert_int_equal(store_resolve_opts(&in, &out, &e), -1);
	assert_non_null(strstr(e->msg, "line 2"));
	hull_error_free(e);
	unsetenv("HULL_STORAGE_CONF");
}

static void test_blobs(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	const char *data = "{\"hello\":\"world\"}";
	char d[DIGEST_SHA256_LEN + 1], want[DIGEST_SHA256_LEN + 1];
	digest_buffer(data, strlen(data), want);
	CHECK_OK(store_blob_put(s, data, strlen(data), want, d, &e_));
	assert_string_equal(d, want);
	assert_true(store_blob_exists(s, d));
	char *path = store_blob_path(s, d);
	assert_non_null(path);
	assert_true(path_exists("%s", path));
	assert_null(store_blob_path(s, "sha256:../../etc/passwd"));
	/* again: no error, still one file */
	CHECK_OK(store_blob_put(s, data, strlen(data), NULL, NULL, &e_));
	assert_int_equal(count_dir("blobs/sha256"), 1);
	char *back = NULL;
	size_t len = 0;
	CHECK_OK(store_blob_read(s, d, 1024, &back, &len, &e_));
	assert_int_equal(len, strlen(data));
	assert_memory_equal(back, data, len);
	free(back);
	/* too big for max */
	hull_error *e = NULL;
	assert_int_equal(store_blob_read(s, d, 4, &back, &len, &e), -1);
	hull_error_clear(&e);
	/* expected digest mismatch: refused, nothing stored */
	const char *other = "other";
	assert_int_equal(store_blob_put(s, other, strlen(other), want, NULL, &e), -1);
	assert_non_null(strstr(e->msg, "digest mismatch"));
	hull_error_clear(&e);
	assert_int_equal(count_dir("blobs/sha256"), 1);
	assert_int_equal(count_dir("tmp"), 0);
	/* corrupted on disk: read refuses it, check reports it */
	assert_int_equal(fs_write_file_atomic(path, "tampered", 8, 0644, false), 0);
	assert_int_equal(store_blob_read(s, d, 1024, &back, &len, &e), -1);
	assert_non_null(strstr(e->msg, "digest mismatch"));
	hull_error_clear(&e);
	json_t *rep = NULL;
	assert_true(check_errors(s, false, &rep) >= 1);
	json_decref(rep);
	/* adopt a staged file */
	char *tmp = NULL;
	CHECK_OK(store_tmp_dir(s, &tmp, &e_));
	char staged[PATH_MAX];
	snprintf(staged, sizeof(staged), "%s/blob", tmp);
	assert_int_equal(fs_write_file_atomic(staged, "adopted", 7, 0644, false), 0);
	digest_buffer("adopted", 7, d);
	CHECK_OK(store_blob_adopt(s, staged, d, &e_));
	assert_true(store_blob_exists(s, d));
	assert_int_equal(store_blob_adopt(s, "/etc/passwd", d, &e), -1);
	hull_error_clear(&e);
	assert_int_equal(store_tmp_remove(s, tmp), 0);
	assert_false(path_exists("%s", tmp));
	free(tmp);
	free(path);
	/* the pinned-but-unused blobs are collected when we close */
	store_close(s);
	s = open_store();
	CHECK_OK(store_gc(s, &e_));
	assert_int_equal(count_dir("blobs/sha256"), 0);
	store_close(s);
}

static void read_layer_file(struct image_store *s, const char *chain, const char *rel, char *buf, size_t n)
{
	char *dir = NULL;
	CHECK_OK(store_layer_path(s, chain, &dir, &e_));
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	free(dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	assert_true(r >= 0);
	buf[r] = '\0';
}

static void test_layers(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	int fd = tar_fd(BASE, ARRAY_SIZE(BASE), true);
	char blob_d[DIGEST_SHA256_LEN + 1];
	fd_digest(fd, blob_d);
	/* wrong expected digests: refused, nothing left */
	struct layer_info *l = NULL;
	hull_error *e = NULL;
	const char *bogus = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(store_layer_create(s, NULL, fd, NULL, bogus, NULL, &l, &e), -1);
	assert_non_null(strstr(e->msg, "digest mismatch"));
	hull_error_clear(&e);
	assert_int_equal(count_dir(layers_dir()), 0);
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(count_dir("blobs/sha256"), 0);
	lseek(fd, 0, SEEK_SET);
	CHECK_OK(store_layer_create(s, NULL, fd, NULL, blob_d, NULL, &l, &e_));
	close(fd);
	assert_string_equal(l->blob_digest, blob_d);
	assert_string_equal(l->chain_id, l->diff_id); /* base layer: chain id = diff id */
	assert_null(l->parent);
	assert_string_equal(l->media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_true(store_blob_exists(s, blob_d));
	/* the blob is kept as received */
	char *bp = store_blob_path(s, blob_d);
	int bfd = open(bp, O_RDONLY | O_CLOEXEC);
	char got[DIGEST_SHA256_LEN + 1];
	fd_digest(bfd, got);
	close(bfd);
	free(bp);
	assert_string_equal(got, blob_d);
	char buf[256];
	read_layer_file(s, l->chain_id, "etc/hostname", buf, sizeof(buf));
	assert_string_equal(buf, "base\n");
	char *dir = NULL;
	CHECK_OK(store_layer_path(s, l->chain_id, &dir, &e_));
	struct stat a, b;
	char p1[PATH_MAX], p2[PATH_MAX];
	snprintf(p1, sizeof(p1), "%s/bin/tool", dir);
	snprintf(p2, sizeof(p2), "%s/bin/tool2", dir);
	assert_int_equal(lstat(p1, &a), 0);
	assert_int_equal(lstat(p2, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	if (geteuid() == 0)
		assert_int_equal(a.st_mode & 07777, 04755);
	free(dir);

	/* a child: chain id = sha256(parent + " " + diff id) */
	struct layer_info *top = make_layer(s, l->chain_id, TOP, ARRAY_SIZE(TOP), false);
	char want[DIGEST_SHA256_LEN + 1];
	digest_chain_id(l->chain_id, top->diff_id, want);
	assert_string_equal(top->chain_id, want);
	assert_string_equal(top->parent, l->chain_id);
	assert_string_equal(top->media_type, "application/vnd.oci.image.layer.v1.tar");
	read_layer_file(s, top->chain_id, "etc/hostname", buf, sizeof(buf));
	assert_string_equal(buf, "top\n");
	CHECK_OK(store_layer_path(s, top->chain_id, &dir, &e_));
	if (strcmp(cur_driver, "vfs") == 0) {
		/* full root: the parent's files, whiteouts applied */
		assert_true(path_exists("%s/etc/passwd", dir));
		assert_true(path_exists("%s/bin/sh", dir));
		assert_false(path_exists("%s/gone", dir));
		assert_false(path_exists("%s/opq/old", dir));
		assert_true(path_exists("%s/opq/new", dir));
		snprintf(p1, sizeof(p1), "%s/bin/tool", dir);
		snprintf(p2, sizeof(p2), "%s/bin/tool2", dir);
		assert_int_equal(lstat(p1, &a), 0);
		assert_int_equal(lstat(p2, &b), 0);
		assert_int_equal(a.st_ino, b.st_ino); /* hardlinks kept in the copy */
		if (geteuid() == 0)
			assert_int_equal(a.st_mode & 07777, 04755);
		char t[64];
		snprintf(p1, sizeof(p1), "%s/bin/sh", dir);
		ssize_t n = readlink(p1, t, sizeof(t) - 1);
		assert_true(n > 0);
		t[n] = '\0';
		assert_string_equal(t, "/bin/tool");
		/* xattrs, owners and times come along */
		snprintf(p1, sizeof(p1), "%s/etc/passwd", dir);
		n = lgetxattr(p1, "user.hull", t, sizeof(t) - 1);
		assert_true(n >= 0 || errno == ENOTSUP);
		if (n >= 0) {
			t[n] = '\0';
			assert_string_equal(t, "kept");
		}
		assert_int_equal(lstat(p1, &a), 0);
		assert_int_equal(a.st_mtime, 1000000);
		snprintf(p1, sizeof(p1), "%s/etc/owned", dir);
		assert_int_equal(lstat(p1, &a), 0);
		assert_int_equal(a.st_mode & 07777, 0600);
		if (geteuid() == 0)
			assert_int_equal(a.st_uid, 1234);
	} else {
		/* the diff only, whiteouts as overlay wants them */
		assert_false(path_exists("%s/etc/passwd", dir));
		snprintf(p1, sizeof(p1), "%s/gone", dir);
		assert_int_equal(lstat(p1, &a), 0);
		assert_true(S_ISCHR(a.st_mode));
		assert_int_equal(a.st_rdev, 0);
	}
	free(dir);

	if (geteuid() == 0) {
		struct layer_info *dev = make_layer(s, NULL, DEV, ARRAY_SIZE(DEV), false);
		struct layer_info *above = make_layer(s, dev->chain_id, TOP, ARRAY_SIZE(TOP), false);
		CHECK_OK(store_layer_path(s, above->chain_id, &dir, &e_));
		snprintf(p1, sizeof(p1), "%s/dev/null", dir);
		bool vfs = strcmp(cur_driver, "vfs") == 0;
		assert_int_equal(lstat(p1, &a) == 0, vfs);
		if (vfs) {
			assert_true(S_ISCHR(a.st_mode));
			assert_int_equal(a.st_rdev, makedev(1, 3));
		}
		free(dir);
		layer_info_free(dev);
		layer_info_free(above);
	}
	/* the same layer again: deduplicated, one directory */
	struct layer_info *again = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), true);
	assert_string_equal(again->chain_id, l->chain_id);
	assert_int_equal(count_dir(layers_dir()), geteuid() == 0 ? 4 : 2);
	/* with the diff id known up front, nothing is read */
	int fd2 = tar_fd(BASE, ARRAY_SIZE(BASE), true);
	struct layer_info *fast = NULL;
	CHECK_OK(store_layer_create(s, NULL, fd2, NULL, NULL, l->diff_id, &fast, &e_));
	assert_int_equal(lseek(fd2, 0, SEEK_CUR), 0);
	assert_string_equal(fast->chain_id, l->chain_id);
	close(fd2);
	/* unknown parent */
	fd2 = tar_fd(TOP, ARRAY_SIZE(TOP), false);
	struct layer_info *kept = fast;
	assert_int_equal(store_layer_create(s, bogus, fd2, NULL, NULL, NULL, &fast, &e), -1);
	assert_ptr_equal(fast, kept); /* untouched on failure */
	assert_non_null(strstr(e->msg, "not known"));
	hull_error_free(e);
	close(fd2);
	struct layer_info *got_l = NULL;
	CHECK_OK(store_layer_get(s, top->chain_id, &got_l, &e_));
	assert_non_null(got_l);
	assert_string_equal(got_l->diff_id, top->diff_id);
	layer_info_free(got_l);
	CHECK_OK(store_layer_get(s, bogus, &got_l, &e_));
	assert_null(got_l);
	layer_info_free(fast);
	layer_info_free(again);
	layer_info_free(top);
	layer_info_free(l);
	assert_int_equal(check_errors(s, false, NULL), 0);
	store_close(s);
	/* nothing used them: collected at close */
	assert_int_equal(count_dir(layers_dir()), 0);
	assert_int_equal(count_dir("blobs/sha256"), 0);
}

static void assert_lookup(struct image_store *s, const char *q, const char *want_id)
{
	struct image_record *r = NULL;
	hull_error *e = NULL;
	int rc = store_image_lookup(s, q, &r, &e);
	if (rc < 0)
		fprintf(stderr, "lookup '%s': %s\n", q, e->msg);
	hull_error_free(e);
	assert_int_equal(rc, 0);
	assert_string_equal(r->id, want_id);
	image_record_free(r);
}

static void assert_not_found(struct image_store *s, const char *q)
{
	struct image_record *r = NULL;
	hull_error *e = NULL;
	assert_int_equal(store_image_lookup(s, q, &r, &e), -1);
	assert_int_equal(e->status, ENOENT);
	assert_non_null(strstr(e->msg, "image not known"));
	hull_error_free(e);
}

static void test_images(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	struct layer_info *ls[2];
	ls[0] = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), false);
	ls[1] = make_layer(s, ls[0]->chain_id, TOP, ARRAY_SIZE(TOP), false);
	struct image_record *a = make_image(s, ls, 2, "a", "docker.io/library/busybox:latest");
	struct image_record *b = make_image(s, ls, 1, "b", "bb:1");
	assert_string_equal(a->names[0], "docker.io/library/busybox:latest");
	assert_null(a->names[1]);
	assert_string_equal(b->names[0], "localhost/bb:1");
	assert_string_equal(a->layers[0], ls[0]->chain_id);
	assert_string_equal(a->layers[1], ls[1]->chain_id);
	assert_null(a->layers[2]);
	assert_string_equal(a->created, "2020-01-02T03:04:05Z");
	assert_int_equal(a->size, ls[0]->unpacked_size + ls[1]->unpacked_size);
	assert_true(strlen(a->added) > 20);
	char rd[160];
	snprintf(rd, sizeof(rd), "docker.io/library/busybox@%s", a->manifest_digest);
	assert_string_equal(a->digests[0], rd);
	/* lookups */
	assert_lookup(s, a->id, a->id);
	assert_lookup(s, a->id + 7, a->id);
	assert_lookup(s, "docker.io/library/busybox:latest", a->id);
	assert_lookup(s, "docker.io/busybox", a->id);
	assert_lookup(s, "busybox", a->id);
	assert_lookup(s, "busybox:latest", a->id);
	assert_lookup(s, "library/busybox", a->id);
	assert_lookup(s, "bb:1", b->id);
	assert_lookup(s, "localhost/bb:1", b->id);
	assert_lookup(s, rd, a->id);
	snprintf(rd, sizeof(rd), "busybox@%s", a->manifest_digest);
	assert_lookup(s, rd, a->id);
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "%.12s", a->id + 7);
	assert_lookup(s, prefix, a->id);
	snprintf(prefix, sizeof(prefix), "sha256:%.5s", a->id + 7);
	assert_lookup(s, prefix, a->id);
	assert_not_found(s, "bb");       /* bb:latest */
	assert_not_found(s, "busybox:2");
	assert_not_found(s, "quay.io/busybox");
	assert_not_found(s, "");
	snprintf(rd, sizeof(rd), "bb@%s", a->manifest_digest);
	assert_not_found(s, rd);
	/* ambiguous id prefix: make ids until two share a first hex digit */
	struct image_record *more[16];
	size_t nm = 0;
	bool amb = a->id[7] == b->id[7];
	char first = a->id[7];
	for (; !amb && nm < 16; nm++) {
		char u[8];
		snprintf(u, sizeof(u), "m%zu", nm);
		more[nm] = make_image(s, ls, 1, u, NULL);
		amb = more[nm]->id[7] == first || more[nm]->id[7] == b->id[7];
		if (more[nm]->id[7] == b->id[7])
			first = b->id[7];
	}
	assert_true(amb);
	/* three hex digits at least: use the whole common prefix length */
	struct image_record **list = NULL;
	size_t n = 0;
	CHECK_OK(store_image_list(s, &list, &n, &e_));
	assert_int_equal(n, 2 + nm);
	assert_string_equal(list[0]->id, a->id);
	assert_string_equal(list[1]->id, b->id);
	assert_string_equal(list[0]->names[0], "docker.io/library/busybox:latest");
	assert_string_equal(list[0]->layers[1], ls[1]->chain_id);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			size_t k = 7;
			while (list[i]->id[k] == list[j]->id[k])
				k++;
			if (k - 7 >= 3) {
				char pre[80];
				snprintf(pre, sizeof(pre), "%.*s", (int)(k - 7), list[i]->id + 7);
				struct image_record *r = NULL;
				hull_error *e = NULL;
				assert_int_equal(store_image_lookup(s, pre, &r, &e), -1);
				assert_non_null(strstr(e->msg, "matches several images"));
				hull_error_free(e);
			}
		}
	image_record_list_free(list, n);
	/* short name matching two repositories is ambiguous */
	struct image_record *c = make_image(s, ls, 1, "c", "quay.io/x/busybox:latest");
	struct image_record *r = NULL;
	hull_error *e = NULL;
	assert_int_equal(store_image_lookup(s, "busybox", &r, &e), -1);
	assert_non_null(strstr(e->msg, "several images"));
	hull_error_clear(&e);
	/* but a localhost one is exact, and wins */
	struct image_record *d = make_image(s, ls, 1, "d", "busybox");
	assert_lookup(s, "busybox", d->id);
	/* config and manifest */
	json_t *j = NULL;
	CHECK_OK(store_image_config(s, a, &j, &e_));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "config"), "Labels"),
							      "unique")),
			    "a");
	json_decref(j);
	CHECK_OK(store_image_manifest(s, a, &j, &e_));
	assert_int_equal(json_integer_value(json_object_get(j, "schemaVersion")), 2);
	json_decref(j);
	/* creating an existing image adds names */
	struct image_record *a2 = make_image(s, ls, 2, "a", "extra:1");
	assert_string_equal(a2->id, a->id);
	assert_string_equal(a2->names[1], "localhost/extra:1");
	/* layers that are not a chain are refused */
	char *bad[] = { ls[1]->chain_id, NULL };
	assert_int_equal(store_image_create(s, a->id, a->manifest_digest, NULL, bad, NULL, &r, &e), -1);
	assert_non_null(strstr(e->msg, "not the child"));
	hull_error_clear(&e);
	for (size_t i = 0; i < nm; i++)
		image_record_free(more[i]);
	image_record_free(a2);
	image_record_free(c);
	image_record_free(d);
	image_record_free(a);
	image_record_free(b);
	layer_info_free(ls[0]);
	layer_info_free(ls[1]);
	assert_int_equal(check_errors(s, false, NULL), 0);
	store_close(s);
}

static void test_tag_untag(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	struct layer_info *l = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), false);
	struct image_record *a = make_image(s, &l, 1, "a", "app:1");
	struct image_record *b = make_image(s, &l, 1, "b", "app:2");
	CHECK_OK(store_image_tag(s, a->id, "app:latest", &e_));
	assert_lookup(s, "app", a->id);
	/* moving a name */
	CHECK_OK(store_image_tag(s, "app:2", "app:latest", &e_));
	assert_lookup(s, "app", b->id);
	struct image_record *r = NULL;
	CHECK_OK(store_image_lookup(s, a->id, &r, &e_));
	assert_string_equal(r->names[0], "localhost/app:1");
	assert_null(r->names[1]);
	image_record_free(r);
	hull_error *e = NULL;
	assert_int_equal(store_image_tag(s, a->id, "Bad Name", &e), -1);
	hull_error_clear(&e);
	assert_int_equal(store_image_tag(s, "nosuch", "x:1", &e), -1);
	assert_int_equal(e->status, ENOENT);
	hull_error_clear(&e);
	/* untag one name (short form), then all */
	CHECK_OK(store_image_untag(s, b->id, "app", &e_));
	assert_not_found(s, "app");
	assert_lookup(s, "app:2", b->id);
	assert_int_equal(store_image_untag(s, b->id, "app:9", &e), -1);
	hull_error_clear(&e);
	CHECK_OK(store_image_untag(s, b->id, NULL, &e_));
	assert_not_found(s, "app:2");
	CHECK_OK(store_image_lookup(s, b->id, &r, &e_));
	assert_null(r->names[0]); /* dangling, still there */
	assert_null(r->digests[0]);
	image_record_free(r);
	image_record_free(a);
	image_record_free(b);
	layer_info_free(l);
	store_close(s);
}

static void test_remove_gc_holds(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	struct layer_info *ls[3];
	ls[0] = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), false);
	ls[1] = make_layer(s, ls[0]->chain_id, TOP, ARRAY_SIZE(TOP), false);
	static const struct tent OTHER[] = { { "other", 'f', "other", 0 } };
	ls[2] = make_layer(s, ls[0]->chain_id, OTHER, 1, false);
	struct layer_info *lb[2] = { ls[0], ls[2] };
	struct image_record *a = make_image(s, ls, 2, "a", "a:1");
	struct image_record *b = make_image(s, lb, 2, "b", "b:1");
	assert_int_equal(count_dir(layers_dir()), 3);
	size_t blobs_before = count_dir("blobs/sha256");
	assert_int_equal(blobs_before, 3 + 4);
	struct store_usage u;
	CHECK_OK(store_usage(s, &u, &e_));
	assert_int_equal(u.images, 2);
	assert_int_equal(u.layers, 3);
	assert_int_equal(u.images_active, 0);
	assert_int_equal(u.images_size, ls[0]->unpacked_size + ls[1]->unpacked_size + ls[2]->unpacked_size);
	assert_true(u.blobs_size > 0);
	/* holds block removal */
	CHECK_OK(store_image_hold(s, a->id, "ctr1", &e_));
	CHECK_OK(store_image_hold(s, "a:1", "ctr2", &e_));
	size_t n = 0;
	CHECK_OK(store_image_holders(s, a->id, &n, &e_));
	assert_int_equal(n, 2);
	CHECK_OK(store_usage(s, &u, &e_));
	assert_int_equal(u.images_active, 1);
	assert_int_equal(u.images_reclaimable, ls[2]->unpacked_size);
	hull_error *e = NULL;
	assert_int_equal(store_image_remove(s, a->id, false, &e), -1);
	assert_int_equal(e->status, EBUSY);
	assert_non_null(strstr(e->msg, "in use by 2 containers"));
	hull_error_clear(&e);
	CHECK_OK(store_image_release(s, "ctr1", &e_));
	CHECK_OK(store_image_release(s, "ctr2", &e_));
	CHECK_OK(store_image_holders(s, a->id, &n, &e_));
	assert_int_equal(n, 0);
	/* remove a: its top layer, config, manifest and blob go; the shared base stays */
	CHECK_OK(store_image_remove(s, "a:1", false, &e_));
	assert_not_found(s, "a:1");
	assert_int_equal(count_dir(layers_dir()), 2);
	assert_false(store_blob_exists(s, a->id));
	assert_false(store_blob_exists(s, a->manifest_digest));
	assert_false(store_blob_exists(s, ls[1]->blob_digest));
	assert_true(store_blob_exists(s, ls[0]->blob_digest));
	assert_int_equal(count_dir("blobs/sha256"), blobs_before - 3);
	assert_int_equal(count_dir("tmp"), 0);
	struct layer_info *gone = NULL;
	CHECK_OK(store_layer_get(s, ls[1]->chain_id, &gone, &e_));
	assert_null(gone);
	/* forced removal of a held image */
	CHECK_OK(store_image_hold(s, b->id, "ctr3", &e_));
	CHECK_OK(store_image_remove(s, b->id, true, &e_));
	assert_int_equal(count_dir(layers_dir()), 0);
	assert_int_equal(count_dir("blobs/sha256"), 0);
	assert_int_equal(store_image_remove(s, b->id, false, &e), -1);
	assert_int_equal(e->status, ENOENT);
	hull_error_free(e);
	CHECK_OK(store_gc(s, &e_));
	assert_int_equal(check_errors(s, false, NULL), 0);
	for (int i = 0; i < 3; i++)
		layer_info_free(ls[i]);
	image_record_free(a);
	image_record_free(b);
	store_close(s);
}

/* A child that publishes one layer and is killed at point. */
static int crash_child(const char *point, bool with_image)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct image_store *s = open_store();
		if (!s)
			_exit(2);
		int fd = tar_fd(BASE, ARRAY_SIZE(BASE), false);
		struct layer_info *l = NULL;
		hull_error *e = NULL;
		if (with_image) {
			if (store_layer_create(s, NULL, fd, NULL, NULL, NULL, &l, &e) < 0)
				_exit(3);
			char *names[] = { (char *)"crash:1", NULL };
			struct image_record *r = make_image_full(s, &l, 1, "crash", names, &e);
			if (!r)
				_exit(4);
			setenv("HULL_TEST_CRASH_AT", point, 1);
			store_image_remove(s, r->id, false, &e);
			_exit(5);
		}
		setenv("HULL_TEST_CRASH_AT", point, 1);
		store_layer_create(s, NULL, fd, NULL, NULL, NULL, &l, &e);
		_exit(6); /* not reached: killed at the point */
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

static void test_crash_publish(void **state)
{
	(void)state;
	NEED_DRIVER();
	/* killed after the dirty marker and the renames, before the commit */
	assert_int_equal(crash_child("layer-renamed", false), 0);
	assert_true(path_exists("%s/dirty", test_root));
	assert_int_equal(count_dir(layers_dir()), 1); /* the orphan */
	assert_int_equal(count_dir("blobs/sha256"), 1);
	struct image_store *s = open_store();
	CHECK_OK(store_lock(s, &e_)); /* sweeps */
	store_unlock(s);
	assert_false(path_exists("%s/dirty", test_root));
	assert_int_equal(count_dir(layers_dir()), 0);
	assert_int_equal(count_dir("blobs/sha256"), 0);
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(check_errors(s, false, NULL), 0);
	store_close(s);

	/* killed after the commit: a layer no image uses, pinned by a dead
	 * process; the next locker collects it */
	assert_int_equal(crash_child("layer-committed", false), 0);
	s = open_store();
	assert_int_equal(count_dir(layers_dir()), 1);
	CHECK_OK(store_lock(s, &e_));
	store_unlock(s);
	assert_int_equal(count_dir(layers_dir()), 0);
	assert_int_equal(count_dir("blobs/sha256"), 0);
	assert_int_equal(check_errors(s, false, NULL), 0);
	store_close(s);

	/* killed in rmi after the commit, before the files are gone */
	assert_int_equal(crash_child("remove-committed", true), 0);
	assert_true(path_exists("%s/dirty", test_root));
	assert_int_equal(count_dir(layers_dir()), 1);
	s = open_store();
	assert_not_found(s, "crash:1");
	assert_int_equal(check_errors(s, false, NULL), 0); /* check locks, so sweeps first */
	assert_int_equal(count_dir(layers_dir()), 0);
	assert_int_equal(count_dir("blobs/sha256"), 0);
	store_close(s);

	/* a stale staging entry of a dead process goes too */
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/tmp/999999999-1-1", test_root);
	assert_int_equal(fs_mkdir_p(p, 0700), 0);
	s = open_store();
	CHECK_OK(store_lock(s, &e_));
	store_unlock(s);
	assert_false(path_exists("%s", p));
	store_close(s);
}

static void test_check_repair(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	struct layer_info *ls[2];
	ls[0] = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), false);
	ls[1] = make_layer(s, ls[0]->chain_id, TOP, ARRAY_SIZE(TOP), false);
	struct image_record *a = make_image(s, ls, 2, "a", "a:1");
	struct image_record *b = make_image(s, ls, 1, "b", "b:1");
	json_t *rep = NULL;
	assert_int_equal(check_errors(s, false, &rep), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "images")), 2);
	assert_int_equal(json_integer_value(json_object_get(rep, "layers")), 2);
	assert_int_equal(json_integer_value(json_object_get(rep, "blobs")), 6);
	json_decref(rep);
	/* break the top layer's directory, corrupt a's config, add an orphan */
	char *dir = NULL;
	CHECK_OK(store_layer_path(s, ls[1]->chain_id, &dir, &e_));
	assert_int_equal(fs_rm_rf(dir), 0);
	free(dir);
	char *cp = store_blob_path(s, b->id);
	assert_int_equal(fs_write_file_atomic(cp, "{}", 2, 0644, false), 0);
	free(cp);
	char orphan[PATH_MAX];
	snprintf(orphan, sizeof(orphan), "%s/%s/%064d", test_root, layers_dir(), 7);
	assert_int_equal(fs_mkdir_p(orphan, 0700), 0);
	assert_true(check_errors(s, false, NULL) >= 4);
	assert_true(check_errors(s, true, &rep) >= 4);
	assert_true(json_array_size(json_object_get(rep, "repaired")) >= 4);
	json_decref(rep);
	assert_int_equal(check_errors(s, false, &rep), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "images")), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "layers")), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "blobs")), 0);
	json_decref(rep);
	assert_false(path_exists("%s", orphan));
	image_record_free(a);
	image_record_free(b);
	layer_info_free(ls[0]);
	layer_info_free(ls[1]);
	store_close(s);
}

#define PAR 20

static int par_child(int i)
{
	struct image_store *s = open_store();
	if (!s)
		return 10;
	hull_error *e = NULL;
	int rc = 0;
	struct layer_info *ls[2] = { NULL, NULL };
	int fd = tar_fd(BASE, ARRAY_SIZE(BASE), false);
	char content[32], name[32], uniq[16];
	snprintf(content, sizeof(content), "child %d\n", i);
	struct tent top[] = { { "etc", 'd', NULL, 0 }, { "etc/child", 'f', content, 0 } };
	int fd2 = tar_fd(top, 2, false);
	snprintf(name, sizeof(name), "par:%d", i);
	snprintf(uniq, sizeof(uniq), "u%d", i);
	char *names[] = { name, NULL };
	struct image_record *r = NULL;
	if (store_layer_create(s, NULL, fd, NULL, NULL, NULL, &ls[0], &e) < 0)
		rc = 11;
	else if (store_layer_create(s, ls[0]->chain_id, fd2, NULL, NULL, NULL, &ls[1], &e) < 0)
		rc = 12;
	else if (!(r = make_image_full(s, ls, 2, uniq, names, &e)))
		rc = 13;
	else if (store_image_tag(s, r->id, "par:shared", &e) < 0)
		rc = 14;
	else {
		struct image_record *got = NULL;
		if (store_image_lookup(s, name, &got, &e) < 0 || strcmp(got->id, r->id) != 0)
			rc = 15;
		image_record_free(got);
		struct image_record **list = NULL;
		size_t n = 0;
		if (rc == 0 && store_image_list(s, &list, &n, &e) < 0)
			rc = 16;
		image_record_list_free(list, n);
		/* even children remove their own image (by id: the name may move) */
		if (rc == 0 && i % 2 == 0 && store_image_remove(s, r->id, false, &e) < 0)
			rc = 17;
	}
	if (rc)
		fprintf(stderr, "child %d: step %d: %s\n", i, rc, e ? e->msg : "?");
	hull_error_free(e);
	image_record_free(r);
	layer_info_free(ls[0]);
	layer_info_free(ls[1]);
	close(fd);
	close(fd2);
	store_close(s);
	return rc;
}

static void test_parallel(void **state)
{
	(void)state;
	NEED_DRIVER();
	/* the store does not exist yet: the children race to create it too */
	struct image_store *s = NULL;
	pid_t pids[PAR];
	for (int i = 0; i < PAR; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(par_child(i));
	}
	int failures = 0;
	for (int i = 0; i < PAR; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	assert_int_equal(failures, 0);
	s = open_store();
	struct image_record **list = NULL;
	size_t n = 0;
	CHECK_OK(store_image_list(s, &list, &n, &e_));
	assert_int_equal(n, PAR / 2);
	image_record_list_free(list, n);
	/* base + one top per remaining image */
	assert_int_equal(count_dir(layers_dir()), 1 + PAR / 2);
	assert_int_equal(check_errors(s, false, NULL), 0);
	store_close(s);
}

static void test_mount(void **state)
{
	(void)state;
	NEED_DRIVER();
	if (geteuid() != 0) {
		fprintf(stderr, "skip: image mount needs root\n");
		skip();
	}
	struct image_store *s = open_store();
	struct layer_info *ls[2];
	ls[0] = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), false);
	ls[1] = make_layer(s, ls[0]->chain_id, TOP, ARRAY_SIZE(TOP), false);
	struct image_record *a = make_image(s, ls, 2, "a", "m:1");
	struct image_record *b = make_image(s, ls, 1, "b", "m:base");
	for (int legacy = 0; legacy < 2; legacy++) {
		if (legacy)
			setenv("HULL_TEST_NO_LOWERDIR_PLUS", "1", 1);
		char *p1 = NULL, *p2 = NULL;
		CHECK_OK(store_image_mount(s, "m:1", &p1, &e_));
		CHECK_OK(store_image_mount(s, a->id, &p2, &e_));
		assert_string_equal(p1, p2);
		char f[PATH_MAX];
		snprintf(f, sizeof(f), "%s/etc/hostname", p1);
		char buf[64] = { 0 };
		int fd = open(f, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
		close(fd);
		assert_string_equal(buf, "top\n");
		assert_true(path_exists("%s/etc/passwd", p1));
		assert_false(path_exists("%s/gone", p1));
		assert_false(path_exists("%s/opq/old", p1));
		assert_true(path_exists("%s/opq/new", p1));
		/* read-only */
		snprintf(f, sizeof(f), "%s/newfile", p1);
		assert_true(open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
		/* a mounted image is not removed */
		hull_error *e = NULL;
		assert_int_equal(store_image_remove(s, a->id, false, &e), -1);
		assert_int_equal(e->status, EBUSY);
		hull_error_clear(&e);
		/* counted: the first unmount keeps it */
		CHECK_OK(store_image_unmount(s, a->id, false, &e_));
		assert_true(path_exists("%s/etc/passwd", p1));
		CHECK_OK(store_image_unmount(s, a->id, false, &e_));
		assert_false(path_exists("%s/etc/passwd", p1));
		assert_int_equal(store_image_unmount(s, a->id, false, &e), -1);
		hull_error_clear(&e);
		/* one layer */
		char *p3 = NULL;
		CHECK_OK(store_image_mount(s, b->id, &p3, &e_));
		assert_true(path_exists("%s/gone/x", p3));
		CHECK_OK(store_image_unmount(s, b->id, true, &e_));
		free(p1);
		free(p2);
		free(p3);
		unsetenv("HULL_TEST_NO_LOWERDIR_PLUS");
	}
	char *p = NULL;
	CHECK_OK(store_image_mount(s, a->id, &p, &e_));
	CHECK_OK(store_image_remove(s, a->id, true, &e_));
	assert_false(path_exists("%s/etc", p));
	free(p);
	image_record_free(a);
	image_record_free(b);
	layer_info_free(ls[0]);
	layer_info_free(ls[1]);
	store_close(s);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_timing_200(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store();
	struct layer_info *l = make_layer(s, NULL, BASE, ARRAY_SIZE(BASE), false);
	double t0 = now_ms();
	char **ids = calloc(200, sizeof(char *));
	for (int i = 0; i < 200; i++) {
		char u[16], name[48];
		snprintf(u, sizeof(u), "i%d", i);
		snprintf(name, sizeof(name), "docker.io/library/img%d:latest", i);
		struct image_record *r = make_image(s, &l, 1, u, name);
		ids[i] = strdup(r->id);
		image_record_free(r);
	}
	double t_create = now_ms() - t0;
	store_close(s);
	t0 = now_ms();
	s = open_store();
	double t_open = now_ms() - t0;
	t0 = now_ms();
	struct image_record **list = NULL;
	size_t n = 0;
	CHECK_OK(store_image_list(s, &list, &n, &e_));
	double t_list = now_ms() - t0;
	assert_int_equal(n, 200);
	image_record_list_free(list, n);
	t0 = now_ms();
	for (int i = 0; i < 200; i++) {
		char q[32];
		snprintf(q, sizeof(q), "img%d", i);
		struct image_record *r = NULL;
		CHECK_OK(store_image_lookup(s, q, &r, &e_));
		image_record_free(r);
	}
	double t_short = (now_ms() - t0) / 200;
	t0 = now_ms();
	for (int i = 0; i < 200; i++) {
		char q[16];
		snprintf(q, sizeof(q), "%.12s", ids[i] + 7);
		struct image_record *r = NULL;
		CHECK_OK(store_image_lookup(s, q, &r, &e_));
		image_record_free(r);
	}
	double t_prefix = (now_ms() - t0) / 200;
	t0 = now_ms();
	json_t *rep = NULL;
	CHECK_OK(store_check(s, false, &rep, &e_));
	double t_check = now_ms() - t0;
	json_decref(rep);
	t0 = now_ms();
	for (int i = 0; i < 200; i++)
		CHECK_OK(store_image_remove(s, ids[i], false, &e_));
	double t_rm = (now_ms() - t0) / 200;
	fprintf(stderr,
		"timing (%s, 200 images): create %.2f ms/image, open %.2f ms, list %.2f ms, short-name lookup "
		"%.3f ms, id-prefix lookup %.3f ms, check %.1f ms, remove %.2f ms/image\n",
		cur_driver, t_create / 200, t_open, t_list, t_short, t_prefix, t_check, t_rm);
	/* the target is `hull images` under 20 ms with 200 images:
	 * listing is a small part of it (sanitizer builds are slower) */
#ifdef __SANITIZE_ADDRESS__
	assert_true(t_list < 500);
#else
	assert_true(t_list < 20);
#endif
	for (int i = 0; i < 200; i++)
		free(ids[i]);
	free(ids);
	layer_info_free(l);
	store_close(s);
	assert_int_equal(count_dir(layers_dir()), 0);
}

#define DRIVER_TESTS(d)                                                             \
	cmocka_unit_test_prestate_setup_teardown(test_open_close, setup, teardown, d), \
	cmocka_unit_test_prestate_setup_teardown(test_blobs, setup, teardown, d),       \
	cmocka_unit_test_prestate_setup_teardown(test_layers, setup, teardown, d),      \
	cmocka_unit_test_prestate_setup_teardown(test_images, setup, teardown, d),      \
	cmocka_unit_test_prestate_setup_teardown(test_tag_untag, setup, teardown, d),   \
	cmocka_unit_test_prestate_setup_teardown(test_remove_gc_holds, setup, teardown, d), \
	cmocka_unit_test_prestate_setup_teardown(test_crash_publish, setup, teardown, d),   \
	cmocka_unit_test_prestate_setup_teardown(test_check_repair, setup, teardown, d),    \
	cmocka_unit_test_prestate_setup_teardown(test_parallel, setup, teardown, d),        \
	cmocka_unit_test_prestate_setup_teardown(test_mount, setup, teardown, d)

int main(void)
{
	const struct CMUnitTest vfs_tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_resolve_opts, setup, teardown, (void *)"vfs"),
		DRIVER_TESTS((void *)"vfs"),
		/* the metadata side does not depend on the driver: timed once */
		cmocka_unit_test_prestate_setup_teardown(test_timing_200, setup, teardown, (void *)"vfs"),
	};
	const struct CMUnitTest overlay_tests[] = {
		DRIVER_TESTS((void *)"overlay"),
	};
	const char *filter = getenv("HULL_TEST_FILTER");
	if (filter)
		cmocka_set_test_filter(filter);
	int r = cmocka_run_group_tests_name("store (vfs)", vfs_tests, NULL, NULL);
	r += cmocka_run_group_tests_name("store (overlay)", overlay_tests, NULL, NULL);
	return r;
}
