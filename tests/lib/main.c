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
 * FT_MARK_OUTPUT (environment), set by the grading harness only, makes the runner write "<its value> <test name>" on
 * a line of its own to stderr before each test, so that the output of a run of many tests can be cut into each
 * test's own (harness/excerpts.py).
 */
#define _POSIX_C_SOURCE 200809L
#include "ferrite_test.h"
#include "ft_messages.h"
#include "ft_select.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FT_CHAPTER
#define FT_CHAPTER "unnamed"
#endif

#define FT_MAX_TESTS 512
/* Check's whole message for a test it stopped at its timeout. */
#define FT_TIMEOUT_MESSAGE "Test timeout expired"
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

/* ---- options ---------------------------------------------------------------------------------------------- */

struct options {
    bool list;
    bool quiet;        /* tables only, no per-failure details */
    const char *only;  /* comma-separated test names, or NULL for all */
    bool prefix;       /* `only` came from FT_TEST: an item that is no whole name is a prefix */
    const char *parts; /* FT_PART or --part: part numbers or ranges, or NULL for all */
    bool first;        /* stop after the first failing test */
    const char *xml, *tap, *results;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: test [--list] [--quiet] [--test NAME[,NAME...]] [--part N[,N...]] [--first] [--xml FILE] "
            "[--tap FILE] [--results FILE]\n");
    exit(2);
}

static struct options parse_options(int argc, char **argv)
{
    struct options o = {.only = getenv("FT_TEST"), .parts = getenv("FT_PART")};
    if (o.only && !*o.only)
        o.only = NULL;
    o.prefix = o.only != NULL;
    if (o.parts && !*o.parts)
        o.parts = NULL;
    const char *first = getenv("FT_FIRST");
    o.first = first && *first && strcmp(first, "0");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--list"))
            o.list = true;
        else if (!strcmp(a, "--quiet"))
            o.quiet = true;
        else if (!strcmp(a, "--test") && has_value)
            o.only = argv[++i], o.prefix = false;
        else if (!strcmp(a, "--part") && has_value)
            o.parts = argv[++i];
        else if (!strcmp(a, "--first"))
            o.first = true;
        else if (!strcmp(a, "--xml") && has_value)
            o.xml = argv[++i];
        else if (!strcmp(a, "--tap") && has_value)
            o.tap = argv[++i];
        else if (!strcmp(a, "--results") && has_value)
            o.results = argv[++i];
        else
            usage();
    }
    return o;
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

/* ---- output --------------------------------------------------------------------------------------------- */

static bool use_color;

static const char *paint(const char *code) { return use_color ? code : ""; }
#define RED paint("\033[31m")
#define GREEN paint("\033[32m")
#define BOLD paint("\033[1m")
#define DIM paint("\033[2m")
#define RESET paint("\033[0m")

/* Outcome of one registered test after the run. */
struct outcome {
    enum { RAN_PASS, RAN_FAIL, RAN_SKIP, NOT_RUN } status;
    const char *message; /* Check's message, or NULL */
    const char *file;
    int line;
};

static const char *status_word(const struct outcome *o)
{
    return o->status == RAN_PASS ? "pass" : o->status == RAN_FAIL ? "fail" : o->status == RAN_SKIP ? "skip" : "not-run";
}

/* Writes @p s with tabs and newlines flattened, so that a TSV row stays one row. */
static void put_flat(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static void write_results(const char *path, const struct outcome *out, const bool *selected)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    for (size_t i = 0; i < n_tests; i++) {
        if (!selected[i])
            continue;
        const ft_part *p = find_part(tests[i]->part);
        fprintf(f, "%s\t%d\t%s\t%s\t%d\t%s\t", FT_CHAPTER, tests[i]->part, p ? p->title : "?", tests[i]->name,
                tests[i]->points, status_word(&out[i]));
        put_flat(f, out[i].message);
        fputc('\n', f);
    }
    fclose(f);
}

static bool failed(const struct outcome *o) { return o->status == RAN_FAIL || o->status == NOT_RUN; }

