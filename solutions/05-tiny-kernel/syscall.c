/*
 * syscall.c — chapter 05, part 3: checking what a process passes, and doing what it asks.   (reference solution)
 *
 * Portable: the host tests call k_syscall with frames and processes they build; the kernel calls it with the
 * frame on the process's stack. Nothing here dereferences an address a process supplied — addresses are
 * integers that are compared, stored, and handed to env->console_write only after a check.
 */
#include "syscall.h"

bool k_range_within(uint32_t addr, uint32_t len, uint32_t lo, uint32_t size)
{
    /* In 64 bits no sum can wrap: addr + len < 2^33 and lo + size < 2^33. */
    uint64_t end = (uint64_t)addr + len;
    return addr >= lo && end <= (uint64_t)lo + size;
}

k_err k_check_buffer(const k_proc *p, uint32_t addr, uint32_t len, bool writable)
{
    if (addr == 0 && len == 0)
        return K_OK; /* "no buffer": the kernel forgets the old one */
    if (len == 0)
        return K_ERR_INVAL; /* a zero-length buffer somewhere is meaningless; only (0, 0) unallows */
    if (k_range_within(addr, len, p->mem_start, p->mem_size))
        return K_OK;
    if (!writable && k_range_within(addr, len, p->code_start, p->code_size))
        return K_OK;
    return K_ERR_INVAL;
}

bool k_stack_ok(const k_proc *p, uint32_t psp)
{
    return (psp & 3u) == 0 && k_range_within(psp, 8 * 4 + sizeof(k_frame), p->mem_start, p->mem_size);
}

bool k_upcall_ok(const k_proc *p, uint32_t fn)
{
    return (fn & 1u) != 0 && k_range_within(fn & ~1u, 2, p->code_start, p->code_size);
}

bool k_alarm_expire(k_proc *p, uint32_t now)
{
    /* Ticks wrap: compare the distance, as a signed number, never the raw values. */
    if (!p->alarm_armed || (int32_t)(now - p->alarm_at) < 0)
        return false;
    p->alarm_armed = false;
    if (p->upcall_fn == 0)
        return false;
    p->upcall_pending = true;
    p->upcall_arg = now;
    return true;
}

bool k_upcall_deliver(k_proc *p, k_frame *f)
{
    if (!p->upcall_pending)
        return false;
    p->upcall_pending = false;
    f->lr = f->pc | 1u; /* the upcall returns to just after the svc, in Thumb state */
    f->pc = p->upcall_fn & ~1u;
    f->r0 = p->upcall_arg;
    f->r1 = 0;
    f->r2 = 0;
    f->r3 = p->upcall_data;
    return true;
}

/* A result for r0: a value, or a k_err, which reads as a number in [-4095, -1] (0xfffff001 and above). */
static k_action done(k_frame *f, uint32_t value)
{
    f->r0 = value;
    return K_ACT_RESUME;
}

static k_action fail(k_frame *f, k_err e) { return done(f, (uint32_t)(int32_t)e); }

static k_action sys_yield(k_proc *p, k_frame *f)
{
    if (f->r0 == K_YIELD_NO_WAIT) {
        k_upcall_deliver(p, f);
        return K_ACT_YIELD;
    }
    if (f->r0 != K_YIELD_WAIT)
        return fail(f, K_ERR_INVAL);
    if (k_upcall_deliver(p, f))
        return K_ACT_RESUME; /* something was already waiting: no reason to block */
    return K_ACT_WAIT;
}

static k_action sys_subscribe(k_proc *p, k_frame *f)
{
    if (f->r0 != K_DRV_ALARM)
        return fail(f, K_ERR_NODEVICE);
    if (f->r1 != 0)
        return fail(f, K_ERR_INVAL);
    if (f->r2 != 0 && !k_upcall_ok(p, f->r2))
        return fail(f, K_ERR_INVAL); /* jumping there would run kernel code, or anything, in the process */
    p->upcall_fn = f->r2;
    p->upcall_data = f->r3;
    if (f->r2 == 0)
        p->upcall_pending = false; /* unsubscribed: a pending call must not run a function that is gone */
    return done(f, 0);
}

