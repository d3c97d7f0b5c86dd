import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import { EventQueue } from '../../src/station/event-queue.js';
import { createLogger } from '../../src/log.js';
import { brief, fakeStation, WALL0 } from './helpers.js';

const ev = (ioa: number) => ({ ca: 1, typeId: 30, cot: 3, object: { ioa, value: true } });
const ioas = (q: EventQueue) => {
  const out: number[] = [];
  for (;;) {
    const b = q.take(() => true, 1);
    if (!b) return out;
    out.push(b.events[0].object.ioa);
    q.acknowledge(b);
  }
};

test('EventQueue drop-oldest keeps the newest, counts and logs once per overflow episode', () => {
  const lines: string[] = [];
  const q = new EventQueue({ capacity: 3, overflow: 'drop-oldest', logger: createLogger({ write: (l) => lines.push(l), level: 'debug' }) });
  for (let i = 1; i <= 5; i++) q.push(ev(i));
  assert.equal(q.stats().dropped, 2);
  assert.equal(lines.filter((l) => l.includes('station.queue.overflow"')).length, 1);
  assert.deepEqual(ioas(q), [3, 4, 5]);
  assert.ok(lines.some((l) => l.includes('overflow_end') && l.includes('"droppedInEpisode":2')));
});

test('EventQueue drop-newest refuses new events when full', () => {
  const q = new EventQueue({ capacity: 3, overflow: 'drop-newest' });
  const r = [1, 2, 3, 4, 5].map((i) => q.push(ev(i)));
  assert.deepEqual(r.map((x) => x !== undefined), [true, true, true, false, false]);
  assert.equal(q.stats().dropped, 2);
  assert.deepEqual(ioas(q), [1, 2, 3]);
});

test('EventQueue: batches by predicate, requeue restores order at the head, acknowledged batches are not requeued', () => {
  const q = new EventQueue();
  for (let i = 1; i <= 6; i++) q.push(ev(i));
  const b1 = q.take(() => true, 2)!;
  const b2 = q.take(() => true, 2)!;
  assert.deepEqual(b1.events.map((e) => e.object.ioa), [1, 2]);
  q.acknowledge(b1);
  assert.equal(q.inFlight, 2);
  assert.equal(q.requeue([b1, b2]), 2);
  assert.deepEqual(ioas(q), [3, 4, 5, 6]);
  const s = q.stats();
  assert.deepEqual([s.enqueued, s.acknowledged, s.requeued, s.pending, s.inFlight], [6, 6, 2, 0, 0]);
});

test('EventQueue batching stops at the first event that does not fit', () => {
  const q = new EventQueue();
  q.push(ev(1));
  q.push(ev(2));
  q.push({ ca: 1, typeId: 36, cot: 3, object: { ioa: 3, value: 1 } });
  q.push(ev(4));
  const b = q.take((a, n) => a.typeId === n.typeId, 10)!;
  assert.deepEqual(b.events.map((e) => e.object.ioa), [1, 2]);
});

