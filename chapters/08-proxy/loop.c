/*
 * Chapter 08, given: the proxy's event loop. One epoll instance for readiness and one hierarchical timing wheel for
 * deadlines, driven by one thread.
 *
 * **A turn** is: work out how long we may sleep (the earliest timer, capped by the caller), epoll_wait, read the
 * clock once, call the callbacks of the fds that are ready, then advance the wheel to the new now and fire what came
 * due. Readiness is level-triggered, so nothing is lost when a callback leaves data unread: the fd is reported again
 * next turn, which is also why a side that cannot make progress must drop its interest.
 *
 * **Freeing during dispatch.** The events of one turn are fetched into the loop's own array before any callback
 * runs, and each names its px_watch by address. A callback may unwatch (and free) any watch, including one whose
 * event sits later in the array. px_loop_unwatch() therefore scans the rest of this turn's array and clears every
 * entry that names the watch; dispatch skips cleared entries. The array holds at most PX_EVENTS_PER_TURN entries, so
 * the scan is short, and it needs no generation counter in px_watch (whose layout is the contract's).
 *
 * **The timing wheel** (the design of tokio's time driver). Time is counted in 1 ms ticks. Level L has 64 slots, each
 * 64^L ticks wide, so the six levels reach 64^6 ms, about 2.2 years. A timer goes to the level of the highest base-64
 * digit in which its due time differs from `elapsed` (the last tick the wheel has processed), in the slot named by
 * its due time's digit at that level. When a slot of level L > 0 comes due, its timers are put back in the wheel
 * relative to the slot's start: each falls to a lower level (a cascade), and reaches level 0 in the slot of its exact
 * due tick. Only level 0 fires, so a timer never fires early. Each slot is an intrusive singly linked list whose
 * entries keep `pprev`, the address of the pointer that points at them, so unlinking from anywhere is O(1); a 64-bit
 * word per level marks the occupied slots, so the next expiry is found with one rotate and one count of trailing
 * zeros per level.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

enum {
    PX_EVENTS_PER_TURN = 64, /* more ready fds than this wait for the next turn (level-triggered: none is lost) */
    WHEEL_BITS = 6,          /* one base-64 digit of the due time per level */
    WHEEL_SLOTS = 1 << WHEEL_BITS,
    WHEEL_LEVELS = 6,
};

/* Ticks the whole wheel spans: 64^6 ms. A timer further out than this waits in the top level and is re-placed each
 * time its slot comes round (its slot is then named by its due time's digit, which has wrapped). */
#define WHEEL_SPAN (UINT64_C(1) << (WHEEL_BITS * WHEEL_LEVELS))

struct px_loop {
    int epfd;
    bool stopping;
    bool in_turn;                    /* inside px_loop_run_once: a callback must not start a nested turn */
    uint64_t now_ms;                 /* the clock as read at the start of this turn's dispatch; never decreases */
    uint64_t elapsed;                /* the wheel's position: every timer due at or before it has left the wheel */
    uint64_t (*clock_ms)(void *ctx); /* NULL: CLOCK_MONOTONIC */
    void *clock_ctx;
    size_t watches; /* watched px_watch count, for px_loop_counts and destroy's assertion */
    size_t timers;  /* armed px_timer count: in a slot, in `due`, or in `firing` */

    /* This turn's events: `cursor` is the entry being dispatched; entries after it whose watch was unwatched have
     * data.ptr == NULL. nevents is 0 outside dispatch. */
    struct epoll_event events[PX_EVENTS_PER_TURN];
    int nevents;
    int cursor;

    px_timer *slots[WHEEL_LEVELS][WHEEL_SLOTS];
    uint64_t occupied[WHEEL_LEVELS]; /* bit s of occupied[L] set <=> slots[L][s] != NULL */
    px_timer *due;                   /* timers that are due and fire on the next timer pass (in any order) */
    px_timer *firing;                /* the timers this pass is firing; a callback may cancel any of them */
};

/* ---- clock ---- */

uint64_t px_now_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid clock id and a valid pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static uint64_t read_clock(const px_loop *loop)
{
    if (loop->clock_ms != NULL)
        return loop->clock_ms(loop->clock_ctx);
    return px_now_ns() / UINT64_C(1000000);
}

/* Reads the clock for a new turn. A custom clock may step back; the loop's now does not, so due times stay ordered. */
static void update_now(px_loop *loop)
{
    uint64_t t = read_clock(loop);
    if (t > loop->now_ms)
        loop->now_ms = t;
}

uint64_t px_loop_now_ms(const px_loop *loop) { return loop->now_ms; }

/* ---- timer lists ---- */

void px_timer_init(px_timer *t) { memset(t, 0, sizeof *t); }

