/*
 * http1.c — chapter 08, part 4: HTTP/1.1 heads, rewriting and the proxy's own error responses (the body
 * framing is in http1_body.c).
 *
 * The head parsers start over from the first byte on every call, as httparse does: no state between calls, so a
 * head split anywhere gives the same result, and a head is at most 16 KiB, so the repeated work is bounded. Each
 * complete line is checked as soon as it is in the buffer, which is what lets a partial head say "valid so far".
 * The body scanner is the opposite: it keeps its state in px_http_body and looks at each byte once, because a
 * body has no size limit and its bytes are forwarded (and gone) as they arrive.
 */
#include "http1.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* tchar of RFC 9110 §5.6.2: the bytes a method or a field name may hold. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-vchar, SP and HTAB: what a value or a reason phrase may hold (obs-text, >= 0x80, included). */
static bool is_text(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static bool name_is(const char *p, size_t n, const char *name) { return strlen(name) == n && strncasecmp(p, name, n) == 0; }

/* Calls fn on every comma-separated element of a value, trimmed; stops at the first fn that returns nonzero. */
static int each_element(const char *v, size_t n, int (*fn)(const char *, size_t, void *), void *arg)
{
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (start < end && (v[start] == ' ' || v[start] == '\t'))
            start++;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        int r = fn(v + start, end - start, arg);
        if (r != 0)
            return r;
        i++;
    }
    return 0;
}

/* ---- one line at a time ------------------------------------------------------------------------------------ */

/* Parses "HTTP/1.x" exactly (8 bytes). The shape HTTP/d.d with other digits is a version we do not speak (505);
 * anything else is not HTTP at all (400). */
static int parse_version(const char *p, size_t n, int *minor)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
        return PX_HTTP_BAD;
    if (p[5] != '1' || p[7] > '1')
        return PX_HTTP_BAD_VERSION;
    *minor = p[7] - '0';
    return 0;
}

/* method SP request-target SP HTTP-version: single spaces, a token method, a target of visible ASCII. */
static int parse_request_line(const char *l, size_t n, px_http_head *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i == n || l[i] != ' ')
        return PX_HTTP_BAD;
    h->method = l, h->method_len = i;
    size_t t = ++i;
    while (i < n && l[i] > 0x20 && l[i] < 0x7f)
        i++;
    if (i == t || i == n || l[i] != ' ')
        return PX_HTTP_BAD;
    h->target = l + t, h->target_len = i - t;
    return parse_version(l + i + 1, n - i - 1, &h->minor);
}

/* HTTP-version SP 3DIGIT SP reason-phrase; the SP before an empty reason may be missing (servers omit it). */
static int parse_status_line(const char *l, size_t n, px_http_head *h)
{
    if (n < 12 || l[8] != ' ')
        return PX_HTTP_BAD;
    int r = parse_version(l, 8, &h->minor);
    if (r != 0)
        return r;
    for (int i = 9; i < 12; i++) {
        if (l[i] < '0' || l[i] > '9')
            return PX_HTTP_BAD;
        h->status = h->status * 10 + (l[i] - '0');
    }
    if (h->status < 100 || (n > 12 && l[12] != ' '))
        return PX_HTTP_BAD;
    h->reason = l + (n > 12 ? 13 : 12), h->reason_len = n > 12 ? n - 13 : 0;
    for (size_t i = 0; i < h->reason_len; i++)
        if (!is_text((unsigned char)h->reason[i]))
            return PX_HTTP_BAD;
    return 0;
}

/* field-name ":" OWS field-value OWS. The colon must follow the name directly: "Name : v" is how a front end and
 * a back end come to disagree on which field they saw (RFC 9112 §5.1 makes it a 400). */
static int parse_header_line(const char *l, size_t n, px_http_head *h)
{
    if (l[0] == ' ' || l[0] == '\t')
        return PX_HTTP_BAD; /* obs-fold: refused, §5.2 */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i == n || l[i] != ':')
        return PX_HTTP_BAD;
    if (h->n_headers == PX_HTTP_MAX_HEADERS)
        return PX_HTTP_TOO_LARGE;
    size_t v = i + 1, end = n;
    while (v < end && (l[v] == ' ' || l[v] == '\t'))
        v++;
    while (end > v && (l[end - 1] == ' ' || l[end - 1] == '\t'))
        end--;
    for (size_t k = v; k < end; k++)
        if (!is_text((unsigned char)l[k]))
            return PX_HTTP_BAD;
    h->headers[h->n_headers++] = (px_http_header){l, i, l + v, end - v};
    return 0;
}

/* ---- framing, from the whole head --------------------------------------------------------------------------- */

static int content_length_element(const char *p, size_t n, void *arg)
{
    int64_t *len = arg, v = 0;
    if (n == 0)
        return PX_HTTP_BAD;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return PX_HTTP_BAD; /* no sign, no space, no hex: only 1*DIGIT */
        if (v > (INT64_MAX - (p[i] - '0')) / 10)
            return PX_HTTP_BAD; /* would overflow: a wrapped length is a smuggled body */
        v = v * 10 + (p[i] - '0');
    }
    if (*len >= 0 && *len != v)
        return PX_HTTP_AMBIGUOUS;
    *len = v;
    return 0;
}

