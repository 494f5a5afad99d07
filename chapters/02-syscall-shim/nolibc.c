/*
 * nolibc.c — chapter 02, part 4: a program with no C library at all.   (exercise skeleton)
 *
 * Rust's `#![no_std]` drops the standard library and `#![no_main]` drops the runtime that calls `main`; what is
 * left is the entry point the kernel jumps to and whatever the program brings. Here that is `_start` (given, in
 * start.c) and the shim of parts 1-3. The build uses `-ffreestanding -nostdlib -static`: any call into libc (printf,
 * strlen, even a memset the compiler invents for a large `= {0}`) fails to link.
 *
 * What the program must do (tests/02-syscall-shim/test_nolibc.c checks each line):
 *   stdout  "hello from _start: pid <pid>, argc <argc>\n", then "argv[<i>] = <argument>\n" for every argument,
 *           argv[0] included, then "edges: <INT64_MIN> -1 0 <INT64_MAX>\n", those four numbers printed by
 *           line_add_int; each line written with one sys_write where it fits;
 *   stderr  "write(-1) = Err(<n>)\n", where n is the error number the kernel gave for a write to fd -1;
 *   exit    status argc - 1, the number of arguments after the program's name, through sys_exit_group.
 */
#include "sys.h"

/* The program's body. start.c's `_start` calls it with the initial stack pointer; `used` keeps it even when
 * nothing in C refers to it (a link-time optimiser sees no caller, only an assembler symbol). */
_Noreturn void nolibc_start(const uintptr_t *sp);

/* A line being built, written with one system call when complete (or when full). Given. */
struct line {
    int fd;
    size_t len;
    char buf[256];
};

/* Writes all n bytes, looping over short writes; false on the first error. */
static bool write_all(int fd, const char *p, size_t n)
{
    /* TODO: call sys_write until all n bytes are out; a write may take fewer bytes than asked (a pipe, a signal),
     * and the rest must follow. Return false on an error result. Rust: `Write::write_all`. */
    (void)fd;
    (void)p;
    (void)n;
    return false;
}

/* Given: writes the line and empties it. */
static void line_flush(struct line *l)
{
    /* Nowhere to report a failed write to stdout or stderr: the exit status tells. */
    (void)write_all(l->fd, l->buf, l->len);
    l->len = 0;
}

/* Given: appends a NUL-terminated string, flushing whenever the buffer fills. */
static void line_add(struct line *l, const char *s)
{
    for (; *s; s++) {
        if (l->len == sizeof l->buf)
            line_flush(l);
        l->buf[l->len++] = *s;
    }
}

/* Appends v in decimal; a minus sign for negative numbers. */
static void line_add_int(struct line *l, int64_t v)
{
    /* TODO: no printf here. Fill a small char array from its end with '0' + u % 10 while dividing u by 10
     * (do it at least once, so 0 prints "0"), add '-' for a negative v, then line_add the result.
     * Trap: -v overflows for INT64_MIN; negate as unsigned: 0 - (uint64_t)v. */
    (void)l;
    (void)v;
}

_Noreturn __attribute__((used)) void nolibc_start(const uintptr_t *sp)
{
    /* TODO: the program's body (see the top of this file for the exact output).
     *   1. argc is the word at sp[0]; argv the array of pointers starting at sp + 1. This is the C twin of
     *      `#![no_main]`: nobody parsed them for you. Write a SAFETY comment: why may you read them?
     *   2. Build each line in a `struct line` (set fd and len; do not `= {0}` the whole struct: the compiler
     *      may call memset, which does not exist here) and line_flush it.
     *   3. Write one byte to fd -1 and print the error the result carries: errors are values, and with no libc
     *      there is no errno to look at anyway.
     *   4. End with sys_exit_group(argc - 1): there is no main to return to. */
    (void)sp;
    (void)line_add;
    (void)line_add_int;
    __builtin_trap();
}
