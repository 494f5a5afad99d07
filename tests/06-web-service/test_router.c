/*
 * Part 1: the router (ws_router_add, ws_router_match) and percent-decoding of parameters.
 * The service's own routes are the fixture: GET/PUT/DELETE /items/:id, GET /healthz, GET /metrics.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

enum { H_ITEM_GET, H_ITEM_PUT, H_ITEM_DELETE, H_HEALTHZ, H_METRICS, H_PAIR, H_ITEMS };

static void service_routes(ws_router *r)
{
    ws_router_init(r);
    ck_assert_int_eq(ws_router_add(r, WS_GET, "/items/:id", H_ITEM_GET), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_add(r, WS_PUT, "/items/:id", H_ITEM_PUT), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_add(r, WS_DELETE, "/items/:id", H_ITEM_DELETE), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_add(r, WS_GET, "/healthz", H_HEALTHZ), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_add(r, WS_GET, "/metrics", H_METRICS), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_add(r, WS_GET, "/pairs/:left/with/:right", H_PAIR), WS_STATUS_OK);
}

/* Matches @p path under @p method against the service's routes. */
static ws_status route(ws_method method, const char *path, ws_match *m)
{
    ws_router r;
    service_routes(&r);
    return ws_router_match(&r, method, str_of(path), m);
}

