/* image.h - what the image commands share: media types, compression
 * sniffing, OCI/Docker manifest and config construction, JSON and time
 * helpers.  Used by archive.c (load/save), import.c and image.c.
 */
#ifndef HULL_IMAGE_IMAGE_H
#define HULL_IMAGE_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util/error.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

/* Largest JSON document (manifest, config, index) hull reads: 4 MiB. */
#define IMAGE_JSON_MAX ((size_t)4 << 20)

/* Compression of a stream from its first bytes: "gzip", "zstd", "bzip2",
 * "xz" or "none" (static strings). */
const char *image_sniff_compression(const void *buf, size_t len);

/* Layer media type for a compression name; docker selects Docker's types
 * (zstd has none: the OCI type is used). */
const char *image_layer_media_type(const char *compression, bool docker);

/* Compression a layer media type names: "gzip", "zstd" or "none". */
const char *image_media_type_compression(const char *mt);

bool image_media_type_is_layer(const char *mt);
bool image_media_type_is_index(const char *mt);
bool image_media_type_is_manifest(const char *mt);

/* The host architecture in GOARCH spelling ("amd64", "arm64", ...). */
const char *image_host_arch(void);

/* RFC 3339 UTC time with nanoseconds, as Go writes it
 * ("2026-11-26T16:43:41.836622595Z"); malloc'd, NULL on ENOMEM. */
char *image_time_format(const struct timespec *ts);
char *image_time_now(void);

/* Serialise compactly keeping key order; malloc'd, *ret_len may be NULL. */
char *image_json_dump(const json_t *j, size_t *ret_len);

/* Parse a JSON object of at most IMAGE_JSON_MAX bytes; errors name what. */
int image_json_parse(const char *buf, size_t len, const char *what, json_t **ret, hull_error **err);

/* String member or NULL. */
const char *image_json_str(const json_t *obj, const char *key);

struct image_layer_desc {
	const char *media_type;
	const char *digest;
	uint64_t size;
};

/* Build an image manifest (OCI, or Docker v2 schema 2 when docker) for a
 * config and its layers; *ret is the serialised bytes (malloc'd). */
int image_manifest_build(bool docker, const char *config_digest, uint64_t config_size,
			 const struct image_layer_desc *layers, size_t n_layers, char **ret, size_t *ret_len,
			 hull_error **err);

/* The config's rootfs.diff_ids as a borrowed array; NULL with err when it
 * is missing or malformed. */
json_t *image_config_diff_ids(const json_t *config, const char *what, hull_error **err);

/* A child process that writes bytes into a pipe, so a byte range of a file
 * (or a sniffed prefix followed by the rest of a stream) can be handed to a
 * reader that wants an fd read to EOF (store_layer_create). */
struct image_feeder {
	pid_t pid;
	int fd; /* read end, owned by the caller until image_feeder_finish */
};

/* Start the feeder: it writes prefix (may be NULL), then len bytes of src
 * from offset off (off < 0: from its current position; len UINT64_MAX: to
 * EOF), then closes the pipe. */
int image_feeder_start(const void *prefix, size_t prefix_len, int src, int64_t off, uint64_t len,
		       struct image_feeder *ret, hull_error **err);

/* Close the read end and reap the child.  A child that could not read its
 * source (short file, I/O error) is an error; one that stopped because the
 * reader closed early is not. */
int image_feeder_finish(struct image_feeder *f, hull_error **err);

#endif
