#!/usr/bin/env node
// Compiles contracts/**/*.sol with the npm `solc` package into build/contracts/<Name>.json
// ({ abi, bytecode, deployedBytecode, sourceName }). Cached on a hash of the sources, the compiler
// version and the settings: when nothing changed it does nothing, in milliseconds.
// Runs before `npm start`, `npm test` and `npm run bench` (npm pre-scripts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sourcesDir = join(root, 'contracts');
const outDir = join(root, 'build', 'contracts');
const stampFile = join(outDir, '.sources-hash');
const require = createRequire(import.meta.url);

const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

function listSources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(path));
    else if (entry.name.endsWith('.sol')) out.push(path);
  }
  return out.sort();
}

/** Compiles when the sources changed since the last build; returns quickly when they did not. */
export function buildContracts() {
  const files = listSources(sourcesDir);
  const solcVersion = require('solc/package.json').version;
  const hash = createHash('sha256');
  hash.update(`solc ${solcVersion}\n${JSON.stringify(settings)}\n`);
  for (const file of files) hash.update(`${relative(root, file)}\n`).update(readFileSync(file));
  const digest = hash.digest('hex');

  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest) return;

  const started = performance.now();
  process.stderr.write(`firebreak: compiling ${files.length} contracts with solc ${solcVersion}… `);
  const solc = require('solc');
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(files.map((f) => [relative(root, f), { content: readFileSync(f, 'utf8') }])),
    settings,
  };
  function findImports(path) {
    for (const candidate of [join(root, path), join(root, 'node_modules', path)]) {
      if (existsSync(candidate)) return { contents: readFileSync(candidate, 'utf8') };
    }
    return { error: `import not found: ${path} (looked in the project and node_modules)` };
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  for (const e of output.errors ?? []) {
    if (e.severity !== 'error') process.stderr.write(`\n${e.formattedMessage}`);
  }
  if (errors.length > 0) {
    process.stderr.write('failed\n');
    for (const e of errors) process.stderr.write(`${e.formattedMessage}\n`);
    throw new Error('contract compilation failed (see above)');
  }

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const [sourceName, contracts] of Object.entries(output.contracts)) {
    // Only our own sources become artifacts; imported libraries stay inside the bytecode.
    if (!sourceName.startsWith('contracts/')) continue;
    for (const [name, c] of Object.entries(contracts)) {
      if (c.evm.bytecode.object.length === 0) continue; // interfaces and abstract contracts
      writeFileSync(
        join(outDir, `${name}.json`),
        `${JSON.stringify({ contractName: name, sourceName, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedBytecode: `0x${c.evm.deployedBytecode.object}` })}\n`,
      );
      count++;
    }
  }
  writeFileSync(stampFile, `${digest}\n`);
  process.stderr.write(`${count} artifacts in ${Math.round(performance.now() - started)} ms\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    buildContracts();
  } catch (error) {
    process.stderr.write(`firebreak: ${error.message}\n`);
    process.exit(1);
  }
}
