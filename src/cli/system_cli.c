/* system_cli.c - `hull system check` and `hull system df`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/engine.h"
#include "cli/format.h"
#include "image/store.h"
#include "util/cleanup.h"

static void json_cleanup(json_t **j)
{
	json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_cleanup)))

static int parse_opts(const char *prog, const char *usage, const struct opt *opts, int argc, char **argv, int *pos)
{
	*pos = 1;
	int r = opt_parse(prog, usage, opts, argc, argv, pos);
	if (r == 0)
		return -1;
	return r > 0 ? 0 : EXIT_ENGINE;
}

static int get_store(struct engine *e, struct image_store **s)
{
	hull_error *err = NULL;
	if (engine_store(e, s, &err) < 0)
		return engine_fail(err);
	return 0;
}

/* ================= check ================= */

/* One entry of store_check's "errors" or "repaired" as a line. */
static void print_entry(const char *prefix, json_t *v)
{
	if (json_is_string(v)) {
		printf("%s%s\n", prefix, json_string_value(v));
		return;
	}
	const char *msg = json_string_value(json_object_get(v, "message"));
	if (!msg)
		msg = json_string_value(json_object_get(v, "error"));
	if (msg) {
		printf("%s%s\n", prefix, msg);
		return;
	}
	_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%s%s\n", prefix, s ? s : "?");
}

static size_t count_of(json_t *report, const char *key)
{
	return (size_t)json_integer_value(json_object_get(report, key));
}

static void print_check(json_t *report, bool repair, bool clean_after)
{
	json_t *errors = json_object_get(report, "errors");
	json_t *repaired = json_object_get(report, "repaired");
	size_t i, nerr = json_array_size(errors);
	json_t *v;
	json_array_foreach(errors, i, v) print_entry("error: ", v);
	json_array_foreach(repaired, i, v) print_entry("repaired: ", v);
	printf("checked %zu images, %zu layers, %zu blobs: ", count_of(report, "images"), count_of(report, "layers"),
	       count_of(report, "blobs"));
	if (nerr == 0)
		printf("no errors\n");
	else if (!repair)
		printf("%zu error%s (run 'hull system check --repair' to remove what is broken)\n", nerr,
		       nerr == 1 ? "" : "s");
	else
		printf("%zu error%s, %s\n", nerr, nerr == 1 ? "" : "s",
		       clean_after ? "repaired" : "not all could be repaired");
}

static int cmd_check(struct engine *e, int argc, char **argv)
{
	bool repair = false, quiet = false;
	const char *format = NULL;
	const struct opt opts[] = {
		{ "repair", 'r', OPT_FLAG, &repair, "remove what is broken (damaged images, orphan layers and blobs)", NULL },
		{ "quiet", 'q', OPT_FLAG, &quiet, "print nothing; the exit code tells (0 clean, 1 errors)", NULL },
		{ "format", 0, OPT_STRING, &format, "json: print the report as JSON", "FORMAT" },
		{ 0 },
	};
	const char *prog = "hull system check";
	int pos, code = parse_opts(prog, "[OPTIONS]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos < argc) {
		fprintf(stderr, "Error: unexpected argument '%s' (see '%s --help')\n", argv[pos], prog);
		return EXIT_ENGINE;
	}
	if (format && !fmt_is_json(format)) {
		fprintf(stderr, "Error: unsupported --format '%s' (json)\n", format);
		return EXIT_ENGINE;
	}
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	_cleanup_json_ json_t *report = NULL;
	if (store_check(s, repair, &report, &err) < 0)
		return engine_fail(err);
	bool had_errors = json_array_size(json_object_get(report, "errors")) > 0;
	bool clean = !had_errors;
	if (repair && had_errors) { /* clean only if a second look finds nothing */
		_cleanup_json_ json_t *again = NULL;
		if (store_check(s, false, &again, &err) < 0)
			return engine_fail(err);
		clean = json_array_size(json_object_get(again, "errors")) == 0;
	}
	if (format)
		fmt_print_json(stdout, report);
	else if (!quiet)
		print_check(report, repair, clean);
	return clean ? 0 : 1;
}

/* ================= df ================= */

static void reclaimable(uint64_t r, uint64_t total, char buf[static 48])
{
	char h[32];
	fmt_size_compact(r, h);
	unsigned pct = total ? (unsigned)((r * 100 + total / 2) / total) : 0;
	snprintf(buf, 48, "%s (%u%%)", h, pct);
}

static json_t *df_row(const char *type, size_t total, size_t active, uint64_t size, uint64_t recl)
{
	char sz[32], rc[48];
	fmt_size_compact(size, sz);
	reclaimable(recl, size, rc);
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:I}", "Type", type, "Total", (json_int_t)total, "Active",
			 (json_int_t)active, "Size", sz, "Reclaimable", rc, "RawSize", (json_int_t)size,
			 "RawReclaimable", (json_int_t)recl);
}

static const struct fmt_field df_fields[] = {
	{ "Type", NULL },    { "Total", NULL },   { "Active", NULL },         { "Size", NULL },
	{ "Reclaimable", NULL }, { "RawSize", NULL }, { "RawReclaimable", NULL }, { NULL, NULL },
};

static const struct fmt_field df_image_fields[] = {
	{ "Repository", NULL }, { "Tag", NULL },        { "ID", "IMAGE ID" },  { "Created", NULL },
	{ "Size", NULL },       { "SharedSize", NULL }, { "UniqueSize", NULL }, { "Containers", NULL },
	{ NULL, NULL },
};