FT_TEST(1, literal_routes_match_exactly, 2,
        "A literal segment matches itself byte for byte: /healthz and /metrics reach their handlers, "
        "/healthzz and /Healthz do not (404).")
{
    ws_match m;
    ck_assert_int_eq(route(WS_GET, "/healthz", &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_HEALTHZ);
    ck_assert_uint_eq(m.param_count, 0);
    ck_assert_int_eq(route(WS_GET, "/metrics", &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_METRICS);
    ck_assert_int_eq(route(WS_GET, "/healthzz", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "/Healthz", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(m.handler, -1);
}

FT_TEST(1, parameters_are_slices_of_the_path, 2,
        "A :name segment captures one segment as a slice of the path (no copy, no allocation), named as in "
        "the pattern, in pattern order: axum's Path extractor.")
{
    const char *path = "/pairs/a%20b/with/42";
    ws_router r;
    service_routes(&r);
    ws_match m;
    ck_assert_int_eq(ws_router_match(&r, WS_GET, str_of(path), &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_PAIR);
    ck_assert_uint_eq(m.param_count, 2);
    ck_assert(str_is(m.params[0].name, "left") && str_is(m.params[0].value, "a%20b"));
    ck_assert(str_is(m.params[1].name, "right") && str_is(m.params[1].value, "42"));
    ck_assert_ptr_eq(m.params[0].value.ptr, path + 7);
    ck_assert(str_is(ws_match_param(&m, "right"), "42"));
    ck_assert_ptr_eq(ws_match_param(&m, "rig").ptr, NULL);
    ck_assert_int_eq(route(WS_PUT, "/items/7", &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_ITEM_PUT);
    ck_assert(str_is(ws_match_param(&m, "id"), "7"));
}

FT_TEST(1, a_prefix_is_not_a_match, 2,
        "Matching is segment by segment and both must end together: /items is not a prefix match of "
        "/items/:id, and /items/7/x is not /items/:id either.")
{
    ws_match m;
    ck_assert_int_eq(route(WS_GET, "/items", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "/items/7/x", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "/healthz/x", &m), WS_STATUS_NOT_FOUND);
    ws_router r;
    service_routes(&r);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/items", H_ITEMS), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_match(&r, WS_GET, str_of("/items"), &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_ITEMS);
    ck_assert_int_eq(ws_router_match(&r, WS_GET, str_of("/items/3"), &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_ITEM_GET);
}

FT_TEST(1, a_trailing_slash_or_an_empty_segment_is_another_path, 1,
        "/healthz/ is not /healthz, and /items//7 or /items/ do not match /items/:id: a parameter never "
        "captures an empty segment.")
{
    ws_match m;
    ck_assert_int_eq(route(WS_GET, "/healthz/", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "/items/", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "/items//7", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "//healthz", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(route(WS_GET, "/", &m), WS_STATUS_NOT_FOUND);
}

FT_TEST(1, path_under_another_method_is_405_with_allow, 2,
        "405, not 404: the path exists under other methods, and the Allow field lists them (a GET route "
        "allows HEAD too).")
{
    ws_match m;
    ck_assert_int_eq(route(WS_POST, "/items/7", &m), WS_STATUS_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(m.allow, (1u << WS_GET) | (1u << WS_HEAD) | (1u << WS_PUT) | (1u << WS_DELETE));
    char allow[64];
    size_t len = 0;
    ck_assert_int_eq(ws_allow_format(m.allow, allow, sizeof allow, &len), WS_STATUS_OK);
    ck_assert_str_eq(allow, "GET, HEAD, PUT, DELETE");
    ck_assert_uint_eq(len, strlen("GET, HEAD, PUT, DELETE"));
    ck_assert_int_eq(route(WS_DELETE, "/metrics", &m), WS_STATUS_METHOD_NOT_ALLOWED);
    ck_assert_int_eq(ws_allow_format(m.allow, allow, sizeof allow, &len), WS_STATUS_OK);
    ck_assert_str_eq(allow, "GET, HEAD");
    ck_assert_int_eq(ws_allow_format(m.allow, allow, strlen("GET, HEAD"), &len), WS_STATUS_INTERNAL_ERROR);
    ck_assert_int_eq(route(WS_POST, "/nowhere", &m), WS_STATUS_NOT_FOUND);
    ck_assert_int_eq(m.allow, 0);
}

FT_TEST(1, head_is_answered_by_the_get_route, 1,
        "A GET route also answers HEAD (axum's get() does), unless a HEAD route matches the path too.")
{
    ws_match m;
    ck_assert_int_eq(route(WS_HEAD, "/items/5", &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_ITEM_GET);
    ck_assert(str_is(ws_match_param(&m, "id"), "5"));
    ws_router r;
    service_routes(&r);
    ck_assert_int_eq(ws_router_add(&r, WS_HEAD, "/healthz", H_ITEMS), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_match(&r, WS_HEAD, str_of("/healthz"), &m), WS_STATUS_OK);
    ck_assert_int_eq(m.handler, H_ITEMS);
}

FT_TEST(1, add_refuses_malformed_patterns, 1,
        "A route table is checked when it is built: no leading '/', a ':' without a name, too many parameters, "
        "a bad method or a full table is 500, and nothing is added.")
{
    ws_router r;
    ws_router_init(&r);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "items", 1), WS_STATUS_INTERNAL_ERROR);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/items/:", 1), WS_STATUS_INTERNAL_ERROR);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/:/x", 1), WS_STATUS_INTERNAL_ERROR);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/:a/:b/:c/:d/:e", 1), WS_STATUS_INTERNAL_ERROR);
    ck_assert_int_eq(ws_router_add(&r, WS_METHOD_NONE, "/x", 1), WS_STATUS_INTERNAL_ERROR);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/x", -1), WS_STATUS_INTERNAL_ERROR);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/:a/:b/:c/:d", 1), WS_STATUS_OK);
    for (int i = 1; i < WS_ROUTES_MAX; i++)
        ck_assert_int_eq(ws_router_add(&r, WS_GET, "/x", i), WS_STATUS_OK);
    ck_assert_int_eq(ws_router_add(&r, WS_GET, "/x", 99), WS_STATUS_INTERNAL_ERROR);
    ck_assert_uint_eq(r.count, WS_ROUTES_MAX);
}

/* Decodes @p text from an exactly sized heap copy (a read past its end is an ASan report). */
static ws_status decode(const char *text, char *out, size_t cap, size_t *len)
{
    size_t n = strlen(text);
    char *copy = malloc(n > 0 ? n : 1);
    ck_assert_ptr_ne(copy, NULL);
    memcpy(copy, text, n);
    ws_status s = ws_percent_decode((ws_str){copy, n}, out, cap, len);
    free(copy);
    return s;
}

FT_TEST(1, percent_decoding_turns_escapes_into_bytes, 2,
        "Percent-decoding: %XY (hex, either case) becomes one byte, '+' stays '+' in a path, and %2F decoded "
        "after matching stays inside its parameter.")
{
    char out[32];
    size_t len = 0;
    ck_assert_int_eq(decode("a%20b%2fc%2F%41%7e+", out, sizeof out, &len), WS_STATUS_OK);
    ck_assert_uint_eq(len, 9);
    ck_assert(memcmp(out, "a b/c/A~+", 9) == 0);
    ck_assert_int_eq(decode("", out, sizeof out, &len), WS_STATUS_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(decode("%C3%A9", out, sizeof out, &len), WS_STATUS_OK);
    ck_assert_uint_eq(len, 2);
    ck_assert(memcmp(out, "\xc3\xa9", 2) == 0);
}

FT_TEST(1, percent_decoding_refuses_nul_and_malformed_escapes, 2,
        "Percent-decoding refuses %00 (a NUL cuts an id short in C) and a '%' without two hex digits after it, "
        "with 400; \"%4\" at the end must not read out of bounds.")
{
    const char *bad[] = {"7%00admin", "%", "%4", "abc%", "%G1", "%1G", "%%41", "%-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[32];
        size_t len = 1;
        ck_assert_msg(decode(bad[i], out, sizeof out, &len) == WS_STATUS_BAD_REQUEST,
                      "decoding \"%s\" must be refused with 400", bad[i]);
        ck_assert_uint_eq(len, 0);
    }
}

FT_TEST(1, percent_decoding_into_a_full_buffer_is_414, 1,
        "The caller's buffer bounds the decoded value: exactly full fits, one byte more is 414, never a write "
        "out of bounds (off-by-one).")
{
    char *out = malloc(4); /* exactly sized: a write past it is an ASan report */
    ck_assert_ptr_ne(out, NULL);
    size_t len = 0;
    ck_assert_int_eq(decode("ab%41d", out, 4, &len), WS_STATUS_OK);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(out, "abAd", 4) == 0);
    ck_assert_int_eq(decode("ab%41de", out, 4, &len), WS_STATUS_URI_TOO_LONG);
    ck_assert_uint_eq(len, 0);
    free(out);
}

FT_TEST(1, method_names_are_the_wire_spellings, 1,
        "ws_method_name gives the exact tokens of the wire (used in the Allow field), and \"\" for a value "
        "outside the enum — never an array index out of bounds.")
{
    ck_assert_str_eq(ws_method_name(WS_GET), "GET");
    ck_assert_str_eq(ws_method_name(WS_HEAD), "HEAD");
    ck_assert_str_eq(ws_method_name(WS_POST), "POST");
    ck_assert_str_eq(ws_method_name(WS_PUT), "PUT");
    ck_assert_str_eq(ws_method_name(WS_DELETE), "DELETE");
    ck_assert_str_eq(ws_method_name(WS_METHOD_NONE), "");
    ck_assert_str_eq(ws_method_name((ws_method)WS_METHOD_END), "");
}
