/*
 * Chapter 08 demo: the table, one row a second. The clients' figures come from the demo's own counts; the
 * backends' from two readings of the proxy's /metrics a second apart: a counter's difference is what happened in
 * that second, and so is the difference of two cumulative histograms, bucket by bucket, from which the second's p99
 * is read. That is how Prometheus computes rate() and histogram_quantile() over a window.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <stdio.h>

static int64_t t_load;       /* when the clients started: the seconds are counted from there */
static int second;           /* rows printed so far */
static proxy_metrics m_prev; /* the page as read for the previous row */
static load_counts c_prev;   /* the clients' counts then */

int table_second(void) { return second; }
const proxy_metrics *table_metrics(void) { return &m_prev; }

void table_start(void)
{
    if (!metrics_read(&m_prev))
        die("px-proxy's /metrics did not answer 200");
    load_start();
    t_load = now_ns();
}

/* The columns: the clients' 30 characters, then 23 for each backend. */
void table_header(void)
{
    printf("   %s%-27s", paint(C_BOLD), "              clients");
    for (int i = 0; i < DEMO_BACKENDS; i++) {
        char name[32];
        snprintf(name, sizeof name, "| backend %d :%u", i + 1, backend_port(i));
        printf("%-23s", name);
    }
    printf("%s\n   %s time  req/s   ok %%    p99 ", paint(C_RESET), paint(C_BOLD));
    for (int i = 0; i < DEMO_BACKENDS; i++)
        printf("| share    p99 ewma    ");
    printf("%s\n", paint(C_RESET));
}

static const char *ms_text(double ms, char *buf, size_t cap)
{
    if (ms <= 0)
        snprintf(buf, cap, "-");
    else if (ms > (double)px_histogram_bounds_ms[PX_HISTOGRAM_BUCKETS - 2])
        snprintf(buf, cap, ">50 s");
    else
        snprintf(buf, cap, "%.0f ms", ms);
    return buf;
}

static void print_row(const row *r)
{
    char a[16], b[16];
    printf("   %3d s %6.0f %s%6.2f%s %6s ", second, r->rate, paint(r->failed ? C_RED : ""), r->ok_pct,
           paint(r->failed ? C_RESET : ""), ms_text((double)r->client_p99, a, sizeof a));
    for (int i = 0; i < DEMO_BACKENDS; i++) {
        const char *c = !r->available[i] ? C_RED : r->p99[i] >= 100 ? C_YELLOW : "";
        printf("| %s%4.0f%% %6s %-7s%s ", paint(c), r->share[i], ms_text((double)r->p99[i], a, sizeof a),
               r->available[i] ? ms_text(r->ewma_ms[i], b, sizeof b) : "ejected", paint(*c ? C_RESET : ""));
    }
    printf("\n");
}

/* The clients' p99 over the second: the difference of two histograms is the histogram of the second. */
static uint64_t client_p99(const px_histogram *before, const px_histogram *after)
{
    px_histogram d = {.count = after->count - before->count};
    for (int i = 0; i < PX_HISTOGRAM_BUCKETS; i++)
        d.counts[i] = after->counts[i] - before->counts[i];
    return px_histogram_quantile_ms(&d, 0.99);
}

/* Runs the clients to the end of the next second, then reads /metrics and prints that second's row. */
row table_tick(void)
{
    int64_t target = t_load + (int64_t)(second + 1) * 1000000000;
    while (now_ns() < target) {
        if (interrupted)
            die("interrupted: stopping the clients, the proxy and the backends");
        load_poll(target);
        proxy_output_pump();
    }
    second++;
    proxy_metrics m;
    const load_counts *c = load_counts_now();
    if (!metrics_read(&m)) {
        /* No row and no new reading: the next row's backend figures cover two seconds (a share and a p99 are still
         * right over two), its clients' figures one. */
        printf("   %3d s  (/metrics did not answer within 2 s)\n", second);
        c_prev = *c;
        return (row){.stale = true};
    }
    row r = {.failed = (c->failed - c_prev.failed) + (c->dropped - c_prev.dropped)};
    uint64_t ok = c->ok - c_prev.ok, all = ok + r.failed;
    r.rate = (double)all;
    r.ok_pct = all ? 100.0 * (double)ok / (double)all : 100.0;
    r.client_p99 = client_p99(&c_prev.latency, &c->latency);
    double sent = 0;
    for (int i = 0; i < DEMO_BACKENDS; i++)
        sent += m.ep[i].requests - m_prev.ep[i].requests;
    for (int i = 0; i < DEMO_BACKENDS; i++) {
        r.share[i] = sent > 0 ? 100.0 * (m.ep[i].requests - m_prev.ep[i].requests) / sent : 0;
        r.p99[i] = p99_between(&m_prev.ep[i], &m.ep[i]);
        r.available[i] = !m.ep[i].seen || m.ep[i].available > 0;
        r.ewma_ms[i] = m.ep[i].ewma_ms;
    }
    print_row(&r);
    m_prev = m;
    c_prev = *c;
    return r;
}
