/*
 * Part 4: the store's acknowledged-write contract after SIGKILL. A forked writer (two threads, a 4 KiB memtable, so
 * that it flushes and compacts all the time) reports each acknowledged put through a pipe; the test kills it at a
 * random moment — during recovery, in a batch, in a flush, in a compaction — reopens the store and checks every key
 * at its last acknowledged value or a later one, and every value whole. Round after round on the same directory, so
 * each recovery starts from what the previous kill left. As in test_wal_crash.c, every tenth round syncs for real
 * and the others run on faultio, which writes for real and skips the syncs (a killed process loses nothing the
 * kernel has). KV_CRASH_SEED and KV_CRASH_ROUNDS (a tenth of it is used here) replay or lengthen a run.
 */
#define _GNU_SOURCE
#include "store_support.h"

#include "faultio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

enum { KILL_THREADS = 2, KILL_KEYS = 40, KILL_CAP = 4000 };

typedef struct kill_writer {
    kv_store *s;
    unsigned thread, round;
    int ack_fd;
} kill_writer;

static void *kill_write(void *arg)
{
    kill_writer *w = arg;
    for (unsigned i = 0; i < KILL_CAP; i++) {
        unsigned k = w->thread * 1000 + i % KILL_KEYS, g = w->round * 100000 + i / KILL_KEYS + 1;
        char key[16], value[64];
        size_t len;
        skey(k, key);
        sval(k, g, value, &len);
        if (kv_store_put(w->s, key, strlen(key), value, len) != KV_OK)
            _exit(4);
        uint64_t ack = (uint64_t)k << 32 | g; /* 8 bytes: an atomic pipe write */
        if (write(w->ack_fd, &ack, sizeof ack) != (ssize_t)sizeof ack)
            _exit(5);
    }
    return NULL;
}

static void kill_child(const char *dir, unsigned round, int ack_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    leave_test_channels(ack_fd); /* nothing it does reaches Check's message file */
    kv_store_options opt = {.io = round % 10 == 0 ? kv_io_posix() : faultio_io(faultio_new()),
                            .memtable_bytes = 4 << 10,
                            .block_bytes = 256,
                            .compact_after = 3};
    kv_store *s = NULL;
    if (kv_store_open(dir, &opt, &s) != KV_OK)
        _exit(3);
    kill_writer w[KILL_THREADS];
    pthread_t tid[KILL_THREADS];
    for (unsigned t = 0; t < KILL_THREADS; t++) {
        w[t] = (kill_writer){s, t, round, ack_fd};
        if (pthread_create(&tid[t], NULL, kill_write, &w[t]) != 0)
            _exit(6);
    }
    for (unsigned t = 0; t < KILL_THREADS; t++)
        pthread_join(tid[t], NULL);
    _exit(kv_store_close(s) == KV_OK ? 0 : 7);
}

/* An ack is key << 32 | generation: the highest generation acknowledged per key goes to acked[thread][slot]. */
static void note_put(uint64_t ack, void *ctx)
{
    long(*acked)[KILL_KEYS] = ctx;
    unsigned k = (unsigned)(ack >> 32), g = (unsigned)ack;
    long *slot = &acked[k / 1000][k % 1000];
    if ((long)g > *slot)
        *slot = (long)g;
}

FT_TEST(4, store_acknowledged_writes_survive_sigkill_at_random_moments, 5,
        "A killed store must recover every acknowledged put, wherever the kill landed: in the log's group commit, in "
        "a flush (segment, new log, manifest, old log removed), in a compaction, in recovery itself. The failure "
        "names the seed and the round to replay.")
{
    const char *dir = scratch_dir();
    bool slow = env_number("CK_TIMEOUT_MULTIPLIER", 1) >= 10; /* Valgrind runs the writers too */
    unsigned rounds = (unsigned)(env_number("KV_CRASH_ROUNDS", slow ? 80 : 400) / 10);
    uint64_t seed = env_number("KV_CRASH_SEED", 0x5707E);
    test_rng rng = rng_new(seed);
    long acked[KILL_THREADS][KILL_KEYS];
    memset(acked, 0xff, sizeof acked);
    long total = 0;
    for (unsigned round = 0; round < rounds; round++) {
        int fds[2];
        ck_assert(pipe2(fds, O_CLOEXEC) == 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            kill_child(dir, round, fds[1]); /* before any ck_assert: the child sends nothing to Check */
        ck_assert(pid > 0);
        close(fds[1]);
        long count = 0, want = (long)rng_below(&rng, 160);
        ack_read(fds[0], note_put, acked, want, &count, now_ms() + 20000);
        kill(pid, SIGKILL);
        ack_read(fds[0], note_put, acked, -1, &count, now_ms() + 20000);
        close(fds[0]);
        int status;
        ck_assert(waitpid(pid, &status, 0) == pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "seed %#llx, round %u: the writer ended on its own (status %#x: 3 the open failed, 4 a put "
                      "failed, 8 its descriptors could not be redirected)",
                      (unsigned long long)seed, round, status);
        total += count;

        kv_store *s = store_open(dir, NULL, 4 << 10);
        for (unsigned t = 0; t < KILL_THREADS; t++)
            for (unsigned k = 0; k < KILL_KEYS; k++) {
                long got = sget(s, NULL, t * 1000 + k);
                ck_assert_msg(got >= acked[t][k],
                              "seed %#llx, round %u: key %u acknowledged at generation %ld, recovered at %ld",
                              (unsigned long long)seed, round, t * 1000 + k, acked[t][k], got);
            }
        store_close(s);
    }
    printf("store SIGKILL: %u rounds, %ld acknowledged puts, none lost\n", rounds, total);
}

FT_TIMEOUT(store_acknowledged_writes_survive_sigkill_at_random_moments, 90);