test('spontaneous events: type per configured event type, with or without time tag', () => {
  const h = fakeStation({
    points: [
      { ca: 1, ioa: 1, type: 1 }, // → M_SP_TB_1
      { ca: 1, ioa: 2, type: 1, eventType: 1 }, // → M_SP_NA_1 (no time)
      { ca: 1, ioa: 3, type: 11, eventType: 12 }, // → M_ME_TB_1 (CP24)
      { ca: 1, ioa: 4, type: 21 }, // → M_ME_ND_1 (no timed variant)
      { ca: 1, ioa: 5, type: 38 }, // protection event
      { ca: 1, ioa: 6, type: 5 },
      { ca: 1, ioa: 7, type: 7 },
      { ca: 1, ioa: 8, type: 20 },
      { ca: 1, ioa: 9, type: 39 },
      { ca: 1, ioa: 10, type: 40 },
    ],
  }, 100);
  const m = h.started();
  const t = WALL0 + 1234;
  h.station.update(1, 1, true, { time: t });
  h.station.update(1, 2, true, { quality: { iv: true } });
  h.station.update(1, 3, -5, { time: t });
  h.station.update(1, 4, 0.5);
  h.station.update(1, 5, { state: 2, elapsed: 35 }, { time: t });
  h.station.update(1, 6, { value: -3, transient: true });
  h.station.update(1, 7, 0xdeadbeef);
  h.station.update(1, 8, { status: 0x00ff, changes: 0x0001 });
  h.station.update(1, 9, { events: { gs: true, sl1: true, sl2: false, sl3: false, sie: false, srd: false }, duration: 20 });
  h.station.update(1, 10, { circuits: { gc: true, cl1: false, cl2: false, cl3: false }, operating: 40 }, { quality: { ei: true } });
  const out = m.take();
  assert.deepEqual(out.map(brief), ['30/3@1:1', '1/3@1:1', '12/3@1:1', '21/3@1:1', '38/3@1:1', '32/3@1:1', '33/3@1:1', '20/3@1:1', '39/3@1:1', '40/3@1:1']);
  assert.deepEqual(out[0].objects[0].time, { ms: 1234, minute: 0, hour: 10, day: 15, dayOfWeek: 4, month: 1, year: 26, invalid: false, summerTime: false });
  assert.equal(out[1].objects[0].time, undefined);
  assert.equal((out[1].objects[0].quality as { iv: boolean }).iv, true);
  assert.deepEqual(out[2].objects[0].time, { ms: 1234, minute: 0, invalid: false });
  assert.deepEqual([out[4].objects[0].value, out[4].objects[0].elapsed], [2, 35]);
  assert.deepEqual([out[5].objects[0].value, out[5].objects[0].transient], [-3, true]);
  assert.equal(out[6].objects[0].value, 0xdeadbeef);
  assert.deepEqual([out[7].objects[0].status, out[7].objects[0].changes], [0xff, 1]);
  assert.equal((out[8].objects[0].events as { sl1: boolean }).sl1, true);
  assert.equal((out[9].objects[0].quality as { ei: boolean }).ei, true);
});

test('update rejects unknown points, wrong value kinds and causes the type does not allow', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 3 }, { ca: 1, ioa: 2, type: 13 }] });
  assert.throws(() => h.station.update(1, 99, true), /no point at CA 1 IOA 99/);
  assert.throws(() => h.station.update(1, 1, 7), /integer 0\.\.3/);
  assert.throws(() => h.station.update(1, 2, 'x' as unknown as number), /expected a number/);
  assert.throws(() => h.station.update(1, 2, 1, { cause: 11 }), /cause 11 is not allowed for M_ME_TF_1/);
});

test('consecutive events of the same type and CA share one ASDU', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 1 }, { ca: 1, ioa: 2, type: 1 }, { ca: 1, ioa: 3, type: 13 }] }, 1);
  const m = h.started();
  h.station.update(1, 1, true); // goes out alone (window 1)
  h.station.update(1, 1, false);
  h.station.update(1, 2, true);
  h.station.update(1, 3, 2);
  h.station.update(1, 1, true);
  m.takeAck();
  assert.deepEqual(m.sent.map(brief), ['30/3@1:1', '30/3@1:2', '36/3@1:1', '30/3@1:1']);
});

test('events raised with no connection are kept and sent after STARTDT', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 1 }] });
  h.station.update(1, 1, true);
  const m = h.connect();
  h.station.update(1, 1, false);
  assert.deepEqual(m.take(), [], 'nothing before STARTDT');
  m.start();
  const out = m.take();
  assert.deepEqual(out.map(brief), ['30/3@1:2']);
  assert.deepEqual(out[0].objects.map((o) => o.value), [true, false]);
});

