/*
 * Chapter 08, part 6: latency histograms and the Prometheus text writer (metrics.h), tested on values alone — no
 * socket, no clock: durations are given in nanoseconds. Every rendered text also goes through a small line-by-line
 * checker of the exposition format (check_exposition), so a test that compares one line still refuses a broken
 * neighbour.
 */
#include "ferrite_test.h"
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_PART(6, "observability: Prometheus metrics and a graceful drain");

#define MS UINT64_C(1000000) /* nanoseconds in a millisecond */

/* ---- a checker of the text format ---------------------------------------------------------------------------- */

static bool name_char(char c, bool first, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* Skips a name at *p; false when there is none. */
static bool skip_name(const char **p, bool colon)
{
    const char *s = *p;
    if (!name_char(*s, true, colon))
        return false;
    while (name_char(*s, false, colon))
        s++;
    *p = s;
    return true;
}

/* Skips text up to (not including) @p end, allowing only the escapes in @p escapes after a backslash, and no raw
 * newline or (when quoted) raw double quote. */
static bool skip_escaped(const char **p, char end, const char *escapes)
{
    const char *s = *p;
    while (*s != end) {
        if (*s == '\0' || *s == '\n')
            return false;
        if (*s == '\\') {
            if (s[1] == '\0' || strchr(escapes, s[1]) == NULL)
                return false;
            s++;
        }
        s++;
    }
    *p = s;
    return true;
}

/* Whether @p v (up to the end of the line) is a sample value Prometheus parses. */
static bool valid_value(const char *v)
{
    if (strcmp(v, "NaN") == 0 || strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0)
        return true;
    if (!(*v == '-' || (*v >= '0' && *v <= '9')))
        return false;
    char *end;
    strtod(v, &end);
    return end != v && *end == '\0';
}

/* The shape of one line, or NULL when it is fine; @p family and @p type carry the last TYPE line across calls. */
static const char *check_line(const char *line, char *family, char *type)
{
    const char *p = line;
    if (strncmp(line, "# HELP ", 7) == 0) {
        p += 7;
        if (!skip_name(&p, true) || *p != ' ')
            return "HELP without a metric name and a space";
        p++;
        return skip_escaped(&p, '\0', "\\n") ? NULL : "HELP text with a backslash that is not \\\\ or \\n";
    }
    if (strncmp(line, "# TYPE ", 7) == 0) {
        p += 7;
        const char *name = p;
        if (!skip_name(&p, true) || *p != ' ')
            return "TYPE without a metric name and a space";
        if (strcmp(p + 1, "counter") != 0 && strcmp(p + 1, "gauge") != 0 && strcmp(p + 1, "histogram") != 0)
            return "TYPE neither counter, gauge nor histogram";
        snprintf(family, 256, "%.*s", (int)(p - name), name);
        snprintf(type, 16, "%s", p + 1);
        return NULL;
    }
    if (line[0] == '#' || line[0] == '\0')
        return "a comment or an empty line: the writer writes neither";
    const char *name = p;
    if (!skip_name(&p, true))
        return "a sample that does not start with a metric name";
    size_t name_len = (size_t)(p - name), family_len = strlen(family);
    if (family_len == 0)
        return "a sample before any TYPE line";
    const char *suffix = name + family_len;
    bool same = name_len >= family_len && strncmp(name, family, family_len) == 0;
    bool histogram = strcmp(type, "histogram") == 0;
    bool bucket = histogram && same && name_len == family_len + 7 && strncmp(suffix, "_bucket", 7) == 0;
    if (!(same && name_len == family_len) && !bucket &&
        !(histogram && same &&
          ((name_len == family_len + 4 && strncmp(suffix, "_sum", 4) == 0) ||
           (name_len == family_len + 6 && strncmp(suffix, "_count", 6) == 0))))
        return "a sample whose name is not its family's (histograms: _bucket, _sum, _count)";
    const char *last_label = NULL;
    if (*p == '{') {
        do {
            p++;
            last_label = p;
            if (!skip_name(&p, false) || p[0] != '=' || p[1] != '"')
                return "a label that is not name=\"value\"";
            p += 2;
            if (!skip_escaped(&p, '"', "\\\"n"))
                return "a label value with a raw newline or an escape other than \\\\, \\\" or \\n";
            p++;
        } while (*p == ',');
        if (*p != '}')
            return "labels not closed by }";
        p++;
    }
    if (bucket && (last_label == NULL || strncmp(last_label, "le=\"", 4) != 0))
        return "a _bucket sample whose last label is not le";
    if (*p != ' ')
        return "no single space before the value";
    return valid_value(p + 1) ? NULL : "a value Prometheus cannot parse";
}

/* Checks every line of the @p len bytes at @p text; returns how many there are. */
static size_t check_exposition(const char *text, size_t len)
{
    ck_assert_msg(text != NULL, "px_prom_finish() succeeded but gave no text");
    ck_assert_msg(strlen(text) == len, "px_prom_finish() says %zu bytes, the text has %zu before its NUL", len,
                  strlen(text));
    ck_assert_msg(len == 0 || text[len - 1] == '\n', "the last line does not end with a newline");
    char family[256] = "", type[16] = "";
    size_t lines = 0;
    for (const char *line = text; *line; lines++) {
        const char *nl = strchr(line, '\n');
        char copy[4096];
        ck_assert_uint_lt((size_t)(nl - line), sizeof copy);
        memcpy(copy, line, (size_t)(nl - line));
        copy[nl - line] = '\0';
        const char *err = check_line(copy, family, type);
        ck_assert_msg(err == NULL, "line %zu is not in the text format: %s:\n%s", lines + 1, err, copy);
        line = nl + 1;
    }
    return lines;
}

/* Ends @p w, asserts success and a well-formed text, and returns the text (the caller frees it). */
static char *finish_ok(px_prom *w)
{
    char *out = NULL;
    size_t len = 0;
    int rc = px_prom_finish(w, &out, &len);
    ck_assert_msg(rc == 0, "px_prom_finish() returned %d after valid calls only", rc);
    check_exposition(out, len);
    return out;
}

#define ASSERT_TEXT(got_, want_) ck_assert_msg(strcmp((got_), (want_)) == 0, "rendered:\n%s\nwanted:\n%s", (got_), (want_))

/* ---- the histogram ------------------------------------------------------------------------------------------- */

/* The bucket a fresh histogram puts @p ns in, failing when it is not exactly one. */
static size_t bucket_of(uint64_t ns)
{
    px_histogram h = {0};
    px_histogram_observe(&h, ns);
    size_t found = PX_HISTOGRAM_BUCKETS, n = 0;
    for (size_t i = 0; i < PX_HISTOGRAM_BUCKETS; i++) {
        n += h.counts[i];
        if (h.counts[i])
            found = i;
    }
    ck_assert_msg(n == 1, "one observation of %llu ns left %zu counted in counts[]", (unsigned long long)ns, n);
    return found;
}

FT_TEST(6, histogram_puts_a_value_on_a_bound_in_that_bound_bucket, 2,
        "Prometheus buckets are 'less than or equal' (le): 1 ms exactly belongs to le=\"1\", 1 ms + 1 ns to le=\"2\"; "
        "compare in nanoseconds (ns <= bound * 1e6), not after dividing to milliseconds, and not with <")
{
    static const uint64_t want_bounds[] = {1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,  300,
                                           400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000};
    ck_assert_uint_eq(sizeof want_bounds / sizeof want_bounds[0], PX_HISTOGRAM_BUCKETS - 1);
    for (size_t i = 0; i < PX_HISTOGRAM_BUCKETS - 1; i++)
        ck_assert_uint_eq(px_histogram_bounds_ms[i], want_bounds[i]);
    static const struct {
        uint64_t ns;
        size_t bucket;
    } cases[] = {
        {0, 0},
        {1, 0},
        {MS - 1, 0},
        {MS, 0},
        {MS + 1, 1},
        {2 * MS, 1},
        {5 * MS, 4},
        {5 * MS + 1, 5},
        {10 * MS, 5},
        {999 * MS, 15},
        {1000 * MS, 15},
        {1000 * MS + 1, 16},
        {30000 * MS - 1, 22},
        {30000 * MS, 22},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = bucket_of(cases[i].ns);
        ck_assert_msg(got == cases[i].bucket, "%llu ns went to bucket %zu (le=%llu), not %zu (le=%llu)",
                      (unsigned long long)cases[i].ns, got,
                      (unsigned long long)(got < PX_HISTOGRAM_BUCKETS - 1 ? px_histogram_bounds_ms[got] : 0),
                      cases[i].bucket, (unsigned long long)px_histogram_bounds_ms[cases[i].bucket]);
    }
}

FT_TEST(6, histogram_puts_values_past_50_s_in_the_inf_bucket, 1,
        "The last bucket, +Inf, holds everything above the last bound (50 s), up to UINT64_MAX ns: the loop over the "
        "bounds must stop before reading past the 25 of them")
{
    ck_assert_uint_eq(bucket_of(50000 * MS), PX_HISTOGRAM_BUCKETS - 2);
    ck_assert_uint_eq(bucket_of(50000 * MS + 1), PX_HISTOGRAM_BUCKETS - 1);
    ck_assert_uint_eq(bucket_of(3600000 * MS), PX_HISTOGRAM_BUCKETS - 1);
    ck_assert_uint_eq(bucket_of(UINT64_MAX), PX_HISTOGRAM_BUCKETS - 1);
}

FT_TEST(6, histogram_counts_and_sums_microseconds, 1,
        "count counts every observation; sum_us adds each value rounded to the nearest microsecond (1499 ns -> 1, "
        "1500 ns -> 2): a sum truncated per sample loses up to 1 us per request")
{
    px_histogram h = {0};
    px_histogram_observe(&h, 1499);
    px_histogram_observe(&h, 1500);
    px_histogram_observe(&h, 3 * MS);
    px_histogram_observe(&h, 400);
    px_histogram_observe(&h, 70000 * MS);
    ck_assert_uint_eq(h.count, 5);
    ck_assert_uint_eq(h.sum_us, 1 + 2 + 3000 + 0 + 70000000);
    uint64_t total = 0;
    for (size_t i = 0; i < PX_HISTOGRAM_BUCKETS; i++)
        total += h.counts[i];
    ck_assert_uint_eq(total, h.count);
}

FT_TEST(6, quantile_of_empty_and_one_sample_histograms, 1,
        "px_histogram_quantile_ms: 0 when nothing was observed; with one sample every quantile is that sample's "
        "bucket bound (3.5 ms -> 4), for q = 0 and q = 1 too: the rank is at least 1 and at most count")
{
    px_histogram h = {0};
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.5), 0);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.99), 0);
    px_histogram_observe(&h, 3500000);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.0), 4);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.5), 4);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.99), 4);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 1.0), 4);
}

