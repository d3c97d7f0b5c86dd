/**
 * The enforcing proxy end to end over loopback: master -> proxy -> station, real sockets, port 0.
 */
import { test } from 'node:test';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';
import { ControllingStation, NegativeConfirmationError } from '../../src/master/index.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { createStation, type StationCommand } from '../../src/station/index.js';
import { startProxy } from '../../src/monitor/proxy.js';
import type { Alert } from '../../src/monitor/types.js';
import { parseProxyArgs, runProxy } from '../../src/cli/proxy.js';
import { createLogger } from '../../src/log.js';
import { PROXY_POLICY as POLICY, STATION } from './engine-capture.js';
import { mirrorClient } from '../helpers/mirror-peer.js';

/** A loopback port nobody listens on (bound, then released). */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

test('proxy: allowed command passes, forbidden command is blocked with a negative ACT_CON, GI passes, both legs stay in sequence', async () => {
  const seen: StationCommand[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  const alerts: Alert[] = [];
  // a small window on the master leg (k = 3) exercises the queue and drain
  const proxy = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: POLICY, enforce: true, onAlert: (a) => alerts.push(a), params: { k: 3, w: 2 }, queueLimit: 4 });
  // the master acknowledges every 2 I-frames (w must stay below the proxy's k = 3)
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port), reconnect: false, requestTimeout: 3000, terminationTimeout: 3000, params: { w: 2 } });
  const lost: string[] = [];
  master.on('disconnected', (r) => lost.push(`${r.code} ${r.message}`));
  const spont: number[] = [];
  master.on('asdu', (a) => {
    if (a.cot === 3 && a.typeId === 36) for (const o of a.objects) spont.push(o.value as number);
  });
  try {
    await master.connect();
    const gi = await master.interrogation(1);
    assert.ok(gi.objects.length >= 11, `GI through the proxy: ${gi.objects.length} objects`);

    const ok = await master.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
    assert.ok(ok.rtt.actCon !== undefined);
    assert.deepEqual(seen.map((c) => [c.ioa, c.select]), [[5001, true], [5001, false]], 'the station handled the allowed select and execute');

    await assert.rejects(master.single(1, 5002, true), (e: unknown) => {
      assert.ok(e instanceof NegativeConfirmationError);
      assert.equal(e.cot, 7);
      assert.equal(e.asdu?.negative, true);
      assert.equal(e.asdu?.objects[0].ioa, 5002);
      return true;
    });
    assert.ok(!seen.some((c) => c.ioa === 5002), 'the forbidden command never reached the station: ' + JSON.stringify(seen) + JSON.stringify(alerts.map((a) => a.rule)));
    const rules = alerts.map((a) => a.rule);
    assert.ok(rules.includes('policy.command-not-allowed'), rules.join());
    const blocked = alerts.find((a) => a.rule === 'proxy.command-blocked');
    assert.ok(blocked && blocked.severity === 'high' && blocked.evidence.ioas !== undefined);
    assert.equal(proxy.stats.blocked, 1);

    // many events toward a master leg with k = 3: queued, drained, all delivered in order
    for (let i = 0; i < 40; i++) station.update(1, 2001, 200 + i);
    const deadline = Date.now() + 3000;
    while (spont.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(spont, Array.from({ length: 40 }, (_, i) => 200 + i));

    // still in sequence on both legs: another GI and command go through
    await master.interrogation(1);
    await master.double(1, 5001, 'off', { sbo: true, until: 'actterm' });
    assert.deepEqual(lost, [], 'no link error on the master leg');
    assert.equal(master.state, 'started');
    assert.ok(!rules.some((r) => r.startsWith('valid.')), rules.join());
    assert.equal(proxy.stats.open, 1);
    assert.ok(proxy.stats.toStation === 6 && proxy.stats.toMaster >= 20, JSON.stringify(proxy.stats));
    assert.equal(proxy.alertCounts()['proxy.command-blocked'], 1);
  } finally {
    await master.close();
    await proxy.close();
    await station.close();
  }
});

