#!/usr/bin/env bats
# Known container escapes, replayed: CVE-2019-5736 (overwriting the runtime
# through /proc/PID/exe), CVE-2024-21626 (a leaked host fd as working
# directory), CVE-2021-30465 (mount destinations through symlinks).

bats_require_minimum_version 1.5.0
load helpers

ESCAPE=/tmp/hulltest-escape-$$
REL_ESCAPE=/tmp/hulltest-rel-escape-$$

teardown() {
	exec 7<&- 8>&- 2>/dev/null || true
	cleanup_all
	rm -rf "$ESCAPE" "$REL_ESCAPE"
}

# ---- local helpers ----

crun() {
	hr run --bundle "$BUNDLE" "$(cid)"
}

share_dir() {
	SHARED=$BATS_TEST_TMPDIR/shared
	mkdir -p "$SHARED"
	cfg --arg s "$SHARED" '.mounts += [{"destination": "/shared", "type": "bind", "source": $s, "options": ["rbind", "rw"]}]'
}

add_bind() { # add_bind SRC DEST
	cfg --arg s "$1" --arg d "$2" '.mounts += [{"destination": $d, "type": "bind", "source": $s, "options": ["rbind", "rw"]}]'
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

create_ctr() { # create_ctr ID: created, stdio to a file
	hr create --bundle "$BUNDLE" "$1" >"$BATS_TEST_TMPDIR/$1.out" 2>&1 </dev/null || {
		cat "$BATS_TEST_TMPDIR/$1.out" >&2
		return 1
	}
}

# A host directory with a secret, and fd 7 (no close-on-exec) open on it in
# this shell, so hull inherits it as a careless caller would pass it on.
leak_host_dir() {
	HOSTDIR=$BATS_TEST_TMPDIR/hostdir
	mkdir -p "$HOSTDIR"
	echo TOPSECRET >"$HOSTDIR/SECRET"
	exec 7<"$HOSTDIR"
	exec 8>"$BATS_TEST_TMPDIR/hostfile"
}

hull_sum() {
	sha256sum <"$(readlink -f "$HULL_RUNTIME")"
}

# ---- CVE-2019-5736 ----

@test "CVE-2019-5736: a created container's init runs from a sealed memfd, not the hull binary" {
	set_args sleep 1000
	local id before
	id=$(cid)
	before=$(hull_sum)
	create_ctr "$id"
	local pid
	pid=$(hr state "$id" | jq -r .pid)
	[ "$(readlink "/proc/$pid/exe")" = "/memfd:hull (deleted)" ]
	# it cannot be written, appended to, or truncated
	run sh -c "printf x >> /proc/$pid/exe"
	[ "$status" -ne 0 ]
	run sh -c ": > /proc/$pid/exe"
	[ "$status" -ne 0 ]
	[ "$(hull_sum)" = "$before" ]
	# the memfd is the same program, intact
	[ "$(sha256sum </proc/$pid/exe)" = "$before" ]
}

@test "CVE-2019-5736: from inside, the waiting init's /proc/1/exe cannot be overwritten" {
	set_args sleep 1000
	local id before
	id=$(cid)
	before=$(hull_sum)
	create_ctr "$id"
	run hr exec "$id" sh -c 'readlink /proc/1/exe; echo pwned >> /proc/1/exe && echo APPENDED; echo pwned > /proc/1/exe && echo TRUNCATED; true'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/memfd:hull (deleted)" ]
	[[ "$output" != *APPENDED* ]]
	[[ "$output" != *TRUNCATED* ]]
	[ "$(hull_sum)" = "$before" ]
	# the init still works: start runs the program
	hr start "$id"
	wait_status "$id" running
}

@test "CVE-2019-5736: even root with every capability inside cannot write it" {
	set_args sleep 1000
	cfg '.process.capabilities.bounding += ["CAP_DAC_OVERRIDE", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN"]
		| .process.capabilities.effective = .process.capabilities.bounding
		| .process.capabilities.permitted = .process.capabilities.bounding'
	local id before
	id=$(cid)
	before=$(hull_sum)
	create_ctr "$id"
	run hr exec "$id" sh -c 'readlink /proc/1/exe; echo pwned >> /proc/1/exe && echo APPENDED; echo pwned > /proc/1/exe && echo TRUNCATED; true'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "/memfd:hull (deleted)" ]
	[[ "$output" != *APPENDED* ]]
	[[ "$output" != *TRUNCATED* ]]
	[ "$(hull_sum)" = "$before" ]
}

