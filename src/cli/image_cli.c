/* image_cli.c - the image commands: images, import, load, save, tag, untag,
 * rmi, history, and `hull image ...` (ls, inspect, prune, exists, mount,
 * unmount, rm, ...).  Output and exit codes follow Podman's. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/engine.h"
#include "cli/format.h"
#include "image/archive.h"
#include "image/reference.h"
#include "image/store.h"
#include "util/cleanup.h"

/* rmi's exit codes (podman-rmi(1)). */
#define EXIT_RMI_UNKNOWN 1
#define EXIT_RMI_IN_USE 2

#define CREATED_BY_WIDTH 45

static void strv_acc_cleanup(struct strv_acc *a)
{
	strv_acc_free(a);
}
#define _cleanup_strv_acc_ __attribute__((cleanup(strv_acc_cleanup)))

static void record_cleanup(struct image_record **r)
{
	image_record_free(*r);
}
#define _cleanup_record_ __attribute__((cleanup(record_cleanup)))

static void json_cleanup(json_t **j)
{
	json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_cleanup)))

/* Parse options; returns -1 to go on, else the exit code (help: 0). */
static int parse_opts(const char *prog, const char *usage, const struct opt *opts, int argc, char **argv, int *pos)
{
	*pos = 1;
	int r = opt_parse(prog, usage, opts, argc, argv, pos);
	if (r == 0)
		return -1;
	return r > 0 ? 0 : EXIT_ENGINE;
}

static int usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "Error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	va_end(ap);
	return EXIT_ENGINE;
}

static int get_store(struct engine *e, struct image_store **s)
{
	hull_error *err = NULL;
	if (engine_store(e, s, &err) < 0)
		return engine_fail(err);
	return 0;
}

