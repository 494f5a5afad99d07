/**
 * @file service_impl.h
 * @brief Chapter 06, part 5, inside the service: the private structs that service.c, conn.c and items.c share,
 *        and the functions one of those files calls in another.
 *
 * **Not a contract for callers.** service.h is what a program sees; this header is for the three files of the
 * service alone, and only they include it. It is given: the structs and the split are decided, the bodies are
 * yours. The three files:
 * - service.c, the lifecycle: the listening sockets, the routes, the loops, the worker threads, the signalfd, the
 *   drain on SIGTERM, closing;
 * - conn.c, one connection's state machine: accept, read, parse, dispatch, respond, flush, close, free;
 * - items.c, what a route does: `GET /items/:id` through the cache and the pool, `PUT` and `DELETE` with
 *   invalidation, the id parsing, `/metrics`, and the statistics `/metrics` prints.
 *
 * **Ownership.** The caller of ws_service_open() owns the ::ws_service; the service owns its workers (an array
 * inside it), its cache, its pool and its loops; a worker owns the connections it accepted (a list); a connection
 * owns its socket and its two buffers. One exception to "the list owns the connection": a connection closed while
 * an operation is in flight (a pool query, a cache flight it waits for) leaves the list but stays allocated, owned
 * by that operation's callback, which frees it when the operation comes back (::conn's `dead`).
 *
 * **Threads.** Each worker's loop runs on one thread, and a worker and its connections belong to that thread:
 * another thread never touches them, it ws_loop_post()s a task to the worker's loop instead (the C spelling of a
 * connection that is not `Send`). Worker 0's thread is also the *home* thread: the signalfd, the drain timer and
 * the pool's own work run there. The fields that other threads may read are named on each struct; the statistics
 * are relaxed atomics that any thread adds to.
 *
 * **Errors.** As service.h. The functions here return nothing (they answer the client or close the connection
 * themselves), except ws_conn_flush() and ws_parse_id(), whose `bool` the caller must look at.
 */
#ifndef FERRITE_SERVICE_IMPL_H
#define FERRITE_SERVICE_IMPL_H

#include "cache.h"
#include "loop.h"
#include "pool.h"
#include "router.h"
#include "service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief The handlers a route leads to: service.c adds the routes with these numbers, conn.c dispatches on them.
 *        The three item handlers come first (conn.c parses `:id` for `handler <= H_ITEM_DELETE`).
 * @rust the handler functions given to `Router::route("/items/:id", get(get_item).put(put_item)...)`
 */
enum { H_ITEM_GET, H_ITEM_PUT, H_ITEM_DELETE, H_HEALTHZ, H_METRICS };

/** How many statuses /metrics counts one by one (items.c lists them); any other is counted under "other". */
#define N_STATUS 12
/** How many bounds the latency histogram has (items.c lists them); one more bucket counts what is above all. */
#define N_BUCKETS 8

/**
 * @brief Counters shared by every worker: each is an independent relaxed atomic, as the cache's are (cache.h).
 *        ws_stats_record() adds to them from any worker's thread; ws_handle_metrics() reads them, each on its own, so one
 * scrape is not a snapshot (a request may be in the status count and not yet in the histogram).
 * @rust a `prometheus::Registry` of `IntCounterVec`s and a `Histogram`, each an `AtomicU64` inside
 */
typedef struct svc_counters {
    atomic_uint_fast64_t by_status[N_STATUS + 1]; /**< the last one: any other status */
    atomic_uint_fast64_t latency[N_BUCKETS + 1];  /**< not cumulative; the last one: above every bound */
    atomic_uint_fast64_t latency_sum_us;          /**< the sum of every request's latency, in microseconds */
    atomic_uint_fast64_t db_queries[3];           /**< GET, PUT, DELETE operations started on the pool */
    atomic_uint_fast64_t db_errors;               /**< operations that ended in a query error or a broken connection */
} svc_counters;

typedef struct conn conn;

