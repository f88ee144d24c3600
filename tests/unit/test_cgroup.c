/* test_cgroup.c - cgroup v1/v2 backends: fake trees (HULL_CGROUP_ROOT) for the
 * file formats and conversions, and the real kernel (as root) for creation,
 * joining, freezing and removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/fs.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static char fake[64];

/* ---- helpers ---- */

static void put(const char *rel, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", fake, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(fs_mkdir_p(p, 0755), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mkd(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", fake, rel);
	assert_int_equal(fs_mkdir_p(p, 0755), 0);
}

/* Contents of a file (absolute, or relative to the fake root), trailing
 * newline dropped; static buffer. */
static const char *get(const char *rel)
{
	static char buf[4096];
	char p[512];
	if (rel[0] == '/')
		snprintf(p, sizeof(p), "%s", rel);
	else
		snprintf(p, sizeof(p), "%s/%s", fake, rel);
	FILE *f = fopen(p, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

static bool exists(const char *rel)
{
	char p[512];
	if (rel[0] == '/')
		snprintf(p, sizeof(p), "%s", rel);
	else
		snprintf(p, sizeof(p), "%s/%s", fake, rel);
	return access(p, F_OK) == 0;
}

static int fake_setup(const char *mode)
{
	snprintf(fake, sizeof(fake), "/tmp/hull-cgtest-XXXXXX");
	if (!mkdtemp(fake))
		return -1;
	chmod(fake, 0755);
	setenv("HULL_CGROUP_ROOT", fake, 1);
	setenv("HULL_CGROUP_MODE", mode, 1);
	return 0;
}

static int setup_v1(void **state)
{
	return fake_setup("1");
}

static int setup_v2(void **state)
{
	return fake_setup("2");
}

static int fake_teardown(void **state)
{
	unsetenv("HULL_CGROUP_ROOT");
	unsetenv("HULL_CGROUP_MODE");
	if (fake[0])
		fs_rm_rf(fake);
	fake[0] = '\0';
	return 0;
}

#define expect_ok(expr)                                                             \
	do {                                                                        \
		hull_error *e_ = NULL;                                              \
		int r_ = (expr);                                                    \
		if (r_ < 0)                                                         \
			fail_msg("%s: %s", #expr, e_ ? e_->msg : "(no message)"); \
		hull_error_free(e_);                                                \
	} while (0)

/* Run expr (which must use `e`) expecting failure with msg containing s. */
#define expect_err(expr, s)                                                          \
	do {                                                                         \
		hull_error *e = NULL;                                                \
		int r_ = (expr);                                                     \
		assert_int_equal(r_, -1);                                            \
		assert_non_null(e);                                                  \
		if (!strstr(e->msg, (s)))                                            \
			fail_msg("error '%s' does not contain '%s'", e->msg, (s)); \
		hull_error_free(e);                                                  \
	} while (0)

static struct oci_resources no_res;

/* ---- detection and paths ---- */

static void test_detect_forced(void **state)
{
	enum cgroup_mode m = 0;
	hull_error *de = NULL;
	setenv("HULL_CGROUP_MODE", "2", 1);
	assert_int_equal(cgroup_detect(&m, &de), 0);
	assert_int_equal(m, CGROUP_MODE_V2);
	setenv("HULL_CGROUP_MODE", "1", 1);
	assert_int_equal(cgroup_detect(&m, &de), 0);
	assert_int_equal(m, CGROUP_MODE_V1);
	/* without a mode, the fake root (a tmpfs or disk dir) is "not cgroup2" */
	unsetenv("HULL_CGROUP_MODE");
	assert_int_equal(cgroup_detect(&m, &de), 0);
	assert_int_equal(m, CGROUP_MODE_V1);
	assert_string_equal(cgroup_root(), fake);
}

static void test_detect_real(void **state)
{
	struct statfs s;
	if (statfs("/sys/fs/cgroup", &s) < 0)
		skip();
	enum cgroup_mode m = 0;
	hull_error *de = NULL;
	assert_int_equal(cgroup_detect(&m, &de), 0);
	assert_int_equal(m, s.f_type == CGROUP2_SUPER_MAGIC ? CGROUP_MODE_V2 : CGROUP_MODE_V1);
	assert_string_equal(cgroup_root(), "/sys/fs/cgroup");
}

static void test_resolve_path(void **state)
{
	char *p = NULL;
	expect_ok(cgroup_resolve_path(NULL, "abc", &p, &e_));
	assert_string_equal(p, "/hull/abc");
	free(p);
	expect_ok(cgroup_resolve_path("", "abc", &p, &e_));
	assert_string_equal(p, "/hull/abc");
	free(p);
	expect_ok(cgroup_resolve_path("//a//b/./c/", "x", &p, &e_));
	assert_string_equal(p, "/a/b/c");
	free(p);
	expect_err(cgroup_resolve_path("/a/../b", "x", &p, &e), "'..'");
	expect_err(cgroup_resolve_path("/", "x", &p, &e), "root");
	expect_err(cgroup_resolve_path("system.slice:hull:x", "x", &p, &e),
		   "systemd cgroup paths are not supported: 'system.slice:hull:x'");
	expect_err(cgroup_resolve_path(NULL, "a/b", &p, &e), "invalid id");
}

/* Expected own cgroup: the memory (v1) or "0::" (v2) line of /proc/self/cgroup. */
static void own_cgroup_line(bool v2, char *out, size_t size)
{
	_cleanup_free_ char *data = NULL;
	assert_int_equal(fs_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &data, NULL), 0);
	out[0] = '\0';
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match = v2 ? (strcmp(line, "0") == 0 && c1[1] == '\0') : strstr(c1 + 1, "memory") != NULL;
		if (match)
			snprintf(out, size, "%s", c2 + 1);
	}
}

static void test_resolve_relative(void **state)
{
	char own[512], want[600];
	char *p = NULL;
	/* v2: below the "0::" line */
	setenv("HULL_CGROUP_MODE", "2", 1);
	own_cgroup_line(true, own, sizeof(own));
	if (own[0]) {
		snprintf(want, sizeof(want), "%s/foo/bar", strcmp(own, "/") == 0 ? "" : own);
		expect_ok(cgroup_resolve_path("foo//bar", "x", &p, &e_));
		assert_string_equal(p, want);
		free(p);
	}
	/* v1: below the memory controller's line */
	setenv("HULL_CGROUP_MODE", "1", 1);
	own_cgroup_line(false, own, sizeof(own));
	if (!own[0])
		skip();
	snprintf(want, sizeof(want), "%s/foo", strcmp(own, "/") == 0 ? "" : own);
	expect_ok(cgroup_resolve_path("foo", "x", &p, &e_));
	assert_string_equal(p, want);
	free(p);
	expect_err(cgroup_resolve_path("../foo", "x", &p, &e), "'..'");
}

static void test_json(void **state)
{
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V2, .path = (char *)"/hull/x", .created = true };
	json_t *j = cgroup_to_json(&cg);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"created\":true,\"mode\":2,\"path\":\"/hull/x\"}");
	free(s);
	struct hull_cgroup *back = NULL;
	expect_ok(cgroup_from_json(j, &back, &e_));
	assert_int_equal(back->mode, CGROUP_MODE_V2);
	assert_string_equal(back->path, "/hull/x");
	assert_true(back->created);
	cgroup_free(back);
	json_decref(j);

	json_t *bad = json_pack("{s:i,s:s}", "mode", 3, "path", "/x");
	expect_err(cgroup_from_json(bad, &back, &e), "mode");
	json_decref(bad);
	bad = json_pack("{s:i,s:s}", "mode", 1, "path", "x");
	expect_err(cgroup_from_json(bad, &back, &e), "path");
	json_decref(bad);
	bad = json_pack("{s:i,s:s}", "mode", 1, "path", "/a/../b");
	expect_err(cgroup_from_json(bad, &back, &e), "'..'");
	json_decref(bad);
	bad = json_pack("{s:i,s:s,s:s}", "mode", 1, "path", "/x", "created", "yes");
	expect_err(cgroup_from_json(bad, &back, &e), "created");
	json_decref(bad);

	/* the root cgroup is never created, killed or removed */
	struct hull_cgroup root = { .mode = CGROUP_MODE_V1, .path = (char *)"/", .created = true };
	expect_err(cgroup_destroy(&root, &e), "root cgroup");
	expect_err(cgroup_kill_all(&root, SIGKILL, &e), "root cgroup");
	struct hull_cgroup dots = { .mode = CGROUP_MODE_V2, .path = (char *)"/a/../..", .created = true };
	expect_err(cgroup_destroy(&dots, &e), "'..'");
	expect_err(cgroup_create("//", NULL, &back, &e), "root cgroup");
	char *hp = NULL;
	expect_err(cgroup_host_path(NULL, "memory", &hp, &e), "no cgroup");
}

