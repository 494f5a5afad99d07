/**
 * @file user.h
 * @brief Chapter 05: the process side of the system-call ABI — `svc` stubs and a few helpers (given).
 *
 * **Prefix.** `u_` (`U_` for macros) stands for *user*: code that runs in a process, unprivileged. The numbers
 * it passes keep the kernel's `K_` names (syscall.h).
 *
 * Processes include this, never the kernel headers' internals. On the ARM image each stub is one `svc`
 * instruction with the class as its immediate (syscall.h has the table); on the host, where there is no kernel
 * to call, every stub returns ::K_ERR_NOSUPPORT so the header still compiles.
 *
 * **Clobbers.** A yield may run an upcall before it returns: the upcall is an ordinary function call, so r0–r3,
 * r12 and lr are clobbered, and memory may have changed. The stub says so to the compiler; forgetting one is the
 * Redox `asm!` bug of chapter 02 again.
 */
#ifndef FERRITE_USER_H
#define FERRITE_USER_H

#include "syscall.h"

#include <stdint.h>

/** Signature of an upcall: (tick, 0, 0, userdata). @rust Tock's `Upcall` function pointer in libtock */
typedef void (*u_upcall_fn)(uint32_t arg0, uint32_t arg1, uint32_t arg2, void *userdata);

#if defined(__arm__)
/** One system call of class @p cls with four arguments; r0 comes back. */
#define U_SVC4(cls, a0, a1, a2, a3)                                                                          \
    __extension__({                                                                                          \
        register uint32_t r0_ __asm__("r0") = (uint32_t)(a0);                                                \
        register uint32_t r1_ __asm__("r1") = (uint32_t)(a1);                                                \
        register uint32_t r2_ __asm__("r2") = (uint32_t)(a2);                                                \
        register uint32_t r3_ __asm__("r3") = (uint32_t)(a3);                                                \
        __asm__ volatile("svc %[c]" : "+r"(r0_), "+r"(r1_), "+r"(r2_), "+r"(r3_) : [c] "i"(cls) : "memory"); \
        r0_;                                                                                                 \
    })
#endif

/** @brief yield-wait: block, using no CPU, until an upcall has run. @rust libtock's `yield_wait` */
static inline void u_yield_wait(void)
{
#if defined(__arm__)
    register uint32_t r0 __asm__("r0") = K_YIELD_WAIT;
    /* SAFETY: the kernel may run an upcall (an AAPCS call) before control comes back here. */
    __asm__ volatile("svc %[c]" : "+r"(r0) : [c] "i"(K_SYS_YIELD) : "r1", "r2", "r3", "r12", "lr", "memory", "cc");
#endif
}

/** @brief yield-no-wait: run a pending upcall if any, and let other processes run. @rust `yield_no_wait` */
static inline void u_yield(void)
{
#if defined(__arm__)
    register uint32_t r0 __asm__("r0") = K_YIELD_NO_WAIT;
    /* SAFETY: as u_yield_wait. */
    __asm__ volatile("svc %[c]" : "+r"(r0) : [c] "i"(K_SYS_YIELD) : "r1", "r2", "r3", "r12", "lr", "memory", "cc");
#endif
}

/** @brief Subscribe @p fn to @p driver's upcall @p num. @return 0 or a negative ::k_err. @rust `subscribe` */
static inline int32_t u_subscribe(uint32_t driver, uint32_t num, u_upcall_fn fn, void *userdata)
{
#if defined(__arm__)
    return (int32_t)U_SVC4(K_SYS_SUBSCRIBE, driver, num, (uint32_t)fn, (uint32_t)userdata);
#else
    (void)driver, (void)num, (void)fn, (void)userdata;
    return K_ERR_NOSUPPORT;
#endif
}

/** @brief Command @p cmd of @p driver. @return a value, or a negative ::k_err. @rust `command` */
static inline int32_t u_command(uint32_t driver, uint32_t cmd, uint32_t arg1, uint32_t arg2)
{
#if defined(__arm__)
    return (int32_t)U_SVC4(K_SYS_COMMAND, driver, cmd, arg1, arg2);
#else
    (void)driver, (void)cmd, (void)arg1, (void)arg2;
    return K_ERR_NOSUPPORT;
#endif
}

