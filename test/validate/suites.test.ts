import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CaseResult, SuiteResult } from '../../src/validate/report.js';
import { listChecks, runSuite, type SuiteOptions } from '../../src/validate/suites.js';
import { type FakeStationOptions, startFakeStation } from './fake-station.js';

// The fake station runs with t1 = 300 ms, t2 = 100 ms, select timeout 200 ms: every wait of the
// suites is shrunk to match (real timers: these suites talk to a real socket).
const TIMING: SuiteOptions['timing'] = { t0: 1000, answer: 300, margin: 150, settle: 100, selectTimeout: 200, closeWait: 500, floodCount: 200, floodMs: 1000, floodConnections: 8, recoveryDelay: 20, interrogation: 800 };

async function run(suite: 'conformance' | 'robustness', station: FakeStationOptions, only?: string[]): Promise<SuiteResult> {
  const st = await startFakeStation(station);
  try {
    return await runSuite(suite, { target: { host: '127.0.0.1', port: st.port }, ca: 1, ioaSingle: [5000], ioaSbo: 5001, peer: { k: 12, w: 8, t1: 300, t2: 100 }, timing: TIMING, ...(only ? { only } : {}) });
  } finally {
    await st.close();
  }
}

const byId = (r: SuiteResult, id: string): CaseResult => {
  const c = r.cases.find((x) => x.id === id);
  assert.ok(c, `check ${id} ran`);
  return c;
};

test('every check states its expectation', () => {
  const conf = listChecks('conformance');
  const rob = listChecks('robustness');
  assert.equal(conf.length, 16);
  assert.equal(rob.length, 13);
  for (const c of [...conf, ...rob]) assert.ok(c.expectation.length > 40 && /clause|IEC|standard|station/.test(c.expectation), c.id);
});

test('conformance: a correct station passes every check', async () => {
  const r = await run('conformance', {});
  assert.deepEqual(r.cases.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.message}`), []);
  assert.equal(r.cases.length, 16);
  assert.match(byId(r, 'C04').message ?? '', /exactly k = 12/);
  assert.match(byId(r, 'C06').message ?? '', /closed \d+ ms after/);
});

test('robustness: a correct station closes on every violation and accepts a clean connection afterwards', async () => {
  const r = await run('robustness', {});
  assert.deepEqual(r.cases.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.message}`), []);
  assert.match(byId(r, 'R07').message ?? '', /closed after .*clean connection works/);
});

test('conformance: execute without select and after an expired select are reported', async () => {
  const r = await run('conformance', { misbehave: { ignoreSelect: true } }, ['C11', 'C12', 'C13']);
  assert.equal(byId(r, 'C11').status, 'pass');
  assert.equal(byId(r, 'C12').status, 'fail');
  assert.match(byId(r, 'C12').message ?? '', /executed without select/);
  assert.equal(byId(r, 'C13').status, 'fail');
  assert.match(byId(r, 'C13').message ?? '', /executed \d+ ms after the select/);
});

test('conformance: a missing ACT_TERM fails the interrogation check', async () => {
  const r = await run('conformance', { misbehave: { noActTerm: true } }, ['C03']);
  assert.equal(byId(r, 'C03').status, 'fail');
  assert.match(byId(r, 'C03').message ?? '', /no ACT_TERM/);
});

test('conformance: no S-frames within t2 fails the w check', async () => {
  const r = await run('conformance', { misbehave: { slowAck: true } }, ['C05']);
  assert.equal(byId(r, 'C05').status, 'fail');
  assert.match(byId(r, 'C05').message ?? '', /unacknowledged after \d+ ms .*no S-frames in time/);
});

test('conformance: stale time-tagged commands and unknown IOAs accepted are reported', async () => {
  const r = await run('conformance', { misbehave: { acceptStale: true, acceptUnknownIoa: true } }, ['C10', 'C15', 'C16']);
  assert.equal(byId(r, 'C10').status, 'fail');
  assert.match(byId(r, 'C10').message ?? '', /instead of COT 47/);
  assert.equal(byId(r, 'C15').status, 'pass');
  assert.equal(byId(r, 'C16').status, 'fail');
  assert.match(byId(r, 'C16').message ?? '', /accepted a command 3600000 ms old/);
});

test('conformance: a station sending more than k frames fails the k check; no SBO point skips with a reason', async () => {
  const st = await startFakeStation({ link: { k: 20, w: 8 } });
  try {
    const r = await runSuite('conformance', { target: { host: '127.0.0.1', port: st.port }, peer: { k: 12, w: 8, t1: 300, t2: 100 }, timing: TIMING, only: ['C04', 'C12'] });
    assert.equal(byId(r, 'C04').status, 'fail');
    assert.match(byId(r, 'C04').message ?? '', /(1[3-9]|20) I-frames unacknowledged at once, more than k = 12/);
    assert.equal(byId(r, 'C12').status, 'skip');
    assert.match(byId(r, 'C12').message ?? '', /--ioa-sbo/);
  } finally {
    await st.close();
  }
});

test('robustness: a station that stops listening after a malformed frame fails, and later checks are skipped', async () => {
  const r = await run('robustness', { misbehave: { dieOnMalformed: true } }, ['R01', 'R02', 'R07']);
  assert.equal(byId(r, 'R00').status, 'pass');
  assert.equal(byId(r, 'R01').status, 'fail');
  assert.match(byId(r, 'R01').message ?? '', /closed after \d+ ms; but the station did not accept a clean connection afterwards/);
  assert.equal(byId(r, 'R02').status, 'skip');
  assert.equal(byId(r, 'R07').status, 'skip');
});

test('a station that never confirms STARTDT fails C01 and the rest is skipped', async () => {
  const r = await run('conformance', { misbehave: { silent: true } }, ['C02', 'C03']);
  assert.equal(byId(r, 'C01').status, 'fail');
  assert.deepEqual(r.cases.slice(1).map((c) => c.status), ['skip', 'skip']);
  assert.match(byId(r, 'C02').message ?? '', /C01 failed/);
});

test('conformance: cyclic, background and spontaneous data interleaved with the interrogation replies pass C03', async () => {
  const r = await run('conformance', { interleave: true }, ['C03']);
  assert.equal(byId(r, 'C03').status, 'pass', byId(r, 'C03').message);
  assert.match(byId(r, 'C03').message ?? '', /30 object\(s\) with COT 20, 6 other monitor ASDU\(s\) interleaved/);
});
