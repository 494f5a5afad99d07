#!/usr/bin/env bash
# Chapter 05 benchmark: the tiny kernel on QEMU's mps2-an385.
#
# Measures, for the kernel in $IMPL/05-tiny-kernel (default: the reference solution):
#   1. wall time from starting QEMU to the first line a process prints, against a bare-metal image that prints
#      the same line with no kernel at all (QEMU's own floor), run interleaved;
#   2. instructions per context switch, counted exactly by tracing every guest instruction
#      (-singlestep -d exec,nochain) while two processes hand the CPU to each other with yield-no-wait;
#   3. kernel code and RAM: .vectors + .text, and .data + .bss + the kernel stack.
# Everything is built under $BUILD/bench/05-tiny-kernel/ (never in the source tree). Exits 0 whether or not the
# targets are met; non-zero only when a tool is missing or the kernel cannot be built or run.
#
# Environment:
#   IMPL=solutions|chapters|<dir>   whose kernel (default: solutions)
#   REPS=15                          boots per image for the boot-time medians
#   CC=gcc BUILD=build
#   RECORD=0                         leave the committed record (results.tsv, results.meta) as it is
set -euo pipefail

CH=05-tiny-kernel
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"  # ROOT, IMPL, IMPL_TAG, CC, BUILD, SRC, OUT

REPS=${REPS:-15}
CROSS=arm-none-eabi-gcc
QEMU=qemu-system-arm

bench_positive_ints REPS
command -v $CROSS >/dev/null || { echo "bench: $CROSS not found: install the Debian packages gcc-arm-none-eabi libnewlib-arm-none-eabi" >&2; exit 1; }
command -v $QEMU >/dev/null || { echo "bench: $QEMU not found: install the Debian package qemu-system-arm" >&2; exit 1; }
OBJ=$OUT/obj-$IMPL_TAG
mkdir -p "$OBJ"

# ---- build --------------------------------------------------------------------------------------------------
# The same files and flags as the test images (mk/chapters/05-tiny-kernel.mk holds them, bench_chapter_var asks),
# built as a release build.
# -DNDEBUG drops the kernel's debug assertions (K_ASSERT), as Rust's release profile drops debug_assert!.
read -ra K_CFLAGS <<<"$(bench_chapter_var K_CFLAGS) -DNDEBUG"
read -ra K_LDFLAGS <<<"$(bench_chapter_var K_LDFLAGS)"
read -ra K_LDLIBS <<<"$(bench_chapter_var K_LDLIBS)"
read -ra srcs <<<"$(bench_chapter_var CHAPTER_SRCS)"
echo "building the kernel ($IMPL, $CROSS -O2) ..."
kobjs=()
for f in "${srcs[@]}"; do
    [[ -f $f ]] || { echo "bench: $f is missing; chapter $CH needs: $(bench_chapter_var sources)" >&2; exit 1; }
    obj=$OBJ/$(basename "${f%.c}").o
    $CROSS "${K_CFLAGS[@]}" -c "$f" -o "$obj" || { echo "bench: $f does not compile for ARM" >&2; exit 1; }
    kobjs+=("$obj")
done
$CROSS "${K_CFLAGS[@]}" -c "tests/$CH/images/boot_check.c" -o "$OBJ/boot_check.o"
for s in first pingpong; do
    $CROSS "${K_CFLAGS[@]}" -c "$SRC/user_$s.c" -o "$OBJ/user_$s.o"
    $CROSS "${K_LDFLAGS[@]}" "${kobjs[@]}" "$OBJ/boot_check.o" "$OBJ/user_$s.o" "${K_LDLIBS[@]}" -o "$OUT/$s-$IMPL_TAG.elf"
done
# The bare-metal floor: its own two-word vector table, linked at the same addresses, and the kernel's way out
# (k_semihost_exit, from the given runtime.c) so that both images end the same way.
cat >"$OUT/bare.ld" <<'LD'
MEMORY
{
    FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 64K
    RAM (rw) : ORIGIN = 0x20000000, LENGTH = 64K
}
SECTIONS
{
    .vectors : { KEEP(*(.vectors)) } > FLASH
    .text : { *(.text*) *(.rodata*) } > FLASH
    .bss (NOLOAD) : { *(.bss*) } > RAM
}
LD
$CROSS "${K_CFLAGS[@]}" -c "$SRC/bare_first.c" -o "$OUT/bare_first.o"
$CROSS "${K_CFLAGS[@]}" -c "chapters/$CH/runtime.c" -o "$OUT/bare_runtime.o"
$CROSS -mcpu=cortex-m3 -mthumb -nostdlib -nostartfiles -T "$OUT/bare.ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
    -Wl,-e,bare_reset "$OUT/bare_first.o" "$OUT/bare_runtime.o" -o "$OUT/bare.elf"
