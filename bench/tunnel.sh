#!/usr/bin/env bash
# make bench, tunnels: IP over a tunnel between two network namespaces joined
# by a veth, measured side by side in one run. Each row carries iperf3 TCP,
# 1 stream and then 4, for TUNNEL_SECONDS each (default 10), from the client
# namespace to an iperf3 server in the server namespace. Before them, the
# latency the tunnel adds, twice: the median round trip of 60 pings through
# it 0.05 s apart (the machine idles between them, so every packet wakes
# sleeping processes on cold caches), less the median of 40 over the bare
# veth just before, so that the difference follows the machine's load as it
# drifts over a run; then the same at 500 pings a second (300 of them, and
# 300 over the veth), where the tunnel's processes and caches stay warm, as
# on a tunnel in steady use. Rows:
#   - veth: the two namespaces' own link, the limit on this machine;
#   - vxlan: the kernel's own tunnel over that veth;
#   - OpenVPN 2.6, point to point, over UDP and over TCP, each in the clear,
#     with a static key, and with TLS and AES-256-GCM;
#   - socat TUN over UDP and over DTLS;
#   - netd-tunnel over HTTP and over HTTPS (its TUN from a tun-daemon in each
#     namespace), when $BUILD/netd-tunnel exists.
# Each throughput is also given as a ratio to the best userspace anchor of
# the run (the best OpenVPN or socat row, column by column), which the table
# names. Prints one markdown table and appends it to
# bench/results/<date>-<host>.md, the file bench/run.sh writes. BENCH_SMOKE=1
# runs 1 s per test and 5 pings, and writes nothing: it only proves the
# harness works.
#   bench/tunnel.sh BUILD_DIR
# Everything happens in two namespaces made here (netd-tb-s-PID and
# netd-tb-c-PID) and deleted on exit with every process started in them; the
# host's own interfaces are never touched.
# TUNNEL_ROWS=REGEX runs only the rows whose names match (and the veth, the
# latencies' baseline), to debug one; the ratios then lack their anchors.
# TUNNEL_KEEP=1 keeps the work directory (logs, configurations) and says where.
# TUNNEL_ROUNDS=N measures every row N times, taking turns, and gives each
# row's median: one round of anchors swings with the machine's load.
# shellcheck disable=SC2317 # functions called through until_true and the trap
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
smoke=${BENCH_SMOKE:-}
seconds=${TUNNEL_SECONDS:-10}
pings=60 veth_pings=40 busy_pings=300 busy_interval=0.002 # 500 a second
if [ -n "$smoke" ]; then seconds=1 pings=5 veth_pings=5 busy_pings=5; fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: the tunnel benchmarks make network namespaces and TUNs, which needs root"
    exit 77
fi
for c in ip iperf3 ping ss openssl jq timeout; do
    if ! command -v "$c" >/dev/null; then
        echo "SKIPPED: the tunnel benchmarks need $c (make bench installs it)"
        exit 77
    fi
done

ns_s=netd-tb-s-$$ # the server side: iperf3 -s, the tunnels' servers
ns_c=netd-tb-c-$$ # the client side: iperf3 -c, the tunnels' clients
veth_s=10.201.0.1 veth_c=10.201.0.2
work=$(mktemp -d)
chmod 755 "$work"
pids=()

