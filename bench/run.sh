#!/usr/bin/env bash
# make bench: the anchors and tun-daemon measured side by side, in a network
# namespace of its own, bounded by BENCH_N TUNs (default 200) and 10 s of wrk.
# Prints one table and writes it to bench/results/<date>-<host>.md.
#   bench/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
n=${BENCH_N:-200}
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

declare -A p50 p99
record() { while read -r way op median tail; do p50[$way.$op]=$median; p99[$way.$op]=$tail; done; }

record < <("$build/bench/tun_bench" raw "$n")
record < <("$build/bench/tun_bench" iproute2 "$n")
# The state directory is on disk, as in production: each create is fsynced.
"$build/tun-daemon" --listen 127.0.0.1:3030 --log-dir "$work" --state-dir "$work/state" \
    --lock-file "$work/allocation.lock" --log-level warn &
pids+=($!)
wait_for_port 3030
record < <("$build/bench/tun_bench" daemon "$n")

# Listing throughput with 10 TUNs, against nginx serving the same bytes.
get_rps=n/a nginx_rps=n/a
if command -v wrk >/dev/null && command -v nginx >/dev/null; then
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
    rps() { wrk -t1 -c50 -d10s "$1" | awk '/Requests\/sec/ { print $2 }'; }
    get_rps=$(rps http://127.0.0.1:3030/tun)
    nginx_rps=$(rps http://127.0.0.1:8080/tun)
fi

allocate_ms=n/a
if [ -x "$build/bench/block_pool_bench" ]; then
    allocate_ms=$("$build/bench/block_pool_bench" --benchmark_filter=allocate_whole_slash8 --benchmark_format=csv 2>/dev/null |
        awk -F, '/allocate_whole_slash8/ { printf "%.2f", $3 }')
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
results=$(cat <<TABLE
| measure | value | target |
|---|---|---|
| raw create p50 / p99 (ms) | ${p50[raw.create]} / ${p99[raw.create]} | anchor |
| raw delete p50 / p99 (ms) | ${p50[raw.delete]} / ${p99[raw.delete]} | anchor |
| iproute2 create p50 (ms) | ${p50[iproute2.create]} | anchor |
| POST /tun p50 / p99 (ms) | ${p50[daemon.create]} / ${p99[daemon.create]} | |
| DELETE /tun p50 / p99 (ms) | ${p50[daemon.delete]} / ${p99[daemon.delete]} | |
| POST /tun p50 / raw create p50 | $(ratio "${p50[daemon.create]}" "${p50[raw.create]}") | <= 2.5 |
| iproute2 create p50 / POST /tun p50 | $(ratio "${p50[iproute2.create]}" "${p50[daemon.create]}") | >= 15 |
| DELETE /tun p50 / raw delete p50 | $(ratio "${p50[daemon.delete]}" "${p50[raw.delete]}") | <= 1.1 |
| GET /tun req/s / nginx req/s | $get_rps / $nginx_rps = $(ratio "$get_rps" "$nginx_rps") | >= 0.9 |
| full /8 allocation (ms) | $allocate_ms | < 50 |
TABLE
)
echo "$results"
mkdir -p "$(dirname "$0")/results"
out="$(dirname "$0")/results/$(date +%Y-%m-%d)-$(hostname).md"
{
    echo "# make bench, $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname): $(nproc) cores, $(uname -r), N=$n"
    echo
    echo "$results"
} >"$out"
echo "written to $out"
