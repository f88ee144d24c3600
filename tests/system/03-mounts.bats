#!/usr/bin/env bats
# Mounts, /dev, masked and read-only paths, checked from inside the container.

bats_require_minimum_version 1.5.0
load helpers

HOST_MOUNTS=()

teardown() {
	cleanup_all
	local m
	for m in "${HOST_MOUNTS[@]}"; do
		umount -l "$m" 2>/dev/null || true
	done
}

# ---- local helpers ----

# add_mount DEST TYPE SOURCE [OPTION...]
add_mount() {
	local dest=$1 type=$2 src=$3
	shift 3
	local opts
	opts=$(for o in "$@"; do printf '%s\n' "$o"; done | jq -R . | jq -s -c .)
	cfg --arg d "$dest" --arg t "$type" --arg s "$src" --argjson o "$opts" \
		'.mounts += [{"destination": $d, "type": $t, "source": $s, "options": $o}]'
}

add_caps() {
	local c
	for c in "$@"; do
		cfg --arg c "$c" '.process.capabilities.bounding += [$c] | .process.capabilities.effective += [$c] | .process.capabilities.permitted += [$c]'
	done
}

crun() {
	hr run --bundle "$BUNDLE" "$(cid)"
}

# mountinfo_line MOUNTPOINT: the container's mountinfo line for it (from $output)
mnt_line() {
	printf '%s\n' "${lines[@]}" | awk -v m="$1" '$5 == m' | tail -1
}

# ---- filesystems ----

@test "proc is mounted and is the container's" {
	set_args sh -c 'cat /proc/self/mountinfo; echo ---; cat /proc/1/cmdline | tr "\0" " "; echo; ls /proc/self/ns'
	run crun
	[ "$status" -eq 0 ]
	[[ "$(mnt_line /proc)" == *" - proc "* ]]
	[[ "$output" == *"---"*"sh -c cat /proc/self/mountinfo"* ]]
	[[ "$output" == *mnt* ]]
}

@test "sysfs is mounted read-only" {
	set_args sh -c 'cat /proc/self/mountinfo; ls /sys/kernel | grep -q . && echo sys-readable; mkdir /sys/hulltest'
	run crun
	[ "$status" -ne 0 ]
	local l
	l=$(mnt_line /sys)
	[[ "$l" == *" - sysfs "* ]]
	[[ "$(echo "$l" | cut -d' ' -f6)" == ro,* ]]
	[[ "$output" == *sys-readable* ]]
	[[ "$output" == *"Read-only file system"* ]]
}

@test "tmpfs honours size and mode" {
	add_mount /scratch tmpfs tmpfs size=1m mode=1770 nosuid nodev
	set_args sh -c 'stat -c %a /scratch; df -k /scratch | tail -1; yes | head -c 2000000 > /scratch/big; echo "write: $?"; ls -l /scratch/big | tr -s " " | cut -d" " -f5'
	run --separate-stderr crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1770 ]
	[ "$(echo "${lines[1]}" | tr -s ' ' | cut -d' ' -f2)" = 1024 ]
	# the write stopped at the size
	[ "${lines[2]}" = "write: 1" ]
	[ "${lines[3]}" -le 1048576 ]
}

@test "devpts is a new instance behind /dev/ptmx" {
	set_args sh -c 'cat /proc/self/mountinfo; echo "ptmx -> $(readlink /dev/ptmx)"; exec 3<>/dev/ptmx && ls /dev/pts | tr "\n" " "'
	run crun
	[ "$status" -eq 0 ]
	local l
	l=$(mnt_line /dev/pts)
	[[ "$l" == *" - devpts "* ]]
	[[ "$l" == *ptmxmode=666* ]]
	[[ "$output" == *"ptmx -> pts/ptmx"* ]]
	# a fresh instance: the first pty opened is number 0
	[ "${lines[-1]}" = "0 ptmx " ]
}

@test "mqueue is mounted on /dev/mqueue" {
	set_args sh -c 'cat /proc/self/mountinfo; touch /dev/mqueue/hull-q && ls /dev/mqueue'
	run crun
	[ "$status" -eq 0 ]
	[[ "$(mnt_line /dev/mqueue)" == *" - mqueue "* ]]
	[ "${lines[-1]}" = hull-q ]
}

@test "cgroup mount shows the controllers, read-only" {
	local pids_max=/sys/fs/cgroup/pids/pids.max
	[ "$(cgroup_version)" = v1 ] || pids_max=/sys/fs/cgroup/pids.max
	set_args sh -c "ls /sys/fs/cgroup | tr '\n' ' '; echo; mkdir /sys/fs/cgroup/hulltest; cat $pids_max"
	cfg '.linux.resources.pids = {"limit": 77}'
	run crun
	if [ "$(cgroup_version)" = v2 ]; then
		[[ "${lines[0]}" == *cgroup.controllers* ]]
	else
		[[ "${lines[0]}" == *memory* ]]
		[[ "${lines[0]}" == *pids* ]]
		[[ "${lines[0]}" == *cpu* ]]
	fi
	[[ "$output" == *"Read-only file system"* ]]
	# it is the container's own cgroup, with its limit
	[ "${lines[-1]}" = 77 ]
}

