#!/usr/bin/env bats
# Rootless: an unprivileged user runs `hull-runtime spec --rootless` and a
# busybox bundle it owns, with XDG_RUNTIME_DIR as the state root: inside it
# is uid 0, mapped to the user's uid; no cgroup is needed when no resources
# are asked for.  Then a multi-id mapping through newuidmap/newgidmap using
# the user's /etc/subuid and /etc/subgid ranges.
#
# setup_file creates the user (with subordinate ranges); teardown_file
# removes it and everything it owned.

load helpers

RL_USER=hullrl08

setup_file() {
	command -v useradd >/dev/null && command -v userdel >/dev/null || return 0
	command -v runuser >/dev/null || return 0
	[ "$(id -u)" -eq 0 ] || return 0
	# a leftover of an aborted run
	if id "$RL_USER" >/dev/null 2>&1; then
		userdel "$RL_USER" >/dev/null 2>&1 || true
	fi
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid 2>/dev/null || true
	useradd -M -d /nonexistent -s /bin/sh "$RL_USER" || return 0
	# useradd gives subordinate ranges when SUB_UID_* are set; make sure
	if ! grep -q "^$RL_USER:" /etc/subuid 2>/dev/null; then
		echo "$RL_USER:$((400000 + $(id -u "$RL_USER") * 65536)):65536" >>/etc/subuid
	fi
	if ! grep -q "^$RL_USER:" /etc/subgid 2>/dev/null; then
		echo "$RL_USER:$((400000 + $(id -g "$RL_USER") * 65536)):65536" >>/etc/subgid
	fi
	# everything the user owns lives here (bats' own tmpdirs are root-only)
	RL_BASE=$(mktemp -d /tmp/hull-rootless.XXXXXX)
	chmod 755 "$RL_BASE"
	echo "$RL_BASE" >"$BATS_FILE_TMPDIR/rl_base"
}

