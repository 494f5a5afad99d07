/*
 * Part 5: throughput machinery. The Chase–Lev deque on its own (LIFO for the owner, FIFO for thieves, every
 * item taken exactly once under concurrent stealing), then the pool's use of it: a task spawned by a busy worker
 * is run by an idle one, and spawning far beyond a deque's capacity still runs everything once.
 */
#include "support.h"

#include <sched.h>
#include <stdlib.h>

FT_PART(5, "work stealing");

/* Items are small integers disguised as non-NULL pointers. */
static void *item(uintptr_t i) { return (void *)(i + 1); }
static uintptr_t index_of(void *p) { return (uintptr_t)p - 1; }

FT_TEST(5, deque_init_wants_a_power_of_two, 1,
        "Indices are masked with cap - 1, which only works for a power of two: refuse 0, 1, 3, 6 with "
        "WP_ERR_INVAL, accept 2, 4, 64.")
{
    wp_deque d;
    ck_assert_int_eq(wp_deque_init(&d, 0), WP_ERR_INVAL);
    ck_assert_int_eq(wp_deque_init(&d, 1), WP_ERR_INVAL);
    ck_assert_int_eq(wp_deque_init(&d, 3), WP_ERR_INVAL);
    ck_assert_int_eq(wp_deque_init(&d, 6), WP_ERR_INVAL);
    size_t ok[] = {2, 4, 64};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(wp_deque_init(&d, ok[i]), WP_OK);
        ck_assert_uint_eq(wp_deque_len(&d), 0);
        wp_deque_destroy(&d);
    }
}

FT_TEST(5, owner_pops_newest_first_and_thieves_steal_oldest_first, 2,
        "The owner works at the bottom (LIFO: its newest task is hot in cache), thieves at the top (FIFO). "
        "An empty deque pops NULL and steals WP_STEAL_EMPTY; the last item is an item: after pop reserves "
        "bottom - 1, top == bottom means one item left, not none.")
{
    wp_deque d;
    ck_assert_int_eq(wp_deque_init(&d, 8), WP_OK);
    void *out = item(77);
    ck_assert_ptr_null(wp_deque_pop(&d));
    ck_assert_int_eq(wp_deque_steal(&d, &out), WP_STEAL_EMPTY);
    ck_assert_ptr_eq(out, item(77)); /* untouched: nothing was stolen */
    for (uintptr_t i = 0; i < 5; i++)
        ck_assert(wp_deque_push(&d, item(i)));
    ck_assert_uint_eq(wp_deque_len(&d), 5);
    ck_assert_ptr_eq(wp_deque_pop(&d), item(4));
    ck_assert_int_eq(wp_deque_steal(&d, &out), WP_STEAL_SUCCESS);
    ck_assert_ptr_eq(out, item(0));
    ck_assert_int_eq(wp_deque_steal(&d, &out), WP_STEAL_SUCCESS);
    ck_assert_ptr_eq(out, item(1));
    ck_assert_ptr_eq(wp_deque_pop(&d), item(3));
    ck_assert_ptr_eq(wp_deque_pop(&d), item(2));
    ck_assert_ptr_null(wp_deque_pop(&d));
    ck_assert_uint_eq(wp_deque_len(&d), 0);
    wp_deque_destroy(&d);
}

FT_TEST(5, push_reports_full_and_slots_are_reused_after_wrapping, 2,
        "With bottom - top == cap the ring is full: push returns false and overwrites nothing. After steals "
        "free slots at the top, pushes wrap around (index & mask) and every item comes back intact.")
{
    wp_deque d;
    ck_assert_int_eq(wp_deque_init(&d, 4), WP_OK);
    for (uintptr_t i = 0; i < 4; i++)
        ck_assert(wp_deque_push(&d, item(i)));
    ck_assert(!wp_deque_push(&d, item(99)));
    void *out;
    for (uintptr_t round = 0; round < 10; round++) {
        ck_assert_int_eq(wp_deque_steal(&d, &out), WP_STEAL_SUCCESS);
        ck_assert_ptr_eq(out, item(round));
        ck_assert(wp_deque_push(&d, item(round + 4)));
        ck_assert(!wp_deque_push(&d, item(99)));
    }
    for (uintptr_t i = 13; i >= 10; i--)
        ck_assert_ptr_eq(wp_deque_pop(&d), item(i));
    wp_deque_destroy(&d);
}

