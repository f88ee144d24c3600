/* Unit tests for src/util/digest.c: known sha256 vectors, streaming vs
 * one-shot, digest_fd on files and pipes, validation, chain IDs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/digest.h"
#include "util/error.h"

#define SHA_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* FIPS 180-2 two-block vector */
#define SHA_448BIT "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define MSG_448BIT "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
/* one million 'a' */
#define SHA_MILLION_A "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

/* deterministic pseudo-random bytes (xorshift) */
static void fill_pattern(unsigned char *buf, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void test_known_vectors(void **state)
{
	(void)state;
	char out[DIGEST_SHA256_LEN + 1];
	digest_buffer("", 0, out);
	assert_string_equal(out, SHA_EMPTY);
	assert_int_equal(strlen(out), DIGEST_SHA256_LEN);
	digest_buffer("abc", 3, out);
	assert_string_equal(out, SHA_ABC);
	digest_buffer(MSG_448BIT, strlen(MSG_448BIT), out);
	assert_string_equal(out, SHA_448BIT);

	struct digester *d = digester_new();
	assert_non_null(d);
	digester_final(d, out);
	assert_string_equal(out, SHA_EMPTY);
	assert_int_equal(digester_bytes(d), 0);
	digester_free(d);

	d = digester_new();
	digester_update(d, "a", 1);
	digester_update(d, "", 0);
	digester_update(d, "bc", 2);
	assert_int_equal(digester_bytes(d), 3);
	digester_final(d, out);
	assert_string_equal(out, SHA_ABC);
	digester_free(d);
}

static void test_million_a_streamed(void **state)
{
	(void)state;
	char chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	struct digester *d = digester_new();
	assert_non_null(d);
	for (int i = 0; i < 1000; i++)
		digester_update(d, chunk, sizeof(chunk));
	assert_int_equal(digester_bytes(d), 1000000);
	char out[DIGEST_SHA256_LEN + 1];
	digester_final(d, out);
	digester_free(d);
	assert_string_equal(out, SHA_MILLION_A);
}

/* The same data fed in irregular chunks (1 byte up to several blocks, and
 * zero-length updates) gives the one-shot digest. */
static void test_streaming_equals_oneshot(void **state)
{
	(void)state;
	const size_t n = (1 << 20) + 12345;
	unsigned char *buf = malloc(n);
	assert_non_null(buf);
	fill_pattern(buf, n, 42);

	char one[DIGEST_SHA256_LEN + 1], streamed[DIGEST_SHA256_LEN + 1];
	digest_buffer(buf, n, one);

	static const size_t steps[] = { 1, 0, 63, 64, 65, 7, 4096, 0, 100003, 55, 128 * 1024 };
	struct digester *d = digester_new();
	assert_non_null(d);
	size_t off = 0, k = 0;
	while (off < n) {
		size_t step = steps[k++ % (sizeof(steps) / sizeof(steps[0]))];
		if (step > n - off)
			step = n - off;
		digester_update(d, buf + off, step);
		off += step;
	}
	assert_int_equal(digester_bytes(d), n);
	digester_final(d, streamed);
	digester_free(d);
	assert_string_equal(one, streamed);

	/* one changed byte changes the digest */
	buf[n / 2] ^= 1;
	digest_buffer(buf, n, streamed);
	assert_string_not_equal(one, streamed);
	free(buf);
}

static void test_digest_fd_file(void **state)
{
	(void)state;
	char path[] = "/tmp/hull-test-digest-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);

	char out[DIGEST_SHA256_LEN + 1];
	uint64_t size = 99;
	assert_int_equal(digest_fd(fd, out, &size), 0);
	assert_string_equal(out, SHA_EMPTY);
	assert_int_equal(size, 0);

	/* larger than the read chunk, not a multiple of it */
	const size_t n = 3 * 256 * 1024 + 777;
	unsigned char *buf = malloc(n);
	assert_non_null(buf);
	fill_pattern(buf, n, 7);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	char expect[DIGEST_SHA256_LEN + 1];
	digest_buffer(buf, n, expect);
	assert_int_equal(digest_fd(fd, out, &size), 0);
	assert_string_equal(out, expect);
	assert_int_equal(size, n);

	/* from the current offset to EOF; size may be NULL */
	assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
	digest_buffer(buf + 1000, n - 1000, expect);
	assert_int_equal(digest_fd(fd, out, NULL), 0);
	assert_string_equal(out, expect);
	free(buf);
	close(fd);
}

static void test_digest_fd_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		/* "abc" in three writes with pauses: short reads must be summed */
		for (const char *c = "abc"; *c; c++) {
			if (write(p[1], c, 1) != 1)
				_exit(1);
			usleep(10000);
		}
		_exit(0);
	}
	close(p[1]);
	char out[DIGEST_SHA256_LEN + 1];
	uint64_t size = 0;
	assert_int_equal(digest_fd(p[0], out, &size), 0);
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(out, SHA_ABC);
	assert_int_equal(size, 3);
}

