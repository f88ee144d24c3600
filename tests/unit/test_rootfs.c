/* test_rootfs.c - mount option parsing, and whole rootfs setups on the real
 * kernel: a child process in new mount (and pid, and optionally user)
 * namespaces prepares a tiny busybox rootfs, pivots into it and checks
 * what the container would see.  Needs root; skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/rootfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define SKIP_CODE 77

/* ---------------------------------------------------------------- */
/* option parsing */

static void parse(struct mount_opts *o, char *const *opts)
{
	hull_error *err = NULL;
	int r = rootfs_parse_mount_options(opts, o, &err);
	if (r < 0)
		fail_msg("parse: %s", err ? err->msg : "?");
	assert_int_equal(r, 0);
	assert_non_null(o->data);
}

static void test_parse_flags(void **state)
{
	(void)state;
	struct mount_opts o;
	parse(&o, (char *[]){ "nosuid", "nodev", "noexec", "ro", "strictatime", "mode=755", "size=65536k", NULL });
	assert_int_equal(o.flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY | MS_STRICTATIME);
	assert_int_equal(o.clear_flags, 0);
	assert_int_equal(o.propagation, 0);
	assert_false(o.bind);
	assert_false(o.rbind);
	assert_false(o.recursive_ro);
	assert_string_equal(o.data, "mode=755,size=65536k");
	free(o.data);

	parse(&o, (char *[]){ "sync", "dirsync", "mand", "noatime", "nodiratime", "relatime", "lazytime",
			      "remount", "nosymfollow", NULL });
	assert_int_equal(o.flags, MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME |
					  MS_RELATIME | MS_LAZYTIME | MS_REMOUNT | MS_NOSYMFOLLOW);
	assert_string_equal(o.data, "");
	free(o.data);
}

static void test_parse_clear(void **state)
{
	(void)state;
	struct mount_opts o;
	/* later options win; the "no" forms set flags, the others clear */
	parse(&o, (char *[]){ "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async",
			      "mand", "nomand", "noatime", "atime", "nodiratime", "diratime", "relatime",
			      "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime", NULL });
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.clear_flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS |
						MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
						MS_STRICTATIME | MS_LAZYTIME);
	free(o.data);

	parse(&o, (char *[]){ "rw", "ro", NULL });
	assert_int_equal(o.flags, MS_RDONLY);
	assert_int_equal(o.clear_flags, 0);
	free(o.data);

	parse(&o, (char *[]){ "defaults", NULL });
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.clear_flags, 0);
	assert_string_equal(o.data, "");
	free(o.data);

	parse(&o, NULL);
	assert_int_equal(o.flags, 0);
	assert_string_equal(o.data, "");
	free(o.data);
}

static void test_parse_bind_propagation(void **state)
{
	(void)state;
	struct mount_opts o;
	parse(&o, (char *[]){ "rbind", "ro", "rprivate", NULL });
	assert_true(o.bind);
	assert_true(o.rbind);
	assert_int_equal(o.flags, MS_BIND | MS_REC | MS_RDONLY);
	assert_int_equal(o.propagation, MS_PRIVATE | MS_REC);
	free(o.data);

	parse(&o, (char *[]){ "bind", NULL });
	assert_true(o.bind);
	assert_false(o.rbind);
	assert_int_equal(o.flags, MS_BIND);
	assert_int_equal(o.propagation, 0);
	free(o.data);

	static const struct {
		const char *name;
		unsigned long flags;
	} props[] = {
		{ "private", MS_PRIVATE },	     { "rprivate", MS_PRIVATE | MS_REC },
		{ "shared", MS_SHARED },	     { "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },		     { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE },     { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		parse(&o, (char *[]){ (char *)props[i].name, NULL });
		assert_int_equal(o.propagation, props[i].flags);
		assert_int_equal(o.flags, 0);
		assert_string_equal(o.data, "");
		free(o.data);
	}
	/* the last propagation option wins */
	parse(&o, (char *[]){ "shared", "rslave", NULL });
	assert_int_equal(o.propagation, MS_SLAVE | MS_REC);
	free(o.data);
}

static void test_parse_special(void **state)
{
	(void)state;
	struct mount_opts o;
	parse(&o, (char *[]){ "rro", "tmpcopyup", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL });
	assert_true(o.recursive_ro);
	assert_true(o.tmpcopyup);
	assert_int_equal(o.flags, 0);
	assert_string_equal(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	free(o.data);

	parse(&o, (char *[]){ "", "uid=1000", NULL });
	assert_string_equal(o.data, "uid=1000");
	free(o.data);
}

/* ---------------------------------------------------------------- */
/* real kernel */

struct scenario {
	bool userns;
	bool no_pivot;
	const char *propagation;
	bool cgroup2;
	bool cgroup_v1; /* a v1 cgroup mount, when the host is v1 */
};

struct fixture {
	char base[64];   /* /tmp/hull-rootfs-test-XXXXXX */
	char rootfs[128];
	char hostdir[128]; /* bound read-only into the container */
	char escape[64]; /* /tmp/hull-escape-XXXXXX: must stay untouched */
	char escape_name[64];
	/* cgroup v1: the container's cgroup (made in every hierarchy) */
	bool v1;
	char cg_path[64];
	char cg_names[16][64];
	size_t n_cg;
};

static int reporter = -1;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(reporter, buf, (size_t)n) < 0) {
		/* nothing to do */
	}
}