/* ---- concurrent stealing --------------------------------------------------------------------------------------- */

enum { RACE_CAP = 16 };

/* Valgrind runs one thread at a time, so races cannot happen there: a few rounds check the bookkeeping. */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

/* Rounds: the owner fills the deque, opens the round, then pops while both thieves steal, until it is empty. */
typedef struct race {
    wp_deque d;
    atomic_int *taken;   /* per item: how many times it was obtained */
    atomic_int round;    /* the round the thieves may work on; -1 ends the test */
    atomic_int arrived;  /* thieves that started on the current round */
    atomic_int finished; /* thieves that saw the current round's deque empty */
} race;

static void *thief_main(void *arg)
{
    race *r = arg;
    for (int seen = 0;;) {
        int round;
        while ((round = atomic_load(&r->round)) == seen)
            sched_yield(); /* wait for the owner to open the next round */
        if (round < 0)
            return NULL;
        seen = round;
        atomic_fetch_add(&r->arrived, 1);
        for (;;) {
            void *out;
            wp_steal s = wp_deque_steal(&r->d, &out);
            if (s == WP_STEAL_SUCCESS)
                atomic_fetch_add(&r->taken[index_of(out)], 1);
            else if (s == WP_STEAL_EMPTY)
                break;
        }
        atomic_fetch_add(&r->finished, 1);
    }
}

/* The race test's rounds: all of them on an idle machine (about a second under ASan), at least the minimum on a
 * busy one. */
#define RACE_BUDGET_MS 4000.0
#define MIN_RACE_ROUNDS 200

FT_TEST(5, concurrent_thieves_and_owner_take_each_item_exactly_once, 4,
        "Two thieves steal while the owner pops, round after round, each down to the last item. Each item must be "
        "taken once: thieves claim index top with a seq_cst compare-and-swap, and the owner reserves bottom "
        "with a seq_cst store before reading top; on the last item both race for the same CAS.")
{
    race r;
    ck_assert_int_eq(wp_deque_init(&r.d, RACE_CAP), WP_OK);
    /* Each round is a rendezvous of three threads, which a busy machine makes slow: past a time budget (and at
     * least MIN_RACE_ROUNDS rounds) the test checks the rounds it ran rather than hang in sched_yield. */
    int rounds = (UNDER_VALGRIND() ? 200 : 5000) * (int)stress(), n = rounds * RACE_CAP;
    double budget_end = now_ms() + RACE_BUDGET_MS;
    r.taken = calloc((size_t)n, sizeof *r.taken);
    ck_assert(r.taken != NULL);
    atomic_init(&r.round, 0);
    atomic_init(&r.finished, 0);
    atomic_init(&r.arrived, 0);
    pthread_t thieves[2] = {start_thread(thief_main, &r), start_thread(thief_main, &r)};
    for (int round = 1; round <= rounds; round++) {
        for (int i = 0; i < RACE_CAP; i++)
            ck_assert(wp_deque_push(&r.d, item((uintptr_t)((round - 1) * RACE_CAP + i))));
        atomic_store(&r.finished, 0);
        atomic_store(&r.arrived, 0);
        atomic_store(&r.round, round);
        while (atomic_load(&r.arrived) < 2) /* all three at work at once: the races need it */
            sched_yield();
        void *out;
        while ((out = wp_deque_pop(&r.d)))
            atomic_fetch_add(&r.taken[index_of(out)], 1);
        while (atomic_load(&r.finished) < 2) /* both thieves are done with this round's items */
            sched_yield();
        if (round >= MIN_RACE_ROUNDS && now_ms() > budget_end) {
            n = round * RACE_CAP;
            break;
        }
    }
    atomic_store(&r.round, -1);
    pthread_join(thieves[0], NULL);
    pthread_join(thieves[1], NULL);
    for (int i = 0; i < n; i++)
        ck_assert_msg(atomic_load(&r.taken[i]) == 1, "item %d taken %d times", i, atomic_load(&r.taken[i]));
    free(r.taken);
    wp_deque_destroy(&r.d);
}
FT_TIMEOUT(concurrent_thieves_and_owner_take_each_item_exactly_once, 20);

