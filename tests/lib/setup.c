/*
 * The setups registered with FT_SETUP (ferrite_test.h), and running those that the selected tests need.
 */
#include "ft_setup.h"

#include <stdio.h>
#include <stdlib.h>

#define FT_MAX_SETUPS 8

static const ft_setup *setups[FT_MAX_SETUPS];
static size_t n_setups;

void ft_register_setup(const ft_setup *s)
{
    if (n_setups == FT_MAX_SETUPS) {
        fprintf(stderr, "ferrite: more than %d FT_SETUP lines in one chapter\n", FT_MAX_SETUPS);
        exit(2);
    }
    setups[n_setups++] = s;
}

static bool needs(const ft_setup *s, int part)
{
    for (size_t i = 0; i < s->n_parts; i++)
        if (s->parts[i] == part)
            return true;
    return false;
}

void ft_run_setups(const ft_test *const *tests, size_t n, const bool *selected)
{
    for (size_t k = 0; k < n_setups; k++) {
        size_t i = 0;
        while (i < n && !(selected[i] && needs(setups[k], tests[i]->part)))
            i++;
        if (i < n) {
            fflush(NULL); /* a setup may fork: nothing buffered is written twice */
            setups[k]->fn();
        }
    }
}
