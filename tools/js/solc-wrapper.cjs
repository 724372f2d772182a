// A `solc` for forge (`forge build --use tools/js/bin/solc`) over the solc-js
// pinned in package.json: it answers `--version` and `--standard-json` (input
// on stdin, output on stdout), the two calls forge makes. Sources arrive with
// their content in the standard JSON; any import forge left out is read from
// disk, relative to the working directory (forge's project root), or from this
// folder's node_modules for "@openzeppelin/...".
const fs = require("fs");
const path = require("path");
const solc = require("solc");

function findImports(name) {
  const candidates = [path.resolve(process.cwd(), name)];
  if (name.startsWith("@openzeppelin/")) candidates.push(path.join(__dirname, "node_modules", name));
  for (const file of candidates) {
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  }
  return { error: `import not found: ${name}` };
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  console.log("solc, the solidity compiler commandline interface");
  console.log("Version: " + solc.version());
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  console.error("this solc wrapper answers only --version and --standard-json");
  process.exit(2);
}
const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  process.stdout.write(solc.compile(Buffer.concat(chunks).toString(), { import: findImports }));
});
