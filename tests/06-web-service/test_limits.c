/*
 * Part 1: what the parser refuses, and with which status — each limit one byte either side of it, each request
 * smuggling or ambiguity class (400), what this server does not implement (501) and versions it does not speak
 * (505). Every refusal is checked fed at once and fed a byte at a time.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

/* "GET /aaa...a HTTP/1.1" with a request line of exactly @p n bytes (n >= 15). */
static void request_line_of(char *out, size_t cap, size_t n)
{
    size_t path = n - strlen("GET / HTTP/1.1");
    ck_assert_uint_lt(n + 32, cap);
    int k = snprintf(out, cap, "GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n", (int)path, 0);
    ck_assert(k > 0);
}

FT_TEST(1, request_line_at_the_limit_passes_one_byte_over_is_414, 2,
        "A limit is inclusive: max_request_line bytes pass, one more is 414 URI Too Long (an off-by-one here "
        "either refuses good clients or lets the line grow past the buffer).")
{
    char text[160];
    request_line_of(text, sizeof text, TEST_LIMITS.max_request_line);
    expect_done(text);
    request_line_of(text, sizeof text, TEST_LIMITS.max_request_line + 1);
    expect_refused(text, WS_STATUS_URI_TOO_LONG);
}

/* A request whose header section (fields, their CRLFs and the final CRLF) is exactly @p n bytes (n >= 17). */
static void header_section_of(char *out, size_t cap, size_t n)
{
    /* "Host: h\r\n" (9) + "X: " (3) + value + "\r\n" (2) + "\r\n" (2) */
    size_t value = n - 16;
    ck_assert_uint_lt(n + 32, cap);
    int k = snprintf(out, cap, "GET / HTTP/1.1\r\nHost: h\r\nX: %0*d\r\n\r\n", (int)value, 0);
    ck_assert(k > 0);
}

FT_TEST(1, header_section_at_the_limit_passes_one_byte_over_is_431, 2,
        "The header section counts every byte after the request line, CRLFs and the final empty line included; "
        "max_header_bytes pass, one more is 431 (off-by-one).")
{
    char text[200];
    header_section_of(text, sizeof text, TEST_LIMITS.max_header_bytes);
    expect_done(text);
    header_section_of(text, sizeof text, TEST_LIMITS.max_header_bytes + 1);
    expect_refused(text, WS_STATUS_HEADERS_TOO_LARGE);
}

FT_TEST(1, header_count_at_the_limit_passes_one_more_is_431, 2,
        "max_headers fields pass; the next one is 431 before it is stored (off-by-one: one slot too many "
        "writes past the fields array).")
{
    expect_done("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    expect_refused("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", WS_STATUS_HEADERS_TOO_LARGE);
}

FT_TEST(1, body_at_the_limit_passes_one_byte_over_is_413_before_reading_it, 2,
        "Content-Length is checked against max_body when the head ends: equal passes, one more is 413 at once, "
        "without waiting for the body (off-by-one).")
{
    char text[200];
    snprintf(text, sizeof text, "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n%0*d", TEST_LIMITS.max_body,
             (int)TEST_LIMITS.max_body, 0);
    outcome o = expect_done(text);
    ck_assert_uint_eq(o.content_length, TEST_LIMITS.max_body);
    snprintf(text, sizeof text, "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", TEST_LIMITS.max_body + 1);
    expect_refused(text, WS_STATUS_PAYLOAD_TOO_LARGE);
}

FT_TEST(1, content_length_with_transfer_encoding_is_400, 2,
        "Request smuggling (CL.TE and TE.CL): a request with both Content-Length and Transfer-Encoding has two "
        "framings; a proxy may pick one and this server the other, so refuse it with 400.")
{
    expect_refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
                   WS_STATUS_BAD_REQUEST);
    expect_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                   WS_STATUS_BAD_REQUEST);
}

