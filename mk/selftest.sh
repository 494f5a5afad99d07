#!/usr/bin/env bash
# `make selftest`: the workbook proves itself.
#   1. every reference solution passes its tests under ASan+UBSan (gcc), under Valgrind memcheck, and under
#      ThreadSanitizer (clang) where the chapter is threaded; with clang too, the solutions, their tests and the
#      programs the tests start build warning-free (make check CC=clang runs them);
#   2. every skeleton compiles warning-free with gcc and clang (that it scores 0 points, the harness proves in 7);
#   3. every demo builds against the reference solution;
#   4. the documentation builds with zero Doxygen warnings, and every function in a chapter header carries an
#      @rust line, so the Rust <-> C index lists it;
#   5. every C source is laid out as .clang-format says (make format-check);
#   6. every entry of the bug catalogue (tests/NN-name/bugs/*.patch) applied to the reference solution fails the
#      tests it names, with a hint that names its concept (make bugs, mk/bugs.py);
#   7. the grading harness scores the solutions 100% and the skeletons 0% through its sandbox, and scores its own
#      hostile submissions right (harness/selftest/run); a skeleton test that passes is named there, with its
#      message. (A second, unsandboxed run of every skeleton's tests in lane a proved nothing more.)
# Every step runs even when an earlier one failed; the exit status says whether all passed.
#
# Three lanes run side by side: most of the time a test waits on a sync, a socket, a timer or a child, and one lane
# alone keeps a two-core machine less than half busy. Lane a runs the solutions under ASan+UBSan and TSan, builds
# them with clang, then the skeletons and demos; lane b the docs, the layout and the grading harness; lane c the
# solutions under Valgrind. The bug catalogue is a queue of chapters, the longest catalogue first: each lane takes
# the next chapter nobody has taken once its own work is done (and lane a has built the variants the catalogue
# seeds its scratch builds from), so the three end close together. Lanes b and c keep their output in
# files, printed after lane a's. SELFTEST_LANES=1 runs the three one after the other.
set -u
cd "$(dirname "$0")/.."
export NO_COLOR="${NO_COLOR:-}"
make="make --no-print-directory"
chs_arg=${CH:+CH=$CH}

results=()
failed=0
step() { # step "description" command...
    local what=$1; shift
    local start=$SECONDS
    printf '\n=== %s\n' "$what"
    if "$@"; then results+=("ok    $what ($((SECONDS - start)) s)")
    else results+=("FAIL  $what ($((SECONDS - start)) s)"); failed=1; fi
}

chapters=$($make -s -f /dev/stdin list-chapters $chs_arg <<'MK'
include mk/common.mk
list-chapters: ; @echo $(CHS)
MK
) || exit 2
# The bug catalogue's queue: the chapters with the most catalogued bugs first, so that the last one taken is short.
bug_order=$(for ch in $chapters; do
    printf '%s %s\n' "$(find "tests/$ch/bugs" -name '*.patch' 2>/dev/null | wc -l)" "$ch"
done | sort -rn | cut -d' ' -f2)

lane_dir=build/selftest
mkdir -p "$lane_dir"
built_marker=$lane_dir/solutions-built
rm -f "$built_marker" "$lane_dir"/lane-*.log "$lane_dir"/lane-*.results
rm -rf "$lane_dir"/bugs-*

lane_a() { # the solutions under the sanitizers, then the skeletons and demos
    step "solutions under ASan+UBSan (gcc)" $make check IMPL=solutions CC=gcc $chs_arg
    # clang's warnings come from its front end and are the same at every optimisation level: a build at -O0 without
    # sanitizers, the cheapest that compiles and links everything, proves as much as an ASan build (twice the time).
    for ch in $chapters; do
        step "$ch solutions, tests and programs build warning-free (clang)" \
            $make -f mk/chapter.mk build CH="$ch" IMPL=solutions VARIANT=plain VFLAGS=-O0 CC=clang
    done
    step "solutions under ThreadSanitizer (threaded chapters)" $make tsan IMPL=solutions CC=clang $chs_arg
    touch "$built_marker"
    for ch in $chapters; do
        for cc in gcc clang; do
            step "$ch skeleton compiles warning-free ($cc)" \
                $make -f mk/chapter.mk objects CH="$ch" IMPL=chapters VARIANT=plain CC=$cc
        done
        if [ -f "chapters/$ch/demo.c" ]; then
            step "$ch demo builds" $make -f mk/chapter.mk build/solutions/asan-gcc/"$ch"/demo \
                CH="$ch" IMPL=solutions VARIANT=asan CC=gcc
        fi
    done
    bug_queue
}

lane_b() { # the site, the layout, the grading harness, then chapters of the bug catalogue
    step "docs build with zero Doxygen warnings" $make docs
    step "every header function names its Rust counterpart (@rust)" python3 mk/check_rust_tags.py
    step "the C sources follow .clang-format" mk/format.sh check
    step "grading harness: solutions 100%, skeletons 0%, hostile submissions scored right" harness/selftest/run
    bug_queue
}

lane_c() { # Valgrind, then chapters of the bug catalogue
    # Without --track-origins (ORIGINS=no): the same errors and leaks are found, in two thirds of the time; a failure
    # here is looked into with `make memcheck CH=NN`, which says where an uninitialised value came from.
    step "solutions under Valgrind memcheck" $make memcheck IMPL=solutions ORIGINS=no $chs_arg
    bug_queue
}

# The chapters whose bug catalogue nobody has proved yet, taken one at a time by whichever lane asks first: a lane
# claims a chapter by creating its folder under $lane_dir (mkdir is atomic, so two lanes never take the same one).
# Catalogues seed their scratch builds from the solutions' variants, so none starts before lane a has built them.
bug_queue() {
    while [ ! -e "$built_marker" ]; do sleep 2; done
    local ch
    for ch in $bug_order; do
        mkdir "$lane_dir/bugs-$ch" 2>/dev/null || continue
        step "$ch: every catalogued bug is caught, by a test whose hint names it" $make bugs CH="$ch" BUGS_MIN=8
    done
}

# Runs lane $1 in the background, its output and its step results kept in files; its pid in lane_pid.
start_lane() {
    (
        results=()
        failed=0
        "lane_$1"
        printf '%s\n' "${results[@]}" >"$lane_dir/lane-$1.results"
        exit $failed
    ) >"$lane_dir/lane-$1.log" 2>&1 &
    lane_pid=$!
}

# Waits for lane $1 (pid $2), prints its log and adds its results.
finish_lane() {
    wait "$2" || failed=1
    printf '\n=== lane %s\n' "$1"
    cat "$lane_dir/lane-$1.log"
    if [ -s "$lane_dir/lane-$1.results" ]; then
        mapfile -t lane_results <"$lane_dir/lane-$1.results"
        results+=("${lane_results[@]}")
    else
        results+=("FAIL  lane $1 ended without reporting its steps")
        failed=1
    fi
}

if [ "${SELFTEST_LANES:-3}" -eq 1 ]; then
    lane_a
    lane_b
    lane_c
else
    start_lane b
    pid_b=$lane_pid
    start_lane c
    pid_c=$lane_pid
    trap 'kill "$pid_b" "$pid_c" 2>/dev/null' EXIT
    echo "selftest: lanes b (docs, layout, harness) and c (Valgrind, bug catalogue) run beside this one, lane a;"
    echo "          their logs follow lane a's"
    lane_a
    finish_lane b "$pid_b"
    finish_lane c "$pid_c"
    trap - EXIT
fi

printf '\n=== selftest summary\n'
printf '  %s\n' "${results[@]}"
exit $failed
