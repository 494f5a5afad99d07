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
#
# The record. A run of the reference solution (IMPL=solutions) that reaches its end writes what it measured into
# the repository, beside the script, for the documentation site to draw and for anyone to compare with later:
#   bench/$CH/results.tsv   the summary below (one row per bar: chart, contender, value, unit, better, target, peer)
#   bench/$CH/results.meta  `key: value` lines: what was measured, when (UTC), where (CPU, cores, kernel, load
#                           average at start and end), with what (compilers, peers' versions), the exact command and
#                           the knobs in force, and a `note:` line for each peer that could not be measured
# Both are written to temporary files next to them and renamed into place only at the end, so a run that fails
# (the script exits before bench_record) or is interrupted leaves the last good record as it was. RECORD=0 keeps
# a run out of the record (a trial with a few repetitions, say); a run of any other IMPL never touches it.
# bench/README.md describes both files for their readers.

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

# What the record says about the run, gathered as it goes: the start, and the machine's load before any work.
BENCH_STARTED=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
BENCH_STARTED_S=$(date +%s)
BENCH_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
BENCH_META=()

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

# The summary of a run: $OUT/summary-$IMPL_TAG.tsv, one row per bar, and a .meta line saying what was measured.
# For the reference solution it becomes the record (bench_record); docs/plots.py draws the site's charts from it.
BENCH_SUMMARY=$OUT/summary-$IMPL_TAG.tsv
BENCH_COLUMNS=$'chart\tcontender\tvalue\tunit\tbetter\ttarget\tpeer'

# bench_summary_begin: starts the summary (the header row), discarding an older one.
bench_summary_begin() {
    printf '%s\n' "$BENCH_COLUMNS" >"$BENCH_SUMMARY"
}

# bench_summary_row CHART CONTENDER VALUE UNIT BETTER TARGET [PEERS]: one bar. BETTER is lower or higher; TARGET
# may be empty; PEERS, for the chapter's own contenders only, names the contenders of the same chart it is
# compared with, separated by commas ("rust,c++"), each ratio being this value over the peer's. No row when VALUE
# is empty, the contender having no result.
bench_summary_row() {
    if [[ -n $3 ]]; then printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}" >>"$BENCH_SUMMARY"; fi
}

# bench_summary_meta TEXT...: what the run measured, in one line (the record's `what:`); the .meta file beside the
# summary also starts with the date and the number of cores.
bench_summary_meta() {
    BENCH_WHAT="$*"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $*" >"$OUT/summary-$IMPL_TAG.meta"
}

# bench_meta KEY TEXT...: one more `KEY: TEXT` line for the record, e.g. `bench_meta peer "GLib 2.74.6"` or
# `bench_meta note "rayon: not measured: cargo not found"`. A key may appear many times.
bench_meta() {
    local key=$1
    shift
    BENCH_META+=("$key: $*")
}

# bench_note TEXT...: a note for the record (a peer not measured and why); printed on standard error too.
bench_note() {
    echo "bench: $*" >&2
    bench_meta note "$*"
}

# bench_version COMMAND...: the first line COMMAND prints about its version, or "not found".
bench_version() {
    command -v "$1" >/dev/null 2>&1 || { echo "not found"; return; }
    "$@" 2>&1 | head -n1
}

