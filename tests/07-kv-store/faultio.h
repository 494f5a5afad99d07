/*
 * The tests' file system: io.h's interface over the real one (kv_io_posix), which remembers what was made durable
 * and can lose the rest, the way RocksDB's FaultInjectionTestEnv and SQLite's test VFS (test6.c's crash simulation)
 * do.
 *
 * What it remembers. A file's contents are durable as of the last successful sync of that file; a name in a
 * directory (a file created, renamed, removed, a directory made) is durable as of the last sync_dir of that
 * directory. Files that existed before the first call that touched them count as durable, contents and name.
 * Paths are compared as strings: spell a directory the same way in sync_dir as in the paths under it.
 *
 * faultio_power_cut() is the moment the machine loses power: every later call fails with KV_IO_ERROR (close still
 * frees its handle), and the files on disk are put back to their durable state at once — unsynced bytes gone,
 * an unsynced truncate undone, an unsynced create, rename or remove undone. Reopen them with a fresh faultio (or
 * kv_io_posix): that is the reboot.
 *
 * Syncs are not passed to the disk (the durable copy is faultio's own), so tests that sync thousands of times stay
 * fast; faultio_set_sync_delay_us() brings a disk's latency back where a test needs one (group commit).
 *
 * Thread-safe: one mutex around every call, held across the real I/O.
 */
#ifndef FERRITE_TEST_FAULTIO_07_H
#define FERRITE_TEST_FAULTIO_07_H

#include "io.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct faultio faultio;

/** A fresh fault layer over kv_io_posix(); never NULL (fails the test on no memory). */
faultio *faultio_new(void);
/** Its io.h interface, valid until faultio_free(). */
kv_io *faultio_io(faultio *f);
/** Frees the layer; every file it opened must be closed first. Does not touch the disk. */
void faultio_free(faultio *f);

/** Bytes that appends (and truncates that grow a file) may still add; -1: no limit (the default). An append past
 *  the budget writes the part that fits and fails with KV_NO_SPACE; a truncate that shrinks a file gives back. */
void faultio_set_space(faultio *f, int64_t bytes);
/** The next @p n file syncs fail with KV_IO_ERROR and make nothing durable. */
void faultio_fail_syncs(faultio *f, int n);
/** Every file sync takes @p us microseconds more (a disk's flush latency), with the layer's mutex released. */
void faultio_set_sync_delay_us(faultio *f, unsigned us);
/** While on, a file sync waits (before anything is durable) until it is turned off or the power is cut. */
void faultio_hold_syncs(faultio *f, bool on);
/** Syncs waiting in faultio_hold_syncs() right now. */
int faultio_syncs_held(faultio *f);

/** File syncs that succeeded. */
uint64_t faultio_syncs(faultio *f);
/** Directory syncs that succeeded. */
uint64_t faultio_dir_syncs(faultio *f);
/** Appends that succeeded. */
uint64_t faultio_appends(faultio *f);

/** Cuts the power: every later call fails, and the disk goes back to its durable state (see above). */
void faultio_power_cut(faultio *f);

#endif
