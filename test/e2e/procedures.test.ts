/**
 * End to end: our controlling station (src/master) against our controlled station (src/station)
 * over real loopback sockets (127.0.0.1, port 0), one test per procedure of IEC 60870-5-104.
 * Procedures the master has no helper for (parameters, unknown type / cause) are sent by a bare
 * controlling `Link` bound to a socket (`rawClient`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import { typeInfo } from '../../src/codec/type-table.js';
import { cp56FromDate, cp56ToDate, type Cp56Time } from '../../src/codec/time.js';
import { MasterError, NegativeConfirmationError } from '../../src/master/errors.js';
import type { InterrogationResult } from '../../src/master/master.js';
import type { PointConfig } from '../../src/station/point-database.js';
import type { CommandPointConfig } from '../../src/station/commands.js';
import type { StationOptions } from '../../src/station/station.js';
import { asdu, brief, pair, rawClient } from './helpers.js';

const SQ_RUN = Array.from({ length: 8 }, (_, i) => ({ ca: 1, ioa: 100 + i, type: 13, value: i + 0.5 }));
const POINTS: PointConfig[] = [
  { ca: 1, ioa: 1, type: 1, value: false, groups: [1] },
  { ca: 1, ioa: 2, type: 3, value: 1, groups: [1, 2] },
  { ca: 1, ioa: 3, type: 5, value: 0, groups: [2] },
  { ca: 1, ioa: 4, type: 7, value: 0x1234 },
  { ca: 1, ioa: 5, type: 9, value: 0.5, cyclic: true },
  { ca: 1, ioa: 6, type: 11, value: 100, cyclic: true },
  { ca: 1, ioa: 7, type: 13, value: 1.5, cyclic: true, groups: [2] },
  { ca: 1, ioa: 8, type: 30, value: true },
  { ca: 1, ioa: 9, type: 1, eventType: 1, value: false },
  { ca: 1, ioa: 10, type: 13, eventType: 13, value: 0 },
  { ca: 1, ioa: 11, type: 20, value: { status: 0x0f0f, changes: 0x00ff } },
  { ca: 1, ioa: 12, type: 21, value: 0.25 },
  { ca: 1, ioa: 20, type: 15, value: 1000, counterGroup: 1 },
  { ca: 1, ioa: 21, type: 37, value: 2000, counterGroup: 2 },
  ...SQ_RUN,
  { ca: 2, ioa: 1, type: 1, value: true },
  { ca: 2, ioa: 2, type: 13, value: 2.5 },
  { ca: 2, ioa: 20, type: 15, value: 7 },
];
/** Interrogated points (counters never are) of CA 1, with their static type. */
const GI_CA1: [number, number, unknown][] = [
  [1, 1, false], [2, 3, 1], [3, 5, 0], [4, 7, 0x1234], [5, 9, 0.5], [6, 11, 100], [7, 13, 1.5], [8, 1, true], [9, 1, false], [10, 13, 0],
  [11, 20, { status: 0x0f0f, changes: 0x00ff }], [12, 21, 0.25], ...SQ_RUN.map((p): [number, number, unknown] => [p.ioa, 13, p.value]),
];

/** Command objects: 5000+type (mode both, with feedback), 6000+type (sbo only), 5008 direct only, 5009 rejects. */
const FEEDBACK: Record<number, { ioa: number; from?: 'step' }> = { 45: { ioa: 1 }, 46: { ioa: 2 }, 47: { ioa: 3, from: 'step' }, 48: { ioa: 5 }, 49: { ioa: 6 }, 50: { ioa: 7 }, 51: { ioa: 4 } };
const COMMANDS: CommandPointConfig[] = [
  ...[45, 46, 47, 48, 49, 50, 51].map((t): CommandPointConfig => ({ ca: 1, ioa: 5000 + t, type: t, mode: 'both', behaviour: { feedback: FEEDBACK[t] } })),
  ...[45, 46, 47, 48, 49, 50].map((t): CommandPointConfig => ({ ca: 1, ioa: 6000 + t, type: t, mode: 'sbo' })),
  { ca: 1, ioa: 5008, type: 45, mode: 'direct' },
  { ca: 1, ioa: 5009, type: 45, behaviour: { result: 'reject' } },
];

function options(extra: Partial<StationOptions> = {}): StationOptions {
  return { points: POINTS, commands: COMMANDS, cyclicPeriodMs: 0, maxCommandAgeMs: 5000, ...extra };
}

