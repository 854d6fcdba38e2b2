#!/usr/bin/env bash
# Drops the test databases (scimdesk_test_*) left on the PostgreSQL server that
# SCIMDESK_TEST_POSTGRES names. Each test drops its own database when it ends; what is left
# comes from runs that were killed (a timeout, Ctrl-C twice, SIGKILL).
#
#   SCIMDESK_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres scripts/pg-test-cleanup.sh
#   scripts/pg-test-cleanup.sh --force     also those in use (ends their connections)
#
# Without --force a database somebody is connected to (a run still going) is left alone.
# Needs psql (apt-get install postgresql-client).
set -euo pipefail
die() { echo "pg-test-cleanup: $*" >&2; exit 2; }

FORCE=""
case "${1:-}" in
  "") ;;
  --force) FORCE=1 ;;
  *) die "usage: pg-test-cleanup.sh [--force]" ;;
esac
SERVER="${SCIMDESK_TEST_POSTGRES:-}"
[ -n "$SERVER" ] || die "SCIMDESK_TEST_POSTGRES is not set: it names the server, as in postgres://postgres@127.0.0.1:5432/postgres"
command -v psql >/dev/null 2>&1 || die "needs psql (apt-get install postgresql-client)"

sql() { psql "$SERVER" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }

# The names are ours (scimdesk_test_ and hex), so they need no quoting beyond the LIKE.
IN_USE="EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
WHICH="NOT $IN_USE"
[ -z "$FORCE" ] || WHICH="true"
names="$(sql "SELECT datname FROM pg_database d
              WHERE datname LIKE 'scimdesk\_test\_%' AND datname ~ '^[a-z0-9_]+$' AND $WHICH
              ORDER BY datname")"
busy="$(sql "SELECT count(*) FROM pg_database d
             WHERE datname LIKE 'scimdesk\_test\_%' AND $IN_USE")"

dropped=0
failed=0
for name in $names; do
  if sql "DROP DATABASE IF EXISTS $name${FORCE:+ WITH (FORCE)}"; then
    dropped=$((dropped + 1))
  else
    failed=$((failed + 1))
  fi
done
msg="pg-test-cleanup: dropped $dropped test database(s)"
[ -n "$FORCE" ] || msg="$msg; left $busy in use"
[ "$failed" -eq 0 ] || msg="$msg; $failed could not be dropped"
echo "$msg"
[ "$failed" -eq 0 ]
