/**
 * The public surface is reviewed, not accidental: the names `src/index.ts` exports must equal the
 * committed docs/api-report.md (regenerate with `npx tsx scripts/api-report.ts --write`), the
 * front door names every export (no `export *`), and no `@internal` name escapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { apiEntries, apiReport } from '../../scripts/api-report.js';

const root = new URL('../../', import.meta.url);

test('src/index.ts exports exactly the names of docs/api-report.md', () => {
  const committed = readFileSync(new URL('docs/api-report.md', root), 'utf8');
  const entries = apiEntries();
  const current = apiReport(entries);
  const names = (text: string): string[] => [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
  const was = new Set(names(committed));
  const now = new Set(names(current));
  const added = [...now].filter((n) => !was.has(n));
  const removed = [...was].filter((n) => !now.has(n));
  assert.deepEqual({ added, removed }, { added: [], removed: [] }, 'the public API changed: review it and run npx tsx scripts/api-report.ts --write');
  assert.deepEqual(entries.filter((e) => e.internal).map((e) => e.name), [], 'an @internal or internal-module name is exported');
});

test('the front door names its exports: no export *', () => {
  const index = readFileSync(new URL('src/index.ts', root), 'utf8');
  assert.doesNotMatch(index, /export \*/);
  for (const internal of ['cerr', 'hex2', 'LruEntry', 'createTestPki', 'parseMisbehaviourList', 'BoundedMap']) {
    assert.doesNotMatch(index, new RegExp(`\\b${internal}\\b`), `${internal} is internal`);
  }
});
