#!/usr/bin/env bash
# The claim circuit's phase 2 with proofmint and with snarkjs on the same
# files, in one run on this machine: a prepared Powers of Tau (the
# development generator, of the circuit's power + 1, which snarkjs's circuit
# hash needs past a domain of 2^14), the circuit's .r1cs, then each step
# with its wall time and peak memory (GNU time):
#   init        proofmint ceremony init      snarkjs zkey new
#   contribute  proofmint ceremony contribute snarkjs zkey contribute
#   verify      proofmint ceremony verify    snarkjs zkey verify
#   finalize    proofmint ceremony finalize (verify + beacon + keys)
# snarkjs verifies proofmint's transcript and proofmint snarkjs's, so the
# run also checks that each accepts the other's.
#
#   benches/ceremony/compare.sh 16        # slots (depth 20)
#
# snarkjs comes from tools/js (npm ci --prefix tools/js). SKIP_SNARKJS=1
# times proofmint alone; SNARKJS_STEPS (a comma-separated subset of
# new,contribute,verify; all by default) picks snarkjs's steps, so that a
# size whose snarkjs steps outlast one sitting (256 slots: about two hours
# for zkey new and two for zkey verify on two cores) can be compared in two
# runs, each measuring proofmint's steps again beside the snarkjs steps it
# takes:
#   SNARKJS_STEPS=new benches/ceremony/compare.sh 256
#   SNARKJS_STEPS=contribute,verify benches/ceremony/compare.sh 256
source "$(dirname "$0")/common.sh"
cargo build -q --release -p proofmint-circuits --example dev_ptau
$pm export r1cs --slots "$slots" --depth "$depth" --out "$dir/claim.r1cs"
power=$(node -e '
  const fs = require("fs"); const b = fs.readFileSync(process.argv[1]);
  // header section: n8, prime, wires, outputs, inputs, private, labels(u64), constraints
  let at = 12; for (;;) { const type = b.readUInt32LE(at); const size = Number(b.readBigUInt64LE(at + 4));
    if (type === 1) { const n8 = b.readUInt32LE(at + 12); const h = at + 16 + n8;
      const inputs = b.readUInt32LE(h + 8), outputs = b.readUInt32LE(h + 4), m = b.readUInt32LE(h + 24);
      let p = 0; while ((1 << p) < m + inputs + outputs + 1) p++; console.log(p); break; }
    at += 12 + size; }' "$dir/claim.r1cs")
ptau="$dir/phase1-$((power + 1)).ptau"
[ -f "$ptau" ] || ./target/release/examples/dev_ptau $((power + 1)) "$ptau"
echo "claim circuit: $slots slots, depth $depth, domain 2^$power; $ptau"
shape=(--slots "$slots" --depth "$depth")
measure "proofmint init" $pm ceremony init --ptau "$ptau" "${shape[@]}" --out "$dir/pm0.zkey"
measure "proofmint contribute" $pm ceremony contribute "$dir/pm0.zkey" --out "$dir/pm1.zkey" --name proofmint
measure "proofmint verify" $pm ceremony verify "$dir/pm1.zkey" --ptau "$ptau" "${shape[@]}"
measure "proofmint finalize" $pm ceremony finalize "$dir/pm1.zkey" --ptau "$ptau" "${shape[@]}" \
  --beacon 0102030405060708 --iterations 10 --out "$dir/keys"
steps=${SNARKJS_STEPS:-new,contribute,verify}
[ "${SKIP_SNARKJS:-0}" = 1 ] && steps=
snarkjs_step() { [[ ",$steps," == *",$1,"* ]]; }
if snarkjs_step new; then
  measure "snarkjs zkey new" "${snarkjs[@]}" zkey new "$dir/claim.r1cs" "$ptau" "$dir/sj0.zkey"
fi
if snarkjs_step contribute; then
  measure "snarkjs zkey contribute" "${snarkjs[@]}" zkey contribute "$dir/pm1.zkey" "$dir/sj2.zkey" --name=snarkjs -e=entropy
fi
if snarkjs_step verify; then
  measure "snarkjs zkey verify (ours)" "${snarkjs[@]}" zkey verify "$dir/claim.r1cs" "$ptau" "$dir/pm1.zkey"
  grep -q "ZKey Ok" "$dir/snarkjs zkey verify (ours).log" || { echo "snarkjs refused proofmint's transcript"; exit 1; }
fi
if snarkjs_step contribute; then
  measure "proofmint verify (snarkjs's)" $pm ceremony verify "$dir/sj2.zkey" --ptau "$ptau" "${shape[@]}"
fi
