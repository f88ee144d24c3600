/* container.c - the runtime side of the lifecycle: create, start, run,
 * state, kill, delete, pause, resume, list. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "runtime/hooks.h"
#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"

const char *rt_default_root(void)
{
	if (geteuid() == 0)
		return "/run/hull-runtime";
	static char buf[PATH_MAX];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg) {
		snprintf(buf, sizeof(buf), "%s/hull-runtime", xdg);
		return buf;
	}
	snprintf(buf, sizeof(buf), "/tmp/hull-runtime-%u", (unsigned)geteuid());
	return buf;
}

int rt_validate_id(const char *id, hull_error **err)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0)
		return hull_error_set(err, 0, "container id is empty");
	if (n > 1024)
		return hull_error_set(err, 0, "container id is longer than 1024 bytes");
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '_' || c == '.' || c == '+' || c == '-'));
		if (!ok)
			return hull_error_set(err, 0, "invalid container id '%s'", id);
	}
	return 0;
}

int container_clone_flags(const struct oci_config *cfg, bool *ret_has_joins)
{
	int flags = 0;
	bool joins = false;
	for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
		const struct oci_namespace *ns = &cfg->linux_.namespaces[i];
		if (ns->path && *ns->path)
			joins = true;
		else if (ns->type != CLONE_NEWTIME && ns->type != CLONE_NEWCGROUP)
			/* the init makes these: time needs its offsets first, the
			 * cgroup namespace must start at the container's cgroup */
			flags |= ns->type;
	}
	if (ret_has_joins)
		*ret_has_joins = joins;
	return flags;
}

/* ---- uid/gid maps ---- */

static int write_map_direct(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
			    hull_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	size_t cap = n * 40 + 1, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return hull_error_set(err, ENOMEM, "write '%s'", path);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%u %u %u\n", m[i].container_id, m[i].host_id,
					m[i].size);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return hull_error_set(err, errno, "write %s '%.*s'", path, (int)(len ? len - 1 : 0), buf);
	return 0;
}

static int run_idmap_helper(const char *helper, pid_t pid, const struct oci_id_mapping *m, size_t n,
			    hull_error **err)
{
	size_t argc = 2 + n * 3;
	_cleanup_free_ char **argv = calloc(argc + 1, sizeof(char *));
	_cleanup_free_ char *nums = calloc(n * 3 + 1, 16);
	if (!argv || !nums)
		return hull_error_set(err, ENOMEM, "run %s", helper);
	char pidbuf[16];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	argv[0] = (char *)helper;
	argv[1] = pidbuf;
	for (size_t i = 0; i < n; i++) {
		uint32_t v[3] = { m[i].container_id, m[i].host_id, m[i].size };
		for (int k = 0; k < 3; k++) {
			char *s = nums + (i * 3 + (size_t)k) * 16;
			snprintf(s, 16, "%u", v[k]);
			argv[2 + i * 3 + (size_t)k] = s;
		}
	}
	pid_t c = fork();
	if (c < 0)
		return hull_error_set(err, errno, "fork for %s", helper);
	if (c == 0) {
		execvp(helper, argv);
		dprintf(STDERR_FILENO, "hull-runtime: exec '%s': %s\n", helper, strerror(errno));
		_exit(127);
	}
	int code = proc_wait_exit_code(c);
	if (code != 0)
		return hull_error_set(err, 0, "%s %d failed with exit code %d (check /etc/subuid and /etc/subgid)",
				      helper, (int)pid, code);
	return 0;
}

int userns_write_maps(pid_t pid, const struct oci_config *cfg, hull_error **err)
{
	const struct oci_linux *l = &cfg->linux_;
	bool root = geteuid() == 0;
	bool self_uid = l->n_uid_mappings == 1 && l->uid_mappings[0].host_id == geteuid() && l->uid_mappings[0].size == 1;
	bool self_gid = l->n_gid_mappings == 1 && l->gid_mappings[0].host_id == getegid() && l->gid_mappings[0].size == 1;
	if (l->n_uid_mappings == 0 && l->n_gid_mappings == 0)
		return 0;
	if (root || (self_uid && self_gid)) {
		if (!root) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
			int r = fs_write_string_at(AT_FDCWD, path, "deny");
			if (r < 0)
				return hull_error_set(err, -r, "write 'deny' to '%s'", path);
		}
		if (write_map_direct(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err) < 0 ||
		    write_map_direct(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err) < 0)
			return -1;
		return 0;
	}
	if (run_idmap_helper("newuidmap", pid, l->uid_mappings, l->n_uid_mappings, err) < 0 ||
	    run_idmap_helper("newgidmap", pid, l->gid_mappings, l->n_gid_mappings, err) < 0)
		return -1;
	return 0;
}

