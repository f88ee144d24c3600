/* Unit tests for src/cli/format.c: the Go-template subset, tab alignment,
 * human sizes, durations and times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/format.h"

static const struct fmt_field image_fields[] = {
	{ "ID", "IMAGE ID" },
	{ "Repository", NULL },
	{ "Tag", NULL },
	{ "CreatedSince", "CREATED" },
	{ "CreatedAt", NULL },
	{ "Size", NULL },
	{ "Names", NULL },
	{ "Labels", NULL },
	{ "Dangling", NULL },
	{ "Containers", NULL },
	{ NULL, NULL },
};

/* Render rows (a JSON array text) with format; returns the output,
 * malloc'd, or NULL with *errmsg set (malloc'd). */
static char *render(const char *format, const struct fmt_field *fields, const char *rows_json, bool noheading,
		    char **errmsg)
{
	json_t *rows = json_loads(rows_json, 0, NULL);
	assert_non_null(rows);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	hull_error *err = NULL;
	int r = fmt_print_rows(f, format, fields, rows, noheading, &err);
	fclose(f);
	json_decref(rows);
	if (r < 0) {
		assert_non_null(err);
		if (errmsg)
			*errmsg = strdup(err->msg);
		hull_error_free(err);
		free(out);
		return NULL;
	}
	assert_null(err);
	return out;
}

static const char *two_rows =
	"[{\"ID\":\"7aa4883bdec5\",\"Repository\":\"localhost/bb\",\"Tag\":\"1\",\"CreatedSince\":\"2 minutes ago\","
	"\"Size\":\"2.13 MB\",\"Names\":[\"localhost/bb:1\",\"quay.io/foo/bar:latest\"],"
	"\"Labels\":{\"z\":\"1\",\"a\":\"2\"},\"Dangling\":false,\"Containers\":3},"
	"{\"ID\":\"0123456789ab\",\"Repository\":\"quay.io/foo/bar\",\"Tag\":\"latest\",\"CreatedSince\":\"3 days ago\","
	"\"Size\":\"100 kB\",\"Names\":[],\"Labels\":null,\"Dangling\":true,\"Containers\":0}]";

static void test_plain_fields(void **state)
{
	(void)state;
	char *out = render("{{.ID}} {{.Repository}}:{{.Tag}}", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "7aa4883bdec5 localhost/bb:1\n0123456789ab quay.io/foo/bar:latest\n");
	free(out);
	/* literal text around, spaces inside the braces */
	out = render("id={{ .ID }}!", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "id=7aa4883bdec5!\nid=0123456789ab!\n");
	free(out);
	/* a trailing newline is not doubled */
	out = render("{{.Tag}}\n", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "1\nlatest\n");
	free(out);
}

static void test_table_header_and_alignment(void **state)
{
	(void)state;
	char *out = render("table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}", image_fields,
			   two_rows, false, NULL);
	/* min width 12, padding 2; the last column is not padded */
	assert_string_equal(out, "REPOSITORY       TAG         IMAGE ID      CREATED        SIZE\n"
				 "localhost/bb     1           7aa4883bdec5  2 minutes ago  2.13 MB\n"
				 "quay.io/foo/bar  latest      0123456789ab  3 days ago     100 kB\n");
	free(out);
	/* --noheading */
	out = render("table {{.Tag}}\\t{{.Size}}", image_fields, two_rows, true, NULL);
	assert_string_equal(out, "1           2.13 MB\nlatest      100 kB\n");
	free(out);
}

static void test_table_spaces_are_columns(void **state)
{
	(void)state;
	/* as in Podman: in a table template a space separates columns */
	char *out = render("table {{.ID}} {{.Tag}}|x", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "IMAGE ID      TAG|x\n7aa4883bdec5  1|x\n0123456789ab  latest|x\n");
	free(out);
	/* without "table", spaces are text and real tabs still align */
	out = render("{{.Tag}}\t{{.ID}}", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "1           7aa4883bdec5\nlatest      0123456789ab\n");
	free(out);
}

static void test_derived_headers(void **state)
{
	(void)state;
	char *out = render("table {{.CreatedAt}}\\t{{.Dangling}}", image_fields,
			   "[{\"CreatedAt\":\"2026-01-01 00:00:00 +0000 UTC\",\"Dangling\":true}]", false, NULL);
	assert_string_equal(out, "CREATED AT                     DANGLING\n"
				 "2026-01-01 00:00:00 +0000 UTC  true\n");
	free(out);
	/* any row member when no field list: "ParentId" -> "PARENT ID", nested: last component */
	out = render("table {{.ParentId}}\\t{{.Config.WorkingDir}}", NULL,
		     "[{\"ParentId\":\"p\",\"Config\":{\"WorkingDir\":\"/w\"}}]", false, NULL);
	assert_string_equal(out, "PARENT ID   WORKING DIR\np           /w\n");
	free(out);
}