# bench_cargo_build NAME SOURCE PACKAGES CRATE...: builds the Rust peer whose Cargo project is the folder SOURCE
# (Cargo.toml and src/), offline, against Debian's crate sources, in $OUT/NAME: Cargo.lock and target/ never land in
# the source tree, and the sources keep their times so that cargo rebuilds only what changed. Each CRATE is a glob
# that must match under /usr/share/cargo/registry (tokio-1.*), provided by the Debian PACKAGES (one string). Uses
# $CARGO (default: cargo on PATH, else rustup's). Returns 0 when built (the program is in $OUT/NAME/target/release);
# 1 otherwise, with the reason, for a "not measured" note, in BENCH_CARGO_WHY.
bench_cargo_build() {
    local name=$1 source=$2 packages=$3 crate
    shift 3
    local cargo=${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}
    local dest=$OUT/$name log=$OUT/$name-build.log
    BENCH_CARGO_WHY=
    if [[ ! -x $cargo && -z $(command -v "$cargo") ]]; then
        BENCH_CARGO_WHY="cargo not found (Debian package: cargo; or rustup)"
        return 1
    fi
    for crate in "$@"; do
        if ! compgen -G "/usr/share/cargo/registry/$crate" >/dev/null; then
            BENCH_CARGO_WHY="Debian's crate sources are missing (apt-get install $packages)"
            return 1
        fi
    done
    rm -rf "$dest/src" && mkdir -p "$dest/cargo-home"
    cp -rp "$source/Cargo.toml" "$source/src" "$dest/"
    printf '%s\n' '[source.crates-io]' 'replace-with = "debian"' '[source.debian]' \
        'directory = "/usr/share/cargo/registry"' '[net]' 'offline = true' >"$dest/cargo-home/config.toml"
    if ! (cd "$dest" && CARGO_HOME="$dest/cargo-home" "$cargo" build --release --offline) >"$log" 2>&1; then
        BENCH_CARGO_WHY="cargo build failed: $(grep -m1 -E '^error' "$log" || tail -n1 "$log") (log: $log)"
        return 1
    fi
}

# bench_crate_version LOCKFILE CRATE: the version of CRATE that cargo resolved into LOCKFILE, or nothing.
bench_crate_version() {
    [[ -f $1 ]] || return 0
    awk -v c="$2" '$1 == "name" && $3 == "\"" c "\"" { getline; gsub(/"/, "", $3); print $3; exit }' "$1"
}

# bench_record KNOB...: makes this run the chapter's record (bench/$CH/results.tsv and results.meta), the knobs
# named (REPS, TASKS ...) listed with their values. Call it last, once the summary is complete. Does nothing for
# another IMPL than solutions or with RECORD=0; refuses a summary without a row of the chapter's own code.
bench_record() {
    local knob settings=() tsv=$SRC/results.tsv meta=$SRC/results.meta
    if [[ $IMPL != solutions ]]; then
        echo "record: not written (IMPL=$IMPL; only the reference solution's runs are recorded)"
        return 0
    fi
    if [[ ${RECORD:-1} == 0 ]]; then
        echo "record: not written (RECORD=0); $tsv is unchanged"
        return 0
    fi
    if ! awk -F'\t' 'NR > 1 && $2 ~ /^ferrite/ { found = 1 } END { exit !found }' "$BENCH_SUMMARY"; then
        echo "bench: no result of the chapter's own code in $BENCH_SUMMARY; the record $tsv is unchanged" >&2
        return 1
    fi
    for knob in "$@"; do settings+=("$knob=${!knob}"); done
    {
        echo "chapter: $CH"
        echo "what: ${BENCH_WHAT:-}"
        echo "date: $BENCH_STARTED"
        echo "duration: $(($(date +%s) - BENCH_STARTED_S)) s"
        echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
        echo "cores: $(nproc)"
        echo "kernel: $(uname -sr) $(uname -m)"
        echo "load_start: $BENCH_LOAD_START"
        echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
        echo "command: ${BENCH_COMMAND:-bench/$CH/run.sh}"
        echo "settings: IMPL=$IMPL CC=$CC ${settings[*]}"
        echo "cc: $(bench_version "$CC" --version)"
        echo "gcc: $(bench_version gcc --version)"
        echo "clang: $(bench_version clang --version)"
        echo "rustc: $(bench_version "${RUSTC:-rustc}" --version)"
        if ((${#BENCH_META[@]})); then printf '%s\n' "${BENCH_META[@]}"; fi
    } >"$SRC/.results.meta.new"
    cp "$BENCH_SUMMARY" "$SRC/.results.tsv.new"
    # Renames within one folder: each file is either the old record or the new one, never half of either.
    mv -f "$SRC/.results.tsv.new" "$tsv"
    mv -f "$SRC/.results.meta.new" "$meta"
    echo "record: $tsv and $meta (load average ${BENCH_LOAD_START%% *} at the start," \
        "$(cut -d' ' -f1 /proc/loadavg) at the end, on $(nproc) cores)"
}

# bench_count N: 10^k for a power of ten written as 1 followed by zeros (100000000 -> 10^8); N otherwise.
bench_count() {
    if [[ $1 =~ ^10+$ ]]; then echo "10^$((${#1} - 1))"; else echo "$1"; fi
}