FT_TEST(6, quantile_p50_p99_on_a_known_distribution, 2,
        "Quantiles by nearest rank: the q quantile is the value of rank ceil(q * count), found by adding up bucket "
        "counts until the running total reaches that rank (>=, not >); its bucket's upper bound is the answer, and "
        "the +Inf bucket answers with the last finite bound, 50000")
{
    px_histogram h = {0};
    for (int i = 0; i < 900; i++)
        px_histogram_observe(&h, 2500000); /* le=3 */
    for (int i = 0; i < 85; i++)
        px_histogram_observe(&h, 7 * MS); /* le=10 */
    for (int i = 0; i < 14; i++)
        px_histogram_observe(&h, 150 * MS); /* le=200 */
    px_histogram_observe(&h, 70000 * MS);   /* +Inf */
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.5), 3);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.9), 3); /* rank 900: the last of the le=3 bucket */
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.95), 10);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.99), 200); /* rank 990: 985 are at most 10 ms */
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.999), 200);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 1.0), 50000);
    ck_assert_uint_eq(px_histogram_quantile_ms(&h, 0.0), 3);
}

/* ---- the text writer ----------------------------------------------------------------------------------------- */

FT_TEST(6, prom_renders_a_counter_family_exactly, 2,
        "The text format: '# HELP name text', '# TYPE name counter', then one 'name{l=\"v\",...} value' line per "
        "series, labels in the order given, no braces without labels, each line ending in \\n; a counter is an exact "
        "integer (printed from the uint64_t, not through a double: 2^53 + 1 must stay odd)")
{
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "px_requests_total", "counter", "Requests forwarded, by endpoint.");
    px_label a[] = {{"endpoint", "10.0.0.7:80"}, {"status", "2xx"}};
    px_prom_counter(&w, "px_requests_total", a, 2, 1027);
    px_label b[] = {{"endpoint", "10.0.0.8:80"}, {"status", "5xx"}};
    px_prom_counter(&w, "px_requests_total", b, 2, 3);
    px_prom_family(&w, "px:connections_total", "counter", "Connections accepted.");
    px_prom_counter(&w, "px:connections_total", NULL, 0, (UINT64_C(1) << 53) + 1);
    px_prom_family(&w, "px_bytes_total", "counter", NULL);
    px_label c[] = {{"_dir9", "in"}};
    px_prom_counter(&w, "px_bytes_total", c, 1, UINT64_MAX);
    char *out = finish_ok(&w);
    ASSERT_TEXT(out,
                "# HELP px_requests_total Requests forwarded, by endpoint.\n"
                "# TYPE px_requests_total counter\n"
                "px_requests_total{endpoint=\"10.0.0.7:80\",status=\"2xx\"} 1027\n"
                "px_requests_total{endpoint=\"10.0.0.8:80\",status=\"5xx\"} 3\n"
                "# HELP px:connections_total Connections accepted.\n"
                "# TYPE px:connections_total counter\n"
                "px:connections_total 9007199254740993\n"
                "# TYPE px_bytes_total counter\n"
                "px_bytes_total{_dir9=\"in\"} 18446744073709551615\n");
    free(out);
}

