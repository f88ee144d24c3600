#!/usr/bin/env bats
# hull-runtime under containerd: a private containerd (its own root, state
# and socket under $BATS_FILE_TMPDIR, no CRI plugin), a busybox OCI image
# made by hand (fixtures/mkociimage.sh) and imported with ctr, then
# containerd-shim-runc-v2 driving hull-runtime through `--runc-binary`:
# run, exit codes, run -d, exec, ps, pause/resume, kill, delete, and errors.

load helpers

NS=hulltest
IMAGE=docker.io/library/hullbusybox:test

ctd_dir() { echo "$BATS_FILE_TMPDIR/ctd"; }

setup_file() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || return 0
	command -v containerd-shim-runc-v2 >/dev/null || return 0
	[ "$(id -u)" -eq 0 ] || return 0
	local d
	d=$(ctd_dir)
	mkdir -p "$d"
	# whether /run/containerd is ours to remove afterwards (ctr and the
	# shim put fifos and sockets there whatever the config says)
	[ -e /run/containerd ] || touch "$d/made-run-containerd"
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  level = "info"
EOF
	# fd 3 closed: bats waits for it otherwise
	containerd --config "$d/config.toml" </dev/null >"$d/containerd.log" 2>&1 3>&- &
	echo $! >"$d/containerd.pid"
	local i
	for i in $(seq 1 100); do
		ctr -a "$d/containerd.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	ctr -a "$d/containerd.sock" version >/dev/null 2>&1 || {
		echo "containerd did not start:" >&2
		tail -20 "$d/containerd.log" >&2
		return 1
	}
	HULL_BUILD=$HULL_BUILD "$BATS_TEST_DIRNAME/mkbundle.sh" "$d/bundle" true >/dev/null
	"$BATS_TEST_DIRNAME/fixtures/mkociimage.sh" "$d/bundle/rootfs" "$d/image.tar" "$IMAGE"
	ctr -a "$d/containerd.sock" -n "$NS" image import "$d/image.tar" >"$d/import.log" 2>&1 || {
		cat "$d/import.log" >&2
		return 1
	}
	touch "$d/ready"
}

teardown_file() {
	local d pid t made_run=
	d=$(ctd_dir)
	[ -d "$d" ] || return 0
	[ -e "$d/made-run-containerd" ] && made_run=1
	if [ -S "$d/containerd.sock" ]; then
		for t in $(ctr -a "$d/containerd.sock" -n "$NS" task ls -q 2>/dev/null); do
			ctr -a "$d/containerd.sock" -n "$NS" task kill -s KILL "$t" >/dev/null 2>&1 || true
			sleep 0.2
			ctr -a "$d/containerd.sock" -n "$NS" task delete -f "$t" >/dev/null 2>&1 || true
		done
		for t in $(ctr -a "$d/containerd.sock" -n "$NS" container ls -q 2>/dev/null); do
			ctr -a "$d/containerd.sock" -n "$NS" container delete "$t" >/dev/null 2>&1 || true
		done
	fi
	if [ -f "$d/containerd.pid" ]; then
		pid=$(cat "$d/containerd.pid")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# shims of ours still alive (their command line names our socket)
	for pid in $(grep -l -s -F "$d/containerd.sock" /proc/[0-9]*/cmdline | cut -d/ -f3); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	# mounts (task rootfs) left under our directory, deepest first
	awk -v p="$d/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$d"
	# the parent cgroup containerd's default cgroupsPath (/NS/ID) left
	local c
	for c in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null
	done
	if [ -n "$made_run" ]; then
		rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null
	fi
	true
}

setup() {
	command -v containerd >/dev/null || skip "containerd is not installed"
	command -v ctr >/dev/null || skip "ctr is not installed"
	command -v containerd-shim-runc-v2 >/dev/null || skip "containerd-shim-runc-v2 is not installed"
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	CTD=$(ctd_dir)
	[ -e "$CTD/ready" ] || skip "containerd could not be started (see $CTD/containerd.log)"
	SOCK=$CTD/containerd.sock
	RUNC_ROOT=$CTD/runc
	FIFO_DIR=$CTD/fifo
	mkdir -p "$FIFO_DIR"
	setup_bundle
}

teardown() {
	local t
	for t in $(ctr -a "$SOCK" -n "$NS" task ls -q 2>/dev/null); do
		ctr -a "$SOCK" -n "$NS" task kill -s KILL "$t" >/dev/null 2>&1 || true
		sleep 0.1
		ctr -a "$SOCK" -n "$NS" task delete -f "$t" >/dev/null 2>&1 || true
	done
	for t in $(ctr -a "$SOCK" -n "$NS" container ls -q 2>/dev/null); do
		ctr -a "$SOCK" -n "$NS" container delete "$t" >/dev/null 2>&1 || true
	done
}

c() {
	timeout 60 ctr -a "$SOCK" -n "$NS" "$@"
}

# ctr run with hull-runtime as the shim's runc binary
crun() {
	c run --runc-binary "$HULL_RUNTIME" --runc-root "$RUNC_ROOT" --fifo-dir "$FIFO_DIR" "$@"
}

# ctr run -d: ctr returns at once but the task keeps ctr's stdio, so keep it
# away from bats' pipes
crun_detached() {
	crun -d "$@" </dev/null >"$BATS_TEST_TMPDIR/run-d.out" 2>&1
}

