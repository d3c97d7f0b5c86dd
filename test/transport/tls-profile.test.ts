/**
 * The IEC 62351-3 profile over real sockets against `openssl s_server` / `openssl s_client` as
 * stand-ins for another stack's default TLS build: TLS 1.2 with only TLS_RSA_WITH_AES_128_CBC_SHA256,
 * RSA certificates without subjectAltName reached by IP, renegotiation started by the peer with data
 * flowing, session resumption, and the client-side diagnoses (refused certificate, no common suite,
 * unknown CA, renegotiation refused).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { VirtualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { decodeApdu } from '../../src/codec/apdu.js';
import { bindLink } from '../../src/transport/tcp-link.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { listenTcp } from '../../src/transport/tcp-link.js';
import type { Link } from '../../src/link/link.js';
import type { SecurityEvent, TlsSessionEvent } from '../../src/transport/security-events.js';
import { createTestPki } from '../../src/transport/test-pki.js';
import type { TlsConfig } from '../../src/transport/tls-config.js';
import { connectTls, TlsRefusedError, TlsSecurity } from '../../src/transport/tls-verify.js';
import { I, measured, STARTDT_ACT, STARTDT_CON } from '../link/helpers.js';
import { hasOpenssl, runOpenssl, sServer } from './openssl.js';
import { waitFor } from './helpers.js';

assert.ok(hasOpenssl(), 'these tests need openssl on PATH (Debian: apt-get install openssl; .ci/run installs it)');

// the other stack's PKI: RSA 2048, no subjectAltName (reached by IP address)
const rsa = await createTestPki(mkdtempSync(join(tmpdir(), 'iec104-rsa-pki-')), { keyType: 'rsa', san: false });
const L = rsa.leaves;

test('the RSA PKI without SAN: RSA 2048 keys, no subjectAltName, chained to the CA', () => {
  const x = new X509Certificate(readFileSync(L.server.cert));
  assert.equal(x.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(x.subjectAltName, undefined);
  assert.ok(x.checkIssued(new X509Certificate(readFileSync(rsa.ca.cert))));
});

interface Station {
  port: number;
  sec: TlsSecurity;
  clock: VirtualClock;
  links: Link[];
  refusals: SecurityEvent[];
  sessions: TlsSessionEvent[];
  audit: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Our station side (listenTcp + TlsSecurity) with the default profile, RSA certificates. */
async function station(cfg: Partial<TlsConfig> = {}): Promise<Station> {
  const clock = new VirtualClock();
  const sec = new TlsSecurity({ cert: L.server.cert, key: L.server.key, ca: [rsa.ca.cert], ...cfg }, { clock, logger: createLogger({ level: 'error', write: () => {} }) });
  const audit: Record<string, unknown>[] = [];
  const refusals: SecurityEvent[] = [];
  const sessions: TlsSessionEvent[] = [];
  sec.events.onSession((e) => sessions.push(e));
  const links: Link[] = [];
  const srv = await listenTcp(
    { host: '127.0.0.1', port: 0, link: { role: 'controlled', clock }, secure: sec, onRefused: (e) => refusals.push(e), audit: new AuditLog({ sink: { write: (l) => audit.push(JSON.parse(l)) } }) },
    (conn) => {
      links.push(conn.bind({ asdu() {}, close() {} }));
    },
  );
  return { port: srv.port, sec, clock, links, refusals, sessions, audit, close: () => srv.close() };
}

const client12 = (port: number, extra: string[] = []): string[] => [
  's_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'AES128-SHA256',
  '-cert', L.client.cert, '-key', L.client.key, '-CAfile', rsa.ca.cert, ...extra,
];

/** Count the I-frames in `out` that carry M_ME_NC_1 with IOA `ioa` (the peer's stdout, chatter around them). */
function framesWith(out: Buffer, ioa: number): number {
  let n = 0;
  for (let i = out.indexOf(0x68); i >= 0 && i < out.length; i = out.indexOf(0x68, i + 1)) {
    const len = out[i + 1];
    if (len < 4 || i + 2 + len > out.length) continue;
    const r = decodeApdu(out.subarray(i, i + 2 + len));
    if (r.ok && r.value.apci.format === 'I' && r.value.asdu?.objects[0]?.ioa === ioa) n++;
  }
  return n;
}