/* ---- create ---- */

struct created {
	pid_t pid;
	int pty_master; /* -1 unless terminal without console socket */
};

static pid_t raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

/* Join the namespaces given by path (user first, mount last), as the
 * intermediate process does before it clones the init. */
static int join_namespaces(const struct oci_config *cfg, hull_error **err)
{
	static const int order[] = RT_NS_JOIN_ORDER;
	for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
		const struct oci_namespace *ns = oci_config_namespace(cfg, order[k]);
		if (!ns || !ns->path || !*ns->path)
			continue;
		_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return hull_error_set(err, errno, "open %s namespace '%s'", oci_namespace_name(ns->type), ns->path);
		if (setns(fd, ns->type) < 0)
			return hull_error_set(err, errno, "join %s namespace '%s'", oci_namespace_name(ns->type), ns->path);
	}
	return 0;
}

static void kill_and_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int run_hooks_kind(const struct oci_config *cfg, enum oci_hook_kind kind, const char *state, hull_error **err)
{
	if (!cfg->hooks.count[kind])
		return 0;
	return hooks_run(&cfg->hooks, kind, state, err);
}

static char *owner_name(void)
{
	struct passwd *pw = getpwuid(geteuid());
	return strdup(pw ? pw->pw_name : "");
}

/* The device rules to apply: the config's, then (as runc does) the devices
 * every container needs - null, zero, full, random, urandom, tty, console,
 * ptmx, the pts and tun - and the ones listed in linux.devices, plus mknod
 * of anything (the node's own rules still decide its use). */
static struct oci_device_cgroup *with_default_devices(const struct oci_config *cfg, size_t *ret_n)
{
	static const struct { char type; int64_t major, minor; const char *access; } defaults[] = {
		{ 'c', -1, -1, "m" }, { 'b', -1, -1, "m" },   { 'c', 1, 3, "rwm" },  { 'c', 1, 5, "rwm" },
		{ 'c', 1, 7, "rwm" }, { 'c', 1, 8, "rwm" },   { 'c', 1, 9, "rwm" },  { 'c', 5, 0, "rwm" },
		{ 'c', 5, 1, "rwm" }, { 'c', 5, 2, "rwm" },   { 'c', 136, -1, "rwm" }, { 'c', 10, 200, "rwm" },
	};
	const struct oci_resources *res = &cfg->linux_.resources;
	size_t n = res->n_devices + ARRAY_SIZE(defaults) + cfg->linux_.n_devices;
	struct oci_device_cgroup *d = calloc(n, sizeof(*d));
	if (!d)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < res->n_devices; i++)
		d[k++] = res->devices[i];
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		d[k++] = (struct oci_device_cgroup){ true, defaults[i].type, defaults[i].major, defaults[i].minor,
						     (char *)defaults[i].access };
	for (size_t i = 0; i < cfg->linux_.n_devices; i++) {
		const struct oci_device *dev = &cfg->linux_.devices[i];
		if (dev->type != 'c' && dev->type != 'b' && dev->type != 'u')
			continue;
		d[k++] = (struct oci_device_cgroup){ true, dev->type == 'b' ? 'b' : 'c', dev->major, dev->minor,
						     (char *)"rwm" };
	}
	*ret_n = k;
	return d;
}

/* The init died before READY: say how, and point at a memory limit that is
 * too low when the kernel's OOM killer is the likely cause. */
static void init_death_error(pid_t pid, const struct oci_config *cfg, hull_error **err)
{
	int status = 0;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w == pid && WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const struct oci_resources *res = &cfg->linux_.resources;
		if (sig == SIGKILL && cfg->linux_.has_resources && res->has_memory_limit && res->memory_limit > 0)
			hull_error_set(err, 0,
				       "the container's init was killed (SIGKILL) before it was ready: "
				       "linux.resources.memory.limit %lld is probably too low",
				       (long long)res->memory_limit);
		else
			hull_error_set(err, 0, "the container's init was killed by signal %d (%s) before it was ready",
				       sig, strsignal(sig));
	} else if (w == pid && WIFEXITED(status)) {
		hull_error_set(err, 0, "the container's init exited with code %d before it was ready",
			       WEXITSTATUS(status));
	} else {
		hull_error_set(err, 0, "the container's init exited before it was ready");
	}
}

