/**
 * A small test PKI for trying TLS (IEC 62351-3 style mutual authentication) in a minute, and for the
 * transport tests: a CA, a server and a client certificate (SAN 127.0.0.1 / localhost, or none), an
 * expired, a not-yet-valid and a revoked client certificate plus a CRL, a second unrelated CA with a
 * client certificate, a client certificate with a 1024-bit RSA key, one for servers only (extended
 * key usage serverAuth) and a self-signed one that copies the client's subject.
 *
 * Certificates are built with `@peculiar/x509` on Node's WebCrypto (no hand-written ASN.1); keys are
 * EC P-256 (default) or RSA 2048/3072 (`keyType: 'rsa'`, for devices that take RSA only), except the
 * deliberately small RSA one. **The private keys are written unencrypted: this
 * PKI is for tests and demonstrations only, never for a real installation.**
 */
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Crypto = webcrypto.Crypto;
const crypto = webcrypto;
// loaded on first use, so that importing 'iec104' does not load @peculiar/x509 (and its Reflect polyfill)
let x509: typeof X509;
async function loadX509(): Promise<void> {
  if (x509) return;
  x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(crypto as unknown as Crypto);
}

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA_SIGN = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
function signAlg(keys: CryptoKeyPair): typeof EC_SIGN | typeof RSA_SIGN {
  return keys.privateKey.algorithm.name.startsWith('RSA') ? RSA_SIGN : EC_SIGN;
}
const DAY = 86_400_000;

/** Names of the leaf certificates of a {@link TestPki}. */
export type TestPkiLeaf = 'server' | 'client' | 'expired' | 'notYetValid' | 'revoked' | 'otherClient' | 'smallKey' | 'serverOnly' | 'selfSigned';

/** PEM paths of one certificate and its key. */
export interface TestPkiPair {
  cert: string;
  key: string;
  /** Hexadecimal serial number (upper case, as Node's `getPeerCertificate().serialNumber`). */
  serial: string;
  /** SHA-256 fingerprint `AA:BB:...` (as Node's `fingerprint256`). */
  fingerprint256: string;
}

/** A generated test PKI (see {@link createTestPki}). */
export interface TestPki {
  dir: string;
  /** CA certificate (trust anchor) and key. */
  ca: TestPkiPair;
  /** A second CA that signed nothing else here (for "unknown CA" tests). */
  otherCa: TestPkiPair;
  /**
   * Leaf certificates: `server` (SAN 127.0.0.1, ::1, localhost unless `san: false`), `client`,
   * `expired`, `notYetValid`, `revoked` (in the CRL), `otherClient` (signed by `otherCa`), `smallKey`
   * (RSA 1024), `serverOnly` (extended key usage serverAuth only: refused as a client certificate),
   * `selfSigned` (self-signed, same subject as `client`).
   */
  leaves: Record<TestPkiLeaf, TestPkiPair>;
  /** CRL of `ca` revoking `revoked`. */
  crl: string;
  /** Rewrite {@link crl} (a newer CRL) so it revokes `revoked` and these leaves too. */
  revoke(...leaves: TestPkiLeaf[]): Promise<void>;
}

/** Options of {@link createTestPki}. */
export interface TestPkiOptions {
  /** Reference time (default now). */
  now?: Date;
  /** Validity of the good certificates in days (default 365). */
  days?: number;
  /** Key type of the CAs and certificates (default `ec`: P-256). */
  keyType?: 'ec' | 'rsa';
  /** RSA modulus length (2048 default, or 3072) with `keyType: 'rsa'`. */
  bits?: 2048 | 3072;
  /** Put a subjectAltName (127.0.0.1, ::1, localhost) in the leaf certificates (default true). */
  san?: boolean;
}

