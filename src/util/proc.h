/* proc.h - process helpers: start times, waiting, fd passing, strv. */
#ifndef HULL_UTIL_PROC_H
#define HULL_UTIL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Start time of pid in clock ticks since boot (field 22 of /proc/PID/stat),
 * and its state letter ('R', 'S', 'Z'...).  0 or -errno. */
int proc_stat(pid_t pid, uint64_t *ret_start, char *ret_state);

/* Whether pid is alive, not a zombie, and started at `start` (0: any). */
bool proc_alive(pid_t pid, uint64_t start);

/* waitpid that retries on EINTR; returns the status as a shell would
 * (exit code, or 128+signal).  -errno on failure. */
int proc_wait_exit_code(pid_t pid);

/* Send / receive one fd over a unix socket (SCM_RIGHTS).  name (may be
 * NULL) is sent as the message data, as runc sends a pty's path. */
int proc_send_fd(int sock, int fd, const char *name);
int proc_recv_fd(int sock);

/* Connect a SOCK_STREAM unix socket to path (close-on-exec).  The fd, or
 * -errno (-ENAMETOOLONG for a path that does not fit sun_path). */
int proc_unix_connect(const char *path);

/* Count and duplicate NULL-terminated string arrays. */
size_t strv_length(char *const *v);
char **strv_copy(char *const *v);

/* Look up an environment entry "NAME=..." in env; returns the value or NULL. */
const char *strv_env_get(char *const *env, const char *name);

/* Parse a decimal integer in [min,max].  0 or -EINVAL/-ERANGE. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

#endif
