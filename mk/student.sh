#!/usr/bin/env bash
# The student loop around the tests (the top-level Makefile's progress, hint, watch, reset and solution targets):
#
#   mk/student.sh merge BUILD-DIR          fold a run's results.tsv into progress.tsv, the last result of every test
#   mk/student.sh progress [CHAPTER...]    every chapter's parts as a table, and the next step
#   mk/student.sh hint [CHAPTER]           the next failing test of the chapter (default: the first unfinished one)
#   mk/student.sh watch [CHAPTER]          re-run the current part whenever a source file changes
#   mk/student.sh reset CHAPTER [FILE]     the skeleton's file(s) back from git, the student's kept in build/
#   mk/student.sh solution CHAPTER         the reference solution, once the chapter's last results are all green
#
# Environment: FT_ALL_CHS (every chapter, in order), IMPL (default chapters), CC (default gcc), BUILD (default
# build), MAKE. Results live where `make check` writes them: $BUILD/<impl>/asan-<cc>/<chapter>/. progress.tsv has
# the columns of results.tsv (chapter, part, part title, test, points, status, message), one row per test, each
# from the latest run that ran it: a PART= or TEST= run updates only its own rows.
set -u
MAKE=${MAKE:-make}
IMPL=${IMPL:-chapters}
CC=${CC:-gcc}
BUILD=${BUILD:-build}
read -r -a ALL_CHS <<<"${FT_ALL_CHS:-}"

if [ -z "${NO_COLOR:-}" ] && [ -t 1 ]; then
    bold=$'\033[1m' red=$'\033[31m' green=$'\033[32m' dim=$'\033[2m' off=$'\033[0m'
else
    bold='' red='' green='' dim='' off=''
fi

die() {
    echo "$*" >&2
    exit 2
}

# The chapter's build directory for the student's ASan run (where make check writes its results).
build_dir() { echo "$BUILD/$(printf '%s' "${IMPL%/}" | tr / _)/asan-${CC##*/}/$1"; }

