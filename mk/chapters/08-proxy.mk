# Chapter 08 (service-mesh proxy): part 5's mutual TLS is OpenSSL's (libssl-dev); the tests make their own CA and
# certificates with libcrypto, in a temporary folder. The balancer decays its latency estimates with exp() (-lm).
LDLIBS_CH += -lssl -lcrypto -lm
# The proxy as a program: chapters/08-proxy/proxy_main.c (given, with a main(), so not in chapter.conf's `given`,
# which the test binary links) is linked with the chapter's sources into $(B)/px-proxy; the tests start it with fork
# and exec, finding it through PX_PROXY, in front of backends they fork themselves.
PX_PROXY := $(B)/px-proxy
TEST_DEPS += $(PX_PROXY)
TEST_ENV += PX_PROXY=$(abspath $(PX_PROXY))
DEMO_DEPS += $(PX_PROXY)

$(PX_PROXY): $(LINKED_OBJS) $(B)/given/proxy_main.o
	$(call link_c)

.PHONY: px-proxy
px-proxy: $(PX_PROXY)
-include $(B)/given/proxy_main.d

# `make demo CH=08` (chapters/08-proxy/demo.c, demo_*.c): three HTTP backends forked by the demo, px-proxy --mode http
# in front of them with its admin listener, keep-alive clients, and a row a second read from /metrics while backend 2
# turns slow (200 ms), is killed with SIGKILL and is started again. Everything the demo starts is stopped on every
# exit, Ctrl-C included. DEMO_ARGS passes options through, e.g.
# make demo CH=08 DEMO_ARGS="--balancer round-robin" (the contrast), or DEMO_ARGS="--seconds 8 --conns 16".
DEMO_CMD = $(RUN_$(VARIANT)) $(DEMO_BIN) --proxy $(abspath $(PX_PROXY)) $(DEMO_ARGS)
