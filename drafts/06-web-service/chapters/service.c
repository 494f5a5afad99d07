/*
 * Chapter 06, part 5: the service (service.h) — exercise skeleton.
 *
 * TODO, in this order (README.draft.md, part 5, walks through each):
 * 1. ws_service_open(): one ws_loop per worker, each with its own listening socket on 127.0.0.1 bound with
 *    SO_REUSEPORT to the same port (worker 0 binds the configured port, the others the port it got); block
 *    SIGTERM and SIGINT and watch them through a signalfd on worker 0's loop; create the cache and the pool (its
 *    home: worker 0's loop); add the routes of service.h to a ws_router.
 * 2. Connections: accept non-blocking; per connection a ws_http_parser over a buffer of ws_http_buffer_size();
 *    feed what is read, answer one request at a time (parse the next only once the previous answer is queued),
 *    keep what a partial write left, close after a refused request or `Connection: close`.
 * 3. GET /items/:id: ws_cache_get() — HIT answers at once; LEAD runs the query with ws_pool_run() and hands the
 *    row to ws_cache_complete(); WAIT answers when the waiter is called — on another worker's thread, perhaps, so
 *    the callback only posts to the connection's loop (ws_loop_post()). Never query the pool on a miss directly.
 * 4. PUT and DELETE through the pool, then ws_cache_invalidate(); a checkout timeout is 503 with Retry-After: 1.
 * 5. SIGTERM: stop accepting, let requests in flight finish, close idle connections, return everything, exit 0.
 */
#include "service.h"

#include <stdlib.h>

ws_status ws_service_open(const ws_service_config *config, ws_service **out)
{
    (void)config;
    *out = NULL;
    return WS_STATUS_TODO;
}

uint16_t ws_service_port(const ws_service *s)
{
    (void)s;
    return 0;
}

int ws_service_run(ws_service *s)
{
    (void)s;
    return -1;
}

void ws_service_close(ws_service *s) { (void)s; }
