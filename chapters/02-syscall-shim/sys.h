/**
 * @file sys.h
 * @brief Chapter 02: a system-call shim for Linux, the C twin of Redox OS's `syscall` crate.
 *
 * **Prefix.** `sys_` (`SYS_` for constants) stands for *system call*; every name this header and the two
 * architecture headers declare carries it.
 *
 * Three layers, bottom up, each in its own file:
 *
 * 1. **Raw calls** (sys_call0() ... sys_call6(), in `sys_x86_64.c` or `sys_aarch64.c`): one inline-assembly block
 *    each. They put the call number and up to six arguments in the registers the kernel reads, trap into it, and
 *    return the raw 64-bit result. The preprocessor picks the architecture below, as `cfg(target_arch)` picks
 *    Redox's `arch` module.
 * 2. **The demux** (sys_demux(), in `sys.c`): turns a raw result into an ::sys_result, Rust's
 *    `Result<usize, Error>`. Linux's rule, on all 64 bits: a raw value in [-4095, -1] is `-errno`; anything else,
 *    including a huge address, is a value.
 * 3. **Typed wrappers** (sys_read(), sys_mmap(), ..., in `sys.c`): C types in, one raw call, the demux, out.
 *
 * **Error convention.** Every fallible function returns an ::sys_result, marked ::FT_MUST_USE: ignoring one is a
 * compile error under `-Werror`, as an unused `Result` is a lint in Rust. `err` is 0 for success or a positive
 * Linux error number (::SYS_EBADF, ...), the same numbers `errno` would hold. No function here reads or
 * writes `errno`: the error travels in the return value, and nothing is left behind in thread-local state.
 *
 * **No libc.** This header and the files that implement it use only the compiler's freestanding headers
 * (`stddef.h`, `stdint.h`, `stdbool.h`) and `ferrite.h` (attributes, no code), so they also build with
 * `-ffreestanding -nostdlib` (part 4). The flag values below are the kernel's own; those listed are identical on
 * x86_64 and aarch64.
 *
 * **Safety.** A raw call is `unsafe` in Rust for a reason: the kernel trusts the numbers it is given. Passing an
 * address as an argument gives the kernel the right to read or write through it for the length given, exactly once,
 * during the call; the caller must own that memory for that long. The kernel reports a bad address as ::SYS_EFAULT
 * when it notices, but a wrong-yet-valid address is silently written.
 */
#ifndef FERRITE_SYS_H
#define FERRITE_SYS_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cfg(target_arch): one register convention and one table of call numbers per architecture. */
#if defined(__x86_64__)
#include "sys_x86_64.h"
#elif defined(__aarch64__)
#include "sys_aarch64.h"
#else
#error "sys.h: no system-call shim for this architecture; chapter 02 supports x86_64 and aarch64"
#endif

/** @name Linux error numbers (positive, as in ::sys_result.err; the same on x86_64 and aarch64)
 * @{ */
#define SYS_EPERM 1        /**< operation not permitted */
#define SYS_ENOENT 2       /**< no such file or directory */
#define SYS_EBADF 9        /**< not an open file descriptor */
#define SYS_EAGAIN 11      /**< try again (a non-blocking call would block) */
#define SYS_ENOMEM 12      /**< out of memory */
#define SYS_EACCES 13      /**< permission denied */
#define SYS_EFAULT 14      /**< a pointer argument points outside the caller's memory */
#define SYS_EEXIST 17      /**< file exists */
#define SYS_EINVAL 22      /**< invalid argument */
#define SYS_ESPIPE 29      /**< seek on a pipe */
#define SYS_ENOSYS 38      /**< no such system call; also what the exercise skeleton returns */
#define SYS_MAX_ERRNO 4095 /**< the largest error number: raw results in [-4095, -1] are errors */
/** @} */

/** @name Flags the wrappers take (the kernel's values)
 * @{ */
