/**
 * The workbench's connection, redundancy, latency and proxy views in a real browser (Debian
 * chromium, headless, playwright-core), over real mutual TLS with the test PKI:
 * - the connection panel shows each side's TLS version and suite, the peer certificate's subject,
 *   issuer, fingerprint and expiry, and the verification result, as the API reports them;
 * - the redundancy groups table shows the event queue depth of each group;
 * - the latency histogram's bars and the trend plot's points are the API's numbers, and follow a
 *   new command live;
 * - under a proxy (TLS on both legs): the points seen passing, the forwarded and blocked commands.
 * Screenshots go to test-artifacts/. Every wait is for a condition in the page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { createStation, type ControlledStation } from '../../src/station/station.js';
import { ControllingStation } from '../../src/master/master.js';
import { NegativeConfirmationError } from '../../src/master/errors.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { startProxy, type RunningProxy } from '../../src/monitor/proxy.js';
import { startWorkbench, type Workbench } from '../../src/web/server.js';
import type { ConnectionRow, GroupRow } from '../../src/web/model.js';
import type { LatencyAnswer } from '../../src/web/latency.js';
import type { TestPki } from '../../src/transport/test-pki.js';
import { makePki } from '../transport/helpers.js';
import { PROXY_POLICY, STATION } from '../monitor/engine-capture.js';
import { ARTIFACTS, launchBrowser, waitCount, waitMatch, waitText } from './browser.js';
import type { BrowserContext } from 'playwright-core';

const WAIT = { timeout: 20000 };
let pki: TestPki;
let station: ControlledStation;
let master: ControllingStation;
let wb: Workbench;
let rtu: ControlledStation;
let proxy: RunningProxy;
let proxyWb: Workbench;
let proxied: ControllingStation;
let browser: { context: BrowserContext; close(): Promise<void> };

const api = async <T>(base: string, path: string): Promise<T> => (await (await fetch(new URL(path, base))).json()) as T;

before(async () => {
  pki = await makePki();
  const server = { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert };
  const client = { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert };
  // a station over mutual TLS with two redundancy groups; only group control-a has a master
  station = createStation({
    ...STATION, points: STATION.points!.map((p) => ({ ...p, spontaneous: true })),
    redundancy: { mode: 'groups', groups: [{ name: 'control-a', allow: ['127.0.0.1'] }, { name: 'control-b', allow: ['127.0.0.2'] }] },
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0, tls: { ...server, crl: [pki.crl] } });
  master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port, { tls: client, localAddress: '127.0.0.1' }), reconnect: false, pointImage: true });
  wb = await startWorkbench({ port: 0, station, master, commands: true, masterPeer: `127.0.0.1:${port}`, title: 'TLS station', flushMs: 100 });
  await master.connect();

  // an RTU behind the enforcing proxy, TLS on both legs
  rtu = createStation(STATION);
  const { port: rtuPort } = await rtu.listen({ host: '127.0.0.1', port: 0, tls: server });
  proxy = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: rtuPort }, policy: PROXY_POLICY, enforce: true, listenTls: server, upstreamTls: client,
    onAlert: (a) => proxyWb?.addAlert(a) }); // as iec104 proxy --ui does
  proxyWb = await startWorkbench({ port: 0, proxy, title: 'proxy', flushMs: 100 });
  proxied = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port, { tls: client }), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000 });
  await proxied.connect();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all([wb?.close(), proxyWb?.close()]);
  await Promise.all([master?.close(), proxied?.close()]);
  await proxy?.close();
  await Promise.all([station?.close(), rtu?.close()]);
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

test('connection panel: TLS version, suite, peer subject/issuer/fingerprint/expiry and verification of both sides; queue depth per redundancy group', async () => {
  const page = await open(wb.url);
  const conn = (role: string, cls: string): string => `#connections .conn[data-role="${role}"] dd.${cls}`;
  await waitText(page, conn('master', 'tls-fingerprint'), pki.leaves.server.fingerprint256);
  await waitText(page, conn('station', 'tls-fingerprint'), pki.leaves.client.fingerprint256);
  const rows = await api<ConnectionRow[]>(wb.url, '/api/connections');
  for (const role of ['master', 'station']) {
    const t = rows.find((r) => r.role === role)!.tls!;
    assert.equal(await page.textContent(conn(role, 'tls-session')), `${t.version} · ${t.suite}${t.standardName ? ` (${t.standardName})` : ''}${t.resumed ? ' · resumed' : ''}`);
    assert.match(t.version, /^TLSv1\.[23]$/);
    assert.equal(await page.textContent(conn(role, 'tls-subject')), t.peerSubject);
    assert.equal(await page.textContent(conn(role, 'tls-issuer')), t.peerIssuer);
    assert.match(await page.textContent(conn(role, 'tls-expiry')) ?? '', new RegExp(`^${t.peerValidTo!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(in \\d+ days\\)$`));
    assert.equal(await page.textContent(conn(role, 'tls-verification.ok')), t.verification);
    assert.match(t.verification, /^verified: chain to a configured CA/);
  }
  // events for both groups; only control-a has a connection: control-b's queue holds them
  for (let i = 0; i < 3; i++) station.update(1, 2002, 50 + i / 100);
  let groups: GroupRow[] = [];
  for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 20))) {
    groups = await api<GroupRow[]>(wb.url, '/api/groups');
    if (groups[1].pending >= 3 && groups[0].pending === 0) break;
    assert.ok(Date.now() - t0 < 10000, `groups never settled: ${JSON.stringify(groups)}`);
  }
  await waitText(page, '#groups tr[data-group="control-b"] td.q-pending', String(groups[1].pending));
  assert.equal(await page.textContent('#groups tr[data-group="control-a"] td.q-pending'), '0');
  assert.match(await page.textContent('#groups tr[data-group="control-a"]') ?? '', /control-a/);
  assert.equal(await page.textContent('#groups tr[data-group="control-b"] td:nth-child(2)'), '—', 'no connection in control-b');
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-tls.png'), fullPage: true });
  await page.close();
});

/** The bars and points drawn for the chosen group, read from the page. */
interface Drawn {
  group: string;
  max: number;
  bars: { series: string; bin: number; n: number; height: number }[];
  points: { series: string; id: number; v: number }[];
}

