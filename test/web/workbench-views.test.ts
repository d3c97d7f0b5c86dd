/**
 * The workbench's live views through its JSON API (no browser): TLS facts of station, master and
 * proxy connections over real mutual TLS (test PKI), the event queue depth of each redundancy
 * group, command latency grouped per type and point (histogram numbers, the master's own commands
 * listed once, the page's not twice), and the proxy's view: points seen passing and commands
 * forwarded or blocked with their tracked outcome and latency.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStation } from '../../src/station/station.js';
import { ControllingStation } from '../../src/master/master.js';
import { NegativeConfirmationError } from '../../src/master/errors.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { startProxy } from '../../src/monitor/proxy.js';
import { startWorkbench } from '../../src/web/server.js';
import { latencyGroups, latencyHistogram } from '../../src/web/latency.js';
import type { CommandRow, ConnectionRow, GroupRow, PointRow } from '../../src/web/model.js';
import type { TlsConfig } from '../../src/transport/tls-config.js';
import type { TestPki } from '../../src/transport/test-pki.js';
import { makePki } from '../transport/helpers.js';
import { PROXY_POLICY, STATION } from '../monitor/engine-capture.js';

let pki: TestPki;
before(async () => {
  pki = await makePki();
});

const get = async <T>(base: string, path: string): Promise<T> => (await (await fetch(new URL(path, base))).json()) as T;
/** Poll the API until `ok` holds (the workbench pushes on its flush period; nothing here sleeps for protocol time). */
async function until<T>(base: string, path: string, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get<T>(base, path);
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) assert.fail(`${path} never satisfied the condition: ${JSON.stringify(v).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('TLS facts of the station and master connections: version, suite, peer subject/issuer/fingerprint/expiry, verification', async () => {
  const stationTls: TlsConfig = { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert, crl: [pki.crl] };
  const masterTls: TlsConfig = { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert };
  const station = createStation(STATION);
  const { port } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port, { tls: masterTls }), reconnect: false });
  const wb = await startWorkbench({ port: 0, station, master, masterPeer: `127.0.0.1:${port}` });
  try {
    await master.connect();
    const rows = await until<ConnectionRow[]>(wb.url, '/api/connections', (r) => r.length === 2 && r.every((c) => c.started));
    const m = rows.find((r) => r.role === 'master')!;
    const s = rows.find((r) => r.role === 'station')!;
    for (const [row, leaf, what] of [[m, pki.leaves.server, 'the station'], [s, pki.leaves.client, 'the master']] as const) {
      const t = row.tls;
      assert.ok(t, `${row.role} row has TLS facts`);
      assert.match(t.version, /^TLSv1\.[23]$/);
      assert.ok(t.suite.length > 3, t.suite);
      assert.equal(t.peerFingerprint, leaf.fingerprint256, `the ${row.role} side shows ${what}'s certificate`);
      assert.equal(t.peerSerial, leaf.serial);
      assert.match(t.peerSubject ?? '', /CN=/);
      assert.match(t.peerIssuer ?? '', /CN=/);
      assert.ok(Date.parse(t.peerValidTo ?? '') > Date.now(), `expiry ${t.peerValidTo} in the future`);
      assert.equal(t.verified, true);
      assert.match(t.verification, /^verified: chain to a configured CA, validity dates, key size/);
    }
    assert.match(s.tls!.verification, /revocation list/, 'the station checks its CRL');
    assert.doesNotMatch(m.tls!.verification, /revocation list/, 'the master has none');
    assert.equal(s.tls!.peerSubject === m.tls!.peerSubject, false, 'each side names the other');
  } finally {
    await wb.close();
    await master.close();
    await station.close();
  }
});

test('plain TCP connections carry no TLS facts', async () => {
  const station = createStation(STATION);
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false });
  const wb = await startWorkbench({ port: 0, station, master });
  try {
    await master.connect();
    const rows = await until<ConnectionRow[]>(wb.url, '/api/connections', (r) => r.length === 2);
    assert.deepEqual(rows.map((r) => r.tls), [undefined, undefined]);
  } finally {
    await wb.close();
    await master.close();
    await station.close();
  }
});

