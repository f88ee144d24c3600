#!/usr/bin/env bats
# The image commands as a Podman user types them: import, load, save,
# images, tag, untag, rmi, image inspect, history, image prune, image
# exists, image mount/unmount, system df, system check, and their options.
# Every test has its own store (--root/--runroot under $BATS_TEST_TMPDIR).

bats_require_minimum_version 1.5.0
load helpers

# ---- local helpers ----

# mkrootfs DIR: a busybox root (one symlink per applet), as mkbundle.sh makes.
mkrootfs() {
	local r=$1 a
	mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] && continue
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
	chmod 1777 "$r/tmp"
}

mktar() { # DIR OUT
	tar --sort=name --owner=0 --group=0 --numeric-owner -C "$1" -cf "$2" .
}

setup_file() {
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	FIX=$BATS_FILE_TMPDIR/fix
	mkdir -p "$FIX"
	mkrootfs "$FIX/rootfs"
	mktar "$FIX/rootfs" "$FIX/bb.tar"
	gzip -c "$FIX/bb.tar" >"$FIX/bb.tar.gz"
	cp -a "$FIX/rootfs" "$FIX/rootfs2"
	echo two >"$FIX/rootfs2/etc/which"
	mktar "$FIX/rootfs2" "$FIX/bb2.tar"
	export FIX
}

setup() {
	IROOT=$BATS_TEST_TMPDIR/root
	IRUN=$BATS_TEST_TMPDIR/run
	BB=$FIX/bb.tar
	BB2=$FIX/bb2.tar
}

