// Prints snarkjs's view of BN254's scalar field (ffjavascript, the library
// snarkjs computes with): its two-adicity s, its non-residue, and its roots
// of unity w[k] of order 2^k for k = 0..s, as decimal strings, one JSON object.
// snarkjs evaluates on the odd coset of a domain of 2^p points with w[p + 1].
import { getCurveFromName } from "ffjavascript";

const curve = await getCurveFromName("bn128", true);
const Fr = curve.Fr;
const w = [];
for (let k = 0; k <= Fr.s; k++) w.push(Fr.toObject(Fr.w[k]).toString());
console.log(JSON.stringify({ s: Fr.s, nqr: Fr.toObject(Fr.nqr).toString(), w }));
await curve.terminate();
