/*
 * pool.c — chapter 04, parts 2–5: the worker pool (reference solution).
 *
 * Where a task can be, from submit to free:
 *   injector (a wp_chan of wp_task values)  ->  a worker's deque  ->  running on a worker  ->  recycled
 * Outside submits go to the injector, bounded: backpressure. A worker takes a batch of up to TAKE_BATCH tasks
 * from it under one lock, keeps one and pushes the rest on its own deque, where idle workers can steal them.
 * Tasks submitted by a running task go straight to the deque, or run at once when it is full (the deque is
 * then full of work for the thieves; sending the task to the injector would only add a contended lock). A
 * thief takes up to half of its victim's deque, at most STEAL_BATCH tasks, one compare-and-swap each, while the
 * victim's cache lines are still in its cache. Every task is run or cancelled exactly once.
 *
 * Task memory (the C side of rayon's `Box<HeapJob>`): every wp_task in a deque belongs to a worker, its `home`:
 * the worker that spawned it, or the one that took it out of the injector, where outside submissions wait by
 * value (no allocation by the submitter). When a task is done its memory goes back on the home worker's spare
 * list, or, if another thread ran it, on the home worker's `returned` stack, which that worker empties in one
 * exchange when its spare list runs out. Measured with one producer inside the pool and tiny tasks: with a
 * malloc and a cross-thread free per task instead, the pool ran at 4.3M tasks/s instead of 11M.
 *
 * Idle workers first spin (search, sched_yield, search again), then sleep on the pool's condition variable.
 * One atomic word, `idle`, counts both: sleepers in its high 32 bits, spinners in its low 32 bits.
 *   waker:   publish the task; read idle with a seq_cst read-modify-write; wake one sleeper only if there are
 *            sleepers and no spinner (a spinner will find the task: no system call needed).
 *   sleeper: lock sleep_lock; turn spinner into sleeper in one read-modify-write; look for work; if none, wait.
 *   spinner: on finding a task, stop spinning; the last spinner to stop wakes a sleeper if work is still visible.
 * Why no wakeup is lost: the waker's read-modify-write and the sleeper's are ordered in idle's modification
 * order. If the waker's comes first, the sleeper's reads from it, synchronises with it, and so sees the task. If
 * it comes second, the waker sees the sleeper (or a spinner, who takes over the duty) and signals while the
 * sleeper, which holds sleep_lock from its announcement until it is inside the wait, is sure to receive it.
 * A task sent to the injector needs no read-modify-write: see wake_one_after_send.
 */
#define _POSIX_C_SOURCE 200809L
#include "deque.h"
#include "pool.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LOCAL_CAP = 256, TAKE_BATCH = 32, STEAL_BATCH = 32, SPIN_ROUNDS = 64, FLUSH_EVERY = 64, CREDIT = 64 };
enum { RUNNING, DRAINING, CANCELLING };                     /* wp_pool.state */
enum { PENDING, DONE, FAILED, CANCELLED };                  /* wp_handle.state */
#define SPINNER ((uint64_t)1)                               /* units of wp_pool.idle */
#define SLEEPER ((uint64_t)1 << 32)
#define SPINNERS(v) ((v) & 0xffffffffu)

struct wp_handle {
    pthread_mutex_t lock;   /* guards state and result */
    pthread_cond_t done;    /* broadcast once, when state leaves PENDING */
    int state;
    int64_t result;
    atomic_int refs;        /* 2 while both the task and the joiner hold it; the last one frees it */
};

typedef struct wp_task {
    const wp_task_type *type;
    void *payload;          /* owned by the task until dropped */
    wp_handle *handle;      /* shared, or NULL */
    struct worker *home;    /* the worker whose memory it is; it goes back there when done */
    struct wp_task *next;   /* link on a spare list or a returned stack */
} wp_task;

struct worker {
    wp_deque local;         /* pushed and popped by this worker's thread only; stolen by the others */
    pthread_t thread;
    wp_pool *pool;
    size_t index;
    size_t done_unflushed;  /* tasks finished but not yet subtracted from pool->outstanding */
    size_t credit;          /* added to pool->outstanding ahead of time, not yet used by a submit */
    wp_task *spare;         /* our finished tasks, ready for reuse; this worker's thread only */
    _Alignas(WP_CACHE_LINE) _Atomic(wp_task *) returned;  /* ours, finished by others: a push-only stack */
};