/**
 * @brief One worker: a loop, its thread, its listener and its connections.
 *
 * `svc` and `loop` are set by ws_service_open() and never change: any thread may read them (others post to
 * `loop`). `thread` and `started` are the home thread's, in ws_service_run(). `owner` is written by the worker's
 * own thread before its loop's first turn. Every other field belongs to the worker's thread (ws_service_open()
 * and ws_service_close() touch them before the threads start and after they are joined).
 * @rust one `actix_rt::System` arbiter: a current-thread runtime with its own `TcpListener` (SO_REUSEPORT)
 */
typedef struct worker {
    ws_service *svc;       /**< read-only: the service this worker is part of */
    ws_loop *loop;         /**< read-only: owned by the service; ws_loop_run() on this worker's thread */
    pthread_t thread;      /**< home thread only: the thread started for workers 1..N-1 */
    pthread_t owner;       /**< the thread running `loop`: set on that thread before its first turn */
    bool started;          /**< home thread only: `thread` was started and is not joined yet */
    int listen_fd;         /**< the listening socket, owned; -1 once closed (draining) */
    ws_watch listen_watch; /**< the loop's watch of `listen_fd` */
    conn *conns;           /**< open connections, a doubly linked list; the worker owns each */
    size_t nconns;         /**< how many */
    bool draining;         /**< SIGTERM: accept nothing, close each connection when it has nothing in flight */
    bool reported;         /**< told the home loop that this worker has no connection left */
} worker;

/**
 * @brief The service's insides (opaque in service.h).
 *
 * `cfg`, `port`, `limits`, `router`, `cache`, `pool` and `nworkers` are set by ws_service_open() before any
 * worker thread starts and are read-only from then on, so every worker reads them without a lock; the cache and
 * the pool are thread-safe themselves. `workers[i]` is shared out as ::worker says. The fields from `sig_fd` to
 * `drained` are the home loop's thread's alone. `stats` is written by every thread, with relaxed atomics.
 * @rust the `Arc<AppState>` an axum router is given: immutable config plus `Arc`s of thread-safe parts
 */
struct ws_service {
    ws_service_config cfg;          /**< read-only: the caller's config, copied */
    uint16_t port;                  /**< read-only: the port every worker's listener is bound to */
    ws_limits limits;               /**< read-only: every connection's parser limits */
    ws_router router;               /**< read-only: the routes of service.h, matched by every worker */
    ws_cache *cache;                /**< thread-safe (cache.h) */
    ws_pool *pool;                  /**< thread-safe; its home is workers[0].loop */
    worker workers[WS_WORKERS_MAX]; /**< the first `nworkers` are in use */
    size_t nworkers;                /**< read-only after ws_service_open() */
    int sig_fd;                     /**< home loop only: the signalfd of SIGTERM and SIGINT, owned */
    ws_watch sig_watch;             /**< home loop only: its watch */
    ws_timer drain_timer;           /**< home loop only: the drain's deadline */
    atomic_bool stopping;           /**< set on the home loop when a signal came; any thread reads it */
    size_t drained;                 /**< home loop only: workers that reported no connection left */
    svc_counters stats;             /**< any thread: relaxed atomics */
};

/**
 * @brief One client connection. Belongs to its worker's thread; the cache's waiter callback, on another thread,
 *        only writes `waited_*` and posts to the worker's loop, which orders those writes before the posted task
 *        reads them.
 *
 * `busy` is the state that matters for ownership: while it is set an operation (a pool query whose callback holds
 * this pointer, or a cache flight this connection waits on with `waiter`) will come back to the connection, so
 * ws_conn_close() may close the socket but must not free it; it sets `dead`, and the callback frees it instead.
 * @rust the state of one hyper connection task: the `TcpStream`, its read and write buffers, and the future of the
 *       request in flight (which owns what it borrows, so it may outlive the socket)
 */