#define CHECK(cond, ...)                     \
	do {                                 \
		if (!(cond)) {               \
			report(__VA_ARGS__); \
			_exit(1);            \
		}                            \
	} while (0)

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	_cleanup_close_ int s = open(from, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int d = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (s < 0 || d < 0)
		return -1;
	return fs_copy_fd(s, d);
}

static void mkdirs(const char *base, const char *const *dirs)
{
	char p[512];
	for (; *dirs; dirs++) {
		snprintf(p, sizeof(p), "%s/%s", base, *dirs);
		assert_int_equal(fs_mkdir_p(p, 0755), 0);
	}
}

static void fixture_build(struct fixture *fx)
{
	strcpy(fx->base, "/tmp/hull-rootfs-test-XXXXXX");
	assert_non_null(mkdtemp(fx->base));
	strcpy(fx->escape, "/tmp/hull-escape-XXXXXX");
	assert_non_null(mkdtemp(fx->escape));
	strcpy(fx->escape_name, fx->escape + strlen("/tmp/"));
	snprintf(fx->rootfs, sizeof(fx->rootfs), "%s/rootfs", fx->base);
	snprintf(fx->hostdir, sizeof(fx->hostdir), "%s/hostdir", fx->base);
	static const char *const dirs[] = { "rootfs/bin", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp",
					    "rootfs/etc2/sub", "hostdir", NULL };
	mkdirs(fx->base, dirs);
	char p[512], target[256];
	snprintf(p, sizeof(p), "%s/bin/busybox", fx->rootfs);
	assert_int_equal(copy_file("/bin/busybox", p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc2/sub/copied", fx->rootfs);
	assert_int_equal(write_file(p, "copied up\n"), 0);
	assert_int_equal(chmod(p, 0640), 0);
	/* an absolute symlink climbing out: followed naively from the host it
	 * would reach the host's /tmp/hull-escape-XXXXXX */
	snprintf(p, sizeof(p), "%s/escape", fx->rootfs);
	snprintf(target, sizeof(target), "/../../tmp/%s", fx->escape_name);
	assert_int_equal(symlink(target, p), 0);
}

static void fixture_destroy(struct fixture *fx)
{
	fs_rm_rf(fx->base);
	rmdir(fx->escape);
}

static bool is_fs(const char *path, long magic)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == magic;
}

static bool can_create(const char *path, int *ret_errno)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		*ret_errno = errno;
		return false;
	}
	close(fd);
	unlink(path);
	*ret_errno = 0;
	return true;
}

/* Whether the mount we see at mount point `mp` is shared. */
static bool mountinfo_shared(const char *want)
{
	_cleanup_free_ char *mi = NULL;
	if (fs_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 20, &mi, NULL) < 0)
		return false;
	/* the last line for a mount point is the mount we see there */
	bool shared = false;
	for (char *line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
		char mp[256];
		if (sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1 && strcmp(mp, want) == 0)
			shared = strstr(line, " shared:") != NULL;
	}
	return shared;
}

