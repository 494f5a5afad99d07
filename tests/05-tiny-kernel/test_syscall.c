/*
 * Part 3: system calls. The checks and the dispatcher are portable, so the tests run them on the host with a
 * process and a frame built here (addresses are plain numbers: nothing is dereferenced). The same code meets
 * real processes on QEMU in part 4 (a process that hands the kernel bad pointers) and part 5 (exit codes).
 */
#include "ferrite_test.h"
#include "syscall.h"

#include <stddef.h>
#include <string.h>

FT_PART(3, "system calls: validation and dispatch");

#define RAM 0x20011000u
#define CODE 0x00010000u

/* A process with 1 KiB of RAM at RAM and 64 KiB of code at CODE. */
static k_proc proc(void)
{
    return (k_proc){.name = "t",
                    .pid = 1,
                    .prio = 1,
                    .state = K_RUNNING,
                    .mem_start = RAM,
                    .mem_size = 1024,
                    .code_start = CODE,
                    .code_size = 0x10000};
}

/* The fake console: remembers what it was asked to write. */
struct console {
    int calls;
    uint32_t addr, len;
};
static uint32_t fake_write(void *ctx, uint32_t addr, uint32_t len)
{
    struct console *c = ctx;
    c->calls++;
    c->addr = addr;
    c->len = len;
    return len;
}

static k_action call(k_proc *p, struct console *c, unsigned cls, uint32_t r0, uint32_t r1, uint32_t r2, uint32_t r3,
                     k_frame *f)
{
    k_env env = {.now = 1000, .console_write = fake_write, .ctx = c};
    *f = (k_frame){.r0 = r0, .r1 = r1, .r2 = r2, .r3 = r3, .lr = 0x10101, .pc = 0x10200, .xpsr = 1u << 24};
    return k_syscall(&env, p, cls, f);
}

#define ERR(e) ((uint32_t)(int32_t)(e))

FT_TEST(3, range_within_accepts_exact_fits_and_refuses_overhangs, 1,
        "[addr, addr+len) inside [lo, lo+size): addr >= lo and the end <= lo + size. A zero-length range at the "
        "very end is inside; one byte more is not.")
{
    ck_assert(k_range_within(RAM, 1024, RAM, 1024));
    ck_assert(k_range_within(RAM + 1023, 1, RAM, 1024));
    ck_assert(k_range_within(RAM + 1024, 0, RAM, 1024));
    ck_assert(!k_range_within(RAM + 1023, 2, RAM, 1024));
    ck_assert(!k_range_within(RAM - 1, 1, RAM, 1024));
    ck_assert(!k_range_within(RAM + 1025, 0, RAM, 1024));
}

FT_TEST(3, range_within_refuses_lengths_that_wrap_around, 2,
        "addr + len computed in 32 bits wraps: RAM+16 plus 0xfffffff8 is RAM+8, which looks inside. Compare "
        "without overflowing — len <= size - (addr - lo) after checking addr — or compute in 64 bits.")
{
    ck_assert(k_range_within(RAM + 16, 1008, RAM, 1024));
    ck_assert(!k_range_within(RAM + 16, 0xfffffff8u, RAM, 1024));
    ck_assert(!k_range_within(0xfffffff0u, 0x20, 0xffffff00u, 0xf0));
    ck_assert(!k_range_within(RAM, 0xffffffffu, RAM, 1024));
}

FT_TEST(3, range_within_handles_a_region_ending_at_4_gib, 1,
        "lo + size may be exactly 2^32 (the top of the address space): in 32 bits it wraps to 0 and every "
        "range looks outside.")
{
    ck_assert(k_range_within(0xffffff00u, 0x100, 0xfffff000u, 0x1000));
    ck_assert(!k_range_within(0xffffff00u, 0x101, 0xfffff000u, 0x1000));
}

