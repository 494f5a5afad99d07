/*
 * Chapter 08 tests, part 6: what the admin tests share — one request to the proxy's admin port, and a checker and
 * reader of a scraped /metrics page (the Prometheus text format, as a scraper would take it in).
 */
#ifndef FERRITE_PX_ADMIN_SUPPORT_H
#define FERRITE_PX_ADMIN_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One answer from the admin port. */
typedef struct admin_reply {
    int status;       /**< the status line's code; 0 when the connection closed without a whole answer */
    bool closed;      /**< the server closed the connection after the answer (end of file seen) */
    char *text;       /**< owned: everything received, NUL-terminated */
    size_t len;       /**< bytes of text */
    const char *body; /**< into text: what follows the head ("" when there is no head) */
    size_t body_len;  /**< bytes of body */
} admin_reply;

/**
 * Connects to 127.0.0.1:@p port, sends @p request as it is (a whole request head, or anything) and reads until the
 * server closes, @p timeout_ms at most. Fails the test when it cannot connect or the answer does not come in time.
 */
void admin_request(uint16_t port, const char *request, admin_reply *out, int timeout_ms);
/** admin_request() of `GET @p path HTTP/1.1`. */
void admin_get(uint16_t port, const char *path, admin_reply *out, int timeout_ms);
/** The value of header @p name (case-insensitive) in @p r's head, copied into @p out; false when there is none. */
bool admin_header(const admin_reply *r, const char *name, char *out, size_t cap);
/** Frees what @p r holds. */
void admin_reply_free(admin_reply *r);

/**
 * GET /metrics: asserts a 200 with `Content-Type: text/plain; version=0.0.4` and a body that scrape_check() accepts;
 * returns the body, NUL-terminated (the caller frees it).
 */
char *admin_scrape(uint16_t port);

/**
 * Checks a whole exposition as a scraper reads it, failing the test with the line at fault: each line a HELP, a TYPE
 * or a sample of the text format; each family announced once (HELP, then TYPE) with its samples right after it and
 * nowhere else; a histogram's buckets in ascending `le` order ending at `+Inf`, their counts cumulative, the `+Inf`
 * one equal to `_count`. Returns how many samples there are.
 */
size_t scrape_check(const char *text);

/**
 * The value of the sample `@p name{@p labels}` (@p labels is the text between the braces exactly as rendered, such
 * as `endpoint="127.0.0.1:80"`, or NULL for a sample without labels). False when there is no such sample.
 */
bool scrape_value(const char *text, const char *name, const char *labels, double *out);

/** scrape_value() that fails the test when the sample is missing. */
double scrape_must(const char *text, const char *name, const char *labels);

/** Whether any sample of family @p name carries @p labels (as in scrape_value()). */
bool scrape_has_series(const char *text, const char *name, const char *labels);

#endif
