/* image.c - helpers shared by the image commands (image.h), and the JSON
 * shapes of `image inspect` and `history` as Podman prints them. */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/digest.h"

/* ---- media types and compression ---- */

const char *image_sniff_compression(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "gzip";
	if (len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return "zstd";
	if (len >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return "bzip2";
	if (len >= 6 && memcmp(b, "\xfd" "7zXZ\0", 6) == 0)
		return "xz";
	return "none";
}

const char *image_layer_media_type(const char *compression, bool docker)
{
	if (compression && strcmp(compression, "gzip") == 0)
		return docker ? MT_DOCKER_LAYER_GZIP : MT_OCI_LAYER_GZIP;
	if (compression && strcmp(compression, "zstd") == 0)
		return MT_OCI_LAYER_ZSTD;
	return docker ? MT_DOCKER_LAYER : MT_OCI_LAYER;
}

const char *image_media_type_compression(const char *mt)
{
	if (mt && strstr(mt, "gzip"))
		return "gzip";
	if (mt && strstr(mt, "zstd"))
		return "zstd";
	return "none";
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

bool image_media_type_is_layer(const char *mt)
{
	if (!mt)
		return false;
	return has_prefix(mt, "application/vnd.oci.image.layer.") ||
	       has_prefix(mt, "application/vnd.docker.image.rootfs.");
}

bool image_media_type_is_index(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_MANIFEST_LIST) == 0);
}

bool image_media_type_is_manifest(const char *mt)
{
	return mt && (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0);
}

const char *image_host_arch(void)
{
	static const struct {
		const char *uname, *go;
	} map[] = {
		{ "x86_64", "amd64" },   { "aarch64", "arm64" }, { "armv7l", "arm" },     { "armv6l", "arm" },
		{ "i686", "386" },       { "i386", "386" },      { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "mips64", "mips64" }, { "loongarch64", "loong64" },
	};
	static char other[65];
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcmp(u.machine, map[i].uname) == 0)
			return map[i].go;
	snprintf(other, sizeof(other), "%s", u.machine);
	return other;
}

/* ---- time ---- */

char *image_time_format(const struct timespec *ts)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	if (!gmtime_r(&t, &tm))
		return NULL;
	char date[64];
	if (strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return NULL;
	char frac[16] = "";
	if (ts->tv_nsec > 0) {
		/* Go's RFC3339Nano: fraction without trailing zeros */
		snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec % 1000000000L);
		size_t n = strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	char *out = NULL;
	if (asprintf(&out, "%s%sZ", date, frac) < 0)
		return NULL;
	return out;
}

char *image_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return image_time_format(&ts);
}

/* ---- JSON ---- */

char *image_json_dump(const json_t *j, size_t *ret_len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && ret_len)
		*ret_len = strlen(s);
	return s;
}

int image_json_parse(const char *buf, size_t len, const char *what, json_t **ret, hull_error **err)
{
	if (len > IMAGE_JSON_MAX)
		return hull_error_set(err, 0, "parse %s: larger than %zu bytes", what, IMAGE_JSON_MAX);
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return hull_error_set(err, 0, "parse %s: invalid JSON: %s (line %d)", what, je.text, je.line);
	if (!json_is_object(j)) {
		json_decref(j);
		return hull_error_set(err, 0, "parse %s: not a JSON object", what);
	}
	*ret = j;
	return 0;
}

const char *image_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *descriptor_new(const char *media_type, const char *digest, uint64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t)size);
}

int image_manifest_build(bool docker, const char *config_digest, uint64_t config_size,
			 const struct image_layer_desc *layers, size_t n_layers, char **ret, size_t *ret_len,
			 hull_error **err)
{
	json_t *m = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
			      docker ? MT_DOCKER_MANIFEST : MT_OCI_MANIFEST, "config",
			      descriptor_new(docker ? MT_DOCKER_CONFIG : MT_OCI_CONFIG, config_digest, config_size));
	json_t *arr = json_array();
	if (!m || !arr)
		goto nomem;
	json_object_set_new(m, "layers", arr);
	for (size_t i = 0; i < n_layers; i++) {
		json_t *d = descriptor_new(layers[i].media_type, layers[i].digest, layers[i].size);
		if (!d || json_array_append_new(arr, d) < 0)
			goto nomem;
	}
	*ret = image_json_dump(m, ret_len);
	json_decref(m);
	if (!*ret)
		return hull_error_set(err, ENOMEM, "build manifest");
	return 0;