test('queue depth per redundancy group: a group without a connection holds its events, they drain when its master connects', async () => {
  const station = createStation({
    ...STATION, points: STATION.points!.map((p) => ({ ...p, spontaneous: true })),
    redundancy: { mode: 'groups', groups: [{ name: 'control-a', allow: ['127.0.0.1'] }, { name: 'control-b', allow: ['127.0.0.2'] }] },
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const a = new ControllingStation({ connector: tcpConnector('127.0.0.1', port, { localAddress: '127.0.0.1' }), reconnect: false });
  const b = new ControllingStation({ connector: tcpConnector('127.0.0.1', port, { localAddress: '127.0.0.2' }), reconnect: false });
  const wb = await startWorkbench({ port: 0, station });
  try {
    await a.connect();
    for (let i = 0; i < 3; i++) station.update(1, 2001, 100 + i);
    // both groups got the three changes (and the end of initialisation); group a sent them, group b holds them
    const g1 = await until<GroupRow[]>(wb.url, '/api/groups', (g) => {
      const [x, y] = g;
      return x.enqueued >= 3 && x.pending === 0 && x.sent === x.enqueued && y.enqueued === x.enqueued && y.pending === y.enqueued;
    });
    const ga = g1.find((x) => x.name === 'control-a')!;
    const gb = g1.find((x) => x.name === 'control-b')!;
    assert.equal(ga.pending, 0, 'the connected group sent its events');
    assert.equal(gb.sent, 0);
    assert.equal(ga.connections.length, 1);
    assert.equal(ga.active, ga.connections[0]);
    assert.deepEqual(gb.connections, [], 'no connection in group b');
    assert.equal(gb.active, undefined);
    assert.ok(gb.capacity > 0);
    // the connections panel names the group of the connection
    const conns = await get<ConnectionRow[]>(wb.url, '/api/connections');
    assert.deepEqual(conns.map((c) => [c.group, c.active]), [['control-a', true]]);
    await b.connect();
    const g2 = await until<GroupRow[]>(wb.url, '/api/groups', (g) => g[1].pending === 0);
    assert.equal(g2[1].sent, gb.pending, 'drained once its master connected');
    assert.equal(g2[1].connections.length, 1);
    // SSE: the stream starts with the groups
    const res = await fetch(new URL('/api/events', wb.url));
    const reader = res.body!.getReader();
    let text = '';
    while (!/event: groups\ndata: (.*)\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const pushed = JSON.parse(/event: groups\ndata: (.*)\n/.exec(text)![1]) as GroupRow[];
    assert.deepEqual(pushed.map((g) => g.name), ['control-a', 'control-b']);
    await reader.cancel();
  } finally {
    await wb.close();
    await a.close();
    await b.close();
    await station.close();
  }
});

test('latency histogram: bins on round edges, a value falls in floor(v / width), both series share the edges', () => {
  const h = latencyHistogram([1, 2, 2.5, 9.9], [10, 19]);
  assert.equal(h.actCon.length, 20);
  assert.equal(h.width, 1, 'max 19 ms: ticks to 20, 20 bins of 1 ms');
  assert.equal(h.actCon[2], 2);
  assert.equal(h.actCon[9], 1);
  assert.equal(h.actTerm[19], 1);
  assert.equal(h.actCon.reduce((x, y) => x + y, 0), 4);
  const rows: CommandRow[] = [
    { id: 1, ts: 1000, ca: 1, ioa: 5, typeId: 46, type: 'C_DC_NA_1', value: 2, step: 'direct', outcome: 'positive', actConMs: 3, actTermMs: 8, origin: 'page' },
    { id: 2, ts: 2000, ca: 1, ioa: 6, typeId: 46, type: 'C_DC_NA_1', value: 1, step: 'direct', outcome: 'positive', actConMs: 5, origin: 'page' },
    { id: 3, ts: 3000, ca: 1, ioa: 5, typeId: 45, type: 'C_SC_NA_1', value: true, step: 'direct', outcome: 'negative', origin: 'page' },
  ];
  const g = latencyGroups(rows).groups;
  assert.deepEqual(g.map((x) => [x.key, x.count, x.actCon?.count ?? 0, x.actTerm?.count ?? 0]), [
    ['C_DC_NA_1', 2, 2, 1], ['C_DC_NA_1 1:5', 1, 1, 1], ['C_DC_NA_1 1:6', 1, 1, 0], ['C_SC_NA_1', 1, 0, 0], ['C_SC_NA_1 1:5', 1, 0, 0],
  ]);
  assert.equal(g[0].actCon!.max, 5);
  assert.deepEqual(g[0].samples.map((s) => [s.id, s.actConMs, s.actTermMs]), [[1, 3, 8], [2, 5, undefined]]);
});

test('latency API: the page\'s commands and the master\'s own, each once, per type and per point', async () => {
  const station = createStation(STATION);
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false });
  const wb = await startWorkbench({ port: 0, station, master, commands: true });
  try {
    await master.connect();
    const post = async (body: object): Promise<CommandRow> => {
      const r = await fetch(new URL('/api/command', wb.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 200);
      return (await r.json()) as CommandRow;
    };
    const p1 = await post({ ca: 1, ioa: 5001, typeId: 46, value: 2, step: 'sbo' });
    assert.equal(p1.outcome, 'positive');
    // the master's own program sends one (as the demo does): listed with origin master
    await master.command(50, 1, 6001, { value: 21.5 });
    const cmds = await until<CommandRow[]>(wb.url, '/api/commands', (c) => c.some((x) => x.origin === 'master'));
    assert.deepEqual(cmds.map((c) => [c.origin, c.type, c.ioa]), [['page', 'C_DC_NA_1', 5001], ['master', 'C_SE_NC_1', 6001]], 'the page\'s select+execute is not listed again');
    const master6001 = cmds[1];
    assert.equal(master6001.outcome, 'positive');
    assert.equal(typeof master6001.actConMs, 'number');
    const lat = await get<{ groups: { key: string; count: number; actCon?: { count: number }; histogram: { actCon: number[] } }[] }>(wb.url, '/api/latency');
    assert.deepEqual(lat.groups.map((g) => g.key), ['C_DC_NA_1', 'C_DC_NA_1 1:5001', 'C_SE_NC_1', 'C_SE_NC_1 1:6001']);
    for (const g of lat.groups) {
      assert.equal(g.count, 1);
      assert.equal(g.actCon?.count, 1);
      assert.equal(g.histogram.actCon.reduce((x, y) => x + y, 0), 1, 'the histogram holds the one ACT_CON');
    }
  } finally {
    await wb.close();
    await master.close();
    await station.close();
  }
});

test('proxy view over mutual TLS on both legs: both legs\' TLS facts, points passing, forwarded and blocked commands with outcome and latency', async () => {
  const station = createStation(STATION);
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert } });
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: PROXY_POLICY, enforce: true,
    listenTls: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert },
    upstreamTls: { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert },
  });
  const wb = await startWorkbench({ port: 0, proxy, flushMs: 50 });
  const master = new ControllingStation({
    connector: tcpConnector('127.0.0.1', proxy.port, { tls: { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert } }), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000,
  });
  try {
    await master.connect();
    await master.interrogation(1);
    const pts = await until<PointRow[]>(wb.url, '/api/points', (p) => p.length >= 11);
    assert.ok(pts.every((p) => p.source === 'proxy'));
    assert.equal(pts.find((p) => p.key === '1:2001')?.value, '230.5');
    station.update(1, 2001, 231.25);
    await until<PointRow[]>(wb.url, '/api/points', (p) => p.find((x) => x.key === '1:2001')?.value === '231.25');

    await master.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
    await assert.rejects(master.single(1, 5002, true), NegativeConfirmationError);
    const all = await until<CommandRow[]>(wb.url, '/api/commands', (c) => c.length === 4 && c.filter((x) => x.outcome === 'positive').length === 3);
    assert.deepEqual([all[0].type, all[0].outcome], ['C_IC_NA_1', 'positive'], 'the interrogation is tracked too');
    const cmds = all.slice(1);
    assert.deepEqual(cmds.map((c) => [c.type, c.ioa, c.step, c.outcome, c.origin]), [
      ['C_DC_NA_1', 5001, 'select', 'positive', 'proxy'], ['C_DC_NA_1', 5001, 'execute', 'positive', 'proxy'], ['C_SC_NA_1', 5002, 'execute', 'blocked', 'proxy'],
    ]);
    assert.match(cmds[2].reason ?? '', /blocked by policy\.command-not-allowed/);
    assert.match(cmds[2].peer ?? '', /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof cmds[1].actConMs, 'number');
    assert.equal(typeof cmds[1].actTermMs, 'number', 'the execute reached ACT_TERM through the proxy');

    const rows = await get<ConnectionRow[]>(wb.url, '/api/connections');
    const legs = rows.filter((r) => r.leg);
    assert.deepEqual(legs.map((r) => [r.id, r.started]), [['proxy-1 master leg', true], ['proxy-1 RTU leg', true]]);
    assert.equal(legs[0].tls?.peerFingerprint, pki.leaves.client.fingerprint256, 'master leg: the master\'s certificate');
    assert.equal(legs[1].tls?.peerFingerprint, pki.leaves.server.fingerprint256, 'RTU leg: the RTU\'s certificate');
    assert.ok(legs.every((r) => r.tls?.verified === true && /^TLSv1\.[23]$/.test(r.tls.version)));
    assert.equal(rows[0].id, 'proxy');
    assert.equal(rows[0].counters.blocked, 1);
  } finally {
    await master.close();
    await wb.close();
    await proxy.close();
    await station.close();
  }
});
