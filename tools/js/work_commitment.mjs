// The GEMM work proof's commitments, written from their documentation
// (work/src/commitment.rs) as a client would: reads a JSON array of cases
// {m, k, n, a, b, c} (int8 arrays a, b row-major; c row-major integers) on
// stdin and prints, for each, [inputCommitment, outputCommitment] as
// 0x-prefixed hex, one JSON array. Poseidon is circomlibjs's.
import { buildPoseidon } from "circomlibjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString());
const poseidon = await buildPoseidon();
const hex = (x) => "0x" + x.toString(16).padStart(64, "0");

// Groups of `group` entries, digits entry + offset, most significant first.
function pack(entries, bits, offset, group) {
  const base = 1n << BigInt(bits);
  const out = [];
  for (let i = 0; i < entries.length; i += group) {
    let acc = 0n;
    for (const e of entries.slice(i, i + group)) acc = acc * base + BigInt(e) + offset;
    out.push(acc);
  }
  return out;
}

// h = tag·2^96 + m·2^64 + k·2^32 + n, then h = Poseidon(h, e0, e1, e2) per run of three.
function chain(tag, m, k, n, elements) {
  let h = (BigInt(tag) << 96n) | (BigInt(m) << 64n) | (BigInt(k) << 32n) | BigInt(n);
  for (let i = 0; i < elements.length; i += 3) {
    const run = elements.slice(i, i + 3);
    while (run.length < 3) run.push(0n);
    h = poseidon.F.toObject(poseidon([h, ...run]));
  }
  return h;
}

const out = cases.map(({ m, k, n, a, b, c }) => {
  const input = [];
  for (let t = 0; t < k; t++) for (let i = 0; i < m; i++) input.push(a[i * k + t]);
  input.push(...b);
  // Each product term lies in [-128·127, 128·128]: offset k·16256, width k·32640.
  const bits = (BigInt(k) * 32640n).toString(2).length;
  const group = Math.floor(253 / bits);
  return [
    hex(chain(1, m, k, n, pack(input, 8, 128n, 31))),
    hex(chain(2, m, k, n, pack(c, bits, BigInt(k) * 16256n, group))),
  ];
});
console.log(JSON.stringify(out));
