/**
 * @file client_impl.h
 * @brief Chapter 07, part 6: the client driver's insides, shared by client.c (the public calls, prepared commands),
 *        client_conn.c (the slots: sockets, buffers, FIFOs, deadlines) and client_reply.c (the reply type and its
 *        parser). Not for callers: client.h is the contract.
 *
 * **Who owns what.** The client owns its slots, and every request from kv_client_submit() until its callback has
 * run. A request is in exactly one list at a time: a slot's FIFO (written or queued there), the retry list (to be
 * given to a slot at the next poll) or the done list (ended, its callback not yet run). A reply is owned by the
 * request it ended until the callback receives it.
 *
 * **Threads.** None: a ::kv_client belongs to one thread at a time (client.h), so nothing here is locked.
 *
 * A file that includes this header defines `_GNU_SOURCE` first: kv_client_now_ms() uses POSIX clock_gettime().
 */
#ifndef FERRITE_KV_CLIENT_IMPL_H
#define FERRITE_KV_CLIENT_IMPL_H

#include "client.h"
#include "kv.h"

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/**
 * @brief One request, from kv_client_submit() until its callback has run.
 * @rust `struct Request { cmd: Bytes, flags: Flags, attempts: u32, deadline: Instant, done: Box<dyn FnOnce(..)> }`
 */
typedef struct kv_request {
    struct kv_request *next; /**< in exactly one list: a connection's FIFO, the retry list or the done list */
    uint8_t *cmd;            /**< the encoded command, owned, kept for a retry */
    size_t cmd_len;          /**< its length */
    unsigned flags;          /**< KV_CLIENT_IDEMPOTENT */
    unsigned attempts;       /**< attempts started */
    uint64_t deadline;       /**< ms on the monotonic clock, set when the attempt is given to a connection */
    uint64_t start;          /**< offset of its first byte in its connection's output stream */
    kv_status status;        /**< on the done list: how it ended */
    kv_reply *reply;         /**< on the done list, KV_OK: owned until handed to done */
    kv_client_done_fn *done; /**< the callback, run once when the request ends */
    void *ctx;               /**< its context, passed through */
} kv_request;

/** @brief A singly linked queue of requests, oldest at the head. @rust `VecDeque<Box<Request>>` */
typedef struct kv_fifo {
    kv_request *head; /**< the oldest request, NULL when empty */
    kv_request *tail; /**< the newest, NULL when empty */
} kv_fifo;

/** @brief Where a slot's connection is. @rust `enum SlotState { Closed, Connecting, Ready }` */
enum kv_slot_state { KV_SLOT_CLOSED, KV_SLOT_CONNECTING, KV_SLOT_READY };

/**
 * @brief One connection of the pool.
 * @rust `struct Slot { stream: Option<TcpStream>, out: Vec<u8>, input: Vec<u8>, in_flight: VecDeque<Request> }`
 */
typedef struct kv_slot {
    enum kv_slot_state state;  /**< closed, connecting or ready */
    int fd;                    /**< -1 when closed */
    uint64_t connect_deadline; /**< ms on the monotonic clock: a connect still pending then has failed */
    kv_buf out;                /**< bytes queued; out.data[out_off..out.len) not yet written */
    size_t out_off;            /**< the first byte of `out` not yet written */
    uint64_t queued;           /**< bytes ever queued on this socket: the stream offset of the next request */
    uint64_t written;          /**< bytes ever written on this socket */
    kv_buf in;                 /**< bytes read; in.data[in_off..in.len) not yet parsed */
    size_t in_off;             /**< the first byte of `in` not yet parsed */
    kv_fifo inflight;          /**< requests written or queued here, oldest first: the n-th reply is the head's */
    size_t n_inflight;         /**< how many are in `inflight` */
} kv_slot;

/**
 * @brief The client. See client.h for the contract.
 * @rust `struct Client { addr: SocketAddr, slots: Vec<Slot>, retry: VecDeque<Request>, done: VecDeque<Request>, .. }`
 */
