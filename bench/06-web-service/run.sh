#!/usr/bin/env bash
# Chapter 06 benchmark: the chapter's web service against the study's design written with hyper, and nginx.
#
# Builds everything into $BUILD/bench/06-web-service/ (never into the source tree): the chapter's ws-service from
# $IMPL with mk/chapter.mk (VARIANT=plain: gcc -O2, no sanitizer), and the study's service, hyper-service/, with
# cargo, offline, from Debian's crate sources (/usr/share/cargo/registry: librust-hyper-dev,
# librust-tokio-postgres-dev). nginx serves a fixed body of the same size from a configuration written here. A
# peer that cannot be built or started is reported with the reason and the rest still runs.
#
# The database: a throwaway PostgreSQL (mk/pgtmp.sh) in $OUT/pg, reached on its Unix socket, with the items table
# of the chapter's tests filled with KEYS rows of BODY bytes. Both services run the same three statements.
#
# Each round starts the three servers, then runs every workload on each of them in turn (ferrite, hyper, nginx,
# then the next workload), so that machine noise hits every server alike; medians of REPS rounds:
#   - GET, cache hit: one hot key (primed before), wrk closed loop, CONNS connections, RUN_SECONDS;
#   - the same request offered at fixed rates (RATES, req/s in all), h2load open loop (--h1, H2_CLIENTS clients
#     at --rps each, WARMUP unmeasured first), p50/p99 from its per-request log;
#   - GET, cache miss: wrk, every request a key of its own (load.lua), so each one goes to the database;
#   - PUT: wrk, a body of BODY bytes to a key of its own per request (an upsert, a commit with fsync each).
# nginx answers the cache-hit requests only: it is the floor of an HTTP/1.1 answer from a fixed buffer.
# Then the peak RSS (VmHWM) of each server over its round. Then, with the round's servers stopped, the stampede:
# a fresh server per service, the items table locked by another session (LOCK TABLE ... ACCESS EXCLUSIVE), BURST
# connections send GET of one key not in the cache, and once the service has counted BURST misses the lock is
# released. Queries counted twice: by the service (/metrics, ws_db_queries_total{kind="get"}) and by PostgreSQL
# (pg_stat_user_tables: seq_scan + idx_scan of items, read once the service has stopped and its sessions have
# flushed their statistics by ending).
#
# Pinning (PIN=1): every server and PostgreSQL (the postmaster, its processes, and so every session it forks) on
# CPU 0, wrk and h2load on CPU 1. Each service runs WORKERS workers: ws-service --workers, tokio's worker threads,
# nginx's worker_processes.
#
# Environment:
#   IMPL=solutions|chapters|<dir>   whose sources to build the chapter's service from (default: solutions)
#   REPS=3  RUN_SECONDS=2  WARMUP=0.5   rounds, measured seconds per run, unmeasured start of an h2load run
#   RATES="2000 6000"  H2_CLIENTS=20    offered loads of the fixed-rate runs, and h2load's connections
#   CONNS=64                        wrk's connections (one wrk thread)
#   WORKERS=1  POOL=4  CACHE_MB=16  the services' workers, database connections, ws-service's cache budget
#   KEYS=100000  BODY=128           rows in the items table, bytes per body
#   BURST=1000                      concurrent misses on one key (0 skips the stampede)
#   PIN=1                           0: no taskset
#   CC=gcc BUILD=build CARGO=cargo
#   RECORD=0                        leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=06-web-service
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-3}
SECS=${RUN_SECONDS:-2}
WARMUP=${WARMUP:-0.5}
RATES=${RATES:-2000 6000}
H2_CLIENTS=${H2_CLIENTS:-20}
CONNS=${CONNS:-64}
WORKERS=${WORKERS:-1}
POOL=${POOL:-4}
CACHE_MB=${CACHE_MB:-16}
KEYS=${KEYS:-100000}
BODY=${BODY:-128}
BURST=${BURST:-1000}
PIN=${PIN:-1}
read -ra RATE_LIST <<<"$RATES"
WARMUP_MS=$(awk -v w="$WARMUP" 'BEGIN { printf "%d", w * 1000 }') # h2load takes no fraction of a second

