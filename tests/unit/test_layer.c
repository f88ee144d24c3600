/* Unit tests for src/image/layer.c: extraction of untrusted layers and
 * packing of directories.
 *
 * Every layer is built here with libarchive's write API (or by hand, for a
 * header that lies) into a memfd, so no binary fixtures are kept.  Each test
 * gets a fresh directory T with T/layer (the extraction root) and beside it
 * T/sentinel/secret; the malicious suite checks after each refused archive
 * that T, T/sentinel and T/sentinel/secret are exactly as they were.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"

#define SENTINEL_MTIME 1000000
#define SECRET "secret-content"

static char tmpdir[256];
static char layer_path[300];
static char sentinel_path[300];
static int layer_fd = -1;

/* ------------------------------------------------------------------------
 * Fixture: T/layer and T/sentinel/secret.
 */

static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hull-test-layer-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(layer_path, sizeof(layer_path), "%s/layer", tmpdir);
	snprintf(sentinel_path, sizeof(sentinel_path), "%s/sentinel", tmpdir);
	char p[400];
	if (mkdir(layer_path, 0755) < 0 || mkdir(sentinel_path, 0755) < 0 || chmod(sentinel_path, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/secret", sentinel_path);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, SECRET, strlen(SECRET)) != (ssize_t)strlen(SECRET) || fchmod(fd, 0644) < 0)
		return -1;
	close(fd);
	struct timespec ts[2] = { { SENTINEL_MTIME, 0 }, { SENTINEL_MTIME, 0 } };
	if (utimensat(AT_FDCWD, p, ts, 0) < 0 || utimensat(AT_FDCWD, sentinel_path, ts, 0) < 0)
		return -1;
	layer_fd = open(layer_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return layer_fd < 0 ? -1 : 0;
}

static int make_writable(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (layer_fd >= 0)
		close(layer_fd);
	layer_fd = -1;
	/* without root, read-only directories the archives made block removal */
	if (geteuid() != 0)
		nftw(tmpdir, make_writable, 16, FTW_PHYS);
	fs_rm_rf(tmpdir);
	return 0;
}

static char *tpath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tpath(const char *fmt, ...)
{
	static char buf[4][800];
	static int i;
	char rel[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", layer_path, rel);
	return buf[i];
}

static int dir_count(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Nothing beside the layer was created, removed, linked or changed. */
static void assert_sentinel_intact(void)
{
	struct stat st;
	char p[400], buf[64] = { 0 };
	assert_int_equal(dir_count(tmpdir), 2);
	assert_int_equal(lstat(sentinel_path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mtim.tv_sec, SENTINEL_MTIME); /* nothing made or removed in it */
	assert_int_equal(dir_count(sentinel_path), 1);
	assert_int_equal(getxattr(sentinel_path, "trusted.overlay.opaque", buf, sizeof(buf)), -1);
	snprintf(p, sizeof(p), "%s/secret", sentinel_path);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_mtim.tv_sec, SENTINEL_MTIME);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(SECRET));
	close(fd);
	assert_string_equal(buf, SECRET);
}

/* ------------------------------------------------------------------------
 * Building layers.
 */

struct ent {
	const char *name;
	mode_t mode;          /* S_IFxxx | perm; 0 with hardlink set */
	const char *data;     /* regular file content */
	const char *link;     /* symlink target */
	const char *hardlink; /* hardlink target */
	unsigned maj, min;
	int64_t uid, gid;
	time_t mtime;
	const char *xname, *xval;
	int64_t size; /* when > 0: the size to declare (data of that many 'z') */
};

static int memfd_new(void)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void write_ent(struct archive *a, const struct ent *x)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_pathname(e, x->name);
	archive_entry_set_uid(e, x->uid);
	archive_entry_set_gid(e, x->gid);
	archive_entry_set_mtime(e, x->mtime ? x->mtime : 1600000000, 0);
	if (x->hardlink) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_copy_hardlink(e, x->hardlink);
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_set_filetype(e, x->mode & S_IFMT);
		archive_entry_set_perm(e, x->mode & 07777);
	}
	if (x->link)
		archive_entry_copy_symlink(e, x->link);
	if (S_ISCHR(x->mode) || S_ISBLK(x->mode)) {
		archive_entry_set_rdevmajor(e, x->maj);
		archive_entry_set_rdevminor(e, x->min);
	}
	size_t len = x->size > 0 ? (size_t)x->size : x->data ? strlen(x->data) : 0;
	if (S_ISREG(x->mode) && !x->hardlink)
		archive_entry_set_size(e, (la_int64_t)len);
	if (x->xname)
		archive_entry_xattr_add_entry(e, x->xname, x->xval, strlen(x->xval));
	assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
	if (S_ISREG(x->mode) && !x->hardlink && len > 0) {
		if (x->size > 0) {
			char *z = malloc(len);
			memset(z, 'z', len);
			assert_int_equal(archive_write_data(a, z, len), (la_ssize_t)len);
			free(z);
		} else {
			assert_int_equal(archive_write_data(a, x->data, len), (la_ssize_t)len);
		}
	}
	archive_entry_free(e);
}

static struct archive *writer_new(int fd, const char *filter)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (filter && strcmp(filter, "gzip") == 0)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	else if (filter && strcmp(filter, "zstd") == 0)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	return a;
}

/* A layer of the entries (filter NULL, "gzip" or "zstd") in a memfd at 0. */
static int build(const struct ent *ents, size_t n, const char *filter)
{
	int fd = memfd_new();
	struct archive *a = writer_new(fd, filter);
	for (size_t i = 0; i < n; i++)
		write_ent(a, &ents[i]);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

#define BUILD(ents) build(ents, sizeof(ents) / sizeof(ents[0]), NULL)

static char *read_fd_all(int fd, size_t *ret_len)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char *buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	buf[st.st_size] = '\0';
	*ret_len = (size_t)st.st_size;
	return buf;
}

