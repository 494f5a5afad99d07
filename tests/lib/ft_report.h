/*
 * ft_report.h — what the shared test main (tests/lib/main.c) prints after a run and writes for the harness, kept in
 * tests/lib/report.c: the failures part by part, the table, the next step, the note on skipped tests and the
 * results file. Not for chapter tests: they use ferrite_test.h.
 */
#ifndef FT_REPORT_H
#define FT_REPORT_H

#include "ferrite_test.h"

#include <stdbool.h>
#include <stddef.h>

/* How one registered test ended. */
enum ft_ran { FT_RAN_PASS, FT_RAN_FAIL, FT_RAN_SKIP, FT_NOT_RUN };

/* Outcome of one registered test after the run. */
struct ft_outcome {
    enum ft_ran status;
    const char *message; /* Check's message (FT_SKIP's reason for a skip), or NULL */
    const char *file;    /* where Check last saw the test, or NULL */
    int line;
    double limit_s; /* the seconds the test could run, CK_TIMEOUT_MULTIPLIER included */
};

/* A finished run as the report reads it; every array is indexed like @ref tests. */
struct ft_run {
    const ft_test *const *tests; /* every registered test */
    size_t n_tests;
    const ft_part *const *parts; /* every declared part, sorted by number */
    size_t n_parts;
    const bool *selected;         /* the tests this run took */
    const struct ft_outcome *out; /* their outcomes; NULL when none ran */
    const char *reports;          /* the folder of the sanitizers' per-test reports, or NULL */
};

/* What the report prints and writes. */
struct ft_report_options {
    bool quiet;          /* the tables only, no per-failure details */
    const char *results; /* the results file to write, or NULL */
    const char *tap;     /* Check's TAP log, whose skipped tests get TAP's spelling, or NULL */
};

/* Turns colour on or off for everything printed after (off by default). */
void ft_set_color(bool on);

/* @p code (an ANSI escape) when colour is on, else "". */
const char *ft_paint(const char *code);
#define FT_RED ft_paint("\033[31m")
#define FT_GREEN ft_paint("\033[32m")
#define FT_BOLD ft_paint("\033[1m")
#define FT_DIM ft_paint("\033[2m")
#define FT_RESET ft_paint("\033[0m")

/* Whether @p o counts as a failure: it failed, or the run stopped before reaching it. */
bool ft_failed(const struct ft_outcome *o);

/* Writes the results file at @p path: one tab-separated row per selected test (chapter, part, part title, test,
 * points, status, message). With no test selected it writes an empty file. */
void ft_write_results(const char *path, const struct ft_run *run);

/* What a student reads after the run, in this order: the failures with their hints and sanitizer reports (unless
 * quiet), the table per part, Check's own summary line (when @p sr is not NULL), the next step (unless quiet), then
 * the note on skipped tests; and the results file for the harness. @p sr is NULL after a --first run, which prints
 * its own summary line. Returns how many tests were skipped. */
int ft_report(SRunner *sr, const struct ft_run *run, const struct ft_report_options *o);

#endif
