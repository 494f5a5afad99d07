/*
 * router.c — chapter 06, part 1: routes with path parameters, 404 and 405, percent-decoding.   (reference solution)
 *
 * A match walks the pattern and the path segment by segment, side by side, and fails at the first difference:
 * no allocation, no copy, and the captured values are slices of the path itself.
 */
#include "router.h"

#include <string.h>

void ws_router_init(ws_router *r) { r->count = 0; }

/* A pattern is '/' then segments; `:name` needs a name; at most WS_PARAMS_MAX parameters. */
static bool pattern_valid(const char *pattern)
{
    if (pattern == NULL || pattern[0] != '/')
        return false;
    size_t params = 0;
    for (const char *s = pattern + 1;; s++) {
        if (*s == ':') {
            if (s[1] == '/' || s[1] == '\0' || ++params > WS_PARAMS_MAX)
                return false;
        }
        s += strcspn(s, "/");
        if (*s == '\0')
            return true;
    }
}

ws_status ws_router_add(ws_router *r, ws_method method, const char *pattern, int handler)
{
    if (method <= WS_METHOD_NONE || method >= WS_METHOD_END || handler < 0 || r->count == WS_ROUTES_MAX ||
        !pattern_valid(pattern))
        return WS_STATUS_INTERNAL_ERROR;
    r->routes[r->count++] = (ws_route){method, pattern, handler};
    return WS_STATUS_OK;
}

/* Does @p path have the shape of @p pattern? Fills m's parameters when it does. */
static bool match_path(const char *pattern, ws_str path, ws_match *m)
{
    if (path.len == 0 || path.ptr[0] != '/')
        return false;
    const char *seg = pattern + 1;
    size_t at = 1; /* start of the current path segment */
    m->param_count = 0;
    for (;;) {
        size_t seg_len = strcspn(seg, "/");
        size_t end = at;
        while (end < path.len && path.ptr[end] != '/')
            end++;
        ws_str value = {path.ptr + at, end - at};
        if (seg[0] == ':') {
            if (value.len == 0) /* a parameter never captures an empty segment */
                return false;
            m->params[m->param_count++] = (ws_param){{seg + 1, seg_len - 1}, value};
        } else if (seg_len != value.len || memcmp(seg, value.ptr, value.len) != 0) {
            return false;
        }
        bool pattern_ends = seg[seg_len] == '\0', path_ends = end == path.len;
        if (pattern_ends || path_ends)
            return pattern_ends && path_ends; /* same number of segments, never a prefix */
        seg += seg_len + 1;
        at = end + 1;
    }
}

ws_status ws_router_match(const ws_router *r, ws_method method, ws_str path, ws_match *m)
{
    ws_match head_as_get = {.handler = -1};
    unsigned allow = 0;
    *m = (ws_match){.handler = -1};
    for (size_t i = 0; i < r->count; i++) {
        const ws_route *route = &r->routes[i];
        ws_match found = {.handler = -1};
        if (!match_path(route->pattern, path, &found))
            continue;
        allow |= 1u << route->method;
        if (route->method == WS_GET)
            allow |= 1u << WS_HEAD;
        found.handler = route->handler;
        if (route->method == method) {
            *m = found;
            return WS_STATUS_OK;
        }
        if (method == WS_HEAD && route->method == WS_GET && head_as_get.handler < 0)
            head_as_get = found;
    }
    if (head_as_get.handler >= 0) {
        *m = head_as_get;
        return WS_STATUS_OK;
    }
    m->allow = allow;
    return allow != 0 ? WS_STATUS_METHOD_NOT_ALLOWED : WS_STATUS_NOT_FOUND;
}

ws_str ws_match_param(const ws_match *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < m->param_count; i++)
        if (m->params[i].name.len == n && memcmp(m->params[i].name.ptr, name, n) == 0)
            return m->params[i].value;
    return (ws_str){NULL, 0};
}

const char *ws_method_name(ws_method method)
{
    static const char *const names[WS_METHOD_END] = {"", "GET", "HEAD", "POST", "PUT", "DELETE"};
    return method > WS_METHOD_NONE && method < WS_METHOD_END ? names[method] : "";
}

ws_status ws_allow_format(unsigned allow, char *out, size_t cap, size_t *len)
{
    size_t at = 0;
    *len = 0;
    for (int m = WS_METHOD_NONE + 1; m < WS_METHOD_END; m++) {
        if (!(allow & (1u << m)))
            continue;
        const char *name = ws_method_name((ws_method)m);
        size_t sep = at > 0 ? 2 : 0, n = strlen(name);
        if (sep + n >= cap - at) /* keep room for the NUL */
            return WS_STATUS_INTERNAL_ERROR;
        memcpy(out + at, ", ", sep);
        memcpy(out + at + sep, name, n);
        at += sep + n;
    }
    if (at >= cap)
        return WS_STATUS_INTERNAL_ERROR;
    out[at] = '\0';
    *len = at;
    return WS_STATUS_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ws_status ws_percent_decode(ws_str in, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    *len = 0;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '%') {
            if (in.len - i < 3) /* '%' needs two hex digits after it */
                return WS_STATUS_BAD_REQUEST;
            int hi = hex_value(in.ptr[i + 1]), lo = hex_value(in.ptr[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return WS_STATUS_BAD_REQUEST; /* malformed, or %00 */
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o == cap)
            return WS_STATUS_URI_TOO_LONG;
        out[o++] = c;
    }
    *len = o;
    return WS_STATUS_OK;
}
