# Shared by compare.sh and prove.sh (sourced): the shape from the command
# line, the bench directory, the tools, and `measure NAME COMMAND...`, which
# runs a command under GNU time, logs it to "$dir/NAME.log" and prints its
# wall time and peak memory (and the line a taceo-groth16 run prints).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
slots=${1:-16}
depth=${DEPTH:-20}
dir=${BENCH_DIR:-target/ceremony-bench/$slots}
mkdir -p "$dir"
cargo build -q --release -p proofmint-cli --bin proofmint
pm=./target/release/proofmint
snarkjs=(node --max-old-space-size=16000 tools/js/node_modules/snarkjs/cli.js)
measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > "$dir/$name.log" 2>&1 || { cat "$dir/$name.log"; exit 1; }
  read -r secs kib < "$dir/time"
  printf '%-28s %9.2f s %7.2f GB  %s\n' "$name" "$secs" "$(echo "$kib / 1048576" | bc -l)" \
    "$(grep -h '^taceo-groth16:' "$dir/$name.log" | sed 's/^taceo-groth16: //')"
}
