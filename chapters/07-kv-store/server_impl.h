/**
 * @file server_impl.h
 * @brief Chapter 07, part 5: the server's insides, shared by server.c (the accepting thread, the connection threads,
 *        start and stop), server_cmd.c (the command table and the plain commands), server_scan.c (SCAN and the
 *        reports) and server_txn.c (WATCH, MULTI, EXEC). Not for callers: server.h is the contract.
 *
 * **Who owns what.** The server owns its connections; a connection is served by one thread, which alone touches
 * its fields but for `finished` and `next`, which the server's `lock` guards. A command runs on its connection's
 * thread: it borrows the connection for the call, and appends its reply to the output buffer it is given.
 *
 * **A command.** Every command is a ::kv_command_fn: the connection, the command's arguments (borrowed from the
 * parser until the next parse), the transaction to read and write through (EXEC's) or NULL for the store itself,
 * and the buffer its reply goes to. It returns ::KV_OK when it has appended its reply, error replies included;
 * anything else (::KV_NO_MEMORY) means the replies can no longer be complete, and the connection is closed.
 *
 * A file that includes this header defines `_GNU_SOURCE` first: kv_server_now_ms() uses POSIX clock_gettime().
 */
#ifndef FERRITE_SERVER_IMPL_H
#define FERRITE_SERVER_IMPL_H

#include "kv.h"
#include "resp.h"
#include "server.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/**
 * @brief A SCAN cursor handed to the client: its number and the key the next call starts at.
 * @rust `struct Cursor { id: u64, key: Vec<u8> }`
 */
typedef struct kv_cursor {
    uint64_t id; /**< 0: a free slot */
    kv_buf key;  /**< owned */
} kv_cursor;

/** @brief One client's connection (defined below). */
typedef struct kv_conn kv_conn;

/**
 * @brief The server. See server.h for the contract.
 * @rust `struct Server { store: Arc<Store>, conns: Mutex<Vec<JoinHandle<()>>>, stats: Stats, .. }`
 */
struct kv_server {
    kv_store *store;       /**< borrowed; outlives the server */
    kv_server_options opt; /**< copied, defaults filled in */
    int listen_fd;         /**< the listening socket */
    uint16_t port;         /**< the port it is bound to */
    uint64_t started_ms;   /**< when it started, for INFO's uptime */
    pthread_t acceptor;    /**< the accepting thread */
    pthread_mutex_t lock;  /**< guards conns, live and stopping */
    kv_conn *conns;        /**< every connection whose thread has not been joined */
    size_t live;           /**< of them, those still serving (counted against max_clients) */
    bool stopping;         /**< kv_server_stop() has begun: accept no more */
    /* Figures: atomics, written by every thread, read by INFO and kv_server_stats_get(). Relaxed: they are
     * counters, ordered with nothing. */
    atomic_uint_fast64_t connections;     /**< connections accepted */
    atomic_uint_fast64_t rejected;        /**< connections refused over max_clients */
    atomic_uint_fast64_t commands;        /**< commands run */
    atomic_uint_fast64_t protocol_errors; /**< connections closed for a framing error */
    atomic_uint_fast64_t batches;         /**< durable writes made of gathered SETs */
    atomic_uint_fast64_t batched_sets;    /**< SETs in those writes */
    atomic_uint_fast64_t conflicts;       /**< transactions refused (EXEC answered nil) */
};

/**
 * @brief One client. The fields under "list" are guarded by the server's lock; the rest belong to the connection's
 *        own thread, and no other thread touches them.
 * @rust `struct Conn { stream: TcpStream, parser: Parser, out: Vec<u8>, txn: Option<Txn>, .. }`
 */
struct kv_conn {
    kv_server *srv;        /**< borrowed: the server outlives its connections */
    int fd;                /**< closed by whoever joins the thread, never by the thread: no fd number is reused under a
                                kv_server_stop() that shuts it down */
    pthread_t thread;      /**< the connection's own thread */
    bool finished;         /**< list: the thread has stopped serving and may be joined */
    kv_conn *next;         /**< list */
    kv_resp_parser parser; /**< the request parser, with what it has not parsed yet */
    kv_buf out;            /**< replies not yet sent */
    kv_batch batch;        /**< SETs of this read, not yet written */
    size_t batch_sets;     /**< SETs in `batch` */
    kv_txn *txn;           /**< owned; opened by WATCH; NULL when nothing is watched */
    bool in_multi;         /**< between MULTI and EXEC/DISCARD */
    bool multi_failed;     /**< a command could not be queued: EXEC answers EXECABORT */
    kv_buf queue;          /**< the queued commands, encoded again as RESP arrays */
    size_t queued;         /**< commands in `queue` */
    kv_cursor cursors[KV_SERVER_SCAN_CURSORS]; /**< SCAN cursors issued on this connection, newest kept */
    uint64_t next_cursor;                      /**< the number the next cursor gets */
    kv_buf val;                                /**< scratch for values read */
    bool quit;                                 /**< QUIT was answered: close once the replies are out */
};

/**
 * @brief A command (see the top of the file).
 * @rust `type Command = fn(&mut Conn, &Cmd, Option<&mut Txn>, &mut Vec<u8>) -> Result<()>`
 */
