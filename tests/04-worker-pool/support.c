/* Test doubles for chapter 04; see support.h. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* syscall */
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

unsigned stress(void)
{
    const char *s = getenv("WP_STRESS");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v >= 1 && v <= 1000 ? (unsigned)v : 1;
}

void sleep_ms(unsigned ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_msg(d != NULL, "cannot open /proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    ck_assert_msg(pthread_create(&t, NULL, fn, arg) == 0, "pthread_create failed");
    return t;
}

/* ---- starting threads, watched ------------------------------------------------------------------------------- */

enum { MAX_STARTS = 64 };
static atomic_int start_calls, start_fail_at, starts, joins;
static pthread_t started[MAX_STARTS];

/* What a wrapped thread runs first: it records its kernel thread id, then waits while it is held. One entry per
 * thread started in this process (each test is a process of its own); past MAX_STARTS threads start unwatched. */
typedef struct start_info {
    void *(*start)(void *);
    void *arg;
    bool held;           /* written before the thread starts */
    atomic_int released; /* set by thread_release */
    atomic_int tid;      /* the thread's id in /proc/self/task, once it runs */
    atomic_int running;  /* the thread has left the hold and runs its own code */
} start_info;
static start_info infos[MAX_STARTS];
static atomic_int infos_used;
static atomic_bool hold_new_threads;
static int info_of[MAX_STARTS]; /* started[i]'s entry in infos, or -1 */

void thread_starts_reset(int fail_at)
{
    atomic_store(&start_calls, 0);
    atomic_store(&starts, 0);
    atomic_store(&joins, 0);
    atomic_store(&hold_new_threads, false);
    atomic_store(&start_fail_at, fail_at);
}

int thread_start_calls(void) { return atomic_load(&start_calls); }
int threads_started(void) { return atomic_load(&starts); }
int thread_joins_entered(void) { return atomic_load(&joins); }

pthread_t thread_started(int i)
{
    ck_assert_msg(i >= 0 && i < threads_started() && i < MAX_STARTS, "no thread number %d was recorded", i);
    return started[i];
}

void thread_starts_hold(bool hold) { atomic_store(&hold_new_threads, hold); }

static start_info *info_started(int i)
{
    (void)thread_started(i);
    ck_assert_msg(info_of[i] >= 0, "thread number %d was started unwatched", i);
    return &infos[info_of[i]];
}

void thread_release(int i) { atomic_store(&info_started(i)->released, 1); }

/* The state letter of thread @p tid in /proc/self/task/<tid>/stat: 'R' running or runnable, 'S' asleep, ... */
static char thread_state(int tid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *end = strrchr(line, ')'); /* the name in parentheses may itself hold spaces and parentheses */
    return end && end[1] == ' ' ? end[2] : '?';
}

bool thread_wait_asleep(int i, unsigned ms)
{
    start_info *info = info_started(i);
    double end = now_ms() + ms;
    while (!atomic_load(&info->running) && now_ms() < end)
        sleep_ms(1);
    int asleep = 0;
    while (asleep < 20 && now_ms() < end) {
        asleep = thread_state(atomic_load(&info->tid)) == 'S' ? asleep + 1 : 0;
        sleep_ms(1);
    }
    return asleep >= 20;
}

static void *start_watched(void *arg)
{
    start_info *info = arg;
    void *(*start)(void *) = info->start;
    void *start_arg = info->arg;
    info->arg = NULL; /* kept here, the pointer would hide a leak of what it points to from LeakSanitizer */
    atomic_store(&info->tid, (int)syscall(SYS_gettid));
    double end = now_ms() + LONG_MS;
    while (info->held && !atomic_load(&info->released) && now_ms() < end)
        sleep_ms(1);
    atomic_store(&info->running, 1);
    return start(start_arg);
}

/* The linker (--wrap) sends pthread_create and pthread_join here and names the C library's own __real_. */
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg);
int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg);
int __real_pthread_join(pthread_t thread, void **ret);
int __wrap_pthread_join(pthread_t thread, void **ret);

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    if (atomic_fetch_add(&start_calls, 1) + 1 == atomic_load(&start_fail_at))
        return EAGAIN;
    int k = atomic_fetch_add(&infos_used, 1);
    int rc;
    if (k < MAX_STARTS) {
        start_info *info = &infos[k];
        info->start = start;
        info->arg = arg;
        info->held = atomic_load(&hold_new_threads);
        atomic_store(&info->released, 0);
        atomic_store(&info->tid, 0);
        atomic_store(&info->running, 0);
        rc = __real_pthread_create(thread, attr, start_watched, info);
    } else {
        rc = __real_pthread_create(thread, attr, start, arg);
    }
    if (rc == 0) {
        int i = atomic_fetch_add(&starts, 1);
        if (i < MAX_STARTS) {
            started[i] = *thread;
            info_of[i] = k < MAX_STARTS ? k : -1;
        }
    }
    return rc;
}

int __wrap_pthread_join(pthread_t thread, void **ret)
{
    atomic_fetch_add(&joins, 1);
    return __real_pthread_join(thread, ret);
}

/* ---- gates --------------------------------------------------------------------------------------------------- */

void gate_init(gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = false;
    g->arrived = 0;
}

void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->lock);
}

void gate_open(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->lock);
}

static bool gate_wait_until(gate *g, bool (*done)(gate *, int), int n)
{
    double end = now_ms() + LONG_MS;
    pthread_mutex_lock(&g->lock);
    while (!done(g, n) && now_ms() < end) {
        pthread_mutex_unlock(&g->lock);
        sleep_ms(1);
        pthread_mutex_lock(&g->lock);
    }
    bool ok = done(g, n);
    pthread_mutex_unlock(&g->lock);
    return ok;
}

