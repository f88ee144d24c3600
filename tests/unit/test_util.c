/* Unit tests for src/util: errors, in-root path resolution, files, procs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/proc.h"

static char tmpdir[256];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hull-test-util-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown_tmp(void **state)
{
	(void)state;
	fs_rm_rf(tmpdir);
	return 0;
}

static void test_error_set_and_wrap(void **state)
{
	(void)state;
	hull_error *e = NULL;
	assert_int_equal(hull_error_set(&e, ENOENT, "open '%s'", "/x"), -1);
	assert_string_equal(e->msg, "open '/x': no such file or directory");
	assert_int_equal(e->status, ENOENT);
	/* a second set does not overwrite the first cause */
	hull_error_set(&e, EPERM, "other");
	assert_string_equal(e->msg, "open '/x': no such file or directory");
	hull_error_wrap(&e, "create container '%s'", "c1");
	assert_string_equal(e->msg, "create container 'c1': open '/x': no such file or directory");
	hull_error_free(e);
	e = NULL;
	hull_error_wrap(&e, "plain %d", 3);
	assert_string_equal(e->msg, "plain 3");
	hull_error_clear(&e);
	assert_null(e);
}

/* Build root/ with links that try to leave it, and a file outside. */
static int make_tree(char *root, size_t n)
{
	snprintf(root, n, "%s/root", tmpdir);
	char p[512];
	mkdir(root, 0755);
	snprintf(p, sizeof(p), "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/inside", root);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof(p), "%s/outside", tmpdir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	snprintf(p, sizeof(p), "%s/abs", root);
	if (symlink("/", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/up", root);
	if (symlink("../../../..", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/etc/rel", root);
	if (symlink("../etc/inside", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/loop", root);
	if (symlink("loop", p) < 0)
		return -1;
	return 0;
}

static void test_open_in_root(void **state)
{
	(void)state;
	char root[300];
	assert_int_equal(make_tree(root, sizeof(root)), 0);
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rfd >= 0);

	int fd = fs_open_in_root(rfd, "/etc/inside", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = fs_open_in_root(rfd, "etc/rel", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	/* "/abs/outside" must resolve to root/outside (missing), not tmpdir/outside */
	assert_int_equal(fs_open_in_root(rfd, "/abs/outside", O_RDONLY, 0), -ENOENT);
	/* ".." cannot climb above the root */
	assert_int_equal(fs_open_in_root(rfd, "../outside", O_RDONLY, 0), -ENOENT);
	assert_int_equal(fs_open_in_root(rfd, "/up/outside", O_RDONLY, 0), -ENOENT);
	fd = fs_open_in_root(rfd, "/up/etc/inside", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fs_open_in_root(rfd, "/loop", O_RDONLY, 0), -ELOOP);
}

static void test_mkdir_and_ensure_in_root(void **state)
{
	(void)state;
	char root[300], p[512];
	assert_int_equal(make_tree(root, sizeof(root)), 0);
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* a directory made through an escaping link lands inside the root */
	int fd = fs_mkdir_p_in_root(rfd, "/abs/made/deep", 0755);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/made/deep", root);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_not_equal(stat("/made", &st), 0);
	fd = fs_ensure_in_root(rfd, "/up/newfile", false);
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/newfile", root);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	snprintf(p, sizeof(p), "%s/newfile", tmpdir);
	assert_int_not_equal(stat(p, &st), 0);
}

static void test_files(void **state)
{
	(void)state;
	char p[512];
	snprintf(p, sizeof(p), "%s/data", tmpdir);
	assert_int_equal(fs_write_file_atomic(p, "hello", 5, 0600, true), 0);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	assert_int_equal(fs_read_file_at(AT_FDCWD, p, 100, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	char *big = NULL;
	assert_int_equal(fs_read_file_at(AT_FDCWD, p, 4, &big, NULL), 0 - EFBIG);
	/* max below the first chunk is still enforced */
	assert_null(big);
	snprintf(p, sizeof(p), "%s/a/b/c", tmpdir);
	assert_int_equal(fs_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/a", tmpdir);
	assert_int_equal(fs_rm_rf(p), 0);
	struct stat st;
	assert_int_not_equal(stat(p, &st), 0);
	assert_int_equal(fs_rm_rf(p), 0);
}

static void test_proc(void **state)
{
	(void)state;
	uint64_t start = 0;
	char st = 0;
	assert_int_equal(proc_stat(getpid(), &start, &st), 0);
	assert_true(start > 0);
	assert_true(proc_alive(getpid(), start));
	assert_false(proc_alive(getpid(), start + 1));
	pid_t c = fork();
	if (c == 0)
		_exit(7);
	assert_int_equal(proc_wait_exit_code(c), 7);
	c = fork();
	if (c == 0) {
		raise(9);
		_exit(0);
	}
	assert_int_equal(proc_wait_exit_code(c), 137);
	char *env[] = { (char *)"A=1", (char *)"PATH=/bin", NULL };
	assert_string_equal(strv_env_get(env, "PATH"), "/bin");
	assert_null(strv_env_get(env, "PAT"));
	int64_t v;
	assert_int_equal(parse_int64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_int64("4x", 0, 100, &v), -EINVAL);
}

static void test_fd_passing(void **state)
{
	(void)state;
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proc_send_fd(sp[0], p[1], "/dev/pts/9"), 0);
	int got = proc_recv_fd(sp[1]);
	assert_true(got >= 0);
	assert_int_equal(write(got, "x", 1), 1);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(got);
	close(p[0]);
	close(p[1]);
	close(sp[0]);
	close(sp[1]);
}

static void test_opt_parse(void **state)
{
	(void)state;
	const char *bundle = NULL;
	bool detach = false, tty = false;
	int n = 0;
	struct strv_acc env = { 0 };
	struct opt opts[] = {
		{ "bundle", 'b', OPT_STRING, &bundle, "b", "DIR" },
		{ "detach", 'd', OPT_FLAG, &detach, "d", NULL },
		{ "tty", 't', OPT_FLAG, &tty, "t", NULL },
		{ "preserve-fds", 0, OPT_INT, &n, "n", "N" },
		{ "env", 'e', OPT_STRV, &env, "e", "E" },
		{ 0 },
	};
	char *argv[] = { (char *)"run", (char *)"-bundle", (char *)"/b", (char *)"-dt", (char *)"--preserve-fds=2",
			 (char *)"-e", (char *)"A=1", (char *)"--env", (char *)"B=2", (char *)"id", (char *)"-x", NULL };
	int pos = 1;
	assert_int_equal(opt_parse("t", "u", opts, 11, argv, &pos), 0);
	assert_string_equal(bundle, "/b");
	assert_true(detach);
	assert_true(tty);
	assert_int_equal(n, 2);
	assert_int_equal(env.n, 2);
	assert_string_equal(env.v[1], "B=2");
	assert_int_equal(pos, 9);
	strv_acc_free(&env);
	char *bad[] = { (char *)"run", (char *)"--nope", NULL };
	pos = 1;
	assert_int_equal(opt_parse("t", "u", opts, 2, bad, &pos), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_set_and_wrap),
		cmocka_unit_test_setup_teardown(test_open_in_root, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_mkdir_and_ensure_in_root, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_files, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_proc),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_opt_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
