/**
 * @file reactor.h
 * @brief Chapter 03, part 1: non-blocking sockets and an epoll reactor (the mio layer under Tokio).
 *
 * **Prefix.** `ae_` (`AE_` for constants) stands for *async echo*: every name of the chapter's three headers
 * carries it.
 *
 * A reactor owns one epoll instance. Each file descriptor that wants to hear about readiness is wrapped in an
 * ::ae_source, embedded in whatever owns the descriptor (a connection, the listener, the signal fd). The reactor
 * stores a pointer to the source in the kernel's epoll entry; when the kernel reports the fd ready, the reactor
 * hands the readiness to the source's callback, and the callback finds its owner with ::AE_CONTAINER_OF. That is
 * mio's `Token` → owner lookup, done with a pointer instead of a slab index.
 *
 * **Level-triggered.** Interest is registered without `EPOLLET`. As long as an fd is readable (or writable) and
 * its source asks for it, every ae_reactor_poll() reports it again. A handler that stops early (a fairness
 * budget, a full buffer) therefore loses nothing: the event comes back. The price is that interest must follow
 * the state: a source that cannot use an event must stop asking for it with ae_reactor_modify(), or the next
 * poll returns at once and the loop spins. The chapter README compares this with mio's edge-triggered choice.
 *
 * **Error convention** (the whole chapter): a fallible function returns an `int` that is 0 (or a count) on
 * success and a negative errno on failure (`-EEXIST`, `-ENOENT`, `-EBADF`, ...), libuv's convention. The
 * exercise skeleton returns `-ENOSYS`. Results are marked ::FT_MUST_USE, so ignoring one fails the build.
 *
 * **Ownership.** The reactor borrows every registered source: a source must stay at the same address and alive
 * until it is deregistered. The reactor never closes a registered fd; the owner deregisters, then closes.
 * Nothing here is thread-safe: one reactor belongs to one thread.
 */
#ifndef FERRITE_REACTOR_H
#define FERRITE_REACTOR_H

#include "ferrite.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

/**
 * @brief The owner of type @p type whose member @p member is at @p ptr.
 *
 * SAFETY: valid only when @p ptr really points at that member of a live @p type; the callback that uses it knows
 * which struct embeds the source it registered.
 * @rust looking up the owner of a mio `Token` in a `Slab`
 */
#define AE_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/** @brief Readiness bits: what a source asks for (interest) and what it is told (readiness). */
enum ae_ready {
    AE_READABLE = 1u << 0, /**< data (or EOF) can be read, or a connection accepted @rust `Interest::READABLE` */
    AE_WRITABLE = 1u << 1, /**< a write would not block @rust `Interest::WRITABLE` */
    AE_HANGUP = 1u << 2,   /**< readiness only: the peer hung up (`EPOLLHUP` / `EPOLLRDHUP`) @rust `is_read_closed()` */
    AE_ERROR = 1u << 3,    /**< readiness only: an error is pending on the socket (`EPOLLERR`) @rust `is_error()` */
};

/** Largest batch of events one ae_reactor_poll() takes from the kernel. */
#define AE_MAX_EVENTS 256

typedef struct ae_source ae_source;

/**
 * @brief Called by ae_reactor_poll() when @p src is ready.
 * @param src the registered source; the callback may modify, deregister or free it (and any other source).
 * @param ready a mix of ::ae_ready bits.
 * @rust waking the task that owns a mio registration
 */
typedef void ae_ready_fn(ae_source *src, uint32_t ready);

/**
 * @brief One registered file descriptor, embedded in its owner.
 *
 * Owned by the struct that embeds it; borrowed by the reactor between register and deregister. The reactor
 * writes `fd` and `interest`; the owner only reads them.
 * @rust `mio::event::Source` registered with a `Token`
 */
struct ae_source {
    int fd;                /**< the registered descriptor, or -1 when not registered */
    uint32_t interest;     /**< ::ae_ready bits epoll currently watches for (AE_READABLE / AE_WRITABLE) */
    ae_ready_fn *on_ready; /**< the owner's callback */
};

