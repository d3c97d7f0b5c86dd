/**
 * Mutual TLS over loopback with the test PKI: the positive case (two bound links, STARTDT, I-frames
 * both ways) and the negative matrix, each refusal with its code in the audit log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { VirtualClock } from '../../src/clock.js';
import type { Link } from '../../src/link/link.js';
import { bindLink } from '../../src/transport/tcp-link.js';
import { connectTls, TlsRefusedError, TlsSecurity } from '../../src/transport/tls-verify.js';
import { measured } from '../link/helpers.js';
import { attempt, clientTls, makePki, securedServer, waitFor, type SecuredServer } from './helpers.js';

const pki = await makePki();

function auditRecords(s: SecuredServer): Record<string, unknown>[] {
  return s.audit.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Expect exactly one refusal with `code`, recorded in events, onRefused and the audit log. */
function assertRefused(s: SecuredServer, code: string, detail?: string): void {
  assert.equal(s.refusals.length, 1, JSON.stringify(s.refusals));
  assert.equal(s.refusals[0].code, code);
  assert.equal(s.refusals[0].side, 'server');
  assert.equal(s.refusals[0].remoteAddress, '127.0.0.1');
  if (detail) assert.equal(s.refusals[0].detail, detail);
  const rec = auditRecords(s).find((r) => r.kind === 'connection' && r.outcome === 'refused');
  assert.ok(rec, `no refused record in ${s.audit.join('\n')}`);
  assert.equal(rec.code, code);
  assert.equal(rec.localPort, s.srv.port);
  assert.equal(s.srv.security.count(code as 'E_TLS_HANDSHAKE'), 1);
  assert.equal(s.links.length, 0, 'no link may be bound for a refused connection');
}

test('mutual TLS: two bound links do STARTDT and exchange I-frames; the audit log has accept, TLS data and STARTDT', async () => {
  const s = await securedServer(pki);
  const cliSec = new TlsSecurity({ cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: [pki.ca.cert] });
  const socket = await connectTls('127.0.0.1', s.srv.port, cliSec, { t0: 5_000 });
  const got: number[] = [];
  let cli: Link | undefined;
  // eslint-disable-next-line prefer-const -- read by a callback inside its own initializer
  cli = bindLink(socket, { role: 'controlling', clock: new VirtualClock() }, {
    asdu: (a) => got.push(a.objects[0].ioa),
    stateChange: (st) => {
      if (st === 'started') for (let i = 1; i <= 5; i++) cli!.send(measured(100 + i));
    },
    close() {},
  });
  cli.start();
  await waitFor(() => s.links.length === 1 && s.links[0].state === 'started');
  for (let i = 1; i <= 5; i++) s.links[0].send(measured(i));
  await waitFor(() => got.length === 5 && s.got.length === 5);
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
  assert.deepEqual(s.got, [101, 102, 103, 104, 105]);
  assert.equal(s.refusals.length, 0);
  const recs = auditRecords(s);
  const acc = recs.find((r) => r.outcome === 'accepted') as { tls: { version: string; cipher: string }; peer: { subject: string; fingerprint256: string } };
  assert.ok(acc);
  assert.equal(acc.tls.version, 'TLSv1.3');
  assert.match(acc.tls.cipher, /^TLS_/);
  assert.match(acc.peer.subject, /CN=iec104 client/);
  assert.equal(acc.peer.fingerprint256, pki.leaves.client.fingerprint256);
  assert.ok(recs.some((r) => r.kind === 'link' && r.event === 'STARTDT'));
  cli.stop();
  await waitFor(() => auditRecords(s).some((r) => r.kind === 'link' && r.event === 'STOPDT'));
  cli.close();
  await s.close();
});

test('TLS 1.2 is accepted too', async () => {
  const s = await securedServer(pki);
  const r = await attempt(s.srv.port, clientTls(pki, 'client', { maxVersion: 'TLSv1.2' }), () => s.links.length === 1, false);
  assert.equal(s.links.length, 1);
  assert.equal(s.refusals.length, 0);
  assert.equal((auditRecords(s).find((x) => x.outcome === 'accepted') as { tls: { version: string } }).tls.version, 'TLSv1.2');
  r.socket.destroy();
  await s.close();
});

