/* format.c - Go-template subset, tab alignment, human sizes and times for
 * the engine's output (see format.h). */
#include "cli/format.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

#define TAB_MINWIDTH 12
#define TAB_PADDING 2

/* ---- a growable string ---- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static int sbuf_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

static int sbuf_add(struct sbuf *b, const char *s)
{
	return sbuf_addn(b, s, strlen(s));
}

/* ---- the template ---- */

enum seg_kind { SEG_TEXT, SEG_FIELD, SEG_JSON };

struct seg {
	enum seg_kind kind;
	char *text;   /* SEG_TEXT */
	char **path;  /* SEG_FIELD/SEG_JSON: components, NULL-terminated; empty = "." */
};

struct fmt_template {
	bool table;
	struct seg *segs;
	size_t n;
	const struct fmt_field *fields;
	char *source; /* the format as given, for messages */
};

void fmt_template_free(struct fmt_template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->segs[i].text);
		strv_free(t->segs[i].path);
	}
	free(t->segs);
	free(t->source);
	free(t);
}

bool fmt_template_is_table(const struct fmt_template *t)
{
	return t->table;
}

bool fmt_template_uses(const struct fmt_template *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *s = &t->segs[i];
		if (s->kind != SEG_TEXT && (!s->path[0] || strcmp(s->path[0], name) == 0))
			return true;
	}
	return false;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

bool fmt_is_json(const char *format)
{
	if (!format)
		return false;
	const char *s = skip_ws(format);
	if (strncmp(s, "json", 4) == 0 && *skip_ws(s + 4) == '\0')
		return true;
	if (strncmp(s, "{{", 2) != 0)
		return false;
	s = skip_ws(s + 2);
	if (strncmp(s, "json", 4) != 0 || !isspace((unsigned char)s[4]))
		return false;
	s = skip_ws(s + 4);
	if (*s != '.')
		return false;
	s = skip_ws(s + 1);
	return strncmp(s, "}}", 2) == 0 && *skip_ws(s + 2) == '\0';
}

static struct seg *seg_new(struct fmt_template *t)
{
	struct seg *ns = realloc(t->segs, sizeof(*ns) * (t->n + 1));
	if (!ns)
		return NULL;
	t->segs = ns;
	struct seg *s = &t->segs[t->n++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* Literal text: "\t" escapes become tabs; in a table, spaces too. */
static int add_text(struct fmt_template *t, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	char *txt = malloc(n + 1);
	if (!txt)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n && p[i + 1] == 't') {
			txt[o++] = '\t';
			i++;
		} else if (p[i] == ' ' && t->table) {
			txt[o++] = '\t';
		} else {
			txt[o++] = p[i];
		}
	}
	txt[o] = '\0';
	struct seg *s = seg_new(t);
	if (!s) {
		free(txt);
		return -ENOMEM;
	}
	s->kind = SEG_TEXT;
	s->text = txt;
	return 0;
}

static bool field_known(const struct fmt_field *fields, const char *name)
{
	for (const struct fmt_field *f = fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return true;
	return false;
}

static char *field_list(const struct fmt_field *fields)
{
	struct sbuf b = { 0 };
	for (const struct fmt_field *f = fields; f->name; f++)
		if (sbuf_add(&b, f == fields ? "" : ", ") < 0 || sbuf_add(&b, f->name) < 0)
			break;
	return b.s ? b.s : strdup("");
}

/* ".A.B" -> {"A","B"}; "." -> {}.  NULL when malformed. */
static char **parse_path(const char *p, size_t n)
{
	if (n == 0 || p[0] != '.')
		return NULL;
	size_t comps = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '.')
			comps++;
	char **v = calloc(comps + 1, sizeof(char *));
	if (!v)
		return NULL;
	if (n == 1)
		return v;
	size_t k = 0, i = 0;
	while (i < n) {
		size_t start = ++i; /* past the dot */
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '_'))
			i++;
		if (i == start || (i < n && p[i] != '.')) {
			strv_free(v);
			return NULL;
		}
		v[k] = strndup(p + start, i - start);
		if (!v[k++]) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

