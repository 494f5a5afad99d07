/*
 * nolibc.c — chapter 02, part 4: a program with no C library at all.   (reference solution)
 *
 * Rust's `#![no_std]` drops the standard library and `#![no_main]` drops the runtime that calls `main`; what is
 * left is the entry point the kernel jumps to and whatever the program brings. Here that is `_start` (given, in
 * start.c) and the shim of parts 1-3. Built with `-ffreestanding -nostdlib -static`: any call into libc would fail to link.
 *
 * What it does (tests/02-syscall-shim checks each line):
 *   stdout  "hello from _start: pid <pid>, argc <argc>\n", then "argv[<i>] = <argument>\n" for every argument,
 *           then "edges: <INT64_MIN> -1 0 <INT64_MAX>\n", the four numbers printed by line_add_int;
 *   stderr  "write(-1) = Err(<n>)\n", where n is the error number the kernel gave for a write to fd -1;
 *   exit    status argc - 1, the number of arguments after the program's name.
 */
#include "sys.h"

/* The program's body. start.c's `_start` calls it with the initial stack pointer; `used` keeps it even when
 * nothing in C refers to it (a link-time optimiser sees no caller, only an assembler symbol). */
_Noreturn void nolibc_start(const uintptr_t *sp);

/* A line being built, written with one system call when complete (or when full). */
struct line {
    int fd;
    size_t len;
    char buf[256];
};

/* Writes all n bytes, looping over short writes; false on the first error. */
static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        sys_result r = sys_write(fd, p, n);
        if (sys_is_err(r))
            return false;
        p += r.value;
        n -= r.value;
    }
    return true;
}

static void line_flush(struct line *l)
{
    /* Nowhere to report a failed write to stdout or stderr: the exit status tells. */
    (void)write_all(l->fd, l->buf, l->len);
    l->len = 0;
}

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
    char digits[24];
    char *p = digits + sizeof digits;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    *--p = '\0';
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    line_add(l, p);
}

_Noreturn __attribute__((used)) void nolibc_start(const uintptr_t *sp)
{
    /* SAFETY: the kernel's initial stack layout (System V ABI, "Process Initialization"): argc is a word at sp,
     * and argc pointers to NUL-terminated strings follow it. */
    int64_t argc = (int64_t)sp[0];
    char *const *argv = (char *const *)(sp + 1);

    struct line out;
    out.fd = 1;
    out.len = 0;
    sys_result pid = sys_getpid();
    line_add(&out, "hello from _start: pid ");
    line_add_int(&out, (int64_t)pid.value);
    line_add(&out, ", argc ");
    line_add_int(&out, argc);
    line_add(&out, "\n");
    line_flush(&out);
    for (int64_t i = 0; i < argc; i++) {
        line_add(&out, "argv[");
        line_add_int(&out, i);
        line_add(&out, "] = ");
        line_add(&out, argv[i]);
        line_add(&out, "\n");
        line_flush(&out);
    }
    /* The numbers where a hand-written formatter goes wrong: the most negative, -1, zero, the largest. */
    line_add(&out, "edges:");
    static const int64_t edges[] = {INT64_MIN, -1, 0, INT64_MAX};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        line_add(&out, " ");
        line_add_int(&out, edges[i]);
    }
    line_add(&out, "\n");
    line_flush(&out);

    /* An error is a value even here: no errno exists to hold it. */
    sys_result bad = sys_write(-1, "x", 1);
    struct line err;
    err.fd = 2;
    err.len = 0;
    line_add(&err, "write(-1) = Err(");
    line_add_int(&err, bad.err);
    line_add(&err, ")\n");
    line_flush(&err);

    sys_exit_group((int)(argc - 1));
}
