/*
 * The chapter 02 probe: checks the shim where the test binary cannot.
 *
 *   probe CHECK      CHECK: regs, mem-in, mem-out, volatile, raw, six, wrappers, errors, demux
 *
 * Prints "ok CHECK" and exits 0, or prints what went wrong and exits 1. Built by mk/chapters/02-syscall-shim.mk
 * at -O2 without sanitizers, once per host compiler and once for aarch64 (run under qemu-aarch64).
 *
 * Why a program of its own: a missing clobber only shows where the raw call is *inlined* into code that keeps
 * values in registers or memory across it. A call into another file is an ordinary function call, and the C
 * calling convention already assumes rcx, r11 and all escaped memory are lost across one. So this file includes
 * the architecture's source directly and compiles it in the same unit, and the functions that check the clobbers
 * are marked `flatten` (inline everything they call) and `noinline` (stay one function with live values).
 * The wrappers (sys.c) are linked as a separate file, as a user of the shim would.
 */
#define _GNU_SOURCE
#include "sys.h"

#if defined(__x86_64__)
#include "sys_x86_64.c"
#elif defined(__aarch64__)
#include "sys_aarch64.c"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK_ATTR __attribute__((flatten, noinline))

static char why[512];

/* Records the first failure of a check; returns false so checks can `return fail(...)`. */
__attribute__((format(printf, 1, 2))) static bool fail(const char *fmt, ...)
{
    if (why[0])
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return false;
}

/* A pipe whose read end does not block: a write the compiler dropped shows as EAGAIN, not as a hang. */
static void nonblocking_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
        perror("probe: pipe");
        exit(2);
    }
}

/* ---- clobbers --------------------------------------------------------------------------------------------- */

/* Inputs the compiler cannot see through, so the values below must live in registers. */
static volatile uintptr_t seeds[14] = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};

#define LOAD14(v)                                                                                                       \
    uintptr_t v##0 = seeds[0], v##1 = seeds[1], v##2 = seeds[2], v##3 = seeds[3], v##4 = seeds[4], v##5 = seeds[5],     \
              v##6 = seeds[6], v##7 = seeds[7], v##8 = seeds[8], v##9 = seeds[9], v##10 = seeds[10], v##11 = seeds[11], \
              v##12 = seeds[12], v##13 = seeds[13]
#define LIST14(v) v##0, v##1, v##2, v##3, v##4, v##5, v##6, v##7, v##8, v##9, v##10, v##11, v##12, v##13

static bool same_as_seeds(const char *when, const uintptr_t *got)
{
    for (int i = 0; i < 14; i++)
        if (got[i] != seeds[i])
            return fail(
                "a value held in a register across %s changed from %lu to %#lx: the asm overwrites a "
                "register it does not declare (x86_64: rcx and r11)",
                when, (unsigned long)seeds[i], (unsigned long)got[i]);
    return true;
}

/* Fourteen live values: as many as x86_64 has registers besides rax and rsp, so rcx and r11 get used unless the
 * asm declares them clobbered. */
CHECK_ATTR static bool check_regs_call0(void)
{
    LOAD14(v);
    uintptr_t pid = sys_call0(SYS_NR_getpid);
    uintptr_t got[14] = {LIST14(v)};
    if (pid != (uintptr_t)getpid())
        return fail("sys_call0(SYS_NR_getpid) returned %#lx, getpid() says %ld", (unsigned long)pid, (long)getpid());
    return same_as_seeds("sys_call0", got);
}

CHECK_ATTR static bool check_regs_call6(void)
{
    LOAD14(v);
    /* mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0): all six registers in use. */
    uintptr_t raw = sys_call6(SYS_NR_mmap, 0, 4096, SYS_PROT_READ, SYS_MAP_PRIVATE | SYS_MAP_ANONYMOUS, (uintptr_t)-1, 0);
    uintptr_t got[14] = {LIST14(v)};
    if (raw > (uintptr_t)-4096)
        return fail("sys_call6(SYS_NR_mmap, anonymous page) failed with raw %ld", (long)raw);
    munmap((void *)raw, 4096);
    return same_as_seeds("sys_call6", got);
}

/* An empty asm that needs the fourteen values in general registers: once before and once after the call, so the
 * compiler cannot park them in vector registers (which `syscall` preserves) and the check stays meaningful. */
