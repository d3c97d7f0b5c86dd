/**
 * Issue 11, item 1: a master that asks for more than it acknowledges must not make the station
 * queue without bound. One interrogation per CA and QOI (one counter interrogation per CA and RQT,
 * one read answer per object) is in progress per connection; what the connection queues is charged
 * to its memory budget; over it, the connection is closed (E_BUFFER_LIMIT) with a security and audit
 * record (E_ACCESS_BUDGET). Socket tests use a VirtualClock (t1 never fires) and small budgets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeAsdu } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import type { PointConfig } from '../../src/station/point-database.js';
import { createStation } from '../../src/station/station.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { asdu, brief, fakeStation } from './helpers.js';

const GI = (ca = 1, qoi = 20, cot = 6) => asdu(100, cot, ca, [{ ioa: 0, qoi }]);
const CI = (ca = 1, rqt = 5, frz = 0) => asdu(101, 6, ca, [{ ioa: 0, rqt, frz }]);
const RD = (ioa: number, ca = 1) => asdu(102, 5, ca, [{ ioa }]);
const pts = (n: number, ca = 1): PointConfig[] => Array.from({ length: n }, (_, i) => ({ ca, ioa: 1 + i * 3, type: 13, value: i, groups: [1] }));

test('one interrogation per CA and QOI in progress: a second gets a negative ACT_CON; another QOI or CA runs; after ACT_TERM a new one is accepted', () => {
  const h = fakeStation({ points: [...pts(100), ...pts(10, 2)] }, 2);
  const m = h.started();
  m.deliver(GI());
  assert.deepEqual(m.take().map(brief).slice(0, 1), ['100/7@1:1']);
  m.deliver(GI()); // same CA and QOI, first still in progress (window full)
  m.deliver(GI(1, 21)); // group 1: its own
  m.deliver(GI(2)); // another CA: its own
  const all = m.takeAck();
  const cons = all.filter((a) => a.typeId === 100 && a.cot === 7).map((a) => `${a.ca}/${a.objects[0].qoi}${a.negative ? '-' : '+'}`);
  assert.deepEqual(cons, ['1/20-', '1/21+', '2/20+']);
  assert.equal(all.filter((a) => a.typeId === 100 && a.cot === 10).length, 3, 'three ACT_TERM: GI CA 1 (the first), group 1, GI CA 2');
  assert.equal(h.station.sessions()[0].counters.interrogations, 3);
  m.deliver(GI()); // the first is over: accepted again
  assert.deepEqual(m.takeAck().filter((a) => a.cot === 7).map(brief), ['100/7@1:1']);
});

test('one counter interrogation per CA and RQT in progress; a second read of a queued object is merged into the queued answer (newest value)', () => {
  const h = fakeStation({
    points: [...pts(20), { ca: 1, ioa: 900, type: 15, value: { value: 7 } }],
  }, 1);
  const m = h.started();
  m.deliver(CI());
  assert.deepEqual(m.take().map(brief), ['101/7@1:1']); // window of 1
  m.deliver(CI());
  m.deliver(RD(4));
  h.station.update(1, 4, 99, { event: false });
  m.deliver(RD(4)); // merged: one answer, the newest value
  const out = m.takeAck();
  assert.deepEqual(out.filter((a) => a.typeId === 101).map(brief), ['101/10@1:1', '101/7-@1:1'], 'the second, sent while the first was in progress, is refused (after the first ACT_TERM, queued before it)');
  assert.deepEqual(out.filter((a) => a.typeId === 15).map((a) => a.cot), [37], 'one set of counter data');
  const reads = out.filter((a) => a.cot === 5);
  assert.equal(reads.length, 1, 'two reads of one object while its answer is queued: one answer');
  assert.equal(reads[0].objects[0].value, 99);
  m.deliver(CI());
  assert.ok(m.takeAck().some((a) => a.typeId === 101 && a.cot === 7 && !a.negative), 'after its ACT_TERM the counter interrogation is accepted again');
});

test('the session queues are charged to the budget; over it the connection is closed with E_BUFFER_LIMIT and an E_ACCESS_BUDGET record', () => {
  const lines: string[] = [];
  const h = fakeStation({ points: pts(50), connectionBudget: 16 * 1024, audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }) }, 1);
  const m = h.started();
  m.deliver(GI());
  const s = h.station.sessions()[0];
  const mem = s.memory();
  assert.ok(mem.responses > 0 && mem.total === mem.responses && mem.budget === 16 * 1024);
  assert.equal(s.snapshot().queued.memory.total, mem.total);
  for (let i = 0; i < 200 && m.state !== 'closed'; i++) m.deliver(asdu(104, 6, 1, [{ ioa: 0, fbp: 0x55aa }]));
  assert.equal(m.state, 'closed');
  assert.equal(m.closedWith?.code, 'E_BUFFER_LIMIT');
  assert.match(m.closedWith!.message, /memory budget exceeded: \d+ bytes queued .* budget of 16384/);
  assert.ok(s.memory().peak <= 16 * 1024 + 400, `peak ${s.memory().peak} stays at the budget`);
  assert.equal(s.memory().total, 0, 'queues freed on close');
  assert.equal(h.station.security.count('E_ACCESS_BUDGET'), 1);
  const rec = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.code === 'E_ACCESS_BUDGET');
  assert.ok(rec, 'audit record');
  assert.equal(rec.outcome, 'closed');
});

// ---- over sockets

function iFrame(ns: number, nr: number, a: ReturnType<typeof asdu>): Buffer {
  const body = encodeAsdu(a);
  return Buffer.from([0x68, body.length + 4, (ns << 1) & 0xff, (ns >> 7) & 0xff, (nr << 1) & 0xff, (nr >> 7) & 0xff, ...body]);
}
const sFrame = (nr: number) => Buffer.from([0x68, 4, 1, 0, (nr << 1) & 0xff, (nr >> 7) & 0xff]);
const STARTDT_ACT = Buffer.from([0x68, 4, 7, 0, 0, 0]);

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A raw master: STARTDT, then the test writes frames; it never reads after STARTDT con. */
async function rawMaster(port: number): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('error', rej);
  });
  let closed = false;
  socket.on('close', () => { closed = true; });
  socket.on('error', () => {});
  const con = new Promise<void>((res) => socket.once('data', () => res()));
  socket.write(STARTDT_ACT);
  await con;
  socket.pause(); // never reads again
  return { socket, closed: () => closed };
}

