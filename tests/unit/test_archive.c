/* Unit tests for src/image/archive.c, archive_save.c, import.c and image.c:
 * import, --change, load/save in both formats, inspect and history, on
 * temporary stores (vfs, and overlay where it mounts).
 *
 * Archives are built here with libarchive (docker-archive in Docker's and
 * Podman's layouts, Docker 25's blobs/ layout, oci-archive), so no binary
 * fixtures are kept.  Like `docker save` and `podman save`, the builders
 * write manifest.json / index.json last.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/archive.h"
#include "image/image.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"

static char base[64];
static char root_a[128], root_b[128], runroot[128];
static const char *cur_driver;

/* ---- fixtures ---- */

static bool overlay_possible(void)
{
	static int cached = -1;
	if (cached < 0) {
		char dir[] = "/var/tmp/hull-test-arc-ovl-XXXXXX";
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
	cur_driver = *state ? *state : "vfs";
	snprintf(base, sizeof(base), "/var/tmp/hull-test-archive-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(root_a, sizeof(root_a), "%s/a", base);
	snprintf(root_b, sizeof(root_b), "%s/b", base);
	snprintf(runroot, sizeof(runroot), "%s/run", base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(base);
	return 0;
}

#define NEED_DRIVER()                                                          \
	do {                                                                   \
		if (strcmp(cur_driver, "overlay") == 0 && !overlay_possible()) { \
			fprintf(stderr, "skip: overlay not available here\n");    \
			skip();                                                \
		}                                                              \
	} while (0)

static struct image_store *open_store(const char *root)
{
	struct store_opts o = { .root = root, .runroot = runroot, .driver = cur_driver };
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

/* The store must be clean: no error from store_check. */
static void assert_store_clean(struct image_store *s)
{
	json_t *rep = NULL;
	CHECK_OK(store_check(s, false, &rep, &e_));
	json_t *errs = json_object_get(rep, "errors");
	if (json_array_size(errs)) {
		char *t = json_dumps(errs, 0);
		fprintf(stderr, "store_check errors: %s\n", t);
		free(t);
	}
	assert_int_equal(json_array_size(errs), 0);
	json_decref(rep);
}

static size_t store_count(struct image_store *s, const char *what)
{
	json_t *rep = NULL;
	CHECK_OK(store_check(s, false, &rep, &e_));
	size_t n = (size_t)json_integer_value(json_object_get(rep, what));
	json_decref(rep);
	return n;
}

/* "id name name | id ..." of every image, sorted by the store. */
static char *image_list_string(struct image_store *s)
{
	struct image_record **l = NULL;
	size_t n = 0;
	CHECK_OK(store_image_list(s, &l, &n, &e_));
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s", l[i]->id);
		for (char **p = l[i]->names; p && *p; p++)
			fprintf(f, " %s", *p);
		fprintf(f, " [");
		for (char **p = l[i]->layers; p && *p; p++)
			fprintf(f, " %s", *p);
		fprintf(f, "] |");
	}
	fclose(f);
	image_record_list_free(l, n);
	return out;
}

static struct image_record *lookup(struct image_store *s, const char *ref)
{
	struct image_record *r = NULL;
	CHECK_OK(store_image_lookup(s, ref, &r, &e_));
	return r;
}

/* ---- building tars in memory ---- */

struct buf {
	char *data;
	size_t len;
};

static void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

struct tfile {
	const char *name;
	const char *data; /* NULL: directory; "->x": symlink to x */
};

struct tarw {
	struct archive *a;
	FILE *f;
	struct buf *out;
};

static la_ssize_t tw_write_cb(struct archive *a, void *cd, const void *buf, size_t len)
{
	(void)a;
	struct tarw *t = cd;
	return fwrite(buf, 1, len, t->f) == len ? (la_ssize_t)len : -1;
}

static void tw_open(struct tarw *t, struct buf *out, const char *filter)
{
	t->out = out;
	t->f = open_memstream(&out->data, &out->len);
	assert_non_null(t->f);
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	if (filter && strcmp(filter, "gzip") == 0)
		assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
	else if (filter && strcmp(filter, "zstd") == 0)
		assert_int_equal(archive_write_add_filter_zstd(t->a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(t->a, 1);
	assert_int_equal(archive_write_open(t->a, t, NULL, tw_write_cb, NULL), ARCHIVE_OK);
}

static void tw_add(struct tarw *t, const char *name, const void *data, size_t len, mode_t type, const char *link)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
	archive_entry_set_mtime(e, 1700000000, 0);
	if (link)
		archive_entry_set_symlink(e, link);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (type == AE_IFREG && len)
		assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void tw_file(struct tarw *t, const char *name, const void *data, size_t len)
{
	tw_add(t, name, data, len, AE_IFREG, NULL);
}

static void tw_close(struct tarw *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	fclose(t->f);
}

/* A layer tar of files (uncompressed unless filter). */
static void make_layer(struct buf *out, const struct tfile *files, const char *filter)
{
	struct tarw t;
	tw_open(&t, out, filter);
	for (const struct tfile *f = files; f->name; f++) {
		if (!f->data)
			tw_add(&t, f->name, NULL, 0, AE_IFDIR, NULL);
		else if (strncmp(f->data, "->", 2) == 0)
			tw_add(&t, f->name, NULL, 0, AE_IFLNK, f->data + 2);
		else
			tw_file(&t, f->name, f->data, strlen(f->data));
	}
	tw_close(&t);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static const struct tfile base_files[] = {
	{ "bin", NULL },
	{ "bin/sh", "#!fake shell\n" },
	{ "bin/busybox", "->sh" },
	{ "etc", NULL },
	{ "etc/hostname", "base\n" },
	{ "etc/motd", "hello\n" },
	{ NULL, NULL },
};
static const struct tfile top1_files[] = {
	{ "etc", NULL },
	{ "etc/app1", "one\n" },
	{ "etc/.wh.motd", "" },
	{ NULL, NULL },
};
static const struct tfile top2_files[] = {
	{ "etc", NULL },
	{ "etc/app2", "two\n" },
	{ NULL, NULL },
};

/* ---- image description for the archive builders ---- */

struct tlayer {
	struct buf blob;  /* as written in the archive */
	char blob_digest[DIGEST_SHA256_LEN + 1];
	char diff_id[DIGEST_SHA256_LEN + 1];
	const char *media_type;
};

struct timage {
	struct tlayer *layers[4];
	size_t n;
	const char *tag;
	char *config;
	size_t config_len;
	char config_digest[DIGEST_SHA256_LEN + 1];
	char *manifest;
	size_t manifest_len;
	char manifest_digest[DIGEST_SHA256_LEN + 1];
};

static void tlayer_make(struct tlayer *l, const struct tfile *files, const char *filter)
{
	struct buf plain = { 0 };
	make_layer(&plain, files, NULL);
	digest_buffer(plain.data, plain.len, l->diff_id);
	if (filter) {
		make_layer(&l->blob, files, filter);
		buf_free(&plain);
	} else {
		l->blob = plain;
	}
	digest_buffer(l->blob.data, l->blob.len, l->blob_digest);
	l->media_type = image_layer_media_type(filter ? filter : "none", false);
}

static void timage_config(struct timage *im, const char *cmd)
{
	json_t *ids = json_array();
	for (size_t i = 0; i < im->n; i++)
		json_array_append_new(ids, json_string(im->layers[i]->diff_id));
	json_t *c = json_pack("{s:s, s:s, s:s, s:{s:[s]}, s:{s:s, s:o}, s:[{s:s, s:s}]}", "created",
			      "2026-01-02T03:04:05Z", "architecture", image_host_arch(), "os", "linux", "config", "Cmd",
			      cmd, "rootfs", "type", "layers", "diff_ids", ids, "history", "created", "2026-01-02T03:04:05Z",
			      "created_by", cmd);
	im->config = image_json_dump(c, &im->config_len);
	json_decref(c);
	digest_buffer(im->config, im->config_len, im->config_digest);
	struct image_layer_desc d[4];
	for (size_t i = 0; i < im->n; i++)
		d[i] = (struct image_layer_desc){ im->layers[i]->media_type, im->layers[i]->blob_digest,
						  im->layers[i]->blob.len };
	CHECK_OK(image_manifest_build(false, im->config_digest, im->config_len, d, im->n, &im->manifest,
				      &im->manifest_len, &e_));
	digest_buffer(im->manifest, im->manifest_len, im->manifest_digest);
}

static void timage_free(struct timage *im)
{
	free(im->config);
	free(im->manifest);
}

/* A copy of an uncompressed layer with one file's content changed ("one"
 * -> "onE"): still a valid tar, but not the layer its digests name. */
static char *corrupt_copy(const struct buf *b)
{
	char *copy = malloc(b->len);
	memcpy(copy, b->data, b->len);
	char *p = memmem(copy, b->len, "one\n", 4);
	if (!p)
		p = memmem(copy, b->len, "two\n", 4);
	assert_non_null(p);
	p[2] = 'E';
	return copy;
}

enum docker_style { STYLE_DOCKER, STYLE_PODMAN, STYLE_DOCKER25 };

struct corrupt {
	bool layer_content;  /* a layer's bytes differ from its digest */
	bool config_content; /* the config file's bytes differ from its name */
	bool missing_layer;  /* manifest names a layer that is not there */
	bool manifest_garbage;
	bool foreign_platform; /* not corrupt: an extra index entry for another platform, blobs absent */
};

/* docker-archive of images, manifest.json last. */
static void make_docker_archive(struct buf *out, struct timage *imgs, size_t n, enum docker_style style,
				const struct corrupt *bad)
{
	struct tarw t;
	tw_open(&t, out, NULL);
	json_t *man = json_array();
	char **written = calloc(64, sizeof(char *));
	size_t n_written = 0;
	for (size_t i = 0; i < n; i++) {
		struct timage *im = &imgs[i];
		json_t *layers = json_array();
		for (size_t k = 0; k < im->n; k++) {
			struct tlayer *l = im->layers[k];
			char name[160];
			if (style == STYLE_DOCKER)
				snprintf(name, sizeof(name), "%.12s%s/layer.tar", digest_hex(l->diff_id), "0000");
			else if (style == STYLE_PODMAN)
				snprintf(name, sizeof(name), "%s.tar", digest_hex(l->diff_id));
			else
				snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(l->blob_digest));
			bool seen = false;
			for (size_t w = 0; w < n_written; w++)
				seen = seen || strcmp(written[w], name) == 0;
			if (!seen) {
				written[n_written++] = strdup(name);
				if (bad && bad->layer_content && k == im->n - 1) {
					char *copy = corrupt_copy(&l->blob);
					tw_file(&t, name, copy, l->blob.len);
					free(copy);
				} else {
					tw_file(&t, name, l->blob.data, l->blob.len);
				}
				if (style == STYLE_PODMAN) { /* legacy <id>/layer.tar symlink */
					char link[200], target[200];
					snprintf(link, sizeof(link), "%.60s%04zu/layer.tar", digest_hex(l->diff_id), i);
					snprintf(target, sizeof(target), "../%s", name);
					tw_add(&t, link, NULL, 0, AE_IFLNK, target);
				}
			}
			if (bad && bad->missing_layer && k == im->n - 1)
				snprintf(name, sizeof(name), "%064d.tar", 7);
			json_array_append_new(layers, json_string(name));
		}
		char cfg[160];
		if (style == STYLE_DOCKER25)
			snprintf(cfg, sizeof(cfg), "blobs/sha256/%s", digest_hex(im->config_digest));
		else
			snprintf(cfg, sizeof(cfg), "%s.json", digest_hex(im->config_digest));
		if (bad && bad->config_content) {
			char *copy = strdup(im->config);
			copy[strlen(copy) - 3] = copy[strlen(copy) - 3] == 'a' ? 'b' : 'a';
			tw_file(&t, cfg, copy, im->config_len);
			free(copy);
		} else {
			tw_file(&t, cfg, im->config, im->config_len);
		}
		json_t *tags = json_array();
		if (im->tag)
			json_array_append_new(tags, json_string(im->tag));
		json_array_append_new(man, json_pack("{s:s, s:o, s:o}", "Config", cfg, "RepoTags", tags, "Layers", layers));
	}
	if (style == STYLE_DOCKER25) {
		for (size_t i = 0; i < n; i++) {
			char name[160];
			snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(imgs[i].manifest_digest));
			tw_file(&t, name, imgs[i].manifest, imgs[i].manifest_len);
		}
	}
	char *m = bad && bad->manifest_garbage ? strdup("this is [not json") : image_json_dump(man, NULL);
	tw_file(&t, "manifest.json", m, strlen(m));
	free(m);
	json_decref(man);
	if (style == STYLE_DOCKER25) {
		json_t *mans = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(mans, json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", MT_OCI_MANIFEST,
							      "digest", imgs[i].manifest_digest, "size",
							      (json_int_t)imgs[i].manifest_len, "annotations",
							      ANNOTATION_CONTAINERD_NAME, "docker.io/library/d25:1",
							      ANNOTATION_REF_NAME, "1"));
		json_t *idx = json_pack("{s:i, s:o}", "schemaVersion", 2, "manifests", mans);
		char *s = image_json_dump(idx, NULL);
		tw_file(&t, "index.json", s, strlen(s));
		free(s);
		json_decref(idx);
		tw_file(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	}
	for (size_t w = 0; w < n_written; w++)
		free(written[w]);
	free(written);
	tw_close(&t);
}

/* oci-archive of images (ref.name = tag), index.json last. */
static void make_oci_archive(struct buf *out, struct timage *imgs, size_t n, const struct corrupt *bad)
{
	struct tarw t;
	tw_open(&t, out, NULL);
	tw_file(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	json_t *mans = json_array();
	for (size_t i = 0; i < n; i++) {
		struct timage *im = &imgs[i];
		char name[160];
		for (size_t k = 0; k < im->n; k++) {
			struct tlayer *l = im->layers[k];
			snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(l->blob_digest));
			if (bad && bad->layer_content && k == im->n - 1) {
				char *copy = corrupt_copy(&l->blob);
				tw_file(&t, name, copy, l->blob.len);
				free(copy);
			} else if (!(bad && bad->missing_layer && k == im->n - 1)) {
				tw_file(&t, name, l->blob.data, l->blob.len);
			}
		}
		snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(im->config_digest));
		tw_file(&t, name, im->config, im->config_len);
		snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(im->manifest_digest));
		tw_file(&t, name, im->manifest, im->manifest_len);
		json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", MT_OCI_MANIFEST, "digest", im->manifest_digest, "size",
				      (json_int_t)im->manifest_len);
		if (im->tag)
			json_object_set_new(d, "annotations", json_pack("{s:s}", ANNOTATION_REF_NAME, im->tag));
		json_array_append_new(mans, d);
	}
	if (bad && bad->foreign_platform)
		json_array_append_new(mans, json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", MT_OCI_MANIFEST,
						      "digest", "sha256:" "1111111111111111111111111111111111111111111111111111111111111111",
						      "size", (json_int_t)100, "platform", "os", "linux", "architecture",
						      strcmp(image_host_arch(), "s390x") ? "s390x" : "arm64"));
	json_t *idx = json_pack("{s:i, s:o}", "schemaVersion", 2, "manifests", mans);
	char *s = image_json_dump(idx, NULL);
	tw_file(&t, "index.json", s, strlen(s));
	free(s);
	json_decref(idx);
	tw_close(&t);
}

