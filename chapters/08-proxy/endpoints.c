/*
 * Chapter 08, part 2: the endpoints file (endpoints.h has the format and the contract). Every function returns a
 * neutral value until written; each TODO says what to do and why.
 *
 * A plan that works: split the text into lines yourself (memchr for '\n'), keep the line number, cut each line at
 * its first '#', trim spaces, tabs and '\r' from both ends, and skip what is left empty. Work on (pointer, length)
 * pairs: the text is not NUL-terminated, and its last line may have no '\n'.
 */
#define _POSIX_C_SOURCE 200809L

#include "endpoints.h"

#include <errno.h>

int px_endpoints_parse(const char *text, size_t len, px_endpoint_addr **out, size_t *count, char *err, size_t err_len)
{
    /* TODO: set *out = NULL and *count = 0 first, so that every failure leaves them defined. For each address line:
     * - "[v6]:port" (find the ']') or "v4:port" (the only ':'; a second ':' means an IPv6 address without brackets);
     * - the host goes to inet_pton() (AF_INET or AF_INET6) through a NUL-terminated copy: inet_pton needs one, and a
     *   host longer than INET6_ADDRSTRLEN - 1 cannot be valid;
     * - the port: decimal digits only, 1 to 65535, and nothing after them. Count the digits before you trust the
     *   value, or "4294967376" wraps to a port that looks valid;
     * - fill a sockaddr_in / sockaddr_in6 inside the sockaddr_storage (zero it first: padding is compared by nobody
     *   but copied by everybody), set len, and write the canonical text with inet_ntop(): "[::1]:80", not "[0::1]:80";
     * - compare with every address kept so far (px_endpoint_addr_equal); a duplicate is an error naming both lines.
     * Grow the array with realloc (doubling). On any error write "line N: ..." into err (snprintf, which truncates
     * safely; err may be NULL), free what you allocated and return -EINVAL (-ENOMEM if realloc failed). An empty list
     * is a success with *out == NULL: the proxy answers 503 rather than refusing to start. */
    (void)text, (void)len, (void)out, (void)count, (void)err, (void)err_len;
    return -ENOSYS;
}

int px_endpoints_load(const char *path, px_endpoint_addr **out, size_t *count, char *err, size_t err_len)
{
    /* TODO: open(path, O_RDONLY | O_CLOEXEC) and read() until 0 into a growing malloc'd buffer (retry on EINTR). A
     * failure returns -errno, with err saying "<path>: <strerror>" so the operator knows which file. Then parse the
     * bytes (they are not NUL-terminated, which is why parse takes a length), free them, and prefix a parse error
     * with the path. */
    (void)path, (void)out, (void)count, (void)err, (void)err_len;
    return -ENOSYS;
}

bool px_endpoint_addr_equal(const px_endpoint_addr *a, const px_endpoint_addr *b)
{
    /* TODO: same ss_family, then same port and address: sin_port and sin_addr.s_addr for AF_INET, sin6_port and the
     * 16 bytes of sin6_addr for AF_INET6. Compare those fields, not whole structs: memcmp over a sockaddr_storage also
     * compares padding and sin6_flowinfo, which say nothing about which endpoint it is. */
    (void)a, (void)b;
    return false;
}