const objectsOf = (r: InterrogationResult): Map<number, unknown> => new Map(r.objects.map((o) => [o.ioa, o.value]));

/** The ASDUs of one activation in arrival order: from its ACT_CON to its ACT_TERM (inclusive). */
function span(all: Asdu[], typeId: number, ca: number, from = 0): Asdu[] {
  const start = all.findIndex((a, i) => i >= from && a.typeId === typeId && a.ca === ca && a.cot === 7);
  assert.ok(start >= 0, `no ACT_CON of type ${typeId} CA ${ca}`);
  const end = all.findIndex((a, i) => i > start && a.typeId === typeId && a.ca === ca && a.cot === 10);
  assert.ok(end > start, `no ACT_TERM of type ${typeId} CA ${ca}`);
  return all.slice(start, end + 1);
}

test('STARTDT / STOPDT: requests refused and events held while stopped, delivered after the next STARTDT', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    assert.equal(p.master.state, 'started');
    assert.equal(p.station.sessions()[0].isStarted, true);
    await p.master.stopDataTransfer();
    assert.equal(p.master.state, 'connected');
    assert.equal(p.master.snapshot().link?.state, 'stopped');
    await assert.rejects(p.master.interrogation(1), (e: unknown) => e instanceof MasterError && e.code === 'E_NOT_CONNECTED');
    p.station.update(1, 10, 77.5);
    assert.equal(p.station.stats().queue.pending, 1, 'event kept while data transfer is stopped');
    assert.equal(p.rec.all.length, 0);
    await p.master.startDataTransfer();
    assert.equal(p.master.state, 'started');
    const ev = await p.rec.next((a) => a.typeId === 13 && a.cot === 3);
    assert.equal(ev.objects[0].value, 77.5);
    // stop/start again with traffic in between
    await p.master.stopDataTransfer();
    await p.master.startDataTransfer();
    const gi = await p.master.interrogation(1);
    assert.equal(gi.objects.length, GI_CA1.length);
  } finally {
    await p.close();
  }
});

test('end of initialisation: M_EI_NA_1 (COT 4) per CA after the first STARTDT; per connection in mode "connection"', async () => {
  const p = await pair(options({ endOfInitialization: 'station', initializationCause: 2 }));
  try {
    await p.rec.until((all) => all.filter((a) => a.typeId === 70).length === 2);
    const ei = p.rec.all.filter((a) => a.typeId === 70);
    assert.deepEqual(ei.map(brief), ['70/4@1:1', '70/4@2:1']);
    assert.equal(ei[0].objects[0].cause, 2);
    assert.equal(ei[0].objects[0].ioa, 0);
    // station mode: a second connection does not get it again, once the first acknowledged it (an
    // I-frame of the master carries the acknowledgement; unacknowledged events would be sent again)
    await p.master.testCommand(1);
    const c = await rawClient(p.port);
    assert.ok(c.link.send(asdu(107, 6, 1, [{ ioa: 0, counter: 1, time: cp56FromDate(new Date()) }])));
    await c.rec.next((a) => a.typeId === 107);
    assert.equal(c.rec.all.filter((a) => a.typeId === 70).length, 0);
    await c.close();
  } finally {
    await p.close();
  }
  const q = await pair(options({ endOfInitialization: 'connection' }));
  try {
    await q.rec.until((all) => all.filter((a) => a.typeId === 70).length === 2);
    const c = await rawClient(q.port);
    await c.rec.until((all) => all.filter((a) => a.typeId === 70 && a.cot === 4).length === 2);
    await c.close();
  } finally {
    await q.close();
  }
});

