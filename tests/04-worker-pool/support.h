/*
 * Test doubles for chapter 04: gates that hold a task still, payloads that record how often they ran and were
 * dropped, helpers that wait for a condition with a generous deadline, and a way to count this process's threads.
 *
 * No test relies on timing for correctness. A deadline only bounds how long a test waits for something that
 * must happen; the deadlines are seconds long, and Check's own timeout (FT_DEFAULT_TIMEOUT_S or the test's
 * FT_TIMEOUT, times CK_TIMEOUT_MULTIPLIER under Valgrind and ThreadSanitizer) is the last resort. A pause of a
 * few tens of milliseconds is used only to give a *wrong* implementation the chance to misbehave; a correct one
 * passes however the threads are scheduled. A deadline of LONG_MS can outlast the default timeout: then a call
 * that never returns is reported as a timeout, which says the same thing.
 */
#ifndef FERRITE_TEST_SUPPORT_04_H
#define FERRITE_TEST_SUPPORT_04_H

#include "channel.h"
#include "deque.h"
#include "ferrite_test.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The one deadline for "this must happen": long enough for Valgrind on a loaded two-core machine. */
#define LONG_MS 5000u

/* Iteration counts are multiplied by WP_STRESS (environment, default 1). */
unsigned stress(void);
void sleep_ms(unsigned ms);
/* Milliseconds on CLOCK_MONOTONIC. */
double now_ms(void);
/* Threads in this process right now (entries of /proc/self/task). */
int count_threads(void);
/* Starts a thread or fails the test. */
pthread_t start_thread(void *(*fn)(void *), void *arg);

/* ---- starting and joining threads, watched: pthread_create and pthread_join are wrapped -------------------------- */

/* chapter.conf links the test binary with -Wl,--wrap=pthread_create,--wrap=pthread_join: every such call in it, the
 * pool's as well as the tests', goes through support.c. From thread_starts_reset(fail_at) on, the calls are counted,
 * the threads they start recorded in order, and call number @p fail_at (1 = the next) fails with EAGAIN, as it does
 * when the process may not have another thread; 0 makes none fail. */
void thread_starts_reset(int fail_at);
/* pthread_create calls since the reset, the failed one included. */
int thread_start_calls(void);
/* Threads started since the reset, and the @p i th of them (0 = the first). */
int threads_started(void);
pthread_t thread_started(int i);
/* pthread_join calls entered since the reset (a shutdown that joins its workers has set its state already). */
int thread_joins_entered(void);
/* While @p hold is true (a reset makes it false), each thread started waits, before it runs a line of its own code,
 * until thread_release() lets it go (or LONG_MS pass). A pool's worker held this way exists and is counted by its
 * pool, but does nothing: the test decides when each worker begins. */
void thread_starts_hold(bool hold);
void thread_release(int i);
/* Waits until the @p i th thread started has been released and is blocked in the kernel (asleep on a condition
 * variable, for a pool's idle worker) at every look for 20 ms in a row; false if that did not happen within @p ms
 * (a thread that never sleeps, for example). Under Valgrind, which runs one thread at a time, a thread waiting for
 * its turn looks blocked too: there the answer may be true too early, never too late. */
bool thread_wait_asleep(int i, unsigned ms);

/* ---- gates: a one-shot barrier a task can wait on ------------------------------------------------------------ */

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool open;
    int arrived; /* threads that reached gate_wait */
} gate;

void gate_init(gate *g);
void gate_destroy(gate *g);
void gate_open(gate *g);
/* Waits until the gate opens; returns false if LONG_MS passed first. */
bool gate_wait(gate *g);
/* Waits until @p n threads are inside gate_wait. */
bool gate_wait_arrivals(gate *g, int n);

/* ---- waiting for a condition --------------------------------------------------------------------------------- */

/* Polls *counter until it reaches @p want or @p ms pass; returns whether it did. */
bool wait_count(atomic_int *counter, int want, unsigned ms);
/* Polls until @p n threads are blocked in the channel's receive (send) wait, read under its lock. */
bool wait_receivers(wp_chan *ch, size_t n);
bool wait_senders(wp_chan *ch, size_t n);

/* ---- channel helpers: an int channel, and threads blocked in one channel call ---------------------------------- */

wp_chan chan_make(size_t cap);
void chan_send_ok(wp_chan *ch, int v);
int chan_recv_ok(wp_chan *ch);

typedef struct blocked {
    wp_chan *ch;
    int value;        /* sent, or received */
    wp_status status; /* what the call returned */
    atomic_int done;
    pthread_t thread;
} blocked;

void start_recv(blocked *b, wp_chan *ch);
void start_send(blocked *b, wp_chan *ch, int value);
/* Joins the thread; fails the test if the call did not return within LONG_MS. */
void blocked_finish(blocked *b);

/* ---- tracked payloads ---------------------------------------------------------------------------------------- */

#define MAX_IDS 4096

/* Per-id counters of runs and drops, reset by track_reset(). */
extern atomic_int track_runs[MAX_IDS];
extern atomic_int track_drops[MAX_IDS];
void track_reset(void);

/* What a tracked task does when it runs. */
typedef struct payload {
    int id;
    int64_t result;      /* returned as the answer */
    int fail_code;       /* non-zero: the task fails with this code */
    gate *wait_for;      /* if set, the task waits for this gate first */
    atomic_int *started; /* if set, incremented when the task starts */
    unsigned sleep_ms;   /* if set, the task sleeps this long first */
    bool ran;            /* set by run; drop checks it is never set twice */
} payload;

/* Heap payloads: run counts in track_runs, drop frees and counts in track_drops. */
extern const wp_task_type tracked_task;
payload *payload_new(int id);
/* Frees a payload the pool gave back (a failed submit), without counting a drop. */
void payload_free_unsubmitted(payload *p);

#define ASSERT_RAN_ONCE(first, last)                                                                                  \
    do {                                                                                                              \
        for (int id_ = (first); id_ <= (last); id_++) {                                                               \
            ck_assert_msg(atomic_load(&track_runs[id_]) == 1, "task %d ran %d times, want exactly once", id_,         \
                          atomic_load(&track_runs[id_]));                                                             \
            ck_assert_msg(atomic_load(&track_drops[id_]) == 1, "payload %d dropped %d times, want exactly once", id_, \
                          atomic_load(&track_drops[id_]));                                                            \
        }                                                                                                             \
    } while (0)

/* Runs wp_pool_shutdown(p, mode) on a helper thread, so a test can watch it with a deadline. */
typedef struct shutdown_call {
    wp_pool *pool;
    wp_shutdown mode;
    atomic_int returned;
    pthread_t thread;
} shutdown_call;
void shutdown_async(shutdown_call *c, wp_pool *p, wp_shutdown mode);
/* Joins the helper; fails the test if it did not return within LONG_MS. */
void shutdown_finish(shutdown_call *c);

#endif
