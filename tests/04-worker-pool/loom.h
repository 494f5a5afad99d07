/**
 * @file loom.h
 * @brief A model checker for the deque's atomics: every interleaving and every x86-TSO store-buffer reordering.
 *
 * The C counterpart of Rust's loom crate, small enough for one chapter. A test builds a scenario once; the checker
 * runs it again and again, each time under another schedule, until every schedule within a bound has been tried or
 * one of them breaks the test's property:
 *
 *     static void body(void *ctx)              // one execution: fresh state, threads, then the property
 *     {
 *         ...set up a deque...
 *         loom_spawn("owner", owner, ctx);
 *         loom_spawn("thief", thief, ctx);
 *         loom_join_all();                     // runs the model threads under this execution's schedule
 *         if (...an item was taken twice...)
 *             loom_fail("item %d taken twice", k);
 *     }
 *     loom_report r;
 *     if (!loom_model(&(loom_options){0}, body, &ctx, &r))
 *         ...r.message holds the failing schedule, one line per step...
 *
 * **What it sees.** The code under test is a second copy of the student's deque.c, compiled with `loom_shim.h`
 * included first. The shim turns each C11 generic atomic operation (`atomic_load_explicit`, `atomic_store`,
 * `atomic_compare_exchange_strong_explicit`, `atomic_fetch_add`, `atomic_thread_fence`, ...) into a call of the
 * loom_atomic_*() functions below, with the operand's address, size, value, memory order and the source line.
 * Plain reads and writes, and the operators on `_Atomic` objects (`x = 1`, `x++`), are not seen.
 *
 * **The memory model is x86-TSO.** Each model thread has a FIFO store buffer. Relaxed and release stores go into
 * it; a load reads the thread's own newest buffered store to that address, else memory. A seq_cst store, a seq_cst
 * fence and every read-modify-write (exchange, compare-and-swap, fetch_add, ...) drain the buffer first, as the
 * x86 instructions compilers use for them do (`xchg`, `mfence`, `lock`-prefixed instructions). A
 * compare-and-swap never fails spuriously (x86's `lock cmpxchg` does not), so the weak one behaves as the strong.
 * A thread's buffer drains once the thread finishes.
 *
 * **Schedules.** Before each atomic operation a model thread stops, and the checker chooses what happens next:
 * one thread performs its next operation, or the oldest entry of one thread's store buffer reaches memory. Letting
 * a buffered store land is offered only where it can matter: when another thread's next operation, or a store in
 * another thread's buffer, is on the same address; landing it later is the same execution. Running another thread
 * while the current one could go on is a *preemption*; executions with more than the bound (loom's
 * `LOOM_MAX_PREEMPTIONS`) are not explored. The search is depth first and replays each execution from the start.
 *
 * **Model threads** are coroutines on one OS thread (a stack switch of a dozen instructions on x86-64, ucontext
 * elsewhere), announced to the sanitizers with their fiber annotations and to Valgrind as stacks, so they run the
 * same under ASan, ThreadSanitizer and memcheck. Exactly one runs at a time, and a switch costs nanoseconds
 * whatever the machine's load, where a handoff between OS threads on a busy machine can take milliseconds.
 */
#ifndef FERRITE_LOOM_H
#define FERRITE_LOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The preemption bound when neither the options nor `FT_LOOM_PREEMPTIONS` give one. */
#define LOOM_DEFAULT_PREEMPTIONS 2
/** Executions explored at most when the options do not say. */
#define LOOM_DEFAULT_MAX_EXECUTIONS 200000L
/** Model threads in one execution at most. */
#define LOOM_MAX_THREADS 4
/** Bytes of loom_report::message: the failing schedule, shortened to what a test failure shows well. */
#define LOOM_MESSAGE_MAX 6144

/** Where an atomic operation is written: what the shim passes with each one. */
typedef struct loom_site {
    const char *file; /**< `__FILE__` of the operation */
    int line;         /**< `__LINE__` */
    const char *func; /**< `__func__` */
    const char *expr; /**< the operand as written, e.g. `&d->bottom` */
} loom_site;

/** The read-modify-write operations of loom_atomic_rmw(). */
typedef enum loom_rmw {
    LOOM_XCHG, /**< atomic_exchange */
    LOOM_ADD,  /**< atomic_fetch_add */
    LOOM_SUB,  /**< atomic_fetch_sub */
    LOOM_OR,   /**< atomic_fetch_or */
    LOOM_XOR,  /**< atomic_fetch_xor */
    LOOM_AND,  /**< atomic_fetch_and */
} loom_rmw;

/** How far to search; a zero field takes its default. */
typedef struct loom_options {
    int preemptions;        /**< the bound; 0: `FT_LOOM_PREEMPTIONS` from the environment, else 2 (< 0: none) */
    long max_executions;    /**< stop after this many executions; 0: LOOM_DEFAULT_MAX_EXECUTIONS */
    const char *trace_path; /**< where the whole failing schedule is written when it is too long to show; NULL: none */
} loom_options;

