/*
 * wakeup.c — chapter 04, parts 2 and 5: idle workers, and wake-ups that cannot be lost (reference solution).
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
#include "pool_internal.h"

static void signal_sleeper_unless_spinner(wp_pool *p, uint64_t idle)
{
    if (idle >= SLEEPER && SPINNERS(idle) == 0) {
        pthread_mutex_lock(&p->sleep_lock);
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->sleep_lock);
    }
}

/* A read-modify-write, not a load: see the top of this file for why it cannot miss a sleeper. */
void wake_one(wp_pool *p)
{
    signal_sleeper_unless_spinner(p, atomic_fetch_add_explicit(&p->idle, 0, memory_order_seq_cst));
}

/* After a send into the injector, a load is enough, and it leaves idle's cache line shared instead of taking it
 * from the other submitters. A worker that changes idle (to spin, to sleep, to stop spinning) then looks at the
 * injector under its mutex before it sleeps or, as the last spinner, stops searching. If that look comes after
 * our send, it finds our task. If it came before, its change to idle happened before our send's unlock, so our
 * load sees that change: a sleeper is signalled, and a spinner it shows is one whose look is still to come. */
void wake_one_after_send(wp_pool *p)
{
    signal_sleeper_unless_spinner(p, atomic_load_explicit(&p->idle, memory_order_acquire));
}

bool work_visible(wp_pool *p)
{
    if (wp_chan_len(&p->injector) > 0)
        return true;
    for (size_t i = 0; i < p->n; i++)
        if (wp_deque_len(&p->workers[i].local) > 0)
            return true;
    return false;
}

void sleep_until_work(wp_pool *p)
{
    pthread_mutex_lock(&p->sleep_lock);
    atomic_fetch_add_explicit(&p->idle, SLEEPER - SPINNER, memory_order_seq_cst);
    /* No `while` needed here: the caller's loop searches again after every wakeup, spurious or not. */
    if (atomic_load(&p->state) == POOL_RUNNING && !work_visible(p))
        pthread_cond_wait(&p->wake, &p->sleep_lock);
    atomic_fetch_sub_explicit(&p->idle, SLEEPER - SPINNER, memory_order_seq_cst);
    pthread_mutex_unlock(&p->sleep_lock);
}

void stop_spinning(wp_pool *p)
{
    uint64_t before = atomic_fetch_sub_explicit(&p->idle, SPINNER, memory_order_seq_cst);
    if (SPINNERS(before) == 1 && work_visible(p))
        wake_one(p);
}