/* Every worker reads the first line on every loop; a submit writes `idle` and `outstanding`. Sharing one cache
 * line would make each submit cost every worker a miss, so each written field gets a line of its own. */
struct wp_pool {
    struct worker *workers;       /* n entries, immutable after wp_pool_new */
    size_t n;
    atomic_int state;             /* RUNNING -> DRAINING | CANCELLING, once */
    _Alignas(WP_CACHE_LINE) _Atomic uint64_t idle;       /* sleepers * SLEEPER + spinners * SPINNER */
    _Alignas(WP_CACHE_LINE) atomic_size_t outstanding;   /* submitted minus finished (flushed in batches) */
    _Alignas(WP_CACHE_LINE) wp_chan injector;            /* wp_task values from outside; its own lock */
    pthread_mutex_t sleep_lock;   /* held by a sleeper from its announcement until it waits */
    pthread_cond_t wake;
    pthread_mutex_t idle_lock;    /* with idle_cond: wp_pool_wait_idle */
    pthread_cond_t idle_cond;
};

/* The worker the calling thread is, if any. Per thread, and checked against the pool: not a global switch. */
static _Thread_local struct worker *current_worker;

static struct worker *worker_of(wp_pool *p)
{
    struct worker *w = current_worker;
    return w && w->pool == p ? w : NULL;
}

/* ---- handles ---------------------------------------------------------------------------------------------- */

static void handle_release(wp_handle *h)
{
    if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
        pthread_cond_destroy(&h->done);
        pthread_mutex_destroy(&h->lock);
        free(h);
    }
}

static void handle_complete(wp_handle *h, int state, int64_t result)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->state = state;
    h->result = result;
    pthread_cond_broadcast(&h->done);  /* after the change, under the lock */
    pthread_mutex_unlock(&h->lock);
    handle_release(h);
}

/* ---- tasks ------------------------------------------------------------------------------------------------ */

/* Gives a finished task's memory back to its home worker. Another thread pushes it on the home worker's
 * `returned` stack with a compare-and-swap; the home worker takes the whole stack with one exchange, never one
 * node, so the stack has no pop and no ABA problem. */
static void task_recycle(wp_task *t)
{
    struct worker *home = t->home;
    if (home == current_worker) {
        t->next = home->spare;
        home->spare = t;
    } else {
        t->next = atomic_load_explicit(&home->returned, memory_order_relaxed);
        /* release: the home worker's acquire exchange sees every write to the task made before this push */
        while (!atomic_compare_exchange_weak_explicit(&home->returned, &t->next, t, memory_order_release,
                                                      memory_order_relaxed))
            ;
    }
}

/* Memory for a task whose home is @p w (the calling worker): a spare task if it has one, else new memory. */
static wp_task *task_alloc(struct worker *w)
{
    wp_task *t = w->spare;
    if (!t)  /* acquire: pairs with the release in task_recycle */
        t = atomic_exchange_explicit(&w->returned, NULL, memory_order_acquire);
    if (!t)
        return malloc(sizeof *t);
    w->spare = t->next;
    return t;
}

static void free_tasks(wp_task *t)
{
    while (t) {
        wp_task *next = t->next;
        free(t);
        t = next;
    }
}

/* Runs the task, drops its payload, reports to its handle. The memory holding *t is the caller's business. */
static void task_execute(const wp_task *t)
{
    int64_t result = 0;
    int code = t->type->run(t->payload, &result);
    if (t->type->drop)
        t->type->drop(t->payload);  /* FnOnce: the payload is consumed by the call */
    handle_complete(t->handle, code == 0 ? DONE : FAILED, code == 0 ? result : code);
}

/* Drops the payload unrun and tells the handle. */
static void task_abandon(const wp_task *t)
{
    if (t->type->drop)
        t->type->drop(t->payload);
    handle_complete(t->handle, CANCELLED, 0);
}

static void task_run(wp_task *t) { task_execute(t), task_recycle(t); }
static void task_cancel(wp_task *t) { task_abandon(t), task_recycle(t); }

/* ---- waking and idling ------------------------------------------------------------------------------------ */

static void signal_if_needed(wp_pool *p, uint64_t idle)
{
    if (idle >= SLEEPER && SPINNERS(idle) == 0) {
        pthread_mutex_lock(&p->sleep_lock);
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->sleep_lock);
    }
}

/* After a push on a deque. A read-modify-write, not a load: see the header comment for why it cannot miss a
 * sleeper. */
