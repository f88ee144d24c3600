/* format.h - `--format` for the engine's commands: the subset of Go's
 * text/template that Podman users write, and columns aligned as Go's
 * tabwriter aligns them (minimum width 12, padding 2, as Podman prints).
 *
 * A template is literal text and actions:
 *   {{.Field}}  {{.A.B}}     a field of the row (nested objects by path)
 *   {{json .Field}}          the field as compact JSON
 *   {{json .}} / {{.}}       the whole row
 *   {{- ... -}}              trim the whitespace before / after
 * "\t" (backslash t, or a real tab) separates columns.  A "table" prefix
 * prints a header row first (field names: "CreatedAt" -> "CREATED AT",
 * unless the command names them) and, as in Podman, a space in the literal
 * text of a table template separates columns too.  A row is a JSON object;
 * values print as Go prints them ("[a b]", "map[k:v]", "true").  Unknown
 * fields are an error before anything is printed.
 * The format "json" (and "{{json .}}", as Podman treats it) means: print the
 * whole result as an indented JSON array; commands check fmt_is_json().
 */
#ifndef HULL_CLI_FORMAT_H
#define HULL_CLI_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "util/error.h"

/* A field a command offers; the list ends with { NULL }. */
struct fmt_field {
	const char *name;   /* "ID" */
	const char *header; /* "IMAGE ID"; NULL: derived from the name */
};

struct fmt_template;

/* Whether format asks for the JSON array ("json", "{{json .}}", any spacing). */
bool fmt_is_json(const char *format);

/* Parse a --format value.  fields lists the known top-level fields (NULL:
 * any member of the row is accepted, checked when rendering).  Errors name
 * the format: "format '{{.Nope}}': unknown field 'Nope' (fields: ...)". */
int fmt_parse(const char *format, const struct fmt_field *fields, struct fmt_template **ret, hull_error **err);
void fmt_template_free(struct fmt_template *t);
/* Whether the template began with "table" (a header row is wanted). */
bool fmt_template_is_table(const struct fmt_template *t);
/* Whether the template refers to the top-level field name (or to the
 * whole row), so a command can skip computing what is not printed. */
bool fmt_template_uses(const struct fmt_template *t, const char *name);

/* Output being built: lines of '\t'-separated cells, aligned on flush. */
struct fmt_table;
struct fmt_table *fmt_table_new(void);
void fmt_table_free(struct fmt_table *t);
/* Append text (cells end at '\t', lines at '\n').  0 or -ENOMEM. */
int fmt_table_add(struct fmt_table *t, const char *text);
/* Write everything aligned to out and empty the table.  0 or -errno. */
int fmt_table_flush(struct fmt_table *t, FILE *out);

/* Render the header row of a template into tab. */
int fmt_render_header(const struct fmt_template *t, struct fmt_table *tab, hull_error **err);
/* Render one row (a JSON object) into tab. */
int fmt_render_row(const struct fmt_template *t, json_t *row, struct fmt_table *tab, hull_error **err);

/* The usual whole job: parse format, render the header (table templates,
 * unless noheading) and every row of the array rows, print to out.  Nothing
 * is printed when an error is returned. */
int fmt_print_rows(FILE *out, const char *format, const struct fmt_field *fields, json_t *rows, bool noheading,
		   hull_error **err);

/* Print a JSON value indented by 4 spaces, as Podman does, with a newline. */
int fmt_print_json(FILE *out, json_t *v);

/* A value as Go's fmt prints it with %v (strings raw, arrays "[a b]",
 * objects "map[k:v]" with sorted keys, null "").  malloc'd, NULL on ENOMEM. */
char *fmt_value_string(json_t *v);

/* Sizes as Podman prints them: "2.13 MB" (images, history: 3 significant
 * digits, decimal units, a space), and "2.131MB" (system df: 4 digits). */
void fmt_size(uint64_t bytes, char buf[static 32]);
void fmt_size_compact(uint64_t bytes, char buf[static 32]);

/* A duration as "Less than a second", "1 second", "3 minutes", "About an
 * hour", "5 days", "2 weeks", "3 months", "2 years" (Podman's wording). */
void fmt_duration(int64_t seconds, char buf[static 32]);
/* fmt_duration(now - t) + " ago". */
void fmt_since(time_t t, time_t now, char buf[static 48]);

/* Parse an RFC 3339 time ("2026-11-26T16:41:49.56Z", "...+02:00").
 * 0, or -EINVAL. */
int fmt_parse_time(const char *s, time_t *ret);
/* Go's time.String() in UTC: "2026-11-26 16:41:49 +0000 UTC". */
void fmt_time_go(time_t t, char buf[static 48]);
/* "2026-11-26T16:41:49Z". */
void fmt_time_rfc3339(time_t t, char buf[static 32]);

#endif
