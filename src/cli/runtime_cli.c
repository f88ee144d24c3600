/* runtime_cli.c - `hull-runtime`: runc's command line over src/runtime/.
 *
 * containerd's shim, CRI-O and Podman call runtimes like this:
 *   hull-runtime [--root DIR] [--log FILE] [--log-format json] [--debug]
 *                [--systemd-cgroup] COMMAND [OPTIONS] ID ...
 * Errors print one line and exit 1, as runc does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "runtime/config.h"
#include "runtime/runtime.h"
#include "runtime/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/proc.h"

#define PROG "hull-runtime"

struct rcli {
	struct hull_runtime rt;
	int argc;    /* the whole command line, for re-executing */
	char **argv;
};

static int fail(hull_error *e)
{
	log_error("%s", e ? e->msg : "unknown error");
	hull_error_free(e);
	return 1;
}

static int need_id(const char *cmd, int argc, char **argv, int pos, int max_extra)
{
	if (pos >= argc) {
		log_error("%s: a container id is required", cmd);
		return -1;
	}
	if (argc - pos - 1 > max_extra) {
		log_error("%s: too many arguments", cmd);
		return -1;
	}
	return 0;
}

static int cmd_create_or_run(struct rcli *c, int argc, char **argv, bool run)
{
	const char *bundle = ".", *pid_file = NULL, *console = NULL;
	bool no_pivot = false, no_keyring = false, detach = false, keep = false, no_subreaper = false;
	int preserve = 0;
	struct opt opts[] = {
		{ "bundle", 'b', OPT_STRING, &bundle, "path to the bundle directory (default: .)", "DIR" },
		{ "pid-file", 0, OPT_STRING, &pid_file, "write the init process's pid to FILE", "FILE" },
		{ "console-socket", 0, OPT_STRING, &console, "unix socket that receives the pty master", "SOCK" },
		{ "no-pivot", 0, OPT_FLAG, &no_pivot, "do not use pivot_root (MS_MOVE + chroot instead)", NULL },
		{ "no-new-keyring", 0, OPT_FLAG, &no_keyring, "keep the caller's session keyring", NULL },
		{ "preserve-fds", 0, OPT_INT, &preserve, "pass N fds after stdio to the process", "N" },
		{ "detach", 'd', OPT_FLAG, &detach, run ? "start the container and return at once" : "(ignored)", NULL },
		{ "keep", 0, OPT_FLAG, &keep, run ? "do not delete the container after it exits" : "(ignored)", NULL },
		{ "no-subreaper", 0, OPT_FLAG, &no_subreaper, "(accepted for runc compatibility)", NULL },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, run ? "run [OPTIONS] ID" : "create [OPTIONS] ID", run ? opts : opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	if (need_id(argv[0], argc, argv, pos, 0) < 0)
		return 1;
	struct rt_create_opts o = {
		.bundle = bundle,
		.pid_file = pid_file,
		.console_socket = console,
		.no_pivot = no_pivot,
		.no_new_keyring = no_keyring,
		.preserve_fds = preserve,
	};
	hull_error *e = NULL;
	if (rt_ensure_sealed_self(c->argc, c->argv, &e) < 0)
		return fail(e);
	if (!run)
		return rt_create(&c->rt, argv[pos], &o, &e) < 0 ? fail(e) : 0;
	int code = 0;
	if (rt_run(&c->rt, argv[pos], &o, detach, &code, &e) < 0)
		return fail(e);
	return code;
}

static int simple_id_cmd(struct rcli *c, int argc, char **argv, const char *usage,
			 int (*fn)(const struct hull_runtime *, const char *, hull_error **))
{
	int pos = 1;
	struct opt opts[] = { { 0 } };
	int r = opt_parse(PROG, usage, opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	if (need_id(argv[0], argc, argv, pos, 0) < 0)
		return 1;
	hull_error *e = NULL;
	return fn(&c->rt, argv[pos], &e) < 0 ? fail(e) : 0;
}

static int cmd_start(struct rcli *c, int argc, char **argv)
{
	return simple_id_cmd(c, argc, argv, "start ID", rt_start);
}
static int cmd_pause(struct rcli *c, int argc, char **argv)
{
	return simple_id_cmd(c, argc, argv, "pause ID", rt_pause);
}
static int cmd_resume(struct rcli *c, int argc, char **argv)
{
	return simple_id_cmd(c, argc, argv, "resume ID", rt_resume);
}

static int cmd_state(struct rcli *c, int argc, char **argv)
{
	int pos = 1;
	struct opt opts[] = { { 0 } };
	int r = opt_parse(PROG, "state ID", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	if (need_id(argv[0], argc, argv, pos, 0) < 0)
		return 1;
	hull_error *e = NULL;
	json_t *j = NULL;
	if (rt_state(&c->rt, argv[pos], &j, &e) < 0)
		return fail(e);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}

static int parse_signal(const char *s)
{
	static const struct { const char *n; int v; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL }, { "TRAP", SIGTRAP },
		{ "ABRT", SIGABRT }, { "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
		{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
		{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
		{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
		{ "PWR", SIGPWR }, { "SYS", SIGSYS },
	};
	int64_t v;
	if (parse_int64(s, 1, SIGRTMAX, &v) == 0)
		return (int)v;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (strcasecmp(s, sigs[i].n) == 0)
			return sigs[i].v;
	if (strncasecmp(s, "RTMIN+", 6) == 0 && parse_int64(s + 6, 0, SIGRTMAX - SIGRTMIN, &v) == 0)
		return SIGRTMIN + (int)v;
	return -1;
}

static int cmd_kill(struct rcli *c, int argc, char **argv)
{
	bool all = false;
	struct opt opts[] = {
		{ "all", 'a', OPT_FLAG, &all, "send the signal to every process in the container", NULL },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, "kill [--all] ID [SIGNAL]", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	if (need_id(argv[0], argc, argv, pos, 1) < 0)
		return 1;
	int sig = SIGTERM;
	if (pos + 1 < argc) {
		sig = parse_signal(argv[pos + 1]);
		if (sig < 0) {
			log_error("kill: unknown signal '%s'", argv[pos + 1]);
			return 1;
		}
	}
	hull_error *e = NULL;
	return rt_kill(&c->rt, argv[pos], sig, all, &e) < 0 ? fail(e) : 0;
}

static int cmd_delete(struct rcli *c, int argc, char **argv)
{
	bool force = false;
	struct opt opts[] = {
		{ "force", 'f', OPT_FLAG, &force, "kill the container first if it is running", NULL },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, "delete [--force] ID", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	if (need_id(argv[0], argc, argv, pos, 0) < 0)
		return 1;
	hull_error *e = NULL;
	if (rt_delete(&c->rt, argv[pos], force, &e) < 0) {
		/* runc: deleting a container that does not exist with --force is fine */
		if (force && e && strstr(e->msg, "does not exist")) {
			hull_error_free(e);
			return 0;
		}
		return fail(e);
	}
	return 0;
}

static int cmd_list(struct rcli *c, int argc, char **argv)
{
	const char *format = "table";
	bool quiet = false;
	struct opt opts[] = {
		{ "format", 'f', OPT_STRING, &format, "table or json", "FORMAT" },
		{ "quiet", 'q', OPT_FLAG, &quiet, "print only the ids", NULL },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, "list [--format table|json] [--quiet]", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	hull_error *e = NULL;
	json_t *arr = NULL;
	if (rt_list(&c->rt, &arr, &e) < 0)
		return fail(e);
	size_t i;
	json_t *s;
	if (quiet) {
		json_array_foreach(arr, i, s)
			printf("%s\n", json_string_value(json_object_get(s, "id")));
	} else if (strcmp(format, "json") == 0) {
		char *out = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", out);
		free(out);
	} else if (strcmp(format, "table") == 0) {
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
		json_array_foreach(arr, i, s)
			printf("%-20s %-8lld %-10s %-40s %-31s %s\n", json_string_value(json_object_get(s, "id")),
			       (long long)json_integer_value(json_object_get(s, "pid")),
			       json_string_value(json_object_get(s, "status")),
			       json_string_value(json_object_get(s, "bundle")),
			       json_string_value(json_object_get(s, "created")),
			       json_string_value(json_object_get(s, "owner")));
	} else {
		json_decref(arr);
		log_error("list: unknown format '%s' (table or json)", format);
		return 1;
	}
	json_decref(arr);
	return 0;
}

static int cmd_ps(struct rcli *c, int argc, char **argv)
{
	const char *format = "table";
	struct opt opts[] = {
		{ "format", 'f', OPT_STRING, &format, "table or json", "FORMAT" },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, "ps [--format table|json] ID [ps options]", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	if (pos >= argc) {
		log_error("ps: a container id is required");
		return 1;
	}
	hull_error *e = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (rt_pids(&c->rt, argv[pos], &pids, &n, &e) < 0)
		return fail(e);
	if (strcmp(format, "json") == 0) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	if (strcmp(format, "table") != 0) {
		log_error("ps: unknown format '%s' (table or json)", format);
		return 1;
	}
	/* run ps(1) and keep its header and the container's lines */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fail((hull_error_set(&e, errno, "pipe"), e));
	pid_t child = fork();
	if (child == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		int extra = argc - pos - 1;
		char **args = calloc((size_t)extra + 3, sizeof(char *));
		args[0] = (char *)"ps";
		if (extra == 0)
			args[1] = (char *)"-ef";
		for (int i = 0; i < extra; i++)
			args[1 + i] = argv[pos + 1 + i];
		execvp("ps", args);
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int pid_col = -1;
	bool header = true;
	while (f && getline(&line, &cap, f) > 0) {
		if (header) {
			fputs(line, stdout);
			/* find the PID column */
			char *save = NULL, *copy = strdup(line);
			int col = 0;
			for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
				if (strcmp(t, "PID") == 0)
					pid_col = col;
			free(copy);
			header = false;
			continue;
		}
		char *save = NULL, *copy = strdup(line);
		int col = 0;
		for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++) {
			if (col != pid_col)
				continue;
			int p = atoi(t);
			for (size_t i = 0; i < n; i++)
				if (pids[i] == p)
					fputs(line, stdout);
			break;
		}
		free(copy);
	}
	free(line);
	if (f)
		fclose(f);
	int code = proc_wait_exit_code(child);
	if (pid_col < 0 || code != 0) {
		log_error("ps: could not read the output of ps(1) (exit %d)", code);
		return 1;
	}
	return 0;
}

static int parse_user(const char *s, json_t *user)
{
	int64_t uid, gid;
	_cleanup_free_ char *copy = strdup(s);
	char *colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	if (parse_int64(copy, 0, UINT32_MAX, &uid) < 0)
		return -1;
	json_object_set_new(user, "uid", json_integer(uid));
	if (colon) {
		if (parse_int64(colon + 1, 0, UINT32_MAX, &gid) < 0)
			return -1;
		json_object_set_new(user, "gid", json_integer(gid));
	}
	return 0;
}


static int cmd_exec(struct rcli *c, int argc, char **argv)
{
	const char *process = NULL, *console = NULL, *pid_file = NULL, *cwd = NULL, *user = NULL;
	const char *apparmor = NULL, *label = NULL;
	bool tty = false, detach = false, nnp = false, ignore_paused = false;
	int preserve = 0;
	struct strv_acc env = { 0 }, caps = { 0 }, gids = { 0 };
	struct opt opts[] = {
		{ "process", 'p', OPT_STRING, &process, "a JSON file with the process to run (spec's process object)", "FILE" },
		{ "console-socket", 0, OPT_STRING, &console, "unix socket that receives the pty master", "SOCK" },
		{ "pid-file", 0, OPT_STRING, &pid_file, "write the new process's pid to FILE", "FILE" },
		{ "cwd", 0, OPT_STRING, &cwd, "working directory in the container", "DIR" },
		{ "env", 'e', OPT_STRV, &env, "add an environment variable (repeatable)", "NAME=VALUE" },
		{ "user", 'u', OPT_STRING, &user, "uid[:gid] to run as", "UID[:GID]" },
		{ "additional-gids", 'g', OPT_STRV, &gids, "add a supplementary group (repeatable)", "GID" },
		{ "cap", 'c', OPT_STRV, &caps, "add a capability (repeatable)", "CAP" },
		{ "tty", 't', OPT_FLAG, &tty, "allocate a pseudo-terminal", NULL },
		{ "detach", 'd', OPT_FLAG, &detach, "return once the process has started", NULL },
		{ "no-new-privs", 0, OPT_FLAG, &nnp, "set no_new_privs for the process", NULL },
		{ "preserve-fds", 0, OPT_INT, &preserve, "pass N fds after stdio to the process", "N" },
		{ "apparmor", 0, OPT_STRING, &apparmor, "(accepted; AppArmor is not supported)", "PROFILE" },
		{ "process-label", 0, OPT_STRING, &label, "(accepted; SELinux is not supported)", "LABEL" },
		{ "ignore-paused", 0, OPT_FLAG, &ignore_paused, "(accepted for runc compatibility)", NULL },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, "exec [OPTIONS] ID [COMMAND [ARG...]]", opts, argc, argv, &pos);
	int code = 1;
	json_t *proc = NULL, *cfg = NULL;
	hull_error *e = NULL;
	if (r) {
		code = r < 0 ? 1 : 0;
		goto out;
	}
	if (pos >= argc) {
		log_error("exec: a container id is required");
		goto out;
	}
	const char *id = argv[pos];
	if (rt_ensure_sealed_self(c->argc, c->argv, &e) < 0) {
		code = fail(e);
		goto out;
	}
	if (process) {
		json_error_t jerr;
		proc = json_load_file(process, 0, &jerr);
		if (!proc || !json_is_object(proc)) {
			log_error("exec: read process file '%s': %s", process, jerr.text);
			goto out;
		}
	} else {
		if (pos + 1 >= argc) {
			log_error("exec: a command is required (or --process FILE)");
			goto out;
		}
		if (rt_config_json(&c->rt, id, &cfg, &e) < 0) {
			code = fail(e);
			goto out;
		}
		json_t *base = json_object_get(cfg, "process");
		proc = json_is_object(base) ? json_deep_copy(base) : json_object();
		json_t *args = json_array();
		for (int i = pos + 1; i < argc; i++)
			json_array_append_new(args, json_string(argv[i]));
		json_object_set_new(proc, "args", args);
		json_object_set_new(proc, "terminal", json_boolean(tty));
		json_object_del(proc, "consoleSize");
		if (cwd)
			json_object_set_new(proc, "cwd", json_string(cwd));
		if (!json_is_array(json_object_get(proc, "env")))
			json_object_set_new(proc, "env", json_array());
		json_t *envs = json_object_get(proc, "env");
		for (int i = 0; i < env.n; i++)
			json_array_append_new(envs, json_string(env.v[i]));
		json_t *u = json_object_get(proc, "user");
		if (!json_is_object(u)) {
			u = json_pack("{s:i,s:i}", "uid", 0, "gid", 0);
			json_object_set_new(proc, "user", u);
		}
		if (user && parse_user(user, u) < 0) {
			log_error("exec: invalid --user '%s' (want UID[:GID])", user);
			goto out;
		}
		if (gids.n) {
			json_t *ag = json_array();
			for (int i = 0; i < gids.n; i++) {
				int64_t g;
				if (parse_int64(gids.v[i], 0, UINT32_MAX, &g) < 0) {
					log_error("exec: invalid --additional-gids '%s'", gids.v[i]);
					json_decref(ag);
					goto out;
				}
				json_array_append_new(ag, json_integer(g));
			}
			json_object_set_new(u, "additionalGids", ag);
		}
		if (caps.n) {
			json_t *cp = json_object_get(proc, "capabilities");
			if (!json_is_object(cp)) {
				cp = json_object();
				json_object_set_new(proc, "capabilities", cp);
			}
			static const char *sets[] = { "bounding", "effective", "permitted", "ambient", "inheritable" };
			for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
				json_t *arr = json_object_get(cp, sets[k]);
				if (!json_is_array(arr)) {
					arr = json_array();
					json_object_set_new(cp, sets[k], arr);
				}
				for (int i = 0; i < caps.n; i++)
					json_array_append_new(arr, json_string(caps.v[i]));
			}
		}
		if (nnp)
			json_object_set_new(proc, "noNewPrivileges", json_true());
	}
	if (process && tty)
		json_object_set_new(proc, "terminal", json_true());
	struct rt_exec_opts o = {
		.process = proc,
		.console_socket = console,
		.pid_file = pid_file,
		.detach = detach,
		.preserve_fds = preserve,
	};
	int exit_code = 0;
	if (rt_exec(&c->rt, id, &o, &exit_code, &e) < 0) {
		code = e && e->status == ENOENT ? (fail(e), 127) : e && e->status == EACCES ? (fail(e), 126) : fail(e);
		goto out;
	}
	code = exit_code;
out:
	json_decref(proc);
	json_decref(cfg);
	strv_acc_free(&env);
	strv_acc_free(&caps);
	strv_acc_free(&gids);
	return code;
}

static int cmd_spec(struct rcli *c, int argc, char **argv)
{
	const char *bundle = ".";
	bool rootless = false;
	struct opt opts[] = {
		{ "bundle", 'b', OPT_STRING, &bundle, "directory to write config.json into (default: .)", "DIR" },
		{ "rootless", 0, OPT_FLAG, &rootless, "a spec for a container run by an unprivileged user", NULL },
		{ 0 },
	};
	int pos = 1;
	int r = opt_parse(PROG, "spec [--bundle DIR] [--rootless]", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return 1;
	if (access(path, F_OK) == 0) {
		log_error("spec: '%s' exists; remove it first", path);
		return 1;
	}
	json_t *j = spec_default(rootless);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!s)
		return 1;
	size_t len = strlen(s);
	s[len] = '\0';
	_cleanup_free_ char *withnl = NULL;
	if (asprintf(&withnl, "%s\n", s) < 0) {
		free(s);
		return 1;
	}
	free(s);
	r = fs_write_file_atomic(path, withnl, strlen(withnl), 0644, false);
	if (r < 0) {
		log_error("spec: write '%s': %s", path, strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_features(struct rcli *c, int argc, char **argv)
{
	int pos = 1;
	struct opt opts[] = { { 0 } };
	int r = opt_parse(PROG, "features", opts, argc, argv, &pos);
	if (r)
		return r < 0 ? 1 : 0;
	json_t *j = spec_features();
	char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}

struct command {
	const char *name;
	int (*fn)(struct rcli *c, int argc, char **argv);
	const char *help;
};

static int cmd_create(struct rcli *c, int argc, char **argv)
{
	return cmd_create_or_run(c, argc, argv, false);
}
static int cmd_run(struct rcli *c, int argc, char **argv)
{
	return cmd_create_or_run(c, argc, argv, true);
}

static const struct command commands[] = {
	{ "create", cmd_create, "create a container from a bundle; its process waits for start" },
	{ "start", cmd_start, "start the process of a created container" },
	{ "run", cmd_run, "create and start a container, and wait for it unless --detach" },
	{ "state", cmd_state, "print the state of a container as JSON" },
	{ "kill", cmd_kill, "send a signal to the container's init (or all its processes)" },
	{ "delete", cmd_delete, "delete a container and everything it holds" },
	{ "exec", cmd_exec, "run a new process inside a container" },
	{ "list", cmd_list, "list containers" },
	{ "ps", cmd_ps, "show the processes of a container" },
	{ "pause", cmd_pause, "freeze every process of a container" },
	{ "resume", cmd_resume, "thaw a paused container" },
	{ "spec", cmd_spec, "write a default config.json" },
	{ "features", cmd_features, "print the runtime's features as JSON" },
	{ 0 },
};

static void usage(const struct opt *g)
{
	printf("Usage: %s [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n", PROG);
	printf("hull's OCI runtime (runtime-spec 1.2), with runc's command line.\n\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		printf("  %-10s %s\n", c->name, c->help);
	printf("\nGlobal options:\n");
	for (const struct opt *o = g; o->name; o++) {
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-28s %s\n", left, o->help);
	}
	printf("  %-28s %s\n  %-28s %s\n", "-v, --version", "print the version", "-h, --help", "show this help");
	printf("\nRun '%s COMMAND --help' for a command's options.\n", PROG);
}

int runtime_cli_main(int argc, char **argv)
{
	const char *root = NULL, *log = NULL, *log_format = "text", *criu = NULL, *rootless = NULL;
	bool debug = false, systemd = false, version = false;
	struct opt g[] = {
		{ "root", 0, OPT_STRING, &root, "state directory (default /run/hull-runtime)", "DIR" },
		{ "log", 0, OPT_STRING, &log, "also write diagnostics to FILE", "FILE" },
		{ "log-format", 0, OPT_STRING, &log_format, "text or json", "FORMAT" },
		{ "debug", 0, OPT_FLAG, &debug, "log debug messages", NULL },
		{ "systemd-cgroup", 0, OPT_FLAG, &systemd, "use the systemd cgroup driver (not supported)", NULL },
		{ "criu", 0, OPT_STRING, &criu, "(accepted for runc compatibility)", "PATH" },
		{ "rootless", 0, OPT_STRING, &rootless, "(accepted for runc compatibility)", "auto|true|false" },
		{ "version", 'v', OPT_FLAG, &version, "print the version", NULL },
		{ 0 },
	};
	log_set_program(PROG);
	int pos = 1;
	/* global options, with usage of our own for --help */
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(g);
			return 0;
		}
	}
	if (opt_parse(PROG, "[GLOBAL OPTIONS] COMMAND", g, argc, argv, &pos) < 0)
		return 1;
	if (version) {
		printf("%s version %s\nspec: 1.2.0\n", PROG, HULL_VERSION);
		return 0;
	}
	enum log_format lf = LOG_FORMAT_TEXT;
	if (strcmp(log_format, "json") == 0)
		lf = LOG_FORMAT_JSON;
	else if (strcmp(log_format, "text") != 0) {
		log_error("--log-format: unknown format '%s' (text or json)", log_format);
		return 1;
	}
	int r = log_open(log, lf);
	if (r < 0) {
		log_error("open log file '%s': %s", log, strerror(-r));
		return 1;
	}
	log_set_debug(debug);
	if (pos >= argc) {
		usage(g);
		return 1;
	}
	struct rcli c = { .rt = { .root = root ? root : rt_default_root(), .systemd_cgroup = systemd },
			  .argc = argc,
			  .argv = argv };
	_cleanup_free_ char *absroot = NULL;
	if (c.rt.root[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)) && asprintf(&absroot, "%s/%s", cwd, c.rt.root) >= 0)
			c.rt.root = absroot;
	}
	const char *name = argv[pos];
	for (const struct command *cmd = commands; cmd->name; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd->fn(&c, argc - pos, argv + pos);
	log_error("unknown command '%s' (see '%s --help')", name, PROG);
	return 1;
}