/* A ustar header by hand (to make headers that lie). */
static void ustar_header(unsigned char h[512], const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011o", 1600000000);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static int count_fds(void)
{
	return dir_count("/proc/self/fd");
}

/* Extract fd into the layer; no fd may leak, whatever the outcome. */
static int extract(int fd, enum layer_whiteout_mode mode, const struct layer_limits *lim, struct layer_result *res,
		   hull_error **err)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	int before = count_fds();
	int r = layer_extract(fd, layer_fd, mode, lim, -1, res, err);
	assert_int_equal(count_fds(), before);
	return r;
}

/* Extract, expect refusal with the entry named, and the sentinel intact. */
static void expect_refused(int fd, enum layer_whiteout_mode mode, const struct layer_limits *lim, const char *name)
{
	hull_error *err = NULL;
	struct layer_result res;
	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(extract(fd, mode, lim, &res, &err), -1);
	assert_non_null(err);
	char quoted[300];
	snprintf(quoted, sizeof(quoted), "'%s'", name);
	if (!strstr(err->msg, quoted))
		fail_msg("error '%s' does not name %s", err->msg, quoted);
	/* ret is untouched on failure */
	assert_int_equal((unsigned char)res.blob_digest[0], 0x5a);
	hull_error_free(err);
	close(fd);
	assert_sentinel_intact();
}

static void expect_ok(int fd, enum layer_whiteout_mode mode, struct layer_result *res)
{
	hull_error *err = NULL;
	struct layer_result local;
	int r = extract(fd, mode, NULL, res ? res : &local, &err);
	if (r < 0)
		fail_msg("extract failed: %s", err ? err->msg : "(no error)");
	assert_null(err);
	close(fd);
}

static bool is_root(void)
{
	return geteuid() == 0;
}

/* ------------------------------------------------------------------------
 * The malicious suite: each must be refused, naming the entry.
 */

