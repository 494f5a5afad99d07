/*
 * Test doubles for chapter 01: an allocator that counts and checks every call, and element types that record
 * every drop. Both exist so that a test can state ownership facts as numbers: "0 blocks live", "element #3
 * dropped exactly once", "no allocator call was made".
 *
 * Neither double hides a failure. The allocator stops the test at the first call that breaks the allocator
 * contract of rawvec.h (wrong size or alignment on dealloc/realloc, a pointer it never handed out, a zero-byte
 * request) with a message naming the call. The drop tracker keeps counting and records every bad drop; the
 * ASSERT_* macros below turn those records into failures at the line of the test that asks.
 */
#ifndef FERRITE_TEST_SUPPORT_H
#define FERRITE_TEST_SUPPORT_H

#include "ferrite_test.h"
#include "vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- counting allocator ------------------------------------------------------------------------------------ */

/** Live blocks one allocator can track; every test stays far below (one vector owns one block). */
#define CA_MAX_BLOCKS 32
/** Largest request served; anything above means a capacity-overflow check is missing. */
#define CA_MAX_REQUEST ((size_t)1 << 28)

typedef struct ca_block {
    void *ptr;
    size_t size; /* as last allocated or reallocated */
    size_t align;
} ca_block;

/*
 * Pass &ca.iface wherever an allocator is wanted; its ctx points back at the struct. Fresh blocks are filled
 * with 0xA5 (so "forgot to copy" reads garbage, not zeros), realloc always moves the block (so a stale pointer
 * is a use-after-free ASan reports), and freed blocks are scribbled before free().
 */
typedef struct counting_alloc {
    fv_allocator iface;
    ca_block live[CA_MAX_BLOCKS];
    size_t n_live;     /* blocks allocated and not yet freed */
    size_t live_bytes; /* their total size */
    size_t n_alloc;    /* alloc calls received, refused ones included */
    size_t n_realloc;  /* realloc calls received, refused ones included */
    size_t n_dealloc;  /* dealloc calls received */
    size_t n_refused;  /* alloc/realloc calls failed on purpose */
    size_t fail_at;    /* 0, or the value n_alloc + n_realloc reaches at the call to fail */
    bool fail_all;     /* refuse every alloc/realloc while set */
} counting_alloc;

void ca_init(counting_alloc *ca);
/* The nth alloc-or-realloc call from now returns NULL (n = 1: the very next one); later calls succeed. */
void ca_fail_nth(counting_alloc *ca, size_t n);
/* While on, every alloc and realloc returns NULL. */
void ca_fail_all(counting_alloc *ca, bool on);
/* alloc + realloc + dealloc calls so far, refused ones included. */
size_t ca_calls(const counting_alloc *ca);
/* Size (or alignment) of the live block at ptr; 0 when ptr is not the start of a live block. */
size_t ca_block_size(const counting_alloc *ca, const void *ptr);
size_t ca_block_align(const counting_alloc *ca, const void *ptr);

/* Fails unless every block allocated from ca has been freed. */
#define ASSERT_NO_LIVE_BLOCKS(ca)                             \
    ck_assert_msg((ca)->n_live == 0 && (ca)->live_bytes == 0, \
                  "leak: %zu block(s) of %zu byte(s) still allocated, expected 0 and 0", (ca)->n_live, (ca)->live_bytes)

/* Fails if ca received any call at all (alloc, realloc or dealloc). */
#define ASSERT_NO_ALLOCATOR_CALLS(ca)                                                                                      \
    ck_assert_msg(ca_calls(ca) == 0, "expected no allocator call, got %zu alloc, %zu realloc, %zu dealloc", (ca)->n_alloc, \
                  (ca)->n_realloc, (ca)->n_dealloc)

/* ---- drop tracking ------------------------------------------------------------------------------------------- */

/* Elements with an identity. Ids count up from 0 after track_reset(), so tests can name them literally. */
typedef struct tracked {
    uint32_t id;
    uint32_t tag; /* derived from id while the element is live, a different value once dropped */
} tracked;

