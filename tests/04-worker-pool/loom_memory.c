/*
 * loom_memory.c — memory as the model threads see it (x86-TSO): each thread's FIFO store buffer, and the shim's
 * entry points, one per kind of atomic operation.
 *
 * Memory is the atomic objects' own bytes; a buffered store is not in them until it lands. In a model thread each
 * operation first waits for its turn (the search chooses when), then acts; in the body it acts at once on memory.
 */
#include "loom_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static loom_state *const L = &loom_st;

static uint64_t mem_read(const volatile void *p, size_t size)
{
    uint64_t v = 0;
    memcpy(&v, (const void *)p, size); /* the bytes of the atomic object: one coroutine runs at a time */
    return v;
}

static void mem_write(volatile void *p, size_t size, uint64_t v) { memcpy((void *)p, &v, size); }

static loom_step *new_step(loom_step_kind kind, int thread, const loom_site *site)
{
    static loom_step overflow;
    loom_step *s = L->n_trace < TRACE_CAP ? &L->trace[L->n_trace] : &overflow;
    L->n_trace++;
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->thread = thread;
    if (site)
        s->site = *site;
    return s;
}

void loom_land_oldest(int i, loom_land_reason why)
{
    loom_thread *t = &L->th[i];
    loom_pending_store e = t->buf[0];
    mem_write(e.addr, e.size, e.value);
    memmove(&t->buf[0], &t->buf[1], (size_t)(t->buf_len - 1) * sizeof t->buf[0]);
    t->buf_len--;
    loom_step *s = new_step(STEP_LAND, i, &e.site);
    s->a = e.value;
    s->size = e.size;
    s->is_ptr = e.is_ptr;
    s->order = e.order;
    s->reason = why;
}

void loom_drain(int i, loom_land_reason why)
{
    while (L->th[i].buf_len > 0)
        loom_land_oldest(i, why);
}

/* Whether letting thread i's oldest store land now can matter: another thread's next operation, or a store in
 * another thread's buffer, is on an address in i's buffer. Otherwise landing it later is the same execution. */
bool loom_landing_matters(int i)
{
    const loom_thread *t = &L->th[i];
    for (int k = 0; k < t->buf_len; k++)
        for (int j = 0; j < L->n_threads; j++) {
            const loom_thread *u = &L->th[j];
            if (j == i || u->finished)
                continue;
            if (u->next_addr == t->buf[k].addr)
                return true;
            for (int m = 0; m < u->buf_len; m++)
                if (u->buf[m].addr == t->buf[k].addr)
                    return true;
        }
    return false;
}

static void check_size(size_t size, const loom_site *site)
{
    if (size == 0 || size > sizeof(uint64_t)) {
        fprintf(stderr, "%s:%d: loom models atomics of 1 to 8 bytes, not %zu\n", site->file, site->line, size);
        abort();
    }
}

/* A model thread stops before each atomic operation until the scheduler runs it. */
static void wait_for_turn(const volatile void *addr)
{
    L->th[L->current].next_addr = addr;
    loom_coro_yield(L->current);
}

uint64_t loom_atomic_load(const volatile void *p, size_t size, int order, bool is_ptr, const loom_site *site)
{
    check_size(size, site);
    if (L->current < 0)
        return mem_read(p, size);
    wait_for_turn(p);
    loom_thread *t = &L->th[L->current];
    loom_step *s = new_step(STEP_LOAD, L->current, site);
    s->a = mem_read(p, size);
    for (int k = t->buf_len - 1; k >= 0; k--)
        if (t->buf[k].addr == p) { /* x86 store forwarding: a thread sees its own stores at once */
            s->a = t->buf[k].value;
            s->flag = true;
            break;
        }
    s->order = order;
    s->size = size;
    s->is_ptr = is_ptr;
    return s->a;
}

void loom_atomic_store(volatile void *p, size_t size, uint64_t value, int order, bool is_ptr, const loom_site *site)
{
    check_size(size, site);
    if (L->current < 0) {
        mem_write(p, size, value);
        return;
    }
    wait_for_turn(p);
    int i = L->current;
    loom_thread *t = &L->th[i];
    if (order == memory_order_seq_cst) { /* xchg: drains the buffer, then writes memory */
        loom_drain(i, LAND_DRAIN);
        mem_write(p, size, value);
    } else {
        if (t->buf_len == BUFFER_CAP)
            loom_land_oldest(i, LAND_FULL);
        t->buf[t->buf_len++] = (loom_pending_store){p, size, value, order, is_ptr, *site};
    }
    loom_step *s = new_step(STEP_STORE, i, site);
    s->a = value;
    s->flag = order == memory_order_seq_cst;
    s->order = order;
    s->size = size;
    s->is_ptr = is_ptr;
}

static uint64_t size_mask(size_t size) { return size == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1; }

uint64_t loom_atomic_rmw(volatile void *p, size_t size, loom_rmw op, uint64_t operand, int order, bool is_ptr,
                         const loom_site *site)
{
    check_size(size, site);
    if (L->current >= 0) {
        wait_for_turn(p);
        loom_drain(L->current, LAND_DRAIN);
    }
    uint64_t old = mem_read(p, size), next = operand;
    switch (op) {
    case LOOM_XCHG:
        break;
    case LOOM_ADD:
        next = old + operand;
        break;
    case LOOM_SUB:
        next = old - operand;
        break;
    case LOOM_OR:
        next = old | operand;
        break;
    case LOOM_XOR:
        next = old ^ operand;
        break;
    case LOOM_AND:
        next = old & operand;
        break;
    }
    mem_write(p, size, next & size_mask(size));
    if (L->current >= 0) {
        loom_step *s = new_step(STEP_RMW, L->current, site);
        s->rmw = op;
        s->a = operand;
        s->b = old;
        s->order = order;
        s->size = size;
        s->is_ptr = is_ptr;
    }
    return old;
}

bool loom_atomic_cas(volatile void *p, size_t size, void *expected, uint64_t desired, int success, int failure, bool weak,
                     bool is_ptr, const loom_site *site)
{
    (void)weak; /* lock cmpxchg never fails spuriously */
    check_size(size, site);
    if (L->current >= 0) {
        wait_for_turn(p);
        loom_drain(L->current, LAND_DRAIN);
    }
    uint64_t want = mem_read(expected, size), found = mem_read(p, size);
    bool swapped = found == want;
    if (swapped)
        mem_write(p, size, desired);
    else
        memcpy(expected, &found, size);
    if (L->current >= 0) {
        loom_step *s = new_step(STEP_CAS, L->current, site);
        s->a = want;
        s->b = desired;
        s->c = found;
        s->flag = swapped;
        s->order = success;
        s->order_fail = failure;
        s->size = size;
        s->is_ptr = is_ptr;
    }
    return swapped;
}

void loom_atomic_fence(int order, const loom_site *site)
{
    if (L->current < 0)
        return;
    if (order == memory_order_seq_cst) { /* mfence */
        wait_for_turn(NULL);
        loom_drain(L->current, LAND_DRAIN);
    }
    new_step(STEP_FENCE, L->current, site)->order = order;
}

void loom_atomic_init(volatile void *p, size_t size, uint64_t value)
{
    if (size == 0 || size > sizeof(uint64_t))
        abort();
    mem_write(p, size, value);
}
