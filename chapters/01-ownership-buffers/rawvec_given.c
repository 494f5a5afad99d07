/*
 * rawvec_given.c — chapter 01, part 1: the status names and the global allocator.   (given: read it, do not edit)
 *
 * The two functions of rawvec.h that are plumbing rather than the lesson. They exist once, here: chapter.conf
 * lists this file under `given`, so it is built from chapters/ and linked with the student's code and with the
 * reference solution alike. Read the allocator's notes on over-alignment: the raw buffer you write hands every
 * request to an fv_allocator, and this one shows what honouring its contract takes.
 */
#include "rawvec.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* ---- statuses -------------------------------------------------------------------------------------------------- */

const char *fv_status_str(fv_status status)
{
    switch (status) {
    case FV_OK:
        return "ok";
    case FV_ERR_CAPACITY_OVERFLOW:
        return "capacity overflow";
    case FV_ERR_ALLOC:
        return "allocation failed";
    case FV_ERR_BOUNDS:
        return "index out of bounds";
    case FV_ERR_LAYOUT:
        return "invalid layout";
    case FV_ERR_TODO:
        return "not implemented yet";
    }
    return "unknown status";
}

/* ---- the global allocator -----------------------------------------------------------------------------------
 *
 * malloc's blocks are aligned for max_align_t (16 bytes on x86-64 and AArch64). A layout whose size is a multiple
 * of an alignment up to that is served by plain malloc/realloc. Above it ("over-aligned", e.g. a 64-byte cache
 * line or a 4096-byte page), two traps wait:
 *   - aligned_alloc wants a size that is a multiple of the alignment, so the request is rounded up here — only
 *     here, because callers must deallocate with the size *they* asked for, never our rounded one;
 *   - realloc keeps the contents but not the alignment, so growing means allocate, copy, free (as Rust's
 *     `System` allocator does for large alignments).
 * free() ignores size and alignment; they are in the interface for allocators that need them.
 */

#define FV_MALLOC_ALIGN alignof(max_align_t)

static void *global_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    if (align <= FV_MALLOC_ALIGN)
        return malloc(size);
    /* Round size up to a multiple of align; refuse if the rounding itself would wrap. */
    if (size > SIZE_MAX - (align - 1))
        return NULL;
    size_t rounded = (size + align - 1) & ~(align - 1);
    return aligned_alloc(align, rounded);
}

static void *global_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    if (align <= FV_MALLOC_ALIGN)
        return realloc(ptr, new_size);
    void *fresh = global_alloc(ctx, new_size, align);
    if (fresh == NULL)
        return NULL; /* the old block is untouched, as the interface promises */
    /* SAFETY: both blocks hold at least min(old, new) bytes (non-zero by contract) and are distinct allocations. */
    memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
    free(ptr);
    return fresh;
}

static void global_dealloc(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    free(ptr);
}

static const fv_allocator global_allocator = {global_alloc, global_realloc, global_dealloc, NULL};

const fv_allocator *fv_global_allocator(void) { return &global_allocator; }
