/**
 * The detection evaluation (`npm run eval:detections`, scripts/eval-detections.ts) runs in CI on
 * its small set (two capture variants): with the default rules every technique is detected in
 * every variant except the two that only a learned baseline can see (ordinary traffic from a host
 * that does not fit); with the baseline learned on benign sessions every technique is detected;
 * in both modes the other benign sessions (two station styles) raise no alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('eval:detections (small set): recall and silence with and without a learned baseline', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/eval-detections.ts'], { cwd: root, encoding: 'utf8', timeout: 120000, env: { ...process.env, EVAL_SMALL: '1' } });
  const [, plain, learned] = out.split(/^## /m);
  assert.ok(plain.startsWith('default rules') && learned.startsWith('learned baseline'), out);
  for (const section of [plain, learned]) assert.match(section, /^benign: 4 sessions, 4 h: 0\.00 alerts\/h, 0\.00 high or critical\/h$/m, section);
  const rows = (section: string): string[][] => section.split('\n').filter((l) => /^\| T0\d{3} /.test(l)).map((l) => l.split('|').map((c) => c.trim()));
  const baselineOnly = (name: string): boolean => name.includes('host not in the baseline');
  assert.equal(rows(plain).length, 18);
  for (const r of rows(plain)) assert.equal(r[2], baselineOnly(r[1]) ? '0/2' : '2/2', r[1]);
  for (const r of rows(learned)) assert.equal(r[2], '2/2', r[1]);
  assert.match(plain, /^default rules: recall 0\.89 \(32 of 36 attack runs\); precision 1\.00 /m);
  assert.match(learned, /^learned baseline: recall 1\.00 \(36 of 36 attack runs\); precision 1\.00 /m);
});
