# Chapter 04 (worker pool): threads in the tests, the demo and the library.
LDLIBS_CH += -pthread
# Stress tests scale with WP_STRESS (default 1); the Valgrind run keeps it at 1 since threads are serialised there.
TEST_ENV += $(if $(WP_STRESS),WP_STRESS=$(WP_STRESS))
# The loom tests' preemption bound (tests/04-worker-pool/loom.h), like loom's LOOM_MAX_PREEMPTIONS.
TEST_ENV += $(if $(FT_LOOM_PREEMPTIONS),FT_LOOM_PREEMPTIONS=$(FT_LOOM_PREEMPTIONS))

# The loom tests (test_loom.c, loom.c) drive a second copy of the deque: $(IMPL)'s deque.c compiled with loom_shim.h
# included first, which turns each C11 atomic operation into a step of the model checker and renames wp_deque_* to
# loom_wp_deque_*. objcopy then makes every other global symbol of the copy local, so that a helper the student did
# not make static does not collide with the ordinary copy. Linked into the test binary only, never the demo.
LOOM_SHIM := tests/$(CHS)/loom_shim.h
LOOM_DEQUE_OBJ := $(B)/loom/deque.o
$(LOOM_DEQUE_OBJ): $(IMPL)/$(CHS)/deque.c $(LOOM_SHIM) $(CONF)
	$(call compile_c,$(HOST_CC) -include $(LOOM_SHIM))
	$(Q)objcopy --wildcard --keep-global-symbol='loom_wp_deque_*' $@
$(TEST_BIN): $(LOOM_DEQUE_OBJ)
-include $(LOOM_DEQUE_OBJ:.o=.d)
