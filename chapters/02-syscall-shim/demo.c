/*
 * Chapter 02 demo: the shim at work, and a program with no libc watched by strace.
 *
 *   1. the demux   raw kernel answers around the boundaries, and what sys_demux makes of each
 *   2. errors      a failed call through the shim: the error is a value, errno does not move
 *   3. strace      the freestanding program (nolibc.c) under `strace -f -k`: every system call it makes, one per
 *                  line, beside the line of nolibc.c that made it and the path through the shim
 *
 * `make demo CH=02` builds the freestanding program without inlining (so every shim function is a frame of its
 * own) and runs:  demo PROGRAM SOURCE   (PROGRAM: that build, SOURCE: the nolibc.c it came from).
 */
#define _GNU_SOURCE
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool color;
static const char *paint(const char *code) { return color ? code : ""; }
#define BOLD paint("\033[1m")
#define DIM paint("\033[2m")
#define GREEN paint("\033[32m")
#define YELLOW paint("\033[33m")
#define RESET paint("\033[0m")

static void heading(const char *title) { printf("\n%s%s%s\n", BOLD, title, RESET); }

/* ---- 1. the demux -------------------------------------------------------------------------------------------- */

static void scene_demux(void)
{
    heading("1. the demux: [-4095, -1] is an error, every other 64-bit pattern a value");
    static const struct {
        uintptr_t raw;
        const char *note;
    } raws[] = {
        {0, "close() succeeded"},
        {(uintptr_t)-1, "-EPERM"},
        {(uintptr_t)-9, "-EBADF"},
        {(uintptr_t)-4095, "the last error number"},
        {(uintptr_t)-4096, "one below: a value"},
        {0x1FFFFFFFFu, "low 32 bits read as -1: still a value"},
        {0x7F12FFFFF001u, "an address; low 32 bits read as -4095"},
    };
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
        sys_result r = sys_demux(raws[i].raw);
        if (sys_is_ok(r))
            printf("  raw %#18lx  ->  %sOk(%#lx)%s", (unsigned long)raws[i].raw, GREEN, (unsigned long)r.value, RESET);
        else
            printf("  raw %#18lx  ->  %sErr(%d)%s", (unsigned long)raws[i].raw, YELLOW, r.err, RESET);
        printf("  %s%s%s\n", DIM, raws[i].note, RESET);
    }
}

/* ---- 2. errors are values ------------------------------------------------------------------------------------ */

static void scene_errors(void)
{
    heading("2. errors are values: nothing is written to errno");
    errno = 0;
    sys_result r = sys_openat(SYS_AT_FDCWD, "/no/such/file", SYS_O_RDONLY, 0);
    printf("  sys_openat(\"/no/such/file\") = {value %lu, err %d}   errno afterwards: %d\n", (unsigned long)r.value, r.err,
           errno);
    sys_result pid = sys_getpid();
    printf("  sys_getpid() = {value %lu, err %d}   libc's getpid() = %ld\n", (unsigned long)pid.value, pid.err,
           (long)getpid());
    if (r.err == SYS_ENOSYS)
        printf("  %s(err 38 is ENOSYS: the shim is not written yet; `make demo CH=02` runs the solution)%s\n", DIM, RESET);
}

/* ---- 3. strace beside the source ----------------------------------------------------------------------------- */

#define MAX_FRAMES 16

/* One system call from strace's log and the stack it was made from, innermost frame first. */
struct call {
    char text[200];
    int n_frames;
    char sym[MAX_FRAMES][48];
    unsigned long off[MAX_FRAMES];
};

/* Runs a shell command and returns its first output line in out (empty on failure). */
static void first_line(const char *cmd, char *out, size_t size)
{
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(out, (int)size, p))
        out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

/* Line `line` of the file at path, leading blanks skipped; "" if there is none. */
static const char *source_line(const char *path, long line)
{
    static char text[160];
    text[0] = '\0';
    FILE *f = fopen(path, "r");
    for (long i = 1; f && fgets(text, sizeof text, f) && i < line; i++)
        ;
    if (f)
        fclose(f);
    text[strcspn(text, "\n")] = '\0';
    const char *s = text;
    while (*s == ' ')
        s++;
    return s;
}

/* Reads strace's log: "PID syscall(...) = result" lines, each followed by " > file(sym+0xoff) [0x...]" frames. */
static size_t read_trace(const char *log, struct call *calls, size_t max)
{
    FILE *f = fopen(log, "r");
    char line[512];
    size_t n = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char sym[48];
        unsigned long off;
        const char *paren = strrchr(line, '(');
        if (!strncmp(line, " > ", 3)) {
            struct call *c = n ? &calls[n - 1] : NULL;
            if (c && c->n_frames < MAX_FRAMES && paren && sscanf(paren, "(%47[^+]+%lx)", sym, &off) == 2) {
                snprintf(c->sym[c->n_frames], sizeof c->sym[0], "%.47s", sym);
                c->off[c->n_frames++] = off;
            }
        } else if (n < max && !strstr(line, "+++") && !strstr(line, "---")) {
            const char *text = strchr(line, ' ');
            text = text ? text + strspn(text, " ") : line;
            snprintf(calls[n].text, sizeof calls[n].text, "%.199s", text);
            calls[n++].n_frames = 0;
        }
    }
    if (f)
        fclose(f);
    return n;
}

