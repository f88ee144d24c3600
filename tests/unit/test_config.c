/* test_config.c - config.json parsing (runtime/config.c) and hooks (runtime/hooks.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/config.h"
#include "runtime/hooks.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Test JSON is written with ' for " to keep it readable. */
static char *jq(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static struct oci_config *parse_ok(const char *text)
{
	_cleanup_free_ char *j = jq(text);
	struct oci_config *c = NULL;
	hull_error *err = NULL;
	int r = oci_config_parse(j, strlen(j), &c, &err);
	if (r < 0)
		fail_msg("parse failed: %s", err ? err->msg : "(no error)");
	assert_null(err);
	assert_non_null(c);
	return c;
}

/* Parse must fail with a message containing `want`. */
static void parse_fails(const char *text, const char *want)
{
	_cleanup_free_ char *j = jq(text);
	struct oci_config *c = (struct oci_config *)0x1;
	hull_error *err = NULL;
	int r = oci_config_parse(j, strlen(j), &c, &err);
	if (r >= 0)
		fail_msg("parse of %s succeeded, wanted error '%s'", j, want);
	assert_null(c);
	assert_non_null(err);
	if (!strstr(err->msg, want))
		fail_msg("error '%s' does not contain '%s'", err->msg, want);
	hull_error_free(err);
}

static const char full_config[] =
	"{"
	" 'ociVersion': '1.2.0',"
	" 'process': {"
	"  'terminal': true,"
	"  'consoleSize': {'height': 25, 'width': 80},"
	"  'user': {'uid': 1000, 'gid': 1001, 'umask': 18, 'additionalGids': [5, 6, 4294967294]},"
	"  'args': ['sh', '-c', 'echo hi'],"
	"  'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'EMPTY='],"
	"  'cwd': '/work',"
	"  'capabilities': {"
	"   'bounding': ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],"
	"   'effective': ['CAP_AUDIT_WRITE', 'CAP_KILL'],"
	"   'permitted': ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],"
	"   'ambient': []"
	"  },"
	"  'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 4096, 'soft': 1024},"
	"              {'type': 'RLIMIT_CORE', 'hard': 18446744073709551615, 'soft': 0}],"
	"  'noNewPrivileges': true,"
	"  'apparmorProfile': 'hull-default',"
	"  'oomScoreAdj': -500,"
	"  'selinuxLabel': 'system_u:system_r:container_t:s0',"
	"  'scheduler': {'policy': 'SCHED_BATCH', 'nice': 5, 'flags': ['SCHED_FLAG_RESET_ON_FORK'], 'runtime': 7},"
	"  'ioPriority': {'class': 'IOPRIO_CLASS_BE', 'priority': 4},"
	"  'futureField': {'ignored': [1, 2]}"
	" },"
	" 'root': {'path': 'rootfs', 'readonly': true},"
	" 'hostname': 'box',"
	" 'domainname': 'example.org',"
	" 'mounts': ["
	"  {'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
	"  {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',"
	"   'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},"
	"  {'destination': '/data', 'source': '/srv/data', 'options': ['rbind', 'ro'],"
	"   'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
	"   'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 1000}]}"
	" ],"
	" 'hooks': {"
	"  'prestart': [{'path': '/usr/bin/netns-setup', 'args': ['netns-setup', '--pid'], 'env': ['A=1'], 'timeout': 7}],"
	"  'createRuntime': [{'path': '/bin/cr1'}, {'path': '/bin/cr2'}],"
	"  'createContainer': [{'path': '/bin/cc'}],"
	"  'startContainer': [{'path': '/bin/sc'}],"
	"  'poststart': [{'path': '/bin/ps'}],"
	"  'poststop': [{'path': '/bin/cleanup', 'timeout': 30}]"
	" },"
	" 'annotations': {'org.example.key': 'value', 'io.hull.n': '12345678901234567890'},"
	" 'linux': {"
	"  'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/var/run/netns/x'}, {'type': 'ipc'},"
	"                 {'type': 'uts'}, {'type': 'mount'}, {'type': 'user'}, {'type': 'cgroup'}, {'type': 'time'}],"
	"  'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
	"  'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536},"
	"                  {'containerID': 65536, 'hostID': 5, 'size': 1}],"
	"  'timeOffsets': {'monotonic': {'secs': -3600, 'nanosecs': 500}, 'boottime': {'secs': 86400}},"
	"  'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229, 'fileMode': 438, 'uid': 0, 'gid': 0},"
	"              {'path': '/dev/fifo', 'type': 'p'}],"
	"  'cgroupsPath': '/hull/box',"
	"  'resources': {"
	"   'devices': [{'allow': false, 'access': 'rwm'},"
	"               {'allow': true, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rw'},"
	"               {'allow': true, 'type': 'c', 'major': 136}],"
	"   'memory': {'limit': 536870912, 'reservation': 268435456, 'swap': -1, 'kernelTCP': 1048576,"
	"              'swappiness': 60, 'disableOOMKiller': false, 'useHierarchy': true},"
	"   'cpu': {'shares': 1024, 'quota': -1, 'period': 100000, 'burst': 5000, 'realtimeRuntime': 950000,"
	"           'realtimePeriod': 1000000, 'cpus': '0-1', 'mems': '0', 'idle': 1},"
	"   'pids': {'limit': 1024},"
	"   'blockIO': {'weight': 500, 'leafWeight': 300,"
	"               'weightDevice': [{'major': 8, 'minor': 0, 'weight': 600}],"
	"               'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 104857600}],"
	"               'throttleWriteIOPSDevice': [{'major': 8, 'minor': 16, 'rate': 300}]},"
	"   'hugepageLimits': [{'pageSize': '2MB', 'limit': 209715200}],"
	"   'network': {'classID': 1048577, 'priorities': [{'name': 'eth0', 'priority': 500}]},"
	"   'unified': {'memory.high': '400000000', 'io.weight': 'default 100'}"
	"  },"
	"  'rootfsPropagation': 'rslave',"
	"  'maskedPaths': ['/proc/acpi', '/proc/kcore', '/sys/firmware'],"
	"  'readonlyPaths': ['/proc/bus', '/proc/sys'],"
	"  'mountLabel': 'system_u:object_r:container_file_t:s0',"
	"  'sysctl': {'net.ipv4.ip_forward': '1', 'kernel.shmmax': '4096'},"
	"  'seccomp': {"
	"   'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,"
	"   'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],"
	"   'flags': ['SECCOMP_FILTER_FLAG_LOG'],"
	"   'listenerPath': '/run/seccomp.sock', 'listenerMetadata': 'meta',"
	"   'syscalls': ["
	"    {'names': ['read', 'write', 'exit_group'], 'action': 'SCMP_ACT_ALLOW'},"
	"    {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',"
	"     'args': [{'index': 0, 'value': 4294967295, 'op': 'SCMP_CMP_EQ'},"
	"              {'index': 5, 'value': 18446744073709551615, 'valueTwo': 17, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
	"    {'names': ['mount'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 38}"
	"   ]"
	"  },"
	"  'personality': {'domain': 'LINUX32', 'flags': []},"
	"  'intelRdt': {'closID': 'guaranteed'}"
	" }"
	"}";

static void assert_strv(char **v, ...)
{
	va_list ap;
	va_start(ap, v);
	size_t i = 0;
	const char *want;
	assert_non_null(v);
	while ((want = va_arg(ap, const char *))) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], want);
		i++;
	}
	va_end(ap);
	assert_null(v[i]);
}

