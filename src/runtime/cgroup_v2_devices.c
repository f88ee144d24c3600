/* cgroup_v2_devices.c - linux.resources.devices on cgroup v2.
 *
 * cgroup v2 has no devices.allow / devices.deny files: device access is
 * decided by eBPF programs of type BPF_PROG_TYPE_CGROUP_DEVICE attached to
 * the cgroup (and to its ancestors; every one of them must allow).  We
 * translate the OCI rules into such a program, load it and attach it to the
 * container's cgroup directory, replacing the program an earlier call put
 * there (runtime `update`).
 *
 * Semantics (runtime-spec "Allowed Device list": entries are applied in the
 * listed order, as writes to the v1 devices.allow / devices.deny files
 * would be; a non-empty list is an allow list, so what no entry allows is
 * denied - the same result as the v1 backend's leading "a" to devices.deny):
 *
 *   - a rule matches a device when its type is 'a' or equals the device's
 *     ('c' / 'b'), and its major and minor are -1 (wildcard) or equal;
 *   - each access bit (r, w, m) of a matching device is decided by the LAST
 *     rule in the list that matches the device and names that bit: allow or
 *     deny; a bit no rule names is denied;
 *   - an access asking for several bits (open O_RDWR asks r and w at once)
 *     is allowed when every bit is allowed; one asking for none (access(2)
 *     with F_OK) is allowed when at least one bit is.
 *
 * So "last matching rule wins", refined per bit: [allow c 1:3 r, allow c
 * 1:3 w] allows O_RDWR on 1:3 as the v1 exception list would.  Where the v1
 * kernel differs - "deny c *:* rwm" after "allow c 1:3 rwm" removes only an
 * exception that is exactly "c *:*" and so leaves 1:3 allowed - we follow
 * the list order, which denies 1:3: later, broader denials win.
 *
 * The program applies the rules in list order, without a branch: for each
 * rule it computes, from the device's type, major and minor, whether the
 * rule matches (1 or 0), and so which of the rule's bits it decides, and
 * sets or clears them in a register of allowed bits, which starts empty.
 * After the last rule that register holds, for each bit, the verdict of the
 * last matching rule naming it: the same result as walking the rules from
 * last to first and stopping at the first match, bit by bit.  It is also
 * what the verifier takes for any number of rules, in one pass (about 15
 * instructions a rule; the 1M instruction limit allows ~65000 rules): a
 * program with a branch per rule leaves a pending branch per rule on the
 * verifier's stack and fails near 3000 rules ("the sequence of 8193 jumps
 * is too complex").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Name given to our programs, to tell them from programs others attached. */
#define PROG_NAME "hull_devices"
#define PROG_LICENSE "Apache"
#define VERIFIER_LOG_SIZE (64 * 1024)

/* ---- instruction encoding (the kernel's filter.h macros are not UAPI) ---- */

#define INSN(CODE, DST, SRC, OFF, IMM) \
	((struct bpf_insn){ .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM) })
/* dst = *(u32 *)(src + off) */
#define LDX_W(DST, SRC, OFF) INSN(BPF_LDX | BPF_W | BPF_MEM, DST, SRC, OFF, 0)
/* 32-bit ALU, immediate / register operand */
#define ALU32_IMM(OP, DST, IMM) INSN(BPF_ALU | (OP) | BPF_K, DST, 0, 0, IMM)
#define ALU32_REG(OP, DST, SRC) INSN(BPF_ALU | (OP) | BPF_X, DST, SRC, 0, 0)
/* 64-bit ALU */
#define ALU64_IMM(OP, DST, IMM) INSN(BPF_ALU64 | (OP) | BPF_K, DST, 0, 0, IMM)
#define ALU64_REG(OP, DST, SRC) INSN(BPF_ALU64 | (OP) | BPF_X, DST, SRC, 0, 0)
/* 32-bit compare of dst with imm, jump off instructions ahead */
#define JMP32_IMM(OP, DST, IMM, OFF) INSN(BPF_JMP32 | (OP) | BPF_K, DST, 0, OFF, IMM)
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers of the program. */
enum {
	R_RET = BPF_REG_0,   /* scratch, then the verdict */
	R_CTX = BPF_REG_1,   /* struct bpf_cgroup_dev_ctx * */
	R_TYPE = BPF_REG_2,  /* BPF_DEVCG_DEV_BLOCK / _CHAR */
	R_ACC = BPF_REG_3,   /* requested BPF_DEVCG_ACC_* bits */
	R_MAJOR = BPF_REG_4,
	R_MINOR = BPF_REG_5,
	R_ALLOW = BPF_REG_6, /* bits allowed by the rules so far */
	R_TMP = BPF_REG_7,
};

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

