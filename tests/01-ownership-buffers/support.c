/*
 * Test doubles for chapter 01 (see support.h): a checking allocator and drop-recording element types.
 */
#define _POSIX_C_SOURCE 200809L
#include "support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- counting allocator ------------------------------------------------------------------------------------ */

static bool is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

static ca_block *find_block(counting_alloc *ca, const void *ptr)
{
    for (size_t i = 0; i < ca->n_live; i++)
        if (ca->live[i].ptr == ptr)
            return &ca->live[i];
    return NULL;
}

/* Checks what every alloc and realloc request must satisfy; stops the test otherwise. */
static void check_request(const char *call, size_t size, size_t align)
{
    if (size == 0)
        ck_abort_msg("%s of 0 bytes: empty buffers and zero-sized elements must never reach the allocator", call);
    if (!is_pow2(align))
        ck_abort_msg("%s with alignment %zu, which is not a power of two", call, align);
    if (size > CA_MAX_REQUEST)
        ck_abort_msg("%s of %zu bytes: no test needs that much; a capacity-overflow check is missing", call, size);
}

/* True when this call must fail on purpose. Counts the call first. */
static bool refuse(counting_alloc *ca)
{
    size_t nth = ca->n_alloc + ca->n_realloc;
    if (ca->fail_all || nth == ca->fail_at) {
        ca->n_refused++;
        return true;
    }
    return false;
}

/* A real block, aligned as asked, filled with 0xA5 so unwritten bytes are recognisable. */
static void *fresh_block(size_t size, size_t align)
{
    void *p = NULL;
    size_t a = align < sizeof(void *) ? sizeof(void *) : align; /* posix_memalign's minimum */
    if (posix_memalign(&p, a, size) != 0)
        ck_abort_msg("the test machine is out of memory (%zu bytes)", size);
    /* A self-check, so that an alignment failure is never blamed on the allocator. */
    ck_assert_msg((uintptr_t)p % align == 0, "posix_memalign returned %p for alignment %zu", p, align);
    memset(p, 0xA5, size);
    return p;
}

static void *ca_alloc(void *ctx, size_t size, size_t align)
{
    counting_alloc *ca = ctx;
    ca->n_alloc++;
    check_request("alloc", size, align);
    if (refuse(ca))
        return NULL;
    if (ca->n_live == CA_MAX_BLOCKS)
        ck_abort_msg("more than %d live blocks from one allocator: something allocates in a loop", CA_MAX_BLOCKS);
    void *p = fresh_block(size, align);
    ca->live[ca->n_live++] = (ca_block){p, size, align};
    ca->live_bytes += size;
    return p;
}

/* Stops the test unless (size, align) is exactly what the block at b->ptr was allocated with. */
static void check_same_layout(const char *call, const ca_block *b, size_t size, size_t align)
{
    if (b->size != size || b->align != align)
        ck_abort_msg("%s(%p) said size %zu, align %zu; the block was allocated with size %zu, align %zu", call, b->ptr,
                     size, align, b->size, b->align);
}

static void *ca_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    counting_alloc *ca = ctx;
    ca->n_realloc++;
    ca_block *b = find_block(ca, ptr);
    if (b == NULL)
        ck_abort_msg("realloc(%p), which is not a live block: a dangling pointer, or one already freed", ptr);
    check_same_layout("realloc", b, old_size, align);
    check_request("realloc", new_size, align);
    if (refuse(ca))
        return NULL; /* the old block stays allocated and untouched, as the contract says */
    /* Always move, so that any pointer kept across the call is a use-after-free. */
    void *p = fresh_block(new_size, align);
    memcpy(p, ptr, old_size < new_size ? old_size : new_size);
    memset(ptr, 0x5A, old_size);
    free(ptr);
    ca->live_bytes = ca->live_bytes - old_size + new_size;
    *b = (ca_block){p, new_size, align};
    return p;
}

