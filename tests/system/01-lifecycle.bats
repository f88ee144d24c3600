#!/usr/bin/env bats
# The container lifecycle as runc's users drive it: spec, create, start,
# run, state, kill, delete, list, ps, pause/resume, and how failures look.

bats_require_minimum_version 1.5.0
load helpers

# ---- local helpers ----

# A host directory shared with the container at /shared (read-write).
share_dir() {
	SHARED=$BATS_TEST_TMPDIR/shared
	mkdir -p "$SHARED"
	cfg --arg s "$SHARED" '.mounts += [{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]'
}

# create ID [ARGS...]: create with the container's stdio going to a file
# (a container holding bats' output pipe would make `run` wait for it).
create_ctr() {
	local id=$1
	shift
	hr create --bundle "$BUNDLE" "$@" "$id" >"$BATS_TEST_TMPDIR/$id.out" 2>&1 </dev/null || {
		cat "$BATS_TEST_TMPDIR/$id.out" >&2
		return 1
	}
}

# wait_file PATH: wait (up to ~5 s) until PATH exists
wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $1" >&2
	return 1
}

state_field() {
	hr state "$1" | jq -r ".$2"
}

# The container's cgroup directory on the host (default cgroupsPath).
cg_dir() {
	if [ "$(cgroup_version)" = v2 ]; then
		echo "/sys/fs/cgroup/hull/$1"
	else
		echo "/sys/fs/cgroup/pids/hull/$1"
	fi
}

