#!/usr/bin/env bash
# Chapter 01 benchmark: push then pop through the fv_ vector (generic calls, and typed inline hot paths), Rust's
# Vec and C++'s std::vector, in one run.
#
# Builds the four programs into $BUILD/bench/01-ownership-buffers/ (never into the source tree), runs them in
# rounds, each program once per workload and round, starting each round with the next program (round 1: generic,
# typed, rust, c++; round 2: typed, rust, c++, generic ...) so that neither whatever else the machine is doing nor
# the program that ran just before falls on one contender more than another, and prints median times and ratios.
# The target is judged on paired ratios: typed over rust within each round, then the median of those, with a
# distribution-free 95 % interval. Exits 0 whether or not the target is met; non-zero only when the fv_ program
# cannot be built or gives a wrong answer.
#
# Two sizes. Full size: one repetition per process, a buffer of 400 MB (u32) or 240 MB (s24) faulted in from
# fresh pages, where the kernel and the memory set the time. In cache: the same loops over 10^6 u32 / 10^5 structs,
# repeated in one process (200 / 1000 times, the median repetition kept), where the buffer is reused from the
# malloc heap and the vectors' own code sets the time.
#
# Environment:
#   IMPL=solutions|chapters|<dir>  whose rawvec.c/vec.c/vec_iter.c to benchmark (default: solutions); the given
#                                  rawvec_given.c always comes from chapters/
#   REPS=11                        rounds; each round runs every program once per workload and size
#   N_U32=100000000 N_S24=10000000 elements per workload at full size
#   CACHE=1                        0 leaves out the in-cache size
#   ALIGN_LOOPS=64                 align every loop of all four programs to 64 bytes (gcc -falign-loops, LLVM
#                                  -align-loops); default 0, each compiler's own placement (README, "Where the
#                                  loop lands")
#   PIN=<cpu>                      the CPU every run is pinned to (default: the last one); PIN=none lets the
#                                  scheduler choose. On this kind of virtual machine the same loop can take 1.4
#                                  times as long on one virtual CPU as on the other (README, "Measuring it").
#   HUGEPAGES=1                    ask glibc's malloc for transparent huge pages (all three programs alike)
#   CC=gcc CXX=g++ RUSTC=rustc BUILD=build
#   RECORD=0                       leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=01-ownership-buffers
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-11}
N_U32=${N_U32:-100000000}
N_S24=${N_S24:-10000000}
CACHE=${CACHE:-1}
PIN=${PIN:-$(($(nproc) - 1))}
ALIGN_LOOPS=${ALIGN_LOOPS:-0}
[[ $ALIGN_LOOPS =~ ^[0-9]+$ ]] || { echo "bench: ALIGN_LOOPS must be 0 or a power of two, not '$ALIGN_LOOPS'" >&2; exit 2; }
align_c=() align_rs=()
if ((ALIGN_LOOPS > 0)); then align_c=("-falign-loops=$ALIGN_LOOPS") align_rs=(-C "llvm-args=-align-loops=$ALIGN_LOOPS"); fi
pin=()
if [[ $PIN != none ]]; then
    if ! taskset -c "$PIN" true 2>/dev/null; then
        echo "bench: PIN=$PIN is not a CPU this process may run on (taskset, from util-linux, pins the runs)" >&2
        exit 2
    fi
    pin=(taskset -c "$PIN")
fi
# The in-cache size: elements and repetitions in one process (fixed: the README's per-element figures use them).
N_U32C=1000000 REPS_U32C=200
N_S24C=100000 REPS_S24C=1000
CXX=${CXX:-g++}
RUSTC=${RUSTC:-rustc}

bench_positive_ints REPS
if [[ ${HUGEPAGES:-0} == 1 ]]; then
    export GLIBC_TUNABLES=glibc.malloc.hugetlb=1
fi
mkdir -p "$OUT/obj-$IMPL_TAG"

# ---- build --------------------------------------------------------------------------------------------------
# Defaults on every side: -O2 for C and C++, -O for Rust (opt-level 2); no -march/-C target-cpu on either.
# The C side adds -flto: the fv_ functions live in other translation units, and link-time optimisation lets
# fv_push/fv_pop inline into the loops — what Rust gets from monomorphising Vec<T>::push into the caller's crate.
# And -DNDEBUG on every C object: the reference solution asserts cheap misuse checks (vec.h says which) in the
# debug builds the tests use; NDEBUG removes them here, as Rust's release profile removes debug_assert!, so the
# figures compare release code with release code.