/* Everything create does.  On failure nothing is left behind. */
static int do_create(const struct hull_runtime *rt, const char *id, const struct rt_create_opts *o,
		     bool pty_to_runtime_ok, struct created *ret, hull_error **err)
{
	if (rt_validate_id(id, err) < 0)
		return -1;
	if (rt->systemd_cgroup)
		return hull_error_set(err, 0, "--systemd-cgroup: the systemd cgroup driver is not supported; use cgroupfs");
	if (!o->bundle)
		return hull_error_set(err, 0, "no bundle given");
	char bundle[PATH_MAX];
	if (!realpath(o->bundle, bundle))
		return hull_error_set(err, errno, "bundle '%s'", o->bundle);
	struct oci_config *cfg = NULL;
	if (oci_config_load(bundle, &cfg, err) < 0)
		return -1;
	bool ok = false;
	struct hull_bpf *bpf = NULL;
	struct hull_cgroup *cg = NULL;
	struct rt_record rec = { 0 };
	char *dir = NULL;
	bool dir_made = false;
	int sync[2] = { -1, -1 }, fifo = -1, console = -1, lockfd = -1;
	pid_t pid = -1;
	char rootfs[PATH_MAX];
	ret->pid = -1;
	ret->pty_master = -1;

	if (!cfg->has_process || !cfg->process.args || !cfg->process.args[0]) {
		hull_error_set(err, 0, "config.json: process.args is required");
		goto out;
	}
	if (!oci_config_namespace(cfg, CLONE_NEWNS)) {
		hull_error_set(err, 0, "config.json: a mount namespace is required");
		goto out;
	}
	{
		_cleanup_free_ char *rp = NULL;
		const char *r = cfg->root.path ? cfg->root.path : "rootfs";
		if (r[0] != '/' && asprintf(&rp, "%s/%s", bundle, r) < 0) {
			hull_error_set(err, ENOMEM, "rootfs");
			goto out;
		}
		if (!realpath(rp ? rp : r, rootfs)) {
			hull_error_set(err, errno, "rootfs '%s'", rp ? rp : r);
			goto out;
		}
	}
	if (cfg->process.has_caps && sec_caps_validate(&cfg->process.caps, err) < 0)
		goto out;
	if (cfg->process.terminal && !o->console_socket && !pty_to_runtime_ok) {
		hull_error_set(err, 0, "process.terminal is true but no --console-socket was given");
		goto out;
	}
	if (cfg->linux_.seccomp && seccomp_compile(cfg->linux_.seccomp, &bpf, err) < 0) {
		hull_error_wrap(err, "seccomp");
		goto out;
	}

	int r = fs_mkdir_p(rt->root, 0700);
	if (r < 0) {
		hull_error_set(err, -r, "make state root '%s'", rt->root);
		goto out;
	}
	if (state_dir(rt, id, &dir, err) < 0)
		goto out;
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			hull_error_set(err, 0, "container '%s' already exists", id);
		else
			hull_error_set(err, errno, "make state directory '%s'", dir);
		goto out;
	}
	dir_made = true;
	lockfd = state_lock(rt, id, err);
	if (lockfd < 0)
		goto out;
	{
		_cleanup_free_ char *cpath = NULL;
		char *js = json_dumps(cfg->json, JSON_COMPACT);
		if (!js || asprintf(&cpath, "%s/%s", dir, CONFIG_COPY) < 0) {
			free(js);
			hull_error_set(err, ENOMEM, "copy config");
			goto out;
		}
		r = fs_write_file_atomic(cpath, js, strlen(js), 0600, false);
		free(js);
		if (r < 0) {
			hull_error_set(err, -r, "write '%s'", cpath);
			goto out;
		}
	}
	rec.id = (char *)id;
	rec.bundle = bundle;
	rec.rootfs = rootfs;
	rec.created = state_now_rfc3339();
	rec.owner = owner_name();
	rec.status_hint = (char *)"creating";
	rec.annotations = json_object_get(cfg->json, "annotations");
	if (!json_is_object(rec.annotations))
		rec.annotations = NULL;
	if (state_save(rt, &rec, err) < 0)
		goto out;

	{
		_cleanup_free_ char *cgpath = NULL;
		struct oci_resources *res = &cfg->linux_.resources;
		struct oci_device_cgroup *saved = res->devices;
		size_t saved_n = res->n_devices;
		_cleanup_free_ struct oci_device_cgroup *devs = NULL;
		if (cfg->linux_.has_resources && saved_n > 0) {
			devs = with_default_devices(cfg, &res->n_devices);
			if (!devs) {
				hull_error_set(err, ENOMEM, "device rules");
				goto out;
			}
			res->devices = devs;
		}
		int cr = cgroup_resolve_path(cfg->linux_.cgroups_path, id, &cgpath, err) < 0 ||
			 cgroup_create(cgpath, cfg->linux_.has_resources ? res : NULL, &cg, err) < 0;
		res->devices = saved;
		res->n_devices = saved_n;
		if (cr) {
			hull_error_wrap(err, "cgroup");
			goto out;
		}
		rec.cgroup = cg;
	}

	{
		_cleanup_free_ char *fpath = NULL;
		if (asprintf(&fpath, "%s/%s", dir, EXEC_FIFO) < 0) {
			hull_error_set(err, ENOMEM, "exec fifo");
			goto out;
		}
		if (mkfifo(fpath, 0600) < 0) {
			hull_error_set(err, errno, "make exec fifo '%s'", fpath);
			goto out;
		}
		fifo = open(fpath, O_RDWR | O_CLOEXEC);
		if (fifo < 0) {
			hull_error_set(err, errno, "open exec fifo '%s'", fpath);
			goto out;
		}
	}
	if (o->console_socket) {
		console = proc_unix_connect(o->console_socket);
		if (console < 0) {
			hull_error_set(err, -console, "connect to the console socket '%s'", o->console_socket);
			goto out;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		hull_error_set(err, errno, "make the sync socket");
		goto out;
	}

	bool has_joins;
	int flags = container_clone_flags(cfg, &has_joins);
	struct init_args ia = {
		.cfg = cfg,
		.bundle = bundle,
		.rootfs = rootfs,
		.cgroup = cg,
		.seccomp = bpf,
		.sync_fd = sync[1],
		.fifo_fd = fifo,
		.console_fd = console,
		.pty_to_runtime = cfg->process.terminal && !o->console_socket,
		.userns = (flags & CLONE_NEWUSER) != 0,
		.no_pivot = o->no_pivot,
		.no_new_keyring = o->no_new_keyring,
		.preserve_fds = o->preserve_fds,
		.lock_fd = lockfd,
	};
	struct sync_msg m;
	if (!has_joins) {
		pid = raw_clone((unsigned long)flags);
		if (pid < 0) {
			hull_error_set(err, errno, "clone the container's init (flags 0x%x)", flags);
			goto out;
		}
		if (pid == 0) {
			close(sync[0]);
			init_main(&ia);
		}
	} else {
		pid_t mid = fork();
		if (mid < 0) {
			hull_error_set(err, errno, "fork");
			goto out;
		}
		if (mid == 0) {
			hull_error *e = NULL;
			close(sync[0]);
			if (join_namespaces(cfg, &e) < 0)
				init_fail(sync[1], e);
			pid_t c = raw_clone((unsigned long)flags | CLONE_PARENT);
			if (c < 0) {
				hull_error_set(&e, errno, "clone the container's init (flags 0x%x)", flags);
				init_fail(sync[1], e);
			}
			if (c == 0)
				init_main(&ia);
			sync_send(sync[1], SYNC_CHILD_PID, c, NULL);
			_exit(0);
		}
		close(sync[1]);
		sync[1] = -1;
		int rr = sync_expect(sync[0], SYNC_CHILD_PID, &m, err);
		int code = proc_wait_exit_code(mid);
		if (rr < 0)
			goto out;
		if (code != 0) {
			hull_error_set(err, 0, "the intermediate process failed with code %d", code);
			goto out;
		}
		pid = m.value;
	}
	if (sync[1] >= 0) {
		close(sync[1]);
		sync[1] = -1;
	}
	close(fifo);
	fifo = -1;
	if (console >= 0) {
		close(console);
		console = -1;
	}

	if (cg && cg->created && cgroup_enter(cg, pid, err) < 0)
		goto out;
	rec.pid = pid;
	proc_stat(pid, &rec.start_time, NULL);
	if (state_save(rt, &rec, err) < 0)
		goto out;
	if (sync_send(sync[0], SYNC_GO, 0, NULL) < 0) {
		hull_error_set(err, errno, "start the container's init");
		goto out;
	}
	if (ia.userns) {
		if (sync_expect(sync[0], SYNC_USERMAP_PLS, &m, err) < 0)
			goto out;
		if (userns_write_maps(pid, cfg, err) < 0)
			goto out;
		sync_send(sync[0], SYNC_USERMAP_ACK, 0, NULL);
	}
	if (sync_expect(sync[0], SYNC_HOOKS_PLS, &m, err) < 0)
		goto out;
	{
		_cleanup_free_ char *st = state_json_string(rt, &rec, "creating");
		if (run_hooks_kind(cfg, OCI_HOOK_PRESTART, st, err) < 0 ||
		    run_hooks_kind(cfg, OCI_HOOK_CREATE_RUNTIME, st, err) < 0)
			goto out;
		if (sync_send(sync[0], SYNC_HOOKS_ACK, 0, st) < 0) {
			hull_error_set(err, errno, "resume the container's init");
			goto out;
		}
	}
	/* an init that dies here is described at out: (init_death_error) */
	if (sync_wait_ready(sync[0], SYNC_READY, "the container's init", &ret->pty_master, err) < 0)
		goto out;
	rec.status_hint = (char *)"created";
	if (state_save(rt, &rec, err) < 0)
		goto out;
	if (o->pid_file) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
		r = fs_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, false);
		if (r < 0) {
			hull_error_set(err, -r, "write pid file '%s'", o->pid_file);
			goto out;
		}
	}
	ret->pid = pid;
	ok = true;