/* Three layers, two images sharing the base: "two/a:1" (base, top1) and
 * "two/b:1" (base, top2). */
struct fixture {
	struct tlayer base, top1, top2;
	struct timage img[2];
};

static void fixture_make(struct fixture *f, const char *filter)
{
	memset(f, 0, sizeof(*f));
	tlayer_make(&f->base, base_files, filter);
	tlayer_make(&f->top1, top1_files, filter);
	tlayer_make(&f->top2, top2_files, filter);
	f->img[0] = (struct timage){ .layers = { &f->base, &f->top1 }, .n = 2, .tag = "two/a:1" };
	f->img[1] = (struct timage){ .layers = { &f->base, &f->top2 }, .n = 2, .tag = "quay.io/two/b:1" };
	timage_config(&f->img[0], "/bin/sh -c one");
	timage_config(&f->img[1], "/bin/sh -c two");
}

static void fixture_free(struct fixture *f)
{
	buf_free(&f->base.blob);
	buf_free(&f->top1.blob);
	buf_free(&f->top2.blob);
	timage_free(&f->img[0]);
	timage_free(&f->img[1]);
}

/* Load a buffer: through a file (seekable) or a pipe (stream). */
static int load_buf(struct image_store *s, const struct buf *b, bool pipe_it, struct image_load_result *res,
		    hull_error **err)
{
	if (!pipe_it) {
		char path[160];
		snprintf(path, sizeof(path), "%s/in.tar", base);
		write_file(path, b->data, b->len);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		int r = image_load(s, fd, "'in.tar'", res, err);
		close(fd);
		return r;
	}
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		size_t off = 0;
		while (off < b->len) {
			ssize_t n = write(p[1], b->data + off, b->len - off);
			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(p[1]);
	int r = image_load(s, p[0], "stdin", res, err);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return r;
}

static void assert_fixture_loaded(struct image_store *s, struct fixture *f)
{
	struct image_record *a = lookup(s, "localhost/two/a:1");
	struct image_record *b = lookup(s, "quay.io/two/b:1");
	assert_string_equal(a->id, f->img[0].config_digest);
	assert_string_equal(b->id, f->img[1].config_digest);
	/* the base layer is shared: same chain ID, the base's diff ID */
	assert_string_equal(a->layers[0], f->base.diff_id);
	assert_string_equal(b->layers[0], f->base.diff_id);
	char chain[DIGEST_SHA256_LEN + 1];
	digest_chain_id(f->base.diff_id, f->top1.diff_id, chain);
	assert_string_equal(a->layers[1], chain);
	assert_null(a->layers[2]);
	image_record_free(a);
	image_record_free(b);
	assert_int_equal(store_count(s, "layers"), 3);
	assert_int_equal(store_count(s, "images"), 2);
	assert_store_clean(s);
}

/* The top layer of image a unpacked as expected (file added, whiteout). */
static void assert_top1_contents(struct image_store *s, struct fixture *f)
{
	char chain[DIGEST_SHA256_LEN + 1];
	digest_chain_id(f->base.diff_id, f->top1.diff_id, chain);
	_cleanup_free_ char *dir = NULL;
	CHECK_OK(store_layer_path(s, chain, &dir, &e_));
	char p[512];
	snprintf(p, sizeof(p), "%s/etc/app1", dir);
	_cleanup_free_ char *data = NULL;
	assert_int_equal(fs_read_file_at(AT_FDCWD, p, 64, &data, NULL), 0);
	assert_string_equal(data, "one\n");
	struct stat st;
	snprintf(p, sizeof(p), "%s/etc/motd", dir);
	if (strcmp(store_driver(s), "vfs") == 0) {
		assert_int_equal(lstat(p, &st), -1); /* whiteout applied */
		snprintf(p, sizeof(p), "%s/etc/hostname", dir);
		assert_int_equal(lstat(p, &st), 0);
	} else {
		assert_int_equal(lstat(p, &st), 0); /* overlay whiteout: 0/0 char device */
		assert_true(S_ISCHR(st.st_mode));
	}
}

/* ---- tests: changes ---- */

static void test_changes(void **state)
{
	(void)state;
	json_t *c = json_pack("{s:[s]}", "Env", "PATH=/usr/bin");
	char *ok[] = { "CMD [\"/bin/sh\", \"-c\", \"echo hi\"]",
		       "ENTRYPOINT /entry.sh --flag",
		       "ENV=PATH=/bin",
		       "ENV A=1 B=\"two words\"",
		       "ENV LEGACY some value",
		       "env A=3",
		       "EXPOSE 80 53/udp 8000-8001/tcp",
		       "LABEL a=b \"c d\"=e version=1.0",
		       "USER app:app",
		       "VOLUME [\"/data\", \"/cache\"]",
		       "VOLUME /logs",
		       "WORKDIR /srv",
		       "WORKDIR app",
		       "STOPSIGNAL SIGINT",
		       NULL };
	CHECK_OK(image_apply_changes(c, ok, &e_));
	char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		s, "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi\"],"
		   "\"Entrypoint\":[\"/bin/sh\",\"-c\",\"/entry.sh --flag\"],"
		   "\"Env\":[\"PATH=/bin\",\"A=3\",\"B=two words\",\"LEGACY=some value\"],"
		   "\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{}},"
		   "\"Labels\":{\"a\":\"b\",\"c d\":\"e\",\"version\":\"1.0\"},"
		   "\"StopSignal\":\"SIGINT\",\"User\":\"app:app\","
		   "\"Volumes\":{\"/cache\":{},\"/data\":{},\"/logs\":{}},\"WorkingDir\":\"/srv/app\"}");
	free(s);
	json_decref(c);

	static const struct {
		const char *change, *msg;
	} bad[] = {
		{ "FROB x", "unknown instruction 'FROB'" },
		{ "ONBUILD RUN x", "ONBUILD is not supported" },
		{ "EXPOSE 70000", "invalid port '70000'" },
		{ "EXPOSE 80/icmp", "invalid port '80/icmp'" },
		{ "ENV", "expected KEY=VALUE" },
		{ "ENV A=\"unterminated", "unterminated quote" },
		{ "CMD", "missing command" },
		{ "USER", "expected one value" },
		{ "STOPSIGNAL 1000", "invalid signal" },
		{ "= nothing", "expected INSTRUCTION VALUE" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *cfg = json_object();
		char *one[] = { (char *)bad[i].change, NULL };
		hull_error *e = NULL;
		assert_int_equal(image_apply_changes(cfg, one, &e), -1);
		assert_non_null(e);
		if (!strstr(e->msg, bad[i].msg))
			fprintf(stderr, "'%s': got '%s'\n", bad[i].change, e->msg);
		assert_non_null(strstr(e->msg, bad[i].msg));
		assert_non_null(strstr(e->msg, bad[i].change));
		hull_error_free(e);
		json_decref(cfg);
	}
}

/* ---- tests: import ---- */

static void make_rootfs_dir(const char *dir)
{
	char p[256];
	assert_int_equal(fs_mkdir_p(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/bin", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/bin/sh", dir);
	write_file(p, "#!fake shell\n", 13);
	snprintf(p, sizeof(p), "%s/bin/ls", dir);
	assert_int_equal(symlink("sh", p), 0);
	snprintf(p, sizeof(p), "%s/etc", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/hostname", dir);
	write_file(p, "box\n", 4);
}

static void test_import_dir(void **state)
{
	(void)state;
	NEED_DRIVER();
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/rootfs", base);
	make_rootfs_dir(dir);
	struct image_store *s = open_store(root_a);
	assert_non_null(s);
	char *changes[] = { "CMD [\"/bin/sh\"]", "ENV=PATH=/bin", "EXPOSE 8080", "LABEL k=v", NULL };
	struct image_import_opts o = { .changes = changes, .message = "from a dir", .reference = "imp/dir:1" };
	char *id = NULL;
	CHECK_OK(image_import(s, dir, &o, &id, &e_));
	struct image_record *r = lookup(s, "localhost/imp/dir:1");
	assert_string_equal(r->id, id);
	assert_non_null(r->layers[0]);
	assert_null(r->layers[1]);
	json_t *cfg = NULL;
	CHECK_OK(store_image_config(s, r, &cfg, &e_));
	assert_string_equal(image_json_str(cfg, "os"), "linux");
	assert_string_equal(image_json_str(cfg, "architecture"), image_host_arch());
	json_t *cc = json_object_get(cfg, "config");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cc, "Cmd"), 0)), "/bin/sh");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cc, "Env"), 0)), "PATH=/bin");
	assert_non_null(json_object_get(json_object_get(cc, "ExposedPorts"), "8080/tcp"));
	assert_string_equal(image_json_str(json_object_get(cc, "Labels"), "k"), "v");
	json_t *h = json_array_get(json_object_get(cfg, "history"), 0);
	assert_string_equal(image_json_str(h, "comment"), "from a dir");
	assert_non_null(strstr(image_json_str(h, "created_by"), "ADD file:"));
	/* the layer's diff ID is the chain ID of a base layer, and in the config */
	const char *diff = json_string_value(json_array_get(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), 0));
	assert_string_equal(diff, r->layers[0]);
	/* the layer holds the tree */
	_cleanup_free_ char *ldir = NULL;
	CHECK_OK(store_layer_path(s, r->layers[0], &ldir, &e_));
	char p[512];
	snprintf(p, sizeof(p), "%s/etc/hostname", ldir);
	_cleanup_free_ char *data = NULL;
	assert_int_equal(fs_read_file_at(AT_FDCWD, p, 64, &data, NULL), 0);
	assert_string_equal(data, "box\n");
	snprintf(p, sizeof(p), "%s/bin/ls", ldir);
	char target[16] = "";
	assert_int_equal(readlink(p, target, sizeof(target) - 1), 2);
	assert_string_equal(target, "sh");
	/* the manifest lists the config and the uncompressed layer */
	json_t *man = NULL;
	CHECK_OK(store_image_manifest(s, r, &man, &e_));
	assert_string_equal(image_json_str(json_object_get(man, "config"), "digest"), id);
	assert_string_equal(image_json_str(json_array_get(json_object_get(man, "layers"), 0), "mediaType"), MT_OCI_LAYER);
	json_decref(man);
	json_decref(cfg);
	image_record_free(r);
	free(id);
	/* a bad change fails before anything is stored */
	char *bad[] = { "NOPE x", NULL };
	struct image_import_opts ob = { .changes = bad };
	hull_error *e = NULL;
	assert_int_equal(image_import(s, dir, &ob, &id, &e), -1);
	assert_non_null(strstr(e->msg, "unknown instruction 'NOPE'"));
	hull_error_free(e);
	assert_int_equal(store_count(s, "images"), 1);
	assert_store_clean(s);
	store_close(s);
}

