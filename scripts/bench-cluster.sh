#!/usr/bin/env bash
# The relay cluster's benchmarks (docs/benchmarks.md, "Relays on PostgreSQL"), in one run:
#
#   cargo build --release -p relay -p e2e
#   PG_FSYNC=on scripts/with-postgres.sh scripts/bench-cluster.sh
#
# 1. the many-documents scenario on one relay with its SQLite store;
# 2. the same on three relays sharing the PostgreSQL store (each document's editors on
#    different relays, so most connections are forwarded to the owner);
# 3. takeover: a relay owning N documents is killed, for N = 10, 100 and 1000.
# SECONDS_EACH (default 30) is how long each editing scenario runs; LEASE_MS (default 10000);
# SSLMODE (default disable) is how the relays reach PostgreSQL (require: over TLS);
# SCENARIOS (default "many takeover") picks the parts; TAKEOVER_DOCS (default "10 100 1000") the
# takeover sizes.
# Every client comes from 127.0.0.1, so the per-address cap on connections that have not said
# hello yet is lifted.
set -euo pipefail
: "${CONCORD_TEST_POSTGRES:?run this under scripts/with-postgres.sh}"
bin="$(dirname "$0")/../target/release"
seconds="${SECONDS_EACH:-30}"
lease="${LEASE_MS:-10000}"
work="$(mktemp -d /tmp/concord-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh database on the PostgreSQL at CONCORD_TEST_POSTGRES; prints its URL.
database() {
  local name="concord_bench_$1_$$_$(date +%s%N)"
  psql "$CONCORD_TEST_POSTGRES" -qc "CREATE DATABASE $name" >/dev/null ||
    { echo "cannot create the database $name" >&2; exit 1; }
  echo "${CONCORD_TEST_POSTGRES%/*}/$name?sslmode=${SSLMODE:-disable}"
}

# Starts a relay on port $1 with the rest as options; waits until it answers /healthz.
relay() {
  local port="$1"
  shift
  RUST_LOG=warn "$bin/concord-relay" serve --listen "127.0.0.1:$port" --data-dir "$work/$port" \
    --ops-per-second 1000 --max-unauthenticated 100000 --max-unauthenticated-per-address 100000 "$@" &
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  echo "relay on $port did not start" >&2
  exit 1
}

scenarios="${SCENARIOS:-many takeover}"
if [[ " $scenarios " == *" many "* ]]; then
echo "== many documents, one relay, SQLite"
relay 9301
"$bin/loadgen" --addr 127.0.0.1:9301 --pid "${pids[-1]}" --seconds "$seconds" many

echo "== many documents, three relays, PostgreSQL"
store="$(database many)"
relay 9311 --store "$store" --lease-ms "$lease"
relay 9312 --store "$store" --lease-ms "$lease"
relay 9313 --store "$store" --lease-ms "$lease"
"$bin/loadgen" --addr 127.0.0.1:9311,127.0.0.1:9312,127.0.0.1:9313 \
  --pid "${pids[-3]},${pids[-2]},${pids[-1]}" --seconds "$seconds" many

fi

if [[ " $scenarios " == *" takeover "* ]]; then
port=9320
for docs in ${TAKEOVER_DOCS:-10 100 1000}; do
  echo "== takeover of $docs documents (lease $lease ms)"
  store="$(database "takeover_$docs")"
  port=$((port + 30))
  relay "$port" --store "$store" --lease-ms "$lease"
  victim="${pids[-1]}"
  relay "$((port + 10))" --store "$store" --lease-ms "$lease"
  relay "$((port + 20))" --store "$store" --lease-ms "$lease"
  "$bin/loadgen" --addr "127.0.0.1:$port,127.0.0.1:$((port + 10)),127.0.0.1:$((port + 20))" \
    takeover --docs "$docs" --kill "$victim"
done
fi
