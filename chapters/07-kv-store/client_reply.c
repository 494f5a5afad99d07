/*
 * The client driver's replies (client.h): the reply type, its accessors, and the parser that reads one RESP2 reply
 * from the bytes a connection has read so far (client_impl.h). client_conn.c calls the parser.
 *
 * - struct kv_reply (yours to define here): a type, an integer, an owned NUL-terminated byte string, an owned array
 *   of owned replies.
 * - kv_reply_parse() takes the bytes read so far and says "done (this many bytes)", "need more" or "not RESP":
 *   the caller parses again from the start when more bytes arrive; trust no length before its bytes are there.
 */
#define _GNU_SOURCE
#include "client.h"
#include "client_impl.h"

kv_reply_type kv_reply_kind(const kv_reply *r)
{
    (void)r;
    return KV_REPLY_NIL; /* TODO: the reply's type */
}

kv_status kv_reply_as_int(const kv_reply *r, int64_t *out)
{
    /* TODO: KV_INVALID unless r is an integer reply; never read a field of another type. */
    (void)r;
    (void)out;
    return KV_TODO;
}

kv_status kv_reply_as_bytes(const kv_reply *r, const uint8_t **data, size_t *len)
{
    /* TODO: bulk and status replies give their bytes (borrowed), nil gives KV_NOT_FOUND, others KV_INVALID. */
    (void)r;
    (void)data;
    (void)len;
    return KV_TODO;
}

kv_status kv_reply_error_message(const kv_reply *r, const char **message)
{
    /* TODO: the message of an error reply, KV_INVALID for any other type. */
    (void)r;
    (void)message;
    return KV_TODO;
}

kv_status kv_reply_array_len(const kv_reply *r, size_t *n)
{
    /* TODO */
    (void)r;
    (void)n;
    return KV_TODO;
}

kv_status kv_reply_array_at(const kv_reply *r, size_t i, const kv_reply **elem)
{
    /* TODO: element i, borrowed; KV_INVALID out of range or for a reply that is not an array. */
    (void)r;
    (void)i;
    (void)elem;
    return KV_TODO;
}

void kv_reply_free(kv_reply *r)
{
    /* TODO: free the whole tree: the elements of an array (recursively), the bytes, the reply. */
    (void)r;
}

int kv_reply_parse(const uint8_t *p, size_t avail, int depth, size_t *used, kv_reply **out)
{
    /* TODO: see the top of this file and the contract in client_impl.h. */
    (void)p;
    (void)avail;
    (void)depth;
    (void)used;
    (void)out;
    return KV_PARSE_ERROR;
}
