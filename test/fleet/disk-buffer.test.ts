/**
 * The sensor's disk buffer (no broker): append and read back in order, trim what every destination
 * acknowledged, drop the oldest when full (counted), survive a crash mid-line, continue `seq`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBuffer, FleetBufferError } from '../../src/fleet/disk-buffer.js';
import { decodeEnvelope, makeEnvelope } from '../../src/fleet/envelope.js';
import { FleetUrlError, parseBrokerUrl } from '../../src/fleet/broker-url.js';

function dir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'iec104-buf-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function add(b: DiskBuffer, n: number): void {
  for (let i = 0; i < n; i++) b.append((seq) => makeEnvelope({ site: 'x', sensor: 's', seq, kind: 'point', ts: 1, body: { n: seq } }));
}

test('reads back in order per destination; trims only what every destination acknowledged', (t) => {
  const d = dir(t);
  const b = DiskBuffer.open({ dir: d, sensor: 's', maxBytes: 1 << 20, segmentBytes: 1024, destinations: ['a', 'b'] });
  add(b, 100);
  const r = b.read('a', 1, 30);
  assert.deepEqual(r.map((e) => e.seq), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal(decodeEnvelope(r[5].json).id, 's:6');
  assert.deepEqual(b.read('a', 31, 1000).map((e) => e.seq)[0], 31);
  const segs = b.segmentCount;
  assert.ok(segs > 3);
  b.ack('a', 100);
  assert.equal(b.segmentCount, segs, "b has not acknowledged: nothing goes");
  b.ack('b', 60);
  assert.ok(b.segmentCount < segs);
  assert.deepEqual(b.read('b', 61, 5).map((e) => e.seq), [61, 62, 63, 64, 65]);
  assert.equal(b.pending('b'), 40);
  b.close();
});

test('full: the oldest segment goes, its undelivered envelopes counted; bytes stay bounded', (t) => {
  const b = DiskBuffer.open({ dir: dir(t), sensor: 's', maxBytes: 8192, segmentBytes: 1024, destinations: ['a'] });
  let dropped = 0;
  for (let i = 0; i < 500; i++) dropped += b.append((seq) => makeEnvelope({ site: 'x', sensor: 's', seq, kind: 'point', ts: 1, body: { n: seq } })).dropped;
  assert.ok(b.bytes <= 8192);
  assert.equal(dropped, b.dropped);
  assert.equal(b.ackedBy('a'), dropped, 'the destination skips what was dropped');
  assert.equal(b.read('a', 1, 1)[0].seq, dropped + 1, 'reading from a dropped seq starts at the oldest held');
  b.close();
});

test('a line cut by a crash is cut off; seq continues after reopening; another sensor is refused', (t) => {
  const d = dir(t);
  const a = DiskBuffer.open({ dir: d, sensor: 's', maxBytes: 1 << 20, destinations: ['a'] });
  add(a, 5);
  a.close();
  const seg = readdirSync(d).find((n) => n.startsWith('seg-'))!;
  appendFileSync(join(d, seg), '6\tx\tpoint\t{"v":1,"id":"s:6"'); // no newline: crashed mid-write
  const b = DiskBuffer.open({ dir: d, sensor: 's', maxBytes: 1 << 20, destinations: ['a'] });
  assert.equal(b.nextSeq, 6);
  add(b, 1);
  assert.deepEqual(b.read('a', 1, 10).map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
  for (const e of b.read('a', 1, 10)) decodeEnvelope(e.json);
  b.close();
  assert.throws(() => DiskBuffer.open({ dir: d, sensor: 'z', maxBytes: 1 << 20, destinations: [] }), FleetBufferError);
});

test('broker URLs: typed errors naming the flag and the part that is wrong', () => {
  assert.deepEqual(parseBrokerUrl('nats://127.0.0.1:4222', '--publish'), { scheme: 'nats', host: '127.0.0.1', port: 4222, key: 'nats://127.0.0.1:4222' });
  assert.equal(parseBrokerUrl('nats://broker', '--publish').port, 4222);
  assert.equal(parseBrokerUrl('mqtt://broker', '--publish').port, 1883);
  assert.equal(parseBrokerUrl('mqtt://broker:1884?protocol=5', '--publish').mqttVersion, 5);
  assert.equal(parseBrokerUrl('mqtt://broker:1884', '--publish').mqttVersion, 4);
  const bad: Array<[string, string]> = [
    ['http://broker:80', 'scheme'],
    ['kafka://broker', 'scheme'],
    ['nats://:4222', 'host'],
    ['mqtt://', 'host'],
    ['nats://broker:0', 'port'],
    ['nats://broker:65536', 'port'],
    ['nats://broker:abc', 'port'],
    ['mqtt://broker?qos=2', 'query'],
    ['broker:4222', 'syntax'],
  ];
  for (const [u, part] of bad) {
    assert.throws(
      () => parseBrokerUrl(u, '--publish'),
      (e: unknown) => e instanceof FleetUrlError && e.part === part && e.flag === '--publish' && e.message.startsWith(`--publish "${u}"`),
      u,
    );
  }
});
