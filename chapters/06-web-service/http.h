/**
 * @file http.h
 * @brief Chapter 06, part 1: an incremental HTTP/1.1 request parser, and the response writer.
 *
 * **Prefix.** `ws_` (`WS_` for constants) stands for *web service*: every name the chapter exports carries it.
 *
 * The parser is httparse's idea with hyper's framing rules on top. It owns no memory: the caller gives it one
 * buffer, sized once from the ::ws_limits (ws_http_buffer_size()), and feeds it bytes as they arrive. It copies
 * the bytes of one request into that buffer and stops exactly where the request ends, so a read that brought
 * two pipelined requests is fed twice: what the first call did not take is the start of the next request. One
 * byte per call gives the same request, or the same error, as the whole request in one call.
 *
 * **Error convention.** A fallible function returns a ::ws_status: ::WS_STATUS_OK (200) on success, otherwise the
 * HTTP status the failure should be answered with (400, 413, 500...). ws_http_feed() is the one exception: like
 * httparse it returns a ::ws_parse (partial, done or error) and leaves the status to answer in
 * `parser->error`. Every one is marked FT_MUST_USE: ignoring a parse result is how a server ends up serving half a
 * request.
 *
 * **Strictness, and why.** Two servers that disagree on where a request ends let an attacker hide a second
 * request inside the first (request smuggling; README.md has the CL.TE and TE.CL examples). The parser therefore
 * answers 400 to every ambiguity RFC 9112 lets a server refuse, and decides as follows where it offers a choice:
 * - **Line endings: CRLF only.** RFC 9112 §2.2 allows a recipient to take a bare LF as a line terminator; this
 *   parser does not: a bare LF, like a bare CR (which §2.2 forbids outright), is a 400. A front proxy that accepts
 *   bare LF and one that does not would split the same bytes differently; refusing both removes the question.
 * - **Empty lines before the request line** are skipped, as RFC 9112 §2.2 says a server SHOULD (some clients send
 *   a CRLF after a POST body). They are not stored and count toward no limit.
 * - **Duplicate Content-Length.** Several Content-Length fields, or one with a list (`5, 5`), make the framing
 *   invalid (RFC 9112 §6.3, item 5: "the server MUST respond with a 400"), except that RFC 9110 §8.6 lets a
 *   recipient accept *separate fields with identical values* as one. This parser accepts those, as hyper does:
 *   both readings give the same length, so nothing can be smuggled. Different values, a list, a sign, a space
 *   inside the number or an overflowing value are 400.
 * - **Transfer-Encoding.** Any Transfer-Encoding together with Content-Length is 400 (RFC 9112 §6.1: "ought to
 *   be handled as an error"; §6.3 item 3). Alone, it is answered **501 Not Implemented**, not 411: RFC 9112 §6.1
 *   says a server that does not understand a transfer coding SHOULD answer 501, while 411 Length Required tells
 *   a client that *no* length was given — a chunked request has one; it is this server that cannot decode it.
 * - **Header lines:** whitespace between a field name and its colon, and obs-fold (a line that starts with a
 *   space or a tab), are 400 (RFC 9112 §5.1 and §5.2). A field value may hold tabs, spaces, visible ASCII and
 *   bytes >= 0x80; any other control character, NUL included, is 400.
 * - **Host.** An HTTP/1.1 request without exactly one Host field is 400 (RFC 9112 §3.2, a MUST).
 * - **Request target:** origin-form only (`/path?query`). Absolute-form (`http://host/path`), `*` and anything not
 *   starting with '/' are 400; so is a byte outside visible ASCII, and a '#'.
 *
 * After ::WS_PARSE_ERROR the connection must be closed once the answer is sent: the parser no longer knows where
 * the next request would start, so it stays in its error state until ws_http_parser_init() is called again.
 */
#ifndef FERRITE_HTTP_H
#define FERRITE_HTTP_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief An HTTP status, used as the chapter's error value: 200 means success, anything else is what to answer.
 * @rust `http::StatusCode` (a `u16` newtype with associated constants)
 */
