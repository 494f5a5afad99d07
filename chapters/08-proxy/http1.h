/**
 * @file http1.h
 * @brief Chapter 08, part 4: the HTTP/1.1 message layer of the proxy: head parsing, body framing, header
 *        rewriting and the error responses the proxy writes itself.
 *
 * **Prefix.** `px_` as in the rest of the chapter. No sockets here: byte buffers in, results out. The proxy program
 * reads into a buffer on its event loop, asks this module where a head or a body ends, and forwards.
 *
 * **What a proxy needs from HTTP/1.1.** It parses a request head from the client, writes a rewritten head to the
 * upstream, copies the request body through unchanged, then does the same for the response in the other
 * direction. It never decodes a body: it only needs to know where each message ends, so that the next bytes
 * are read as the next message. Two hops that disagree on that boundary are how request smuggling works (a
 * second request hidden in the body of the first), so the parser refuses every ambiguity RFC 9112 lets it refuse.
 *
 * **Error convention: the one exception in the chapter.** The parsers and px_http_body_scan() return a
 * ::px_http_error below, not a negative errno: each value stands for the status the proxy answers with, which an
 * errno cannot say. The writers (px_http_write_request_head() and the others) keep the chapter's convention:
 * a byte count, or `-ENOSPC` / `-EINVAL`.
 *
 * **Decisions where RFC 9112 leaves a choice.**
 * - **Line ends: CRLF only.** §2.2 lets a recipient accept a bare LF; this parser answers ::PX_HTTP_BAD instead,
 *   as it does for a bare CR. A proxy that accepts bare LF in front of a server that does not (or the reverse)
 *   splits the same bytes into different messages; refusing both takes that question away.
 * - **Empty lines before a request line** (CRLF pairs a client may send after a body) are skipped, as §2.2 says a
 *   server SHOULD; they count in `head_len`, so the caller drops them with the head. Not before a status line.
 * - **Content-Length**: repeated fields or a list (`5, 5`) with one value are one length (RFC 9110 §8.6 allows
 *   it); different values are ::PX_HTTP_AMBIGUOUS; a sign, a space or a value above INT64_MAX is ::PX_HTTP_BAD.
 * - **Transfer-Encoding** together with Content-Length, or whose last coding is not `chunked` (or that names
 *   `chunked` twice) is ::PX_HTTP_AMBIGUOUS, in requests and responses alike.
 * - **Host**: an HTTP/1.1 request without exactly one Host field is ::PX_HTTP_BAD (§3.2, a MUST).
 * - A header name is a token with the colon right after it (whitespace before the colon is ::PX_HTTP_BAD,
 *   §5.1); a line that starts with a space or a tab (obs-fold, §5.2) is ::PX_HTTP_BAD; a value may hold tabs,
 *   spaces, visible ASCII and bytes >= 0x80, nothing else.
 *
 * After any error the connection's framing is lost: answer (px_http_error_response() with `keep_alive` false)
 * and close.
 */
#ifndef FERRITE_PX_HTTP1_H
#define FERRITE_PX_HTTP1_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most header fields one head may carry; one more is ::PX_HTTP_TOO_LARGE. */
#define PX_HTTP_MAX_HEADERS 64
/** Most bytes one head may take, its final empty line included; one more is ::PX_HTTP_TOO_LARGE. */
#define PX_HTTP_MAX_HEAD (16 * 1024)

/**
 * @brief What a parser or the body scanner refuses, and the status the proxy answers with. Not errnos: the values
 *        sit far below -4095 so that no errno can be mistaken for one.
 * @rust `httparse::Error` mapped to `http::StatusCode` by hyper's `Parse` error kinds
 */
