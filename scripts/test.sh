#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the JavaScript tools the
# cross-checks use (pinned in tools/js/package-lock.json), then runs every
# Rust test in release mode (proving in a debug build is ~20x slower), and
# closes with the totals over every test binary.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test.sh: node and npm are needed for the snarkjs and circomlibjs cross-checks" >&2
  exit 1
fi
npm ci --prefix tools/js --no-audit --no-fund --loglevel=error
export PROOFMINT_REQUIRE_JS=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