out:
	if (!ok && pid > 0 && *err && strstr((*err)->msg, "exited before it was ready")) {
		/* a sync message was lost because the init died: say how it died */
		hull_error_clear(err);
		init_death_error(pid, cfg, err);
		pid = -1;
	}
	if (!ok) {
		if (ret->pty_master >= 0) {
			close(ret->pty_master);
			ret->pty_master = -1;
		}
		if (pid > 0)
			kill_and_reap(pid);
		if (cg && cg->created) {
			hull_error *e = NULL;
			cgroup_destroy(cg, &e);
			hull_error_free(e);
		}
		if (dir_made)
			fs_rm_rf(dir);
	}
	if (lockfd >= 0)
		close(lockfd);
	for (int i = 0; i < 2; i++)
		if (sync[i] >= 0)
			close(sync[i]);
	if (fifo >= 0)
		close(fifo);
	if (console >= 0)
		close(console);
	free(rec.created);
	free(rec.owner);
	cgroup_free(cg);
	hull_bpf_free(bpf);
	free(dir);
	oci_config_free(cfg);
	return ok ? 0 : -1;
}

int rt_create(const struct hull_runtime *rt, const char *id, const struct rt_create_opts *o, hull_error **err)
{
	struct created c = { -1, -1 };
	if (do_create(rt, id, o, false, &c, err) < 0)
		return hull_error_wrap(err, "create container '%s'", id);
	return 0;
}

