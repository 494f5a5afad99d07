# Ferrite — the one entry point. `make help` lists the targets.
#
# Variables: CH=01 or CH=01-ownership-buffers (default: every chapter), IMPL=chapters|solutions|<dir>
# (default: chapters, the student's code), TEST=<name or prefix[,...]>, PART=<n[,n-m...]>, FIRST=1, QUIET=1,
# CC=gcc|clang, V=1 (show commands), NO_COLOR=1; `make help` says what each does.
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
	  $(CHAPTER) run CH=$$ch VARIANT=$(1) RESULTS_ONLY=1 || status=1; \
	  mk/student.sh merge $(BUILD)/$(IMPL_TAG)/$(1)-$(CC_NAME)/$$ch; \
	done; \
	mk/summary.sh $(foreach ch,$(2),$(BUILD)/$(IMPL_TAG)/$(1)-$(CC_NAME)/$(ch)/results.tsv) || status=1; \
	exit $$status
endef

.PHONY: help check memcheck tsan selftest bugs demo grade clean compile_commands.json format format-check
.PHONY: progress hint watch reset solution
help:
	@echo "Ferrite — C exercises that rebuild Rust systems"
	@echo
	@echo "  make deps                  install the Debian packages the workbook needs (as root)"
	@echo "  make check [CH=01] [PART=1] [TEST=name] [FIRST=1] [IMPL=solutions]"
	@echo "                             build with ASan+UBSan and run the tests; a table per part, hints for failures"
	@echo "  make memcheck [CH=] [IMPL=] the tests under Valgrind memcheck (no sanitizers; a leak fails)"
	@echo "  make tsan [CH=] [IMPL=]     the tests of threaded chapters under ThreadSanitizer"
	@echo "  make progress [CH=]        every chapter's parts as a table, from the last results, and the next step"
	@echo "  make hint [CH=]            the next failing test of the chapter (default: the first not yet green)"
	@echo "  make watch [CH=]           re-run the current part each time a source is saved: first failure, its hint"
	@echo "  make reset CH=01 [FILE=vec.c]   your file(s) back to the skeleton; yours are kept in build/backup/"
	@echo "  make solution CH=01        the reference solution, once the chapter's tests all pass"
	@echo "  make demo CH=01 [IMPL=chapters]   a chapter's demo (default: the reference solution)"
	@echo "  make bench [CH=01]         benchmarks against Rust and C peers"
	@echo "  make docs                  the Doxygen site in build/docs/html"
	@echo "  make selftest              the workbook's own proof: solutions pass, skeletons score 0, docs clean"
	@echo "  make bugs [CH=01] [BUG=name] [FULL=1]"
	@echo "                             the bug catalogue: each classic mistake, the tests that catch it, its concept"
	@echo "  make grade SUB=<dir|zip|tar.gz> [CH=01] [FORMAT=json] [OUT=file]"
	@echo "                             grade a submission in the sandbox, against the pristine tests"
	@echo "  make autograder [CH=01]    a Gradescope autograder zip in build/autograder/"
	@echo "  make format-check          list the C files .clang-format would change (make format rewrites them)"
	@echo "  make compile_commands.json for clangd (written to build/)"
	@echo "  make clean"
	@echo
	@echo "Variables for check, memcheck and tsan:"
	@echo "  PART=2                     only that part's tests (also PART=1-3 or PART=1,4)"
	@echo "  TEST=push_                 the tests whose names start with it; a whole name takes that test alone;"
	@echo "                             several with commas; a name that matches nothing lists the near ones"
	@echo "  FIRST=1                    run the tests one by one, parts in order, and stop at the first failure"
	@echo "  QUIET=1                    the tables only, without each failure's message and hint"
	@echo "  CK_TIMEOUT_MULTIPLIER=3    give every test three times its time (a slow or busy machine)"
	@echo "  WP_STRESS=20               chapter 04: its stress tests do twenty times the work"
	@echo "  IMPL=solutions             the reference solutions instead of your code; CC=clang the other compiler"
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

# The student loop around the tests (mk/student.sh): where you are, the next failing test, re-runs on save.
# hint and watch take the chapter given, or the first one that is not green yet.
STUDENT := FT_ALL_CHS="$(ALL_CHS)" IMPL="$(IMPL)" CC="$(CC)" BUILD="$(BUILD)" mk/student.sh
progress:
	@$(STUDENT) progress $(if $(CH),$(CHS))
hint:
	@$(STUDENT) hint $(if $(CH),$(CHS))
watch:
	@$(STUDENT) watch $(if $(CH),$(CHS))
# reset: your file(s) of a chapter back to the skeleton (git's HEAD), yours kept in build/backup/; solution: the
# reference, once the chapter is green.
reset solution:
	@if [ -z "$(CH)" ] || [ $(words $(CHS)) -ne 1 ]; then echo "$@: pick a chapter, e.g. make $@ CH=01" >&2; exit 2; fi
	@$(STUDENT) $@ $(CHS) $(FILE)

# A demo shows the idea working, so it runs the reference solution unless IMPL is given.
demo: IMPL_DEMO := $(if $(filter command line environment,$(origin IMPL)),$(IMPL),solutions)
demo:
	@if [ $(words $(CHS)) -ne 1 ]; then echo "demo: pick a chapter, e.g. make demo CH=01" >&2; exit 2; fi
	@mkdir -p $(BUILD); status_file=$(BUILD)/demo-$(CHS).status; rm -f $$status_file; \
	$(MAKE) -f mk/chapter.mk demo CH=$(CHS) IMPL=$(IMPL_DEMO) CC=$(CC) VARIANT=asan DEMO_STATUS=$$status_file || exit 1; \
	rc=$$(cat $$status_file); [ "$$rc" = 0 ] || { echo "demo: FAILED (exit status $$rc)" >&2; exit 1; }

selftest:
	@CH="$(CH)" CC="$(CC)" mk/selftest.sh

# The bug catalogue (tests/NN-name/bugs/*.patch, mk/bugs.py): each mistake applied to a scratch copy of the reference
# solution must fail the tests it names, with a hint that names its concept. FULL=1 runs every test for each bug.
bugs:
	@CH="$(CH)" BUG="$(BUG)" FULL="$(FULL)" BUGS_MIN="$(BUGS_MIN)" mk/bugs.py

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