struct conn {
    ws_watch watch;          /**< the loop's watch of `fd`; conn_on_kick() finds the conn from it */
    int fd;                  /**< the socket, open until ws_conn_close() */
    worker *w;               /**< the worker that accepted it, for the connection's whole life */
    conn *prev;              /**< the one before it in the worker's list of open connections */
    conn *next;              /**< the one after it in that list */
    ws_http_parser parser;   /**< its current request's slices point into `parse_buf` */
    char *parse_buf;         /**< owned: the parser's buffer, ws_http_buffer_size() bytes */
    char in[4096];           /**< bytes as read from the socket */
    size_t in_off;           /**< where the bytes of `in` not yet fed to the parser begin */
    size_t in_len;           /**< where they end */
    char *out;               /**< owned: responses queued for the socket (realloc'd to fit) */
    size_t out_off;          /**< bytes of `out` already written to the socket */
    size_t out_len;          /**< bytes queued in `out` */
    size_t out_cap;          /**< bytes allocated for `out` */
    bool busy;               /**< a request waits for the database or a flight */
    bool dead;               /**< closed while busy: freed when the operation comes back */
    bool close_after;        /**< close once `out` is written */
    uint64_t started_ms;     /**< when the current request was complete */
    int64_t key;             /**< the item the current request is about */
    ws_cache_flight *flight; /**< led by this connection's current request; handed back by completing it */
    ws_cache_waiter waiter;  /**< lent to the cache after WS_CACHE_WAIT, until the cache calls it */
    ws_blob *waited_value;   /**< written by the waiter callback, then posted; one reference, owned */
    ws_status waited_status; /**< written by the waiter callback, then posted */
};

/* ---- conn.c: a connection, from accept to free ---------------------------------------------------------------- */

/**
 * @brief The listener's callback (service.c watches each worker's `listen_fd` with it): accepts up to 64 pending
 *        connections, non-blocking with TCP_NODELAY, and opens a ::conn for each (or closes it at once when the
 *        worker has `max_connections`). Accepts nothing once the worker is draining.
 * @rust `loop { let (stream, _) = listener.accept().await?; tokio::spawn(serve(stream)); }`
 */
void ws_worker_on_accept(ws_watch *wt, uint32_t ready);

/**
 * @brief Frees a connection's buffers and the connection. Its socket must be closed and it must be out of the
 *        worker's list already (ws_conn_close() does both), or never have been in it.
 * @rust `drop(Box<Conn>)`
 */
void ws_conn_free(conn *c);

/**
 * @brief Closes the socket at once and takes @p c out of its worker's list. A connection with an operation in
 *        flight stays allocated (the operation's callback holds a pointer to it) and is freed when the operation
 *        comes back; any other is freed here. Either way the caller must not touch @p c afterwards, except a
 *        callback of the operation in flight, which finds `dead` set. Tells the home loop when a draining worker
 *        has closed its last connection (ws_worker_check_drained()).
 * @rust dropping the connection task's `TcpStream` (the future in flight, if any, still owns the rest)
 */
void ws_conn_close(conn *c);

/**
 * @brief Asks the loop for what the connection can use now: writable while output is queued, readable while it is
 *        idle with nothing read left to parse. Closes the connection when the loop refuses.
 * @rust what `poll_read` / `poll_write` returning `Pending` registers with the reactor
 */
void ws_conn_interest(conn *c);

/**
 * @brief Writes what is queued, keeping what a partial write left.
 * @return false when the connection was closed (a write error, or everything written with `close_after` set and
 *         nothing in flight): @p c is then gone; true otherwise.
 * @rust `AsyncWriteExt::write_all` polled until it is `Ready` or `Pending`
 */
FT_MUST_USE bool ws_conn_flush(conn *c);