static int load_locked(const struct hull_runtime *rt, const char *id, int *ret_lock, struct rt_record **ret,
		       hull_error **err)
{
	if (rt_validate_id(id, err) < 0)
		return -1;
	int lock = state_lock(rt, id, err);
	if (lock < 0)
		return -1;
	if (state_load(rt, id, ret, err) < 0) {
		close(lock);
		return -1;
	}
	*ret_lock = lock;
	return 0;
}

static int start_locked(const struct hull_runtime *rt, struct rt_record *rec, hull_error **err)
{
	const char *status = state_status(rt, rec);
	if (strcmp(status, "created") != 0)
		return hull_error_set(err, 0, "cannot start a container that is %s", status);
	_cleanup_free_ char *dir = NULL, *fpath = NULL;
	if (state_dir(rt, rec->id, &dir, err) < 0 || asprintf(&fpath, "%s/%s", dir, EXEC_FIFO) < 0)
		return -1;
	/* A reader of our own, opened before we write: once the init has
	 * exec'd (its fifo fd is close-on-exec) there is no writer left and it
	 * sees POLLHUP, so poststart runs after the process is executing. */
	_cleanup_close_ int watch = open(fpath, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int fd = open(fpath, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENXIO)
			return hull_error_set(err, 0, "the container's init is gone");
		return hull_error_set(err, errno, "open exec fifo '%s'", fpath);
	}
	if (write(fd, "0", 1) != 1)
		return hull_error_set(err, errno, "write exec fifo '%s'", fpath);
	close(TAKE_FD(fd));
	unlink(fpath);
	if (watch >= 0) {
		struct pollfd p = { .fd = watch, .events = 0 };
		/* bounded: startContainer hooks have their own timeouts */
		while (poll(&p, 1, 30000) < 0 && errno == EINTR)
			;
	}
	struct oci_config *cfg = NULL;
	if (state_load_config(rt, rec->id, &cfg, err) < 0)
		return -1;
	if (cfg->hooks.count[OCI_HOOK_POSTSTART]) {
		_cleanup_free_ char *st = state_json_string(rt, rec, "running");
		hull_error *e = NULL;
		if (hooks_run(&cfg->hooks, OCI_HOOK_POSTSTART, st, &e) < 0) {
			log_warn("%s", e->msg);
			hull_error_free(e);
		}
	}
	oci_config_free(cfg);
	return 0;
}

