# Chapter 03 (async echo): the server is a real program. chapters/03-async-echo/server_main.c (given, not one of
# the student's sources) is linked with the chapter's reactor.c, conn.c and server.c into $(B)/echo-server.
# `make demo CH=03` starts that server and drives it with the demo's load client (live msg/s and latency).
# The tests fork their own servers from the same sources; `make check` builds the program anyway, so a student
# can run their server by hand (build/<impl>/<variant>-<cc>/03-async-echo/echo-server --port 7000).
# server_main.c holds a main(), so it is a program of its own and not in chapter.conf's `given` (which the test
# binary links); the rule for given objects compiles it all the same.
ECHO_SERVER := $(B)/echo-server
# Part 6 (optional) runs the same echo on io_uring through liburing (Debian's liburing-dev, which `make deps`
# installs). Without it nothing of the chapter builds, so say which package is missing before the compiler does.
ifeq ($(wildcard /usr/include/liburing.h),)
ifeq ($(shell pkg-config --exists liburing 2>/dev/null && echo yes),)
$(error chapter 03 needs liburing (part 6, io_uring): install the Debian package liburing-dev (sudo make deps))
endif
endif
LDLIBS_CH += $(or $(shell pkg-config --libs liburing 2>/dev/null),-luring)
TEST_DEPS += $(ECHO_SERVER)

$(ECHO_SERVER): $(LINKED_OBJS) $(B)/given/server_main.o
	$(call link_c)

.PHONY: echo-server
echo-server: $(ECHO_SERVER)

DEMO_DEPS += $(ECHO_SERVER)
# DEMO_ARGS passes options through, e.g. make demo CH=03 DEMO_ARGS="--conns 200 --size 4096 --seconds 10".
DEMO_CMD = $(RUN_$(VARIANT)) $(DEMO_BIN) --server $(ECHO_SERVER) $(DEMO_ARGS)
-include $(B)/given/server_main.d
