/*
 * http.c — chapter 06, part 1: the incremental request parser and the response writer.   (exercise skeleton)
 *
 * Yours: every function below. Each returns WS_STATUS_TODO, WS_PARSE_TODO or a neutral value so the file
 * compiles and the tests run; replace the body, and delete the `(void)param;` lines as you start using them.
 *
 * The shape that makes "one byte at a time" work for free: a state machine that looks at one byte at a time
 * and keeps everything it needs in the parser struct (never a pointer into the caller's `data`).
 *   START          skip empty lines (CRLF) before the request line; the first other byte starts the line
 *   REQUEST_LINE   store bytes until CRLF, then parse `METHOD SP /target SP HTTP/1.x`
 *   HEADERS        store bytes until CRLF; an empty line ends the head: decide the framing
 *   BODY           copy Content-Length bytes (memcpy, not byte by byte), then DONE
 *   DONE / ERROR   take nothing more
 * Suggested helpers (static, yours to write):
 *   fail(p, status)              state = ERROR, p->error = status, return WS_PARSE_ERROR
 *   step(p, c)                   one byte of the head: CR must be followed by LF, LF must follow CR; count the
 *                                byte against its limit; store it; at CRLF hand the line to the next two
 *   parse_request_line(p, l, n)  method, target (path + query), version: a ws_status
 *   parse_header_line(p, l, n)   name ':' OWS value OWS into p->headers[p->req.header_count++]
 *   end_of_head(p)               Content-Length / Transfer-Encoding / Connection / Host: framing and keep-alive
 */
#include "http.h"

#include <string.h>

size_t ws_http_buffer_size(const ws_limits *limits)
{
    /* TODO (part 1): the longest head plus the largest body: max_request_line + 2 (its CRLF) + max_header_bytes
     * + max_body. Why one buffer: the request's slices must point at bytes that stay put until the handler is
     * done, and a buffer sized once from the limits means no allocation per request and no realloc moving
     * bytes under a slice. */
    (void)limits;
    return 0;
}

ws_status ws_http_parser_init(ws_http_parser *p, const ws_limits *limits, char *buf, size_t cap)
{
    /* TODO (part 1): zero *p (a compound literal), copy the limits, borrow buf/cap, state START, error OK.
     * Refuse with WS_STATUS_INTERNAL_ERROR a zero limit, max_headers above WS_HEADERS_MAX, or cap below
     * ws_http_buffer_size(limits): a parser that can overrun its buffer is worse than no parser. Leave a refused
     * parser in its error state so a careless caller's feed fails instead of writing out of bounds. */
    (void)limits;
    (void)buf;
    (void)cap;
    *p = (ws_http_parser){.error = WS_STATUS_TODO};
    return WS_STATUS_TODO;
}

ws_parse ws_http_feed(ws_http_parser *p, const char *data, size_t len, size_t *used)
{
    /* TODO (part 1): loop over data while the state is neither DONE nor ERROR: in BODY copy
     * min(rest, body_need) bytes; otherwise step one byte. Set *used to the bytes taken and return DONE (with
     * p->req.headers = p->headers), ERROR or PARTIAL. Rust: httparse's Request::parse returning
     * Status::Partial. Traps, each a test:
     *   - never take bytes past the end of a request: they are the next pipelined request (*used says where);
     *   - a line split across two feeds (even between CR and LF) must come out the same as in one feed;
     *   - limits are checked as bytes arrive, at the first byte over (a bound is inclusive): 414 for the request
     *     line, 431 for the header section or the field count, 413 from Content-Length before any body byte;
     *   - 400 for every ambiguity http.h lists: bare CR or LF, Content-Length with Transfer-Encoding, two
     *     different Content-Length values, a non-digit or overflowing length, space before the colon, obs-fold,
     *     a control character in a value, a target not starting with '/', no Host in HTTP/1.1;
     *   - 501 for an unknown method and for Transfer-Encoding alone, 505 for a version other than 1.0 and 1.1;
     *   - keep-alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`. */
    (void)p;
    (void)data;
    (void)len;
    *used = 0;
    return WS_PARSE_TODO;
}

void ws_http_next(ws_http_parser *p)
{
    /* TODO (part 1): only after DONE: forget the request (len 0, counters 0, header_count 0, state START) but
     * keep the limits and the borrowed buffer. Rust: the Request<'buf> borrow ends here, so the buffer may be
     * reused — every slice the caller still holds now points at the next request's bytes. */
    (void)p;
}

ws_str ws_request_header(const ws_request *req, const char *name)
{
    /* TODO (part 1): the first header whose name equals `name` ignoring ASCII case (RFC 9110 §5.1: field names
     * are case-insensitive, "content-length" and "Content-Length" are one field), else {NULL, 0}. */
    (void)req;
    (void)name;
    return (ws_str){NULL, 0};
}

ws_status ws_http_format(const ws_response *r, char *out, size_t cap, size_t *len)
{
    /* TODO (part 1): write "HTTP/1.1 <code> <reason>\r\n", then "Content-Type: ...\r\n" if set, each extra
     * header as "Name: value\r\n", "Content-Length: <body.len>\r\n" (always: without it a keep-alive client
     * cannot tell where this response ends), "Retry-After: <n>\r\n" if retry_after > 0, "Connection: close\r\n"
     * if close, "\r\n", then the body unless r->head. Reasons: 200 OK, 204 No Content, 400 Bad Request,
     * 404 Not Found, 405 Method Not Allowed, 411 Length Required, 413 Content Too Large, 414 URI Too Long,
     * 431 Request Header Fields Too Large, 500 Internal Server Error, 501 Not Implemented,
     * 503 Service Unavailable, 505 HTTP Version Not Supported.
     * Refuse with WS_STATUS_INTERNAL_ERROR (and *len = 0) when it does not fit: a truncated response sent as if
     * whole would desynchronise the client. Rust: hyper's Server::encode. */
    (void)r;
    (void)out;
    (void)cap;
    *len = 0;
    return WS_STATUS_TODO;
}