int rt_start(const struct hull_runtime *rt, const char *id, hull_error **err)
{
	struct rt_record *rec = NULL;
	int lock;
	if (load_locked(rt, id, &lock, &rec, err) < 0)
		return hull_error_wrap(err, "start container '%s'", id);
	int r = start_locked(rt, rec, err);
	rt_record_free(rec);
	close(lock);
	if (r < 0)
		return hull_error_wrap(err, "start container '%s'", id);
	return 0;
}

int rt_state(const struct hull_runtime *rt, const char *id, json_t **ret, hull_error **err)
{
	struct rt_record *rec = NULL;
	if (rt_validate_id(id, err) < 0 || state_load(rt, id, &rec, err) < 0)
		return -1;
	*ret = state_json(rt, rec, NULL);
	rt_record_free(rec);
	return 0;
}

int rt_status(const struct hull_runtime *rt, const char *id, const char **ret, hull_error **err)
{
	struct rt_record *rec = NULL;
	if (rt_validate_id(id, err) < 0 || state_load(rt, id, &rec, err) < 0)
		return -1;
	*ret = state_status(rt, rec);
	rt_record_free(rec);
	return 0;
}

static int kill_locked(const struct rt_record *rec, const char *status, int sig, bool all, hull_error **err)
{
	if (strcmp(status, "stopped") == 0 && !all)
		return hull_error_set(err, 0, "container is not running");
	if (all && rec->cgroup && rec->cgroup->created) {
		if (cgroup_kill_all(rec->cgroup, sig, err) < 0)
			return -1;
		if (strcmp(status, "paused") == 0 && (sig == SIGKILL || sig == SIGTERM)) {
			hull_error *e = NULL;
			cgroup_freeze(rec->cgroup, false, &e);
			hull_error_free(e);
		}
		return 0;
	}
	if (strcmp(status, "stopped") == 0)
		return 0;
	if (kill(rec->pid, sig) < 0)
		return hull_error_set(err, errno, "send signal %d to pid %d", sig, (int)rec->pid);
	return 0;
}

int rt_kill(const struct hull_runtime *rt, const char *id, int sig, bool all, hull_error **err)
{
	struct rt_record *rec = NULL;
	int lock;
	if (load_locked(rt, id, &lock, &rec, err) < 0)
		return hull_error_wrap(err, "kill container '%s'", id);
	int r = kill_locked(rec, state_status(rt, rec), sig, all, err);
	rt_record_free(rec);
	close(lock);
	if (r < 0)
		return hull_error_wrap(err, "kill container '%s'", id);
	return 0;
}

/* Wait until pid is gone (or a zombie), up to timeout_ms. */
static bool wait_gone(pid_t pid, uint64_t start, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		/* reap it if it is our child (run) */
		waitpid(pid, NULL, WNOHANG);
		if (!proc_alive(pid, start))
			return true;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return !proc_alive(pid, start);
}

