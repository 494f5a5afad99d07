/*
 * Set-up for chapter 07's part-2 tests: see ordered_support.h.
 */
#include "ordered_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *dir_path(const char *dir, const char *name, char out[512])
{
    path_join(out, 512, dir, name);
    return out;
}

bool dir_has(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    path_join(path, sizeof path, dir, name);
    return stat(path, &st) == 0;
}

const char *key_name(unsigned n, char out[16])
{
    snprintf(out, 16, "key%06u", n);
    return out;
}

const char *value_name(unsigned n, unsigned version, char out[32])
{
    snprintf(out, 32, "v%u-%u", version, n);
    return out;
}

kv_memtable *memtable_new(void)
{
    kv_memtable *mt = NULL;
    ck_assert_int_eq(kv_memtable_create(64u << 20, &mt), KV_OK);
    ck_assert_ptr_ne(mt, NULL);
    return mt;
}

void mt_put(kv_memtable *mt, const char *key, const char *value)
{
    ck_assert_int_eq(kv_memtable_put(mt, key, strlen(key), value, strlen(value)), KV_OK);
}

void mt_del(kv_memtable *mt, const char *key) { ck_assert_int_eq(kv_memtable_delete(mt, key, strlen(key)), KV_OK); }

kv_segment *segment_from(const char *dir, const char *name, const kv_memtable *mt, size_t block_bytes)
{
    char path[512];
    ck_assert_int_eq(kv_segment_write(kv_io_posix(), dir, name, mt, block_bytes), KV_OK);
    kv_segment *seg = NULL;
    path_join(path, sizeof path, dir, name);
    ck_assert_int_eq(kv_segment_open(kv_io_posix(), path, &seg), KV_OK);
    ck_assert_ptr_ne(seg, NULL);
    return seg;
}

/* Keys 0, 2, 4, ... 2*(n-1) (odd numbers are absent), every seventh a tombstone. */
kv_memtable *even_keys(unsigned n)
{
    kv_memtable *mt = memtable_new();
    char key[16], value[32];
    for (unsigned i = 0; i < n; i++) {
        if (i % 7 == 3)
            mt_del(mt, key_name(2 * i, key));
        else
            mt_put(mt, key_name(2 * i, key), value_name(2 * i, 1, value));
    }
    return mt;
}

void expect_even_keys(kv_segment *seg, unsigned n)
{
    char key[16], value[32];
    kv_entry e;
    for (unsigned i = 0; i < n; i++) {
        ck_assert_msg(kv_segment_get(seg, key_name(2 * i, key), 9, &e) == KV_OK, "%s is missing", key);
        ck_assert_msg(entry_is(&e, key, i % 7 == 3 ? NULL : value_name(2 * i, 1, value)), "%s: wrong entry", key);
        ck_assert_int_eq(kv_segment_get(seg, key_name(2 * i + 1, key), 9, &e), KV_NOT_FOUND);
    }
}

bool entry_is(const kv_entry *e, const char *key, const char *value)
{
    size_t klen = strlen(key);
    if (e->key_len != klen || (klen && memcmp(e->key, key, klen) != 0))
        return false;
    if (value == NULL)
        return e->tombstone && e->value_len == 0;
    size_t vlen = strlen(value);
    return !e->tombstone && e->value_len == vlen && (vlen == 0 || memcmp(e->value, value, vlen) == 0);
}

/* The model orders keys as the store must: bytewise, a prefix first. Written out here rather than calling
 * kv_key_compare, so that a mistake there cannot hide in the model too. */
int model_compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    for (size_t i = 0; i < a_len && i < b_len; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return (a_len > b_len) - (a_len < b_len);
}

/* The index where @p key is or would be inserted. */
static size_t model_index(const model *m, const uint8_t *key, size_t key_len)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (model_compare(m->slots[mid].key, m->slots[mid].key_len, key, key_len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static model_slot *model_slot_for(model *m, const uint8_t *key, size_t key_len)
{
    ck_assert_uint_le(key_len, MODEL_KEY_MAX);
    size_t i = model_index(m, key, key_len);
    if (i < m->count && model_compare(m->slots[i].key, m->slots[i].key_len, key, key_len) == 0)
        return &m->slots[i];
    if (m->count == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->slots = realloc(m->slots, m->cap * sizeof *m->slots);
        ck_assert_ptr_ne(m->slots, NULL);
    }
    memmove(&m->slots[i + 1], &m->slots[i], (m->count - i) * sizeof *m->slots);
    m->count++;
    model_slot *slot = &m->slots[i];
    memset(slot, 0, sizeof *slot);
    if (key_len)
        memcpy(slot->key, key, key_len);
    slot->key_len = key_len;
    return slot;
}

void model_put(model *m, const uint8_t *key, size_t key_len, const char *value)
{
    model_slot *slot = model_slot_for(m, key, key_len);
    snprintf(slot->value, sizeof slot->value, "%s", value);
    slot->live = true;
}

void model_del(model *m, const uint8_t *key, size_t key_len) { model_slot_for(m, key, key_len)->live = false; }

const model_slot *model_find(const model *m, const uint8_t *key, size_t key_len)
{
    size_t i = model_index(m, key, key_len);
    if (i < m->count && model_compare(m->slots[i].key, m->slots[i].key_len, key, key_len) == 0)
        return &m->slots[i];
    return NULL;
}

void model_free(model *m)
{
    free(m->slots);
    *m = (model){0};
}
