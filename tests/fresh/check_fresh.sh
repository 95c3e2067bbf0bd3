#!/usr/bin/env bash
# make check-fresh: the README's quick start on a really fresh Debian 12.
# A minimal root (debootstrap --variant=minbase, from the mirror this host's
# apt is configured with) gets a clean clone of HEAD, the README's one-line
# prerequisite and then `make test`, run as root inside it. Developers' and
# CI's machines already carry tools a new user's machine does not, and a
# missing install step hides there; a minimal root hides nothing.
#
# The debootstrapped root is cached as a tarball (FRESH_CACHE, default
# /var/cache/netd-check-fresh; see tests/fresh/minbase_root.sh) and unpacked
# anew each run; everything is torn down on exit, failure or not. Needs root (chroot, mounts).
#   tests/fresh/check_fresh.sh
#   FRESH_SUITE (bookworm), FRESH_MIRROR (the configured one), FRESH_CACHE,
#   FRESH_KEEP=1 to leave the root in place for a look after a failure.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cache=${FRESH_CACHE:-/var/cache/netd-check-fresh}

say() { echo "check-fresh: $*"; }
if [ "$(id -u)" != 0 ]; then
    say "needs root (debootstrap, chroot and mounts); run it as root or with sudo" >&2
    exit 1
fi

work=$(mktemp -d /var/tmp/netd-check-fresh.XXXXXX)
root=$work/root

# Tear down whatever got set up, even after a failure: processes still
# running in the root, then every mount under it (deepest first), then the
# files. Never remove the tree while anything is still mounted in it: /dev
# and /sys are bound there.
teardown() {
    local status=$?
    set +e
    for proc in /proc/[0-9]*; do
        [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill -9 "${proc#/proc/}" 2>/dev/null
    done
    local mounts
    mounts=$(awk -v root="$root" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    for mount in $mounts; do umount "$mount" 2>/dev/null || umount -l "$mount"; done
    if awk -v root="$root" '$5 == root || index($5, root "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        say "something is still mounted under $root; left it in place" >&2
    elif [ -n "${FRESH_KEEP:-}" ] && [ "$status" != 0 ]; then
        say "left the root in $root (FRESH_KEEP)"
    else
        rm -rf --one-file-system "$work"
    fi
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

bash "$source_dir/tests/fresh/minbase_root.sh" "$root"

# The host's own apt configuration, as a machine installed from that mirror
# would have it: its sources (the suite, updates, security) and how to reach
# them (Acquire:: settings), and name resolution.
rm -f "$root/etc/apt/sources.list"
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$file" ] && cp "$file" "$root$file"
done
for file in /etc/apt/apt.conf.d/*; do
    [ -r "$file" ] && grep -q '^[[:space:]]*Acquire::' "$file" && cp "$file" "$root$file"
done
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# A root with no init: package scripts must not try to start services.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# The root is a mount point of its own (ip netns bind-mounts under /run),
# private so that nothing mounted inside reaches the host.
mount --bind "$root" "$root"
mount --make-private "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
# The package test of the `make test` inside installs the package into a
# root of its own, unpacked from the same cached tarball: bound read-only.
mkdir -p "$root$cache"
mount --bind "$cache" "$root$cache" && mount -o remount,bind,ro "$root$cache"

git -C "$source_dir" clone -q --no-hardlinks "$source_dir" "$root/root/netd"
say "testing $(git -C "$root/root/netd" log -1 --format='%h %s')"

# The README's quick start, word for word: its one prerequisite, then the
# command. A clean environment, as a new login would have.
prerequisite=$(grep -m1 -E "^apt-get update && apt-get install " "$source_dir/README.md" || true)
if [ -z "$prerequisite" ]; then
    say "the README's quick start names no prerequisite line (apt-get update && apt-get install ...)" >&2
    exit 1
fi
in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "$1"
}
say "running: $prerequisite; make test"
in_root "set -e; $prerequisite; cd /root/netd; make test"

# And the other command, `make run`, driven as the README's API section does,
# in a network namespace of its own (the root shares the host's otherwise).
say "running: make run, then the README's first POSTs"
in_root 'set -e; cd /root/netd; exec unshare --net bash -c '\''
    set -e
    ip link set lo up
    setsid make run >/tmp/make-run.log 2>&1 &
    run=$!
    trap "kill -INT -- -$run 2>/dev/null; wait $run" EXIT
    for _ in $(seq 300); do
        curl -sf localhost:3030/healthz >/dev/null && curl -sf localhost:3031/healthz >/dev/null && break
        sleep 0.1
    done
    json="Content-Type: application/json"
    tun=$(curl -sf -X POST localhost:3030/tun -H "$json" -d "{\"name\":\"vpn0\"}") || { cat /tmp/make-run.log; exit 1; }
    subnet=$(curl -sf -X POST localhost:3031/subnet -H "$json" -d "{\"cidr\":\"10.1.0.0/24\"}")
    echo "POST /tun: $tun"
    echo "POST /subnet: $subnet"
    case $tun in *\"ip_addr\":\"10.0.0.1\"*) ;; *) exit 1 ;; esac
    case $subnet in *\"network\":\"10.1.0.0/24\"*) ;; *) exit 1 ;; esac
    # The logs are flushed every second.
    for _ in $(seq 50); do
        test -s var/log/tun_daemon.log && test -s var/log/subnet_daemon.log && exit 0
        sleep 0.1
    done
    echo "make run wrote no logs to var/log"; ls -l var/log; exit 1
'\'
say "passed"
