/*
 * Part 1: non-blocking descriptors and the epoll reactor — register, modify, deregister, dispatch to the owner.
 * Pipes and socketpairs stand in for sockets: readiness is readiness.
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

FT_PART(1, "reactor: non-blocking fds and epoll");

/* An owner that embeds its source, the way a connection does, and records what it was told. */
typedef struct owner {
    int tag;
    ae_source src;
    int calls;
    uint32_t last_ready;
    ae_reactor *r;
    struct owner *victim; /* deregistered (and "freed") by this owner's callback, when set */
} owner;

static void record_ready(ae_source *src, uint32_t ready)
{
    owner *o = AE_CONTAINER_OF(src, owner, src);
    o->calls++;
    o->last_ready = ready;
    if (o->victim != NULL) {
        ck_assert_int_eq(ae_reactor_deregister(o->r, &o->victim->src), 0);
        o->victim->tag = -1; /* as good as freed: a later call for it is a use-after-free */
    }
}

static void checked_ready(ae_source *src, uint32_t ready)
{
    owner *o = AE_CONTAINER_OF(src, owner, src);
    ck_assert_msg(o->tag != -1, "a callback ran for a source deregistered earlier in the same batch");
    record_ready(src, ready);
}

static void open_reactor(ae_reactor *r)
{
    ck_assert_int_eq(ae_reactor_init(r), 0);
    ck_assert_int_ge(r->epfd, 0);
}

FT_TEST(1, set_nonblocking_makes_an_empty_read_fail_with_eagain, 1,
        "ae_set_nonblocking adds O_NONBLOCK with fcntl(F_GETFL/F_SETFL), keeping the other flags; a read with "
        "nothing to read then fails with EAGAIN instead of blocking. A bad fd is -EBADF (negative errno).")
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(ae_set_nonblocking(p[0]), 0);
    ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    char c;
    ck_assert_int_eq(read(p[0], &c, 1), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    close(p[0]);
    close(p[1]);
    ck_assert_int_eq(ae_set_nonblocking(p[0]), -EBADF);
}

