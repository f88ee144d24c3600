/* config.c - parse an OCI runtime-spec (1.2) config.json into struct oci_config.
 *
 * Every field is read through a small set of typed getters that know the
 * dotted path of the field ("linux.resources.memory.limit"), so a type or
 * range error names exactly what is wrong.  Structures are filled in place
 * and arrays get their final count before their elements are parsed, so on
 * any error the half-built config can be freed with oci_config_free().
 *
 * jansson keeps integers as json_int_t (int64); a uint64 above INT64_MAX
 * (e.g. RLIM_INFINITY written as 18446744073709551615) makes it fail.  When
 * that happens the text is rewritten once, turning each such literal into a
 * marker string ("\u0001u64:<digits>") that the unsigned getters accept;
 * oci_config_parse() turns the markers in cfg->json into reals afterwards.
 */
#include "runtime/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define CONFIG_MAX_SIZE (16u * 1024 * 1024)
#define FPATH 256
#define U64_MARKER "\001u64:"

/* evaluate a call that returns < 0 on error (with *err set); pass the error up */
#define TRY(call)                      \
	do {                           \
		if ((call) < 0)        \
			return -1;     \
	} while (0)

/* ------------------------------------------------------------------ */
/* field paths and errors                                              */

/* Field paths longer than FPATH are cut short on purpose: they only name
 * the field in messages. */
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
static const char *join(char buf[static FPATH], const char *parent, const char *key)
{
	/* a field path longer than FPATH is cut short: it is only for messages */
	int n;
	if (!parent || !*parent)
		n = snprintf(buf, FPATH, "%s", key);
	else
		n = snprintf(buf, FPATH, "%s.%s", parent, key);
	(void)n;
	return buf;
}

static const char *elem(char buf[static FPATH], const char *parent, size_t i)
{
	int n = snprintf(buf, FPATH, "%s[%zu]", parent, i);
	(void)n;
	return buf;
}
#pragma GCC diagnostic pop

static int ferr(hull_error **err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ferr(hull_error **err, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return hull_error_set(err, ENOMEM, "%s", path);
	return hull_error_set(err, 0, "%s: %s", path, msg);
}

static int enomem(hull_error **err)
{
	return hull_error_set(err, ENOMEM, "parse config");
}

/* Look up key; NULL when absent or JSON null (treated as absent, as Go does). */
static json_t *field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return (v && !json_is_null(v)) ? v : NULL;
}

static bool is_u64_marker(json_t *v)
{
	return json_is_string(v) && strncmp(json_string_value(v), U64_MARKER, strlen(U64_MARKER)) == 0;
}

/* a real string, not a big integer in disguise */
static bool is_str(json_t *v)
{
	return json_is_string(v) && !is_u64_marker(v);
}

static const char *type_name(json_t *v)
{
	if (!v)
		return "nothing";
	if (is_u64_marker(v))
		return "an integer";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

static int expect(hull_error **err, const char *path, const char *what, json_t *v)
{
	return ferr(err, path, "expected %s, got %s", what, type_name(v));
}

/* ------------------------------------------------------------------ */
/* value getters (full path given)                                     */

static int v_string(json_t *v, const char *path, char **out, hull_error **err)
{
	if (!is_str(v))
		return expect(err, path, "a string", v);
	char *s = strdup(json_string_value(v));
	if (!s)
		return enomem(err);
	free(*out);
	*out = s;
	return 0;
}

static int v_u64(json_t *v, const char *path, uint64_t max, uint64_t *out, hull_error **err)
{
	uint64_t x = 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return ferr(err, path, "value %" JSON_INTEGER_FORMAT " out of range (0 to %" PRIu64 ")", i,
				    max);
		x = (uint64_t)i;
	} else if (is_u64_marker(v)) {
		const char *digits = json_string_value(v) + strlen(U64_MARKER);
		char *end = NULL;
		errno = 0;
		x = strtoull(digits, &end, 10);
		if (errno || !end || *end || end == digits)
			return ferr(err, path, "invalid integer");
	} else {
		return expect(err, path, "an integer", v);
	}
	if (x > max)
		return ferr(err, path, "value %" PRIu64 " out of range (0 to %" PRIu64 ")", x, max);
	*out = x;
	return 0;
}

static int v_i64(json_t *v, const char *path, int64_t min, int64_t max, int64_t *out, hull_error **err)
{
	if (!json_is_integer(v)) {
		if (is_u64_marker(v))
			return ferr(err, path, "value %s out of range (%" PRId64 " to %" PRId64 ")",
				    json_string_value(v) + strlen(U64_MARKER), min, max);
		return expect(err, path, "an integer", v);
	}
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return ferr(err, path, "value %" JSON_INTEGER_FORMAT " out of range (%" PRId64 " to %" PRId64 ")",
			    i, min, max);
	*out = i;
	return 0;
}

/* A uid or gid: 32 bit, and not (uid_t)-1 which set*id() read as "unchanged". */
static int v_id(json_t *v, const char *path, uint32_t *out, hull_error **err)
{
	uint64_t x = 0;
	TRY(v_u64(v, path, UINT32_MAX - 1, &x, err));
	*out = (uint32_t)x;
	return 0;
}

static int v_strv(json_t *v, const char *path, char ***out, hull_error **err)
{
	char buf[FPATH];
	if (!json_is_array(v))
		return expect(err, path, "an array", v);
	size_t n = json_array_size(v);
	char **list = calloc(n + 1, sizeof(char *));
	if (!list)
		return enomem(err);
	strv_free(*out);
	*out = list;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		if (!is_str(e))
			return expect(err, elem(buf, path, i), "a string", e);
		if (!(list[i] = strdup(json_string_value(e))))
			return enomem(err);
	}
	return 0;
}

/* object of string -> string into parallel arrays */
static int v_strmap(json_t *v, const char *path, char ***keys, char ***values, size_t *n,
		    bool nonempty_keys, hull_error **err)
{
	char buf[FPATH];
	if (!json_is_object(v))
		return expect(err, path, "an object", v);
	size_t cnt = json_object_size(v);
	*keys = calloc(cnt + 1, sizeof(char *));
	*values = calloc(cnt + 1, sizeof(char *));
	if (!*keys || !*values)
		return enomem(err);
	*n = cnt;
	size_t i = 0;
	const char *k;
	json_t *val;
	json_object_foreach(v, k, val) {
		if (i >= cnt)
			break;
		if (nonempty_keys && !*k)
			return ferr(err, path, "empty key");
		if (!is_str(val))
			return expect(err, join(buf, path, k), "a string", val);
		(*keys)[i] = strdup(k);
		(*values)[i] = strdup(json_string_value(val));
		if (!(*keys)[i] || !(*values)[i])
			return enomem(err);
		i++;
	}
	*n = i;
	return 0;
}

/* ------------------------------------------------------------------ */
/* keyed getters: return 1 when set, 0 when absent, -1 on error        */

static int opt_str(json_t *o, const char *parent, const char *key, char **out, hull_error **err)
{
	char buf[FPATH];
	json_t *v = field(o, key);
	if (!v)
		return 0;
	return v_string(v, join(buf, parent, key), out, err) < 0 ? -1 : 1;
}