teardown() {
	# image mounts left by a failing test
	local m
	for m in $(awk -v r="$BATS_TEST_TMPDIR" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

h() {
	"$HULL" --root "$IROOT" --runroot "$IRUN" "$@"
}

# import_bb [NAME] [FILE]: import and print the full id (sha256:...)
import_bb() {
	local out
	out=$(h import -q "${2:-$BB}" ${1:+"$1"}) || return 1
	echo "$out"
}

hex() {
	echo "${1#sha256:}"
}

# tar_at DATE SRC: a copy of the tarball SRC with mtime DATE (an imported
# tarball's creation time is its mtime, as in Podman), path printed
tar_at() {
	local out=$BATS_TEST_TMPDIR/at-$(date -d "$1" +%s)-$(basename "$2")
	cp "$2" "$out"
	touch -d "$1" "$out"
	echo "$out"
}

# ---- --help ----

@test "every command's --help lists its flags one per line" {
	check_help() {
		local cmd=$1
		shift
		run h $cmd --help
		[ "$status" -eq 0 ] || { echo "$cmd --help: $output"; return 1; }
		local f
		for f in "$@"; do
			[ "$(grep -c -- "$f\b" <<<"$output")" -eq 1 ] || { echo "$cmd --help lacks $f:"; echo "$output"; return 1; }
		done
	}
	check_help images --all --quiet --digests --no-trunc --filter --format --noheading --sort
	check_help "image ls" --all --quiet --digests --no-trunc --filter --format
	check_help "image list" --all --quiet
	check_help import --change --message --quiet
	check_help load --input --quiet
	check_help save --output --format --multi-image-archive --quiet
	check_help tag
	check_help untag
	check_help rmi --force --all --ignore
	check_help "image rm" --force --all --ignore
	check_help history --no-trunc --quiet --human --format
	check_help "image inspect" --format
	check_help "image prune" --all --force
	check_help "image exists"
	check_help "image mount"
	check_help "image unmount" --force
	check_help "system df" --verbose --format
	check_help "system check" --repair --quiet --format
	run h --help
	[ "$status" -eq 0 ]
	for f in --root --runroot --storage-driver; do
		grep -q -- "$f" <<<"$output"
	done
	for c in images import load save tag untag rmi history image system; do
		grep -qE "^  $c " <<<"$output"
	done
	run h image --help
	for c in ls inspect prune exists mount unmount rm tag; do
		grep -qE "^  $c " <<<"$output"
	done
}

@test "bad usage exits 125 with a message" {
	run h images --bogus
	[ "$status" -eq 125 ]
	[[ "$output" == *"unknown option"* ]]
	run h tag
	[ "$status" -eq 125 ]
	run h history
	[ "$status" -eq 125 ]
	run h image exists
	[ "$status" -eq 125 ]
	run h rmi
	[ "$status" -eq 125 ]
	[[ "$output" == *"must be specified"* ]]
	run h save --format docker-dir x
	[ "$status" -eq 125 ]
	[[ "$output" == *"docker-dir"* ]]
	run h image nosuchsub
	[ "$status" -eq 125 ]
	run h images --sort nonsense
	[ "$status" -eq 125 ]
}

# ---- import ----

@test "import a tarball: id, name, layer digest, --change and --message" {
	run --separate-stderr h import -c 'ENV=PATH=/bin' -c 'CMD=["/bin/sh"]' --change 'WORKDIR /work' \
		-m 'first import' "$BB" bb:1
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ -z "$stderr" ]
	id=$output
	run h image inspect bb:1
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$(hex $id)" ]
	[ "$(jq -r '.[0].RepoTags[0]' <<<"$output")" = localhost/bb:1 ]
	[ "$(jq -c '.[0].Config.Env' <<<"$output")" = '["PATH=/bin"]' ]
	[ "$(jq -c '.[0].Config.Cmd' <<<"$output")" = '["/bin/sh"]' ]
	[ "$(jq -r '.[0].Config.WorkingDir' <<<"$output")" = /work ]
	[ "$(jq -r '.[0].Comment' <<<"$output")" = 'first import' ]
	[ "$(jq -r '.[0].Os' <<<"$output")" = linux ]
	[ "$(jq -r '.[0].Architecture' <<<"$output")" = "$(dpkg --print-architecture)" ]
	# the layer's diff ID is the tarball's own digest
	[ "$(jq -r '.[0].RootFS.Layers[0]' <<<"$output")" = "sha256:$(sha256sum "$BB" | cut -d' ' -f1)" ]
	[ "$(jq -r '.[0].RootFS.Layers | length' <<<"$output")" = 1 ]
	# the image id is the config's digest
	[ "$(sha256sum "$IROOT/blobs/sha256/$(hex $id)" | cut -d' ' -f1)" = "$(hex $id)" ]
}

@test "import every --change instruction, in both spellings" {
	run h import -q \
		-c 'ENTRYPOINT ["/bin/sh", "-c"]' -c 'EXPOSE 8080/tcp' -c 'LABEL a=b' -c 'LABEL=c=d' \
		-c 'USER nobody' -c 'VOLUME /data' -c 'STOPSIGNAL SIGINT' -c 'ENV A=1' -c 'CMD echo hi' "$BB" chg
	[ "$status" -eq 0 ]
	run h image inspect --format '{{json .Config}}' chg
	[ "$status" -eq 0 ]
	cfg=$output
	[ "$(jq -c .Entrypoint <<<"$cfg")" = '["/bin/sh","-c"]' ]
	[ "$(jq -r '.ExposedPorts | keys[0]' <<<"$cfg")" = 8080/tcp ]
	[ "$(jq -r .Labels.a <<<"$cfg")" = b ]
	[ "$(jq -r .Labels.c <<<"$cfg")" = d ]
	[ "$(jq -r .User <<<"$cfg")" = nobody ]
	[ "$(jq -r '.Volumes | keys[0]' <<<"$cfg")" = /data ]
	[ "$(jq -r .StopSignal <<<"$cfg")" = SIGINT ]
	[ "$(jq -r '.Env | index("A=1")' <<<"$cfg")" != null ]
	# shell form
	[ "$(jq -c .Cmd <<<"$cfg")" = '["/bin/sh","-c","echo hi"]' ]
	run h image inspect --format '{{.User}}' chg
	[ "$output" = nobody ]
}

@test "import refuses a bad --change, a bad name and a missing file" {
	run h import -c 'FROB x' "$BB" x
	[ "$status" -eq 125 ]
	[[ "$output" == *FROB* ]]
	run h import -c 'ONBUILD RUN true' "$BB" x
	[ "$status" -eq 125 ]
	run h import "$BB" 'Bad:Name'
	[ "$status" -eq 125 ]
	run h import "$BATS_TEST_TMPDIR/nope.tar" x
	[ "$status" -eq 125 ]
	[[ "$output" == *nope.tar* ]]
	run h images -q
	[ -z "$output" ]
}

@test "import from stdin, from a gzip'd tarball and from a directory" {
	run bash -c "cat '$BB' | '$HULL' --root '$IROOT' --runroot '$IRUN' import - fromstdin"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	run h import -q "$FIX/bb.tar.gz" fromgz
	[ "$status" -eq 0 ]
	# same uncompressed layer either way
	[ "$(h image inspect --format '{{json .RootFS.Layers}}' fromgz)" = \
		"$(h image inspect --format '{{json .RootFS.Layers}}' fromstdin)" ]
	run h import -q "$FIX/rootfs2" fromdir
	[ "$status" -eq 0 ]
	run h image mount fromdir
	[ "$status" -eq 0 ]
	mnt=$output
	[ "$(cat "$mnt/etc/which")" = two ]
	cmp "$mnt/bin/busybox" /bin/busybox
	[ "$(readlink "$mnt/bin/sh")" = busybox ]
	h image unmount fromdir
	run h images --format '{{.Repository}}:{{.Tag}}' --sort repository
	[ "$output" = "localhost/fromdir:latest
localhost/fromgz:latest
localhost/fromstdin:latest" ]
}

@test "import without a name makes a dangling image; -q prints only the id" {
	run --separate-stderr h import -q "$BB"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	run h images
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" =~ ^\<none\>\ +\<none\>\ +${id:7:12}\  ]]
	run h images --filter dangling=true -q
	[ "$output" = "${id:7:12}" ]
	run h images --filter dangling=false -q
	[ -z "$output" ]
}

# ---- images ----

@test "images: Podman's table, ids, sizes and times" {
	import_bb localhost/bb:1 >/dev/null
	run --separate-stderr h images
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^REPOSITORY\ {4}TAG\ {9}IMAGE\ ID\ {6}CREATED\ +SIZE$ ]]
	[[ "${lines[1]}" =~ ^localhost/bb\ {2}1\ {11}[0-9a-f]{12}\ {2}(Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ +[0-9.]+\ [kMG]?B$ ]]
	# the SIZE column starts where its header starts
	hdr=${lines[0]%%SIZE*}
	[ "${lines[1]:${#hdr}:1}" != " " ]
	# size as Podman writes it: 3 significant digits, decimal units
	size=$(h image inspect --format '{{.Size}}' bb:1)
	[ "$size" -gt 1000000 ]
	want=$(awk -v s="$size" 'BEGIN { printf "%.3g MB", s / 1000000 }')
	[[ "${lines[1]}" == *"$want" ]]
}

@test "images -q, --no-trunc, --digests, -n and -a" {
	id=$(import_bb bb:1)
	h tag bb:1 bb:2 other:x
	run h images -q
	[ "$output" = "${id:7:12}" ] # one line per image, not per name
	run h images -q --no-trunc
	[ "$output" = "$id" ]
	run h images --no-trunc
	[[ "${lines[1]}" == *"$id"* ]]
	run h images --digests
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
	digest=$(h image inspect --format '{{.Digest}}' bb:1)
	[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]
	[[ "${lines[1]}" == *"$digest"* ]]
	run h images -n
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[0]}" != REPOSITORY* ]]
	run h images -a
	[ "${#lines[@]}" -eq 4 ]
	run h image ls --noheading --format '{{.Repository}} {{.Tag}}' --sort repository
	[ "$output" = "localhost/bb 1
localhost/bb 2
localhost/other x" ]
	run h image list -q
	[ "$output" = "${id:7:12}" ]
}

@test "images --format: every field, json, {{json .Field}} and table" {
	id=$(import_bb bb:1)
	run --separate-stderr h images --format '{{.ID}}|{{.Repository}}|{{.Tag}}|{{.Digest}}|{{.Size}}|{{.CreatedSince}}|{{.CreatedAt}}'
	[ "$status" -eq 0 ]
	IFS='|' read -r fid frepo ftag fdig fsize fsince fat <<<"$output"
	[ "$fid" = "${id:7:12}" ]
	[ "$frepo" = localhost/bb ]
	[ "$ftag" = 1 ]
	[ "$fdig" = "$(h image inspect --format '{{.Digest}}' bb:1)" ]
	[[ "$fsize" =~ ^[0-9.]+\ MB$ ]]
	[[ "$fsince" == *ago ]]
	[[ "$fat" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\ \+0000\ UTC$ ]]
	run h images --format json
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 1 ]
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$(hex $id)" ]
	[ "$(jq -r '.[0].Names[0]' <<<"$output")" = localhost/bb:1 ]
	[ "$(jq -r '.[0].Size' <<<"$output")" = "$(h image inspect --format '{{.Size}}' bb:1)" ]
	[ "$(jq -r '.[0].Containers' <<<"$output")" = 0 ]
	[[ "$(jq -r '.[0].CreatedAt' <<<"$output")" =~ ^[0-9-]{10}T[0-9:]{8}Z$ ]]
	run h images --format '{{json .}}'
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$(hex $id)" ]
	run h images --format '{{json .Names}}'
	[ "$output" = '["localhost/bb:1"]' ]
	run h images --format 'table {{.Repository}}\t{{.Tag}}'
	[ "${lines[0]}" = "REPOSITORY    TAG" ]
	[ "${lines[1]}" = "localhost/bb  1" ]
	run h images --format 'table {{.ID}} {{.CreatedAt}}'
	[[ "${lines[0]}" =~ ^IMAGE\ ID\ {6}CREATED\ AT$ ]]
	run h images --format '{{.Repository}}\t{{.ID}}'
	[ "$output" = "localhost/bb  ${id:7:12}" ]
	run h images --format table
	[[ "${lines[0]}" =~ ^REPOSITORY ]]
}