struct te_state {
    int codings;      /* codings seen so far */
    int chunked_at;   /* the number of the last `chunked` among them, 0 for none */
    int chunked_seen; /* how many `chunked` */
};

static int te_element(const char *p, size_t n, void *arg)
{
    struct te_state *te = arg;
    if (n == 0)
        return 0; /* empty list elements are allowed and mean nothing (RFC 9110 §5.6.1) */
    te->codings++;
    if (name_is(p, n, "chunked"))
        te->chunked_at = te->codings, te->chunked_seen++;
    return 0;
}

struct conn_tokens {
    bool close, keep_alive, upgrade;
};

static int connection_element(const char *p, size_t n, void *arg)
{
    struct conn_tokens *c = arg;
    c->close |= name_is(p, n, "close");
    c->keep_alive |= name_is(p, n, "keep-alive");
    c->upgrade |= name_is(p, n, "upgrade");
    return 0;
}

/* Decides content_length, chunked and keep_alive from every field at once: a rule such as "CL and TE together"
 * is about the whole head, never about one line. */
static int derive_framing(px_http_head *h)
{
    struct te_state te = {0, 0, 0};
    struct conn_tokens conn = {false, false, false};
    int has_te = 0, hosts = 0, r = 0;
    h->content_length = -1;
    for (size_t i = 0; i < h->n_headers && r == 0; i++) {
        const px_http_header *f = &h->headers[i];
        if (name_is(f->name, f->name_len, "content-length"))
            r = each_element(f->value, f->value_len, content_length_element, &h->content_length);
        else if (name_is(f->name, f->name_len, "transfer-encoding"))
            has_te = 1, r = each_element(f->value, f->value_len, te_element, &te);
        else if (name_is(f->name, f->name_len, "connection"))
            r = each_element(f->value, f->value_len, connection_element, &conn);
        else if (name_is(f->name, f->name_len, "host"))
            hosts++;
        else if (name_is(f->name, f->name_len, "expect"))
            h->expect_continue = h->is_request && h->minor == 1 && name_is(f->value, f->value_len, "100-continue");
    }
    if (r != 0)
        return r;
    if (has_te) {
        /* Only a final, single `chunked` says where the body ends; with a Content-Length beside it the two hops
         * may each believe a different one (CL.TE / TE.CL smuggling). */
        if (h->content_length >= 0 || te.chunked_seen != 1 || te.chunked_at != te.codings)
            return PX_HTTP_AMBIGUOUS;
        h->chunked = true;
    }
    if (h->is_request && h->minor == 1 && hosts != 1)
        return PX_HTTP_BAD;
    h->keep_alive = h->minor == 1 ? !conn.close : conn.keep_alive && !conn.close;
    h->upgrade = h->is_request ? conn.upgrade && px_http_find(h, "upgrade") != NULL : h->status == 101;
    return 0;
}

/* ---- the head: lines until the empty one -------------------------------------------------------------------- */

static int parse_head(const char *buf, size_t len, px_http_head *h, bool is_request)
{
    *h = (px_http_head){.is_request = is_request};
    if (len == 0)
        return 0; /* nothing to look at (and buf may be NULL) */
    /* Bytes past the limit are never looked at: a head that has not ended by then is too large whatever follows. */
    size_t limit = len < PX_HTTP_MAX_HEAD ? len : PX_HTTP_MAX_HEAD;
    size_t pos = 0;
    while (is_request && pos + 1 < limit && buf[pos] == '\r' && buf[pos + 1] == '\n')
        pos += 2; /* empty lines before a request line: skipped (RFC 9112 §2.2) */
    for (int line = 0;; line++) {
        const char *nl = memchr(buf + pos, '\n', limit - pos);
        if (nl == NULL)
            return len >= PX_HTTP_MAX_HEAD ? PX_HTTP_TOO_LARGE : 0;
        size_t end = (size_t)(nl - buf);
        /* CRLF only: a bare LF ends a line here and not in the next hop's parser. A bare CR inside the line is
         * caught by the character checks below. */
        if (end == pos || buf[end - 1] != '\r')
            return PX_HTTP_BAD;
        const char *l = buf + pos;
        size_t n = end - 1 - pos;
        pos = end + 1;
        int r;
        if (line == 0)
            r = is_request ? parse_request_line(l, n, h) : parse_status_line(l, n, h);
        else if (n == 0)
            break;
        else
            r = parse_header_line(l, n, h);
        if (r != 0)
            return r;
    }
    int r = derive_framing(h);
    if (r != 0)
        return r;
    h->head_len = pos;
    return (int)pos;
}

int px_http_parse_request(const char *buf, size_t len, px_http_head *out) { return parse_head(buf, len, out, true); }

int px_http_parse_response(const char *buf, size_t len, px_http_head *out) { return parse_head(buf, len, out, false); }

const px_http_header *px_http_find(const px_http_head *h, const char *name)
{
    for (size_t i = 0; i < h->n_headers; i++)
        if (name_is(h->headers[i].name, h->headers[i].name_len, name))
            return &h->headers[i];
    return NULL;
}

