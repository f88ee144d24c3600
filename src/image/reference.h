/* reference.h - image names ("references") parsed and normalised as
 * Podman does.
 *
 *   busybox                      -> localhost/busybox:latest (no search
 *                                   registry: short names are local)
 *   docker.io/busybox            -> docker.io/library/busybox:latest
 *   localhost:5000/x/y:1         -> as is
 *   name@sha256:...              -> digest kept (tag optional)
 *
 * Grammar as the distribution spec's reference grammar: a domain is the
 * first component if it contains '.' or ':' or is "localhost"; path
 * components [a-z0-9]+([._-]|__)...; tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127};
 * total name at most 255 bytes.
 */
#ifndef HULL_IMAGE_REFERENCE_H
#define HULL_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "util/error.h"

struct image_ref {
	char *domain; /* "localhost", "docker.io", "127.0.0.1:5000" */
	char *path;   /* "library/busybox", "x/y" */
	char *tag;    /* NULL if none given (see ref_normalize) */
	char *digest; /* "sha256:..." or NULL */
};

/* Parse a reference exactly as written (no defaults added): domain is NULL
 * for a short name.  Errors name the input: "invalid reference 'Foo'". */
int ref_parse(const char *s, struct image_ref *ret, hull_error **err);

/* Parse and normalise: missing domain -> default_domain (NULL means
 * "localhost"), docker.io single-component path -> "library/x", missing tag
 * and digest -> "latest". */
int ref_normalize(const char *s, const char *default_domain, struct image_ref *ret, hull_error **err);

/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest".
 * malloc'd. */
char *ref_string(const struct image_ref *r);
/* "domain/path" (no tag or digest), malloc'd. */
char *ref_repository(const struct image_ref *r);

/* Whether s looks like an image id or id prefix (hex, 3..64 chars,
 * optionally "sha256:"). */
bool ref_is_id_prefix(const char *s);

void ref_clear(struct image_ref *r);

#endif
