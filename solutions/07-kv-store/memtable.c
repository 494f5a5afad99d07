/*
 * memtable.c — chapter 07, part 2: the memtable as a skip list.   (reference solution)
 *
 * Each node carries its key (in the same allocation, after its tower of links) and a separately allocated value,
 * so that replacing a value frees and allocates only the value. Heights come from a xorshift generator seeded at
 * creation: a tower of height h has probability 4^-(h-1), capped at MAX_HEIGHT.
 */
#include "memtable.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HEIGHT 12
#define SEED 0x9e3779b97f4a7c15ull

typedef struct node {
    uint8_t *value; /* owned; NULL for a tombstone or an empty value */
    size_t value_len;
    bool tombstone;
    size_t key_len;
    int height;
    struct node *next[]; /* next[0..height-1], then the key's bytes */
} node;

struct kv_memtable {
    node *head; /* a sentinel with MAX_HEIGHT links and no key */
    int height; /* levels in use, 1..MAX_HEIGHT */
    size_t count, bytes, limit;
    uint64_t rng;
};

/* The key sits right after the node's tower of next pointers (same allocation). */
static uint8_t *key_of(const node *n) { return (uint8_t *)&n->next[n->height]; }

int kv_key_compare(const void *a, size_t a_len, const void *b, size_t b_len)
{
    size_t common = a_len < b_len ? a_len : b_len;
    int c = common ? memcmp(a, b, common) : 0;
    if (c != 0)
        return c;
    /* Equal up to the shorter length: the prefix sorts first, as `Ord for [u8]` does. */
    return (a_len > b_len) - (a_len < b_len);
}

static int random_height(kv_memtable *mt)
{
    int h = 1;
    for (;;) {
        mt->rng ^= mt->rng << 13;
        mt->rng ^= mt->rng >> 7;
        mt->rng ^= mt->rng << 17;
        if (h == MAX_HEIGHT || (mt->rng & 3) != 0) /* go up one level with probability 1/4 */
            return h;
        h++;
    }
}

static node *node_new(int height, const void *key, size_t key_len)
{
    node *n = malloc(sizeof *n + (size_t)height * sizeof(node *) + key_len);
    if (n == NULL)
        return NULL;
    *n = (node){.height = height, .key_len = key_len};
    for (int i = 0; i < height; i++)
        n->next[i] = NULL;
    if (key_len)
        memcpy(key_of(n), key, key_len);
    return n;
}

kv_status kv_memtable_create(size_t limit_bytes, kv_memtable **out)
{
    *out = NULL;
    if (limit_bytes == 0)
        return KV_INVALID;
    kv_memtable *mt = calloc(1, sizeof *mt);
    if (mt == NULL)
        return KV_NO_MEMORY;
    mt->head = node_new(MAX_HEIGHT, NULL, 0);
    if (mt->head == NULL) {
        free(mt);
        return KV_NO_MEMORY;
    }
    mt->height = 1;
    mt->limit = limit_bytes;
    mt->rng = SEED;
    *out = mt;
    return KV_OK;
}

void kv_memtable_destroy(kv_memtable *mt)
{
    if (mt == NULL)
        return;
    for (node *n = mt->head, *next; n != NULL; n = next) {
        next = n->next[0];
        free(n->value);
        free(n);
    }
    free(mt);
}

/* The last node on each level whose key is < key (the head where none is): where a new node is linked in.
 * Returns the first node whose key is >= key, or NULL. */
static node *find_ge(const kv_memtable *mt, const void *key, size_t key_len, node *prev[MAX_HEIGHT])
{
    node *x = mt->head;
    for (int level = mt->height - 1; level >= 0; level--) {
        while (x->next[level] != NULL && kv_key_compare(key_of(x->next[level]), x->next[level]->key_len, key, key_len) < 0)
            x = x->next[level];
        if (prev != NULL)
            prev[level] = x;
    }
    return x->next[0];
}

/* The one writer behind put and delete: insert or replace, with a value or a tombstone. */
static kv_status upsert(kv_memtable *mt, const void *key, size_t key_len, const void *value, size_t value_len,
                        bool tombstone)
{
    uint8_t *copy = NULL;
    if (!tombstone && value_len > 0) {
        copy = malloc(value_len);
        if (copy == NULL)
            return KV_NO_MEMORY;
        memcpy(copy, value, value_len);
    }
    node *prev[MAX_HEIGHT];
    node *n = find_ge(mt, key, key_len, prev);
    if (n != NULL && kv_key_compare(key_of(n), n->key_len, key, key_len) == 0) {
        mt->bytes = mt->bytes - n->value_len + value_len;
        free(n->value); /* any kv_entry that pointed at it is now invalid, as the header says */
        n->value = copy;
        n->value_len = tombstone ? 0 : value_len;
        n->tombstone = tombstone;
        return KV_OK;
    }
    int height = random_height(mt);
    n = node_new(height, key, key_len);
    if (n == NULL) {
        free(copy);
        return KV_NO_MEMORY;
    }
    n->value = copy;
    n->value_len = tombstone ? 0 : value_len;
    n->tombstone = tombstone;
    for (int level = mt->height; level < height; level++)
        prev[level] = mt->head; /* levels not in use yet start at the head */
    if (height > mt->height)
        mt->height = height;
    for (int level = 0; level < height; level++) {
        n->next[level] = prev[level]->next[level];
        prev[level]->next[level] = n;
    }
    mt->count++;
    mt->bytes += key_len + n->value_len + KV_MEMTABLE_ENTRY_OVERHEAD;
    return KV_OK;
}

kv_status kv_memtable_put(kv_memtable *mt, const void *key, size_t key_len, const void *value, size_t value_len)
{
    return upsert(mt, key, key_len, value, value_len, false);
}

kv_status kv_memtable_delete(kv_memtable *mt, const void *key, size_t key_len)
{
    return upsert(mt, key, key_len, NULL, 0, true);
}

static void entry_of(const node *n, kv_entry *out)
{
    *out = (kv_entry){key_of(n), n->key_len, n->value, n->value_len, n->tombstone};
}

bool kv_memtable_get(const kv_memtable *mt, const void *key, size_t key_len, kv_entry *out)
{
    node *n = find_ge(mt, key, key_len, NULL);
    if (n == NULL || kv_key_compare(key_of(n), n->key_len, key, key_len) != 0) {
        *out = (kv_entry){0};
        return false;
    }
    entry_of(n, out);
    return true;
}

size_t kv_memtable_count(const kv_memtable *mt) { return mt->count; }

size_t kv_memtable_bytes(const kv_memtable *mt) { return mt->bytes; }

bool kv_memtable_full(const kv_memtable *mt) { return mt->bytes >= mt->limit; }

void kv_memtable_seek(const kv_memtable *mt, const void *key, size_t key_len, kv_memtable_iter *it)
{
    it->mt = mt;
    it->node = key == NULL ? mt->head->next[0] : find_ge(mt, key, key_len, NULL);
}

bool kv_memtable_iter_entry(const kv_memtable_iter *it, kv_entry *out)
{
    if (it->node == NULL)
        return false;
    entry_of(it->node, out);
    return true;
}

void kv_memtable_iter_next(kv_memtable_iter *it)
{
    if (it->node != NULL)
        it->node = ((const node *)it->node)->next[0];
}
