import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp56FromDate } from '../../src/codec/time.js';
import type { CommandOutcome, StationCommand } from '../../src/station/commands.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { asdu, brief, fakeStation, WALL0 } from './helpers.js';

const SC = (ioa: number, value: boolean, select: boolean, cot = 6, ca = 1) => asdu(45, cot, ca, [{ ioa, value, select, qu: 0 }]);
const DC = (ioa: number, value: number, select: boolean, cot = 6) => asdu(46, cot, 1, [{ ioa, value, select, qu: 0 }]);

const base = {
  points: [
    { ca: 1, ioa: 100, type: 31, value: 1 }, // breaker position (double point, events M_DP_TB_1)
    { ca: 1, ioa: 101, type: 1, value: false },
    { ca: 1, ioa: 200, type: 5, value: 5 }, // tap position
    { ca: 1, ioa: 300, type: 13, value: 0 },
  ],
  commands: [
    { ca: 1, ioa: 1000, type: 46, mode: 'sbo' as const, behaviour: { feedback: { ioa: 100 } } },
    { ca: 1, ioa: 1001, type: 45, mode: 'direct' as const, behaviour: { feedback: { ioa: 101 } } },
    { ca: 1, ioa: 1002, type: 45, mode: 'both' as const },
    { ca: 1, ioa: 1003, type: 47, behaviour: { delayMs: 2000, feedback: { ioa: 200, from: 'step' as const, min: 1, max: 17 } } },
    { ca: 1, ioa: 1004, type: 50, mode: 'direct' as const, behaviour: { feedback: { ioa: 300 } } },
    { ca: 1, ioa: 1005, type: 45, behaviour: { result: 'reject' as const } },
    { ca: 1, ioa: 1006, type: 51 },
  ],
};

test('direct execute: ACT_CON, feedback event (COT 11), ACT_TERM — in that order', () => {
  const seen: StationCommand[] = [];
  const h = fakeStation({ ...base, onCommand: (c) => void seen.push(c) });
  const m = h.started();
  m.deliver(SC(1001, true, false));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['45/7@1:1', '30/11@1:1', '45/10@1:1']);
  assert.equal(out[1].objects[0].ioa, 101);
  assert.equal(out[1].objects[0].value, true);
  assert.equal(seen.length, 1);
  assert.deepEqual({ kind: seen[0].kind, value: seen[0].value, select: seen[0].select, ioa: seen[0].ioa, ca: seen[0].ca, qu: (seen[0] as { qu: number }).qu }, { kind: 'single', value: true, select: false, ioa: 1001, ca: 1, qu: 0 });
  assert.equal(seen[0].source.sessionId, 1);
});

test('SBO: execute without select refused; select then matching execute accepted; feedback to a double point', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(DC(1000, 2, false));
  assert.deepEqual(m.take().map(brief), ['46/7-@1:1'], 'execute without select');
  m.deliver(DC(1000, 2, true));
  let out = m.take();
  assert.deepEqual(out.map(brief), ['46/7@1:1'], 'select confirmed, no ACT_TERM');
  assert.equal(out[0].objects[0].select, true);
  m.deliver(DC(1000, 2, false));
  out = m.take();
  assert.deepEqual(out.map(brief), ['46/7@1:1', '31/11@1:1', '46/10@1:1']);
  assert.equal(out[1].objects[0].value, 2);
  // the selection was consumed
  m.deliver(DC(1000, 1, false));
  assert.deepEqual(m.take().map(brief), ['46/7-@1:1']);
  assert.equal(h.station.point(1, 100)!.value, 2);
});

test('SBO: execute with a different value than selected is refused and clears the selection', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(DC(1000, 2, true));
  m.deliver(DC(1000, 1, false));
  m.deliver(DC(1000, 2, false));
  assert.deepEqual(m.take().map(brief), ['46/7@1:1', '46/7-@1:1', '46/7-@1:1']);
});

test('SBO: selection times out (clock-driven)', () => {
  const h = fakeStation({ ...base, selectTimeoutMs: 5000 });
  const m = h.started();
  m.deliver(DC(1000, 2, true));
  h.tick(4999);
  m.deliver(DC(1000, 2, false));
  assert.deepEqual(m.take().map(brief), ['46/7@1:1', '46/7@1:1', '31/11@1:1', '46/10@1:1'], 'within the timeout');
  m.deliver(DC(1000, 1, true));
  h.tick(5000);
  m.deliver(DC(1000, 1, false));
  assert.deepEqual(m.take().map(brief), ['46/7@1:1', '46/7-@1:1'], 'after the timeout');
  assert.ok(h.logs.some((l) => l.event === 'station.command.select_timeout'));
  assert.equal(h.station.point(1, 100)!.value, 2);
});

