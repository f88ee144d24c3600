/* digest.c - sha256 digests ("sha256:<64 hex>") with OpenSSL's EVP API.
 *
 * The EVP_MD is fetched once per process (OpenSSL 3 would otherwise do an
 * implicit provider lookup, with its locks, on every EVP_DigestInit_ex). */
#include "util/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define SHA256_RAW_LEN 32
#define DIGEST_PREFIX "sha256:"
#define DIGEST_PREFIX_LEN 7
#define DIGEST_READ_CHUNK (256 * 1024)

struct digester {
	EVP_MD_CTX *ctx;
	uint64_t bytes;
};

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static const EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha256_md = md ? md : EVP_sha256();
}

static const EVP_MD *sha256_get(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md;
}

struct digester *digester_new(void)
{
	struct digester *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || EVP_DigestInit_ex(d->ctx, sha256_get(), NULL) != 1) {
		digester_free(d);
		return NULL;
	}
	return d;
}

void digester_update(struct digester *d, const void *data, size_t len)
{
	if (len == 0)
		return;
	/* sha256 update cannot fail once the context is initialised */
	(void)EVP_DigestUpdate(d->ctx, data, len);
	d->bytes += len;
}

static void hex_encode(const unsigned char *raw, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static void format_digest(const unsigned char raw[SHA256_RAW_LEN], char out[static DIGEST_SHA256_LEN + 1])
{
	memcpy(out, DIGEST_PREFIX, DIGEST_PREFIX_LEN);
	hex_encode(raw, SHA256_RAW_LEN, out + DIGEST_PREFIX_LEN);
}

void digester_final(struct digester *d, char out[static DIGEST_SHA256_LEN + 1])
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(d->ctx, raw, &n) != 1 || n != SHA256_RAW_LEN)
		memset(raw, 0, sizeof(raw)); /* not reachable with a valid context */
	format_digest(raw, out);
}

uint64_t digester_bytes(const struct digester *d)
{
	return d->bytes;
}

void digester_free(struct digester *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void digest_buffer(const void *data, size_t len, char out[static DIGEST_SHA256_LEN + 1])
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	/* EVP_Digest is one-shot with no context to allocate by the caller */
	if (EVP_Digest(data, len, raw, &n, sha256_get(), NULL) != 1 || n != SHA256_RAW_LEN)
		memset(raw, 0, sizeof(raw));
	format_digest(raw, out);
}

int digest_fd(int fd, char out[static DIGEST_SHA256_LEN + 1], uint64_t *ret_size)
{
	struct digester *d = digester_new();
	unsigned char *buf = malloc(DIGEST_READ_CHUNK);
	int r = 0;

	if (!d || !buf) {
		r = -ENOMEM;
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, buf, DIGEST_READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		digester_update(d, buf, (size_t)n);
	}
	if (ret_size)
		*ret_size = digester_bytes(d);
	digester_final(d, out);
out:
	free(buf);
	digester_free(d);
	return r;
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool digest_valid(const char *s)
{
	if (!s || strncmp(s, DIGEST_PREFIX, DIGEST_PREFIX_LEN) != 0)
		return false;
	const char *h = s + DIGEST_PREFIX_LEN;
	for (size_t i = 0; i < 2 * SHA256_RAW_LEN; i++)
		if (!is_lower_hex(h[i])) /* also stops at a NUL */
			return false;
	return h[2 * SHA256_RAW_LEN] == '\0';
}

/* Copy at most 80 bytes of s for a message, non-printable bytes as '?'. */
static void quote_for_message(const char *s, char *out, size_t outsz)
{
	size_t n = 0, max = outsz - 4;
	for (; s[n] && n < max; n++)
		out[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
	if (s[n]) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

int digest_check(const char *s, const char *what, hull_error **err)
{
	if (digest_valid(s))
		return 0;
	char q[84];
	quote_for_message(s ? s : "", q, sizeof(q));
	bool fresh = err && !*err;
	if (what && *what)
		hull_error_set(err, 0, "%s: invalid digest '%s'", what, q);
	else
		hull_error_set(err, 0, "invalid digest '%s'", q);
	if (fresh && *err)
		(*err)->status = EINVAL; /* without ": invalid argument" in the text */
	return -1;
}

const char *digest_hex(const char *s)
{
	const char *colon = strchr(s, ':');
	return colon ? colon + 1 : s;
}

void digest_chain_id(const char *parent_chain, const char *diff_id, char out[static DIGEST_SHA256_LEN + 1])
{
	if (!parent_chain || !*parent_chain) {
		size_t n = strnlen(diff_id, DIGEST_SHA256_LEN);
		memcpy(out, diff_id, n);
		out[n] = '\0';
		return;
	}
	/* "parent diff": both are digests, so this fits on the stack; longer
	 * (invalid) inputs are still hashed, through the heap */
	char local[2 * DIGEST_SHA256_LEN + 2];
	size_t lp = strlen(parent_chain), ld = strlen(diff_id), total = lp + 1 + ld;
	char *buf = total <= sizeof(local) ? local : malloc(total);
	if (!buf) {
		out[0] = '\0';
		return;
	}
	memcpy(buf, parent_chain, lp);
	buf[lp] = ' ';
	memcpy(buf + lp + 1, diff_id, ld);
	digest_buffer(buf, total, out);
	if (buf != local)
		free(buf);
}
