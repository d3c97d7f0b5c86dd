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
