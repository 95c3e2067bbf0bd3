# netd: the user's entry point. `make run` and `make test` work on a fresh
# Debian or Ubuntu machine (and on macOS with Homebrew) with nothing done by hand.

BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
UNAME := $(shell uname -s)
# The daemons and the namespace tests need root; ask for it only when not root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

APT_PACKAGES := cmake g++ make pkg-config libboost-dev nlohmann-json3-dev libspdlog-dev libssl-dev \
                libcli11-dev libgtest-dev libmnl-dev libcap-ng-dev iproute2 curl
BREW_PACKAGES := cmake boost nlohmann-json spdlog cli11 googletest openssl@3
# What make deb builds the Debian package with (see below).
DEB_APT_PACKAGES := build-essential debhelper devscripts lintian fakeroot dpkg-dev

.PHONY: all deps test-deps deb-deps deb build run test macos-cross macos-cross-deps test-sanitize test-tsan soak check-fresh fuzz bench clean install_tun install install_all uninstall_tun uninstall uninstall_all

all: build

# Installs only what is missing, so it is cheap to run every time.
deps:
ifeq ($(UNAME),Darwin)
	@missing=""; for p in $(BREW_PACKAGES); do brew list --versions $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; brew install $$missing; fi
else
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endif

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Both daemons in the foreground, logs under ./var/log and saved state under
# ./var/lib; Ctrl-C stops both, and if one of them exits the other is stopped too.
run: build
	@mkdir -p var/log var/lib
	@echo "tun-daemon on 127.0.0.1:3030, subnet-daemon on 127.0.0.1:3031, logs in ./var/log (Ctrl-C stops both)"
	@$(SUDO) bash -c 'trap "kill \$$(jobs -p) 2>/dev/null" EXIT; \
	  $(BUILD_DIR)/tun-daemon --log-dir var/log --state-dir var/lib/tun-daemon & \
	  $(BUILD_DIR)/subnet-daemon --log-dir var/log --state-dir var/lib/subnet-daemon & \
	  wait -n'

# What the tests need beyond the build: a real etcd for the cluster tests,
# python3 for the install test's plist check and (with python3-yaml) the
# OpenAPI document's lint, systemd-analyze for the units' security scores,
# nginx, openssl and ping for the tunnel test (TLS in front of netd-tunnel).
# The package test (tests/package/deb_test.sh) builds the Debian package with
# make deb's tools and installs it into a debootstrapped root.
TEST_APT_PACKAGES := etcd-server python3 python3-yaml systemd nginx-light openssl iputils-ping \
                     $(DEB_APT_PACKAGES) debootstrap
TEST_BREW_PACKAGES := etcd
# Every command a test or test script calls, checked once the packages are
# in, so that a missing one is named here rather than deep in a test's
# output. (coreutils, util-linux and mawk come with every Debian.)
TEST_COMMANDS := ip curl etcd python3 systemd-analyze setpriv unshare prlimit flock timeout awk nginx openssl ping \
                 dpkg-buildpackage dh lintian
