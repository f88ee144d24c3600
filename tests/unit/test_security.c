/* test_security.c - capabilities, user, rlimits, scheduler, seccomp, and
 * the spec/features documents.  Whatever changes the process's credentials
 * or installs a filter runs in a forked child. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/config.h"
#include "runtime/security.h"
#include "util/cleanup.h"
#include "util/error.h"

#define CAPBIT(n) (UINT64_C(1) << (n))

/* ---- helpers ---- */

/* In a child: fail with a message (exit status 1). */
#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "child check failed at %s:%d: %s (errno %d)\n",  \
				__FILE__, __LINE__, #cond, errno);                          \
			return 1;                                                         \
		}                                                                         \
	} while (0)

#define CHECK_OK(call, errp)                                                              \
	do {                                                                              \
		if ((call) < 0) {                                                         \
			fprintf(stderr, "child: %s failed at line %d: %s\n", #call,       \
				__LINE__, *(errp) ? (*(errp))->msg : "?");                  \
			return 1;                                                         \
		}                                                                         \
	} while (0)

typedef int (*child_fn)(void *arg);

/* Run fn in a forked child; its return value is the exit status. */
static int run_child(child_fn fn, void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	int st;
	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* A Cap* line of /proc/self/status ("CapEff") as a mask. */
static uint64_t status_caps(const char *key)
{
	char line[256];
	uint64_t v = UINT64_MAX;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoull(line + kl + 1, NULL, 16);
			break;
		}
	fclose(f);
	return v;
}

static bool have_cap(int cap)
{
	uint64_t eff = status_caps("CapEff");
	return eff != UINT64_MAX && (eff & CAPBIT(cap));
}

/* ---- capability names ---- */