FT_TEST(6, prom_renders_a_labelled_histogram_exactly, 2,
        "A histogram renders name_bucket lines with cumulative counts (le=\"5\" counts everything up to 5 ms), le as "
        "the last label, a le=\"+Inf\" bucket equal to the count, then name_sum in milliseconds (60006.3: sum_us / "
        "1000 with up to three decimals) and name_count")
{
    px_histogram h = {0};
    px_histogram_observe(&h, 800000);
    px_histogram_observe(&h, 1 * MS);
    px_histogram_observe(&h, 4500000);
    px_histogram_observe(&h, 60000 * MS);
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "px_response_latency_ms", "histogram", "Response latency.");
    px_label l[] = {{"endpoint", "10.0.0.7:80"}};
    px_prom_histogram(&w, "px_response_latency_ms", l, 1, &h);
    char *out = finish_ok(&w);
    static const char want[] =
        "# HELP px_response_latency_ms Response latency.\n"
        "# TYPE px_response_latency_ms histogram\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"1\"} 2\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"2\"} 2\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"3\"} 2\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"4\"} 2\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"5\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"10\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"20\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"30\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"40\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"50\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"100\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"200\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"300\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"400\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"500\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"1000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"2000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"3000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"4000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"5000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"10000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"20000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"30000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"40000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"50000\"} 3\n"
        "px_response_latency_ms_bucket{endpoint=\"10.0.0.7:80\",le=\"+Inf\"} 4\n"
        "px_response_latency_ms_sum{endpoint=\"10.0.0.7:80\"} 60006.3\n"
        "px_response_latency_ms_count{endpoint=\"10.0.0.7:80\"} 4\n";
    ASSERT_TEXT(out, want);
    free(out);
}

