/**
 * The web workbench in a real browser (Debian chromium, headless, driven by playwright-core):
 * the live page shows the demo substation and follows changes; a click sends a command that
 * reaches ACT_CON (commands enabled) and is refused read-only (the API answers 403); the decoder
 * explains a pasted frame and a malformed one; the capture page lists a capture's inventory and
 * explains a clicked APDU; the token is enforced off loopback. Screenshots go to test-artifacts/.
 * Every wait is for a condition in the page, never a fixed sleep.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { parseStationConfig } from '../../src/station/config.js';
import { createStation, type ControlledStation } from '../../src/station/station.js';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { startWorkbench, type Workbench } from '../../src/web/server.js';
import { analyzeCaptureForView } from '../../src/web/capture-view.js';
import { ARTIFACTS, launchBrowser, waitCount, waitMatch, waitText } from './browser.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const WAIT = { timeout: 20000 };

let station: ControlledStation;
let master: ControllingStation;
let live: Workbench;
let readOnly: Workbench;
let captureWb: Workbench;
let browser: { context: BrowserContext; close(): Promise<void> };

before(async () => {
  const cfg = parseStationConfig(readFileSync(join(root, 'examples/substation.yaml'), 'utf8'));
  station = createStation({ ...cfg.station });
  const { port } = (await station.listen({ host: '127.0.0.1', port: 0 })) as { port: number };
  master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, pointImage: true });
  live = await startWorkbench({ port: 0, station, master, commands: true, masterPeer: `127.0.0.1:${port}`, title: 'test substation', flushMs: 100 });
  readOnly = await startWorkbench({ port: 0, station, master, commands: false, title: 'read-only substation', flushMs: 100 });
  await master.connect();
  await master.interrogation(1);
  const pcap = readFileSync(join(root, 'test/fixtures/captures/fkie_epf_iec104.pcap'));
  captureWb = await startWorkbench({ port: 0, capture: analyzeCaptureForView('fkie_epf_iec104.pcap', pcap), title: 'capture' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all([live?.close(), readOnly?.close(), captureWb?.close()]);
  await master?.close();
  await station?.close();
});

async function open(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]', WAIT);
  assert.deepEqual(problems, [], 'no script errors and no CSP violations');
  return page;
}

const valueCell = (key: string): string => `#points .vrow[data-key="${key}"] div:nth-child(5)`;

test('the live page loads the station the master sees, and values change live', async () => {
  const page = await open(live.url);
  await page.waitForSelector(`${valueCell('1:2001')}`, WAIT);
  assert.match(await page.textContent('#title') ?? '', /test substation/);
  // connection panel: the master's connection and the station's session, data transfer started
  await waitCount(page, '#connections .conn .state.started', 2, true);
  const conn = await page.textContent('#connections');
  assert.match(conn ?? '', /STARTDT \(started\)/);
  assert.match(conn ?? '', /V\(S\) \/ V\(R\)/);
  // a point changes at the station: the page shows the new value without a reload
  station.update(1, 2001, 123.5);
  await waitText(page, valueCell('1:2001'), '123.5');
  station.update(1, 2001, 111.25, { quality: { iv: true } });
  await waitText(page, valueCell('1:2001'), '111.25');
  const q = await page.textContent('#points .vrow[data-key="1:2001"] div:nth-child(6)');
  assert.equal(q, 'IV', 'the quality flag is spelled out');
  // filter
  await page.fill('#points-filter', 'frequency');
  await waitCount(page, '#points .vrow:not([style*="display: none"])', 1);
  assert.match(await page.textContent('#points .vrow[data-key="1:2003"]') ?? '', /frequency/);
  await page.fill('#points-filter', '');
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-live.png') });
  await page.close();
});

test('commands enabled: select+execute from the page, confirmed, reaches ACT_CON (and ACT_TERM)', async () => {
  const page = await open(live.url);
  const idx = (await page.locator('#cmd-point option').allTextContents()).findIndex((t) => t.includes('IOA 5031'));
  assert.ok(idx > 0, 'the station\'s command point 5031 is offered');
  await page.selectOption('#cmd-point', { index: idx });
  await page.fill('#cmd-value', '2');
  await page.selectOption('#cmd-step', 'sbo');
  await page.click('#cmd-send');
  await page.waitForSelector('#cmd-confirm-btn', WAIT); // the confirmation step
  const pageRows = async (wb: Workbench): Promise<{ origin: string }[]> => ((await (await fetch(new URL('/api/commands', wb.url))).json()) as { origin: string }[]).filter((c) => c.origin === 'page');
  assert.equal((await pageRows(live)).length, 0, 'nothing is sent before confirming');
  await page.click('#cmd-confirm-btn');
  await page.waitForSelector('#commands tr td.out-positive', WAIT);
  await waitMatch(page, '#commands tr td:nth-child(8)', 'ms');
  // (the master's own interrogation is listed too, with origin master)
  const rows = (await pageRows(live)) as unknown as { outcome: string; actConMs?: number; type: string; ioa: number; step: string }[];
  assert.equal(rows.length, 1);
  assert.equal(rows[0].outcome, 'positive');
  assert.equal(rows[0].type, 'C_DC_NA_1');
  assert.equal(rows[0].ioa, 5031);
  assert.equal(rows[0].step, 'select+execute');
  assert.ok(typeof rows[0].actConMs === 'number' && rows[0].actConMs >= 0, 'ACT_CON latency measured');
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-command.png') });
  await page.close();
});

test('read-only: the page offers no command and the API refuses one with 403', async () => {
  const page = await open(readOnly.url);
  assert.equal(await page.isDisabled('#cmd-send'), true);
  assert.match(await page.textContent('#cmd-note') ?? '', /read-only.*--ui-commands/);
  const status = await page.evaluate(async () => {
    const r = await fetch('/api/command', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ca: 1, ioa: 5031, typeId: 46, value: 2, step: 'direct' }) });
    return r.status;
  });
  assert.equal(status, 403);
  const r = await fetch(new URL('/api/command', readOnly.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"ca":1,"ioa":5031,"typeId":46,"value":2,"step":"direct"}' });
  assert.equal(r.status, 403);
  assert.match(((await r.json()) as { error: string }).error, /read-only/);
  const sent = ((await (await fetch(new URL('/api/commands', readOnly.url))).json()) as { origin: string; type: string }[]);
  // (the master's own interrogation is listed, and the other workbench's command through the same master, with origin master)
  assert.deepEqual(sent.filter((c) => c.origin !== 'master'), [], 'nothing was sent from this page');
  assert.ok(sent.some((c) => c.type === 'C_IC_NA_1'));
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-readonly.png') });
  await page.close();
});

test('decoder: a pasted frame is explained field by field with a shareable URL; a malformed one names its error', async () => {
  const page = await open(new URL('/decode', live.url).href);
  await page.fill('#hex-input', '68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00 14');
  await page.click('#decode-btn');
  await page.waitForSelector('#explain-table tbody tr', WAIT);
  const table = await page.textContent('#explain-table');
  assert.match(table ?? '', /100 C_IC_NA_1: interrogation command/);
  assert.match(await page.textContent('#decode-summary') ?? '', /C_IC_NA_1/);
  assert.match(page.url(), /\/decode\?hex=68\+0E|\/decode\?hex=68%200E/);
  // hovering a byte highlights its field's row and every byte of the field
  const typeIdByte = page.locator('#hexstrip span').nth(6);
  await typeIdByte.hover();
  await page.waitForSelector('#explain-table tr.hl', WAIT);
  assert.match(await page.textContent('#explain-table tr.hl') ?? '', /type ID/);
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-decoder.png') });
  // the shareable URL explains the same frame when opened
  const shared = await open(page.url());
  await shared.waitForSelector('#explain-table tbody tr', WAIT);
  assert.match(await shared.textContent('#explain-table') ?? '', /C_IC_NA_1/);
  await shared.close();
  // malformed: the length octet announces more than is there
  await page.fill('#hex-input', '68 0E 00 00 00 00 64');
  await page.click('#decode-btn');
  await page.waitForSelector('#decode-error', WAIT);
  assert.match(await page.textContent('#decode-error') ?? '', /^E_TRUNCATED\b.*expected 16 octets/);
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-decoder-error.png') });
  // not hex at all
  await page.fill('#hex-input', 'zz');
  await page.click('#decode-btn');
  await waitMatch(page, '#decode-error', 'not a hex digit');
  await page.close();
});

test('capture page: the inventory of a shared capture, its commands and alerts, and a clicked APDU explained', async () => {
  const page = await open(new URL('/capture', captureWb.url).href);
  assert.match(await page.textContent('#inv-masters') ?? '', /10\.20\.102\.1/);
  assert.match(await page.textContent('#inv-stations') ?? '', /10\.20\.100\.108:2404/);
  assert.match(await page.textContent('#inv-ioas') ?? '', /M_SP_NA_1/);
  assert.ok((await page.locator('#capture-commands tr').count()) > 0, 'commands listed');
  assert.match(await page.textContent('#capture-commands') ?? '', /C_SC_NA_1/);
  assert.ok((await page.locator('#alert-timeline rect').count()) > 0, 'alerts on the timeline');
  await page.click('#capture-apdus tr:has-text("C_IC_NA_1 act")');
  await page.waitForSelector('#apdu-explain #explain-table tbody tr', WAIT);
  assert.match(await page.textContent('#apdu-explain') ?? '', /interrogation command/);
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-capture.png'), fullPage: true });
  await page.close();
});

test('off loopback the token is required: 401 without it, 200 with it (header, query, and the page via the URL)', async () => {
  const wb = await startWorkbench({ host: '0.0.0.0', port: 0, station });
  try {
    assert.ok(wb.token && wb.token.length >= 16);
    const base = `http://127.0.0.1:${wb.port}`;
    assert.equal((await fetch(`${base}/api/info`)).status, 401);
    assert.equal((await fetch(`${base}/`)).status, 401);
    assert.equal((await fetch(`${base}/api/info`, { headers: { Authorization: 'Bearer wrong-token-000' } })).status, 401);
    assert.equal((await fetch(`${base}/api/info`, { headers: { Authorization: `Bearer ${wb.token}` } })).status, 200);
    assert.equal((await fetch(`${base}/api/points?token=${wb.token}`)).status, 200);
    // the printed URL carries the token; the page then works (its requests carry the cookie it got)
    const page = await open(wb.url);
    await page.waitForSelector(valueCell('1:2001'), WAIT);
    await page.close();
  } finally {
    await wb.close();
  }
});
