#!/usr/bin/env bash
# Chapter 01 benchmark: push then pop through the fv_ vector (generic calls, and typed inline hot paths), Rust's
# Vec and C++'s std::vector, in one run.
#
# Builds the three programs into $BUILD/bench/01-ownership-buffers/ (never into the source tree), runs them
# round-robin (ferrite, rust, c++, ferrite, rust, c++ ...) so that whatever else the machine is doing hits all three
# alike, and prints median times and ratios. Exits 0 whether or not the target is met; non-zero only when the
# fv_ program cannot be built or gives a wrong answer.
#
# Environment:
#   IMPL=solutions|chapters|<dir>  whose rawvec.c/vec.c/vec_iter.c to benchmark (default: solutions); the given
#                                  rawvec_given.c always comes from chapters/
#   REPS=5                         rounds; each round runs every program once per workload
#   N_U32=100000000 N_S24=10000000 elements per workload
#   HUGEPAGES=1                    ask glibc's malloc for transparent huge pages (all three programs alike)
#   CC=gcc CXX=g++ RUSTC=rustc BUILD=build
#   RECORD=0                       leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=01-ownership-buffers
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-5}
N_U32=${N_U32:-100000000}
N_S24=${N_S24:-10000000}
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
C_FLAGS=(-std=c17 -Wall -Wextra -Werror -O2 -flto -DNDEBUG "-Ichapters/$CH" -Ichapters/include)
C_BIN=$OUT/bench_vec-$IMPL_TAG
objs=()
echo "building ($IMPL, $CC -O2 -flto -DNDEBUG) ..."
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
LINK_FLAGS=(-O2 -flto -Wno-stringop-overread -Wno-stringop-overflow)
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
    echo "building (rustc -O) ..."
    "$RUSTC" -O --edition 2021 "$SRC/vec_bench.rs" -o "$OUT/vec_bench_rs"
    progs+=(rust)
    bins+=("$OUT/vec_bench_rs")
    bench_meta peer "rust: std's Vec, $(bench_version "$RUSTC" --version)"
else
    bench_note "rust: not measured: $RUSTC not found (install rustup from https://rustup.rs," \
        "or Debian's package: apt-get install rustc)"
fi
if command -v "$CXX" >/dev/null; then
    echo "building ($CXX -O2) ..."
    "$CXX" -std=c++17 -Wall -Wextra -Werror -O2 "$SRC/vec_bench.cpp" -o "$OUT/vec_bench_cpp"
    progs+=(c++)
    bins+=("$OUT/vec_bench_cpp")
    bench_meta peer "c++: std::vector, $(bench_version "$CXX" --version), libstdc++"
else
    bench_note "c++: not measured: $CXX not found (Debian package: apt-get install g++)"
fi

# ---- run, round-robin -----------------------------------------------------------------------------------------
# One line per run in the TSV: program, workload, wall ms, user ms, sys ms.
TSV=$OUT/results-$IMPL_TAG.tsv
: >"$TSV"
declare -A N=([u32]=$N_U32 [s24]=$N_S24)
echo "running $REPS rounds of: ${progs[*]} (u32 x $N_U32, s24 x $N_S24)${GLIBC_TUNABLES:+, $GLIBC_TUNABLES} ..."
for ((r = 1; r <= REPS; r++)); do
    for w in u32 s24; do
        for i in "${!progs[@]}"; do
            if ! line=$("${bins[$i]}" "$w" "${N[$w]}" 1 | grep '^RUN '); then
                echo "bench: ${progs[$i]} failed on $w (wrong checksum or an error above)" >&2
                if [[ ${progs[$i]} == ferrite* ]]; then
                    echo "bench: the code in $IMPL/$CH must pass 'make check CH=01 IMPL=$IMPL' before it can be timed" >&2
                    exit 1
                fi
                continue
            fi
            grep -q "checksum=" <<<"$line" || { echo "bench: bad output: $line" >&2; exit 1; }
            printf '%s\t%s\t%s\n' "${progs[$i]}" "$w" "$(bench_fields ms user_ms sys_ms <<<"$line")" >>"$TSV"
        done
    done
    printf '  round %d/%d done\n' "$r" "$REPS"
