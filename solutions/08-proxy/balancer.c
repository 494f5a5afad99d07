/*
 * Load balancing (balancer.h): a slot map of endpoints with generations, and three ways to choose one of them.
 *
 * Invariants of a slot:
 * - gen is odd while the slot holds an endpoint and even while it is free; occupying and freeing each add one, so
 *   every pick made before a slot was freed carries a generation the slot will never have again (until the 32-bit
 *   counter would wrap: such a slot is retired, never reused), and a zeroed px_pick matches nothing.
 * - ewma_ns is the estimate as of stamp_ns; pick() decays it to now without storing the result, so choosing never
 *   changes an estimate and only samples (done()) do.
 * - the counters and in_flight belong to the endpoint, not the slot: they start at zero when a slot is occupied.
 */
#include "balancer.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    px_endpoint_addr addr;
    uint32_t gen;
    bool available;
    bool listed; /* set_endpoints() scratch: still in the new list */
    uint32_t in_flight;
    uint64_t ewma_ns; /* peak-EWMA estimate as of stamp_ns */
    uint64_t stamp_ns;
    uint64_t picks, successes, failures;
} slot;

/* Owned by whoever created it; one thread (the event loop's) uses it, so nothing is locked. */
struct px_balancer {
    px_balancer_kind kind;
    px_ewma_config ewma;
    uint64_t rng;       /* splitmix64 state */
    slot *slots;        /* owned; realloc'd by set_endpoints() only, so a slot's index is its identity, not its address */
    size_t nslots, cap; /* slots in use (occupied or free) and allocated */
    size_t cursor;      /* where round-robin's and least-loaded's next scan starts: one past the last pick */
};

static bool occupied(const slot *s) { return (s->gen & 1u) != 0; }

/* A free slot at the last even generation is never occupied again: one more cycle would wrap the counter to values
 * that picks made four billion reuses ago still carry. */
static bool reusable(uint32_t free_gen) { return free_gen != UINT32_MAX - 1; }

/* The slot of a pick if it is still current; NULL for a stale pick (its endpoint left, or its slot was reused). */
static slot *lookup(const px_balancer *b, px_pick p)
{
    if (p.slot >= b->nslots)
        return NULL;
    slot *s = &b->slots[p.slot];
    return occupied(s) && s->gen == p.gen ? s : NULL;
}