/* Runs as pid 1 of the new pid namespace, in the new mount namespace. */
static void container_main(const struct fixture *fx, const struct scenario *sc)
{
	char ro_src[256];
	snprintf(ro_src, sizeof(ro_src), "%s", fx->hostdir);

	struct oci_mount mounts[] = {
		{ .destination = "/proc", .type = "proc", .source = "proc",
		  .options = (char *[]){ "nosuid", "noexec", "nodev", NULL } },
		{ .destination = "/dev", .type = "tmpfs", .source = "tmpfs",
		  .options = (char *[]){ "nosuid", "strictatime", "mode=755", "size=65536k", NULL } },
		{ .destination = "/dev/pts", .type = "devpts", .source = "devpts",
		  .options = (char *[]){ "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL } },
		{ .destination = "/sys", .type = "sysfs", .source = "sysfs",
		  .options = (char *[]){ "nosuid", "noexec", "nodev", "ro", NULL } },
		{ .destination = "/data/ro", .type = "bind", .source = ro_src,
		  .options = (char *[]){ "rbind", "ro", "nosuid", NULL } },
		{ .destination = "/escape", .type = "tmpfs", .source = "tmpfs",
		  .options = (char *[]){ "size=1m", NULL } },
		{ .destination = "/etc2", .type = "tmpfs", .source = "tmpfs",
		  .options = (char *[]){ "tmpcopyup", "mode=755", NULL } },
		/* read-only tmpfs with a mount point created inside it afterwards */
		{ .destination = "/run", .type = "tmpfs", .source = "tmpfs",
		  .options = (char *[]){ "ro", "mode=755", NULL } },
		{ .destination = "/run/inner", .type = "bind", .source = "hostdir",
		  .options = (char *[]){ "rbind", "rshared", NULL } },
		{ .destination = "/data/rro", .type = "bind", .source = ro_src,
		  .options = (char *[]){ "rbind", "rro", NULL } },
		{ .destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup",
		  .options = (char *[]){ "ro", "nosuid", "noexec", "nodev", NULL } },
	};
	size_t n_mounts = ARRAY_SIZE(mounts) - (sc->cgroup2 || fx->v1 ? 0 : 1);
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V1, .path = (char *)fx->cg_path };

	struct oci_device devices[] = {
		{ .path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .has_mode = true, .file_mode = 0600 },
		{ .path = "/dev/myfifo", .type = 'p', .has_mode = true, .file_mode = 0640 },
		{ .path = "/dev/sub/null2", .type = 'c', .major = 1, .minor = 3, .has_mode = true,
		  .file_mode = 0666 },
	};
	struct oci_config cfg = { 0 };
	cfg.root.readonly = true;
	cfg.mounts = mounts;
	cfg.n_mounts = n_mounts;
	cfg.linux_.devices = devices;
	/* a user namespace cannot make /dev/sub/null2: there is no host node to bind */
	cfg.linux_.n_devices = sc->userns ? 2 : 3;
	cfg.linux_.masked_paths =
		(char *[]){ "/proc/kcore", "/proc/version", "/proc/acpi", "/proc/does-not-exist", NULL };
	cfg.linux_.readonly_paths = (char *[]){ "/proc/sys", "/proc/nope", NULL };
	cfg.linux_.rootfs_propagation = (char *)sc->propagation;

	struct rootfs_ctx ctx = {
		.cfg = &cfg,
		.bundle = fx->base,
		.rootfs = fx->rootfs,
		.userns = sc->userns,
		.no_pivot = sc->no_pivot,
		.cgroup = fx->v1 ? &cg : NULL,
		.rootfs_fd = -1,
	};
	bool host_has_kcore = access("/proc/kcore", F_OK) == 0;
	char logpath[256];
	snprintf(logpath, sizeof(logpath), "%s/debug.log", fx->base);
	CHECK(log_open(logpath, LOG_FORMAT_TEXT) == 0, "open log '%s'", logpath);
	log_set_debug(true);
	log_set_quiet_stderr(true);
	int logfd = open(logpath, O_RDONLY | O_CLOEXEC);
	CHECK(logfd >= 0, "open log '%s': %s", logpath, strerror(errno));
	umask(022);
	bool open_before[64] = { false };
	for (int i = 3; i < 64; i++)
		open_before[i] = fcntl(i, F_GETFD) >= 0;
	hull_error *err = NULL;
	CHECK(rootfs_prepare(&ctx, &err) == 0, "rootfs_prepare: %s", err ? err->msg : "?");
	CHECK(ctx.rootfs_fd >= 0, "rootfs_prepare left no rootfs fd");

	/* the escaping symlink: the tmpfs is inside the rootfs, not on the host */
	char p[512];
	snprintf(p, sizeof(p), "%s/tmp/%s", fx->rootfs, fx->escape_name);
	CHECK(is_fs(p, TMPFS_MAGIC), "tmpfs for '/escape' is not at '%s'", p);
	CHECK(!is_fs(fx->escape, TMPFS_MAGIC), "tmpfs for '/escape' landed on the host path '%s'", fx->escape);

	CHECK(rootfs_pivot(&ctx, &err) == 0, "rootfs_pivot: %s", err ? err->msg : "?");
	CHECK(rootfs_finish(&ctx, &err) == 0, "rootfs_finish: %s", err ? err->msg : "?");
	CHECK(ctx.rootfs_fd == -1, "rootfs_finish did not close the rootfs fd");

	/* the way in: pivot_root unless asked not to */
	char logbuf[8192];
	ssize_t ln = pread(logfd, logbuf, sizeof(logbuf) - 1, 0);
	CHECK(ln >= 0, "read the debug log: %s", strerror(errno));
	logbuf[ln] = '\0';
	CHECK((strstr(logbuf, "chroot") != NULL) == sc->no_pivot, "%s: debug log:\n%s",
	      sc->no_pivot ? "no_pivot did not move+chroot" : "pivot_root was not used", logbuf);

	/* the host is gone */
	CHECK(access(fx->base, F_OK) < 0, "host path '%s' still visible after pivot", fx->base);
	CHECK(access("/bin/busybox", X_OK) == 0, "/bin/busybox missing in the container");

	/* masked: /proc/kcore (when the kernel has it) and /proc/version read
	 * empty, /proc/acpi (if any) is an empty tmpfs */
	static const char *const masked[] = { "/proc/kcore", "/proc/version" };
	char b[16];
	ssize_t n;
	int fd;
	for (size_t i = 0; i < ARRAY_SIZE(masked); i++) {
		if (i == 0 && !host_has_kcore)
			continue;
		fd = open(masked[i], O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0, "open %s: %s", masked[i], strerror(errno));
		n = read(fd, b, sizeof(b));
		close(fd);
		CHECK(n == 0, "%s is not empty (read %zd)", masked[i], n);
	}
	if (access("/proc/acpi", F_OK) == 0)
		CHECK(is_fs("/proc/acpi", TMPFS_MAGIC), "/proc/acpi is not masked with a tmpfs");

	/* read-only /proc/sys */
	fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close(fd);
	CHECK(fd < 0 && e == EROFS, "/proc/sys/kernel/hostname: open for writing gave %s, want EROFS",
	      fd >= 0 ? "success" : strerror(e));

	/* /dev */
	struct stat st;
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
	      "/dev/null is not the char device 1:3");
	CHECK(stat("/dev/tty", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0),
	      "/dev/tty is not 5:0");
	CHECK(stat("/dev/myfifo", &st) == 0 && S_ISFIFO(st.st_mode), "/dev/myfifo is not a fifo");
	if (!sc->userns) {
		/* exact modes despite umask 022 */
		CHECK(stat("/dev/zero", &st) == 0 && (st.st_mode & 07777) == 0666, "/dev/zero mode %o, want 0666",
		      st.st_mode & 07777);
		CHECK(stat("/dev/urandom", &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_rdev == makedev(1, 9),
		      "/dev/urandom mode %o, want 0600", st.st_mode & 07777);
		CHECK(stat("/dev/sub/null2", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3),
		      "/dev/sub/null2 is not 1:3");
		CHECK((st.st_mode & 07777) == 0666, "/dev/sub/null2 mode %o", st.st_mode & 07777);
	} else {
		/* bound from the host */
		CHECK(stat("/dev/urandom", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 9),
		      "/dev/urandom is not 1:9");
	}
	CHECK(stat("/dev/myfifo", &st) == 0 && (st.st_mode & 07777) == 0640, "/dev/myfifo mode %o",
	      st.st_mode & 07777);
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, b, 4) == 4 && b[0] == 0, "/dev/zero does not read zeros");
	close(fd);
	char lnk[64];
	n = readlink("/dev/ptmx", lnk, sizeof(lnk) - 1);
	CHECK(n == 8 && memcmp(lnk, "pts/ptmx", 8) == 0, "/dev/ptmx is not a link to pts/ptmx");
	n = readlink("/dev/fd", lnk, sizeof(lnk) - 1);
	CHECK(n == 13 && memcmp(lnk, "/proc/self/fd", 13) == 0, "/dev/fd is not a link to /proc/self/fd");
	n = readlink("/dev/stderr", lnk, sizeof(lnk) - 1);
	CHECK(n == 15 && memcmp(lnk, "/proc/self/fd/2", 15) == 0, "/dev/stderr link is wrong");
	CHECK(is_fs("/dev/pts", DEVPTS_SUPER_MAGIC), "/dev/pts is not devpts");
	CHECK(is_fs("/sys", SYSFS_MAGIC), "/sys is not sysfs");
	CHECK(can_create("/sys/hull-test", &e) == false && e == EROFS, "/sys is not read-only (%s)", strerror(e));
	CHECK(getpid() == 1, "not pid 1");
	CHECK(access("/proc/1/status", F_OK) == 0 && access("/proc/2/status", F_OK) < 0,
	      "/proc is not the container's pid namespace");

	/* read-only bind of the host dir */
	fd = open("/data/ro/hello", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, b, 5) == 5 && memcmp(b, "hello", 5) == 0, "/data/ro/hello unreadable");
	close(fd);
	CHECK(!can_create("/data/ro/new", &e) && e == EROFS, "/data/ro is not read-only (%s)", strerror(e));
	struct statfs sf;
	CHECK(statfs("/data/ro", &sf) == 0, "statfs /data/ro: %s", strerror(errno));
	CHECK((sf.f_flags & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC)) ==
		      (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC),
	      "/data/ro flags 0x%lx: want ro,nosuid,nodev,noexec", (unsigned long)sf.f_flags);

	/* the root is read-only */
	CHECK(!can_create("/newfile", &e) && e == EROFS, "/ is not read-only (%s)", strerror(e));

	/* the escape tmpfs is visible through the link, inside */
	snprintf(p, sizeof(p), "/tmp/%s", fx->escape_name);
	CHECK(is_fs(p, TMPFS_MAGIC) && is_fs("/escape", TMPFS_MAGIC), "escape tmpfs not at '%s'", p);
	CHECK(can_create("/escape/x", &e), "/escape not writable: %s", strerror(e));

	/* tmpcopyup */
	CHECK(is_fs("/etc2", TMPFS_MAGIC), "/etc2 is not a tmpfs");
	CHECK(stat("/etc2/sub/copied", &st) == 0 && (st.st_mode & 07777) == 0640,
	      "/etc2/sub/copied was not copied up with its mode");
	CHECK(can_create("/etc2/new", &e), "/etc2 not writable: %s", strerror(e));

	/* /run: read-only tmpfs, with the later mount point inside it */
	CHECK(is_fs("/run", TMPFS_MAGIC), "/run is not a tmpfs");
	CHECK(!can_create("/run/x", &e) && e == EROFS, "/run is not read-only (%s)", strerror(e));
	CHECK(access("/run/inner/hello", F_OK) == 0, "/run/inner is not the bind of hostdir");
	CHECK(can_create("/run/inner/x", &e), "/run/inner is not writable (%s)", strerror(e));
	if (!mountinfo_shared("/run/inner")) {
		_cleanup_free_ char *mi = NULL;
		fs_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 1 << 20, &mi, NULL);
		CHECK(0, "/run/inner is not shared:\n%s", mi);
	}
	if (!sc->propagation)
		CHECK(!mountinfo_shared("/data/ro"), "/data/ro is shared");

	/* rbind keeps the submount; "ro" makes only the top read-only, "rro" all */
	CHECK(is_fs("/data/ro/sub", TMPFS_MAGIC) && is_fs("/data/rro/sub", TMPFS_MAGIC), "rbind lost the submount");
	CHECK(can_create("/data/ro/sub/x", &e), "/data/ro/sub is not writable (%s)", strerror(e));
	CHECK(!can_create("/data/rro/x", &e) && e == EROFS, "/data/rro is not read-only (%s)", strerror(e));
	CHECK(!can_create("/data/rro/sub/x", &e) && e == EROFS, "/data/rro/sub is not read-only (%s)", strerror(e));

	if (sc->cgroup2)
		CHECK(is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC), "/sys/fs/cgroup is not cgroup2");
	if (fx->v1) {
		CHECK(is_fs("/sys/fs/cgroup", TMPFS_MAGIC), "/sys/fs/cgroup is not a tmpfs");
		CHECK(!can_create("/sys/fs/cgroup/x", &e) && e == EROFS, "/sys/fs/cgroup is not read-only");
		for (size_t i = 0; i < fx->n_cg; i++) {
			char d[256];
			snprintf(d, sizeof(d), "/sys/fs/cgroup/%s", fx->cg_names[i]);
			CHECK(is_fs(d, CGROUP_SUPER_MAGIC), "%s is not a cgroup v1 mount", d);
			/* the container's own cgroup: the root's files are not there */
			snprintf(d, sizeof(d), "/sys/fs/cgroup/%s/cgroup.procs", fx->cg_names[i]);
			CHECK(access(d, F_OK) == 0, "%s missing", d);
			snprintf(d, sizeof(d), "/sys/fs/cgroup/%s/release_agent", fx->cg_names[i]);
			CHECK(access(d, F_OK) < 0, "%s is the root cgroup, not the container's", d);
			snprintf(d, sizeof(d), "/sys/fs/cgroup/%s/sub", fx->cg_names[i]);
			if (mkdir(d, 0755) == 0) {
				rmdir(d);
				CHECK(0, "%s: cgroup mount is not read-only", d);
			}
			CHECK(errno == EROFS, "mkdir %s: %s, want EROFS", d, strerror(errno));
		}
	}
	if (sc->propagation && strcmp(sc->propagation, "rshared") == 0)
		CHECK(mountinfo_shared("/"), "/ is not shared");

	/* a real program in there */
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/busybox", "busybox", "sh", "-c",
		      "test -c /dev/null && test -L /dev/fd && ! touch /x 2>/dev/null && "
		      "grep -q host /data/ro/hello && test ! -s /proc/kcore && test ! -s /proc/version",
		      (char *)NULL);
		_exit(127);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "busybox checks failed (status 0x%x)", status);

	/* no fd of ours leaked */
	for (int i = 3; i < 64; i++)
		CHECK(open_before[i] || fcntl(i, F_GETFD) < 0, "fd %d left open", i);
	_exit(0);
}

