/*
 * select.c — the shared test main's selection (see ft_select.h): TEST= names or prefixes and PART= numbers, and
 * the near matches shown when a selection takes no test; and the command line that asks for them.
 */
#define _POSIX_C_SOURCE 200809L
#include "ft_select.h"

#include <stdlib.h>
#include <string.h>

/* Calls visit(item, len, ctx) for each non-empty comma-separated item of @p list; stops early when it returns
 * true, and returns whether one did. */
static bool any_item(const char *list, bool (*visit)(const char *, size_t, const void *), const void *ctx)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && visit(p, len, ctx))
            return true;
        p += len + (end != NULL);
    }
    return false;
}

/* ---- parts ---------------------------------------------------------------------------------------------- */

/* One item of a part list, "N" or "N-M", holds @p part. */
static bool part_item_holds(const char *item, size_t len, const void *ctx)
{
    int part = *(const int *)ctx;
    char buf[32];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, item, len);
    buf[len] = '\0';
    char *end;
    long lo = strtol(buf, &end, 10), hi = lo;
    if (end == buf)
        return false;
    if (*end == '-') {
        char *start = end + 1;
        hi = strtol(start, &end, 10);
        if (end == start)
            return false;
    }
    return *end == '\0' && lo <= part && part <= hi;
}

static bool part_selected(const char *parts, int part) { return !parts || any_item(parts, part_item_holds, &part); }

/* ---- names ---------------------------------------------------------------------------------------------- */

struct name_ctx {
    const ft_test *const *tests;
    size_t n;
    const char *name; /* the test being asked about */
    bool prefix;
};

static bool is_whole_name(const struct name_ctx *c, const char *item, size_t len)
{
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->tests[i]->name) == len && !strncmp(c->tests[i]->name, item, len))
            return true;
    return false;
}

/* An item selects a test it names in full; with prefixes on, an item that is no test's whole name also selects
 * every test whose name starts with it (so an exact name never takes a longer name with it). */
static bool name_item_selects(const char *item, size_t len, const void *ctx)
{
    const struct name_ctx *c = ctx;
    if (strlen(c->name) == len && !strncmp(c->name, item, len))
        return true;
    return c->prefix && !strncmp(c->name, item, len) && !is_whole_name(c, item, len);
}

static bool name_selected(const ft_test *const *tests, size_t n, const struct ft_selection *sel, const char *name)
{
    struct name_ctx c = {tests, n, name, sel->prefix};
    return !sel->names || any_item(sel->names, name_item_selects, &c);
}

size_t ft_select_tests(const ft_test *const *tests, size_t n, const struct ft_selection *sel, bool *selected)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        selected[i] = part_selected(sel->parts, tests[i]->part) && name_selected(tests, n, sel, tests[i]->name);
        count += selected[i];
    }
    return count;
}

/* ---- near matches --------------------------------------------------------------------------------------- */

#define FT_NAME_MAX 128

/* Levenshtein distance between a[0..la) and b[0..lb), both at most FT_NAME_MAX long. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[FT_NAME_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* True if @p name is close to what was typed: it contains it, or a start of it of about the same length is a few
 * edits away (a prefix was meant, so a long name is not penalised for what comes after). */
static bool near_name(const char *typed, size_t len, const char *name)
{
    char buf[FT_NAME_MAX + 1];
    if (len > FT_NAME_MAX)
        return false;
    memcpy(buf, typed, len);
    buf[len] = '\0';
    if (strstr(name, buf))
        return true;
    size_t name_len = strlen(name), allowed = (len + 2) / 4;
    for (size_t k = len > 2 ? len - 2 : 0; k <= len + 2 && k <= name_len && k <= FT_NAME_MAX; k++)
        if (edit_distance(buf, len, name, k) <= allowed)
            return true;
    return false;
}

struct explain_ctx {
    FILE *f;
    const ft_test *const *tests;
    size_t n;
    const struct ft_selection *sel;
    bool *bad_name; /* set when an item of TEST= matched nothing */
};