/* splitmix64 (Steele, Lea and Flood): one add and three xor-shift-multiplies, every seed is fine, 0 included. */
static uint64_t next_random(px_balancer *b)
{
    uint64_t z = (b->rng += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A number in [0, n), n > 0. The modulo bias is below n / 2^64: nothing a balancer can see. */
static size_t random_below(px_balancer *b, size_t n) { return (size_t)(next_random(b) % n); }

static uint64_t elapsed(uint64_t since, uint64_t now) { return now > since ? now - since : 0; }

/* exp(-elapsed / decay): how much of the old estimate is left after elapsed nanoseconds. */
static double decay_factor(const px_balancer *b, uint64_t since, uint64_t now)
{
    return exp(-(double)elapsed(since, now) / (double)b->ewma.decay_ns);
}

/* tower's PeakEwma::load(): the estimate decayed toward zero since its last sample, times the requests it would have
 * in flight with this one. Without the factor a fast endpoint takes every request until the samples catch up. */
static double cost(const px_balancer *b, const slot *s, uint64_t now)
{
    return (double)s->ewma_ns * decay_factor(b, s->stamp_ns, now) * ((double)s->in_flight + 1.0);
}

int px_balancer_kind_parse(const char *name, px_balancer_kind *out)
{
    static const px_balancer_kind kinds[] = {PX_BALANCE_ROUND_ROBIN, PX_BALANCE_LEAST_LOADED, PX_BALANCE_P2C_PEAK_EWMA};
    for (size_t i = 0; name != NULL && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(name, px_balancer_kind_name(kinds[i])) == 0) {
            *out = kinds[i];
            return 0;
        }
    }
    return -EINVAL;
}

const char *px_balancer_kind_name(px_balancer_kind kind)
{
    switch (kind) {
    case PX_BALANCE_ROUND_ROBIN:
        return "round-robin";
    case PX_BALANCE_LEAST_LOADED:
        return "least-loaded";
    case PX_BALANCE_P2C_PEAK_EWMA:
        return "p2c";
    }
    return "unknown";
}

int px_balancer_create(px_balancer_kind kind, const px_ewma_config *ewma, uint64_t seed, px_balancer **out)
{
    px_ewma_config cfg = ewma ? *ewma : PX_EWMA_DEFAULTS;
    if ((unsigned)kind > PX_BALANCE_P2C_PEAK_EWMA || cfg.default_rtt_ns == 0 || cfg.decay_ns == 0)
        return -EINVAL;
    px_balancer *b = calloc(1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    b->kind = kind;
    b->ewma = cfg;
    b->rng = seed;
    *out = b;
    return 0;
}

void px_balancer_destroy(px_balancer *b)
{
    if (b == NULL)
        return;
    free(b->slots);
    free(b);
}

static slot *find_listed(px_balancer *b, const px_endpoint_addr *a)
{
    for (size_t i = 0; i < b->nslots; i++)
        if (occupied(&b->slots[i]) && px_endpoint_addr_equal(&b->slots[i].addr, a))
            return &b->slots[i];
    return NULL;
}

/* The lowest free slot that may be reused, else a new one at the end (the caller reserved room for it). */
static slot *take_free_slot(px_balancer *b)
{
    for (size_t i = 0; i < b->nslots; i++)
        if (!occupied(&b->slots[i]) && reusable(b->slots[i].gen))
            return &b->slots[i];
    assert(b->nslots < b->cap);
    b->slots[b->nslots].gen = 0; /* a slot never used: its first endpoint gets generation 1 */
    return &b->slots[b->nslots++];
}

int px_balancer_set_endpoints(px_balancer *b, const px_endpoint_addr *addrs, size_t n, uint64_t now_ns)
{
    /* First everything that can fail, with nothing changed yet: duplicates, then room for the new slots. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (px_endpoint_addr_equal(&addrs[i], &addrs[j]))
                return -EINVAL;
    for (size_t i = 0; i < b->nslots; i++)
        b->slots[i].listed = false;
    size_t added = 0, free_after = 0;
    for (size_t i = 0; i < n; i++) {
        slot *s = find_listed(b, &addrs[i]);
        if (s != NULL)
            s->listed = true;
        else
            added++;
    }
    for (size_t i = 0; i < b->nslots; i++) { /* free now, or freed below: either way a new endpoint may take it */
        const slot *s = &b->slots[i];
        if (!occupied(s) ? reusable(s->gen) : !s->listed && reusable(s->gen + 1))
            free_after++;
    }
    if (added > free_after && b->nslots + (added - free_after) > b->cap) {
        size_t cap = b->nslots + (added - free_after);
        if (cap > UINT32_MAX) /* a pick's slot number is 32 bits */
            return -ENOMEM;
        slot *grown = realloc(b->slots, cap * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        b->slots = grown;
        b->cap = cap;
    }

    /* Then the changes, which cannot fail. Removed endpoints leave: a new generation orphans their picks. */
    for (size_t i = 0; i < b->nslots; i++) {
        slot *s = &b->slots[i];
        if (occupied(s) && !s->listed)
            s->gen++;
    }
    for (size_t i = 0; i < n; i++) {
        if (find_listed(b, &addrs[i]) != NULL)
            continue;
        slot *s = take_free_slot(b);
        uint32_t gen = s->gen + 1;
        memset(s, 0, sizeof *s);
        s->addr = addrs[i];
        s->gen = gen;
        s->available = true;
        s->ewma_ns = b->ewma.default_rtt_ns;
        s->stamp_ns = now_ns;
    }
    return 0;
}

/* The available slot with the lowest in-flight count, scanning from the cursor so that equals take turns; with
 * least = false, simply the first available slot from the cursor (round-robin). -1 when none is available. */
static long scan_from_cursor(const px_balancer *b, bool least)
{
    long best = -1;
    for (size_t k = 0; k < b->nslots; k++) {
        size_t i = (b->cursor + k) % b->nslots;
        const slot *s = &b->slots[i];
        if (!occupied(s) || !s->available)
            continue;
        if (best < 0 || (least && s->in_flight < b->slots[best].in_flight))
            best = (long)i;
        if (!least)
            break;
    }
    return best;
}

/* The index of the k-th available slot (k from 0). */
static size_t nth_available(const px_balancer *b, size_t k)
{
    for (size_t i = 0;; i++)
        if (occupied(&b->slots[i]) && b->slots[i].available && k-- == 0)
            return i;
}

static long power_of_two_choices(px_balancer *b, uint64_t now_ns)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nslots; i++)
        n += occupied(&b->slots[i]) && b->slots[i].available;
    if (n < 2)
        return n == 1 ? (long)nth_available(b, 0) : -1;
    /* Two distinct ranks: draw the second among the n - 1 others and skip over the first. Drawing both from n would
     * compare an endpoint with itself 1/n of the time, and a slow endpoint "wins" every such comparison. */
    size_t ra = random_below(b, n), rb = random_below(b, n - 1);
    if (rb >= ra)
        rb++;
    size_t a = nth_available(b, ra), c = nth_available(b, rb);
    return (long)(cost(b, &b->slots[c], now_ns) < cost(b, &b->slots[a], now_ns) ? c : a);
}