static const char *id_hex(const char *id)
{
	return strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* "domain/path:tag" -> repository and tag ("<none>" when missing). */
static void split_name(const char *name, char **ret_repo, char **ret_tag)
{
	const char *slash = strrchr(name, '/');
	const char *tail = slash ? slash + 1 : name;
	size_t end = strlen(name);
	const char *at = strchr(tail, '@');
	if (at)
		end = (size_t)(at - name);
	const char *colon = memchr(tail, ':', (size_t)(name + end - tail));
	if (colon) {
		*ret_repo = strndup(name, (size_t)(colon - name));
		*ret_tag = strndup(colon + 1, (size_t)(name + end - colon - 1));
	} else {
		*ret_repo = strndup(name, end);
		*ret_tag = strdup("<none>");
	}
}

static time_t record_created(const struct image_record *r)
{
	time_t t = 0;
	if (r->created && fmt_parse_time(r->created, &t) < 0)
		t = 0;
	return t;
}

/* A reference given by a user, normalised for tagging; digests refused. */
static int normalize_tag(const char *in, char **ret, hull_error **err)
{
	struct image_ref ref = { 0 };
	if (ref_normalize(in, NULL, &ref, err) < 0)
		return -1;
	if (ref.digest) {
		ref_clear(&ref);
		return hull_error_set(err, 0, "'%s': tag by digest not supported", in);
	}
	*ret = ref_string(&ref);
	ref_clear(&ref);
	return *ret ? 0 : hull_error_set(err, ENOMEM, "normalize '%s'", in);
}

/* ================= images ================= */

struct img {
	struct image_record *r;
	time_t created;
	bool children;     /* another image's layers extend this one's */
	json_t *config;    /* loaded when labels are needed */
	long holders;      /* -1 until asked */
};

struct row {
	struct img *img;
	const char *name; /* NULL: <none> */
	char *repo, *tag;
	size_t index;
};

struct image_filters {
	struct strv_acc refs;   /* reference= (any may match) */
	struct strv_acc labels; /* label= (all must match) */
	struct strv_acc ids;    /* id= (any may match) */
	int dangling;           /* -1 unset, 0, 1 */
	int intermediate;       /* -1 unset, 0, 1 */
	bool before_set, since_set;
	time_t before, since;
};

static void filters_clear(struct image_filters *f)
{
	strv_acc_free(&f->refs);
	strv_acc_free(&f->labels);
	strv_acc_free(&f->ids);
}

static int strv_acc_push(struct strv_acc *a, char *v)
{
	char **nv = realloc(a->v, sizeof(char *) * (size_t)(a->n + 2));
	if (!nv)
		return -ENOMEM;
	a->v = nv;
	a->v[a->n++] = v;
	a->v[a->n] = NULL;
	return 0;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (strcmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (strcmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return -EINVAL;
}

static int filter_time(struct image_store *s, const char *key, const char *val, time_t *ret, hull_error **err)
{
	_cleanup_record_ struct image_record *r = NULL;
	if (store_image_lookup(s, val, &r, err) < 0)
		return hull_error_wrap(err, "filter '%s=%s': could not find local image", key, val);
	*ret = record_created(r);
	return 0;
}

static int parse_filter(struct image_store *s, char *f, struct image_filters *out, hull_error **err)
{
	char *eq = strchr(f, '=');
	if (!eq || eq == f)
		return hull_error_set(err, 0, "invalid filter '%s' (want KEY=VALUE)", f);
	size_t klen = (size_t)(eq - f);
	char *val = eq + 1;
#define KEY_IS(k) (klen == strlen(k) && strncmp(f, k, klen) == 0)
	if (KEY_IS("reference"))
		return strv_acc_push(&out->refs, val) < 0 ? hull_error_set(err, ENOMEM, "filter") : 0;
	if (KEY_IS("label"))
		return strv_acc_push(&out->labels, val) < 0 ? hull_error_set(err, ENOMEM, "filter") : 0;
	if (KEY_IS("id"))
		return strv_acc_push(&out->ids, val) < 0 ? hull_error_set(err, ENOMEM, "filter") : 0;
	if (KEY_IS("dangling") || KEY_IS("intermediate")) {
		bool b;
		if (parse_bool(val, &b) < 0)
			return hull_error_set(err, 0, "filter '%s': '%s' is not a boolean", f, val);
		if (KEY_IS("dangling"))
			out->dangling = b;
		else
			out->intermediate = b;
		return 0;
	}
	if (KEY_IS("before")) {
		out->before_set = true;
		return filter_time(s, "before", val, &out->before, err);
	}
	if (KEY_IS("since")) {
		out->since_set = true;
		return filter_time(s, "since", val, &out->since, err);
	}
#undef KEY_IS
	return hull_error_set(err, 0, "unsupported image filter '%.*s' (supported: reference, label, dangling, "
				      "before, since, id, intermediate)", (int)klen, f);
}

/* Whether pattern matches one of a name's spellings: full, without tag,
 * without domain, without "library/". */
static bool ref_matches(const char *pattern, const char *name)
{
	_cleanup_free_ char *repo = NULL, *tag = NULL;
	split_name(name, &repo, &tag);
	if (!repo || !tag)
		return false;
	if (fnmatch(pattern, name, 0) == 0 || fnmatch(pattern, repo, 0) == 0)
		return true;
	const char *slash = strchr(repo, '/');
	const char *path = slash ? slash + 1 : repo;
	for (int pass = 0; pass < 2; pass++) {
		_cleanup_free_ char *with_tag = NULL;
		if (asprintf(&with_tag, "%s:%s", path, tag) < 0)
			return false;
		if (fnmatch(pattern, path, 0) == 0 || fnmatch(pattern, with_tag, 0) == 0)
			return true;
		if (strncmp(path, "library/", 8) != 0)
			break;
		path += 8;
	}
	return false;
}

static json_t *image_labels(struct image_store *s, struct img *im)
{
	if (!im->config) {
		hull_error *err = NULL;
		if (store_image_config(s, im->r, &im->config, &err) < 0) {
			hull_error_free(err);
			im->config = json_object();
		}
	}
	json_t *l = json_object_get(json_object_get(im->config, "config"), "Labels");
	return json_is_object(l) ? l : NULL;
}

static long image_holders(struct image_store *s, struct img *im)
{
	if (im->holders < 0) {
		size_t n = 0;
		hull_error *err = NULL;
		if (store_image_holders(s, im->r->id, &n, &err) < 0)
			hull_error_free(err);
		im->holders = (long)n;
	}
	return im->holders;
}

static bool labels_match(struct image_store *s, struct img *im, const struct strv_acc *labels)
{
	for (int i = 0; i < labels->n; i++) {
		json_t *l = image_labels(s, im);
		const char *want = labels->v[i];
		const char *eq = strchr(want, '=');
		_cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
		json_t *v = l && key ? json_object_get(l, key) : NULL;
		if (!v)
			return false;
		if (eq && (!json_is_string(v) || strcmp(json_string_value(v), eq + 1) != 0))
			return false;
	}
	return true;
}

static bool image_selected(struct image_store *s, struct img *im, const struct image_filters *f)
{
	bool unnamed = !im->r->names || !im->r->names[0];
	if (f->dangling >= 0 && (unnamed && !im->children) != (bool)f->dangling)
		return false;
	if (f->intermediate >= 0 && (unnamed && im->children) != (bool)f->intermediate)
		return false;
	if (f->before_set && !(im->created < f->before))
		return false;
	if (f->since_set && !(im->created > f->since))
		return false;
	if (f->ids.n) {
		bool any = false;
		for (int i = 0; i < f->ids.n && !any; i++)
			any = strncmp(id_hex(im->r->id), id_hex(f->ids.v[i]), strlen(id_hex(f->ids.v[i]))) == 0;
		if (!any)
			return false;
	}
	if (f->refs.n) {
		bool any = false;
		for (int i = 0; i < f->refs.n && !any; i++)
			for (char **n = im->r->names; n && *n && !any; n++)
				any = ref_matches(f->refs.v[i], *n);
		if (!any)
			return false;
	}
	return labels_match(s, im, &f->labels);
}

/* Mark images whose layer list is a strict prefix of another's. */
static void mark_children(struct img *imgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (imgs[i].r->names && imgs[i].r->names[0])
			continue;
		size_t li = strv_len(imgs[i].r->layers);
		for (size_t j = 0; j < n && !imgs[i].children; j++) {
			if (i == j || strv_len(imgs[j].r->layers) <= li)
				continue;
			bool prefix = true;
			for (size_t k = 0; k < li && prefix; k++)
				prefix = strcmp(imgs[i].r->layers[k], imgs[j].r->layers[k]) == 0;
			imgs[i].children = prefix;
		}
	}
}

static const char *sort_key = "created";

static int compare_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = 0;
	if (strcmp(sort_key, "created") == 0)
		c = x->img->created < y->img->created ? 1 : x->img->created > y->img->created ? -1 : 0;
	else if (strcmp(sort_key, "id") == 0)
		c = strcmp(x->img->r->id, y->img->r->id);
	else if (strcmp(sort_key, "repository") == 0)
		c = strcmp(x->repo, y->repo);
	else if (strcmp(sort_key, "tag") == 0)
		c = strcmp(x->tag, y->tag);
	else if (strcmp(sort_key, "size") == 0)
		c = x->img->r->size < y->img->r->size ? -1 : x->img->r->size > y->img->r->size ? 1 : 0;
	if (c == 0)
		c = x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
	return c;
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* One image as `images --format json` prints it (Podman's shape). */
static json_t *image_summary_json(struct image_store *s, struct img *im)
{
	char at[32];
	fmt_time_rfc3339(im->created, at);
	json_t *labels = image_labels(s, im);
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:i, s:I, s:O?, s:i, s:o, s:s, s:o, s:I, s:s}", "Id",
			 id_hex(im->r->id), "ParentId", "", "RepoTags", strv_json(im->r->names), "RepoDigests",
			 strv_json(im->r->digests), "Size", (json_int_t)im->r->size, "SharedSize", 0, "VirtualSize",
			 (json_int_t)im->r->size, "Labels", labels, "Containers", (int)image_holders(s, im), "Names",
			 strv_json(im->r->names), "Digest", im->r->manifest_digest ? im->r->manifest_digest : "",
			 "History", strv_json(im->r->names), "Created", (json_int_t)im->created, "CreatedAt", at);
}

static const struct fmt_field images_fields[] = {
	{ "ID", "IMAGE ID" }, { "Id", "IMAGE ID" }, { "Repository", NULL }, { "Tag", NULL },
	{ "Digest", NULL }, { "Size", NULL }, { "VirtualSize", NULL }, { "SharedSize", NULL },
	{ "CreatedSince", "CREATED" }, { "CreatedAt", NULL }, { "Created", NULL }, { "Containers", NULL },
	{ "Labels", NULL }, { "Names", NULL }, { "Dangling", NULL }, { "ReadOnly", "R/O" },
	{ "History", NULL }, { "RepoTags", NULL }, { "RepoDigests", NULL }, { "ParentId", NULL },
	{ NULL, NULL },
};

struct images_opts {
	bool all, quiet, digests, no_trunc, noheading;
	const char *format;
};

static void set_str(json_t *row, const char *k, const char *v)
{
	json_object_set_new(row, k, json_string(v ? v : ""));
}

/* One row of `images` with the fields the template uses. */
static json_t *image_row_json(struct image_store *s, const struct row *rw, const struct images_opts *o,
			      const struct fmt_template *t, time_t now)
{
	struct img *im = rw->img;
	json_t *row = json_object();
	char buf[80];
	if (!row)
		return NULL;
#define WANT(f) fmt_template_uses(t, f)
	if (WANT("ID")) {
		snprintf(buf, sizeof(buf), o->no_trunc ? "sha256:%s" : "%.12s", id_hex(im->r->id));
		set_str(row, "ID", buf);
	}
	if (WANT("Id"))
		set_str(row, "Id", id_hex(im->r->id));
	if (WANT("Repository"))
		set_str(row, "Repository", rw->repo);
	if (WANT("Tag"))
		set_str(row, "Tag", rw->tag);
	if (WANT("Digest"))
		set_str(row, "Digest", im->r->manifest_digest);
	if (WANT("Size")) {
		fmt_size(im->r->size, buf);
		set_str(row, "Size", buf);
	}
	if (WANT("CreatedSince")) {
		fmt_since(im->created, now, buf);
		set_str(row, "CreatedSince", buf);
	}
	if (WANT("CreatedAt")) {
		fmt_time_go(im->created, buf);
		set_str(row, "CreatedAt", buf);
	}
	if (WANT("Created"))
		json_object_set_new(row, "Created", json_integer((json_int_t)im->created));
	if (WANT("VirtualSize"))
		json_object_set_new(row, "VirtualSize", json_integer((json_int_t)im->r->size));
	if (WANT("SharedSize"))
		json_object_set_new(row, "SharedSize", json_integer(0));
	if (WANT("Dangling"))
		json_object_set_new(row, "Dangling",
				    json_boolean((!im->r->names || !im->r->names[0]) && !im->children));
	if (WANT("ReadOnly"))
		json_object_set_new(row, "ReadOnly", json_false());
	if (WANT("ParentId"))
		set_str(row, "ParentId", "");
	static const char *const name_lists[] = { "Names", "RepoTags", "History" };
	for (size_t i = 0; i < ARRAY_SIZE(name_lists); i++)
		if (WANT(name_lists[i]))
			json_object_set_new(row, name_lists[i], strv_json(im->r->names));
	if (WANT("RepoDigests"))
		json_object_set_new(row, "RepoDigests", strv_json(im->r->digests));
	if (WANT("Labels")) {
		json_t *l = image_labels(s, im); /* none prints "map[]", as in Podman */
		json_object_set_new(row, "Labels", l ? json_incref(l) : json_object());
	}
	if (WANT("Containers"))
		json_object_set_new(row, "Containers", json_integer(image_holders(s, im)));
#undef WANT
	return row;
}

/* Render rows through the template, straight into the aligned table. */
static int images_render(struct image_store *s, struct row *rows, size_t nr, const struct images_opts *o,
			 const char *format, hull_error **err)
{
	struct fmt_template *t = NULL;
	if (fmt_parse(format, images_fields, &t, err) < 0)
		return -1;
	struct fmt_table *tab = fmt_table_new();
	int r = tab ? 0 : hull_error_set(err, ENOMEM, "images");
	if (r == 0 && fmt_template_is_table(t) && !o->noheading)
		r = fmt_render_header(t, tab, err);
	time_t now = time(NULL);
	for (size_t i = 0; i < nr && r == 0; i++) {
		json_t *row = image_row_json(s, &rows[i], o, t, now);
		r = row ? fmt_render_row(t, row, tab, err) : hull_error_set(err, ENOMEM, "images");
		json_decref(row);
	}
	if (r == 0 && fmt_table_flush(tab, stdout) < 0)
		r = hull_error_set(err, errno, "write output");
	fmt_table_free(tab);
	fmt_template_free(t);
	return r;
}

static int images_output(struct image_store *s, struct row *rows, size_t nr, const struct images_opts *o)
{
	hull_error *err = NULL;
	if (o->quiet) {
		for (size_t i = 0; i < nr; i++) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = rows[j].img == rows[i].img;
			if (!seen)
				printf(o->no_trunc ? "sha256:%s\n" : "%.12s\n", id_hex(rows[i].img->r->id));
		}
		return 0;
	}
	if (o->format && fmt_is_json(o->format)) {
		_cleanup_json_ json_t *arr = json_array();
		for (size_t i = 0; i < nr; i++) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = rows[j].img == rows[i].img;
			if (!seen)
				json_array_append_new(arr, image_summary_json(s, rows[i].img));
		}
		return fmt_print_json(stdout, arr) < 0 ? engine_fail(NULL) : 0;
	}
	const char *format = o->format;
	if (!format || strcmp(format, "table") == 0)
		format = o->digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
				    : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
	return images_render(s, rows, nr, o, format, &err) < 0 ? engine_fail(err) : 0;
}

