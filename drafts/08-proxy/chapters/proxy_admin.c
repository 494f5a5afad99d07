/* Chapter 08: proxy_admin.c, the admin listener (being written). */
#include "proxy_impl.h"

int px_admin_start(px_proxy *p)
{
    (void)p;
    return 0;
}

void px_admin_stop(px_proxy *p)
{
    (void)p;
}
