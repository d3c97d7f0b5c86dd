/**
 * The fleet store on real databases: SQLite (better-sqlite3) and PostgreSQL (a throw-away server,
 * test/helpers/postgres.ts) give the same answers to the same fleet queries for the same input;
 * a message delivered twice is stored once; migrations are numbered and a newer database is
 * refused with a typed error; retention prunes history and keeps the current state; bad store
 * URLs get typed errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openFleetStore, FleetStoreError, type FleetStore } from '../../src/fleet/store.js';
import { FleetSchemaError, FLEET_SCHEMA_VERSION } from '../../src/fleet/schema.js';
import type { FleetEnvelope } from '../../src/fleet/envelope.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { sensorEnvelopes } from '../helpers/fleet-envelopes.js';

let pgs: TestPostgres;
const dir = mkdtempSync(join(tmpdir(), 'iec104-store-'));
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** 3 sensors x 40 messages at two sites, in batches of 7, with a replayed slice (duplicates). */
function input(): FleetEnvelope[][] {
  const all = [...sensorEnvelopes('north', 0, 40), ...sensorEnvelopes('north', 1, 40), ...sensorEnvelopes('south', 0, 40)];
  const batches: FleetEnvelope[][] = [];
  for (let i = 0; i < all.length; i += 7) batches.push(all.slice(i, i + 7));
  batches.push(all.slice(10, 30)); // delivered again
  batches.push([all[5], all[5]]); // twice in one batch
  return batches;
}

async function answers(store: FleetStore): Promise<unknown> {
  const sites = await store.sites();
  const out: Record<string, unknown> = { sites, sensors: await store.sensors(), alerts: await store.alerts(), commands: await store.commands(), counts: await store.counts() };
  for (const s of sites) {
    const stations = await store.stations(s.site);
    out[`stations:${s.site}`] = stations;
    for (const st of stations) out[`station:${s.site}:${st.station}`] = await store.station(s.site, st.station);
  }
  return out;
}

async function feed(store: FleetStore): Promise<{ stored: number; duplicates: number }> {
  let stored = 0;
  let duplicates = 0;
  let received = 1_000_000;
  for (const b of input()) {
    const r = await store.ingest(b, (received += 10));
    stored += r.stored;
    duplicates += r.duplicates;
  }
  return { stored, duplicates };
}

test('SQLite and PostgreSQL give the same answers for the same input; duplicates are stored once', async () => {
  const lite = await openFleetStore(`sqlite:${join(dir, 'same.db')}`);
  const pg = await openFleetStore(await pgs.createDatabase('same'));
  try {
    assert.deepEqual(await feed(lite), { stored: 120, duplicates: 22 });
    assert.deepEqual(await feed(pg), { stored: 120, duplicates: 22 });
    const a = await answers(lite);
    const b = await answers(pg);
    assert.deepEqual(b, a);
    // and the answers are right, not only equal
    const sites = await lite.sites();
    assert.deepEqual(sites.map((s) => [s.site, s.messages, s.sensors, s.stations]), [['north', 80, 2, 2], ['south', 40, 1, 1]]);
    const alerts = await lite.alerts({ site: 'south' });
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].count, 12); // 4 alerts + 4 aggregates of 3 (their first counted once)
    assert.equal(alerts[0].severity, 'high');
    const st = await lite.station('south', '10.2.0.1:2404');
    assert.ok(st);
    assert.deepEqual(st.cas, [1, 2]);
    assert.equal(st.pointValues.length, 4);
    assert.equal(st.pointValues.find((p) => p.ioa === 203)?.value, '2.3') // seq 23, the newest with seq % 4 = 3;
    assert.equal(st.commandRows.length, 4);
    assert.equal(st.commandRows[0].conLatencyMs, 12.5);
    assert.deepEqual(st.ioaMap.map((x) => [x.ca, x.ioa, x.types, x.count]), [[1, 200, ['M_ME_NC_1'], 35]]);
    const sensors = await lite.sensors('south');
    assert.equal(sensors[0].messages, 40);
    assert.equal(sensors[0].maxSeq, 40);
    assert.equal(sensors[0].drops, 36 % 7);
    assert.equal(sensors[0].bufferDepth, 36 % 5);
    assert.deepEqual(await lite.counts(), { alert: 24, command: 12, health: 12, inventory: 12, point: 24, record: 36 });
  } finally {
    await lite.close();
    await pg.close();
  }
});

