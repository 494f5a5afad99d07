/*
 * sys_x86_64.c — chapter 02, part 1: raw system calls on x86_64 Linux.   (reference solution)
 *
 * One asm block per arity, all the same shape (musl's arch/x86_64/syscall_arch.h has the same seven). The
 * operands say which register carries what (sys_x86_64.h has the table); the clobbers say what the asm destroys
 * beyond its outputs. Both are promises to the compiler, which plans its register use around them and checks
 * neither: a wrong promise compiles cleanly and breaks the code *around* the call, only where the call is inlined.
 *
 *   volatile  the call has effects the outputs do not show: never delete it, merge two, or move it out of a loop.
 *   "rcx", "r11"  the `syscall` instruction writes the return address to rcx and rflags to r11.
 *   "memory"  the kernel may read or write any memory the caller passed an address of; a pointer passed as a
 *             number in a register does not tell the compiler that the pointee is used.
 *
 * r10, r8 and r9 have no constraint letter, so arguments 4-6 use GCC's local register variables, whose only
 * guaranteed use is exactly this: pinning an asm operand to a register.
 */
#include "sys.h"

#if defined(__x86_64__)

/* SAFETY (every function below): the asm touches only the registers named in its operands and clobbers; whether
 * the call itself is safe (valid descriptors, buffers the caller owns) is the caller's contract, as with Rust's
 * `unsafe fn syscallN`. */

uintptr_t sys_call0(uintptr_t n)
{
    uintptr_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n) : "rcx", "r11", "memory");
    return ret;
}

uintptr_t sys_call1(uintptr_t n, uintptr_t a1)
{
    uintptr_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a1) : "rcx", "r11", "memory");
    return ret;
}

uintptr_t sys_call2(uintptr_t n, uintptr_t a1, uintptr_t a2)
{
    uintptr_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a1), "S"(a2) : "rcx", "r11", "memory");
    return ret;
}

uintptr_t sys_call3(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3)
{
    uintptr_t ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a1), "S"(a2), "d"(a3) : "rcx", "r11", "memory");
    return ret;
}

/* clang-format off */
uintptr_t sys_call4(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4)
{
    uintptr_t ret;
    register uintptr_t r10 __asm__("r10") = a4;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

uintptr_t sys_call5(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5)
{
    uintptr_t ret;
    register uintptr_t r10 __asm__("r10") = a4;
    register uintptr_t r8 __asm__("r8") = a5;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}
/* clang-format on */

uintptr_t sys_call6(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5, uintptr_t a6)
{
    uintptr_t ret;
    register uintptr_t r10 __asm__("r10") = a4;
    register uintptr_t r8 __asm__("r8") = a5;
    register uintptr_t r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#endif
