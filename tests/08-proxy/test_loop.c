/*
 * Chapter 08, the given loop (loop.c): readiness, unwatching during dispatch, and the timing wheel. The loop is not
 * the student's to write, so these tests are worth no points (they pass before any of yours is written): they prove
 * the code every other part runs on, and `make selftest` runs them with the rest.
 *
 * The timer tests set a clock of their own (px_loop_set_clock) and move it by hand, hours at a time, so the wheel's
 * upper levels and their cascades are exercised without waiting; only the two tests about how long a turn sleeps
 * use the real clock.
 */
#define _GNU_SOURCE
#include "loop.h"

#include "ferrite_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

FT_PART(1, "L4 forwarding: the loop, non-blocking connect, splice and copy relays");

/* ---- helpers ---- */

static px_loop *loop_new(void)
{
    px_loop *loop = NULL;
    ck_assert_int_eq(px_loop_create(&loop), 0);
    return loop;
}

/* Destroys @p loop after checking that the test left nothing watched or armed. */
static void loop_free(px_loop *loop)
{
    size_t watches = 99, timers = 99;
    px_loop_counts(loop, &watches, &timers);
    ck_assert_uint_eq(watches, 0);
    ck_assert_uint_eq(timers, 0);
    px_loop_destroy(loop);
}

static void socket_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static uint64_t fake_now(void *ctx) { return *(const uint64_t *)ctx; }

/* A loop on a clock the test moves by hand, starting at @p *clock. */
static px_loop *loop_on_clock(uint64_t *clock)
{
    px_loop *loop = loop_new();
    px_loop_set_clock(loop, fake_now, clock);
    ck_assert_uint_eq(px_loop_now_ms(loop), *clock);
    return loop;
}

/* Deterministic random numbers (xorshift64*), so a failure replays exactly. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * UINT64_C(2685821657736338717);
}

/* ---- readiness ---- */

typedef struct probe {
    px_watch watch;
    int calls;
    uint32_t last;
} probe;

static void probe_ready(px_watch *w, uint32_t ready)
{
    probe *p = PX_CONTAINER_OF(w, probe, watch);
    p->calls++;
    p->last = ready;
}

/* Runs one turn that must not block and returns the readiness @p p was told (0 when its callback did not run). */
static uint32_t turn_for(px_loop *loop, probe *p)
{
    p->calls = 0;
    p->last = 0;
    int ran = px_loop_run_once(loop, 0);
    ck_assert_int_eq(ran, p->calls);
    ck_assert_int_le(p->calls, 1);
    return p->last;
}

