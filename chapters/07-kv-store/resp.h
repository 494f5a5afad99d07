/**
 * @file resp.h
 * @brief Chapter 07, part 5: RESP2, the protocol redis speaks — an incremental request parser that trusts no
 *        length it is sent, and the reply writers.
 *
 * **Prefix and errors.** `kv_resp_`, as the rest of the chapter; fallible calls return a ::kv_status (kv.h).
 *
 * **Requests.** A client sends a command as an array of bulk strings, each one prefixed by its length:
 * ```
 * *3\r\n $3\r\n SET\r\n $1\r\n k\r\n $1\r\n v\r\n      (without the spaces)
 * ```
 * or, typed by hand in telnet, as one *inline* line: `SET k v\r\n` (the words split on spaces; a bare `\n` ends
 * the line too; an empty line is skipped). Bytes arrive as TCP delivers them: a command may be cut anywhere, at
 * every byte, and one read may hold many commands (a pipeline). kv_resp_parse() therefore takes whatever bytes
 * there are, keeps what it has not finished in the parser, and stops after each whole command so that the caller
 * runs it before reading the next: replies leave in the order the commands came.
 *
 * **Hostile input.** A length on the wire is a claim, not a fact. The parser never allocates what a header claims:
 * argument storage grows with the bytes that actually arrive, so "*1000000\r\n$536870912\r\n" followed by nothing
 * costs a few bytes, not half a gigabyte. A bulk length above `max_bulk`, an array count above `max_args`, a length
 * that is negative or not a number, a header or inline line longer than ::KV_RESP_MAX_LINE without its CRLF, or a
 * bulk string not followed by CRLF, is a protocol error: kv_resp_parse() answers ::KV_INVALID and leaves redis's
 * wording of the reason in kv_resp_parser::error ("Protocol error: invalid bulk length"). The server then sends
 * `-ERR` and that reason and closes the connection: after a framing error it cannot know where the next command
 * starts.
 *
 * **Replies.** The writers append one RESP2 value to a ::kv_buf: `+OK`, `-ERR ...`, `:42`, `$3\r\nabc`, the nil
 * bulk `$-1`, and an array header `*N` (the nil array `*-1` for N < 0) followed by its N elements.
 *
 * **Threads.** None: a parser and an output buffer belong to one connection, used by one thread at a time.
 */
#ifndef FERRITE_RESP_H
#define FERRITE_RESP_H

#include "kv.h"

#include <stddef.h>
#include <stdint.h>

/** redis's `proto-max-bulk-len`: the longest bulk string the parser accepts unless told less (512 MiB). */
#define KV_RESP_MAX_BULK (512u << 20)
/** The most arguments in one command unless told less (redis accepts more; no command here needs a million). */
#define KV_RESP_MAX_ARGS (1u << 20)
/** The longest header line (`*N`, `$N`) or inline command, without its CRLF: redis's PROTO_INLINE_MAX_SIZE. */
#define KV_RESP_MAX_LINE (64u << 10)

/**
 * @brief One parsed command: @p argc arguments, each @p lens[i] bytes at @p argv[i] (binary-safe, and followed by
 *        a NUL that is not counted, so that a number can be read with strtoll).
 * Borrowed from the parser that made it: valid until the next kv_resp_parse() or kv_resp_parser_free() on it.
 * @rust `struct Frame<'a> { args: Vec<&'a [u8]> }` borrowing the parser's buffer
 */
typedef struct kv_resp_cmd {
    size_t argc;                /**< at least 1 for a command */
    const uint8_t *const *argv; /**< argc pointers into the parser's storage */
    const size_t *lens;         /**< argc lengths */
} kv_resp_cmd;

/**
 * @brief An incremental parser of requests. Start it with kv_resp_parser_init(), free it with
 *        kv_resp_parser_free().
 * @rust `struct Parser { limits: Limits, state: State, buf: BytesMut }` (mini-redis's `Connection`, made
 *       incremental)
 */
typedef struct kv_resp_parser {
    size_t max_bulk;      /**< public: the longest bulk string accepted (set before the first parse) */
    size_t max_args;      /**< public: the most arguments in one command */
    const char *error;    /**< read-only: after ::KV_INVALID, the reason, as redis words it (a static string) */
    int state;            /**< private: what the next byte is expected to be */
    kv_buf line;          /**< private: a header or inline line not yet ended by its CRLF */
    kv_buf args;          /**< private: the bytes of the arguments received so far, each followed by a NUL */
    size_t *offsets;      /**< private: where each received argument starts in @ref args */
    size_t *lens;         /**< private: the length of each */
    const uint8_t **ptrs; /**< private: the pointers handed out in a ::kv_resp_cmd */
    size_t slots;         /**< private: entries allocated in offsets, lens and ptrs */
    size_t argc;          /**< private: arguments the current array announced */
    size_t have;          /**< private: arguments of it received whole */
    size_t bulk_len;      /**< private: the length of the bulk string being received */
    size_t bulk_got;      /**< private: its bytes received so far */
    char why[64];         /**< private: storage for an error that names the byte it found */
} kv_resp_parser;