struct prog {
	struct bpf_insn *insns;
	size_t n, cap;
};

static int emit(struct prog *p, struct bpf_insn insn)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct bpf_insn *ni = reallocarray(p->insns, cap, sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		p->insns = ni;
		p->cap = cap;
	}
	p->insns[p->n++] = insn;
	return 0;
}

/* Translated form of one rule. */
struct dev_rule {
	bool allow;
	int type;        /* BPF_DEVCG_DEV_*, 0 = any */
	int64_t major;   /* -1 = any */
	int64_t minor;   /* -1 = any */
	unsigned access; /* BPF_DEVCG_ACC_* bits */
};

static int translate(const struct oci_device_cgroup *d, size_t i, struct dev_rule *out, hull_error **err)
{
	out->allow = d->allow;
	switch (d->type ? d->type : 'a') {
	case 'a':
		out->type = 0;
		break;
	case 'c':
		out->type = BPF_DEVCG_DEV_CHAR;
		break;
	case 'b':
		out->type = BPF_DEVCG_DEV_BLOCK;
		break;
	default:
		return hull_error_set(err, EINVAL, "device rule %zu: invalid type '%c'", i, d->type);
	}
	if (d->major < -1 || d->major > UINT32_MAX)
		return hull_error_set(err, EINVAL, "device rule %zu: invalid major %" PRId64, i, d->major);
	if (d->minor < -1 || d->minor > UINT32_MAX)
		return hull_error_set(err, EINVAL, "device rule %zu: invalid minor %" PRId64, i, d->minor);
	out->major = d->major;
	out->minor = d->minor;
	const char *a = d->access && d->access[0] ? d->access : "rwm";
	out->access = 0;
	for (const char *c = a; *c; c++) {
		switch (*c) {
		case 'r':
			out->access |= BPF_DEVCG_ACC_READ;
			break;
		case 'w':
			out->access |= BPF_DEVCG_ACC_WRITE;
			break;
		case 'm':
			out->access |= BPF_DEVCG_ACC_MKNOD;
			break;
		default:
			return hull_error_set(err, EINVAL, "device rule %zu: invalid access '%s'", i, a);
		}
	}
	return 0;
}

/* r0 (=|) reg ^ value: zero while the device matches so far. */
static int emit_diff(struct prog *p, bool first, int reg, uint32_t value)
{
	int dst = first ? R_RET : R_TMP;
	int rc = emit(p, ALU32_REG(BPF_MOV, dst, reg));
	rc = rc ?: emit(p, ALU32_IMM(BPF_XOR, dst, (int32_t)value));
	if (!first)
		rc = rc ?: emit(p, ALU32_REG(BPF_OR, R_RET, R_TMP));
	return rc;
}

/* One rule, no branch:
 *
 *   r0 = (type ^ T) | (major ^ MAJ) | (minor ^ MIN)   the parts it names
 *   r0 = ((r0 | -r0) >> 63) ^ 1      64-bit: 1 if r0 was 0 (a match), else 0
 *   r0 *= A                          the bits this rule decides here
 *   allow: allowed |= r0             deny: allowed &= ~r0
 *
 * (A multiply, not "r0 - 1" as a mask and an AND: the verifier forks its
 * state on an AND with a register known to be -1 or 0, which doubles the
 * states to check with every rule.)
 *
 * A rule naming no type, major or minor decides its bits for every device:
 * allowed |= A, or allowed &= ~A. */
