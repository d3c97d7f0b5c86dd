import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import { createLogger } from '../../src/log.js';
import type { LinkCloseReason } from '../../src/link/types.js';
import { backoffDelay } from '../../src/master/backoff.js';
import { ConnectionLostError, MasterError } from '../../src/master/errors.js';
import { MemoryNetwork, flush, makeMaster, monitor, started, track } from './harness.js';

test('connect: TCP, STARTDT act/con, events in order, snapshot', async () => {
  const net = new MemoryNetwork();
  const master = makeMaster(net);
  const events: string[] = [];
  for (const e of ['connecting', 'connected', 'started', 'stopped', 'disconnected', 'closed'] as const) master.on(e, () => events.push(e));
  const frames: string[] = [];
  master.on('frame', (dir, b) => frames.push(`${dir}:${Buffer.from(b).toString('hex')}`));
  assert.equal(master.state, 'idle');
  const p = master.connect();
  await flush();
  await p;
  assert.equal(master.state, 'started');
  assert.deepEqual(events, ['connecting', 'connected', 'started']);
  assert.deepEqual(frames.slice(0, 2), ['out:680407000000', 'in:68040b000000']);
  const snap = master.snapshot();
  assert.equal(snap.link?.state, 'started');
  assert.equal(snap.counters.connects, 1);
  await master.close();
  assert.equal(master.state, 'closed');
  assert.deepEqual(events.slice(3), ['disconnected', 'closed']);
});

test('startDt: false stays connected; requests are refused until startDataTransfer(); stopDataTransfer() stops', async () => {
  const net = new MemoryNetwork();
  const master = makeMaster(net, { startDt: false });
  const p = master.connect();
  await flush();
  await p;
  assert.equal(master.state, 'connected');
  await assert.rejects(master.single(1, 1, true), (e: unknown) => e instanceof MasterError && e.code === 'E_NOT_CONNECTED');
  const s = master.startDataTransfer();
  await flush();
  await s;
  assert.equal(master.state, 'started');
  net.script = () => {};
  const open = track(master.single(1, 1, true));
  let stopped = 0;
  master.on('stopped', () => stopped++);
  const st = master.stopDataTransfer();
  await flush();
  net.clock.advance(10_000); // the station acknowledges the I-frame by t2, then confirms STOPDT
  await flush();
  await st;
  assert.equal(stopped, 1);
  assert.equal(master.state, 'connected');
  await assert.rejects(open, (e: unknown) => e instanceof MasterError && e.code === 'E_NOT_CONNECTED');
  await master.close();
});

test('t0 bounds a connection attempt (virtual time)', async () => {
  const net = new MemoryNetwork();
  net.defaultPlan = 'hang';
  const master = makeMaster(net, { params: { t0: 3_000 } });
  const failed: MasterError[] = [];
  master.on('connectFailed', (e) => failed.push(e));
  const p = track(master.connect());
  await flush();
  net.clock.advance(2_999);
  await flush();
  assert.equal(failed.length, 0);
  net.clock.advance(1);
  await flush();
  await assert.rejects(p, (e: unknown) => e instanceof MasterError && e.code === 'E_CONNECT_FAILED' && /t0/.test(e.message));
  assert.equal(master.state, 'idle');
  assert.equal(failed.length, 1);
});

test('refused connection without reconnect rejects connect()', async () => {
  const net = new MemoryNetwork();
  net.defaultPlan = 'refuse';
  const master = makeMaster(net);
  await assert.rejects(master.connect(), (e: unknown) => e instanceof MasterError && e.code === 'E_CONNECT_FAILED' && /ECONNREFUSED/.test(e.message));
  assert.equal(master.counters.connectFailures, 1);
});