static int images_rows(struct image_store *s, struct img *imgs, size_t n, const struct image_filters *f,
		       const struct images_opts *o, struct row **ret, size_t *ret_n)
{
	size_t cap = 0;
	for (size_t i = 0; i < n; i++)
		cap += strv_len(imgs[i].r->names) + 1;
	struct row *rows = calloc(cap ? cap : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct img *im = &imgs[i];
		bool unnamed = !im->r->names || !im->r->names[0];
		if (unnamed && im->children && !o->all && f->intermediate != 1)
			continue; /* intermediate images only with -a */
		if (!image_selected(s, im, f))
			continue;
		if (unnamed) {
			rows[k] = (struct row){ im, NULL, strdup("<none>"), strdup("<none>"), k };
			k++;
			continue;
		}
		for (char **nm = im->r->names; *nm; nm++) {
			rows[k] = (struct row){ im, *nm, NULL, NULL, k };
			split_name(*nm, &rows[k].repo, &rows[k].tag);
			k++;
		}
	}
	*ret = rows;
	*ret_n = k;
	return 0;
}

/* List, filter, sort and print. */
static int images_list(struct image_store *s, const struct image_filters *f, const struct images_opts *o)
{
	struct image_record **list = NULL;
	size_t n = 0;
	hull_error *err = NULL;
	if (store_image_list(s, &list, &n, &err) < 0)
		return engine_fail(err);
	struct img *imgs = calloc(n ? n : 1, sizeof(*imgs));
	struct row *rows = NULL;
	size_t nr = 0;
	int code;
	if (imgs) {
		for (size_t i = 0; i < n; i++)
			imgs[i] = (struct img){ list[i], record_created(list[i]), false, NULL, -1 };
		mark_children(imgs, n);
	}
	if (!imgs || images_rows(s, imgs, n, f, o, &rows, &nr) < 0) {
		code = engine_fail(NULL);
	} else {
		qsort(rows, nr, sizeof(*rows), compare_rows);
		code = images_output(s, rows, nr, o);
	}
	for (size_t i = 0; i < nr; i++) {
		free(rows[i].repo);
		free(rows[i].tag);
	}
	free(rows);
	for (size_t i = 0; imgs && i < n; i++)
		json_decref(imgs[i].config);
	free(imgs);
	image_record_list_free(list, n);
	return code;
}

