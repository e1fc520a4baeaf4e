#!/usr/bin/env bash
# The one list of checks. CI runs exactly this script; run it before every push.
#
#   scripts/check.sh            everything
#   scripts/check.sh --quick    format, lints and unit tests of sync-core only
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "lints (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

if [ "${1:-}" = "--quick" ]; then
  step "unit tests (sync-core)"
  cargo test -p sync-core --lib --locked
  exit 0
fi

step "tests (unit, integration, benches as tests), with a throwaway PostgreSQL where there is one"
scripts/with-postgres.sh cargo test --workspace --all-targets --locked

step "doc tests"
cargo test --workspace --doc --locked

step "docs (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

printf '\nAll checks passed.\n'