static k_action cmd_alarm(const k_env *env, k_proc *p, k_frame *f)
{
    switch (f->r1) {
    case K_CMD_EXISTS:
        return done(f, 0);
    case K_ALARM_NOW:
        return done(f, env->now);
    case K_ALARM_SET:
        if (f->r2 > 0x7fffffffu)
            return fail(f, K_ERR_INVAL); /* past half the counter, "due" would already be true */
        p->alarm_at = env->now + f->r2;
        p->alarm_armed = true;
        return done(f, 0);
    }
    return fail(f, K_ERR_NOSUPPORT);
}

static k_action cmd_console(const k_env *env, k_proc *p, k_frame *f)
{
    switch (f->r1) {
    case K_CMD_EXISTS:
        return done(f, 0);
    case K_CONSOLE_WRITE:
        if (p->ro_len == 0)
            return fail(f, K_ERR_RESERVE);
        if (f->r2 > p->ro_len)
            return fail(f, K_ERR_SIZE); /* the length is a second, unchecked pointer: bound it */
        return done(f, env->console_write(env->ctx, p->ro_addr, f->r2));
    }
    return fail(f, K_ERR_NOSUPPORT);
}

static k_action sys_allow(k_proc *p, k_frame *f, bool writable)
{
    if (f->r0 != K_DRV_CONSOLE)
        return fail(f, K_ERR_NODEVICE);
    if (f->r1 != 0)
        return fail(f, K_ERR_INVAL);
    k_err e = k_check_buffer(p, f->r2, f->r3, writable);
    if (e != K_OK)
        return fail(f, e); /* the old buffer stays allowed: a refused call changes nothing */
    if (writable) {
        p->rw_addr = f->r2;
        p->rw_len = f->r3;
    } else {
        p->ro_addr = f->r2;
        p->ro_len = f->r3;
    }
    return done(f, 0);
}

static k_action sys_memop(k_proc *p, k_frame *f)
{
    switch (f->r0) {
    case K_MEMOP_RAM_START:
        return done(f, p->mem_start);
    case K_MEMOP_RAM_END:
        return done(f, p->mem_start + p->mem_size);
    case K_MEMOP_CODE_START:
        return done(f, p->code_start);
    case K_MEMOP_CODE_END:
        return done(f, p->code_start + p->code_size);
    }
    return fail(f, K_ERR_NOSUPPORT);
}

k_action k_syscall(const k_env *env, k_proc *p, unsigned cls, k_frame *f)
{
    /* Only the process on the CPU can trap: any other state means the loop handed over the wrong process. */
    K_ASSERT(p->state == K_RUNNING);
    switch (cls) {
    case K_SYS_YIELD:
        return sys_yield(p, f);
    case K_SYS_SUBSCRIBE:
        return sys_subscribe(p, f);
    case K_SYS_COMMAND:
        if (f->r0 == K_DRV_ALARM)
            return cmd_alarm(env, p, f);
        if (f->r0 == K_DRV_CONSOLE)
            return cmd_console(env, p, f);
        return fail(f, K_ERR_NODEVICE);
    case K_SYS_ALLOW_RW:
        return sys_allow(p, f, true);
    case K_SYS_ALLOW_RO:
        return sys_allow(p, f, false);
    case K_SYS_MEMOP:
        return sys_memop(p, f);
    case K_SYS_EXIT:
        if (f->r0 != K_EXIT_TERMINATE)
            return fail(f, K_ERR_NOSUPPORT);
        p->exit_code = (int32_t)f->r1;
        return K_ACT_EXIT;
    }
    return fail(f, K_ERR_NOSUPPORT);
}
