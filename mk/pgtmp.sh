#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for a chapter's tests, demo and bench: started in a folder of its own, reached on a
# Unix socket in that folder, removed when stopped. No TCP port is opened (listen_addresses = ''), so two clusters in
# two folders never collide, and nothing outside the machine can reach one.
#
#   mk/pgtmp.sh start DIR [--watch]   makes DIR, starts a cluster there and prints one line, its libpq connection
#                                     string: host=DIR port=5432 user=ferrite dbname=postgres (for psql -d and
#                                     PQconnectdb). A server still running in DIR from an earlier start is stopped
#                                     first. With --watch, the cluster is stopped and DIR removed as soon as this
#                                     script's standard input reaches end of file: give it a pipe whose write end the
#                                     caller keeps open, and a caller that dies, however it dies, takes the cluster
#                                     with it (tests/lib/ft_pg.c does this)
#   mk/pgtmp.sh stop DIR              stops the cluster in DIR (immediate shutdown: a throwaway cluster needs no
#                                     checkpoint) and removes DIR; nothing to stop is not an error
#   mk/pgtmp.sh status DIR            "running (pid N): <connection string>" and status 0, or "not running" and 3
#   mk/pgtmp.sh template [FOLDER]     makes the template below (if missing) and prints its path
#
# Exit status: 0 done, 1 failed (stderr says why; a failed start leaves no server running and no DIR), 2 wrong
# command line, 3 PostgreSQL is not installed (the message names the Debian package), or `status` found none.
#
# Speed: initdb takes seconds, so it runs once per PostgreSQL build, machine architecture and set of settings below,
# into a template, pgtmp-<version>-<arch>-<hash>, in $PGTMP_TEMPLATES (default: DIR's parent folder); each start
# copies it (a few tenths of a second). The template is world-readable and holds no secret (trust authentication).
# A chapter makes it while it builds (`template`), because where its tests run (the grading sandbox) only a scratch
# /tmp may be writable.
#
# Users: PostgreSQL refuses to run as root. Run as root (CI), the server runs as $PGTMP_USER (default nobody): DIR
# is handed to that user, so every folder above DIR must be searchable by others; root reaches the socket anyway.
# Run as anyone else (a student, a grading slot's uid), the server runs as the caller. initdb also insists on a user
# name: a uid with no line in /etc/passwd (a grading slot's) runs it in a user namespace as nobody.
#
# The cluster: trust authentication on the local socket only (pg_hba.conf has no host line), superuser ferrite,
# database postgres; fsync and synchronous commit on (a chapter about durability measures real fsyncs; a start with
# PGTMP_FSYNC=off turns both off, with full_page_writes, for tests that only need a database that answers); small
# shared_buffers and WAL segments (1 MiB, at most 32 MiB of WAL), room for a pool of 16 connections and a test's own.
# Dynamic shared memory goes to /dev/shm when the server may write there, else to files in the data folder.
#
# Environment: PGTMP_TEMPLATES (where templates live), PGTMP_USER (the server's user when run as root), PGTMP_BINDIR
# (the server's programs; default `pg_config --bindir`, else /usr/lib/postgresql/15/bin), PGTMP_TIMEOUT (seconds
# a start or a stop may take, default 60), PGTMP_FSYNC (on, the default, or off: see "The cluster").
set -euo pipefail
export LC_ALL=C

SCRIPT=$(realpath "$0")
PORT=5432
SUPERUSER=ferrite
DATABASE=postgres
TIMEOUT=${PGTMP_TIMEOUT:-60}
SERVER_USER=${PGTMP_USER:-nobody}
DURABLE=${PGTMP_FSYNC:-on}
SOCKET_MAX=107 # sun_path holds 108 bytes, the last one a NUL

INITDB_OPTIONS=(--username="$SUPERUSER" --auth=trust --encoding=UTF8 --locale=C --wal-segsize=1 --no-instructions)
SETTINGS="
# Added by mk/pgtmp.sh: a throwaway cluster for tests, reached on a Unix socket only (-k DIR at start).
listen_addresses = ''
port = $PORT
max_connections = 40
shared_buffers = 16MB
fsync = on
synchronous_commit = on
full_page_writes = on
min_wal_size = 2MB
max_wal_size = 32MB
jit = off
huge_pages = off
timezone = 'UTC'
log_timezone = 'UTC'
lc_messages = 'C'
"
HBA="# mk/pgtmp.sh: trust on the local socket only. No host line, and no TCP port is open (listen_addresses = '').
local all all trust
local replication all trust
"