bool px_timer_armed(const px_timer *t) { return t->pprev != NULL; }

static void list_push(px_timer **head, px_timer *t)
{
    t->next = *head;
    if (t->next != NULL)
        t->next->pprev = &t->next;
    *head = t;
    t->pprev = head;
}

/* Whether @p p points into the wheel's slot array (as opposed to `due`, `firing` or another timer's `next`). Compared
 * as integers: relational comparison of pointers into different objects is undefined in C. */
static bool is_slot(const px_loop *loop, px_timer *const *p)
{
    uintptr_t first = (uintptr_t)&loop->slots[0][0];
    uintptr_t end = (uintptr_t)(&loop->slots[WHEEL_LEVELS - 1][WHEEL_SLOTS - 1] + 1);
    return (uintptr_t)p >= first && (uintptr_t)p < end;
}

/* Takes @p t out of whatever list holds it, in O(1) thanks to pprev. If it was the last timer of a wheel slot, the
 * slot's occupancy bit goes too, so next_expiry never reports an empty slot. */
static void list_unlink(px_loop *loop, px_timer *t)
{
    px_timer **pprev = t->pprev;
    *pprev = t->next;
    if (t->next != NULL)
        t->next->pprev = pprev;
    t->next = NULL;
    t->pprev = NULL;
    if (*pprev == NULL && is_slot(loop, pprev)) {
        size_t index = (size_t)(pprev - &loop->slots[0][0]);
        loop->occupied[index / WHEEL_SLOTS] &= ~(UINT64_C(1) << (index % WHEEL_SLOTS));
    }
}

/* ---- the wheel ---- */

/* The level for a timer due at @p when, seen from the wheel position @p elapsed (when > elapsed): the base-64 digit of
 * the highest bit in which they differ. Anything beyond the span goes to the top level. */
static unsigned level_for(uint64_t elapsed, uint64_t when)
{
    uint64_t masked = (elapsed ^ when) | (WHEEL_SLOTS - 1);
    if (masked >= WHEEL_SPAN)
        masked = WHEEL_SPAN - 1;
    unsigned significant = 63u - (unsigned)__builtin_clzll(masked);
    return significant / WHEEL_BITS;
}

/* Files an armed timer: in `due` when the wheel has passed its time already, else in its slot. */
static void wheel_insert(px_loop *loop, px_timer *t)
{
    if (t->due_ms <= loop->elapsed) {
        list_push(&loop->due, t);
        return;
    }
    unsigned level = level_for(loop->elapsed, t->due_ms);
    unsigned slot = (unsigned)(t->due_ms >> (level * WHEEL_BITS)) % WHEEL_SLOTS;
    list_push(&loop->slots[level][slot], t);
    loop->occupied[level] |= UINT64_C(1) << slot;
}

struct expiry {
    unsigned level, slot;
    uint64_t deadline; /* the first tick of the slot: no timer in it is due earlier */
};

/* The occupied slot that comes due first, if any. A slot of a lower level always comes before any slot of a higher
 * one (a level-L timer shares with `elapsed` every digit above L, a level-(L+1) timer does not), so the first level
 * with an occupied slot answers. Within a level, slots are searched from the current digit onwards, wrapping round. */
static bool next_expiry(const px_loop *loop, struct expiry *out)
{
    for (unsigned level = 0; level < WHEEL_LEVELS; level++) {
        uint64_t occupied = loop->occupied[level];
        if (occupied == 0)
            continue;
        unsigned shift = level * WHEEL_BITS;
        uint64_t slot_range = UINT64_C(1) << shift;
        uint64_t level_range = slot_range << WHEEL_BITS;
        unsigned now_slot = (unsigned)(loop->elapsed >> shift) % WHEEL_SLOTS;
        /* Rotate so that bit 0 is the current slot; a rotate by 0 must not shift by 64 (undefined). */
        uint64_t rotated = now_slot == 0 ? occupied : (occupied >> now_slot) | (occupied << (64 - now_slot));
        unsigned slot = ((unsigned)__builtin_ctzll(rotated) + now_slot) % WHEEL_SLOTS;
        uint64_t deadline = (loop->elapsed & ~(level_range - 1)) + slot * slot_range;
        /* Only the top level can hold a slot behind the current digit: timers past the span, in the next round. */
        if (deadline <= loop->elapsed)
            deadline += level_range;
        *out = (struct expiry){.level = level, .slot = slot, .deadline = deadline};
        return true;
    }
    return false;
}

/* Empties one slot that has come due: the wheel moves to its first tick, and each of its timers is filed again from
 * there, into `due` if its time has come or into a lower level (a cascade) if not. */
