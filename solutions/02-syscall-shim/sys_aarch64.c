/*
 * sys_aarch64.c — chapter 02, part 5: raw system calls on aarch64 Linux.   (reference solution)
 *
 * The same seven functions as sys_x86_64.c, for `svc #0`: number in x8, arguments in x0-x5, result in x0
 * (sys_aarch64.h has the table). AArch64 has no constraint letter per register, so every operand is a local
 * register variable. x0 carries the first argument in and the result out, so it is an in-out operand ("+r");
 * sys_call0 has no first argument, so its x0 is output only. `svc` preserves every other register: the only
 * clobber left is "memory", for the same reason as on x86_64.
 */
#include "sys.h"

#if defined(__aarch64__)

/* SAFETY (every function below): the asm touches only x0 and the registers named as inputs; whether the call
 * itself is safe is the caller's contract, as with Rust's `unsafe fn syscallN`. */

uintptr_t sys_call0(uintptr_t n)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0");
    __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory");
    return x0;
}

uintptr_t sys_call1(uintptr_t n, uintptr_t a1)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0") = a1;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8) : "memory");
    return x0;
}

uintptr_t sys_call2(uintptr_t n, uintptr_t a1, uintptr_t a2)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0") = a1;
    register uintptr_t x1 __asm__("x1") = a2;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
    return x0;
}

uintptr_t sys_call3(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0") = a1;
    register uintptr_t x1 __asm__("x1") = a2;
    register uintptr_t x2 __asm__("x2") = a3;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}

uintptr_t sys_call4(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0") = a1;
    register uintptr_t x1 __asm__("x1") = a2;
    register uintptr_t x2 __asm__("x2") = a3;
    register uintptr_t x3 __asm__("x3") = a4;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
    return x0;
}

uintptr_t sys_call5(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0") = a1;
    register uintptr_t x1 __asm__("x1") = a2;
    register uintptr_t x2 __asm__("x2") = a3;
    register uintptr_t x3 __asm__("x3") = a4;
    register uintptr_t x4 __asm__("x4") = a5;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}

uintptr_t sys_call6(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5, uintptr_t a6)
{
    register uintptr_t x8 __asm__("x8") = n;
    register uintptr_t x0 __asm__("x0") = a1;
    register uintptr_t x1 __asm__("x1") = a2;
    register uintptr_t x2 __asm__("x2") = a3;
    register uintptr_t x3 __asm__("x3") = a4;
    register uintptr_t x4 __asm__("x4") = a5;
    register uintptr_t x5 __asm__("x5") = a6;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}

#endif
