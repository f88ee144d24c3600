/* error.h - hull's one error convention.
 *
 * A function that can fail returns a negative int and fills a hull_error
 * passed last (`hull_error **err`).  Callers add context as the error rises
 * with hull_error_wrap(), so the user sees one line naming every step:
 *   "create container 'x': mount '/proc' on '/proc': permission denied".
 * Leaf helpers may return -errno without an error object.
 */
#ifndef HULL_UTIL_ERROR_H
#define HULL_UTIL_ERROR_H

#include <stdarg.h>

typedef struct hull_error {
	int status; /* errno value that caused it, or 0 */
	char *msg;  /* full message, owned */
} hull_error;

/* Fill *err (if err != NULL and *err == NULL) with a message made from fmt;
 * when errnum != 0 ": strerror(errnum)" is appended.  Returns -1 always, so
 * it can be used as `return hull_error_set(err, errno, "open '%s'", p);`. */
int hull_error_set(hull_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int hull_error_setv(hull_error **err, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prefix the existing error with context: "<context>: <old message>".
 * If no error is set yet, behaves like hull_error_set(err, 0, ...).
 * Returns -1 always. */
int hull_error_wrap(hull_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free an error; NULL is fine. */
void hull_error_free(hull_error *e);

/* Free *err and set it to NULL (use to ignore an error). */
void hull_error_clear(hull_error **err);

#endif
