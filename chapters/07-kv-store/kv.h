/**
 * @file kv.h
 * @brief Chapter 07: what every part of the key-value store shares — the prefix, the status type, the one error
 *        convention.
 *
 * **Prefix.** `kv_` for every name of the chapter, `KV_` for its constants.
 *
 * **Error convention.** Every fallible function returns a ::kv_status and is marked FT_MUST_USE: ::KV_OK (0) on
 * success, a negative value on failure, a positive value for an answer that is not an error (::KV_NOT_FOUND).
 * Results travel through out-parameters, which a function writes only on ::KV_OK unless its contract says more.
 * errno never leaves the file-system layer (io.h): io_posix.c turns it into a ::kv_status in exactly one place.
 *
 * **Durability words.** A write is *acknowledged* when the call that made it returns ::KV_OK. What an acknowledged
 * write promises depends on the sync policy (wal.h); with ::KV_SYNC_ALWAYS it is on stable storage, and no crash,
 * power cut or torn tail may lose it afterwards.
 */
#ifndef FERRITE_KV_H
#define FERRITE_KV_H

#include "ferrite.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/**
 * @brief The outcome of every fallible call of the chapter.
 * @rust `Result<T, kvs::Error>` with an error enum in the style of TiKV's `engine_traits::Error` (`Io(io::Error)`,
 *       `Corruption`, ...), and `Option<T>` for ::KV_NOT_FOUND
 */
typedef enum kv_status {
    KV_TODO = -99,            /**< returned by the exercise skeleton: this function is not written yet */
    KV_OK = 0,                /**< done */
    KV_NOT_FOUND = 1,         /**< the key (or file) is not there; not an error @rust `Ok(None)` */
    KV_IO_ERROR = -1,         /**< the file system failed (EIO and the like); what was not acknowledged may be lost
                                   @rust `Err(Error::Io(e))` */
    KV_NO_SPACE = -2,         /**< the disk is full (ENOSPC, EDQUOT): the write was not made durable, and not acknowledged
                                   @rust `Err(Error::Io(e))` with `e.kind() == ErrorKind::StorageFull` */
    KV_CORRUPT = -3,          /**< stored bytes fail their check (CRC, length, magic) where a clean end was required
                                   @rust `Err(Error::Corruption(String))` */
    KV_NO_MEMORY = -4,        /**< an allocation failed; nothing was changed @rust `Vec::try_reserve`'s `Err` */
    KV_INVALID = -5,          /**< an argument breaks the contract (NULL, too long, a bad flag) @rust `Err(InvalidInput)` */
    KV_CLOSED = -6,           /**< the object was closed, or failed before and refuses further writes (a poisoned log)
                                   @rust `Err(Error::Closed)`; RocksDB's background error that stops all writes */
    KV_EXISTS = -7,           /**< a file to be created exclusively is already there @rust `ErrorKind::AlreadyExists` */
    KV_CONFLICT = -8,         /**< an optimistic transaction lost: a key it read was written after its snapshot; nothing of
                                   it was applied, and the caller may run it again @rust TiKV's `Error::WriteConflict` */
    KV_TIMEOUT = -20,         /**< a request's deadline passed before its reply came (client.h); a request that may
                                   have been applied is ::KV_OUTCOME_UNKNOWN instead
                                   @rust `scylla::transport::errors::QueryError::RequestTimeout` */
    KV_OUTCOME_UNKNOWN = -21, /**< a non-idempotent request left, and its reply never came: it may or may not have
                                   been applied, and it is not sent again (at most once)
                                   @rust the driver's error with `RetryDecision::DontRetry` for a non-idempotent
                                   statement */
} kv_status;

/**
 * @brief A growable byte buffer the caller owns, for values copied out of the store.
 * A function that fills one replaces its contents (`len`) and grows it (`data`, `cap`) as needed; one buffer can be
 * reused for many calls, and it is freed once with kv_buf_free(). Start from `kv_buf b = {0};`.
 * @rust `Vec<u8>` passed as `&mut Vec<u8>` and refilled (`clear` + `extend_from_slice`)
 */
typedef struct kv_buf {
    uint8_t *data; /**< owned by the buffer; NULL until the first fill */
    size_t len;    /**< bytes in use */
    size_t cap;    /**< bytes allocated */
} kv_buf;

/**
 * @brief Replaces the contents of @p b with @p len bytes of @p src, growing it when it is too small.
 * @param b borrowed for the call.
 * @param src borrowed; may be NULL when @p len is 0. Must not point into @p b itself.
 * @param len its length.
 * @return ::KV_OK; ::KV_NO_MEMORY (the buffer is as it was).
 * @rust `v.clear(); v.extend_from_slice(src)` with `try_reserve`
 */
FT_MUST_USE static inline kv_status kv_buf_set(kv_buf *b, const void *src, size_t len)
{
    if (len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < len)
            cap = cap > SIZE_MAX / 2 ? len : cap * 2;
        uint8_t *grown = realloc(b->data, cap);
        if (grown == NULL)
            return KV_NO_MEMORY;
        b->data = grown;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->data, src, len);
    b->len = len;
    return KV_OK;
}

/**
 * @brief Frees what @p b holds and leaves it empty, ready to be filled again.
 * @param b borrowed; its bytes are freed.
 * @rust `drop(v)`
 */
static inline void kv_buf_free(kv_buf *b)
{
    free(b->data);
    *b = (kv_buf){0};
}

#endif /* FERRITE_KV_H */