test('no event lost across connection drops: unacknowledged events re-sent first, in order, exactly once', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 13 }, { ca: 1, ioa: 2, type: 35 }] }, 2);
  const a = h.started();
  const val = (x: Asdu) => x.objects.map((o) => o.value as number);
  // alternating types: one event per ASDU
  for (let i = 0; i < 6; i++) h.station.update(1, i % 2 === 0 ? 1 : 2, i);
  assert.deepEqual(a.take().flatMap(val), [0, 1], 'window k=2');
  a.ack(1); // frame with 0 delivered → window opens → 2 sent
  assert.deepEqual(a.take().flatMap(val), [2]);
  a.drop(); // 1 and 2 were never acknowledged
  assert.deepEqual([h.station.queue.stats().requeued, h.station.queue.inFlight, h.station.queue.pending], [2, 0, 5]);
  h.station.update(1, 1, 6); // raised while disconnected
  const b = h.started();
  const rest = b.takeAck().flatMap(val);
  assert.deepEqual([0, ...rest], [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(h.station.queue.stats().acknowledged, 7);
});

test('STOPDT hands events to another started connection; the stopped one gets none', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 1 }] });
  const a = h.started();
  const b = h.started(); // b takes over (most recently started)
  h.station.update(1, 1, true);
  assert.deepEqual(a.take(), []);
  assert.deepEqual(b.take().map(brief), ['30/3@1:1']);
  b.ack();
  b.stop();
  h.station.update(1, 1, false);
  assert.deepEqual(a.take().map(brief), ['30/3@1:1']);
  assert.equal(h.station.stats().sessions.find((s) => s.id === 1)!.servesEvents, true);
});

test('queue overflow while disconnected: drop-oldest keeps the newest events and logs', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 13 }], eventQueue: { capacity: 5, overflow: 'drop-oldest' } });
  for (let i = 0; i < 12; i++) h.station.update(1, 1, i);
  assert.equal(h.station.queue.stats().dropped, 7);
  assert.ok(h.logs.some((l) => l.event === 'station.queue.overflow' && l.level === 'warn'));
  const m = h.started();
  assert.deepEqual(m.takeAck().flatMap((a) => a.objects.map((o) => o.value)), [7, 8, 9, 10, 11]);
});

test('queue overflow while disconnected: drop-newest keeps the oldest events', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 13 }], eventQueue: { capacity: 5, overflow: 'drop-newest' } });
  for (let i = 0; i < 12; i++) h.station.update(1, 1, i);
  assert.equal(h.station.queue.stats().dropped, 7);
  const m = h.started();
  assert.deepEqual(m.takeAck().flatMap((a) => a.objects.map((o) => o.value)), [0, 1, 2, 3, 4]);
});

test('GI snapshot goes before later events: the master ends with the newest value', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 1, value: false }] }, 1);
  const m = h.started();
  m.deliver({ typeId: 100, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 0, qoi: 20 }] });
  h.station.update(1, 1, true); // changes during the GI
  const seq = m.takeAck().map((a) => `${brief(a)}=${String(a.objects[0].value ?? '')}`);
  assert.deepEqual(seq, ['100/7@1:1=', '1/20@1:1=false', '100/10@1:1=', '30/3@1:1=true']);
});

test('observability: session snapshot has link state, queue depth and counters', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 1, type: 1 }] }, 1);
  const m = h.started();
  h.station.update(1, 1, true);
  h.station.update(1, 1, false);
  const s = h.station.stats();
  assert.equal(s.sessions.length, 1);
  assert.equal(s.sessions[0].link.state, 'started');
  assert.equal(s.sessions[0].events.pending, 1);
  assert.equal(s.sessions[0].events.inFlight, 1);
  assert.equal(s.sessions[0].counters.eventsOut, 1);
  assert.equal(s.queue.enqueued, 2);
  assert.equal(s.points, 1);
  m.drop();
  assert.equal(h.station.stats().sessions.length, 0);
});