# ---- bind mounts ----

@test "bind mounts: read-write and read-only" {
	local rw=$BATS_TEST_TMPDIR/rw ro=$BATS_TEST_TMPDIR/ro
	mkdir -p "$rw" "$ro"
	echo original >"$ro/file"
	add_mount /rw bind "$rw" rbind rw
	add_mount /ro bind "$ro" rbind ro
	set_args sh -c 'echo from-inside > /rw/new; cat /ro/file; echo changed > /ro/file; touch /ro/new'
	run crun
	[ "$status" -ne 0 ]
	[ "$(cat "$rw/new")" = from-inside ]
	[ "${lines[0]}" = original ]
	[[ "$output" == *"/ro/file"*"Read-only file system"* ]]
	[[ "$output" == *"/ro/new"*"Read-only file system"* ]]
	[ "$(cat "$ro/file")" = original ]
	[ ! -e "$ro/new" ]
}

@test "rbind carries submounts, bind does not" {
	local src=$BATS_TEST_TMPDIR/tree
	mkdir -p "$src/sub"
	mount -t tmpfs hulltest-sub "$src/sub"
	HOST_MOUNTS+=("$src/sub")
	echo in-submount >"$src/sub/file"
	add_mount /rec bind "$src" rbind
	add_mount /flat bind "$src" bind
	set_args sh -c 'cat /rec/sub/file; ls -A /flat/sub | wc -l'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = in-submount ]
	[ "${lines[1]}" = 0 ]
}

@test "a bind mount of a single file" {
	echo file-content >"$BATS_TEST_TMPDIR/one"
	add_mount /etc/hulltest-one bind "$BATS_TEST_TMPDIR/one" bind ro
	set_args sh -c 'cat /etc/hulltest-one; stat -c %F /etc/hulltest-one'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = file-content ]
	[ "${lines[1]}" = "regular file" ]
}

@test "relative destination and relative source" {
	mkdir -p "$BUNDLE/relsrc"
	echo rel >"$BUNDLE/relsrc/f"
	add_mount reldata bind relsrc rbind ro
	set_args sh -c 'cat /reldata/f; awk "\$5 == \"/reldata\"" /proc/self/mountinfo | wc -l'
	run --separate-stderr crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = rel ]
	[ "${lines[1]}" = 1 ]
}

# ---- mount flags ----

@test "noexec, nosuid and nodev take effect" {
	add_mount /nx tmpfs tmpfs noexec nosuid nodev mode=755
	add_mount /ex tmpfs tmpfs exec mode=755
	set_args sh -c 'cat /proc/self/mountinfo; cp /bin/busybox /nx/busybox; cp /bin/busybox /ex/busybox; /ex/busybox echo exec-ok; /nx/busybox echo noexec-ran'
	run crun
	local l
	l=$(mnt_line /nx)
	[[ "$(echo "$l" | cut -d' ' -f6)" == *noexec* ]]
	[[ "$(echo "$l" | cut -d' ' -f6)" == *nosuid* ]]
	[[ "$(echo "$l" | cut -d' ' -f6)" == *nodev* ]]
	[[ "$(mnt_line /ex | cut -d' ' -f6)" != *noexec* ]]
	[[ "$output" == *exec-ok* ]]
	[[ "$output" != *noexec-ran* ]]
	[[ "$output" == *"/nx/busybox"*"Permission denied"* ]]
}

@test "nodev: a device node on a nodev mount cannot be opened" {
	add_caps CAP_MKNOD
	add_mount /nd tmpfs tmpfs nodev mode=755
	add_mount /dv tmpfs tmpfs dev mode=755
	set_args sh -c 'mknod /nd/null c 1 3 && mknod /dv/null c 1 3 && echo x > /dv/null && echo dev-ok; echo x > /nd/null && echo nodev-opened'
	run crun
	[[ "$output" == *dev-ok* ]]
	[[ "$output" != *nodev-opened* ]]
	[[ "$output" == *"/nd/null"*"Permission denied"* ]]
}

# ---- masked and read-only paths ----

@test "maskedPaths: files read empty, directories are empty" {
	mkdir -p "$BUNDLE/rootfs/secretdir"
	echo hidden >"$BUNDLE/rootfs/secretdir/secret"
	echo hidden >"$BUNDLE/rootfs/secretfile"
	cfg '.linux.maskedPaths += ["/secretdir", "/secretfile", "/does/not/exist"]'
	[ -n "$(head -c 1 /proc/timer_list)" ] || skip "host has an empty /proc/timer_list"
	set_args sh -c 'wc -c < /proc/timer_list; ls -A /secretdir | wc -l; wc -c < /secretfile; [ -e /proc/kcore ] && wc -c < /proc/kcore || echo 0; touch /secretdir/x'
	run crun
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "${lines[2]}" = 0 ]
	[ "${lines[3]}" = 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	# the rootfs itself is untouched
	[ "$(cat "$BUNDLE/rootfs/secretdir/secret")" = hidden ]
}

