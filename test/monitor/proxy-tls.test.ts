/**
 * The enforcing proxy with mutual TLS on both legs, over loopback (port 0), with the test PKI:
 * master --TLS--> proxy --TLS--> station. An allowed command goes through, a forbidden one is
 * blocked; a master without a valid certificate is refused by the proxy (alert, no upstream
 * connection); an RTU whose certificate the proxy does not trust is refused too; CLI flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { ControllingStation, NegativeConfirmationError } from '../../src/master/index.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { createStation, type StationCommand } from '../../src/station/index.js';
import { startProxy } from '../../src/monitor/proxy.js';
import type { Alert } from '../../src/monitor/types.js';
import { parseProxyArgs, runProxy } from '../../src/cli/proxy.js';
import type { TlsConfig } from '../../src/transport/tls-config.js';
import { parsePolicy } from '../../src/monitor/policy.js';
import { createLogger } from '../../src/log.js';
import { makePki, waitFor } from '../transport/helpers.js';
import { PROXY_POLICY as POLICY, STATION } from './engine-capture.js';

const pki = await makePki();


const stationTls: TlsConfig = { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert };
const proxyServerTls: TlsConfig = { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert, crl: [pki.crl] };
const proxyClientTls: TlsConfig = { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert };
const masterTls: TlsConfig = { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert };

test('proxy over mutual TLS on both legs: allowed command passes, forbidden command is blocked', async () => {
  const seen: StationCommand[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  const alerts: Alert[] = [];
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: POLICY, enforce: true, onAlert: (a) => alerts.push(a),
    listenTls: proxyServerTls, upstreamTls: proxyClientTls,
  });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port, { tls: masterTls }), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000 });
  try {
    await master.connect();
    const gi = await master.interrogation(1);
    assert.ok(gi.objects.length >= 11, `GI through the TLS proxy: ${gi.objects.length} objects`);

    await master.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
    assert.deepEqual(seen.map((c) => [c.ioa, c.select]), [[5001, true], [5001, false]], 'the station handled the allowed select and execute');

    await assert.rejects(master.single(1, 5002, true), (e: unknown) => {
      assert.ok(e instanceof NegativeConfirmationError);
      assert.equal(e.cot, 7);
      assert.equal(e.asdu?.negative, true);
      return true;
    });
    assert.ok(!seen.some((c) => c.ioa === 5002), 'the forbidden command never reached the station');
    const rules = alerts.map((a) => a.rule);
    assert.ok(rules.includes('policy.command-not-allowed'), rules.join());
    assert.ok(rules.includes('proxy.command-blocked'), rules.join());
    assert.ok(!rules.some((r) => r.endsWith('-refused')), rules.join());
    assert.equal(proxy.stats.blocked, 1);
    assert.equal(proxy.stats.refused, 0);
    // both legs really are TLS sessions
    const sessions = station.sessions();
    assert.equal(sessions.length, 1);
  } finally {
    await master.close();
    await proxy.close();
    await station.close();
  }
});

test('proxy with --listen TLS refuses a master without a valid certificate: security event, alert, no upstream connection', async () => {
  const station = createStation(STATION);
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  const alerts: Alert[] = [];
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: POLICY, enforce: true, onAlert: (a) => alerts.push(a),
    listenTls: proxyServerTls, upstreamTls: proxyClientTls,
  });
  try {
    // 1. no client certificate at all
    const raw = tls.connect({ host: '127.0.0.1', port: proxy.port, ca: readFileSync(pki.ca.cert), servername: 'localhost' });
    raw.on('error', () => {});
    await waitFor(() => proxy.security.count('E_TLS_NO_CLIENT_CERT') === 1);
    raw.destroy();

    // 2. a certificate of another CA
    const other = new ControllingStation({
      connector: tcpConnector('127.0.0.1', proxy.port, { tls: { cert: pki.leaves.otherClient.cert, key: pki.leaves.otherClient.key, ca: pki.ca.cert } }),
      reconnect: false, requestTimeout: 2000,
    });
    await other.connect().then(() => other.interrogation(1)).then(
      () => assert.fail('a master with a certificate of another CA got through'),
      () => undefined,
    );
    await other.close();
    await waitFor(() => proxy.stats.refused >= 2);

    // 3. a revoked certificate (the proxy's listener has the CRL)
    const revoked = tls.connect({ host: '127.0.0.1', port: proxy.port, ca: readFileSync(pki.ca.cert), servername: 'localhost', cert: readFileSync(pki.leaves.revoked.cert), key: readFileSync(pki.leaves.revoked.key) });
    revoked.on('error', () => {});
    await waitFor(() => proxy.stats.refused >= 3);
    revoked.destroy();

    const refused = alerts.filter((a) => a.rule === 'proxy.tls-refused');
    assert.equal(refused.length, 3, JSON.stringify(alerts));
    for (const a of refused) {
      assert.equal(a.severity, 'high');
      assert.equal(a.evidence.side, 'server');
      assert.match(String(a.evidence.code), /^E_TLS_/);
      assert.match(a.src, /^127\.0\.0\.1:\d+$/);
    }
    assert.equal(refused[0].evidence.code, 'E_TLS_NO_CLIENT_CERT');
    assert.ok(refused.some((a) => a.evidence.code === 'E_TLS_REVOKED'), JSON.stringify(refused.map((a) => a.evidence.code)));
    assert.equal(proxy.stats.connections, 0, 'no master session');
    assert.equal(station.sessions().length, 0, 'no upstream connection was opened');
  } finally {
    await proxy.close();
    await station.close();
  }
});

test('proxy with upstream TLS refuses an RTU certificate it does not trust: alert, the master session is closed', async () => {
  const station = createStation(STATION);
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  const alerts: Alert[] = [];
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, onAlert: (a) => alerts.push(a),
    listenTls: proxyServerTls,
    // trusts only the other CA: the station's certificate is refused
    upstreamTls: { ...proxyClientTls, ca: pki.otherCa.cert },
  });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port, { tls: masterTls }), reconnect: false, requestTimeout: 2000 });
  const lost: string[] = [];
  master.on('disconnected', (r) => lost.push(r.code));
  try {
    await master.connect().catch(() => undefined);
    await waitFor(() => alerts.some((a) => a.rule === 'proxy.tls-refused'));
    const a = alerts.find((x) => x.rule === 'proxy.tls-refused')!;
    assert.equal(a.evidence.side, 'client');
    assert.equal(a.dst, `127.0.0.1:${stationPort}`);
    await waitFor(() => proxy.stats.open === 0);
  } finally {
    await master.close();
    await proxy.close();
    await station.close();
  }
});

test('proxy CLI: TLS flags of both legs, usage errors naming the flag, unusable files', async () => {
  const a = parseProxyArgs([
    '--listen', '127.0.0.1:0', '--upstream', 'rtu',
    '--listen-tls', '--listen-cert', 's.crt', '--listen-key', 's.key', '--listen-ca', 'm.crt', '--listen-crl', 'm.crl', '--listen-peer-cert', 'AA:BB',
    '--upstream-tls', '--upstream-cert', 'c.crt', '--upstream-key', 'c.key', '--upstream-ca', 'r.crt', '--upstream-ca', 'r2.crt', '--upstream-servername', 'rtu.example',
  ]);
  assert.ok(typeof a !== 'string', String(a));
  assert.deepEqual(a.listenTls, { cert: 's.crt', key: 's.key', ca: ['m.crt'], crl: ['m.crl'], peerCertificates: ['AA:BB'] });
  assert.deepEqual(a.upstreamTls, { cert: 'c.crt', key: 'c.key', ca: ['r.crt', 'r2.crt'], servername: 'rtu.example' });
  assert.deepEqual(a.upstream, { host: 'rtu', port: 19998 }, 'default TLS port upstream');
  const plain = parseProxyArgs(['--listen', '2404', '--upstream', 'rtu']);
  assert.ok(typeof plain !== 'string' && plain.upstream.port === 2404 && plain.listenTls === undefined && plain.upstreamTls === undefined);

  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--listen-cert', 'x'])), /--listen-cert needs --listen-tls/);
  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--upstream-ca', 'x', '--upstream-key', 'k'])), /--upstream-key, --upstream-ca need --upstream-tls/);
  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--listen-tls', '--listen-cert', 'x'])), /--listen-tls needs --listen-key, --listen-ca/);
  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--upstream-tls'])), /--upstream-tls needs --upstream-cert, --upstream-key, --upstream-ca/);
  assert.match(String(parseProxyArgs(['--listen', '2404', '--upstream', 'rtu', '--upstream-cert'])), /--upstream-cert needs a file/);

  let err = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } };
  assert.equal(await runProxy(['--listen', '127.0.0.1:0', '--upstream', 'rtu', '--listen-tls', '--listen-cert', '/nonexistent.crt', '--listen-key', '/nonexistent.key', '--listen-ca', pki.ca.cert], io), 2);
  assert.match(err, /--listen-tls: /);
});

test('proxy CLI over TLS: a run with both legs TLS blocks a command and reports it', async () => {
  const station = createStation(STATION);
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  let out = '';
  let errText = '';
  let release!: () => void;
  const running = runProxy([
    '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${stationPort}`, '--policy', 'p.yaml', '--enforce',
    '--listen-tls', '--listen-cert', pki.leaves.server.cert, '--listen-key', pki.leaves.server.key, '--listen-ca', pki.ca.cert,
    '--upstream-tls', '--upstream-cert', pki.leaves.client.cert, '--upstream-key', pki.leaves.client.key, '--upstream-ca', pki.ca.cert,
  ], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (errText += s) },
    readText: () => 'version: 1\nmasters:\n  - addresses: [10.9.9.9]\n',
    stopped: async (p) => {
      try {
        const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', p.port, { tls: masterTls }), reconnect: false, requestTimeout: 5000 });
        await master.connect();
        await assert.rejects(master.double(1, 5001, 'on', { sbo: true }), NegativeConfirmationError);
        await master.close();
      } finally {
        release();
      }
    },
  });
  await new Promise<void>((r) => (release = r));
  assert.equal(await running, 0);
  await station.close();
  assert.match(errText, /\(TLS\) -> 127\.0\.0\.1:\d+ \(TLS\)/);
  const rules = out.trim().split('\n').map((l) => (JSON.parse(l) as Alert).rule);
  assert.ok(rules.includes('proxy.command-blocked'), rules.join());
});

// ---------------------------------------------------------------------------------------------
// certificateSubjects of the policy, enforced with the master's verified certificate

const SUBJECT_POLICY = parsePolicy(`
version: 1
masters:
  - name: scada
    addresses: [127.0.0.1, "::1"]
    certificateSubjects: ["CN=iec104 client"]
    allow:
      - types: [C_DC_NA_1]
        ca: [1]
        ioa: 5001
      - types: [system]
`);

/** Same CA as the allowed client, so TLS succeeds, but subject `CN=iec104 server, O=iec104 test PKI` (its EKU includes clientAuth). */
const otherSubjectTls: TlsConfig = { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert };

