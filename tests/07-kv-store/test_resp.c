/*
 * Chapter 07, part 5: the RESP2 parser and reply writers (resp.h), tested on bytes alone — no socket. The stream
 * is cut at every byte, many commands come in one buffer, and hostile headers must be refused without reserving
 * what they claim.
 */
#include "ferrite_test.h"
#include "resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_PART(5, "the RESP server");

/* The arguments of a parsed command joined as "arg|arg|arg", for comparing with what was sent. */
static void joined(const kv_resp_cmd *cmd, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cmd->argc; i++) {
        ck_assert_msg(cmd->argv[i][cmd->lens[i]] == '\0', "argument %zu is not followed by a NUL (resp.h)", i);
        ck_assert_uint_lt(n + cmd->lens[i] + 2, cap);
        if (i > 0)
            out[n++] = '|';
        memcpy(out + n, cmd->argv[i], cmd->lens[i]);
        n += cmd->lens[i];
        out[n] = '\0';
    }
}

/*
 * Feeds @p len bytes of @p data in pieces of @p piece bytes (0: all at once), collecting each command as it
 * completes into @p out ("a|b;c|d;"). Returns the status of the last call.
 */
static kv_status feed(kv_resp_parser *p, const char *data, size_t len, size_t piece, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t at = 0; at < len;) {
        size_t chunk = piece == 0 || len - at < piece ? len - at : piece;
        size_t pos = 0;
        while (pos < chunk) {
            kv_resp_cmd cmd;
            size_t used = 0;
            kv_status st = kv_resp_parse(p, data + at + pos, chunk - pos, &used, &cmd);
            if (st != KV_OK)
                return st;
            ck_assert_msg(used <= chunk - pos, "kv_resp_parse() says it used %zu bytes of %zu", used, chunk - pos);
            pos += used;
            if (cmd.argc == 0) {
                ck_assert_msg(pos == chunk, "no command, yet %zu bytes of the piece were left unused", chunk - pos);
                break;
            }
            char one[4096];
            joined(&cmd, one, sizeof one);
            n += (size_t)snprintf(out + n, cap - n, "%s;", one);
            ck_assert_uint_lt(n, cap);
        }
        at += chunk;
    }
    return KV_OK;
}

static const char STREAM[] =
    "*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$7\r\na\r\nb\r\nc\r\n" /* CRLF inside a bulk string */
    "PING\r\n"
    "\r\n" /* an empty inline line: nothing to run */
    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
    "set  k2 \t v2\n" /* inline: runs of spaces and tabs, a bare LF */
    "*1\r\n$4\r\nPING\r\n";
static const char WANT[] = "SET|key:1|a\r\nb\r\nc;PING;ECHO|;set|k2|v2;PING;";

FT_TEST(5, resp_parses_arrays_and_inline_commands, 2,
        "RESP framing: a request is an array of length-prefixed bulk strings ('*N', then '$len' CRLF bytes CRLF), "
        "or an inline line split at spaces; a bulk string may hold CR and LF, since its length, not a delimiter, "
        "says where it ends")
{
    kv_resp_parser p;
    kv_resp_parser_init(&p, 0, 0);
    char got[4096];
    ck_assert_int_eq(feed(&p, STREAM, sizeof STREAM - 1, 0, got, sizeof got), KV_OK);
    ck_assert_str_eq(got, WANT);
    kv_resp_parser_free(&p);
}

FT_TEST(5, resp_command_cut_at_every_byte_parses_the_same, 3,
        "Fragmentation: TCP delivers bytes, not messages. Keep the unfinished header line and the arguments "
        "received so far in the parser between calls, and resume exactly where the last byte left off")
{
    for (size_t piece = 1; piece <= 7; piece++) {
        kv_resp_parser p;
        kv_resp_parser_init(&p, 0, 0);
        char got[4096];
        ck_assert_int_eq(feed(&p, STREAM, sizeof STREAM - 1, piece, got, sizeof got), KV_OK);
        ck_assert_msg(strcmp(got, WANT) == 0, "fed %zu byte(s) at a time: got '%s'", piece, got);
        kv_resp_parser_free(&p);
    }
    /* two pieces, cut at every position */
    for (size_t cut = 1; cut < sizeof STREAM - 1; cut++) {
        kv_resp_parser p;
        kv_resp_parser_init(&p, 0, 0);
        char a[4096], b[4096], both[8192];
        ck_assert_int_eq(feed(&p, STREAM, cut, 0, a, sizeof a), KV_OK);
        ck_assert_int_eq(feed(&p, STREAM + cut, sizeof STREAM - 1 - cut, 0, b, sizeof b), KV_OK);
        snprintf(both, sizeof both, "%s%s", a, b);
        ck_assert_msg(strcmp(both, WANT) == 0, "cut after byte %zu: got '%s'", cut, both);
        kv_resp_parser_free(&p);
    }
}

FT_TEST(5, resp_pipelined_commands_come_out_one_at_a_time_in_order, 2,
        "Pipelining: one read may hold many commands. Stop after each whole command and report the bytes used, so "
        "the caller runs it before parsing the next; replies then leave in the order the commands came")
{
    size_t cap = 1000 * 40, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_ne(buf, NULL);
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(buf + len, cap - len, "*2\r\n$3\r\nGET\r\n$%d\r\nk%d\r\n", i < 10 ? 2 : i < 100 ? 3 : 4, i);
    kv_resp_parser p;
    kv_resp_parser_init(&p, 0, 0);
    size_t pos = 0;
    for (int i = 0; i < 1000; i++) {
        kv_resp_cmd cmd;
        size_t used;
        ck_assert_int_eq(kv_resp_parse(&p, buf + pos, len - pos, &used, &cmd), KV_OK);
        ck_assert_msg(cmd.argc == 2, "command %d: argc %zu (did the parser run past the end of a command?)", i, cmd.argc);
        char want[16];
        snprintf(want, sizeof want, "k%d", i);
        ck_assert_uint_eq(cmd.lens[1], strlen(want));
        ck_assert(memcmp(cmd.argv[1], want, cmd.lens[1]) == 0);
        pos += used;
    }
    ck_assert_uint_eq(pos, len);
    kv_resp_parser_free(&p);
    free(buf);
}