static void test_full_config(void **state)
{
	struct oci_config *c = parse_ok(full_config);
	assert_string_equal(c->oci_version, "1.2.0");
	assert_string_equal(c->root.path, "rootfs");
	assert_true(c->root.readonly);
	assert_string_equal(c->hostname, "box");
	assert_string_equal(c->domainname, "example.org");

	/* process */
	struct oci_process *p = &c->process;
	assert_true(c->has_process);
	assert_true(p->terminal);
	assert_int_equal(p->console_height, 25);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 022);
	assert_int_equal(p->user.n_additional_gids, 3);
	assert_int_equal(p->user.additional_gids[0], 5);
	assert_int_equal(p->user.additional_gids[2], 4294967294u);
	assert_strv(p->args, "sh", "-c", "echo hi", NULL);
	assert_strv(p->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
		    "EMPTY=", NULL);
	assert_string_equal(p->cwd, "/work");
	assert_true(p->has_caps);
	assert_strv(p->caps.bounding, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL);
	assert_strv(p->caps.effective, "CAP_AUDIT_WRITE", "CAP_KILL", NULL);
	assert_null(p->caps.inheritable);
	assert_strv(p->caps.ambient, NULL);
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
	assert_int_equal(p->rlimits[0].hard, 4096);
	assert_int_equal(p->rlimits[0].soft, 1024);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->rlimits[1].hard == UINT64_MAX);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "hull-default");
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");
	assert_true(p->has_scheduler);
	assert_string_equal(p->sched_policy, "SCHED_BATCH");
	assert_int_equal(p->sched_nice, 5);
	assert_strv(p->sched_flags, "SCHED_FLAG_RESET_ON_FORK", NULL);
	assert_int_equal(p->sched_runtime, 7);
	assert_true(p->has_io_priority);
	assert_string_equal(p->io_class, "IOPRIO_CLASS_BE");
	assert_int_equal(p->io_priority, 4);

	/* mounts */
	assert_int_equal(c->n_mounts, 3);
	assert_string_equal(c->mounts[0].destination, "/proc");
	assert_string_equal(c->mounts[0].type, "proc");
	assert_null(c->mounts[0].options);
	assert_strv(c->mounts[1].options, "nosuid", "strictatime", "mode=755", "size=65536k", NULL);
	assert_null(c->mounts[2].type);
	assert_string_equal(c->mounts[2].source, "/srv/data");
	assert_int_equal(c->mounts[2].n_uid_mappings, 1);
	assert_int_equal(c->mounts[2].uid_mappings[0].host_id, 100000);
	assert_int_equal(c->mounts[2].uid_mappings[0].size, 65536);
	assert_int_equal(c->mounts[2].n_gid_mappings, 1);
	assert_int_equal(c->mounts[2].gid_mappings[0].host_id, 200000);

	/* hooks */
	const struct oci_hooks *h = &c->hooks;
	assert_int_equal(h->count[OCI_HOOK_PRESTART], 1);
	assert_string_equal(h->list[OCI_HOOK_PRESTART][0].path, "/usr/bin/netns-setup");
	assert_strv(h->list[OCI_HOOK_PRESTART][0].args, "netns-setup", "--pid", NULL);
	assert_strv(h->list[OCI_HOOK_PRESTART][0].env, "A=1", NULL);
	assert_int_equal(h->list[OCI_HOOK_PRESTART][0].timeout, 7);
	assert_int_equal(h->count[OCI_HOOK_CREATE_RUNTIME], 2);
	assert_string_equal(h->list[OCI_HOOK_CREATE_RUNTIME][1].path, "/bin/cr2");
	assert_int_equal(h->list[OCI_HOOK_CREATE_RUNTIME][1].timeout, 0);
	assert_null(h->list[OCI_HOOK_CREATE_RUNTIME][1].args);
	assert_string_equal(h->list[OCI_HOOK_CREATE_CONTAINER][0].path, "/bin/cc");
	assert_string_equal(h->list[OCI_HOOK_START_CONTAINER][0].path, "/bin/sc");
	assert_string_equal(h->list[OCI_HOOK_POSTSTART][0].path, "/bin/ps");
	assert_int_equal(h->list[OCI_HOOK_POSTSTOP][0].timeout, 30);

	/* annotations: a long digit string stays a string */
	assert_int_equal(c->n_annotations, 2);
	assert_string_equal(c->annotation_keys[0], "org.example.key");
	assert_string_equal(c->annotation_values[0], "value");
	assert_string_equal(c->annotation_values[1], "12345678901234567890");

	/* linux */
	const struct oci_linux *l = &c->linux_;
	assert_true(c->has_linux);
	assert_int_equal(l->n_namespaces, 8);
	assert_int_equal(l->namespaces[0].type, CLONE_NEWPID);
	assert_null(l->namespaces[0].path);
	assert_int_equal(l->namespaces[1].type, CLONE_NEWNET);
	assert_string_equal(l->namespaces[1].path, "/var/run/netns/x");
	assert_int_equal(l->namespaces[7].type, CLONE_NEWTIME);
	assert_ptr_equal(oci_config_namespace(c, CLONE_NEWNET), &l->namespaces[1]);
	assert_ptr_equal(oci_config_namespace(c, CLONE_NEWCGROUP), &l->namespaces[6]);
	assert_int_equal(l->n_uid_mappings, 1);
	assert_int_equal(l->uid_mappings[0].container_id, 0);
	assert_int_equal(l->uid_mappings[0].host_id, 100000);
	assert_int_equal(l->n_gid_mappings, 2);
	assert_int_equal(l->gid_mappings[1].container_id, 65536);
	assert_int_equal(l->gid_mappings[1].host_id, 5);
	assert_int_equal(l->gid_mappings[1].size, 1);
	assert_true(l->has_time_offsets_monotonic);
	assert_int_equal(l->monotonic_secs, -3600);
	assert_int_equal(l->monotonic_nanosecs, 500);
	assert_true(l->has_time_offsets_boottime);
	assert_int_equal(l->boottime_secs, 86400);
	assert_int_equal(l->n_devices, 2);
	assert_string_equal(l->devices[0].path, "/dev/fuse");
	assert_int_equal(l->devices[0].type, 'c');
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_true(l->devices[0].has_mode);
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_true(l->devices[0].has_uid && l->devices[0].has_gid);
	assert_int_equal(l->devices[1].type, 'p');
	assert_int_equal(l->devices[1].major, -1);
	assert_false(l->devices[1].has_mode);
	assert_string_equal(l->cgroups_path, "/hull/box");

	const struct oci_resources *r = &l->resources;
	assert_true(l->has_resources);
	assert_int_equal(r->n_devices, 3);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_int_equal(r->devices[0].major, -1);
	assert_int_equal(r->devices[0].minor, -1);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_true(r->devices[1].allow);
	assert_int_equal(r->devices[1].type, 'c');
	assert_int_equal(r->devices[1].major, 1);
	assert_int_equal(r->devices[1].minor, 3);
	assert_string_equal(r->devices[1].access, "rw");
	assert_int_equal(r->devices[2].major, 136);
	assert_int_equal(r->devices[2].minor, -1);
	assert_null(r->devices[2].access);
	assert_true(r->has_memory_limit);
	assert_int_equal(r->memory_limit, 536870912);
	assert_true(r->has_memory_reservation);
	assert_int_equal(r->memory_reservation, 268435456);
	assert_true(r->has_memory_swap);
	assert_int_equal(r->memory_swap, -1);
	assert_false(r->has_memory_kernel);
	assert_true(r->has_memory_kernel_tcp);
	assert_true(r->has_memory_swappiness);
	assert_int_equal(r->memory_swappiness, 60);
	assert_true(r->has_disable_oom_killer);
	assert_false(r->disable_oom_killer);
	assert_true(r->has_use_hierarchy && r->use_hierarchy);
	assert_false(r->has_check_before_update);
	assert_true(r->has_cpu_shares);
	assert_int_equal(r->cpu_shares, 1024);
	assert_true(r->has_cpu_quota);
	assert_int_equal(r->cpu_quota, -1);
	assert_int_equal(r->cpu_period, 100000);
	assert_int_equal(r->cpu_burst, 5000);
	assert_int_equal(r->cpu_realtime_runtime, 950000);
	assert_int_equal(r->cpu_realtime_period, 1000000);
	assert_string_equal(r->cpuset_cpus, "0-1");
	assert_string_equal(r->cpuset_mems, "0");
	assert_true(r->has_cpu_idle);
	assert_int_equal(r->cpu_idle, 1);
	assert_true(r->has_pids_limit);
	assert_int_equal(r->pids_limit, 1024);
	assert_true(r->has_blkio_weight);
	assert_int_equal(r->blkio_weight, 500);
	assert_int_equal(r->blkio_leaf_weight, 300);
	assert_int_equal(r->n_blkio_weight_devices, 1);
	assert_int_equal(r->blkio_weight_devices[0].major, 8);
	assert_true(r->blkio_weight_devices[0].has_weight);
	assert_false(r->blkio_weight_devices[0].has_leaf_weight);
	assert_int_equal(r->blkio_weight_devices[0].weight, 600);
	assert_int_equal(r->n_throttle_read_bps, 1);
	assert_int_equal(r->throttle_read_bps[0].rate, 104857600);
	assert_int_equal(r->n_throttle_write_bps, 0);
	assert_int_equal(r->n_throttle_write_iops, 1);
	assert_int_equal(r->throttle_write_iops[0].minor, 16);
	assert_int_equal(r->throttle_write_iops[0].rate, 300);
	assert_int_equal(r->n_hugepage_limits, 1);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(r->hugepage_limits[0].limit, 209715200);
	assert_true(r->has_net_class_id);
	assert_int_equal(r->net_class_id, 1048577);
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified_keys[1], "io.weight");
	assert_string_equal(r->unified_values[1], "default 100");

	assert_string_equal(l->rootfs_propagation, "rslave");
	assert_strv(l->masked_paths, "/proc/acpi", "/proc/kcore", "/sys/firmware", NULL);
	assert_strv(l->readonly_paths, "/proc/bus", "/proc/sys", NULL);
	assert_string_equal(l->mount_label, "system_u:object_r:container_file_t:s0");
	assert_int_equal(l->n_sysctl, 2);
	assert_string_equal(l->sysctl_keys[0], "net.ipv4.ip_forward");
	assert_string_equal(l->sysctl_values[0], "1");

	const struct oci_seccomp *sc = l->seccomp;
	assert_non_null(sc);
	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 1);
	assert_strv(sc->architectures, "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", NULL);
	assert_strv(sc->flags, "SECCOMP_FILTER_FLAG_LOG", NULL);
	assert_string_equal(sc->listener_path, "/run/seccomp.sock");
	assert_string_equal(sc->listener_metadata, "meta");
	assert_int_equal(sc->n_syscalls, 3);
	assert_strv(sc->syscalls[0].names, "read", "write", "exit_group", NULL);
	assert_string_equal(sc->syscalls[0].action, "SCMP_ACT_ALLOW");
	assert_false(sc->syscalls[0].has_errno_ret);
	assert_int_equal(sc->syscalls[0].n_args, 0);
	assert_int_equal(sc->syscalls[1].n_args, 2);
	assert_int_equal(sc->syscalls[1].args[0].index, 0);
	assert_true(sc->syscalls[1].args[0].value == 4294967295u);
	assert_string_equal(sc->syscalls[1].args[0].op, "SCMP_CMP_EQ");
	assert_int_equal(sc->syscalls[1].args[1].index, 5);
	assert_true(sc->syscalls[1].args[1].value == UINT64_MAX);
	assert_int_equal(sc->syscalls[1].args[1].value_two, 17);
	assert_true(sc->syscalls[2].has_errno_ret);
	assert_int_equal(sc->syscalls[2].errno_ret, 38);

	assert_non_null(l->personality);
	assert_string_equal(l->personality->domain, "LINUX32");
	assert_string_equal(l->intel_rdt_clos_id, "guaranteed");

	/* the document is kept; the uint64 literal became a (nearest) real there */
	assert_non_null(c->json);
	assert_string_equal(json_string_value(json_object_get(c->json, "hostname")), "box");
	json_t *hard = json_object_get(json_array_get(json_object_get(json_object_get(c->json, "process"), "rlimits"), 1),
				       "hard");
	assert_true(json_is_real(hard));
	assert_true(json_real_value(hard) > 1.8e19);
	oci_config_free(c);
}

