/* store.h - hull's image store: blobs, layers and images on disk, with
 * metadata in SQLite.
 *
 * Layout under the graph root (default /var/lib/hull, or
 * $XDG_DATA_HOME/hull for a non-root user):
 *   hull.db                 SQLite (WAL, busy timeout, one transaction a change)
 *   store.lock              flock: exclusive for every change
 *   dirty                   exists while a change is being published; found
 *                           at lock time it means a writer died: orphans are
 *                           swept (layers and blobs not in the database)
 *   blobs/sha256/<hex>      content-addressed blobs (manifests, configs,
 *                           layer tarballs as received), verified on write
 *   overlay/<hex>/diff      an unpacked layer, hex of its chain ID (overlay)
 *   vfs/<hex>/              a full copy of the root up to that layer (vfs)
 *   tmp/                    staging; entries named <pid>-<starttime>-<n>,
 *                           removed when their creator is gone
 * Run root (default /run/hull, or $XDG_RUNTIME_DIR/hull): mount points of
 * `image mount`.
 *
 * Readers need no lock (SQLite snapshots); writers stage everything under
 * tmp/ without the lock, then take it only to rename into place and commit.
 * Nothing half-written is ever visible: an image row exists only once all
 * its blobs and layers do.
 */
#ifndef HULL_IMAGE_STORE_H
#define HULL_IMAGE_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/layer.h"
#include "util/digest.h"
#include "util/error.h"

struct image_store;

struct store_opts {
	const char *root;    /* graph root; NULL = default (see above, and storage.conf) */
	const char *runroot; /* NULL = default */
	const char *driver;  /* "overlay", "vfs" or NULL: storage.conf, else overlay if it mounts, else vfs */
};

/* Fill opts' NULL fields from /etc/hull/storage.conf (root) or
 * ~/.config/hull/storage.conf (others): TOML-ish lines
 *   [storage]  driver = "overlay"  graphroot = "..."  runroot = "..."
 * then the built-in defaults.  Strings returned are malloc'd into *ret. */
int store_resolve_opts(const struct store_opts *in, struct store_opts *ret, hull_error **err);
void store_opts_clear(struct store_opts *o);

/* Open (creating if needed) the store.  Cheap: no scan of the store. */
int store_open(const struct store_opts *o, struct image_store **ret, hull_error **err);
void store_close(struct image_store *s);
const char *store_root(const struct image_store *s);
const char *store_runroot(const struct image_store *s);
const char *store_driver(const struct image_store *s);

/* Exclusive writer lock (recursive within one process).  Taking it sweeps
 * dead writers' leftovers (tmp/ entries whose pid is gone; orphans when
 * "dirty" is present). */
int store_lock(struct image_store *s, hull_error **err);
void store_unlock(struct image_store *s);

/* A new staging directory under tmp/ (removed by store_tmp_remove, or by the
 * next locker if we die).  *ret is malloc'd. */
int store_tmp_dir(struct image_store *s, char **ret, hull_error **err);
int store_tmp_remove(struct image_store *s, const char *path);

/* ---- blobs ---- */
bool store_blob_exists(struct image_store *s, const char *digest);
/* Path of a blob (whether or not it exists), malloc'd. */
char *store_blob_path(struct image_store *s, const char *digest);
/* Store bytes as a blob; if expected is not NULL the digest must match
 * ("digest mismatch for <what>: expected X, got Y").  *ret_digest may be
 * NULL; otherwise filled. */
int store_blob_put(struct image_store *s, const void *data, size_t len, const char *expected,
		   char ret_digest[DIGEST_SHA256_LEN + 1], hull_error **err);
/* Move a staged file into blobs/ after checking its digest (computed by the
 * caller while writing it). */
int store_blob_adopt(struct image_store *s, const char *staged_path, const char *digest, hull_error **err);
/* Read a whole blob (at most max bytes), verifying its digest. */
int store_blob_read(struct image_store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
		    hull_error **err);

/* ---- layers ---- */
struct layer_info {
	char *chain_id;
	char *parent;      /* chain ID of the parent, NULL for a base layer */
	char *diff_id;
	char *blob_digest; /* the stored tarball as received (may be compressed) */
	char *media_type;  /* of that blob */
	uint64_t blob_size;
	uint64_t unpacked_size;
};
void layer_info_free(struct layer_info *l);

/* Look a layer up by chain ID; *ret is NULL (and 0 returned) when absent. */
int store_layer_get(struct image_store *s, const char *chain_id, struct layer_info **ret, hull_error **err);