int px_balancer_pick(px_balancer *b, uint64_t now_ns, px_pick *out)
{
    long i;
    if (b->kind == PX_BALANCE_P2C_PEAK_EWMA)
        i = power_of_two_choices(b, now_ns);
    else
        i = scan_from_cursor(b, b->kind == PX_BALANCE_LEAST_LOADED);
    if (i < 0)
        return -EHOSTUNREACH;
    slot *s = &b->slots[i];
    b->cursor = (size_t)i + 1;
    s->in_flight++;
    s->picks++;
    *out = (px_pick){.slot = (uint32_t)i, .gen = s->gen};
    return 0;
}

void px_balancer_done(px_balancer *b, px_pick p, uint64_t now_ns, uint64_t rtt_ns, bool ok)
{
    slot *s = lookup(b, p);
    if (s == NULL)
        return; /* the endpoint left (or its slot is someone else's now): nothing of ours to update */
    assert(s->in_flight > 0 && "px_balancer_done: this pick was already reported");
    s->in_flight--;
    if (ok)
        s->successes++;
    else
        s->failures++;
    uint64_t sample = rtt_ns;
    if (!ok && sample < s->ewma_ns)
        sample = s->ewma_ns; /* a fast failure says nothing good about the endpoint */
    if (sample > s->ewma_ns) {
        s->ewma_ns = sample; /* the peak: believe the worst at once */
    } else {
        /* A weighted mean of two values is between them: never above the old estimate, even after rounding. */
        double w = decay_factor(b, s->stamp_ns, now_ns);
        double next = (double)s->ewma_ns * w + (double)sample * (1.0 - w);
        s->ewma_ns = next < (double)s->ewma_ns ? (uint64_t)next : s->ewma_ns;
    }
    s->stamp_ns = now_ns;
}

void px_balancer_set_available(px_balancer *b, px_pick p, bool available)
{
    slot *s = lookup(b, p);
    if (s != NULL)
        s->available = available;
}

bool px_balancer_available(const px_balancer *b, px_pick p)
{
    const slot *s = lookup(b, p);
    return s != NULL && s->available;
}

size_t px_balancer_slots(const px_balancer *b) { return b->nslots; }

int px_balancer_endpoint(const px_balancer *b, uint32_t slot_index, px_endpoint_view *out)
{
    if (slot_index >= b->nslots || !occupied(&b->slots[slot_index]))
        return -ENOENT;
    const slot *s = &b->slots[slot_index];
    *out = (px_endpoint_view){
        .addr = s->addr,
        .pick = {.slot = slot_index, .gen = s->gen},
        .in_flight = s->in_flight,
        .ewma_ns = s->ewma_ns,
        .picks = s->picks,
        .successes = s->successes,
        .failures = s->failures,
        .available = s->available,
    };
    return 0;
}
