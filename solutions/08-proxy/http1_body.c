/*
 * http1_body.c — chapter 08, part 4: where a body ends, found as its bytes pass through the proxy.
 *
 * Unlike the head parsers in http1.c, which start again at the first byte on every call, the body scanner
 * keeps its state in px_http_body and looks at each byte once: a body has no size limit, and its bytes are
 * forwarded (and gone) as they arrive.
 */
#include "http1.h"

#include <limits.h>
#include <string.h>

/* tchar of RFC 9110 §5.6.2: the bytes a method or a field name may hold. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-vchar, SP and HTAB: what a value or a reason phrase may hold (obs-text, >= 0x80, included). */
static bool is_text(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

px_http_body_kind px_http_response_body_kind(const px_http_head *h, bool request_was_head)
{
    if (!h->is_request && (request_was_head || h->status < 200 || h->status == 204 || h->status == 304))
        return PX_BODY_NONE; /* RFC 9112 §6.3 items 1 and 2: whatever Content-Length says */
    if (h->chunked)
        return PX_BODY_CHUNKED;
    if (h->content_length > 0)
        return PX_BODY_LENGTH;
    if (h->content_length == 0 || h->is_request)
        return PX_BODY_NONE;
    return PX_BODY_UNTIL_CLOSE;
}

/* ---- body framing ------------------------------------------------------------------------------------------- */

/* Where the chunked scanner stands in `chunk-size [ext] CRLF data CRLF ... 0 [ext] CRLF *(trailer CRLF) CRLF`. */
enum chunk_state {
    CH_SIZE_FIRST, /* the first hex digit of a chunk size (at least one is required) */
    CH_SIZE,       /* more hex digits, or what ends the size */
    CH_EXT,        /* a chunk extension: skipped up to its CR, never stored */
    CH_SIZE_LF,    /* the LF after the size line's CR */
    CH_DATA,       /* `remaining` bytes of data */
    CH_DATA_CR,    /* the CRLF that closes a chunk's data */
    CH_DATA_LF,
    CH_LINE_START, /* after the last chunk: a trailer field, or the empty line that ends the body */
    CH_TRAILER,    /* a trailer field: forwarded, not read */
    CH_TRAILER_LF,
    CH_FINAL_LF, /* the LF of the final empty line */
};

void px_http_body_init(px_http_body *b, const px_http_head *h, bool is_response_to_head)
{
    *b = (px_http_body){.kind = px_http_response_body_kind(h, is_response_to_head), .state = CH_SIZE_FIRST};
    b->remaining = b->kind == PX_BODY_LENGTH ? (uint64_t)h->content_length : 0;
    b->done = b->kind == PX_BODY_NONE;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* ASCII: lower case */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of chunk syntax (never a data byte): the next state, or -1 when the byte cannot be here. */
static int chunk_step(px_http_body *b, unsigned char c)
{
    int d = hex_value(c);
    switch (b->state) {
    case CH_SIZE_FIRST:
        if (d < 0)
            return -1;
        b->remaining = (uint64_t)d;
        return CH_SIZE;
    case CH_SIZE:
        if (d >= 0) {
            if (b->remaining > UINT64_MAX >> 4)
                return -1; /* a 17th significant digit: the size would wrap and the body end early */
            b->remaining = b->remaining << 4 | (uint64_t)d;
            return CH_SIZE;
        }
        if (c == ';' || c == ' ' || c == '\t')
            return CH_EXT; /* BWS ";" ext-name [= ext-val]: nothing a proxy needs */
        return c == '\r' ? CH_SIZE_LF : -1;
    case CH_EXT:
    case CH_TRAILER:
        if (c == '\r')
            return b->state == CH_EXT ? CH_SIZE_LF : CH_TRAILER_LF;
        return is_text(c) ? b->state : -1;
    case CH_SIZE_LF:
        if (c != '\n')
            return -1;
        return b->remaining == 0 ? CH_LINE_START : CH_DATA;
    case CH_DATA_CR:
        return c == '\r' ? CH_DATA_LF : -1;
    case CH_DATA_LF:
        return c == '\n' ? CH_SIZE_FIRST : -1;
    case CH_LINE_START:
        if (c == '\r')
            return CH_FINAL_LF;
        return is_tchar(c) ? CH_TRAILER : -1;
    case CH_TRAILER_LF:
        return c == '\n' ? CH_LINE_START : -1;
    case CH_FINAL_LF:
        if (c != '\n')
            return -1;
        b->done = true;
        return CH_FINAL_LF;
    }
    return -1;
}

static long scan_chunked(px_http_body *b, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !b->done) {
        if (b->state == CH_DATA) {
            /* Data is skipped in one step, not looked at: its bytes may be anything, CRLF included. */
            size_t take = b->remaining < len - i ? (size_t)b->remaining : len - i;
            i += take;
            b->remaining -= take;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            continue;
        }
        int next = chunk_step(b, (unsigned char)buf[i]);
        if (next < 0) {
            b->failed = true;
            return PX_HTTP_BAD;
        }
        b->state = next;
        i++;
    }
    return (long)i;
}

long px_http_body_scan(px_http_body *b, const char *buf, size_t len)
{
    if (b->failed)
        return PX_HTTP_BAD;
    if (len > LONG_MAX)
        len = LONG_MAX; /* the count must fit the return type; the caller scans the rest next time */
    switch (b->kind) {
    case PX_BODY_NONE:
        return 0;
    case PX_BODY_UNTIL_CLOSE:
        return (long)len;
    case PX_BODY_LENGTH: {
        size_t take = b->remaining < len ? (size_t)b->remaining : len;
        b->remaining -= take;
        b->done = b->remaining == 0;
        return (long)take;
    }
    case PX_BODY_CHUNKED:
        return scan_chunked(b, buf, len);
    }
    return PX_HTTP_BAD;
}

bool px_http_body_done(const px_http_body *b) { return b->done; }
