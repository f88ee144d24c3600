#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hull_error_setv(hull_error **err, int errnum, const char *fmt, va_list ap)
{
	if (!err || *err)
		return -1;
	hull_error *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	char *base = NULL;
	if (vasprintf(&base, fmt, ap) < 0)
		base = NULL;
	e->status = errnum;
	if (errnum && base) {
		char buf[256];
		const char *s = strerror_r(errnum, buf, sizeof(buf));
		char *full = NULL;
		if (asprintf(&full, "%s: %s", base, s) >= 0) {
			free(base);
			base = full;
		}
		/* keep messages lowercase as git does: "No such file" -> "no such file" */
		if (full) {
			char *p = full + strlen(full) - strlen(s);
			if (*p >= 'A' && *p <= 'Z' && !(p[1] >= 'A' && p[1] <= 'Z'))
				*p = (char)(*p - 'A' + 'a');
		}
	}
	e->msg = base ? base : strdup("unknown error");
	*err = e;
	return -1;
}

int hull_error_set(hull_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hull_error_setv(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int hull_error_wrap(hull_error **err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	if (!*err) {
		va_start(ap, fmt);
		hull_error_setv(err, 0, fmt, ap);
		va_end(ap);
		return -1;
	}
	char *ctx = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	char *full = NULL;
	if (asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return -1;
}

void hull_error_free(hull_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}

void hull_error_clear(hull_error **err)
{
	if (err) {
		hull_error_free(*err);
		*err = NULL;
	}
}