/* ---- what a push publishes ------------------------------------------------------------------------------------- */

enum { PUBLISH_ITEMS = 2000, PUBLISH_CAP = 64 };

/* An item the owner fills with plain (non-atomic) writes just before pushing it; a thief reads it after stealing. */
typedef struct published {
    int64_t value;
    int64_t twice;
} published;

typedef struct publish_race {
    wp_deque d;
    published *items;
    int taken;   /* thief only */
    int corrupt; /* thief only: items whose fields did not match */
} publish_race;

static void *publish_thief_main(void *arg)
{
    publish_race *pr = arg;
    double end = now_ms() + LONG_MS;
    while (pr->taken < PUBLISH_ITEMS && now_ms() < end) {
        void *out;
        if (wp_deque_steal(&pr->d, &out) != WP_STEAL_SUCCESS) {
            sched_yield();
            continue;
        }
        const published *it = out;
        pr->corrupt += it->twice != 2 * it->value || it->value != it - pr->items;
        pr->taken++;
    }
    return NULL;
}

FT_TEST(5, a_stolen_item_carries_what_its_owner_wrote_before_the_push, 1,
        "Push stores the slot, then bottom with release; steal loads bottom with acquire (or seq_cst) before it "
        "reads the slot. The pair publishes the item: a thief sees everything the owner wrote into it before "
        "the push. A relaxed load of bottom in steal orders nothing, and reading the item is then a data race "
        "(ThreadSanitizer reports it; on a weakly ordered CPU the thief reads stale fields).")
{
    publish_race pr = {.taken = 0, .corrupt = 0};
    ck_assert_int_eq(wp_deque_init(&pr.d, PUBLISH_CAP), WP_OK);
    pr.items = malloc(PUBLISH_ITEMS * sizeof *pr.items);
    ck_assert(pr.items != NULL);
    pthread_t thief = start_thread(publish_thief_main, &pr);
    /* Written after the thief started: only the deque can order these writes before the thief's reads. */
    double end = now_ms() + LONG_MS;
    for (int i = 0; i < PUBLISH_ITEMS && now_ms() < end; i++) {
        pr.items[i] = (published){.value = i, .twice = 2 * (int64_t)i};
        while (!wp_deque_push(&pr.d, &pr.items[i]) && now_ms() < end)
            sched_yield(); /* full: the thief frees slots */
    }
    pthread_join(thief, NULL);
    ck_assert_msg(pr.taken == PUBLISH_ITEMS, "the thief stole %d of %d items", pr.taken, PUBLISH_ITEMS);
    ck_assert_msg(pr.corrupt == 0, "%d stolen items did not hold what the owner wrote before pushing them", pr.corrupt);
    wp_deque_destroy(&pr.d);
    free(pr.items);
}

/* ---- the pool's use of the deques ------------------------------------------------------------------------------ */

typedef struct waiter {
    wp_pool *pool;
    atomic_int child_ran;
    atomic_int parent_saw_child;
} waiter;

static int child_run(void *arg, int64_t *result)
{
    atomic_store(&((waiter *)arg)->child_ran, 1);
    *result = 0;
    return 0;
}
static const wp_task_type child_task = {child_run, NULL, "child"};

