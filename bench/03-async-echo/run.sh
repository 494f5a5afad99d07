#!/usr/bin/env bash
# Chapter 03 benchmark: the chapter's echo server, on epoll (parts 1-5) and on io_uring (part 6), against the
# study's Tokio echo and a libuv echo.
#
# Builds everything into $BUILD/bench/03-async-echo/ (never into the source tree): the chapter's server from
# $IMPL's reactor.c/conn.c/server.c + chapters/03-async-echo/server_main.c (-O2), the load client
# (chapters/03-async-echo/demo.c, -O2), bench/03-async-echo/uv_echo.c against libuv1-dev, and the Tokio echo
# with cargo, offline, from Debian's crate sources (/usr/share/cargo/registry, librust-tokio-dev). A peer that
# cannot be built is reported with the reason and the rest still runs.
#
# Ping-pong: every connection sends one message, waits for the whole echo (every byte checked), sends the next.
# Configurations: 50 and 1000 connections x 26 B, 512 B and 4 KiB messages; runs interleaved round-robin
# (ferrite, uring, tokio, libuv, ferrite, ...) so that machine noise hits every server alike; medians of REPS runs.
# Each run also splits the server's CPU time into user and kernel (/proc/PID/stat). Then one run per server at
# 50 x 26 B under `strace -f -c` counts the system calls per echoed message (strace slows the run; the count is
# what it is for), unless STRACE=0.
# Every server is pinned to CPU 0 and the load client to CPU 1 (taskset), so each server gets one core: Tokio's
# multi-thread runtime then starts one worker, as many as it has cores. Then the memory of 10,000 idle
# connections (each has echoed one 26-byte message): the server's RSS growth per connection.
#
# Environment:
#   IMPL=solutions|chapters|<dir>   whose sources to build the chapter's server from (default: solutions)
#   REPS=3  RUN_SECONDS=2  WARMUP=0.5   rounds, measured seconds per run, unmeasured start per run
#   IDLE_CONNS=10000                idle connections for the memory measurement (0 skips it)
#   STRACE=1                        0: skip the system-call count
#   PIN=1                           0: no taskset
#   CC=gcc BUILD=build CARGO=cargo
#   RECORD=0                        leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=03-async-echo
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-3}
SECS=${RUN_SECONDS:-2}
WARMUP=${WARMUP:-0.5}
IDLE_CONNS=${IDLE_CONNS:-10000}
STRACE=${STRACE:-1}
PIN=${PIN:-1}
CONNS=(50 1000)
SIZES=(26 512 4096)

bench_positive_ints REPS
OUT=$(cd "$OUT" && pwd)

# Every server and client started here is stopped on the way out, whatever happens.
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ten thousand connections need ten thousand descriptors in the server and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if ((IDLE_CONNS > 0 && $(ulimit -n) < IDLE_CONNS + 100)); then
    echo "bench: the descriptor limit ($(ulimit -n)) is too low for $IDLE_CONNS idle connections; using $(($(ulimit -n) - 100))"
    IDLE_CONNS=$(($(ulimit -n) - 100))
fi

# ---- build ------------------------------------------------------------------------------------------------------
C_FLAGS=(-std=c17 -Wall -Wextra -Werror -O2 "-Ichapters/$CH" -Ichapters/include)
names=() bins=() skipped=()
echo "building the chapter's server ($IMPL, $CC -O2) and the load client ..."
read -ra srcs <<<"$(bench_chapter_var CHAPTER_SRCS)"
for f in "${srcs[@]}"; do
    [[ -f $f ]] || { echo "bench: $f is missing; chapter $CH needs: $(bench_chapter_var sources)" >&2; exit 1; }
done
"$CC" "${C_FLAGS[@]}" "${srcs[@]}" "chapters/$CH/server_main.c" -o "$OUT/echo-server-$IMPL_TAG" \
    $(pkg-config --libs liburing 2>/dev/null || echo -luring) ||
    { echo "bench: the chapter's server does not build (see above)" >&2; exit 1; }
