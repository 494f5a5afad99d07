/* Chapter 08: proxy_tcp.c, tcp mode (skeleton being written). */
#include "proxy_impl.h"

void px_tcp_session_start(px_session *s) { (void)s; }