/* Per-image rows for `df -v`: shared size is what other images' layers
 * also hold. */
static int df_verbose_images(struct image_store *s, hull_error **err)
{
	struct image_record **list = NULL;
	size_t n = 0;
	if (store_image_list(s, &list, &n, err) < 0)
		return -1;
	_cleanup_json_ json_t *rows = json_array();
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		uint64_t shared = 0;
		for (size_t l = 0; list[i]->layers && list[i]->layers[l]; l++) {
			bool other = false;
			for (size_t j = 0; j < n && !other; j++)
				for (size_t k = 0; j != i && list[j]->layers && list[j]->layers[k] && !other; k++)
					other = strcmp(list[j]->layers[k], list[i]->layers[l]) == 0;
			struct layer_info *li = NULL;
			if (other && store_layer_get(s, list[i]->layers[l], &li, err) == 0 && li)
				shared += li->unpacked_size;
			layer_info_free(li);
			hull_error_clear(err);
		}
		size_t holders = 0;
		if (store_image_holders(s, list[i]->id, &holders, err) < 0)
			hull_error_clear(err);
		time_t t = 0;
		if (list[i]->created)
			fmt_parse_time(list[i]->created, &t);
		char size[32], sh[32], uq[32], created[32], id[16];
		fmt_size_compact(list[i]->size, size);
		fmt_size_compact(shared, sh);
		fmt_size_compact(list[i]->size - (shared > list[i]->size ? list[i]->size : shared), uq);
		fmt_duration((int64_t)(now - t), created);
		const char *hex = strncmp(list[i]->id, "sha256:", 7) == 0 ? list[i]->id + 7 : list[i]->id;
		snprintf(id, sizeof(id), "%.12s", hex);
		size_t nnames = 0;
		while (list[i]->names && list[i]->names[nnames])
			nnames++;
		for (size_t k = 0; k < (nnames ? nnames : 1); k++) {
			const char *name = nnames ? list[i]->names[k] : "<none>:<none>";
			const char *colon = strrchr(name, ':');
			if (colon && strchr(colon, '/'))
				colon = NULL;
			_cleanup_free_ char *repo = colon ? strndup(name, (size_t)(colon - name)) : strdup(name);
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "Repository",
							      repo ? repo : "", "Tag", colon ? colon + 1 : "<none>",
							      "ID", id, "Created", created, "Size", size, "SharedSize",
							      sh, "UniqueSize", uq, "Containers",
							      (json_int_t)holders));
		}
	}
	image_record_list_free(list, n);
	printf("Images space usage:\n\n");
	int r = fmt_print_rows(stdout,
			       "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}\t{{.SharedSize}}\t"
			       "{{.UniqueSize}}\t{{.Containers}}",
			       df_image_fields, rows, false, err);
	if (r < 0)
		return -1;
	printf("\nContainers space usage:\n\nCONTAINER ID  IMAGE       COMMAND     LOCAL VOLUMES  SIZE        CREATED     "
	       "STATUS      NAMES\n");
	printf("\nLocal Volumes space usage:\n\nVOLUME NAME  LINKS       SIZE\n");
	return 0;
}

static int cmd_df(struct engine *e, int argc, char **argv)
{
	bool verbose = false;
	const char *format = NULL;
	const struct opt opts[] = {
		{ "verbose", 'v', OPT_FLAG, &verbose, "show each image's space usage", NULL },
		{ "format", 0, OPT_STRING, &format, "json, or a Go template ({{.Type}} {{.Total}} {{.Active}} {{.Size}} "
						   "{{.Reclaimable}})",
		  "FORMAT" },
		{ 0 },
	};
	const char *prog = "hull system df";
	int pos, code = parse_opts(prog, "[OPTIONS]", opts, argc, argv, &pos);
	if (code >= 0)
		return code;
	if (pos < argc) {
		fprintf(stderr, "Error: unexpected argument '%s' (see '%s --help')\n", argv[pos], prog);
		return EXIT_ENGINE;
	}
	struct image_store *s;
	if ((code = get_store(e, &s)) != 0)
		return code;
	hull_error *err = NULL;
	if (verbose && !format)
		return df_verbose_images(s, &err) < 0 ? engine_fail(err) : 0;
	struct store_usage u = { 0 };
	if (store_usage(s, &u, &err) < 0)
		return engine_fail(err);
	_cleanup_json_ json_t *rows = json_array();
	json_array_append_new(rows, df_row("Images", u.images, u.images_active, u.images_size, u.images_reclaimable));
	json_array_append_new(rows, df_row("Containers", 0, 0, 0, 0));
	json_array_append_new(rows, df_row("Local Volumes", 0, 0, 0, 0));
	if (format && fmt_is_json(format))
		return fmt_print_json(stdout, rows) < 0 ? engine_fail(NULL) : 0;
	if (!format || strcmp(format, "table") == 0)
		format = "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
	if (fmt_print_rows(stdout, format, df_fields, rows, false, &err) < 0)
		return engine_fail(err);
	return 0;
}

const struct cli_command system_subcommands[] = {
	{ "check", cmd_check, "verify every digest and reference in the store (--repair removes what is broken)" },
	{ "df", cmd_df, "show the store's disk usage" },
	{ 0 },
};
