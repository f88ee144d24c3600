#!/usr/bin/env bats
# Namespaces, each checked from inside the container against the host.

bats_require_minimum_version 1.5.0
load helpers

NETNS=hulltest-$$
HOST_MQ=

teardown() {
	cleanup_all
	if [ -n "${NETNS_MADE:-}" ]; then
		ip netns del "$NETNS" 2>/dev/null || true
	fi
	if [ -n "$HOST_MQ" ]; then
		rm -f "$HOST_MQ/hulltest-$$" 2>/dev/null || true
		umount "$HOST_MQ" 2>/dev/null || true
	fi
}

# ---- local helpers ----

share_dir() {
	SHARED=$BATS_TEST_TMPDIR/shared
	mkdir -p "$SHARED"
	cfg --arg s "$SHARED" '.mounts += [{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]'
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

# run the bundle in the foreground: `run crun` then check $status/$output
crun() {
	hr run --bundle "$BUNDLE" "$(cid)"
}

# start ID in the background with its output in a file; wait for /shared/ready
start_bg() {
	hr create --bundle "$BUNDLE" "$1" >"$BATS_TEST_TMPDIR/$1.out" 2>&1 </dev/null || {
		cat "$BATS_TEST_TMPDIR/$1.out" >&2
		return 1
	}
	hr start "$1"
	wait_file "$SHARED/ready"
}

ns_link() { # ns_link PID NAME: what /proc/PID/ns/NAME points at
	readlink "/proc/$1/ns/$2"
}

has_ns() {
	jq -e --arg t "$1" '[.linux.namespaces[].type] | index($t) != null' "$BUNDLE/config.json" >/dev/null
}

# ---- pid ----

@test "pid namespace: the process is pid 1 and sees only its own processes" {
	set_args sh -c 'echo pid=$$; readlink /proc/self/ns/pid; ls /proc | grep -cE "^[0-9]+$"; cat /proc/1/cmdline | tr "\0" " "'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = pid=1 ]
	[ "${lines[1]}" != "$(ns_link self pid)" ]
	[[ "${lines[1]}" == pid:\[* ]]
	# sh, ls, grep and no more than a few others
	[ "${lines[2]}" -le 5 ]
	[[ "${lines[3]}" == "sh -c echo pid="* ]]
}

# ---- uts ----

@test "uts namespace: hostname and domainname" {
	cfg '.hostname = "hull-ns-test" | .domainname = "ns.example"'
	set_args sh -c 'hostname; cat /proc/sys/kernel/domainname; readlink /proc/self/ns/uts'
	local host_name host_domain
	host_name=$(hostname)
	host_domain=$(cat /proc/sys/kernel/domainname)
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hull-ns-test ]
	[ "${lines[1]}" = ns.example ]
	[ "${lines[2]}" != "$(ns_link self uts)" ]
	# the host's names are untouched
	[ "$(hostname)" = "$host_name" ]
	[ "$(cat /proc/sys/kernel/domainname)" = "$host_domain" ]
}

@test "uts namespace: a hostname without one is refused" {
	cfg '.hostname = "nope" | .linux.namespaces |= map(select(.type != "uts"))'
	local before
	before=$(hostname)
	run --separate-stderr crun
	[ "$status" -eq 1 ]
	[[ "$stderr" == *hostname*UTS* ]]
	[ "$(hostname)" = "$before" ]
}

# ---- ipc ----

@test "ipc namespace: own inode and own POSIX message queues" {
	# a queue in the host's ipc namespace, through a private mqueue mount
	HOST_MQ=$BATS_TEST_TMPDIR/mq
	mkdir -p "$HOST_MQ"
	if ! mount -t mqueue hulltest "$HOST_MQ" 2>/dev/null; then
		HOST_MQ=
		skip "cannot mount mqueue on the host"
	fi
	touch "$HOST_MQ/hulltest-$$"
	[ -e "$HOST_MQ/hulltest-$$" ]
	set_args sh -c 'readlink /proc/self/ns/ipc; ls -A /dev/mqueue | wc -l; touch /dev/mqueue/inside-q && ls /dev/mqueue'
	run crun
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == ipc:\[* ]]
	[ "${lines[0]}" != "$(ns_link self ipc)" ]
	# the host's queue is not there; the container's queue does not reach the host
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = inside-q ]
	[ ! -e "$HOST_MQ/inside-q" ]
}

# ---- network ----

@test "network namespace: only lo, and lo is up" {
	set_args sh -c 'ls /sys/class/net; cat /sys/class/net/lo/flags; ip -o link show lo; readlink /proc/self/ns/net'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = lo ]
	# IFF_UP (0x1) | IFF_LOOPBACK (0x8)
	[ $((${lines[1]} & 0x9)) -eq 9 ]
	[[ "${lines[2]}" == *"<LOOPBACK,UP"* ]]
	[ "${lines[3]}" != "$(ns_link self net)" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "network namespace: loopback works inside" {
	# (a pipeline, not `&`: busybox sh opens /dev/null for background jobs)
	set_args sh -c '(sleep 0.3; echo over-lo | nc -w 2 127.0.0.1 7777) | nc -l -p 7777'
	run crun
	[ "$status" -eq 0 ]
	[[ "$output" == *over-lo* ]]
}

@test "network namespace: joining one by path" {
	command -v ip >/dev/null || skip "ip (iproute2) is not installed"
	ip netns add "$NETNS" 2>/dev/null || skip "ip netns add failed"
	NETNS_MADE=1
	# mark it: an address on its lo (no module needed), and a dummy link if we can
	ip -n "$NETNS" addr add 192.0.2.77/32 dev lo
	local dummy=
	ip -n "$NETNS" link add hulldummy0 type dummy 2>/dev/null && dummy=1
	local ino
	ino=$(stat -L -c %i "/run/netns/$NETNS")
	cfg --arg p "/run/netns/$NETNS" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
	set_args sh -c 'readlink /proc/self/ns/net; ip -o addr show dev lo; ls /sys/class/net'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "net:[$ino]" ]
	[[ "$output" == *192.0.2.77* ]]
	[[ "$output" == *lo* ]]
	[ -z "$dummy" ] || [[ "$output" == *hulldummy0* ]]
	# the namespace was joined, not changed: lo stays down there as it was
	[[ "$(ip -n "$NETNS" -o link show lo)" != *",UP"* ]]
}

