#!/usr/bin/env bats
# The container's process: capabilities, user, umask, env, cwd, rlimits,
# no_new_privs, OOM score, exec, and terminals through --console-socket.

bats_require_minimum_version 1.5.0
load helpers

RECVTTY_PID=

teardown() {
	if [ -n "$RECVTTY_PID" ]; then
		kill "$RECVTTY_PID" 2>/dev/null || true
		wait "$RECVTTY_PID" 2>/dev/null || true
	fi
	cleanup_all
}

# ---- local helpers ----

crun() {
	hr run --bundle "$BUNDLE" "$(cid)"
}

share_dir() {
	SHARED=$BATS_TEST_TMPDIR/shared
	mkdir -p "$SHARED"
	chmod 0777 "$SHARED"
	cfg --arg s "$SHARED" '.mounts += [{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]'
}

add_tmpfs() { # add_tmpfs DEST
	cfg --arg d "$1" '.mounts += [{"destination": $d, "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]}]'
}

wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# status_field NAME: the value of "NAME:" in /proc/self/status output in $output
status_field() {
	printf '%s\n' "${lines[@]}" | awk -v k="$1:" '$1 == k { $1 = ""; sub(/^[ \t]+/, ""); print; exit }'
}

# A running container (init: sleep) with /shared; sets ID and PID.
start_sleeper() {
	share_dir
	set_args sleep 1000
	ID=$(cid)
	hr create --bundle "$BUNDLE" "$@" "$ID" >"$BATS_TEST_TMPDIR/ctr.out" 2>&1 </dev/null || {
		cat "$BATS_TEST_TMPDIR/ctr.out" >&2
		return 1
	}
	hr start "$ID"
	PID=$(hr state "$ID" | jq -r .pid)
}

# The console-socket receiver: the build's, or compiled here.
need_recvtty() {
	RECVTTY=$HULL_BUILD/hull-test-recvtty
	if [ ! -x "$RECVTTY" ]; then
		RECVTTY=$BATS_FILE_TMPDIR/recvtty
		if [ ! -x "$RECVTTY" ]; then
			command -v cc >/dev/null || skip "no hull-test-recvtty and no C compiler"
			cc -O2 -o "$RECVTTY" "$BATS_TEST_DIRNAME/../helpers/recvtty.c" || skip "cannot build recvtty"
		fi
	fi
}

# start_recvtty SOCK OUT [INPUT-FILE]
start_recvtty() {
	"$RECVTTY" "$1" --out "$2" <"${3:-/dev/null}" 2>"$2.err" &
	RECVTTY_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	echo "recvtty did not listen on $1: $(cat "$2.err")" >&2
	return 1
}

# wait until recvtty has seen EOF on the pty (up to ~10 s); fails if not
wait_recvtty() {
	local i
	for i in $(seq 1 200); do
		kill -0 "$RECVTTY_PID" 2>/dev/null || break
		sleep 0.05
	done
	local code=0
	wait "$RECVTTY_PID" || code=$?
	RECVTTY_PID=
	[ "$code" -eq 0 ]
}

# ---- capabilities ----

@test "capabilities: all five sets for a non-root user (ambient raises it)" {
	cfg '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {
			"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"ambient": ["CAP_NET_BIND_SERVICE"]}'
	# with the ambient cap, uid 1000 may bind port 80
	set_args sh -c 'grep ^Cap /proc/self/status; id -u; (sleep 0.3; echo via-port-80 | nc -w 2 127.0.0.1 80) | nc -l -p 80'
	run crun
	[ "$status" -eq 0 ]
	# CAP_CHOWN = bit 0, CAP_KILL = bit 5, CAP_NET_BIND_SERVICE = bit 10
	[ "$(status_field CapBnd)" = 0000000000000421 ]
	[ "$(status_field CapInh)" = 0000000000000420 ]
	[ "$(status_field CapAmb)" = 0000000000000400 ]
	# after execve a non-root process keeps exactly its ambient set
	[ "$(status_field CapPrm)" = 0000000000000400 ]
	[ "$(status_field CapEff)" = 0000000000000400 ]
	[ "${lines[5]}" = 1000 ]
	[[ "$output" == *via-port-80* ]]
}

