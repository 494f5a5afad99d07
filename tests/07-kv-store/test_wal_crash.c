/*
 * Chapter 07, part 1: the acknowledged-write contract after SIGKILL. A forked writer (three threads, one log on the
 * real file system) reports each acknowledged record through a pipe; the test kills it at a random moment — before
 * it opened the log, during recovery, in the middle of a batch — then reopens the log and checks that every
 * acknowledged record is there, in order, and nothing else. Round after round on the same log, so each recovery
 * also starts from the tail the previous kill left. A process crash keeps what was written, synced or not (the
 * kernel has it): every tenth round runs on kv_io_posix() with real fsyncs, the others on faultio, which writes for
 * real and only skips the syncs (the power cuts are test_wal_power.c's), so that two hundred rounds stay fast. A fixed seed
 * (KV_CRASH_SEED overrides it) makes a failure replayable; KV_CRASH_ROUNDS sets the number of rounds.
 */
#define _GNU_SOURCE
#include "faultio.h"
#include "support.h"
#include "wal.h"

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

#define CRASH_THREADS 3
#define ROUNDS_PER_LOG 20
#define CRASH_CAP 5000u /* appends per thread at most: a child that is never killed stops by itself */

/* Record ids: round (24 bits) << 40 | thread << 32 | seq. */
static uint64_t crash_id(uint64_t round, uint64_t thread, uint64_t seq) { return round << 40 | thread << 32 | seq; }

typedef struct child_thread {
    kv_wal *wal;
    uint64_t round, thread;
    int ack_fd;
} child_thread;

static void *child_writer(void *arg)
{
    child_thread *c = arg;
    unsigned char rec[REC_MAX];
    for (uint64_t seq = 0; seq < CRASH_CAP; seq++) {
        uint64_t id = crash_id(c->round, c->thread, seq);
        if (kv_wal_append(c->wal, rec, rec_make(id, rec)) != KV_OK)
            _exit(4);
        /* 8 bytes: a pipe write this small is atomic, so the threads' acks never interleave. */
        if (write(c->ack_fd, &id, sizeof id) != (ssize_t)sizeof id)
            _exit(5);
    }
    return NULL;
}

/* Every tenth round syncs for real; the others through faultio, whose syncs cost nothing. */
static kv_io *round_io(uint64_t round) { return round % 10 == 0 ? kv_io_posix() : faultio_io(faultio_new()); }

/* The forked writer: never returns, never runs the test's atexit handlers (_exit), never writes to the test's
 * descriptors but its ack pipe (leave_test_channels). */
static void crash_child(const char *path, uint64_t round, int ack_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* if the test dies first, so does the writer */
    leave_test_channels(ack_fd);
    kv_wal_options opt = {.policy = KV_SYNC_ALWAYS};
    kv_wal *wal = NULL;
    if (kv_wal_open(round_io(round), path, &opt, NULL, NULL, &wal) != KV_OK)
        _exit(3);
    child_thread c[CRASH_THREADS];
    pthread_t tid[CRASH_THREADS];
    for (int t = 0; t < CRASH_THREADS; t++) {
        c[t] = (child_thread){wal, round, (uint64_t)t, ack_fd};
        if (pthread_create(&tid[t], NULL, child_writer, &c[t]) != 0)
            _exit(6);
    }
    for (int t = 0; t < CRASH_THREADS; t++)
        pthread_join(tid[t], NULL);
    _exit(kv_wal_close(wal) == KV_OK ? 0 : 7);
}

/* An ack is a record id: thread t's highest acknowledged seq + 1 goes to acked[t]. */
static void note_record(uint64_t id, void *ctx)
{
    uint64_t *acked = ctx, t = id >> 32 & 0xFF, seq = id & 0xFFFFFFFFu;
    if (seq + 1 > acked[t])
        acked[t] = seq + 1;
}

/* Checks the log after round `round`: records of earlier rounds all still there (*kept of them), and this round's
 * per thread in order from seq 0, at least as many as were acknowledged. */