static int write_proc(const char *file, const char *s)
{
	return write_file(file, s);
}

/* The forked child: new namespaces, then pid 1 runs container_main. */
static void child_main(const struct fixture *fx, const struct scenario *sc)
{
	/* the host directory to bind: a tmpfs with nosuid,nodev,noexec, which
	 * become locked flags once a user namespace owns the mount namespace */
	if (unshare(CLONE_NEWNS) < 0) {
		report("unshare(CLONE_NEWNS): %s", strerror(errno));
		_exit(SKIP_CODE);
	}
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0, "rslave: %s", strerror(errno));
	CHECK(mount("tmpfs", fx->hostdir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m") == 0,
	      "mount tmpfs on '%s': %s", fx->hostdir, strerror(errno));
	char p[256];
	snprintf(p, sizeof(p), "%s/hello", fx->hostdir);
	CHECK(write_file(p, "hello from the host\n") == 0, "write '%s': %s", p, strerror(errno));
	/* and a submount in it, for recursive binds */
	snprintf(p, sizeof(p), "%s/sub", fx->hostdir);
	CHECK(mkdir(p, 0755) == 0 && mount("tmpfs", p, "tmpfs", 0, "size=1m") == 0, "mount tmpfs on '%s': %s", p,
	      strerror(errno));
	if (sc->userns) {
		if (unshare(CLONE_NEWUSER) < 0) {
			report("unshare(CLONE_NEWUSER): %s", strerror(errno));
			_exit(SKIP_CODE);
		}
		CHECK(write_proc("/proc/self/setgroups", "deny") == 0, "setgroups: %s", strerror(errno));
		CHECK(write_proc("/proc/self/uid_map", "0 0 1") == 0, "uid_map: %s", strerror(errno));
		CHECK(write_proc("/proc/self/gid_map", "0 0 1") == 0, "gid_map: %s", strerror(errno));
	}
	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0) {
		report("unshare(CLONE_NEWNS|CLONE_NEWPID): %s", strerror(errno));
		_exit(SKIP_CODE);
	}
	/* safety net for the test itself: nothing we do reaches the host */
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0, "rslave: %s", strerror(errno));
	pid_t pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		container_main(fx, sc);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		report("container init killed by signal %d", WTERMSIG(status));
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
}

