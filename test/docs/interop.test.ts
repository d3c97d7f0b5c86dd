import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { render } from '../../scripts/gen-interop.js';
import { allTypes } from '../../src/codec/type-table.js';

test('INTEROPERABILITY.md type section is generated from the current type table', () => {
  const doc = readFileSync(new URL('../../INTEROPERABILITY.md', import.meta.url), 'utf8');
  assert.equal(render(doc), doc, 'run: node --import tsx scripts/gen-interop.ts');
  for (const t of allTypes()) assert.ok(doc.includes(`| ${t.id} | ${t.name} |`), `row for ${t.name}`);
});

test('INTEROPERABILITY.md network section is generated and says TLS (port 19998, IEC 62351-3) is implemented, not planned', () => {
  const doc = readFileSync(new URL('../../INTEROPERABILITY.md', import.meta.url), 'utf8');
  assert.match(doc, /<!-- network:begin -->\n\| item \| support \|/);
  assert.doesNotMatch(doc, /planned/i);
  assert.match(doc, /\| Port 2404 \(plain\), 19998 \(TLS per IEC 62351-3\) \| 2404: yes; 19998 with TLS: yes/);
});