/** @brief Lend @p driver a buffer to read (addresses as integers, so bad ones can be tried). @rust `allow_ro` */
static inline int32_t u_allow_ro(uint32_t driver, uint32_t num, uint32_t addr, uint32_t len)
{
#if defined(__arm__)
    return (int32_t)U_SVC4(K_SYS_ALLOW_RO, driver, num, addr, len);
#else
    (void)driver, (void)num, (void)addr, (void)len;
    return K_ERR_NOSUPPORT;
#endif
}

/** @brief Lend @p driver a buffer to write. @rust `allow_rw` */
static inline int32_t u_allow_rw(uint32_t driver, uint32_t num, uint32_t addr, uint32_t len)
{
#if defined(__arm__)
    return (int32_t)U_SVC4(K_SYS_ALLOW_RW, driver, num, addr, len);
#else
    (void)driver, (void)num, (void)addr, (void)len;
    return K_ERR_NOSUPPORT;
#endif
}

/** @brief Memop @p op. @return an address, or a negative ::k_err. @rust `memop` */
static inline uint32_t u_memop(uint32_t op)
{
#if defined(__arm__)
    return U_SVC4(K_SYS_MEMOP, op, 0, 0, 0);
#else
    (void)op;
    return (uint32_t)K_ERR_NOSUPPORT;
#endif
}

/** @brief Stop this process with @p code. Never returns. @rust `exit_terminate` */
static inline __attribute__((noreturn)) void u_exit(int32_t code)
{
#if defined(__arm__)
    (void)U_SVC4(K_SYS_EXIT, K_EXIT_TERMINATE, code, 0, 0);
#else
    (void)code;
#endif
    for (;;) {
    }
}

/**
 * @brief Writes @p len bytes at @p s (the process's own memory or code) to the console. @return bytes or error.
 * @rust libtock's `Console::write`: allow, command, yield for the upcall
 */
static inline int32_t u_write(const char *s, uint32_t len)
{
    int32_t e = u_allow_ro(K_DRV_CONSOLE, 0, (uint32_t)(uintptr_t)s, len);
    if (e < 0)
        return e;
    int32_t n = u_command(K_DRV_CONSOLE, K_CONSOLE_WRITE, len, 0);
    (void)u_allow_ro(K_DRV_CONSOLE, 0, 0, 0); /* take the buffer back */
    return n;
}

/**
 * @brief Prints one line: @p text, then @p value in decimal unless @p with_value is 0, then a newline.
 * @rust `writeln!` on libtock's console, in a `no_std` app
 */
static inline void u_line(const char *text, int32_t value, int with_value)
{
    char buf[64];
    uint32_t n = 0;
    while (*text && n < sizeof buf - 14)
        buf[n++] = *text++;
    if (with_value) {
        uint32_t v = value < 0 ? 0u - (uint32_t)value : (uint32_t)value;
        char digits[10];
        uint32_t k = 0;
        do {
            digits[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        if (value < 0)
            buf[n++] = '-';
        while (k)
            buf[n++] = digits[--k];
    }
    buf[n++] = '\n';
    (void)u_write(buf, n);
}

/** @brief Prints @p text and a newline. @rust `writeln!(console, "{}", text)` */
static inline void u_puts(const char *text) { u_line(text, 0, 0); }

/** @brief Prints @p text followed by @p value and a newline. @rust `writeln!(console, "{}{}", text, value)` */
static inline void u_print(const char *text, int32_t value) { u_line(text, value, 1); }

/**
 * @brief Burns about @p n * 4 instructions without a system call (for preemption tests).
 * @rust `for _ in 0..n { core::hint::spin_loop() }`
 */
static inline void u_spin(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++) {
    }
}

/** The upcall u_sleep() subscribes: sets the flag whose address it was given. @rust a libtock `Upcall` */
static inline void u_sleep_fired(uint32_t now, uint32_t a1, uint32_t a2, void *flag)
{
    (void)now, (void)a1, (void)a2;
    *(volatile int *)flag = 1;
}

/**
 * @brief Blocks in yield-wait for @p ticks SysTick ticks (100 us each). @return 0 or a negative ::k_err.
 * @rust libtock's `Alarm::sleep_for`
 */
static inline int32_t u_sleep(uint32_t ticks)
{
    volatile int fired = 0;
    int32_t e = u_subscribe(K_DRV_ALARM, 0, u_sleep_fired, (void *)&fired);
    if (e < 0)
        return e;
    e = u_command(K_DRV_ALARM, K_ALARM_SET, ticks, 0);
    if (e < 0)
        return e;
    while (!fired)
        u_yield_wait();
    return 0;
}

#endif