static int opt_bool(json_t *o, const char *parent, const char *key, bool *out, bool *has, hull_error **err)
{
	char buf[FPATH];
	json_t *v = field(o, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return expect(err, join(buf, parent, key), "a boolean", v);
	*out = json_is_true(v);
	if (has)
		*has = true;
	return 1;
}

static int opt_u64(json_t *o, const char *parent, const char *key, uint64_t max, uint64_t *out, bool *has,
		   hull_error **err)
{
	char buf[FPATH];
	json_t *v = field(o, key);
	if (!v)
		return 0;
	TRY(v_u64(v, join(buf, parent, key), max, out, err));
	if (has)
		*has = true;
	return 1;
}

static int opt_i64(json_t *o, const char *parent, const char *key, int64_t min, int64_t max, int64_t *out,
		   bool *has, hull_error **err)
{
	char buf[FPATH];
	json_t *v = field(o, key);
	if (!v)
		return 0;
	TRY(v_i64(v, join(buf, parent, key), min, max, out, err));
	if (has)
		*has = true;
	return 1;
}

/* Turn "absent" (0) from an opt_ getter into a "required" error. */
static int need(int r, const char *parent, const char *key, hull_error **err)
{
	char buf[FPATH];
	return r == 0 ? ferr(err, join(buf, parent, key), "required field is missing") : r;
}

#define req_str(o, parent, key, out, err) need(opt_str(o, parent, key, out, err), parent, key, err)
#define req_u64(o, parent, key, max, out, err) need(opt_u64(o, parent, key, max, out, NULL, err), parent, key, err)
#define req_i64(o, parent, key, min, max, out, err) \
	need(opt_i64(o, parent, key, min, max, out, NULL, err), parent, key, err)

static int opt_u32(json_t *o, const char *parent, const char *key, uint32_t *out, bool *has, hull_error **err)
{
	uint64_t x = 0;
	int r = opt_u64(o, parent, key, UINT32_MAX, &x, has, err);
	if (r > 0)
		*out = (uint32_t)x;
	return r;
}

static int opt_u16(json_t *o, const char *parent, const char *key, uint16_t *out, bool *has, hull_error **err)
{
	uint64_t x = 0;
	int r = opt_u64(o, parent, key, UINT16_MAX, &x, has, err);
	if (r > 0)
		*out = (uint16_t)x;
	return r;
}

static int opt_int(json_t *o, const char *parent, const char *key, int min, int max, int *out, bool *has,
		   hull_error **err)
{
	int64_t x = 0;
	int r = opt_i64(o, parent, key, min, max, &x, has, err);
	if (r > 0)
		*out = (int)x;
	return r;
}

static int opt_strv(json_t *o, const char *parent, const char *key, char ***out, hull_error **err)
{
	char buf[FPATH];
	json_t *v = field(o, key);
	if (!v)
		return 0;
	return v_strv(v, join(buf, parent, key), out, err) < 0 ? -1 : 1;
}

/* Optional member of JSON type t (object or array): *sub = NULL when absent. */
static int opt_typed(json_t *o, const char *parent, const char *key, json_type t, json_t **sub, hull_error **err)
{
	char buf[FPATH];
	json_t *v = field(o, key);
	*sub = NULL;
	if (!v)
		return 0;
	if (json_typeof(v) != t)
		return expect(err, join(buf, parent, key), t == JSON_OBJECT ? "an object" : "an array", v);
	*sub = v;
	return 1;
}

#define opt_obj(o, parent, key, sub, err) opt_typed(o, parent, key, JSON_OBJECT, sub, err)
#define opt_array(o, parent, key, sub, err) opt_typed(o, parent, key, JSON_ARRAY, sub, err)

/* Array element i, which must be an object, into *ret. */
static int obj_elem(json_t *arr, size_t i, const char *path, json_t **ret, hull_error **err)
{
	*ret = json_array_get(arr, i);
	if (!json_is_object(*ret))
		return expect(err, path, "an object", *ret);
	return 0;
}

/* Allocate n zeroed elements (at least one byte, so n == 0 is not NULL-ambiguous). */
static void *alloc_array(size_t n, size_t size, hull_error **err)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		enomem(err);
	return p;
}

static int check_absolute(const char *path, const char *value, hull_error **err)
{
	if (value[0] != '/')
		return ferr(err, path, "must be an absolute path, got '%s'", value);
	return 0;
}

static bool str_in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* name tables                                                         */

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

int oci_rlimit_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (strcmp(rlimit_names[i].name, name) == 0)
			return rlimit_names[i].resource;
	return -1;
}

static const struct {
	const char *oci;  /* name in config.json */
	const char *proc; /* name under /proc/PID/ns/ */
	int flag;
} ns_names[] = {
	{ "pid", "pid", CLONE_NEWPID },
	{ "network", "net", CLONE_NEWNET },
	{ "mount", "mnt", CLONE_NEWNS },
	{ "ipc", "ipc", CLONE_NEWIPC },
	{ "uts", "uts", CLONE_NEWUTS },
	{ "user", "user", CLONE_NEWUSER },
	{ "cgroup", "cgroup", CLONE_NEWCGROUP },
	{ "time", "time", CLONE_NEWTIME },
};

int oci_namespace_from_name(const char *name)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (strcmp(ns_names[i].oci, name) == 0)
			return ns_names[i].flag;
	return 0;
}

const char *oci_namespace_name(int type)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (ns_names[i].flag == type)
			return ns_names[i].proc;
	return NULL;
}

const struct oci_namespace *oci_config_namespace(const struct oci_config *c, int type)
{
	if (!c || !c->has_linux)
		return NULL;
	for (size_t i = 0; i < c->linux_.n_namespaces; i++)
		if (c->linux_.namespaces[i].type == type)
			return &c->linux_.namespaces[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* process                                                             */

static int parse_user(json_t *o, const char *path, struct oci_user *u, hull_error **err)
{
	char buf[FPATH], ebuf[FPATH];
	uint32_t id = 0;
	json_t *v;

	if ((v = field(o, "uid"))) {
		TRY(v_id(v, join(buf, path, "uid"), &id, err));
		u->uid = id;
	}
	if ((v = field(o, "gid"))) {
		TRY(v_id(v, join(buf, path, "gid"), &id, err));
		u->gid = id;
	}
	uint32_t umask_v = 0;
	TRY(opt_u32(o, path, "umask", &umask_v, &u->has_umask, err));
	if (u->has_umask) {
		if (umask_v > 0777)
			return ferr(err, join(buf, path, "umask"), "value %#o out of range (0 to 0777)", umask_v);
		u->umask = umask_v;
	}
	json_t *arr;
	TRY(opt_array(o, path, "additionalGids", &arr, err));
	if (arr) {
		size_t n = json_array_size(arr);
		if (!(u->additional_gids = alloc_array(n, sizeof(gid_t), err)))
			return -1;
		u->n_additional_gids = n;
		join(buf, path, "additionalGids");
		for (size_t i = 0; i < n; i++) {
			TRY(v_id(json_array_get(arr, i), elem(ebuf, buf, i), &id, err));
			u->additional_gids[i] = id;
		}
	}
	TRY(opt_str(o, path, "username", &u->username, err));
	return 0;
}

static int parse_caps(json_t *o, const char *path, struct oci_caps *c, hull_error **err)
{
	if (opt_strv(o, path, "bounding", &c->bounding, err) < 0 ||
	    opt_strv(o, path, "effective", &c->effective, err) < 0 ||
	    opt_strv(o, path, "inheritable", &c->inheritable, err) < 0 ||
	    opt_strv(o, path, "permitted", &c->permitted, err) < 0 ||
	    opt_strv(o, path, "ambient", &c->ambient, err) < 0)
		return -1;
	return 0;
}

static int parse_rlimits(json_t *arr, const char *path, struct oci_process *p, hull_error **err)
{
	char buf[FPATH], tbuf[FPATH];
	size_t n = json_array_size(arr);
	if (!(p->rlimits = alloc_array(n, sizeof(struct oci_rlimit), err)))
		return -1;
	p->n_rlimits = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_rlimit *r = &p->rlimits[i];
		json_t *o;
		TRY(obj_elem(arr, i, elem(buf, path, i), &o, err));
		TRY(req_str(o, buf, "type", &r->type, err));
		r->resource = oci_rlimit_from_name(r->type);
		if (r->resource < 0)
			return ferr(err, join(tbuf, buf, "type"), "unknown rlimit type '%s'", r->type);
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == r->resource)
				return ferr(err, join(tbuf, buf, "type"), "duplicate rlimit type '%s'", r->type);
		if (req_u64(o, buf, "hard", UINT64_MAX, &r->hard, err) < 0 ||
		    req_u64(o, buf, "soft", UINT64_MAX, &r->soft, err) < 0)
			return -1;
		if (r->soft > r->hard)
			return ferr(err, buf, "%s: soft limit %" PRIu64 " is above hard limit %" PRIu64, r->type,
				    r->soft, r->hard);
	}
	return 0;
}

