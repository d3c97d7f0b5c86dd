import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp56FromDate } from '../../src/codec/time.js';
import type { ClockSyncRequest, ParameterRequest } from '../../src/station/session.js';
import { asdu, brief, fakeStation, WALL0 } from './helpers.js';

const points = [{ ca: 1, ioa: 10, type: 1 }, { ca: 2, ioa: 10, type: 13 }];
const commands = [{ ca: 1, ioa: 500, type: 45 }];

test('negative confirmations mirror the ASDU with P/N=1: unknown type 44, cause 45, CA 46, IOA 47', () => {
  const h = fakeStation({ points, commands });
  const m = h.started();
  m.deliver(asdu(1, 3, 1, [{ ioa: 10, value: true }])); // monitor type sent to a station: not answered (A01)
  m.deliver(asdu(106, 6, 1, [{ ioa: 0, delay: 5 }])); // C_CD_NA_1 (101 only)
  m.deliver(asdu(100, 3, 1, [{ ioa: 0, qoi: 20 }])); // GI with COT spontaneous
  m.deliver(asdu(45, 5, 1, [{ ioa: 500, value: true, select: false, qu: 0 }])); // command with COT 5
  m.deliver(asdu(100, 6, 9, [{ ioa: 0, qoi: 20 }])); // unknown CA
  m.deliver(asdu(45, 6, 9, [{ ioa: 500, value: true, select: false, qu: 0 }]));
  m.deliver(asdu(45, 6, 1, [{ ioa: 501, value: true, select: false, qu: 1 }])); // unknown IOA
  m.deliver(asdu(100, 6, 1, [{ ioa: 7, qoi: 20 }])); // system command with IOA ≠ 0
  const out = m.take();
  assert.deepEqual(out.map(brief), ['106/44-@1:1', '100/45-@1:1', '45/45-@1:1', '100/46-@9:1', '45/46-@9:1', '45/47-@1:1', '100/47-@1:1']);
  // mirrored content
  assert.deepEqual({ ioa: out[5].objects[0].ioa, value: out[5].objects[0].value, qu: out[5].objects[0].qu }, { ioa: 501, value: true, qu: 1 });
  const c = h.station.stats().sessions[0].counters;
  assert.deepEqual([c.unknownType, c.unknownCause, c.unknownCa, c.unknownIoa, c.negative, c.answersIgnored], [1, 2, 2, 2, 7, 1]);
});

test('originator address and test bit are mirrored in replies', () => {
  const h = fakeStation({ points });
  const m = h.started();
  m.deliver(asdu(100, 6, 1, [{ ioa: 0, qoi: 20 }], { originator: 7, test: true }));
  const out = m.take();
  assert.ok(out.every((a) => a.originator === 7 && a.test));
});

test('private/reserved types are unknown (44), raw octets mirrored', () => {
  const h = fakeStation({ points });
  const m = h.started();
  m.deliver(asdu(200, 6, 1, [], { raw: Uint8Array.from([1, 0, 0, 5]), rawCount: 1 }));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['200/44-@1:0']);
  assert.deepEqual([...out[0].raw!], [1, 0, 0, 5]);
});

test('clock synchronisation: handler sees the time, ACT_CON mirrors it, station time follows; refusal → negative', () => {
  const seen: ClockSyncRequest[] = [];
  let accept = true;
  const h = fakeStation({ points, onClockSync: (r) => (seen.push(r), accept) });
  const m = h.started();
  const target = WALL0 + 3_600_000;
  const t = cp56FromDate(new Date(target));
  m.deliver(asdu(103, 6, 1, [{ ioa: 0, time: t }]));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['103/7@1:1']);
  assert.deepEqual(out[0].objects[0].time, t);
  assert.equal(seen[0].date.getTime(), target);
  assert.equal(h.station.now(), target);
  // events now carry the synchronised time
  h.station.update(1, 10, true);
  const ev = m.take()[0];
  assert.equal(ev.objects[0].time && (ev.objects[0].time as { hour: number }).hour, 11);
  accept = false;
  m.deliver(asdu(103, 6, 1, [{ ioa: 0, time: cp56FromDate(new Date(WALL0)) }]));
  assert.deepEqual(m.take().map(brief), ['103/7-@1:1']);
  assert.equal(h.station.now(), target, 'refused sync does not move the clock');
});

test('clock synchronisation with broadcast CA confirms per CA', () => {
  const h = fakeStation({ points });
  const m = h.started();
  m.deliver(asdu(103, 6, 0xffff, [{ ioa: 0, time: cp56FromDate(new Date(WALL0)) }]));
  assert.deepEqual(m.take().map(brief), ['103/7@1:1', '103/7@2:1']);
});

