/**
 * @file ft_pg.h
 * @brief A throwaway PostgreSQL cluster for a chapter's tests: mk/pgtmp.sh, started and stopped from the test binary.
 *
 * A chapter whose code talks to PostgreSQL tests it against a real server, started once per test binary, before the
 * tests run, in a folder of its own and on a Unix socket only (mk/pgtmp.sh says how). This helper runs that script
 * (fork and exec; it does not link libpq, since every file of tests/lib is linked into every chapter's test binary)
 * and reads the one line it prints, the libpq connection string.
 *
 * Use, in the chapter's test support (tests/NN-name/support.c):
 *
 *     static char pg_dir[FT_PG_DIR_MAX], pg_conninfo[FT_PG_CONNINFO_MAX];
 *     ...once, in the runner process, before Check forks the first test (an FT_SETUP function, ferrite_test.h):
 *     if (!ft_pg_scratch_dir(pg_dir, sizeof pg_dir) ||
 *         ft_pg_start(pg_dir, pg_conninfo, sizeof pg_conninfo) != FT_PG_OK) ...fail every test, with the reason
 *     ...each test, in its own forked process: PQconnectdb(pg_conninfo)
 *
 * The tests' processes inherit pg_conninfo with the rest of the runner's memory. The cluster is stopped when the
 * process that started it exits (an atexit handler, which does nothing in a test's forked process), or earlier with
 * ft_pg_stop(). A runner that dies without exiting (a signal, SIGKILL included, or _exit) takes the cluster with it
 * all the same: the script's watchdog sees the runner's end of a pipe close and stops the server within a moment.
 *
 * Functions here are for the runner process only, single-threaded, before the tests run or after they ended; a
 * call from a test's process is refused (FT_PG_ERR_BUSY), so that no test can stop the cluster the others share.
 * The script is `$FT_PGTMP`, default `mk/pgtmp.sh` (the test binary runs from the workbook's root, under make and
 * under the grading harness alike); its messages go to the test binary's stderr.
 */
#ifndef FT_PG_H
#define FT_PG_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>

/** Room for a cluster's folder: mk/pgtmp.sh refuses longer ones (a Unix socket's path is at most 107 bytes). */
#define FT_PG_DIR_MAX 108
/** Room for the connection string mk/pgtmp.sh prints for any folder it accepts. */
#define FT_PG_CONNINFO_MAX 256
/** Seconds a start or a stop may take, template made on the way included, before the script is stopped. */
#define FT_PG_TIMEOUT_S 180

/** What ft_pg_start() and ft_pg_stop() report. */
typedef enum {
    FT_PG_OK = 0,
    FT_PG_ERR_MISSING = -1, /**< PostgreSQL is not installed: the script named the Debian package on stderr */
    FT_PG_ERR_FAILED = -2,  /**< the script failed and said why on stderr; a failed start leaves nothing running */
    FT_PG_ERR_TIMEOUT = -3, /**< the script did not end within FT_PG_TIMEOUT_S and was stopped */
    FT_PG_ERR_SYSTEM = -4,  /**< a pipe, fork or exec failed; errno says which way */
    FT_PG_ERR_SIZE = -5,    /**< the connection string did not fit in the caller's buffer; the cluster was stopped */
    FT_PG_ERR_BUSY = -6,    /**< called from a test's process, for a folder already started, or past 4 clusters */
} ft_pg_status;

/**
 * @brief Starts a throwaway cluster in @p dir and writes its libpq connection string to @p conninfo.
 *
 * Runs `mk/pgtmp.sh start DIR --watch` and waits for it (at most FT_PG_TIMEOUT_S): @p dir is created (a server left
 * running there by an earlier, killed run is stopped first), the cluster copied from the machine's template (made on
 * the first start if the chapter's build did not make it) and started. On success @p conninfo holds one line without
 * its newline, such as `host=/tmp/ferrite-pg-41 port=5432 user=ferrite dbname=postgres`; on failure it is empty and
 * no server is left running. The cluster belongs to the calling process until ft_pg_stop() or its exit.
 *
 * @param dir      the cluster's folder: absolute or relative to the working directory, at most FT_PG_DIR_MAX - 1
 *                 bytes, writable (under the grading sandbox only $TMPDIR is); copied, not kept
 * @param conninfo where the connection string goes (FT_PG_CONNINFO_MAX bytes are always enough)
 * @param size     bytes at @p conninfo
 * @return FT_PG_OK, or why not (ft_pg_status_text() says it in words)
 *
 * @rust A test fixture that owns a child process, as `testcontainers`' `Container` or a `OnceLock<Child>` of a
 *       `postgres` spawned with `std::process::Command`, its `Drop` killing it; here `atexit` and a watchdog pipe.
 */
FT_MUST_USE ft_pg_status ft_pg_start(const char *dir, char *conninfo, size_t size);

/**
 * @brief Stops the cluster in @p dir and removes the folder.
 *
 * Runs `mk/pgtmp.sh stop DIR` and waits until the server and its watchdog have ended. A folder with no cluster
 * running is not an error; one this process did not start (left by a killed run) is stopped all the same.
 *
 * @param dir the folder given to ft_pg_start()
 * @return FT_PG_OK, or why not
 *
 * @rust `drop(container)`: the fixture's `Drop`, called early.
 */
FT_MUST_USE ft_pg_status ft_pg_stop(const char *dir);

/**
 * @brief A folder for a cluster that no other test binary uses: `$TMPDIR/ferrite-pg-<pid>` (`/tmp` without TMPDIR).
 *
 * $TMPDIR is the one writable place in the grading sandbox, where it is private to the run; under `make check` the
 * process id keeps two test binaries that run at once apart.
 *
 * @param dir  where the path goes
 * @param size bytes at @p dir
 * @return false, with @p dir empty, when the path would not fit or would be too long for a socket's path
 *
 * @rust `tempfile::tempdir()`, named after the process instead of at random.
 */
FT_MUST_USE bool ft_pg_scratch_dir(char *dir, size_t size);

/**
 * @brief What @p status means, in words, for a test's failure message.
 *
 * @return a static string
 *
 * @rust `impl Display for Error`.
 */
const char *ft_pg_status_text(ft_pg_status status);

#endif /* FT_PG_H */
