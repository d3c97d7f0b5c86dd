/**
 * The real publisher into the real collector: `iec104 analyze CAPTURE --publish nats://… --site
 * north` (a process, its disk buffer in a temporary directory) and a collector on the same
 * nats-server keep the fleet model: the capture's stations, points and alerts reach the store
 * once, and running the publisher again with the same buffer directory (same sensor, sequence
 * continued) adds its messages without duplicating the first run's.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats } from '../helpers/brokers.js';
import { openFleetStore } from '../../src/fleet/store.js';
import { startCollector } from '../../src/fleet/collector.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'iec104-pubcol-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('analyze --publish into collect: stations, points and alerts of a capture reach the store once', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const store = await openFleetStore(`sqlite:${join(dir, 'pc.db')}`);
  t.after(() => store.close());
  const c = await startCollector({ from: [nats.url], store });
  t.after(() => c.close());
  const analyze = (): void => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'analyze', 'test/fixtures/captures/fkie_epf_iec104.pcap', '--alerts', '--publish', nats.url, '--site', 'north', '--sensor', 'tap1', '--buffer-dir', join(dir, 'buf')], { cwd: root, encoding: 'utf8', timeout: 120000 });
    assert.ok(r.status === 0 || r.status === 4 || r.status === 5, `analyze exited ${r.status}: ${r.stderr}`);
  };
  analyze();
  const settle = async (): Promise<number> => {
    let last = -1;
    for (const end = Date.now() + 30000; Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 300));
      await c.drain();
      const n = (await store.sensors())[0]?.messages ?? 0;
      if (n > 0 && n === last && c.stats().pending === 0) return n;
      last = n;
    }
    throw new Error('the store did not settle');
  };
  const first = await settle();
  const sensors = await store.sensors();
  assert.equal(sensors.length, 1);
  assert.equal(sensors[0].sensor, 'tap1');
  assert.equal(sensors[0].maxSeq, first, 'every message from 1 to the last, once');
  const sites = await store.sites();
  assert.equal(sites[0].site, 'north');
  assert.ok(sites[0].stations >= 1, JSON.stringify(sites));
  assert.ok(sites[0].points >= 1, JSON.stringify(sites));
  const counts = await store.counts();
  assert.ok((counts.point ?? 0) > 0 && (counts.inventory ?? 0) > 0, JSON.stringify(counts));
  // the same sensor again: its sequence continues, nothing of the first run is stored twice
  analyze();
  const second = await settle();
  assert.ok(second > first);
  assert.equal((await store.sensors())[0].maxSeq, second);
  assert.equal(Object.values(await store.counts()).reduce((a, b) => a + b, 0), second);
  assert.equal(c.stats().bad, 0);
});