test('test command C_TS_TA_1 is mirrored with ACT_CON (TSC and time kept)', () => {
  const h = fakeStation({ points });
  const m = h.started();
  const t = cp56FromDate(new Date(WALL0));
  m.deliver(asdu(107, 6, 1, [{ ioa: 0, counter: 4242, time: t }]));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['107/7@1:1']);
  assert.equal(out[0].objects[0].counter, 4242);
  assert.deepEqual(out[0].objects[0].time, t);
});

test('reset process: handler decides per CA; broadcast answered per CA', () => {
  const calls: Array<[number, number]> = [];
  const h = fakeStation({ points, onResetProcess: (qrp, ca) => (calls.push([qrp, ca]), ca !== 2) });
  const m = h.started();
  m.deliver(asdu(105, 6, 0xffff, [{ ioa: 0, qrp: 1 }]));
  m.deliver(asdu(105, 6, 1, [{ ioa: 0, qrp: 0 }]));
  assert.deepEqual(m.take().map(brief), ['105/7@1:1', '105/7-@2:1', '105/7-@1:1']);
  assert.deepEqual(calls, [[1, 1], [1, 2]]);
});

test('reset process QRP 2 removes pending time-tagged events of the CA', () => {
  const h = fakeStation({ points }, 1);
  const m = h.started();
  h.station.update(1, 10, true); // sent (window 1)
  h.station.update(1, 10, false); // pending
  h.station.update(2, 10, 2.5); // pending, CA 2
  m.deliver(asdu(105, 6, 1, [{ ioa: 0, qrp: 2 }]));
  assert.equal(h.station.queue.pending, 1, 'CA 1 time-tagged event discarded, CA 2 kept');
  m.takeAck();
  assert.deepEqual(m.sent.map(brief), ['30/3@1:1', '105/7@1:1', '36/3@2:1']);
});

test('parameters P_ME_NA/NB/NC_1 and P_AC_NA_1 are stored and confirmed; unknown IOA → 47; handler may refuse', () => {
  const seen: ParameterRequest[] = [];
  const h = fakeStation({ points, onParameter: (p) => (seen.push(p), p.kpa !== 4) });
  const m = h.started();
  m.deliver(asdu(112, 6, 2, [{ ioa: 10, value: 0.5, kpa: 1, lpc: false, pop: false }]));
  m.deliver(asdu(111, 6, 2, [{ ioa: 10, value: 100, kpa: 3, lpc: false, pop: false }]));
  m.deliver(asdu(110, 6, 2, [{ ioa: 10, value: 0.25, kpa: 4, lpc: false, pop: false }]));
  m.deliver(asdu(112, 6, 2, [{ ioa: 99, value: 0.5, kpa: 1, lpc: false, pop: false }]));
  m.deliver(asdu(113, 6, 2, [{ ioa: 10, qpa: 3 }]));
  m.deliver(asdu(113, 8, 2, [{ ioa: 10, qpa: 3 }]));
  m.deliver(asdu(113, 6, 2, [{ ioa: 0, qpa: 1 }]));
  assert.deepEqual(m.take().map(brief), ['112/7@2:1', '111/7@2:1', '110/7-@2:1', '112/47-@2:1', '113/7@2:1', '113/9@2:1', '113/7@2:1']);
  assert.deepEqual(h.station.db.parameters.get('2:10:1'), { typeId: 112, value: 0.5, kpa: 1, lpc: false, pop: false });
  assert.equal(h.station.db.parameters.get('2:10:3')?.value, 100);
  assert.equal(h.station.db.parameters.has('2:10:4'), false);
  assert.equal(h.station.db.activations.get('2:10:3'), false);
  assert.equal(h.station.db.activations.get('2:0:1'), true);
  assert.equal(seen.length, 6);
});

test('end of initialisation: station mode queues M_EI_NA_1 per CA once; connection mode sends it at each first start', () => {
  const h = fakeStation({ points, endOfInitialization: 'station', initializationCause: 2 });
  const a = h.started();
  let out = a.take();
  assert.deepEqual(out.map(brief), ['70/4@1:1', '70/4@2:1']);
  assert.equal(out[0].objects[0].cause, 2);
  a.ack();
  const b = h.started();
  assert.deepEqual(b.take(), []);
  const h2 = fakeStation({ points, endOfInitialization: 'connection' });
  const c = h2.started();
  out = c.take();
  assert.deepEqual(out.map(brief), ['70/4@1:1', '70/4@2:1']);
  c.stop();
  c.start();
  assert.deepEqual(c.take(), [], 'once per connection');
  const d = h2.started();
  assert.deepEqual(d.take().map(brief), ['70/4@1:1', '70/4@2:1']);
});
