#!/usr/bin/env bats
# OCI hooks: the six kinds, their order over create/start/delete, where they
# run (runtime vs container namespaces), what they receive (args, env, the
# state on stdin), and failures (exit status, timeout, poststart warnings).
#
# fixtures/hook.sh appends "KIND STATUS" plus details to a log.  The log
# directory is bind-mounted at /hooklog so the startContainer hook, which
# runs inside the container after pivot_root, writes to the same file.

load helpers

HOOK_SH=$BATS_TEST_DIRNAME/fixtures/hook.sh
HOOK_PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

setup() {
	setup_bundle
	LOGDIR=$BATS_TEST_TMPDIR/hooklog
	LOG=$LOGDIR/log
	mkdir -p "$LOGDIR"
	: >"$LOG"
	# the copy the startContainer hook runs: its path resolves in the rootfs
	cp "$HOOK_SH" "$BUNDLE/rootfs/hook-in-container.sh"
	chmod 755 "$BUNDLE/rootfs/hook-in-container.sh"
	mkdir -p "$BUNDLE/rootfs/hooklog"
	cfg --arg src "$LOGDIR" '.hostname = "hooktest"
		| .mounts += [{destination: "/hooklog", type: "bind", source: $src, options: ["rbind", "rw"]}]'
}

# add_hook KIND [JQ-EXPR-FOR-EXTRA-FIELDS] [ARG...]: append a fixtures/hook.sh
# hook of KIND logging to $LOG (to /hooklog/log for startContainer, from
# /hook-in-container.sh), with HOOK_VAR=v-KIND in its env.  The extra jq
# expression (default {}) is merged into the hook, e.g. '{timeout: 1}' or
# '{env: [...]}'.
add_hook() {
	local kind=$1 extra=${2:-"{}"}
	shift 2 || shift $#
	local path=$HOOK_SH log=$LOG
	if [ "$kind" = startContainer ]; then
		path=/hook-in-container.sh
		log=/hooklog/log
	fi
	local args
	args=$(for a in "$@"; do printf '%s\n' "$a"; done | jq -R . | jq -s -c .)
	cfg --arg k "$kind" --arg p "$path" --arg l "$log" --arg pe "$HOOK_PATH_ENV" --argjson a "$args" \
		".hooks[\$k] += [{path: \$p, args: ([\"hook.sh\", \$l, \$k] + \$a), env: [\$pe, \"HOOK_VAR=v-\" + \$k]} + ($extra)]"
}

# kinds logged so far, in order, one per line
logged_kinds() {
	grep -E '^(prestart|createRuntime|createContainer|startContainer|poststart|poststop) ' "$LOG" | cut -d' ' -f1
}

# the line "WHAT KIND ..." of the log, without the first two words
logged() {
	sed -n "s/^$1 $2 //p" "$LOG" | head -1
}

# wait until FILE exists and is not empty (up to ~5 s)
wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	echo "$1 did not appear" >&2
	return 1
}

# hr_out ARGS...: like `run hr ARGS...` ($status, $output) but with stdio on
# a fresh file: a created container keeps the stdio `create` had, so bats'
# `run` would wait for the container to exit.
hr_out() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/hr.XXXXXX")
	status=0
	hr "$@" </dev/null >"$f" 2>&1 || status=$?
	output=$(cat "$f")
}

