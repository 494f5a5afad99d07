/*
 * loom_internal.h — what the checker's files share; a test includes loom.h only.
 *
 *   loom.c         the search: options, choices, the preemption bound, loom_model, loom_spawn, loom_join_all
 *   loom_memory.c  memory and the store buffers: the shim's entry points, loom_atomic_*()
 *   loom_trace.c   the failing schedule as text, one line per step
 *   loom_coro.c    the coroutines the model threads run on, with the sanitizers' and Valgrind's annotations
 */
#ifndef FERRITE_LOOM_INTERNAL_H
#define FERRITE_LOOM_INTERNAL_H

#include "loom.h"

enum {
    BUFFER_CAP = 32, /* stores a store buffer holds; a full one lands its oldest first */
    TRACE_CAP = 1024 /* steps kept for the trace */
};

/* A store waiting in a thread's store buffer. */
typedef struct loom_pending_store {
    volatile void *addr;
    size_t size;
    uint64_t value;
    int order;
    bool is_ptr;
    loom_site site;
} loom_pending_store;

typedef enum loom_step_kind { STEP_LOAD, STEP_STORE, STEP_RMW, STEP_CAS, STEP_FENCE, STEP_LAND } loom_step_kind;
/* Why a buffered store landed: chosen by the search, drained by a seq_cst or locked operation, drained at the
 * thread's end, or pushed out of a full buffer. */
typedef enum loom_land_reason { LAND_CHOSEN, LAND_DRAIN, LAND_FINISH, LAND_FULL } loom_land_reason;

/* One line of the trace. */
typedef struct loom_step {
    loom_step_kind kind;
    int thread;
    loom_site site;
    int order, order_fail;
    size_t size;
    bool is_ptr;
    bool flag;        /* load: from its own buffer; store: straight to memory; CAS: swapped */
    uint64_t a, b, c; /* load: value; store: value; rmw: operand, old; CAS: expected, desired, found */
    loom_rmw rmw;
    loom_land_reason reason; /* STEP_LAND */
} loom_step;

typedef struct loom_thread {
    const char *name;
    void (*fn)(void *);
    void *arg;
    bool finished;
    const volatile void *next_addr;     /* the address of the operation it waits to perform (NULL: a fence) */
    loom_pending_store buf[BUFFER_CAP]; /* FIFO: buf[0] is the oldest */
    int buf_len;
} loom_thread;

/* The execution in progress (one search at a time), shared by the checker's files. */
typedef struct loom_state {
    bool in_body; /* inside loom_model's call of the body */
    int bound;    /* preemptions; < 0: unbounded */
    loom_thread th[LOOM_MAX_THREADS];
    int n_threads;
    int current; /* the model thread running, -1 for the body */
    int last;    /* the thread that ran last, -1 before the first */
    int preemptions;
    loom_step trace[TRACE_CAP];
    int n_trace; /* steps taken; those past TRACE_CAP are not kept */
    bool failed;
    char reason[1024];
} loom_state;

extern loom_state loom_st;

/* loom_memory.c: lands thread i's oldest buffered store; lands them all; whether landing one now can matter. */
void loom_land_oldest(int i, loom_land_reason why);
void loom_drain(int i, loom_land_reason why);
bool loom_landing_matters(int i);

/* loom_trace.c: r->message for the failed execution, the execution-th; the whole trace to trace_path if long. */
void loom_describe_failure(loom_report *r, long execution, const char *trace_path);

/* loom_coro.c: stacks for every slot, each to run entry(slot) once started; and their release. */
void loom_coro_setup(void (*entry)(int slot));
void loom_coro_teardown(void);
/* From the body: runs the slot (starting it the first time) until it yields. */
void loom_coro_resume(int slot, const char *name);
/* From the slot's coroutine: back to the body, until the next resume. */
void loom_coro_yield(int slot);

#endif
