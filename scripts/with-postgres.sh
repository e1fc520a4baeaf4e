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
#
# With openssl at hand the cluster also serves TLS, with certificates made for the run in
# CONCORD_TEST_POSTGRES_TLS: ca.pem (the authority), the server's for `localhost` only, and
# client.pem/client.key for the role concord_cert, which may log in only with that certificate.
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

tls_options=
if command -v openssl >/dev/null; then
  tls="$dir/tls"
  mkdir "$tls"
  key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  sign() { # name, subject, extensions
    key "$tls/$1.key"
    openssl req -new -key "$tls/$1.key" -subj "$2" -out "$tls/$1.csr"
    printf '%s\n' "$3" >"$tls/$1.ext"
    openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
      -days 2 -extfile "$tls/$1.ext" -out "$tls/$1.pem" 2>/dev/null
  }
  key "$tls/ca.key"
  openssl req -x509 -new -key "$tls/ca.key" -subj "/CN=Concord test authority" -days 2 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tls/ca.pem"
  sign server "/CN=localhost" "subjectAltName=DNS:localhost
basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth"
  sign client "/CN=concord_cert" "basicConstraints=CA:FALSE
extendedKeyUsage=clientAuth"
  chmod 644 "$tls"/*.pem
  chmod 600 "$tls"/*.key
  chmod 755 "$tls"
  # The server's key must belong to the server's user.
  if [ "$(id -u)" = 0 ]; then chown nobody "$tls/server.key"; fi
  tls_options="-c ssl=on -c ssl_cert_file=$tls/server.pem -c ssl_key_file=$tls/server.key -c ssl_ca_file=$tls/ca.pem"
  hba="$dir/data/pg_hba.conf"
  { printf 'hostssl all concord_cert all cert\nhostnossl all concord_cert all reject\n'; cat "$hba"; } >"$hba.new"
  cat "$hba.new" >"$hba" && rm "$hba.new"
fi

# A free port: asked of the system, then bound by PostgreSQL; another program may take it in
# between, so a failed start is tried again on another.
started=
for _ in 1 2 3 4 5; do
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  if run_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -o \
    "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$dir' -c fsync=${PG_FSYNC:-off} -c max_connections=200 $tls_options" \
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
if [ -n "$tls_options" ]; then
  run_as "$bin/psql" -q -h "$dir" -p "$port" -U concord -d postgres \
    -c "CREATE ROLE concord_cert LOGIN" >/dev/null
  export CONCORD_TEST_POSTGRES_TLS="$tls"
  echo "note: it serves TLS too, with the certificates in $tls" >&2
fi
"$@"
