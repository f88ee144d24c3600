#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/proc.h"

void strv_acc_free(struct strv_acc *a)
{
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

void opt_usage(const char *prog, const char *usage, const struct opt *opts)
{
	printf("Usage: %s %s\n", prog, usage);
	if (!opts || !opts[0].name)
		return;
	printf("\nOptions:\n");
	for (const struct opt *o = opts; o->name; o++) {
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-32s %s\n", left, o->help);
	}
	printf("  %-32s %s\n", "-h, --help", "show this help");
}

static int set_value(const char *prog, const struct opt *o, const char *val)
{
	switch (o->kind) {
	case OPT_FLAG:
		if (!val || strcmp(val, "true") == 0)
			*(bool *)o->target = true;
		else if (strcmp(val, "false") == 0)
			*(bool *)o->target = false;
		else {
			fprintf(stderr, "%s: --%s takes true or false, not '%s'\n", prog, o->name, val);
			return -1;
		}
		return 0;
	case OPT_STRING:
		*(const char **)o->target = val;
		return 0;
	case OPT_INT: {
		int64_t v;
		if (parse_int64(val, -2147483647, 2147483647, &v) < 0) {
			fprintf(stderr, "%s: --%s takes a number, not '%s'\n", prog, o->name, val);
			return -1;
		}
		*(int *)o->target = (int)v;
		return 0;
	}
	case OPT_STRV: {
		struct strv_acc *a = o->target;
		char **nv = realloc(a->v, sizeof(char *) * (size_t)(a->n + 2));
		if (!nv)
			return -1;
		a->v = nv;
		a->v[a->n++] = (char *)val;
		a->v[a->n] = NULL;
		return 0;
	}
	}
	return -1;
}

int opt_parse(const char *prog, const char *usage, const struct opt *opts, int argc, char **argv, int *pos)
{
	int i = *pos;
	while (i < argc) {
		char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0) {
			opt_usage(prog, usage, opts);
			return 1;
		}
		const char *name = a + 1;
		bool dashdash = a[1] == '-';
		if (dashdash)
			name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt *found = NULL;
		/* a long name, with one dash or two */
		if (opts)
			for (const struct opt *o = opts; o->name; o++)
				if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0) {
					found = o;
					break;
				}
		if (found) {
			const char *val = eq ? eq + 1 : NULL;
			if (found->kind != OPT_FLAG && !val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "%s: --%s needs a value\n", prog, found->name);
					return -1;
				}
				val = argv[++i];
			}
			if (set_value(prog, found, val) < 0)
				return -1;
			i++;
			continue;
		}
		if (dashdash) {
			fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
			return -1;
		}
		/* short flags, possibly bundled: -dt, -b DIR, -bDIR */
		for (const char *p = a + 1; *p; p++) {
			const struct opt *s = NULL;
			if (opts)
				for (const struct opt *o = opts; o->name; o++)
					if (o->short_name == *p) {
						s = o;
						break;
					}
			if (!s) {
				fprintf(stderr, "%s: unknown option '-%c'\n", prog, *p);
				return -1;
			}
			if (s->kind == OPT_FLAG) {
				*(bool *)s->target = true;
				continue;
			}
			const char *val = p[1] ? p + 1 : NULL;
			if (!val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "%s: -%c needs a value\n", prog, *p);
					return -1;
				}
				val = argv[++i];
			}
			if (set_value(prog, s, val) < 0)
				return -1;
			break;
		}
		i++;
	}
	*pos = i;
	return 0;
}
