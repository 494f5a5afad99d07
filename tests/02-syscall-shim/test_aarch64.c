/*
 * Part 5: the same shim on aarch64 (`svc #0`, number in x8, arguments in x0-x5), cross-built with Debian's
 * gcc-aarch64-linux-gnu and run under qemu-aarch64. The probe repeats the checks of parts 1-3 inside the emulated
 * process, against the aarch64 C library. Without the tools, every test here is reported as skipped.
 */
#define _GNU_SOURCE
#include "support.h"

#include <string.h>
#include <sys/wait.h>

FT_PART(5, "aarch64 under qemu-user");

FT_TEST(5, aarch64_nolibc_program_behaves_as_on_x86_64, 3,
        "nolibc.c is the same source on both architectures: only _start and sys_aarch64.c differ. Check the "
        "svc convention: number in x8, arguments from x0, result in x0.")
{
    require_aarch64_tools();
    const char *qemu = program_path("SYS02_QEMU", "nothing: it names qemu-aarch64");
    const char *prog = program_path("SYS02_A64_NOLIBC", "the aarch64 freestanding program");
    const char *argv[] = {qemu, prog, "arm", "64", NULL};
    const char *args[] = {"arm", "64", NULL};
    run_result r;
    run_program(argv, &r);
    check_nolibc_output(&r, prog, args, CHECK_GREETING | CHECK_ARGS | CHECK_ERROR | CHECK_STATUS | CHECK_EDGES);
}

FT_TEST(5, aarch64_raw_calls_with_one_to_five_arguments_match_libc, 2,
        "The number goes in x8 and the arguments in x0-x4 in order; x0 carries the first argument in and the "
        "result out (an in-out operand). getpid, dup, getcwd, write/read, pread64 and statx are compared with libc.")
{
    run_aarch64_probe("raw");
}

FT_TEST(5, aarch64_six_arguments_reach_x0_to_x5, 2, "mmap of a file page needs all six: the fd in x4 and the offset in x5.")
{
    run_aarch64_probe("six");
}

FT_TEST(5, aarch64_values_and_memory_survive_svc, 2,
        "svc preserves every register but x0, so the only clobber is \"memory\"; the asm must be volatile and "
        "must tell the compiler that x0 is overwritten.")
{
    run_aarch64_probe("regs");
    run_aarch64_probe("mem-in");
    run_aarch64_probe("mem-out");
    run_aarch64_probe("volatile");
}

FT_TEST(5, aarch64_wrappers_match_libc, 2,
        "sys.c compiles unchanged for aarch64: the call numbers come from sys_aarch64.h, picked by sys.h.")
{
    run_aarch64_probe("wrappers");
}

FT_TEST(5, aarch64_errors_match_libc_and_leave_errno_alone, 2,
        "EBADF, ENOENT, EFAULT and ESPIPE come back as values, as libc's errno reports them, and errno is "
        "untouched.")
{
    run_aarch64_probe("errors");
}

FT_TEST(5, aarch64_demux_agrees_with_x86_64, 1,
        "The demux is the same C on both architectures; it must decide on all 64 bits there too.")
{
    run_aarch64_probe("demux");
}
