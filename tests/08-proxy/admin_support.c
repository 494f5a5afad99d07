/* Chapter 08 tests, part 6: admin requests and a scrape checker (admin_support.h says what each is for). */
#define _GNU_SOURCE
#include "admin_support.h"
#include "support.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- one admin request ---- */

void admin_request(uint16_t port, const char *request, admin_reply *out, int timeout_ms)
{
    *out = (admin_reply){0};
    int fd = client_connect(port);
    ck_assert_msg(client_send(fd, request, strlen(request), timeout_ms), "the admin port did not take the request");
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    size_t cap = 4096;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (out->len + 1 == cap) {
            buf = realloc(buf, cap *= 2);
            ck_assert_ptr_nonnull(buf);
        }
        uint64_t now = ft_now_ms();
        struct pollfd pf = {fd, POLLIN, 0};
        int ready = now < deadline ? poll(&pf, 1, (int)(deadline - now)) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        ck_assert_msg(ready > 0,
                      "the admin port did not finish its answer and close within %d ms (%zu bytes so far): an "
                      "admin connection answers one request and closes (Connection: close)",
                      timeout_ms, out->len);
        ssize_t r = recv(fd, buf + out->len, cap - 1 - out->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            out->closed = r == 0;
            break;
        }
        out->len += (size_t)r;
    }
    close(fd);
    buf[out->len] = '\0';
    out->text = buf;
    out->body = "";
    const char *end = strstr(buf, "\r\n\r\n");
    if (end != NULL && sscanf(buf, "HTTP/1.%*d %d", &out->status) == 1) {
        out->body = end + 4;
        out->body_len = out->len - (size_t)(out->body - buf);
    } else {
        out->status = 0;
    }
}

void admin_get(uint16_t port, const char *path, admin_reply *out, int timeout_ms)
{
    char request[512];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    admin_request(port, request, out, timeout_ms);
}

