/*
 * uring.c — chapter 03, part 6: the echo server on io_uring (reference solution).
 *
 * Every request carries a 64-bit user_data that comes back in its completions. Here it is a pointer to the
 * connection (NULL for the server's own requests) with the kind of request in the low three bits, which malloc's
 * 16-byte alignment leaves free. A connection counts its requests in flight and is freed only when that count is
 * 0: until then the kernel may still complete a request that names it, or read from a buffer it owes.
 */
#define _GNU_SOURCE
#include "uring.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* What a request is, kept in user_data's low bits. */
enum { OP_ACCEPT = 1, OP_SIGNAL, OP_RETRY, OP_DRAIN, OP_RECV, OP_SEND, OP_CANCEL, OP_MASK = 7 };

/* One connection: the state a tokio-uring task keeps across its awaits. */
typedef struct ae_uconn {
    int fd;
    int inflight;         /* requests naming this connection that have not ended */
    bool recv_armed;      /* the multishot receive runs */
    bool recv_cancelling; /* its cancellation has been asked for */
    bool sending;         /* a send is in flight (one at a time keeps the bytes in order) */
    bool send_cancelling; /* its cancellation has been asked for */
    bool peer_done;       /* the peer shut down its side: nothing more will arrive */
    bool broken;          /* an error on the socket: nothing more can be sent either */
    bool closing;         /* shutdown: send what is owed, receive nothing more */
    bool waiting_buffer;  /* on the server's starved list */
    int32_t head, tail;   /* owed buffers, oldest first, linked through buf_next; -1 when none */
    uint32_t sent;        /* bytes of the head buffer already sent */
    size_t owed;          /* bytes received and not yet sent */
    struct ae_uconn *prev, *next, *next_starved;
} ae_uconn;

static uint64_t tag(const void *owner, int op) { return (uint64_t)(uintptr_t)owner | (uint64_t)op; }

/* A free submission entry, counted as a request in flight. When the queue is full, what is in it is submitted
 * first: one extra io_uring_enter, only under a burst. */
static struct io_uring_sqe *sqe_for(ae_uring_server *s)
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

/* Asks the kernel to cancel the request tagged (owner, op). The cancellation is a request of its own, with a
 * completion of its own; the cancelled request still ends with a completion (-ECANCELED, or its real result when
 * it finished first). */
static void cancel(ae_uring_server *s, ae_uconn *owner, int op)
{
    struct io_uring_sqe *sqe = sqe_for(s);
    io_uring_prep_cancel64(sqe, tag(owner, op), 0);
    io_uring_sqe_set_data64(sqe, tag(owner, OP_CANCEL));
    if (owner)
        owner->inflight++;
}

/* ---- the server's own requests --------------------------------------------------------------------------------- */

static void arm_accept(ae_uring_server *s)
{
    if (s->accepting || s->retry_armed || s->stopping || s->listen_fd < 0 || s->n_conns >= s->cfg.max_conns)
        return;
    struct io_uring_sqe *sqe = sqe_for(s);
    io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(NULL, OP_ACCEPT));
    s->accepting = true;
}

static void arm_timeout(ae_uring_server *s, struct __kernel_timespec *ts, int ms, int op)
{
    *ts = (struct __kernel_timespec){.tv_sec = ms / 1000, .tv_nsec = (long long)(ms % 1000) * 1000000};
    struct io_uring_sqe *sqe = sqe_for(s);
    io_uring_prep_timeout(sqe, ts, 0, 0);
    io_uring_sqe_set_data64(sqe, tag(NULL, op));
}

/* A poll request, not a read: a read of a signalfd that cannot finish at once would go to one of io_uring's worker
 * threads, and a signalfd only ever reports the signals of the thread that reads it. */
static void arm_signal_poll(ae_uring_server *s)
{
    if (s->signal_fd < 0 || s->reading_signals || s->stopping)
        return;
    struct io_uring_sqe *sqe = sqe_for(s);
    io_uring_prep_poll_add(sqe, s->signal_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(NULL, OP_SIGNAL));
    s->reading_signals = true;
}