FT_TEST(3, check_buffer_accepts_own_ram_and_readonly_code, 1,
        "A buffer may lie in the caller's RAM; a read-only one may also lie in its code (string literals). "
        "(0, 0) means \"no buffer\" and is fine.")
{
    k_proc p = proc();
    ck_assert_int_eq(k_check_buffer(&p, RAM, 1024, true), K_OK);
    ck_assert_int_eq(k_check_buffer(&p, RAM + 100, 8, false), K_OK);
    ck_assert_int_eq(k_check_buffer(&p, CODE + 0x100, 20, false), K_OK);
    ck_assert_int_eq(k_check_buffer(&p, 0, 0, true), K_OK);
}

FT_TEST(3, check_buffer_refuses_memory_the_caller_does_not_own, 2,
        "Never trust a process: kernel RAM, another process, a device, a range that runs past the end, a "
        "non-null zero-length or null non-zero-length buffer, and code for a writable buffer are all INVAL.")
{
    k_proc p = proc();
    ck_assert_int_eq(k_check_buffer(&p, 0x20000000u, 16, false), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, RAM + 1024, 4, false), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, RAM + 1020, 8, true), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, 0x40004000u, 4, false), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, 0, 4, false), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, RAM, 0, false), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, CODE + 0x100, 20, true), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, RAM + 16, 0xfffffff8u, true), K_ERR_INVAL);
    ck_assert_int_eq(k_check_buffer(&p, CODE + 0xfff0, 0x20, false), K_ERR_INVAL);
}

FT_TEST(3, stack_ok_needs_room_for_r4_to_r11_and_a_frame, 1,
        "A saved psp points at r4..r11 (32 bytes) followed by an 8-word frame (32 bytes): all 64 bytes must "
        "lie in the process's RAM, and psp must be 4-byte aligned.")
{
    k_proc p = proc();
    ck_assert(k_stack_ok(&p, RAM));
    ck_assert(k_stack_ok(&p, RAM + 1024 - 64));
    ck_assert(!k_stack_ok(&p, RAM + 1024 - 60));
    ck_assert(!k_stack_ok(&p, RAM - 4));
    ck_assert(!k_stack_ok(&p, RAM + 2));
    ck_assert(!k_stack_ok(&p, 0x20000400u));
    ck_assert(!k_stack_ok(&p, 0xfffffff0u));
}

FT_TEST(3, upcall_pointer_must_be_thumb_code_of_the_caller, 1,
        "An upcall address has bit 0 set (Thumb) and its instruction lies in the caller's code; anything else "
        "would make the kernel start the process in someone else's code or in data.")
{
    k_proc p = proc();
    ck_assert(k_upcall_ok(&p, CODE + 0x101));
    ck_assert(k_upcall_ok(&p, CODE + 0xfffe + 1));
    ck_assert(!k_upcall_ok(&p, CODE + 0x100));
    ck_assert(!k_upcall_ok(&p, 0x101));
    ck_assert(!k_upcall_ok(&p, RAM | 1u));
    ck_assert(!k_upcall_ok(&p, CODE + 0xffff + 1));
}

