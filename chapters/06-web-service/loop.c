/*
 * Chapter 06, given code: the event loop (loop.h says what it promises). One epoll instance per loop; a binary
 * min-heap of timers ordered by (due, arming order); a mutex-guarded FIFO of posted tasks, its eventfd watched by
 * the same epoll so that a post wakes a sleeping loop.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

/* One posted task, in a singly linked queue. */
typedef struct task {
    struct task *next;
    ws_task_fn *fn;
    void *ctx;
} task;

struct ws_loop {
    int epfd;                        /* the epoll instance */
    int wake_fd;                     /* eventfd: a post or a stop writes 1, the loop reads it back to 0 */
    ws_timer *heap[WS_TIMERS_MAX];   /* loop thread only: min-heap by (due_ms, seq) */
    size_t timers;                   /* loop thread only: armed timers, heap[0..timers) */
    uint64_t next_seq;               /* loop thread only */
    struct epoll_event batch[BATCH]; /* loop thread only: the events of the current turn */
    int batch_len;                   /* loop thread only: events in batch still to dispatch */
    pthread_mutex_t lock;            /* guards head and tail only */
    task *head, *tail;               /* the posted tasks, oldest first; guarded by lock */
    atomic_bool stop;                /* set by ws_loop_stop from any thread */
};

uint64_t ws_loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ws_timer_init(ws_timer *t) { *t = (ws_timer){.slot = SIZE_MAX}; }

/* A zeroed timer has slot 0 and fn NULL: armed timers always have a fn, so fn tells the two apart. */
bool ws_timer_armed(const ws_timer *t) { return t->fn != NULL && t->slot != SIZE_MAX; }

int ws_loop_create(ws_loop **out)
{
    ws_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int err = 0;
    if (loop->epfd < 0 || loop->wake_fd < 0)
        err = -errno;
    /* data.ptr NULL marks the wake fd: no ws_watch is ever at NULL. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (err == 0 && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) != 0)
        err = -errno;
    if (err != 0) {
        if (loop->epfd >= 0)
            close(loop->epfd);
        if (loop->wake_fd >= 0)
            close(loop->wake_fd);
        free(loop);
        return err;
    }
    pthread_mutex_init(&loop->lock, NULL);
    atomic_init(&loop->stop, false);
    *out = loop;
    return 0;
}

void ws_loop_destroy(ws_loop *loop)
{
    if (loop == NULL)
        return;
    for (task *t = loop->head, *next; t != NULL; t = next) {
        next = t->next;
        free(t);
    }
    pthread_mutex_destroy(&loop->lock);
    close(loop->epfd);
    close(loop->wake_fd);
    free(loop);
}

static uint32_t to_epoll(uint32_t interest)
{
    return ((interest & WS_READABLE) ? EPOLLIN | EPOLLRDHUP : 0u) | ((interest & WS_WRITABLE) ? EPOLLOUT : 0u);
}

int ws_loop_watch(ws_loop *loop, ws_watch *w, int fd, uint32_t interest, ws_watch_fn *on_kick)
{
    if (w->on_kick != NULL && w->fd >= 0)
        return -EEXIST;
    struct epoll_event ev = {.events = to_epoll(interest), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return -errno;
    w->fd = fd;
    w->interest = interest;
    w->on_kick = on_kick;
    return 0;
}

int ws_loop_modify(ws_loop *loop, ws_watch *w, uint32_t interest)
{
    if (w->on_kick == NULL || w->fd < 0)
        return -ENOENT;
    if (interest == w->interest)
        return 0;
    struct epoll_event ev = {.events = to_epoll(interest), .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0)
        return -errno;
    w->interest = interest;
    return 0;
}

void ws_loop_unwatch(ws_loop *loop, ws_watch *w)
{
    if (w->on_kick == NULL || w->fd < 0)
        return;
    /* The fd may already be closed by a library that owns it (libpq after a failure): ignore EBADF, ENOENT. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    /* Events of this turn not dispatched yet may name w: forget them, so a freed watch is never called. */
    for (int i = 0; i < loop->batch_len; i++)
        if (loop->batch[i].data.ptr == w)
            loop->batch[i].events = 0;
    w->fd = -1;
    w->interest = 0;
}

/* ---- timers: a binary min-heap of pointers; each timer knows its slot, so cancel is O(log n). ---- */

