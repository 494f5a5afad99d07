/*
 * wakeup.c — chapter 04, parts 2 and 5: idle workers, and wake-ups that cannot be lost.   (exercise skeleton)
 *
 * Read pool_internal.h first. Every function below is yours. Each returns a neutral value so the file compiles
 * and the tests run.
 *
 * Idle workers sleep on the pool's condition variable (they must also wake for tasks pushed on *another*
 * worker's deque, so they cannot simply block in wp_chan_recv once part 5 is in). Without losing a wakeup:
 *   sleeper: lock; sleepers += 1 (seq_cst); look for work; if none and still running, wait; sleepers -= 1; unlock
 *   waker:   publish the task; if (atomic_fetch_add(&sleepers, 0) > 0) { lock; signal; unlock; }
 * and shutdown: set the state, then lock, *broadcast*, unlock.
 */
#include "pool_internal.h"

void wake_one(wp_pool *p)
{
    /* TODO (part 2): the waker's half. Read sleepers with a seq_cst read-modify-write (atomic_fetch_add of 0),
     * not a plain load: it is ordered with the sleeper's increment, so either the sleeper sees the task or we see
     * the sleeper. If one sleeps: lock sleep_lock, pthread_cond_signal(&wake), unlock. Trap: a signal sent
     * without the lock can land between a sleeper's look and its wait, and the sleeper sleeps through the only
     * wakeup. */
    (void)p;
}

void sleep_until_work(wp_pool *p)
{
    /* TODO (part 2): the sleeper's half, as above: lock sleep_lock; sleepers += 1 (seq_cst); if the pool is still
     * running and no work is visible (the queue; from part 5 every deque too), pthread_cond_wait(&wake,
     * &sleep_lock);
     * sleepers -= 1; unlock. No `while` is needed here when the caller searches again after every return,
     * spurious wakeup or not. Rust: Condvar::wait. */
    (void)p;
}
