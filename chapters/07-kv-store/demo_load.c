/*
 * Chapter 07 demo: the writers and the read-back of their keys.
 * Writer i owns the keys demo:i:0, demo:i:1, ... and writes them in that order, keeping --depth SETs in flight on
 * its one connection (a pipeline). The value of a key is derived from the writer and the counter alone
 * (value_of()), so the read-back knows what each key must hold without keeping the values. Every SET's fate is
 * recorded: acknowledged (+OK), in flight when the connection broke (outcome unknown), never sent, or refused.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_LEN 48 /* bytes of every value */
#define PROBES 16    /* keys past each writer's last SET that the read-back asks for: none may exist */
#define WINDOW 512   /* GETs in flight during the read-back */

enum fate { SENT = 1, ACKED, UNKNOWN, NOT_APPLIED, REFUSED };

struct writer;
typedef struct request { /* one SET or GET in flight: the callback's context */
    struct writer *w;
    uint64_t n;
    int slot; /* its index in the pool of requests it came from */
} request;

/** A writer: its fields belong to its thread from load_start() until load_stop() joins it, except the atomics. */
typedef struct writer {
    int id;
    pthread_t thread;
    bool started;
    kv_client *client;
    uint8_t *fate; /* fate[n]: what became of SET n (enum fate); `next` of them, `cap` allocated */
    uint64_t next, cap;
    request *reqs; /* --depth of them; free ones listed in free_slots[0..nfree) */
    int *free_slots, nfree;
    kv_status failure; /* the first status or reply that was not +OK: the writer stops submitting */
    char failure_text[160];
    _Atomic uint64_t acked, in_flight; /* read by the main thread each second */
} writer;

static writer *writers; /* --conns of them, from load_start() to load_free() */
static int nwriters;
static atomic_bool stop_flag;

static int key_of(int w, uint64_t n, char *out) { return snprintf(out, 32, "demo:%d:%llu", w, (unsigned long long)n); }

/* The value of key demo:w:n: the key's own figures, then letters from a hash of them, VALUE_LEN bytes in all. */
static void value_of(int w, uint64_t n, char out[VALUE_LEN + 1])
{
    int len = snprintf(out, VALUE_LEN + 1, "w%d n%llu ", w, (unsigned long long)n);
    uint64_t x = (n + 1) * 0x9e3779b97f4a7c15u ^ (uint64_t)w;
    for (int i = len; i < VALUE_LEN; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64: spread, not secret */
        out[i] = (char)('a' + x % 26);
    }
    out[VALUE_LEN] = '\0';
}

/* Records the first failure of @p w in words; later ones only count. */
static void fail(writer *w, kv_status st, const char *text)
{
    if (w->failure != KV_OK)
        return;
    w->failure = st == KV_OK ? KV_INVALID : st;
    snprintf(w->failure_text, sizeof w->failure_text, "%s", text);
}

static void set_done(kv_status st, kv_reply *reply, void *ctx)
{
    request *rq = ctx;
    writer *w = rq->w;
    const uint8_t *data;
    size_t len;
    if (st == KV_OK && kv_reply_kind(reply) == KV_REPLY_STATUS && kv_reply_as_bytes(reply, &data, &len) == KV_OK &&
        len == 2 && memcmp(data, "OK", 2) == 0) {
        w->fate[rq->n] = ACKED;
        atomic_fetch_add_explicit(&w->acked, 1, memory_order_relaxed);
    } else if (st == KV_OK) {
        const char *msg = "a reply other than +OK";
        if (kv_reply_error_message(reply, &msg) != KV_OK)
            msg = "a reply other than +OK";
        w->fate[rq->n] = REFUSED;
        fail(w, KV_OK, msg);
    } else {
        /* client.h: a request that is not idempotent ends KV_OUTCOME_UNKNOWN once any of its bytes left, and
         * KV_IO_ERROR or KV_TIMEOUT when none did; kv_client_close() ends what is left with KV_CLOSED. */
        w->fate[rq->n] = st == KV_IO_ERROR || st == KV_TIMEOUT || st == KV_NO_MEMORY ? NOT_APPLIED : UNKNOWN;
        fail(w, st, status_name(st));
    }
    kv_reply_free(reply);
    w->free_slots[w->nfree++] = rq->slot;
    atomic_fetch_sub_explicit(&w->in_flight, 1, memory_order_relaxed);
}