@test "CVE-2019-5736: the attack itself: hold /proc/1/exe, reopen it for writing once hull is gone" {
	share_dir
	set_args sleep 1000
	local id before
	id=$(cid)
	before=$(hull_sum)
	create_ctr "$id"
	# the attacker keeps a descriptor of whatever /proc/1/exe is while the
	# init is still hull, then writes through it after start
	hr exec --detach "$id" sh -c 'exec 5</proc/1/exe; readlink /proc/self/fd/5 > /shared/held; while [ ! -e /shared/go ]; do sleep 0.05; done; { echo "#!/bin/sh" >> /proc/self/fd/5 && echo WROTE; } > /shared/result 2>&1; echo done >> /shared/result' \
		>/dev/null 2>&1 </dev/null
	wait_file "$SHARED/held"
	hr start "$id"
	wait_status "$id" running
	touch "$SHARED/go"
	for i in $(seq 1 100); do
		grep -q done "$SHARED/result" 2>/dev/null && break
		sleep 0.05
	done
	grep -q done "$SHARED/result"
	[ "$(cat "$SHARED/held")" = "/memfd:hull (deleted)" ]
	! grep -q WROTE "$SHARED/result"
	[ "$(hull_sum)" = "$before" ]
}

@test "CVE-2019-5736: hull exec runs from the sealed memfd too" {
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	"$HULL_RUNTIME" --root "$ROOT" exec "$id" sleep 3 >/dev/null 2>&1 </dev/null &
	local runner=$! exe=
	for i in $(seq 1 40); do
		exe=$(readlink "/proc/$runner/exe" 2>/dev/null || true)
		[ "$exe" = "/memfd:hull (deleted)" ] && break
		sleep 0.05
	done
	[ "$exe" = "/memfd:hull (deleted)" ]
	run sh -c "printf x >> /proc/$runner/exe"
	[ "$status" -ne 0 ]
	kill "$runner" 2>/dev/null || true
	wait "$runner" || true
}

# ---- CVE-2024-21626 ----

@test "CVE-2024-21626: the container's process has only stdio open" {
	leak_host_dir
	set_args sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "; echo; ls -l /proc/self/fd'
	run crun
	[ "$status" -eq 0 ]
	# 0-2, and the directory ls itself is reading
	[ "${lines[0]}" = "0 1 2 3 " ]
	[[ "$output" != *"$HOSTDIR"* ]]
	[[ "$output" != *hostfile* ]]
}

@test "CVE-2024-21626: an exec'd process has only stdio open" {
	leak_host_dir
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	run hr exec "$id" sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "; echo; ls -l /proc/self/fd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0 1 2 3 " ]
	[[ "$output" != *"$HOSTDIR"* ]]
	[[ "$output" != *hostfile* ]]
}