/* Prints one call: the source line of the frame just below _start, the trace, and the path through the shim. */
static void print_call(const struct call *c, const char *prog, const char *source)
{
    int top = c->n_frames - 1;
    while (top >= 0 && !strcmp(c->sym[top], "_start"))
        top--;
    char where[200] = "";
    if (!strncmp(c->text, "execve(", 7))
        top = -1; /* the kernel's doing, before the first instruction of the program */
    if (top < 0) {
        snprintf(where, sizeof where, "%s(the kernel starts the program at _start)%s", DIM, RESET);
    } else {
        /* A frame's offset is a return address, the instruction after the call: step back one byte. */
        char cmd[512], addr[64], loc[256];
        snprintf(cmd, sizeof cmd, "nm '%s' | awk '$3 == \"%s\" { print $1 }'", prog, c->sym[top]);
        first_line(cmd, addr, sizeof addr);
        unsigned long pc = strtoul(addr, NULL, 16) + c->off[top] - (top > 0 ? 1 : 0);
        snprintf(cmd, sizeof cmd, "addr2line -e '%s' %#lx", prog, pc);
        first_line(cmd, loc, sizeof loc);
        const char *colon = strrchr(loc, ':');
        long line = colon ? strtol(colon + 1, NULL, 10) : 0;
        snprintf(where, sizeof where, "nolibc.c:%-4ld %.44s", line, line ? source_line(source, line) : "?");
    }
    printf("  %-58s %s%s%s\n", where, YELLOW, c->text, RESET);
    if (top > 0) {
        printf("  %s%-58s via", DIM, "");
        for (int i = top - 1; i >= 0; i--)
            printf(" %s%s", c->sym[i], i ? " ->" : "");
        printf("%s\n", RESET);
    }
}

static void scene_strace(const char *prog, const char *source)
{
    heading("3. a program with no libc, under strace: one system call per line, beside its source");
    if (access(prog, X_OK) != 0) {
        printf("  %s was not built: finish nolibc.c (part 4), or run `make demo CH=02` for the solution\n", prog);
        return;
    }
    if (system("command -v strace >/dev/null 2>&1") != 0) {
        printf("  strace is not installed (Debian package strace; `sudo make deps`)\n");
        return;
    }
    char log[] = "/tmp/ferrite-demo-trace-XXXXXX", out[] = "/tmp/ferrite-demo-out-XXXXXX";
    int log_fd = mkstemp(log), out_fd = mkstemp(out);
    if (log_fd < 0 || out_fd < 0) {
        perror("demo: mkstemp");
        return;
    }
    /* Run it from its own directory as ./NAME, so that argv[0] and the execve line stay short. */
    char dir[512], cmd[1536];
    snprintf(dir, sizeof dir, "%s", prog);
    char *slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : prog;
    if (slash)
        *slash = '\0';
    snprintf(cmd, sizeof cmd, "cd '%s' && strace -f -k -o '%s' ./'%s' one two >'%s' 2>&1", slash ? dir : ".", log, name,
             out);
    int status = system(cmd);
    printf("  $ cd %s && strace -f -k ./%s one two\n", slash ? dir : ".", name);
    printf("  %sthe program wrote:%s\n", DIM, RESET);
    FILE *o = fopen(out, "r");
    char line[256];
    while (o && fgets(line, sizeof line, o))
        printf("    %s", line);
    if (o)
        fclose(o);
    /* system() runs a shell, which reports a program killed by signal N as status 128 + N. */
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code > 128)
        printf("  %sand was killed by signal %d (%s)%s\n\n", DIM, code - 128, strsignal(code - 128), RESET);
    else
        printf("  %sand exited with status %d%s\n\n", DIM, code, RESET);

    static struct call calls[64];
    size_t n = read_trace(log, calls, sizeof calls / sizeof calls[0]);
    printf("  %s%-58s %s%s\n", BOLD, "source line (nolibc.c)", "system call (strace)", RESET);
    for (size_t i = 0; i < n; i++)
        print_call(&calls[i], prog, source);
    printf(
        "\n  %sNo brk, mmap, arch_prctl or set_tid_address: with no C library there is no start-up code,\n"
        "  only what _start and nolibc_start do. Compare `strace /bin/true`.%s\n",
        DIM, RESET);
    close(log_fd);
    close(out_fd);
    unlink(log);
    unlink(out);
}

int main(int argc, char **argv)
{
    const char *no_color = getenv("NO_COLOR");
    color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
    printf("%sChapter 02: a system-call shim (%s)%s\n", BOLD, SYS_ARCH_NAME, RESET);
    scene_demux();
    scene_errors();
    if (argc == 3)
        scene_strace(argv[1], argv[2]);
    else
        printf("\n(usage: demo NOLIBC-PROGRAM NOLIBC-SOURCE for the strace scene; `make demo CH=02` passes both)\n");
    return 0;
}
