// The browser layout (scripts/vendor.mjs): the SDK and noble's ES modules as static files with
// an import map. Loaded here with module resolution restricted to what a browser does (relative
// URLs, and bare specifiers only through the import map, never node_modules), from a directory
// outside the package, the vendored SDK verifies the sample route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FIXTURES } from './fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));

test('the vendored layout loads through the import map alone and verifies a route', () => {
  const out = mkdtempSync(join(tmpdir(), 'tradelog-vendor-'));
  try {
    execFileSync(process.execPath, [join(here, '..', 'scripts', 'vendor.mjs'), out], { stdio: 'pipe' });
    const map = JSON.parse(readFileSync(join(out, 'importmap.json'), 'utf8'));
    assert.deepEqual(Object.keys(map.imports), ['@noble/curves/', '@noble/hashes/']);
    assert.ok(readdirSync(join(out, 'vendor', '@noble', 'curves')).includes('LICENSE'));
    const script = `
      import { Genesis, verifyRoute } from './tradelog/index.js';
      import { readFileSync } from 'node:fs';
      const g = Genesis.fromJson(readFileSync(${JSON.stringify(join(FIXTURES, 'sample', 'genesis.json'))}));
      const r = verifyRoute(g, readFileSync(${JSON.stringify(join(FIXTURES, 'sample', 'route.json'))}, 'utf8'));
      console.log('verified', r.timeline.length);`;
    const stdout = execFileSync(process.execPath, ['--no-warnings', '--import', pathToFileURL(join(here, 'importmap-hooks.mjs')).href, '--input-type=module', '-e', script], {
      cwd: out,
      env: { ...process.env, IMPORT_MAP: join(out, 'importmap.json'), IMPORT_BASE: pathToFileURL(out + '/').href, NODE_PATH: '' },
      encoding: 'utf8',
    });
    assert.match(stdout, /^verified \d+/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