bench_positive_ints REPS SECS H2_CLIENTS CONNS WORKERS POOL CACHE_MB KEYS BODY
for r in "${RATE_LIST[@]}"; do RATE=$r bench_positive_ints RATE; done
[[ $BURST =~ ^[0-9]+$ ]] || { echo "bench: BURST must be a number, not '$BURST'" >&2; exit 2; }
((KEYS > 3000 + BURST)) || { echo "bench: KEYS must be above 3000 + BURST" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
PGDIR=$OUT/pg

for tool in wrk:wrk h2load:nghttp2-client psql:postgresql-client curl:curl; do
    command -v "${tool%%:*}" >/dev/null ||
        { echo "bench: ${tool%%:*} is not installed (Debian package: ${tool#*:})" >&2; exit 1; }
done

# Every server, client and the database started here are stopped on the way out, whatever happens.
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}" ${LOCKER_PID:-}; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}" ${LOCKER_PID:-}; do wait "$p" 2>/dev/null || true; done
    if [[ -n ${PG_WATCH_FD:-} ]]; then exec {PG_WATCH_FD}>&-; fi
    mk/pgtmp.sh stop "$PGDIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A thousand connections need a thousand descriptors in the servers and in h2load.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < BURST + 200)); then
    echo "bench: the descriptor limit ($(ulimit -n)) is too low for a burst of $BURST; using $(($(ulimit -n) - 200))"
    BURST=$(($(ulimit -n) - 200))
fi

# ---- build ------------------------------------------------------------------------------------------------------
names=() skipped=()
echo "building the chapter's service ($IMPL, $CC, VARIANT=plain: -O2) ..."
chapter_make() { make --no-print-directory -s -f mk/chapter.mk CH="$CH" IMPL="$IMPL" CC="$CC" BUILD="$BUILD" VARIANT=plain "$@"; }
if ! chapter_make ws-service >"$OUT/ws-service-build.log" 2>&1; then
    tail -n 20 "$OUT/ws-service-build.log" >&2
    echo "bench: the chapter's service does not build (log: $OUT/ws-service-build.log)" >&2
    exit 1
fi
WS_SERVICE=$ROOT/$(chapter_make print-WS_SERVICE)
names+=(ferrite)

echo "building the study's service with hyper (cargo, offline, Debian's crate sources) ..."
CARGO=${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}
if bench_cargo_build hyper-service "$SRC/hyper-service" "librust-hyper-dev librust-tokio-postgres-dev" \
    'hyper-0.14.*' 'tokio-postgres-0.7.*'; then
    names+=(hyper)
else
    skipped+=("hyper: $BENCH_CARGO_WHY")
fi
if command -v nginx >/dev/null; then
    names+=(nginx)
else
    skipped+=("nginx: not installed (apt-get install nginx-light)")
fi
for s in "${skipped[@]}"; do bench_note "${s%%:*}: not measured:${s#*:}"; done
has() { [[ " ${names[*]} " == *" $1 "* ]]; }
if has hyper; then
    bench_meta peer "hyper: crates hyper $(bench_crate_version "$OUT/hyper-service/Cargo.lock" hyper)," \
        "tokio $(bench_crate_version "$OUT/hyper-service/Cargo.lock" tokio)," \
        "tokio-postgres $(bench_crate_version "$OUT/hyper-service/Cargo.lock" tokio-postgres) (Debian's crate sources)," \
        "$(bench_version "$CARGO" --version); the study's design: RwLock<HashMap> cache, one Mutex around the pool"
fi
if has nginx; then bench_meta peer "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'), a fixed body from 'return 200'"; fi
bench_meta tool "$(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), $(h2load --version | head -n1)"