/* ---- fake v2 ---- */

static const char *const v2_leaf_files[] = {
	"cgroup.procs",	    "cgroup.controllers", "cgroup.subtree_control", "cgroup.freeze", "cgroup.events",
	"cpu.weight",	    "cpu.max",		  "cpu.max.burst",	    "memory.max",    "memory.low",
	"memory.swap.max",  "memory.high",	  "pids.max",		    "io.weight",     "io.max",
	"cpuset.cpus",	    "cpuset.mems",	  "hugetlb.2MB.max",
};

static void fake_v2_tree(const char *leaf)
{
	put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put("cgroup.subtree_control", "");
	put("cgroup.procs", "");
	put("hull/cgroup.controllers", "cpu memory pids\n");
	put("hull/cgroup.subtree_control", "");
	put("hull/cgroup.procs", "");
	char p[256];
	for (size_t i = 0; i < ARRAY_SIZE(v2_leaf_files); i++) {
		snprintf(p, sizeof(p), "%s/%s", leaf, v2_leaf_files[i]);
		put(p, "");
	}
}

static void test_v2_apply(void **state)
{
	fake_v2_tree("hull/c1");
	put("hull/c1/io.bfq.weight", "");
	struct oci_resources r = { 0 };
	r.has_cpu_shares = true;
	r.cpu_shares = 1024;
	r.has_cpu_quota = r.has_cpu_period = true;
	r.cpu_quota = 50000;
	r.cpu_period = 100000;
	r.has_cpu_burst = true;
	r.cpu_burst = 1000;
	r.has_memory_limit = r.has_memory_swap = r.has_memory_reservation = true;
	r.memory_limit = 64 << 20;
	r.memory_swap = 96 << 20;
	r.memory_reservation = 32 << 20;
	r.has_memory_kernel = true; /* ignored, no error */
	r.memory_kernel = 1 << 20;
	r.has_pids_limit = true;
	r.pids_limit = -1;
	r.cpuset_cpus = (char *)"0";
	r.has_blkio_weight = true;
	r.blkio_weight = 500;
	struct oci_throttle_device rbps = { .major = 8, .minor = 0, .rate = 1048576 };
	r.throttle_read_bps = &rbps;
	r.n_throttle_read_bps = 1;
	struct oci_hugepage_limit hp = { .page_size = (char *)"2MB", .limit = 4194304 };
	r.hugepage_limits = &hp;
	r.n_hugepage_limits = 1;
	struct oci_device_cgroup dev = { .allow = false, .type = 'a', .major = -1, .minor = -1 };
	r.devices = &dev; /* ignored on v2 */
	r.n_devices = 1;
	char *uk[] = { (char *)"memory.high" }, *uv[] = { (char *)"50000000" };
	r.unified_keys = uk;
	r.unified_values = uv;
	r.n_unified = 1;

	struct hull_cgroup *cg = NULL;
	expect_ok(cgroup_create("/hull/c1", &r, &cg, &e_));
	assert_true(cg->created);
	assert_int_equal(cg->mode, CGROUP_MODE_V2);
	assert_string_equal(get("hull/c1/cpu.weight"), "39"); /* 1 + (1022*9999)/262142 */
	assert_string_equal(get("hull/c1/cpu.max"), "50000 100000");
	assert_string_equal(get("hull/c1/cpu.max.burst"), "1000");
	assert_string_equal(get("hull/c1/memory.max"), "67108864");
	assert_string_equal(get("hull/c1/memory.low"), "33554432");
	assert_string_equal(get("hull/c1/memory.swap.max"), "33554432"); /* swap - limit */
	assert_string_equal(get("hull/c1/pids.max"), "max");
	assert_string_equal(get("hull/c1/cpuset.cpus"), "0");
	assert_string_equal(get("hull/c1/io.bfq.weight"), "500");
	assert_string_equal(get("hull/c1/io.weight"), "4950"); /* 1 + 490*9999/990 */
	assert_string_equal(get("hull/c1/io.max"), "8:0 rbps=1048576");
	assert_string_equal(get("hull/c1/hugetlb.2MB.max"), "4194304");
	assert_string_equal(get("hull/c1/memory.high"), "50000000");
	/* controllers enabled from the root down to the parent, as offered */
	assert_string_equal(get("cgroup.subtree_control"), "+cpu +memory +pids +io +cpuset +hugetlb");
	assert_string_equal(get("hull/cgroup.subtree_control"), "+cpu +memory +pids");
	assert_string_equal(get("hull/c1/cgroup.subtree_control"), "");

	char *hp_path = NULL;
	expect_ok(cgroup_host_path(cg, "memory", &hp_path, &e_));
	char want[256];
	snprintf(want, sizeof(want), "%s/hull/c1", fake);
	assert_string_equal(hp_path, want);
	free(hp_path);
	cgroup_free(cg);
}

static void test_v2_update(void **state)
{
	fake_v2_tree("hull/c2");
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V2, .path = (char *)"/hull/c2", .created = true };
	struct oci_resources r = { 0 };
	r.has_cpu_quota = r.has_cpu_period = true;
	r.cpu_quota = -1;
	r.cpu_period = 100000;
	r.has_pids_limit = true;
	r.pids_limit = 10;
	r.has_memory_limit = true;
	r.memory_limit = -1;
	r.has_memory_swap = true;
	r.memory_swap = -1;
	r.has_cpu_shares = true;
	r.cpu_shares = 2;
	expect_ok(cgroup_update(&cg, &r, &e_));
	assert_string_equal(get("hull/c2/cpu.max"), "max 100000");
	assert_string_equal(get("hull/c2/pids.max"), "10");
	assert_string_equal(get("hull/c2/memory.max"), "max");
	assert_string_equal(get("hull/c2/memory.swap.max"), "max");
	assert_string_equal(get("hull/c2/cpu.weight"), "1");

	/* only the period: the current quota is kept */
	put("hull/c2/cpu.max", "20000 100000\n");
	struct oci_resources p = { 0 };
	p.has_cpu_period = true;
	p.cpu_period = 50000;
	p.has_cpu_shares = true;
	p.cpu_shares = 262144;
	expect_ok(cgroup_update(&cg, &p, &e_));
	assert_string_equal(get("hull/c2/cpu.max"), "20000 50000");
	assert_string_equal(get("hull/c2/cpu.weight"), "10000");

	/* pids limit 0 means unlimited too */
	struct oci_resources z = { 0 };
	z.has_pids_limit = true;
	expect_ok(cgroup_update(&cg, &z, &e_));
	assert_string_equal(get("hull/c2/pids.max"), "max");
}