FT_TEST(1, loop_reports_readiness_level_triggered_and_honours_interest, 0,
        "The loop maps interest to EPOLLIN|EPOLLRDHUP / EPOLLOUT and events back to PX_READABLE / PX_WRITABLE / "
        "PX_HANGUP; it is level-triggered (unread data is reported every turn) and interest 0 keeps a watch silent.")
{
    int sv[2];
    socket_pair(sv);
    px_loop *loop = loop_new();
    probe p = {.watch = {.fd = -1}};
    ck_assert_int_eq(px_loop_watch(loop, &p.watch, sv[0], PX_READABLE, probe_ready), 0);
    ck_assert_int_eq(p.watch.fd, sv[0]);
    ck_assert_int_eq(px_loop_watch(loop, &p.watch, sv[0], PX_READABLE, probe_ready), -EEXIST);
    ck_assert_uint_eq(turn_for(loop, &p), 0); /* nothing to read yet */

    ck_assert_int_eq(write(sv[1], "ping", 4), 4);
    ck_assert_uint_eq(turn_for(loop, &p), PX_READABLE);
    ck_assert_uint_eq(turn_for(loop, &p), PX_READABLE); /* still unread: reported again */

    ck_assert_int_eq(px_loop_modify(loop, &p.watch, 0), 0); /* backpressure: silent though readable */
    ck_assert_uint_eq(turn_for(loop, &p), 0);
    ck_assert_int_eq(px_loop_modify(loop, &p.watch, PX_WRITABLE), 0);
    ck_assert_uint_eq(turn_for(loop, &p), PX_WRITABLE);
    ck_assert_int_eq(px_loop_modify(loop, &p.watch, PX_READABLE | PX_WRITABLE), 0);
    ck_assert_uint_eq(turn_for(loop, &p), PX_READABLE | PX_WRITABLE);

    char buf[8];
    ck_assert_int_eq(read(sv[0], buf, sizeof buf), 4);
    ck_assert_int_eq(px_loop_modify(loop, &p.watch, PX_READABLE), 0);
    ck_assert_uint_eq(turn_for(loop, &p), 0); /* drained */

    close(sv[1]); /* the peer hangs up: end of file is readable, and a hang-up */
    ck_assert_uint_eq(turn_for(loop, &p), PX_READABLE | PX_HANGUP);
    ck_assert_int_eq(px_loop_modify(loop, &p.watch, 0), 0); /* a hung-up fd with no interest must not spin */
    ck_assert_uint_eq(turn_for(loop, &p), 0);

    size_t watches = 0;
    px_loop_counts(loop, &watches, NULL);
    ck_assert_uint_eq(watches, 1);
    px_loop_unwatch(loop, &p.watch);
    ck_assert_int_eq(p.watch.fd, -1);
    px_loop_unwatch(loop, &p.watch); /* a no-op the second time */
    ck_assert_int_eq(px_loop_modify(loop, &p.watch, PX_READABLE), -ENOENT);
    close(sv[0]);
    loop_free(loop);
}

FT_TEST(1, loop_watch_reports_epoll_errors, 0,
        "px_loop_watch returns epoll_ctl's error as a negative errno and leaves the watch unwatched: -EBADF for a "
        "closed fd, -EPERM for a regular file (epoll cannot poll one).")
{
    px_loop *loop = loop_new();
    probe p = {.watch = {.fd = -1}};
    ck_assert_int_eq(px_loop_watch(loop, &p.watch, -1, PX_READABLE, probe_ready), -EBADF);
    FILE *file = tmpfile(); /* a regular file */
    ck_assert_ptr_ne(file, NULL);
    ck_assert_int_eq(px_loop_watch(loop, &p.watch, fileno(file), PX_READABLE, probe_ready), -EPERM);
    ck_assert_int_eq(px_loop_watch(loop, &p.watch, fileno(file), 0, probe_ready), -EPERM); /* checked though silent */
    fclose(file);
    loop_free(loop);
}

/* Two heap-allocated watches, both readable in the same turn: whichever runs first unwatches and frees both, or
 * (silence) takes away the other's interest. */
typedef struct pair_watch {
    px_watch watch;
    struct pair_watch **self, **other; /* where the test keeps the watches, cleared when they are freed */
    px_loop *loop;
    int *calls;
    bool silence;
} pair_watch;

static void free_watch(px_loop *loop, pair_watch **slot)
{
    if (*slot == NULL)
        return;
    px_loop_unwatch(loop, &(*slot)->watch);
    free(*slot);
    *slot = NULL;
}

static void pair_ready(px_watch *w, uint32_t ready)
{
    pair_watch *me = PX_CONTAINER_OF(w, pair_watch, watch);
    ck_assert(ready & PX_READABLE);
    (*me->calls)++;
    px_loop *loop = me->loop;
    pair_watch **self = me->self;
    if (me->silence) { /* the other's event of this turn, already fetched, must not be delivered */
        ck_assert_int_eq(px_loop_modify(loop, &(*me->other)->watch, 0), 0);
        return;
    }
    free_watch(loop, me->other); /* its event of this turn, already fetched, must be dropped */
    free_watch(loop, self);      /* and this one's memory goes too: the loop must not touch it after we return */
}

