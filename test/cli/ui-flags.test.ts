/** A bad `--ui` value is a usage error (exit 2) naming the command, for analyze and proxy alike. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAnalyze } from '../../src/cli/analyze.js';
import { runProxy } from '../../src/cli/proxy.js';

type Io = Parameters<typeof runAnalyze>[1] & Parameters<typeof runProxy>[1];

function io(): { io: Io; err: () => string } {
  let err = '';
  const sink = { write: (s: string | Uint8Array) => ((err += String(s)), true) };
  const out = { write: () => true };
  return { io: { stdout: out, stderr: sink, stdin: process.stdin } as unknown as Io, err: () => err };
}

for (const [name, run] of [['analyze', runAnalyze], ['proxy', runProxy]] as const) {
  test(`${name} --ui with a bad address: exit 2 and a usage message naming ${name}`, async () => {
    const x = io();
    const code = await run(['--ui', 'not-an-address:x'], x.io);
    assert.equal(code, 2);
    assert.match(x.err(), new RegExp(`^iec104 ${name}: .*\\n\\nRun 'iec104 ${name} --help' for usage\\.`, 's'));
  });
}
