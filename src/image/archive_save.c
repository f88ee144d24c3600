/* archive_save.c - `hull save`: images out of the store as a
 * docker-archive or an oci-archive.
 *
 * Metadata is written first (manifest.json and configs; oci-layout,
 * index.json, manifests and configs), then the layers, so a reader that
 * streams the archive (hull load from a pipe) knows every layer's place
 * in its image when the layer arrives.  Layers shared by several images
 * are written once.  docker-archive layers are uncompressed tars named
 * <diff-id hex>.tar as Podman names them (a compressed stored blob is
 * decompressed into a staging file first: a tar header needs the size);
 * oci-archive writes the stored blobs as they are.  Names are written in
 * full ("docker.io/library/x:1", "localhost/x:1"), as Podman does: Docker
 * and Podman both load them back to the same name.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
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

#define SAVE_BLOCK (1u << 20)
#define SAVE_JSON_MAX ((size_t)16 << 20)

struct save_image {
	struct image_record *rec;
	char **tags; /* NULL-terminated */
	size_t n_tags;
	char *config;
	size_t config_len;
	char *manifest; /* bytes as stored (or remade, see oci_manifest) */
	size_t manifest_len;
	char manifest_digest[DIGEST_SHA256_LEN + 1];
	struct layer_info **layers;
	size_t n_layers;
};

struct save_ctx {
	struct image_store *s;
	enum image_archive_format format;
	struct save_image *img;
	size_t n_img;
	struct archive *a;
	char *tmp; /* staging dir for decompressed layers */
	unsigned tmp_n;
	char *buf; /* SAVE_BLOCK bytes */
	char **written; /* entry names written once (layers, blobs) */
	size_t n_written;
};

static void save_image_free(struct save_image *im)
{
	image_record_free(im->rec);
	strv_free(im->tags);
	free(im->config);
	free(im->manifest);
	for (size_t i = 0; i < im->n_layers; i++)
		layer_info_free(im->layers[i]);
	free(im->layers);
}

static void save_ctx_clear(struct save_ctx *c)
{
	for (size_t i = 0; i < c->n_img; i++)
		save_image_free(&c->img[i]);
	free(c->img);
	strv_free(c->written);
	free(c->buf);
	if (c->a)
		archive_write_free(c->a);
	if (c->tmp) {
		store_tmp_remove(c->s, c->tmp);
		free(c->tmp);
	}
}