static const char *path_plain(const char *dir)
{
	static char p[200];
	snprintf(p, sizeof(p), "%s/rootfs-0.tar", dir);
	return p;
}

static void test_import_tarballs(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct image_store *s = open_store(root_a);
	assert_non_null(s);
	struct buf plain = { 0 };
	make_layer(&plain, base_files, NULL);
	char diff[DIGEST_SHA256_LEN + 1];
	digest_buffer(plain.data, plain.len, diff);
	static const char *const filters[] = { NULL, "gzip", "zstd" };
	static const char *const mts[] = { MT_OCI_LAYER, MT_OCI_LAYER_GZIP, MT_OCI_LAYER_ZSTD };
	char *ids[3] = { 0 };
	for (size_t i = 0; i < 3; i++) {
		struct buf b = { 0 };
		make_layer(&b, base_files, filters[i]);
		char path[160], ref[32];
		snprintf(path, sizeof(path), "%s/rootfs-%zu.tar", base, i);
		write_file(path, b.data, b.len);
		buf_free(&b);
		snprintf(ref, sizeof(ref), "tar:%zu", i);
		struct image_import_opts o = { .reference = ref };
		CHECK_OK(image_import(s, path, &o, &ids[i], &e_));
		struct image_record *r = lookup(s, ref);
		/* the same tree whatever the compression: the same layer */
		assert_string_equal(r->layers[0], diff);
		json_t *cfg = NULL;
		CHECK_OK(store_image_config(s, r, &cfg, &e_));
		json_t *h = json_array_get(json_object_get(cfg, "history"), 0);
		assert_string_equal(image_json_str(h, "comment"), "imported from tarball");
		json_decref(cfg);
		json_t *man = NULL;
		CHECK_OK(store_image_manifest(s, r, &man, &e_));
		struct layer_info *li = NULL;
		CHECK_OK(store_layer_get(s, r->layers[0], &li, &e_));
		/* the manifest names the blob the store keeps for the layer */
		json_t *ld = json_array_get(json_object_get(man, "layers"), 0);
		assert_string_equal(image_json_str(ld, "digest"), li->blob_digest);
		if (i == 0)
			assert_string_equal(image_json_str(ld, "mediaType"), mts[0]);
		layer_info_free(li);
		json_decref(man);
		image_record_free(r);
	}
	(void)mts;
	/* a first import of a zstd tarball, through stdin (a pipe), keeps the
	 * zstd blob with its media type */
	struct image_store *s2 = open_store(root_b);
	struct buf gz = { 0 };
	make_layer(&gz, base_files, "zstd");
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], gz.data, gz.len) != (ssize_t)gz.len)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	int saved = dup(0);
	dup2(p[0], 0);
	close(p[0]);
	char *id = NULL;
	struct image_import_opts o = { .reference = "piped" };
	CHECK_OK(image_import(s2, "-", &o, &id, &e_));
	dup2(saved, 0);
	close(saved);
	waitpid(pid, NULL, 0);
	struct image_record *r = lookup(s2, "localhost/piped:latest");
	json_t *man = NULL;
	CHECK_OK(store_image_manifest(s2, r, &man, &e_));
	json_t *ld = json_array_get(json_object_get(man, "layers"), 0);
	char gzd[DIGEST_SHA256_LEN + 1];
	digest_buffer(gz.data, gz.len, gzd);
	assert_string_equal(image_json_str(ld, "mediaType"), MT_OCI_LAYER_ZSTD);
	assert_string_equal(image_json_str(ld, "digest"), gzd);
	assert_string_equal(r->layers[0], diff);
	json_decref(man);
	image_record_free(r);
	free(id);
	buf_free(&gz);
	assert_store_clean(s2);
	store_close(s2);
	/* no reference: a dangling image (another message: another config,
	 * else it would be tar:0, same content, same id) */
	char *dangling = NULL;
	struct image_import_opts od = { .message = "dangling" };
	CHECK_OK(image_import(s, path_plain(base), &od, &dangling, &e_));
	struct image_record *dr = lookup(s, dangling);
	assert_true(!dr->names || !dr->names[0]);
	image_record_free(dr);
	free(dangling);
	/* a missing source fails cleanly */
	hull_error *e = NULL;
	assert_int_equal(image_import(s, "/nonexistent/x.tar", NULL, &id, &e), -1);
	assert_non_null(strstr(e->msg, "/nonexistent/x.tar"));
	hull_error_free(e);
	for (size_t i = 0; i < 3; i++)
		free(ids[i]);
	buf_free(&plain);
	assert_int_equal(store_count(s, "layers"), 1);
	assert_store_clean(s);
	store_close(s);
}

