/*
 * uring.c — chapter 03, part 6 (optional): the echo server on io_uring.               (exercise skeleton)
 *
 * Given: the connection's struct, the user_data tags and sqe_for. Yours: everything else; each public function
 * returns -ENOSYS, 0 or nothing so the file compiles and the tests run. uring.h describes the whole design; the
 * README's part 6 explains completions, multishot requests and provided buffers.
 *
 * Suggested helpers (static, yours to write):
 *   cancel(s, owner, op)       IORING_OP_ASYNC_CANCEL of the request tagged (owner, op); a request of its own
 *   arm_accept(s)              io_uring_prep_multishot_accept, unless accepting, stopping or at max_conns
 *   arm_signal_poll(s)         io_uring_prep_poll_add(signal_fd, POLLIN); read the signalfd when it completes
 *   arm_timeout(s, ts, ms, op) io_uring_prep_timeout: the accept retry after EMFILE, the drain's end
 *   buf_give_back(s, bid)      io_uring_buf_ring_add + io_uring_buf_ring_advance(br, 1)
 *   owe / drop_head            the connection's queue of filled buffers (buf_len, buf_next)
 *   arm_recv(s, c)             io_uring_prep_recv_multishot, IOSQE_BUFFER_SELECT, buf_group AE_URING_BGID
 *   start_send(s, c)           io_uring_prep_send from the head buffer, at c->sent, with MSG_NOSIGNAL
 *   step(s, c)                 after each completion: send, receive again, stop receiving, or finish and free
 *   on_accept / on_recv / on_send / dispatch   one per kind of completion
 */
#define _GNU_SOURCE
#include "uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What a request is, kept in user_data's low three bits; the rest is the connection (NULL for the server's own).
 * malloc's alignment leaves those bits free. */
enum { OP_ACCEPT = 1, OP_SIGNAL, OP_RETRY, OP_DRAIN, OP_RECV, OP_SEND, OP_CANCEL, OP_MASK = 7 };

/* One connection: the state a tokio-uring task keeps across its awaits. A suggestion: change it as you need. */
typedef struct ae_uconn {
    int fd;
    int inflight;         /* requests naming this connection that have not ended: free it only at 0 */
    bool recv_armed;      /* the multishot receive runs */
    bool recv_cancelling; /* its cancellation has been asked for */
    bool sending;         /* a send is in flight (one at a time keeps the bytes in order) */
    bool send_cancelling; /* its cancellation has been asked for */
    bool peer_done;       /* the peer shut down its side: nothing more will arrive */
    bool broken;          /* an error on the socket: nothing more can be sent either */
    bool closing;         /* shutdown: send what is owed, receive nothing more */
    bool waiting_buffer;  /* parked until a buffer comes back to the ring */
    int32_t head, tail;   /* owed buffers, oldest first, linked through s->buf_next; -1 when none */
    uint32_t sent;        /* bytes of the head buffer already sent */
    size_t owed;          /* bytes received and not yet sent */
    struct ae_uconn *prev, *next, *next_starved;
} ae_uconn;

/* The user_data of the request of kind @p op that belongs to @p owner. */
static inline uint64_t tag(const void *owner, int op) { return (uint64_t)(uintptr_t)owner | (uint64_t)op; }

/* A free submission entry, counted in s->inflight (each request ends with one completion without
 * IORING_CQE_F_MORE: count it down there). When the queue is full, what is in it is submitted first. */
static inline struct io_uring_sqe *sqe_for(ae_uring_server *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (sqe == NULL) {
        s->stats.enters++;
        (void)io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
        if (sqe == NULL)
            abort(); /* the queue was just emptied */
    }
    s->inflight++;
    return sqe;
}

