#!/bin/sh
# Installs or removes one netd daemon with its service definition, log files
# and log rotation. The Makefile's install_* and uninstall_* targets call it.
#
#   services/install.sh install|uninstall DAEMON LOG_STEM
#
# Environment: PREFIX (default /usr/local), DESTDIR (a staging root; nothing
# is started, stopped or chowned then), BUILD_DIR (default build), PURGE=1
# (uninstall also deletes the interfaces the daemon made).
set -eu

action=$1
daemon=$2
stem=$3
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BUILD_DIR=${BUILD_DIR:-build}
PURGE=${PURGE:-0}
here=$(dirname "$0")
bindir=$PREFIX/bin
mandir=$PREFIX/share/man/man1
completiondir=$PREFIX/share/bash-completion/completions
logs="/var/log/$stem.log /var/log/$stem.err"

if [ "$(uname -s)" = Darwin ]; then
    service_source=$here/launchd/com.netd.$daemon.plist
    service_file=/Library/LaunchDaemons/com.netd.$daemon.plist
    rotation_source=$here/newsyslog/$daemon.conf
    rotation_file=/etc/newsyslog.d/netd-$daemon.conf
    log_group=wheel
else
    service_source=$here/systemd/$daemon.service
    service_file=/etc/systemd/system/$daemon.service
    rotation_source=$here/logrotate/$daemon
    rotation_file=/etc/logrotate.d/netd-$daemon
    log_group=adm
fi

note() { echo "$daemon: $*"; }

# The group netd (its members may change interfaces, as root may) and the
# system user netd the daemons run as, in that group; made once, kept on
# uninstall (files may still belong to them), as Debian's packages do.
account=netd
add_account() {
    if ! getent group "$account" >/dev/null; then
        groupadd --system "$account" && note "created the group $account (its members may change interfaces)"
    fi
    if ! getent passwd "$account" >/dev/null; then
        useradd --system --gid "$account" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            --comment "netd daemons" "$account" && note "created the system user $account (the daemons run as it)"
    fi
}

# Whether this is a real install on a host whose service manager runs.
manages_services() {
    [ -z "$DESTDIR" ] || return 1
    if [ "$(uname -s)" = Darwin ]; then return 0; fi
    [ -d /run/systemd/system ] # systemd is PID 1
}

how_to_start() {
    if [ "$(uname -s)" = Darwin ]; then
        echo "sudo launchctl bootstrap system $service_file"
    else
        echo "sudo systemctl enable --now $daemon (or run sudo $bindir/$daemon in the foreground)"
    fi
}

start_service() {
    if ! manages_services; then
        if [ -n "$DESTDIR" ]; then
            note "staged in $DESTDIR; once installed, start it with: $(how_to_start)"
        else
            note "systemd is not running here (a container or chroot?); start it by hand: sudo $bindir/$daemon"
        fi
        return 0
    fi
    if [ "$(uname -s)" = Darwin ]; then
        launchctl bootout "system/com.netd.$daemon" 2>/dev/null || true
        launchctl bootstrap system "$service_file"
    else
        systemctl daemon-reload
        systemctl enable "$daemon"
        systemctl restart "$daemon"
    fi
    note "installed and started"
}

stop_service() {
    manages_services || return 0
    if [ "$(uname -s)" = Darwin ]; then
        launchctl bootout "system/com.netd.$daemon" 2>/dev/null || true
    else
        systemctl disable --now "$daemon" 2>/dev/null || true
    fi
}

# Deletes every interface the running daemon manages, through its own API.
purge_interfaces() {
    if [ "$daemon" = tun-daemon ]; then
        url=http://127.0.0.1:3030/tun key=name
    else
        url=http://127.0.0.1:3031/subnet key=network
    fi
    if ! listing=$(curl -sf "$url"); then
        note "PURGE=1: the daemon does not answer at $url; its interfaces stay"
        return 0
    fi
    for item in $(printf '%s' "$listing" | grep -o "\"$key\":\"[^\"]*\"" | cut -d'"' -f4); do
        encoded=$(printf '%s' "$item" | sed 's|/|%2F|g')
        curl -sf -X DELETE "$url/$encoded" >/dev/null && note "deleted $item" || note "could not delete $item"
    done
}

# netd-tunnel (where the build made it) with its
# service: a systemd template whose instances are the admin's to enable
# (systemctl enable --now netd-tunnel@NAME runs /etc/netd/tunnel/NAME.json),
# or a launchd plist, loaded by hand. Its user, netd-tunnel, is in the group
# netd, so that tun-daemon makes its TUN as asked.
if [ "$(uname -s)" = Darwin ]; then
    tunnel_service_source=$here/launchd/com.netd.netd-tunnel.plist
    tunnel_service_file=/Library/LaunchDaemons/com.netd.netd-tunnel.plist
else
    tunnel_service_source=$here/systemd/netd-tunnel@.service
    tunnel_service_file=/etc/systemd/system/netd-tunnel@.service
