#!/usr/bin/env bash
# Chapter 02 benchmark: user-space instructions per raw getpid, through the shim and through glibc, counted with
# callgrind (valgrind --tool=callgrind), which counts every instruction the program executes and none of the
# kernel's: the same number on every run, unlike a timer.
#
# Builds into $BUILD/bench/02-syscall-shim/ (never into the source tree). For each route, runs N calls and a
# baseline of the same loop without the call, both under callgrind, and reports
#     (instructions(route, N) - instructions(baseline, N)) / N
# Routes: the shim (sys_getpid, -O2 -flto, so the asm is inlined into the loop as Rust inlines its
# #[inline(always)] syscall0), glibc's generic syscall(SYS_getpid), glibc's getpid(), and Rust's asm! and
# std::process::id() when rustc is present. Rounds are interleaved; the medians are printed with ratios.
# Target: the shim under 1.0x glibc's syscall(SYS_getpid). Exits 0 whether or not it is met; non-zero only when
# the shim cannot be built or gives a wrong answer.
#
# Environment:
#   IMPL=solutions|chapters|<dir>  whose sys.c / sys_x86_64.c / sys_aarch64.c to measure (default: solutions)
#   REPS=3      rounds (callgrind counts barely vary; more rounds only confirm it)
#   N=20000     calls per run
#   CC=gcc RUSTC=rustc BUILD=build
#   RECORD=0    leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=02-syscall-shim
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-3}
N=${N:-20000}
RUSTC=${RUSTC:-rustc}

bench_positive_ints REPS N
if ! command -v valgrind >/dev/null; then
    echo "bench: valgrind not found: install it with 'sudo make deps' (Debian package: valgrind)" >&2
    exit 1
fi
if [[ $(uname -m) != x86_64 ]]; then
    echo "bench: the peers (glibc's x86_64 syscall(), Rust's x86_64 asm!) are measured on x86_64 only" >&2
    exit 1
fi

# ---- build --------------------------------------------------------------------------------------------------
C_BIN=$OUT/bench_getpid-$IMPL_TAG
echo "building ($IMPL, $CC -O2 -flto) ..."
shim=()
for f in sys.c sys_x86_64.c sys_aarch64.c; do
    [[ -f $IMPL/$CH/$f ]] || { echo "bench: $IMPL/$CH/$f is missing" >&2; exit 1; }
    shim+=("$IMPL/$CH/$f")
done
"$CC" -std=c17 -Wall -Wextra -Werror -O2 -flto "-Ichapters/$CH" -Ichapters/include "$SRC/bench_getpid.c" "${shim[@]}" \
    -o "$C_BIN" ||
    { echo "bench: the shim in $IMPL/$CH does not build (see above)" >&2; exit 1; }

# route name, program, mode: one line each
routes=("shim $C_BIN shim" "glibc-syscall $C_BIN glibc-syscall" "glibc-getpid $C_BIN glibc-getpid")
if command -v "$RUSTC" >/dev/null; then
    echo "building ($RUSTC -O) ..."
    if "$RUSTC" -O --edition 2021 "$SRC/getpid_asm.rs" -o "$OUT/getpid_asm"; then
        routes+=("rust-asm $OUT/getpid_asm asm" "rust-std $OUT/getpid_asm std")
        bench_meta peer "rust-asm, rust-std: $(bench_version "$RUSTC" --version)"
    else
        bench_note "rust-asm, rust-std: not measured: the Rust peer did not build (see the run's output)"
    fi
else
    bench_note "rust-asm, rust-std: not measured: $RUSTC not found (rustup, or Debian's package rustc)"
fi
bench_meta peer "glibc-syscall, glibc-getpid: $(bench_version ldd --version)"
bench_meta tool "$(bench_version valgrind --version) (callgrind)"

# ---- count ----------------------------------------------------------------------------------------------------
# instructions PROGRAM MODE: total instructions executed under callgrind.
instructions() {
    local log
    log=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" "$N" 2>&1) ||
        { echo "bench: $1 $2 $N failed under callgrind:" >&2; echo "$log" >&2; return 1; }
    awk '/Collected :/ { print $NF }' <<<"$log"
}

TSV=$OUT/results-$IMPL_TAG.tsv
: >"$TSV"
echo "counting $REPS rounds of ${#routes[@]} routes x $N calls under callgrind ..."
for ((r = 1; r <= REPS; r++)); do
    declare -A base=()
    for route in "${routes[@]}"; do
        read -r name prog mode <<<"$route"
        if [[ -z ${base[$prog]:-} ]]; then
            base[$prog]=$(instructions "$prog" baseline)
        fi
        if ! total=$(instructions "$prog" "$mode"); then
            [[ $name == shim ]] && { echo "bench: the shim must pass 'make check CH=02 IMPL=$IMPL' first" >&2; exit 1; }
            continue
        fi
        awk -v n="$name" -v t="$total" -v b="${base[$prog]}" -v N="$N" \
            'BEGIN { printf "%s\t%.2f\n", n, (t - b) / N }' >>"$TSV"
    done
    unset base
    printf '  round %d/%d done\n' "$r" "$REPS"
done

# ---- report ---------------------------------------------------------------------------------------------------
median() {
    awk -F'\t' -v p="$1" '$1 == p { print $2 }' "$TSV" | bench_median %.2f
}

glibc=$(median glibc-syscall)
echo
echo "chapter 02: user-space instructions per getpid (callgrind, baseline loop subtracted); IMPL=$IMPL"
echo "medians of $REPS rounds x $N calls; $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '  %-16s %14s %22s\n' route instr/call "vs glibc syscall()"
for route in "${routes[@]}"; do
    read -r name _ _ <<<"$route"
    m=$(median "$name")
    [[ -n $m ]] && printf '  %-16s %14s %22s\n' "$name" "$m" "$(bench_ratio "$m" "$glibc")"
done
echo "shim          = sys_getpid() from $IMPL/$CH, inlined (-O2 -flto): mov, syscall, the demux compare"
echo "glibc-syscall = syscall(SYS_getpid): a call into libc, six arguments shuffled into place, errno on error"
echo "glibc-getpid  = getpid(): glibc's own one-call wrapper"
echo "rust-asm      = asm!(\"syscall\") + demux, #[inline(always)], as Redox's syscall0; rust-std = std::process::id()"
shim=$(median shim)
x=$(bench_ratio "$shim" "$glibc")
verdict=missed
awk -v x="${x%x}" 'BEGIN { exit !(x < 1.0) }' && verdict=met
echo
echo "target < 1.0x glibc's syscall(SYS_getpid): $verdict (shim $shim vs $glibc instructions per call, $x)"
echo "raw counts: $TSV"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
for route in "${routes[@]}"; do
    read -r name _ _ <<<"$route"
    label=$name peers=
    if [[ $name == shim ]]; then label="ferrite shim" peers="glibc-syscall,rust-asm"; fi
    bench_summary_row "user-space instructions per getpid" "$label" "$(median "$name")" instructions lower "$glibc" \
        "$peers"
done
bench_summary_meta "chapter 02: user-space instructions per getpid" \
    "(callgrind, baseline loop subtracted); IMPL=$IMPL; medians of $REPS rounds x $N calls"
bench_record REPS N