/* One part's failures under a heading, each with Check's message and the test's hint. */
static void print_part_failures(const ft_part *part, const struct outcome *out, const bool *selected)
{
    int failing = 0;
    for (size_t i = 0; i < n_tests; i++)
        failing += selected[i] && tests[i]->part == part->number && failed(&out[i]);
    if (failing)
        printf("%s── part %d: %s · %d failing%s\n", BOLD, part->number, part->title, failing, RESET);
    for (size_t i = 0; i < n_tests; i++) {
        if (!selected[i] || tests[i]->part != part->number || out[i].status == RAN_PASS)
            continue;
        const ft_test *t = tests[i];
        if (out[i].status == RAN_SKIP) {
            printf("%s- part %d · %s%s (%d pt%s) skipped: %s\n", DIM, t->part, t->name, RESET, t->points,
                   t->points == 1 ? "" : "s", out[i].message);
            continue;
        }
        printf("%s✗ part %d · %s%s (%d pt%s)\n", RED, t->part, t->name, RESET, t->points, t->points == 1 ? "" : "s");
        bool declared;
        if (out[i].status == NOT_RUN) {
            printf("    did not run (the test binary stopped before reaching it)\n");
        } else if (out[i].message && !strncmp(out[i].message, FT_TIMEOUT_MESSAGE, strlen(FT_TIMEOUT_MESSAGE))) {
            /* A hang says nothing about the concept the hint names: where the test was is what helps. */
            printf("    %s:%d (its last check): stopped after %.0f s%s\n", out[i].file ? out[i].file : t->file, out[i].line,
                   timeout_of(t, &declared) * timeout_multiplier(), ft_explain_exit(out[i].message));
            continue;
        } else {
            printf("    %s:%d: %s%s\n", out[i].file ? out[i].file : t->file, out[i].line,
                   out[i].message ? ft_name_statuses(ft_readable(out[i].message)) : "(no message)",
                   ft_explain_exit(out[i].message));
        }
        printf("    %shint:%s %s\n", BOLD, RESET, t->hint);
    }
}

/* The failures part by part, lowest part first (parts are sorted), since a later part builds on the earlier ones:
 * the first failure a student reads is the one to fix first. */
static void print_failures(const struct outcome *out, const bool *selected)
{
    for (size_t p = 0; p < n_parts; p++)
        print_part_failures(parts[p], out, selected);
}

static void print_table(const struct outcome *out, const bool *selected)
{
    int all_pass = 0, all_tests = 0, all_pts = 0, all_max = 0;
    int width = 44; /* the titles' column: at least 44 wide, wider when a title needs it, so the counts align */
    for (size_t p = 0; p < n_parts; p++)
        if ((int)strlen(parts[p]->title) > width)
            width = (int)strlen(parts[p]->title);
    printf("\n%s%s%s\n", BOLD, FT_CHAPTER, RESET);
    for (size_t p = 0; p < n_parts; p++) {
        int pass = 0, total = 0, pts = 0, max = 0, skipped = 0;
        for (size_t i = 0; i < n_tests; i++) {
            if (!selected[i] || tests[i]->part != parts[p]->number)
                continue;
            total++;
            max += tests[i]->points;
            if (out[i].status == RAN_PASS) {
                pass++;
                pts += tests[i]->points;
            }
            skipped += out[i].status == RAN_SKIP;
        }
        if (total == 0)
            continue;
        printf("  %spart %-2d %-*s%s %3d/%-3d tests %4d/%-4d points", pass == total ? GREEN : RED, parts[p]->number, width,
               parts[p]->title, RESET, pass, total, pts, max);
        if (skipped)
            printf("  (%d skipped)", skipped);
        putchar('\n');
        all_pass += pass, all_tests += total, all_pts += pts, all_max += max;
    }
    printf("  %s%-*s %3d/%-3d tests %4d/%-4d points%s\n", BOLD, width + 8, "total", all_pass, all_tests, all_pts, all_max,
           RESET);
}

/* ---- running -------------------------------------------------------------------------------------------- */