test-deps: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(TEST_APT_PACKAGES)" BREW_PACKAGES="$(TEST_BREW_PACKAGES)"
ifneq ($(UNAME),Darwin)
	@missing=""; for c in $(TEST_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then echo "make test: the tests call commands that are not installed:$$missing" >&2; exit 1; fi
endif

# ---- the Debian package ----
# make deb: build-deb/netd_VERSION_ARCH.deb (apt install ./build-deb/netd_...),
# built by dpkg-buildpackage and debhelper from debian/ in a copy of the
# tree, then checked by lintian (packaging/deb.sh). Its build dependencies
# are the build's own packages (APT_PACKAGES).
DEB_DIR ?= build-deb

deb-deps: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(DEB_APT_PACKAGES)"

deb: deb-deps
	DEB_JOBS=$(JOBS) bash packaging/deb.sh $(DEB_DIR)

# ---- macOS, cross-built from Linux ----
# tun-daemon, subnet-daemon and netctl for macOS 12 on x86_64, built here
# with clang and ld64.lld against an unpacked macOS SDK (DIR/usr/include,
# DIR/usr/lib/*.tbd; never part of this repository): see
# cmake/macos-cross.cmake and README, Platforms. MACOS_SDK defaults to
# /opt/macos-sdk, where `make test` looks for one too.
MACOS_SDK ?= /opt/macos-sdk
MACOS_BUILD_DIR ?= build-macos
MACOS_CROSS_APT_PACKAGES := clang lld llvm binutils libboost-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libssl-dev \
  cmake make
MACOS_SDK_FOUND := $(wildcard $(MACOS_SDK)/usr/include/c++/v1)
# The host's search paths must not reach the macOS build (CPATH would put
# Linux headers before the SDK's).
MACOS_CROSS_ENV := env -u CPATH -u C_INCLUDE_PATH -u CPLUS_INCLUDE_PATH -u LIBRARY_PATH

macos-cross-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(MACOS_CROSS_APT_PACKAGES)"

macos-cross:
ifeq ($(MACOS_SDK_FOUND),)
	@echo "make macos-cross: pass MACOS_SDK=DIR, an unpacked macOS SDK (there is none at $(MACOS_SDK))" >&2; exit 2
else
	@$(MAKE) --no-print-directory macos-cross-deps
	$(MACOS_CROSS_ENV) cmake -S . -B $(MACOS_BUILD_DIR) -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/macos-cross.cmake \
	  -DMACOS_SDK=$(abspath $(MACOS_SDK)) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	$(MACOS_CROSS_ENV) cmake --build $(MACOS_BUILD_DIR) -j $(JOBS) --target tun-daemon subnet-daemon netctl netd-tunnel
endif

# The suite's macos_cross_build entry (tests/macos/cross_build_test.sh)
# builds for macOS when an SDK is at MACOS_SDK, and is skipped otherwise.
test: test-deps build
ifeq ($(MACOS_SDK_FOUND),)
	@echo "make test: skipping the macOS cross build: no macOS SDK at $(MACOS_SDK) (pass MACOS_SDK=DIR to run it)"
else
	@$(MAKE) --no-print-directory macos-cross-deps
	@echo "make test: the macOS cross build runs too, against the SDK at $(MACOS_SDK)"
endif
	cd $(BUILD_DIR) && $(SUDO) env MACOS_SDK=$(abspath $(MACOS_SDK)) ctest --output-on-failure -j 1 -LE bench

# The whole suite again, built with sanitizers: $(call sanitized_suite,DIR,FLAGS).
define sanitized_suite
	cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$(2)" -DCMAKE_EXE_LINKER_FLAGS="$(2)"
	cmake --build $(1) -j $(JOBS)
	cd $(1) && $(SUDO) env MACOS_SDK=$(abspath $(MACOS_SDK)) ctest --output-on-failure -j 1 -LE bench
endef

# AddressSanitizer and UBSan (CI runs this).
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
test-sanitize: test-deps
	$(call sanitized_suite,build-sanitize,$(SANITIZE_FLAGS))

# ThreadSanitizer: the journal's sync thread shares the state file with the
# I/O thread. (A release check, not in CI: a third build of everything.)
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
test-tsan: test-deps
	$(call sanitized_suite,build-tsan,$(TSAN_FLAGS))

# The chaos test of `make test` (tests/integration/chaos_test.cpp), long:
# SOAK_RUNS runs in a row of SOAK_ROUNDS rounds, each SOAK_SECONDS of load.
SOAK_RUNS ?= 10
SOAK_ROUNDS ?= 10
SOAK_SECONDS ?= 20
soak: test-deps build
	cd $(BUILD_DIR) && $(SUDO) env NETD_CHAOS_ROUNDS=$(SOAK_ROUNDS) NETD_CHAOS_SECONDS=$(SOAK_SECONDS) \
	  tests/integration_tests --gtest_filter='ChaosTest.*' --gtest_repeat=$(SOAK_RUNS) --gtest_fail_fast

# `make test` as a new user would run it: in a minimal Debian 12 root
# (debootstrap, cached), on a clean clone of HEAD, after the README's one
# prerequisite line. Needs root; see tests/fresh/check_fresh.sh.
check-fresh:
	$(SUDO) bash tests/fresh/check_fresh.sh

# libFuzzer over the HTTP parser and router, the JSON bodies, CIDR parsing,
# and what a netd-tunnel peer sends (its frames, messages and records, the
# hello),
# each for FUZZ_SECONDS, from the seeds in fuzz/corpus/. New inputs
# go to build-fuzz/corpus/, never into the checked-in seeds.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := http_request json_body cidr tunnel_message tunnel_hello tunnel_frames
fuzz: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="clang libclang-rt-14-dev" BREW_PACKAGES=llvm
	CXX=clang++ CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNETD_FUZZ=ON \
	  -DNETD_BUILD_TESTS=OFF
	cmake --build build-fuzz -j $(JOBS) --target $(addsuffix _fuzz,$(FUZZ_TARGETS))
	@for target in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$target; \
	  echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  build-fuzz/fuzz/$${target}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build-fuzz/corpus/$$target fuzz/corpus/$$target > build-fuzz/$$target.log 2>&1; \
	  status=$$?; \
	  grep -E "stat::number_of_executed_units|ERROR|SUMMARY" build-fuzz/$$target.log; \
	  [ $$status = 0 ] || { tail -40 build-fuzz/$$target.log; exit 1; }; \
	done

# Speed is measured here, never asserted in `make test`: these machines are
# noisy, so the daemon is compared with anchors measured in the same run
# (bench/run.sh; BENCH_N TUNs, default 200).
# The tunnel benchmark (bench/tunnel.sh) wants openvpn, socat, iperf3, ping
# and openssl.
BENCH_APT_PACKAGES := libbenchmark-dev wrk nginx-light openvpn socat iperf3 iputils-ping openssl jq

bench: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(BENCH_APT_PACKAGES)" BREW_PACKAGES="google-benchmark wrk nginx"
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS) --target block_pool_bench tun_bench tun-daemon subnet-daemon integration_tests \
	  netd-tunnel
	$(SUDO) bench/run.sh $(BUILD_DIR)
	# Tunnels: two namespaces joined by a veth; appends its table to run.sh's file.
	$(SUDO) bench/tunnel.sh $(BUILD_DIR)
	# Many hosts around one etcd (tests/integration/many_hosts_test.cpp), large;
	# NETD_SCALE_TIMING=1 also holds the time per allocation to 3x one host's.
	cd $(BUILD_DIR) && $(SUDO) ctest -L bench --output-on-failure

clean:
	rm -rf $(BUILD_DIR) $(DEB_DIR) build-sanitize build-tsan build-fuzz $(MACOS_BUILD_DIR) var

# ---- install ----
# make install_tun / install (subnet-daemon, as the spec names it) / install_all,
# and the uninstall_* twins. PREFIX (default /usr/local) and DESTDIR work as
# usual; a staged install (DESTDIR) needs no root and starts nothing. The
# binaries are built first unless NO_BUILD=1 (to stage, as a packager, what
# was built before). PURGE=1 makes uninstall delete the daemon's interfaces.
PREFIX ?= /usr/local
export PREFIX DESTDIR BUILD_DIR PURGE
INSTALL_DEPENDS := $(if $(NO_BUILD),,build)

install_tun: $(INSTALL_DEPENDS)
	@sh services/install.sh install tun-daemon tun_daemon

install: $(INSTALL_DEPENDS)
	@sh services/install.sh install subnet-daemon subnet_daemon

install_all: install_tun install

uninstall_tun:
	@sh services/install.sh uninstall tun-daemon tun_daemon

uninstall:
	@sh services/install.sh uninstall subnet-daemon subnet_daemon

uninstall_all: uninstall_tun uninstall
