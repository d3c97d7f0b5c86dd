/**
 * Small argument helpers shared by the validation CLI commands (`probe`, `test`, `measure`).
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { TLS_CLI_OPTIONS, type TlsCliValues, tlsConfigFromArgs, tlsHelp } from '../cli/connect.js';
import { checkKeyStrength, keyStrength, type ResolvedTlsConfig, resolveTlsConfig, tlsClientOptions, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';

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

/** `node:util` parseArgs options of the TLS flags of `probe`, `test` and `measure`: the shared table of `connect`/`command`/`serve`, plus `--servername` and the lab-only `--insecure`. */
export const VALIDATE_TLS_CLI_OPTIONS = {
  ...TLS_CLI_OPTIONS,
  servername: { type: 'string' },
  insecure: { type: 'boolean' },
} as const;

/** The TLS flags as parsed. */
export interface ValidateTlsCliValues extends TlsCliValues {
  servername?: string;
  insecure?: boolean;
}

/**
 * TLS client options from the TLS flags (`--tls --cert F --key F --tls-ca F [--peer-cert X]
 * [--crl F] [--servername N] [--insecure]`), or undefined without `--tls`. The configuration is
 * built and checked like `connect` and `command` build theirs ({@link tlsConfigFromArgs},
 * `resolveTlsConfig`: files read, own key size, TLS 1.2+, cipher policy); the station's certificate
 * is then verified during the handshake by Node (chain, CRLs, host name) and by
 * {@link stationCertificateCheck} (key size, `--peer-cert` allow-list), as `connectTls` does after
 * it. The validation commands keep their own TLS handshake on the connected socket so that the
 * TCP connect and the handshake are timed separately (`openStream`).
 *
 * `--insecure` (lab use only) does not refuse a station certificate that fails these checks: the
 * failure is still reported (`authorized: false`, `authorizationError`).
 */
export function tlsArgs(v: ValidateTlsCliValues): tls.ConnectionOptions | undefined {
  let cfg: TlsConfig | undefined;
  try {
    cfg = tlsConfigFromArgs(v);
  } catch (e) {
    throw new CliUsageError(e instanceof Error ? e.message : String(e));
  }
  if (!cfg) {
    if (v.servername !== undefined || v.insecure) throw new CliUsageError('--servername and --insecure need --tls');
    return undefined;
  }
  if (v.servername) cfg.servername = v.servername;
  let r: ResolvedTlsConfig;
  try {
    r = resolveTlsConfig(cfg);
  } catch (e) {
    if (e instanceof TlsConfigError) throw new CliUsageError(`TLS: ${e.message}`);
    throw e;
  }
  // the host is the target's: '::' (an address) keeps the SNI name out unless --servername gave one;
  // openStream sets it from a target host name
  const o = tlsClientOptions(r, '::');
  const identity = o.checkServerIdentity ?? tls.checkServerIdentity;
  return {
    ...o,
    rejectUnauthorized: !v.insecure,
    checkServerIdentity: (host, cert) => identity(host, cert) ?? stationCertificateCheck(r, cert),
  };
}

/**
 * What `TlsSecurity.verify` checks on a peer beyond OpenSSL's chain verification, for a certificate
 * seen during the handshake: key size (`E_TLS_KEY_TOO_SMALL`) and the allow-list
 * (`E_TLS_NOT_ALLOWED`). Returns the error that fails the handshake, or undefined.
 */
export function stationCertificateCheck(r: ResolvedTlsConfig, cert: tls.PeerCertificate): Error | undefined {
  if (!cert.raw) return undefined;
  const x = new X509Certificate(cert.raw);
  const weak = checkKeyStrength(keyStrength(x), r.minKeyBits);
  if (weak) return Object.assign(new Error(`station certificate: ${weak}`), { code: 'E_TLS_KEY_TOO_SMALL' });
  if (r.allowedFingerprints && !r.allowedFingerprints.has(x.fingerprint256)) {
    return Object.assign(new Error(`station certificate ${x.subject.replace(/\n/g, ', ')} (${x.fingerprint256}) is not on the --peer-cert allow-list`), { code: 'E_TLS_NOT_ALLOWED' });
  }
  return undefined;
}

/** The TLS options text for --help. */
export const TLS_HELP = `${tlsHelp('--tls-ca')}
  --servername NAME  name expected in the station's certificate (default: the host name)
  --insecure         LAB USE ONLY: do not refuse a station certificate that fails
                     verification (chain, name, key size, --peer-cert); still reported`;
