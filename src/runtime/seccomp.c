/* seccomp.c - compile the spec's linux.seccomp with libseccomp into a
 * classic BPF program (in the runtime, before the container's init is
 * cloned), and load that program (in the init, just before exec).
 *
 * Conventions followed (runtime-spec config-linux.md, and runc where the
 * spec is silent):
 *   - errnoRet / defaultErrnoRet default to EPERM for SCMP_ACT_ERRNO and
 *     SCMP_ACT_TRACE; given with any other action they are an error;
 *   - the native architecture is always in the filter; "architectures"
 *     adds more;
 *   - syscall names the native architecture does not know are skipped;
 *   - a rule whose action is the default action is skipped (libseccomp
 *     refuses it, and it changes nothing);
 *   - the args of one rule are AND'ed into a single libseccomp rule, unless
 *     two of them test the same argument index: then each arg becomes a
 *     rule of its own (so they are OR'ed), since a single rule cannot test
 *     one argument twice;
 *   - SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath and cannot be the
 *     default action (every syscall of the init, including the one that
 *     hands the listener to the agent, would wait for the agent).
 */

#include <seccomp.h>

#include "runtime/security.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

/* Kernel values (uapi linux/seccomp.h); older headers lack the newest. */
#define HULL_SECCOMP_FLAG_TSYNC (1U << 0)
#define HULL_SECCOMP_FLAG_LOG (1U << 1)
#define HULL_SECCOMP_FLAG_SPEC_ALLOW (1U << 2)
#define HULL_SECCOMP_FLAG_NEW_LISTENER (1U << 3)
#define HULL_SECCOMP_FLAG_TSYNC_ESRCH (1U << 4)
#define HULL_SECCOMP_FLAG_WAIT_KILLABLE_RECV (1U << 5)

/* A classic BPF program may not be longer than this (BPF_MAXINSNS). */
#define HULL_BPF_MAXINSNS 4096

struct name_u32 {
	const char *name;
	uint32_t value;
};

