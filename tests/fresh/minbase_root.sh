#!/usr/bin/env bash
# A minimal Debian root (debootstrap --variant=minbase, from the mirror this
# host's apt is configured with) unpacked at ROOT, from the cached tarball
# FRESH_CACHE/SUITE-minbase-ARCH.tar.gz, which is built first when missing.
# Shared by make check-fresh (tests/fresh/check_fresh.sh) and the package
# test (tests/package/deb_test.sh). Needs root. Sets up nothing else: the
# caller configures and tears the root down.
#   tests/fresh/minbase_root.sh ROOT
#   FRESH_SUITE (bookworm), FRESH_MIRROR (the configured one), FRESH_CACHE
#   (/var/cache/netd-check-fresh).
set -euo pipefail
root=${1:?usage: minbase_root.sh ROOT}
suite=${FRESH_SUITE:-bookworm}
cache=${FRESH_CACHE:-/var/cache/netd-check-fresh}

say() { echo "minbase root: $*"; }

# The first URI that this host's apt uses for the suite itself, in either
# format (deb822 .sources or one-line .list).
configured_mirror() {
    local file
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -r "$file" ] || continue
        awk -v suite="$suite" '
            /^[[:space:]]*$/ { if (uri != "" && has_suite && deb) { print uri; exit } uri = ""; has_suite = 0; deb = 0; next }
            /^URIs:/ { uri = $2 }
            /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has_suite = 1 }
            END { if (uri != "" && has_suite && deb) print uri }' "$file"
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$file" ] || continue
        awk -v suite="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i !~ /^\[/ && $(i + 1) == suite) { print $i; exit } }' "$file"
    done
}

tarball=$cache/$suite-minbase-$(dpkg --print-architecture).tar.gz
mkdir -p "$root"
if [ -s "$tarball" ]; then
    say "unpacking the cached minimal root $tarball"
    tar --numeric-owner -C "$root" -xzf "$tarball"
    exit 0
fi

mirror=${FRESH_MIRROR:-$(configured_mirror | head -n 1)}
if [ -z "$mirror" ]; then
    say "no apt source for $suite is configured on this host; set FRESH_MIRROR" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi
say "building a minimal $suite root from $mirror (cached in $tarball afterwards)"
mkdir -p "$cache"
log=$(mktemp)
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1; then
    tail -30 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
tar --numeric-owner -C "$root" -czf "$tarball.tmp.$$" .
mv "$tarball.tmp.$$" "$tarball"
