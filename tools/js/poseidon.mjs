// Reads a JSON array of input arrays (hex strings) on stdin and prints the
// circomlibjs Poseidon hash of each, as 0x-prefixed hex, one JSON array.
import { buildPoseidon } from "circomlibjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString());
const poseidon = await buildPoseidon();
const out = cases.map((inputs) => "0x" + poseidon.F.toObject(poseidon(inputs.map(BigInt))).toString(16).padStart(64, "0"));
console.log(JSON.stringify(out));
