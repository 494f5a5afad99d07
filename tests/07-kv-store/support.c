/* Test helpers for chapter 07; see support.h. */
#define _GNU_SOURCE
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char made[8][512];
static int n_made;
static pid_t made_by;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_scratch(void)
{
    /* Only the process that made the directories removes them: a forked writer that exits must not. */
    if (getpid() != made_by)
        return;
    for (int i = 0; i < n_made; i++)
        nftw(made[i], remove_one, 16, FTW_DEPTH | FTW_PHYS);
    n_made = 0;
}

const char *scratch_dir(void)
{
    ck_assert_msg(n_made < 8, "too many scratch directories in one test");
    if (n_made == 0) {
        made_by = getpid();
        atexit(remove_scratch); /* a failed assertion ends the test through exit(): clean up then too */
    }
    const char *base = getenv("TMPDIR");
    char *dir = made[n_made];
    int fits = snprintf(dir, sizeof made[0], "%s/ferrite-ch07-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(fits > 0 && (size_t)fits < sizeof made[0], "TMPDIR is too long");
    ck_assert_msg(mkdtemp(dir) != NULL, "cannot create a scratch directory under %s", base ? base : "/tmp");
    n_made++;
    return dir;
}

void path_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    ck_assert_msg(n > 0 && (size_t)n < size, "path too long: %s/%s", dir, name);
}

uint64_t file_size(const char *path)
{
    struct stat st;
    ck_assert_msg(stat(path, &st) == 0, "%s is missing", path);
    return (uint64_t)st.st_size;
}

unsigned char *file_read(const char *path, size_t *len)
{
    size_t n = (size_t)file_size(path);
    unsigned char *buf = malloc(n + 1);
    ck_assert(buf != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "cannot open %s", path);
    ck_assert_msg(pread(fd, buf, n, 0) == (ssize_t)n, "cannot read %s", path);
    close(fd);
    *len = n;
    return buf;
}

void file_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_msg(fd >= 0, "cannot open %s", path);
    ck_assert_msg(len == 0 || write(fd, data, len) == (ssize_t)len, "cannot write %s", path);
    close(fd);
}

void file_truncate(const char *path, uint64_t len)
{
    ck_assert_msg(truncate(path, (off_t)len) == 0, "cannot truncate %s", path);
}

void file_flip_bit(const char *path, uint64_t offset, int bit)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "cannot open %s", path);
    unsigned char b;
    ck_assert(pread(fd, &b, 1, (off_t)offset) == 1);
    b ^= (unsigned char)(1u << bit);
    ck_assert(pwrite(fd, &b, 1, (off_t)offset) == 1);
    close(fd);
}

test_rng rng_new(uint64_t seed) { return (test_rng){seed ? seed : 0x9E3779B97F4A7C15u}; }

uint64_t rng_next(test_rng *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545F4914F6CDD1Du;
}

uint64_t rng_below(test_rng *r, uint64_t n) { return rng_next(r) % n; }

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned char rec_byte(uint64_t id, size_t i)
{
    return (unsigned char)((id * 0x9E3779B97F4A7C15u >> 24) + i * 131u);
}

size_t rec_make(uint64_t id, unsigned char *buf)
{
    size_t len = 12 + (size_t)((id * 2654435761u) % (REC_MAX - 11));
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(id >> (8 * i));
    buf[8] = (unsigned char)len, buf[9] = (unsigned char)(len >> 8);
    for (size_t i = 10; i < len; i++)
        buf[i] = rec_byte(id, i);
    return len;
}

bool rec_parse(const void *rec, size_t len, uint64_t *id)
{
    const unsigned char *p = rec;
    if (len < 12 || len > REC_MAX)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    unsigned char want[REC_MAX];
    if (rec_make(v, want) != len || memcmp(want, p, len) != 0)
        return false;
    *id = v;
    return true;
}

kv_status rec_collect(const void *rec, size_t len, void *ctx)
{
    rec_list *l = ctx;
    uint64_t id;
    if (!rec_parse(rec, len, &id)) {
        l->garbage++;
        return KV_OK;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->ids = realloc(l->ids, l->cap * sizeof *l->ids);
        ck_assert(l->ids != NULL);
    }
    l->ids[l->n++] = id;
    return KV_OK;
}

void rec_list_free(rec_list *l)
{
    free(l->ids);
    *l = (rec_list){0};
}

uint64_t env_number(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : fallback;
}

void ack_read(int fd, ack_fn *fn, void *ctx, long want, long *count, uint64_t deadline)
{
    static unsigned char buf[4096];
    static size_t have;
    while ((want < 0 || *count < want) && now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            have = 0;
            return; /* end of file: the writer is gone */
        }
        have += (size_t)n;
        size_t used = 0;
        for (; have - used >= 8; used += 8) {
            uint64_t ack;
            memcpy(&ack, buf + used, 8);
            fn(ack, ctx);
            (*count)++;
        }
        memmove(buf, buf + used, have - used);
        have -= used;
    }
}

/* A half-written record in Check's file shows as "Bad message type arg 1937011503": 0x7374732f, "sts/" of the path
 * "tests/07-kv-store/..." in the record after the cut. Valgrind keeps its own descriptors at and above the
 * RLIMIT_NOFILE it gives the program and refuses a dup2 onto them, so only those below are touched. */
void leave_test_channels(int ack_fd)
{
    struct rlimit lim;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    DIR *d = opendir("/proc/self/fd");
    if (null < 0 || d == NULL || getrlimit(RLIMIT_NOFILE, &lim) != 0)
        _exit(8);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        bool keep = end == e->d_name || *end != '\0' || fd <= STDERR_FILENO || fd == ack_fd || fd == null;
        if (keep || fd == dirfd(d) || (rlim_t)fd >= lim.rlim_cur)
            continue;
        if (dup2(null, (int)fd) < 0)
            _exit(8);
    }
    closedir(d);
    close(null);
}
