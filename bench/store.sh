#!/bin/bash
# bench/store.sh [N] - the image store against Podman, in one run:
#   1. `hull load` and `podman load` of the same ~200 MB single-layer
#      docker-archive (a debootstrap --variant=minbase bookworm root, made
#      once and cached; without debootstrap, a tar of part of /usr), N runs
#      each into a fresh store, warm page cache;
#   2. `hull images` with 200 images in the store (target: under 20 ms),
#      next to `hull version` (the cost of starting the binary at all).
# Prints medians and ratios.  Needs root.  Not part of make check.
#   HULL_BUILD     build directory (default ./build)
#   HULL_BENCH_CACHE  where the rootfs tarball is kept (default /var/tmp/hull-bench)
set -euo pipefail
n=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HULL_BUILD:-$here/build}
hull=$build/hull
cache=${HULL_BENCH_CACHE:-/var/tmp/hull-bench}
tmp=$(mktemp -d /var/tmp/hull-bench-run.XXXXXX)
cleanup() {
	# podman may leave overlay mounts under its roots
	awk -v r="$tmp" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -x "$hull" ] || { echo "store.sh: $hull not built (make build, or set HULL_BUILD)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "store.sh: run as root" >&2; exit 1; }
mkdir -p "$cache"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ms() { echo "$1 * 1000" | bc -l; }

# ---- the rootfs tarball (one layer) ----
rootfs_tar=$cache/bookworm-minbase.tar
if [ ! -s "$rootfs_tar" ]; then
	if command -v debootstrap >/dev/null; then
		echo "making $rootfs_tar with debootstrap (a few minutes, once)..." >&2
		rm -rf "$cache/rootfs"
		debootstrap --variant=minbase bookworm "$cache/rootfs" >"$cache/debootstrap.log" 2>&1 || {
			echo "debootstrap failed, see $cache/debootstrap.log" >&2
			exit 1
		}
		tar --numeric-owner -C "$cache/rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
		rm -rf "$cache/rootfs"
	else
		rootfs_tar=$cache/usr-part.tar
		if [ ! -s "$rootfs_tar" ]; then
			echo "no debootstrap: using ~200 MB of /usr instead" >&2
			# the largest directories of /usr/lib and /usr/share up to ~200 MB
			(cd / && du -s --block-size=1 usr/lib/* usr/share/* 2>/dev/null | sort -n |
				awk '{ if (t + $1 < 200e6) { t += $1; print $2 } }') >"$cache/usr-part.list"
			tar --numeric-owner -C / -cf "$rootfs_tar.tmp" -T "$cache/usr-part.list" && mv "$rootfs_tar.tmp" "$rootfs_tar"
		fi
	fi
fi

# ---- the archive: import once into a scratch store, save as docker-archive ----
archive=$tmp/image.tar
"$hull" --root "$tmp/scratch" --runroot "$tmp/scratch-run" import -q "$rootfs_tar" localhost/bench:1 >/dev/null
"$hull" --root "$tmp/scratch" --runroot "$tmp/scratch-run" save -o "$archive" localhost/bench:1
id=$("$hull" --root "$tmp/scratch" --runroot "$tmp/scratch-run" images -q --no-trunc)
rm -rf "$tmp/scratch" "$tmp/scratch-run"
size_mb=$(($(stat -c %s "$archive") / 1000000))
cat "$archive" >/dev/null # warm the page cache for both

# ---- load ----
time_load() { # name
	local name=$1 i t0 t1 root
	for i in $(seq 1 "$n"); do
		root=$tmp/$name-$i
		case $name in
		hull) t0=$EPOCHREALTIME; "$hull" --root "$root" --runroot "$root-run" load -q -i "$archive" >/dev/null; t1=$EPOCHREALTIME ;;
		podman) t0=$EPOCHREALTIME; podman --root "$root" --runroot "$root-run" --tmpdir "$root-tmp" --events-backend none \
				load -q -i "$archive" >/dev/null; t1=$EPOCHREALTIME ;;
		esac
		echo "$t1 - $t0" | bc -l
		# check the result once, then free the space
		if [ "$i" = 1 ] && [ "$name" = hull ]; then
			got=$("$hull" --root "$root" --runroot "$root-run" images -q --no-trunc)
			[ "$got" = "$id" ] || { echo "hull load gave $got, want $id" >&2; exit 1; }
		fi
		awk -v r="$root" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		rm -rf "$root" "$root-run" "$root-tmp"
	done | median
}

declare -A med
med[hull_load]=$(time_load hull)
if command -v podman >/dev/null; then
	med[podman_load]=$(time_load podman)
fi

# ---- images with 200 images ----
store=(--root "$tmp/many" --runroot "$tmp/many-run")
small=$tmp/small
mkdir -p "$small/etc"
echo hello >"$small/etc/hello"
tar -C "$small" -cf "$tmp/small.tar" .
base=$(date +%s)
for i in $(seq 1 200); do
	# each import a distinct image (its creation time is the tarball's mtime)
	touch -d "@$((base - 100000 + i))" "$tmp/small.tar"
	"$hull" "${store[@]}" import -q "$tmp/small.tar" "localhost/many/img$i:$i" >/dev/null
done
count=$("$hull" "${store[@]}" images -q | wc -l)
[ "$count" = 200 ] || { echo "expected 200 images, got $count" >&2; exit 1; }
time_cmd() { # runs cmd...
	local runs=$1 i t0 t1
	shift
	for i in $(seq 1 "$runs"); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null
		t1=$EPOCHREALTIME
		echo "$t1 - $t0" | bc -l
	done | median
}
med[images]=$(time_cmd 50 "$hull" "${store[@]}" images)
med[images_json]=$(time_cmd 50 "$hull" "${store[@]}" images --format json)
med[version]=$(time_cmd 50 "$hull" version)
med[true]=$(time_cmd 50 /bin/true)

# ---- report ----
echo "load of one ${size_mb} MB single-layer docker-archive ($n runs each, fresh store, warm cache):"
printf '  %-8s %10.1f ms\n' hull "$(ms "${med[hull_load]}")"
if [ -n "${med[podman_load]:-}" ]; then
	printf '  %-8s %10.1f ms   (hull is %.2fx faster; target 3x)\n' podman "$(ms "${med[podman_load]}")" \
		"$(echo "${med[podman_load]} / ${med[hull_load]}" | bc -l)"
else
	echo "  podman   not installed"
fi
echo "images with 200 images in the store (median of 50):"
printf '  %-22s %8.1f ms   (target < 20 ms)\n' "hull images" "$(ms "${med[images]}")"
printf '  %-22s %8.1f ms\n' "hull images --format json" "$(ms "${med[images_json]}")"
printf '  %-22s %8.1f ms   (process start, no store)\n' "hull version" "$(ms "${med[version]}")"
printf '  %-22s %8.1f ms   (fork+exec floor on this machine)\n' "/bin/true" "$(ms "${med[true]}")"
echo "($(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F), rootfs $(basename "$rootfs_tar"))"
