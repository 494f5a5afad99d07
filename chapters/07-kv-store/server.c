/*
 * Chapter 07, part 5: the RESP2 server. The contract, and why it runs a thread per connection, are in server.h.
 *
 * The server is four files; server_impl.h holds the structs they share and declares what each provides. This one is
 * the machinery; the commands are in server_cmd.c, server_scan.c and server_txn.c. Suggested layout:
 *  - kv_server_start(): a listening socket on 127.0.0.1 (SO_REUSEADDR; EADDRINUSE is KV_EXISTS), getsockname()
 *    for the port, then one accepting thread.
 *  - the accepting thread: accept4(); under the server's lock, join the connection threads that have finished,
 *    then either refuse the connection ("-ERR max number of clients reached\r\n", then close) or start a thread
 *    for it. Keep every connection in a list so that kv_server_stop() can reach it.
 *  - a connection thread: recv() into a buffer; hand the bytes to kv_resp_parse() until they are used up, running
 *    each whole command as it comes (kv_server_run_command()); then write out the gathered SETs
 *    (kv_server_flush_sets()) and send every reply of that read in one go. On a protocol error, answer "-ERR " and
 *    the parser's reason, and close.
 *  - kv_server_stop(): set "stopping", shutdown(SHUT_RD) every connection (its next recv() returns 0, after it
 *    has answered what it read), shutdown() the listening socket (accept() returns), join every thread.
 *    Close a connection's socket only after its thread is joined, so that no descriptor number is reused while
 *    another thread may still shut it down.
 */
#define _GNU_SOURCE
#include "server.h"

#include "resp.h"
#include "server_impl.h"

#include <stdbool.h>
#include <stdlib.h>

kv_status kv_server_start(kv_store *store, const kv_server_options *opt, kv_server **out)
{
    /* TODO (part 5): see the layout above. */
    (void)store;
    (void)opt;
    *out = NULL;
    return KV_TODO;
}

uint16_t kv_server_port(const kv_server *s)
{
    /* TODO (part 5): the port bound (the kernel's pick for port 0). */
    (void)s;
    return 0;
}

kv_server_stats kv_server_stats_get(kv_server *s)
{
    /* TODO (part 5): read the counters (atomics: every connection thread adds to them). */
    (void)s;
    return (kv_server_stats){0};
}

void kv_server_stop(kv_server *s)
{
    /* TODO (part 5): stop accepting, let each connection finish what it read, join every thread, free. */
    (void)s;
}