static int cmd_images(struct engine *e, int argc, char **argv)
{
	struct images_opts o = { 0 };
	_cleanup_strv_acc_ struct strv_acc filters = { 0 };
	const char *sort = "created";
	const struct opt opts[] = {
		{ "all", 'a', OPT_FLAG, &o.all, "show all images (also intermediate ones)", NULL },
		{ "quiet", 'q', OPT_FLAG, &o.quiet, "print only image IDs", NULL },
		{ "digests", 0, OPT_FLAG, &o.digests, "show digests", NULL },
		{ "no-trunc", 0, OPT_FLAG, &o.no_trunc, "do not truncate IDs", NULL },
		{ "noheading", 'n', OPT_FLAG, &o.noheading, "do not print column headings", NULL },
		{ "filter", 'f', OPT_STRV, &filters,
		  "filter: reference=, label=KEY[=VAL], dangling=, before=IMG, since=IMG, id=, intermediate= (repeatable)",
		  "KEY=VALUE" },
		{ "format", 0, OPT_STRING, &o.format, "json, or a Go template ({{.ID}} {{.Repository}} {{.Tag}} ...)",
		  "FORMAT" },
		{ "sort", 0, OPT_STRING, &sort, "sort by created, id, repository, size or tag (default created)", "KEY" },
		{ 0 },
	};
	const char *prog = "hull images";
	int pos, code = parse_opts(prog, "[OPTIONS] [REPOSITORY[:TAG]]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (argc - pos > 1)
		return usage_error(prog, "'%s' takes at most one image name", "images");
	if (strcmp(sort, "created") && strcmp(sort, "id") && strcmp(sort, "repository") && strcmp(sort, "size") &&
	    strcmp(sort, "tag"))
		return usage_error(prog, "invalid --sort '%s' (created, id, repository, size or tag)", sort);
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	struct image_filters f = { .dangling = -1, .intermediate = -1 };
	for (int i = 0; i < filters.n && !err; i++)
		parse_filter(s, filters.v[i], &f, &err);
	if (!err && pos < argc && strv_acc_push(&f.refs, argv[pos]) < 0)
		hull_error_set(&err, ENOMEM, "filter");
	if (err) {
		filters_clear(&f);
		return engine_fail(err);
	}
	sort_key = sort;
	code = images_list(s, &f, &o);
	filters_clear(&f);
	return code;
}

/* ================= import, load, save ================= */

/* "ENV=A=b" (Podman's --change form) -> "ENV A=b". */
static char *normalize_change(const char *c)
{
	static const char *const words[] = { "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD",
					     "STOPSIGNAL", "USER", "VOLUME", "WORKDIR" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		size_t l = strlen(words[i]);
		if (strncasecmp(c, words[i], l) == 0 && c[l] == '=') {
			char *out = strdup(c);
			if (out)
				out[l] = ' ';
			return out;
		}
	}
	return strdup(c);
}

static int cmd_import(struct engine *e, int argc, char **argv)
{
	_cleanup_strv_acc_ struct strv_acc changes = { 0 };
	const char *message = NULL;
	bool quiet = false;
	const struct opt opts[] = {
		{ "change", 'c', OPT_STRV, &changes,
		  "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR (repeatable)",
		  "INSTRUCTION" },
		{ "message", 'm', OPT_STRING, &message, "commit message for the image's history", "TEXT" },
		{ "quiet", 'q', OPT_FLAG, &quiet, "print only the image ID", NULL },
		{ 0 },
	};
	const char *prog = "hull import";
	int pos, code = parse_opts(prog, "[OPTIONS] FILE|-|DIR [REFERENCE]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (argc - pos < 1 || argc - pos > 2)
		return usage_error(prog, "%s needs a source (a tarball, '-' or a directory) and at most a reference",
				   "import");
	const char *source = argv[pos];
	if (strcmp(source, "-") == 0 && isatty(STDIN_FILENO))
		return usage_error(prog, "%s: refusing to read an image from a terminal, redirect stdin", "import -");
	hull_error *err = NULL;
	_cleanup_free_ char *ref = NULL;
	if (pos + 1 < argc && normalize_tag(argv[pos + 1], &ref, &err) < 0)
		return engine_fail(err);
	_cleanup_strv_ char **norm = calloc((size_t)changes.n + 1, sizeof(char *));
	if (!norm)
		return engine_fail(NULL);
	for (int i = 0; i < changes.n; i++)
		if (!(norm[i] = normalize_change(changes.v[i])))
			return engine_fail(NULL);
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	struct image_import_opts io = { .changes = norm, .message = message, .reference = ref };
	_cleanup_free_ char *id = NULL;
	if (image_import(s, source, &io, &id, &err) < 0)
		return engine_fail(err);
	printf("sha256:%s\n", id_hex(id));
	return 0;
}

/* Whether any of the image's names was among those just loaded. */
static bool loaded_with_name(struct image_store *s, const char *id, char *const *names)
{
	_cleanup_record_ struct image_record *r = NULL;
	hull_error *err = NULL;
	if (store_image_lookup(s, id, &r, &err) < 0) {
		hull_error_free(err);
		return false;
	}
	for (size_t i = 0; r->names && r->names[i]; i++)
		for (size_t j = 0; names && names[j]; j++)
			if (strcmp(r->names[i], names[j]) == 0)
				return true;
	return false;
}

static int cmd_load(struct engine *e, int argc, char **argv)
{
	const char *input = NULL;
	bool quiet = false;
	const struct opt opts[] = {
		{ "input", 'i', OPT_STRING, &input, "read from this archive instead of stdin", "FILE" },
		{ "quiet", 'q', OPT_FLAG, &quiet, "suppress progress output", NULL },
		{ 0 },
	};
	const char *prog = "hull load";
	int pos, code = parse_opts(prog, "[OPTIONS]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos < argc)
		return usage_error(prog, "unexpected argument '%s' (use -i FILE)", argv[pos]);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *what = NULL;
	hull_error *err = NULL;
	if (input && strcmp(input, "-") != 0) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return engine_fail((hull_error_set(&err, errno, "load: open '%s'", input), err));
		if (asprintf(&what, "'%s'", input) < 0)
			what = NULL;
	} else if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "Error: cannot read from terminal, use command-line redirection or the --input flag\n");
		return EXIT_ENGINE;
	}
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	struct image_load_result res = { 0 };
	if (image_load(s, fd >= 0 ? fd : STDIN_FILENO, what ? what : "stdin", &res, &err) < 0) {
		image_load_result_clear(&res);
		return engine_fail(err);
	}
	for (size_t i = 0; res.names && res.names[i]; i++)
		printf("Loaded image: %s\n", res.names[i]);
	for (size_t i = 0; res.ids && res.ids[i]; i++)
		if (!loaded_with_name(s, res.ids[i], res.names))
			printf("Loaded image: sha256:%s\n", id_hex(res.ids[i]));
	image_load_result_clear(&res);
	return 0;
}