/* cgroup v1 host: make the container's cgroup in every hierarchy. */
static void fixture_cgroup_v1(struct fixture *fx)
{
	enum cgroup_mode mode;
	hull_error *err = NULL;
	if (cgroup_detect(&mode, &err) < 0 || mode != CGROUP_MODE_V1) {
		hull_error_free(err);
		return;
	}
	_cleanup_strv_ char **names = NULL;
	_cleanup_strv_ char **mps = NULL;
	if (cgroup_v1_hierarchies(&names, &mps, &err) < 0) {
		hull_error_free(err);
		return;
	}
	snprintf(fx->cg_path, sizeof(fx->cg_path), "/hull-rootfs-test-%d", (int)getpid());
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V1, .path = fx->cg_path };
	for (size_t i = 0; names[i] && fx->n_cg < ARRAY_SIZE(fx->cg_names); i++) {
		_cleanup_free_ char *host = NULL;
		if (cgroup_host_path(&cg, names[i], &host, &err) < 0)
			fail_msg("cgroup_host_path: %s", err->msg);
		if (mkdir(host, 0755) < 0)
			continue;
		snprintf(fx->cg_names[fx->n_cg++], sizeof(fx->cg_names[0]), "%s", names[i]);
	}
	fx->v1 = fx->n_cg > 0;
}

