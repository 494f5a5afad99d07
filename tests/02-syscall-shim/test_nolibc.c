/*
 * Part 4: a program with no libc. The freestanding build of nolibc.c (its own _start, the shim, nothing else) is
 * run with chosen arguments; its output, its exit status and its ELF headers are checked. One run is traced
 * (ptrace), so that every write to stdout or stderr comes back short, as it may from a pipe or a socket.
 */
#define _GNU_SOURCE
#include "support.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

FT_PART(4, "no libc: _start and the shim alone");

/* Runs the program as "nolibc" with the given arguments (NULL-terminated list after argv0). */
static void run_nolibc(const char *path, const char *const *args, run_result *r)
{
    const char *argv[8] = {path};
    size_t n = 1;
    for (; args[n - 1] && n < 7; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    run_program(argv, r);
}

static const char *nolibc_path(void) { return program_path("SYS02_NOLIBC", "the freestanding program from nolibc.c"); }

void check_nolibc_output(const run_result *r, const char *argv0, const char *const *args, int check)
{
    int argc = 1;
    while (args[argc - 1])
        argc++;
    ck_assert_msg(!WIFSIGNALED(r->status), "the program %s; stdout so far: \"%s\"", describe_status(r->status), r->out);
    const char *line = r->out;
    if (check & CHECK_GREETING) {
        long pid = -1, got_argc = -1;
        int used = 0;
        int n = sscanf(line, "hello from _start: pid %ld, argc %ld\n%n", &pid, &got_argc, &used);
        ck_assert_msg(n == 2 && used > 0,
                      "the first line must be \"hello from _start: pid <pid>, argc <argc>\", "
                      "got \"%.80s\"",
                      line);
        ck_assert_msg(pid > 1, "the pid printed is %ld", pid);
        ck_assert_int_eq(got_argc, argc);
    }
    if (check & CHECK_ARGS) {
        const char *nl = strchr(line, '\n');
        ck_assert_msg(nl, "no complete first line in \"%s\"", r->out);
        line = nl + 1;
        for (int i = 0; i < argc; i++) {
            char want[256];
            snprintf(want, sizeof want, "argv[%d] = %s\n", i, i == 0 ? argv0 : args[i - 1]);
            ck_assert_msg(!strncmp(line, want, strlen(want)), "line %d must be \"%.*s\", got \"%.*s\"", i + 2,
                          (int)strlen(want) - 1, want, (int)strcspn(line, "\n"), line);
            line += strlen(want);
        }
        if (!strncmp(line, "edges:", 6)) /* checked by CHECK_EDGES */
            line += strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');
        ck_assert_msg(*line == '\0', "unexpected output after the arguments: \"%s\"", line);
    }
    if (check & CHECK_EDGES) {
        static const char want[] = "edges: -9223372036854775808 -1 0 9223372036854775807\n";
        const char *at = strstr(r->out, "\nedges:");
        ck_assert_msg(at, "no line \"edges: ...\" after the arguments in \"%s\"", r->out);
        at++;
        ck_assert_msg(!strncmp(at, want, strlen(want)) && at[strlen(want)] == '\0',
                      "the last line must be \"%.*s\", got \"%s\"", (int)strlen(want) - 1, want, at);
    }
    if (check & CHECK_ERROR)
        ck_assert_msg(!strcmp(r->err, "write(-1) = Err(9)\n"),
                      "stderr must be exactly \"write(-1) = Err(9)\\n\", got \"%s\"", r->err);
    if (check & CHECK_STATUS)
        ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == argc - 1,
                      "the program %s, want exit status %d (the number of arguments)", describe_status(r->status),
                      argc - 1);
}

FT_TEST(4, nolibc_greets_with_its_pid_and_argc, 3,
        "nolibc_start reads argc from the word at the initial stack pointer, gets the pid with sys_getpid, "
        "formats the numbers itself (no printf) and writes the line with sys_write.")
{
    const char *args[] = {"one", "two", NULL};
    run_result r;
    run_nolibc(nolibc_path(), args, &r);
    check_nolibc_output(&r, nolibc_path(), args, CHECK_GREETING);
}

FT_TEST(4, nolibc_prints_every_argument_from_the_initial_stack, 3,
        "argv is the array of pointers right after argc on the initial stack (sp + 1 word). Print one line "
        "\"argv[i] = <arg>\" each, argv[0] included, in order, nothing after the last.")
{
    const char *args[] = {"alpha", "", "a longer argument with spaces", NULL};
    run_result r;
    run_nolibc(nolibc_path(), args, &r);
    check_nolibc_output(&r, nolibc_path(), args, CHECK_GREETING | CHECK_ARGS);
}

FT_TEST(4, nolibc_prints_negative_numbers_down_to_int64_min, 2,
        "After the arguments comes \"edges: -9223372036854775808 -1 0 9223372036854775807\". Two's complement "
        "has one more negative number than positive: -v overflows for INT64_MIN (undefined behaviour), and a "
        "wrong negation shifts every negative number. Negate in unsigned arithmetic, u = 0 - (uint64_t)v, then "
        "print '-' and the digits of u.")
{
    const char *args[] = {"-1", NULL};
    run_result r;
    run_nolibc(nolibc_path(), args, &r);
    check_nolibc_output(&r, nolibc_path(), args, CHECK_ARGS | CHECK_EDGES);
}

