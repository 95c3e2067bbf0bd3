#!/usr/bin/env bash
# make bench: the anchors and tun-daemon measured side by side, in a network
# namespace of its own, bounded by BENCH_N TUNs (default 200), 30 s of wrk,
# and a scale run of SCALE_TUNS TUNs and SCALE_SUBNETS subnets (default 1,000
# and 10,000, 15 minutes at most). Prints one table and writes it to
# bench/results/<date>-<host>.md. BENCH_SMOKE=1 runs a handful of each and
# writes nothing: it only proves the harness works.
#   bench/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
n=${BENCH_N:-200}
scale_tuns=${SCALE_TUNS:-1000}
scale_subnets=${SCALE_SUBNETS:-10000}
smoke=${BENCH_SMOKE:-}
if [ -n "$smoke" ]; then n=3 scale_tuns=20 scale_subnets=20; fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: the benchmarks make TUNs in a network namespace of their own, which needs root"
    exit 77
fi
if [ -z "${NETD_BENCH_NETNS:-}" ]; then
    exec unshare -n env NETD_BENCH_NETNS=1 "$0" "$@"
fi
ip link set lo up
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT

wait_for_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

# Each measurement's p50 and p99 over the rounds, by "way.op".
declare -A p50s p99s p50 p99
record() { while read -r way op median tail; do p50s[$way.$op]+="$median "; p99s[$way.$op]+="$tail "; done; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
last() { awk '{ print $NF }' <<<"$1"; }

record < <("$build/bench/tun_bench" iproute2 "$n")
# As in production: the state directory is on disk (each create is journalled
# and synced) and the daemons log at their default level, INFO.
start_tun_daemon() {
    "$build/tun-daemon" --listen 127.0.0.1:3030 --log-dir "$work" --state-dir "$work/state" \
        --lock-file "$work/allocation.lock" --fd-socket "$work/tun-fd.sock" &
    tun_daemon_pid=$!
    pids+=("$tun_daemon_pid")
    wait_for_port 3030
}
stop_tun_daemon() {
    kill "$tun_daemon_pid"
    wait "$tun_daemon_pid" 2>/dev/null || true
}
# The raw anchor and the daemon take turns for five rounds, and a target's
# ratio is the median of the rounds' ratios: each round's two runs share the
# machine's mood of the moment, which swings the anchor alone by 2x here (and
# deletes by a whole 4 ms tick). The daemon is stopped while the anchor runs,
# so that the kernel does not also feed its event socket then.
rounds=5
[ -n "$smoke" ] && rounds=1
declare -A round_ratios
for _ in $(seq "$rounds"); do
    record < <("$build/bench/tun_bench" raw "$n")
    start_tun_daemon
    record < <("$build/bench/tun_bench" daemon "$n")
    stop_tun_daemon
    for op in create delete; do
        round_ratios[$op]+="$(ratio "$(last "${p50s[daemon.$op]}")" "$(last "${p50s[raw.$op]}")") "
    done
done
start_tun_daemon
for key in "${!p50s[@]}"; do
    p50[$key]=$(median <<<"${p50s[$key]}")
    p99[$key]=$(median <<<"${p99s[$key]}")
done

# Listing throughput with 10 TUNs, against nginx serving the same bytes.
get_rps=n/a nginx_rps=n/a get_ratio=n/a
if [ -z "$smoke" ] && command -v wrk >/dev/null && command -v nginx >/dev/null; then
    for _ in $(seq 10); do curl -sf -X POST -H 'Content-Type: application/json' -d '{}' 127.0.0.1:3030/tun >/dev/null; done
    mkdir -p "$work/www" "$work/nginx"
    curl -sf 127.0.0.1:3030/tun >"$work/www/tun"
    cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:8080;
        location / { root $work/www; default_type application/json; }
    }
}
CONF
    nginx -c "$work/nginx.conf" -p "$work/nginx" &
    pids+=($!)
    wait_for_port 8080
    # Five rounds of 3 s, taking turns, and the median of each and of the
    # rounds' ratios: one 10 s run apiece let a noisy neighbour decide which
    # side looked faster.
    rps() { wrk -t1 -c50 -d3s "$1" | awk '/Requests\/sec/ { print $2 }'; }
    get_runs=() nginx_runs=() get_ratios=()
    for _ in $(seq "$rounds"); do
        get_runs+=("$(rps http://127.0.0.1:3030/tun)")
        nginx_runs+=("$(rps http://127.0.0.1:8080/tun)")
        get_ratios+=("$(ratio "${get_runs[-1]}" "${nginx_runs[-1]}")")
    done
    get_rps=$(median <<<"${get_runs[*]}")
    nginx_rps=$(median <<<"${nginx_runs[*]}")
    get_ratio=$(median <<<"${get_ratios[*]}")
fi