#define PIN14(v)                                                                                                       \
    __asm__ volatile(""                                                                                                \
                     : "+r"(v##0), "+r"(v##1), "+r"(v##2), "+r"(v##3), "+r"(v##4), "+r"(v##5), "+r"(v##6), "+r"(v##7), \
                       "+r"(v##8), "+r"(v##9), "+r"(v##10), "+r"(v##11), "+r"(v##12), "+r"(v##13))

/* getpid ignores its argument registers, so every arity can make the same harmless call: a clobber missing from
 * one arity's asm shows there. */
#define CHECK_REGS_WITH(arity, call)                                                                                   \
    CHECK_ATTR static bool check_regs_call##arity(void)                                                                \
    {                                                                                                                  \
        LOAD14(v);                                                                                                     \
        PIN14(v);                                                                                                      \
        uintptr_t pid = call;                                                                                          \
        PIN14(v);                                                                                                      \
        uintptr_t got[14] = {LIST14(v)};                                                                               \
        if (pid != (uintptr_t)getpid())                                                                                \
            return fail("sys_call" #arity "(SYS_NR_getpid, ...) returned %#lx, getpid() says %ld", (unsigned long)pid, \
                        (long)getpid());                                                                               \
        return same_as_seeds("sys_call" #arity, got);                                                                  \
    }
CHECK_REGS_WITH(1, sys_call1(SYS_NR_getpid, 1))
CHECK_REGS_WITH(2, sys_call2(SYS_NR_getpid, 1, 2))
CHECK_REGS_WITH(3, sys_call3(SYS_NR_getpid, 1, 2, 3))
CHECK_REGS_WITH(4, sys_call4(SYS_NR_getpid, 1, 2, 3, 4))
CHECK_REGS_WITH(5, sys_call5(SYS_NR_getpid, 1, 2, 3, 4, 5))

static bool check_regs(void)
{
    return check_regs_call0() && check_regs_call1() && check_regs_call2() && check_regs_call3() && check_regs_call4() &&
           check_regs_call5() && check_regs_call6();
}

/* The kernel writes buf; without "memory" the compiler may answer buf[0] from what it stored before the call. */
CHECK_ATTR static bool check_mem_in(int rfd, int wfd)
{
    char buf[8] = "xxxxxxx";
    uintptr_t w = sys_call3(SYS_NR_write, (uintptr_t)wfd, (uintptr_t) "A", 1);
    uintptr_t r = sys_call3(SYS_NR_read, (uintptr_t)rfd, (uintptr_t)buf, 1);
    if (w != 1 || r != 1)
        return fail("write then read through a pipe returned %ld and %ld, expected 1 and 1", (long)w, (long)r);
    if (buf[0] != 'A')
        return fail(
            "the kernel wrote 'A' into the buffer but the code after the call read '%c': without a "
            "\"memory\" clobber the compiler reuses what it knew before the call",
            buf[0]);
    return true;
}

/* The kernel reads msg; without "memory" the compiler may sink or drop the store before the call. */
CHECK_ATTR static bool check_mem_out(int rfd, int wfd)
{
    char msg[8];
    msg[0] = 'Z';
    uintptr_t w = sys_call3(SYS_NR_write, (uintptr_t)wfd, (uintptr_t)msg, 1);
    msg[0] = 'Q';
    char got = 0;
    uintptr_t r = sys_call3(SYS_NR_read, (uintptr_t)rfd, (uintptr_t)&got, 1);
    if (w != 1 || r != 1)
        return fail("write then read through a pipe returned %ld and %ld, expected 1 and 1", (long)w, (long)r);
    if (got != 'Z')
        return fail(
            "the byte stored just before the write call was 'Z' but the kernel sent 0x%02x: without a "
            "\"memory\" clobber the compiler may move or drop stores around the call",
            (unsigned char)got);
    return true;
}

static char file[96]; /* the data file, made by make_files() below */

/* The same for the other arities whose calls have an effect to observe: close (1), ftruncate (2), and write with
 * arguments the kernel ignores (4-6). Each result is unused. */
CHECK_ATTR static bool check_volatile_arities(int rfd, int wfd)
{
    int d = dup(wfd), fd = open(file, O_RDWR | O_CLOEXEC);
    if (d < 0 || fd < 0)
        return fail("probe: dup or open failed");
    uintptr_t unused = sys_call1(SYS_close, (uintptr_t)d);
    unused = sys_call2(SYS_ftruncate, (uintptr_t)fd, 7);
    unused = sys_call4(SYS_NR_write, (uintptr_t)wfd, (uintptr_t) "4", 1, 0);
    unused = sys_call5(SYS_NR_write, (uintptr_t)wfd, (uintptr_t) "5", 1, 0, 0);
    unused = sys_call6(SYS_NR_write, (uintptr_t)wfd, (uintptr_t) "6", 1, 0, 0, 0);
    (void)unused;
    struct stat st;
    char got[4] = "";
    bool closed = fcntl(d, F_GETFD) == -1, cut = fstat(fd, &st) == 0 && st.st_size == 7;
    ssize_t n = read(rfd, got, sizeof got);
    close(fd);
    if (!closed || !cut || n != 3 || memcmp(got, "456", 3) != 0)
        return fail(
            "calls whose results were never used did not all happen (close %s, ftruncate %s, writes \"%.*s\"): "
            "without `volatile` the compiler may delete an asm whose outputs are unused",
            closed ? "done" : "missing", cut ? "done" : "missing", n > 0 ? (int)n : 0, got);
    return true;
}

/* A raw call whose result nobody reads must still happen: without `volatile`, an asm whose outputs are unused
 * may be deleted. */
CHECK_ATTR static bool check_volatile(int rfd, int wfd)
{
    uintptr_t unused = sys_call3(SYS_NR_write, (uintptr_t)wfd, (uintptr_t) "V", 1);
    (void)unused;
    char got = 0;
    uintptr_t r = sys_call3(SYS_NR_read, (uintptr_t)rfd, (uintptr_t)&got, 1);
    if (r != 1 || got != 'V')
        return fail(
            "a write whose result was never used did not happen (the read after it returned %ld): "
            "without `volatile` the compiler may delete an asm whose outputs are unused",
            (long)r);
    return check_volatile_arities(rfd, wfd);
}

/* ---- the raw calls, one arity each, against libc ---------------------------------------------------------- */

static char dir[64];
static char file[96];
static const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static void make_files(void)
{
    snprintf(dir, sizeof dir, "/tmp/ferrite-probe-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("probe: mkdtemp");
        exit(2);
    }
    snprintf(file, sizeof file, "%s/data", dir);
    /* Three pages: content at offset 0, page 1 filled with 'b', page 2 with 'c'. */
    static char page[3][4096];
    memcpy(page[0], content, sizeof content);
    memset(page[1], 'b', 4096);
    memset(page[2], 'c', 4096);
    int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, page, sizeof page) != (ssize_t)sizeof page || close(fd) != 0) {
        perror("probe: data file");
        exit(2);
    }
}

static void remove_files(void)
{
    unlink(file);
    rmdir(dir);
}

static bool check_raw(void)
{
    uintptr_t pid = sys_call0(SYS_getpid);
    if (pid != (uintptr_t)getpid())
        return fail("call0(getpid) = %ld, getpid() = %ld", (long)pid, (long)getpid());
    int p[2];
    nonblocking_pipe(p);
    uintptr_t d = sys_call1(SYS_dup, (uintptr_t)p[1]);
    if ((long)d < 0 || write((int)d, "k", 1) != 1)
        return fail("call1(dup, write end) = %ld, not a working descriptor", (long)d);
    char c = 0;
    if (read(p[0], &c, 1) != 1 || c != 'k')
        return fail("a byte written through call1(dup)'s descriptor did not come out of the pipe");
    close((int)d);
    char cwd[512] = "", want[512] = "";
    uintptr_t n = sys_call2(SYS_getcwd, (uintptr_t)cwd, sizeof cwd);
    if (!getcwd(want, sizeof want) || (long)n <= 0 || strcmp(cwd, want) != 0)
        return fail("call2(getcwd) = %ld gave \"%s\", libc says \"%s\"", (long)n, cwd, want);
    uintptr_t w = sys_call3(SYS_write, (uintptr_t)p[1], (uintptr_t) "xyz", 3);
    char buf[8] = "";
    uintptr_t r = sys_call3(SYS_read, (uintptr_t)p[0], (uintptr_t)buf, sizeof buf);
    if (w != 3 || r != 3 || memcmp(buf, "xyz", 3) != 0)
        return fail("call3(write) = %ld, call3(read) = %ld \"%.3s\", expected 3, 3 \"xyz\"", (long)w, (long)r, buf);
    close(p[0]);
    close(p[1]);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    char at[4] = "";
    r = sys_call4(SYS_pread64, (uintptr_t)fd, (uintptr_t)at, 3, 10);
    if (r != 3 || memcmp(at, "abc", 3) != 0)
        return fail("call4(pread64, offset 10) = %ld \"%.3s\", expected 3 \"abc\": the 4th argument goes in %s", (long)r,
                    at, SYS_ARCH_NAME[0] == 'x' ? "r10" : "x3");
    close(fd);
    struct statx sx;
    memset(&sx, 0, sizeof sx);
    r = sys_call5(SYS_statx, (uintptr_t)AT_FDCWD, (uintptr_t)file, 0, STATX_SIZE, (uintptr_t)&sx);
    if (r != 0 || sx.stx_size != 3 * 4096)
        return fail("call5(statx) = %ld, size %llu, expected 0 and %d: the 5th argument goes in %s", (long)r,
                    (unsigned long long)sx.stx_size, 3 * 4096, SYS_ARCH_NAME[0] == 'x' ? "r8" : "x4");
    return true;
}

/* mmap of page 2 of the file: fd in the 5th register, offset in the 6th, MAP_PRIVATE in the 4th. */
static bool check_six(void)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    uintptr_t raw = sys_call6(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, (uintptr_t)fd, 2 * 4096);
    close(fd);
    if (raw > (uintptr_t)-4096)
        return fail("call6(mmap, file page 2) failed with %ld: flags, fd and offset are the 4th-6th arguments", (long)raw);
    const char *page = (const char *)raw;
    bool ok = page[0] == 'c' && page[4095] == 'c';
    char first = page[0];
    munmap((void *)raw, 4096);
    if (!ok)
        return fail(
            "call6(mmap) mapped a page starting with '%c', expected page 2 of the file ('c'): the "
            "offset (6th argument) did not arrive",
            first);
    return true;
}

/* ---- parts 2 and 3 ------------------------------------------------------------------------------------------ */

static bool check_demux(void)
{
    static const struct {
        uintptr_t raw, value;
        int err;
    } cases[] = {
        {0, 0, 0},
        {(uintptr_t)-1, 0, 1},
        {(uintptr_t)-4095, 0, 4095},
        {(uintptr_t)-4096, (uintptr_t)-4096, 0},
        {0x1FFFFFFFFu, 0x1FFFFFFFFu, 0},
        {0xFFFFFFFFu, 0xFFFFFFFFu, 0},
        {0x7FFFFFFFF001u, 0x7FFFFFFFF001u, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sys_result r = sys_demux(cases[i].raw);
        if (r.value != cases[i].value || r.err != cases[i].err)
            return fail("sys_demux(%#lx) = {%#lx, %d}, expected {%#lx, %d}", (unsigned long)cases[i].raw,
                        (unsigned long)r.value, r.err, (unsigned long)cases[i].value, cases[i].err);
    }
    return true;
}

static bool check_wrappers(void)
{
    sys_result pid = sys_getpid();
    if (pid.err || pid.value != (uintptr_t)getpid())
        return fail("sys_getpid() = {%lu, %d}, getpid() = %ld", (unsigned long)pid.value, pid.err, (long)getpid());
    int p[2] = {-1, -1};
    sys_result r = sys_pipe2(p, SYS_O_CLOEXEC);
    if (r.err || p[0] < 0 || p[1] < 0 || !(fcntl(p[0], F_GETFD) & FD_CLOEXEC))
        return fail("sys_pipe2(fds, O_CLOEXEC) = {%lu, %d}, fds %d %d", (unsigned long)r.value, r.err, p[0], p[1]);
    sys_result w = sys_write(p[1], "pipe", 4);
    char buf[8] = "";
    sys_result rd = sys_read(p[0], buf, sizeof buf);
    if (w.err || w.value != 4 || rd.err || rd.value != 4 || memcmp(buf, "pipe", 4) != 0)
        return fail("sys_write/sys_read through a pipe: {%lu, %d} {%lu, %d}", (unsigned long)w.value, w.err,
                    (unsigned long)rd.value, rd.err);
    if (sys_close(p[0]).err || sys_close(p[1]).err)
        return fail("sys_close of a pipe end failed");
    sys_result fd = sys_openat(SYS_AT_FDCWD, file, SYS_O_RDONLY | SYS_O_CLOEXEC, 0);
    if (fd.err)
        return fail("sys_openat(AT_FDCWD, \"%s\") failed with %d", file, fd.err);
    sys_result off = sys_lseek((int)fd.value, -4, SYS_SEEK_END);
    char tail[4];
    rd = sys_read((int)fd.value, tail, 4);
    if (off.err || off.value != 3 * 4096 - 4 || rd.value != 4 || memcmp(tail, "cccc", 4) != 0)
        return fail("sys_lseek(fd, -4, SEEK_END) = {%lu, %d}, expected %d", (unsigned long)off.value, off.err,
                    3 * 4096 - 4);
    if (sys_close((int)fd.value).err)
        return fail("sys_close of a file failed");
    sys_result m = sys_mmap(NULL, 8192, SYS_PROT_READ | SYS_PROT_WRITE, SYS_MAP_PRIVATE | SYS_MAP_ANONYMOUS, -1, 0);
    if (m.err || m.value % 4096 != 0)
        return fail("sys_mmap(anonymous, 8 KiB) = {%#lx, %d}", (unsigned long)m.value, m.err);
    char *mem = (char *)m.value;
    mem[0] = 1;
    mem[8191] = 2;
    if (sys_munmap(mem, 8192).err)
        return fail("sys_munmap of a fresh mapping failed");
    /* A file mapping needs the fd (5th) and the offset (6th) too. Out of line, as here, a register the asm forgot to
     * load still holds the caller's argument of that position, never the right one. */
    int f = open(file, O_RDONLY | O_CLOEXEC);
    m = sys_mmap(NULL, 4096, SYS_PROT_READ, SYS_MAP_PRIVATE, f, 2 * 4096);
    close(f);
    if (m.err || ((const char *)m.value)[0] != 'c')
        return fail("sys_mmap(file, offset 8192) = {%#lx, %d}, expected page 2 of the file ('c')", (unsigned long)m.value,
                    m.err);
    if (sys_munmap((void *)m.value, 4096).err)
        return fail("sys_munmap of the file mapping failed");
    return true;
}

static bool expect_err(const char *what, sys_result r, int want_err, int libc_ret, int libc_errno)
{
    if (r.err != want_err || r.value != 0)
        return fail("%s = {%lu, %d}, expected {0, %d} as libc reports (%d, errno %d)", what, (unsigned long)r.value, r.err,
                    want_err, libc_ret, libc_errno);
    if (libc_ret != -1 || libc_errno != want_err)
        return fail("%s: libc itself gave %d, errno %d; expected errno %d", what, libc_ret, libc_errno, want_err);
    return true;
}

/* An address no process has mapped, hidden from the compiler so it does not warn about a constant pointer. */
static void *volatile bad_address = (void *)16;

static bool check_errors(void)
{
    char buf[4];
    int p[2];
    nonblocking_pipe(p);
    if (write(p[1], "e", 1) != 1)
        return fail("pipe write failed");
    errno = 12345;
    sys_result r = sys_read(-1, buf, 1);
    if (errno != 12345)
        return fail("errno changed from 12345 to %d: the shim must not write errno", errno);
    int lr = (int)read(-1, buf, 1);
    if (!expect_err("sys_read(-1)", r, SYS_EBADF, lr, errno))
        return false;
    r = sys_openat(SYS_AT_FDCWD, "/nonexistent/ferrite", SYS_O_RDONLY, 0);
    lr = openat(AT_FDCWD, "/nonexistent/ferrite", O_RDONLY);
    if (!expect_err("sys_openat(missing file)", r, SYS_ENOENT, lr, errno))
        return false;
    r = sys_read(p[0], bad_address, 1);
    lr = (int)read(p[0], bad_address, 1);
    if (!expect_err("sys_read(pipe, (void *)16)", r, SYS_EFAULT, lr, errno))
        return false;
    r = sys_lseek(p[0], 0, SYS_SEEK_SET);
    lr = (int)lseek(p[0], 0, SEEK_SET);
    if (!expect_err("sys_lseek(pipe)", r, SYS_ESPIPE, lr, errno))
        return false;
    close(p[0]);
    close(p[1]);
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: probe regs|mem-in|mem-out|volatile|raw|six|wrappers|errors|demux\n");
        return 2;
    }
    const char *check = argv[1];
    int p[2];
    bool ok;
    make_files();
    if (!strcmp(check, "regs"))
        ok = check_regs();
    else if (!strcmp(check, "mem-in") || !strcmp(check, "mem-out") || !strcmp(check, "volatile")) {
        nonblocking_pipe(p);
        ok = check[0] == 'v'   ? check_volatile(p[0], p[1])
             : check[4] == 'i' ? check_mem_in(p[0], p[1])
                               : check_mem_out(p[0], p[1]);
    } else if (!strcmp(check, "raw"))
        ok = check_raw();
    else if (!strcmp(check, "six"))
        ok = check_six();
    else if (!strcmp(check, "wrappers"))
        ok = check_wrappers();
    else if (!strcmp(check, "errors"))
        ok = check_errors();
    else if (!strcmp(check, "demux"))
        ok = check_demux();
    else {
        fprintf(stderr, "probe: unknown check '%s'\n", check);
        remove_files();
        return 2;
    }
    remove_files();
    if (!ok) {
        printf("FAIL %s (%s, %s): %s\n", check, SYS_ARCH_NAME, __VERSION__, why);
        return 1;
    }
    printf("ok %s\n", check);
    return 0;
}
