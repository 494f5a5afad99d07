/*
 * Chapter 06, part 5: the service (service.h), its lifecycle — exercise skeleton. The service is three files:
 * this one, conn.c (one connection's state machine) and items.c (the handlers and /metrics); service_impl.h holds
 * the structs they share and says who owns what.
 *
 * TODO, in this order (README.md, part 5, walks through each):
 * 1. ws_service_open(): one ws_loop per worker, each with its own listening socket on 127.0.0.1 bound with
 *    SO_REUSEPORT to the same port (worker 0 binds the configured port, the others the port it got), watched with
 *    ws_worker_on_accept() (conn.c); block SIGTERM and SIGINT and watch them through a signalfd on worker 0's loop;
 *    create the cache and the pool (its home: worker 0's loop); add the routes of service.h to a ws_router, with
 *    the handler numbers of service_impl.h.
 * 2. Then conn.c and items.c: connections, GET through the cache (never the pool directly on a miss), PUT and
 *    DELETE with invalidation, /metrics.
 * 3. ws_service_run(): worker 0 on the calling thread, the others on threads of their own; join them all.
 * 4. SIGTERM: post a drain to every worker (stop accepting, close idle connections, let requests in flight
 *    finish); ws_worker_check_drained() tells worker 0 when a worker's last connection is gone; when all are, stop
 *    every loop. A drain deadline closes what is left. ws_service_close(): the pool shut down and drained on
 *    worker 0's loop, then everything freed, the loops last.
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
