/*
 * Part 4, continued: body framing (px_http_body_*). The proxy copies a body through without decoding it and only
 * asks where it ends; these tests feed bodies whole, byte by byte and split at every point, with the next
 * pipelined message behind them, and check that the end is found at the same byte every time.
 */
#include "ferrite_test.h"
#include "http1.h"

#include <stdlib.h>
#include <string.h>

/* Parses @p head_text (which must be a whole head) into @p h; the text must outlive @p h's use. */
static void head_of(bool request, const char *head_text, px_http_head *h)
{
    size_t len = strlen(head_text);
    int r = request ? px_http_parse_request(head_text, len, h) : px_http_parse_response(head_text, len, h);
    ck_assert_msg(r == (int)len, "head did not parse (%d): %s", r, head_text);
}

/* Feeds @p len bytes of @p bytes (a heap copy each piece, so a read past a piece is reported) in pieces of
 * @p step bytes, the first piece @p first bytes (0: also @p step), until the body is done or an error.
 * Returns the total the body took, or the error. */
static long scan_in_pieces(px_http_body *b, const char *bytes, size_t len, size_t first, size_t step)
{
    size_t pos = 0, piece = first ? first : step;
    while (pos < len && !px_http_body_done(b)) {
        size_t n = len - pos < piece ? len - pos : piece;
        char *copy = malloc(n);
        ck_assert_ptr_ne(copy, NULL);
        memcpy(copy, bytes + pos, n);
        long r = px_http_body_scan(b, copy, n);
        free(copy);
        if (r < 0)
            return r;
        ck_assert_int_le(r, (long)n);
        pos += (size_t)r;
        if ((size_t)r < n)
            break; /* the body ended inside this piece: the rest is the next message */
        piece = step;
    }
    return (long)pos;
}