function pem(tag: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${tag}-----\n${b64}\n-----END ${tag}-----\n`;
}

async function fingerprintOf(cert: X509.X509Certificate): Promise<string> {
  const d = await webcrypto.subtle.digest('SHA-256', new Uint8Array(cert.rawData));
  return (Buffer.from(d).toString('hex').toUpperCase().match(/../g) ?? []).join(':');
}

let serialSeq = 0;
function serial(): string {
  // positive, 16 octets, unique within a run
  const r = Buffer.from(webcrypto.getRandomValues(new Uint8Array(15)));
  serialSeq = (serialSeq + 1) & 0xff;
  return ('1' + serialSeq.toString(16).padStart(2, '0') + r.toString('hex')).toUpperCase().slice(0, 32);
}

async function ecKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function rsaKeys(bits: number): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
}

interface Issuer {
  name: string;
  keys: CryptoKeyPair;
  cert: X509.X509Certificate;
}

async function makeCa(name: string, now: Date, days: number, keyType: 'ec' | 'rsa', bits: number): Promise<Issuer> {
  const keys = keyType === 'rsa' ? await rsaKeys(bits) : await ecKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + days * DAY),
    keys,
    signingAlgorithm: signAlg(keys),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, keys, cert };
}

interface LeafSpec {
  cn: string;
  notBefore: Date;
  notAfter: Date;
  keys: CryptoKeyPair;
  /** Extended key usage: `both` (server and client), `client`, `server`. */
  usage: 'both' | 'client' | 'server';
  san: boolean;
}

async function makeLeaf(issuer: Issuer | 'self', l: LeafSpec): Promise<X509.X509Certificate> {
  const rsa = l.keys.publicKey.algorithm.name.startsWith('RSA');
  const signer = issuer === 'self' ? l.keys : issuer.keys;
  const eku = l.usage === 'both' ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : l.usage === 'server' ? [x509.ExtendedKeyUsage.serverAuth] : [x509.ExtendedKeyUsage.clientAuth];
  const subject = `CN=${l.cn}, O=iec104 test PKI`;
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer === 'self' ? subject : issuer.cert.subject,
    notBefore: l.notBefore,
    notAfter: l.notAfter,
    publicKey: l.keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signAlg(signer),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
      new x509.ExtendedKeyUsageExtension(eku),
      ...(l.san
        ? [
            new x509.SubjectAlternativeNameExtension([
              { type: 'ip', value: '127.0.0.1' },
              { type: 'ip', value: '::1' },
              { type: 'dns', value: 'localhost' },
            ]),
          ]
        : []),
      await x509.SubjectKeyIdentifierExtension.create(l.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey),
    ],
  });
}

async function writePair(dir: string, name: string, cert: X509.X509Certificate, keys: CryptoKeyPair): Promise<TestPkiPair> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await writeFile(certPath, cert.toString('pem') + '\n');
  await writeFile(keyPath, pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
  return { cert: certPath, key: keyPath, serial: cert.serialNumber.toUpperCase(), fingerprint256: await fingerprintOf(cert) };
}

async function makeCrl(ca: Issuer, serials: string[], thisUpdate: Date): Promise<string> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + 30 * DAY),
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signAlg(ca.keys),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)],
    entries: serials.map((s) => ({ serialNumber: s, revocationDate: new Date(thisUpdate.getTime() - 60_000), reason: x509.X509CrlReason.keyCompromise })),
  });
  return pem('X509 CRL', crl.rawData);
}

/**
 * Create a test PKI in `dir` (created if missing): `ca.crt/key`, `server.crt/key`,
 * `client.crt/key`, `expired.*`, `not-yet-valid.*`, `revoked.*`, `ca.crl`, `other-ca.*`,
 * `other-client.*`, `small-key.*`, `server-only.*`, `self-signed.*`. Takes well under a second with
 * EC P-256 keys, a few seconds with RSA 3072.
 * Keys are unencrypted: for tests and demonstrations only.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { mkdtempSync, readFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { X509Certificate } from 'node:crypto';
 * import { createTestPki } from 'iec104';
 * const pki = await createTestPki(mkdtempSync(join(tmpdir(), 'pki-')));
 * const server = new X509Certificate(readFileSync(pki.leaves.server.cert));
 * const ca = new X509Certificate(readFileSync(pki.ca.cert));
 * assert.ok(server.checkIssued(ca));
 * assert.ok(server.checkIP('127.0.0.1'));
 * ```
 */
export async function createTestPki(dir: string, opts: TestPkiOptions = {}): Promise<TestPki> {
  await loadX509();
  const now = opts.now ?? new Date();
  const days = opts.days ?? 365;
  await mkdir(dir, { recursive: true });
  const keyType = opts.keyType ?? 'ec';
  const bits = opts.bits ?? 2048;
  if (keyType === 'rsa' && bits !== 2048 && bits !== 3072) throw new Error(`bits must be 2048 or 3072, not ${bits}`);
  const san = opts.san ?? true;
  const ca = await makeCa('CN=iec104 test CA, O=iec104 test PKI', now, days + 1, keyType, bits);
  const otherCa = await makeCa('CN=iec104 unrelated CA, O=somebody else', now, days + 1, keyType, bits);
  const from = new Date(now.getTime() - DAY);
  const to = new Date(now.getTime() + days * DAY);
  const specs: [TestPkiLeaf, string, Issuer | 'self', Date, Date, 'own' | 'rsa1024', LeafSpec['usage'], string?][] = [
    ['server', 'server', ca, from, to, 'own', 'both'],
    ['client', 'client', ca, from, to, 'own', 'client'],
    ['expired', 'expired', ca, new Date(now.getTime() - 30 * DAY), new Date(now.getTime() - DAY), 'own', 'client'],
    ['notYetValid', 'not-yet-valid', ca, new Date(now.getTime() + 10 * DAY), new Date(now.getTime() + 40 * DAY), 'own', 'client'],
    ['revoked', 'revoked', ca, from, to, 'own', 'client'],
    ['otherClient', 'other-client', otherCa, from, to, 'own', 'client'],
    ['smallKey', 'small-key', ca, from, to, 'rsa1024', 'client'],
    ['serverOnly', 'server-only', ca, from, to, 'own', 'server'],
    ['selfSigned', 'self-signed', 'self', from, to, 'own', 'client', 'client'],
  ];
  const caPair = await writePair(dir, 'ca', ca.cert, ca.keys);
  const otherCaPair = await writePair(dir, 'other-ca', otherCa.cert, otherCa.keys);
  const leaves = {} as Record<TestPkiLeaf, TestPkiPair>;
  await Promise.all(
    specs.map(async ([id, file, issuer, nb, na, kind, usage, cn]) => {
      const keys = kind === 'rsa1024' ? await rsaKeys(1024) : keyType === 'rsa' ? await rsaKeys(bits) : await ecKeys();
      const cert = await makeLeaf(issuer, { cn: `iec104 ${cn ?? file}`, notBefore: nb, notAfter: na, keys, usage, san });
      leaves[id] = await writePair(dir, file, cert, keys);
    }),
  );
  const crlPath = join(dir, 'ca.crl');
  let crlTime = now.getTime() - 3_600_000;
  const revoked = new Set<string>([leaves.revoked.serial]);
  const writeCrl = async (): Promise<void> => {
    crlTime += 1_000; // each CRL is newer than the previous
    await writeFile(crlPath, await makeCrl(ca, [...revoked], new Date(crlTime)));
  };
  await writeCrl();
  return {
    dir,
    ca: caPair,
    otherCa: otherCaPair,
    leaves,
    crl: crlPath,
    async revoke(...names) {
      for (const n of names) revoked.add(leaves[n].serial);
      await writeCrl();
    },
  };
}