static void test_digest_fd_errors(void **state)
{
	(void)state;
	char out[DIGEST_SHA256_LEN + 1];
	assert_int_equal(digest_fd(-1, out, NULL), -EBADF);
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(digest_fd(fd, out, NULL), -EISDIR);
	close(fd);
}

static void test_digest_valid(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ SHA_EMPTY, true },
		{ SHA_ABC, true },
		{ "sha256:0000000000000000000000000000000000000000000000000000000000000000", true },
		{ NULL, false },
		{ "", false },
		{ "sha256:", false },
		{ "sha256", false },
		/* uppercase hex */
		{ "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false },
		/* 63 and 65 hex */
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", false },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", false },
		/* non-hex */
		{ "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
		/* other algorithms are refused */
		{ "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
		{ "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
		{ "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
		{ " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ", false },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (digest_valid(cases[i].s) != cases[i].ok)
			fail_msg("digest_valid(%s) != %d", cases[i].s ? cases[i].s : "NULL", cases[i].ok);
	}
}

static void test_digest_check_and_hex(void **state)
{
	(void)state;
	hull_error *e = NULL;
	assert_int_equal(digest_check(SHA_ABC, "layer", &e), 0);
	assert_null(e);
	assert_string_equal(digest_hex(SHA_ABC), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	assert_int_equal(digest_check("sha256:xyz", "layer", &e), -1);
	assert_non_null(e);
	assert_string_equal(e->msg, "layer: invalid digest 'sha256:xyz'");
	assert_int_equal(e->status, EINVAL);
	hull_error_clear(&e);

	assert_int_equal(digest_check("md5:1", NULL, &e), -1);
	assert_string_equal(e->msg, "invalid digest 'md5:1'");
	hull_error_clear(&e);

	assert_int_equal(digest_check(NULL, "config", &e), -1);
	assert_string_equal(e->msg, "config: invalid digest ''");
	hull_error_clear(&e);

	/* a huge or binary value is shortened and made printable */
	char big[400];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\n';
	assert_int_equal(digest_check(big, "layer", &e), -1);
	assert_true(strlen(e->msg) < 120);
	assert_null(strchr(e->msg, '\n'));
	assert_non_null(strstr(e->msg, "xxx?xx"));
	assert_non_null(strstr(e->msg, "...'"));
	hull_error_clear(&e);

	/* a NULL err is fine */
	assert_int_equal(digest_check("bad", "x", NULL), -1);
}

static void test_chain_id(void **state)
{
	(void)state;
	char out[DIGEST_SHA256_LEN + 1];
	/* printf 'sha256:a sha256:b' | sha256sum */
	digest_chain_id("sha256:a", "sha256:b", out);
	assert_string_equal(out, "sha256:970a948bffa8de94d6e22d747ba8c95030e6e546909f98f54e99a13005e173a8");

	/* base layer: chain id is the diff id */
	const char *l1 = "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2";
	const char *l2 = "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06";
	digest_chain_id(NULL, l1, out);
	assert_string_equal(out, l1);
	digest_chain_id("", l1, out);
	assert_string_equal(out, l1);

	/* printf '%s %s' $l1 $l2 | sha256sum */
	digest_chain_id(l1, l2, out);
	assert_string_equal(out, "sha256:9c7a0b8937394482a0afcc4bef0ca0aba0d74084bd9f60198ec7fac434e5436d");
	assert_true(digest_valid(out));

	/* order matters */
	char rev[DIGEST_SHA256_LEN + 1];
	digest_chain_id(l2, l1, rev);
	assert_string_not_equal(out, rev);

	/* inputs longer than digests still hash (through the heap path) */
	char longp[300];
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	char expect[DIGEST_SHA256_LEN + 1], joined[400];
	snprintf(joined, sizeof(joined), "%s %s", longp, l2);
	digest_buffer(joined, strlen(joined), expect);
	digest_chain_id(longp, l2, out);
	assert_string_equal(out, expect);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_million_a_streamed),
		cmocka_unit_test(test_streaming_equals_oneshot),
		cmocka_unit_test(test_digest_fd_file),
		cmocka_unit_test(test_digest_fd_pipe),
		cmocka_unit_test(test_digest_fd_errors),
		cmocka_unit_test(test_digest_valid),
		cmocka_unit_test(test_digest_check_and_hex),
		cmocka_unit_test(test_chain_id),
	};
	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