FT_TEST(1, unwatch_and_free_from_a_callback_drops_the_events_of_this_turn, 0,
        "Events are fetched for a whole turn before any callback runs: px_loop_unwatch must drop the events already "
        "fetched for the watch, or the loop calls into freed memory (Valgrind / ASan report a use after free); a "
        "watch whose interest a callback set to 0 is silent from that moment.")
{
    for (int silence = 0; silence <= 1; silence++) {
        int a[2], b[2];
        socket_pair(a);
        socket_pair(b);
        px_loop *loop = loop_new();
        int calls = 0;
        pair_watch *first = malloc(sizeof *first), *second = malloc(sizeof *second);
        ck_assert(first != NULL && second != NULL);
        *first = (pair_watch){{.fd = -1}, &first, &second, loop, &calls, silence};
        *second = (pair_watch){{.fd = -1}, &second, &first, loop, &calls, silence};
        ck_assert_int_eq(px_loop_watch(loop, &first->watch, a[0], PX_READABLE, pair_ready), 0);
        ck_assert_int_eq(px_loop_watch(loop, &second->watch, b[0], PX_READABLE, pair_ready), 0);
        ck_assert_int_eq(write(a[1], "x", 1), 1);
        ck_assert_int_eq(write(b[1], "y", 1), 1);

        ck_assert_int_eq(px_loop_run_once(loop, 1000), 1); /* both were ready; only the first callback may run */
        ck_assert_int_eq(calls, 1);
        ck_assert(silence || (first == NULL && second == NULL));
        free_watch(loop, &first);
        free_watch(loop, &second);
        for (int i = 0; i < 2; i++) {
            close(a[i]);
            close(b[i]);
        }
        loop_free(loop);
    }
}

/* ---- timers ---- */

typedef struct clocked_timer {
    px_timer timer;
    uint64_t due;        /* when the test expects it */
    int fired;           /* how many times it fired */
    px_loop *loop;       /* for the callbacks that act on the loop */
    uint64_t *last;      /* the loop's now at the previous turn, to prove the timer was not late */
    px_timer *cancel[2]; /* cancel_others: the timers it cancels */
    uint64_t delay;      /* rearm: the delay of each re-arm, */
    int rearms;          /* and how many more times */
} clocked_timer;

/* Checks one firing. The passing path avoids Check's assertions: each records a mark point, a write per call, and
 * ten thousand firings under Valgrind would spend seconds on them. */
static void record_fire(px_timer *t)
{
    clocked_timer *c = PX_CONTAINER_OF(t, clocked_timer, timer);
    uintmax_t now = px_loop_now_ms(c->loop), due = c->due;
    if (px_timer_armed(t))
        ck_abort_msg("a timer is still armed inside its own callback: it must be disarmed before the call");
    if (t->due_ms != due)
        ck_abort_msg("due_ms is %ju, expected %ju", (uintmax_t)t->due_ms, due);
    if (due > now)
        ck_abort_msg("a timer due at %ju fired early, at %ju", due, now);
    if (due <= *c->last)
        ck_abort_msg("a timer due at %ju fired late, at %ju: it was due at the turn before (%ju)", due, now,
                     (uintmax_t)*c->last);
    c->fired++;
}

/* One turn that does not block; fails the test on an error. */
static int turn(px_loop *loop)
{
    int ran = px_loop_run_once(loop, 0);
    if (ran < 0)
        ck_abort_msg("px_loop_run_once(loop, 0) returned %d", ran);
    return ran;
}

enum { MANY_TIMERS = 10000 };