FT_TEST(1, readable_fd_is_dispatched_to_the_owner_that_registered_it, 2,
        "Store the ae_source pointer in epoll_event.data.ptr at EPOLL_CTL_ADD; after epoll_wait, call that "
        "source's on_ready with AE_READABLE. The callback finds its owner with AE_CONTAINER_OF (mio's Token).")
{
    ae_reactor r;
    open_reactor(&r);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    owner a = {.tag = 1}, b = {.tag = 2};
    int q[2];
    ck_assert_int_eq(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(ae_reactor_register(&r, &b.src, q[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(a.src.fd, p[0]);
    ck_assert_uint_eq(a.src.interest, AE_READABLE);
    ck_assert_int_eq(ae_reactor_poll(&r, 0), 0);
    ck_assert_int_eq(write(q[1], "x", 1), 1);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ck_assert_int_eq(a.calls, 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert(b.last_ready & AE_READABLE);
    ck_assert(!(b.last_ready & AE_WRITABLE));
    ae_reactor_close(&r);
    close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

FT_TEST(1, registration_errors_come_back_as_negative_errno, 1,
        "epoll_ctl failures are returned as -errno: a second ADD of the same fd is -EEXIST, a closed fd -EBADF; "
        "modify/deregister of a source that is not registered (fd -1) is -ENOENT, without calling epoll.")
{
    ae_reactor r;
    open_reactor(&r);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    owner a = {0}, b = {0}, c = {0};
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(ae_reactor_register(&r, &b.src, p[0], AE_READABLE, record_ready), -EEXIST);
    ck_assert_int_eq(b.src.fd, -1);
    ck_assert_int_eq(ae_reactor_register(&r, &c.src, 999, AE_READABLE, record_ready), -EBADF);
    ck_assert_int_eq(ae_reactor_modify(&r, &b.src, AE_WRITABLE), -ENOENT);
    ck_assert_int_eq(ae_reactor_deregister(&r, &b.src), -ENOENT);
    ck_assert_int_eq(ae_reactor_deregister(&r, &a.src), 0);
    ck_assert_int_eq(a.src.fd, -1);
    ck_assert_int_eq(ae_reactor_deregister(&r, &a.src), -ENOENT);
    ae_reactor_close(&r);
    close(p[0]), close(p[1]);
}

FT_TEST(1, interest_decides_which_readiness_is_reported, 2,
        "AE_READABLE maps to EPOLLIN, AE_WRITABLE to EPOLLOUT. A source registered for writing only is not told "
        "about readable data; after ae_reactor_modify(AE_READABLE) it is told about data and not about room.")
{
    ae_reactor r;
    open_reactor(&r);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    owner a = {0};
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, sv[0], AE_WRITABLE, record_ready), 0);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ck_assert_uint_eq(a.last_ready & (AE_READABLE | AE_WRITABLE), AE_WRITABLE);
    ck_assert_int_eq(ae_reactor_modify(&r, &a.src, AE_READABLE), 0);
    ck_assert_uint_eq(a.src.interest, AE_READABLE);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ck_assert_uint_eq(a.last_ready & (AE_READABLE | AE_WRITABLE), AE_READABLE);
    ck_assert_int_eq(ae_reactor_modify(&r, &a.src, 0), 0);
    ck_assert_int_eq(ae_reactor_poll(&r, 50), 0);
    ck_assert_int_eq(ae_reactor_modify(&r, &a.src, 0x100), -EINVAL);
    ae_reactor_close(&r);
    close(sv[0]), close(sv[1]);
}

FT_TEST(1, level_triggered_readiness_repeats_until_drained, 2,
        "Register without EPOLLET: data left unread is reported again by the next poll, so a handler that stops "
        "early loses nothing. Once the data is read, the fd is quiet.")
{
    ae_reactor r;
    open_reactor(&r);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    owner a = {0};
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(write(p[1], "xy", 2), 2);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ck_assert_int_eq(a.calls, 2);
    char buf[2];
    ck_assert_int_eq(read(p[0], buf, 2), 2);
    ck_assert_int_eq(ae_reactor_poll(&r, 20), 0);
    ck_assert_int_eq(a.calls, 2);
    ae_reactor_close(&r);
    close(p[0]), close(p[1]);
}

FT_TEST(1, deregistered_source_is_never_called_again, 1,
        "ae_reactor_deregister does EPOLL_CTL_DEL and sets src->fd = -1; the source may then be freed, so the "
        "reactor must not keep any pointer to it.")
{
    ae_reactor r;
    open_reactor(&r);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    owner a = {0};
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(ae_reactor_deregister(&r, &a.src), 0);
    ck_assert_int_eq(ae_reactor_poll(&r, 50), 0);
    ck_assert_int_eq(a.calls, 0);
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ae_reactor_close(&r);
    close(p[0]), close(p[1]);
}

FT_TEST(1, a_source_freed_by_an_earlier_callback_is_skipped_in_the_same_batch, 3,
        "One epoll_wait returns a batch; a callback may deregister and free another source whose event is still "
        "waiting in that batch. Deregister must erase those pending entries (data.ptr = NULL) and poll must skip "
        "them, or the next dispatch is a use-after-free (libuv and mio guard against the same).")
{
    ae_reactor r;
    open_reactor(&r);
    int p[2], q[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(q, O_NONBLOCK | O_CLOEXEC), 0);
    owner a = {.tag = 1, .r = &r}, b = {.tag = 2, .r = &r};
    a.victim = &b; /* whichever runs first removes the other */
    b.victim = &a;
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, checked_ready), 0);
    ck_assert_int_eq(ae_reactor_register(&r, &b.src, q[0], AE_READABLE, checked_ready), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(write(q[1], "x", 1), 1);
    sleep_ms(5);
    ck_assert_int_eq(ae_reactor_poll(&r, 1000), 1);
    ck_assert_int_eq(a.calls + b.calls, 1);
    ae_reactor_close(&r);
    close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

static void on_alarm(int sig) { (void)sig; }

FT_TEST(1, poll_times_out_with_zero_and_treats_a_signal_as_a_wake_up, 1,
        "ae_reactor_poll(r, ms) returns 0 when nothing became ready in time. epoll_wait fails with EINTR when a "
        "signal arrives: that is not an error, return 0 so the caller's loop re-checks its deadlines.")
{
    ae_reactor r;
    open_reactor(&r);
    int64_t t0 = now_ms();
    ck_assert_int_eq(ae_reactor_poll(&r, 60), 0);
    ck_assert_int_ge(now_ms() - t0, 50);
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: epoll_wait sees EINTR */
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_value = {0, 30000}};
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
    t0 = now_ms();
    ck_assert_int_eq(ae_reactor_poll(&r, 5000), 0);
    ck_assert_int_lt(now_ms() - t0, 4000);
    ae_reactor_close(&r);
}

FT_TEST(1, close_releases_the_epoll_descriptor_and_is_idempotent, 1,
        "ae_reactor_init creates one fd (epoll_create1 with EPOLL_CLOEXEC) and sets every count, n_sources "
        "included, whatever the memory held before; ae_reactor_close closes the fd, sets epfd = -1, forgets the "
        "sources still registered (n_sources 0, their fds stay open), and a second close does nothing.")
{
    int before = fd_count(0);
    ae_reactor r;
    memset(&r, 0x5a, sizeof r); /* a reactor in reused memory: init must not trust what it finds */
    open_reactor(&r);
    ck_assert_int_eq(fd_count(0), before + 1);
    ck_assert_int_eq(fcntl(r.epfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_msg(r.n_sources == 0 && r.batch_len == 0 && r.batch_pos == 0,
                  "a new reactor has n_sources %d, batch_len %d, batch_pos %d (want 0, 0, 0)", r.n_sources, r.batch_len,
                  r.batch_pos);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    owner a = {0};
    ck_assert_int_eq(ae_reactor_register(&r, &a.src, p[0], AE_READABLE, record_ready), 0);
    ck_assert_int_eq(r.n_sources, 1);
    ae_reactor_close(&r);
    ck_assert_int_eq(r.epfd, -1);
    ck_assert_msg(r.n_sources == 0, "a closed reactor still counts %d registered sources", r.n_sources);
    ck_assert_int_eq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC); /* the source's fd is still the owner's */
    ae_reactor_close(&r);
    close(p[0]), close(p[1]);
    ck_assert_int_eq(fd_count(0), before);
}
