# hull - top-level convenience targets.  `make run` and `make check` work as
# root on a fresh Debian 12 machine: they install what is missing first.

BUILD      ?= build
BUILD_SAN  ?= build-san
PREFIX     ?= /usr/local
DEB_PKGS   := meson ninja-build pkg-config gcc libc6-dev \
	libseccomp-dev libcap-dev libjansson-dev libcmocka-dev \
	libarchive-dev libssl-dev libsqlite3-dev \
	bats busybox-static uidmap iproute2 procps jq
DEMO       := $(BUILD)/demo

.PHONY: all deps build run check unit unit-san system install clean fuzz

all: build

# Install the Debian packages that are not there yet (apt-get update only
# when something is missing).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# A busybox bundle from Debian's busybox-static, run with hull-runtime.
run: build
	tests/system/mkbundle.sh $(DEMO)
	$(BUILD)/hull-runtime --root $(BUILD)/demo-state run --bundle $(DEMO) hull-demo-$$$$
	tar -C $(DEMO)/rootfs -cf $(BUILD)/demo-rootfs.tar .
	$(BUILD)/hull --root $(BUILD)/demo-store --runroot $(BUILD)/demo-run import -q \
	  --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' $(BUILD)/demo-rootfs.tar busybox:demo
	$(BUILD)/hull --root $(BUILD)/demo-store --runroot $(BUILD)/demo-run images

unit: build
	meson test -C $(BUILD) --print-errorlogs

$(BUILD_SAN)/build.ninja:
	meson setup $(BUILD_SAN) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

unit-san: deps $(BUILD_SAN)/build.ninja
	ninja -C $(BUILD_SAN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(BUILD_SAN) --print-errorlogs

system: build
	HULL_BUILD=$(abspath $(BUILD)) bats --print-output-on-failure tests/system

check: unit system unit-san
	@echo "make check: all unit, system and sanitizer tests passed"

install: build
	meson install -C $(BUILD) --destdir "$(DESTDIR)"

clean:
	rm -rf $(BUILD) $(BUILD_SAN)

# libFuzzer targets (clang), each run for FUZZ_SECONDS.  Not part of check.
FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v clang >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang
	[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=disabled
	ninja -C build-fuzz
	for f in build-fuzz/fuzz_*; do \
	  mkdir -p build-fuzz/corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$(basename $$f) || exit 1; \
	done