typedef enum ws_status {
    WS_STATUS_TODO = -99,                  /**< returned by the exercise skeleton: this function is not written yet */
    WS_STATUS_OK = 200,                    /**< success; `StatusCode::OK` */
    WS_STATUS_NO_CONTENT = 204,            /**< `StatusCode::NO_CONTENT` */
    WS_STATUS_BAD_REQUEST = 400,           /**< malformed or ambiguous request: close after answering */
    WS_STATUS_NOT_FOUND = 404,             /**< no route has this path */
    WS_STATUS_METHOD_NOT_ALLOWED = 405,    /**< a route has this path under another method: send Allow */
    WS_STATUS_LENGTH_REQUIRED = 411,       /**< not produced by this parser (see Transfer-Encoding above) */
    WS_STATUS_PAYLOAD_TOO_LARGE = 413,     /**< Content-Length above `max_body` */
    WS_STATUS_URI_TOO_LONG = 414,          /**< request line above `max_request_line`, or a parameter too long */
    WS_STATUS_HEADERS_TOO_LARGE = 431,     /**< header section above `max_header_bytes`, or more than `max_headers` */
    WS_STATUS_INTERNAL_ERROR = 500,        /**< the server's own mistake: bad limits, a buffer too small */
    WS_STATUS_NOT_IMPLEMENTED = 501,       /**< unknown method, or a Transfer-Encoding */
    WS_STATUS_UNAVAILABLE = 503,           /**< overloaded (later parts: pool checkout deadline), with Retry-After */
    WS_STATUS_VERSION_NOT_SUPPORTED = 505, /**< an HTTP version other than 1.0 and 1.1 */
} ws_status;

/**
 * @brief The methods this service knows; any other is answered 501. Matching is case-sensitive ("get" is 501).
 * @rust `http::Method` (its associated constants)
 */
typedef enum ws_method {
    WS_METHOD_NONE = 0, /**< no method: never in a parsed request */
    WS_GET = 1,         /**< read a resource @rust `Method::GET` */
    WS_HEAD = 2,        /**< GET without the body @rust `Method::HEAD` */
    WS_POST = 3,        /**< @rust `Method::POST` */
    WS_PUT = 4,         /**< store a resource @rust `Method::PUT` */
    WS_DELETE = 5,      /**< @rust `Method::DELETE` */
} ws_method;

/** One past the largest ::ws_method; `1u << method` is the method's bit in an Allow set (router.h). */
#define WS_METHOD_END 6

/**
 * @brief A borrowed run of bytes, not NUL-terminated. Who owns the bytes is said wherever a slice is handed out.
 * @rust `&[u8]` / `&str`
 */
typedef struct ws_str {
    const char *ptr; /**< first byte, or NULL when `len` is 0 and nothing was given */
    size_t len;      /**< number of bytes */
} ws_str;

/**
 * @brief One header field: name as sent (compare it case-insensitively), value without surrounding spaces.
 * @rust `httparse::Header<'buf>` — `name: &'buf str`, `value: &'buf [u8]`
 */
typedef struct ws_header {
    ws_str name;  /**< the field name, without the colon */
    ws_str value; /**< the field value, without leading or trailing spaces and tabs */
} ws_header;

/** Most header fields a parser can hold; ::ws_limits `max_headers` may not exceed it. */
#define WS_HEADERS_MAX 64

/**
 * @brief How much a request may use. Each bound is inclusive: a request exactly at a limit is accepted.
 * @rust hyper's `http1_max_buf_size`, httparse's fixed `[Header; N]`, axum's `DefaultBodyLimit`
 */
typedef struct ws_limits {
    size_t max_request_line; /**< bytes of the request line, CRLF not counted; above: 414 */
    size_t max_header_bytes; /**< bytes of the header section, every CRLF and the final empty line counted; above: 431 */
    size_t max_headers;      /**< header fields, 1 to ::WS_HEADERS_MAX; more: 431 */
    size_t max_body;         /**< Content-Length; above: 413 (decided before any body byte is read) */
} ws_limits;

/** The defaults: 8000-byte request line (RFC 9112 §3 asks servers to take at least that), 8 KiB of headers,
 *  32 fields, 1 MiB bodies. */
#define WS_LIMITS_DEFAULT \
    ((ws_limits){.max_request_line = 8000, .max_header_bytes = 8192, .max_headers = 32, .max_body = 1024 * 1024})

