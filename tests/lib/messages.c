/*
 * messages.c — the shared test main's two translators (see ft_messages.h): Check's terse words about a test
 * process that died, turned into what a student should look at; and Check's TAP log, with skipped tests written
 * the way TAP spells them.
 */
#define _POSIX_C_SOURCE 200809L
#include "ft_messages.h"

#include "ferrite_test.h"

#include <ctype.h>
#include <stdbool.h>
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

/*
 * The chapter's status enumerators, generated from its headers by mk/status_names.sh (mk/chapter.mk passes
 * FT_HAVE_STATUS_NAMES when it has): a value is named only from the enum of a constant the message itself names.
 */
static const struct {
    int group;
    long long value;
    const char *name;
} status_names[] = {
#ifdef FT_HAVE_STATUS_NAMES
#define FT_STATUS(group, value, name) {group, value, name},
#include "ft_status_names.h"
#undef FT_STATUS
#endif
    {0, 0, NULL},
};

/* The enums (bit = group number) whose constants appear as words in @p message. */
static unsigned long long groups_named_in(const char *message)
{
    unsigned long long groups = 0;
    for (const char *p = message; *p;) {
        if (!isupper((unsigned char)*p) || (p > message && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            p++;
            continue;
        }
        size_t len = 0;
        while (isalnum((unsigned char)p[len]) || p[len] == '_')
            len++;
        for (size_t i = 0; status_names[i].name; i++)
            if (strlen(status_names[i].name) == len && !strncmp(status_names[i].name, p, len) && status_names[i].group < 64)
                groups |= 1ULL << status_names[i].group;
        p += len;
    }
    return groups;
}

/* The name, in one of @p groups, of @p value; NULL if none. */
static const char *status_name(unsigned long long groups, long long value)
{
    for (size_t i = 0; status_names[i].name; i++)
        if (status_names[i].value == value && status_names[i].group < 64 && (groups >> status_names[i].group & 1))
            return status_names[i].name;
    return NULL;
}

/* Replaces in @p text, of capacity @p cap, every span from @p open up to the first @p close after it by @p name
 * followed by what lay between @p inner_open and @p inner_close within that span ("" when @p inner_open is NULL). */
static void collapse(char *text, size_t cap, const char *open, const char *close, const char *name, const char *inner_open,
                     const char *inner_close)
{
    for (char *at = strstr(text, open); at; at = strstr(at, open)) {
        char *end = strstr(at + strlen(open), close);
        if (!end)
            return;
        end += strlen(close);
        char inner[256] = "";
        if (inner_open) {
            char *from = strstr(at, inner_open), *to = from ? strstr(from + strlen(inner_open), inner_close) : NULL;
            if (from && to && to < end)
                snprintf(inner, sizeof inner, "%.*s", (int)(to - from - strlen(inner_open)), from + strlen(inner_open));
        }
        char tail[8192];
        snprintf(tail, sizeof tail, "%s", end);
        int n = snprintf(at, cap - (size_t)(at - text), "%s%s%s", name, inner, tail);
        if (n < 0 || (size_t)n >= cap - (size_t)(at - text))
            return;
        at += strlen(name) + strlen(inner);
    }
}

/*
 * Check quotes an assertion's arguments after the preprocessor expanded them: `SIZE_MAX` reads
 * `(18446744073709551615UL)` and gcc's `atomic_load(&x)` a statement expression of four lines. This puts the names
 * back for the expansions the workbook's tests meet. The result is in a static buffer.
 */
const char *ft_readable(const char *message)
{
    static char out[8192];
    if (!message)
        return message;
    snprintf(out, sizeof out, "%s", message);
    collapse(out, sizeof out, "(18446744073709551615UL)", "", "SIZE_MAX", NULL, NULL);
    collapse(out, sizeof out, "__extension__ ({ __auto_type __atomic_load_ptr = (", "__atomic_load_tmp; })", "atomic_load",
             "__atomic_load_ptr = ", "; __typeof__");
    return out;
}

/*
 * Check prints both sides of a failed comparison as numbers: "fv_new(...) == -99, FV_OK == 0". When the message
 * names a status constant, each number that is a value of that constant's enum gets its name after it:
 * "fv_new(...) == -99 (FV_ERR_TODO), FV_OK == 0". The result is in a static buffer, or @p message itself.
 */
const char *ft_name_statuses(const char *message)
{
    static char out[8192];
    unsigned long long groups = message ? groups_named_in(message) : 0;
    if (!groups)
        return message;
    size_t n = 0;
    for (const char *p = message; *p && n + 1 < sizeof out;) {
        if (strncmp(p, "== ", 3)) {
            out[n++] = *p++;
            continue;
        }
        const char *num = p + 3;
        char *end;
        long long value = strtoll(num, &end, 10);
        bool is_number = end > num && isdigit((unsigned char)end[-1]) && !isalnum((unsigned char)*end) && *end != '.';
        const char *name = is_number ? status_name(groups, value) : NULL;
        /* "FV_OK == 0" names itself already. */
        size_t name_len = name ? strlen(name) : 0;
        if (name && (size_t)(p - message) > name_len && !strncmp(p - 1 - name_len, name, name_len))
            name = NULL;
        int written = snprintf(out + n, sizeof out - n, name ? "%.*s (%s)" : "%.*s", (int)(end - p), p, name);
        if (!is_number)
            written = snprintf(out + n, sizeof out - n, "== ");
        if (written < 0 || (size_t)written >= sizeof out - n)
            return message;
        n += (size_t)written;
        p = is_number ? end : p + 3;
    }
    out[n] = '\0';
    return out;
}
