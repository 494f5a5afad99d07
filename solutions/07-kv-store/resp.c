/*
 * Chapter 07, part 5: the RESP2 request parser and the reply writers. The contract is in resp.h.
 *
 * The parser is a state machine fed one byte range at a time. It keeps three things between calls: the state (what
 * the next byte must be), an unfinished header or inline line, and the arguments received so far. Nothing is ever
 * sized from a length the client sent: a bulk string's storage grows with the bytes that arrive, and the argument
 * table grows one argument at a time.
 */
#include "resp.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_START,      /* the first byte of a command: '*' for an array, anything else starts an inline line */
    ST_ARRAY_LINE, /* the count after '*', up to CRLF */
    ST_BULK_START, /* '$' */
    ST_BULK_LINE,  /* the length after '$', up to CRLF */
    ST_BULK_DATA,  /* the bulk string's bytes */
    ST_BULK_CR,    /* the CR after them */
    ST_BULK_LF,    /* the LF after that */
    ST_INLINE,     /* an inline command, up to LF */
    ST_DONE,       /* a command was handed out; the next call starts over */
};

/* Grows @p b so that it holds at least @p need bytes; doubles, so that appending byte by byte stays linear. */
static kv_status reserve(kv_buf *b, size_t need)
{
    if (need <= b->cap)
        return KV_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL)
        return KV_NO_MEMORY;
    b->data = grown;
    b->cap = cap;
    return KV_OK;
}

kv_status kv_resp_append(kv_buf *out, const void *data, size_t len)
{
    if (len > SIZE_MAX - out->len || reserve(out, out->len + len) != KV_OK)
        return KV_NO_MEMORY;
    if (len > 0)
        memcpy(out->data + out->len, data, len);
    out->len += len;
    return KV_OK;
}

void kv_resp_parser_init(kv_resp_parser *p, size_t max_bulk, size_t max_args)
{
    *p = (kv_resp_parser){
        .max_bulk = max_bulk ? max_bulk : KV_RESP_MAX_BULK,
        .max_args = max_args ? max_args : KV_RESP_MAX_ARGS,
        .state = ST_START,
    };
}

void kv_resp_parser_free(kv_resp_parser *p)
{
    kv_buf_free(&p->line);
    kv_buf_free(&p->args);
    free(p->offsets);
    free(p->lens);
    free(p->ptrs);
    kv_resp_parser_init(p, p->max_bulk, p->max_args);
}

/* Fails with @p why: the stream is out of step and cannot be read further. */
static kv_status protocol_error(kv_resp_parser *p, const char *why)
{
    p->error = why;
    return KV_INVALID;
}

/* Makes room for one more argument in the table: the table grows with arguments received, never with a count. */
static kv_status add_slot(kv_resp_parser *p)
{
    if (p->have < p->slots)
        return KV_OK;
    size_t n = p->slots ? p->slots * 2 : 8;
    size_t *offsets = realloc(p->offsets, n * sizeof *offsets);
    if (offsets == NULL)
        return KV_NO_MEMORY;
    p->offsets = offsets;
    size_t *lens = realloc(p->lens, n * sizeof *lens);
    if (lens == NULL)
        return KV_NO_MEMORY;
    p->lens = lens;
    const uint8_t **ptrs = realloc(p->ptrs, n * sizeof *ptrs);
    if (ptrs == NULL)
        return KV_NO_MEMORY;
    p->ptrs = ptrs;
    p->slots = n;
    return KV_OK;
}

/* Starts argument number p->have at the end of the argument bytes. */
static kv_status begin_arg(kv_resp_parser *p)
{
    kv_status st = add_slot(p);
    if (st != KV_OK)
        return st;
    p->offsets[p->have] = p->args.len;
    p->lens[p->have] = 0;
    return KV_OK;
}

/* Ends the current argument with a NUL (not counted) and counts it as received. */
static kv_status end_arg(kv_resp_parser *p)
{
    kv_status st = kv_resp_append(&p->args, "", 1);
    if (st != KV_OK)
        return st;
    p->lens[p->have] = p->args.len - 1 - p->offsets[p->have];
    p->have++;
    return KV_OK;
}