static const struct name_u32 seccomp_arches[] = {
	{"SCMP_ARCH_X86", SCMP_ARCH_X86},
	{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
	{"SCMP_ARCH_X32", SCMP_ARCH_X32},
	{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
	{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
	{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
	{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
	{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
	{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
	{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
	{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
	{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
	{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
	{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
	{"SCMP_ARCH_S390", SCMP_ARCH_S390},
	{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
	{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
	{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
	{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

static const struct name_u32 seccomp_ops[] = {
	{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
	{"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	{"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

static const struct name_u32 seccomp_flags[] = {
	{"SECCOMP_FILTER_FLAG_TSYNC", HULL_SECCOMP_FLAG_TSYNC},
	{"SECCOMP_FILTER_FLAG_LOG", HULL_SECCOMP_FLAG_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", HULL_SECCOMP_FLAG_SPEC_ALLOW},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", HULL_SECCOMP_FLAG_WAIT_KILLABLE_RECV},
};

static int find(const struct name_u32 *t, size_t n, const char *name, uint32_t *ret)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(t[i].name, name) == 0) {
			*ret = t[i].value;
			return 0;
		}
	return -1;
}

/* The libseccomp action for an action name and its errnoRet.  `field`
 * names where it came from for errors. */
static int parse_action(const char *name, bool has_errno, unsigned errno_ret, const char *field,
			uint32_t *ret, hull_error **err)
{
	static const struct name_u32 plain[] = {
		{"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
		{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
		{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
		{"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
		{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
		{"SCMP_ACT_LOG", SCMP_ACT_LOG},
		{"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
	};
	bool is_errno, is_trace;

	if (!name)
		return hull_error_set(err, 0, "%s is required", field);
	is_errno = strcmp(name, "SCMP_ACT_ERRNO") == 0;
	is_trace = strcmp(name, "SCMP_ACT_TRACE") == 0;

	if (!is_errno && !is_trace) {
		if (find(plain, ARRAY_SIZE(plain), name, ret) < 0)
			return hull_error_set(err, 0, "%s: unknown seccomp action '%s'", field, name);
		if (has_errno)
			return hull_error_set(err, 0, "%s: action %s does not take an errno return",
					      field, name);
		return 0;
	}
	if (has_errno && errno_ret > 0xffff)
		return hull_error_set(err, 0, "%s: errno return %u out of range (0 to 65535)",
				      field, errno_ret);
	uint32_t data = has_errno ? errno_ret : EPERM;
	*ret = is_errno ? SCMP_ACT_ERRNO(data) : SCMP_ACT_TRACE(data);
	return 0;
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

void hull_bpf_free(struct hull_bpf *bpf)
{
	if (!bpf)
		return;
	free(bpf->filter);
	free(bpf);
}

static void bpf_freep(struct hull_bpf **b)
{
	hull_bpf_free(*b);
}

/* Export the compiled filter through a memfd (libseccomp 2.5 has no
 * export to memory) into bpf->filter. */
static int export_bpf(scmp_filter_ctx ctx, struct hull_bpf *bpf, hull_error **err)
{
	struct stat st;

	_cleanup_close_ int fd = memfd_create("hull-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return hull_error_set(err, errno, "export the seccomp filter: memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return hull_error_set(err, -r, "export the seccomp filter (libseccomp)");
	if (fstat(fd, &st) < 0)
		return hull_error_set(err, errno, "export the seccomp filter: fstat");

	size_t size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0)
		return hull_error_set(err, 0,
				      "export the seccomp filter: %zu bytes is not a BPF program", size);
	size_t len = size / sizeof(struct sock_filter);
	if (len > HULL_BPF_MAXINSNS)
		return hull_error_set(err, 0,
				      "the seccomp filter has %zu instructions, more than the "
				      "kernel's limit of %d",
				      len, HULL_BPF_MAXINSNS);

	_cleanup_free_ void *buf = malloc(size);
	if (!buf)
		return hull_error_set(err, ENOMEM, "export the seccomp filter");
	size_t done = 0;
	while (done < size) {
		ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hull_error_set(err, errno, "export the seccomp filter: read back");
		}
		if (n == 0)
			return hull_error_set(err, 0, "export the seccomp filter: short read");
		done += (size_t)n;
	}
	bpf->filter = TAKE_PTR(buf);
	bpf->len = len;
	return 0;
}

/* Add one spec rule (already resolved to `nr` and `action`). */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *conds,
		    size_t n_conds, bool split)
{
	if (!split || n_conds <= 1)
		return seccomp_rule_add_array(ctx, action, nr, (unsigned)n_conds, conds);
	for (size_t k = 0; k < n_conds; k++) {
		int r = seccomp_rule_add_array(ctx, action, nr, 1, &conds[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

int seccomp_compile(const struct oci_seccomp *s, struct hull_bpf **ret, hull_error **err)
{
	uint32_t def_action, action, flag;
	char field[96];
	bool notify = false;
	int r;

	*ret = NULL;
	if (parse_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			 "linux.seccomp.defaultAction", &def_action, err) < 0)
		return -1;
	if (def_action == SCMP_ACT_NOTIFY)
		return hull_error_set(err, 0,
				      "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
				      "default action");

	__attribute__((cleanup(bpf_freep))) struct hull_bpf *bpf = calloc(1, sizeof(*bpf));
	if (!bpf)
		return hull_error_set(err, ENOMEM, "compile seccomp filter");

	for (size_t i = 0; s->flags && s->flags[i]; i++) {
		if (find(seccomp_flags, ARRAY_SIZE(seccomp_flags), s->flags[i], &flag) < 0)
			return hull_error_set(err, 0, "unknown seccomp flag '%s' in linux.seccomp.flags",
					      s->flags[i]);
		bpf->flags |= flag;
	}

	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = seccomp_init(def_action);
	if (!ctx)
		return hull_error_set(err, 0, "initialize the seccomp filter (default action %s)",
				      s->default_action);

	/* We set no_new_privs ourselves, when the config asks. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return hull_error_set(err, -r, "seccomp filter: turn off libseccomp's no_new_privs");
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	/* binary tree of syscalls: much faster for long lists; a library
	 * that does not support it just keeps the linear list */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		log_debug("seccomp: optimize level 2 not supported by libseccomp (%s)", strerror(-r));
#endif

	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		uint32_t arch;
		if (find(seccomp_arches, ARRAY_SIZE(seccomp_arches), s->architectures[i], &arch) < 0)
			return hull_error_set(err, 0,
					      "unknown seccomp architecture '%s' in "
					      "linux.seccomp.architectures",
					      s->architectures[i]);
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return hull_error_set(err, -r, "add seccomp architecture %s", s->architectures[i]);
	}

	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *sc = &s->syscalls[i];
		struct scmp_arg_cmp conds[16];
		unsigned per_index[6] = {0};
		bool split = false;

		snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu].action", i);
		if (parse_action(sc->action, sc->has_errno_ret, sc->errno_ret, field, &action, err) < 0)
			return -1;
		if (sc->n_args > ARRAY_SIZE(conds))
			return hull_error_set(err, 0, "linux.seccomp.syscalls[%zu]: %zu args, at most %zu",
					      i, sc->n_args, ARRAY_SIZE(conds));
		for (size_t k = 0; k < sc->n_args; k++) {
			const struct oci_seccomp_arg *a = &sc->args[k];
			uint32_t op;
			if (a->index >= 6)
				return hull_error_set(err, 0,
						      "linux.seccomp.syscalls[%zu].args[%zu]: index %u out "
						      "of range (0 to 5)",
						      i, k, a->index);
			if (find(seccomp_ops, ARRAY_SIZE(seccomp_ops), a->op, &op) < 0)
				return hull_error_set(err, 0,
						      "linux.seccomp.syscalls[%zu].args[%zu]: unknown "
						      "operator '%s'",
						      i, k, a->op ? a->op : "");
			/* MASKED_EQ: value is the mask, valueTwo the datum */
			conds[k] = (struct scmp_arg_cmp){
				.arg = a->index,
				.op = (enum scmp_compare)op,
				.datum_a = a->value,
				.datum_b = a->value_two,
			};
			if (++per_index[a->index] > 1)
				split = true;
		}

		if (action == SCMP_ACT_NOTIFY)
			notify = true;
		if (action == def_action)
			continue; /* same as the default: libseccomp refuses it */

		for (size_t j = 0; sc->names && sc->names[j]; j++) {
			const char *name = sc->names[j];
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR) {
				log_debug("seccomp: syscall '%s' unknown here; skipped", name);
				continue;
			}
			r = add_rule(ctx, action, nr, conds, sc->n_args, split);
			if (r < 0)
				return hull_error_set(err, -r, "add seccomp rule %s for syscall '%s'",
						      sc->action, name);
		}
	}

	if (notify && !s->listener_path)
		return hull_error_set(err, 0,
				      "linux.seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set");
	bpf->notify = notify;
	if (!notify && (bpf->flags & HULL_SECCOMP_FLAG_WAIT_KILLABLE_RECV)) {
		/* only meaningful (and only accepted) with a listener */
		log_debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY; ignored");
		bpf->flags &= ~HULL_SECCOMP_FLAG_WAIT_KILLABLE_RECV;
	}

	if (export_bpf(ctx, bpf, err) < 0)
		return -1;
	*ret = TAKE_PTR(bpf);
	return 0;
}

int hull_seccomp_load(const struct hull_bpf *bpf, int *ret_listener, hull_error **err)
{
	if (ret_listener)
		*ret_listener = -1;
	if (!bpf || !bpf->filter || bpf->len == 0 || bpf->len > HULL_BPF_MAXINSNS)
		return hull_error_set(err, 0, "load seccomp filter: no valid program");

	struct sock_fprog prog = {
		.len = (unsigned short)bpf->len,
		.filter = bpf->filter,
	};
	unsigned flags = bpf->flags;
	if (bpf->notify) {
		flags |= HULL_SECCOMP_FLAG_NEW_LISTENER;
		/* TSYNC and NEW_LISTENER together need TSYNC_ESRCH */
		if (flags & HULL_SECCOMP_FLAG_TSYNC)
			flags |= HULL_SECCOMP_FLAG_TSYNC_ESRCH;
	}

	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0 && errno == ENOSYS && flags == 0)
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	if (r < 0) {
		int e = errno;
		const char *hint = "";
		if (e == EACCES)
			hint = " (needs no_new_privs or CAP_SYS_ADMIN)";
		else if (e == EINVAL && flags)
			hint = " (the kernel may not support the filter flags)";
		return hull_error_set(err, e, "load seccomp filter (%zu instructions, flags 0x%x)%s",
				      bpf->len, flags, hint);
	}
	if (!bpf->notify && r > 0)
		return hull_error_set(err, 0,
				      "load seccomp filter: thread %ld could not be synchronized (TSYNC)",
				      r);
	if (bpf->notify) {
		if (ret_listener)
			*ret_listener = (int)r;
		else
			close((int)r);
	}
	return 0;
}
