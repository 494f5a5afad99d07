# `make docs`: builds the documentation site with Doxygen into build/docs/html and fails on any Doxygen warning.
# Included by the top-level Makefile; also works alone: `make -f mk/docs.mk docs`.
# Configuration: docs/Doxyfile (its paths are relative to the repository root, so Doxygen runs from there).

# The repository root, found from this file's own path so the recipe works wherever make was started.
# (`:=` matters: MAKEFILE_LIST grows with every later include.)
DOCS_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# Fixed by docs/Doxyfile (OUTPUT_DIRECTORY and WARN_LOGFILE): change both together.
DOCS_OUT := build/docs
DOCS_LOG := $(DOCS_OUT)/warnings.log
# Pages and images generated before Doxygen runs (docs/plots.py); docs/Doxyfile reads them from here.
DOCS_GEN := $(DOCS_OUT)/gen

# Defining a target here must not make it the default goal of the Makefile that includes this file.
docs_saved_goal := $(.DEFAULT_GOAL)

.PHONY: docs
docs:
	@for tool in doxygen dot; do \
	  command -v $$tool >/dev/null 2>&1 || { \
	    echo "docs: '$$tool' not found: install the Debian packages doxygen graphviz (or run 'sudo make deps')" >&2; \
	    exit 1; }; \
	done
	@command -v python3 >/dev/null 2>&1 || { \
	  echo "docs: 'python3' not found: install the Debian package python3" >&2; exit 1; }
	@# Start clean so no page of a removed chapter or function survives from an older run.
	@cd $(DOCS_ROOT) && rm -rf $(DOCS_OUT)/html $(DOCS_GEN) $(DOCS_LOG) && mkdir -p $(DOCS_GEN)
	@# The Benchmarks page and each chapter's figures, from the committed records bench/*/results.tsv (build/bench
	@# only for a chapter that has no record yet).
	@cd $(DOCS_ROOT) && python3 docs/plots.py --out-dir $(DOCS_GEN)
	@# The chapter pages (from the READMEs, with navigation, diagram, figures and side-by-side code), the
	@# Rust <-> C index and the front page; Doxygen reads these from $(DOCS_GEN), not the READMEs.
	@cd $(DOCS_ROOT) && python3 docs/pages.py --out-dir $(DOCS_GEN)
	@# The theme's files from Debian's packages must be there before Doxygen copies them (docs/theme/theme.py).
	@cd $(DOCS_ROOT) && python3 docs/theme/theme.py check
	@cd $(DOCS_ROOT) && doxygen docs/Doxyfile
	@cd $(DOCS_ROOT) && if [ -s $(DOCS_LOG) ]; then \
	  echo "docs: Doxygen reported $$(grep -c 'warning:' $(DOCS_LOG)) warning(s); the site must build without any:" >&2; \
	  cat $(DOCS_LOG) >&2; \
	  exit 1; \
	fi
	@# Each C item's "Rust" heading then leads to its row in the grouped Rust <-> C index.
	@cd $(DOCS_ROOT) && python3 docs/pages.py --link-back $(DOCS_OUT)/html
	@# The full-text search index, from the finished pages.
	@cd $(DOCS_ROOT) && python3 docs/theme/theme.py index $(DOCS_OUT)/html
	@# Last, the site as a reader meets it: no raw Markdown, no dead link, every chapter page complete.
	@cd $(DOCS_ROOT) && python3 mk/docs_check.py $(DOCS_OUT)
	@echo "docs: $(DOCS_ROOT)/$(DOCS_OUT)/html/index.html"

.DEFAULT_GOAL := $(docs_saved_goal)
