/*
 * Part 6: isolation. The MPU arithmetic runs on the host; on QEMU, two tests boot processes that break the rules
 * and check that they, and only they, are stopped — and that the kernel never faults — and one boots a process
 * table the MPU cannot enforce, which the kernel must refuse.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "mpu.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

FT_PART(6, "isolation: MPU regions and fault policy");

#define RW_ATTRS (K_MPU_RASR_XN | (3u << 24) | (1u << 19) | (1u << 18))
/* clang-format off */
#define SIZE_FIELD(log2) (((uint32_t)(log2) - 1) << 1)
/* clang-format on */
#define SRD(bits) ((uint32_t)(bits) << 8)

FT_TEST(6, encode_writes_base_region_size_and_permissions, 2,
        "RBAR = base | VALID (bit 4) | region number; RASR = XN | AP | TEX S C B | SRD << 8 | (log2(size) - 1) "
        "<< 1 | ENABLE. A 1 KiB region has SIZE field 9, not 10. RAM and read-only data are execute never (XN): "
        "only the code region may run.")
{
    k_mpu_region r;
    ck_assert_int_eq(k_mpu_encode(0x20010000u, 1024, K_MPU_USER_RW, 0, 1, &r), K_OK);
    ck_assert_uint_eq(r.rbar, 0x20010000u | K_MPU_RBAR_VALID | 1u);
    ck_assert_uint_eq(r.rasr, RW_ATTRS | SIZE_FIELD(10) | K_MPU_RASR_ENABLE);
    ck_assert_int_eq(k_mpu_encode(0x00010000u, 0x10000, K_MPU_USER_RX, 0, 0, &r), K_OK);
    ck_assert_uint_eq(r.rbar, 0x00010000u | K_MPU_RBAR_VALID);
    ck_assert_uint_eq(r.rasr, (6u << 24) | (1u << 17) | SIZE_FIELD(16) | K_MPU_RASR_ENABLE);
    ck_assert_int_eq(k_mpu_encode(0x20000000u, 32, K_MPU_USER_RO, 0, 7, &r), K_OK);
    ck_assert_uint_eq(r.rasr & 0x3eu, SIZE_FIELD(5));
    ck_assert(r.rasr & K_MPU_RASR_XN);
}

FT_TEST(6, encode_refuses_what_the_mpu_cannot_express, 2,
        "A region is a power of two of at least 32 bytes, aligned to its size; only regions of 256 bytes or "
        "more have subregions; there are 8 regions. Refuse anything else with INVAL and leave *out untouched.")
{
    k_mpu_region r = {0x1111, 0x2222};
    ck_assert_int_eq(k_mpu_encode(0x20010000u, 3072, K_MPU_USER_RW, 0, 1, &r), K_ERR_INVAL);
    ck_assert_int_eq(k_mpu_encode(0x20010000u, 16, K_MPU_USER_RW, 0, 1, &r), K_ERR_INVAL);
    ck_assert_int_eq(k_mpu_encode(0x20010000u, 0, K_MPU_USER_RW, 0, 1, &r), K_ERR_INVAL);
    ck_assert_int_eq(k_mpu_encode(0x20010200u, 1024, K_MPU_USER_RW, 0, 1, &r), K_ERR_INVAL);
    ck_assert_int_eq(k_mpu_encode(0x20010000u, 128, K_MPU_USER_RW, 0x80, 1, &r), K_ERR_INVAL);
    ck_assert_int_eq(k_mpu_encode(0x20010000u, 1024, K_MPU_USER_RW, 0, 8, &r), K_ERR_INVAL);
    ck_assert_uint_eq(r.rbar, 0x1111);
    ck_assert_uint_eq(r.rasr, 0x2222);
}

FT_TEST(6, cover_uses_no_subregions_for_an_aligned_power_of_two, 1,
        "[start, start+len) that is already an aligned power of two is one region with SRD = 0.")
{
    k_mpu_region r;
    ck_assert_int_eq(k_mpu_cover(0x20011000u, 4096, K_MPU_USER_RW, 1, &r), K_OK);
    ck_assert_uint_eq(r.rbar, 0x20011000u | K_MPU_RBAR_VALID | 1u);
    ck_assert_uint_eq(r.rasr, RW_ATTRS | SIZE_FIELD(12) | K_MPU_RASR_ENABLE);
}