FT_TEST(1, ten_thousand_timers_up_to_hours_ahead_fire_once_each_in_due_order, 0,
        "The timing wheel: a timer lives in the level of the highest base-64 digit in which its due time differs "
        "from the wheel's, and cascades down as its slot comes due; only level 0 fires, so never early, and every "
        "slot that came due by now is processed in the same turn, so never late.")
{
    uint64_t clock = UINT64_C(1) << 40, last = 0, seed = 0x9e3779b97f4a7c15u;
    px_loop *loop = loop_on_clock(&clock);
    clocked_timer *timers = calloc(MANY_TIMERS, sizeof *timers);
    ck_assert_ptr_ne(timers, NULL);
    const uint64_t hours = UINT64_C(6) * 3600 * 1000;
    for (int i = 0; i < MANY_TIMERS; i++) {
        uint64_t r = next_random(&seed);
        /* Half spread over six hours, half within a few seconds, where the lower levels are crowded. */
        uint64_t delay = (r & 1) ? (r >> 1) % hours : (r >> 1) % 5000;
        timers[i] = (clocked_timer){.due = clock + delay, .loop = loop, .last = &last};
        if (px_loop_timer_start(loop, &timers[i].timer, delay, record_fire) != 0)
            ck_abort_msg("px_loop_timer_start failed on a fresh timer");
    }
    int cancelled = 0; /* every seventh, from the middle of crowded slots: cancel is O(1) anywhere in a list */
    for (int i = 3; i < MANY_TIMERS; i += 7, cancelled++) {
        px_loop_timer_cancel(loop, &timers[i].timer);
        timers[i].fired = 1; /* counted as done; a firing would make it 2 */
    }
    size_t armed = 0;
    px_loop_counts(loop, NULL, &armed);
    ck_assert_uint_eq(armed, MANY_TIMERS - cancelled);

    /* Steps from 1 ms to about 17 minutes, mostly short ones, until past the last due time. */
    int fired = 0;
    last = clock - 1;
    const uint64_t end = clock + hours;
    while (clock <= end) {
        uint64_t r = next_random(&seed);
        clock += 1 + (r >> 8) % (UINT64_C(1) << (r % 21));
        fired += turn(loop);
        last = clock;
    }
    ck_assert_int_eq(fired, MANY_TIMERS - cancelled);
    int not_once = 0;
    for (int i = 0; i < MANY_TIMERS; i++)
        not_once += timers[i].fired != 1;
    ck_assert_int_eq(not_once, 0);
    free(timers);
    loop_free(loop);
}

