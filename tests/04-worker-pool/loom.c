/*
 * loom.c — the checker's search: which schedules to run, in what order, and when to stop (loom.h says what the
 * checker does; loom_internal.h lists its other files).
 *
 * One execution: the test's body spawns model threads and calls loom_join_all(), which starts each thread and
 * runs it to its first atomic operation. From then on every thread waits before each atomic operation, and the
 * search chooses among the *options*: let the thread that ran last go on (free), let another one run (a
 * preemption, while the last one could go on), or let the oldest store of a thread's buffer land in memory. The
 * choices of an execution form a path; the next execution replays the path up to its last choice that has an
 * untried option, takes that option, and then takes option 0 (no preemption, nothing lands early) at every new
 * choice. When no choice has an untried option left, every schedule within the bound has been run.
 */
#define _GNU_SOURCE
#include "loom_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    MAX_CHOICES = 4096, /* choice points of one execution (points with one option are not kept) */
    MAX_STEPS = 4000,   /* scheduling decisions in one execution: beyond it, a thread must be looping */
};

typedef struct choice {
    int n, chosen;
} choice;

typedef enum option_kind { RUN, LAND } option_kind;
typedef struct option {
    option_kind kind;
    int thread;
    int cost; /* preemptions it spends */
} option;

loom_state loom_st = {.current = -1};
static loom_state *const L = &loom_st;

/* The path: the choices of the execution in progress, replayed up to path_len from the one before. */
static struct {
    choice path[MAX_CHOICES];
    int path_len, depth;
    long steps; /* scheduling decisions in this execution */
} S;

/* ---- the search ---------------------------------------------------------------------------------------------- */

/* The option to take at this choice point: replayed from the path, or 0 at a new point. */
static int decide(int n)
{
    if (n == 1)
        return 0;
    if (S.depth >= MAX_CHOICES) {
        loom_fail("more than %d choices in one execution: make the scenario smaller", MAX_CHOICES);
        return 0;
    }
    choice *c = &S.path[S.depth++];
    if (S.depth <= S.path_len) {
        if (c->n != n) {
            loom_fail(
                "the scenario did not replay the same way (%d options where there were %d): the body and "
                "the threads must do the same thing every time",
                n, c->n);
            return 0;
        }
        return c->chosen;
    }
    c->n = n;
    c->chosen = 0;
    S.path_len = S.depth;
    return 0;
}

/* The next path: the last choice with an untried option takes it. False when every path has been run. */
static bool advance(void)
{
    while (S.path_len > 0 && S.path[S.path_len - 1].chosen + 1 >= S.path[S.path_len - 1].n)
        S.path_len--;
    if (S.path_len == 0)
        return false;
    S.path[S.path_len - 1].chosen++;
    return true;
}

static bool enabled(int i) { return i >= 0 && !L->th[i].finished; }

static int list_options(option *opts)
{
    int n = 0;
    if (enabled(L->last))
        opts[n++] = (option){RUN, L->last, 0};
    for (int i = 0; i < L->n_threads; i++) {
        if (i == L->last || !enabled(i))
            continue;
        int cost = enabled(L->last) ? 1 : 0;
        if (L->bound < 0 || L->preemptions + cost <= L->bound)
            opts[n++] = (option){RUN, i, cost};
    }
    for (int i = 0; i < L->n_threads; i++)
        if (L->th[i].buf_len > 0 && loom_landing_matters(i))
            opts[n++] = (option){LAND, i, 0};
    return n;
}

/* A slot's coroutine (loom_coro.c): runs the slot's thread of each execution in turn, and never returns. */
static void run_slot(int i)
{
    for (;;) {
        loom_thread *t = &L->th[i];
        t->fn(t->arg);
        loom_drain(i, LAND_FINISH);
        t->finished = true;
        loom_coro_yield(i);
    }
}

/* Runs model thread i until it waits before its next atomic operation, or finishes. */
static void run(int i)
{
    L->current = i;
    loom_coro_resume(i, L->th[i].name);
    L->current = -1;
}

void loom_spawn(const char *name, void (*fn)(void *), void *arg)
{
    if (!L->in_body || L->current >= 0 || L->n_threads == LOOM_MAX_THREADS) {
        fprintf(stderr, "loom_spawn: only from the body of loom_model, at most %d threads\n", LOOM_MAX_THREADS);
        abort();
    }
    int i = L->n_threads++;
    loom_thread *t = &L->th[i];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->fn = fn;
    t->arg = arg;
}

void loom_join_all(void)
{
    if (!L->in_body || L->current >= 0) {
        fprintf(stderr, "loom_join_all: only from the body of loom_model\n");
        abort();
    }
    for (int i = 0; i < L->n_threads; i++) /* each runs to its first atomic operation: nothing to choose yet */
        run(i);
    L->last = -1;
    option opts[2 * LOOM_MAX_THREADS];
    for (;;) {
        bool any = false;
        for (int i = 0; i < L->n_threads; i++)
            any = any || enabled(i);
        if (!any || L->failed)
            break;
        if (++S.steps > MAX_STEPS) {
            loom_fail("no end after %d steps: a thread that loops forever under this schedule?", MAX_STEPS);
            break;
        }
        int n = list_options(opts);
        option o = opts[decide(n)];
        if (o.kind == LAND) {
            loom_land_oldest(o.thread, LAND_CHOSEN);
            continue;
        }
        L->preemptions += o.cost;
        L->last = o.thread;
        run(o.thread);
    }
    L->n_threads = 0;
}

void loom_fail(const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->reason, sizeof L->reason, fmt, ap);
    va_end(ap);
}

const char *loom_thread_name(void) { return L->current >= 0 ? L->th[L->current].name : "main"; }

/* ---- the model ----------------------------------------------------------------------------------------------- */

static int bound_from(const loom_options *o)
{
    if (o && o->preemptions != 0)
        return o->preemptions;
    const char *env = getenv("FT_LOOM_PREEMPTIONS");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= -1 && v <= 100)
            return (int)v;
    }
    return LOOM_DEFAULT_PREEMPTIONS;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool loom_model(const loom_options *o, void (*body)(void *), void *ctx, loom_report *r)
{
    memset(r, 0, sizeof *r);
    L->bound = bound_from(o);
    r->preemptions = L->bound;
    long max = o && o->max_executions > 0 ? o->max_executions : LOOM_DEFAULT_MAX_EXECUTIONS;
    loom_coro_setup(run_slot);
    S.path_len = 0;
    double start = now_s();
    for (;;) {
        S.depth = 0;
        S.steps = 0;
        L->n_trace = 0;
        L->failed = false;
        L->preemptions = 0;
        L->n_threads = 0;
        L->last = -1;
        L->in_body = true;
        body(ctx);
        L->in_body = false;
        r->executions++;
        if (L->n_threads != 0)
            loom_fail("the body spawned threads and did not call loom_join_all");
        if (L->failed) {
            r->failed = true;
            loom_describe_failure(r, r->executions, o ? o->trace_path : NULL);
            break;
        }
        if (!advance()) {
            r->complete = true;
            break;
        }
        if (r->executions >= max)
            break;
    }
    loom_coro_teardown();
    r->seconds = now_s() - start;
    return !r->failed;
}