cleanup() {
    set +e
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    # Whatever still runs in our namespaces was started here (by the pids
    # above, or a child of theirs): it must go before the namespaces can.
    for ns in "$ns_s" "$ns_c"; do
        [ -e "/run/netns/$ns" ] || continue
        for _ in $(seq 50); do
            left=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$left" ] && break
            # shellcheck disable=SC2086
            kill -9 $left 2>/dev/null
            sleep 0.1
        done
        ip netns del "$ns"
    done
    wait 2>/dev/null
    if [ -n "${TUNNEL_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

in_s() { ip netns exec "$ns_s" "$@"; }
in_c() { ip netns exec "$ns_c" "$@"; }
# spawn NS LOG COMMAND...: COMMAND in the background in NS; its pid joins
# $pids (the trap's) and $row_pids (the row's, ended by end_row).
row_pids=()
spawn() {
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    pids+=($!)
    row_pids+=($!)
}
end_row() {
    local pid
    for pid in "${row_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${row_pids[@]}"; do
        # Bounded: a process that ignores TERM for 5 s gets KILL.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    row_pids=()
}
# until_true TRIES COMMAND...: COMMAND every 0.1 s, TRIES times at most.
until_true() {
    local tries=$1
    shift
    for _ in $(seq "$tries"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
listening() { ip netns exec "$1" ss -Hln "sport = :$2" | grep -q .; }
reachable() { in_c ping -c 1 -W 1 "$1"; }

# --- the two namespaces and their veth ---------------------------------------
ip netns add "$ns_s"
ip netns add "$ns_c"
# Made inside the server namespace, its peer straight in the client's.
ip -n "$ns_s" link add veth0 type veth peer name veth0 netns "$ns_c"
for ns in "$ns_s" "$ns_c"; do
    ip -n "$ns" link set lo up
    # No IPv6: nothing but the benchmark's own packets crosses the tunnels
    # (no router solicitations or MLD reports on each new TUN).
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$ns_s" addr add "$veth_s/24" dev veth0
ip -n "$ns_c" addr add "$veth_c/24" dev veth0
ip -n "$ns_s" link set veth0 up
ip -n "$ns_c" link set veth0 up
until_true 50 reachable "$veth_s" || { echo "the veth between the namespaces does not carry pings" >&2; exit 1; }

# --- measuring one row ---------------------------------------------------------
# Per row, in the order first met: its name, kind (kernel, userspace: an
# anchor of the ratios, subject: netd-tunnel), and each round's values.
names=() one=() four=() rtts=() busy_rtts=() kinds=() notes=() veth_rtts=()
measured=0 # rows measured so far, over all rounds: names their logs
record() { # record NAME KIND 1-STREAM 4-STREAMS ADDED-LATENCY ADDED-LATENCY-BUSY
    local i
    for i in "${!names[@]}"; do [ "${names[$i]}" = "$1" ] && break; done
    if [ ${#names[@]} = 0 ] || [ "${names[$i]}" != "$1" ]; then
        i=${#names[@]}
        names+=("$1") kinds+=("$2") one+=("") four+=("") rtts+=("") busy_rtts+=("")
    fi
    one[i]+="$3 " four[i]+="$4 " rtts[i]+="$5 " busy_rtts[i]+="$6 "
}
gbits() { jq -r '.end.sum_received.bits_per_second / 1e9 | . * 1000 | round / 1000' 2>/dev/null; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# IP datagrams the server's namespace has had to reassemble so far: a tunnel
# whose outer packets do not fit the veth pays for fragments, which a fair
# configuration avoids.
# shellcheck disable=SC2016 # (awk's own $n)
reassembly() { in_s awk '/^Ip:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "ReasmReqds") n = i } else print $n }' /proc/net/snmp; }
iperf() { # iperf IP STREAMS: Gbit/s received, or n/a
    local out
    out=$(in_c timeout $((seconds + 30)) iperf3 -c "$1" -P "$2" -t "$seconds" -J --connect-timeout 5000 2>/dev/null) || true
    out=$(gbits <<<"$out")
    [[ $out =~ ^[0-9.]+$ ]] && echo "$out" || echo n/a
}
rtt_median() { # rtt_median COUNT IP [INTERVAL]: in ms, of COUNT pings from the client's namespace
    { in_c ping -c "$1" -i "${3:-0.05}" -W 1 "$2" 2>/dev/null || true; } | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | median
}
difference() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/) print "n/a"; else printf "%.4f", a - b }'; }
# measure NAME KIND SERVER_IP: the row's iperf3 and ping, over the tunnel
# just set up (the client namespace reaches SERVER_IP through it).
measure() {
    local name=$1 kind=$2 ip=$3 log
    measured=$((measured + 1))
    log="$work/iperf3-$measured.log"
    spawn "$ns_s" "$log" iperf3 -s -B "$ip" -p 5201
    local t1=n/a t4=n/a rtt=n/a base=n/a busy=n/a busy_base=n/a reassembled
    reassembled=$(reassembly)
    if until_true 100 listening "$ns_s" 5201; then
        # The pings first, on the idle tunnel: after iperf3, a tunnel's
        # queues may still be draining. The veth's just before: what the
        # tunnel adds to it now.
        base=$(rtt_median "$veth_pings" "$veth_s")
        rtt=$(rtt_median "$pings" "$ip")
        busy_base=$(rtt_median "$busy_pings" "$veth_s" "$busy_interval")
        busy=$(rtt_median "$busy_pings" "$ip" "$busy_interval")
        t1=$(iperf "$ip" 1)
        t4=$(iperf "$ip" 4)
    fi
    veth_rtts+=("$base")
    record "$name" "$kind" "$t1" "$t4" "$(difference "$rtt" "$base")" "$(difference "$busy" "$busy_base")"
    local what value
    for what in "1 stream:$t1" "4 streams:$t4" "ping:$rtt" "pings at 500/s:$busy"; do
        value=${what#*:}
        if ! awk -v v="$value" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && v > 0) }'; then
            notes+=("FAILED: $name: ${what%%:*} got nothing through ($value; the tunnel may have died, see TUNNEL_KEEP=1)")
        fi
    done
    reassembled=$(($(reassembly) - reassembled))
    if [ "$reassembled" -gt 100 ]; then
        notes+=("WARNING: $name: $reassembled IP fragments reassembled on the server's side (outer packets above the veth's MTU)")
    fi
    echo "$name: $t1 / $t4 Gbit/s, rtt $rtt ms (the veth's just before: $base ms), at 500/s $busy ms (the veth's: $busy_base ms)" >&2
}
wanted() { [[ $1 =~ ${TUNNEL_ROWS:-.} ]]; }
# failed NAME KIND WHY LOG...: a row whose tunnel never came up.
failed() {
    local name=$1 kind=$2 why=$3
    shift 3
    record "$name" "$kind" n/a n/a n/a
    notes+=("FAILED: $name: $why")
    echo "FAILED: $name: $why" >&2
    local log
    for log in "$@"; do [ -f "$log" ] && tail -n 15 "$log" | sed "s|^|  $(basename "$log"): |" >&2; done
    return 0
}
skipped() { notes+=("SKIPPED: $1"); echo "SKIPPED: $1" >&2; }

# --- certificates (TLS rows) -----------------------------------------------------
# One CA, a server certificate for the server's veth address (subjectAltName
# IP, and the same as its CN for clients that check only that), a client
# certificate (OpenVPN's TLS mode wants one). ECDSA P-256, as a fast
# handshake; the data plane's cipher is set per row.
pki=$work/pki
mkdir -p "$pki"
make_certs() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=netd bench CA" -keyout "$pki/ca.key" -out "$pki/ca.pem"
    local who
    for who in server client; do
        local cn=$veth_s ext="subjectAltName=IP:$veth_s\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature"
        [ "$who" = client ] && cn="netd bench client" ext="extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
            -keyout "$pki/$who.key" -out "$pki/$who.csr"
        printf '%b\n' "$ext" >"$pki/$who.ext"
        openssl x509 -req -in "$pki/$who.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
            -days 2 -extfile "$pki/$who.ext" -out "$pki/$who.pem"
    done
    chmod 644 "$pki"/*.pem
    chmod 600 "$pki"/*.key
}
make_certs >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; exit 1; }

# --- veth and vxlan: the kernel's own -----------------------------------------
# The veth: the machine's limit for one TCP flow between two namespaces
# (measured first in each round, one_round below).

# vxlan over that veth (UDP 4789, VNI 42), the kernel's MTU for it (1450).
vxlan_row() {
    if ! { ip -n "$ns_s" link add vx0 type vxlan id 42 local "$veth_s" remote "$veth_c" dstport 4789 dev veth0 &&
        ip -n "$ns_c" link add vx0 type vxlan id 42 local "$veth_c" remote "$veth_s" dstport 4789 dev veth0 &&
        ip -n "$ns_s" addr add 10.202.0.1/24 dev vx0 && ip -n "$ns_c" addr add 10.202.0.2/24 dev vx0 &&
        ip -n "$ns_s" link set vx0 up && ip -n "$ns_c" link set vx0 up; }; then
        failed "$1" kernel "ip link add vxlan failed"
    elif until_true 50 reachable 10.202.0.1; then
        measure "$1" kernel 10.202.0.1
    else
        failed "$1" kernel "no ping through it"
    fi
    ip -n "$ns_s" link del vx0 2>/dev/null || true
    ip -n "$ns_c" link del vx0 2>/dev/null || true
}

# --- OpenVPN 2.6 ------------------------------------------------------------------
# Point to point (--ifconfig, no server mode), userspace data channel
# (--disable-dco: DCO would put the data plane in the kernel), one TUN each
# (--dev-type tun). Everything else at 2.6's defaults, which are the sensible
# ones: --tun-mtu 1500, no --fragment, --mssfix 1492 over UDP (TCP's MSS is
# clamped so that the encapsulated packet fits the veth: no IP fragments),
# --sndbuf 0 --rcvbuf 0 (the kernel's own autotuned buffers), no compression.
# Over UDP also --fast-io (write to the UDP socket without a poll first),
# over TCP --tcp-nodelay (no Nagle delay on the outer stream, as OpenVPN's
# manual advises for a TCP tunnel).
# The crypto, per row:
#   clear  --secret KEY --cipher none --auth none (static key mode, no
#          cipher, no HMAC: the packets go in the clear);
#   static --secret KEY --cipher AES-256-CBC --auth SHA256 (static key mode
#          has no AEAD; its default BF-CBC is gone from OpenSSL 3);
#   tls    TLS 1.3 control channel (ECDSA P-256 certificates), data channel
#          AES-256-GCM (--data-ciphers AES-256-GCM, negotiated p2p).
ovpn_port=1194
ovpn_net=210 # 10.210.0.0/24 for the first row, and so on: reset each round
openvpn_row() {
    local name=$1 proto=$2 crypto=$3
    wanted "$name" || return 0
    local net=10.$ovpn_net.0 log_s=$work/openvpn-$round-$ovpn_net-s.log log_c=$work/openvpn-$round-$ovpn_net-c.log
    ovpn_net=$((ovpn_net + 1))
    [ -f "$work/static.key" ] || openvpn --genkey secret "$work/static.key" >/dev/null 2>&1
    local common=(--dev ovpn0 --dev-type tun --disable-dco --verb 3 --sndbuf 0 --rcvbuf 0 --tun-mtu 1500
        --ping 10 --ping-exit 60 --mute-replay-warnings)
    local s=() c=()
    case $proto in
        udp)
            common+=(--proto udp --fast-io)
            s=(--local "$veth_s" --lport "$ovpn_port" --remote "$veth_c" --rport "$ovpn_port")
            c=(--local "$veth_c" --lport "$ovpn_port" --remote "$veth_s" --rport "$ovpn_port")
            ;;
        tcp)
            common+=(--tcp-nodelay)
            s=(--proto tcp-server --local "$veth_s" --lport "$ovpn_port")
            c=(--proto tcp-client --remote "$veth_s" "$ovpn_port" --connect-retry 1 1)
            ;;
    esac
    case $crypto in
        clear) common+=(--secret "$work/static.key" --cipher none --auth none) ;;
        static) common+=(--secret "$work/static.key" --cipher AES-256-CBC --auth SHA256) ;;
        tls)
            common+=(--data-ciphers AES-256-GCM --ca "$pki/ca.pem")
            s+=(--tls-server --dh none --cert "$pki/server.pem" --key "$pki/server.key")
            c+=(--tls-client --cert "$pki/client.pem" --key "$pki/client.key" --remote-cert-tls server
                --verify-x509-name "$veth_s" name)
            ;;
    esac
    spawn "$ns_s" "$log_s" openvpn "${common[@]}" "${s[@]}" --ifconfig "$net.1" "$net.2"
    [ "$proto" = tcp ] && { until_true 100 listening "$ns_s" $ovpn_port || true; }
    spawn "$ns_c" "$log_c" openvpn "${common[@]}" "${c[@]}" --ifconfig "$net.2" "$net.1"
    if until_true 150 reachable "$net.1"; then
        measure "$name" userspace "$net.1"
        if [ "$crypto" = tls ] && ! grep -q "Data Channel: cipher 'AES-256-GCM'" "$log_c"; then
            notes+=("WARNING: $name: the client's log does not show AES-256-GCM on the data channel")
        fi
    else
        failed "$name" userspace "no ping through it in 15 s" "$log_s" "$log_c"
    fi
    end_row
}

# --- socat -----------------------------------------------------------------------------
# socat's TUN (no packet information header on either side) to a datagram
# transport, one packet a datagram, as in socat's own TUN example: UDP-LISTEN
# on the server, UDP on the client. -b 65536: a transfer buffer far above
# any packet. The TUN's MTU is set so that the packet and its UDP (and DTLS)
# headers fit the veth's 1500 bytes: 1472 over UDP, 1432 over DTLS (socat
# 1.7.4 and OpenSSL 3 negotiate DTLS 1.2, ECDHE-ECDSA-AES256-GCM-SHA384: 13
# bytes of record header, 8 of nonce, 16 of tag, and room to spare; the
# client's log, at -d -d, names it). The DTLS client verifies the server's
# certificate against the CA. No socat over TCP: a byte stream loses the
# packets' boundaries, and that tunnel dies under load.
socat_net=220 # as ovpn_net
socat_row() {
    local name=$1 transport=$2
    wanted "$name" || return 0
    local net=10.$socat_net.0 log_s=$work/socat-$round-$socat_net-s.log log_c=$work/socat-$round-$socat_net-c.log mtu
    socat_net=$((socat_net + 1))
    local tun=(TUN:"$net.1/24,tun-name=sx0,iff-no-pi,iff-up") tunc=(TUN:"$net.2/24,tun-name=sx0,iff-no-pi,iff-up")
    case $transport in
        udp)
            mtu=1472
            spawn "$ns_s" "$log_s" socat -b 65536 "UDP-LISTEN:5000,bind=$veth_s" "${tun[@]}"
            until_true 100 listening "$ns_s" 5000 || true
            spawn "$ns_c" "$log_c" socat -b 65536 "UDP:$veth_s:5000" "${tunc[@]}"
            ;;
        dtls)
            mtu=1432
            spawn "$ns_s" "$log_s" socat -b 65536 \
                "OPENSSL-DTLS-SERVER:5001,bind=$veth_s,cert=$pki/server.pem,key=$pki/server.key,cafile=$pki/ca.pem,verify=0" \
                "${tun[@]}"
            until_true 100 listening "$ns_s" 5001 || true
            spawn "$ns_c" "$log_c" socat -d -d -b 65536 \
                "OPENSSL-DTLS-CLIENT:$veth_s:5001,cafile=$pki/ca.pem,verify=1,commonname=$veth_s" "${tunc[@]}"
            ;;
    esac
    # The client's TUN comes at once; the server's only once the first
    # datagram has arrived (UDP-LISTEN) or the handshake is done. A ping
    # through the tunnel makes both happen.
    until_true 50 in_c ip link set sx0 mtu $mtu || true
    for _ in $(seq 100); do
        in_c ping -c 1 -W 0.2 "$net.1" >/dev/null 2>&1 || true
        in_s ip link set sx0 mtu $mtu 2>/dev/null && break
        sleep 0.1
    done
    if until_true 50 reachable "$net.1"; then
        measure "$name" userspace "$net.1"
    else
        failed "$name" userspace "no ping through it" "$log_s" "$log_c"
    fi
    end_row
}

# --- netd-tunnel ------------------------------------------------------------------------
# The contract with netd-tunnel, all of it here: a tun-daemon as root in each
# namespace (its API on a Unix socket, its TUN descriptors on --fd-socket),
# netd-tunnel beside it with a JSON file; the server listens on the veth, the
# client's nt0 gets 10.10.0.2 once it is connected.
nt_token=netd-bench-token
nt_port=8080
start_tun_daemon() { # NS DIR
    mkdir -p "$2/state"
    spawn "$1" "$2/tun-daemon.out" "$build/tun-daemon" --listen 127.0.0.1:3030 --unix-socket "$2/api.sock" \
        --log-dir "$2" --state-dir "$2/state" --lock-file "$2/allocation.lock" --fd-socket "$2/fd.sock"
}
start_netd_tunnel() { # NS DIR CONFIG
    spawn "$1" "$2/netd-tunnel.out" "$build/netd-tunnel" --tun-socket "$2/api.sock" --fd-socket "$2/fd.sock" "$3"
}
client_connected() { in_c ip -j addr show dev nt0 2>/dev/null | grep -q '"local":"10.10.0.2"'; }
netd_tunnel_row() {
    local name=$1 tls=$2 dir_s=$work/nt-s-$2-$round dir_c=$work/nt-c-$2-$round
    wanted "$name" || return 0
    mkdir -p "$dir_s" "$dir_c"
    local hash scheme=http tls_s="" ca_c=""
    hash=$(printf %s "$nt_token" | sha1sum | cut -d' ' -f1)
    if [ "$tls" = tls ]; then
        scheme=https
        tls_s=",\"tls\":{\"cert\":\"$pki/server.pem\",\"key\":\"$pki/server.key\"}"
        ca_c=",\"ca\":\"$pki/ca.pem\""
    fi
    cat >"$dir_s/server.json" <<JSON
{"name":"nt0","listen":"$veth_s:$nt_port","port":$nt_port,"net":"10.10.0.1/24","clients":[{"token":"$hash","ip":"10.10.0.2"}]$tls_s}
JSON
    cat >"$dir_c/client.json" <<JSON
{"name":"nt0","server":"$scheme://$veth_s:$nt_port/ip","token":"$nt_token"$ca_c}
JSON
    start_tun_daemon "$ns_s" "$dir_s"
    start_tun_daemon "$ns_c" "$dir_c"
    if ! until_true 100 test -S "$dir_s/api.sock" -a -S "$dir_s/fd.sock" -a -S "$dir_c/api.sock" -a -S "$dir_c/fd.sock"; then
        failed "$name" subject "the tun-daemons' sockets never appeared" "$dir_s/tun-daemon.out" "$dir_c/tun-daemon.out"
        end_row
        return
    fi
    start_netd_tunnel "$ns_s" "$dir_s" "$dir_s/server.json"
    until_true 100 listening "$ns_s" $nt_port || true
    start_netd_tunnel "$ns_c" "$dir_c" "$dir_c/client.json"
    if until_true 100 client_connected && until_true 50 reachable 10.10.0.1; then
        measure "$name" subject 10.10.0.1
    else
        failed "$name" subject "the client's nt0 had no 10.10.0.2, or no ping crossed it, in 15 s" \
            "$dir_s/netd-tunnel.out" "$dir_c/netd-tunnel.out" "$dir_s/tun-daemon.out" "$dir_c/tun-daemon.out"
    fi
    end_row
}

# --- the rounds ------------------------------------------------------------------------
# Each round sets up and measures every row in turn; a row's value is its
# median over the rounds (TUNNEL_ROUNDS, default 1), each anchor's too.
rounds=${TUNNEL_ROUNDS:-1}
round=1
one_round() {
    ovpn_net=210 socat_net=220
    measure "veth (the limit)" kernel "$veth_s"
    wanted "vxlan (in the kernel)" && vxlan_row "vxlan (in the kernel)"
    if command -v openvpn >/dev/null; then
        local proto
        for proto in udp tcp; do
            openvpn_row "OpenVPN $proto, cleartext" $proto clear
            openvpn_row "OpenVPN $proto, static key (AES-256-CBC, HMAC-SHA256)" $proto static
            openvpn_row "OpenVPN $proto, TLS (AES-256-GCM)" $proto tls
        done
    else
        skipped "OpenVPN rows: openvpn is not installed"
    fi
    if command -v socat >/dev/null; then
        socat_row "socat TUN over UDP" udp
        socat_row "socat TUN over DTLS" dtls
    else
        skipped "socat rows: socat is not installed"
    fi
    if [ -x "$build/netd-tunnel" ]; then
        netd_tunnel_row "netd-tunnel" plain
        netd_tunnel_row "netd-tunnel, TLS" tls
    else
        skipped "netd-tunnel is not built ($build/netd-tunnel): its rows are left out"
        record "netd-tunnel" subject skipped skipped skipped
        record "netd-tunnel, TLS" subject skipped skipped skipped
    fi
}
for round in $(seq "$rounds"); do
    [ "$rounds" -gt 1 ] && echo "round $round of $rounds" >&2
    one_round
done
# Each row's median over the rounds (of the rounds that measured something).
of_rounds() { # of_rounds "V V ...": the median of the numbers, else the first word
    local numbers
    numbers=$(tr ' ' '\n' | grep -E '^-?[0-9.]+$' || true)
    if [ -n "$numbers" ]; then median <<<"$numbers" | awk '{ printf "%.3f\n", $1 }'; else awk '{ print $1 }' <<<"$1"; fi
}
for i in "${!names[@]}"; do
    one[i]=$(of_rounds "${one[$i]}" <<<"${one[$i]}")
    four[i]=$(of_rounds "${four[$i]}" <<<"${four[$i]}")
    rtts[i]=$(of_rounds "${rtts[$i]}" <<<"${rtts[$i]}")
    busy_rtts[i]=$(of_rounds "${busy_rtts[$i]}" <<<"${busy_rtts[$i]}")
done

# --- the table -------------------------------------------------------------------------
# The best userspace anchor, column by column.
best() { # best ARRAY_NAME: "value<TAB>row name" of the highest userspace value
    local -n col=$1
    local i best_v=n/a best_n=none
    for i in "${!names[@]}"; do
        [ "${kinds[$i]}" = userspace ] || continue
        [[ ${col[$i]} =~ ^[0-9.]+$ ]] || continue
        if [ "$best_v" = n/a ] || awk -v a="${col[$i]}" -v b="$best_v" 'BEGIN { exit !(a > b) }'; then
            best_v=${col[$i]} best_n=${names[$i]}
        fi
    done
    printf '%s\t%s\n' "$best_v" "$best_n"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
IFS=$'\t' read -r best1 best1_name < <(best one)
IFS=$'\t' read -r best4 best4_name < <(best four)
veth_rtt=$(of_rounds "${veth_rtts[*]}" <<<"${veth_rtts[*]}")
added() { awk -v a="$1" 'BEGIN { if (a !~ /^-?[0-9.]+$/) print "n/a"; else printf "%.3f", a }'; }

results=$(
    echo "| method | 1 stream (Gbit/s) | 4 streams (Gbit/s) | 1 stream / best userspace anchor | 4 streams / best userspace anchor | added latency, 20 pings/s (ms) | added latency, 500 pings/s (ms) |"
    echo "|---|---|---|---|---|---|---|"
    for i in "${!names[@]}"; do
        echo "| ${names[$i]} | ${one[$i]} | ${four[$i]} | $(ratio "${one[$i]}" "$best1") | $(ratio "${four[$i]}" "$best4") | $(added "${rtts[$i]}") | $(added "${busy_rtts[$i]}") |"
    done
    echo
    echo "Best userspace anchor: 1 stream, $best1_name ($best1 Gbit/s); 4 streams, $best4_name ($best4 Gbit/s)."
    echo "Target: netd-tunnel, plain and TLS, at least 2 times the best userspace anchor."
    echo "iperf3 TCP, ${seconds} s per test; latency: median of $pings pings through the tunnel 0.05 s apart, less the median of $veth_pings over the veth just before (over the whole run, the veth's median was $veth_rtt ms); at 500 pings/s, $busy_pings through the tunnel less $busy_pings over the veth."
    [ "$rounds" -gt 1 ] && echo "Each value is the row's median over $rounds rounds."
    printf '%s\n' "${notes[@]}" | awk 'NF && !seen[$0]++'
)
echo "$results"
status=0
[[ "${notes[*]}" == *FAILED:* ]] && status=1
if [ -n "$smoke" ]; then
    [ $status = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
    exit $status
fi
mkdir -p "$(dirname "$0")/results"
out="$(dirname "$0")/results/$(date +%Y-%m-%d)-$(hostname).md"
# A blank line first when run.sh's table is already there.
[ -s "$out" ] && echo >>"$out"
{
    echo "## Tunnels, $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): $(nproc) cores, $(uname -r), $(openvpn --version 2>/dev/null | head -1 | cut -d' ' -f1-2), socat $(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p')"
    echo
    echo "$results"
} >>"$out"
echo "appended to $out"
exit $status
