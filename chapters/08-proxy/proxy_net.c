/*
 * Chapter 08, given code: the proxy's plumbing that is not about proxying — its log lines and binding a listener.
 * Read it, do not write it: proxy.c calls these.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void px_log(const px_proxy *p, const char *fmt, ...)
{
    if (p->opts.quiet)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "px-proxy: %s\n", line);
}

/* "IP:port" or "[IPv6]:port" into @p ss; port 0 is allowed here (the kernel picks one), unlike in an endpoints file. */
static bool parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || (size_t)(colon - spec) >= sizeof host)
        return false;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || port > 65535)
        return false;
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof *a;
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    return inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

/* Binds a non-blocking listener to @p spec. */
int px_listen_on(const char *spec, int *fd_out, uint16_t *port_out, char *err, size_t err_len)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (!parse_listen(spec, &addr, &addr_len)) {
        snprintf(err, err_len, "listen address '%s' is not IP:PORT", spec);
        return -EINVAL;
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return rc;
    }
    int one = 1;
    /* SO_REUSEADDR lets a restarted proxy bind while old connections sit in TIME_WAIT; it never shares a port
     * with a live listener (that is SO_REUSEPORT, not asked for). */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&addr, addr_len) < 0 || listen(fd, SOMAXCONN) < 0) {
        int rc = -errno;
        snprintf(err, err_len, "%s: %s", spec, strerror(errno));
        close(fd);
        return rc;
    }
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    (void)getsockname(fd, (struct sockaddr *)&bound, &len);
    *port_out = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *fd_out = fd;
    return 0;
}
