// Compiles Solidity files with solc-js (the version pinned in package.json) and
// prints {"contracts": {Name: {"abi": [...], "bytecode": "0x..."}}} as JSON.
// Usage: node compile.mjs FILE.sol...
// Imports: "@openzeppelin/..." from this folder's node_modules; other imports
// by file name among the files given.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");
const here = path.dirname(fileURLToPath(import.meta.url));

const files = process.argv.slice(2);
const sources = {};
for (const file of files) sources[path.basename(file)] = { content: fs.readFileSync(file, "utf8") };

function findImports(name) {
  if (name.startsWith("@openzeppelin/")) {
    return { contents: fs.readFileSync(path.join(here, "node_modules", name), "utf8") };
  }
  return { error: `import not found: ${name}` };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length > 0) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const contracts = {};
for (const [file, units] of Object.entries(output.contracts)) {
  if (!(file in sources)) continue;
  for (const [name, unit] of Object.entries(units)) {
    contracts[name] = { abi: unit.abi, bytecode: "0x" + unit.evm.bytecode.object };
  }
}
console.log(JSON.stringify({ compiler: solc.version(), contracts }));