test('socket: a master streaming interrogations without acknowledging anything is closed at the budget (before the fix the station queued a snapshot per request)', async () => {
  const lines: string[] = [];
  const budget = 256 * 1024;
  const station = createStation({
    points: pts(1000), clock: new VirtualClock(), cyclicPeriodMs: 0, endOfInitialization: 'none', connectionBudget: budget,
    audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }),
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0, startTimeout: 0 });
  try {
    const m = await rawMaster(port);
    await until(() => station.sessions().length === 1 && station.sessions()[0].isStarted, 'the session started');
    const s = station.sessions()[0];
    const frames: Buffer[] = [];
    for (let ns = 0; ns < 4000; ns++) frames.push(iFrame(ns, 0, GI()));
    m.socket.write(Buffer.concat(frames));
    await until(() => s.isClosed, 'the station to close the connection');
    assert.equal(s.counters.interrogations, 1, 'one interrogation accepted: the others were refused while it was in progress');
    assert.ok(s.memory().peak <= budget + 1024, `peak ${s.memory().peak} within the budget ${budget}`);
    assert.equal(station.security.count('E_ACCESS_BUDGET'), 1);
    const rec = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.code === 'E_ACCESS_BUDGET');
    assert.ok(rec && rec.remoteAddress === '127.0.0.1' && typeof rec.remotePort === 'number', 'audit record with the peer');
    assert.equal(station.sessions().length, 0);
  } finally {
    await station.close();
  }
});

test('socket: a master streaming interrogations that acknowledges exactly the k window each round stays bounded and is closed at the budget', async () => {
  const budget = 128 * 1024;
  const station = createStation({ points: pts(300), clock: new VirtualClock(), cyclicPeriodMs: 0, endOfInitialization: 'none', connectionBudget: budget });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0, startTimeout: 0 });
  try {
    const m = await rawMaster(port);
    await until(() => station.sessions().length === 1 && station.sessions()[0].isStarted, 'the session started');
    const s = station.sessions()[0];
    const k = station.linkParameters.k;
    let ns = 0;
    let rounds = 0;
    for (let round = 1; round <= 200 && !s.isClosed; round++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 40; i++) frames.push(iFrame(ns++, k * (round - 1), GI()));
      frames.push(sFrame(k * round)); // acknowledges exactly the k window the station could send
      m.socket.write(Buffer.concat(frames));
      await until(() => s.isClosed || s.counters.asduIn >= ns, `the station to read the round (${s.counters.asduIn} of ${ns}, written ${m.socket.bytesWritten} pending ${m.socket.writableLength} ${JSON.stringify(s.snapshot().link)})`);
      rounds = round;
    }
    await until(() => s.isClosed, 'the station to close the connection');
    assert.ok(rounds < 200, `closed after ${rounds} rounds`);
    assert.ok(s.counters.interrogations <= rounds + 1, `interrogations accepted (${s.counters.interrogations}) at most one per round: one in progress at a time`);
    assert.ok(s.memory().peak <= budget + 1024, `peak ${s.memory().peak} within the budget`);
    assert.equal(station.security.count('E_ACCESS_BUDGET'), 1);
  } finally {
    await station.close();
  }
});
