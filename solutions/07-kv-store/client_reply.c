/*
 * The client driver's replies (client.h): the reply type, its accessors, and the parser that reads one RESP2 reply
 * from the bytes a connection has read so far. client_conn.c calls the parser; nothing else sees inside a reply.
 */
#define _GNU_SOURCE
#include "client.h"
#include "client_impl.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BULK (512u * 1024 * 1024) /* redis's proto-max-bulk-len: a longer bulk string is a protocol error */
#define MAX_DEPTH 8                   /* nesting of arrays in one reply */

struct kv_reply {
    kv_reply_type type;
    int64_t integer;  /* KV_REPLY_INT */
    char *str;        /* STATUS, ERROR, BULK: owned, NUL-terminated */
    size_t len;       /* bytes of str, without the NUL */
    kv_reply **elems; /* ARRAY: n owned replies */
    size_t n;
};

kv_reply_type kv_reply_kind(const kv_reply *r) { return r->type; }

kv_status kv_reply_as_int(const kv_reply *r, int64_t *out)
{
    if (r == NULL || r->type != KV_REPLY_INT)
        return KV_INVALID;
    *out = r->integer;
    return KV_OK;
}

kv_status kv_reply_as_bytes(const kv_reply *r, const uint8_t **data, size_t *len)
{
    if (r != NULL && r->type == KV_REPLY_NIL)
        return KV_NOT_FOUND;
    if (r == NULL || (r->type != KV_REPLY_BULK && r->type != KV_REPLY_STATUS))
        return KV_INVALID;
    *data = (const uint8_t *)r->str;
    *len = r->len;
    return KV_OK;
}

kv_status kv_reply_error_message(const kv_reply *r, const char **message)
{
    if (r == NULL || r->type != KV_REPLY_ERROR)
        return KV_INVALID;
    *message = r->str;
    return KV_OK;
}

kv_status kv_reply_array_len(const kv_reply *r, size_t *n)
{
    if (r == NULL || r->type != KV_REPLY_ARRAY)
        return KV_INVALID;
    *n = r->n;
    return KV_OK;
}

kv_status kv_reply_array_at(const kv_reply *r, size_t i, const kv_reply **elem)
{
    if (r == NULL || r->type != KV_REPLY_ARRAY || i >= r->n)
        return KV_INVALID;
    *elem = r->elems[i];
    return KV_OK;
}

void kv_reply_free(kv_reply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        kv_reply_free(r->elems[i]);
    free(r->elems);
    free(r->str);
    free(r);
}

/* The line at p[0..avail) up to CRLF: its length, or -1 when the CRLF has not arrived yet. */
static ptrdiff_t line_len(const uint8_t *p, size_t avail)
{
    for (size_t i = 0; i + 1 < avail; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return (ptrdiff_t)i;
    return -1;
}

/* A decimal integer filling the whole line, or false. */
static bool parse_int(const uint8_t *p, size_t len, int64_t *out)
{
    char tmp[24];
    if (len == 0 || len >= sizeof tmp)
        return false;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/*
 * Parses one reply from p[0..avail). KV_PARSE_DONE: *out is the reply and *used its bytes. KV_PARSE_MORE: it has not all
 * arrived (nothing is kept; the caller parses again from the start when more has). KV_PARSE_ERROR: not RESP2. No length
 * is trusted before the bytes it claims are there: a bulk string is copied only once whole, and an array's element
 * table is allocated only when the buffer holds at least 3 bytes per claimed element.
 */
int kv_reply_parse(const uint8_t *p, size_t avail, int depth, size_t *used, kv_reply **out)
{
    ptrdiff_t ll = line_len(p, avail);
    if (ll < 0)
        return avail > 64 * 1024 ? KV_PARSE_ERROR : KV_PARSE_MORE; /* a header line longer than that is garbage */
    if (ll < 1 || depth > MAX_DEPTH)
        return KV_PARSE_ERROR;
    size_t head = (size_t)ll + 2;
    kv_reply *r = calloc(1, sizeof *r);
    if (r == NULL)
        return KV_PARSE_ERROR;
    int64_t n = 0;
    switch (p[0]) {
    case '+':
    case '-':
        r->type = p[0] == '+' ? KV_REPLY_STATUS : KV_REPLY_ERROR;
        r->len = (size_t)ll - 1;
        if ((r->str = malloc(r->len + 1)) == NULL)
            goto error;
        memcpy(r->str, p + 1, r->len);
        r->str[r->len] = '\0';
        *used = head;
        break;
    case ':':
        r->type = KV_REPLY_INT;
        if (!parse_int(p + 1, (size_t)ll - 1, &r->integer))
            goto error;
        *used = head;
        break;
    case '$':
        if (!parse_int(p + 1, (size_t)ll - 1, &n) || n < -1 || n > (int64_t)MAX_BULK)
            goto error;
        *used = head;
        if (n == -1) {
            r->type = KV_REPLY_NIL;
            break;
        }
        if (avail - head < (size_t)n + 2) {
            free(r);
            return KV_PARSE_MORE;
        }
        if (p[head + (size_t)n] != '\r' || p[head + (size_t)n + 1] != '\n')
            goto error;
        r->type = KV_REPLY_BULK;
        r->len = (size_t)n;
        if ((r->str = malloc(r->len + 1)) == NULL)
            goto error;
        memcpy(r->str, p + head, r->len);
        r->str[r->len] = '\0';
        *used = head + (size_t)n + 2;
        break;
    case '*':
        if (!parse_int(p + 1, (size_t)ll - 1, &n) || n < -1 || n > (int64_t)MAX_BULK)
            goto error;
        *used = head;
        if (n == -1) {
            r->type = KV_REPLY_NIL;
            break;
        }
        r->type = KV_REPLY_ARRAY;
        if ((size_t)n > (avail - head) / 3) { /* ":0\r\n" is the shortest element there is, less one byte */
            free(r);
            return KV_PARSE_MORE;
        }
        if (n > 0 && (r->elems = calloc((size_t)n, sizeof *r->elems)) == NULL)
            goto error;
        for (; r->n < (size_t)n; r->n++) {
            size_t u = 0;
            int st = kv_reply_parse(p + *used, avail - *used, depth + 1, &u, &r->elems[r->n]);
            if (st != KV_PARSE_DONE) {
                kv_reply_free(r);
                return st;
            }
            *used += u;
        }
        break;
    default:
        goto error;
    }
    *out = r;
    return KV_PARSE_DONE;
error:
    kv_reply_free(r);
    return KV_PARSE_ERROR;
}
