# `make deps`: installs every Debian package the workbook needs. Idempotent: installs only what is missing and
# says nothing more than one line when all is present.

# Build and test: compilers, Check, sanitizer runtimes for clang, Valgrind, bear for clangd users, clang-format.
DEB_BUILD := make gcc g++ clang libclang-rt-14-dev pkg-config check valgrind bear clang-format
# Documentation site (python3 draws the benchmark charts and writes the search index; the theme takes its
# stylesheets and scripts from doxygen-awesome-css, libjs-highlight.js and libjs-lunr).
DEB_DOCS := doxygen graphviz python3 doxygen-awesome-css libjs-highlight.js libjs-lunr
# Chapter 02: the aarch64 shim is cross-built and run under qemu-user; the demo traces system calls.
DEB_CH02 := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user strace
# Chapter 03: liburing for part 6's io_uring server; the libuv and Tokio echo peers (Tokio is built offline from
# Debian's crate sources; cargo from Debian only where none is on PATH).
DEB_CH03 := liburing-dev libuv1-dev librust-tokio-dev $(if $(shell command -v cargo 2>/dev/null),,cargo)
# Chapter 04: the rayon and GThreadPool peers.
DEB_CH04 := librust-rayon-dev libglib2.0-dev
# Chapter 05: the Cortex-M kernel, cross-built and booted on QEMU's mps2-an385 board.
DEB_CH05 := qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi
# Chapters 06 and 07: a throwaway PostgreSQL cluster for the tests, demo and bench (mk/pgtmp.sh starts the server
# of postgresql-15), and libpq to talk to it.
DEB_PG := postgresql-15 libpq-dev
# Chapter 06's bench: the load generators (wrk closed-loop, h2load open-loop), nginx for the HTTP floor, and the
# crates of the Rust peer written with hyper, tokio and tokio-postgres (built offline from Debian's sources).
DEB_CH06 := wrk nghttp2-client nginx-light librust-hyper-dev librust-tokio-postgres-dev
# Chapter 07: its server is driven by redis-cli and redis-benchmark in the tests (redis-tools); the bench runs it
# beside redis-server (appendfsync always), RocksDB's db_bench (rocksdb-tools), LMDB, LevelDB and SQLite.
DEB_CH07 := redis-tools redis-server rocksdb-tools liblmdb-dev libleveldb-dev libsqlite3-dev
# Chapter 08: mutual TLS on OpenSSL (libssl-dev; the openssl tool to look at the tests' certificates); the bench puts
# the proxy beside HAProxy (balance random(2)) and nginx (random two least_conn) under wrk.
DEB_CH08 := libssl-dev openssl haproxy nginx-light wrk
# The student loop: `make watch` re-runs the tests when a source is saved (inotifywait; it polls without it).
DEB_STUDENT := inotify-tools
# Grading harness: the sandbox, and the archive formats submissions arrive in.
DEB_HARNESS := bubblewrap unzip zip python3
# Benchmarks: rustc is used when it is on PATH already (rustup); otherwise Debian's rustc provides it.
DEB_BENCH := $(if $(shell command -v rustc 2>/dev/null),,rustc)
# Each package once, even when two parts of the workbook need it.
DEB_PACKAGES := $(sort $(DEB_BUILD) $(DEB_STUDENT) $(DEB_DOCS) $(DEB_CH02) $(DEB_CH03) $(DEB_CH04) $(DEB_CH05) \
    $(DEB_PG) $(DEB_CH06) $(DEB_CH07) $(DEB_CH08) $(DEB_HARNESS) $(DEB_BENCH))

.PHONY: deps
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || echo "$$p"; \
	  done); \
	if [ -z "$$missing" ]; then echo "deps: all $(words $(DEB_PACKAGES)) packages present"; exit 0; fi; \
	echo "deps: installing:" $$missing; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "deps: installing packages needs root: run 'sudo make deps'" >&2; exit 1; fi; \
	command -v apt-get >/dev/null || { echo "deps: apt-get not found; install by hand:" $$missing >&2; exit 1; }; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null && \
	echo "deps: installed" $$missing
