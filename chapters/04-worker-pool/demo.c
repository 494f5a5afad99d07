/*
 * demo.c — chapter 04: the study's data processor, done right.
 *
 * Generates a corpus of documents (deterministic pseudo-words with a skewed, Zipf-like frequency), counts the
 * words of every document as one task each, shows a live progress bar while the pool works, and then runs the
 * same workload with 1, 2, ... workers to print a scaling table. Every run must find the same totals and the
 * same top words: a pool that loses or repeats a task changes them.
 *
 *   make demo CH=04                 (reference solution)
 *   make demo CH=04 IMPL=chapters   (your code)
 *   environment: DEMO_DOCS=6000 DEMO_WORDS=2000 DEMO_MAX_WORKERS=4 (default: 4 or the CPU count if more)
 */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { VOCAB = 512, WORD_MAX = 16, HASH_SLOTS = 1024 };

static char vocab[VOCAB][WORD_MAX];
static int hash_index[HASH_SLOTS]; /* word hash -> vocabulary index, -1 when free (read-only once built) */

typedef struct corpus {
    char **docs; /* docs[i] is a space-separated text, owned */
    size_t n_docs;
} corpus;

/* Shared by the tasks of one run: per-word totals (atomics, no lock) and a progress counter. */
typedef struct tally {
    atomic_long words[VOCAB];
    atomic_long docs_done;
} tally;

/* A task's payload: which document, and where to add its counts. Owned by the task, freed by its drop. */
typedef struct count_job {
    const char *text; /* borrowed from the corpus, which outlives the pool */
    tally *into;
} count_job;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint32_t hash_word(const char *w, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static int lookup(const char *w, size_t len)
{
    for (uint32_t h = hash_word(w, len) % HASH_SLOTS;; h = (h + 1) % HASH_SLOTS) {
        int i = hash_index[h];
        if (i < 0 || (strlen(vocab[i]) == len && memcmp(vocab[i], w, len) == 0))
            return i;
    }
}

static void build_vocab(void)
{
    static const char *syl[] = {"fe",  "rr",  "is",  "ox",   "ide", "ru", "st", "ca", "go",  "mu",
                                "tex", "arc", "pin", "poll", "wak", "er", "ch", "an", "nel", "job"};
    memset(hash_index, -1, sizeof hash_index);
    uint64_t s = 42;
    for (int i = 0; i < VOCAB; i++) {
        do { /* three random syllables; retry on a duplicate */
            snprintf(vocab[i], WORD_MAX, "%s%s%s", syl[rng_next(&s) % 20], syl[rng_next(&s) % 20], syl[rng_next(&s) % 20]);
        } while (lookup(vocab[i], strlen(vocab[i])) >= 0);
        uint32_t h = hash_word(vocab[i], strlen(vocab[i])) % HASH_SLOTS;
        while (hash_index[h] >= 0)
            h = (h + 1) % HASH_SLOTS;
        hash_index[h] = i;
    }
}

static corpus make_corpus(size_t n_docs, size_t words_per_doc)
{
    corpus c = {calloc(n_docs, sizeof(char *)), n_docs};
    uint64_t s = 7;
    for (size_t d = 0; d < n_docs && c.docs; d++) {
        char *text = malloc(words_per_doc * WORD_MAX + 1), *at = text;
        if (!text)
            exit(1);
        for (size_t w = 0; w < words_per_doc; w++) {
            uint64_t r = rng_next(&s) % (VOCAB * 8);
            size_t idx = (size_t)(r * r / ((uint64_t)VOCAB * 8 * 8)) % VOCAB; /* skewed towards small indices */
            at += sprintf(at, "%s ", vocab[idx]);
        }
        *at = '\0';
        c.docs[d] = text;
    }
    if (!c.docs)
        exit(1);
    return c;
}

static int count_run(void *arg, int64_t *result)
{
    count_job *job = arg;
    long local[VOCAB] = {0};
    int64_t n = 0;
    for (const char *p = job->text; *p;) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int i = lookup(p, len);
        if (i < 0)
            return 1; /* a word that is not in the vocabulary: the job fails, its joiner would hear of it */
        local[i]++, n++;
        p += len + (end != NULL);
    }
    for (int i = 0; i < VOCAB; i++)
        if (local[i])
            atomic_fetch_add_explicit(&job->into->words[i], local[i], memory_order_relaxed);
    atomic_fetch_add_explicit(&job->into->docs_done, 1, memory_order_relaxed);
    *result = n;
    return 0;
}

static const wp_task_type count_task = {count_run, free, "count words"};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct feeder {
    wp_pool *pool;
    const corpus *c;
    tally *into;
} feeder;