/* One action's body (between the braces and trim markers). */
static int add_action(struct fmt_template *t, const char *body, size_t n, hull_error **err)
{
	while (n && isspace((unsigned char)body[0])) {
		body++;
		n--;
	}
	while (n && isspace((unsigned char)body[n - 1]))
		n--;
	enum seg_kind kind = SEG_FIELD;
	if (n > 4 && strncmp(body, "json", 4) == 0 && isspace((unsigned char)body[4])) {
		kind = SEG_JSON;
		body += 4;
		n -= 4;
		while (n && isspace((unsigned char)body[0])) {
			body++;
			n--;
		}
	}
	char **path = parse_path(body, n);
	if (!path)
		return hull_error_set(err, 0,
				      "format '%s': unsupported template action '{{%.*s}}' (supported: {{.Field}}, "
				      "{{json .Field}}, {{json .}})",
				      t->source, (int)n, body);
	if (t->fields && path[0] && !field_known(t->fields, path[0])) {
		_cleanup_free_ char *list = field_list(t->fields);
		hull_error_set(err, 0, "format '%s': unknown field '%s' (fields: %s)", t->source, path[0],
			       list ? list : "");
		strv_free(path);
		return -1;
	}
	struct seg *s = seg_new(t);
	if (!s) {
		strv_free(path);
		return hull_error_set(err, ENOMEM, "format '%s'", t->source);
	}
	s->kind = kind;
	s->path = path;
	return 0;
}

static void trim_last_text_right(struct fmt_template *t)
{
	if (t->n == 0 || t->segs[t->n - 1].kind != SEG_TEXT)
		return;
	char *s = t->segs[t->n - 1].text;
	size_t l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		s[--l] = '\0';
}

static int parse_body(struct fmt_template *t, const char *p, hull_error **err)
{
	bool trim_next = false;
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *text_end = open ? open : p + strlen(p);
		if (trim_next) {
			while (p < text_end && isspace((unsigned char)*p))
				p++;
			trim_next = false;
		}
		if (add_text(t, p, (size_t)(text_end - p)) < 0)
			return hull_error_set(err, ENOMEM, "format '%s'", t->source);
		if (!open)
			break;
		const char *body = open + 2;
		const char *close = strstr(body, "}}");
		if (!close)
			return hull_error_set(err, 0, "format '%s': unclosed action '{{'", t->source);
		const char *body_end = close;
		if (body[0] == '-' && (body[1] == ' ' || body[1] == '\t' || body[1] == '\n')) {
			trim_last_text_right(t);
			body++;
		}
		if (body_end - body >= 2 && body_end[-1] == '-' && isspace((unsigned char)body_end[-2])) {
			body_end--;
			trim_next = true;
		}
		if (add_action(t, body, (size_t)(body_end - body), err) < 0)
			return -1;
		p = close + 2;
	}
	return 0;
}

int fmt_parse(const char *format, const struct fmt_field *fields, struct fmt_template **ret, hull_error **err)
{
	struct fmt_template *t = calloc(1, sizeof(*t));
	if (!t || !(t->source = strdup(format))) {
		free(t);
		return hull_error_set(err, ENOMEM, "format '%s'", format);
	}
	t->fields = fields;
	const char *p = format;
	if (strncmp(p, "table", 5) == 0) {
		t->table = true;
		p += 5;
		if (*p == ' ')
			p++;
	}
	if (parse_body(t, p, err) < 0) {
		fmt_template_free(t);
		return -1;
	}
	size_t l = strlen(format);
	if (l == 0 || format[l - 1] != '\n') {
		bool was_table = t->table;
		t->table = false; /* the newline is not a column */
		int r = add_text(t, "\n", 1);
		t->table = was_table;
		if (r < 0) {
			fmt_template_free(t);
			return hull_error_set(err, ENOMEM, "format '%s'", format);
		}
	}
	*ret = t;
	return 0;
}

