#!/usr/bin/env bats
# Crash safety and concurrency of the image store, through the commands:
# `import`, `load` and `rmi` are killed with SIGKILL at random moments many
# times; after every kill no image may be half-visible (each listed image
# inspects and resolves), and at the end `hull system check` must find a
# clean store with no staging leftovers.  Then 20 processes import, tag and
# remove images on one store at once, with no error.

bats_require_minimum_version 1.5.0
load helpers

mkrootfs() {
	local r=$1 a
	mkdir -p "$r/bin" "$r/etc" "$r/tmp"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] && continue
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	chmod 1777 "$r/tmp"
}

setup_file() {
	FIX=$BATS_FILE_TMPDIR/fix
	mkdir -p "$FIX"
	mkrootfs "$FIX/rootfs"
	tar --sort=name --owner=0 --group=0 --numeric-owner -C "$FIX/rootfs" -cf "$FIX/bb.tar" .
	# a bigger layer, so a kill often lands in the middle of unpacking:
	# busybox plus 24 MiB in 96 files
	cp -a "$FIX/rootfs" "$FIX/big"
	mkdir -p "$FIX/big/data"
	for i in $(seq 1 96); do
		head -c 262144 /dev/urandom >"$FIX/big/data/f$i"
	done
	tar --sort=name --owner=0 --group=0 --numeric-owner -C "$FIX/big" -cf "$FIX/big.tar" .
	export FIX
}

setup() {
	IROOT=$BATS_TEST_TMPDIR/root
	IRUN=$BATS_TEST_TMPDIR/run
}

