/**
 * @file server.h
 * @brief Chapter 07, part 5: the store as a network server that speaks RESP2 (resp.h), so that redis-cli and
 *        redis-benchmark drive it unchanged.
 *
 * **Prefix and errors.** `kv_server_`; fallible calls return a ::kv_status (kv.h).
 *
 * **One thread per connection.** The store's writes block until they are durable (store.h), and its group commit
 * only pays off when many writers wait at once: one fsync then acknowledges all of them. A thread per connection
 * gives exactly that with plain blocking code — each connection's write waits in the log while the others go on —
 * and no command needs to be cut into callbacks. The cost is a stack (8 MiB of address space, a few pages touched)
 * and a kernel thread per client, and a context switch per request; that is why the number of connections is
 * bounded (`max_clients`). redis itself runs one event loop and pays for durability once per loop turn instead;
 * an event loop plus a pool of writer threads would scale to more idle clients, at the price of the callbacks.
 *
 * **The connection limit.** The accepting thread counts live connections. One over `max_clients` is accepted,
 * told `-ERR max number of clients reached` and closed, as redis does: the client learns why, and the server's
 * memory and threads stay bounded however many connect (backpressure at the door).
 *
 * **Slow readers.** A client that sends commands but never reads the replies fills its socket's buffers; the
 * thread's send() then waits. After 30 s without progress (SO_SNDTIMEO) the connection is dropped, so that neither
 * the thread nor a kv_server_stop() waits for ever.
 *
 * **Pipelining and group commit.** A client may send many commands before reading a reply. The connection's
 * thread reads what has arrived, runs every whole command in it in order and sends all their replies in one write:
 * replies come back in the order of the commands (head-of-line order — one slow command holds back the replies
 * behind it). Consecutive SETs of one read are not written one by one: they are gathered into one ::kv_batch and
 * written with one kv_store_write() (one log record, one sync), and only then are their `+OK`s added to the
 * output. This is redis's own trick for `appendfsync always`: one AOF write and fsync per event-loop turn, before
 * any reply of that turn leaves. Any other command first writes out the SETs gathered before it, so that it sees
 * them, and a failed write is never answered `+OK`.
 *
 * **Commands.** PING [msg], ECHO msg, GET, SET key value, DEL key..., EXISTS key..., INCR, SCAN cursor [MATCH
 * pattern] [COUNT n], DBSIZE, MULTI, EXEC, DISCARD, WATCH key..., UNWATCH, INFO, CONFIG GET name, COMMAND, QUIT.
 * Replies and error texts follow redis's. DEL and INCR are read-modify-writes done in an optimistic transaction
 * (store.h), run again on ::KV_CONFLICT, so that DEL's count is exact and no increment is lost.
 *
 * **Transactions.** WATCH starts a transaction (kv_txn_begin()) when the connection has none and watches each key
 * (kv_txn_watch()); while it is open, a GET or EXISTS outside MULTI reads through it. MULTI queues the commands
 * that follow (`+QUEUED`); a command that cannot be queued (unknown, wrong arity) is answered with its error and
 * makes the EXEC fail with `-EXECABORT`. EXEC runs the queue in the transaction and commits: when a watched (or
 * read) key was written by anyone after the snapshot, nothing is applied and the reply is the nil array `*-1`, as
 * in redis. Without WATCH, EXEC begins its own transaction and runs it again on a conflict, as redis's EXEC never
 * fails without WATCH. One difference from redis: redis runs EXEC's reads against the latest data, and relies on
 * the watched keys being unchanged; here they read the snapshot taken at the first WATCH (snapshot isolation), and
 * every key read inside the transaction is checked at commit, not only the watched ones.
 *
 * **Threads.** kv_server_start(), kv_server_stop() are called by one thread; kv_server_port() and
 * kv_server_stats_get() from any thread while the server runs.
 */
#ifndef FERRITE_SERVER_H
#define FERRITE_SERVER_H

