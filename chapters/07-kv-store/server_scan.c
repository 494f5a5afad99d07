/*
 * Chapter 07, part 5: SCAN with its cursors and glob patterns, DBSIZE, and the commands that report on the server
 * (INFO, CONFIG GET, COMMAND), which redis-cli and redis-benchmark send when they start. Each is a ::kv_command_fn
 * (server_impl.h).
 *
 * SCAN: a cursor is a number the connection issues (clients such as redis-cli --scan parse it as a number), kept in
 * the connection's cursors[] with the key the next call starts at; "0" starts and "0" back means done. Read one key
 * more than COUNT asks for with kv_store_scan(): it is where the next call starts. MATCH is redis's glob ('*', '?',
 * '[a-z]', '[^a]', '\' quoting the next byte).
 */
#define _GNU_SOURCE
#include "resp.h"
#include "server_impl.h"

kv_status kv_cmd_scan(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): see above: the next cursor, then the array of matching keys. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_dbsize(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): count the live keys with kv_store_scan(). */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_info(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): one bulk string: "# Section" then "name:value" lines, the server's and the store's figures. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_config(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): CONFIG GET save / appendonly / appendfsync as a name-value pair; any other name: an empty
     * list, as redis answers a parameter it does not have. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_command(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): an empty list says "no documentation". */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}
