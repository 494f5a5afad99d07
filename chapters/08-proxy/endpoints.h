/**
 * @file endpoints.h
 * @brief Chapter 08, part 2: the endpoints file, the list of backends a proxy balances over.
 *
 * Linkerd learns its endpoints from the Kubernetes API through its destination service; this proxy reads them from a
 * file, re-read on SIGHUP, which plays the same part: a list that can change while connections are open. One
 * endpoint per line, numeric addresses only (no DNS: a name would need a resolver on the event loop):
 *
 *     # the payments service
 *     10.0.0.7:8080
 *     [2001:db8::1]:8080     # IPv6 in brackets, as in a URL
 *
 * Blank lines and `#` comments (a whole line, or the rest of a line after an address) are ignored, and so are spaces
 * and tabs around an address (a `\r` too, for a file written on Windows). Anything else is an error that names its
 * line: a port of 0 or above 65535, text after the port, a missing port, an address that is not numeric IPv4 or
 * bracketed IPv6, or an endpoint listed twice. An empty list is valid: the proxy then answers 503 (nowhere to send),
 * which a rollout that drains every backend relies on.
 *
 * Error convention (the whole chapter, loop.h): 0 on success, a negative errno on failure.
 */
#ifndef FERRITE_PX_ENDPOINTS_H
#define FERRITE_PX_ENDPOINTS_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/** @brief Room for the canonical text of any endpoint: "[" + 45 characters of IPv6 + "]:65535" + NUL fits. */
#define PX_ENDPOINT_TEXT_MAX 64

/**
 * @brief One endpoint: a socket address ready for connect(2), and its canonical text for logs and metrics.
 *
 * A plain value: it owns no pointer, so copying it with `=` or memcpy() is a complete copy.
 * @rust `std::net::SocketAddr` (`Copy`), with its `Display` form cached
 */
typedef struct px_endpoint_addr {
    struct sockaddr_storage ss;      /**< a `sockaddr_in` or `sockaddr_in6`, port in network order */
    socklen_t len;                   /**< the size of the address in @ref ss, for connect(2) */
    char text[PX_ENDPOINT_TEXT_MAX]; /**< canonical form, NUL-terminated: "10.0.0.7:8080", "[2001:db8::1]:8080" */
} px_endpoint_addr;

/**
 * @brief Parses the text of an endpoints file.
 *
 * @param text the file's bytes, borrowed for the call; not NUL-terminated (a NUL byte in it is an error).
 * @param len how many bytes @p text holds.
 * @param[out] out on success, a malloc'd array of @p *count endpoints in file order, the caller's to free() (NULL
 *        when the list is empty); on failure, NULL.
 * @param[out] count on success, how many endpoints; on failure, 0.
 * @param[out] err on -EINVAL, a one-line message that starts with the line's number ("line 3: port 70000 is out of
 *        range"); may be NULL. Truncated to @p err_len bytes, NUL included.
 * @param err_len the size of @p err.
 * @return 0; -EINVAL for a bad line or a duplicate (nothing allocated); -ENOMEM.
 * @rust `text.lines().enumerate().map(parse_line).collect::<Result<Vec<SocketAddr>, LineError>>()`, with
 *       `SocketAddr::from_str` for one address
 */
FT_MUST_USE int px_endpoints_parse(const char *text, size_t len, px_endpoint_addr **out, size_t *count, char *err,
                                   size_t err_len);

/**
 * @brief Reads the file at @p path whole and parses it with px_endpoints_parse().
 *
 * @param path borrowed for the call.
 * @param[out] out as for px_endpoints_parse().
 * @param[out] count as for px_endpoints_parse().
 * @param err as for px_endpoints_parse(); a parse error's message is prefixed with the path
 *        ("/etc/px/endpoints: line 3: ...").
 * @param err_len the size of @p err.
 * @return 0; -errno of open(2) or read(2) (err says the path and why: "/etc/px/endpoints: No such file or
 *         directory"); -EINVAL; -ENOMEM.
 * @rust `std::fs::read_to_string(path)?` then the parse above
 */
FT_MUST_USE int px_endpoints_load(const char *path, px_endpoint_addr **out, size_t *count, char *err, size_t err_len);

/**
 * @brief Whether two endpoints are the same: same family, same address, same port (the text is not compared).
 *
 * An IPv4 address and the same address mapped into IPv6 (10.0.0.7 written as an IPv4-mapped IPv6 address) are
 * different endpoints here, as `SocketAddr::V4` and `SocketAddr::V6` are different values.
 * @param a borrowed, not NULL.
 * @param b borrowed, not NULL.
 * @rust `impl PartialEq for SocketAddr`
 */
bool px_endpoint_addr_equal(const px_endpoint_addr *a, const px_endpoint_addr *b);

#endif /* FERRITE_PX_ENDPOINTS_H */