enum px_http_error {
    PX_HTTP_TODO = -99,          /**< returned by the exercise skeleton: this function is not written yet */
    PX_HTTP_BAD = -1000,         /**< malformed: 400 from a client's request, 502 from an upstream's response */
    PX_HTTP_TOO_LARGE = -1001,   /**< head above ::PX_HTTP_MAX_HEAD or above ::PX_HTTP_MAX_HEADERS fields: 431 */
    PX_HTTP_BAD_VERSION = -1002, /**< `HTTP/x.y` other than 1.0 and 1.1: 505 (502 for a response) */
    PX_HTTP_AMBIGUOUS = -1003,   /**< framing two hops could read differently (smuggling guard): 400 (502) */
};

/**
 * @brief One header field. Both pointers borrow the parsed buffer: valid while those bytes stay where they are.
 * @rust `httparse::Header<'buf>`
 */
typedef struct px_http_header {
    const char *name;  /**< the name as received (compare it case-insensitively), no colon */
    size_t name_len;   /**< bytes of @ref name */
    const char *value; /**< the value without the spaces and tabs around it */
    size_t value_len;  /**< bytes of @ref value */
} px_http_header;

/**
 * @brief One parsed request or response head. Every pointer borrows the buffer given to the parser: it is valid
 *        while those bytes are unchanged (no memmove of the read buffer, no reuse) and must be copied to outlive it.
 *        The framing fields are derived once from the headers by the parser.
 * @rust `httparse::Request<'h, 'buf>` / `httparse::Response<'h, 'buf>` plus hyper's decided framing
 */
typedef struct px_http_head {
    int is_request;                              /**< 1 for a request, 0 for a response */
    const char *method;                          /**< request: the method token (`GET`); NULL in a response */
    size_t method_len;                           /**< bytes of @ref method */
    const char *target;                          /**< request: the target exactly as sent; NULL in a response */
    size_t target_len;                           /**< bytes of @ref target */
    int status;                                  /**< response: 100..999; 0 in a request */
    const char *reason;                          /**< response: the reason phrase, maybe empty; NULL in a request */
    size_t reason_len;                           /**< bytes of @ref reason */
    int minor;                                   /**< 0 for HTTP/1.0, 1 for HTTP/1.1 */
    px_http_header headers[PX_HTTP_MAX_HEADERS]; /**< the fields in the order received */
    size_t n_headers;                            /**< how many of @ref headers are set */
    size_t head_len;                             /**< bytes of the head, final CRLF included: the body starts here */
    int64_t content_length;                      /**< the Content-Length, -1 when there is none */
    bool chunked;                                /**< Transfer-Encoding ends in `chunked` */
    bool keep_alive;                             /**< 1.1: unless `Connection: close`; 1.0: only with `keep-alive` */
    bool expect_continue;                        /**< an HTTP/1.1 request with `Expect: 100-continue` */
    bool upgrade;                                /**< request: Upgrade named in Connection; response: status 101 */
} px_http_head;

/**
 * @brief Parses a request head at the start of @p buf. Call again with the longer buffer when more bytes arrive:
 *        the result does not depend on how the bytes were split.
 * @param buf  the bytes received so far (borrowed; @p out points into it afterwards)
 * @param len  bytes in @p buf
 * @param out  filled on success; its contents are unspecified otherwise
 * @return the head's length (`out->head_len`, > 0) when a whole head is in @p buf; 0 when more bytes are needed and
 *         every complete line so far is valid (and the head is still within ::PX_HTTP_MAX_HEAD); a ::px_http_error.
 * @rust `httparse::Request::parse(&mut self, buf) -> Result<Status<usize>>` (`Status::Partial` is our 0)
 */
FT_MUST_USE int px_http_parse_request(const char *buf, size_t len, px_http_head *out);

/**
 * @brief Parses a response head (status line `HTTP/1.x NNN reason`) at the start of @p buf; the same contract as
 *        px_http_parse_request(). Whether a body follows also depends on the request: px_http_response_body_kind().
 * @return the head's length, 0 for more bytes, or a ::px_http_error (the proxy answers its client 502 for any).
 * @rust `httparse::Response::parse`
 */
FT_MUST_USE int px_http_parse_response(const char *buf, size_t len, px_http_head *out);

