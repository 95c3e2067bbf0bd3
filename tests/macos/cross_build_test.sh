#!/usr/bin/env bash
# The macOS build, cross-compiled here against an unpacked macOS SDK
# (cmake/macos-cross.cmake): tun-daemon, subnet-daemon, netctl and
# netd-tunnel must build without a warning and be Mach-O x86_64 executables;
# tun-daemon must reach the utun control (connect, ioctl, getsockopt and the
# control's name), and netd-tunnel must load Homebrew's OpenSSL 3 and write
# a utun's packets behind their family prefix (writev).
# The SDK is $MACOS_SDK, else /opt/macos-sdk; without one this is skipped.
# Prints "N passed, N failed"; exits 77 to skip.
set -u
source_dir=${1:?usage: cross_build_test.sh SOURCE_DIR BINARY_DIR [SKIP_REASON]}
binary_dir=${2:?usage: cross_build_test.sh SOURCE_DIR BINARY_DIR [SKIP_REASON]}
if [ -n "${3:-}" ]; then
    echo "SKIP: $3"
    exit 77
fi
sdk=${MACOS_SDK:-/opt/macos-sdk}
if [ ! -d "$sdk/usr/include/c++/v1" ]; then
    echo "SKIP: no macOS SDK at $sdk (set MACOS_SDK=DIR, or make test MACOS_SDK=DIR)"
    exit 77
fi
build="$binary_dir/macos-cross"
log="$build.log"

source "$(dirname "$0")/../check.sh"

# The host's compiler search paths must not reach the macOS build.
cross() { env -u CPATH -u C_INCLUDE_PATH -u CPLUS_INCLUDE_PATH -u LIBRARY_PATH "$@"; }

# A warning fails the compile (so a file that warned is built again next
# time, and fails again); the linker's are looked for in the log.
build() {
    cross cmake -S "$source_dir" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$source_dir/cmake/macos-cross.cmake" \
        -DMACOS_SDK="$sdk" -DCMAKE_BUILD_TYPE=Release -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >"$log" 2>&1 &&
        cross cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target tun-daemon subnet-daemon netctl netd-tunnel \
            >>"$log" 2>&1
}
no_warnings() {
    if grep -E 'warning:|CMake Warning' "$log"; then return 1; fi
}
if ! check "cross build against $sdk (log: $log)" build; then
    tail -40 "$log"
    echo "$passed passed, $failed failed"
    exit 1
fi
check "no warning in the build" no_warnings

# mach_header_64: magic 0xfeedfacf, cputype CPU_TYPE_X86_64 (0x01000007),
# filetype MH_EXECUTE (2), all little-endian.
macho_x86_64_executable() {
    local header
    header=$(od -A n -t x1 -N 16 "$1" | tr -d ' \n')
    [ "${header:0:16}" = cffaedfe07000001 ] && [ "${header:24:8}" = 02000000 ]
}
for program in tun-daemon subnet-daemon netctl netd-tunnel; do
    check "$program is a Mach-O x86_64 executable" macho_x86_64_executable "$build/$program"
done

nm_tool=$(command -v llvm-nm || ls /usr/bin/llvm-nm-* 2>/dev/null | sort -V | tail -1)
imports() { # program symbol (as C names it)
    [ -n "$nm_tool" ] && "$nm_tool" -u "$build/$1" | grep -qx "_$2"
}
for call in socket connect ioctl getsockopt sendmsg; do  # utun, then its fd handed over (SCM_RIGHTS)
    check "tun-daemon calls $call" imports tun-daemon $call
done
check "tun-daemon names the utun control" grep -qa com.apple.net.utun_control "$build/tun-daemon"

for call in recvmsg writev SSL_read SSL_write CRYPTO_memcmp; do  # the fd handed over; the utun; TLS
    check "netd-tunnel calls $call" imports netd-tunnel $call
done
objdump_tool=$(command -v llvm-objdump || ls /usr/bin/llvm-objdump-* 2>/dev/null | sort -V | tail -1)
loads_homebrew_openssl() {
    local used; used=$("$objdump_tool" --macho --dylibs-used "$build/netd-tunnel")
    grep -q '/usr/local/opt/openssl@3/lib/libssl.3.dylib' <<<"$used" &&
        grep -q '/usr/local/opt/openssl@3/lib/libcrypto.3.dylib' <<<"$used" || { echo "$used"; return 1; }
}
check "netd-tunnel loads Homebrew's libssl.3 and libcrypto.3" loads_homebrew_openssl

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
