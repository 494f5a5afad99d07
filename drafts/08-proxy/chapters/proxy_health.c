/* Chapter 08: proxy_health.c, active health checks (skeleton being written). */
#include "proxy_impl.h"

void px_health_start(px_slot *s) { (void)s; }

void px_health_stop(px_slot *s) { (void)s; }