struct kv_client {
    struct sockaddr_in addr; /**< the server's address */
    kv_client_options opt;   /**< copied, defaults filled in */
    kv_slot *slots;          /**< opt.pool_size of them */
    struct pollfd *fds;      /**< opt.pool_size of them: kv_client_poll()'s working array */
    size_t next_slot;        /**< round robin */
    kv_fifo retry;           /**< attempts to give to a connection again, at the next poll */
    kv_fifo done;            /**< ended requests whose callbacks have not run */
    size_t pending;          /**< submitted, callback not yet run */
    kv_client_stats stats;   /**< counters, for kv_client_stats_get() */
};

/**
 * @brief Milliseconds on the monotonic clock.
 * @rust `Instant::now()`
 */
static inline uint64_t kv_client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- client_reply.c -------------------------------------------------------------------------------------------- */

/** What kv_reply_parse() found. */
enum {
    KV_PARSE_ERROR = -1, /**< not RESP2, or out of memory */
    KV_PARSE_MORE = 0,   /**< the reply has not all arrived */
    KV_PARSE_DONE = 1,   /**< one whole reply */
};

/**
 * @brief Parses one reply from p[0..avail). No length is trusted before the bytes it claims are there.
 * @param p borrowed: the bytes read and not yet parsed.
 * @param avail how many.
 * @param depth the nesting of the reply (0 at the top).
 * @param[out] used the reply's bytes, on ::KV_PARSE_DONE.
 * @param[out] out the reply, owned by the caller (kv_reply_free()), on ::KV_PARSE_DONE.
 * @return ::KV_PARSE_DONE; ::KV_PARSE_MORE (it has not all arrived: nothing is kept, parse again from the start when
 *         more has); ::KV_PARSE_ERROR (not RESP2, or out of memory).
 * @rust `fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError>`
 */
int kv_reply_parse(const uint8_t *p, size_t avail, int depth, size_t *used, kv_reply **out);

/* ---- client_conn.c --------------------------------------------------------------------------------------------- */

/**
 * @brief Adds @p r at the tail of @p f.
 * @param f borrowed.
 * @param r owned by the list from now on; in no other list.
 * @rust `VecDeque::push_back`
 */
void kv_fifo_push(kv_fifo *f, kv_request *r);

/**
 * @brief Takes the request at the head of @p f.
 * @param f borrowed.
 * @return the request, the caller's; NULL when @p f is empty.
 * @rust `VecDeque::pop_front`
 */
kv_request *kv_fifo_pop(kv_fifo *f);

/**
 * @brief Appends @p n bytes to @p b, growing it geometrically.
 * @param b borrowed.
 * @param src borrowed for the call.
 * @param n bytes.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p b unchanged).
 * @rust `Vec::extend_from_slice`
 */
FT_MUST_USE kv_status kv_client_append(kv_buf *b, const void *src, size_t n);

/**
 * @brief Ends @p r: it goes to the done list, its callback runs at the end of the poll.
 * @param c borrowed.
 * @param r the client's, in no list.
 * @param st how it ended.
 * @param reply owned by @p r from now on; NULL unless @p st is ::KV_OK.
 * @rust `self.done.push_back(r.finish(st, reply))`
 */
void kv_client_finish(kv_client *c, kv_request *r, kv_status st, kv_reply *reply);

/**
 * @brief Gives an attempt of @p r to the next slot (round robin): its bytes go to the slot's output buffer, @p r to
 *        the tail of its FIFO; a closed slot starts connecting.
 * @param c borrowed.
 * @param r the client's, in no list.
 * @rust `fn dispatch(&mut self, r: Request)`
 */
void kv_client_dispatch(kv_client *c, kv_request *r);

/**
 * @brief Handles what poll(2) reported for slot @p s: a connect that ended, replies to read, room to write.
 * @param c borrowed.
 * @param s borrowed: one of c->slots.
 * @param revents poll(2)'s revents for its socket.
 * @rust `fn on_ready(&mut self, slot: usize, ready: Ready)`
 */
void kv_slot_events(kv_client *c, kv_slot *s, short revents);

/**
 * @brief Closes each slot whose connect or oldest request is past its deadline (a timed-out request poisons the
 *        FIFO).
 * @param c borrowed.
 * @param now ms on the monotonic clock.
 * @rust `fn check_deadlines(&mut self, now: Instant)`
 */
void kv_client_check_deadlines(kv_client *c, uint64_t now);

#endif /* FERRITE_KV_CLIENT_IMPL_H */