#define SYS_AT_FDCWD (-100)    /**< sys_openat(): resolve a relative path from the working directory */
#define SYS_O_RDONLY 0         /**< open for reading */
#define SYS_O_WRONLY 01        /**< open for writing */
#define SYS_O_RDWR 02          /**< open for reading and writing */
#define SYS_O_CREAT 0100       /**< create the file if it does not exist (then `mode` is used) */
#define SYS_O_TRUNC 01000      /**< truncate to length 0 */
#define SYS_O_CLOEXEC 02000000 /**< close on exec (also for sys_pipe2()) */
#define SYS_SEEK_SET 0         /**< sys_lseek(): offset from the start */
#define SYS_SEEK_CUR 1         /**< sys_lseek(): offset from the current position */
#define SYS_SEEK_END 2         /**< sys_lseek(): offset from the end */
#define SYS_PROT_NONE 0        /**< sys_mmap(): no access */
#define SYS_PROT_READ 1        /**< sys_mmap(): readable */
#define SYS_PROT_WRITE 2       /**< sys_mmap(): writable */
#define SYS_MAP_SHARED 0x01    /**< sys_mmap(): writes reach the file and other mappings */
#define SYS_MAP_PRIVATE 0x02   /**< sys_mmap(): copy on write */
#define SYS_MAP_ANONYMOUS 0x20 /**< sys_mmap(): no file; zero-filled (pass fd -1, offset 0) */
/** @} */

/**
 * @brief The outcome of a system call: a value, or an error number.
 *
 * Exactly one of the two is meaningful: when `err == 0` the call succeeded and `value` is its result (a byte
 * count, a descriptor, an address, ...); when `err != 0` it failed with that positive error number and `value` is 0.
 * Returned by value in two registers (rax:rdx on x86_64, x0:x1 on aarch64), so it costs no memory.
 * @rust `Result<usize, syscall::Error>` (Redox), or `std::io::Result<usize>`
 */
typedef struct sys_result {
    uintptr_t value; /**< the result when `err == 0`; 0 otherwise */
    int err;         /**< 0 for success, else a positive Linux error number (::SYS_EBADF, ...) */
} sys_result;

/** @brief A successful result carrying @p value. @rust `Ok(value)` */
static inline sys_result sys_ok(uintptr_t value) { return (sys_result){value, 0}; }

/** @brief A failed result carrying the positive error number @p err. @rust `Err(Error::new(err))` */
static inline sys_result sys_err(int err) { return (sys_result){0, err}; }

/** @brief True when @p r holds a value. @rust `Result::is_ok` */
static inline bool sys_is_ok(sys_result r) { return r.err == 0; }

/** @brief True when @p r holds an error. @rust `Result::is_err` */
static inline bool sys_is_err(sys_result r) { return r.err != 0; }

/**
 * @name Part 1: raw system calls (sys_x86_64.c, sys_aarch64.c)
 *
 * `sys_callN(n, a1, ..., aN)` traps into the kernel with call number @p n (::SYS_NR_read, ...) and N arguments, and
 * returns the kernel's raw answer, unchanged: a value, or `-errno` as a 64-bit two's-complement number. Pointers
 * and signed numbers are passed as `uintptr_t`; the wrappers of part 3 do those conversions.
 *
 * Every call may read and write any memory the caller has handed the kernel an address of, so the compiler must
 * not keep such memory in registers across it (the `"memory"` clobber). Registers the instruction itself
 * overwrites must be declared too: on x86_64 `syscall` stores the return address in rcx and the flags in r11.
 * The arguments are not modified. Which registers hold what is stated in the architecture's header
 * (sys_x86_64.h, sys_aarch64.h).
 * @{
 */
