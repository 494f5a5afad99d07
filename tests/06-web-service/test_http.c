/*
 * Part 1: the incremental HTTP/1.1 parser (ws_http_feed): requests, pipelining, keep-alive, incremental feeding.
 * Every test feeds bytes to a parser whose buffer is exactly as large as its limits say, on the heap, so that a
 * write past it is an AddressSanitizer report and not a silent overwrite.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

FT_PART(1, "HTTP/1.1 parsing, responses and routing");

FT_TEST(1, whole_request_parses_method_path_query_and_headers, 2,
        "The request line is METHOD SP target SP version; the target splits at the first '?' into path and "
        "query; a field name is a token (letters, digits, !#$%&'*+-.^_`|~); a value loses the spaces around it.")
{
    const char *text = "GET /items/7?x=1&y HTTP/1.1\r\nHost: example\r\nX-Trace:   abc def \r\nA-09_z~: 1\r\n\r\n";
    outcome o = expect_done(text);
    ck_assert_int_eq(o.method, WS_GET);
    ck_assert_str_eq(o.path, "/items/7");
    ck_assert_str_eq(o.query, "x=1&y");
    ck_assert_int_eq(o.minor, 1);
    ck_assert_uint_eq(o.header_count, 3);
    ck_assert_str_eq(o.headers, "Host=example\nX-Trace=abc def\nA-09_z~=1\n");
    ck_assert_uint_eq(o.used, strlen(text));
    ck_assert_uint_eq(o.content_length, 0);
}

FT_TEST(1, byte_at_a_time_gives_the_same_request_as_all_at_once, 3,
        "Incremental parsing: keep every piece of state in the parser, never in locals of one feed call; a line "
        "split between two feeds (even between its CR and its LF) must come out whole.")
{
    const char *texts[] = {
        "PUT /items/42?v=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "\r\nDELETE /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nB:2\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        parser_box whole, bytes;
        box_open(&whole, TEST_LIMITS);
        box_open(&bytes, TEST_LIMITS);
        outcome a = feed_in_chunks(&whole.p, texts[t], strlen(texts[t]), 0);
        outcome b = feed_in_chunks(&bytes.p, texts[t], strlen(texts[t]), 1);
        assert_same_outcome(&a, &b, texts[t]);
        box_close(&whole);
        box_close(&bytes);
    }
}

FT_TEST(1, pipelined_requests_come_out_in_order_with_the_leftover_bytes, 3,
        "Pipelining: stop at the end of a request and say how many bytes you took (*used); the rest is the next "
        "request, fed again after ws_http_next().")
{
    const char *text =
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        "GET /c HT";
    size_t len = strlen(text), first = strlen("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    size_t second = strlen("GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    parser_box b;
    box_open(&b, TEST_LIMITS);
    size_t used = 0;
    ck_assert_int_eq(ws_http_feed(&b.p, text, len, &used), WS_PARSE_DONE);
    ck_assert_uint_eq(used, first);
    ck_assert(str_is(b.p.req.path, "/a") && str_is(b.p.req.body, "abc"));
    ws_http_next(&b.p);
    size_t used2 = 0;
    ck_assert_int_eq(ws_http_feed(&b.p, text + used, len - used, &used2), WS_PARSE_DONE);
    ck_assert_uint_eq(used2, second);
    ck_assert(str_is(b.p.req.path, "/b"));
    ck_assert_uint_eq(b.p.req.body.len, 0);
    ws_http_next(&b.p);
    size_t used3 = 0, at = used + used2;
    ck_assert_int_eq(ws_http_feed(&b.p, text + at, len - at, &used3), WS_PARSE_PARTIAL);
    ck_assert_uint_eq(used3, len - at);
    const char *rest = "TP/1.1\r\nHost: h\r\n\r\n";
    ck_assert_int_eq(ws_http_feed(&b.p, rest, strlen(rest), &used3), WS_PARSE_DONE);
    ck_assert(str_is(b.p.req.path, "/c"));
    box_close(&b);
}

FT_TEST(1, feed_after_done_takes_nothing_until_next, 1,
        "Pipelining: a finished request stays until ws_http_next(); a feed in between must take no byte of the "
        "next request.")
{
    const char *text = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    parser_box b;
    box_open(&b, TEST_LIMITS);
    size_t used = 0, again = 99;
    ck_assert_int_eq(ws_http_feed(&b.p, text, strlen(text), &used), WS_PARSE_DONE);
    ck_assert_int_eq(ws_http_feed(&b.p, text + used, strlen(text) - used, &again), WS_PARSE_DONE);
    ck_assert_uint_eq(again, 0);
    ck_assert(str_is(b.p.req.path, "/a"));
    box_close(&b);
}

FT_TEST(1, keep_alive_http11_is_the_default_unless_connection_close, 2,
        "Keep-alive: HTTP/1.1 keeps the connection open unless a Connection field lists the token close "
        "(case-insensitive, possibly among other tokens).")
{
    ck_assert(expect_done("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keep_alive);
    ck_assert(!expect_done("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive);
    ck_assert(!expect_done("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n").keep_alive);
    ck_assert(expect_done("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

FT_TEST(1, keep_alive_http10_needs_connection_keep_alive, 2,
        "Keep-alive: HTTP/1.0 closes after each response by default; only Connection: keep-alive keeps it open "
        "(RFC 9112 §9.3).")
{
    outcome o = expect_done("GET / HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(o.minor, 0);
    ck_assert(!o.keep_alive);
    ck_assert(expect_done("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    ck_assert(!expect_done("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
}
FT_TEST(1, content_length_body_split_across_feeds_comes_out_whole, 2,
        "Incremental parsing of the body: Content-Length bytes may arrive in many reads; count what is still "
        "needed and take no byte more.")
{
    const char *text = "PUT /items/1 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789GET";
    size_t head = strlen(text) - 13;
    size_t cuts[] = {head - 1, head + 1, head + 4, head + 9};
    parser_box b;
    box_open(&b, TEST_LIMITS);
    outcome o = feed_with_cuts(&b.p, text, strlen(text), cuts, 4);
    ck_assert_int_eq(o.result, WS_PARSE_DONE);
    ck_assert_str_eq(o.body, "0123456789");
    ck_assert_uint_eq(o.used, strlen(text) - 3);
    box_close(&b);
}

FT_TEST(1, get_and_head_without_length_end_at_the_empty_line, 1,
        "A request without Content-Length has no body: it is complete at the empty line, and the next bytes are "
        "the next request, not its body.")
{
    const char *text = "HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n";
    parser_box b;
    box_open(&b, TEST_LIMITS);
    size_t used = 0;
    ck_assert_int_eq(ws_http_feed(&b.p, text, strlen(text), &used), WS_PARSE_DONE);
    ck_assert_uint_eq(used, strlen("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    ck_assert_int_eq(b.p.req.method, WS_HEAD);
    ck_assert_uint_eq(b.p.req.body.len, 0);
    ws_http_next(&b.p);
    ck_assert_int_eq(ws_http_feed(&b.p, text + used, strlen(text) - used, &used), WS_PARSE_DONE);
    ck_assert_int_eq(b.p.req.method, WS_GET);
    box_close(&b);
}

FT_TEST(1, an_error_is_sticky_and_ends_keep_alive, 1,
        "After an error the parser no longer knows where the next request starts: it stays in error, takes "
        "nothing, and keep_alive is false so the server closes.")
{
    parser_box b;
    box_open(&b, TEST_LIMITS);
    const char *bad = "GET / HTTP/1.1\r\nHost : h\r\n\r\n", *good = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t used = 0;
    ck_assert_int_eq(ws_http_feed(&b.p, bad, strlen(bad), &used), WS_PARSE_ERROR);
    ck_assert_int_eq(b.p.error, WS_STATUS_BAD_REQUEST);
    ck_assert(!b.p.req.keep_alive);
    ws_http_next(&b.p);
    ck_assert_int_eq(ws_http_feed(&b.p, good, strlen(good), &used), WS_PARSE_ERROR);
    ck_assert_uint_eq(used, 0);
    box_close(&b);
}

FT_TEST(1, empty_lines_before_the_request_line_are_skipped, 1,
        "RFC 9112 §2.2: a server SHOULD skip CRLFs before the request line (a client may send one after a POST "
        "body); they count toward no limit.")
{
    outcome o = expect_done("\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_str_eq(o.path, "/z");
    ck_assert_uint_eq(o.used, strlen("\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\n\r\n"));
}

FT_TEST(1, header_lookup_ignores_case, 1,
        "Field names are case-insensitive (RFC 9110 §5.1): ws_request_header(\"content-type\") finds "
        "Content-Type, and the first of two.")
{
    const char *text = "GET / HTTP/1.1\r\nHost: h\r\nContent-TYPE: a\r\ncontent-type: b\r\n\r\n";
    parser_box b;
    box_open(&b, TEST_LIMITS);
    size_t used = 0;
    ck_assert_int_eq(ws_http_feed(&b.p, text, strlen(text), &used), WS_PARSE_DONE);
    ck_assert(str_is(ws_request_header(&b.p.req, "content-type"), "a"));
    ck_assert(str_is(ws_request_header(&b.p.req, "HOST"), "h"));
    ck_assert_ptr_eq(ws_request_header(&b.p.req, "missing").ptr, NULL);
    box_close(&b);
}

/* xorshift32: the same sequence on every run. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

FT_TEST(1, fuzz_every_split_gives_the_same_requests, 3,
        "Incremental parsing: the same bytes cut at any point, into two pieces or into random ones, must give "
        "the same sequence of requests and leftovers (pipelining included).")
{
    const char *stream =
        "GET /a?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        "PUT /items/9 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        "\r\nDELETE /items/9 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    size_t len = strlen(stream);
    /* The reference: the stream fed whole, request by request. */
    outcome want[8];
    size_t nwant = 0, at = 0;
    parser_box b;
    box_open(&b, TEST_LIMITS);
    while (at < len) {
        ck_assert_uint_lt(nwant, 8);
        want[nwant] = feed_in_chunks(&b.p, stream + at, len - at, 0);
        ck_assert_int_eq(want[nwant].result, WS_PARSE_DONE);
        at += want[nwant++].used;
        ws_http_next(&b.p);
    }
    ck_assert_uint_eq(nwant, 4);
    uint32_t seed = 0x6a09e667u;
    for (size_t round = 0; round < len + 200; round++) {
        size_t cuts[64], ncuts = 0;
        if (round < len) {
            cuts[ncuts++] = round; /* every two-piece split */
        } else {
            for (size_t c = 1 + next_random(&seed) % 40; ncuts < c; ncuts++)
                cuts[ncuts] = next_random(&seed) % len;
            for (size_t i = 1; i < ncuts; i++) /* insertion sort: the cuts must ascend */
                for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                    size_t t = cuts[j];
                    cuts[j] = cuts[j - 1];
                    cuts[j - 1] = t;
                }
        }
        /* Feed the pieces; each DONE starts the next request at the leftover. */
        size_t k = 0, start = 0, pos = 0;
        for (size_t piece = 0; piece <= ncuts; piece++) {
            size_t end = piece < ncuts ? cuts[piece] : len;
            while (pos < end) {
                size_t used = 0;
                ws_parse result = ws_http_feed(&b.p, stream + pos, end - pos, &used);
                pos += used;
                if (result != WS_PARSE_DONE) {
                    ck_assert_int_eq(result, WS_PARSE_PARTIAL);
                    break;
                }
                ck_assert_uint_lt(k, nwant);
                outcome got = feed_in_chunks(&b.p, "", 0, 0); /* a DONE parser takes nothing: copies it out */
                got.used = pos - start;
                assert_same_outcome(&want[k], &got, "a request of the split stream");
                k++;
                start = pos;
                ws_http_next(&b.p);
            }
        }
        ck_assert_msg(k == nwant, "round %zu: %zu requests came out of the split stream, expected %zu", round, k, nwant);
    }
    box_close(&b);
}
FT_TEST(1, init_refuses_a_buffer_smaller_than_the_limits_need, 1,
        "The buffer must hold the longest head and the largest body the limits allow, or the parser would write "
        "past it: ws_http_parser_init refuses anything smaller with 500, and leaves the parser in error.")
{
    ws_limits limits = TEST_LIMITS;
    size_t size = ws_http_buffer_size(&limits);
    ck_assert_uint_eq(size, 64 + 2 + 128 + 32);
    char *buf = malloc(size);
    ck_assert_ptr_ne(buf, NULL);
    ws_http_parser p;
    ck_assert_int_eq(ws_http_parser_init(&p, &limits, buf, size - 1), WS_STATUS_INTERNAL_ERROR);
    size_t used = 1;
    ck_assert_int_eq(ws_http_feed(&p, "GET", 3, &used), WS_PARSE_ERROR); /* refused: in error, takes nothing */
    ck_assert_int_eq(p.error, WS_STATUS_INTERNAL_ERROR);
    ck_assert_uint_eq(used, 0);
    limits.max_headers = WS_HEADERS_MAX + 1;
    ck_assert_int_eq(ws_http_parser_init(&p, &limits, buf, size + 64), WS_STATUS_INTERNAL_ERROR);
    limits = TEST_LIMITS;
    ck_assert_int_eq(ws_http_parser_init(&p, &limits, buf, size), WS_STATUS_OK);
    free(buf);
}