static int delete_locked(const struct hull_runtime *rt, struct rt_record *rec, bool force, hull_error **err)
{
	const char *status = state_status(rt, rec);
	bool stopped = strcmp(status, "stopped") == 0;
	bool created = strcmp(status, "created") == 0 || strcmp(status, "creating") == 0;
	if (!stopped && !created && !force)
		return hull_error_set(err, 0, "cannot delete a container that is %s (use --force)", status);
	if (!stopped && rec->pid > 0) {
		hull_error *e = NULL;
		if (rec->cgroup && rec->cgroup->created)
			cgroup_kill_all(rec->cgroup, SIGKILL, &e);
		hull_error_clear(&e);
		kill(rec->pid, SIGKILL);
		if (strcmp(status, "paused") == 0 && rec->cgroup)
			cgroup_freeze(rec->cgroup, false, &e);
		hull_error_clear(&e);
		if (!wait_gone(rec->pid, rec->start_time, 10000))
			return hull_error_set(err, 0, "pid %d did not exit after SIGKILL", (int)rec->pid);
	}
	struct oci_config *cfg = NULL;
	hull_error *e = NULL;
	if (state_load_config(rt, rec->id, &cfg, &e) == 0) {
		if (cfg->hooks.count[OCI_HOOK_POSTSTOP] && rec->pid > 0) {
			_cleanup_free_ char *st = state_json_string(rt, rec, "stopped");
			if (hooks_run(&cfg->hooks, OCI_HOOK_POSTSTOP, st, &e) < 0)
				log_warn("%s", e->msg);
		}
		oci_config_free(cfg);
	}
	hull_error_clear(&e);
	if (rec->cgroup && rec->cgroup->created && cgroup_destroy(rec->cgroup, err) < 0)
		return -1;
	_cleanup_free_ char *dir = NULL;
	if (state_dir(rt, rec->id, &dir, err) < 0)
		return -1;
	int r = fs_rm_rf(dir);
	if (r < 0)
		return hull_error_set(err, -r, "remove '%s'", dir);
	return 0;
}

int rt_delete(const struct hull_runtime *rt, const char *id, bool force, hull_error **err)
{
	struct rt_record *rec = NULL;
	int lock;
	if (load_locked(rt, id, &lock, &rec, err) < 0)
		return hull_error_wrap(err, "delete container '%s'", id);
	int r = delete_locked(rt, rec, force, err);
	rt_record_free(rec);
	close(lock);
	if (r < 0)
		return hull_error_wrap(err, "delete container '%s'", id);
	return 0;
}

static int pause_resume(const struct hull_runtime *rt, const char *id, bool pause, hull_error **err)
{
	struct rt_record *rec = NULL;
	int lock;
	const char *verb = pause ? "pause" : "resume";
	if (load_locked(rt, id, &lock, &rec, err) < 0)
		return hull_error_wrap(err, "%s container '%s'", verb, id);
	int r = 0;
	const char *status = state_status(rt, rec);
	if (pause && strcmp(status, "running") != 0)
		r = hull_error_set(err, 0, "container is %s, not running", status);
	else if (!pause && strcmp(status, "paused") != 0)
		r = hull_error_set(err, 0, "container is %s, not paused", status);
	else if (!rec->cgroup || !rec->cgroup->created)
		r = hull_error_set(err, 0, "the container has no cgroup of its own to freeze");
	else
		r = cgroup_freeze(rec->cgroup, pause, err);
	rt_record_free(rec);
	close(lock);
	if (r < 0)
		return hull_error_wrap(err, "%s container '%s'", verb, id);
	return 0;
}

int rt_pause(const struct hull_runtime *rt, const char *id, hull_error **err)
{
	return pause_resume(rt, id, true, err);
}

int rt_resume(const struct hull_runtime *rt, const char *id, hull_error **err)
{
	return pause_resume(rt, id, false, err);
}

int rt_pids(const struct hull_runtime *rt, const char *id, pid_t **ret, size_t *ret_n, hull_error **err)
{
	struct rt_record *rec = NULL;
	if (rt_validate_id(id, err) < 0 || state_load(rt, id, &rec, err) < 0)
		return -1;
	int r = 0;
	const char *status = state_status(rt, rec);
	if (strcmp(status, "stopped") == 0) {
		*ret = NULL;
		*ret_n = 0;
	} else if (rec->cgroup && rec->cgroup->created) {
		r = cgroup_pids(rec->cgroup, ret, ret_n, err);
	} else {
		*ret = malloc(sizeof(pid_t));
		if (!*ret)
			r = hull_error_set(err, ENOMEM, "pids");
		else {
			(*ret)[0] = rec->pid;
			*ret_n = 1;
		}
	}
	rt_record_free(rec);
	return r;
}

int rt_list(const struct hull_runtime *rt, json_t **ret, hull_error **err)
{
	json_t *arr = json_array();
	_cleanup_closedir_ DIR *d = opendir(rt->root);
	if (!d) {
		if (errno == ENOENT) {
			*ret = arr;
			return 0;
		}
		json_decref(arr);
		return hull_error_set(err, errno, "list '%s'", rt->root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct rt_record *rec = NULL;
		hull_error *e = NULL;
		if (rt_validate_id(de->d_name, &e) < 0 || state_load(rt, de->d_name, &rec, &e) < 0) {
			hull_error_free(e);
			continue;
		}
		json_array_append_new(arr, state_json(rt, rec, NULL));
		rt_record_free(rec);
	}
	*ret = arr;
	return 0;
}

/* ---- run: create + start + wait ---- */

static void copy_fd(int from, int to, bool *eof)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*eof = true;
		return;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return;
		}
		off += w;
	}
}

