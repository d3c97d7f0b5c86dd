/**
 * The detection evaluation (`npm run eval:detections`, scripts/eval-detections.ts) runs in CI:
 * every technique of its labelled set is detected in every capture variant, and the benign
 * sessions raise no alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('eval:detections: recall 1.00 over techniques x variants, no alert on benign sessions', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/eval-detections.ts'], { cwd: root, encoding: 'utf8', timeout: 60000 });
  assert.match(out, /^benign: 3 sessions, 3 h: 0\.00 alerts\/h, 0\.00 high or critical\/h$/m, out);
  assert.match(out, /^recall 1\.00 \(27 of 27 attack runs\)/m, out);
  assert.doesNotMatch(out, /\| NO \|/, out);
});