FT_TEST(4, content_length_body_ends_at_its_length_leaving_the_next_message, 2,
        "Length framing: take exactly Content-Length bytes across any number of reads, then report done; bytes "
        "after it are the next pipelined message and must not be counted as body.")
{
    px_http_head h;
    head_of(true, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n", &h);
    const char *bytes = "0123456789GET /b HTTP/1.1\r\n";
    for (size_t step = 1; step <= strlen(bytes); step++) {
        px_http_body b;
        px_http_body_init(&b, &h, false);
        ck_assert(!px_http_body_done(&b));
        ck_assert_int_eq(scan_in_pieces(&b, bytes, strlen(bytes), 0, step), 10);
        ck_assert(px_http_body_done(&b));
        ck_assert_int_eq(px_http_body_scan(&b, "GET", 3), 0);
    }
}

/* A chunked body with extensions, data holding CRLF and a '0', trailers; then the next message. */
static const char chunked_body[] =
    "4;name=\"va;l\"\r\nab\r\n\r\n"
    "1A \t; ext\r\n0123456789abcdefghijklmnop\r\n"
    "000\r\nX-Checksum: 77\r\nX-More: a b\r\n\r\n";
static const char next_message[] = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";

FT_TEST(4, chunked_body_split_at_every_byte_ends_at_the_same_place, 3,
        "Chunked framing is a byte-at-a-time state machine: keep the state (size so far, where in the line) in the "
        "px_http_body, not in locals, so that any split, even inside the size or between CR and LF, finds the same "
        "end: after the trailers and the final CRLF, before the next message.")
{
    px_http_head h;
    head_of(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
    size_t body_len = sizeof chunked_body - 1;
    char all[sizeof chunked_body + sizeof next_message];
    memcpy(all, chunked_body, body_len);
    memcpy(all + body_len, next_message, sizeof next_message);
    size_t len = strlen(all);
    for (size_t first = 1; first <= len; first++) {
        px_http_body b;
        px_http_body_init(&b, &h, false);
        long got = scan_in_pieces(&b, all, len, first, len);
        ck_assert_msg(got == (long)body_len, "split after byte %zu: the body took %ld of %zu bytes", first, got, body_len);
        ck_assert(px_http_body_done(&b));
    }
    px_http_body b;
    px_http_body_init(&b, &h, false);
    ck_assert_int_eq(scan_in_pieces(&b, all, len, 0, 1), (long)body_len);
    ck_assert(px_http_body_done(&b));
}

FT_TEST(4, chunk_sizes_are_hexadecimal, 2,
        "The chunk size is hex (RFC 9112 §7.1): '1A' is 26 bytes and '10' is 16, not ten; read it with a hex digit "
        "value, upper or lower case.")
{
    px_http_head h;
    head_of(true, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
    const char *body = "10\r\n0123456789abcdef\r\nb\r\nhello world\r\n0\r\n\r\nNEXT";
    px_http_body b;
    px_http_body_init(&b, &h, false);
    long r = px_http_body_scan(&b, body, strlen(body));
    ck_assert_int_eq(r, (long)strlen(body) - 4);
    ck_assert(px_http_body_done(&b));
}

FT_TEST(4, chunk_size_above_64_bits_is_bad_not_wrapped, 2,
        "Chunk size overflow: check before each shift that a 17th significant hex digit does not overflow; a "
        "wrapped size ends the body early and turns the rest of it into a smuggled request.")
{
    px_http_head h;
    head_of(true, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
    px_http_body b;
    px_http_body_init(&b, &h, false);
    const char *wrap = "10000000000000005\r\nhello\r\n0\r\n\r\n";
    ck_assert_int_eq(px_http_body_scan(&b, wrap, strlen(wrap)), PX_HTTP_BAD);
    ck_assert_int_eq(px_http_body_scan(&b, "0\r\n\r\n", 5), PX_HTTP_BAD);
    px_http_body_init(&b, &h, false);
    const char *big = "0000ffffffffffffffff\r\nsome data";
    ck_assert_int_eq(px_http_body_scan(&b, big, strlen(big)), (long)strlen(big));
    ck_assert(!px_http_body_done(&b));
}

FT_TEST(4, malformed_chunk_syntax_is_bad_and_stays_bad, 2,
        "Chunked framing: a size needs at least one hex digit; the size line and the data end with CRLF (a bare LF "
        "or a missing CRLF after the data is PX_HTTP_BAD); after an error every later scan fails too.")
{
    px_http_head h;
    head_of(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
    const char *bad[] = {
        "\r\n", "x\r\n", ";ext\r\n", "3\nabc\r\n", "3\r\nabcX\r\n", "3\r\nabc\n0\r\n\r\n", "0\r\n\n", "0\r\nX-T: 1\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        px_http_body b;
        px_http_body_init(&b, &h, false);
        ck_assert_msg(scan_in_pieces(&b, bad[i], strlen(bad[i]), 0, 1) == PX_HTTP_BAD, "not PX_HTTP_BAD: %s", bad[i]);
        ck_assert_int_eq(px_http_body_scan(&b, "0\r\n\r\n", 5), PX_HTTP_BAD);
        ck_assert(!px_http_body_done(&b));
    }
}

FT_TEST(4, responses_to_head_and_1xx_204_304_have_no_body_whatever_they_say, 2,
        "Response framing (RFC 9112 §6.3): the answer to HEAD, and every 1xx, 204 and 304, ends with its head even "
        "with Content-Length or chunked; otherwise the proxy waits for bytes that never come.")
{
    px_http_head h;
    head_of(false, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n", &h);
    ck_assert_int_eq(px_http_response_body_kind(&h, false), PX_BODY_LENGTH);
    ck_assert_int_eq(px_http_response_body_kind(&h, true), PX_BODY_NONE);
    px_http_body b;
    px_http_body_init(&b, &h, true);
    ck_assert(px_http_body_done(&b));
    ck_assert_int_eq(px_http_body_scan(&b, "HTTP/1.1", 8), 0);
    const char *none[] = {
        "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        head_of(false, none[i], &h);
        ck_assert_msg(px_http_response_body_kind(&h, false) == PX_BODY_NONE, "has a body: %s", none[i]);
        px_http_body_init(&b, &h, false);
        ck_assert(px_http_body_done(&b));
    }
}

FT_TEST(4, a_response_without_length_runs_until_close_and_a_request_without_has_none, 1,
        "Framing without length: a response with neither Content-Length nor chunked ends when the upstream closes "
        "(every byte is body, never done); a request without them has no body at all.")
{
    px_http_head h;
    head_of(false, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n", &h);
    ck_assert_int_eq(px_http_response_body_kind(&h, false), PX_BODY_UNTIL_CLOSE);
    px_http_body b;
    px_http_body_init(&b, &h, false);
    ck_assert_int_eq(px_http_body_scan(&b, "0\r\n\r\nabc", 8), 8);
    ck_assert(!px_http_body_done(&b));
    head_of(true, "POST / HTTP/1.1\r\nHost: h\r\n\r\n", &h);
    ck_assert_int_eq(px_http_response_body_kind(&h, false), PX_BODY_NONE);
    px_http_body_init(&b, &h, false);
    ck_assert(px_http_body_done(&b));
    ck_assert_int_eq(px_http_body_scan(&b, "GET", 3), 0);
    head_of(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &h);
    px_http_body_init(&b, &h, false);
    ck_assert(px_http_body_done(&b));
}
