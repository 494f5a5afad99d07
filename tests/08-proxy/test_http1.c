/*
 * Part 4: the HTTP/1.1 message layer (http1.h): request and response heads, the smuggling guards, keep-alive,
 * the upstream and downstream heads the proxy writes, and its own error responses. Body framing is in
 * test_http1_body.c. Every head is parsed from a heap copy exactly as long as the bytes given, so a read past
 * the end is an AddressSanitizer (or Valgrind) report, not a lucky byte.
 */
#include "ferrite_test.h"
#include "http1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_PART(4, "HTTP/1.1: parsing, framing and rewriting for a proxy");

/* A parsed head with the heap copy its pointers borrow. */
typedef struct parsed {
    char *buf;
    px_http_head h;
    int r;
} parsed;

static void parse_into(parsed *p, bool request, const char *text, size_t len)
{
    p->buf = malloc(len ? len : 1);
    ck_assert_ptr_ne(p->buf, NULL);
    memcpy(p->buf, text, len);
    p->r = request ? px_http_parse_request(p->buf, len, &p->h) : px_http_parse_response(p->buf, len, &p->h);
}

/* The result of parsing @p text alone; the head is not kept. */
static int parse_result(bool request, const char *text)
{
    parsed p;
    parse_into(&p, request, text, strlen(text));
    free(p.buf);
    return p.r;
}

static void assert_header(const px_http_head *h, size_t i, const char *name, const char *value)
{
    ck_assert_uint_lt(i, h->n_headers);
    ck_assert_uint_eq(h->headers[i].name_len, strlen(name));
    ck_assert_uint_eq(h->headers[i].value_len, strlen(value));
    ck_assert(memcmp(h->headers[i].name, name, strlen(name)) == 0);
    ck_assert(memcmp(h->headers[i].value, value, strlen(value)) == 0);
}

static bool slice_is(const char *p, size_t n, const char *s) { return p != NULL && n == strlen(s) && !memcmp(p, s, n); }

FT_TEST(4, request_head_gives_method_target_version_and_trimmed_headers, 2,
        "Request line: token SP target SP HTTP/1.x; each field is name ':' OWS value OWS, the value without the "
        "spaces and tabs around it; the return value is the head's length, final CRLF included.")
{
    const char *text =
        "POST /v1/items?x=1 HTTP/1.1\r\nHost: api\r\nX-Trace:  \t abc def \t\r\nEmpty:\r\n"
        "Content-Length: 5\r\n\r\nhello";
    parsed p;
    parse_into(&p, true, text, strlen(text));
    size_t head = strlen(text) - 5;
    ck_assert_int_eq(p.r, (int)head);
    ck_assert_uint_eq(p.h.head_len, head);
    ck_assert_int_eq(p.h.is_request, 1);
    ck_assert(slice_is(p.h.method, p.h.method_len, "POST"));
    ck_assert(slice_is(p.h.target, p.h.target_len, "/v1/items?x=1"));
    ck_assert_int_eq(p.h.minor, 1);
    ck_assert_uint_eq(p.h.n_headers, 4);
    assert_header(&p.h, 0, "Host", "api");
    assert_header(&p.h, 1, "X-Trace", "abc def");
    assert_header(&p.h, 2, "Empty", "");
    ck_assert_int_eq(p.h.content_length, 5);
    ck_assert(!p.h.chunked);
    ck_assert(p.h.keep_alive);
    free(p.buf);
}

