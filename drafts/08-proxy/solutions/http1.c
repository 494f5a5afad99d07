/*
 * http1.c — chapter 08, part 4: HTTP/1.1 heads, body framing, rewriting and the proxy's own error responses.
 *
 * The head parsers start over from the first byte on every call, as httparse does: no state between calls, so a
 * head split anywhere gives the same result, and a head is at most 16 KiB, so the repeated work is bounded. Each
 * complete line is checked as soon as it is in the buffer, which is what lets a partial head say "valid so far".
 * The body scanner is the opposite: it keeps its state in px_http_body and looks at each byte once, because a
 * body has no size limit and its bytes are forwarded (and gone) as they arrive.
 */
#include "http1.h"

#include <errno.h>
#include <limits.h>
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

px_http_body_kind px_http_response_body_kind(const px_http_head *h, bool request_was_head)
{
    if (!h->is_request && (request_was_head || h->status < 200 || h->status == 204 || h->status == 304))
        return PX_BODY_NONE; /* RFC 9112 §6.3 items 1 and 2: whatever Content-Length says */
    if (h->chunked)
        return PX_BODY_CHUNKED;
    if (h->content_length > 0)
        return PX_BODY_LENGTH;
    if (h->content_length == 0 || h->is_request)
        return PX_BODY_NONE;
    return PX_BODY_UNTIL_CLOSE;
}

/* ---- body framing ------------------------------------------------------------------------------------------- */

/* Where the chunked scanner stands in `chunk-size [ext] CRLF data CRLF ... 0 [ext] CRLF *(trailer CRLF) CRLF`. */
enum chunk_state {
    CH_SIZE_FIRST, /* the first hex digit of a chunk size (at least one is required) */
    CH_SIZE,       /* more hex digits, or what ends the size */
    CH_EXT,        /* a chunk extension: skipped up to its CR, never stored */
    CH_SIZE_LF,    /* the LF after the size line's CR */
    CH_DATA,       /* `remaining` bytes of data */
    CH_DATA_CR,    /* the CRLF that closes a chunk's data */
    CH_DATA_LF,
    CH_LINE_START, /* after the last chunk: a trailer field, or the empty line that ends the body */
    CH_TRAILER,    /* a trailer field: forwarded, not read */
    CH_TRAILER_LF,
    CH_FINAL_LF, /* the LF of the final empty line */
};

void px_http_body_init(px_http_body *b, const px_http_head *h, bool is_response_to_head)
{
    *b = (px_http_body){.kind = px_http_response_body_kind(h, is_response_to_head), .state = CH_SIZE_FIRST};
    b->remaining = b->kind == PX_BODY_LENGTH ? (uint64_t)h->content_length : 0;
    b->done = b->kind == PX_BODY_NONE;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* ASCII: lower case */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of chunk syntax (never a data byte): the next state, or -1 when the byte cannot be here. */
static int chunk_step(px_http_body *b, unsigned char c)
{
    int d = hex_value(c);
    switch (b->state) {
    case CH_SIZE_FIRST:
        if (d < 0)
            return -1;
        b->remaining = (uint64_t)d;
        return CH_SIZE;
    case CH_SIZE:
        if (d >= 0) {
            if (b->remaining > UINT64_MAX >> 4)
                return -1; /* a 17th significant digit: the size would wrap and the body end early */
            b->remaining = b->remaining << 4 | (uint64_t)d;
            return CH_SIZE;
        }
        if (c == ';' || c == ' ' || c == '\t')
            return CH_EXT; /* BWS ";" ext-name [= ext-val]: nothing a proxy needs */
        return c == '\r' ? CH_SIZE_LF : -1;
    case CH_EXT:
    case CH_TRAILER:
        if (c == '\r')
            return b->state == CH_EXT ? CH_SIZE_LF : CH_TRAILER_LF;
        return is_text(c) ? b->state : -1;
    case CH_SIZE_LF:
        if (c != '\n')
            return -1;
        return b->remaining == 0 ? CH_LINE_START : CH_DATA;
    case CH_DATA_CR:
        return c == '\r' ? CH_DATA_LF : -1;
    case CH_DATA_LF:
        return c == '\n' ? CH_SIZE_FIRST : -1;
    case CH_LINE_START:
        if (c == '\r')
            return CH_FINAL_LF;
        return is_tchar(c) ? CH_TRAILER : -1;
    case CH_TRAILER_LF:
        return c == '\n' ? CH_LINE_START : -1;
    case CH_FINAL_LF:
        if (c != '\n')
            return -1;
        b->done = true;
        return CH_FINAL_LF;
    }
    return -1;
}

static long scan_chunked(px_http_body *b, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !b->done) {
        if (b->state == CH_DATA) {
            /* Data is skipped in one step, not looked at: its bytes may be anything, CRLF included. */
            size_t take = b->remaining < len - i ? (size_t)b->remaining : len - i;
            i += take;
            b->remaining -= take;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            continue;
        }
        int next = chunk_step(b, (unsigned char)buf[i]);
        if (next < 0) {
            b->failed = true;
            return PX_HTTP_BAD;
        }
        b->state = next;
        i++;
    }
    return (long)i;
}

long px_http_body_scan(px_http_body *b, const char *buf, size_t len)
{
    if (b->failed)
        return PX_HTTP_BAD;
    if (len > LONG_MAX)
        len = LONG_MAX; /* the count must fit the return type; the caller scans the rest next time */
    switch (b->kind) {
    case PX_BODY_NONE:
        return 0;
    case PX_BODY_UNTIL_CLOSE:
        return (long)len;
    case PX_BODY_LENGTH: {
        size_t take = b->remaining < len ? (size_t)b->remaining : len;
        b->remaining -= take;
        b->done = b->remaining == 0;
        return (long)take;
    }
    case PX_BODY_CHUNKED:
        return scan_chunked(b, buf, len);
    }
    return PX_HTTP_BAD;
}

bool px_http_body_done(const px_http_body *b) { return b->done; }

/* ---- rewriting ---------------------------------------------------------------------------------------------- */

/* An output cursor: every append checks the room left, and one overflow poisons the rest (checked once at the end,
 * as snprintf's return is). */
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
