/*
 * http.c — chapter 06, part 1: the incremental request parser and the response writer.   (reference solution)
 *
 * The parser is a byte-at-a-time state machine: every byte goes through step(), which enforces the line
 * discipline (CR must be followed by LF, LF must follow CR) and the size limits, stores the byte, and hands each
 * finished line to the request-line or header-line parser. Because all the state lives in the struct and no
 * decision ever looks ahead of the byte in hand, splitting the input differently cannot change the outcome.
 */
#include "http.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* Where the parse stands. */
enum { ST_START, ST_REQUEST_LINE, ST_HEADERS, ST_BODY, ST_DONE, ST_ERROR };

size_t ws_http_buffer_size(const ws_limits *limits)
{
    return limits->max_request_line + 2 + limits->max_header_bytes + limits->max_body;
}

ws_status ws_http_parser_init(ws_http_parser *p, const ws_limits *limits, char *buf, size_t cap)
{
    *p = (ws_http_parser){.limits = *limits, .buf = buf, .cap = cap, .state = ST_ERROR};
    p->error = WS_STATUS_INTERNAL_ERROR;
    if (limits->max_request_line == 0 || limits->max_header_bytes == 0 || limits->max_headers == 0 ||
        limits->max_headers > WS_HEADERS_MAX || buf == NULL || cap < ws_http_buffer_size(limits))
        return WS_STATUS_INTERNAL_ERROR;
    p->error = WS_STATUS_OK;
    p->state = ST_START;
    return WS_STATUS_OK;
}

static ws_parse fail(ws_http_parser *p, ws_status status)
{
    p->state = ST_ERROR;
    p->error = status;
    p->req.keep_alive = false;
    return WS_PARSE_ERROR;
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Field names and Connection tokens are case-insensitive (RFC 9110 §5.1, §7.6.1). */
static bool ieq(ws_str s, const char *name)
{
    size_t n = strlen(name);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.ptr[i]) != lower((unsigned char)name[i]))
            return false;
    return true;
}

static ws_method method_of(ws_str m)
{
    static const char *const names[WS_METHOD_END] = {"", "GET", "HEAD", "POST", "PUT", "DELETE"};
    for (int i = 1; i < WS_METHOD_END; i++)
        if (m.len == strlen(names[i]) && memcmp(m.ptr, names[i], m.len) == 0) /* case-sensitive (RFC 9110 §9.1) */
            return (ws_method)i;
    return WS_METHOD_NONE;
}

/* `method SP target SP HTTP/d.d`, exactly one space between parts. Order of refusals: shape, version, method,
 * target — a wrong version makes everything else meaningless; an unknown method is a fact about this server. */
static ws_status parse_request_line(ws_http_parser *p, const char *line, size_t n)
{
    const char *sp1 = memchr(line, ' ', n);
    if (sp1 == NULL || sp1 == line)
        return WS_STATUS_BAD_REQUEST;
    const char *target = sp1 + 1, *end = line + n;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (sp2 == NULL || sp2 == target)
        return WS_STATUS_BAD_REQUEST;
    const char *version = sp2 + 1;
    size_t vlen = (size_t)(end - version);
    if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[5] < '0' || version[5] > '9' || version[6] != '.' ||
        version[7] < '0' || version[7] > '9')
        return WS_STATUS_BAD_REQUEST; /* also catches a third space: it would sit inside `version` */
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
        return WS_STATUS_VERSION_NOT_SUPPORTED;
    ws_str method = {line, (size_t)(sp1 - line)};
    for (size_t i = 0; i < method.len; i++)
        if (!is_tchar((unsigned char)method.ptr[i]))
            return WS_STATUS_BAD_REQUEST;
    p->req.method = method_of(method);
    if (p->req.method == WS_METHOD_NONE)
        return WS_STATUS_NOT_IMPLEMENTED;
    size_t tlen = (size_t)(sp2 - target);
    if (target[0] != '/') /* origin-form only: no `http://host/x`, no `*` */
        return WS_STATUS_BAD_REQUEST;
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return WS_STATUS_BAD_REQUEST;
    }
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    p->req.target = (ws_str){target, tlen};
    p->req.path = (ws_str){target, plen};
    p->req.query = q ? (ws_str){q + 1, tlen - plen - 1} : (ws_str){q, 0};
    p->req.minor = version[7] - '0';
    return WS_STATUS_OK;
}

/* `name: OWS value OWS`. A leading space or tab is obs-fold; whitespace before the colon is refused because a
 * proxy that trims it and one that does not see two different field names (RFC 9112 §5.1). */
