#!/usr/bin/env bash
# Keeps the C sources in the layout .clang-format describes.
#
#   mk/format.sh check   lists each tracked .c/.h file clang-format would change, with the start of the diff;
#                        exits 1 if there is one, 0 if none (changes nothing)
#   mk/format.sh fix     rewrites those files in place
#
# CLANG_FORMAT picks the program (default clang-format; .clang-format was tuned with version 14, and another version
# may lay out a few constructs differently). FORMAT_DIFF_LINES is how many diff lines `check` shows per file (20).
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
DIFF_LINES=${FORMAT_DIFF_LINES:-20}

# Left alone, each for the reason given:
#   harness/selftest/hostile/network/wrap.c  a template: the selftest replaces `@PORT@` before compiling it, and
#                                            clang-format, reading `@PORT@` as C, would rewrite it to `@PORT @`.
EXCLUDED=(
    harness/selftest/hostile/network/wrap.c
)

usage() {
    echo "usage: mk/format.sh check|fix" >&2
    exit 2
}
[ $# -eq 1 ] || usage
mode=$1
case $mode in check | fix) ;; *) usage ;; esac

if ! command -v "$CLANG_FORMAT" >/dev/null; then
    echo "format: $CLANG_FORMAT not found: install the Debian package clang-format (sudo apt-get install clang-format)" >&2
    exit 2
fi
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "format: not a git checkout; the files to format are the ones git tracks" >&2
    exit 2
fi

is_excluded() {
    local e
    for e in "${EXCLUDED[@]}"; do
        [ "$1" = "$e" ] && return 0
    done
    return 1
}

files=()
while IFS= read -r -d '' f; do
    if [ -f "$f" ] && ! is_excluded "$f"; then
        files+=("$f")
    fi
done < <(git ls-files -z -- '*.c' '*.h')
if [ ${#files[@]} -eq 0 ]; then
    echo "format: git tracks no .c or .h file here" >&2
    exit 2
fi

if [ "$mode" = fix ]; then
    # -i rewrites only files whose layout changes.
    "$CLANG_FORMAT" -i --style=file -- "${files[@]}"
    echo "format: ${#files[@]} files formatted in place"
    exit 0
fi

# One clang-format run names the files that differ (a process per file took most of a minute); only those are
# formatted again one by one, for their diffs.
differing=()
while IFS= read -r f; do
    differing+=("$f")
done < <("$CLANG_FORMAT" --style=file --dry-run -- "${files[@]}" 2>&1 |
    sed -n 's/^\(.*\):[0-9]*:[0-9]*: [a-z]*: code should be clang-formatted.*/\1/p' | uniq)

formatted=$(mktemp)
trap 'rm -f "$formatted"' EXIT
changed=0
for f in "${differing[@]}"; do
    if ! "$CLANG_FORMAT" --style=file -- "$f" >"$formatted"; then
        echo "format: $CLANG_FORMAT failed on $f" >&2
        exit 2
    fi
    # diff exits 1 when the files differ: that is the answer, not an error.
    patch=$(diff -u --label "$f" --label "$f (formatted)" "$f" "$formatted") || true
    [ -z "$patch" ] && continue
    changed=$((changed + 1))
    n=$(grep -c '^[-+][^-+]' <<<"$patch" || true)
    echo "== $f: $n changed lines"
    head -n "$DIFF_LINES" <<<"$patch"
    total=$(wc -l <<<"$patch")
    if [ "$total" -gt "$DIFF_LINES" ]; then
        echo "   ... ($((total - DIFF_LINES)) more diff lines)"
    fi
done

if [ "$changed" -eq 0 ]; then
    echo "format: all ${#files[@]} files match .clang-format"
    exit 0
fi
echo "format: $changed of ${#files[@]} files differ from .clang-format; mk/format.sh fix rewrites them"
exit 1
