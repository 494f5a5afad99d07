/*
 * Part 1: the bounded MPMC channel. Blocking, non-blocking and timed sends and receives, close semantics, batch
 * receives, destruction, and many producers with many consumers. The tests that force the rules of condition
 * variables to matter are in test_wakeups.c.
 */
#include "support.h"

#include <stdlib.h>

FT_PART(1, "bounded MPMC channel");

FT_TEST(1, init_rejects_zero_capacity_and_zero_size, 1,
        "A channel of capacity 0 could never accept a send, and elements of 0 bytes carry nothing: both are "
        "WP_ERR_INVAL, checked before anything is allocated.")
{
    wp_chan ch;
    ck_assert_int_eq(wp_chan_init(&ch, 0, sizeof(int), NULL), WP_ERR_INVAL);
    ck_assert_int_eq(wp_chan_init(&ch, 4, 0, NULL), WP_ERR_INVAL);
    ck_assert_int_eq(wp_chan_init(&ch, 1, sizeof(int), NULL), WP_OK);
    ck_assert_uint_eq(wp_chan_len(&ch), 0);
    wp_chan_destroy(&ch);
}

FT_TEST(1, elements_come_out_in_send_order_across_the_ring_wrap, 2,
        "The ring is FIFO: write at (head + len) % cap, read at head, advance head modulo cap. Forgetting the "
        "modulo shows up only once head wraps past the end.")
{
    wp_chan ch = chan_make(3);
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 10; round++) {
        chan_send_ok(&ch, next_in++);
        chan_send_ok(&ch, next_in++);
        ck_assert_uint_eq(wp_chan_len(&ch), 2);
        ck_assert_int_eq(chan_recv_ok(&ch), next_out++);
        ck_assert_int_eq(chan_recv_ok(&ch), next_out++);
    }
    wp_chan_destroy(&ch);
}

FT_TEST(1, try_send_on_a_full_channel_reports_full, 1,
        "try_send never waits: with len == cap it returns WP_ERR_FULL and changes nothing (Rust: "
        "TrySendError::Full hands the value back). The elements already inside must be intact, and the lock "
        "free again: every way out of a locked section, an error return too, goes through the unlock.")
{
    wp_chan ch = chan_make(2);
    chan_send_ok(&ch, 1);
    chan_send_ok(&ch, 2);
    int v = 3;
    ck_assert_int_eq(wp_chan_try_send(&ch, &v), WP_ERR_FULL);
    ck_assert_uint_eq(wp_chan_len(&ch), 2);
    ck_assert_int_eq(chan_recv_ok(&ch), 1);
    ck_assert_int_eq(chan_recv_ok(&ch), 2);
    wp_chan_destroy(&ch);
}

FT_TEST(1, try_recv_on_an_empty_open_channel_reports_empty, 1,
        "try_recv never waits: an open, empty channel is WP_ERR_EMPTY (TryRecvError::Empty), and *out is "
        "left alone.")
{
    wp_chan ch = chan_make(2);
    int v = 77;
    ck_assert_int_eq(wp_chan_try_recv(&ch, &v), WP_ERR_EMPTY);
    ck_assert_int_eq(v, 77);
    wp_chan_destroy(&ch);
}

FT_TEST(1, timed_send_and_recv_give_up_in_time, 1,
        "recv_timeout on an empty channel and send_timeout on a full one return WP_ERR_TIMEOUT after about the "
        "timeout: compute an absolute CLOCK_MONOTONIC deadline once, then loop on pthread_cond_timedwait until "
        "the predicate holds or it returns ETIMEDOUT.")
{
    wp_chan ch = chan_make(1);
    int v = 0;
    double t0 = now_ms();
    ck_assert_int_eq(wp_chan_recv_timeout(&ch, &v, 60), WP_ERR_TIMEOUT);
    double waited = now_ms() - t0;
    ck_assert_msg(waited >= 50 && waited < LONG_MS, "recv_timeout(60 ms) returned after %.0f ms", waited);
    chan_send_ok(&ch, 5);
    t0 = now_ms();
    ck_assert_int_eq(wp_chan_send_timeout(&ch, &v, 60), WP_ERR_TIMEOUT);
    waited = now_ms() - t0;
    ck_assert_msg(waited >= 50 && waited < LONG_MS, "send_timeout(60 ms) returned after %.0f ms", waited);
    ck_assert_int_eq(wp_chan_recv_timeout(&ch, &v, 60), WP_OK);
    ck_assert_int_eq(v, 5);
    wp_chan_destroy(&ch);
}

