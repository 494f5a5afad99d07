#!/usr/bin/env bash
# Chapter 08 benchmark: the chapter's proxy against HAProxy and nginx in front of the same three backends, with a
# direct connection to one backend as the floor; then the proxy's L4 relay, splice against the copy loop.
#
# Builds everything into $BUILD/bench/08-proxy/ (never into the source tree): the chapter's px-proxy from $IMPL with
# mk/chapter.mk (VARIANT=plain: gcc -O2, no sanitizer); backend.c (an epoll HTTP/1.1 keep-alive server with a fixed
# body, a per-process delay and a request counter served on GET /count, or an echo server), xfer.c (the L4 client)
# and syscost.c (the cost of one system call here) with $CC -O2. HAProxy and nginx run from configurations written here, each with one worker (HAProxy
# `nbthread 1`, nginx `worker_processes 1`; px-proxy is one thread anyway). A peer that is not installed or does not
# start is reported "not measured", with the reason, and the rest still runs.
#
# Everything listens on 127.0.0.1, on ports the kernel picks (port 0, read back; HAProxy and nginx get a port found
# free just before). Each round runs every workload on each contender in turn, the order rotating from round to
# round so that machine noise hits all alike; medians over ROUNDS rounds:
#   - throughput and latency: 3 backends; wrk -t1 -c CONNS --latency, a 1 s warm-up then RUN_SECONDS, GET / through
#     px-proxy (--mode http --balancer p2c), HAProxy (balance random(2), http-reuse always), nginx (random two
#     least_conn, keepalive 32) and straight to one backend ("direct", the floor). The proxy's CPU time over the
#     measured run (utime + stime of /proc/PID/stat, nginx's master and worker together) per request, and its
#     VmRSS and VmHWM at the end of the run;
#   - the slow backend: 3 backends, the third answering DELAY_MS late; the same wrk run through each proxy, and
#     through px-proxy --balancer round-robin as the reference: the slow backend's share of the requests that the
#     backends counted (their GET /count before and after);
#   - a backend dies: 3 fresh backends, wrk for DEATH_SECONDS through each proxy, and SIGKILL to one backend half
#     way: the share of requests answered 2xx among all that wrk sent (answers + socket errors);
#   - L4: one echo backend, px-proxy --mode tcp with --relay copy and with --relay splice, and direct; xfer with
#     L4_CONNS connections, each moving L4_BYTES up and back per connection, for L4_SECONDS: MiB/s through the
#     proxy (both directions counted) and the proxy's CPU per MiB.
# Then, once and outside the medians (STRACE_SECONDS > 0): each proxy's system calls per request (and per MiB for
# the two relays) from `strace -f -c` attached for a short run (strace slows the traced proxy, so these runs give
# counts, not speeds); the share of each relay's CPU samples spent copying between user memory and sockets
# (`perf record -e cpu-clock`, where perf works); and what one system call costs here (syscost.c).
#
# Pinning (PIN=1, two cores or more): the proxy on CPU 0; wrk, xfer and the backends on CPU 1.
#
# Environment:
#   IMPL=solutions|chapters|<dir>   whose sources to build px-proxy from (default: solutions)
#   ROUNDS=3  RUN_SECONDS=5         rounds, and the measured seconds of each throughput and slow-backend run
#   CONNS=50  BODY=64               wrk's connections (one thread); the backends' body in bytes
#   DELAY_MS=200                    the slow backend's delay
#   DEATH_SECONDS=6                 length of each run in which a backend is killed (at half of it)
#   L4_BYTES=1048576  L4_CONNS=4  L4_SECONDS=3   the L4 transfers: bytes each way per connection, concurrent
#                                   connections, seconds per run
#   STRACE_SECONDS=2                length of each counted run (0 skips them)
#   PIN=1                           0: no taskset
#   CC=gcc BUILD=build
#   RECORD=0                        leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=08-proxy
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

