/*
 * vectors.c — chapter 05, part 1: the vector table.   (given; linked into every kernel image)
 *
 * The first thing in flash (kernel.ld puts the `.vectors` section at address 0). On reset the CPU loads the stack
 * pointer from word 0 and jumps to word 1, k_reset (boot.c); every later exception jumps to the word of its
 * number. Cortex-M3 only: on the host this file compiles to nothing.
 */
#include "kernel.h"

#if defined(__arm__)

/* The top of the kernel's stack (MSP), defined by kernel.ld. */
extern uint32_t _estack[];

/* NMI, DebugMonitor, PendSV and any interrupt: the kernel enables none of them, so one arriving is a bug. */
static void k_unexpected_handler(void) { k_panic("unexpected exception (NMI, DebugMon, PendSV or an interrupt)"); }

/* SAFETY: the CPU reads this table as 32-bit words: the initial MSP, then handler addresses (Thumb, bit 0 set,
 * which the compiler guarantees for function symbols). Its place, address 0, is fixed by kernel.ld. */
/* clang-format off */
__attribute__((section(".vectors"), used)) static const void *const k_vectors[16] = {
    _estack,               /*  0: initial main stack pointer */
    k_reset,               /*  1: reset */
    k_unexpected_handler,  /*  2: NMI */
    k_fault_handler,       /*  3: HardFault */
    k_fault_handler,       /*  4: MemManage (the MPU said no) */
    k_fault_handler,       /*  5: BusFault */
    k_fault_handler,       /*  6: UsageFault */
    0, 0, 0, 0,            /*  7-10: reserved */
    k_svc_handler,         /* 11: SVCall */
    k_unexpected_handler,  /* 12: DebugMonitor */
    0,                     /* 13: reserved */
    k_unexpected_handler,  /* 14: PendSV (unused: see the README on SVC- versus PendSV-based switching) */
    k_systick_handler,     /* 15: SysTick */
};
/* clang-format on */

#else
typedef int k_vectors_is_arm_only; /* the host build compiles this file to nothing */
#endif
