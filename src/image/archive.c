/* archive.c - `hull load`: docker-archive and oci-archive into the store.
 *
 * The outer tar is read once with libarchive (any compression).  Small
 * JSON files (manifest.json, index.json, configs, manifests) are kept in
 * memory; every other file is a layer candidate.  The archives Docker and
 * Podman write put manifest.json / index.json last, after the layers, so a
 * layer's parent is not known while it streams past.  Two modes:
 *   - seekable: an uncompressed tar in a regular file (the usual case).
 *     The first pass only records where each layer's bytes lie; once the
 *     images are known, each missing layer is unpacked straight from its
 *     byte range (a feeder child splices it into a pipe) on top of its
 *     parent.  Layer bytes are read once.
 *   - stream: a pipe or a compressed archive.  Layer candidates are copied
 *     into a staging directory as they pass and unpacked from there.
 * Nothing is published until every image's metadata checks out and all
 * layers are in; images are published last, all together.
 * save is in archive_save.c.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/digest.h"

#define LOAD_MAX_ENTRIES 100000
#define LOAD_JSON_TOTAL_MAX ((size_t)256 << 20)
#define LOAD_MAX_LINKS 16
#define LOAD_BLOCK (1u << 20)
#define LOAD_MAX_IMAGES 4096

struct arc_entry {
	char *name;      /* normalised path inside the archive */
	char *link;      /* symlink / hardlink target, normalised; NULL for files */
	uint64_t size;
	int64_t data_off; /* seekable mode: offset of the data in the input; -1 if unknown */
	char *data;      /* JSON kept in memory (NUL-terminated) or NULL */
	size_t data_len;
	char *staged;    /* stream mode: path of the staged copy */
	char blob_digest[DIGEST_SHA256_LEN + 1]; /* stream mode: of the staged copy */
	unsigned char head[8];
	size_t head_len;
};

struct load_layer {
	struct arc_entry *entry;
	char *path;              /* as the manifest names it (owned) */
	char *expected_blob;     /* descriptor digest, or NULL */
	const char *diff_id;     /* from the config (borrowed from config json) */
	char *media_type;        /* descriptor's (owned), or NULL: sniffed */
	bool docker;             /* docker-archive: media type from compression */
	char chain_id[DIGEST_SHA256_LEN + 1];
	struct layer_info *info; /* once in the store */
};

struct load_image {
	char config_digest[DIGEST_SHA256_LEN + 1];
	struct arc_entry *config;
	json_t *config_json;
	struct arc_entry *manifest; /* OCI: the manifest blob; docker: NULL (built) */
	char manifest_media_type[128];
	struct load_layer *layers;
	size_t n_layers;
	char **names;
	size_t n_names;
	char *what; /* "image 2 (config sha256:...)" for messages */
};

struct load_ctx {
	struct image_store *s;
	const char *what;
	int fd;
	bool seekable;
	bool relocate; /* seekable mode found an entry it cannot locate: redo as stream */
	off_t base;
	struct arc_entry *e;
	size_t n, cap;
	size_t json_total;
	char *tmp; /* stream mode staging dir */
	unsigned staged_n;
	struct load_image *img;
	size_t n_img;
};

void image_load_result_clear(struct image_load_result *r)
{
	if (!r)
		return;
	strv_free(r->ids);
	strv_free(r->names);
	r->ids = NULL;
	r->names = NULL;
}

/* ---- entry names ---- */

/* Normalise an archive path: no leading "/" or "./", no "." components,
 * ".." resolved (refused above the root: NULL). */
static char *path_normalise(const char *dir, const char *p)
{
	size_t cap = (dir ? strlen(dir) : 0) + strlen(p) + 2;
	_cleanup_free_ char *in = malloc(cap);
	char *out = malloc(cap);
	if (!in || !out) {
		free(out);
		return NULL;
	}
	if (dir && *dir && p[0] != '/')
		snprintf(in, cap, "%s/%s", dir, p);
	else
		snprintf(in, cap, "%s", p);
	size_t len = 0;
	char *save = NULL;
	for (char *c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (len == 0) {
				free(out);
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			continue;
		}
		if (len)
			out[len++] = '/';
		size_t cl = strlen(c);
		memcpy(out + len, c, cl);
		len += cl;
	}
	out[len] = '\0';
	return out;
}

static struct arc_entry *entry_find(struct load_ctx *c, const char *name)
{
	for (size_t i = c->n; i-- > 0;)
		if (strcmp(c->e[i].name, name) == 0)
			return &c->e[i];
	return NULL;
}

/* Look a path named by a manifest up, following links inside the archive. */
static struct arc_entry *entry_resolve(struct load_ctx *c, const char *path)
{
	_cleanup_free_ char *norm = path_normalise(NULL, path);
	if (!norm)
		return NULL;
	struct arc_entry *e = entry_find(c, norm);
	for (int hops = 0; e && e->link && hops < LOAD_MAX_LINKS; hops++)
		e = entry_find(c, e->link);
	return e && !e->link ? e : NULL;
}

static void entries_free(struct load_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].name);
		free(c->e[i].link);
		free(c->e[i].data);
		free(c->e[i].staged);
	}
	free(c->e);
	c->e = NULL;
	c->n = c->cap = 0;
	c->json_total = 0;
}

