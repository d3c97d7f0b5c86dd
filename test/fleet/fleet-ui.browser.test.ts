/**
 * The fleet view (`collect --ui`) in a real browser (Debian chromium via playwright-core) and its
 * JSON API: the sites page lists both sites with their counts; a click drills down to a site
 * (stations, sensor health, alerts) and to a station (points, alerts, commands); names from the
 * broker are shown as text, never markup; off loopback the token is enforced. Every wait is for a
 * condition in the page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { openFleetStore, type FleetStore } from '../../src/fleet/store.js';
import { startFleetUi, type FleetUi } from '../../src/fleet/fleet-ui.js';
import { makeEnvelope } from '../../src/fleet/envelope.js';
import { sensorEnvelopes } from '../helpers/fleet-envelopes.js';
import { ARTIFACTS, launchBrowser, waitCount, waitMatch } from '../web/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'iec104-fleet-ui-'));
let store: FleetStore;
let ui: FleetUi;
let browser: { context: BrowserContext; close(): Promise<void> };

before(async () => {
  store = await openFleetStore(`sqlite:${join(dir, 'ui.db')}`);
  const now = Date.now();
  await store.ingest([...sensorEnvelopes('north', 0, 30), ...sensorEnvelopes('north', 1, 30), ...sensorEnvelopes('south', 0, 30)], now);
  // a hostile name in an alert: must be shown as text
  await store.ingest([makeEnvelope({ site: 'south', sensor: 'evil', seq: 1, kind: 'alert', ts: now, body: { kind: 'alert', rule: '<img src=x onerror=alert(1)>', severity: 'critical', message: '<b>x</b>', ts: now, src: 'a:1', dst: '10.2.0.1:2404', evidence: { flow: 'f' } } })], now);
  ui = await startFleetUi({ store, port: 0, stats: () => ({ received: 91, stored: 91, duplicates: 0, ignored: 0, bad: 0, batches: 2, storeErrors: 0, pruned: 0, pending: 0, lag: { p50: 10, p99: 20, max: 30, count: 91 }, sources: [] }) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await ui?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sites on one page, drill down to a site and a station', async () => {
  const page = await browser.context.newPage();
  await page.goto(ui.url);
  await waitCount(page, '#sites tr', 3); // header + north + south
  const north = await page.locator('#sites tr', { hasText: 'north' }).innerText();
  assert.match(north, /north\s+2\s+2\s+18\s+2\s+6\s+8\s+60/); // sensors, stations, alerts, rules, commands, points, messages
  await waitMatch(page, '#collector', 'lag p99 20 ms');
  await page.screenshot({ path: join(ARTIFACTS, 'fleet-sites.png') });
  await page.click('#sites a:text("south")');
  await waitCount(page, '#stations tr', 2);
  await waitCount(page, '#sensors tr', 3);
  assert.match(await page.locator('#sensors tr', { hasText: 'south-s0' }).innerText(), /drops 5/); // health seq 26: 26 % 7
  assert.equal(await page.locator('#alerts tr', { hasText: '<img src=x onerror=alert(1)>' }).count(), 1);
  assert.equal(await page.locator('#alerts img').count(), 0);
  await page.click('#stations a:text("10.2.0.1:2404")');
  await waitCount(page, '#points tr', 5);
  await waitCount(page, '#commands tr', 4);
  assert.match(await page.locator('#points tr', { hasText: '203' }).innerText(), /M_ME_NC_1\s+2\.3/);
  assert.match(await page.locator('#commands').innerText(), /negative/);
  await page.screenshot({ path: join(ARTIFACTS, 'fleet-station.png') });
  await page.close();
});

test('the same data as JSON under /api/', async () => {
  const get = async (p: string): Promise<{ status: number; body: unknown }> => {
    const r = await fetch(new URL(p, ui.url));
    return { status: r.status, body: await r.json() };
  };
  const sites = (await get('/api/sites')).body as Array<{ site: string; stations: number }>;
  assert.deepEqual(sites.map((s) => [s.site, s.stations]), [['north', 2], ['south', 1]]);
  const st = (await get('/api/sites/south/stations/' + encodeURIComponent('10.2.0.1:2404'))).body as { pointValues: unknown[]; commandRows: unknown[] };
  assert.equal(st.pointValues.length, 4);
  assert.equal(st.commandRows.length, 3);
  assert.equal((await get('/api/sites/nowhere')).status, 404);
  assert.equal((await get('/api/nothing')).status, 404);
  assert.equal(((await get('/api/info')).body as { schema: number }).schema, 2);
  assert.equal((await fetch(new URL('/api/sites', ui.url), { method: 'POST' })).status, 405);
});

test('off loopback every request needs the token', async () => {
  const open = await startFleetUi({ store, host: '0.0.0.0', port: 0, token: 'abc123' });
  try {
    const base = `http://127.0.0.1:${open.port}`;
    assert.equal((await fetch(`${base}/api/sites`)).status, 401);
    assert.equal((await fetch(`${base}/api/sites`, { headers: { authorization: 'Bearer abc123' } })).status, 200);
    assert.equal((await fetch(`${base}/?token=abc123`)).status, 200);
    assert.match(open.url, /\?token=abc123$/);
  } finally {
    await open.close();
  }
});
