// The noble files the node embeds for the explorer (third_party/@noble/) are exactly the ones
// the SDK imports, byte for byte as npm installed them from package-lock.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

test('third_party/@noble is the import closure of the SDK, as installed', () => {
  const out = execFileSync(process.execPath, [join(here, '..', 'scripts', 'third-party.mjs'), '--check'], { encoding: 'utf8' });
  assert.match(out, /holds the 19 noble files/);
});
