#!/usr/bin/env node
// Lays out the SDK for a browser, without a bundler and without network access: copies the SDK
// modules and the ES-module builds of @noble/curves and @noble/hashes (from node_modules, as
// installed by `npm ci`) into OUT, with an import map for noble's bare specifiers:
//
//   OUT/tradelog/index.js, OUT/tradelog/src/*.js      the SDK
//   OUT/vendor/@noble/curves/..., OUT/vendor/@noble/hashes/...   noble's *.js (and LICENSE)
//   OUT/importmap.json   {"imports": {"@noble/curves/": "./vendor/@noble/curves/", ...}}
//
// A page served from OUT then loads it with:
//   <script type="importmap">{"imports": {"@noble/curves/": "./vendor/@noble/curves/",
//                                         "@noble/hashes/": "./vendor/@noble/hashes/"}}</script>
//   <script type="module">import { verifyRoute, Genesis } from './tradelog/index.js';</script>
//
// Usage: node scripts/vendor.mjs OUT   (npm run vendor -- OUT)
import { cpSync, mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/vendor.mjs OUT_DIR');
  process.exit(2);
}

/** Copies the *.js files of `from` (and of its listed subdirectories) to `to`, and LICENSE. */
function copyJs(from, to, subdirs = []) {
  for (const dir of ['', ...subdirs]) {
    mkdirSync(join(to, dir), { recursive: true });
    for (const f of readdirSync(join(from, dir))) {
      if (f.endsWith('.js') || (dir === '' && f === 'LICENSE')) cpSync(join(from, dir, f), join(to, dir, f));
    }
  }
}

const modules = join(here, 'node_modules', '@noble');
for (const p of ['curves', 'hashes']) {
  if (!existsSync(join(modules, p))) {
    console.error(`node_modules/@noble/${p} is missing: run \`npm ci\` in sdk/typescript first`);
    process.exit(1);
  }
}
copyJs(join(here), join(out, 'tradelog'), ['src']);
copyJs(join(modules, 'curves'), join(out, 'vendor', '@noble', 'curves'), ['abstract']);
copyJs(join(modules, 'hashes'), join(out, 'vendor', '@noble', 'hashes'));
const importMap = { imports: { '@noble/curves/': './vendor/@noble/curves/', '@noble/hashes/': './vendor/@noble/hashes/' } };
writeFileSync(join(out, 'importmap.json'), JSON.stringify(importMap, null, 2) + '\n');
console.log(`wrote ${out}/tradelog, ${out}/vendor/@noble and ${out}/importmap.json`);