static void fixture_cgroup_v1_destroy(struct fixture *fx)
{
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V1, .path = fx->cg_path };
	for (size_t i = 0; i < fx->n_cg; i++) {
		_cleanup_free_ char *host = NULL;
		hull_error *err = NULL;
		if (cgroup_host_path(&cg, fx->cg_names[i], &host, &err) == 0)
			rmdir(host);
		hull_error_free(err);
	}
}

static void run_scenario(const struct scenario *sc)
{
	if (geteuid() != 0)
		skip();
	if (access("/bin/busybox", X_OK) < 0)
		skip();
	struct fixture fx = { 0 };
	fixture_build(&fx);
	if (sc->cgroup_v1)
		fixture_cgroup_v1(&fx);

	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		reporter = pfd[1];
		child_main(&fx, sc);
		_exit(3);
	}
	close(pfd[1]);
	char msg[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(msg) - 1 && (n = read(pfd[0], msg + len, sizeof(msg) - 1 - len)) > 0)
		len += (size_t)n;
	msg[len] = '\0';
	close(pfd[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);

	/* the host's escape target is untouched: no mount, nothing written */
	char p[256];
	snprintf(p, sizeof(p), "%s/x", fx.escape);
	bool escape_mounted = is_fs(fx.escape, TMPFS_MAGIC);
	bool escape_written = access(p, F_OK) == 0;
	fixture_cgroup_v1_destroy(&fx);
	fixture_destroy(&fx);
	assert_false(escape_mounted);
	assert_false(escape_written);

	if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_CODE) {
		print_message("skipped: %s", msg);
		skip();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("container check failed (status 0x%x): %s", status, msg);
}