/* Open -o FILE for save: a temporary name beside it, renamed on success
 * (so a failed save leaves no half archive), or the path itself when it is
 * a device or fifo. */
static int open_output(const char *path, char **ret_tmp, hull_error **err)
{
	struct stat st;
	*ret_tmp = NULL;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		return fd < 0 ? hull_error_set(err, errno, "save: open '%s'", path) : fd;
	}
	_cleanup_free_ char *copy = strdup(path), *copy2 = strdup(path);
	if (!copy || !copy2)
		return hull_error_set(err, ENOMEM, "save");
	char *tmp = NULL;
	if (asprintf(&tmp, "%s/.%s.hull-%d.tmp", dirname(copy), basename(copy2), (int)getpid()) < 0)
		return hull_error_set(err, ENOMEM, "save");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		hull_error_set(err, errno, "save: create '%s'", tmp);
		free(tmp);
		return -1;
	}
	*ret_tmp = tmp;
	return fd;
}

static int cmd_save(struct engine *e, int argc, char **argv)
{
	const char *output = NULL, *format = "docker-archive";
	bool quiet = false, multi = false;
	const struct opt opts[] = {
		{ "output", 'o', OPT_STRING, &output, "write to this file instead of stdout", "FILE" },
		{ "format", 0, OPT_STRING, &format, "docker-archive (default) or oci-archive", "FORMAT" },
		{ "multi-image-archive", 'm', OPT_FLAG, &multi, "accepted for Podman compatibility (always on)", NULL },
		{ "quiet", 'q', OPT_FLAG, &quiet, "suppress progress output", NULL },
		{ 0 },
	};
	const char *prog = "hull save";
	int pos, code = parse_opts(prog, "[OPTIONS] IMAGE [IMAGE...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos >= argc)
		return usage_error(prog, "%s needs at least one image", "save");
	enum image_archive_format fmt;
	if (strcmp(format, "docker-archive") == 0)
		fmt = IMAGE_ARCHIVE_DOCKER;
	else if (strcmp(format, "oci-archive") == 0)
		fmt = IMAGE_ARCHIVE_OCI;
	else
		return usage_error(prog, "unsupported --format '%s' (docker-archive or oci-archive)", format);
	if ((!output || strcmp(output, "-") == 0) && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "Error: refusing to save to terminal. Use -o flag or redirect\n");
		return EXIT_ENGINE;
	}
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	for (int i = pos; i < argc; i++) { /* fail before creating the file */
		_cleanup_record_ struct image_record *r = NULL;
		if (store_image_lookup(s, argv[i], &r, &err) < 0)
			return engine_fail(err);
	}
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	if (output && strcmp(output, "-") != 0 && (fd = open_output(output, &tmp, &err)) < 0)
		return engine_fail(err);
	int r = image_save(s, argv + pos, fmt, fd >= 0 ? fd : STDOUT_FILENO, &err);
	if (r == 0 && tmp && (fsync(fd) < 0 || rename(tmp, output) < 0))
		r = hull_error_set(&err, errno, "save: rename to '%s'", output);
	if (r < 0) {
		if (tmp)
			unlink(tmp);
		return engine_fail(err);
	}
	return 0;
}

/* ================= tag, untag ================= */

