/*
 * pool.c — chapter 04, parts 2–4: the pool: create, submit, join, wait until idle, shut down (reference solution).
 *
 * pool_internal.h lists the pool's files and its structs. Here: a submit from outside moves the task by value
 * into the injector (waiting for room is backpressure); a submit from one of the pool's own tasks puts it on that
 * worker's deque and never waits. A joiner waits on the task's handle, whose other side is in task.c.
 * `outstanding` counts tasks from submit until finished, for wp_pool_wait_idle. Shutdown stops and joins every
 * thread first, then cancels what is left with no other thread running.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "pool_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The calling thread's worker if it belongs to @p p; NULL on any other thread, including another pool's worker. */
static struct worker *current_worker_in(wp_pool *p)
{
    struct worker *w = current_worker;
    return w && w->pool == p ? w : NULL;
}

static void refuse_from_own_task(wp_pool *p, const char *what)
{
    if (current_worker_in(p)) {
        fprintf(stderr, "wp: %s called from one of the pool's own tasks: it would wait for itself\n", what);
        abort();
    }
}

/* ---- creating and stopping -------------------------------------------------------------------------------- */

/* calloc for the cache-line-aligned structs of pool_internal.h: malloc only promises 16-byte alignment. Their
 * sizes are multiples of their alignment, as aligned_alloc requires. */
static void *calloc_lines(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *mem = aligned_alloc(WP_CACHE_LINE, n * size);
    return mem ? memset(mem, 0, n * size) : NULL;
}

/* Frees the pool and the first @p deques workers' deques and task memory; no thread of the pool is running. */
static void pool_free(wp_pool *p, size_t deques)
{
    for (size_t i = 0; i < deques; i++) {
        wp_deque_destroy(&p->workers[i].local);
        task_free_list(p->workers[i].spare);
        task_free_list(atomic_load(&p->workers[i].returned));
    }
    free(p->workers);
    wp_chan_destroy(&p->injector);
    pthread_cond_destroy(&p->all_done);
    pthread_mutex_destroy(&p->all_done_lock);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->sleep_lock);
    free(p);
}

/* Starts one thread per worker; returns how many started (all of them, unless pthread_create failed). */
static size_t start_workers(wp_pool *p)
{
    size_t started = 0;
    for (; started < p->n; started++) {
        struct worker *w = &p->workers[started];
        w->pool = p;
        w->index = started;
        atomic_fetch_add(&p->idle, SPINNER); /* each worker starts out searching */
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break;
    }
    if (started < p->n)
        atomic_fetch_sub(&p->idle, SPINNER); /* the one that did not start */
    return started;
}

static void stop_and_join(wp_pool *p, size_t started, int state)
{
    atomic_store(&p->state, state);
    wp_chan_close(&p->injector);
    pthread_mutex_lock(&p->sleep_lock);
    pthread_cond_broadcast(&p->wake); /* every sleeper, not one: each must see the new state and leave */
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
    pthread_mutex_init(&p->all_done_lock, NULL);
    pthread_cond_init(&p->all_done, NULL);
    size_t i = 0;
    for (; i < n_workers; i++)
        if (wp_deque_init(&p->workers[i].local, LOCAL_CAP) != WP_OK)
            break;
    if (i < n_workers) {
        pool_free(p, i);
        return WP_ERR_NOMEM;
    }
    size_t started = start_workers(p);
    if (started < n_workers) {
        stop_and_join(p, started, POOL_CANCELLING);
        pool_free(p, n_workers);
        return WP_ERR_NOMEM;
    }
    *out = p;
    return WP_OK;
}

size_t wp_pool_workers(const wp_pool *p) { return p->n; }

/* ---- submitting ------------------------------------------------------------------------------------------- */

/* From one of our own tasks: onto this worker's deque, or run at once when it is full; a worker never blocks. */
static wp_status push_on_own_deque(struct worker *self, const wp_task_type *type, void *payload, wp_handle *h)
{
    wp_task *t = task_alloc(self);
    if (!t)
        return WP_ERR_NOMEM;
    *t = (wp_task){.type = type, .payload = payload, .handle = h, .home = self};
    /* Counted before anyone can see it: a thief could run it and report it finished at once. A worker counts
     * CREDIT tasks at a time, so two producers do not fight over this cache line per submit. */
    if (self->credit-- == 0) {
        atomic_fetch_add_explicit(&self->pool->outstanding, CREDIT, memory_order_relaxed);
        self->credit = CREDIT - 1;
    }
    if (wp_deque_push(&self->local, t)) {
        wake_one(self->pool);
    } else {
        task_run_and_recycle(t);
        self->done_unflushed++;
    }
    return WP_OK;
}

