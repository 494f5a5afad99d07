#!/usr/bin/env bash
# Chapter 07 benchmark: the chapter's store against RocksDB, LevelDB, LMDB and SQLite, and its server against redis.
#
# Builds everything into $BUILD/bench/07-kv-store/ (never into the source tree): one program per engine from
# kvdrive.c (the workload) and an eng_*.c file (the engine behind kvdrive.h): the chapter's store from $IMPL's
# sources (chapter.conf's `sources` and `given`, -O2 -DNDEBUG), LMDB (liblmdb-dev), LevelDB (libleveldb-dev, its C
# API) and SQLite in WAL mode (libsqlite3-dev). RocksDB runs as itself: db_bench (rocksdb-tools). The chapter's
# server, kv-server, is built by mk/chapter.mk (VARIANT=plain: -O2, no sanitizer); redis-server runs from a
# configuration given on its command line. An engine or server that cannot be built or started is reported "not
# measured", with the reason, and the rest still runs.
#
# The workload is db_bench's: keys of 16 bytes, values of 100 bytes, keys drawn at random below N, one put per
# write, no compression (every engine is told so; the values are random bytes anyway). Each round runs, in an order
# that rotates from round to round so that machine noise hits every contender alike:
#   - fill + read: a fresh store written with N random puts without syncs (db_bench --sync=0; the chapter's store
#     KV_SYNC_NEVER; LevelDB sync off; LMDB MDB_NOSYNC; SQLite synchronous=OFF), then N random reads
#     (readrandom); then the store is closed and its files are measured;
#   - durable puts, 1 writer and WRITERS writers: a fresh store, every put acknowledged only once synced
#     (db_bench --sync=1; KV_SYNC_ALWAYS; LevelDB sync; LMDB's default; SQLite synchronous=FULL), DURABLE_SECONDS
#     each; LMDB and SQLite let one writer in at a time, so they run with one writer only;
#   - the servers: kv-server --sync always and redis-server --appendonly yes --appendfsync always, each in a fresh
#     folder on a loopback port, under redis-benchmark -c CLIENTS -P PIPELINE -t set,get (SERVER_REQUESTS each,
#     keys below N, 100-byte values); servers on CPU 0, redis-benchmark on CPU 1 (PIN=1).
# Medians of REPS rounds. Then, once, the syncs per acknowledged write: from the store's counters (kv_store_stats'
# log_syncs / writes) and RocksDB's (rocksdb.wal.synced / rocksdb.write.wal) in the rounds, and for everyone from a
# short separate run under `strace -f -c` counting fsync, fdatasync, sync_file_range and msync.
# Write amplification: bytes written / bytes the callers wrote (N x 116): the store's own count (disk_bytes /
# user_bytes) and, for the drivers, the bytes the process handed to write(2) from open to close (/proc/self/io
# wchar); RocksDB's from its statistics (WAL, flush and compaction bytes). Space amplification: the store's files
# after the close (du --apparent-size) over the live data (distinct keys x 116 bytes).
#
# Environment:
#   IMPL=solutions|chapters|<dir>   whose sources to build the chapter's store and server from (default: solutions)
#   REPS=3  N=200000                rounds; puts and reads of the fill + read runs, and the key space
#   DURABLE_SECONDS=5  WRITERS=50   length of each durable run; the concurrent writers of the second one
#   SERVER_REQUESTS=200000  CLIENTS=50  PIPELINE=16   redis-benchmark's -n, -c and -P
#   STRACE_SECONDS=2                length of each counted run (0 skips them)
#   PIN=1                           0: no taskset for the servers and redis-benchmark
#   CC=gcc BUILD=build
#   RECORD=0                        leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=07-kv-store
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-3}
N=${N:-200000}
DURABLE_SECONDS=${DURABLE_SECONDS:-5}
WRITERS=${WRITERS:-50}
SERVER_REQUESTS=${SERVER_REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
STRACE_SECONDS=${STRACE_SECONDS:-2}
PIN=${PIN:-1}
bench_positive_ints REPS N DURABLE_SECONDS WRITERS SERVER_REQUESTS CLIENTS PIPELINE
[[ $STRACE_SECONDS =~ ^[0-9]+$ ]] || { echo "bench: STRACE_SECONDS must be a number, not '$STRACE_SECONDS'" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
# The stores' folders: one per run, emptied before it and removed at the end.
WORK=$OUT/work
KEY_BYTES=16 VALUE_BYTES=100

# Every server, strace and client started here is stopped on the way out, whatever happens.
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# forget PID: a process that has ended leaves PIDS, so that the trap never signals a number reused since.
forget() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# fresh NAME: an empty folder for one run, printed.
fresh() {
    rm -rf "${WORK:?}/$1" && mkdir -p "$WORK/$1" && echo "$WORK/$1"
}

# ---- build --------------------------------------------------------------------------------------------------------
engines=() skipped=()
declare -A DRIVER=()
CFLAGS=(-std=c17 -Wall -Wextra -Werror -O2 -DNDEBUG)
# build_driver NAME LIBS...: kvdrive.c + eng_NAME.c against LIBS, into $OUT/kvdrive-NAME; 1 (and why) on failure.
build_driver() {
    local name=$1 log=$OUT/kvdrive-$1-build.log
    shift
    DRIVER[$name]=$OUT/kvdrive-$name
    # A second try after two seconds: a commit moves the chapter's folders away and back for a moment.
    if ! "$CC" "${CFLAGS[@]}" "$SRC/kvdrive.c" "$SRC/eng_$name.c" "$@" -pthread -o "${DRIVER[$name]}" >"$log" 2>&1 &&
        ! { sleep 2 && "$CC" "${CFLAGS[@]}" "$SRC/kvdrive.c" "$SRC/eng_$name.c" "$@" -pthread -o "${DRIVER[$name]}" \
            >"$log" 2>&1; }; then
        skipped+=("$name: the driver does not build: $(grep -m1 -E 'error' "$log" || tail -n1 "$log") (log: $log)")
        return 1
    fi
}

echo "building the chapter's store ($IMPL, $CC -O2 -DNDEBUG) and the peers' drivers ..."
read -ra srcs <<<"$(bench_chapter_var CHAPTER_SRCS)"
missing=()
for f in "${srcs[@]}"; do [[ -f $f ]] || missing+=("$f"); done
if ((${#missing[@]})); then
    skipped+=("ferrite: ${missing[*]} missing")
elif [[ " ${srcs[*]} " != *"/store.c "* ]]; then
    skipped+=("ferrite: the store (store.c, part 4) is not among the chapter's sources yet")
elif build_driver ferrite "-Ichapters/$CH" -Ichapters/include "${srcs[@]}"; then
    engines+=(ferrite)
fi
if command -v db_bench >/dev/null; then
    engines+=(rocksdb)
    bench_meta peer "rocksdb: db_bench $(db_bench --version 2>&1 | sed -n 's/^db_bench version //p' | head -n1)" \
        "(rocksdb-tools), its defaults but --compression_type=none; built with assertions on, as its banner says"
else
    skipped+=("rocksdb: db_bench not found (apt-get install rocksdb-tools)")
fi
for peer in leveldb:leveldb/c.h:-lleveldb:libleveldb-dev lmdb:lmdb.h:-llmdb:liblmdb-dev \
    sqlite:sqlite3.h:-lsqlite3:libsqlite3-dev; do
    IFS=: read -r name header lib package <<<"$peer"
    if [[ ! -f /usr/include/$header ]]; then
        skipped+=("$name: <$header> not found (apt-get install $package)")
    elif build_driver "$name" "$lib"; then
        engines+=("$name")
    fi
done
has_engine() { [[ " ${engines[*]} " == *" $1 "* ]]; }
# shellcheck disable=SC2016 # dpkg-query's own ${...}
pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
! has_engine leveldb || bench_meta peer "leveldb: libleveldb-dev $(pkg_version libleveldb-dev) through its C API, defaults but no compression"
! has_engine lmdb || bench_meta peer "lmdb: liblmdb-dev $(pkg_version liblmdb-dev), a write transaction per put"
! has_engine sqlite || bench_meta peer "sqlite: libsqlite3-dev $(pkg_version libsqlite3-dev), WAL, one connection per thread"

servers=()
chapter_make() { make --no-print-directory -s -f mk/chapter.mk CH="$CH" IMPL="$IMPL" CC="$CC" BUILD="$BUILD" VARIANT=plain "$@"; }
if ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
    skipped+=("servers: redis-benchmark or redis-cli not found (apt-get install redis-tools)")
else
    echo "building the chapter's server (kv-server, $IMPL, $CC, VARIANT=plain: -O2) ..."
    KV_SERVER=$(chapter_make print-KV_SERVER 2>/dev/null || true)
    if [[ -z $KV_SERVER ]]; then
        skipped+=("kv-server: the chapter's build has no kv-server yet (part 5)")
    elif ! chapter_make kv-server >"$OUT/kv-server-build.log" 2>&1 &&
        ! { sleep 2 && chapter_make kv-server >"$OUT/kv-server-build.log" 2>&1; }; then
        skipped+=("kv-server: does not build (log: $OUT/kv-server-build.log)")
    else
        KV_SERVER=$ROOT/$KV_SERVER
        servers+=(ferrite)
    fi
    if command -v redis-server >/dev/null; then
        servers+=(redis)
        bench_meta peer "redis: $(redis-server --version | cut -d' ' -f1-3), --appendonly yes --appendfsync always --save ''"
    else
        skipped+=("redis: redis-server not found (apt-get install redis-server)")
    fi
    bench_meta tool "$(redis-benchmark --version | head -n1) -c $CLIENTS -P $PIPELINE -t set,get -d $VALUE_BYTES"
fi
has_server() { [[ " ${servers[*]} " == *" $1 "* ]]; }
for s in "${skipped[@]}"; do bench_note "${s%%:*}: not measured:${s#*:}"; done
if ((STRACE_SECONDS > 0)) && ! command -v strace >/dev/null; then
    bench_note "syncs per write under strace: not measured: strace not found (apt-get install strace)"
    STRACE_SECONDS=0
fi

# The durable runs' CPU time and context switches, from GNU time (the process and all its threads, open to close).
TIMER=()
if [[ -x /usr/bin/time ]]; then
    TIMER=(/usr/bin/time -o "$OUT/time.out" -f "TIME user=%U sys=%S vcsw=%w ivcsw=%c")
else
    bench_note "CPU time per durable write: not measured: /usr/bin/time not found (apt-get install time)"
fi
# strace stops only at the counted calls with --seccomp-bpf (strace 5.3 and later), so it hardly slows the run.
STRACE=(strace -f -c -w) # -w: the time in each call is wall-clock time (how long the sync took), not CPU time
if strace -f --seccomp-bpf -c -o /dev/null true 2>/dev/null; then STRACE+=(--seccomp-bpf); fi
if ((STRACE_SECONDS > 0)); then bench_meta tool "$(strace -V | head -n1) (${STRACE[*]})"; fi
if ((${#TIMER[@]})); then bench_meta tool "GNU time $(pkg_version time) (/usr/bin/time)"; fi

SERVER_CPU=() CLIENT_CPU=()
if [[ $PIN == 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1)
fi

# ---- the engines --------------------------------------------------------------------------------------------------
# Raw rows, one per run, tab-separated:
#   $TSV    round workload name ops_per_s p50_us p99_us            (workload: fill read durable1 durableW set get)
#   $AMP    round name user_bytes written_bytes file_bytes live_bytes [store_disk_bytes]   (the fill + read runs)
#   $SYNCS  round workload name syncs writes                       (the engines' own counters; for kv-server,
#           from INFO after the SETs: log_syncs batched_sets, then the store's writes, flushes and compactions)
#   $CPU    round workload name user_s sys_s voluntary_switches involuntary_switches ops   (durable runs, GNU time;
#           the servers: their CPU seconds in user_s and sys_s, from /proc/PID/stat, the seconds their threads
#           waited for a CPU in place of the switches, and the requests in ops)
#   $STALL  round workload name stall_s secs stalls max_us         (the drivers: ops of 1 ms or more, their time)
TSV=$OUT/results-$IMPL_TAG.tsv AMP=$OUT/amp-$IMPL_TAG.tsv SYNCS=$OUT/syncs-$IMPL_TAG.tsv CPU=$OUT/cpu-$IMPL_TAG.tsv
STALL=$OUT/stall-$IMPL_TAG.tsv
: >"$TSV"
: >"$CPU"
: >"$STALL"
: >"$AMP"
: >"$SYNCS"
USER_BYTES=$((N * (KEY_BYTES + VALUE_BYTES)))
field() { bench_fields "$1" <<<"$2"; }
# db_bench's line for BENCH ("fillrandom : ... ops/sec ...") and the percentiles under it, as a RUN line.
db_bench_run_line() { # BENCH LOG
    awk -v b="$1" '$1 == b && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "ops/sec") ops = $(i - 1); want = 1; next }
        want && $1 == "Percentiles:" { printf "RUN ops_per_s=%s p50_us=%s p99_us=%s\n", ops, $3, $7; want = 0 }' "$2"
}
db_bench_stat() { awk -v k="rocksdb.$1" '$1 == k && $2 == "COUNT" { print $4 }' "$2"; } # NAME LOG
db_bench_ops() { awk '$1 == "fillrandom" && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "operations;") print $(i - 1) }' "$1"; }

# run_fill NAME ROUND: a fresh store, N puts, N reads, the close; appends to $TSV and $AMP.
run_fill() {
    local name=$1 round=$2 dir log=$OUT/run-$1.log fill read close written store_disk=
    dir=$(fresh "$name")
    if [[ $name == rocksdb ]]; then
        db_bench --benchmarks=fillrandom,readrandom --num="$N" --db="$dir" --sync=0 --seed=1 --key_size=$KEY_BYTES \
            --value_size=$VALUE_BYTES --compression_type=none --histogram=1 --statistics=1 >"$log" 2>&1 ||
            { echo "bench: db_bench failed: $(tail -n 2 "$log")" >&2; return 0; }
        fill=$(db_bench_run_line fillrandom "$log") read=$(db_bench_run_line readrandom "$log")
        written=$(awk '$2 == "COUNT" && ($1 == "rocksdb.wal.bytes" || $1 == "rocksdb.flush.write.bytes" ||
            $1 == "rocksdb.compact.write.bytes") { s += $4; n++ } END { if (n) print s }' "$log")
        # The ops of 1 ms or more, from db_bench's histogram of the fill (buckets in µs; each op counted at its
        # bucket's middle, so the time is an estimate).
        awk -v r="$round" '/^Microseconds per write:/ { on = 1; next } /^Microseconds per read:/ { on = 0 }
            $1 == "fillrandom" && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "seconds") secs = $(i - 1) }
            on && $1 == "(" { lo = $2; sub(/,/, "", lo); if (lo + 0 >= 1000) { n += $5; t += $5 * (lo + $3) / 2e6
                if ($3 + 0 > max) max = $3 } }
            END { printf "%s\tfill\trocksdb\t%.3f\t%s\t%d\t%d\n", r, t, secs, n, max }' "$log" >>"$STALL"
        # db_bench draws its keys below N as the drivers do; the distinct ones are N (1 - (1 - 1/N)^N) on average.
        close="RUN live_bytes=$(awk -v n="$N" -v b=$((KEY_BYTES + VALUE_BYTES)) 'BEGIN { printf "%.0f", n * (1 - exp(n * log(1 - 1 / n))) * b }')"
    else
        "${DRIVER[$name]}" fill "$dir" "$N" >"$log" 2>&1 ||
            { echo "bench: $name failed: $(tail -n 2 "$log")" >&2; return 0; }
        fill=$(grep '^RUN phase=fill' "$log" || true) read=$(grep '^RUN phase=read' "$log" || true)
        close=$(grep '^RUN phase=close' "$log" || true)
        written=$(field wchar "$close")
        [[ $name != ferrite ]] || store_disk=$(field disk_bytes "$fill")
        printf '%s\tfill\t%s\t%s\n' "$round" "$name" "$(bench_fields stall_s secs stalls max_us <<<"$fill")" >>"$STALL"
    fi
    printf '%s\tfill\t%s\t%s\n' "$round" "$name" "$(bench_fields ops_per_s p50_us p99_us <<<"$fill")" >>"$TSV"
    printf '%s\tread\t%s\t%s\n' "$round" "$name" "$(bench_fields ops_per_s p50_us p99_us <<<"$read")" >>"$TSV"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$USER_BYTES" "$written" \
        "$(du -sb --apparent-size "$dir" | cut -f1)" "$(field live_bytes "$close")" "$store_disk" >>"$AMP"
    rm -rf "$dir"
}

# run_durable NAME THREADS ROUND: a fresh store, THREADS writers for DURABLE_SECONDS; appends to $TSV and $SYNCS.
# A durable run that made no sync is refused: it did not measure what it says.
run_durable() {
    local name=$1 threads=$2 round=$3 dir log=$OUT/run-$1-durable$2.log line syncs='' writes='' w=durable1 ops times
    ((threads == 1)) || w=durableW
    dir=$(fresh "$name")
    rm -f "$OUT/time.out"
    if [[ $name == rocksdb ]]; then
        "${TIMER[@]}" db_bench --benchmarks=fillrandom --num="$N" --db="$dir" --sync=1 --duration="$DURABLE_SECONDS" \
            --threads="$threads" --seed=1 --key_size=$KEY_BYTES --value_size=$VALUE_BYTES --compression_type=none \
            --histogram=1 --statistics=1 >"$log" 2>&1 ||
            { echo "bench: db_bench failed: $(tail -n 2 "$log")" >&2; return 0; }
        line=$(db_bench_run_line fillrandom "$log")
        syncs=$(db_bench_stat wal.synced "$log") writes=$(db_bench_stat write.wal "$log") ops=$(db_bench_ops "$log")
    else
        "${TIMER[@]}" "${DRIVER[$name]}" durable "$dir" "$N" "$DURABLE_SECONDS" "$threads" >"$log" 2>&1 ||
            { echo "bench: $name (durable) failed: $(tail -n 2 "$log")" >&2; return 0; }
        line=$(grep '^RUN phase=durable' "$log" || true)
        ops=$(field ops "$line")
        [[ $name != ferrite ]] || syncs=$(field syncs "$line") writes=$(field writes "$line")
        printf '%s\t%s\t%s\t%s\n' "$round" "$w" "$name" "$(bench_fields stall_s secs stalls max_us <<<"$line")" >>"$STALL"
    fi
    if [[ -s $OUT/time.out && -n $ops ]]; then
        times=$(grep '^TIME' "$OUT/time.out" || true)
        printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$w" "$name" "$(bench_fields user sys vcsw ivcsw <<<"$times")" "$ops" >>"$CPU"
    fi
    if [[ -n $syncs ]]; then
        if ((syncs == 0)); then
            echo "bench: $name's durable run made no sync ($writes writes): its result is left out" >&2
            return 0
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$w" "$name" "$syncs" "$writes" >>"$SYNCS"
    fi
    printf '%s\t%s\t%s\t%s\n' "$round" "$w" "$name" "$(bench_fields ops_per_s p50_us p99_us <<<"$line")" >>"$TSV"
    rm -rf "$dir"
}

# ---- the servers --------------------------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
declare -A SPID=() SPORT=()
# start_server NAME: in a fresh folder; sets SPID[NAME] and SPORT[NAME]; 1 (with a message) if it does not answer.
start_server() {
    local name=$1 dir out=$OUT/server-$1.out port=
    dir=$(fresh "server-$name")
    rm -f "$out"
    case $name in
    ferrite)
        "${SERVER_CPU[@]}" "$KV_SERVER" --dir "$dir" --port 0 --sync always >"$out" 2>"$OUT/server-$name.err" &
        ;;
    redis)
        port=$(free_port)
        "${SERVER_CPU[@]}" redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --appendonly yes \
            --appendfsync always --save '' --daemonize no --logfile "$OUT/server-$name.err" >"$out" 2>&1 &
        ;;
    esac
    SPID[$name]=$!
    PIDS+=("${SPID[$name]}")
    for _ in $(seq 500); do
        [[ -n $port ]] || port=$(awk 'NR == 1 && match($0, /[0-9]+$/) { print substr($0, RSTART) }' "$out" 2>/dev/null)
        if [[ -n $port ]] && [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; then
            SPORT[$name]=$port
            return 0
        fi
        kill -0 "${SPID[$name]}" 2>/dev/null || break
        sleep 0.02
    done
    echo "bench: $name's server did not start: $(tail -n 3 "$OUT/server-$name.err" 2>/dev/null)" >&2
    stop_server "$name"
    return 1
}
stop_server() {
    kill "${SPID[$1]}" 2>/dev/null || true
    wait "${SPID[$1]}" 2>/dev/null || true
    forget "${SPID[$1]}"
    SPORT[$1]=
    rm -rf "${WORK:?}/server-$1"
}
# bench_server NAME REQUESTS TESTS: redis-benchmark's CSV lines ("SET","rps","avg","min","p50","p95","p99","max").
bench_server() {
    "${CLIENT_CPU[@]}" redis-benchmark -p "${SPORT[$1]}" -c "$CLIENTS" -P "$PIPELINE" -t "$3" -n "$2" -r "$N" \
        -d $VALUE_BYTES --csv 2>/dev/null | tr -d '"' | awk -F, '$1 == "SET" || $1 == "GET"' || true
}
# cpu_ticks PID: the user and system time of a process and every thread it has had, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"; }
# sched_now PID: one line per thread of PID, "tid cpu_ns wait_ns" (/proc/PID/task/TID/schedstat: the time it ran, and
# the time it was ready to run but waited for a CPU).
sched_now() { awk '{ n = split(FILENAME, part, "/"); print part[n - 1], $1, $2 }' /proc/"$1"/task/*/schedstat 2>/dev/null || true; }
# sched_sample PID FILE: sched_now every 50 ms into FILE until killed. kv-server's connection threads end with their
# connections, taking their figures with them: the last sample of each is its total, give or take 50 ms.
sched_sample() {
    while :; do
        sched_now "$1" >>"$2"
        sleep 0.05
    done
}
# run_server NAME ROUND: a fresh server, SET then GET (one redis-benchmark each, so that each has its own CPU time);
# appends to $TSV and $CPU (user and system seconds from /proc/PID/stat, and the seconds its threads waited for a
# CPU, from the samples).
run_server() {
    local name=$1 round=$2 test t rps p50 p99 before after sampler wait_s
    start_server "$name" || return 0
    for test in set get; do
        before=$(cpu_ticks "${SPID[$name]}")
        sched_now "${SPID[$name]}" >"$OUT/sched-base"
        : >"$OUT/sched-samples"
        sched_sample "${SPID[$name]}" "$OUT/sched-samples" &
        sampler=$!
        PIDS+=("$sampler")
        while IFS=, read -r t rps _ _ p50 _ p99 _; do
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "${t,,}" "$name" "$rps" \
                "$(awk -v v="$p50" 'BEGIN { printf "%.0f", v * 1000 }')" \
                "$(awk -v v="$p99" 'BEGIN { printf "%.0f", v * 1000 }')" >>"$TSV"
        done < <(bench_server "$name" "$SERVER_REQUESTS" "$test")
        kill "$sampler" 2>/dev/null || true
        wait "$sampler" 2>/dev/null || true
        forget "$sampler"
        sched_now "${SPID[$name]}" >>"$OUT/sched-samples"
        after=$(cpu_ticks "${SPID[$name]}")
        # Every thread's last figure, less what it had at the start (a thread born during the run had nothing).
        wait_s=$(awk 'NR == FNR { w0[$1] = $3; next } { if ($3 > w[$1]) w[$1] = $3 }
            END { for (t in w) s += w[t] - w0[t]; printf "%.3f", s / 1e9 }' "$OUT/sched-base" "$OUT/sched-samples")
        if [[ $name == ferrite && $test == set ]]; then
            # The server's own counters (INFO): its store's syncs, and the SETs it gathered into batches.
            redis-cli -p "${SPORT[$name]}" info 2>/dev/null | tr -d '\r' | awk -F: -v r="$round" '
                { v[$1] = $2 } END { printf "%s\tset\tferrite-server\t%s\t%s\t%s\t%s\t%s\n", r, v["log_syncs"],
                    v["batched_sets"], v["writes"], v["flushes"], v["compactions"] }' >>"$SYNCS"
        fi
        awk -v r="$round" -v t="$test" -v n="$name" -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" \
            -v ops="$SERVER_REQUESTS" -v w="$wait_s" 'BEGIN { split(b, x, " "); split(a, y, " ")
                printf "%s\t%s\t%s\t%.2f\t%.2f\t%s\t\t%s\n", r, t, n, (y[1] - x[1]) / hz, (y[2] - x[2]) / hz, w, ops }' >>"$CPU"
    done
    stop_server "$name"
}

# ---- the rounds ---------------------------------------------------------------------------------------------------
echo "load average at the start: $BENCH_LOAD_START ($(nproc) cores)"
echo "running $REPS rounds of: {${engines[*]}} x {fill + read, durable 1 writer, durable $WRITERS writers}," \
    "{${servers[*]}} x {SET, GET}; N=$N, ${DURABLE_SECONDS} s per durable run"
# rotate ROUND NAME...: the names, started at the (ROUND - 1)th, so that each round runs them in another order.
rotate() {
    local r=$1 n
    shift
    n=$#
    ((n > 0)) || return 0
    local list=("$@") i
    for ((i = 0; i < n; i++)); do echo "${list[(i + r - 1) % n]}"; done
}
durable_many() { [[ $1 == ferrite || $1 == rocksdb || $1 == leveldb ]]; } # the engines with group commit
for ((round = 1; round <= REPS; round++)); do
    mapfile -t order < <(rotate "$round" "${engines[@]}")
    for name in "${order[@]}"; do run_fill "$name" "$round"; done
    for name in "${order[@]}"; do run_durable "$name" 1 "$round"; done
    for name in "${order[@]}"; do
        if durable_many "$name"; then run_durable "$name" "$WRITERS" "$round"; fi
    done
    mapfile -t order < <(rotate "$round" "${servers[@]}")
    for name in "${order[@]}"; do run_server "$name" "$round"; done
    printf '  round %d/%d done (load average %s)\n' "$round" "$REPS" "$(cut -d' ' -f1 /proc/loadavg)"
done

# ---- syncs per write under strace ---------------------------------------------------------------------------------
# One short run each, outside the rounds, so that strace's cost stays out of the rounds' figures.
# Counted: fsync, fdatasync, sync_file_range and msync of every thread, and the time spent in them: over the run's
# length, the share of the time the disk was busy syncing for this store (its syncs do not overlap: one log). LMDB also writes its meta page through a
# descriptor opened O_DSYNC at every commit: a sync strace cannot see as a call, so its count is one short per commit.
STRACE_TSV=$OUT/strace-$IMPL_TAG.tsv
: >"$STRACE_TSV"
# strace_syncs FILE: "calls seconds" of the sync calls in strace's table.
strace_syncs() {
    awk '$NF ~ /^(fsync|fdatasync|sync_file_range|msync)$/ { n += $4; t += $2 } END { printf "%d\t%.3f\n", n, t }' "$1"
}
if ((STRACE_SECONDS > 0)); then
    echo "counting syncs under strace (${STRACE_SECONDS} s per run) ..."
    for name in "${engines[@]}"; do
        for threads in 1 "$WRITERS"; do
            ((threads == 1)) || durable_many "$name" || continue
            dir=$(fresh "$name") log=$OUT/strace-$name.log st=$OUT/strace-$name.out ops='' secs=''
            if [[ $name == rocksdb ]]; then
                "${STRACE[@]}" -o "$st" -e trace=fsync,fdatasync,sync_file_range,msync db_bench --benchmarks=fillrandom \
                    --num="$N" --db="$dir" --sync=1 --duration="$STRACE_SECONDS" --threads="$threads" --seed=1 \
                    --key_size=$KEY_BYTES --value_size=$VALUE_BYTES --compression_type=none >"$log" 2>&1 || true
                ops=$(db_bench_ops "$log")
                secs=$(awk '$1 == "fillrandom" && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "seconds") print $(i - 1) }' "$log")
            else
                "${STRACE[@]}" -o "$st" -e trace=fsync,fdatasync,sync_file_range,msync "${DRIVER[$name]}" durable "$dir" \
                    "$N" "$STRACE_SECONDS" "$threads" >"$log" 2>&1 || true
                line=$(grep '^RUN phase=durable' "$log" || true)
                ops=$(field ops "$line") secs=$(field secs "$line")
            fi
            if [[ -n $ops && -s $st ]]; then
                printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$threads" "$(strace_syncs "$st")" "$ops" "$secs" >>"$STRACE_TSV"
            fi
            rm -rf "$dir"
        done
    done
    for name in "${servers[@]}"; do
        start_server "$name" || continue
        st=$OUT/strace-server-$name.out
        strace -f -c -w -o "$st" -e trace=fsync,fdatasync,sync_file_range,msync -p "${SPID[$name]}" \
            2>"$OUT/strace-server-$name.err" &
        spid=$!
        PIDS+=("$spid")
        for _ in $(seq 250); do
            grep -q attached "$OUT/strace-server-$name.err" 2>/dev/null && break
            sleep 0.02
        done
        requests=$((SERVER_REQUESTS / 4)) t0=$(date +%s%N)
        ok=$(bench_server "$name" "$requests" set | wc -l)
        secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        kill -INT "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
        forget "$spid"
        stop_server "$name"
        if ((ok == 1)) && [[ -s $st ]]; then
            printf '%s\tserver\t%s\t%s\t%s\n' "$name" "$(strace_syncs "$st")" "$requests" "$secs" >>"$STRACE_TSV"
        fi
    done
fi

# ---- report -------------------------------------------------------------------------------------------------------
# median WORKLOAD NAME COLUMN (4 ops/s, 5 p50 µs, 6 p99 µs): the median over the rounds, or nothing.
median() { awk -F'\t' -v w="$1" -v n="$2" -v c="$3" '$2 == w && $3 == n && $c != "" { print $c }' "$TSV" | bench_median "%.${4:-0}f"; }
# amp NAME KIND: the median over the rounds of written / user bytes (write), files / live bytes (space), or the
# store's own disk / user bytes (store).
amp() {
    awk -F'\t' -v n="$1" -v k="$2" '$2 == n {
        if (k == "write" && $4 != "" && $3 > 0) print $4 / $3
        if (k == "space" && $6 > 0) print $5 / $6
        if (k == "store" && $7 != "" && $3 > 0) print $7 / $3 }' "$AMP" | bench_median "%.2f"
}
# syncs_counter WORKLOAD NAME: the engine's own syncs per write, summed over the rounds.
syncs_counter() {
    awk -F'\t' -v w="$1" -v n="$2" '$2 == w && $3 == n { s += $4; c += $5 } END { if (c) printf "%.3f", s / c }' "$SYNCS"
}
# cpu_per_write WORKLOAD NAME cpu|switches: the median over the rounds of CPU µs (user + system, every thread) or
# context switches (voluntary + involuntary) per acknowledged write of a durable run.
cpu_per_write() {
    awk -F'\t' -v w="$1" -v n="$2" -v k="$3" '$2 == w && $3 == n && $8 > 0 {
        if (k == "cpu") print ($4 + $5) * 1e6 / $8; else if (k == "wait") print $6 * 1e6 / $8
        else print ($6 + $7) / $8 }' "$CPU" | bench_median "%.1f"
}
# stall_share WORKLOAD NAME and stall_count: the median share of a run's time spent in ops of 1 ms or more (%), and
# the median number of such ops.
stall_share() {
    awk -F'\t' -v w="$1" -v n="$2" '$2 == w && $3 == n && $5 > 0 { print 100 * $4 / $5 }' "$STALL" | bench_median "%.1f"
}
stall_count() { awk -F'\t' -v w="$1" -v n="$2" '$2 == w && $3 == n && $6 != "" { print $6 }' "$STALL" | bench_median "%.0f"; }
# syncs_strace NAME THREADS|server [busy|mean]: syncs per write counted by strace; with busy, the share of the run
# spent syncing (%); with mean, the mean time of one sync (µs). STRACE_TSV: name threads syncs sync_s ops run_s.
syncs_strace() {
    awk -F'\t' -v n="$1" -v t="$2" -v k="${3:-}" '$1 == n && $2 == t && $5 > 0 {
        if (k == "") printf "%.3f", $3 / $5
        else if (k == "busy" && $6 > 0) printf "%.0f", 100 * $4 / $6
        else if (k == "mean" && $3 > 0) printf "%.0f", 1e6 * $4 / $3 }' "$STRACE_TSV"
}
label() {
    case $1 in
    fill) echo "fillrandom, no sync" ;;
    read) echo "readrandom" ;;
    durable1) echo "durable puts, 1 writer" ;;
    durableW) echo "durable puts, $WRITERS writers" ;;
    set) echo "server SET, -c $CLIENTS -P $PIPELINE" ;;
    get) echo "server GET, -c $CLIENTS -P $PIPELINE" ;;
    esac
}
ENGINE_COLS=(ferrite rocksdb leveldb lmdb sqlite)
row() { printf '  %-34s %-8s %10s %10s %10s %10s %10s %10s\n' "$@"; }
echo
echo "chapter 07: durable key-value store; IMPL=$IMPL; medians of $REPS interleaved rounds; $(nproc) cores;" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "keys $KEY_BYTES B, values $VALUE_BYTES B, random keys below N=$N, no compression; load average" \
    "$BENCH_LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) now"
echo
row workload "" "${ENGINE_COLS[@]}" f/rocksdb
for w in fill read durable1 durableW; do
    declare -A v=()
    for what in ops/s "p50 µs" "p99 µs"; do
        case $what in ops/s) c=4 d=0 ;; "p50 µs") c=5 d=1 ;; *) c=6 d=1 ;; esac
        for p in "${ENGINE_COLS[@]}"; do v[$p]=$(median "$w" "$p" "$c" "$d"); done
        first=""
        [[ $what != ops/s ]] || first=$(label "$w")
        row "$first" "$what" "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" \
            "$(bench_ratio "${v[ferrite]}" "${v[rocksdb]}")"
    done
done
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(syncs_counter durable1 "$p"); done
row "syncs per write, 1 writer" counters "${v[ferrite]:--}" "${v[rocksdb]:--}" - - - ""
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(syncs_strace "$p" 1); done
row "" strace "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" ""
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(syncs_counter durableW "$p"); done
row "syncs per write, $WRITERS writers" counters "${v[ferrite]:--}" "${v[rocksdb]:--}" - - - ""
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(syncs_strace "$p" "$WRITERS"); done
row "" strace "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" - - ""
for t in 1 "$WRITERS"; do
    for p in "${ENGINE_COLS[@]}"; do v[$p]=$(syncs_strace "$p" "$t" mean); done
    row "one sync, $t writer$([[ $t == 1 ]] || echo s) (strace)" "mean µs" "${v[ferrite]:--}" "${v[rocksdb]:--}" \
        "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" ""
    for p in "${ENGINE_COLS[@]}"; do v[$p]=$(syncs_strace "$p" "$t" busy); done
    row "" "% synced" "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" ""
done
for w in durable1 durableW; do
    for p in "${ENGINE_COLS[@]}"; do v[$p]=$(cpu_per_write "$w" "$p" cpu); done
    row "CPU µs per write, $(label "$w" | sed 's/durable puts, //')" user+sys "${v[ferrite]:--}" "${v[rocksdb]:--}" \
        "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" "$(bench_ratio "${v[ferrite]}" "${v[rocksdb]}")"
    for p in "${ENGINE_COLS[@]}"; do v[$p]=$(cpu_per_write "$w" "$p" switches); done
    row "" switches "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" \
        "$(bench_ratio "${v[ferrite]}" "${v[rocksdb]}")"
done
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(stall_share fill "$p"); done
row "fillrandom: time in ops ≥ 1 ms" "% of run" "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" \
    "${v[sqlite]:--}" ""
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(stall_count fill "$p"); done
row "" "ops" "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" "${v[sqlite]:--}" ""
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(amp "$p" write); done
row "write amplification (fill)" written "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" \
    "${v[sqlite]:--}" "$(bench_ratio "${v[ferrite]}" "${v[rocksdb]}")"
row "" store "$(amp ferrite store)" - - - - ""
for p in "${ENGINE_COLS[@]}"; do v[$p]=$(amp "$p" space); done
row "space amplification (fill)" files "${v[ferrite]:--}" "${v[rocksdb]:--}" "${v[leveldb]:--}" "${v[lmdb]:--}" \
    "${v[sqlite]:--}" "$(bench_ratio "${v[ferrite]}" "${v[rocksdb]}")"
echo "  (durable: every put acknowledged once synced; LMDB and SQLite admit one writer at a time and run with one."
echo "  syncs per write: counters = kv_store_stats log_syncs / writes and rocksdb.wal.synced / rocksdb.write.wal over"
echo "  the rounds; strace = fsync, fdatasync, sync_file_range and msync calls over the ops of one ${STRACE_SECONDS} s run"
echo "  under strace (LMDB: plus one O_DSYNC meta-page write per commit, not counted), with the mean wall time of one"
echo "  sync and the share of that run spent in syncs. CPU per write: user + system"
echo "  time of the whole process (every thread, open to close) over the writes acknowledged, with its context"
echo "  switches (GNU time); on $(nproc) cores, $(nproc) s of CPU per second is the machine. write amplification: bytes"
echo "  written (write(2) from open to close; RocksDB: WAL + flush + compaction bytes; store: the store's disk_bytes)"
echo "  over the N x $((KEY_BYTES + VALUE_BYTES)) bytes put; space amplification: the files after the close over the"
echo "  distinct keys x $((KEY_BYTES + VALUE_BYTES)) bytes; time in ops ≥ 1 ms: RocksDB's estimated from db_bench's"
echo "  histogram)"

if ((${#servers[@]})); then
    echo
    printf '  %-34s %-8s %10s %10s %10s\n' server "" ferrite redis f/redis
    for w in set get; do
        for what in ops/s "p50 µs" "p99 µs"; do
            case $what in ops/s) c=4 ;; "p50 µs") c=5 ;; *) c=6 ;; esac
            a=$(median "$w" ferrite $c) b=$(median "$w" redis $c) first=""
            [[ $what != ops/s ]] || first=$(label "$w")
            printf '  %-34s %-8s %10s %10s %10s\n' "$first" "$what" "${a:--}" "${b:--}" "$(bench_ratio "$a" "$b")"
        done
    done
    for w in set get; do
        a=$(cpu_per_write "$w" ferrite cpu) b=$(cpu_per_write "$w" redis cpu)
        printf '  %-34s %-8s %10s %10s %10s\n' "server CPU µs per ${w^^}" user+sys "${a:--}" "${b:--}" "$(bench_ratio "$a" "$b")"
        a=$(cpu_per_write "$w" ferrite wait) b=$(cpu_per_write "$w" redis wait)
        printf '  %-34s %-8s %10s %10s %10s\n' "" "CPU wait" "${a:--}" "${b:--}" "$(bench_ratio "$a" "$b")"
    done
    printf '  %-34s %-8s %10s %10s\n' "syncs per SET" counters "$(syncs_counter set ferrite-server)" -
    printf '  %-34s %-8s %10s %10s\n' "" strace "$(syncs_strace ferrite server)" "$(syncs_strace redis server)"
    printf '  %-34s %-8s %10s %10s\n' "one sync (strace)" "mean µs" "$(syncs_strace ferrite server mean)" \
        "$(syncs_strace redis server mean)"
    printf '  %-34s %-8s %10s %10s\n' "" "% synced" "$(syncs_strace ferrite server busy)" "$(syncs_strace redis server busy)"
    printf '  %-34s %-8s %10s\n' "SETs per store write (batch)" counters \
        "$(awk -F'\t' '$3 == "ferrite-server" && $6 > 0 { s += $5; w += $6 } END { if (w) printf "%.1f", s / w }' "$SYNCS")"
    printf '  %-34s %-8s %10s\n' "flushes, compactions during SETs" counters \
        "$(awk -F'\t' '$3 == "ferrite-server" { f += $7; c += $8; n++ } END { if (n) printf "%.1f, %.1f", f / n, c / n }' "$SYNCS")"
    echo "  (redis-benchmark -n $SERVER_REQUESTS -r $N -d $VALUE_BYTES; latencies rounded to redis-benchmark's resolution."
    echo "  CPU: the server's user + system µs per request; CPU wait: µs per request its threads spent ready to run but"
    echo "  waiting for a CPU, added over the threads (schedstat). syncs under strace: attached to the server for one"
    echo "  SET run of $((SERVER_REQUESTS / 4)) requests, with the mean wall time of one sync and the share of the run spent in syncs)"
fi

# ---- verdicts -----------------------------------------------------------------------------------------------------
# at_least A B FACTOR: met when A >= FACTOR x B; "not judged" when either is missing.
at_least() {
    if [[ -z $1 || -z $2 ]]; then echo "not judged (no result)"; return; fi
    awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (a >= f * b) print "met"; else print "missed"
        printf " (%.0f against %.0f x %s = %.0f: %.2fx)\n", a, f, b, f * b, a / (f * b) }' | paste -sd ''
}
durable_rocks1=$(median durable1 rocksdb 4)
verdict_durable=$(at_least "$(median durableW ferrite 4)" "$durable_rocks1" 10)
verdict_server=$(at_least "$(median set ferrite 4)" "$(median set redis 4)" 1)
verdict_fill=$(at_least "$(median fill ferrite 4)" "$(median fill rocksdb 4)" 1)
verdict_read=$(at_least "$(median read ferrite 4)" "$(median read rocksdb 4)" 1)
p99_worst="" p99_where=""
for w in fill read durable1 durableW set get; do
    p=$(median "$w" ferrite 6 1)
    [[ -n $p ]] || continue
    if [[ -z $p99_worst ]] || awk -v a="$p" -v b="$p99_worst" 'BEGIN { exit !(a > b) }'; then
        p99_worst=$p p99_where=$(label "$w")
    fi
done
if [[ -z $p99_worst ]]; then
    verdict_p99="not judged (no result)"
elif awk -v a="$p99_worst" 'BEGIN { exit !(a < 10000) }'; then
    verdict_p99="met (the highest: $p99_worst µs, $p99_where)"
else
    verdict_p99="missed (the highest: $p99_worst µs, $p99_where)"
fi
echo
echo "targets (same run):"
echo "  durable puts, $WRITERS writers ≥ 10× RocksDB --sync=1 with 1 writer:  $verdict_durable"
echo "  server SET ops/s ≥ redis appendfsync always:              $verdict_server"
echo "  fillrandom without sync ≥ RocksDB's:                       $verdict_fill"
echo "  readrandom ≥ RocksDB's:                                    $verdict_read"
echo "  p99 < 10 ms in every workload above:                       $verdict_p99"
for s in "${skipped[@]}"; do echo "  not measured: $s"; done
echo "raw runs: $TSV, $AMP, $SYNCS, $STRACE_TSV; logs: $OUT/run-*.log"

# ---- summary for the documentation site ---------------------------------------------------------------------------
bench_summary_begin
shape="${KEY_BYTES} B keys, ${VALUE_BYTES} B values, random keys below $N:"
# peers_of NAME WORKLOAD: the contenders a ferrite bar is compared with (none for the peers themselves).
peers_of() {
    [[ $1 == ferrite ]] || return 0
    local p out=()
    for p in rocksdb leveldb lmdb sqlite redis; do [[ -z $(median "$2" $p 4) ]] || out+=("$p"); done
    (IFS=,; echo "${out[*]}")
}
for w in fill read durable1 durableW set get; do
    tput_target=
    case $w in
    fill | read) tput_target=$(median "$w" rocksdb 4) ;;
    durableW) [[ -z $durable_rocks1 ]] || tput_target=$((durable_rocks1 * 10)) ;;
    set) tput_target=$(median set redis 4) ;;
    esac
    for p in ferrite rocksdb leveldb lmdb sqlite redis; do
        bench_summary_row "$shape $(label "$w") — throughput" "$p" "$(median "$w" "$p" 4)" ops/s higher \
            "$tput_target" "$(peers_of "$p" "$w")"
    done
    for p in ferrite rocksdb leveldb lmdb sqlite redis; do
        bench_summary_row "$shape $(label "$w") — p99 latency" "$p" "$(median "$w" "$p" 6 1)" µs lower 10000 \
            "$(peers_of "$p" "$w")"
    done
done
for p in ferrite rocksdb leveldb; do
    s=$(syncs_counter durableW "$p")
    [[ -n $s ]] || s=$(syncs_strace "$p" "$WRITERS")
    bench_summary_row "$shape durable puts, $WRITERS writers — syncs per acknowledged write" "$p" "$s" syncs/write \
        lower "" "$([[ $p != ferrite ]] || echo rocksdb,leveldb)"
done
for p in ferrite rocksdb leveldb; do
    bench_summary_row "$shape durable puts, $WRITERS writers — CPU per acknowledged write (user + system)" "$p" \
        "$(cpu_per_write durableW "$p" cpu)" µs lower "" "$([[ $p != ferrite ]] || echo rocksdb,leveldb)"
done
for p in ferrite rocksdb leveldb lmdb sqlite; do
    bench_summary_row "$shape fillrandom, no sync — write amplification (bytes written / bytes put)" "$p" \
        "$(amp "$p" write)" × lower "" "$([[ $p != ferrite ]] || echo rocksdb,leveldb,lmdb,sqlite)"
done
for p in ferrite rocksdb leveldb lmdb sqlite; do
    bench_summary_row "$shape fillrandom, no sync — space amplification (file bytes / live bytes)" "$p" \
        "$(amp "$p" space)" × lower "" "$([[ $p != ferrite ]] || echo rocksdb,leveldb,lmdb,sqlite)"
done
pinning=${SERVER_CPU:+; servers pinned to CPU 0, redis-benchmark to CPU 1}
bench_summary_meta "chapter 07: durable key-value store against RocksDB (db_bench), LevelDB, LMDB, SQLite (WAL)," \
    "and its RESP server against redis (appendfsync always); IMPL=$IMPL; medians of $REPS interleaved rounds;" \
    "N=$N, ${DURABLE_SECONDS} s durable runs, $WRITERS writers$pinning"
bench_record REPS N DURABLE_SECONDS WRITERS SERVER_REQUESTS CLIENTS PIPELINE STRACE_SECONDS PIN