static void test_cap_names(void **state)
{
	(void)state;
	assert_int_equal(sec_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(sec_cap_from_name("cap_sys_admin"), 21);
	assert_int_equal(sec_cap_from_name("Cap_Net_Bind_Service"), 10);
	assert_int_equal(sec_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(sec_cap_from_name("CAP_KILL"), 5);
	assert_int_equal(sec_cap_from_name("SYS_ADMIN"), -1);
	assert_int_equal(sec_cap_from_name("CAP_FOO"), -1);
	assert_int_equal(sec_cap_from_name("CAP_"), -1);
	assert_int_equal(sec_cap_from_name("21"), -1);
	assert_int_equal(sec_cap_from_name(""), -1);
	assert_int_equal(sec_cap_from_name(NULL), -1);

	int last = sec_cap_last();
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		int k = -1;
		assert_int_equal(fscanf(f, "%d", &k), 1);
		fclose(f);
		assert_int_equal(last, k);
	}
	assert_true(last >= 37); /* CAP_AUDIT_READ: any kernel we run on */
	if (last >= 40)
		assert_int_equal(sec_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
}

static void test_caps_validate(void **state)
{
	(void)state;
	hull_error *err = NULL;
	char *good[] = {"CAP_KILL", "cap_chown", NULL};
	char *bad[] = {"CAP_KILL", "CAP_FOO", NULL};
	struct oci_caps caps = {.bounding = good, .effective = good, .permitted = good};

	assert_int_equal(sec_caps_validate(&caps, &err), 0);
	assert_null(err);
	assert_int_equal(sec_caps_validate(NULL, &err), 0);

	caps.bounding = bad;
	assert_int_equal(sec_caps_validate(&caps, &err), -1);
	assert_non_null(err);
	assert_string_equal(err->msg, "unknown capability 'CAP_FOO' in process.capabilities.bounding");
	hull_error_clear(&err);

	caps.bounding = good;
	caps.ambient = bad;
	assert_int_equal(sec_caps_validate(&caps, &err), -1);
	assert_string_equal(err->msg, "unknown capability 'CAP_FOO' in process.capabilities.ambient");
	hull_error_clear(&err);
}

/* ---- seccomp ---- */

static const struct hull_bpf *child_bpf;

#define TEST_ENOSYS 38
#define TEST_ERR_OR 77
#define TEST_ERR_AND 78
#define TEST_ERR_MASK 79

/* default ALLOW; mkdir -> ENOSYS; personality(x) with x != 0xffffffff ->
 * EPERM; getpgid(1) or getpgid(2) -> 77 (same index twice: OR);
 * lseek(_, 5, SEEK_SET) -> 78 (two indexes: AND); umask(m) with
 * (m & 070) == 020 -> 79 (MASKED_EQ). */
static struct oci_seccomp_arg personality_args[] = {
	{.index = 0, .value = 0xffffffffULL, .op = "SCMP_CMP_NE"},
};
static struct oci_seccomp_arg or_args[] = {
	{.index = 0, .value = 1, .op = "SCMP_CMP_EQ"},
	{.index = 0, .value = 2, .op = "SCMP_CMP_EQ"},
};
static struct oci_seccomp_arg and_args[] = {
	{.index = 1, .value = 5, .op = "SCMP_CMP_EQ"},
	{.index = 2, .value = SEEK_SET, .op = "SCMP_CMP_EQ"},
};
static struct oci_seccomp_arg mask_args[] = {
	{.index = 0, .value = 070, .value_two = 020, .op = "SCMP_CMP_MASKED_EQ"},
};
static char *n_mkdir[] = {"mkdir", "mkdirat", "no_such_syscall_hull", NULL};
static char *n_personality[] = {"personality", NULL};
static char *n_getpgid[] = {"getpgid", NULL};
static char *n_lseek[] = {"lseek", NULL};
static char *n_umask[] = {"umask", NULL};
static char *n_getpid[] = {"getpid", NULL};

static struct oci_seccomp_syscall test_rules[] = {
	{.names = n_mkdir, .action = "SCMP_ACT_ERRNO", .has_errno_ret = true, .errno_ret = TEST_ENOSYS},
	{.names = n_personality, .action = "SCMP_ACT_ERRNO", .args = personality_args, .n_args = 1},
	{.names = n_getpgid, .action = "SCMP_ACT_ERRNO", .has_errno_ret = true, .errno_ret = TEST_ERR_OR,
	 .args = or_args, .n_args = 2},
	{.names = n_lseek, .action = "SCMP_ACT_ERRNO", .has_errno_ret = true, .errno_ret = TEST_ERR_AND,
	 .args = and_args, .n_args = 2},
	{.names = n_umask, .action = "SCMP_ACT_ERRNO", .has_errno_ret = true, .errno_ret = TEST_ERR_MASK,
	 .args = mask_args, .n_args = 1},
	/* same as the default action: must be skipped, not an error */
	{.names = n_getpid, .action = "SCMP_ACT_ALLOW"},
};

static int child_seccomp(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	int listener = 123;
	int fd = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK_OK(hull_seccomp_load(child_bpf, &listener, &err), &err);
	CHECK(listener == -1);

	/* mkdir -> ENOSYS, both syscalls */
	errno = 0;
	CHECK(syscall(SYS_mkdir, "/tmp/hull-test-seccomp-never", 0700) == -1 && errno == TEST_ENOSYS);
	errno = 0;
	CHECK(mkdirat(AT_FDCWD, "/tmp/hull-test-seccomp-never", 0700) == -1 && errno == TEST_ENOSYS);
	CHECK(getpid() > 0);
	CHECK(syscall(SYS_getpid) == getpid());

	/* personality: query allowed, setting refused with the default EPERM */
	int persona = personality(0xffffffff);
	CHECK(persona != -1);
	errno = 0;
	CHECK(personality((unsigned long)persona) == -1 && errno == EPERM);

	/* OR of two conditions on arg 0 */
	CHECK(getpgid(0) >= 0);
	errno = 0;
	CHECK(getpgid(1) == -1 && errno == TEST_ERR_OR);
	errno = 0;
	CHECK(getpgid(2) == -1 && errno == TEST_ERR_OR);

	/* AND of conditions on args 1 and 2 */
	errno = 0;
	CHECK(lseek(fd, 5, SEEK_SET) == -1 && errno == TEST_ERR_AND);
	CHECK(lseek(fd, 6, SEEK_SET) == 6);
	CHECK(lseek(fd, 5, SEEK_CUR) == 11);

	/* MASKED_EQ: value is the mask, valueTwo the datum */
	errno = 0;
	CHECK(syscall(SYS_umask, 027) == -1 && errno == TEST_ERR_MASK);
	CHECK(syscall(SYS_umask, 077) >= 0);
	CHECK(syscall(SYS_umask, 007) >= 0);
	close(fd);
	return 0;
}

static void test_seccomp_load(void **state)
{
	(void)state;
	hull_error *err = NULL;
	struct hull_bpf *bpf = NULL;
	struct oci_seccomp s = {
		.default_action = "SCMP_ACT_ALLOW",
		.syscalls = test_rules,
		.n_syscalls = ARRAY_SIZE(test_rules),
	};

	if (seccomp_compile(&s, &bpf, &err) < 0)
		fail_msg("seccomp_compile: %s", err->msg);
	assert_non_null(bpf);
	assert_true(bpf->len > 5 && bpf->len <= 4096);
	assert_false(bpf->notify);
	assert_int_equal(bpf->flags, 0);

	child_bpf = bpf;
	assert_int_equal(run_child(child_seccomp, NULL), 0);
	hull_bpf_free(bpf);
}

static int child_default_errno(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK_OK(hull_seccomp_load(child_bpf, NULL, &err), &err);
	/* default ERRNO without defaultErrnoRet: EPERM */
	errno = 0;
	CHECK(syscall(SYS_getppid) == -1 && errno == EPERM);
	CHECK(syscall(SYS_getpid) > 0);
	/* exit_group is allowed: _exit works */
	return 0;
}

static void test_seccomp_default_errno(void **state)
{
	(void)state;
	hull_error *err = NULL;
	struct hull_bpf *bpf = NULL;
	/* everything a child needs to check and exit (under ASan too) */
	static char *allowed[] = {"getpid", "exit", "exit_group", "write", "writev", "rt_sigreturn",
				  "rt_sigprocmask", "mmap", "munmap", "futex", "brk", "madvise",
				  "sigaltstack", "prctl", "close", "fstat", "newfstatat", "read",
				  "openat", "gettid", "sched_yield", "getrlimit", "prlimit64", NULL};
	struct oci_seccomp_syscall rules[] = {
		{.names = allowed, .action = "SCMP_ACT_ALLOW"},
	};
	struct oci_seccomp s = {
		.default_action = "SCMP_ACT_ERRNO",
		.syscalls = rules,
		.n_syscalls = 1,
	};
	if (seccomp_compile(&s, &bpf, &err) < 0)
		fail_msg("seccomp_compile: %s", err->msg);
	child_bpf = bpf;
	assert_int_equal(run_child(child_default_errno, NULL), 0);
	hull_bpf_free(bpf);
}

static char *notify_names[] = {"mknodat", NULL};
static int child_notify(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	int listener = -1;
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHECK_OK(hull_seccomp_load(child_bpf, &listener, &err), &err);
	CHECK(listener >= 0);
	CHECK((fcntl(listener, F_GETFD) & FD_CLOEXEC) != 0);
	return 0;
}

static void test_seccomp_notify(void **state)
{
	(void)state;
	hull_error *err = NULL;
	struct hull_bpf *bpf = NULL;
	struct oci_seccomp_syscall rules[] = {
		{.names = notify_names, .action = "SCMP_ACT_NOTIFY"},
	};
	char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", NULL};
	struct oci_seccomp s = {
		.default_action = "SCMP_ACT_ALLOW",
		.syscalls = rules,
		.n_syscalls = 1,
		.flags = flags,
	};

	/* NOTIFY needs listenerPath */
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_non_null(strstr(err->msg, "listenerPath"));
	hull_error_clear(&err);

	s.listener_path = "/run/agent.sock";
	if (seccomp_compile(&s, &bpf, &err) < 0)
		fail_msg("seccomp_compile: %s", err->msg);
	assert_true(bpf->notify);
	assert_int_equal(bpf->flags, 1 /* SECCOMP_FILTER_FLAG_TSYNC */);
	child_bpf = bpf;
	assert_int_equal(run_child(child_notify, NULL), 0);
	hull_bpf_free(bpf);
}

static void test_seccomp_compile_variants(void **state)
{
	(void)state;
	hull_error *err = NULL;
	struct hull_bpf *bpf = NULL;
	char *arches[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};
	char *names[] = {"socketcall", "_llseek", "socket", "ipc", "clone", "personality", NULL};
	struct oci_seccomp_arg clone_args[] = {
		{.index = 0, .value = 0x7e020000, .value_two = 0, .op = "SCMP_CMP_MASKED_EQ"},
	};
	struct oci_seccomp_syscall rules[] = {
		{.names = names, .action = "SCMP_ACT_ALLOW"},
		{.names = n_mkdir, .action = "SCMP_ACT_ALLOW", .args = clone_args, .n_args = 1},
		{.names = n_getpid, .action = "SCMP_ACT_TRACE"},
		{.names = n_lseek, .action = "SCMP_ACT_LOG"},
		{.names = n_umask, .action = "SCMP_ACT_KILL_PROCESS"},
		{.names = n_getpgid, .action = "SCMP_ACT_TRAP"},
	};
	char *flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
			 "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
	struct oci_seccomp s = {
		.default_action = "SCMP_ACT_ERRNO",
		.has_default_errno_ret = true,
		.default_errno_ret = 1,
		.architectures = arches,
		.flags = flags,
		.syscalls = rules,
		.n_syscalls = ARRAY_SIZE(rules),
	};
	if (seccomp_compile(&s, &bpf, &err) < 0)
		fail_msg("seccomp_compile: %s", err->msg);
	/* LOG | SPEC_ALLOW; WAIT_KILLABLE_RECV dropped without a listener */
	assert_int_equal(bpf->flags, 2 | 4);
	hull_bpf_free(bpf);
	bpf = NULL;

	/* errors */
	char *bad_arch[] = {"SCMP_ARCH_VAX", NULL};
	s.architectures = bad_arch;
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_string_equal(err->msg,
			    "unknown seccomp architecture 'SCMP_ARCH_VAX' in linux.seccomp.architectures");
	hull_error_clear(&err);
	s.architectures = arches;

	char *bad_flag[] = {"SECCOMP_FILTER_FLAG_BOGUS", NULL};
	s.flags = bad_flag;
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_string_equal(err->msg,
			    "unknown seccomp flag 'SECCOMP_FILTER_FLAG_BOGUS' in linux.seccomp.flags");
	hull_error_clear(&err);
	s.flags = NULL;

	s.default_action = "SCMP_ACT_MAYBE";
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_non_null(strstr(err->msg, "unknown seccomp action 'SCMP_ACT_MAYBE'"));
	hull_error_clear(&err);

	/* errnoRet with an action that has no errno */
	s.default_action = "SCMP_ACT_KILL";
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_non_null(strstr(err->msg, "defaultAction"));
	hull_error_clear(&err);
	s.has_default_errno_ret = false;

	struct oci_seccomp_arg bad_op[] = {{.index = 0, .value = 1, .op = "SCMP_CMP_ABOUT"}};
	struct oci_seccomp_arg bad_index[] = {{.index = 6, .value = 1, .op = "SCMP_CMP_EQ"}};
	struct oci_seccomp_syscall bad_rules[] = {
		{.names = n_getpid, .action = "SCMP_ACT_ERRNO", .args = bad_op, .n_args = 1},
	};
	s.syscalls = bad_rules;
	s.n_syscalls = 1;
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_string_equal(err->msg, "linux.seccomp.syscalls[0].args[0]: unknown operator 'SCMP_CMP_ABOUT'");
	hull_error_clear(&err);
	bad_rules[0].args = bad_index;
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_non_null(strstr(err->msg, "index 6 out of range"));
	hull_error_clear(&err);

	s.default_action = "SCMP_ACT_NOTIFY";
	s.listener_path = "/x";
	s.syscalls = NULL;
	s.n_syscalls = 0;
	assert_int_equal(seccomp_compile(&s, &bpf, &err), -1);
	assert_null(bpf);
	assert_non_null(strstr(err->msg, "cannot be the default action"));
	hull_error_clear(&err);
}

/* ---- rlimits ---- */

static int child_rlimits(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	struct rlimit r;
	struct oci_rlimit lower = {.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 100, .hard = 200};
	struct oci_process p = {.rlimits = &lower, .n_rlimits = 1};

	CHECK_OK(sec_apply_rlimits(&p, &err), &err);
	CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
	CHECK(r.rlim_cur == 100 && r.rlim_max == 200);

	/* soft above hard */
	struct oci_rlimit inverted = {.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 150, .hard = 120};
	p.rlimits = &inverted;
	CHECK(sec_apply_rlimits(&p, &err) == -1);
	CHECK(strstr(err->msg, "soft limit is above the hard limit") != NULL);
	hull_error_clear(&err);

	/* raising the hard limit without CAP_SYS_RESOURCE */
	if (!have_cap(CAP_SYS_RESOURCE)) {
		struct oci_rlimit raise = {.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 300, .hard = 300};
		p.rlimits = &raise;
		CHECK(sec_apply_rlimits(&p, &err) == -1);
		CHECK(err->status == EPERM);
		if (strcmp(err->msg, "set rlimit RLIMIT_NOFILE to soft 300 hard 300: operation not "
				     "permitted (the caller's hard limit is 200; raising it needs "
				     "CAP_SYS_RESOURCE)") != 0) {
			fprintf(stderr, "unexpected message: %s\n", err->msg);
			return 1;
		}
		hull_error_clear(&err);
		CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
		CHECK(r.rlim_cur == 100 && r.rlim_max == 200);
	}

	/* unlimited and a second resource */
	struct oci_rlimit two[] = {
		{.resource = RLIMIT_CORE, .type = "RLIMIT_CORE", .soft = 0, .hard = 0},
		{.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 50, .hard = 50},
	};
	p.rlimits = two;
	p.n_rlimits = 2;
	CHECK_OK(sec_apply_rlimits(&p, &err), &err);
	CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_max == 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_max == 50);
	return 0;
}

static void test_rlimits(void **state)
{
	(void)state;
	assert_int_equal(run_child(child_rlimits, NULL), 0);
}

/* ---- user and capabilities ---- */

static int child_user_caps(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	char *bset[] = {"CAP_NET_BIND_SERVICE", "CAP_KILL", NULL};
	char *nbs[] = {"CAP_NET_BIND_SERVICE", NULL};
	struct oci_caps caps = {.bounding = bset, .effective = nbs, .permitted = nbs,
				.inheritable = nbs, .ambient = nbs};
	gid_t groups[] = {1001, 1002};
	struct oci_user u = {.uid = 1000, .gid = 1000, .additional_gids = groups,
			     .n_additional_gids = 2, .has_umask = true, .umask = 027};

	CHECK_OK(sec_drop_bounding(&caps, &err), &err);
	CHECK(status_caps("CapBnd") == (CAPBIT(10) | CAPBIT(5)));
	CHECK_OK(sec_set_user(&u, true, &err), &err);
	CHECK(getuid() == 1000 && geteuid() == 1000);
	CHECK(getgid() == 1000 && getegid() == 1000);
	gid_t got[8];
	CHECK(getgroups(8, got) == 2 && got[0] == 1001 && got[1] == 1002);
	mode_t old = umask(0);
	CHECK(old == 027);
	/* the permitted set survived the uid change, effective did not */
	CHECK(status_caps("CapPrm") != 0);
	CHECK(status_caps("CapEff") == 0);

	CHECK_OK(sec_apply_caps(&caps, &err), &err);
	CHECK(status_caps("CapEff") == CAPBIT(10));
	CHECK(status_caps("CapPrm") == CAPBIT(10));
	CHECK(status_caps("CapInh") == CAPBIT(10));
	CHECK(status_caps("CapAmb") == CAPBIT(10));
	CHECK(status_caps("CapBnd") == (CAPBIT(10) | CAPBIT(5)));

	/* asking for more than we have names the capability */
	char *admin[] = {"CAP_SYS_ADMIN", NULL};
	struct oci_caps more = {.effective = admin, .permitted = admin};
	CHECK(sec_apply_caps(&more, &err) == -1);
	CHECK(err->status == EPERM);
	CHECK(strstr(err->msg, "CAP_SYS_ADMIN") != NULL);
	hull_error_clear(&err);
	CHECK(status_caps("CapEff") == CAPBIT(10));
	return 0;
}

static int child_caps_errors(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	char *kill_[] = {"CAP_KILL", NULL};
	char *nbs[] = {"CAP_NET_BIND_SERVICE", NULL};

	/* effective must be within permitted */
	struct oci_caps c1 = {.effective = nbs, .permitted = kill_};
	CHECK(sec_apply_caps(&c1, &err) == -1);
	CHECK(strcmp(err->msg, "capability CAP_NET_BIND_SERVICE is in process.capabilities.effective "
			       "but not in process.capabilities.permitted") == 0);
	hull_error_clear(&err);

	/* ambient must be in permitted and inheritable */
	struct oci_caps c2 = {.effective = nbs, .permitted = nbs, .ambient = nbs};
	CHECK(sec_apply_caps(&c2, &err) == -1);
	CHECK(strstr(err->msg, "ambient capability CAP_NET_BIND_SERVICE") != NULL);
	hull_error_clear(&err);

	/* no capabilities object: no capabilities, empty bounding set */
	CHECK_OK(sec_drop_bounding(NULL, &err), &err);
	CHECK(status_caps("CapBnd") == 0);
	CHECK_OK(sec_apply_caps(NULL, &err), &err);
	CHECK(status_caps("CapEff") == 0 && status_caps("CapPrm") == 0);
	return 0;
}

static int child_setgroups_denied(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	gid_t groups[] = {1001};
	struct oci_user u = {.uid = 0, .gid = 0, .additional_gids = groups, .n_additional_gids = 1};
	CHECK(sec_set_user(&u, false, &err) == -1);
	CHECK(strstr(err->msg, "setgroups is denied") != NULL);
	hull_error_clear(&err);
	/* empty list: fine without setgroups */
	u.n_additional_gids = 0;
	CHECK_OK(sec_set_user(&u, false, &err), &err);
	return 0;
}

static void test_user_caps(void **state)
{
	(void)state;
	if (geteuid() != 0 || !have_cap(CAP_SETUID) || !have_cap(CAP_SETGID) || !have_cap(CAP_SETPCAP))
		skip();
	assert_int_equal(run_child(child_user_caps, NULL), 0);
	assert_int_equal(run_child(child_caps_errors, NULL), 0);
	assert_int_equal(run_child(child_setgroups_denied, NULL), 0);
}

/* ---- oom score, scheduler, io priority ---- */

static int read_oom_score_adj(void)
{
	int v = -99999;
	FILE *f = fopen("/proc/self/oom_score_adj", "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -99999;
		fclose(f);
	}
	return v;
}

static int child_process_attrs(void *arg)
{
	(void)arg;
	hull_error *err = NULL;
	struct oci_process p = {0};

	/* nothing set: nothing done */
	CHECK_OK(sec_set_oom_score_adj(&p, &err), &err);
	CHECK_OK(sec_set_scheduler(&p, &err), &err);
	CHECK_OK(sec_set_io_priority(&p, &err), &err);

	p.has_oom_score_adj = true;
	p.oom_score_adj = 500;
	CHECK_OK(sec_set_oom_score_adj(&p, &err), &err);
	CHECK(read_oom_score_adj() == 500);
	p.oom_score_adj = 100;
	CHECK_OK(sec_set_oom_score_adj(&p, &err), &err);
	CHECK(read_oom_score_adj() == 100);
	/* below the floor a privileged process set (usually 0) needs
	 * CAP_SYS_RESOURCE: either it works or the error names the value */
	p.oom_score_adj = -1000;
	if (sec_set_oom_score_adj(&p, &err) < 0) {
		CHECK(!have_cap(CAP_SYS_RESOURCE));
		CHECK(strcmp(err->msg, "set oom_score_adj to -1000 (lowering it needs "
				       "CAP_SYS_RESOURCE): permission denied") == 0);
		hull_error_clear(&err);
	} else {
		CHECK(read_oom_score_adj() == -1000);
	}
	p.oom_score_adj = 2000;
	CHECK(sec_set_oom_score_adj(&p, &err) == -1);
	hull_error_clear(&err);

	char *flags[] = {"SCHED_FLAG_RESET_ON_FORK", NULL};
	p.has_scheduler = true;
	p.sched_policy = "SCHED_BATCH";
	p.sched_nice = 5;
	p.sched_flags = flags;
	CHECK_OK(sec_set_scheduler(&p, &err), &err);
	CHECK(sched_getscheduler(0) == (SCHED_BATCH | SCHED_RESET_ON_FORK));
	errno = 0;
	CHECK(getpriority(PRIO_PROCESS, 0) == 5);

	/* (keep reset-on-fork and nice: undoing either needs CAP_SYS_NICE) */
	p.sched_policy = "SCHED_IDLE";
	CHECK_OK(sec_set_scheduler(&p, &err), &err);
	CHECK(sched_getscheduler(0) == (SCHED_IDLE | SCHED_RESET_ON_FORK));

	p.sched_policy = "SCHED_SOMETIMES";
	CHECK(sec_set_scheduler(&p, &err) == -1);
	CHECK(strcmp(err->msg, "unknown scheduler policy 'SCHED_SOMETIMES'") == 0);
	hull_error_clear(&err);

	p.has_io_priority = true;
	p.io_class = "IOPRIO_CLASS_BE";
	p.io_priority = 3;
	CHECK_OK(sec_set_io_priority(&p, &err), &err);
	CHECK(syscall(SYS_ioprio_get, 1, 0) == ((2 << 13) | 3));
	p.io_class = "IOPRIO_CLASS_IDLE";
	p.io_priority = 0;
	CHECK_OK(sec_set_io_priority(&p, &err), &err);
	CHECK(syscall(SYS_ioprio_get, 1, 0) == (3 << 13));
	p.io_class = "IOPRIO_CLASS_XX";
	CHECK(sec_set_io_priority(&p, &err) == -1);
	hull_error_clear(&err);
	p.io_class = "IOPRIO_CLASS_BE";
	p.io_priority = 9;
	CHECK(sec_set_io_priority(&p, &err) == -1);
	hull_error_clear(&err);
	return 0;
}

static void test_process_attrs(void **state)
{
	(void)state;
	assert_int_equal(run_child(child_process_attrs, NULL), 0);
}

/* ---- spec and features ---- */

static bool array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

static bool has_namespace(json_t *linux_, const char *type)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(linux_, "namespaces"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "type")), type) == 0) return true;
	return false;
}

