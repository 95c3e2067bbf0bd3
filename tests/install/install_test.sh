#!/usr/bin/env bash
# Staged installs (DESTDIR) of both daemons, as an unprivileged user where the
# machine allows it: every path, mode and rendered value, then uninstall
# leaving the tree empty. Also the launchd plists' keys.
#   install_test.sh SOURCE_DIR BUILD_DIR
set -u
source_dir=$1
build_dir=$2
passed=0
failed=0
check() { # description, command...
    local what=$1
    shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $what"; fi
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
run_make=(make -s -C "$source_dir" BUILD_DIR="$build_dir" NO_BUILD=1 DESTDIR="$stage" PREFIX=/opt/netd)
# As nobody, when nobody can read the tree and the binaries.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$build_dir/tun-daemon" -a -r "$source_dir/Makefile"; then
    chown 65534:65534 "$stage"
    run_make=(setpriv --reuid=65534 --regid=65534 --clear-groups "${run_make[@]}")
    echo "staging as uid 65534"
else
    echo "staging as uid $(id -u) (nobody cannot read the build tree here)"
fi

check "install_tun and install succeed" "${run_make[@]}" install_tun install
mode() { stat -c %a "$stage$1"; }
for daemon in tun-daemon subnet-daemon; do
    stem=${daemon/-/_}
    check "$daemon binary mode 755" test "$(mode /opt/netd/bin/$daemon)" = 755
    check "$daemon binary is the built one" cmp -s "$stage/opt/netd/bin/$daemon" "$build_dir/$daemon"
    unit=$stage/etc/systemd/system/$daemon.service
    check "$daemon unit mode 644" test "$(mode /etc/systemd/system/$daemon.service)" = 644
    check "$daemon unit runs the installed binary" grep -q "^ExecStart=/opt/netd/bin/$daemon " "$unit"
    check "$daemon unit has no placeholder left" bash -c "! grep -q @BINDIR@ '$unit'"
    check "$daemon unit may write its logs" grep -q "^ReadWritePaths=/var/log/$stem.log /var/log/$stem.err$" "$unit"
    check "$daemon unit logs where the daemon logs" grep -q -- "--log-dir /var/log" "$unit"
    check "$daemon unit allows netlink" grep -q "^RestrictAddressFamilies=.*AF_NETLINK" "$unit"
    check "$daemon unit is Type=notify" grep -q "^Type=notify$" "$unit"
    check "$daemon logrotate snippet" test "$(mode /etc/logrotate.d/netd-$daemon)" = 644
    for log in log err; do
        check "$daemon .$log mode 640" test "$(mode /var/log/$stem.$log)" = 640
    done
done
check "netctl binary mode 755" test "$(mode /opt/netd/bin/netctl)" = 755
check "netctl man page" test "$(mode /opt/netd/share/man/man1/netctl.1)" = 644
check "netctl bash completion" test "$(mode /opt/netd/share/bash-completion/completions/netctl)" = 644
if [ -x "$build_dir/netd-tunnel" ]; then
    check "netd-tunnel binary mode 755" test "$(mode /opt/netd/bin/netd-tunnel)" = 755
    tunnel_unit=$stage/etc/systemd/system/netd-tunnel@.service
    check "netd-tunnel@ unit mode 644" test "$(mode /etc/systemd/system/netd-tunnel@.service)" = 644
    check "netd-tunnel@ unit runs the installed binary on its instance's config" \
        grep -q "^ExecStart=/opt/netd/bin/netd-tunnel .* /etc/netd/tunnel/%i.json$" "$tunnel_unit"
    check "netd-tunnel@ unit has no capability" grep -q "^CapabilityBoundingSet=$" "$tunnel_unit"
fi
check "netctl stays while a daemon does" bash -c "$(printf '%q ' "${run_make[@]}") uninstall_tun && test -x '$stage/opt/netd/bin/netctl'"
check "install_tun again succeeds" "${run_make[@]}" install_tun
check "uninstall_tun and uninstall succeed" "${run_make[@]}" uninstall_tun uninstall
check "uninstall leaves the staging tree empty" test -z "$(ls -A "$stage")"
[ -z "$(ls -A "$stage")" ] || find "$stage"

check "netd-tunnel plist parses and runs netd-tunnel as nobody" python3 -c '
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
assert p["ProgramArguments"][0] == "@BINDIR@/netd-tunnel" and p["UserName"] == "nobody" and p["KeepAlive"]
' "$source_dir/services/launchd/com.netd.netd-tunnel.plist"
for daemon in tun-daemon subnet-daemon; do
    stem=${daemon/-/_}
    check "$daemon plist parses and holds the required keys" python3 - "$source_dir/services/launchd/com.netd.$daemon.plist" "$daemon" "$stem" <<'PY'
import plistlib, sys
path, daemon, stem = sys.argv[1:]
plist = plistlib.load(open(path, "rb"))
assert plist["Label"] == f"com.netd.{daemon}", plist["Label"]
assert plist["ProgramArguments"][0] == f"@BINDIR@/{daemon}"
assert plist["ProgramArguments"][1:3] == ["--log-dir", "/var/log"]
assert plist["RunAtLoad"] is True and plist["KeepAlive"] is True
assert plist["UserName"] == "root" and plist["GroupName"] == "wheel"
assert plist["StandardOutPath"] == f"/var/log/{stem}.log"
assert plist["StandardErrorPath"] == f"/var/log/{stem}.err"
PY
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
