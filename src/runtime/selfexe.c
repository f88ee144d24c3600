/* selfexe.c - run from a sealed memfd copy of our own binary.
 *
 * A process in a container that can reach the runtime through
 * /proc/PID/exe (for instance while `exec` joins the container) could open
 * hull's binary on the host and overwrite it (CVE-2019-5736).  Before any
 * command that enters a container, hull copies itself into a memfd, seals
 * it against every write, and re-executes from it; /proc/PID/exe then names
 * that memfd, which nothing can change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool self_is_sealed(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

int rt_ensure_sealed_self(int argc, char **argv, hull_error **err)
{
	(void)argc;
	if (getenv("HULL_NO_SELF_SEAL") && strcmp(getenv("HULL_NO_SELF_SEAL"), "i-know-this-is-unsafe") == 0)
		return 0;
	if (self_is_sealed())
		return 0;
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return hull_error_set(err, errno, "open '/proc/self/exe'");
	_cleanup_close_ int mfd = memfd_create("hull", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return hull_error_set(err, errno, "memfd_create for a sealed copy of hull");
	int r = fs_copy_fd(self, mfd);
	if (r < 0)
		return hull_error_set(err, -r, "copy hull into a memfd");
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		return hull_error_set(err, errno, "seal the memfd copy of hull");
	extern char **environ;
	fexecve(mfd, argv, environ);
	return hull_error_set(err, errno, "re-execute hull from its sealed copy");
}