# no_cgroup_left ID: no hierarchy holds a directory for the container
no_cgroup_left() {
	local left
	left=$(ls -d /sys/fs/cgroup/*/hull/"$1" /sys/fs/cgroup/hull/"$1" 2>/dev/null || true)
	[ -z "$left" ] || {
		echo "cgroup left behind: $left" >&2
		return 1
	}
}

root_is_empty() {
	[ -z "$(ls -A "$ROOT")" ] || {
		echo "left under $ROOT: $(ls -A "$ROOT")" >&2
		return 1
	}
}

# A container that says when it is up and then loops, noting signals.
loop_script='trap "echo TERM >> /shared/sig; exit 0" TERM; trap "echo USR1-init >> /shared/sig" USR1; echo up > /shared/ready; while :; do sleep 0.1; done'

start_loop() {
	share_dir
	set_args sh -c "$loop_script"
	create_ctr "$1"
	hr start "$1"
	wait_file "$SHARED/ready"
}

# ---- spec, version, features ----

@test "spec writes a valid config.json and refuses to overwrite it" {
	local d=$BATS_TEST_TMPDIR/specdir
	mkdir -p "$d"
	run hr spec --bundle "$d"
	[ "$status" -eq 0 ]
	run jq -e '.ociVersion == "1.2.0" and (.process.args | length > 0) and .root.path == "rootfs"
		and ([.linux.namespaces[].type] | index("mount") != null and index("pid") != null)
		and ([.mounts[].destination] | index("/proc") != null)' "$d/config.json"
	[ "$status" -eq 0 ]
	local before
	before=$(sha256sum <"$d/config.json")
	run --separate-stderr hr spec --bundle "$d"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"config.json"*"exists"* ]]
	[ "$(sha256sum <"$d/config.json")" = "$before" ]
}

@test "--version prints the runtime and spec versions" {
	run hr --version
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^hull-runtime\ version\ [0-9]+\.[0-9]+ ]]
	[[ "$output" == *"spec: 1.2"* ]]
}

@test "features is JSON with ociVersionMin/Max" {
	run hr features
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.ociVersionMax == "1.2.0" and (.ociVersionMin | startswith("1."))'
}

# ---- create / start / state ----

@test "create leaves the process waiting; start runs it" {
	share_dir
	set_args sh -c 'echo ran > /shared/marker; exec sleep 1000'
	local id
	id=$(cid)
	create_ctr "$id"
	run hr state "$id"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = created ]
	[ "$(echo "$output" | jq -r .id)" = "$id" ]
	[ "$(echo "$output" | jq -r .bundle)" = "$(realpath "$BUNDLE")" ]
	local pid
	pid=$(echo "$output" | jq -r .pid)
	[ "$pid" -gt 1 ]
	# the init is alive, in its own pid namespace, and has not run the program
	kill -0 "$pid"
	[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]
	sleep 0.3
	[ ! -e "$SHARED/marker" ]
	[ "$(state_field "$id" status)" = created ]

	run hr start "$id"
	[ "$status" -eq 0 ]
	wait_file "$SHARED/marker"
	[ "$(cat "$SHARED/marker")" = ran ]
	[ "$(state_field "$id" status)" = running ]
	[ "$(state_field "$id" pid)" = "$pid" ]
	# a second start is refused
	run hr start "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *running* ]]

	hr kill "$id" KILL
	wait_status "$id" stopped
	[ "$(state_field "$id" pid)" = 0 ]
}

@test "a container whose process exits is stopped" {
	share_dir
	set_args sh -c 'echo done > /shared/marker'
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	wait_file "$SHARED/marker"
	wait_status "$id" stopped
}

# ---- run ----

@test "run returns the container's exit code" {
	set_args sh -c 'echo out-from-inside; exit 3'
	run hr run --bundle "$BUNDLE" "$(cid)"
	[ "$status" -eq 3 ]
	[[ "$output" == *out-from-inside* ]]
	# run removes the container afterwards
	root_is_empty
}

@test "run reports a death by signal as 128+n" {
	share_dir
	set_args sh -c 'echo up > /shared/ready; while :; do sleep 0.1; done'
	local id
	id=$(cid)
	"$HULL_RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$id" >/dev/null 2>&1 </dev/null &
	local runner=$!
	wait_file "$SHARED/ready"
	hr kill "$id" KILL
	local code=0
	wait "$runner" || code=$?
	[ "$code" -eq 137 ]
}

@test "run --detach returns at once and leaves the container running" {
	share_dir
	set_args sh -c 'echo up > /shared/ready; exec sleep 1000'
	local id
	id=$(cid)
	# (the container keeps its stdio: not through `run`, which would wait for it)
	local code=0
	timeout 10 "$HULL_RUNTIME" --root "$ROOT" run --detach --bundle "$BUNDLE" "$id" \
		>"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null || code=$?
	[ "$code" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/out"; false; }
	wait_file "$SHARED/ready"
	[ "$(state_field "$id" status)" = running ]
	kill -0 "$(state_field "$id" pid)"
}

# ---- kill ----

@test "kill by name: SIGTERM reaches the process's handler" {
	local id
	id=$(cid)
	start_loop "$id"
	run hr kill "$id" SIGTERM
	[ "$status" -eq 0 ]
	wait_status "$id" stopped
	[ "$(cat "$SHARED/sig")" = TERM ]
}

@test "kill with no signal sends SIGTERM" {
	local id
	id=$(cid)
	start_loop "$id"
	hr kill "$id"
	wait_status "$id" stopped
	[ "$(cat "$SHARED/sig")" = TERM ]
}

@test "kill by number and by short name (9, KILL)" {
	local a b
	a=$(cid a)
	b=$(cid b)
	start_loop "$a"
	rm -f "$SHARED/ready"
	create_ctr "$b"
	hr start "$b"
	wait_file "$SHARED/ready"
	run hr kill "$a" 9
	[ "$status" -eq 0 ]
	run hr kill "$b" KILL
	[ "$status" -eq 0 ]
	wait_status "$a" stopped
	wait_status "$b" stopped
	# no handler ran: it was not a TERM
	[ ! -e "$SHARED/sig" ]
	# a stopped container cannot be signalled; an unknown signal is refused
	run hr kill "$a" KILL
	[ "$status" -eq 1 ]
	run --separate-stderr hr kill "$b" SIGNOPE
	[ "$status" -eq 1 ]
	[[ "$stderr" == *SIGNOPE* ]]
}

@test "kill --all signals every process, kill only the init" {
	local id
	id=$(cid)
	start_loop "$id"
	hr exec -d "$id" sh -c 'trap "echo USR1-exec >> /shared/sig" USR1; echo up > /shared/ready2; while :; do sleep 0.1; done' \
		>/dev/null 2>&1 </dev/null
	wait_file "$SHARED/ready2"
	hr kill "$id" USR1
	wait_file "$SHARED/sig"
	sleep 0.3
	[ "$(cat "$SHARED/sig")" = USR1-init ]
	rm -f "$SHARED/sig"
	run hr kill --all "$id" USR1
	[ "$status" -eq 0 ]
	for i in $(seq 1 50); do
		[ "$(wc -l <"$SHARED/sig" 2>/dev/null || echo 0)" -ge 2 ] && break
		sleep 0.1
	done
	run sort "$SHARED/sig"
	[ "${lines[0]}" = USR1-exec ]
	[ "${lines[1]}" = USR1-init ]
	run hr kill --all "$id" KILL
	[ "$status" -eq 0 ]
	wait_status "$id" stopped
	run hr ps --format json "$id"
	[ "$output" = "[]" ]
}

# ---- delete ----

@test "delete refuses a running container without --force, removes everything with it" {
	local id
	id=$(cid)
	start_loop "$id"
	local pid
	pid=$(state_field "$id" pid)
	local cg
	cg=$(cg_dir "$id")
	[ -d "$cg" ]
	grep -qx "$pid" "$cg/cgroup.procs"

	run --separate-stderr hr delete "$id"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"$id"*running* ]]
	[ "$(state_field "$id" status)" = running ]
	kill -0 "$pid"

	run hr delete --force "$id"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$id" ]
	root_is_empty
	[ ! -e "$cg" ]
	no_cgroup_left "$id"
	# the process is gone (not even a zombie of ours)
	for i in $(seq 1 50); do
		[ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	! [ -e "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ]
	run hr state "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "delete of a created or stopped container needs no --force" {
	share_dir
	set_args sh -c 'echo ran > /shared/marker'
	local a b
	a=$(cid a)
	b=$(cid b)
	create_ctr "$a"
	local pid
	pid=$(state_field "$a" pid)
	run hr delete "$a"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$a" ]
	no_cgroup_left "$a"
	# its process never ran
	[ ! -e "$SHARED/marker" ]

	create_ctr "$b"
	hr start "$b"
	wait_status "$b" stopped
	run hr delete "$b"
	[ "$status" -eq 0 ]
	root_is_empty
	no_cgroup_left "$b"
}

@test "delete --force of a container that does not exist succeeds" {
	run hr delete --force "nosuch-$$"
	[ "$status" -eq 0 ]
}

# ---- list, ps ----

@test "list: table, json and -q" {
	set_args sleep 1000
	local a b
	a=$(cid a)
	b=$(cid b)
	create_ctr "$a"
	create_ctr "$b"
	hr start "$b"
	wait_status "$b" running

	run hr list -q
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')" ]

	run hr list --format json
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg a "$a" --arg b "$b" '
		length == 2 and
		(.[] | select(.id == $a) | .status == "created" and .pid > 0) and
		(.[] | select(.id == $b) | .status == "running" and .pid > 0)'

	run hr list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == ID*PID*STATUS*BUNDLE* ]]
	[ "${#lines[@]}" -eq 3 ]
	printf '%s\n' "${lines[@]}" | grep -E "^$a +[0-9]+ +created "
	printf '%s\n' "${lines[@]}" | grep -E "^$b +[0-9]+ +running "
}

@test "ps --format json lists the init pid" {
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	local pid
	pid=$(state_field "$id" pid)
	run hr ps --format json "$id"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --argjson p "$pid" 'type == "array" and index($p) != null'
	run hr ps "$id"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *PID* ]]
	printf '%s\n' "${lines[@]:1}" | grep -w "$pid"
}

# ---- pause / resume ----

@test "pause freezes the processes, resume thaws them" {
	share_dir
	set_args sh -c 'i=0; while :; do i=$((i+1)); echo $i > /shared/c.new; mv /shared/c.new /shared/c; sleep 0.02; done'
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	wait_file "$SHARED/c"

	run hr pause "$id"
	[ "$status" -eq 0 ]
	[ "$(state_field "$id" status)" = paused ]
	sleep 0.2
	local c1 c2
	c1=$(cat "$SHARED/c")
	sleep 0.5
	c2=$(cat "$SHARED/c")
	[ "$c1" = "$c2" ]
	# pausing twice or starting a paused container is refused
	run hr pause "$id"
	[ "$status" -eq 1 ]

	run hr resume "$id"
	[ "$status" -eq 0 ]
	[ "$(state_field "$id" status)" = running ]
	sleep 0.5
	local c3
	c3=$(cat "$SHARED/c")
	[ "$c3" -gt "$c2" ]
	run hr resume "$id"
	[ "$status" -eq 1 ]
}

@test "delete --force removes a paused container" {
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	hr pause "$id"
	[ "$(state_field "$id" status)" = paused ]
	run timeout 20 "$HULL_RUNTIME" --root "$ROOT" delete --force "$id"
	[ "$status" -eq 0 ]
	root_is_empty
	no_cgroup_left "$id"
}

# ---- errors ----

@test "an unknown id is one error line naming it" {
	local id=nosuch-$$
	for c in state start kill delete pause resume ps; do
		run --separate-stderr hr "$c" "$id"
		[ "$status" -eq 1 ] || { echo "$c: status $status"; false; }
		[ "${#stderr_lines[@]}" -eq 1 ] || { echo "$c: $stderr"; false; }
		[[ "$stderr" == *"'$id'"*"does not exist"* ]] || { echo "$c: $stderr"; false; }
	done
	root_is_empty
}

@test "a duplicate id is refused and the first container is untouched" {
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id"
	local pid
	pid=$(state_field "$id" pid)
	run --separate-stderr hr create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"'$id'"*"already exists"* ]]
	[ "$(state_field "$id" status)" = created ]
	[ "$(state_field "$id" pid)" = "$pid" ]
	[ "$(ls -A "$ROOT")" = "$id" ]
	# it still starts
	hr start "$id"
	wait_status "$id" running
}

@test "a missing bundle is one error line naming it, nothing left" {
	local id
	id=$(cid)
	run --separate-stderr hr create --bundle "$BATS_TEST_TMPDIR/no-such-bundle" "$id"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *no-such-bundle* ]]
	root_is_empty
	no_cgroup_left "$id"
	# a bundle without a rootfs
	rm -rf "$BUNDLE/rootfs"
	run --separate-stderr hr create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *rootfs* ]]
	root_is_empty
	no_cgroup_left "$id"
}

@test "an invalid id is refused before anything is made" {
	for id in "a/b" ".." "../escape-$$" "x y" ""; do
		run --separate-stderr hr create --bundle "$BUNDLE" "$id"
		[ "$status" -eq 1 ] || { echo "id '$id' accepted"; false; }
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "$stderr" == *"container id"* ]] || { echo "$stderr"; false; }
		root_is_empty
	done
	[ ! -e "$BATS_TEST_TMPDIR/escape-$$" ]
}

@test "a bad config.json is one error line naming it, nothing left" {
	local id
	id=$(cid)
	echo '{ "ociVersion": "1.2.0", "process": ' >"$BUNDLE/config.json"
	run --separate-stderr hr create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *config.json* ]]
	root_is_empty
	no_cgroup_left "$id"

	cp "$(_bundle_template)/config.json" "$BUNDLE/config.json"
	cfg '.process.user.uid = "root"'
	run --separate-stderr hr create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *process.user.uid* ]]
	root_is_empty

	rm "$BUNDLE/config.json"
	run --separate-stderr hr create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *config.json* ]]
	root_is_empty
}

@test "--log FILE --log-format json records errors as JSON lines" {
	local log=$BATS_TEST_TMPDIR/log.json
	run hr --log "$log" --log-format json state "nosuch-$$"
	[ "$status" -eq 1 ]
	[ -s "$log" ]
	jq -e --arg id "nosuch-$$" 'select(.level == "error") | .msg | contains($id)' "$log"
	# every line is a JSON object with a level and a message
	run jq -e -s 'length >= 1 and all(.[]; (.level | type) == "string" and (.msg | type) == "string")' "$log"
	[ "$status" -eq 0 ]
	# text format is plain
	local tlog=$BATS_TEST_TMPDIR/log.txt
	run hr --log "$tlog" state "nosuch-$$"
	[ "$status" -eq 1 ]
	grep -q "nosuch-$$" "$tlog"
	! jq -e . "$tlog" >/dev/null 2>&1
}

@test "create --pid-file writes the init's pid" {
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id" --pid-file "$BATS_TEST_TMPDIR/pid"
	[ -s "$BATS_TEST_TMPDIR/pid" ]
	[ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$(state_field "$id" pid)" ]
	kill -0 "$(cat "$BATS_TEST_TMPDIR/pid")"
}

@test "a missing executable fails at create and cleans up" {
	set_args no-such-program-xyz --flag
	local id
	id=$(cid)
	run --separate-stderr hr create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *no-such-program-xyz*"executable file not found"* ]]
	root_is_empty
	no_cgroup_left "$id"
	# same with an absolute path and through run
	set_args /bin/no-such-program-xyz
	run --separate-stderr hr run --bundle "$BUNDLE" "$id"
	[ "$status" -ne 0 ]
	[[ "$stderr" == */bin/no-such-program-xyz* ]]
	root_is_empty
	no_cgroup_left "$id"
}
