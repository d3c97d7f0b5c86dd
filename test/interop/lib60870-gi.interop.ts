/**
 * Interrogations against lib60870-C's example stations (issue 10, item 4), through `iec104 connect`
 * (in process, real TCP on 127.0.0.1:2404 inside the namespace `npm run interop` gives this file).
 *
 * - cs104_redundancy_server and multi_client_server end a general interrogation with an ACT_TERM of
 *   type ID 0 and no object: the interrogation completes at once (not after the termination
 *   timeout), with the type-0 termination record and a warning.
 * - cs104_server terminates with a proper C_IC_NA_1 ACT_TERM, and refuses the broadcast address
 *   65535 with cause 46: `connect` says so, suggests `--ca 1` and exits 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { runConnect } from '../../src/cli/connect.js';
import { lib60870Example, skipUnless } from './peers.js';

function sink(): { text: string; write(s: string): void } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

async function startStation(path: string): Promise<ChildProcess> {
  const child = spawn(path, [], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(2404, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${path} did not listen on 2404`);
}

async function stopStation(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await gone;
  clearTimeout(t);
}

/** `iec104 connect 127.0.0.1 ARGS --json` until the interrogation record (or exit). */
async function gi(args: string[]): Promise<{ code: number; records: Array<Record<string, unknown>>; err: string; ms: number }> {
  const out = sink();
  const err = sink();
  const ac = new AbortController();
  const t0 = Date.now();
  const p = runConnect(['127.0.0.1', '--json', '--timeout', '30000', '--log-level', 'warn', ...args], { stdout: out, stderr: err, isTTY: false, signal: ac.signal });
  let done = false;
  void p.then(() => (done = true));
  while (!done && !out.text.includes('"kind":"interrogation"') && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
  const ms = Date.now() - t0;
  ac.abort();
  const code = await p;
  return { code, records: out.text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), err: err.text, ms };
}

for (const name of ['cs104_redundancy_server', 'multi_client_server']) {
  const station = lib60870Example(name);
  test(`lib60870 ${name}: the type-0 ACT_TERM completes the GI at once`, skipUnless(station), async () => {
    const child = await startStation((station as { path: string }).path);
    try {
      const r = await gi(['--ca', '1']);
      assert.equal(r.code, 0, r.err);
      const end = r.records.find((x) => x.kind === 'interrogation');
      assert.equal(end?.outcome, 'terminated', r.err);
      assert.ok((end?.objects as number) > 0);
      assert.ok(r.ms < 10_000, `completed after ${r.ms} ms, not at the 30 s termination timeout`);
      const term = r.records.find((x) => x.kind === 'termination');
      assert.deepEqual([term?.typeId, term?.cot, term?.ca], [0, 10, 1]);
      assert.match(r.err, /master\.type0_termination/);
    } finally {
      await stopStation(child);
    }
  });
}

const server = lib60870Example('cs104_server');
test('lib60870 cs104_server: GI at CA 1 terminates with C_IC_NA_1; the broadcast GI is refused with cause 46 (exit 3, --ca suggested)', skipUnless(server), async () => {
  const child = await startStation((server as { path: string }).path);
  try {
    const one = await gi(['--ca', '1']);
    assert.equal(one.code, 0, one.err);
    assert.equal(one.records.find((x) => x.kind === 'termination')?.typeId, 100);
    assert.equal(one.records.find((x) => x.kind === 'interrogation')?.outcome, 'terminated');
    const all = await gi([]);
    assert.equal(all.code, 3, all.err);
    assert.match(all.err, /refused the broadcast interrogation \(CA 65535: cause 46 .*--ca N/);
    assert.deepEqual(all.records.find((x) => x.kind === 'interrogation')?.outcome, 'refused');
  } finally {
    await stopStation(child);
  }
});
