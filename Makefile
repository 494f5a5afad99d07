# Ferrite — the one entry point. `make help` lists the targets.
#
# Variables: CH=01 or CH=01-ownership-buffers (default: every chapter), IMPL=chapters|solutions|<dir>
# (default: chapters, the student's code), TEST=<test name[,name...]>, CC=gcc|clang, V=1 (show commands),
# NO_COLOR=1.
SHELL := /bin/bash
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

include mk/common.mk

CHAPTER := $(MAKE) -f mk/chapter.mk IMPL=$(IMPL) CC=$(CC)

# run_variant VARIANT,CHAPTERS: runs the tests of each chapter in the variant, then one summary; fails if any test
# failed. A stale results file is removed first, so a chapter that fails to build cannot show an old score.
define run_variant
	@status=0; for ch in $(2); do \
	  rm -f $(BUILD)/$(IMPL_TAG)/$(1)-$(CC_NAME)/$$ch/results.tsv; \
	  $(CHAPTER) run CH=$$ch VARIANT=$(1) || status=1; \
	done; \
	mk/summary.sh $(foreach ch,$(2),$(BUILD)/$(IMPL_TAG)/$(1)-$(CC_NAME)/$(ch)/results.tsv) || status=1; \
	exit $$status
endef

.PHONY: help check memcheck tsan selftest demo grade clean compile_commands.json format format-check
help:
	@echo "Ferrite — C exercises that rebuild Rust systems"
	@echo
	@echo "  make deps                  install the Debian packages the workbook needs (as root)"
	@echo "  make check [CH=01] [TEST=name] [IMPL=solutions]"
	@echo "                             build with ASan+UBSan and run the tests; a table per part, hints for failures"
	@echo "  make memcheck [CH=] [IMPL=] the tests under Valgrind memcheck (no sanitizers; a leak fails)"
	@echo "  make tsan [CH=] [IMPL=]     the tests of threaded chapters under ThreadSanitizer"
	@echo "  make demo CH=01 [IMPL=chapters]   a chapter's demo (default: the reference solution)"
	@echo "  make bench [CH=01]         benchmarks against Rust and C peers"
	@echo "  make docs                  the Doxygen site in build/docs/html"
	@echo "  make selftest              the workbook's own proof: solutions pass, skeletons score 0, docs clean"
	@echo "  make grade SUB=<dir|zip|tar.gz> [CH=01] [FORMAT=json] [OUT=file]"
	@echo "                             grade a submission in the sandbox, against the pristine tests"
	@echo "  make autograder [CH=01]    a Gradescope autograder zip in build/autograder/"
	@echo "  make format-check          list the C files .clang-format would change (make format rewrites them)"
	@echo "  make compile_commands.json for clangd (written to build/)"
	@echo "  make clean"
	@echo
	@echo "chapters: $(ALL_CHS)"

check:
	$(call run_variant,asan,$(CHS))

memcheck:
	@command -v valgrind >/dev/null || { echo "valgrind not found: install it with 'sudo make deps'" >&2; exit 1; }
	$(call run_variant,memcheck,$(CHS))

# Only chapters whose chapter.conf says `threads = yes` run under TSan; the others have nothing for it to find.
# (Expanded only when `make tsan` runs: mk/chapter.mk, the one reader of chapter.conf, is asked per chapter.)
TSAN_CHS = $(foreach ch,$(CHS),$(if $(filter yes,$(shell $(MAKE) -s -f mk/chapter.mk CH=$(ch) print-threads)),$(ch)))
tsan:
	$(if $(strip $(TSAN_CHS)),$(call run_variant,tsan,$(TSAN_CHS)),@echo "tsan: no threaded chapter among: $(CHS)")

# A demo shows the idea working, so it runs the reference solution unless IMPL is given.
demo: IMPL_DEMO := $(if $(filter command line environment,$(origin IMPL)),$(IMPL),solutions)
demo:
	@if [ $(words $(CHS)) -ne 1 ]; then echo "demo: pick a chapter, e.g. make demo CH=01" >&2; exit 2; fi
	@$(MAKE) -f mk/chapter.mk demo CH=$(CHS) IMPL=$(IMPL_DEMO) CC=$(CC) VARIANT=asan

selftest:
	@CH="$(CH)" CC="$(CC)" mk/selftest.sh

# The code's layout is .clang-format's; .editorconfig tells editors the same.
format-check:
	@mk/format.sh check
format:
	@mk/format.sh fix

compile_commands.json:
	@command -v bear >/dev/null || { echo "bear not found: install it with 'sudo make deps'" >&2; exit 1; }
	@mkdir -p $(BUILD)
	bear --output $(BUILD)/compile_commands.json -- $(MAKE) -B build-all
	@echo "wrote $(BUILD)/compile_commands.json (clangd finds it in build/)"

# Builds every chapter's tests against the student's code and the solutions, for tools like bear.
.PHONY: build-all
build-all:
	@for ch in $(CHS); do for impl in chapters solutions; do \
	  $(MAKE) -f mk/chapter.mk build CH=$$ch IMPL=$$impl CC=$(CC) VARIANT=asan || exit 1; done; done

# Grades one submission (a folder or a .tar.gz/.zip) against the pristine tests: harness/README.md.
# FORMAT=text|json|gradescope|junit|csv, OUT=<file>; the report goes to stdout without OUT.
grade:
	@if [ -z "$(SUB)" ]; then echo "grade: say which submission, e.g. make grade SUB=path/to/submission.zip" >&2; \
	  exit 2; fi
	@harness/grade $(if $(CH),--chapter $(CH)) $(if $(FORMAT),--format $(FORMAT)) $(if $(OUT),--out $(OUT)) \
	  "$(SUB)"

# A Gradescope autograder: build/autograder/ferrite-autograder.zip (setup.sh, run_autograder, the workbook).
# CH=01 makes an autograder for that chapter only (harness/autograder/build also takes a list: 01,02).
.PHONY: autograder
autograder:
	@harness/autograder/build $(BUILD)/autograder "$(CH)"

clean:
	rm -rf $(BUILD)

include mk/deps.mk
-include mk/docs.mk
-include mk/bench.mk
