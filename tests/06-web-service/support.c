/*
 * Shared set-up for chapter 06's tests (support.h says what each helper is for).
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void box_open(parser_box *b, ws_limits limits)
{
    size_t size = ws_http_buffer_size(&limits);
    b->buf = malloc(size > 0 ? size : 1);
    ck_assert_ptr_ne(b->buf, NULL);
    ck_assert_int_eq(ws_http_parser_init(&b->p, &limits, b->buf, size), WS_STATUS_OK);
}

void box_close(parser_box *b)
{
    free(b->buf);
    b->buf = NULL;
}

/* Copies a slice into a fixed field, NUL-terminated; a slice too long for it fails the test. */
static void copy_out(char *dst, size_t cap, ws_str s)
{
    ck_assert_uint_lt(s.len, cap);
    if (s.len > 0)
        memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
}

static void snapshot(const ws_http_parser *p, outcome *o)
{
    o->error = p->error;
    if (o->result != WS_PARSE_DONE)
        return;
    const ws_request *r = &p->req;
    o->method = r->method;
    copy_out(o->path, sizeof o->path, r->path);
    copy_out(o->query, sizeof o->query, r->query);
    copy_out(o->body, sizeof o->body, r->body);
    o->minor = r->minor;
    o->header_count = r->header_count;
    o->content_length = r->content_length;
    o->keep_alive = r->keep_alive;
    size_t at = 0;
    for (size_t i = 0; i < r->header_count; i++) {
        const ws_header *h = &r->headers[i];
        int n = snprintf(o->headers + at, sizeof o->headers - at, "%.*s=%.*s\n", (int)h->name.len, h->name.ptr,
                         (int)h->value.len, h->value.ptr);
        ck_assert(n > 0 && (size_t)n < sizeof o->headers - at);
        at += (size_t)n;
    }
}

outcome feed_with_cuts(ws_http_parser *p, const char *data, size_t len, const size_t *cuts, size_t ncuts)
{
    outcome o = {.result = WS_PARSE_PARTIAL};
    size_t at = 0;
    for (size_t k = 0; k <= ncuts && o.result == WS_PARSE_PARTIAL; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        if (end < at)
            continue;
        size_t used = 0;
        o.result = ws_http_feed(p, data + at, end - at, &used);
        ck_assert_uint_le(used, end - at);
        if (o.result == WS_PARSE_PARTIAL)
            ck_assert_msg(used == end - at, "a PARTIAL feed must take every byte it was given (took %zu of %zu)", used,
                          end - at);
        at += used;
    }
    o.used = at;
    snapshot(p, &o);
    return o;
}

outcome feed_in_chunks(ws_http_parser *p, const char *data, size_t len, size_t chunk)
{
    size_t cuts[4096], n = 0;
    if (chunk > 0)
        for (size_t at = chunk; at < len && n < sizeof cuts / sizeof cuts[0]; at += chunk)
            cuts[n++] = at;
    return feed_with_cuts(p, data, len, cuts, n);
}

outcome parse_text(const char *text)
{
    parser_box b;
    box_open(&b, TEST_LIMITS);
    outcome o = feed_in_chunks(&b.p, text, strlen(text), 0);
    box_close(&b);
    return o;
}

void assert_same_outcome(const outcome *a, const outcome *b, const char *what)
{
    ck_assert_msg(a->result == b->result, "%s: result %d, expected %d", what, b->result, a->result);
    ck_assert_msg(a->error == b->error, "%s: error %d, expected %d", what, b->error, a->error);
    ck_assert_msg(a->used == b->used, "%s: used %zu bytes, expected %zu", what, b->used, a->used);
    ck_assert_msg(a->method == b->method && a->minor == b->minor && a->keep_alive == b->keep_alive &&
                      a->content_length == b->content_length && a->header_count == b->header_count,
                  "%s: method/version/keep-alive/length/count differ", what);
    ck_assert_msg(strcmp(a->path, b->path) == 0, "%s: path '%s', expected '%s'", what, b->path, a->path);
    ck_assert_msg(strcmp(a->query, b->query) == 0, "%s: query '%s', expected '%s'", what, b->query, a->query);
    ck_assert_msg(strcmp(a->body, b->body) == 0, "%s: body '%s', expected '%s'", what, b->body, a->body);
    ck_assert_msg(strcmp(a->headers, b->headers) == 0, "%s: headers\n%s\nexpected\n%s", what, b->headers, a->headers);
}

/* The request is refused with @p status, whether fed at once or byte by byte. */
void expect_refused(const char *text, ws_status status)
{
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        parser_box b;
        box_open(&b, TEST_LIMITS);
        outcome o = feed_in_chunks(&b.p, text, strlen(text), chunk);
        box_close(&b);
        ck_assert_msg(o.result == WS_PARSE_ERROR && o.error == status,
                      "request %s (fed %s): result %d, error %d; expected WS_PARSE_ERROR with %d", text,
                      chunk ? "a byte at a time" : "at once", o.result, o.error, status);
    }
}

/* The request parses (fed at once). */
outcome expect_done(const char *text)
{
    outcome o = parse_text(text);
    ck_assert_msg(o.result == WS_PARSE_DONE, "request %s: result %d (error %d), expected WS_PARSE_DONE", text, o.result,
                  o.error);
    return o;
}

ws_str str_of(const char *s) { return (ws_str){s, strlen(s)}; }

bool str_is(ws_str s, const char *text)
{
    size_t n = strlen(text);
    return s.len == n && (n == 0 || memcmp(s.ptr, text, n) == 0);
}
