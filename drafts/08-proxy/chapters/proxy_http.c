/* Chapter 08: proxy_http.c, http mode (being written). */
#include "proxy_impl.h"

void px_http_session_start(px_session *s)
{
    px_session_close(s);
}

void px_http_session_free(px_session *s)
{
    (void)s;
}