static void wake_one(wp_pool *p)
{
    signal_if_needed(p, atomic_fetch_add_explicit(&p->idle, 0, memory_order_seq_cst));
}

/* After a send into the injector, a load is enough, and it leaves idle's cache line shared instead of taking it
 * from the other submitters. A worker that changes idle (to spin, to sleep, to stop spinning) then looks at the
 * injector under its mutex before it sleeps or, as the last spinner, stops searching. If that look comes after
 * our send, it finds our task. If it came before, its change to idle happened before our send's unlock, so our
 * load sees that change: a sleeper is signalled, and a spinner it shows is one whose look is still to come. */
static void wake_one_after_send(wp_pool *p)
{
    signal_if_needed(p, atomic_load_explicit(&p->idle, memory_order_acquire));
}

static void finished(wp_pool *p, size_t count)
{
    if (count && atomic_fetch_sub_explicit(&p->outstanding, count, memory_order_acq_rel) == count) {
        pthread_mutex_lock(&p->idle_lock);
        pthread_cond_broadcast(&p->idle_cond);
        pthread_mutex_unlock(&p->idle_lock);
    }
}

/* Publishes what this worker finished and hands back the credit it did not use. Until then `outstanding` counts
 * too many tasks, never too few: wp_pool_wait_idle may wait a little longer, but cannot return early. */