"$CC" -std=c17 -O2 -Wall -Wextra -Werror "$SRC/first_output.c" -o "$OUT/first_output"

QARGS=(-M mps2-an385 -display none -monitor none -serial stdio -semihosting-config enable=on,target=native
    -icount shift=0,sleep=off)
KERNEL=$OUT/first-$IMPL_TAG.elf
PINGPONG=$OUT/pingpong-$IMPL_TAG.elf

# ---- 1. boot time, interleaved ------------------------------------------------------------------------------
TSV=$OUT/boot-$IMPL_TAG.tsv
: >"$TSV"
echo "booting each image $REPS times, interleaved (bare, kernel, bare, kernel ...) ..."
for ((r = 1; r <= REPS; r++)); do
    for prog in bare kernel; do
        img=$OUT/bare.elf
        [[ $prog == kernel ]] && img=$KERNEL
        if ! line=$("$OUT/first_output" $QEMU "${QARGS[@]}" -kernel "$img"); then
            echo "bench: $prog image did not print its first line (see above)" >&2
            [[ $prog == kernel ]] && { echo "bench: make 'make check CH=05 IMPL=$IMPL' pass first" >&2; exit 1; }
            continue
        fi
        printf '%s\t%s\n' "$prog" "$(bench_fields first_ms exit_ms status <<<"$line")" >>"$TSV"
    done
done
median() { # median PROG COLUMN
    awk -F'\t' -v p="$1" -v c="$2" '$1 == p { print $c }' "$TSV" | bench_median %.1f
}
kfirst=$(median kernel 2) bfirst=$(median bare 2) kexit=$(median kernel 3) bexit=$(median bare 3)

# ---- 2. instructions per switch, by tracing ------------------------------------------------------------------
# Every guest instruction is one translation block under -singlestep, and -d exec,nochain logs each one as it
# runs: "Trace 0: 0x<host> [<flags>/<guest pc>/...]". A kernel span is a run of instructions outside process
# code (0x10000-0x1ffff) between two process instructions: here, exactly one yield-no-wait switch from one
# process to the other. Of each span we count all instructions (the full switch: trap, system call, scheduler,
# MPU, return) and those in the four switch routines alone (the register save/restore mechanism).
# Exception entry and return are done by the CPU's microcode and are not instructions: they are not counted.
TRACE=$OUT/trace-$IMPL_TAG.log
echo "tracing every instruction of the ping-pong image ..."
$QEMU "${QARGS[@]}" -singlestep -d exec,nochain -D "$TRACE" -kernel "$PINGPONG" >"$OUT/pingpong.out" </dev/null || true
grep -q "pong: done" "$OUT/pingpong.out" || { echo "bench: the ping-pong image did not finish:" >&2; cat "$OUT/pingpong.out" >&2; exit 1; }
# Hexadecimal to a number, in any awk (mawk has no strtonum).
HEX='function hex(s,   i, v) { v = 0; s = tolower(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }'
ranges=$(arm-none-eabi-nm -S "$PINGPONG" | awk "$HEX"' $4 ~ /^(k_switch_to_user|k_svc_handler|k_systick_handler|k_fault_handler)$/ {
    printf "%d %d\n", hex($1), hex($1) + hex($2) }')