/* ---- values as Go prints them ---- */

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int value_append(struct sbuf *b, json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return sbuf_addn(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return sbuf_add(b, num);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		return sbuf_add(b, num);
	case JSON_TRUE:
		return sbuf_add(b, "true");
	case JSON_FALSE:
		return sbuf_add(b, "false");
	case JSON_NULL:
		return 0;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		if (sbuf_add(b, "[") < 0)
			return -ENOMEM;
		json_array_foreach(v, i, e)
		{
			if ((i && sbuf_add(b, " ") < 0) || value_append(b, e) < 0)
				return -ENOMEM;
		}
		return sbuf_add(b, "]");
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(char *));
		if (!keys)
			return -ENOMEM;
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) keys[i++] = k;
		qsort(keys, n, sizeof(char *), compare_keys);
		int r = sbuf_add(b, "map[");
		for (i = 0; i < n && r == 0; i++) {
			if (i)
				r = sbuf_add(b, " ");
			if (r == 0)
				r = sbuf_add(b, keys[i]);
			if (r == 0)
				r = sbuf_add(b, ":");
			if (r == 0)
				r = value_append(b, json_object_get(v, keys[i]));
		}
		free(keys);
		return r < 0 ? r : sbuf_add(b, "]");
	}
	}
	return 0;
}

char *fmt_value_string(json_t *v)
{
	struct sbuf b = { 0 };
	if (sbuf_add(&b, "") < 0 || value_append(&b, v) < 0) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- rendering ---- */

static void derive_header(const char *name, struct sbuf *b)
{
	for (size_t i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];
		if (i > 0 && isupper(c)) {
			unsigned char prev = (unsigned char)name[i - 1], next = (unsigned char)name[i + 1];
			if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
				sbuf_add(b, " ");
		}
		char u = (char)toupper(c);
		sbuf_addn(b, &u, 1);
	}
}

static void header_of(const struct fmt_template *t, const struct seg *s, struct sbuf *b)
{
	size_t n = 0;
	while (s->path[n])
		n++;
	if (n == 0)
		return;
	const char *name = s->path[n - 1];
	if (n == 1 && t->fields)
		for (const struct fmt_field *f = t->fields; f->name; f++)
			if (strcmp(f->name, name) == 0 && f->header) {
				sbuf_add(b, f->header);
				return;
			}
	derive_header(name, b);
}

int fmt_render_header(const struct fmt_template *t, struct fmt_table *tab, hull_error **err)
{
	struct sbuf b = { 0 };
	sbuf_add(&b, "");
	for (size_t i = 0; i < t->n; i++) {
		if (t->segs[i].kind == SEG_TEXT)
			sbuf_add(&b, t->segs[i].text);
		else
			header_of(t, &t->segs[i], &b);
	}
	int r = b.s ? fmt_table_add(tab, b.s) : -ENOMEM;
	free(b.s);
	if (r < 0)
		return hull_error_set(err, -r, "format '%s'", t->source);
	return 0;
}

/* The value at a path in row: NULL with *missing_top when the first
 * component is absent (an unknown field), NULL otherwise when a nested
 * member is absent (printed as empty, as Go prints a zero struct field). */
static json_t *lookup(json_t *row, char **path, bool *missing_top, const char **bad)
{
	json_t *cur = row;
	*missing_top = false;
	for (size_t i = 0; path[i]; i++) {
		if (!json_is_object(cur)) {
			*bad = path[i];
			return NULL;
		}
		json_t *next = json_object_get(cur, path[i]);
		if (!next) {
			if (i == 0) {
				*missing_top = true;
				*bad = path[i];
			}
			return NULL;
		}
		cur = next;
	}
	return cur;
}

static int render_seg(const struct fmt_template *t, const struct seg *s, json_t *row, struct sbuf *b,
		      hull_error **err)
{
	if (s->kind == SEG_TEXT)
		return sbuf_add(b, s->text) < 0 ? hull_error_set(err, ENOMEM, "format '%s'", t->source) : 0;
	bool missing_top;
	const char *bad = NULL;
	json_t *v = lookup(row, s->path, &missing_top, &bad);
	if (!v && missing_top && !t->fields)
		return hull_error_set(err, 0, "format '%s': unknown field '%s'", t->source, bad);
	if (!v && bad && !missing_top)
		return hull_error_set(err, 0, "format '%s': field '%s' is not inside an object", t->source, bad);
	if (!v)
		return 0;
	if (s->kind == SEG_JSON) {
		_cleanup_free_ char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!j || sbuf_add(b, j) < 0)
			return hull_error_set(err, ENOMEM, "format '%s'", t->source);
		return 0;
	}
	if (value_append(b, v) < 0)
		return hull_error_set(err, ENOMEM, "format '%s'", t->source);
	return 0;
}