static void test_minimal_config(void **state)
{
	struct oci_config *c = parse_ok("{'ociVersion': '1.0.0'}");
	assert_string_equal(c->oci_version, "1.0.0");
	assert_null(c->root.path);
	assert_false(c->has_process);
	assert_null(c->process.args);
	assert_false(c->has_linux);
	assert_null(c->hostname);
	assert_int_equal(c->n_mounts, 0);
	assert_int_equal(c->n_annotations, 0);
	for (int k = 0; k < OCI_HOOK__MAX; k++)
		assert_int_equal(c->hooks.count[k], 0);
	assert_null(oci_config_namespace(c, CLONE_NEWPID));
	oci_config_free(c);

	/* the smallest useful config, nulls read as absent, empty linux */
	c = parse_ok("{'ociVersion': '1.0.2', 'root': {'path': '/x'}, 'hostname': null,"
		     " 'process': {'args': ['/bin/true'], 'cwd': '/', 'user': {'uid': 0, 'gid': 0}, 'env': null},"
		     " 'linux': {}}");
	assert_true(c->has_process);
	assert_false(c->root.readonly);
	assert_null(c->hostname);
	assert_null(c->process.env);
	assert_false(c->process.has_caps);
	assert_false(c->process.user.has_umask);
	assert_false(c->process.has_oom_score_adj);
	assert_false(c->process.has_scheduler);
	assert_false(c->process.has_io_priority);
	assert_int_equal(c->process.n_rlimits, 0);
	assert_true(c->has_linux);
	assert_false(c->linux_.has_resources);
	assert_null(c->linux_.seccomp);
	assert_null(c->linux_.personality);
	assert_null(c->linux_.cgroups_path);
	assert_int_equal(c->linux_.n_namespaces, 0);
	assert_false(c->linux_.has_time_offsets_monotonic);
	oci_config_free(c);

	/* empty resources: nothing set */
	c = parse_ok("{'ociVersion': '1.0.2', 'linux': {'resources': {'memory': {}, 'cpu': {}, 'pids': {}}}}");
	assert_true(c->linux_.has_resources);
	assert_false(c->linux_.resources.has_memory_limit);
	assert_false(c->linux_.resources.has_memory_swappiness);
	assert_false(c->linux_.resources.has_cpu_quota);
	assert_false(c->linux_.resources.has_pids_limit);
	oci_config_free(c);
}

