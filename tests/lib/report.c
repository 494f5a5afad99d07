/*
 * report.c — what the shared test main prints after a run and writes for the harness (see ft_report.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "ft_report.h"

#include "ft_messages.h"
#include "ft_sanitizer.h"

#include <stdio.h>
#include <string.h>

#ifndef FT_CHAPTER
#define FT_CHAPTER "unnamed"
#endif

/* Check's whole message for a test it stopped at its timeout. */
#define FT_TIMEOUT_MESSAGE "Test timeout expired"

static bool use_color;

void ft_set_color(bool on) { use_color = on; }

const char *ft_paint(const char *code) { return use_color ? code : ""; }

bool ft_failed(const struct ft_outcome *o) { return o->status == FT_RAN_FAIL || o->status == FT_NOT_RUN; }

static const char *status_word(const struct ft_outcome *o)
{
    return o->status == FT_RAN_PASS   ? "pass"
           : o->status == FT_RAN_FAIL ? "fail"
           : o->status == FT_RAN_SKIP ? "skip"
                                      : "not-run";
}

static const ft_part *find_part(const struct ft_run *run, int number)
{
    for (size_t i = 0; i < run->n_parts; i++)
        if (run->parts[i]->number == number)
            return run->parts[i];
    return NULL;
}

/* Writes @p s with tabs and newlines flattened, so that a TSV row stays one row. */
static void put_flat(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

void ft_write_results(const char *path, const struct ft_run *run)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    for (size_t i = 0; i < run->n_tests; i++) {
        if (!run->selected[i])
            continue;
        const ft_test *t = run->tests[i];
        const ft_part *p = find_part(run, t->part);
        fprintf(f, "%s\t%d\t%s\t%s\t%d\t%s\t", FT_CHAPTER, t->part, p ? p->title : "?", t->name, t->points,
                status_word(&run->out[i]));
        put_flat(f, run->out[i].message);
        fputc('\n', f);
    }
    fclose(f);
}

/* What went wrong in failed test @p i: Check's message (or where a hung test was), the report a sanitizer left,
 * and the test's hint (not for a hang: it says nothing about the concept the hint names). */
static void print_failure(const struct ft_run *run, size_t i)
{
    const ft_test *t = run->tests[i];
    const struct ft_outcome *o = &run->out[i];
    const char *file = o->file ? o->file : t->file;
    printf("%s✗ part %d · %s%s (%d pt%s)\n", FT_RED, t->part, t->name, FT_RESET, t->points, t->points == 1 ? "" : "s");
    if (o->status == FT_NOT_RUN) {
        printf("    did not run (the test binary stopped before reaching it)\n");
    } else if (o->message && !strncmp(o->message, FT_TIMEOUT_MESSAGE, strlen(FT_TIMEOUT_MESSAGE))) {
        /* A hang says nothing about the concept the hint names: where the test was is what helps. */
        printf("    %s:%d (its last check): stopped after %.0f s%s\n", file, o->line, o->limit_s,
               ft_explain_exit(o->message));
        return;
    } else {
        printf("    %s:%d: %s%s\n", file, o->line, o->message ? ft_name_statuses(ft_readable(o->message)) : "(no message)",
               ft_explain_exit(o->message));
        if (run->reports)
            ft_print_sanitizer_report(stdout, run->reports, t->name);
    }
    printf("    %shint:%s %s\n", FT_BOLD, FT_RESET, t->hint);
}

/* One part's failures under a heading, each with Check's message and the test's hint. */
static void print_part_failures(const struct ft_run *run, const ft_part *part)
{
    int failing = 0;
    for (size_t i = 0; i < run->n_tests; i++)
        failing += run->selected[i] && run->tests[i]->part == part->number && ft_failed(&run->out[i]);
    if (failing)
        printf("%s── part %d: %s · %d failing%s\n", FT_BOLD, part->number, part->title, failing, FT_RESET);
    for (size_t i = 0; i < run->n_tests; i++) {
        const ft_test *t = run->tests[i];
        if (!run->selected[i] || t->part != part->number || run->out[i].status == FT_RAN_PASS)
            continue;
        if (run->out[i].status == FT_RAN_SKIP)
            printf("%s- part %d · %s%s (%d pt%s) skipped: %s\n", FT_DIM, t->part, t->name, FT_RESET, t->points,
                   t->points == 1 ? "" : "s", run->out[i].message);
        else
            print_failure(run, i);
    }
}