static void test_go_value_printing(void **state)
{
	(void)state;
	char *out = render("{{.Names}} {{.Labels}} {{.Dangling}} {{.Containers}}", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "[localhost/bb:1 quay.io/foo/bar:latest] map[a:2 z:1] false 3\n"
				 "[]  true 0\n");
	free(out);
}

static void test_json_actions(void **state)
{
	(void)state;
	char *out = render("{{json .Names}}", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "[\"localhost/bb:1\",\"quay.io/foo/bar:latest\"]\n[]\n");
	free(out);
	out = render("{{json .}}x", NULL, "[{\"a\":1,\"b\":\"c\"}]", false, NULL);
	assert_string_equal(out, "{\"a\":1,\"b\":\"c\"}x\n");
	free(out);
	assert_true(fmt_is_json("json"));
	assert_true(fmt_is_json(" json "));
	assert_true(fmt_is_json("{{json .}}"));
	assert_true(fmt_is_json("{{ json . }}"));
	assert_false(fmt_is_json("{{json .ID}}"));
	assert_false(fmt_is_json("jsonx"));
	assert_false(fmt_is_json("{{.ID}}"));
	assert_false(fmt_is_json(NULL));
}

static void test_nested_paths(void **state)
{
	(void)state;
	const char *rows = "[{\"Config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"/bin/sh\"]},\"Os\":\"linux\"}]";
	char *out = render("{{.Os}} {{.Config.Env}} {{json .Config.Cmd}} <{{.Config.User}}>", NULL, rows, false, NULL);
	/* an absent nested member prints empty, as a zero struct field does */
	assert_string_equal(out, "linux [PATH=/bin] [\"/bin/sh\"] <>\n");
	free(out);
	char *msg = NULL;
	assert_null(render("{{.Os.Name}}", NULL, rows, false, &msg));
	assert_non_null(strstr(msg, "'Name'"));
	free(msg);
}

static void test_unknown_field_is_an_error(void **state)
{
	(void)state;
	char *msg = NULL;
	assert_null(render("{{.ID}} {{.Nope}}", image_fields, two_rows, false, &msg));
	assert_non_null(strstr(msg, "unknown field 'Nope'"));
	assert_non_null(strstr(msg, "Repository")); /* lists what exists */
	free(msg);
	/* with no field list: checked against the row, nothing printed */
	msg = NULL;
	assert_null(render("{{.a}} {{.zz}}", NULL, "[{\"a\":1}]", false, &msg));
	assert_non_null(strstr(msg, "unknown field 'zz'"));
	free(msg);
}

static void test_malformed_templates(void **state)
{
	(void)state;
	char *msg = NULL;
	assert_null(render("{{.ID", image_fields, two_rows, false, &msg));
	assert_non_null(strstr(msg, "unclosed"));
	free(msg);
	msg = NULL;
	assert_null(render("{{range .Names}}x{{end}}", image_fields, two_rows, false, &msg));
	assert_non_null(strstr(msg, "unsupported template action"));
	free(msg);
	msg = NULL;
	assert_null(render("{{.ID..x}}", image_fields, two_rows, false, &msg));
	assert_non_null(strstr(msg, "unsupported"));
	free(msg);
}

static void test_trim_markers(void **state)
{
	(void)state;
	char *out = render("a   {{- .Tag -}}   b", image_fields, two_rows, false, NULL);
	assert_string_equal(out, "a1b\nalatestb\n");
	free(out);
}

static void test_tabwriter_blocks(void **state)
{
	(void)state;
	/* column widths are per block of consecutive lines having that column */
	struct fmt_table *t = fmt_table_new();
	assert_non_null(t);
	assert_int_equal(fmt_table_add(t, "aaaaaaaaaaaaaaaa\tb\nc\n"), 0);
	assert_int_equal(fmt_table_add(t, "d\te\n"), 0);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_int_equal(fmt_table_flush(t, f), 0);
	fclose(f);
	assert_string_equal(out, "aaaaaaaaaaaaaaaa  b\nc\nd           e\n");
	free(out);
	/* unicode counts as one column per character */
	assert_int_equal(fmt_table_add(t, "é\tx\n"), 0);
	out = NULL;
	f = open_memstream(&out, &len);
	assert_int_equal(fmt_table_flush(t, f), 0);
	fclose(f);
	assert_string_equal(out, "é           x\n");
	free(out);
	fmt_table_free(t);
}

