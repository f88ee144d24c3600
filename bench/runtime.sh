#!/bin/bash
# bench/runtime.sh [N] - `run` of the same busybox bundle (args: true), N
# times each, with hull-runtime, runc and crun when installed.  Prints the
# median wall time of each and its ratio to hull's.  Not part of make check.
set -euo pipefail
n=${1:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HULL_BUILD:-$here/build}
tmp=$(mktemp -d /tmp/hull-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
HULL_BUILD=$build "$here/tests/system/mkbundle.sh" "$tmp/bundle" true >/dev/null
# runc and hull both get the same config; drop the network namespace's cost? no: keep the spec's defaults.

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }

time_runs() { # name cmd...
	local name=$1; shift
	local i t0 t1
	for i in $(seq 1 "$n"); do
		t0=$(date +%s.%N)
		"$@" "bench-$name-$i" >/dev/null 2>&1 || { echo "$name failed: $*" >&2; return 1; }
		t1=$(date +%s.%N)
		echo "$t1 - $t0" | bc -l
	done | median
}

declare -A med
med[hull]=$(time_runs hull "$build/hull-runtime" --root "$tmp/hull-state" run --bundle "$tmp/bundle")
if command -v runc >/dev/null; then
	med[runc]=$(time_runs runc runc --root "$tmp/runc-state" run --bundle "$tmp/bundle")
fi
if command -v crun >/dev/null && crun --root "$tmp/crun-state" run --bundle "$tmp/bundle" crun-probe >/dev/null 2>&1; then
	med[crun]=$(time_runs crun crun --root "$tmp/crun-state" run --bundle "$tmp/bundle")
fi
printf '%-8s %12s %10s\n' runtime "median (ms)" "vs hull"
for k in hull runc crun; do
	[ -n "${med[$k]:-}" ] || continue
	printf '%-8s %12.2f %9.2fx\n' "$k" "$(echo "${med[$k]} * 1000" | bc -l)" "$(echo "${med[$k]} / ${med[hull]}" | bc -l)"
done
echo "($n runs each, $(nproc) cores, $(uname -r), $(date -u +%F))"