static void wheel_process(px_loop *loop, const struct expiry *e)
{
    px_timer *list = loop->slots[e->level][e->slot];
    loop->slots[e->level][e->slot] = NULL;
    loop->occupied[e->level] &= ~(UINT64_C(1) << e->slot);
    loop->elapsed = e->deadline;
    while (list != NULL) {
        px_timer *t = list;
        list = t->next;
        wheel_insert(loop, t);
    }
}

/* Moves the wheel to @p now: every slot that comes due on the way is processed, in order, so every timer due at or
 * before now ends up in `due`. Slots whose deadline is later are left alone. */
static void wheel_advance(px_loop *loop, uint64_t now)
{
    struct expiry e;
    while (next_expiry(loop, &e) && e.deadline <= now)
        wheel_process(loop, &e);
    if (now > loop->elapsed)
        loop->elapsed = now;
}

/* Fires the timers in `due`. They move to `firing` first, so a callback that arms a timer (itself included) for now
 * puts it in `due`, which fires on the next pass: a timer that re-arms itself for 0 ms cannot spin inside one turn.
 * A callback may cancel any timer still in `firing`; it is unlinked there like anywhere else. */
static int fire_due(px_loop *loop)
{
    int fired = 0;
    loop->firing = loop->due;
    loop->due = NULL;
    if (loop->firing != NULL)
        loop->firing->pprev = &loop->firing;
    while (loop->firing != NULL) {
        px_timer *t = loop->firing;
        list_unlink(loop, t);
        loop->timers--;
        t->fn(t); /* last use of t: the callback may free it or arm it again */
        fired++;
    }
    return fired;
}

int px_loop_timer_start(px_loop *loop, px_timer *t, uint64_t delay_ms, px_timer_fn *fn)
{
    if (px_timer_armed(t))
        return -EEXIST;
    t->due_ms = delay_ms > UINT64_MAX - loop->now_ms ? UINT64_MAX : loop->now_ms + delay_ms;
    t->fn = fn;
    wheel_insert(loop, t);
    loop->timers++;
    return 0;
}

void px_loop_timer_cancel(px_loop *loop, px_timer *t)
{
    if (!px_timer_armed(t))
        return;
    list_unlink(loop, t);
    loop->timers--;
}

/* How long this turn may sleep: not at all when timers are due, else until the earliest slot's deadline, never more
 * than the caller's cap. The deadline of a higher level's slot is its first tick, so we may wake early to cascade,
 * never late. The result is epoll_wait's timeout: -1 (no bound) only when nothing is armed and the cap is huge. */
static int wait_timeout(const px_loop *loop, uint64_t max_wait_ms)
{
    uint64_t wait = max_wait_ms;
    struct expiry e;
    if (loop->due != NULL)
        wait = 0;
    else if (next_expiry(loop, &e)) {
        uint64_t until = e.deadline > loop->now_ms ? e.deadline - loop->now_ms : 0;
        if (until < wait)
            wait = until;
    }
    if (wait > (uint64_t)INT_MAX)
        return loop->timers == 0 ? -1 : INT_MAX;
    return (int)wait;
}

/* ---- readiness ---- */

static uint32_t epoll_bits(uint32_t interest)
{
    return ((interest & PX_READABLE) ? EPOLLIN | EPOLLRDHUP : 0u) | ((interest & PX_WRITABLE) ? EPOLLOUT : 0u);
}

static uint32_t ready_bits(uint32_t events)
{
    uint32_t ready = 0;
    if (events & EPOLLIN)
        ready |= PX_READABLE;
    if (events & EPOLLOUT)
        ready |= PX_WRITABLE;
    if (events & (EPOLLHUP | EPOLLRDHUP))
        ready |= PX_HANGUP;
    if (events & EPOLLERR)
        ready |= PX_FAILED;
    return ready;
}

/* One epoll_ctl call; a watch with no interest is kept out of the kernel's set altogether, because epoll reports
 * EPOLLHUP and EPOLLERR even for an empty event mask, and level-triggered that would spin the loop. */