"$CC" "${C_FLAGS[@]}" "chapters/$CH/demo.c" -o "$OUT/loadgen" || { echo "bench: the load client does not build" >&2; exit 1; }
names+=(ferrite) bins+=("$OUT/echo-server-$IMPL_TAG --max-conns 20000 --port 0")
# Part 6's server, when this kernel allows io_uring (the probe is the server itself: it says why when it cannot).
"$OUT/echo-server-$IMPL_TAG" --engine uring --port 0 >"$OUT/uring-probe.out" 2>&1 &
probe=$!
for _ in $(seq 100); do
    grep -q '^listening on' "$OUT/uring-probe.out" && break
    kill -0 "$probe" 2>/dev/null || break
    sleep 0.02
done
if grep -q '^listening on' "$OUT/uring-probe.out"; then
    names+=(uring) bins+=("$OUT/echo-server-$IMPL_TAG --engine uring --max-conns 20000 --port 0")
else
    skipped+=("uring: $(tail -n1 "$OUT/uring-probe.out")")
fi
kill "$probe" 2>/dev/null || true
wait "$probe" 2>/dev/null || true

echo "building the Tokio echo (cargo, offline, Debian's crate sources) ..."
CARGO=${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}
if bench_cargo_build tokio-echo "bench/$CH/tokio-echo" librust-tokio-dev 'tokio-1.*'; then
    names+=(tokio) bins+=("$OUT/tokio-echo/target/release/tokio-echo 0")
else
    skipped+=("tokio: $BENCH_CARGO_WHY")
fi

echo "building the libuv echo ..."
if ! pkg-config --exists libuv 2>/dev/null; then
    skipped+=("libuv: libuv1-dev is not installed (apt-get install libuv1-dev)")
elif "$CC" -std=c17 -Wall -Wextra -Werror -O2 "bench/$CH/uv_echo.c" -o "$OUT/uv_echo" \
    $(pkg-config --cflags --libs libuv) 2>"$OUT/uv-build.log"; then
    names+=(libuv) bins+=("$OUT/uv_echo 0")
else
    skipped+=("libuv: uv_echo.c does not build: $(head -n1 "$OUT/uv-build.log")")
fi
for s in "${skipped[@]}"; do bench_note "${s%%:*}: not measured:${s#*:}"; done
if [[ " ${names[*]} " == *" tokio "* ]]; then
    bench_meta peer "tokio: crate $(bench_crate_version "$OUT/tokio-echo/Cargo.lock" tokio) (Debian's crate sources)," \
        "$(bench_version "$CARGO" --version), multi-thread runtime"
fi
if [[ " ${names[*]} " == *" libuv "* ]]; then
    bench_meta peer "libuv: $(pkg-config --modversion libuv) (Debian's libuv1-dev)"
fi

