/* engine.h - what the engine's commands (`hull images`, `hull load`, ...)
 * share: global options, the lazily opened store, errors, command tables.
 *
 * Every command is `int fn(struct engine *e, int argc, char **argv)` with
 * argv[0] the command's name; it returns the process exit code: 0, the
 * container's own code, or 125 for an engine error (engine_fail prints the
 * one-line message and returns 125), as Docker and Podman do.
 */
#ifndef HULL_CLI_ENGINE_H
#define HULL_CLI_ENGINE_H

#include <stdbool.h>

#include "image/store.h"
#include "util/error.h"

#define EXIT_ENGINE 125

struct engine {
	struct store_opts opts;     /* from --root, --runroot, --storage-driver */
	struct image_store *store;  /* opened on first use */
	bool debug;
};

/* The store, opened on first call (storage.conf and defaults applied). */
int engine_store(struct engine *e, struct image_store **ret, hull_error **err);

/* Print "Error: <msg>" to stderr (as Podman does), free e, return 125. */
int engine_fail(hull_error *e);

struct cli_command {
	const char *name;
	int (*fn)(struct engine *e, int argc, char **argv);
	const char *help; /* one line for `hull --help` */
};

/* Command tables, each ending with a zeroed entry.  Top-level commands: */
extern const struct cli_command image_commands[];      /* images import load save tag untag rmi history */
/* `hull image SUBCOMMAND` (ls, inspect, prune, exists, mount, unmount, rm, tag, ...): */
extern const struct cli_command image_subcommands[];
/* `hull system SUBCOMMAND` (check, df): */
extern const struct cli_command system_subcommands[];

#endif