nomem:
	json_decref(m);
	return hull_error_set(err, ENOMEM, "build manifest");
}

json_t *image_config_diff_ids(const json_t *config, const char *what, hull_error **err)
{
	json_t *rootfs = json_object_get(config, "rootfs");
	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		hull_error_set(err, 0, "%s: config has no rootfs.diff_ids", what);
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (!digest_valid(json_string_value(v))) {
			hull_error_set(err, 0, "%s: config rootfs.diff_ids[%zu] is not a sha256 digest", what, i);
			return NULL;
		}
	}
	return ids;
}

/* ---- inspect ---- */

static json_t *strv_to_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* "domain/path:tag" -> "domain/path" (malloc'd). */
static char *name_repository(const char *name)
{
	char *r = strdup(name);
	if (!r)
		return NULL;
	char *at = strchr(r, '@');
	if (at)
		*at = '\0';
	char *slash = strrchr(r, '/');
	char *colon = strrchr(r, ':');
	if (colon && (!slash || colon > slash))
		*colon = '\0';
	return r;
}

static json_t *repo_digests(const struct image_record *r)
{
	if (r->digests && r->digests[0])
		return strv_to_json(r->digests);
	json_t *a = json_array();
	for (size_t i = 0; a && r->names && r->names[i] && r->manifest_digest; i++) {
		_cleanup_free_ char *repo = name_repository(r->names[i]);
		_cleanup_free_ char *d = NULL;
		if (!repo || asprintf(&d, "%s@%s", repo, r->manifest_digest) < 0)
			continue;
		bool dup = false;
		size_t j;
		json_t *v;
		json_array_foreach(a, j, v)
		{
			if (strcmp(json_string_value(v), d) == 0)
				dup = true;
		}
		if (!dup)
			json_array_append_new(a, json_string(d));
	}
	return a;
}

static bool json_empty(const json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return true;
	if (json_is_string(v))
		return json_string_length(v) == 0;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	return false;
}

/* The OCI image config fields Podman shows, empty ones left out. */
static json_t *inspect_config(const json_t *cc)
{
	static const char *const keys[] = { "User",	  "ExposedPorts", "Env",	"Entrypoint",
					    "Cmd",	  "Volumes",	  "WorkingDir", "Labels",
					    "StopSignal", "ArgsEscaped",  "Healthcheck" };
	json_t *o = json_object();
	for (size_t i = 0; o && i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(cc, keys[i]);
		if (!json_empty(v))
			json_object_set(o, keys[i], v);
	}
	return o;
}

static const char *config_comment(const json_t *cfg)
{
	const char *c = image_json_str(cfg, "comment");
	if (c && *c)
		return c;
	json_t *h = json_array_get(json_object_get(cfg, "history"), 0);
	c = image_json_str(h, "comment");
	return c ? c : "";
}

static json_t *graph_driver(struct image_store *s, const struct image_record *r)
{
	const char *driver = store_driver(s);
	json_t *g = json_pack("{s:s}", "Name", driver ? driver : "");
	size_t n = 0;
	while (r->layers && r->layers[n])
		n++;
	if (!g || n == 0 || !driver || strcmp(driver, "overlay") != 0) {
		json_object_set_new(g, "Data", json_null());
		return g;
	}
	json_t *data = json_object();
	hull_error *e = NULL;
	_cleanup_free_ char *upper = NULL;
	if (store_layer_path(s, r->layers[n - 1], &upper, &e) == 0)
		json_object_set_new(data, "UpperDir", json_string(upper));
	hull_error_clear(&e);
	_cleanup_free_ char *lower = NULL;
	size_t len = 0;
	for (size_t i = n - 1; i-- > 0;) {
		_cleanup_free_ char *p = NULL;
		if (store_layer_path(s, r->layers[i], &p, &e) < 0) {
			hull_error_clear(&e);
			continue;
		}
		size_t pl = strlen(p);
		char *nl = realloc(lower, len + pl + 2);
		if (!nl)
			break;
		lower = nl;
		if (len)
			lower[len++] = ':';
		memcpy(lower + len, p, pl + 1);
		len += pl;
	}
	if (lower)
		json_object_set_new(data, "LowerDir", json_string(lower));
	json_object_set_new(g, "Data", data);
	return g;
}

static json_t *str_or_empty(const char *s)
{
	return json_string(s ? s : "");
}

int image_inspect_json(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err)
{
	json_t *cfg = NULL;
	if (store_image_config(s, r, &cfg, err) < 0)
		return hull_error_wrap(err, "inspect '%s'", r->id);
	json_t *man = NULL;
	if (store_image_manifest(s, r, &man, err) < 0) {
		json_decref(cfg);
		return hull_error_wrap(err, "inspect '%s'", r->id);
	}
	const json_t *cc = json_object_get(cfg, "config");
	json_t *labels = json_object_get(cc, "Labels");
	json_t *ann = json_object_get(man, "annotations");
	json_t *hist = json_object_get(cfg, "history");
	json_t *diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	const char *version = image_json_str(cfg, "docker_version");
	const char *created = image_json_str(cfg, "created");
	json_t *o = json_object();
	json_object_set_new(o, "Id", json_string(digest_valid(r->id) ? digest_hex(r->id) : r->id));
	json_object_set_new(o, "Digest", str_or_empty(r->manifest_digest));
	json_object_set_new(o, "RepoTags", strv_to_json(r->names));
	json_object_set_new(o, "RepoDigests", repo_digests(r));
	json_object_set_new(o, "Parent", json_string(""));
	json_object_set_new(o, "Comment", json_string(config_comment(cfg)));
	json_object_set_new(o, "Created", str_or_empty(created ? created : r->created));
	json_object_set_new(o, "Config", inspect_config(cc));
	json_object_set_new(o, "Version", str_or_empty(version));
	json_object_set_new(o, "Author", str_or_empty(image_json_str(cfg, "author")));
	json_object_set_new(o, "Architecture", str_or_empty(image_json_str(cfg, "architecture")));
	json_object_set_new(o, "Os", str_or_empty(image_json_str(cfg, "os")));
	if (image_json_str(cfg, "variant"))
		json_object_set_new(o, "Variant", json_string(image_json_str(cfg, "variant")));
	json_object_set_new(o, "Size", json_integer((json_int_t)r->size));
	json_object_set_new(o, "VirtualSize", json_integer((json_int_t)r->size));
	json_object_set_new(o, "GraphDriver", graph_driver(s, r));
	json_object_set_new(o, "RootFS", json_pack("{s:s, s:O}", "Type", "layers", "Layers",
						   json_is_array(diff_ids) ? diff_ids : json_array()));
	json_object_set(o, "Labels", json_is_object(labels) ? labels : json_null());
	if (json_is_object(ann))
		json_object_set(o, "Annotations", ann);
	else
		json_object_set_new(o, "Annotations", json_object());
	json_object_set_new(o, "ManifestType", str_or_empty(r->manifest_media_type));
	json_object_set_new(o, "User", str_or_empty(image_json_str(cc, "User")));
	if (json_is_array(hist))
		json_object_set(o, "History", hist);
	else
		json_object_set_new(o, "History", json_array());
	json_object_set_new(o, "NamesHistory", strv_to_json(r->names));
	json_decref(cfg);
	json_decref(man);
	*ret = o;
	return 0;
}

/* ---- history ---- */

static uint64_t layer_size(struct image_store *s, const char *chain_id)
{
	struct layer_info *l = NULL;
	hull_error *e = NULL;
	uint64_t n = 0;
	if (store_layer_get(s, chain_id, &l, &e) == 0 && l)
		n = l->unpacked_size;
	hull_error_clear(&e);
	layer_info_free(l);
	return n;
}

static json_t *history_row(const char *id, const char *created, const char *created_by, uint64_t size,
			   const char *comment)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", id, "created", created ? created : "", "created_by",
			 created_by ? created_by : "", "size", (json_int_t)size, "comment", comment ? comment : "");
}