/* Feeds @p text whole to a parser limited to 1 KiB bulk strings and 8 arguments; expects a protocol error whose
 * reason contains @p reason. */
static void expect_error(const char *text, size_t len, const char *reason)
{
    kv_resp_parser p;
    kv_resp_parser_init(&p, 1024, 8);
    char got[8192];
    kv_status st = feed(&p, text, len, 0, got, sizeof got);
    ck_assert_msg(st == KV_INVALID, "'%.40s...' was accepted (status %d, commands '%s'): it is a protocol error", text,
                  (int)st, got);
    ck_assert_msg(p.error != NULL && strstr(p.error, reason) != NULL, "'%.40s': reason '%s', want one with '%s'", text,
                  p.error ? p.error : "(none)", reason);
    ck_assert_msg(strncmp(p.error, "Protocol error: ", 16) == 0, "the reason should start as redis's: 'Protocol error: '");
    kv_resp_parser_free(&p);
}

FT_TEST(5, resp_hostile_lengths_are_protocol_errors, 3,
        "Never trust a length on the wire: a bulk length over the limit, a count over the limit, a negative or "
        "non-numeric length, a header without its CRLF or a bulk string not followed by CRLF is a protocol error "
        "(redis: 'Protocol error: invalid bulk length'), and the connection cannot go on")
{
    expect_error("*1\r\n$1025\r\n", 11, "invalid bulk length");
    expect_error("*9\r\n", 4, "invalid multibulk length");
    expect_error("*1\r\n$-5\r\n", 9, "invalid bulk length");
    expect_error("*-2\r\n", 5, "invalid multibulk length");
    expect_error("*abc\r\n", 6, "invalid multibulk length");
    expect_error("*1\r\n$3x\r\nabc\r\n", 14, "invalid bulk length");
    expect_error("*1\r\n$99999999999999999999999\r\n", 30, "invalid bulk length");
    expect_error("*1\r\n$3\r\nabcXY", 13, "CRLF");
    expect_error("*2\r\n$3\r\nGET\r\n:1\r\n", 17, "expected '$'");
    size_t big = 70 * 1024;
    char *line = malloc(big + 16);
    ck_assert_ptr_ne(line, NULL);
    memcpy(line, "*1\r\n$", 5);
    memset(line + 5, '1', big);
    expect_error(line, big + 5, "too big");
    memset(line, 'a', big);
    expect_error(line, big, "too big inline");
    free(line);
}

FT_TEST(5, resp_claimed_sizes_are_not_reserved_up_front, 2,
        "A length is a claim: '*1048576' or '$536870000' followed by nothing must cost a few bytes, not the memory "
        "they announce; grow argument storage with the bytes that actually arrive")
{
    kv_resp_parser p;
    kv_resp_parser_init(&p, 0, 0); /* the defaults: 512 MiB, 1 Mi arguments */
    static const char head[] = "*1048576\r\n$536870000\r\nabc";
    kv_resp_cmd cmd;
    size_t used;
    ck_assert_int_eq(kv_resp_parse(&p, head, sizeof head - 1, &used, &cmd), KV_OK);
    ck_assert_uint_eq(cmd.argc, 0);
    ck_assert_uint_eq(used, sizeof head - 1);
    ck_assert_msg(p.args.cap < (1u << 20) && p.slots < 1024,
                  "after a header claiming 1 Mi arguments of 512 MiB and 3 bytes of data, the parser holds %zu bytes "
                  "and %zu argument slots: it reserved what the client claimed",
                  p.args.cap, p.slots);
    kv_resp_parser_free(&p);
}

FT_TEST(5, resp_reply_writers_write_redis_bytes, 2,
        "RESP replies: '+OK', '-ERR ...', ':42', '$3' CRLF 'abc' CRLF, the nil bulk '$-1' and the nil array '*-1', "
        "each ending in CRLF; an error text must stay on one line")
{
    kv_buf out = {0};
    ck_assert_int_eq(kv_resp_simple(&out, "OK"), KV_OK);
    ck_assert_int_eq(kv_resp_error(&out, "ERR bad\r\nthing"), KV_OK);
    ck_assert_int_eq(kv_resp_integer(&out, -42), KV_OK);
    ck_assert_int_eq(kv_resp_bulk(&out, "a\r\nb", 4), KV_OK);
    ck_assert_int_eq(kv_resp_bulk(&out, NULL, 0), KV_OK);
    ck_assert_int_eq(kv_resp_nil(&out), KV_OK);
    ck_assert_int_eq(kv_resp_array(&out, 2), KV_OK);
    ck_assert_int_eq(kv_resp_array(&out, -1), KV_OK);
    static const char want[] = "+OK\r\n-ERR bad  thing\r\n:-42\r\n$4\r\na\r\nb\r\n$0\r\n\r\n$-1\r\n*2\r\n*-1\r\n";
    ck_assert_uint_eq(out.len, sizeof want - 1);
    ck_assert(memcmp(out.data, want, out.len) == 0);
    kv_buf_free(&out);
}
