/*
 * Shared set-up for chapter 06's tests: a parser over a heap buffer of exactly the size its limits need (so
 * AddressSanitizer sees any write past it), feeding helpers that split the input in chosen ways, and a flat copy
 * of a parse outcome so that two ways of feeding the same bytes can be compared field by field.
 */
#ifndef FERRITE_TEST_SUPPORT_06_H
#define FERRITE_TEST_SUPPORT_06_H

#include "ferrite_test.h"
#include "http.h"
#include "router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Small limits, so that each can be reached with a short request. */
#define TEST_LIMITS ((ws_limits){.max_request_line = 64, .max_header_bytes = 128, .max_headers = 4, .max_body = 32})

/** A parser with its own buffer (malloc'd, exactly ws_http_buffer_size() bytes). */
typedef struct parser_box {
    ws_http_parser p;
    char *buf;
} parser_box;

/** Initialises @p b with @p limits; fails the test when ws_http_parser_init() refuses. */
void box_open(parser_box *b, ws_limits limits);
void box_close(parser_box *b);

/** What one request's parse produced, copied out of the parser (so it outlives ws_http_next()). */
typedef struct outcome {
    ws_parse result;
    ws_status error;
    size_t used; /* bytes of the input taken, over all feeds */
    ws_method method;
    char path[128], query[128], body[64];
    int minor;
    size_t header_count;
    char headers[512]; /* "name=value\n" per field */
    uint64_t content_length;
    bool keep_alive;
} outcome;

/**
 * Feeds @p len bytes of @p data to @p p in pieces of @p chunk bytes (0: all at once), stopping at the first DONE
 * or ERROR, and returns what came out. Does not call ws_http_next().
 */
outcome feed_in_chunks(ws_http_parser *p, const char *data, size_t len, size_t chunk);
/** The same, with the pieces ending at the offsets in @p cuts (ascending, @p ncuts of them), then the rest. */
outcome feed_with_cuts(ws_http_parser *p, const char *data, size_t len, const size_t *cuts, size_t ncuts);
/** A fresh parser with TEST_LIMITS, all of @p text at once. */
outcome parse_text(const char *text);
/** Fails the test unless @p text is refused with @p status, both fed at once and fed a byte at a time. */
void expect_refused(const char *text, ws_status status);
/** Fails the test unless @p text (fed at once to a fresh parser with TEST_LIMITS) parses; returns the outcome. */
outcome expect_done(const char *text);
/** Fails the test, naming the field, when @p a and @p b differ. */
void assert_same_outcome(const outcome *a, const outcome *b, const char *what);

/** A slice of a C string. */
ws_str str_of(const char *s);
/** True when @p s holds exactly the bytes of @p text. */
bool str_is(ws_str s, const char *text);

#endif
