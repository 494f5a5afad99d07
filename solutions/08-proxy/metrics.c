/*
 * Chapter 08, part 6: latency histograms and the Prometheus text writer (metrics.h has the format and the contract).
 *
 * Two halves. The histogram is an array of counters indexed by bucket: observing is a search over 25 bounds and an
 * increment, cheap enough for every request. The writer appends to one growable buffer; its only failures are an
 * allocation that fails and a name that would make a line Prometheus refuses, and both are kept in w->error, after
 * which every call returns at once. A name is checked before anything of its line is written, so an invalid one
 * never leaves half a line behind.
 */
#include "metrics.h"

#include <errno.h>
#include <math.h> /* isnan, isinf: macros, no libm */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint64_t px_histogram_bounds_ms[PX_HISTOGRAM_BUCKETS - 1] = {
    1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,   300,
    400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000,
};

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_US UINT64_C(1000)

/* ---- the histogram ------------------------------------------------------------------------------------------ */

void px_histogram_observe(px_histogram *h, uint64_t ns)
{
    /* Compare in nanoseconds, so that 1 ms + 1 ns is above the 1 ms bound: converting the value to milliseconds
     * first would round it down into the bucket below. `<=` because a bucket's bound belongs to it ("le"). Values
     * past the last bound fall through to the +Inf bucket. */
    size_t i = 0;
    while (i < PX_HISTOGRAM_BUCKETS - 1 && ns > px_histogram_bounds_ms[i] * NS_PER_MS)
        i++;
    h->counts[i]++;
    h->count++;
    /* Rounded to the nearest microsecond, so each sample is off by half a microsecond at most, up or down, and the
     * errors do not all point one way. Written as ns / NS_PER_US plus a carry: ns + NS_PER_US / 2 would overflow
     * for values near UINT64_MAX. */
    h->sum_us += ns / NS_PER_US + (ns % NS_PER_US >= NS_PER_US / 2);
}

uint64_t px_histogram_quantile_ms(const px_histogram *h, double q)
{
    if (h->count == 0)
        return 0;
    /* The nearest-rank definition: the q quantile of n values is the one of rank ceil(q * n), counting from 1.
     * floor(q * n) would give rank 0 for the median of one sample, and the value below the quantile whenever q * n
     * is not whole. The test !(q > 0) is true for a NaN as well. */
    uint64_t rank;
    if (!(q > 0))
        rank = 1;
    else if (q >= 1)
        rank = h->count;
    else {
        /* ceil(r) in integers (the chapter does not link libm): truncate, then step up if a fraction was cut off. */
        double r = q * (double)h->count;
        rank = (uint64_t)r;
        rank += (double)rank < r;
        rank = rank < 1 ? 1 : rank > h->count ? h->count : rank;
    }
    /* Walk the buckets adding up counts until the rank is reached: the bucket that reaches it holds that value. */
    uint64_t seen = 0;
    for (size_t i = 0; i < PX_HISTOGRAM_BUCKETS - 1; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return px_histogram_bounds_ms[i];
    }
    return px_histogram_bounds_ms[PX_HISTOGRAM_BUCKETS - 2]; /* the +Inf bucket has no bound: the last finite one */
}

/* ---- the buffer --------------------------------------------------------------------------------------------- */

void px_prom_init(px_prom *w) { *w = (px_prom){0}; }

void px_prom_free(px_prom *w)
{
    free(w->buf);
    px_prom_init(w);
}

/* Keeps the first failure only: the one that explains the others. */
static void fail(px_prom *w, int err)
{
    if (w->error == 0)
        w->error = err;
}

/* Makes room for @p more bytes of text and the NUL after them, doubling, so that n appends cost O(n) copies. */
static bool reserve(px_prom *w, size_t more)
{
    if (w->error)
        return false;
    if (more < w->cap - w->len) /* strictly less: one byte stays for the NUL (cap is 0 only while len is) */
        return true;
    if (more > SIZE_MAX / 2 - w->len) {
        fail(w, -ENOMEM);
        return false;
    }
    size_t want = w->len + more + 1;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < want)
        cap *= 2; /* cannot overflow: want <= SIZE_MAX / 2, so cap stops at or below SIZE_MAX - 1 */
    char *buf = realloc(w->buf, cap);
    if (buf == NULL) { /* w->buf is still valid and still ours: px_prom_finish() frees it */
        fail(w, -ENOMEM);
        return false;
    }
    w->buf = buf;
    w->cap = cap;
    return true;
}