int image_history_json(struct image_store *s, const struct image_record *r, json_t **ret, hull_error **err)
{
	json_t *cfg = NULL;
	if (store_image_config(s, r, &cfg, err) < 0)
		return hull_error_wrap(err, "history of '%s'", r->id);
	size_t n_layers = 0;
	while (r->layers && r->layers[n_layers])
		n_layers++;
	const char *id = digest_valid(r->id) ? digest_hex(r->id) : r->id;
	json_t *hist = json_object_get(cfg, "history");
	json_t *rows = json_array();
	if (json_is_array(hist) && json_array_size(hist) > 0) {
		/* walk oldest first so non-empty entries consume layers in order */
		size_t layer = 0;
		size_t i;
		json_t *h;
		json_array_foreach(hist, i, h)
		{
			uint64_t size = 0;
			if (!json_is_true(json_object_get(h, "empty_layer")) && layer < n_layers)
				size = layer_size(s, r->layers[layer++]);
			json_t *row = history_row("<missing>", image_json_str(h, "created"),
						  image_json_str(h, "created_by"), size, image_json_str(h, "comment"));
			json_array_insert_new(rows, 0, row);
		}
	} else {
		/* no history: one row per layer */
		for (size_t i = 0; i < n_layers; i++)
			json_array_insert_new(rows, 0,
					      history_row("<missing>", image_json_str(cfg, "created"), "",
							  layer_size(s, r->layers[i]), ""));
		if (n_layers == 0)
			json_array_append_new(rows, history_row("<missing>", image_json_str(cfg, "created"), "",
								0, ""));
	}
	json_object_set_new(json_array_get(rows, 0), "id", json_string(id));
	json_decref(cfg);
	*ret = rows;
	return 0;
}

