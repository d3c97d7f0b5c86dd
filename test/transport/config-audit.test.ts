/**
 * TLS configuration validation, the access rules, and the audit log sinks (file, syslog over UDP and
 * a unix stream socket on loopback, pretty mode, redaction).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessRuleError, AddressAllowList, normalizeAddress } from '../../src/transport/access-control.js';
import { AuditLog, redact } from '../../src/transport/audit-log.js';
import { DEFAULT_TLS_PORT, resolveTlsConfig, TlsConfigError, tlsServerOptions, validateCiphers, type TlsConfig } from '../../src/transport/tls-config.js';
import { makePki, waitFor } from './helpers.js';

const pki = await makePki();
const base: TlsConfig = { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: [pki.ca.cert] };

function field(cfg: Partial<TlsConfig>, expected: string): void {
  assert.throws(() => resolveTlsConfig({ ...base, ...cfg } as TlsConfig), (e: unknown) => e instanceof TlsConfigError && e.field === expected && e.message.startsWith(`tls.${expected}:`), expected);
}

test('defaults (IEC 62351-3 profile): port 19998, TLS 1.2..1.3, mutual authentication, mandatory RSA suite offered last, peer renegotiation accepted, no host name check', () => {
  assert.equal(DEFAULT_TLS_PORT, 19998);
  const r = resolveTlsConfig(base);
  assert.equal(r.minVersion, 'TLSv1.2');
  assert.equal(r.maxVersion, 'TLSv1.3');
  assert.equal(r.requireClientCert, true);
  assert.deepEqual(r.minKeyBits, { rsa: 2048, ec: 256 });
  const o = tlsServerOptions(r);
  assert.equal(o.requestCert, true);
  assert.equal(o.minVersion, 'TLSv1.2');
  // renegotiation accepted (OpenSSL 3 servers need SSL_OP_ALLOW_CLIENT_RENEGOTIATION = 0x100)
  assert.equal((o.secureOptions ?? 0) & constants.SSL_OP_NO_RENEGOTIATION, 0);
  assert.equal((o.secureOptions ?? 0) & 0x100, 0x100);
  assert.match(String(o.ciphers), /!aNULL:!eNULL:!EXPORT:!DES:!3DES:!RC4:!MD5$/);
  const suites = String(o.ciphers).split(':');
  assert.ok(suites.includes('AES128-SHA256'), 'the 62351-3 mandatory suite TLS_RSA_WITH_AES_128_CBC_SHA256 is offered');
  assert.ok(suites.indexOf('ECDHE-RSA-AES128-GCM-SHA256') < suites.indexOf('AES128-SHA256'), 'forward-secret suites are preferred');
  assert.equal(r.checkServerIdentity, false);
  assert.equal(resolveTlsConfig({ ...base, servername: 'rtu-7.example' }).checkServerIdentity, true);
  const refused = tlsServerOptions(resolveTlsConfig({ ...base, allowRenegotiation: false, sessionTickets: false, sessionTimeout: 600 }));
  assert.equal((refused.secureOptions ?? 0) & constants.SSL_OP_NO_RENEGOTIATION, constants.SSL_OP_NO_RENEGOTIATION);
  assert.equal((refused.secureOptions ?? 0) & 0x100, 0);
  assert.equal((refused.secureOptions ?? 0) & constants.SSL_OP_NO_TICKET, constants.SSL_OP_NO_TICKET);
  assert.equal(refused.sessionTimeout, 600);
});

test('invalid configurations name the field', () => {
  field({ minVersion: 'TLSv1.1' as 'TLSv1.2' }, 'minVersion');
  field({ maxVersion: 'TLSv1' as 'TLSv1.2' }, 'maxVersion');
  field({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }, 'maxVersion');
  field({ ciphers: 'NULL-SHA256' }, 'ciphers');
  field({ ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA' }, 'ciphers');
  field({ ciphers: 'EXP-RC4-MD5' }, 'ciphers');
  field({ ciphers: 'ADH-AES128-SHA' }, 'ciphers');
  field({ ciphers: 'ALL' }, 'ciphers');
  field({ ciphers: 'aNULL' }, 'ciphers');
  field({ ciphers: 'DES-CBC3-SHA' }, 'ciphers');
  field({ ciphers: 'DEFAULT:@SECLEVEL=0' }, 'ciphers');
  field({ key: pki.leaves.client.key }, 'key');
  field({ key: '/nonexistent/key.pem' }, 'key');
  field({ cert: pki.leaves.smallKey.cert, key: pki.leaves.smallKey.key }, 'cert');
  field({ cert: pki.leaves.expired.cert, key: pki.leaves.expired.key }, 'cert');
  field({ ca: [] }, 'ca');
  field({ minKeyBits: { rsa: 1024 } }, 'minKeyBits.rsa');
  field({ minKeyBits: { ec: 128 } }, 'minKeyBits.ec');
  field({ peerCertificates: ['not-a-fingerprint'] }, 'peerCertificates[0]');
  field({ peerCertificates: [] }, 'peerCertificates');
  field({ crl: [pki.ca.cert] }, 'crl[0]');
  field({ handshakeTimeout: 0 }, 'handshakeTimeout');
  field({ renegotiationInterval: 60_000, allowRenegotiation: false }, 'renegotiationInterval');
  field({ renegotiationInterval: 60_000, minVersion: 'TLSv1.3' }, 'renegotiationInterval');
  field({ peerSubjects: [] }, 'peerSubjects');
  field({ peerSubjects: ['/(/'] }, 'peerSubjects[0]');
  field({ servername: '' }, 'servername');
  field({ renegotiationBurst: 0 }, 'renegotiationBurst');
  field({ sessionTimeout: 86_401 }, 'sessionTimeout');
  field({ ticketKeys: new Uint8Array(16) }, 'ticketKeys');
  // a key error never quotes the key
  try {
    resolveTlsConfig({ ...base, key: '-----BEGIN PRIVATE KEY-----\nAAAAsecretmaterial\n-----END PRIVATE KEY-----\n' });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof TlsConfigError);
    assert.doesNotMatch(e.message, /secretmaterial/);
  }
});

test('strong cipher lists pass and get the weak classes excluded', () => {
  assert.equal(validateCiphers('ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256'), 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!RC4:!MD5');
  assert.doesNotThrow(() => validateCiphers('HIGH:!aNULL:!MD5'));
});

test('address allow-list: IPv4, IPv6, IPv4-mapped, invalid rules', () => {
  const a = new AddressAllowList(['192.168.10.0/24', '2001:db8::/32', '::1', '::ffff:10.0.0.0/104']);
  assert.equal(a.has('192.168.10.77'), true);
  assert.equal(a.has('192.168.11.1'), false);
  assert.equal(a.has('::ffff:192.168.10.5'), true);
  assert.equal(a.has('2001:db8:1::5'), true);
  assert.equal(a.has('2001:db9::1'), false);
  assert.equal(a.has('::1'), true);
  assert.equal(a.has('10.200.0.1'), true);
  assert.equal(a.has('127.0.0.1'), false);
  assert.equal(a.has('garbage'), false);
  assert.equal(new AddressAllowList([]).has('127.0.0.1'), false);
  assert.equal(normalizeAddress('fe80::1%eth0')?.address, 'fe80::1');
  for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '::ffff:10.0.0.0/8', '1.2.3.4/x']) assert.throws(() => new AddressAllowList([bad]), AccessRuleError, bad);
});

test('audit log: file sink (JSON lines) and pretty mode; secrets redacted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-'));
  const file = join(dir, 'audit.log');
  const pretty: string[] = [];
  const audit = new AuditLog({ sink: [{ file }], time: () => 'T' });
  const p = new AuditLog({ sink: { write: (l) => pretty.push(l) }, format: 'pretty', time: () => 'T' });
  const keyPem = readFileSync(pki.leaves.client.key, 'utf8');
  for (const a of [audit, p]) {
    a.connection({ outcome: 'refused', side: 'server', remoteAddress: '10.1.1.1', remotePort: 40000, localPort: 19998, code: 'E_TLS_CERT_EXPIRED', reason: 'peer certificate has expired' });
    a.link({ event: 'STARTDT', state: 'started', remoteAddress: '10.1.1.2', remotePort: 40001, localPort: 19998 });
    a.auditCommand({ source: { address: '10.1.1.2', port: 40001, subject: 'CN=master' }, target: { ca: 1, ioa: 5000, typeId: 45 }, value: { key: keyPem, on: true }, outcome: 'executed', timing: { durationMs: 12 } });
    a.auditCommand({ source: '10.1.1.2:40001', target: { ca: 1, ioa: 5001, typeId: 45 }, value: keyPem, outcome: 'rejected' });
  }
  await audit.close();
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.map((l) => l.kind), ['connection', 'link', 'command', 'command']);
  assert.equal(lines[0].code, 'E_TLS_CERT_EXPIRED');
  assert.deepEqual(lines[2].value, { key: '[redacted]', on: true });
  assert.equal(lines[3].value, '[redacted]');
  assert.equal(pretty[0], 'T REFUSED  10.1.1.1:40000 -> :19998 E_TLS_CERT_EXPIRED: peer certificate has expired');
  assert.equal(pretty[1], 'T STARTDT  10.1.1.2:40001 -> :19998 state=started');
  assert.match(pretty[2], /^T COMMAND {2}10\.1\.1\.2:40001 "CN=master" -> ca=1 ioa=5000 type=45 .* executed durationMs=12$/);
  const all = readFileSync(file, 'utf8') + pretty.join('\n');
  assert.doesNotMatch(all, /PRIVATE KEY/);
  assert.ok(!all.includes(keyPem.split('\n')[1]));
  assert.deepEqual(redact({ passphrase: 'x', ticketKeys: Buffer.alloc(48), keyBits: 256 }), { passphrase: '[redacted]', ticketKeys: '[redacted]', keyBits: 256 });
});

test('audit log: RFC 5424 syslog over UDP on loopback', async () => {
  const rx = dgram.createSocket('udp4');
  const got: string[] = [];
  rx.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  const audit = new AuditLog({ sink: { syslog: { host: '127.0.0.1', port: rx.address().port, appName: 'iec104-test' } } });
  audit.connection({ outcome: 'accepted', side: 'server', remoteAddress: '127.0.0.1', remotePort: 1, localPort: 19998 });
  audit.connection({ outcome: 'refused', side: 'server', remoteAddress: '127.0.0.1', remotePort: 2, localPort: 19998, code: 'E_ACCESS_SOURCE', reason: 'no' });
  await waitFor(() => got.length === 2);
  await audit.close();
  rx.close();
  // facility 13 (log audit): accepted = notice (5) -> 109, refused = warning (4) -> 108
  assert.match(got[0], /^<109>1 \d{4}-\d\d-\d\dT\S+ \S+ iec104-test \d+ CONN - \{"time":.*"outcome":"accepted"/);
  assert.match(got[1], /^<108>1 .* CONN - \{.*"code":"E_ACCESS_SOURCE"/);
});

test('audit log: syslog over a unix stream socket with octet counting', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'syslog-')), 'log.sock');
  let data = '';
  const srv = net.createServer((s) => s.on('data', (d) => (data += d.toString())));
  await new Promise<void>((r) => srv.listen(path, () => r()));
  const audit = new AuditLog({ sink: { syslog: { path } } });
  audit.link({ event: 'STOPDT', state: 'stopped', remoteAddress: '127.0.0.1', remotePort: 3, localPort: 19998 });
  await waitFor(() => /STOPDT/.test(data) && data.endsWith('}'));
  await audit.close();
  srv.close();
  const m = /^(\d+) (<\d+>1 .*)$/s.exec(data);
  assert.ok(m, data);
  assert.equal(Number(m[1]), Buffer.byteLength(m[2]));
  assert.match(m[2], /^<110>1 \S+ \S+ iec104 \d+ STOPDT - \{/);
});