static int parse_scheduler(json_t *o, const char *path, struct oci_process *p, hull_error **err)
{
	static const char *const policies[] = { "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH",
						"SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE", NULL };
	static const char *const flags[] = { "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",
					     "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
					     "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
					     "SCHED_FLAG_UTIL_CLAMP_MAX", NULL };
	char buf[FPATH], ebuf[FPATH];

	p->has_scheduler = true;
	TRY(req_str(o, path, "policy", &p->sched_policy, err));
	if (!str_in(p->sched_policy, policies))
		return ferr(err, join(buf, path, "policy"), "unknown scheduler policy '%s'", p->sched_policy);
	if (opt_int(o, path, "nice", -20, 19, &p->sched_nice, NULL, err) < 0 ||
	    opt_int(o, path, "priority", 0, INT32_MAX, &p->sched_priority, NULL, err) < 0 ||
	    opt_strv(o, path, "flags", &p->sched_flags, err) < 0 ||
	    opt_u64(o, path, "runtime", UINT64_MAX, &p->sched_runtime, NULL, err) < 0 ||
	    opt_u64(o, path, "deadline", UINT64_MAX, &p->sched_deadline, NULL, err) < 0 ||
	    opt_u64(o, path, "period", UINT64_MAX, &p->sched_period, NULL, err) < 0)
		return -1;
	for (size_t i = 0; p->sched_flags && p->sched_flags[i]; i++)
		if (!str_in(p->sched_flags[i], flags))
			return ferr(err, elem(ebuf, join(buf, path, "flags"), i), "unknown scheduler flag '%s'",
				    p->sched_flags[i]);
	return 0;
}

static int parse_io_priority(json_t *o, const char *path, struct oci_process *p, hull_error **err)
{
	static const char *const classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL };
	char buf[FPATH];

	p->has_io_priority = true;
	TRY(req_str(o, path, "class", &p->io_class, err));
	if (!str_in(p->io_class, classes))
		return ferr(err, join(buf, path, "class"), "unknown I/O priority class '%s'", p->io_class);
	TRY(opt_int(o, path, "priority", 0, 7, &p->io_priority, NULL, err));
	return 0;
}

static int check_env(char **env, const char *path, hull_error **err)
{
	char buf[FPATH];
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq)
			return ferr(err, elem(buf, path, i), "invalid environment variable '%s': missing '='", env[i]);
		if (eq == env[i])
			return ferr(err, elem(buf, path, i), "invalid environment variable '%s': empty name", env[i]);
	}
	return 0;
}

/* Parse into a zeroed *p; on error *p holds what was parsed (caller clears). */
static int parse_process(json_t *o, const char *path, struct oci_process *p, hull_error **err)
{
	char buf[FPATH];
	json_t *sub, *arr;

	TRY(opt_bool(o, path, "terminal", &p->terminal, NULL, err));
	TRY(opt_obj(o, path, "consoleSize", &sub, err));
	if (sub) {
		uint64_t h, w;
		join(buf, path, "consoleSize");
		if (req_u64(sub, buf, "height", UINT_MAX, &h, err) < 0 ||
		    req_u64(sub, buf, "width", UINT_MAX, &w, err) < 0)
			return -1;
		p->console_height = (unsigned)h;
		p->console_width = (unsigned)w;
	}
	TRY(opt_obj(o, path, "user", &sub, err));
	if (sub && parse_user(sub, join(buf, path, "user"), &p->user, err) < 0)
		return -1;

	TRY(opt_strv(o, path, "args", &p->args, err));
	TRY(opt_str(o, path, "commandLine", &p->command_line, err));
	if (!p->args || !p->args[0])
		return ferr(err, join(buf, path, "args"), "must not be empty");

	if (opt_strv(o, path, "env", &p->env, err) < 0 || check_env(p->env, join(buf, path, "env"), err) < 0)
		return -1;

	TRY(req_str(o, path, "cwd", &p->cwd, err));
	TRY(check_absolute(join(buf, path, "cwd"), p->cwd, err));

	TRY(opt_obj(o, path, "capabilities", &sub, err));
	if (sub) {
		p->has_caps = true;
		TRY(parse_caps(sub, join(buf, path, "capabilities"), &p->caps, err));
	}

	TRY(opt_array(o, path, "rlimits", &arr, err));
	if (arr && parse_rlimits(arr, join(buf, path, "rlimits"), p, err) < 0)
		return -1;

	if (opt_bool(o, path, "noNewPrivileges", &p->no_new_privileges, NULL, err) < 0 ||
	    opt_str(o, path, "apparmorProfile", &p->apparmor_profile, err) < 0 ||
	    opt_int(o, path, "oomScoreAdj", -1000, 1000, &p->oom_score_adj, &p->has_oom_score_adj, err) < 0 ||
	    opt_str(o, path, "selinuxLabel", &p->selinux_label, err) < 0)
		return -1;

	TRY(opt_obj(o, path, "scheduler", &sub, err));
	if (sub && parse_scheduler(sub, join(buf, path, "scheduler"), p, err) < 0)
		return -1;
	TRY(opt_obj(o, path, "ioPriority", &sub, err));
	if (sub && parse_io_priority(sub, join(buf, path, "ioPriority"), p, err) < 0)
		return -1;
	return 0;
}

void oci_process_clear(struct oci_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	free(p->user.username);
	strv_free(p->args);
	free(p->command_line);
	strv_free(p->env);
	free(p->cwd);
	strv_free(p->caps.bounding);
	strv_free(p->caps.effective);
	strv_free(p->caps.inheritable);
	strv_free(p->caps.permitted);
	strv_free(p->caps.ambient);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->sched_policy);
	strv_free(p->sched_flags);
	free(p->io_class);
	memset(p, 0, sizeof(*p));
}

