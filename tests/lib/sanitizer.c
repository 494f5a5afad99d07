/*
 * sanitizer.c — each test's sanitizer reports in a file of its own, read back under its failure (see
 * ft_sanitizer.h).
 */
#define _GNU_SOURCE /* dl_iterate_phdr, RTLD_NOLOAD */
#include "ft_sanitizer.h"

#include "ft_report.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The workbook's sanitized variants (asan: ASan+UBSan, tsan) are the builds with a runtime to talk to; without one
 * nothing here calls the dynamic loader. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FT_SANITIZED 1
#endif
#endif

#ifdef FT_SANITIZED
#include <dlfcn.h>
#include <link.h>
#endif

#ifndef FT_CHAPTER
#define FT_CHAPTER "unnamed"
#endif

#define FT_MAX_RUNTIMES 4
#define FT_REPORT_LINES 40 /* lines of a report shown under a failure; the file has all of them */
#define FT_MAX_FRAMES 64   /* frames of one stack trace put in order; a longer trace is shown as it is */

/* ---- sending the reports to a file ------------------------------------------------------------------------ */

/* __sanitizer_set_report_path (<sanitizer/common_interface_defs.h>) of each runtime linked in. clang links one
 * runtime into the program; gcc links ASan and UBSan as two shared libraries, each with its own copy of the common
 * part and so its own report path: the loader would bind a plain call to the first only, and UBSan's reports would
 * still reach stderr. So each loaded object is asked for its own definition. */
typedef void set_report_path_fn(const char *path);
static set_report_path_fn *runtimes[FT_MAX_RUNTIMES];
static size_t n_runtimes;

#ifdef FT_SANITIZED
struct objects {
    const char *names[64]; /* the loader's own strings, valid while the objects stay loaded */
    size_t n;
};

static int note_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct objects *objects = data;
    if (objects->n < sizeof objects->names / sizeof objects->names[0])
        objects->names[objects->n++] = info->dlpi_name;
    return 0;
}

static void find_runtimes(void)
{
    struct objects objects = {.n = 0};
    dl_iterate_phdr(note_object, &objects); /* no dlopen in the callback: the loader's lock is held there */
    for (size_t i = 0; i < objects.n && n_runtimes < FT_MAX_RUNTIMES; i++) {
        /* "" is the program itself, which dlopen names NULL; RTLD_NOLOAD only looks, never loads. */
        void *object = dlopen(objects.names[i][0] ? objects.names[i] : NULL, RTLD_LAZY | RTLD_NOLOAD);
        if (!object)
            continue;
        set_report_path_fn *set = (set_report_path_fn *)dlsym(object, "__sanitizer_set_report_path");
        dlclose(object);
        bool known = false;
        for (size_t r = 0; r < n_runtimes; r++)
            known |= runtimes[r] == set;
        if (set && !known)
            runtimes[n_runtimes++] = set;
    }
}
#else
static void find_runtimes(void) {}
#endif

/* Whether @p file is "<name>.<pid>" for one of the @p n @p tests, or just for @p name when @p tests is NULL. */
static bool is_report_of(const char *file, const ft_test *const *tests, size_t n, const char *name)
{
    const char *dot = strrchr(file, '.');
    if (!dot || !dot[1] || strspn(dot + 1, "0123456789") != strlen(dot + 1))
        return false;
    size_t len = (size_t)(dot - file);
    if (!tests)
        return strlen(name) == len && !strncmp(file, name, len);
    for (size_t i = 0; i < n; i++)
        if (strlen(tests[i]->name) == len && !strncmp(file, tests[i]->name, len))
            return true;
    return false;
}

const char *ft_reports_prepare(const char *results, const ft_test *const *tests, size_t n)
{
    static char dir[4096];
    const char *slash = strrchr(results, '/');
    snprintf(dir, sizeof dir, "%.*sreports", slash ? (int)(slash - results + 1) : 0, results);
    find_runtimes();
    if (n_runtimes == 0 || (mkdir(dir, 0777) != 0 && errno != EEXIST))
        return NULL;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    for (struct dirent *e; (e = readdir(d));) {
        char path[4096];
        if (is_report_of(e->d_name, tests, n, NULL) && snprintf(path, sizeof path, "%s/%s", dir, e->d_name) > 0)
            unlink(path);
    }
    closedir(d);
    return dir;
}