static struct arc_entry *entry_add(struct load_ctx *c, char *name)
{
	if (c->n >= LOAD_MAX_ENTRIES)
		return NULL;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		struct arc_entry *ne = realloc(c->e, ncap * sizeof(*ne));
		if (!ne)
			return NULL;
		c->e = ne;
		c->cap = ncap;
	}
	struct arc_entry *e = &c->e[c->n++];
	*e = (struct arc_entry){ .name = name, .data_off = -1 };
	return e;
}

static bool is_json_name(const char *name)
{
	static const char *const known[] = { "manifest.json", "index.json", "oci-layout", "repositories" };
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static bool looks_json(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')
			continue;
		return b[i] == '{' || b[i] == '[';
	}
	return false;
}

/* ---- reading the outer archive ---- */

/* An entry's data through archive_read_data_block only (mixing it with
 * archive_read_data loses bytes), refusing holes (sparse entries). */
struct ent_reader {
	struct archive *a;
	const char *blk;
	size_t len, pos;
	uint64_t at; /* offset in the entry of blk[pos] */
};

/* Make data available in blk[pos..len): 1, 0 at the end, -1 on error. */
static int er_fill(struct ent_reader *r)
{
	while (r->pos >= r->len) {
		const void *b;
		size_t len;
		la_int64_t off;
		int ar = archive_read_data_block(r->a, &b, &len, &off);
		if (ar == ARCHIVE_EOF)
			return 0;
		if (ar < ARCHIVE_WARN)
			return -1;
		if (off < 0 || (uint64_t)off != r->at) {
			archive_set_error(r->a, EINVAL, "sparse entry");
			return -1;
		}
		r->blk = b;
		r->len = len;
		r->pos = 0;
	}
	return 1;
}

/* The next piece of data (1, with ret and ret_len), 0 at the end, -1 on error. */
static int er_chunk(struct ent_reader *r, const char **ret, size_t *ret_len)
{
	int k = er_fill(r);
	if (k <= 0)
		return k;
	*ret = r->blk + r->pos;
	*ret_len = r->len - r->pos;
	r->pos = r->len;
	r->at += *ret_len;
	return 1;
}

/* Read up to len bytes; returns how many (fewer only at the end) or -1. */
static ssize_t er_read(struct ent_reader *r, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		int k = er_fill(r);
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		size_t n = r->len - r->pos < len - got ? r->len - r->pos : len - got;
		memcpy((char *)buf + got, r->blk + r->pos, n);
		r->pos += n;
		r->at += n;
		got += n;
	}
	return (ssize_t)got;
}