static void ca_dealloc(void *ctx, void *ptr, size_t size, size_t align)
{
    counting_alloc *ca = ctx;
    ca->n_dealloc++;
    ca_block *b = find_block(ca, ptr);
    if (b == NULL)
        ck_abort_msg("dealloc(%p), which is not a live block: a double free, or freeing a dangling pointer", ptr);
    check_same_layout("dealloc", b, size, align);
    memset(ptr, 0x5A, size);
    free(ptr);
    ca->live_bytes -= size;
    *b = ca->live[--ca->n_live]; /* order of the table does not matter */
}

void ca_init(counting_alloc *ca)
{
    memset(ca, 0, sizeof *ca);
    ca->iface = (fv_allocator){ca_alloc, ca_realloc, ca_dealloc, ca};
}

void ca_fail_nth(counting_alloc *ca, size_t n)
{
    ck_assert_msg(n >= 1, "ca_fail_nth counts from 1");
    ca->fail_at = ca->n_alloc + ca->n_realloc + n;
}

void ca_fail_all(counting_alloc *ca, bool on) { ca->fail_all = on; }

size_t ca_calls(const counting_alloc *ca) { return ca->n_alloc + ca->n_realloc + ca->n_dealloc; }

size_t ca_block_size(const counting_alloc *ca, const void *ptr)
{
    const ca_block *b = find_block((counting_alloc *)ca, ptr);
    return b ? b->size : 0;
}

size_t ca_block_align(const counting_alloc *ca, const void *ptr)
{
    const ca_block *b = find_block((counting_alloc *)ca, ptr);
    return b ? b->align : 0;
}

/* ---- drop tracking ------------------------------------------------------------------------------------------- */

/* Tracker state is global because a drop function gets only the element. Check runs each test in its own
 * process; track_reset() keeps tests independent when it does not (CK_FORK=no). */
static struct {
    uint32_t made;             /* ids handed out: 0 .. made-1 */
    uint16_t drops[TRACK_MAX]; /* per id */
    uint32_t order[TRACK_MAX]; /* ids in drop order */
    size_t n_order;
    size_t total; /* every drop call, good or bad */
    size_t errors;
    char first_error[160];
} tr;

static uint32_t live_tag(uint32_t id) { return id * 2654435761u ^ 0x7a11edu; }
static uint32_t dead_tag(uint32_t id) { return live_tag(id) ^ 0xdeaddeadu; }

static void bad_drop(const char *fmt, ...)
{
    if (tr.errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(tr.first_error, sizeof tr.first_error, fmt, ap);
        va_end(ap);
    }
}

static void tracked_drop(void *elem)
{
    tr.total++;
    if (elem == NULL) {
        bad_drop("drop called with a NULL element");
        return;
    }
    tracked *t = elem;
    bool known = t->id < tr.made;
    if (known && t->tag == live_tag(t->id)) {
        tr.drops[t->id]++;
        if (tr.drops[t->id] > 1)
            bad_drop("element #%u dropped %u times (a copy of it was dropped before)", t->id, (unsigned)tr.drops[t->id]);
        if (tr.n_order < TRACK_MAX)
            tr.order[tr.n_order++] = t->id;
        t->tag = dead_tag(t->id); /* this slot now holds a dead element */
    } else if (known && t->tag == dead_tag(t->id)) {
        tr.drops[t->id]++;
        bad_drop("element #%u dropped again from the same slot: double drop", t->id);
    } else {
        bad_drop("drop of a slot that holds no element (bytes %08x %08x): uninitialised or stale memory", t->id, t->tag);
    }
}

static size_t unit_drop_count;

static void unit_drop(void *elem)
{
    tr.total++;
    unit_drop_count++;
    if (elem == NULL)
        bad_drop("drop of a zero-sized element called with NULL: the dangling pointer is never NULL");
}

const fv_type tracked_type = {FV_LAYOUT_OF(tracked), tracked_drop, "tracked"};
const fv_type unit_type = {{0, 1}, unit_drop, "unit"};
const fv_type unit8_type = {{0, 8}, unit_drop, "unit (align 8)"};
const fv_type u32_type = {FV_LAYOUT_OF(uint32_t), NULL, "uint32_t"};

