#!/usr/bin/env bats
# linux.seccomp: the filter is installed in the container's process (checked
# from inside: /proc/self/status and the syscalls' results), actions, errno
# returns, argument conditions, flags, and config errors.

load helpers

setup() {
	setup_bundle
	# a writable rootfs, so a call the filter lets through could leave a trace
	cfg '.root.readonly = false'
}

# set_seccomp JSON: replace linux.seccomp with JSON
set_seccomp() {
	cfg --argjson s "$1" '.linux.seccomp = $s'
}

# No state and no cgroup left for container $1.
assert_nothing_left() {
	[ ! -e "$ROOT/$1" ] || { echo "state directory $ROOT/$1 left behind" >&2; return 1; }
	local d
	for d in /sys/fs/cgroup/*/hull/"$1" /sys/fs/cgroup/hull/"$1"; do
		[ ! -e "$d" ] || { echo "cgroup $d left behind" >&2; return 1; }
	done
}

@test "seccomp: no filter without linux.seccomp" {
	cfg 'del(.linux.seccomp)'
	set_args sh -c 'grep "^Seccomp:" /proc/self/status'
	run hr run --bundle "$BUNDLE" "$(cid)"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Seccomp:[[:space:]]+0 ]]
}

@test "seccomp: SCMP_ACT_ERRNO with errnoRet 38 makes mkdir fail with ENOSYS, other calls work" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}'
	set_args sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d; echo "mkdir=$?"; touch /tmp/f && echo touch-ok'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]]
	[[ "$output" == *"Function not implemented"* ]]
	[[ "$output" == *"mkdir=1"* ]]
	[[ "$output" == *"touch-ok"* ]]
	[ ! -e "$BUNDLE/rootfs/tmp/d" ]
}

@test "seccomp: errnoRet defaults to EPERM" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}'
	set_args sh -c 'mkdir /tmp/d; echo "mkdir=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"mkdir=1"* ]]
}

# A default-deny filter with an allow-list generous enough for busybox and
# for the runtime's own last steps before execve.
ALLOW_LIST='["access","arch_prctl","brk","capget","capset","chdir","close","close_range","clone","clone3",
"dup","dup2","dup3","epoll_create1","epoll_ctl","epoll_pwait","epoll_wait","execve","execveat","exit",
"exit_group","faccessat","faccessat2","fchdir","fchmod","fchown","fcntl","fstat","fstatfs","futex",
"getcwd","getdents64","getegid","geteuid","getgid","getgroups","getpgid","getpgrp","getpid","getppid",
"getpriority","getrandom","getresgid","getresuid","getrlimit","gettid","gettimeofday","getuid","ioctl",
"kill","lseek","lstat","madvise","mmap","mprotect","munmap","nanosleep","clock_nanosleep","newfstatat",
"open","openat","openat2","pipe","pipe2","poll","ppoll","prctl","pread64","prlimit64","read","readlink",
"readlinkat","readv","recvfrom","recvmsg","rseq","rt_sigaction","rt_sigprocmask","rt_sigreturn",
"rt_sigsuspend","sched_getaffinity","sched_yield","select","pselect6","sendfile","sendmsg","sendto",
"set_robust_list","set_tid_address","setgid","setgroups","setpgid","setresgid","setresuid","setsid",
"setuid","sigaltstack","stat","statfs","statx","sysinfo","tgkill","time","umask","uname","vfork","wait4",
"waitid","write","writev","clock_gettime","clock_getres","getsid","getrusage","times","alarm","pause"]'

@test "seccomp: default SCMP_ACT_ERRNO with an allow-list: listed calls work, the rest fail" {
	set_seccomp "$(jq -n -c --argjson l "$ALLOW_LIST" '{defaultAction:"SCMP_ACT_ERRNO",syscalls:[{names:$l,action:"SCMP_ACT_ALLOW"}]}')"
	set_args sh -c 'echo allowed-ok; mkdir /tmp/d; echo "mkdir=$?"; grep "^Seccomp:" /proc/self/status'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"allowed-ok"* ]]
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *"mkdir=1"* ]]
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]]
	[ ! -e "$BUNDLE/rootfs/tmp/d" ]
}

@test "seccomp: defaultErrnoRet sets the errno of the default action" {
	set_seccomp "$(jq -n -c --argjson l "$ALLOW_LIST" '{defaultAction:"SCMP_ACT_ERRNO",defaultErrnoRet:38,syscalls:[{names:$l,action:"SCMP_ACT_ALLOW"}]}')"
	set_args sh -c 'mkdir /tmp/d; echo "mkdir=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Function not implemented"* ]]
	[[ "$output" == *"mkdir=1"* ]]
}

@test "seccomp: an args condition denies kill only for the matching signal" {
	# kill(pid, sig): deny when arg1 == SIGUSR1 (10); SIGUSR2 still goes through
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":1,"value":10,"op":"SCMP_CMP_EQ"}]}]}'
	set_args sh -c 'trap "echo got-usr2" USR2; trap "echo got-usr1" USR1; kill -USR2 $$; echo "usr2=$?"; kill -USR1 $$; echo "usr1=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"got-usr2"* ]]
	[[ "$output" == *"usr2=0"* ]]
	[[ "$output" == *"usr1=1"* ]]
	[[ "$output" != *"got-usr1"* ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "seccomp: SCMP_CMP_MASKED_EQ condition on umask bits" {
	# umask(mask): deny when (mask & 0o700) == 0o700 ; 0o022 passes
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["umask"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":448,"valueTwo":448,"op":"SCMP_CMP_MASKED_EQ"}]}]}'
	set_args sh -c 'umask 022 && echo umask022-ok; sh -c "umask 0777; echo not-reached"; echo "child=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"umask022-ok"* ]]
	[[ "$output" != *"not-reached"* ]]
	[[ "$output" == *"child=159"* ]]
}

@test "seccomp: SCMP_ACT_KILL_PROCESS kills the process with SIGSYS (exit 159)" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
	set_args mkdir /tmp/d
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 159 ]
	[ ! -e "$BUNDLE/rootfs/tmp/d" ]
}

@test "seccomp: SCMP_ACT_KILL_PROCESS only kills the caller: the shell reports it and goes on" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_KILL_PROCESS"}]}'
	set_args sh -c 'mkdir /tmp/d; echo "after=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"after=159"* ]]
}

@test "seccomp: flags SECCOMP_FILTER_FLAG_LOG is accepted and the filter is active" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG"],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}'
	set_args sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d; echo "mkdir=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]]
	[[ "$output" == *"Function not implemented"* ]]
	[[ "$output" == *"mkdir=1"* ]]
}

@test "seccomp: SCMP_ACT_LOG lets the call through" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_LOG"}]}'
	set_args sh -c 'mkdir /tmp/d && echo mkdir-ok'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mkdir-ok"* ]]
}

@test "seccomp: an unknown action is a clear create error and leaves nothing behind" {
	local id
	id=$(cid)
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_BOGUS"}]}'
	run hr create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"SCMP_ACT_BOGUS"* ]]
	[[ "$output" == *"seccomp"* ]]
	run hr state "$id"
	[ "$status" -ne 0 ]
	assert_nothing_left "$id"
}

@test "seccomp: an unknown default action is a clear create error" {
	local id
	id=$(cid)
	set_seccomp '{"defaultAction":"SCMP_ACT_NOPE"}'
	run hr create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"SCMP_ACT_NOPE"* ]]
	assert_nothing_left "$id"
}

@test "seccomp: an unknown flag is a clear create error" {
	local id
	id=$(cid)
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_BOGUS"]}'
	run hr create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"SECCOMP_FILTER_FLAG_BOGUS"* ]]
	assert_nothing_left "$id"
}

@test "seccomp: unknown syscall names are skipped, the known ones in the rule still apply" {
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["hull_no_such_syscall","mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}'
	set_args sh -c 'mkdir /tmp/d; echo "mkdir=$?"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Function not implemented"* ]]
	[[ "$output" == *"mkdir=1"* ]]
}

@test "seccomp: the filter also applies to processes started with exec" {
	local id
	id=$(cid)
	set_seccomp '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}'
	set_args sleep 30
	# detached: its stdio must not be bats' pipe, or `run` waits for it
	hr run -d --bundle "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
	run hr exec "$id" sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /tmp/d; echo "mkdir=$?"'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]]
	[[ "$output" == *"Function not implemented"* ]]
	[[ "$output" == *"mkdir=1"* ]]
}