static int emit_rule(struct prog *p, const struct dev_rule *r)
{
	int32_t a = (int32_t)r->access;
	if (r->type == 0 && r->major < 0 && r->minor < 0)
		return r->allow ? emit(p, ALU32_IMM(BPF_OR, R_ALLOW, a))
				: emit(p, ALU32_IMM(BPF_AND, R_ALLOW, ~a & ACC_ALL));
	int rc = 0;
	bool first = true;
	if (r->type != 0) {
		rc = rc ?: emit_diff(p, first, R_TYPE, (uint32_t)r->type);
		first = false;
	}
	if (r->major >= 0) {
		rc = rc ?: emit_diff(p, first, R_MAJOR, (uint32_t)r->major);
		first = false;
	}
	if (r->minor >= 0)
		rc = rc ?: emit_diff(p, first, R_MINOR, (uint32_t)r->minor);
	/* r0 is a zero-extended u32: r0 | -r0 has bit 63 set unless r0 == 0 */
	rc = rc ?: emit(p, ALU64_REG(BPF_MOV, R_TMP, R_RET));
	rc = rc ?: emit(p, INSN(BPF_ALU64 | BPF_NEG, R_TMP, 0, 0, 0));
	rc = rc ?: emit(p, ALU64_REG(BPF_OR, R_RET, R_TMP));
	rc = rc ?: emit(p, ALU64_IMM(BPF_RSH, R_RET, 63));
	rc = rc ?: emit(p, ALU32_IMM(BPF_XOR, R_RET, 1));
	rc = rc ?: emit(p, ALU32_IMM(BPF_MUL, R_RET, a));
	if (r->allow)
		return rc ?: emit(p, ALU32_REG(BPF_OR, R_ALLOW, R_RET));
	rc = rc ?: emit(p, ALU32_IMM(BPF_XOR, R_RET, -1));
	return rc ?: emit(p, ALU32_REG(BPF_AND, R_ALLOW, R_RET));
}

int cgroup_v2_devices_program(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **ret,
			      size_t *ret_n, hull_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	_cleanup_free_ struct dev_rule *dr = calloc(n ? n : 1, sizeof(*dr));
	if (!dr)
		return hull_error_set(err, ENOMEM, "build the device filter");
	for (size_t i = 0; i < n; i++)
		if (translate(&rules[i], i, &dr[i], err) < 0)
			return -1;

	struct prog p = { 0 };
	int rc = 0;
	/* prologue: split the context into registers; nothing allowed yet */
	rc = rc ?: emit(&p, LDX_W(R_TYPE, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, access_type)));
	rc = rc ?: emit(&p, ALU32_REG(BPF_MOV, R_ACC, R_TYPE));
	rc = rc ?: emit(&p, ALU32_IMM(BPF_RSH, R_ACC, 16));
	rc = rc ?: emit(&p, ALU32_IMM(BPF_AND, R_ACC, ACC_ALL));
	rc = rc ?: emit(&p, ALU32_IMM(BPF_AND, R_TYPE, 0xffff));
	rc = rc ?: emit(&p, LDX_W(R_MAJOR, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, major)));
	rc = rc ?: emit(&p, LDX_W(R_MINOR, R_CTX, offsetof(struct bpf_cgroup_dev_ctx, minor)));
	rc = rc ?: emit(&p, ALU32_IMM(BPF_MOV, R_ALLOW, 0));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = emit_rule(&p, &dr[i]);
	/* verdict: with bits requested, all of them allowed; with none
	 * (access(2) F_OK), any bit allowed
	 *
	 *   r0 = 0
	 *   if acc != 0 goto +2
	 *   if allowed == 0 goto exit
	 *   goto +4 (r0 = 1)
	 *   tmp = (allowed ^ ALL) & acc          requested but not allowed
	 *   if tmp != 0 goto exit
	 *   r0 = 1
	 * exit:
	 */
	rc = rc ?: emit(&p, ALU32_IMM(BPF_MOV, R_RET, 0));
	rc = rc ?: emit(&p, JMP32_IMM(BPF_JNE, R_ACC, 0, 2));
	rc = rc ?: emit(&p, JMP32_IMM(BPF_JEQ, R_ALLOW, 0, 6));
	rc = rc ?: emit(&p, INSN(BPF_JMP | BPF_JA, 0, 0, 4, 0));
	rc = rc ?: emit(&p, ALU32_REG(BPF_MOV, R_TMP, R_ALLOW));
	rc = rc ?: emit(&p, ALU32_IMM(BPF_XOR, R_TMP, ACC_ALL));
	rc = rc ?: emit(&p, ALU32_REG(BPF_AND, R_TMP, R_ACC));
	rc = rc ?: emit(&p, JMP32_IMM(BPF_JNE, R_TMP, 0, 1));
	rc = rc ?: emit(&p, ALU32_IMM(BPF_MOV, R_RET, 1));
	rc = rc ?: emit(&p, EXIT_INSN());
	if (rc < 0) {
		free(p.insns);
		return hull_error_set(err, -rc, "build the device filter");
	}
	*ret = p.insns;
	*ret_n = p.n;
	return 0;
}