static int strv_add(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

static bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The name a ref keeps in the archive: the stored name it designates, or
 * NULL when it is an id (or a digest reference). */
static char *ref_tag(const char *ref, const struct image_record *rec)
{
	if (strchr(ref, '@'))
		return NULL;
	const char *hex = digest_valid(rec->id) ? digest_hex(rec->id) : rec->id;
	const char *r = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
	if (ref_is_id_prefix(ref) && strncmp(hex, r, strlen(r)) == 0)
		return NULL;
	struct image_ref n = { 0 };
	hull_error *e = NULL;
	char *name = NULL;
	if (ref_normalize(ref, NULL, &n, &e) == 0)
		name = ref_string(&n);
	ref_clear(&n);
	hull_error_clear(&e);
	if (name && strv_contains(rec->names, name))
		return name;
	free(name);
	/* found by a short name the store resolved otherwise (docker.io/library/x
	 * for "x"): the stored name that ends with "/<ref>[:latest]" */
	const char *slash = strrchr(ref, '/');
	bool tagged = strchr(slash ? slash : ref, ':') != NULL;
	_cleanup_free_ char *want = NULL;
	if (asprintf(&want, "/%s%s", ref, tagged ? "" : ":latest") < 0)
		return NULL;
	size_t wl = strlen(want);
	for (size_t i = 0; rec->names && rec->names[i]; i++) {
		const char *s = rec->names[i];
		size_t sl = strlen(s);
		if (sl > wl && strcmp(s + sl - wl, want) == 0)
			return strdup(s);
	}
	return NULL;
}

static int save_add_ref(struct save_ctx *c, const char *ref, hull_error **err)
{
	struct image_record *rec = NULL;
	if (store_image_lookup(c->s, ref, &rec, err) < 0)
		return -1;
	_cleanup_free_ char *tag = ref_tag(ref, rec);
	struct save_image *im = NULL;
	for (size_t i = 0; i < c->n_img; i++)
		if (strcmp(c->img[i].rec->id, rec->id) == 0)
			im = &c->img[i];
	if (!im) {
		struct save_image *ni = realloc(c->img, (c->n_img + 1) * sizeof(*ni));
		if (!ni) {
			image_record_free(rec);
			return hull_error_set(err, ENOMEM, "save '%s'", ref);
		}
		c->img = ni;
		im = &c->img[c->n_img++];
		*im = (struct save_image){ .rec = rec };
		rec = NULL;
	}
	image_record_free(rec);
	if (tag && strv_add(&im->tags, &im->n_tags, tag) < 0)
		return hull_error_set(err, ENOMEM, "save '%s'", ref);
	return 0;
}

/* Whether the stored manifest lists exactly the blobs the store keeps for
 * the image's layers (a layer loaded once as gzip and once uncompressed is
 * stored once: a manifest may name the other form). */
static bool manifest_matches(const struct save_image *im, const json_t *man)
{
	json_t *layers = json_object_get(man, "layers");
	if (!json_is_array(layers) || json_array_size(layers) != im->n_layers)
		return false;
	for (size_t i = 0; i < im->n_layers; i++) {
		const char *d = image_json_str(json_array_get(layers, i), "digest");
		if (!d || !im->layers[i]->blob_digest || strcmp(d, im->layers[i]->blob_digest) != 0)
			return false;
	}
	return true;
}

/* OCI: the manifest as stored when it matches the stored blobs, else one
 * made for them (same config, so the same image ID). */
static int oci_manifest(struct save_image *im, hull_error **err)
{
	json_t *man = NULL;
	if (image_json_parse(im->manifest, im->manifest_len, "stored manifest", &man, err) < 0)
		return -1;
	bool ok = manifest_matches(im, man);
	json_decref(man);
	if (ok)
		return 0;
	bool docker = im->rec->manifest_media_type && strcmp(im->rec->manifest_media_type, MT_DOCKER_MANIFEST) == 0;
	struct image_layer_desc *d = calloc(im->n_layers ? im->n_layers : 1, sizeof(*d));
	if (!d)
		return hull_error_set(err, ENOMEM, "build manifest");
	for (size_t i = 0; i < im->n_layers; i++) {
		d[i].digest = im->layers[i]->blob_digest;
		d[i].size = im->layers[i]->blob_size;
		d[i].media_type = image_layer_media_type(image_media_type_compression(im->layers[i]->media_type), docker);
	}
	char *bytes = NULL;
	size_t len = 0;
	int r = image_manifest_build(docker, im->rec->id, im->config_len, d, im->n_layers, &bytes, &len, err);
	free(d);
	if (r < 0)
		return -1;
	free(im->manifest);
	im->manifest = bytes;
	im->manifest_len = len;
	digest_buffer(bytes, len, im->manifest_digest);
	return 0;
}

static int save_load_image(struct save_ctx *c, struct save_image *im, hull_error **err)
{
	char cfg_digest[DIGEST_SHA256_LEN + 1];
	snprintf(cfg_digest, sizeof(cfg_digest), "%s", im->rec->id);
	if (store_blob_read(c->s, cfg_digest, SAVE_JSON_MAX, &im->config, &im->config_len, err) < 0)
		return -1;
	if (c->format == IMAGE_ARCHIVE_OCI &&
	    store_blob_read(c->s, im->rec->manifest_digest, SAVE_JSON_MAX, &im->manifest, &im->manifest_len, err) < 0)
		return -1;
	size_t n = 0;
	while (im->rec->layers && im->rec->layers[n])
		n++;
	im->layers = calloc(n ? n : 1, sizeof(*im->layers));
	if (!im->layers)
		return hull_error_set(err, ENOMEM, "read layers");
	for (size_t i = 0; i < n; i++) {
		if (store_layer_get(c->s, im->rec->layers[i], &im->layers[i], err) < 0)
			return -1;
		im->n_layers = i + 1;
		if (!im->layers[i])
			return hull_error_set(err, 0, "layer '%s' missing from the store", im->rec->layers[i]);
	}
	snprintf(im->manifest_digest, sizeof(im->manifest_digest), "%s", im->rec->manifest_digest);
	if (c->format == IMAGE_ARCHIVE_OCI)
		return oci_manifest(im, err);
	return 0;
}

/* ---- writing entries ---- */

static int archive_fail(struct save_ctx *c, const char *name, hull_error **err)
{
	int e = archive_errno(c->a);
	return hull_error_set(err, e > 0 ? e : EIO, "write '%s': %s", name, archive_error_string(c->a));
}

static int put_header(struct save_ctx *c, const char *name, mode_t type, uint64_t size, hull_error **err)
{
	struct archive_entry *ae = archive_entry_new();
	if (!ae)
		return hull_error_set(err, ENOMEM, "write '%s'", name);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(ae, type == AE_IFDIR ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(ae, 0, 0);
	int r = archive_write_header(c->a, ae);
	archive_entry_free(ae);
	return r < ARCHIVE_WARN ? archive_fail(c, name, err) : 0;
}

static int put_data(struct save_ctx *c, const char *name, const void *data, size_t len, hull_error **err)
{
	const char *p = data;
	while (len > 0) {
		la_ssize_t n = archive_write_data(c->a, p, len);
		if (n <= 0)
			return archive_fail(c, name, err);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put_memory(struct save_ctx *c, const char *name, const void *data, size_t len, hull_error **err)
{
	if (put_header(c, name, AE_IFREG, len, err) < 0)
		return -1;
	return put_data(c, name, data, len, err);
}

static int put_json(struct save_ctx *c, const char *name, json_t *j, hull_error **err)
{
	size_t len = 0;
	_cleanup_free_ char *s = image_json_dump(j, &len);
	json_decref(j);
	if (!s)
		return hull_error_set(err, ENOMEM, "write '%s'", name);
	return put_memory(c, name, s, len, err);
}

/* Copy fd (size bytes) into the archive, checking its digest. */
static int put_file(struct save_ctx *c, const char *name, int fd, uint64_t size, const char *expected,
		    hull_error **err)
{
	if (put_header(c, name, AE_IFREG, size, err) < 0)
		return -1;
	struct digester *d = digester_new();
	if (!d)
		return hull_error_set(err, ENOMEM, "write '%s'", name);
	uint64_t left = size;
	int r = 0;
	while (left > 0 && r == 0) {
		size_t want = left < SAVE_BLOCK ? (size_t)left : SAVE_BLOCK;
		ssize_t n = read(fd, c->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = hull_error_set(err, n < 0 ? errno : EIO, "read data of '%s'", name);
			break;
		}
		digester_update(d, c->buf, (size_t)n);
		r = put_data(c, name, c->buf, (size_t)n, err);
		left -= (uint64_t)n;
	}
	char got[DIGEST_SHA256_LEN + 1];
	digester_final(d, got);
	digester_free(d);
	if (r == 0 && expected && strcmp(got, expected) != 0)
		r = hull_error_set(err, 0, "write '%s': stored data is corrupt: digest %s, expected %s", name, got,
				   expected);
	return r;
}

static int put_blob(struct save_ctx *c, const char *name, const char *digest, hull_error **err)
{
	_cleanup_free_ char *path = store_blob_path(c->s, digest);
	if (!path)
		return hull_error_set(err, ENOMEM, "write '%s'", name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return hull_error_set(err, errno, "open blob '%s'", path);
	return put_file(c, name, fd, (uint64_t)st.st_size, digest, err);
}

/* Written once per archive; 1 when it was already. */
static int once(struct save_ctx *c, const char *name, hull_error **err)
{
	if (strv_contains(c->written, name))
		return 1;
	return strv_add(&c->written, &c->n_written, name) < 0 ? hull_error_set(err, ENOMEM, "write '%s'", name) : 0;
}

/* Decompress a stored blob into a staging file; its digest must be the
 * diff ID.  Returns an fd positioned at 0 and the size. */
static int decompress_blob(struct save_ctx *c, const struct layer_info *l, int *ret_fd, uint64_t *ret_size,
			   hull_error **err)
{
	if (!c->tmp && store_tmp_dir(c->s, &c->tmp, err) < 0)
		return -1;
	_cleanup_free_ char *path = NULL, *blob = store_blob_path(c->s, l->blob_digest);
	if (!blob || asprintf(&path, "%s/%u", c->tmp, c->tmp_n++) < 0)
		return hull_error_set(err, ENOMEM, "decompress layer");
	_cleanup_close_ int out = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return hull_error_set(err, errno, "create '%s'", path);
	unlink(path);
	struct archive *r = archive_read_new();
	struct digester *d = digester_new();
	if (!r || !d) {
		archive_read_free(r);
		digester_free(d);
		return hull_error_set(err, ENOMEM, "decompress layer");
	}
	archive_read_support_filter_all(r);
	archive_read_support_format_raw(r);
	struct archive_entry *ae;
	int ret = 0;
	if (archive_read_open_filename(r, blob, SAVE_BLOCK) != ARCHIVE_OK || archive_read_next_header(r, &ae) != ARCHIVE_OK)
		ret = hull_error_set(err, 0, "decompress '%s': %s", blob, archive_error_string(r));
	while (ret == 0) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int ar = archive_read_data_block(r, &buf, &len, &off);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			ret = hull_error_set(err, 0, "decompress '%s': %s", blob, archive_error_string(r));
			break;
		}
		digester_update(d, buf, len);
		const char *p = buf;
		while (len > 0 && ret == 0) {
			ssize_t n = write(out, p, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				ret = hull_error_set(err, errno, "write '%s'", path);
			else {
				p += n;
				len -= (size_t)n;
			}
		}
	}
	archive_read_free(r);
	char got[DIGEST_SHA256_LEN + 1];
	uint64_t size = digester_bytes(d);
	digester_final(d, got);
	digester_free(d);
	if (ret == 0 && strcmp(got, l->diff_id) != 0)
		ret = hull_error_set(err, 0, "layer '%s': uncompressed digest %s, expected diff ID %s", l->chain_id, got,
				     l->diff_id);
	if (ret == 0 && lseek(out, 0, SEEK_SET) < 0)
		ret = hull_error_set(err, errno, "seek '%s'", path);
	if (ret < 0)
		return -1;
	*ret_fd = TAKE_FD(out);
	*ret_size = size;
	return 0;
}

static bool blob_compressed(const struct layer_info *l)
{
	if (l->media_type && (strstr(l->media_type, "gzip") || strstr(l->media_type, "zstd")))
		return true;
	return l->blob_digest && l->diff_id && strcmp(l->blob_digest, l->diff_id) != 0;
}

/* ---- docker-archive ---- */

static int docker_layer_name(const struct layer_info *l, char out[static 80])
{
	if (!digest_valid(l->diff_id))
		return -EINVAL;
	snprintf(out, 80, "%s.tar", digest_hex(l->diff_id));
	return 0;
}

static int docker_manifest(struct save_ctx *c, hull_error **err)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < c->n_img; i++) {
		struct save_image *im = &c->img[i];
		char cfg[80];
		snprintf(cfg, sizeof(cfg), "%s.json", digest_hex(im->rec->id));
		json_t *layers = json_array();
		for (size_t k = 0; layers && k < im->n_layers; k++) {
			char name[80];
			if (docker_layer_name(im->layers[k], name) < 0) {
				json_decref(layers);
				json_decref(arr);
				return hull_error_set(err, 0, "layer '%s': no diff ID", im->layers[k]->chain_id);
			}
			json_array_append_new(layers, json_string(name));
		}
		json_t *tags = json_array();
		for (size_t k = 0; tags && k < im->n_tags; k++)
			json_array_append_new(tags, json_string(im->tags[k]));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o}", "Config", cfg, "RepoTags", tags, "Layers", layers));
	}
	if (!arr)
		return hull_error_set(err, ENOMEM, "write 'manifest.json'");
	return put_json(c, "manifest.json", arr, err);
}

/* legacy "repositories": {"repo": {"tag": "<top layer id>"}} */
static int docker_repositories(struct save_ctx *c, hull_error **err)
{
	json_t *repos = json_object();
	bool any = false;
	for (size_t i = 0; repos && i < c->n_img; i++) {
		struct save_image *im = &c->img[i];
		if (im->n_layers == 0)
			continue;
		for (size_t k = 0; k < im->n_tags; k++) {
			struct image_ref r = { 0 };
			hull_error *e = NULL;
			if (ref_parse(im->tags[k], &r, &e) == 0 && r.tag) {
				_cleanup_free_ char *repo = ref_repository(&r);
				json_t *o = repo ? json_object_get(repos, repo) : NULL;
				if (repo && !o)
					json_object_set_new(repos, repo, o = json_object());
				if (o) {
					json_object_set_new(o, r.tag,
							    json_string(digest_hex(im->layers[im->n_layers - 1]->chain_id)));
					any = true;
				}
			}
			hull_error_clear(&e);
			ref_clear(&r);
		}
	}
	if (!repos)
		return hull_error_set(err, ENOMEM, "write 'repositories'");
	if (!any) {
		json_decref(repos);
		return 0;
	}
	return put_json(c, "repositories", repos, err);
}

static int docker_layer(struct save_ctx *c, const struct layer_info *l, hull_error **err)
{
	char name[80];
	if (docker_layer_name(l, name) < 0)
		return hull_error_set(err, 0, "layer '%s': no diff ID", l->chain_id);
	int r = once(c, name, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (!blob_compressed(l))
		return put_blob(c, name, l->blob_digest, err);
	int fd = -1;
	uint64_t size = 0;
	if (decompress_blob(c, l, &fd, &size, err) < 0)
		return -1;
	r = put_file(c, name, fd, size, l->diff_id, err);
	close(fd);
	return r;
}

static int save_docker(struct save_ctx *c, hull_error **err)
{
	if (docker_manifest(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_img; i++) {
		char cfg[80];
		snprintf(cfg, sizeof(cfg), "%s.json", digest_hex(c->img[i].rec->id));
		int r = once(c, cfg, err);
		if (r < 0 || (r == 0 && put_memory(c, cfg, c->img[i].config, c->img[i].config_len, err) < 0))
			return -1;
	}
	for (size_t i = 0; i < c->n_img; i++)
		for (size_t k = 0; k < c->img[i].n_layers; k++)
			if (docker_layer(c, c->img[i].layers[k], err) < 0)
				return -1;
	return docker_repositories(c, err);
}

/* ---- oci-archive ---- */

static json_t *oci_index_entry(const struct save_image *im, const char *name)
{
	const char *mt = im->rec->manifest_media_type ? im->rec->manifest_media_type : MT_OCI_MANIFEST;
	json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", im->manifest_digest, "size",
			      (json_int_t)im->manifest_len);
	if (d && name)
		json_object_set_new(d, "annotations", json_pack("{s:s}", ANNOTATION_REF_NAME, name));
	return d;
}

static int oci_index(struct save_ctx *c, hull_error **err)
{
	json_t *mans = json_array();
	for (size_t i = 0; mans && i < c->n_img; i++) {
		struct save_image *im = &c->img[i];
		if (im->n_tags == 0)
			json_array_append_new(mans, oci_index_entry(im, NULL));
		for (size_t k = 0; k < im->n_tags; k++)
			json_array_append_new(mans, oci_index_entry(im, im->tags[k]));
	}
	json_t *idx = mans ? json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX, "manifests", mans)
			   : NULL;
	if (!idx)
		return hull_error_set(err, ENOMEM, "write 'index.json'");
	return put_json(c, "index.json", idx, err);
}

static int oci_blob_mem(struct save_ctx *c, const char *digest, const void *data, size_t len, hull_error **err)
{
	char name[96];
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(digest));
	int r = once(c, name, err);
	if (r != 0)
		return r < 0 ? -1 : 0;
	return put_memory(c, name, data, len, err);
}

