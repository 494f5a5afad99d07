# Builds and runs one chapter in one variant. Called by the top-level Makefile:
#   make -f mk/chapter.mk <run|build|demo> CH=<NN-name> IMPL=<dir> VARIANT=<asan|memcheck|tsan|plain> [CC=gcc|clang]
# Variants: asan = ASan+UBSan (the default for students), memcheck = no sanitizer, run under Valgrind,
#           tsan = ThreadSanitizer, plain = optimised, no sanitizer (for warnings and demos).
include mk/common.mk

ifneq ($(words $(CHS)),1)
$(error mk/chapter.mk builds one chapter at a time; got CH=$(CH))
endif
CONF := chapters/$(CHS)/chapter.conf
include $(CONF)

VARIANT ?= asan
B := $(BUILD)/$(IMPL_TAG)/$(VARIANT)-$(CC_NAME)/$(CHS)

# `make -f mk/chapter.mk CH=NN print-VAR` prints a variable (chapter.conf's keys among them) for scripts; it needs
# neither Check nor a compiler, so those are only looked for when something is to be built.
ifeq ($(filter-out print-%,$(or $(MAKECMDGOALS),build)),)
FT_PRINT_ONLY := yes
endif
ifneq ($(FT_PRINT_ONLY),yes)
ifeq ($(shell pkg-config --exists check 2>/dev/null && echo yes),)
$(error Check (libcheck) was not found by pkg-config: install it with `sudo make deps` (Debian package: check))
endif
ifeq ($(shell command -v $(CC_NAME) 2>/dev/null),)
$(error compiler '$(CC_NAME)' not found: install it with `sudo make deps`)
endif
endif

CFLAGS_COMMON := -std=c17 -Wall -Wextra -Werror -g -MMD -MP
CFLAGS_asan := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
CFLAGS_memcheck := -O1
CFLAGS_tsan := -O1 -fsanitize=thread
CFLAGS_plain := -O2
ifeq ($(filter $(VARIANT),asan memcheck tsan plain),)
$(error VARIANT=$(VARIANT) is not one of asan memcheck tsan plain)
endif
VFLAGS := $(CFLAGS_$(VARIANT))
# chapters/include holds what every chapter shares (ferrite.h: FT_MUST_USE).
CPPFLAGS_CH := -Ichapters/$(CHS) -Ichapters/include -Itests/lib -Itests/$(CHS) -DFT_CHAPTER='"$(CHS)"'
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS := $(shell pkg-config --libs check)
HOST_CC := $(CC) $(CFLAGS_COMMON) $(VFLAGS) $(CPPFLAGS_CH)

# compile_c TOOL-AND-FLAGS[,LABEL]: the one compile recipe, $< to $@, shared by every rule here and in the chapter
# fragments (LABEL, default CC, is what the short progress line says).
define compile_c
	@mkdir -p $(@D)
	@echo "  $(or $(2),CC)      $<"
	$(Q)$(1) -c $< -o $@
endef