static ws_status parse_header_line(ws_http_parser *p, const char *line, size_t n)
{
    if (p->req.header_count == p->limits.max_headers)
        return WS_STATUS_HEADERS_TOO_LARGE;
    size_t i = 0;
    while (i < n && line[i] != ':') {
        if (!is_tchar((unsigned char)line[i])) /* space, tab (obs-fold or before the colon), NUL, ... */
            return WS_STATUS_BAD_REQUEST;
        i++;
    }
    if (i == 0 || i == n)
        return WS_STATUS_BAD_REQUEST;
    ws_header *h = &p->headers[p->req.header_count++];
    h->name = (ws_str){line, i};
    size_t start = i + 1, stop = n;
    while (start < stop && (line[start] == ' ' || line[start] == '\t'))
        start++;
    while (stop > start && (line[stop - 1] == ' ' || line[stop - 1] == '\t'))
        stop--;
    for (size_t k = start; k < stop; k++) {
        unsigned char c = (unsigned char)line[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return WS_STATUS_BAD_REQUEST;
    }
    h->value = (ws_str){line + start, stop - start};
    return WS_STATUS_OK;
}

/* 1*DIGIT, no sign, no space, no list; a value above UINT64_MAX is refused, not wrapped. */
static bool parse_length(ws_str v, uint64_t *out)
{
    if (v.len == 0)
        return false;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned d = (unsigned)((unsigned char)v.ptr[i] - '0');
        if (d > 9 || n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

/* Scans a Connection value's comma-separated tokens for close and keep-alive. */
static void connection_tokens(ws_str v, bool *close, bool *keep)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t' || v.ptr[i] == ','))
            i++;
        size_t start = i;
        while (i < v.len && v.ptr[i] != ',' && v.ptr[i] != ' ' && v.ptr[i] != '\t')
            i++;
        ws_str token = {v.ptr + start, i - start};
        *close |= ieq(token, "close");
        *keep |= ieq(token, "keep-alive");
    }
}

/* The empty line arrived: decide the framing (RFC 9112 §6.3) and whether the connection lives on. */
static ws_status end_of_head(ws_http_parser *p)
{
    bool has_length = false, chunked = false, close = false, keep = false;
    uint64_t length = 0;
    size_t hosts = 0;
    for (size_t i = 0; i < p->req.header_count; i++) {
        const ws_header *h = &p->headers[i];
        if (ieq(h->name, "content-length")) {
            uint64_t v;
            if (!parse_length(h->value, &v) || (has_length && v != length))
                return WS_STATUS_BAD_REQUEST;
            has_length = true;
            length = v;
        } else if (ieq(h->name, "transfer-encoding")) {
            chunked = true;
        } else if (ieq(h->name, "connection")) {
            connection_tokens(h->value, &close, &keep);
        } else if (ieq(h->name, "host")) {
            hosts++;
        }
    }
    if (chunked && has_length)
        return WS_STATUS_BAD_REQUEST; /* CL.TE / TE.CL: two framings, refuse both */
    if (chunked)
        return WS_STATUS_NOT_IMPLEMENTED;
    if (p->req.minor == 1 && hosts != 1)
        return WS_STATUS_BAD_REQUEST;
    if (length > p->limits.max_body)
        return WS_STATUS_PAYLOAD_TOO_LARGE;
    p->req.content_length = length;
    p->req.keep_alive = p->req.minor == 1 ? !close : keep && !close;
    p->req.body = (ws_str){p->buf + p->len, (size_t)length};
    p->body_need = length;
    return WS_STATUS_OK;
}

/* A CRLF just ended the line starting at line_start. */
static ws_parse end_of_line(ws_http_parser *p)
{
    const char *line = p->buf + p->line_start;
    size_t n = p->len - p->line_start - 2;
    ws_status s;
    if (p->state == ST_REQUEST_LINE) {
        s = parse_request_line(p, line, n);
        p->state = ST_HEADERS;
    } else if (n > 0) {
        s = parse_header_line(p, line, n);
    } else {
        s = end_of_head(p);
        p->state = p->body_need > 0 ? ST_BODY : ST_DONE;
    }
    p->line_start = p->len;
    return s == WS_STATUS_OK ? WS_PARSE_PARTIAL : fail(p, s);
}

static void store(ws_http_parser *p, char c)
{
    assert(p->len < p->cap); /* the limits bound every stored byte: buffer_size() adds them up */
    p->buf[p->len++] = c;
}

/* One byte of the head (request line or headers). */
static ws_parse step(ws_http_parser *p, char c)
{
    if (p->state == ST_START) {
        if (p->saw_cr || c == '\r' || c == '\n') { /* empty lines before the request: skipped, never stored */
            if (p->saw_cr != (c == '\n'))
                return fail(p, WS_STATUS_BAD_REQUEST); /* bare CR or bare LF */
            p->saw_cr = !p->saw_cr;
            return WS_PARSE_PARTIAL;
        }
        p->state = ST_REQUEST_LINE;
    }
    if (p->state == ST_HEADERS && ++p->head_bytes > p->limits.max_header_bytes)
        return fail(p, WS_STATUS_HEADERS_TOO_LARGE);
    if (p->saw_cr) {
        if (c != '\n')
            return fail(p, WS_STATUS_BAD_REQUEST); /* bare CR */
        p->saw_cr = false;
        store(p, c);
        return end_of_line(p);
    }
    if (c == '\n')
        return fail(p, WS_STATUS_BAD_REQUEST); /* bare LF: refused, see http.h */
    if (c == '\r') {
        p->saw_cr = true;
    } else if (p->state == ST_REQUEST_LINE && ++p->line_bytes > p->limits.max_request_line) {
        return fail(p, WS_STATUS_URI_TOO_LONG);
    }
    store(p, c);
    return WS_PARSE_PARTIAL;
}

ws_parse ws_http_feed(ws_http_parser *p, const char *data, size_t len, size_t *used)
{
    size_t i = 0;
    while (i < len && p->state != ST_DONE && p->state != ST_ERROR) {
        if (p->state == ST_BODY) {
            size_t n = len - i < p->body_need ? len - i : (size_t)p->body_need;
            assert(p->len + n <= p->cap);
            memcpy(p->buf + p->len, data + i, n);
            p->len += n;
            p->body_need -= n;
            i += n;
            if (p->body_need == 0)
                p->state = ST_DONE;
        } else {
            (void)step(p, data[i++]); /* the state says what happened */
        }
    }
    *used = i;
    if (p->state == ST_DONE) {
        p->req.headers = p->headers;
        return WS_PARSE_DONE;
    }
    return p->state == ST_ERROR ? WS_PARSE_ERROR : WS_PARSE_PARTIAL;
}

void ws_http_next(ws_http_parser *p)
{
    if (p->state != ST_DONE)
        return;
    ws_limits limits = p->limits;
    char *buf = p->buf;
    size_t cap = p->cap;
    *p = (ws_http_parser){.limits = limits, .buf = buf, .cap = cap, .state = ST_START, .error = WS_STATUS_OK};
}

ws_str ws_request_header(const ws_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++) {
        if (ieq(req->headers[i].name, name))
            return req->headers[i].value;
    }
    return (ws_str){NULL, 0};
}