static void test_v2_errors(void **state)
{
	fake_v2_tree("hull/c3");
	unlink(strcat(strcpy((char[256]){ 0 }, fake), "/hull/c3/hugetlb.2MB.max"));
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V2, .path = (char *)"/hull/c3", .created = true };

	struct oci_resources r = { 0 };
	r.has_memory_limit = r.has_memory_swap = true;
	r.memory_limit = 100 << 20;
	r.memory_swap = 50 << 20;
	expect_err(cgroup_update(&cg, &r, &e), "memory.swap.max");

	struct oci_resources s = { 0 };
	s.has_memory_swap = true;
	s.memory_swap = 50 << 20;
	expect_err(cgroup_update(&cg, &s, &e), "needs a memory limit");

	struct oci_hugepage_limit hp = { .page_size = (char *)"2MB", .limit = 1 };
	struct oci_resources h = { 0 };
	h.hugepage_limits = &hp;
	h.n_hugepage_limits = 1;
	expect_err(cgroup_update(&cg, &h, &e), "set 'hugetlb.2MB.max' to '1': no such file or directory");

	char *uk[] = { (char *)"../cgroup.procs" }, *uv[] = { (char *)"1" };
	struct oci_resources u = { 0 };
	u.unified_keys = uk;
	u.unified_values = uv;
	u.n_unified = 1;
	expect_err(cgroup_update(&cg, &u, &e), "invalid key '../cgroup.procs'");

	struct oci_resources rt = { 0 };
	rt.has_cpu_realtime_runtime = true;
	rt.cpu_realtime_runtime = 1000;
	expect_err(cgroup_update(&cg, &rt, &e), "realtime");

	/* a file the kernel would own but the tree lacks: the error names it */
	struct hull_cgroup *cg2 = NULL;
	struct oci_resources pl = { 0 };
	pl.has_pids_limit = true;
	pl.pids_limit = 5;
	expect_err(cgroup_create("/hull/new", &pl, &cg2, &e), "set 'pids.max' to '5'");
	/* and the directory we made for it is rolled back */
	assert_false(exists("hull/new"));
	assert_true(exists("hull"));
}

static void test_v2_freeze_fake(void **state)
{
	fake_v2_tree("hull/c4");
	put("hull/c4/cgroup.events", "populated 1\nfrozen 1\n");
	struct hull_cgroup cg = { .mode = CGROUP_MODE_V2, .path = (char *)"/hull/c4", .created = true };
	expect_ok(cgroup_freeze(&cg, true, &e_));
	assert_string_equal(get("hull/c4/cgroup.freeze"), "1");
	bool fr = false;
	expect_ok(cgroup_is_frozen(&cg, &fr, &e_));
	assert_true(fr);
	put("hull/c4/cgroup.events", "populated 1\nfrozen 0\n");
	expect_ok(cgroup_freeze(&cg, false, &e_));
	assert_string_equal(get("hull/c4/cgroup.freeze"), "0");
	expect_ok(cgroup_is_frozen(&cg, &fr, &e_));
	assert_false(fr);
	/* pids: recursive, from cgroup.procs of the cgroup and its children */
	put("hull/c4/cgroup.procs", "11\n12\n");
	put("hull/c4/sub/cgroup.procs", "13\n");
	pid_t *pids = NULL;
	size_t n = 0;
	expect_ok(cgroup_pids(&cg, &pids, &n, &e_));
	assert_int_equal(n, 3);
	int sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += pids[i];
	assert_int_equal(sum, 36);
	free(pids);
	/* not created: nothing to list, freezing is an error */
	cg.created = false;
	expect_ok(cgroup_pids(&cg, &pids, &n, &e_));
	assert_int_equal(n, 0);
	expect_err(cgroup_freeze(&cg, true, &e), "no cgroup of its own");
}

