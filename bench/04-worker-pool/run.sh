#!/usr/bin/env bash
# Chapter 04 benchmark: tiny-task throughput and submit-to-run latency of the wp_ pool, rayon and GThreadPool,
# in one run.
#
# Builds everything into $BUILD/bench/04-worker-pool/ (the rayon project is copied there first, so Cargo.lock
# and target/ never land in the source tree), runs the programs round-robin so that whatever else the machine is
# doing hits all of them alike, and prints medians and ratios. Exits 0 whether or not the target is met;
# non-zero only when the wp_ program cannot be built or gives a wrong answer.
#
# Workloads (N tiny tasks, each adds its index to one shared atomic counter; the sum is checked):
#   spawn P      P producer tasks spawn N/P tasks each from inside the pool  (rayon: scope + Scope::spawn)
#   external P   P outside threads submit N/P tasks each                     (GThreadPool: g_thread_pool_push)
#   latency      one task at a time, time from submit to the task's first instruction
# Every pool has one worker per CPU.
#
# Environment:
#   IMPL=solutions|chapters|<dir>   whose sources (chapter.conf's `sources`) to benchmark (default: solutions)
#   REPS=5 TASKS=1000000 SAMPLES=2000 PRODUCERS=2 (the "several producers" count)
#   CC=gcc BUILD=build CARGO=cargo
#   RECORD=0    leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=04-worker-pool
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-5}
TASKS=${TASKS:-1000000}
SAMPLES=${SAMPLES:-2000}
PRODUCERS=${PRODUCERS:-2}
if [[ -z ${CARGO:-} ]]; then
    CARGO=cargo
    command -v cargo >/dev/null || [[ ! -x $HOME/.cargo/bin/cargo ]] || CARGO=$HOME/.cargo/bin/cargo
fi

bench_positive_ints REPS TASKS SAMPLES PRODUCERS

# ---- build --------------------------------------------------------------------------------------------------
read -ra srcs <<<"$(bench_chapter_var CHAPTER_SRCS)"
for f in "${srcs[@]}"; do
    [[ -f $f ]] || { echo "bench: $f is missing; chapter $CH needs: $(bench_chapter_var sources)" >&2; exit 1; }
done
# A release build: NDEBUG turns off the reference solution's misuse asserts, which the tests' debug builds keep.
echo "building ferrite ($IMPL, $CC -O2 -flto -DNDEBUG) ..."
WP_BIN=$OUT/bench_pool-$IMPL_TAG
"$CC" -std=c17 -Wall -Wextra -Werror -O2 -flto -DNDEBUG "-Ichapters/$CH" -Ichapters/include "${srcs[@]}" \
    "$SRC/bench_pool.c" -pthread -o "$WP_BIN" ||
    { echo "bench: the wp_ benchmark does not build (see above)" >&2; exit 1; }
progs=(ferrite)
bins=("$WP_BIN")

RAYON_BIN=
if command -v "$CARGO" >/dev/null &&
    [[ -d /usr/share/cargo/registry/rayon-1.6.1 || -n $(ls -d /usr/share/cargo/registry/rayon-1.* 2>/dev/null) ]]; then
    echo "building rayon peer (cargo --release --offline, Debian's crate registry) ..."
    mkdir -p "$OUT/rayon-src/src" "$OUT/cargo-home"
    cp "$SRC/rayon/Cargo.toml" "$OUT/rayon-src/"
    cp "$SRC/rayon/src/main.rs" "$OUT/rayon-src/src/"
    printf '%s\n' '[source.crates-io]' 'replace-with = "debian"' '[source.debian]' \
        'directory = "/usr/share/cargo/registry"' '[net]' 'offline = true' >"$OUT/cargo-home/config.toml"
    if CARGO_HOME=$OUT/cargo-home "$CARGO" build --release --offline -q \
        --manifest-path "$OUT/rayon-src/Cargo.toml" --target-dir "$OUT/rayon-target"; then
        RAYON_BIN=$OUT/rayon-target/release/wp-rayon-peer
        progs+=(rayon)
        bins+=("$RAYON_BIN")
        bench_meta peer "rayon: crate $(bench_crate_version "$OUT/rayon-src/Cargo.lock" rayon)," \
            "rayon-core $(bench_crate_version "$OUT/rayon-src/Cargo.lock" rayon-core) (Debian's crate sources)," \
            "$(bench_version "$CARGO" --version)"
    else
        bench_note "rayon: not measured: the rayon peer did not build (see the run's output)"
    fi
