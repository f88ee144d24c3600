/* reference.c - image references parsed by the distribution reference
 * grammar and normalised as Podman does.
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [ domain "/" ] path
 *   domain           := host [ ":" port ]
 *   host             := domain-name | IPv4 | "[" IPv6 "]"
 *   domain-name      := domain-component ( "." domain-component )*
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   port             := [0-9]+
 *   path             := path-component ( "/" path-component )*
 *   path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator        := [_.] | "__" | "-"+
 *   tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest           := "sha256:" [0-9a-f]{64}   (hull knows sha256 only)
 *
 * The first "/"-separated component is the domain when it contains '.' or
 * ':' or is "localhost"; the name (domain and path) is at most 255 bytes.
 */
#include "image/reference.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"

#define REF_NAME_MAX 255
#define REF_TAG_MAX 128
#define REF_QUOTE_MAX 160
#define DOCKER_DOMAIN "docker.io"
#define DOCKER_LEGACY_DOMAIN "index.docker.io"
#define LOCAL_DOMAIN "localhost"
#define DEFAULT_TAG "latest"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool all_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

/* The input for an error message: bounded, non-printable bytes as '?'. */
static void quote_input(const char *s, char out[static REF_QUOTE_MAX + 4])
{
	size_t n = 0;
	for (; s[n] && n < REF_QUOTE_MAX; n++)
		out[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
	if (s[n]) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static int ref_fail(const char *input, const char *why, hull_error **err)
{
	char q[REF_QUOTE_MAX + 4];
	quote_input(input, q);
	bool fresh = err && !*err;
	hull_error_set(err, 0, "invalid reference '%s': %s", q, why);
	if (fresh && *err)
		(*err)->status = EINVAL; /* without ": invalid argument" in the text */
	return -1;
}

/* tag := [\w][\w.-]{0,127} over s[0..n). */
static bool tag_valid(const char *s, size_t n)
{
	if (n == 0 || n > REF_TAG_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* Length of the separator at s (0 if none): "." "_" "__" or "-"+. */
static size_t separator_len(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (s[0] == '.')
		return 1;
	if (s[0] == '_')
		return (n > 1 && s[1] == '_') ? 2 : 1;
	size_t i = 0;
	while (i < n && s[i] == '-')
		i++;
	return i;
}

/* path-component over s[0..n); *upper set when an uppercase letter is seen
 * (so the error can say why). */
static bool path_component_valid(const char *s, size_t n, bool *upper)
{
	size_t i = 0;
	for (;;) {
		size_t run = 0;
		while (i < n && (is_lower_alnum(s[i]) || (s[i] >= 'A' && s[i] <= 'Z'))) {
			if (s[i] >= 'A' && s[i] <= 'Z')
				*upper = true;
			i++, run++;
		}
		if (run == 0)
			return false;
		if (i == n)
			return true;
		size_t sep = separator_len(s + i, n - i);
		if (sep == 0)
			return false;
		i += sep;
	}
}

/* path := path-component ("/" path-component)* over s[0..n). */
static bool path_valid(const char *s, size_t n, bool *upper)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (!path_component_valid(s + start, i - start, upper))
			return false;
		start = i + 1;
	}
	return true;
}

/* domain-component over s[0..n). */
static bool domain_component_valid(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* domain-name (which covers IPv4 addresses too) over s[0..n). */
static bool domain_name_valid(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!domain_component_valid(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* "[" IPv6 "]" over s[0..n), checked with inet_pton. */
static bool ipv6_host_valid(const char *s, size_t n)
{
	char addr[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;
	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 > INET6_ADDRSTRLEN)
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f') && !(s[i] >= 'A' && s[i] <= 'F') &&
		    s[i] != ':' && s[i] != '.')
			return false;
	memcpy(addr, s + 1, n - 2);
	addr[n - 2] = '\0';
	return inet_pton(AF_INET6, addr, &a) == 1;
}

/* domain := host [":" port] over s[0..n). */
static bool domain_valid(const char *s, size_t n)
{
	size_t host_len = n;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return false;
		host_len = (size_t)(close - s) + 1;
		if (!ipv6_host_valid(s, host_len))
			return false;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			host_len = (size_t)(colon - s);
		if (!domain_name_valid(s, host_len))
			return false;
	}
	if (host_len == n)
		return true;
	if (s[host_len] != ':' || host_len + 1 == n)
		return false;
	for (size_t i = host_len + 1; i < n; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Whether the first component s[0..n) names a domain rather than a path. */
static bool looks_like_domain(const char *s, size_t n)
{
	if (memchr(s, '.', n) || memchr(s, ':', n))
		return true;
	return n == strlen(LOCAL_DOMAIN) && memcmp(s, LOCAL_DOMAIN, n) == 0;
}

/* The pieces of a reference as offsets into the input. */
struct ref_span {
	size_t name_len;  /* domain "/" path */
	size_t domain_len; /* 0: no domain */
	const char *tag; /* NULL or start of tag */
	size_t tag_len;
	const char *digest; /* NULL or the text after '@' */
};

static int split_reference(const char *s, struct ref_span *sp, hull_error **err)
{
	size_t len = strlen(s);
	const char *at = strchr(s, '@');
	memset(sp, 0, sizeof(*sp));

	if (at) {
		sp->digest = at + 1;
		len = (size_t)(at - s);
		hull_error *derr = NULL;
		if (digest_check(sp->digest, NULL, &derr) < 0) {
			ref_fail(s, derr ? derr->msg : "invalid digest", err);
			hull_error_free(derr);
			return -1;
		}
	}
	/* a ':' after the last '/' starts the tag */
	const char *colon = NULL;
	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] == '/')
			break;
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	}
	sp->name_len = len;
	if (colon) {
		sp->tag = colon + 1;
		sp->tag_len = len - (size_t)(sp->tag - s);
		sp->name_len = (size_t)(colon - s);
		if (!tag_valid(sp->tag, sp->tag_len))
			return ref_fail(s, "invalid tag", err);
	}
	const char *slash = memchr(s, '/', sp->name_len);
	if (slash && looks_like_domain(s, (size_t)(slash - s)))
		sp->domain_len = (size_t)(slash - s);
	return 0;
}

static int check_name(const char *s, const struct ref_span *sp, hull_error **err)
{
	if (sp->name_len == 0)
		return ref_fail(s, "empty repository name", err);
	if (sp->name_len > REF_NAME_MAX)
		return ref_fail(s, "repository name longer than 255 characters", err);
	if (sp->domain_len && !domain_valid(s, sp->domain_len))
		return ref_fail(s, "invalid domain", err);
	const char *path = s + (sp->domain_len ? sp->domain_len + 1 : 0);
	size_t path_len = sp->name_len - (size_t)(path - s);
	bool upper = false;
	if (!path_valid(path, path_len, &upper) || path_len == 0)
		return ref_fail(s, "invalid repository name", err);
	if (upper)
		return ref_fail(s, "repository name must be lowercase", err);
	/* a bare 64-hex string is an image id, never a name */
	if (!sp->domain_len && !sp->tag && !sp->digest && path_len == 64 && all_lower_hex(path, 64))
		return ref_fail(s, "a 64-character hex string is an image id, not a name", err);
	return 0;
}

int ref_parse(const char *s, struct image_ref *ret, hull_error **err)
{
	struct ref_span sp;
	memset(ret, 0, sizeof(*ret));
	if (!s || !*s)
		return ref_fail("", "empty", err);
	if (split_reference(s, &sp, err) < 0 || check_name(s, &sp, err) < 0)
		return -1;

	size_t path_off = sp.domain_len ? sp.domain_len + 1 : 0;
	if (sp.domain_len && !(ret->domain = strndup(s, sp.domain_len)))
		goto nomem;
	if (!(ret->path = strndup(s + path_off, sp.name_len - path_off)))
		goto nomem;
	if (sp.tag && !(ret->tag = strndup(sp.tag, sp.tag_len)))
		goto nomem;
	if (sp.digest && !(ret->digest = strdup(sp.digest)))
		goto nomem;
	return 0;
nomem:
	ref_clear(ret);
	return hull_error_set(err, ENOMEM, "parse reference");
}

static int replace_str(char **dst, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

static int add_library_prefix(struct image_ref *r)
{
	char *p = NULL;
	if (asprintf(&p, "library/%s", r->path) < 0)
		return -1;
	free(r->path);
	r->path = p;
	return 0;
}

static int normalize_fields(struct image_ref *r, const char *default_domain)
{
	if (!r->domain && replace_str(&r->domain, default_domain ? default_domain : LOCAL_DOMAIN) < 0)
		return -1;
	if (strcmp(r->domain, DOCKER_LEGACY_DOMAIN) == 0 && replace_str(&r->domain, DOCKER_DOMAIN) < 0)
		return -1;
	if (strcmp(r->domain, DOCKER_DOMAIN) == 0 && !strchr(r->path, '/') && add_library_prefix(r) < 0)
		return -1;
	if (!r->tag && !r->digest && replace_str(&r->tag, DEFAULT_TAG) < 0)
		return -1;
	return 0;
}

int ref_normalize(const char *s, const char *default_domain, struct image_ref *ret, hull_error **err)
{
	if (ref_parse(s, ret, err) < 0)
		return -1;
	if (normalize_fields(ret, default_domain) < 0) {
		ref_clear(ret);
		return hull_error_set(err, ENOMEM, "normalize reference");
	}
	/* the default domain must itself be a domain, and the full name fits */
	if (default_domain && !domain_valid(ret->domain, strlen(ret->domain))) {
		ref_clear(ret);
		return ref_fail(s, "invalid default domain", err);
	}
	if (strlen(ret->domain) + 1 + strlen(ret->path) > REF_NAME_MAX) {
		ref_clear(ret);
		return ref_fail(s, "normalized name longer than 255 characters", err);
	}
	return 0;
}

char *ref_string(const struct image_ref *r)
{
	char *out = NULL;
	if (asprintf(&out, "%s%s%s%s%s%s%s", r->domain ? r->domain : "", r->domain ? "/" : "", r->path,
		     r->tag ? ":" : "", r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "") < 0)
		return NULL;
	return out;
}

char *ref_repository(const struct image_ref *r)
{
	char *out = NULL;
	if (asprintf(&out, "%s%s%s", r->domain ? r->domain : "", r->domain ? "/" : "", r->path) < 0)
		return NULL;
	return out;
}

bool ref_is_id_prefix(const char *s)
{
	if (!s)
		return false;
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	size_t n = strnlen(s, 65);
	return n >= 3 && n <= 64 && all_lower_hex(s, n);
}

void ref_clear(struct image_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}
