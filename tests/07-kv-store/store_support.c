/*
 * store_support.c — see store_support.h.
 */
#include "store_support.h"

#include "faultio.h"
#include "memtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file system of the tests that are not about durability: faultio, which writes the same files for real and
 * makes every sync free, so that a thousand acknowledged puts do not cost a thousand disk flushes on a busy
 * machine. One per test process, freed at its exit. */
static faultio *quick_io;

static void free_quick_io(void)
{
    faultio_free(quick_io);
    quick_io = NULL;
}

kv_store *store_open(const char *dir, kv_io *io, size_t memtable_bytes)
{
    if (io == NULL) {
        if (quick_io == NULL) {
            quick_io = faultio_new();
            atexit(free_quick_io);
        }
        io = faultio_io(quick_io);
    }
    kv_store_options opt = {.io = io, .memtable_bytes = memtable_bytes, .block_bytes = 512};
    kv_store *s = NULL;
    kv_status st = kv_store_open(dir, &opt, &s);
    ck_assert_msg(st == KV_OK, "kv_store_open(%s) returned %d", dir, (int)st);
    ck_assert_ptr_ne(s, NULL);
    return s;
}

void store_close(kv_store *s)
{
    kv_status st = kv_store_close(s);
    ck_assert_msg(st == KV_OK, "kv_store_close returned %d", (int)st);
}

const char *skey(unsigned k, char *out)
{
    snprintf(out, 16, "k%06u", k);
    return out;
}

const char *sval(unsigned k, unsigned g, char *out, size_t *len)
{
    int n = snprintf(out, 64, "v%u.%u.", k, g);
    size_t fill = (k * 7u + g) % 24u; /* lengths vary, so values of different writes differ in size too */
    for (size_t i = 0; i < fill; i++)
        out[n + (int)i] = (char)('a' + (k + i) % 26);
    *len = (size_t)n + fill;
    return out;
}

void sput(kv_store *s, unsigned k, unsigned g)
{
    char key[16], value[64];
    size_t len;
    sval(k, g, value, &len);
    skey(k, key);
    kv_status st = kv_store_put(s, key, strlen(key), value, len);
    ck_assert_msg(st == KV_OK, "kv_store_put(%s) returned %d", key, (int)st);
}

void sdel(kv_store *s, unsigned k)
{
    char key[16];
    skey(k, key);
    kv_status st = kv_store_delete(s, key, strlen(key));
    ck_assert_msg(st == KV_OK, "kv_store_delete(%s) returned %d", key, (int)st);
}

long sget(kv_store *s, const kv_snapshot *snap, unsigned k)
{
    char key[16];
    kv_buf out = {0};
    skey(k, key);
    kv_status st = kv_store_get(s, snap, key, strlen(key), &out);
    if (st == KV_NOT_FOUND) {
        kv_buf_free(&out);
        return -1;
    }
    ck_assert_msg(st == KV_OK, "kv_store_get(%s) returned %d", key, (int)st);
    unsigned got_k = 0, g = 0;
    char text[80] = {0};
    memcpy(text, out.data, out.len < sizeof text - 1 ? out.len : sizeof text - 1);
    ck_assert_msg(sscanf(text, "v%u.%u.", &got_k, &g) == 2 && got_k == k, "key %s holds \"%s\", not a value of it", key,
                  text);
    char want[64];
    size_t want_len;
    sval(k, g, want, &want_len);
    ck_assert_msg(out.len == want_len && memcmp(out.data, want, want_len) == 0,
                  "key %s holds \"%s\" (%zu bytes): a torn or mixed value", key, text, out.len);
    kv_buf_free(&out);
    return (long)g;
}

typedef struct dump {
    char *text;
    size_t len, cap;
    int order_errors;
    char last[128];
    size_t last_len;
    bool any;
} dump;

static bool dump_one(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, void *ctx)
{
    dump *d = ctx;
    if (d->any && kv_key_compare(d->last, d->last_len, key, key_len) >= 0)
        d->order_errors++;
    d->any = true;
    d->last_len = key_len < sizeof d->last ? key_len : sizeof d->last;
    memcpy(d->last, key, d->last_len);
    size_t need = d->len + key_len + value_len + 3;
    if (need > d->cap) {
        d->cap = need * 2;
        d->text = realloc(d->text, d->cap);
        ck_assert_ptr_ne(d->text, NULL);
    }
    memcpy(d->text + d->len, key, key_len);
    d->len += key_len;
    d->text[d->len++] = '=';
    memcpy(d->text + d->len, value, value_len);
    d->len += value_len;
    d->text[d->len++] = '\n';
    d->text[d->len] = '\0';
    return true;
}

char *store_dump(kv_store *s, const kv_snapshot *snap)
{
    dump d = {.text = calloc(1, 1), .cap = 1};
    ck_assert_ptr_ne(d.text, NULL);
    kv_status st = kv_store_scan(s, snap, NULL, 0, NULL, 0, 0, dump_one, &d, NULL);
    ck_assert_msg(st == KV_OK, "kv_store_scan returned %d", (int)st);
    ck_assert_msg(d.order_errors == 0, "the scan handed out %d keys out of order", d.order_errors);
    return d.text;
}