SERVER_CPU=() CLIENT_CPU=()
if [[ $PIN == 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_CPU=(taskset -c 0) CLIENT_CPU=(taskset -c 1)
fi

# start_server INDEX: starts the server, sets SERVER_PID and SERVER_PORT.
start_server() {
    local fifo=$OUT/server.out
    rm -f "$fifo"
    # shellcheck disable=SC2086  # bins[] holds a command line
    "${SERVER_CPU[@]}" ${bins[$1]} >"$fifo" 2>"$OUT/server-${names[$1]}.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 200); do
        grep -q '^listening on' "$fifo" 2>/dev/null && break
        sleep 0.02
    done
    SERVER_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$fifo")
    [[ -n $SERVER_PORT ]] || { echo "bench: ${names[$1]} did not start: $(cat "$OUT/server-${names[$1]}.err")" >&2; return 1; }
}
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# CPU time (user + system, all threads) a process has used, in ms; sys_ms: the system (kernel) part alone.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }
sys_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print $13 * 1000 / hz }' "/proc/$1/stat"; }

# ---- ping-pong, interleaved -------------------------------------------------------------------------------------
TSV=$OUT/results-$IMPL_TAG.tsv
: >"$TSV"
echo "running $REPS rounds of: ${names[*]} x conns {${CONNS[*]}} x sizes {${SIZES[*]}} B, ${SECS} s each" \
    "${SERVER_CPU:+(servers on CPU 0, client on CPU 1)}"
for ((r = 1; r <= REPS; r++)); do
    for c in "${CONNS[@]}"; do
        for s in "${SIZES[@]}"; do
            for i in "${!names[@]}"; do
                start_server "$i" || continue
                cpu0=$(cpu_ms "$SERVER_PID") sys0=$(sys_ms "$SERVER_PID")
                line=$("${CLIENT_CPU[@]}" "$OUT/loadgen" --port "$SERVER_PORT" --conns "$c" --size "$s" \
                    --seconds "$SECS" --warmup "$WARMUP" | grep '^RESULT' || true)
                cpu=$(($(cpu_ms "$SERVER_PID") - cpu0)) sys=$(($(sys_ms "$SERVER_PID") - sys0))
                stop_server
                if [[ -z $line ]]; then
                    echo "bench: ${names[$i]} gave no result for $c x $s B" >&2
                    continue
                fi
                # The server's CPU seconds over every message it echoed (warm-up included), in ns per message.
                read -r all_msgs < <(bench_fields all_msgs <<<"$line")
                cpu_ns=$(awk -v cpu="$cpu" -v m="$all_msgs" 'BEGIN { printf "%.0f", m ? cpu * 1e6 / m : 0 }')
                sys_pct=$(awk -v cpu="$cpu" -v sys="$sys" 'BEGIN { printf "%.0f", cpu ? 100 * sys / cpu : 0 }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${names[$i]}" "$c" "$s" \
                    "$(bench_fields msg_per_s p50_us p99_us errors stalls <<<"$line")" "$cpu_ns" "$sys_pct" \
                    "$(bench_fields client_cpu_pct <<<"$line")" >>"$TSV"
            done
        done
    done
    printf '  round %d/%d done\n' "$r" "$REPS"
done

# ---- memory of idle connections ---------------------------------------------------------------------------------
RSS_TSV=$OUT/rss-$IMPL_TAG.tsv
: >"$RSS_TSV"
if ((IDLE_CONNS > 0)); then
    echo "memory: $IDLE_CONNS idle connections per server ..."
    for i in "${!names[@]}"; do
        start_server "$i" || continue
        sleep 0.2
        before=$(rss_kb "$SERVER_PID")
        "${CLIENT_CPU[@]}" "$OUT/loadgen" --port "$SERVER_PORT" --idle "$IDLE_CONNS" --seconds 30 >"$OUT/idle.out" &
        client=$!
        PIDS+=("$client")
        for _ in $(seq 1500); do grep -q '^IDLE ready' "$OUT/idle.out" 2>/dev/null && break; sleep 0.02; done
        sleep 0.3
        after=$(rss_kb "$SERVER_PID")
        errs=$(sed -n 's/^IDLE ready .*errors=\([0-9]*\).*/\1/p' "$OUT/idle.out")
        kill "$client" 2>/dev/null || true
        wait "$client" 2>/dev/null || true
        stop_server
        printf '%s\t%s\t%s\t%s\n' "${names[$i]}" "$before" "$after" "${errs:-?}" >>"$RSS_TSV"
    done
fi

# ---- system calls per message --------------------------------------------------------------------------------------
# One run per server under `strace -f -c` (every thread), 50 x 26 B: the calls it made over the messages it echoed.
SYS_TSV=$OUT/syscalls-$IMPL_TAG.tsv
: >"$SYS_TSV"
if [[ $STRACE == 1 ]] && command -v strace >/dev/null; then
    echo "system calls: one run per server under strace -f -c, ${CONNS[0]} x 26 B ..."
    for i in "${!names[@]}"; do
        orig=${bins[$i]}
        bins[$i]="strace -f -c -o $OUT/strace-${names[$i]}.txt $orig"
        if start_server "$i"; then
            line=$("${CLIENT_CPU[@]}" "$OUT/loadgen" --port "$SERVER_PORT" --conns "${CONNS[0]}" --size 26 \
                --seconds 1 --warmup 0 | grep '^RESULT' || true)
            pkill -TERM -P "$SERVER_PID" 2>/dev/null || true # the server itself; strace ends with it and reports
            wait "$SERVER_PID" 2>/dev/null || true
            read -r all_msgs < <(bench_fields all_msgs <<<"$line")
            # strace's table ends with a line "100.00 ... total": its fourth field is the number of calls.
            calls=$(awk '$NF == "total" { print $(NF - 2) }' "$OUT/strace-${names[$i]}.txt")
            top=$(awk '$NF != "total" && $1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF ":" $4 }' \
                "$OUT/strace-${names[$i]}.txt" | sort -t: -k2 -nr | head -n3 | paste -sd' ')
            if [[ -n $calls && -n ${all_msgs:-} && $all_msgs -gt 0 ]]; then
                printf '%s\t%s\t%s\t%s\n' "${names[$i]}" "$calls" "$all_msgs" "$top" >>"$SYS_TSV"
            fi
        fi
        bins[$i]=$orig
    done
fi

# ---- report -------------------------------------------------------------------------------------------------------
# median PROG CONNS SIZE COLUMN (4 msg/s, 5 p50, 6 p99, 9 CPU ns/msg, 10 kernel % of that, 11 the client's CPU % of
# its core); empty when there is no result.
median() {
    awk -F'\t' -v p="$1" -v c="$2" -v s="$3" -v k="$4" '$1 == p && $2 == c && $3 == s { print $k }' "$TSV" |
        bench_median %.0f
}
total() { awk -F'\t' -v p="$1" -v c="$2" -v s="$3" -v k="$4" '$1 == p && $2 == c && $3 == s { t += $k } END { print t + 0 }' "$TSV"; }
has() { [[ " ${names[*]} " == *" $1 "* ]]; }

echo
echo "chapter 03: echo ping-pong, every byte checked; IMPL=$IMPL; medians of $REPS interleaved runs of ${SECS} s"
echo "$(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')${SERVER_CPU:+; servers pinned to CPU 0, client to CPU 1}"
echo "msg/s and latency are what the load client saw; CPU ns/msg is the server's own CPU time per echoed message"
echo "(user + system, all threads), which still compares servers when the one-core client is the bottleneck;"
echo "kernel % is the system part of that time; client CPU % is the load client's own, of its one core (near 100:"
echo "the client sets the pace). uring is part 6's server: the same chapter on io_uring."
row() { printf '  %-12s %-11s %11s %11s %11s %11s %9s %9s\n' "$@"; }
echo
row conns×size "" ferrite uring tokio libuv f/tokio u/tokio
verdict_tput=met verdict_p99=met verdict_stall=met verdict_uring=met details=()
for c in "${CONNS[@]}"; do
    for s in "${SIZES[@]}"; do
        declare -A m=() p50=() p99=() cpu=() ker=() cli=() bad=()
        for p in ferrite uring tokio libuv; do
            m[$p]=$(median $p "$c" "$s" 4) p50[$p]=$(median $p "$c" "$s" 5) p99[$p]=$(median $p "$c" "$s" 6)
            cpu[$p]=$(median $p "$c" "$s" 9) ker[$p]=$(median $p "$c" "$s" 10) cli[$p]=$(median $p "$c" "$s" 11)
            bad[$p]=$([[ -z ${m[$p]} ]] || echo "$(total $p "$c" "$s" 7)/$(total $p "$c" "$s" 8)")
        done
        # vs KEY ROW: ferrite's and uring's ratios to Tokio for one row (m, p50, p99 or cpu).
        vs() {
            local -n a=$1
            echo "$(bench_ratio "${a[ferrite]:-}" "${a[tokio]:-}") $(bench_ratio "${a[uring]:-}" "${a[tokio]:-}")"
        }
        # shellcheck disable=SC2046  # vs prints two words, one per column
        {
            row "$c×${s}B" msg/s "${m[ferrite]:--}" "${m[uring]:--}" "${m[tokio]:--}" "${m[libuv]:--}" $(vs m)
            row "" "p50 µs" "${p50[ferrite]:--}" "${p50[uring]:--}" "${p50[tokio]:--}" "${p50[libuv]:--}" $(vs p50)
            row "" "p99 µs" "${p99[ferrite]:--}" "${p99[uring]:--}" "${p99[tokio]:--}" "${p99[libuv]:--}" $(vs p99)
            row "" "CPU ns/msg" "${cpu[ferrite]:--}" "${cpu[uring]:--}" "${cpu[tokio]:--}" "${cpu[libuv]:--}" $(vs cpu)
        }
        row "" "kernel %" "${ker[ferrite]:--}" "${ker[uring]:--}" "${ker[tokio]:--}" "${ker[libuv]:--}" "" ""
        row "" "client CPU %" "${cli[ferrite]:--}" "${cli[uring]:--}" "${cli[tokio]:--}" "${cli[libuv]:--}" "" ""
        row "" "err/stalls" "${bad[ferrite]:--}" "${bad[uring]:--}" "${bad[tokio]:--}" "${bad[libuv]:--}" "" ""
        if ((s == 26)) && [[ -n ${m[uring]} && -n ${m[tokio]} ]]; then
            if awk -v a="${m[uring]}" -v b="${m[tokio]}" 'BEGIN { exit !(a < 1.2 * b) }'; then
                verdict_uring=missed
                details+=("uring msg/s $c×${s}B: $(bench_ratio "${m[uring]}" "${m[tokio]}") of Tokio's")
            fi
        elif ((s == 26)); then
            verdict_uring="not judged (no uring or Tokio result)"
        fi
        if [[ -n ${m[ferrite]} && -n ${m[tokio]} ]]; then
            if awk -v a="${m[ferrite]}" -v b="${m[tokio]}" 'BEGIN { exit !(a < 1.5 * b) }'; then
                verdict_tput=missed
                details+=("msg/s $c×${s}B: $(bench_ratio "${m[ferrite]}" "${m[tokio]}") of Tokio's")
            fi
            if ((p99[ferrite] > p99[tokio])); then
                verdict_p99=missed
                details+=("p99 $c×${s}B: ${p99[ferrite]} µs > Tokio's ${p99[tokio]} µs")
            fi
        else
            verdict_tput="not judged (no Tokio result)" verdict_p99=$verdict_tput
        fi
        # At 1000 connections a round trip waits for ~999 others (Little's law), so 30 ms there is queueing, not
        # a stall: the delayed-ACK stall is judged where latency is otherwise sub-millisecond.
        if ((s == 4096 && c == CONNS[0])) && [[ -n ${m[ferrite]} ]] && (($(total ferrite "$c" "$s" 8) > 0)); then
            verdict_stall=missed
            details+=("round trips ≥ 30 ms at $c×4096B: $(total ferrite "$c" "$s" 8)")
        fi
    done
done
echo "  (err/stalls: transfer errors / round trips of 30 ms or more, summed over the runs)"

if [[ -s $SYS_TSV ]]; then
    echo
    printf '  %-10s %12s %12s %12s  %s\n' "strace -c" "calls" messages "calls/msg" "most made"
    while IFS=$'\t' read -r p calls msgs top; do
        printf '  %-10s %12s %12s %12s  %s\n' "$p" "$calls" "$msgs" \
            "$(awk -v a="$calls" -v b="$msgs" 'BEGIN { printf "%.3f", a / b }')" "$top"
    done <"$SYS_TSV"
fi

verdict_rss="not judged"
if [[ -s $RSS_TSV ]]; then
    echo
    printf '  %-10s %12s %12s %14s %8s\n' "idle ×$IDLE_CONNS" "RSS before" "RSS after" "bytes/conn" errors
    declare -A per=()
    while IFS=$'\t' read -r p b a e; do
        per[$p]=$(awk -v b="$b" -v a="$a" -v n="$IDLE_CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
        printf '  %-10s %9s kB %9s kB %14s %8s\n' "$p" "$b" "$a" "${per[$p]}" "$e"
    done <"$RSS_TSV"
    if [[ -n ${per[ferrite]:-} && -n ${per[tokio]:-} ]]; then
        verdict_rss=met
        ((per[ferrite] * 2 > per[tokio])) && verdict_rss=missed
        verdict_rss="$verdict_rss (ferrite $(bench_ratio "${per[ferrite]}" "${per[tokio]}") of Tokio's bytes per connection)"
    fi
fi

echo
echo "targets (against Tokio, same run):"
echo "  msg/s ≥ 1.5× Tokio in every configuration:  $verdict_tput"
echo "  p99 ≤ Tokio's in every configuration:        $verdict_p99"
echo "  no round trip ≥ 30 ms at ${CONNS[0]}×4 KiB (ferrite): $verdict_stall"
echo "  RSS per idle connection ≤ ½ of Tokio's:      $verdict_rss"
echo "  uring msg/s ≥ 1.2× Tokio at 26 B (part 6):   $verdict_uring"
for d in "${details[@]}"; do echo "    missed: $d"; done
for s in "${skipped[@]}"; do echo "  not run: $s"; done
echo "raw runs: $TSV${IDLE_CONNS:+, $RSS_TSV}"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
# peers PROG: the contenders a ferrite bar is compared with (none for the peers themselves).
peers() { if [[ $1 == ferrite || $1 == uring ]]; then echo "tokio,libuv"; fi; }
# Targets, as judged above: msg/s ≥ 1.5× Tokio's, p99 ≤ Tokio's, bytes per idle connection ≤ ½ of Tokio's.
for c in "${CONNS[@]}"; do
    for s in "${SIZES[@]}"; do
        tokio_tput=$(median tokio "$c" "$s" 4)
        tput_target=$(awk -v t="$tokio_tput" 'BEGIN { if (t != "") printf "%.0f", 1.5 * t }')
        for p in ferrite uring tokio libuv; do
            bench_summary_row "echo ping-pong, $c connections × $s B — throughput" $p "$(median $p "$c" "$s" 4)" msg/s \
                higher "$tput_target" "$(peers $p)"
        done
        tokio_p99=$(median tokio "$c" "$s" 6)
        for p in ferrite uring tokio libuv; do
            bench_summary_row "echo ping-pong, $c connections × $s B — p99 round trip" $p "$(median $p "$c" "$s" 6)" \
                µs lower "$tokio_p99" "$(peers $p)"
        done
    done
done
if [[ -s $RSS_TSV ]]; then
    rss_target=$(awk -v t="${per[tokio]:-}" 'BEGIN { if (t != "") printf "%.0f", t / 2 }')
    for p in ferrite uring tokio libuv; do
        bench_summary_row "memory per idle connection ($IDLE_CONNS idle, RSS growth)" $p "${per[$p]:-}" bytes lower \
            "$rss_target" "$(peers $p)"
    done
fi
if [[ -s $SYS_TSV ]]; then
    while IFS=$'\t' read -r p calls msgs _; do
        bench_summary_row "system calls per echoed message (${CONNS[0]} connections × 26 B, strace -f -c)" "$p" \
            "$(awk -v a="$calls" -v b="$msgs" 'BEGIN { printf "%.3f", a / b }')" calls lower "" "$(peers "$p")"
    done <"$SYS_TSV"
fi
pinning=${SERVER_CPU:+; servers pinned to CPU 0, client to CPU 1}
bench_summary_meta "chapter 03: echo ping-pong, every byte checked;" \
    "IMPL=$IMPL; medians of $REPS interleaved runs of ${SECS} s$pinning"
RUN_SECONDS=$SECS
bench_record REPS RUN_SECONDS WARMUP IDLE_CONNS STRACE PIN