test('reconnect back-off: exponential, capped, reset after success, driven by the clock', async () => {
  const net = new MemoryNetwork();
  net.plans = ['refuse', 'refuse', 'refuse', 'refuse', 'refuse', 'refuse'];
  const master = makeMaster(net, { reconnect: { min: 1_000, max: 8_000, factor: 2, jitter: 0 } });
  const delays: number[] = [];
  master.on('reconnecting', (i) => delays.push(i.delay));
  const p = master.connect();
  await flush();
  for (let i = 0; i < 40; i++) {
    net.clock.advance(1_000);
    await flush();
  }
  await p;
  const t0 = net.attempts[0];
  assert.deepEqual(net.attempts.map((t) => t - t0), [0, 1_000, 3_000, 7_000, 15_000, 23_000, 31_000]);
  assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  assert.equal(master.state, 'started');
  assert.equal(master.snapshot().reconnectAttempt, 0);

  // lost connection: back to the minimum delay
  const reasons: LinkCloseReason[] = [];
  master.on('disconnected', (r) => reasons.push(r));
  net.station.drop();
  await flush();
  assert.equal(reasons[0].code, 'E_PEER_CLOSED');
  assert.equal(master.state, 'reconnecting');
  assert.equal(delays.at(-1), 1_000);
  const before = net.attempts.length;
  net.clock.advance(999);
  await flush();
  assert.equal(net.attempts.length, before);
  net.clock.advance(1);
  await flush();
  assert.equal(net.attempts.length, before + 1);
  assert.equal(master.state, 'started');

  // close() stops reconnecting for good
  await master.close();
  net.clock.advance(100_000);
  await flush();
  assert.equal(net.attempts.length, before + 1);
});

test('back-off jitter spreads the delay and never exceeds max', () => {
  const o = { min: 1_000, max: 8_000, factor: 2, jitter: 0.5 };
  assert.equal(backoffDelay(1, o, () => 0), 500);
  assert.equal(backoffDelay(1, o, () => 0.5), 1_000);
  assert.equal(backoffDelay(1, o, () => 0.999999), 1_500);
  assert.equal(backoffDelay(10, o, () => 0.999999), 8_000);
  assert.equal(backoffDelay(10, o, () => 0), 4_000);
  assert.equal(backoffDelay(3, { ...o, jitter: 0 }), 4_000);
});

test('jittered reconnect delays come from the injected random source', async () => {
  const net = new MemoryNetwork();
  net.plans = ['refuse'];
  const master = makeMaster(net, { reconnect: { min: 2_000, max: 10_000, factor: 2, jitter: 0.25 }, random: () => 0 });
  const p = master.connect();
  await flush();
  net.clock.advance(1_499);
  await flush();
  assert.equal(net.attempts.length, 1);
  net.clock.advance(1);
  await flush();
  assert.equal(net.attempts.length, 2);
  await p;
  await master.close();
});

test('a lost connection rejects open and queued requests with ConnectionLostError', async () => {
  const { net, master } = await started(() => {});
  const a = track(master.single(1, 1, true));
  const b = track(master.interrogation(1));
  await flush();
  net.station.drop();
  await flush();
  await assert.rejects(a, (e: unknown) => e instanceof ConnectionLostError && e.reason.code === 'E_PEER_CLOSED' && e.code === 'E_CONNECTION_LOST');
  await assert.rejects(b, ConnectionLostError);
  assert.equal(master.state, 'idle');
  assert.equal(master.counters.lost, 2);
  await assert.rejects(master.single(1, 1, true), (e: unknown) => e instanceof MasterError && e.code === 'E_NOT_CONNECTED');
});

test('close() rejects open requests with E_CLOSED and ends the asdus() iterators', async () => {
  const { master } = await started(() => {});
  const a = track(master.single(1, 1, true));
  const it = master.asdus();
  const next = it.next();
  await master.close();
  await assert.rejects(a, (e: unknown) => e instanceof MasterError && e.code === 'E_CLOSED');
  assert.deepEqual(await next, { value: undefined, done: true });
  await assert.rejects(master.connect(), (e: unknown) => e instanceof MasterError && e.code === 'E_CLOSED');
});