@test "capabilities: without the ambient cap a non-root user cannot bind port 80" {
	cfg '.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": [], "ambient": []}'
	set_args sh -c 'grep ^CapEff /proc/self/status; (sleep 0.3; echo via-port-80 | nc -w 2 127.0.0.1 80) | nc -l -p 80'
	run crun
	[ "$(status_field CapEff)" = 0000000000000000 ]
	[[ "$output" != *via-port-80* ]]
	[[ "$output" == *"Permission denied"* ]]
}

@test "capabilities: root gets its bounding set, and nothing more" {
	add_tmpfs /scratch
	cfg '.process.noNewPrivileges = false
		| .process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"],
			"permitted": ["CAP_CHOWN", "CAP_KILL"]}'
	set_args sh -c 'grep ^Cap /proc/self/status; touch /scratch/f && chown 1234 /scratch/f && stat -c owner=%u /scratch/f; hostname not-allowed || echo hostname-refused'
	run crun
	[ "$(status_field CapBnd)" = 0000000000000021 ]
	[ "$(status_field CapEff)" = 0000000000000021 ]
	[ "$(status_field CapPrm)" = 0000000000000021 ]
	[ "$(status_field CapInh)" = 0000000000000000 ]
	[ "$(status_field CapAmb)" = 0000000000000000 ]
	[[ "$output" == *owner=1234* ]]
	# CAP_SYS_ADMIN is not among them
	[[ "$output" == *hostname-refused* ]]
}

@test "capabilities: an unknown name is refused at create" {
	cfg '.process.capabilities.bounding += ["CAP_NOT_A_CAP"]'
	run --separate-stderr crun
	[ "$status" -eq 1 ]
	[[ "$stderr" == *CAP_NOT_A_CAP* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

# ---- user ----

@test "user: uid, gid and additionalGids" {
	cfg '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [2000, 2001]}'
	set_args sh -c 'grep -E "^(Uid|Gid|Groups):" /proc/self/status; id -u; id -g'
	run crun
	[ "$status" -eq 0 ]
	[ "$(status_field Uid | tr -s '\t ' ' ')" = "1000 1000 1000 1000" ]
	[ "$(status_field Gid | tr -s '\t ' ' ')" = "1001 1001 1001 1001" ]
	[ "$(status_field Groups | xargs)" = "2000 2001" ]
	[ "${lines[3]}" = 1000 ]
	[ "${lines[4]}" = 1001 ]
}

@test "user: no additionalGids means no supplementary groups" {
	cfg '.process.user = {"uid": 0, "gid": 0}'
	set_args sh -c 'grep ^Groups: /proc/self/status'
	run crun
	[ "$status" -eq 0 ]
	[ -z "$(status_field Groups | xargs)" ]
}

@test "user: umask" {
	add_tmpfs /scratch
	cfg '.process.user.umask = 23'
	set_args sh -c 'umask; touch /scratch/f; mkdir /scratch/d; stat -c %a /scratch/f /scratch/d'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0027 ]
	[ "${lines[1]}" = 640 ]
	[ "${lines[2]}" = 750 ]
}

# ---- env and cwd ----

@test "env is exactly the configured one" {
	export HULLTEST_LEAK=from-the-host
	cfg '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="]'
	set_args sh -c 'echo "FOO=[$FOO] EMPTY=[${EMPTY-unset}]"; env'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "FOO=[bar baz] EMPTY=[]" ]
	[[ "$output" != *HULLTEST_LEAK* ]]
}

@test "cwd: an existing directory, and a missing one is created" {
	cfg '.process.cwd = "/etc"'
	set_args pwd
	run crun
	[ "$status" -eq 0 ]
	[ "$output" = /etc ]

	add_tmpfs /scratch
	cfg '.process.cwd = "/scratch/a/b"'
	set_args sh -c 'pwd; [ -d /scratch/a/b ] && echo made'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = /scratch/a/b ]
	[ "${lines[1]}" = made ]
}

@test "cwd: missing on a writable rootfs is created in it" {
	cfg '.root.readonly = false | .process.cwd = "/new/work/dir"'
	set_args pwd
	run crun
	[ "$status" -eq 0 ]
	[ "$output" = /new/work/dir ]
	[ -d "$BUNDLE/rootfs/new/work/dir" ]
}