FT_TEST(3, allow_stores_a_valid_buffer_and_keeps_it_when_refused, 2,
        "allow_ro(console, 0, addr, len) checks the range with k_check_buffer and stores it; a refused allow "
        "returns INVAL in r0 and must leave the previous buffer in place (a failed call changes nothing).")
{
    k_proc p = proc();
    struct console c = {0};
    k_frame f;
    ck_assert_int_eq(call(&p, &c, K_SYS_ALLOW_RO, K_DRV_CONSOLE, 0, RAM + 8, 16, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.r0, 0);
    ck_assert_uint_eq(p.ro_addr, RAM + 8);
    ck_assert_uint_eq(p.ro_len, 16);
    ck_assert_int_eq(call(&p, &c, K_SYS_ALLOW_RO, K_DRV_CONSOLE, 0, 0x20000000u, 16, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_INVAL));
    ck_assert_uint_eq(p.ro_addr, RAM + 8);
    ck_assert_uint_eq(p.ro_len, 16);
    ck_assert_int_eq(call(&p, &c, K_SYS_ALLOW_RW, K_DRV_CONSOLE, 0, CODE, 4, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_INVAL));
    ck_assert_uint_eq(p.rw_len, 0);
    ck_assert_int_eq(call(&p, &c, K_SYS_ALLOW_RW, K_DRV_CONSOLE, 0, RAM, 32, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.r0, 0);
    ck_assert_uint_eq(p.rw_addr, RAM);
    ck_assert_int_eq(call(&p, &c, K_SYS_ALLOW_RO, 9, 0, RAM, 4, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_NODEVICE));
}

FT_TEST(3, console_write_is_bounded_by_the_allowed_buffer, 2,
        "command(console, write, n): RESERVE when nothing is allowed, SIZE when n exceeds the allowed length "
        "(the length is a second pointer: unchecked, it makes the kernel a confused deputy that reads memory "
        "the process may not), else write exactly [ro_addr, ro_addr+n) and return n.")
{
    k_proc p = proc();
    struct console c = {0};
    k_frame f;
    call(&p, &c, K_SYS_COMMAND, K_DRV_CONSOLE, K_CONSOLE_WRITE, 4, 0, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_RESERVE));
    call(&p, &c, K_SYS_ALLOW_RO, K_DRV_CONSOLE, 0, RAM + 8, 16, &f);
    call(&p, &c, K_SYS_COMMAND, K_DRV_CONSOLE, K_CONSOLE_WRITE, 17, 0, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_SIZE));
    ck_assert_int_eq(c.calls, 0);
    call(&p, &c, K_SYS_COMMAND, K_DRV_CONSOLE, K_CONSOLE_WRITE, 16, 0, &f);
    ck_assert_uint_eq(f.r0, 16);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(c.addr, RAM + 8);
    ck_assert_uint_eq(c.len, 16);
}

FT_TEST(3, subscribe_checks_the_upcall_and_unsubscribe_drops_a_pending_one, 2,
        "subscribe(alarm, 0, fn, data): fn must pass k_upcall_ok (else INVAL, nothing stored); fn 0 "
        "unsubscribes and must also cancel a pending upcall, or the kernel would call a function that is gone.")
{
    k_proc p = proc();
    struct console c = {0};
    k_frame f;
    call(&p, &c, K_SYS_SUBSCRIBE, K_DRV_ALARM, 0, 0x101, 7, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_INVAL));
    ck_assert_uint_eq(p.upcall_fn, 0);
    call(&p, &c, K_SYS_SUBSCRIBE, K_DRV_ALARM, 0, CODE + 0x41, 7, &f);
    ck_assert_uint_eq(f.r0, 0);
    ck_assert_uint_eq(p.upcall_fn, CODE + 0x41);
    ck_assert_uint_eq(p.upcall_data, 7);
    p.upcall_pending = true;
    call(&p, &c, K_SYS_SUBSCRIBE, K_DRV_ALARM, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, 0);
    ck_assert(!p.upcall_pending);
    call(&p, &c, K_SYS_SUBSCRIBE, K_DRV_CONSOLE + 5, 0, CODE + 0x41, 0, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_NODEVICE));
}

