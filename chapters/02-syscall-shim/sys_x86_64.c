/*
 * sys_x86_64.c — chapter 02, part 1: raw system calls on x86_64 Linux.   (exercise skeleton)
 *
 * Seven functions, one per arity, all the same shape: one GNU C extended-asm statement around the `syscall`
 * instruction. sys_x86_64.h has the register table; read it first. Each function currently returns -ENOSYS, the
 * kernel's own answer to a call it does not know, so the file compiles and the tests run.
 *
 * The shape (GCC manual, "Extended Asm"):
 *
 *     __asm__ volatile("syscall" : outputs : inputs : clobbers);
 *
 *   outputs   "=a"(ret): rax holds the result afterwards.
 *   inputs    "a"(n) for rax, "D"(a1) rdi, "S"(a2) rsi, "d"(a3) rdx. r10, r8 and r9 have no letter: declare
 *             `register uintptr_t r10 __asm__("r10") = a4;` and pass it as "r"(r10) — GCC guarantees a local
 *             register variable is in that register exactly when it is an asm operand, which is all we need.
 *   clobbers  everything the asm destroys that is not an output. This is where the study's Redox snippet goes
 *             wrong: see the TODO in sys_call0.
 *
 * The compiler checks none of this. A wrong constraint or a missing clobber compiles without a warning and breaks
 * the code *around* the call, and only where the call is inlined: a call into this file from another file is an
 * ordinary function call, across which the calling convention already assumes rcx, r11 and memory are lost. The
 * tests therefore also compile this file into a probe at -O2, where every call is inlined.
 *
 * The whole file is inside #if defined(__x86_64__): on aarch64 it compiles to nothing, and sys_aarch64.c
 * provides the same functions (cfg(target_arch) in Rust).
 */
#include "sys.h"

#if defined(__x86_64__)

uintptr_t sys_call0(uintptr_t n)
{
    /* TODO: put n in rax, execute `syscall`, return rax.
     * Rust: Redox's `syscall0` is one `asm!("syscall", inout("rax") a, ...)`. In Rust, `asm!` assumes the block
     * may read and write any memory unless told `nomem`; GCC assumes the opposite unless told "memory".
     * Traps, each caught by a test:
     *   - `syscall` writes the return address into rcx and RFLAGS into r11. The study's snippet declares neither,
     *     so the compiler may keep a live value there across the call; list "rcx", "r11" as clobbers.
     *   - the kernel reads and writes memory the arguments point to: add "memory", or the compiler may keep a
     *     buffer's bytes in registers across the call (read() seems to change nothing).
     *   - mark the asm volatile: the call has effects beyond its output, and must not be merged, moved out of a
     *     loop, or deleted when its result goes unused. */
    (void)n;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call1(uintptr_t n, uintptr_t a1)
{
    /* TODO: as sys_call0, with a1 in rdi ("D"). */
    (void)n;
    (void)a1;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call2(uintptr_t n, uintptr_t a1, uintptr_t a2)
{
    /* TODO: a1 in rdi, a2 in rsi ("S"). */
    (void)n;
    (void)a1;
    (void)a2;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call3(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3)
{
    /* TODO: a1 in rdi, a2 in rsi, a3 in rdx ("d"). */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call4(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4)
{
    /* TODO: the fourth argument goes in r10 — not rcx, where a C function call would put it: `syscall` uses rcx
     * for the return address, so the kernel's ABI moved argument 4 to r10. Use a local register variable. */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call5(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5)
{
    /* TODO: as sys_call4, plus a5 in r8. */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    (void)a5;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call6(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5, uintptr_t a6)
{
    /* TODO: as sys_call5, plus a6 in r9. Six is the most Linux passes; mmap needs all of them. */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    (void)a5;
    (void)a6;
    return (uintptr_t)-SYS_ENOSYS;
}

#endif