# ---- rlimits ----

@test "rlimits: lowering RLIMIT_NOFILE" {
	cfg '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]'
	set_args sh -c 'ulimit -n; ulimit -Hn; grep "Max open files" /proc/self/limits'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 100 ]
	[ "${lines[1]}" = 200 ]
	[ "$(echo "${lines[2]}" | tr -s ' ')" = "Max open files 100 200 files " ]
}

@test "rlimits: raising the hard limit without CAP_SYS_RESOURCE fails naming it" {
	local capeff hard
	capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	if (((0x$capeff >> 24) & 1)); then
		skip "this host has CAP_SYS_RESOURCE: raising limits is allowed"
	fi
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "no hard limit on open files here"
	local want=$((hard + 1000))
	cfg --argjson h "$want" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": $h, "hard": $h}]'
	set_args true
	run --separate-stderr crun
	[ "$status" -eq 1 ]
	[[ "$stderr" == *RLIMIT_NOFILE* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

# ---- no_new_privs, OOM score ----

@test "noNewPrivileges sets NoNewPrivs" {
	set_args sh -c 'grep ^NoNewPrivs: /proc/self/status'
	cfg '.process.noNewPrivileges = true'
	run crun
	[ "$status" -eq 0 ]
	[ "$(status_field NoNewPrivs)" = 1 ]
	cfg '.process.noNewPrivileges = false'
	run crun
	[ "$status" -eq 0 ]
	[ "$(status_field NoNewPrivs)" = 0 ]
}

@test "oomScoreAdj" {
	cfg '.process.oomScoreAdj = 567'
	set_args cat /proc/self/oom_score_adj
	run crun
	[ "$status" -eq 0 ]
	[ "$output" = 567 ]
}

# ---- exec ----

@test "exec runs in the container's namespaces and sees its init as pid 1" {
	start_sleeper
	run hr exec "$ID" sh -c 'for n in pid net ipc uts mnt cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done; echo "pid1=$(tr "\0" " " < /proc/1/cmdline)"; echo "me=$$"'
	[ "$status" -eq 0 ]
	local n i=0
	for n in pid net ipc uts mnt cgroup; do
		[ "${lines[$i]}" = "$n $(readlink "/proc/$PID/ns/$n")" ] || { echo "differs: ${lines[$i]}"; false; }
		i=$((i + 1))
	done
	[ "${lines[6]}" = "pid1=sleep 1000 " ]
	[ "${lines[7]#me=}" -gt 1 ]
	[ "${lines[7]#me=}" -lt 100 ]
}

@test "exec passes the exit code on" {
	start_sleeper
	run hr exec "$ID" sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run hr exec "$ID" true
	[ "$status" -eq 0 ]
	local code=0
	hr exec "$ID" no-such-program-xyz >/dev/null 2>"$BATS_TEST_TMPDIR/err" || code=$?
	[ "$code" -ne 0 ]
	grep -q "no-such-program-xyz.*executable file not found" "$BATS_TEST_TMPDIR/err"
}

@test "exec --env, --cwd, --user" {
	start_sleeper
	run hr exec --env A=b -e C=d --cwd /etc --user 1000:1001 "$ID" sh -c 'echo "$A $C $(pwd) $(id -u):$(id -g) $PATH"'
	[ "$status" -eq 0 ]
	# PATH comes from the container's process
	[ "$output" = "b d /etc 1000:1001 /bin" ]
}

@test "exec --process FILE" {
	start_sleeper
	cat >"$BATS_TEST_TMPDIR/process.json" <<-'EOF'
		{
			"args": ["sh", "-c", "echo $X $(pwd) $(id -u):$(id -g); grep ^NoNewPrivs: /proc/self/status"],
			"env": ["PATH=/bin", "X=from-file"],
			"cwd": "/bin",
			"user": {"uid": 1234, "gid": 4321},
			"noNewPrivileges": true
		}
	EOF
	run hr exec --process "$BATS_TEST_TMPDIR/process.json" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "from-file /bin 1234:4321" ]
	[ "$(status_field NoNewPrivs)" = 1 ]
}

@test "exec --detach --pid-file" {
	start_sleeper
	local code=0
	timeout 10 "$HULL_RUNTIME" --root "$ROOT" exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" \
		sh -c 'echo up > /shared/ready; exec sleep 999' >/dev/null 2>&1 </dev/null || code=$?
	[ "$code" -eq 0 ]
	wait_file "$SHARED/ready"
	local epid
	epid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
	[ "$epid" -gt 0 ]
	kill -0 "$epid"
	[ "$(tr '\0' ' ' <"/proc/$epid/cmdline")" = "sleep 999 " ]
	[ "$(readlink "/proc/$epid/ns/pid")" = "$(readlink "/proc/$PID/ns/pid")" ]
	[ "$(readlink "/proc/$epid/ns/mnt")" = "$(readlink "/proc/$PID/ns/mnt")" ]
	# in the container's cgroup, so ps and delete find it
	run hr ps --format json "$ID"
	echo "$output" | jq -e --argjson p "$epid" 'index($p) != null'
	hr delete --force "$ID"
	for i in $(seq 1 50); do
		[ -e "/proc/$epid" ] && [ "$(awk '{print $3}' "/proc/$epid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	! [ -e "/proc/$epid" ] || [ "$(awk '{print $3}' "/proc/$epid/stat")" = Z ]
}

@test "exec into a created container works, into a stopped one fails clearly" {
	share_dir
	set_args sh -c 'echo ran > /shared/marker'
	local id
	id=$(cid)
	hr create --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/ctr.out" 2>&1 </dev/null
	run hr exec "$id" sh -c 'echo exec-in-created; cat /proc/1/cmdline | tr "\0" " "'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = exec-in-created ]
	# the init has not run the program yet
	[ ! -e "$SHARED/marker" ]
	hr start "$id"
	wait_status "$id" stopped
	[ -e "$SHARED/marker" ]
	run --separate-stderr hr exec "$id" true
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"$id"*stopped* ]]
}