/* ---- tests: load ---- */

static void test_load_formats(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct fixture f;
	fixture_make(&f, NULL);
	static const enum docker_style styles[] = { STYLE_DOCKER, STYLE_PODMAN, STYLE_DOCKER25 };
	for (size_t st = 0; st < 4; st++) {
		for (int piped = 0; piped < 2; piped++) {
			struct buf b = { 0 };
			if (st < 3)
				make_docker_archive(&b, f.img, 2, styles[st], NULL);
			else
				make_oci_archive(&b, f.img, 2, NULL);
			fs_rm_rf(root_a);
			struct image_store *s = open_store(root_a);
			struct image_load_result res = { 0 };
			CHECK_OK(load_buf(s, &b, piped, &res, &e_));
			assert_non_null(res.ids[0]);
			assert_non_null(res.ids[1]);
			assert_null(res.ids[2]);
			if (st == 2) {
				/* Docker 25: the OCI index is read, names from io.containerd.image.name */
				assert_string_equal(res.names[0], "docker.io/library/d25:1");
				struct image_record *r = lookup(s, "docker.io/library/d25:1");
				assert_string_equal(r->manifest_media_type, MT_OCI_MANIFEST);
				image_record_free(r);
			} else {
				assert_string_equal(res.names[0], "localhost/two/a:1");
				assert_string_equal(res.names[1], "quay.io/two/b:1");
				assert_fixture_loaded(s, &f);
				assert_top1_contents(s, &f);
			}
			image_load_result_clear(&res);
			/* loading it again changes nothing */
			_cleanup_free_ char *before = image_list_string(s);
			CHECK_OK(load_buf(s, &b, piped, &res, &e_));
			_cleanup_free_ char *after = image_list_string(s);
			assert_string_equal(before, after);
			image_load_result_clear(&res);
			store_close(s);
			buf_free(&b);
		}
	}
	/* gzip'd outer archive, and gzip'd layers in an oci-archive */
	struct fixture g;
	fixture_make(&g, "gzip");
	struct buf b = { 0 };
	make_oci_archive(&b, g.img, 2, NULL);
	fs_rm_rf(root_a);
	struct image_store *s = open_store(root_a);
	CHECK_OK(load_buf(s, &b, false, NULL, &e_));
	assert_fixture_loaded(s, &g);
	struct layer_info *li = NULL;
	CHECK_OK(store_layer_get(s, g.base.diff_id, &li, &e_));
	assert_string_equal(li->blob_digest, g.base.blob_digest);
	assert_string_equal(li->media_type, MT_OCI_LAYER_GZIP);
	layer_info_free(li);
	store_close(s);
	buf_free(&b);
	struct buf plain = { 0 };
	make_docker_archive(&plain, f.img, 2, STYLE_PODMAN, NULL);
	/* an index with another platform's image too: only this host's is loaded */
	struct corrupt other = { .foreign_platform = true };
	make_oci_archive(&b, f.img, 2, &other);
	fs_rm_rf(root_a);
	s = open_store(root_a);
	CHECK_OK(load_buf(s, &b, false, NULL, &e_));
	assert_fixture_loaded(s, &f);
	store_close(s);
	buf_free(&b);
	/* gzip the whole archive with libarchive's raw writer */
	struct archive *a = archive_write_new();
	archive_write_add_filter_gzip(a);
	archive_write_set_format_raw(a);
	FILE *mf = open_memstream(&b.data, &b.len);
	struct tarw cd = { .f = mf };
	archive_write_open(a, &cd, NULL, tw_write_cb, NULL);
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_write_header(a, ae);
	archive_write_data(a, plain.data, plain.len);
	archive_entry_free(ae);
	archive_write_close(a);
	archive_write_free(a);
	fclose(mf);
	fs_rm_rf(root_a);
	s = open_store(root_a);
	CHECK_OK(load_buf(s, &b, false, NULL, &e_));
	assert_fixture_loaded(s, &f);
	store_close(s);
	buf_free(&b);
	buf_free(&plain);
	fixture_free(&g);
	fixture_free(&f);
}