FT_TEST(4, nolibc_exit_status_counts_the_arguments, 2,
        "With no libc there is no `return` from main: the program ends with sys_exit_group(argc - 1).")
{
    const char *none[] = {NULL}, *five[] = {"1", "2", "3", "4", "5", NULL};
    run_result r;
    run_nolibc(nolibc_path(), none, &r);
    check_nolibc_output(&r, nolibc_path(), none, CHECK_STATUS);
    run_nolibc(nolibc_path(), five, &r);
    check_nolibc_output(&r, nolibc_path(), five, CHECK_STATUS);
}

FT_TEST(4, nolibc_reports_a_write_error_as_a_value, 2,
        "Without libc there is no errno at all: sys_write(-1, ...) returns {0, 9}, and the program prints "
        "\"write(-1) = Err(9)\" on stderr (fd 2).")
{
    const char *args[] = {"x", NULL};
    run_result r;
    run_nolibc(nolibc_path(), args, &r);
    check_nolibc_output(&r, nolibc_path(), args, CHECK_ERROR | CHECK_STATUS);
}

FT_TEST(4, nolibc_is_a_static_executable_without_interpreter_that_runs, 2,
        "Built -static -nostdlib: no dynamic loader (PT_INTERP), no dynamic section, an entry point at _start; "
        "and it must run to a clean exit.")
{
    const char *path = nolibc_path();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    Elf64_Ehdr eh;
    ck_assert_int_eq(read(fd, &eh, sizeof eh), sizeof eh);
    ck_assert_msg(!memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_type == ET_EXEC, "not a fixed-address executable");
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        ck_assert_int_eq(pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)), sizeof ph);
        ck_assert_msg(ph.p_type != PT_INTERP, "the program asks for a dynamic loader");
        ck_assert_msg(ph.p_type != PT_DYNAMIC, "the program has a dynamic section");
    }
    close(fd);
    const char *args[] = {"a", "b", NULL};
    run_result r;
    run_nolibc(path, args, &r);
    check_nolibc_output(&r, path, args, CHECK_GREETING | CHECK_STATUS);
}

#if defined(__x86_64__)
/* Reads what is left in a pipe whose write end is closed (the program has exited, and its output fits the pipe). */
/* Runs the program as run_program does, but traced: at the entry of every write(2) to stdout or stderr the count
 * (rdx) is cut to at most `most` bytes, so the kernel writes that many and returns a short count, as a full pipe
 * or a signal can. Returns how many writes were cut. */
static int run_with_short_writes(const char *const *argv, unsigned long long most, run_result *r)
{
    int out_fd, err_fd;
    pid_t pid = start_program(argv, true, &out_fd, &err_fd);
    int status, cut = 0, deliver = 0;
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid failed");
    ck_assert_msg(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP,
                  "the traced program did not stop at its execve: it %s (ptrace unavailable?)", describe_status(status));
    ck_assert_int_eq(ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(uintptr_t)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)),
                     0);
    /* Syscall stops alternate entry, exit (exit_group has no exit stop, but nothing follows it). */
    for (bool entry = true;; deliver = 0) {
        ck_assert_int_eq(ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(uintptr_t)deliver), 0);
        ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid failed");
        if (!WIFSTOPPED(status))
            break;
        if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
            deliver = WSTOPSIG(status); /* a real signal (a crash): let it happen */
            continue;
        }
        struct user_regs_struct regs;
        ck_assert_int_eq(ptrace(PTRACE_GETREGS, pid, NULL, &regs), 0);
        if (entry && regs.orig_rax == SYS_write && (regs.rdi == 1 || regs.rdi == 2) && regs.rdx > most) {
            regs.rdx = most;
            ck_assert_int_eq(ptrace(PTRACE_SETREGS, pid, NULL, &regs), 0);
            cut++;
        }
        entry = !entry;
    }
    r->status = status;
    collect_output(out_fd, err_fd, r);
    return cut;
}
#endif

FT_TEST(4, nolibc_finishes_a_partial_write, 2,
        "write(2) may write fewer bytes than asked and return that count (a pipe, a socket or a signal can cut "
        "a write short; this test cuts every write to stdout and stderr to 5 bytes). A partial write is not an "
        "error and not complete: loop until every byte is out, advancing the pointer by what was written.")
{
#if defined(__x86_64__)
    const char *args[] = {"short", "writes", NULL};
    const char *argv[] = {nolibc_path(), "short", "writes", NULL};
    run_result r;
    int cut = run_with_short_writes(argv, 5, &r);
    check_nolibc_output(&r, nolibc_path(), args, CHECK_GREETING | CHECK_ARGS | CHECK_EDGES | CHECK_ERROR | CHECK_STATUS);
    ck_assert_msg(cut > 0, "no write to stdout or stderr was longer than 5 bytes, so none was cut");
#else
    FT_SKIP("the tracer that cuts writes short knows x86_64's registers only");
#endif
}
