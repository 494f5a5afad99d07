/**
 * @file kernel.h
 * @brief Chapter 05: the kernel's shared types, its memory map, and the hardware half (Cortex-M3 only).
 *
 * **Prefix.** `k_` (`K_` for constants) stands for *kernel*: every name of the kernel's headers carries it. The
 * process side, user.h, has its own: `u_`, for *user*.
 *
 * The kernel is split along one line. Everything that is pure logic — the scheduler's queues (sched.h), the
 * checks on what a process passes to a system call (syscall.h), the arithmetic of MPU regions (mpu.h) — is
 * portable C, compiled twice: for the host, where the Check tests run it under ASan, UBSan and Valgrind, and for
 * the ARM image. Everything that touches the machine — the vector table, start-up, the UART, the context switch,
 * programming the MPU — is in boot.c, switch.c and kernel.c, and in the given vectors.c, console.c, runtime.c
 * and fault.c, which all compile to nothing on the host (`#if defined(__arm__)`) and are tested by booting images
 * under QEMU.
 *
 * **Error convention** (the whole chapter): a fallible function returns a ::k_err, ::K_OK (zero) or a negative
 * code. The codes are Tock's `ErrorCode` values, negated; a system call returns the same numbers to a process in
 * r0. They are marked ::FT_MUST_USE.
 *
 * **Ownership.** The kernel owns every ::k_proc (a static table; nothing is allocated) and the process's saved
 * context. A process owns its RAM region; the kernel reads or writes it only at addresses it has checked lie
 * inside that region. Numbers a process hands over are *untrusted*: the kernel treats them as integers, never as
 * pointers, until a check in syscall.c has said yes.
 *
 * **Concurrency.** One core. The kernel's loop runs in thread mode; the three handlers in switch.c only record
 * why the CPU came back (::k_trap_reason) and count ticks (::k_ticks). Nothing else is shared with a handler.
 */
#ifndef FERRITE_KERNEL_H
#define FERRITE_KERNEL_H

#include "ferrite.h"

#include <stdbool.h>
#include <stdint.h>

/**
 * @brief Status of a fallible operation: ::K_OK or a negative code (Tock's `ErrorCode`, negated).
 * @rust `Result<(), kernel::ErrorCode>`
 */
typedef enum k_err {
    K_OK = 0,              /**< success */
    K_ERR_FAIL = -1,       /**< generic failure */
    K_ERR_BUSY = -2,       /**< the resource is in use */
    K_ERR_ALREADY = -3,    /**< the state asked for is already the case (e.g. queued twice) */
    K_ERR_RESERVE = -5,    /**< a buffer the operation needs was never allowed */
    K_ERR_INVAL = -6,      /**< an argument is invalid: a pointer outside the caller's memory, a bad number */
    K_ERR_SIZE = -7,       /**< a length is too large for the buffer or region */
    K_ERR_NOSUPPORT = -10, /**< the operation is not implemented */
    K_ERR_NODEVICE = -11,  /**< no such driver */
    K_ERR_TODO = -99,      /**< returned by the exercise skeleton: not written yet */
} k_err;

/* ---- sizes and the memory map (kernel.ld must agree) ---------------------------------------------------------- */

/** Most processes one image can hold. */
#define K_MAX_PROCS 4
/** Number of priority levels; 0 is the lowest, `K_NPRIO - 1` the most urgent. */
#define K_NPRIO 4
/** SysTick reload: 2500 counts of the 25 MHz clock = 100 us = 100,000 instructions under `-icount shift=0`. */
#define K_TICK_COUNTS 2500u
/** Ticks a process may run before an equal-priority process that is ready gets the CPU. */
#define K_SLICE_TICKS 2u
/** Start and size of the flash that holds every process's code: one MPU region, read-only and executable. */
#define K_USER_CODE_BASE 0x00010000u
/** Size of the user-code flash window. @see K_USER_CODE_BASE */
#define K_USER_CODE_SIZE 0x00010000u
/** Start of process RAM: one slot per process, each aligned to its size so one MPU region can cover it. */
#define K_APP_RAM_BASE 0x20010000u
/** Bytes per process RAM slot. A process gets at most this much (its k_app::mem_size). */
#define K_APP_SLOT 4096u

/** QEMU exit status when the kernel panics. */
#define K_EXIT_PANIC 101
/** QEMU exit status contributed by a process that faulted (see k_main()). */
#define K_EXIT_FAULTED 100
/** QEMU exit status when k_main() returns, which it must never do (the skeleton does). */
#define K_EXIT_KERNEL_RETURNED 102

