/**
 * `probe --tls` gives the same diagnosis as `connect`: a station that refuses our certificate is
 * named as such (with its alert when it sends one), not blamed on addresses or connection limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tlsArgs } from '../../src/cli/args.js';
import { listenTcp } from '../../src/transport/tcp-link.js';
import { createTestPki } from '../../src/transport/test-pki.js';
import { TlsSecurity } from '../../src/transport/tls-verify.js';
import { probe } from '../../src/validate/probe.js';
import { sServer } from '../transport/openssl.js';

const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'iec104-probe-pki-')), { keyType: 'rsa', san: false });
const L = pki.leaves;
const flags = (leaf: 'client' | 'revoked' | 'expired', extra: Record<string, unknown> = {}) => ({ tls: true, cert: L[leaf].cert, key: L[leaf].key, 'tls-ca': [pki.ca.cert], ...extra });

test('probe --tls against our station with a revoked certificate: tls-failed, "refused our certificate", not an address problem', async () => {
  const sec = new TlsSecurity({ cert: L.server.cert, key: L.server.key, ca: [pki.ca.cert], crl: [pki.crl] });
  const srv = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' }, secure: sec }, (c) => {
    c.bind({ asdu() {}, close() {} });
  });
  try {
    for (const v of ['1.2', '1.3']) {
      const r = await probe({ target: { host: '127.0.0.1', port: srv.port }, t0: 3000, t1: 2000, tls: tlsArgs(flags('revoked', { 'tls-max-version': v })) });
      assert.equal(r.outcome, 'tls-failed', `${v}: ${r.diagnosis}`);
      assert.equal(r.exitCode, 7);
      assert.match(r.diagnosis ?? '', /refused our certificate/);
      assert.doesNotMatch(r.diagnosis ?? '', /source address/);
    }
  } finally {
    await srv.close();
  }
});

for (const version of ['-tls1_2', '-tls1_3']) {
  test(`probe --tls --tls-test-invalid-cert against openssl s_server (${version.slice(1)}): "the station refused our certificate (alert certificate_expired)"`, async () => {
    const srv = await sServer([version, '-cert', L.server.cert, '-key', L.server.key, '-CAfile', pki.ca.cert, '-Verify', '1', '-verify_return_error']);
    try {
      const r = await probe({ target: { host: '127.0.0.1', port: srv.port }, t0: 3000, t1: 2000, tls: tlsArgs(flags('expired', { 'tls-test-invalid-cert': true })) });
      assert.equal(r.outcome, 'tls-failed', r.diagnosis);
      assert.match(r.diagnosis ?? '', /E_TLS_CERT_REFUSED: the station refused our certificate \(alert certificate_expired\)/);
    } finally {
      srv.kill();
    }
  });
}

test('probe --tls with only TLS_RSA_WITH_AES_128_CBC_SHA256 on the station and no SAN: the TLS step passes by default (no name check)', async () => {
  const srv = await sServer(['-tls1_2', '-cipher', 'AES128-SHA256', '-cert', L.server.cert, '-key', L.server.key, '-CAfile', pki.ca.cert, '-Verify', '1']);
  try {
    const r = await probe({ target: { host: '127.0.0.1', port: srv.port }, t0: 3000, t1: 500, tls: tlsArgs(flags('client')) });
    const step = r.steps.find((s) => s.step === 'tls');
    assert.equal(step?.status, 'ok', JSON.stringify(r));
    assert.match(step?.detail ?? '', /TLSv1\.2 with TLS_RSA_WITH_AES_128_CBC_SHA256/);
  } finally {
    srv.kill();
  }
});
