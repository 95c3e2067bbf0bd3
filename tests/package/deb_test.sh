#!/usr/bin/env bash
# The Debian package: built as make deb builds it (packaging/deb.sh:
# dpkg-buildpackage, then lintian with no error and no warning), then
# installed by dpkg into a throwaway minimal Debian root (the cached
# debootstrap root of make check-fresh, tests/fresh/minbase_root.sh), the
# root's own dpkg run chrooted, maintainer scripts and all: never into /. Checks the
# layout, modes, conffiles, the user netd and the enabled units; a
# conffile edited and kept across a reinstall; then remove (conffiles,
# state and logs stay) and purge (nothing is left but the user netd, as
# policy says). Prints "N passed, N failed"; exits 77 to skip.
#   deb_test.sh SOURCE_DIR BINARY_DIR [SKIP_REASON]
#   NETD_TEST_DEB=FILE: install FILE (built before) instead of building one.
set -u
source_dir=${1:?usage: deb_test.sh SOURCE_DIR BINARY_DIR [SKIP_REASON]}
binary_dir=${2:?usage: deb_test.sh SOURCE_DIR BINARY_DIR [SKIP_REASON]}
if [ -n "${3:-}" ]; then
    echo "SKIP: $3"
    exit 77
fi
missing=""
for tool in dpkg-buildpackage dh lintian dpkg-parsechangelog; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    echo "SKIP: make deb's tools are not installed (missing:$missing); make deb or make test installs them"
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root, to install the package into a throwaway root (chroot)"
    exit 77
fi

source "$source_dir/tests/check.sh"

out=$binary_dir/deb
work=$(mktemp -d /var/tmp/netd-deb-test.XXXXXX)
root=$work/root
teardown() {
    # Nothing is mounted in the root; processes of its scripts are gone.
    rm -rf --one-file-system "$work"
}
trap teardown EXIT
trap 'exit 130' INT TERM

build() {
    # No debug symbols package: 38 MB to compress for nothing here.
    DEB_JOBS=${DEB_JOBS:-2} DEB_BUILD_OPTIONS="noautodbgsym${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
        bash "$source_dir/packaging/deb.sh" "$out" >"$work/deb.log" 2>&1
    local status=$?
    cat "$work/deb.log"
    return $status
}
# NETD_TEST_DEB=FILE tests a package built before (make deb) instead.
if [ -n "${NETD_TEST_DEB:-}" ]; then
    echo "testing $NETD_TEST_DEB, built before (NETD_TEST_DEB)"
    deb=$NETD_TEST_DEB
elif check "make deb builds the package and lintian reports no error or warning" build; then
    deb=$(tail -n 1 "$work/deb.log")
else
    echo "$passed passed, $failed failed"
    exit 1
fi

check "a minimal root to install into" bash "$source_dir/tests/fresh/minbase_root.sh" "$root" || {
    echo "$passed passed, $failed failed"
    exit 1
}
# What the root held before, to compare with after the purge.
snapshot() { (cd "$root" && find . -xdev | LC_ALL=C sort); }
snapshot >"$work/before"

# The root's own dpkg, run chrooted, so that its configuration, database
# and log are the root's (the host's dpkg --root would still log to the
# host's /var/log/dpkg.log and read its dpkg.cfg.d). The root lacks the
# libraries the programs link (nothing runs them here), hence
# --force-depends; adduser and init-system-helpers, which the maintainer
# scripts call, are in it. No systemd runs in the root, so the units are
# enabled but not started.
cp "$deb" "$root/tmp/netd.deb"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
in_dpkg() { in_root dpkg --force-depends "$@" >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; return 1; }; }
check "dpkg installs the package" in_dpkg -i /tmp/netd.deb
check "the package is installed" bash -c "chroot '$root' dpkg -s netd | grep -q '^Status: install ok installed'"

mode() { stat -c '%a %U:%G' "$root$1" 2>/dev/null; }
owner_in_root() { chroot "$root" stat -c '%a %U:%G' "$1" 2>/dev/null; }
for program in tun-daemon subnet-daemon netctl; do
    check "/usr/bin/$program 755 root:root" test "$(mode /usr/bin/$program)" = "755 root:root"
done
for daemon in tun-daemon subnet-daemon; do
    unit=/lib/systemd/system/$daemon.service
    check "$unit 644" test "$(mode "$unit")" = "644 root:root"
    check "$daemon unit runs /usr/bin/$daemon with the defaults file's flags" \
        grep -q "^ExecStart=/usr/bin/$daemon .* \$$(echo "$daemon" | tr a-z- A-Z_)_ARGS$" "$root$unit"
    check "$daemon unit reads /etc/default/$daemon" grep -qx "EnvironmentFile=-/etc/default/$daemon" "$root$unit"
    check "$daemon unit is enabled" \
        test "$(readlink "$root/etc/systemd/system/multi-user.target.wants/$daemon.service")" = "$unit"
    check "/etc/default/$daemon 644" test "$(mode /etc/default/$daemon)" = "644 root:root"
    check "/etc/logrotate.d/netd-$daemon 644" test "$(mode /etc/logrotate.d/netd-$daemon)" = "644 root:root"
    check "/usr/share/man/man8/$daemon.8.gz" test -s "$root/usr/share/man/man8/$daemon.8.gz"
    stem=${daemon/-/_}
    for log in /var/log/$stem.log /var/log/$stem.err; do
        check "$log 640 netd:adm" test "$(owner_in_root "$log")" = "640 netd:adm"
    done
