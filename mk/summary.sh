#!/usr/bin/env bash
# Prints one line per chapter and a total from the results.tsv files that the test binaries write.
# A chapter whose results file is missing did not build or stopped before reporting: it counts as failed.
# usage: mk/summary.sh RESULTS.tsv...
set -u
if [ -z "${NO_COLOR:-}" ] && [ -t 1 ]; then bold=$'\033[1m' red=$'\033[31m' green=$'\033[32m' off=$'\033[0m'
else bold='' red='' green='' off=''; fi

printf '\n%sSummary%s\n' "$bold" "$off"
all_pass=0 all_tests=0 all_pts=0 all_max=0 broken=0 unmatched=0
for f in "$@"; do
    ch=$(basename "$(dirname "$f")")
    # An empty results file: TEST= or PART= took no test of this chapter (the run said why, above).
    if [ -f "$f" ] && [ ! -s "$f" ]; then
        printf '  %-30s no test matches%s%s\n' "$ch" "${TEST:+ TEST=$TEST}" "${PART:+ PART=$PART}"
        unmatched=$((unmatched + 1))
        continue
    fi
    if [ ! -s "$f" ]; then
        printf '  %s%-30s no results: the build failed or the tests stopped before reporting%s\n' "$red" "$ch" "$off"
        broken=1
        continue
    fi
    read -r pass tests pts max skip < <(awk -F'\t' '{ t++; m += $5; if ($6 == "pass") { p++; s += $5 }
                                                    if ($6 == "skip") k++ }
                                                    END { printf "%d %d %d %d %d\n", p, t, s, m, k }' "$f")
    colour=$red; [ "$pass" -eq "$tests" ] && colour=$green
    # A skipped test (a tool is missing) earns nothing and is not a pass: the run still fails, and says why.
    skipped=''; [ "$skip" -gt 0 ] && skipped=" ($skip skipped: install what their messages name)"
    printf '  %s%-30s%s %3d/%-3d tests %4d/%-4d points%s\n' "$colour" "$ch" "$off" "$pass" "$tests" "$pts" "$max" \
        "$skipped"
    all_pass=$((all_pass + pass)) all_tests=$((all_tests + tests)) all_pts=$((all_pts + pts)) all_max=$((all_max + max))
    # Name what failed right under its chapter: a long run's log is read from its end.
    awk -F'\t' -v red="$red" -v off="$off" '$6 != "pass" && $6 != "skip" {
        message = $7; if (length(message) > 160) message = substr(message, 1, 157) "..."
        printf "      %sfailed%s part %s %s: %s\n", red, off, $2, $4, message }' "$f"
done
printf '  %s%-30s %3d/%-3d tests %4d/%-4d points%s\n' "$bold" "all" "$all_pass" "$all_tests" "$all_pts" "$all_max" "$off"
# A selection that took no test anywhere is a failed run too: nothing was checked.
[ "$broken" -eq 0 ] && [ "$all_pass" -eq "$all_tests" ] && [ "$all_tests" -gt 0 -o "$unmatched" -eq 0 ]