/* Without permission to create the directory: fine when nothing is asked. */
static void run_noperm(bool v2)
{
	if (v2)
		put("cgroup.controllers", "");
	else
		mkd("memory");
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/%s", fake, v2 ? "" : "memory");
	chmod(dir, 0555);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(10);
		struct hull_cgroup *cg = NULL;
		hull_error *e = NULL;
		if (cgroup_create("/hull/x", NULL, &cg, &e) < 0 || cg->created)
			_exit(11);
		cgroup_free(cg);
		if (cgroup_create("/hull/x", &no_res, &cg, &e) < 0 || cg->created)
			_exit(12);
		/* a no-op enter/destroy for such a cgroup */
		if (cgroup_enter(cg, getpid(), &e) < 0 || cgroup_destroy(cg, &e) < 0)
			_exit(13);
		cgroup_free(cg);
		struct oci_resources r = { 0 };
		r.has_pids_limit = true;
		r.pids_limit = 3;
		if (cgroup_create("/hull/x", &r, &cg, &e) == 0)
			_exit(14);
		if (!strstr(e->msg, "permission denied") || !strstr(e->msg, "/hull"))
			_exit(15);
		hull_error_free(e);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	chmod(dir, 0755);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_v2_noperm(void **state)
{
	run_noperm(true);
}

/* ---- fake v1 ---- */

static void fake_v1_tree(void)
{
	static const char *const hiers[] = { "cpu,cpuacct", "memory", "pids", "freezer", "cpuset", "systemd" };
	for (size_t i = 0; i < ARRAY_SIZE(hiers); i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/cgroup.procs", hiers[i]);
		put(p, "");
	}
	put("unified/cgroup.controllers", ""); /* the hybrid cgroup2 mount: ignored */
	char link[256];
	snprintf(link, sizeof(link), "%s/cpu", fake);
	assert_int_equal(symlink("cpu,cpuacct", link), 0); /* as distributions do; not a hierarchy */
}

static void test_v1_hierarchies_fake(void **state)
{
	fake_v1_tree();
	char **names = NULL, **mps = NULL;
	expect_ok(cgroup_v1_hierarchies(&names, &mps, &e_));
	size_t n = 0;
	bool seen_cpu = false, seen_systemd = false;
	for (; names[n]; n++) {
		char want[256];
		snprintf(want, sizeof(want), "%s/%s", fake, names[n]);
		assert_string_equal(mps[n], want);
		assert_string_not_equal(names[n], "unified");
		assert_string_not_equal(names[n], "cpu");
		seen_cpu |= strcmp(names[n], "cpu,cpuacct") == 0;
		seen_systemd |= strcmp(names[n], "systemd") == 0;
	}
	assert_int_equal(n, 6);
	assert_true(seen_cpu && seen_systemd);
	strv_free(names);
	strv_free(mps);

	struct hull_cgroup cg = { .mode = CGROUP_MODE_V1, .path = (char *)"/hull/x", .created = true };
	char *p = NULL, want[256];
	expect_ok(cgroup_host_path(&cg, "cpuacct", &p, &e_));
	snprintf(want, sizeof(want), "%s/cpu,cpuacct/hull/x", fake);
	assert_string_equal(p, want);
	free(p);
	expect_ok(cgroup_host_path(&cg, "name=systemd", &p, &e_));
	snprintf(want, sizeof(want), "%s/systemd/hull/x", fake);
	assert_string_equal(p, want);
	free(p);
	expect_err(cgroup_host_path(&cg, "net_cls", &p, &e), "'net_cls' is not mounted");
}

static void test_v1_apply_fake(void **state)
{
	fake_v1_tree();
	put("memory/hull/x/memory.limit_in_bytes", "");
	put("memory/hull/x/memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put("memory/hull/x/memory.soft_limit_in_bytes", "");
	put("memory/hull/x/memory.swappiness", "");
	put("memory/hull/x/memory.oom_control", "");
	put("pids/hull/x/pids.max", "");
	put("cpu,cpuacct/hull/x/cpu.shares", "");
	put("cpu,cpuacct/hull/x/cpu.cfs_quota_us", "");
	put("cpu,cpuacct/hull/x/cpu.cfs_period_us", "");
	put("cpu,cpuacct/hull/x/cpu.rt_period_us", "");
	put("cpu,cpuacct/hull/x/cpu.rt_runtime_us", "");
	put("cpuset/cpuset.cpus", "0-1\n");
	put("cpuset/cpuset.mems", "0\n");
	put("cpuset/hull/cpuset.cpus", "\n"); /* an empty ancestor gets the parent's */
	put("cpuset/hull/cpuset.mems", "");
	put("cpuset/hull/x/cpuset.cpus", "");
	put("cpuset/hull/x/cpuset.mems", "");
	put("freezer/hull/x/freezer.state", "THAWED\n");

	struct oci_resources r = { 0 };
	r.has_memory_limit = r.has_memory_swap = r.has_memory_reservation = true;
	r.memory_limit = 64 << 20;
	r.memory_swap = 128 << 20;
	r.memory_reservation = 16 << 20;
	r.has_memory_kernel = true;
	r.memory_kernel = 123;
	r.has_memory_swappiness = true;
	r.memory_swappiness = 10;
	r.has_disable_oom_killer = true;
	r.disable_oom_killer = true;
	r.has_pids_limit = true;
	r.pids_limit = 0;
	r.has_cpu_shares = r.has_cpu_quota = r.has_cpu_period = true;
	r.cpu_shares = 512;
	r.cpu_quota = -1;
	r.cpu_period = 100000;
	r.has_cpu_realtime_period = r.has_cpu_realtime_runtime = true;
	r.cpu_realtime_period = 1000000;
	r.cpu_realtime_runtime = 5000;
	r.has_cpu_burst = true; /* no cpu.cfs_burst_us in the tree: skipped */
	r.cpu_burst = 10;
	r.has_net_class_id = true; /* net_cls not mounted: skipped */
	r.net_class_id = 7;

	struct hull_cgroup *cg = NULL;
	expect_ok(cgroup_create("/hull/x", &r, &cg, &e_));
	assert_true(cg->created);
	assert_int_equal(cg->mode, CGROUP_MODE_V1);
	assert_string_equal(get("memory/hull/x/memory.limit_in_bytes"), "67108864");
	assert_string_equal(get("memory/hull/x/memory.memsw.limit_in_bytes"), "134217728");
	assert_string_equal(get("memory/hull/x/memory.soft_limit_in_bytes"), "16777216");
	assert_string_equal(get("memory/hull/x/memory.swappiness"), "10");
	assert_string_equal(get("memory/hull/x/memory.oom_control"), "1");
	assert_string_equal(get("pids/hull/x/pids.max"), "max");
	assert_string_equal(get("cpu,cpuacct/hull/x/cpu.shares"), "512");
	assert_string_equal(get("cpu,cpuacct/hull/x/cpu.cfs_quota_us"), "-1");
	assert_string_equal(get("cpu,cpuacct/hull/x/cpu.cfs_period_us"), "100000");
	assert_string_equal(get("cpu,cpuacct/hull/x/cpu.rt_period_us"), "1000000");
	assert_string_equal(get("cpu,cpuacct/hull/x/cpu.rt_runtime_us"), "5000");
	assert_string_equal(get("cpuset/hull/cpuset.cpus"), "0-1");
	assert_string_equal(get("cpuset/hull/cpuset.mems"), "0");
	assert_string_equal(get("cpuset/hull/x/cpuset.cpus"), "0-1");
	/* every hierarchy got the directory, the hybrid cgroup2 mount did not */
	assert_true(exists("systemd/hull/x"));
	assert_false(exists("unified/hull"));

	expect_ok(cgroup_freeze(cg, true, &e_));
	assert_string_equal(get("freezer/hull/x/freezer.state"), "FROZEN");
	bool fr = false;
	expect_ok(cgroup_is_frozen(cg, &fr, &e_));
	assert_true(fr);
	expect_ok(cgroup_freeze(cg, false, &e_));
	assert_string_equal(get("freezer/hull/x/freezer.state"), "THAWED");

	/* pids come from the pids hierarchy, recursively */
	put("pids/hull/x/cgroup.procs", "101\n");
	put("pids/hull/x/a/b/cgroup.procs", "102\n103\n");
	pid_t *pids = NULL;
	size_t n = 0;
	expect_ok(cgroup_pids(cg, &pids, &n, &e_));
	assert_int_equal(n, 3);
	assert_int_equal(pids[0] + pids[1] + pids[2], 306);
	free(pids);

	/* errors */
	struct oci_resources bad = { 0 };
	char *uk[] = { (char *)"memory.high" }, *uv[] = { (char *)"1" };
	bad.unified_keys = uk;
	bad.unified_values = uv;
	bad.n_unified = 1;
	expect_err(cgroup_update(cg, &bad, &e), "needs cgroup v2");
	struct oci_resources sw = { 0 };
	sw.has_memory_limit = sw.has_memory_swap = true;
	sw.memory_limit = 100;
	sw.memory_swap = 50;
	expect_err(cgroup_update(cg, &sw, &e), "below the memory limit");
	struct oci_hugepage_limit hp = { .page_size = (char *)"2MB", .limit = 1 };
	struct oci_resources h = { 0 };
	h.hugepage_limits = &hp;
	h.n_hugepage_limits = 1;
	expect_err(cgroup_update(cg, &h, &e), "cgroup controller 'hugetlb' is not mounted");
	cgroup_free(cg);
}

static void test_v1_create_destroy_fake(void **state)
{
	fake_v1_tree();
	struct hull_cgroup *cg = NULL;
	expect_ok(cgroup_create("/a/b", NULL, &cg, &e_));
	assert_true(cg->created);
	static const char *const hiers[] = { "cpu,cpuacct", "memory", "pids", "freezer", "cpuset", "systemd" };
	char p[256];
	for (size_t i = 0; i < ARRAY_SIZE(hiers); i++) {
		snprintf(p, sizeof(p), "%s/a/b", hiers[i]);
		assert_true(exists(p));
	}
	json_t *j = cgroup_to_json(cg);
	struct hull_cgroup *back = NULL;
	expect_ok(cgroup_from_json(j, &back, &e_));
	json_decref(j);
	expect_ok(cgroup_destroy(back, &e_));
	for (size_t i = 0; i < ARRAY_SIZE(hiers); i++) {
		snprintf(p, sizeof(p), "%s/a/b", hiers[i]);
		assert_false(exists(p));
		snprintf(p, sizeof(p), "%s/a", hiers[i]);
		assert_true(exists(p)); /* an ancestor: left alone */
	}
	/* destroying again: missing directories are fine */
	expect_ok(cgroup_destroy(back, &e_));
	cgroup_free(back);
	cgroup_free(cg);
}

static void test_v1_noperm(void **state)
{
	run_noperm(false);
}

/* ---- real kernel ---- */

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	return pid;
}

/* Reap pid within about 3s and return its wait status; on timeout kill it
 * and fail (rather than hang the test run). */
static int reap(pid_t pid)
{
	int ws = 0;
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			return ws;
		assert_int_equal(r, 0);
		usleep(10000);
	}
	/* no blocking wait here: a frozen process would never be reaped; the
	 * teardown thaws, kills and reaps */
	kill(pid, SIGKILL);
	fail_msg("process %d did not die", (int)pid);
	return ws;
}

/* After a real-kernel test, pass or fail: thaw, kill and remove whatever
 * of <mountpoint>/hull-test-<pid> is left (own code, independent of the
 * code under test). */
static void cleanup_dir(const char *dir, bool kill_pass)
{
	char p[1024];
	static const char *const thaw[][2] = { { "freezer.state", "THAWED" }, { "cgroup.freeze", "0" } };
	for (size_t i = 0; i < ARRAY_SIZE(thaw); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, thaw[i][0]);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			(void)!write(fd, thaw[i][1], strlen(thaw[i][1]));
			close(fd);
		}
	}
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type == DT_DIR && de->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			cleanup_dir(p, kill_pass);
		}
	}
	closedir(d);
	if (kill_pass) {
		snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
		FILE *f = fopen(p, "r");
		int pid;
		while (f && fscanf(f, "%d", &pid) == 1)
			if (getpgid(pid) == getpgid(0)) /* only our own sleepers */
				kill(pid, SIGKILL);
		if (f)
			fclose(f);
	} else {
		rmdir(dir);
	}
}

static void cleanup_all(const char *top, bool kill_pass)
{
	char dir[512];
	static const char *const mps[] = { "blkio", "cpu", "cpuacct", "cpu,cpuacct", "cpuset", "devices",
					   "freezer", "hugetlb", "memory", "net_cls", "net_cls,net_prio",
					   "perf_event", "pids", "systemd", "unified" };
	for (size_t i = 0; i < ARRAY_SIZE(mps); i++) {
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", mps[i], top);
		cleanup_dir(dir, kill_pass);
	}
}

static int real_teardown(void **state)
{
	char top[64];
	snprintf(top, sizeof(top), "/hull-test-%d", (int)getpid());
	unsetenv("HULL_CGROUP_ROOT");
	unsetenv("HULL_CGROUP_MODE");
	cleanup_all(top, true);
	usleep(100000);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	cleanup_all(top, false);
	return 0;
}

static bool proc_in_cgroup(pid_t pid, const char *needle)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *data = NULL;
	if (fs_read_file_at(AT_FDCWD, p, 1 << 20, &data, NULL) < 0)
		return false;
	return strstr(data, needle) != NULL;
}