static void check_round(const char *path, uint64_t round, const uint64_t *acked, uint64_t *kept, uint64_t seed)
{
    rec_list got = {0};
    kv_wal *wal = NULL;
    faultio *f = round % 10 == 0 ? NULL : faultio_new();
    ck_assert_int_eq(kv_wal_open(f ? faultio_io(f) : kv_io_posix(), path, NULL, rec_collect, &got, &wal), KV_OK);
    ck_assert_msg(got.garbage == 0, "seed %#llx, round %llu: recovery handed out %zu record(s) never written",
                  (unsigned long long)seed, (unsigned long long)round, got.garbage);
    uint64_t older = 0, next[CRASH_THREADS] = {0};
    for (size_t i = 0; i < got.n; i++) {
        uint64_t r = got.ids[i] >> 40, t = got.ids[i] >> 32 & 0xFF, seq = got.ids[i] & 0xFFFFFFFFu;
        ck_assert_msg(r <= round && t < CRASH_THREADS, "seed %#llx, round %llu: record %zu has id %#llx",
                      (unsigned long long)seed, (unsigned long long)round, i, (unsigned long long)got.ids[i]);
        if (r < round) {
            ck_assert_msg(older == i, "seed %#llx, round %llu: a record of round %llu after this round's",
                          (unsigned long long)seed, (unsigned long long)round, (unsigned long long)r);
            older++;
            continue;
        }
        ck_assert_msg(seq == next[t], "seed %#llx, round %llu: thread %llu's #%llu where #%llu was expected",
                      (unsigned long long)seed, (unsigned long long)round, (unsigned long long)t, (unsigned long long)seq,
                      (unsigned long long)next[t]);
        next[t]++;
    }
    ck_assert_msg(older == *kept, "seed %#llx, round %llu: %llu records of earlier rounds, %llu before",
                  (unsigned long long)seed, (unsigned long long)round, (unsigned long long)older,
                  (unsigned long long)*kept);
    for (int t = 0; t < CRASH_THREADS; t++)
        ck_assert_msg(next[t] >= acked[t],
                      "seed %#llx, round %llu: thread %d had %llu records acknowledged, %llu recovered",
                      (unsigned long long)seed, (unsigned long long)round, t, (unsigned long long)acked[t],
                      (unsigned long long)next[t]);
    *kept = got.n;
    ck_assert_int_eq(kv_wal_close(wal), KV_OK);
    if (f != NULL)
        faultio_free(f);
    rec_list_free(&got);
}

FT_TEST(1, acknowledged_records_survive_sigkill_at_random_moments, 5,
        "A process can die between any two instructions: a record is acknowledged only once it is whole in the "
        "file (and synced), recovery keeps every whole record and cuts the torn one, and the next process "
        "appends after the cut. The failure message names the seed and the round to replay.")
{
    const char *dir = scratch_dir();
    char path[512];
    /* Valgrind runs every forked writer too, some fifty times slower: fewer rounds there. */
    uint64_t slow = env_number("CK_TIMEOUT_MULTIPLIER", 1) >= 10;
    uint64_t rounds = env_number("KV_CRASH_ROUNDS", slow ? 20 : 200);
    uint64_t seed = env_number("KV_CRASH_SEED", 0x07C0FFEE);
    test_rng rng = rng_new(seed);
    uint64_t kept = 0, recovered = 0, total_acks = 0;
    for (uint64_t round = 0; round < rounds; round++) {
        /* A new log every ROUNDS_PER_LOG rounds, so that recovery's cost does not grow with the whole run. */
        char name[32];
        snprintf(name, sizeof name, "wal-%llu.log", (unsigned long long)(round / ROUNDS_PER_LOG));
        path_join(path, sizeof path, dir, name);
        if (round % ROUNDS_PER_LOG == 0)
            recovered += kept, kept = 0;
        int fds[2];
        ck_assert(pipe2(fds, O_CLOEXEC) == 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0)
            crash_child(path, round, fds[1]); /* before any ck_assert: the child sends nothing to Check */
        ck_assert(pid > 0);
        close(fds[1]);
        uint64_t acked[CRASH_THREADS] = {0};
        long count = 0, want = (long)rng_below(&rng, 40);
        ack_read(fds[0], note_record, acked, want, &count, now_ms() + 20000);
        kill(pid, SIGKILL);
        ack_read(fds[0], note_record, acked, -1, &count, now_ms() + 20000); /* acks written before the kill still count */
        close(fds[0]);
        int status;
        ck_assert(waitpid(pid, &status, 0) == pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "round %llu: the writer ended on its own (status %#x: 3 open failed, 4 an append failed, 8 its "
                      "descriptors could not be redirected)",
                      (unsigned long long)round, status);
        total_acks += (uint64_t)count;
        check_round(path, round, acked, &kept, seed);
    }
    printf("sigkill: %llu rounds, %llu acknowledged records, %llu recovered in all\n", (unsigned long long)rounds,
           (unsigned long long)total_acks, (unsigned long long)(recovered + kept));
}
FT_TIMEOUT(acknowledged_records_survive_sigkill_at_random_moments, 120);
