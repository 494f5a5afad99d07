/*
 * syscall.c — chapter 05, part 3: checking what a process passes, and doing what it asks.   (exercise skeleton)
 *
 * Portable: the host tests call k_syscall with frames and processes they build (addresses are just numbers
 * there); the kernel calls it with the frame on the process's stack. The rule of the whole file: a number a
 * process gave you is not a pointer until a check here has proved the whole range is the caller's. Never
 * dereference one yourself — the console write goes through env->console_write, after the check.
 *
 * Given: done() and fail(), which put a result in r0. Yours: every function marked TODO.
 */
#include "syscall.h"

/* A result for r0: a value, or a k_err, which reads as a number in [-4095, -1] (0xfffff001 and above). */
static k_action done(k_frame *f, uint32_t value)
{
    f->r0 = value;
    return K_ACT_RESUME;
}

static k_action fail(k_frame *f, k_err e) { return done(f, (uint32_t)(int32_t)e); }

bool k_range_within(uint32_t addr, uint32_t len, uint32_t lo, uint32_t size)
{
    /* TODO: is [addr, addr+len) inside [lo, lo+size)? The obvious `addr >= lo && addr + len <= lo + size` is
     * the classic kernel hole: addr + len wraps in 32 bits (RAM + 16 plus 0xfffffff8 is RAM + 8, "inside"), and
     * lo + size may be exactly 2^32, which wraps to 0. Compute the ends in uint64_t, or compare lengths
     * (len <= size - (addr - lo)) after checking addr. Rust: `checked_add`, or `usize` ranges that cannot wrap. */
    (void)addr;
    (void)len;
    (void)lo;
    (void)size;
    return false;
}

k_err k_check_buffer(const k_proc *p, uint32_t addr, uint32_t len, bool writable)
{
    /* TODO: (0, 0) is "no buffer": K_OK. Any other zero length or zero address with a length: K_ERR_INVAL.
     * Otherwise K_OK only if the whole range lies in the process's RAM (mem_start, mem_size), or — for a
     * read-only buffer — wholly in its code (code_start, code_size); else K_ERR_INVAL. Tock: `allow` checks
     * `in_app_owned_memory`; a buffer that reaches into the kernel would let the console driver print (or a
     * writable one overwrite) kernel memory on the process's behalf — the confused deputy. */
    (void)p;
    (void)addr;
    (void)len;
    (void)writable;
    return K_ERR_TODO;
}

bool k_stack_ok(const k_proc *p, uint32_t psp)
{
    /* TODO: psp 4-byte aligned, and the 64 bytes at psp (r4-r11, then the 8-word frame) inside the RAM. */
    (void)p;
    (void)psp;
    return false;
}

bool k_upcall_ok(const k_proc *p, uint32_t fn)
{
    /* TODO: bit 0 set (a Thumb address; without it the CPU faults on the jump), and the 2-byte instruction at
     * fn & ~1 inside the process's code. */
    (void)p;
    (void)fn;
    return false;
}

bool k_alarm_expire(k_proc *p, uint32_t now)
{
    /* TODO: if armed and due — (int32_t)(now - p->alarm_at) >= 0, which survives the wrap of the tick counter
     * where `now >= alarm_at` does not — disarm; then, if an upcall is subscribed, make it pending with
     * upcall_arg = now and return true. Otherwise return false. */
    (void)p;
    (void)now;
    return false;
}

bool k_upcall_deliver(k_proc *p, k_frame *f)
{
    /* TODO: if an upcall is pending, clear the flag and rewrite the frame so the process resumes in it:
     * lr = old pc | 1 (it returns to just after its svc, in Thumb state), pc = upcall_fn & ~1, r0 = upcall_arg,
     * r1 = r2 = 0, r3 = upcall_data; return true. Otherwise change nothing and return false. */
    (void)p;
    (void)f;
    return false;
}

k_action k_syscall(const k_env *env, k_proc *p, unsigned cls, k_frame *f)
{
    /* TODO: dispatch on cls (syscall.h has the table); one static function per class reads best.
     *   yield:     r0 = K_YIELD_NO_WAIT -> deliver a pending upcall if any, K_ACT_YIELD;
     *              r0 = K_YIELD_WAIT -> deliver and K_ACT_RESUME if one is pending, else K_ACT_WAIT;
     *              anything else -> K_ERR_INVAL.
     *   subscribe: driver K_DRV_ALARM, number 0 only (NODEVICE / INVAL); fn 0 unsubscribes (and cancels a
     *              pending upcall), any other fn must pass k_upcall_ok (INVAL, nothing stored); store fn, data.
     *   command:   K_CMD_EXISTS -> 0 for the two drivers; alarm: K_ALARM_NOW -> env->now, K_ALARM_SET ->
     *              alarm_at = now + arg1 (refuse arg1 > 0x7fffffff), armed; console: K_CONSOLE_WRITE ->
     *              RESERVE if nothing is allowed, SIZE if arg1 > ro_len, else env->console_write(ro_addr, arg1).
     *              Unknown driver: NODEVICE; unknown command: NOSUPPORT.
     *   allow rw / ro: driver K_DRV_CONSOLE, number 0; k_check_buffer(writable = class is ALLOW_RW); a refused
     *              allow leaves the previous buffer allowed; store (addr, len); 0.
     *   memop:     RAM_START, RAM_END, CODE_START, CODE_END of the caller; NOSUPPORT otherwise.
     *   exit:      K_EXIT_TERMINATE -> exit_code = r1, K_ACT_EXIT; other kinds NOSUPPORT.
     *   other classes: NOSUPPORT.
     * Every error goes back in r0 through fail() with K_ACT_RESUME: a bad argument is the process's problem,
     * never the kernel's. */
    (void)env;
    (void)p;
    (void)cls;
    return fail(f, K_ERR_TODO);
}