/** @brief A system call with no argument. @rust `syscall::syscall0` (Redox), an `asm!` block */
FT_MUST_USE uintptr_t sys_call0(uintptr_t n);
/** @brief A system call with one argument. @rust `syscall::syscall1` (Redox) */
FT_MUST_USE uintptr_t sys_call1(uintptr_t n, uintptr_t a1);
/** @brief A system call with two arguments. @rust `syscall::syscall2` (Redox) */
FT_MUST_USE uintptr_t sys_call2(uintptr_t n, uintptr_t a1, uintptr_t a2);
/** @brief A system call with three arguments. @rust `syscall::syscall3` (Redox) */
FT_MUST_USE uintptr_t sys_call3(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3);
/** @brief A system call with four arguments. @rust `syscall::syscall4` (Redox) */
FT_MUST_USE uintptr_t sys_call4(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4);
/** @brief A system call with five arguments. @rust `syscall::syscall5` (Redox) */
FT_MUST_USE uintptr_t sys_call5(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5);
/** @brief A system call with six arguments, the most Linux passes in registers. @rust `syscall::syscall6` */
FT_MUST_USE uintptr_t sys_call6(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5,
                                uintptr_t a6);
/** @} */

/**
 * @brief Part 2: turns a raw system-call result into an ::sys_result.
 *
 * A raw result `r` is an error exactly when, read as a signed 64-bit number, it lies in [-4095, -1]; the error
 * number is then `-r`. Every other bit pattern is a value, returned whole: 0, a byte count, an address in the top
 * half of the address space, 0x1FFFFFFFF, or (uintptr_t)-4096. The decision looks at all 64 bits; the low 32
 * alone would read 0x1FFFFFFFF as -1. Reads and writes no `errno`.
 * @param raw the value a sys_callN() returned.
 * @return `{raw, 0}` or `{0, -raw}`.
 * @rust `syscall::Error::demux` (Redox)
 */
FT_MUST_USE sys_result sys_demux(uintptr_t raw);

/**
 * @name Part 3: typed wrappers (sys.c)
 *
 * Each converts its C arguments to registers (sign-extending signed numbers, passing pointers as addresses), makes
 * one raw call and returns sys_demux() of the answer. None retries, none reads or writes `errno`; the kernel's
 * error comes back in `err`. A pointer argument is borrowed for the duration of the call only.
 * @{
 */

/**
 * @brief Reads up to @p len bytes from @p fd into @p buf.
 * @param fd an open descriptor.
 * @param[out] buf at least @p len writable bytes, borrowed for the call.
 * @param len most bytes to read.
 * @return the number of bytes read (0 at end of file), or ::SYS_EBADF, ::SYS_EFAULT, ...
 * @rust `syscall::read(fd, &mut buf)` (Redox), `std::io::Read::read`
 */
FT_MUST_USE sys_result sys_read(int fd, void *buf, size_t len);

/**
 * @brief Writes up to @p len bytes from @p buf to @p fd; may write fewer (a short write).
 * @param fd an open descriptor.
 * @param buf at least @p len readable bytes, borrowed for the call.
 * @param len bytes to write.
 * @return the number of bytes written, or ::SYS_EBADF, ::SYS_EFAULT, ...
 * @rust `syscall::write(fd, &buf)` (Redox), `std::io::Write::write`
 */
FT_MUST_USE sys_result sys_write(int fd, const void *buf, size_t len);

/**
 * @brief Opens @p path, relative to the directory @p dirfd when the path is relative.
 * @param dirfd a directory descriptor, or ::SYS_AT_FDCWD (negative: it must stay negative in the register).
 * @param path a NUL-terminated path, borrowed for the call.
 * @param flags ::SYS_O_RDONLY, ::SYS_O_CREAT, ... combined with `|`.
 * @param mode permission bits for a file ::SYS_O_CREAT creates (before the umask); ignored otherwise.
 * @return a new descriptor, owned by the caller (close it with sys_close()), or ::SYS_ENOENT, ::SYS_EACCES, ...
 * @rust `syscall::open(path, flags)` (Redox), `std::fs::File::open`
 */
