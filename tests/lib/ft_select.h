/*
 * ft_select.h — which tests a run of the shared test main (tests/lib/main.c) takes, and its command line, kept in
 * tests/lib/select.c.
 * Not for chapter tests: they use ferrite_test.h.
 */
#ifndef FT_SELECT_H
#define FT_SELECT_H

#include "ferrite_test.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** What a run asked for; a NULL field selects everything. */
struct ft_selection {
    const char *names; /**< comma-separated test names, or name prefixes when @ref prefix is set */
    bool prefix;       /**< a name that is no test's whole name selects every test whose name starts with it */
    const char *parts; /**< comma-separated part numbers or ranges, e.g. "2" or "1-3,5" */
};

/* Sets selected[i] for each of the @p n tests that @p sel takes; returns how many it set. */
size_t ft_select_tests(const ft_test *const *tests, size_t n, const struct ft_selection *sel, bool *selected);

/* Writes to @p f each name or part of @p sel that matched nothing, with the names that come close (a small edit
 * distance, or the name contains what was typed), so that a typo reads as one; and, when the names and the parts
 * each match but no test is in both, where the named tests are. Writes nothing for a selection that is all used. */
void ft_explain_no_match(FILE *f, const ft_test *const *tests, size_t n, const struct ft_selection *sel);

/** The test binary's command line (main.c's header comment has it), with FT_TEST, FT_PART and FT_FIRST. */
struct ft_options {
    bool list;
    bool quiet;                 /**< tables only, no per-failure details */
    struct ft_selection select; /**< FT_TEST or --test (whole names only), FT_PART or --part */
    bool first;                 /**< stop after the first failing test */
    const char *xml, *tap, *results;
};

/* The options of the command line @p argv and the environment; a wrong option prints the usage and exits with status 2. */
struct ft_options ft_parse_options(int argc, char **argv);

#endif