/* ---- feeder ---- */

enum { FEEDER_OK = 0, FEEDER_EPIPE = 1, FEEDER_SHORT = 2, FEEDER_EIO = 3 };

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy with read/write when splice cannot be used. */
static int feeder_copy(int src, int64_t off, uint64_t len, int out)
{
	static char buf[1 << 16];
	while (len > 0) {
		size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t n = off >= 0 ? pread(src, buf, want, off) : read(src, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FEEDER_EIO;
		if (n == 0)
			return len == UINT64_MAX ? FEEDER_OK : FEEDER_SHORT;
		if (write_all(out, buf, (size_t)n) < 0)
			return FEEDER_EPIPE;
		if (off >= 0)
			off += n;
		if (len != UINT64_MAX)
			len -= (uint64_t)n;
	}
	return FEEDER_OK;
}

static int feeder_run(const void *prefix, size_t prefix_len, int src, int64_t off, uint64_t len, int out)
{
	signal(SIGPIPE, SIG_IGN);
	if (prefix_len && write_all(out, prefix, prefix_len) < 0)
		return FEEDER_EPIPE;
	loff_t pos = off;
	while (len > 0) {
		size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = splice(src, off >= 0 ? &pos : NULL, out, NULL, want, SPLICE_F_MORE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS))
			return feeder_copy(src, off >= 0 ? pos : -1, len, out);
		if (n < 0)
			return errno == EPIPE ? FEEDER_EPIPE : FEEDER_EIO;
		if (n == 0)
			return len == UINT64_MAX ? FEEDER_OK : FEEDER_SHORT;
		if (len != UINT64_MAX)
			len -= (uint64_t)n;
	}
	return FEEDER_OK;
}

int image_feeder_start(const void *prefix, size_t prefix_len, int src, int64_t off, uint64_t len,
		       struct image_feeder *ret, hull_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hull_error_set(err, errno, "create pipe");
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups; best effort */
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return hull_error_set(err, e, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		_exit(feeder_run(prefix, prefix_len, src, off, len, p[1]));
	}
	close(p[1]);
	ret->pid = pid;
	ret->fd = p[0];
	return 0;
}

int image_feeder_finish(struct image_feeder *f, hull_error **err)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->pid <= 0)
		return 0;
	int status;
	pid_t r;
	do
		r = waitpid(f->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	f->pid = 0;
	if (r < 0)
		return hull_error_set(err, errno, "wait for feeder");
	if (WIFEXITED(status) && WEXITSTATUS(status) == FEEDER_SHORT)
		return hull_error_set(err, EIO, "source ended early");
	if (WIFEXITED(status) && WEXITSTATUS(status) == FEEDER_EIO)
		return hull_error_set(err, EIO, "read source");
	return 0;
}