/* ---- buffers ----------------------------------------------------------------------------------------------------- */

static uint8_t *buf_addr(const ae_uring_server *s, uint32_t bid) { return s->bufs + (size_t)bid * s->cfg.buf_size; }

/* Hands buffer @p bid back to the kernel, which may fill it from the next receive. */
static void buf_give_back(ae_uring_server *s, uint32_t bid)
{
    io_uring_buf_ring_add(s->br, buf_addr(s, bid), (unsigned)s->cfg.buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask(AE_URING_BUFS), 0);
    io_uring_buf_ring_advance(s->br, 1);
    s->bufs_held--;
}

/* Queues buffer @p bid, just filled with @p len bytes, behind what the connection already owes. */
static void owe(ae_uring_server *s, ae_uconn *c, uint32_t bid, uint32_t len)
{
    s->buf_len[bid] = len;
    s->buf_next[bid] = -1;
    if (c->tail >= 0)
        s->buf_next[c->tail] = (int32_t)bid;
    else
        c->head = (int32_t)bid;
    c->tail = (int32_t)bid;
    c->owed += len;
}

/* Drops the head buffer (all of it sent, or abandoned) and gives it back. Never while a send reads from it. */
static void drop_head(ae_uring_server *s, ae_uconn *c)
{
    uint32_t bid = (uint32_t)c->head;
    c->owed -= s->buf_len[bid] - c->sent;
    c->sent = 0;
    c->head = s->buf_next[bid];
    if (c->head < 0)
        c->tail = -1;
    buf_give_back(s, bid);
}

/* ---- connections ------------------------------------------------------------------------------------------------- */

static void arm_recv(ae_uring_server *s, ae_uconn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = AE_URING_BGID;
    io_uring_sqe_set_data64(sqe, tag(c, OP_RECV));
    c->inflight++;
    c->recv_armed = true;
    s->stats.recv_armed++;
}

static void start_send(ae_uring_server *s, ae_uconn *c)
{
    uint32_t bid = (uint32_t)c->head;
    struct io_uring_sqe *sqe = sqe_for(s);
    io_uring_prep_send(sqe, c->fd, buf_addr(s, bid) + c->sent, s->buf_len[bid] - c->sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(c, OP_SEND));
    c->inflight++;
    c->sending = true;
}

/* Parks @p c until a buffer comes back to the ring (feed_starved arms its receive then). */
static void park(ae_uring_server *s, ae_uconn *c)
{
    if (c->waiting_buffer)
        return;
    c->waiting_buffer = true;
    c->next_starved = s->starved;
    s->starved = c;
}

static void starved_remove(ae_uring_server *s, ae_uconn *c)
{
    for (ae_uconn **p = &s->starved; c->waiting_buffer && *p; p = &(*p)->next_starved)
        if (*p == c) {
            *p = c->next_starved;
            c->waiting_buffer = false;
        }
}

/* Frees a connection the kernel no longer holds anything of. */
static void release(ae_uring_server *s, ae_uconn *c)
{
    while (c->head >= 0)
        drop_head(s, c);
    starved_remove(s, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c);
    s->n_conns--;
    s->stats.closed++;
    if (s->stopping && s->n_conns == 0 && s->drain_armed)
        cancel(s, NULL, OP_DRAIN);
    arm_accept(s); /* a place is free: let a waiting client in */
}

/*
 * After every completion that concerns @p c: send what it owes, receive again, stop receiving, or finish. A
 * finished connection has its requests cancelled and is freed once the last of them has ended; the caller must
 * not touch it after that.
 */
