/**
 * @file metrics.h
 * @brief Chapter 08, part 6: the numbers a proxy exports — latency histograms, and a writer of Prometheus's text
 *        exposition format for the admin port's `/metrics`.
 *
 * A mesh proxy is judged by what it reports: request counts, failures and the latency of every endpoint, scraped by
 * Prometheus every few seconds. linkerd2-proxy keeps one histogram per route and endpoint with fixed buckets; the
 * proxy here does the same (::px_histogram), and renders its counters, gauges and histograms with ::px_prom when a
 * scrape arrives, on the loop's thread. Pure logic: no I/O, no clock (callers pass durations), no threads — a
 * histogram and a writer belong to whoever holds them, and nothing here is safe to share between threads unlocked.
 *
 * **The text format** (Prometheus 0.0.4), as written here, one item per line, each ending in `\n`:
 *
 *     # HELP px_requests_total Requests forwarded, by endpoint.
 *     # TYPE px_requests_total counter
 *     px_requests_total{endpoint="10.0.0.7:80",status="2xx"} 1027
 *
 * Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*`. A label value is written
 * between double quotes with `\\`, `\"` and `\n` escaped; HELP text escapes `\\` and `\n` only.
 *
 * **Errors** follow the chapter's convention (loop.h), but collected: the writer's functions return nothing, the
 * first failure is kept in px_prom::error, every later call is a no-op, and px_prom_finish() reports it. A renderer
 * of fifty series checks once, at the end, instead of fifty times — as `std::fmt::Write` callers chain `write!`
 * with `?` and look at one `fmt::Result`.
 */
#ifndef FERRITE_PX_METRICS_H
#define FERRITE_PX_METRICS_H

#include "ferrite.h"

#include <stddef.h>
#include <stdint.h>

/** @brief Buckets of a ::px_histogram: the 25 finite bounds of px_histogram_bounds_ms, then +Inf. */
#define PX_HISTOGRAM_BUCKETS 26

/**
 * @brief The upper bounds of the finite buckets, in milliseconds, ascending: 1 2 3 4 5 10 20 30 40 50 100 ... 50000
 *        (1, 2, 3, 4, 5 in each decade from 1 ms to 50 s, as linkerd2-proxy's response-latency histogram). Bucket i
 *        (i < PX_HISTOGRAM_BUCKETS - 1) holds the values v with `bounds[i-1] < v <= bounds[i]`; the last bucket holds
 *        everything above 50 s.
 * @rust `const BOUNDS: [u64; 25]`, linkerd2-proxy's `latency::BOUNDS`
 */
extern const uint64_t px_histogram_bounds_ms[PX_HISTOGRAM_BUCKETS - 1];

/**
 * @brief A latency histogram with fixed buckets. Zero it to start (`px_histogram h = {0};`): it owns no memory.
 *
 * Counts are kept per bucket (not cumulative) so that observing is one increment; they are made cumulative only when
 * rendered, which is what the Prometheus format asks. Fields are read-only to everyone but px_histogram_observe().
 * @rust `prometheus_client::metrics::histogram::Histogram` (one owner here, so plain `u64`s instead of atomics)
 */
typedef struct px_histogram {
    uint64_t counts[PX_HISTOGRAM_BUCKETS]; /**< read-only: observations per bucket, not cumulative; last is +Inf */
    uint64_t count;                        /**< read-only: observations in all, the sum of counts[] */
    uint64_t sum_us;                       /**< read-only: the sum of the observed values, microseconds */
} px_histogram;

/**
 * @brief Counts one observation of @p ns nanoseconds: into the first bucket whose bound is at least the value (a value
 *        exactly on a bound belongs to that bound's bucket: Prometheus's `le` is "less than or equal"), into
 *        px_histogram::count, and, rounded to the nearest microsecond, into px_histogram::sum_us.
 * @rust `histogram.observe(elapsed.as_secs_f64())`
 */
void px_histogram_observe(px_histogram *h, uint64_t ns);

/**
 * @brief An upper bound of the @p q quantile, in milliseconds: the bound of the bucket that holds the observation of
 *        rank ⌈q·count⌉ (at least 1). It is an upper bound, not an estimate: every value in that bucket is at most
 *        the number returned, and the true quantile may be anywhere in the bucket. A quantile in the +Inf bucket
 *        reports the last finite bound (50000), as Prometheus's `histogram_quantile` does.
 * @param h the histogram, borrowed for the call.
 * @param q the quantile, 0.5 for the median, 0.99 for p99; taken as 0 below 0 (and when NaN), as 1 above 1.
 * @return the bound, or 0 when the histogram is empty.
 * @rust `histogram_quantile(0.99, ...)` in PromQL, over one histogram
 */
uint64_t px_histogram_quantile_ms(const px_histogram *h, double q);

