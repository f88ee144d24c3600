/* log.h - diagnostics for hull and hull-runtime.
 *
 * Messages go to stderr, and also to a log file when one is set (the
 * runtime's --log).  With the json format each line is
 * {"level":"error","msg":"...","time":"RFC3339"} as runc writes it, which
 * containerd and CRI-O read back to show the user why a container failed.
 */
#ifndef HULL_UTIL_LOG_H
#define HULL_UTIL_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Open `path` for appending as the log file (NULL: none).  0 or -errno. */
int log_open(const char *path, enum log_format format);
void log_set_debug(bool on);
bool log_debug_enabled(void);
/* Prefix for stderr lines, e.g. "hull-runtime". */
void log_set_program(const char *name);
/* When true, errors are written only to the log file if one is open
 * (what runc does under containerd); default false: stderr as well. */
void log_set_quiet_stderr(bool on);
/* The fd of the log file or -1; kept open (not CLOEXEC-closed) by callers
 * that must report from a forked child. */
int log_fd(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                  \
	do {                                            \
		if (log_debug_enabled())                \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
