#!/usr/bin/env node
// Forge's compiler, forwarded to the npm `solc` package (no native solc is reachable): forge runs
// `solc --version` and `solc --standard-json` with the input on stdin; this answers both with solc-js.
// foundry.toml points `solc` here. Imports forge did not inline are read from the project or
// node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const solc = require('solc');
const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write(
    `solc shim: only --version and --standard-json are supported (got: ${args.join(' ')})\n`,
  );
  process.exit(2);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const findImports = (path) => {
  for (const candidate of [resolve(path), join(root, path), join(root, 'node_modules', path)]) {
    if (existsSync(candidate)) return { contents: readFileSync(candidate, 'utf8') };
  }
  return { error: `import not found: ${path}` };
};
process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8'), { import: findImports }));
