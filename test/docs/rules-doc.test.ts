/**
 * The rule table of docs/detections.md and the catalogue (`RULES` in src/monitor/rules.ts) list
 * the same rule ids, with the same severity and MITRE ids (primary and ALSO_TECHNIQUES).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RULES } from '../../src/monitor/index.js';
import { ruleTechniques } from '../../src/monitor/techniques.js';

const doc = readFileSync(new URL('../../docs/detections.md', import.meta.url), 'utf8');
/** The `## Rules` section. */
const md = doc.slice(doc.indexOf('\n## Rules\n'), doc.indexOf('\n## ', doc.indexOf('\n## Rules\n') + 1));

test('docs/detections.md documents every catalogue rule with its severity and MITRE id, and no other', () => {
  const rows = new Map<string, { severity: string; mitre: string }>();
  for (const line of md.split('\n')) {
    const m = /^\| `([a-z0-9.-]+)` \|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const cells = m[2].split('|').map((c) => c.trim());
    assert.ok(!rows.has(m[1]), `${m[1]} documented twice`);
    rows.set(m[1], { severity: cells[1], mitre: cells[2] });
  }
  assert.ok(rows.size > 50, `the rule table was found (${rows.size} rows)`);
  assert.deepEqual(Object.keys(RULES).filter((id) => !rows.has(id)), [], 'catalogue rules missing from the table');
  assert.deepEqual([...rows.keys()].filter((id) => !RULES[id]), [], 'documented rules not in the catalogue');
  for (const [id, info] of Object.entries(RULES)) {
    // the MITRE cell lists every technique of the rule, the primary one first
    assert.deepEqual(rows.get(id), { severity: info.severity, mitre: ruleTechniques(id, info.mitre).join(', ') || '–' }, id);
  }
});