static bool is_open(gate *g, int n) { return (void)n, g->open; }
static bool has_arrivals(gate *g, int n) { return g->arrived >= n; }

bool gate_wait(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->arrived++;
    pthread_mutex_unlock(&g->lock);
    return gate_wait_until(g, is_open, 0);
}

bool gate_wait_arrivals(gate *g, int n) { return gate_wait_until(g, has_arrivals, n); }

/* ---- waiting --------------------------------------------------------------------------------------------------- */

bool wait_count(atomic_int *counter, int want, unsigned ms)
{
    double end = now_ms() + ms;
    while (atomic_load(counter) < want && now_ms() < end)
        sleep_ms(1);
    return atomic_load(counter) >= want;
}

static bool wait_field(wp_chan *ch, const size_t *field, size_t n)
{
    double end = now_ms() + LONG_MS;
    for (;;) {
        pthread_mutex_lock(&ch->lock);
        size_t v = *field;
        pthread_mutex_unlock(&ch->lock);
        if (v >= n)
            return true;
        if (now_ms() > end)
            return false;
        sleep_ms(1);
    }
}

bool wait_receivers(wp_chan *ch, size_t n) { return wait_field(ch, &ch->recv_waiting, n); }
bool wait_senders(wp_chan *ch, size_t n) { return wait_field(ch, &ch->send_waiting, n); }

/* ---- tracked payloads ------------------------------------------------------------------------------------------ */

atomic_int track_runs[MAX_IDS];
atomic_int track_drops[MAX_IDS];

void track_reset(void)
{
    for (int i = 0; i < MAX_IDS; i++) {
        atomic_store(&track_runs[i], 0);
        atomic_store(&track_drops[i], 0);
    }
}

static int tracked_run(void *arg, int64_t *result)
{
    payload *p = arg;
    if (p->started)
        atomic_fetch_add(p->started, 1);
    if (p->wait_for)
        ck_assert_msg(gate_wait(p->wait_for), "a task waited %u ms for its gate", LONG_MS);
    if (p->sleep_ms)
        sleep_ms(p->sleep_ms);
    ck_assert_msg(!p->ran, "task %d ran twice on one payload", p->id);
    p->ran = true;
    atomic_fetch_add(&track_runs[p->id], 1);
    *result = p->result;
    return p->fail_code;
}

static void tracked_drop(void *arg)
{
    payload *p = arg;
    atomic_fetch_add(&track_drops[p->id], 1);
    free(p);
}

const wp_task_type tracked_task = {tracked_run, tracked_drop, "tracked"};

payload *payload_new(int id)
{
    ck_assert(id >= 0 && id < MAX_IDS);
    payload *p = calloc(1, sizeof *p);
    ck_assert(p != NULL);
    p->id = id;
    p->result = 1000 + id;
    return p;
}

void payload_free_unsubmitted(payload *p) { free(p); }

/* ---- shutdown on a helper thread ------------------------------------------------------------------------------- */

static void *shutdown_main(void *arg)
{
    shutdown_call *c = arg;
    wp_pool_shutdown(c->pool, c->mode);
    atomic_store(&c->returned, 1);
    return NULL;
}

void shutdown_async(shutdown_call *c, wp_pool *p, wp_shutdown mode)
{
    c->pool = p;
    c->mode = mode;
    atomic_init(&c->returned, 0);
    c->thread = start_thread(shutdown_main, c);
}

void shutdown_finish(shutdown_call *c)
{
    ck_assert_msg(wait_count(&c->returned, 1, LONG_MS), "wp_pool_shutdown did not return within %u ms", LONG_MS);
    pthread_join(c->thread, NULL);
}

/* ---- channel helpers ------------------------------------------------------------------------------------------- */

wp_chan chan_make(size_t cap)
{
    wp_chan ch;
    ck_assert_int_eq(wp_chan_init(&ch, cap, sizeof(int), NULL), WP_OK);
    return ch;
}

void chan_send_ok(wp_chan *ch, int v) { ck_assert_int_eq(wp_chan_try_send(ch, &v), WP_OK); }

int chan_recv_ok(wp_chan *ch)
{
    int v = -1;
    ck_assert_int_eq(wp_chan_try_recv(ch, &v), WP_OK);
    return v;
}

static void *blocked_recv_main(void *arg)
{
    blocked *b = arg;
    b->status = wp_chan_recv(b->ch, &b->value);
    atomic_store(&b->done, 1);
    return NULL;
}

static void *blocked_send_main(void *arg)
{
    blocked *b = arg;
    b->status = wp_chan_send(b->ch, &b->value);
    atomic_store(&b->done, 1);
    return NULL;
}

static void blocked_start(blocked *b, wp_chan *ch, void *(*fn)(void *), int value)
{
    b->ch = ch;
    b->value = value;
    b->status = WP_ERR_TODO;
    atomic_init(&b->done, 0);
    b->thread = start_thread(fn, b);
}

void start_recv(blocked *b, wp_chan *ch) { blocked_start(b, ch, blocked_recv_main, -1); }
void start_send(blocked *b, wp_chan *ch, int value) { blocked_start(b, ch, blocked_send_main, value); }

void blocked_finish(blocked *b)
{
    ck_assert_msg(wait_count(&b->done, 1, LONG_MS), "a blocked channel call never returned (%u ms)", LONG_MS);
    pthread_join(b->thread, NULL);
}