test('latency histogram and trend: bars and points are the API\'s numbers, per type and point, and follow a new command live', async () => {
  const post = async (): Promise<void> => {
    const r = await fetch(new URL('/api/command', wb.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ca: 1, ioa: 5001, typeId: 46, value: 2, step: 'sbo' }) });
    assert.equal(r.status, 200);
  };
  for (let i = 0; i < 3; i++) await post();
  await master.command(50, 1, 6001, { value: 20.5 }); // the master's own command: another group
  const page = await open(wb.url);
  await page.waitForSelector('#latency-group option[value="C_DC_NA_1 1:5001"]', { ...WAIT, state: 'attached' });
  await page.selectOption('#latency-group', 'C_DC_NA_1 1:5001');
  await page.waitForSelector('#latency[data-group="C_DC_NA_1 1:5001"][data-drawn="3"]', WAIT);
  const read = (): Promise<Drawn> => page.evaluate(`(() => {
    const hist = document.querySelector('#latency-hist');
    return {
      group: document.querySelector('#latency').dataset.group,
      max: Number(hist.dataset.max),
      bars: [...hist.querySelectorAll('rect[data-series]')].map((r) => ({ series: r.dataset.series, bin: Number(r.dataset.bin), n: Number(r.dataset.n), height: Number(r.getAttribute('height')) })),
      points: [...document.querySelectorAll('#latency-trend circle[data-series]')].map((c) => ({ series: c.dataset.series, id: Number(c.dataset.id), v: Number(c.dataset.v) })),
    };
  })()`) as Promise<Drawn>;
  const check = async (count: number): Promise<void> => {
    const drawn = await read();
    const g = (await api<LatencyAnswer>(wb.url, '/api/latency')).groups.find((x) => x.key === 'C_DC_NA_1 1:5001')!;
    assert.equal(g.count, count);
    for (const series of ['actCon', 'actTerm'] as const) {
      const bins = g.histogram[series];
      const bars = drawn.bars.filter((b) => b.series === series);
      assert.deepEqual(bars.map((b) => [b.bin, b.n]), bins.flatMap((n, bin) => (n ? [[bin, n]] : [])), `${series}: one bar per non-empty bin, with the API's count`);
      assert.equal(bars.reduce((s, b) => s + b.n, 0), g[series]!.count);
      // heights proportional to the counts (plot height 170 = B - T of the page's geometry)
      for (const b of bars) assert.ok(Math.abs(b.height - (b.n / drawn.max) * 170) < 0.02, `bar height ${b.height} for ${b.n} of ${drawn.max}`);
      const pts = drawn.points.filter((p) => p.series === series);
      const want = g.samples.filter((s) => s[`${series}Ms`] !== undefined).map((s) => [s.id, s[`${series}Ms`]]);
      assert.deepEqual(pts.map((p) => [p.id, p.v]), want, `${series}: one point per command, its latency`);
    }
    assert.equal(drawn.max, Math.max(...g.histogram.actCon, ...g.histogram.actTerm));
    assert.match(await page.textContent('#latency-stats') ?? '', new RegExp(`^C_DC_NA_1 1:5001: ${count} commands; ACT_CON n=${count} p50 ${g.actCon!.p50} `));
  };
  await check(3);
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-latency.png') });
  // live: one more command from elsewhere (the API, as a script would) is drawn without a reload
  await post();
  await page.waitForSelector('#latency[data-drawn="4"]', WAIT);
  await waitCount(page, '#latency-trend circle[data-series="actCon"]', 4);
  await check(4);
  // the other group (the master's own set-point) is offered too
  assert.ok((await page.locator('#latency-group option[value="C_SE_NC_1 1:6001"]').count()) === 1);
  await page.close();
});

