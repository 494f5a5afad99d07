/*
 * http1.c — chapter 08, part 4: HTTP/1.1 heads, rewriting and the proxy's own error responses.
 * (exercise skeleton)
 *
 * Yours: every function below. Each returns PX_HTTP_TODO, -ENOSYS or a neutral value so that the file compiles
 * and the tests run; replace the body, and delete the `(void)param;` lines as you start using them.
 *
 * Two shapes, on purpose:
 *   - The head parsers keep no state between calls: each call starts again at buf[0] (a head is at most 16 KiB,
 *     so the repeated work is bounded). Then "the same result whatever the split" is true by construction, and
 *     all you must get right is to return 0, not an error, when the buffer ends inside a line.
 *   - The body scanner cannot do that (a body has no bound and its bytes are gone once forwarded): it keeps its
 *     whole state in px_http_body and looks at each byte of chunk syntax once.
 * Suggested static helpers (yours to write):
 *   is_tchar(c) / is_text(c)          the token bytes of RFC 9110 §5.6.2; a value's bytes (HTAB, SP, VCHAR, >= 0x80)
 *   name_is(p, n, "name")             a case-insensitive comparison of a whole name (strncasecmp and the length)
 *   each_element(v, n, fn, arg)       calls fn on every trimmed element of a comma-separated list
 *   parse_request_line / parse_status_line / parse_header_line    one CRLF-terminated line each
 *   derive_framing(h)                 Content-Length, Transfer-Encoding, Connection, Host, Expect: after the last line
 */
#include "http1.h"

#include <errno.h>

int px_http_parse_request(const char *buf, size_t len, px_http_head *out)
{
    /* TODO (part 4): zero *out (is_request = 1), skip CRLF pairs before the request line, then take lines up to
     * the empty one. Look only at the first min(len, PX_HTTP_MAX_HEAD) bytes: no LF there means 0 (need more) if
     * len is below the limit, PX_HTTP_TOO_LARGE otherwise. Each line must end in CRLF (a bare LF is PX_HTTP_BAD:
     * http1.h says why). The first line is `token SP target SP HTTP/1.x`; the others go to the headers array
     * (the 65th field is PX_HTTP_TOO_LARGE). After the empty line decide the framing from all fields at once:
     * the smuggling guards (PX_HTTP_AMBIGUOUS), Host, keep-alive per version, Expect, Upgrade. Return head_len.
     * Rust: httparse::Request::parse, Status::Partial for our 0. */
    (void)buf;
    (void)len;
    (void)out;
    return PX_HTTP_TODO;
}

int px_http_parse_response(const char *buf, size_t len, px_http_head *out)
{
    /* TODO (part 4): the same walk as the request (share it: one function with an is_request flag), with the
     * status line `HTTP/1.x SP 3DIGIT SP reason` first (the reason may be empty, and its space missing) and no
     * empty lines skipped before it. A response needs no Host. */
    (void)buf;
    (void)len;
    (void)out;
    return PX_HTTP_TODO;
}

const px_http_header *px_http_find(const px_http_head *h, const char *name)
{
    /* TODO (part 4): the first field whose whole name equals name, ignoring case (RFC 9110 §5.1): "Host" and
     * "host" are one field; "Content-Type-X" is not "Content-Type". */
    (void)h;
    (void)name;
    return NULL;
}

long px_http_write_request_head(const px_http_head *req, const char *client_ip, char *out, size_t out_len)
{
    /* TODO (part 4): write `method SP target SP HTTP/1.1 CRLF`, then each field that is not hop-by-hop (the fixed
     * list in http1.h, and any name listed in a Connection field, except Host, Content-Length and
     * Transfer-Encoding) and not X-Forwarded-For, then one `x-forwarded-for:` with the client's values joined by
     * ", " and client_ip last, then `connection: keep-alive` and the empty line. Check the room before each copy
     * (a small writer struct with an overflow flag keeps that in one place) and return -ENOSPC if anything did
     * not fit. */
    (void)req;
    (void)client_ip;
    (void)out;
    (void)out_len;
    return -ENOSYS;
}

long px_http_write_response_head(const px_http_head *resp, bool keep_alive, char *out, size_t out_len)
{
    /* TODO (part 4): `HTTP/1.1 SP status SP reason CRLF`, the fields that are not hop-by-hop (the same rule as the
     * request), then `connection: keep-alive` or `connection: close` from keep_alive, and the empty line. */
    (void)resp;
    (void)keep_alive;
    (void)out;
    (void)out_len;
    return -ENOSYS;
}

const char *px_http_reason(int status)
{
    /* TODO (part 4): a switch over the statuses http1.h lists, e.g. 502 "Bad Gateway"; NULL for any other. */
    (void)status;
    return NULL;
}

long px_http_error_response(int status, const char *detail, bool keep_alive, char *out, size_t out_len)
{
    /* TODO (part 4): -EINVAL unless 400 <= status <= 599 and px_http_reason() knows it. Format the body first
     * (`<status> <reason>[: detail]` and a newline) so that its length is known, then the head: status line,
     * content-type: text/plain; charset=utf-8, content-length, connection, empty line; then the body. -ENOSPC if
     * out_len is too small. */
    (void)status;
    (void)detail;
    (void)keep_alive;
    (void)out;
    (void)out_len;
    return -ENOSYS;
}