test('station interrogation: every configured point with COT 20 in its static type, between ACT_CON and ACT_TERM', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    const gi = await p.master.interrogation(1);
    assert.equal(gi.confirmation?.cot, 7);
    assert.equal(gi.termination?.cot, 10);
    assert.ok(gi.rtt.actCon !== undefined && gi.rtt.actTerm !== undefined && gi.rtt.actTerm >= gi.rtt.actCon);
    const got = new Map(gi.objects.map((o) => [o.ioa, o]));
    assert.equal(gi.objects.length, GI_CA1.length, 'each point exactly once');
    for (const [ioa, type, value] of GI_CA1) {
      const o = got.get(ioa);
      assert.ok(o, `IOA ${ioa} missing from the GI`);
      assert.equal(o.typeId, type, `IOA ${ioa} type`);
      assert.equal(o.cot, 20);
      assert.equal(o.ca, 1);
      if (type === 5) assert.equal((o.value as unknown as number), 0);
      else if (type === 20) assert.deepEqual({ status: (o.object.status as number), changes: o.object.changes }, value);
      else if (typeof value === 'number' && !Number.isInteger(value)) assert.ok(Math.abs((o.value as number) - value) < 1e-3, `IOA ${ioa} value`);
      else assert.deepEqual(o.value, value, `IOA ${ioa} value`);
      assert.equal(o.time, undefined, 'GI data is never time-tagged');
    }
    // wire order: ACT_CON, data (COT 20 only), ACT_TERM last; the contiguous run went as SQ=1
    const s = span(p.rec.all, 100, 1);
    assert.equal(s[0].negative, false);
    for (const a of s.slice(1, -1)) assert.equal(a.cot, 20, `unexpected ${brief(a)} inside the GI`);
    assert.equal(s.slice(1, -1).reduce((n, a) => n + a.objects.length, 0), GI_CA1.length);
    assert.ok(s.some((a) => a.sq && a.typeId === 13 && a.objects.length === 8), 'IOAs 100..107 packed SQ=1');
    assert.equal(p.station.sessions()[0].counters.interrogations, 1);
  } finally {
    await p.close();
  }
});

test('group interrogation: QOI 21..36 return the group members with COT 21..36; an empty group terminates without data', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    const g1 = await p.master.interrogation(1, 21);
    assert.deepEqual([...objectsOf(g1).keys()].sort((a, b) => a - b), [1, 2]);
    assert.ok(g1.objects.every((o) => o.cot === 21));
    const g2 = await p.master.interrogation(1, 22);
    assert.deepEqual([...objectsOf(g2).keys()].sort((a, b) => a - b), [2, 3, 7]);
    assert.ok(g2.objects.every((o) => o.cot === 22));
    for (let qoi = 23; qoi <= 36; qoi++) {
      const g = await p.master.interrogation(1, qoi);
      assert.equal(g.objects.length, 0, `group ${qoi - 20}`);
      assert.equal(g.termination?.cot, 10);
    }
    for (const s of [span(p.rec.all, 100, 1), span(p.rec.all, 100, 1, p.rec.all.findIndex((a) => a.cot === 22))]) {
      assert.equal(s[s.length - 1].cot, 10);
      assert.ok(s.slice(1, -1).every((a) => a.cot === s[0].objects[0].qoi), 'only the group cause inside the span');
    }
    // QOI outside 20..36: negative ACT_CON
    await assert.rejects(p.master.interrogation(1, 37), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 7);
  } finally {
    await p.close();
  }
});

test('spontaneous events: time-tagged (30..36) and untimed (1, 13) types, values, qualities and time tags', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    const at = new Date('2024-03-04T05:06:07.890Z');
    const updates: [number, unknown, number, unknown][] = [
      // ioa, value, expected event type, expected value on the wire
      [1, true, 30, true],
      [2, 2, 31, 2],
      [3, 5, 32, 5],
      [4, 0xdeadbeef, 33, 0xdeadbeef],
      [5, -0.5, 34, -0.5],
      [6, -1234, 35, -1234],
      [7, 49.75, 36, 49.75],
      [8, false, 30, false],
      [9, true, 1, true],
      [10, 3.25, 13, 3.25],
    ];
    for (const [ioa, v] of updates) p.station.update(1, ioa, v as never, { time: at });
    p.station.update(1, 7, 12.5, { quality: { iv: true, nt: true }, time: at });
    await p.rec.until((all) => all.reduce((n, a) => n + (a.cot === 3 ? a.objects.length : 0), 0) === updates.length + 1);
    const events = p.rec.all.filter((a) => a.cot === 3).flatMap((a) => a.objects.map((o) => ({ a, o })));
    events.forEach(({ a, o }, i) => {
      const u = updates[i] ?? [7, 12.5, 36, 12.5];
      assert.equal(o.ioa, u[0], `event ${i} in order`);
      assert.equal(a.typeId, u[2], `IOA ${o.ioa} event type`);
      const v = a.typeId === 32 ? (o.value as number) : o.value;
      assert.deepEqual(v, u[3]);
      if (a.typeId >= 30) assert.equal(cp56ToDate(o.time as Cp56Time).getTime(), at.getTime(), 'time tag carried');
      else assert.equal(o.time, undefined);
    });
    const bad = events[events.length - 1].o;
    assert.equal((bad.quality as { iv: boolean }).iv, true);
    assert.equal((bad.quality as { nt: boolean }).nt, true);
    // default time tag: station time now
    const before = Date.now();
    const n = p.rec.all.length;
    p.station.update(1, 1, false);
    const e = await p.rec.next((a) => a.typeId === 30, n);
    const t = cp56ToDate(e.objects[0].time as Cp56Time).getTime();
    assert.ok(t >= before - 5 && t <= Date.now() + 5, 'default time tag is station time');
    assert.equal(p.station.stats().queue.pending, 0);
  } finally {
    await p.close();
  }
});

