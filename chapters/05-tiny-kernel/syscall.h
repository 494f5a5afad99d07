/**
 * @file syscall.h
 * @brief Chapter 05, part 3: Tock-style system calls — the ABI, the argument checks, the dispatcher (portable).
 *
 * **Prefix.** `k_` (`K_` for constants) stands for *kernel*, as in kernel.h.
 *
 * A process calls the kernel with `svc #class`; the class is the instruction's immediate, as in Tock 2.0:
 *
 * | class | r0 | r1 | r2 | r3 | returns in r0 |
 * |---|---|---|---|---|---|
 * | 0 yield | 0 no-wait / 1 wait | | | | (an upcall may run first) |
 * | 1 subscribe | driver | number | upcall fn | userdata | K_OK or an error |
 * | 2 command | driver | command | arg1 | arg2 | a value >= 0 or an error |
 * | 3 allow read-write | driver | number | address | length | K_OK or an error |
 * | 4 allow read-only | driver | number | address | length | K_OK or an error |
 * | 5 memop | operation | | | | an address or an error |
 * | 6 exit | 0 terminate | code | | | does not return |
 *
 * r0 comes back as a 32-bit value; an error is a negative ::k_err, so as an unsigned number it is 0xfffff001 or
 * above (Linux's rule: [-4095, -1] is an error). Addresses (0x2001xxxx) and tick counts are below that.
 *
 * **The kernel never trusts a process.** Every address and length is an integer until a check here proves that
 * the whole range lies inside memory the caller owns; an allowed buffer must be re-checked by nobody later
 * because nothing can move it. Errors go back in r0 as negative ::k_err values; a bad argument never faults the
 * kernel and never stops another process.
 */
#ifndef FERRITE_SYSCALL_H
#define FERRITE_SYSCALL_H

#include "kernel.h"

#include <stddef.h>

/** System-call classes: the `svc` immediate. @rust Tock's `SyscallClass` */
enum k_syscall_class {
    K_SYS_YIELD = 0,     /**< give up the CPU; wait for an upcall */
    K_SYS_SUBSCRIBE = 1, /**< register an upcall */
    K_SYS_COMMAND = 2,   /**< ask a driver to do something */
    K_SYS_ALLOW_RW = 3,  /**< lend the kernel a buffer to write */
    K_SYS_ALLOW_RO = 4,  /**< lend the kernel a buffer to read */
    K_SYS_MEMOP = 5,     /**< ask about the process's own memory */
    K_SYS_EXIT = 6,      /**< stop */
};

/** Yield kinds (r0 of class 0). */
enum k_yield_kind {
    K_YIELD_NO_WAIT = 0, /**< run a pending upcall if there is one; go to the back of the queue either way */
    K_YIELD_WAIT = 1,    /**< block, using no CPU, until an upcall is pending; then run it */
};

/** Drivers (r0 of subscribe, command and allow). */
enum k_driver {
    K_DRV_ALARM = 0,   /**< ticks and a one-shot alarm; subscribe number 0 is its upcall */
    K_DRV_CONSOLE = 1, /**< the UART; read-only allow number 0 is the text to write */
};

/** Commands (r1 of class 2). Command 0 of any driver answers "does this driver exist". */
enum k_command {
    K_CMD_EXISTS = 0,    /**< K_OK for a known driver, K_ERR_NODEVICE otherwise */
    K_ALARM_NOW = 1,     /**< returns the current tick */
    K_ALARM_SET = 2,     /**< fires the upcall arg1 ticks from now */
    K_CONSOLE_WRITE = 1, /**< writes the first arg1 bytes of the read-only allowed buffer; returns arg1 */
};

/** Memop operations (r0 of class 5), numbered as Tock's. */
enum k_memop {
    K_MEMOP_RAM_START = 2,  /**< first byte of the caller's RAM */
    K_MEMOP_RAM_END = 3,    /**< one past its last byte */
    K_MEMOP_CODE_START = 4, /**< first byte of its code */
    K_MEMOP_CODE_END = 5,   /**< one past its last byte */
};

/** Exit kinds (r0 of class 6). */
enum k_exit_kind {
    K_EXIT_TERMINATE = 0, /**< stop for good with the code in r1 */
};

/**
 * @brief What the kernel's loop must do with the process after a system call.
 * @rust the `Option<SyscallReturn>` / process-state change Tock's `handle_syscall` makes
 */
typedef enum k_action {
    K_ACT_RESUME, /**< give the CPU straight back (r0 holds the result) */
    K_ACT_YIELD,  /**< put it at the back of its ready queue */
    K_ACT_WAIT,   /**< it is now ::K_YIELDED: off every queue until an upcall is pending */
    K_ACT_EXIT,   /**< it is ::K_EXITED with its exit_code set */
} k_action;