@test "exec into an unknown container says it does not exist" {
	run --separate-stderr hr exec "nosuch-$$" true
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"nosuch-$$"*"does not exist"* ]]
}

# ---- terminals ----

@test "terminal: create --console-socket hands the pty over" {
	need_recvtty
	local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/tty.out
	echo typed-in >"$BATS_TEST_TMPDIR/input"
	cfg '.process.terminal = true'
	set_args sh -c 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; read line; echo "got:$line"'
	start_recvtty "$sock" "$out" "$BATS_TEST_TMPDIR/input"
	local id
	id=$(cid)
	run hr create --console-socket "$sock" --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	hr start "$id"
	wait_recvtty
	run tr -d '\r' <"$out"
	[[ "${lines[*]}" =~ /dev/pts/[0-9]+ ]]
	[[ "$output" == *all-ttys* ]]
	[[ "$output" == *got:typed-in* ]]
	wait_status "$id" stopped
}

@test "terminal: true without --console-socket is refused at create" {
	cfg '.process.terminal = true'
	run --separate-stderr hr create --bundle "$BUNDLE" "$(cid)"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *console-socket* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "terminal: exec -t --console-socket" {
	need_recvtty
	start_sleeper
	local sock=$BATS_TEST_TMPDIR/console.sock out=$BATS_TEST_TMPDIR/tty.out
	start_recvtty "$sock" "$out"
	run hr exec -t --console-socket "$sock" "$ID" sh -c 'tty; [ -t 1 ] && echo out-is-tty; exit 5'
	[ "$status" -eq 5 ]
	wait_recvtty
	run tr -d '\r' <"$out"
	[[ "${lines[0]}" =~ ^/dev/pts/[0-9]+$ ]]
	[ "${lines[1]}" = out-is-tty ]
}

@test "terminal: exec -t without a socket proxies the pty" {
	start_sleeper
	run timeout 10 "$HULL_RUNTIME" --root "$ROOT" exec -t "$ID" sh -c 'tty; exit 4' </dev/null
	[ "$status" -eq 4 ]
	[[ "$(echo "$output" | tr -d '\r')" =~ /dev/pts/[0-9]+ ]]
}
