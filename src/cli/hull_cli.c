/* hull_cli.c - `hull`: the engine's command line.  For now it holds the
 * runtime (`hull runtime ...`, also reached as `hull-runtime`); the image,
 * container and pod commands arrive as their subsystems land. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void usage(void)
{
	printf("Usage: hull [OPTIONS] COMMAND [ARGS]\n\n"
	       "hull runs containers without a daemon.\n\n"
	       "Commands:\n"
	       "  runtime    the OCI runtime with runc's command line (also installed as hull-runtime)\n"
	       "  version    print the version\n"
	       "\nOptions:\n"
	       "  -v, --version   print the version\n"
	       "  -h, --help      show this help\n"
	       "\nRun 'hull COMMAND --help' for a command's options.\n");
}

int hull_main(int argc, char **argv)
{
	if (argc > 0 && strcmp(base_name(argv[0]), "hull-runtime") == 0)
		return runtime_cli_main(argc, argv);
	log_set_program("hull");
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage();
		return argc < 2 ? 125 : 0;
	}
	if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("hull version %s\n", HULL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "runtime") == 0) {
		argv[1] = (char *)"hull-runtime";
		return runtime_cli_main(argc - 1, argv + 1);
	}
	log_error("unknown command '%s' (see 'hull --help')", argv[1]);
	return 125;
}