/**
 * @brief The services a system call may use, injected so that the dispatcher runs unchanged on the host.
 * @rust the capsules a Tock board hands the kernel (console, alarm)
 */
typedef struct k_env {
    uint32_t now; /**< current tick */
    /** Writes @p len bytes at process address @p addr (already checked) to the console; returns bytes written. */
    uint32_t (*console_write)(void *ctx, uint32_t addr, uint32_t len);
    void *ctx; /**< passed to console_write */
} k_env;

/**
 * @brief Whether [addr, addr+len) lies inside [lo, lo+size), computed without ever overflowing.
 *
 * A zero-length range is inside when `lo <= addr <= lo + size`. `addr + len` may exceed 2^32 (the range wraps):
 * that is never inside. `lo + size` may reach exactly 2^32.
 * @rust `range.start >= lo && range.len() <= (lo + size) - range.start` with checked arithmetic
 */
bool k_range_within(uint32_t addr, uint32_t len, uint32_t lo, uint32_t size);

/**
 * @brief Checks a buffer a process lends the kernel.
 *
 * (0, 0) means "no buffer" and is accepted. Otherwise the whole range must lie in the process's RAM; a
 * read-only buffer may instead lie wholly in its code (string literals live there). A range that straddles the
 * two, or touches anything else — the kernel, another process, a device — is refused.
 * @param p the caller; borrowed.
 * @param addr first byte, a process address (an integer, not yet a pointer).
 * @param len bytes.
 * @param writable true for allow read-write.
 * @return ::K_OK or ::K_ERR_INVAL.
 * @rust Tock's `allow_readwrite` / `allow_readonly` calling `in_app_owned_memory` / `in_app_flash_memory`
 */
FT_MUST_USE k_err k_check_buffer(const k_proc *p, uint32_t addr, uint32_t len, bool writable);

/**
 * @brief Whether a saved stack pointer leaves r4–r11 and a whole ::k_frame (64 bytes) inside the process's RAM,
 *        4-byte aligned.
 * @rust the `stack_pointer` check in Tock's `switch_to_process`
 */
bool k_stack_ok(const k_proc *p, uint32_t psp);

/**
 * @brief Whether @p fn may be used as an upcall: a Thumb address (bit 0 set) whose instruction (2 bytes at
 *        `fn & ~1`) lies in the process's code.
 * @rust the function-pointer check Tock makes in `subscribe`
 */
bool k_upcall_ok(const k_proc *p, uint32_t fn);

/**
 * @brief Fires @p p's alarm if it is armed and due at @p now, comparing ticks modulo 2^32.
 *
 * Due means `now - alarm_at`, as a signed 32-bit difference, is >= 0 (so it works across the wrap of the tick
 * counter). On firing: the alarm disarms; if an upcall is subscribed it becomes pending with argument @p now.
 * @return true when an upcall became pending (the kernel then wakes the process if it is ::K_YIELDED).
 * @rust Tock's `VirtualMuxAlarm` comparing `Ticks` with `within_range`
 */
bool k_alarm_expire(k_proc *p, uint32_t now);

/**
 * @brief Delivers a pending upcall by rewriting the frame the process will resume from.
 *
 * If none is pending, returns false and changes nothing. Otherwise the process resumes *in the upcall*:
 * `r0 = upcall_arg, r1 = r2 = 0, r3 = upcall_data, pc = upcall_fn & ~1, lr = old pc | 1` — when the upcall
 * returns, it lands just after the `svc` that yielded. Clears the pending flag.
 * @rust Tock's `Process::set_process_function`
 */
bool k_upcall_deliver(k_proc *p, k_frame *f);

/**
 * @brief Performs system call @p cls for process @p p with arguments r0–r3 in @p f; the result goes in f->r0.
 *
 * Validates every argument (drivers, numbers, buffers, upcall pointers); an invalid one gives a negative
 * ::k_err in r0 and ::K_ACT_RESUME. Never dereferences a process address itself: the console write goes
 * through @p env after the range was checked.
 * @param env services; borrowed.
 * @param p the caller, in state ::K_RUNNING (any other state is a kernel bug, which the reference solution stops
 *        with ::K_ASSERT); its fields change as the call says.
 * @param cls the svc immediate (any value: unknown classes give ::K_ERR_NOSUPPORT).
 * @param f the caller's frame; borrowed, rewritten.
 * @rust Tock's `Kernel::handle_syscall`
 */
k_action k_syscall(const k_env *env, k_proc *p, unsigned cls, k_frame *f);

#endif