static void test_sizes(void **state)
{
	(void)state;
	char b[32];
	fmt_size(2131036, b);
	assert_string_equal(b, "2.13 MB");
	fmt_size(0, b);
	assert_string_equal(b, "0 B");
	fmt_size(999, b);
	assert_string_equal(b, "999 B");
	fmt_size(1000, b);
	assert_string_equal(b, "1 kB");
	fmt_size(123456789, b);
	assert_string_equal(b, "123 MB");
	fmt_size(4260000, b);
	assert_string_equal(b, "4.26 MB");
	fmt_size(5000000000ULL, b);
	assert_string_equal(b, "5 GB");
	fmt_size_compact(2131036, b);
	assert_string_equal(b, "2.131MB");
	fmt_size_compact(0, b);
	assert_string_equal(b, "0B");
}

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		int64_t s;
		const char *want;
	} cases[] = {
		{ 0, "Less than a second" }, { 1, "1 second" },        { 59, "59 seconds" },
		{ 60, "About a minute" },     { 119, "About a minute" }, { 120, "2 minutes" },
		{ 3599, "59 minutes" },       { 3600, "About an hour" }, { 5399, "About an hour" },
		{ 5400, "2 hours" },          { 47 * 3600, "47 hours" }, { 48 * 3600, "2 days" },
		{ 14 * 86400, "2 weeks" },    { 60 * 86400, "2 months" }, { 800 * 86400, "2 years" },
		{ -5, "Less than a second" },
	};
	char b[32];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_duration(cases[i].s, b);
		assert_string_equal(b, cases[i].want);
	}
	char s[48];
	fmt_since(1000, 1180, s);
	assert_string_equal(s, "3 minutes ago");
}

static void test_times(void **state)
{
	(void)state;
	time_t t = 0;
	assert_int_equal(fmt_parse_time("2026-11-26T16:41:49.568622595Z", &t), 0);
	char b[48];
	fmt_time_go(t, b);
	assert_string_equal(b, "2026-11-26 16:41:49 +0000 UTC");
	char r[32];
	fmt_time_rfc3339(t, r);
	assert_string_equal(r, "2026-11-26T16:41:49Z");
	time_t t2 = 0;
	assert_int_equal(fmt_parse_time("2026-11-26T18:41:49+02:00", &t2), 0);
	assert_int_equal((long long)t2, (long long)t);
	assert_int_equal(fmt_parse_time("1970-01-01T00:00:00Z", &t2), 0);
	assert_int_equal((long long)t2, 0);
	assert_int_equal(fmt_parse_time("2026-11-26", &t2), -EINVAL);
	assert_int_equal(fmt_parse_time("2026-11-26T16:41:49", &t2), -EINVAL);
	assert_int_equal(fmt_parse_time("2026-13-26T16:41:49Z", &t2), -EINVAL);
	assert_int_equal(fmt_parse_time("2026-11-26T16:41:49Zjunk", &t2), -EINVAL);
	assert_int_equal(fmt_parse_time(NULL, &t2), -EINVAL);
}

static void test_template_uses(void **state)
{
	(void)state;
	struct fmt_template *t = NULL;
	hull_error *err = NULL;
	assert_int_equal(fmt_parse("table {{.ID}}\\t{{json .Names}} {{.Config.Cmd}}", NULL, &t, &err), 0);
	assert_true(fmt_template_is_table(t));
	assert_true(fmt_template_uses(t, "ID"));
	assert_true(fmt_template_uses(t, "Names"));
	assert_true(fmt_template_uses(t, "Config"));
	assert_false(fmt_template_uses(t, "Cmd"));
	assert_false(fmt_template_uses(t, "Size"));
	fmt_template_free(t);
	/* the whole row uses every field */
	assert_int_equal(fmt_parse("{{json .}}", NULL, &t, &err), 0);
	assert_false(fmt_template_is_table(t));
	assert_true(fmt_template_uses(t, "Size"));
	fmt_template_free(t);
}

static void test_value_string(void **state)
{
	(void)state;
	json_t *v = json_loads("{\"b\":[1,true,null],\"a\":{\"x\":\"y\"}}", 0, NULL);
	char *s = fmt_value_string(v);
	assert_string_equal(s, "map[a:map[x:y] b:[1 true ]]");
	free(s);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_fields),
		cmocka_unit_test(test_table_header_and_alignment),
		cmocka_unit_test(test_table_spaces_are_columns),
		cmocka_unit_test(test_derived_headers),
		cmocka_unit_test(test_go_value_printing),
		cmocka_unit_test(test_json_actions),
		cmocka_unit_test(test_nested_paths),
		cmocka_unit_test(test_unknown_field_is_an_error),
		cmocka_unit_test(test_malformed_templates),
		cmocka_unit_test(test_trim_markers),
		cmocka_unit_test(test_tabwriter_blocks),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_template_uses),
		cmocka_unit_test(test_value_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