const matrix: [string, Parameters<typeof clientTls>[1], string, string?][] = [
  ['expired certificate', 'expired', 'E_TLS_CERT_EXPIRED', 'CERT_HAS_EXPIRED'],
  ['not-yet-valid certificate', 'notYetValid', 'E_TLS_CERT_NOT_YET_VALID', 'CERT_NOT_YET_VALID'],
  ['certificate of an unrelated CA', 'otherClient', 'E_TLS_UNKNOWN_CA'],
  ['no client certificate', undefined, 'E_TLS_NO_CLIENT_CERT'],
  ['revoked certificate (CRL)', 'revoked', 'E_TLS_REVOKED', 'CERT_REVOKED'],
  ['1024-bit RSA key', 'smallKey', 'E_TLS_KEY_TOO_SMALL'],
  ['certificate for servers only (extended key usage serverAuth)', 'serverOnly', 'E_TLS_CERT_PURPOSE', 'INVALID_PURPOSE'],
  ['self-signed certificate copying the client subject', 'selfSigned', 'E_TLS_UNKNOWN_CA'],
];
for (const [name, leaf, code, detail] of matrix) {
  test(`refused: ${name} -> ${code}`, async () => {
    const s = await securedServer(pki);
    const r = await attempt(s.srv.port, clientTls(pki, leaf), () => s.refusals.length > 0);
    assert.equal(r.closed, true, 'the server closes the connection');
    assertRefused(s, code, detail);
    await s.close();
  });
}

test('audit reasons name the cause: purpose (EKU lacks clientAuth) and a self-signed copy of a client subject (not a CRL error)', async () => {
  for (const [leaf, re] of [
    ['serverOnly', /extended key usage \(serverAuth\) lacks clientAuth/],
    ['selfSigned', /\(CN=iec104 client, O=iec104 test PKI\) is self-signed: not issued by a trusted CA/],
  ] as const) {
    const s = await securedServer(pki, { peerSubjects: ['iec104 client'] });
    await attempt(s.srv.port, clientTls(pki, leaf), () => s.refusals.length > 0);
    assert.match(s.refusals[0].reason, re);
    assert.doesNotMatch(s.refusals[0].reason, /revocation/);
    const rec = auditRecords(s).find((r) => r.outcome === 'refused') as { reason: string };
    assert.match(rec.reason, re);
    if (leaf === 'selfSigned') assert.match(rec.reason, /copies the subject of a known peer/);
    await s.close();
  }
});

test('peerSubjects allow-list: a valid certificate with another subject is refused (E_TLS_NOT_ALLOWED), a listed CN accepted', async () => {
  const s = await securedServer(pki, { peerSubjects: ['iec104 client'] });
  await attempt(s.srv.port, clientTls(pki, 'server'), () => s.refusals.length > 0);
  assertRefused(s, 'E_TLS_NOT_ALLOWED');
  assert.match(s.refusals[0].reason, /peerSubjects allow-list/);
  const ok = await attempt(s.srv.port, clientTls(pki, 'client'), () => s.links.length === 1, false);
  assert.equal(s.links.length, 1);
  ok.socket.destroy();
  await s.close();
});

test('client side: our station refuses our (revoked) certificate after the handshake without an alert -> E_TLS_CERT_REFUSED, not a connection that opens and drops', async () => {
  const s = await securedServer(pki);
  try {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      // every attempt is refused: a long acceptance wait costs nothing and keeps a loaded machine from racing it
      const cliSec = new TlsSecurity({ cert: pki.leaves.revoked.cert, key: pki.leaves.revoked.key, ca: [pki.ca.cert], maxVersion, acceptanceWait: 10_000 });
      const e = await connectTls('127.0.0.1', s.srv.port, cliSec, { t0: 5_000 }).then(
        (sock) => {
          sock.destroy();
          return undefined;
        },
        (err: unknown) => err,
      );
      assert.ok(e instanceof TlsRefusedError, `${maxVersion}: ${String(e)}`);
      assert.equal(e.code, 'E_TLS_CERT_REFUSED');
      assert.match(e.reason, /^the station closed the connection .*without an alert: it most likely refused our certificate/);
    }
  } finally {
    await s.close();
  }
});

