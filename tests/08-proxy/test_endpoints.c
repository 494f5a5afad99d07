/*
 * Chapter 08, part 2: the endpoints file. Every error must name its line, because an operator reading "bad
 * endpoints file" in a log of a proxy that refused a reload has nothing to fix.
 */
#define _POSIX_C_SOURCE 200809L

#include "endpoints.h"
#include "ferrite_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FT_PART(2, "discovery and balancing: round-robin, least-loaded, P2C over peak-EWMA");

/* Parses a NUL-terminated text; the list is the caller's to free. */
static int parse(const char *text, px_endpoint_addr **out, size_t *count, char *err, size_t err_len)
{
    return px_endpoints_parse(text, strlen(text), out, count, err, err_len);
}

/* Asserts that @p text fails with -EINVAL, allocates nothing, and that the message contains @p want. */
static void expect_error(const char *text, const char *want)
{
    px_endpoint_addr *list = (px_endpoint_addr *)&list; /* not NULL: the call must clear it */
    size_t count = 99;
    char err[160] = "";
    int rc = parse(text, &list, &count, err, sizeof err);
    ck_assert_msg(rc == -EINVAL, "parsing \"%s\" returned %d, not -EINVAL (%d)", text, rc, -EINVAL);
    ck_assert_msg(list == NULL && count == 0, "a failed parse of \"%s\" must leave out NULL and count 0", text);
    ck_assert_msg(strstr(err, want) != NULL, "parsing \"%s\": the message \"%s\" should contain \"%s\"", text, err, want);
}

static uint16_t port_of(const px_endpoint_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port); /* the family says which struct it is */
    return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);   /* as above */
}

FT_TEST(2, endpoints_parse_reads_ipv4_and_ipv6_in_canonical_form, 2,
        "Endpoints file: \"a.b.c.d:port\" fills a sockaddr_in, \"[v6]:port\" a sockaddr_in6, port in network order "
        "(htons), len the size of that struct, and text the canonical form from inet_ntop (\"[2001:db8::1]:80\", "
        "lower case, zeros compressed). Most likely: the port left in host order or the text copied as written.")
{
    px_endpoint_addr *list = NULL;
    size_t count = 0;
    char err[128] = "";
    int rc = parse("127.0.0.1:8080\n[::1]:9000\n[2001:DB8:0:0::1]:80\n", &list, &count, err, sizeof err);
    ck_assert_msg(rc == 0, "parse failed with %d: %s", rc, err);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(list[0].ss.ss_family, AF_INET);
    ck_assert_uint_eq(list[0].len, sizeof(struct sockaddr_in));
    ck_assert_uint_eq(port_of(&list[0]), 8080);
    ck_assert_uint_eq(ntohl(((struct sockaddr_in *)&list[0].ss)->sin_addr.s_addr), 0x7F000001u);
    ck_assert_str_eq(list[0].text, "127.0.0.1:8080");
    ck_assert_int_eq(list[1].ss.ss_family, AF_INET6);
    ck_assert_uint_eq(list[1].len, sizeof(struct sockaddr_in6));
    ck_assert_uint_eq(port_of(&list[1]), 9000);
    ck_assert_str_eq(list[1].text, "[::1]:9000");
    ck_assert_str_eq(list[2].text, "[2001:db8::1]:80");
    free(list);
}

FT_TEST(2, endpoints_parse_skips_comments_blank_lines_and_spaces, 2,
        "Endpoints file: cut each line at '#', trim spaces, tabs and '\\r' from both ends, skip what is then empty, "
        "and take the last line even without a final newline. Most likely: a comment after an address read as part "
        "of the port, or the last line dropped.")
{
    const char *text =
        "# payments\n"
        "\n"
        "   10.0.0.1:80   # the old one\n"
        "\t[::1]:81\r\n"
        "#10.0.0.9:99\n"
        "   \t \n"
        "10.0.0.2:82#no space before the comment\n"
        "10.0.0.3:83";
    px_endpoint_addr *list = NULL;
    size_t count = 0;
    char err[128] = "";
    int rc = parse(text, &list, &count, err, sizeof err);
    ck_assert_msg(rc == 0, "parse failed with %d: %s", rc, err);
    ck_assert_uint_eq(count, 4);
    ck_assert_str_eq(list[0].text, "10.0.0.1:80");
    ck_assert_str_eq(list[1].text, "[::1]:81");
    ck_assert_str_eq(list[2].text, "10.0.0.2:82");
    ck_assert_str_eq(list[3].text, "10.0.0.3:83");
    free(list);
}