static void test_kernel_pivot(void **state)
{
	(void)state;
	run_scenario(&(struct scenario){ .cgroup2 = true });
}

static void test_kernel_no_pivot(void **state)
{
	(void)state;
	run_scenario(&(struct scenario){ .no_pivot = true, .cgroup_v1 = true });
}

static void test_kernel_rshared(void **state)
{
	(void)state;
	run_scenario(&(struct scenario){ .propagation = "rshared" });
}

static void test_kernel_userns(void **state)
{
	(void)state;
	run_scenario(&(struct scenario){ .userns = true });
}

/* A config that must be refused; the message is checked in the child. */
static void error_child(const struct fixture *fx, struct oci_mount *m, const char *want)
{
	if (unshare(CLONE_NEWNS) < 0)
		_exit(SKIP_CODE);
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0, "rslave: %s", strerror(errno));
	struct oci_config cfg = { 0 };
	cfg.mounts = m;
	cfg.n_mounts = 1;
	struct rootfs_ctx ctx = { .cfg = &cfg, .bundle = fx->base, .rootfs = fx->rootfs, .rootfs_fd = -1 };
	bool open_before[64] = { false };
	for (int i = 3; i < 64; i++)
		open_before[i] = fcntl(i, F_GETFD) >= 0;
	hull_error *err = NULL;
	int r = rootfs_prepare(&ctx, &err);
	CHECK(r < 0, "rootfs_prepare accepted a bad mount");
	CHECK(err && strstr(err->msg, want), "error '%s' does not mention '%s'", err ? err->msg : "",
	      want);
	CHECK(ctx.rootfs_fd == -1, "rootfs fd set after a failure");
	for (int i = 3; i < 64; i++)
		CHECK(open_before[i] || fcntl(i, F_GETFD) < 0, "fd %d left open after a failure", i);
	_exit(0);
}