static void load_must_fail(struct buf *b, const char *msg)
{
	for (int piped = 0; piped < 2; piped++) {
		struct image_store *s = open_store(root_a);
		_cleanup_free_ char *before = image_list_string(s);
		size_t layers = store_count(s, "layers"), blobs = store_count(s, "blobs");
		hull_error *e = NULL;
		assert_int_equal(load_buf(s, b, piped, NULL, &e), -1);
		assert_non_null(e);
		if (!strstr(e->msg, msg))
			fprintf(stderr, "expected '%s' in '%s'\n", msg, e->msg);
		assert_non_null(strstr(e->msg, msg));
		assert_non_null(strstr(e->msg, piped ? "load stdin" : "load 'in.tar'"));
		hull_error_free(e);
		_cleanup_free_ char *after = image_list_string(s);
		assert_string_equal(before, after);
		store_close(s); /* drops what the failed load made */
		s = open_store(root_a);
		assert_int_equal(store_count(s, "layers"), layers);
		assert_int_equal(store_count(s, "blobs"), blobs);
		assert_store_clean(s);
		store_close(s);
	}
}

static void test_load_corrupt(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct fixture f;
	fixture_make(&f, NULL);
	/* something in the store already: it must stay as it is */
	struct buf good = { 0 };
	struct timage one = f.img[1];
	one.tag = "keep:1";
	make_docker_archive(&good, &one, 1, STYLE_PODMAN, NULL);
	struct image_store *s = open_store(root_a);
	CHECK_OK(load_buf(s, &good, false, NULL, &e_));
	store_close(s);
	buf_free(&good);

	static const struct {
		struct corrupt bad;
		bool oci;
		const char *msg;
	} cases[] = {
		{ { .layer_content = true }, false, "diff ID mismatch" },
		{ { .layer_content = true }, true, "digest mismatch" },
		{ { .config_content = true }, false, "config" },
		{ { .missing_layer = true }, false, "missing from the archive" },
		{ { .missing_layer = true }, true, "missing from the archive" },
		{ { .manifest_garbage = true }, false, "manifest.json" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = { 0 };
		if (cases[i].oci)
			make_oci_archive(&b, f.img, 2, &cases[i].bad);
		else
			make_docker_archive(&b, f.img, 2, STYLE_PODMAN, &cases[i].bad);
		load_must_fail(&b, cases[i].msg);
		buf_free(&b);
	}
	/* config digest mismatch: the message names it */
	struct buf b = { 0 };
	struct corrupt cc = { .config_content = true };
	make_docker_archive(&b, f.img, 2, STYLE_DOCKER25, &cc);
	load_must_fail(&b, "digest mismatch");
	buf_free(&b);
	/* not an archive at all */
	b.data = strdup("plain text, not a tar archive\n");
	b.len = strlen(b.data);
	load_must_fail(&b, "not a tar archive");
	buf_free(&b);
	/* a tar with neither manifest.json nor index.json */
	struct tarw t;
	tw_open(&t, &b, NULL);
	tw_file(&t, "hello.txt", "hi\n", 3);
	tw_close(&t);
	load_must_fail(&b, "not a docker-archive or oci-archive");
	buf_free(&b);
	fixture_free(&f);
}

/* ---- tests: save ---- */

static void test_save_roundtrip(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct fixture f;
	fixture_make(&f, "gzip"); /* stored gzip'd: docker-archive must decompress */
	struct buf b = { 0 };
	make_oci_archive(&b, f.img, 2, NULL);
	struct image_store *a = open_store(root_a);
	CHECK_OK(load_buf(a, &b, false, NULL, &e_));
	buf_free(&b);
	/* a second name for image a, and an id reference */
	CHECK_OK(store_image_tag(a, f.img[0].config_digest, "docker.io/library/alias:2", &e_));
	static const enum image_archive_format formats[] = { IMAGE_ARCHIVE_DOCKER, IMAGE_ARCHIVE_OCI };
	for (size_t fi = 0; fi < 2; fi++) {
		char path[160];
		snprintf(path, sizeof(path), "%s/out-%zu.tar", base, fi);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		char *refs[] = { "two/a:1", "alias:2", "quay.io/two/b:1", NULL };
		CHECK_OK(image_save(a, refs, formats[fi], fd, &e_));
		close(fd);
		for (int piped = 0; piped < 2; piped++) {
			fs_rm_rf(root_b);
			struct image_store *s = open_store(root_b);
			struct buf in = { 0 };
			assert_int_equal(fs_read_file_at(AT_FDCWD, path, 64 << 20, &in.data, &in.len), 0);
			struct image_load_result res = { 0 };
			CHECK_OK(load_buf(s, &in, piped, &res, &e_));
			buf_free(&in);
			assert_fixture_loaded(s, &f);
			assert_top1_contents(s, &f);
			struct image_record *r = lookup(s, "docker.io/library/alias:2");
			assert_string_equal(r->id, f.img[0].config_digest);
			image_record_free(r);
			/* same ids, names and layer chains on both sides */
			_cleanup_free_ char *la = image_list_string(a);
			_cleanup_free_ char *lb = image_list_string(s);
			assert_string_equal(la, lb);
			if (formats[fi] == IMAGE_ARCHIVE_OCI) {
				/* blobs as stored: the gzip blob and the manifest digest kept */
				struct layer_info *li = NULL;
				CHECK_OK(store_layer_get(s, f.base.diff_id, &li, &e_));
				assert_string_equal(li->blob_digest, f.base.blob_digest);
				layer_info_free(li);
				r = lookup(s, "quay.io/two/b:1");
				assert_string_equal(r->manifest_digest, f.img[1].manifest_digest);
				image_record_free(r);
			} else {
				/* docker-archive layers are uncompressed: blob digest = diff ID */
				struct layer_info *li = NULL;
				CHECK_OK(store_layer_get(s, f.base.diff_id, &li, &e_));
				assert_string_equal(li->blob_digest, f.base.diff_id);
				assert_string_equal(li->media_type, MT_DOCKER_LAYER);
				layer_info_free(li);
			}
			image_load_result_clear(&res);
			store_close(s);
		}
	}
	/* docker-archive layout: manifest.json first, each layer once */
	char path[160];
	snprintf(path, sizeof(path), "%s/out-0.tar", base);
	struct archive *ar = archive_read_new();
	archive_read_support_format_tar(ar);
	assert_int_equal(archive_read_open_filename(ar, path, 1 << 16), ARCHIVE_OK);
	struct archive_entry *ae;
	size_t n = 0, tars = 0;
	while (archive_read_next_header(ar, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		if (n++ == 0)
			assert_string_equal(name, "manifest.json");
		if (strstr(name, ".tar"))
			tars++;
		if (strcmp(name, "manifest.json") == 0) {
			char buf[4096];
			la_ssize_t len = archive_read_data(ar, buf, sizeof(buf) - 1);
			assert_true(len > 0);
			buf[len] = '\0';
			assert_non_null(strstr(buf, "\"localhost/two/a:1\""));
			assert_non_null(strstr(buf, "\"docker.io/library/alias:2\""));
		}
	}
	archive_read_free(ar);
	assert_int_equal(tars, 3);
	/* an unknown image fails and writes nothing */
	char *missing[] = { "nope:1", NULL };
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	hull_error *e = NULL;
	assert_int_equal(image_save(a, missing, IMAGE_ARCHIVE_DOCKER, fd, &e), -1);
	assert_non_null(strstr(e->msg, "nope"));
	hull_error_free(e);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	assert_store_clean(a);
	store_close(a);
	fixture_free(&f);
}

/* ---- tests: inspect and history ---- */

static void test_inspect_history(void **state)
{
	(void)state;
	NEED_DRIVER();
	struct fixture f;
	fixture_make(&f, NULL);
	struct buf b = { 0 };
	make_oci_archive(&b, f.img, 2, NULL);
	struct image_store *s = open_store(root_a);
	CHECK_OK(load_buf(s, &b, false, NULL, &e_));
	buf_free(&b);
	struct image_record *r = lookup(s, "two/a:1");
	json_t *j = NULL;
	CHECK_OK(image_inspect_json(s, r, &j, &e_));
	static const char *const keys[] = { "Id",	     "Digest",	 "RepoTags",	 "RepoDigests", "Parent",
					    "Comment",	     "Created",	 "Config",	 "Version",	"Author",
					    "Architecture", "Os",	 "Size",	 "VirtualSize", "GraphDriver",
					    "RootFS",	     "Labels",	 "Annotations", "ManifestType", "User",
					    "History",	     "NamesHistory" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!json_object_get(j, keys[i]))
			fprintf(stderr, "missing %s\n", keys[i]);
		assert_non_null(json_object_get(j, keys[i]));
	}
	assert_string_equal(image_json_str(j, "Id"), digest_hex(f.img[0].config_digest));
	assert_string_equal(image_json_str(j, "Digest"), f.img[0].manifest_digest);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "RepoTags"), 0)), "localhost/two/a:1");
	char rd[200];
	snprintf(rd, sizeof(rd), "localhost/two/a@%s", f.img[0].manifest_digest);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "RepoDigests"), 0)), rd);
	assert_string_equal(image_json_str(j, "Created"), "2026-01-02T03:04:05Z");
	assert_string_equal(image_json_str(j, "ManifestType"), MT_OCI_MANIFEST);
	assert_string_equal(image_json_str(json_object_get(j, "GraphDriver"), "Name"), store_driver(s));
	json_t *layers = json_object_get(json_object_get(j, "RootFS"), "Layers");
	assert_int_equal(json_array_size(layers), 2);
	assert_string_equal(json_string_value(json_array_get(layers, 1)), f.top1.diff_id);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(j, "Config"), "Cmd"), 0)),
			    "/bin/sh -c one");
	assert_int_equal(json_integer_value(json_object_get(j, "Size")), (json_int_t)r->size);
	json_decref(j);

	CHECK_OK(image_history_json(s, r, &j, &e_));
	/* one history entry for two layers: one row, the image's id */
	assert_int_equal(json_array_size(j), 1);
	json_t *row = json_array_get(j, 0);
	assert_string_equal(image_json_str(row, "id"), digest_hex(r->id));
	assert_string_equal(image_json_str(row, "created_by"), "/bin/sh -c one");
	assert_true(json_is_integer(json_object_get(row, "size")));
	json_decref(j);
	image_record_free(r);
	store_close(s);

	/* an imported image: history as Podman writes it, newest first */
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/rootfs", base);
	make_rootfs_dir(dir);
	s = open_store(root_b);
	char *id = NULL;
	struct image_import_opts o = { .message = "msg", .reference = "h:1" };
	CHECK_OK(image_import(s, dir, &o, &id, &e_));
	r = lookup(s, "h:1");
	CHECK_OK(image_history_json(s, r, &j, &e_));
	assert_int_equal(json_array_size(j), 1);
	row = json_array_get(j, 0);
	assert_string_equal(image_json_str(row, "comment"), "msg");
	assert_true(json_integer_value(json_object_get(row, "size")) > 0);
	json_decref(j);
	CHECK_OK(image_inspect_json(s, r, &j, &e_));
	assert_string_equal(image_json_str(j, "Comment"), "msg");
	assert_true(json_is_null(json_object_get(j, "Labels")));
	json_decref(j);
	image_record_free(r);
	free(id);
	store_close(s);
	fixture_free(&f);
}

