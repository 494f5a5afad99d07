/*
 * Part 1: the response writer, ws_http_format — exact bytes, the fields it adds, and refusal when the caller's
 * buffer is too small.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

FT_TEST(1, format_writes_the_exact_bytes, 2,
        "A response is the status line, the fields, Content-Length (always: it is how a keep-alive client finds "
        "the end), an empty line and the body, each line ending in CRLF.")
{
    char out[256];
    size_t len = 1;
    ws_response r = {.status = WS_STATUS_OK, .content_type = "text/plain", .body = str_of("hi\n")};
    ck_assert_int_eq(ws_http_format(&r, out, sizeof out, &len), WS_STATUS_OK);
    const char *want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nhi\n";
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(out, want, len) == 0);
    ws_response empty = {.status = WS_STATUS_NOT_FOUND};
    ck_assert_int_eq(ws_http_format(&empty, out, sizeof out, &len), WS_STATUS_OK);
    want = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(out, want, len) == 0);
}

FT_TEST(1, format_adds_allow_retry_after_and_connection_close, 2,
        "Extra fields come after Content-Type; Retry-After only when asked; Connection: close whenever the "
        "server will close, so the client does not send its next request into a closing socket.")
{
    char out[256];
    size_t len = 0;
    ws_header allow = {str_of("Allow"), str_of("GET, HEAD")};
    ws_response r = {.status = WS_STATUS_METHOD_NOT_ALLOWED, .headers = &allow, .header_count = 1};
    ck_assert_int_eq(ws_http_format(&r, out, sizeof out, &len), WS_STATUS_OK);
    const char *want = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\n\r\n";
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(out, want, len) == 0);
    ws_response busy = {.status = WS_STATUS_UNAVAILABLE, .close = true, .retry_after = 2, .body = str_of("busy")};
    ck_assert_int_eq(ws_http_format(&busy, out, sizeof out, &len), WS_STATUS_OK);
    want = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nRetry-After: 2\r\nConnection: close\r\n\r\nbusy";
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(out, want, len) == 0);
}

FT_TEST(1, format_for_head_sends_the_length_but_not_the_body, 1,
        "A response to HEAD carries the Content-Length a GET would have, and no body bytes (RFC 9110 §9.3.2).")
{
    char out[128];
    size_t len = 0;
    ws_response r = {.status = WS_STATUS_OK, .body = str_of("12345"), .head = true};
    ck_assert_int_eq(ws_http_format(&r, out, sizeof out, &len), WS_STATUS_OK);
    const char *want = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(out, want, len) == 0);
}

FT_TEST(1, format_refuses_a_response_that_does_not_fit, 2,
        "A response one byte too large for the buffer is refused (500, length 0), never truncated: half a "
        "response desynchronises the client. Exactly the right size fits (off-by-one).")
{
    ws_response r = {.status = WS_STATUS_OK, .content_type = "text/plain", .body = str_of("0123456789")};
    size_t need = strlen("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789");
    char *out = malloc(need); /* exactly sized: a write past it is an ASan report */
    ck_assert_ptr_ne(out, NULL);
    size_t len = 0;
    ck_assert_int_eq(ws_http_format(&r, out, need, &len), WS_STATUS_OK);
    ck_assert_uint_eq(len, need);
    for (size_t cap = 0; cap < need; cap++) {
        len = 1;
        ck_assert_int_eq(ws_http_format(&r, out, cap, &len), WS_STATUS_INTERNAL_ERROR);
        ck_assert_uint_eq(len, 0);
    }
    free(out);
}