test('back-pressure: requests beyond the window queue and go out on drain', async () => {
  const net = new MemoryNetwork(() => {});
  const master = makeMaster(net, { params: { k: 2, w: 1 }, queueLimit: 2, requestTimeout: 30_000 });
  const p = master.connect();
  await flush();
  await p;
  const reqs = [1, 2, 3, 4].map((ioa) => track(master.single(1, ioa, true)));
  await assert.rejects(master.single(1, 5, true), (e: unknown) => e instanceof MasterError && e.code === 'E_QUEUE_FULL');
  await flush();
  assert.equal(net.station.received.length, 2, 'window k=2');
  assert.equal(master.snapshot().queued, 2);
  assert.equal(master.counters.queued, 2);
  // the station acknowledges after t2 (its w=8 is not reached): the link drains and the queue goes out
  net.clock.advance(10_000);
  await flush();
  assert.equal(net.station.received.length, 4);
  assert.deepEqual(net.station.received.map((a) => a.objects[0].ioa), [1, 2, 3, 4]);
  assert.equal(master.snapshot().queued, 0);
  for (const a of net.station.received) net.station.confirm(a);
  await flush();
  const results = await Promise.all(reqs);
  assert.equal(results.length, 4);
  await master.close();
});

test('asdus() iterator and the asdu event receive every ASDU; slow iterators drop the oldest', async () => {
  const { net, master } = await started();
  const seen: Asdu[] = [];
  master.on('asdu', (a) => seen.push(a));
  const it = master.asdus();
  const small = master.asdus({ bufferLimit: 1 });
  net.station.send(monitor(13, 1, 3, [{ ioa: 7, value: 1.25 }]));
  net.station.send(monitor(1, 1, 3, [{ ioa: 8, value: true }]));
  await flush();
  assert.equal(seen.length, 2);
  const got: number[] = [];
  for await (const a of it) {
    got.push(a.objects[0].ioa);
    if (got.length === 2) break;
  }
  assert.deepEqual(got, [7, 8]);
  assert.equal((await small.next()).value?.objects[0].ioa, 8);
  assert.equal(master.counters.dropped, 1);
  await master.close();
});

test('a throwing handler does not break the connection', async () => {
  const lines: string[] = [];
  const { net, master } = await started(undefined, { logger: createLogger({ write: (l) => lines.push(l), level: 'debug' }) });
  master.on('asdu', () => {
    throw new Error('boom');
  });
  net.station.send(monitor(1, 1, 3, [{ ioa: 8, value: true }]));
  await flush();
  assert.equal(master.state, 'started');
  assert.ok(lines.some((l) => l.includes('master.handler_error')));
  assert.ok(lines.some((l) => l.includes('"event":"master.started"')));
  await master.close();
});

test('point image keeps the last value, quality, time and cause of monitor points', async () => {
  const { net, master } = await started(undefined, { pointImage: true });
  const gi = master.interrogation(1);
  await flush();
  await gi;
  assert.equal(master.points?.get(1, 100)?.value, 1.5);
  assert.equal(master.points?.get(1, 100)?.cot, 20);
  net.station.send(monitor(36, 1, 3, [{ ioa: 100, value: 2.5, quality: { iv: true, nt: false, sb: false, bl: false, ov: false }, time: { ms: 1000, minute: 2, hour: 3, day: 4, dayOfWeek: 0, month: 5, year: 26, invalid: false, summerTime: false } }]));
  net.station.send(monitor(1, 1, 47, [{ ioa: 100, value: true }])); // a refusal, not data
  await flush();
  const p = master.points?.get(1, 100);
  assert.equal(p?.value, 2.5);
  assert.equal(p?.type, 'M_ME_TF_1');
  assert.equal(p?.quality?.iv, true);
  assert.equal(p?.cot, 3);
  assert.equal(p?.timestamp?.toISOString(), '2026-05-04T03:02:01.000Z');
  assert.equal(master.points?.size, 3);
  assert.deepEqual(master.points?.values().map((v) => v.ioa), [1, 2, 100]);
  await master.close();
});
