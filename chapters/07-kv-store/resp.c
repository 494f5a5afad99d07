/*
 * Chapter 07, part 5: the RESP2 request parser and the reply writers. The contract is in resp.h.
 *
 * Suggested layout: a state machine with one state per thing the next byte can be — the first byte of a command
 * ('*' starts an array, anything else an inline line), the count after '*', the '$' of a bulk string, its length,
 * its bytes, the CR and the LF after them, an inline line. Keep an unfinished header line in p->line, and the
 * arguments received so far in p->args (each followed by a NUL), with their offsets and lengths in tables that grow
 * one argument at a time. Never reserve what a header claims: grow with the bytes that arrive. Hand a command out
 * (the pointers made from the offsets at that moment, since p->args may have moved) as soon as its last CRLF is in,
 * and tell the caller how many bytes that took, so that it runs the command before the next one is parsed.
 */
#include "resp.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kv_status kv_resp_append(kv_buf *out, const void *data, size_t len)
{
    /* TODO (part 5): grow out (doubling, as kv_buf_set does) and copy the bytes after out->len. */
    (void)out;
    (void)data;
    (void)len;
    return KV_TODO;
}

void kv_resp_parser_init(kv_resp_parser *p, size_t max_bulk, size_t max_args)
{
    /* Given: a parser with nothing received and the limits filled in. */
    *p = (kv_resp_parser){
        .max_bulk = max_bulk ? max_bulk : KV_RESP_MAX_BULK,
        .max_args = max_args ? max_args : KV_RESP_MAX_ARGS,
    };
}

void kv_resp_parser_free(kv_resp_parser *p)
{
    /* TODO (part 5): free p->line, p->args and the three tables, then start over with kv_resp_parser_init(). */
    kv_resp_parser_init(p, p->max_bulk, p->max_args);
}

kv_status kv_resp_parse(kv_resp_parser *p, const void *data, size_t len, size_t *used, kv_resp_cmd *cmd)
{
    /* TODO (part 5): see resp.h and the layout above. A protocol error sets p->error to redis's words ("Protocol
     * error: invalid bulk length", "Protocol error: invalid multibulk length", ...) and returns KV_INVALID. */
    (void)p;
    (void)data;
    (void)len;
    *used = 0;
    cmd->argc = 0;
    return KV_TODO;
}

kv_status kv_resp_simple(kv_buf *out, const char *text)
{
    /* TODO (part 5): "+" text CRLF, appended; on KV_NO_MEMORY leave out as it was. */
    (void)out;
    (void)text;
    return KV_TODO;
}

kv_status kv_resp_error(kv_buf *out, const char *text)
{
    /* TODO (part 5): "-" text CRLF, with any CR or LF inside text written as a space. */
    (void)out;
    (void)text;
    return KV_TODO;
}

kv_status kv_resp_integer(kv_buf *out, int64_t value)
{
    /* TODO (part 5): ":" value CRLF (PRId64 from <inttypes.h>). */
    (void)out;
    (void)value;
    return KV_TODO;
}

kv_status kv_resp_bulk(kv_buf *out, const void *data, size_t len)
{
    /* TODO (part 5): "$" len CRLF, the bytes, CRLF. */
    (void)out;
    (void)data;
    (void)len;
    return KV_TODO;
}

kv_status kv_resp_nil(kv_buf *out)
{
    /* TODO (part 5): "$-1" CRLF. */
    (void)out;
    return KV_TODO;
}

kv_status kv_resp_array(kv_buf *out, int64_t count)
{
    /* TODO (part 5): "*" count CRLF; "*-1" CRLF for a negative count. */
    (void)out;
    (void)count;
    return KV_TODO;
}
