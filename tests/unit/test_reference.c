/* Unit tests for src/image/reference.c: the distribution reference grammar
 * and Podman's normalisation, as a table of valid and invalid names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/reference.h"
#include "util/error.h"

#define D "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct norm_case {
	const char *in;
	const char *default_domain; /* NULL: localhost */
	const char *expect;	    /* normalised string, NULL: must be refused */
};

static const struct norm_case norm_cases[] = {
	/* short names are local (Podman without search registries) */
	{ "busybox", NULL, "localhost/busybox:latest" },
	{ "busybox:1.36", NULL, "localhost/busybox:1.36" },
	{ "library/busybox", NULL, "localhost/library/busybox:latest" },
	{ "a", NULL, "localhost/a:latest" },
	{ "0", NULL, "localhost/0:latest" },
	{ "foo_bar", NULL, "localhost/foo_bar:latest" },
	{ "foo__bar", NULL, "localhost/foo__bar:latest" },
	{ "foo.bar", NULL, "localhost/foo.bar:latest" },
	{ "foo---bar", NULL, "localhost/foo---bar:latest" },
	{ "foo-bar/baz.qux/quux__x", NULL, "localhost/foo-bar/baz.qux/quux__x:latest" },
	{ "a/b/c/d/e/f", NULL, "localhost/a/b/c/d/e/f:latest" },
	/* "localhost" alone is a path; "localhost:5000" is name:tag */
	{ "localhost", NULL, "localhost/localhost:latest" },
	{ "localhost:5000", NULL, "localhost/localhost:5000" },
	/* docker.io */
	{ "docker.io/busybox", NULL, "docker.io/library/busybox:latest" },
	{ "docker.io/library/busybox", NULL, "docker.io/library/busybox:latest" },
	{ "docker.io/library/busybox:musl", NULL, "docker.io/library/busybox:musl" },
	{ "docker.io/foo/bar", NULL, "docker.io/foo/bar:latest" },
	{ "index.docker.io/busybox", NULL, "docker.io/library/busybox:latest" },
	{ "index.docker.io/foo/bar:1", NULL, "docker.io/foo/bar:1" },
	{ "docker.io/busybox@" D, NULL, "docker.io/library/busybox@" D },
	/* a default domain (a search registry) */
	{ "busybox", "docker.io", "docker.io/library/busybox:latest" },
	{ "foo/bar:2", "docker.io", "docker.io/foo/bar:2" },
	{ "foo", "registry.example.com:5000", "registry.example.com:5000/foo:latest" },
	{ "quay.io/x", "docker.io", "quay.io/x:latest" },
	{ "foo", "bad_domain", NULL },
	/* other domains */
	{ "quay.io/podman/stable:v4", NULL, "quay.io/podman/stable:v4" },
	{ "localhost/foo", NULL, "localhost/foo:latest" },
	{ "localhost:5000/foo", NULL, "localhost:5000/foo:latest" },
	{ "localhost:5000/foo/bar:tag", NULL, "localhost:5000/foo/bar:tag" },
	{ "127.0.0.1:5000/x/y:1", NULL, "127.0.0.1:5000/x/y:1" },
	{ "10.0.0.1/x", NULL, "10.0.0.1/x:latest" },
	{ "[::1]:5000/foo", NULL, "[::1]:5000/foo:latest" },
	{ "[2001:db8::1]/foo:bar", NULL, "[2001:db8::1]/foo:bar" },
	{ "[::ffff:10.0.0.1]:80/x", NULL, "[::ffff:10.0.0.1]:80/x:latest" },
	{ "a.b/c", NULL, "a.b/c:latest" },
	{ "a.b.c:1/d", NULL, "a.b.c:1/d:latest" },
	{ "Example.COM/foo", NULL, "Example.COM/foo:latest" },
	{ "my-registry.example.com:443/ns/img:v1.2.3-rc_1", NULL, "my-registry.example.com:443/ns/img:v1.2.3-rc_1" },
	{ "example.com/a/b/c/d:e", NULL, "example.com/a/b/c/d:e" },
	/* tags */
	{ "foo:TAG_upper", NULL, "localhost/foo:TAG_upper" },
	{ "foo:_tag", NULL, "localhost/foo:_tag" },
	{ "foo:1.0-beta.2", NULL, "localhost/foo:1.0-beta.2" },
	/* digests: tag optional, both kept */
	{ "busybox@" D, NULL, "localhost/busybox@" D },
	{ "busybox:1@" D, NULL, "localhost/busybox:1@" D },
	{ "localhost:5000/foo:t@" D, NULL, "localhost:5000/foo:t@" D },
	/* hex names: only a bare 64-hex string is an id */
	{ HEX64 ":latest", NULL, "localhost/" HEX64 ":latest" },
	{ "localhost/" HEX64, NULL, "localhost/" HEX64 ":latest" },
	{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", NULL,
	  "localhost/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde:latest" },
	{ HEX64, NULL, NULL },
	{ "sha256:" HEX64, NULL, "localhost/sha256:" HEX64 },

	/* invalid */
	{ "", NULL, NULL },
	{ ":", NULL, NULL },
	{ ":tag", NULL, NULL },
	{ "@" D, NULL, NULL },
	{ "Busybox", NULL, NULL },
	{ "foo/Bar", NULL, NULL },
	{ "docker.io/Library/busybox", NULL, NULL },
	{ "foo:", NULL, NULL },
	{ "foo:.tag", NULL, NULL },
	{ "foo:-tag", NULL, NULL },
	{ "foo:ta g", NULL, NULL },
	{ "foo:t/g", NULL, NULL },
	{ "foo:tag:x", NULL, NULL },
	{ "foo@sha256:abc", NULL, NULL },
	{ "foo@md5:d41d8cd98f00b204e9800998ecf8427e", NULL, NULL },
	{ "foo@sha512:" HEX64 HEX64, NULL, NULL },
	{ "foo@", NULL, NULL },
	{ "foo:tag@", NULL, NULL },
	{ "foo@" D "@" D, NULL, NULL },
	{ "foo@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", NULL, NULL },
	{ "foo@" HEX64, NULL, NULL },
	{ "_foo", NULL, NULL },
	{ "foo_", NULL, NULL },
	{ "foo___bar", NULL, NULL },
	{ "foo._bar", NULL, NULL },
	{ "foo-_bar", NULL, NULL },
	{ "foo-", NULL, NULL },
	{ "-foo", NULL, NULL },
	{ ".foo", NULL, NULL },
	{ "foo..bar", NULL, NULL },
	{ "foo//bar", NULL, NULL },
	{ "/foo", NULL, NULL },
	{ "foo/", NULL, NULL },
	{ "localhost/", NULL, NULL },
	{ "localhost:/foo", NULL, NULL },
	{ "localhost:abc/foo", NULL, NULL },
	{ "http://example.com/foo", NULL, NULL },
	{ "-example.com/foo", NULL, NULL },
	{ "example-.com/foo", NULL, NULL },
	{ "example..com/foo", NULL, NULL },
	{ ".example.com/foo", NULL, NULL },
	{ "exa_mple.com/foo", NULL, NULL },
	{ "[::1/foo", NULL, NULL },
	{ "[zz::1]/foo", NULL, NULL },
	{ "[::1]x/foo", NULL, NULL },
	{ "[::1]:/foo", NULL, NULL },
	{ "[]/foo", NULL, NULL },
	{ "[fe80::1%eth0]/foo", NULL, NULL },
	{ "[1:2:3:4:5:6:7:8:9]/foo", NULL, NULL },
	{ "foo bar", NULL, NULL },
	{ "foo\tbar", NULL, NULL },
	{ " foo", NULL, NULL },
	{ "foo\n", NULL, NULL },
	{ "f\xc3\xa4o", NULL, NULL },
};

