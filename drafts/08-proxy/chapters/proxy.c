/* Chapter 08: proxy.c, the proxy's frame (skeleton being written). */
#include "proxy_impl.h"

#include <errno.h>

void px_log(const px_proxy *p, const char *fmt, ...) { (void)p, (void)fmt; }

void px_session_close(px_session *s) { (void)s; }

int px_proxy_create(const px_options *opts, px_proxy **out, char *err, size_t err_len)
{
    (void)opts, (void)err, (void)err_len;
    *out = NULL;
    return -ENOSYS;
}

void px_proxy_ports(const px_proxy *p, uint16_t *listen_port, uint16_t *admin_port)
{
    (void)p, (void)listen_port, (void)admin_port;
}

int px_proxy_run(px_proxy *p)
{
    (void)p;
    return -ENOSYS;
}

void px_proxy_destroy(px_proxy *p) { (void)p; }