FT_TEST(3, yield_wait_blocks_unless_an_upcall_is_pending, 2,
        "yield-wait with nothing pending returns K_ACT_WAIT (the process uses no CPU until woken); with an "
        "upcall pending it delivers it at once and resumes. yield-no-wait always goes to the back of the queue.")
{
    k_proc p = proc();
    struct console c = {0};
    k_frame f;
    ck_assert_int_eq(call(&p, &c, K_SYS_YIELD, K_YIELD_WAIT, 0, 0, 0, &f), K_ACT_WAIT);
    p.upcall_fn = CODE + 0x81;
    p.upcall_pending = true;
    ck_assert_int_eq(call(&p, &c, K_SYS_YIELD, K_YIELD_WAIT, 0, 0, 0, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.pc, CODE + 0x80);
    ck_assert(!p.upcall_pending);
    ck_assert_int_eq(call(&p, &c, K_SYS_YIELD, K_YIELD_NO_WAIT, 0, 0, 0, &f), K_ACT_YIELD);
}

FT_TEST(3, upcall_delivery_rewrites_the_frame_to_call_and_return, 2,
        "Deliver by editing the stacked frame: pc = fn without bit 0, lr = the old pc with bit 0 (so the upcall "
        "returns after the svc), r0 = the tick, r1 = r2 = 0, r3 = userdata. Clear the pending flag.")
{
    k_proc p = proc();
    p.upcall_fn = CODE + 0x81;
    p.upcall_data = 0xabcd;
    k_frame f = {.r0 = 1, .r1 = 2, .r2 = 3, .r3 = 4, .lr = 5, .pc = CODE + 0x200, .xpsr = 1u << 24};
    ck_assert(!k_upcall_deliver(&p, &f));
    ck_assert_uint_eq(f.pc, CODE + 0x200);
    p.upcall_pending = true;
    p.upcall_arg = 1234;
    ck_assert(k_upcall_deliver(&p, &f));
    ck_assert_uint_eq(f.pc, CODE + 0x80);
    ck_assert_uint_eq(f.lr, CODE + 0x201);
    ck_assert_uint_eq(f.r0, 1234);
    ck_assert_uint_eq(f.r1, 0);
    ck_assert_uint_eq(f.r2, 0);
    ck_assert_uint_eq(f.r3, 0xabcd);
    ck_assert_uint_eq(f.xpsr, 1u << 24);
    ck_assert(!p.upcall_pending);
}

FT_TEST(3, alarm_fires_when_due_even_across_the_tick_wrap, 2,
        "Ticks wrap at 2^32. Compare (int32_t)(now - alarm_at) >= 0, never now >= alarm_at: an alarm set just "
        "before the wrap is due just after it. Firing disarms the alarm and makes the upcall pending.")
{
    k_proc p = proc();
    struct console c = {0};
    k_frame f;
    k_env env = {.now = 0xfffffff0u, .console_write = fake_write, .ctx = &c};
    p.upcall_fn = CODE + 0x81;
    f = (k_frame){.r0 = K_DRV_ALARM, .r1 = K_ALARM_SET, .r2 = 0x20};
    ck_assert_int_eq(k_syscall(&env, &p, K_SYS_COMMAND, &f), K_ACT_RESUME);
    ck_assert_uint_eq(f.r0, 0);
    ck_assert(p.alarm_armed);
    ck_assert(!k_alarm_expire(&p, 0xfffffff8u));
    ck_assert(!k_alarm_expire(&p, 0x0000000fu));
    ck_assert(k_alarm_expire(&p, 0x00000010u));
    ck_assert(p.upcall_pending);
    ck_assert_uint_eq(p.upcall_arg, 0x10);
    ck_assert(!p.alarm_armed);
    ck_assert(!k_alarm_expire(&p, 0x00000020u));
}

FT_TEST(3, memop_and_exit_report_the_callers_own_values, 1,
        "memop answers about the caller only (RAM and code bounds); exit-terminate stores r1 as the exit code "
        "and returns K_ACT_EXIT; unknown classes and operations are NOSUPPORT, unknown drivers NODEVICE.")
{
    k_proc p = proc();
    struct console c = {0};
    k_frame f;
    call(&p, &c, K_SYS_MEMOP, K_MEMOP_RAM_START, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, RAM);
    call(&p, &c, K_SYS_MEMOP, K_MEMOP_RAM_END, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, RAM + 1024);
    call(&p, &c, K_SYS_MEMOP, K_MEMOP_CODE_END, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, CODE + 0x10000);
    call(&p, &c, K_SYS_MEMOP, 0, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_NOSUPPORT));
    call(&p, &c, 42, 0, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_NOSUPPORT));
    call(&p, &c, K_SYS_COMMAND, 9, 0, 0, 0, &f);
    ck_assert_uint_eq(f.r0, ERR(K_ERR_NODEVICE));
    call(&p, &c, K_SYS_COMMAND, K_DRV_CONSOLE, K_CMD_EXISTS, 0, 0, &f);
    ck_assert_uint_eq(f.r0, 0);
    ck_assert_int_eq(call(&p, &c, K_SYS_EXIT, K_EXIT_TERMINATE, 42, 0, 0, &f), K_ACT_EXIT);
    ck_assert_int_eq(p.exit_code, 42);
}
