/*
 * http1_body.c — chapter 08, part 4: where a body ends, found as its bytes pass through.   (exercise skeleton)
 *
 * Yours: every function below, as in http1.c. The scanner keeps its whole state in px_http_body and looks at
 * each byte of chunk syntax once: a body has no bound, so it cannot be parsed again from its start as a head
 * is. Suggested static helper: chunk_step(b, c), one byte of chunk syntax in, the next state or an error out.
 */
#include "http1.h"

px_http_body_kind px_http_response_body_kind(const px_http_head *h, bool request_was_head)
{
    /* TODO (part 4): RFC 9112 §6.3 in order: a response to HEAD, a 1xx, 204 or 304 has no body whatever its
     * fields say; then chunked; then a length (0 is no body); then a request has none and a response runs until
     * the upstream closes. */
    (void)h;
    (void)request_was_head;
    return PX_BODY_NONE;
}

void px_http_body_init(px_http_body *b, const px_http_head *h, bool is_response_to_head)
{
    /* TODO (part 4): *b = a fresh scanner of the kind above: `remaining` is the length for a length body, the
     * chunked state starts at "first digit of a size", and a body of kind NONE is done at once. */
    (void)h;
    (void)is_response_to_head;
    *b = (px_http_body){.kind = PX_BODY_NONE};
}

long px_http_body_scan(px_http_body *b, const char *buf, size_t len)
{
    /* TODO (part 4): by kind: NONE takes 0; UNTIL_CLOSE takes all; LENGTH takes min(remaining, len). CHUNKED is a
     * state machine over size digits (hex; refuse a 17th significant digit before shifting: a wrapped size ends
     * the body early), extension, CRLF, data (skipped in one step: any bytes, CRLF included), CRLF, and after the
     * size-0 chunk the trailer lines and the final CRLF, which sets done. Stop at done: the bytes after it are
     * the next message. A byte that cannot be where it is: PX_HTTP_BAD, now and on every later call. */
    (void)b;
    (void)buf;
    (void)len;
    return PX_HTTP_TODO;
}

bool px_http_body_done(const px_http_body *b)
{
    /* TODO (part 4): whether the scanner has seen the end of the body. */
    (void)b;
    return false;
}
