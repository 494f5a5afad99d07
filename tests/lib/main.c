/*
 * The one test main shared by every chapter.
 *
 * It turns the tests registered by FT_TEST into Check suites (one per part, one test case per test, so each result
 * names its test and each test has its own timeout), runs them in Check's fork mode, and prints what a student needs:
 * each failure with the assertion Check reported and the test's hint, then a table per part with tests passed and
 * points earned. Check's XML and TAP logs, and a TSV of per-test results, are written on request for the harness
 * and for `make check`'s summary across chapters.
 *
 *   test [--list] [--quiet] [--test NAME[,NAME...]] [--xml FILE] [--tap FILE] [--results FILE]
 *
 * --quiet leaves out the per-failure details and prints only the tables and Check's summary line.
 *
 * A test that ends with FT_SKIP (a tool it needs is missing) is reported as skipped: no points, "skip" in the
 * results file, `ok N # SKIP reason` in the TAP log. It does not make the run fail; Check's own summary line still
 * counts it among the failures.
 *
 * FT_TEST (environment) selects tests like --test, several names separated by commas, except that a name which is no
 * test's whole name selects every test whose name starts with it (`make check TEST=push_` takes all push_ tests).
 * FT_PART (environment) or --part keeps the tests of the given parts ("2", "1-3,5"). FT_FIRST=1 or --first runs the
 * tests one by one, parts in order, and stops after the first failure. A selection that takes no test says which
 * name or part matched nothing and lists the names that come close; it writes an empty results file, exit status 2.
 *
 * Each test may run FT_DEFAULT_TIMEOUT_S seconds, or what its FT_TIMEOUT line gives it, times CK_TIMEOUT_MULTIPLIER;
 * CK_DEFAULT_TIMEOUT (environment) replaces both with one limit for every test. A test with an FT_TIMEOUT line is
 * announced on a line of its own as it starts (not with --quiet), and a test stopped at its limit is reported as
 * code that did not return, with where it was, instead of its hint.
 *
 * A test's sanitizer reports go to a file of its own, reports/<test name>.<pid> beside the --results file; the
 * failure list shows the first report of each failed test there, trimmed (tests/lib/sanitizer.c). A run without
 * --results, or one built without sanitizers, leaves them on stderr.
 *
 * FT_MARK_OUTPUT (environment), set by the grading harness only, makes the runner write "<its value> <test name>" on
 * a line of its own to stderr before each test, so that the output of a run of many tests can be cut into each
 * test's own (harness/excerpts.py); the sanitizers' reports then stay on stderr, where the harness reads them.
 *
 * A chapter's FT_SETUP functions (a database server its tests share) run after the selection and before the first
 * test, those that a selected test's part needs only (tests/lib/setup.c); `--list` runs none.
 *
 * What a run prints and writes afterwards is tests/lib/report.c's.
 */
#define _POSIX_C_SOURCE 200809L
#include "ferrite_test.h"
#include "ft_report.h"
#include "ft_sanitizer.h"
#include "ft_select.h"
#include "ft_setup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FT_CHAPTER
#define FT_CHAPTER "unnamed"
#endif

#define FT_MAX_TESTS 512
#define FT_MAX_PARTS 16

static const ft_test *tests[FT_MAX_TESTS];
static size_t n_tests;
static const ft_part *parts[FT_MAX_PARTS];
static size_t n_parts;

void ft_register_test(const ft_test *t)
{
    if (n_tests == FT_MAX_TESTS) {
        fprintf(stderr, "ferrite: more than %d tests in one chapter; raise FT_MAX_TESTS\n", FT_MAX_TESTS);
        exit(2);
    }
    tests[n_tests++] = t;
}

/* The tests that FT_TIMEOUT gives more than FT_DEFAULT_TIMEOUT_S, kept apart from ft_test so that FT_TEST's line
 * stays as it is. The constructors run in no set order, so a test is found by its record, not by its index. */
static struct {
    const ft_test *test;
    int seconds;
} timeouts[FT_MAX_TESTS];
static size_t n_timeouts;

void ft_register_timeout(const ft_test *t, int seconds)
{
    if (n_timeouts == FT_MAX_TESTS || seconds <= 0) {
        fprintf(stderr, "ferrite: bad FT_TIMEOUT for %s\n", t->name);
        exit(2);
    }
    timeouts[n_timeouts].test = t;
    timeouts[n_timeouts++].seconds = seconds;
}

