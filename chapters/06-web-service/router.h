/**
 * @file router.h
 * @brief Chapter 06, part 1: the router — routes with path parameters, 404 and 405, percent-decoding.
 *
 * **Prefix.** `ws_`, as in http.h. Errors follow http.h: a ::ws_status, ::WS_STATUS_OK on success.
 *
 * A pattern is a '/' followed by segments separated by '/': a literal segment matches itself byte for byte, a
 * `:name` segment matches any one non-empty segment and captures it (`/items/:id`, `/healthz`, `/metrics`).
 * Matching is exact and segment by segment, never by prefix: `/items` does not match `/items/:id`, and
 * `/items/7/x` does not match it either. A trailing slash or an empty segment makes a different path:
 * `/healthz/` is not `/healthz`, and `/items//7` matches neither `/items/:id` nor `/items/7` (a parameter never
 * captures an empty segment). A GET route also answers HEAD, as axum's `get()` does, unless a HEAD route matches the
 * path too; the first route added wins among those of one method.
 *
 * **Ownership.** The router borrows every pattern string (normally a literal): it must outlive the router.
 * Matching allocates nothing; the parameters it returns are slices into the path it was given, still
 * percent-encoded, and live as long as that path does (for a parsed request: until ws_http_next()). Decode a
 * parameter with ws_percent_decode() *after* matching, so that an encoded `%2F` stays inside its segment.
 */
#ifndef FERRITE_ROUTER_H
#define FERRITE_ROUTER_H

#include "http.h"

/** Most routes a router holds. */
#define WS_ROUTES_MAX 32
/** Most `:name` parameters in one pattern. */
#define WS_PARAMS_MAX 4

/**
 * @brief One route: a method, a pattern and the handler it selects (an id the caller chooses, >= 0).
 * @rust `axum::Router::route(path, get(handler))`, one method of its `MethodRouter`
 */
typedef struct ws_route {
    ws_method method;    /**< the method it answers (a GET route answers HEAD too) */
    const char *pattern; /**< NUL-terminated, borrowed for the router's lifetime */
    int handler;         /**< the caller's id for the code that serves it */
} ws_route;

/**
 * @brief A table of routes, tried in the order added. Plain data: no destroy function.
 * @rust `axum::Router` (whose matchit tree we replace by a short list)
 */
typedef struct ws_router {
    ws_route routes[WS_ROUTES_MAX]; /**< the first `count` are in use, in the order added */
    size_t count;                   /**< routes in use */
} ws_router;

/**
 * @brief One captured parameter: its name (from the pattern, without ':') and its raw value (from the path).
 * @rust one `(String, String)` pair of `axum::extract::RawPathParams`
 */
typedef struct ws_param {
    ws_str name;  /**< points into the route's pattern */
    ws_str value; /**< points into the matched path, still percent-encoded; never empty */
} ws_param;

/**
 * @brief The outcome of a match.
 * @rust `axum::extract::Path` (the captures) with the handler `matchit::Router::at` found
 */
typedef struct ws_match {
    int handler;                    /**< the route's handler when the match succeeded, else -1 */
    size_t param_count;             /**< parameters captured, in pattern order */
    ws_param params[WS_PARAMS_MAX]; /**< the first `param_count` are valid */
    unsigned allow;                 /**< after 405: bit `1u << method` set for each method the path has */
} ws_match;

/**
 * @brief Makes @p r an empty router.
 * @rust `axum::Router::new()`
 */
void ws_router_init(ws_router *r);

/**
 * @brief Adds a route.
 * @param r the router; it borrows @p pattern.
 * @param method one of ::WS_GET to ::WS_DELETE.
 * @param pattern NUL-terminated, borrowed until the router is no longer used. It must start with '/'; a `:name`
 *        segment needs a name; at most ::WS_PARAMS_MAX parameters.
 * @param handler an id >= 0, returned by ws_router_match().
 * @return ::WS_STATUS_OK, or ::WS_STATUS_INTERNAL_ERROR for a malformed pattern, an unknown method, a negative
 *         handler or a full table (nothing is added).
 * @rust `Router::route("/items/:id", get(h))` — which panics on a bad pattern; here it is a value
 */
FT_MUST_USE ws_status ws_router_add(ws_router *r, ws_method method, const char *pattern, int handler);

/**
 * @brief Finds the route for @p method and @p path (a request's path, without its query).
 * @param r borrowed for the call.
 * @param method the request's method.
 * @param path borrowed; the captured values point into it.
 * @param[out] m filled on every return: the handler and parameters on success; `allow` on 405.
 * @return ::WS_STATUS_OK; ::WS_STATUS_METHOD_NOT_ALLOWED when a route has this path under other methods only
 *         (`m->allow` lists them, for the Allow field: ws_allow_format()); ::WS_STATUS_NOT_FOUND otherwise.
 * @rust `matchit::Router::at(path)` then `MethodRouter`'s 405 fallback
 */
FT_MUST_USE ws_status ws_router_match(const ws_router *r, ws_method method, ws_str path, ws_match *m);

/**
 * @brief The raw value of the parameter called @p name, or `{NULL, 0}` when the route has no such parameter.
 * @param m a successful match.
 * @param name NUL-terminated, borrowed for the call.
 * @return a slice into the matched path (see ::ws_param).
 * @rust `Path<HashMap<String, String>>::get(name)`
 */
ws_str ws_match_param(const ws_match *m, const char *name);

/**
 * @brief The method's name: "GET", "HEAD", "POST", "PUT", "DELETE"; "" for anything else.
 * @return a static string.
 * @rust `http::Method::as_str`
 */
const char *ws_method_name(ws_method method);

/**
 * @brief Writes an Allow field's value for the set @p allow: the methods' names in ::ws_method order, joined
 *        by ", " (`GET, HEAD, PUT`).
 * @param allow a set of `1u << method` bits (::ws_match's `allow`).
 * @param out the caller's buffer; NUL-terminated on success.
 * @param cap bytes at @p out.
 * @param[out] len bytes written, NUL not counted; 0 on failure.
 * @return ::WS_STATUS_OK, or ::WS_STATUS_INTERNAL_ERROR when it does not fit.
 * @rust the `Allow` header axum's `MethodRouter` sets on its 405
 */
FT_MUST_USE ws_status ws_allow_format(unsigned allow, char *out, size_t cap, size_t *len);

/**
 * @brief Decodes the percent-escapes of @p in (`%2F` → '/') into @p out. '+' stays '+' (that is form encoding,
 *        not path encoding).
 * @param in borrowed for the call (normally a parameter's value).
 * @param out the caller's buffer; not NUL-terminated.
 * @param cap bytes at @p out.
 * @param[out] len decoded bytes; 0 on failure.
 * @return ::WS_STATUS_OK; ::WS_STATUS_BAD_REQUEST for a '%' not followed by two hex digits, or for `%00` (a NUL
 *         would cut the value short for any C string function later on); ::WS_STATUS_URI_TOO_LONG when the
 *         decoded value does not fit in @p cap.
 * @rust `percent_encoding::percent_decode`, as axum's `Path` extractor applies it (which also refuses bad UTF-8)
 */
FT_MUST_USE ws_status ws_percent_decode(ws_str in, char *out, size_t cap, size_t *len);

#endif /* FERRITE_ROUTER_H */
