// The vendored layout in a real browser: headless Chromium loads a page that imports the SDK
// through an import map (no bundler), verifies the sample route, refuses a tampered copy by
// name, and signs and checks an event with a fresh key. Skipped when Chromium is not installed;
// TRADELOG_REQUIRE_CHROMIUM=1 (set by CI) makes it required.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from './fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const skip = !chromium && process.env.TRADELOG_REQUIRE_CHROMIUM !== '1' ? 'skipped: Chromium is not installed (apt-get install chromium)' : false;

const PAGE = `<!doctype html><html><head><title>loading</title>
<script type="importmap">{"imports": {"@noble/curves/": "./vendor/@noble/curves/", "@noble/hashes/": "./vendor/@noble/hashes/"}}</script>
<script type="module">
import { Genesis, verifyRoute, KeyPair, signEvent, Event } from './tradelog/index.js';
import { genesisText, routeText } from './data.js';
try {
  const g = Genesis.fromJson(genesisText);
  const route = verifyRoute(g, routeText);
  const lie = JSON.parse(routeText);
  lie.containers.pop();
  let refused = 'accepted';
  try { verifyRoute(g, JSON.stringify(lie)); } catch (e) { refused = e.name + '.' + e.variant; }
  const k = KeyPair.generate();
  const ev = signEvent({ chain: g.chain, kind: 'booked', time: 1, ucr: '6NL1234', issuer: { org: 'shopfast', key: k.publicKey } }, k);
  Event.fromJson(ev.wire).verifySignature();
  document.title = 'verified ' + route.timeline.length + ' ' + refused;
} catch (e) {
  document.title = 'failed ' + e.name + ' ' + e.message;
}
</script></head><body></body></html>`;

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
    p.on('error', reject);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

test('headless Chromium verifies a route with the vendored SDK and an import map', { skip, timeout: 90000 }, async () => {
  assert.ok(chromium, 'Chromium is required (TRADELOG_REQUIRE_CHROMIUM=1) but not installed');
  const out = mkdtempSync(join(tmpdir(), 'tradelog-chromium-'));
  const server = createServer((req, res) => {
    const path = normalize(join(out, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    if (!path.startsWith(out) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    const type = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json' }[extname(path)] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type }).end(readFileSync(path));
  });
  try {
    execFileSync(process.execPath, [join(here, '..', 'scripts', 'vendor.mjs'), out], { stdio: 'pipe' });
    const text = (f) => JSON.stringify(readFileSync(join(FIXTURES, 'sample', f), 'utf8'));
    writeFileSync(join(out, 'data.js'), `export const genesisText = ${text('genesis.json')};\nexport const routeText = ${text('route.json')};\n`);
    writeFileSync(join(out, 'index.html'), PAGE);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${server.address().port}/index.html`;
    const profile = join(out, 'profile');
    const dom = await run(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, '--virtual-time-budget=20000', '--dump-dom', url]);
    const title = /<title>([^<]*)<\/title>/.exec(dom)?.[1];
    const timeline = JSON.parse(readFileSync(join(FIXTURES, 'sample', 'route-timeline.json'), 'utf8')).length;
    assert.equal(title, `verified ${timeline} RouteError.Containers`, dom.slice(0, 500));
  } finally {
    server.close();
    rmSync(out, { recursive: true, force: true });
  }
});
