/*
 * Part 1: raw system calls. Each arity is checked with a real call whose answer libc can confirm, and every
 * argument register is given a job whose mistake shows (the 4th in r10, not rcx; the 5th and 6th in r8 and r9).
 * The clobber checks run the -O2 probes, where the raw calls are inlined into code that keeps values in registers
 * and memory across them.
 */
#define _GNU_SOURCE
#include "support.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

FT_PART(1, "raw calls: registers and clobbers");

FT_TEST(1, call0_returns_the_kernels_answer_in_rax, 2,
        "sys_call0 puts the number in rax, executes `syscall` and returns rax unchanged: getpid and getppid "
        "must agree with libc. No demux happens in the raw layer.")
{
    ck_assert_uint_eq(sys_call0(SYS_getpid), (uintptr_t)getpid());
    ck_assert_uint_eq(sys_call0(SYS_getppid), (uintptr_t)getppid());
    ck_assert_uint_eq(sys_call0(SYS_getpid), (uintptr_t)getpid());
}

FT_TEST(1, call1_dup_returns_a_descriptor_for_the_same_pipe, 2,
        "The first argument goes in rdi. dup(fd) must return a new descriptor that writes into the same pipe.")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    uintptr_t d = sys_call1(SYS_dup, (uintptr_t)p[1]);
    ck_assert_msg((intptr_t)d > 2, "call1(SYS_dup, %d) returned %ld, expected a new descriptor", p[1], (long)d);
    ck_assert_int_eq(write((int)d, "q", 1), 1);
    char c = 0;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    ck_assert_int_eq(c, 'q');
    close((int)d);
    close(p[0]);
    close(p[1]);
}

FT_TEST(1, call2_getcwd_fills_the_buffer_given_with_its_size, 2,
        "Arguments 1 and 2 go in rdi and rsi. getcwd(buf, size) returns the length written, including the NUL.")
{
    char got[512] = "", want[512];
    ck_assert_ptr_nonnull(getcwd(want, sizeof want));
    uintptr_t n = sys_call2(SYS_getcwd, (uintptr_t)got, sizeof got);
    ck_assert_int_eq((intptr_t)n, (intptr_t)strlen(want) + 1);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(sys_call2(SYS_getcwd, (uintptr_t)got, 1), (uintptr_t)-34); /* ERANGE: too small */
}

FT_TEST(1, call3_write_and_read_round_trip_through_a_pipe, 2,
        "Arguments 1-3 go in rdi, rsi, rdx. The kernel returns byte counts in rax.")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_uint_eq(sys_call3(SYS_write, (uintptr_t)p[1], (uintptr_t) "ferris", 6), 6);
    char buf[16] = "";
    ck_assert_uint_eq(sys_call3(SYS_read, (uintptr_t)p[0], (uintptr_t)buf, sizeof buf), 6);
    ck_assert_mem_eq(buf, "ferris", 6);
    close(p[0]);
    close(p[1]);
}

FT_TEST(1, call4_pread_reads_at_the_offset_given_fourth, 3,
        "The 4th argument of a system call goes in r10, not rcx as in a C function call: `syscall` overwrites "
        "rcx with the return address. pread64(fd, buf, 3, 10) must read \"abc\".")
{
    scratch_setup();
    int fd = open(scratch_file, O_RDONLY | O_CLOEXEC);
    char buf[4] = "";
    uintptr_t n = sys_call4(SYS_pread64, (uintptr_t)fd, (uintptr_t)buf, 3, 10);
    ck_assert_msg(n == 3 && memcmp(buf, "abc", 3) == 0, "pread64 at offset 10 returned %ld \"%.3s\", want 3 \"abc\"",
                  (long)n, buf);
    n = sys_call4(SYS_pread64, (uintptr_t)fd, (uintptr_t)buf, 3, 4096 + 7);
    ck_assert_msg(n == 3 && memcmp(buf, "bbb", 3) == 0, "pread64 at offset 4103 returned %ld \"%.3s\"", (long)n, buf);
    close(fd);
    scratch_teardown();
}

FT_TEST(1, call5_statx_fills_the_buffer_given_fifth, 3,
        "The 5th argument goes in r8. statx(AT_FDCWD, path, 0, STATX_SIZE, &buf) must fill buf with the size.")
{
    scratch_setup();
    struct statx sx;
    memset(&sx, 0, sizeof sx);
    uintptr_t r = sys_call5(SYS_statx, (uintptr_t)AT_FDCWD, (uintptr_t)scratch_file, 0, STATX_SIZE, (uintptr_t)&sx);
    ck_assert_msg(r == 0, "statx returned %ld, want 0", (long)r);
    ck_assert_uint_eq(sx.stx_size, DATA_SIZE);
    scratch_teardown();
}

FT_TEST(1, call6_mmap_maps_the_file_page_given_by_fd_and_offset, 3,
        "mmap takes six arguments: flags in r10, fd in r8, offset in r9. Mapping the file at offset 8192 must "
        "show page 2 (all 'c'); a wrong register maps the wrong page or fails with EBADF or EINVAL.")
{
    scratch_setup();
    int fd = open(scratch_file, O_RDONLY | O_CLOEXEC);
    uintptr_t raw = sys_call6(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, (uintptr_t)fd, 8192);
    close(fd);
    ck_assert_msg(raw < (uintptr_t)-4095, "mmap of the file failed with error %ld", -(long)raw);
    const char *page = (const char *)raw;
    ck_assert_msg(page[0] == 'c' && page[4095] == 'c', "the mapping starts with '%c', want page 2 ('c')", page[0]);
    ck_assert_int_eq(munmap((void *)raw, 4096), 0);
    scratch_teardown();
}

FT_TEST(1, values_in_registers_survive_a_raw_call_at_O2, 3,
        "`syscall` overwrites rcx (return address) and r11 (flags). If the asm does not list them as clobbers, "
        "an inlined call at -O2 keeps live values there and loses them. Declare \"rcx\", \"r11\".")
{
    run_host_probes("regs");
}

FT_TEST(1, memory_the_kernel_writes_is_read_after_the_call, 2,
        "Without a \"memory\" clobber the compiler may assume the asm leaves memory alone and reuse a value it "
        "read before the call; read() then seems to change nothing. Add \"memory\" to every raw call.")
{
    run_host_probes("mem-in");
}

FT_TEST(1, stores_made_before_the_call_reach_the_kernel, 2,
        "Without a \"memory\" clobber the compiler may delay or drop a store the kernel was to read (write()'s "
        "buffer). Add \"memory\" to every raw call.")
{
    run_host_probes("mem-out");
}

FT_TEST(1, a_call_whose_result_is_unused_still_happens, 2,
        "A system call has effects its outputs do not show. Without `volatile` the compiler may delete an asm "
        "whose result is unused (or merge two alike); write `__asm__ volatile`.")
{
    run_host_probes("volatile");
}