read -r full mech spans < <(awk -v ranges="$ranges" "$HEX"'
    BEGIN { n = split(ranges, r, "\n"); for (i = 1; i <= n; i++) { split(r[i], b, " "); lo[i] = b[1]; hi[i] = b[2] } }
    /^Trace/ {
        split($4, f, "/"); pc = hex(f[2])
        if (pc >= 65536 && pc < 131072) {
            if (inspan && seen_user) { total[++ns] = cnt; mechs[ns] = m }
            inspan = 0; cnt = 0; m = 0; seen_user = 1; next
        }
        inspan = 1; cnt++
        for (i = 1; i <= n; i++) if (pc >= lo[i] && pc < hi[i]) m++
    }
    function med(a, k,   i, j, t) { for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
                                    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    END { if (ns == 0) { print "0 0 0"; exit } print med(total, ns), med(mechs, ns), ns }' "$TRACE")
rm -f "$TRACE"  # tens of MB; rerun to inspect

# ---- 3. sizes ---------------------------------------------------------------------------------------------------
sec() { arm-none-eabi-size -A "$KERNEL" | awk -v s="$1" '$1 == s { print $2 }'; }
text=$(($(sec .vectors) + $(sec .text)))
ram=$(($(sec .data) + $(sec .bss) + $(sec .stack)))

# ---- report -----------------------------------------------------------------------------------------------------
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { if (x == "" || x == 0) print "not judged"; else if (x + 0 <= t + 0) print "met"; else print "missed" }'; }
echo
echo "chapter 05: the tiny kernel on QEMU mps2-an385 (Cortex-M3), IMPL=$IMPL, QEMU $(qemu-system-arm --version | awk 'NR == 1 { print $4 }')"
echo "medians of $REPS interleaved boots; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
printf '  %-44s %10s %10s %10s\n' "boot (wall ms, QEMU start ->)" kernel bare kernel/bare
printf '  %-44s %10s %10s %10s\n' "first process output" "$kfirst" "$bfirst" "$(bench_ratio "$kfirst" "$bfirst")"
printf '  %-44s %10s %10s %10s\n' "QEMU exit" "$kexit" "$bexit" "$(bench_ratio "$kexit" "$bexit")"
echo
printf '  %-44s %10s\n' "context switch (instructions, median of $spans)" ""
printf '  %-44s %10s\n' "  save/restore mechanism (switch.c)" "$mech"
printf '  %-44s %10s\n' "  full switch: svc -> next process's code" "$full"
echo
printf '  %-44s %10s\n' "kernel .vectors + .text (bytes)" "$text"
printf '  %-44s %10s\n' "kernel RAM: .data + .bss + stack (bytes)" "$ram"
echo
echo "targets:"
echo "  boot to first process output < 50 ms:          $(verdict "$kfirst" 49.999) ($kfirst ms; bare QEMU floor $bfirst ms)"
echo "  <= 50 instructions per switch (mechanism):      $(verdict "$mech" 50) ($mech; the full switch is $full)"
echo "  .text <= 8 KiB:                                 $(verdict "$text" 8192) ($text bytes)"
echo "  kernel RAM <= 4 KiB:                            $(verdict "$ram" 4096) ($ram bytes)"
echo
echo "peers:"
echo "  bare-metal image (no kernel): measured above, same run."
if rustup target list --installed 2>/dev/null | grep -q thumbv7m-none-eabi; then
    tock="building a Tock board needs its repository and crates, which are not in this workspace"
else
    tock="the Rust target thumbv7m-none-eabi is not installed (rustup target add needs the network)"
fi
echo "  Tock: not built: $tock."
echo "  FreeRTOS (PendSV switch): not built: its sources are not in this workspace and Debian does not package them."
echo "  For reference only (quoted, not measured here): Tock's minimal kernel was about 7 KB of code in 2018; the"
echo "  study claims under 64 KB of memory and under 100 ms of boot."
echo "raw boot runs: $TSV"

# ---- summary for the documentation site ------------------------------------------------------------------------
# One chart per `chart`, drawn by docs/plots.py; bench_record (bench/lib.sh), last, makes it the chapter's record.
bench_summary_begin
bare="bare image (no kernel)"
bench_summary_row "boot: QEMU start to first process output" "ferrite kernel" "$kfirst" ms lower 50 "$bare"
bench_summary_row "boot: QEMU start to first process output" "bare image (no kernel)" "$bfirst" ms lower 50
bench_summary_row "boot: QEMU start to QEMU exit" "ferrite kernel" "$kexit" ms lower "" "$bare"
bench_summary_row "boot: QEMU start to QEMU exit" "bare image (no kernel)" "$bexit" ms lower ""
if ((spans > 0)); then
    switch_chart="context switch — the target is on the save/restore mechanism"
    bench_summary_row "$switch_chart" "ferrite: save/restore (switch.c)" "$mech" instructions lower 50
    bench_summary_row "$switch_chart" "ferrite: full switch, svc → next" "$full" instructions lower 50
fi
bench_summary_row "kernel code: .vectors + .text" "ferrite kernel" "$text" bytes lower 8192
bench_summary_row "kernel RAM: .data + .bss + stack" "ferrite kernel" "$ram" bytes lower 4096
bench_summary_meta "chapter 05: the tiny kernel on QEMU mps2-an385" \
    "(Cortex-M3), IMPL=$IMPL, QEMU $(qemu-system-arm --version | awk 'NR == 1 { print $4 }');" \
    "medians of $REPS interleaved boots"
bench_meta peer "bare image (no kernel): bare_first.c, the same first line with no kernel, built like the kernel"
bench_meta tool "$(bench_version $CROSS --version)"
bench_meta tool "$(bench_version $QEMU --version), -icount shift=0; instructions traced with -singlestep -d exec,nochain"
bench_note "tock: not measured: $tock"
bench_note "freertos: not measured: its sources are not in this workspace and Debian does not package them"
bench_record REPS