/* ---- bpf(2) ---- */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int load_program(const struct bpf_insn *insns, size_t n, char *log, size_t log_size)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.expected_attach_type = BPF_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)PROG_LICENSE;
	_Static_assert(sizeof(PROG_NAME) <= sizeof(a.prog_name), "program name too long");
	memcpy(a.prog_name, PROG_NAME, sizeof(PROG_NAME));
	if (log && log_size) {
		a.log_level = 1;
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = (uint32_t)log_size;
		log[0] = '\0';
	}
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/* The ids of the CGROUP_DEVICE programs attached directly to cgroup fd
 * (malloc'd).  0 or -errno. */
static int query_programs(int cgfd, uint32_t **ret, uint32_t *ret_n)
{
	uint32_t cap = 16;
	for (;;) {
		_cleanup_free_ uint32_t *ids = calloc(cap, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.query.target_fd = (uint32_t)cgfd;
		a.query.attach_type = BPF_CGROUP_DEVICE;
		a.query.prog_ids = (uint64_t)(uintptr_t)ids;
		a.query.prog_cnt = cap;
		if (sys_bpf(BPF_PROG_QUERY, &a) == 0) {
			*ret = TAKE_PTR(ids);
			*ret_n = a.query.prog_cnt;
			return 0;
		}
		if (errno != ENOSPC || a.query.prog_cnt <= cap)
			return -errno;
		cap = a.query.prog_cnt;
	}
}

/* An fd for program id if it is one of ours (our name, device type), else
 * -1 (also when it went away meanwhile).  -errno on other failures. */
static int open_if_ours(uint32_t id)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	_cleanup_close_ int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return errno == ENOENT ? -1 : -errno;
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0)
		return -errno;
	if (info.type != BPF_PROG_TYPE_CGROUP_DEVICE || strncmp(info.name, PROG_NAME, sizeof(info.name)) != 0)
		return -1;
	return TAKE_FD(fd);
}

static int attach(int cgfd, int progfd, int replace_fd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)progfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (replace_fd >= 0) {
		a.attach_flags |= BPF_F_REPLACE;
		a.replace_bpf_fd = (uint32_t)replace_fd;
	}
	return sys_bpf(BPF_PROG_ATTACH, &a) < 0 ? -errno : 0;
}

static int detach(int cgfd, int progfd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)progfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	return sys_bpf(BPF_PROG_DETACH, &a) < 0 ? -errno : 0;
}

/* Whether we run as root of the initial user namespace: only then is a
 * refused bpf(2) an error (see cgroup_v2_devices_apply). */