static int waiting_parent_run(void *arg, int64_t *result)
{
    waiter *w = arg;
    ck_assert_int_eq(wp_submit(w->pool, &child_task, w, NULL), WP_OK);
    /* Block this worker until another one has run the child. */
    atomic_store(&w->parent_saw_child, wait_count(&w->child_ran, 1, LONG_MS));
    *result = 0;
    return 0;
}
static const wp_task_type waiting_parent_task = {waiting_parent_run, NULL, "waiting parent"};

FT_TEST(5, a_task_spawned_by_a_busy_worker_runs_on_an_idle_one, 4,
        "A task submitted from inside a task lands on that worker's own deque. If the worker then blocks, the "
        "task must still run: the push wakes a sleeping worker, which steals it. Without stealing (or "
        "without the wake-up) it waits behind its own parent forever.")
{
    wp_pool *p = NULL;
    ck_assert_int_eq(wp_pool_new(&p, 2, 4), WP_OK);
    for (int round = 0; round < 3; round++) {
        sleep_ms(100); /* both workers asleep */
        waiter w = {.pool = p};
        atomic_init(&w.child_ran, 0);
        atomic_init(&w.parent_saw_child, 0);
        wp_handle *h;
        ck_assert_int_eq(wp_submit(p, &waiting_parent_task, &w, &h), WP_OK);
        int64_t r;
        ck_assert_int_eq(wp_join(h, &r), WP_OK);
        ck_assert_msg(atomic_load(&w.parent_saw_child), "round %d: the child never ran while its parent waited", round);
    }
    wp_pool_shutdown(p, WP_DRAIN);
}
FT_TIMEOUT(a_task_spawned_by_a_busy_worker_runs_on_an_idle_one, 10);

typedef struct spawner {
    wp_pool *pool;
    int count;
} spawner;

static int spawner_run(void *arg, int64_t *result)
{
    spawner *s = arg;
    for (int i = 0; i < s->count; i++)
        ck_assert_int_eq(wp_submit(s->pool, &tracked_task, payload_new(i), NULL), WP_OK);
    *result = 0;
    return 0;
}
static const wp_task_type spawner_task = {spawner_run, NULL, "spawner"};

FT_TEST(5, spawning_beyond_the_deque_capacity_runs_everything_once, 3,
        "A worker's deque is bounded. When it is full, a task submitted from inside the pool goes to the "
        "shared queue or runs on the spot, but never blocks the worker and is never lost or run twice.")
{
    track_reset();
    wp_pool *p = NULL;
    ck_assert_int_eq(wp_pool_new(&p, 2, 4), WP_OK);
    spawner s = {p, 3000};
    wp_handle *h;
    ck_assert_int_eq(wp_submit(p, &spawner_task, &s, &h), WP_OK);
    int64_t r;
    ck_assert_int_eq(wp_join(h, &r), WP_OK);
    wp_pool_wait_idle(p);
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, s.count - 1);
}
FT_TIMEOUT(spawning_beyond_the_deque_capacity_runs_everything_once, 10);

/* ---- work in the deque of a busy worker 0 --------------------------------------------------------------------- */

enum { OWN_WORKERS = 3 };

/* The test holds each worker at its start and lets them go one by one, so it knows where everything is: the probe
 * runs on worker 0 and pushes two children onto worker 0's deque, which must run together; worker 1 is asleep by
 * then; worker 2, which its pool counts as searching from the start, begins only after the push. */
typedef struct own_deque {
    wp_pool *pool;
    pthread_t first_worker;
    atomic_int probe_started;  /* 1: the probe runs on the first worker; 2: on another */
    atomic_int go;             /* the test lets the probe push the pair */
    atomic_int pushed;         /* the probe pushed it */
    atomic_int pair_started;   /* children of the pair that have started */
    atomic_int pair_done;      /* ... and finished */
    atomic_int partner_missed; /* a child gave up waiting for the other to start */
} own_deque;