static void flush_done(struct worker *w)
{
    finished(w->pool, w->done_unflushed + w->credit);
    w->done_unflushed = w->credit = 0;
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
    for (size_t i = n; i-- > 0;) {  /* the last one first: our deque pops newest first, so batch[1] runs next */
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
        task_execute(&batch[i]);  /* no memory, or no room on our deque (rare): run it here */
        w->done_unflushed++;
    }
    if (n > 1)
        wake_one(w->pool);  /* one wake-up for the whole batch */
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
            if (!wp_deque_push(&w->local, more)) {  /* cannot happen while ours was empty; run it if it does */
                task_run(more), w->done_unflushed++;
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
 * is nothing to do (or every FLUSH_EVERY tasks): one shared read-modify-write per batch, not per steal. */
static wp_task *find_task(struct worker *w)
{
    wp_task *t = wp_deque_pop(&w->local);
    if (t || (t = steal_from_others(w)) || (t = take_from_injector(w)))
        return t;
    flush_done(w);
    return NULL;
}

static bool work_visible(wp_pool *p)
{
    if (wp_chan_len(&p->injector) > 0)
        return true;
    for (size_t i = 0; i < p->n; i++)
        if (wp_deque_len(&p->workers[i].local) > 0)
            return true;
    return false;
}

/* Called by a spinner; returns a spinner again (a woken worker searches before it sleeps again). */
static void sleep_until_work(wp_pool *p)
{
    pthread_mutex_lock(&p->sleep_lock);
    atomic_fetch_add_explicit(&p->idle, SLEEPER - SPINNER, memory_order_seq_cst);
    /* No `while` needed here: the caller's loop searches again after every wakeup, spurious or not. */
    if (atomic_load(&p->state) == RUNNING && !work_visible(p))
        pthread_cond_wait(&p->wake, &p->sleep_lock);
    atomic_fetch_sub_explicit(&p->idle, SLEEPER - SPINNER, memory_order_seq_cst);
    pthread_mutex_unlock(&p->sleep_lock);
}

/* A spinner found a task. If it was the last one searching and work is left, a sleeper must take over. */
static void stop_spinning(wp_pool *p)
{
    uint64_t before = atomic_fetch_sub_explicit(&p->idle, SPINNER, memory_order_seq_cst);
    if (SPINNERS(before) == 1 && work_visible(p))
        wake_one(p);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    wp_pool *p = w->pool;
    current_worker = w;
    unsigned idle_rounds = 0;
    bool spinning = true;  /* counted as a spinner by wp_pool_new */
    for (;;) {
        int state = atomic_load(&p->state);
        if (state == CANCELLING)
            break;  /* what is left is cancelled by wp_pool_shutdown after the join */
        wp_task *t = find_task(w);
        if (t) {
            if (spinning)
                stop_spinning(p), spinning = false;
            idle_rounds = 0;
            task_run(t);
            if (++w->done_unflushed >= FLUSH_EVERY)
                flush_done(w);
            continue;
        }
        if (state == DRAINING && !work_visible(p))
            break;
        if (!spinning)
            atomic_fetch_add_explicit(&p->idle, SPINNER, memory_order_seq_cst), spinning = true;
        if (++idle_rounds < SPIN_ROUNDS)
            sched_yield();  /* spin a little first: a sleeper costs its waker a system call */
        else
            sleep_until_work(p), idle_rounds = 0;
    }
    if (spinning)
        atomic_fetch_sub_explicit(&p->idle, SPINNER, memory_order_seq_cst);
    flush_done(w);
    current_worker = NULL;
    return NULL;
}

/* ---- creating and submitting ------------------------------------------------------------------------------ */

/* calloc for the cache-line-aligned structs above: malloc only promises 16-byte alignment. Their sizes are
 * multiples of their alignment, as aligned_alloc requires. */
static void *calloc_lines(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *mem = aligned_alloc(WP_CACHE_LINE, n * size);
    return mem ? memset(mem, 0, n * size) : NULL;
}

static void pool_free(wp_pool *p, size_t deques)
{
    for (size_t i = 0; i < deques; i++) {
        wp_deque_destroy(&p->workers[i].local);
        free_tasks(p->workers[i].spare);
        free_tasks(atomic_load(&p->workers[i].returned));
    }
    free(p->workers);
    wp_chan_destroy(&p->injector);
    pthread_cond_destroy(&p->idle_cond);
    pthread_mutex_destroy(&p->idle_lock);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->sleep_lock);
    free(p);
}

static void stop_and_join(wp_pool *p, size_t started, int state)
{
    atomic_store(&p->state, state);
    wp_chan_close(&p->injector);
    pthread_mutex_lock(&p->sleep_lock);
    pthread_cond_broadcast(&p->wake);  /* every sleeper, not one: each must see the new state and leave */
    pthread_mutex_unlock(&p->sleep_lock);
    for (size_t i = 0; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
}

wp_status wp_pool_new(wp_pool **out, size_t n_workers, size_t queue_cap)
{
    if (n_workers == 0 || queue_cap == 0)
        return WP_ERR_INVAL;
    wp_pool *p = calloc_lines(1, sizeof *p);
    if (!p)
        return WP_ERR_NOMEM;
    p->workers = calloc_lines(n_workers, sizeof *p->workers);
    if (!p->workers || wp_chan_init(&p->injector, queue_cap, sizeof(wp_task), NULL) != WP_OK) {
        free(p->workers);
        free(p);
        return WP_ERR_NOMEM;
    }
    p->n = n_workers;
    pthread_mutex_init(&p->sleep_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_mutex_init(&p->idle_lock, NULL);
    pthread_cond_init(&p->idle_cond, NULL);
    size_t i = 0;
    for (; i < n_workers; i++)
        if (wp_deque_init(&p->workers[i].local, LOCAL_CAP) != WP_OK)
            break;
    if (i < n_workers) {
        pool_free(p, i);
        return WP_ERR_NOMEM;
    }
    size_t started = 0;
    for (; started < n_workers; started++) {
        struct worker *w = &p->workers[started];
        w->pool = p;
        w->index = started;
        atomic_fetch_add(&p->idle, SPINNER);  /* each worker starts out searching */
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break;
    }
    if (started < n_workers) {
        atomic_fetch_sub(&p->idle, SPINNER);  /* the one that did not start */
        stop_and_join(p, started, CANCELLING);
        pool_free(p, n_workers);
        return WP_ERR_NOMEM;
    }
    *out = p;
    return WP_OK;
}

size_t wp_pool_workers(const wp_pool *p) { return p->n; }

static wp_status submit_impl(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle, bool wait)
{
    if (!type || !type->run)
        return WP_ERR_INVAL;
    struct worker *self = worker_of(p);
    if (self && atomic_load(&p->state) == CANCELLING)
        return WP_ERR_CLOSED;
    wp_handle *h = NULL;
    if (handle) {
        if (!(h = malloc(sizeof *h)))
            return WP_ERR_NOMEM;
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);  /* join_timeout is not fooled by the date */
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->done, &attr);
        pthread_condattr_destroy(&attr);
        h->state = PENDING;
        h->result = 0;
        atomic_init(&h->refs, 2);  /* one for the task, one for the caller */
    }
    wp_status st = WP_OK;
    if (self) {  /* from our own task: never block a worker */
        wp_task *t = task_alloc(self);
        if (!t) {
            st = WP_ERR_NOMEM;
        } else {
            *t = (wp_task){.type = type, .payload = payload, .handle = h, .home = self};
            /* Counted before anyone can see it: a thief could run it and report it finished at once. A worker
             * counts CREDIT tasks at a time, so two producers do not fight over this cache line per submit. */
            if (self->credit-- == 0)
                atomic_fetch_add_explicit(&p->outstanding, CREDIT, memory_order_relaxed), self->credit = CREDIT - 1;
            if (wp_deque_push(&self->local, t))
                wake_one(p);
            else
                task_run(t), self->done_unflushed++;
        }
    } else {  /* from outside: by value into the injector, no allocation; the worker that takes it sets home */
        wp_task task = {.type = type, .payload = payload, .handle = h};
        atomic_fetch_add_explicit(&p->outstanding, 1, memory_order_relaxed);
        st = wait ? wp_chan_send(&p->injector, &task) : wp_chan_try_send(&p->injector, &task);
        if (st == WP_OK)
            wake_one_after_send(p);
        else
            finished(p, 1);
    }
    if (st != WP_OK) {  /* nothing moved: the payload is the caller's again */
        if (h)
            pthread_cond_destroy(&h->done), pthread_mutex_destroy(&h->lock), free(h);
        return st;
    }
    if (handle)
        *handle = h;
    return WP_OK;
}

wp_status wp_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    return submit_impl(p, type, payload, handle, true);
}