/**
 * @brief One parsed request. Every slice points into the parser's buffer.
 *
 * Valid from the ws_http_feed() that returned ::WS_PARSE_DONE until the next ws_http_next() or
 * ws_http_parser_init() on that parser: those reuse the buffer, and every slice then points at other bytes.
 * Copy what must live longer.
 * @rust `http::Request<&[u8]>` borrowed from the read buffer, as httparse's `Request<'headers, 'buf>`
 */
typedef struct ws_request {
    ws_method method;         /**< never ::WS_METHOD_NONE in a parsed request */
    ws_str target;            /**< the whole request target, `/items/7?x=1` */
    ws_str path;              /**< the target up to the first '?', still percent-encoded: `/items/7` */
    ws_str query;             /**< after the '?' (without it), `x=1`; length 0 when there is none */
    int minor;                /**< 1 for HTTP/1.1, 0 for HTTP/1.0 */
    const ws_header *headers; /**< `header_count` fields, in the order received */
    size_t header_count;      /**< at most the limits' `max_headers` */
    uint64_t content_length;  /**< 0 when absent */
    ws_str body;              /**< `content_length` bytes */
    bool keep_alive;          /**< HTTP/1.1: unless `Connection: close`; HTTP/1.0: only with `Connection: keep-alive` */
} ws_request;

/**
 * @brief The result of feeding bytes.
 * @rust `httparse::Status<usize>` inside `Result<_, httparse::Error>`
 */
typedef enum ws_parse {
    WS_PARSE_TODO = -99,  /**< returned by the exercise skeleton */
    WS_PARSE_ERROR = -1,  /**< the request is refused; `parser->error` is the status to answer; then close */
    WS_PARSE_PARTIAL = 0, /**< every byte given was taken; feed more @rust `Status::Partial` */
    WS_PARSE_DONE = 1,    /**< `parser->req` is complete; bytes after `*used` belong to the next request
                               @rust `Status::Complete(len)` */
} ws_parse;

/**
 * @brief The parser: the state of one connection's current request. One thread at a time.
 *
 * Fields marked read-only may be read by the caller; the rest belong to http.c. The parser borrows its buffer.
 * @rust the state hyper keeps per connection around httparse (which itself keeps none: it re-parses from the start)
 */
typedef struct ws_http_parser {
    /* read-only */
    ws_request req;  /**< the request, valid after ::WS_PARSE_DONE (see ::ws_request for how long) */
    ws_status error; /**< after ::WS_PARSE_ERROR: the status to answer; ::WS_STATUS_OK otherwise */
    /* private */
    ws_limits limits;                  /**< copied at init */
    char *buf;                         /**< borrowed from the caller at init, `cap` bytes */
    size_t cap;                        /**< bytes at `buf` */
    size_t len;                        /**< bytes of the current request stored in `buf` */
    int state;                         /**< where the parse stands (http.c names the states) */
    bool saw_cr;                       /**< the last byte was a CR, so the next must be LF */
    size_t line_start;                 /**< offset in `buf` of the line being read */
    size_t line_bytes;                 /**< bytes of the request line so far, CR and LF not counted */
    size_t head_bytes;                 /**< bytes of the header section so far, CRLFs counted */
    uint64_t body_need;                /**< body bytes still to come */
    ws_header headers[WS_HEADERS_MAX]; /**< the fields of `req`, slices into `buf` */
} ws_http_parser;

/**
 * @brief The buffer size a parser with these limits needs: the longest head plus the largest body.
 * @param limits borrowed for the call.
 * @return `max_request_line + 2 + max_header_bytes + max_body`.
 * @rust hyper's read buffer, sized by `max_buf_size`
 */
size_t ws_http_buffer_size(const ws_limits *limits);

/**
 * @brief Makes @p p ready for the first request of a connection.
 * @param[out] p the parser; anything it held before is forgotten.
 * @param limits copied.
 * @param buf the buffer requests are assembled in: owned by the caller, borrowed by the parser until it is
 *        initialised again or no longer used. It must outlive every ::ws_request the parser hands out.
 * @param cap bytes at @p buf, at least ws_http_buffer_size(limits).
 * @return ::WS_STATUS_OK, or ::WS_STATUS_INTERNAL_ERROR when @p cap is too small, a limit is 0, or `max_headers`
 *         exceeds ::WS_HEADERS_MAX: the parser is then in its error state (`error` 500), and a feed takes
 *         nothing and returns ::WS_PARSE_ERROR.
 * @rust `httparse::Request::new(&mut headers)`, with the buffer of `hyper::proto::h1::Conn`
 */
