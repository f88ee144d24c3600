/* hull - the entry point.  Invoked as "hull-runtime" (argv[0]) it is the OCI
 * runtime with runc's command line; otherwise the engine CLI. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return hull_main(argc, argv);
}