static void test_refuse_dotdot(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "ok", .mode = S_IFREG | 0644, .data = "x" },
			   { .name = "../x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "../x");
	struct ent b[] = { { .name = "a/", .mode = S_IFDIR | 0755 },
			   { .name = "a/../../sentinel/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, "a/../../sentinel/x");
	struct ent c[] = { { .name = "/../sentinel/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(c), LAYER_WHITEOUT_OVERLAY, NULL, "/../sentinel/x");
	/* the same as a directory and a symlink name */
	struct ent d[] = { { .name = "../sentinel/d/", .mode = S_IFDIR | 0777 } };
	expect_refused(BUILD(d), LAYER_WHITEOUT_OVERLAY, NULL, "../sentinel/d/");
}

static void test_refuse_symlink_parent_abs(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "l/x");
	/* a file below a missing directory below the link */
	struct ent b[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/sub/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, "l/sub/x");
	/* a directory, a symlink and a fifo through it */
	struct ent c[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/d/", .mode = S_IFDIR | 0777 } };
	expect_refused(BUILD(c), LAYER_WHITEOUT_OVERLAY, NULL, "l/d/");
	struct ent d[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/evil", .mode = S_IFLNK | 0777, .link = "/" } };
	expect_refused(BUILD(d), LAYER_WHITEOUT_OVERLAY, NULL, "l/evil");
	struct ent e[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/p", .mode = S_IFIFO | 0644 } };
	expect_refused(BUILD(e), LAYER_WHITEOUT_OVERLAY, NULL, "l/p");
}

static void test_refuse_symlink_parent_rel(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = "../sentinel" },
			   { .name = "l/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "l/x");
	/* "../../" from the layer root is /tmp: l/NAME would be /tmp/NAME */
	char name[64], host[128];
	snprintf(name, sizeof(name), "l/hull-layer-escape-%d", (int)getpid());
	snprintf(host, sizeof(host), "/tmp/hull-layer-escape-%d", (int)getpid());
	struct ent b[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = "../../" },
			   { .name = name, .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, name);
	struct stat st;
	assert_int_equal(lstat(host, &st), -1);
	/* a link in a subdirectory climbing out */
	struct ent c[] = { { .name = "a/b/", .mode = S_IFDIR | 0755 },
			   { .name = "a/b/up", .mode = S_IFLNK | 0777, .link = "../../../sentinel" },
			   { .name = "a/b/up/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(c), LAYER_WHITEOUT_OVERLAY, NULL, "a/b/up/x");
}

static void test_refuse_symlink_chain(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "a", .mode = S_IFLNK | 0777, .link = "b" },
			   { .name = "b", .mode = S_IFLNK | 0777, .link = "c/." },
			   { .name = "c", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "a/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "a/x");
	struct ent b[] = { { .name = "d/", .mode = S_IFDIR | 0755 },
			   { .name = "a", .mode = S_IFLNK | 0777, .link = "d/b" },
			   { .name = "d/b", .mode = S_IFLNK | 0777, .link = "../../sentinel" },
			   { .name = "a/secret", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, "a/secret");
}

static void test_refuse_symlink_loop(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "a", .mode = S_IFLNK | 0777, .link = "b" },
			   { .name = "b", .mode = S_IFLNK | 0777, .link = "a" },
			   { .name = "a/x", .mode = S_IFREG | 0644, .data = "evil" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "a/x");
	struct ent b[] = { { .name = "self", .mode = S_IFLNK | 0777, .link = "self/x" },
			   { .name = "self/y/", .mode = S_IFDIR | 0755 } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, "self/y/");
}

static void test_refuse_hardlink_outside(void **state)
{
	(void)state;
	char secret[400];
	snprintf(secret, sizeof(secret), "%s/secret", sentinel_path);
	struct ent a[] = { { .name = "h", .hardlink = "../sentinel/secret" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "h");
	/* an absolute host path names a path inside the layer: missing there */
	struct ent b[] = { { .name = "h", .hardlink = secret } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, "h");
	/* through a symlinked directory */
	struct ent c[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "h", .hardlink = "l/secret" } };
	expect_refused(BUILD(c), LAYER_WHITEOUT_OVERLAY, NULL, "h");
	struct ent d[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = "../sentinel" },
			   { .name = "h", .hardlink = "l/secret" } };
	expect_refused(BUILD(d), LAYER_WHITEOUT_OVERLAY, NULL, "h");
	/* a missing target and a directory target */
	struct ent e[] = { { .name = "h", .hardlink = "nothere" } };
	expect_refused(BUILD(e), LAYER_WHITEOUT_OVERLAY, NULL, "h");
	struct ent f[] = { { .name = "d/", .mode = S_IFDIR | 0755 }, { .name = "h", .hardlink = "d" } };
	expect_refused(BUILD(f), LAYER_WHITEOUT_OVERLAY, NULL, "h");
	/* the link itself placed through a symlink */
	struct ent g[] = { { .name = "f", .mode = S_IFREG | 0644, .data = "x" },
			   { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/h", .hardlink = "f" } };
	expect_refused(BUILD(g), LAYER_WHITEOUT_OVERLAY, NULL, "l/h");
}

static void test_refuse_whiteout_outside(void **state)
{
	(void)state;
	for (int m = 0; m < 2; m++) {
		enum layer_whiteout_mode mode = m ? LAYER_WHITEOUT_APPLY : LAYER_WHITEOUT_OVERLAY;
		struct ent a[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
				   { .name = "l/.wh.secret", .mode = S_IFREG | 0644 } };
		expect_refused(BUILD(a), mode, NULL, "l/.wh.secret");
		struct ent b[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = "../sentinel" },
				   { .name = "l/.wh..wh..opq", .mode = S_IFREG | 0644 } };
		expect_refused(BUILD(b), mode, NULL, "l/.wh..wh..opq");
		struct ent c[] = { { .name = "../sentinel/.wh.secret", .mode = S_IFREG | 0644 } };
		expect_refused(BUILD(c), mode, NULL, "../sentinel/.wh.secret");
		struct ent d[] = { { .name = "a/.wh...", .mode = S_IFREG | 0644 } };
		expect_refused(BUILD(d), mode, NULL, "a/.wh...");
		struct ent e[] = { { .name = ".wh..", .mode = S_IFREG | 0644 } };
		expect_refused(BUILD(e), mode, NULL, ".wh..");
		struct ent f[] = { { .name = ".wh.", .mode = S_IFREG | 0644 } };
		expect_refused(BUILD(f), mode, NULL, ".wh.");
		teardown(NULL);
		assert_int_equal(setup(NULL), 0);
	}
}

static void test_refuse_device_via_symlink(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "l", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "l/null", .mode = S_IFCHR | 0666, .maj = 1, .min = 3 } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "l/null");
}

/* A header saying 10 bytes followed by 8 KiB of data: the rest is not a
 * header and must not be written anywhere. */
static void test_refuse_lying_size(void **state)
{
	(void)state;
	int fd = memfd_new();
	unsigned char h[512], data[8192];
	ustar_header(h, "liar", '0', 10);
	memset(data, 'A', sizeof(data));
	assert_int_equal(write(fd, h, 512), 512);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	memset(h, 0, sizeof(h));
	assert_int_equal(write(fd, h, 512), 512);
	assert_int_equal(write(fd, h, 512), 512);
	expect_refused(fd, LAYER_WHITEOUT_OVERLAY, NULL, "liar");
	struct stat st;
	if (lstat(tpath("liar"), &st) == 0)
		assert_true(st.st_size <= 10);
	teardown(NULL);
	assert_int_equal(setup(NULL), 0);
	/* a header claiming more than the stream holds */
	fd = memfd_new();
	ustar_header(h, "trunc", '0', 1 << 20);
	assert_int_equal(write(fd, h, 512), 512);
	assert_int_equal(write(fd, data, 4096), 4096);
	expect_refused(fd, LAYER_WHITEOUT_OVERLAY, NULL, "trunc");
}

static void test_refuse_size_limit(void **state)
{
	(void)state;
	struct layer_limits lim = { .max_bytes = 10000 };
	struct ent a[] = { { .name = "small", .mode = S_IFREG | 0644, .size = 6000 },
			   { .name = "big", .mode = S_IFREG | 0644, .size = 6000 } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, &lim, "big");
	struct stat st;
	assert_int_equal(lstat(tpath("big"), &st), -1);
}

static void test_refuse_too_many_entries(void **state)
{
	(void)state;
	int fd = memfd_new();
	struct archive *a = writer_new(fd, "gzip");
	for (int i = 0; i < 3000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i);
		struct ent x = { .name = name, .mode = S_IFREG | 0644 };
		write_ent(a, &x);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	struct layer_limits lim = { .max_entries = 1000 };
	expect_refused(fd, LAYER_WHITEOUT_OVERLAY, &lim, "f1000");
	assert_int_equal(dir_count(layer_path), 1000);
}

static void test_refuse_root_as_file(void **state)
{
	(void)state;
	struct ent a[] = { { .name = "./", .mode = S_IFREG | 0644, .data = "x" } };
	expect_refused(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL, "./");
	struct ent b[] = { { .name = "f", .mode = S_IFREG | 0644, .data = "x" },
			   { .name = "f/x", .mode = S_IFREG | 0644, .data = "x" } };
	expect_refused(BUILD(b), LAYER_WHITEOUT_OVERLAY, NULL, "f/x");
}

/* Entries named like an existing symlink replace the link; they never
 * change what it points to. */
static void test_replace_symlink_not_follow(void **state)
{
	(void)state;
	char secret[400];
	snprintf(secret, sizeof(secret), "%s/secret", sentinel_path);
	struct ent a[] = { { .name = "d", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "d", .mode = S_IFDIR | 0777, .uid = 1000, .gid = 1000, .mtime = 5 },
			   { .name = "f", .mode = S_IFLNK | 0777, .link = secret },
			   { .name = "f", .mode = S_IFREG | 04777, .data = "evil", .uid = 1000 },
			   { .name = "n", .mode = S_IFLNK | 0777, .link = secret },
			   { .name = "n", .mode = S_IFIFO | 0666 },
			   { .name = "s", .mode = S_IFLNK | 0777, .link = sentinel_path },
			   { .name = "s", .mode = S_IFLNK | 0777, .link = "elsewhere" },
			   { .name = "h0", .mode = S_IFREG | 0600, .data = "h" },
			   { .name = "h", .mode = S_IFLNK | 0777, .link = secret },
			   { .name = "h", .hardlink = "h0" } };
	expect_ok(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL);
	assert_sentinel_intact();
	struct stat st;
	assert_int_equal(lstat(tpath("d"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0777);
	assert_int_equal(lstat(tpath("f"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	assert_int_equal(lstat(tpath("n"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	char buf[64] = { 0 };
	assert_int_equal(readlink(tpath("s"), buf, sizeof(buf)), 9);
	assert_string_equal(buf, "elsewhere");
	assert_int_equal(lstat(tpath("h"), &st), 0);
	assert_int_equal(st.st_nlink, 2);
}

/* ------------------------------------------------------------------------
 * The legitimate suite: must unpack exactly.
 */

static void test_special_entries(void **state)
{
	(void)state;
	struct ent a[] = {
		{ .name = "bin/", .mode = S_IFDIR | 0755 },
		{ .name = "bin/su", .mode = S_IFREG | 04755, .data = "#!su" },
		{ .name = "bin/sg", .mode = S_IFREG | 02711, .data = "#!sg", .gid = 42 },
		{ .name = "tmp/", .mode = S_IFDIR | 01777 },
		{ .name = "dev/null", .mode = S_IFCHR | 0666, .maj = 1, .min = 3 },
		{ .name = "dev/sda", .mode = S_IFBLK | 0660, .maj = 8, .min = 0 },
		{ .name = "run/fifo", .mode = S_IFIFO | 0640 },
		{ .name = "bin/a", .mode = S_IFREG | 0755, .data = "busybox" },
		{ .name = "bin/b", .hardlink = "bin/a" },
		{ .name = "./bin/c", .hardlink = "/bin/a" },
		{ .name = "abs", .mode = S_IFLNK | 0777, .link = "/etc/passwd" },
		{ .name = "dangling", .mode = S_IFLNK | 0777, .link = "nowhere/x" },
		{ .name = "up", .mode = S_IFLNK | 0777, .link = "../../.." },
		{ .name = "out", .mode = S_IFLNK | 0777, .link = sentinel_path },
		{ .name = "/etc/hostname", .mode = S_IFREG | 0644, .data = "box\n" },
		{ .name = "deep/er/file", .mode = S_IFREG | 0600, .data = "implicit parents" },
	};
	struct layer_result res;
	mode_t old_umask = umask(077); /* modes come from the archive, not the umask */
	expect_ok(BUILD(a), LAYER_WHITEOUT_OVERLAY, &res);
	umask(old_umask);
	assert_sentinel_intact();
	struct stat st, st2;
	assert_int_equal(lstat(tpath("deep"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(tpath("run/fifo"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(lstat(tpath("bin/su"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(lstat(tpath("bin/sg"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 02711);
	assert_int_equal(lstat(tpath("tmp"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_int_equal(lstat(tpath("run/fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	if (is_root()) {
		assert_int_equal(lstat(tpath("bin/sg"), &st), 0);
		assert_int_equal(st.st_gid, 42);
		assert_int_equal(lstat(tpath("dev/null"), &st), 0);
		assert_true(S_ISCHR(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(1, 3));
		assert_int_equal(st.st_mode & 07777, 0666);
		assert_int_equal(lstat(tpath("dev/sda"), &st), 0);
		assert_true(S_ISBLK(st.st_mode));
		assert_int_equal(st.st_rdev, makedev(8, 0));
	}
	assert_int_equal(lstat(tpath("bin/a"), &st), 0);
	assert_int_equal(st.st_nlink, 3);
	assert_int_equal(lstat(tpath("bin/b"), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(lstat(tpath("bin/c"), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	const char *links[][2] = { { "abs", "/etc/passwd" },
				   { "dangling", "nowhere/x" },
				   { "up", "../../.." },
				   { "out", sentinel_path } };
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		char buf[400] = { 0 };
		assert_int_equal(readlink(tpath("%s", links[i][0]), buf, sizeof(buf) - 1), (ssize_t)strlen(links[i][1]));
		assert_string_equal(buf, links[i][1]);
	}
	assert_int_equal(lstat(tpath("etc/passwd"), &st), -1);
	assert_int_equal(lstat(tpath("etc/hostname"), &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(lstat(tpath("deep/er/file"), &st), 0);
	assert_int_equal(st.st_size, 16);
	assert_int_equal(res.entries, ARRAY_SIZE(a));
	assert_int_equal(res.unpacked_size, 4 + 4 + 7 + 4 + 16);
}

static void test_owner_xattr_times(void **state)
{
	(void)state;
	struct ent a[] = {
		{ .name = "owned", .mode = S_IFREG | 0640, .data = "o", .uid = 1000, .gid = 1001, .mtime = 1234567890 },
		{ .name = "odir/", .mode = S_IFDIR | 0750, .uid = 1000, .gid = 1000, .mtime = 1111111111 },
		{ .name = "odir/child", .mode = S_IFREG | 0644, .data = "c", .mtime = 1222222222 },
		{ .name = "odir/sub/", .mode = S_IFDIR | 0555, .mtime = 1333333333 },
		{ .name = "odir/sub/leaf", .mode = S_IFREG | 0444, .data = "l" },
		{ .name = "olink", .mode = S_IFLNK | 0777, .link = "owned", .uid = 1000, .gid = 1000,
		  .mtime = 1444444444 },
		{ .name = "xf", .mode = S_IFREG | 0644, .data = "x", .xname = "user.foo", .xval = "bar" },
		{ .name = "xd/", .mode = S_IFDIR | 0755, .xname = "trusted.overlay.opaque", .xval = "y" },
		{ .name = "xu", .mode = S_IFREG | 0644, .data = "x", .xname = "user.overlay.whiteout", .xval = "y" },
		{ .name = "./", .mode = S_IFDIR | 0711, .mtime = 1555555555 },
	};
	expect_ok(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL);
	struct stat st;
	assert_int_equal(lstat(tpath("owned"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1234567890);
	assert_int_equal(st.st_mode & 07777, 0640);
	if (is_root()) {
		assert_int_equal(st.st_uid, 1000);
		assert_int_equal(st.st_gid, 1001);
	}
	assert_int_equal(lstat(tpath("odir"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1111111111); /* set after its children */
	assert_int_equal(st.st_mode & 07777, 0750);
	if (is_root())
		assert_int_equal(st.st_uid, 1000);
	assert_int_equal(lstat(tpath("odir/sub"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1333333333);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(lstat(tpath("odir/child"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1222222222);
	assert_int_equal(lstat(tpath("olink"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, 1444444444);
	if (is_root())
		assert_int_equal(st.st_uid, 1000);
	char buf[16] = { 0 };
	ssize_t n = getxattr(tpath("xf"), "user.foo", buf, sizeof(buf));
	if (n < 0 && errno == ENOTSUP)
		return;
	assert_int_equal(n, 3);
	assert_string_equal(buf, "bar");
	assert_int_equal(lgetxattr(tpath("xd"), "trusted.overlay.opaque", buf, sizeof(buf)), -1);
	assert_int_equal(lgetxattr(tpath("xu"), "user.overlay.whiteout", buf, sizeof(buf)), -1);
	/* "./" sets the root's own mode and time */
	assert_int_equal(lstat(layer_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(st.st_mtim.tv_sec, 1555555555);
}

/* Whether overlayfs can mount here (it is used to check whiteouts). */
static bool overlay_mount(const char *lower, const char *mnt)
{
	char opts[1024];
	snprintf(opts, sizeof(opts), "lowerdir=%s:%s", layer_path, lower);
	return mount("overlay", mnt, "overlay", MS_RDONLY, opts) == 0;
}

static void mkfile(const char *path, const char *data)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void test_whiteouts_overlay(void **state)
{
	(void)state;
	if (!is_root())
		skip();
	struct ent a[] = {
		{ .name = "etc/", .mode = S_IFDIR | 0755 },
		{ .name = "etc/.wh.passwd", .mode = S_IFREG | 0644 },
		{ .name = "var/keep", .mode = S_IFREG | 0644, .data = "k" },
		{ .name = "var/.wh..wh..opq", .mode = S_IFREG | 0644 },
		{ .name = "same", .mode = S_IFREG | 0644, .data = "same layer" },
		{ .name = ".wh.same", .mode = S_IFREG | 0644 },
		{ .name = ".wh.redo", .mode = S_IFREG | 0644 },
		{ .name = "redo/new", .mode = S_IFREG | 0644, .data = "n" },
		{ .name = "opt/.wh..wh.plnk", .mode = S_IFREG | 0644 },
	};
	expect_ok(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL);
	struct stat st;
	char buf[8] = { 0 };
	assert_int_equal(lstat(tpath("etc/passwd"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_int_equal(lgetxattr(tpath("var"), "trusted.overlay.opaque", buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'y');
	assert_int_equal(lstat(tpath("var/keep"), &st), 0);
	assert_int_equal(lstat(tpath("same"), &st), 0);
	assert_true(S_ISREG(st.st_mode)); /* a whiteout never hides its own layer */
	/* a directory replacing a whiteout of its layer is opaque */
	assert_int_equal(lstat(tpath("redo"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(lgetxattr(tpath("redo"), "trusted.overlay.opaque", buf, sizeof(buf)), 1);
	assert_int_equal(lstat(tpath("opt/.wh..wh.plnk"), &st), -1);

	/* overlayfs agrees: mount the layer over a lower dir */
	char lower[400], mnt[400], p[600];
	snprintf(lower, sizeof(lower), "%s/lower", tmpdir);
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	assert_int_equal(mkdir(lower, 0755), 0);
	assert_int_equal(mkdir(mnt, 0755), 0);
	const char *dirs[] = { "etc", "var", "redo" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", lower, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	const char *files[] = { "etc/passwd", "etc/group", "var/old", "redo/old" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", lower, files[i]);
		mkfile(p, "lower");
	}
	if (!overlay_mount(lower, mnt)) {
		print_message("overlayfs mount not possible (%s): overlay check skipped\n", strerror(errno));
		return;
	}
	const char *gone[] = { "etc/passwd", "var/old", "redo/old" };
	const char *there[] = { "etc/group", "var/keep", "redo/new", "same" };
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++) {
		snprintf(p, sizeof(p), "%s/%s", mnt, gone[i]);
		assert_int_equal(lstat(p, &st), -1);
	}
	for (size_t i = 0; i < ARRAY_SIZE(there); i++) {
		snprintf(p, sizeof(p), "%s/%s", mnt, there[i]);
		assert_int_equal(lstat(p, &st), 0);
	}
	umount2(mnt, MNT_DETACH);
}

static void test_whiteouts_apply(void **state)
{
	(void)state;
	/* the lower layers' copy */
	char p[600];
	const char *dirs[] = { "etc", "var", "var/sub", "d2", "d3" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		assert_int_equal(mkdir(tpath("%s", dirs[i]), 0755), 0);
	const char *files[] = { "etc/passwd", "etc/group", "var/old", "var/sub/deep", "d2/old", "d3/old" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		mkfile(tpath("%s", files[i]), "lower");
	assert_int_equal(symlink(sentinel_path, tpath("l")), 0);
	assert_int_equal(symlink(sentinel_path, tpath("var/lnk")), 0);
	struct ent a[] = {
		{ .name = "var/new", .mode = S_IFREG | 0644, .data = "before" },
		{ .name = "var/.wh..wh..opq", .mode = S_IFREG | 0644 },
		{ .name = "var/new2", .mode = S_IFREG | 0644, .data = "after" },
		{ .name = "etc/.wh.passwd", .mode = S_IFREG | 0644 },
		{ .name = ".wh.l", .mode = S_IFREG | 0644 },
		{ .name = "x", .mode = S_IFREG | 0644, .data = "same layer" },
		{ .name = ".wh.x", .mode = S_IFREG | 0644 },
		{ .name = "d2/newf", .mode = S_IFREG | 0644, .data = "n" },
		{ .name = "d2/.wh..wh..opq", .mode = S_IFREG | 0644 },
		{ .name = "d3/new", .mode = S_IFREG | 0644, .data = "n" },
		{ .name = ".wh.d3", .mode = S_IFREG | 0644 },
		{ .name = "missing/.wh.x", .mode = S_IFREG | 0644 },
		{ .name = "missing2/.wh..wh..opq", .mode = S_IFREG | 0644 },
	};
	expect_ok(BUILD(a), LAYER_WHITEOUT_APPLY, NULL);
	assert_sentinel_intact();
	struct stat st;
	const char *gone[] = { "etc/passwd", "var/old", "var/sub", "var/lnk", "l", "d2/old", "d3/old", "missing",
			       "missing2" };
	const char *there[] = { "etc/group", "var/new", "var/new2", "x", "d2/newf", "d3/new" };
	for (size_t i = 0; i < ARRAY_SIZE(gone); i++)
		if (lstat(tpath("%s", gone[i]), &st) == 0)
			fail_msg("'%s' should be gone", gone[i]);
	for (size_t i = 0; i < ARRAY_SIZE(there); i++)
		if (lstat(tpath("%s", there[i]), &st) < 0)
			fail_msg("'%s' should be there", there[i]);
	assert_int_equal(dir_count(tpath("var")), 2);
	snprintf(p, sizeof(p), "%s/.wh.x", layer_path);
	assert_int_equal(lstat(p, &st), -1);
}

static void test_replace_types(void **state)
{
	(void)state;
	struct ent a[] = {
		{ .name = "a/x", .mode = S_IFREG | 0644, .data = "x" },
		{ .name = "a", .mode = S_IFREG | 0600, .data = "file now" },
		{ .name = "b", .mode = S_IFREG | 0644, .data = "file" },
		{ .name = "b/", .mode = S_IFDIR | 0700 },
		{ .name = "b/y", .mode = S_IFREG | 0644, .data = "y" },
		{ .name = "c/", .mode = S_IFDIR | 0700 },
		{ .name = "c/keep", .mode = S_IFREG | 0644, .data = "k" },
		{ .name = "c/", .mode = S_IFDIR | 0751, .mtime = 7777 },
		{ .name = "f", .mode = S_IFREG | 0644, .data = "first" },
		{ .name = "f", .mode = S_IFREG | 0644, .data = "2nd" },
	};
	expect_ok(BUILD(a), LAYER_WHITEOUT_OVERLAY, NULL);
	struct stat st;
	assert_int_equal(lstat(tpath("a"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(tpath("b/y"), &st), 0);
	assert_int_equal(lstat(tpath("c/keep"), &st), 0);
	assert_int_equal(lstat(tpath("c"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751); /* the last entry wins */
	assert_int_equal(st.st_mtim.tv_sec, 7777);
	assert_int_equal(lstat(tpath("f"), &st), 0);
	assert_int_equal(st.st_size, 3);
}

static void check_digests(const char *filter, size_t trailing)
{
	struct ent a[] = {
		{ .name = "d/", .mode = S_IFDIR | 0755 },
		{ .name = "d/f", .mode = S_IFREG | 0644, .data = "hello world" },
		{ .name = "d/big", .mode = S_IFREG | 0644, .size = 3 << 20 },
		{ .name = "d/l", .mode = S_IFLNK | 0777, .link = "f" },
	};
	int plain = build(a, ARRAY_SIZE(a), NULL);
	int fd = build(a, ARRAY_SIZE(a), filter);
	if (trailing) {
		char *zeros = calloc(1, trailing);
		assert_int_equal(lseek(fd, 0, SEEK_END) >= 0, 1);
		assert_int_equal(write(fd, zeros, trailing), (ssize_t)trailing);
		free(zeros);
		if (!filter) {
			lseek(plain, 0, SEEK_END);
			zeros = calloc(1, trailing);
			assert_int_equal(write(plain, zeros, trailing), (ssize_t)trailing);
			free(zeros);
		}
	}
	size_t plain_len, blob_len;
	_cleanup_free_ char *tar = read_fd_all(plain, &plain_len);
	_cleanup_free_ char *blob = read_fd_all(fd, &blob_len);
	char want_diff[DIGEST_SHA256_LEN + 1], want_blob[DIGEST_SHA256_LEN + 1];
	digest_buffer(tar, plain_len, want_diff);
	digest_buffer(blob, blob_len, want_blob);
	int copy = memfd_new();
	struct layer_result res;
	hull_error *err = NULL;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	int r = layer_extract(fd, layer_fd, LAYER_WHITEOUT_OVERLAY, NULL, copy, &res, &err);
	if (r < 0)
		fail_msg("%s: %s", filter ? filter : "none", err->msg);
	assert_string_equal(res.compression, filter ? filter : "none");
	assert_string_equal(res.blob_digest, want_blob);
	assert_string_equal(res.diff_id, want_diff);
	assert_int_equal(res.blob_size, blob_len);
	assert_int_equal(res.entries, 4);
	assert_int_equal(res.unpacked_size, 11 + (3 << 20));
	size_t copy_len;
	_cleanup_free_ char *copied = read_fd_all(copy, &copy_len);
	assert_int_equal(copy_len, blob_len);
	assert_memory_equal(copied, blob, blob_len);
	struct stat st;
	assert_int_equal(lstat(tpath("d/big"), &st), 0);
	assert_int_equal(st.st_size, 3 << 20);
	close(copy);
	close(fd);
	close(plain);
}

static void test_compressions_and_digests(void **state)
{
	(void)state;
	const char *filters[] = { NULL, "gzip", "zstd" };
	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		check_digests(filters[i], 0);
		teardown(NULL);
		assert_int_equal(setup(NULL), 0);
	}
	/* trailing padding after the tar's end, or after the compressed
	 * stream, is hashed too */
	check_digests(NULL, 10240);
	teardown(NULL);
	assert_int_equal(setup(NULL), 0);
	check_digests("gzip", 1000);
}

static void test_refuse_garbage(void **state)
{
	(void)state;
	int fd = memfd_new();
	assert_int_equal(write(fd, "this is not a tar archive at all, not even close", 48), 48);
	hull_error *err = NULL;
	struct layer_result res;
	assert_int_equal(extract(fd, LAYER_WHITEOUT_OVERLAY, NULL, &res, &err), -1);
	assert_non_null(err);
	hull_error_clear(&err);
	close(fd);
	/* a truncated gzip stream */
	struct ent a[] = { { .name = "big", .mode = S_IFREG | 0644, .size = 1 << 20 } };
	fd = build(a, 1, "gzip");
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(ftruncate(fd, st.st_size / 2), 0);
	assert_int_equal(extract(fd, LAYER_WHITEOUT_OVERLAY, NULL, &res, &err), -1);
	assert_non_null(err);
	hull_error_clear(&err);
	close(fd);
	assert_sentinel_intact();
}

/* ------------------------------------------------------------------------
 * Packing.
 */

/* One line per path: type, mode, owner, mtime, size or target or rdev,
 * link count, xattrs.  Sorted by path. */
static void describe(int dfd, const char *prefix, FILE *out)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	DIR *d = fdopendir(fd);
	assert_non_null(d);
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && n < 256)
			names[n++] = strdup(de->d_name);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		assert_int_equal(fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW), 0);
		fprintf(out, "%s%s %o %u:%u %ld n%lu", prefix, names[i], st.st_mode, st.st_uid, st.st_gid,
			(long)st.st_mtim.tv_sec, (unsigned long)st.st_nlink);
		char proc[600], buf[256] = { 0 };
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd(d), names[i]);
		if (S_ISLNK(st.st_mode)) {
			assert_true(readlinkat(dirfd(d), names[i], buf, sizeof(buf) - 1) > 0);
			fprintf(out, " -> %s", buf);
		} else if (S_ISREG(st.st_mode)) {
			int f = openat(dirfd(d), names[i], O_RDONLY | O_CLOEXEC);
			ssize_t len = read(f, buf, sizeof(buf) - 1);
			close(f);
			fprintf(out, " %ld '%.*s'", (long)st.st_size, (int)(len > 32 ? 32 : len), buf);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			fprintf(out, " %u:%u", major(st.st_rdev), minor(st.st_rdev));
		}
		char list[512];
		ssize_t ln = llistxattr(proc, list, sizeof(list));
		for (ssize_t k = 0; k < ln; k += (ssize_t)strlen(list + k) + 1) {
			char v[64] = { 0 };
			lgetxattr(proc, list + k, v, sizeof(v) - 1);
			fprintf(out, " %s=%s", list + k, v);
		}
		fputc('\n', out);
		if (S_ISDIR(st.st_mode)) {
			char sub[600];
			snprintf(sub, sizeof(sub), "%s%s/", prefix, names[i]);
			int cfd = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			describe(cfd, sub, out);
			close(cfd);
		}
		free(names[i]);
	}
	closedir(d);
}

static char *describe_tree(const char *path)
{
	char *s = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&s, &len);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	describe(fd, "", out);
	close(fd);
	fclose(out);
	return s;
}

static int pack(const char *path, char diff[static DIGEST_SHA256_LEN + 1], uint64_t *size)
{
	int fd = memfd_new();
	int dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	hull_error *err = NULL;
	int r = layer_pack_dir(dfd, fd, diff, size, &err);
	if (r < 0)
		fail_msg("pack: %s", err->msg);
	close(dfd);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static const struct ent tree_ents[] = {
	{ .name = "bin/", .mode = S_IFDIR | 0755, .mtime = 100 },
	{ .name = "bin/su", .mode = S_IFREG | 04755, .data = "#!su", .mtime = 101 },
	{ .name = "bin/a", .mode = S_IFREG | 0755, .data = "busybox", .mtime = 102 },
	{ .name = "bin/b", .hardlink = "bin/a" },
	{ .name = "dev/", .mode = S_IFDIR | 0755, .mtime = 103 },
	{ .name = "dev/null", .mode = S_IFCHR | 0666, .maj = 1, .min = 3, .mtime = 104 },
	{ .name = "dev/fifo", .mode = S_IFIFO | 0600, .mtime = 105 },
	{ .name = "home/", .mode = S_IFDIR | 0700, .uid = 1000, .gid = 1000, .mtime = 106 },
	{ .name = "home/f", .mode = S_IFREG | 0600, .data = "mine", .uid = 1000, .gid = 1000, .mtime = 107,
	  .xname = "user.k", .xval = "v" },
	{ .name = "lnk", .mode = S_IFLNK | 0777, .link = "/nowhere", .mtime = 108 },
	{ .name = "etc/", .mode = S_IFDIR | 0755, .mtime = 109 },
	{ .name = "etc/.wh.shadow", .mode = S_IFREG | 0644 },
	{ .name = "opq/", .mode = S_IFDIR | 0755, .mtime = 110 },
	{ .name = "opq/.wh..wh..opq", .mode = S_IFREG | 0644 },
	{ .name = "opq/in", .mode = S_IFREG | 0644, .data = "in", .mtime = 111 },
};

static void test_pack_roundtrip(void **state)
{
	(void)state;
	if (!is_root())
		skip(); /* devices, owners and overlay whiteouts need root */
	expect_ok(build(tree_ents, ARRAY_SIZE(tree_ents), NULL), LAYER_WHITEOUT_OVERLAY, NULL);
	set_mtime(tpath("etc"), 109); /* the whiteout was made after */
	set_mtime(tpath("etc/shadow"), 112);
	char d1[DIGEST_SHA256_LEN + 1], d2[DIGEST_SHA256_LEN + 1], d3[DIGEST_SHA256_LEN + 1];
	uint64_t s1, s2, s3;
	int t1 = pack(layer_path, d1, &s1);
	int t2 = pack(layer_path, d2, &s2);
	assert_string_equal(d1, d2); /* reproducible */
	assert_int_equal(s1, s2);
	size_t len;
	_cleanup_free_ char *bytes = read_fd_all(t1, &len);
	assert_int_equal(len, s1);
	char want[DIGEST_SHA256_LEN + 1];
	digest_buffer(bytes, len, want);
	assert_string_equal(d1, want);

	/* the tar holds OCI whiteouts and one hardlink entry */
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, bytes, len), ARCHIVE_OK);
	struct archive_entry *e;
	int seen_wh = 0, seen_opq = 0, seen_hl = 0;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *n = archive_entry_pathname(e);
		seen_wh += strcmp(n, "etc/.wh.shadow") == 0;
		seen_opq += strcmp(n, "opq/.wh..wh..opq") == 0;
		seen_hl += archive_entry_hardlink(e) != NULL;
		assert_null(strstr(n, "overlay"));
	}
	archive_read_free(a);
	assert_int_equal(seen_wh, 1);
	assert_int_equal(seen_opq, 1);
	assert_int_equal(seen_hl, 1);

	/* extract it elsewhere: the same tree, the same diff ID again */
	_cleanup_free_ char *before = describe_tree(layer_path);
	close(layer_fd);
	char second[400];
	snprintf(second, sizeof(second), "%s/layer", tmpdir);
	char first[400];
	snprintf(first, sizeof(first), "%s/first", tmpdir);
	assert_int_equal(rename(layer_path, first), 0);
	assert_int_equal(mkdir(second, 0755), 0);
	layer_fd = open(second, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct layer_result res;
	expect_ok(t1, LAYER_WHITEOUT_OVERLAY, &res);
	assert_string_equal(res.diff_id, d1);
	_cleanup_free_ char *after = describe_tree(second);
	assert_string_equal(before, after);
	assert_non_null(strstr(after, "opq 40755 0:0 110 n2 trusted.overlay.opaque=y"));
	int t3 = pack(second, d3, &s3);
	assert_string_equal(d1, d3);
	close(t2);
	close(t3);
}

static void test_pack_plain(void **state)
{
	(void)state;
	/* works without root too: files, dirs, symlinks, hardlinks */
	assert_int_equal(mkdir(tpath("d"), 0750), 0);
	mkfile(tpath("d/f"), "content");
	assert_int_equal(link(tpath("d/f"), tpath("g")), 0);
	assert_int_equal(symlink("d/f", tpath("s")), 0);
	set_mtime(tpath("d/f"), 5000);
	set_mtime(tpath("s"), 5001);
	set_mtime(tpath("d"), 5002);
	char d1[DIGEST_SHA256_LEN + 1];
	uint64_t s1;
	int t = pack(layer_path, d1, &s1);
	_cleanup_free_ char *before = describe_tree(layer_path);
	assert_true(s1 % 512 == 0 && s1 >= 5 * 512);
	teardown(NULL);
	assert_int_equal(setup(NULL), 0);
	struct layer_result res;
	expect_ok(t, LAYER_WHITEOUT_OVERLAY, &res);
	assert_string_equal(res.diff_id, d1);
	_cleanup_free_ char *after = describe_tree(layer_path);
	assert_string_equal(before, after);
}

/* A tree 600 directories deep packs, extracts, and is cleared by an opaque
 * whiteout, without deep recursion eating the stack. */
static void test_deep_tree(void **state)
{
	(void)state;
	int fd = open(layer_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < 600; i++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		assert_true(nfd >= 0);
		fd = nfd;
	}
	int f = openat(fd, "bottom", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	close(f);
	close(fd);
	char diff[DIGEST_SHA256_LEN + 1];
	uint64_t size;
	int t = pack(layer_path, diff, &size);
	/* the lower copy has the deep tree and "old" at the root; the layer
	 * holds the same tree, an opaque root marker */
	mkfile(tpath("old"), "lower");
	int fd2 = memfd_new();
	struct archive *a = writer_new(fd2, NULL);
	struct archive *r = archive_read_new();
	archive_read_support_format_tar(r);
	assert_int_equal(archive_read_open_fd(r, t, 65536), ARCHIVE_OK);
	struct archive_entry *e;
	int n = 0;
	while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		n++;
	}
	assert_int_equal(n, 601);
	struct ent opq = { .name = ".wh..wh..opq", .mode = S_IFREG | 0644 };
	write_ent(a, &opq);
	archive_read_free(r);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	expect_ok(fd2, LAYER_WHITEOUT_APPLY, NULL);
	struct stat st;
	assert_int_equal(lstat(tpath("old"), &st), -1);
	assert_int_equal(lstat(tpath("d/d/d/d"), &st), 0);
	close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refuse_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_symlink_parent_abs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_symlink_parent_rel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_symlink_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_symlink_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_hardlink_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_whiteout_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_device_via_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_lying_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_too_many_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_root_as_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_symlink_not_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_xattr_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts_overlay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressions_and_digests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pack_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