FT_TEST(4, response_head_gives_status_reason_and_headers, 2,
        "Status line: HTTP/1.x SP three digits SP reason; the reason may be empty or hold spaces, and an empty "
        "reason's space may be missing.")
{
    const char *text = "HTTP/1.0 404 Not Found Here\r\nServer: up\r\nContent-Length: 0\r\n\r\n";
    parsed p;
    parse_into(&p, false, text, strlen(text));
    ck_assert_int_eq(p.r, (int)strlen(text));
    ck_assert_int_eq(p.h.is_request, 0);
    ck_assert_int_eq(p.h.status, 404);
    ck_assert_int_eq(p.h.minor, 0);
    ck_assert(slice_is(p.h.reason, p.h.reason_len, "Not Found Here"));
    assert_header(&p.h, 0, "Server", "up");
    ck_assert_int_eq(p.h.content_length, 0);
    ck_assert(!p.h.keep_alive);
    free(p.buf);

    const char *bare = "HTTP/1.1 204\r\n\r\n";
    parse_into(&p, false, bare, strlen(bare));
    ck_assert_int_eq(p.r, (int)strlen(bare));
    ck_assert_int_eq(p.h.status, 204);
    ck_assert_uint_eq(p.h.reason_len, 0);
    ck_assert_int_eq(p.h.content_length, -1);
    free(p.buf);
    ck_assert_int_eq(parse_result(false, "HTTP/1.1 20x OK\r\n\r\n"), PX_HTTP_BAD);
    ck_assert_int_eq(parse_result(false, "HTTP/1.1 200OK\r\n\r\n"), PX_HTTP_BAD);
}

FT_TEST(4, every_split_point_returns_zero_until_the_head_is_complete, 3,
        "Incremental parsing: with part of a head, return 0 (need more), never a length or an error, and never "
        "read past len; with the whole head, the same result as in one piece, wherever the bytes were split.")
{
    const char *texts[2] = {
        "\r\nGET /a/b?c=d HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello world!",
    };
    size_t heads[2] = {strlen(texts[0]) - 3, strlen(texts[1]) - 12};
    for (int t = 0; t < 2; t++) {
        bool request = t == 0;
        for (size_t k = 0; k < heads[t]; k++) {
            parsed p;
            parse_into(&p, request, texts[t], k);
            free(p.buf);
            ck_assert_msg(p.r == 0, "%s with its first %zu bytes returned %d, not 0", request ? "request" : "response", k,
                          p.r);
        }
        for (size_t k = heads[t]; k <= strlen(texts[t]); k++) {
            parsed p;
            parse_into(&p, request, texts[t], k);
            ck_assert_int_eq(p.r, (int)heads[t]);
            ck_assert_uint_eq(p.h.n_headers, request ? 4 : 2);
            ck_assert(request ? p.h.chunked : p.h.content_length == 12);
            ck_assert(request ? p.h.keep_alive : !p.h.keep_alive);
            free(p.buf);
        }
    }
}

/* A request whose head is exactly @p size bytes long, padded with one header's value. */
static char *request_of_size(size_t size)
{
    const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ", *end = "\r\n\r\n";
    size_t fixed = strlen(start) + strlen(end);
    char *s = malloc(size + 1);
    ck_assert_ptr_ne(s, NULL);
    memset(s, 'a', size);
    memcpy(s, start, strlen(start));
    memcpy(s + size - strlen(end), end, strlen(end) + 1);
    ck_assert_uint_gt(size, fixed);
    return s;
}

FT_TEST(4, head_limit_is_inclusive_and_one_byte_more_is_too_large, 2,
        "PX_HTTP_MAX_HEAD bounds the head with its final CRLF: a head of exactly 16 KiB parses, one byte more is "
        "PX_HTTP_TOO_LARGE (431) as soon as 16 KiB have arrived without the end, not 0 forever.")
{
    char *exact = request_of_size(PX_HTTP_MAX_HEAD);
    ck_assert_int_eq(parse_result(true, exact), PX_HTTP_MAX_HEAD);
    free(exact);
    char *over = request_of_size(PX_HTTP_MAX_HEAD + 1);
    ck_assert_int_eq(parse_result(true, over), PX_HTTP_TOO_LARGE);
    parsed p;
    parse_into(&p, true, over, PX_HTTP_MAX_HEAD);
    free(p.buf);
    ck_assert_int_eq(p.r, PX_HTTP_TOO_LARGE);
    parse_into(&p, true, over, PX_HTTP_MAX_HEAD - 1);
    free(p.buf);
    ck_assert_int_eq(p.r, 0);
    free(over);
}