test('SBO: deselect with COT 8 → DEACT_CON; then execute refused; deselect with nothing selected → negative', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(DC(1000, 2, true));
  m.deliver(DC(1000, 2, true, 8));
  m.deliver(DC(1000, 2, false));
  m.deliver(DC(1000, 2, true, 8));
  assert.deepEqual(m.take().map(brief), ['46/7@1:1', '46/9@1:1', '46/7-@1:1', '46/9-@1:1']);
  assert.equal(h.station.stats().selections, 0);
});

test('mode direct refuses select; mode both takes either; configured reject gives negative ACT_CON', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(SC(1001, true, true));
  m.deliver(SC(1002, true, false));
  m.deliver(SC(1002, false, true));
  m.deliver(SC(1002, false, false));
  m.deliver(SC(1005, true, false));
  assert.deepEqual(m.take().map(brief), ['45/7-@1:1', '45/7@1:1', '45/10@1:1', '45/7@1:1', '45/7@1:1', '45/10@1:1', '45/7-@1:1']);
});

test('a selection made on one connection cannot be executed or stolen from another', () => {
  const h = fakeStation(base);
  const a = h.started();
  const b = h.started();
  a.deliver(DC(1000, 2, true));
  b.deliver(DC(1000, 2, false));
  b.deliver(DC(1000, 2, true));
  assert.deepEqual(a.take().map(brief), ['46/7@1:1']);
  assert.deepEqual(b.take().map(brief), ['46/7-@1:1', '46/7-@1:1']);
});

test('closing the connection drops its selections', () => {
  const h = fakeStation(base);
  const a = h.started();
  a.deliver(DC(1000, 2, true));
  assert.equal(h.station.stats().selections, 1);
  a.drop();
  assert.equal(h.station.stats().selections, 0);
});

test('delayed execution: ACT_CON now, ACT_TERM and step feedback after the delay; regulating step moves the tap ±1 within limits', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(asdu(47, 6, 1, [{ ioa: 1003, value: 2, select: false, qu: 0 }]));
  assert.deepEqual(m.take().map(brief), ['47/7@1:1']);
  h.tick(1999);
  assert.deepEqual(m.take(), []);
  // a second command while executing: busy
  m.deliver(asdu(47, 6, 1, [{ ioa: 1003, value: 2, select: false, qu: 0 }]));
  assert.deepEqual(m.take().map(brief), ['47/7-@1:1']);
  h.tick(1);
  const out = m.take();
  assert.deepEqual(out.map(brief), ['32/11@1:1', '47/10@1:1']);
  assert.deepEqual([out[0].objects[0].value, out[0].objects[0].transient], [6, false]);
  assert.deepEqual(h.station.point(1, 200)!.value, { value: 6, transient: false });
});

test('deactivation cancels a delayed execution: DEACT_CON, no ACT_TERM, no feedback', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(asdu(47, 6, 1, [{ ioa: 1003, value: 1, select: false, qu: 0 }]));
  m.deliver(asdu(47, 8, 1, [{ ioa: 1003, value: 1, select: false, qu: 0 }]));
  h.tick(5000);
  assert.deepEqual(m.take().map(brief), ['47/7@1:1', '47/9@1:1']);
  assert.deepEqual(h.station.point(1, 200)!.value, { value: 5, transient: false });
});

test('time-tagged commands: fresh accepted, older than maxCommandAgeMs refused, invalid time refused', () => {
  const h = fakeStation({ ...base, maxCommandAgeMs: 5000 });
  const m = h.started();
  const at = (ms: number, invalid = false) => ({ ...cp56FromDate(new Date(ms)), invalid });
  m.deliver(asdu(58, 6, 1, [{ ioa: 1001, value: true, select: false, qu: 0, time: at(WALL0 - 1000) }]));
  assert.deepEqual(m.take().map(brief), ['58/7@1:1', '30/11@1:1', '58/10@1:1']);
  m.deliver(asdu(58, 6, 1, [{ ioa: 1001, value: false, select: false, qu: 0, time: at(WALL0 - 6000) }]));
  m.deliver(asdu(58, 6, 1, [{ ioa: 1001, value: false, select: false, qu: 0, time: at(WALL0, true) }]));
  m.deliver(asdu(63, 6, 1, [{ ioa: 1004, value: 1.25, select: false, ql: 0, time: at(WALL0 + 60_000) }]));
  assert.deepEqual(m.take().map(brief), ['58/7-@1:1', '58/7-@1:1', '63/7-@1:1']);
  assert.equal(h.station.point(1, 101)!.value, true);
  assert.ok(h.logs.some((l) => l.event === 'station.command.refused' && String(l.reason).includes('old')));
});