static void test_v1_real(void **state)
{
	unsetenv("HULL_CGROUP_ROOT");
	unsetenv("HULL_CGROUP_MODE");
	enum cgroup_mode m;
	hull_error *de = NULL;
	if (geteuid() != 0 || cgroup_detect(&m, &de) < 0 || m != CGROUP_MODE_V1 ||
	    access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) < 0 ||
	    access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) < 0 ||
	    access("/sys/fs/cgroup/freezer/cgroup.procs", F_OK) < 0) {
		hull_error_free(de);
		skip();
	}
	char top[64], path[96], dir[256];
	snprintf(top, sizeof(top), "/hull-test-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/ctr", top);

	struct oci_resources r = { 0 };
	r.has_pids_limit = true;
	r.pids_limit = 10;
	r.has_memory_limit = true;
	r.memory_limit = 64 << 20;
	r.has_memory_swap = true;
	r.memory_swap = 128 << 20;
	/* no explicit deny-all: the backend writes "a" to devices.deny first;
	 * the rules then apply in order (the last one takes 'm' off 1:3) */
	struct oci_device_cgroup devs[] = {
		{ .allow = true, .type = 'c', .major = 1, .minor = 3, .access = (char *)"rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = -1, .access = (char *)"r" },
		{ .allow = false, .type = 'c', .major = 1, .minor = 3, .access = (char *)"m" },
	};
	r.devices = devs;
	r.n_devices = ARRAY_SIZE(devs);
	struct hull_cgroup *cg = NULL;
	expect_ok(cgroup_create(path, &r, &cg, &e_));
	assert_true(cg->created);

	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/pids%s/pids.max", path);
	assert_string_equal(get(dir), "10");
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", path);
	assert_string_equal(get(dir), "67108864");
	bool memsw = false;
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s/memory.memsw.limit_in_bytes", path);
	if (exists(dir)) {
		memsw = true;
		assert_string_equal(get(dir), "134217728");
	}
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/devices%s/devices.list", path);
	if (exists(dir))
		assert_string_equal(get(dir), "c 1:3 rw\nc 1:* r");
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/systemd%s", path);
	if (exists("/sys/fs/cgroup/systemd/cgroup.procs"))
		assert_true(exists(dir));
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/unified%s", top);
	assert_false(exists(dir));
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/cpuset%s/cpuset.cpus", top);
	if (exists(dir)) {
		char parent_cpus[128];
		snprintf(parent_cpus, sizeof(parent_cpus), "%s", get("/sys/fs/cgroup/cpuset/cpuset.cpus"));
		assert_string_equal(get(dir), parent_cpus);
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/cpuset%s/cpuset.mems", path);
		assert_true(get(dir)[0] != '\0');
	}

	if (memsw) {
		/* raising the limit above the current memsw: memsw must go first */
		struct oci_resources up = { 0 };
		up.has_memory_limit = up.has_memory_swap = true;
		up.memory_limit = 256 << 20;
		up.memory_swap = 512 << 20;
		expect_ok(cgroup_update(cg, &up, &e_));
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", path);
		assert_string_equal(get(dir), "268435456");
		/* lowering memsw below the current limit: the limit must go first */
		struct oci_resources down = { 0 };
		down.has_memory_limit = down.has_memory_swap = true;
		down.memory_limit = 32 << 20;
		down.memory_swap = 48 << 20;
		expect_ok(cgroup_update(cg, &down, &e_));
		assert_string_equal(get(dir), "33554432");
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s/memory.memsw.limit_in_bytes", path);
		assert_string_equal(get(dir), "50331648");
	}
	/* a value the kernel refuses names the file and the value */
	if (exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) {
		struct oci_resources q = { 0 };
		q.has_cpu_quota = true;
		q.cpu_quota = 500; /* below the 1ms minimum */
		expect_err(cgroup_update(cg, &q, &e), "set 'cpu.cfs_quota_us' to '500': invalid argument");
	}

	pid_t child = spawn_sleeper();
	expect_ok(cgroup_enter(cg, child, &e_));
	assert_true(proc_in_cgroup(child, path));
	/* a grandchild cgroup in the pids hierarchy is listed too */
	pid_t child2 = spawn_sleeper();
	expect_ok(cgroup_enter(cg, child2, &e_));
	char sub[256];
	snprintf(sub, sizeof(sub), "/sys/fs/cgroup/pids%s/sub", path);
	assert_int_equal(mkdir(sub, 0755), 0);
	char pidbuf[32];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)child2);
	expect_ok(cgroup_write(sub, "cgroup.procs", pidbuf, &e_));

	pid_t *pids = NULL;
	size_t n = 0;
	expect_ok(cgroup_pids(cg, &pids, &n, &e_));
	assert_int_equal(n, 2);
	assert_true((pids[0] == child && pids[1] == child2) || (pids[0] == child2 && pids[1] == child));
	free(pids);

	bool fr = true;
	expect_ok(cgroup_is_frozen(cg, &fr, &e_));
	assert_false(fr);
	expect_ok(cgroup_freeze(cg, true, &e_));
	expect_ok(cgroup_is_frozen(cg, &fr, &e_));
	assert_true(fr);
	expect_ok(cgroup_freeze(cg, false, &e_));
	expect_ok(cgroup_is_frozen(cg, &fr, &e_));
	assert_false(fr);

	/* destroy while frozen: it thaws, kills and removes (sub too) */
	expect_ok(cgroup_freeze(cg, true, &e_));
	expect_ok(cgroup_destroy(cg, &e_));
	int ws = reap(child);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	ws = reap(child2);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	char **names = NULL, **mps = NULL;
	expect_ok(cgroup_v1_hierarchies(&names, &mps, &e_));
	for (size_t i = 0; names[i]; i++) {
		snprintf(dir, sizeof(dir), "%s%s", mps[i], path);
		assert_false(exists(dir));
		/* the ancestor was not ours to remove: it is still there; clean up */
		snprintf(dir, sizeof(dir), "%s%s", mps[i], top);
		assert_true(exists(dir));
		assert_int_equal(rmdir(dir), 0);
	}
	strv_free(names);
	strv_free(mps);
	cgroup_free(cg);
}

static void test_v2_real(void **state)
{
	/* the hybrid layout's controller-less cgroup2 mount drives the v2 backend */
	struct statfs s;
	const char *root = getenv("HULL_TEST_CGROUP2") ? getenv("HULL_TEST_CGROUP2") : "/sys/fs/cgroup/unified";
	if (geteuid() != 0 || statfs(root, &s) < 0 || s.f_type != CGROUP2_SUPER_MAGIC)
		skip();
	setenv("HULL_CGROUP_ROOT", root, 1);
	unsetenv("HULL_CGROUP_MODE");
	enum cgroup_mode m = 0;
	hull_error *de = NULL;
	assert_int_equal(cgroup_detect(&m, &de), 0);
	assert_int_equal(m, CGROUP_MODE_V2);

	char path[64], dir[256];
	snprintf(path, sizeof(path), "/hull-test-%d", (int)getpid());
	snprintf(dir, sizeof(dir), "%s%s", root, path);
	struct hull_cgroup *cg = NULL;
	expect_ok(cgroup_create(path, NULL, &cg, &e_));
	assert_true(cg->created);
	assert_true(exists(dir));
	int fd = -1;
	expect_ok(fd = cgroup_open_v2_fd(cg, &e_));
	assert_true(fd >= 0);
	close(fd);

	pid_t child = spawn_sleeper();
	expect_ok(cgroup_enter(cg, child, &e_));
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	pid_t child2 = spawn_sleeper();
	char pidbuf[32];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)child2);
	expect_ok(cgroup_write(sub, "cgroup.procs", pidbuf, &e_));
	pid_t *pids = NULL;
	size_t n = 0;
	expect_ok(cgroup_pids(cg, &pids, &n, &e_));
	assert_int_equal(n, 2);
	free(pids);

	if (exists(strcat(strcpy((char[320]){ 0 }, dir), "/cgroup.freeze"))) {
		bool fr = true;
		expect_ok(cgroup_freeze(cg, true, &e_));
		expect_ok(cgroup_is_frozen(cg, &fr, &e_));
		assert_true(fr);
		expect_ok(cgroup_freeze(cg, false, &e_));
		expect_ok(cgroup_is_frozen(cg, &fr, &e_));
		assert_false(fr);
	}
	/* kill_all with a catchable signal goes pid by pid */
	expect_ok(cgroup_kill_all(cg, SIGTERM, &e_));
	int ws = reap(child);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM);
	ws = reap(child2);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM);

	/* destroy kills what is left (cgroup.kill) and removes sub too */
	child = spawn_sleeper();
	expect_ok(cgroup_enter(cg, child, &e_));
	expect_ok(cgroup_destroy(cg, &e_));
	ws = reap(child);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	assert_false(exists(dir));
	cgroup_free(cg);
	unsetenv("HULL_CGROUP_ROOT");
}