static int save_oci(struct save_ctx *c, hull_error **err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	if (put_memory(c, "oci-layout", layout, sizeof(layout) - 1, err) < 0 || oci_index(c, err) < 0 ||
	    put_header(c, "blobs/", AE_IFDIR, 0, err) < 0 || put_header(c, "blobs/sha256/", AE_IFDIR, 0, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_img; i++) {
		struct save_image *im = &c->img[i];
		if (oci_blob_mem(c, im->manifest_digest, im->manifest, im->manifest_len, err) < 0 ||
		    oci_blob_mem(c, im->rec->id, im->config, im->config_len, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < c->n_img; i++)
		for (size_t k = 0; k < c->img[i].n_layers; k++) {
			const struct layer_info *l = c->img[i].layers[k];
			char name[96];
			if (!digest_valid(l->blob_digest))
				return hull_error_set(err, 0, "layer '%s': no blob", l->chain_id);
			snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(l->blob_digest));
			int r = once(c, name, err);
			if (r < 0 || (r == 0 && put_blob(c, name, l->blob_digest, err) < 0))
				return -1;
		}
	return 0;
}

static int save_run(struct save_ctx *c, char *const *refs, int out_fd, hull_error **err)
{
	if (!refs || !refs[0])
		return hull_error_set(err, 0, "no image given");
	for (size_t i = 0; refs[i]; i++)
		if (save_add_ref(c, refs[i], err) < 0)
			return -1;
	for (size_t i = 0; i < c->n_img; i++)
		if (save_load_image(c, &c->img[i], err) < 0)
			return hull_error_wrap(err, "image '%s'", c->img[i].rec->id);
	c->buf = malloc(SAVE_BLOCK);
	c->a = archive_write_new();
	if (!c->buf || !c->a)
		return hull_error_set(err, ENOMEM, "write archive");
	if (archive_write_set_format_pax_restricted(c->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(c->a, SAVE_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c->a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(c->a, out_fd) != ARCHIVE_OK)
		return archive_fail(c, "archive", err);
	int r = c->format == IMAGE_ARCHIVE_OCI ? save_oci(c, err) : save_docker(c, err);
	if (r == 0 && archive_write_close(c->a) != ARCHIVE_OK)
		r = archive_fail(c, "archive", err);
	return r;
}

int image_save(struct image_store *s, char *const *refs, enum image_archive_format format, int out_fd,
	       hull_error **err)
{
	struct save_ctx c = { .s = s, .format = format == IMAGE_ARCHIVE_OCI ? IMAGE_ARCHIVE_OCI : IMAGE_ARCHIVE_DOCKER };
	int r = save_run(&c, refs, out_fd, err);
	save_ctx_clear(&c);
	if (r < 0)
		return hull_error_wrap(err, "save");
	return 0;
}