static bool earlier(const ws_timer *a, const ws_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_put(ws_loop *loop, size_t i, ws_timer *t)
{
    loop->heap[i] = t;
    t->slot = i;
}

static void sift_up(ws_loop *loop, size_t i)
{
    ws_timer *t = loop->heap[i];
    while (i > 0 && earlier(t, loop->heap[(i - 1) / 2])) {
        heap_put(loop, i, loop->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_put(loop, i, t);
}

static void sift_down(ws_loop *loop, size_t i)
{
    ws_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->timers)
            break;
        if (child + 1 < loop->timers && earlier(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!earlier(loop->heap[child], t))
            break;
        heap_put(loop, i, loop->heap[child]);
        i = child;
    }
    heap_put(loop, i, t);
}

int ws_loop_timer_start(ws_loop *loop, ws_timer *t, uint64_t delay_ms, ws_task_fn *fn, void *ctx)
{
    if (ws_timer_armed(t))
        return -EEXIST;
    if (loop->timers == WS_TIMERS_MAX)
        return -ENOSPC;
    t->due_ms = ws_loop_now_ms() + delay_ms;
    t->seq = loop->next_seq++;
    t->fn = fn;
    t->ctx = ctx;
    loop->heap[loop->timers++] = t;
    sift_up(loop, loop->timers - 1);
    return 0;
}

void ws_loop_timer_cancel(ws_loop *loop, ws_timer *t)
{
    if (!ws_timer_armed(t))
        return;
    size_t i = t->slot;
    ws_timer *last = loop->heap[--loop->timers];
    t->slot = SIZE_MAX;
    if (i == loop->timers)
        return;
    heap_put(loop, i, last);
    sift_up(loop, i);
    sift_down(loop, last->slot);
}

/* Fires every timer due by now; a callback may arm or cancel timers, the one that fired included. */
static int fire_timers(ws_loop *loop)
{
    int calls = 0;
    uint64_t now = ws_loop_now_ms();
    while (loop->timers > 0 && loop->heap[0]->due_ms <= now) {
        ws_timer *t = loop->heap[0];
        ws_loop_timer_cancel(loop, t);
        t->fn(t->ctx);
        calls++;
    }
    return calls;
}

/* ---- posted tasks ---- */

int ws_loop_post(ws_loop *loop, ws_task_fn *fn, void *ctx)
{
    task *t = malloc(sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    *t = (task){.next = NULL, .fn = fn, .ctx = ctx};
    pthread_mutex_lock(&loop->lock);
    if (loop->tail != NULL)
        loop->tail->next = t;
    else
        loop->head = t;
    loop->tail = t;
    pthread_mutex_unlock(&loop->lock);
    uint64_t one = 1;
    /* EAGAIN only when the counter is near 2^64: the loop is woken already. */
    (void)!write(loop->wake_fd, &one, sizeof one);
    return 0;
}

/* Runs the tasks queued when it starts; a task posted by one of them waits for the next turn, so a task that
 * re-posts itself cannot starve the fds. */
static int run_tasks(ws_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    task *t = loop->head;
    loop->head = loop->tail = NULL;
    pthread_mutex_unlock(&loop->lock);
    int calls = 0;
    while (t != NULL) {
        task *next = t->next;
        ws_task_fn *fn = t->fn;
        void *ctx = t->ctx;
        free(t);
        fn(ctx);
        calls++;
        t = next;
    }
    return calls;
}

static bool tasks_queued(ws_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    bool any = loop->head != NULL;
    pthread_mutex_unlock(&loop->lock);
    return any;
}

void ws_loop_stop(ws_loop *loop)
{
    atomic_store(&loop->stop, true);
    uint64_t one = 1;
    (void)!write(loop->wake_fd, &one, sizeof one);
}

static int wait_ms(ws_loop *loop, int timeout_ms)
{
    if (tasks_queued(loop))
        return 0;
    if (loop->timers == 0)
        return timeout_ms;
    uint64_t now = ws_loop_now_ms(), due = loop->heap[0]->due_ms;
    uint64_t until = due > now ? due - now : 0;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < until)
        return timeout_ms;
    return until > 60000 ? 60000 : (int)until;
}

int ws_loop_run_once(ws_loop *loop, int timeout_ms)
{
    int n = epoll_wait(loop->epfd, loop->batch, BATCH, wait_ms(loop, timeout_ms));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    int calls = 0;
    loop->batch_len = n;
    for (int i = 0; i < loop->batch_len; i++) {
        struct epoll_event ev = loop->batch[i];
        if (ev.data.ptr == NULL) {
            uint64_t count;
            (void)!read(loop->wake_fd, &count, sizeof count);
            continue;
        }
        if (ev.events == 0)
            continue; /* unwatched by an earlier callback of this turn */
        ws_watch *w = ev.data.ptr;
        uint32_t ready = ((ev.events & EPOLLIN) ? WS_READABLE : 0u) | ((ev.events & EPOLLOUT) ? WS_WRITABLE : 0u) |
                         ((ev.events & (EPOLLHUP | EPOLLRDHUP)) ? WS_HANGUP : 0u) |
                         ((ev.events & EPOLLERR) ? WS_FAILED : 0u);
        w->on_kick(w, ready);
        calls++;
    }
    loop->batch_len = 0;
    calls += fire_timers(loop);
    calls += run_tasks(loop);
    return calls;
}

int ws_loop_run(ws_loop *loop)
{
    int rc = 0;
    while (!atomic_load(&loop->stop)) {
        rc = ws_loop_run_once(loop, -1);
        if (rc < 0)
            break;
        rc = 0;
    }
    atomic_store(&loop->stop, false);
    return rc;
}