else
    bench_note "rayon: not measured: cargo or Debian's librust-rayon-dev not found" \
        "(apt-get install librust-rayon-dev; cargo from rustup or apt-get install cargo)"
fi

GT_BIN=
if pkg-config --exists glib-2.0 2>/dev/null; then
    echo "building GThreadPool peer ($CC -O2, glib $(pkg-config --modversion glib-2.0)) ..."
    GT_BIN=$OUT/bench_gthread
    # shellcheck disable=SC2046
    if "$CC" -std=c17 -Wall -Wextra -Werror -O2 $(pkg-config --cflags glib-2.0) "$SRC/bench_gthread.c" \
        $(pkg-config --libs glib-2.0) -o "$GT_BIN"; then
        progs+=(gthreadpool)
        bins+=("$GT_BIN")
        bench_meta peer "gthreadpool: GLib $(pkg-config --modversion glib-2.0) (Debian's libglib2.0-dev)"
    else
        bench_note "gthreadpool: not measured: the GThreadPool peer did not build (see the run's output)"
        GT_BIN=
    fi
else
    bench_note "gthreadpool: not measured: glib-2.0 not found by pkg-config (apt-get install libglib2.0-dev)"
fi

# ---- run, round-robin -----------------------------------------------------------------------------------------
# workload -> arguments, and which programs run it
declare -A ARGS=([spawn1]="spawn 1 $TASKS" [spawnP]="spawn $PRODUCERS $TASKS" [ext1]="external 1 $TASKS"
    [extP]="external $PRODUCERS $TASKS" [latency]="latency $SAMPLES")
declare -A WHO=([spawn1]="ferrite rayon" [spawnP]="ferrite rayon" [ext1]="ferrite gthreadpool"
    [extP]="ferrite gthreadpool" [latency]="ferrite rayon gthreadpool")
WORKLOADS=(spawn1 spawnP ext1 extP latency)
TSV=$OUT/results-$IMPL_TAG.tsv
: >"$TSV"
echo "running $REPS rounds of: ${progs[*]} ($TASKS tasks, $SAMPLES latency samples, $(nproc) workers each) ..."
for ((r = 1; r <= REPS; r++)); do
    for w in "${WORKLOADS[@]}"; do
        for i in "${!progs[@]}"; do
            [[ " ${WHO[$w]} " == *" ${progs[$i]} "* ]] || continue
            # shellcheck disable=SC2086
            if ! line=$(timeout 120 "${bins[$i]}" ${ARGS[$w]} | grep '^RUN '); then
                echo "bench: ${progs[$i]} failed on $w (wrong sum, a hang or an error above)" >&2
                if [[ ${progs[$i]} == ferrite ]]; then
                    echo "bench: the code in $IMPL/$CH must pass 'make check CH=04 IMPL=$IMPL' before it can be timed" >&2
                    exit 1
                fi
                continue
            fi
            printf '%s\t%s\t%s\n' "${progs[$i]}" "$w" "$(bench_fields tasks_per_s p50_us p99_us <<<"$line")" >>"$TSV"
        done
    done
    printf '  round %d/%d done\n' "$r" "$REPS"
done

