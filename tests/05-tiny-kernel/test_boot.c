/*
 * Parts 1 and 2, on QEMU: the kernel boots, prints, panics properly, runs processes and switches between them.
 * These parts are all hardware (boot.c, switch.c, kernel.c), so every test boots an image; see qemu_run.h.
 * Part 1's images take k_main from images/part1_*.c, since the student's k_main is part 2's work.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "kernel.h"

#include <stddef.h>

FT_PART(1, "boot: vectors, .data/.bss, UART, panic");
FT_PART(2, "processes and the context switch");

#define BANNER "ferrite kernel 05: booting on mps2-an385"

FT_TEST(1, boot_prints_the_banner_over_the_uart, 3,
        "k_reset must copy .data and zero .bss before calling k_main; k_uart_init must set BAUDDIV (>= 16) and "
        "CTRL bit 0; k_putc must wait while STATE bit 0 (TX full) is set, then write DATA.")
{
    const char *good[] = {"^" BANNER, NULL};
    k05_scenario("part1_boot", good, NULL, 0);
}
FT_TIMEOUT(boot_prints_the_banner_over_the_uart, 10);

FT_TEST(1, boot_copies_data_from_flash_before_main, 2,
        "Initialised globals live in RAM but their values are in flash: copy _sidata.. to _sdata.._edata in "
        "k_reset, before anything reads a global. QEMU's RAM starts as zeros, so a missing copy reads 0.")
{
    const char *good[] = {"boot: \\.data copied", NULL};
    const char *bad[] = {"NOT copied", NULL};
    k05_scenario("part1_boot", good, bad, 0);
}
FT_TIMEOUT(boot_copies_data_from_flash_before_main, 10);

FT_TEST(1, panic_prints_and_exits_qemu_with_failure, 3,
        "k_panic must print \"kernel panic: <msg>\" and exit through semihosting with K_EXIT_PANIC (101); a "
        "panicking kernel that loops forever hangs every test. Print the message through k_printf (the UART of "
        "k_putc), then k_semihost_exit; the test's kernel calls k_panic right after the banner.")
{
    const char *good[] = {BANNER, "kernel panic: [^\n]+", NULL};
    const char *bad[] = {"never: this process must not run", NULL};
    k05_scenario("part1_panic", good, bad, K_EXIT_PANIC);
}
FT_TIMEOUT(panic_prints_and_exits_qemu_with_failure, 10);

FT_TEST(2, first_process_runs_makes_system_calls_and_exits, 3,
        "Load the process (frame at the top of its RAM: r0 = arg, pc = entry, xPSR = Thumb bit), enter it with "
        "k_switch_to_user, and handle its svc: the class is the low byte of the halfword before the stacked pc.")
{
    const char *good[] = {"hello: first words from user space", "hello: my RAM is bytes 1024",
                          "process 'hello' exited with code 0", "all processes stopped.*status 0", NULL};
    k05_scenario("hello", good, NULL, 0);
}
FT_TIMEOUT(first_process_runs_makes_system_calls_and_exits, 10);

FT_TEST(2, systick_interleaves_two_processes_that_never_yield, 3,
        "Neither process makes a system call while it computes: only SysTick can take the CPU. Enable SysTick "
        "(RVR = K_TICK_COUNTS - 1, CSR = 7), have its handler return to the kernel when it interrupted a process, "
        "and let k_sched_should_switch rotate equal priorities after K_SLICE_TICKS.")
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

FT_TEST(2, preemption_preserves_r4_to_r11, 3,
        "The CPU stacks r0-r3, r12, lr, pc and xPSR; r4-r11 are yours. k_switch_to_user must load them from the "
        "process stack before entry and store them below the frame (stmdb) when it comes back — and handlers "
        "must not touch them on the way (naked, r0-r3 only).")
{
    const char *good[] = {"regs A: r4-r11 intact", "regs B: r4-r11 intact", NULL};
    const char *bad[] = {"corrupted", NULL};
    k05_scenario("regs", good, bad, 0);
}
FT_TIMEOUT(preemption_preserves_r4_to_r11, 10);