static void step(ae_uring_server *s, ae_uconn *c)
{
    bool give_up = c->broken || (c->closing && s->drain_expired);
    if (give_up || ((c->peer_done || c->closing) && c->head < 0)) {
        if (c->recv_armed && !c->recv_cancelling) {
            c->recv_cancelling = true;
            cancel(s, c, OP_RECV);
        }
        if (give_up && c->sending && !c->send_cancelling) {
            c->send_cancelling = true;
            cancel(s, c, OP_SEND);
        }
        if (c->inflight == 0)
            release(s, c);
        return;
    }
    if (c->head >= 0 && !c->sending)
        start_send(s, c);
    bool want_more = !c->peer_done && !c->closing && c->owed < s->cfg.buf_size;
    if (want_more && !c->recv_armed && !c->waiting_buffer) {
        if (s->bufs_held < AE_URING_BUFS) {
            arm_recv(s, c);
        } else { /* every buffer is owed somewhere: wait for one to come back */
            park(s, c);
        }
    }
    if (!want_more && c->recv_armed && !c->recv_cancelling) { /* backpressure: take no more of this peer's bytes */
        c->recv_cancelling = true;
        cancel(s, c, OP_RECV);
    }
}

/* Arms the receives of starved connections, as many as there are buffers back in the ring. */
static void feed_starved(ae_uring_server *s)
{
    uint32_t room = AE_URING_BUFS - s->bufs_held;
    while (s->starved && room-- > 0) {
        ae_uconn *c = s->starved;
        s->starved = c->next_starved;
        c->waiting_buffer = false;
        step(s, c);
    }
}

static void spawn(ae_uring_server *s, int fd)
{
    ae_uconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd); /* out of memory: refuse this client, keep serving the others */
        return;
    }
    int one = 1; /* a message longer than one buffer leaves in several sends: Nagle must not hold the second */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->head = c->tail = -1;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    s->stats.accepted++;
    step(s, c);
}

/* ---- completions ------------------------------------------------------------------------------------------------- */

static void on_recv(ae_uring_server *s, ae_uconn *c, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE)) { /* the multishot receive has ended */
        c->recv_armed = c->recv_cancelling = false;
        c->inflight--;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        uint32_t bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        s->bufs_held++;
        if (cqe->res > 0)
            owe(s, c, bid, (uint32_t)cqe->res);
        else
            buf_give_back(s, bid);
    }
    if (cqe->res == 0) {
        c->peer_done = true;
    } else if (cqe->res == -ENOBUFS) {
        s->stats.no_buffers++;
        park(s, c);
    } else if (cqe->res < 0 && cqe->res != -ECANCELED) {
        c->peer_done = c->broken = true;
    }
    step(s, c);
}

static void on_send(ae_uring_server *s, ae_uconn *c, const struct io_uring_cqe *cqe)
{
    c->sending = c->send_cancelling = false;
    c->inflight--;
    if (cqe->res < 0) { /* reset, broken pipe, or cancelled at the drain's end: what is owed is lost */
        c->peer_done = c->broken = true;
    } else {
        c->sent += (uint32_t)cqe->res; /* a short send leaves the rest for the next one */
        c->owed -= (size_t)cqe->res;
        s->stats.echoed += (uint64_t)cqe->res;
        if (c->sent == s->buf_len[c->head])
            drop_head(s, c);
    }
    step(s, c);
}

static void on_accept(ae_uring_server *s, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        s->accepting = false;
    if (cqe->res >= 0) {
        if (s->stopping)
            close(cqe->res);
        else
            spawn(s, cqe->res);
        if (s->accepting && s->n_conns >= s->cfg.max_conns) { /* the limit: new clients wait in the backlog */
            s->stats.accept_paused++;
            cancel(s, NULL, OP_ACCEPT);
        }
    } else if (cqe->res == -EMFILE || cqe->res == -ENFILE) { /* out of descriptors: try again later, not now */
        s->stats.accept_paused++;
        if (!s->retry_armed && !s->stopping) {
            s->retry_armed = true;
            arm_timeout(s, &s->retry_ts, AE_ACCEPT_RETRY_MS, OP_RETRY);
        }
    }
    arm_accept(s); /* the multishot ended for another reason (or was cancelled for the limit, now lifted) */
}

static void begin_drain(ae_uring_server *s)
{
    for (ae_uconn *c = s->conns, *next; c; c = next) {
        next = c->next; /* step may free c */
        c->closing = true;
        step(s, c);
    }
}

