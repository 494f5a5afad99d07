/*
 * ft_sanitizer.h — each test's sanitizer reports in a file of its own, and the first of them shown under the test's
 * failure; kept in tests/lib/sanitizer.c for the shared test main (tests/lib/main.c). Not for chapter tests: they
 * use ferrite_test.h.
 *
 * Check runs every test in a forked process, whose stderr is the run's: left alone, a sanitizer prints every report
 * of every test there, in the order the tests ran, ahead of the failure list. Instead each test's process tells
 * the sanitizer runtimes to write to <folder>/<test name>.<pid>, and the failure list reads the file back.
 */
#ifndef FT_SANITIZER_H
#define FT_SANITIZER_H

#include "ferrite_test.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Makes the folder reports/ beside the results file @p results ready for a run of the @p n @p tests: creates it, and
 * removes the reports an earlier run left there for any of them. Returns its path (a static string), or NULL,
 * changing nothing, when no sanitizer runtime is linked in (plain, Valgrind) or the folder cannot be made: the
 * reports then stay on stderr. */
const char *ft_reports_prepare(const char *results, const ft_test *const *tests, size_t n);

/* In a test's own process, before its body runs: sends the sanitizers' reports to @p dir/@p name.<pid>. */
void ft_reports_redirect(const char *dir, const char *name);

/* Prints to @p f, under test @p name's failure, the first report its process left in @p dir: a line naming the
 * sanitizer and the test; the report without its shadow-memory map and separator lines, each stack trace with the
 * frames in the chapter's own files first and the frames below the test function left out; then the path of the
 * whole report. Prints nothing, and returns false, when the test left no report. */
bool ft_print_sanitizer_report(FILE *f, const char *dir, const char *name);

#endif