@test "images --format with an unknown field fails before printing" {
	import_bb bb:1 >/dev/null
	run --separate-stderr h images --format '{{.ID}} {{.Nope}}'
	[ "$status" -eq 125 ]
	[ -z "$output" ]
	[[ "$stderr" == *"unknown field 'Nope'"* ]]
	run --separate-stderr h images --format '{{range .Names}}{{end}}'
	[ "$status" -eq 125 ]
	[[ "$stderr" == *unsupported* ]]
}

@test "images --filter reference, label, dangling, before, since, id, and ANDs between keys" {
	a=$(import_bb localhost/app:1 "$(tar_at 2020-01-01 "$BB")")
	b=$(h import -q -c 'LABEL tier=web' -c 'LABEL owner=me' "$(tar_at 2021-01-01 "$BB2")" quay.io/foo/bar:2)
	c=$(h import -q "$(tar_at 2022-01-01 "$BB")") # a's layer, another config: dangling
	[ "$c" != "$a" ]
	q() { h images -q --no-trunc "$@" | sort | tr '\n' ' '; }
	[ "$(q --filter reference=app)" = "$a " ]
	[ "$(q --filter 'reference=quay.io/*/*')" = "$b " ]
	[ "$(q --filter 'reference=*bar*')" = "$b " ]
	[ "$(q --filter reference=app:1)" = "$a " ]
	[ "$(q --filter reference=app:2)" = "" ]
	[ "$(q --filter reference=foo/bar)" = "$b " ]
	[ "$(q localhost/app)" = "$a " ] # the argument is a reference filter
	# two values of one key: either may match
	[ "$(q --filter reference=app --filter reference=foo/bar)" = "$(printf '%s\n' $a $b | sort | tr '\n' ' ')" ]
	[ "$(q --filter label=tier)" = "$b " ]
	[ "$(q --filter label=tier=web)" = "$b " ]
	[ "$(q --filter label=tier=db)" = "" ]
	[ "$(q --filter label=tier=web --filter label=owner=me)" = "$b " ]
	[ "$(q --filter label=tier=web --filter label=owner=you)" = "" ]
	[ "$(q --filter dangling=true)" = "$c " ]
	[ "$(q --filter dangling=false)" = "$(printf '%s\n' $a $b | sort | tr '\n' ' ')" ]
	[ "$(q --filter before=quay.io/foo/bar:2)" = "$a " ]
	[ "$(q --filter since=quay.io/foo/bar:2)" = "$c " ]
	[ "$(q --filter since=app:1 --filter dangling=false)" = "$b " ] # different keys: AND
	[ "$(q --filter id=${b:7:6})" = "$b " ]
	run h images --filter bogus=1
	[ "$status" -eq 125 ]
	[[ "$output" == *bogus* ]]
	run h images --filter dangling=maybe
	[ "$status" -eq 125 ]
	run h images --filter before=nosuch
	[ "$status" -eq 125 ]
	[[ "$output" == *nosuch* ]]
	run h images --filter noequals
	[ "$status" -eq 125 ]
}