test('station: openssl s_client with TLS 1.2 and only TLS_RSA_WITH_AES_128_CBC_SHA256, RSA certificates without SAN, is accepted; audit names version and suite and warns (no forward secrecy)', async () => {
  const s = await station();
  const c = runOpenssl(client12(s.port));
  try {
    await waitFor(() => s.links.length === 1);
    await c.waitFor(/Cipher is AES128-SHA256/);
    assert.equal(s.refusals.length, 0);
    const acc = s.audit.find((r) => r.kind === 'connection' && r.outcome === 'accepted') as { tls: { version: string; cipher: string; standardName: string; forwardSecrecy: boolean } };
    assert.equal(acc.tls.version, 'TLSv1.2');
    assert.equal(acc.tls.cipher, 'AES128-SHA256');
    assert.equal(acc.tls.standardName, 'TLS_RSA_WITH_AES_128_CBC_SHA256');
    assert.equal(acc.tls.forwardSecrecy, false);
    const tlsRec = s.audit.find((r) => r.kind === 'tls') as { event: string; warning: string };
    assert.equal(tlsRec.event, 'established');
    assert.match(tlsRec.warning, /no forward secrecy/);
    // data flows: STARTDT from the peer, confirmed, then an I-frame from us
    c.write(Buffer.from(STARTDT_ACT, 'hex'));
    await c.waitFor((_t, out) => out.includes(Buffer.from(STARTDT_CON, 'hex')));
    s.links[0].send(measured(4001));
    await c.waitFor((_t, out) => framesWith(out, 4001) === 1);
  } finally {
    c.kill();
    await s.close();
  }
});

test('station: the peer renegotiates (TLS 1.2) five times, 2 s apart on the clock, with data flowing in between: accepted, counted, re-verified, audited', async () => {
  const s = await station({ minRenegotiationInterval: 1_500 });
  const c = runOpenssl(client12(s.port));
  try {
    await waitFor(() => s.links.length === 1);
    await c.waitFor(/Verify return code: 0/);
    c.write(Buffer.from(STARTDT_ACT, 'hex'));
    await c.waitFor((_t, out) => out.includes(Buffer.from(STARTDT_CON, 'hex')));
    for (let i = 1; i <= 5; i++) {
      s.clock.advance(2_000);
      c.write('R\n');
      await waitFor(() => s.sessions.filter((e) => e.event === 'renegotiated').length === i);
      s.links[0].send(measured(5000 + i));
      await c.waitFor((_t, out) => framesWith(out, 5000 + i) === 1);
    }
    assert.equal(s.links[0].state, 'started');
    assert.equal(s.refusals.length, 0, JSON.stringify(s.refusals));
    const reneg = s.audit.filter((r) => r.kind === 'tls' && r.event === 'renegotiated') as { renegotiations: number; initiator: string; tls: { cipher: string } }[];
    assert.deepEqual(reneg.map((r) => r.renegotiations), [1, 2, 3, 4, 5]);
    assert.ok(reneg.every((r) => r.initiator === 'peer' && r.tls.cipher === 'AES128-SHA256'));
    assert.equal(s.sec.events.renegotiations, 5);
  } finally {
    c.kill();
    await s.close();
  }
});

test('station: renegotiation faster than the bound (a burst within minRenegotiationInterval) closes the session: E_TLS_RENEGOTIATION, audited', async () => {
  const s = await station({ minRenegotiationInterval: 60_000, renegotiationBurst: 2 });
  const c = runOpenssl(client12(s.port));
  try {
    await waitFor(() => s.links.length === 1);
    await c.waitFor(/Verify return code: 0/);
    for (let i = 0; i < 4 && s.refusals.length === 0; i++) {
      c.write('R\n');
      await waitFor(() => s.sessions.filter((e) => e.event === 'renegotiated').length > i || s.refusals.length > 0);
    }
    await waitFor(() => s.refusals.length > 0 && s.links[0].state === 'closed');
    assert.equal(s.refusals[0].code, 'E_TLS_RENEGOTIATION');
    assert.equal(s.refusals[0].action, 'closed');
    assert.ok(s.audit.some((r) => r.kind === 'connection' && r.outcome === 'closed' && r.code === 'E_TLS_RENEGOTIATION'));
  } finally {
    c.kill();
    await s.close();
  }
});

