/*
 * Part 5: the deque under a model checker (loom.h, Rust's loom for C). Each test is a small scenario — an owner
 * that pushes and pops, one or two thieves that steal — run under every interleaving of their atomic operations and
 * every x86 store-buffer reordering, up to a bound of preemptions (FT_LOOM_PREEMPTIONS, default 2). The deque is a
 * second copy of your deque.c (loom_wp_deque_*), built with loom_shim.h so that each atomic operation is a step of
 * the schedule. After each schedule every item pushed must have been taken exactly once: by a pop, a steal, or the
 * final drain once the threads are done.
 */
#define _POSIX_C_SOURCE 200809L /* readlink */
#include "loom.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The model copy of deque.c: the same functions under other names (loom_shim.h). */
FT_MUST_USE wp_status loom_wp_deque_init(wp_deque *d, size_t cap);
void loom_wp_deque_destroy(wp_deque *d);
FT_MUST_USE bool loom_wp_deque_push(wp_deque *d, void *item);
void *loom_wp_deque_pop(wp_deque *d);
wp_steal loom_wp_deque_steal(wp_deque *d, void **out);
size_t loom_wp_deque_len(wp_deque *d);

enum { MAX_ITEMS = 4, MAX_THIEVES = 2, CAPACITY = 4 };

/* A scenario: what each model thread does, and what each execution saw. Item k (1-based) is the pointer k. */
typedef struct scenario {
    int given;   /* items 1..given are in the deque before the threads start, */
    int pushes;  /* the owner pushes the next `pushes` items, */
    int pops;    /* then pops this many times */
    int thieves; /* thieves, each stealing `steals` times */
    int steals;
    /* one execution */
    wp_deque d;
    int taken[MAX_ITEMS + 1];         /* per item: how often it was taken */
    const char *by[MAX_ITEMS + 1][2]; /* who took it, the first two times */
    bool stray;                       /* something was taken that was never pushed */
} scenario;

static const char *const thief_names[MAX_THIEVES][2] = {{"thief", "the thief's steal"}, {"thief2", "thief2's steal"}};

static void took(scenario *s, void *p, const char *who)
{
    uintptr_t k = (uintptr_t)p;
    if (k < 1 || k > (uintptr_t)(s->given + s->pushes)) {
        if (!s->stray)
            loom_fail("%s returned %p, which was never pushed", who, p);
        s->stray = true;
        return;
    }
    if (s->taken[k] < 2)
        s->by[k][s->taken[k]] = who;
    s->taken[k]++;
}

static void owner(void *arg)
{
    scenario *s = arg;
    for (int k = s->given + 1; k <= s->given + s->pushes; k++)
        if (!loom_wp_deque_push(&s->d, (void *)(uintptr_t)k))
            loom_fail("push of item %d failed: the deque (capacity %d) holds fewer than %d items", k, CAPACITY, k);
    for (int i = 0; i < s->pops; i++) {
        void *p = loom_wp_deque_pop(&s->d);
        if (p)
            took(s, p, "the owner's pop");
    }
}

static void thief(void *arg, int which)
{
    scenario *s = arg;
    for (int i = 0; i < s->steals; i++) {
        void *out = NULL;
        if (loom_wp_deque_steal(&s->d, &out) == WP_STEAL_SUCCESS)
            took(s, out, thief_names[which][1]);
    }
}
static void thief1(void *arg) { thief(arg, 0); }
static void thief2(void *arg) { thief(arg, 1); }