assert_nothing_left() {
	local id=$1 d
	[ ! -e "$ROOT/$id" ] || { echo "state directory $ROOT/$id left behind" >&2; return 1; }
	for d in /sys/fs/cgroup/*/hull/"$id" /sys/fs/cgroup/hull/"$id"; do
		[ ! -e "$d" ] || { echo "cgroup $d left behind" >&2; return 1; }
	done
	run hr state "$id"
	[ "$status" -ne 0 ]
}

@test "hooks: all six kinds run, in order, over create, start and delete" {
	local id
	id=$(cid)
	for k in prestart createRuntime createContainer startContainer poststart poststop; do
		add_hook "$k"
	done
	set_args sh -c 'sleep 0.2'

	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	run logged_kinds
	[ "$output" = "prestart
createRuntime
createContainer" ]
	# each saw the container being created
	[ "$(sed -n 's/^prestart //p' "$LOG")" = creating ]
	[ "$(sed -n 's/^createRuntime //p' "$LOG")" = creating ]
	[ "$(sed -n 's/^createContainer //p' "$LOG")" = creating ]

	hr_out start "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_status "$id" stopped
	# startContainer ran inside the container, poststart in the runtime
	grep -q '^startContainer ' "$LOG"
	[ "$(sed -n 's/^poststart //p' "$LOG")" = running ]
	run grep -c '^poststop ' "$LOG"
	[ "$output" = 0 ]

	run hr delete "$id"
	[ "$status" -eq 0 ]
	[ "$(sed -n 's/^poststop //p' "$LOG")" = stopped ]

	run logged_kinds
	echo "$output"
	[ "${#lines[@]}" -eq 6 ]
	[ "${lines[0]}" = prestart ]
	[ "${lines[1]}" = createRuntime ]
	[ "${lines[2]}" = createContainer ]
	[[ "${lines[3]} ${lines[4]}" = "startContainer poststart" || "${lines[3]} ${lines[4]}" = "poststart startContainer" ]]
	[ "${lines[5]}" = poststop ]
}

@test "hooks: poststart runs after the startContainer hooks are done (the user process was executed)" {
	local id
	id=$(cid)
	# startContainer takes 1 s before it logs "done"; only then may the
	# process be executed, and only after that may poststart run
	add_hook startContainer '{env: ["PATH=/bin", "HOOK_SLEEP=1"]}'
	add_hook poststart
	set_args sh -c 'echo "process" >> /hooklog/log; sleep 0.2'
	hr_out create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	hr_out start "$id"
	[ "$status" -eq 0 ]
	wait_status "$id" stopped
	run grep -E '^(done startContainer|process|poststart)' "$LOG"
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "done startContainer" ]
	[ "${lines[2]}" = "poststart running" ] || [ "${lines[1]}" = "poststart running" ]
}

@test "hooks: createContainer and startContainer run in the container's namespaces, the others in the runtime's" {
	local id
	id=$(cid)
	[ ! -e /hook-in-container.sh ] # must exist only in the rootfs
	for k in prestart createRuntime createContainer startContainer poststart; do
		add_hook "$k"
	done
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local pid ctr_mnt host_mnt host_name
	pid=$(hr state "$id" | jq -r .pid)
	ctr_mnt=$(readlink /proc/"$pid"/ns/mnt)
	host_mnt=$(readlink /proc/self/ns/mnt)
	host_name=$(cat /proc/sys/kernel/hostname)
	[ "$ctr_mnt" != "$host_mnt" ]

	hr start "$id" </dev/null >"$BATS_TEST_TMPDIR/start.out" 2>&1
	wait_status "$id" running
	# the startContainer hook runs before exec; wait for its lines
	for _ in $(seq 1 100); do grep -q '^ns startContainer' "$LOG" && break; sleep 0.05; done
	cat "$LOG"

	[ "$(logged ns createContainer)" = "$ctr_mnt hooktest" ]
	[ "$(logged ns startContainer)" = "$ctr_mnt hooktest" ]
	[ "$(logged ns prestart)" = "$host_mnt $host_name" ]
	[ "$(logged ns createRuntime)" = "$host_mnt $host_name" ]
	[ "$(logged ns poststart)" = "$host_mnt $host_name" ]
}

@test "hooks: args and env are passed, and nothing else of the runtime's env" {
	local id
	id=$(cid)
	add_hook prestart '{}' one "two words"
	add_hook createRuntime '{env: ["PATH=/usr/bin:/bin"]}'
	set_args true
	export HOOK_VAR=leaked-from-runtime # must not reach a hook with an env of its own
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	cat "$LOG"
	[ "$(logged args prestart)" = "one two words" ]
	[ "$(logged env prestart)" = "HOOK_VAR=v-prestart" ]
	[ "$(logged env createRuntime)" = "HOOK_VAR=unset" ]
}

@test "hooks: the state on stdin holds the id, the pid and the bundle" {
	local id
	id=$(cid)
	add_hook prestart
	add_hook poststart
	add_hook poststop
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	local pid bundle
	pid=$(hr state "$id" | jq -r .pid)
	bundle=$(cd "$BUNDLE" && pwd -P)
	[ "$pid" -gt 0 ]

	local st
	st=$(logged state prestart)
	echo "prestart state: $st"
	[ "$(jq -r .id <<<"$st")" = "$id" ]
	[ "$(jq -r .pid <<<"$st")" = "$pid" ]
	[ "$(jq -r .bundle <<<"$st")" = "$bundle" ]
	[ "$(jq -r .status <<<"$st")" = creating ]
	[ -n "$(jq -r .ociVersion <<<"$st")" ]

	hr start "$id" </dev/null >"$BATS_TEST_TMPDIR/start.out" 2>&1
	st=$(logged state poststart)
	echo "poststart state: $st"
	[ "$(jq -r .id <<<"$st")" = "$id" ]
	[ "$(jq -r .pid <<<"$st")" = "$pid" ]
	[ "$(jq -r .bundle <<<"$st")" = "$bundle" ]
	[ "$(jq -r .status <<<"$st")" = running ]

	run hr delete -f "$id"
	[ "$status" -eq 0 ]
	st=$(logged state poststop)
	echo "poststop state: $st"
	[ "$(jq -r .id <<<"$st")" = "$id" ]
	[ "$(jq -r .bundle <<<"$st")" = "$bundle" ]
	[ "$(jq -r .status <<<"$st")" = stopped ]
}

@test "hooks: a failing prestart hook fails create, names the hook and leaves nothing behind" {
	local id
	id=$(cid)
	add_hook prestart '{env: ["PATH=/usr/bin:/bin", "HOOK_EXIT=3"]}'
	add_hook createRuntime
	set_args true
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *prestart* ]]
	[[ "$output" == *"$HOOK_SH"* ]]
	[[ "$output" == *3* ]]
	# the next hook did not run
	run grep -c '^createRuntime' "$LOG"
	[ "$output" = 0 ]
	# the init the hook was told about is gone
	local pid
	pid=$(logged state prestart | jq -r .pid)
	[ "$pid" -gt 0 ]
	if kill -0 "$pid" 2>/dev/null; then
		# only a zombie may be left
		[ "$(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null)" = Z ]
	fi
	assert_nothing_left "$id"
}

@test "hooks: a failing createContainer hook fails create and leaves nothing behind" {
	local id
	id=$(cid)
	add_hook createContainer '{env: ["PATH=/usr/bin:/bin", "HOOK_EXIT=1"]}'
	set_args true
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *createContainer* ]]
	assert_nothing_left "$id"
}

@test "hooks: a hook that does not exist is a clear error" {
	local id
	id=$(cid)
	cfg '.hooks.prestart = [{path: "/no/such/hook"}]'
	set_args true
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/hook"* ]]
	assert_nothing_left "$id"
}

@test "hooks: a hook past its timeout is killed and create fails within about 2 s" {
	local id sleep_bin
	id=$(cid)
	sleep_bin=$(command -v sleep)
	cfg --arg s "$sleep_bin" '.hooks.prestart = [{path: $s, args: ["sleep", "5"], timeout: 1}]'
	set_args true
	local t0 t1
	t0=$(date +%s%N)
	# not through `run`: time the runtime alone
	if hr create --bundle "$BUNDLE" "$id" >"$BATS_TEST_TMPDIR/out" 2>&1; then
		cat "$BATS_TEST_TMPDIR/out"
		false
	fi
	t1=$(date +%s%N)
	cat "$BATS_TEST_TMPDIR/out"
	echo "took $(((t1 - t0) / 1000000)) ms"
	[ $(((t1 - t0) / 1000000)) -lt 2500 ]
	[ $(((t1 - t0) / 1000000)) -ge 900 ]
	grep -q 'prestart' "$BATS_TEST_TMPDIR/out"
	grep -q 'timed out' "$BATS_TEST_TMPDIR/out"
	assert_nothing_left "$id"
}

@test "hooks: a failing poststart hook only warns: start succeeds and the process runs" {
	local id
	id=$(cid)
	add_hook poststart '{env: ["PATH=/usr/bin:/bin", "HOOK_EXIT=2"]}'
	set_args sh -c 'echo started > /hooklog/proc; sleep 10'
	hr_out create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	hr start "$id" </dev/null >"$BATS_TEST_TMPDIR/start.out" 2>&1 || {
		cat "$BATS_TEST_TMPDIR/start.out"
		false
	}
	cat "$BATS_TEST_TMPDIR/start.out"
	grep -q poststart "$BATS_TEST_TMPDIR/start.out"
	grep -q '^poststart running' "$LOG"
	wait_file "$LOGDIR/proc"
	[ "$(cat "$LOGDIR/proc")" = started ]
	[ "$(hr state "$id" | jq -r .status)" = running ]
}

@test "hooks: a failing poststop hook only warns: delete succeeds" {
	local id
	id=$(cid)
	add_hook poststop '{env: ["PATH=/usr/bin:/bin", "HOOK_EXIT=2"]}'
	set_args true
	run hr run --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^poststop stopped' "$LOG"
	[[ "$output" == *poststop* ]]
	assert_nothing_left "$id"
}

@test "hooks: a failing startContainer hook keeps the process from running" {
	local id
	id=$(cid)
	add_hook startContainer '{env: ["PATH=/bin", "HOOK_EXIT=1"]}'
	set_args sh -c 'echo started > /hooklog/proc'
	hr_out create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	hr start "$id" </dev/null >"$BATS_TEST_TMPDIR/start.out" 2>&1 || true
	wait_status "$id" stopped
	grep -q '^startContainer' "$LOG"
	[ ! -e "$LOGDIR/proc" ]
}
