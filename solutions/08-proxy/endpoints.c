/*
 * The endpoints file (endpoints.h): one numeric address per line, comments and blank lines ignored, every error
 * naming its line. The parser works on (pointer, length) spans, never on NUL-terminated strings, so a last line
 * without its newline needs no special case; a NUL byte is refused before a C-string function (inet_pton) could stop
 * at it and accept the half of the address before it.
 */
#define _POSIX_C_SOURCE 200809L

#include "endpoints.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A span of the input: the C spelling of a borrowed &str. */
typedef struct span {
    const char *p;
    size_t n;
} span;

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static span trim(span s)
{
    while (s.n > 0 && is_blank(s.p[0]))
        s.p++, s.n--;
    while (s.n > 0 && is_blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* The port after the address: 1 to 65535 in decimal, and nothing after it. Digits are counted before they are
 * added up, so "99999999999999999999" is "out of range", not a wrapped number that happens to fit. */
static int parse_port(span s, unsigned line, uint16_t *port, char *err, size_t err_len)
{
    size_t digits = 0;
    unsigned long value = 0;
    while (digits < s.n && s.p[digits] >= '0' && s.p[digits] <= '9') {
        if (value <= 65535)
            value = value * 10 + (unsigned long)(s.p[digits] - '0');
        digits++;
    }
    if (digits == 0)
        return fail(err, err_len, "line %u: a port number must follow the ':'", line);
    if (digits < s.n)
        return fail(err, err_len, "line %u: unexpected \"%.*s\" after the port", line, (int)(s.n - digits), s.p + digits);
    if (value == 0 || value > 65535)
        return fail(err, err_len, "line %u: port %.*s is out of range (1-65535)", line, (int)s.n, s.p);
    *port = (uint16_t)value;
    return 0;
}

/* One address, already trimmed and stripped of its comment: "a.b.c.d:port" or "[v6]:port". */
static int parse_addr(span s, unsigned line, px_endpoint_addr *out, char *err, size_t err_len)
{
    char host[INET6_ADDRSTRLEN];
    span h, rest;
    bool v6 = s.p[0] == '[';
    if (v6) {
        const char *close = memchr(s.p, ']', s.n);
        if (close == NULL)
            return fail(err, err_len, "line %u: '[' without its ']'", line);
        h = (span){s.p + 1, (size_t)(close - s.p) - 1};
        rest = (span){close + 1, s.n - (size_t)(close - s.p) - 1};
    } else {
        const char *colon = memchr(s.p, ':', s.n);
        if (colon == NULL)
            return fail(err, err_len, "line %u: \"%.*s\" has no ':port'", line, (int)s.n, s.p);
        h = (span){s.p, (size_t)(colon - s.p)};
        rest = (span){colon, s.n - h.n};
        if (memchr(rest.p + 1, ':', rest.n - 1) != NULL)
            return fail(err, err_len, "line %u: an IPv6 address goes in brackets: [addr]:port", line);
    }
    if (rest.n == 0 || rest.p[0] != ':')
        return fail(err, err_len, "line %u: \"%.*s\" has no ':port'", line, (int)s.n, s.p);
    /* inet_pton wants a NUL-terminated string: copy the host into a buffer that a valid address always fits. */
    if (h.n == 0 || h.n >= sizeof host)
        return fail(err, err_len, "line %u: \"%.*s\" is not a numeric %s address", line, (int)h.n, h.p,
                    v6 ? "IPv6" : "IPv4");
    memcpy(host, h.p, h.n);
    host[h.n] = '\0';

    uint16_t port = 0;
    int rc = parse_port((span){rest.p + 1, rest.n - 1}, line, &port, err, err_len);
    if (rc < 0)
        return rc;

    memset(out, 0, sizeof *out);
    if (v6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss; /* sockaddr_storage fits and aligns any family */
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return fail(err, err_len, "line %u: \"%s\" is not a numeric IPv6 address", line, host);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        out->len = sizeof *sin6;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host); /* canonical: "::1", not "0:0::1" */
        snprintf(out->text, sizeof out->text, "[%s]:%u", host, (unsigned)port);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss; /* as above */
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return fail(err, err_len, "line %u: \"%s\" is not a numeric IPv4 address", line, host);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        out->len = sizeof *sin;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(out->text, sizeof out->text, "%s:%u", host, (unsigned)port);
    }
    return 0;
}

bool px_endpoint_addr_equal(const px_endpoint_addr *a, const px_endpoint_addr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss, *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    /* Compare fields, never whole structs: padding and sin6_flowinfo say nothing about which endpoint it is. */
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss, *y = (const struct sockaddr_in6 *)&b->ss;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* The list being built, and the line each entry came from (for "listed twice" messages). */
typedef struct builder {
    px_endpoint_addr *addrs;
    unsigned *lines;
    size_t n, cap;
} builder;

static int builder_push(builder *b, const px_endpoint_addr *a, unsigned line)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        px_endpoint_addr *addrs = realloc(b->addrs, cap * sizeof *addrs);
        if (addrs == NULL)
            return -ENOMEM;
        b->addrs = addrs; /* grown: keep it even if the next realloc fails, so free() sees it */
        unsigned *lines = realloc(b->lines, cap * sizeof *lines);
        if (lines == NULL)
            return -ENOMEM;
        b->lines = lines;
        b->cap = cap;
    }
    b->addrs[b->n] = *a;
    b->lines[b->n++] = line;
    return 0;
}