static json_t *find_mount(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0) return m;
	return NULL;
}

static void test_spec_default(void **state)
{
	(void)state;
	json_t *s = spec_default(false);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "ociVersion")), "1.2.0");
	assert_string_equal(json_string_value(json_object_get(s, "hostname")), "hull");

	json_t *p = json_object_get(s, "process");
	assert_true(json_is_true(json_object_get(p, "terminal")));
	assert_true(json_is_true(json_object_get(p, "noNewPrivileges")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "args"), 0)), "sh");
	assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")), 0);
	assert_true(array_has(json_object_get(p, "env"), "TERM=xterm"));
	json_t *caps = json_object_get(p, "capabilities");
	static const char *const sets[] = {"bounding", "effective", "permitted"};
	for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
		json_t *l = json_object_get(caps, sets[k]);
		assert_int_equal(json_array_size(l), 3);
		assert_true(array_has(l, "CAP_AUDIT_WRITE"));
		assert_true(array_has(l, "CAP_KILL"));
		assert_true(array_has(l, "CAP_NET_BIND_SERVICE"));
		size_t i;
		json_t *v;
		json_array_foreach(l, i, v) assert_true(sec_cap_from_name(json_string_value(v)) >= 0);
	}
	json_t *rl = json_array_get(json_object_get(p, "rlimits"), 0);
	assert_string_equal(json_string_value(json_object_get(rl, "type")), "RLIMIT_NOFILE");
	assert_int_equal(json_integer_value(json_object_get(rl, "hard")), 1024);
	assert_int_equal(json_integer_value(json_object_get(rl, "soft")), 1024);

	json_t *root = json_object_get(s, "root");
	assert_string_equal(json_string_value(json_object_get(root, "path")), "rootfs");
	assert_true(json_is_true(json_object_get(root, "readonly")));

	assert_int_equal(json_array_size(json_object_get(s, "mounts")), 7);
	json_t *sys = find_mount(s, "/sys");
	assert_string_equal(json_string_value(json_object_get(sys, "type")), "sysfs");
	assert_true(array_has(json_object_get(find_mount(s, "/dev/pts"), "options"), "gid=5"));
	assert_true(array_has(json_object_get(find_mount(s, "/dev"), "options"), "size=65536k"));
	assert_non_null(find_mount(s, "/proc"));
	assert_non_null(find_mount(s, "/dev/shm"));
	assert_non_null(find_mount(s, "/dev/mqueue"));
	assert_non_null(find_mount(s, "/sys/fs/cgroup"));

	json_t *l = json_object_get(s, "linux");
	for (const char *const *n = (const char *const[]){"pid", "network", "ipc", "uts", "mount", "cgroup", NULL}; *n; n++)
		assert_true(has_namespace(l, *n));
	assert_false(has_namespace(l, "user"));
	json_t *dev = json_array_get(json_object_get(json_object_get(l, "resources"), "devices"), 0);
	assert_true(json_is_false(json_object_get(dev, "allow")));
	assert_string_equal(json_string_value(json_object_get(dev, "access")), "rwm");
	assert_int_equal(json_array_size(json_object_get(l, "maskedPaths")), 11);
	assert_true(array_has(json_object_get(l, "maskedPaths"), "/proc/kcore"));
	assert_true(array_has(json_object_get(l, "maskedPaths"), "/sys/devices/virtual/powercap"));
	assert_int_equal(json_array_size(json_object_get(l, "readonlyPaths")), 5);
	assert_true(array_has(json_object_get(l, "readonlyPaths"), "/proc/sysrq-trigger"));
	assert_null(json_object_get(l, "uidMappings"));

	char *text = json_dumps(s, JSON_INDENT(2));
	assert_non_null(text);
	free(text);
	json_decref(s);

	/* rootless */
	s = spec_default(true);
	assert_non_null(s);
	l = json_object_get(s, "linux");
	assert_true(has_namespace(l, "user"));
	assert_false(has_namespace(l, "network"));
	assert_true(has_namespace(l, "pid"));
	json_t *um = json_array_get(json_object_get(l, "uidMappings"), 0);
	json_t *gm = json_array_get(json_object_get(l, "gidMappings"), 0);
	assert_int_equal(json_integer_value(json_object_get(um, "containerID")), 0);
	assert_int_equal(json_integer_value(json_object_get(um, "hostID")), geteuid());
	assert_int_equal(json_integer_value(json_object_get(um, "size")), 1);
	assert_int_equal(json_integer_value(json_object_get(gm, "hostID")), getegid());
	assert_null(json_object_get(l, "resources"));
	sys = find_mount(s, "/sys");
	assert_string_equal(json_string_value(json_object_get(sys, "type")), "none");
	assert_string_equal(json_string_value(json_object_get(sys, "source")), "/sys");
	assert_true(array_has(json_object_get(sys, "options"), "rbind"));
	assert_true(array_has(json_object_get(sys, "options"), "ro"));
	assert_false(array_has(json_object_get(find_mount(s, "/dev/pts"), "options"), "gid=5"));
	json_decref(s);
}