/**
 * @brief An epoll instance and the batch of events being dispatched.
 *
 * Invariant while dispatching: events `[batch_pos, batch_len)` have not been handed out yet; an entry whose
 * `data.ptr` is NULL belongs to a source deregistered in the meantime and is skipped.
 * @rust `mio::Poll` with its `Events`
 */
typedef struct ae_reactor {
    int epfd;                                 /**< the epoll fd, owned; -1 after ae_reactor_close() */
    int n_sources;                            /**< sources currently registered */
    int batch_len;                            /**< events returned by the last epoll_wait */
    int batch_pos;                            /**< next event to dispatch */
    struct epoll_event events[AE_MAX_EVENTS]; /**< the batch */
} ae_reactor;

/**
 * @brief Puts @p fd in non-blocking mode (`O_NONBLOCK`), keeping its other status flags.
 * @return 0 or a negative errno (`-EBADF` for a closed fd).
 * @rust `TcpStream::set_nonblocking(true)`, which mio does for every socket it registers
 */
FT_MUST_USE int ae_set_nonblocking(int fd);

/**
 * @brief Creates the epoll instance (close-on-exec) with no sources.
 * @param[out] r the reactor; on failure `r->epfd` is -1 and nothing needs closing.
 * @return 0 or a negative errno.
 * @rust `mio::Poll::new()`
 */
FT_MUST_USE int ae_reactor_init(ae_reactor *r);

/**
 * @brief Starts watching @p fd for @p interest, dispatching to @p on_ready through @p src.
 *
 * The fd should be non-blocking (the callback must never block the loop). @p src is borrowed until
 * ae_reactor_deregister(); it must not move.
 * @param interest AE_READABLE, AE_WRITABLE, both, or 0 (then only errors and hang-ups are reported).
 * @param on_ready called with @p src and the readiness bits, from ae_reactor_poll() only.
 * @param r the reactor.
 * @param fd the descriptor to watch; still owned by the caller.
 * @param[out] src the source to fill in and register; must not be registered already (its old contents are
 *         overwritten).
 * @return 0; `-EEXIST` if @p fd is already in this reactor; `-EBADF` for a bad fd; `-EINVAL` for unknown
 *         interest bits; another negative errno from `epoll_ctl`. On failure `src->fd` is -1.
 * @rust `Registry::register(&mut source, token, interest)`
 */
FT_MUST_USE int ae_reactor_register(ae_reactor *r, ae_source *src, int fd, uint32_t interest, ae_ready_fn *on_ready);

/**
 * @brief Changes what a registered source is watched for. A no-op (no system call) when unchanged.
 * @return 0; `-ENOENT` if @p src is not registered; `-EINVAL` for unknown bits; another negative errno.
 * @rust `Registry::reregister(&mut source, token, interest)`
 */
FT_MUST_USE int ae_reactor_modify(ae_reactor *r, ae_source *src, uint32_t interest);

/**
 * @brief Stops watching @p src and forgets it, including any event of the current batch not yet dispatched.
 *
 * After it returns the reactor holds no pointer to @p src, so the owner may close the fd and free @p src —
 * even from inside another source's callback in the same ae_reactor_poll().
 * @return 0, or `-ENOENT` if @p src is not registered.
 * @rust `Registry::deregister(&mut source)`
 */
FT_MUST_USE int ae_reactor_deregister(ae_reactor *r, ae_source *src);

/**
 * @brief Waits up to @p timeout_ms for readiness, then calls each ready source's callback once.
 * @param r the reactor.
 * @param timeout_ms milliseconds; 0 = do not wait; -1 = wait until something is ready.
 * @return the number of callbacks made (0 on timeout or when a signal interrupted the wait), or a negative errno.
 * @rust `Poll::poll(&mut events, timeout)`, then Tokio's driver waking each task
 */
FT_MUST_USE int ae_reactor_poll(ae_reactor *r, int timeout_ms);

/**
 * @brief Closes the epoll fd. Sources still registered are forgotten (their fds are not closed).
 *
 * Safe on a reactor whose init failed and safe to call twice.
 * @rust `impl Drop for Poll`
 */
void ae_reactor_close(ae_reactor *r);

#endif
