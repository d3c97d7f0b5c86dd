/**
 * The collector against real brokers (nats-server -js, mosquitto) and real databases: many sensors
 * to one collector; the broker killed and restarted mid-stream (nothing lost, nothing duplicated);
 * the collector restarted (resumes from the stream position / the persistent session, no
 * duplicates); bad envelopes counted and logged, never a crash; the same through PostgreSQL.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, startMosquitto } from '../helpers/brokers.js';
import { startPostgres } from '../helpers/postgres.js';
import { sensorEnvelopes, sensorName } from '../helpers/fleet-envelopes.js';
import { ensureStream, natsConnect, publishMqtt, publishNats } from '../helpers/sim-sensors.js';
import { openFleetStore, type FleetStore } from '../../src/fleet/store.js';
import { startCollector, type Collector } from '../../src/fleet/collector.js';

const dir = mkdtempSync(join(tmpdir(), 'iec104-collect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(cond: () => Promise<boolean> | boolean, what: string, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const total = async (store: FleetStore): Promise<number> => Object.values(await store.counts()).reduce((a, b) => a + b, 0);

/** Every sensor has exactly `n` messages, seq 1..n, each once. */
async function assertExactlyOnce(store: FleetStore, sensors: string[], n: number): Promise<void> {
  const rows = await store.sensors();
  assert.deepEqual(rows.map((r) => [r.sensor, r.messages, r.maxSeq]).sort(), sensors.map((s) => [s, n, n]).sort());
  assert.equal(await total(store), sensors.length * n);
}

test('5 sensors to one collector over NATS; the broker killed and restarted mid-stream: nothing lost, nothing duplicated', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const store = await openFleetStore(`sqlite:${join(dir, 'kill.db')}`);
  t.after(() => store.close());
  const logs: Array<Record<string, unknown>> = [];
  const nc = await natsConnect(nats.url);
  t.after(() => nc.close());
  await ensureStream(nc);
  const collector = await startCollector({ from: [nats.url], store, batchSize: 50, log: (e) => logs.push(e) });
  t.after(() => collector.close());
  const N = 200;
  const FIRST = 30;
  const names = [0, 1, 2].map((i) => sensorName('north', i)).concat([0, 1].map((i) => sensorName('south', i)));
  const all = [0, 1, 2].map((i) => sensorEnvelopes('north', i, N)).concat([0, 1].map((i) => sensorEnvelopes('south', i, N)));
  // first half, then the broker dies while the second half is being published
  await Promise.all(all.map((envs) => publishNats(nc, envs.slice(0, FIRST))));
  await waitFor(async () => (await total(store)) === 5 * FIRST, 'the first part stored');
  const sending = Promise.all(all.map((envs) => publishNats(nc, envs.slice(FIRST), { window: 4 })));
  await nats.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  await nats.start();
  const retries = (await sending).reduce((a, r) => a + r.retries, 0);
  assert.ok(retries > 0, 'the broker died while the sensors were publishing');
  await waitFor(async () => (await total(store)) >= 5 * N && collector.stats().pending === 0, 'every message stored');
  await collector.drain();
  await assertExactlyOnce(store, names, N);
  assert.equal((await store.sites()).map((s) => s.site).join(), 'north,south');
  assert.equal(collector.stats().bad, 0);
});

test('a restarted collector resumes from the stream position (durable consumer): no duplicates, no re-reading', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const nc = await natsConnect(nats.url);
  t.after(() => nc.close());
  await ensureStream(nc);
  const store = await openFleetStore(`sqlite:${join(dir, 'restart.db')}`);
  t.after(() => store.close());
  const envs = sensorEnvelopes('north', 0, 100);
  const a = await startCollector({ from: [nats.url], store, durable: 'grid' });
  await publishNats(nc, envs.slice(0, 60), { window: 10 });
  await waitFor(async () => (await total(store)) === 60, 'the first 60 stored');
  await a.close();
  await publishNats(nc, envs.slice(60), { window: 10 }); // published while no collector runs
  const b = await startCollector({ from: [nats.url], store, durable: 'grid' });
  t.after(() => b.close());
  await waitFor(async () => (await total(store)) === 100, 'the rest stored');
  await b.drain();
  assert.equal(b.stats().received, 40, 'the second collector got only what the first had not acknowledged');
  await assertExactlyOnce(store, ['north-s0'], 100);
});