/* One execution: a fresh deque, the threads, the final drain, the property. */
static void execution(void *arg)
{
    scenario *s = arg;
    memset(s->taken, 0, sizeof s->taken);
    memset(s->by, 0, sizeof s->by);
    s->stray = false;
    wp_status st = loom_wp_deque_init(&s->d, CAPACITY);
    if (st != WP_OK) {
        loom_fail("wp_deque_init(&d, %d) returned %d (%s), not WP_OK", CAPACITY, (int)st,
                  st == WP_ERR_TODO ? "WP_ERR_TODO" : wp_status_str(st));
        return;
    }
    for (int k = 1; k <= s->given; k++) /* outside the model threads: straight to memory */
        if (!loom_wp_deque_push(&s->d, (void *)(uintptr_t)k)) {
            loom_fail("push of item %d failed: the deque (capacity %d) holds fewer than %d items", k, CAPACITY, k);
            free(s->d.slots);
            return;
        }
    loom_spawn("owner", owner, s);
    if (s->thieves >= 1)
        loom_spawn(thief_names[0][0], thief1, s);
    if (s->thieves >= 2)
        loom_spawn(thief_names[1][0], thief2, s);
    loom_join_all();
    for (int guard = 0; guard <= MAX_ITEMS; guard++) { /* what is left: the owner pops it, alone now */
        void *p = loom_wp_deque_pop(&s->d);
        if (!p)
            break;
        took(s, p, "the final drain");
    }
    bool ok = !s->stray;
    for (int k = 1; k <= s->given + s->pushes; k++) {
        if (s->taken[k] == 0 && ok)
            loom_fail("item %d was lost: pushed, and taken by no pop, no steal, not even the final drain", k);
        if (s->taken[k] > 1 && ok)
            loom_fail("item %d taken %s: by %s and by %s", k, s->taken[k] == 2 ? "twice" : "more than twice", s->by[k][0],
                      s->by[k][1]);
        ok = ok && s->taken[k] == 1;
    }
    if (ok)
        loom_wp_deque_destroy(&s->d);
    else
        free(s->d.slots); /* its destroy may assert on the broken state: free the ring (deque.h's layout) directly */
}

/* Runs the scenario under the checker; fails the test with the schedule that broke it. */
static void check_scenario(scenario *s, const char *test)
{
    char trace_path[512] = "";
    char exe[400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) { /* beside the test binary, in the build folder */
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(trace_path, sizeof trace_path, "%s/%s.trace.txt", exe, test);
        }
    }
    loom_options o = {.trace_path = trace_path[0] ? trace_path : NULL};
    static loom_report r; /* large: not on the stack */
    bool ok = loom_model(&o, execution, s, &r);
    const char *how = r.failed ? "failed" : r.complete ? "every schedule explored" : "stopped at the cap";
    printf("  loom: %s: %ld execution%s, preemption bound %d, %s, %.2f s\n", test, r.executions,
           r.executions == 1 ? "" : "s", r.preemptions, how, r.seconds);
    fflush(stdout);
    ck_assert_msg(ok, "%s", r.message);
}

FT_TEST(5, loom_pop_against_two_steals_takes_each_item_once, 2,
        "The owner pushes 2 and pops while a thief steals twice. In pop, the store of bottom = b must reach memory "
        "before the load of top: on x86 a plain (relaxed or release) store waits in the owner's store buffer while "
        "the load goes ahead, the thief still sees the old bottom and steals the item the owner is popping. A "
        "seq_cst store (or a seq_cst fence between the two) drains the store buffer first.")
{
    scenario s = {.pushes = 2, .pops = 1, .thieves = 1, .steals = 2};
    check_scenario(&s, "loom_pop_against_two_steals_takes_each_item_once");
}
FT_TIMEOUT(loom_pop_against_two_steals_takes_each_item_once, 20);

FT_TEST(5, loom_last_item_goes_to_exactly_one_of_pop_and_steal, 2,
        "One item in the deque, the owner pops while a thief steals. When top == bottom - 1 both may see it: the "
        "last item's CAS decides. The owner, like the thief, must compare-and-swap top from t to t + 1 (seq_cst) "
        "and take the item only if that CAS succeeds; either way it then restores bottom.")
{
    scenario s = {.given = 1, .pops = 1, .thieves = 1, .steals = 1};
    check_scenario(&s, "loom_last_item_goes_to_exactly_one_of_pop_and_steal");
}
FT_TIMEOUT(loom_last_item_goes_to_exactly_one_of_pop_and_steal, 20);

FT_TEST(5, loom_two_thieves_and_the_owner_take_each_item_once, 1,
        "Two items in the deque; two thieves steal once each while the owner pops twice. Thieves claim index top "
        "with a seq_cst compare-and-swap and drop what they read when it fails; the steal's loads of top and bottom "
        "are seq_cst, top first.")
{
    scenario s = {.given = 2, .pops = 2, .thieves = 2, .steals = 1};
    check_scenario(&s, "loom_two_thieves_and_the_owner_take_each_item_once");
}
FT_TIMEOUT(loom_two_thieves_and_the_owner_take_each_item_once, 20);
