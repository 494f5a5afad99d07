/*
 * px-proxy — the chapter's proxy as a program.
 *
 *   px-proxy --endpoints FILE [--listen IP:PORT] [--admin IP:PORT] [--mode tcp|http]
 *            [--balancer round-robin|least-loaded|p2c] [--relay copy|splice] [--connect-timeout-ms MS]
 *            [--request-timeout-ms MS] [--health-interval-ms MS] [--max-failures N] [--retry-ratio R]
 *            [--drain-ms MS] [--seed N] [--quiet]
 *            [--tls-in-ca F --tls-in-cert F --tls-in-key F [--tls-in-peer NAME]]
 *            [--tls-out-ca F --tls-out-cert F --tls-out-key F [--tls-out-peer NAME]]
 *
 * The listen address defaults to 127.0.0.1:0 (any free port). The first line on stdout is always
 * "listening on IP:PORT" followed by " admin IP:PORT" when --admin is given, so a test or a script can read the ports
 * chosen. SIGHUP reads the endpoints file again (a bad file is refused and the old endpoints stay); SIGTERM or SIGINT
 * drains and exits 0.
 *
 * This file is given (not one of the chapter's `sources`, and not in `given` either: it holds a main(), so it is a
 * program of its own): `make` links it with the chapter's sources into build/<impl>/<variant>-<cc>/08-proxy/px-proxy.
 */
#define _GNU_SOURCE
#include "proxy.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: px-proxy --endpoints FILE [--listen IP:PORT] [--admin IP:PORT] [--mode tcp|http]\n"
            "                [--balancer round-robin|least-loaded|p2c] [--relay copy|splice]\n"
            "                [--connect-timeout-ms MS] [--request-timeout-ms MS] [--health-interval-ms MS]\n"
            "                [--max-failures N] [--retry-ratio R] [--drain-ms MS] [--seed N] [--quiet]\n"
            "                [--tls-in-ca F --tls-in-cert F --tls-in-key F [--tls-in-peer NAME]]\n"
            "                [--tls-out-ca F --tls-out-cert F --tls-out-key F [--tls-out-peer NAME]]\n");
    exit(2);
}

/* A whole number from min to max; exits on anything else. */
static unsigned long long parse_number(const char *opt, const char *text, unsigned long long min, unsigned long long max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || end == text || text[0] == '-' || errno || v < min || v > max) {
        fprintf(stderr, "px-proxy: %s wants a number from %llu to %llu, not '%s'\n", opt, min, max, text);
        exit(2);
    }
    return v;
}

static double parse_ratio(const char *opt, const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end != '\0' || end == text || errno || !(v >= 0.0 && v <= 10.0)) {
        fprintf(stderr, "px-proxy: %s wants a ratio from 0 to 10, not '%s'\n", opt, text);
        exit(2);
    }
    return v;
}

/* Options that set one field of a TLS side: "--tls-in-ca" and the like. */
static bool tls_option(const char *a, const char *v, px_options *o)
{
    px_tls_side *side = !strncmp(a, "--tls-in-", 9) ? &o->tls_in : !strncmp(a, "--tls-out-", 10) ? &o->tls_out : NULL;
    if (side == NULL)
        return false;
    const char *what = strchr(a + 6, '-') + 1;
    if (!strcmp(what, "ca"))
        side->ca_file = v;
    else if (!strcmp(what, "cert"))
        side->cert_file = v;
    else if (!strcmp(what, "key"))
        side->key_file = v;
    else if (!strcmp(what, "peer"))
        side->peer_identity = v;
    else
        return false;
    return true;
}

int main(int argc, char **argv)
{
    /* A write or splice into a socket the peer has reset raises SIGPIPE, which would kill the proxy and every
     * connection in it: ignored, the call fails with EPIPE and only that connection ends. */
    signal(SIGPIPE, SIG_IGN);
    px_options o = PX_OPTIONS_DEFAULTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet")) {
            o.quiet = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--endpoints"))
            o.endpoints_file = v;
        else if (!strcmp(a, "--listen"))
            o.listen = v;
        else if (!strcmp(a, "--admin"))
            o.admin = v;
        else if (!strcmp(a, "--mode") && (!strcmp(v, "tcp") || !strcmp(v, "http")))
            o.mode = !strcmp(v, "tcp") ? PX_MODE_TCP : PX_MODE_HTTP;
        else if (!strcmp(a, "--balancer")) {
            if (px_balancer_kind_parse(v, &o.balancer) < 0) {
                fprintf(stderr, "px-proxy: --balancer is round-robin, least-loaded or p2c, not '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--relay") && (!strcmp(v, "copy") || !strcmp(v, "splice")))
            o.relay = !strcmp(v, "copy") ? PX_RELAY_COPY : PX_RELAY_SPLICE;
        else if (!strcmp(a, "--connect-timeout-ms"))
            o.connect_timeout_ms = parse_number(a, v, 1, INT_MAX);
        else if (!strcmp(a, "--request-timeout-ms"))
            o.request_timeout_ms = parse_number(a, v, 1, INT_MAX);
        else if (!strcmp(a, "--health-interval-ms"))
            o.health_interval_ms = parse_number(a, v, 0, INT_MAX);
        else if (!strcmp(a, "--max-failures"))
            o.max_failures = (uint32_t)parse_number(a, v, 1, 1000);
        else if (!strcmp(a, "--retry-ratio"))
            o.retry_ratio = parse_ratio(a, v);
        else if (!strcmp(a, "--drain-ms"))
            o.drain_ms = parse_number(a, v, 1, INT_MAX);
        else if (!strcmp(a, "--seed"))
            o.seed = parse_number(a, v, 1, ULLONG_MAX);
        else if (!tls_option(a, v, &o))
            usage();
    }
    if (o.endpoints_file == NULL)
        usage();

    char err[512] = "";
    px_proxy *p;
    int rc = px_proxy_create(&o, &p, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "px-proxy: %s\n", err[0] ? err : strerror(-rc));
        return 1;
    }
    uint16_t port, admin;
    px_proxy_ports(p, &port, &admin);
    if (o.admin != NULL)
        printf("listening on 127.0.0.1:%u admin 127.0.0.1:%u\n", port, admin);
    else
        printf("listening on 127.0.0.1:%u\n", port);
    fflush(stdout);
    rc = px_proxy_run(p);
    px_proxy_destroy(p);
    if (rc < 0) {
        fprintf(stderr, "px-proxy: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