/* A response head with @p n fields. */
static char *response_with_fields(int n)
{
    size_t cap = 64 + (size_t)n * 16;
    char *s = malloc(cap);
    ck_assert_ptr_ne(s, NULL);
    size_t len = (size_t)snprintf(s, cap, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "X-F%d: %d\r\n", i, i);
    snprintf(s + len, cap - len, "\r\n");
    return s;
}

FT_TEST(4, sixty_four_fields_parse_and_sixty_five_are_too_large, 2,
        "The headers array holds PX_HTTP_MAX_HEADERS fields: the 65th is PX_HTTP_TOO_LARGE (431), checked before "
        "writing past the array (an off-by-one here is a stack overflow).")
{
    char *ok = response_with_fields(PX_HTTP_MAX_HEADERS);
    parsed p;
    parse_into(&p, false, ok, strlen(ok));
    ck_assert_int_eq(p.r, (int)strlen(ok));
    ck_assert_uint_eq(p.h.n_headers, PX_HTTP_MAX_HEADERS);
    assert_header(&p.h, PX_HTTP_MAX_HEADERS - 1, "X-F63", "63");
    free(p.buf);
    free(ok);
    char *over = response_with_fields(PX_HTTP_MAX_HEADERS + 1);
    ck_assert_int_eq(parse_result(false, over), PX_HTTP_TOO_LARGE);
    free(over);
}

FT_TEST(4, malformed_request_lines_are_bad_and_other_versions_are_505, 2,
        "Request line: exactly one space between method, target and version; the method is a token; the target has "
        "no spaces or controls; 'HTTP/' is case-sensitive. A well-formed HTTP/d.d other than 1.0 or 1.1 is "
        "PX_HTTP_BAD_VERSION (505), not PX_HTTP_BAD.")
{
    const char *bad[] = {
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",   "GET /\r\nHost: h\r\n\r\n",           "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",   "GET / http/1.1\r\nHost: h\r\n\r\n",  " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", "GET / HTTP/1\r\nHost: h\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_result(true, bad[i]) == PX_HTTP_BAD, "not PX_HTTP_BAD: %s", bad[i]);
    const char *versions[] = {"GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.2\r\n\r\n", "GET / HTTP/0.9\r\n\r\n"};
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(parse_result(true, versions[i]) == PX_HTTP_BAD_VERSION, "not 505: %s", versions[i]);
    ck_assert_int_eq(parse_result(false, "HTTP/3.0 200 OK\r\n\r\n"), PX_HTTP_BAD_VERSION);
}