/* ---- cgroup v2 device rules: an eBPF program (cgroup_v2_devices.c) ----
 *
 * The real test runs the generated programs in the kernel: a cgroup below
 * the cgroup2 mount (the hybrid layout's controller-less /sys/fs/cgroup/
 * unified works: device programs need no controller), a child moved into
 * it, and what the child may open and mknod. */
#include <linux/bpf.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

static char devt_nodes[64]; /* temp dir of device nodes made by the parent */

/* The cgroup2 mount to test on, or NULL (not root, no cgroup2). */
static const char *devt_root(void)
{
	struct statfs s;
	const char *root = getenv("HULL_TEST_CGROUP2") ? getenv("HULL_TEST_CGROUP2") : "/sys/fs/cgroup/unified";
	if (geteuid() != 0 || statfs(root, &s) < 0 || s.f_type != CGROUP2_SUPER_MAGIC)
		return NULL;
	return root;
}

/* Whether the kernel loads a device program for us at all. */
static bool devt_bpf_ok(void)
{
	struct oci_device_cgroup deny = { .allow = false, .type = 'a', .major = -1, .minor = -1 };
	struct bpf_insn *insns = NULL;
	size_t n = 0;
	hull_error *e = NULL;
	if (cgroup_v2_devices_program(&deny, 1, &insns, &n, &e) < 0) {
		hull_error_free(e);
		return false;
	}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t) "Apache";
	int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	free(insns);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Number of device programs attached directly to cgroup dir. */
static int devt_count_progs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	int r = (int)syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof(a));
	close(fd);
	assert_int_equal(r, 0);
	return (int)a.query.prog_cnt;
}

enum devt_op { DEVT_OPEN, DEVT_ACCESS, DEVT_MKNOD };

/* One access tried in the child; `want` is the errno expected (0 for
 * success; ENXIO: allowed, but no driver behind the fake major 3333). */
struct devt_probe {
	enum devt_op op;
	const char *path; /* OPEN/ACCESS: absolute, or a node in devt_nodes */
	int flags;        /* OPEN */
	char type;        /* MKNOD: 'c' or 'b' */
	unsigned major, minor;
	int want;
};

#define P_OPEN(p, f, w) { .op = DEVT_OPEN, .path = (p), .flags = (f), .want = (w) }
#define P_ACCESS(p, w) { .op = DEVT_ACCESS, .path = (p), .want = (w) }
#define P_MKNOD(t, ma, mi, w) { .op = DEVT_MKNOD, .type = (t), .major = (ma), .minor = (mi), .want = (w) }

static int devt_do(const struct devt_probe *p)
{
	char path[256];
	if (p->op == DEVT_MKNOD) {
		snprintf(path, sizeof(path), "%s/mk", devt_nodes);
		mode_t mode = (p->type == 'b' ? S_IFBLK : S_IFCHR) | 0600;
		if (mknod(path, mode, makedev(p->major, p->minor)) < 0)
			return errno;
		unlink(path);
		return 0;
	}
	if (p->path[0] == '/')
		snprintf(path, sizeof(path), "%s", p->path);
	else
		snprintf(path, sizeof(path), "%s/%s", devt_nodes, p->path);
	if (p->op == DEVT_ACCESS)
		return access(path, F_OK) < 0 ? errno : 0;
	int fd = open(path, p->flags | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Fork a child, move it into cgroup dir (its cgroup.procs), run the probes
 * there and check each result. */
static void devt_check(const char *dir, const char *what, const struct devt_probe *p, size_t n)
{
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		char f[300], buf[32];
		snprintf(f, sizeof(f), "%s/cgroup.procs", dir);
		int len = snprintf(buf, sizeof(buf), "%d", (int)getpid());
		int fd = open(f, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, buf, (size_t)len) != len)
			_exit(100);
		close(fd);
		for (size_t i = 0; i < n; i++) {
			int r = devt_do(&p[i]);
			if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
				_exit(101);
		}
		_exit(0);
	}
	close(pfd[1]);
	int got[64];
	assert_true(n <= ARRAY_SIZE(got));
	size_t have = 0;
	while (have < n) {
		ssize_t k = read(pfd[0], &got[have], sizeof(int));
		if (k != sizeof(int))
			break;
		have++;
	}
	close(pfd[0]);
	int ws = 0;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		fail_msg("%s: probe child failed (status 0x%x)", what, ws);
	assert_int_equal(have, n);
	for (size_t i = 0; i < n; i++) {
		if (got[i] == p[i].want)
			continue;
		if (p[i].op == DEVT_MKNOD)
			fail_msg("%s: probe %zu mknod %c %u:%u: got '%s', want '%s'", what, i, p[i].type, p[i].major,
				 p[i].minor, strerror(got[i]), strerror(p[i].want));
		fail_msg("%s: probe %zu %s '%s' flags 0%o: got '%s', want '%s'", what, i,
			 p[i].op == DEVT_OPEN ? "open" : "access", p[i].path, (unsigned)p[i].flags, strerror(got[i]),
			 strerror(p[i].want));
	}
}

static void devt_cgdir(char *buf, size_t size)
{
	snprintf(buf, size, "%s/hull-devtest-%d", devt_root(), (int)getpid());
}

static void devt_mknode(const char *name, mode_t type, unsigned major, unsigned minor)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", devt_nodes, name);
	assert_int_equal(mknod(p, type | 0666, makedev(major, minor)), 0);
}

/* Skip unless root with a cgroup2 mount and bpf(2); make the node dir. */
static void devt_require(void)
{
	if (!devt_root() || !devt_bpf_ok())
		skip();
	snprintf(devt_nodes, sizeof(devt_nodes), "/tmp/hull-devnodes-XXXXXX");
	assert_non_null(mkdtemp(devt_nodes));
	devt_mknode("null", S_IFCHR, 1, 3);
	devt_mknode("zero", S_IFCHR, 1, 5);
	devt_mknode("full", S_IFCHR, 1, 7);
	devt_mknode("fc1", S_IFCHR, 3333, 1);
	devt_mknode("fc2", S_IFCHR, 3333, 2);
	devt_mknode("fb1", S_IFBLK, 3333, 1);
}

static int devt_teardown(void **state)
{
	if (devt_root()) {
		char dir[256];
		devt_cgdir(dir, sizeof(dir));
		hull_error *e = NULL;
		cgroup_rmdir_tree(dir, &e);
		hull_error_free(e);
	}
	if (devt_nodes[0])
		fs_rm_rf(devt_nodes);
	devt_nodes[0] = '\0';
	unsetenv("HULL_CGROUP_ROOT");
	unsetenv("HULL_CGROUP_MODE");
	return 0;
}

/* Rule checking that needs no kernel: bad rules are refused naming the rule,
 * a non-cgroup2 directory outside a test tree is an error, no rules is a
 * no-op, and programs end in a verdict. */
