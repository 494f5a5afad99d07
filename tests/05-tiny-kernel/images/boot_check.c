/*
 * boot_check.c — linked into every chapter-05 test image, on the kernel side (pristine: not a student file).
 *
 * k_main calls k_boot_check() after its banner. The two words below sit in .data; unless the reset handler
 * copied .data from flash, they read as whatever RAM held (zero on QEMU), and the line says so.
 */
#include "kernel.h"

uint32_t k_boot_probe[2] = {0x05C0FFEEu, 0x0BADCAFEu};

void k_boot_check(void)
{
    if (k_boot_probe[0] == 0x05C0FFEEu && k_boot_probe[1] == 0x0BADCAFEu)
        k_printf("boot: .data copied\n");
    else
        k_printf("boot: .data NOT copied (0x%08x 0x%08x)\n", (unsigned)k_boot_probe[0], (unsigned)k_boot_probe[1]);
}