static int ctl(px_loop *loop, int op, int fd, uint32_t interest, px_watch *w)
{
    struct epoll_event ev = {.events = epoll_bits(interest), .data.ptr = w};
    return epoll_ctl(loop->epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

/* A watch is watched while it has a callback: a zeroed px_watch is not, and unwatch clears the callback. */
static bool watched(const px_watch *w) { return w->on_ready != NULL && w->fd >= 0; }

int px_loop_watch(px_loop *loop, px_watch *w, int fd, uint32_t interest, px_watch_fn *on_ready)
{
    if (watched(w))
        return -EEXIST;
    if (on_ready == NULL)
        return -EINVAL;
    interest &= PX_READABLE | PX_WRITABLE;
    int rc = ctl(loop, EPOLL_CTL_ADD, fd, interest, w);
    if (rc != 0)
        return rc;
    if (interest == 0) /* added only to check the fd, as the contract promises epoll_ctl's verdict */
        (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->fd = fd;
    w->interest = interest;
    w->on_ready = on_ready;
    loop->watches++;
    return 0;
}

int px_loop_modify(px_loop *loop, px_watch *w, uint32_t interest)
{
    if (!watched(w))
        return -ENOENT;
    interest &= PX_READABLE | PX_WRITABLE;
    if (interest == w->interest)
        return 0;
    int rc;
    if (w->interest == 0)
        rc = ctl(loop, EPOLL_CTL_ADD, w->fd, interest, w);
    else if (interest == 0)
        rc = ctl(loop, EPOLL_CTL_DEL, w->fd, 0, w);
    else
        rc = ctl(loop, EPOLL_CTL_MOD, w->fd, interest, w);
    if (rc == 0)
        w->interest = interest;
    return rc;
}

void px_loop_unwatch(px_loop *loop, px_watch *w)
{
    if (!watched(w))
        return;
    if (w->interest != 0)
        (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    /* Events of this turn not yet dispatched may name w: clear them, so w can be freed on return. */
    for (int i = loop->cursor + 1; i < loop->nevents; i++)
        if (loop->events[i].data.ptr == w)
            loop->events[i].data.ptr = NULL;
    w->fd = -1;
    w->interest = 0;
    w->on_ready = NULL;
    loop->watches--;
}

/* Calls the callback of every event fetched this turn whose watch is still watched, with only the bits it still asks
 * for (an earlier callback of this turn may have changed its interest; a watch with none is silent). */
static int dispatch(px_loop *loop)
{
    int called = 0;
    for (loop->cursor = 0; loop->cursor < loop->nevents; loop->cursor++) {
        px_watch *w = loop->events[loop->cursor].data.ptr;
        if (w == NULL || w->interest == 0)
            continue;
        uint32_t ready = ready_bits(loop->events[loop->cursor].events);
        ready &= w->interest | PX_HANGUP | PX_FAILED;
        if (ready == 0)
            continue;
        w->on_ready(w, ready);
        called++;
    }
    loop->nevents = 0;
    loop->cursor = 0;
    return called;
}

/* ---- the loop ---- */

int px_loop_create(px_loop **out)
{
    *out = NULL;
    px_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int err = -errno;
        free(loop);
        return err;
    }
    update_now(loop);
    loop->elapsed = loop->now_ms;
    *out = loop;
    return 0;
}

void px_loop_destroy(px_loop *loop)
{
    if (loop == NULL)
        return;
    /* A watch or timer left behind would point into freed memory on its owner's next call: a use after free. */
    assert(loop->watches == 0 && "px_loop_destroy: an fd is still watched");
    assert(loop->timers == 0 && "px_loop_destroy: a timer is still armed");
    close(loop->epfd);
    free(loop);
}

void px_loop_set_clock(px_loop *loop, uint64_t (*clock_ms)(void *ctx), void *ctx)
{
    /* Armed timers are filed by due times on the old clock; moving them to another clock has no meaning. */
    assert(loop->timers == 0 && "px_loop_set_clock: timers are armed");
    loop->clock_ms = clock_ms;
    loop->clock_ctx = ctx;
    loop->now_ms = read_clock(loop);
    loop->elapsed = loop->now_ms;
}

int px_loop_run_once(px_loop *loop, uint64_t max_wait_ms)
{
    /* A nested turn would overwrite the events and the firing list the outer one is walking. */
    assert(!loop->in_turn && "px_loop_run_once: called from a callback");
    int n = epoll_wait(loop->epfd, loop->events, PX_EVENTS_PER_TURN, wait_timeout(loop, max_wait_ms));
    if (n < 0 && errno != EINTR)
        return -errno;
    loop->in_turn = true;
    update_now(loop);
    loop->nevents = n > 0 ? n : 0;
    int called = dispatch(loop);
    wheel_advance(loop, loop->now_ms);
    called += fire_due(loop);
    loop->in_turn = false;
    return called;
}

/* Like uv_run: a stop that came before the call makes it return at once, and the flag is cleared on the way out. */
int px_loop_run(px_loop *loop)
{
    int rc = 0;
    while (!loop->stopping) {
        rc = px_loop_run_once(loop, UINT64_MAX);
        if (rc < 0)
            break;
        rc = 0;
    }
    loop->stopping = false;
    return rc;
}

void px_loop_stop(px_loop *loop) { loop->stopping = true; }

void px_loop_counts(const px_loop *loop, size_t *watches, size_t *timers)
{
    if (watches != NULL)
        *watches = loop->watches;
    if (timers != NULL)
        *timers = loop->timers;
}
