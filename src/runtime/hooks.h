/* hooks.h - OCI hooks: run each hook of one kind, in order, with the
 * container state JSON on its stdin, its args and env, and its timeout. */
#ifndef HULL_RUNTIME_HOOKS_H
#define HULL_RUNTIME_HOOKS_H

#include "runtime/config.h"
#include "util/error.h"

/* Run all hooks of `kind`.  A hook that fails (non-zero exit, signal, or
 * timeout) is an error naming the hook kind, its path and the reason.
 * The hook's stdout and stderr both go to our stderr. */
int hooks_run(const struct oci_hooks *hooks, enum oci_hook_kind kind, const char *state_json,
	      hull_error **err);

/* The config.json name of a hook kind ("prestart", "createRuntime", ...). */
const char *hooks_kind_name(enum oci_hook_kind kind);

#endif
