# `make bench [CH=01] [IMPL=chapters]`: runs bench/<chapter>/run.sh for every selected chapter.
#
# Included by the top-level Makefile, which sets CHS (the selected chapter folders) and IMPL. Also works alone:
#   make -f mk/bench.mk bench CHS=01-ownership-buffers
# A benchmark measures the reference solution unless IMPL is given on the command line or in the environment
# (as `make demo` does): the student's skeleton has nothing to time until it works.
# Knobs such as REPS=3 or HUGEPAGES=1 given to make reach the scripts through the environment.
# A run of the reference solution that completes also refreshes the chapter's committed record,
# bench/<chapter>/results.tsv and results.meta (bench/lib.sh says how; RECORD=0 leaves it alone). The command line
# is passed along for the record: `make bench` and the variables given on it.

BENCH_IMPL := $(if $(filter command line environment,$(origin IMPL)),$(IMPL),solutions)
BENCH_CC := $(if $(filter default,$(origin CC)),gcc,$(CC))
BENCH_BUILD := $(or $(BUILD),build)
# make keeps the command line's variables in reverse order; the record shows them as they were typed.
bench_reverse = $(if $(1),$(call bench_reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
BENCH_COMMAND := make bench$(call bench_reverse,$(MAKEOVERRIDES))
# Alone and without CHS, every chapter that has a benchmark.
BENCH_CHS := $(or $(CHS),$(patsubst bench/%/run.sh,%,$(wildcard bench/*/run.sh)))

.PHONY: bench
bench:
	@status=0; for ch in $(BENCH_CHS); do \
	  if [ -x bench/$$ch/run.sh ]; then \
	    echo "== bench $$ch (IMPL=$(BENCH_IMPL), CC=$(BENCH_CC))"; \
	    IMPL='$(BENCH_IMPL)' CC='$(BENCH_CC)' BUILD='$(BENCH_BUILD)' BENCH_COMMAND='$(BENCH_COMMAND)' \
	      bench/$$ch/run.sh || status=1; \
	  else \
	    echo "no benchmark for $$ch"; \
	  fi; \
	done; exit $$status