static void test_normalize_table(void **state)
{
	(void)state;
	size_t n = sizeof(norm_cases) / sizeof(norm_cases[0]);
	size_t valid = 0, invalid = 0;
	assert_true(n >= 60);
	for (size_t i = 0; i < n; i++) {
		const struct norm_case *c = &norm_cases[i];
		struct image_ref r;
		hull_error *e = NULL;
		int ret = ref_normalize(c->in, c->default_domain, &r, &e);
		if (!c->expect) {
			if (ret == 0)
				fail_msg("'%s' accepted, expected refusal", c->in);
			if (!e || !e->msg || strncmp(e->msg, "invalid reference '", 19) != 0)
				fail_msg("'%s': bad error '%s'", c->in, e ? e->msg : "(none)");
			assert_int_equal(e->status, EINVAL);
			/* nothing handed out on failure */
			assert_null(r.domain);
			assert_null(r.path);
			assert_null(r.tag);
			assert_null(r.digest);
			hull_error_free(e);
			invalid++;
			continue;
		}
		if (ret != 0)
			fail_msg("'%s' refused: %s", c->in, e ? e->msg : "(no error)");
		assert_null(e);
		char *s = ref_string(&r);
		assert_non_null(s);
		if (strcmp(s, c->expect) != 0)
			fail_msg("'%s' -> '%s', expected '%s'", c->in, s, c->expect);
		assert_non_null(r.domain);
		assert_true(r.tag || r.digest);

		/* normalisation is idempotent: the output parses to itself */
		struct image_ref r2;
		assert_int_equal(ref_normalize(s, "docker.io", &r2, &e), 0);
		char *s2 = ref_string(&r2);
		assert_string_equal(s2, s);
		free(s2);
		ref_clear(&r2);
		free(s);
		ref_clear(&r);
		valid++;
	}
	assert_true(valid >= 30);
	assert_true(invalid >= 30);
}