/**
 * @brief A writer of the text format into a growable buffer it owns. Zero it or px_prom_init() it; end it with
 *        px_prom_finish() (which hands the text over) or px_prom_free().
 * @rust a `String` used through `std::fmt::Write`
 */
typedef struct px_prom {
    char *buf;  /**< private: the text so far, NUL-terminated when not NULL; owned by the writer */
    size_t len; /**< read-only: bytes of text in buf, the NUL not counted */
    size_t cap; /**< private: bytes allocated at buf */
    int error;  /**< read-only: 0, or the first failure: -ENOMEM (allocation), -EINVAL (a name or type refused) */
} px_prom;

/**
 * @brief One label: a name and a value, both borrowed for the duration of the call that receives them.
 * @rust a `(&str, &str)` pair in a `prometheus_client` label set
 */
typedef struct px_label {
    const char *name;  /**< `[a-zA-Z_][a-zA-Z0-9_]*` */
    const char *value; /**< any text (UTF-8); escaped as it is written */
} px_label;

/**
 * @brief Makes @p w an empty writer with no error; it allocates nothing yet.
 * @rust `String::new()`
 */
void px_prom_init(px_prom *w);

/**
 * @brief Frees what @p w holds and leaves it empty, as after px_prom_init(). For a writer whose text is not wanted.
 * @rust `drop(string)`
 */
void px_prom_free(px_prom *w);

/**
 * @brief Ends the writing: on success hands the text over and leaves @p w empty, as after px_prom_init().
 * @param w the writer; whatever the result, it is empty afterwards and may be used again.
 * @param[out] out the text, NUL-terminated, owned by the caller from now on (release it with `free()`); an empty
 *        string (allocated) when nothing was written. NULL on failure.
 * @param[out] len its length in bytes, the NUL not counted; 0 on failure.
 * @return 0, or the first failure of any earlier call (-ENOMEM, -EINVAL); then the text is freed, since a partial
 *         scrape must not be served as a whole one, and @p w is left empty too.
 * @rust `Ok(string)` out of a renderer that returned `fmt::Result` at each step
 */
FT_MUST_USE int px_prom_finish(px_prom *w, char **out, size_t *len);

/**
 * @brief Starts a metric family: writes `# HELP name text` (when @p help is not NULL, its `\` and newlines escaped)
 *        and `# TYPE name type`. Call it once per family, before that family's series; series of one family must not
 *        be interleaved with another's (the writer does not check either).
 * @param w the writer; does nothing once it holds an error.
 * @param name the family's metric name (for a histogram, the base name without `_bucket`).
 * @param type "counter", "gauge" or "histogram"; anything else is refused with -EINVAL.
 * @param help one line of description, or NULL for none; borrowed for the call.
 * @rust `registry.register(name, help, metric)` (prometheus_client), rendered by its text encoder
 */
void px_prom_family(px_prom *w, const char *name, const char *type, const char *help);

/**
 * @brief Writes one counter sample: `name{labels} value`, the value as an exact decimal integer.
 * @param w the writer; does nothing once it holds an error.
 * @param name the metric name, the family's.
 * @param labels @p n_labels labels, written in the order given (may be NULL when @p n_labels is 0); an invalid metric
 *        or label name, or a NULL value, sets -EINVAL and writes nothing. Borrowed for the call, as all strings here.
 * @param n_labels how many labels @p labels holds.
 * @param value the count.
 * @rust `Counter::inc_by` on one series of a `Family`, as the encoder writes it
 */
void px_prom_counter(px_prom *w, const char *name, const px_label *labels, size_t n_labels, uint64_t value);

/**
 * @brief Writes one gauge sample: `name{labels} value`. The value is written as Prometheus parses it back exactly:
 *        an integer below 10^15 in magnitude as plain digits (`3`, `-2`, `0`), other finite values in the shortest
 *        `%g` form that reads back equal (`0.5`, `0.1`, `1e+20`), and `NaN`, `+Inf`, `-Inf`.
 * @rust `Gauge::<f64>::set` on one series of a `Family`
 */
void px_prom_gauge(px_prom *w, const char *name, const px_label *labels, size_t n_labels, double value);

/**
 * @brief Writes one histogram's series: `name_bucket{labels,le="1"}` ... `name_bucket{labels,le="+Inf"}` with
 *        cumulative counts (each counts the observations at most its bound, so the `+Inf` one equals the count), then
 *        `name_sum{labels}` in milliseconds as a decimal (`1.75`: three decimals at most, trailing zeros dropped) and
 *        `name_count{labels}`. `le` comes after the caller's labels; a caller's label named `le` is refused (-EINVAL).
 * @rust `Histogram::observe` on one series of a `Family`, as the encoder writes it
 */
void px_prom_histogram(px_prom *w, const char *name, const px_label *labels, size_t n_labels, const px_histogram *h);

#endif