done
check "/usr/bin/netd-tunnel 755 root:root" test "$(mode /usr/bin/netd-tunnel)" = "755 root:root"
check "the netd-tunnel@ template runs /usr/bin/netd-tunnel on its instance's config" \
    grep -q '^ExecStart=/usr/bin/netd-tunnel .* /etc/netd/tunnel/%i.json$' "$root/lib/systemd/system/netd-tunnel@.service"
check "/usr/share/man/man8/netd-tunnel.8.gz" test -s "$root/usr/share/man/man8/netd-tunnel.8.gz"
check "the template is not enabled (instances are the admin's)" \
    test ! -e "$root/etc/systemd/system/multi-user.target.wants/netd-tunnel@.service"
check "the system user netd-tunnel, in the group netd" \
    bash -c "chroot '$root' id -nG netd-tunnel | tr ' ' '\n' | grep -qx netd"
check "/etc/netd/tunnel 750 root:netd-tunnel (its configs hold tokens)" \
    test "$(owner_in_root /etc/netd/tunnel)" = "750 root:netd-tunnel"
check "/usr/share/man/man1/netctl.1.gz" test -s "$root/usr/share/man/man1/netctl.1.gz"
check "bash completion for netctl" test "$(mode /usr/share/bash-completion/completions/netctl)" = "644 root:root"
check "copyright and changelog" test -s "$root/usr/share/doc/netd/copyright" -a -s "$root/usr/share/doc/netd/changelog.gz"
conffiles=$(LC_ALL=C sort "$root/var/lib/dpkg/info/netd.conffiles" | tr '\n' ' ')
check "the conffiles are the files under /etc" test "$conffiles" = \
    "/etc/default/subnet-daemon /etc/default/tun-daemon /etc/logrotate.d/netd-subnet-daemon /etc/logrotate.d/netd-tun-daemon "
check "the system user netd, in the group netd, with no shell" \
    bash -c "chroot '$root' getent passwd netd | grep -Eq '^netd:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' &&
        test \"\$(chroot '$root' id -gn netd)\" = netd"
check "netd's uid is a system one" bash -c "test \$(chroot '$root' id -u netd) -lt 1000"
check "nothing but the package's own files is shipped under /var" \
    bash -c "! chroot '$root' dpkg -L netd | grep -E '^/var/(lib|log)/'"

# An admin's change to a conffile survives a reinstall (an upgrade to the
# same version); then the daemons' state, as they would leave it.
echo 'TUN_DAEMON_ARGS="--log-level debug"' >>"$root/etc/default/tun-daemon"
check "dpkg reinstalls the package" in_dpkg -i /tmp/netd.deb
check "the edited conffile is kept" grep -qx 'TUN_DAEMON_ARGS="--log-level debug"' "$root/etc/default/tun-daemon"
mkdir -p "$root/var/lib/tun-daemon" "$root/var/lib/subnet-daemon"
echo '{}' >"$root/var/lib/tun-daemon/journal"
echo '{}' >"$root/var/lib/subnet-daemon/journal"
echo rotated >"$root/var/log/tun_daemon.log.1"
gzip -c "$root/var/log/tun_daemon.log.1" >"$root/var/log/subnet_daemon.err.2.gz"

check "dpkg removes the package" in_dpkg -r netd
for program in tun-daemon subnet-daemon netctl netd-tunnel; do
    check "remove: /usr/bin/$program is gone" test ! -e "$root/usr/bin/$program"
done
check "remove: the units are gone" \
    bash -c "! ls '$root/lib/systemd/system/' | grep -q daemon.service"
check "remove: the conffiles stay" test -e "$root/etc/default/tun-daemon" -a -e "$root/etc/logrotate.d/netd-subnet-daemon"
check "remove: the state stays" test -e "$root/var/lib/tun-daemon/journal"
check "remove: the logs stay" test -e "$root/var/log/tun_daemon.log" -a -e "$root/var/log/subnet_daemon.err"

rm -f "$root/tmp/netd.deb"
check "dpkg purges the package" in_dpkg -P netd
check "purge: the package is gone" bash -c "! chroot '$root' dpkg -s netd >/dev/null 2>&1"
snapshot >"$work/after"
check "purge: the conffiles are gone" test ! -e "$root/etc/default/tun-daemon" -a ! -e "$root/etc/logrotate.d/netd-tun-daemon"
check "purge: the state is gone" test ! -e "$root/var/lib/tun-daemon" -a ! -e "$root/var/lib/subnet-daemon"
check "purge: the logs are gone, rotated ones too" \
    bash -c "! ls '$root/var/log/' | grep -E '^(tun|subnet)_daemon'"
# What may differ: dpkg's own records and log, the users and groups (netd
# stays, as Debian's packages leave system users) with their backups, and
# adduser's lock in /run (a tmpfs on a running system).
allowed='^\./(var/lib/dpkg/|var/log/dpkg\.log$|etc/(passwd|group|shadow|gshadow)-?$|run/adduser$)'
leftover=$(comm -13 "$work/before" "$work/after" | grep -Ev "$allowed")
check "purge: nothing else is left (left: ${leftover:-nothing})" test -z "$leftover"
gone=$(comm -23 "$work/before" "$work/after" | grep -Ev "$allowed")
check "purge: nothing of the root is gone (gone: ${gone:-nothing})" test -z "$gone"
check "purge: the user netd stays" bash -c "chroot '$root' getent passwd netd >/dev/null"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