/**
 * @brief Queues the answer to the current request (whose slices are still valid) and ends it: the connection is
 *        no longer busy. The caller then calls ws_conn_advance(), or lets conn_process() go on. Adds `Connection:
 *        close` after a refused request, an HTTP/1.0 or `close` request, and while draining; counts the status and
 *        the latency (ws_stats_record()) and writes the access log line. When memory runs out it queues nothing and the
 *        connection closes once what was queued before is written. Only the worker's own thread may call it: it
 *        aborts on any other.
 * @param c the connection, owned by the calling worker; not busy any more after the call.
 * @param r borrowed for the call; its body is copied into the connection's output.
 * @rust hyper's dispatcher encoding the handler's `Response` into the connection's write buffer
 */
void ws_conn_respond(conn *c, ws_response r);

/**
 * @brief ws_conn_respond() with a text body (`""`: none), and `Retry-After: 1` on a 503.
 * @param c the connection, as for ws_conn_respond().
 * @param status the status line's code.
 * @param text borrowed for the call.
 * @rust `(StatusCode, String).into_response()`
 */
void ws_conn_respond_text(conn *c, ws_status status, const char *text);

/**
 * @brief After an answer that came back asynchronously: resets the parser for the next request and goes on with
 *        the requests already read, then writes what is queued and asks the loop for what comes next.
 * @rust the next turn of hyper's per-connection loop: read a request, await the service, write the response
 */
void ws_conn_advance(conn *c);

/* ---- items.c: the routes' work, and the statistics ------------------------------------------------------------ */

/**
 * @brief `GET /items/:id`: asks the cache. A hit answers at once; a miss that leads runs the query on the pool and
 *        completes the flight when it comes back; a miss that waits lends `c->waiter` to the cache and answers
 *        when the leader's value is posted back to this connection's loop. Either miss leaves @p c busy, unless
 *        the checkout fails at once (503).
 * @rust an axum handler `get_item(Path(id), State(s))` that calls moka's `cache.try_get_with(id, load(id))`
 */
void ws_handle_get(conn *c, int64_t id);

/**
 * @brief `PUT /items/:id` (@p kind ::WS_DB_PUT, the request's body as the value) or `DELETE /items/:id`
 *        (::WS_DB_DELETE) through the pool; when it comes back the cache forgets the key, then the client hears
 *        the new version (PUT), 204 (DELETE) or the error. Leaves @p c busy unless the checkout failed at once.
 * @rust `put_item(Path(id), State(s), body)`: `sqlx::query(..).execute(&pool).await?; s.cache.invalidate(&id)`
 */
void ws_handle_write(conn *c, ws_db_kind kind, int64_t id);

/**
 * @brief The `:id` parameter of @p m as a number: percent-decoded, decimal digits only, no sign, no overflow.
 * @param m the route's match, borrowed; its parameter is a slice of the request's path.
 * @param[out] id written only on success.
 * @return whether it was one.
 * @rust the `Path<String>` extractor, then `s.bytes().all(|b| b.is_ascii_digit())` and `s.parse::<i64>()`; 400
 *       when either refuses
 */
FT_MUST_USE bool ws_parse_id(const ws_match *m, int64_t *id);

/**
 * @brief `GET /metrics`: answers the counters, the cache's and the pool's statistics in Prometheus' text format.
 * @rust a handler returning `prometheus::TextEncoder::new().encode_to_string(&registry.gather())`
 */
void ws_handle_metrics(conn *c);

/**
 * @brief Counts one answered request: its status and its latency (@p elapsed_ms) in the service's counters.
 *        Any thread may call it.
 * @rust a middleware's `counter.with_label_values(&[status]).inc()` and `histogram.observe(secs)`
 */
void ws_stats_record(ws_service *s, int status, uint64_t elapsed_ms);

/* ---- service.c: the lifecycle --------------------------------------------------------------------------------- */

/**
 * @brief On the worker's thread, after a connection was closed: when the worker is draining, has no connection
 *        left and has not said so yet, tells the home loop (a posted task), which stops every loop once all the
 *        workers have.
 * @rust the `JoinSet` of a worker's connection tasks running empty during a graceful shutdown
 */
void ws_worker_check_drained(worker *w);

#endif /* FERRITE_SERVICE_IMPL_H */
