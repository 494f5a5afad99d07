/*
 * loom_coro.c — the model threads' coroutines: one per thread slot, each on its own stack, all on the test's OS
 * thread, so exactly one runs at a time.
 *
 * Coroutines rather than OS threads: a switch needs no scheduler, so a few hundred thousand of them stay fast on a
 * loaded two-core machine, where a handoff between OS threads can cost milliseconds. On x86-64 a switch is the
 * dozen instructions of loom_switch_stack_ below (swapcontext would add a sigprocmask system call to every switch,
 * which measured 90% of the run time here); elsewhere it is ucontext. Each switch is announced to AddressSanitizer
 * and ThreadSanitizer with their fiber annotations (ThreadSanitizer then orders everything before a switch before
 * everything after it), and each stack is registered with Valgrind.
 *
 * A slot's coroutine is started once per search and lives until loom_coro_teardown(): its entry function never
 * returns, it yields back to the body whenever it waits.
 */
#define _GNU_SOURCE
#include "loom_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#define LOOM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOOM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LOOM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LOOM_TSAN 1
#endif
#endif

#ifdef LOOM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef LOOM_TSAN
/* ThreadSanitizer's fiber interface (compiler-rt's tsan_interface.h; gcc's copy of the header omits it, its
 * runtime has it). A switch without the "no sync" flag orders everything before it before everything after it. */
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_set_fiber_name(void *fiber, const char *name);
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LOOM_VALGRIND 1
#endif

/* A coroutine's saved state: its stack pointer (the registers are on its stack), or a ucontext. */
#if defined(__x86_64__)
typedef struct coro {
    void *sp;
} coro;
/* loom_switch_stack_(&from, to): pushes the callee-saved registers (System V ABI), saves the stack pointer in from, loads
 * to and pops the registers saved there. To the caller it is a function call that returns later, on its own stack,
 * when another coroutine switches back. */
void loom_switch_stack_(void **from, void *to) __attribute__((visibility("hidden")));
/* clang-format off */
__asm__(".text\n"
        ".globl loom_switch_stack_\n"
        ".hidden loom_switch_stack_\n"
        ".type loom_switch_stack_, @function\n"
        "loom_switch_stack_:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size loom_switch_stack_, .-loom_switch_stack_\n");
/* clang-format on */

/* A fresh coroutine: the stack holds six zero registers and, where loom_switch_stack_'s ret looks, the entry. */
static void coro_start(coro *c, char *stack, size_t size, void (*entry)(void))
{
    uintptr_t *sp = (uintptr_t *)(((uintptr_t)stack + size) & ~(uintptr_t)15);
    *--sp = 0;                /* a null return address above the entry ends a backtrace */
    *--sp = (uintptr_t)entry; /* 16-byte aligned: after ret, the stack is as a call leaves it */
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    c->sp = sp;
}
static void coro_switch(coro *from, coro *to) { loom_switch_stack_(&from->sp, to->sp); }
#else
typedef struct coro {
    ucontext_t uc;
} coro;
static void coro_start(coro *c, char *stack, size_t size, void (*entry)(void))
{
    if (getcontext(&c->uc) != 0)
        abort();
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, entry, 0);
}
static void coro_switch(coro *from, coro *to)
{
    if (swapcontext(&from->uc, &to->uc) != 0)
        abort();
}
#endif

enum { STACK_SIZE = 128 * 1024 }; /* per slot; ASan's frames are large */

static struct {
    coro co[LOOM_MAX_THREADS];
    bool started[LOOM_MAX_THREADS];
    char *stacks[LOOM_MAX_THREADS];
    unsigned stack_ids[LOOM_MAX_THREADS]; /* Valgrind's */
    void *fibers[LOOM_MAX_THREADS];       /* ThreadSanitizer's */
    void (*entry)(int slot);              /* what each slot runs */
    int starting;                         /* the slot whose coroutine is starting */
    coro body;                            /* the test's own stack, while a slot runs */
    const void *body_stack;
    size_t body_stack_size;
    void *body_fiber;
} C;

void loom_coro_setup(void (*entry)(int slot))
{
    C.entry = entry;
    for (int i = 0; i < LOOM_MAX_THREADS; i++) {
        C.started[i] = false;
        C.stacks[i] = malloc(STACK_SIZE);
        if (!C.stacks[i]) {
            fprintf(stderr, "loom: out of memory for a coroutine's stack\n");
            abort();
        }
#ifdef LOOM_VALGRIND
        C.stack_ids[i] = VALGRIND_STACK_REGISTER(C.stacks[i], C.stacks[i] + STACK_SIZE);
#endif
    }
#ifdef LOOM_TSAN
    C.body_fiber = __tsan_get_current_fiber();
#endif
}

void loom_coro_teardown(void)
{
    for (int i = 0; i < LOOM_MAX_THREADS; i++) { /* the coroutines are left where they wait: forgotten */
#ifdef LOOM_TSAN
        if (C.started[i])
            __tsan_destroy_fiber(C.fibers[i]);
#endif
        C.started[i] = false;
#ifdef LOOM_VALGRIND
        VALGRIND_STACK_DEREGISTER(C.stack_ids[i]);
#endif
#ifdef LOOM_ASAN
        __asan_unpoison_memory_region(C.stacks[i], STACK_SIZE); /* frames left poisoned by the coroutines */
#endif
        free(C.stacks[i]);
        C.stacks[i] = NULL;
    }
}

/* The first frame of every coroutine. */
static void coro_entry(void)
{
#ifdef LOOM_ASAN
    __sanitizer_finish_switch_fiber(NULL, &C.body_stack, &C.body_stack_size);
#endif
    C.entry(C.starting);
    abort(); /* the entry never returns: it yields */
}

void loom_coro_resume(int slot, const char *name)
{
    if (!C.started[slot]) {
        coro_start(&C.co[slot], C.stacks[slot], STACK_SIZE, coro_entry);
#ifdef LOOM_TSAN
        C.fibers[slot] = __tsan_create_fiber(0);
        __tsan_set_fiber_name(C.fibers[slot], name);
#endif
        C.started[slot] = true;
        C.starting = slot;
    }
    (void)name;
#ifdef LOOM_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, C.stacks[slot], STACK_SIZE);
#endif
#ifdef LOOM_TSAN
    __tsan_switch_to_fiber(C.fibers[slot], 0);
#endif
    coro_switch(&C.body, &C.co[slot]);
#ifdef LOOM_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

void loom_coro_yield(int slot)
{
#ifdef LOOM_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, C.body_stack, C.body_stack_size);
#endif
#ifdef LOOM_TSAN
    __tsan_switch_to_fiber(C.body_fiber, 0);
#endif
    coro_switch(&C.co[slot], &C.body);
#ifdef LOOM_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}