/**
 * @brief A parser with nothing received, limited to @p max_bulk and @p max_args (0 for ::KV_RESP_MAX_BULK and
 *        ::KV_RESP_MAX_ARGS).
 * @param[out] p the parser; allocates nothing yet.
 * @param max_bulk the longest bulk string; 0 for the default.
 * @param max_args the most arguments; 0 for the default.
 * @rust `Parser::new(Limits { max_bulk, max_args })`
 */
void kv_resp_parser_init(kv_resp_parser *p, size_t max_bulk, size_t max_args);

/**
 * @brief Frees what the parser holds; any ::kv_resp_cmd it handed out becomes invalid.
 * @param p borrowed; left as after kv_resp_parser_init() with the same limits.
 * @rust `drop(parser)`
 */
void kv_resp_parser_free(kv_resp_parser *p);

/**
 * @brief Consumes bytes of the request stream until one command is whole, or until they run out.
 * @param p borrowed for the call; keeps an unfinished command between calls.
 * @param data borrowed for the call; may be NULL when @p len is 0.
 * @param len its length.
 * @param[out] used the bytes of @p data consumed (all of them unless a command ended before the last byte).
 * @param[out] cmd on ::KV_OK, the command when one was completed (cmd->argc > 0; call again with the rest of
 *             @p data for the next one), or argc 0 when every byte was consumed and no command is whole yet.
 * @return ::KV_OK; ::KV_INVALID (a protocol error: the reason is in p->error, and the stream cannot go on);
 *         ::KV_NO_MEMORY.
 * @rust ``fn parse(&mut self, buf: &[u8]) -> Result<(usize, Option<Frame<'_>>), ProtocolError>``
 */
FT_MUST_USE kv_status kv_resp_parse(kv_resp_parser *p, const void *data, size_t len, size_t *used, kv_resp_cmd *cmd);

/**
 * @brief Appends a simple string: `+` @p text CRLF.
 * @param out borrowed; grown as needed.
 * @param text borrowed; must hold no CR or LF.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Frame::Simple(String)` written with `write_frame`
 */
FT_MUST_USE kv_status kv_resp_simple(kv_buf *out, const char *text);

/**
 * @brief Appends an error: `-` @p text CRLF. @p text starts with its code, as redis's do ("ERR ...").
 * @param out borrowed; grown as needed.
 * @param text borrowed; a CR or LF in it is written as a space, so that the reply stays one line.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Frame::Error(String)`
 */
FT_MUST_USE kv_status kv_resp_error(kv_buf *out, const char *text);

/**
 * @brief Appends an integer: `:` @p value CRLF.
 * @param out borrowed; grown as needed.
 * @param value any value.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Frame::Integer(i64)`
 */
FT_MUST_USE kv_status kv_resp_integer(kv_buf *out, int64_t value);

/**
 * @brief Appends a bulk string: `$` length CRLF bytes CRLF.
 * @param out borrowed; grown as needed.
 * @param data borrowed; may be NULL when @p len is 0.
 * @param len its length.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Frame::Bulk(Bytes)`
 */
FT_MUST_USE kv_status kv_resp_bulk(kv_buf *out, const void *data, size_t len);

/**
 * @brief Appends the nil bulk string `$-1` CRLF (redis's "no value" for GET).
 * @param out borrowed; grown as needed.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Frame::Null`
 */
FT_MUST_USE kv_status kv_resp_nil(kv_buf *out);

/**
 * @brief Appends an array header `*` @p count CRLF; the caller appends the @p count elements after it. A negative
 *        count writes the nil array `*-1` (EXEC's answer when a watched key changed).
 * @param out borrowed; grown as needed.
 * @param count the elements to follow, or -1 for the nil array.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Frame::Array(Vec<Frame>)`, and `Frame::NullArray`
 */
FT_MUST_USE kv_status kv_resp_array(kv_buf *out, int64_t count);

/**
 * @brief Appends @p len raw bytes (an already encoded reply, for example) to @p out.
 * @param out borrowed; grown as needed.
 * @param data borrowed; may be NULL when @p len is 0. Must not point into @p out.
 * @param len its length.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Vec::extend_from_slice` with `try_reserve`
 */
FT_MUST_USE kv_status kv_resp_append(kv_buf *out, const void *data, size_t len);

#endif /* FERRITE_RESP_H */