@test "CVE-2024-21626: process.cwd through /proc/self/fd/N cannot reach the host" {
	leak_host_dir
	set_args sh -c 'cat SECRET; cat ../SECRET; echo "cwd=$(readlink /proc/self/cwd)"'
	local n
	for n in 3 4 5 6 7 8 9 10; do
		cfg --arg c "/proc/self/fd/$n" '.process.cwd = $c'
		run crun
		[[ "$output" != *TOPSECRET* ]] || { echo "fd $n: $output"; false; }
		if [ "$status" -eq 0 ]; then
			local cwd
			cwd=$(printf '%s\n' "${lines[@]}" | sed -n 's/^cwd=//p')
			[[ "$cwd" == /* ]] || { echo "fd $n: cwd '$cwd'"; false; }
			[[ "$cwd" != *hostdir* ]]
		fi
	done
	# the leaked directory itself, by the fd we know is leaked: refused outright
	cfg '.process.cwd = "/proc/self/fd/7"'
	run --separate-stderr crun
	[ "$status" -ne 0 ]
	[[ "$stderr" == *cwd* ]]
	[ -z "$(ls -A "$ROOT")" ]
}

@test "CVE-2024-21626: exec --cwd cannot leave the container" {
	leak_host_dir
	set_args sleep 1000
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	local n
	for n in 3 4 5 6 7 8 9; do
		run hr exec --cwd "/proc/self/fd/$n" "$id" sh -c 'cat SECRET; cat ../SECRET; readlink /proc/self/cwd'
		[[ "$output" != *TOPSECRET* ]] || { echo "fd $n: $output"; false; }
	done
	run hr exec --cwd /proc/self/fd/7 "$id" true
	[ "$status" -ne 0 ]
	# dot-dots stop at the container's root
	run hr exec --cwd /../../../.. "$id" sh -c 'pwd; ls /proc/self/cwd/ | grep -c SECRET'
	[ "${lines[0]}" = / ]
	[ "${lines[1]}" = 0 ]
}

# ---- CVE-2021-30465 ----

@test "CVE-2021-30465: a destination symlinked to an absolute host path lands in the rootfs" {
	local hostdir=$BATS_TEST_TMPDIR/hostdir hostdir2=$BATS_TEST_TMPDIR/hostdir2 src=$BATS_TEST_TMPDIR/src
	mkdir -p "$hostdir" "$hostdir2" "$src"
	echo host-file >"$hostdir/host-file"
	echo host-file >"$hostdir2/host-file"
	echo from-src >"$src/from-src"
	ln -s "$hostdir" "$BUNDLE/rootfs/bind-link"
	ln -s "$hostdir2" "$BUNDLE/rootfs/tmpfs-link"
	add_bind "$src" /bind-link
	cfg '.mounts += [{"destination": "/tmpfs-link", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]}]'
	share_dir
	set_args sh -c 'cat /bind-link/from-src; ls -A /bind-link | tr "\n" " "; echo; echo inside > /tmpfs-link/written && echo written; echo ready > /shared/ready; exec sleep 1000'
	local id
	id=$(cid)
	create_ctr "$id"
	hr start "$id"
	wait_file "$SHARED/ready"
	run cat "$BATS_TEST_TMPDIR/$id.out"
	[ "${lines[0]}" = from-src ]
	[ "${lines[1]}" = "from-src " ]
	[ "${lines[2]}" = written ]
	# the host directory is as it was, and nothing is mounted on it
	[ "$(ls -A "$hostdir")" = host-file ]
	[ "$(ls -A "$hostdir2")" = host-file ]
	! grep -q " $hostdir " /proc/self/mountinfo
	! grep -q " $hostdir2 " /proc/self/mountinfo
	# the mount points were made inside the rootfs, under the links' target paths
	[ -d "$BUNDLE/rootfs$hostdir" ]
	[ -d "$BUNDLE/rootfs$hostdir2" ]
	# and in the container's mount table that is where they are
	local pid
	pid=$(hr state "$id" | jq -r .pid)
	awk '{print $5}' "/proc/$pid/mountinfo" | grep -qx "$hostdir"
	awk '{print $5}' "/proc/$pid/mountinfo" | grep -qx "$hostdir2"
}

@test "CVE-2021-30465: ../ in a destination stays inside the rootfs" {
	local src=$BATS_TEST_TMPDIR/src
	mkdir -p "$src"
	echo from-src >"$src/from-src"
	rm -rf "$ESCAPE" "$REL_ESCAPE"
	add_bind "$src" "../../../../../../../..$ESCAPE"
	# a relative symlink climbing out, too
	ln -s "../../../../../../../../..$REL_ESCAPE" "$BUNDLE/rootfs/rel-link"
	add_bind "$src" /rel-link
	set_args sh -c "cat $ESCAPE/from-src; cat /rel-link/from-src; cat $REL_ESCAPE/from-src"
	run --separate-stderr crun
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = from-src ]
	[ "${lines[1]}" = from-src ]
	[ "${lines[2]}" = from-src ]
	# nothing appeared on the host
	[ ! -e "$ESCAPE" ]
	[ ! -e "$REL_ESCAPE" ]
	[ -d "$BUNDLE/rootfs$ESCAPE" ]
	[ -d "$BUNDLE/rootfs$REL_ESCAPE" ]
}

@test "CVE-2021-30465: a mount cannot be placed over the container's root through a symlink" {
	ln -s / "$BUNDLE/rootfs/root-link"
	ln -s .. "$BUNDLE/rootfs/up-link"
	local src=$BATS_TEST_TMPDIR/src
	mkdir -p "$src"
	for dest in /root-link /up-link /..; do
		cp "$(_bundle_template)/config.json" "$BUNDLE/config.json"
		add_bind "$src" "$dest"
		set_args true
		run --separate-stderr crun
		[ "$status" -eq 1 ] || { echo "$dest accepted"; false; }
		[ -z "$(ls -A "$ROOT")" ]
	done
}