@test "images --sort created, size, repository, tag, id" {
	a=$(import_bb zzz:1 "$(tar_at 2020-01-01 "$BB")")
	b=$(import_bb aaa:2 "$(tar_at 2021-01-01 "$BB2")")
	run h images --format '{{.Repository}}'
	[ "$output" = "localhost/aaa
localhost/zzz" ] # newest first
	run h images --sort repository --format '{{.Repository}}'
	[ "$output" = "localhost/aaa
localhost/zzz" ]
	run h images --sort tag --format '{{.Tag}}'
	[ "$output" = "1
2" ]
	run h images --sort id -q --no-trunc
	[ "$output" = "$(printf '%s\n' $a $b | sort)" ]
	run h images --sort size -q
	[ "${#lines[@]}" -eq 2 ]
}

# ---- tag, untag ----

@test "tag: several names, normalised; digests and bad names refused" {
	id=$(import_bb bb:1)
	run h tag bb:1 bb:2 quay.io/x/y:z docker.io/busybox
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run h image inspect --format '{{json .RepoTags}}' "${id:7:12}"
	for n in localhost/bb:1 localhost/bb:2 quay.io/x/y:z docker.io/library/busybox:latest; do
		[[ "$output" == *"\"$n\""* ]]
	done
	# every name resolves
	for n in bb:2 quay.io/x/y:z busybox docker.io/library/busybox:latest "$id" "${id:7:5}"; do
		[ "$(h image inspect --format '{{.Id}}' "$n")" = "$(hex $id)" ]
	done
	run h tag bb:1 "x@sha256:$(hex $id)"
	[ "$status" -eq 125 ]
	[[ "$output" == *digest* ]]
	run h tag bb:1 'Bad:x'
	[ "$status" -eq 125 ]
	run h tag nosuch x
	[ "$status" -eq 125 ]
	[[ "$output" == *"not known"* ]]
}

@test "tag moves a name from the image that had it" {
	a=$(import_bb app:1)
	b=$(import_bb other "$BB2")
	h tag other app:1
	[ "$(h image inspect --format '{{.Id}}' app:1)" = "$(hex $b)" ]
	run h images --filter dangling=true -q --no-trunc
	[ "$output" = "$a" ]
}

@test "untag: one name, several, all; unknown name refused" {
	id=$(import_bb bb:1)
	h tag bb:1 bb:2 bb:3 bb:4
	run h untag bb:1 bb:2
	[ "$status" -eq 0 ]
	[ "$(h images --format '{{.Tag}}' --sort tag | tr '\n' ' ')" = "1 3 4 " ]
	run h untag bb:1 localhost/bb:3 bb:4
	[ "$status" -eq 0 ]
	[ "$(h images --format '{{.Tag}}' | tr '\n' ' ')" = "1 " ]
	run h untag bb:1 nosuch:2
	[ "$status" -eq 125 ]
	[[ "$output" == *"nosuch:2"* ]]
	run h untag bb:1
	[ "$status" -eq 0 ]
	run h images --format '{{.Repository}} {{.Tag}} {{.ID}}'
	[ "$output" = "<none> <none> ${id:7:12}" ]
	run h image untag "${id:7:12}"
	[ "$status" -eq 0 ]
}

# ---- rmi ----

@test "rmi: Untagged and Deleted lines, layers removed" {
	id=$(import_bb bb:1)
	h tag bb:1 bb:2
	run h rmi bb:1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: localhost/bb:1" ]
	run h rmi bb:2
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: localhost/bb:2
Deleted: $(hex $id)" ]
	run h images -q
	[ -z "$output" ]
	# nothing left on disk: no layer, no blob
	[ -z "$(ls -A "$IROOT/blobs/sha256" 2>/dev/null)" ]
	for d in overlay vfs; do
		[ -z "$(ls -A "$IROOT/$d" 2>/dev/null)" ]
	done
}

@test "rmi by id refuses an image with several names unless -f" {
	id=$(import_bb bb:1)
	h tag bb:1 bb:2
	run h rmi "${id:7:12}"
	[ "$status" -eq 125 ]
	[[ "$output" == *"more than one tag"* ]]
	[ "$(h images -q)" = "${id:7:12}" ]
	run h rmi -f "${id:7:12}"
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: localhost/bb:1
Untagged: localhost/bb:2
Deleted: $(hex $id)" ]
}

@test "rmi exit codes: 1 for an unknown image, -i ignores it, 2 for one in use" {
	run --separate-stderr h rmi nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == "Error: "* ]]
	[[ "$stderr" == *nosuch* ]]
	[[ "$stderr" == *"not known"* ]]
	run h rmi -i nosuch
	[ "$status" -eq 0 ]
	id=$(import_bb bb:1)
	run h rmi nosuch bb:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"Deleted: $(hex $id)"* ]]
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed (needed to fake a container holding an image)"
	id=$(import_bb held:1)
	# a container using the image (containers come later; the store's hold table is what they use)
	sqlite3 "$IROOT/hull.db" "PRAGMA busy_timeout=5000; INSERT INTO image_holds(holder, image) VALUES('ctr-1', '$id')"
	run --separate-stderr h rmi held:1
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"in use"* ]]
	h image exists held:1
	run h images --format '{{.Containers}}'
	[ "$output" = 1 ]
	run h image prune -a -f
	[ "$status" -eq 0 ]
	h image exists held:1
	run h rmi -f held:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted: $(hex $id)"* ]]
	run h image exists held:1
	[ "$status" -eq 1 ]
}

