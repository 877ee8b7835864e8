// The README examples are the tested code: each snippet in README.md, sdk/typescript/README.md
// and sdk/java/README.md equals the marked region of a file the tests run (the Python one:
// interop/python/test_tradelog_sign.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (p) => readFileSync(join(ROOT, p), 'utf8');
const dedent = (s, n) => s.split('\n').map((l) => (l.startsWith(' '.repeat(n)) ? l.slice(n) : l)).join('\n');
const region = (text, begin, end, indent) => dedent(text.split(begin)[1].split(end)[0].replace(/\n\s*$/, ''), indent).replace(/^\n/, '');
const codeAfter = (text, marker) => text.split(marker)[1].split('```')[1].replace(/^[a-z]*\n/, '').replace(/\n$/, '');
const firstCode = (text, lang) => text.split('```' + lang + '\n')[1].split('\n```')[0];

const ts = region(read('sdk/typescript/examples/sign-submit-verify.js'), '// example: begin\n', '// example: end', 2);
const java = region(read('sdk/java/test/tradelog/SdkTest.java'), '// sign-submit example: begin\n', '// sign-submit example: end', 8);
const python = region(read('interop/python/test_tradelog_sign.py'), '# sign-submit example: begin\n', '# sign-submit example: end', 8);

test('README.md: the TypeScript, Java and Python examples are the tested code', () => {
  const readme = read('README.md');
  assert.equal(codeAfter(readme, '<!-- sdk-example:typescript -->'), ts);
  assert.equal(codeAfter(readme, '<!-- sdk-example:java -->'), java);
  assert.equal(codeAfter(readme, '<!-- sdk-example:python -->'), python);
  const py = codeAfter(readme, '<!-- sdk-example:python-verify -->');
  assert.match(py, /^python3 interop\/python\/tradelog_verify\.py route /);
  assert.match(read('interop/python/test_tradelog_verify.py'), /SCRIPT, "route"/);
});

test('sdk READMEs: their examples are the tested code', () => {
  assert.equal(firstCode(read('sdk/typescript/README.md'), 'js'), ts);
  assert.equal(firstCode(read('sdk/java/README.md'), 'java'), java);
});