test('MQTT: persistent session, QoS 1; messages sent while the collector was down arrive after its restart, once', async (t) => {
  const mq = await startMosquitto();
  t.after(() => mq.close());
  const store = await openFleetStore(`sqlite:${join(dir, 'mqtt.db')}`);
  t.after(() => store.close());
  const a = await startCollector({ from: [mq.url], store, clientId: 'collector-t' });
  await waitFor(() => a.stats().sources[0].connected, 'the MQTT session');
  await new Promise((r) => setTimeout(r, 200)); // the SUBACK
  const envs = [sensorEnvelopes('north', 0, 30), sensorEnvelopes('south', 0, 30)];
  await Promise.all(envs.map((e, i) => publishMqtt(mq.url, `sensor-${i}`, e.slice(0, 15))));
  await waitFor(async () => (await total(store)) === 30, 'the first half over MQTT');
  await a.close();
  await Promise.all(envs.map((e, i) => publishMqtt(mq.url, `sensor-${i}`, e.slice(15))));
  const b = await startCollector({ from: [mq.url], store, clientId: 'collector-t' });
  t.after(() => b.close());
  await waitFor(async () => (await total(store)) === 60, 'the queued half after the restart');
  await b.drain();
  await assertExactlyOnce(store, ['north-s0', 'south-s0'], 30);
});

test('bad envelopes are counted and logged with the field, never a crash; the good ones around them are stored', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const nc = await natsConnect(nats.url);
  t.after(() => nc.close());
  await ensureStream(nc);
  const store = await openFleetStore(`sqlite:${join(dir, 'bad.db')}`);
  t.after(() => store.close());
  const logs: Array<Record<string, unknown>> = [];
  const c = await startCollector({ from: [nats.url], store, log: (e) => logs.push(e) });
  t.after(() => c.close());
  const js = (await import('@nats-io/jetstream')).jetstream(nc);
  await publishNats(nc, sensorEnvelopes('north', 0, 3));
  await js.publish('iec104.north.record', new TextEncoder().encode('not json {'));
  await js.publish('iec104.north.record', new TextEncoder().encode(JSON.stringify({ v: 1, id: 'x:1', site: 'north', sensor: 'x', seq: 1, kind: 'nonsense', ts: 0, body: {} })));
  await publishNats(nc, sensorEnvelopes('north', 0, 3, 4));
  await waitFor(async () => (await total(store)) === 6 && c.stats().bad === 2, 'the good ones stored and the bad ones counted');
  const bad = logs.filter((l) => l.event === 'bad-envelope').map((l) => String(l.error));
  assert.equal(bad.length, 2);
  assert.match(bad[0], /payload: not JSON/);
  assert.match(bad[1], /kind: unknown kind "nonsense"/);
});

test('collector into PostgreSQL: 3 sensors over NATS, stored once', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const pgs = await startPostgres();
  t.after(() => pgs.close());
  const store = await openFleetStore(await pgs.createDatabase('collect'));
  t.after(() => store.close());
  const nc = await natsConnect(nats.url);
  t.after(() => nc.close());
  await ensureStream(nc);
  const c: Collector = await startCollector({ from: [nats.url], store, batchSize: 40 });
  t.after(() => c.close());
  await Promise.all([0, 1, 2].map((i) => publishNats(nc, sensorEnvelopes('south', i, 50), { window: 5 })));
  await publishNats(nc, sensorEnvelopes('south', 0, 10)); // delivered again by a confused sensor
  await waitFor(async () => (await total(store)) === 150 && c.stats().received === 160 && c.stats().pending === 0, 'all stored');
  await c.drain();
  assert.equal(c.stats().duplicates, 10);
  await assertExactlyOnce(store, [0, 1, 2].map((i) => sensorName('south', i)), 50);
});