test('refused: client offering TLS 1.1 at most -> E_TLS_PROTOCOL_VERSION', async () => {
  const s = await securedServer(pki);
  // SECLEVEL=0 lets OpenSSL 3 send a TLS 1.1 ClientHello at all; the server must refuse it
  const r = await attempt(s.srv.port, clientTls(pki, 'client', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }), () => s.refusals.length > 0);
  assert.equal(r.secure, false);
  assertRefused(s, 'E_TLS_PROTOCOL_VERSION');
  await s.close();
});

test('refused: valid certificate not on the peerCertificates allow-list -> E_TLS_NOT_ALLOWED; a listed one is accepted', async () => {
  const s = await securedServer(pki, { peerCertificates: [pki.leaves.client.fingerprint256] });
  // the server certificate also carries clientAuth and chains to the CA, but is not listed
  await attempt(s.srv.port, clientTls(pki, 'server'), () => s.refusals.length > 0);
  assertRefused(s, 'E_TLS_NOT_ALLOWED');
  const ok = await attempt(s.srv.port, clientTls(pki, 'client'), () => s.links.length === 1, false);
  assert.equal(s.links.length, 1);
  ok.socket.destroy();
  await s.close();
});

test('allow-list by PEM file works like a fingerprint', async () => {
  const s = await securedServer(pki, { peerCertificates: [pki.leaves.client.cert] });
  const ok = await attempt(s.srv.port, clientTls(pki, 'client'), () => s.links.length === 1, false);
  assert.equal(s.links.length, 1);
  ok.socket.destroy();
  await s.close();
});

test('refused: plain (non-TLS) bytes on the TLS port -> E_TLS_HANDSHAKE', async () => {
  const s = await securedServer(pki);
  const raw = net.connect(s.srv.port, '127.0.0.1');
  raw.on('error', () => {});
  raw.on('connect', () => raw.write(Buffer.from('680407000000', 'hex')));
  await waitFor(() => s.refusals.length > 0);
  assertRefused(s, 'E_TLS_HANDSHAKE');
  assert.match(s.refusals[0].reason, /does not speak TLS/);
  raw.destroy();
  await s.close();
});

test('refused: handshake never finished -> E_TLS_HANDSHAKE_TIMEOUT on the injected clock', async () => {
  const s = await securedServer(pki, { handshakeTimeout: 5_000 });
  const raw = net.connect(s.srv.port, '127.0.0.1');
  raw.on('error', () => {});
  let closed = false;
  raw.on('close', () => (closed = true));
  await waitFor(() => s.clock.pending > 0);
  s.clock.advance(4_999);
  assert.equal(s.refusals.length, 0);
  s.clock.advance(1);
  await waitFor(() => closed);
  assertRefused(s, 'E_TLS_HANDSHAKE_TIMEOUT');
  await s.close();
});

test('refused: source address not on the CIDR allow-list -> E_ACCESS_SOURCE, before any TLS byte; an allowed range is accepted', async () => {
  const s = await securedServer(pki, {}, { allow: ['10.0.0.0/8', 'fd00::/8'] });
  const r = await attempt(s.srv.port, clientTls(pki, 'client'), () => s.refusals.length > 0);
  assert.equal(r.secure, false, 'no TLS handshake with a refused address');
  assertRefused(s, 'E_ACCESS_SOURCE');
  await s.close();
  const ok = await securedServer(pki, {}, { allow: ['10.0.0.0/8', '::ffff:127.0.0.0/104'] });
  const a = await attempt(ok.srv.port, clientTls(pki, 'client'), () => ok.links.length === 1, false);
  assert.equal(ok.links.length, 1);
  assert.equal(ok.refusals.length, 0);
  a.socket.destroy();
  await ok.close();
});

test('refused: connection limit -> E_ACCESS_LIMIT', async () => {
  const s = await securedServer(pki, {}, { maxConnections: 1 });
  const first = await attempt(s.srv.port, clientTls(pki, 'client'), () => s.links.length === 1, false);
  assert.equal(s.links.length, 1);
  await attempt(s.srv.port, clientTls(pki, 'client'), () => s.refusals.length > 0);
  assert.equal(s.refusals.length, 1);
  assert.equal(s.refusals[0].code, 'E_ACCESS_LIMIT');
  assert.equal(s.links.length, 1);
  first.socket.destroy();
  await s.close();
});

