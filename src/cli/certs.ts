/**
 * `iec104 certs`: create a small test PKI (for trying TLS in a minute, never for production).
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createTestPki } from '../transport/test-pki.js';
import type { CliCommand } from './command.js';

const HELP = `usage: iec104 certs [DIR] [--key-type rsa|ec] [--bits 2048|3072] [--no-san] [--force]

Create a small test PKI for trying IEC 60870-5-104 over TLS (IEC 62351-3 style,
mutual X.509 authentication). THE KEYS ARE UNENCRYPTED: FOR TESTS ONLY.

Files (PEM) written to DIR (default ./iec104-pki):
  ca.crt ca.key                the test CA (trust anchor)
  server.crt server.key        server certificate, SAN 127.0.0.1, ::1, localhost
                               (none with --no-san)
  client.crt client.key        client certificate
  expired.*                    expired client certificate
  not-yet-valid.*              client certificate valid from in 10 days
  revoked.*  ca.crl            revoked client certificate and the CA's CRL
  other-ca.* other-client.*    an unrelated CA and a client certificate it issued
  small-key.*                  client certificate with a 1024-bit RSA key
  server-only.*                certificate for servers only (refused as a client's)
  self-signed.*                self-signed certificate copying the client's subject

options:
  DIR, --dir DIR        output directory (created if missing)
  --key-type T          ec (default: P-256) or rsa (for devices that take RSA only,
                        e.g. stacks whose TLS offers TLS_RSA_WITH_AES_128_CBC_SHA256 only)
  --bits N              RSA modulus: 2048 (default) or 3072
  --no-san              no subjectAltName in the certificates (like many field devices;
                        peers are then identified by chain and pins, not by name)
  --force               write into a directory that is not empty
  -h, --help            this text

example:
  $ iec104 certs ./pki
  $ iec104 certs ./pki-rsa --key-type rsa --bits 3072 --no-san
  then see docs/security.md, "From nothing to mutual TLS".

exit codes:
  0  PKI written
  1  the directory is not empty (without --force) or cannot be written
  2  usage error`;

/** Parse and run; returns the exit code. */
export async function runCerts(argv: string[], out: { write(s: string): unknown } = process.stdout, err: { write(s: string): unknown } = process.stderr): Promise<number> {
  let dir: string | undefined;
  let force = false;
  let keyType: 'ec' | 'rsa' = 'ec';
  let bits: 2048 | 3072 | undefined;
  let san = true;
  const usage = (m: string): number => {
    err.write(`iec104 certs: ${m}\n\nRun 'iec104 certs --help' for usage.\n`);
    return 2;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : argv[++i]);
    if (name === '--dir') {
      const v = value();
      if (v === undefined || v.startsWith('--')) return usage('--dir needs a directory');
      if (dir !== undefined) return usage(`one directory expected, got ${dir} and ${v}`);
      dir = v;
    } else if (name === '--key-type') {
      const v = value();
      if (v !== 'rsa' && v !== 'ec') return usage(`--key-type must be rsa or ec, not '${v ?? ''}'`);
      keyType = v;
    } else if (name === '--bits') {
      const v = value();
      if (v !== '2048' && v !== '3072') return usage(`--bits must be 2048 or 3072, not '${v ?? ''}'`);
      bits = Number(v) as 2048 | 3072;
    } else if (a === '--no-san') san = false;
    else if (a === '--force') force = true;
    else if (a.startsWith('-')) return usage(`unknown option '${a}'`);
    else {
      if (dir !== undefined) return usage(`one directory expected, got ${dir} and ${a}`);
      dir = a;
    }
  }
  if (bits !== undefined && keyType !== 'rsa') return usage('--bits applies to --key-type rsa');
  const abs = resolve(dir ?? 'iec104-pki');
  if (!force && existsSync(abs) && readdirSync(abs).length > 0) {
    err.write(`iec104 certs: ${abs} is not empty (use --force to overwrite)\n`);
    return 1;
  }
  try {
    const pki = await createTestPki(abs, { keyType, ...(bits ? { bits } : {}), san });
    out.write(`test PKI written to ${abs} (${keyType === 'rsa' ? `RSA ${bits ?? 2048}` : 'EC P-256'}${san ? '' : ', no subjectAltName'}; keys unencrypted: tests only)\n`);
    out.write(`  CA                ${pki.ca.cert}\n`);
    for (const [name, p] of Object.entries(pki.leaves)) out.write(`  ${name.padEnd(17)} ${p.cert}  sha256=${p.fingerprint256}\n`);
    out.write(`  CRL               ${pki.crl} (revokes 'revoked')\n`);
    return 0;
  } catch (e) {
    err.write(`iec104 certs: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

export const command: CliCommand = {
  summary: 'create a test PKI (CA, server/client and bad certificates, CRL) to try TLS',
  help: HELP,
  run: (argv) => runCerts(argv),
};
