#!/usr/bin/env bash
# netd-tunnel end to end, in network namespaces this script makes (a server
# and two clients joined by veths), each with its own tun-daemon:
#   ping and TCP through the tunnel both ways, a route to one client,
#   source pinning, a client reaching the other through the server;
#   a wrong token gets 401 and no packet passes; a peer breaking the
#   WebSocket framing is cut off; a spoofed source is dropped and counted;
#   the server killed with -9 and restarted, traffic
#   back within 10 s without touching the client; nginx terminating TLS in
#   front; netd-tunnel's own TLS; CapEff 0; a bad config's exit 2 and one line.
# Prints "N passed, N failed"; exits 77 (skipped) when it cannot make
# namespaces or lacks a program it needs, saying why.
#   tests/tunnel/tunnel_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
tunnel=$build/netd-tunnel tun_daemon=$build/tun-daemon
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "the tunnel test makes network namespaces and TUNs, which needs root"
[ -x "$tunnel" ] || { echo "FAIL: $tunnel is missing: the build did not make it"; exit 1; }
for c in ip nginx openssl python3 setpriv curl ping; do
    command -v "$c" >/dev/null || skip "$c is not installed (make test-deps installs it)"
done
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

id=$$
srv=nt-srv-$id c1=nt-c1-$id c2=nt-c2-$id
work=$(mktemp -d /tmp/netd-tunnel-test.XXXXXX)
chmod 755 "$work"
# The clients run as uid 65534, who may not reach the build tree (under
# /root, 0700, in make check-fresh's root): they run a copy.
cp "$tunnel" "$work/netd-tunnel"
chmod 755 "$work/netd-tunnel"
tunnel=$work/netd-tunnel
pids=()
cleanup() {
    disown -a 2>/dev/null
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    # Everything still running in the hosts, whatever started it (a pid
    # recorded by a subshell is the subshell's): a process left behind would
    # also hold the test's output open, and ctest would wait for it.
    for ns in $srv $c1 $c2; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    for ns in $srv $c1 $c2; do ip netns del "$ns" 2>/dev/null; done
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0 failed=0
check() { # check NAME COMMAND...: one result line
    local name=$1; shift
    if "$@" >"$work/check.out" 2>&1; then
        echo "ok   $name"; passed=$((passed + 1))
    else
        echo "FAIL $name"; sed 's/^/     /' "$work/check.out" | tail -15; failed=$((failed + 1))
    fi
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Waits up to $1 s for the command to succeed.
within() { local end=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done; }

# ---- the hosts: veths 10.99.1.0/24 (srv-c1) and 10.99.2.0/24 (srv-c2) ----
for ns in $srv $c1 $c2; do ip netns add "$ns" || skip "cannot make network namespaces"; in_ns "$ns" ip link set lo up; done
ip link add ntv1-$id type veth peer name ntv1p-$id || skip "cannot make veths"
ip link add ntv2-$id type veth peer name ntv2p-$id
ip link set ntv1-$id netns $srv; ip link set ntv1p-$id netns $c1
ip link set ntv2-$id netns $srv; ip link set ntv2p-$id netns $c2
in_ns $srv ip addr add 10.99.1.1/24 dev ntv1-$id; in_ns $srv ip link set ntv1-$id up
in_ns $srv ip addr add 10.99.2.1/24 dev ntv2-$id; in_ns $srv ip link set ntv2-$id up
in_ns $c1 ip addr add 10.99.1.2/24 dev ntv1p-$id; in_ns $c1 ip link set ntv1p-$id up
in_ns $c2 ip addr add 10.99.2.2/24 dev ntv2p-$id; in_ns $c2 ip link set ntv2p-$id up
# The server forwards between its clients, as a hub does.
in_ns $srv sysctl -qw net.ipv4.ip_forward=1

# ---- a tun-daemon on each host; netd-tunnel runs as uid 65534, whose group
# (nogroup) is the daemons' admin group here ----
admin_group=$(id -gn 65534)
for ns in $srv $c1 $c2; do
    d=$work/$ns; mkdir -p "$d/log" "$d/state"
    ip netns exec "$ns" "$tun_daemon" --log-dir "$d/log" --state-dir "$d/state" --lock-file "$d/lock" \
        --fd-socket "$d/fd.sock" --admin-group "$admin_group" --pool 10.200.0.0/16 >"$d/daemon.out" 2>&1 &
    pids+=($!)
done
for ns in $srv $c1 $c2; do
    within 10 in_ns "$ns" curl -sf localhost:3030/healthz || { echo "tun-daemon in $ns did not start"; cat "$work/$ns/log/"*; exit 1; }
done

# token3: a client no netd-tunnel uses, for the hostile peers below.
token1=alpha-token token2=beta-token token3=gamma-token
sha1() { printf %s "$1" | sha1sum | cut -d' ' -f1; }
sha256() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
# nginx, below, proxies to it from 127.0.0.1 and says who it serves.
cat >"$work/server.json" <<JSON
[{"name": "nt0", "port": 8080, "net": "10.10.0.1/24", "trusted_proxies": ["127.0.0.1"],
  "clients": [
    {"token": "$(sha1 $token1)", "ip": "10.10.0.2", "routes": ["10.61.0.0/24"]},
    {"token_sha256": "$(sha256 $token2)", "ip": "10.10.0.3", "sources": ["192.168.77.1"]},
    {"token": "$(sha1 $token3)", "ip": "10.10.0.4"}
  ]}]
JSON
client_config() { # NAME URL TOKEN [EXTRA JSON]
    printf '{"name": "%s", "server": "%s", "token": "%s"%s}\n' "$1" "$2" "$3" "${4:-}"
}
client_config nt0 http://10.99.1.1:8080/ip $token1 >"$work/c1.json"
# Client 2 with tapotun's mark: its routes go to table 177, which only
# packets marked 77 look up.
client_config nt0 http://10.99.2.1:8080/ip $token2 ', "mark": {"value": 77, "table": 177}' >"$work/c2.json"
chmod 644 "$work"/*.json

start_tunnel() { # NS CONFIG [as-root] [FLAG...]: prints the pid
    local ns=$1 config=$2 as=(setpriv --reuid=65534 --regid=65534 --init-groups)
    shift 2
    if [ "${1:-}" = as-root ]; then as=(); shift; fi
    # ip netns exec itself in the background, not through in_ns: $! is then
    # the process that becomes netd-tunnel (a function would be a subshell).
    ip netns exec "$ns" "${as[@]}" "$tunnel" --fd-socket "$work/$ns/fd.sock" --metrics "unix:$work/$ns/metrics.sock" \
        "$@" "$config" >>"$work/$ns/tunnel.log" 2>&1 &
    echo $!
}
metrics() { curl -s --unix-socket "$work/$1/metrics.sock" http://x/metrics; }
chmod 777 "$work/$srv" "$work/$c1" "$work/$c2"

# The server as root, to show it drops what it was started with.
server_pid=$(start_tunnel $srv "$work/server.json" as-root); pids+=($server_pid)
c1_pid=$(start_tunnel $c1 "$work/c1.json"); pids+=($c1_pid)
# Client 2 without the TUN's offloads, as on macOS: the server's TCP
# segments of up to 64 KiB are cut into packets in netd-tunnel.
c2_pid=$(start_tunnel $c2 "$work/c2.json" --no-offloads); pids+=($c2_pid)

has_address() { in_ns "$1" ip -j addr show dev "$2" | grep -q "\"local\":\"$3\""; }
check "client 1 gets its address from the server's hello" within 15 has_address $c1 nt0 10.10.0.2
check "client 2 too" within 15 has_address $c2 nt0 10.10.0.3

marked() {
    in_ns $c2 ip -j rule | grep -q '"fwmark":"0x4d","table":"177"' || { in_ns $c2 ip rule; return 1; }
    in_ns $c2 ip -j route show table 177 | grep -q '"dst":"10.61.0.0/24","dev":"nt0"' || { in_ns $c2 ip route show table all | grep nt0; return 1; }
    ! in_ns $c2 ip -j route show table main | grep -q '10.61.0.0/24'
}
check "client 2's mark: a rule fwmark 77 lookup 177 and its routes in table 177, not main" marked
check "ping client 1 -> server" in_ns $c1 ping -c 3 -i 0.2 -W 2 10.10.0.1
check "ping server -> client 1" in_ns $srv ping -c 3 -i 0.2 -W 2 10.10.0.2
check "ping server -> client 2" in_ns $srv ping -c 3 -i 0.2 -W 2 10.10.0.3
check "ping client 1 -> client 2, through the server" in_ns $c1 ping -c 3 -i 0.2 -W 2 10.10.0.3

# TCP both ways: 4 MiB each way through a python echo of its hash.
cat >"$work/tcp.py" <<'PY'
import hashlib, socket, sys
mode, host = sys.argv[1], sys.argv[2]
if mode == "serve":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((host, 5001)); s.listen(1)
    s.settimeout(20); c, _ = s.accept(); c.settimeout(20)
    h, n = hashlib.sha256(), 0
    while n < 4 << 20:
        b = c.recv(65536)
        if not b: break
        h.update(b); n += len(b)
    c.sendall(h.hexdigest().encode() + b"\n" + bytes(4 << 20)); c.close()
else:
    data = bytes(range(256)) * (16 << 10)
    c = socket.create_connection((host, 5001), timeout=20); c.sendall(data)
    got = b""
    while len(got) < 65 + (4 << 20):
        b = c.recv(65536)
        if not b: break
        got += b
    ok = got[:64].decode() == hashlib.sha256(data).hexdigest() and len(got) == 65 + (4 << 20)
    sys.exit(0 if ok else 1)
PY
tcp_both_ways() { # SERVER_NS ADDRESS CLIENT_NS
    in_ns "$1" python3 "$work/tcp.py" serve "$2" & local p=$!
    within 5 in_ns "$1" bash -c "ss -ltn | grep -q ':5001'"
    in_ns "$3" python3 "$work/tcp.py" send "$2"; local r=$?
    wait $p; return $r
}
check "TCP client 1 <-> server (4 MiB each way)" tcp_both_ways $srv 10.10.0.1 $c1
check "TCP server <-> client 2 (4 MiB each way)" tcp_both_ways $c2 10.10.0.3 $srv
link_stat() { # NS rx|tx bytes|packets: of its nt0
    in_ns "$1" ip -s -j link show dev nt0 | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$2']['$3'])"
}
plain_packets() { # client 2's TUN took packets of its MTU at most; the server's gave segments
    local bytes packets; bytes=$(link_stat $c2 rx bytes); packets=$(link_stat $c2 rx packets)
    [ "$bytes" -ge $((4 << 20)) ] && [ $((bytes / packets)) -le 1500 ] || { echo "client 2: $bytes bytes in $packets packets"; return 1; }
    bytes=$(link_stat $srv tx bytes); packets=$(link_stat $srv tx packets)
    [ $((bytes / packets)) -gt 1500 ] || { echo "the server's TUN gave no segments: $bytes bytes in $packets packets"; return 1; }
}
check "client 2 (--no-offloads) got plain packets, cut from the server's segments" plain_packets

# A route to client 1: 10.61.0.0/24 is behind it (here, an address on its lo).
in_ns $c1 ip addr add 10.61.0.1/32 dev lo
check "the server reaches client 1's route 10.61.0.0/24" in_ns $srv ping -c 2 -i 0.2 -W 2 10.61.0.1
# Source pinning: from 192.168.77.1 (pinned to client 2) to client 1's
# route goes to client 2 instead.
in_ns $srv ip addr add 192.168.77.1/32 dev lo
rx_packets() { link_stat "$1" rx packets; }
pinned() {
    local before; before=$(rx_packets $c2)
    in_ns $srv ping -c 3 -i 0.2 -W 1 -I 192.168.77.1 10.61.0.1 >/dev/null 2>&1
    [ $(( $(rx_packets $c2) - before )) -ge 3 ] || { echo "client 2's TUN got $(( $(rx_packets $c2) - before )) packets, not 3"; return 1; }
}
check "a source pinned to client 2 goes to client 2" pinned

# Anti-spoofing: client 1 sends from an address it was not given.
in_ns $c1 ip addr add 10.77.0.1/32 dev lo
spoof_dropped() {
    ! in_ns $c1 ping -c 2 -i 0.2 -W 1 -I 10.77.0.1 10.10.0.1 || { echo "a spoofed ping got an answer"; return 1; }
    metrics $srv | grep -E 'netd_tunnel_drops_total\{tunnel="nt0",peer="10.10.0.2",reason="spoofed"\} [1-9]'
}
check "a spoofed source is dropped and counted" spoof_dropped

# IPv6 on a client's TUN (a kernel's router solicitations, say): kept on the
# client and counted as such, not sent to be counted as spoofing.
ipv6_kept() {
    spoofed() { metrics $srv | sed -n 's/^netd_tunnel_drops_total{tunnel="nt0",peer="10.10.0.2",reason="spoofed"} //p'; }
    local before; before=$(spoofed)
    in_ns $c1 python3 -c '
import socket
packet = bytes([0x60, 0, 0, 0, 0, 8, 58, 64]) + bytes.fromhex("fe80" + "0" * 27 + "1") + bytes.fromhex("ff02" + "0" * 27 + "1") \
    + bytes([128, 0, 0, 0, 0, 1, 0, 1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x86DD))
for _ in range(3):
    s.sendto(packet, ("nt0", 0x86DD))
'
    within 3 bash -c "curl -s --unix-socket '$work/$c1/metrics.sock' http://x/metrics | grep -qE 'reason=\"not_ipv4\"\} [3-9]'" ||
        { metrics $c1 | grep drops; return 1; }
    local after; after=$(spoofed)
    [ -n "$before" ] && [ "$after" = "$before" ] || { echo "spoofed: $before before, $after after"; return 1; }
}
check "IPv6 from a client's kernel stays on the client, counted as not_ipv4" ipv6_kept

# A wrong token: 401, and no packet passes.
wrong_token() {
    local code
    code=$(in_ns $c1 curl -s -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
        -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'x-api-key: guess' \
        http://10.99.1.1:8080/ip)
    [ "$code" = 401 ] || { echo "got $code"; return 1; }
    mkdir -p "$work/c1b"
    client_config bad0 http://10.99.1.1:8080/ip wrong >"$work/bad.json"; chmod 644 "$work/bad.json"
    in_ns $c1 setpriv --reuid=65534 --regid=65534 --init-groups timeout 3 "$tunnel" --fd-socket "$work/$c1/fd.sock" \
        "$work/bad.json" >"$work/bad.log" 2>&1
    grep -q 'refused the token (401)' "$work/bad.log" || { cat "$work/bad.log"; return 1; }
    ! in_ns $c1 ip link show bad0 2>/dev/null || { echo "a TUN was made for a refused client"; return 1; }
    ! grep -q 'wrong' "$work/$srv/tunnel.log" || { echo "the token was logged"; return 1; }
    grep -q 'refused a connection from 10.99.1.2' "$work/$srv/tunnel.log"
}
check "a wrong token gets 401, no TUN, no packet, and is not logged" wrong_token

# A flood of connections that never send a request: the server keeps at
# most 256 of them (each for 10 s), and 32 from one address, so that the
# connected clients keep working and another host still gets an answer.
flood() {
    in_ns $c1 python3 -c '
import socket, time
held = []
for _ in range(400):
    try:
        held.append(socket.create_connection(("10.99.1.1", 8080), timeout=2))
    except OSError:
        pass
time.sleep(4)
' & local p=$!
    sleep 2
    local fds; fds=$(ls /proc/$(pgrep -f "$work/server.json" | head -1)/fd | wc -l)
    in_ns $c1 ping -c 2 -i 0.2 -W 2 10.10.0.1 >/dev/null || { echo "no traffic during the flood"; return 1; }
    local code; code=$(in_ns $c2 curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://10.99.2.1:8080/ip)
    wait $p
    [ "$fds" -lt 300 ] || { echo "the server held $fds descriptors"; return 1; }
    [ "$code" = 426 ] || { echo "another host got $code during the flood, not 426"; return 1; }
    echo "the server held $fds descriptors; another host got its 426"
}
check "a flood of silent connections: bounded, and the clients keep working" flood

# An authenticated peer that breaks the WebSocket framing, four ways, each
# on a connection of its own (client 1's token, so each replaces client 1's
# link): the server cuts it off and logs why, and client 1 comes back.
broken_framing() {
    in_ns $c1 python3 - "$token1" <<'PY' || return 1
import base64, os, socket, struct, sys, time
def frame(first, payload, masked=True, length=None):
    n = len(payload) if length is None else length
    head = bytes([first])
    m = 0x80 if masked else 0
    head += bytes([m | n]) if n < 126 else (bytes([m | 126]) + struct.pack(">H", n) if n <= 0xFFFF else bytes([m | 127]) + struct.pack(">Q", n))
    return head + (b"\0\0\0\0" if masked else b"") + payload
hostile = {
    "unmasked": frame(0x82, b"abc", masked=False),
    "text": frame(0x81, b"hello"),
    "continuation": frame(0x80, b"x"),
    "huge": frame(0x82, b"", length=1 << 40),
}
def upgraded(name):
    # The wrong tokens checked before left this address throttled (429)
    # for up to 10 s.
    for _ in range(30):
        s = socket.create_connection(("10.99.1.1", 8080), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /ip HTTP/1.1\r\nHost: 10.99.1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nx-api-key: %s\r\n\r\n" % (key, sys.argv[1])).encode())
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        if got.startswith(b"HTTP/1.1 101"):
            return s
        s.close()
        if not got.startswith(b"HTTP/1.1 429"):
            sys.exit("%s: %r" % (name, got[:40]))
        time.sleep(0.5)
    sys.exit("%s: still throttled" % name)
for name, data in hostile.items():
    s = upgraded(name)
    s.sendall(data)
    deadline = time.time() + 5
    while True:
        try:
            if not s.recv(65536):
                break
        except socket.timeout:
            sys.exit("%s: still open after 5 s" % name)
        if time.time() > deadline:
            sys.exit("%s: still open after 5 s" % name)
    s.close()
PY
    [ "$(grep -c 'broke the WebSocket framing' "$work/$srv/tunnel.log")" -ge 3 ] || { grep 'disconnected' "$work/$srv/tunnel.log" | tail -4; return 1; }
    grep -q 'text where packets belong' "$work/$srv/tunnel.log" || return 1
    kill -0 "$server_pid" || { echo "the server died"; return 1; }
    within 10 in_ns $c1 ping -c 1 -W 1 10.10.0.1 >/dev/null || { echo "client 1 did not come back"; return 1; }
}
check "a peer that breaks the WebSocket framing is cut off, and the client comes back" broken_framing

# An authenticated peer that never reads (token3): its pings get one pong
# at most, so the server's memory stays put; once packets for it fill its
# queue (which stops the server's TUN for everyone), it is cut off within
# 5 s of taking nothing, and the others carry on.
stalled_peer() {
    local rss_before rss_after
    rss_before=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")
    in_ns $c1 python3 - "$token3" >"$work/stalled.out" 2>&1 <<'PY' &
import base64, os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(5)
s.connect(("10.99.1.1", 8080))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ip HTTP/1.1\r\nHost: 10.99.1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nx-api-key: %s\r\n\r\n" % (key, sys.argv[1])).encode())
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(4096)
if not got.startswith(b"HTTP/1.1 101"):
    sys.exit("no upgrade: %r" % got[:40])
s.sendall(b"\x82\x80\0\0\0\0")  # the empty message that lets the server send
ping = b"\x89\xfd\0\0\0\0" + b"p" * 125  # masked, 125 bytes
burst = ping * 8000  # 1 MiB
start, sent = time.time(), 0
try:
    # 512 MiB of pings at once: a pong queued for each would show in the
    # server's memory. Then one a while, to keep the link alive, until cut.
    while time.time() - start < 30:
        data = burst if sent < 512 << 20 else ping
        s.sendall(data)
        sent += len(data)
        if data is ping:
            time.sleep(0.2)
except OSError as error:
    print("cut off after %.1f s and %d MiB of pings: %s" % (time.time() - start, sent >> 20, error))
    sys.exit(0)
sys.exit("still connected after 30 s and %d MiB of pings" % (sent >> 20))
PY
    local p=$!
    sleep 1
    # Packets for it, past its queue's 1 MiB, paced to fit the TUN's queue.
    in_ns $srv python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(400):
    for _ in range(50):
        try:
            s.sendto(b"x" * 1200, ("10.10.0.4", 9))
        except OSError:
            pass
    time.sleep(0.005)
'
    wait $p; local code=$?
    cat "$work/stalled.out"
    [ $code = 0 ] || return 1
    rss_after=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")
    echo "the server's RSS: $rss_before kB before, $rss_after kB after"
    [ $((rss_after - rss_before)) -lt 51200 ] || return 1
    grep -q 'stopped reading' "$work/$srv/tunnel.log" || return 1
    within 10 in_ns $c2 ping -c 1 -W 1 10.10.0.1 || { echo "client 2 did not carry on"; return 1; }
    within 10 in_ns $c1 ping -c 1 -W 1 10.10.0.1 || { echo "client 1 did not carry on"; return 1; }
}
check "a peer that pings and never reads: memory bounded, cut off within 5 s of taking nothing" stalled_peer

# The metrics socket, open to any local user: many connections held open
# get no more than 16 answered at once, and the server keeps its descriptors.
metrics_held() {
    python3 - "$work/$srv/metrics.sock" <<'PY' &
import socket, sys, time
held = []
for _ in range(300):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1])
        held.append(s)
    except OSError:
        pass
time.sleep(3)
PY
    local p=$!
    sleep 1.5
    local fds; fds=$(ls "/proc/$server_pid/fd" | wc -l)
    wait $p
    echo "the server held $fds descriptors"
    [ "$fds" -lt 100 ] && metrics $srv | grep -q netd_tunnel_connected
}
check "connections held open on the metrics socket: bounded" metrics_held

capeff() { awk '/^CapEff/ {print $2}' "/proc/$1/status"; }
nnp() { awk '/^NoNewPrivs/ {print $2}' "/proc/$1/status"; }
no_privileges() {
    for p in $server_pid $c1_pid; do
        local child; child=$(pgrep -P "$p" -f netd-tunnel || echo "$p")
        [ "$(capeff "$child")" = 0000000000000000 ] || { echo "pid $child CapEff $(capeff "$child")"; return 1; }
        [ "$(nnp "$child")" = 1 ] || { echo "pid $child NoNewPrivs $(nnp "$child")"; return 1; }
    done
}
check "netd-tunnel runs with CapEff 0 and NoNewPrivs (the server started as root)" no_privileges

metrics_shown() { metrics $srv | grep -q 'netd_tunnel_connected{tunnel="nt0",peer="10.10.0.2"} 1' && metrics $c1 | grep -q 'netd_tunnel_bytes_total'; }
check "metrics per client" metrics_shown

# The server killed with -9 and restarted: traffic is back within 10 s,
# the client untouched.
restart_server() {
    kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null
    sleep 1
    server_pid=$(start_tunnel $srv "$work/server.json" as-root); pids+=($server_pid)
    local start=$SECONDS
    within 10 in_ns $c1 ping -c 1 -W 1 10.10.0.1 || { echo "no traffic within 10 s"; return 1; }
    echo "back after $((SECONDS - start)) s"
    kill -0 "$c1_pid"
}
check "the server killed with -9 and restarted: traffic back within 10 s" restart_server

# A TUN deleted behind netd-tunnel's back: a client has it made again and
# carries traffic; a server stops (its unit starts it again) and, started
# again, has it made again too.
tun_deleted() {
    in_ns $c1 curl -sf -X DELETE localhost:3030/tun/nt0 || { echo "could not delete client 1's nt0"; return 1; }
    within 15 in_ns $c1 ping -c 1 -W 1 10.10.0.1 || { tail -5 "$work/$c1/tunnel.log"; return 1; }
    grep -q 'setting the TUN up again' "$work/$c1/tunnel.log"
    in_ns $srv curl -sf -X DELETE localhost:3030/tun/nt0 || { echo "could not delete the server's nt0"; return 1; }
    within 5 bash -c "! kill -0 $server_pid 2>/dev/null" || { echo "the server did not stop"; return 1; }
    grep -q 'nt0: reading the TUN failed.*stopping' "$work/$srv/tunnel.log" || { tail -3 "$work/$srv/tunnel.log"; return 1; }
    server_pid=$(start_tunnel $srv "$work/server.json" as-root); pids+=($server_pid)
    within 15 in_ns $c1 ping -c 1 -W 1 10.10.0.1 || { echo "no traffic after the server's restart"; return 1; }
}
check "a TUN deleted under netd-tunnel: the client makes it again, the server stops and comes back" tun_deleted

# ---- TLS: nginx terminating it in front of the server, and netd-tunnel's own ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=netd-test \
    -addext subjectAltName=IP:10.99.1.1,IP:10.99.2.1 -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
chmod 644 "$work/key.pem" "$work/cert.pem"
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $work/nginx-body;
    proxy_temp_path $work/nginx-proxy;
    # The README's snippet: a WebSocket upgrade passed on, and no buffering
    # or timeouts in the way of a long-lived stream.
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen 10.99.1.1:8443 ssl;
        listen 10.99.2.1:8443 ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        location /ip {
            proxy_pass http://127.0.0.1:8080;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }
    }
}
NGINX
in_ns $srv nginx -c "$work/nginx.conf" -g 'daemon on;' >"$work/nginx.out" 2>&1 </dev/null
through_nginx() {
    kill "$c1_pid"; wait "$c1_pid" 2>/dev/null
    client_config nt0 https://10.99.1.1:8443/ip $token1 ", \"ca\": \"$work/cert.pem\"" >"$work/c1-tls.json"
    chmod 644 "$work/c1-tls.json"
    c1_pid=$(start_tunnel $c1 "$work/c1-tls.json"); pids+=($c1_pid)
    within 10 in_ns $c1 ping -c 1 -W 1 10.10.0.1 || { cat "$work/nginx.err" "$work/$c1/tunnel.log" | tail; return 1; }
    tcp_both_ways $srv 10.10.0.1 $c1
}
check "through nginx terminating TLS: ping and TCP" through_nginx

# Behind nginx, the throttle of failed tokens counts the address nginx
# names (trusted_proxies), not nginx's own: a guesser through it does not
# lock the clients out.
guesser_behind_nginx() {
    # shellcheck disable=SC2016 # the inner shell's own $(seq)
    in_ns $c2 bash -c 'for _ in $(seq 40); do
        curl -sk -o /dev/null -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
            -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" -H "x-api-key: guess" https://10.99.2.1:8443/ip
        sleep 0.3
    done' & local p=$!
    sleep 3
    kill "$c1_pid"; wait "$c1_pid" 2>/dev/null
    c1_pid=$(start_tunnel $c1 "$work/c1-tls.json"); pids+=($c1_pid)
    within 10 in_ns $c1 ping -c 1 -W 1 10.10.0.1 || { echo "client 1 did not get in"; tail -3 "$work/$c1/tunnel.log"; kill $p; return 1; }
    wait $p
    grep -q 'refused a connection from 10.99.2.2' "$work/$srv/tunnel.log" || { echo "the guesser was not named"; return 1; }
    ! grep -q 'refused a connection from 127.0.0.1' "$work/$srv/tunnel.log" || { echo "nginx was blamed"; return 1; }
}
check "a token guesser behind nginx is throttled by its own address, and a client still gets in" guesser_behind_nginx
wrong_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=other \
        -keyout "$work/other.key" -out "$work/other.pem" >/dev/null 2>&1
    chmod 644 "$work/other.pem"
    client_config tls1 https://10.99.1.1:8443/ip $token1 ", \"ca\": \"$work/other.pem\"" >"$work/wrong-ca.json"
    chmod 644 "$work/wrong-ca.json"
    in_ns $c1 setpriv --reuid=65534 --regid=65534 --init-groups timeout 3 "$tunnel" --fd-socket "$work/$c1/fd.sock" \
        "$work/wrong-ca.json" >"$work/wrong-ca.log" 2>&1
    grep -q 'certificate verify failed' "$work/wrong-ca.log" || { cat "$work/wrong-ca.log"; return 1; }
}
check "a certificate the client's ca did not sign is refused" wrong_ca

native_tls() {
    cat >"$work/server-tls.json" <<JSON
{"name": "nts0", "listen": "10.99.2.1:8444", "net": "10.11.0.1/24", "tls": {"cert": "$work/cert.pem", "key": "$work/key.pem"},
 "clients": [{"token": "$(sha1 $token2)", "ip": "10.11.0.2"}]}
JSON
    chmod 644 "$work/server-tls.json"
    local p; p=$(ip netns exec $srv setpriv --reuid=65534 --regid=65534 --init-groups "$tunnel" --fd-socket "$work/$srv/fd.sock" \
        "$work/server-tls.json" >>"$work/$srv/tls.log" 2>&1 & echo $!); pids+=($p)
    client_config nts0 https://10.99.2.1:8444/ip $token2 ", \"ca\": \"$work/cert.pem\"" >"$work/c2-tls.json"
    chmod 644 "$work/c2-tls.json"
    local q; q=$(start_tunnel $c2 "$work/c2-tls.json"); pids+=($q)
    within 15 in_ns $c2 ping -c 1 -W 1 10.11.0.1 || { tail "$work/$srv/tls.log" "$work/$c2/tunnel.log"; return 1; }
    tcp_both_ways $srv 10.11.0.1 $c2
}
check "netd-tunnel's own TLS: ping and TCP" native_tls

# Handshakes that fail before a token (here, not TLS at all) are logged
# 10 to a period, then counted: anyone can cause them by the thousand.
tls_garbage() {
    in_ns $c2 python3 -c '
import socket
for _ in range(300):
    try:
        s = socket.create_connection(("10.99.2.1", 8444), timeout=2)
        s.sendall(b"\x16\x03\x01\x00\x05hello")
        s.recv(100)
        s.close()
    except OSError:
        pass
'
    local lines; lines=$(grep -c 'TLS handshake failed' "$work/$srv/tls.log")
    echo "$lines lines for 300 failed handshakes"
    [ "$lines" -ge 1 ] && [ "$lines" -le 20 ]
}
check "failed TLS handshakes: a few log lines, not one each" tls_garbage

# ---- a bad config: exit 2 and one line naming the field ----
bad_config() {
    echo '{"name": "x", "port": 8080, "net": "10.12.0.1/24", "clients": [{"token": "abc", "ip": "10.12.0.2"}]}' >"$work/badfield.json"
    "$tunnel" "$work/badfield.json" >"$work/badfield.out" 2>&1; local code=$?
    cat "$work/badfield.out"
    [ $code = 2 ] && [ "$(wc -l <"$work/badfield.out")" = 1 ] && grep -q 'clients\[0\].token' "$work/badfield.out"
}
check "a bad field: exit 2 and one line naming it" bad_config

# A server that closes the connection before it answers: the client says
# that, and not the status its empty response would default to.
closed_at_once() {
    in_ns $srv python3 -c '
import socket
l = socket.socket()
l.bind(("10.99.1.1", 8099))
l.listen(5)
l.settimeout(5)
for _ in range(2):
    c, _ = l.accept()
    c.recv(4096)
    c.close()
' & local p=$!
    sleep 0.5
    client_config shut0 http://10.99.1.1:8099/ip $token1 >"$work/shut.json"; chmod 644 "$work/shut.json"
    in_ns $c1 setpriv --reuid=65534 --regid=65534 --init-groups timeout 2 "$tunnel" --fd-socket "$work/$c1/fd.sock" \
        "$work/shut.json" >"$work/shut.log" 2>&1
    wait $p
    grep -q 'closed the connection before it answered' "$work/shut.log" || { cat "$work/shut.log"; return 1; }
    ! grep -q '200 OK' "$work/shut.log"
}
check "a server that closes at once: the client says so" closed_at_once

echo "$passed passed, $failed failed"
[ $failed = 0 ]