/* Submits SET demo:id:next; false when it could not be (recorded as the writer's failure). */
static bool submit_next(writer *w)
{
    if (w->next == w->cap) {
        uint64_t cap = w->cap ? 2 * w->cap : 4096;
        uint8_t *grown = realloc(w->fate, cap);
        if (grown == NULL) {
            fail(w, KV_NO_MEMORY, "out of memory");
            return false;
        }
        w->fate = grown, w->cap = cap;
    }
    char key[32], value[VALUE_LEN + 1];
    key_of(w->id, w->next, key);
    value_of(w->id, w->next, value);
    const char *argv[] = {"SET", key, value};
    request *rq = &w->reqs[w->free_slots[--w->nfree]];
    rq->n = w->next;
    w->fate[w->next] = SENT;
    kv_status st = kv_client_submit(w->client, 0, 3, argv, NULL, set_done, rq); /* not idempotent: sent once */
    if (st != KV_OK) {
        w->nfree++;
        fail(w, st, status_name(st));
        return false;
    }
    w->next++;
    atomic_fetch_add_explicit(&w->in_flight, 1, memory_order_relaxed);
    return true;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    while (!atomic_load(&stop_flag) && !interrupted && w->failure == KV_OK) {
        while (w->nfree > 0 && w->failure == KV_OK && submit_next(w)) {
        }
        if (kv_client_poll(w->client, 100) != KV_OK)
            fail(w, KV_INVALID, "kv_client_poll failed");
    }
    /* The last SETs end within their deadline: answered, or failed with the broken connection. */
    for (int64_t t0 = now_ns(); kv_client_pending(w->client) > 0 && ms_since(t0) < 15000;)
        if (kv_client_poll(w->client, 100) != KV_OK)
            break;
    kv_client_close(w->client); /* ends anything left with KV_CLOSED */
    w->client = NULL;
    return NULL;
}

void load_start(uint16_t port)
{
    nwriters = opt.conns;
    writers = calloc((size_t)nwriters, sizeof *writers);
    if (writers == NULL)
        die("out of memory");
    for (int i = 0; i < nwriters; i++) {
        writer *w = &writers[i];
        w->id = i;
        w->client = client_open_or_die(port, 1, 0);
        w->reqs = calloc((size_t)opt.depth, sizeof *w->reqs);
        w->free_slots = calloc((size_t)opt.depth, sizeof *w->free_slots);
        if (w->reqs == NULL || w->free_slots == NULL)
            die("out of memory");
        for (int s = 0; s < opt.depth; s++)
            w->reqs[s] = (request){.w = w, .slot = s}, w->free_slots[w->nfree++] = s;
    }
    for (int i = 0; i < nwriters; i++) {
        if (pthread_create(&writers[i].thread, NULL, writer_main, &writers[i]) != 0)
            die("cannot start a writer thread");
        writers[i].started = true;
    }
}

uint64_t load_acked(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < nwriters; i++)
        sum += atomic_load_explicit(&writers[i].acked, memory_order_relaxed);
    return sum;
}

uint64_t load_in_flight(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < nwriters; i++)
        sum += atomic_load_explicit(&writers[i].in_flight, memory_order_relaxed);
    return sum;
}

load_totals load_stop(void)
{
    load_totals t = {0};
    atomic_store(&stop_flag, true);
    for (int i = 0; i < nwriters; i++) {
        writer *w = &writers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        w->started = false;
        kv_client_close(w->client); /* a writer that never started still holds its client */
        w->client = NULL;
        for (uint64_t n = 0; n < w->next; n++) {
            t.acked += w->fate[n] == ACKED;
            t.unknown += w->fate[n] == UNKNOWN || w->fate[n] == SENT;
            t.not_applied += w->fate[n] == NOT_APPLIED;
            t.refused += w->fate[n] == REFUSED;
        }
        t.submitted += w->next;
        if (t.first_error == KV_OK && w->failure != KV_OK)
            t.first_error = w->failure, snprintf(t.error_text, sizeof t.error_text, "%s", w->failure_text);
    }
    return t;
}

