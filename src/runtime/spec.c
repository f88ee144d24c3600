/* spec.c - the config.json that `hull-runtime spec` writes, and the
 * runtime-spec "features" document (features.md, features-linux.md).
 *
 * The default config follows runc's: a busybox-style `sh` with a terminal,
 * three capabilities, the usual /proc, /dev, /sys mounts, masked and
 * read-only paths, and new pid/network/ipc/uts/mount/cgroup namespaces.
 * The rootless variant (as runc's --rootless does): a user namespace
 * mapping container root to the caller's effective uid/gid, no network
 * namespace (an unprivileged user could not give it any connectivity),
 * /sys bind-mounted from the host instead of a new sysfs (sysfs cannot be
 * mounted without owning the network namespace), no uid=/gid= mount
 * options (gid 5 does not exist in a one-id mapping), and no cgroup
 * resources.
 */
#include <seccomp.h>

#include "runtime/security.h"

#include <errno.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/cleanup.h"

#ifndef HULL_VERSION
#define HULL_VERSION "dev"
#endif

#ifndef OCI_VERSION
#define OCI_VERSION "1.2.0"
#endif

/* A JSON array of the strings in a NULL-terminated list. */
static json_t *str_array(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

#define STRV(...) str_array((const char *const[]){__VA_ARGS__, NULL})

static json_t *mount_json(const char *dest, const char *type, const char *source, json_t *options)
{
	json_t *m = json_object();
	json_object_set_new(m, "destination", json_string(dest));
	json_object_set_new(m, "type", json_string(type));
	json_object_set_new(m, "source", json_string(source));
	if (options)
		json_object_set_new(m, "options", options);
	return m;
}

static json_t *id_mapping(unsigned container_id, unsigned host_id, unsigned size)
{
	return json_pack("[{s:I, s:I, s:I}]", "containerID", (json_int_t)container_id, "hostID",
			 (json_int_t)host_id, "size", (json_int_t)size);
}

json_t *spec_default(bool rootless)
{
	static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					   NULL};

	json_t *process = json_pack(
		"{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:[{s:s, s:I, s:I}], s:b}",
		"terminal", 1,
		"user", "uid", 0, "gid", 0,
		"args", STRV("sh"),
		"env", STRV("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			    "TERM=xterm"),
		"cwd", "/",
		"capabilities",
		"bounding", str_array(caps),
		"effective", str_array(caps),
		"permitted", str_array(caps),
		"rlimits", "type", "RLIMIT_NOFILE", "hard", (json_int_t)1024, "soft", (json_int_t)1024,
		"noNewPrivileges", 1);

	json_t *mounts = json_array();
	json_array_append_new(mounts, mount_json("/proc", "proc", "proc", NULL));
	json_array_append_new(mounts, mount_json("/dev", "tmpfs", "tmpfs",
						 STRV("nosuid", "strictatime", "mode=755",
						      "size=65536k")));
	if (rootless)
		json_array_append_new(mounts, mount_json("/dev/pts", "devpts", "devpts",
							 STRV("nosuid", "noexec", "newinstance",
							      "ptmxmode=0666", "mode=0620")));
	else
		json_array_append_new(mounts, mount_json("/dev/pts", "devpts", "devpts",
							 STRV("nosuid", "noexec", "newinstance",
							      "ptmxmode=0666", "mode=0620",
							      "gid=5")));
	json_array_append_new(mounts, mount_json("/dev/shm", "tmpfs", "shm",
						 STRV("nosuid", "noexec", "nodev", "mode=1777",
						      "size=65536k")));
	json_array_append_new(mounts, mount_json("/dev/mqueue", "mqueue", "mqueue",
						 STRV("nosuid", "noexec", "nodev")));
	if (rootless)
		json_array_append_new(mounts, mount_json("/sys", "none", "/sys",
							 STRV("rbind", "nosuid", "noexec", "nodev",
							      "ro")));
	else
		json_array_append_new(mounts, mount_json("/sys", "sysfs", "sysfs",
							 STRV("nosuid", "noexec", "nodev", "ro")));
	json_array_append_new(mounts, mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
						 STRV("nosuid", "noexec", "nodev", "relatime",
						      "ro")));

	json_t *namespaces = json_array();
	static const char *const ns_root[] = {"pid", "network", "ipc", "uts", "mount", "cgroup", NULL};
	static const char *const ns_rootless[] = {"pid", "ipc", "uts", "mount", "cgroup", "user", NULL};
	for (const char *const *n = rootless ? ns_rootless : ns_root; *n; n++)
		json_array_append_new(namespaces, json_pack("{s:s}", "type", *n));

	json_t *linux_ = json_pack(
		"{s:o, s:o, s:o}",
		"namespaces", namespaces,
		"maskedPaths",
		STRV("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		     "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		     "/proc/scsi", "/sys/devices/virtual/powercap"),
		"readonlyPaths",
		STRV("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
	if (rootless) {
		json_object_set_new(linux_, "uidMappings", id_mapping(0, (unsigned)geteuid(), 1));
		json_object_set_new(linux_, "gidMappings", id_mapping(0, (unsigned)getegid(), 1));
	} else {
		json_object_set_new(linux_, "resources",
				    json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access",
					      "rwm"));
	}

	return json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}",
			 "ociVersion", OCI_VERSION,
			 "process", process,
			 "root", "path", "rootfs", "readonly", 1,
			 "hostname", "hull",
			 "mounts", mounts,
			 "linux", linux_);
}