# What chapter.conf lists (README.md, "Adding a chapter", has every key):
#   sources  the files a student writes, taken from $(IMPL): the student's, the solution's or a submission's;
#            a header listed there is the student's own too, found beside the .c files that include it
#   given    code the student reads but does not write, taken from chapters/ whatever IMPL is, so it exists once
#   test_ldflags  linker flags for the test binary alone, not the demo (e.g. -Wl,--wrap=pthread_create, so that a
#            test can make a library call fail through a __wrap_ function of tests/NN-name/)
IMPL_SRCS := $(addprefix $(IMPL)/$(CHS)/,$(sources))
MISSING := $(filter-out $(wildcard $(IMPL_SRCS)),$(IMPL_SRCS))
IMPL_OBJS := $(patsubst $(IMPL)/$(CHS)/%.c,$(B)/impl/%.o,$(filter %.c,$(IMPL_SRCS)))
GIVEN_SRCS := $(addprefix chapters/$(CHS)/,$(given))
GIVEN_OBJS := $(patsubst chapters/$(CHS)/%.c,$(B)/given/%.o,$(GIVEN_SRCS))
# Every .c file of the chapter's library, the student's and the given, for scripts that build it their own way.
CHAPTER_SRCS := $(filter %.c,$(IMPL_SRCS)) $(GIVEN_SRCS)
TEST_SRCS := $(sort $(wildcard tests/$(CHS)/*.c))
LIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TEST_OBJS := $(patsubst tests/$(CHS)/%.c,$(B)/tests/%.o,$(TEST_SRCS)) $(patsubst tests/lib/%.c,$(B)/lib/%.o,$(LIB_SRCS))
TEST_BIN := $(B)/test
DEMO_BIN := $(B)/demo
# The demo: chapters/NN-name/demo.c, and demo_*.c beside it when one file would be too long (a demo_*.h of theirs
# is theirs alone). Never a student's file: the reference solution's demo runs by default.
DEMO_OBJS := $(patsubst chapters/$(CHS)/%.c,$(B)/%.o,$(wildcard chapters/$(CHS)/demo.c chapters/$(CHS)/demo_*.c))

# A chapter that needs more than "sources + given + tests + demo" (a freestanding program, a server binary, a kernel
# image for QEMU) adds it in mk/chapters/<NN-name>.mk, read here so it can use everything above. A fragment adds to
# these with += (never :=, which would drop what another line added):
#   TEST_DEPS   files built before the tests run (e.g. a program the tests start)
#   TEST_ENV    VAR=value words given to the test binary's environment (e.g. where that program is)
#   LDLIBS_CH   extra libraries for the test binary and the demo (e.g. -pthread)
#   DEMO_DEPS   what `make demo` builds first;  DEMO_CMD (set with =) what it runs instead of the demo binary alone
#   LINKED_OBJS the objects linked into the test binary and the demo (a fragment may filter one out)
#   BUILD_LOGS  files where the fragment keeps the compiler's output of a program it lets fail (the grading
#               harness shows their errors in the report)
# The fragment is pristine workbook code, like tests/: a submission never supplies it.
TEST_DEPS :=
TEST_ENV :=
BUILD_LOGS :=
LDLIBS_CH :=
DEMO_DEPS := $(DEMO_BIN)
DEMO_CMD = $(RUN_$(VARIANT)) $(DEMO_BIN)
LINKED_OBJS = $(IMPL_OBJS) $(GIVEN_OBJS)
-include mk/chapters/$(CHS).mk

.PHONY: build run demo objects
build: $(TEST_BIN) $(TEST_DEPS)
objects: $(IMPL_OBJS) $(GIVEN_OBJS)

$(MISSING):
	@echo "error: $@ is missing; chapter $(CHS) needs: $(sources)" >&2; exit 1

$(B)/impl/%.o: $(IMPL)/$(CHS)/%.c $(CONF)
	$(call compile_c,$(HOST_CC))
$(B)/given/%.o: chapters/$(CHS)/%.c $(CONF)
	$(call compile_c,$(HOST_CC))
$(DEMO_OBJS): $(B)/%.o: chapters/$(CHS)/%.c $(CONF)
	$(call compile_c,$(HOST_CC))
$(B)/tests/%.o: tests/$(CHS)/%.c $(CONF)
	$(call compile_c,$(HOST_CC) $(CHECK_CFLAGS))
$(B)/lib/%.o: tests/lib/%.c $(CONF)
	$(call compile_c,$(HOST_CC) $(CHECK_CFLAGS))

# The status names of the chapter's enums (FV_ERR_TODO = -99), so that a failure message can name the number it
# shows (tests/lib/messages.c); read from the pristine headers in chapters/, whatever IMPL is.
STATUS_NAMES := $(B)/gen/ft_status_names.h
$(STATUS_NAMES): mk/status_names.sh $(wildcard chapters/$(CHS)/*.h)
	@mkdir -p $(@D)
	$(Q)mk/status_names.sh $(filter %.h,$^) >$@
$(B)/lib/messages.o: $(STATUS_NAMES)
$(B)/lib/messages.o: HOST_CC += -I$(B)/gen -DFT_HAVE_STATUS_NAMES

# link_c EXTRA-LIBS: the one link recipe for host programs, the prerequisites' objects to $@.
define link_c
	@echo "  LINK    $@"
	$(Q)$(CC) $(VFLAGS) $(filter %.o,$^) $(1) $(LDLIBS_CH) -o $@
endef
$(TEST_BIN): $(LINKED_OBJS) $(TEST_OBJS)
	$(call link_c,$(CHECK_LIBS) $(test_ldflags))
$(DEMO_BIN): $(LINKED_OBJS) $(DEMO_OBJS)
	$(call link_c)

# How each variant runs the test binary. Check forks one child per test; sanitizers and Valgrind both follow
# fork, so a leak or a memory error fails the test that caused it.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:$(ASAN_OPTIONS) \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$(UBSAN_OPTIONS)
RUN_asan := env $(ASAN_ENV)
# ORIGINS=no drops --track-origins: the same errors and leaks are found, but an uninitialised value is reported
# without where it came from, and Valgrind runs about a third faster (make selftest, which expects no error).
ORIGINS ?= yes
RUN_memcheck := env CK_TIMEOUT_MULTIPLIER=$(or $(CK_TIMEOUT_MULTIPLIER),10) valgrind --quiet --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=99 --track-origins=$(ORIGINS)
RUN_tsan := env TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:$(TSAN_OPTIONS) \
    CK_TIMEOUT_MULTIPLIER=$(or $(CK_TIMEOUT_MULTIPLIER),4)
RUN_plain := env
RUN_ARGS := --xml $(B)/check.xml --tap $(B)/check.tap --results $(B)/results.tsv $(if $(QUIET),--quiet)

# TEST= (names or prefixes), PART= and FIRST=1 reach the test main as FT_TEST, FT_PART and FT_FIRST (tests/lib/main.c).
# RESULTS_ONLY=1 (the top-level Makefile's runs): results.tsv is what says how the tests went, read by mk/summary.sh,
# so failing tests (exit 1) or a selection that takes none (2) do not fail this recipe and make adds no error line;
# any other status (the runner itself crashed, Valgrind saw its errors) still does.
run: $(TEST_BIN) $(TEST_DEPS)
	@rm -f $(B)/results.tsv
	$(Q)rc=0; env $(if $(TEST),FT_TEST=$(TEST)) $(if $(PART),FT_PART=$(PART)) $(if $(FIRST),FT_FIRST=$(FIRST)) \
	  $(TEST_ENV) $(RUN_$(VARIANT)) $(TEST_BIN) $(RUN_ARGS) || rc=$$?; \
	  [ $$rc -eq 0 ] || { [ -n "$(RESULTS_ONLY)" ] && [ $$rc -le 2 ]; } || exit $$rc

# DEMO_STATUS=<file> (the top-level Makefile): the demo's exit status is written there instead of failing this
# recipe, so the caller says how the demo ended without a make error line in between.
demo: $(DEMO_DEPS)
	$(Q)rc=0; $(DEMO_CMD) || rc=$$?; if [ -n "$(DEMO_STATUS)" ]; then echo $$rc >$(DEMO_STATUS); else exit $$rc; fi

print-%:
	@printf '%s\n' '$(subst ','\'',$(strip $($*)))'

-include $(IMPL_OBJS:.o=.d) $(GIVEN_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(DEMO_OBJS:.o=.d)