static void test_relative_mount_destination(void **state)
{
	struct oci_config *c = parse_ok("{'ociVersion': '1.0.0', 'mounts': [{'destination': 'data/x', 'type': 'tmpfs'},"
					" {'destination': '/abs'}]}");
	assert_int_equal(c->n_mounts, 2);
	assert_string_equal(c->mounts[0].destination, "/data/x");
	assert_string_equal(c->mounts[1].destination, "/abs");
	oci_config_free(c);
}

static void test_swappiness_unset(void **state)
{
	struct oci_config *c = parse_ok(
		"{'ociVersion': '1.0.0', 'linux': {'resources': {'memory': {'swappiness': -1}}}}");
	assert_false(c->linux_.resources.has_memory_swappiness);
	oci_config_free(c);
	c = parse_ok("{'ociVersion': '1.0.0', 'linux': {'resources': {'memory': {'swappiness': 18446744073709551615}}}}");
	assert_false(c->linux_.resources.has_memory_swappiness);
	oci_config_free(c);
	c = parse_ok("{'ociVersion': '1.0.0', 'linux': {'resources': {'memory': {'swappiness': 0}}}}");
	assert_true(c->linux_.resources.has_memory_swappiness);
	assert_int_equal(c->linux_.resources.memory_swappiness, 0);
	oci_config_free(c);
}

#define P_OK "'args': ['sh'], 'cwd': '/'"