# Every .c file of the chapter's library, with its path: the sources from $IMPL and the given files from chapters/.
lib_srcs=$(bench_chapter_var CHAPTER_SRCS)
C_FLAGS=(-std=c17 -Wall -Wextra -Werror -O2 -flto -DNDEBUG "${align_c[@]}" "-Ichapters/$CH" -Ichapters/include)
C_BIN=$OUT/bench_vec-$IMPL_TAG
objs=()
echo "building ($IMPL, $CC -O2 -flto -DNDEBUG${align_c[*]:+ ${align_c[*]}}) ..."
for src in $lib_srcs $SRC/bench_vec.c; do
    if [[ ! -f $src ]]; then
        echo "bench: $src is missing; chapter $CH needs: $lib_srcs" >&2
        exit 1
    fi
    obj=$OUT/obj-$IMPL_TAG/$(basename "${src%.c}").o
    "$CC" "${C_FLAGS[@]}" -c "$src" -o "$obj" || { echo "bench: $src does not compile (see above)" >&2; exit 1; }
    objs+=("$obj")
done
# At link time GCC inlines across files and then warns about copies of sizes the element can never have (the
# cases of a switch on a run-time size it cannot rule out); each file already compiled clean under -Werror, so
# those two false alarms are silenced here and every other warning still shows.
LINK_FLAGS=(-O2 -flto "${align_c[@]}" -Wno-stringop-overread -Wno-stringop-overflow)
"$CC" "${LINK_FLAGS[@]}" "${objs[@]}" -o "$C_BIN" || { echo "bench: linking $C_BIN failed (see above)" >&2; exit 1; }
# The same loops through FV_DEFINE_TYPED's inline hot paths (vec.h); C_FLAGS' -DNDEBUG drops their layout
# assertion too.
T_BIN=$OUT/bench_vec_typed-$IMPL_TAG
"$CC" "${C_FLAGS[@]}" -DBENCH_TYPED -c "$SRC/bench_vec.c" -o "$OUT/obj-$IMPL_TAG/bench_vec_typed.o" ||
    { echo "bench: $SRC/bench_vec.c does not compile with -DBENCH_TYPED" >&2; exit 1; }
"$CC" "${LINK_FLAGS[@]}" "${objs[@]:0:${#objs[@]}-1}" "$OUT/obj-$IMPL_TAG/bench_vec_typed.o" -o "$T_BIN" ||
    { echo "bench: linking $T_BIN failed (see above)" >&2; exit 1; }

progs=(ferrite ferrite-typed)
bins=("$C_BIN" "$T_BIN")
if command -v "$RUSTC" >/dev/null; then
    echo "building (rustc -O${align_rs[*]:+ ${align_rs[*]}}) ..."
    "$RUSTC" -O --edition 2021 "${align_rs[@]}" "$SRC/vec_bench.rs" -o "$OUT/vec_bench_rs"
    progs+=(rust)
    bins+=("$OUT/vec_bench_rs")
    bench_meta peer "rust: std's Vec, $(bench_version "$RUSTC" --version)"
else
    bench_note "rust: not measured: $RUSTC not found (install rustup from https://rustup.rs," \
        "or Debian's package: apt-get install rustc)"
fi
if command -v "$CXX" >/dev/null; then
    echo "building ($CXX -O2${align_c[*]:+ ${align_c[*]}}) ..."
    "$CXX" -std=c++17 -Wall -Wextra -Werror -O2 "${align_c[@]}" "$SRC/vec_bench.cpp" -o "$OUT/vec_bench_cpp"
    progs+=(c++)
    bins+=("$OUT/vec_bench_cpp")
    bench_meta peer "c++: std::vector, $(bench_version "$CXX" --version), libstdc++"
else
    bench_note "c++: not measured: $CXX not found (Debian package: apt-get install g++)"
fi

# ---- run, in rounds ------------------------------------------------------------------------------------------
# One line per run in the TSV: program, workload, wall ms, user ms, sys ms, round. Full-size workloads (u32, s24)
# time one repetition; in-cache ones (u32c, s24c) keep the program's median repetition as the wall time and no
# CPU split: a repetition lasts well under one 4 ms tick of the kernel's CPU accounting, and after the first it
# makes no system call and takes no page fault, so its time is user time whenever the process kept its core.
TSV=$OUT/results-$IMPL_TAG.tsv
: >"$TSV"
declare -A N=([u32]=$N_U32 [s24]=$N_S24 [u32c]=$N_U32C [s24c]=$N_S24C)
declare -A TIMES=([u32]=1 [s24]=1 [u32c]=$REPS_U32C [s24c]=$REPS_S24C)
declare -A ELEM=([u32]=u32 [s24]=s24 [u32c]=u32 [s24c]=s24)
workloads=(u32 s24)
if [[ $CACHE == 1 ]]; then workloads+=(u32c s24c); fi
sizes="u32 x $N_U32, s24 x $N_S24"
if [[ $CACHE == 1 ]]; then sizes+="; in cache: u32 x $N_U32C x $REPS_U32C, s24 x $N_S24C x $REPS_S24C"; fi
echo "running $REPS rounds of: ${progs[*]}, each starting with the next program ($sizes)${GLIBC_TUNABLES:+, $GLIBC_TUNABLES}," \
    "$([[ $PIN == none ]] && echo "on any CPU" || echo "on CPU $PIN") ..."