static int cmd_tag(struct engine *e, int argc, char **argv)
{
	const struct opt opts[] = { { 0 } };
	const char *prog = "hull tag";
	int pos, code = parse_opts(prog, "IMAGE TARGET_NAME[:TAG] [TARGET_NAME[:TAG]...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (argc - pos < 2)
		return usage_error(prog, "%s needs an image and at least one new name", "tag");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	_cleanup_record_ struct image_record *r = NULL;
	if (store_image_lookup(s, argv[pos], &r, &err) < 0)
		return engine_fail(err);
	for (int i = pos + 1; i < argc; i++) {
		_cleanup_free_ char *name = NULL;
		if (normalize_tag(argv[i], &name, &err) < 0 || store_image_tag(s, r->id, name, &err) < 0)
			return engine_fail(err);
	}
	return 0;
}

static int cmd_untag(struct engine *e, int argc, char **argv)
{
	const struct opt opts[] = { { 0 } };
	const char *prog = "hull untag";
	int pos, code = parse_opts(prog, "IMAGE [NAME...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (argc - pos < 1)
		return usage_error(prog, "%s needs an image", "untag");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	_cleanup_record_ struct image_record *r = NULL;
	if (store_image_lookup(s, argv[pos], &r, &err) < 0)
		return engine_fail(err);
	if (argc - pos == 1)
		return store_image_untag(s, r->id, NULL, &err) < 0 ? engine_fail(err) : 0;
	for (int i = pos + 1; i < argc; i++) {
		_cleanup_free_ char *name = NULL;
		if (normalize_tag(argv[i], &name, &err) < 0)
			return engine_fail(err);
		if (store_image_untag(s, r->id, name, &err) < 0) {
			if (err && err->status == ENOENT) {
				hull_error_free(err);
				err = NULL;
				hull_error_set(&err, 0, "'%s': tag not known", name);
			}
			return engine_fail(err);
		}
	}
	return 0;
}

/* ================= rmi ================= */

/* The stored name that `arg` spells, or NULL when arg names the image by
 * id or digest. */
static const char *name_given(const struct image_record *r, const char *arg)
{
	if (!r->names)
		return NULL;
	for (char **n = r->names; *n; n++)
		if (strcmp(*n, arg) == 0)
			return *n;
	struct image_ref ref = { 0 };
	hull_error *err = NULL;
	const char *found = NULL;
	if (ref_normalize(arg, NULL, &ref, &err) == 0 && !ref.digest) {
		_cleanup_free_ char *full = ref_string(&ref);
		for (char **n = r->names; full && *n && !found; n++)
			if (strcmp(*n, full) == 0)
				found = *n;
	}
	ref_clear(&ref);
	hull_error_free(err);
	if (found)
		return found;
	/* a short name found through another domain: "busybox" for
	 * docker.io/library/busybox:latest */
	struct image_ref p = { 0 };
	if (ref_parse(arg, &p, &err) == 0 && !p.domain && !p.digest) {
		_cleanup_free_ char *suffix = NULL;
		if (asprintf(&suffix, "/%s:%s", p.path, p.tag ? p.tag : "latest") >= 0)
			for (char **n = r->names; *n && !found; n++) {
				size_t ln = strlen(*n), ls = strlen(suffix);
				if (ln > ls && strcmp(*n + ln - ls, suffix) == 0)
					found = *n;
			}
	}
	ref_clear(&p);
	hull_error_free(err);
	return found;
}

static int rmi_code(const hull_error *err)
{
	if (err && err->status == ENOENT)
		return EXIT_RMI_UNKNOWN;
	if (err && err->status == EBUSY)
		return EXIT_RMI_IN_USE;
	return EXIT_ENGINE;
}

static void report(hull_error *err)
{
	fprintf(stderr, "Error: %s\n", err && err->msg ? err->msg : "out of memory");
	hull_error_free(err);
}

/* Remove the whole image: its names, then the image itself. */
static int rmi_image(struct image_store *s, const struct image_record *r, bool force, hull_error **err)
{
	if (store_image_remove(s, r->id, force, err) < 0) {
		if (err && *err && (*err)->status == EBUSY)
			hull_error_wrap(err, "image '%.12s' is in use (use --force to remove it anyway)", id_hex(r->id));
		return -1;
	}
	for (size_t i = 0; r->names && r->names[i]; i++)
		printf("Untagged: %s\n", r->names[i]);
	printf("Deleted: %s\n", id_hex(r->id));
	return 0;
}

static int rmi_one(struct image_store *s, const char *arg, bool force, hull_error **err)
{
	_cleanup_record_ struct image_record *r = NULL;
	if (store_image_lookup(s, arg, &r, err) < 0)
		return -1;
	const char *name = name_given(r, arg);
	size_t nnames = strv_len(r->names);
	if (name && nnames > 1) {
		if (store_image_untag(s, r->id, name, err) < 0)
			return -1;
		printf("Untagged: %s\n", name);
		return 0;
	}
	if (!name && nnames > 1 && !force) {
		_cleanup_free_ char *list = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);
		for (size_t i = 0; f && i < nnames; i++)
			fprintf(f, "%s%s", i ? " " : "", r->names[i]);
		if (f)
			fclose(f);
		return hull_error_set(err, 0,
				      "unable to delete image '%s' by ID with more than one tag ([%s]): please force "
				      "removal",
				      id_hex(r->id), list ? list : "");
	}
	return rmi_image(s, r, force, err);
}

static int rmi_all(struct image_store *s, bool force, int *worst)
{
	struct image_record **list = NULL;
	size_t n = 0;
	hull_error *err = NULL;
	if (store_image_list(s, &list, &n, &err) < 0) {
		report(err);
		return EXIT_ENGINE;
	}
	for (size_t i = 0; i < n; i++) {
		err = NULL;
		if (rmi_image(s, list[i], force, &err) < 0) {
			int c = rmi_code(err);
			if (c == EXIT_RMI_UNKNOWN) { /* removed meanwhile by someone else */
				hull_error_free(err);
				continue;
			}
			if (c == EXIT_ENGINE || *worst != EXIT_ENGINE)
				*worst = c;
			report(err);
		}
	}
	image_record_list_free(list, n);
	return *worst;
}

static int cmd_rmi(struct engine *e, int argc, char **argv)
{
	bool force = false, all = false, ignore = false;
	const struct opt opts[] = {
		{ "force", 'f', OPT_FLAG, &force, "remove images in use, and images with several names by ID", NULL },
		{ "all", 'a', OPT_FLAG, &all, "remove all images", NULL },
		{ "ignore", 'i', OPT_FLAG, &ignore, "ignore images that do not exist", NULL },
		{ 0 },
	};
	const char *prog = "hull rmi";
	int pos, code = parse_opts(prog, "[OPTIONS] IMAGE [IMAGE...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (all && pos < argc)
		return usage_error(prog, "%s: give image names or --all, not both", "rmi");
	if (!all && pos >= argc)
		return usage_error(prog, "%s: image name or ID must be specified", "rmi");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	int worst = 0;
	if (all)
		return rmi_all(s, force, &worst);
	for (int i = pos; i < argc; i++) {
		hull_error *err = NULL;
		if (rmi_one(s, argv[i], force, &err) == 0)
			continue;
		int c = rmi_code(err);
		if (c == EXIT_RMI_UNKNOWN && ignore) {
			hull_error_free(err);
			continue;
		}
		/* 125 beats "in use" beats "not known" */
		if (c == EXIT_ENGINE || (c == EXIT_RMI_IN_USE && worst != EXIT_ENGINE) || worst == 0)
			worst = c;
		report(err);
	}
	return worst;
}

/* ================= inspect, history ================= */

static int cmd_inspect(struct engine *e, int argc, char **argv)
{
	const char *format = NULL;
	const struct opt opts[] = {
		{ "format", 'f', OPT_STRING, &format, "json (default) or a Go template, e.g. {{.Id}} {{.Config.Cmd}}",
		  "FORMAT" },
		{ 0 },
	};
	const char *prog = "hull image inspect";
	int pos, code = parse_opts(prog, "[OPTIONS] IMAGE [IMAGE...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos >= argc)
		return usage_error(prog, "%s: image name or ID must be specified", "inspect");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	_cleanup_json_ json_t *arr = json_array();
	hull_error *failed = NULL;
	for (int i = pos; i < argc; i++) {
		hull_error *err = NULL;
		_cleanup_record_ struct image_record *r = NULL;
		json_t *j = NULL;
		if (store_image_lookup(s, argv[i], &r, &err) < 0 || image_inspect_json(s, r, &j, &err) < 0) {
			if (failed)
				report(failed);
			failed = err;
			continue;
		}
		json_array_append_new(arr, j);
	}
	hull_error *err = NULL;
	if (!format || fmt_is_json(format))
		fmt_print_json(stdout, arr);
	else if (fmt_print_rows(stdout, format, NULL, arr, false, &err) < 0) {
		hull_error_free(failed);
		return engine_fail(err);
	}
	return failed ? engine_fail(failed) : 0;
}

static const struct fmt_field history_fields[] = {
	{ "ID", NULL },        { "Created", NULL }, { "CreatedAt", NULL }, { "CreatedSince", "CREATED" },
	{ "CreatedBy", NULL }, { "Size", NULL },    { "Comment", NULL },   { "Tags", NULL },
	{ NULL, NULL },
};

static json_t *history_row(json_t *h, bool no_trunc, bool human, time_t now)
{
	const char *id = json_string_value(json_object_get(h, "id"));
	const char *created = json_string_value(json_object_get(h, "created"));
	const char *by = json_string_value(json_object_get(h, "created_by"));
	const char *comment = json_string_value(json_object_get(h, "comment"));
	json_int_t size = json_integer_value(json_object_get(h, "size"));
	char idbuf[80], sbuf[32], since[48], at[48], rfc[32];
	if (!id || !*id || strcmp(id, "<missing>") == 0)
		snprintf(idbuf, sizeof(idbuf), "<missing>");
	else
		snprintf(idbuf, sizeof(idbuf), no_trunc ? "%s" : "%.12s", id_hex(id));
	time_t t = 0;
	if (created)
		fmt_parse_time(created, &t);
	fmt_since(t, now, since);
	fmt_time_go(t, at);
	fmt_time_rfc3339(t, rfc);
	if (human)
		fmt_size((uint64_t)(size < 0 ? 0 : size), sbuf);
	else
		snprintf(sbuf, sizeof(sbuf), "%lld", (long long)size);
	_cleanup_free_ char *by_short = NULL;
	if (!by)
		by = "";
	if (!no_trunc && strlen(by) > CREATED_BY_WIDTH && asprintf(&by_short, "%.*s...", CREATED_BY_WIDTH - 3, by) >= 0)
		by = by_short;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O?}", "ID", idbuf, "Created", human ? since : rfc,
			 "CreatedAt", at, "CreatedSince", since, "CreatedBy", by, "Size", sbuf, "Comment",
			 comment ? comment : "", "Tags", json_object_get(h, "tags"));
}

static json_t *history_json_out(json_t *hist)
{
	json_t *arr = json_array();
	size_t i;
	json_t *h;
	json_array_foreach(hist, i, h)
	{
		const char *id = json_string_value(json_object_get(h, "id"));
		json_array_append_new(arr, json_pack("{s:s, s:O?, s:O?, s:O?, s:O?}", "id",
						     id && strcmp(id, "<missing>") ? id_hex(id) : "<missing>",
						     "created", json_object_get(h, "created"), "CreatedBy",
						     json_object_get(h, "created_by"), "size", json_object_get(h, "size"),
						     "comment", json_object_get(h, "comment")));
	}
	return arr;
}

static int cmd_history(struct engine *e, int argc, char **argv)
{
	bool no_trunc = false, quiet = false, human = true;
	const char *format = NULL;
	const struct opt opts[] = {
		{ "no-trunc", 0, OPT_FLAG, &no_trunc, "do not truncate IDs and CREATED BY", NULL },
		{ "quiet", 'q', OPT_FLAG, &quiet, "print only the IDs", NULL },
		{ "human", 'H', OPT_FLAG, &human, "human-readable sizes and dates (default true; --human=false)", NULL },
		{ "format", 0, OPT_STRING, &format, "json, or a Go template ({{.ID}} {{.CreatedBy}} {{.Size}} ...)",
		  "FORMAT" },
		{ 0 },
	};
	const char *prog = "hull history";
	int pos, code = parse_opts(prog, "[OPTIONS] IMAGE", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (argc - pos != 1)
		return usage_error(prog, "%s needs exactly one image", "history");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	_cleanup_record_ struct image_record *r = NULL;
	_cleanup_json_ json_t *hist = NULL;
	if (store_image_lookup(s, argv[pos], &r, &err) < 0 || image_history_json(s, r, &hist, &err) < 0)
		return engine_fail(err);
	if (format && fmt_is_json(format)) {
		_cleanup_json_ json_t *out = history_json_out(hist);
		return fmt_print_json(stdout, out) < 0 ? engine_fail(NULL) : 0;
	}
	_cleanup_json_ json_t *rows = json_array();
	time_t now = time(NULL);
	size_t i;
	json_t *h;
	json_array_foreach(hist, i, h) json_array_append_new(rows, history_row(h, no_trunc, human, now));
	if (quiet) {
		json_array_foreach(rows, i, h) printf("%s\n", json_string_value(json_object_get(h, "ID")));
		return 0;
	}
	if (!format || strcmp(format, "table") == 0)
		format = "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
	if (fmt_print_rows(stdout, format, history_fields, rows, false, &err) < 0)
		return engine_fail(err);
	return 0;
}

/* ================= prune, exists, mount ================= */

static bool confirm(const char *what)
{
	printf("WARNING! This command removes %s.\nAre you sure you want to continue? [y/N] ", what);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

/* One pass: remove what is prunable now; *removed counts. */
static int prune_pass(struct image_store *s, bool all, size_t *removed)
{
	struct image_record **list = NULL;
	size_t n = 0;
	hull_error *err = NULL;
	if (store_image_list(s, &list, &n, &err) < 0) {
		report(err);
		return EXIT_ENGINE;
	}
	struct img *imgs = calloc(n ? n : 1, sizeof(*imgs));
	if (!imgs) {
		image_record_list_free(list, n);
		return engine_fail(NULL);
	}
	for (size_t i = 0; i < n; i++)
		imgs[i] = (struct img){ list[i], 0, false, NULL, -1 };
	mark_children(imgs, n);
	int code = 0;
	for (size_t i = 0; i < n; i++) {
		bool unnamed = !list[i]->names || !list[i]->names[0];
		if (!all && !(unnamed && !imgs[i].children))
			continue;
		if (image_holders(s, &imgs[i]) > 0)
			continue;
		err = NULL;
		if (store_image_remove(s, list[i]->id, false, &err) < 0) {
			if (err && (err->status == ENOENT || err->status == EBUSY)) {
				hull_error_free(err); /* gone or taken meanwhile */
				continue;
			}
			report(err);
			code = EXIT_ENGINE;
			continue;
		}
		printf("%s\n", id_hex(list[i]->id));
		(*removed)++;
	}
	free(imgs);
	image_record_list_free(list, n);
	return code;
}

static int cmd_prune(struct engine *e, int argc, char **argv)
{
	bool all = false, force = false;
	const struct opt opts[] = {
		{ "all", 'a', OPT_FLAG, &all, "remove all images no container uses, not just dangling ones", NULL },
		{ "force", 'f', OPT_FLAG, &force, "do not ask for confirmation", NULL },
		{ 0 },
	};
	const char *prog = "hull image prune";
	int pos, code = parse_opts(prog, "[OPTIONS]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos < argc)
		return usage_error(prog, "unexpected argument '%s'", argv[pos]);
	if (!force && !confirm(all ? "all images not in use by containers" : "all dangling images"))
		return 0;
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	size_t removed;
	do { /* removing an image can leave its parent dangling */
		removed = 0;
		if ((code = prune_pass(s, all, &removed)) != 0)
			return code;
	} while (removed > 0);
	hull_error *err = NULL;
	return store_gc(s, &err) < 0 ? engine_fail(err) : 0;
}

static int cmd_exists(struct engine *e, int argc, char **argv)
{
	const struct opt opts[] = { { 0 } };
	const char *prog = "hull image exists";
	int pos, code = parse_opts(prog, "IMAGE", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (argc - pos != 1)
		return usage_error(prog, "%s needs exactly one image", "exists");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	_cleanup_record_ struct image_record *r = NULL;
	if (store_image_lookup(s, argv[pos], &r, &err) == 0)
		return 0;
	if (err && err->status == ENOENT) {
		hull_error_free(err);
		return 1;
	}
	return engine_fail(err);
}

static int cmd_mount(struct engine *e, int argc, char **argv)
{
	const struct opt opts[] = { { 0 } };
	const char *prog = "hull image mount";
	int pos, code = parse_opts(prog, "IMAGE [IMAGE...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos >= argc)
		return usage_error(prog, "%s: image name or ID must be specified", "mount");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	for (int i = pos; i < argc; i++) {
		hull_error *err = NULL;
		_cleanup_record_ struct image_record *r = NULL;
		_cleanup_free_ char *path = NULL;
		if (store_image_lookup(s, argv[i], &r, &err) < 0 || store_image_mount(s, r->id, &path, &err) < 0)
			return engine_fail(err);
		printf("%s\n", path);
	}
	return 0;
}

static int cmd_unmount(struct engine *e, int argc, char **argv)
{
	bool force = false;
	const struct opt opts[] = {
		{ "force", 'f', OPT_FLAG, &force, "unmount even if mounted several times", NULL },
		{ 0 },
	};
	const char *prog = "hull image unmount";
	int pos, code = parse_opts(prog, "[OPTIONS] IMAGE [IMAGE...]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos >= argc)
		return usage_error(prog, "%s: image name or ID must be specified", "unmount");
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	for (int i = pos; i < argc; i++) {
		hull_error *err = NULL;
		_cleanup_record_ struct image_record *r = NULL;
		if (store_image_lookup(s, argv[i], &r, &err) < 0 || store_image_unmount(s, r->id, force, &err) < 0)
			return engine_fail(err);
		printf("%s\n", id_hex(r->id));
	}
	return 0;
}

const struct cli_command image_commands[] = {
	{ "images", cmd_images, "list images" },
	{ "import", cmd_import, "make an image from a tarball or directory" },
	{ "load", cmd_load, "load images from a docker-archive or oci-archive" },
	{ "save", cmd_save, "save images to a docker-archive or oci-archive" },
	{ "tag", cmd_tag, "give an image more names" },
	{ "untag", cmd_untag, "remove names from an image" },
	{ "rmi", cmd_rmi, "remove images" },
	{ "history", cmd_history, "show an image's history" },
	{ 0 },
};

const struct cli_command image_subcommands[] = {
	{ "ls", cmd_images, "list images" },
	{ "list", cmd_images, "list images" },
	{ "inspect", cmd_inspect, "show images' details as JSON" },
	{ "history", cmd_history, "show an image's history" },
	{ "import", cmd_import, "make an image from a tarball or directory" },
	{ "load", cmd_load, "load images from a docker-archive or oci-archive" },
	{ "save", cmd_save, "save images to a docker-archive or oci-archive" },
	{ "tag", cmd_tag, "give an image more names" },
	{ "untag", cmd_untag, "remove names from an image" },
	{ "rm", cmd_rmi, "remove images" },
	{ "prune", cmd_prune, "remove dangling (or, with -a, all unused) images" },
	{ "exists", cmd_exists, "exit 0 if the image exists, 1 if not" },
	{ "mount", cmd_mount, "mount an image's root read-only and print the path" },
	{ "unmount", cmd_unmount, "unmount an image's root" },
	{ "umount", cmd_unmount, "unmount an image's root" },
	{ 0 },
};
