# Chapter 02's extra programs, read by mk/chapter.mk after its own variables (see the comment there).
#
# The tests need four kinds of program besides the test binary, all built without sanitizers because each one
# owns its registers or its whole process:
#   nolibc          part 4: nolibc.c + the shim + start.c (given: its own _start), -ffreestanding -nostdlib -static
#   probe-<cc>      parts 1-3 at -O2: tests/02-syscall-shim/progs/probe.c #includes the arch file, so each raw
#                   call is inlined where a missing clobber shows; built with every host compiler present,
#                   because gcc and clang expose different missing clobbers
#   *-aarch64       part 5: the same nolibc program and probe, cross-built, run with qemu-aarch64
# A program that does not build is reported here and left missing; its tests then fail and say so, and the other
# parts still run. Missing aarch64 tools are passed to the tests, which report themselves as skipped.

CH02_OUT := $(B)/progs
CH02_SRC := $(IMPL)/$(CHS)
CH02_SHIM := $(CH02_SRC)/sys.c $(CH02_SRC)/sys_x86_64.c $(CH02_SRC)/sys_aarch64.c
CH02_HDRS := $(wildcard chapters/$(CHS)/*.h) chapters/include/ferrite.h
# The freestanding program's entry point, listed under `given` in chapter.conf.
CH02_START := chapters/$(CHS)/start.c
CH02_PROBE_SRC := tests/$(CHS)/progs/probe.c

# start.c defines _start and nolibc.c the body it calls: together they are a program of their own, never part of
# the test binary or the demo, which have the C library's _start. Both are still compiled as objects with the
# others, so `objects` proves them warning-free.
LINKED_OBJS := $(filter-out $(B)/impl/nolibc.o $(B)/given/start.o,$(LINKED_OBJS))

CH02_WARN := -std=c17 -Wall -Wextra -Werror -g
# -fno-pie with -static: a fixed-address executable with no interpreter and no relocations to apply, since
# nothing would apply them. --eh-frame-hdr lets `strace -k` unwind it for the demo.
CH02_FREESTANDING := $(CH02_WARN) -ffreestanding -fno-stack-protector -fno-pie -static -nostdlib \
    -Wl,--eh-frame-hdr -Ichapters/$(CHS) -Ichapters/include
# The probe sees the student's (or the solution's) arch file before the skeleton's.
CH02_PROBE_FLAGS := $(CH02_WARN) -O2 -I$(CH02_SRC) -Ichapters/$(CHS) -Ichapters/include

# ch02_build WHAT, command...: runs the command; on failure says which tests will fail, removes the target and
# lets make go on.
ch02_build = @mkdir -p $(@D); rm -f $@; echo "  CCLD    $@ ($(1))"; $(if $(V),echo '$(2)';) \
    $(2) || { echo "note: $@ did not build (errors above); the tests that run it will fail" >&2; rm -f $@; }

# The freestanding program: the student's nolibc.c, the given _start, the shim.
CH02_NOLIBC := $(CH02_SRC)/nolibc.c $(CH02_START) $(CH02_SHIM)
$(CH02_OUT)/nolibc: $(CH02_NOLIBC) $(CH02_HDRS) $(CONF)
	$(call ch02_build,freestanding,$(CC) $(CH02_FREESTANDING) -O2 $(CH02_NOLIBC) -o $@)

# For the demo: no inlining, so every function of the shim shows as its own frame in `strace -k`.
$(CH02_OUT)/nolibc-demo: $(CH02_NOLIBC) $(CH02_HDRS) $(CONF)
	$(call ch02_build,freestanding for the demo,$(CC) $(CH02_FREESTANDING) -O1 -fno-inline $(CH02_NOLIBC) -o $@)

CH02_HOST_CCS := $(foreach cc,gcc clang,$(if $(shell command -v $(cc) 2>/dev/null),$(cc)))
CH02_PROBES := $(foreach cc,$(CH02_HOST_CCS),$(CH02_OUT)/probe-$(cc))
$(CH02_OUT)/probe-%: $(CH02_PROBE_SRC) $(CH02_SHIM) $(CH02_HDRS) $(CONF)
	$(call ch02_build,-O2 probe,$* $(CH02_PROBE_FLAGS) $(CH02_PROBE_SRC) $(CH02_SRC)/sys.c -o $@)

# ---- aarch64: Debian's cross compiler and qemu-user ----------------------------------------------------------
CH02_CROSS ?= aarch64-linux-gnu-gcc
CH02_QEMU ?= qemu-aarch64
CH02_HAVE_CROSS := $(shell command -v $(CH02_CROSS) 2>/dev/null)
CH02_HAVE_QEMU := $(shell command -v $(CH02_QEMU) 2>/dev/null)
# The probe links the C library statically, which needs the cross libc's libc.a.
# (-print-file-name answers the bare name when it finds nothing.)
CH02_HAVE_CROSS_LIBC := $(if $(CH02_HAVE_CROSS),$(shell f=$$($(CH02_CROSS) -print-file-name=libc.a); \
    [ "$${f#/}" != "$$f" ] && [ -f "$$f" ] && echo yes))
CH02_A64_MISSING := $(strip $(if $(CH02_HAVE_CROSS),,gcc-aarch64-linux-gnu) \
    $(if $(CH02_HAVE_CROSS_LIBC),,libc6-dev-arm64-cross) $(if $(CH02_HAVE_QEMU),,qemu-user))

CH02_A64 := $(if $(CH02_A64_MISSING),,$(CH02_OUT)/nolibc-aarch64 $(CH02_OUT)/probe-aarch64)
$(CH02_OUT)/nolibc-aarch64: $(CH02_NOLIBC) $(CH02_HDRS) $(CONF)
	$(call ch02_build,aarch64 freestanding,$(CH02_CROSS) $(CH02_FREESTANDING) -O2 $(CH02_NOLIBC) -o $@)
$(CH02_OUT)/probe-aarch64: $(CH02_PROBE_SRC) $(CH02_SHIM) $(CH02_HDRS) $(CONF)
	$(call ch02_build,aarch64 -O2 probe,$(CH02_CROSS) $(CH02_PROBE_FLAGS) -static $(CH02_PROBE_SRC) \
	    $(CH02_SRC)/sys.c -o $@)

# ---- what the tests and the demo get ------------------------------------------------------------------------------
ch02_empty :=
ch02_space := $(ch02_empty) $(ch02_empty)
ch02_colon_list = $(subst $(ch02_space),:,$(strip $(1)))
TEST_DEPS += $(CH02_OUT)/nolibc $(CH02_PROBES) $(CH02_A64)
TEST_ENV += SYS02_NOLIBC=$(abspath $(CH02_OUT)/nolibc) \
    SYS02_PROBES=$(call ch02_colon_list,$(abspath $(CH02_PROBES))) \
    SYS02_A64_NOLIBC=$(abspath $(CH02_OUT)/nolibc-aarch64) \
    SYS02_A64_PROBE=$(abspath $(CH02_OUT)/probe-aarch64) \
    SYS02_QEMU=$(CH02_HAVE_QEMU) \
    SYS02_A64_MISSING=$(call ch02_colon_list,$(CH02_A64_MISSING)) \
    SYS02_SCRATCH=$(abspath $(B))/scratch
TEST_DEPS += $(B)/scratch/.keep
$(B)/scratch/.keep:
	@mkdir -p $(@D) && touch $@

DEMO_DEPS += $(CH02_OUT)/nolibc-demo
DEMO_CMD = $(RUN_$(VARIANT)) $(DEMO_BIN) $(CH02_OUT)/nolibc-demo $(CH02_SRC)/nolibc.c

.PHONY: ch02-progs
ch02-progs: $(CH02_OUT)/nolibc $(CH02_OUT)/nolibc-demo $(CH02_PROBES) $(CH02_A64)
