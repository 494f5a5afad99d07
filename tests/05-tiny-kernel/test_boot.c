/*
 * Part 1, on QEMU: the kernel boots, prints and panics properly. Boot is all hardware (boot.c), so every test
 * boots an image; see qemu_run.h. Part 1's images take k_main from images/part1_*.c, since the student's k_main
 * is part 4's work.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "kernel.h"

#include <stddef.h>

FT_PART(1, "boot: vectors, .data/.bss, UART, panic");

#define BANNER "ferrite kernel 05: booting on mps2-an385"

FT_TEST(1, boot_prints_the_banner_over_the_uart, 3,
        "k_reset must copy .data and zero .bss before calling k_main; k_uart_init must set BAUDDIV (>= 16) and "
        "CTRL bit 0, transmit enable (while it is clear nothing is sent and TX full never clears, so k_putc "
        "waits forever); k_putc must wait while STATE bit 0 (TX full) is set, then write DATA.")
{
    const char *good[] = {"^" BANNER, NULL};
    k05_scenario("part1_boot", good, NULL, 0);
}
FT_TIMEOUT(boot_prints_the_banner_over_the_uart, 10);

FT_TEST(1, boot_copies_data_from_flash_before_main, 2,
        "Initialised globals live in RAM but their values are in flash, at .data's load address (_sidata): copy "
        "_sidata.. to _sdata.._edata in k_reset, before anything reads a global. Reading from _sdata copies RAM "
        "onto itself; QEMU's RAM starts as zeros, so a missing copy reads 0.")
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