static void run_error(struct oci_mount *m, const char *want)
{
	struct fixture fx = { 0 };
	fixture_build(&fx);
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		reporter = pfd[1];
		error_child(&fx, m, want);
	}
	close(pfd[1]);
	char msg[2048];
	ssize_t n = read(pfd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	fixture_destroy(&fx);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_CODE)
		skip();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s", msg);
}

static void test_kernel_errors(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	run_error(&(struct oci_mount){ .destination = "/proc/sys", .type = "bind", .source = "/etc",
				       .options = (char *[]){ "rbind", NULL } },
		  "not allowed");
	run_error(&(struct oci_mount){ .destination = "/data", .type = "bind", .source = "does/not/exist",
				       .options = (char *[]){ "rbind", NULL } },
		  "does/not/exist");
	run_error(&(struct oci_mount){ .destination = "/x", .type = "proc", .source = "proc",
				       .options = (char *[]){ "tmpcopyup", NULL } },
		  "tmpcopyup");
	run_error(&(struct oci_mount){ .destination = "/tmp/..", .type = "tmpfs", .source = "tmpfs" },
		  "root");
	run_error(&(struct oci_mount){ .destination = "/x", .type = "nosuchfs", .source = "none" }, "nosuchfs");
}

int main(void)
{
	const struct CMUnitTest parse_tests[] = {
		cmocka_unit_test(test_parse_flags),
		cmocka_unit_test(test_parse_clear),
		cmocka_unit_test(test_parse_bind_propagation),
		cmocka_unit_test(test_parse_special),
	};
	const struct CMUnitTest kernel_tests[] = {
		cmocka_unit_test(test_kernel_pivot),
		cmocka_unit_test(test_kernel_no_pivot),
		cmocka_unit_test(test_kernel_rshared),
		cmocka_unit_test(test_kernel_userns),
		cmocka_unit_test(test_kernel_errors),
	};
	int r = cmocka_run_group_tests_name("rootfs_parse", parse_tests, NULL, NULL);
	r += cmocka_run_group_tests_name("rootfs_kernel", kernel_tests, NULL, NULL);
	return r;
}
