/*
 * sys.c — chapter 02, parts 2 and 3: the demux and the typed wrappers.   (exercise skeleton)
 *
 * Architecture-independent: the registers are sys_callN's business (part 1), and the call numbers SYS_NR_* come
 * from the header sys.h picked for this architecture. Freestanding: include nothing but sys.h, and never touch
 * errno — the part 4 program links this file with no C library at all.
 *
 * Every function returns -ENOSYS as an error for now (sys_err(SYS_ENOSYS)), so the file compiles and the tests
 * run. Replace each body and delete its `(void)param;` lines.
 */
#include "sys.h"

/* ---- part 2: the demux -------------------------------------------------------------------------------------- */

sys_result sys_demux(uintptr_t raw)
{
    /* TODO: an error when raw, read as a signed 64-bit number, is in [-4095, -1]: return sys_err(-raw).
     * Otherwise return sys_ok(raw), whatever its size.
     * Rust: Redox's `Error::demux` turns the usize into `Result<usize, Error>`.
     * Traps: compare all 64 bits — an `int` cast reads 0x1FFFFFFFF as -1, and an mmap address whose low 32 bits
     * are 0xFFFFF001 as -4095. Mind both ends: -4095 is an error, -4096 a value. One unsigned comparison
     * (musl: `r > -4096UL`) does it. Do not set errno: the error is the return value. */
    (void)raw;
    return sys_err(SYS_ENOSYS);
}

/* ---- part 3: typed wrappers ----------------------------------------------------------------------------------
 * Each wrapper: convert the C arguments to uintptr_t, make one raw call with the right SYS_NR_ number and arity,
 * return sys_demux() of the answer. Count the arguments of the system call, not of the C function you know:
 * openat takes four (the mode is the 4th), mmap six.
 * Traps: a negative int (fd -1, AT_FDCWD, an lseek offset) must be converted by value, so it is sign-extended
 * to 64 bits; a detour through `unsigned` zero-extends it into a large positive number. */

sys_result sys_read(int fd, void *buf, size_t len)
{
    /* TODO: read(fd, buf, len), three arguments. A pointer becomes (uintptr_t)buf. */
    (void)fd;
    (void)buf;
    (void)len;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_write(int fd, const void *buf, size_t len)
{
    /* TODO: write(fd, buf, len). */
    (void)fd;
    (void)buf;
    (void)len;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_openat(int dirfd, const char *path, int flags, unsigned mode)
{
    /* TODO: openat(dirfd, path, flags, mode): four arguments, so sys_call4. */
    (void)dirfd;
    (void)path;
    (void)flags;
    (void)mode;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_close(int fd)
{
    /* TODO: close(fd). */
    (void)fd;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_lseek(int fd, int64_t offset, int whence)
{
    /* TODO: lseek(fd, offset, whence). The offset is signed 64-bit: -4 must arrive as 0xFFFFFFFFFFFFFFFC. */
    (void)fd;
    (void)offset;
    (void)whence;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_pipe2(int fds[2], int flags)
{
    /* TODO: pipe2(fds, flags). The kernel writes the two descriptors through the pointer (which is why the raw
     * calls need the "memory" clobber). */
    (void)fds;
    (void)flags;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_getpid(void)
{
    /* TODO: getpid(), no argument. */
    return sys_err(SYS_ENOSYS);
}

sys_result sys_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t offset)
{
    /* TODO: mmap(addr, len, prot, flags, fd, offset): all six argument registers. The address it returns may be
     * high; the demux keeps it a value. */
    (void)addr;
    (void)len;
    (void)prot;
    (void)flags;
    (void)fd;
    (void)offset;
    return sys_err(SYS_ENOSYS);
}

sys_result sys_munmap(void *addr, size_t len)
{
    /* TODO: munmap(addr, len). */
    (void)addr;
    (void)len;
    return sys_err(SYS_ENOSYS);
}

_Noreturn void sys_exit_group(int status)
{
    /* TODO: exit_group(status). It does not return, and `_Noreturn` promises the compiler so (Rust: `-> !`).
     * Keep the promise even if the kernel broke it: end with __builtin_trap() after the call.
     * Trap: the raw call's result is marked warn_unused_result, and a (void) cast does not silence gcc; store
     * it in a variable and cast that. Why exit_group and not exit? exit ends one thread; exit_group the process. */
    (void)status;
    __builtin_trap();
}