FT_TEST(2, endpoints_parse_rejects_bad_ports_naming_the_line, 2,
        "Endpoints file: a port is 1 to 65535 in decimal digits; 0, 70000 and a 20-digit number are errors whose "
        "message starts \"line N:\" (count blank and comment lines too). Most likely: strtoul's value cast to "
        "uint16_t (70000 becomes 4464), or an overflow that wraps into range.")
{
    expect_error("10.0.0.1:80\n10.0.0.2:0\n", "line 2:");
    expect_error("# web\n10.0.0.1:80\n10.0.0.2:70000\n", "line 3: port 70000 is out of range");
    expect_error("10.0.0.2:65536", "line 1:");
    expect_error("\n\n\n10.0.0.2:18446744073709551696\n", "line 4:");
    expect_error("10.0.0.1\n", "line 1:");
    expect_error("10.0.0.1:\n", "line 1:");
    expect_error("[::1]\n", "line 1:");
    expect_error("[::1]:-1\n", "line 1:");
}

FT_TEST(2, endpoints_parse_rejects_text_after_the_port, 1,
        "Endpoints file: after the port only spaces and a '#' comment may follow. Most likely: the port read with "
        "atoi or strtoul without checking where the number ended, so \"80x\" or \"80 81\" passes as 80.")
{
    expect_error("127.0.0.1:80x\n", "line 1:");
    expect_error("127.0.0.1:8080\n127.0.0.1:80 81\n", "line 2:");
    expect_error("127.0.0.1:80:81\n", "line 1:");
    expect_error("[::1]:80]\n", "line 1:");
}

FT_TEST(2, endpoints_parse_rejects_names_and_malformed_addresses, 1,
        "Endpoints file: addresses are numeric only (inet_pton), IPv6 in brackets. Most likely: a resolver call "
        "(getaddrinfo would block the event loop), or an IPv6 address without brackets split at its last ':'.")
{
    expect_error("localhost:80\n", "line 1:");
    expect_error("10.0.0.1:80\n256.1.1.1:80\n", "line 2:");
    expect_error("1.2.3:80\n", "line 1:");
    expect_error("::1:80\n", "line 1:");
    expect_error("[::1:80\n", "line 1:");
    expect_error("[fe80::1%eth0]:80\n", "line 1:");
    expect_error("[]:80\n", "line 1:");
    /* A NUL byte inside the text (given by length) is not a character of any address. */
    px_endpoint_addr *list = NULL;
    size_t count = 0;
    char err[128] = "";
    ck_assert_int_eq(px_endpoints_parse("10.0.0.1:80\n10.0.\0.1:80\n", 24, &list, &count, err, sizeof err), -EINVAL);
    ck_assert_ptr_eq(list, NULL);
    ck_assert_msg(strstr(err, "line 2:") != NULL, "message: %s", err);
}

FT_TEST(2, endpoints_parse_rejects_duplicates_naming_both_lines, 2,
        "Endpoints file: the same address and port twice is an error naming both lines (one backend would get "
        "twice the traffic). Compare addresses, not texts: [::1] and [0:0::1] are one address. Most likely: no "
        "check at all, or a comparison of the text as written.")
{
    expect_error("127.0.0.1:8080\n10.0.0.1:1\n\n# c\n127.0.0.1:8080\n", "line 5:");
    expect_error("127.0.0.1:8080\n10.0.0.1:1\n\n# c\n127.0.0.1:8080\n", "line 1");
    expect_error("[::1]:80\n[0:0::1]:80\n", "line 2:");
    /* The same host on another port, and the same port on another host, are other endpoints. */
    px_endpoint_addr *list = NULL;
    size_t count = 0;
    ck_assert_int_eq(parse("127.0.0.1:80\n127.0.0.1:81\n127.0.0.2:80\n[::1]:80\n", &list, &count, NULL, 0), 0);
    ck_assert_uint_eq(count, 4);
    free(list);
}