test('proxy enforces certificateSubjects: the allowed subject gets its command through, another subject of the same CA is refused', async () => {
  const seen: StationCommand[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  const alerts: Alert[] = [];
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: SUBJECT_POLICY, enforce: true, onAlert: (a) => alerts.push(a),
    listenTls: proxyServerTls, upstreamTls: proxyClientTls,
  });
  const good = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port, { tls: masterTls }), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000 });
  const other = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxy.port, { tls: otherSubjectTls }), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000 });
  try {
    // CN=iec104 client: allowed
    await good.connect();
    const gi = await good.interrogation(1);
    assert.ok(gi.objects.length >= 11);
    await good.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
    assert.deepEqual(seen.map((c) => [c.ioa, c.select]), [[5001, true], [5001, false]]);
    assert.deepEqual(alerts.map((a) => a.rule), [], 'no alert for the allowed subject');

    // CN=iec104 server: the TLS handshake succeeds (same CA), the policy refuses every command
    await other.connect();
    const negative = (e: unknown): boolean => {
      assert.ok(e instanceof NegativeConfirmationError, String(e));
      assert.equal(e.cot, 7);
      assert.equal(e.asdu?.negative, true);
      return true;
    };
    await assert.rejects(other.interrogation(1), negative);
    await assert.rejects(other.double(1, 5001, 'off', { sbo: true }), negative);
    assert.deepEqual(seen.map((c) => [c.ioa, c.select]), [[5001, true], [5001, false]], 'the RTU never saw a command of the refused subject');

    const subj = alerts.filter((a) => a.rule === 'policy.certificate-subject');
    assert.equal(subj.length, 1, `one alert for the connection: ${JSON.stringify(alerts)}`);
    assert.equal(subj[0].severity, 'high');
    assert.equal(subj[0].mitre, 'T0859');
    assert.match(String(subj[0].evidence.peerSubject), /CN=iec104 server/);
    assert.match(subj[0].src, /^127\.0\.0\.1:\d+$/);
    const blocked = alerts.filter((a) => a.rule === 'proxy.command-blocked');
    assert.deepEqual(blocked.map((a) => a.evidence.typeId), [100, 46], 'one refusal per command');
    assert.ok(blocked.every((a) => a.evidence.flow === subj[0].evidence.flow));
    const notAllowed = alerts.filter((a) => a.rule === 'policy.command-not-allowed');
    assert.ok(notAllowed.length === 2 && notAllowed.every((a) => a.evidence.reason === 'certificate subject not allowed'), JSON.stringify(notAllowed));
    assert.equal(proxy.stats.blocked, 2);
    assert.equal(proxy.stats.refused, 0, 'not a TLS refusal');
  } finally {
    await good.close();
    await other.close();
    await proxy.close();
    await station.close();
  }
});