usage() {
    sed -n '6,17p' "$SCRIPT" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() {
    echo "pgtmp: $*" >&2
    exit 1
}

# ---- the server's programs and user ---------------------------------------------------------------------------

find_server() {
    local configured=${PGTMP_BINDIR:-}
    if [ -z "$configured" ] && command -v pg_config >/dev/null 2>&1; then
        configured=$(pg_config --bindir 2>/dev/null || true)
    fi
    local candidate
    for candidate in "$configured" /usr/lib/postgresql/15/bin; do
        if [ -n "$candidate" ] && [ -x "$candidate/postgres" ] && [ -x "$candidate/initdb" ]; then
            BINDIR=$candidate
            VERSION_TEXT=$("$BINDIR/postgres" --version)
            VERSION=$(awk '{print $3}' <<<"$VERSION_TEXT")
            return 0
        fi
    done
    [ "$configured" != /usr/lib/postgresql/15/bin ] || configured=
    echo "pgtmp: the PostgreSQL server (postgres, initdb) is not in ${configured:+$configured or }/usr/lib/postgresql/15/bin:" \
        "install postgresql-15: sudo make deps" >&2
    exit 3
}

# AS_SERVER: the words that run a command as the server's user: none for the caller, setpriv (of util-linux, which
# needs no line in /etc/passwd or login shell, unlike su and runuser) for $PGTMP_USER when the caller is root. An
# array, not a function: `"${AS_SERVER[@]}" prog &` forks once and execs, so $! is the program's own pid.
setup_user() {
    AS_SERVER=()
    AS_ROOT=0
    if [ "$(id -u)" -eq 0 ]; then
        AS_ROOT=1
        SERVER_UID=$(id -u "$SERVER_USER" 2>/dev/null) ||
            die "PostgreSQL refuses to run as root, and there is no user '$SERVER_USER' to run it as: set PGTMP_USER"
        SERVER_GID=$(id -g "$SERVER_USER")
        [ "$SERVER_UID" -ne 0 ] || die "PGTMP_USER=$SERVER_USER is root, which PostgreSQL refuses"
        AS_SERVER=(setpriv --reuid="$SERVER_UID" --regid="$SERVER_GID" --clear-groups --)
    fi
}
as_server() { "${AS_SERVER[@]}" "$@"; }

# initdb looks up the name of its uid and stops when there is none (a grading slot's uid). In a user namespace of its
# own the same process is nobody, a user with a name; what it writes is the caller's outside.
run_initdb() {
    if [ "$AS_ROOT" = 1 ] || getent passwd "$(id -u)" >/dev/null 2>&1; then
        as_server "$BINDIR/initdb" "$@"
    else
        local nobody
        nobody=$(id -u nobody 2>/dev/null || echo 65534)
        unshare --user --map-user="$nobody" --map-group="$(id -g nobody 2>/dev/null || echo 65534)" \
            "$BINDIR/initdb" "$@" && return 0
        echo "uid $(id -u) has no name in /etc/passwd, so initdb ran in a user namespace, which this machine may" \
            "refuse (unprivileged user namespaces off): make the template as a user with a name" >&2
        return 1
    fi
}

# ---- the template -----------------------------------------------------------------------------------------------

template_path() {
    local key
    key=$(printf '%s\n' "$VERSION_TEXT" "$(uname -m)" "${INITDB_OPTIONS[*]}" "$SETTINGS" "$HBA" |
        sha256sum | cut -c1-12)
    echo "$1/pgtmp-$VERSION-$(uname -m)-$key"
}

# ensure_template FOLDER: sets TEMPLATE, making it first if it is missing. Two callers may make it at once: each
# initdb runs in a folder of its own and is renamed into place; the loser's copy is dropped.
ensure_template() {
    TEMPLATE=$(template_path "$1")
    [ -f "$TEMPLATE/PG_VERSION" ] && return 0
    mkdir -p "$1" 2>/dev/null || true
    if [ ! -d "$1" ] || [ ! -w "$1" ]; then
        die "no template in $1, and that folder is not writable: make one first with \`mk/pgtmp.sh template $1\`"
    fi
    WORK=$(mktemp -d "$1/.pgtmp-initdb.XXXXXX")
    chmod 755 "$WORK"
    [ "$AS_ROOT" = 0 ] || chown "$SERVER_UID:$SERVER_GID" "$WORK"
    if ! run_initdb -D "$WORK/data" "${INITDB_OPTIONS[@]}" >"$WORK/initdb.log" 2>&1; then
        tail -n 20 "$WORK/initdb.log" | sed 's/^/  initdb: /' >&2
        die "initdb failed (its last lines are above)"
    fi
    printf '%s' "$SETTINGS" >>"$WORK/data/postgresql.conf"
    printf '%s' "$HBA" >"$WORK/data/pg_hba.conf"
    chmod -R a+rX,go-w "$WORK/data" # each start copies it as its own user, which may be another
    if ! mv -T "$WORK/data" "$TEMPLATE" 2>/dev/null && [ ! -f "$TEMPLATE/PG_VERSION" ]; then
        die "could not put the template in place at $TEMPLATE"
    fi
    rm -rf "$WORK"
    WORK=
}

# ---- a cluster's folder -----------------------------------------------------------------------------------------

# DIR as an absolute path, refused when libpq or the server could not take it.
cluster_dir() {
    [ -n "$1" ] || usage
    local dir
    dir=$(realpath -m "$1")
    case $dir in
    *[[:space:]\'\"\\,]*) die "DIR must hold no space, quote, backslash or comma (it goes into a connection string): '$dir'" ;;
    esac
    [ $((${#dir} + ${#PORT} + 10)) -le $SOCKET_MAX ] ||
        die "DIR is too long for a Unix socket (DIR/.s.PGSQL.$PORT must fit in $SOCKET_MAX bytes): $dir"
    echo "$dir"
}

conninfo() { echo "host=$1 port=$PORT user=$SUPERUSER dbname=$DATABASE"; }

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# runs_with PID WORDS: PID is alive and its command line holds WORDS (so a pid reused since is never signalled).
runs_with() {
    [[ $1 =~ ^[0-9]+$ ]] && alive "$1" || return 1
    local words
    { mapfile -d '' -t words <"/proc/$1/cmdline"; } 2>/dev/null || return 1
    [[ " ${words[*]} " == *" $2 "* ]]
}

# wait_gone PID SECONDS: polls until PID has ended; false at the deadline.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while alive "$1"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# postmaster.pid: line 1 the postmaster's pid, line 8 its state ("ready" once it accepts connections).
postmaster_line() {
    local lines=()
    { mapfile -t -n "$2" lines <"$1/data/postmaster.pid"; } 2>/dev/null || true
    echo "${lines[$2 - 1]:-}"
}
postmaster_pid() { postmaster_line "$1" 1; }

# halt DIR: ends the watchdog (unless it is the caller) and the server of DIR, and waits until both are gone.
halt() {
    local watcher server
    watcher=$(cat "$1/watch.pid" 2>/dev/null || true)
    if [ -n "$watcher" ] && [ "$watcher" != "$$" ] && runs_with "$watcher" "watch $1"; then
        kill -KILL "$watcher" 2>/dev/null || true
        wait_gone "$watcher" 10 || echo "pgtmp: the watchdog $watcher of $1 would not end" >&2
    fi
    server=$(postmaster_pid "$1")
    if [ -n "$server" ] && runs_with "$server" "$1/data"; then
        end_server "$server"
    fi
}

# end_server PID: immediate shutdown (SIGQUIT), the postmaster ending its children and then itself. Sent again each
# second, since a postmaster still starting may not have its handler yet; SIGKILL if it is still there at the deadline.
end_server() {
    local deadline=$((SECONDS + TIMEOUT))
    while alive "$1" && [ "$SECONDS" -lt "$deadline" ]; do
        kill -QUIT "$1" 2>/dev/null || true
        wait_gone "$1" 1 || true
    done
    if alive "$1"; then
        kill -KILL "$1" 2>/dev/null || true
        wait_gone "$1" 10 || echo "pgtmp: the server $1 would not end" >&2
    fi
}

# lock DIR: holds DIR/.lock (descriptor 9) until the script ends, so that a stop and a start, or the watchdog and a
# stop, of the same DIR take turns.
lock() {
    exec 9>>"$1/.lock"
    flock 9
}

# A folder that holds something other than a cluster of this script's is never removed.
check_ours() {
    [ ! -e "$1" ] && return 0
    [ -d "$1" ] || die "$1 exists and is not a folder"
    [ -e "$1/.pgtmp" ] || [ -z "$(ls -A "$1")" ] || [ "$(ls -A "$1")" = .lock ] ||
        die "$1 holds files that mk/pgtmp.sh did not put there: refusing to use or remove it"
}

# ---- commands ---------------------------------------------------------------------------------------------------

cmd_start() {
    local dir watch=0
    dir=$(cluster_dir "${1:-}")
    case ${2:-} in --watch) watch=1 ;; "") ;; *) usage ;; esac
    [ $# -le 2 ] || usage
    find_server
    setup_user
    check_ours "$dir"
    mkdir -p "$dir"
    lock "$dir"
    halt "$dir" # a server left by an earlier start of this DIR (its caller was killed)
    find "$dir" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
    touch "$dir/.pgtmp"

    STARTING_DIR=$dir SERVER='' WATCHER='' WORK=''
    trap start_failed EXIT
    trap 'exit 1' INT TERM HUP
    ensure_template "${PGTMP_TEMPLATES:-$(dirname "$dir")}"

    [ "$AS_ROOT" = 0 ] || chown "$SERVER_UID:$SERVER_GID" "$dir"
    as_server test -w "$dir" -a -x "$dir" ||
        die "the server's user ($SERVER_USER) cannot write $dir: every folder above it must be searchable by others"
    as_server cp -R "$TEMPLATE" "$dir/data"
    as_server chmod 700 "$dir/data"
    local shared_memory=mmap
    if [ -d /dev/shm ] && as_server test -w /dev/shm; then shared_memory=posix; fi

    # setsid: the server leaves the caller's session (as pg_ctl does), so a ^C meant for the caller does not reach
    # it; the caller's end is what --watch sees. Neither the lock nor the watch pipe is inherited; SIGINT and SIGQUIT,
    # which bash makes a background command ignore, are given back their default. disown: its end is no job's news.
    local durability=()
    [ "$DURABLE" = on ] || durability=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    "${AS_SERVER[@]}" setsid env --default-signal=INT,QUIT "$BINDIR/postgres" -D "$dir/data" -k "$dir" \
        -c dynamic_shared_memory_type="$shared_memory" "${durability[@]}" </dev/null >>"$dir/postgres.log" 2>&1 9>&- &
    SERVER=$!
    disown "$SERVER"
    local deadline=$((SECONDS + TIMEOUT)) state=
    while :; do
        alive "$SERVER" || die "the server stopped while starting"
        state=$(postmaster_line "$dir" 8)
        [ "${state%% *}" != ready ] || break
        [ "$SECONDS" -lt "$deadline" ] || die "the server was not ready within $TIMEOUT s"
        sleep 0.05
    done

    if [ "$watch" = 1 ]; then
        # bash gives a background command /dev/null as its input unless told otherwise: hand it descriptor 0 as 8.
        exec 8<&0
        setsid "$BASH" "$SCRIPT" watch "$dir" <&8 >/dev/null 2>&1 8<&- 9>&- &
        WATCHER=$!
        echo "$WATCHER" >"$dir/watch.pid"
        exec 8<&-
    fi
    trap - EXIT INT TERM HUP
    conninfo "$dir"
}

# The EXIT trap of a start that did not finish: nothing of it may be left running or on disk.
start_failed() {
    local status=$?
    trap - EXIT INT TERM HUP
    [ -z "$WORK" ] || rm -rf "$WORK"
    if [ -n "$WATCHER" ]; then kill -KILL "$WATCHER" 2>/dev/null || true; fi
    [ -z "$SERVER" ] || end_server "$SERVER"
    if [ -s "$STARTING_DIR/postgres.log" ]; then
        tail -n 15 "$STARTING_DIR/postgres.log" | sed 's/^/  server: /' >&2
    fi
    rm -rf "$STARTING_DIR"
    echo "pgtmp: start failed; no server is left running and $STARTING_DIR is removed" >&2
    exit "$((status == 0 ? 1 : status))"
}

# The watchdog of `start --watch`: waits for end of file on its input, then stops the cluster. It ignores the
# signals a terminal or a test runner sends to its caller; SIGKILL (from `stop`) still ends it.
cmd_watch() {
    trap '' INT TERM HUP QUIT
    while read -r _; do :; done
    cmd_stop "$1"
}

cmd_stop() {
    local dir
    dir=$(cluster_dir "${1:-}")
    [ -d "$dir" ] || return 0
    check_ours "$dir"
    setup_user
    lock "$dir"
    halt "$dir"
    rm -rf "$dir"
}

cmd_status() {
    local dir server
    dir=$(cluster_dir "${1:-}")
    server=$(postmaster_pid "$dir")
    if [ -n "$server" ] && runs_with "$server" "$dir/data"; then
        echo "running (pid $server): $(conninfo "$dir")"
    else
        echo "not running"
        exit 3
    fi
}

cmd_template() {
    local folder=${1:-${PGTMP_TEMPLATES:-}}
    [ -n "$folder" ] || usage
    find_server
    setup_user
    WORK=
    trap '[ -z "$WORK" ] || rm -rf "$WORK"' EXIT
    ensure_template "$(realpath -m "$folder")"
    echo "$TEMPLATE"
}

command=${1:-}
[ $# -eq 0 ] || shift
case $command in
start) cmd_start "$@" ;;
stop) [ $# -eq 1 ] || usage && cmd_stop "$1" ;;
status) [ $# -eq 1 ] || usage && cmd_status "$1" ;;
template) [ $# -le 1 ] || usage && cmd_template "$@" ;;
watch) [ $# -eq 1 ] || usage && cmd_watch "$1" ;;
*) usage ;;
esac
