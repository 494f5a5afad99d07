/*
 * sys.c — chapter 02, parts 2 and 3: the demux and the typed wrappers.   (reference solution)
 *
 * Architecture-independent: the registers are sys_callN's business, the numbers come from the arch header that
 * sys.h picked. Freestanding too: no libc header, no errno, so the part 4 program can link this file as it is.
 *
 * The conversions into uintptr_t are where a wrapper can go wrong quietly:
 *   - signed numbers (fd, offset) are converted by value, so -1 becomes 0xFFFF...FFFF (sign extension); a detour
 *     through `unsigned` would zero-extend it into 4294967295, a different number to a 64-bit argument;
 *   - pointers become their address; the kernel may use it only during the call (sys.h, "Safety").
 */
#include "sys.h"

/* ---- part 2: the demux -------------------------------------------------------------------------------------- */

sys_result sys_demux(uintptr_t raw)
{
    /* -4095 as an unsigned 64-bit number is the smallest raw error; everything at or above it, up to -1
     * (UINTPTR_MAX), is -errno. One unsigned comparison on the full word, as musl's `r > -4096UL`. */
    /* clang-format off */
    if (raw > (uintptr_t)-(SYS_MAX_ERRNO + 1))
        return sys_err((int)(0 - raw));
    /* clang-format on */
    return sys_ok(raw);
}

/* ---- part 3: typed wrappers ----------------------------------------------------------------------------------
 * SAFETY (every wrapper): each pointer is passed with the length the caller vouched for in sys.h's contract; the
 * kernel checks the addresses itself and answers EFAULT for memory the process does not have. */

sys_result sys_read(int fd, void *buf, size_t len)
{
    return sys_demux(sys_call3(SYS_NR_read, (uintptr_t)fd, (uintptr_t)buf, len));
}

sys_result sys_write(int fd, const void *buf, size_t len)
{
    return sys_demux(sys_call3(SYS_NR_write, (uintptr_t)fd, (uintptr_t)buf, len));
}

sys_result sys_openat(int dirfd, const char *path, int flags, unsigned mode)
{
    return sys_demux(sys_call4(SYS_NR_openat, (uintptr_t)dirfd, (uintptr_t)path, (uintptr_t)flags, mode));
}

sys_result sys_close(int fd) { return sys_demux(sys_call1(SYS_NR_close, (uintptr_t)fd)); }

sys_result sys_lseek(int fd, int64_t offset, int whence)
{
    return sys_demux(sys_call3(SYS_NR_lseek, (uintptr_t)fd, (uintptr_t)offset, (uintptr_t)whence));
}

sys_result sys_pipe2(int fds[2], int flags) { return sys_demux(sys_call2(SYS_NR_pipe2, (uintptr_t)fds, (uintptr_t)flags)); }

sys_result sys_getpid(void) { return sys_demux(sys_call0(SYS_NR_getpid)); }

sys_result sys_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t offset)
{
    return sys_demux(
        sys_call6(SYS_NR_mmap, (uintptr_t)addr, len, (uintptr_t)prot, (uintptr_t)flags, (uintptr_t)fd, (uintptr_t)offset));
}

sys_result sys_munmap(void *addr, size_t len) { return sys_demux(sys_call2(SYS_NR_munmap, (uintptr_t)addr, len)); }

_Noreturn void sys_exit_group(int status)
{
    uintptr_t raw = sys_call1(SYS_NR_exit_group, (uintptr_t)status);
    (void)raw;
    /* exit_group cannot fail; were the kernel ever to return, stop here rather than run on. */
    __builtin_trap();
}