wp_status wp_try_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    return submit_impl(p, type, payload, handle, false);
}

/* ---- joining ---------------------------------------------------------------------------------------------- */

static wp_status join_impl(wp_handle *h, const struct timespec *deadline, int64_t *result)
{
    pthread_mutex_lock(&h->lock);
    while (h->state == PENDING) {
        if (!deadline)
            pthread_cond_wait(&h->done, &h->lock);
        else if (pthread_cond_timedwait(&h->done, &h->lock, deadline) != 0 && h->state == PENDING)
            break;
    }
    int state = h->state;
    int64_t value = h->result;
    pthread_mutex_unlock(&h->lock);
    if (state == PENDING)
        return WP_ERR_TIMEOUT;  /* the handle stays the caller's */
    if (result && (state == DONE || state == FAILED))
        *result = value;
    handle_release(h);
    return state == DONE ? WP_OK : state == FAILED ? WP_ERR_TASK_FAILED : WP_ERR_CANCELLED;
}

wp_status wp_join(wp_handle *h, int64_t *result) { return join_impl(h, NULL, result); }

wp_status wp_join_timeout(wp_handle *h, uint32_t timeout_ms, int64_t *result)
{
    struct timespec d;
    clock_gettime(CLOCK_MONOTONIC, &d);
    d.tv_sec += timeout_ms / 1000;
    d.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (d.tv_nsec >= 1000000000L)
        d.tv_sec++, d.tv_nsec -= 1000000000L;
    return join_impl(h, &d, result);
}

void wp_handle_detach(wp_handle *h) { handle_release(h); }

static void refuse_from_own_task(wp_pool *p, const char *what)
{
    if (worker_of(p)) {
        fprintf(stderr, "wp: %s called from one of the pool's own tasks: it would wait for itself\n", what);
        abort();
    }
}

void wp_pool_wait_idle(wp_pool *p)
{
    refuse_from_own_task(p, "wp_pool_wait_idle");
    pthread_mutex_lock(&p->idle_lock);
    while (atomic_load_explicit(&p->outstanding, memory_order_acquire) != 0)
        pthread_cond_wait(&p->idle_cond, &p->idle_lock);
    pthread_mutex_unlock(&p->idle_lock);
}

/* ---- shutdown --------------------------------------------------------------------------------------------- */

void wp_pool_shutdown(wp_pool *p, wp_shutdown mode)
{
    refuse_from_own_task(p, "wp_pool_shutdown");
    stop_and_join(p, p->n, mode == WP_CANCEL ? CANCELLING : DRAINING);
    /* Every thread has exited: what is left was never started. Cancel it. */
    wp_task left;
    while (wp_chan_try_recv(&p->injector, &left) == WP_OK)
        task_abandon(&left);
    wp_task *t;
    for (size_t i = 0; i < p->n; i++)
        while ((t = wp_deque_pop(&p->workers[i].local)))
            task_cancel(t);
    pool_free(p, p->n);
}