test('cyclic (COT 1) and background scan (COT 2) with short periods', async () => {
  const p = await pair(options({ endOfInitialization: 'none', cyclicPeriodMs: 40, backgroundPeriodMs: 60 }));
  try {
    await p.rec.until((all) => all.filter((a) => a.cot === 1).length >= 6, 3000, 'two cycles');
    const cyc = p.rec.all.filter((a) => a.cot === 1);
    const firstCycle = cyc.slice(0, 3);
    assert.deepEqual(firstCycle.map((a) => [a.typeId, a.objects.map((o) => o.ioa)]), [[9, [5]], [11, [6]], [13, [7]]], 'cyclic points in their static types');
    assert.ok(cyc.every((a) => a.ca === 1 && a.objects.every((o) => o.time === undefined)));
    await p.rec.until((all) => all.some((a) => a.cot === 2), 3000, 'background scan');
    const bgIoas = new Set(p.rec.all.filter((a) => a.cot === 2 && a.ca === 1).flatMap((a) => a.objects.map((o) => o.ioa)));
    for (const ioa of [1, 2, 7, 100]) assert.ok(bgIoas.has(ioa), `IOA ${ioa} in the background scan`);
    assert.ok(!bgIoas.has(20), 'counters are not background-scanned');
    // a changed value shows in the next cycle
    p.station.update(1, 7, 99.5, { event: false });
    const n = p.rec.all.length;
    const a = await p.rec.next((x) => x.cot === 1 && x.typeId === 13, n);
    assert.equal(a.objects[0].value, 99.5);
  } finally {
    await p.close();
  }
});

test('counter interrogation: general and group read, freeze, freeze with reset, reset', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    const counters = (r: InterrogationResult): Map<number, { value: number; sequence: number; type: number; cot: number }> =>
      new Map(r.objects.map((o) => [o.ioa, { value: o.value as number, sequence: Number(o.object.sequence), type: o.typeId, cot: o.cot }]));
    let r = await p.master.counterInterrogation(1);
    assert.deepEqual([...counters(r).entries()].sort(), [[20, { value: 1000, sequence: 0, type: 15, cot: 37 }], [21, { value: 2000, sequence: 0, type: 37, cot: 37 }]]);
    assert.ok(r.objects.find((o) => o.ioa === 21)?.time, 'M_IT_TB_1 carries a time tag');
    r = await p.master.counterInterrogation(1, { rqt: 1 });
    assert.deepEqual([...counters(r).keys()], [20]);
    assert.equal(r.objects[0].cot, 38);
    r = await p.master.counterInterrogation(1, { rqt: 2 });
    assert.deepEqual([...counters(r).keys()], [21]);
    assert.equal(r.objects[0].cot, 39);

    p.station.update(1, 20, 1500);
    const frozen = await p.master.counterInterrogation(1, { frz: 1 }); // freeze without reset
    assert.equal(frozen.objects.length, 0, 'a freeze sends no data');
    assert.equal(frozen.termination?.cot, 10);
    p.station.update(1, 20, 1600);
    r = await p.master.counterInterrogation(1, { rqt: 1 });
    assert.deepEqual(counters(r).get(20), { value: 1500, sequence: 0, type: 15, cot: 38 }, 'read returns the frozen value');

    await p.master.counterInterrogation(1, { rqt: 1, frz: 2 }); // freeze and reset
    r = await p.master.counterInterrogation(1, { rqt: 1 });
    assert.deepEqual(counters(r).get(20), { value: 1600, sequence: 1, type: 15, cot: 38 });
    await p.master.counterInterrogation(1, { rqt: 1, frz: 1 });
    r = await p.master.counterInterrogation(1, { rqt: 1 });
    assert.deepEqual(counters(r).get(20), { value: 0, sequence: 2, type: 15, cot: 38 }, 'running count was reset');

    p.station.update(1, 20, 50);
    await p.master.counterInterrogation(1, { rqt: 1, frz: 3 }); // reset only
    await p.master.counterInterrogation(1, { rqt: 1, frz: 1 });
    r = await p.master.counterInterrogation(1, { rqt: 1 });
    assert.equal(counters(r).get(20)?.value, 0);
    assert.equal(counters(r).get(20)?.sequence, 3);
    // RQT outside 1..5: negative ACT_CON
    await assert.rejects(p.master.counterInterrogation(1, { rqt: 6 }), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 7);
    const s = span(p.rec.all, 101, 1);
    assert.ok(s.slice(1, -1).every((a) => a.cot === 37));
  } finally {
    await p.close();
  }
});