static const struct {
	const char *json;
	const char *want;
} error_cases[] = {
	/* document level */
	{ "{'ociVersion': '1.0.0'", "invalid JSON at line 1" },
	{ "[1, 2]", "expected a JSON object, got an array" },
	{ "", "invalid JSON" },
	{ "{}", "ociVersion: required field is missing" },
	{ "{'ociVersion': 1}", "ociVersion: expected a string, got an integer" },
	{ "{'ociVersion': '1', 'root': {}}", "root.path: required field is missing" },
	{ "{'ociVersion': '1', 'root': {'path': 'r', 'readonly': 'yes'}}", "root.readonly: expected a boolean" },
	{ "{'ociVersion': '1', 'hostname': ['a']}", "hostname: expected a string, got an array" },
	{ "{'ociVersion': '1', 'hostname': 18446744073709551615}", "hostname: expected a string, got an integer" },
	{ "{'ociVersion': '1', 'annotations': {'a': 18446744073709551615}}", "annotations.a: expected a string" },
	{ "{'ociVersion': '1', 'process': {'args': ['a', 9223372036854775808], 'cwd': '/'}}",
	  "process.args[1]: expected a string, got an integer" },
	/* process */
	{ "{'ociVersion': '1', 'process': 'sh'}", "process: expected an object, got a string" },
	{ "{'ociVersion': '1', 'process': {'cwd': '/'}}", "process.args: must not be empty" },
	{ "{'ociVersion': '1', 'process': {'args': [], 'cwd': '/'}}", "process.args: must not be empty" },
	{ "{'ociVersion': '1', 'process': {'args': 'sh', 'cwd': '/'}}", "process.args: expected an array" },
	{ "{'ociVersion': '1', 'process': {'args': ['sh', 1], 'cwd': '/'}}", "process.args[1]: expected a string" },
	{ "{'ociVersion': '1', 'process': {'args': ['sh']}}", "process.cwd: required field is missing" },
	{ "{'ociVersion': '1', 'process': {'args': ['sh'], 'cwd': 'tmp'}}",
	  "process.cwd: must be an absolute path, got 'tmp'" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'terminal': 1}}", "process.terminal: expected a boolean" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'env': ['A=1', 'NOEQ']}}",
	  "process.env[1]: invalid environment variable 'NOEQ': missing '='" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'env': ['=x']}}", "process.env[0]: invalid environment" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'uid': 4294967296}}}",
	  "process.user.uid: value 4294967296 out of range" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'uid': 4294967295}}}", "process.user.uid: value" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'gid': -1}}}", "process.user.gid: value -1 out of range" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'gid': 18446744073709551615}}}",
	  "process.user.gid: value 18446744073709551615 out of range" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'uid': '0'}}}", "process.user.uid: expected an integer" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'additionalGids': [1, 'x']}}}",
	  "process.user.additionalGids[1]: expected an integer" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'user': {'umask': 512}}}", "process.user.umask: value" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'consoleSize': {'height': 1}}}",
	  "process.consoleSize.width: required field is missing" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'capabilities': {'bounding': 'CAP_KILL'}}}",
	  "process.capabilities.bounding: expected an array" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': [{'type': 'RLIMIT_FOO', 'hard': 1, 'soft': 1}]}}",
	  "process.rlimits[0].type: unknown rlimit type 'RLIMIT_FOO'" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1, 'soft': 1},"
	  " {'type': 'RLIMIT_NOFILE', 'hard': 2, 'soft': 2}]}}",
	  "process.rlimits[1].type: duplicate rlimit type 'RLIMIT_NOFILE'" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1, 'soft': 2}]}}",
	  "process.rlimits[0]: RLIMIT_NOFILE: soft limit 2 is above hard limit 1" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 2}]}}",
	  "process.rlimits[0].hard: required field is missing" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': -5, 'soft': 2}]}}",
	  "process.rlimits[0].hard: value -5 out of range" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': {}}}", "process.rlimits: expected an array" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'rlimits': [7]}}", "process.rlimits[0]: expected an object" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'oomScoreAdj': 1001}}", "process.oomScoreAdj: value 1001" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'oomScoreAdj': 1.5}}",
	  "process.oomScoreAdj: expected an integer, got a number" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'scheduler': {'policy': 'SCHED_FAST'}}}",
	  "process.scheduler.policy: unknown scheduler policy 'SCHED_FAST'" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'scheduler': {'nice': 1}}}",
	  "process.scheduler.policy: required field is missing" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'scheduler': {'policy': 'SCHED_RR', 'flags': ['X']}}}",
	  "process.scheduler.flags[0]: unknown scheduler flag 'X'" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'ioPriority': {'class': 'IOPRIO_CLASS_X'}}}",
	  "process.ioPriority.class: unknown I/O priority class 'IOPRIO_CLASS_X'" },
	{ "{'ociVersion': '1', 'process': {" P_OK ", 'ioPriority': {'class': 'IOPRIO_CLASS_BE', 'priority': 8}}}",
	  "process.ioPriority.priority: value 8 out of range" },
	/* mounts */
	{ "{'ociVersion': '1', 'mounts': {}}", "mounts: expected an array" },
	{ "{'ociVersion': '1', 'mounts': [{'type': 'proc'}]}", "mounts[0].destination: required field is missing" },
	{ "{'ociVersion': '1', 'mounts': [{'destination': '/a'}, {'destination': ''}]}",
	  "mounts[1].destination: must not be empty" },
	{ "{'ociVersion': '1', 'mounts': [{'destination': '/a', 'options': 'ro'}]}",
	  "mounts[0].options: expected an array" },
	{ "{'ociVersion': '1', 'mounts': [{'destination': '/a', 'uidMappings': [{'containerID': 0, 'hostID': 1}]}]}",
	  "mounts[0].uidMappings[0].size: required field is missing" },
	/* hooks */
	{ "{'ociVersion': '1', 'hooks': {'prestart': [{'path': 'rel'}]}}",
	  "hooks.prestart[0].path: must be an absolute path, got 'rel'" },
	{ "{'ociVersion': '1', 'hooks': {'poststop': [{'path': '/a', 'timeout': 0}]}}",
	  "hooks.poststop[0].timeout: must be greater than zero" },
	{ "{'ociVersion': '1', 'hooks': {'createRuntime': [{'args': []}]}}",
	  "hooks.createRuntime[0].path: required field is missing" },
	{ "{'ociVersion': '1', 'hooks': {'poststart': {}}}", "hooks.poststart: expected an array" },
	/* annotations */
	{ "{'ociVersion': '1', 'annotations': {'a': 1}}", "annotations.a: expected a string, got an integer" },
	{ "{'ociVersion': '1', 'annotations': {'': 'x'}}", "annotations: empty key" },
	/* linux */
	{ "{'ociVersion': '1', 'linux': []}", "linux: expected an object, got an array" },
	{ "{'ociVersion': '1', 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'foo'}]}}",
	  "linux.namespaces[1].type: unknown namespace type 'foo'" },
	{ "{'ociVersion': '1', 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'net'}]}}",
	  "unknown namespace type 'net'" },
	{ "{'ociVersion': '1', 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'mount'}, {'type': 'pid'}]}}",
	  "linux.namespaces[2].type: duplicate namespace type 'pid'" },
	{ "{'ociVersion': '1', 'linux': {'namespaces': [{'path': '/proc/1/ns/pid'}]}}",
	  "linux.namespaces[0].type: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'namespaces': [{'type': 'uts', 'path': 'proc/1/ns/uts'}]}}",
	  "linux.namespaces[0].path: must be an absolute path" },
	{ "{'ociVersion': '1', 'linux': {'uidMappings': [{'containerID': 0, 'hostID': 1000, 'size': 0}]}}",
	  "linux.uidMappings[0]: size must not be 0" },
	{ "{'ociVersion': '1', 'linux': {'gidMappings': [{'containerID': 0, 'hostID': 4294967295, 'size': 2}]}}",
	  "linux.gidMappings[0]: range" },
	{ "{'ociVersion': '1', 'linux': {'uidMappings': [{'containerID': -1, 'hostID': 0, 'size': 1}]}}",
	  "linux.uidMappings[0].containerID: value -1 out of range" },
	{ "{'ociVersion': '1', 'linux': {'timeOffsets': {'boottime': {'nanosecs': 1000000000}}}}",
	  "linux.timeOffsets.boottime.nanosecs: value 1000000000 out of range" },
	{ "{'ociVersion': '1', 'linux': {'devices': [{'path': '/dev/x', 'type': 'x', 'major': 1, 'minor': 1}]}}",
	  "linux.devices[0].type: invalid device type 'x'" },
	{ "{'ociVersion': '1', 'linux': {'devices': [{'path': '/dev/x', 'type': 'c', 'minor': 1}]}}",
	  "linux.devices[0].major: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'devices': [{'path': 'dev/x', 'type': 'p'}]}}",
	  "linux.devices[0].path: must be an absolute path" },
	{ "{'ociVersion': '1', 'linux': {'cgroupsPath': 5}}", "linux.cgroupsPath: expected a string" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'memory': {'limit': '1G'}}}}",
	  "linux.resources.memory.limit: expected an integer" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'memory': []}}}",
	  "linux.resources.memory: expected an object" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'memory': {'swappiness': 101}}}}",
	  "linux.resources.memory.swappiness: value 101 out of range" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'memory': {'disableOOMKiller': 0}}}}",
	  "linux.resources.memory.disableOOMKiller: expected a boolean" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'cpu': {'quota': 1.5}}}}",
	  "linux.resources.cpu.quota: expected an integer, got a number" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'cpu': {'shares': -2}}}}",
	  "linux.resources.cpu.shares: value -2 out of range" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'cpu': {'quota': 18446744073709551615}}}}",
	  "linux.resources.cpu.quota: value 18446744073709551615 out of range" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'pids': {'limit': true}}}}",
	  "linux.resources.pids.limit: expected an integer, got a boolean" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'devices': [{'access': 'rwm'}]}}}",
	  "linux.resources.devices[0].allow: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'devices': [{'allow': true, 'access': 'rwx'}]}}}",
	  "linux.resources.devices[0].access: invalid access 'rwx'" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'devices': [{'allow': true, 'type': 'p'}]}}}",
	  "linux.resources.devices[0].type: invalid device type 'p'" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'devices': [{'allow': true, 'major': -2}]}}}",
	  "linux.resources.devices[0].major: value -2 out of range" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'blockIO': {'weight': 70000}}}}",
	  "linux.resources.blockIO.weight: value 70000 out of range" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'blockIO': {'throttleReadBpsDevice': [{'major': 8, 'minor': 0}]}}}}",
	  "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'blockIO': {'weightDevice': [{'major': 8}]}}}}",
	  "linux.resources.blockIO.weightDevice[0].minor: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'hugepageLimits': [{'limit': 1}]}}}",
	  "linux.resources.hugepageLimits[0].pageSize: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'network': {'classID': 4294967296}}}}",
	  "linux.resources.network.classID: value 4294967296 out of range" },
	{ "{'ociVersion': '1', 'linux': {'resources': {'unified': {'memory.max': 5}}}}",
	  "linux.resources.unified.memory.max: expected a string" },
	{ "{'ociVersion': '1', 'linux': {'rootfsPropagation': 'sideways'}}",
	  "linux.rootfsPropagation: invalid propagation 'sideways'" },
	{ "{'ociVersion': '1', 'linux': {'maskedPaths': ['/proc/kcore', 'proc/x']}}",
	  "linux.maskedPaths[1]: must be an absolute path" },
	{ "{'ociVersion': '1', 'linux': {'readonlyPaths': [1]}}", "linux.readonlyPaths[0]: expected a string" },
	{ "{'ociVersion': '1', 'linux': {'sysctl': {'kernel.x': 1}}}", "linux.sysctl.kernel.x: expected a string" },
	{ "{'ociVersion': '1', 'linux': {'seccomp': {'syscalls': []}}}",
	  "linux.seccomp.defaultAction: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'action': 'x'}]}}}",
	  "linux.seccomp.syscalls[0].names: must not be empty" },
	{ "{'ociVersion': '1', 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read']}]}}}",
	  "linux.seccomp.syscalls[0].action: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 6, 'value': 1, 'op': 'SCMP_CMP_EQ'}]}]}}}",
	  "linux.seccomp.syscalls[0].args[0].index: value 6 out of range" },
	{ "{'ociVersion': '1', 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'op': 'SCMP_CMP_EQ'}]}]}}}",
	  "linux.seccomp.syscalls[0].args[0].value: required field is missing" },
	{ "{'ociVersion': '1', 'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'],"
	  " 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'value': 99999999999999999999, 'op': 'SCMP_CMP_EQ'}]}]}}}",
	  "invalid JSON" },
	{ "{'ociVersion': '1', 'linux': {'personality': {'domain': 'BSD'}}}",
	  "linux.personality.domain: invalid domain 'BSD'" },
	{ "{'ociVersion': '1', 'linux': {'intelRdt': {'closID': 3}}}", "linux.intelRdt.closID: expected a string" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
		parse_fails(error_cases[i].json, error_cases[i].want);
}