test('retention prunes history (envelopes, commands) and keeps current state, the same on both', async () => {
  for (const url of [`sqlite:${join(dir, 'ret.db')}`, await pgs.createDatabase('ret')]) {
    const store = await openFleetStore(url);
    try {
      await store.ingest(sensorEnvelopes('north', 0, 20), 1000);
      await store.ingest(sensorEnvelopes('north', 0, 20, 21), 5000);
      const before = await store.sites();
      const deleted = await store.prune(3000);
      assert.equal(deleted, 20 + 2, url); // 20 envelopes and 2 commands of the first batch
      assert.equal(Object.values(await store.counts()).reduce((x, y) => x + y, 0), 20, url);
      assert.equal((await store.commands()).length, 2, url);
      assert.deepEqual(await store.sites(), before.map((s) => ({ ...s, commands: 2 })), url);
      assert.equal((await store.alerts())[0].count, 12, url); // the aggregated count is current state
      // the same message again after pruning is new to the history but the sensor keeps its count
      assert.equal((await store.ingest(sensorEnvelopes('north', 0, 1, 40), 6000)).stored, 0, url);
    } finally {
      await store.close();
    }
  }
});

test('migrations are numbered and applied in order; data survives; a newer database is refused', async () => {
  const path = join(dir, 'mig.db');
  const s1 = await openFleetStore(`sqlite:${path}`, { migrateTo: 1 });
  assert.equal(await s1.schemaVersion(), 1);
  await s1.close();
  const raw = new Database(path);
  assert.ok(!raw.prepare('PRAGMA table_info(sensors)').all().some((c) => (c as { name: string }).name === 'buffer_depth'));
  raw.prepare("INSERT INTO sites (site, first_seen, last_seen, messages) VALUES ('old', 1, 2, 3)").run();
  raw.close();
  const s2 = await openFleetStore(`sqlite:${path}`);
  assert.equal(await s2.schemaVersion(), FLEET_SCHEMA_VERSION);
  assert.equal((await s2.sites())[0].site, 'old');
  await s2.close();
  const raw2 = new Database(path);
  assert.deepEqual(raw2.prepare('SELECT version FROM fleet_migrations ORDER BY version').all(), [{ version: 1 }, { version: 2 }]);
  raw2.prepare("INSERT INTO fleet_migrations (version, name, applied) VALUES (99, 'future', 0)").run();
  raw2.close();
  await assert.rejects(openFleetStore(`sqlite:${path}`), (e: unknown) => e instanceof FleetSchemaError && e.code === 'E_FLEET_SCHEMA' && e.found === 99);

  const url = await pgs.createDatabase('mig');
  const p1 = await openFleetStore(url, { migrateTo: 1 });
  await p1.close();
  const p2 = await openFleetStore(url);
  assert.equal(await p2.schemaVersion(), 2);
  await p2.close();
  await pgs.psql('mig', "INSERT INTO fleet_migrations (version, name, applied) VALUES (7, 'future', 0)");
  await assert.rejects(openFleetStore(url), (e: unknown) => e instanceof FleetSchemaError && e.found === 7);
});

test('bad store URLs get typed errors naming the URL', async () => {
  await assert.rejects(openFleetStore('mysql://x/y'), (e: unknown) => e instanceof FleetStoreError && e.code === 'E_FLEET_STORE_URL' && /mysql/.test(e.message));
  await assert.rejects(openFleetStore('sqlite:'), (e: unknown) => e instanceof FleetStoreError && e.code === 'E_FLEET_STORE_URL');
  await assert.rejects(openFleetStore(`sqlite:${join(dir, 'no', 'such', 'dir.db')}`), (e: unknown) => e instanceof FleetStoreError && e.code === 'E_FLEET_STORE_OPEN');
  await assert.rejects(openFleetStore('postgres://u:secret@127.0.0.1:1/db'), (e: unknown) => e instanceof FleetStoreError && e.code === 'E_FLEET_STORE_OPEN' && !e.message.includes('secret'));
});