test('read: COT 5 answer in the static type; unknown IOA and unreadable counter -> mirrored with COT 47', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    const r = await p.master.read(1, 7);
    assert.equal(r.response.cot, 5);
    assert.equal(r.response.typeId, 13);
    assert.equal(r.value.value, 1.5);
    const r2 = await p.master.read(1, 8, 1);
    assert.equal(r2.value.value, true, 'a time-tagged point is read in its untimed type');
    await assert.rejects(p.master.read(1, 9999), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 47 && e.asdu.negative && e.asdu.typeId === 102);
    await assert.rejects(p.master.read(1, 20), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 47);
    assert.equal(p.station.sessions()[0].counters.unknownIoa, 2);
  } finally {
    await p.close();
  }
});

test('clock synchronisation: station time follows, events carry it; refused by the handler -> negative ACT_CON', async () => {
  let refuse = false;
  const p = await pair(options({ endOfInitialization: 'none', onClockSync: () => !refuse }));
  try {
    const target = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 600));
    const before = Date.now();
    const r = await p.master.clockSync(1, target);
    assert.equal(r.confirmation?.cot, 7);
    assert.equal(r.confirmation?.negative, false);
    assert.equal(cp56ToDate(r.confirmation?.objects[0].time as Cp56Time).getTime(), target.getTime(), 'ACT_CON mirrors the time');
    const skew = p.station.now() - target.getTime();
    assert.ok(skew >= 0 && skew <= Date.now() - before + 5, `station time set (skew ${skew} ms)`);
    const n = p.rec.all.length;
    p.station.update(1, 1, true);
    const e = await p.rec.next((a) => a.typeId === 30, n);
    assert.equal(cp56ToDate(e.objects[0].time as Cp56Time).getUTCFullYear(), 2030);
    refuse = true;
    await assert.rejects(p.master.clockSync(1), (x: unknown) => x instanceof NegativeConfirmationError && x.cot === 7);
    assert.equal(p.station.sessions()[0].counters.clockSyncs, 2);
  } finally {
    await p.close();
  }
});

test('test command C_TS_TA_1 mirrored with ACT_CON; reset process QRP 1/2 accepted, QRP 0 refused', async () => {
  const resets: [number, number][] = [];
  const p = await pair(options({ endOfInitialization: 'none', onResetProcess: (qrp, ca) => void resets.push([qrp, ca]) }));
  try {
    for (let i = 0; i < 3; i++) {
      const r = await p.master.testCommand(1);
      assert.equal(r.confirmation?.typeId, 107);
      assert.equal(r.confirmation?.cot, 7);
      assert.equal(r.confirmation?.objects[0].counter, i, 'test sequence counter mirrored');
      assert.deepEqual(r.confirmation?.objects[0].time, r.sent.objects[0].time);
    }
    assert.equal(p.station.sessions()[0].counters.testCommands, 3);
    const rp = await p.master.resetProcess(1, 1);
    assert.equal(rp.confirmation?.negative, false);
    await p.master.resetProcess(1, 2);
    assert.deepEqual(resets, [[1, 1], [2, 1]]);
    await assert.rejects(p.master.resetProcess(1, 0), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 7);
  } finally {
    await p.close();
  }
});

