/* digest.h - sha256 digests in the OCI form "sha256:<64 hex>", streaming,
 * with OpenSSL's libcrypto. */
#ifndef HULL_UTIL_DIGEST_H
#define HULL_UTIL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define DIGEST_SHA256_LEN 71 /* "sha256:" + 64 hex, without the NUL */

struct digester; /* opaque streaming hash */

/* New sha256 digester; NULL on allocation failure. */
struct digester *digester_new(void);
void digester_update(struct digester *d, const void *data, size_t len);
/* Finish into out ("sha256:<hex>", NUL-terminated).  The digester may not
 * be updated again (free it). */
void digester_final(struct digester *d, char out[static DIGEST_SHA256_LEN + 1]);
uint64_t digester_bytes(const struct digester *d); /* bytes hashed so far */
void digester_free(struct digester *d);

/* One-shot digest of a buffer. */
void digest_buffer(const void *data, size_t len, char out[static DIGEST_SHA256_LEN + 1]);

/* Digest of everything readable from fd (to EOF). 0 or -errno. */
int digest_fd(int fd, char out[static DIGEST_SHA256_LEN + 1], uint64_t *ret_size);

/* Whether s is a well-formed "sha256:<64 lowercase hex>" (other algorithms
 * are refused: hull verifies every digest and only knows sha256). */
bool digest_valid(const char *s);

/* Validate and fill err with "invalid digest '...'" naming what. */
int digest_check(const char *s, const char *what, hull_error **err);

/* The hex part of a valid digest (pointer into s). */
const char *digest_hex(const char *s);

/* The chain ID of a layer: diff_id for the base layer, else
 * sha256(parent_chain + " " + diff_id) (OCI image spec). */
void digest_chain_id(const char *parent_chain, const char *diff_id, char out[static DIGEST_SHA256_LEN + 1]);

#endif
