/**
 * @file sys_aarch64.h
 * @brief Chapter 02, aarch64 Linux: the system-call numbers and the register convention. Included by sys.h.
 *
 * **Prefix.** sys.h's: `SYS_`, for *system call* (`SYS_NR_` for a call number).
 *
 * **The convention** (the kernel's `arch/arm64/kernel/entry.S` and `syscall(2)`):
 *
 * | what            | register                                  |
 * |-----------------|-------------------------------------------|
 * | instruction     | `svc #0`                                  |
 * | call number     | x8                                        |
 * | arguments 1..6  | x0, x1, x2, x3, x4, x5                    |
 * | result          | x0 (a value, or -errno in [-4095, -1])    |
 * | overwritten     | x0 only                                   |
 *
 * Unlike x86_64's `syscall`, `svc` leaves every register but x0 as it was, so the clobber list is just the result
 * and `"memory"`. The first argument and the result share x0: an input that is also overwritten must be an
 * in-out operand. The numbers come from the generic table (include/uapi/asm-generic/unistd.h): there is no plain
 * `open` or `pipe`, only `openat` and `pipe2`, which is why the wrappers use those on both architectures.
 * @rust `syscall::arch::aarch64` (Redox), selected by `#[cfg(target_arch = "aarch64")]`
 */
#ifndef FERRITE_SYS_AARCH64_H
#define FERRITE_SYS_AARCH64_H

/** The architecture this header describes. @rust `cfg!(target_arch = "aarch64")` */
#define SYS_ARCH_NAME "aarch64"

/** @name Call numbers (include/uapi/asm-generic/unistd.h)
 * @{ */
#define SYS_NR_openat 56     /**< openat(dirfd, path, flags, mode) */
#define SYS_NR_close 57      /**< close(fd) */
#define SYS_NR_pipe2 59      /**< pipe2(fds, flags) */
#define SYS_NR_lseek 62      /**< lseek(fd, offset, whence) */
#define SYS_NR_read 63       /**< read(fd, buf, len) */
#define SYS_NR_write 64      /**< write(fd, buf, len) */
#define SYS_NR_exit_group 94 /**< exit_group(status) */
#define SYS_NR_getpid 172    /**< getpid() */
#define SYS_NR_munmap 215    /**< munmap(addr, len) */
#define SYS_NR_mmap 222      /**< mmap(addr, len, prot, flags, fd, offset) */
/** @} */

#endif