int fmt_render_row(const struct fmt_template *t, json_t *row, struct fmt_table *tab, hull_error **err)
{
	struct sbuf b = { 0 };
	if (sbuf_add(&b, "") < 0)
		return hull_error_set(err, ENOMEM, "format '%s'", t->source);
	for (size_t i = 0; i < t->n; i++)
		if (render_seg(t, &t->segs[i], row, &b, err) < 0) {
			free(b.s);
			return -1;
		}
	int r = fmt_table_add(tab, b.s);
	free(b.s);
	if (r < 0)
		return hull_error_set(err, -r, "format '%s'", t->source);
	return 0;
}

/* ---- the tab writer ---- */

struct fmt_table {
	struct sbuf buf;
};

struct fmt_table *fmt_table_new(void)
{
	return calloc(1, sizeof(struct fmt_table));
}

void fmt_table_free(struct fmt_table *t)
{
	if (!t)
		return;
	free(t->buf.s);
	free(t);
}

int fmt_table_add(struct fmt_table *t, const char *text)
{
	return sbuf_add(&t->buf, text);
}

struct tline {
	const char **cells; /* pointers into the buffer (NUL-terminated in place) */
	size_t n;           /* cells; the last one is not tab-terminated */
	size_t *widths;     /* n - 1 column widths */
	bool newline;
};

static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static int split_line(char *line, bool newline, struct tline *ret)
{
	size_t n = 1;
	for (char *p = line; *p; p++)
		if (*p == '\t')
			n++;
	ret->cells = calloc(n, sizeof(char *));
	ret->widths = calloc(n, sizeof(size_t));
	if (!ret->cells || !ret->widths)
		return -ENOMEM;
	ret->n = n;
	ret->newline = newline;
	size_t i = 0;
	ret->cells[i++] = line;
	for (char *p = line; *p; p++)
		if (*p == '\t') {
			*p = '\0';
			ret->cells[i++] = p + 1;
		}
	return 0;
}

/* Go's tabwriter: a column's width is set per block of consecutive lines
 * that have a tab-terminated cell in that column. */
static void compute_widths(struct tline *lines, size_t nl)
{
	size_t maxcol = 0;
	for (size_t i = 0; i < nl; i++)
		if (lines[i].n - 1 > maxcol)
			maxcol = lines[i].n - 1;
	for (size_t col = 0; col < maxcol; col++) {
		size_t i = 0;
		while (i < nl) {
			if (lines[i].n - 1 <= col) {
				i++;
				continue;
			}
			size_t start = i, width = TAB_MINWIDTH;
			for (; i < nl && lines[i].n - 1 > col; i++) {
				size_t w = text_width(lines[i].cells[col]) + TAB_PADDING;
				if (w > width)
					width = w;
			}
			for (size_t k = start; k < i; k++)
				lines[k].widths[col] = width;
		}
	}
}