void track_reset(void)
{
    memset(&tr, 0, sizeof tr);
    unit_drop_count = 0;
}

tracked track_new(void)
{
    ck_assert_msg(tr.made < TRACK_MAX, "more than %d tracked elements in one test", TRACK_MAX);
    uint32_t id = tr.made++;
    return (tracked){id, live_tag(id)};
}

size_t track_drops_of(uint32_t id) { return id < TRACK_MAX ? tr.drops[id] : 0; }
size_t track_total_drops(void) { return tr.total; }
uint32_t track_drop_order(size_t k) { return k < tr.n_order ? tr.order[k] : UINT32_MAX; }
size_t track_errors(void) { return tr.errors; }
const char *track_first_error(void) { return tr.errors ? tr.first_error : "none"; }

bool track_each_dropped_once(char *why, size_t why_size)
{
    if (tr.errors) {
        snprintf(why, why_size, "%zu bad drop(s); first: %s", tr.errors, tr.first_error);
        return false;
    }
    for (uint32_t id = 0; id < tr.made; id++) {
        if (tr.drops[id] != 1) {
            snprintf(why, why_size, "element #%u was dropped %u time(s), expected exactly 1 (%s)", id,
                     (unsigned)tr.drops[id], tr.drops[id] ? "double drop" : "leaked");
            return false;
        }
    }
    return true;
}

/* ---- vector helpers -------------------------------------------------------------------------------------------- */

uint32_t push_tracked(fv_vec *v, size_t n)
{
    uint32_t first = tr.made;
    for (size_t i = 0; i < n; i++) {
        tracked t = track_new();
        fv_status st = fv_push(v, &t);
        ck_assert_msg(st == FV_OK, "fv_push of element #%u returned %d, expected FV_OK (0)", t.id, (int)st);
    }
    return first;
}

void setup_tracked(fv_vec *v, counting_alloc *ca, size_t n)
{
    track_reset();
    ca_init(ca);
    ck_assert_int_eq(fv_new(v, &tracked_type, &ca->iface), FV_OK);
    push_tracked(v, n);
}

void release_vec(fv_vec *v)
{
    for (size_t i = 0; v->type && v->type->drop && i < v->len; i++)
        v->type->drop(fv_raw_slot(&v->buf, i));
    v->len = 0;
    fv_raw_free(&v->buf);
}

void push_u32s(fv_vec *v, uint32_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t x = first + (uint32_t)i;
        fv_status st = fv_push(v, &x);
        ck_assert_msg(st == FV_OK, "fv_push of value %u returned %d, expected FV_OK (0)", x, (int)st);
    }
}

/* Reads slot i of v's buffer as element type T, without going through the API under test. */
#define SLOT(T, v, i) (((const T *)(v)->buf.ptr)[i])

bool ids_are(const fv_vec *v, const uint32_t *ids, size_t n, char *why, size_t why_size)
{
    if (v->len != n) {
        snprintf(why, why_size, "length is %zu, expected %zu", v->len, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const tracked *t = &SLOT(tracked, v, i);
        if (t->id != ids[i] || t->tag != live_tag(t->id)) {
            snprintf(why, why_size, "slot %zu holds %s #%u, expected live element #%u", i,
                     t->tag == live_tag(t->id) ? "element" : "a dead or garbage element", t->id, ids[i]);
            return false;
        }
    }
    return true;
}

bool u32s_are(const fv_vec *v, const uint32_t *values, size_t n, char *why, size_t why_size)
{
    if (v->len != n) {
        snprintf(why, why_size, "length is %zu, expected %zu", v->len, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (SLOT(uint32_t, v, i) != values[i]) {
            snprintf(why, why_size, "slot %zu holds %u, expected %u", i, SLOT(uint32_t, v, i), values[i]);
            return false;
        }
    }
    return true;
}
