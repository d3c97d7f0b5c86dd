/**
 * Issue 11, item 5: a clock synchronisation with an invalid time (IV=1, fields out of range) or a
 * step larger than `maxClockStepMs` gets a negative ACT_CON, leaves the station clock alone and is
 * audited with the reason. Before the fix such times got a positive ACT_CON and moved the clock,
 * after which correctly time-tagged commands were refused as stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';
import type { Asdu } from '../../src/codec/asdu.js';
import { cp56FromDate, type Cp56Time } from '../../src/codec/time.js';
import type { Link } from '../../src/link/link.js';
import { parseStationConfig } from '../../src/station/config.js';
import { createStation } from '../../src/station/station.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';
import { asdu } from './helpers.js';

const WALL = Date.UTC(2026, 5, 10, 12, 0, 0);

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function master(port: number): Promise<{ link: Link; got: Asdu[] }> {
  const socket = await connectTcp('127.0.0.1', port, { t0: 2000 });
  const got: Asdu[] = [];
  const link = bindLink(socket, { role: 'controlling' }, { asdu: (a) => got.push(a), close: () => {} });
  link.start();
  await until(() => link.state === 'started');
  return { link, got };
}

test('socket: clock synchronisation with IV=1 or out-of-range fields is refused (negative ACT_CON, audit reason), the clock does not move; a step over maxClockStepMs too', async () => {
  const lines: string[] = [];
  let wall = WALL;
  const station = createStation({
    points: [{ ca: 1, ioa: 1, type: 1 }], commands: [{ ca: 1, ioa: 10, type: 58, mode: 'direct' }], endOfInitialization: 'none', cyclicPeriodMs: 0,
    time: () => wall, maxClockStepMs: 3_600_000, audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }),
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  try {
    const m = await master(port);
    const good = cp56FromDate(new Date(WALL + 60_000));
    const cases: Array<[string, Cp56Time, RegExp]> = [
      ['IV set', { ...good, invalid: true }, /IV=1/],
      ['ms 65535', { ...good, ms: 65535 }, /milliseconds 65535/],
      ['minute 63', { ...good, minute: 63 }, /minute 63/],
      ['hour 31', { ...good, hour: 31 }, /hour 31/],
      ['day 0', { ...good, day: 0 }, /day of month 0/],
      ['month 0', { ...good, month: 0 }, /month 0 outside/],
      ['month 13', { ...good, month: 13 }, /month 13 outside/],
      ['31 June', { ...good, day: 31 }, /day 31 outside 1\.\.30/],
      ['the attack of issue 11', { ms: 65535, minute: 63, hour: 31, day: 0, dayOfWeek: 0, month: 0, year: 26, invalid: true, summerTime: false }, /IV=1/],
      ['two hours ahead', cp56FromDate(new Date(WALL + 2 * 3_600_000)), /clock step of 7200000 ms exceeds maxClockStepMs \(3600000 ms\)/],
    ];
    for (const [name, time, why] of cases) {
      const n = m.got.length;
      m.link.send(asdu(103, 6, 1, [{ ioa: 0, time }]));
      await until(() => m.got.length > n);
      const con = m.got[n];
      assert.equal(con.typeId, 103, name);
      assert.equal(con.cot, 7, name);
      assert.equal(con.negative, true, `${name}: negative ACT_CON`);
      assert.equal(station.now(), wall, `${name}: the station clock did not move`);
      await until(() => lines.some((l) => why.test(l)));
      const rec = JSON.parse(lines.filter((l) => why.test(l)).at(-1)!) as { kind: string; outcome: string; reason: string; target: { typeId: number } };
      assert.equal(rec.kind, 'command', name);
      assert.equal(rec.outcome, 'rejected', name);
      assert.equal(rec.target.typeId, 103, name);
    }
    // a good one within the step is accepted and moves the clock
    m.link.send(asdu(103, 6, 1, [{ ioa: 0, time: good }]));
    await until(() => m.got.length === cases.length + 1);
    assert.equal(m.got.at(-1)!.negative, false);
    assert.equal(station.now(), WALL + 60_000);
    // and a correctly time-tagged command is still executed (not refused as stale)
    wall += 1000;
    m.link.send(asdu(58, 6, 1, [{ ioa: 10, value: true, select: false, qu: 0, time: cp56FromDate(new Date(station.now())) }]));
    await until(() => m.got.some((a) => a.typeId === 58 && a.cot === 10));
    assert.equal(m.got.find((a) => a.typeId === 58 && a.cot === 7)!.negative, false);
    m.link.close();
  } finally {
    await station.close();
  }
});

test('config: station.maxClockStepMs and station.connectionBudget are read and validated with the path', () => {
  const c = parseStationConfig('station: { maxClockStepMs: 60000, connectionBudget: 65536 }\n');
  assert.equal(c.station.maxClockStepMs, 60000);
  assert.equal(c.station.connectionBudget, 65536);
  assert.throws(() => parseStationConfig('station: { maxClockStepMs: -1 }\n'), /^StationConfigError: station\.maxClockStepMs/);
  assert.throws(() => parseStationConfig('station: { connectionBudget: 10 }\n'), /^StationConfigError: station\.connectionBudget/);
});

test('iec104 serve --max-clock-step MS: a larger step is refused, a smaller one accepted; a bad value is a usage error (exit 2)', async () => {
  const err: string[] = [];
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => err.push(s) } };
  assert.equal(await runServe(['--check', '--max-clock-step', 'soon'], io), 2);
  assert.match(err.join(''), /--max-clock-step needs an integer >= 0 \(ms\)/);
  assert.match(err.join(''), /--max-clock-step MS {2}refuse a clock synchronisation/);
  const dir = mkdtempSync(join(tmpdir(), 'iec104-clock-'));
  const file = join(dir, 'rtu.yaml');
  writeFileSync(file, 'station: { endOfInitialization: none }\npoints:\n  - { ca: 1, ioa: 1, type: M_SP_NA_1 }\nlisten: { host: 127.0.0.1, port: 0 }\n');
  const ac = new AbortController();
  let port = 0;
  const done = runServe([file, '--max-clock-step', '60000', '--no-simulate', '--log-level', 'error'], { ...io, signal: ac.signal, onListening: (ls) => { port = ls[0].port; } });
  try {
    await until(() => port > 0);
    const m = await master(port);
    m.link.send(asdu(103, 6, 1, [{ ioa: 0, time: cp56FromDate(new Date(Date.now() + 2 * 3_600_000)) }]));
    await until(() => m.got.length === 1);
    assert.equal(m.got[0].negative, true, 'two hours ahead: refused');
    m.link.send(asdu(103, 6, 1, [{ ioa: 0, time: cp56FromDate(new Date(Date.now() + 30_000)) }]));
    await until(() => m.got.length === 2);
    assert.equal(m.got[1].negative, false, '30 s ahead: accepted');
    m.link.close();
  } finally {
    ac.abort();
    assert.equal(await done, 0);
  }
});