static int write_lines(FILE *out, const struct tline *lines, size_t nl)
{
	for (size_t i = 0; i < nl; i++) {
		for (size_t c = 0; c + 1 < lines[i].n; c++) {
			size_t w = text_width(lines[i].cells[c]);
			fputs(lines[i].cells[c], out);
			for (; w < lines[i].widths[c]; w++)
				fputc(' ', out);
		}
		fputs(lines[i].cells[lines[i].n - 1], out);
		if (lines[i].newline)
			fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}

int fmt_table_flush(struct fmt_table *t, FILE *out)
{
	if (!t->buf.len)
		return 0;
	size_t nl = 0;
	for (size_t i = 0; i < t->buf.len; i++)
		if (t->buf.s[i] == '\n')
			nl++;
	nl++;
	struct tline *lines = calloc(nl, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	size_t k = 0;
	int r = 0;
	char *p = t->buf.s, *end = t->buf.s + t->buf.len;
	while (p < end && r == 0) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		if (e)
			*e = '\0';
		r = split_line(p, e != NULL, &lines[k++]);
		p = e ? e + 1 : end;
	}
	if (r == 0) {
		compute_widths(lines, k);
		r = write_lines(out, lines, k);
	}
	for (size_t i = 0; i < k; i++) {
		free(lines[i].cells);
		free(lines[i].widths);
	}
	free(lines);
	t->buf.len = 0;
	if (t->buf.s)
		t->buf.s[0] = '\0';
	return r;
}

int fmt_print_rows(FILE *out, const char *format, const struct fmt_field *fields, json_t *rows, bool noheading,
		   hull_error **err)
{
	struct fmt_template *t = NULL;
	if (fmt_parse(format, fields, &t, err) < 0)
		return -1;
	struct fmt_table *tab = fmt_table_new();
	int r = tab ? 0 : hull_error_set(err, ENOMEM, "format '%s'", format);
	if (r == 0 && t->table && !noheading)
		r = fmt_render_header(t, tab, err);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (r < 0)
			break;
		r = fmt_render_row(t, row, tab, err);
	}
	if (r == 0) {
		int w = fmt_table_flush(tab, out);
		if (w < 0)
			r = hull_error_set(err, -w, "write output");
	}
	fmt_table_free(tab);
	fmt_template_free(t);
	return r;
}

int fmt_print_json(FILE *out, json_t *v)
{
	_cleanup_free_ char *s = json_dumps(v, JSON_INDENT(4) | JSON_ENCODE_ANY);
	if (!s)
		return -ENOMEM;
	fputs(s, out);
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

/* ---- sizes and times ---- */

static const char *const size_units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };

static void size_with_precision(uint64_t bytes, int precision, const char *sep, char buf[static 32])
{
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1000.0 && u < ARRAY_SIZE(size_units) - 1) {
		v /= 1000.0;
		u++;
	}
	snprintf(buf, 32, "%.*g%s%s", precision, v, sep, size_units[u]);
}

void fmt_size(uint64_t bytes, char buf[static 32])
{
	size_with_precision(bytes, 3, " ", buf);
}

void fmt_size_compact(uint64_t bytes, char buf[static 32])
{
	size_with_precision(bytes, 4, "", buf);
}

void fmt_duration(int64_t seconds, char buf[static 32])
{
	int64_t s = seconds < 0 ? 0 : seconds;
	int64_t minutes = s / 60;
	int64_t hours = (s + 1800) / 3600; /* rounded, as Podman rounds hours */
	if (s < 1)
		snprintf(buf, 32, "Less than a second");
	else if (s == 1)
		snprintf(buf, 32, "1 second");
	else if (s < 60)
		snprintf(buf, 32, "%lld seconds", (long long)s);
	else if (minutes == 1)
		snprintf(buf, 32, "About a minute");
	else if (minutes < 60)
		snprintf(buf, 32, "%lld minutes", (long long)minutes);
	else if (hours == 1)
		snprintf(buf, 32, "About an hour");
	else if (hours < 48)
		snprintf(buf, 32, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, 32, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, 32, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, 32, "%lld months", (long long)(hours / 24 / 30));
	else
		snprintf(buf, 32, "%lld years", (long long)(s / 3600 / 24 / 365));
}

void fmt_since(time_t t, time_t now, char buf[static 48])
{
	char d[32];
	fmt_duration((int64_t)now - (int64_t)t, d);
	snprintf(buf, 48, "%s ago", d);
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int fmt_parse_time(const char *s, time_t *ret)
{
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	if (!s || strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return -EINVAL;
	struct tm tm = { 0 };
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 5, 2) - 1;
	tm.tm_mday = num(s + 8, 2);
	tm.tm_hour = num(s + 11, 2);
	tm.tm_min = num(s + 14, 2);
	tm.tm_sec = num(s + 17, 2);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2)) {
		off = (num(p + 1, 2) * 60 + num(p + 4, 2)) * 60L;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*ret = timegm(&tm) - off;
	return 0;
}

void fmt_time_go(time_t t, char buf[static 48])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, 48, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm) == 0)
		snprintf(buf, 48, "%lld", (long long)t);
}

void fmt_time_rfc3339(time_t t, char buf[static 32])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
}
