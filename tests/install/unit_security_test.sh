#!/usr/bin/env bash
# The systemd units' sandbox: systemd-analyze scores each at 1.7 or better
# (lower is safer) and finds no unknown keys. Skips (77) without systemd-analyze.
#   unit_security_test.sh SOURCE_DIR BUILD_DIR
set -u
source_dir=$1
build_dir=$2
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIPPED: systemd-analyze is not installed"
    exit 77
fi
passed=0
failed=0
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
units="tun-daemon.service subnet-daemon.service"
# netd-tunnel's template, as an instance, where the build made netd-tunnel.
[ -x "$build_dir/netd-tunnel" ] && units="$units netd-tunnel@.service"
for unit in $units; do
    daemon=${unit%.service}
    daemon=${daemon/%@/@test}
    # Rendered with the build's binary, so that verify finds an executable.
    sed "s|@BINDIR@|$build_dir|g" "$source_dir/services/systemd/$unit" >"$rendered/$daemon.service"
    score=$(systemd-analyze security --offline=true "$rendered/$daemon.service" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$score" ] && awk "BEGIN { exit !($score <= 1.7) }"; then
        passed=$((passed + 1))
        echo "$daemon: exposure $score"
    else
        failed=$((failed + 1))
        echo "FAILED: $daemon exposure '${score:-unknown}' is over 1.7"
    fi
    complaints=$(systemd-analyze verify "$rendered/$daemon.service" 2>&1)
    if [ -z "$complaints" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: systemd-analyze verify $daemon: $complaints"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