FT_TEST(6, cover_disables_the_subregions_past_the_end, 2,
        "3 KiB at a 4 KiB boundary: a 4 KiB region with its last two eighths (512 B each) off, SRD = 0xC0. "
        "96 bytes: the 128-byte region has no subregions, so it takes 256 bytes with SRD = 0xF8.")
{
    k_mpu_region r;
    ck_assert_int_eq(k_mpu_cover(0x20010000u, 3072, K_MPU_USER_RW, 1, &r), K_OK);
    ck_assert_uint_eq(r.rbar, 0x20010000u | K_MPU_RBAR_VALID | 1u);
    ck_assert_uint_eq(r.rasr, RW_ATTRS | SRD(0xC0) | SIZE_FIELD(12) | K_MPU_RASR_ENABLE);
    ck_assert_int_eq(k_mpu_cover(0x20010000u, 96, K_MPU_USER_RW, 2, &r), K_OK);
    ck_assert_uint_eq(r.rasr, RW_ATTRS | SRD(0xF8) | SIZE_FIELD(8) | K_MPU_RASR_ENABLE);
}

FT_TEST(6, cover_finds_an_enclosing_region_for_an_offset_range, 2,
        "2 KiB starting 1 KiB into a 4 KiB block does not fit a 2 KiB region (it crosses a 2 KiB boundary): "
        "grow to 4 KiB and disable subregions 0-1 and 6-7, SRD = 0xC3.")
{
    k_mpu_region r;
    ck_assert_int_eq(k_mpu_cover(0x20010400u, 2048, K_MPU_USER_RW, 3, &r), K_OK);
    ck_assert_uint_eq(r.rbar, 0x20010000u | K_MPU_RBAR_VALID | 3u);
    ck_assert_uint_eq(r.rasr, RW_ATTRS | SRD(0xC3) | SIZE_FIELD(12) | K_MPU_RASR_ENABLE);
}

FT_TEST(6, cover_refuses_ranges_no_region_fits_exactly, 2,
        "If the range is not a whole number of subregions of the smallest enclosing region, no region fits: "
        "SIZE. Never round up silently — the process would get memory it was not given. len 0 and ranges past "
        "4 GiB are INVAL.")
{
    k_mpu_region r;
    ck_assert_int_eq(k_mpu_cover(0x20010000u, 3000, K_MPU_USER_RW, 1, &r), K_ERR_SIZE);
    ck_assert_int_eq(k_mpu_cover(0x20010e00u, 0x400, K_MPU_USER_RW, 1, &r), K_ERR_SIZE);
    ck_assert_int_eq(k_mpu_cover(0x20010000u, 0, K_MPU_USER_RW, 1, &r), K_ERR_INVAL);
    ck_assert_int_eq(k_mpu_cover(0xffffff00u, 0x200, K_MPU_USER_RW, 1, &r), K_ERR_INVAL);
}

FT_TEST(6, cover_reaches_the_top_of_the_address_space, 1,
        "A range may end exactly at 4 GiB: 0xffffff00 + 0x100 is 2^32, which needs 33 bits. Compute the end in "
        "64 bits and refuse only an end past 2^32 (end > 2^32, not >=): the last 256 bytes are one region.")
{
    k_mpu_region r = {0, 0};
    ck_assert_int_eq(k_mpu_cover(0xffffff00u, 0x100, K_MPU_USER_RO, 1, &r), K_OK);
    ck_assert_uint_eq(r.rbar, 0xffffff00u | K_MPU_RBAR_VALID | 1u);
    ck_assert_uint_eq(r.rasr & 0x3eu, SIZE_FIELD(8));
    ck_assert(k_mpu_allows(&r, 0xffffffffu, 1));
}

FT_TEST(6, allows_matches_exactly_the_covered_range, 2,
        "k_mpu_allows decodes base and size from the registers and refuses any byte in a disabled subregion or "
        "outside the region, and everything when ENABLE is clear. Check it against cover: exactly the range.")
{
    static const struct {
        uint32_t start, len;
    } cases[] = {{0x20010000u, 3072}, {0x20010400u, 2048}, {0x20010000u, 96}, {0x20011000u, 4096}, {0x20010040u, 64}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        k_mpu_region r;
        uint32_t s = cases[i].start, n = cases[i].len;
        ck_assert_int_eq(k_mpu_cover(s, n, K_MPU_USER_RW, 1, &r), K_OK);
        ck_assert_msg(k_mpu_allows(&r, s, n), "case %zu: the whole range must be allowed", i);
        ck_assert_msg(k_mpu_allows(&r, s + n - 1, 1), "case %zu: its last byte must be allowed", i);
        ck_assert_msg(!k_mpu_allows(&r, s + n, 1), "case %zu: the byte after it must not be", i);
        ck_assert_msg(!k_mpu_allows(&r, s - 1, 1), "case %zu: the byte before it must not be", i);
        ck_assert_msg(!k_mpu_allows(&r, s, n + 1), "case %zu: one byte too long must not be", i);
    }
    k_mpu_region off = {0x20010011u, RW_ATTRS | SIZE_FIELD(10)};
    ck_assert(!k_mpu_allows(&off, 0x20010000u, 4));
}

/* ---- on QEMU ------------------------------------------------------------------------------------------------- */