/* The two children run at the same time or not at all: each waits until the other has started. */
static int pair_run(void *arg, int64_t *result)
{
    own_deque *o = arg;
    atomic_fetch_add(&o->pair_started, 1);
    if (!wait_count(&o->pair_started, 2, LONG_MS))
        atomic_store(&o->partner_missed, 1);
    atomic_fetch_add(&o->pair_done, 1);
    *result = 0;
    return 0;
}
static const wp_task_type pair_task = {pair_run, NULL, "one of a pair"};

static int probe_run(void *arg, int64_t *result)
{
    own_deque *o = arg;
    *result = 0;
    atomic_store(&o->probe_started, pthread_equal(pthread_self(), o->first_worker) ? 1 : 2);
    if (!wait_count(&o->go, 1, LONG_MS))
        return 1;
    ck_assert_int_eq(wp_submit(o->pool, &pair_task, o, NULL), WP_OK);
    ck_assert_int_eq(wp_submit(o->pool, &pair_task, o, NULL), WP_OK);
    atomic_store(&o->pushed, 1);
    /* Worker 0 stays busy until both children have run: only the other two workers can run them. */
    (void)wait_count(&o->pair_done, 2, 2 * LONG_MS);
    return 0;
}
static const wp_task_type probe_task = {probe_run, NULL, "probe"};

FT_TEST(5, work_left_in_a_busy_worker_zeros_own_deque_is_found, 3,
        "Before a worker sleeps, and before the last searching worker stops searching, it looks for work in "
        "every deque: worker 0's too. Here worker 0 stays busy while its deque holds two tasks that must run "
        "together; a searching worker takes one and must wake the sleeping one for the other. A look that starts "
        "at index 1 (or skips the deque of the worker it thinks is its own) sees nothing left, wakes nobody, and "
        "the second task waits beside a sleeping worker.")
{
    own_deque o = {0};
    atomic_init(&o.probe_started, 0);
    atomic_init(&o.go, 0);
    atomic_init(&o.pushed, 0);
    atomic_init(&o.pair_started, 0);
    atomic_init(&o.pair_done, 0);
    atomic_init(&o.partner_missed, 0);
    thread_starts_reset(0);
    thread_starts_hold(true);
    ck_assert_int_eq(wp_pool_new(&o.pool, OWN_WORKERS, 8), WP_OK);
    thread_starts_hold(false);
    ck_assert_int_ge(threads_started(), OWN_WORKERS);
    o.first_worker = thread_started(0);
    /* The probe waits in the injector until worker 0 begins: the others are still held. */
    wp_handle *h;
    ck_assert_int_eq(wp_submit(o.pool, &probe_task, &o, &h), WP_OK);
    thread_release(0);
    ck_assert_msg(wait_count(&o.probe_started, 1, LONG_MS), "the probe never started on the only running worker");
    ck_assert_msg(atomic_load(&o.probe_started) == 1, "the probe ran on a thread other than the only running worker");
    /* Worker 1 begins, finds nothing and goes to sleep. A worker that never sleeps makes this case easier, not
     * wrong: the test goes on either way. */
    thread_release(1);
    (void)thread_wait_asleep(1, LONG_MS);
    atomic_store(&o.go, 1);
    ck_assert_msg(wait_count(&o.pushed, 1, LONG_MS), "the probe never pushed its two children");
    /* Worker 2 begins with both children in worker 0's deque: it takes one, and the other needs worker 1. */
    thread_release(2);
    int64_t r;
    ck_assert_int_eq(wp_join(h, &r), WP_OK);
    wp_pool_shutdown(o.pool, WP_DRAIN);
    ck_assert_int_eq(atomic_load(&o.pair_done), 2);
    ck_assert_msg(!atomic_load(&o.partner_missed),
                  "a task stayed in worker 0's deque while worker 0 was busy and another worker slept: the worker "
                  "that took the first task of the pair woke nobody for the second");
}
FT_TIMEOUT(work_left_in_a_busy_worker_zeros_own_deque_is_found, 20);