/* The seconds @p t may run (before Check's multiplier), and whether FT_TIMEOUT declared them. */
static int timeout_of(const ft_test *t, bool *declared)
{
    for (size_t i = 0; i < n_timeouts; i++) {
        if (timeouts[i].test == t) {
            *declared = true;
            return timeouts[i].seconds;
        }
    }
    *declared = false;
    return FT_DEFAULT_TIMEOUT_S;
}

/* CK_TIMEOUT_MULTIPLIER as Check reads it (a positive number; 1 when unset or not one). */
static double timeout_multiplier(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double x = m ? strtod(m, NULL) : 1.0;
    return x > 0 ? x : 1.0;
}

void ft_register_part(const ft_part *p)
{
    if (n_parts == FT_MAX_PARTS) {
        fprintf(stderr, "ferrite: more than %d parts in one chapter\n", FT_MAX_PARTS);
        exit(2);
    }
    parts[n_parts++] = p;
}

static const ft_part *find_part(int number)
{
    for (size_t i = 0; i < n_parts; i++)
        if (parts[i]->number == number)
            return parts[i];
    return NULL;
}

static int compare_parts(const void *a, const void *b)
{
    return (*(const ft_part *const *)a)->number - (*(const ft_part *const *)b)->number;
}

/* ---- running -------------------------------------------------------------------------------------------- */

/* Check keeps the suite names it is given, so they live here until the runner is freed. */
static char suite_titles[FT_MAX_PARTS][160];

/* The selected tests in the order the runner was given them, which is the order Check runs them in, and the one
 * running now. An unchecked fixture runs in the runner, before Check forks the test and after the previous test's
 * process has been reaped; a checked fixture runs in the test's own process, before its body. */
static const char *run_order[FT_MAX_TESTS];
static size_t n_ordered, n_started;
static const char *current_test;

/* FT_MARK_OUTPUT: the mark written to stderr as each test starts, so that whatever is printed between two marks, by
 * a test or by any process it started, is that test's. */
static const char *output_mark;

/* The folder each test's process sends its sanitizer reports to (ft_sanitizer.h); NULL leaves them on stderr. */
static const char *reports_dir;

static void start_next_test(void)
{
    if (n_started == n_ordered)
        return;
    current_test = run_order[n_started++];
    if (output_mark)
        dprintf(STDERR_FILENO, "\n%s %s\n", output_mark, current_test);
}

static void send_reports_to_file(void) { ft_reports_redirect(reports_dir, current_test); }

/* The tests that declared a longer timeout, in run order, each announced by an unchecked fixture as it starts: a
 * test that waits on purpose says so first, and a student watching a quiet terminal knows what it waits for. */
static bool announce_slow_tests;
static const ft_test *slow_order[FT_MAX_TESTS];
static size_t n_slow, n_announced;

static void announce_next_slow_test(void)
{
    if (n_announced == n_slow)
        return;
    const ft_test *t = slow_order[n_announced++];
    bool declared;
    printf("%s  … part %d · %s: running, may take up to %.0f s%s\n", FT_DIM, t->part, t->name,
           timeout_of(t, &declared) * timeout_multiplier(), FT_RESET);
    fflush(stdout);
}

static SRunner *build_runner(const bool *selected)
{
    const char *env_timeout = getenv("CK_DEFAULT_TIMEOUT");
    SRunner *sr = NULL;
    for (size_t p = 0; p < n_parts; p++) {
        char *title = suite_titles[p];
        snprintf(title, sizeof suite_titles[p], "part %d: %s", parts[p]->number, parts[p]->title);
        Suite *s = suite_create(title);
        for (size_t i = 0; i < n_tests; i++) {
            if (!selected[i] || tests[i]->part != parts[p]->number)
                continue;
            TCase *tc = tcase_create(tests[i]->name);
            if (output_mark || reports_dir) {
                run_order[n_ordered++] = tests[i]->name;
                tcase_add_unchecked_fixture(tc, start_next_test, NULL);
            }
            if (reports_dir)
                tcase_add_checked_fixture(tc, send_reports_to_file, NULL);
            bool declared;
            int seconds = timeout_of(tests[i], &declared);
            if (declared && announce_slow_tests && !output_mark) {
                slow_order[n_slow++] = tests[i];
                tcase_add_unchecked_fixture(tc, announce_next_slow_test, NULL);
            }
            /* CK_DEFAULT_TIMEOUT (environment) replaces every test's limit with one, as Check reads it; the harness does
             * not set it. */
            if (!env_timeout)
                tcase_set_timeout(tc, seconds); /* scaled by CK_TIMEOUT_MULTIPLIER */
            /* FT_TEST builds the TTest that START_TEST builds (Check 0.13 on), so the public macro takes it as is. */
            tcase_add_test_raise_signal(tc, tests[i]->ttest, tests[i]->signal);
            suite_add_tcase(s, tc);
        }
        if (!sr)
            sr = srunner_create(s);
        else
            srunner_add_suite(sr, s);
    }
    return sr;
}

