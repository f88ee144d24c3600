# Shared setup for hull's bats tests.  Every test gets a private state root
# ($ROOT) and bundle ($BUNDLE, a busybox rootfs plus config.json), removed
# afterwards, so nothing touches the user's containers.
#
#   hr ARGS...          run hull-runtime with the private --root
#   cfg JQ-FILTER       edit $BUNDLE/config.json with jq
#   set_args CMD...     set process.args
#   cleanup_all         delete -f every container under $ROOT (teardown does it)

HULL_BUILD=${HULL_BUILD:-$BATS_TEST_DIRNAME/../../build}
HULL_RUNTIME=$HULL_BUILD/hull-runtime
HULL=$HULL_BUILD/hull

# A pristine bundle is made once per file and copied for each test.
_bundle_template() {
	local t=$BATS_FILE_TMPDIR/template
	if [ ! -d "$t" ]; then
		HULL_BUILD=$HULL_BUILD "$BATS_TEST_DIRNAME/mkbundle.sh" "$t" true >/dev/null
	fi
	echo "$t"
}

setup_bundle() {
	ROOT=$BATS_TEST_TMPDIR/state
	BUNDLE=$BATS_TEST_TMPDIR/bundle
	mkdir -p "$ROOT"
	cp -a "$(_bundle_template)" "$BUNDLE"
}

setup() {
	setup_bundle
}

cleanup_all() {
	local id
	for id in $("$HULL_RUNTIME" --root "$ROOT" list -q 2>/dev/null); do
		"$HULL_RUNTIME" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
}

teardown() {
	cleanup_all
}

hr() {
	"$HULL_RUNTIME" --root "$ROOT" "$@"
}

cfg() {
	jq "$@" "$BUNDLE/config.json" > "$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

set_args() {
	local args _arg
	args='[]'
	for _arg in "$@"; do args=$(jq -c --arg v "$_arg" '. + [$v]' <<<"$args"); done
	cfg --argjson a "$args" '.process.args = $a'
}

# Unique container id per test.
cid() {
	echo "t${BATS_TEST_NUMBER}-$$-${1:-c}"
}

# Host cgroup layout: "v2" or "v1"
cgroup_version() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then echo v2; else echo v1; fi
}

# Wait until `hr state ID` reports status $2 (up to ~5 s).
wait_status() {
	local i
	for i in $(seq 1 100); do
		if [ "$(hr state "$1" 2>/dev/null | jq -r .status)" = "$2" ]; then return 0; fi
		sleep 0.05
	done
	echo "container $1 did not reach status $2 (now: $(hr state "$1" 2>&1))" >&2
	return 1
}