test('parameters P_ME_NA/NB/NC_1 and P_AC_NA_1 (bare link: the master has no parameter helpers)', async () => {
  const p = await pair(options({ endOfInitialization: 'none', onParameter: (req) => !(req.typeId === 112 && req.value === -1) }));
  const c = await rawClient(p.port);
  try {
    const ask = async (a: Asdu): Promise<Asdu> => {
      const n = c.rec.all.length;
      assert.ok(c.link.send(a));
      return c.rec.next((x) => x.typeId === a.typeId, n);
    };
    let r = await ask(asdu(112, 6, 1, [{ ioa: 7, value: 0.5, kpa: 1, lpc: false, pop: false }]));
    assert.equal(r.cot, 7);
    assert.equal(r.negative, false);
    assert.deepEqual(p.station.db.parameters.get('1:7:1'), { typeId: 112, value: 0.5, kpa: 1, lpc: false, pop: false });
    r = await ask(asdu(110, 6, 1, [{ ioa: 5, value: 0.25, kpa: 3 }]));
    assert.equal(r.negative, false);
    assert.equal(p.station.db.parameters.get('1:5:3')?.value, 0.25);
    r = await ask(asdu(111, 6, 1, [{ ioa: 6, value: 300, kpa: 4 }]));
    assert.equal(r.negative, false);
    assert.equal(p.station.db.parameters.get('1:6:4')?.value, 300);
    r = await ask(asdu(112, 6, 1, [{ ioa: 7, value: -1, kpa: 2 }]));
    assert.equal(r.negative, true, 'refused by onParameter');
    r = await ask(asdu(112, 6, 1, [{ ioa: 4242, value: 1, kpa: 1 }]));
    assert.equal(r.cot, 47);
    // P_AC_NA_1: activation of previously loaded parameters (IOA 0), of one object, deactivation
    r = await ask(asdu(113, 6, 1, [{ ioa: 0, qpa: 1 }]));
    assert.deepEqual([r.cot, r.negative], [7, false]);
    r = await ask(asdu(113, 6, 1, [{ ioa: 7, qpa: 2 }]));
    assert.deepEqual([r.cot, r.negative], [7, false]);
    assert.equal(p.station.db.activations.get('1:7:2'), true);
    r = await ask(asdu(113, 8, 1, [{ ioa: 7, qpa: 2 }]));
    assert.deepEqual([r.cot, r.negative], [9, false]);
    assert.equal(p.station.db.activations.get('1:7:2'), false);
    r = await ask(asdu(113, 6, 1, [{ ioa: 7, qpa: 0 }]));
    assert.equal(r.negative, true, 'QPA 0 refused');
  } finally {
    await c.close();
    await p.close();
  }
});

const VALUES: Record<number, unknown> = { 45: true, 46: 2, 47: 2, 48: 0.25, 49: -1234, 50: 42.5, 51: 0xdeadbeef };
/** Expected feedback type and value (the feedback points' event types are the CP56 forms). */
const FB_TYPE: Record<number, number> = { 45: 30, 46: 31, 47: 32, 48: 34, 49: 35, 50: 36, 51: 33 };

test('process commands 45..51 and 58..64, direct execute: ACT_CON, feedback (COT 11 or 3), ACT_TERM after it', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    let step = 0;
    for (const timed of [false, true]) {
      for (const t of [45, 46, 47, 48, 49, 50, 51]) {
        const n = p.rec.all.length;
        const r = await p.master.command(t, 1, 5000 + t, { value: VALUES[t] }, { time: timed, until: 'actterm' });
        const sentType = timed ? t + 13 : t;
        assert.equal(r.sent.typeId, sentType);
        assert.equal(r.confirmation?.cot, 7, `${sentType} ACT_CON`);
        assert.equal(r.confirmation?.negative, false);
        assert.equal(r.termination?.cot, 10, `${sentType} ACT_TERM`);
        if (timed) assert.ok(r.sent.objects[0].time, 'time tag sent');
        const after = p.rec.all.slice(n);
        const fbi = after.findIndex((a) => a.typeId === FB_TYPE[t] && a.objects[0]?.ioa === FEEDBACK[t].ioa);
        const term = after.findIndex((a) => a.typeId === sentType && a.cot === 10);
        assert.ok(fbi >= 0, `feedback of ${sentType}`);
        assert.ok(fbi < term, 'feedback before ACT_TERM');
        const fb = after[fbi];
        assert.equal(fb.cot, typeInfo(fb.typeId)!.causes.has(11) ? 11 : 3, `${brief(fb)}: return information cause where allowed`);
        const v = fb.objects[0].value;
        if (t === 47) assert.equal(v, ++step, 'step position moved up');
        else if (t === 45) assert.equal(v, true);
        else assert.equal(v, VALUES[t]);
      }
    }
    assert.equal(p.station.sessions()[0].counters.commands, 14);
    assert.equal(p.station.sessions()[0].counters.commandsRejected, 0);
  } finally {
    await p.close();
  }
});

