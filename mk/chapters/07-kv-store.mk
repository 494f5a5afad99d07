# Chapter 07 (key-value store): the log's group commit and the tests' writers run on threads.
LDLIBS_CH += -pthread
# The crash test's rounds (tests/07-kv-store/test_wal_crash.c): KV_CRASH_ROUNDS=N runs N instead of the default.
TEST_ENV += $(if $(KV_CRASH_ROUNDS),KV_CRASH_ROUNDS=$(KV_CRASH_ROUNDS))
