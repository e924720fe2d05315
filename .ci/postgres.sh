#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: a cluster made with initdb in a temp
# directory, listening only on a unix socket inside it (no port to collide
# with), trust authentication, no system service. Debian's `postgresql`
# package provides the binaries (apt-get install postgresql).
#
#   eval "$(.ci/postgres.sh start)"   # starts it, prints the exports
#   go test ./store/ ./server/ -run Postgres
#   .ci/postgres.sh stop "$WASMVOICE_TEST_POSTGRES_DIR"
#
# PostgreSQL refuses to run as root: as root the cluster belongs to, and the
# server runs as, the user `nobody`.
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    echo "postgres.sh: no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql" >&2
    exit 1
  fi
  echo "$d"
}

# as runs a command as the cluster's owner.
as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin dir
  bin=$(bindir)
  dir=$(mktemp -d /tmp/wvpg.XXXXXX)
  mkdir "$dir/data"
  [ "$(id -u)" = 0 ] && chown -R nobody: "$dir"
  as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # Durability off: the cluster is thrown away after the tests. Each store
  # test opens its own database with a small pool, so allow many clients.
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 400
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null ||
    { cat "$dir/postgres.log" >&2; exit 1; }
  echo "export WASMVOICE_TEST_POSTGRES_DIR='$dir'"
  echo "export WASMVOICE_TEST_POSTGRES_URL='postgres://postgres@/postgres?host=$dir&sslmode=disable'"
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR}
  case "$dir" in /tmp/wvpg.*) ;; *) echo "postgres.sh: $dir is not a cluster this script made" >&2; exit 1 ;; esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