int oci_process_parse(json_t *obj, struct oci_process *ret, hull_error **err)
{
	struct oci_process p = { 0 };
	if (!ret)
		return hull_error_set(err, EINVAL, "parse process");
	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(obj))
		return expect(err, "process", "an object", obj);
	if (parse_process(obj, "process", &p, err) < 0) {
		oci_process_clear(&p);
		return -1;
	}
	*ret = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* mounts, id mappings, hooks                                          */

static int parse_id_mappings(json_t *arr, const char *path, struct oci_id_mapping **out, size_t *n_out,
			     hull_error **err)
{
	char buf[FPATH];
	size_t n = json_array_size(arr);
	if (!(*out = alloc_array(n, sizeof(struct oci_id_mapping), err)))
		return -1;
	*n_out = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t c, h, s;
		json_t *o;
		TRY(obj_elem(arr, i, elem(buf, path, i), &o, err));
		if (req_u64(o, buf, "containerID", UINT32_MAX, &c, err) < 0 ||
		    req_u64(o, buf, "hostID", UINT32_MAX, &h, err) < 0 ||
		    req_u64(o, buf, "size", UINT32_MAX, &s, err) < 0)
			return -1;
		if (s == 0)
			return ferr(err, buf, "size must not be 0");
		if (c + s > (uint64_t)UINT32_MAX + 1 || h + s > (uint64_t)UINT32_MAX + 1)
			return ferr(err, buf, "range %" PRIu64 "+%" PRIu64 " -> %" PRIu64 " exceeds 32 bits", c, s, h);
		(*out)[i] = (struct oci_id_mapping){ .container_id = (uint32_t)c, .host_id = (uint32_t)h,
						     .size = (uint32_t)s };
	}
	return 0;
}

static int parse_mounts(json_t *arr, struct oci_config *c, hull_error **err)
{
	char buf[FPATH], kbuf[FPATH];
	size_t n = json_array_size(arr);
	if (!(c->mounts = alloc_array(n, sizeof(struct oci_mount), err)))
		return -1;
	c->n_mounts = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_mount *m = &c->mounts[i];
		json_t *sub, *o;
		TRY(obj_elem(arr, i, elem(buf, "mounts", i), &o, err));
		TRY(req_str(o, buf, "destination", &m->destination, err));
		if (!m->destination[0])
			return ferr(err, join(kbuf, buf, "destination"), "must not be empty");
		if (m->destination[0] != '/') {
			/* runc takes these relative to "/" with a warning; do the same */
			char *abs = NULL;
			if (asprintf(&abs, "/%s", m->destination) < 0)
				return enomem(err);
			log_warn("%s: mount destination '%s' is not absolute, using '%s'",
				 join(kbuf, buf, "destination"), m->destination, abs);
			free(m->destination);
			m->destination = abs;
		}
		if (opt_str(o, buf, "type", &m->type, err) < 0 || opt_str(o, buf, "source", &m->source, err) < 0 ||
		    opt_strv(o, buf, "options", &m->options, err) < 0)
			return -1;
		TRY(opt_array(o, buf, "uidMappings", &sub, err));
		if (sub && parse_id_mappings(sub, join(kbuf, buf, "uidMappings"), &m->uid_mappings,
					     &m->n_uid_mappings, err) < 0)
			return -1;
		TRY(opt_array(o, buf, "gidMappings", &sub, err));
		if (sub && parse_id_mappings(sub, join(kbuf, buf, "gidMappings"), &m->gid_mappings,
					     &m->n_gid_mappings, err) < 0)
			return -1;
	}
	return 0;
}

