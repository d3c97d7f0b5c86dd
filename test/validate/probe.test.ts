import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { VirtualClock } from '../../src/clock.js';
import { listenTcp } from '../../src/transport/tcp-link.js';
import { createTestPki } from '../../src/transport/test-pki.js';
import { UsageError, tlsArgs } from '../../src/cli/args.js';
import { ConnectFailure } from '../../src/validate/connection.js';
import { diagnoseConnectFailure, formatProbe, probe, PROBE_EXIT_CODES } from '../../src/validate/probe.js';
import { startFakeStation } from './fake-station.js';

const LOOP = '127.0.0.1';

function listen(handler: (s: net.Socket) => void): Promise<{ server: net.Server; port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    handler(s);
  });
  return new Promise((res) => server.listen(0, LOOP, () => res({ server, port: (server.address() as net.AddressInfo).port, sockets })));
}
function shut(x: { server: net.Server; sockets: Set<net.Socket> }): Promise<void> {
  for (const s of x.sockets) s.destroy();
  return new Promise((res) => x.server.close(() => res()));
}

test('probe: a closed port is diagnosed as refused (exit 3)', async () => {
  const x = await listen(() => {});
  const port = x.port;
  await shut(x); // the port is free now: nothing listens
  const r = await probe({ target: { host: LOOP, port }, t0: 2000, t1: 500 });
  assert.equal(r.outcome, 'refused');
  assert.equal(r.exitCode, 3);
  assert.equal(r.errorCode, 'ECONNREFUSED');
  assert.match(r.diagnosis ?? '', /not running|wrong/);
  assert.deepEqual(r.steps.map((s) => [s.step, s.status]), [['connect', 'failed'], ['startdt', 'skipped'], ['testfr', 'skipped']]);
  assert.match(formatProbe(r), /FAIL connect/);
});

test('probe: a listener that destroys every connection is "closed after accept" (exit 8)', async () => {
  const x = await listen((s) => s.destroy());
  try {
    const r = await probe({ target: { host: LOOP, port: x.port }, t0: 2000, t1: 2000 });
    assert.equal(r.outcome, 'closed-after-accept');
    assert.equal(r.exitCode, PROBE_EXIT_CODES['closed-after-accept']);
    assert.equal(r.steps[0].status, 'ok');
    assert.equal(r.steps[1].step, 'startdt');
    assert.equal(r.steps[1].status, 'failed');
    assert.ok((r.steps[1].ms ?? 99999) < 2000, 'the close is noticed before t1 runs out');
    assert.match(r.diagnosis ?? '', /source address|masters/);
  } finally {
    await shut(x);
  }
});

