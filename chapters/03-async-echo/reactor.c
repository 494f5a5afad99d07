/*
 * reactor.c — chapter 03, part 1: non-blocking fds and a level-triggered epoll reactor.   (exercise skeleton)
 *
 * Yours: every function below. Each returns -ENOSYS (or does nothing) so the file compiles and the tests run;
 * replace the body, and delete the `(void)param;` lines as you start using the parameters.
 *
 * The design in one paragraph (reactor.h has the contract): the kernel keeps 64 bits of ours per epoll entry.
 * Store the ae_source pointer there (`epoll_event.data.ptr`), and one epoll_wait tells you directly whose fd is
 * ready — mio stores a Token there and Tokio maps it to the task. Errors are values: `-errno`, never a bare -1.
 *
 * Suggested helpers (static, yours to write): `to_epoll(interest)` — AE_READABLE → EPOLLIN | EPOLLRDHUP,
 * AE_WRITABLE → EPOLLOUT, never EPOLLET; `from_epoll(events)` — the reverse, plus EPOLLHUP/EPOLLRDHUP →
 * AE_HANGUP and EPOLLERR → AE_ERROR (epoll reports those two whether you asked or not).
 */
#define _GNU_SOURCE
#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int ae_set_nonblocking(int fd)
{
    /* TODO: read the status flags with fcntl(fd, F_GETFL), add O_NONBLOCK, write them back with F_SETFL.
     * Rust: mio calls set_nonblocking(true) on every socket it registers; a blocking read inside the loop would
     * stop every other connection. Trap: F_SETFL with just O_NONBLOCK would drop the other flags (O_APPEND...);
     * and a failure is -errno (EBADF for a closed fd), not -1. */
    (void)fd;
    return -ENOSYS;
}

int ae_reactor_init(ae_reactor *r)
{
    /* TODO: epoll_create1(EPOLL_CLOEXEC) into r->epfd (-1 on failure, and return -errno); zero the counters.
     * Rust: Poll::new(). Trap: without EPOLL_CLOEXEC every child the program execs inherits the epoll fd. */
    r->epfd = -1;
    return -ENOSYS;
}

int ae_reactor_register(ae_reactor *r, ae_source *src, int fd, uint32_t interest, ae_ready_fn *on_ready)
{
    /* TODO: set src->fd = -1 first (the failure state); refuse bits other than AE_READABLE | AE_WRITABLE with
     * -EINVAL; EPOLL_CTL_ADD the fd with events = to_epoll(interest) and data.ptr = src; on success fill in
     * src->fd, src->interest and src->on_ready and count the source in r->n_sources.
     * Rust: Registry::register(&mut source, token, interest). The borrow checker makes sure a registered source
     * outlives its registration; here the header's contract does: src must not move or die until deregistered.
     * Trap: level-triggered means NO EPOLLET. With EPOLLET a handler that stops before EAGAIN never hears about
     * the rest of the data, and the connection hangs. */
    (void)r;
    (void)fd;
    (void)interest;
    (void)on_ready;
    src->fd = -1;
    return -ENOSYS;
}

int ae_reactor_modify(ae_reactor *r, ae_source *src, uint32_t interest)
{
    /* TODO: -ENOENT if src->fd < 0; -EINVAL for unknown bits; if the interest is unchanged, return 0 without a
     * system call (the echo loop calls this after every read); else EPOLL_CTL_MOD and record src->interest.
     * Rust: Registry::reregister. Trap: level-triggered readiness is reported for as long as it lasts, so a
     * source must stop asking for what it cannot use (a full connection must drop AE_READABLE), or the loop
     * spins at 100% CPU. */
    (void)r;
    (void)src;
    (void)interest;
    return -ENOSYS;
}

int ae_reactor_deregister(ae_reactor *r, ae_source *src)
{
    /* TODO: -ENOENT if src->fd < 0; EPOLL_CTL_DEL; then erase this source from the part of the current batch
     * not yet dispatched (r->events[r->batch_pos .. r->batch_len): set data.ptr = NULL where it equals src);
     * src->fd = -1, src->interest = 0, one source fewer.
     * Rust: Registry::deregister; dropping the registration ends the borrow. Trap: a callback in the middle of a
     * batch may free another connection whose event is later in the same batch. If you only DEL, the kernel
     * forgets it but your array still holds the pointer: the next dispatch is a use-after-free (ASan will say
     * heap-use-after-free inside ae_reactor_poll). */
    (void)r;
    (void)src;
    return -ENOSYS;
}

int ae_reactor_poll(ae_reactor *r, int timeout_ms)
{
    /* TODO: n = epoll_wait(r->epfd, r->events, AE_MAX_EVENTS, timeout_ms). EINTR (a signal arrived) is not an
     * error: return 0 so the caller re-checks its deadlines; another failure is -errno. Then, with batch_len = n,
     * walk batch_pos from 0 to batch_len: skip entries whose data.ptr is NULL, call src->on_ready(src,
     * from_epoll(events)) for the others, and count the calls. Reset batch_len and batch_pos to 0 at the end.
     * Rust: Poll::poll followed by Tokio's driver waking each task. Trap: read each event (copy it) and advance
     * batch_pos BEFORE calling the callback, because the callback may deregister sources. */
    (void)r;
    (void)timeout_ms;
    return -ENOSYS;
}

void ae_reactor_close(ae_reactor *r)
{
    /* TODO: close r->epfd if it is >= 0, then set it to -1 and zero the counters, so a second call (or a call
     * after a failed init) does nothing. Rust: impl Drop for Poll. Trap: close(-1) is harmless, but closing an
     * fd number twice may close somebody else's file opened in between. */
    (void)r;
}