static const char *const hook_json_names[OCI_HOOK__MAX] = {
	[OCI_HOOK_PRESTART] = "prestart",
	[OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
	[OCI_HOOK_CREATE_CONTAINER] = "createContainer",
	[OCI_HOOK_START_CONTAINER] = "startContainer",
	[OCI_HOOK_POSTSTART] = "poststart",
	[OCI_HOOK_POSTSTOP] = "poststop",
};

static int parse_hooks(json_t *o, struct oci_hooks *h, hull_error **err)
{
	char path[FPATH], buf[FPATH], kbuf[FPATH];
	for (int k = 0; k < OCI_HOOK__MAX; k++) {
		json_t *arr;
		TRY(opt_array(o, "hooks", hook_json_names[k], &arr, err));
		if (!arr)
			continue;
		join(path, "hooks", hook_json_names[k]);
		size_t n = json_array_size(arr);
		if (!(h->list[k] = alloc_array(n, sizeof(struct oci_hook), err)))
			return -1;
		h->count[k] = n;
		for (size_t i = 0; i < n; i++) {
			struct oci_hook *hk = &h->list[k][i];
			json_t *e;
			TRY(obj_elem(arr, i, elem(buf, path, i), &e, err));
			if (req_str(e, buf, "path", &hk->path, err) < 0 ||
			    check_absolute(join(kbuf, buf, "path"), hk->path, err) < 0)
				return -1;
			if (opt_strv(e, buf, "args", &hk->args, err) < 0 || opt_strv(e, buf, "env", &hk->env, err) < 0)
				return -1;
			bool has_timeout = false;
			TRY(opt_int(e, buf, "timeout", INT_MIN, INT_MAX, &hk->timeout, &has_timeout, err));
			if (has_timeout && hk->timeout <= 0)
				return ferr(err, join(kbuf, buf, "timeout"), "must be greater than zero, got %d",
					    hk->timeout);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* linux.resources                                                     */

static int parse_dev_rules(json_t *arr, const char *path, struct oci_resources *r, hull_error **err)
{
	char buf[FPATH], kbuf[FPATH];
	size_t n = json_array_size(arr);
	if (!(r->devices = alloc_array(n, sizeof(struct oci_device_cgroup), err)))
		return -1;
	r->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_device_cgroup *d = &r->devices[i];
		d->type = 'a';
		d->major = d->minor = -1;
		json_t *o;
		TRY(obj_elem(arr, i, elem(buf, path, i), &o, err));
		TRY(need(opt_bool(o, buf, "allow", &d->allow, NULL, err), buf, "allow", err));
		_cleanup_free_ char *type = NULL;
		TRY(opt_str(o, buf, "type", &type, err));
		if (type) {
			if (strlen(type) != 1 || !strchr("acb", type[0]))
				return ferr(err, join(kbuf, buf, "type"), "invalid device type '%s' (want a, c or b)",
					    type);
			d->type = type[0];
		}
		if (opt_i64(o, buf, "major", -1, INT64_MAX, &d->major, NULL, err) < 0 ||
		    opt_i64(o, buf, "minor", -1, INT64_MAX, &d->minor, NULL, err) < 0)
			return -1;
		TRY(opt_str(o, buf, "access", &d->access, err));
		if (d->access) {
			if (d->access[0] == '\0') {
				free(d->access);
				d->access = NULL;
			} else if (strspn(d->access, "rwm") != strlen(d->access)) {
				return ferr(err, join(kbuf, buf, "access"), "invalid access '%s' (want a subset of rwm)",
					    d->access);
			}
		}
	}
	return 0;
}

static int parse_memory(json_t *o, const char *path, struct oci_resources *r, hull_error **err)
{
	char buf[FPATH];
	if (opt_i64(o, path, "limit", INT64_MIN, INT64_MAX, &r->memory_limit, &r->has_memory_limit, err) < 0 ||
	    opt_i64(o, path, "reservation", INT64_MIN, INT64_MAX, &r->memory_reservation,
		    &r->has_memory_reservation, err) < 0 ||
	    opt_i64(o, path, "swap", INT64_MIN, INT64_MAX, &r->memory_swap, &r->has_memory_swap, err) < 0 ||
	    opt_i64(o, path, "kernel", INT64_MIN, INT64_MAX, &r->memory_kernel, &r->has_memory_kernel, err) < 0 ||
	    opt_i64(o, path, "kernelTCP", INT64_MIN, INT64_MAX, &r->memory_kernel_tcp, &r->has_memory_kernel_tcp,
		    err) < 0)
		return -1;
	/* swappiness: -1 (and its uint64 spelling) mean "leave as is" */
	json_t *v = field(o, "swappiness");
	if (v) {
		if (json_is_integer(v) && json_integer_value(v) == -1) {
			r->has_memory_swappiness = false;
		} else {
			TRY(v_u64(v, join(buf, path, "swappiness"), UINT64_MAX, &r->memory_swappiness, err));
			r->has_memory_swappiness = r->memory_swappiness != UINT64_MAX;
			if (r->has_memory_swappiness && r->memory_swappiness > 100)
				return ferr(err, buf, "value %" PRIu64 " out of range (0 to 100)",
					    r->memory_swappiness);
		}
	}
	if (opt_bool(o, path, "disableOOMKiller", &r->disable_oom_killer, &r->has_disable_oom_killer, err) < 0 ||
	    opt_bool(o, path, "useHierarchy", &r->use_hierarchy, &r->has_use_hierarchy, err) < 0 ||
	    opt_bool(o, path, "checkBeforeUpdate", &r->check_before_update, &r->has_check_before_update, err) < 0)
		return -1;
	return 0;
}

static int parse_cpu(json_t *o, const char *path, struct oci_resources *r, hull_error **err)
{
	if (opt_u64(o, path, "shares", UINT64_MAX, &r->cpu_shares, &r->has_cpu_shares, err) < 0 ||
	    opt_i64(o, path, "quota", INT64_MIN, INT64_MAX, &r->cpu_quota, &r->has_cpu_quota, err) < 0 ||
	    opt_u64(o, path, "burst", UINT64_MAX, &r->cpu_burst, &r->has_cpu_burst, err) < 0 ||
	    opt_u64(o, path, "period", UINT64_MAX, &r->cpu_period, &r->has_cpu_period, err) < 0 ||
	    opt_i64(o, path, "realtimeRuntime", INT64_MIN, INT64_MAX, &r->cpu_realtime_runtime,
		    &r->has_cpu_realtime_runtime, err) < 0 ||
	    opt_u64(o, path, "realtimePeriod", UINT64_MAX, &r->cpu_realtime_period, &r->has_cpu_realtime_period,
		    err) < 0 ||
	    opt_str(o, path, "cpus", &r->cpuset_cpus, err) < 0 || opt_str(o, path, "mems", &r->cpuset_mems, err) < 0 ||
	    opt_i64(o, path, "idle", INT64_MIN, INT64_MAX, &r->cpu_idle, &r->has_cpu_idle, err) < 0)
		return -1;
	return 0;
}

static int parse_throttle(json_t *o, const char *parent, const char *key, struct oci_throttle_device **out,
			  size_t *n_out, hull_error **err)
{
	char path[FPATH], buf[FPATH];
	json_t *arr;
	TRY(opt_array(o, parent, key, &arr, err));
	if (!arr)
		return 0;
	join(path, parent, key);
	size_t n = json_array_size(arr);
	if (!(*out = alloc_array(n, sizeof(struct oci_throttle_device), err)))
		return -1;
	*n_out = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_throttle_device *t = &(*out)[i];
		json_t *e;
		TRY(obj_elem(arr, i, elem(buf, path, i), &e, err));
		if (req_i64(e, buf, "major", 0, INT64_MAX, &t->major, err) < 0 ||
		    req_i64(e, buf, "minor", 0, INT64_MAX, &t->minor, err) < 0 ||
		    req_u64(e, buf, "rate", UINT64_MAX, &t->rate, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_blkio(json_t *o, const char *path, struct oci_resources *r, hull_error **err)
{
	char wpath[FPATH], buf[FPATH];
	json_t *arr;
	if (opt_u16(o, path, "weight", &r->blkio_weight, &r->has_blkio_weight, err) < 0 ||
	    opt_u16(o, path, "leafWeight", &r->blkio_leaf_weight, &r->has_blkio_leaf_weight, err) < 0)
		return -1;
	TRY(opt_array(o, path, "weightDevice", &arr, err));
	if (arr) {
		join(wpath, path, "weightDevice");
		size_t n = json_array_size(arr);
		if (!(r->blkio_weight_devices = alloc_array(n, sizeof(struct oci_weight_device), err)))
			return -1;
		r->n_blkio_weight_devices = n;
		for (size_t i = 0; i < n; i++) {
			struct oci_weight_device *w = &r->blkio_weight_devices[i];
			json_t *e;
			TRY(obj_elem(arr, i, elem(buf, wpath, i), &e, err));
			if (req_i64(e, buf, "major", 0, INT64_MAX, &w->major, err) < 0 ||
			    req_i64(e, buf, "minor", 0, INT64_MAX, &w->minor, err) < 0 ||
			    opt_u16(e, buf, "weight", &w->weight, &w->has_weight, err) < 0 ||
			    opt_u16(e, buf, "leafWeight", &w->leaf_weight, &w->has_leaf_weight, err) < 0)
				return -1;
		}
	}
	if (parse_throttle(o, path, "throttleReadBpsDevice", &r->throttle_read_bps, &r->n_throttle_read_bps, err) < 0 ||
	    parse_throttle(o, path, "throttleWriteBpsDevice", &r->throttle_write_bps, &r->n_throttle_write_bps,
			   err) < 0 ||
	    parse_throttle(o, path, "throttleReadIOPSDevice", &r->throttle_read_iops, &r->n_throttle_read_iops,
			   err) < 0 ||
	    parse_throttle(o, path, "throttleWriteIOPSDevice", &r->throttle_write_iops, &r->n_throttle_write_iops,
			   err) < 0)
		return -1;
	return 0;
}

static int parse_hugepages(json_t *arr, const char *path, struct oci_resources *r, hull_error **err)
{
	char buf[FPATH];
	size_t n = json_array_size(arr);
	if (!(r->hugepage_limits = alloc_array(n, sizeof(struct oci_hugepage_limit), err)))
		return -1;
	r->n_hugepage_limits = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		json_t *e;
		TRY(obj_elem(arr, i, elem(buf, path, i), &e, err));
		if (req_str(e, buf, "pageSize", &h->page_size, err) < 0 ||
		    req_u64(e, buf, "limit", UINT64_MAX, &h->limit, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_resources(json_t *o, const char *path, struct oci_resources *r, hull_error **err)
{
	char buf[FPATH];
	json_t *sub;

	TRY(opt_array(o, path, "devices", &sub, err));
	if (sub && parse_dev_rules(sub, join(buf, path, "devices"), r, err) < 0)
		return -1;
	TRY(opt_obj(o, path, "memory", &sub, err));
	if (sub && parse_memory(sub, join(buf, path, "memory"), r, err) < 0)
		return -1;
	TRY(opt_obj(o, path, "cpu", &sub, err));
	if (sub && parse_cpu(sub, join(buf, path, "cpu"), r, err) < 0)
		return -1;
	TRY(opt_obj(o, path, "pids", &sub, err));
	if (sub && opt_i64(sub, join(buf, path, "pids"), "limit", INT64_MIN, INT64_MAX, &r->pids_limit,
			   &r->has_pids_limit, err) < 0)
		return -1;
	TRY(opt_obj(o, path, "blockIO", &sub, err));
	if (sub && parse_blkio(sub, join(buf, path, "blockIO"), r, err) < 0)
		return -1;
	TRY(opt_array(o, path, "hugepageLimits", &sub, err));
	if (sub && parse_hugepages(sub, join(buf, path, "hugepageLimits"), r, err) < 0)
		return -1;
	TRY(opt_obj(o, path, "network", &sub, err));
	if (sub && opt_u32(sub, join(buf, path, "network"), "classID", &r->net_class_id, &r->has_net_class_id, err) < 0)
		return -1;
	if ((sub = field(o, "unified")) &&
	    v_strmap(sub, join(buf, path, "unified"), &r->unified_keys, &r->unified_values, &r->n_unified, true,
		     err) < 0)
		return -1;
	return 0;
}

static void free_resources(struct oci_resources *r)
{
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->cpuset_cpus);
	free(r->cpuset_mems);
	free(r->blkio_weight_devices);
	free(r->throttle_read_bps);
	free(r->throttle_write_bps);
	free(r->throttle_read_iops);
	free(r->throttle_write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	strv_free(r->unified_keys);
	strv_free(r->unified_values);
}

/* ------------------------------------------------------------------ */
/* linux.seccomp                                                       */

static int parse_seccomp_args(json_t *arr, const char *path, struct oci_seccomp_syscall *s, hull_error **err)
{
	char buf[FPATH], kbuf[FPATH];
	size_t n = json_array_size(arr);
	if (!(s->args = alloc_array(n, sizeof(struct oci_seccomp_arg), err)))
		return -1;
	s->n_args = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_seccomp_arg *a = &s->args[i];
		uint64_t index = 0;
		json_t *e;
		TRY(obj_elem(arr, i, elem(buf, path, i), &e, err));
		TRY(req_u64(e, buf, "index", UINT32_MAX, &index, err));
		if (index > 5)
			return ferr(err, join(kbuf, buf, "index"), "value %" PRIu64 " out of range (0 to 5)", index);
		a->index = (unsigned)index;
		if (req_u64(e, buf, "value", UINT64_MAX, &a->value, err) < 0 ||
		    opt_u64(e, buf, "valueTwo", UINT64_MAX, &a->value_two, NULL, err) < 0 ||
		    req_str(e, buf, "op", &a->op, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_seccomp(json_t *o, const char *path, struct oci_seccomp *sc, hull_error **err)
{
	char spath[FPATH], buf[FPATH], kbuf[FPATH];
	uint32_t u = 0;
	TRY(req_str(o, path, "defaultAction", &sc->default_action, err));
	TRY(opt_u32(o, path, "defaultErrnoRet", &u, &sc->has_default_errno_ret, err));
	sc->default_errno_ret = u;
	if (opt_strv(o, path, "architectures", &sc->architectures, err) < 0 ||
	    opt_strv(o, path, "flags", &sc->flags, err) < 0 ||
	    opt_str(o, path, "listenerPath", &sc->listener_path, err) < 0 ||
	    opt_str(o, path, "listenerMetadata", &sc->listener_metadata, err) < 0)
		return -1;
	json_t *arr;
	TRY(opt_array(o, path, "syscalls", &arr, err));
	if (!arr)
		return 0;
	join(spath, path, "syscalls");
	size_t n = json_array_size(arr);
	if (!(sc->syscalls = alloc_array(n, sizeof(struct oci_seccomp_syscall), err)))
		return -1;
	sc->n_syscalls = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_seccomp_syscall *s = &sc->syscalls[i];
		json_t *e;
		TRY(obj_elem(arr, i, elem(buf, spath, i), &e, err));
		TRY(opt_strv(e, buf, "names", &s->names, err));
		if (!s->names || !s->names[0])
			return ferr(err, join(kbuf, buf, "names"), "must not be empty");
		TRY(req_str(e, buf, "action", &s->action, err));
		u = 0;
		TRY(opt_u32(e, buf, "errnoRet", &u, &s->has_errno_ret, err));
		s->errno_ret = u;
		json_t *args;
		TRY(opt_array(e, buf, "args", &args, err));
		if (args && parse_seccomp_args(args, join(kbuf, buf, "args"), s, err) < 0)
			return -1;
	}
	return 0;
}

static void free_seccomp(struct oci_seccomp *sc)
{
	if (!sc)
		return;
	free(sc->default_action);
	strv_free(sc->architectures);
	strv_free(sc->flags);
	free(sc->listener_path);
	free(sc->listener_metadata);
	for (size_t i = 0; i < sc->n_syscalls; i++) {
		struct oci_seccomp_syscall *s = &sc->syscalls[i];
		strv_free(s->names);
		free(s->action);
		for (size_t j = 0; j < s->n_args; j++)
			free(s->args[j].op);
		free(s->args);
	}
	free(sc->syscalls);
	free(sc);
}

/* ------------------------------------------------------------------ */
/* linux                                                               */

static int parse_namespaces(json_t *arr, const char *path, struct oci_linux *l, hull_error **err)
{
	char buf[FPATH], kbuf[FPATH];
	size_t n = json_array_size(arr);
	if (!(l->namespaces = alloc_array(n, sizeof(struct oci_namespace), err)))
		return -1;
	l->n_namespaces = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_namespace *ns = &l->namespaces[i];
		_cleanup_free_ char *type = NULL;
		json_t *e;
		TRY(obj_elem(arr, i, elem(buf, path, i), &e, err));
		TRY(req_str(e, buf, "type", &type, err));
		ns->type = oci_namespace_from_name(type);
		if (!ns->type)
			return ferr(err, join(kbuf, buf, "type"), "unknown namespace type '%s'", type);
		for (size_t j = 0; j < i; j++)
			if (l->namespaces[j].type == ns->type)
				return ferr(err, join(kbuf, buf, "type"), "duplicate namespace type '%s'", type);
		TRY(opt_str(e, buf, "path", &ns->path, err));
		if (ns->path && check_absolute(join(kbuf, buf, "path"), ns->path, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_devices(json_t *arr, const char *path, struct oci_linux *l, hull_error **err)
{
	char buf[FPATH], kbuf[FPATH];
	size_t n = json_array_size(arr);
	if (!(l->devices = alloc_array(n, sizeof(struct oci_device), err)))
		return -1;
	l->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		struct oci_device *d = &l->devices[i];
		_cleanup_free_ char *type = NULL;
		d->major = d->minor = -1;
		json_t *e;
		TRY(obj_elem(arr, i, elem(buf, path, i), &e, err));
		if (req_str(e, buf, "path", &d->path, err) < 0 ||
		    check_absolute(join(kbuf, buf, "path"), d->path, err) < 0)
			return -1;
		TRY(req_str(e, buf, "type", &type, err));
		if (strlen(type) != 1 || !strchr("cbup", type[0]))
			return ferr(err, join(kbuf, buf, "type"), "invalid device type '%s' (want c, b, u or p)", type);
		d->type = type[0];
		/* major and minor are required, except for a fifo */
		int r1 = opt_i64(e, buf, "major", 0, INT64_MAX, &d->major, NULL, err);
		int r2 = r1 < 0 ? -1 : opt_i64(e, buf, "minor", 0, INT64_MAX, &d->minor, NULL, err);
		if (d->type != 'p') {
			TRY(need(r1, buf, "major", err));
			TRY(need(r2, buf, "minor", err));
		}
		TRY(r2);
		uint32_t v = 0;
		TRY(opt_u32(e, buf, "fileMode", &v, &d->has_mode, err));
		d->file_mode = v;
		json_t *idv;
		if ((idv = field(e, "uid"))) {
			TRY(v_id(idv, join(kbuf, buf, "uid"), &v, err));
			d->uid = v;
			d->has_uid = true;
		}
		if ((idv = field(e, "gid"))) {
			TRY(v_id(idv, join(kbuf, buf, "gid"), &v, err));
			d->gid = v;
			d->has_gid = true;
		}
	}
	return 0;
}

static int parse_time_offset(json_t *o, const char *parent, const char *key, bool *has, int64_t *secs,
			     uint32_t *nsecs, hull_error **err)
{
	char path[FPATH];
	json_t *sub;
	TRY(opt_obj(o, parent, key, &sub, err));
	if (!sub)
		return 0;
	join(path, parent, key);
	*has = true;
	TRY(opt_i64(sub, path, "secs", INT64_MIN, INT64_MAX, secs, NULL, err));
	uint64_t ns = 0;
	TRY(opt_u64(sub, path, "nanosecs", 999999999, &ns, NULL, err));
	*nsecs = (uint32_t)ns;
	return 0;
}

static int parse_path_list(json_t *o, const char *parent, const char *key, char ***out, hull_error **err)
{
	char path[FPATH], buf[FPATH];
	TRY(opt_strv(o, parent, key, out, err));
	join(path, parent, key);
	for (size_t i = 0; *out && (*out)[i]; i++)
		TRY(check_absolute(elem(buf, path, i), (*out)[i], err));
	return 0;
}

static int parse_linux(json_t *o, struct oci_linux *l, hull_error **err)
{
	static const char *const propagations[] = { "shared", "slave", "private", "unbindable", "rshared",
						    "rslave", "rprivate", "runbindable", NULL };
	const char *path = "linux";
	char buf[FPATH];
	json_t *sub;

	TRY(opt_array(o, path, "namespaces", &sub, err));
	if (sub && parse_namespaces(sub, "linux.namespaces", l, err) < 0)
		return -1;
	TRY(opt_array(o, path, "uidMappings", &sub, err));
	if (sub && parse_id_mappings(sub, "linux.uidMappings", &l->uid_mappings, &l->n_uid_mappings, err) < 0)
		return -1;
	TRY(opt_array(o, path, "gidMappings", &sub, err));
	if (sub && parse_id_mappings(sub, "linux.gidMappings", &l->gid_mappings, &l->n_gid_mappings, err) < 0)
		return -1;

	TRY(opt_obj(o, path, "timeOffsets", &sub, err));
	if (sub &&
	    (parse_time_offset(sub, "linux.timeOffsets", "monotonic", &l->has_time_offsets_monotonic,
			       &l->monotonic_secs, &l->monotonic_nanosecs, err) < 0 ||
	     parse_time_offset(sub, "linux.timeOffsets", "boottime", &l->has_time_offsets_boottime,
			       &l->boottime_secs, &l->boottime_nanosecs, err) < 0))
		return -1;

	TRY(opt_array(o, path, "devices", &sub, err));
	if (sub && parse_devices(sub, "linux.devices", l, err) < 0)
		return -1;
	TRY(opt_str(o, path, "cgroupsPath", &l->cgroups_path, err));

	TRY(opt_obj(o, path, "resources", &sub, err));
	if (sub) {
		l->has_resources = true;
		TRY(parse_resources(sub, "linux.resources", &l->resources, err));
	}

	TRY(opt_str(o, path, "rootfsPropagation", &l->rootfs_propagation, err));
	if (l->rootfs_propagation && !l->rootfs_propagation[0]) {
		free(l->rootfs_propagation); /* "" means unset */
		l->rootfs_propagation = NULL;
	}
	if (l->rootfs_propagation && !str_in(l->rootfs_propagation, propagations))
		return ferr(err, "linux.rootfsPropagation", "invalid propagation '%s'", l->rootfs_propagation);
	if (parse_path_list(o, path, "maskedPaths", &l->masked_paths, err) < 0 ||
	    parse_path_list(o, path, "readonlyPaths", &l->readonly_paths, err) < 0)
		return -1;
	TRY(opt_str(o, path, "mountLabel", &l->mount_label, err));
	if ((sub = field(o, "sysctl")) &&
	    v_strmap(sub, "linux.sysctl", &l->sysctl_keys, &l->sysctl_values, &l->n_sysctl, true, err) < 0)
		return -1;

	TRY(opt_obj(o, path, "seccomp", &sub, err));
	if (sub) {
		if (!(l->seccomp = calloc(1, sizeof(*l->seccomp))))
			return enomem(err);
		TRY(parse_seccomp(sub, "linux.seccomp", l->seccomp, err));
	}
	TRY(opt_obj(o, path, "personality", &sub, err));
	if (sub) {
		if (!(l->personality = calloc(1, sizeof(*l->personality))))
			return enomem(err);
		TRY(req_str(sub, "linux.personality", "domain", &l->personality->domain, err));
		if (strcmp(l->personality->domain, "LINUX") != 0 && strcmp(l->personality->domain, "LINUX32") != 0)
			return ferr(err, join(buf, "linux.personality", "domain"),
				    "invalid domain '%s' (want LINUX or LINUX32)", l->personality->domain);
	}
	TRY(opt_obj(o, path, "intelRdt", &sub, err));
	if (sub && opt_str(sub, "linux.intelRdt", "closID", &l->intel_rdt_clos_id, err) < 0)
		return -1;
	return 0;
}

static void free_linux(struct oci_linux *l)
{
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	free_resources(&l->resources);
	free(l->rootfs_propagation);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	strv_free(l->sysctl_keys);
	strv_free(l->sysctl_values);
	free_seccomp(l->seccomp);
	if (l->personality) {
		free(l->personality->domain);
		free(l->personality);
	}
	free(l->intel_rdt_clos_id);
}

/* ------------------------------------------------------------------ */
/* big unsigned integers                                               */

/* Rewrite integer literals in (INT64_MAX, UINT64_MAX] as marker strings.
 * Returns a new buffer, or NULL (no such literal, or out of memory). */
static char *rewrite_big_uints(const char *data, size_t len, size_t *out_len, bool *oom)
{
	size_t cap = len + 64, olen = 0;
	bool changed = false, in_str = false;
	char *out = malloc(cap);
	*oom = false;
	if (!out) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		char c = data[i];
		if (in_str) {
			size_t step = (c == '\\' && i + 1 < len) ? 2 : 1;
			if (c == '"')
				in_str = false;
			memcpy(out + olen, data + i, step);
			olen += step;
			i += step;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			/* one number token; only a plain non-negative integer is rewritten */
			size_t j = i + (c == '-');
			while (j < len && data[j] >= '0' && data[j] <= '9')
				j++;
			bool plain = c != '-' && !(j < len && (data[j] == '.' || data[j] == 'e' || data[j] == 'E'));
			size_t nd = j - i;
			if (plain && nd >= 19 && nd <= 20 && data[i] != '0') {
				char digits[24];
				memcpy(digits, data + i, nd);
				digits[nd] = '\0';
				errno = 0;
				unsigned long long v = strtoull(digits, NULL, 10);
				if (errno == 0 && v > (unsigned long long)INT64_MAX) {
					/* "\u0001u64:" + digits + quotes */
					static const char pre[] = "\"\\u0001u64:";
					size_t want = olen + sizeof(pre) + nd + 2 + (len - j);
					if (want > cap) {
						cap = want + 64;
						char *nb = realloc(out, cap);
						if (!nb) {
							free(out);
							*oom = true;
							return NULL;
						}
						out = nb;
					}
					memcpy(out + olen, pre, sizeof(pre) - 1);
					olen += sizeof(pre) - 1;
					memcpy(out + olen, digits, nd);
					olen += nd;
					out[olen++] = '"';
					i = j;
					changed = true;
					continue;
				}
			}
			memcpy(out + olen, data + i, nd);
			olen += nd;
			i = j;
			continue;
		}
		out[olen++] = c;
		i++;
	}
	if (!changed) {
		free(out);
		return NULL;
	}
	*out_len = olen;
	return out;
}

/* Replace marker strings left in the document by reals (nearest value). */
static void markers_to_reals(json_t *v)
{
	if (json_is_object(v)) {
		void *it = json_object_iter(v);
		while (it) {
			json_t *val = json_object_iter_value(it);
			if (is_u64_marker(val)) {
				double d = strtod(json_string_value(val) + strlen(U64_MARKER), NULL);
				json_object_iter_set_new(v, it, json_real(d));
			} else {
				markers_to_reals(val);
			}
			it = json_object_iter_next(v, it);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *val = json_array_get(v, i);
			if (is_u64_marker(val))
				json_array_set_new(v, i, json_real(strtod(json_string_value(val) + strlen(U64_MARKER),
									  NULL)));
			else
				markers_to_reals(val);
		}
	}
}

static json_t *json_parse(const char *data, size_t len, bool *rewritten, hull_error **err)
{
	json_error_t jerr;
	*rewritten = false;
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (!root && json_error_code(&jerr) == json_error_numeric_overflow) {
		size_t nlen = 0;
		bool oom;
		_cleanup_free_ char *copy = rewrite_big_uints(data, len, &nlen, &oom);
		if (oom) {
			enomem(err);
			return NULL;
		}
		if (copy) {
			json_error_t jerr2;
			root = json_loadb(copy, nlen, 0, &jerr2);
			if (root)
				*rewritten = true;
			else if (json_error_code(&jerr2) != json_error_numeric_overflow)
				jerr = jerr2;
		}
	}
	if (!root) {
		hull_error_set(err, 0, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	return root;
}

json_t *oci_json_parse(const char *data, size_t len, hull_error **err)
{
	bool rewritten;
	return json_parse(data, len, &rewritten, err);
}

/* ------------------------------------------------------------------ */
/* the whole config                                                    */

void oci_config_free(struct oci_config *c)
{
	if (!c)
		return;
	free(c->oci_version);
	free(c->root.path);
	oci_process_clear(&c->process);
	free(c->hostname);
	free(c->domainname);
	for (size_t i = 0; i < c->n_mounts; i++) {
		struct oci_mount *m = &c->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		strv_free(m->options);
		free(m->uid_mappings);
		free(m->gid_mappings);
	}
	free(c->mounts);
	for (int k = 0; k < OCI_HOOK__MAX; k++) {
		for (size_t i = 0; i < c->hooks.count[k]; i++) {
			free(c->hooks.list[k][i].path);
			strv_free(c->hooks.list[k][i].args);
			strv_free(c->hooks.list[k][i].env);
		}
		free(c->hooks.list[k]);
	}
	strv_free(c->annotation_keys);
	strv_free(c->annotation_values);
	free_linux(&c->linux_);
	if (c->json)
		json_decref(c->json);
	free(c);
}

static int parse_config(json_t *root, struct oci_config *c, hull_error **err)
{
	json_t *sub;
	TRY(req_str(root, NULL, "ociVersion", &c->oci_version, err));

	TRY(opt_obj(root, NULL, "root", &sub, err));
	if (sub) {
		if (req_str(sub, "root", "path", &c->root.path, err) < 0 ||
		    opt_bool(sub, "root", "readonly", &c->root.readonly, NULL, err) < 0)
			return -1;
		if (!c->root.path[0])
			return ferr(err, "root.path", "must not be empty");
	}

	TRY(opt_obj(root, NULL, "process", &sub, err));
	if (sub) {
		c->has_process = true;
		TRY(parse_process(sub, "process", &c->process, err));
	}

	if (opt_str(root, NULL, "hostname", &c->hostname, err) < 0 ||
	    opt_str(root, NULL, "domainname", &c->domainname, err) < 0)
		return -1;

	TRY(opt_array(root, NULL, "mounts", &sub, err));
	if (sub && parse_mounts(sub, c, err) < 0)
		return -1;

	TRY(opt_obj(root, NULL, "hooks", &sub, err));
	if (sub && parse_hooks(sub, &c->hooks, err) < 0)
		return -1;

	if ((sub = field(root, "annotations")) &&
	    v_strmap(sub, "annotations", &c->annotation_keys, &c->annotation_values, &c->n_annotations, true, err) < 0)
		return -1;

	TRY(opt_obj(root, NULL, "linux", &sub, err));
	if (sub) {
		c->has_linux = true;
		TRY(parse_linux(sub, &c->linux_, err));
	}
	return 0;
}

int oci_config_parse(const char *data, size_t len, struct oci_config **ret, hull_error **err)
{
	bool rewritten;
	if (!ret || (!data && len))
		return hull_error_set(err, EINVAL, "parse config");
	*ret = NULL;
	json_t *root = json_parse(data ? data : "", len, &rewritten, err);
	if (!root)
		return hull_error_wrap(err, "parse config");
	if (!json_is_object(root)) {
		hull_error_set(err, 0, "parse config: expected a JSON object, got %s", type_name(root));
		json_decref(root);
		return -1;
	}
	struct oci_config *c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(root);
		return enomem(err);
	}
	c->json = root;
	if (parse_config(root, c, err) < 0) {
		oci_config_free(c);
		return -1;
	}
	if (rewritten)
		markers_to_reals(root);
	*ret = c;
	return 0;
}

int oci_config_load(const char *bundle, struct oci_config **ret, hull_error **err)
{
	_cleanup_free_ char *path = NULL, *data = NULL;
	size_t len = 0;
	if (!bundle || !ret)
		return hull_error_set(err, EINVAL, "load config");
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return hull_error_set(err, ENOMEM, "load config");
	int r = fs_read_file_at(AT_FDCWD, path, CONFIG_MAX_SIZE, &data, &len);
	if (r == -EFBIG)
		return hull_error_set(err, EFBIG, "read '%s' (limit %u MiB)", path, CONFIG_MAX_SIZE >> 20);
	if (r < 0)
		return hull_error_set(err, -r, "read '%s'", path);
	if (oci_config_parse(data, len, ret, err) < 0)
		return hull_error_wrap(err, "config '%s'", path);
	return 0;
}
