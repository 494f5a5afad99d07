/**
 * @file proxy_http.h
 * @brief Chapter 08: what the two files of http mode share (proxy_http.c: the client side of a session, one request
 *        at a time; proxy_upstream.c: one exchange with an upstream, attempts and retries).
 *
 * Private to them, and yours to reshape: the tests and the program see proxy.h only.
 *
 * Everything here lives on the loop's thread. A session's state hangs from s->http and is freed by
 * px_http_session_free(); the upstream connection (h->u) is owned by the state until it is pooled or closed.
 */
#ifndef FERRITE_PX_PROXY_HTTP_H
#define FERRITE_PX_PROXY_HTTP_H

#include "http1.h"
#include "proxy_impl.h"

#include <arpa/inet.h>

#define REPLAY_MAX (64 * 1024)                       /**< the longest body kept for a retry */
#define MAX_ATTEMPTS 3                               /**< attempts per request, the first included */
#define CIN_CAP (PX_HTTP_MAX_HEAD + REPLAY_MAX)      /**< client input: a head, or a whole replayable body */
#define UP_CAP (PX_HTTP_MAX_HEAD + 512)              /**< the rewritten request head: x-forwarded-for and connection */
#define RBUF_CAP (PX_HTTP_MAX_HEAD + 16 * 1024)      /**< upstream input while the response head is incomplete */
#define COUT_CAP (PX_HTTP_MAX_HEAD + 512 + RBUF_CAP) /**< to the client: a rewritten head and what followed it */

/**
 * @brief A session's states. ST_CLOSE: the last answer is being sent; ST_LINGER: it has been, our side is shut, what
 *        the client still sends is read and dropped until its end of file or LINGER_MS: closing with unread bytes
 *        would send a reset, which may destroy the answer before the client has read it (RFC 9112 section 9.6).
 */
enum { ST_HEAD, ST_BODY, ST_EXCHANGE, ST_CLOSE, ST_LINGER };

/**
 * @brief One http-mode session: its client, the request in flight, its attempt's upstream connection and response.
 *        Allocated by px_http_session_start(), hung from s->http, freed by px_http_session_free(); the buffers are
 *        fixed, allocated with it.
 * @rust the state of a `hyper` server connection task and of the client request future it drives
 */
typedef struct http_conn {
    px_session *s;                    /**< the owner: s->http points back here */
    px_watch cw;                      /**< the client's socket (s->client_fd, closed by px_session_close()) */
    px_upconn *u;                     /**< the attempt's upstream connection, NULL while it has none; owned here */
    px_timer deadline;                /**< the request's: arrival to response head */
    char client_ip[INET6_ADDRSTRLEN]; /**< for x-forwarded-for */
    int state;                        /**< ST_* */
    char *cin;                        /**< client input; once a head is parsed, it starts with that request's body */
    size_t cin_len;                   /**< bytes in cin */
    char *up;                         /**< the rewritten request head */
    size_t up_len;                    /**< bytes in up */
    size_t up_off;                    /**< bytes of head (then replay body) sent in this attempt */
    char *rbuf;                       /**< upstream input until the response head is whole */
    size_t rbuf_len;                  /**< bytes in rbuf */
    char *cout;                       /**< bytes for the client, sent from cout_off */
    size_t cout_len;                  /**< bytes in cout */
    size_t cout_off;                  /**< bytes of cout already sent */
    /* The request in flight. */
    char method[32];      /**< its method, NUL-terminated, for the retry policy */
    bool head_req;        /**< it is a HEAD: the response has no body */
    bool req_keep;        /**< the client keeps the connection after it */
    bool replay;          /**< its body (maybe empty) is kept whole at cin's front, body_len bytes */
    bool body_all_read;   /**< the whole body has arrived from the client */
    bool body_touched;    /**< streamed body bytes have gone upstream: it cannot be sent again */
    bool c_rd;            /**< the loop said the client is readable, and no read has found it drained */
    bool u_rd;            /**< the same for the upstream */
    bool u_hup;           /**< the upstream hung up during this attempt: its connection is not pooled */
    size_t body_len;      /**< replay: the body's length */
    size_t body_ready;    /**< streamed: bytes at cin's front known to be body and not sent yet */
    px_http_body reqbody; /**< streamed: where its body ends */
    uint32_t attempts;    /**< this request's, the first included */
    uint64_t arrival_ns;  /**< when the request head was complete */
    uint64_t sent_ns;     /**< when this attempt's head went upstream */
    uint64_t rtt_ns;      /**< sent to response head: the latency sample */
    /* Its response. */
    bool resp_head;     /**< the head has been received (and given to the client) */
    bool resp_ok;       /**< its status was below 500 */
    bool reusable;      /**< nothing seen so far forbids pooling the connection */
    bool resp_eof;      /**< the body has ended at the upstream's close (or at a malformed chunk) */
    bool client_keep;   /**< what the head sent to the client said */
    px_http_body rbody; /**< where the response's body ends */
    px_http_head head;  /**< scratch for one parse; borrows cin or rbuf */
} http_conn;

/** @brief Readiness after which a read may find something: readable, or hung up or failed (a read reports both). */
#define PX_READ_NEWS (PX_READABLE | PX_HANGUP | PX_FAILED)

/**
 * @brief The session's proxy.
 * @rust `&self.proxy`
 */
static inline px_proxy *proxy_of(const http_conn *h) { return h->s->proxy; }

/**
 * @brief proxy_http.c: makes every move possible now, in order, then sets both watches' interest to what would allow
 *        more. May close (and free) the session.
 * @rust one `poll` of the connection future
 */
void px_http_step(http_conn *h);

/**
 * @brief proxy_http.c: answers the request in flight from the proxy itself (@p status, @p detail for the body, may be
 *        NULL), closing the attempt's connection and ending its pick as a failure.
 * @rust `Response::builder().status(status).body(detail)` returned from the service
 */
void px_http_answer(http_conn *h, int status, const char *detail);

/**
 * @brief proxy_http.c: forgets the request in flight (its deadline, its replay body) and readies the session for the
 *        next request when @p keep, else for closing.
 * @rust the end of one `Service::call` in `serve_connection`'s loop
 */
void px_http_request_end(http_conn *h, bool keep);

/**
 * @brief proxy_http.c: reads what the client sent into cin, only once the loop has reported it readable.
 * @return 1 for bytes, 0 when there is nothing to read now or no room, -1 at its end or on an error.
 * @rust `AsyncRead::poll_read` on the client stream
 */
int px_http_read_client(http_conn *h);

/**
 * @brief proxy_upstream.c: one attempt of the request in flight: a pick, then a pooled connection or a connect
 *        (which calls px_http_step() when it ends). Answers 503 when no endpoint is available.
 * @rust `pool.checkout(key)` raced with `connect(addr)`, inside a `tower::retry` attempt
 */
void px_http_attempt(http_conn *h);

/**
 * @brief proxy_upstream.c: one round of the request in flight: send what is owed, read the response, end the exchange.
 * @return 1 on progress, 0 when waiting, -1 when the session must close.
 * @rust one `poll` of the `SendRequest::send_request` future and of the response body
 */
int px_http_exchange(http_conn *h);

/**
 * @brief proxy_upstream.c: cancels a connect in progress and closes the attempt's connection, if any.
 * @rust dropping the attempt's connection
 */
void px_http_upstream_close(http_conn *h);

/**
 * @brief proxy_upstream.c: ends the attempt's pick, if it holds one, with its latency and @p ok.
 * @rust dropping the balancer's in-flight guard with the outcome
 */
void px_http_pick_done(http_conn *h, bool ok);

#endif