# Scale: the mean time per create in each tenth of a long run, and the
# daemons' peak memory. The same tenths with bare syscalls first: the kernel's
# own cost grows with the interfaces (and the addresses on lo) it holds, and
# the difference is what the daemon adds. Then each daemon fresh, alone with
# an empty namespace, as its anchor was.
stop_tun_daemon
remove_tuns() { { ip -j link show type tun | grep -o '"ifname":"[^"]*"' || true; } | cut -d'"' -f4 | xargs -r -n1 ip link del; }
remove_tuns
deciles() { timeout 900 "$build/bench/tun_bench" "$@" | cut -d' ' -f3-; }
raw_tun_deciles=$(deciles raw-scale-tun "$scale_tuns")
remove_tuns
raw_subnet_deciles=$(deciles raw-scale-subnet "$scale_subnets")
ip -4 addr flush dev lo label 'lo:*'
peak_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

"$build/subnet-daemon" --listen 127.0.0.1:3031 --log-dir "$work" --state-dir "$work/subnet-state" \
    --lock-file "$work/allocation.lock" --backend loopback &
subnet_pid=$!
pids+=("$subnet_pid")
wait_for_port 3031
subnet_deciles=$(deciles scale "$scale_subnets" 3031 /subnet)
subnet_rss=$(peak_mb "$subnet_pid")
kill "$subnet_pid"
wait "$subnet_pid" 2>/dev/null || true
ip -4 addr flush dev lo label 'lo:*'

"$build/tun-daemon" --listen 127.0.0.1:3030 --log-dir "$work" --state-dir "$work/state2" \
    --lock-file "$work/allocation.lock" --fd-socket "$work/tun-fd.sock" &
tun_pid=$!
pids+=("$tun_pid")
wait_for_port 3030
tun_deciles=$(deciles scale "$scale_tuns" 3030 /tun)
tun_rss=$(peak_mb "$tun_pid")
last_over_first() { awk '{ if ($1 > 0) printf "%.2f", $10 / $1; else print "n/a" }' <<<"$1"; }

allocate_ms=n/a
if [ -z "$smoke" ] && [ -x "$build/bench/block_pool_bench" ]; then
    allocate_ms=$("$build/bench/block_pool_bench" --benchmark_filter=allocate_whole_slash8 --benchmark_format=csv 2>/dev/null |
        awk -F, '/allocate_whole_slash8/ { printf "%.2f", $3 }')
fi

results=$(cat <<TABLE
| measure | value | target |
|---|---|---|
| raw create p50 / p99 (ms) | ${p50[raw.create]} / ${p99[raw.create]} | anchor |
| raw delete p50 / p99 (ms) | ${p50[raw.delete]} / ${p99[raw.delete]} | anchor |
| iproute2 create p50 (ms) | ${p50[iproute2.create]} | anchor |
| POST /tun p50 / p99 (ms) | ${p50[daemon.create]} / ${p99[daemon.create]} | |
| DELETE /tun p50 / p99 (ms) | ${p50[daemon.delete]} / ${p99[daemon.delete]} | |
| POST /tun p50 / raw create p50, median of $rounds rounds | $(median <<<"${round_ratios[create]}") | <= 2.5 |
| iproute2 create p50 / POST /tun p50 | $(ratio "${p50[iproute2.create]}" "${p50[daemon.create]}") | >= 15 |
| DELETE /tun p50 / raw delete p50, median of $rounds rounds | $(median <<<"${round_ratios[delete]}") | <= 1.1 |
| GET /tun req/s, nginx req/s | $get_rps, $nginx_rps | |
| GET /tun req/s / nginx req/s, median of $rounds rounds | $get_ratio | >= 0.9 |
| full /8 allocation (ms) | $allocate_ms | < 50 |
| raw TUN create per decile, $scale_tuns TUNs (ms) | $raw_tun_deciles | anchor |
| POST /tun per decile, $scale_tuns TUNs (ms) | $tun_deciles | |
| raw lo:N address per decile, $scale_subnets addresses (ms) | $raw_subnet_deciles | anchor |
| POST /subnet per decile, $scale_subnets subnets (ms) | $subnet_deciles | |
| last / first decile, raw TUNs (the kernel's own growth) | $(last_over_first "$raw_tun_deciles") | anchor |
| last / first decile, POST /tun | $(last_over_first "$tun_deciles") | <= 1.5 |
| the same, over the kernel's own growth | $(ratio "$(last_over_first "$tun_deciles")" "$(last_over_first "$raw_tun_deciles")") | <= 1 where the kernel's passes 1.5 |
| last / first decile, raw lo:N addresses (the kernel's own growth) | $(last_over_first "$raw_subnet_deciles") | anchor |
| last / first decile, POST /subnet | $(last_over_first "$subnet_deciles") | <= 1.5 |
| the same, over the kernel's own growth | $(ratio "$(last_over_first "$subnet_deciles")" "$(last_over_first "$raw_subnet_deciles")") | <= 1 where the kernel's passes 1.5 |
| peak RSS, tun-daemon / subnet-daemon (MB) | $tun_rss / $subnet_rss | subnet-daemon < 20 |
TABLE
)
echo "$results"
if [ -n "$smoke" ]; then
    echo "1 passed, 0 failed"
    exit 0
fi
mkdir -p "$(dirname "$0")/results"
out="$(dirname "$0")/results/$(date +%Y-%m-%d)-$(hostname).md"
{
    echo "# make bench, $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): $(nproc) cores, $(uname -r), N=$n"
    echo
    echo "$results"
} >"$out"
echo "written to $out"