/* The value of the sample line that starts with @p prefix (a name and its labels up to the space), or -1. */
static double sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; *line; line = strchr(line, '\n') + 1)
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return -1;
}

FT_TEST(6, prom_histogram_buckets_are_cumulative_and_inf_equals_count, 2,
        "Rendered buckets are cumulative: each le counts the observations at most its bound, so the counts never "
        "decrease and le=\"+Inf\" equals _count; in memory counts[] is per bucket, so add a running total as you "
        "render (and do not forget the +Inf bucket)")
{
    px_histogram h = {0};
    uint64_t at_most[PX_HISTOGRAM_BUCKETS - 1] = {0};
    uint64_t x = 0x9E3779B97F4A7C15u; /* a fixed seed: the same samples on every run */
    const int n = 3000;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t ns = x % (80000 * MS) >> (x % 23); /* spread over all decades, many small */
        px_histogram_observe(&h, ns);
        for (size_t b = 0; b < PX_HISTOGRAM_BUCKETS - 1; b++)
            at_most[b] += ns <= px_histogram_bounds_ms[b] * MS;
    }
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "lat", "histogram", "Latency.");
    px_prom_histogram(&w, "lat", NULL, 0, &h);
    char *out = finish_ok(&w);
    double previous = 0;
    for (size_t b = 0; b < PX_HISTOGRAM_BUCKETS - 1; b++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "lat_bucket{le=\"%llu\"}", (unsigned long long)px_histogram_bounds_ms[b]);
        double got = sample_value(out, prefix);
        ck_assert_msg(got == (double)at_most[b], "%s is %.0f, but %llu observations were at most %llu ms", prefix, got,
                      (unsigned long long)at_most[b], (unsigned long long)px_histogram_bounds_ms[b]);
        ck_assert_msg(got >= previous, "%s is %.0f, less than the bucket before it (%.0f)", prefix, got, previous);
        previous = got;
    }
    ck_assert_msg(sample_value(out, "lat_bucket{le=\"+Inf\"}") == n, "le=\"+Inf\" is missing or not %d:\n%s", n, out);
    ck_assert_msg(sample_value(out, "lat_count") == n, "lat_count is missing or not %d", n);
    free(out);
}