static void test_parse_fields(void **state)
{
	(void)state;
	struct image_ref r;
	hull_error *e = NULL;

	/* ref_parse adds nothing */
	assert_int_equal(ref_parse("busybox", &r, &e), 0);
	assert_null(r.domain);
	assert_string_equal(r.path, "busybox");
	assert_null(r.tag);
	assert_null(r.digest);
	char *s = ref_string(&r);
	assert_string_equal(s, "busybox");
	free(s);
	s = ref_repository(&r);
	assert_string_equal(s, "busybox");
	free(s);
	ref_clear(&r);

	assert_int_equal(ref_parse("docker.io/busybox", &r, &e), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.path, "busybox");
	assert_null(r.tag);
	ref_clear(&r);

	assert_int_equal(ref_parse("index.docker.io/busybox", &r, &e), 0);
	assert_string_equal(r.domain, "index.docker.io");
	ref_clear(&r);

	assert_int_equal(ref_parse("[::1]:5000/ns/img:v1@" D, &r, &e), 0);
	assert_string_equal(r.domain, "[::1]:5000");
	assert_string_equal(r.path, "ns/img");
	assert_string_equal(r.tag, "v1");
	assert_string_equal(r.digest, D);
	s = ref_string(&r);
	assert_string_equal(s, "[::1]:5000/ns/img:v1@" D);
	free(s);
	s = ref_repository(&r);
	assert_string_equal(s, "[::1]:5000/ns/img");
	free(s);
	ref_clear(&r);
	assert_null(r.path);
	ref_clear(&r); /* twice is fine */
	ref_clear(NULL);

	assert_int_equal(ref_parse("localhost:5000/foo", &r, &e), 0);
	assert_string_equal(r.domain, "localhost:5000");
	assert_string_equal(r.path, "foo");
	assert_null(r.tag);
	ref_clear(&r);

	assert_int_equal(ref_parse("foo@" D, &r, &e), 0);
	assert_null(r.tag);
	assert_string_equal(r.digest, D);
	ref_clear(&r);

	/* normalize keeps a digest without inventing a tag */
	assert_int_equal(ref_normalize("foo@" D, NULL, &r, &e), 0);
	assert_null(r.tag);
	s = ref_repository(&r);
	assert_string_equal(s, "localhost/foo");
	free(s);
	ref_clear(&r);

	/* NULL input and NULL err */
	assert_int_equal(ref_parse(NULL, &r, &e), -1);
	hull_error_clear(&e);
	assert_int_equal(ref_parse("Foo", &r, NULL), -1);
	assert_null(r.path);
}

