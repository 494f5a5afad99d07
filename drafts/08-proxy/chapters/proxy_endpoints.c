/* Chapter 08: proxy_endpoints.c, the endpoint table (skeleton being written). */
#include "proxy_impl.h"

#include <errno.h>

int px_endpoints_reload(px_proxy *p, char *err, size_t err_len)
{
    (void)p, (void)err, (void)err_len;
    return -ENOSYS;
}

int px_endpoint_pick(px_proxy *p, px_pick *out)
{
    (void)p, (void)out;
    return -ENOSYS;
}

void px_endpoint_report(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok)
{
    (void)p, (void)pick, (void)rtt_ns, (void)ok;
}

void px_endpoint_release(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok)
{
    (void)p, (void)pick, (void)rtt_ns, (void)ok;
}

px_slot *px_endpoint_slot(px_proxy *p, px_pick pick)
{
    (void)p, (void)pick;
    return NULL;
}

void px_endpoints_clear(px_proxy *p) { (void)p; }

void px_endpoint_health_result(px_slot *s, bool ok) { (void)s, (void)ok; }