/* ---- the read-back --------------------------------------------------------------------------------------------- */

static readback rb;
static kv_client *rb_client; /* the read-back's client, closed by load_free() if the demo dies during it */
static request *rb_reqs;     /* WINDOW of them; free ones in rb_free[0..rb_nfree) */
static int *rb_free, rb_nfree;

static void get_done(kv_status st, kv_reply *reply, void *ctx)
{
    request *rq = ctx;
    writer *w = rq->w;
    enum fate f = rq->n < w->next ? (enum fate)w->fate[rq->n] : 0; /* 0: never sent */
    const uint8_t *data;
    size_t len;
    kv_status got = st == KV_OK ? kv_reply_as_bytes(reply, &data, &len) : st;
    if (got == KV_OK || got == KV_NOT_FOUND) {
        char want[VALUE_LEN + 1];
        value_of(w->id, rq->n, want);
        bool present = got == KV_OK, right = present && len == VALUE_LEN && memcmp(data, want, VALUE_LEN) == 0;
        if (present && !right)
            rb.invented++; /* a value nobody wrote */
        else if (f == ACKED)
            present ? rb.acked_back++ : rb.acked_lost++;
        else if (f == UNKNOWN || f == SENT)
            present ? rb.unknown_back++ : rb.unknown_absent++;
        else if (present) /* never sent, not applied or refused, and yet there */
            rb.invented++;
    } else {
        rb.errors++;
    }
    kv_reply_free(reply);
    rb_free[rb_nfree++] = rq->slot;
}

/* Submits GET demo:w:n, after polling until a request of the window is free; dies when it cannot. */
static void submit_get(kv_client *c, writer *w, uint64_t n)
{
    for (int64_t t0 = now_ns(); rb_nfree == 0; check_interrupted())
        if (kv_client_poll(c, 100) != KV_OK || ms_since(t0) > 60000)
            die("the read-back's GETs stopped being answered (60 s without a free slot)");
    request *rq = &rb_reqs[rb_free[--rb_nfree]];
    rq->w = w, rq->n = n;
    char key[32];
    key_of(w->id, n, key);
    const char *argv[] = {"GET", key};
    kv_status st = kv_client_submit(c, KV_CLIENT_IDEMPOTENT, 2, argv, NULL, get_done, rq);
    if (st != KV_OK) {
        rb_nfree++;
        die("GET could not be submitted: %s", status_name(st));
    }
    rb.gets++;
}

/* Closes the read-back's client (what is still pending ends here, counted as errors) and frees its window. */
static void read_back_free(void)
{
    kv_client_close(rb_client);
    rb_client = NULL;
    free(rb_reqs), free(rb_free);
    rb_reqs = NULL, rb_free = NULL;
}

readback load_read_back(uint16_t port)
{
    rb = (readback){0};
    rb_reqs = calloc(WINDOW, sizeof *rb_reqs);
    rb_free = calloc(WINDOW, sizeof *rb_free);
    if (rb_reqs == NULL || rb_free == NULL)
        die("out of memory");
    for (rb_nfree = 0; rb_nfree < WINDOW; rb_nfree++)
        rb_reqs[rb_nfree].slot = rb_nfree, rb_free[rb_nfree] = rb_nfree;
    kv_client *c = rb_client = client_open_or_die(port, (size_t)opt.conns, 2); /* GETs are idempotent: retried */
    for (int i = 0; i < nwriters; i++)
        for (uint64_t n = 0; n < writers[i].next + PROBES; n++)
            submit_get(c, &writers[i], n);
    for (int64_t t0 = now_ns(); kv_client_pending(c) > 0 && ms_since(t0) < 60000 && !interrupted;)
        if (kv_client_poll(c, 100) != KV_OK)
            break;
    check_interrupted();
    read_back_free();
    return rb;
}

void load_free(void)
{
    load_stop();
    read_back_free();
    for (int i = 0; i < nwriters; i++)
        free(writers[i].fate), free(writers[i].reqs), free(writers[i].free_slots);
    free(writers);
    writers = NULL;
    nwriters = 0;
}