static void test_helpers(void **state)
{
	(void)state;
	struct timespec ts = { 1764175421, 836622595 };
	_cleanup_free_ char *t = image_time_format(&ts);
	assert_string_equal(t, "2025-11-26T16:43:41.836622595Z");
	struct timespec ts2 = { 1764175421, 500000000 };
	_cleanup_free_ char *t2 = image_time_format(&ts2);
	assert_string_equal(t2, "2025-11-26T16:43:41.5Z");
	struct timespec ts3 = { 1764175421, 0 };
	_cleanup_free_ char *t3 = image_time_format(&ts3);
	assert_string_equal(t3, "2025-11-26T16:43:41Z");
	assert_string_equal(image_sniff_compression("\x1f\x8b\x08", 3), "gzip");
	assert_string_equal(image_sniff_compression("\x28\xb5\x2f\xfd", 4), "zstd");
	assert_string_equal(image_sniff_compression("bin/", 4), "none");
	assert_string_equal(image_layer_media_type("gzip", true), MT_DOCKER_LAYER_GZIP);
	assert_string_equal(image_layer_media_type("none", true), MT_DOCKER_LAYER);
	assert_string_equal(image_layer_media_type("zstd", false), MT_OCI_LAYER_ZSTD);
	assert_true(image_media_type_is_layer(MT_DOCKER_LAYER));
	assert_false(image_media_type_is_layer(MT_OCI_CONFIG));
}