static bool host_root(void)
{
	if (geteuid() != 0)
		return false;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
	if (!f)
		return true;
	unsigned long inside, outside, count;
	if (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) != 3)
		return true;
	return inside == 0 && outside == 0 && count == 4294967295UL;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int cgroup_v2_devices_apply(const char *dir, const char *path, const struct oci_device_cgroup *rules, size_t n,
			    hull_error **err)
{
	if (n == 0)
		return 0;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n_insns = 0;
	if (cgroup_v2_devices_program(rules, n, &insns, &n_insns, err) < 0)
		return hull_error_wrap(err, "linux.resources.devices for '%s'", path);

	_cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return hull_error_set(err, errno, "open '%s'", dir);
	struct statfs sfs;
	if (fstatfs(cgfd, &sfs) < 0)
		return hull_error_set(err, errno, "statfs '%s'", dir);
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (getenv("HULL_CGROUP_ROOT")) {
			log_debug("cgroup: '%s' is not on cgroup2 (a test tree), %zu device rule(s) not attached",
				  dir, n);
			return 0;
		}
		return hull_error_set(err, ENOTSUP, "attach the device filter to '%s': '%s' is not a cgroup2 directory",
				      path, dir);
	}

	_cleanup_close_ int progfd = load_program(insns, n_insns, NULL, 0);
	if (progfd < 0) {
		int e = errno;
		if ((e == EPERM || e == EACCES) && !host_root()) {
			/* rootless: bpf(2) is refused, and the rules could only
			 * narrow what the user may open anyway; runc and crun
			 * skip them likewise */
			log_debug("cgroup: bpf refused (%s) without host root, device rules for '%s' not enforced",
				  strerror(e), path);
			return 0;
		}
		if (e == EINVAL || e == EACCES) {
			/* ask the verifier why, for the debug log */
			_cleanup_free_ char *vlog = malloc(VERIFIER_LOG_SIZE);
			if (vlog) {
				int fd = load_program(insns, n_insns, vlog, VERIFIER_LOG_SIZE);
				if (fd >= 0)
					close(fd);
				else
					log_debug("cgroup: verifier log for the device filter of '%s':\n%s", path, vlog);
			}
		}
		return hull_error_set(err, e, "load the device filter for '%s'", path);
	}

	_cleanup_free_ uint32_t *ids = NULL;
	uint32_t n_ids = 0;
	int r = query_programs(cgfd, &ids, &n_ids);
	if (r < 0)
		return hull_error_set(err, -r, "query the device filters of '%s'", path);
	_cleanup_free_ int *old = calloc(n_ids ? n_ids : 1, sizeof(*old));
	if (!old)
		return hull_error_set(err, ENOMEM, "query the device filters of '%s'", path);
	size_t n_old = 0;
	for (uint32_t i = 0; i < n_ids; i++) {
		int fd = open_if_ours(ids[i]);
		if (fd < -1) {
			close_fds(old, n_old);
			return hull_error_set(err, -fd, "query the device filters of '%s': program %" PRIu32, path,
					      ids[i]);
		}
		if (fd >= 0)
			old[n_old++] = fd;
	}

	/* one earlier program: swap it atomically; else (none, or several
	 * left behind) attach, then detach the old ones - meanwhile both
	 * run and an access must pass both, so nothing is briefly allowed
	 * that either set of rules denies */
	r = -EINVAL;
	if (n_old == 1) {
		r = attach(cgfd, progfd, old[0]);
		if (r == 0) {
			close(old[0]);
			old[0] = -1;
		} else if (r != -EINVAL && r != -ENOENT) {
			close_fds(old, n_old);
			return hull_error_set(err, -r, "attach the device filter to '%s'", path);
		}
	}
	if (r < 0) {
		r = attach(cgfd, progfd, -1);
		if (r < 0) {
			close_fds(old, n_old);
			return hull_error_set(err, -r, "attach the device filter to '%s'", path);
		}
	}
	int ret = 0;
	for (size_t i = 0; i < n_old; i++) {
		if (old[i] < 0)
			continue;
		r = detach(cgfd, old[i]);
		if (r < 0 && r != -ENOENT && ret == 0)
			ret = hull_error_set(err, -r, "detach the old device filter from '%s'", path);
	}
	close_fds(old, n_old);
	log_debug("cgroup: device filter of %zu instruction(s) for %zu rule(s) attached to '%s'", n_insns, n, path);
	return ret;
}