static const char *reason(ws_status s)
{
    switch (s) {
    case WS_STATUS_OK:
        return "OK";
    case WS_STATUS_NO_CONTENT:
        return "No Content";
    case WS_STATUS_BAD_REQUEST:
        return "Bad Request";
    case WS_STATUS_NOT_FOUND:
        return "Not Found";
    case WS_STATUS_METHOD_NOT_ALLOWED:
        return "Method Not Allowed";
    case WS_STATUS_LENGTH_REQUIRED:
        return "Length Required";
    case WS_STATUS_PAYLOAD_TOO_LARGE:
        return "Content Too Large";
    case WS_STATUS_URI_TOO_LONG:
        return "URI Too Long";
    case WS_STATUS_HEADERS_TOO_LARGE:
        return "Request Header Fields Too Large";
    case WS_STATUS_NOT_IMPLEMENTED:
        return "Not Implemented";
    case WS_STATUS_UNAVAILABLE:
        return "Service Unavailable";
    case WS_STATUS_VERSION_NOT_SUPPORTED:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

/* Appends to out[*at..cap): false, and nothing more is written, once something does not fit. */
static bool put(char *out, size_t cap, size_t *at, const char *bytes, size_t n)
{
    if (n > cap - *at)
        return false;
    if (n == 0)
        return true; /* a NULL `bytes` (an empty body) must not reach memcpy */
    memcpy(out + *at, bytes, n);
    *at += n;
    return true;
}

static bool put_str(char *out, size_t cap, size_t *at, const char *s) { return put(out, cap, at, s, strlen(s)); }

ws_status ws_http_format(const ws_response *r, char *out, size_t cap, size_t *len)
{
    char line[64];
    size_t at = 0;
    *len = 0;
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d ", (int)r->status);
    bool ok = put(out, cap, &at, line, (size_t)n) && put_str(out, cap, &at, reason(r->status)) &&
              put_str(out, cap, &at, "\r\n");
    if (ok && r->content_type != NULL)
        ok = put_str(out, cap, &at, "Content-Type: ") && put_str(out, cap, &at, r->content_type) &&
             put_str(out, cap, &at, "\r\n");
    for (size_t i = 0; ok && i < r->header_count; i++) {
        const ws_header *h = &r->headers[i];
        ok = put(out, cap, &at, h->name.ptr, h->name.len) && put_str(out, cap, &at, ": ") &&
             put(out, cap, &at, h->value.ptr, h->value.len) && put_str(out, cap, &at, "\r\n");
    }
    n = snprintf(line, sizeof line, "Content-Length: %zu\r\n", r->body.len);
    ok = ok && put(out, cap, &at, line, (size_t)n);
    if (ok && r->retry_after > 0) {
        n = snprintf(line, sizeof line, "Retry-After: %u\r\n", r->retry_after);
        ok = put(out, cap, &at, line, (size_t)n);
    }
    if (ok && r->close)
        ok = put_str(out, cap, &at, "Connection: close\r\n");
    ok = ok && put_str(out, cap, &at, "\r\n");
    if (ok && !r->head)
        ok = put(out, cap, &at, r->body.ptr, r->body.len);
    if (!ok)
        return WS_STATUS_INTERNAL_ERROR;
    *len = at;
    return WS_STATUS_OK;
}
