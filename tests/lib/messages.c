/*
 * messages.c — the shared test main's two translators (see ft_messages.h): Check's terse words about a test
 * process that died, turned into what a student should look at; and Check's TAP log, with skipped tests written
 * the way TAP spells them.
 */
#define _POSIX_C_SOURCE 200809L
#include "ft_messages.h"

#include "ferrite_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What a student should make of Check's terse messages about a test process that did not finish normally. The
 * table is exit_status.def, which the harness reads too; each meaning is returned as " (meaning)", a literal.
 */
const char *ft_explain_exit(const char *message)
{
    static const struct {
        const char *prefix, *explanation;
    } known[] = {
#define FT_EXIT(prefix, meaning) {prefix, " (" meaning ")"},
#include "exit_status.def"
#undef FT_EXIT
    };
    for (size_t i = 0; message && i < sizeof known / sizeof known[0]; i++) {
        /* The prefix must end where a word of the message ends: "return value 1" never matches "return value 127". */
        size_t n = strlen(known[i].prefix);
        if (!strncmp(message, known[i].prefix, n) && (message[n] == '\0' || message[n] == ',' || message[n] == ' '))
            return known[i].explanation;
    }
    return "";
}

/*
 * Check writes a skipped test to the TAP log as "not ok N - file:tcase:test: ferrite-skip: reason"; TAP's own
 * spelling is "ok N - file:tcase:test # SKIP reason". Rewrites those lines in place; the others stay as Check
 * wrote them.
 */
void ft_tap_mark_skips(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    char line[4096];
    while (mem && fgets(line, sizeof line, f)) {
        char *mark = strstr(line, ": " FT_SKIP_MARK);
        if (strncmp(line, "not ok ", 7) || !mark) {
            fputs(line, mem);
            continue;
        }
        *mark = '\0';
        fprintf(mem, "ok %s # SKIP %s", line + 7, mark + 2 + strlen(FT_SKIP_MARK));
    }
    fclose(f);
    if (!mem)
        return;
    fclose(mem);
    f = fopen(path, "w");
    if (f) {
        fwrite(text, 1, size, f);
        fclose(f);
    }
    free(text);
}