static void test_error_messages(void **state)
{
	(void)state;
	struct image_ref r;
	hull_error *e = NULL;

	assert_int_equal(ref_parse("Foo", &r, &e), -1);
	assert_string_equal(e->msg, "invalid reference 'Foo': repository name must be lowercase");
	hull_error_clear(&e);

	assert_int_equal(ref_parse("foo@sha256:abc", &r, &e), -1);
	assert_string_equal(e->msg, "invalid reference 'foo@sha256:abc': invalid digest 'sha256:abc'");
	hull_error_clear(&e);

	assert_int_equal(ref_parse("foo:-x", &r, &e), -1);
	assert_string_equal(e->msg, "invalid reference 'foo:-x': invalid tag");
	hull_error_clear(&e);

	assert_int_equal(ref_parse(HEX64, &r, &e), -1);
	assert_non_null(strstr(e->msg, "image id, not a name"));
	hull_error_clear(&e);

	assert_int_equal(ref_parse("", &r, &e), -1);
	assert_string_equal(e->msg, "invalid reference '': empty");
	hull_error_clear(&e);

	assert_int_equal(ref_parse("exa_mple.com/x", &r, &e), -1);
	assert_string_equal(e->msg, "invalid reference 'exa_mple.com/x': invalid domain");
	hull_error_clear(&e);

	/* a huge or binary input is shortened and printable in the message */
	char big[2000];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '\x1b';
	assert_int_equal(ref_parse(big, &r, &e), -1);
	assert_true(strlen(e->msg) < 260);
	assert_null(strchr(e->msg, '\x1b'));
	assert_non_null(strstr(e->msg, "AAAAA?AAA"));
	hull_error_clear(&e);

	/* an existing error is not overwritten */
	hull_error_set(&e, 0, "first");
	assert_int_equal(ref_parse("Foo", &r, &e), -1);
	assert_string_equal(e->msg, "first");
	assert_int_equal(e->status, 0);
	hull_error_clear(&e);
}

/* Build "prefix" + n times 'c' + "suffix". */
static char *build(const char *prefix, size_t n, char c, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);
	char *s = malloc(lp + n + ls + 1);
	assert_non_null(s);
	memcpy(s, prefix, lp);
	memset(s + lp, c, n);
	memcpy(s + lp + n, suffix, ls + 1);
	return s;
}

static bool parses(const char *s)
{
	struct image_ref r;
	hull_error *e = NULL;
	int ret = ref_parse(s, &r, &e);
	ref_clear(&r);
	hull_error_free(e);
	return ret == 0;
}

static bool normalizes(const char *s)
{
	struct image_ref r;
	hull_error *e = NULL;
	int ret = ref_normalize(s, NULL, &r, &e);
	ref_clear(&r);
	hull_error_free(e);
	return ret == 0;
}

static void test_length_limits(void **state)
{
	(void)state;
	char *s;
	/* tag: 128 ok, 129 refused */
	s = build("foo:", 128, 't', "");
	assert_true(normalizes(s));
	free(s);
	s = build("foo:", 129, 't', "");
	assert_false(parses(s));
	free(s);
	/* name (domain + path) at most 255 bytes; the tag does not count */
	s = build("localhost/", 245, 'a', ":tag");
	assert_true(normalizes(s));
	free(s);
	s = build("localhost/", 246, 'a', "");
	assert_false(parses(s));
	free(s);
	s = build("", 255, 'a', "");
	assert_true(parses(s));
	free(s);
	s = build("", 256, 'a', "");
	assert_false(parses(s));
	free(s);
	/* a short name that only grows too long once "localhost/" is added */
	s = build("", 250, 'a', "");
	assert_true(parses(s));
	assert_false(normalizes(s));
	free(s);
	/* a long path of many components */
	char many[600] = "";
	for (int i = 0; i < 130; i++)
		strcat(many, "a/");
	strcat(many, "b"); /* 261 bytes */
	assert_false(parses(many));
	many[199] = '\0'; /* "a/a/.../a": 100 components */
	assert_true(parses(many));
}

static void test_is_id_prefix(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool id;
	} cases[] = {
		{ "abc", true },
		{ "0123", true },
		{ HEX64, true },
		{ "sha256:" HEX64, true },
		{ "sha256:abc", true },
		{ "ab", false },
		{ "sha256:ab", false },
		{ "", false },
		{ "sha256:", false },
		{ HEX64 "0", false },
		{ "sha256:" HEX64 "0", false },
		{ "ABC", false },
		{ "abg", false },
		{ "busybox", false },
		{ "abc:latest", false },
		{ "sha512:abc", false },
		{ "sha256:sha256:abc", false },
		{ NULL, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ref_is_id_prefix(cases[i].s) != cases[i].id)
			fail_msg("ref_is_id_prefix('%s') != %d", cases[i].s ? cases[i].s : "NULL", cases[i].id);
	/* a 64-hex string is an id and never a name */
	assert_true(ref_is_id_prefix(HEX64));
	assert_false(parses(HEX64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_table),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_is_id_prefix),
	};
	return cmocka_run_group_tests_name("reference", tests, NULL, NULL);
}
