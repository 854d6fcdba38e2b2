#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb in a new temporary directory, trust
# authentication, listening on 127.0.0.1 only, on a free port, its socket in that directory
# (so it never meets a cluster of the machine's own), tuned for tests (fsync off: nothing in
# it outlives the run).
#
#   scripts/pg-throwaway.sh run CMD [ARG...]   start, run CMD with SCIMDESK_TEST_POSTGRES set,
#                                               stop and remove; exits with CMD's status
#   eval "$(scripts/pg-throwaway.sh start)"     start; prints the exports of
#                                               SCIMDESK_TEST_POSTGRES and SCIMDESK_PG_THROWAWAY
#   scripts/pg-throwaway.sh stop DIR            stop the cluster in DIR and remove DIR
#
# It needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin, or PG_BIN): on Debian,
# apt-get install postgresql. initdb refuses root, so as root the cluster runs as the user
# `postgres` (created if missing, as a system user without a shell); otherwise as the caller.
set -euo pipefail
shopt -s inherit_errexit

die() { echo "pg-throwaway: $*" >&2; exit 2; }

# A directory is ours to stop and remove only with this marker in it.
MARKER=".scimdesk-pg-throwaway"

# Sets $bin to the directory of the newest server binaries (or PG_BIN).
find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/initdb" ] || die "PG_BIN=$PG_BIN holds no initdb"
    bin="$PG_BIN"
    return
  fi
  local initdb
  initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$initdb" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql, or set PG_BIN)"
  bin="${initdb%/initdb}"
}

# Runs a command as the cluster's owner ($RUN_AS, empty for the caller).
as_owner() {
  if [ -n "$RUN_AS" ]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

# As root: the cluster's owner is `postgres`, created when missing.
owner_for_root() {
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postgres || die "cannot create the user postgres"
  fi
  RUN_AS=postgres
}

# Whether something answers on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  # Globals, not locals: the EXIT trap reads them after a die.
  started=""
  find_bin
  RUN_AS=""
  if [ "$(id -u)" = 0 ]; then owner_for_root; fi
  dir="$(mktemp -d "${TMPDIR:-/tmp}/scimdesk-pg.XXXXXX")"
  touch "$dir/$MARKER"
  if [ -n "$RUN_AS" ]; then chown -R "$RUN_AS" "$dir"; fi
  # The owner may not be allowed into the caller's working directory.
  cd "$dir"
  # Whatever goes wrong from here on, nothing is left running or on disk.
  trap '[ -n "$started" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$dir"' EXIT
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  cat >>"$dir/data/postgresql.conf" <<EOF

# scripts/pg-throwaway.sh: a test cluster, thrown away after the run.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  # A free port: another process may take it between the check and the start, so a start
  # that fails is tried again on another port.
  for tries in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 30000))
    port_taken "$port" && continue
    rm -f "$dir/server.log"
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 \
      start >/dev/null 2>&1; then
      started=1
      break
    fi
    grep -q "could not bind\|already in use" "$dir/server.log" 2>/dev/null \
      || { cat "$dir/server.log" >&2 2>/dev/null; die "pg_ctl start failed"; }
  done
  [ -n "$started" ] || die "no free port after $tries tries"
  # pg_ctl -w returns once the server accepts connections; this checks it does on TCP.
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || die "the cluster does not answer on 127.0.0.1:$port"
  trap - EXIT
  echo "pg-throwaway: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port in $dir" >&2
  echo "export SCIMDESK_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
  echo "export SCIMDESK_PG_THROWAWAY=$dir"
}

stop() {
  local dir="${1:-}" owner
  [ -n "$dir" ] || die "usage: pg-throwaway.sh stop DIR"
  [ -e "$dir" ] || return 0
  [ -f "$dir/$MARKER" ] || die "$dir is not a directory pg-throwaway.sh made: left alone"
  find_bin
  RUN_AS=""
  owner="$(stat -c %U "$dir/data" 2>/dev/null || true)"
  if [ "$(id -u)" = 0 ] && [ -n "$owner" ] && [ "$owner" != root ]; then RUN_AS="$owner"; fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  echo "pg-throwaway: stopped and removed $dir" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  run)
    shift
    [ $# -gt 0 ] || die "usage: pg-throwaway.sh run CMD [ARG...]"
    exports="$(start)"
    eval "$exports"
    trap 'stop "$SCIMDESK_PG_THROWAWAY"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    set +e
    "$@"
    status=$?
    exit "$status"
    ;;
  *) die "usage: pg-throwaway.sh start | stop DIR | run CMD [ARG...]" ;;
esac