/**
 * @brief Finds the first field called @p name, compared case-insensitively (field names are, RFC 9110 §5.1).
 * @param h     a parsed head (borrowed)
 * @param name  a NUL-terminated name such as "content-length"
 * @return a pointer into @p h (valid as long as @p h and its buffer are), or NULL when there is none
 * @rust `http::HeaderMap::get(&self, key) -> Option<&HeaderValue>`
 */
const px_http_header *px_http_find(const px_http_head *h, const char *name);

/**
 * @brief How the body of a message is delimited (RFC 9112 §6.3), in the order the rules are tried.
 * @rust hyper's `proto::h1::Decoder` kinds (`Length`, `Chunked`, `Eof`)
 */
typedef enum px_http_body_kind {
    PX_BODY_NONE = 0,        /**< no body: a request without length, a response to HEAD, 1xx, 204 or 304 */
    PX_BODY_LENGTH = 1,      /**< exactly `content_length` bytes (0 counts as none) */
    PX_BODY_CHUNKED = 2,     /**< chunked: the last chunk of size 0 and the trailers end it */
    PX_BODY_UNTIL_CLOSE = 3, /**< a response with neither: ends at the upstream's close, which ends reuse too */
} px_http_body_kind;

/**
 * @brief The framing of @p h's body. For a response the request matters: the answer to HEAD, and every 1xx, 204
 *        and 304, has no body whatever its headers say. A request (then @p request_was_head is ignored) has no body,
 *        a length or chunks: never PX_BODY_UNTIL_CLOSE, since a client cannot close and still read the answer.
 * @rust `hyper::proto::h1::role::Client::decoder` (the `method == HEAD` and status checks)
 */
px_http_body_kind px_http_response_body_kind(const px_http_head *h, bool request_was_head);

/**
 * @brief Where a body ends, found as its bytes pass through. Plain data, no pointers: copy it, zero it, keep it in
 *        the connection. `kind` may be read (an until-close body rules out reuse); the rest is private.
 * @rust hyper's `Decoder` state (`ChunkedState` and the remaining length)
 */
typedef struct px_http_body {
    px_http_body_kind kind; /**< read-only: chosen by px_http_body_init() */
    int state;              /**< private: where the chunked scanner is within the chunk syntax */
    uint64_t remaining;     /**< private: bytes left of the length body or of the current chunk's data */
    bool done;              /**< private: the body has ended */
    bool failed;            /**< private: a malformed chunk was seen; every later scan fails too */
} px_http_body;

/**
 * @brief Prepares @p b for the body of the message whose head is @p h (px_http_response_body_kind() decides).
 * @param b  written whole; owned by the caller
 * @param h  read only during the call (the scanner keeps no pointer into it)
 * @param is_response_to_head  true when @p h is a response to a HEAD request
 * @rust `Decoder::new(kind)`
 */
void px_http_body_init(px_http_body *b, const px_http_head *h, bool is_response_to_head);

/**
 * @brief Tells how many of the next @p len bytes belong to this body. The bytes are not changed or kept; any split
 *        gives the same total (a chunked body is scanned one byte at a time, except its data, which is skipped).
 * @param b    the scanner
 * @param buf  bytes that follow what earlier calls took (borrowed, only during the call)
 * @param len  bytes in @p buf
 * @return the count (0..@p len) that is body: the rest, if px_http_body_done(), is the start of the next message;
 *         or ::PX_HTTP_BAD for a malformed chunk line, chunk end or a chunk size above 2^64 - 1,
 *         and again on every later call. A done body takes 0.
 * @rust `Decoder::decode` with `Buf::advance` for what it consumed
 */
FT_MUST_USE long px_http_body_scan(px_http_body *b, const char *buf, size_t len);

/**
 * @brief Whether the body has ended (immediately for PX_BODY_NONE; never for PX_BODY_UNTIL_CLOSE, whose end is the
 *        upstream closing, which only the caller sees).
 * @rust `Decoder::is_eof`
 */