static int entry_keep_json(struct load_ctx *c, struct ent_reader *er, struct arc_entry *e, hull_error **err)
{
	if (c->json_total + e->size > LOAD_JSON_TOTAL_MAX)
		return hull_error_set(err, 0, "'%s': too much metadata in the archive", e->name);
	e->data = malloc(e->size + 1);
	if (!e->data)
		return hull_error_set(err, ENOMEM, "read '%s'", e->name);
	memcpy(e->data, e->head, e->head_len);
	size_t rest = (size_t)e->size - e->head_len;
	ssize_t n = er_read(er, e->data + e->head_len, rest);
	if (n < 0)
		return hull_error_set(err, 0, "read '%s': %s", e->name, archive_error_string(er->a));
	if ((size_t)n != rest)
		return hull_error_set(err, 0, "read '%s': truncated", e->name);
	e->data[e->size] = '\0';
	e->data_len = (size_t)e->size;
	c->json_total += e->size;
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Stream mode: copy a layer candidate into the staging dir, hashing it. */
static int entry_stage(struct load_ctx *c, struct ent_reader *er, struct arc_entry *e, hull_error **err)
{
	if (!c->tmp && store_tmp_dir(c->s, &c->tmp, err) < 0)
		return -1;
	if (asprintf(&e->staged, "%s/%u", c->tmp, c->staged_n++) < 0) {
		e->staged = NULL;
		return hull_error_set(err, ENOMEM, "stage '%s'", e->name);
	}
	_cleanup_close_ int fd = open(e->staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error_set(err, errno, "create '%s'", e->staged);
	struct digester *d = digester_new();
	if (!d)
		return hull_error_set(err, ENOMEM, "stage '%s'", e->name);
	digester_update(d, e->head, e->head_len);
	int r = write_full(fd, e->head, e->head_len);
	while (r == 0) {
		const char *buf;
		size_t len;
		int k = er_chunk(er, &buf, &len);
		if (k == 0)
			break;
		if (k < 0) {
			digester_free(d);
			return hull_error_set(err, 0, "read '%s': %s", e->name, archive_error_string(er->a));
		}
		digester_update(d, buf, len);
		r = write_full(fd, buf, len);
	}
	if (r < 0) {
		digester_free(d);
		return hull_error_set(err, -r, "write '%s'", e->staged);
	}
	if (digester_bytes(d) != e->size) {
		digester_free(d);
		return hull_error_set(err, 0, "read '%s': sparse or truncated entry", e->name);
	}
	digester_final(d, e->blob_digest);
	digester_free(d);
	return 0;
}

/* A regular file: keep JSON in memory, note where a layer lies (seekable)
 * or stage it (stream). */
static int entry_file(struct load_ctx *c, struct archive *a, struct archive_entry *ae, char *name,
		      hull_error **err)
{
	struct arc_entry *e = entry_add(c, name);
	if (!e) {
		free(name);
		return hull_error_set(err, 0, "too many entries in the archive");
	}
	e->size = archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0 ? (uint64_t)archive_entry_size(ae) : 0;
	if (c->seekable)
		e->data_off = (int64_t)c->base + (int64_t)archive_filter_bytes(a, 0);
	struct ent_reader er = { .a = a };
	size_t want = e->size < sizeof(e->head) ? (size_t)e->size : sizeof(e->head);
	ssize_t n = er_read(&er, e->head, want);
	if (n < 0 || (size_t)n != want)
		return hull_error_set(err, 0, "read '%s': %s", e->name, n < 0 ? archive_error_string(a) : "truncated");
	e->head_len = want;
	if (c->seekable && want > 0) {
		unsigned char chk[sizeof(e->head)];
		if (archive_entry_sparse_count(ae) > 0 || pread(c->fd, chk, want, e->data_off) != (ssize_t)want ||
		    memcmp(chk, e->head, want) != 0)
			e->data_off = -1; /* cannot be read from its place */
	}
	bool compressed = strcmp(image_sniff_compression(e->head, e->head_len), "none") != 0;
	if (e->size <= IMAGE_JSON_MAX && !compressed && (is_json_name(e->name) || looks_json(e->head, e->head_len)))
		return entry_keep_json(c, &er, e, err);
	if (!c->seekable)
		return entry_stage(c, &er, e, err);
	return 0;
}

static int entry_link(struct load_ctx *c, struct archive_entry *ae, char *name, hull_error **err)
{
	const char *hard = archive_entry_hardlink(ae);
	const char *sym = archive_entry_symlink(ae);
	char *target = NULL;
	if (hard) {
		target = path_normalise(NULL, hard);
	} else if (sym) {
		_cleanup_free_ char *dir = strdup(name);
		if (!dir) {
			free(name);
			return hull_error_set(err, ENOMEM, "read archive");
		}
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			dir[0] = '\0';
		target = path_normalise(dir, sym);
	}
	if (!target) { /* pointing outside the archive: not usable, ignore */
		free(name);
		return 0;
	}
	struct arc_entry *e = entry_add(c, name);
	if (!e) {
		free(name);
		free(target);
		return hull_error_set(err, 0, "too many entries in the archive");
	}
	e->link = target;
	return 0;
}

static int read_entries(struct load_ctx *c, hull_error **err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return hull_error_set(err, ENOMEM, "read archive");
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_all(a);
	int r = 0;
	if (archive_read_open_fd(a, c->fd, LOAD_BLOCK) != ARCHIVE_OK) {
		r = hull_error_set(err, 0, "not a tar archive: %s", archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	bool first = true;
	for (;;) {
		struct archive_entry *ae;
		int ar = archive_read_next_header(a, &ae);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = hull_error_set(err, 0, "%s: %s", first ? "not a tar archive" : "read archive",
					   archive_error_string(a));
			break;
		}
		if (first) {
			first = false;
			/* compressed outer archives cannot be read by offset */
			if (archive_filter_count(a) > 1 || archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE)
				c->seekable = false;
		}
		char *name = path_normalise(NULL, archive_entry_pathname(ae));
		if (!name || !*name) {
			free(name);
			continue;
		}
		mode_t type = archive_entry_filetype(ae);
		if (archive_entry_hardlink(ae) || type == AE_IFLNK)
			r = entry_link(c, ae, name, err);
		else if (type == AE_IFREG)
			r = entry_file(c, a, ae, name, err);
		else
			free(name);
		if (r < 0)
			break;
	}
	archive_read_free(a);
	return r;
}

/* ---- images from the metadata ---- */

static void image_free(struct load_image *im)
{
	for (size_t i = 0; i < im->n_layers; i++) {
		free(im->layers[i].expected_blob);
		free(im->layers[i].media_type);
		free(im->layers[i].path);
		layer_info_free(im->layers[i].info);
	}
	free(im->layers);
	for (size_t i = 0; i < im->n_names; i++)
		free(im->names[i]);
	free(im->names);
	json_decref(im->config_json);
	free(im->what);
}

static struct load_image *image_add(struct load_ctx *c, hull_error **err)
{
	if (c->n_img >= LOAD_MAX_IMAGES) {
		hull_error_set(err, 0, "too many images in the archive");
		return NULL;
	}
	struct load_image *ni = realloc(c->img, (c->n_img + 1) * sizeof(*ni));
	if (!ni) {
		hull_error_set(err, ENOMEM, "read archive");
		return NULL;
	}
	c->img = ni;
	struct load_image *im = &c->img[c->n_img++];
	*im = (struct load_image){ 0 };
	return im;
}

static int image_add_name(struct load_image *im, const char *raw, hull_error **err)
{
	struct image_ref ref = { 0 };
	if (ref_normalize(raw, NULL, &ref, err) < 0)
		return hull_error_wrap(err, "%s: name", im->what);
	char *s = ref_string(&ref);
	ref_clear(&ref);
	if (!s)
		return hull_error_set(err, ENOMEM, "%s: name", im->what);
	for (size_t i = 0; i < im->n_names; i++)
		if (strcmp(im->names[i], s) == 0) {
			free(s);
			return 0;
		}
	char **nv = realloc(im->names, (im->n_names + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return hull_error_set(err, ENOMEM, "%s: name", im->what);
	}
	im->names = nv;
	im->names[im->n_names++] = s;
	im->names[im->n_names] = NULL;
	return 0;
}

/* The digest a path claims by its name: blobs/sha256/<hex>, <hex>.json,
 * sha256:<hex>; NULL when it claims none. */
static char *claimed_digest(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char hex[65];
	size_t n = strlen(base);
	if (strncmp(base, "sha256:", 7) == 0 && n == 71)
		memcpy(hex, base + 7, 64);
	else if (n == 69 && strcmp(base + 64, ".json") == 0)
		memcpy(hex, base, 64);
	else if (n == 64 && strstr(path, "sha256/"))
		memcpy(hex, base, 64);
	else
		return NULL;
	hex[64] = '\0';
	char *d = NULL;
	if (asprintf(&d, "sha256:%s", hex) < 0)
		return NULL;
	if (!digest_valid(d)) {
		free(d);
		return NULL;
	}
	return d;
}

/* Check a JSON blob's digest and parse it. */
static int blob_json(struct arc_entry *e, const char *expected, const char *what, char out_digest[static DIGEST_SHA256_LEN + 1],
		     json_t **ret, hull_error **err)
{
	if (!e->data)
		return hull_error_set(err, 0, "%s '%s': not a JSON document", what, e->name);
	digest_buffer(e->data, e->data_len, out_digest);
	if (expected && strcmp(expected, out_digest) != 0)
		return hull_error_set(err, 0, "%s '%s': digest mismatch: expected %s, got %s", what, e->name,
				      expected, out_digest);
	_cleanup_free_ char *w = NULL;
	if (asprintf(&w, "%s '%s'", what, e->name) < 0)
		return hull_error_set(err, ENOMEM, "parse %s", what);
	return image_json_parse(e->data, e->data_len, w, ret, err);
}

/* The config of an image: digest checked (against claimed when given),
 * parsed, diff_ids read. */
static int image_set_config(struct load_ctx *c, struct load_image *im, const char *path, const char *claimed,
			    json_t **ret_diff_ids, hull_error **err)
{
	im->config = entry_resolve(c, path);
	if (!im->config)
		return hull_error_set(err, 0, "%s: config '%s' missing from the archive", im->what, path);
	_cleanup_free_ char *own_claim = claimed ? NULL : claimed_digest(path);
	if (blob_json(im->config, claimed ? claimed : own_claim, "config", im->config_digest, &im->config_json, err) < 0)
		return hull_error_wrap(err, "%s", im->what);
	*ret_diff_ids = image_config_diff_ids(im->config_json, "config", err);
	if (!*ret_diff_ids)
		return hull_error_wrap(err, "%s", im->what);
	return 0;
}

static int image_alloc_layers(struct load_image *im, size_t n, hull_error **err)
{
	im->layers = calloc(n ? n : 1, sizeof(*im->layers));
	if (!im->layers)
		return hull_error_set(err, ENOMEM, "%s", im->what);
	im->n_layers = n;
	return 0;
}

/* Fill layer i; the chain ID follows from the parent's. */
static int layer_set(struct load_ctx *c, struct load_image *im, size_t i, const char *path, const char *expected_blob,
		     const char *media_type, json_t *diff_ids, hull_error **err)
{
	struct load_layer *l = &im->layers[i];
	if (!(l->path = strdup(path)))
		return hull_error_set(err, ENOMEM, "%s", im->what);
	l->entry = entry_resolve(c, path);
	if (!l->entry)
		return hull_error_set(err, 0, "%s: layer '%s' missing from the archive", im->what, path);
	l->diff_id = json_string_value(json_array_get(diff_ids, i));
	if (expected_blob && !(l->expected_blob = strdup(expected_blob)))
		return hull_error_set(err, ENOMEM, "%s", im->what);
	if (media_type && !(l->media_type = strdup(media_type)))
		return hull_error_set(err, ENOMEM, "%s", im->what);
	digest_chain_id(i ? im->layers[i - 1].chain_id : NULL, l->diff_id, l->chain_id);
	if (c->seekable && l->entry->data_off < 0 && !l->entry->data)
		c->relocate = true;
	return 0;
}

/* docker-archive: manifest.json = [{Config, RepoTags, Layers}, ...] */
static int docker_image(struct load_ctx *c, json_t *item, size_t idx, hull_error **err)
{
	struct load_image *im = image_add(c, err);
	if (!im)
		return -1;
	if (asprintf(&im->what, "image %zu of manifest.json", idx + 1) < 0) {
		im->what = NULL;
		return hull_error_set(err, ENOMEM, "read manifest.json");
	}
	const char *cfg = image_json_str(item, "Config");
	json_t *layers = json_object_get(item, "Layers");
	json_t *tags = json_object_get(item, "RepoTags");
	if (!cfg || !json_is_array(layers) || !(json_is_array(tags) || !tags || json_is_null(tags)))
		return hull_error_set(err, 0, "%s: expected Config, Layers and RepoTags", im->what);
	json_t *diff_ids = NULL;
	if (image_set_config(c, im, cfg, NULL, &diff_ids, err) < 0)
		return -1;
	free(im->what);
	if (asprintf(&im->what, "image '%s'", im->config_digest) < 0) {
		im->what = NULL;
		return hull_error_set(err, ENOMEM, "read manifest.json");
	}
	if (json_array_size(layers) != json_array_size(diff_ids))
		return hull_error_set(err, 0, "%s: manifest.json lists %zu layers, the config %zu diff IDs", im->what,
				      json_array_size(layers), json_array_size(diff_ids));
	if (image_alloc_layers(im, json_array_size(layers), err) < 0)
		return -1;
	snprintf(im->manifest_media_type, sizeof(im->manifest_media_type), "%s", MT_DOCKER_MANIFEST);
	size_t i;
	json_t *v;
	json_array_foreach(layers, i, v)
	{
		const char *p = json_string_value(v);
		if (!p)
			return hull_error_set(err, 0, "%s: Layers[%zu] is not a string", im->what, i);
		/* blobs/sha256/<hex> (Docker 25+) names the blob's digest */
		_cleanup_free_ char *claim = strstr(p, "sha256/") ? claimed_digest(p) : NULL;
		if (layer_set(c, im, i, p, claim, NULL, diff_ids, err) < 0)
			return -1;
		im->layers[i].docker = true;
	}
	json_array_foreach(tags, i, v)
	{
		if (!json_is_string(v) || image_add_name(im, json_string_value(v), err) < 0)
			return json_is_string(v) ? -1 : hull_error_set(err, 0, "%s: RepoTags[%zu] is not a string", im->what, i);
	}
	return 0;
}

static int docker_images(struct load_ctx *c, struct arc_entry *m, hull_error **err)
{
	json_error_t je;
	json_t *arr = json_loadb(m->data, m->data_len, 0, &je);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return hull_error_set(err, 0, "parse manifest.json: %s", arr ? "not a JSON array" : je.text);
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return hull_error_set(err, 0, "manifest.json lists no image");
	}
	int r = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if ((r = docker_image(c, v, i, err)) < 0)
			break;
	}
	json_decref(arr);
	return r;
}

/* ---- oci-archive ---- */

static struct arc_entry *oci_blob(struct load_ctx *c, const char *digest)
{
	if (!digest_valid(digest))
		return NULL;
	char p[96];
	snprintf(p, sizeof(p), "blobs/sha256/%s", digest_hex(digest));
	return entry_resolve(c, p);
}

static int oci_image(struct load_ctx *c, json_t *desc, const char *name, hull_error **err);

/* A nested index: pick the manifest for this host (linux/<arch>), or the
 * only one. */
static int oci_nested_index(struct load_ctx *c, struct arc_entry *e, const char *digest, const char *name,
			    hull_error **err)
{
	char got[DIGEST_SHA256_LEN + 1];
	json_t *idx = NULL;
	if (blob_json(e, digest, "index", got, &idx, err) < 0)
		return -1;
	json_t *mans = json_object_get(idx, "manifests");
	json_t *pick = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(mans, i, m)
	{
		json_t *pf = json_object_get(m, "platform");
		const char *os = image_json_str(pf, "os"), *arch = image_json_str(pf, "architecture");
		if (!image_media_type_is_manifest(image_json_str(m, "mediaType")))
			continue;
		if (!pick && (!pf || (os && strcmp(os, "linux") == 0 && arch && strcmp(arch, image_host_arch()) == 0)))
			pick = m;
	}
	int r = pick ? oci_image(c, pick, name, err)
		     : hull_error_set(err, 0, "index '%s': no image for linux/%s", digest, image_host_arch());
	json_decref(idx);
	return r;
}

static int oci_image(struct load_ctx *c, json_t *desc, const char *name, hull_error **err)
{
	const char *digest = image_json_str(desc, "digest");
	const char *mt = image_json_str(desc, "mediaType");
	if (digest_check(digest, "index.json manifest", err) < 0)
		return -1;
	struct arc_entry *e = oci_blob(c, digest);
	if (!e)
		return hull_error_set(err, 0, "manifest '%s' missing from the archive", digest);
	if (image_media_type_is_index(mt))
		return oci_nested_index(c, e, digest, name, err);
	struct load_image *im = image_add(c, err);
	if (!im)
		return -1;
	if (asprintf(&im->what, "image manifest '%s'", digest) < 0) {
		im->what = NULL;
		return hull_error_set(err, ENOMEM, "read index.json");
	}
	char got[DIGEST_SHA256_LEN + 1];
	json_t *man = NULL;
	if (blob_json(e, digest, "manifest", got, &man, err) < 0)
		return hull_error_wrap(err, "%s", im->what);
	im->manifest = e;
	const char *own_mt = image_json_str(man, "mediaType");
	snprintf(im->manifest_media_type, sizeof(im->manifest_media_type), "%s",
		 own_mt ? own_mt : mt ? mt : MT_OCI_MANIFEST);
	int r = 0;
	json_t *cdesc = json_object_get(man, "config");
	json_t *layers = json_object_get(man, "layers");
	json_t *diff_ids = NULL;
	const char *cdigest = image_json_str(cdesc, "digest");
	if (!image_media_type_is_manifest(im->manifest_media_type))
		r = hull_error_set(err, 0, "%s: unsupported media type '%s'", im->what, im->manifest_media_type);
	else if (!cdigest || !json_is_array(layers))
		r = hull_error_set(err, 0, "%s: no config or layers", im->what);
	else if (digest_check(cdigest, "config", err) < 0)
		r = hull_error_wrap(err, "%s", im->what);
	if (r == 0) {
		char p[96];
		snprintf(p, sizeof(p), "blobs/sha256/%s", digest_hex(cdigest));
		r = image_set_config(c, im, p, cdigest, &diff_ids, err);
	}
	if (r == 0 && json_array_size(layers) != json_array_size(diff_ids))
		r = hull_error_set(err, 0, "%s: %zu layers but %zu diff IDs in the config", im->what,
				   json_array_size(layers), json_array_size(diff_ids));
	if (r == 0)
		r = image_alloc_layers(im, json_array_size(layers), err);
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		if (r < 0)
			break;
		const char *ld = image_json_str(l, "digest");
		const char *lmt = image_json_str(l, "mediaType");
		json_t *size = json_object_get(l, "size");
		if (digest_check(ld, "layer", err) < 0) {
			r = hull_error_wrap(err, "%s", im->what);
			break;
		}
		char p[96];
		snprintf(p, sizeof(p), "blobs/sha256/%s", digest_hex(ld));
		r = layer_set(c, im, i, p, ld, lmt, diff_ids, err);
		if (r == 0 && json_is_integer(size) && (uint64_t)json_integer_value(size) != im->layers[i].entry->size)
			r = hull_error_set(err, 0, "%s: layer '%s': size %" JSON_INTEGER_FORMAT " in the manifest, %" PRIu64 " in the archive",
					   im->what, ld, json_integer_value(size), im->layers[i].entry->size);
	}
	json_decref(man);
	if (r == 0 && name)
		r = image_add_name(im, name, err);
	return r;
}

/* A descriptor for another platform than this host's (one without a
 * platform matches any). */
static bool foreign_platform(const json_t *desc)
{
	json_t *pf = json_object_get(desc, "platform");
	if (!pf)
		return false;
	const char *os = image_json_str(pf, "os"), *arch = image_json_str(pf, "architecture");
	return !(os && strcmp(os, "linux") == 0 && arch && strcmp(arch, image_host_arch()) == 0);
}

static int oci_images(struct load_ctx *c, struct arc_entry *layout, struct arc_entry *index, hull_error **err)
{
	json_t *lo = NULL;
	if (!layout->data || image_json_parse(layout->data, layout->data_len, "oci-layout", &lo, err) < 0)
		return layout->data ? -1 : hull_error_set(err, 0, "oci-layout is not JSON");
	const char *ver = image_json_str(lo, "imageLayoutVersion");
	int r = ver && strncmp(ver, "1.", 2) == 0 ? 0
						  : hull_error_set(err, 0, "oci-layout: unsupported imageLayoutVersion '%s'",
								   ver ? ver : "");
	json_decref(lo);
	if (r < 0)
		return -1;
	json_t *idx = NULL;
	if (!index->data || image_json_parse(index->data, index->data_len, "index.json", &idx, err) < 0)
		return index->data ? -1 : hull_error_set(err, 0, "index.json is not JSON");
	json_t *mans = json_object_get(idx, "manifests");
	if (!json_is_array(mans) || json_array_size(mans) == 0)
		r = hull_error_set(err, 0, "index.json lists no image");
	/* an index of platforms: only this host's, when it is there */
	bool host_listed = false;
	size_t i;
	json_t *m;
	json_array_foreach(mans, i, m)
	{
		if (!foreign_platform(m))
			host_listed = true;
	}
	json_array_foreach(mans, i, m)
	{
		if (r < 0)
			break;
		if (host_listed && foreign_platform(m))
			continue;
		json_t *ann = json_object_get(m, "annotations");
		const char *name = image_json_str(ann, ANNOTATION_CONTAINERD_NAME);
		if (!name)
			name = image_json_str(ann, ANNOTATION_REF_NAME);
		/* a bare tag or an unparsable name gives no name, as skopeo's do */
		struct image_ref probe = { 0 };
		hull_error *pe = NULL;
		if (name && ref_parse(name, &probe, &pe) < 0)
			name = NULL;
		hull_error_clear(&pe);
		ref_clear(&probe);
		r = oci_image(c, m, name, err);
	}
	json_decref(idx);
	return r;
}

/* Two images with the same config are one image with both names. */
static void images_merge(struct load_ctx *c)
{
	for (size_t i = 0; i < c->n_img; i++) {
		for (size_t j = i + 1; j < c->n_img;) {
			if (strcmp(c->img[i].config_digest, c->img[j].config_digest) != 0) {
				j++;
				continue;
			}
			hull_error *e = NULL;
			for (size_t k = 0; k < c->img[j].n_names; k++)
				(void)image_add_name(&c->img[i], c->img[j].names[k], &e);
			hull_error_clear(&e);
			image_free(&c->img[j]);
			memmove(&c->img[j], &c->img[j + 1], (c->n_img - j - 1) * sizeof(c->img[0]));
			c->n_img--;
		}
	}
}

static int resolve_images(struct load_ctx *c, hull_error **err)
{
	struct arc_entry *layout = entry_resolve(c, "oci-layout");
	struct arc_entry *index = entry_resolve(c, "index.json");
	struct arc_entry *manifest = entry_resolve(c, "manifest.json");
	int r;
	if (layout && index)
		r = oci_images(c, layout, index, err);
	else if (manifest && manifest->data)
		r = docker_images(c, manifest, err);
	else if (manifest)
		r = hull_error_set(err, 0, "manifest.json is not JSON");
	else
		return hull_error_set(err, 0,
				      "not a docker-archive or oci-archive (no manifest.json, no oci-layout and index.json)");
	if (r == 0)
		images_merge(c);
	return r;
}

/* ---- publishing ---- */

static const char *layer_media_type(struct load_layer *l)
{
	if (l->media_type)
		return l->media_type;
	return image_layer_media_type(image_sniff_compression(l->entry->head, l->entry->head_len), l->docker);
}

/* Stream mode: a layer candidate kept in memory (looked like JSON) is
 * written out so the store can read it. */
static int entry_stage_memory(struct load_ctx *c, struct arc_entry *e, hull_error **err)
{
	if (!c->tmp && store_tmp_dir(c->s, &c->tmp, err) < 0)
		return -1;
	if (asprintf(&e->staged, "%s/%u", c->tmp, c->staged_n++) < 0) {
		e->staged = NULL;
		return hull_error_set(err, ENOMEM, "stage '%s'", e->name);
	}
	_cleanup_close_ int fd = open(e->staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return hull_error_set(err, errno, "create '%s'", e->staged);
	int r = write_full(fd, e->data, e->data_len);
	return r < 0 ? hull_error_set(err, -r, "write '%s'", e->staged) : 0;
}

static int layer_create(struct load_ctx *c, struct load_layer *l, const char *parent, hull_error **err)
{
	struct arc_entry *e = l->entry;
	struct image_feeder f = { .pid = 0, .fd = -1 };
	int fd = -1;
	int r = 0;
	if (e->data && !e->staged && (!c->seekable || e->data_off < 0)) {
		if (entry_stage_memory(c, e, err) < 0)
			return -1;
	}
	if (e->staged) {
		fd = open(e->staged, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return hull_error_set(err, errno, "open '%s'", e->staged);
	} else {
		if (image_feeder_start(NULL, 0, c->fd, e->data_off, e->size, &f, err) < 0)
			return -1;
		fd = f.fd;
	}
	r = store_layer_create(c->s, parent, fd, layer_media_type(l), l->expected_blob, l->diff_id, &l->info, err);
	if (f.pid > 0) {
		hull_error *fe = NULL;
		if (image_feeder_finish(&f, &fe) < 0 && r == 0) {
			*err = fe;
			fe = NULL;
			r = -1;
		}
		hull_error_clear(&fe);
	} else {
		close(fd);
	}
	return r;
}

/* Stream mode checks what it can before unpacking anything: the blob
 * digest named by the manifest, and for an uncompressed blob its diff ID. */
static int layer_precheck(struct load_layer *l, hull_error **err)
{
	struct arc_entry *e = l->entry;
	char d[DIGEST_SHA256_LEN + 1];
	const char *got = e->staged ? e->blob_digest : NULL;
	if (!got && e->data) {
		digest_buffer(e->data, e->data_len, d);
		got = d;
	}
	if (!got)
		return 0;
	if (l->expected_blob && strcmp(l->expected_blob, got) != 0)
		return hull_error_set(err, 0, "layer '%s': digest mismatch: expected %s, got %s", l->path,
				      l->expected_blob, got);
	bool plain = strcmp(image_sniff_compression(e->head, e->head_len), "none") == 0;
	if (plain && strcmp(l->diff_id, got) != 0)
		return hull_error_set(err, 0, "layer '%s': diff ID mismatch: expected %s, got %s", l->path, l->diff_id,
				      got);
	return 0;
}

static int image_layers(struct load_ctx *c, struct load_image *im, hull_error **err)
{
	for (size_t i = 0; i < im->n_layers; i++) {
		struct load_layer *l = &im->layers[i];
		const char *parent = i ? im->layers[i - 1].chain_id : NULL;
		if (layer_create(c, l, parent, err) < 0)
			return hull_error_wrap(err, "%s: layer %zu ('%s')", im->what, i + 1, l->path);
		if (!l->info || strcmp(l->info->chain_id, l->chain_id) != 0)
			return hull_error_set(err, 0, "%s: layer %zu ('%s'): chain ID mismatch", im->what, i + 1, l->path);
	}
	return 0;
}

static int image_manifest(struct load_image *im, char **ret, size_t *ret_len, hull_error **err)
{
	if (im->manifest) {
		*ret = malloc(im->manifest->data_len + 1);
		if (!*ret)
			return hull_error_set(err, ENOMEM, "%s", im->what);
		memcpy(*ret, im->manifest->data, im->manifest->data_len + 1);
		*ret_len = im->manifest->data_len;
		return 0;
	}
	struct image_layer_desc *d = calloc(im->n_layers ? im->n_layers : 1, sizeof(*d));
	if (!d)
		return hull_error_set(err, ENOMEM, "%s", im->what);
	for (size_t i = 0; i < im->n_layers; i++) {
		struct layer_info *li = im->layers[i].info;
		d[i].digest = li->blob_digest;
		d[i].size = li->blob_size;
		d[i].media_type = li->media_type ? image_layer_media_type(image_media_type_compression(li->media_type), true)
					       : layer_media_type(&im->layers[i]);
	}
	int r = image_manifest_build(true, im->config_digest, im->config->data_len, d, im->n_layers, ret, ret_len, err);
	free(d);
	return r;
}

static int image_publish(struct load_ctx *c, struct load_image *im, hull_error **err)
{
	if (store_blob_put(c->s, im->config->data, im->config->data_len, im->config_digest, NULL, err) < 0)
		return hull_error_wrap(err, "%s: store config", im->what);
	_cleanup_free_ char *man = NULL;
	size_t mlen = 0;
	if (image_manifest(im, &man, &mlen, err) < 0)
		return -1;
	char mdigest[DIGEST_SHA256_LEN + 1];
	if (store_blob_put(c->s, man, mlen, NULL, mdigest, err) < 0)
		return hull_error_wrap(err, "%s: store manifest", im->what);
	_cleanup_free_ char **chain = calloc(im->n_layers + 1, sizeof(*chain));
	if (!chain)
		return hull_error_set(err, ENOMEM, "%s", im->what);
	for (size_t i = 0; i < im->n_layers; i++)
		chain[i] = im->layers[i].chain_id;
	struct image_record *rec = NULL;
	if (store_image_create(c->s, im->config_digest, mdigest, im->manifest_media_type, chain, im->names, &rec, err) < 0)
		return hull_error_wrap(err, "%s", im->what);
	image_record_free(rec);
	return 0;
}

static int strv_append(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

static int fill_result(struct load_ctx *c, struct image_load_result *ret, hull_error **err)
{
	size_t ni = 0, nn = 0;
	ret->ids = calloc(1, sizeof(char *));
	ret->names = calloc(1, sizeof(char *));
	if (!ret->ids || !ret->names)
		return hull_error_set(err, ENOMEM, "load");
	for (size_t i = 0; i < c->n_img; i++) {
		if (strv_append(&ret->ids, &ni, c->img[i].config_digest) < 0)
			return hull_error_set(err, ENOMEM, "load");
		for (size_t k = 0; k < c->img[i].n_names; k++)
			if (strv_append(&ret->names, &nn, c->img[i].names[k]) < 0)
				return hull_error_set(err, ENOMEM, "load");
	}
	return 0;
}

static void ctx_reset(struct load_ctx *c)
{
	for (size_t i = 0; i < c->n_img; i++)
		image_free(&c->img[i]);
	free(c->img);
	c->img = NULL;
	c->n_img = 0;
	entries_free(c);
	if (c->tmp) {
		store_tmp_remove(c->s, c->tmp);
		free(c->tmp);
		c->tmp = NULL;
	}
	c->staged_n = 0;
	c->relocate = false;
}

static int load_pass(struct load_ctx *c, hull_error **err)
{
	if (read_entries(c, err) < 0 || resolve_images(c, err) < 0)
		return -1;
	if (c->relocate)
		return 0;
	if (!c->seekable)
		for (size_t i = 0; i < c->n_img; i++)
			for (size_t k = 0; k < c->img[i].n_layers; k++)
				if (layer_precheck(&c->img[i].layers[k], err) < 0)
					return hull_error_wrap(err, "%s", c->img[i].what);
	/* every layer first, then the images: a bad layer publishes nothing */
	for (size_t i = 0; i < c->n_img; i++)
		if (image_layers(c, &c->img[i], err) < 0)
			return -1;
	for (size_t i = 0; i < c->n_img; i++)
		if (image_publish(c, &c->img[i], err) < 0)
			return -1;
	return 0;
}

int image_load(struct image_store *s, int fd, const char *what, struct image_load_result *ret, hull_error **err)
{
	struct load_ctx c = { .s = s, .what = what, .fd = fd };
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error_set(err, errno, "load %s", what);
	c.base = S_ISREG(st.st_mode) ? lseek(fd, 0, SEEK_CUR) : -1;
	c.seekable = c.base >= 0;
	int r = load_pass(&c, err);
	if (r == 0 && c.relocate) {
		/* an entry the seekable pass could not place: read again as a stream */
		ctx_reset(&c);
		c.seekable = false;
		if (lseek(fd, c.base, SEEK_SET) < 0)
			r = hull_error_set(err, errno, "rewind");
		else
			r = load_pass(&c, err);
	}
	if (r == 0 && ret)
		r = fill_result(&c, ret, err);
	ctx_reset(&c);
	if (r < 0) {
		if (ret)
			image_load_result_clear(ret);
		return hull_error_wrap(err, "load %s", what);
	}
	return 0;
}