static void test_bad_bytes(void **state)
{
	struct oci_config *c = NULL;
	hull_error *err = NULL;
	/* an embedded NUL in a string must not be accepted (would truncate C strings) */
	static const char nul[] = "{\"ociVersion\": \"1\", \"hostname\": \"a\\u0000b\"}";
	assert_int_equal(oci_config_parse(nul, sizeof(nul) - 1, &c, &err), -1);
	assert_null(c);
	assert_non_null(strstr(err->msg, "invalid JSON"));
	hull_error_clear(&err);
	/* a raw NUL byte inside the buffer */
	static const char raw[] = "{\"ociVersion\": \"1\"}\0garbage";
	assert_int_equal(oci_config_parse(raw, sizeof(raw) - 1, &c, &err), -1);
	hull_error_clear(&err);
	/* a number followed by a huge one inside a string is left alone */
	struct oci_config *ok = parse_ok("{'ociVersion': '1', 'x-big': [18446744073709551615, -5, 1e3],"
					 " 'hostname': '-18446744073709551615 \\' 18446744073709551615'}");
	assert_string_equal(ok->hostname, "-18446744073709551615 \" 18446744073709551615");
	oci_config_free(ok);
}

static void test_process_parse(void **state)
{
	_cleanup_free_ char *j = jq("{'args': ['/bin/sh', '-l'], 'cwd': '/root', 'env': ['HOME=/root'],"
				    " 'user': {'uid': 5, 'gid': 6, 'additionalGids': [7]}, 'terminal': true,"
				    " 'rlimits': [{'type': 'RLIMIT_NPROC', 'hard': 18446744073709551615, 'soft': 100}],"
				    " 'capabilities': {'ambient': ['CAP_CHOWN']}}");
	hull_error *err = NULL;
	json_t *obj = oci_json_parse(j, strlen(j), &err);
	assert_non_null(obj);
	struct oci_process p;
	memset(&p, 0xab, sizeof(p));
	assert_int_equal(oci_process_parse(obj, &p, &err), 0);
	assert_null(err);
	assert_strv(p.args, "/bin/sh", "-l", NULL);
	assert_string_equal(p.cwd, "/root");
	assert_strv(p.env, "HOME=/root", NULL);
	assert_int_equal(p.user.uid, 5);
	assert_int_equal(p.user.gid, 6);
	assert_int_equal(p.user.n_additional_gids, 1);
	assert_true(p.terminal);
	assert_int_equal(p.n_rlimits, 1);
	assert_int_equal(p.rlimits[0].resource, RLIMIT_NPROC);
	assert_true(p.rlimits[0].hard == UINT64_MAX);
	assert_int_equal(p.rlimits[0].soft, 100);
	assert_true(p.has_caps);
	assert_strv(p.caps.ambient, "CAP_CHOWN", NULL);
	assert_null(p.caps.bounding);
	assert_false(p.has_scheduler);
	oci_process_clear(&p);
	assert_null(p.args);
	json_decref(obj);

	/* errors name the field, and leave *ret cleared */
	_cleanup_free_ char *bad = jq("{'args': ['x'], 'cwd': '/', 'user': {'uid': 'root'}}");
	obj = json_loads(bad, 0, NULL);
	assert_non_null(obj);
	memset(&p, 0xab, sizeof(p));
	assert_int_equal(oci_process_parse(obj, &p, &err), -1);
	assert_non_null(err);
	assert_string_equal(err->msg, "process.user.uid: expected an integer, got a string");
	assert_null(p.args);
	assert_null(p.cwd);
	hull_error_clear(&err);
	json_decref(obj);

	obj = json_loads("[]", 0, NULL);
	assert_int_equal(oci_process_parse(obj, &p, &err), -1);
	assert_non_null(strstr(err->msg, "process: expected an object"));
	hull_error_clear(&err);
	json_decref(obj);
	assert_int_equal(oci_process_parse(NULL, &p, &err), -1);
	hull_error_clear(&err);
}