/* ---- processes ------------------------------------------------------------------------------------------------ */

/**
 * @brief The eight words the CPU pushes on the process stack when an exception is taken (lowest address first).
 *
 * On a system call, r0–r3 hold the arguments and r0 receives the result; `pc` is the address after the `svc`.
 * @rust the `ExceptionFrame` of cortex-m-rt; Tock's `stored_regs` plus the hardware-stacked frame
 */
typedef struct k_frame {
    uint32_t r0;   /**< first argument / result */
    uint32_t r1;   /**< second argument */
    uint32_t r2;   /**< third argument */
    uint32_t r3;   /**< fourth argument */
    uint32_t r12;  /**< scratch register */
    uint32_t lr;   /**< the process's link register */
    uint32_t pc;   /**< where the process resumes */
    uint32_t xpsr; /**< status register; bit 24 (Thumb) must stay set */
} k_frame;

/**
 * @brief Life cycle of a process. Only the kernel's loop changes it.
 * @rust Tock's `process::State`
 */
typedef enum k_state {
    K_UNUSED = 0, /**< slot not in use */
    K_READY,      /**< in the scheduler's ready queue */
    K_RUNNING,    /**< on the CPU (at most one) */
    K_YIELDED,    /**< blocked in yield-wait: off every queue, uses no CPU until an upcall is pending */
    K_FAULTED,    /**< stopped by the kernel after a fault; never runs again */
    K_EXITED,     /**< stopped by its own exit system call */
} k_state;

/**
 * @brief One process: what the kernel knows and keeps about it.
 *
 * Owned by the kernel's static table. Every address field is a process address (a plain `uint32_t`), never a C
 * pointer the kernel dereferences without a check. `stack_lo` and `stack_hi` must stay adjacent and in this
 * order: the context switch reads them as a pair.
 * @rust Tock's `Process` (its `stored_state`, its memory bounds, its grant of allowed buffers)
 */
typedef struct k_proc {
    const char *name;     /**< for reports; static string */
    uint8_t pid;          /**< index in the table, 0 .. K_MAX_PROCS-1 */
    uint8_t prio;         /**< fixed priority, 0 .. K_NPRIO-1 */
    k_state state;        /**< see ::k_state */
    uint32_t psp;         /**< saved stack pointer: r4–r11 (8 words) then a ::k_frame */
    uint32_t stack_lo;    /**< lowest psp the switch may store r4–r11 below: mem_start + 32 */
    uint32_t stack_hi;    /**< highest psp that still leaves room for a frame: mem_start + mem_size - 32 */
    uint32_t mem_start;   /**< first byte of the process's RAM */
    uint32_t mem_size;    /**< bytes of RAM; the MPU allows exactly [mem_start, mem_start + mem_size) */
    uint32_t code_start;  /**< first byte of code the process may execute and read */
    uint32_t code_size;   /**< bytes of code */
    uint32_t mpu_rbar;    /**< MPU region for the RAM, computed once at load (see mpu.h) */
    uint32_t mpu_rasr;    /**< attributes and size of that region */
    uint32_t ro_addr;     /**< read-only allow (console text); 0 with ro_len 0 when none */
    uint32_t ro_len;      /**< its length */
    uint32_t rw_addr;     /**< read-write allow; 0 with rw_len 0 when none */
    uint32_t rw_len;      /**< its length */
    uint32_t upcall_fn;   /**< subscribed alarm upcall (Thumb address, bit 0 set), 0 when none */
    uint32_t upcall_data; /**< passed back to the upcall in r3 */
    bool upcall_pending;  /**< an upcall is waiting to be delivered at the next yield */
    uint32_t upcall_arg;  /**< its first argument (the tick the alarm fired) */
    bool alarm_armed;     /**< the alarm driver will fire at alarm_at */
    uint32_t alarm_at;    /**< tick at which it fires (compared modulo 2^32) */
    int32_t exit_code;    /**< set by the exit system call */
    uint32_t runs;        /**< times the scheduler dispatched it, for reports and tests */
} k_proc;

/**
 * @brief How a scenario describes one process to start: the kernel loads these at boot.
 * @rust a Tock app's TBF header (name, entry point, memory size), here a static table
 */
