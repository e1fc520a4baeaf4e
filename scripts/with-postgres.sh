#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL beside it, for the tests that need one:
#
#   scripts/with-postgres.sh cargo test ...
#
# It initialises a cluster in a temporary directory (as an unprivileged user when run as root:
# initdb refuses root), listens on a free loopback port, exports its URL as
# CONCORD_TEST_POSTGRES, runs the command, then stops the cluster and removes the directory,
# whatever the command did. Without PostgreSQL's programs (PG_BIN, or /usr/lib/postgresql/*/bin)
# the command runs alone, and the tests that need PostgreSQL skip. The cluster skips fsync, for
# speed; PG_FSYNC=on keeps it (durable commits, as in production: for benchmarks).
set -euo pipefail

bin="${PG_BIN:-}"
if [ -z "$bin" ]; then
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "note: no PostgreSQL found (set PG_BIN); tests that need it skip" >&2
  exec "$@"
fi

# The directory must be one the cluster's user can reach: /tmp, whatever TMPDIR says.
dir="$(mktemp -d /tmp/concord-pg.XXXXXX)"
run_as() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  chmod 755 "$dir"
  chown nobody "$dir"
  run_as() { runuser -u nobody -- "$@"; }
fi
stop() {
  run_as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

run_as "$bin/initdb" -D "$dir/data" -U concord --auth=trust -E UTF8 --no-sync \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

# A free port: asked of the system, then bound by PostgreSQL; another program may take it in
# between, so a failed start is tried again on another.
started=
for _ in 1 2 3 4 5; do
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  if run_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o \
    "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir' -c fsync=${PG_FSYNC:-off} -c max_connections=200" \
    start >/dev/null; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  echo "PostgreSQL did not start:" >&2
  cat "$dir/postgres.log" >&2 || true
  exit 1
fi

export CONCORD_TEST_POSTGRES="postgres://concord@127.0.0.1:$port/postgres"
echo "note: PostgreSQL for the tests at $CONCORD_TEST_POSTGRES" >&2
"$@"
