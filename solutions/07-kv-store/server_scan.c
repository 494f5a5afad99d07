/*
 * Chapter 07, part 5: SCAN with its cursors and glob patterns, DBSIZE, and the commands that report on the server
 * (INFO, CONFIG GET, COMMAND), which redis-cli and redis-benchmark send when they start.
 */
#define _GNU_SOURCE
#include "resp.h"
#include "server_impl.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* redis's glob: '*' any run, '?' one byte, '[abc]', '[^a]', '[a-z]', '\' quotes the next byte. */
static bool glob_match(const uint8_t *p, size_t plen, const uint8_t *s, size_t slen)
{
    while (plen > 0) {
        if (*p == '*') {
            while (plen > 1 && p[1] == '*')
                p++, plen--;
            if (plen == 1)
                return true;
            for (size_t i = 0; i <= slen; i++)
                if (glob_match(p + 1, plen - 1, s + i, slen - i))
                    return true;
            return false;
        }
        if (slen == 0)
            return false;
        if (*p == '[') {
            size_t i = 1;
            bool negate = i < plen && p[i] == '^', hit = false;
            i += negate;
            for (; i < plen && p[i] != ']'; i++) {
                if (p[i] == '\\' && i + 1 < plen)
                    hit |= p[++i] == *s;
                else if (i + 2 < plen && p[i + 1] == '-' && p[i + 2] != ']') {
                    uint8_t lo = p[i] < p[i + 2] ? p[i] : p[i + 2], hi = p[i] < p[i + 2] ? p[i + 2] : p[i];
                    hit |= *s >= lo && *s <= hi;
                    i += 2;
                } else
                    hit |= p[i] == *s;
            }
            if (hit == negate)
                return false;
            p += i < plen ? i + 1 : i;
            plen -= i < plen ? i + 1 : i;
        } else {
            if (*p == '\\' && plen > 1)
                p++, plen--;
            if (*p != '?' && *p != *s)
                return false;
            p++, plen--;
        }
        s++, slen--;
    }
    return slen == 0;
}

/* What SCAN's store scan fills: the keys seen, each as a u32 length and its bytes, and how many. */
typedef struct scan_keys {
    kv_buf keys;
    size_t n;
    kv_status st;
} scan_keys;

static bool collect_key(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, void *ctx)
{
    (void)value, (void)value_len;
    scan_keys *k = ctx;
    uint32_t len = (uint32_t)key_len;
    if (kv_resp_append(&k->keys, &len, sizeof len) != KV_OK || kv_resp_append(&k->keys, key, key_len) != KV_OK) {
        k->st = KV_NO_MEMORY;
        return false;
    }
    k->n++;
    return true;
}

/* The reply to SCAN once the keys are read: the next cursor, then the matching keys among the first @p want. */
static kv_status scan_reply(kv_conn *c, const scan_keys *k, size_t want, const kv_resp_cmd *cmd, size_t match, kv_buf *out)
{
    uint64_t next = 0;
    const uint8_t *p = k->keys.data;
    size_t matched = 0;
    for (size_t i = 0; i < k->n; i++) { /* first pass: count the matches, find the key to resume from */
        uint32_t len;
        memcpy(&len, p, sizeof len);
        if (i == want) { /* one more key than asked for: the next call starts here */
            next = ++c->next_cursor;
            kv_cursor *slot = &c->cursors[next % KV_SERVER_SCAN_CURSORS];
            slot->id = next;
            if (kv_buf_set(&slot->key, p + sizeof len, len) != KV_OK)
                return KV_NO_MEMORY;
        } else if (match == 0 || glob_match(cmd->argv[match], cmd->lens[match], p + sizeof len, len))
            matched++;
        p += sizeof len + len;
    }
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRIu64, next);
    kv_status st = kv_resp_array(out, 2);
    if (st == KV_OK)
        st = kv_resp_bulk(out, text, (size_t)n);
    if (st == KV_OK)
        st = kv_resp_array(out, (int64_t)matched);
    p = k->keys.data;
    for (size_t i = 0; i < k->n && i < want && st == KV_OK; i++) {
        uint32_t len;
        memcpy(&len, p, sizeof len);
        if (match == 0 || glob_match(cmd->argv[match], cmd->lens[match], p + sizeof len, len))
            st = kv_resp_bulk(out, p + sizeof len, len);
        p += sizeof len + len;
    }
    return st;
}

/*
 * SCAN cursor [MATCH pattern] [COUNT n]. A cursor is a number the connection issued, standing for the key the
 * next call starts at (clients such as redis-cli --scan parse it as a number); "0" starts, and "0" back means done.
 */