typedef struct k_app {
    const char *name;            /**< for reports */
    void (*entry)(uint32_t arg); /**< first instruction; must never return (call u_exit()) */
    uint32_t arg;                /**< passed in r0 */
    uint8_t prio;                /**< fixed priority, 0 .. K_NPRIO-1 */
    uint32_t mem_size;           /**< bytes of RAM (stack); at most K_APP_SLOT, coverable by one MPU region */
} k_app;

/** The processes an image starts, defined by the scenario linked into it (tests/05-tiny-kernel/images/). */
extern const k_app k_apps[];
/** Number of entries in k_apps. */
extern const unsigned k_napps;

/* ---- the hardware half (Cortex-M3 only) --------------------------------------------------------------------------
 * Yours: boot.c, switch.c, kernel.c. Given, linked into every image: vectors.c (the vector table), console.c,
 * runtime.c and fault.c; each declaration below says where its definition lives. */

/** Why the CPU came back from a process; written by the handlers in switch.c. */
typedef enum k_trap {
    K_TRAP_NONE = 0, /**< nothing recorded */
    K_TRAP_SVC,      /**< the process made a system call */
    K_TRAP_TICK,     /**< SysTick preempted it */
    K_TRAP_FAULT,    /**< it faulted (MemManage, BusFault, UsageFault or HardFault) */
} k_trap;

/** Set by the handler that took the CPU back from a process. @rust the `ContextSwitchReason` Tock returns */
extern volatile uint32_t k_trap_reason;
/** SysTick interrupts since boot. @rust Tock's `Ticks` from its alarm HIL */
extern volatile uint32_t k_ticks;

/**
 * @brief Resumes a process until it traps back: loads r4–r11 from its stack, then enters it unprivileged on PSP.
 *
 * On return, r4–r11 of the process have been pushed below its hardware frame (on its own stack) and the new psp
 * is returned — unless that psp lay outside [bounds[0], bounds[1]], in which case nothing is stored and 0 comes
 * back: a process cannot make the kernel write outside its memory by moving its stack pointer.
 * @param psp saved stack pointer, pointing at r4 (checked by the caller with k_stack_ok()).
 * @param bounds `&proc->stack_lo` (stack_lo, stack_hi), borrowed for the call.
 * @rust Tock's `switch_to_user` (cortex-m crate, `svc 0xff`)
 */
uint32_t k_switch_to_user(uint32_t psp, const uint32_t *bounds);

/**
 * SVC exception: enters a process (from the kernel) or takes the CPU back (from a process).
 * @rust Tock's `cortexm::svc_handler`
 */
void k_svc_handler(void);
/**
 * SysTick exception: counts a tick; if a process was running, takes the CPU back.
 * @rust Tock's `cortexm::systick_handler`
 */
void k_systick_handler(void);
/**
 * MemManage, BusFault, UsageFault and HardFault: a process fault stops the process; a kernel fault panics.
 * @rust Tock's `hard_fault_handler`, then the board's `ProcessFaultPolicy`
 */
void k_fault_handler(void);

/** Reset handler: copies .data, zeroes .bss, runs k_main(). @rust cortex-m-rt's `Reset` and `#[entry]` */
void k_reset(void);
/**
 * @brief The kernel: boots, loads k_apps, schedules them until every one has stopped, then exits QEMU.
 *
 * Exit status: 0 if every process exited with code 0; otherwise, for the first process in table order that
 * did not, its exit code, or ::K_EXIT_FAULTED if it faulted.
 * @rust Tock's `Kernel::kernel_loop`
 */
void k_main(void);
/**
 * Called by k_main() after the banner: a pristine check that .data was copied (defined by the test images).
 * @rust an `extern "C"` hook the images provide, like cortex-m-rt's `#[pre_init]`
 */
void k_boot_check(void);
/**
 * Kernel fault (given, fault.c): prints the faulting pc and status registers, then panics.
 * @param frame the frame the CPU stacked on MSP; borrowed.
 * @rust cortex-m-rt's `#[exception] fn HardFault(ef: &ExceptionFrame)`
 */
void k_kernel_fault(const k_frame *frame) __attribute__((noreturn));

/** Enables the CMSDK UART0 transmitter. @rust a `Uart` HIL driver's `configure` */
void k_uart_init(void);
/** Sends one byte, waiting while the transmit buffer is full. @rust `core::fmt::Write::write_char` on the UART */
void k_putc(char c);
/**
 * Sends @p len bytes from @p buf (kernel memory, borrowed) with k_putc() (given, console.c).
 * @rust `core::fmt::Write::write_str` on the UART
 */