static void test_v2_devices_program(void **state)
{
	struct oci_device_cgroup bad_type = { .allow = true, .type = 'x', .major = -1, .minor = -1 };
	struct oci_device_cgroup bad_major = { .allow = true, .type = 'c', .major = -5, .minor = 1 };
	struct oci_device_cgroup bad_access = { .allow = true, .type = 'c', .major = 1, .minor = 3,
						.access = (char *)"rx" };
	struct oci_device_cgroup ok[2] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1 },
		{ .allow = true, .type = 'c', .major = 1, .minor = 3, .access = (char *)"rw" },
	};
	struct bpf_insn *insns = NULL;
	size_t n = 0;
	expect_err(cgroup_v2_devices_program(&bad_type, 1, &insns, &n, &e), "device rule 0: invalid type 'x'");
	expect_err(cgroup_v2_devices_program(&bad_major, 1, &insns, &n, &e), "device rule 0: invalid major -5");
	struct oci_device_cgroup two[2] = { ok[0], bad_access };
	expect_err(cgroup_v2_devices_program(two, 2, &insns, &n, &e), "device rule 1: invalid access 'rx'");
	expect_err(cgroup_v2_devices_apply("/tmp", "/hull/x", &bad_type, 1, &e),
		   "linux.resources.devices for '/hull/x': device rule 0: invalid type 'x'");

	/* what the programs do is checked in the kernel (test_v2_devices_rules);
	 * here only that they end in an exit and grow with the rules */
	expect_ok(cgroup_v2_devices_program(ok, 1, &insns, &n, &e_));
	size_t n1 = n;
	assert_int_equal(insns[n - 1].code, BPF_JMP | BPF_EXIT);
	free(insns);
	expect_ok(cgroup_v2_devices_program(ok, 2, &insns, &n, &e_));
	assert_true(n > n1);
	assert_int_equal(insns[n - 1].code, BPF_JMP | BPF_EXIT);
	free(insns);

	unsetenv("HULL_CGROUP_ROOT");
	expect_err(cgroup_v2_devices_apply("/tmp", "/hull/x", ok, 2, &e),
		   "attach the device filter to '/hull/x': '/tmp' is not a cgroup2 directory");
	/* a fake tree (HULL_CGROUP_ROOT) is skipped: the fake-tree tests rely on it */
	setenv("HULL_CGROUP_ROOT", "/tmp", 1);
	expect_ok(cgroup_v2_devices_apply("/tmp", "/hull/x", ok, 2, &e_));
	unsetenv("HULL_CGROUP_ROOT");
	/* no rules: nothing to do, not even opening the directory */
	expect_ok(cgroup_v2_devices_apply("/nonexistent", "/hull/x", NULL, 0, &e_));
}

/* The brief's case through the public API: cgroup_create attaches the
 * program, cgroup_update replaces it, cgroup_destroy removes the cgroup. */
static void test_v2_devices_real(void **state)
{
	devt_require();
	const char *root = devt_root();
	setenv("HULL_CGROUP_ROOT", root, 1);
	unsetenv("HULL_CGROUP_MODE");
	char path[64], dir[256];
	snprintf(path, sizeof(path), "/hull-devtest-%d", (int)getpid());
	devt_cgdir(dir, sizeof(dir));

	struct oci_device_cgroup rules[] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1, .access = (char *)"rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 3, .access = (char *)"rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 5, .access = (char *)"r" },
	};
	struct oci_resources r = { 0 };
	r.devices = rules;
	r.n_devices = ARRAY_SIZE(rules);
	struct hull_cgroup *cg = NULL;
	expect_ok(cgroup_create(path, &r, &cg, &e_));
	assert_true(cg->created);
	assert_int_equal(cg->mode, CGROUP_MODE_V2);
	assert_int_equal(devt_count_progs(dir), 1);

	static const struct devt_probe first[] = {
		P_OPEN("/dev/null", O_RDWR, 0),   P_OPEN("/dev/zero", O_RDONLY, 0),
		P_OPEN("/dev/zero", O_WRONLY, EPERM), P_OPEN("/dev/zero", O_RDWR, EPERM),
		P_OPEN("/dev/full", O_RDONLY, EPERM), P_OPEN("/dev/full", O_WRONLY, EPERM),
		P_ACCESS("/dev/zero", 0),         P_ACCESS("/dev/full", EPERM),
		P_MKNOD('c', 1, 3, 0),            P_MKNOD('c', 1, 5, EPERM),
		P_MKNOD('c', 1, 7, EPERM),        P_OPEN("fb1", O_RDONLY, EPERM),
	};
	devt_check(dir, "create", first, ARRAY_SIZE(first));
	/* the test process itself is outside: not restricted */
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);

	/* update: the new program replaces the old one */
	struct oci_device_cgroup rules2[] = {
		{ .allow = false, .type = 'a', .major = -1, .minor = -1, .access = (char *)"rwm" },
		{ .allow = true, .type = 'c', .major = 1, .minor = 7, .access = (char *)"rw" },
	};
	struct oci_resources r2 = { 0 };
	r2.devices = rules2;
	r2.n_devices = ARRAY_SIZE(rules2);
	expect_ok(cgroup_update(cg, &r2, &e_));
	assert_int_equal(devt_count_progs(dir), 1);
	static const struct devt_probe second[] = {
		P_OPEN("/dev/full", O_RDWR, 0), P_OPEN("/dev/null", O_RDONLY, EPERM),
		P_OPEN("/dev/zero", O_RDONLY, EPERM), P_MKNOD('c', 1, 7, EPERM),
	};
	devt_check(dir, "update", second, ARRAY_SIZE(second));

	/* an update without device rules keeps the program */
	struct oci_resources r3 = { 0 };
	expect_ok(cgroup_update(cg, &r3, &e_));
	assert_int_equal(devt_count_progs(dir), 1);
	devt_check(dir, "update without devices", second, ARRAY_SIZE(second));

	expect_ok(cgroup_destroy(cg, &e_));
	assert_false(exists(dir));
	cgroup_free(cg);
}

struct devt_case {
	const char *what;
	struct oci_device_cgroup rules[4];
	size_t n_rules;
	struct devt_probe probes[10];
	size_t n_probes;
};

#define RULE(a, t, ma, mi, acc) { .allow = (a), .type = (t), .major = (ma), .minor = (mi), .access = (char *)(acc) }
#define NR(...) .rules = { __VA_ARGS__ }, .n_rules = sizeof((struct oci_device_cgroup[]){ __VA_ARGS__ }) / sizeof(struct oci_device_cgroup)
#define NP(...) .probes = { __VA_ARGS__ }, .n_probes = sizeof((struct devt_probe[]){ __VA_ARGS__ }) / sizeof(struct devt_probe)

/* Rule lists run through the kernel one after another on one cgroup (each
 * replacing the last program), with what they must allow and deny. */