int main(void)
{
	static const char *vfs = "vfs", *overlay = "overlay";
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_changes),
		cmocka_unit_test_prestate_setup_teardown(test_import_dir, setup, teardown, (void *)vfs),
		cmocka_unit_test_prestate_setup_teardown(test_import_dir, setup, teardown, (void *)overlay),
		cmocka_unit_test_prestate_setup_teardown(test_import_tarballs, setup, teardown, (void *)vfs),
		cmocka_unit_test_prestate_setup_teardown(test_import_tarballs, setup, teardown, (void *)overlay),
		cmocka_unit_test_prestate_setup_teardown(test_load_formats, setup, teardown, (void *)vfs),
		cmocka_unit_test_prestate_setup_teardown(test_load_formats, setup, teardown, (void *)overlay),
		cmocka_unit_test_prestate_setup_teardown(test_load_corrupt, setup, teardown, (void *)vfs),
		cmocka_unit_test_prestate_setup_teardown(test_load_corrupt, setup, teardown, (void *)overlay),
		cmocka_unit_test_prestate_setup_teardown(test_save_roundtrip, setup, teardown, (void *)vfs),
		cmocka_unit_test_prestate_setup_teardown(test_save_roundtrip, setup, teardown, (void *)overlay),
		cmocka_unit_test_prestate_setup_teardown(test_inspect_history, setup, teardown, (void *)vfs),
		cmocka_unit_test_prestate_setup_teardown(test_inspect_history, setup, teardown, (void *)overlay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
