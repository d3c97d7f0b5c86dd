/**
 * The fleet publisher against real brokers (nats-server -js, mosquitto): in order, every envelope
 * once (or again with the same id), through broker restarts, with a bounded disk buffer that drops
 * the oldest when full and counts it, and a sequence that continues across sensor restarts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBrokerUrl } from '../../src/fleet/broker-url.js';
import { FleetPublisher } from '../../src/fleet/publisher.js';
import { FleetBufferError } from '../../src/fleet/disk-buffer.js';
import type { FleetKind } from '../../src/fleet/envelope.js';
import { startMosquitto, startNats } from '../helpers/brokers.js';
import { firstOccurrences, mqttCollector, readNatsStream, until } from '../helpers/fleet-readback.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'iec104-pub-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const KINDS: FleetKind[] = ['record', 'alert', 'command', 'inventory', 'point'];

function publishMany(p: FleetPublisher, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) p.publish(KINDS[i % KINDS.length], { i });
}

function assertContiguous(seqs: number[], first: number, last: number): void {
  assert.deepEqual(seqs, Array.from({ length: last - first + 1 }, (_, i) => first + i));
}

test('NATS JetStream: every envelope in order with its id as Nats-Msg-Id, on iec104.<site>.<kind>', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const p = FleetPublisher.open({ site: 'north', sensor: 'tap1', urls: [parseBrokerUrl(nats.url, '--publish')], bufferDir: tempDir(t), healthIntervalMs: 0 });
  publishMany(p, 300);
  const h = await p.close({ drainMs: 15_000 });
  assert.equal(h.destinations[0].pending, 0);
  const got = await readNatsStream(nats.url);
  assert.equal(got.length, 301); // 300 + the last health message
  assertContiguous(got.map((m) => m.env.seq), 1, 301);
  for (const m of got) {
    assert.equal(m.msgId, m.env.id);
    assert.equal(m.env.id, `tap1:${m.env.seq}`);
    assert.equal(m.subject, `iec104.north.${m.env.kind}`);
  }
  assert.deepEqual(got.slice(0, 5).map((m) => m.env.kind), KINDS);
  assert.equal(got[300].env.kind, 'health');
  assert.equal((got[299].env.body as { i: number }).i, 299);
});

for (const version of [4, 5] as const) {
  test(`MQTT ${version === 5 ? '5' : '3.1.1'}: every envelope in order with QoS 1 on iec104/<site>/<kind>`, async (t) => {
    const mq = await startMosquitto();
    t.after(() => mq.close());
    const sub = await mqttCollector(mq.url);
    t.after(() => sub.close());
    const url = parseBrokerUrl(`${mq.url}${version === 5 ? '?protocol=5' : ''}`, '--publish');
    assert.equal(url.mqttVersion, version);
    const p = FleetPublisher.open({ site: 'south', sensor: 'tap2', urls: [url], bufferDir: tempDir(t), healthIntervalMs: 0 });
    publishMany(p, 200);
    await p.close({ drainMs: 15_000 });
    await sub.waitFor(201);
    const got = sub.messages;
    assertContiguous(got.map((m) => m.env.seq), 1, 201);
    for (const m of got) assert.equal(m.subject, `iec104/south/${m.env.kind}`);
  });
}

test('NATS killed mid-stream and restarted: everything delivered in order, once (de-duplicated by id)', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const logs: string[] = [];
  const p = FleetPublisher.open({ site: 'north', sensor: 'tap3', urls: [parseBrokerUrl(nats.url, '--publish')], bufferDir: tempDir(t), healthIntervalMs: 0, retryMs: { min: 20, max: 200 }, log: (m) => logs.push(m) });
  publishMany(p, 200);
  await until(() => p.health().destinations[0].acked >= 50, 15_000, 'first deliveries');
  await nats.stop('SIGKILL');
  publishMany(p, 300, 200); // these wait on disk
  await until(() => p.health().destinations[0].connected === false, 15_000, 'the publisher to see the broker gone');
  await nats.start();
  publishMany(p, 100, 500);
  const h = await p.close({ drainMs: 20_000 });
  assert.equal(h.destinations[0].pending, 0, logs.join('\n'));
  const got = await readNatsStream(nats.url);
  // JetStream keeps a resent envelope once (same Nats-Msg-Id within the duplicate window)
  assertContiguous(got.map((m) => m.env.seq), 1, 601);
  assert.ok(logs.some((l) => /reconnecting|cannot connect/.test(l)), logs.join('\n'));
});

test('mosquitto stopped mid-stream and restarted: everything delivered in order, repeats only with the same id', async (t) => {
  const mq = await startMosquitto();
  t.after(() => mq.close());
  const sub = await mqttCollector(mq.url);
  t.after(() => sub.close());
  const p = FleetPublisher.open({ site: 'south', sensor: 'tap4', urls: [parseBrokerUrl(mq.url, '--publish')], bufferDir: tempDir(t), healthIntervalMs: 0, retryMs: { min: 20, max: 200 } });
  publishMany(p, 200);
  await until(() => p.health().destinations[0].acked >= 50, 15_000, 'first deliveries');
  await mq.stop('SIGTERM'); // mosquitto saves its queues (the subscriber's persistent session) on SIGTERM
  publishMany(p, 300, 200);
  await until(() => p.health().destinations[0].connected === false, 15_000, 'the publisher to see the broker gone');
  await mq.start();
  publishMany(p, 100, 500);
  const h = await p.close({ drainMs: 20_000 });
  assert.equal(h.destinations[0].pending, 0);
  await until(() => firstOccurrences(sub.messages).length >= 601, 20_000, `601 distinct messages (have ${firstOccurrences(sub.messages).length})`);
  assertContiguous(firstOccurrences(sub.messages).map((m) => m.env.seq), 1, 601);
  // a repeat is the same envelope: same id, same body
  const byId = new Map<string, string>();
  for (const m of sub.messages) {
    const s = JSON.stringify(m.env);
    const prev = byId.get(m.env.id);
    if (prev !== undefined) assert.equal(s, prev);
    byId.set(m.env.id, s);
  }
});

test('buffer full while the broker is down: the oldest are dropped, counted and alerted; the rest arrive in order', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  await nats.stop('SIGKILL');
  const logs: string[] = [];
  const p = FleetPublisher.open({ site: 'north', sensor: 'tap5', urls: [parseBrokerUrl(nats.url, '--publish')], bufferDir: tempDir(t), bufferBytes: 8192, segmentBytes: 1024, healthIntervalMs: 0, retryMs: { min: 20, max: 100 }, log: (m) => logs.push(m) });
  publishMany(p, 400);
  const h = p.health();
  assert.ok(h.dropped > 0, 'some were dropped');
  assert.ok(h.buffer.bytes <= 8192, `buffer within its bound: ${h.buffer.bytes}`);
  assert.ok(logs.some((l) => l.startsWith('fleet.buffer-drop:')), logs.join('\n'));
  const last = p.nextSeq - 1;
  await nats.start();
  const fin = await p.close({ drainMs: 20_000 });
  assert.equal(fin.destinations[0].pending, 0);
  assert.ok(fin.dropped >= h.dropped); // the last health message may push out one more segment
  const got = await readNatsStream(nats.url);
  const seqs = got.map((m) => m.env.seq);
  // a contiguous tail: nothing after the dropped head is missing
  assert.ok(fin.buffer.nextSeq - 1 > last);
  assertContiguous(seqs, seqs[0], fin.buffer.nextSeq - 1);
  assert.ok(seqs[0] > 1);
  // what is missing is what was counted as dropped (the drop alerts are among what was sent)
  assert.equal(seqs[0] - 1, fin.dropped);
  const drops = got.filter((m) => m.env.kind === 'alert' && (m.env.body as { rule?: string }).rule === 'fleet.buffer-drop');
  assert.ok(drops.length >= 1);
  const health = got.filter((m) => m.env.kind === 'health').at(-1)!;
  assert.ok((health.env.body as { dropped: number }).dropped >= h.dropped);
});

test('sensor restart: seq continues from the buffer directory; undelivered envelopes go out on the next run', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  await nats.stop('SIGKILL');
  const dir = tempDir(t);
  const urls = [parseBrokerUrl(nats.url, '--publish')];
  const a = FleetPublisher.open({ site: 'north', sensor: 'tap6', urls, bufferDir: dir, healthIntervalMs: 0, retryMs: { min: 20, max: 100 } });
  publishMany(a, 10);
  const ha = await a.close(); // broker down: 11 envelopes stay on disk
  assert.equal(ha.destinations[0].pending, 11);
  assert.throws(() => FleetPublisher.open({ site: 'north', sensor: 'other', urls, bufferDir: dir }), (e: unknown) => e instanceof FleetBufferError && /belongs to sensor "tap6"/.test(e.message));
  await nats.start();
  const b = FleetPublisher.open({ site: 'north', sensor: 'tap6', urls, bufferDir: dir, healthIntervalMs: 0, retryMs: { min: 20, max: 100 } });
  assert.equal(b.nextSeq, 12);
  assert.equal(b.publish('alert', { again: true }), 12);
  await b.close({ drainMs: 15_000 });
  const c = FleetPublisher.open({ site: 'north', sensor: 'tap6', urls, bufferDir: dir, healthIntervalMs: 0 });
  assert.equal(c.nextSeq, 14);
  await c.close();
  const got = await readNatsStream(nats.url);
  assertContiguous(got.map((m) => m.env.seq), 1, 13);
});