/* The failures part by part, lowest part first (parts are sorted), since a later part builds on the earlier ones:
 * the first failure a student reads is the one to fix first. */
static void print_failures(const struct ft_run *run)
{
    for (size_t p = 0; p < run->n_parts; p++)
        print_part_failures(run, run->parts[p]);
}

static void print_table(const struct ft_run *run)
{
    int all_pass = 0, all_tests = 0, all_pts = 0, all_max = 0;
    int width = 44; /* the titles' column: at least 44 wide, wider when a title needs it, so the counts align */
    for (size_t p = 0; p < run->n_parts; p++)
        if ((int)strlen(run->parts[p]->title) > width)
            width = (int)strlen(run->parts[p]->title);
    printf("\n%s%s%s\n", FT_BOLD, FT_CHAPTER, FT_RESET);
    for (size_t p = 0; p < run->n_parts; p++) {
        int pass = 0, total = 0, pts = 0, max = 0, skipped = 0;
        for (size_t i = 0; i < run->n_tests; i++) {
            if (!run->selected[i] || run->tests[i]->part != run->parts[p]->number)
                continue;
            total++;
            max += run->tests[i]->points;
            if (run->out[i].status == FT_RAN_PASS) {
                pass++;
                pts += run->tests[i]->points;
            }
            skipped += run->out[i].status == FT_RAN_SKIP;
        }
        if (total == 0)
            continue;
        printf("  %spart %-2d %-*s%s %3d/%-3d tests %4d/%-4d points", pass == total ? FT_GREEN : FT_RED,
               run->parts[p]->number, width, run->parts[p]->title, FT_RESET, pass, total, pts, max);
        if (skipped)
            printf("  (%d skipped)", skipped);
        putchar('\n');
        all_pass += pass, all_tests += total, all_pts += pts, all_max += max;
    }
    printf("  %s%-*s %3d/%-3d tests %4d/%-4d points%s\n", FT_BOLD, width + 8, "total", all_pass, all_tests, all_pts,
           all_max, FT_RESET);
}

/* Counts the selected tests that ended with FT_SKIP and says so under the table; in the TAP log they become
 * `ok N # SKIP reason`. Returns the count. */
static int report_skips(const struct ft_run *run, const char *tap)
{
    int skipped = 0;
    for (size_t i = 0; i < run->n_tests; i++)
        skipped += run->selected[i] && run->out[i].status == FT_RAN_SKIP;
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
static void print_next_step(const struct ft_run *run, bool stopped_early)
{
    const ft_part *next = NULL;
    int passed = 0, failing = 0;
    for (size_t p = 0; p < run->n_parts && !next; p++)
        for (size_t i = 0; i < run->n_tests; i++)
            if (run->selected[i] && run->tests[i]->part == run->parts[p]->number && ft_failed(&run->out[i]))
                next = run->parts[p];
    for (size_t i = 0; i < run->n_tests; i++) {
        passed += run->selected[i] && run->out[i].status == FT_RAN_PASS;
        failing += run->selected[i] && next && run->tests[i]->part == next->number && ft_failed(&run->out[i]);
    }
    if (!next) {
        if (!stopped_early)
            printf("%severy test run here passes%s\n", FT_GREEN, FT_RESET);
        return;
    }
    printf("%s%s part %d (%s): %d test%s failing: make check CH=%.2s PART=%d, or make watch%s\n", FT_BOLD,
           passed ? "next:" : "start with", next->number, next->title, failing, failing == 1 ? "" : "s", FT_CHAPTER,
           next->number, FT_RESET);
}

int ft_report(SRunner *sr, const struct ft_run *run, const struct ft_report_options *o)
{
    if (!o->quiet)
        print_failures(run);
    print_table(run);
    if (sr)
        srunner_print(sr, CK_MINIMAL); /* Check's own summary line; a --first run prints its own */
    if (!o->quiet)
        print_next_step(run, !sr);
    if (o->results)
        ft_write_results(o->results, run);
    return report_skips(run, o->tap);
}