/* Submits one task per document; wp_submit blocks whenever the queue is full, which paces this thread. */
static void *feed_main(void *arg)
{
    feeder *f = arg;
    for (size_t d = 0; d < f->c->n_docs; d++) {
        count_job *job = malloc(sizeof *job);
        if (!job)
            exit(1);
        *job = (count_job){f->c->docs[d], f->into};
        if (wp_submit(f->pool, &count_task, job, NULL) != WP_OK) {
            fprintf(stderr, "demo: submit failed\n");
            exit(1);
        }
    }
    return NULL;
}

static void draw_bar(long done, size_t total, double elapsed)
{
    int width = 40, filled = (int)(width * done / (long)total);
    printf("\r  [%.*s%*s] %5.1f%%  %ld/%zu documents  %.2f s", filled, "########################################",
           width - filled, "", 100.0 * (double)done / (double)total, done, total, elapsed);
    fflush(stdout);
}

/* One full run with @p workers; returns seconds. With @p show, draws the progress bar as it goes. */
static double run(const corpus *c, size_t workers, tally *t, bool show)
{
    memset(t, 0, sizeof *t);
    wp_pool *pool;
    if (wp_pool_new(&pool, workers, 64) != WP_OK) {
        fprintf(stderr, "demo: wp_pool_new failed (is pool.c written yet?)\n");
        exit(1);
    }
    double t0 = now_s();
    feeder f = {pool, c, t};
    pthread_t feeder_thread;
    if (pthread_create(&feeder_thread, NULL, feed_main, &f) != 0)
        exit(1);
    while (show && isatty(STDOUT_FILENO) && (size_t)atomic_load(&t->docs_done) < c->n_docs) {
        draw_bar(atomic_load(&t->docs_done), c->n_docs, now_s() - t0);
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    pthread_join(feeder_thread, NULL);
    wp_pool_shutdown(pool, WP_DRAIN); /* Drop: runs what is queued, joins every worker */
    double secs = now_s() - t0;
    if (show)
        draw_bar(atomic_load(&t->docs_done), c->n_docs, secs), printf("\n");
    return secs;
}

static void top_words(const tally *t, int *top, int k)
{
    for (int j = 0; j < k; j++) {
        top[j] = -1;
        for (int i = 0; i < VOCAB; i++) {
            bool taken = false;
            for (int q = 0; q < j; q++)
                taken |= top[q] == i;
            if (!taken && (top[j] < 0 || atomic_load(&t->words[i]) > atomic_load(&t->words[top[j]])))
                top[j] = i;
        }
    }
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *s = getenv(name);
    long v = s ? strtol(s, NULL, 10) : 0;
    return v > 0 ? (size_t)v : dflt;
}

int main(void)
{
    size_t n_docs = env_size("DEMO_DOCS", 6000), n_words = env_size("DEMO_WORDS", 2000);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t max_workers = env_size("DEMO_MAX_WORKERS", cpus > 4 ? (size_t)cpus : 4);
    build_vocab();
    corpus c = make_corpus(n_docs, n_words);
    printf("Chapter 04 demo: word counts over %zu generated documents of %zu words, one task per document.\n", n_docs,
           n_words);
    printf("The study's processor sleeps 100 ms per task: %zu documents on 2 workers would take %.0f s.\n\n", n_docs,
           (double)n_docs * 0.1 / 2);

    static tally first, t;
    size_t live_workers = max_workers < 2 ? max_workers : 2;
    printf("live run, %zu workers:\n", live_workers);
    run(&c, live_workers, &first, true);
    int top[5], check[5];
    top_words(&first, top, 5);
    long total = 0;
    for (int i = 0; i < VOCAB; i++)
        total += atomic_load(&first.words[i]);
    printf("  %ld words; most frequent:", total);
    for (int j = 0; j < 5; j++)
        printf(" %s (%ld)", vocab[top[j]], atomic_load(&first.words[top[j]]));
    printf("\n\nscaling (%ld CPUs online; best of 3 runs each):\n", cpus);
    printf("  %7s %10s %14s %8s  %s\n", "workers", "seconds", "documents/s", "speedup", "same answer");
    double base = 0;
    for (size_t w = 1; w <= max_workers; w++) {
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double s = run(&c, w, &t, false);
            best = s < best ? s : best;
        }
        top_words(&t, check, 5);
        bool same = memcmp(top, check, sizeof top) == 0 &&
                    atomic_load(&t.words[top[0]]) == atomic_load(&first.words[top[0]]);
        base = w == 1 ? best : base;
        printf("  %7zu %10.3f %14.0f %7.2fx  %s\n", w, best, (double)n_docs / best, base / best,
               same ? "yes" : "NO: a task was lost or repeated");
    }
    printf("\nMore workers than cores cannot go faster; on this machine the table flattens at %ld.\n", cpus);
    for (size_t d = 0; d < c.n_docs; d++)
        free(c.docs[d]);
    free(c.docs);
    return 0;
}