/* ---- rewriting ---------------------------------------------------------------------------------------------- */

/* An output cursor: every append checks the room left, and one overflow poisons the rest, so the caller checks
 * once at the end (as ferror() after a run of writes) instead of after every piece. */
typedef struct writer {
    char *out;
    size_t cap, len;
    bool overflow;
} writer;

static void put(writer *w, const char *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->out + w->len, p, n);
    w->len += n;
}

static void puts_(writer *w, const char *s) { put(w, s, strlen(s)); }

static long finish(const writer *w) { return w->overflow ? -ENOSPC : (long)w->len; }

/* One field name looked for among the tokens of Connection. */
struct named {
    const char *name;
    size_t len;
    bool found;
};

static int names_element(const char *p, size_t n, void *arg)
{
    struct named *want = arg;
    want->found |= n == want->len && strncasecmp(p, want->name, n) == 0;
    return 0;
}

/* Hop-by-hop fields describe one connection, not the message: each hop removes them (RFC 9110 §7.6.1). Host and the
 * framing fields stay even when Connection names them, or a client could make the proxy drop Content-Length and
 * send the upstream a body it reads as the next request. */
static bool is_hop_by_hop(const px_http_head *h, const px_http_header *f)
{
    static const char *const fixed[] = {"connection", "keep-alive", "proxy-connection",   "te",
                                        "upgrade",    "trailer",    "proxy-authorization"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (name_is(f->name, f->name_len, fixed[i]))
            return true;
    if (name_is(f->name, f->name_len, "host") || name_is(f->name, f->name_len, "content-length") ||
        name_is(f->name, f->name_len, "transfer-encoding"))
        return false;
    struct named want = {f->name, f->name_len, false};
    for (size_t i = 0; i < h->n_headers && !want.found; i++)
        if (name_is(h->headers[i].name, h->headers[i].name_len, "connection"))
            (void)each_element(h->headers[i].value, h->headers[i].value_len, names_element, &want);
    return want.found;
}

static void put_header(writer *w, const px_http_header *f)
{
    put(w, f->name, f->name_len);
    put(w, ": ", 2);
    put(w, f->value, f->value_len);
    put(w, "\r\n", 2);
}

long px_http_write_request_head(const px_http_head *req, const char *client_ip, char *out, size_t out_len)
{
    writer w = {out, out_len, 0, false};
    put(&w, req->method, req->method_len);
    put(&w, " ", 1);
    put(&w, req->target, req->target_len);
    puts_(&w, " HTTP/1.1\r\n");
    for (size_t i = 0; i < req->n_headers; i++)
        if (!is_hop_by_hop(req, &req->headers[i]) &&
            !name_is(req->headers[i].name, req->headers[i].name_len, "x-forwarded-for"))
            put_header(&w, &req->headers[i]);
    /* Every X-Forwarded-For the client sent, in order, as one list, then this hop's client: the upstream sees the
     * whole chain. Replacing it would hide the hops before us; dropping ours would hide the client. */
    puts_(&w, "x-forwarded-for: ");
    for (size_t i = 0; i < req->n_headers; i++) {
        const px_http_header *f = &req->headers[i];
        if (name_is(f->name, f->name_len, "x-forwarded-for") && f->value_len > 0) {
            put(&w, f->value, f->value_len);
            put(&w, ", ", 2);
        }
    }
    puts_(&w, client_ip);
    puts_(&w, "\r\nconnection: keep-alive\r\n\r\n");
    return finish(&w);
}

long px_http_write_response_head(const px_http_head *resp, bool keep_alive, char *out, size_t out_len)
{
    writer w = {out, out_len, 0, false};
    char status[16];
    snprintf(status, sizeof status, "HTTP/1.1 %03d ", resp->status);
    puts_(&w, status);
    put(&w, resp->reason, resp->reason_len);
    put(&w, "\r\n", 2);
    for (size_t i = 0; i < resp->n_headers; i++)
        if (!is_hop_by_hop(resp, &resp->headers[i]))
            put_header(&w, &resp->headers[i]);
    puts_(&w, keep_alive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n");
    return finish(&w);
}

/* ---- the proxy's own answers -------------------------------------------------------------------------------- */

const char *px_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return NULL;
    }
}

long px_http_error_response(int status, const char *detail, bool keep_alive, char *out, size_t out_len)
{
    const char *reason = px_http_reason(status);
    if (status < 400 || status > 599 || reason == NULL)
        return -EINVAL;
    /* The body first: its length goes into the head. A long detail is cut, and the body still ends its line. */
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s%s%s\n", status, reason, detail ? ": " : "", detail ? detail : "");
    size_t body_len = (size_t)n;
    if (body_len >= sizeof body) {
        body_len = sizeof body - 1;
        body[body_len - 1] = '\n';
    }
    char head[256];
    snprintf(head, sizeof head,
             "HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %zu\r\nconnection: %s\r\n\r\n",
             status, reason, body_len, keep_alive ? "keep-alive" : "close");
    writer w = {out, out_len, 0, false};
    puts_(&w, head);
    put(&w, body, body_len);
    return finish(&w);
}
