/* cli.h - command-line front ends over the library. */
#ifndef HULL_CLI_CLI_H
#define HULL_CLI_CLI_H

#include <stdbool.h>

/* The entry point: dispatches on argv[0] ("hull-runtime") or the command. */
int hull_main(int argc, char **argv);

/* `hull-runtime ...` / `hull runtime ...`: runc's command line.
 * argv[0] is the program name.  Returns the exit code. */
int runtime_cli_main(int argc, char **argv);

/* ---- a tiny option parser shared by the front ends ----
 * Accepts "--name value", "--name=value", "-name value" (as runc's CLI
 * library does), "-x value", and bundles of short flags "-dt".  Parsing
 * stops at the first non-option argument or at "--". */
enum opt_kind { OPT_FLAG, OPT_STRING, OPT_INT, OPT_STRV };

struct opt {
	const char *name; /* long name */
	char short_name;  /* 0 if none */
	enum opt_kind kind;
	void *target;     /* bool*, const char**, int*, or struct strv_acc* */
	const char *help; /* one line for --help */
	const char *arg;  /* name of the value in --help */
};

struct strv_acc {
	char **v;
	int n;
};

/* Parse options from argv[*pos...]; on return *pos is the first operand.
 * Returns 0, 1 when --help was given (usage printed), or -1 on an error
 * (message printed). */
int opt_parse(const char *prog, const char *usage, const struct opt *opts, int argc, char **argv, int *pos);
void opt_usage(const char *prog, const char *usage, const struct opt *opts);
void strv_acc_free(struct strv_acc *a);

#endif
