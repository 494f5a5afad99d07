/*
 * task.c — chapter 04, parts 2–4: tasks, and join handles from the task's side.   (exercise skeleton)
 *
 * Read pool_internal.h first: it has the plan of the pool's four files and the structs they share. Every function
 * below is yours. Each returns a neutral value so the file compiles and the tests run.
 *
 * A handle is an `Arc` around a result slot: two references, the task's and the joiner's. The task lets go of
 * its own here, after reporting; the joiner in wp_join (pool.c), after reading, or when it detaches. Whoever is
 * last frees it, so a handle outlives its pool. pool_internal.h suggests the handle helpers that belong here.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool_internal.h"

#include <stdlib.h>
#include <time.h>

void task_run_and_free(wp_task *t)
{
    /* TODO (part 2): call t->type->run(t->payload, &result); then drop the payload (t->type->drop may be NULL);
     * free t last. Rust: FnOnce — the payload is consumed by the call, and dropped right after it, never before.
     * Part 3 adds, before the free: if there is a handle, lock it, set state (done with the result, or failed
     * with run's code as the result), broadcast, unlock, and drop the task's reference. */
    (void)t;
}

void task_cancel_and_free(wp_task *t)
{
    /* TODO (part 4): as task_run_and_free without the run: drop the payload, report "cancelled" to the handle,
     * free t. A cancelling wp_pool_shutdown calls it on every task that never started. */
    (void)t;
}