/* One line: 0 and *got = false for a blank or comment line, 0 and *got = true with *a filled for an address. */
static int parse_line(span s, unsigned line, px_endpoint_addr *a, bool *got, char *err, size_t err_len)
{
    const char *hash = memchr(s.p, '#', s.n);
    if (hash != NULL)
        s.n = (size_t)(hash - s.p);
    s = trim(s);
    *got = s.n > 0;
    if (!*got)
        return 0;
    if (memchr(s.p, '\0', s.n) != NULL)
        return fail(err, err_len, "line %u: a NUL byte in the line", line);
    if (memchr(s.p, ' ', s.n) != NULL || memchr(s.p, '\t', s.n) != NULL) {
        const char *sp = s.p;
        while (!is_blank(*sp))
            sp++;
        span after = trim((span){sp, s.n - (size_t)(sp - s.p)});
        return fail(err, err_len, "line %u: unexpected \"%.*s\" after the address (one endpoint per line)", line,
                    (int)after.n, after.p);
    }
    return parse_addr(s, line, a, err, err_len);
}

int px_endpoints_parse(const char *text, size_t len, px_endpoint_addr **out, size_t *count, char *err, size_t err_len)
{
    builder b = {0};
    int rc = 0;
    unsigned line = 0;
    *out = NULL;
    *count = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        px_endpoint_addr a;
        bool got;
        line++;
        rc = parse_line((span){text + at, end - at}, line, &a, &got, err, err_len);
        at = end + 1;
        if (rc < 0 || !got)
            continue;
        /* Quadratic, and fine: a file of a few hundred endpoints is read once per reload, not per request. */
        for (size_t i = 0; i < b.n; i++) {
            if (px_endpoint_addr_equal(&b.addrs[i], &a)) {
                rc = fail(err, err_len, "line %u: %s is listed twice (first at line %u)", line, a.text, b.lines[i]);
                break;
            }
        }
        if (rc == 0)
            rc = builder_push(&b, &a, line);
    }
    free(b.lines);
    if (rc < 0) {
        free(b.addrs);
        return rc;
    }
    /* An empty list never allocated: b.addrs is NULL, as the header promises. */
    *out = b.addrs;
    *count = b.n;
    return 0;
}

/* Reads the whole file into a malloc'd buffer; -errno on failure. */
static int read_all(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0) {
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = bigger, cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = -errno;
        else if (got == 0)
            break;
        else
            n += (size_t)got;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return 0;
}

int px_endpoints_load(const char *path, px_endpoint_addr **out, size_t *count, char *err, size_t err_len)
{
    char *data = NULL;
    size_t len = 0;
    *out = NULL;
    *count = 0;
    int rc = read_all(path, &data, &len);
    if (rc < 0) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "%s: %s", path, strerror(-rc));
        return rc;
    }
    char why[256] = "";
    rc = px_endpoints_parse(data, len, out, count, why, sizeof why);
    free(data);
    if (rc == -EINVAL && err != NULL && err_len > 0)
        snprintf(err, err_len, "%s: %s", path, why);
    return rc;
}
