/**
 * The validation suites against our REAL controlled station (`createStation` + `listen`), run
 * correctly and with each TEST-ONLY misbehaviour (`StationOptions.misbehave`): the correct station
 * passes, and every misbehaviour fails the check that exists to catch it.
 *
 * The suites use real timers (they talk to real devices); every wait is shrunk here, and the
 * station runs with t1 = 500 ms, t2 = 100 ms and a 200 ms select timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { runServe } from '../../src/cli/serve.js';
import { parseStationConfig } from '../../src/station/config.js';
import { parseMisbehaviourList, type StationMisbehaviour } from '../../src/station/misbehave.js';
import { createStation, type StationOptions } from '../../src/station/station.js';
import type { CaseResult, SuiteResult } from '../../src/validate/report.js';
import { runSuite, type SuiteName, type SuiteOptions } from '../../src/validate/suites.js';

const LINK = { k: 12, w: 8, t1: 500, t2: 100 };
const TIMING: SuiteOptions['timing'] = {
  t0: 1000, answer: 400, margin: 200, settle: 100, selectTimeout: 200, closeWait: 800, floodCount: 200, floodMs: 1000, floodConnections: 8, recoveryDelay: 20, interrogation: 1000,
};

/** A small station: a few monitor points, a direct single command, an SBO double command, a set-point. */
function stationOptions(misbehave?: StationMisbehaviour, link: StationOptions['link'] = LINK): StationOptions {
  return {
    points: [
      ...[100, 101, 102, 103].map((ioa) => ({ ca: 1, ioa, type: 1, value: false })),
      { ca: 1, ioa: 200, type: 3, value: 1 },
      { ca: 1, ioa: 300, type: 13, value: 230.5 },
      { ca: 1, ioa: 301, type: 13, value: 0 },
    ],
    commands: [
      { ca: 1, ioa: 5000, type: 45, mode: 'direct', behaviour: { feedback: { ioa: 100 } } },
      { ca: 1, ioa: 5001, type: 46, mode: 'sbo', behaviour: { feedback: { ioa: 200 } } },
      { ca: 1, ioa: 5002, type: 50, mode: 'direct', behaviour: { feedback: { ioa: 301 } } },
    ],
    link,
    selectTimeoutMs: 200,
    maxConnections: 16,
    ...(misbehave ? { misbehave } : {}),
  };
}

async function run(suite: SuiteName, misbehave?: StationMisbehaviour, only?: string[], link?: StationOptions['link']): Promise<SuiteResult> {
  const station = createStation(stationOptions(misbehave, link));
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  try {
    return await runSuite(suite, {
      target: { host: '127.0.0.1', port }, ca: 1, ioaSingle: [5000], ioaSbo: 5001, sboType: 'double',
      peer: { k: LINK.k, w: LINK.w, t1: LINK.t1, t2: LINK.t2 }, timing: TIMING, ...(only ? { only } : {}),
    });
  } finally {
    await station.close();
  }
}

const byId = (r: SuiteResult, id: string): CaseResult => {
  const c = r.cases.find((x) => x.id === id);
  assert.ok(c, `check ${id} ran`);
  return c;
};
const notPassed = (r: SuiteResult): string[] => r.cases.filter((c) => c.status !== 'pass').map((c) => `${c.id} ${c.status}: ${c.message}`);

test('real station: the correct station passes every conformance check', async () => {
  const r = await run('conformance');
  assert.equal(r.cases.length, 16);
  assert.deepEqual(notPassed(r), []);
  assert.match(byId(r, 'C04').message ?? '', /exactly k = 12/);
  assert.match(byId(r, 'C06').message ?? '', /closed \d+ ms after/);
  assert.match(byId(r, 'C16').message ?? '', /refused/);
});

test('real station: robustness passes, and the station still serves a clean connection afterwards', async () => {
  const station = createStation(stationOptions());
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  try {
    const opts: SuiteOptions = { target: { host: '127.0.0.1', port }, ca: 1, peer: LINK, timing: TIMING };
    const r = await runSuite('robustness', opts);
    assert.equal(r.cases.length, 13);
    assert.deepEqual(notPassed(r), []);
    assert.match(byId(r, 'R07').message ?? '', /closed after .*clean connection works/);
    // afterwards: STARTDT, TESTFR and a full station interrogation on a new connection
    const after = await runSuite('conformance', { ...opts, only: ['C02', 'C03'] });
    assert.deepEqual(notPassed(after), []);
  } finally {
    await station.close();
  }
});