FT_TEST(6, prom_histogram_sum_is_milliseconds_as_a_decimal, 1,
        "name_sum is in milliseconds, written exactly from sum_us: whole milliseconds without a point (2), else up "
        "to three decimals without trailing zeros (1.75, 0.001); an empty histogram sums to 0")
{
    static const struct {
        uint64_t ns[2];
        const char *want;
    } cases[] = {
        {{1500000, 250000}, "1.75"},           {{2 * MS, 0}, "2"}, {{1000, 0}, "0.001"}, {{0, 0}, "0"},
        {{12345 * MS + 10000, 0}, "12345.01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        px_histogram h = {0};
        for (size_t j = 0; j < 2; j++)
            if (cases[i].ns[j])
                px_histogram_observe(&h, cases[i].ns[j]);
        px_prom w;
        px_prom_init(&w);
        px_prom_family(&w, "s", "histogram", NULL);
        px_prom_histogram(&w, "s", NULL, 0, &h);
        char *out = finish_ok(&w);
        char want[64];
        snprintf(want, sizeof want, "\ns_sum %s\n", cases[i].want);
        ck_assert_msg(strstr(out, want) != NULL, "no line 's_sum %s' in:\n%s", cases[i].want, out);
        free(out);
    }
}

FT_TEST(6, prom_label_values_are_escaped, 2,
        "Label values go between double quotes, so a backslash, a double quote and a newline inside one must be "
        "escaped as \\\\, \\\" and \\n (escaping); unescaped, a quote ends the value early and the scrape fails")
{
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "px_errors_total", "counter", "Errors.");
    px_label l[] = {{"path", "C:\\dir \"x\""}, {"reason", "line one\nline two"}};
    px_prom_counter(&w, "px_errors_total", l, 2, 1);
    char *out = finish_ok(&w);
    ASSERT_TEXT(out,
                "# HELP px_errors_total Errors.\n"
                "# TYPE px_errors_total counter\n"
                "px_errors_total{path=\"C:\\\\dir \\\"x\\\"\",reason=\"line one\\nline two\"} 1\n");
    free(out);
}

FT_TEST(6, prom_help_text_is_escaped, 1,
        "HELP text escapes a backslash as \\\\ and a newline as \\n (escaping), but not double quotes: it is not "
        "quoted; an unescaped newline starts a line the scraper cannot parse")
{
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "m", "gauge", "a\\b \"quoted\"\nsecond");
    px_prom_gauge(&w, "m", NULL, 0, 1);
    char *out = finish_ok(&w);
    ASSERT_TEXT(out, "# HELP m a\\\\b \"quoted\"\\nsecond\n# TYPE m gauge\nm 1\n");
    free(out);
}

