/**
 * Link layer conformance: one test (or more) per row L01.. of docs/CONFORMANCE.md.
 * A scripted peer feeds bytes; the exact bytes written are asserted; time is a VirtualClock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link, LinkUsageError } from '../../src/link/link.js';
import { LinkParameterError, resolveLinkParameters } from '../../src/link/params.js';
import { DEFAULT_LINK_PARAMETERS } from '../../src/link/types.js';
import { CodecError } from '../../src/codec/errors.js';
import { VirtualClock } from '../../src/clock.js';
import {
  harness, hex, I, iApci, measured, S, sHex, U,
  STARTDT_ACT, STARTDT_CON, STOPDT_ACT, STOPDT_CON, TESTFR_ACT, TESTFR_CON,
} from './helpers.js';

const noop = { write() {}, asdu() {}, close() {} };

test('L01 parameters: defaults and validation naming the field', () => {
  assert.deepEqual(resolveLinkParameters(), { k: 12, w: 8, t0: 30_000, t1: 15_000, t2: 10_000, t3: 20_000 });
  assert.deepEqual(new Link({ role: 'controlled' }, noop).parameters, DEFAULT_LINK_PARAMETERS);
  const bad: [Record<string, number>, string][] = [
    [{ k: 0 }, 'k'], [{ k: 32768 }, 'k'], [{ k: 1.5 }, 'k'],
    [{ w: 0 }, 'w'], [{ k: 4, w: 5 }, 'w'], [{ w: 2.5 }, 'w'],
    [{ t0: 0 }, 't0'], [{ t1: -1 }, 't1'], [{ t3: 0 }, 't3'], [{ t3: Number.NaN }, 't3'], [{ t2: Infinity }, 't2'],
    [{ t1: 10_000, t2: 10_000 }, 't2'], [{ t1: 5_000 }, 't2'],
  ];
  for (const [p, field] of bad) {
    assert.throws(() => new Link({ role: 'controlled', params: p }, noop), (e: unknown) => e instanceof LinkParameterError && e.field === field, JSON.stringify(p));
  }
  assert.equal(resolveLinkParameters({ k: 32767, w: 32767 }).w, 32767);
  assert.equal(resolveLinkParameters({ k: 1, w: 1 }).k, 1);
  assert.throws(() => new Link({ role: 'master' as 'controlled' }, noop), LinkUsageError);
});

test('L02 controlled: STARTDT act -> STARTDT con, started; repeated STARTDT act confirmed again', () => {
  const h = harness('controlled');
  assert.equal(h.link.state, 'stopped');
  h.feed(U('STARTDT_ACT'));
  assert.deepEqual(h.take(), [STARTDT_CON]);
  assert.equal(h.link.state, 'started');
  assert.deepEqual(h.states, [['started', 'stopped']]);
  h.feed(U('STARTDT_ACT'));
  assert.deepEqual(h.take(), [STARTDT_CON]);
  assert.equal(h.states.length, 1);
});

test('L03 controlling: start() -> STARTDT act, starting; STARTDT con -> started; start() idempotent; wrong role throws', () => {
  const h = harness('controlling');
  assert.equal(h.link.start(), true);
  assert.deepEqual(h.take(), [STARTDT_ACT]);
  assert.equal(h.link.state, 'starting');
  assert.equal(h.link.start(), true);
  assert.deepEqual(h.take(), []);
  h.feed(U('STARTDT_CON'));
  assert.equal(h.link.state, 'started');
  assert.deepEqual(h.states, [['starting', 'stopped'], ['started', 'starting']]);
  assert.equal(h.link.start(), true);
  assert.deepEqual(h.take(), []);
  const c = harness('controlled');
  assert.throws(() => c.link.start(), LinkUsageError);
  assert.throws(() => c.link.stop(), LinkUsageError);
});

test('L04 STARTDT act unconfirmed: E_T1_TIMEOUT exactly t1 after sending', () => {
  const h = harness('controlling', { t1: 15_000, t3: 100_000 });
  h.link.start();
  h.clock.advance(14_999);
  assert.equal(h.closes.length, 0);
  h.clock.advance(1);
  assert.equal(h.closes.length, 1);
  assert.equal(h.closes[0].reason.code, 'E_T1_TIMEOUT');
  assert.match(h.closes[0].reason.message, /STARTDT_ACT/);
  assert.equal(h.clock.pending, 0);
});

test('L05 send() refused before started, while starting and stopping; drain when started', () => {
  const h = harness('controlling');
  assert.equal(h.link.canSend, false);
  assert.equal(h.link.send(measured(1)), false);
  h.link.start();
  h.take();
  assert.equal(h.link.send(measured(1)), false);
  assert.deepEqual(h.take(), []);
  assert.equal(h.drains, 0);
  h.feed(U('STARTDT_CON'));
  assert.equal(h.drains, 1);
  assert.equal(h.link.canSend, true);
  assert.equal(h.link.send(measured(1)), true);
  h.link.stop();
  assert.equal(h.link.send(measured(2)), false);
  const c = harness('controlled');
  assert.equal(c.link.send(measured(1)), false);
  assert.deepEqual(c.take(), []);
});

test('L06 I-frames carry N(S)=V(S) and N(R)=V(R); the ASDU bytes are encoded once with the numbers stamped', () => {
  const h = harness('controlled', {}, { start: true });
  h.feed(I(0, 0), I(1, 0));
  assert.equal(h.link.send(measured(7), 'a'), true);
  assert.equal(h.link.send(measured(8), 'b'), true);
  const out = h.take();
  assert.equal(out.length, 2);
  assert.equal(out[0], hex(I(0, 2, measured(7))));
  assert.equal(out[1], hex(I(1, 2, measured(8))));
  const s = h.link.snapshot();
  assert.equal(s.vs, 2);
  assert.equal(s.vr, 2);
  assert.equal(s.unacknowledged, 2);
  assert.equal(s.counters.iOut, 2);
  assert.equal(s.counters.iIn, 2);
});

test('L07 k-window back-pressure: at most k unacknowledged; send() false; drain after ack', () => {
  const h = harness('controlled', { k: 3, w: 2 }, { start: true });
  for (let i = 0; i < 3; i++) assert.equal(h.link.send(measured(i), i), true);
  assert.equal(h.link.canSend, false);
  assert.equal(h.link.send(measured(3), 3), false);
  assert.equal(h.take().length, 3);
  assert.equal(h.drains, 0);
  h.feed(S(1));
  assert.equal(h.drains, 1);
  assert.equal(h.link.snapshot().unacknowledged, 2);
  assert.equal(h.link.send(measured(3), 3), true);
  assert.equal(h.link.send(measured(4), 4), false);
  assert.deepEqual(h.take(), [hex(I(3, 0, measured(3)))]);
  h.feed(S(1)); // no progress: no drain
  assert.equal(h.drains, 1);
  h.feed(S(4));
  assert.equal(h.drains, 2);
  assert.deepEqual(h.acked, [[0], [1, 2, 3]]);
});

test('L08 acknowledgements via S- and I-frames report tags in send order', () => {
  const h = harness('controlling', { k: 10 }, { start: true });
  for (let i = 0; i < 5; i++) h.link.send(measured(i), `t${i}`);
  h.feed(S(2));
  h.feed(I(0, 4));
  h.feed(S(4)); // repeated N(R): nothing new, accepted
  h.feed(S(5));
  assert.deepEqual(h.acked, [['t0', 't1'], ['t2', 't3'], ['t4']]);
  assert.equal(h.link.snapshot().unacknowledged, 0);
  assert.equal(h.closes.length, 0);
});

test('L09 N(R) acknowledging frames never sent, or going backwards: E_SEQ_ACK', () => {
  const h = harness('controlled', {}, { start: true });
  h.link.send(measured(0), 'x');
  h.feed(S(2));
  assert.equal(h.closes[0].reason.code, 'E_SEQ_ACK');
  assert.deepEqual(h.closes[0].unacknowledged, ['x']);
  const g = harness('controlled', {}, { start: true });
  g.link.send(measured(0));
  g.link.send(measured(1));
  g.feed(S(2));
  g.feed(I(0, 1)); // backwards
  assert.equal(g.closes[0].reason.code, 'E_SEQ_ACK');
  const z = harness('controlled', {}, { start: true });
  z.feed(I(0, 1)); // nothing sent, N(R)=1
  assert.equal(z.closes[0].reason.code, 'E_SEQ_ACK');
  assert.equal(z.asdus.length, 0);
});

test('L10 received N(S) != V(R): E_SEQ_ORDER', () => {
  const h = harness('controlled', {}, { start: true });
  h.feed(I(0, 0), I(2, 0));
  assert.equal(h.asdus.length, 1);
  assert.equal(h.closes[0].reason.code, 'E_SEQ_ORDER');
  assert.match(h.closes[0].reason.message, /N\(S\)=2, expected V\(R\)=1/);
  const d = harness('controlled', {}, { start: true });
  d.feed(I(0, 0), I(0, 0)); // duplicate
  assert.equal(d.closes[0].reason.code, 'E_SEQ_ORDER');
});

test('L11 S-frame as soon as w received I-frames are unacknowledged, also inside one chunk', () => {
  for (const role of ['controlled', 'controlling'] as const) {
    const h = harness(role, { k: 12, w: 3 }, { start: true });
    h.feed(I(0, 0), I(1, 0));
    assert.deepEqual(h.take(), []);
    h.feed(I(2, 0));
    assert.deepEqual(h.take(), [sHex(3)]);
    // one chunk with 5 frames: acknowledged after the 3rd (w); the 2 left of that burst are
    // acknowledged at the end of the chunk (earlier than w requires), so the sender gets its window back
    h.link.receive(Buffer.concat([I(3, 0), I(4, 0), I(5, 0), I(6, 0), I(7, 0)]));
    assert.deepEqual(h.take(), [sHex(6), sHex(8)], role);
    assert.equal(h.link.snapshot().receivedUnacknowledged, 0);
    // 12 frames in one chunk with w = 3 (what a capture of `iec104 command` showed with w = 8):
    // never more than w unacknowledged
    h.link.receive(Buffer.concat(Array.from({ length: 12 }, (_, i) => I(8 + i, 0))));
    assert.deepEqual(h.take(), [sHex(11), sHex(14), sHex(17), sHex(20)], role);
    assert.equal(h.link.snapshot().receivedUnacknowledged, 0);
    // a chunk shorter than w that needed no S-frame waits for t2 or more frames, as before
    h.link.receive(Buffer.concat([I(20, 0), I(21, 0)]));
    assert.deepEqual(h.take(), [], role);
    assert.equal(h.link.snapshot().receivedUnacknowledged, 2);
  }
});

test('L11 an asdu handler that answers with an I-frame acknowledges instead of the S-frame', () => {
  const out: string[] = [];
  let n = 0;
  const link: Link = new Link({ role: 'controlled', clock: new VirtualClock(), params: { k: 12, w: 2 } }, {
    write: (b) => out.push(hex(b)),
    asdu: () => {
      if (++n === 2) link.send(measured(1));
    },
    close() {},
  });
  link.receive(U('STARTDT_ACT'));
  out.length = 0;
  link.receive(Buffer.concat([I(0, 0), I(1, 0)]));
  assert.equal(out.length, 1);
  assert.equal(out[0].slice(0, 12), iApci(0, 2));
  assert.equal(link.snapshot().receivedUnacknowledged, 0);
});

test('L12 piggy-back: an outgoing I-frame acknowledges received frames, resets the w count and cancels t2', () => {
  const h = harness('controlled', { w: 3, t2: 5_000, t1: 15_000, t3: 60_000 }, { start: true });
  h.feed(I(0, 0), I(1, 0));
  h.link.send(measured(9));
  assert.deepEqual(h.take().map((x) => x.slice(0, 12)), [iApci(0, 2)]);
  assert.equal(h.link.snapshot().deadlines.t2, undefined);
  h.feed(I(2, 0), I(3, 0));
  assert.deepEqual(h.take(), []); // count restarted: 2 < w
  h.feed(I(4, 1));
  assert.deepEqual(h.take(), [sHex(5)]);
  h.clock.advance(10_000);
  assert.deepEqual(h.take(), []); // no t2 S-frame: nothing owed
});

test('L13 t2: S-frame exactly t2 after the first unacknowledged I-frame; later I-frames do not restart it', () => {
  const h = harness('controlled', { w: 8, t2: 10_000, t1: 15_000, t3: 60_000 }, { start: true });
  const t0 = h.clock.now();
  h.feed(I(0, 0));
  assert.equal(h.link.snapshot().deadlines.t2, t0 + 10_000);
  h.clock.advance(4_000);
  h.feed(I(1, 0));
  h.clock.advance(5_999);
  assert.deepEqual(h.take(), []);
  h.clock.advance(1);
  assert.deepEqual(h.take(), [sHex(2)]);
  assert.equal(h.link.snapshot().deadlines.t2, undefined);
  // restarted by the next I-frame after an acknowledgement
  h.clock.advance(500);
  h.feed(I(2, 0));
  h.clock.advance(9_999);
  assert.deepEqual(h.take(), []);
  h.clock.advance(1);
  assert.deepEqual(h.take(), [sHex(3)]);
});

test('L14 t1: oldest unacknowledged I-frame not acknowledged within t1 -> E_T1_TIMEOUT; partial ack moves supervision', () => {
  const h = harness('controlled', { t1: 15_000, t2: 10_000, t3: 20_000 }, { start: true });
  const t0 = h.clock.now();
  h.link.send(measured(0), 'a');
  h.clock.advance(5_000);
  h.link.send(measured(1), 'b');
  assert.equal(h.link.snapshot().deadlines.t1, t0 + 15_000);
  h.clock.advance(9_000);
  h.feed(S(1)); // acks 'a' at t0+14000
  assert.equal(h.link.snapshot().deadlines.t1, t0 + 20_000);
  h.clock.advance(5_999);
  assert.equal(h.closes.length, 0);
  h.clock.advance(1);
  assert.equal(h.closes.length, 1);
  assert.equal(h.closes[0].reason.code, 'E_T1_TIMEOUT');
  assert.deepEqual(h.closes[0].unacknowledged, ['b']);
  assert.equal(h.clock.pending, 0);
});

test('L15 t3: TESTFR act after t3 without any received frame; received frames restart t3, sent frames do not', () => {
  const h = harness('controlled', { t3: 20_000, t1: 15_000, t2: 10_000 });
  h.clock.advance(19_999);
  assert.deepEqual(h.take(), []);
  h.clock.advance(1);
  assert.deepEqual(h.take(), [TESTFR_ACT]);
  h.feed(U('TESTFR_CON'));
  const g = harness('controlled', { t3: 20_000, t1: 15_000, t2: 10_000 }, { start: true });
  g.clock.advance(10_000);
  g.feed(S(0)); // any received frame
  g.link.send(measured(1));
  g.take();
  g.feed(S(1));
  const last = g.clock.now();
  g.clock.advance(5_000);
  g.link.send(measured(2)); // sending does not restart t3
  g.feed(S(2));
  g.clock.advance(19_999);
  assert.deepEqual(g.take().filter((x) => x === TESTFR_ACT), []);
  g.clock.advance(1);
  assert.deepEqual(g.take(), [TESTFR_ACT]);
  assert.ok(g.clock.now() === last + 5_000 + 20_000);
});

test('L16 TESTFR act unconfirmed within t1 -> E_T1_TIMEOUT; TESTFR con clears it and t3 restarts', () => {
  const h = harness('controlling', { t3: 20_000, t1: 15_000, t2: 10_000 });
  h.clock.advance(20_000);
  assert.deepEqual(h.take(), [TESTFR_ACT]);
  h.clock.advance(14_000);
  h.feed(U('TESTFR_CON'));
  assert.equal(h.link.snapshot().deadlines.t1, undefined);
  assert.equal(h.link.snapshot().deadlines.t3, h.clock.now() + 20_000);
  h.clock.advance(20_000);
  assert.deepEqual(h.take(), [TESTFR_ACT]);
  h.clock.advance(14_999);
  assert.equal(h.closes.length, 0);
  h.clock.advance(1);
  assert.equal(h.closes[0].reason.code, 'E_T1_TIMEOUT');
  assert.match(h.closes[0].reason.message, /TESTFR/);
  // t3 shorter than t1: no second TESTFR act while one is outstanding
  const g = harness('controlled', { t3: 5_000, t1: 15_000, t2: 10_000 });
  g.clock.advance(5_000);
  assert.deepEqual(g.take(), [TESTFR_ACT]);
  g.clock.advance(14_999);
  assert.deepEqual(g.take(), []);
  g.clock.advance(1);
  assert.equal(g.closes[0].reason.code, 'E_T1_TIMEOUT');
});

test('L17 TESTFR act is answered with TESTFR con in every state and role', () => {
  const c = harness('controlled');
  c.feed(U('TESTFR_ACT'));
  assert.deepEqual(c.take(), [TESTFR_CON]); // stopped
  c.feed(U('STARTDT_ACT'), U('TESTFR_ACT'));
  assert.deepEqual(c.take(), [STARTDT_CON, TESTFR_CON]); // started
  c.link.send(measured(0));
  c.take();
  c.feed(U('STOPDT_ACT'), U('TESTFR_ACT'));
  assert.equal(c.link.state, 'stopping');
  assert.deepEqual(c.take(), [TESTFR_CON]); // stopping
  const m = harness('controlling');
  m.feed(U('TESTFR_ACT'));
  m.link.start();
  m.feed(U('TESTFR_ACT'));
  assert.deepEqual(m.take(), [TESTFR_CON, STARTDT_ACT, TESTFR_CON]);
});

test('L18 unsolicited TESTFR con is tolerated (ignored) and restarts t3', () => {
  const h = harness('controlled', { t3: 20_000, t1: 15_000, t2: 10_000 });
  h.clock.advance(10_000);
  h.feed(U('TESTFR_CON'));
  assert.equal(h.closes.length, 0);
  assert.deepEqual(h.take(), []);
  assert.equal(h.link.snapshot().deadlines.t3, h.clock.now() + 20_000);
});

test('L19 controlled STOPDT act, nothing outstanding: S-frame for received I-frames, then STOPDT con, stopped', () => {
  const h = harness('controlled', {}, { start: true });
  h.feed(I(0, 0), I(1, 0));
  h.feed(U('STOPDT_ACT'));
  assert.deepEqual(h.take(), [sHex(2), STOPDT_CON]);
  assert.equal(h.link.state, 'stopped');
  assert.deepEqual(h.states.slice(-2), [['stopping', 'started'], ['stopped', 'stopping']]);
  const q = harness('controlled', {}, { start: true });
  q.feed(U('STOPDT_ACT'));
  assert.deepEqual(q.take(), [STOPDT_CON]);
});

test('L20 controlled STOPDT act with outstanding I-frames: no new I-frames, STOPDT con once all acknowledged', () => {
  const h = harness('controlled', { t1: 15_000 }, { start: true });
  h.link.send(measured(0), 'a');
  h.link.send(measured(1), 'b');
  h.feed(I(0, 0));
  h.take();
  h.feed(U('STOPDT_ACT'));
  assert.equal(h.link.state, 'stopping');
  assert.deepEqual(h.take(), [sHex(1)]);
  assert.equal(h.link.send(measured(2)), false);
  assert.deepEqual(h.take(), []);
  h.feed(S(1));
  assert.deepEqual(h.take(), []);
  h.feed(S(2));
  assert.deepEqual(h.take(), [STOPDT_CON]);
  assert.equal(h.link.state, 'stopped');
  assert.deepEqual(h.acked, [['a'], ['b']]);
  // t1 still supervises while stopping
  const t = harness('controlled', { t1: 15_000 }, { start: true });
  t.link.send(measured(0), 'a');
  t.feed(U('STOPDT_ACT'));
  t.clock.advance(15_000);
  assert.equal(t.closes[0].reason.code, 'E_T1_TIMEOUT');
  assert.deepEqual(t.closes[0].unacknowledged, ['a']);
});

test('L21 controlled STOPDT act while stopped: STOPDT con (idempotent)', () => {
  const h = harness('controlled');
  h.feed(U('STOPDT_ACT'));
  assert.deepEqual(h.take(), [STOPDT_CON]);
  assert.equal(h.link.state, 'stopped');
  assert.equal(h.closes.length, 0);
});

test('L22 controlled STARTDT act while stopping: STARTDT con, started again', () => {
  const h = harness('controlled', {}, { start: true });
  h.link.send(measured(0));
  h.feed(U('STOPDT_ACT'));
  assert.equal(h.link.state, 'stopping');
  h.take();
  h.feed(U('STARTDT_ACT'));
  assert.deepEqual(h.take(), [STARTDT_CON]);
  assert.equal(h.link.state, 'started');
  h.feed(S(1));
  assert.deepEqual(h.take(), []); // no late STOPDT con
});

test('L23 controlling stop(): S-frame owed, STOPDT act, stopping; STOPDT con -> stopped; unconfirmed -> E_T1_TIMEOUT', () => {
  const h = harness('controlling', { t1: 15_000 }, { start: true });
  h.feed(I(0, 0));
  assert.equal(h.link.stop(), true);
  assert.deepEqual(h.take(), [sHex(1), STOPDT_ACT]);
  assert.equal(h.link.state, 'stopping');
  assert.equal(h.link.stop(), true);
  assert.deepEqual(h.take(), []);
  h.feed(U('STOPDT_CON'));
  assert.equal(h.link.state, 'stopped');
  assert.equal(h.link.start(), true);
  assert.deepEqual(h.take(), [STARTDT_ACT]);
  const t = harness('controlling', { t1: 15_000 }, { start: true });
  t.link.stop();
  t.clock.advance(14_999);
  assert.equal(t.closes.length, 0);
  t.clock.advance(1);
  assert.equal(t.closes[0].reason.code, 'E_T1_TIMEOUT');
  assert.match(t.closes[0].reason.message, /STOPDT_ACT/);
  const s = harness('controlling');
  assert.equal(s.link.stop(), true); // already stopped
  s.link.start();
  assert.equal(s.link.stop(), false); // starting
});

test('L24 controlling while stopping accepts racing I-frames and acknowledges them at once', () => {
  const h = harness('controlling', { w: 8 }, { start: true });
  h.link.stop();
  h.take();
  h.feed(I(0, 0), I(1, 0));
  assert.equal(h.asdus.length, 2);
  assert.deepEqual(h.take(), [sHex(1), sHex(2)]);
  h.feed(U('STOPDT_CON'));
  assert.equal(h.link.state, 'stopped');
  h.feed(I(2, 0));
  assert.equal(h.closes[0].reason.code, 'E_I_WHILE_STOPPED');
});

test('L25 I-frame while not started -> E_I_WHILE_STOPPED (stopped, starting, controlled stopping)', () => {
  const a = harness('controlled');
  a.feed(I(0, 0));
  assert.equal(a.closes[0].reason.code, 'E_I_WHILE_STOPPED');
  assert.equal(a.asdus.length, 0);
  const b = harness('controlling');
  b.link.start();
  b.feed(I(0, 0));
  assert.equal(b.closes[0].reason.code, 'E_I_WHILE_STOPPED');
  const c = harness('controlled', {}, { start: true });
  c.link.send(measured(0));
  c.feed(U('STOPDT_ACT'), I(0, 0));
  assert.equal(c.closes[0].reason.code, 'E_I_WHILE_STOPPED');
  const d = harness('controlling');
  d.feed(I(0, 0));
  assert.equal(d.closes[0].reason.code, 'E_I_WHILE_STOPPED');
  // precedence: the state check comes before the sequence checks
  const e = harness('controlled');
  e.feed(I(5, 9));
  assert.equal(e.closes[0].reason.code, 'E_I_WHILE_STOPPED');
  // ... and a malformed frame is reported as such whatever the state
  const f = harness('controlled');
  f.link.receive(Buffer.from('680600000000ff00', 'hex'));
  assert.equal(f.closes[0].reason.code, 'E_MALFORMED');
});

test('L26 S-frames are accepted while stopped', () => {
  const h = harness('controlled', {}, { start: true });
  h.link.send(measured(0), 'a');
  h.feed(U('STOPDT_ACT'));
  h.feed(S(1));
  assert.equal(h.link.state, 'stopped');
  h.feed(S(1));
  assert.equal(h.closes.length, 0);
  const m = harness('controlling');
  m.feed(S(0));
  assert.equal(m.closes.length, 0);
  assert.equal(m.link.snapshot().counters.sIn, 1);
});

test('L27 U-frames not allowed for the role or state: E_UNEXPECTED_U', () => {
  const cases: [ 'controlled' | 'controlling', Uint8Array[], RegExp][] = [
    ['controlling', [U('STARTDT_ACT')], /STARTDT act received by the controlling/],
    ['controlling', [U('STOPDT_ACT')], /STOPDT act received by the controlling/],
    ['controlled', [U('STARTDT_CON')], /STARTDT con received by the controlled/],
    ['controlled', [U('STOPDT_CON')], /STOPDT con received by the controlled/],
    ['controlling', [U('STARTDT_CON')], /no STARTDT act outstanding/],
    ['controlling', [U('STOPDT_CON')], /no STOPDT act outstanding/],
  ];
  for (const [role, frames, msg] of cases) {
    const h = harness(role);
    h.feed(...frames);
    assert.equal(h.closes.length, 1, String(msg));
    assert.equal(h.closes[0].reason.code, 'E_UNEXPECTED_U');
    assert.match(h.closes[0].reason.message, msg);
    assert.deepEqual(h.take(), []);
  }
  const s = harness('controlling', {}, { start: true });
  s.feed(U('STARTDT_CON')); // duplicate con while started
  assert.equal(s.closes[0].reason.code, 'E_UNEXPECTED_U');
});

test('L28 malformed input: E_MALFORMED with the codec error', () => {
  const cases: [string, string][] = [
    ['680401000100', 'E_CONTROL_FIELD'], // S-frame with reserved bit set in octet 3
    ['680403010000', 'E_CONTROL_FIELD'], // U-frame with octet 2 != 0
    ['68040f000000', 'E_CONTROL_FIELD'], // two U functions at once
    ['68050100000000', 'E_APDU_LENGTH'], // S-frame with extra octet
    ['6804000000', ''], // incomplete: nothing happens yet
    ['68020000', 'E_APDU_LENGTH'], // length octet < 4
    ['680600000000ff00', 'E_TRUNCATED'], // I-frame with a truncated ASDU header
    ['00680407000000', ''], // junk before a start byte
  ];
  for (const [bytes, code] of cases) {
    const h = harness('controlled', {}, { start: true });
    h.link.receive(Buffer.from(bytes, 'hex'));
    if (bytes === '6804000000') {
      assert.equal(h.closes.length, 0);
      continue;
    }
    assert.equal(h.closes.length, 1, bytes);
    assert.equal(h.closes[0].reason.code, 'E_MALFORMED', bytes);
    if (code) {
      assert.ok(h.closes[0].reason.error instanceof CodecError, bytes);
      assert.equal(h.closes[0].reason.error?.code, code, bytes);
    }
    assert.deepEqual(h.take(), [], bytes);
    assert.equal(h.asdus.length, 0);
  }
});

test('L29 chunked input, 1 byte at a time, gives the same result as whole frames', () => {
  const frames = [U('TESTFR_ACT'), I(0, 0), I(1, 0), S(0), I(2, 0), U('TESTFR_ACT')];
  const whole = harness('controlled', { w: 3 }, { start: true });
  whole.link.receive(Buffer.concat(frames));
  const bytes = Buffer.concat(frames);
  const one = harness('controlled', { w: 3 }, { start: true });
  for (const b of bytes) one.link.receive(Uint8Array.of(b));
  assert.equal(one.asdus.length, 3);
  assert.deepEqual(one.asdus.map((x) => hex(x.frame)), whole.asdus.map((x) => hex(x.frame)));
  assert.deepEqual(one.take().sort(), whole.take().sort());
  assert.equal(one.link.snapshot().vr, 3);
  assert.equal(one.closes.length, 0);
});

test('L30 close: one close event with the unacknowledged tags in send order, nothing afterwards, no timers', () => {
  const h = harness('controlled', { k: 5, w: 4 }, { start: true });
  for (let i = 0; i < 4; i++) h.link.send(measured(i), i);
  h.feed(I(0, 0));
  h.feed(S(1));
  h.link.close('bye');
  assert.equal(h.closes.length, 1);
  assert.deepEqual(h.closes[0], { reason: { code: 'E_LOCAL', message: 'bye' }, unacknowledged: [1, 2, 3] });
  assert.equal(h.link.state, 'closed');
  assert.deepEqual(h.states.at(-1), ['closed', 'started']);
  assert.equal(h.clock.pending, 0);
  h.take();
  h.link.close();
  h.link.transportClosed();
  h.feed(I(1, 4), U('TESTFR_ACT'), U('STOPDT_ACT'));
  assert.equal(h.link.send(measured(9)), false);
  assert.equal(h.link.canSend, false);
  h.clock.advance(1_000_000);
  assert.deepEqual(h.take(), []);
  assert.deepEqual(h.afterClose, []);
  assert.equal(h.closes.length, 1);
  // close from inside a handler stops processing the rest of the chunk
  const g = harness('controlled', {}, { start: true });
  let n = 0;
  const link = new Link({ role: 'controlled', clock: g.clock }, {
    write() {},
    asdu() {
      n++;
      link.close('enough');
    },
    close() {},
  });
  link.receive(U('STARTDT_ACT'));
  link.receive(Buffer.concat([I(0, 0), I(1, 0), I(2, 0)]));
  assert.equal(n, 1);
  assert.equal(link.state, 'closed');
});

test('L31 close codes: close() -> E_LOCAL (or given), transportClosed() -> E_PEER_CLOSED', () => {
  const a = harness('controlled');
  a.link.close();
  assert.deepEqual(a.closes[0].reason, { code: 'E_LOCAL', message: 'closed locally' });
  const b = harness('controlled');
  b.link.transportClosed();
  assert.equal(b.closes[0].reason.code, 'E_PEER_CLOSED');
  assert.deepEqual(b.closes[0].unacknowledged, []);
  const c = harness('controlled');
  c.link.close({ code: 'E_BUFFER_LIMIT', message: 'write buffer over 1 MiB' });
  assert.equal(c.closes[0].reason.code, 'E_BUFFER_LIMIT');
});

test('L32 received frames handed out are copies, the ASDU decoded', () => {
  const h = harness('controlled', {}, { start: true });
  const chunk = Buffer.concat([I(0, 0, measured(5, 2.5)), I(1, 0, measured(6, 3.5))]);
  h.link.receive(chunk);
  chunk.fill(0);
  assert.equal(hex(h.asdus[0].frame), hex(I(0, 0, measured(5, 2.5))));
  assert.equal(hex(h.asdus[1].frame), hex(I(1, 0, measured(6, 3.5))));
  assert.notEqual(h.asdus[0].frame.buffer, h.asdus[1].frame.buffer);
  assert.equal(h.asdus[0].asdu.typeId, 13);
  assert.equal(h.asdus[1].asdu.objects[0].value, 3.5);
});

test('L33 sequence numbers wrap at 32768 (scripted peer, 40 000 frames each way)', () => {
  const h = harness('controlled', { k: 12, w: 8, t1: 15_000, t2: 10_000, t3: 20_000 }, { start: true });
  const N = 40_000;
  let sent = 0;
  let ackedUpTo = 0;
  const frames: string[] = [];
  for (let i = 0; i < N; i++) {
    // peer sends I(i mod 32768) acknowledging what we sent
    h.link.receive(I(i & 0x7fff, sent & 0x7fff, measured(i % 1000)));
    assert.equal(h.link.send(measured(i % 1000), i), true);
    sent++;
    if (sent - ackedUpTo >= 12) ackedUpTo = sent;
    for (const o of h.take()) frames.push(o);
  }
  assert.equal(h.closes.length, 0);
  assert.equal(h.asdus.length, N);
  const s = h.link.snapshot();
  assert.equal(s.vr, N & 0x7fff);
  assert.equal(s.vs, N & 0x7fff);
  // every I-frame we sent carried N(S)=i mod 32768 and N(R)=i+1 mod 32768 (piggy-backed)
  const iframes = frames.filter((f) => f.startsWith('6812'));
  assert.equal(iframes.length, N);
  for (const i of [0, 32766, 32767, 32768, 32769, N - 1]) assert.equal(iframes[i].slice(0, 12), iApci(i & 0x7fff, (i + 1) & 0x7fff));
  const tags = h.acked.flat();
  assert.equal(tags.length, N - 1);
  assert.deepEqual(tags.slice(32765, 32770), [32765, 32766, 32767, 32768, 32769]);
});

test('L34 an ASDU that cannot be encoded throws CodecError and leaves the link unchanged', () => {
  const h = harness('controlled', {}, { start: true });
  const big = { ...measured(1), objects: Array.from({ length: 40 }, (_, i) => ({ ioa: i, value: 1 })) };
  assert.throws(() => h.link.send(big), CodecError);
  assert.deepEqual(h.take(), []);
  assert.equal(h.link.snapshot().vs, 0);
  assert.equal(h.link.send(measured(1)), true);
  assert.equal(h.take()[0].slice(0, 12), iApci(0, 0));
});

test('L35 at most one timer pending; no timer churn per frame', () => {
  const clock = new VirtualClock();
  let sets = 0;
  const counting = {
    now: () => clock.now(),
    setTimeout: (fn: () => void, ms: number) => {
      sets++;
      return clock.setTimeout(fn, ms);
    },
    clearTimeout: (t: Parameters<VirtualClock['clearTimeout']>[0]) => clock.clearTimeout(t),
  };
  const link = new Link({ role: 'controlled', clock: counting, params: { k: 12, w: 8 } }, { write() {}, asdu() {}, close() {} });
  link.open();
  link.receive(U('STARTDT_ACT'));
  for (let i = 0; i < 10_000; i++) {
    link.receive(I(i, i));
    link.send(measured(i));
    assert.ok(clock.pending <= 1);
    if (i % 100 === 0) clock.advance(1);
  }
  assert.ok(sets < 200, `timer armed ${sets} times for 10 000 frames`);
  assert.equal(link.state, 'started');
});

test('L36 receive() from inside a handler is refused', () => {
  const clock = new VirtualClock();
  let err: unknown;
  const link: Link = new Link({ role: 'controlled', clock }, {
    write() {},
    asdu() {
      try {
        link.receive(U('TESTFR_ACT'));
      } catch (e) {
        err = e;
      }
    },
    close() {},
  });
  link.receive(U('STARTDT_ACT'));
  link.receive(I(0, 0));
  assert.ok(err instanceof LinkUsageError);
});

test('L37 snapshot reports state, numbers, deadlines and counters', () => {
  const h = harness('controlled', { t1: 15_000, t2: 10_000, t3: 20_000 }, { start: true });
  const t = h.clock.now();
  h.feed(I(0, 0));
  h.link.send(measured(1));
  h.feed(I(1, 0));
  const s = h.link.snapshot();
  assert.equal(s.state, 'started');
  assert.equal(s.vs, 1);
  assert.equal(s.vr, 2);
  assert.equal(s.unacknowledged, 1);
  assert.equal(s.receivedUnacknowledged, 1);
  assert.deepEqual(s.deadlines, { t1: t + 15_000, t2: t + 10_000, t3: t + 20_000 });
  assert.deepEqual(s.counters, { iIn: 2, iOut: 1, sIn: 0, sOut: 0, uIn: 1, uOut: 1, bytesIn: 6 + 20 + 20, bytesOut: 6 + 20 });
});

test('L38 two links back to back: 45 000 frames each way at k=12/w=8 and k=32767/w=21844, in order, across the wrap', async () => {
  const { pair } = await import('./helpers.js');
  for (const params of [{ k: 12, w: 8 }, { k: 32767, w: 21844 }, { k: 5, w: 1 }]) {
    const p = pair(params);
    p.b.start();
    p.pump();
    assert.equal(p.a.state, 'started');
    const N = 45_000;
    let sa = 0;
    let sb = 0;
    let rounds = 0;
    while ((p.got.a.length < N || p.got.b.length < N) && rounds++ < 1_000_000) {
      while (sa < N && p.a.send(measured(sa))) sa++;
      while (sb < N && p.b.send(measured(sb))) sb++;
      p.pump();
      if (sa === N && sb === N && (p.got.a.length < N || p.got.b.length < N)) p.clock.advance(10_000); // t2 flushes the tail
      else if (rounds % 50 === 0) p.clock.advance(1);
    }
    assert.deepEqual(p.closes, [], JSON.stringify(params));
    assert.equal(p.got.a.length, N);
    assert.equal(p.got.b.length, N);
    for (let i = 0; i < N; i++) {
      if (p.got.a[i].objects[0].ioa !== i || p.got.b[i].objects[0].ioa !== i) assert.fail(`order broken at ${i} with ${JSON.stringify(params)}`);
    }
    p.clock.advance(10_000);
    p.pump();
    assert.equal(p.a.snapshot().unacknowledged, 0);
    assert.equal(p.b.snapshot().unacknowledged, 0);
    assert.equal(p.a.snapshot().vs, N & 0x7fff);
    assert.equal(p.b.snapshot().vr, N & 0x7fff);
  }
});