kv_status kv_cmd_scan(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)t;
    size_t want = 10, match = 0;
    for (size_t i = 2; i < cmd->argc; i += 2) {
        int64_t n;
        if (i + 1 < cmd->argc && kv_server_arg_is(cmd, i, "MATCH"))
            match = i + 1;
        else if (i + 1 < cmd->argc && kv_server_arg_is(cmd, i, "COUNT") &&
                 kv_server_parse_int64(cmd->argv[i + 1], cmd->lens[i + 1], &n) && n >= 1 && n <= 100000)
            want = (size_t)n;
        else
            return kv_resp_error(out, "ERR syntax error");
    }
    int64_t id;
    const kv_buf *start = NULL;
    if (!kv_server_parse_int64(cmd->argv[1], cmd->lens[1], &id) || id < 0)
        return kv_resp_error(out, "ERR invalid cursor");
    if (id != 0) {
        const kv_cursor *slot = &c->cursors[(uint64_t)id % KV_SERVER_SCAN_CURSORS];
        if (slot->id != (uint64_t)id)
            return kv_resp_error(out, "ERR invalid cursor");
        start = &slot->key;
    }
    scan_keys k = {.st = KV_OK};
    kv_status st = kv_store_scan(c->srv->store, NULL, start ? start->data : NULL, start ? start->len : 0, NULL, 0, want + 1,
                                 collect_key, &k, NULL);
    if (st == KV_OK)
        st = k.st;
    st = st == KV_OK ? scan_reply(c, &k, want, cmd, match, out) : kv_server_reply_error(out, st);
    kv_buf_free(&k.keys);
    return st;
}

static bool count_key(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, void *ctx)
{
    (void)key, (void)key_len, (void)value, (void)value_len, (void)ctx;
    return true;
}

kv_status kv_cmd_dbsize(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd, (void)t;
    size_t n = 0;
    kv_status st = kv_store_scan(c->srv->store, NULL, NULL, 0, NULL, 0, 0, count_key, NULL, &n);
    return st == KV_OK ? kv_resp_integer(out, (int64_t)n) : kv_server_reply_error(out, st);
}

static const char *sync_name(kv_sync_policy p)
{
    return p == KV_SYNC_BATCH ? "batch" : p == KV_SYNC_NEVER ? "never" : "always";
}

/* INFO: redis's layout, "# Section" then "name:value" lines, with the store's own figures under Persistence. */
kv_status kv_cmd_info(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd, (void)t;
    kv_server *s = c->srv;
    kv_store_stats st = kv_store_stats_get(s->store);
    kv_server_stats ss = kv_server_stats_get(s);
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "# Server\r\nferrite_kv_version:1\r\nprocess_id:%ld\r\ntcp_port:%u\r\nuptime_in_seconds:%" PRIu64
                     "\r\n\r\n# Clients\r\nconnected_clients:%" PRIu64
                     "\r\nmaxclients:%zu\r\n\r\n# Stats\r\n"
                     "total_connections_received:%" PRIu64 "\r\nrejected_connections:%" PRIu64
                     "\r\ntotal_commands_processed:%" PRIu64 "\r\nprotocol_errors:%" PRIu64 "\r\nset_batches:%" PRIu64
                     "\r\nbatched_sets:%" PRIu64 "\r\ntransaction_conflicts:%" PRIu64
                     "\r\n\r\n# Persistence\r\nsync_policy:%s\r\nlast_seq:%" PRIu64 "\r\nwrites:%" PRIu64
                     "\r\nconflicts:%" PRIu64 "\r\nlog_syncs:%" PRIu64 "\r\nrecovered_records:%" PRIu64
                     "\r\nrecovery_us:%" PRIu64 "\r\nflushes:%" PRIu64 "\r\ncompactions:%" PRIu64
                     "\r\nversions_dropped:%" PRIu64 "\r\nsegments:%" PRIu64 "\r\nsegment_bytes:%" PRIu64
                     "\r\nmemtable_bytes:%" PRIu64 "\r\nuser_bytes:%" PRIu64 "\r\ndisk_bytes:%" PRIu64 "\r\n",
                     (long)getpid(), s->port, (kv_server_now_ms() - s->started_ms) / 1000, ss.clients, s->opt.max_clients,
                     ss.connections, ss.rejected, ss.commands, ss.protocol_errors, ss.batches, ss.batched_sets,
                     ss.conflicts, sync_name(s->opt.sync), st.last_seq, st.writes, st.conflicts, st.log_syncs,
                     st.recovered_records, st.recovery_us, st.flushes, st.compactions, st.versions_dropped, st.segments,
                     st.segment_bytes, st.memtable_bytes, st.user_bytes, st.disk_bytes);
    return kv_resp_bulk(out, text, n < (int)sizeof text ? (size_t)n : sizeof text - 1);
}

/* CONFIG GET: what redis-benchmark asks at start ("save", "appendonly"), answered as pairs; anything else is an
 * empty list, as redis answers a parameter it does not have. */
kv_status kv_cmd_config(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)t;
    if (!kv_server_arg_is(cmd, 1, "GET") || cmd->argc != 3)
        return kv_resp_error(out, "ERR only CONFIG GET parameter is supported");
    const char *value = kv_server_arg_is(cmd, 2, "save")          ? ""
                        : kv_server_arg_is(cmd, 2, "appendonly")  ? "yes"
                        : kv_server_arg_is(cmd, 2, "appendfsync") ? sync_name(c->srv->opt.sync)
                                                                  : NULL;
    if (value == NULL)
        return kv_resp_array(out, 0);
    kv_status st = kv_resp_array(out, 2);
    if (st == KV_OK)
        st = kv_resp_bulk(out, cmd->argv[2], cmd->lens[2]);
    return st == KV_OK ? kv_resp_bulk(out, value, strlen(value)) : st;
}

/* COMMAND and COMMAND DOCS, which redis-cli sends when it starts: an empty list says "no documentation". */
kv_status kv_cmd_command(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)c, (void)cmd, (void)t;
    return kv_resp_array(out, 0);
}
