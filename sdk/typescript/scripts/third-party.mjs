#!/usr/bin/env node
// Writes (or, with --check, compares) `third_party/@noble/`: the ES-module files of
// @noble/curves and @noble/hashes that the SDK imports, directly or through noble's own
// imports, copied byte for byte from node_modules (as `npm ci` installs them from
// package-lock.json, whose integrity hashes npm checks), with their LICENSE files.
//
// The node embeds these files beside the SDK's own (`node/src/api/browser.rs`) and serves them
// to the explorer, which verifies in the browser: a cargo build has no node_modules, so the
// copy is committed, and this script is what keeps it the registry's bytes.
// `test/third-party.test.js` runs `--check` (CI runs it after `npm ci`).
//
// Usage: node scripts/third-party.mjs [--check]   (npm run third-party [-- --check])
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(here, 'node_modules');
const out = join(here, 'third_party');
const check = process.argv.includes('--check');

// Static imports and re-exports at the start of a line (noble and the SDK write no others);
// `[^'";]` keeps a match inside one statement.
const IMPORT = /^(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm;

/** Every noble file the SDK loads, as paths under node_modules (`@noble/curves/ed25519.js`). */
export function nobleClosure() {
  const seen = new Set();
  const noble = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      let target;
      if (spec.startsWith('@noble/')) target = join(modules, spec);
      else if (spec.startsWith('.')) target = join(dirname(file), spec);
      else throw new Error(`${relative(here, file)} imports ${spec}: neither relative nor @noble`);
      if (target.startsWith(modules)) noble.add(relative(modules, target));
      walk(target);
    }
  };
  walk(join(here, 'index.js'));
  return [...noble].sort();
}

for (const p of ['curves', 'hashes']) {
  if (!existsSync(join(modules, '@noble', p))) {
    console.error(`node_modules/@noble/${p} is missing: run \`npm ci\` in sdk/typescript first`);
    process.exit(1);
  }
}
const wanted = new Map();
for (const f of [...nobleClosure(), '@noble/curves/LICENSE', '@noble/hashes/LICENSE']) wanted.set(f, readFileSync(join(modules, f)));

const present = [];
const list = (dir) => {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) list(p);
    else present.push(relative(out, p));
  }
};
list(out);

if (check) {
  const problems = [];
  for (const [f, bytes] of wanted) {
    const p = join(out, f);
    if (!existsSync(p)) problems.push(`missing: third_party/${f}`);
    else if (!readFileSync(p).equals(bytes)) problems.push(`differs from node_modules: third_party/${f}`);
  }
  for (const f of present) if (!wanted.has(f)) problems.push(`not imported by the SDK: third_party/${f}`);
  if (problems.length) {
    console.error(problems.join('\n') + '\nrun `npm run third-party` in sdk/typescript and commit the result');
    process.exit(1);
  }
  console.log(`third_party/ holds the ${wanted.size} noble files the SDK imports, as installed`);
} else {
  rmSync(out, { recursive: true, force: true });
  for (const [f, bytes] of wanted) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    writeFileSync(join(out, f), bytes);
  }
  console.log(`wrote ${wanted.size} files to third_party/`);
}