static void test_names(void **state)
{
	assert_int_equal(oci_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(oci_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(oci_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
	assert_int_equal(oci_rlimit_from_name("nofile"), -1);
	assert_int_equal(oci_rlimit_from_name(NULL), -1);

	static const struct {
		const char *oci, *proc;
		int flag;
	} ns[] = {
		{ "pid", "pid", CLONE_NEWPID },	   { "network", "net", CLONE_NEWNET }, { "mount", "mnt", CLONE_NEWNS },
		{ "ipc", "ipc", CLONE_NEWIPC },	   { "uts", "uts", CLONE_NEWUTS },     { "user", "user", CLONE_NEWUSER },
		{ "cgroup", "cgroup", CLONE_NEWCGROUP }, { "time", "time", CLONE_NEWTIME },
	};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		assert_int_equal(oci_namespace_from_name(ns[i].oci), ns[i].flag);
		assert_string_equal(oci_namespace_name(ns[i].flag), ns[i].proc);
		/* the name is the /proc/self/ns entry */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/ns/%s", oci_namespace_name(ns[i].flag));
		if (access("/proc/self/ns/time", F_OK) == 0)
			assert_int_equal(access(path, F_OK), 0);
	}
	assert_int_equal(oci_namespace_from_name("net"), 0);
	assert_int_equal(oci_namespace_from_name(""), 0);
	assert_null(oci_namespace_name(0));
	assert_null(oci_namespace_name(CLONE_VM));
}

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/hull-test-config-XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void test_load(void **state)
{
	_cleanup_free_ char *dir = make_tmpdir();
	_cleanup_free_ char *file = NULL;
	assert_true(asprintf(&file, "%s/config.json", dir) > 0);
	struct oci_config *c = NULL;
	hull_error *err = NULL;

	/* missing */
	assert_int_equal(oci_config_load(dir, &c, &err), -1);
	assert_non_null(strstr(err->msg, "config.json"));
	assert_non_null(strstr(err->msg, "no such file"));
	hull_error_clear(&err);

	/* good */
	_cleanup_free_ char *j = jq(full_config);
	assert_int_equal(fs_write_file_atomic(file, j, strlen(j), 0644, false), 0);
	assert_int_equal(oci_config_load(dir, &c, &err), 0);
	assert_null(err);
	assert_string_equal(c->hostname, "box");
	oci_config_free(c);
	c = NULL;

	/* a field error names the file and the field */
	_cleanup_free_ char *bad = jq("{'ociVersion': '1', 'process': {'args': ['a'], 'cwd': 'x'}}");
	assert_int_equal(fs_write_file_atomic(file, bad, strlen(bad), 0644, false), 0);
	assert_int_equal(oci_config_load(dir, &c, &err), -1);
	assert_null(c);
	assert_non_null(strstr(err->msg, file));
	assert_non_null(strstr(err->msg, "process.cwd: must be an absolute path"));
	hull_error_clear(&err);

	/* too big: bounded read */
	int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 17 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(oci_config_load(dir, &c, &err), -1);
	assert_null(c);
	assert_int_equal(err->status, EFBIG);
	hull_error_clear(&err);

	assert_int_equal(fs_rm_rf(dir), 0);
}

/* ------------------------------------------------------------------ */
/* hooks                                                               */

static char *hook_dir;

static int hooks_setup(void **state)
{
	hook_dir = make_tmpdir();
	return 0;
}

static int hooks_teardown(void **state)
{
	if (hook_dir)
		fs_rm_rf(hook_dir);
	free(hook_dir);
	hook_dir = NULL;
	return 0;
}

static char *write_script(const char *name, const char *body)
{
	char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", hook_dir, name) > 0);
	_cleanup_free_ char *text = NULL;
	assert_true(asprintf(&text, "#!/bin/sh\n%s\n", body) > 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static char *read_back(const char *name)
{
	_cleanup_free_ char *path = NULL;
	char *data = NULL;
	assert_true(asprintf(&path, "%s/%s", hook_dir, name) > 0);
	int r = fs_read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL);
	if (r < 0)
		fail_msg("read %s: %s", path, strerror(-r));
	return data;
}

static bool exec_works(const char *script)
{
	/* /tmp mounted noexec: hooks cannot run from there */
	return access(script, X_OK) == 0 && access("/bin/sh", X_OK) == 0;
}

static void test_hook_kind_names(void **state)
{
	assert_string_equal(hooks_kind_name(OCI_HOOK_PRESTART), "prestart");
	assert_string_equal(hooks_kind_name(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
	assert_string_equal(hooks_kind_name(OCI_HOOK_CREATE_CONTAINER), "createContainer");
	assert_string_equal(hooks_kind_name(OCI_HOOK_START_CONTAINER), "startContainer");
	assert_string_equal(hooks_kind_name(OCI_HOOK_POSTSTART), "poststart");
	assert_string_equal(hooks_kind_name(OCI_HOOK_POSTSTOP), "poststop");
}

static void test_hook_runs_with_state(void **state)
{
	_cleanup_free_ char *script = write_script("record.sh", "cat > \"$1\"\n"
								"echo \"$0 $# $2 FOO=$FOO LEAK=$HULL_LEAK\" > \"$1.info\"\n"
								"echo to-stdout");
	if (!exec_works(script))
		skip();
	_cleanup_free_ char *out = NULL;
	assert_true(asprintf(&out, "%s/state.out", hook_dir) > 0);
	setenv("HULL_LEAK", "yes", 1);
	char *args[] = { "record-hook", out, "second", NULL };
	char *env[] = { "FOO=bar", NULL };
	struct oci_hook hk = { .path = script, .args = args, .env = env, .timeout = 10 };
	struct oci_hooks hooks = { 0 };
	hooks.list[OCI_HOOK_CREATE_RUNTIME] = &hk;
	hooks.count[OCI_HOOK_CREATE_RUNTIME] = 1;
	const char *st = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42,\"bundle\":\"/b\"}";
	hull_error *err = NULL;

	/* another kind has no hooks: nothing runs */
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_PRESTART, st, &err), 0);
	assert_int_equal(access(out, F_OK), -1);

	assert_int_equal(hooks_run(&hooks, OCI_HOOK_CREATE_RUNTIME, st, &err), 0);
	assert_null(err);
	_cleanup_free_ char *got = read_back("state.out");
	assert_string_equal(got, st);
	_cleanup_free_ char *info = read_back("state.out.info");
	/* args[1..] are the arguments; env is exactly hook->env */
	_cleanup_free_ char *want_info = NULL;
	assert_true(asprintf(&want_info, "%s 2 second FOO=bar LEAK=\n", script) > 0);
	assert_string_equal(info, want_info);
	unsetenv("HULL_LEAK");

	/* argv[0] is args[0] (a script loses it to the kernel, so run sh itself) */
	_cleanup_free_ char *cmd = NULL;
	assert_true(asprintf(&cmd, "tr '\\000' ' ' < /proc/$$/cmdline > %s/argv0.out", hook_dir) > 0);
	char *sh_args[] = { "custom-argv0", "-c", cmd, NULL };
	struct oci_hook hk0 = { .path = "/bin/sh", .args = sh_args };
	hooks.list[OCI_HOOK_CREATE_RUNTIME] = &hk0;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_CREATE_RUNTIME, st, &err), 0);
	_cleanup_free_ char *argv0 = read_back("argv0.out");
	assert_true(strncmp(argv0, "custom-argv0 -c ", 16) == 0);

	/* args NULL: argv is {path}; env NULL: empty environment */
	_cleanup_free_ char *script2 = write_script("noargs.sh", "echo \"$0 $# [$(env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=')]\" > \"$(dirname \"$0\")/noargs.out\"");
	struct oci_hook hk2 = { .path = script2 };
	hooks.list[OCI_HOOK_POSTSTOP] = &hk2;
	hooks.count[OCI_HOOK_POSTSTOP] = 1;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_POSTSTOP, st, &err), 0);
	_cleanup_free_ char *noargs = read_back("noargs.out");
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want, "%s 0 []\n", script2) > 0);
	assert_string_equal(noargs, want);
}

