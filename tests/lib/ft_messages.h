/*
 * ft_messages.h — helpers of the shared test main (tests/lib/main.c), kept in tests/lib/messages.c.
 * Not for chapter tests: they use ferrite_test.h.
 */
#ifndef FT_MESSAGES_H
#define FT_MESSAGES_H

/* A short explanation to print after Check's message for a test that ended early (a sanitizer's exit code, a
 * signal, a timeout): " (meaning)" with the meaning exit_status.def gives, or "" when the message is an ordinary
 * failed assertion. The string is static. */
const char *ft_explain_exit(const char *message);

/* @p message with each number that is a value of a status enum the message names followed by that value's name,
 * e.g. "== -99 (FV_ERR_TODO)"; for the student's eyes only (the results file keeps Check's words). The string is
 * static, or @p message itself. */
const char *ft_name_statuses(const char *message);

/* @p message with the preprocessor's expansions the tests meet put back as names (SIZE_MAX, atomic_load(&x)). The
 * string is static. */
const char *ft_readable(const char *message);

/* Rewrites Check's TAP log at @p path so that tests ended by FT_SKIP read "ok N - ... # SKIP reason". */
void ft_tap_mark_skips(const char *path);

#endif