void ft_reports_redirect(const char *dir, const char *name)
{
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/%s", dir, name);
    /* Each runtime opens <prefix>.<pid> on its first report, in whichever process makes it. */
    for (size_t r = 0; r < n_runtimes; r++)
        runtimes[r](prefix);
}

/* ---- reading one back --------------------------------------------------------------------------------------- */

/* The report files test @p name left in @p dir: how many, and in @p first the earliest written (the test's own
 * process reports before any process it started is reaped). */
static int find_report(const char *dir, const char *name, char *first, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct timespec earliest = {0, 0};
    for (struct dirent *e; (e = readdir(d));) {
        char path[4096];
        struct stat st;
        if (!is_report_of(e->d_name, NULL, 0, name) || snprintf(path, sizeof path, "%s/%s", dir, e->d_name) <= 0 ||
            stat(path, &st) != 0 || st.st_size == 0)
            continue;
        bool earlier = st.st_mtim.tv_sec < earliest.tv_sec ||
                       (st.st_mtim.tv_sec == earliest.tv_sec && st.st_mtim.tv_nsec < earliest.tv_nsec);
        if (found++ == 0 || earlier) {
            earliest = st.st_mtim;
            snprintf(first, size, "%s", path);
        }
    }
    closedir(d);
    return found;
}

/* The sanitizer whose report starts at @p line, in @p name; false if no report starts there. Reports start with
 * "==PID==ERROR: AddressSanitizer: ..." (LeakSanitizer likewise), "WARNING: ThreadSanitizer: ..." or, for UBSan,
 * "file:line:col: runtime error: ...". */
static bool report_starts(const char *line, char *name, size_t size)
{
    const char *word = strstr(line, "ERROR: ");
    word = word ? word + 7 : (word = strstr(line, "WARNING: ")) ? word + 9 : NULL;
    const char *colon = word ? strchr(word, ':') : NULL;
    if (colon && colon - word > 9 && !strncmp(colon - 9, "Sanitizer", 9)) {
        snprintf(name, size, "%.*s", (int)(colon - word), word);
        return true;
    }
    if (strstr(line, ": runtime error: ")) {
        snprintf(name, size, "UndefinedBehaviorSanitizer");
        return true;
    }
    return false;
}

/* @p line without a leading "==PID==" (the process's number, which says nothing here). */
static const char *without_pid(const char *line)
{
    if (strncmp(line, "==", 2))
        return line;
    const char *end = line + 2 + strspn(line + 2, "0123456789");
    return end > line + 2 && !strncmp(end, "==", 2) ? end + 2 : line;
}

static const char *cwd_prefix(void)
{
    static char cwd[4096];
    if (!cwd[0] && getcwd(cwd, sizeof cwd - 1))
        strcat(cwd, "/");
    return cwd;
}

/* Writes @p text with the working directory's path left out of every path in it (the workbook's files then read
 * as make names them: tests/..., chapters/...). */
static void put_relative(FILE *f, const char *text)
{
    const char *cwd = cwd_prefix();
    size_t n = strlen(cwd);
    for (const char *at; n > 1 && (at = strstr(text, cwd));) {
        fwrite(text, 1, (size_t)(at - text), f);
        text = at + n;
    }
    fputs(text, f);
}

/* A stack frame, "#3 0x55d0c2a1b2c3 in raw_grow /path/rawvec.c:104" (TSan: "#3 raw_grow /path/rawvec.c:104:5
 * (test+0x1b2c3)"), split into its number ("#3") and what it names ("raw_grow /path/rawvec.c:104"). */
struct frame {
    int indent; /* the report's own, kept so that a trace stays under the line that introduces it */
    char number[16];
    char what[1024];
};