@test "rmi -a removes every image; image rm is the same command" {
	import_bb a:1 >/dev/null
	import_bb b:1 "$BB2" >/dev/null
	h import -q "$FIX/rootfs2" >/dev/null
	run h rmi -a
	[ "$status" -eq 0 ]
	[ "$(grep -c '^Deleted: ' <<<"$output")" -eq 3 ]
	[ -z "$(h images -q)" ]
	import_bb c:1 >/dev/null
	run h image rm c:1
	[ "$status" -eq 0 ]
	[[ "$output" == *Deleted:* ]]
	run h rmi -a x
	[ "$status" -eq 125 ]
}

# ---- inspect, history ----

@test "image inspect: Podman's shape, --format, several images, unknown" {
	id=$(import_bb bb:1)
	id2=$(import_bb bb:2 "$BB2")
	run h image inspect bb:1 bb:2
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 2 ]
	for k in Id Digest RepoTags RepoDigests Parent Comment Created Config Version Author Architecture Os Size \
		VirtualSize GraphDriver RootFS Labels Annotations ManifestType User History NamesHistory; do
		[ "$(jq "(.[0] | has(\"$k\"))" <<<"$output")" = true ] || { echo "missing $k"; false; }
	done
	[ "$(jq -r '.[1].Id' <<<"$output")" = "$(hex $id2)" ]
	[ "$(jq -r '.[0].RepoDigests[0]' <<<"$output")" = "localhost/bb@$(jq -r '.[0].Digest' <<<"$output")" ]
	[ "$(jq -r '.[0].GraphDriver.Name' <<<"$output")" = "$(jq -r '.[1].GraphDriver.Name' <<<"$output")" ]
	run h image inspect --format '{{.Id}} {{.Os}} {{json .RepoTags}}' bb:1
	[ "$output" = "$(hex $id) linux [\"localhost/bb:1\"]" ]
	run h image inspect -f '{{.Nope}}' bb:1
	[ "$status" -eq 125 ]
	[[ "$output" == *Nope* ]]
	run --separate-stderr h image inspect bb:1 nosuch
	[ "$status" -eq 125 ]
	[[ "$stderr" == *nosuch* ]]
	[ "$(jq -r '.[0].Id' <<<"$output")" = "$(hex $id)" ]
}

@test "history: table, --no-trunc, -q, --human=false, --format" {
	id=$(h import -q -m 'my comment' "$BB" bb:1)
	run h history bb:1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^ID\ {12}CREATED\ +CREATED\ BY\ +SIZE\ +COMMENT$ ]]
	[[ "${lines[1]}" =~ ^${id:7:12}\ \ .*ago.*\ [0-9.]+\ [kM]B\ +my\ comment$ ]]
	run h history --no-trunc bb:1
	[[ "${lines[1]}" == "$(hex $id) "* ]]
	run h history -q bb:1
	[ "$output" = "${id:7:12}" ]
	run h history --human=false --format '{{.Created}} {{.Size}}' bb:1
	[[ "$output" =~ ^[0-9-]{10}T[0-9:]{8}Z\ [0-9]+$ ]]
	[ "${output#* }" -gt 1000000 ]
	run h history --format json bb:1
	[ "$(jq -r '.[0].id' <<<"$output")" = "$(hex $id)" ]
	[ "$(jq -r '.[0].comment' <<<"$output")" = "my comment" ]
	run h history --format '{{.ID}}|{{.Comment}}' bb:1
	[ "$output" = "${id:7:12}|my comment" ]
	run h history --format '{{.Bogus}}' bb:1
	[ "$status" -eq 125 ]
	run h history nosuch
	[ "$status" -eq 125 ]
}

