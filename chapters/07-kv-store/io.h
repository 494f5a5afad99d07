/**
 * @file io.h
 * @brief Chapter 07: the file-system interface every byte of the store goes through, so that tests can swap it.
 *
 * The store never calls open(2), write(2) or fsync(2) itself: it calls through a ::kv_io, a struct of function
 * pointers. kv_io_posix() (io_posix.c, given) is the real file system. The tests wrap it in a layer of their own
 * (tests/07-kv-store/faultio.h) that remembers what was made durable and, at a simulated power cut, throws away
 * everything that was not — the way RocksDB's `FaultInjectionTestEnv` and SQLite's test VFS do.
 *
 * **What is durable** (Linux, ext4/xfs semantics, and what the fault layer enforces):
 * - the bytes of a file, once ::kv_io::sync on that file returned ::KV_OK (fdatasync);
 * - a name in a directory (a create, a rename, a remove), once ::kv_io::sync_dir on that directory returned ::KV_OK.
 *   Syncing a new file does not make its name durable: a file created, written and synced, but whose directory was
 *   never synced, can be gone after a power cut.
 *
 * **Ownership.** A ::kv_io is borrowed by everything that uses it and must outlive every file it opened. A
 * ::kv_file is owned by the caller of ::kv_io::open until it is given to ::kv_io::close (exactly once, even when a
 * call on it failed). Paths are borrowed for the call only. Buffers are borrowed for the call only.
 *
 * **Threads.** The functions of one ::kv_io may be called from several threads at once, on different files. Calls
 * on one ::kv_file must not overlap (the caller serialises them): a file is `Send`, not `Sync`.
 *
 * **Errors.** Every function returns ::KV_OK or a negative ::kv_status; errno does not leak out of an
 * implementation (io_posix.c maps ENOSPC/EDQUOT to ::KV_NO_SPACE, ENOENT to ::KV_NOT_FOUND, EEXIST to ::KV_EXISTS,
 * ENOMEM to ::KV_NO_MEMORY, the rest to ::KV_IO_ERROR).
 */
#ifndef FERRITE_KV_IO_H
#define FERRITE_KV_IO_H

#include "kv.h"

#include <stddef.h>
#include <stdint.h>

/**
 * @brief The file-system interface (defined below): a name for `struct kv_io`, so that its members can take one.
 */
typedef struct kv_io kv_io;

/**
 * @brief An open file. Each implementation's own handle begins with this struct (the rest of it is private), so a
 *        call can find its way back: `f->io->append(f, ...)`.
 * @rust `std::fs::File` (RocksDB: `WritableFile` / `RandomAccessFile`)
 */
typedef struct kv_file {
    kv_io *io; /**< read-only: the interface that opened this file, and that must close it */
} kv_file;

/**
 * @brief Flags for ::kv_io::open, or-ed together.
 * @rust `std::fs::OpenOptions` (`.read(true)`, `.append(true)`, `.create(true)`, `.create_new(true)`,
 *       `.truncate(true)`)
 */
typedef enum kv_open_flags {
    KV_OPEN_READ = 1,   /**< read_at allowed (always allowed; the flag documents intent) */
    KV_OPEN_APPEND = 2, /**< append, truncate and sync allowed; writes always go to the end */
    KV_OPEN_CREATE = 4, /**< create the file when it is missing (its name is durable only after sync_dir) */
    KV_OPEN_EXCL = 8,   /**< with ::KV_OPEN_CREATE: fail with ::KV_EXISTS when the file is already there */
    KV_OPEN_TRUNC = 16, /**< with ::KV_OPEN_APPEND: empty the file on open */
} kv_open_flags;

/**
 * @brief Called once per entry by ::kv_io::list_dir, in no particular order, never for "." or "..".
 * @param name the entry's name (no directory part), borrowed for this call only.
 * @param ctx the pointer given to list_dir.
 * @return ::KV_OK to go on; anything else stops the listing, and list_dir returns it.
 * @rust the body of `for entry in std::fs::read_dir(dir)? { ... }`
 */
typedef kv_status kv_list_fn(const char *name, void *ctx);

/**
 * @brief The file-system interface: a table of functions, like RocksDB's `Env` / `FileSystem` or SQLite's VFS.
 *        Implementations embed it as the first member of their own struct and find themselves from the pointer.
 * @rust a `trait FileSystem: Send + Sync` with a `std::fs` implementation and a fault-injecting one for tests
 *       (RocksDB's `Env` and `FaultInjectionTestEnv`)
 */