FT_TEST(6, prom_gauge_values_print_as_prometheus_reads_them, 2,
        "Gauge formatting: integers as plain digits (3, -2, 0, never 3.000000 or 1e+11), fractions in the shortest "
        "form that reads back equal (0.1, not 0.10000000000000001), and NaN, +Inf, -Inf spelled as Prometheus does "
        "(printf's nan and inf are not)")
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {3, "3"},        {-2, "-2"},   {0, "0"},           {-0.0, "0"},
        {0.5, "0.5"},    {0.1, "0.1"}, {-2.25, "-2.25"},   {123456789012, "123456789012"},
        {1e20, "1e+20"}, {NAN, "NaN"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"},
    };
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "g", "gauge", "Gauges.");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        px_prom_gauge(&w, "g", NULL, 0, cases[i].v);
    char *out = finish_ok(&w);
    const char *line = strstr(out, "\ng ");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(line != NULL, "the gauge line for %s is missing:\n%s", cases[i].text, out);
        line += 3;
        size_t n = strcspn(line, "\n");
        ck_assert_msg(n == strlen(cases[i].text) && strncmp(line, cases[i].text, n) == 0,
                      "a gauge of %s was written as '%.*s'", cases[i].text, (int)n, line);
        line = strstr(line, "\ng ");
    }
    free(out);
}

/* One misuse of the writer: the call that should be refused. */
typedef void misuse_fn(px_prom *w);
static void bad_family_name(px_prom *w) { px_prom_family(w, "2xx_total", "counter", "h"); }
static void bad_family_type(px_prom *w) { px_prom_family(w, "m", "summary", "h"); }
static void bad_metric_dash(px_prom *w) { px_prom_counter(w, "px-requests", NULL, 0, 1); }
static void bad_metric_empty(px_prom *w) { px_prom_gauge(w, "", NULL, 0, 1); }
static void bad_metric_null(px_prom *w) { px_prom_counter(w, NULL, NULL, 0, 1); }
static void bad_label_colon(px_prom *w) { px_prom_counter(w, "m", &(px_label){"end:point", "x"}, 1, 1); }
static void bad_label_digit(px_prom *w) { px_prom_gauge(w, "m", &(px_label){"0abc", "x"}, 1, 1); }
static void bad_label_space(px_prom *w) { px_prom_gauge(w, "m", &(px_label){"a b", "x"}, 1, 1); }
static void bad_label_null(px_prom *w) { px_prom_counter(w, "m", &(px_label){"a", NULL}, 1, 1); }
static void bad_label_le(px_prom *w)
{
    px_histogram h = {0};
    px_prom_histogram(w, "m", &(px_label){"le", "1"}, 1, &h);
}
static void bad_histogram_name(px_prom *w)
{
    px_histogram h = {0};
    px_prom_histogram(w, "m{x}", NULL, 0, &h);
}