test('real station: ignore-select is reported by C12 (execute without select) and C13 (expired select)', async () => {
  const r = await run('conformance', { ignoreSelect: true }, ['C11', 'C12', 'C13']);
  assert.equal(byId(r, 'C11').status, 'pass');
  assert.equal(byId(r, 'C12').status, 'fail');
  assert.match(byId(r, 'C12').message ?? '', /executed without select/);
  assert.equal(byId(r, 'C13').status, 'fail');
  assert.match(byId(r, 'C13').message ?? '', /executed \d+ ms after the select/);
});

test('real station: no-actterm is reported by C03 (interrogation without ACT_TERM)', async () => {
  const r = await run('conformance', { noActTerm: true }, ['C03']);
  assert.equal(byId(r, 'C03').status, 'fail');
  assert.match(byId(r, 'C03').message ?? '', /no ACT_TERM within/);
});

test('real station: slow-acks is reported by C05 (no acknowledgement after w I-frames)', async () => {
  // t1 = 2 s: the misbehaving station acknowledges (and answers) only when its t2 (1.8 s) runs out
  const r = await run('conformance', { slowAcks: true }, ['C05'], { ...LINK, t1: 2000 });
  assert.equal(byId(r, 'C01').status, 'pass');
  assert.equal(byId(r, 'C05').status, 'fail');
  assert.match(byId(r, 'C05').message ?? '', /8 I-frames still unacknowledged after \d+ ms .*no S-frames in time/);
});

test('real station: accept-stale is reported by C16 (stale time-tagged command confirmed)', async () => {
  const r = await run('conformance', { acceptStale: true }, ['C15', 'C16']);
  assert.equal(byId(r, 'C15').status, 'pass');
  assert.equal(byId(r, 'C16').status, 'fail');
  assert.match(byId(r, 'C16').message ?? '', /accepted a command 3600000 ms old/);
});

test('real station: unknown-ioa-positive is reported by C10 (command to an unknown IOA)', async () => {
  const r = await run('conformance', { unknownIoaPositive: true }, ['C10']);
  assert.equal(byId(r, 'C10').status, 'fail');
  assert.match(byId(r, 'C10').message ?? '', /C_SC_NA_1.*instead of COT 47/);
});

test('real station: no-actcon is reported by C11 (select not confirmed), C12 and C15', async () => {
  const r = await run('conformance', { noActCon: true }, ['C11', 'C12', 'C15']);
  assert.equal(byId(r, 'C11').status, 'fail');
  assert.match(byId(r, 'C11').message ?? '', /select: no answer/);
  assert.equal(byId(r, 'C12').status, 'fail');
  assert.match(byId(r, 'C12').message ?? '', /no answer within \d+ ms \(a negative ACT_CON is required\)/);
  assert.equal(byId(r, 'C15').status, 'fail');
});

test('misbehave: parsed from the YAML configuration and from --misbehave, with a loud warning', async () => {
  assert.deepEqual(parseMisbehaviourList('slow-acks,accept-stale,no-actcon'), { slowAcks: true, acceptStale: true, noActCon: true });
  assert.throws(() => parseMisbehaviourList('ignore-select,be-nice'), /unknown misbehaviour 'be-nice' \(one of ignore-select, /);
  const cfg = parseStationConfig('station:\n  misbehave: [ignore-select, unknown-ioa-positive]\npoints: [{ ca: 1, ioa: 1, type: M_SP_NA_1 }]\n');
  assert.deepEqual(cfg.station.misbehave, { ignoreSelect: true, unknownIoaPositive: true });
  assert.deepEqual(parseStationConfig('station:\n  misbehave: { noActTerm: true }\n').station.misbehave, { noActTerm: true });
  assert.throws(() => parseStationConfig('station:\n  misbehave: [nice]\n'), /station\.misbehave: unknown misbehaviour 'nice'/);

  const lines: string[] = [];
  const st = createStation({ ...stationOptions({ slowAcks: true, noActTerm: true }), logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
  assert.match(lines.join('\n'), /"event":"station\.misbehave".*TEST-ONLY.*no-actterm, slow-acks/);
  assert.equal(st.linkParameters.w, st.linkParameters.k, 'slow-acks: w raised to k');
  assert.equal(st.linkParameters.t2, 450, 'slow-acks: t2 raised to 90 % of t1');
  await st.close();
  assert.equal(createStation(stationOptions()).misbehave, undefined);

  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  assert.equal(await runServe(['--check', '--host', '127.0.0.1', '--misbehave', 'ignore-select,no-actterm'], io), 0, err);
  assert.match(err, /WARNING: TEST-ONLY misbehaviour enabled \(ignore-select, no-actterm\)/);
  assert.match(out, /valid/);
  err = '';
  assert.equal(await runServe(['--check', '--misbehave', 'wrong'], io), 2);
  assert.match(err, /--misbehave: unknown misbehaviour 'wrong'/);
});