FT_MUST_USE sys_result sys_openat(int dirfd, const char *path, int flags, unsigned mode);

/**
 * @brief Closes @p fd. The number is released even when an error is reported; never close it again.
 * @return 0, or ::SYS_EBADF when @p fd was not open.
 * @rust `syscall::close(fd)` (Redox); `impl Drop for File` calls it and ignores the result
 */
FT_MUST_USE sys_result sys_close(int fd);

/**
 * @brief Moves the file offset of @p fd.
 * @param fd an open descriptor of a seekable file.
 * @param offset signed byte offset; negative values count back (from the end with ::SYS_SEEK_END).
 * @param whence ::SYS_SEEK_SET, ::SYS_SEEK_CUR or ::SYS_SEEK_END.
 * @return the new offset from the start, or ::SYS_ESPIPE (a pipe), ::SYS_EINVAL (negative result), ::SYS_EBADF.
 * @rust `syscall::lseek(fd, offset, whence)` (Redox), `std::io::Seek::seek`
 */
FT_MUST_USE sys_result sys_lseek(int fd, int64_t offset, int whence);

/**
 * @brief Creates a pipe: `fds[0]` reads what `fds[1]` writes.
 * @param[out] fds two ints the kernel fills on success; untouched on failure.
 * @param flags 0 or ::SYS_O_CLOEXEC.
 * @return 0, with both descriptors owned by the caller, or ::SYS_EFAULT, ::SYS_EINVAL, ...
 * @rust `syscall::pipe2(&mut fds, flags)` (Redox)
 */
FT_MUST_USE sys_result sys_pipe2(int fds[2], int flags);

/**
 * @brief The process id. Never fails on Linux; the result type is kept for uniformity, as Redox does.
 * @rust `syscall::getpid()` (Redox), `std::process::id`
 */
FT_MUST_USE sys_result sys_getpid(void);

/**
 * @brief Maps memory: anonymous (zero-filled) or a file's pages from @p offset. Six arguments.
 * @param addr a placement hint, or NULL for "anywhere".
 * @param len bytes to map; must not be 0.
 * @param prot ::SYS_PROT_READ | ::SYS_PROT_WRITE, or ::SYS_PROT_NONE.
 * @param flags ::SYS_MAP_PRIVATE or ::SYS_MAP_SHARED, optionally | ::SYS_MAP_ANONYMOUS.
 * @param fd the file to map, or -1 with ::SYS_MAP_ANONYMOUS.
 * @param offset where in the file the mapping starts; a multiple of the page size.
 * @return the address of the mapping, owned by the caller until sys_munmap(); or ::SYS_EINVAL, ::SYS_EBADF,
 *         ::SYS_ENOMEM, ... A high address is a value like any other: only [-4095, -1] is an error.
 * @rust `syscall::fmap` (Redox), the `memmap2` crate's `MmapOptions::map`
 */
FT_MUST_USE sys_result sys_mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t offset);

/**
 * @brief Unmaps the pages covering [@p addr, @p addr + @p len). Every pointer into them becomes invalid.
 * @param addr page-aligned start of a range mapped with sys_mmap().
 * @param len bytes to unmap.
 * @return 0, or ::SYS_EINVAL (unaligned @p addr, @p len 0).
 * @rust `syscall::funmap` (Redox); `impl Drop for Mmap`
 */
FT_MUST_USE sys_result sys_munmap(void *addr, size_t len);

/**
 * @brief Ends the process, every thread of it, with exit status @p status (the low 8 bits reach the parent).
 *
 * The one wrapper without an ::sys_result: the call does not return, and `_Noreturn` says so to the compiler,
 * as Rust's `-> !` does. No buffers are flushed and no `atexit` handlers run; there is no libc to run them.
 * @rust `std::process::exit` (`-> !`); Redox's `syscall::exit` returns a `Result` that is never seen
 */
_Noreturn void sys_exit_group(int status);
/** @} */

#endif