typedef kv_status kv_command_fn(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief Milliseconds on the monotonic clock.
 * @rust `Instant::now()`
 */
static inline uint64_t kv_server_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/**
 * @brief Adds @p n to one of the server's figures; relaxed, as it orders nothing.
 * @rust `AtomicU64::fetch_add(n, Ordering::Relaxed)`
 */
static inline void kv_server_count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- server_cmd.c ---------------------------------------------------------------------------------------------- */

/**
 * @brief Appends the error reply for a store failure: never an +OK, and the status named so that an operator can
 *        look it up.
 * @param out borrowed: the reply goes here.
 * @param st the store's status.
 * @return ::KV_OK; ::KV_NO_MEMORY.
 * @rust `impl From<kv::Error> for RespError`
 */
FT_MUST_USE kv_status kv_server_reply_error(kv_buf *out, kv_status st);

/**
 * @brief Appends `+OK`.
 * @param out borrowed.
 * @return ::KV_OK; ::KV_NO_MEMORY.
 * @rust `out.extend_from_slice(b"+OK\r\n")`
 */
FT_MUST_USE kv_status kv_server_reply_ok(kv_buf *out);

/**
 * @brief Whether argument @p i of @p cmd is @p word, ignoring case (command names and options).
 * @param cmd borrowed.
 * @param i the argument's index; past the end is false.
 * @param word borrowed, NUL-terminated.
 * @rust `cmd.args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(word))`
 */
bool kv_server_arg_is(const kv_resp_cmd *cmd, size_t i, const char *word);

/**
 * @brief redis's string2ll: an integer written exactly ("-12"; not "+12", " 12", "012" or "1e3") that fits in 64
 *        bits.
 * @param s borrowed: the bytes.
 * @param len their length.
 * @param[out] out the value, when true.
 * @rust `std::str::from_utf8(s).ok()?.parse::<i64>()` with redis's stricter syntax
 */
bool kv_server_parse_int64(const uint8_t *s, size_t len, int64_t *out);

/**
 * @brief Writes the SETs gathered from this read as one batch (one log record, one sync), then appends their
 *        replies to c->out: the protocol-level group commit of server.h. Every command but a SET calls this first.
 * @param c borrowed.
 * @return ::KV_OK (the replies say whether the write failed); ::KV_NO_MEMORY.
 * @rust `fn flush_sets(&mut self) -> Result<()>`
 */
FT_MUST_USE kv_status kv_server_flush_sets(kv_conn *c);

/**
 * @brief Runs one command the parser handed out, its reply into c->out (a SET's later, through
 *        kv_server_flush_sets()); inside MULTI, queues it instead.
 * @param c borrowed.
 * @param cmd borrowed for the call.
 * @return ::KV_OK; ::KV_NO_MEMORY (close the connection).
 * @rust `fn run(&mut self, cmd: &Cmd) -> Result<()>`
 */
FT_MUST_USE kv_status kv_server_run_command(kv_conn *c, const kv_resp_cmd *cmd);

/**
 * @brief Runs a command that MULTI queued (so a known one, of the right arity) in EXEC's transaction.
 * @param c borrowed.
 * @param cmd borrowed for the call.
 * @param t borrowed: EXEC's transaction.
 * @param out borrowed: the reply goes here.
 * @return as a ::kv_command_fn.
 * @rust `(lookup(cmd).run)(conn, cmd, Some(txn), out)`
 */
FT_MUST_USE kv_status kv_server_run_queued(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/* ---- server_scan.c --------------------------------------------------------------------------------------------- */

/**
 * @brief SCAN cursor [MATCH pattern] [COUNT n]: a ::kv_command_fn. A cursor is a number the connection issued,
 *        standing for the key the next call starts at; "0" starts, and "0" back means done.
 * @rust `fn scan(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_scan(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief DBSIZE: the number of live keys; a ::kv_command_fn.
 * @rust `fn dbsize(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_dbsize(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief INFO: redis's layout, with the server's and the store's figures; a ::kv_command_fn.
 * @rust `fn info(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_info(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief CONFIG GET name: what redis-benchmark asks at start; a ::kv_command_fn.
 * @rust `fn config(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_config(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief COMMAND (and COMMAND DOCS), which redis-cli sends at start: an empty list; a ::kv_command_fn.
 * @rust `fn command(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_command(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/* ---- server_txn.c ---------------------------------------------------------------------------------------------- */

/**
 * @brief WATCH key...: opens the connection's transaction if none is open and watches each key; a ::kv_command_fn.
 * @rust `fn watch(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_watch(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief UNWATCH: drops the connection's transaction; a ::kv_command_fn.
 * @rust `fn unwatch(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_unwatch(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief MULTI: the commands that follow are queued; a ::kv_command_fn.
 * @rust `fn multi(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_multi(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief DISCARD: drops the queue and the transaction; a ::kv_command_fn.
 * @rust `fn discard(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_discard(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief EXEC: runs the queue in the transaction and commits (server.h says what a conflict answers); a
 *        ::kv_command_fn.
 * @rust `fn exec(conn: &mut Conn, cmd: &Cmd, txn: Option<&mut Txn>, out: &mut Vec<u8>) -> Result<()>`
 */
FT_MUST_USE kv_status kv_cmd_exec(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out);

/**
 * @brief Appends @p cmd to the MULTI queue, encoded as the RESP array it came as, and answers `+QUEUED`.
 * @param c borrowed.
 * @param cmd borrowed for the call (copied into the queue).
 * @return ::KV_OK; ::KV_NO_MEMORY.
 * @rust `self.queue.push(cmd.clone())`
 */
FT_MUST_USE kv_status kv_server_enqueue(kv_conn *c, const kv_resp_cmd *cmd);

#endif /* FERRITE_SERVER_IMPL_H */