/** What loom_model() found. */
typedef struct loom_report {
    long executions;                /**< executions run, the failing one included */
    int preemptions;                /**< the bound used */
    bool complete;                  /**< every schedule within the bound was explored (no failure, cap not reached) */
    bool failed;                    /**< a schedule broke the property: message says which */
    double seconds;                 /**< wall time of the search */
    char message[LOOM_MESSAGE_MAX]; /**< on failure: the schedule, one line per step, then what loom_fail() said */
} loom_report;

/**
 * @brief Runs @p body once per schedule until all schedules within the bound are explored or one fails.
 *
 * @p body runs outside the model, as the test's own thread: it sets up fresh state, spawns the model threads with
 * loom_spawn(), runs them with loom_join_all(), checks what they did and calls loom_fail() if the property broke.
 * It must do the same thing each time it is called (the search replays schedules from the start), and must not
 * leak what it allocates. The first failure ends the search.
 * @param o the bounds; NULL for the defaults.
 * @param body one execution of the scenario.
 * @param ctx passed to @p body.
 * @param[out] r what was explored, and on failure the schedule that failed.
 * @return true when no schedule failed.
 * @rust `loom::model(|| { ... })`, with `loom::model::Builder { preemption_bound, max_branches, .. }`
 */
bool loom_model(const loom_options *o, void (*body)(void *ctx), void *ctx, loom_report *r);

/**
 * @brief From the body of loom_model(): adds a model thread that will run @p fn(@p arg) in loom_join_all().
 * @param name what the trace calls the thread ("owner", "thief"); a string that outlives the search.
 * @rust `loom::thread::spawn`
 */
void loom_spawn(const char *name, void (*fn)(void *arg), void *arg);

/**
 * @brief From the body of loom_model(): runs the spawned threads under this execution's schedule until all have
 * finished and their store buffers have drained. The threads are forgotten afterwards.
 * @rust `JoinHandle::join` on every spawned thread
 */
void loom_join_all(void);

/**
 * @brief Marks the current execution as failed, with a printf-style reason. The first call of an execution counts;
 * the search stops after it. Callable from the body and from model threads.
 * @rust `panic!` / `assert!` inside `loom::model`
 */
void loom_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * @brief The name of the model thread that is running, or "main" outside the model threads.
 * @rust `loom::thread::current().name()`
 */
const char *loom_thread_name(void);

/* ---- the shim's entry points: what loom_shim.h turns each C11 atomic operation into ------------------------------ */

/**
 * @brief An atomic load of @p size bytes at @p p: the thread's own newest buffered store there, else memory.
 *
 * Outside the model threads (in the body of loom_model()), this and the other loom_atomic_*() functions act on
 * memory at once and are not traced.
 * @param p the atomic object; @p size its size, 1 to 8 bytes.
 * @param order a C11 `memory_order`.
 * @param is_ptr whether the value is a pointer (the trace prints it in hex).
 * @param site where the operation is written.
 * @return the bytes read, zero-extended.
 * @rust `loom::sync::atomic::AtomicUsize::load`
 */
uint64_t loom_atomic_load(const volatile void *p, size_t size, int order, bool is_ptr, const loom_site *site);

/**
 * @brief An atomic store: into the thread's store buffer, or (seq_cst) to memory after draining the buffer.
 * @rust `loom::sync::atomic::AtomicUsize::store`
 */
void loom_atomic_store(volatile void *p, size_t size, uint64_t value, int order, bool is_ptr, const loom_site *site);

/**
 * @brief An atomic read-modify-write (exchange, fetch_add, ...): drains the store buffer, then updates memory.
 * @return the value before the operation.
 * @rust `loom::sync::atomic::AtomicUsize::swap`, `fetch_add`, `fetch_sub`, `fetch_or`, `fetch_xor`, `fetch_and`
 */
uint64_t loom_atomic_rmw(volatile void *p, size_t size, loom_rmw op, uint64_t operand, int order, bool is_ptr,
                         const loom_site *site);

/**
 * @brief An atomic compare-and-swap: drains the store buffer; if memory holds `*expected`, writes @p desired,
 * else copies what it holds into `*expected`.
 * @param expected the caller's expected value, @p size bytes.
 * @param weak whether the program asked for the weak form (treated as the strong one, as on x86).
 * @return whether it swapped.
 * @rust `loom::sync::atomic::AtomicUsize::compare_exchange` (and `compare_exchange_weak`)
 */
bool loom_atomic_cas(volatile void *p, size_t size, void *expected, uint64_t desired, int success, int failure, bool weak,
                     bool is_ptr, const loom_site *site);

/**
 * @brief A fence: seq_cst drains the store buffer (x86's `mfence`); weaker ones order nothing that x86 does not
 * already keep in order, and are only traced.
 * @rust `loom::sync::atomic::fence`
 */
void loom_atomic_fence(int order, const loom_site *site);

/**
 * @brief `atomic_init`: writes memory directly, not an atomic operation and not a step of the schedule.
 * @rust `AtomicUsize::new`
 */
void loom_atomic_init(volatile void *p, size_t size, uint64_t value);

#endif