/* Check keeps the suite names it is given, so they live here until the runner is freed. */
static char suite_titles[FT_MAX_PARTS][160];

/* FT_MARK_OUTPUT: the mark, and the selected tests in the order the runner was given them, which is the order Check
 * runs them in. An unchecked fixture runs in the runner, before Check forks the test, and after the previous test's
 * process has been reaped: whatever is printed between two marks, by a test or by any process it started, is that
 * test's. */
static const char *output_mark;
static const char *run_order[FT_MAX_TESTS];
static size_t n_ordered, n_marked;

static void mark_next_test(void)
{
    if (n_marked < n_ordered)
        dprintf(STDERR_FILENO, "\n%s %s\n", output_mark, run_order[n_marked++]);
}

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
    printf("%s  … part %d · %s: running, may take up to %.0f s%s\n", DIM, t->part, t->name,
           timeout_of(t, &declared) * timeout_multiplier(), RESET);
    fflush(stdout);
}

static SRunner *build_runner(const bool *selected)
{
    const char *env_timeout = getenv("CK_DEFAULT_TIMEOUT");
    output_mark = getenv("FT_MARK_OUTPUT");
    if (output_mark && !*output_mark)
        output_mark = NULL;
    SRunner *sr = NULL;
    for (size_t p = 0; p < n_parts; p++) {
        char *title = suite_titles[p];
        snprintf(title, sizeof suite_titles[p], "part %d: %s", parts[p]->number, parts[p]->title);
        Suite *s = suite_create(title);
        for (size_t i = 0; i < n_tests; i++) {
            if (!selected[i] || tests[i]->part != parts[p]->number)
                continue;
            TCase *tc = tcase_create(tests[i]->name);
            if (output_mark) {
                run_order[n_ordered++] = tests[i]->name;
                tcase_add_unchecked_fixture(tc, mark_next_test, NULL);
            }
            bool declared;
            int seconds = timeout_of(tests[i], &declared);
            if (declared && announce_slow_tests && !output_mark) {
                slow_order[n_slow++] = tests[i];
                tcase_add_unchecked_fixture(tc, announce_next_slow_test, NULL);
            }
            /* CK_DEFAULT_TIMEOUT (the grading harness sets one) is one limit for every test, as Check reads it. */
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

static void collect(SRunner *sr, struct outcome *out, const bool *selected)
{
    for (size_t i = 0; i < n_tests; i++)
        out[i] = (struct outcome){.status = NOT_RUN};
    TestResult **results = srunner_results(sr);
    int n = srunner_ntests_run(sr);
    for (int r = 0; r < n; r++) {
        const char *name = tr_tcname(results[r]);
        for (size_t i = 0; i < n_tests; i++) {
            if (!selected[i] || strcmp(tests[i]->name, name))
                continue;
            out[i].status = tr_rtype(results[r]) == CK_PASS ? RAN_PASS : RAN_FAIL;
            out[i].message = tr_msg(results[r]);
            size_t mark = strlen(FT_SKIP_MARK);
            if (out[i].status == RAN_FAIL && out[i].message && !strncmp(out[i].message, FT_SKIP_MARK, mark)) {
                out[i].status = RAN_SKIP;
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
static size_t select_tests(const struct options *o, bool *selected)
{
    struct ft_selection sel = {o->only, o->prefix, o->parts};
    return ft_select_tests(tests, n_tests, &sel, selected);
}

/* Builds the suites of the selected tests and runs them, each in its own forked process, with Check's XML and TAP
 * logs written where the options ask. The caller frees the runner, which holds the results. */
static SRunner *run_tests(const bool *selected, const struct options *o)
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

/* Counts the selected tests that ended with FT_SKIP and says so under the table; in the TAP log they become
 * `ok N # SKIP reason`. Returns the count. */
static int report_skips(const struct outcome *out, const bool *selected, const char *tap)
{
    int skipped = 0;
    for (size_t i = 0; i < n_tests; i++)
        skipped += selected[i] && out[i].status == RAN_SKIP;
    if (skipped) {
        printf("%d test%s skipped (Check counts %s among its failures; %s no points)\n", skipped, skipped == 1 ? "" : "s",
               skipped == 1 ? "it" : "them", skipped == 1 ? "it scores" : "they score");
        if (tap)
            ft_tap_mark_skips(tap);
    }
    return skipped;
}

/* One line on what to do next: the lowest part with a failure, and the make command that runs just that part; on
 * a run where nothing passed yet, it says to start there. Parts build on each other, so that order is the one. */
static void print_next_step(const struct outcome *out, const bool *selected, bool stopped_early)
{
    const ft_part *next = NULL;
    int passed = 0, failing = 0;
    for (size_t p = 0; p < n_parts && !next; p++)
        for (size_t i = 0; i < n_tests; i++)
            if (selected[i] && tests[i]->part == parts[p]->number && failed(&out[i]))
                next = parts[p];
    for (size_t i = 0; i < n_tests; i++) {
        passed += selected[i] && out[i].status == RAN_PASS;
        failing += selected[i] && next && tests[i]->part == next->number && failed(&out[i]);
    }
    if (!next) {
        if (!stopped_early)
            printf("%severy test run here passes%s\n", GREEN, RESET);
        return;
    }
    printf("%s%s part %d (%s): %d test%s failing: make check CH=%.2s PART=%d, or make watch%s\n", BOLD,
           passed ? "next:" : "start with", next->number, next->title, failing, failing == 1 ? "" : "s", FT_CHAPTER,
           next->number, RESET);
}

/* What a student reads after the run, in this order: the failures with their hints (unless --quiet), the table
 * per part, Check's own summary line, then the note on skipped tests; and the results file for the harness.
 * Returns how many tests were skipped. */
static int report(SRunner *sr, const struct outcome *out, const bool *selected, const struct options *o)
{
    if (!o->quiet)
        print_failures(out, selected);
    print_table(out, selected);
    if (sr)
        srunner_print(sr, CK_MINIMAL); /* Check's own summary line; a --first run prints its own */
    if (!o->quiet)
        print_next_step(out, selected, !sr);
    if (o->results)
        write_results(o->results, out, selected);
    return report_skips(out, selected, o->tap);
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
static int run_until_first_failure(bool *selected, const struct options *o)
{
    static struct outcome out[FT_MAX_TESTS], one_out[FT_MAX_TESTS];
    static bool one[FT_MAX_TESTS];
    int ran = 0, n_failed = 0, not_run = 0;
    for (size_t i = 0; i < n_tests; i++)
        out[i] = (struct outcome){.status = NOT_RUN};
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
            n_failed += failed(&out[i]);
        }
    }
    struct options quiet_logs = *o;
    quiet_logs.tap = NULL;
    report(NULL, out, selected, &quiet_logs);
    printf("%d test%s run, %d failed", ran, ran == 1 ? "" : "s", n_failed);
    if (not_run)
        printf("; stopped at the first failure (FIRST=1): %d more not run", not_run);
    putchar('\n');
    return n_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct options o = parse_options(argc, argv);
    use_color = stdout_wants_color();
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
        struct ft_selection sel = {o.only, o.prefix, o.parts};
        printf("%s: ", FT_CHAPTER);
        ft_explain_no_match(stdout, tests, n_tests, &sel);
        if (o.results)
            write_results(o.results, NULL, selected);
        return 2;
    }
    if (o.only || o.parts) { /* a typo among several names still runs the others, and says so first */
        struct ft_selection sel = {o.only, o.prefix, o.parts};
        ft_explain_no_match(stdout, tests, n_tests, &sel);
    }
    if (o.first)
        return run_until_first_failure(selected, &o);

    SRunner *sr = run_tests(selected, &o);
    static struct outcome out[FT_MAX_TESTS];
    collect(sr, out, selected);
    int skipped = report(sr, out, selected, &o);
    int status = exit_status(sr, skipped, n_selected);
    srunner_free(sr);
    return status;
}