void k_write(const char *buf, uint32_t len);
/**
 * Minimal printf (given, console.c): `%s %c %d %u %x %08x %%` only; `%u` and `%x` take `unsigned` (cast a
 * uint32_t, which is `unsigned long` on this target). @p fmt and the strings are kernel memory, borrowed.
 * @rust `core::fmt` with `write!` to the UART
 */
void k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/**
 * The console driver k_main() puts in ::k_env (given, console.c): writes @p len bytes at process address @p addr.
 * @param ctx unused.
 * @param addr a process address: k_syscall() has checked that [addr, addr+len) lies in the caller's RAM or code.
 * @param len bytes to write.
 * @return @p len.
 * @rust Tock's console capsule writing a process's allowed buffer
 */
uint32_t k_console_write(void *ctx, uint32_t addr, uint32_t len);
/** Prints "kernel panic: " and @p msg, then exits QEMU with ::K_EXIT_PANIC. @rust `#[panic_handler]` */
void k_panic(const char *msg) __attribute__((noreturn));
/**
 * Semihosting SYS_EXIT_EXTENDED (given, runtime.c): QEMU exits with @p code.
 * @rust `cortex_m_semihosting::debug::exit`
 */
void k_semihost_exit(int code) __attribute__((noreturn));

/* ---- given helpers for the kernel's loop (here, sched.h and fault.c) ----------------------------------------------
 * The table (procs, nprocs) and the queues belong to kernel.c; these only touch what they are handed. The small
 * ones are static inline: the loop calls them on every pass, and a call into another file would lengthen every
 * context switch. */

struct k_sched;

/**
 * @brief The hardware frame of a process that is off the CPU: 32 bytes (its r4–r11) above its saved psp.
 * @param p a process whose psp passed k_stack_ok(); borrowed.
 * @return a pointer into the process's RAM, valid until the process runs again.
 * @rust the `ExceptionFrame` Tock reads through a process's `stored_state`
 */
static inline k_frame *k_frame_of(const k_proc *p)
{
    /* SAFETY: p->psp passed k_stack_ok: 32 bytes of r4-r11 then a whole frame lie in the process's RAM. */
    return (k_frame *)(uintptr_t)(p->psp + 32);
}
/**
 * @brief Whether any of the @p n processes at @p procs may still run (neither exited nor faulted).
 * @rust `processes.iter().any(|p| p.is_running())`
 */
static inline bool k_any_alive(const k_proc *procs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (procs[i].state != K_EXITED && procs[i].state != K_FAULTED)
            return true;
    return false;
}
/**
 * @brief The status QEMU exits with once the @p n processes at @p procs have stopped (the rule is k_main()'s).
 * @rust `processes.iter().find_map(|p| p.failure())`, mapped to an exit code
 */
static inline int k_exit_status(const k_proc *procs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (procs[i].state == K_FAULTED)
            return K_EXIT_FAULTED;
        if (procs[i].exit_code != 0)
            return (int)(procs[i].exit_code & 0xff);
    }
    return 0;
}
/**
 * @brief Prints why @p p faulted, read from the fault status registers (then cleared), and marks it ::K_FAULTED.
 * @param p the process that was running; borrowed.
 * @param stack_ok whether its saved psp passed k_stack_ok(): only then is its pc read and printed.
 * @rust Tock's `ProcessFaultPolicy` and `print_full_process`
 */
void k_report_fault(k_proc *p, bool stack_ok);

/* ---- preconditions -------------------------------------------------------------------------------------------- */

/**
 * @def K_ASSERT
 * Stops on a broken precondition: a bug in the kernel that called, never a process's doing (what a process
 * hands over is checked and refused with a ::k_err instead). On the host, where the tests run, it is `assert`;
 * on the ARM image, which has no C library to report an assert, it is k_panic() naming the condition. Like
 * `assert`, it checks nothing when NDEBUG is defined (the benchmark's release build).
 * @rust `debug_assert!`, a panic on a broken invariant
 */
#if defined(__arm__) && defined(NDEBUG)
#define K_ASSERT(cond) ((void)0)
#elif defined(__arm__)
#define K_ASSERT(cond) ((cond) ? (void)0 : k_panic("assertion failed: " #cond))
#else
#include <assert.h>
#define K_ASSERT(cond) assert(cond)
#endif

#endif