FT_MUST_USE ws_status ws_http_parser_init(ws_http_parser *p, const ws_limits *limits, char *buf, size_t cap);

/**
 * @brief Feeds bytes of the connection to the parser, up to the end of the current request.
 *
 * Copies bytes from @p data into the parser's buffer and parses as it goes, stopping after the last byte of the
 * request (its body included). Splitting the same bytes differently over calls never changes the outcome.
 * @param p an initialised parser.
 * @param data borrowed for the call; the parser keeps no pointer into it. May be NULL when @p len is 0.
 * @param len bytes at @p data.
 * @param[out] used bytes of @p data taken: all of them for ::WS_PARSE_PARTIAL; up to the end of the request for
 *        ::WS_PARSE_DONE (the rest, `data + *used`, belongs to the next request: feed it after ws_http_next()).
 * @return ::WS_PARSE_PARTIAL, ::WS_PARSE_DONE (`p->req` is valid), or ::WS_PARSE_ERROR (`p->error` says what to
 *         answer; the parser stays in error). Called again after DONE without ws_http_next(), it takes nothing
 *         and returns DONE again; after ERROR, ERROR again.
 * @rust `httparse::Request::parse(&mut self, buf: &'b [u8]) -> Result<Status<usize>>` with `Status::Partial`,
 *       plus hyper's body framing (`Decoder::length`)
 */
FT_MUST_USE ws_parse ws_http_feed(ws_http_parser *p, const char *data, size_t len, size_t *used);

/**
 * @brief Forgets the finished request and gets ready for the next one on the same connection.
 *
 * Invalidates every slice of `p->req` (the buffer is reused). Does nothing unless the last feed returned
 * ::WS_PARSE_DONE.
 * @rust dropping the `Request<'buf>` borrow so the connection's buffer can be advanced (`BytesMut::advance`)
 */
void ws_http_next(ws_http_parser *p);

/**
 * @brief Finds a header field by name, case-insensitively: the first one, in the order received.
 * @param req a request valid as ::ws_request says.
 * @param name NUL-terminated, borrowed for the call.
 * @return the value (a slice into the parser's buffer, valid as long as @p req), or `{NULL, 0}` when absent.
 * @rust `http::HeaderMap::get(name)`
 */
ws_str ws_request_header(const ws_request *req, const char *name);

/**
 * @brief What a handler answers; ws_http_format() turns it into bytes.
 * @rust `http::Response<&[u8]>` (axum's `IntoResponse` output)
 */
typedef struct ws_response {
    ws_status status;         /**< the code of the status line; its reason phrase is RFC 9110's */
    const char *content_type; /**< NUL-terminated, borrowed; NULL: no Content-Type field */
    const ws_header *headers; /**< `header_count` extra fields (Allow...), borrowed; may be NULL when 0 */
    size_t header_count;      /**< fields at `headers` */
    ws_str body;              /**< borrowed; its length is always sent as Content-Length */
    bool close;               /**< the connection closes after this response: send `Connection: close` */
    unsigned retry_after;     /**< seconds; 0: no Retry-After field */
    bool head;                /**< answering a HEAD: send Content-Length of the body, but not the body */
} ws_response;

/**
 * @brief Writes a response into @p out: status line, Content-Type, the extra fields, Content-Length,
 *        Retry-After, Connection: close, an empty line, then the body — in that order, each line ending in CRLF.
 *
 * Example: `HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n`. The reason phrase is the RFC 9110 one.
 * @param r borrowed for the call.
 * @param out the caller's buffer; no NUL is written after the response.
 * @param cap bytes at @p out.
 * @param[out] len bytes written; 0 on failure.
 * @return ::WS_STATUS_OK, or ::WS_STATUS_INTERNAL_ERROR when the response does not fit in @p cap (then nothing
 *         in @p out is meaningful and nothing may be sent).
 * @rust hyper's `Role::encode` for a server response (`proto::h1::role::Server::encode`)
 */
FT_MUST_USE ws_status ws_http_format(const ws_response *r, char *out, size_t cap, size_t *len);

#endif /* FERRITE_HTTP_H */
