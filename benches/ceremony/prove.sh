#!/usr/bin/env bash
# Proving with the ceremony key `compare.sh` made (its final.zkey and the
# claim keys beside it): `proofmint prove claim` and `snarkjs groth16 prove`
# on the same key, for the same node's claim of the demo's epoch (its .wtns
# from `proofmint export wtns`), each a one-shot command with its loading
# included, twice (proofmint's second load skips the point checks its first
# recorded); both proofs are checked with `snarkjs groth16 verify`.
#
#   benches/ceremony/compare.sh 16 && benches/ceremony/prove.sh 16
set -euo pipefail
cd "$(dirname "$0")/../.."
slots=${1:-16}
dir=${BENCH_DIR:-target/ceremony-bench/$slots}
keys="$dir/keys"
node=0xEfA9032c7a03CE341B9B1e0cC171d183D5a60798
pm=./target/release/proofmint
snarkjs=(node --max-old-space-size=16000 tools/js/node_modules/snarkjs/cli.js)
[ -d "$dir/demo/epoch" ] || $pm demo --out "$dir/demo" --slots "$slots" > /dev/null 2>&1
$pm export wtns --epoch "$dir/demo/epoch" --node $node --slots "$slots" --depth 20 --out "$dir/claim.wtns"
measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > "$dir/$name.log" 2>&1 || { cat "$dir/$name.log"; exit 1; }
  read -r secs kib < "$dir/time"
  printf '%-28s %9.2f s %7.2f GB\n' "$name" "$secs" "$(echo "$kib / 1048576" | bc -l)"
}
for run in 1 2; do
  measure "proofmint prove claim $run" $pm prove claim --epoch "$dir/demo/epoch" --node $node --keys "$keys" --out "$dir/proof-pm"
  measure "snarkjs groth16 prove $run" "${snarkjs[@]}" groth16 prove "$keys/final.zkey" "$dir/claim.wtns" "$dir/proof-sj.json" "$dir/public-sj.json"
done
"${snarkjs[@]}" groth16 verify "$keys/verification_key.json" "$dir/proof-pm/public.json" "$dir/proof-pm/proof.json" | grep -q OK
"${snarkjs[@]}" groth16 verify "$keys/verification_key.json" "$dir/public-sj.json" "$dir/proof-sj.json" | grep -q OK
echo "both proofs verify with snarkjs"