for (const [name, flags, version] of [
  ['TLS 1.2 session ID', ['-tls1_2', '-no_ticket'], 'TLSv1.2'],
  ['TLS 1.2 session ticket', ['-tls1_2'], 'TLSv1.2'],
  ['TLS 1.3 ticket', ['-tls1_3'], 'TLSv1.3'],
] as const) {
  test(`station: session resumption (${name}) with openssl s_client -sess_out/-sess_in; the audit log says resumed`, async () => {
    const s = await station();
    const dir = mkdtempSync(join(tmpdir(), 'iec104-sess-'));
    const sess = join(dir, 'session.pem');
    const base = ['s_client', '-connect', `127.0.0.1:${s.port}`, ...flags, '-cert', L.client.cert, '-key', L.client.key, '-CAfile', rsa.ca.cert];
    try {
      const first = runOpenssl([...base, '-sess_out', sess]);
      await waitFor(() => s.links.length === 1);
      await first.waitFor(/Verify return code: 0/);
      // a TLS 1.3 ticket arrives after the handshake: give s_client a moment to store it, then end it
      await first.waitFor(() => { try { return readFileSync(sess, 'utf8').includes('SSL SESSION'); } catch { return false; } });
      first.proc.stdin.end();
      await first.exited;
      const second = runOpenssl([...base, '-sess_in', sess]);
      await waitFor(() => s.links.length === 2);
      await second.waitFor(/Reused, TLSv1\.[23]/);
      second.proc.stdin.end();
      await second.exited;
      const acc = s.audit.filter((r) => r.kind === 'connection' && r.outcome === 'accepted') as { tls: { version: string; resumed: boolean } }[];
      assert.deepEqual(acc.map((a) => [a.tls.version, a.tls.resumed]), [[version, false], [version, true]]);
      const est = s.sessions.filter((e) => e.event === 'established');
      assert.equal(est[1].tls.resumed, true);
      assert.match(String(est[1].peerSubject), /CN=iec104 client/, 'the resumed session still carries (and was verified with) the client certificate');
    } finally {
      await s.close();
    }
  });
}

/** Our master's TLS (connectTls) with the RSA client certificate and `extra`. */
function master(extra: Partial<TlsConfig> = {}, clock?: VirtualClock): TlsSecurity {
  return new TlsSecurity({ cert: L.client.cert, key: L.client.key, ca: [rsa.ca.cert], ...extra }, { ...(clock ? { clock } : {}), logger: createLogger({ level: 'error', write: () => {} }) });
}

const server12 = ['-tls1_2', '-cipher', 'AES128-SHA256', '-cert', L.server.cert, '-key', L.server.key, '-CAfile', rsa.ca.cert, '-Verify', '1', '-verify_return_error'];

test('master: a default connectTls to openssl s_server with TLS 1.2, only AES128-SHA256, an RSA certificate without SAN reached by IP: connected; the station renegotiates five times with data flowing: accepted and counted', async () => {
  const srv = await sServer(server12);
  const clock = new VirtualClock();
  const sec = master({ acceptanceWait: 0 }, clock); // the acceptance wait runs on the (virtual) clock: off here
  const sessions: TlsSessionEvent[] = [];
  try {
    const socket = await connectTls('127.0.0.1', srv.port, sec, { t0: 5_000, onSession: (e) => sessions.push(e) });
    assert.equal(socket.getProtocol(), 'TLSv1.2');
    assert.equal(socket.getCipher().name, 'AES128-SHA256');
    assert.equal(sessions[0].event, 'established');
    assert.match(String(sessions[0].warning), /no forward secrecy/);
    const received: number[] = [];
    const link = bindLink(socket, { role: 'controlling', clock: new VirtualClock() }, { asdu: (a) => received.push(a.objects[0].ioa), close() {} });
    link.start();
    await srv.waitFor((_t, out) => out.includes(Buffer.from(STARTDT_ACT, 'hex')));
    srv.write(Buffer.from(STARTDT_CON, 'hex'));
    await waitFor(() => link.state === 'started');
    for (let i = 1; i <= 5; i++) {
      clock.advance(2_000); // "every 2 s" on the clock; the bytes go back to back
      srv.write('R\n');
      await waitFor(() => sessions.filter((e) => e.event === 'renegotiated').length === i);
      // an I-frame from the station after each renegotiation (N(S) = i-1)
      srv.write(I(i - 1, 0, measured(6000 + i)));
      await waitFor(() => received.includes(6000 + i));
    }
    assert.equal(link.state, 'started');
    assert.ok(sessions.filter((e) => e.event === 'renegotiated').every((e) => e.initiator === 'peer'));
    link.close();
  } finally {
    srv.kill();
  }
});

/** connectTls and the refusal it must end with. */
async function refusal(port: number, sec: TlsSecurity): Promise<TlsRefusedError> {
  try {
    const s = await connectTls('127.0.0.1', port, sec, { t0: 5_000 });
    s.destroy();
  } catch (e) {
    if (e instanceof TlsRefusedError) return e;
    throw e;
  }
  assert.fail('the connection was not refused');
}