static bool explain_name_item(const char *item, size_t len, const void *ctx)
{
    const struct explain_ctx *e = ctx;
    struct name_ctx c = {e->tests, e->n, NULL, e->sel->prefix};
    *e->bad_name = true;
    for (size_t i = 0; i < e->n; i++) {
        c.name = e->tests[i]->name;
        if (name_item_selects(item, len, &c))
            return *e->bad_name = false; /* this item is fine; the parts must be what excluded it */
    }
    fprintf(e->f, "no test %s '%.*s'", e->sel->prefix ? "name starts with" : "is named", (int)len, item);
    int shown = 0;
    for (size_t i = 0; i < e->n && shown < 10; i++) {
        if (!near_name(item, len, e->tests[i]->name))
            continue;
        fprintf(e->f, "%s\n    part %d · %s", shown ? "" : "; the names that come close:", e->tests[i]->part,
                e->tests[i]->name);
        shown++;
    }
    if (!shown) {
        fprintf(e->f, " and none comes close; the tests are:");
        int lo = e->tests[0]->part, hi = lo;
        for (size_t i = 0; i < e->n; i++) {
            lo = e->tests[i]->part < lo ? e->tests[i]->part : lo;
            hi = e->tests[i]->part > hi ? e->tests[i]->part : hi;
        }
        for (int part = lo; part <= hi; part++)
            for (size_t i = 0; i < e->n; i++)
                if (e->tests[i]->part == part)
                    fprintf(e->f, "\n    part %d · %s", part, e->tests[i]->name);
    }
    fputc('\n', e->f);
    return false;
}

void ft_explain_no_match(FILE *f, const ft_test *const *tests, size_t n, const struct ft_selection *sel)
{
    bool bad_name = false, any_bad = false;
    struct explain_ctx e = {f, tests, n, sel, &bad_name};
    /* Each item says what is wrong with it; any_item stops at a true, so the flag is gathered by hand. */
    for (const char *p = sel->names; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            explain_name_item(p, len, &e);
            any_bad |= bad_name;
        }
        p += len + (end != NULL);
    }
    int lo = 0, hi = 0;
    bool part_found = false, taken = false;
    for (size_t i = 0; i < n; i++) {
        lo = i == 0 || tests[i]->part < lo ? tests[i]->part : lo;
        hi = i == 0 || tests[i]->part > hi ? tests[i]->part : hi;
        part_found |= part_selected(sel->parts, tests[i]->part);
        taken |= part_selected(sel->parts, tests[i]->part) && name_selected(tests, n, sel, tests[i]->name);
    }
    if (sel->parts && !part_found)
        fprintf(f, "no part %s in this chapter: its parts are %d to %d\n", sel->parts, lo, hi);
    else if (sel->parts && sel->names && !any_bad && !taken) {
        fprintf(f, "the tests that TEST=%s names are in part", sel->names);
        unsigned long long shown = 0; /* parts already printed, by number below 64 */
        for (size_t i = 0; i < n; i++) {
            int part = tests[i]->part;
            bool seen = part >= 0 && part < 64 && (shown >> part & 1);
            if (seen || !name_selected(tests, n, sel, tests[i]->name))
                continue;
            fprintf(f, " %d", part);
            if (part >= 0 && part < 64)
                shown |= 1ULL << part;
        }
        fprintf(f, ", not in PART=%s\n", sel->parts);
    }
}

/* ---- the command line ----------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: test [--list] [--quiet] [--test NAME[,NAME...]] [--part N[,N...]] [--first] [--xml FILE] "
            "[--tap FILE] [--results FILE]\n");
    exit(2);
}

struct ft_options ft_parse_options(int argc, char **argv)
{
    struct ft_options o = {.select = {.names = getenv("FT_TEST"), .parts = getenv("FT_PART")}};
    if (o.select.names && !*o.select.names)
        o.select.names = NULL;
    o.select.prefix = o.select.names != NULL;
    if (o.select.parts && !*o.select.parts)
        o.select.parts = NULL;
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
            o.select.names = argv[++i], o.select.prefix = false;
        else if (!strcmp(a, "--part") && has_value)
            o.select.parts = argv[++i];
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