static void collect(SRunner *sr, struct ft_outcome *out, const bool *selected)
{
    for (size_t i = 0; i < n_tests; i++) {
        bool declared;
        out[i] =
            (struct ft_outcome){.status = FT_NOT_RUN, .limit_s = timeout_of(tests[i], &declared) * timeout_multiplier()};
    }
    TestResult **results = srunner_results(sr);
    int n = srunner_ntests_run(sr);
    for (int r = 0; r < n; r++) {
        const char *name = tr_tcname(results[r]);
        for (size_t i = 0; i < n_tests; i++) {
            if (!selected[i] || strcmp(tests[i]->name, name))
                continue;
            out[i].status = tr_rtype(results[r]) == CK_PASS ? FT_RAN_PASS : FT_RAN_FAIL;
            out[i].message = tr_msg(results[r]);
            size_t mark = strlen(FT_SKIP_MARK);
            if (out[i].status == FT_RAN_FAIL && out[i].message && !strncmp(out[i].message, FT_SKIP_MARK, mark)) {
                out[i].status = FT_RAN_SKIP;
                out[i].message += mark;
            }
            out[i].file = tr_lfile(results[r]);
            out[i].line = tr_lno(results[r]);
        }
    }
    free(results);
}

/* ---- main's steps --------------------------------------------------------------------------------------- */

/* Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
static bool stdout_wants_color(void)
{
    const char *no_color = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

/* Sorts the parts by number (their constructors run in no set order) and checks that every test names a part
 * some FT_PART declares; false, with the message printed, if one does not. */
static bool sort_and_check_parts(void)
{
    qsort(parts, n_parts, sizeof parts[0], compare_parts);
    for (size_t i = 0; i < n_tests; i++) {
        if (!find_part(tests[i]->part)) {
            fprintf(stderr, "ferrite: test %s names part %d, which no FT_PART declares\n", tests[i]->name, tests[i]->part);
            return false;
        }
    }
    return true;
}

/* --list: one line per test, part, name, points and hint, tab-separated, in registration order. */
static void list_tests(void)
{
    for (size_t i = 0; i < n_tests; i++)
        printf("%d\t%s\t%d\t%s\n", tests[i]->part, tests[i]->name, tests[i]->points, tests[i]->hint);
}

/* Marks in @p selected the tests that the options' names and parts take (all of them when neither is given);
 * returns how many. */
static size_t select_tests(const struct ft_options *o, bool *selected)
{
    return ft_select_tests(tests, n_tests, &o->select, selected);
}

/* Builds the suites of the selected tests and runs them, each in its own forked process, with Check's XML and TAP
 * logs written where the options ask. The caller frees the runner, which holds the results. */
static SRunner *run_tests(const bool *selected, const struct ft_options *o)
{
    SRunner *sr = build_runner(selected);
    if (o->xml)
        srunner_set_xml(sr, o->xml);
    if (o->tap)
        srunner_set_tap(sr, o->tap);
    fflush(NULL); /* forked children must not inherit unflushed output */
    srunner_run_all(sr, CK_SILENT);
    return sr;
}

/* Where the tests' output goes. For the grading harness (FT_MARK_OUTPUT) a mark on stderr as each test starts, the
 * sanitizers' reports staying there for it to cut; otherwise each test's reports go to a file of its own in
 * reports/ beside the results file, shown under its failure (a run without a results file leaves them on stderr). */
static void route_output(const struct ft_options *o)
{
    output_mark = getenv("FT_MARK_OUTPUT");
    if (output_mark && !*output_mark)
        output_mark = NULL;
    if (!output_mark && o->results)
        reports_dir = ft_reports_prepare(o->results, tests, n_tests);
}