SERVER_CPU=() CLIENT_CPU=()
if [[ $PIN == 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1)
fi

# ---- the database -------------------------------------------------------------------------------------------------
echo "starting PostgreSQL in $PGDIR and filling items with $KEYS rows of $BODY bytes ..."
# --watch: the cluster also stops if this script dies without its trap, when the pipe's last writer is gone.
rm -f "$OUT/pg.watch" && mkfifo "$OUT/pg.watch"
PGTMP_TEMPLATES=$ROOT/$BUILD/pgtmp mk/pgtmp.sh start "$PGDIR" --watch <"$OUT/pg.watch" >"$OUT/pg.conninfo" &
pg_start=$!
exec {PG_WATCH_FD}>"$OUT/pg.watch"
wait "$pg_start" || { echo "bench: PostgreSQL did not start (see above)" >&2; exit 1; }
DB=$(cat "$OUT/pg.conninfo")
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sql "CREATE TABLE items (id bigint PRIMARY KEY, body bytea NOT NULL, version bigint NOT NULL);
     INSERT INTO items SELECT g, convert_to(lpad(g::text, $BODY, 'x'), 'UTF8'), 1 FROM generate_series(1, $KEYS) g;
     ANALYZE items;"
PG_PID=$(mk/pgtmp.sh status "$PGDIR" | sed -n 's/^running (pid \([0-9]*\)).*/\1/p')
if ((${#SERVER_CPU[@]})); then
    # The servers' database work runs on their core: sessions are forked from the postmaster and keep its mask.
    for p in "$PG_PID" $(ps -o pid= --ppid "$PG_PID"); do taskset -a -p -c 0 "$p" >/dev/null 2>&1 || true; done
fi
bench_meta peer "PostgreSQL: $(sql 'SHOW server_version'), mk/pgtmp.sh's cluster (fsync and synchronous_commit on)"

# ---- servers ------------------------------------------------------------------------------------------------------
# The keys: 1 is the hot one; the misses and the PUTs spread over 2 .. SPREAD + 1; the stampede takes keys from the
# top, which no other run reads.
HOT_KEY=1
SPREAD=$((KEYS - 2000 - BURST))
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# nginx's configuration: one worker per server core, the loopback port given, everything in $OUT/nginx.
nginx_config() {
    local body
    body=$(printf '%*s' "$BODY" '' | tr ' ' x)
    mkdir -p "$OUT/nginx"
    cat >"$OUT/nginx/nginx.conf" <<EOF
# Written by bench/06-web-service/run.sh: a fixed body of $BODY bytes for every path.
worker_processes $WORKERS;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $OUT/nginx/body;
    proxy_temp_path $OUT/nginx/proxy;
    fastcgi_temp_path $OUT/nginx/fastcgi;
    uwsgi_temp_path $OUT/nginx/uwsgi;
    scgi_temp_path $OUT/nginx/scgi;
    server {
        listen 127.0.0.1:$1;
        location / {
            default_type application/octet-stream;
            return 200 "$body";
        }
    }
}
EOF
}

# start_server NAME: starts it, sets PID[NAME] and PORT[NAME]; returns 1 (with a message) if it does not come up.
declare -A PID=() PORT=()
start_server() {
    local name=$1 out=$OUT/server-$1.out port=
    rm -f "$out"
    case $name in
    ferrite)
        "${SERVER_CPU[@]}" "$WS_SERVICE" --db "$DB" --port 0 --workers "$WORKERS" --pool "$POOL" \
            --cache-mb "$CACHE_MB" >"$out" 2>"$OUT/server-$name.err" &
        ;;
    hyper)
        "${SERVER_CPU[@]}" "$OUT/hyper-service/target/release/hyper-service" --db "$DB" --port 0 \
            --workers "$WORKERS" --pool "$POOL" >"$out" 2>"$OUT/server-$name.err" &
        ;;
    nginx)
        port=$(free_port)
        nginx_config "$port"
        "${SERVER_CPU[@]}" nginx -p "$OUT/nginx/" -e "$OUT/nginx/error.log" -c "$OUT/nginx/nginx.conf" \
            >"$out" 2>"$OUT/server-$name.err" &
        ;;
    esac
    PID[$name]=$!
    PIDS+=("${PID[$name]}")
    for _ in $(seq 250); do
        [[ -n $port ]] || port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out" 2>/dev/null)
        if [[ -n $port ]] && curl -sf -o /dev/null "http://127.0.0.1:$port/items/$HOT_KEY"; then
            PORT[$name]=$port # the hot key is now in the cache
            return 0
        fi
        kill -0 "${PID[$name]}" 2>/dev/null || break
        sleep 0.02
    done
    echo "bench: $name did not start: $(cat "$OUT/server-$name.err" "$OUT/nginx/error.log" 2>/dev/null | tail -n 3)" >&2
    stop_server "$name"
    return 1
}
stop_server() {
    kill "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" 2>/dev/null || true
    forget "${PID[$1]}"
    PORT[$1]=
}
# forget PID: a process that has ended leaves PIDS, so that the trap never signals a number reused since.
forget() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# A server's processes: itself and its children (nginx's workers).
# shellcheck disable=SC2046  # one word per child
tree() { echo "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); }
# sched PID...: one line per thread of the processes named, "tid cpu_ns wait_ns" from /proc/PID/task/TID/schedstat:
# the time it ran (user and system) and the time it was runnable but waited for a CPU. One awk for them all.
sched() {
    local p files=()
    for p in "$@"; do files+=(/proc/"$p"/task/*/schedstat); done
    awk '{ n = split(FILENAME, part, "/"); print part[n - 1], $1, $2 }' "${files[@]}" 2>/dev/null || true
}
# sched_delta BEFORE AFTER: "cpu_us wait_us" over the threads present in both (one that ended in between, such as
# an autovacuum worker, is left out rather than counted negative).
sched_delta() {
    awk 'NR == FNR { c[$1] = $2; w[$1] = $3; next }
         ($1 in c) { tc += $2 - c[$1]; tw += $3 - w[$1] } END { printf "%d %d\n", tc / 1e3, tw / 1e3 }' \
        <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}
# status_kb FIELD PID...: the sum of a /proc/PID/status field (VmHWM, RssAnon, RssFile) over the processes.
status_kb() {
    local field=$1 p files=()
    shift
    for p in "$@"; do files+=("/proc/$p/status"); done
    awk -v f="$field:" '$1 == f { t += $2 } END { print t + 0 }' "${files[@]}" 2>/dev/null || true
}
metric() { curl -sf "http://127.0.0.1:${PORT[$1]}/metrics" | awk -v k="$2" '$1 == k { print $2 }'; }

# ---- runs ---------------------------------------------------------------------------------------------------------
# run_wrk and run_h2load: one run against one server; each prints a line "RUN req_per_s=... p50_us=... p99_us=...
# requests=... errors=... non2xx=..." (load.lua's), or nothing when the load generator failed.
run_wrk() { # NAME MODE FIRST
    local url=http://127.0.0.1:${PORT[$1]}/
    [[ $2 != hit ]] || url+=items/$HOT_KEY
    WS_MODE=$2 WS_LO=2 WS_KEYS=$SPREAD WS_FIRST=$3 WS_BODY=$BODY WS_THREADS=1 \
        "${CLIENT_CPU[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 10s -s "$SRC/load.lua" "$url" 2>&1 |
        grep '^RUN' || true
}
run_h2load() { # NAME RATE
    local log=$OUT/h2load.log rps
    rm -f "$log"
    rps=$(awk -v r="$2" -v c="$H2_CLIENTS" 'BEGIN { printf "%.3f", r / c }')
    "${CLIENT_CPU[@]}" h2load --h1 -c "$H2_CLIENTS" --rps "$rps" -D "$SECS" --warm-up-time "$WARMUP_MS"ms \
        --log-file "$log" "http://127.0.0.1:${PORT[$1]}/items/$HOT_KEY" >"$OUT/h2load.out" 2>&1 || true
    [[ -s $log ]] || return 0
    # Columns: start (µs since the epoch), status, µs to the end of the response. Nearest-rank percentiles.
    sort -n -k3,3 "$log" | awk -v secs="$SECS" '{ t[NR] = $3; if ($2 < 200 || $2 > 299) bad++ }
        END { if (NR) printf "RUN req_per_s=%.0f p50_us=%d p99_us=%d requests=%d errors=0 non2xx=%d\n", NR / secs,
              t[int((NR * 50 + 99) / 100)], t[int((NR * 99 + 99) / 100)], NR, bad }'
}
measure() { # NAME WORKLOAD: runs it, prints the raw row's fields
    local name=$1 w=$2 procs db_procs line srv0 db0 t0 cpu wait db _ n elapsed_us
    read -ra procs <<<"$(tree "${PID[$name]}")"
    read -ra db_procs <<<"$(tree "$PG_PID")"
    srv0=$(sched "${procs[@]}") db0=$(sched "${db_procs[@]}") t0=$(date +%s%N)
    case $w in
    hit) line=$(run_wrk "$name" hit 0) ;;
    miss) line=$(run_wrk "$name" miss $((ROUND_OFFSET % SPREAD))) ;;
    put) line=$(run_wrk "$name" put $(((ROUND_OFFSET + SPREAD / 2) % SPREAD))) ;;
    rate*) line=$(run_h2load "$name" "${w#rate}") ;;
    esac
    elapsed_us=$((($(date +%s%N) - t0) / 1000))
    read -r cpu wait < <(sched_delta "$srv0" "$(sched "${procs[@]}")")
    read -r db _ < <(sched_delta "$db0" "$(sched "${db_procs[@]}")")
    [[ -n $line ]] || return 0
    read -r n < <(bench_fields requests <<<"$line")
    # The server's and the database's CPU time per request, and the share of the run the server's threads were
    # ready to run but waiting for the CPU (other processes on it). h2load counts the measured requests only, while
    # the CPU time covers its warm-up too, at the same rate: the count is scaled to the whole run.
    [[ $w != rate* ]] || n=$(awk -v n="$n" -v s="$SECS" -v w="$WARMUP" 'BEGIN { printf "%.0f", n * (s + w) / s }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$(bench_fields req_per_s p50_us p99_us <<<"$line")" \
        "$(($(bench_fields errors <<<"$line") + $(bench_fields non2xx <<<"$line")))" \
        "$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.1f", n ? c / n : 0 }')" \
        "$(awk -v c="$db" -v n="$n" 'BEGIN { printf "%.1f", n ? c / n : 0 }')" \
        "$(awk -v q="$wait" -v t="$elapsed_us" 'BEGIN { printf "%.1f", t ? 100 * q / t : 0 }')"
}

# db_scans: every scan of items PostgreSQL has counted (a GET by id is one index or sequential scan).
db_scans() { sql "SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'items'"; }
# wait_sessions_gone: until no session but this query's own is connected (the ended ones flushed their statistics).
wait_sessions_gone() {
    for _ in $(seq 200); do
        (($(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()") == 0)) &&
            return 0
        sleep 0.05
    done
    echo "bench: sessions of a stopped server are still connected; the database's count may be short" >&2
}

# stampede NAME KEY: one burst on a fresh server; sets BURST_ROW to "waiting answered service_queries db_queries",
# or to nothing when the server did not start. Runs in this shell (not in $(...)), so that the trap knows its
# processes.
stampede() {
    local name=$1 key=$2 base waiting=0 h2 answered q0 q1 m0 fd
    BURST_ROW=
    wait_sessions_gone
    base=$(db_scans)
    start_server "$name" || return 0
    # The start made q0 queries already (the hot key); the database counts them too, when the sessions end.
    q0=$(metric "$name" 'ws_db_queries_total{kind="get"}') m0=$(metric "$name" ws_cache_misses_total)
    # Another session holds the table: the service's query of the key waits in PostgreSQL until it commits.
    coproc LOCKER { psql -X -q -At -d "$DB" >/dev/null; }
    fd=${LOCKER[1]}
    echo "BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE;" >&"$fd"
    for _ in $(seq 200); do
        (($(sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'items' AND l.mode = 'AccessExclusiveLock' AND l.granted") > 0)) && break
        sleep 0.02
    done
    "${CLIENT_CPU[@]}" h2load --h1 -c "$BURST" -n "$BURST" "http://127.0.0.1:${PORT[$name]}/items/$key" \
        >"$OUT/burst-$name.out" 2>&1 &
    h2=$!
    PIDS+=("$h2")
    # Every request has reached the service and missed (the leader, and the others waiting) before the release.
    for _ in $(seq 600); do
        waiting=$(($(metric "$name" ws_cache_misses_total) - m0))
        ((waiting >= BURST)) && break
        kill -0 "$h2" 2>/dev/null || break
        sleep 0.05
    done
    echo "COMMIT;" >&"$fd"
    exec {fd}>&-
    wait "$LOCKER_PID" 2>/dev/null || true
    LOCKER_PID=
    wait "$h2" 2>/dev/null || true
    forget "$h2"
    answered=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$OUT/burst-$name.out")
    q1=$(metric "$name" 'ws_db_queries_total{kind="get"}')
    stop_server "$name"
    wait_sessions_gone
    BURST_ROW=$(printf '%s\t%s\t%s\t%s' "$waiting" "${answered:-0}" "$((q1 - q0))" "$(($(db_scans) - base - q0))")
}

TSV=$OUT/results-$IMPL_TAG.tsv RSS_TSV=$OUT/rss-$IMPL_TAG.tsv BURST_TSV=$OUT/burst-$IMPL_TAG.tsv
: >"$TSV"
: >"$RSS_TSV"
: >"$BURST_TSV"
WORKLOADS=(hit)
for r in "${RATE_LIST[@]}"; do WORKLOADS+=("rate$r"); done
WORKLOADS+=(miss put)
echo "running $REPS rounds of: ${names[*]} x {${WORKLOADS[*]}}, ${SECS} s each${SERVER_CPU:+ (servers and PostgreSQL on CPU 0, clients on CPU 1)}"
for ((round = 1; round <= REPS; round++)); do
    # Each round reads keys of its own, so that no run finds the rows of an earlier one in a cache.
    ROUND_OFFSET=$(((round - 1) * 25000))
    up=()
    for name in "${names[@]}"; do
        # nginx's port is picked free, then bound: another program may take it in between, so it gets a second try.
        if start_server "$name" || { [[ $name == nginx ]] && start_server "$name"; }; then up+=("$name"); fi
    done
    for w in "${WORKLOADS[@]}"; do
        for name in "${up[@]}"; do
            [[ $name != nginx || $w == hit || $w == rate* ]] || continue
            row=$(measure "$name" "$w")
            if [[ -z $row ]]; then
                echo "bench: $name gave no result for $w" >&2
                continue
            fi
            printf '%s\t%s\t%s\t%s\n' "$round" "$w" "$name" "$row" >>"$TSV"
        done
    done
    for name in "${up[@]}"; do
        read -ra procs <<<"$(tree "${PID[$name]}")"
        printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$(status_kb VmHWM "${procs[@]}")" \
            "$(status_kb RssAnon "${procs[@]}")" "$(status_kb RssFile "${procs[@]}")" >>"$RSS_TSV"
        stop_server "$name"
    done
    if ((BURST > 0)); then
        BURST_ROWS_DONE=
        for name in ferrite hyper; do
            has "$name" || continue
            # A key no run has read, so that it is in no cache.
            stampede "$name" $((KEYS - round * 2 - ${#BURST_ROWS_DONE}))
            [[ -z $BURST_ROW ]] || printf '%s\t%s\t%s\n' "$round" "$name" "$BURST_ROW" >>"$BURST_TSV"
            BURST_ROWS_DONE+=x
        done
    fi
    printf '  round %d/%d done\n' "$round" "$REPS"
done

# ---- report -------------------------------------------------------------------------------------------------------
# Every median at once (one awk per file, as a machine this busy makes each process slow to start), kept in MED:
#   median WORKLOAD NAME COLUMN   results: 4 req/s, 5 p50, 6 p99, 7 errors, 8 server CPU µs/req, 9 db CPU µs/req,
#                                 10 % of the run the server waited for a CPU (8 to 10 with one decimal)
#   total WORKLOAD NAME COLUMN    the sum over the runs instead
#   rss_median NAME COLUMN        3 VmHWM, 4 anonymous, 5 file-backed (kB)
#   burst_median NAME COLUMN      3 waiting, 4 answered, 5 service queries, 6 database queries
# Empty when there is no result, so that a missing contender shows as a missing value, never as 0.
declare -A MED=()
load_medians() { # TAG FILE LAST_KEY_COLUMN [FIRST_DECIMAL_COLUMN]
    local key value
    while IFS=$'\t' read -r key value; do MED[$1|$key]=$value; done < <(awk -F'\t' -v last="$3" -v dec="${4:-0}" '
        { k = $2; for (i = 3; i <= last; i++) k = k "|" $i
          for (c = last + 1; c <= NF; c++) { key = k "|" c; n = ++count[key]; v[key, n] = $c + 0; sum[key] += $c } }
        END { for (key in count) {
                  n = count[key]
                  for (i = 2; i <= n; i++) { x = v[key, i]; for (j = i - 1; j >= 1 && v[key, j] > x; j--) v[key, j + 1] = v[key, j]; v[key, j + 1] = x }
                  m = n % 2 ? v[key, (n + 1) / 2] : (v[key, n / 2] + v[key, n / 2 + 1]) / 2
                  split(key, part, "|"); fmt = dec && part[last] + 0 >= dec ? "%.1f" : "%.0f"
                  printf "%s\t" fmt "\n", key, m; printf "sum|%s\t" fmt "\n", key, sum[key] } }' "$2")
}
load_medians r "$TSV" 3 8
load_medians m "$RSS_TSV" 2
load_medians b "$BURST_TSV" 2
median() { echo "${MED[r|$1|$2|$3]:-}"; }
total() { echo "${MED[r|sum|$1|$2|$3]:-0}"; }
rss_median() { echo "${MED[m|$1|$2]:-}"; }
burst_median() { echo "${MED[b|$1|$2]:-}"; }
label() {
    case $1 in
    hit) echo "GET, cache hit, wrk $CONNS connections" ;;
    miss) echo "GET, cache miss, wrk $CONNS connections" ;;
    put) echo "PUT, wrk $CONNS connections" ;;
    rate*) echo "GET, cache hit, ${1#rate} req/s offered, h2load $H2_CLIENTS connections" ;;
    esac
}

echo
echo "chapter 06: web service, cache and PostgreSQL pool; IMPL=$IMPL; medians of $REPS interleaved runs of ${SECS} s"
echo "$(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')${SERVER_CPU:+; servers and PostgreSQL pinned to CPU 0, clients to CPU 1};" \
    "$WORKERS worker(s), pool $POOL, body $BODY B"
echo "req/s and latency are what wrk (closed loop) or h2load (fixed rate) saw; CPU µs/req is the server's own CPU"
echo "time per request (user + system, all threads), db µs/req the PostgreSQL processes' over the same run, and"
echo "CPU wait % the share of the run the server's threads were ready to run but waited for the CPU (schedstat)."
row() { printf '  %-44s %-11s %10s %10s %10s %9s %9s\n' "$@"; }
echo
row workload "" ferrite hyper nginx f/hyper f/nginx
verdict_tput=met verdict_p99=met details=()
for w in "${WORKLOADS[@]}"; do
    declare -A m=() p50=() p99=() cpu=() dbc=() qw=() bad=()
    for p in ferrite hyper nginx; do
        m[$p]=$(median "$w" $p 4) p50[$p]=$(median "$w" $p 5) p99[$p]=$(median "$w" $p 6)
        cpu[$p]=$(median "$w" $p 8) dbc[$p]=$(median "$w" $p 9) qw[$p]=$(median "$w" $p 10)
        bad[$p]=$([[ -z ${m[$p]} ]] || total "$w" $p 7)
    done
    row "$(label "$w")" req/s "${m[ferrite]:--}" "${m[hyper]:--}" "${m[nginx]:--}" \
        "$(bench_ratio "${m[ferrite]}" "${m[hyper]}")" "$(bench_ratio "${m[ferrite]}" "${m[nginx]}")"
    row "" "p50 µs" "${p50[ferrite]:--}" "${p50[hyper]:--}" "${p50[nginx]:--}" \
        "$(bench_ratio "${p50[ferrite]}" "${p50[hyper]}")" "$(bench_ratio "${p50[ferrite]}" "${p50[nginx]}")"
    row "" "p99 µs" "${p99[ferrite]:--}" "${p99[hyper]:--}" "${p99[nginx]:--}" \
        "$(bench_ratio "${p99[ferrite]}" "${p99[hyper]}")" "$(bench_ratio "${p99[ferrite]}" "${p99[nginx]}")"
    row "" "CPU µs/req" "${cpu[ferrite]:--}" "${cpu[hyper]:--}" "${cpu[nginx]:--}" \
        "$(bench_ratio "${cpu[ferrite]}" "${cpu[hyper]}")" "$(bench_ratio "${cpu[ferrite]}" "${cpu[nginx]}")"
    row "" "CPU wait %" "${qw[ferrite]:--}" "${qw[hyper]:--}" "${qw[nginx]:--}" "" ""
    if [[ $w == miss || $w == put ]]; then
        row "" "db µs/req" "${dbc[ferrite]:--}" "${dbc[hyper]:--}" "-" "$(bench_ratio "${dbc[ferrite]}" "${dbc[hyper]}")" ""
    fi
    row "" "errors" "${bad[ferrite]:--}" "${bad[hyper]:--}" "${bad[nginx]:--}" "" ""
    if [[ -n ${m[ferrite]} && -n ${m[hyper]} ]]; then
        if [[ $w == hit ]] && awk -v a="${m[ferrite]}" -v b="${m[hyper]}" -v n="${m[nginx]}" \
            'BEGIN { exit !(a < 1.5 * b || (n != "" && a < n)) }'; then
            verdict_tput=missed
            details+=("req/s, $(label hit): $(bench_ratio "${m[ferrite]}" "${m[hyper]}") of hyper's, $(bench_ratio "${m[ferrite]}" "${m[nginx]}") of nginx's")
        fi
        if ((p99[ferrite] > p99[hyper])); then
            verdict_p99=missed
            details+=("p99, $(label "$w"): ${p99[ferrite]} µs > hyper's ${p99[hyper]} µs")
        fi
    elif [[ $w == hit ]]; then
        verdict_tput="not judged (no result of ferrite or hyper)" verdict_p99=$verdict_tput
    fi
done
echo "  (errors: transport errors and answers other than 2xx, summed over the runs)"

echo
printf '  %-10s %14s %14s %14s\n' "memory" "peak RSS" "anonymous" "file-backed"
for p in ferrite hyper nginx; do
    [[ -n $(rss_median $p 3) ]] || continue
    printf '  %-10s %11s kB %11s kB %11s kB\n' "$p" "$(rss_median $p 3)" "$(rss_median $p 4)" "$(rss_median $p 5)"
done
echo "  (VmHWM over the round, and the RSS at its end split into anonymous memory and mapped files such as"
echo "  shared libraries; nginx: master and worker together)"
verdict_rss="not judged"
rss_f=$(rss_median ferrite 3) rss_h=$(rss_median hyper 3)
if [[ -n $rss_f && -n $rss_h ]]; then
    verdict_rss=met
    ((rss_f > rss_h)) && verdict_rss=missed
    verdict_rss="$verdict_rss (ferrite $(bench_ratio "$rss_f" "$rss_h") of hyper's peak RSS)"
fi

verdict_burst="not judged"
if [[ -s $BURST_TSV ]]; then
    echo
    printf '  %-10s %9s %9s %16s %16s\n' "burst ×$BURST" waiting answered "service queries" "database queries"
    while IFS=$'\t' read -r rd p wt an sq dq; do
        printf '  %-10s %9s %9s %16s %16s\n' "$p (r$rd)" "$wt" "$an" "$sq" "$dq"
    done <"$BURST_TSV"
    echo "  (waiting: misses the service had counted when the lock was released; database queries: scans of items)"
    worst=$(awk -F'\t' '$2 == "ferrite" { if ($6 > w) w = $6 } END { print w + 0 }' "$BURST_TSV")
    if [[ -n $(burst_median ferrite 6) ]]; then
        verdict_burst=met
        ((worst > 1)) && verdict_burst="missed ($worst queries in the worst round)"
        [[ -z $(burst_median hyper 6) ]] || verdict_burst="$verdict_burst (hyper: $(burst_median hyper 6))"
    fi
fi

echo
echo "targets (against hyper and nginx, same run):"
echo "  cache-hit req/s ≥ 1.5× hyper's and ≥ nginx's:   $verdict_tput"
echo "  p99 ≤ hyper's at every load:                   $verdict_p99"
echo "  1 database query per burst of $BURST misses:      $verdict_burst"
echo "  peak RSS ≤ hyper's:                            $verdict_rss"
for d in "${details[@]}"; do echo "    missed: $d"; done
for s in "${skipped[@]}"; do echo "  not run: $s"; done
echo "raw runs: $TSV, $RSS_TSV, $BURST_TSV"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
# Every request chart starts with the same words, so that docs/plots.py puts the configurations of one measure
# (throughput, p50, p99) in one panel, titled by those words, each configuration labelled by the rest.
on="HTTP/1.1 on /items/:id:"
# peers PROG WORKLOAD: the contenders a ferrite bar is compared with (none for the peers themselves).
peers() {
    [[ $1 == ferrite ]] || return 0
    if [[ -n $(median "$2" nginx 4) ]]; then echo "hyper,nginx"; else echo "hyper"; fi
}
for w in "${WORKLOADS[@]}"; do
    kind="closed loop"
    [[ $w != rate* ]] || kind="fixed rate"
    tput_target=
    if [[ $w == hit ]]; then
        tput_target=$(awk -v h="$(median hit hyper 4)" -v n="$(median hit nginx 4)" \
            'BEGIN { t = 1.5 * h; if (n > t) t = n; if (h != "") printf "%.0f", t }')
    fi
    if [[ $w != rate* ]]; then
        for p in ferrite hyper nginx; do
            bench_summary_row "$on $(label "$w") — throughput" $p "$(median "$w" $p 4)" req/s higher "$tput_target" \
                "$(peers $p "$w")"
        done
    fi
    for p in ferrite hyper nginx; do
        bench_summary_row "$on $(label "$w") — p50 latency, $kind" $p "$(median "$w" $p 5)" µs lower "" "$(peers $p "$w")"
    done
    for p in ferrite hyper nginx; do
        bench_summary_row "$on $(label "$w") — p99 latency, $kind" $p "$(median "$w" $p 6)" µs lower \
            "$(median "$w" hyper 6)" "$(peers $p "$w")"
    done
done
for p in ferrite hyper; do
    bench_summary_row "$BURST concurrent GETs of one key not in the cache — database queries" $p \
        "$(burst_median $p 6)" queries lower 1 "$([[ $p != ferrite ]] || echo hyper)"
done
for p in ferrite hyper nginx; do
    bench_summary_row "server memory over a round of every workload — peak RSS (VmHWM)" $p "$(rss_median $p 3)" kB \
        lower "$rss_h" "$([[ $p != ferrite ]] || echo hyper,nginx)"
done
pinning=${SERVER_CPU:+; servers and PostgreSQL pinned to CPU 0, clients to CPU 1}
bench_summary_meta "chapter 06: web service with a cache and a PostgreSQL pool, wrk and h2load over HTTP/1.1;" \
    "IMPL=$IMPL; medians of $REPS interleaved runs of ${SECS} s; $WORKERS worker(s), pool $POOL$pinning"
RUN_SECONDS=$SECS
bench_record REPS RUN_SECONDS WARMUP RATES H2_CLIENTS CONNS WORKERS POOL CACHE_MB KEYS BODY BURST PIN