test('select before operate for 45..50 and 58..63; execute without select refused; direct-only object refuses select', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    for (const timed of [false, true]) {
      for (const t of [45, 46, 47, 48, 49, 50]) {
        const n = p.rec.all.length;
        // sbo-only object: execute without select is refused (negative ACT_CON), nothing executes
        await assert.rejects(
          p.master.command(t, 1, 6000 + t, { value: VALUES[t] }, { time: timed }),
          (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 7 && e.step === 'request',
          `execute without select of ${t}`,
        );
        const r = await p.master.command(t, 1, 6000 + t, { value: VALUES[t] }, { time: timed, sbo: true, until: 'actterm' });
        assert.equal(r.select?.confirmation?.negative, false);
        assert.equal(r.select?.sent.objects[0].select, true);
        assert.equal(r.sent.objects[0].select, false);
        assert.equal(r.termination?.cot, 10);
        const sentType = timed ? t + 13 : t;
        assert.deepEqual(
          p.rec.all.slice(n).filter((a) => a.typeId === sentType).map(brief),
          [`${sentType}/7-@1:1`, `${sentType}/7@1:1`, `${sentType}/7@1:1`, `${sentType}/10@1:1`],
        );
        // a second execute after the selection was consumed is refused again
        await assert.rejects(p.master.command(t, 1, 6000 + t, { value: VALUES[t] }, { time: timed }), NegativeConfirmationError);
      }
    }
    // an execute that does not match the select is refused and clears the selection
    await p.master.command(46, 1, 6046, { value: 2 }, { select: true });
    await assert.rejects(p.master.command(46, 1, 6046, { value: 1 }), NegativeConfirmationError);
    await assert.rejects(p.master.command(46, 1, 6046, { value: 2 }), NegativeConfirmationError, 'selection cleared');
    // deselect (COT 8) is not offered by the master; direct-only object refuses a select
    await assert.rejects(p.master.single(1, 5008, true, { sbo: true }), (e: unknown) => e instanceof NegativeConfirmationError && e.step === 'select');
    const d = await p.master.single(1, 5008, true);
    assert.equal(d.confirmation?.negative, false);
    // configured reject
    await assert.rejects(p.master.single(1, 5009, true), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 7);
  } finally {
    await p.close();
  }
});

