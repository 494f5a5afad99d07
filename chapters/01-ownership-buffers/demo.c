/*
 * Chapter 01 demo: what a vector does with its memory, and what C lets you get wrong with it.
 *
 *   1. growth      push 40 elements of three sizes and print every capacity change (first capacity 8/4/1)
 *   2. errors      capacity overflow and a refusing allocator come back as values, not crashes
 *   3. sanitizers  two bugs rustc refuses at compile time, run in forked children so that
 *                  AddressSanitizer's report can be captured and the demo can go on
 *
 * `make demo CH=01` builds this with -fsanitize=address,undefined against the reference solution.
 * `demo use-after-move` or `demo stale-view` runs one scene in the foreground to show ASan's full report.
 */
#define _POSIX_C_SOURCE 200809L
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* gcc announces AddressSanitizer with a macro, clang through __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define DEMO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEMO_ASAN 1
#endif
#endif
#ifndef DEMO_ASAN
#define DEMO_ASAN 0
#endif

static bool color;
static const char *paint(const char *code) { return color ? code : ""; }
#define BOLD paint("\033[1m")
#define DIM paint("\033[2m")
#define GREEN paint("\033[32m")
#define YELLOW paint("\033[33m")
#define RESET paint("\033[0m")

typedef struct record2k {
    unsigned char bytes[2048];
} record2k;

/* Plain data: no drop function, like Rust's u8 and u32, which have no drop glue. */
static const fv_type u8_type = {FV_LAYOUT_OF(uint8_t), NULL, "uint8_t"};
static const fv_type u32_type = {FV_LAYOUT_OF(uint32_t), NULL, "uint32_t"};
static const fv_type record_type = {FV_LAYOUT_OF(record2k), NULL, "2 KiB record"};

/* The demo's own calls are expected to succeed; a failure means the library under it is unfinished. */
static void must(fv_status status, const char *what)
{
    if (status != FV_OK) {
        fprintf(stderr, "demo: %s failed: %s\n", what, fv_status_str(status));
        if (status == FV_ERR_TODO)
            fprintf(stderr, "demo: finish parts 1-4 first; `make demo CH=01` runs the reference solution\n");
        exit(1);
    }
}

static void heading(const char *title) { printf("\n%s%s%s\n", BOLD, title, RESET); }

/* ---- 1. growth ------------------------------------------------------------------------------------------ */

static void trace_growth(const fv_type *type, size_t pushes)
{
    static unsigned char elem[sizeof(record2k)];
    fv_vec v;
    must(fv_new(&v, type, NULL), "fv_new");
    printf("  %s (%zu B each), first capacity %zu:\n", type->name, type->layout.size,
           fv_min_non_zero_cap(type->layout.size));
    size_t grows = 0;
    for (size_t i = 0; i < pushes; i++) {
        size_t old_cap = fv_capacity(&v);
        /* Kept as an integer: the old pointer may be freed by the push, and a freed pointer may not be used. */
        uintptr_t old_addr = (uintptr_t)fv_as_slice(&v).ptr;
        memset(elem, (int)i, type->layout.size);
        must(fv_push(&v, elem), "fv_push");
        if (fv_capacity(&v) == old_cap)
            continue;
        grows++;
        bool moved = (uintptr_t)fv_as_slice(&v).ptr != old_addr;
        printf("    len %2zu  cap %2zu → %2zu  %s\n", i, old_cap, fv_capacity(&v),
               old_cap == 0 ? "first allocation"
               : moved      ? "buffer moved: every old pointer now dangles"
                            : "grew in place");
    }
    printf("    %s%zu pushes, %zu growths: doubling keeps a push amortised O(1)%s\n", DIM, pushes, grows, RESET);
    fv_destroy(&v);
}

/* ---- 2. errors are values ------------------------------------------------------------------------------- */

/* An allocator that forwards to the global one but refuses any block above *ctx bytes. */
static void *capped_alloc(void *ctx, size_t size, size_t align)
{
    const fv_allocator *g = fv_global_allocator();
    return size > *(size_t *)ctx ? NULL : g->alloc(g->ctx, size, align);
}

static void *capped_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    const fv_allocator *g = fv_global_allocator();
    return new_size > *(size_t *)ctx ? NULL : g->realloc(g->ctx, ptr, old_size, new_size, align);
}

