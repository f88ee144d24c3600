/* layer.h - unpacking layer tarballs (untrusted) and packing directories.
 *
 * layer_extract() reads a layer stream (uncompressed tar, gzip or zstd,
 * detected from the bytes), hashes the bytes as received (the blob digest)
 * and the uncompressed tar (the diff ID) in the same pass, and writes the
 * entries below dirfd, which is the layer's own root:
 *   - no entry may create, link, chmod or remove anything outside dirfd:
 *     ".." components, absolute names, paths through symlinks made earlier
 *     in the archive (resolved inside dirfd as if it were "/"), hardlinks
 *     to targets outside, whiteouts aimed outside.  Such an archive is
 *     refused with an error naming the entry.
 *   - OCI whiteouts ".wh.NAME" become overlay whiteouts (a 0/0 character
 *     device NAME), ".wh..wh..opq" sets trusted.overlay.opaque=y on the
 *     directory (mode LAYER_WHITEOUT_OVERLAY), or they delete NAME / the
 *     directory's contents below dirfd (LAYER_WHITEOUT_APPLY, for the vfs
 *     driver, where dirfd already holds the lower layers' copy).
 *   - owners (when root), modes incl. setuid, xattrs, hardlinks, symlinks
 *     (never followed), device nodes (when root), fifos, mtimes are kept.
 *   - sizes are bounded: total bytes written and entries (limits), and a
 *     header that lies about its size cannot make it write more.
 * On failure the caller removes the partial directory.
 */
#ifndef HULL_IMAGE_LAYER_H
#define HULL_IMAGE_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/digest.h"
#include "util/error.h"

enum layer_whiteout_mode {
	LAYER_WHITEOUT_OVERLAY, /* store whiteouts as overlayfs expects */
	LAYER_WHITEOUT_APPLY,   /* apply them (vfs: delete from dirfd) */
};

struct layer_limits {
	uint64_t max_bytes;   /* total file content written; 0 = default (64 GiB) */
	uint64_t max_entries; /* 0 = default (10 million) */
};

struct layer_result {
	char blob_digest[DIGEST_SHA256_LEN + 1]; /* of the bytes as read */
	char diff_id[DIGEST_SHA256_LEN + 1];     /* of the uncompressed tar */
	uint64_t blob_size;                      /* bytes read */
	uint64_t unpacked_size;                  /* file content bytes written */
	uint64_t entries;
	char compression[8];                     /* "none", "gzip", "zstd", ... */
};

/* Extract the stream from in_fd into dirfd.  When copy_fd >= 0 every byte
 * read from in_fd is also written to copy_fd (to keep the blob as received
 * without a second read).  0, or -1 with err. */
int layer_extract(int in_fd, int dirfd, enum layer_whiteout_mode mode, const struct layer_limits *limits,
		  int copy_fd, struct layer_result *ret, hull_error **err);

/* Write the tree below dirfd as an uncompressed tar to out_fd (owners,
 * modes, xattrs, hardlinks, devices kept; overlay whiteouts written as OCI
 * ".wh." entries).  ret_diff_id gets the tar's digest. */
int layer_pack_dir(int dirfd, int out_fd, char ret_diff_id[static DIGEST_SHA256_LEN + 1], uint64_t *ret_size,
		   hull_error **err);

#endif
