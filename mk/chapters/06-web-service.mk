# Chapter 06 (web service): parts 2 and 3 talk to a real PostgreSQL through libpq. The tests start a throwaway
# cluster of their own (tests/06-web-service/pg_support.c, README "Adding a chapter", item 10); the template it is
# copied from is made here, while the chapter builds, because the tests' sandbox cannot write the build folder.
# Worker loops run on threads: -pthread for the tests and the demo.
PG_TEMPLATES := $(abspath $(BUILD))/pgtmp
TEST_DEPS += pg-template
TEST_ENV += PGTMP_TEMPLATES=$(PG_TEMPLATES)
# The tests need a database that answers, not one that survives a power cut: no fsync (the bench keeps it on).
TEST_ENV += PGTMP_FSYNC=off
.PHONY: pg-template
pg-template: ; $(Q)mk/pgtmp.sh template $(PG_TEMPLATES) >/dev/null
# libpq's headers and library: a bench script asks for these with `print-PG_CFLAGS` / `print-PG_LIBS`.
PG_CFLAGS := -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
PG_LIBS := -lpq
HOST_CC += $(PG_CFLAGS) -pthread
LDLIBS_CH += $(PG_LIBS) -pthread
# Part 5: the service is a real program. chapters/06-web-service/service_main.c (given, with a main(), so not in
# chapter.conf's `given`, which the test binary links) is linked with the chapter's sources into $(B)/ws-service;
# the tests start it with fork and exec, finding it through WS_SERVICE.
WS_SERVICE := $(B)/ws-service
TEST_DEPS += $(WS_SERVICE)
TEST_ENV += WS_SERVICE=$(abspath $(WS_SERVICE))

$(WS_SERVICE): $(LINKED_OBJS) $(B)/given/service_main.o
	$(call link_c)

.PHONY: ws-service
ws-service: $(WS_SERVICE)
-include $(B)/given/service_main.d

# `make demo CH=06` (chapters/06-web-service/demo.c): a throwaway cluster in $(B)/pg (its template from
# $(PG_TEMPLATES), made on the way if the build has not made it), the items table filled, ws-service started on it,
# then single flight, invalidation, live load and a drain on SIGTERM, narrated; the cluster is stopped on every exit.
# DEMO_ARGS passes options through, e.g. make demo CH=06 DEMO_ARGS="--seconds 15 --conns 64 --burst 500".
DEMO_DEPS += $(WS_SERVICE)
DEMO_CMD = env PGTMP_TEMPLATES=$(PG_TEMPLATES) $(RUN_$(VARIANT)) $(DEMO_BIN) --service $(WS_SERVICE) \
    --pg-dir $(abspath $(B))/pg $(DEMO_ARGS)
