/* fs.h - file helpers, including resolution of paths inside a root.
 *
 * Every path that lies inside a container root is opened relative to an fd
 * of that root with openat2(RESOLVE_IN_ROOT), so a symlink (absolute or with
 * "..") can never lead out of it.  Where the kernel lacks openat2 the same
 * rule is applied component by component in user space.
 */
#ifndef HULL_UTIL_FS_H
#define HULL_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Open `path` (absolute or relative; both are taken relative to root_fd)
 * inside the tree rooted at root_fd, never leaving it.  flags are open(2)
 * flags (O_CLOEXEC is always added).  Returns an fd or -errno. */
int fs_open_in_root(int root_fd, const char *path, int flags, mode_t mode);

/* Make every missing directory of `path` inside root_fd (mode 0755 unless
 * given) and return an O_PATH|O_DIRECTORY fd of the last one, or -errno.
 * No component is followed out of the root. */
int fs_mkdir_p_in_root(int root_fd, const char *path, mode_t mode);

/* Make sure `path` exists inside root_fd as a directory (is_dir) or as an
 * empty regular file (creating parents), and return an O_PATH fd of it, or
 * -errno.  Used for mount targets. */
int fs_ensure_in_root(int root_fd, const char *path, bool is_dir);

/* mkdir -p on a host path.  Returns 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);

/* Read a whole file (at most max_size bytes; larger is -EFBIG) into a
 * NUL-terminated malloc'd buffer.  *ret_len may be NULL.  0 or -errno. */
int fs_read_file_at(int dirfd, const char *path, size_t max_size, char **ret, size_t *ret_len);

/* Write data to path atomically: a temporary name in the same directory,
 * fsync if do_sync, then rename.  0 or -errno. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool do_sync);

/* Write a short string to an existing file (sysfs/cgroupfs/proc style):
 * open O_WRONLY, one write.  0 or -errno. */
int fs_write_string_at(int dirfd, const char *path, const char *s);

/* Remove a directory tree (does not cross mount points, does not follow
 * symlinks).  A missing path is success.  0 or -errno. */
int fs_rm_rf(const char *path);

/* Copy the file behind fd `src` into fd `dst` (copy_file_range, falling
 * back to read/write).  0 or -errno. */
int fs_copy_fd(int src, int dst);

/* Path of an fd as /proc/self/fd/N, into buf (at least 32 bytes). */
const char *fs_proc_fd_path(int fd, char buf[static 32]);

#endif
