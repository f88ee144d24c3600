#!/usr/bin/env bats
# Image archives cross between hull, Podman and Docker with the same image
# ID (the config digest) on both sides.  Each peer runs with a private
# store under $BATS_FILE_TMPDIR; a peer that is not installed (or, for
# Docker, whose daemon does not start) is skipped with a message.
#   apt-get install -y podman docker.io   (see /work/shared/PEERS.md)

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

start_dockerd() {
	command -v dockerd >/dev/null && command -v docker >/dev/null || {
		echo "dockerd or docker not installed" >"$DK/skip"
		return 0
	}
	dockerd --data-root "$DK/data" --exec-root "$DK/exec" --pidfile "$DK/pid" -H "unix://$DK/sock" \
		--bridge none --iptables=false --ip-masq=false --storage-driver vfs >"$DK/log" 2>&1 </dev/null &
	echo $! >"$DK/dockerd.pid"
	local i
	for i in $(seq 1 60); do
		docker -H "unix://$DK/sock" info >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "dockerd did not start: $(tail -3 "$DK/log")" >"$DK/skip"
}

setup_file() {
	FIX=$BATS_FILE_TMPDIR/fix
	mkdir -p "$FIX"
	mkrootfs "$FIX/rootfs"
	tar --sort=name --owner=0 --group=0 --numeric-owner -C "$FIX/rootfs" -cf "$FIX/bb.tar" .
	cp -a "$FIX/rootfs" "$FIX/rootfs2"
	echo two >"$FIX/rootfs2/etc/which"
	tar --sort=name --owner=0 --group=0 --numeric-owner -C "$FIX/rootfs2" -cf "$FIX/bb2.tar" .
	DK=$BATS_FILE_TMPDIR/docker
	mkdir -p "$DK"
	start_dockerd
	export FIX DK
}