/* The report of a run (ft_report.h): @p sr is NULL after a --first run, @p tap the TAP log to touch up, if any.
 * Returns how many tests were skipped. */
static int report(SRunner *sr, const bool *selected, const struct ft_outcome *out, const struct ft_options *o,
                  const char *tap)
{
    struct ft_run run = {tests, n_tests, parts, n_parts, selected, out, reports_dir};
    struct ft_report_options options = {o->quiet, o->results, tap};
    return ft_report(sr, &run, &options);
}

/* 0 when every selected test passed or was skipped, else 1. Check counts a skip as a failure, and a selected test it
 * has no result for is in none of its counts: the one is taken off, the other added. */
static int exit_status(SRunner *sr, int skipped, size_t n_selected)
{
    int failed = srunner_ntests_failed(sr) - skipped + (int)(n_selected - (size_t)srunner_ntests_run(sr));
    return failed == 0 ? 0 : 1;
}

/* --first: the selected tests one runner each, parts in order, until one fails; the tests after it are taken out
 * of the selection, so the table and the results file show what ran. Check's XML and TAP logs are not written (a
 * runner per test would leave only the last). Returns the exit status. */
static int run_until_first_failure(bool *selected, const struct ft_options *o)
{
    static struct ft_outcome out[FT_MAX_TESTS], one_out[FT_MAX_TESTS];
    static bool one[FT_MAX_TESTS];
    int ran = 0, n_failed = 0, not_run = 0;
    for (size_t i = 0; i < n_tests; i++)
        out[i] = (struct ft_outcome){.status = FT_NOT_RUN};
    for (size_t p = 0; p < n_parts; p++) {
        for (size_t i = 0; i < n_tests; i++) {
            if (!selected[i] || tests[i]->part != parts[p]->number)
                continue;
            if (n_failed) {
                selected[i] = false;
                not_run++;
                continue;
            }
            memset(one, 0, sizeof one);
            one[i] = true;
            SRunner *sr = build_runner(one);
            fflush(NULL); /* forked children must not inherit unflushed output */
            srunner_run_all(sr, CK_SILENT);
            collect(sr, one_out, one);
            out[i] = one_out[i];
            /* The runner owns the strings its results point to. */
            out[i].message = out[i].message ? strdup(out[i].message) : NULL;
            out[i].file = out[i].file ? strdup(out[i].file) : NULL;
            srunner_free(sr);
            ran++;
            n_failed += ft_failed(&out[i]);
        }
    }
    report(NULL, selected, out, o, NULL);
    printf("%d test%s run, %d failed", ran, ran == 1 ? "" : "s", n_failed);
    if (not_run)
        printf("; stopped at the first failure (FIRST=1): %d more not run", not_run);
    putchar('\n');
    return n_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct ft_options o = ft_parse_options(argc, argv);
    ft_set_color(stdout_wants_color());
    announce_slow_tests = !o.quiet;
    if (!sort_and_check_parts())
        return 2;
    if (o.list) {
        list_tests();
        return 0;
    }

    static bool selected[FT_MAX_TESTS];
    size_t n_selected = select_tests(&o, selected);
    if (n_selected == 0) {
        /* Said on stdout, in the run's report; an empty results file tells the summary that nothing was selected,
         * where a missing one would mean that the build or the run broke. */
        printf("%s: ", FT_CHAPTER);
        ft_explain_no_match(stdout, tests, n_tests, &o.select);
        struct ft_run none = {tests, n_tests, parts, n_parts, selected, NULL, NULL};
        if (o.results)
            ft_write_results(o.results, &none);
        return 2;
    }
    if (o.select.names || o.select.parts) /* a typo among several names still runs the others, and says so first */
        ft_explain_no_match(stdout, tests, n_tests, &o.select);
    ft_run_setups(tests, n_tests, selected);
    route_output(&o);
    if (o.first)
        return run_until_first_failure(selected, &o);

    SRunner *sr = run_tests(selected, &o);
    static struct ft_outcome out[FT_MAX_TESTS];
    collect(sr, out, selected);
    int skipped = report(sr, selected, out, &o, o.tap);
    int status = exit_status(sr, skipped, n_selected);
    srunner_free(sr);
    return status;
}