done

# ---- report -------------------------------------------------------------------------------------------------
# median PROG WORKLOAD COLUMN (3 = wall, 4 = user, 5 = sys); empty when the program has no result.
median() {
    awk -F'\t' -v p="$1" -v w="$2" -v c="$3" '$1 == p && $2 == w { print $c }' "$TSV" | bench_median %.1f
}

table() {  # table COLUMN TITLE
    echo
    echo "$2"
    printf '  %-16s %9s %9s %9s %9s %12s %12s %12s\n' workload generic typed rust c++ \
        generic/rust typed/rust typed/c++
    for w in u32 s24; do
        local g t r c
        g=$(median ferrite $w "$1") t=$(median ferrite-typed $w "$1")
        r=$(median rust $w "$1") c=$(median c++ $w "$1")
        printf '  %-16s %9s %9s %9s %9s %12s %12s %12s\n' "$w x ${N[$w]}" "$g" "$t" "${r:--}" "${c:--}" \
            "$(bench_ratio "$g" "$r")" "$(bench_ratio "$t" "$r")" "$(bench_ratio "$t" "$c")"
    done
}

echo
echo "chapter 01: push N elements into an empty vector (growth included), pop them all, free; IMPL=$IMPL"
echo "medians of $REPS interleaved runs; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
table 3 "wall time (the target is judged on this)"
table 4 "user CPU time (without the kernel's page faults, which all three pay alike)"

echo "generic = every push and pop a call to the chapter's functions (element size read at run time);"
echo "typed   = the same functions behind FV_DEFINE_TYPED's inline hot paths (vec.h), as Rust monomorphises Vec<T>."
# verdict PROG: whether PROG's median wall time is within 1.0x Rust's on every workload.
verdict() {
    local v=met detail=() w x
    for w in u32 s24; do
        x=$(bench_ratio "$(median "$1" $w 3)" "$(median rust $w 3)")
        detail+=("$w $x")
        if [[ $x == - ]]; then v="not judged (no result)"; break; fi
        awk -v x="${x%x}" 'BEGIN { exit !(x > 1.0) }' && v=missed
    done
    echo "$v (${detail[*]})"
}
echo
echo "target ≤ 1.0× Rust, typed hot path:   $(verdict ferrite-typed)"
echo "           for reference, generic calls: $(verdict ferrite)"
echo "raw runs: $TSV"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
declare -A WHAT=([u32]="u32" [s24]="24-byte structs")
# peers PROG: the contenders a ferrite bar is compared with (none for the peers themselves).
peers() { if [[ $1 == ferrite* ]]; then echo "rust,c++"; fi; }
# One chart per measure ("COLUMN title") and workload; the target (≤ 1.0× Rust) is Rust's wall time.
for measure in "3 wall time" "4 user CPU time"; do
    for w in u32 s24; do
        target=
        if [[ $measure == 3* ]]; then target=$(median rust $w 3); fi
        for p in "ferrite generic:ferrite" "ferrite typed:ferrite-typed" "rust:rust" "c++:c++"; do
            bench_summary_row "push then pop $(bench_count "${N[$w]}") ${WHAT[$w]} — ${measure#* }" "${p%%:*}" \
                "$(median "${p#*:}" $w "${measure%% *}")" ms lower "$target" "$(peers "${p#*:}")"
        done
    done
done
bench_summary_meta "chapter 01: push N elements into an empty vector" \
    "(growth included), pop them all, free; IMPL=$IMPL; medians of $REPS interleaved runs"
HUGEPAGES=${HUGEPAGES:-0}
bench_record REPS N_U32 N_S24 HUGEPAGES