fi
install_tunnel() {
    [ -x "$BUILD_DIR/netd-tunnel" ] || return 0
    install -m 0755 "$BUILD_DIR/netd-tunnel" "$DESTDIR$bindir/netd-tunnel"
    sed "s|@BINDIR@|$bindir|g" "$tunnel_service_source" >"$rendered_tunnel"
    install -d "$DESTDIR$(dirname "$tunnel_service_file")"
    install -m 0644 "$rendered_tunnel" "$DESTDIR$tunnel_service_file"
    if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && [ "$(uname -s)" != Darwin ]; then
        add_account
        if ! getent passwd netd-tunnel >/dev/null; then
            useradd --system --user-group --groups "$account" --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --comment "netd-tunnel" netd-tunnel &&
                note "created the system user netd-tunnel (netd-tunnel@.service runs as it)"
        fi
        install -d -m 0750 -g netd-tunnel /etc/netd/tunnel
    fi
}

uninstall_tunnel() {
    if manages_services && [ "$(uname -s)" != Darwin ]; then
        for unit in $(systemctl list-units --plain --no-legend 'netd-tunnel@*' 2>/dev/null | awk '{print $1}'); do
            systemctl disable --now "$unit" 2>/dev/null || true
        done
    fi
    rm -f "$DESTDIR$bindir/netd-tunnel" "$DESTDIR$tunnel_service_file"
}

# netctl, its man page and its bash completion, and netd-tunnel, come with
# either daemon, and go with the last of them.
install_client() {
    install -d "$DESTDIR$mandir" "$DESTDIR$completiondir"
    install -m 0755 "$BUILD_DIR/netctl" "$DESTDIR$bindir/netctl"
    install -m 0644 "$here/../docs/netctl.1" "$DESTDIR$mandir/netctl.1"
    install -m 0644 "$here/../docs/netctl.bash" "$DESTDIR$completiondir/netctl"
    rendered_tunnel=$(mktemp)
    install_tunnel
    rm -f "$rendered_tunnel"
}

uninstall_client() {
    for other in tun-daemon subnet-daemon; do
        if [ "$other" != "$daemon" ] && [ -e "$DESTDIR$bindir/$other" ]; then return 0; fi
    done
    rm -f "$DESTDIR$bindir/netctl" "$DESTDIR$mandir/netctl.1" "$DESTDIR$completiondir/netctl"
    uninstall_tunnel
    if [ -n "$DESTDIR" ]; then
        remove_empty_dirs "$mandir"
        remove_empty_dirs "$completiondir"
    fi
}

install_daemon() {
    install -d "$DESTDIR$bindir" "$DESTDIR$(dirname "$service_file")" "$DESTDIR$(dirname "$rotation_file")" \
        "$DESTDIR/var/log"
    install -m 0755 "$BUILD_DIR/$daemon" "$DESTDIR$bindir/$daemon"
    install_client
    rendered=$(mktemp)
    sed "s|@BINDIR@|$bindir|g" "$service_source" >"$rendered"
    install -m 0644 "$rendered" "$DESTDIR$service_file"
    rm -f "$rendered"
    install -m 0644 "$rotation_source" "$DESTDIR$rotation_file"
    log_owner=root
    if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && [ "$(uname -s)" != Darwin ]; then
        add_account
        log_owner=$account
    fi
    for log in $logs; do
        [ -e "$DESTDIR$log" ] || install -m 0640 /dev/null "$DESTDIR$log"
        # A staged tree is chowned by whoever packages it. The daemon, as
        # netd, reopens its logs on SIGHUP.
        if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ]; then chown "$log_owner:$log_group" "$log"; fi
    done
    start_service
}

# Removes `dir` and its parents below DESTDIR while they are empty.
remove_empty_dirs() {
    dir=$1
    while [ "$dir" != / ] && rmdir "$DESTDIR$dir" 2>/dev/null; do dir=$(dirname "$dir"); done
}

uninstall_daemon() {
    if [ "$PURGE" = 1 ] && [ -z "$DESTDIR" ]; then purge_interfaces; fi
    stop_service
    rm -f "$DESTDIR$bindir/$daemon" "$DESTDIR$service_file" "$DESTDIR$rotation_file"
    uninstall_client
    if manages_services && [ "$(uname -s)" != Darwin ]; then systemctl daemon-reload; fi
    if [ -n "$DESTDIR" ]; then
        # Staged logs are empty placeholders; the staging tree is left as found.
        for log in $logs; do rm -f "$DESTDIR$log"; done
        for dir in "$bindir" "$(dirname "$service_file")" "$(dirname "$rotation_file")" /var/log; do
            remove_empty_dirs "$dir"
        done
    else
        note "kept the logs $logs; delete them by hand if they are no longer wanted"
    fi
    if [ "$PURGE" != 1 ]; then note "interfaces it made stay (PURGE=1 deletes them)"; fi
    note "uninstalled"
}

case $action in
install) install_daemon ;;
uninstall) uninstall_daemon ;;
*)
    echo "usage: $0 install|uninstall DAEMON LOG_STEM" >&2
    exit 2
    ;;
esac