bool admin_header(const admin_reply *r, const char *name, char *out, size_t cap)
{
    if (r->text == NULL || r->status == 0)
        return false;
    size_t name_len = strlen(name);
    const char *line = strstr(r->text, "\r\n");
    while (line != NULL && line + 2 < r->body) {
        line += 2;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

void admin_reply_free(admin_reply *r)
{
    free(r->text);
    *r = (admin_reply){0};
}

char *admin_scrape(uint16_t port)
{
    admin_reply r;
    admin_get(port, "/metrics", &r, 10000);
    ck_assert_msg(r.status == 200, "GET /metrics answered %d, not 200:\n%.300s", r.status, r.text);
    char type[128] = "";
    ck_assert_msg(admin_header(&r, "Content-Type", type, sizeof type) && strncmp(type, "text/plain", 10) == 0 &&
                      strstr(type, "version=0.0.4") != NULL,
                  "GET /metrics has Content-Type '%s': Prometheus wants text/plain; version=0.0.4", type);
    char length[32] = "";
    ck_assert_msg(admin_header(&r, "Content-Length", length, sizeof length) && strtoul(length, NULL, 10) == r.body_len,
                  "GET /metrics says Content-Length '%s' but %zu bytes of body came", length, r.body_len);
    char *body = strdup(r.body);
    ck_assert_ptr_nonnull(body);
    admin_reply_free(&r);
    scrape_check(body);
    return body;
}

/* ---- a scrape checker ---- */

static bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool name_rest(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* The length of the metric name (colons allowed) or label name (not) at @p s; 0 when there is none. */
static size_t name_len(const char *s, bool colons)
{
    size_t n = 0;
    if (!(name_start(s[0]) || (colons && s[0] == ':')))
        return 0;
    while (name_rest(s[n]) || (colons && s[n] == ':'))
        n++;
    return n;
}

/* One sample line taken apart; pointers into the line. */
typedef struct sample {
    const char *name;
    size_t name_len;
    const char *labels; /* between the braces, "" when there are none */
    size_t labels_len;
    const char *le; /* the value of the last label when it is `le`, else NULL */
    size_t le_len;
    double value;
} sample;

/* Parses @p line (no newline) as a sample; returns NULL or what is wrong with it. */
static const char *parse_sample(const char *line, sample *s)
{
    *s = (sample){.name = line, .labels = ""};
    s->name_len = name_len(line, true);
    if (s->name_len == 0)
        return "a sample must start with a metric name";
    const char *p = line + s->name_len;
    if (*p == '{') {
        s->labels = ++p;
        while (*p != '}') {
            size_t n = name_len(p, false);
            if (n == 0 || p[n] != '=' || p[n + 1] != '"')
                return "a label must be name=\"value\"";
            bool is_le = n == 2 && strncmp(p, "le", 2) == 0;
            p += n + 2;
            const char *value = p;
            for (; *p != '"'; p++) {
                if (*p == '\0')
                    return "a label value is not closed by a double quote";
                if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
                    p++;
                else if (*p == '\\')
                    return "a label value holds an escape other than \\\\, \\\" and \\n";
            }
            s->le = is_le ? value : NULL;
            s->le_len = (size_t)(p - value);
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return "labels must be separated by commas and closed by }";
        }
        s->labels_len = (size_t)(p - s->labels);
        p++;
    }
    if (*p != ' ')
        return "one space must separate the sample from its value";
    p++;
    char *end;
    if (strcmp(p, "NaN") == 0 || strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0) {
        s->value = strcmp(p, "NaN") == 0 ? NAN : p[0] == '+' ? INFINITY : -INFINITY;
        return NULL;
    }
    s->value = strtod(p, &end);
    if (end == p || *end != '\0' || !(p[0] == '-' || (p[0] >= '0' && p[0] <= '9')))
        return "the value is not a number Prometheus reads";
    return NULL;
}

/* What the checker carries from line to line. */
typedef struct scrape_state {
    char seen[64][128]; /* families announced so far */
    int n_seen;
    char family[128]; /* the family whose block this is */
    char help[128];   /* the family of the last HELP line, waiting for its TYPE */
    char type[16];
    char series[512]; /* histogram: the labels (without le) of the series in progress */
    double last_le, last_count, inf_count;
    bool inf_seen;
} scrape_state;

static bool family_seen(const scrape_state *st, const char *name, size_t len)
{
    for (int i = 0; i < st->n_seen; i++)
        if (strlen(st->seen[i]) == len && strncmp(st->seen[i], name, len) == 0)
            return true;
    return false;
}

/* A histogram sample: buckets ascending and cumulative, +Inf last and equal to _count. */
static const char *check_histogram(scrape_state *st, const sample *s, const char *suffix)
{
    size_t key_len = s->labels_len;
    if (strcmp(suffix, "_bucket") == 0) {
        if (s->le == NULL)
            return "a histogram bucket's last label must be le";
        key_len = (size_t)(s->le - s->labels) - 4; /* le=" */
        if (key_len > 0)
            key_len--; /* the comma before le */
        double le = strncmp(s->le, "+Inf", 4) == 0 ? INFINITY : strtod(s->le, NULL);
        bool same = strlen(st->series) == key_len && strncmp(st->series, s->labels, key_len) == 0;
        if (!same || st->inf_seen) {
            snprintf(st->series, sizeof st->series, "%.*s", (int)key_len, s->labels);
            st->last_le = -INFINITY, st->last_count = 0, st->inf_seen = false;
        }
        if (!(le > st->last_le))
            return "histogram buckets must come in ascending le order";
        if (s->value < st->last_count)
            return "histogram buckets must be cumulative (each counts everything up to its le)";
        st->last_le = le, st->last_count = s->value;
        if (isinf(le))
            st->inf_seen = true, st->inf_count = s->value;
        return NULL;
    }
    bool same = strlen(st->series) == key_len && strncmp(st->series, s->labels, key_len) == 0;
    if (!same || !st->inf_seen)
        return "a histogram's _sum and _count must follow its buckets, which end with le=\"+Inf\"";
    if (strcmp(suffix, "_count") == 0 && s->value != st->inf_count)
        return "a histogram's _count must equal its +Inf bucket";
    return NULL;
}

static const char *check_line(scrape_state *st, const char *line)
{
    if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
        const char *name = line + 7;
        size_t n = name_len(name, true);
        if (n == 0 || name[n] != ' ' || n >= sizeof st->family)
            return "HELP and TYPE name a metric, then a space";
        if (family_seen(st, name, n))
            return "a family is announced twice: each must be one block";
        if (line[2] == 'H') {
            snprintf(st->help, sizeof st->help, "%.*s", (int)n, name);
            return NULL;
        }
        const char *type = name + n + 1;
        if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram"))
            return "TYPE is counter, gauge or histogram here";
        if (st->help[0] != '\0' && (strlen(st->help) != n || strncmp(st->help, name, n) != 0))
            return "a HELP line names another family than the TYPE line after it";
        st->help[0] = '\0';
        snprintf(st->family, sizeof st->family, "%.*s", (int)n, name);
        snprintf(st->seen[st->n_seen++ % 64], sizeof st->seen[0], "%s", st->family);
        snprintf(st->type, sizeof st->type, "%s", type);
        st->series[0] = '\0', st->inf_seen = false;
        return NULL;
    }
    if (line[0] == '#' || line[0] == '\0')
        return "no comments or blank lines are written";
    sample s;
    const char *err = parse_sample(line, &s);
    if (err != NULL)
        return err;
    size_t flen = strlen(st->family);
    if (flen == 0 || s.name_len < flen || strncmp(s.name, st->family, flen) != 0)
        return "a sample outside its family's block (after another family's TYPE, or before any)";
    char suffix[16];
    snprintf(suffix, sizeof suffix, "%.*s", (int)(s.name_len - flen), s.name + flen);
    if (strcmp(st->type, "histogram") == 0) {
        if (strcmp(suffix, "_bucket") && strcmp(suffix, "_sum") && strcmp(suffix, "_count"))
            return "a histogram's samples are name_bucket, name_sum and name_count";
        return check_histogram(st, &s, suffix);
    }
    return suffix[0] == '\0' ? NULL : "a counter's or gauge's sample carries its family's name exactly";
}

size_t scrape_check(const char *text)
{
    ck_assert_msg(text[0] == '\0' || text[strlen(text) - 1] == '\n', "the page's last line has no newline");
    scrape_state *st = calloc(1, sizeof *st);
    ck_assert_ptr_nonnull(st);
    size_t samples = 0, n = 1;
    char line[4096];
    for (const char *p = text; *p; n++) {
        const char *nl = strchr(p, '\n');
        ck_assert_uint_lt((size_t)(nl - p), sizeof line);
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        const char *err = check_line(st, line);
        ck_assert_msg(err == NULL, "/metrics line %zu is not valid Prometheus text: %s:\n%s", n, err, line);
        samples += line[0] != '#';
        p = nl + 1;
    }
    free(st);
    return samples;
}

/* The next sample line of family @p name (exactly, or with a suffix when @p any_suffix) at or after @p p. */
static bool find_sample(const char *text, const char *name, const char *labels, bool any_suffix, double *out)
{
    size_t n = strlen(name), ln = labels ? strlen(labels) : 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        sample s;
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        if (line[0] != '#' && parse_sample(line, &s) == NULL && s.name_len >= n && strncmp(s.name, name, n) == 0 &&
            (any_suffix || s.name_len == n)) {
            bool match = labels == NULL ? s.labels_len == 0
                         : any_suffix   ? s.labels_len >= ln && strncmp(s.labels, labels, ln) == 0
                                        : s.labels_len == ln && strncmp(s.labels, labels, ln) == 0;
            if (match) {
                if (out != NULL)
                    *out = s.value;
                return true;
            }
        }
        p += len + (nl != NULL);
    }
    return false;
}

bool scrape_value(const char *text, const char *name, const char *labels, double *out)
{
    return find_sample(text, name, labels, false, out);
}

double scrape_must(const char *text, const char *name, const char *labels)
{
    double v = 0;
    ck_assert_msg(scrape_value(text, name, labels, &v), "/metrics has no sample %s{%s}; the page begins:\n%.1500s", name,
                  labels ? labels : "", text);
    return v;
}

bool scrape_has_series(const char *text, const char *name, const char *labels)
{
    return find_sample(text, name, labels, true, NULL);
}