/* From outside: by value into the injector, no allocation; the worker that takes it out gives it a home. */
static wp_status send_to_injector(wp_pool *p, const wp_task_type *type, void *payload, wp_handle *h, bool wait_for_room)
{
    wp_task task = {.type = type, .payload = payload, .handle = h};
    atomic_fetch_add_explicit(&p->outstanding, 1, memory_order_relaxed);
    wp_status st = wait_for_room ? wp_chan_send(&p->injector, &task) : wp_chan_try_send(&p->injector, &task);
    if (st == WP_OK)
        wake_one_after_send(p);
    else
        subtract_outstanding(p, 1);
    return st;
}

/* wp_submit and wp_try_submit, which differ only in @p wait_for_room (a full injector: wait, or WP_ERR_FULL). */
static wp_status submit_to_deque_or_injector(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle,
                                             bool wait_for_room)
{
    if (!type || !type->run)
        return WP_ERR_INVAL;
    struct worker *self = current_worker_in(p);
    if (self && atomic_load(&p->state) == POOL_CANCELLING)
        return WP_ERR_CLOSED;
    wp_handle *h = NULL;
    if (handle) {
        h = handle_new();
        if (!h)
            return WP_ERR_NOMEM;
    }
    wp_status st = self ? push_on_own_deque(self, type, payload, h) : send_to_injector(p, type, payload, h, wait_for_room);
    if (st != WP_OK) { /* nothing moved: the payload is the caller's again */
        if (h)
            handle_free(h);
        return st;
    }
    if (handle)
        *handle = h;
    return WP_OK;
}

wp_status wp_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    return submit_to_deque_or_injector(p, type, payload, handle, true);
}

wp_status wp_try_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    return submit_to_deque_or_injector(p, type, payload, handle, false);
}

/* ---- joining ---------------------------------------------------------------------------------------------- */

/* The joiner's side of wp_join and wp_join_timeout: waits until the task is done or @p deadline (NULL: none)
 * passes. */
static wp_status join_until(wp_handle *h, const struct timespec *deadline, int64_t *result)
{
    pthread_mutex_lock(&h->lock);
    while (h->state == HANDLE_PENDING) {
        if (!deadline)
            pthread_cond_wait(&h->done, &h->lock);
        else if (pthread_cond_timedwait(&h->done, &h->lock, deadline) != 0 && h->state == HANDLE_PENDING)
            break;
    }
    int state = h->state;
    int64_t value = h->result;
    pthread_mutex_unlock(&h->lock);
    if (state == HANDLE_PENDING)
        return WP_ERR_TIMEOUT; /* the handle stays the caller's */
    if (result && (state == HANDLE_DONE || state == HANDLE_FAILED))
        *result = value;
    handle_unref(h);
    return state == HANDLE_DONE ? WP_OK : state == HANDLE_FAILED ? WP_ERR_TASK_FAILED : WP_ERR_CANCELLED;
}

wp_status wp_join(wp_handle *h, int64_t *result) { return join_until(h, NULL, result); }

wp_status wp_join_timeout(wp_handle *h, uint32_t timeout_ms, int64_t *result)
{
    /* One absolute deadline on the handle's clock, so a spurious wakeup does not restart the wait. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    long long nsec = deadline.tv_nsec + (long long)timeout_ms * 1000000LL;
    deadline.tv_sec += (time_t)(nsec / 1000000000LL);
    deadline.tv_nsec = (long)(nsec % 1000000000LL);
    return join_until(h, &deadline, result);
}

void wp_handle_detach(wp_handle *h) { handle_unref(h); }

/* ---- waiting until idle ----------------------------------------------------------------------------------- */

void subtract_outstanding(wp_pool *p, size_t count)
{
    if (count && atomic_fetch_sub_explicit(&p->outstanding, count, memory_order_acq_rel) == count) {
        pthread_mutex_lock(&p->all_done_lock);
        pthread_cond_broadcast(&p->all_done);
        pthread_mutex_unlock(&p->all_done_lock);
    }
}

void wp_pool_wait_idle(wp_pool *p)
{
    refuse_from_own_task(p, "wp_pool_wait_idle");
    pthread_mutex_lock(&p->all_done_lock);
    while (atomic_load_explicit(&p->outstanding, memory_order_acquire) != 0)
        pthread_cond_wait(&p->all_done, &p->all_done_lock);
    pthread_mutex_unlock(&p->all_done_lock);
}

/* ---- shutdown --------------------------------------------------------------------------------------------- */

void wp_pool_shutdown(wp_pool *p, wp_shutdown mode)
{
    refuse_from_own_task(p, "wp_pool_shutdown");
    assert(mode == WP_DRAIN || mode == WP_CANCEL);
    stop_and_join(p, p->n, mode == WP_CANCEL ? POOL_CANCELLING : POOL_DRAINING);
    /* Every thread has exited: what is left was never started. Cancel it. */
    wp_task left;
    while (wp_chan_try_recv(&p->injector, &left) == WP_OK)
        task_cancel(&left);
    for (size_t i = 0; i < p->n; i++) {
        wp_task *t;
        while ((t = wp_deque_pop(&p->workers[i].local)) != NULL) {
            task_cancel(t);
            task_recycle(t);
        }
    }
    pool_free(p, p->n);
}