/* Hands out the command: the pointers are made now, since the argument bytes may have moved while growing. */
static void finish(kv_resp_parser *p, kv_resp_cmd *cmd)
{
    for (size_t i = 0; i < p->have; i++)
        p->ptrs[i] = p->args.data + p->offsets[i];
    cmd->argc = p->have;
    cmd->argv = p->ptrs;
    cmd->lens = p->lens;
    p->state = ST_DONE;
}

/* Reads the decimal number of a header line ("12", "-1"); false when it is not one or does not fit. */
static bool line_number(const kv_buf *line, long long *out)
{
    size_t n = line->len;
    if (n < 2 || line->data[n - 2] != '\r')
        return false;
    n -= 2; /* without the CRLF */
    size_t i = 0;
    bool negative = n > 0 && line->data[0] == '-';
    if (negative)
        i = 1;
    if (i == n || n - i > 18) /* 18 digits always fit in a long long */
        return false;
    long long v = 0;
    for (; i < n; i++) {
        uint8_t c = line->data[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *out = negative ? -v : v;
    return true;
}

/*
 * Adds bytes to the current line until its LF. Returns true once the line is whole (LF included); false when the
 * bytes ran out first. *st is set to a protocol error when the line grows past KV_RESP_MAX_LINE.
 */
static bool take_line(kv_resp_parser *p, const uint8_t *data, size_t len, size_t *pos, const char *too_long, kv_status *st)
{
    const uint8_t *lf = memchr(data + *pos, '\n', len - *pos);
    size_t take = lf ? (size_t)(lf - (data + *pos)) + 1 : len - *pos;
    if (p->line.len + take > KV_RESP_MAX_LINE + 2) {
        *st = protocol_error(p, too_long);
        return false;
    }
    *st = kv_resp_append(&p->line, data + *pos, take);
    *pos += take;
    return *st == KV_OK && lf != NULL;
}

/* Splits a whole inline line into arguments at spaces and tabs; the CR before the LF is dropped. */
static kv_status split_inline(kv_resp_parser *p)
{
    size_t n = p->line.len - 1;
    if (n > 0 && p->line.data[n - 1] == '\r')
        n--;
    size_t i = 0;
    while (i < n) {
        while (i < n && (p->line.data[i] == ' ' || p->line.data[i] == '\t'))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && p->line.data[i] != ' ' && p->line.data[i] != '\t')
            i++;
        kv_status st = begin_arg(p);
        if (st == KV_OK)
            st = kv_resp_append(&p->args, p->line.data + start, i - start);
        if (st == KV_OK)
            st = end_arg(p);
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

/* The array header is whole: check the count, then expect its bulk strings. */
static kv_status on_array_line(kv_resp_parser *p)
{
    long long count;
    if (!line_number(&p->line, &count) || count < 0 || (unsigned long long)count > p->max_args)
        return protocol_error(p, "Protocol error: invalid multibulk length");
    p->argc = (size_t)count;
    p->state = count == 0 ? ST_START : ST_BULK_START; /* "*0" is an empty command: skipped, as redis does */
    return KV_OK;
}

/* The bulk header is whole: check the length, then take its bytes. */
static kv_status on_bulk_line(kv_resp_parser *p)
{
    long long n;
    if (!line_number(&p->line, &n) || n < 0 || (unsigned long long)n > p->max_bulk)
        return protocol_error(p, "Protocol error: invalid bulk length");
    p->bulk_len = (size_t)n;
    p->bulk_got = 0;
    p->state = ST_BULK_DATA;
    return begin_arg(p);
}

kv_status kv_resp_parse(kv_resp_parser *p, const void *data, size_t len, size_t *used, kv_resp_cmd *cmd)
{
    const uint8_t *in = data;
    size_t pos = 0;
    kv_status st = KV_OK;
    cmd->argc = 0;
    if (p->state == ST_DONE) {
        p->args.len = 0;
        p->have = 0;
        p->state = ST_START;
    }
    while (pos < len && st == KV_OK) {
        switch (p->state) {
        case ST_START:
            p->line.len = 0;
            p->have = 0;
            p->args.len = 0;
            if (in[pos] == '*') {
                pos++;
                p->state = ST_ARRAY_LINE;
            } else {
                p->state = ST_INLINE;
            }
            break;
        case ST_ARRAY_LINE:
            if (take_line(p, in, len, &pos, "Protocol error: too big mbulk count string", &st))
                st = on_array_line(p);
            break;
        case ST_BULK_START:
            if (in[pos] != '$') {
                /* The parser's own storage, not a static buffer: connections parse on many threads at once. */
                uint8_t c = in[pos];
                snprintf(p->why, sizeof p->why, "Protocol error: expected '$', got '%c'", c >= 32 && c < 127 ? c : '?');
                return protocol_error(p, p->why);
            }
            pos++;
            p->line.len = 0;
            p->state = ST_BULK_LINE;
            break;
        case ST_BULK_LINE:
            if (take_line(p, in, len, &pos, "Protocol error: too big bulk count string", &st))
                st = on_bulk_line(p);
            break;
        case ST_BULK_DATA: {
            size_t take = len - pos < p->bulk_len - p->bulk_got ? len - pos : p->bulk_len - p->bulk_got;
            st = kv_resp_append(&p->args, in + pos, take);
            pos += take;
            p->bulk_got += take;
            if (p->bulk_got == p->bulk_len)
                p->state = ST_BULK_CR;
            break;
        }
        case ST_BULK_CR:
        case ST_BULK_LF:
            if (in[pos] != (p->state == ST_BULK_CR ? '\r' : '\n'))
                return protocol_error(p, "Protocol error: expected CRLF after a bulk string");
            pos++;
            if (p->state == ST_BULK_CR) {
                p->state = ST_BULK_LF;
                break;
            }
            st = end_arg(p);
            if (st == KV_OK && p->have == p->argc) {
                finish(p, cmd);
                *used = pos;
                return KV_OK;
            }
            p->state = ST_BULK_START;
            break;
        case ST_INLINE:
            if (!take_line(p, in, len, &pos, "Protocol error: too big inline request", &st))
                break;
            st = split_inline(p);
            if (st == KV_OK && p->have > 0) {
                finish(p, cmd);
                *used = pos;
                return KV_OK;
            }
            p->state = ST_START; /* an empty line: nothing to run */
            break;
        }
    }
    *used = pos;
    return st;
}

kv_status kv_resp_simple(kv_buf *out, const char *text)
{
    size_t old = out->len;
    if (kv_resp_append(out, "+", 1) != KV_OK || kv_resp_append(out, text, strlen(text)) != KV_OK ||
        kv_resp_append(out, "\r\n", 2) != KV_OK) {
        out->len = old;
        return KV_NO_MEMORY;
    }
    return KV_OK;
}

kv_status kv_resp_error(kv_buf *out, const char *text)
{
    size_t old = out->len, n = strlen(text);
    if (kv_resp_append(out, "-", 1) != KV_OK || kv_resp_append(out, text, n) != KV_OK ||
        kv_resp_append(out, "\r\n", 2) != KV_OK) {
        out->len = old;
        return KV_NO_MEMORY;
    }
    /* One line, whatever the text held: a CR or LF inside would end the reply early and desynchronise the client. */
    for (size_t i = old + 1; i < old + 1 + n; i++)
        if (out->data[i] == '\r' || out->data[i] == '\n')
            out->data[i] = ' ';
    return KV_OK;
}

/* Appends @p tag, the number, and CRLF: the shape of ':', '$' and '*' headers. */
static kv_status header(kv_buf *out, char tag, int64_t value)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%c%" PRId64 "\r\n", tag, value);
    return kv_resp_append(out, text, (size_t)n);
}

kv_status kv_resp_integer(kv_buf *out, int64_t value) { return header(out, ':', value); }

kv_status kv_resp_bulk(kv_buf *out, const void *data, size_t len)
{
    size_t old = out->len;
    if (header(out, '$', (int64_t)len) != KV_OK || kv_resp_append(out, data, len) != KV_OK ||
        kv_resp_append(out, "\r\n", 2) != KV_OK) {
        out->len = old;
        return KV_NO_MEMORY;
    }
    return KV_OK;
}

kv_status kv_resp_nil(kv_buf *out) { return kv_resp_append(out, "$-1\r\n", 5); }

kv_status kv_resp_array(kv_buf *out, int64_t count) { return header(out, '*', count < 0 ? -1 : count); }
