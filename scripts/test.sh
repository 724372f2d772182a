#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the JavaScript tools the
# cross-checks use (pinned in tools/js/package-lock.json) and, if missing,
# PostgreSQL's server from Debian's packages (the service's tests start
# throwaway clusters of their own on loopback ports and remove them), then
# runs every Rust test in release mode (proving in a debug build is ~20x
# slower), and closes with the totals over every test binary.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test.sh: node and npm are needed for the snarkjs and circomlibjs cross-checks" >&2
  exit 1
fi
npm ci --prefix tools/js --no-audit --no-fund --loglevel=error
export PROOFMINT_REQUIRE_JS=1

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
  echo "test.sh: installing PostgreSQL (Debian's postgresql package) for the job store's tests" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # The package starts a system cluster; the tests use their own.
  $sudo service postgresql stop >/dev/null 2>&1 || true
fi
PROOFMINT_PG_BIN="$(pg_bin)"
export PROOFMINT_PG_BIN PROOFMINT_REQUIRE_PG=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
