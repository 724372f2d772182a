#!/usr/bin/env bash
# Proving a claim with a snarkjs-form key, proofmint beside the provers of
# .zkey files, on the same key and the same witness, in one run:
#   proofmint       `proofmint prove claim` on the claim keys
#   snarkjs         `snarkjs groth16 prove` on the .zkey and the .wtns
#   taceo-groth16   benches/peers/taceo (its own lock file; built here)
#   rapidsnark      $RAPIDSNARK, a `prover` binary built from its sources
#                   elsewhere, if set
# The key: the ceremony's (keys/final.zkey and the claim keys `compare.sh`
# wrote) where present, else the demo's development keys exported as a
# .zkey (`proofmint export zkey`), which are the same form. The witness:
# the same node's claim over the demo's epoch (`proofmint export wtns`).
# Each is a one-shot command with its loading included, twice (proofmint's
# second load skips the point checks its first recorded); then taceo-groth16
# proves three more times on its loaded key (its warm figure). Every proof is
# checked: snarkjs's and rapidsnark's and ours with `snarkjs groth16
# verify`, taceo-groth16's with ark-groth16's verifier.
#
# NO_SNARKJS=1 leaves snarkjs out (two to three minutes a proof at 256 slots).
#
#   benches/ceremony/prove.sh 16
#   RAPIDSNARK=/path/to/prover benches/ceremony/prove.sh 256
source "$(dirname "$0")/common.sh"
node=0xEfA9032c7a03CE341B9B1e0cC171d183D5a60798
cargo build -q --release --manifest-path benches/peers/taceo/Cargo.toml
taceo=benches/peers/taceo/target/release/taceo-prove
# The demo with twelve receipts a slot over its eight nodes, so that the
# node's first claim fills every slot (a claim of fewer receipts pads the
# rest with inactive slots, whose values repeat).
demo="$dir/full"
[ -d "$demo/epoch" ] || $pm demo --out "$demo" --slots "$slots" --receipts $((slots * 12)) > "$dir/demo.log" 2>&1
if [ -f "$dir/keys/final.zkey" ]; then
  keys="$dir/keys"
  zkey="$keys/final.zkey"
  echo "key: the ceremony's ($zkey)"
else
  keys="$demo/keys"
  zkey="$dir/dev.zkey"
  # Exported again whenever the demo's keys are newer: a .zkey of an earlier
  # demo is a key of the same circuit, but not of the epoch's proofs.
  [ "$zkey" -nt "$keys/claim.pk" ] || $pm export zkey --keys "$keys" --out "$zkey"
  echo "key: the demo's development keys as a .zkey ($zkey)"
fi
$pm export wtns --epoch "$demo/epoch" --node $node --slots "$slots" --depth "$depth" --out "$dir/claim.wtns"
for run in 1 2; do
  measure "proofmint prove claim $run" $pm prove claim --epoch "$demo/epoch" --node $node --keys "$keys" --out "$dir/proof-pm"
  [ -n "${NO_SNARKJS:-}" ] ||
    measure "snarkjs groth16 prove $run" "${snarkjs[@]}" groth16 prove "$zkey" "$dir/claim.wtns" "$dir/proof-sj.json" "$dir/public-sj.json"
  measure "taceo-groth16 $run" $taceo "$zkey" "$dir/claim.wtns" 0
  if [ -n "${RAPIDSNARK:-}" ]; then
    measure "rapidsnark $run" "$RAPIDSNARK" "$zkey" "$dir/claim.wtns" "$dir/proof-rs.json" "$dir/public-rs.json"
  fi
done
measure "taceo-groth16, 4 proofs" $taceo "$zkey" "$dir/claim.wtns" 3
check() { # what, public, proof
  "${snarkjs[@]}" groth16 verify "$keys/verification_key.json" "$2" "$3" | grep -q OK || { echo "$1's proof does not verify"; exit 1; }
}
check proofmint "$dir/proof-pm/public.json" "$dir/proof-pm/proof.json"
grep -h "^proved" "$dir/proofmint prove claim 1.log"
[ -n "${NO_SNARKJS:-}" ] || check snarkjs "$dir/public-sj.json" "$dir/proof-sj.json"
[ -z "${RAPIDSNARK:-}" ] || check rapidsnark "$dir/public-rs.json" "$dir/proof-rs.json"
echo "every proof verifies (snarkjs groth16 verify; taceo-groth16's with ark-groth16)"