ROUNDS=${ROUNDS:-3}
RUN_SECONDS=${RUN_SECONDS:-5}
CONNS=${CONNS:-50}
BODY=${BODY:-64}
DELAY_MS=${DELAY_MS:-200}
DEATH_SECONDS=${DEATH_SECONDS:-6}
L4_BYTES=${L4_BYTES:-1048576}
L4_CONNS=${L4_CONNS:-4}
L4_SECONDS=${L4_SECONDS:-3}
STRACE_SECONDS=${STRACE_SECONDS:-2}
PIN=${PIN:-1}
bench_positive_ints ROUNDS RUN_SECONDS CONNS BODY DELAY_MS DEATH_SECONDS L4_BYTES L4_CONNS L4_SECONDS
[[ $STRACE_SECONDS =~ ^[0-9]+$ ]] || { echo "bench: STRACE_SECONDS must be a number, not '$STRACE_SECONDS'" >&2; exit 2; }
((BODY <= 4096)) || { echo "bench: BODY must be at most 4096" >&2; exit 2; }
((DEATH_SECONDS >= 2)) || { echo "bench: DEATH_SECONDS must be at least 2" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
TICK=$(getconf CLK_TCK)

for tool in wrk:wrk curl:curl python3:python3; do
    command -v "${tool%%:*}" >/dev/null ||
        { echo "bench: ${tool%%:*} is not installed (Debian package: ${tool#*:})" >&2; exit 1; }
done

# Every proxy, backend, client and strace started here is stopped on the way out, whatever happens.
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# forget PID: a process that has ended leaves PIDS, so that the trap never signals a number reused since.
forget() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# spawn NAME CMD...: CMD in the background, its output in $OUT/NAME.out and .err; its pid in SPAWNED.
spawn() {
    local name=$1
    shift
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
    SPAWNED=$!
    PIDS+=("$SPAWNED")
}
# stop PID [SIGNAL]: signals it (TERM by default), waits for it, forgets it.
stop() {
    kill -"${2:-TERM}" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}

# ---- build --------------------------------------------------------------------------------------------------------
skipped=()
CFLAGS=(-std=c17 -Wall -Wextra -Werror -O2)
echo "building the backend and the L4 client ($CC -O2) ..."
"$CC" "${CFLAGS[@]}" "$SRC/backend.c" -o "$OUT/backend"
"$CC" "${CFLAGS[@]}" -pthread "$SRC/xfer.c" -o "$OUT/xfer"
"$CC" "${CFLAGS[@]}" "$SRC/syscost.c" -o "$OUT/syscost"

echo "building the chapter's proxy (px-proxy, $IMPL, $CC, VARIANT=plain: -O2) ..."
chapter_make() { make --no-print-directory -s -f mk/chapter.mk CH="$CH" IMPL="$IMPL" CC="$CC" BUILD="$BUILD" VARIANT=plain "$@"; }
# A second try after two seconds: a commit moves the chapter's folders away and back for a moment.
if ! chapter_make px-proxy >"$OUT/px-proxy-build.log" 2>&1 &&
    ! { sleep 2 && chapter_make px-proxy >"$OUT/px-proxy-build.log" 2>&1; }; then
    tail -n 20 "$OUT/px-proxy-build.log" >&2
    echo "bench: the chapter's proxy does not build (log: $OUT/px-proxy-build.log)" >&2
    exit 1
fi
PX_PROXY=$ROOT/$(chapter_make print-PX_PROXY)

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
peers=()
if [[ -x $HAPROXY ]]; then
    peers+=(haproxy)
    bench_meta peer "haproxy: $("$HAPROXY" -v | head -n1 | cut -d' ' -f1-3), nbthread 1, balance random(2)," \
        "http-reuse always, check inter 1s, retries 3 with redispatch, retry-on all-retryable-errors"
else
    skipped+=("haproxy: not installed (apt-get install haproxy)")
fi
if [[ -x $NGINX ]]; then
    peers+=(nginx)
    bench_meta peer "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes 1, random two least_conn," \
        "keepalive 32, proxy_http_version 1.1, proxy_next_upstream error timeout (its default)"
else
    skipped+=("nginx: not installed (apt-get install nginx-light)")
fi
bench_meta tool "$(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), $(strace -V 2>/dev/null | head -n1 || echo 'no strace')"

PROXY_CPU=() CLIENT_CPU=()
if [[ $PIN == 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    PROXY_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1)
fi

# ---- backends and proxies -----------------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# listen_port FILE: the port of the "listening on 127.0.0.1:PORT" line a program printed, once it has (5 s at most).
listen_port() {
    local port
    for _ in $(seq 250); do
        port=$(sed -n 's/^listening on [0-9.]*:\([0-9]*\).*/\1/p' "$1" 2>/dev/null)
        if [[ -n $port ]]; then
            echo "$port"
            return 0
        fi
        sleep 0.02
    done
    return 1
}
# count PORT: the requests a backend has counted so far.
count() { curl -sf --max-time 5 "http://127.0.0.1:$1/count"; }

# start_backends [DELAY|echo]: three backends (one echo backend), the third one DELAY ms late; BE_PID, BE_PORT.
BE_PID=() BE_PORT=()
start_backends() {
    local i n=3 args port
    BE_PID=() BE_PORT=()
    [[ ${1:-} != echo ]] || n=1
    for ((i = 0; i < n; i++)); do
        args=(--body "$BODY")
        [[ ${1:-} != echo ]] || args=(--echo)
        if [[ ${1:-0} =~ ^[1-9] ]] && ((i == 2)); then args+=(--delay-ms "$1"); fi
        spawn "backend$i" "${CLIENT_CPU[@]}" "$OUT/backend" "${args[@]}"
        BE_PID+=("$SPAWNED")
    done
    for ((i = 0; i < n; i++)); do
        port=$(listen_port "$OUT/backend$i.out") || { echo "bench: a backend did not start" >&2; exit 1; }
        BE_PORT+=("$port")
    done
}
stop_backends() {
    local p
    for p in "${BE_PID[@]}"; do stop "$p"; done
    BE_PID=() BE_PORT=()
}

haproxy_config() { # PORT
    local i
    mkdir -p "$OUT/haproxy"
    {
        echo "# Written by bench/08-proxy/run.sh: one thread, three backends, power of two choices."
        echo "global"
        echo "    nbthread 1"
        echo "    maxconn 4096"
        echo "defaults"
        echo "    mode http"
        echo "    timeout connect 1s"
        echo "    timeout client 30s"
        echo "    timeout server 30s"
        echo "    retries 3"
        echo "    option redispatch 1"
        echo "    retry-on all-retryable-errors"
        echo "    http-reuse always"
        echo "frontend fe"
        echo "    bind 127.0.0.1:$1"
        echo "    default_backend be"
        echo "backend be"
        echo "    balance random(2)"
        for i in "${!BE_PORT[@]}"; do echo "    server s$i 127.0.0.1:${BE_PORT[$i]} check inter 1s"; done
    } >"$OUT/haproxy/haproxy.cfg"
}
nginx_config() { # PORT
    local i
    mkdir -p "$OUT/nginx"
    {
        echo "# Written by bench/08-proxy/run.sh: one worker, three backends, power of two choices."
        echo "worker_processes 1;"
        echo "daemon off;"
        echo "pid $OUT/nginx/nginx.pid;"
        echo "error_log $OUT/nginx/error.log warn;"
        echo "events { worker_connections 4096; }"
        echo "http {"
        echo "    access_log off;"
        for d in client_body proxy fastcgi uwsgi scgi; do echo "    ${d}_temp_path $OUT/nginx/$d;"; done
        echo "    upstream be {"
        echo "        random two least_conn;"
        for i in "${!BE_PORT[@]}"; do echo "        server 127.0.0.1:${BE_PORT[$i]};"; done
        echo "        keepalive 32;"
        echo "    }"
        echo "    server {"
        echo "        listen 127.0.0.1:$1;"
        echo "        location / {"
        echo "            proxy_pass http://be;"
        echo "            proxy_http_version 1.1;"
        echo "            proxy_set_header Connection \"\";"
        echo "        }"
        echo "    }"
        echo "}"
    } >"$OUT/nginx/nginx.conf"
}

# start_proxy NAME: starts it in front of the running backends; PX_PID (empty for direct) and PX_PORT. Names:
# ferrite (http, p2c), ferrite-rr (http, round-robin), copy and splice (tcp, the two relays), haproxy, nginx, direct.
# Returns 1, with a note, if it does not come up.
start_proxy() {
    local name=$1 port='' i
    PX_PID='' PX_PORT=''
    case $name in
    direct)
        PX_PORT=${BE_PORT[0]}
        return 0
        ;;
    ferrite | ferrite-rr | copy | splice)
        for i in "${BE_PORT[@]}"; do echo "127.0.0.1:$i"; done >"$OUT/endpoints"
        local args=(--mode http --balancer p2c)
        [[ $name != ferrite-rr ]] || args=(--mode http --balancer round-robin)
        [[ $name != copy && $name != splice ]] || args=(--mode tcp --relay "$name")
        spawn proxy-"$name" "${PROXY_CPU[@]}" "$PX_PROXY" --endpoints "$OUT/endpoints" "${args[@]}" --quiet
        PX_PID=$SPAWNED
        port=$(listen_port "$OUT/proxy-$name.out") || true
        ;;
    haproxy)
        port=$(free_port)
        haproxy_config "$port"
        spawn proxy-"$name" "${PROXY_CPU[@]}" "$HAPROXY" -db -f "$OUT/haproxy/haproxy.cfg"
        PX_PID=$SPAWNED
        ;;
    nginx)
        port=$(free_port)
        nginx_config "$port"
        spawn proxy-"$name" "${PROXY_CPU[@]}" "$NGINX" -p "$OUT/nginx/" -e "$OUT/nginx/error.log" -c "$OUT/nginx/nginx.conf"
        PX_PID=$SPAWNED
        ;;
    esac
    for _ in $(seq 250); do
        if [[ -n $port ]]; then
            if [[ $name == copy || $name == splice ]] || curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
                PX_PORT=$port
                return 0
            fi
        fi
        kill -0 "$PX_PID" 2>/dev/null || break
        sleep 0.02
    done
    echo "bench: $name did not start: $(tail -n 3 "$OUT/proxy-$name.err" 2>/dev/null)" >&2
    stop_proxy
    return 1
}
stop_proxy() {
    [[ -z $PX_PID ]] || stop "$PX_PID"
    PX_PID='' PX_PORT=''
}
# The proxy's processes: itself and its children (nginx's worker).
# shellcheck disable=SC2046  # one word per child
proxy_procs() { [[ -z $PX_PID ]] || echo "$PX_PID" $(ps -o pid= --ppid "$PX_PID" 2>/dev/null); }
# cpu_ticks PID...: "utime stime" summed over the processes, in clock ticks (/proc/PID/stat, fields 14 and 15,
# counted after the command name, which ends at the last parenthesis).
cpu_ticks() {
    local p
    for p in "$@"; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true; done |
        awk '{ u += $12; s += $13 } END { print u + 0, s + 0 }'
}
# status_kb FIELD PID...: the sum of a /proc/PID/status field (VmRSS, VmHWM) over the processes.
status_kb() {
    local field=$1 p files=()
    shift
    (($#)) || return 0
    for p in "$@"; do files+=("/proc/$p/status"); done
    awk -v f="$field:" '$1 == f { t += $2 } END { print t + 0 }' "${files[@]}" 2>/dev/null || true
}
# sched_ns PID...: "run_ns wait_ns" summed over every thread of the processes (/proc/PID/task/TID/schedstat): the
# time they ran, and the time they were ready to run but waited for a CPU (other jobs of a shared machine).
sched_ns() {
    local p files=()
    for p in "$@"; do files+=(/proc/"$p"/task/*/schedstat); done
    ((${#files[@]})) || { echo "0 0"; return 0; }
    awk '{ r += $1; w += $2 } END { printf "%.0f %.0f\n", r, w }' "${files[@]}" 2>/dev/null || echo "0 0"
}
# cpu_stat: "busy0 total0 steal0 softirq0 busy1 total1 steal1 softirq1", the clock ticks CPUs 0 and 1 have spent
# since boot busy (user, nice, system, irq, softirq), in all, stolen by the host, and in softirq (/proc/stat). With
# PIN=1 CPU 0 is the proxy's and CPU 1 is wrk's and the backends'; on loopback much of TCP runs in softirq.
cpu_stat() {
    awk '$1 == "cpu0" || $1 == "cpu1" { b = $2 + $3 + $4 + $7 + $8; t = b + $5 + $6 + $9; printf "%d %d %d %d ", b, t, $9, $8 }
         END { print "" }' /proc/stat
}
now_ns() { date +%s%N; }
run_wrk() { # PORT SECONDS: prints wrk's RUN line (report.lua), or nothing when wrk failed
    "${CLIENT_CPU[@]}" wrk -t1 -c"$CONNS" -d"$2"s --timeout 5s --latency -s "$SRC/report.lua" \
        "http://127.0.0.1:$1/" 2>&1 | grep '^RUN' || true
}

# ---- the smoke test: does px-proxy answer in http mode? -----------------------------------------------------------
http_names=(direct ferrite "${peers[@]}")
slow_names=(ferrite ferrite-rr "${peers[@]}")
death_names=(ferrite "${peers[@]}")
start_backends 0
if ! start_proxy ferrite; then
    skipped+=("ferrite http mode: px-proxy --mode http did not answer GET / (see $OUT/proxy-ferrite.err)")
    http_names=(direct "${peers[@]}") slow_names=("${peers[@]}") death_names=("${peers[@]}")
fi
stop_proxy
stop_backends
for s in "${skipped[@]}"; do bench_note "${s%%:*}: not measured:${s#*:}"; done

HTTP_TSV=$OUT/http-$IMPL_TAG.tsv SLOW_TSV=$OUT/slow-$IMPL_TAG.tsv DEATH_TSV=$OUT/death-$IMPL_TAG.tsv
L4_TSV=$OUT/l4-$IMPL_TAG.tsv
: >"$HTTP_TSV"
: >"$SLOW_TSV"
: >"$DEATH_TSV"
: >"$L4_TSV"

# rotate R NAME...: the names, starting from the (R mod count)-th.
rotate() {
    local r=$1
    shift
    local names=("$@") i
    for ((i = 0; i < ${#names[@]}; i++)); do echo "${names[(i + r) % ${#names[@]}]}"; done
}

# ---- rounds -------------------------------------------------------------------------------------------------------
for ((round = 1; round <= ROUNDS; round++)); do
    echo "round $round of $ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg)) ..."

    # Throughput, latency, CPU and memory: three equal backends.
    start_backends 0
    for name in $(rotate "$round" "${http_names[@]}"); do
        start_proxy "$name" || continue
        run_wrk "$PX_PORT" 1 >/dev/null # warm-up: connections to the backends, the balancer's estimates
        read -ra procs <<<"$(proxy_procs)"
        read -r u0 s0 <<<"$(cpu_ticks "${procs[@]}")"
        read -r r0 w0 <<<"$(sched_ns "${procs[@]}")"
        read -r b00 t00 st00 sq00 b10 t10 st10 sq10 <<<"$(cpu_stat)"
        read -r bu0 bs0 <<<"$(cpu_ticks "${BE_PID[@]}")"
        t0=$(now_ns)
        line=$(run_wrk "$PX_PORT" "$RUN_SECONDS")
        t1=$(now_ns)
        read -r b01 t01 st01 sq01 b11 t11 st11 sq11 <<<"$(cpu_stat)"
        read -r bu1 bs1 <<<"$(cpu_ticks "${BE_PID[@]}")"
        read -r u1 s1 <<<"$(cpu_ticks "${procs[@]}")"
        read -r r1 w1 <<<"$(sched_ns "${procs[@]}")"
        rss=$(status_kb VmRSS "${procs[@]}") hwm=$(status_kb VmHWM "${procs[@]}")
        stop_proxy
        [[ -n $line ]] || { echo "  $name: wrk gave no result" >&2; continue; }
        IFS=$'\t' read -r rps p50 p99 n conn rd wr to bad <<<"$(bench_fields req_per_s p50_us p99_us requests connect read write timeout non2xx <<<"$line")"
        awk -v r="$round" -v name="$name" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v n="$n" \
            -v err=$((conn + rd + wr + to)) -v bad="$bad" -v du=$((u1 - u0)) -v ds=$((s1 - s0)) -v tick="$TICK" \
            -v rss="$rss" -v hwm="$hwm" -v run=$((r1 - r0)) -v wait=$((w1 - w0)) -v wall=$((t1 - t0)) -v direct="$([[ $name == direct ]] && echo 1 || echo 0)" \
            -v b0=$((b01 - b00)) -v c0=$((t01 - t00)) -v b1=$((b11 - b10)) -v c1=$((t11 - t10)) \
            -v st=$((st01 - st00 + st11 - st10)) -v be=$((bu1 - bu0 + bs1 - bs0)) -v sq=$((sq11 - sq10)) \
            'BEGIN { us = n > 0 ? 1e6 / tick / n : 0
                     busy = sprintf("%.1f", 100 * run / wall); waited = sprintf("%.1f", 100 * wait / wall)
                     if (direct) { rss = ""; hwm = ""; u = ""; s = ""; busy = ""; waited = "" }
                     else { u = sprintf("%.2f", du * us); s = sprintf("%.2f", ds * us) }
                     cpu0 = c0 > 0 ? sprintf("%.1f", 100 * b0 / c0) : ""; cpu1 = c1 > 0 ? sprintf("%.1f", 100 * b1 / c1) : ""
                     other = sprintf("%.2f", b1 * us); steal = c0 + c1 > 0 ? sprintf("%.1f", 100 * st / (c0 + c1)) : ""
                     backends = sprintf("%.2f", be * us); softirq = sprintf("%.2f", sq * us)
                     printf "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r, name, rps,
                         p50, p99, n, err, bad, u, s, rss, hwm, busy, waited, cpu0, cpu1, other, steal, backends, softirq }' \
            >>"$HTTP_TSV"
        printf '  %-8s %8s req/s  p50 %6s µs  p99 %7s µs  errors %s  non-2xx %s\n' "$name" "$rps" "$p50" "$p99" \
            $((conn + rd + wr + to)) "$bad"
    done
    stop_backends

    # The slow backend: the third answers DELAY_MS late.
    start_backends "$DELAY_MS"
    for name in $(rotate "$round" "${slow_names[@]}"); do
        start_proxy "$name" || continue
        before=() after=()
        for p in "${BE_PORT[@]}"; do before+=("$(count "$p")"); done
        line=$(run_wrk "$PX_PORT" "$RUN_SECONDS")
        for p in "${BE_PORT[@]}"; do after+=("$(count "$p")"); done
        stop_proxy
        [[ -n $line ]] || { echo "  $name: wrk gave no result" >&2; continue; }
        IFS=$'\t' read -r rps p99 <<<"$(bench_fields req_per_s p99_us <<<"$line")"
        share=$(awk -v a0="${before[0]}" -v b0="${before[1]}" -v c0="${before[2]}" -v a1="${after[0]}" \
            -v b1="${after[1]}" -v c1="${after[2]}" \
            'BEGIN { t = (a1 - a0) + (b1 - b0) + (c1 - c0); if (t > 0) printf "%.2f", 100 * (c1 - c0) / t }')
        printf '%d\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$share" "$rps" "$p99" \
            "$((after[0] - before[0])),$((after[1] - before[1])),$((after[2] - before[2]))" >>"$SLOW_TSV"
        printf '  %-10s slow backend: %6s %% of %s requests (%s req/s, p99 %s µs)\n' "$name" "$share" \
            "$((after[0] + after[1] + after[2] - before[0] - before[1] - before[2]))" "$rps" "$p99"
    done
    stop_backends

    # A backend dies: SIGKILL to one of three, half way through the run. Fresh backends for every contender.
    for name in $(rotate "$round" "${death_names[@]}"); do
        start_backends 0
        if ! start_proxy "$name"; then
            stop_backends
            continue
        fi
        run_wrk "$PX_PORT" "$DEATH_SECONDS" >"$OUT/death.out" &
        wrk_pid=$!
        PIDS+=("$wrk_pid")
        sleep "$(awk -v s="$DEATH_SECONDS" 'BEGIN { print s / 2 }')"
        stop "${BE_PID[2]}" KILL
        wait "$wrk_pid" || true
        forget "$wrk_pid"
        stop_proxy
        stop_backends
        line=$(cat "$OUT/death.out")
        [[ -n $line ]] || { echo "  $name: wrk gave no result" >&2; continue; }
        IFS=$'\t' read -r n conn rd wr to bad <<<"$(bench_fields requests connect read write timeout non2xx <<<"$line")"
        ok=$(awk -v n="$n" -v e=$((conn + rd + wr + to)) -v b="$bad" 'BEGIN { if (n + e > 0) printf "%.3f", 100 * (n - b) / (n + e) }')
        printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$ok" "$n" "$bad" "$conn" "$rd" "$wr" "$to" >>"$DEATH_TSV"
        printf '  %-8s backend killed: %7s %% answered 2xx (%s answers, %s non-2xx; socket errors: connect %s,' \
            "$name" "$ok" "$n" "$bad" "$conn"
        printf ' read %s, write %s, timeout %s)\n' "$rd" "$wr" "$to"
    done

    # L4: 1 MiB echoed per connection, through the two relays and direct.
    start_backends echo
    for name in $(rotate "$round" direct copy splice); do
        start_proxy "$name" || continue
        read -ra procs <<<"$(proxy_procs)"
        read -r u0 s0 <<<"$(cpu_ticks "${procs[@]}")"
        read -r r0 w0 <<<"$(sched_ns "${procs[@]}")"
        t0=$(now_ns)
        line=$("${CLIENT_CPU[@]}" "$OUT/xfer" "$PX_PORT" "$L4_BYTES" "$L4_CONNS" "$L4_SECONDS" 2>"$OUT/xfer.err" || true)
        t1=$(now_ns)
        read -r u1 s1 <<<"$(cpu_ticks "${procs[@]}")"
        read -r r1 w1 <<<"$(sched_ns "${procs[@]}")"
        stop_proxy
        [[ $line == RUN* ]] || { echo "  $name: xfer gave no result: $(head -n1 "$OUT/xfer.err")" >&2; continue; }
        IFS=$'\t' read -r mibs bytes xf failed <<<"$(bench_fields mib_per_s bytes transfers failed <<<"$line")"
        awk -v r="$round" -v name="$name" -v mibs="$mibs" -v bytes="$bytes" -v xf="$xf" -v failed="$failed" \
            -v du=$((u1 - u0)) -v ds=$((s1 - s0)) -v tick="$TICK" -v direct="$([[ $name == direct ]] && echo 1 || echo 0)" \
            -v run=$((r1 - r0)) -v wait=$((w1 - w0)) -v wall=$((t1 - t0)) \
            'BEGIN { mib = bytes / 1048576; u = ""; s = ""; busy = ""; waited = ""
                     if (!direct && mib > 0) { u = sprintf("%.1f", du * 1e6 / tick / mib); s = sprintf("%.1f", ds * 1e6 / tick / mib)
                                               busy = sprintf("%.1f", 100 * run / wall); waited = sprintf("%.1f", 100 * wait / wall) }
                     printf "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r, name, mibs, xf, failed, u, s, busy, waited }' >>"$L4_TSV"
        printf '  L4 %-7s %8s MiB/s  (%s transfers, %s failed)\n' "$name" "$mibs" "$xf" "$failed"
    done
    stop_backends
done

# ---- system calls, counted once -----------------------------------------------------------------------------------
STRACE_TSV=$OUT/strace-$IMPL_TAG.tsv
: >"$STRACE_TSV"
# strace_run NAME WORKLOAD: attaches strace -f -c to the proxy's processes for one short run; one row per system
# call: name, calls per request (http) or per MiB (l4), and a total row.
strace_run() {
    local name=$1 kind=$2 sp line per
    start_proxy "$name" || return 0
    [[ $kind != http ]] || run_wrk "$PX_PORT" 1 >/dev/null
    read -ra procs <<<"$(proxy_procs)"
    local attach=()
    for p in "${procs[@]}"; do attach+=(-p "$p"); done
    strace -f -c -o "$OUT/strace-$name.txt" "${attach[@]}" 2>/dev/null &
    sp=$!
    PIDS+=("$sp")
    # In http mode the three backends are counted too, in a file of their own: what a proxy's way of sending
    # requests costs the servers behind it.
    local bsp= battach=()
    if [[ $kind == http ]]; then
        for p in "${BE_PID[@]}"; do battach+=(-p "$p"); done
        strace -f -c -o "$OUT/strace-$name-backends.txt" "${battach[@]}" 2>/dev/null &
        bsp=$!
        PIDS+=("$bsp")
    fi
    sleep 0.5 # strace attaches
    if [[ $kind == http ]]; then
        line=$(run_wrk "$PX_PORT" "$STRACE_SECONDS")
        per=$(bench_fields requests <<<"$line")
    else
        line=$("${CLIENT_CPU[@]}" "$OUT/xfer" "$PX_PORT" "$L4_BYTES" "$L4_CONNS" "$STRACE_SECONDS" 2>/dev/null || true)
        per=$(bench_fields bytes <<<"$line" | awk '{ printf "%.3f", $1 / 1048576 }')
    fi
    stop "$sp" INT
    [[ -z $bsp ]] || stop "$bsp" INT
    stop_proxy
    [[ -n $per && $per != 0 && -s $OUT/strace-$name.txt ]] || return 0
    # strace -c's table: % time, seconds, usecs/call, calls, [errors,] syscall; the last row is the total.
    local f tag
    for f in "$OUT/strace-$name.txt" "$OUT/strace-$name-backends.txt"; do
        [[ -s $f ]] || continue
        tag=$name
        [[ $f != *-backends.txt ]] || tag="$name:backends"
        awk -v name="$tag" -v per="$per" '$1 ~ /^[0-9.]+$/ && NF >= 5 { c = $4; s = $NF
                if (s == "total") printf "%s\ttotal\t%.2f\n", name, c / per; else printf "%s\t%s\t%.2f\n", name, s, c / per }' \
            "$f" >>"$STRACE_TSV"
    done
}
# perf_run NAME: samples the relay's CPU (perf record -e cpu-clock, a software event: no hardware counters here) for
# one L4 run; prints the share of the samples in the kernel's copies between user memory and socket buffers.
PERF_TSV=$OUT/perf-$IMPL_TAG.tsv
: >"$PERF_TSV"
perf_run() {
    local name=$1 pp share
    start_proxy "$name" || return 0
    perf record -q -e cpu-clock -o "$OUT/perf-$name.data" -p "$PX_PID" -- sleep $((STRACE_SECONDS + 1)) >/dev/null 2>&1 &
    pp=$!
    PIDS+=("$pp")
    sleep 0.5 # perf attaches
    "${CLIENT_CPU[@]}" "$OUT/xfer" "$PX_PORT" "$L4_BYTES" "$L4_CONNS" "$STRACE_SECONDS" >/dev/null 2>&1 || true
    wait "$pp" || true
    forget "$pp"
    stop_proxy
    share=$(perf report -i "$OUT/perf-$name.data" --no-children --sort sym -g none --stdio 2>/dev/null |
        awk '$1 ~ /%$/ && $3 ~ /^(_copy_to_iter|_copy_from_iter|copy_user_.*|_copy_to_user|_copy_from_user)$/ { t += $1 }
             END { printf "%.1f", t }')
    [[ -z $share ]] || printf '%s\t%s\n' "$name" "$share" >>"$PERF_TSV"
}
if ((STRACE_SECONDS > 0)) && command -v strace >/dev/null; then
    echo "counting system calls (strace -f -c, ${STRACE_SECONDS} s per contender) ..."
    start_backends 0
    for name in "${http_names[@]}"; do [[ $name == direct ]] || strace_run "$name" http; done
    stop_backends
    start_backends echo
    for name in copy splice; do strace_run "$name" l4; done
    if command -v perf >/dev/null && perf stat -e cpu-clock true >/dev/null 2>&1; then
        for name in copy splice; do perf_run "$name"; done
    fi
    stop_backends
fi
# What one system call costs here (syscost.c), on the proxies' core, to read the counts above with.
SYSCOST=$("${PROXY_CPU[@]}" "$OUT/syscost" 2>/dev/null || true)

# ---- tables -------------------------------------------------------------------------------------------------------
# median TSV NAME COLUMN [FORMAT]: the median of a column over the rounds of one contender.
median() { awk -F'\t' -v n="$2" -v c="$3" '$2 == n && $c != "" { print $c }' "$1" | bench_median "${4:-%.0f}"; }
minimum() { awk -F'\t' -v n="$2" -v c="$3" '$2 == n && $c != "" { print $c }' "$1" | sort -g | head -n1; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "") printf "%.0f", a - b }'; }
label() {
    case $1 in
    ferrite) echo "ferrite (p2c)" ;;
    ferrite-rr) echo "ferrite (round-robin)" ;;
    copy) echo "ferrite (copy)" ;;
    splice) echo "ferrite (splice)" ;;
    *) echo "$1" ;;
    esac
}

echo
echo "HTTP/1.1 GET, wrk -t1 -c$CONNS, $RUN_SECONDS s, 3 backends (medians of $ROUNDS rounds):"
printf '  %-14s %9s %8s %8s %10s %10s %9s %9s %9s %9s %6s %6s\n' contender "req/s" "p50 µs" "p99 µs" "+p50 µs" \
    "+p99 µs" "user µs" "sys µs" "RSS kB" "HWM kB" "run %" "wait %"
declare -A RPS=() AP50=() AP99=() CPU=()
d50=$(median "$HTTP_TSV" direct 4) d99=$(median "$HTTP_TSV" direct 5)
for name in "${http_names[@]}"; do
    RPS[$name]=$(median "$HTTP_TSV" "$name" 3)
    [[ -n ${RPS[$name]} ]] || continue
    AP50[$name]=$(sub "$(median "$HTTP_TSV" "$name" 4)" "$d50")
    AP99[$name]=$(sub "$(median "$HTTP_TSV" "$name" 5)" "$d99")
    u=$(median "$HTTP_TSV" "$name" 9 %.2f) s=$(median "$HTTP_TSV" "$name" 10 %.2f)
    CPU[$name]=$(awk -v u="$u" -v s="$s" 'BEGIN { if (u != "") printf "%.2f", u + s }')
    [[ $name != direct ]] || AP50[$name]='' AP99[$name]=''
    printf '  %-14s %9s %8s %8s %10s %10s %9s %9s %9s %9s %6s %6s\n' "$(label "$name")" "${RPS[$name]}" \
        "$(median "$HTTP_TSV" "$name" 4)" "$(median "$HTTP_TSV" "$name" 5)" "${AP50[$name]:--}" "${AP99[$name]:--}" \
        "${u:--}" "${s:--}" "$(median "$HTTP_TSV" "$name" 11)" "$(median "$HTTP_TSV" "$name" 12)" \
        "$(median "$HTTP_TSV" "$name" 13 %.1f)" "$(median "$HTTP_TSV" "$name" 14 %.1f)"
done
echo "  (+p50, +p99: added over direct; user, sys: the proxy's CPU per request; RSS, HWM: VmRSS and VmHWM at the end;"
echo "  run %, wait %: the share of the run the proxy ran on a CPU, and waited for one while ready)"
errs=$(awk -F'\t' '{ e += $7 + $8 } END { print e + 0 }' "$HTTP_TSV")
echo "  socket errors and non-2xx answers over all these runs: $errs"
echo "  the two CPUs during the same runs (CPU 0 the proxy's, CPU 1 wrk's and the backends'$([[ $PIN == 1 ]] || echo "; PIN=0: mixed")):"
printf '  %-14s %8s %8s %15s %15s %15s %8s\n' contender "CPU 0 %" "CPU 1 %" "CPU 1 µs/req" "backends µs/req" \
    "softirq µs/req" "steal %"
for name in "${http_names[@]}"; do
    [[ -n ${RPS[$name]} ]] || continue
    printf '  %-14s %8s %8s %15s %15s %15s %8s\n' "$(label "$name")" "$(median "$HTTP_TSV" "$name" 15 %.1f)" \
        "$(median "$HTTP_TSV" "$name" 16 %.1f)" "$(median "$HTTP_TSV" "$name" 17 %.2f)" \
        "$(median "$HTTP_TSV" "$name" 19 %.2f)" "$(median "$HTTP_TSV" "$name" 20 %.2f)" "$(median "$HTTP_TSV" "$name" 18 %.1f)"
done
echo "  (CPU 1: wrk, the three backends and the kernel's work for them; backends: their user and system time; softirq:"
echo "  CPU 1's, much of loopback TCP; all sampled at the kernel's tick. steal: time the host took from both CPUs)"

echo
echo "one backend of three answering $DELAY_MS ms late: its share of the requests (medians of $ROUNDS rounds):"
declare -A SHARE=()
for name in "${slow_names[@]}"; do
    SHARE[$name]=$(median "$SLOW_TSV" "$name" 3 %.2f)
    [[ -n ${SHARE[$name]} ]] || continue
    printf '  %-22s %6s %%   %7s req/s   p99 %8s µs\n' "$(label "$name")" "${SHARE[$name]}" \
        "$(median "$SLOW_TSV" "$name" 4)" "$(median "$SLOW_TSV" "$name" 5)"
done

echo
echo "one backend of three killed half way through $DEATH_SECONDS s: requests answered 2xx (worst of $ROUNDS rounds):"
declare -A OK=()
for name in "${death_names[@]}"; do
    OK[$name]=$(minimum "$DEATH_TSV" "$name" 3)
    [[ -n ${OK[$name]} ]] || continue
    printf '  %-14s %8s %%  (every round: %s)\n' "$(label "$name")" "${OK[$name]}" \
        "$(awk -F'\t' -v n="$name" '$2 == n { a = a sep $3 " %"; b = b sep ($5 + $6 + $7 + $8 + $9); sep = ", " }
            END { printf "%s; non-2xx answers and socket errors: %s", a, b }' "$DEATH_TSV")"
done

echo
echo "L4: $(bench_count "$L4_BYTES") bytes echoed per connection, $L4_CONNS connections, $L4_SECONDS s (medians of $ROUNDS rounds):"
declare -A MIBS=() L4CPU=()
for name in direct copy splice; do
    MIBS[$name]=$(median "$L4_TSV" "$name" 3 %.1f)
    [[ -n ${MIBS[$name]} ]] || continue
    u=$(median "$L4_TSV" "$name" 6 %.1f) s=$(median "$L4_TSV" "$name" 7 %.1f)
    L4CPU[$name]=$(awk -v u="$u" -v s="$s" 'BEGIN { if (u != "") printf "%.0f", u + s }')
    printf '  %-18s %8s MiB/s   proxy CPU per MiB: user %6s µs, sys %6s µs; run %5s %%, wait %5s %%\n' "$(label "$name")" \
        "${MIBS[$name]}" "${u:--}" "${s:--}" "$(median "$L4_TSV" "$name" 8 %.1f)" "$(median "$L4_TSV" "$name" 9 %.1f)"
done
echo "  (MiB/s counts both directions: what the proxy relayed)"
for name in copy splice; do
    [[ -n ${MIBS[$name]} ]] || bench_note "ferrite $name relay: not measured: px-proxy --mode tcp --relay $name did not" \
        "start or xfer gave no result (see $OUT/proxy-$name.err, $OUT/xfer.err)"
done

if [[ -s $STRACE_TSV ]]; then
    echo
    echo "system calls of the proxy (strace -f -c, one run of $STRACE_SECONDS s; per request, per MiB for the relays):"
    for name in "${http_names[@]}" copy splice; do
        total=$(awk -F'\t' -v n="$name" '$1 == n && $2 == "total" { print $3 }' "$STRACE_TSV")
        [[ -n $total ]] || continue
        top=$(awk -F'\t' -v n="$name" '$1 == n && $2 != "total" { print $3 "\t" $2 }' "$STRACE_TSV" | sort -t$'\t' -k1,1gr |
            head -n 6 | awk -F'\t' '{ printf " %s %s", $2, $1 }')
        printf '  %-18s %7s:%s\n' "$(label "$name")" "$total" "$top"
    done
    if grep -q ':backends' "$STRACE_TSV"; then
        echo "  the three backends' system calls per request, behind each proxy:"
        for name in "${http_names[@]}"; do
            total=$(awk -F'\t' -v n="$name:backends" '$1 == n && $2 == "total" { print $3 }' "$STRACE_TSV")
            [[ -n $total ]] || continue
            top=$(awk -F'\t' -v n="$name:backends" '$1 == n && $2 != "total" { print $3 "\t" $2 }' "$STRACE_TSV" |
                sort -t$'\t' -k1,1gr | head -n 6 | awk -F'\t' '{ printf " %s %s", $2, $1 }')
            printf '  %-18s %7s:%s\n' "behind $(label "$name")" "$total" "$top"
        done
    fi
    while IFS=$'\t' read -r name share; do
        printf '  %-18s %5s %% of its CPU samples copying between user memory and sockets (perf, cpu-clock)\n' \
            "$(label "$name")" "$share"
    done <"$PERF_TSV"
fi
if [[ -n $SYSCOST ]]; then
    IFS=$'\t' read -r c_pid c_ctl c_pair c_recv <<<"$(bench_fields getpid_ns epoll_ctl_ns epoll_add_del_ns recv_eagain_ns <<<"$SYSCOST")"
    echo "  one system call here (syscost, wall time): getpid $c_pid ns, epoll_ctl MOD $c_ctl ns," \
        "epoll_ctl DEL + ADD $c_pair ns, recv -> EAGAIN $c_recv ns"
fi

# ---- verdicts -----------------------------------------------------------------------------------------------------
verdict() { # CONDITION-AWK TEXT: "met" or "missed", "not judged" when a value is missing
    if [[ $1 == "" ]]; then echo "not judged"; elif awk "BEGIN { exit !($1) }"; then echo "met"; else echo "missed"; fi
}
has_values() { local v; for v in "$@"; do [[ -n $v ]] || return 1; done; }
v_p99="not judged" v_rps="not judged" v_slow="not judged" v_death="not judged" v_splice="not judged"
if has_values "${AP99[ferrite]:-}" "${AP99[haproxy]:-}"; then
    v_p99="$(verdict "${AP99[ferrite]} <= ${AP99[haproxy]}") (added: ferrite ${AP99[ferrite]} µs, haproxy ${AP99[haproxy]} µs)"
fi
if has_values "${RPS[ferrite]:-}" "${RPS[haproxy]:-}"; then
    v_rps="$(verdict "${RPS[ferrite]} >= ${RPS[haproxy]}") ($(bench_ratio "${RPS[ferrite]}" "${RPS[haproxy]}") of haproxy's)"
fi
if has_values "${SHARE[ferrite]:-}" "${SHARE[ferrite-rr]:-}"; then
    v_slow="$(verdict "${SHARE[ferrite]} <= ${SHARE[ferrite-rr]} / 3") (${SHARE[ferrite]} % against ${SHARE[ferrite-rr]} % under round-robin)"
fi
if has_values "${OK[ferrite]:-}"; then
    v_death="$(verdict "${OK[ferrite]} >= 100") (worst round ${OK[ferrite]} %)"
fi
if has_values "${MIBS[splice]:-}" "${MIBS[copy]:-}"; then
    v_splice="$(verdict "${MIBS[splice]} >= 1.5 * ${MIBS[copy]}") ($(bench_ratio "${MIBS[splice]}" "${MIBS[copy]}") of copy's MiB/s)"
fi
echo
echo "targets (load average $(cut -d' ' -f1-3 /proc/loadavg) now, $BENCH_LOAD_START at the start, $(nproc) cores):"
echo "  added p99 ≤ haproxy's:                              $v_p99"
echo "  req/s ≥ haproxy's:                                  $v_rps"
echo "  slow backend's share ≤ 1/3 of round-robin's:        $v_slow"
echo "  100 % answered while one of three backends dies:    $v_death"
echo "  splice ≥ 1.5× copy for $(bench_count "$L4_BYTES")-byte transfers:       $v_splice"
for s in "${skipped[@]}"; do echo "  not run: $s"; done
echo "raw runs: $HTTP_TSV, $SLOW_TSV, $DEATH_TSV, $L4_TSV, $STRACE_TSV, $PERF_TSV"

# ---- summary for the documentation site ---------------------------------------------------------------------------
bench_summary_begin
on="HTTP/1.1 GET through one proxy to 3 backends, wrk $CONNS conns:"
# The chapter's own bar first, the floor last: the chart's target line is read from its first row.
ordered=()
for name in "${http_names[@]}"; do [[ $name == direct ]] || ordered+=("$name"); done
[[ " ${http_names[*]} " != *" direct "* ]] || ordered+=(direct)
peers_of() { [[ $1 != ferrite ]] || (IFS=,; echo "${peers[*]}"); }
for name in "${ordered[@]}"; do
    bench_summary_row "$on throughput" "$(label "$name")" "${RPS[$name]:-}" req/s higher "${RPS[haproxy]:-}" "$(peers_of "$name")"
done
for name in "${http_names[@]}"; do
    [[ $name != direct ]] || continue
    bench_summary_row "$on added p50 latency over direct" "$(label "$name")" "${AP50[$name]:-}" µs lower "" "$(peers_of "$name")"
done
for name in "${http_names[@]}"; do
    [[ $name != direct ]] || continue
    bench_summary_row "$on added p99 latency over direct" "$(label "$name")" "${AP99[$name]:-}" µs lower \
        "${AP99[haproxy]:-}" "$(peers_of "$name")"
done
for name in "${http_names[@]}"; do
    [[ $name != direct ]] || continue
    bench_summary_row "$on proxy CPU per request (user + system)" "$(label "$name")" "${CPU[$name]:-}" µs lower "" \
        "$(peers_of "$name")"
done
for name in "${http_names[@]}"; do
    [[ $name != direct ]] || continue
    bench_summary_row "$on proxy peak RSS (VmHWM)" "$(label "$name")" "$(median "$HTTP_TSV" "$name" 12)" kB lower "" \
        "$(peers_of "$name")"
done
slow_target=$(awk -v s="${SHARE[ferrite-rr]:-}" 'BEGIN { if (s != "") printf "%.2f", s / 3 }')
for name in "${slow_names[@]}"; do
    peer=$(peers_of "$name")
    [[ $name != ferrite ]] || peer="ferrite (round-robin)${peer:+,$peer}"
    bench_summary_row "one backend of 3 answering $DELAY_MS ms late — its share of the requests" "$(label "$name")" \
        "${SHARE[$name]:-}" % lower "$([[ $name != ferrite ]] || echo "$slow_target")" "$peer"
done
for name in "${death_names[@]}"; do
    bench_summary_row "one backend of 3 killed mid-run — requests answered 2xx, worst of $ROUNDS rounds" \
        "$(label "$name")" "${OK[$name]:-}" % higher 100 "$(peers_of "$name")"
done
l4="L4, $(bench_count "$L4_BYTES") bytes echoed per connection, $L4_CONNS conns:"
splice_target=$(awk -v c="${MIBS[copy]:-}" 'BEGIN { if (c != "") printf "%.1f", 1.5 * c }')
bench_summary_row "$l4 throughput (both directions)" "ferrite (splice)" "${MIBS[splice]:-}" MiB/s higher "$splice_target" "ferrite (copy),direct"
bench_summary_row "$l4 throughput (both directions)" "ferrite (copy)" "${MIBS[copy]:-}" MiB/s higher "" "direct"
bench_summary_row "$l4 throughput (both directions)" direct "${MIBS[direct]:-}" MiB/s higher "" ""
bench_summary_row "$l4 proxy CPU per MiB (user + system)" "ferrite (splice)" "${L4CPU[splice]:-}" µs lower "" "ferrite (copy)"
bench_summary_row "$l4 proxy CPU per MiB (user + system)" "ferrite (copy)" "${L4CPU[copy]:-}" µs lower "" ""
pinning=${PROXY_CPU:+; proxies pinned to CPU 0, wrk, xfer and the backends to CPU 1}
bench_summary_meta "chapter 08: px-proxy (http, p2c) against HAProxy and nginx (one worker each) in front of 3 local" \
    "backends, wrk -c$CONNS; a ${DELAY_MS} ms backend; a backend killed mid-run; L4 splice against copy;" \
    "IMPL=$IMPL; medians of $ROUNDS interleaved rounds of $RUN_SECONDS s$pinning"
bench_record ROUNDS RUN_SECONDS CONNS BODY DELAY_MS DEATH_SECONDS L4_BYTES L4_CONNS L4_SECONDS STRACE_SECONDS PIN
