/*
 * reactor.c — chapter 03, part 1: non-blocking fds and a level-triggered epoll reactor.   (reference solution)
 *
 * The kernel keeps, per epoll entry, 64 bits of our choosing; we store the ae_source pointer there, so one
 * epoll_wait tells us directly whose fd is ready (mio stores a Token; Tokio maps it to the task's ScheduledIo).
 * The one subtle part is the batch: the callbacks of one poll may deregister and free sources whose events are
 * still waiting in the same batch, so deregistering also erases those pending entries.
 */
#define _GNU_SOURCE
#include "reactor.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define AE_INTEREST_MASK (AE_READABLE | AE_WRITABLE)

int ae_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (flags & O_NONBLOCK)
        return 0;
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int ae_reactor_init(ae_reactor *r)
{
    r->n_sources = 0;
    r->batch_len = 0;
    r->batch_pos = 0;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    return r->epfd < 0 ? -errno : 0;
}

/* Our interest bits as epoll's. No EPOLLET: level-triggered (see reactor.h). */
static uint32_t to_epoll(uint32_t interest)
{
    return (interest & AE_READABLE ? EPOLLIN | EPOLLRDHUP : 0) | (interest & AE_WRITABLE ? EPOLLOUT : 0);
}

/* epoll's report as our readiness bits. ERR and HUP come whether asked for or not. */
static uint32_t from_epoll(uint32_t events)
{
    return (events & EPOLLIN ? AE_READABLE : 0) | (events & EPOLLOUT ? AE_WRITABLE : 0) |
           (events & (EPOLLHUP | EPOLLRDHUP) ? AE_HANGUP : 0) | (events & EPOLLERR ? AE_ERROR : 0);
}

int ae_reactor_register(ae_reactor *r, ae_source *src, int fd, uint32_t interest, ae_ready_fn *on_ready)
{
    src->fd = -1;
    if (interest & ~(uint32_t)AE_INTEREST_MASK)
        return -EINVAL;
    struct epoll_event ev = {.events = to_epoll(interest), .data.ptr = src};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    src->fd = fd;
    src->interest = interest;
    src->on_ready = on_ready;
    r->n_sources++;
    return 0;
}

int ae_reactor_modify(ae_reactor *r, ae_source *src, uint32_t interest)
{
    if (interest & ~(uint32_t)AE_INTEREST_MASK)
        return -EINVAL;
    if (src->fd < 0)
        return -ENOENT;
    if (src->interest == interest)
        return 0; /* level-triggered: nothing to re-arm, so no system call */
    struct epoll_event ev = {.events = to_epoll(interest), .data.ptr = src};
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0)
        return -errno;
    src->interest = interest;
    return 0;
}

int ae_reactor_deregister(ae_reactor *r, ae_source *src)
{
    if (src->fd < 0)
        return -ENOENT;
    /* The fd is still open (the owner closes it after us), so DEL cannot fail for a registered source unless
     * the owner broke the contract; either way the source is forgotten below. */
    int rc = epoll_ctl(r->epfd, EPOLL_CTL_DEL, src->fd, NULL) < 0 ? -errno : 0;
    /* Erase this source's events still waiting in the batch: the owner may free src as soon as we return. */
    for (int i = r->batch_pos; i < r->batch_len; i++)
        if (r->events[i].data.ptr == src)
            r->events[i].data.ptr = NULL;
    src->fd = -1;
    src->interest = 0;
    r->n_sources--;
    return rc;
}

int ae_reactor_poll(ae_reactor *r, int timeout_ms)
{
    int n = epoll_wait(r->epfd, r->events, AE_MAX_EVENTS, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    r->batch_len = n;
    int dispatched = 0;
    for (r->batch_pos = 0; r->batch_pos < r->batch_len;) {
        struct epoll_event ev = r->events[r->batch_pos++];
        ae_source *src = ev.data.ptr;
        if (src == NULL)
            continue; /* deregistered by an earlier callback of this batch */
        src->on_ready(src, from_epoll(ev.events));
        dispatched++;
    }
    r->batch_len = r->batch_pos = 0;
    return dispatched;
}

void ae_reactor_close(ae_reactor *r)
{
    if (r->epfd >= 0)
        close(r->epfd);
    r->epfd = -1;
    r->n_sources = 0;
    r->batch_len = r->batch_pos = 0;
}