task_status() {
	c task ls | awk -v id="$1" '$1 == id { print $3 }'
}

wait_task_status() {
	local i
	for i in $(seq 1 100); do
		[ "$(task_status "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	echo "task $1 is $(task_status "$1"), not $2" >&2
	return 1
}

@test "containerd: the image was imported" {
	run c image ls -q
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$IMAGE"* ]]
}

@test "containerd: ctr run --rm --runc-binary hull-runtime prints hello" {
	local id
	id=$(cid)
	run crun --rm "$IMAGE" "$id" echo hello
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	# --rm: nothing left, in containerd or in the runtime's root
	run c container ls -q
	[[ "$output" != *"$id"* ]]
	[ ! -e "$RUNC_ROOT/$NS/$id" ]
}

@test "containerd: the process runs in the container: pid 1, the image's rootfs" {
	local id
	id=$(cid)
	run crun --rm "$IMAGE" "$id" sh -c 'echo "pid=$$"; head -1 /etc/passwd; grep -c . /proc/self/mountinfo >/dev/null && echo mounts-ok'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pid=1"* ]]
	[[ "$output" == *"root:x:0:0:root:/root:/bin/sh"* ]]
	[[ "$output" == *"mounts-ok"* ]]
}

@test "containerd: a non-zero exit code propagates through ctr run" {
	run crun --rm "$IMAGE" "$(cid)" sh -c 'exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
}

@test "containerd: run -d, task exec, task ps, task kill, task delete" {
	local id
	id=$(cid)
	crun_detached "$IMAGE" "$id" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' || {
		cat "$BATS_TEST_TMPDIR/run-d.out"
		false
	}
	wait_task_status "$id" RUNNING
	# hull-runtime's own view of it, in the root the shim gave it
	run "$HULL_RUNTIME" --root "$RUNC_ROOT/$NS" state "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .status <<<"$output")" = running ]
	local pid
	pid=$(jq -r .pid <<<"$output")
	[ "$(c task ls | awk -v id="$id" '$1 == id { print $2 }')" = "$pid" ]
	# in the cgroup containerd asked for (cgroupsPath /NS/ID)
	grep ":/$NS/$id\$" /proc/"$pid"/cgroup

	run c task exec --exec-id e1 --fifo-dir "$FIFO_DIR" "$id" sh -c 'echo exec-out; echo "pid=$$"; cat /proc/1/cmdline | tr "\0" " "'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *exec-out* ]]
	# a new process beside the init, not pid 1
	[[ "$output" == *pid=* ]]
	[ "$(grep -cx 'pid=1' <<<"$output")" = 0 ]
	[[ "$output" == *"sh -c trap"* ]]

	run c task exec --exec-id e2 --fifo-dir "$FIFO_DIR" "$id" sh -c 'exit 4'
	[ "$status" -eq 4 ]

	run c task ps "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$pid"* ]]

	run c task kill "$id" # SIGTERM: the trap exits 0
	[ "$status" -eq 0 ]
	wait_task_status "$id" STOPPED
	run c task delete "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	run c container delete "$id"
	[ "$status" -eq 0 ]
	[ ! -e "$RUNC_ROOT/$NS/$id" ]
	local d
	for d in /sys/fs/cgroup/*/"$NS/$id" /sys/fs/cgroup/"$NS/$id"; do
		[ ! -e "$d" ] || { echo "cgroup $d left behind"; false; }
	done
}

@test "containerd: task kill -s KILL stops a process that ignores SIGTERM" {
	local id
	id=$(cid)
	crun_detached "$IMAGE" "$id" sleep 60
	wait_task_status "$id" RUNNING
	run c task kill -s KILL "$id"
	[ "$status" -eq 0 ]
	wait_task_status "$id" STOPPED
	run c task delete "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	run c container delete "$id"
	[ "$status" -eq 0 ]
}

@test "containerd: task pause and resume freeze and thaw the container" {
	local id
	id=$(cid)
	crun_detached "$IMAGE" "$id" sleep 60
	wait_task_status "$id" RUNNING
	run c task pause "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_task_status "$id" PAUSED
	local pid
	pid=$(c task ls | awk -v id="$id" '$1 == id { print $2 }')
	run "$HULL_RUNTIME" --root "$RUNC_ROOT/$NS" state "$id"
	[ "$(jq -r .status <<<"$output")" = paused ]
	# the processes are frozen in the container's cgroup
	if [ "$(cgroup_version)" = v2 ]; then
		grep -qx 'frozen 1' "/sys/fs/cgroup/$NS/$id/cgroup.events"
	else
		[ "$(cat "/sys/fs/cgroup/freezer/$NS/$id/freezer.state")" = FROZEN ]
	fi
	grep -E '^State:[[:space:]]+[DS]' /proc/"$pid"/status
	run c task resume "$id"
	[ "$status" -eq 0 ]
	wait_task_status "$id" RUNNING
	run "$HULL_RUNTIME" --root "$RUNC_ROOT/$NS" state "$id"
	[ "$(jq -r .status <<<"$output")" = running ]
	kill -0 "$pid"
}

@test "containerd: a missing executable fails ctr run with the runtime's message" {
	run crun --rm "$IMAGE" "$(cid)" /no/such/binary
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/binary"* ]]
}