int ae_uring_server_open(ae_uring_server *s, const ae_config *cfg)
{
    /* TODO (part 6): zero *s, set listen_fd and signal_fd to -1 (so that close works after any failure), copy cfg
     * and check it as ae_server_open does, plus: idle_timeout_ms must be 0 (-EINVAL). Fill in the defaults. Then:
     * the listener (socket, SO_REUSEADDR, bind, listen, getsockname); the ring (io_uring_queue_init_params with
     * IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, retried without flags on -EINVAL; any other error,
     * such as -ENOSYS or -EPERM, is returned as is); the buffer ring (mmap AE_URING_BUFS struct io_uring_buf and
     * AE_URING_BUFS * buf_size bytes of buffers, io_uring_register_buf_ring with bgid AE_URING_BGID,
     * io_uring_buf_ring_init, then give every buffer to the kernel); with cfg->handle_signals, block SIGINT and
     * SIGTERM and open a signalfd (SFD_NONBLOCK | SFD_CLOEXEC). On any failure, ae_uring_server_close(s) and
     * return the error. Rust: tokio_uring::net::TcpListener::bind. Trap: the buffers' addresses go to the kernel:
     * they must stay mapped until the ring is gone. */
    memset(s, 0, sizeof *s);
    s->listen_fd = s->signal_fd = -1;
    (void)cfg;
    (void)tag;
    (void)sqe_for;
    return -ENOSYS;
}

uint16_t ae_uring_server_port(const ae_uring_server *s)
{
    /* TODO (part 6): the port getsockname reported after bind (host byte order). */
    (void)s;
    return 0;
}

int ae_uring_server_run(ae_uring_server *s)
{
    /* TODO (part 6): arm the signal poll and the multishot accept. Then, until (stopping and s->inflight == 0):
     * arm the receives of parked connections while buffers are back in the ring; io_uring_submit_and_wait(ring,
     * 1), one call that submits the turn's requests and waits (-EINTR, -EAGAIN and -EBUSY: carry on; another
     * error: return it); handle every completion with io_uring_for_each_cqe, then io_uring_cq_advance once.
     * Count each loop turn in stats.enters and each completion in stats.completions.
     * Completions, by tag: accept (res is the new socket: TCP_NODELAY, calloc a connection, arm its receive; at
     * max_conns cancel the accept; -EMFILE/-ENFILE: a 100 ms timeout before accepting again); receive (no
     * IORING_CQE_F_MORE: it has ended; IORING_CQE_F_BUFFER: cqe->flags >> IORING_CQE_BUFFER_SHIFT is the buffer;
     * res > 0: queue it; 0: the peer is done; -ENOBUFS: park the connection until a buffer comes back; another
     * negative: broken); send (res bytes went: advance, give the buffer back when all of it has gone; negative:
     * broken). After each, decide the connection's next step: send the head buffer if no send is in flight;
     * cancel the receive once buf_size bytes or more are owed, arm it again below that; finished (peer done and
     * nothing owed, broken, or the drain over): cancel what is in flight and free it when c->inflight is 0.
     * Rust: tokio_uring::start. Trap: a request in flight names the connection (user_data) and maybe one of its
     * buffers: freeing either before the request's last completion is a use after free the kernel commits. */
    (void)s;
    return -ENOSYS;
}

void ae_uring_server_stop(ae_uring_server *s)
{
    /* TODO (part 6): once only: cancel the multishot accept and close the listener (the request holds its own
     * reference until it ends), cancel the signal poll and the accept retry, arm a drain_timeout_ms timeout if
     * connections remain, and mark every connection closing (those that owe nothing finish at once). Rust: a
     * cancellation token. Trap: finishing a connection can free it: read c->next first. */
    (void)s;
}

void ae_uring_server_close(ae_uring_server *s)
{
    /* TODO (part 6): if requests are still in flight, cancel them all (IORING_ASYNC_CANCEL_ANY |
     * IORING_ASYNC_CANCEL_ALL) and reap completions until none is left (at most a second; close any socket an
     * accept completion still brings). io_uring_queue_exit, then free every connection and close its socket,
     * unmap the buffer ring and the buffers, close the listener, take any pending SIGINT/SIGTERM (sigtimedwait
     * with a zero timeout), close the signalfd and restore the saved mask. Safe after a failed open and twice.
     * Rust: dropping the runtime. Trap: unmapping buffers the kernel may still fill. */
    (void)s;
}