test('time-tagged commands: a stale or future time tag is refused without reaching the handler', async () => {
  let handled = 0;
  const p = await pair(options({ endOfInitialization: 'none', onCommand: () => void handled++ }));
  try {
    for (const t of [45, 46, 47, 48, 49, 50, 51]) {
      for (const offset of [-60_000, +60_000]) {
        await assert.rejects(
          p.master.command(t, 1, 5000 + t, { value: VALUES[t] }, { time: new Date(Date.now() + offset) }),
          (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 7 && e.asdu.typeId === t + 13,
          `${t + 13} with a time tag ${offset} ms off`,
        );
      }
    }
    assert.equal(handled, 0);
    // an invalid-flagged time tag too
    const invalid = { ...cp56FromDate(new Date()), invalid: true };
    await assert.rejects(p.master.command(58, 1, 5045, { value: true, time: invalid }), NegativeConfirmationError);
    assert.equal(handled, 0);
    const ok = await p.master.command(45, 1, 5045, { value: true }, { time: new Date(Date.now() - 1000) });
    assert.equal(ok.confirmation?.negative, false, 'a fresh time tag passes');
    assert.equal(handled, 1);
  } finally {
    await p.close();
  }
});

test('negative confirmations: 44 unknown type, 45 unknown cause, 46 unknown CA, 47 unknown IOA (mirrored, P/N=1)', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  const c = await rawClient(p.port);
  try {
    const ask = async (a: Asdu): Promise<Asdu> => {
      const n = c.rec.all.length;
      assert.ok(c.link.send(a));
      return c.rec.next((x) => x.typeId === a.typeId, n);
    };
    // 44: C_CD_NA_1 (delay acquisition) is not handled by the station
    let r = await ask(asdu(106, 6, 1, [{ ioa: 0, delay: 100 }], { originator: 7 }));
    assert.deepEqual([r.cot, r.negative, r.originator, r.ca], [44, true, 7, 1]);
    assert.equal(r.objects[0].delay, 100, 'mirrored object');
    // 45: an interrogation with cause 5 (request)
    r = await ask(asdu(100, 5, 1, [{ ioa: 0, qoi: 20 }]));
    assert.deepEqual([r.cot, r.negative], [45, true]);
    // 45: a command with cause 3
    r = await ask(asdu(45, 3, 1, [{ ioa: 5045, value: true, select: false, qu: 0 }]));
    assert.deepEqual([r.cot, r.negative], [45, true]);
    // 46 and 47 through the master
    await assert.rejects(p.master.interrogation(99), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 46 && e.asdu.ca === 99);
    await assert.rejects(p.master.single(99, 5045, true), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 46);
    await assert.rejects(p.master.single(1, 4242, true), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 47);
    await assert.rejects(p.master.setpointFloat(1, 4243, 1.5, { time: true }), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 47);
    // 47: a system command with IOA != 0
    r = await ask(asdu(100, 6, 1, [{ ioa: 5, qoi: 20 }]));
    assert.deepEqual([r.cot, r.negative], [47, true]);
    // checks in the order type, cause, CA, IOA: unknown type with a bad CA is 44
    r = await ask(asdu(106, 6, 99, [{ ioa: 3, delay: 1 }]));
    assert.equal(r.cot, 44);
    const counters = p.station.stats().sessions.map((s) => s.counters);
    const sum = (k: 'unknownType' | 'unknownCause' | 'unknownCa' | 'unknownIoa'): number => counters.reduce((n, x) => n + x[k], 0);
    assert.deepEqual([sum('unknownType'), sum('unknownCause'), sum('unknownCa'), sum('unknownIoa')], [2, 2, 2, 3]);
  } finally {
    await c.close();
    await p.close();
  }
});

test('broadcast CA 0xFFFF with two CAs: GI, counter interrogation and clock sync answered per CA', async () => {
  const p = await pair(options({ endOfInitialization: 'none' }));
  try {
    const gi = await p.master.interrogation(0xffff);
    assert.equal(gi.confirmation?.cot, 7);
    // the master's result holds the data of BOTH common addresses (it settles after the last ACT_TERM)
    assert.deepEqual([...new Set(gi.objects.map((o) => o.ca))].sort(), [1, 2]);
    assert.equal(gi.objects.length, GI_CA1.length + 2);
    // every CA answers with its own address: ACT_CON, data, ACT_TERM
    await p.rec.until((all) => all.filter((a) => a.typeId === 100 && a.cot === 10).length === 2, 3000, 'ACT_TERM of both CAs');
    for (const ca of [1, 2]) {
      const s = span(p.rec.all, 100, ca);
      assert.ok(s.slice(1, -1).every((a) => a.ca === ca && a.cot === 20));
      const ioas = s.slice(1, -1).flatMap((a) => a.objects.map((o) => o.ioa)).sort((a, b) => a - b);
      if (ca === 1) assert.deepEqual(ioas, GI_CA1.map((g) => g.at(0)).sort((a, b) => (a as number) - (b as number)));
      else assert.deepEqual(ioas, [1, 2]);
    }
    const n = p.rec.all.length;
    await p.master.counterInterrogation(0xffff);
    await p.rec.until((all) => all.slice(n).filter((a) => a.typeId === 101 && a.cot === 10).length === 2);
    const ci = p.rec.all.slice(n).filter((a) => a.cot === 37);
    assert.deepEqual(ci.map((a) => [a.ca, a.objects.map((o) => o.ioa)]), [[1, [20]], [1, [21]], [2, [20]]]);
    const m = p.rec.all.length;
    await p.master.clockSync(0xffff);
    await p.rec.until((all) => all.slice(m).filter((a) => a.typeId === 103 && a.cot === 7).length === 2);
    assert.deepEqual(p.rec.all.slice(m).filter((a) => a.typeId === 103).map((a) => a.ca), [1, 2]);
    // other types with the broadcast CA: 46
    await assert.rejects(p.master.read(0xffff, 7), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 46);
  } finally {
    await p.close();
  }
});