# The chapter after $1, or nothing.
next_chapter() {
    local i
    for ((i = 0; i < ${#ALL_CHS[@]} - 1; i++)); do
        [ "${ALL_CHS[$i]}" = "$1" ] && echo "${ALL_CHS[$((i + 1))]}" && return
    done
}

merge() {
    local b=$1
    [ -s "$b/results.tsv" ] || return 0
    if [ -s "$b/progress.tsv" ]; then
        awk -F'\t' 'NR == FNR { fresh[$4] = 1; print; next } !($4 in fresh)' "$b/results.tsv" "$b/progress.tsv" \
            >"$b/progress.tsv.new" && mv "$b/progress.tsv.new" "$b/progress.tsv"
    else
        cp "$b/results.tsv" "$b/progress.tsv"
    fi
}

# run_tests CHAPTER LOG [VAR=value...]: the chapter's tests under ASan, output to LOG, results merged. A results
# file that is missing afterwards means the build failed (LOG says why).
run_tests() {
    local ch=$1 log=$2 b
    shift 2
    b=$(build_dir "$ch")
    mkdir -p "$b"
    NO_COLOR=1 $MAKE --no-print-directory -f mk/chapter.mk run CH="$ch" IMPL="$IMPL" CC="$CC" VARIANT=asan \
        RESULTS_ONLY=1 "$@" >"$log" 2>&1
    merge "$b"
}

# Every test of the chapter: part, name, points, hint (the test binary's --list), once it has been built.
list_tests() {
    local bin
    bin="$(build_dir "$1")/test"
    [ -x "$bin" ] && "$bin" --list
}

# Makes sure the chapter has results to read: runs its tests once if it never ran.
ensure_results() {
    local b
    b=$(build_dir "$1")
    [ -s "$b/progress.tsv" ] || merge "$b"
    if [ ! -s "$b/progress.tsv" ] || [ ! -x "$b/test" ]; then
        echo "${dim}$1: no results yet, running its tests once...${off}" >&2
        run_tests "$1" "$b/student.log" QUIET=1
    fi
}

# part_table CHAPTER: one line per part, "part<TAB>title<TAB>passed<TAB>tests<TAB>points<TAB>max<TAB>unknown",
# parts in order, from --list (every test) and progress.tsv (the last results).
part_table() {
    local b
    b=$(build_dir "$1")
    list_tests "$1" | awk -F'\t' -v progress="$b/progress.tsv" '
        BEGIN { while ((getline line < progress) > 0) { split(line, f, "\t"); status[f[4]] = f[6]; title[f[2]] = f[3] } }
        { part = $1 + 0; parts[part] = 1; tests[part]++; max[part] += $3
          if (!($2 in status)) unknown[part]++
          else if (status[$2] == "pass") { passed[part]++; pts[part] += $3 } }
        END { for (p in parts) printf "%d\t%s\t%d\t%d\t%d\t%d\t%d\n", p, title[p], passed[p], tests[p], pts[p], max[p],
                                      unknown[p] }' | sort -n
}

# The lowest part of the chapter that is not all green, or nothing when every test passed last time.
current_part() { part_table "$1" | awk -F'\t' '$3 < $4 { print $1; exit }'; }

# The first chapter (of those given, or of all) that is not all green; the last one when all are.
current_chapter() {
    local ch last=""
    for ch in "${@:-${ALL_CHS[@]}}"; do
        last=$ch
        [ -s "$(build_dir "$ch")/progress.tsv" ] || { echo "$ch" && return; }
        [ -n "$(current_part "$ch")" ] && echo "$ch" && return
    done
    echo "$last"
}

progress() {
    local ch next_ch="" next_part="" next_title=""
    printf '%sProgress%s %s(the last result of each test; make check, hint and watch update it)%s\n' "$bold" "$off" \
        "$dim" "$off"
    for ch in "${@:-${ALL_CHS[@]}}"; do
        ensure_results "$ch"
        local rows cur
        rows=$(part_table "$ch")
        cur=$(current_part "$ch")
        printf '\n  %s%s%s\n' "$bold" "$ch" "$off"
        if [ -z "$rows" ]; then
            printf '    %sthe tests did not build: make check CH=%.2s shows why%s\n' "$red" "$ch" "$off"
            [ -z "$next_ch" ] && next_ch=$ch next_part=1 next_title="(build)"
            continue
        fi
        while IFS=$'\t' read -r part title passed tests pts max unknown; do
            local colour=$red mark='' width=44
            if [ "$passed" -eq "$tests" ]; then
                colour=$green mark='done'
            elif [ "$part" = "$cur" ]; then
                mark="<- next: make watch CH=${ch:0:2}   (or make check CH=${ch:0:2} PART=$part)"
            elif [ "$unknown" -gt 0 ]; then
                mark="$unknown not run yet"
            fi
            printf '    %spart %-2s %-*.*s %3d/%-3d tests %4d/%-4d points%s  %s\n' "$colour" "$part" "$width" \
                "$width" "${title:-?}" "$passed" "$tests" "$pts" "$max" "$off" "$mark"
        done <<<"$rows"
        if [ -z "$next_ch" ] && [ -n "$cur" ]; then
            next_ch=$ch next_part=$cur
            next_title=$(awk -F'\t' -v p="$cur" '$1 == p { print $2 }' <<<"$rows")
        fi
    done
    echo
    if [ -n "$next_ch" ]; then
        printf '%snext step:%s chapter %s, part %s %s: make watch CH=%.2s\n' "$bold" "$off" "$next_ch" "$next_part" \
            "($next_title)" "$next_ch"
    else
        printf '%s%severy chapter shown is green%s\n' "$bold" "$green" "$off"
    fi
}

# The block the test main prints for the first failure in LOG, the "✗ part N · name" line to the hint: with the
# sanitizer report the test left, trimmed as the test main shows it (the first report, the frames in the student's
# files first, the path of the whole one). A report that reached stderr instead (a program the test started, a run
# without report files) is taken from LOG, its first lines, when the failure was a sanitizer's early exit.
first_failure() {
    local log=$1 ch=$2 name block
    name=$(awk '/^✗ part / { print $5; exit }' "$log")
    block=$(awk '/^✗ part / { p = 1 } p { print } p && /^    hint:/ { exit }' "$log")
    printf '%s\n' "$block"
    grep -q '^    the whole report' <<<"$block" && return 0
    if grep -q 'Early exit\|Received signal' <(head -n 3 <<<"$block"); then
        local report
        report=$(grep -m1 -A14 -E '^==[0-9]+==ERROR: |^[^ ].*: runtime error: ' "$log")
        [ -n "$report" ] && printf '  the report, its first lines (make check CH=%.2s TEST=%s shows all of it):\n%s\n' \
            "$ch" "$name" "$(sed 's/^/    /' <<<"$report")"
    fi
    return 0
}

# What the chapter failed to build with, when it did not: the compiler's first errors.
build_errors() { grep -E 'error|Error|undefined reference' "$1" | grep -v '^make' | head -n 15; }

hint() {
    local ch b log
    ch=$(current_chapter "$@")
    [ -n "$ch" ] || die "hint: no chapter"
    b=$(build_dir "$ch")
    mkdir -p "$b"
    log=$b/hint.log
    # FIRST=1 runs the parts in order and stops at the first failing test: exactly the next one to fix.
    run_tests "$ch" "$log" FIRST=1
    if [ ! -s "$b/results.tsv" ]; then
        printf '%s%s does not build yet:%s\n' "$red" "$ch" "$off"
        build_errors "$log"
        return 1
    fi
    if ! grep -q $'\tfail\t' "$b/results.tsv"; then
        local after
        after=$(next_chapter "$ch")
        printf '%s%s: every test passes.%s %s\n' "$green" "$ch" "$off" \
            "${after:+Next: chapter $after (make hint CH=${after:0:2}).}"
        return 0
    fi
    printf '%s%s, the next test to make pass:%s\n' "$bold" "$ch" "$off"
    first_failure "$log" "$ch"
}

# Prints a fingerprint of the sources under $1 (for watching without inotifywait).
fingerprint() { find "$1" -name '*.[ch]' -printf '%p %T@ %s\n' 2>/dev/null | sort | md5sum; }

# Returns when the .c and .h files under $1 no longer match fingerprint $2, taken before the last run: a file saved
# while the tests ran counts too. Waits in slices of two seconds so that a watch whose make was killed (its parent
# gone) ends too, instead of waiting on alone; each slice starts by comparing fingerprints, so a save that falls
# between two inotifywait calls is not missed either.
wait_for_change() {
    local dir=$1 before=$2 parent=$PPID rc
    [ -d "$dir" ] || die "watch: $dir is gone"
    if command -v inotifywait >/dev/null; then
        while kill -0 "$parent" 2>/dev/null; do
            if [ "$(fingerprint "$dir")" != "$before" ]; then
                sleep 0.2 # an editor may write in several steps
                return 0
            fi
            inotifywait -qq -t 2 -r -e close_write,moved_to,create,delete --include '\.[ch]$' "$dir" 2>/dev/null
            rc=$?
            [ "$rc" -eq 2 ] && continue # timed out: nothing changed
            [ "$rc" -eq 0 ] || sleep 1  # a watch that could not be set up: poll rather than spin
            sleep 0.2                   # an editor may write in several steps
            return 0
        done
    else
        while kill -0 "$parent" 2>/dev/null; do
            [ "$(fingerprint "$dir")" = "$before" ] || return 0
            sleep 1
        done
    fi
    exit 0
}

watch() {
    local ch b log dir cur banner=""
    ch=$(current_chapter "$@")
    [ -n "$ch" ] || die "watch: no chapter"
    b=$(build_dir "$ch")
    dir=$IMPL/$ch
    mkdir -p "$b"
    log=$b/watch.log
    ensure_results "$ch"
    cur=$(current_part "$ch")
    if ! command -v inotifywait >/dev/null; then
        echo "watch: inotifywait not found (Debian package inotify-tools: sudo make deps); checking every second"
    fi
    while :; do
        local parts last title stamp
        last=$(part_table "$ch" | tail -n 1 | cut -f1)
        cur=${cur:-${last:-1}}
        stamp=$(fingerprint "$dir")
        run_tests "$ch" "$log" PART="1-$cur"
        [ -t 1 ] && printf '\033[H\033[2J'
        title=$(part_table "$ch" | awk -F'\t' -v p="$cur" '$1 == p { print $2 }')
        printf '%s%s · part %s of %s%s %s   %s%s%s\n' "$bold" "$ch" "$cur" "${last:-?}" "$off" "${title:+($title)}" \
            "$dim" "$(date +%H:%M:%S)" "$off"
        [ -n "$banner" ] && printf '%s\n' "$banner" && banner=""
        if [ ! -s "$b/results.tsv" ]; then
            printf '\n%sthe code does not build:%s\n' "$red" "$off"
            build_errors "$log"
        else
            parts=$(part_table "$ch")
            awk -F'\t' -v p="$cur" '$1 <= p { printf "  part %-2s %-44.44s %3d/%-3d tests %4d/%-4d points\n",
                                              $1, $2, $3, $4, $5, $6 }' <<<"$parts"
            local failing
            failing=$(awk -F'\t' -v p="$cur" '$1 <= p && $3 < $4 { print $1; exit }' <<<"$parts")
            if [ -z "$failing" ]; then
                if [ "$cur" -lt "${last:-1}" ]; then
                    banner="${green}part $cur passes: on to part $((cur + 1)).${off}"
                    cur=$((cur + 1))
                    continue
                fi
                local after next=""
                after=$(next_chapter "$ch")
                [ -n "$after" ] && next="Next: chapter $after (make watch CH=${after:0:2})."
                printf '\n%s%s is green: every test passes.%s %s\n' "$green" "$ch" "$off" "$next"
                printf 'make memcheck CH=%.2s runs them under Valgrind too; make solution CH=%.2s shows the reference.\n' \
                    "$ch" "$ch"
            else
                [ "$failing" -lt "$cur" ] && printf '%spart %s, which passed before, fails now: back to it.%s\n' "$red" "$failing" "$off"
                cur=$failing
                echo
                first_failure "$log" "$ch"
            fi
        fi
        printf '\n%swatching %s/ (save a .c or .h file to run again; Ctrl-C stops)%s\n' "$dim" "$dir" "$off"
        wait_for_change "$dir" "$stamp"
    done
}

# The files the student writes in chapter $1 (chapter.conf's sources).
sources_of() { $MAKE -s --no-print-directory -f mk/chapter.mk CH="$1" IMPL=chapters print-sources; }

# reset CHAPTER [FILE]: each file back to the skeleton as git's HEAD has it, the student's copy first saved to
# $BUILD/backup/<chapter>/<time>/. A file already equal to the skeleton is left alone.
reset() {
    local ch=${1:-} file=${2:-} stamp backup f changed=0
    [ -n "$ch" ] || die "reset: say which chapter, e.g. make reset CH=01 [FILE=vec.c]"
    command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 ||
        die "reset: needs git and a clone of the workbook (the skeleton comes from git's HEAD)"
    local sources
    read -r -a sources <<<"$(sources_of "$ch")"
    if [ -n "$file" ]; then
        file=${file##*/}
        [[ " ${sources[*]} " == *" $file "* ]] ||
            die "reset: $file is not one of the files you write in $ch: ${sources[*]}"
        sources=("$file")
    fi
    stamp=$(date +%Y%m%d-%H%M%S)
    backup=$BUILD/backup/$ch/$stamp
    for f in "${sources[@]}"; do
        local path=chapters/$ch/$f skeleton
        skeleton=$(mktemp)
        if ! git show "HEAD:$path" >"$skeleton" 2>/dev/null; then
            rm -f "$skeleton"
            echo "reset: $path is not in git's HEAD; left as it is" >&2
            continue
        fi
        if [ -f "$path" ] && cmp -s "$skeleton" "$path"; then
            echo "  $path is the skeleton already"
            rm -f "$skeleton"
            continue
        fi
        if [ -f "$path" ]; then
            mkdir -p "$backup"
            cp -p "$path" "$backup/$f"
        fi
        cat "$skeleton" >"$path"
        rm -f "$skeleton"
        changed=1
        echo "  $path: the skeleton again${backup:+; yours is in $backup/$f}"
    done
    [ "$changed" -eq 1 ] && echo "reset: done; make check CH=${ch:0:2} runs the tests on it"
    return 0
}

# solution CHAPTER: the reference, only once every test of the chapter passed in its last results and the code has
# not changed since (the way Rustlings shows a solution after the exercise is solved).
solution() {
    local ch=${1:-} b total passed f newer
    [ -n "$ch" ] || die "solution: say which chapter, e.g. make solution CH=01"
    b=$(build_dir "$ch")
    [ -s "$b/progress.tsv" ] || merge "$b"
    if [ ! -s "$b/progress.tsv" ] || [ ! -x "$b/test" ]; then
        die "solution: $ch has no results yet: make check CH=${ch:0:2}, and come back when it is green"
    fi
    total=$(list_tests "$ch" | wc -l)
    passed=$(list_tests "$ch" | cut -f2 | awk -F'\t' -v progress="$b/progress.tsv" '
        BEGIN { while ((getline line < progress) > 0) { split(line, f, "\t"); if (f[6] == "pass") ok[f[4]] = 1 } }
        $1 in ok { n++ } END { print n + 0 }')
    if [ "$passed" -lt "$total" ]; then
        die "solution: $ch is not green yet ($passed of $total tests passed in its last results): make hint CH=${ch:0:2}"
    fi
    newer=$(find "$IMPL/$ch" -name '*.[ch]' -newer "$b/progress.tsv" | head -n 1)
    [ -z "$newer" ] || die "solution: $newer changed after the last run: make check CH=${ch:0:2} first"
    printf '%s%s is green: the reference solution, to compare with yours%s
' "$green" "$ch" "$off"
    for f in $(sources_of "$ch"); do
        [ -f "solutions/$ch/$f" ] || continue
        printf '\n%s==== solutions/%s/%s   (yours: %s/%s/%s; diff -u them to compare)%s\n' "$bold" "$ch" "$f" \
            "$IMPL" "$ch" "$f" "$off"
        cat "solutions/$ch/$f"
    done
}

cmd=${1:-}
shift || true
case "$cmd" in
merge) merge "$@" ;;
progress) progress "$@" ;;
hint) hint "$@" ;;
watch) watch "$@" ;;
reset) reset "$@" ;;
solution) solution "$@" ;;
*) die "usage: mk/student.sh merge|progress|hint|watch|reset|solution ..." ;;
esac