test('proxy --ui: points seen passing, commands forwarded and blocked, both legs\' TLS', async () => {
  await proxied.interrogation(1);
  await proxied.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
  await assert.rejects(proxied.single(1, 5002, true), NegativeConfirmationError);
  const page = await open(proxyWb.url);
  await page.waitForSelector('#points .vrow[data-key="1:2001"]', WAIT);
  rtu.update(1, 2001, 233.5);
  await waitText(page, '#points .vrow[data-key="1:2001"] div:nth-child(5)', '233.5');
  await waitMatch(page, '#points-count', '^11 of 11$');
  await page.waitForSelector('#commands td.out-blocked', WAIT);
  const blocked = await page.textContent('#commands tr:has(td.out-blocked)');
  assert.match(blocked ?? '', /C_SC_NA_1.*5002.*blocked.*blocked by policy\.command-not-allowed.*proxy 127\.0\.0\.1:\d+/);
  await waitCount(page, '#commands td.out-positive', 3); // the GI, the select and the execute, forwarded and confirmed
  await waitMatch(page, '#commands tr[data-step="execute"][data-outcome="positive"] td:nth-child(9)', 'ms'); // ACT_TERM latency of the execute
  await waitText(page, '#connections .conn[data-id="proxy-1 master leg"] dd.tls-fingerprint', pki.leaves.client.fingerprint256);
  await waitText(page, '#connections .conn[data-id="proxy-1 RTU leg"] dd.tls-fingerprint', pki.leaves.server.fingerprint256);
  await waitMatch(page, '#alerts', 'proxy\\.command-blocked');
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-proxy.png'), fullPage: true });
  await page.close();
});

test('trend: a point picked in the table plots the values the page receives for it, live', async () => {
  const page = await open(wb.url);
  station.update(1, 2002, 49.5);
  const cell = '#points .vrow[data-key="1:2002"] div:nth-child(5)';
  await waitText(page, cell, '49.5');
  await page.click('#points .vrow[data-key="1:2002"]');
  await page.waitForSelector('#trend[data-key="1:2002"][data-samples="1"]', WAIT);
  assert.match(await page.textContent('#trend-title') ?? '', /^CA 1 IOA 2002 \(M_ME_[A-Z]{2}_1\)$/);
  const values = [50.25, 49.75, 51];
  for (const v of values) {
    station.update(1, 2002, v);
    await waitText(page, cell, String(v));
  }
  await page.waitForSelector(`#trend[data-samples="${values.length + 1}"]`, WAIT);
  const drawn = (await page.evaluate(`[...document.querySelectorAll('#value-trend circle')].map((c) => [Number(c.dataset.v), Number(c.getAttribute('cy'))])`)) as [number, number][];
  assert.deepEqual(drawn.map(([v]) => v), [49.5, ...values], 'one point per value received, in order');
  // higher values are drawn higher (smaller y), the lowest at the bottom of the plot
  const byValue = [...drawn].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < byValue.length; i++) assert.ok(byValue[i][1] < byValue[i - 1][1], `y of ${byValue[i][0]} above y of ${byValue[i - 1][0]}`);
  await page.screenshot({ path: join(ARTIFACTS, 'workbench-trend.png'), fullPage: true });
  await page.close();
});
