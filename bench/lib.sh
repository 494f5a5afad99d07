# bench/lib.sh — what every chapter's benchmark script shares. Sourced, never run:
#
#   CH=01-ownership-buffers
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
# On sourcing it moves to the repository root and sets, from the environment `make bench` passes (mk/bench.mk):
#   ROOT      the repository root
#   IMPL      whose sources to measure (solutions, chapters, or any directory laid out like them), checked
#   IMPL_TAG  IMPL made safe for file names (slashes become underscores)
#   CC BUILD  the C compiler (gcc) and the build root (build)
#   SRC OUT   bench/$CH, and $BUILD/bench/$CH (created): everything a script builds or writes goes under OUT
# Then it offers the helpers below. A script keeps its own workloads, tables and verdicts.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

IMPL=${IMPL:-solutions}
IMPL=${IMPL%/}
IMPL_TAG=${IMPL//\//_}
CC=${CC:-gcc}
BUILD=${BUILD:-build}
SRC=bench/$CH
OUT=$BUILD/bench/$CH

if [[ ! -d $IMPL/$CH ]]; then
    echo "bench: $IMPL/$CH is not a directory; use IMPL=solutions, IMPL=chapters or a directory laid out like them" >&2
    exit 2
fi
mkdir -p "$OUT"

# bench_chapter_var VAR: the value of mk/chapter.mk's variable VAR for this chapter and IMPL, from the one reader
# of chapter.conf: `sources`, `given`, CHAPTER_SRCS (every .c file of the chapter's library, with its path), or a
# fragment's flags such as K_CFLAGS.
bench_chapter_var() {
    make --no-print-directory -s -f mk/chapter.mk CH="$CH" IMPL="$IMPL" CC="$CC" "print-$1"
}

# bench_positive_ints VAR...: exits with a message unless every named variable holds a positive integer.
bench_positive_ints() {
    local v
    for v in "$@"; do
        if [[ ! ${!v} =~ ^[1-9][0-9]*$ ]]; then
            echo "bench: $v must be a positive integer, not '${!v}'" >&2
            exit 2
        fi
    done
}

# bench_median [FORMAT]: the median of the numbers on standard input, printed with FORMAT (default %.1f);
# nothing at all when there are none, so that a missing contender shows as a missing value, never as 0.
bench_median() {
    sort -g | awk -v fmt="${1:-%.1f}" '{ a[NR] = $1 }
        END { if (NR) printf fmt, NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# bench_ratio A B: "A/B" as "1.23x", or "-" when either is missing or B is not positive.
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2fx", a / b; else print "-" }'
}

# bench_fields KEY... < LINE: the values of KEY=value words in a `RUN key=value ...` line the contenders print,
# tab-separated in the order asked; a key the line lacks gives an empty field.
bench_fields() {
    awk -v keys="$*" '{ for (k = 1; k <= NF; k++) { split($k, kv, "="); f[kv[1]] = kv[2] }
                        n = split(keys, want, " ")
                        for (i = 1; i <= n; i++) printf "%s%s", f[want[i]], i < n ? "\t" : "\n" }'
}

# The summary docs/plots.py draws the site's charts from: $OUT/summary-$IMPL_TAG.tsv, one row per bar, and a
# .meta line saying when, where and how the numbers were measured.
BENCH_SUMMARY=$OUT/summary-$IMPL_TAG.tsv

# bench_summary_begin: starts the summary (the header row), discarding an older one.
bench_summary_begin() {
    printf 'chart\tcontender\tvalue\tunit\tbetter\ttarget\n' >"$BENCH_SUMMARY"
}

# bench_summary_row CHART CONTENDER VALUE UNIT BETTER TARGET: one bar (BETTER is lower or higher; TARGET may be
# empty); no row when VALUE is empty, the contender having no result.
bench_summary_row() {
    if [[ -n $3 ]]; then printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_SUMMARY"; fi
}

# bench_summary_meta TEXT...: the line under the charts: the date, the machine's cores, then TEXT.
bench_summary_meta() {
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $*" >"$OUT/summary-$IMPL_TAG.meta"
}

# bench_count N: 10^k for a power of ten written as 1 followed by zeros (100000000 -> 10^8); N otherwise.
bench_count() {
    if [[ $1 =~ ^10+$ ]]; then echo "10^$((${#1} - 1))"; else echo "$1"; fi
}