for ((r = 1; r <= REPS; r++)); do
    for w in "${workloads[@]}"; do
        for ((k = 0; k < ${#progs[@]}; k++)); do
            i=$(((k + r - 1) % ${#progs[@]}))
            # std::vector allocates the larger block before it frees the smaller, so glibc maps every block past
            # its mmap threshold afresh: a repetition of C++'s is never in cache, and 20 to 100 times as slow.
            if [[ ${progs[$i]} == c++ && ${TIMES[$w]} != 1 ]]; then continue; fi
            if ! out=$("${pin[@]}" "${bins[$i]}" "${ELEM[$w]}" "${N[$w]}" "${TIMES[$w]}") || ! grep -q '^RESULT .* ok=1' <<<"$out"
            then
                echo "bench: ${progs[$i]} failed on $w (wrong checksum or an error above)" >&2
                if [[ ${progs[$i]} == ferrite* ]]; then
                    echo "bench: the code in $IMPL/$CH must pass 'make check CH=01 IMPL=$IMPL' before it can be timed" >&2
                    exit 1
                fi
                continue
            fi
            if [[ ${TIMES[$w]} == 1 ]]; then
                fields=$(grep -m1 '^RUN ' <<<"$out" | bench_fields ms user_ms sys_ms)
            else
                fields=$(grep -m1 '^RESULT ' <<<"$out" | bench_fields median_ms)$'\t\t'
            fi
            printf '%s\t%s\t%s\t%d\n' "${progs[$i]}" "$w" "$fields" "$r" >>"$TSV"
        done
    done
    printf '  round %d/%d done\n' "$r" "$REPS"
done

# ---- report -------------------------------------------------------------------------------------------------
# median PROG WORKLOAD COLUMN (3 = wall, 4 = user, 5 = sys): the median of PROG's rounds; empty when the program
# has no result. Full-size times have one decimal; in-cache ones, a fraction of a millisecond, three.
median() {
    local fmt=%.1f
    [[ ${TIMES[$2]} == 1 ]] || fmt=%.3f
    awk -F'\t' -v p="$1" -v w="$2" -v c="$3" '$1 == p && $2 == w && $c != "" { print $c }' "$TSV" | bench_median $fmt
}

# paired A B WORKLOAD COLUMN: "R LO HI" — the median R of A's time over B's within each round, and the order
# statistics LO and HI of those ratios that bound a distribution-free interval of at least 95 % for their median
# (the k-th smallest and largest, k the largest with P(Binomial(n, 1/2) < k) <= 2.5 %); LO and HI are "-" below
# six rounds, too few for such an interval. Nothing when no round has both.
paired() {
    awk -F'\t' -v a="$1" -v b="$2" -v w="$3" -v c="$4" '
        $2 == w && ($1 == a || $1 == b) && $c != "" { t[$1, $6] = $c; round[$6] = 1 }
        END {
            n = 0
            for (r in round)
                if ((a, r) in t && (b, r) in t && t[b, r] > 0) x[++n] = t[a, r] / t[b, r]
            if (n == 0) exit
            for (i = 2; i <= n; i++) { v = x[i]; for (j = i - 1; j >= 1 && x[j] > v; j--) x[j + 1] = x[j]; x[j + 1] = v }
            med = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
            k = 0; cdf = 0; choose = 1
            for (j = 0; j < n; j++) {
                cdf += choose * 0.5 ^ n
                if (cdf > 0.025) break
                k = j + 1; choose = choose * (n - j) / (j + 1)
            }
            if (k >= 1) printf "%.2f %.2f %.2f\n", med, x[k], x[n + 1 - k]
            else printf "%.2f - -\n", med
        }' "$TSV"
}

table() {  # table COLUMN TITLE WORKLOAD...
    local col=$1 title=$2
    shift 2
    echo
    echo "$title"
    printf '  %-22s %9s %9s %9s %9s %12s %12s %12s\n' workload generic typed rust c++ \
        generic/rust typed/rust typed/c++
    for w in "$@"; do
        local g t r c label="$w x ${N[$w]}"
        g=$(median ferrite $w "$col") t=$(median ferrite-typed $w "$col")
        r=$(median rust $w "$col") c=$(median c++ $w "$col")
        [[ ${TIMES[$w]} == 1 ]] || label="${ELEM[$w]} x ${N[$w]} x ${TIMES[$w]}"
        printf '  %-22s %9s %9s %9s %9s %12s %12s %12s\n' "$label" "$g" "$t" "${r:--}" "${c:--}" \
            "$(bench_ratio "$g" "$r")" "$(bench_ratio "$t" "$r")" "$(bench_ratio "$t" "$c")"
    done
}

echo
echo "chapter 01: push N elements into an empty vector (growth included), pop them all, free; IMPL=$IMPL"
echo "medians of $REPS rounds; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
table 3 "full size, wall time" u32 s24
table 4 "full size, user CPU time (sampled at the kernel's tick: see the README)" u32 s24
if [[ $CACHE == 1 ]]; then
    table 3 "in cache, median repetition (user time: no system call, no page fault)" u32c s24c
fi
echo "generic = every push and pop a call to the chapter's functions (element size read at run time);"
echo "typed   = the same functions behind FV_DEFINE_TYPED's inline hot paths (vec.h), as Rust monomorphises Vec<T>."

# judge PROG: the paired ratios of PROG over rust that the target names, one "measure workload R [LO-HI]" each;
# VERDICT becomes met (every median at or under 1.00), missed, or "not judged" when a ratio is missing.
judge() {
    local m w p lines=() label
    VERDICT=met
    for m in "3 wall" "4 user"; do
        for w in "${workloads[@]}"; do
            [[ ${TIMES[$w]} == 1 || $m == 3* ]] || continue
            read -r -a p <<<"$(paired "$1" rust "$w" "${m%% *}")"
            if ((${#p[@]} == 0)); then VERDICT="not judged (no result)"; continue; fi
            label="${m#* } $w"
            [[ ${TIMES[$w]} == 1 ]] || label="in-cache ${ELEM[$w]}"
            lines+=("$label ${p[0]}x [${p[1]}-${p[2]}]")
            awk -v x="${p[0]}" 'BEGIN { exit !(x > 1.0) }' && [[ $VERDICT == met ]] && VERDICT=missed
        done
    done
    JUDGED=$(printf '%s, ' "${lines[@]}")
    JUDGED=${JUDGED%, }
}
echo
echo "target ≤ 1.0× Rust, typed hot path, wall and user time on both workloads; the median of the $REPS rounds'"
echo "typed/rust ratios, with its 95 % interval (a ratio whose interval holds 1.00 is inside this machine's noise):"
judge ferrite-typed
echo "  typed:   $VERDICT ($JUDGED)"
bench_meta "paired typed/rust" "$VERDICT ($JUDGED)"
judge ferrite
echo "  generic, for reference: $VERDICT ($JUDGED)"
bench_meta "paired generic/rust" "$JUDGED"
echo "raw runs: $TSV"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
declare -A WHAT=([u32]="u32" [s24]="24-byte structs")
# peers PROG: the contenders a ferrite bar is compared with (none for the peers themselves).
peers() { if [[ $1 == ferrite* ]]; then echo "rust,c++"; fi; }
# One chart per measure ("COLUMN title") and workload; the target (≤ 1.0× Rust) is Rust's median.
charts=("3 u32 wall time" "3 s24 wall time" "4 u32 user CPU time" "4 s24 user CPU time")
if [[ $CACHE == 1 ]]; then charts+=("3 u32c time per repetition, in cache" "3 s24c time per repetition, in cache"); fi
for chart in "${charts[@]}"; do
    read -r col w title <<<"$chart"
    target=$(median rust "$w" "$col")
    for p in "ferrite generic:ferrite" "ferrite typed:ferrite-typed" "rust:rust" "c++:c++"; do
        bench_summary_row "push then pop $(bench_count "${N[$w]}") ${WHAT[${ELEM[$w]}]} — $title" "${p%%:*}" \
            "$(median "${p#*:}" "$w" "$col")" ms lower "$target" "$(peers "${p#*:}")"
    done
done
bench_summary_meta "chapter 01: push N elements into an empty vector" \
    "(growth included), pop them all, free; IMPL=$IMPL; medians of $REPS rounds, each starting with the next program"
HUGEPAGES=${HUGEPAGES:-0}
bench_record REPS N_U32 N_S24 CACHE PIN ALIGN_LOOPS HUGEPAGES