test('probe: an SSH server is "not IEC 104" (exit 12), at once, with its banner', async () => {
  const x = await listen((s) => {
    s.write('SSH-2.0-OpenSSH_9.2\r\n');
    s.on('data', () => {
      s.end('Invalid SSH identification string.\r\n');
    });
  });
  try {
    const r = await probe({ target: { host: LOOP, port: x.port }, t0: 2000, t1: 10_000 });
    assert.equal(r.outcome, 'not-iec104');
    assert.equal(r.exitCode, 12);
    assert.match(r.diagnosis ?? '', /^this is not IEC 104: the service sent "SSH-2\.0-OpenSSH_9\.2\\r\\n.*", which looks like an SSH server/);
    assert.ok((r.steps.find((s) => s.step === 'startdt')?.ms ?? Infinity) < 5000, 'not after t1');
    assert.match(formatProbe(r), /FAIL startdt .*not IEC 104: "SSH-2\.0-OpenSSH_9\.2/);
  } finally {
    await shut(x);
  }
});

test('probe: a service answering STARTDT with text (an HTTP error page) is "not IEC 104"', async () => {
  const x = await listen((s) => s.once('data', () => s.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
  try {
    const r = await probe({ target: { host: LOOP, port: x.port }, t0: 2000, t1: 10_000 });
    assert.equal(r.outcome, 'not-iec104');
    assert.match(r.diagnosis ?? '', /looks like a web \(HTTP\) server/);
  } finally {
    await shut(x);
  }
});

test('probe: a silent listener gives "no STARTDT con" after t1 (exit 9)', async () => {
  const x = await listen(() => {}); // accepts, reads nothing, answers nothing
  try {
    const r = await probe({ target: { host: LOOP, port: x.port }, t0: 2000, t1: 150 });
    assert.equal(r.outcome, 'no-startdt-con');
    assert.equal(r.exitCode, 9);
    assert.ok((r.steps[1].ms ?? 0) >= 140);
    assert.match(r.diagnosis ?? '', /wrong role|busy|stand-by/);
  } finally {
    await shut(x);
  }
});

test('probe: a connection that never completes times out after t0 (injected stream, virtual clock)', async () => {
  // The exact t0 boundary on a virtual clock, with a stream that never connects (the real-socket
  // variant with a listener that never accepts is the last test of this file).
  const clock = new VirtualClock();
  const p = probe({ target: { host: '192.0.2.1', port: 2404 }, t0: 3000, clock, connect: () => new PassThrough() });
  await new Promise((r) => setImmediate(r));
  clock.advance(2999);
  let settled = false;
  void p.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'still connecting before t0');
  clock.advance(1);
  const r = await p;
  assert.equal(r.outcome, 'timeout');
  assert.equal(r.exitCode, 4);
  assert.equal(r.errorCode, 'E_T0_TIMEOUT');
  assert.match(r.diagnosis ?? '', /firewall/);
  assert.equal(r.steps[0].ms, 3000);
});

test('probe: unreachable and DNS errors have their own outcomes', async () => {
  const unreachable = () => {
    const s = new PassThrough();
    setImmediate(() => s.emit('error', Object.assign(new Error('connect EHOSTUNREACH 192.0.2.1:2404'), { code: 'EHOSTUNREACH' })));
    return s;
  };
  const r = await probe({ target: { host: '192.0.2.1', port: 2404 }, t0: 1000, connect: unreachable });
  assert.equal(r.outcome, 'unreachable');
  assert.equal(r.exitCode, 5);
  assert.match(r.diagnosis ?? '', /routing|route/);
  const d = diagnoseConnectFailure(new ConnectFailure('tcp', 'ENOTFOUND', 'getaddrinfo ENOTFOUND rtu.example', 3), 1000);
  assert.equal(d.outcome, 'dns');
  const tlsv = diagnoseConnectFailure(new ConnectFailure('tls', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tlsv1 alert protocol version', 3), 1000);
  assert.match(tlsv.diagnosis, /version/);
  const cipher = diagnoseConnectFailure(new ConnectFailure('tls', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'sslv3 alert handshake failure', 3), 1000);
  assert.match(cipher.diagnosis, /cipher/);
});

test('probe: a working station passes every step and the interrogation counts its objects', async () => {
  const st = await startFakeStation({ singlePoints: [1, 2, 3, 4, 5] });
  try {
    const r = await probe({ target: { host: LOOP, port: st.port }, t0: 2000, t1: 1000, interrogation: { ca: 1, timeout: 2000 } });
    assert.equal(r.outcome, 'ok', r.diagnosis);
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.steps.map((s) => s.status), ['ok', 'ok', 'ok', 'ok']);
    assert.equal(r.interrogation?.objects, 5);
    assert.deepEqual(r.interrogation?.byType, { M_SP_NA_1: 5 });
    const bad = await probe({ target: { host: LOOP, port: st.port }, t0: 2000, t1: 1000, interrogation: { ca: 9, timeout: 1000 } });
    assert.equal(bad.outcome, 'interrogation-failed');
    assert.equal(bad.exitCode, 11);
    assert.match(bad.diagnosis ?? '', /common address 9 is unknown/);
  } finally {
    await st.close();
  }
});

test('probe: TLS handshake details, and a certificate failure with its reason (exit 7)', async () => {
  const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'iec104-probe-pki-')));
  const srv = await listenTcp(
    { host: LOOP, port: 0, link: { role: 'controlled' }, tls: { cert: readFileSync(pki.leaves.server.cert), key: readFileSync(pki.leaves.server.key), ca: readFileSync(pki.ca.cert), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' } },
    (c) => {
      c.bind({ asdu: () => {}, close: () => {} });
    },
  );
  try {
    const client = { cert: readFileSync(pki.leaves.client.cert), key: readFileSync(pki.leaves.client.key) };
    const ok = await probe({ target: { host: LOOP, port: srv.port }, t0: 3000, t1: 1000, tls: { ...client, ca: readFileSync(pki.ca.cert) } });
    assert.equal(ok.outcome, 'ok', ok.diagnosis);
    const tlsStep = ok.steps.find((s) => s.step === 'tls');
    assert.equal(tlsStep?.status, 'ok');
    assert.match(ok.tls?.protocol ?? '', /^TLSv1\.[23]$/);
    assert.ok(ok.tls?.peerSubject, 'the station certificate subject is reported');
    assert.ok(ok.tls?.validTo);
    const wrongCa = await probe({ target: { host: LOOP, port: srv.port }, t0: 3000, t1: 1000, tls: { ...client, ca: readFileSync(pki.otherCa.cert) } });
    assert.equal(wrongCa.outcome, 'tls-failed');
    assert.equal(wrongCa.exitCode, 7);
    assert.match(wrongCa.diagnosis ?? '', /certificate/);
    assert.deepEqual(wrongCa.steps.map((s) => [s.step, s.status]), [['connect', 'ok'], ['tls', 'failed'], ['startdt', 'skipped'], ['testfr', 'skipped']]);
  } finally {
    await srv.close();
  }
});

test('probe: the shared TLS flags (tlsArgs) build a verified client: allow-list and key size enforced, --insecure only reports', async () => {
  const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'iec104-probe-pki-')));
  const srv = await listenTcp(
    { host: LOOP, port: 0, link: { role: 'controlled' }, tls: { cert: readFileSync(pki.leaves.server.cert), key: readFileSync(pki.leaves.server.key), ca: readFileSync(pki.ca.cert), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' } },
    (c) => {
      c.bind({ asdu: () => {}, close: () => {} });
    },
  );
  const flags = { tls: true, cert: pki.leaves.client.cert, key: pki.leaves.client.key, 'tls-ca': [pki.ca.cert] };
  const target = { host: LOOP, port: srv.port };
  try {
    const ok = await probe({ target, t0: 3000, t1: 1000, tls: tlsArgs(flags) });
    assert.equal(ok.outcome, 'ok', ok.diagnosis);
    assert.equal(ok.tls?.authorized, true);
    // --peer-cert: a station certificate not on the allow-list is refused during the handshake
    const notAllowed = await probe({ target, t0: 3000, t1: 1000, tls: tlsArgs({ ...flags, 'peer-cert': [pki.leaves.client.fingerprint256] }) });
    assert.equal(notAllowed.outcome, 'tls-failed');
    assert.equal(notAllowed.errorCode, 'E_TLS_NOT_ALLOWED');
    assert.match(notAllowed.diagnosis ?? '', /allow-list/);
    const byFingerprint = await probe({ target, t0: 3000, t1: 1000, tls: tlsArgs({ ...flags, 'peer-cert': [pki.leaves.server.fingerprint256] }) });
    assert.equal(byFingerprint.outcome, 'ok', byFingerprint.diagnosis);
    // --insecure (lab use): not refused, but the failure is reported
    const insecure = await probe({ target, t0: 3000, t1: 1000, tls: tlsArgs({ ...flags, 'peer-cert': [pki.leaves.client.fingerprint256], insecure: true }) });
    assert.equal(insecure.outcome, 'ok', insecure.diagnosis);
    assert.equal(insecure.tls?.authorized, false);
    assert.match(insecure.tls?.authorizationError ?? '', /E_TLS_NOT_ALLOWED|allow-list/);
  } finally {
    await srv.close();
  }
  // the same configuration rules as connect/command
  assert.throws(() => tlsArgs({ cert: pki.leaves.client.cert }), (e) => e instanceof UsageError && /--cert needs --tls/.test(e.message));
  assert.throws(() => tlsArgs({ tls: true, cert: pki.leaves.client.cert }), (e) => e instanceof UsageError && /--tls needs --key, --tls-ca/.test(e.message));
  assert.throws(() => tlsArgs({ ...flags, cert: pki.leaves.smallKey.cert, key: pki.leaves.smallKey.key }), (e) => e instanceof UsageError && /TLS: tls\.cert/.test(e.message));
  assert.throws(() => tlsArgs({ insecure: true }), (e) => e instanceof UsageError && /--insecure need --tls/.test(e.message));
});

test('probe over real sockets: a listener that never accepts (accept queue full) times out at t0', async () => {
  // A python3 listener with backlog 0 that never calls accept(): once its accept queue is full,
  // Linux drops further SYNs, so a connect neither succeeds nor fails until the client gives up.
  const { spawn } = await import('node:child_process');
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)']);
  const held: net.Socket[] = [];
  try {
    const port = await new Promise<number>((res, rej) => {
      py.stdout.once('data', (d: Buffer) => res(Number(String(d).trim())));
      py.once('error', rej);
    });
    let filled = false;
    for (let i = 0; i < 32 && !filled; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      held.push(s);
      filled = !(await new Promise<boolean>((res) => {
        const tm = setTimeout(() => res(false), 300);
        s.once('connect', () => {
          clearTimeout(tm);
          res(true);
        });
      }));
    }
    assert.ok(filled, 'the accept queue filled up');
    const r = await probe({ target: { host: '127.0.0.1', port }, t0: 400 });
    assert.equal(r.outcome, 'timeout');
    assert.equal(r.exitCode, 4);
    assert.equal(r.errorCode, 'E_T0_TIMEOUT');
    assert.match(r.diagnosis ?? '', /firewall/);
    assert.ok((r.steps[0].ms ?? 0) >= 350, `waited t0 (${r.steps[0].ms} ms)`);
  } finally {
    for (const s of held) s.destroy();
    py.kill();
  }
});
