/* rootfs.h - the container's filesystem view: mounts, /dev, pivot_root,
 * masked and read-only paths.
 *
 * Runs in the container's init process, inside its new mount namespace
 * (and user namespace if any), before the user process is exec'd:
 *
 *   rootfs_prepare()   make the mount tree private (or rootfsPropagation),
 *                      bind the rootfs onto itself, do every config mount,
 *                      create the default /dev and the listed devices
 *   -- createContainer hooks run here --
 *   rootfs_pivot()     pivot_root into it (or MS_MOVE + chroot with no_pivot)
 *   rootfs_finish()    masked paths, readonly paths, read-only root,
 *                      rootfsPropagation of "/" applied last
 *
 * Every mount destination is resolved inside the rootfs with
 * fs_open_in_root() and mounted through its /proc/self/fd path (or
 * move_mount with fds), so a symlink in the rootfs - even one swapped in
 * while we work - cannot redirect a mount outside it (CVE-2021-30465).
 */
#ifndef HULL_RUNTIME_ROOTFS_H
#define HULL_RUNTIME_ROOTFS_H

#include <stdbool.h>

#include "runtime/cgroup.h"
#include "runtime/config.h"
#include "util/error.h"

struct rootfs_ctx {
	const struct oci_config *cfg;
	const char *bundle;      /* absolute bundle dir (relative sources are under it) */
	const char *rootfs;      /* absolute host path of the rootfs */
	const struct hull_cgroup *cgroup; /* may be NULL */
	bool userns;             /* running in a new user namespace */
	bool new_netns;          /* has its own network namespace (sysfs may be mounted fresh) */
	bool no_pivot;
	int rootfs_fd;           /* set by rootfs_prepare: O_PATH fd of the rootfs mount */
};

int rootfs_prepare(struct rootfs_ctx *ctx, hull_error **err);
int rootfs_pivot(struct rootfs_ctx *ctx, hull_error **err);
int rootfs_finish(struct rootfs_ctx *ctx, hull_error **err);

/* Parse mount options ("ro","nosuid","rbind","rshared","mode=755",...) into
 * mount(2) flags, propagation flags, and the data string for the rest.
 * Exposed for unit tests.  ret->data is malloc'd (may be ""; free it).
 * "bind" sets bind and MS_BIND; "rbind" sets bind, rbind and MS_BIND|MS_REC. */
struct mount_opts {
	unsigned long flags;       /* MS_RDONLY, MS_NOSUID, ... */
	unsigned long clear_flags; /* flags explicitly turned off ("rw", "suid") */
	unsigned long propagation; /* MS_SHARED|MS_REC ... or 0 */
	bool bind, rbind;
	bool recursive_ro;         /* "rro" */
	bool tmpcopyup;            /* "tmpcopyup": fill a new tmpfs with what it covers */
	char *data;
};
int rootfs_parse_mount_options(char *const *options, struct mount_opts *ret, hull_error **err);

#endif