#include "kv.h"
#include "resp.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/** The connections served at once when the options say 0: enough for redis-benchmark's default 50 clients. */
#define KV_SERVER_DEFAULT_MAX_CLIENTS 256u
/** The most SCAN cursors one connection keeps alive; an older cursor is answered "invalid cursor". */
#define KV_SERVER_SCAN_CURSORS 16u

/**
 * @brief How a server is started. Zero means "the default" for every field.
 * @rust `struct ServerConfig { port: u16, max_clients: usize, limits: Limits, .. }` with `Default`
 */
typedef struct kv_server_options {
    uint16_t port;       /**< the TCP port on 127.0.0.1; 0 for one the kernel picks (see kv_server_port()) */
    size_t max_clients;  /**< connections served at once; 0 for ::KV_SERVER_DEFAULT_MAX_CLIENTS */
    size_t max_bulk;     /**< the longest bulk string a client may send; 0 for ::KV_RESP_MAX_BULK */
    size_t max_args;     /**< the most arguments in one command; 0 for ::KV_RESP_MAX_ARGS */
    kv_sync_policy sync; /**< the store's sync policy, reported by INFO and CONFIG GET appendfsync only */
} kv_server_options;

/**
 * @brief What the server has done since it started. Plain data, a copy.
 * @rust a `Stats` struct of `AtomicU64`s read with `Ordering::Relaxed`
 */
typedef struct kv_server_stats {
    uint64_t connections;     /**< connections accepted (rejected ones included) */
    uint64_t rejected;        /**< connections refused with "max number of clients reached" */
    uint64_t clients;         /**< connections open now */
    uint64_t commands;        /**< commands run */
    uint64_t protocol_errors; /**< connections closed on a protocol error */
    uint64_t batches;         /**< kv_store_write() calls made for gathered SETs */
    uint64_t batched_sets;    /**< SETs written through them (batched_sets / batches: SETs per durable write) */
    uint64_t conflicts;       /**< transactions that lost (EXEC answered `*-1`, or a DEL/INCR run again) */
} kv_server_stats;

/** @brief A running server: opaque, made by kv_server_start(). @rust `struct Server` owning its threads */
typedef struct kv_server kv_server;

/**
 * @brief Listens on 127.0.0.1 and serves @p store on threads of its own until kv_server_stop().
 * @param store borrowed: must stay open until kv_server_stop() has returned.
 * @param opt borrowed for the call (copied); NULL for every default.
 * @param[out] out the server, owned by the caller (kv_server_stop()); NULL on failure.
 * @return ::KV_OK; ::KV_EXISTS (the port is in use); ::KV_IO_ERROR (another socket or thread failure);
 *         ::KV_NO_MEMORY.
 * @rust `fn start(store: Arc<Store>, cfg: ServerConfig) -> io::Result<Server>`
 */
FT_MUST_USE kv_status kv_server_start(kv_store *store, const kv_server_options *opt, kv_server **out);

/**
 * @brief The port the server listens on (the kernel's pick when the options said 0).
 * @param s borrowed for the call.
 * @rust `Server::local_addr(&self).port()`
 */
uint16_t kv_server_port(const kv_server *s);

/**
 * @brief A copy of the server's figures.
 * @param s borrowed for the call.
 * @rust `Server::stats(&self) -> Stats`
 */
kv_server_stats kv_server_stats_get(kv_server *s);

/**
 * @brief Stops gracefully: no new connection is accepted, every connection finishes the commands it has read
 *        (their writes are made durable and their replies sent) and is closed, every thread is joined, and the
 *        server is freed. Transactions left open are aborted. The store is not closed: it is the caller's.
 * @param s owned by the caller; NULL does nothing; invalid afterwards.
 * @rust `impl Drop for Server` (shut down, then join)
 */
void kv_server_stop(kv_server *s);

#endif /* FERRITE_SERVER_H */