@test "history truncates CREATED BY to 45 columns unless --no-trunc" {
	id=$(import_bb bb:1)
	by=$(h history --no-trunc --format '{{.CreatedBy}}' bb:1)
	short=$(h history --format '{{.CreatedBy}}' bb:1)
	if [ ${#by} -gt 45 ]; then
		[ ${#short} -eq 45 ]
		[[ "$short" == *... ]]
		[ "${short%...}" = "${by:0:42}" ]
	else
		[ "$short" = "$by" ]
	fi
}

# ---- prune, exists ----

@test "image prune removes dangling images, -a every unused one" {
	keep=$(import_bb keep:1)
	d1=$(h import -q "$BB2")
	run h image prune -f
	[ "$status" -eq 0 ]
	[ "$output" = "$(hex $d1)" ]
	[ "$(h images -q --no-trunc)" = "$keep" ]
	# asks first; "n" keeps everything
	d2=$(h import -q "$BB2")
	run bash -c "echo n | '$HULL' --root '$IROOT' --runroot '$IRUN' image prune"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Are you sure"* ]]
	h image exists "$d2"
	run bash -c "echo y | '$HULL' --root '$IROOT' --runroot '$IRUN' image prune"
	[[ "$output" == *"$(hex $d2)"* ]]
	run h image exists "$d2"
	[ "$status" -eq 1 ]
	run h image prune -a -f
	[ "$output" = "$(hex $keep)" ]
	[ -z "$(h images -q -a)" ]
}

@test "image exists: 0 or 1, silent" {
	id=$(import_bb bb:1)
	run h image exists bb:1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run h image exists "${id:7:12}"
	[ "$status" -eq 0 ]
	run h image exists nosuch
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	run h image exists bb:1 extra
	[ "$status" -eq 125 ]
}

# ---- mount ----

mount_check() {
	id=$(h "$@" import -q "$BB" bb:1)
	run h "$@" image mount bb:1
	[ "$status" -eq 0 ]
	mnt=$output
	[ -d "$mnt" ]
	cmp "$mnt/bin/busybox" /bin/busybox
	[ "$(readlink "$mnt/bin/ls")" = busybox ]
	grep -q '^root:' "$mnt/etc/passwd"
	run touch "$mnt/newfile"
	[ "$status" -ne 0 ] # read-only
	run h "$@" image unmount bb:1
	[ "$status" -eq 0 ]
	[ "$output" = "$(hex $id)" ]
	[ ! -e "$mnt/bin/busybox" ] || ! grep -q " $mnt " /proc/self/mountinfo
}

@test "image mount / unmount with the default driver" {
	mount_check
}

@test "image mount / unmount with --storage-driver vfs" {
	mount_check --storage-driver vfs
	[ -d "$IROOT/vfs" ]
	[ "$(h --storage-driver vfs image inspect --format '{{.GraphDriver.Name}}' bb:1)" = vfs ]
}

@test "image mount of an unknown image fails" {
	run h image mount nosuch
	[ "$status" -eq 125 ]
	run h image mount
	[ "$status" -eq 125 ]
}

# ---- load, save ----

@test "save / load docker-archive: tags kept, same id" {
	id=$(h import -q -c 'CMD=["/bin/sh"]' "$BB" bb:1)
	h tag bb:1 quay.io/x/y:2
	run h save -o "$BATS_TEST_TMPDIR/d.tar" bb:1
	[ "$status" -eq 0 ]
	run tar tf "$BATS_TEST_TMPDIR/d.tar"
	[[ "$output" == *manifest.json* ]]
	jq -e '.[0].RepoTags | index("localhost/bb:1")' <(tar xOf "$BATS_TEST_TMPDIR/d.tar" manifest.json)
	[ "$(tar xOf "$BATS_TEST_TMPDIR/d.tar" manifest.json | jq -r '.[0].Config' | sed 's/^blobs\/sha256\///; s/\.json$//')" = "$(hex $id)" ]
	h rmi -a -f >/dev/null
	run h load -i "$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/bb:1" ]
	[ "$(h image inspect --format '{{.Id}}' bb:1)" = "$(hex $id)" ]
	[ "$(h image inspect --format '{{json .Config.Cmd}}' bb:1)" = '["/bin/sh"]' ]
	run h image mount bb:1
	cmp "$output/bin/busybox" /bin/busybox
	h image unmount bb:1
}

@test "save / load oci-archive, to stdout and from stdin" {
	id=$(import_bb bb:1)
	h save --format oci-archive bb:1 >"$BATS_TEST_TMPDIR/o.tar"
	run tar tf "$BATS_TEST_TMPDIR/o.tar"
	[[ "$output" == *oci-layout* ]]
	[[ "$output" == *index.json* ]]
	[[ "$output" == *"blobs/sha256/$(hex $id)"* ]]
	h rmi bb:1 >/dev/null
	run bash -c "'$HULL' --root '$IROOT' --runroot '$IRUN' load -q < '$BATS_TEST_TMPDIR/o.tar'"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/bb:1" ]
	[ "$(h image inspect --format '{{.Id}}' bb:1)" = "$(hex $id)" ]
	# docker-archive through a pipe, straight into another store
	run bash -c "'$HULL' --root '$IROOT' --runroot '$IRUN' save bb:1 | '$HULL' --root '$IROOT.2' --runroot '$IRUN.2' load"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/bb:1" ]
	[ "$("$HULL" --root "$IROOT.2" --runroot "$IRUN.2" images -q --no-trunc)" = "$id" ]
}

@test "save several images in one archive; load keeps every tag" {
	for fmt in docker-archive oci-archive; do
		rm -rf "$IROOT" "$IRUN"
		a=$(import_bb a:1)
		b=$(import_bb b:1 "$BB2")
		h tag a:1 a:2
		run h save --format $fmt -o "$BATS_TEST_TMPDIR/m.tar" a:1 a:2 b:1
		[ "$status" -eq 0 ]
		h rmi -a -f >/dev/null
		run h load -i "$BATS_TEST_TMPDIR/m.tar"
		[ "$status" -eq 0 ]
		[ "$(sort <<<"$output" | tr '\n' ' ')" = "Loaded image: localhost/a:1 Loaded image: localhost/a:2 Loaded image: localhost/b:1 " ]
		[ "$(h image inspect --format '{{.Id}}' a:2)" = "$(hex $a)" ]
		[ "$(h image inspect --format '{{.Id}}' b:1)" = "$(hex $b)" ]
	done
}

@test "save / load an untagged image: Loaded image: sha256:ID" {
	id=$(h import -q "$BB")
	h save -o "$BATS_TEST_TMPDIR/u.tar" "${id:7:12}"
	h rmi "$id" >/dev/null
	run h load -i "$BATS_TEST_TMPDIR/u.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: $id" ]
}

@test "save refuses a terminal, an unknown image; load refuses a terminal and a bad file" {
	import_bb bb:1 >/dev/null
	command -v script >/dev/null || skip "script(1) is not installed"
	run script -qec "'$HULL' --root '$IROOT' --runroot '$IRUN' save bb:1" /dev/null
	[ "$status" -eq 125 ]
	[[ "$output" == *"refusing to save to terminal"* ]]
	run script -qec "'$HULL' --root '$IROOT' --runroot '$IRUN' load" /dev/null
	[ "$status" -eq 125 ]
	[[ "$output" == *"cannot read from terminal"* ]]
	run h save -o "$BATS_TEST_TMPDIR/x.tar" nosuch
	[ "$status" -eq 125 ]
	[ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
	echo garbage >"$BATS_TEST_TMPDIR/garbage.tar"
	run h load -i "$BATS_TEST_TMPDIR/garbage.tar"
	[ "$status" -eq 125 ]
	[[ "$output" == *garbage.tar* ]]
	run h load -i "$BATS_TEST_TMPDIR/missing.tar"
	[ "$status" -eq 125 ]
	[ "$(h images -q | wc -l)" -eq 1 ]
}

# ---- system df, system check ----

@test "system df: table, json, template, -v" {
	import_bb a:1 >/dev/null
	import_bb b:1 "$BB2" >/dev/null
	run h system df
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^TYPE\ +TOTAL\ +ACTIVE\ +SIZE\ +RECLAIMABLE$ ]]
	[[ "${lines[1]}" =~ ^Images\ +2\ +0\ +[0-9.]+[kMG]?B\ +[0-9.]+[kMG]?B\ \(100%\)$ ]]
	[[ "${lines[2]}" =~ ^Containers ]]
	run h system df --format json
	[ "$(jq -r '.[0].Type' <<<"$output")" = Images ]
	[ "$(jq -r '.[0].Total' <<<"$output")" = 2 ]
	sa=$(h image inspect --format '{{.Size}}' a:1)
	sb=$(h image inspect --format '{{.Size}}' b:1)
	# the layers share nothing here, so the total is their sum
	[ "$(jq -r '.[0].RawSize' <<<"$output")" -ge "$sa" ]
	run h system df --format '{{.Type}}={{.Total}}'
	[ "${lines[0]}" = Images=2 ]
	run h system df -v
	[ "$status" -eq 0 ]
	[[ "$output" == *"Images space usage:"* ]]
	[[ "$output" == *"localhost/a "* ]]
}

@test "system check: clean store exits 0" {
	import_bb a:1 >/dev/null
	run --separate-stderr h system check
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors"* ]]
	run h system check --format json
	[ "$status" -eq 0 ]
	[ "$(jq '.errors | length' <<<"$output")" = 0 ]
	[ "$(jq .images <<<"$output")" = 1 ]
	run h system check -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "system check finds a corrupted blob and a missing layer; --repair removes them" {
	a=$(import_bb a:1)
	b=$(import_bb b:1 "$BB2")
	# corrupt a's config blob
	chmod u+w "$IROOT/blobs/sha256/$(hex $a)" 2>/dev/null || true
	echo junk >>"$IROOT/blobs/sha256/$(hex $a)"
	run h system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"$(hex $a)"* ]]
	run h system check --repair
	[ "$status" -eq 0 ]
	run h system check
	[ "$status" -eq 0 ]
	run h image exists a:1
	[ "$status" -eq 1 ]
	h image exists b:1
	# remove b's layer directory behind the store's back
	layer=$(h image inspect --format '{{json .RootFS.Layers}}' b:1 | jq -r '.[0]')
	rm -rf "$IROOT"/overlay/"$(hex $layer)" "$IROOT"/vfs/"$(hex $layer)"
	run h system check
	[ "$status" -eq 1 ]
	run h system check --repair
	[ "$status" -eq 0 ]
	run h system check
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors"* ]]
}

@test "global --root, --runroot and --storage-driver are honoured" {
	run h --storage-driver vfs import -q "$BB" bb:1
	[ "$status" -eq 0 ]
	[ -f "$IROOT/hull.db" ]
	[ "$(h --storage-driver vfs image inspect --format '{{.GraphDriver.Name}}' bb:1)" = vfs ]
	run "$HULL" --root "$BATS_TEST_TMPDIR/other" --runroot "$IRUN" images -q
	[ -z "$output" ]
	run h --storage-driver bogus images
	[ "$status" -eq 125 ]
}
