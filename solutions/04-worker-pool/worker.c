/*
 * worker.c — chapter 04, parts 2 and 5: the worker thread, where it finds work, and its loop (reference solution).
 *
 * Outside submits go to the injector, bounded: backpressure. A worker takes a batch of up to TAKE_BATCH tasks
 * from it under one lock, keeps one and pushes the rest on its own deque, where idle workers can steal them.
 * Tasks submitted by a running task go straight to the deque, or run at once when it is full (the deque is
 * then full of work for the thieves; sending the task to the injector would only add a contended lock). A
 * thief takes up to half of its victim's deque, at most STEAL_BATCH tasks, one compare-and-swap each, while the
 * victim's cache lines are still in its cache.
 */
#define _POSIX_C_SOURCE 200809L /* sched_yield */
#include "pool_internal.h"

#include <sched.h>

_Thread_local struct worker *current_worker;

/* Publishes what this worker finished and hands back the credit it did not use. Until then `outstanding` counts
 * too many tasks, never too few: wp_pool_wait_idle may wait a little longer, but cannot return early. */
static void flush_worker_counts(struct worker *w)
{
    subtract_outstanding(w->pool, w->done_unflushed + w->credit);
    w->done_unflushed = 0;
    w->credit = 0;
}

/* ---- finding work ----------------------------------------------------------------------------------------- */

/* One batch from the injector: keep the first task, push the rest on our deque, wake one helper if any. The
 * injector holds tasks by value; each moves into memory of ours (a spare task, usually) before it is pushed. */
static wp_task *take_from_injector(struct worker *w)
{
    wp_task batch[TAKE_BATCH];
    size_t n = wp_chan_try_recv_many(&w->pool->injector, batch, TAKE_BATCH);
    if (n == 0)
        return NULL;
    wp_task *first = NULL;
    for (size_t i = n; i-- > 0;) { /* the last one first: our deque pops newest first, so batch[1] runs next */
        wp_task *t = task_alloc(w);
        if (t) {
            *t = batch[i];
            t->home = w;
            if (i == 0) {
                first = t;
                continue;
            }
            if (wp_deque_push(&w->local, t))
                continue;
            task_recycle(t);
        }
        task_run(&batch[i]); /* no memory, or no room on our deque (rare): run it here */
        w->done_unflushed++;
    }
    if (n > 1)
        wake_one(w->pool); /* one wake-up for the whole batch */
    return first;
}

/* Steals one task to run and, with it, up to half of what the victim has left (at most STEAL_BATCH), onto our
 * own deque: the victim's top, bottom and slots are in our cache now, and the next steals are nearly free. */
static wp_task *steal_from_others(struct worker *w)
{
    wp_pool *p = w->pool;
    for (size_t k = 1; k < p->n; k++) {
        struct worker *victim = &p->workers[(w->index + k) % p->n];
        void *item;
        wp_steal r;
        while ((r = wp_deque_steal(&victim->local, &item)) == WP_STEAL_RETRY)
            ;
        if (r != WP_STEAL_SUCCESS)
            continue;
        size_t extra = wp_deque_len(&victim->local) / 2;
        void *more;
        for (extra = extra < STEAL_BATCH ? extra : STEAL_BATCH; extra > 0; extra--) {
            if (wp_deque_steal(&victim->local, &more) != WP_STEAL_SUCCESS)
                break;
            if (!wp_deque_push(&w->local, more)) { /* cannot happen while ours was empty; run it if it does */
                task_run_and_recycle(more);
                w->done_unflushed++;
                break;
            }
        }
        return item;
    }
    return NULL;
}

/* Own deque first, then the other workers' deques, then the injector: rayon's order. Stealing costs a few atomic
 * operations, the injector a mutex, so a worker living on steals never touches that lock while steals succeed;
 * outside submissions are taken as soon as no deque has work. The finished count is published only when there
 * is nothing to do (or every FLUSH_EVERY tasks): one shared read-modify-write per batch, not per steal.
 *
 * A worker whose own deque is empty counts itself a spinner *before* it looks anywhere else, as rayon's workers
 * count themselves idle as soon as a job returns. A task submitted meanwhile then finds a spinner and wakes
 * nobody: the worker is about to look, and looks again before it sleeps. Counted only after a failed search, a
 * worker that had just finished a task looked busy for the length of that search, and a submit in that window
 * paid a futex wake-up for a sleeper who then found nothing to do (bench/04-worker-pool/README.md measures it). */
static wp_task *find_task(struct worker *w, bool *spinning)
{
    wp_task *t = wp_deque_pop(&w->local);
    if (t)
        return t;
    if (!*spinning) {
        atomic_fetch_add_explicit(&w->pool->idle, SPINNER, memory_order_seq_cst);
        *spinning = true;
    }
    if ((t = steal_from_others(w)) || (t = take_from_injector(w)))
        return t;
    flush_worker_counts(w);
    return NULL;
}

/* ---- the loop --------------------------------------------------------------------------------------------- */

void *worker_main(void *arg)
{
    struct worker *w = arg;
    wp_pool *p = w->pool;
    current_worker = w;
    unsigned idle_rounds = 0;
    bool spinning = true; /* counted as a spinner by wp_pool_new; find_task counts it again when it runs dry */
    for (;;) {
        int state = atomic_load(&p->state);
        if (state == POOL_CANCELLING)
            break; /* what is left is cancelled by wp_pool_shutdown after the join */
        wp_task *t = find_task(w, &spinning);
        if (t) {
            if (spinning) {
                stop_spinning(p);
                spinning = false;
            }
            idle_rounds = 0;
            task_run_and_recycle(t);
            if (++w->done_unflushed >= FLUSH_EVERY)
                flush_worker_counts(w);
            continue;
        }
        if (state == POOL_DRAINING && !work_visible(p))
            break;
        if (++idle_rounds >= SPIN_ROUNDS) {
            sleep_until_work(p, false);
            idle_rounds = 0;
        } else if (SPINNERS(atomic_load_explicit(&p->idle, memory_order_relaxed)) > MAX_SPINNERS(p->n) &&
                   sleep_until_work(p, true)) {
            idle_rounds = 0; /* one spinner too many, and it was us: spinning on, we would take turns on a core */
        } else {
            sched_yield(); /* spin a little first: a sleeper costs its waker a system call */
        }
    }
    if (spinning)
        atomic_fetch_sub_explicit(&p->idle, SPINNER, memory_order_seq_cst);
    flush_worker_counts(w);
    current_worker = NULL;
    return NULL;
}