static bool parse_frame(const char *line, struct frame *fr)
{
    fr->indent = (int)strspn(line, " \t");
    line += fr->indent;
    size_t digits = line[0] == '#' ? strspn(line + 1, "0123456789") : 0;
    if (digits == 0 || line[1 + digits] != ' ')
        return false;
    snprintf(fr->number, sizeof fr->number, "%.*s", (int)(1 + digits), line);
    const char *p = line + 1 + digits + 1;
    if (!strncmp(p, "0x", 2))
        p += strcspn(p, " "), p += strspn(p, " ");
    if (!strncmp(p, "in ", 3))
        p += 3;
    snprintf(fr->what, sizeof fr->what, "%s", p);
    fr->what[strcspn(fr->what, "\n")] = '\0';
    /* clang names the module's build ID, and TSan adds the module after a source location, which says it all. */
    char *id = strstr(fr->what, " (BuildId: ");
    if (id)
        *id = '\0';
    char *module = strstr(fr->what, " (");
    if (module && module > fr->what && strstr(module, "+0x") && module[-1] >= '0' && module[-1] <= '9')
        *module = '\0';
    return true;
}

/* Whether the frame is in one of the chapter's own files: a path with the chapter's folder in it, outside tests/. */
static bool in_chapter_file(const struct frame *fr)
{
    const char *where = strrchr(fr->what, ' ');
    where = where ? where + 1 : fr->what;
    const char *cwd = cwd_prefix();
    if (!strncmp(where, cwd, strlen(cwd)))
        where += strlen(cwd);
    if (!strncmp(where, "tests/", 6))
        return false;
    size_t n = strlen(FT_CHAPTER);
    for (const char *p = strstr(where, FT_CHAPTER); p; p = strstr(p + 1, FT_CHAPTER))
        if ((p == where || p[-1] == '/') && p[n] == '/')
            return true;
    return false;
}

/* Whether the frame is test @p name's own function: the frames below it are Check's runner, main and libc. */
static bool is_test_function(const struct frame *fr, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(fr->what, name, n) && !strncmp(fr->what + n, "_fn ", 4);
}

/* Prints one stack trace of @p n frames, those in the chapter's files first, each group in the trace's order;
 * returns the lines printed. */
static int print_trace(FILE *f, const struct frame *frames, size_t n, const char *name)
{
    size_t kept = n, lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_test_function(&frames[i], name)) {
            kept = i + 1;
            break;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < kept; i++) {
            bool own = in_chapter_file(&frames[i]);
            if (own != (pass == 0))
                continue;
            fprintf(f, "      %*s%s%s ", frames[i].indent, "", own ? FT_BOLD : "", frames[i].number);
            put_relative(f, frames[i].what);
            fprintf(f, "%s\n", own ? FT_RESET : "");
            lines++;
        }
    }
    if (kept < n) {
        fprintf(f, "      %*s(%zu frame%s below the test: Check's runner, the test main, libc)\n", frames[0].indent, "",
                n - kept, n - kept == 1 ? "" : "s");
        lines++;
    }
    return (int)lines;
}

/* The line at *@p cursor, its newline cut off, with *@p cursor moved past it; NULL at the end of the text. */
static char *take_line(char **cursor)
{
    char *line = *cursor;
    if (!line || !*line)
        return NULL;
    char *end = strchr(line, '\n');
    if (end)
        *end = '\0';
    *cursor = end ? end + 1 : NULL;
    return line;
}

/* Whether @p body (a line without its "==PID==") ends the report it is in: the next report, a separator line, the
 * shadow-memory map or the runtime's last word. */
static bool report_ends(const char *line, const char *body)
{
    char other[64];
    return report_starts(line, other, sizeof other) || (body[0] == '=' && body[strspn(body, "=")] == '\0') ||
           !strncmp(body, "Shadow bytes around", 19) || !strncmp(body, "ABORTING", 8);
}