/* The signals a foreground run or exec passes on (plus SIGCHLD, which it
 * waits on), all handled through a signalfd. */
static void supervised_sigset(sigset_t *set)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

/* Wait for pid, forwarding signals and proxying the pty; returns its exit code. */
static int supervise(pid_t pid, int pty, hull_error **err)
{
	sigset_t set;
	supervised_sigset(&set);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return hull_error_set(err, errno, "signalfd");
	struct termios saved;
	bool raw = false;
	if (pty >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
			raw = true;
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			ioctl(pty, TIOCSWINSZ, &ws);
	}
	bool stdin_eof = pty < 0, pty_eof = pty < 0;
	int code = -1;
	{
		/* it may have exited before SIGCHLD was blocked */
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	while (code < 0 || !pty_eof) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = stdin_eof ? -1 : STDIN_FILENO, .events = POLLIN },
			{ .fd = pty_eof ? -1 : pty, .events = POLLIN },
		};
		int timeout = code >= 0 ? 100 : -1; /* after exit, drain the pty briefly */
		int n = poll(p, 3, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && code >= 0)
			break;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					int status;
					pid_t w;
					while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
						if (w == pid)
							code = WIFEXITED(status) ? WEXITSTATUS(status)
										 : 128 + WTERMSIG(status);
					}
				} else if (si.ssi_signo == SIGWINCH && pty >= 0) {
					struct winsize ws;
					if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
						ioctl(pty, TIOCSWINSZ, &ws);
				} else {
					kill(pid, (int)si.ssi_signo);
				}
				break;
			}
		}
		if (!stdin_eof && (p[1].revents & (POLLIN | POLLHUP)))
			copy_fd(STDIN_FILENO, pty, &stdin_eof);
		if (!pty_eof && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			copy_fd(pty, STDOUT_FILENO, &pty_eof);
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (code < 0)
		code = proc_wait_exit_code(pid);
	return code;
}

/* For exec: block the forwarded signals, supervise, restore. */
int rt_supervise_pty(pid_t pid, int pty, hull_error **err)
{
	sigset_t set, old;
	supervised_sigset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	int code = supervise(pid, pty, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return code;
}

int rt_run(const struct hull_runtime *rt, const char *id, const struct rt_create_opts *o, bool detach,
	   int *ret_exit, hull_error **err)
{
	sigset_t set, old;
	supervised_sigset(&set);
	if (!detach)
		sigprocmask(SIG_BLOCK, &set, &old);
	struct created c = { -1, -1 };
	if (do_create(rt, id, o, !detach, &c, err) < 0) {
		if (!detach)
			sigprocmask(SIG_SETMASK, &old, NULL);
		return hull_error_wrap(err, "run container '%s'", id);
	}
	if (rt_start(rt, id, err) < 0) {
		hull_error *e = NULL;
		rt_delete(rt, id, true, &e);
		hull_error_free(e);
		if (c.pty_master >= 0)
			close(c.pty_master);
		if (!detach)
			sigprocmask(SIG_SETMASK, &old, NULL);
		return hull_error_wrap(err, "run container '%s'", id);
	}
	if (detach) {
		*ret_exit = 0;
		return 0;
	}
	int code = supervise(c.pid, c.pty_master, err);
	if (c.pty_master >= 0)
		close(c.pty_master);
	sigprocmask(SIG_SETMASK, &old, NULL);
	hull_error *e = NULL;
	if (rt_delete(rt, id, true, &e) < 0) {
		log_warn("%s", e->msg);
		hull_error_free(e);
	}
	if (code < 0)
		return hull_error_wrap(err, "run container '%s'", id);
	*ret_exit = code;
	return 0;
}

int rt_config_json(const struct hull_runtime *rt, const char *id, json_t **ret, hull_error **err)
{
	struct oci_config *cfg = NULL;
	struct rt_record *rec = NULL;
	if (rt_validate_id(id, err) < 0 || state_load(rt, id, &rec, err) < 0)
		return -1;
	rt_record_free(rec);
	if (state_load_config(rt, id, &cfg, err) < 0)
		return -1;
	*ret = json_incref(cfg->json);
	oci_config_free(cfg);
	return 0;
}