for (const version of ['-tls1_2', '-tls1_3'] as const) {
  test(`master: the station refuses our expired certificate (${version.slice(1)}): E_TLS_CERT_REFUSED "the station refused our certificate (alert certificate_expired)"`, async () => {
    const srv = await sServer([version, '-cert', L.server.cert, '-key', L.server.key, '-CAfile', rsa.ca.cert, '-Verify', '1', '-verify_return_error']);
    try {
      // the TEST ONLY switch: present an expired own certificate
      const e = await refusal(srv.port, master({ cert: L.expired.cert, key: L.expired.key, presentInvalidCertificate: true }));
      assert.equal(e.code, 'E_TLS_CERT_REFUSED');
      assert.equal(e.reason, 'the station refused our certificate (alert certificate_expired)');
    } finally {
      srv.kill();
    }
  });
}

test('master: a certificate of another CA: the station answers unknown_ca -> "the station refused our certificate (alert unknown_ca)"', async () => {
  const srv = await sServer(['-tls1_2', '-cert', L.server.cert, '-key', L.server.key, '-CAfile', rsa.ca.cert, '-Verify', '1', '-verify_return_error']);
  try {
    const e = await refusal(srv.port, master({ cert: L.otherClient.cert, key: L.otherClient.key }));
    assert.equal(e.code, 'E_TLS_CERT_REFUSED');
    assert.match(e.reason, /the station refused our certificate \(alert (unknown_ca|bad_certificate)\)/);
  } finally {
    srv.kill();
  }
});

test('master: no cipher suite in common -> E_TLS_NO_SHARED_CIPHER naming what we offered', async () => {
  const srv = await sServer(server12);
  try {
    const e = await refusal(srv.port, master({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }));
    assert.equal(e.code, 'E_TLS_NO_SHARED_CIPHER');
    assert.match(e.reason, /^no cipher suite in common \(we offered TLSv1\.2: ECDHE-RSA-AES128-GCM-SHA256\)/);
  } finally {
    srv.kill();
  }
});

test('master: a station certificate of another CA -> E_TLS_UNKNOWN_CA "peer certificate not issued by --tls-ca"', async () => {
  const srv = await sServer(['-tls1_2', '-cert', L.otherClient.cert, '-key', L.otherClient.key]);
  try {
    const e = await refusal(srv.port, master());
    assert.equal(e.code, 'E_TLS_UNKNOWN_CA');
    assert.match(e.reason, /not issued by --tls-ca/);
  } finally {
    srv.kill();
  }
});

test('master: our periodic renegotiation (--tls-renegotiate) refused by the station -> the session is closed with E_TLS_RENEGOTIATION "renegotiation refused"', async () => {
  // OpenSSL 3 servers refuse client-initiated renegotiation unless -client_renegotiation
  const srv = await sServer(server12);
  const clock = new VirtualClock();
  const sec = master({ renegotiationInterval: 10_000, acceptanceWait: 0 }, clock);
  const closed: SecurityEvent[] = [];
  sec.events.on((e) => closed.push(e));
  try {
    const socket = await connectTls('127.0.0.1', srv.port, sec, { t0: 5_000 });
    socket.on('error', () => {});
    socket.resume();
    clock.advance(10_000);
    await waitFor(() => closed.length > 0 || socket.destroyed);
    clock.advance(30_000); // a refusal without an alert: the handshake timeout
    await waitFor(() => closed.length > 0);
    assert.equal(closed[0].code, 'E_TLS_RENEGOTIATION');
    assert.match(closed[0].reason, /renegotiation refused/);
    assert.equal(closed[0].action, 'closed');
  } finally {
    srv.kill();
  }
});

test('master: with -client_renegotiation the station accepts our periodic renegotiation; counted as initiated by us', async () => {
  const srv = await sServer([...server12, '-client_renegotiation']);
  const clock = new VirtualClock();
  const sec = master({ renegotiationInterval: 10_000, acceptanceWait: 0 }, clock);
  const sessions: TlsSessionEvent[] = [];
  try {
    const socket = await connectTls('127.0.0.1', srv.port, sec, { t0: 5_000, onSession: (e) => sessions.push(e) });
    socket.resume();
    for (let i = 1; i <= 2; i++) {
      clock.advance(10_000);
      await waitFor(() => sessions.filter((e) => e.event === 'renegotiated').length === i);
    }
    assert.ok(sessions.filter((e) => e.event === 'renegotiated').every((e) => e.initiator === 'local'));
    socket.destroy();
  } finally {
    srv.kill();
  }
});

test('master: host name matching only on request: --tls-servername 127.0.0.1 against a certificate without SAN -> E_TLS_NOT_ALLOWED', async () => {
  const srv = await sServer(['-tls1_2', '-cert', L.server.cert, '-key', L.server.key]);
  try {
    const e = await refusal(srv.port, master({ servername: '127.0.0.1' }));
    assert.equal(e.code, 'E_TLS_NOT_ALLOWED');
    assert.match(e.reason, /servername/);
  } finally {
    srv.kill();
  }
});