/* Prints the first report in @p text, the whole of report file @p path; returns false if none starts there. */
static bool print_first_report(FILE *f, char *text, const char *name, const char *path)
{
    char sanitizer[64], *cursor = text, *line;
    while ((line = take_line(&cursor)) && !report_starts(line, sanitizer, sizeof sanitizer))
        continue;
    if (!line)
        return false;
    fprintf(f, "    %s report of %s%s%s, frames in your files first:\n", sanitizer, FT_BOLD, name, FT_RESET);
    static struct frame frames[FT_MAX_FRAMES];
    size_t n_frames = 0;
    int shown = 0;
    bool more = false;
    for (bool first = true; line; line = take_line(&cursor), first = false) {
        const char *body = without_pid(line);
        if (n_frames < FT_MAX_FRAMES && parse_frame(body, &frames[n_frames])) {
            n_frames++;
            continue;
        }
        if (n_frames) { /* a stack trace ended */
            shown += print_trace(f, frames, n_frames, name);
            n_frames = 0;
        }
        if (!first && report_ends(line, body))
            break;
        if (body[strspn(body, " \t")] == '\0')
            continue;
        if (shown >= FT_REPORT_LINES) {
            more = true;
            break;
        }
        fputs("      ", f);
        put_relative(f, body);
        fputc('\n', f);
        shown++;
        if (!strncmp(body, "SUMMARY: ", 9))
            break;
    }
    if (n_frames)
        print_trace(f, frames, n_frames, name);
    fprintf(f, "    %sthe whole report%s: %s%s\n", FT_DIM, more ? " (more than shown here)" : "", path, FT_RESET);
    return true;
}

/* One bug often fails many tests with the same report. The SUMMARY lines already shown, each with the test it was
 * shown under, so that a repeat takes one line. */
#define FT_MAX_SUMMARIES 64
static struct {
    char summary[512];
    char test[128];
} shown_summaries[FT_MAX_SUMMARIES];
static size_t n_shown_summaries;

/* The test under which the same report as @p text's first was already shown, or NULL (and the report is remembered
 * for next time under @p name). Two reports are the same when their first SUMMARY line and their first frame (where
 * the error happened; a leak's SUMMARY alone gives only sizes) are. */
static const char *shown_before(const char *text, const char *name)
{
    const char *at = strstr(text, "SUMMARY: ");
    const char *frame = strstr(text, "#0 ");
    if (!at)
        return NULL;
    char summary[sizeof shown_summaries[0].summary];
    int len = snprintf(summary, sizeof summary, "%.*s|%.*s", (int)strcspn(at, "\n"), at,
                       frame ? (int)strcspn(frame, "\n") : 0, frame ? frame : "");
    if (len < 0 || (size_t)len >= sizeof summary)
        len = (int)sizeof summary - 1;
    for (size_t i = 0; i < n_shown_summaries; i++)
        if (!strcmp(shown_summaries[i].summary, summary))
            return shown_summaries[i].test;
    if (n_shown_summaries < FT_MAX_SUMMARIES) {
        memcpy(shown_summaries[n_shown_summaries].summary, summary, (size_t)len + 1);
        snprintf(shown_summaries[n_shown_summaries].test, sizeof shown_summaries[0].test, "%s", name);
        n_shown_summaries++;
    }
    return NULL;
}

bool ft_print_sanitizer_report(FILE *f, const char *dir, const char *name)
{
    char path[4096];
    int files = dir ? find_report(dir, name, path, sizeof path) : 0;
    if (files == 0)
        return false;
    FILE *in = fopen(path, "r");
    if (!in)
        return false;
    static char text[1 << 20]; /* a report is a few kilobytes; a longer one is read up to here */
    size_t len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[len] = '\0';
    const char *first_shown_under = shown_before(text, name);
    if (first_shown_under)
        fprintf(f, "    the same sanitizer report as under %s%s%s above; this test's: %s\n", FT_BOLD, first_shown_under,
                FT_RESET, path);
    else if (!print_first_report(f, text, name, path))
        fprintf(f, "    a sanitizer wrote a report for %s: %s\n", name, path);
    if (files > 1)
        fprintf(f, "    %s%d more report%s from processes the test started: %s/%s.*%s\n", FT_DIM, files - 1,
                files == 2 ? "" : "s", dir, name, FT_RESET);
    return true;
}