bool px_http_body_done(const px_http_body *b);

/**
 * @brief Writes the request head to send upstream: the request line as received but with `HTTP/1.1`, every field
 *        except the hop-by-hop ones, an `x-forwarded-for` with @p client_ip appended to what the client sent (", ip")
 *        or added, and `connection: keep-alive` (the proxy pools upstream connections).
 *
 * Hop-by-hop (RFC 9110 §7.6.1), dropped: Connection, Keep-Alive, Proxy-Connection, TE, Upgrade,
 * Proxy-Authorization, Trailer, and every field named in Connection — except Host, Content-Length and
 * Transfer-Encoding, which a client cannot have removed this way: the upstream must see the same framing as the
 * proxy did. The body that follows is copied unchanged, so Transfer-Encoding stays. Upgrades are not forwarded.
 * @param req        a parsed request (borrowed, with its buffer)
 * @param client_ip  the client's address as text, NUL-terminated
 * @param out        written with the head (not NUL-terminated); unspecified after -ENOSPC
 * @param out_len    bytes available at @p out
 * @return bytes written, or -ENOSPC when they do not fit
 * @rust what `hyper-reverse-proxy` does with `HeaderMap::remove` and `HeaderMap::append` before sending
 */
FT_MUST_USE long px_http_write_request_head(const px_http_head *req, const char *client_ip, char *out, size_t out_len);

/**
 * @brief Writes the response head to send back to the client: `HTTP/1.1`, the upstream's status and reason, every
 *        field except the hop-by-hop ones (the same list and exceptions as px_http_write_request_head()), then
 *        `connection: keep-alive` or `connection: close` as the client's side of the proxy decided.
 * @param resp        a parsed response (borrowed, with its buffer)
 * @param keep_alive  whether the proxy keeps the client connection open after this response
 * @param out         written with the head; unspecified after -ENOSPC
 * @param out_len     bytes available at @p out
 * @return bytes written, or -ENOSPC
 * @rust the same, on `http::Response::headers_mut()`
 */
FT_MUST_USE long px_http_write_response_head(const px_http_head *resp, bool keep_alive, char *out, size_t out_len);

/**
 * @brief The reason phrase of a status the proxy may send or see often (100, 101, 200, 204, 304, 400, 404, 408,
 *        413, 431, 500, 501, 502, 503, 504, 505).
 * @return a static string, or NULL for any other status
 * @rust `http::StatusCode::canonical_reason(&self) -> Option<&'static str>`
 */
const char *px_http_reason(int status);

/**
 * @brief Writes a whole response the proxy answers itself: status line, `content-type: text/plain`,
 *        `content-length`, `connection`, and a short body `<status> <reason>[: detail]` plus a newline.
 *
 * What each means, said by a proxy: **400** the client's request was malformed or ambiguous (a parser error);
 * **431** its head was too large; **505** its version is not 1.0 or 1.1; **502 Bad Gateway** the proxy reached an
 * upstream but got no valid answer (connection refused or reset, a malformed response, a close mid-response);
 * **503 Service Unavailable** the proxy had nowhere to send the request (no endpoint, every endpoint's breaker
 * open, the retry budget spent); **504 Gateway Timeout** an upstream was reached but did not answer within the
 * deadline. After a 4xx/505 parse error send it with @p keep_alive false.
 * @param status      400..599 with a reason known to px_http_reason()
 * @param detail      NUL-terminated text added to the body, or NULL
 * @param keep_alive  whether the connection stays open afterwards
 * @param out         written with the response; unspecified after an error
 * @param out_len     bytes available at @p out
 * @return bytes written, -EINVAL for another status, or -ENOSPC
 * @rust `Response::builder().status(s).header(CONTENT_LENGTH, n).body(text)`
 */
FT_MUST_USE long px_http_error_response(int status, const char *detail, bool keep_alive, char *out, size_t out_len);

#endif
