#!/bin/sh
# mkbundle.sh DIR [ARG...] - make an OCI bundle in DIR: a busybox rootfs
# from Debian's busybox-static (one symlink per applet) and a config.json
# from `hull-runtime spec`, with terminal off and the given command (default:
# a greeting from inside).  Needs jq.
set -eu
dir=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
hull=${HULL_BUILD:-$here/../../build}/hull-runtime
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkbundle: $bb not found (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir/rootfs"
r="$dir/rootfs"
mkdir -p "$r/bin" "$r/etc" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/root"
cp "$bb" "$r/bin/busybox"
for a in $("$bb" --list); do
  [ "$a" = busybox ] && continue
  [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> "$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
chmod 1777 "$r/tmp"
rm -f "$dir/config.json"
"$hull" spec --bundle "$dir"
if [ $# -eq 0 ]; then
  set -- sh -c 'echo "hello from a hull container: hostname $(hostname), pid $$, $(id)"'
fi
args=$(for a in "$@"; do printf '%s\n' "$a"; done | jq -R . | jq -s .)
jq --argjson args "$args" '.process.terminal = false | .process.args = $args | .process.env = ["PATH=/bin", "TERM=xterm"]' \
  "$dir/config.json" > "$dir/config.json.tmp"
mv "$dir/config.json.tmp" "$dir/config.json"