/** Ids one test may create. */
#define TRACK_MAX 4096

/* size 8, align 4, drop = record the drop of that id. */
extern const fv_type tracked_type;
/* Zero-sized element types (align 1 and align 8) whose drop counts calls. */
extern const fv_type unit_type;
extern const fv_type unit8_type;
/* Plain data: no drop function. */
extern const fv_type u32_type;

/* Forgets every id, drop and error; call first in every test that uses tracked or unit elements. */
void track_reset(void);
/* A new live element with the next id. */
tracked track_new(void);
/* How many times the element with this id was dropped. */
size_t track_drops_of(uint32_t id);
/* Drops recorded since the reset (tracked and unit elements together; bad drops included). */
size_t track_total_drops(void);
/* The id of the k-th tracked drop since the reset (k from 0), or UINT32_MAX if there was none. */
uint32_t track_drop_order(size_t k);
/* Bad drops seen: an id dropped again, a slot holding no element, a NULL element pointer. */
size_t track_errors(void);
const char *track_first_error(void);
/* True when every id created since the reset was dropped exactly once and nothing else went wrong;
 * otherwise false, with the first problem described in why. */
bool track_each_dropped_once(char *why, size_t why_size);

#define ASSERT_NO_BAD_DROPS() \
    ck_assert_msg(track_errors() == 0, "%zu bad drop(s); first: %s", track_errors(), track_first_error())

#define ASSERT_EACH_DROPPED_ONCE()                                             \
    do {                                                                       \
        char why_[200];                                                        \
        ck_assert_msg(track_each_dropped_once(why_, sizeof why_), "%s", why_); \
    } while (0)

/* ---- vector helpers -------------------------------------------------------------------------------------------- */

/* Pushes n new tracked elements (ids from the tracker), failing the test at the first push that fails. Returns
 * the id of the first one. */
uint32_t push_tracked(fv_vec *v, size_t n);
/* Pushes the u32 values first, first + 1, ..., failing the test at the first push that fails. */
void push_u32s(fv_vec *v, uint32_t first, size_t n);
/* Resets the tracker, initialises ca, and makes *v a vector of tracked elements with ids 0 .. n-1 allocated from
 * ca, failing the test if any step fails. The test owns *v and must destroy it. */
void setup_tracked(fv_vec *v, counting_alloc *ca, size_t n);

/* Part 2's clean-up: drops v's elements and frees its buffer with fv_raw_free (part 1), leaving v empty. Part 2's
 * tests end with it rather than with fv_destroy, which part 3 writes, so that part 2 passes before part 3 is done. */
void release_vec(fv_vec *v);

/* Compare v's length and live slots (read straight from the buffer) with the expected ids or values. */
bool ids_are(const fv_vec *v, const uint32_t *ids, size_t n, char *why, size_t why_size);
bool u32s_are(const fv_vec *v, const uint32_t *values, size_t n, char *why, size_t why_size);

/* ASSERT_IDS(&v, 0, 2, 3): v holds exactly the elements with these ids, in this order. */
#define ASSERT_IDS(v, ...)                                                                                 \
    do {                                                                                                   \
        const uint32_t want_[] = {__VA_ARGS__};                                                            \
        char why_[200];                                                                                    \
        ck_assert_msg(ids_are((v), want_, sizeof want_ / sizeof want_[0], why_, sizeof why_), "%s", why_); \
    } while (0)

/* ASSERT_U32S(&v, 1, 2, 3): v holds exactly these values, in this order. */
#define ASSERT_U32S(v, ...)                                                                                 \
    do {                                                                                                    \
        const uint32_t want_[] = {__VA_ARGS__};                                                             \
        char why_[200];                                                                                     \
        ck_assert_msg(u32s_are((v), want_, sizeof want_ / sizeof want_[0], why_, sizeof why_), "%s", why_); \
    } while (0)

/* The dangling pointer an empty buffer of this alignment must hold. */
static inline void *DANGLING(size_t align) { return (void *)(uintptr_t)align; }

#endif
