/*
 * What the client driver's tests (part 6) talk to. Two kinds of peer:
 *
 * - a real server, started as a program: $KV_SERVER (part 5's kv-server) when the variable is set, else
 *   redis-server when it is installed, else the test is skipped with the reason. It listens on loopback only, keeps
 *   its files in the test's scratch directory, and is killed when the test's process ends, however it ends;
 * - a scripted peer, a thread of the test with a listening socket of its own, for what no real server does on
 *   demand: never answering, answering late, or losing the replies of one connection while the server behind it
 *   applies the commands. It speaks real RESP over real sockets; the driver cannot tell it from a server.
 */
#ifndef FERRITE_TEST_CLIENT_SUPPORT_07_H
#define FERRITE_TEST_CLIENT_SUPPORT_07_H

#include "ferrite_test.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/** A server program the test started. */
typedef struct cs_server {
    pid_t pid;      /**< 0 when it is not running */
    uint16_t port;  /**< loopback TCP port, the same across cs_server_restart() */
    bool durable;   /**< for redis-server: an append-only file synced on every write (kv-server always is) */
    bool is_redis;  /**< redis-server stands in for kv-server */
    char dir[4096]; /**< its data directory, in the test's scratch directory */
} cs_server;

/**
 * Starts a server on a fresh port and waits until it is up; skips the test (FT_SKIP) when there is
 * none to start. @p durable: what it acknowledged survives SIGKILL (needed to restart it and read back). "Up" means
 * it answers PING with +PONG: redis-server accepts connections while it loads its files, and answers -LOADING.
 */
void cs_server_start(cs_server *s, bool durable);
/** SIGKILL, then waits for the process to be gone: no clean shutdown, no last reply. */
void cs_server_kill(cs_server *s);
/** Starts the server again on the same port and directory (after cs_server_kill()) and waits until it accepts. */
void cs_server_restart(cs_server *s);
/** SIGTERM, waits (with a deadline, then SIGKILL). Safe on a server that is not running. */
void cs_server_stop(cs_server *s);

/** What a scripted peer does with the connections it accepts. */
typedef enum cs_peer_mode {
    CS_PEER_SILENT,     /**< reads every request and never answers */
    CS_PEER_ANSWER,     /**< answers each request at once (below) */
    CS_PEER_HOLD_FIRST, /**< like CS_PEER_ANSWER, but on its first connection holds the replies back until a second
                             request has arrived there, then sends both in order: a late reply to a timed-out request */
    CS_PEER_MUTE_FIRST, /**< a proxy to the server at `upstream`: the first connection's requests reach the server,
                             its replies are thrown away; later connections pass both ways */
} cs_peer_mode;

/*
 * CS_PEER_ANSWER's replies, by command name: INT -> :42, NIL -> $-1, ERR -> -ERR scripted failure, STATUS -> +OK,
 * ARR -> a nested array ["a", 7, ["b"]], anything else -> its last word as a bulk string ("GET k" -> "k").
 */

/** A scripted peer: a thread serving one listening socket on loopback. */
typedef struct cs_peer {
    cs_peer_mode mode;
    uint16_t port;     /**< where it listens */
    uint16_t upstream; /**< CS_PEER_MUTE_FIRST: the server's port */
    int listen_fd;
    int stop[2]; /**< a pipe: a byte written to stop[1] ends the thread */
    pthread_t thread;
    unsigned accepted; /**< connections accepted so far (read with __atomic_load_n) */
    unsigned requests; /**< requests read so far, all connections (read with __atomic_load_n) */
    bool gated;        /**< while true, the peer accepts connections but reads nothing from them, so that a
                            client's socket buffers fill and its writes are cut short (atomic) */
} cs_peer;

/** Starts @p p in @p mode on a fresh loopback port (@p upstream: CS_PEER_MUTE_FIRST's server, else 0). */
void cs_peer_start(cs_peer *p, cs_peer_mode mode, uint16_t upstream);
/** Like cs_peer_start(), with the peer's reading held back until cs_peer_open_gate(). */
void cs_peer_start_gated(cs_peer *p, cs_peer_mode mode);
/** Lets a gated peer read (and answer) from now on. */
void cs_peer_open_gate(cs_peer *p);
/** Stops the thread, closes every socket it had. */
void cs_peer_stop(cs_peer *p);

/** A loopback port that nothing listens on (bound, then closed), for refused connects. */
uint16_t cs_dead_port(void);
/** Open file descriptors of this process (entries of /proc/self/fd). */
int cs_count_fds(void);
/** Milliseconds on the monotonic clock. */
uint64_t cs_now_ms(void);

#endif