static void test_hooks_in_order_and_stop_on_failure(void **state)
{
	_cleanup_free_ char *a = write_script("a.sh", "echo a >> \"$(dirname \"$0\")/order.out\"");
	_cleanup_free_ char *fail = write_script("fail.sh", "echo 'hook says no' >&2\nexit 3");
	_cleanup_free_ char *b = write_script("b.sh", "echo b >> \"$(dirname \"$0\")/order.out\"");
	if (!exec_works(a))
		skip();
	struct oci_hook list[3] = { { .path = a }, { .path = b }, { .path = a } };
	struct oci_hooks hooks = { 0 };
	hooks.list[OCI_HOOK_POSTSTART] = list;
	hooks.count[OCI_HOOK_POSTSTART] = 3;
	hull_error *err = NULL;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_POSTSTART, "{}", &err), 0);
	_cleanup_free_ char *order = read_back("order.out");
	assert_string_equal(order, "a\nb\na\n");

	/* a failing hook: error names kind, path and status; later hooks do not run */
	list[1].path = fail;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_POSTSTART, "{}", &err), -1);
	assert_non_null(err);
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want, "hook 'poststart' '%s': exited with status 3", fail) > 0);
	assert_string_equal(err->msg, want);
	hull_error_clear(&err);
	_cleanup_free_ char *order2 = read_back("order.out");
	assert_string_equal(order2, "a\nb\na\na\n");

	/* a hook killed by a signal */
	_cleanup_free_ char *sig = write_script("sig.sh", "kill -TERM $$");
	list[0].path = sig;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_POSTSTART, "{}", &err), -1);
	assert_non_null(strstr(err->msg, "killed by signal 15"));
	hull_error_clear(&err);

	/* a hook that cannot be executed */
	_cleanup_free_ char *missing = NULL;
	assert_true(asprintf(&missing, "%s/does-not-exist", hook_dir) > 0);
	list[0].path = missing;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_POSTSTART, "{}", &err), -1);
	assert_non_null(strstr(err->msg, "hook 'poststart'"));
	assert_non_null(strstr(err->msg, "does-not-exist': exec: no such file or directory"));
	assert_int_equal(err->status, ENOENT);
	hull_error_clear(&err);
}

static void test_hook_timeout(void **state)
{
	_cleanup_free_ char *slow = write_script("slow.sh", "exec sleep 30");
	if (!exec_works(slow))
		skip();
	struct oci_hook hk = { .path = slow, .timeout = 1 };
	struct oci_hooks hooks = { 0 };
	hooks.list[OCI_HOOK_PRESTART] = &hk;
	hooks.count[OCI_HOOK_PRESTART] = 1;
	hull_error *err = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_PRESTART, "{}", &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took >= 0.9 && took < 5.0);
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want, "hook 'prestart' '%s': timed out after 1 seconds", slow) > 0);
	assert_string_equal(err->msg, want);
	hull_error_clear(&err);
}

static void test_hook_ignores_stdin(void **state)
{
	/* the hook exits without reading a state larger than a pipe buffer:
	 * no SIGPIPE death, no hang, success */
	_cleanup_free_ char *quick = write_script("quick.sh", "exit 0");
	_cleanup_free_ char *stuck = write_script("stuck.sh", "exec sleep 30");
	if (!exec_works(quick))
		skip();
	size_t n = 1 << 20;
	_cleanup_free_ char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	struct oci_hook hk = { .path = quick, .timeout = 5 };
	struct oci_hooks hooks = { 0 };
	hooks.list[OCI_HOOK_START_CONTAINER] = &hk;
	hooks.count[OCI_HOOK_START_CONTAINER] = 1;
	hull_error *err = NULL;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_START_CONTAINER, big, &err), 0);
	assert_null(err);

	/* a hook that neither reads nor exits is still bounded by its timeout */
	hk.path = stuck;
	hk.timeout = 1;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_START_CONTAINER, big, &err), -1);
	assert_non_null(strstr(err->msg, "timed out after 1 seconds"));
	hull_error_clear(&err);

	/* a big state is delivered whole */
	_cleanup_free_ char *count = write_script("count.sh", "wc -c > \"$(dirname \"$0\")/count.out\"");
	hk.path = count;
	hk.timeout = 10;
	assert_int_equal(hooks_run(&hooks, OCI_HOOK_START_CONTAINER, big, &err), 0);
	_cleanup_free_ char *got = read_back("count.out");
	assert_int_equal(strtoul(got, NULL, 10), n);
}

static void test_hooks_from_config(void **state)
{
	_cleanup_free_ char *script = write_script("cfg.sh", "cat > \"$1\"");
	if (!exec_works(script))
		skip();
	_cleanup_free_ char *text = NULL;
	assert_true(asprintf(&text, "{'ociVersion': '1.2.0', 'hooks': {'createContainer': [{'path': '%s',"
				    " 'args': ['cfg', '%s/cfg.out'], 'timeout': 5}]}}",
			     script, hook_dir) > 0);
	struct oci_config *c = parse_ok(text);
	hull_error *err = NULL;
	assert_int_equal(hooks_run(&c->hooks, OCI_HOOK_CREATE_CONTAINER, "{\"id\":\"x\"}", &err), 0);
	_cleanup_free_ char *got = read_back("cfg.out");
	assert_string_equal(got, "{\"id\":\"x\"}");
	assert_int_equal(hooks_run(NULL, OCI_HOOK_POSTSTOP, "{}", &err), 0);
	assert_int_equal(hooks_run(&c->hooks, OCI_HOOK__MAX, "{}", &err), -1);
	hull_error_clear(&err);
	oci_config_free(c);
}

int main(void)
{
	const struct CMUnitTest config_tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_minimal_config),
		cmocka_unit_test(test_relative_mount_destination),
		cmocka_unit_test(test_swappiness_unset),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_process_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_load),
	};
	const struct CMUnitTest hook_tests[] = {
		cmocka_unit_test(test_hook_kind_names),
		cmocka_unit_test(test_hook_runs_with_state),
		cmocka_unit_test(test_hooks_in_order_and_stop_on_failure),
		cmocka_unit_test(test_hook_timeout),
		cmocka_unit_test(test_hook_ignores_stdin),
		cmocka_unit_test(test_hooks_from_config),
	};
	int failed = cmocka_run_group_tests_name("config", config_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("hooks", hook_tests, hooks_setup, hooks_teardown);
	return failed ? 1 : 0;
}
