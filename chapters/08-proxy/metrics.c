/*
 * Chapter 08, part 6: latency histograms and the Prometheus text writer (metrics.h has the format and the contract).
 * Every function does nothing, or returns 0 / -ENOSYS, until written; each TODO says what to do and why.
 */
#include "metrics.h"

#include <errno.h>

/* Given: the bounds are the specification (linkerd2-proxy's response-latency buckets), not an exercise. */
const uint64_t px_histogram_bounds_ms[PX_HISTOGRAM_BUCKETS - 1] = {
    1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,   300,
    400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000,
};

void px_histogram_observe(px_histogram *h, uint64_t ns)
{
    /* TODO: find the first bucket i whose bound is at least the value, comparing in nanoseconds
     * (ns <= bounds[i] * 1000000: dividing ns to milliseconds first would put 1 ms + 1 ns into the 1 ms bucket); a
     * value on a bound is in that bound's bucket, since Prometheus's le means "less than or equal". Past the last
     * bound, the +Inf bucket, counts[PX_HISTOGRAM_BUCKETS - 1]. Then count it and add ns to sum_us rounded to the
     * nearest microsecond (without computing ns + 500, which overflows near UINT64_MAX). */
    (void)h, (void)ns;
}

uint64_t px_histogram_quantile_ms(const px_histogram *h, double q)
{
    /* TODO: 0 when empty. Otherwise the nearest rank: ceil(q * count), kept within 1..count (q <= 0 or NaN: 1;
     * compute the ceiling in integers: truncate, then add 1 if a fraction was cut off). Then add up counts[] bucket
     * by bucket until the running total reaches the rank (>=): that bucket's bound is the answer, an upper bound of
     * the quantile. If it is the +Inf bucket, answer with the last finite bound. */
    (void)h, (void)q;
    return 0;
}

void px_prom_init(px_prom *w)
{
    /* TODO: an empty writer: no buffer yet, length and capacity 0, no error. */
    (void)w;
}

void px_prom_free(px_prom *w)
{
    /* TODO: free the buffer and make the writer empty again, as px_prom_init() does. */
    (void)w;
}

int px_prom_finish(px_prom *w, char **out, size_t *len)
{
    /* TODO: on an earlier error, free the text, empty the writer and return that error with *out NULL and *len 0: a
     * partial scrape must not be served. Otherwise hand the buffer to the caller (an allocated "" if nothing was
     * written) and empty the writer without freeing it: it is the caller's now. */
    (void)w;
    *out = NULL;
    *len = 0;
    return -ENOSYS;
}

void px_prom_family(px_prom *w, const char *name, const char *type, const char *help)
{
    /* TODO: after an error, do nothing. Refuse (error = -EINVAL, nothing written) a name that is not
     * [a-zA-Z_:][a-zA-Z0-9_:]* or a type other than counter, gauge, histogram. Then "# HELP name text\n" when help is
     * not NULL, its backslashes and newlines escaped as \\ and \n, and "# TYPE name type\n". Appending means a
     * growable buffer: make room for the bytes and a NUL, doubling the capacity, and on a failed realloc keep the old
     * buffer and remember -ENOMEM as the error (only the first error is kept). */
    (void)w, (void)name, (void)type, (void)help;
}

void px_prom_counter(px_prom *w, const char *name, const px_label *labels, size_t n_labels, uint64_t value)
{
    /* TODO: check every name first (metric name; label names [a-zA-Z_][a-zA-Z0-9_]*; no NULL value), so a refused
     * call writes nothing. Then name, {label="value",...} when there are labels (values escaped: \\, \" and \n),
     * a space, the value as decimal digits from the integer itself (a double would round values above 2^53), \n. */
    (void)w, (void)name, (void)labels, (void)n_labels, (void)value;
}

void px_prom_gauge(px_prom *w, const char *name, const px_label *labels, size_t n_labels, double value)
{
    /* TODO: as a counter, with the value formatted as metrics.h says: NaN, +Inf, -Inf by name (printf would write
     * nan and inf), integers below 1e15 as plain digits (%.0f; -0 as 0), other values with the smallest %.*g
     * precision that strtod() reads back as the same double. */
    (void)w, (void)name, (void)labels, (void)n_labels, (void)value;
}

void px_prom_histogram(px_prom *w, const char *name, const px_label *labels, size_t n_labels, const px_histogram *h)
{
    /* TODO: names checked as for a counter, and a caller's label named le refused. Then one name_bucket line per
     * bucket with the caller's labels and le="<bound>" last (le="+Inf" for the last), its count the running total of
     * counts[] so far (Prometheus buckets are cumulative); then name_sum in milliseconds from sum_us (whole part, a
     * point and up to three decimals without trailing zeros) and name_count. */
    (void)w, (void)name, (void)labels, (void)n_labels, (void)h;
}