test('proxy: monitor-only mode forwards the forbidden command and still alerts; STOPDT is mirrored', async () => {
  const seen: number[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd.ioa) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  const alerts: Alert[] = [];
  const proxy = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: POLICY, onAlert: (a) => alerts.push(a) });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port), reconnect: false, requestTimeout: 3000 });
  try {
    await master.connect();
    await master.single(1, 5002, true);
    assert.deepEqual(seen, [5002]);
    assert.ok(alerts.some((a) => a.rule === 'policy.command-not-allowed'));
    assert.ok(!alerts.some((a) => a.rule === 'proxy.command-blocked'));
    await master.stopDataTransfer();
    const deadline = Date.now() + 2000;
    while (station.sessions().some((s) => s.isStarted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(!station.sessions().some((s) => s.isStarted), 'upstream data transfer stopped too');
  } finally {
    await master.close();
    await proxy.close();
    await station.close();
  }
});

test('proxy CLI: arguments, usage errors, and a run that writes alerts as JSON lines', async () => {
  assert.deepEqual(parseProxyArgs(['--listen', '127.0.0.1:0', '--upstream', 'rtu:2405']), { enforce: false, block: [], disabled: [], logLevel: 'warn', publish: { urls: [], records: false }, listen: { host: '127.0.0.1', port: 0 }, upstream: { host: 'rtu', port: 2405 } });
  assert.equal((parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--log-level', 'debug']) as { logLevel: string }).logLevel, 'debug');
  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--log-level', 'loud'])), /--log-level needs debug, info, warn or error/);
  assert.equal(typeof parseProxyArgs(['--upstream', 'rtu']), 'string');
  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--enforce'])), /--enforce needs --policy/);
  let err = '';
  assert.equal(await runProxy(['--bogus'], { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } }), 2);
  assert.match(err, /unknown argument/);

  const station = createStation(STATION);
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  let out = '';
  let release!: () => void;
  const running = runProxy(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${stationPort}`, '--policy', 'p.yaml', '--enforce'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => true },
    readText: () => 'version: 1\nmasters:\n  - addresses: [10.9.9.9]\n',
    stopped: async (p) => {
      const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', p.port), reconnect: false, requestTimeout: 3000 });
      await master.connect();
      await assert.rejects(master.double(1, 5001, 'on', { sbo: true }), NegativeConfirmationError);
      await master.close();
      release();
    },
  });
  await new Promise<void>((r) => (release = r));
  assert.equal(await running, 0);
  await station.close();
  const rules = out.trim().split('\n').map((l) => (JSON.parse(l) as Alert).rule);
  assert.ok(rules.includes('policy.unknown-master'), rules.join());
  assert.ok(rules.includes('proxy.command-blocked'), rules.join());
});

test('proxy with a dead upstream: STARTDT is never confirmed, the master connection is closed, a warning is logged and an alert raised', async () => {
  const port = await deadPort();
  const alerts: Alert[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
  const proxy = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port }, onAlert: (a) => alerts.push(a), logger });
  try {
    const peer = await mirrorClient(proxy.port); // sends STARTDT act at once
    const end = Date.now() + 3000;
    while (!(alerts.length > 0 && proxy.stats.open === 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(proxy.stats.open, 0, 'the master connection was closed');
    assert.equal(peer.frames.U, 0, 'no STARTDT con (nor anything else) reached the master');
    const a = alerts.find((x) => x.rule === 'proxy.upstream-unreachable');
    assert.ok(a, alerts.map((x) => x.rule).join());
    assert.equal(a.severity, 'high');
    assert.equal(a.evidence.code, 'ECONNREFUSED');
    const w = logs.find((l) => l.event === 'proxy.upstream_failed');
    assert.ok(w && w.level === 'warn');
    assert.match(String(w.msg), new RegExp(`cannot connect to the RTU 127\\.0\\.0\\.1:${port}.*without confirming STARTDT`));
    peer.close();
  } finally {
    await proxy.close();
  }
});

test('proxy CLI with a dead upstream: the warning reaches standard error and the alert standard output', async () => {
  const port = await deadPort();
  let out = '';
  let err = '';
  const code = await runProxy(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${port}`], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stopped: async (p) => {
      const peer = await mirrorClient(p.port);
      const end = Date.now() + 3000;
      while (p.stats.alerts === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.equal(peer.frames.U, 0, 'STARTDT not confirmed');
      peer.close();
    },
  });
  assert.equal(code, 0);
  assert.match(err, /WARN\s+proxy\.upstream_failed .*cannot connect to the RTU/);
  assert.equal((JSON.parse(out.trim().split('\n')[0]) as Alert).rule, 'proxy.upstream-unreachable');
  // JSON lines carry ISO 8601 UTC times, as analyze's do
  assert.match(String((JSON.parse(out.trim().split('\n')[0]) as { ts: unknown }).ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});
