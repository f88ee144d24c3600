#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_file = -1;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static bool debug_on;
static bool quiet_stderr;
static const char *program = "hull";

int log_open(const char *path, enum log_format format)
{
	log_fmt = format;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (log_file >= 0)
		close(log_file);
	log_file = fd;
	return 0;
}

void log_set_debug(bool on) { debug_on = on; }
bool log_debug_enabled(void) { return debug_on; }
void log_set_program(const char *name) { program = name; }
void log_set_quiet_stderr(bool on) { quiet_stderr = on; }
int log_fd(void) { return log_file; }

static const char *level_name(enum log_level l)
{
	switch (l) {
	case LOG_LEVEL_ERROR: return "error";
	case LOG_LEVEL_WARN: return "warning";
	case LOG_LEVEL_INFO: return "info";
	case LOG_LEVEL_DEBUG: return "debug";
	}
	return "info";
}

static void write_line(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg) {
		errno = saved;
		return;
	}
	if (log_file >= 0) {
		char ts[64];
		struct timespec now;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + n, sizeof(ts) - n, ".%09ldZ", now.tv_nsec);
		char *line = NULL;
		if (log_fmt == LOG_FORMAT_JSON) {
			json_t *o = json_pack("{s:s,s:s,s:s}", "level", level_name(level), "msg", msg, "time", ts);
			char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
			json_decref(o);
			if (js && asprintf(&line, "%s\n", js) < 0)
				line = NULL;
			free(js);
		} else if (asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level_name(level), msg) < 0) {
			line = NULL;
		}
		if (line)
			write_line(log_file, line, strlen(line));
		free(line);
	}
	if (level <= LOG_LEVEL_WARN || level == LOG_LEVEL_DEBUG) {
		if (!(quiet_stderr && log_file >= 0)) {
			char *line = NULL;
			if (level == LOG_LEVEL_ERROR) {
				if (asprintf(&line, "%s: %s\n", program, msg) < 0)
					line = NULL;
			} else if (asprintf(&line, "%s: %s: %s\n", program, level_name(level), msg) < 0) {
				line = NULL;
			}
			if (line)
				write_line(STDERR_FILENO, line, strlen(line));
			free(line);
		}
	}
	free(msg);
	errno = saved;
}
