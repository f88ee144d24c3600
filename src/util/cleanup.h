/* cleanup.h - scope-bound cleanup helpers (gcc/clang cleanup attribute).
 *
 * Declare `_cleanup_free_ char *p = NULL;` and p is freed when it goes out
 * of scope.  Hand ownership out with TAKE_PTR(p) / TAKE_FD(fd).  All the
 * destructors accept NULL / -1.  Do not mix with goto-cleanup in one function.
 */
#ifndef HULL_UTIL_CLEANUP_H
#define HULL_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* Free a NULL-terminated array of strings and the array. */
static inline void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void cleanup_strvp(char ***v)
{
	strv_free(*v);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))

#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _tp_tmp = (p); \
		(p) = NULL;                  \
		_tp_tmp;                     \
	})

#define TAKE_FD(fd)                \
	({                         \
		int _tf_tmp = (fd); \
		(fd) = -1;         \
		_tf_tmp;           \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