test('set-point float feedback goes to a measured value with COT 3 (11 not allowed for M_ME_TF_1)', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(asdu(50, 6, 1, [{ ioa: 1004, value: 12.5, select: false, ql: 0 }]));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['50/7@1:1', '36/3@1:1', '50/10@1:1']);
  assert.equal(out[1].objects[0].value, 12.5);
});

test('type not matching the command object → negative ACT_CON; bitstring commands are always direct', () => {
  const h = fakeStation(base);
  const m = h.started();
  m.deliver(DC(1001, 2, false));
  m.deliver(asdu(51, 6, 1, [{ ioa: 1006, value: 0xff }]));
  assert.deepEqual(m.take().map(brief), ['46/7-@1:1', '51/7@1:1', '51/10@1:1']);
});

test('handler outcome: reject, accept with delay and feedback, async (promise) handler', async () => {
  const h = fakeStation({
    ...base,
    onCommand: (c): CommandOutcome | Promise<CommandOutcome> | undefined => {
      if (c.ioa === 1002 && c.value === false) return { result: 'reject', reason: 'interlock' };
      if (c.ioa === 1002) return { result: 'accept', delayMs: 100, feedback: { ioa: 101 } };
      if (c.ioa === 1001) return Promise.resolve({ result: 'accept' });
      return undefined;
    },
  });
  const m = h.started();
  m.deliver(SC(1002, false, false));
  m.deliver(SC(1002, true, false));
  assert.deepEqual(m.take().map(brief), ['45/7-@1:1', '45/7@1:1']);
  h.tick(100);
  assert.deepEqual(m.take().map(brief), ['30/11@1:1', '45/10@1:1']);
  m.deliver(SC(1001, true, false));
  assert.deepEqual(m.take(), [], 'pending until the promise settles');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(m.take().map(brief), ['45/7@1:1', '45/10@1:1']);
  assert.ok(h.logs.some((l) => l.event === 'station.command.refused' && l.reason === 'interlock'));
});

test('a throwing handler rejects the command', () => {
  const h = fakeStation({ ...base, onCommand: () => { throw new Error('boom'); } });
  const m = h.started();
  m.deliver(SC(1002, true, false));
  assert.deepEqual(m.take().map(brief), ['45/7-@1:1']);
});

test('ACT_TERM waits for the feedback event even when events are queued before it', () => {
  const h = fakeStation(base, 2);
  const m = h.started();
  for (let i = 0; i < 3; i++) h.station.update(1, 300, i, { time: WALL0 });
  // window k=2: two events sent, one pending
  assert.equal(m.take().length, 2);
  m.deliver(SC(1001, true, false));
  m.takeAck();
  const all = m.sent.map(brief);
  assert.deepEqual(all, ['36/3@1:1', '36/3@1:1', '45/7@1:1', '36/3@1:1', '30/11@1:1', '45/10@1:1']);
});

test('the command audit carries the station reason of a refused command (select before operate, wrong type)', () => {
  const lines: string[] = [];
  const h = fakeStation({
    commands: [{ ca: 1, ioa: 600, type: 45, mode: 'sbo' }],
    audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }),
  });
  const m = h.started();
  m.deliver(asdu(45, 6, 1, [{ ioa: 600, value: true, select: false, qu: 0 }])); // execute without select
  m.deliver(asdu(46, 6, 1, [{ ioa: 600, value: 2, select: true, qu: 0 }])); // wrong type for the object
  assert.deepEqual(m.take().map(brief), ['45/7-@1:1', '46/7-@1:1']);
  const recs = lines.map((l) => JSON.parse(l) as { outcome: string; reason?: string });
  assert.deepEqual(recs.map((r) => r.outcome), ['rejected', 'rejected']);
  assert.match(recs[0].reason ?? '', /requires select before operate/);
  assert.match(recs[1].reason ?? '', /object takes C_SC_NA_1/);
});
