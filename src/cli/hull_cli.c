/* hull_cli.c - `hull`: global options and dispatch to the command tables
 * (engine.h).  Invoked as hull-runtime it is the OCI runtime instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/engine.h"
#include "util/log.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int engine_fail(hull_error *e)
{
	fprintf(stderr, "Error: %s\n", e && e->msg ? e->msg : "unknown error");
	hull_error_free(e);
	return EXIT_ENGINE;
}

int engine_store(struct engine *e, struct image_store **ret, hull_error **err)
{
	if (!e->store) {
		struct store_opts o = { 0 };
		if (store_resolve_opts(&e->opts, &o, err) < 0)
			return -1;
		int r = store_open(&o, &e->store, err);
		store_opts_clear(&o);
		if (r < 0)
			return -1;
	}
	*ret = e->store;
	return 0;
}

static int cmd_runtime(struct engine *e, int argc, char **argv)
{
	(void)e;
	argv[0] = (char *)"hull-runtime";
	return runtime_cli_main(argc, argv);
}

static int cmd_version(struct engine *e, int argc, char **argv)
{
	(void)e;
	(void)argc;
	(void)argv;
	printf("hull version %s\n", HULL_VERSION);
	return 0;
}

static int group(const char *prog, const struct cli_command *table, struct engine *e, int argc, char **argv);

static int cmd_image(struct engine *e, int argc, char **argv)
{
	return group("hull image", image_subcommands, e, argc, argv);
}

static int cmd_system(struct engine *e, int argc, char **argv)
{
	return group("hull system", system_subcommands, e, argc, argv);
}

static const struct cli_command base_commands[] = {
	{ "image", cmd_image, "manage images (hull image --help)" },
	{ "system", cmd_system, "check and report on the store (hull system --help)" },
	{ "runtime", cmd_runtime, "the OCI runtime with runc's command line (also installed as hull-runtime)" },
	{ "version", cmd_version, "print the version" },
	{ 0 },
};

static const struct cli_command *const tables[] = { image_commands, base_commands };

static void list_commands(const struct cli_command *t)
{
	for (; t->name; t++)
		printf("  %-10s %s\n", t->name, t->help);
}

static int group(const char *prog, const struct cli_command *table, struct engine *e, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("Usage: %s COMMAND [OPTIONS]\n\nCommands:\n", prog);
		list_commands(table);
		printf("\nRun '%s COMMAND --help' for a command's options.\n", prog);
		return argc < 2 ? EXIT_ENGINE : 0;
	}
	for (const struct cli_command *c = table; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->fn(e, argc - 1, argv + 1);
	fprintf(stderr, "Error: unknown command '%s' for '%s' (see '%s --help')\n", argv[1], prog, prog);
	return EXIT_ENGINE;
}

static void usage(const struct opt *g)
{
	printf("Usage: hull [OPTIONS] COMMAND [ARGS]\n\n"
	       "hull runs containers without a daemon.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		list_commands(tables[i]);
	printf("\nOptions:\n");
	for (const struct opt *o = g; o->name; o++) {
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-26s %s\n", left, o->help);
	}
	printf("  %-26s %s\n  %-26s %s\n", "-v, --version", "print the version", "-h, --help", "show this help");
	printf("\nRun 'hull COMMAND --help' for a command's options.\n");
}

/* Whether -h/--help comes among the global options (before the command),
 * stepping over the values of options that take one. */
static bool global_help(const struct opt *g, int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
		const char *name = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		if (strchr(name, '='))
			continue;
		for (const struct opt *o = g; o->name; o++)
			if (strcmp(o->name, name) == 0 && o->kind != OPT_FLAG) {
				i++;
				break;
			}
	}
	return false;
}

int hull_main(int argc, char **argv)
{
	if (argc > 0 && strcmp(base_name(argv[0]), "hull-runtime") == 0)
		return runtime_cli_main(argc, argv);
	log_set_program("hull");
	struct engine e = { 0 };
	const char *log_level = NULL;
	bool version = false;
	struct opt g[] = {
		{ "root", 0, OPT_STRING, &e.opts.root, "storage root (default /var/lib/hull)", "DIR" },
		{ "runroot", 0, OPT_STRING, &e.opts.runroot, "run-time state root (default /run/hull)", "DIR" },
		{ "storage-driver", 0, OPT_STRING, &e.opts.driver, "overlay or vfs", "NAME" },
		{ "log-level", 0, OPT_STRING, &log_level, "error, warn, info or debug", "LEVEL" },
		{ "debug", 'D', OPT_FLAG, &e.debug, "log debug messages", NULL },
		{ "version", 'v', OPT_FLAG, &version, "print the version", NULL },
		{ 0 },
	};
	if (global_help(g, argc, argv)) {
		usage(g);
		return 0;
	}
	int pos = 1;
	int pr = opt_parse("hull", "[OPTIONS] COMMAND", g, argc, argv, &pos);
	if (pr != 0)
		return pr > 0 ? 0 : EXIT_ENGINE;
	if (version)
		return cmd_version(&e, 0, NULL);
	if (e.debug || (log_level && strcmp(log_level, "debug") == 0))
		log_set_debug(true);
	if (pos >= argc) {
		usage(g);
		return EXIT_ENGINE;
	}
	if (strcmp(argv[pos], "help") == 0) {
		usage(g);
		return 0;
	}
	int code = -1;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && code < 0; i++)
		for (const struct cli_command *c = tables[i]; c->name; c++)
			if (strcmp(c->name, argv[pos]) == 0) {
				code = c->fn(&e, argc - pos, argv + pos);
				break;
			}
	if (code < 0) {
		fprintf(stderr, "Error: unknown command '%s' (see 'hull --help')\n", argv[pos]);
		code = EXIT_ENGINE;
	}
	if (e.store)
		store_close(e.store);
	return code;
}