FT_TEST(6, prom_invalid_names_are_refused_through_finish, 2,
        "Name checks: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names the same without ':', the type is "
        "counter, gauge or histogram, and a histogram's own labels may not use le; a refused call sets error = "
        "-EINVAL, writes nothing, makes every later call a no-op, and px_prom_finish() returns it with no text")
{
    static const struct {
        misuse_fn *fn;
        const char *what;
    } cases[] = {
        {bad_family_name, "a family name starting with a digit"},
        {bad_family_type, "the type 'summary'"},
        {bad_metric_dash, "a metric name with '-'"},
        {bad_metric_empty, "an empty metric name"},
        {bad_metric_null, "a NULL metric name"},
        {bad_label_colon, "a label name with ':'"},
        {bad_label_digit, "a label name starting with a digit"},
        {bad_label_space, "a label name with a space"},
        {bad_label_null, "a NULL label value"},
        {bad_label_le, "a histogram label named le"},
        {bad_histogram_name, "a histogram name with braces"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        px_prom w;
        px_prom_init(&w);
        px_prom_family(&w, "ok_total", "counter", "Fine.");
        px_prom_counter(&w, "ok_total", NULL, 0, 1);
        size_t before = w.len;
        ck_assert_msg(w.error == 0 && before > 0, "valid calls left error %d and %zu bytes", w.error, before);
        cases[i].fn(&w);
        ck_assert_msg(w.error == -EINVAL, "%s: error is %d, not -EINVAL", cases[i].what, w.error);
        ck_assert_msg(w.len == before, "%s: %zu bytes were written anyway", cases[i].what, w.len - before);
        px_prom_counter(&w, "ok_total", NULL, 0, 2);
        ck_assert_msg(w.len == before, "a valid call after %s still wrote: the first error must stop the writer",
                      cases[i].what);
        char *out = (char *)"untouched";
        size_t len = 99;
        int rc = px_prom_finish(&w, &out, &len);
        ck_assert_msg(rc == -EINVAL, "%s: px_prom_finish() returned %d, not -EINVAL", cases[i].what, rc);
        ck_assert_msg(out == NULL && len == 0, "%s: a failed px_prom_finish() still handed out text", cases[i].what);
        ck_assert_msg(w.buf == NULL && w.len == 0 && w.error == 0, "a failed finish must leave the writer empty");
    }
}

FT_TEST(6, prom_finish_hands_the_text_over_and_resets_the_writer, 1,
        "Ownership: px_prom_finish() gives the caller the buffer (an allocated \"\" when nothing was written) and "
        "leaves the writer empty, so its next text starts from nothing; px_prom_free() frees and empties it")
{
    px_prom w;
    px_prom_init(&w);
    char *out = NULL;
    size_t len = 99;
    ck_assert_int_eq(px_prom_finish(&w, &out, &len), 0);
    ck_assert_msg(out != NULL && len == 0 && out[0] == '\0', "nothing written must finish as an allocated \"\"");
    free(out);
    px_prom_family(&w, "a", "gauge", NULL);
    px_prom_gauge(&w, "a", NULL, 0, 1);
    out = finish_ok(&w);
    ASSERT_TEXT(out, "# TYPE a gauge\na 1\n");
    free(out);
    ck_assert_msg(w.buf == NULL && w.len == 0, "after px_prom_finish() the writer still points at the text");
    px_prom_family(&w, "b", "gauge", NULL);
    px_prom_gauge(&w, "b", NULL, 0, 2);
    out = finish_ok(&w);
    ASSERT_TEXT(out, "# TYPE b gauge\nb 2\n");
    free(out);
    px_prom_family(&w, "c", "gauge", NULL);
    px_prom_free(&w);
    ck_assert_msg(w.buf == NULL && w.len == 0 && w.error == 0, "px_prom_free() must leave an empty writer");
}

FT_TEST(6, prom_renders_thousands_of_series_whole, 2,
        "A growable buffer: reserve room for the bytes and the NUL after them before each append, grow by doubling, "
        "and keep the old text when moving it (realloc); 5000 series must come out whole, line by line, in order")
{
    enum { SERIES = 5000, HISTOGRAMS = 200 };
    px_prom w;
    px_prom_init(&w);
    px_prom_family(&w, "px_requests_total", "counter", "Requests.");
    for (int i = 0; i < SERIES; i++) {
        char endpoint[32];
        snprintf(endpoint, sizeof endpoint, "10.0.%d.%d:80", i / 256, i % 256);
        px_label l[] = {{"endpoint", endpoint}, {"status", i % 3 ? "2xx" : "5xx"}};
        px_prom_counter(&w, "px_requests_total", l, 2, (uint64_t)i * 7919);
    }
    px_prom_family(&w, "px_latency_ms", "histogram", "Latency.");
    px_histogram h = {0};
    for (int i = 0; i < HISTOGRAMS; i++) {
        px_histogram_observe(&h, (uint64_t)i * 997 * 1000);
        char endpoint[32];
        snprintf(endpoint, sizeof endpoint, "10.1.0.%d:80", i);
        px_prom_histogram(&w, "px_latency_ms", &(px_label){"endpoint", endpoint}, 1, &h);
    }
    char *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(px_prom_finish(&w, &out, &len), 0);
    size_t lines = check_exposition(out, len);
    ck_assert_uint_eq(lines, 2 + SERIES + 2 + HISTOGRAMS * (PX_HISTOGRAM_BUCKETS + 2));
    const char *line = strchr(strchr(out, '\n') + 1, '\n') + 1;
    for (int i = 0; i < SERIES; i++) {
        char want[128];
        int n = snprintf(want, sizeof want, "px_requests_total{endpoint=\"10.0.%d.%d:80\",status=\"%s\"} %llu\n", i / 256,
                         i % 256, i % 3 ? "2xx" : "5xx", (unsigned long long)i * 7919);
        ck_assert_msg(strncmp(line, want, (size_t)n) == 0, "series %d is not '%.*s'", i, n - 1, want);
        line += n;
    }
    ck_assert_msg(strstr(line, "px_latency_ms_count{endpoint=\"10.1.0.199:80\"} 200\n") != NULL,
                  "the last histogram's _count is missing: the text was cut");
    free(out);
}
