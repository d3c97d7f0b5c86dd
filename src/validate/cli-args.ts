/**
 * Small argument helpers shared by the validation CLI commands (`probe`, `test`, `measure`).
 */
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';

/** A command-line usage error (exit code 2). */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Parse a non-negative integer option, or throw {@link CliUsageError}. */
export function intArg(name: string, v: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t, 16) : /^-?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new CliUsageError(`--${name} expects an integer ${min}..${max}, not '${v}'`);
  return n;
}

/** Parse a positive number option (may be fractional). */
export function numArg(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new CliUsageError(`--${name} expects a number >= ${min}, not '${v}'`);
  return n;
}

/** TLS client options from `--tls --cert F --key F --ca F [--servername N] [--insecure]`. */
export function tlsArgs(v: { tls?: boolean; cert?: string; key?: string; 'tls-ca'?: string; servername?: string; insecure?: boolean }): tls.ConnectionOptions | undefined {
  if (!v.tls) {
    if (v.cert || v.key || v['tls-ca']) throw new CliUsageError('--cert, --key and --tls-ca need --tls');
    return undefined;
  }
  const read = (opt: string, f: string | undefined): Buffer | undefined => {
    if (f === undefined) return undefined;
    try {
      return readFileSync(f);
    } catch (e) {
      throw new CliUsageError(`--${opt}: cannot read ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if ((v.cert === undefined) !== (v.key === undefined)) throw new CliUsageError('--cert and --key go together');
  const o: tls.ConnectionOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: !v.insecure };
  const cert = read('cert', v.cert);
  const key = read('key', v.key);
  const ca = read('tls-ca', v['tls-ca']);
  if (cert) o.cert = cert;
  if (key) o.key = key;
  if (ca) o.ca = ca;
  if (v.servername) o.servername = v.servername;
  return o;
}

/** The TLS options text for --help. */
export const TLS_HELP = `  --tls              connect with TLS (IEC 62351-3)
  --cert FILE        client certificate (PEM)
  --key FILE         client private key (PEM)
  --tls-ca FILE      CA certificate(s) the station's certificate must chain to (PEM)
  --servername NAME  name expected in the station's certificate (default: the host name)
  --insecure         do not verify the station's certificate (still reported)`;