FT_TEST(2, endpoints_empty_file_is_an_empty_list, 1,
        "Endpoints file: no addresses is a valid list (the proxy then answers 503), with out NULL and count 0. "
        "Most likely: -EINVAL for an empty list, or malloc(0) handed out.")
{
    const char *texts[] = {"", "\n\n", "# nothing here yet\n   \n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        px_endpoint_addr *list = (px_endpoint_addr *)&list;
        size_t count = 7;
        ck_assert_int_eq(parse(texts[i], &list, &count, NULL, 0), 0);
        ck_assert_ptr_eq(list, NULL);
        ck_assert_uint_eq(count, 0);
    }
}

FT_TEST(2, endpoint_addr_equal_compares_family_address_and_port, 1,
        "px_endpoint_addr_equal: same family, same address bytes, same port. Most likely: memcmp of whole "
        "sockaddr_storage (padding differs), or the port forgotten.")
{
    px_endpoint_addr *list = NULL;
    size_t count = 0;
    ck_assert_int_eq(parse("10.0.0.1:80\n10.0.0.1:81\n10.0.0.2:80\n[::ffff:10.0.0.1]:80\n", &list, &count, NULL, 0), 0);
    ck_assert_uint_eq(count, 4);
    px_endpoint_addr copy;
    memset(&copy, 0xA5, sizeof copy); /* other padding, same endpoint */
    copy.ss.ss_family = AF_INET;
    struct sockaddr_in *sin = (struct sockaddr_in *)&copy.ss; /* the family was just set to AF_INET */
    sin->sin_port = htons(80);
    sin->sin_addr.s_addr = htonl(0x0A000001u);
    ck_assert(px_endpoint_addr_equal(&list[0], &list[0]));
    ck_assert(px_endpoint_addr_equal(&list[0], &copy));
    ck_assert(!px_endpoint_addr_equal(&list[0], &list[1]));
    ck_assert(!px_endpoint_addr_equal(&list[0], &list[2]));
    ck_assert(!px_endpoint_addr_equal(&list[0], &list[3]));
    free(list);
}

FT_TEST(2, endpoints_load_reads_a_file_and_names_it_in_errors, 1,
        "px_endpoints_load: read the whole file (read() may return less than asked), parse it, and on failure say "
        "which file: -ENOENT with the path for a missing one, the path and the line for a bad one. Most likely: a "
        "single read() of a fixed size, or the errno lost.")
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/px-endpoints-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp(%s): %s", path, strerror(errno));
    /* Long enough (over 8 KiB) that one small read() cannot hold it. */
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_ne(f, NULL);
    for (int i = 0; i < 300; i++)
        fprintf(f, "# padding line %03d, long enough to push the addresses past one buffer\n", i);
    fprintf(f, "10.1.2.3:4000\n[::1]:4001\n");
    ck_assert_int_eq(fclose(f), 0);

    px_endpoint_addr *list = NULL;
    size_t count = 0;
    char err[600] = "";
    int rc = px_endpoints_load(path, &list, &count, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed with %d: %s", rc, err);
    ck_assert_uint_eq(count, 2);
    ck_assert_str_eq(list[0].text, "10.1.2.3:4000");
    ck_assert_str_eq(list[1].text, "[::1]:4001");
    free(list);

    f = fopen(path, "w");
    ck_assert_ptr_ne(f, NULL);
    fprintf(f, "10.1.2.3:4000\n\n10.1.2.3:99999\n");
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(px_endpoints_load(path, &list, &count, err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, path) != NULL && strstr(err, "line 3:") != NULL, "message: %s", err);

    unlink(path);
    ck_assert_int_eq(px_endpoints_load(path, &list, &count, err, sizeof err), -ENOENT);
    ck_assert_ptr_eq(list, NULL);
    ck_assert_msg(strstr(err, path) != NULL, "the message \"%s\" should name the file", err);
}
