/* archive.h - images in and out of the store as files: docker-archive and
 * oci-archive (load/save), tarballs and directories (import).
 *
 * load streams the outer archive once: each layer blob is unpacked (and
 * hashed) as it passes, small JSON files are kept in memory; the image is
 * published only when everything it needs is in the store.
 */
#ifndef HULL_IMAGE_ARCHIVE_H
#define HULL_IMAGE_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "image/store.h"
#include "util/error.h"

enum image_archive_format {
	IMAGE_ARCHIVE_AUTO,   /* load: detect (manifest.json -> docker, index.json + oci-layout -> oci) */
	IMAGE_ARCHIVE_DOCKER, /* `docker save` layout (manifest.json, <id>.json, layers) */
	IMAGE_ARCHIVE_OCI,    /* OCI image layout in a tar (oci-layout, index.json, blobs/sha256) */
};

struct image_load_result {
	char **ids;   /* NULL-terminated image ids loaded */
	char **names; /* NULL-terminated names tagged */
};
void image_load_result_clear(struct image_load_result *r);

/* Load every image in the archive read from fd (a file or a pipe; gzip'd
 * archives too).  what names the source in messages ("'bb.tar'", "stdin"). */
int image_load(struct image_store *s, int fd, const char *what, struct image_load_result *ret, hull_error **err);

/* Write the images (names or ids; a name keeps its tag in the archive) to
 * out_fd.  Several images per archive; layers shared are written once. */
int image_save(struct image_store *s, char *const *refs, enum image_archive_format format, int out_fd,
	       hull_error **err);

struct image_import_opts {
	char *const *changes; /* Dockerfile-style: "CMD [\"/bin/sh\"]", "ENV A=b", "EXPOSE 80", ... */
	const char *message;  /* history comment */
	const char *reference; /* name to give the image, or NULL */
};

/* Import a root filesystem: `source` is a tarball path (any compression),
 * "-" for fd 0, or a directory (packed with layer_pack_dir).  Makes a
 * one-layer image with an OCI config (os/arch of the host, rootfs.diff_ids,
 * history) and manifest.  *ret_id is malloc'd. */
int image_import(struct image_store *s, const char *source, const struct image_import_opts *o, char **ret_id,
		 hull_error **err);

/* Apply Dockerfile-style changes (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
 * USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD refused) to an OCI image
 * config's "config" object.  Errors name the change. */
int image_apply_changes(json_t *config, char *const *changes, hull_error **err);

/* `image inspect` JSON in Podman's shape (Id, Digest, RepoTags,
 * RepoDigests, Parent, Comment, Created, Config, Version, Author,
 * Architecture, Os, Size, VirtualSize, GraphDriver, RootFS, Labels,
 * Annotations, ManifestType, User, History, NamesHistory). New reference. */
int image_inspect_json(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err);

/* `history` rows: array of {id, created, created_by, size, comment}, newest
 * first, as Podman prints them. */
int image_history_json(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err);

#endif