FT_TEST(4, malformed_header_lines_are_bad, 2,
        "Field lines (RFC 9112 §5): no whitespace before the colon, no obs-fold (a line starting with a space or a "
        "tab), a non-empty token name, and a value of visible bytes, spaces and tabs only (no CR, NUL or DEL).")
{
    const char *bad[] = {
        "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n\tfolded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_result(true, bad[i]) == PX_HTTP_BAD, "not PX_HTTP_BAD: %s", bad[i]);
    const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    parsed p;
    parse_into(&p, true, nul, sizeof nul - 1);
    free(p.buf);
    ck_assert_int_eq(p.r, PX_HTTP_BAD);
}

FT_TEST(4, bare_lf_and_bare_cr_line_ends_are_refused, 2,
        "Line ends are CRLF only (this parser's documented choice): a bare LF must be PX_HTTP_BAD, not a line end, "
        "or the proxy and the upstream split the same bytes into different messages.")
{
    ck_assert_int_eq(parse_result(true, "GET / HTTP/1.1\nHost: h\r\n\r\n"), PX_HTTP_BAD);
    ck_assert_int_eq(parse_result(true, "GET / HTTP/1.1\r\nHost: h\n\r\n"), PX_HTTP_BAD);
    ck_assert_int_eq(parse_result(true, "GET / HTTP/1.1\r\nHost: h\r\n\n"), PX_HTTP_BAD);
    ck_assert_int_eq(parse_result(false, "HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n"), PX_HTTP_BAD);
    /* an error shows as soon as its line is complete, before the head ends */
    ck_assert_int_eq(parse_result(true, "GET / HTTP/1.1\r\nBad Name: x\r\n"), PX_HTTP_BAD);
}

FT_TEST(4, http11_request_needs_exactly_one_host, 1,
        "RFC 9112 §3.2: an HTTP/1.1 request without a Host field, or with two, is a 400 (PX_HTTP_BAD); HTTP/1.0 "
        "may omit it.")
{
    ck_assert_int_eq(parse_result(true, "GET / HTTP/1.1\r\n\r\n"), PX_HTTP_BAD);
    ck_assert_int_eq(parse_result(true, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), PX_HTTP_BAD);
    const char *ok = "GET / HTTP/1.0\r\n\r\n";
    ck_assert_int_eq(parse_result(true, ok), (int)strlen(ok));
}

FT_TEST(4, content_length_with_transfer_encoding_is_ambiguous, 3,
        "Request smuggling (CL.TE / TE.CL): with both Content-Length and Transfer-Encoding two hops may pick "
        "different body ends; refuse with PX_HTTP_AMBIGUOUS, in either order and in responses too.")
{
    ck_assert_int_eq(parse_result(true,
                                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n"),
                     PX_HTTP_AMBIGUOUS);
    ck_assert_int_eq(parse_result(true,
                                  "POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n"
                                  "content-length: 4\r\n\r\n"),
                     PX_HTTP_AMBIGUOUS);
    ck_assert_int_eq(parse_result(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
                     PX_HTTP_AMBIGUOUS);
}

FT_TEST(4, differing_content_lengths_are_ambiguous_and_equal_ones_are_one, 2,
        "Request smuggling: two Content-Length values that differ (separate fields or a list) are PX_HTTP_AMBIGUOUS; "
        "repeated equal values are one length (RFC 9110 §8.6); compare the values, not the field count.")
{
    ck_assert_int_eq(parse_result(true, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n"),
                     PX_HTTP_AMBIGUOUS);
    ck_assert_int_eq(parse_result(true, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 5\r\n\r\n"), PX_HTTP_AMBIGUOUS);
    const char *same = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\ncontent-length: 7, 7\r\n\r\n";
    parsed p;
    parse_into(&p, true, same, strlen(same));
    ck_assert_int_eq(p.r, (int)strlen(same));
    ck_assert_int_eq(p.h.content_length, 7);
    free(p.buf);
}

FT_TEST(4, transfer_encoding_must_end_in_a_single_chunked, 2,
        "Request smuggling: only a final 'chunked' says where a body ends; 'gzip' alone, 'chunked, gzip' or chunked "
        "twice is PX_HTTP_AMBIGUOUS. Codings are a list that may span several fields; 'Chunked' is the same coding.")
{
    const char *bad[] = {
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_result(true, bad[i]) == PX_HTTP_AMBIGUOUS, "not PX_HTTP_AMBIGUOUS: %s", bad[i]);
    const char *ok[] = {
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        parsed p;
        parse_into(&p, true, ok[i], strlen(ok[i]));
        ck_assert_msg(p.r == (int)strlen(ok[i]) && p.h.chunked, "not a chunked request: %s", ok[i]);
        ck_assert_int_eq(p.h.content_length, -1);
        free(p.buf);
    }
}

FT_TEST(4, content_length_with_a_sign_a_space_or_an_overflow_is_bad, 2,
        "Content-Length is 1*DIGIT: no sign, no inner space, no hex, and a value above INT64_MAX must be refused "
        "(overflow check before multiplying), not wrapped into a small length.")
{
    const char *bad[] = {"+5", "-1", "1 2", "0x10", "", "9223372036854775808", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n", bad[i]);
        ck_assert_msg(parse_result(true, text) == PX_HTTP_BAD, "Content-Length '%s' was not PX_HTTP_BAD", bad[i]);
    }
    const char *max = "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n";
    parsed p;
    parse_into(&p, false, max, strlen(max));
    ck_assert_int_eq(p.r, (int)strlen(max));
    ck_assert(p.h.content_length == INT64_MAX);
    free(p.buf);
}

/* keep_alive of @p text's head, asserting that it parses. */
static bool keep_alive_of(bool request, const char *text)
{
    parsed p;
    parse_into(&p, request, text, strlen(text));
    free(p.buf);
    ck_assert_msg(p.r == (int)strlen(text), "did not parse (%d): %s", p.r, text);
    return p.h.keep_alive;
}

FT_TEST(4, keep_alive_defaults_differ_between_http10_and_http11, 2,
        "Persistent connections: HTTP/1.1 keeps alive unless Connection lists 'close'; HTTP/1.0 closes unless it "
        "lists 'keep-alive'. Connection is a case-insensitive token list ('foo, Close').")
{
    ck_assert(keep_alive_of(true, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    ck_assert(!keep_alive_of(true, "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n"));
    ck_assert(!keep_alive_of(true, "GET / HTTP/1.0\r\n\r\n"));
    ck_assert(keep_alive_of(true, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    ck_assert(keep_alive_of(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    ck_assert(!keep_alive_of(false, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    ck_assert(!keep_alive_of(false, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"));
}

FT_TEST(4, header_lookup_is_case_insensitive_and_returns_the_first, 2,
        "Field names are case-insensitive (RFC 9110 §5.1): px_http_find('content-type') must find 'Content-Type'; "
        "compare the whole name (not a prefix) and return the first match.")
{
    const char *text = "GET / HTTP/1.1\r\nHOST: h\r\nContent-Type-X: no\r\nContent-Type: a\r\ncontent-type: b\r\n\r\n";
    parsed p;
    parse_into(&p, true, text, strlen(text));
    ck_assert_int_eq(p.r, (int)strlen(text));
    const px_http_header *f = px_http_find(&p.h, "content-type");
    ck_assert_ptr_eq(f, &p.h.headers[2]);
    ck_assert_ptr_eq(px_http_find(&p.h, "Host"), &p.h.headers[0]);
    ck_assert_ptr_eq(px_http_find(&p.h, "content"), NULL);
    ck_assert_ptr_eq(px_http_find(&p.h, "accept"), NULL);
    free(p.buf);
}

FT_TEST(4, expect_continue_upgrade_and_leading_empty_lines, 1,
        "Expect: 100-continue (HTTP/1.1 only) and Upgrade named in Connection are flags the proxy acts on; empty "
        "lines before a request line are skipped and counted in head_len.")
{
    const char *text =
        "\r\n\r\nGET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        "Expect: 100-Continue\r\n\r\n";
    parsed p;
    parse_into(&p, true, text, strlen(text));
    ck_assert_int_eq(p.r, (int)strlen(text));
    ck_assert(slice_is(p.h.method, p.h.method_len, "GET"));
    ck_assert(p.h.upgrade);
    ck_assert(p.h.expect_continue);
    free(p.buf);
    parse_into(&p, true, "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", 47);
    ck_assert_int_eq(p.r, 47);
    ck_assert(!p.h.upgrade && !p.h.expect_continue);
    free(p.buf);
    ck_assert_int_eq(parse_result(false, "\r\nHTTP/1.1 200 OK\r\n\r\n"), PX_HTTP_BAD);
}

/* ---- the heads the proxy writes ----------------------------------------------------------------------------- */

/* Writes the upstream head of @p text (a request) into a buffer of its own and returns it NUL-terminated. */
static char *upstream_head(const char *text, const char *ip)
{
    parsed p;
    parse_into(&p, true, text, strlen(text));
    ck_assert_msg(p.r == (int)strlen(text), "did not parse (%d): %s", p.r, text);
    char *out = malloc(4096);
    ck_assert_ptr_ne(out, NULL);
    long n = px_http_write_request_head(&p.h, ip, out, 4095);
    free(p.buf);
    ck_assert_int_gt(n, 0);
    out[n] = '\0';
    return out;
}

FT_TEST(4, upstream_request_drops_hop_by_hop_fields_and_those_named_in_connection, 3,
        "Hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE, Upgrade, Proxy-Authorization, Trailer) "
        "and every field named in Connection belong to one connection: drop them, compared case-insensitively, keep "
        "the rest in order, and send 'connection: keep-alive' and HTTP/1.1 upstream.")
{
    char *out = upstream_head(
        "PUT /x?y HTTP/1.0\r\nHost: svc\r\nconnection: X-Secret, keep-alive\r\nKEEP-ALIVE: 5\r\n"
        "Proxy-Connection: x\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic a\r\n"
        "Trailer: X-T\r\nx-secret: 1\r\nAccept: */*\r\nContent-Length: 3\r\n\r\n",
        "10.0.0.1");
    ck_assert_str_eq(out,
                     "PUT /x?y HTTP/1.1\r\nHost: svc\r\nAccept: */*\r\nContent-Length: 3\r\n"
                     "x-forwarded-for: 10.0.0.1\r\nconnection: keep-alive\r\n\r\n");
    free(out);
}

FT_TEST(4, x_forwarded_for_is_appended_to_what_the_client_sent_or_added, 2,
        "X-Forwarded-For is the chain of clients: append ', <client ip>' to the value the client sent (all of its "
        "fields, in order), never replace it; add the field when there is none.")
{
    char *out = upstream_head(
        "GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.7\r\nHost: h\r\n"
        "x-forwarded-for: 198.51.100.2\r\n\r\n",
        "10.1.2.3");
    ck_assert_str_eq(out,
                     "GET / HTTP/1.1\r\nHost: h\r\n"
                     "x-forwarded-for: 203.0.113.7, 198.51.100.2, 10.1.2.3\r\nconnection: keep-alive\r\n\r\n");
    free(out);
    out = upstream_head("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "::1");
    ck_assert_str_eq(out, "GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-for: ::1\r\nconnection: keep-alive\r\n\r\n");
    free(out);
}

FT_TEST(4, connection_cannot_remove_host_or_the_framing_fields, 2,
        "Hop-by-hop by naming: a client that lists Content-Length, Transfer-Encoding or Host in Connection must not "
        "make the proxy drop them, or the upstream reads the body as the next request (smuggling).")
{
    char *out = upstream_head(
        "POST / HTTP/1.1\r\nHost: h\r\nConnection: content-length, host, transfer-encoding\r\n"
        "Content-Length: 2\r\n\r\n",
        "1.2.3.4");
    ck_assert_str_eq(out,
                     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nx-forwarded-for: 1.2.3.4\r\n"
                     "connection: keep-alive\r\n\r\n");
    free(out);
}

FT_TEST(4, heads_that_do_not_fit_are_enospc_and_an_exact_fit_is_written, 1,
        "Bounded writes: check the room before every copy and return -ENOSPC (a negative errno) when the head does "
        "not fit, never a truncated head or a write past out_len; an exact fit is not an overflow.")
{
    const char *text = "GET /abc HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n";
    parsed p;
    parse_into(&p, true, text, strlen(text));
    ck_assert_int_eq(p.r, (int)strlen(text));
    char big[512];
    long need = px_http_write_request_head(&p.h, "2.2.2.2", big, sizeof big);
    ck_assert_int_gt(need, 0);
    for (long cap = 0; cap < need; cap++) {
        char *out = malloc((size_t)cap + 1);
        ck_assert_ptr_ne(out, NULL);
        long r = px_http_write_request_head(&p.h, "2.2.2.2", out, (size_t)cap);
        free(out);
        ck_assert_msg(r == -ENOSPC, "with %ld of %ld bytes: %ld, not -ENOSPC", cap, need, r);
    }
    char *exact = malloc((size_t)need);
    ck_assert_ptr_ne(exact, NULL);
    ck_assert_int_eq(px_http_write_request_head(&p.h, "2.2.2.2", exact, (size_t)need), need);
    ck_assert(memcmp(exact, big, (size_t)need) == 0);
    free(exact);
    free(p.buf);
    char small[40];
    ck_assert_int_eq(px_http_error_response(502, NULL, false, small, sizeof small), -ENOSPC);
}

FT_TEST(4, client_response_head_drops_hop_by_hop_and_sets_connection_per_the_client, 2,
        "Downstream head: HTTP/1.1, the upstream's status and reason, hop-by-hop fields removed (including those "
        "named in its Connection), then 'connection: keep-alive' or 'connection: close' as the client side decided.")
{
    const char *text =
        "HTTP/1.0 201 Created\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive, X-Up\r\nX-Up: 1\r\n"
        "Location: /x/1\r\nContent-Length: 0\r\n\r\n";
    parsed p;
    parse_into(&p, false, text, strlen(text));
    ck_assert_int_eq(p.r, (int)strlen(text));
    char out[256];
    long n = px_http_write_response_head(&p.h, true, out, sizeof out - 1);
    ck_assert_int_gt(n, 0);
    out[n] = '\0';
    ck_assert_str_eq(out, "HTTP/1.1 201 Created\r\nLocation: /x/1\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n");
    n = px_http_write_response_head(&p.h, false, out, sizeof out - 1);
    ck_assert_int_gt(n, 0);
    out[n] = '\0';
    ck_assert_str_eq(out, "HTTP/1.1 201 Created\r\nLocation: /x/1\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    free(p.buf);
}

FT_TEST(4, error_responses_parse_back_with_their_status_length_and_body, 2,
        "The proxy's own answers: a status line with the right reason, content-length equal to the body's bytes "
        "(count them, do not guess), connection as asked, and a short text body naming the status and the detail.")
{
    const int statuses[] = {400, 431, 502, 503, 504, 505};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char out[512];
        bool keep = i % 2 == 0;
        long n = px_http_error_response(statuses[i], "no endpoint for svc", keep, out, sizeof out);
        ck_assert_int_gt(n, 0);
        px_http_head h;
        int r = px_http_parse_response(out, (size_t)n, &h);
        ck_assert_int_gt(r, 0);
        ck_assert_int_eq(h.status, statuses[i]);
        ck_assert_ptr_ne(px_http_reason(statuses[i]), NULL);
        ck_assert(slice_is(h.reason, h.reason_len, px_http_reason(statuses[i])));
        ck_assert_int_eq(h.content_length, n - r);
        ck_assert(h.keep_alive == keep);
        char body[256];
        snprintf(body, sizeof body, "%d %s: no endpoint for svc\n", statuses[i], px_http_reason(statuses[i]));
        ck_assert_uint_eq((size_t)(n - r), strlen(body));
        ck_assert(memcmp(out + r, body, strlen(body)) == 0);
    }
    ck_assert_str_eq(px_http_reason(502), "Bad Gateway");
    ck_assert_str_eq(px_http_reason(503), "Service Unavailable");
    ck_assert_str_eq(px_http_reason(504), "Gateway Timeout");
    char out[256];
    ck_assert_int_eq(px_http_error_response(200, NULL, true, out, sizeof out), -EINVAL);
    ck_assert_int_eq(px_http_error_response(599, NULL, true, out, sizeof out), -EINVAL);
}