@test "readonlyPaths: /proc/sys and a listed directory refuse writes" {
	local rw=$BATS_TEST_TMPDIR/rw
	mkdir -p "$rw"
	add_mount /data bind "$rw" rbind rw
	add_mount /data2 bind "$rw" rbind rw
	cfg '.linux.readonlyPaths += ["/data"]'
	set_args sh -c 'cat /proc/sys/kernel/hostname; echo x > /proc/sys/kernel/hostname; echo y > /data/f; echo z > /data2/g && echo data2-ok'
	run crun
	[ "${lines[0]}" = "$(jq -r .hostname "$BUNDLE/config.json")" ]
	[[ "$output" == *"/proc/sys/kernel/hostname"*"Read-only file system"* ]]
	[[ "$output" == *"/data/f"*"Read-only file system"* ]]
	[ ! -e "$rw/f" ]
	# only that mount point is read-only, not the directory behind it
	[[ "$output" == *data2-ok* ]]
	[ "$(cat "$rw/g")" = z ]
}

@test "root.readonly" {
	set_args sh -c 'touch /hulltest-file && echo wrote'
	cfg '.root.readonly = true'
	run crun
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$BUNDLE/rootfs/hulltest-file" ]
	cfg '.root.readonly = false'
	run crun
	[ "$status" -eq 0 ]
	[ "$output" = wrote ]
	[ -e "$BUNDLE/rootfs/hulltest-file" ]
}

# ---- /dev ----

@test "default devices exist with the right numbers and work" {
	# (set_args takes one line per argument)
	set_args sh -c 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done; echo x > /dev/null && echo null-ok; [ "$(head -c 5 /dev/zero | wc -c)" = 5 ] && echo zero-ok; [ "$(head -c 8 /dev/urandom | wc -c)" = 8 ] && echo urandom-ok; echo x > /dev/full || echo full-refused'
	run crun
	[ "${lines[0]}" = "/dev/null character special file 1:3 666" ]
	[ "${lines[1]}" = "/dev/zero character special file 1:5 666" ]
	[ "${lines[2]}" = "/dev/full character special file 1:7 666" ]
	[ "${lines[3]}" = "/dev/random character special file 1:8 666" ]
	[ "${lines[4]}" = "/dev/urandom character special file 1:9 666" ]
	[ "${lines[5]}" = "/dev/tty character special file 5:0 666" ]
	[[ "$output" == *null-ok* ]]
	[[ "$output" == *zero-ok* ]]
	[[ "$output" == *urandom-ok* ]]
	[[ "$output" == *"No space left on device"* ]]
	[[ "$output" == *full-refused* ]]
	[ "$status" -eq 0 ]
}

@test "linux.devices entries are created with type, numbers, mode and owner" {
	cfg '.linux.devices = [
		{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 0, "gid": 0},
		{"path": "/dev/hull/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 432, "uid": 1000, "gid": 0}]'
	cfg '.linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
	set_args sh -c 'stat -c "%n %F %t:%T %a %u:%g" /dev/fuse /dev/hull/mynull; echo x > /dev/hull/mynull && echo mynull-ok'
	run crun
	[ "$status" -eq 0 ]
	# 10:229 is a:e5 in stat's hex
	[ "${lines[0]}" = "/dev/fuse character special file a:e5 600 0:0" ]
	# root reaches it through its group
	[ "${lines[1]}" = "/dev/hull/mynull character special file 1:3 660 1000:0" ]
	[ "${lines[2]}" = mynull-ok ]
}

@test "/dev/fd and the stdio links" {
	set_args sh -c 'for l in fd stdin stdout stderr; do echo "$l -> $(readlink /dev/$l)"; done; echo piped | cat /dev/stdin'
	run crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "fd -> /proc/self/fd" ]
	[ "${lines[1]}" = "stdin -> /proc/self/fd/0" ]
	[ "${lines[2]}" = "stdout -> /proc/self/fd/1" ]
	[ "${lines[3]}" = "stderr -> /proc/self/fd/2" ]
	[ "${lines[4]}" = piped ]
}

@test "/dev is a fresh tmpfs, not the host's" {
	set_args sh -c 'cat /proc/self/mountinfo; ls /dev | tr "\n" " "'
	run crun
	[ "$status" -eq 0 ]
	[[ "$(mnt_line /dev)" == *" - tmpfs "* ]]
	# host devices that were not asked for are absent
	[[ "${lines[-1]}" != *" vda "* ]]
	[[ "${lines[-1]}" != *" kmsg "* ]]
	[[ "${lines[-1]}" != *" mem "* ]]
}