teardown_file() {
	local base
	base=$(cat "$BATS_FILE_TMPDIR/rl_base" 2>/dev/null) || base=
	if [ -n "$base" ] && [ -d "$base" ]; then
		# containers the user left behind
		local st
		for st in "$base"/*/run/hull-runtime; do
			[ -d "$st" ] || continue
			for id in $(ls "$st"); do
				runuser -u "$RL_USER" -- "$HULL_RUNTIME" --root "$st" delete -f "$id" >/dev/null 2>&1 || true
			done
		done
		rm -rf "$base"
	fi
	if id "$RL_USER" >/dev/null 2>&1; then
		# whatever still runs as the test user (ours), by pid
		local pid
		for pid in $(ps -o pid= -u "$RL_USER" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		userdel "$RL_USER" >/dev/null 2>&1 || true
	fi
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid 2>/dev/null || true
}

setup() {
	command -v runuser >/dev/null || skip "runuser is missing"
	command -v useradd >/dev/null || skip "useradd is missing"
	[ "$(id -u)" -eq 0 ] || skip "needs root to create the test user"
	id "$RL_USER" >/dev/null 2>&1 || skip "the test user could not be created"
	runuser -u "$RL_USER" -- test -x "$HULL_RUNTIME" ||
		skip "$HULL_RUNTIME is not executable by $RL_USER (build it in a world-readable directory)"
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	# per test: a bundle and XDG_RUNTIME_DIR owned by the user
	RL_DIR=$(cat "$BATS_FILE_TMPDIR/rl_base")/t$BATS_TEST_NUMBER
	mkdir -p "$RL_DIR/run"
	cp -a "$(_bundle_template)" "$RL_DIR/bundle"
	rm -f "$RL_DIR/bundle/config.json"
	chmod 700 "$RL_DIR/run"
	chown -R "$RL_USER:" "$RL_DIR"
	BUNDLE=$RL_DIR/bundle
	ROOT=$RL_DIR/run/hull-runtime
}

teardown() {
	local id
	[ -n "${ROOT-}" ] && [ -d "$ROOT" ] || return 0
	for id in $(ls "$ROOT" 2>/dev/null); do
		as_user "$HULL_RUNTIME" delete -f "$id" >/dev/null 2>&1 || true
	done
}

# as_user CMD...: run CMD as the test user, in the bundle, with its own
# XDG_RUNTIME_DIR (so the runtime's default root is below it) and a minimal
# environment.
as_user() {
	(cd "$BUNDLE" && runuser -u "$RL_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/nonexistent XDG_RUNTIME_DIR="$RL_DIR/run" "$@")
}

# rl_spec: `spec --rootless` as the user, then our process settings
rl_spec() {
	as_user "$HULL_RUNTIME" spec --rootless
	as_user sh -c 'jq ".process.terminal = false | .process.env = [\"PATH=/bin\"]" config.json > config.json.new && mv config.json.new config.json'
}

# rl_cfg JQ-FILTER: edit the config as the user
rl_cfg() {
	as_user sh -c 'jq "$@" config.json > config.json.new && mv config.json.new config.json' sh "$@"
}

rl_set_args() {
	local args
	args=$(for a in "$@"; do printf '%s\n' "$a"; done | jq -R . | jq -s -c .)
	rl_cfg --argjson a "$args" '.process.args = $a'
}

# as_user_out ARGS...: like `run as_user ARGS...` but with stdio on a fresh
# file (a detached container keeps the stdio it was started with, so bats'
# `run` would wait for it).
as_user_out() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/out.XXXXXX")
	status=0
	as_user "$@" </dev/null >"$f" 2>&1 || status=$?
	output=$(cat "$f")
}

subid_range() { # FILE -> "START COUNT" of the user's first range
	awk -F: -v u="$RL_USER" '$1 == u { print $2, $3; exit }' "$1"
}

@test "rootless: spec --rootless maps root in a user namespace to the calling user" {
	rl_spec
	run jq -c '[.linux.namespaces[].type | select(. == "user")], .linux.uidMappings, .linux.gidMappings, (.linux.resources // {})' "$BUNDLE/config.json"
	echo "$output"
	[ "${lines[0]}" = '["user"]' ]
	[ "${lines[1]}" = "[{\"containerID\":0,\"hostID\":$RL_UID,\"size\":1}]" ]
	[ "${lines[2]}" = "[{\"containerID\":0,\"hostID\":$RL_GID,\"size\":1}]" ]
}

@test "rootless: run as an unprivileged user: uid 0 inside, mapped to the user's uid" {
	rl_spec
	rl_set_args sh -c 'echo "uid=$(id -u) gid=$(id -g)"; cat /proc/self/uid_map /proc/self/gid_map'
	local id
	id=$(cid)
	run as_user "$HULL_RUNTIME" run "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "uid=0 gid=0" ]
	[ "$(echo "${lines[1]}" | tr -s ' ' | sed 's/^ //')" = "0 $RL_UID 1" ]
	[ "$(echo "${lines[2]}" | tr -s ' ' | sed 's/^ //')" = "0 $RL_GID 1" ]
	# the state root was XDG_RUNTIME_DIR/hull-runtime, and run cleaned it up
	[ -d "$ROOT" ]
	[ ! -e "$ROOT/$id" ]
}

@test "rootless: the container's processes run as the user on the host" {
	rl_spec
	rl_set_args sleep 10
	local id
	id=$(cid)
	as_user_out "$HULL_RUNTIME" run -d "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local pid
	pid=$(as_user "$HULL_RUNTIME" state "$id" | jq -r .pid)
	[ "$pid" -gt 0 ]
	run awk '/^Uid:/ { print $2, $3 }' /proc/"$pid"/status
	[ "$output" = "$RL_UID $RL_UID" ]
	# state files belong to the user, under its XDG_RUNTIME_DIR
	[ "$(stat -c %u "$ROOT/$id")" = "$RL_UID" ]
	run as_user "$HULL_RUNTIME" delete -f "$id"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/$id" ]
}

@test "rootless: create and start work without cgroup permissions when no resources are asked" {
	rl_spec
	rl_cfg 'del(.linux.resources)'
	rl_set_args sh -c 'cat /proc/self/cgroup > /dev/null; echo ran-ok'
	local id
	id=$(cid)
	run as_user "$HULL_RUNTIME" run "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *ran-ok* ]]
	assert_no_hull_cgroup "$id"
}

assert_no_hull_cgroup() {
	local d
	for d in /sys/fs/cgroup/*/hull/"$1" /sys/fs/cgroup/hull/"$1"; do
		[ ! -e "$d" ] || { echo "cgroup $d exists" >&2; return 1; }
	done
}

