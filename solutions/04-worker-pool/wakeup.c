/*
 * wakeup.c — chapter 04, parts 2 and 5: idle workers, and wake-ups that cannot be lost (reference solution).
 *
 * Idle workers first spin (search, sched_yield, search again), then sleep on the pool's condition variable.
 * One atomic word, `idle`, counts both: sleepers in its high 32 bits, spinners in its low 32 bits. A worker
 * becomes a spinner as soon as its own deque is empty, before it looks anywhere else (worker.c's find_task).
 *   waker:   publish the task; read idle with a seq_cst read-modify-write; wake one sleeper only if there are
 *            sleepers and no spinner (a spinner will find the task: no system call needed).
 *   sleeper: lock sleep_lock; turn spinner into sleeper in one read-modify-write; look for work; if none, wait.
 *            A spinner sleeps after SPIN_ROUNDS empty searches, or after one if more than MAX_SPINNERS spin.
 *   spinner: on finding a task, stop spinning; the last spinner to stop wakes a sleeper if there is one and work
 *            is still visible.
 * Why no wakeup is lost: the waker's read-modify-write and the sleeper's are ordered in idle's modification
 * order. If the waker's comes first, the sleeper's reads from it, synchronises with it, and so sees the task. If
 * it comes second, the waker sees the sleeper (or a spinner, who takes over the duty) and signals; the sleeper
 * holds sleep_lock from its announcement until it is inside the wait, so once the waker has taken and released
 * that lock the sleeper is waiting, and the signal, sent after the unlock, reaches it (or it left the wait
 * already and searches again, which is just as good). A spinner who saw no sleeper in its own read-modify-write
 * needs no look before it stops: whoever sleeps later announces itself after that, and looks for itself.
 * A task sent to the injector needs no read-modify-write: see wake_one_after_send.
 */
#include "pool_internal.h"

/* The signal comes after the unlock, not under the lock: a sleeper woken while we still held sleep_lock would
 * go straight back to sleep, on the mutex this time, and our unlock would then cost a second futex wake-up before
 * it could run. The lock and unlock before it are what the argument above needs: by then the sleeper we saw is
 * inside pthread_cond_wait. */
static void signal_sleeper_unless_spinner(wp_pool *p, uint64_t idle)
{
    if (idle >= SLEEPER && SPINNERS(idle) == 0) {
        pthread_mutex_lock(&p->sleep_lock);
        pthread_mutex_unlock(&p->sleep_lock);
        pthread_cond_signal(&p->wake);
    }
}

/* A read-modify-write, not a load: see the top of this file for why it cannot miss a sleeper. */
void wake_one(wp_pool *p)
{
    signal_sleeper_unless_spinner(p, atomic_fetch_add_explicit(&p->idle, 0, memory_order_seq_cst));
}

/* After a send into the injector, a load is enough, and it leaves idle's cache line shared instead of taking it
 * from the other submitters. Every worker that changes idle looks at the injector under its mutex afterwards: a
 * new spinner in its search, a sleeper before it waits, the last spinner to stop when it saw a sleeper. If that
 * look comes after our send, it finds our task. If it came before, its change to idle happened before our send's
 * unlock, so our load sees that change or a later one: a sleeper is signalled, and a spinner it shows looks again,
 * or stops and then looks on behalf of any sleeper it sees (one who sleeps later looks for itself). */
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

/* The announcement is a compare-and-swap so that a surplus spinner can check the count and leave it in one step:
 * of two spinners that both see one too many, the first to swap sleeps and the second finds itself within the
 * limit, so the last spinner never leaves early. A successful swap is the sleeper's read-modify-write of the
 * argument at the top of this file. */
bool sleep_until_work(wp_pool *p, bool only_if_surplus)
{
    pthread_mutex_lock(&p->sleep_lock);
    uint64_t idle = atomic_load_explicit(&p->idle, memory_order_relaxed);
    do {
        if (only_if_surplus && SPINNERS(idle) <= MAX_SPINNERS(p->n)) {
            pthread_mutex_unlock(&p->sleep_lock);
            return false;
        }
    } while (!atomic_compare_exchange_weak_explicit(&p->idle, &idle, idle + SLEEPER - SPINNER, memory_order_seq_cst,
                                                    memory_order_relaxed));
    /* No `while` needed here: the caller's loop searches again after every wakeup, spurious or not. */
    if (atomic_load(&p->state) == POOL_RUNNING && !work_visible(p))
        pthread_cond_wait(&p->wake, &p->sleep_lock);
    atomic_fetch_sub_explicit(&p->idle, SLEEPER - SPINNER, memory_order_seq_cst);
    pthread_mutex_unlock(&p->sleep_lock);
    return true;
}

void stop_spinning(wp_pool *p)
{
    uint64_t before = atomic_fetch_sub_explicit(&p->idle, SPINNER, memory_order_seq_cst);
    /* No sleeper, no look: work_visible takes the injector's lock, and a thief passes here after every steal. */
    if (SPINNERS(before) == 1 && before >= SLEEPER && work_visible(p))
        wake_one(p);
}