FT_TEST(1, differing_duplicate_content_length_is_400_equal_ones_pass, 2,
        "Request smuggling: two Content-Length fields that differ leave the length ambiguous (400); identical "
        "ones agree and are accepted, as RFC 9110 §8.6 allows.")
{
    expect_refused("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                   WS_STATUS_BAD_REQUEST);
    expect_refused("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\ncontent-length: 3\r\n\r\nabcd",
                   WS_STATUS_BAD_REQUEST);
    outcome o = expect_done("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    ck_assert_str_eq(o.body, "abc");
}

FT_TEST(1, content_length_must_be_digits_without_overflow, 2,
        "Content-Length is 1*DIGIT: a sign, a space inside, a list, hex or a value past UINT64_MAX is 400, not a "
        "wrapped or partly read number (request smuggling through a lenient strtoul).")
{
    const char *values[] = {"+5", "-1", "5 5", "5,5", "0x10", "", "5a", "18446744073709551616", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char text[160];
        snprintf(text, sizeof text, "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: %s\r\n\r\n", values[i]);
        expect_refused(text, WS_STATUS_BAD_REQUEST);
    }
    ck_assert_str_eq(expect_done("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 002\r\n\r\nab").body, "ab");
}

FT_TEST(1, bare_cr_and_bare_lf_are_400, 2,
        "Lines end with CRLF only: a CR not followed by LF, or an LF without its CR, is 400 (this parser does not "
        "take RFC 9112 §2.2's bare-LF leniency, so that no two servers split the stream differently).")
{
    expect_refused("GET / HTTP/1.1\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost: h\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost: h\r\n\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost: h\rX: 1\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("\n\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
}

FT_TEST(1, whitespace_before_the_colon_is_400, 1,
        "A field name is a token up to the colon: `Content-Length : 5` is 400, since a proxy that trims the name "
        "and one that does not disagree on the framing (RFC 9112 §5.1).")
{
    expect_refused("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
}

FT_TEST(1, obs_fold_is_400, 1,
        "obs-fold: a line starting with a space or a tab continued the previous field in old HTTP; RFC 9112 §5.2 "
        "lets a server refuse it, and this one does (400).")
{
    expect_refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost: h\r\n\tX: a\r\n\r\n", WS_STATUS_BAD_REQUEST);
}

FT_TEST(1, control_characters_in_a_field_value_are_400, 1,
        "A field value holds tabs, spaces, visible ASCII and bytes >= 0x80; NUL and every other control "
        "character is 400 (a NUL cuts the value short for C string functions).")
{
    static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        parser_box b;
        box_open(&b, TEST_LIMITS);
        outcome o = feed_in_chunks(&b.p, nul, sizeof nul - 1, chunk);
        box_close(&b);
        ck_assert_int_eq(o.result, WS_PARSE_ERROR);
        ck_assert_int_eq(o.error, WS_STATUS_BAD_REQUEST);
    }
    expect_refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", WS_STATUS_BAD_REQUEST);
    outcome o = expect_done("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \xc3\xa9\r\n\r\n");
    ck_assert_str_eq(o.headers, "Host=h\nX=a\tb \xc3\xa9\n");
}

FT_TEST(1, transfer_encoding_chunked_is_501, 1,
        "Transfer-Encoding without Content-Length: this server does not decode chunked bodies, and RFC 9112 §6.1 "
        "says to answer a transfer coding it does not implement with 501, not 411.")
{
    expect_refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                   WS_STATUS_NOT_IMPLEMENTED);
}

FT_TEST(1, unknown_method_is_501, 1,
        "Methods are case-sensitive tokens: GET HEAD POST PUT DELETE are known, anything else (PATCH, get) is "
        "501 Not Implemented.")
{
    expect_refused("PATCH /x HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_NOT_IMPLEMENTED);
    expect_refused("get /x HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_NOT_IMPLEMENTED);
    ck_assert_int_eq(expect_done("DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n").method, WS_DELETE);
    ck_assert_int_eq(expect_done("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n").method, WS_HEAD);
    ck_assert_int_eq(expect_done("POST /x HTTP/1.1\r\nHost: h\r\n\r\n").method, WS_POST);
}

FT_TEST(1, other_versions_are_505_and_a_malformed_version_is_400, 1,
        "HTTP/1.0 and HTTP/1.1 are served; another well-formed HTTP/x.y is 505; anything not shaped HTTP/d.d "
        "(or a request line with a third space) is 400.")
{
    expect_refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", WS_STATUS_VERSION_NOT_SUPPORTED);
    expect_refused("GET / HTTP/1.2\r\nHost: h\r\n\r\n", WS_STATUS_VERSION_NOT_SUPPORTED);
    expect_refused("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / http/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
}

FT_TEST(1, target_must_be_origin_form, 1,
        "Only origin-form targets (starting with '/') reach a handler: absolute-form, '*' or a bare word is 400.")
{
    expect_refused("GET http://example/x HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET * HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET items HTTP/1.1\r\nHost: h\r\n\r\n", WS_STATUS_BAD_REQUEST);
}

FT_TEST(1, http11_needs_exactly_one_host, 1,
        "RFC 9112 §3.2: an HTTP/1.1 request without a Host field, or with two, is 400; HTTP/1.0 may omit it.")
{
    expect_refused("GET / HTTP/1.1\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", WS_STATUS_BAD_REQUEST);
    expect_done("GET / HTTP/1.0\r\n\r\n");
}
