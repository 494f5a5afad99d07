/*
 * worker.c — chapter 04, parts 2–5: the worker thread, where it finds work, and its loop.   (exercise skeleton)
 *
 * Read pool_internal.h first. Every function below is yours. Each returns a neutral value so the file compiles
 * and the tests run.
 *
 * Suggested static helpers for part 5, in the order a worker tries them (rayon's order: finish what you started
 * before you take on something new):
 *   - pop from the worker's own deque;
 *   - steal from the other workers' deques, starting after the worker's own index so they do not all hit the
 *     same victim;
 *   - take a batch from the queue with wp_chan_try_recv_many: keep one task, push the rest on the own deque, and
 *     wake_one so an idle worker can steal them.
 */
#define _POSIX_C_SOURCE 200809L /* sched_yield */
#include "pool_internal.h"

#include <sched.h>

_Thread_local struct worker *current_worker;

void *worker_main(void *arg)
{
    /* TODO (part 2): set current_worker = arg. Loop: find a task (wp_chan_try_recv on the queue). If there is
     * one, run it (task_run_and_free). If not: when the pool is draining and no work is visible, leave; else
     * sleep_until_work, then search again. Set current_worker back to NULL before returning.
     * Part 3 adds: after running a task, count it off `outstanding` (see wp_pool_wait_idle).
     * Part 4 adds: at the top of the loop, leave if the pool is cancelling.
     * Part 5 changes where the task comes from: the order above.
     * Rust: the closure each thread of the study's pool runs. Trap: leaving a draining pool while another
     * worker's deque still holds tasks gets them cancelled instead of run. */
    (void)arg;
    return NULL;
}