test('proxy with certificateSubjects: monitor-only forwards and alerts; a plain TCP master leg has no subject and is refused with enforce', async () => {
  const seen: StationCommand[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0, tls: stationTls });
  const alerts: Alert[] = [];
  const monitor = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: SUBJECT_POLICY, onAlert: (a) => alerts.push(a),
    listenTls: proxyServerTls, upstreamTls: proxyClientTls,
  });
  const warnings: string[] = [];
  const logger = createLogger({ write: (l) => void warnings.push(l) });
  const plain = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: SUBJECT_POLICY, enforce: true, onAlert: (a) => alerts.push(a),
    upstreamTls: proxyClientTls, logger,
  });
  const other = new ControllingStation({ connector: tcpConnector('127.0.0.1', monitor.port, { tls: otherSubjectTls }), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000 });
  const noCert = new ControllingStation({ connector: tcpConnector('127.0.0.1', plain.port), reconnect: false, requestTimeout: 5000, terminationTimeout: 5000 });
  try {
    assert.ok(warnings.some((l) => l.includes('proxy.subjects_without_tls')), warnings.join('\n'));
    await other.connect();
    await other.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
    assert.equal(seen.length, 2, 'monitor only: forwarded');
    assert.deepEqual(alerts.filter((a) => a.rule === 'policy.certificate-subject').length, 1);
    assert.ok(!alerts.some((a) => a.rule === 'proxy.command-blocked'));

    alerts.length = 0;
    await noCert.connect();
    await assert.rejects(noCert.double(1, 5001, 'off', { sbo: true }), NegativeConfirmationError);
    assert.equal(seen.length, 2, 'the RTU never saw the command');
    const subj = alerts.filter((a) => a.rule === 'policy.certificate-subject');
    assert.equal(subj.length, 1, JSON.stringify(alerts));
    assert.equal(subj[0].evidence.peerSubject, null);
    assert.ok(alerts.some((a) => a.rule === 'proxy.command-blocked'));
  } finally {
    await other.close();
    await noCert.close();
    await monitor.close();
    await plain.close();
    await station.close();
  }
});

test('proxy CLI: a policy with certificateSubjects without --listen-tls gets a warning', async () => {
  let errText = '';
  const code = await runProxy(['--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--policy', 'p.yaml'], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (errText += s) },
    readText: () => 'masters:\n  - addresses: [127.0.0.1]\n    certificateSubjects: ["CN=scada-a"]\n',
    stopped: async () => undefined,
  });
  assert.equal(code, 0);
  assert.match(errText, /warning: the policy names certificateSubjects but --listen-tls is not set/);
});
