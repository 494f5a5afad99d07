/**
 * @file sys_x86_64.h
 * @brief Chapter 02, x86_64 Linux: the system-call numbers and the register convention. Included by sys.h.
 *
 * **Prefix.** sys.h's: `SYS_`, for *system call* (`SYS_NR_` for a call number).
 *
 * **The convention** (the kernel's entry code, `entry_64.S`, and the x86-64 psABI, appendix A.2):
 *
 * | what            | register                                  |
 * |-----------------|-------------------------------------------|
 * | call number     | rax                                       |
 * | arguments 1..6  | rdi, rsi, rdx, **r10**, r8, r9            |
 * | result          | rax (a value, or -errno in [-4095, -1])   |
 * | overwritten     | rcx (return address), r11 (saved rflags)  |
 *
 * The fourth argument goes in r10, not rcx as in a C function call: the `syscall` instruction itself writes the
 * return address into rcx and the flags into r11, so neither can carry anything in and neither survives. Every
 * other register, the stack and the red zone below it are preserved.
 * @rust `syscall::arch::x86_64` (Redox), selected by `#[cfg(target_arch = "x86_64")]`
 */
#ifndef FERRITE_SYS_X86_64_H
#define FERRITE_SYS_X86_64_H

/** The architecture this header describes. @rust `cfg!(target_arch = "x86_64")` */
#define SYS_ARCH_NAME "x86_64"

/** @name Call numbers (arch/x86/entry/syscalls/syscall_64.tbl)
 * @{ */
#define SYS_NR_read 0         /**< read(fd, buf, len) */
#define SYS_NR_write 1        /**< write(fd, buf, len) */
#define SYS_NR_close 3        /**< close(fd) */
#define SYS_NR_lseek 8        /**< lseek(fd, offset, whence) */
#define SYS_NR_mmap 9         /**< mmap(addr, len, prot, flags, fd, offset) */
#define SYS_NR_munmap 11      /**< munmap(addr, len) */
#define SYS_NR_getpid 39      /**< getpid() */
#define SYS_NR_exit_group 231 /**< exit_group(status) */
#define SYS_NR_openat 257     /**< openat(dirfd, path, flags, mode) */
#define SYS_NR_pipe2 293      /**< pipe2(fds, flags) */
/** @} */

#endif