teardown_file() {
	if [ -f "$DK/dockerd.pid" ]; then
		local pid
		pid=$(cat "$DK/dockerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	# layers docker left mounted, if any
	awk -v r="$BATS_FILE_TMPDIR" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

setup() {
	IROOT=$BATS_TEST_TMPDIR/root
	IRUN=$BATS_TEST_TMPDIR/run
	PROOT=$BATS_TEST_TMPDIR/podman
}

teardown() {
	if command -v podman >/dev/null; then
		p image unmount -a >/dev/null 2>&1 || true
	fi
	awk -v r="$BATS_TEST_TMPDIR" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

h() {
	"$HULL" --root "$IROOT" --runroot "$IRUN" "$@"
}

p() {
	podman --root "$PROOT/root" --runroot "$PROOT/run" --tmpdir "$PROOT/tmp" --storage-driver vfs \
		--events-backend none --cgroup-manager cgroupfs "$@"
}

d() {
	docker -H "unix://$DK/sock" "$@"
}

need_podman() {
	command -v podman >/dev/null || skip "podman is not installed (apt-get install -y podman)"
}

need_docker() {
	[ ! -f "$DK/skip" ] || skip "docker: $(cat "$DK/skip")"
}

# The full id "sha256:..." of an image in podman / docker.
pid_of() { p image inspect --format '{{.Id}}' "$1"; }
did_of() { d image inspect --format '{{.Id}}' "$1"; }

# ---- podman ----

@test "podman: hull and podman import the same tarball to the same image ID" {
	need_podman
	hid=$(h import -q -c 'ENV=PATH=/bin' -c 'CMD=["/bin/sh"]' -m imported "$FIX/bb.tar" bb:1)
	p import -q -c 'ENV=PATH=/bin' -c 'CMD=["/bin/sh"]' -m imported "$FIX/bb.tar" bb:1 >/dev/null
	[ "sha256:$(pid_of bb:1)" = "$hid" ]
}

@test "podman: hull save (docker-archive) -> podman load, same ID, tags and content" {
	need_podman
	hid=$(h import -q -c 'CMD=["/bin/sh"]' "$FIX/bb.tar" bb:1)
	h tag bb:1 quay.io/x/bb:2
	h save -o "$BATS_TEST_TMPDIR/h.tar" bb:1 quay.io/x/bb:2
	run p load -i "$BATS_TEST_TMPDIR/h.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *localhost/bb:1* ]]
	[ "sha256:$(pid_of localhost/bb:1)" = "$hid" ]
	[ "sha256:$(pid_of quay.io/x/bb:2)" = "$hid" ]
	[ "$(p image inspect --format '{{.Config.Cmd}}' bb:1)" = "[/bin/sh]" ]
	mnt=$(p image mount bb:1)
	cmp "$mnt/bin/busybox" /bin/busybox
	p image unmount bb:1 >/dev/null
}

@test "podman: hull save --format oci-archive -> podman load, same ID" {
	need_podman
	hid=$(h import -q "$FIX/bb.tar" bb:1)
	h save --format oci-archive -o "$BATS_TEST_TMPDIR/h.tar" bb:1
	run p load -i "$BATS_TEST_TMPDIR/h.tar"
	[ "$status" -eq 0 ]
	[ "sha256:$(pid_of localhost/bb:1)" = "$hid" ]
}

@test "podman: podman save (docker-archive) -> hull load, same ID and tags" {
	need_podman
	p import -q -c 'CMD=["/bin/sh"]' "$FIX/bb.tar" localhost/pm:1 >/dev/null
	pid=$(pid_of localhost/pm:1)
	p save -o "$BATS_TEST_TMPDIR/p.tar" localhost/pm:1
	run h load -i "$BATS_TEST_TMPDIR/p.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/pm:1" ]
	[ "$(h image inspect --format '{{.Id}}' pm:1)" = "$pid" ]
	[ "$(h image inspect --format '{{json .Config.Cmd}}' pm:1)" = '["/bin/sh"]' ]
	mnt=$(h image mount pm:1)
	cmp "$mnt/bin/busybox" /bin/busybox
	h image unmount pm:1 >/dev/null
	run h system check
	[ "$status" -eq 0 ]
}

@test "podman: podman save --format oci-archive -> hull load, same ID" {
	need_podman
	p import -q "$FIX/bb.tar" localhost/pm:oci >/dev/null
	pid=$(pid_of localhost/pm:oci)
	p save --format oci-archive -o "$BATS_TEST_TMPDIR/p.tar" localhost/pm:oci
	run h load -i "$BATS_TEST_TMPDIR/p.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"localhost/pm:oci"* ]]
	[ "$(h image inspect --format '{{.Id}}' localhost/pm:oci)" = "$pid" ]
}

@test "podman: a multi-image podman archive loads in hull with every tag" {
	need_podman
	p import -q "$FIX/bb.tar" localhost/m1:1 >/dev/null
	p import -q "$FIX/bb2.tar" localhost/m2:1 >/dev/null
	p tag localhost/m1:1 localhost/m1:2
	p save -m -o "$BATS_TEST_TMPDIR/m.tar" localhost/m1:1 localhost/m1:2 localhost/m2:1
	run h load -i "$BATS_TEST_TMPDIR/m.tar"
	[ "$status" -eq 0 ]
	for n in m1:1 m1:2 m2:1; do
		[[ "$output" == *"Loaded image: localhost/$n"* ]]
		[ "$(h image inspect --format '{{.Id}}' $n)" = "$(pid_of localhost/$n)" ]
	done
	# and back: a multi-image hull archive in podman
	h save -o "$BATS_TEST_TMPDIR/back.tar" m1:1 m2:1
	p rmi -a -f >/dev/null
	run p load -i "$BATS_TEST_TMPDIR/back.tar"
	[ "$status" -eq 0 ]
	[ "$(pid_of localhost/m2:1)" = "$(h image inspect --format '{{.Id}}' m2:1)" ]
}

# ---- docker ----

@test "docker: hull save -> docker load, same ID" {
	need_docker
	hid=$(h import -q -c 'CMD=["/bin/sh"]' "$FIX/bb.tar" hullbb:1)
	h save -o "$BATS_TEST_TMPDIR/h.tar" hullbb:1
	run d load -i "$BATS_TEST_TMPDIR/h.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *hullbb:1* ]]
	[ "$(did_of localhost/hullbb:1)" = "$hid" ]
	[ "$(d image inspect --format '{{json .Config.Cmd}}' localhost/hullbb:1)" = '["/bin/sh"]' ]
	d rmi localhost/hullbb:1 >/dev/null
}

@test "docker: docker save -> hull load, same ID" {
	need_docker
	d import -c 'ENV PATH=/bin' "$FIX/bb2.tar" dkbb:1 >/dev/null
	did=$(did_of dkbb:1)
	d save -o "$BATS_TEST_TMPDIR/d.tar" dkbb:1
	run h load -i "$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"dkbb:1"* ]]
	[ "$(h image inspect --format '{{.Id}}' dkbb:1)" = "${did#sha256:}" ]
	mnt=$(h image mount dkbb:1)
	[ "$(cat "$mnt/etc/which")" = two ]
	h image unmount dkbb:1 >/dev/null
	d rmi dkbb:1 >/dev/null
}
