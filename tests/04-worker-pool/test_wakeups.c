/*
 * Part 1, continued: the two rules of condition variables, each forced to matter. A broadcast the test sends
 * itself plays the spurious wakeup; back-to-back sends to several sleeping receivers expose a lost wakeup; close
 * must wake everyone; and a test that holds the channel's lock exposes a length read without it.
 */
#include "support.h"

FT_TEST(1, close_wakes_every_blocked_receiver_and_sender, 3,
        "Close must pthread_cond_broadcast both condition variables: every waiter has to re-check and leave. "
        "A signal wakes one receiver and leaves the others asleep forever (a lost wakeup).")
{
    wp_chan ch = chan_make(1);
    blocked r[3];
    for (int i = 0; i < 3; i++)
        start_recv(&r[i], &ch);
    ck_assert_msg(wait_receivers(&ch, 3), "three receivers should be waiting on an empty channel");
    wp_chan_close(&ch);
    for (int i = 0; i < 3; i++) {
        blocked_finish(&r[i]);
        ck_assert_int_eq(r[i].status, WP_ERR_CLOSED);
    }
    wp_chan_destroy(&ch);

    ch = chan_make(1);
    chan_send_ok(&ch, 1);
    blocked s[2];
    for (int i = 0; i < 2; i++)
        start_send(&s[i], &ch, 10 + i);
    ck_assert_msg(wait_senders(&ch, 2), "two senders should be waiting on a full channel");
    wp_chan_close(&ch);
    for (int i = 0; i < 2; i++) {
        blocked_finish(&s[i]);
        ck_assert_int_eq(s[i].status, WP_ERR_CLOSED);
    }
    ck_assert_uint_eq(wp_chan_len(&ch), 1);
    wp_chan_destroy(&ch);
}

FT_TEST(1, back_to_back_sends_wake_every_waiting_receiver, 4,
        "Lost wakeup: two receivers wait, two sends follow each other before either wakes. Signal on every "
        "send that finds a waiter, not only when the channel goes from empty to non-empty: the second send "
        "finds len == 1 and must still wake the second receiver.")
{
    unsigned rounds = 20 * stress();
    for (unsigned round = 0; round < rounds; round++) {
        wp_chan ch = chan_make(4);
        blocked r[2];
        for (int i = 0; i < 2; i++)
            start_recv(&r[i], &ch);
        ck_assert_msg(wait_receivers(&ch, 2), "two receivers should be waiting on an empty channel");
        chan_send_ok(&ch, 1);
        chan_send_ok(&ch, 2);
        for (int i = 0; i < 2; i++) {
            ck_assert_msg(wait_count(&r[i].done, 1, LONG_MS),
                          "round %u: receiver %d still asleep %u ms after two sends (lost wakeup)", round, i, LONG_MS);
            pthread_join(r[i].thread, NULL);
            ck_assert_int_eq(r[i].status, WP_OK);
        }
        ck_assert_int_eq(r[0].value + r[1].value, 3);
        wp_chan_destroy(&ch);
    }
}
FT_TIMEOUT(back_to_back_sends_wake_every_waiting_receiver, 10);

FT_TEST(1, a_spurious_wakeup_does_not_make_recv_return, 3,
        "pthread_cond_wait may return with nothing changed (a spurious wakeup). `if (len == 0) wait` then goes on "
        "with an empty channel; `while (len == 0 && !closed) wait` goes back to sleep. The test broadcasts "
        "not_empty itself.")
{
    wp_chan ch = chan_make(2);
    blocked r[2];
    for (int i = 0; i < 2; i++)
        start_recv(&r[i], &ch);
    ck_assert(wait_receivers(&ch, 2));
    pthread_mutex_lock(&ch.lock);
    pthread_cond_broadcast(&ch.not_empty); /* a wakeup with nothing behind it */
    pthread_mutex_unlock(&ch.lock);
    sleep_ms(100);
    ck_assert_msg(!atomic_load(&r[0].done) && !atomic_load(&r[1].done),
                  "recv returned after a wakeup although the channel is still empty");
    ck_assert(wait_receivers(&ch, 2));
    chan_send_ok(&ch, 7);
    chan_send_ok(&ch, 8);
    for (int i = 0; i < 2; i++) {
        blocked_finish(&r[i]);
        ck_assert_int_eq(r[i].status, WP_OK);
    }
    ck_assert_int_eq(r[0].value + r[1].value, 15);
    wp_chan_destroy(&ch);
}

FT_TEST(1, a_spurious_wakeup_does_not_make_send_overwrite, 2,
        "A sender woken while the channel is still full must wait again (`while`, not `if`), or it writes "
        "over the oldest element and len exceeds cap. The test broadcasts not_full itself.")
{
    wp_chan ch = chan_make(2);
    chan_send_ok(&ch, 1);
    chan_send_ok(&ch, 2);
    blocked s;
    start_send(&s, &ch, 3);
    ck_assert(wait_senders(&ch, 1));
    pthread_mutex_lock(&ch.lock);
    pthread_cond_broadcast(&ch.not_full);
    pthread_mutex_unlock(&ch.lock);
    sleep_ms(100);
    ck_assert_msg(!atomic_load(&s.done), "send returned after a wakeup although the channel is still full");
    ck_assert_uint_eq(wp_chan_len(&ch), 2);
    ck_assert_int_eq(chan_recv_ok(&ch), 1);
    blocked_finish(&s);
    ck_assert_int_eq(s.status, WP_OK);
    ck_assert_int_eq(chan_recv_ok(&ch), 2);
    ck_assert_int_eq(chan_recv_ok(&ch), 3);
    wp_chan_destroy(&ch);
}

typedef struct len_reader {
    wp_chan *ch;
    size_t seen;
    atomic_int done;
} len_reader;

static void *len_main(void *arg)
{
    len_reader *l = arg;
    l->seen = wp_chan_len(l->ch);
    atomic_store(&l->done, 1);
    return NULL;
}

FT_TEST(1, len_is_read_under_the_lock, 2,
        "wp_chan_len must lock: a value read while another thread is mid-update can be one no consistent "
        "state ever had (and it is a data race). The test holds the lock with len half-updated; a correct "
        "len waits for the lock and sees the final value.")
{
    wp_chan ch = chan_make(4);
    chan_send_ok(&ch, 1);
    len_reader l = {.ch = &ch};
    atomic_init(&l.done, 0);
    pthread_mutex_lock(&ch.lock);
    ch.len = 3; /* the middle of an imaginary update, under the lock */
    pthread_t t = start_thread(len_main, &l);
    sleep_ms(100);
    bool early = atomic_load(&l.done);
    ch.len = 1;
    pthread_mutex_unlock(&ch.lock);
    pthread_join(t, NULL);
    ck_assert_msg(!early, "wp_chan_len returned while another thread held the channel's lock");
    ck_assert_uint_eq(l.seen, 1);
    ck_assert_int_eq(chan_recv_ok(&ch), 1);
    wp_chan_destroy(&ch);
}