FT_TEST(1, timers_beyond_the_wheels_span_wait_for_their_round, 0,
        "Six levels of 64 slots cover 64^6 ms (about 2.2 years); a timer further out waits in the top level and is "
        "filed again each time its slot comes round, never fired on the wrong round.")
{
    uint64_t clock = 5, last = 0;
    px_loop *loop = loop_on_clock(&clock);
    const uint64_t day = UINT64_C(24) * 3600 * 1000, span = UINT64_C(1) << 36;
    const uint64_t delays[] = {span - 1, span, span + 1, 2 * span + 12345, 5 * 365 * day};
    enum { N = sizeof delays / sizeof delays[0] };
    clocked_timer timers[N];
    for (int i = 0; i < N; i++) {
        timers[i] = (clocked_timer){.due = clock + delays[i], .loop = loop, .last = &last};
        ck_assert_int_eq(px_loop_timer_start(loop, &timers[i].timer, delays[i], record_fire), 0);
    }
    int fired = 0;
    last = clock - 1;
    while (fired < N && clock < 6 * 365 * day) {
        clock += day / 3 + 7; /* steps that fall across slot boundaries at every level */
        fired += turn(loop);
        last = clock;
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(timers[i].fired, 1);
    loop_free(loop);
}

static void cancel_others(px_timer *t)
{
    record_fire(t);
    clocked_timer *c = PX_CONTAINER_OF(t, clocked_timer, timer);
    for (int i = 0; i < 2; i++)
        px_loop_timer_cancel(c->loop, c->cancel[i]);
}

FT_TEST(1, a_timer_cancelled_from_another_timers_callback_never_fires, 0,
        "Cancelling unlinks the timer through its pprev in O(1), from a wheel slot or from the list of timers being "
        "fired this turn: a timer cancelled by another's callback must not fire, even when both were due together.")
{
    uint64_t clock = 1000, last = 999;
    px_loop *loop = loop_on_clock(&clock);
    /* Two timers due in the same ms: whichever fires first cancels the other, and a third due hours later. */
    clocked_timer a = {.due = 1010, .loop = loop, .last = &last}, b = a;
    clocked_timer later = {.due = 1000 + 3 * 3600 * 1000, .loop = loop, .last = &last};
    a.cancel[0] = b.cancel[1] = &later.timer;
    a.cancel[1] = &b.timer;
    b.cancel[0] = &a.timer;
    ck_assert_int_eq(px_loop_timer_start(loop, &a.timer, 10, cancel_others), 0);
    ck_assert_int_eq(px_loop_timer_start(loop, &b.timer, 10, cancel_others), 0);
    ck_assert_int_eq(px_loop_timer_start(loop, &later.timer, later.due - clock, record_fire), 0);

    clock = 1010;
    ck_assert_int_eq(px_loop_run_once(loop, 0), 1);
    ck_assert_int_eq(a.fired + b.fired, 1);
    ck_assert(!px_timer_armed(&later.timer));
    last = clock;
    clock = later.due + 1;
    ck_assert_int_eq(px_loop_run_once(loop, 0), 0);
    ck_assert_int_eq(later.fired, 0);
    px_loop_timer_cancel(loop, &later.timer); /* a no-op: it is not armed */
    loop_free(loop);
}

/* Arms the timer again, `rearms` more times, `delay` ms each. */
static void rearm(px_timer *t)
{
    record_fire(t);
    clocked_timer *c = PX_CONTAINER_OF(t, clocked_timer, timer);
    if (c->rearms-- > 0) {
        ck_assert_int_eq(px_loop_timer_start(c->loop, t, c->delay, rearm), 0);
        c->due = px_loop_now_ms(c->loop) + c->delay;
    }
}

FT_TEST(1, a_timer_rearmed_from_its_own_callback_fires_again, 0,
        "A timer is disarmed before its callback runs, so the callback may arm it again; a re-arm for 0 ms fires on "
        "the next turn, not again in this one (the turn fires only the timers that were due when it started firing).")
{
    uint64_t clock = 70, last = 69;
    px_loop *loop = loop_on_clock(&clock);
    clocked_timer r = {.due = 170, .loop = loop, .last = &last, .delay = 100, .rearms = 3};
    ck_assert_int_eq(px_loop_timer_start(loop, &r.timer, 100, rearm), 0);
    for (int step = 1; step <= 400; step++) { /* 1 ms per turn: 170, 270, 370, 470 */
        clock++;
        (void)turn(loop);
        last = clock;
    }
    ck_assert_int_eq(r.fired, 4);
    ck_assert(!px_timer_armed(&r.timer));

    clocked_timer now = {.due = clock, .loop = loop, .last = &last, .delay = 0, .rearms = 2};
    last = clock - 1;
    ck_assert_int_eq(px_loop_timer_start(loop, &now.timer, 0, rearm), 0);
    for (int turn = 1; turn <= 3; turn++) { /* the clock stands still: one firing per turn, not a spin */
        ck_assert_int_eq(px_loop_run_once(loop, 0), 1);
        ck_assert_int_eq(now.fired, turn);
        last = clock - 1; /* due again at the same ms */
    }
    ck_assert_int_eq(px_loop_run_once(loop, 0), 0);
    loop_free(loop);
}

static void count_fire(px_timer *t)
{
    clocked_timer *c = PX_CONTAINER_OF(t, clocked_timer, timer);
    c->fired++;
}

FT_TEST(1, a_zero_delay_timer_fires_on_the_next_turn_not_inside_start, 0,
        "px_loop_timer_start only files the timer: calling its callback from inside start would run the owner's "
        "code while the owner is still setting up (a re-entrancy bug); a 0 ms timer fires on the loop's next turn.")
{
    px_loop *loop = loop_new();
    clocked_timer c = {.loop = loop};
    ck_assert(!px_timer_armed(&c.timer));
    ck_assert_int_eq(px_loop_timer_start(loop, &c.timer, 0, count_fire), 0);
    ck_assert_int_eq(c.fired, 0);
    ck_assert(px_timer_armed(&c.timer));
    ck_assert_int_eq(px_loop_timer_start(loop, &c.timer, 5, count_fire), -EEXIST);
    ck_assert_int_eq(px_loop_run_once(loop, 0), 1);
    ck_assert_int_eq(c.fired, 1);
    ck_assert(!px_timer_armed(&c.timer));
    px_timer_init(&c.timer);
    ck_assert(!px_timer_armed(&c.timer));
    loop_free(loop);
}

static uint64_t elapsed_ms_since(uint64_t start_ns) { return (px_now_ns() - start_ns) / 1000000u; }

FT_TEST(1, run_once_sleeps_until_the_next_timer_and_no_longer, 0,
        "run_once computes epoll_wait's timeout from the earliest occupied slot (capped by max_wait_ms): a loop that "
        "ignores its timers sleeps the whole cap, and one that fires a timer before its due time breaks deadlines.")
{
    uint64_t start = px_now_ns(); /* before the loop reads its clock, so the 40 ms are measured from no later */
    px_loop *loop = loop_new();
    clocked_timer c = {.loop = loop};
    ck_assert_int_eq(px_loop_timer_start(loop, &c.timer, 40, count_fire), 0);
    uint64_t due = c.timer.due_ms;
    for (int turns = 0; c.fired == 0; turns++) {
        ck_assert_int_lt(turns, 100); /* each turn sleeps until a slot's deadline: a few turns, not a spin */
        ck_assert_int_ge(px_loop_run_once(loop, 60 * 1000), 0);
        ck_assert_uint_lt(elapsed_ms_since(start), 2000); /* far below the 60 s cap, even on a loaded machine */
    }
    ck_assert_uint_ge(px_loop_now_ms(loop), due);
    ck_assert_uint_ge(elapsed_ms_since(start), 39); /* the ms clock rounds down: at most 1 ms of it is rounding */

    uint64_t clock = 7; /* a paused clock: the timer is an hour away on it, the cap still holds in real time */
    px_loop_set_clock(loop, fake_now, &clock);
    ck_assert_int_eq(px_loop_timer_start(loop, &c.timer, 3600 * 1000, count_fire), 0);
    start = px_now_ns();
    ck_assert_int_eq(px_loop_run_once(loop, 20), 0);
    ck_assert_uint_lt(elapsed_ms_since(start), 2000);
    clock += 3600 * 1000;
    ck_assert_int_eq(px_loop_run_once(loop, 20), 1);
    ck_assert_int_eq(c.fired, 2);
    px_loop_set_clock(loop, NULL, NULL);
    loop_free(loop);
}

FT_TIMEOUT(run_once_sleeps_until_the_next_timer_and_no_longer, 10); /* real sleeps: slack for a loaded machine */

static void stop_loop(px_timer *t)
{
    clocked_timer *c = PX_CONTAINER_OF(t, clocked_timer, timer);
    c->fired++;
    px_loop_stop(c->loop);
}

FT_TEST(1, run_returns_after_a_callback_stops_the_loop, 0,
        "px_loop_run turns until px_loop_stop is called, then returns 0 after the current turn; a stop from a "
        "callback must not be lost, and the next run starts afresh.")
{
    px_loop *loop = loop_new();
    clocked_timer c = {.loop = loop};
    for (int round = 1; round <= 2; round++) {
        ck_assert_int_eq(px_loop_timer_start(loop, &c.timer, 5, stop_loop), 0);
        ck_assert_int_eq(px_loop_run(loop), 0);
        ck_assert_int_eq(c.fired, round);
    }
    loop_free(loop);
}