teardown() {
	awk -v r="$BATS_TEST_TMPDIR" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

h() {
	"$HULL" --root "$IROOT" --runroot "$IRUN" "$@"
}

# Sleep a random time in [0, $1) milliseconds.
rsleep() {
	sleep "$(printf '0.%03d' $((RANDOM % $1)))"
}

# Run a hull command in the background, kill -9 it after a random delay
# (up to $1 ms); succeed either way.  The command's output goes to a file.
kill_during() {
	local max=$1
	shift
	# hull itself in the background (not a shell function: $! must be hull)
	"$HULL" --root "$IROOT" --runroot "$IRUN" "$@" >"$BATS_TEST_TMPDIR/killed.out" 2>&1 &
	local pid=$!
	rsleep "$max"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# No half-visible image: every listed image inspects (config and manifest
# read back with their digests verified) and each of its names resolves.
all_images_whole() {
	local ids id name
	ids=$(h images -a -q --no-trunc) || { echo "images failed after a kill"; return 1; }
	for id in $ids; do
		h image inspect "$id" >"$BATS_TEST_TMPDIR/inspect.json" || {
			echo "image $id listed but not inspectable"
			return 1
		}
		for name in $(jq -r '.[0].RepoTags[]?' "$BATS_TEST_TMPDIR/inspect.json"); do
			[ "$(h image inspect --format '{{.Id}}' "$name")" = "${id#sha256:}" ] || {
				echo "name $name of $id does not resolve"
				return 1
			}
		done
	done
}

# After the kills: one more command takes the lock (it sweeps what the dead
# left), then the store must check clean and hold no staging leftovers.
store_clean() {
	h import -q "$FIX/bb.tar" final:1 >/dev/null
	run h system check
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors"* ]]
	[ -z "$(ls -A "$IROOT/tmp" 2>/dev/null)" ] || {
		echo "staging leftovers: $(ls -A "$IROOT/tmp")"
		return 1
	}
	# and it still works: what is listed mounts
	local mnt
	mnt=$(h image mount final:1)
	cmp "$mnt/bin/busybox" /bin/busybox
	h image unmount final:1 >/dev/null
}

@test "kill -9 during import, many times: nothing half-visible, check clean" {
	local end=$((SECONDS + 15)) n=0
	while [ $SECONDS -lt $end ]; do
		n=$((n + 1))
		kill_during 300 import -q "$FIX/big.tar" "big:$n"
		all_images_whole
		# an import that completed: remove it so the next one unpacks again
		if [ -n "$(h images -q)" ]; then
			h rmi -a -f >/dev/null
		fi
	done
	echo "killed $n imports"
	[ $n -ge 10 ]
	store_clean
}

@test "kill -9 during load, many times: nothing half-visible, check clean" {
	h import -q "$FIX/big.tar" big:1 >/dev/null
	h tag big:1 big:2
	h save -o "$BATS_FILE_TMPDIR/big-docker.tar" big:1 big:2
	h save --format oci-archive -o "$BATS_FILE_TMPDIR/big-oci.tar" big:1
	h rmi -a -f >/dev/null
	local end=$((SECONDS + 13)) n=0 a
	while [ $SECONDS -lt $end ]; do
		n=$((n + 1))
		a=$BATS_FILE_TMPDIR/big-docker.tar
		[ $((n % 2)) -eq 0 ] && a=$BATS_FILE_TMPDIR/big-oci.tar
		kill_during 300 load -i "$a"
		all_images_whole
		if h image exists big:1; then
			h rmi -a -f >/dev/null
		fi
	done
	echo "killed $n loads"
	[ $n -ge 10 ]
	store_clean
}

@test "kill -9 during rmi, many times: the image is whole or gone, check clean" {
	local end=$((SECONDS + 12)) n=0 gone=0 base
	base=$(date +%s)
	cp "$FIX/big.tar" "$BATS_TEST_TMPDIR/victim.tar"
	while [ $SECONDS -lt $end ]; do
		n=$((n + 1))
		# a new image each time (its creation time is the tarball's mtime)
		touch -d "@$((base - 100000 + n))" "$BATS_TEST_TMPDIR/victim.tar"
		h import -q "$BATS_TEST_TMPDIR/victim.tar" "victim:$n" >/dev/null
		kill_during 40 rmi -f "victim:$n"
		all_images_whole
		h image exists "victim:$n" || gone=$((gone + 1))
	done
	echo "killed $n rmis; $gone had finished"
	[ $n -ge 5 ]
	h rmi -a -f >/dev/null
	store_clean
}

@test "kill -9 at each of the store's crash points" {
	local src=$BATS_TEST_DIRNAME/../../src/image points p
	points=$(grep -rhoE 'store_crash_point\("[a-z-]+"\)' "$src" 2>/dev/null | sed -E 's/.*\("([a-z-]+)"\)/\1/' | sort -u)
	[ -n "$points" ] || skip "no crash points in $src"
	h import -q "$FIX/bb.tar" saved:1 >/dev/null
	h save -o "$BATS_TEST_TMPDIR/cp.tar" saved:1
	h rmi -a -f >/dev/null
	for p in $points; do
		# each point through the commands that pass it: import, rmi, load
		HULL_TEST_CRASH_AT=$p h import -q "$FIX/big.tar" "cp-$p:1" >/dev/null 2>&1 || true
		all_images_whole
		h import -q "$FIX/bb.tar" "keep-$p:1" >/dev/null
		HULL_TEST_CRASH_AT=$p h rmi -f "keep-$p:1" >/dev/null 2>&1 || true
		all_images_whole
		h rmi -a -f >/dev/null
		HULL_TEST_CRASH_AT=$p h load -i "$BATS_TEST_TMPDIR/cp.tar" >/dev/null 2>&1 || true
		all_images_whole
	done
	echo "crash points: $points"
	store_clean
}

@test "20 parallel import / tag / rmi on one store: no error" {
	local i base
	base=$(date +%s)
	mkdir -p "$BATS_TEST_TMPDIR/src"
	for i in $(seq 1 20); do
		# distinct configs (an import's creation time is the tarball's
		# mtime) over one shared layer, or the bigger one for every 5th
		if [ $((i % 5)) -eq 0 ]; then
			cp "$FIX/big.tar" "$BATS_TEST_TMPDIR/src/$i.tar"
		else
			cp "$FIX/bb.tar" "$BATS_TEST_TMPDIR/src/$i.tar"
		fi
		touch -d "@$((base - 1000 + i))" "$BATS_TEST_TMPDIR/src/$i.tar"
	done
	h import -q "$FIX/bb.tar" base:1 >/dev/null # the shared layer, kept throughout
	for i in $(seq 1 20); do
		(
			set -e
			for round in 1 2; do
				id=$(h import -q "$BATS_TEST_TMPDIR/src/$i.tar" "job$i:$round")
				h tag "job$i:$round" "job$i:x$round" "other/job$i:$round"
				h images -q >/dev/null
				h rmi "job$i:x$round" "other/job$i:$round" >/dev/null
				h untag "job$i:$round"
				h rmi "$id" >/dev/null
			done
		) >"$BATS_TEST_TMPDIR/job$i.out" 2>"$BATS_TEST_TMPDIR/job$i.err" &
	done
	local fail=0
	for job in $(jobs -p); do
		wait "$job" || fail=1
	done
	for i in $(seq 1 20); do
		if [ -s "$BATS_TEST_TMPDIR/job$i.err" ]; then
			echo "job $i: $(cat "$BATS_TEST_TMPDIR/job$i.err")"
			fail=1
		fi
	done
	[ $fail -eq 0 ]
	h image prune -f >/dev/null
	run h images -a --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "localhost/base:1" ]
	run h system check
	echo "$output"
	[ "$status" -eq 0 ]
}
