/* import.c - `hull import`: a root filesystem (tarball, stdin or
 * directory) becomes a one-layer image; and the Dockerfile-style --change
 * instructions applied to an image config. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/digest.h"

/* ---- words: whitespace-separated, with "..." and '...' quoting and
 * backslash escapes, as Dockerfile instructions split them ---- */

struct words {
	char **v;
	size_t n;
};

static void words_clear(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static int words_push(struct words *w, const char *s, size_t len)
{
	char **nv = realloc(w->v, (w->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	w->v = nv;
	w->v[w->n] = strndup(s, len);
	if (!w->v[w->n])
		return -ENOMEM;
	w->n++;
	return 0;
}

static int split_words(const char *s, struct words *ret)
{
	size_t cap = strlen(s) + 1;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	const char *p = s;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		size_t len = 0;
		char quote = 0;
		while (*p && (quote || !isspace((unsigned char)*p))) {
			if (quote && *p == quote) {
				quote = 0;
				p++;
			} else if (!quote && (*p == '"' || *p == '\'')) {
				quote = *p++;
			} else if (*p == '\\' && quote != '\'' && p[1]) {
				buf[len++] = p[1];
				p += 2;
			} else {
				buf[len++] = *p++;
			}
		}
		if (quote)
			return -EINVAL;
		int r = words_push(ret, buf, len);
		if (r < 0)
			return r;
	}
}

/* ---- changes ---- */

struct change {
	const char *text; /* the whole change, for messages */
	char *instr;      /* upper-cased */
	const char *arg;  /* trimmed argument */
};

static int change_error(hull_error **err, const struct change *c, int e, const char *what)
{
	return hull_error_set(err, e, "change '%s': %s", c->text, what);
}

/* A JSON array of strings, or NULL when arg is not one. */
static json_t *parse_json_strv(const char *arg)
{
	if (arg[0] != '[')
		return NULL;
	json_t *a = json_loads(arg, JSON_DECODE_ANY, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* CMD / ENTRYPOINT: exec form (JSON array) or shell form. */
static int change_command(json_t *cfg, const struct change *c, const char *key, hull_error **err)
{
	json_t *a = parse_json_strv(c->arg);
	if (!a) {
		if (!*c->arg)
			return change_error(err, c, EINVAL, "missing command");
		a = json_pack("[s, s, s]", "/bin/sh", "-c", c->arg);
	}
	if (!a)
		return change_error(err, c, ENOMEM, "out of memory");
	json_object_set_new(cfg, key, a);
	return 0;
}

static bool valid_env_name(const char *k, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (k[i] == '=' || isspace((unsigned char)k[i]))
			return false;
	return true;
}

/* Set K=V in the Env array, replacing an entry for K. */
static int env_set(json_t *cfg, const char *key, size_t klen, const char *val)
{
	json_t *env = json_object_get(cfg, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		if (!env || json_object_set_new(cfg, "Env", env) < 0)
			return -ENOMEM;
	}
	_cleanup_free_ char *entry = NULL;
	if (asprintf(&entry, "%.*s=%s", (int)klen, key, val) < 0)
		return -ENOMEM;
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);
		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=')
			return json_array_set_new(env, i, json_string(entry)) < 0 ? -ENOMEM : 0;
	}
	return json_array_append_new(env, json_string(entry)) < 0 ? -ENOMEM : 0;
}

/* "K=V K2=V2" pairs, or the legacy "K V..." form; calls set for each. */
static int change_pairs(json_t *target, const struct change *c, bool env, hull_error **err)
{
	const char *arg = c->arg;
	size_t first = strcspn(arg, " \t\n=");
	if (arg[first] != '=') {
		/* legacy form: the first word is the key, the rest the value */
		const char *v = arg + first;
		while (*v && isspace((unsigned char)*v))
			v++;
		if (first == 0 || !*v)
			return change_error(err, c, EINVAL, "expected KEY=VALUE");
		if (env && env_set(target, arg, first, v) < 0)
			return change_error(err, c, ENOMEM, "out of memory");
		if (!env) {
			_cleanup_free_ char *k = strndup(arg, first);
			if (!k || json_object_set_new(target, k, json_string(v)) < 0)
				return change_error(err, c, ENOMEM, "out of memory");
		}
		return 0;
	}
	struct words w = { 0 };
	int r = split_words(arg, &w);
	if (r < 0) {
		words_clear(&w);
		return change_error(err, c, -r, r == -EINVAL ? "unterminated quote" : "split words");
	}
	for (size_t i = 0; i < w.n; i++) {
		char *eq = strchr(w.v[i], '=');
		if (!eq || eq == w.v[i] || (env && !valid_env_name(w.v[i], (size_t)(eq - w.v[i])))) {
			words_clear(&w);
			return change_error(err, c, EINVAL, "expected KEY=VALUE");
		}
		if (env) {
			r = env_set(target, w.v[i], (size_t)(eq - w.v[i]), eq + 1);
		} else {
			*eq = '\0';
			r = json_object_set_new(target, w.v[i], json_string(eq + 1)) < 0 ? -ENOMEM : 0;
		}
		if (r < 0) {
			words_clear(&w);
			return change_error(err, c, ENOMEM, "out of memory");
		}
	}
	words_clear(&w);
	return 0;
}

static json_t *object_member(json_t *cfg, const char *key)
{
	json_t *o = json_object_get(cfg, key);
	if (!json_is_object(o)) {
		o = json_object();
		if (!o || json_object_set_new(cfg, key, o) < 0)
			return NULL;
	}
	return o;
}

static int parse_port(const char *s, size_t len, long *ret)
{
	if (len == 0 || len > 5)
		return -EINVAL;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*ret = v;
	return 0;
}

#define MAX_PORT_RANGE 1024

/* "80", "80/tcp", "53/udp", "8000-8010/tcp" into ExposedPorts. */
static int expose_one(json_t *ports, const char *spec)
{
	const char *slash = strchr(spec, '/');
	const char *proto = slash ? slash + 1 : "tcp";
	size_t plen = slash ? (size_t)(slash - spec) : strlen(spec);
	char lproto[8];
	size_t n = strlen(proto);
	if (n == 0 || n >= sizeof(lproto))
		return -EINVAL;
	for (size_t i = 0; i <= n; i++)
		lproto[i] = (char)tolower((unsigned char)proto[i]);
	if (strcmp(lproto, "tcp") != 0 && strcmp(lproto, "udp") != 0 && strcmp(lproto, "sctp") != 0)
		return -EINVAL;
	const char *dash = memchr(spec, '-', plen);
	long lo, hi;
	if (parse_port(spec, dash ? (size_t)(dash - spec) : plen, &lo) < 0)
		return -EINVAL;
	hi = lo;
	if (dash && parse_port(dash + 1, plen - (size_t)(dash + 1 - spec), &hi) < 0)
		return -EINVAL;
	if (hi < lo || hi - lo >= MAX_PORT_RANGE)
		return -ERANGE;
	for (long p = lo; p <= hi; p++) {
		char key[24];
		snprintf(key, sizeof(key), "%ld/%s", p, lproto);
		if (json_object_set_new(ports, key, json_object()) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int change_expose(json_t *cfg, const struct change *c, hull_error **err)
{
	struct words w = { 0 };
	int r = split_words(c->arg, &w);
	if (r < 0 || w.n == 0) {
		words_clear(&w);
		return change_error(err, c, EINVAL, "expected ports");
	}
	json_t *ports = object_member(cfg, "ExposedPorts");
	for (size_t i = 0; r == 0 && i < w.n; i++) {
		r = ports ? expose_one(ports, w.v[i]) : -ENOMEM;
		if (r < 0) {
			_cleanup_free_ char *m = NULL;
			if (asprintf(&m, "invalid port '%s'", w.v[i]) < 0)
				m = NULL;
			change_error(err, c, r == -ENOMEM ? ENOMEM : EINVAL, m ? m : "invalid port");
		}
	}
	words_clear(&w);
	return r < 0 ? -1 : 0;
}

static int change_volume(json_t *cfg, const struct change *c, hull_error **err)
{
	json_t *vols = object_member(cfg, "Volumes");
	if (!vols)
		return change_error(err, c, ENOMEM, "out of memory");
	json_t *a = parse_json_strv(c->arg);
	if (a) {
		size_t i;
		json_t *v;
		bool bad = json_array_size(a) == 0;
		json_array_foreach(a, i, v)
		{
			if (json_string_length(v) == 0)
				bad = true;
			else
				json_object_set_new(vols, json_string_value(v), json_object());
		}
		json_decref(a);
		return bad ? change_error(err, c, EINVAL, "empty volume path") : 0;
	}
	struct words w = { 0 };
	if (split_words(c->arg, &w) < 0 || w.n == 0) {
		words_clear(&w);
		return change_error(err, c, EINVAL, "expected volume paths");
	}
	for (size_t i = 0; i < w.n; i++)
		json_object_set_new(vols, w.v[i], json_object());
	words_clear(&w);
	return 0;
}

static int change_workdir(json_t *cfg, const struct change *c, hull_error **err)
{
	if (!*c->arg)
		return change_error(err, c, EINVAL, "missing directory");
	if (c->arg[0] == '/') {
		json_object_set_new(cfg, "WorkingDir", json_string(c->arg));
		return 0;
	}
	const char *cur = image_json_str(cfg, "WorkingDir");
	if (!cur || !*cur)
		cur = "/";
	_cleanup_free_ char *p = NULL;
	size_t cl = strlen(cur);
	if (asprintf(&p, "%s%s%s", cur, cl && cur[cl - 1] == '/' ? "" : "/", c->arg) < 0)
		return change_error(err, c, ENOMEM, "out of memory");
	json_object_set_new(cfg, "WorkingDir", json_string(p));
	return 0;
}

static int change_string(json_t *cfg, const struct change *c, const char *key, hull_error **err)
{
	if (!*c->arg || strpbrk(c->arg, " \t\n"))
		return change_error(err, c, EINVAL, "expected one value");
	json_object_set_new(cfg, key, json_string(c->arg));
	return 0;
}

static int change_stopsignal(json_t *cfg, const struct change *c, hull_error **err)
{
	const char *a = c->arg;
	bool ok = *a != '\0';
	if (ok && isdigit((unsigned char)*a)) {
		long v = 0;
		for (const char *p = a; *p && ok; p++) {
			ok = isdigit((unsigned char)*p) && v < 1000;
			v = v * 10 + (*p - '0');
		}
		ok = ok && v >= 1 && v <= 64;
	} else {
		for (const char *p = a; *p && ok; p++)
			ok = isalnum((unsigned char)*p) || *p == '+' || *p == '-';
	}
	if (!ok)
		return change_error(err, c, EINVAL, "invalid signal");
	json_object_set_new(cfg, "StopSignal", json_string(a));
	return 0;
}

static int change_split(const char *text, struct change *ret)
{
	const char *p = text;
	while (*p && isspace((unsigned char)*p))
		p++;
	const char *start = p;
	while (*p && isalpha((unsigned char)*p))
		p++;
	size_t n = (size_t)(p - start);
	if (n == 0 || (*p && *p != '=' && !isspace((unsigned char)*p)))
		return -EINVAL;
	ret->instr = strndup(start, n);
	if (!ret->instr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ret->instr[i] = (char)toupper((unsigned char)ret->instr[i]);
	if (*p == '=')
		p++;
	while (*p && isspace((unsigned char)*p))
		p++;
	ret->arg = p;
	ret->text = text;
	return 0;
}

static int apply_one(json_t *cfg, struct change *c, hull_error **err)
{
	/* trim trailing whitespace of the argument into a private copy */
	size_t len = strlen(c->arg);
	while (len && isspace((unsigned char)c->arg[len - 1]))
		len--;
	_cleanup_free_ char *arg = strndup(c->arg, len);
	if (!arg)
		return change_error(err, c, ENOMEM, "out of memory");
	c->arg = arg;
	const char *i = c->instr;
	if (strcmp(i, "CMD") == 0)
		return change_command(cfg, c, "Cmd", err);
	if (strcmp(i, "ENTRYPOINT") == 0)
		return change_command(cfg, c, "Entrypoint", err);
	if (strcmp(i, "ENV") == 0)
		return change_pairs(cfg, c, true, err);
	if (strcmp(i, "LABEL") == 0) {
		json_t *labels = object_member(cfg, "Labels");
		return labels ? change_pairs(labels, c, false, err) : change_error(err, c, ENOMEM, "out of memory");
	}
	if (strcmp(i, "EXPOSE") == 0)
		return change_expose(cfg, c, err);
	if (strcmp(i, "USER") == 0)
		return change_string(cfg, c, "User", err);
	if (strcmp(i, "VOLUME") == 0)
		return change_volume(cfg, c, err);
	if (strcmp(i, "WORKDIR") == 0)
		return change_workdir(cfg, c, err);
	if (strcmp(i, "STOPSIGNAL") == 0)
		return change_stopsignal(cfg, c, err);
	if (strcmp(i, "ONBUILD") == 0)
		return change_error(err, c, ENOTSUP, "ONBUILD is not supported");
	return hull_error_set(err, 0, "change '%s': unknown instruction '%s'", c->text, i);
}

int image_apply_changes(json_t *config, char *const *changes, hull_error **err)
{
	if (!json_is_object(config))
		return hull_error_set(err, 0, "apply changes: config is not an object");
	for (size_t k = 0; changes && changes[k]; k++) {
		struct change c = { 0 };
		int r = change_split(changes[k], &c);
		if (r < 0) {
			free(c.instr);
			return hull_error_set(err, -r, "change '%s': %s", changes[k],
					      r == -EINVAL ? "expected INSTRUCTION VALUE" : "parse");
		}
		r = apply_one(config, &c, err);
		free(c.instr);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* ---- import ---- */

struct import_src {
	int fd;            /* what store_layer_create reads */
	struct image_feeder feeder;
	char *tmp;         /* staging dir (directory sources) */
	const char *media_type;
	char expected_diff[DIGEST_SHA256_LEN + 1];
	struct timespec mtime;
};

static void import_src_clear(struct image_store *s, struct import_src *src)
{
	if (src->feeder.pid > 0) {
		hull_error *e = NULL;
		image_feeder_finish(&src->feeder, &e);
		hull_error_clear(&e);
		src->fd = -1;
	}
	if (src->fd > 0)
		close(src->fd);
	src->fd = -1;
	if (src->tmp) {
		store_tmp_remove(s, src->tmp);
		free(src->tmp);
		src->tmp = NULL;
	}
}

/* Read up to len bytes (fewer only at EOF). */
static ssize_t read_prefix(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A tarball (file or stream): sniff the compression from its first bytes,
 * then hand the bytes to the store through a feeder (streams) or directly
 * (regular files, read from their current offset). */
static int open_stream(int fd, const char *what, struct import_src *src, hull_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error_set(err, errno, "stat %s", what);
	if (S_ISDIR(st.st_mode))
		return hull_error_set(err, EISDIR, "read %s", what);
	unsigned char head[8];
	if (S_ISREG(st.st_mode)) {
		off_t pos = lseek(fd, 0, SEEK_CUR);
		ssize_t n = pread(fd, head, sizeof(head), pos < 0 ? 0 : pos);
		if (n < 0)
			return hull_error_set(err, errno, "read %s", what);
		src->media_type = image_layer_media_type(image_sniff_compression(head, (size_t)n), false);
		src->mtime = st.st_mtim;
		src->fd = fd;
		return 0;
	}
	ssize_t n = read_prefix(fd, head, sizeof(head));
	if (n < 0)
		return hull_error_set(err, (int)-n, "read %s", what);
	src->media_type = image_layer_media_type(image_sniff_compression(head, (size_t)n), false);
	clock_gettime(CLOCK_REALTIME, &src->mtime);
	if (image_feeder_start(head, (size_t)n, fd, -1, UINT64_MAX, &src->feeder, err) < 0)
		return hull_error_wrap(err, "read %s", what);
	src->fd = src->feeder.fd;
	return 0;
}

/* A directory: packed into an uncompressed tar in a staging dir. */
static int open_dir(struct image_store *s, int dfd, const char *path, struct import_src *src, hull_error **err)
{
	if (store_tmp_dir(s, &src->tmp, err) < 0)
		return -1;
	_cleanup_free_ char *tar = NULL;
	if (asprintf(&tar, "%s/layer.tar", src->tmp) < 0)
		return hull_error_set(err, ENOMEM, "pack '%s'", path);
	_cleanup_close_ int out = open(tar, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return hull_error_set(err, errno, "create '%s'", tar);
	uint64_t size = 0;
	if (layer_pack_dir(dfd, out, src->expected_diff, &size, err) < 0)
		return hull_error_wrap(err, "pack '%s'", path);
	if (lseek(out, 0, SEEK_SET) < 0)
		return hull_error_set(err, errno, "seek '%s'", tar);
	src->media_type = MT_OCI_LAYER;
	clock_gettime(CLOCK_REALTIME, &src->mtime);
	src->fd = TAKE_FD(out);
	return 0;
}

static int import_open(struct image_store *s, const char *source, struct import_src *src, hull_error **err)
{
	if (strcmp(source, "-") == 0)
		return open_stream(STDIN_FILENO, "stdin", src, err);
	_cleanup_close_ int fd = open(source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error_set(err, errno, "open '%s'", source);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error_set(err, errno, "stat '%s'", source);
	_cleanup_free_ char *what = NULL;
	if (asprintf(&what, "'%s'", source) < 0)
		return hull_error_set(err, ENOMEM, "open '%s'", source);
	if (S_ISDIR(st.st_mode))
		return open_dir(s, fd, source, src, err);
	if (open_stream(fd, what, src, err) < 0)
		return -1;
	if (src->fd == fd)
		fd = -1; /* now owned by src */
	return 0;
}

static json_t *import_config(const char *created, const char *diff_id, json_t *cc, const char *message)
{
	_cleanup_free_ char *by = NULL;
	if (asprintf(&by, "/bin/sh -c #(nop) ADD file:%s in /", digest_hex(diff_id)) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:[s]}, s:[{s:s, s:s, s:s}]}", "created", created,
			 "architecture", image_host_arch(), "os", "linux", "config", cc, "rootfs", "type", "layers",
			 "diff_ids", diff_id, "history", "created", created, "created_by", by, "comment",
			 message && *message ? message : "imported from tarball");
}

/* Config and manifest blobs, then the image row. */
static int import_publish(struct image_store *s, const struct layer_info *li, json_t *config, const char *name,
			  char **ret_id, hull_error **err)
{
	size_t clen = 0;
	_cleanup_free_ char *cbytes = image_json_dump(config, &clen);
	if (!cbytes)
		return hull_error_set(err, ENOMEM, "serialise config");
	char cdigest[DIGEST_SHA256_LEN + 1];
	if (store_blob_put(s, cbytes, clen, NULL, cdigest, err) < 0)
		return hull_error_wrap(err, "store config");
	struct image_layer_desc d = { li->media_type ? li->media_type : MT_OCI_LAYER, li->blob_digest,
				      li->blob_size };
	_cleanup_free_ char *mbytes = NULL;
	size_t mlen = 0;
	if (image_manifest_build(false, cdigest, clen, &d, 1, &mbytes, &mlen, err) < 0)
		return -1;
	char mdigest[DIGEST_SHA256_LEN + 1];
	if (store_blob_put(s, mbytes, mlen, NULL, mdigest, err) < 0)
		return hull_error_wrap(err, "store manifest");
	char *layers[] = { li->chain_id, NULL };
	char *names[] = { (char *)name, NULL };
	struct image_record *rec = NULL;
	if (store_image_create(s, cdigest, mdigest, MT_OCI_MANIFEST, layers, name ? names : NULL, &rec, err) < 0)
		return -1;
	*ret_id = strdup(rec->id);
	image_record_free(rec);
	return *ret_id ? 0 : hull_error_set(err, ENOMEM, "import");
}

static int import_name(const char *reference, char **ret, hull_error **err)
{
	*ret = NULL;
	if (!reference)
		return 0;
	struct image_ref ref = { 0 };
	if (ref_normalize(reference, NULL, &ref, err) < 0)
		return -1;
	if (ref.digest) {
		ref_clear(&ref);
		return hull_error_set(err, 0, "invalid reference '%s': a digest cannot be a name", reference);
	}
	*ret = ref_string(&ref);
	ref_clear(&ref);
	return *ret ? 0 : hull_error_set(err, ENOMEM, "reference '%s'", reference);
}

static int do_import(struct image_store *s, const char *source, const struct image_import_opts *o, char **ret_id,
		     hull_error **err)
{
	_cleanup_free_ char *name = NULL;
	if (import_name(o->reference, &name, err) < 0)
		return -1;
	/* changes are checked before any work is done */
	json_t *cc = json_object();
	if (!cc)
		return hull_error_set(err, ENOMEM, "import");
	if (image_apply_changes(cc, o->changes, err) < 0) {
		json_decref(cc);
		return -1;
	}
	struct import_src src = { .fd = -1, .feeder = { .pid = 0, .fd = -1 } };
	struct layer_info *li = NULL;
	int r = import_open(s, source, &src, err);
	if (r == 0)
		r = store_layer_create(s, NULL, src.fd, src.media_type, NULL, src.expected_diff[0] ? src.expected_diff : NULL,
				       &li, err);
	if (src.feeder.pid > 0) {
		hull_error *fe = NULL;
		src.fd = -1;
		if (image_feeder_finish(&src.feeder, &fe) < 0 && r == 0) {
			*err = fe;
			fe = NULL;
			r = -1;
		}
		hull_error_clear(&fe);
	}
	import_src_clear(s, &src);
	if (r < 0) {
		json_decref(cc);
		layer_info_free(li);
		return -1;
	}
	_cleanup_free_ char *created = image_time_format(&src.mtime);
	json_t *config = created ? import_config(created, li->diff_id, cc, o->message) : NULL;
	json_decref(cc);
	if (!config) {
		layer_info_free(li);
		return hull_error_set(err, ENOMEM, "build config");
	}
	r = import_publish(s, li, config, name, ret_id, err);
	json_decref(config);
	layer_info_free(li);
	return r;
}

int image_import(struct image_store *s, const char *source, const struct image_import_opts *o, char **ret_id,
		 hull_error **err)
{
	static const struct image_import_opts none = { 0 };
	if (!o)
		o = &none;
	if (do_import(s, source, o, ret_id, err) < 0)
		return hull_error_wrap(err, "import '%s'", source);
	return 0;
}