/* ------------------------------------------------------------------ */
/* features                                                            */

/* Capability names libcap was built with ("CAP_CHOWN", ...). */
static json_t *known_capabilities(void)
{
	json_t *a = json_array();
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		char buf[64];
		char *n = cap_to_name((cap_value_t)c);
		if (!n)
			continue;
		if (strncmp(n, "cap_", 4) == 0) {
			size_t i;
			for (i = 0; n[i] && i < sizeof(buf) - 1; i++)
				buf[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 'a' + 'A' : n[i]);
			buf[i] = '\0';
			json_array_append_new(a, json_string(buf));
		}
		cap_free(n);
	}
	return a;
}

/* Does the running kernel accept this SECCOMP_SET_MODE_FILTER flag?  With
 * a NULL program a known flag fails with EFAULT, an unknown one EINVAL. */
static bool seccomp_flag_supported(unsigned flag)
{
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL);
	return r < 0 && errno == EFAULT;
}

json_t *spec_features(void)
{
	static const struct {
		const char *name;
		unsigned probe; /* flags to try: WAIT_KILLABLE_RECV needs NEW_LISTENER */
	} flags[] = {
		{"SECCOMP_FILTER_FLAG_TSYNC", 1U << 0},
		{"SECCOMP_FILTER_FLAG_LOG", 1U << 1},
		{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1U << 2},
		{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", (1U << 5) | (1U << 3)},
	};
	json_t *known = json_array(), *supported = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		json_array_append_new(known, json_string(flags[i].name));
		if (seccomp_flag_supported(flags[i].probe))
			json_array_append_new(supported, json_string(flags[i].name));
	}

	json_t *seccomp = json_pack(
		"{s:b, s:o, s:o, s:o, s:o, s:o}",
		"enabled", 1,
		"actions",
		STRV("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
		     "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
		     "SCMP_ACT_TRAP"),
		"operators",
		STRV("SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
		     "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"),
		"archs",
		STRV("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
		     "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
		     "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
		     "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
		     "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
		     "SCMP_ARCH_X86_64"),
		"knownFlags", known,
		"supportedFlags", supported);

	json_t *linux_ = json_pack(
		"{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}",
		"namespaces",
		STRV("cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"),
		"capabilities", known_capabilities(),
		"cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0,
		"seccomp", seccomp,
		"apparmor", "enabled", 0,
		"selinux", "enabled", 0,
		"intelRdt", "enabled", 0,
		"mountExtensions", "idmap", "enabled", 0);

	const struct scmp_version *v = seccomp_version();
	char libseccomp_version[48];
	if (v)
		snprintf(libseccomp_version, sizeof(libseccomp_version), "%u.%u.%u", v->major,
			 v->minor, v->micro);
	else
		snprintf(libseccomp_version, sizeof(libseccomp_version), "%d.%d.%d", SCMP_VER_MAJOR,
			 SCMP_VER_MINOR, SCMP_VER_MICRO);

	return json_pack(
		"{s:s, s:s, s:o, s:o, s:o, s:{s:s, s:s}}",
		"ociVersionMin", "1.0.0",
		"ociVersionMax", OCI_VERSION,
		"hooks",
		STRV("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
		     "poststop"),
		"mountOptions",
		STRV("acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
		     "iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev",
		     "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
		     "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev",
		     "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev",
		     "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
		     "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared",
		     "rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared",
		     "silent", "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup",
		     "unbindable"),
		"linux", linux_,
		"annotations",
		"io.github.hull.version", HULL_VERSION,
		"io.github.seccomp.libseccomp.version", libseccomp_version);
}