static void test_spec_features(void **state)
{
	(void)state;
	json_t *f = spec_features();
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMax")), "1.2.0");
	assert_true(array_has(json_object_get(f, "hooks"), "createContainer"));
	assert_int_equal(json_array_size(json_object_get(f, "hooks")), 6);
	assert_true(array_has(json_object_get(f, "mountOptions"), "rbind"));
	assert_true(array_has(json_object_get(f, "mountOptions"), "nosymfollow"));

	json_t *l = json_object_get(f, "linux");
	assert_true(array_has(json_object_get(l, "namespaces"), "user"));
	json_t *caps = json_object_get(l, "capabilities");
	assert_true(array_has(caps, "CAP_SYS_ADMIN"));
	assert_true(array_has(caps, "CAP_CHOWN"));
	assert_true(json_array_size(caps) >= 38);
	size_t i;
	json_t *v;
	json_array_foreach(caps, i, v) assert_int_equal(strncmp(json_string_value(v), "CAP_", 4), 0);

	json_t *cg = json_object_get(l, "cgroup");
	assert_true(json_is_true(json_object_get(cg, "v1")));
	assert_true(json_is_true(json_object_get(cg, "v2")));
	assert_true(json_is_false(json_object_get(cg, "systemd")));

	json_t *sc = json_object_get(l, "seccomp");
	assert_true(json_is_true(json_object_get(sc, "enabled")));
	assert_true(array_has(json_object_get(sc, "actions"), "SCMP_ACT_NOTIFY"));
	assert_true(array_has(json_object_get(sc, "operators"), "SCMP_CMP_MASKED_EQ"));
	assert_true(array_has(json_object_get(sc, "archs"), "SCMP_ARCH_X86_64"));
	json_t *known = json_object_get(sc, "knownFlags");
	json_t *supp = json_object_get(sc, "supportedFlags");
	assert_int_equal(json_array_size(known), 4);
	json_array_foreach(supp, i, v) assert_true(array_has(known, json_string_value(v)));
	/* every kernel since 4.14 has these */
	assert_true(array_has(supp, "SECCOMP_FILTER_FLAG_TSYNC"));
	assert_true(array_has(supp, "SECCOMP_FILTER_FLAG_LOG"));

	assert_true(json_is_false(json_object_get(json_object_get(l, "apparmor"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(l, "selinux"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(l, "intelRdt"), "enabled")));
	assert_true(json_is_false(json_object_get(
		json_object_get(json_object_get(l, "mountExtensions"), "idmap"), "enabled")));
	json_t *ann = json_object_get(f, "annotations");
	assert_true(json_is_string(json_object_get(ann, "io.github.hull.version")));
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_names),
		cmocka_unit_test(test_caps_validate),
		cmocka_unit_test(test_seccomp_load),
		cmocka_unit_test(test_seccomp_default_errno),
		cmocka_unit_test(test_seccomp_notify),
		cmocka_unit_test(test_seccomp_compile_variants),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_user_caps),
		cmocka_unit_test(test_process_attrs),
		cmocka_unit_test(test_spec_default),
		cmocka_unit_test(test_spec_features),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
