# Chapter 07 (key-value store): the log's group commit and the tests' writers run on threads.
LDLIBS_CH += -pthread
# The crash test's rounds (tests/07-kv-store/test_wal_crash.c): KV_CRASH_ROUNDS=N runs N instead of the default.
TEST_ENV += $(if $(KV_CRASH_ROUNDS),KV_CRASH_ROUNDS=$(KV_CRASH_ROUNDS))
# Part 5: the store as a RESP2 server. chapters/07-kv-store/server_main.c (given, with a main(), so not in
# chapter.conf's `given`, which the test binary links) is linked with the chapter's sources into $(B)/kv-server;
# the tests start it with fork and exec, finding it through KV_SERVER, and drive it with redis-cli and
# redis-benchmark (Debian's redis-tools).
KV_SERVER := $(B)/kv-server
TEST_DEPS += $(KV_SERVER)
TEST_ENV += KV_SERVER=$(abspath $(KV_SERVER))
DEMO_DEPS += $(KV_SERVER)

$(KV_SERVER): $(LINKED_OBJS) $(B)/given/server_main.o
	$(call link_c)

.PHONY: kv-server
kv-server: $(KV_SERVER)
-include $(B)/given/server_main.d

# `make demo CH=07` (chapters/07-kv-store/demo.c, demo_*.c): kv-server started with --sync always in a fresh
# directory under $(B)/demo-stores, writers SETting keys through the chapter's client driver, a kill -9 in the middle of
# the load, a restart on the same directory, every acknowledged key read back, and a WATCH/MULTI/EXEC conflict.
# The server and the directory are stopped and removed on every exit.
# DEMO_ARGS passes options through, e.g. make demo CH=07 DEMO_ARGS="--seconds 10 --conns 16 --depth 64 --keep".
DEMO_CMD = $(RUN_$(VARIANT)) $(DEMO_BIN) --server $(KV_SERVER) --dir $(abspath $(B))/demo-stores $(DEMO_ARGS)