FT_TEST(1, a_blocked_sender_wakes_when_a_receive_frees_a_slot, 2,
        "A receive changes `len == cap` into `len < cap`: after the change, still under the lock, signal "
        "not_full, or the sender waiting on it sleeps forever.")
{
    wp_chan ch = chan_make(1);
    chan_send_ok(&ch, 1);
    blocked s;
    start_send(&s, &ch, 2);
    ck_assert_msg(wait_senders(&ch, 1), "the sender never waited on not_full (send_waiting stayed 0)");
    ck_assert_int_eq(chan_recv_ok(&ch), 1);
    blocked_finish(&s);
    ck_assert_int_eq(s.status, WP_OK);
    ck_assert_int_eq(chan_recv_ok(&ch), 2);
    wp_chan_destroy(&ch);
}

FT_TEST(1, close_lets_receivers_drain_then_reports_closed, 2,
        "Closing is dropping the last Sender: sends fail with WP_ERR_CLOSED at once, but receivers still get "
        "every element already inside, and only then WP_ERR_CLOSED (try_recv too: closed-and-empty is CLOSED, "
        "not EMPTY).")
{
    wp_chan ch = chan_make(4);
    chan_send_ok(&ch, 1);
    chan_send_ok(&ch, 2);
    wp_chan_close(&ch);
    wp_chan_close(&ch); /* idempotent */
    ck_assert(wp_chan_is_closed(&ch));
    int v = 9;
    ck_assert_int_eq(wp_chan_try_send(&ch, &v), WP_ERR_CLOSED);
    ck_assert_int_eq(wp_chan_send(&ch, &v), WP_ERR_CLOSED);
    ck_assert_int_eq(wp_chan_recv(&ch, &v), WP_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(wp_chan_recv_timeout(&ch, &v, 10), WP_OK);
    ck_assert_int_eq(v, 2);
    v = -5; /* closed and empty: nothing is received, so *out stays untouched */
    ck_assert_int_eq(wp_chan_recv(&ch, &v), WP_ERR_CLOSED);
    ck_assert_msg(v == -5, "wp_chan_recv returned WP_ERR_CLOSED but wrote %d to *out, which must stay untouched", v);
    ck_assert_int_eq(wp_chan_try_recv(&ch, &v), WP_ERR_CLOSED);
    ck_assert_int_eq(wp_chan_recv_timeout(&ch, &v, 10), WP_ERR_CLOSED);
    wp_chan_destroy(&ch);
}

static atomic_int dropped_boxes;
static void drop_box(void *elem)
{
    free(*(int **)elem);
    atomic_fetch_add(&dropped_boxes, 1);
}

FT_TEST(1, destroy_drops_the_elements_left_inside, 1,
        "Elements still in the ring belong to the channel: destroy calls drop on each of the len live slots "
        "(starting at head, modulo cap), never on a free slot. Received elements belong to the receiver.")
{
    wp_chan ch;
    ck_assert_int_eq(wp_chan_init(&ch, 3, sizeof(int *), drop_box), WP_OK);
    atomic_store(&dropped_boxes, 0);
    for (int i = 0; i < 5; i++) { /* wraps: two out, three in */
        int *box = malloc(sizeof *box);
        ck_assert(box != NULL);
        *box = i;
        ck_assert_int_eq(wp_chan_try_send(&ch, &box), WP_OK);
        if (i < 2) {
            int *out = NULL;
            ck_assert_int_eq(wp_chan_try_recv(&ch, &out), WP_OK);
            ck_assert_int_eq(*out, i);
            free(out);
        }
    }
    wp_chan_destroy(&ch);
    ck_assert_int_eq(atomic_load(&dropped_boxes), 3);
}

FT_TEST(1, recv_many_takes_a_batch_in_order_and_wakes_senders, 2,
        "try_recv_many takes min(len, max) elements oldest first under one lock, and frees that many slots: "
        "a sender blocked on the full channel must wake.")
{
    wp_chan ch = chan_make(4);
    for (int i = 0; i < 4; i++)
        chan_send_ok(&ch, i);
    blocked s;
    start_send(&s, &ch, 4);
    ck_assert(wait_senders(&ch, 1));
    int out[3] = {-1, -1, -1};
    ck_assert_uint_eq(wp_chan_try_recv_many(&ch, out, 3), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(out[i], i);
    blocked_finish(&s);
    ck_assert_int_eq(s.status, WP_OK);
    int rest[4] = {0};
    ck_assert_uint_eq(wp_chan_try_recv_many(&ch, rest, 4), 2);
    ck_assert_int_eq(rest[0], 3);
    ck_assert_int_eq(rest[1], 4);
    ck_assert_uint_eq(wp_chan_try_recv_many(&ch, rest, 4), 0);
    wp_chan_destroy(&ch);
}

/* ---- many producers, many consumers ------------------------------------------------------------------------------ */

enum { PRODUCERS = 3, CONSUMERS = 3 };

typedef struct mpmc {
    wp_chan ch;
    int per_producer;
    atomic_int *seen; /* PRODUCERS * per_producer counters */
    atomic_int order_errors;
} mpmc;

typedef struct mpmc_arg {
    mpmc *m;
    int id;
} mpmc_arg;

static void *producer_main(void *arg)
{
    mpmc_arg *a = arg;
    for (int i = 0; i < a->m->per_producer; i++) {
        int v = a->id * a->m->per_producer + i;
        if (wp_chan_send(&a->m->ch, &v) != WP_OK)
            atomic_fetch_add(&a->m->order_errors, 1000);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    mpmc *m = ((mpmc_arg *)arg)->m;
    int last[PRODUCERS] = {-1, -1, -1};
    int v;
    while (wp_chan_recv(&m->ch, &v) == WP_OK) {
        int p = v / m->per_producer, i = v % m->per_producer;
        if (i <= last[p]) /* one producer's elements reach any one consumer in send order */
            atomic_fetch_add(&m->order_errors, 1);
        last[p] = i;
        atomic_fetch_add(&m->seen[v], 1);
    }
    return NULL;
}

FT_TEST(1, many_producers_and_consumers_deliver_each_element_once_in_order, 3,
        "With 3 producers and 3 consumers on a 4-slot channel, every element arrives exactly once, and the "
        "elements of one producer reach each consumer in the order they were sent. Missing ones point at a lost "
        "wakeup or an unlocked update; duplicates at head/len arithmetic.")
{
    mpmc m = {.per_producer = 400 * (int)stress()};
    ck_assert_int_eq(wp_chan_init(&m.ch, 4, sizeof(int), NULL), WP_OK);
    int total = PRODUCERS * m.per_producer;
    m.seen = calloc((size_t)total, sizeof *m.seen);
    ck_assert(m.seen != NULL);
    atomic_init(&m.order_errors, 0);
    mpmc_arg args[PRODUCERS + CONSUMERS];
    pthread_t threads[PRODUCERS + CONSUMERS];
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
        args[i] = (mpmc_arg){&m, i < PRODUCERS ? i : i - PRODUCERS};
        threads[i] = start_thread(i < PRODUCERS ? producer_main : consumer_main, &args[i]);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(threads[i], NULL);
    wp_chan_close(&m.ch);
    for (int i = PRODUCERS; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(threads[i], NULL);
    for (int v = 0; v < total; v++)
        ck_assert_msg(atomic_load(&m.seen[v]) == 1, "element %d received %d times", v, atomic_load(&m.seen[v]));
    ck_assert_int_eq(atomic_load(&m.order_errors), 0);
    free(m.seen);
    wp_chan_destroy(&m.ch);
}
