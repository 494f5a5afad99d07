/*
 * router.c — chapter 06, part 1: routes with path parameters, 404 and 405, percent-decoding.   (exercise skeleton)
 *
 * Yours: every function below. Each returns WS_STATUS_TODO or a neutral value so the file compiles and the tests
 * run; replace the body, and delete the `(void)param;` lines as you start using them.
 *
 * Suggested helper (static, yours to write):
 *   match_path(pattern, path, m)  walk the pattern's segments and the path's side by side: a literal must be
 *                                 equal byte for byte, a `:name` captures one non-empty segment as a slice of
 *                                 the path; both must end together (never a prefix match)
 */
#include "router.h"

#include <string.h>

void ws_router_init(ws_router *r)
{
    /* TODO (part 1): an empty table (count 0). Rust: Router::new(). */
    (void)r;
}

ws_status ws_router_add(ws_router *r, ws_method method, const char *pattern, int handler)
{
    /* TODO (part 1): refuse with WS_STATUS_INTERNAL_ERROR a method outside GET..DELETE, a negative handler, a
     * full table, or a bad pattern (not starting with '/', a ':' with no name after it, more than WS_PARAMS_MAX
     * parameters); else store {method, pattern, handler}. The pattern is borrowed, not copied. Rust: axum panics
     * at start-up on a bad route; a value lets the caller decide. */
    (void)r;
    (void)method;
    (void)pattern;
    (void)handler;
    return WS_STATUS_TODO;
}

ws_status ws_router_match(const ws_router *r, ws_method method, ws_str path, ws_match *m)
{
    /* TODO (part 1): *m = {.handler = -1}; for each route whose pattern matches the path's shape: add its method
     * to the allow set (a GET adds HEAD too); if its method is the request's, return OK with its handler and
     * parameters. A HEAD request with no HEAD route takes the first matching GET route. Otherwise 405 with
     * m->allow when some route had the path, else 404. Traps: `/items` must not match `/items/:id` (a prefix
     * is not a match), `/healthz/` is not `/healthz`, and 405 is not 404 — the Allow field tells the client
     * what would work. No allocation: parameters are slices of `path`. */
    (void)r;
    (void)method;
    (void)path;
    *m = (ws_match){.handler = -1};
    return WS_STATUS_TODO;
}

ws_str ws_match_param(const ws_match *m, const char *name)
{
    /* TODO (part 1): the value of the parameter whose name (without ':') equals `name` exactly, else {NULL, 0}.
     * Rust: Path<HashMap<String, String>>::get. */
    (void)m;
    (void)name;
    return (ws_str){NULL, 0};
}

const char *ws_method_name(ws_method method)
{
    /* TODO (part 1): "GET", "HEAD", "POST", "PUT", "DELETE", or "" for any other value (never index an array
     * with an unchecked enum: C lets any int through). */
    (void)method;
    return "";
}

ws_status ws_allow_format(unsigned allow, char *out, size_t cap, size_t *len)
{
    /* TODO (part 1): the names of the methods whose bit (1u << method) is set, in enum order, joined by ", ",
     * NUL-terminated; WS_STATUS_INTERNAL_ERROR and *len = 0 when it does not fit (NUL included). */
    (void)allow;
    (void)out;
    (void)cap;
    *len = 0;
    return WS_STATUS_TODO;
}

ws_status ws_percent_decode(ws_str in, char *out, size_t cap, size_t *len)
{
    /* TODO (part 1): copy in to out, turning each "%XY" (hex digits, either case) into one byte. 400 for a '%'
     * without two hex digits after it (count what is left before reading ahead: "%4" at the end must not read
     * past the slice) and for %00 (a NUL inside an id cuts it short in every C string function later on: an
     * id "7%00admin" would look like "7"). 414 when out is full. Decode after matching, never before: "%2F" is
     * part of the segment, not a separator. Rust: percent_encoding::percent_decode in axum's Path. */
    (void)in;
    (void)out;
    (void)cap;
    *len = 0;
    return WS_STATUS_TODO;
}