static void capped_dealloc(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)ctx;
    const fv_allocator *g = fv_global_allocator();
    g->dealloc(g->ctx, ptr, size, align);
}

static void show_errors(void)
{
    fv_vec v;
    must(fv_new(&v, &u32_type, NULL), "fv_new");
    for (uint32_t i = 0; i < 3; i++)
        must(fv_push(&v, &i), "fv_push");

    fv_status s = fv_reserve(&v, SIZE_MAX); /* len + additional wraps around size_t */
    printf("  fv_reserve(v, SIZE_MAX)              → %s%s%s, len %zu cap %zu untouched\n", YELLOW, fv_status_str(s), RESET,
           fv_len(&v), fv_capacity(&v));
    s = fv_reserve_exact(&v, PTRDIFF_MAX / sizeof(uint32_t)); /* 3 + that many fit size_t; their bytes do not */
    printf("  fv_reserve_exact(v, PTRDIFF_MAX / 4) → %s%s%s, len %zu cap %zu untouched\n", YELLOW, fv_status_str(s), RESET,
           fv_len(&v), fv_capacity(&v));
    fv_destroy(&v);

    size_t budget = 8 * sizeof(uint32_t);
    const fv_allocator capped = {capped_alloc, capped_realloc, capped_dealloc, &budget};
    must(fv_new(&v, &u32_type, &capped), "fv_new");
    uint32_t i = 0;
    while ((s = fv_push(&v, &i)) == FV_OK)
        i++;
    const uint32_t *last = fv_get(&v, fv_len(&v) - 1); /* NULL if even the first push failed */
    printf("  push #%u, allocator capped at %zu B    → %s%s%s, the %zu elements are still there (last = %u)\n",
           (unsigned)i + 1, budget, YELLOW, fv_status_str(s), RESET, fv_len(&v), last ? (unsigned)*last : 0);
    fv_destroy(&v);
    printf(
        "  %sRust's Vec::push panics or aborts here; Vec::try_reserve returns Err, as these functions do.%s\n"
        "  %sThe study's SafeVec doubled with an unchecked `capacity * 2` and unwrapped every failure.%s\n",
        DIM, RESET, DIM, RESET);
}

/* ---- 3. what rustc would have refused ------------------------------------------------------------------- */

static void scene_use_after_move(void)
{
    fv_vec a;
    must(fv_new(&a, &u32_type, NULL), "fv_new");
    for (uint32_t i = 0; i < 3; i++)
        must(fv_push(&a, &i), "fv_push");
    fv_vec b = a;   /* Rust's `let b = a;` would end `a`'s life here; C just copies the struct */
    fv_destroy(&b); /* frees the one buffer that both structs point to */
    /* SAFETY: wrong on purpose: `a` was moved into `b`, and destroying `b` freed the buffer `a` still names. */
    uint32_t x = *(const uint32_t *)fv_get(&a, 0);
    printf("    the child read %u through the moved-from vector and carried on\n", (unsigned)x);
}

static void scene_stale_view(void)
{
    fv_vec v;
    must(fv_new(&v, &u32_type, NULL), "fv_new");
    for (uint32_t i = 0; i < 4; i++)
        must(fv_push(&v, &i), "fv_push");
    fv_slice view = fv_as_slice(&v); /* Rust: `let view = &v[..];` (a pointer from fv_get goes stale alike) */
    uintptr_t old_addr = (uintptr_t)view.ptr;
    size_t cap = fv_capacity(&v);
    for (uint32_t i = 4; fv_capacity(&v) == cap; i++) /* rustc: "cannot borrow `v` as mutable" */
        must(fv_push(&v, &i), "fv_push");
    /* SAFETY: wrong on purpose: the push reallocated, so `view` may point into the old, freed buffer. */
    uint32_t x = *(const uint32_t *)fv_slice_get(view, 0);
    bool moved = (uintptr_t)fv_as_slice(&v).ptr != old_addr;
    printf("    the child read %u through the stale view and carried on (%s)\n", (unsigned)x,
           moved ? "from freed memory" : "the block grew in place, so the value is right by luck");
    fv_destroy(&v);
}