# ---- report -------------------------------------------------------------------------------------------------
# median PROG WORKLOAD COLUMN (3 = tasks/s, 4 = p50 µs, 5 = p99 µs); empty when the program has no result.
median() {
    awk -F'\t' -v p="$1" -v w="$2" -v c="$3" '$1 == p && $2 == w && $c != "" { print $c }' "$TSV" | bench_median %.2f
}
mtasks() { [[ -n $1 ]] && awk -v x="$1" 'BEGIN { printf "%.2fM", x / 1e6 }' || echo "-"; }

echo
echo "chapter 04: tiny tasks (tasks/s, higher is better); IMPL=$IMPL"
echo "medians of $REPS interleaved runs; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '  %-40s %10s %10s %12s %14s %16s\n' workload ferrite rayon gthreadpool ferrite/rayon ferrite/gthread
declare -A TITLE=([spawn1]="1 producer, spawn inside the pool" [spawnP]="$PRODUCERS producers, spawn inside the pool"
    [ext1]="1 producer thread, submit from outside" [extP]="$PRODUCERS producer threads, submit from outside")
for w in spawn1 spawnP ext1 extP; do
    f=$(median ferrite $w 3) ry=$(median rayon $w 3) g=$(median gthreadpool $w 3)
    printf '  %-40s %10s %10s %12s %14s %16s\n' "${TITLE[$w]}" "$(mtasks "$f")" "$(mtasks "$ry")" "$(mtasks "$g")" \
        "$(bench_ratio "$f" "$ry")" "$(bench_ratio "$f" "$g")"
done
echo
echo "submit -> run latency, one task at a time (µs, lower is better)"
printf '  %-12s %10s %10s\n' "" p50 p99
for p in ferrite rayon gthreadpool; do
    printf '  %-12s %10s %10s\n' "$p" "$(median $p latency 4 || true)" "$(median $p latency 5 || true)"
done
echo
echo "spawn = rayon's shape: tasks created by a task, pushed on that worker's deque, stolen by the others"
echo "        (a task spawned onto a full wp_ deque runs on the spot; rayon's deque grows instead)."
echo "outside = GThreadPool's shape: every task goes through the pool's one locked queue (the wp_ injector)."

# verdict: ferrite/rayon >= 2.0 on both spawn workloads.
verdict=met detail=()
for w in spawn1 spawnP; do
    x=$(bench_ratio "$(median ferrite $w 3)" "$(median rayon $w 3)")
    detail+=("$w $x")
    if [[ $x == - ]]; then verdict="not judged (no rayon result)"; break; fi
    awk -v x="${x%x}" 'BEGIN { exit !(x < 2.0) }' && verdict=missed
done
echo
echo "target ≥ 2× rayon tasks/s (spawn workloads): $verdict (${detail[*]})"
echo "raw runs: $TSV"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
# peers PROG WORKLOAD: the contenders a ferrite bar is compared with: the other pools of the workload.
peers() { if [[ $1 == ferrite ]]; then local w=${WHO[$2]#ferrite }; echo "${w// /,}"; fi; }
for w in spawn1 spawnP ext1 extP; do
    target=
    if [[ $w == spawn* ]]; then
        target=$(awk -v r="$(median rayon $w 3)" 'BEGIN { if (r != "") printf "%.2f", 2 * r }')
    fi
    for p in ${WHO[$w]}; do
        bench_summary_row "$(bench_count "$TASKS") tiny tasks, ${TITLE[$w]}" "$p" "$(median "$p" $w 3)" tasks/s higher \
            "$target" "$(peers "$p" "$w")"
    done
done
for c in "4 p50" "5 p99"; do
    for p in ${WHO[latency]}; do
        bench_summary_row "submit to run latency, one task at a time — ${c#* }" "$p" "$(median "$p" latency "${c%% *}")" \
            µs lower "" "$(peers "$p" latency)"
    done
done
bench_summary_meta "chapter 04: tiny tasks, $(nproc) workers per pool;" \
    "IMPL=$IMPL; medians of $REPS interleaved runs"
bench_record REPS TASKS SAMPLES PRODUCERS
