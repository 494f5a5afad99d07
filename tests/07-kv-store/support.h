/*
 * Shared set-up for chapter 07's tests: a scratch directory per test (under $TMPDIR, removed when the test's
 * process exits), small file helpers that bypass the store (to tear, cut and flip the bytes it wrote), and a
 * deterministic random generator so that a failing run can be replayed from its seed.
 */
#ifndef FERRITE_TEST_SUPPORT_07_H
#define FERRITE_TEST_SUPPORT_07_H

#include "ferrite_test.h"
#include "io.h"
#include "kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Creates a fresh directory ($TMPDIR or /tmp, "ferrite-ch07-XXXXXX") and returns its path, valid until the process
 * exits; the directory and everything in it are removed then (atexit). Fails the test when it cannot.
 */
const char *scratch_dir(void);

/** Writes "dir/name" into @p out (of @p size bytes); fails the test when it does not fit. */
void path_join(char *out, size_t size, const char *dir, const char *name);

/** The size of the file at @p path, read with stat(2); fails the test when it is missing. */
uint64_t file_size(const char *path);
/** Reads the whole file at @p path into a malloc'd buffer (the caller frees it); *len gets its size. */
unsigned char *file_read(const char *path, size_t *len);
/** Replaces the contents of the file at @p path with @p len bytes of @p data. */
void file_write(const char *path, const void *data, size_t len);
/** Cuts the file at @p path to @p len bytes. */
void file_truncate(const char *path, uint64_t len);
/** Flips bit @p bit (0..7) of the byte at @p offset of the file at @p path. */
void file_flip_bit(const char *path, uint64_t offset, int bit);

/** xorshift64*: a small generator with a seed, the same sequence on every machine. */
typedef struct test_rng {
    uint64_t state;
} test_rng;
/** A generator started from @p seed (any value; 0 is replaced). */
test_rng rng_new(uint64_t seed);
/** The next 64 random bits. */
uint64_t rng_next(test_rng *r);
/** A number in [0, n), n > 0. */
uint64_t rng_below(test_rng *r, uint64_t n);

/** The largest record rec_make() writes. */
#define REC_MAX 280
/**
 * Writes the test record of @p id into @p buf (REC_MAX bytes) and returns its length (12 to REC_MAX): the id, a
 * length that varies with it, and bytes derived from both, so that any record read back can be checked whole.
 */
size_t rec_make(uint64_t id, unsigned char *buf);
/** True when @p rec is exactly what rec_make() writes for some id, stored in *id. */
bool rec_parse(const void *rec, size_t len, uint64_t *id);

/** The ids of the records a replay handed out, in order; `garbage` counts records that were not rec_make's. */
typedef struct rec_list {
    uint64_t *ids;
    size_t n, cap;
    size_t garbage;
} rec_list;
/** A kv_wal_replay_fn appending to the rec_list at @p ctx. */
kv_status rec_collect(const void *rec, size_t len, void *ctx);
void rec_list_free(rec_list *l);

/** Milliseconds on the monotonic clock. */
uint64_t now_ms(void);

/** The number in the environment variable @p name (decimal, or 0x hex), @p fallback when it is unset or empty. */
uint64_t env_number(const char *name, uint64_t fallback);

/** What a forked writer reports through a pipe, one 8-byte value per acknowledged write. */
typedef void ack_fn(uint64_t ack, void *ctx);

/**
 * Reads acks from @p fd and hands each to @p fn until @p want of them arrived (want < 0: until end of file) or the
 * deadline (now_ms()) passed; *count counts them. Bytes of an ack cut between two reads are kept for the next call,
 * so one reader serves a whole run of one pipe; at end of file that remainder is dropped.
 */
void ack_read(int fd, ack_fn *fn, void *ctx, long want, long *count, uint64_t deadline);

/**
 * For a forked writer that the test kills at random moments, called first thing in the child: every descriptor it
 * inherited except stdin, stdout, stderr and @p ack_fd is pointed at /dev/null (dup2, so no number is freed for a
 * file the writer opens later). Check's message file is among them: every ck_assert that passes appends a record to
 * it (faultio asserts on each allocation), and a writer killed in the middle of that write would leave half a record,
 * which the runner cannot read past ("check_pack.c: Bad message type arg"). Exits with status 8 when it cannot.
 */
void leave_test_channels(int ack_fd);

#endif