/* Reads all of @p fd into @p buf (truncated to @p size - 1 bytes, always terminated). */
static void read_all(int fd, char *buf, size_t size)
{
    size_t used = 0;
    char sink[4096];
    for (;;) {
        bool room = used + 1 < size;
        ssize_t n = room ? read(fd, buf + used, size - 1 - used) : read(fd, sink, sizeof sink);
        if (n <= 0)
            break;
        if (room)
            used += (size_t)n;
    }
    buf[used] = '\0';
}

/* Prints, after @p label, the first line at or after @p from that contains @p needle; NULL @p from prints nothing. */
static void print_line_with(const char *label, const char *from, const char *needle)
{
    for (const char *line = from; line && *line; line += strcspn(line, "\n"), line += *line == '\n') {
        size_t len = strcspn(line, "\n");
        const char *hit = strstr(line, needle);
        if (hit && hit < line + len) {
            const char *text = line + strspn(line, " ");
            printf("      %-10s%s%.*s%s\n", label, DIM, (int)(line + len - text), text, RESET);
            return;
        }
    }
}

static void run_scene(const char *title, void (*scene)(void))
{
    printf("  %s%s%s\n", BOLD, title, RESET);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    fflush(NULL); /* the child must not inherit, and print again, what the parent has buffered */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) { /* child: ASan writes its report to stderr, which is now the pipe */
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        scene();
        fflush(stdout);
        _exit(0);
    }
    close(fds[1]);
    static char report[64 * 1024];
    read_all(fds[0], report, sizeof report);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);

    /* ASan's default is to print its report and exit with status 1; ASAN_OPTIONS=abort_on_error=1 kills instead. */
    bool died = (WIFEXITED(status) && WEXITSTATUS(status) != 0) || WIFSIGNALED(status);
    const char *summary = strstr(report, "SUMMARY: AddressSanitizer: heap-use-after-free");
    if (died && summary) {
        printf("    %sASan caught it: heap-use-after-free%s (child %s %d)\n", GREEN, RESET,
               WIFEXITED(status) ? "exited with status" : "killed by signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        print_line_with("summary", summary, "SUMMARY:");
        print_line_with("bad read", report, "#0 ");                                   /* top frame of the access */
        print_line_with("freed at", strstr(report, "freed by thread"), " in scene_"); /* our frame in free */
    } else if (!DEMO_ASAN) {
        printf(
            "    %sbuilt without AddressSanitizer: nothing checked that read. Rebuild with\n"
            "    -fsanitize=address (as `make demo CH=01` does) to see it caught.%s\n",
            YELLOW, RESET);
    } else {
        printf("    %sASan did not report (child status %d); its stderr began:%s\n%.400s\n", YELLOW, status, RESET, report);
    }
}

int main(int argc, char **argv)
{
    const char *no_color = getenv("NO_COLOR");
    color = isatty(STDOUT_FILENO) && !(no_color && *no_color);

    if (argc == 2 && strcmp(argv[1], "use-after-move") == 0) {
        scene_use_after_move();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "stale-view") == 0) {
        scene_stale_view();
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [use-after-move | stale-view]\n", argv[0]);
        return 2;
    }

    printf("%sChapter 01: ownership-style buffers (Rust's Vec, rebuilt in C)%s\n", BOLD, RESET);
    heading("1. Growth: every capacity change while pushing 40 elements");
    trace_growth(&u32_type, 40);
    trace_growth(&u8_type, 40);
    trace_growth(&record_type, 40);
    printf("  %s%s%s\n", DIM,
           DEMO_ASAN ? "Under ASan, realloc always moves the block, so every stale pointer is caught. Plain malloc\n"
                       "  often grows in place, and the same stale pointer keeps working until the day it does not."
                     : "Plain malloc often grows in place: a stale pointer keeps working until the day it does not.\n"
                       "  Under ASan (make demo CH=01) realloc always moves the block: every stale pointer is caught.",
           RESET);

    heading("2. Errors are values, not crashes");
    show_errors();

    heading("3. Two bugs rustc refuses to compile, run anyway (each in a child process)");
    run_scene("use after move: `fv_vec b = a;` then fv_destroy(&b), then read through a", scene_use_after_move);
    run_scene("stale view: fv_as_slice(&v), push until it grows, then read through the view", scene_stale_view);
    if (DEMO_ASAN)
        printf("\n  %sASan's full report of one scene: %s use-after-move (or: stale-view)%s\n", DIM, argv[0], RESET);
    return 0;
}
