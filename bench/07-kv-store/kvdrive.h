/*
 * Chapter 07 benchmark: what kvdrive.c (the workload) asks of an engine. One file per engine implements it
 * (eng_ferrite.c, eng_lmdb.c, eng_leveldb.c, eng_sqlite.c) and is linked with kvdrive.c into a program of its own,
 * so that an engine that does not build leaves the others measurable.
 *
 * Every function returns 0 on success; on failure it prints why on standard error and returns -1, and the driver
 * stops. Threads: eng_open and eng_close run on the main thread; each worker thread calls eng_thread_begin once,
 * then eng_put and eng_get with its own context, then eng_thread_end.
 */
#ifndef KVDRIVE_H
#define KVDRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** The engine's name, as the driver's output lines give it. */
extern const char *const eng_name;

/** Opens (creating) the store in the existing, empty directory @p dir. @p durable: every acknowledged put is on
 *  stable storage (a sync per commit, or per group of commits); otherwise written to the file, never synced. */
int eng_open(const char *dir, bool durable, void **db);
/** Makes the calling thread's context (a connection, a read transaction, a reusable buffer). */
int eng_thread_begin(void *db, void **ctx);
/** Sets @p key to @p value: one write, one commit. */
int eng_put(void *db, void *ctx, const char *key, size_t key_len, const char *value, size_t value_len);
/** Reads @p key; *found tells whether it was there. */
int eng_get(void *db, void *ctx, const char *key, size_t key_len, bool *found);
/** Frees the thread's context. */
void eng_thread_end(void *db, void *ctx);
/** Appends ` key=value` fields of the engine's own counters to the current output line (nothing if it has none). */
void eng_counters(void *db, FILE *out);
/** Closes the store: everything written is in its files afterwards. */
int eng_close(void *db);

#endif /* KVDRIVE_H */
