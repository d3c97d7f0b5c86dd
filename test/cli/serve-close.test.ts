/** `iec104 serve` closes what it opened on every early exit (here: the audit log file). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';

/** Paths of this process's open file descriptors (Linux /proc). */
function openFiles(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

test('serve --audit FILE with a bad --files folder: exit 2, and the audit file is closed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-serve-close-'));
  try {
    const audit = join(dir, 'audit.log');
    let err = '';
    const code = await runServe(['--audit', audit, '--files', join(dir, 'missing'), '--no-simulate'], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
      signal: AbortSignal.abort(),
    });
    assert.equal(code, 2, err);
    assert.match(err, /files: .*missing/);
    // give a pending open a turn, then no descriptor may point at the audit file
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(openFiles().filter((p) => p === audit), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