FT_TEST(6, qemu_a_wild_write_stops_only_the_writer, 3,
        "Program region 1 with the running process's RAM before every switch (and enable MemManage in SHCSR, "
        "or the fault escalates to HardFault), and enter processes unprivileged (CONTROL.nPRIV = 1): privileged "
        "code gets the default memory map and the write goes through. A fault taken on PSP stops that process "
        "and is reported with MMFAR; the others finish.")
{
    const char *good[] = {"process 'wild' faulted: data access violation at 0x20011400",
                          "A: done",
                          "B: done",
                          "process 'A' exited with code 0",
                          "process 'B' exited with code 0",
                          NULL};
    const char *bad[] = {"wild: still alive", "kernel panic", "fault in the kernel", "escalated to HardFault", NULL};
    k05_scenario("crash", good, bad, K_EXIT_FAULTED);
}
FT_TIMEOUT(qemu_a_wild_write_stops_only_the_writer, 10);

FT_TEST(6, qemu_a_stack_pointer_into_the_kernel_is_not_trusted, 3,
        "A process can point its stack anywhere before it traps. Saving r4-r11 below that psp is a privileged "
        "store the MPU does not check: here it lands on the System Control Block (AIRCR, SHCSR ...) and the "
        "board resets or locks up. k_switch_to_user must store nothing outside [stack_lo, stack_hi]; the "
        "kernel stops the process.")
{
    const char *good[] = {"process 'sp' faulted", "A: done", "B: done", NULL};
    const char *bad[] = {"sp: still alive", "kernel panic", "fault in the kernel", "booting.*booting", NULL};
    k05_scenario("crash", good, bad, K_EXIT_FAULTED);
}
FT_TIMEOUT(qemu_a_stack_pointer_into_the_kernel_is_not_trusted, 10);

FT_TEST(6, qemu_a_process_the_mpu_cannot_confine_is_refused_at_boot, 2,
        "3000 bytes of RAM is not a whole number of subregions of any region that holds it: k_mpu_cover says "
        "SIZE. mpu_cover_ram must then print which process asked for what and k_panic before anything runs: a "
        "kernel that boots the table anyway, or rounds the region up, gives the process memory it was not given.")
{
    const char *good[] = {"'never'[^\n]*3000", "kernel panic: [^\n]+", NULL};
    const char *bad[] = {"never: this process must not run", NULL};
    k05_scenario("panic", good, bad, K_EXIT_PANIC);
}
FT_TIMEOUT(qemu_a_process_the_mpu_cannot_confine_is_refused_at_boot, 10);

FT_TEST(6, qemu_a_stack_pointer_below_stack_lo_is_not_trusted, 2,
        "A psp inside the process's RAM can still leave no room for r4-r11 below the frame: k_switch_to_user "
        "must compare it with [stack_lo, stack_hi], store nothing and return 0 when it is outside, and the "
        "kernel must stop the process — not keep a psp whose saved registers were never written.")
{
    const char *good[] = {"process 'low' faulted: stack pointer", "A: done", NULL};
    const char *bad[] = {"low: still alive", "kernel panic", "trapped from outside its code", NULL};
    k05_scenario("lowstack", good, bad, K_EXIT_FAULTED);
}
FT_TIMEOUT(qemu_a_stack_pointer_below_stack_lo_is_not_trusted, 10);

FT_TEST(6, qemu_a_fault_in_the_kernel_is_reported_with_its_pc, 2,
        "A fault taken on MSP is the kernel's own (EXC_RETURN bit 2 clear): k_fault_handler must hand the "
        "kernel's stacked frame (mrs r0, msp) to k_kernel_fault, which reports the faulting pc and panics — "
        "never return into the faulting code, and never report a frame read through a stale register.")
{
    static k05_run r; /* 18 KiB: too much for a test's stack under Valgrind's defaults */
    k05_boot("part1_kfault", &r);
    ck_assert_msg(r.problem[0] == '\0', "%s", r.problem);
    const char *good[] = {"k_main is at 0x[0-9a-f]{8}", "fault in the kernel itself at pc 0x[0-9a-f]{8}",
                          "kernel panic: [^\n]+", NULL};
    const char *bad[] = {"kfault: still alive", NULL};
    k05_expect(&r, good, bad, K_EXIT_PANIC);
    unsigned main_at = 0, pc = 0;
    ck_assert_int_eq(sscanf(strstr(r.out, "k_main is at "), "k_main is at 0x%x", &main_at), 1);
    ck_assert_int_eq(sscanf(strstr(r.out, "itself at pc "), "itself at pc 0x%x", &pc), 1);
    ck_assert_msg(pc >= main_at && pc < main_at + 0x80,
                  "reported pc 0x%08x is not in k_main (0x%08x): the frame "
                  "handed to k_kernel_fault is not the one the fault stacked on MSP",
                  pc, main_at);
}
FT_TIMEOUT(qemu_a_fault_in_the_kernel_is_reported_with_its_pc, 10);