/* Unpack a layer from in_fd on top of parent (chain ID or NULL), keeping
 * the blob as received, verifying expected_blob_digest and expected_diff_id
 * when given.  If the resulting chain ID already exists nothing is written.
 * media_type is the blob's (e.g. "application/vnd.oci.image.layer.v1.tar+gzip").
 * Takes the lock itself only to publish.  *ret describes the layer. */
int store_layer_create(struct image_store *s, const char *parent, int in_fd, const char *media_type,
		       const char *expected_blob_digest, const char *expected_diff_id, struct layer_info **ret,
		       hull_error **err);

/* Directory holding the layer's contents (overlay: its diff; vfs: the full
 * root up to it), malloc'd. */
int store_layer_path(struct image_store *s, const char *chain_id, char **ret, hull_error **err);

/* ---- images ---- */
struct image_record {
	char *id;              /* "sha256:<hex>": the config digest */
	char *manifest_digest; /* of the manifest as stored */
	char *manifest_media_type;
	char **names;          /* NULL-terminated, e.g. "localhost/bb:1" */
	char **digests;        /* NULL-terminated repo digests "repo@sha256:..." */
	char **layers;         /* NULL-terminated chain IDs, base first */
	char *created;         /* from the config, RFC 3339 */
	char *added;           /* when it entered this store, RFC 3339 */
	uint64_t size;         /* sum of the layers' unpacked sizes */
};
void image_record_free(struct image_record *r);
void image_record_list_free(struct image_record **list, size_t n);

/* Publish an image whose config, manifest and layers are already stored.
 * names (may be NULL) are moved to it from any image holding them. If the
 * image exists, the names are added. */
int store_image_create(struct image_store *s, const char *config_digest, const char *manifest_digest,
		       const char *manifest_media_type, char *const *layer_chain_ids, char *const *names,
		       struct image_record **ret, hull_error **err);

/* Find an image by full name, short name (normalised as reference.h does),
 * name@digest, full id, or unique id prefix (at least 3 hex digits).
 * Not found: -1 with err "image not known: 'x'" and status ENOENT. */
int store_image_lookup(struct image_store *s, const char *name_or_id, struct image_record **ret, hull_error **err);
int store_image_list(struct image_store *s, struct image_record ***ret, size_t *ret_n, hull_error **err);
int store_image_tag(struct image_store *s, const char *id, const char *name, hull_error **err);
/* Remove one name; name NULL removes every name. */
int store_image_untag(struct image_store *s, const char *id, const char *name, hull_error **err);
/* Remove an image row and its names, then every layer and blob that no image
 * needs any more.  Refused (EBUSY) while store_image_in_use says so, unless
 * force. */
int store_image_remove(struct image_store *s, const char *id, bool force, hull_error **err);

/* Hold an image for a user such as a container (issue: containers), so rmi
 * refuses it: holder is an opaque id. */
int store_image_hold(struct image_store *s, const char *id, const char *holder, hull_error **err);
int store_image_release(struct image_store *s, const char *holder, hull_error **err);
int store_image_holders(struct image_store *s, const char *id, size_t *ret_n, hull_error **err);

/* The image's config JSON (new reference), verified against its digest. */
int store_image_config(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err);
int store_image_manifest(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err);

/* Mount the image's root read-only under the run root (overlay of its
 * layers, or for vfs the top layer's directory bind-mounted read-only) and
 * return the path; counted, so each mount needs an unmount. */
int store_image_mount(struct image_store *s, const char *id, char **ret_path, hull_error **err);
int store_image_unmount(struct image_store *s, const char *id, bool force, hull_error **err);

/* Remove layers and blobs no image refers to. */
int store_gc(struct image_store *s, hull_error **err);

/* Verify every blob digest, every layer's presence, every image's layers
 * and config; with repair remove what is broken (images with missing
 * parts, orphan layers and blobs, stale tmp entries).  *ret is a JSON
 * object {"errors":[...], "repaired":[...], "images":N, "layers":N,
 * "blobs":N}. */
int store_check(struct image_store *s, bool repair, json_t **ret, hull_error **err);

/* Disk usage summary for `system df`. */
struct store_usage {
	size_t images, images_active;
	uint64_t images_size, images_reclaimable;
	size_t layers;
	uint64_t blobs_size;
};
int store_usage(struct image_store *s, struct store_usage *ret, hull_error **err);

#endif