static void dispatch(ae_uring_server *s, const struct io_uring_cqe *cqe)
{
    ae_uconn *c = (ae_uconn *)(uintptr_t)(cqe->user_data & ~(uint64_t)OP_MASK);
    s->stats.completions++;
    if (!(cqe->flags & IORING_CQE_F_MORE)) /* the request's last completion: the kernel holds it no more */
        s->inflight--;
    switch ((int)(cqe->user_data & OP_MASK)) {
    case OP_RECV:
        on_recv(s, c, cqe);
        break;
    case OP_SEND:
        on_send(s, c, cqe);
        break;
    case OP_ACCEPT:
        on_accept(s, cqe);
        break;
    case OP_CANCEL:
        if (c) {
            c->inflight--;
            step(s, c);
        }
        break;
    case OP_SIGNAL:
        s->reading_signals = false;
        if (cqe->res > 0 && read(s->signal_fd, &s->siginfo, sizeof s->siginfo) == (ssize_t)sizeof s->siginfo)
            ae_uring_server_stop(s);
        else if (cqe->res != -ECANCELED)
            arm_signal_poll(s); /* woken for nothing: poll again */
        break;
    case OP_RETRY:
        s->retry_armed = false;
        arm_accept(s);
        break;
    case OP_DRAIN:
        s->drain_armed = false;
        if (cqe->res == -ETIME) {
            s->drain_expired = true;
            begin_drain(s);
        }
        break;
    default:
        break;
    }
}

/* ---- the server -------------------------------------------------------------------------------------------------- */

static int open_listener(ae_uring_server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->cfg.port)};
    if (inet_pton(AF_INET, s->cfg.host, &a.sin_addr) != 1)
        return -EINVAL;
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
        return -errno;
    int one = 1;
    socklen_t len = sizeof a;
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr; len says how much of it the kernel may use. */
    if (setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->listen_fd, SOMAXCONN) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&a, &len) != 0)
        return -errno;
    s->port = ntohs(a.sin_port);
    return 0;
}

static int open_ring(ae_uring_server *s)
{
    /* One thread submits, and completions' work runs when the loop asks for them: the kernel can skip the
     * interrupts it would use to run that work at once (kernels from 6.1; older ones refuse, so retry without). */
    struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
    int rc = io_uring_queue_init_params(AE_URING_ENTRIES, &s->ring, &p);
    if (rc == -EINVAL) {
        p = (struct io_uring_params){0};
        rc = io_uring_queue_init_params(AE_URING_ENTRIES, &s->ring, &p);
    }
    if (rc < 0)
        return rc;
    s->ring_ready = true;

    s->br_bytes = AE_URING_BUFS * sizeof(struct io_uring_buf);
    s->bufs_bytes = AE_URING_BUFS * s->cfg.buf_size;
    void *br = mmap(NULL, s->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *bufs = mmap(NULL, s->bufs_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    s->br = br == MAP_FAILED ? NULL : br;
    s->bufs = bufs == MAP_FAILED ? NULL : bufs;
    if (s->br == NULL || s->bufs == NULL)
        return -ENOMEM;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)s->br, .ring_entries = AE_URING_BUFS, .bgid = AE_URING_BGID};
    rc = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(s->br);
    s->bufs_held = AE_URING_BUFS;
    for (uint32_t bid = 0; bid < AE_URING_BUFS; bid++)
        buf_give_back(s, bid);
    return 0;
}

static int open_signals(ae_uring_server *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &set, &s->saved_mask);
    if (rc != 0)
        return -rc;
    s->mask_saved = true;
    s->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return s->signal_fd < 0 ? -errno : 0;
}

