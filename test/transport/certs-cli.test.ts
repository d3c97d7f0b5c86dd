/**
 * `iec104 certs`: writes the test PKI, refuses a non-empty directory without --force.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCerts } from '../../src/cli/certs.js';

test('iec104 certs writes a usable PKI and refuses to overwrite without --force', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'certs-cli-')), 'pki');
  const out: string[] = [];
  const err: string[] = [];
  const io = [{ write: (s: string) => out.push(s) }, { write: (s: string) => err.push(s) }] as const;
  assert.equal(await runCerts(['--dir', dir], ...io), 0);
  for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'expired.crt', 'not-yet-valid.crt', 'revoked.crt', 'ca.crl', 'other-ca.crt', 'other-client.crt', 'small-key.crt']) {
    assert.ok(existsSync(join(dir, f)), f);
  }
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
  const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  assert.ok(server.checkHost('localhost') && server.checkIP('127.0.0.1'));
  assert.equal(new X509Certificate(readFileSync(join(dir, 'small-key.crt'))).publicKey.asymmetricKeyDetails?.modulusLength, 1024);
  assert.match(out.join(''), /test PKI written to/);
  assert.equal(await runCerts(['--dir', dir], ...io), 1);
  assert.match(err.join(''), /not empty/);
  assert.equal(await runCerts(['--dir', dir, '--force'], ...io), 0);
  assert.equal(await runCerts(['--bogus'], ...io), 2);
});

test('iec104 certs DIR (positional, as the README writes it) --key-type rsa --bits 3072 --no-san: RSA certificates without subjectAltName', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'certs-cli-')), 'pki-rsa');
  const io = [{ write: () => {} }, { write: () => {} }] as const;
  assert.equal(await runCerts([dir, '--key-type', 'rsa', '--bits', '3072', '--no-san'], ...io), 0);
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
  const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
  assert.equal(server.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(server.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
  assert.equal(ca.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(server.subjectAltName, undefined);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  const err: string[] = [];
  const io2 = [{ write: () => {} }, { write: (s: string) => err.push(s) }] as const;
  assert.equal(await runCerts([dir, '--bits', '3072'], ...io2), 2, '--bits without --key-type rsa');
  assert.equal(await runCerts([dir, '--key-type', 'dsa'], ...io2), 2);
  assert.equal(await runCerts(['a', 'b'], ...io2), 2);
  assert.match(err.join(''), /--bits applies to --key-type rsa/);
});