@test "network namespace: a path that is not a namespace is refused" {
	cfg --arg p "$BATS_TEST_TMPDIR" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
	run --separate-stderr crun
	[ "$status" -eq 1 ]
	[[ "$stderr" == *namespace*"$BATS_TEST_TMPDIR"* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

# ---- mount ----

@test "mount namespace: a mount made inside stays inside" {
	share_dir
	cfg '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
	set_args sh -c "mount -t tmpfs hulltest-inside-$$ /tmp && echo ready > /shared/ready; exec sleep 1000"
	local id
	id=$(cid)
	start_bg "$id"
	local pid
	pid=$(hr state "$id" | jq -r .pid)
	[ "$(ns_link "$pid" mnt)" != "$(ns_link self mnt)" ]
	grep -q "hulltest-inside-$$" "/proc/$pid/mountinfo"
	! grep -q "hulltest-inside-$$" /proc/self/mountinfo
	# its "/" is the bundle's rootfs, and no host mount point is left in its table
	# (field 4 is the path inside the filesystem holding it)
	[[ "$(awk '$5 == "/" {print $4}' "/proc/$pid/mountinfo")" == */bundle/rootfs ]]
	! awk '{print $5}' "/proc/$pid/mountinfo" | grep -qE '^/(work|run|home|var|usr|boot)(/|$)'
	! awk '{print $5}' "/proc/$pid/mountinfo" | grep -qF "$BATS_RUN_TMPDIR"
}

# ---- cgroup ----

@test "cgroup namespace: /proc/self/cgroup shows the container's cgroup as /" {
	has_ns cgroup
	set_args sh -c 'cat /proc/self/cgroup; readlink /proc/self/ns/cgroup'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" != "$(ns_link self cgroup)" ]
	local n=0 line
	for line in "${lines[@]:0:${#lines[@]}-1}"; do
		n=$((n + 1))
		[[ "$line" == *:/ ]] || { echo "not at the namespace root: $line"; false; }
	done
	[ "$n" -ge 1 ]
}

# ---- time ----

@test "time namespace: boottime and monotonic offsets" {
	[ -e /proc/self/ns/time ] || skip "kernel without time namespaces"
	cfg '.linux.namespaces += [{"type": "time"}] | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}, "monotonic": {"secs": 86400, "nanosecs": 0}}'
	set_args sh -c 'cut -d" " -f1 /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time'
	local before after
	before=$(cut -d' ' -f1 /proc/uptime)
	run crun
	after=$(cut -d' ' -f1 /proc/uptime)
	[ "$status" -eq 0 ]
	local inside=${lines[0]%.*}
	[ "$inside" -ge $((${before%.*} + 864000)) ]
	[ "$inside" -le $((${after%.*} + 864000 + 1)) ]
	[[ "$output" == *"monotonic"*"86400 "*"0"* ]]
	[[ "$output" == *"boottime"*"864000 "*"0"* ]]
	[ "${lines[-1]}" != "$(ns_link self time)" ]
}

# ---- user ----

# Make the bundle usable by host uid 100000: own the rootfs, let the path be walked.
userns_bundle() {
	chown -R -h 100000:100000 "$BUNDLE/rootfs"
	local d=$BUNDLE
	while [ "$d" != / ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
	cfg '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

@test "user namespace: uid/gid maps, ownership on the host" {
	userns_bundle
	share_dir
	chown 100000:100000 "$SHARED"
	set_args sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo x > /shared/made-inside; stat -c "%u:%g" /shared/made-inside /bin/busybox; readlink /proc/self/ns/user'
	run crun
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(echo "${lines[0]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "$(echo "${lines[1]}" | tr -s ' ' | sed 's/^ //')" = "0 100000 65536" ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 0 ]
	# root inside owns what it makes as 0; the host sees 100000
	[ "${lines[4]}" = 0:0 ]
	[ "${lines[5]}" = 0:0 ]
	[ "$(stat -c %u:%g "$SHARED/made-inside")" = 100000:100000 ]
	[ "${lines[6]}" != "$(ns_link self user)" ]
}

@test "user namespace: host root is not root inside" {
	userns_bundle
	share_dir
	chmod 0777 "$SHARED"
	echo secret >"$SHARED/root-only"
	chmod 0600 "$SHARED/root-only"
	cfg '.process.capabilities.bounding += ["CAP_DAC_OVERRIDE"] | .process.capabilities.effective += ["CAP_DAC_OVERRIDE"] | .process.capabilities.permitted += ["CAP_DAC_OVERRIDE"]'
	set_args sh -c 'stat -c %u /shared/root-only; cat /shared/root-only'
	run crun
	# the host's root is unmapped (the overflow uid) and its file stays closed
	[ "${lines[0]}" = 65534 ]
	[[ "$output" != *secret* ]]
	[[ "$output" == *"Permission denied"* ]]
}