int ae_uring_server_open(ae_uring_server *s, const ae_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->listen_fd = s->signal_fd = -1;
    s->cfg = *cfg;
    if (cfg->max_conns < 0 || cfg->drain_timeout_ms < 0 || cfg->idle_timeout_ms != 0 || cfg->buf_size > (1u << 30))
        return -EINVAL;
    s->cfg.host = NULL; /* borrowed for this call only */
    if (s->cfg.max_conns == 0)
        s->cfg.max_conns = 1024;
    if (s->cfg.drain_timeout_ms == 0)
        s->cfg.drain_timeout_ms = AE_DEFAULT_DRAIN_MS;
    if (s->cfg.buf_size == 0)
        s->cfg.buf_size = AE_DEFAULT_BUF_SIZE;
    s->cfg.host = cfg->host ? cfg->host : "127.0.0.1";
    int rc = open_listener(s);
    s->cfg.host = NULL;
    if (rc == 0)
        rc = open_ring(s);
    if (rc == 0 && cfg->handle_signals)
        rc = open_signals(s);
    if (rc != 0)
        ae_uring_server_close(s);
    return rc;
}

uint16_t ae_uring_server_port(const ae_uring_server *s) { return s->port; }

int ae_uring_server_run(ae_uring_server *s)
{
    if (!s->ring_ready)
        return -EBADF;
    arm_signal_poll(s);
    arm_accept(s);
    while (!s->stopping || s->inflight > 0) {
        feed_starved(s);
        s->stats.enters++;
        int rc = io_uring_submit_and_wait(&s->ring, 1); /* this turn's requests, and the wait, in one call */
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
            return rc;
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&s->ring, head, cqe)
        {
            seen++;
            dispatch(s, cqe);
        }
        io_uring_cq_advance(&s->ring, seen);
    }
    return 0;
}

void ae_uring_server_stop(ae_uring_server *s)
{
    if (s->stopping || !s->ring_ready)
        return;
    s->stopping = true;
    if (s->accepting)
        cancel(s, NULL, OP_ACCEPT);
    if (s->listen_fd >= 0) { /* the accept request holds its own reference until it ends */
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->reading_signals)
        cancel(s, NULL, OP_SIGNAL);
    if (s->retry_armed)
        cancel(s, NULL, OP_RETRY);
    if (s->n_conns > 0) {
        s->drain_armed = true;
        arm_timeout(s, &s->drain_ts, s->cfg.drain_timeout_ms, OP_DRAIN);
    }
    begin_drain(s);
}

/* Cancels every request still in flight and waits (at most a second) for their last completions, so that nothing
 * the kernel holds points into memory about to be freed. */
static void cancel_everything(ae_uring_server *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    if (sqe != NULL) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, 0);
    }
    int64_t deadline = ae_now_ms() + 1000;
    while (s->inflight > 0 && ae_now_ms() < deadline) {
        struct __kernel_timespec ts = {.tv_nsec = 100 * 1000000};
        struct io_uring_cqe *cqe;
        (void)io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&s->ring, head, cqe)
        {
            seen++;
            int op = (int)(cqe->user_data & OP_MASK);
            if (op == OP_ACCEPT && cqe->res >= 0)
                close(cqe->res); /* a client accepted as everything closes */
            if (cqe->user_data != 0 && !(cqe->flags & IORING_CQE_F_MORE))
                s->inflight--;
        }
        io_uring_cq_advance(&s->ring, seen);
    }
}

void ae_uring_server_close(ae_uring_server *s)
{
    if (s->ring_ready) {
        if (s->inflight > 0)
            cancel_everything(s);
        io_uring_queue_exit(&s->ring);
        s->ring_ready = false;
    }
    s->inflight = 0;
    while (s->conns) {
        ae_uconn *c = s->conns;
        s->conns = c->next;
        close(c->fd);
        free(c);
        s->n_conns--;
        s->stats.closed++;
    }
    s->starved = NULL;
    if (s->br)
        munmap(s->br, s->br_bytes);
    if (s->bufs)
        munmap(s->bufs, s->bufs_bytes);
    s->br = NULL;
    s->bufs = NULL;
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    if (s->signal_fd >= 0) {
        sigset_t set; /* a signal still pending would kill the process once unblocked: take it now */
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
        close(s->signal_fd);
        s->signal_fd = -1;
    }
    if (s->mask_saved)
        pthread_sigmask(SIG_SETMASK, &s->saved_mask, NULL);
    s->mask_saved = false;
}