@test "rootless: asking for a resource without cgroup permissions is a clear error" {
	rl_spec
	rl_cfg '.linux.resources = {pids: {limit: 10}}'
	rl_set_args true
	local id
	id=$(cid)
	run as_user "$HULL_RUNTIME" run "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *cgroup* ]]
	[ ! -e "$ROOT/$id" ]
}

@test "rootless: multi-id mapping through newuidmap/newgidmap" {
	command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "newuidmap/newgidmap are missing"
	local us uc gs gc
	read -r us uc < <(subid_range /etc/subuid)
	read -r gs gc < <(subid_range /etc/subgid)
	[ -n "$us" ] && [ -n "$gs" ] || skip "no subordinate ids for $RL_USER"
	rl_spec
	rl_cfg --argjson u "$RL_UID" --argjson g "$RL_GID" --argjson us "$us" --argjson uc "$uc" \
		--argjson gs "$gs" --argjson gc "$gc" '
		.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $us, size: $uc}]
		| .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $gs, size: $gc}]
		| .process.user = {uid: 1000, gid: 1000}'
	rl_set_args sh -c 'echo "uid=$(id -u) gid=$(id -g)"; cat /proc/self/uid_map; cat /proc/self/gid_map'
	local id
	id=$(cid)
	run as_user "$HULL_RUNTIME" run "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "uid=1000 gid=1000" ]
	local maps
	maps=$(printf '%s\n' "${lines[@]:1}" | tr -s ' ' | sed 's/^ //')
	echo "$maps"
	[ "$maps" = "0 $RL_UID 1
1 $us $uc
0 $RL_GID 1
1 $gs $gc" ]
}

@test "rootless: a process as container uid 1000 runs as the subordinate uid on the host" {
	command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "newuidmap/newgidmap are missing"
	local us uc gs gc
	read -r us uc < <(subid_range /etc/subuid)
	read -r gs gc < <(subid_range /etc/subgid)
	[ -n "$us" ] && [ -n "$gs" ] || skip "no subordinate ids for $RL_USER"
	rl_spec
	rl_cfg --argjson u "$RL_UID" --argjson g "$RL_GID" --argjson us "$us" --argjson uc "$uc" \
		--argjson gs "$gs" --argjson gc "$gc" '
		.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $us, size: $uc}]
		| .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $gs, size: $gc}]
		| .process.user = {uid: 1000, gid: 1000}'
	rl_set_args sleep 10
	local id
	id=$(cid)
	as_user_out "$HULL_RUNTIME" run -d "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local pid
	pid=$(as_user "$HULL_RUNTIME" state "$id" | jq -r .pid)
	# container uid 1000 = host uid us + 999
	[ "$(awk '/^Uid:/ { print $2 }' /proc/"$pid"/status)" = $((us + 999)) ]
	[ "$(awk '/^Gid:/ { print $2 }' /proc/"$pid"/status)" = $((gs + 999)) ]
}

@test "rootless: a mapping outside the user's subordinate ranges is refused" {
	command -v newuidmap >/dev/null || skip "newuidmap is missing"
	rl_spec
	rl_cfg --argjson u "$RL_UID" '
		.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: 1, size: 10}]'
	rl_set_args true
	local id
	id=$(cid)
	run as_user "$HULL_RUNTIME" run "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *newuidmap* ]]
	[ ! -e "$ROOT/$id" ]
}
