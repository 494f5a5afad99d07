/*
 * loom_trace.c — the failing schedule as text: one line per step (which thread, where in the source, what it did,
 * what it read), then what broke. The message shows the last steps; a longer trace goes whole to a file.
 */
#include "loom_internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum { SHOWN_STEPS = 40 }; /* steps a failure message shows */

static loom_state *const L = &loom_st;

static const char *order_name(int order)
{
    switch (order) {
    case memory_order_relaxed:
        return "relaxed";
    case memory_order_consume:
        return "consume";
    case memory_order_acquire:
        return "acquire";
    case memory_order_release:
        return "release";
    case memory_order_acq_rel:
        return "acq_rel";
    case memory_order_seq_cst:
        return "seq_cst";
    default:
        return "?";
    }
}

static const char *value_text(char *buf, size_t n, uint64_t v, size_t size, bool is_ptr)
{
    if (is_ptr) {
        if (v == 0)
            snprintf(buf, n, "NULL");
        else
            snprintf(buf, n, "%#llx", (unsigned long long)v);
    } else {
        unsigned shift = 64 - 8 * (unsigned)size; /* sign-extend: the deque's indices are ptrdiff_t */
        snprintf(buf, n, "%lld", (long long)(int64_t)(v << shift) >> shift);
    }
    return buf;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The operand without a leading '&' and the function without the copy's loom_ prefix: as the student wrote them. */
static const char *operand(const loom_site *site) { return site->expr[0] == '&' ? site->expr + 1 : site->expr; }
static const char *function(const loom_site *site)
{
    return strncmp(site->func, "loom_", 5) == 0 ? site->func + 5 : site->func;
}

static int format_step(char *out, size_t n, const loom_step *s, int name_w)
{
    static const char *rmw_names[] = {"exchange", "fetch_add", "fetch_sub", "fetch_or", "fetch_xor", "fetch_and"};
    char v1[32], v2[32], v3[32], where[64];
    const char *name = L->th[s->thread].name;
    if (s->kind == STEP_LAND) {
        static const char *why[] = {"", " (drained: its next operation is seq_cst or locked)", " (it finished)",
                                    " (its buffer is full)"};
        return snprintf(out, n, "%-*s %s's buffered store %s = %s (%s:%d) lands%s\n", name_w, "memory", name,
                        operand(&s->site), value_text(v1, sizeof v1, s->a, s->size, s->is_ptr), base_name(s->site.file),
                        s->site.line, why[s->reason]);
    }
    snprintf(where, sizeof where, "%s:%d", base_name(s->site.file), s->site.line);
    int k = snprintf(out, n, "%-*s %-11s %-15s ", name_w, name, where, function(&s->site));
    if (k < 0 || (size_t)k >= n)
        return k;
    out += k, n -= (size_t)k;
    const char *o = order_name(s->order), *x = operand(&s->site);
    switch (s->kind) {
    case STEP_LOAD:
        return k + snprintf(out, n, "load %s → %s (%s%s)\n", x, value_text(v1, sizeof v1, s->a, s->size, s->is_ptr), o,
                            s->flag ? ", its own buffered store" : "");
    case STEP_STORE:
        return k + snprintf(out, n, "store %s = %s (%s) → %s\n", x, value_text(v1, sizeof v1, s->a, s->size, s->is_ptr), o,
                            s->flag ? "memory" : "store buffer");
    case STEP_RMW:
        return k + snprintf(out, n, "%s %s %s (%s) → was %s\n", rmw_names[s->rmw], x,
                            value_text(v1, sizeof v1, s->a, s->size, s->is_ptr), o,
                            value_text(v2, sizeof v2, s->b, s->size, s->is_ptr));
    case STEP_CAS:
        if (s->flag)
            return k + snprintf(out, n, "CAS %s %s → %s (%s): swapped\n", x,
                                value_text(v1, sizeof v1, s->a, s->size, s->is_ptr),
                                value_text(v2, sizeof v2, s->b, s->size, s->is_ptr), o);
        return k + snprintf(out, n, "CAS %s %s → %s (%s): failed, it holds %s\n", x,
                            value_text(v1, sizeof v1, s->a, s->size, s->is_ptr),
                            value_text(v2, sizeof v2, s->b, s->size, s->is_ptr), order_name(s->order_fail),
                            value_text(v3, sizeof v3, s->c, s->size, s->is_ptr));
    case STEP_FENCE:
        return k + snprintf(out, n, "fence (%s)\n", o);
    case STEP_LAND:
        break;
    }
    return k;
}

/* Appends to r->message, never past its end. */
static void append(loom_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(loom_report *r, const char *fmt, ...)
{
    size_t len = strlen(r->message);
    if (len + 1 >= sizeof r->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message + len, sizeof r->message - len, fmt, ap);
    va_end(ap);
}

static void write_trace_file(const char *path, int name_w, int kept)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    char line[512];
    for (int i = 0; i < kept; i++) {
        format_step(line, sizeof line, &L->trace[i], name_w);
        fputs(line, f);
    }
    fprintf(f, "→ %s\n", L->reason);
    fclose(f);
}

void loom_describe_failure(loom_report *r, long execution, const char *trace_path)
{
    int kept = L->n_trace < TRACE_CAP ? L->n_trace : TRACE_CAP, first = 0;
    if (kept == 0) { /* nothing ran: the reason says it all */
        append(r, "%s", L->reason);
        return;
    }
    int names_w = (int)strlen("memory");
    for (int i = 0; i < LOOM_MAX_THREADS; i++)
        if (L->th[i].name && (int)strlen(L->th[i].name) > names_w)
            names_w = (int)strlen(L->th[i].name);
    append(r, "schedule %ld (%d preemption%s; bound %d), one line per atomic operation:\n", execution, L->preemptions,
           L->preemptions == 1 ? "" : "s", L->bound);
    if (kept > SHOWN_STEPS) {
        first = kept - (SHOWN_STEPS - 2);
        if (trace_path) {
            write_trace_file(trace_path, names_w, kept);
            append(r, "    … %d earlier steps; the whole trace is in %s\n", first, trace_path);
        } else {
            append(r, "    … %d earlier steps\n", first);
        }
    }
    char line[512];
    for (int i = first; i < kept; i++) {
        format_step(line, sizeof line, &L->trace[i], names_w);
        append(r, "    %s", line);
    }
    append(r, "    → %s", L->reason);
}