static void put(px_prom *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(px_prom *w, const char *s) { put(w, s, strlen(s)); }

/* Writes @p s with each character of @p special preceded by a backslash, and a newline as the two characters \n. */
static void put_escaped(px_prom *w, const char *s, const char *special)
{
    const char *run = s;
    for (; *s; s++) {
        if (*s != '\n' && strchr(special, *s) == NULL)
            continue;
        put(w, run, (size_t)(s - run));
        put(w, *s == '\n' ? "\\n" : *s == '\\' ? "\\\\" : "\\\"", 2);
        run = s + 1;
    }
    put(w, run, (size_t)(s - run));
}

/* ---- names -------------------------------------------------------------------------------------------------- */

/* Whether @p s is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, when !colon, a label name (the same without ':').
 * Spelled out instead of isalpha(), whose answer depends on the locale. */
static bool valid_name(const char *s, bool colon)
{
    if (s == NULL || *s == '\0')
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* Checks a series' names before any of it is written; @p histogram also refuses "le", which the writer adds. */
static bool valid_series(px_prom *w, const char *name, const px_label *labels, size_t n_labels, bool histogram)
{
    if (w->error)
        return false;
    bool ok = valid_name(name, true) && (n_labels == 0 || labels != NULL);
    for (size_t i = 0; ok && i < n_labels; i++)
        ok = valid_name(labels[i].name, false) && labels[i].value != NULL &&
             !(histogram && strcmp(labels[i].name, "le") == 0);
    if (!ok)
        fail(w, -EINVAL);
    return ok;
}

/* ---- lines -------------------------------------------------------------------------------------------------- */

void px_prom_family(px_prom *w, const char *name, const char *type, const char *help)
{
    if (w->error)
        return;
    bool known = type && (strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 || strcmp(type, "histogram") == 0);
    if (!known || !valid_name(name, true)) {
        fail(w, -EINVAL);
        return;
    }
    if (help) {
        puts_(w, "# HELP ");
        puts_(w, name);
        put(w, " ", 1);
        put_escaped(w, help, "\\"); /* HELP text escapes backslash and newline, not quotes */
        put(w, "\n", 1);
    }
    puts_(w, "# TYPE ");
    puts_(w, name);
    put(w, " ", 1);
    puts_(w, type);
    put(w, "\n", 1);
}

/* Writes `name{a="x",b="y"` + `,le="<le>"` when le is not NULL + `} `; no braces at all when there is no label. */
static void put_series(px_prom *w, const char *name, const char *suffix, const px_label *labels, size_t n_labels,
                       const char *le)
{
    puts_(w, name);
    puts_(w, suffix);
    if (n_labels > 0 || le) {
        put(w, "{", 1);
        for (size_t i = 0; i < n_labels; i++) {
            if (i > 0)
                put(w, ",", 1);
            puts_(w, labels[i].name);
            put(w, "=\"", 2);
            put_escaped(w, labels[i].value, "\\\"");
            put(w, "\"", 1);
        }
        if (le) {
            puts_(w, n_labels > 0 ? ",le=\"" : "le=\"");
            puts_(w, le);
            put(w, "\"", 1);
        }
        put(w, "}", 1);
    }
    put(w, " ", 1);
}

/* A value and the end of its line. Counts are written from the integer: through a double, 2^53 + 1 would not be. */
static void put_uint_line(px_prom *w, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu\n", (unsigned long long)v);
    put(w, digits, (size_t)n);
}

/* Formats @p v as metrics.h says: the spellings Prometheus's parser (Go's ParseFloat) reads back as the same value. */
static void format_double(double v, char *out, size_t cap)
{
    if (isnan(v))
        snprintf(out, cap, "NaN");
    else if (isinf(v))
        snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    else if (v == 0)
        snprintf(out, cap, "0");                                 /* -0.0 too: "-0" is legal, but surprises a reader */
    else if (v > -1e15 && v < 1e15 && v == (double)(long long)v) /* the cast is exact in this range */
        snprintf(out, cap, "%.0f", v);
    else {
        /* The shortest precision that round-trips; 17 significant digits always do for a double. */
        for (int precision = 1; precision <= 17; precision++) {
            snprintf(out, cap, "%.*g", precision, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
}

void px_prom_counter(px_prom *w, const char *name, const px_label *labels, size_t n_labels, uint64_t value)
{
    if (!valid_series(w, name, labels, n_labels, false))
        return;
    put_series(w, name, "", labels, n_labels, NULL);
    put_uint_line(w, value);
}

void px_prom_gauge(px_prom *w, const char *name, const px_label *labels, size_t n_labels, double value)
{
    if (!valid_series(w, name, labels, n_labels, false))
        return;
    char text[40];
    format_double(value, text, sizeof text);
    put_series(w, name, "", labels, n_labels, NULL);
    puts_(w, text);
    put(w, "\n", 1);
}

void px_prom_histogram(px_prom *w, const char *name, const px_label *labels, size_t n_labels, const px_histogram *h)
{
    if (!valid_series(w, name, labels, n_labels, true))
        return;
    /* Prometheus buckets are cumulative: le="10" counts everything up to 10 ms, including what is up to 5 ms. The
     * running total over the finite buckets plus the +Inf bucket is the whole count, which is what le="+Inf" must
     * say; writing h->count there instead would hide a counts[] that does not add up. */
    uint64_t cumulative = 0;
    for (size_t i = 0; i < PX_HISTOGRAM_BUCKETS; i++) {
        char le[24];
        if (i < PX_HISTOGRAM_BUCKETS - 1)
            snprintf(le, sizeof le, "%llu", (unsigned long long)px_histogram_bounds_ms[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        cumulative += h->counts[i];
        put_series(w, name, "_bucket", labels, n_labels, le);
        put_uint_line(w, cumulative);
    }
    /* The sum in milliseconds from integer microseconds: whole part, then up to three decimals without trailing
     * zeros. Exact, unlike sum_us / 1000.0 printed with %g. */
    char sum[32];
    int n = snprintf(sum, sizeof sum, "%llu", (unsigned long long)(h->sum_us / 1000));
    unsigned frac = (unsigned)(h->sum_us % 1000);
    if (frac != 0) {
        n += snprintf(sum + n, sizeof sum - (size_t)n, ".%03u", frac);
        while (sum[n - 1] == '0')
            sum[--n] = '\0';
    }
    put_series(w, name, "_sum", labels, n_labels, NULL);
    puts_(w, sum);
    put(w, "\n", 1);
    put_series(w, name, "_count", labels, n_labels, NULL);
    put_uint_line(w, h->count);
}

/* ---- the end ------------------------------------------------------------------------------------------------ */

int px_prom_finish(px_prom *w, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (w->error == 0 && w->buf == NULL)
        put(w, "", 0); /* nothing was written: still hand over an allocated, empty string */
    int err = w->error;
    if (err) {
        px_prom_free(w);
        return err;
    }
    *out = w->buf;
    *len = w->len;
    px_prom_init(w); /* the buffer is the caller's now: the writer forgets it */
    return 0;
}