test('closed: no STARTDT within the start time-out (default t0) -> E_ACCESS_NO_STARTDT', async () => {
  const s = await securedServer(pki);
  const r = attempt(s.srv.port, clientTls(pki, 'client'), () => true);
  await waitFor(() => s.links.length === 1);
  s.clock.advance(29_999);
  assert.equal(s.links[0].state, 'stopped');
  s.clock.advance(1);
  assert.equal(s.links[0].state, 'closed');
  const done = await r;
  assert.equal(done.closed, true);
  assert.equal(s.refusals.length, 1);
  assert.equal(s.refusals[0].code, 'E_ACCESS_NO_STARTDT');
  assert.equal(s.refusals[0].action, 'closed');
  assert.ok(auditRecords(s).some((x) => x.outcome === 'closed' && x.code === 'E_ACCESS_NO_STARTDT'));
  await s.close();
});

test('client side: a server certificate of an unknown CA -> TlsRefusedError E_TLS_UNKNOWN_CA', async () => {
  const s = await securedServer(pki);
  const cliSec = new TlsSecurity({ cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: [pki.otherCa.cert] });
  await assert.rejects(connectTls('127.0.0.1', s.srv.port, cliSec, { t0: 5_000 }), (e: unknown) => e instanceof TlsRefusedError && e.code === 'E_TLS_UNKNOWN_CA');
  assert.equal(cliSec.events.count('E_TLS_UNKNOWN_CA'), 1);
  await s.close();
});

test('client side: server not on our allow-list -> E_TLS_NOT_ALLOWED', async () => {
  const s = await securedServer(pki);
  const cliSec = new TlsSecurity({ cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: [pki.ca.cert], peerCertificates: [pki.leaves.otherClient.fingerprint256] });
  await assert.rejects(connectTls('127.0.0.1', s.srv.port, cliSec, { t0: 5_000 }), (e: unknown) => e instanceof TlsRefusedError && e.code === 'E_TLS_NOT_ALLOWED');
  await s.close();
});

test('nothing sensitive is logged: no private key PEM in logs or audit lines', async () => {
  const s = await securedServer(pki);
  await attempt(s.srv.port, clientTls(pki, 'expired'), () => s.refusals.length > 0);
  const ok = await attempt(s.srv.port, clientTls(pki, 'client'), () => s.links.length === 1, false);
  ok.socket.destroy();
  await waitFor(() => s.srv.links.size === 0);
  const all = [...s.logs, ...s.audit].join('\n');
  assert.ok(s.logs.length > 0 && s.audit.length > 0);
  assert.doesNotMatch(all, /PRIVATE KEY/);
  for (const leaf of ['server', 'client', 'expired'] as const) {
    const body = readFileSync(pki.leaves[leaf].key, 'utf8').split('\n')[1];
    assert.ok(body.length > 20);
    assert.ok(!all.includes(body), `key material of ${leaf} leaked`);
  }
  await s.close();
});

// Last: it rewrites the CRL of this file's PKI.
test('CRL reload at run time: an open session of a newly revoked certificate is closed, a new handshake refused; the listener keeps running', async () => {
  const s = await securedServer(pki);
  const open = attempt(s.srv.port, clientTls(pki, 'client'), () => true);
  await waitFor(() => s.links.length === 1);
  assert.equal(s.sec.openSessions, 1);
  await pki.revoke('client');
  const res = await s.sec.reloadCrl();
  assert.deepEqual(res, { crls: 1, closed: 1 });
  const r1 = await open;
  assert.equal(r1.closed, true);
  assert.equal(s.links[0].state, 'closed');
  assert.equal(s.refusals.length, 1);
  assert.equal(s.refusals[0].code, 'E_TLS_REVOKED');
  assert.equal(s.refusals[0].action, 'closed');
  // a new handshake with the same certificate is refused by the reloaded CRL
  await attempt(s.srv.port, clientTls(pki, 'client'), () => s.refusals.length > 1);
  assert.equal(s.refusals.length, 2);
  assert.equal(s.refusals[1].code, 'E_TLS_REVOKED');
  assert.equal(s.refusals[1].action, 'refused');
  assert.equal(s.refusals[1].detail, 'CERT_REVOKED');
  assert.equal(s.links.length, 1);
  assert.equal(auditRecords(s).filter((x) => x.code === 'E_TLS_REVOKED').length, 2);
  await s.close();
});