static void test_v2_devices_rules(void **state)
{
	devt_require();
	char dir[256];
	devt_cgdir(dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0755), 0);

	static const struct devt_case cases[] = {
		{ "bits split over two allow rules combine",
		  NR(RULE(true, 'c', 1, 3, "r"), RULE(true, 'c', 1, 3, "w")),
		  NP(P_OPEN("null", O_RDWR, 0), P_ACCESS("null", 0), P_MKNOD('c', 1, 3, EPERM),
		     P_OPEN("zero", O_RDONLY, EPERM)) },
		{ "no leading deny-all: still an allow list",
		  NR(RULE(true, 'c', 1, 5, "rwm")),
		  NP(P_OPEN("zero", O_RDWR, 0), P_OPEN("null", O_RDONLY, EPERM), P_OPEN("fc1", O_RDONLY, EPERM),
		     P_MKNOD('c', 1, 5, 0)) },
		{ "allow all",
		  NR(RULE(true, 'a', -1, -1, "rwm")),
		  NP(P_OPEN("full", O_RDWR, 0), P_OPEN("fc1", O_RDWR, ENXIO), P_OPEN("fb1", O_RDONLY, ENXIO),
		     P_MKNOD('b', 3333, 1, 0), P_ACCESS("fc2", 0)) },
		{ "allow all, then deny a major",
		  NR(RULE(true, 'a', -1, -1, "rwm"), RULE(false, 'c', 3333, -1, "rwm")),
		  NP(P_OPEN("fc1", O_RDONLY, EPERM), P_OPEN("fc2", O_WRONLY, EPERM), P_ACCESS("fc1", EPERM),
		     P_OPEN("fb1", O_RDONLY, ENXIO), P_OPEN("null", O_RDWR, 0), P_MKNOD('c', 3333, 9, EPERM),
		     P_MKNOD('b', 3333, 9, 0)) },
		{ "a major, then deny writing one minor",
		  NR(RULE(true, 'c', 3333, -1, "rwm"), RULE(false, 'c', 3333, 2, "w")),
		  NP(P_OPEN("fc1", O_RDWR, ENXIO), P_OPEN("fc2", O_RDONLY, ENXIO), P_OPEN("fc2", O_WRONLY, EPERM),
		     P_OPEN("fc2", O_RDWR, EPERM), P_ACCESS("fc2", 0), P_MKNOD('c', 3333, 2, 0),
		     P_OPEN("fb1", O_RDONLY, EPERM)) },
		{ "a later broader deny wins over an earlier allow",
		  NR(RULE(true, 'c', 1, 3, "rwm"), RULE(false, 'c', -1, -1, "rwm")),
		  NP(P_OPEN("null", O_RDONLY, EPERM), P_ACCESS("null", EPERM), P_MKNOD('c', 1, 3, EPERM)) },
		{ "a later allow wins over an earlier deny",
		  NR(RULE(false, 'c', 1, 3, "rwm"), RULE(true, 'c', 1, 3, "rwm")),
		  NP(P_OPEN("null", O_RDWR, 0), P_MKNOD('c', 1, 3, 0), P_OPEN("zero", O_RDONLY, EPERM)) },
		{ "deny all only",
		  NR(RULE(false, 'a', -1, -1, "rwm")),
		  NP(P_OPEN("null", O_RDONLY, EPERM), P_ACCESS("null", EPERM), P_MKNOD('c', 1, 3, EPERM),
		     P_OPEN("fb1", O_RDONLY, EPERM)) },
		{ "block type and wildcard major",
		  NR(RULE(false, 'a', -1, -1, "rwm"), RULE(true, 'b', -1, 1, "r")),
		  NP(P_OPEN("fb1", O_RDONLY, ENXIO), P_OPEN("fb1", O_WRONLY, EPERM), P_OPEN("fc1", O_RDONLY, EPERM),
		     P_MKNOD('b', 3333, 1, EPERM)) },
		{ "denying one bit keeps the others",
		  NR(RULE(true, 'c', 1, 3, "rwm"), RULE(false, 'c', 1, 3, "w")),
		  NP(P_ACCESS("null", 0), P_OPEN("null", O_RDONLY, 0), P_OPEN("null", O_RDWR, EPERM),
		     P_OPEN("null", O_WRONLY, EPERM), P_MKNOD('c', 1, 3, 0)) },
		{ "every bit denied again: F_OK denied",
		  NR(RULE(true, 'c', 1, 3, "rw"), RULE(false, 'c', 1, 3, "rwm")),
		  NP(P_ACCESS("null", EPERM), P_OPEN("null", O_RDONLY, EPERM)) },
		{ "no access given means rwm",
		  NR(RULE(false, 'a', -1, -1, NULL), RULE(true, 'c', 1, 3, NULL)),
		  NP(P_OPEN("null", O_RDWR, 0), P_MKNOD('c', 1, 3, 0), P_OPEN("zero", O_RDONLY, EPERM)) },
		{ "type a with a major",
		  NR(RULE(true, 'a', 3333, -1, "r")),
		  NP(P_OPEN("fc1", O_RDONLY, ENXIO), P_OPEN("fb1", O_RDONLY, ENXIO), P_OPEN("fc1", O_WRONLY, EPERM),
		     P_OPEN("null", O_RDONLY, EPERM)) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct devt_case *c = &cases[i];
		hull_error *e = NULL;
		if (cgroup_v2_devices_apply(dir, "/hull/test", c->rules, c->n_rules, &e) < 0)
			fail_msg("%s: %s", c->what, e->msg);
		assert_int_equal(devt_count_progs(dir), 1);
		devt_check(dir, c->what, c->probes, c->n_probes);
	}

	/* many rules: jumps stay local, the verifier accepts it */
	size_t nbig = 3000;
	struct oci_device_cgroup *big = calloc(nbig, sizeof(*big));
	assert_non_null(big);
	big[0] = (struct oci_device_cgroup)RULE(false, 'a', -1, -1, "rwm");
	for (size_t i = 1; i < nbig; i++)
		big[i] = (struct oci_device_cgroup)RULE(true, 'c', 3333, (int64_t)i, "r");
	expect_ok(cgroup_v2_devices_apply(dir, "/hull/test", big, nbig, &e_));
	free(big);
	assert_int_equal(devt_count_progs(dir), 1);
	static const struct devt_probe bigp[] = {
		P_OPEN("fc1", O_RDONLY, ENXIO), P_OPEN("fc2", O_RDONLY, ENXIO), P_OPEN("fc1", O_WRONLY, EPERM),
		P_OPEN("fb1", O_RDONLY, EPERM), P_OPEN("null", O_RDONLY, EPERM),
	};
	devt_check(dir, "3000 rules", bigp, ARRAY_SIZE(bigp));

	/* a program attached by someone else stays: only ours are replaced */
	struct bpf_insn *insns = NULL;
	size_t n = 0;
	struct oci_device_cgroup allow_all = RULE(true, 'a', -1, -1, "rwm");
	expect_ok(cgroup_v2_devices_program(&allow_all, 1, &insns, &n, &e_));
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t) "Apache";
	memcpy(a.prog_name, "other", 6);
	int pfd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	free(insns);
	assert_true(pfd >= 0);
	int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cfd >= 0);
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cfd;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	assert_int_equal(syscall(__NR_bpf, BPF_PROG_ATTACH, &a, sizeof(a)), 0);
	close(pfd);
	close(cfd);
	assert_int_equal(devt_count_progs(dir), 2);
	struct oci_device_cgroup only_null = RULE(true, 'c', 1, 3, "rwm");
	expect_ok(cgroup_v2_devices_apply(dir, "/hull/test", &only_null, 1, &e_));
	assert_int_equal(devt_count_progs(dir), 2);
	static const struct devt_probe otherp[] = { P_OPEN("null", O_RDWR, 0), P_OPEN("zero", O_RDONLY, EPERM) };
	devt_check(dir, "with another program", otherp, ARRAY_SIZE(otherp));
}

/* Without CAP_BPF / CAP_SYS_ADMIN (as host root: not rootless) loading
 * fails, and the error names the step and the cgroup. */
static void test_v2_devices_eperm(void **state)
{
	devt_require();
	char dir[256];
	devt_cgdir(dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cap_t none = cap_init();
		if (!none || cap_set_proc(none) < 0)
			_exit(10);
		struct oci_device_cgroup deny = { .allow = false, .type = 'a', .major = -1, .minor = -1 };
		hull_error *e = NULL;
		if (cgroup_v2_devices_apply(dir, "/hull/x", &deny, 1, &e) == 0)
			_exit(11);
		if (!e || strcmp(e->msg, "load the device filter for '/hull/x': operation not permitted") != 0) {
			fprintf(stderr, "unexpected error: %s\n", e ? e->msg : "(none)");
			_exit(12);
		}
		_exit(0);
	}
	int ws = 0;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_int_equal(devt_count_progs(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_detect_forced, setup_v1, fake_teardown),
		cmocka_unit_test(test_detect_real),
		cmocka_unit_test(test_resolve_path),
		cmocka_unit_test_setup_teardown(test_resolve_relative, setup_v2, fake_teardown),
		cmocka_unit_test(test_json),
		cmocka_unit_test_setup_teardown(test_v2_apply, setup_v2, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v2_update, setup_v2, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v2_errors, setup_v2, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v2_freeze_fake, setup_v2, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v2_noperm, setup_v2, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v1_hierarchies_fake, setup_v1, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v1_apply_fake, setup_v1, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v1_create_destroy_fake, setup_v1, fake_teardown),
		cmocka_unit_test_setup_teardown(test_v1_noperm, setup_v1, fake_teardown),
		cmocka_unit_test_teardown(test_v1_real, real_teardown),
		cmocka_unit_test_teardown(test_v2_real, real_teardown),
		cmocka_unit_test(test_v2_devices_program),
		cmocka_unit_test_teardown(test_v2_devices_real, devt_teardown),
		cmocka_unit_test_teardown(test_v2_devices_rules, devt_teardown),
		cmocka_unit_test_teardown(test_v2_devices_eperm, devt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
