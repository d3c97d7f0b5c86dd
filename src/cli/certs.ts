/**
 * `iec104 certs`: create a small test PKI (for trying TLS in a minute, never for production).
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createTestPki } from '../transport/test-pki.js';
import type { CliCommand } from './command.js';

const HELP = `usage: iec104 certs [--dir DIR] [--force]

Create a small test PKI for trying IEC 60870-5-104 over TLS (IEC 62351-3 style,
mutual X.509 authentication). THE KEYS ARE UNENCRYPTED: FOR TESTS ONLY.

Files (PEM) written to DIR (default ./iec104-pki):
  ca.crt ca.key                the test CA (trust anchor)
  server.crt server.key        server certificate, SAN 127.0.0.1, ::1, localhost
  client.crt client.key        client certificate
  expired.*                    expired client certificate
  not-yet-valid.*              client certificate valid from in 10 days
  revoked.*  ca.crl            revoked client certificate and the CA's CRL
  other-ca.* other-client.*    an unrelated CA and a client certificate it issued
  small-key.*                  client certificate with a 1024-bit RSA key

options:
  --dir DIR    output directory (created if missing)
  --force      write into a directory that is not empty
  -h, --help   this text

example:
  $ iec104 certs --dir ./pki
  then see docs/security.md, "From nothing to mutual TLS".

exit codes:
  0  PKI written
  1  the directory is not empty (without --force) or cannot be written
  2  usage error`;

/** Parse and run; returns the exit code. */
export async function runCerts(argv: string[], out: { write(s: string): unknown } = process.stdout, err: { write(s: string): unknown } = process.stderr): Promise<number> {
  let dir = 'iec104-pki';
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dir') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) {
        err.write('iec104 certs: --dir needs a directory\n');
        return 2;
      }
      dir = v;
    } else if (a.startsWith('--dir=')) dir = a.slice(6);
    else if (a === '--force') force = true;
    else {
      err.write(`iec104 certs: unknown option '${a}'\n`);
      return 2;
    }
  }
  const abs = resolve(dir);
  if (!force && existsSync(abs) && readdirSync(abs).length > 0) {
    err.write(`iec104 certs: ${abs} is not empty (use --force to overwrite)\n`);
    return 1;
  }
  try {
    const pki = await createTestPki(abs);
    out.write(`test PKI written to ${abs} (keys unencrypted: tests only)\n`);
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
