#!/usr/bin/env bats
# linux.resources and linux.cgroupsPath: limits written to the container's
# cgroup (read on the host) and felt inside (fork failures, device access,
# allowed CPUs), the default and custom paths, cleanup on delete in every
# hierarchy, and invalid values.  Branches on the host's cgroup version.

load helpers

setup() {
	setup_bundle
	CGV=$(cgroup_version)
	CUSTOM_PARENT=hull-sys06-$$-$BATS_TEST_NUMBER
}

teardown() {
	cleanup_all
	# the parent of a custom cgroupsPath is ours to remove
	local d
	for d in /sys/fs/cgroup/*/"$CUSTOM_PARENT" /sys/fs/cgroup/"$CUSTOM_PARENT"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	true
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

# Mount points of every v1 hierarchy (named ones too), one per line.
v1_mounts() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i+1) == "cgroup") print $5 }' /proc/self/mountinfo
}

# cg_dir CONTROLLER CGPATH: the host directory of cgroup CGPATH ("/hull/x")
# holding CONTROLLER's files.
cg_dir() {
	if [ "$CGV" = v2 ]; then
		echo "/sys/fs/cgroup$2"
		return
	fi
	local mp
	mp=$(awk -v c="$1" '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
		if ($(i+1) != "cgroup") next; n = split($(i+3), o, ",");
		for (k = 1; k <= n; k++) if (o[k] == c) { print $5; exit } }' /proc/self/mountinfo)
	[ -n "$mp" ] || { echo "controller $1 is not mounted" >&2; return 1; }
	echo "$mp$2"
}

# cg_file CONTROLLER CGPATH FILE: contents of the file (first line)
cg_file() {
	local d
	d=$(cg_dir "$1" "$2") || return 1
	head -1 "$d/$3"
}

# Every directory of cgroup CGPATH on the host (one per hierarchy on v1).
cg_all_dirs() {
	if [ "$CGV" = v2 ]; then
		echo "/sys/fs/cgroup$1"
	else
		v1_mounts | sed "s|\$|$1|"
	fi
}

# The cgroup of pid $1 in the hierarchy holding $2 (v1), or the v2 one.
proc_cgroup() {
	if [ "$CGV" = v2 ]; then
		sed -n 's/^0:://p' /proc/"$1"/cgroup
	else
		awk -F: -v c="$2" '{ n = split($2, o, ","); for (k = 1; k <= n; k++) if (o[k] == c) print $3 }' /proc/"$1"/cgroup
	fi
}

assert_no_cgroup() {
	local d
	for d in $(cg_all_dirs "$1"); do
		[ ! -e "$d" ] || { echo "cgroup $d left behind" >&2; return 1; }
	done
}

# Allow the usual character devices (as runc's defaults do): busybox sh
# opens /dev/null for background jobs, and these tests are not about devices.
allow_std_devices() {
	cfg '.linux.resources.devices = [{allow: false, access: "rwm"},
		{allow: true, type: "c", major: 1, minor: 3, access: "rwm"},
		{allow: true, type: "c", major: 1, minor: 5, access: "rwm"},
		{allow: true, type: "c", major: 1, minor: 8, access: "rwm"},
		{allow: true, type: "c", major: 1, minor: 9, access: "rwm"}]'
}

@test "cgroups: default path is /hull/<id>, in every hierarchy, and the init is in it" {
	local id
	id=$(cid)
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local pid d
	pid=$(hr state "$id" | jq -r .pid)
	for d in $(cg_all_dirs "/hull/$id"); do
		echo "checking $d"
		[ -d "$d" ]
		grep -qx "$pid" "$d/cgroup.procs"
	done
	[ "$(proc_cgroup "$pid" pids)" = "/hull/$id" ]
	[ "$(proc_cgroup "$pid" memory)" = "/hull/$id" ]
}

@test "cgroups: delete removes the cgroup in every hierarchy" {
	local id
	id=$(cid)
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	hr_out start "$id"
	[ "$status" -eq 0 ]
	local n=0 d
	for d in $(cg_all_dirs "/hull/$id"); do
		[ -d "$d" ]
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
	run hr delete -f "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	assert_no_cgroup "/hull/$id"
}

@test "cgroups: run removes the cgroup when the container exits" {
	local id
	id=$(cid)
	set_args true
	run hr run --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	assert_no_cgroup "/hull/$id"
}

@test "cgroups: a custom absolute cgroupsPath is honoured and removed on delete" {
	local id cgp
	id=$(cid)
	cgp=/$CUSTOM_PARENT/custom-$id
	cfg --arg p "$cgp" '.linux.cgroupsPath = $p'
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local pid d
	pid=$(hr state "$id" | jq -r .pid)
	for d in $(cg_all_dirs "$cgp"); do
		echo "checking $d"
		[ -d "$d" ]
		grep -qx "$pid" "$d/cgroup.procs"
	done
	[ "$(proc_cgroup "$pid" pids)" = "$cgp" ]
	assert_no_cgroup "/hull/$id"
	run hr delete -f "$id"
	[ "$status" -eq 0 ]
	assert_no_cgroup "$cgp"
}

@test "cgroups: pids.limit 5 makes forks fail inside" {
	local id
	id=$(cid)
	allow_std_devices
	cfg '.linux.resources.pids = {limit: 5}'
	set_args sh -c 'n=0; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & n=$((n + 1)); done; echo "forked=$n"'
	hr_out create --bundle "$BUNDLE" "$id"
	[ "$status" -eq 0 ]
	[ "$(cg_file pids "/hull/$id" pids.max)" = 5 ]
	run hr delete -f "$id"

	run hr run --bundle "$BUNDLE" "$(cid r)"
	echo "$output"
	[[ "$output" == *"can't fork"* ]]
	[[ "$output" != *"forked=10"* ]]
	[ "$status" -ne 0 ]
}

@test "cgroups: the same fork loop works without a pids limit" {
	allow_std_devices
	set_args sh -c 'n=0; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & n=$((n + 1)); done; echo "forked=$n"'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"forked=10"* ]]
}

@test "cgroups: memory limit 64 MiB and memory+swap 128 MiB" {
	local id
	id=$(cid)
	cfg '.linux.resources.memory = {limit: 67108864, swap: 134217728}'
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local d
	d=$(cg_dir memory "/hull/$id")
	if [ "$CGV" = v2 ]; then
		[ "$(cat "$d/memory.max")" = 67108864 ]
		if [ -e "$d/memory.swap.max" ]; then
			# v2 holds swap alone: 128 MiB - 64 MiB
			[ "$(cat "$d/memory.swap.max")" = 67108864 ]
		fi
	else
		[ "$(cat "$d/memory.limit_in_bytes")" = 67108864 ]
		if [ -e "$d/memory.memsw.limit_in_bytes" ]; then
			[ "$(cat "$d/memory.memsw.limit_in_bytes")" = 134217728 ]
		fi
	fi
}

@test "cgroups: memory limit is seen from inside the container's cgroup mount" {
	[ "$CGV" = v1 ] || skip "v1 layout"
	cfg '.linux.resources.memory = {limit: 67108864}'
	set_args cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = 67108864 ]
}

@test "cgroups: cpu shares, quota and period" {
	local id
	id=$(cid)
	cfg '.linux.resources.cpu = {shares: 512, quota: 50000, period: 100000}'
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	if [ "$CGV" = v2 ]; then
		# 1 + ((512 - 2) * 9999) / 262142
		[ "$(cg_file cpu "/hull/$id" cpu.weight)" = 20 ]
		[ "$(cg_file cpu "/hull/$id" cpu.max)" = "50000 100000" ]
	else
		[ "$(cg_file cpu "/hull/$id" cpu.shares)" = 512 ]
		[ "$(cg_file cpu "/hull/$id" cpu.cfs_quota_us)" = 50000 ]
		[ "$(cg_file cpu "/hull/$id" cpu.cfs_period_us)" = 100000 ]
	fi
}

@test "cgroups: cpuset cpus 0 restricts the process to CPU 0" {
	local id
	id=$(cid)
	cfg '.linux.resources.cpu = {cpus: "0"}'
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(cg_file cpuset "/hull/$id" cpuset.cpus)" = 0 ]
	local pid
	pid=$(hr state "$id" | jq -r .pid)
	grep -E '^Cpus_allowed_list:[[:space:]]+0$' /proc/"$pid"/status
	run hr delete -f "$id"

	set_args grep Cpus_allowed_list /proc/self/status
	run hr run --bundle "$BUNDLE" "$(cid r)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Cpus_allowed_list:[[:space:]]+0$ ]]
}

@test "cgroups: blkio weight" {
	# is there a weight file at all (CFQ's blkio.weight, BFQ's blkio.bfq.weight)?
	local probe file
	if [ "$CGV" = v2 ]; then
		grep -qw io /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || skip "the io controller is not enabled"
	fi
	probe=$(cg_dir blkio "/hull-sys06-probe-$$") || skip "no blkio controller"
	mkdir "$probe"
	for f in blkio.weight blkio.bfq.weight io.bfq.weight io.weight; do
		if [ -e "$probe/$f" ]; then file=$f; break; fi
	done
	rmdir "$probe"
	[ -n "$file" ] || skip "no blkio weight file (no CFQ/BFQ scheduler)"

	local id
	id=$(cid)
	cfg '.linux.resources.blockIO = {weight: 300}'
	set_args sleep 10
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	local d
	d=$(cg_dir blkio "/hull/$id")
	cat "$d/$file"
	case $file in
	io.weight) grep -qw 3004 "$d/$file" ;; # 1 + ((300 - 10) * 9999) / 990
	*) grep -qw 300 "$d/$file" ;;
	esac
}

@test "cgroups: device rules: deny all, allow c 1:1 r: reading works, writing and other devices do not" {
	# /dev/mem (c 1:1) and /dev/loop7 (b 7:7) are not in the standard set
	# the runtime always allows (null, zero, full, random, urandom, tty...)
	local id
	id=$(cid)
	cfg '.linux.resources.devices = [{allow: false, access: "rwm"}, {allow: true, type: "c", major: 1, minor: 1, access: "r"}]'
	mknod "$BUNDLE/rootfs/mem" c 1 1
	mknod "$BUNDLE/rootfs/loop7" b 7 7
	set_args sh -c 'head -c 1 /mem >/dev/null && echo mem-read-ok; echo x 2>/dev/null > /mem && echo mem-write-ok; head -c 1 /loop7 > /dev/null && echo loop-ok; echo x > /dev/null && echo null-ok; echo done'
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -eq 0 ]
	if [ "$CGV" = v1 ]; then
		run cat "$(cg_dir devices "/hull/$id")/devices.list"
		echo "devices.list: $output"
		[[ "$output" == *"c 1:1 r"* ]]
		[[ "$output" != *"a *:* rwm"* ]]
	fi
	run hr delete -f "$id"

	run hr run --bundle "$BUNDLE" "$(cid r)"
	echo "$output"
	[ "$status" -eq 0 ]
	# reading /mem passes the cgroup (the kernel itself may still say ENXIO)
	[[ "$output" != *"/mem: Operation not permitted"* ]]
	[[ "$output" == *"null-ok"* ]]
	[[ "$output" != *"mem-write-ok"* ]]
	[[ "$output" != *"loop-ok"* ]]
	[[ "$output" == *"loop7: Operation not permitted"* ]]
	[[ "$output" == *"done"* ]]
}

@test "cgroups: the default config's deny-all device rule still allows the standard devices" {
	# `hull-runtime spec` writes devices [{allow: false, access: rwm}]; like
	# runc, the runtime must still allow /dev/null, zero, full, random,
	# urandom, tty and the ptys it creates itself
	set_args sh -c 'for d in null zero full random urandom; do head -c 1 /dev/$d > /dev/null && echo "$d-ok"; done; echo x > /dev/null && echo write-null-ok'
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"zero-ok"* ]]
	[[ "$output" == *"urandom-ok"* ]]
	[[ "$output" == *"random-ok"* ]]
	[[ "$output" == *"write-null-ok"* ]]
}

@test "cgroups: a cgroup namespace makes the container's cgroup its root" {
	cfg '.linux.namespaces |= (map(select(.type != "cgroup")) + [{type: "cgroup"}])'
	set_args cat /proc/self/cgroup
	run hr run --bundle "$BUNDLE" "$(cid)"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 1 ]
	local l
	for l in "${lines[@]}"; do
		[[ "$l" == *:/ ]] || { echo "not the namespace root: $l"; false; }
	done
}

@test "cgroups: an invalid cpuset is a clear error and leaves nothing behind" {
	local id
	id=$(cid)
	cfg '.linux.resources.cpu = {cpus: "999"}'
	set_args true
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *cpuset.cpus* ]]
	[[ "$output" == *999* ]]
	[ ! -e "$ROOT/$id" ]
	assert_no_cgroup "/hull/$id"
}

@test "cgroups: memory+swap below the memory limit is a clear error and leaves nothing behind" {
	local id
	id=$(cid)
	cfg '.linux.resources.memory = {limit: 67108864, swap: 33554432}'
	set_args true
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *swap* || "$output" == *memsw* ]]
	[ ! -e "$ROOT/$id" ]
	assert_no_cgroup "/hull/$id"
}

@test "cgroups: memory limit 1 is a clear error and leaves nothing behind" {
	local id
	id=$(cid)
	cfg '.linux.resources.memory = {limit: 1}'
	set_args true
	hr_out create --bundle "$BUNDLE" "$id"
	echo "$output"
	[ "$status" -ne 0 ]
	# the message must point at the memory limit, not just "init exited"
	[[ "$output" == *memory* ]]
	[ ! -e "$ROOT/$id" ]
	assert_no_cgroup "/hull/$id"
	run hr state "$id"
	[ "$status" -ne 0 ]
}
