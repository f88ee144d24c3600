/* fuzz_reference.c - libFuzzer target for image reference parsing.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc tests/fuzz/fuzz_reference.c \
 *          src/image/reference.c src/util/{digest,error}.c -lcrypto -o fuzz_reference
 * Run:   ./fuzz_reference -max_total_time=60 -max_len=512 CORPUS_DIR
 *
 * Each input (cut at its first NUL) goes through ref_parse() and
 * ref_normalize() with no default domain and with "docker.io".  Besides
 * memory errors, it traps when an invariant breaks: a failure hands out
 * fields or no message; an accepted name is longer than 255 bytes, has a bad
 * tag or digest, or does not print back to a string that parses to itself;
 * normalising twice changes the result; parse and normalise disagree.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"
#include "util/digest.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                      \
	do {                             \
		if (!(cond))             \
			__builtin_trap(); \
	} while (0)

static bool fields_empty(const struct image_ref *r)
{
	return !r->domain && !r->path && !r->tag && !r->digest;
}

static void check_fields(const struct image_ref *r)
{
	CHECK(r->path && *r->path);
	size_t name = strlen(r->path) + (r->domain ? strlen(r->domain) + 1 : 0);
	CHECK(name <= 255);
	CHECK(!r->tag || (*r->tag && strlen(r->tag) <= 128 && !strchr(r->tag, ':')));
	CHECK(!r->digest || digest_valid(r->digest));
	CHECK(!strchr(r->path, ':') && !strchr(r->path, '@'));
	CHECK(r->path[0] != '/' && r->path[strlen(r->path) - 1] != '/');
	for (const char *p = r->path; *p; p++)
		CHECK(!(*p >= 'A' && *p <= 'Z'));
	CHECK(!r->domain || (!strchr(r->domain, '/') && !strchr(r->domain, '@')));
}

/* An accepted reference printed with ref_string() parses to the same fields. */
static void check_round_trip(const struct image_ref *r)
{
	char *s = ref_string(r);
	CHECK(s);
	struct image_ref again;
	hull_error *err = NULL;
	CHECK(ref_parse(s, &again, &err) == 0);
	char *s2 = ref_string(&again);
	CHECK(s2 && strcmp(s, s2) == 0);
	CHECK((r->domain == NULL) == (again.domain == NULL));
	free(s2);
	free(s);
	ref_clear(&again);
}

static void check_parse(const char *s)
{
	struct image_ref r;
	hull_error *err = NULL;
	if (ref_parse(s, &r, &err) == 0) {
		CHECK(!err);
		check_fields(&r);
		check_round_trip(&r);
		char *repo = ref_repository(&r);
		CHECK(repo && strlen(repo) <= 255);
		free(repo);
		ref_clear(&r);
		CHECK(fields_empty(&r));
		/* a bare full id (64 hex, no "sha256:") is never a name */
		CHECK(!(strlen(s) == 64 && strncmp(s, "sha256:", 7) != 0 && ref_is_id_prefix(s)));
	} else {
		CHECK(err && err->msg && strncmp(err->msg, "invalid reference '", 19) == 0);
		CHECK(fields_empty(&r));
		hull_error_clear(&err);
	}
}

static void check_normalize(const char *s, const char *default_domain)
{
	struct image_ref r, parsed;
	hull_error *err = NULL;
	int pr = ref_parse(s, &parsed, &err);
	hull_error_clear(&err);

	if (ref_normalize(s, default_domain, &r, &err) != 0) {
		CHECK(err && err->msg);
		CHECK(fields_empty(&r));
		hull_error_clear(&err);
		/* only the grown name may fail after a successful parse */
		if (pr == 0)
			CHECK(!parsed.domain || strcmp(parsed.domain, "index.docker.io") == 0 ||
			      strcmp(parsed.domain, "docker.io") == 0);
		ref_clear(&parsed);
		return;
	}
	CHECK(pr == 0);
	check_fields(&r);
	CHECK(r.domain && (r.tag || r.digest));
	CHECK(strcmp(r.domain, "index.docker.io") != 0);
	if (strcmp(r.domain, "docker.io") == 0)
		CHECK(strchr(r.path, '/'));
	/* a given tag or digest is kept as written */
	CHECK(!parsed.tag || (r.tag && strcmp(parsed.tag, r.tag) == 0));
	CHECK(!parsed.digest || (r.digest && strcmp(parsed.digest, r.digest) == 0));

	/* normalising the result again changes nothing, whatever the default */
	char *s1 = ref_string(&r);
	CHECK(s1);
	struct image_ref again;
	CHECK(ref_normalize(s1, "example.com", &again, &err) == 0);
	char *s2 = ref_string(&again);
	CHECK(s2 && strcmp(s1, s2) == 0);
	free(s1);
	free(s2);
	ref_clear(&again);
	ref_clear(&parsed);
	ref_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	check_parse(s);
	check_normalize(s, NULL);
	check_normalize(s, "docker.io");
	if (ref_is_id_prefix(s)) {
		const char *h = strncmp(s, "sha256:", 7) == 0 ? s + 7 : s;
		CHECK(strlen(h) >= 3 && strlen(h) <= 64);
	}
	free(s);
	return 0;
}
