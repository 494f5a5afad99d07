/*
 * Part 4, on QEMU: processes and the context switch. Every test boots the whole kernel loop: a process gets the
 * CPU through the scheduler (part 2) and talks to the kernel through system calls (part 3). Alarms and idling
 * (part 5) and the MPU (part 6) are still the skeleton's here, and none of these scenarios needs them: no process
 * sleeps, and none strays from its own memory. See qemu_run.h for how an image is booted and judged.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "kernel.h"

#include <stddef.h>

FT_PART(4, "processes and the context switch");

FT_TEST(4, first_process_runs_makes_system_calls_and_exits, 3,
        "Load the process (frame at the top of its RAM: r0 = arg, pc = entry, xPSR = Thumb bit), enter it with "
        "k_switch_to_user, whose svc handler returns with EXC_RETURN 0xFFFFFFFD (thread mode, PSP; 0xFFFFFFF9 "
        "would pop the kernel's own frame from MSP), and handle its svc: the class is the low byte of the "
        "halfword before the stacked pc.")
{
    const char *good[] = {"hello: first words from user space", "hello: my RAM is bytes 1024",
                          "process 'hello' exited with code 0", "all processes stopped.*status 0", NULL};
    k05_scenario("hello", good, NULL, 0);
}
FT_TIMEOUT(first_process_runs_makes_system_calls_and_exits, 10);

FT_TEST(4, systick_interleaves_two_processes_that_never_yield, 3,
        "Neither process makes a system call while it computes: only SysTick can take the CPU. Enable SysTick "
        "(RVR = K_TICK_COUNTS - 1, CSR = 7), have its handler return to the kernel when it interrupted a process, "
        "and ask k_sched_should_switch (part 2) at each tick: it rotates equal priorities after K_SLICE_TICKS.")
{
    const char *good[] = {"A: step 0.*B: step 0.*A: step 1.*B: step 1.*A: step 3",
                          "A: done",
                          "B: done",
                          "process 'A' exited with code 0",
                          "process 'B' exited with code 0",
                          NULL};
    const char *bad[] = {"A: step 3.*B: step 0", NULL};
    k05_scenario("interleave", good, bad, 0);
}
FT_TIMEOUT(systick_interleaves_two_processes_that_never_yield, 10);

FT_TEST(4, preemption_preserves_r4_to_r11, 3,
        "The CPU stacks r0-r3, r12, lr, pc and xPSR; r4-r11 are yours. k_switch_to_user must load them from the "
        "process stack before entry and store them below the frame (stmdb) when it comes back — and handlers "
        "must not touch them on the way (naked, r0-r3 only). The kernel's own callee-saved r4-r11 are pushed on "
        "MSP before entry and popped after: the process clobbers them all.")
{
    const char *good[] = {"regs A: r4-r11 intact", "regs B: r4-r11 intact", NULL};
    const char *bad[] = {"corrupted", NULL};
    k05_scenario("regs", good, bad, 0);
}
FT_TIMEOUT(preemption_preserves_r4_to_r11, 10);

FT_TEST(4, qemu_bad_allow_pointers_return_errors_and_the_process_goes_on, 3,
        "Every pointer and length a process passes is checked in the kernel: kernel RAM, a wrapping range, past "
        "its end, a device, null with a length, code for a writable buffer are INVAL (-6); a write longer than "
        "the allowed buffer is SIZE (-7); a refused allow keeps the old buffer.")
{
    const char *good[] = {"allow kernel RAM: -6",
                          "allow wrapping range: -6",
                          "allow past my end: -6",
                          "allow next process: -6",
                          "allow device: -6",
                          "allow null with length: -6",
                          "allow rw into code: -6",
                          "allow rw my stack: 0",
                          "allow bad driver: -11",
                          "ok\nwrite with nothing allowed: -5",
                          "allow my buffer: 0",
                          "write longer than allowed: -7",
                          "refused allow kept the old one: -6",
                          "write what was allowed: 3",
                          "subscribe kernel code: -6",
                          "subscribe my RAM: -6",
                          "command no such driver: -11",
                          "memop unknown: -10",
                          "prober: survived every bad call",
                          NULL};
    const char *bad[] = {"kernel panic", "faulted", NULL};
    k05_scenario("allow", good, bad, 0);
}
FT_TIMEOUT(qemu_bad_allow_pointers_return_errors_and_the_process_goes_on, 10);