struct kv_io {
    /**
     * @brief Opens @p path with @p flags (::kv_open_flags).
     * @param[out] out the file, the caller's until close; NULL on failure.
     * @return ::KV_OK, ::KV_NOT_FOUND (missing, no ::KV_OPEN_CREATE), ::KV_EXISTS, ::KV_INVALID, ::KV_NO_MEMORY,
     *         ::KV_NO_SPACE, ::KV_IO_ERROR.
     * @rust `OpenOptions::new().read(true).append(true).create(true).open(path)`
     */
    kv_status (*open)(kv_io *io, const char *path, unsigned flags, kv_file **out);

    /**
     * @brief Reads up to @p len bytes at @p offset into @p buf; fewer only at the end of the file.
     * @param[out] got the bytes read: @p len, or fewer when the file ends first (0 at or past the end).
     * @rust `std::os::unix::fs::FileExt::read_at` in a loop (RocksDB: `RandomAccessFile::Read`)
     */
    kv_status (*read_at)(kv_file *f, uint64_t offset, void *buf, size_t len, size_t *got);

    /**
     * @brief Appends @p len bytes at the end of the file. Not durable until sync. On failure (::KV_NO_SPACE,
     *        ::KV_IO_ERROR) a prefix of the bytes may have been written: the caller truncates back or gives up
     *        on the file.
     * @rust `file.write_all(buf)` on a file opened with `.append(true)` (RocksDB: `WritableFile::Append`)
     */
    kv_status (*append)(kv_file *f, const void *buf, size_t len);

    /**
     * @brief The file's current size in bytes, written bytes included whether synced or not.
     * @rust `file.metadata()?.len()`
     */
    kv_status (*size)(kv_file *f, uint64_t *out);

    /**
     * @brief Makes the file's data durable (fdatasync): when it returns ::KV_OK, every byte appended before the
     *        call survives a power cut. A failed sync means the data may be lost: never acknowledge on a failure,
     *        and never retry as if the bytes were still pending (the kernel may have dropped them).
     * @rust `file.sync_data()` (RocksDB: `WritableFile::Sync`)
     */
    kv_status (*sync)(kv_file *f);

    /**
     * @brief Cuts (or extends with zeros) the file to @p size bytes. Durable only after sync.
     * @rust `file.set_len(size)`
     */
    kv_status (*truncate)(kv_file *f, uint64_t size);

    /**
     * @brief Closes the file and frees its handle, which is invalid afterwards, whatever the result. Closing does
     *        not sync.
     * @rust `drop(file)` (which ignores errors; here close's error is returned)
     */
    kv_status (*close)(kv_file *f);

    /**
     * @brief Renames @p from to @p to atomically, replacing @p to if it exists. Durable only after sync_dir of the
     *        directories involved.
     * @rust `std::fs::rename(from, to)` (RocksDB: `Env::RenameFile`)
     */
    kv_status (*rename)(kv_io *io, const char *from, const char *to);

    /**
     * @brief Removes the file @p path (::KV_NOT_FOUND when missing). Durable only after sync_dir of its directory.
     * @rust `std::fs::remove_file(path)` (RocksDB: `Env::DeleteFile`)
     */
    kv_status (*remove)(kv_io *io, const char *path);

    /**
     * @brief Makes the entries of directory @p dir durable (open it, fsync, close): the creates, renames and
     *        removes made in it before the call.
     * @rust `std::fs::File::open(dir)?.sync_all()` (RocksDB: `Directory::Fsync`)
     */
    kv_status (*sync_dir)(kv_io *io, const char *dir);

    /**
     * @brief Calls @p fn for each entry of directory @p dir; stops early when @p fn returns anything but ::KV_OK.
     * @return ::KV_OK, what @p fn returned, ::KV_NOT_FOUND (no such directory), ::KV_IO_ERROR.
     * @rust `std::fs::read_dir(dir)` (RocksDB: `Env::GetChildren`)
     */
    kv_status (*list_dir)(kv_io *io, const char *dir, kv_list_fn *fn, void *ctx);

    /**
     * @brief Creates directory @p dir (mode 0755); ::KV_EXISTS when it is already there. Durable only after
     *        sync_dir of its parent.
     * @rust `std::fs::create_dir(dir)` (RocksDB: `Env::CreateDir`)
     */
    kv_status (*make_dir)(kv_io *io, const char *dir);
};

/**
 * @brief The real file system (open, pread, write, fdatasync, ftruncate, rename, unlink, fsync of a directory,
 *        opendir, mkdir). A single static instance with no state: it needs no cleanup.
 * @rust `std::fs` itself (RocksDB: `Env::Default()`)
 */
kv_io *kv_io_posix(void);

#endif /* FERRITE_KV_IO_H */
