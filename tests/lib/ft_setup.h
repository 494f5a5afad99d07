/*
 * ft_setup.h — the shared test main's side of FT_SETUP (ferrite_test.h), kept in tests/lib/setup.c.
 * Not for chapter tests: they use ferrite_test.h.
 */
#ifndef FT_SETUP_H
#define FT_SETUP_H

#include "ferrite_test.h"

#include <stdbool.h>
#include <stddef.h>

/* Runs, in registration order, each setup that one of the selected tests (selected[i] for tests[i], n of them)
 * needs; once each. Called by the runner after the selection, before any test forks. */
void ft_run_setups(const ft_test *const *tests, size_t n, const bool *selected);

#endif
