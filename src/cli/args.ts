/**
 * Argument helpers shared by the CLI commands: the usage error, integer/number options, and the
 * shared TLS flags (`--tls --cert --key --tls-ca --peer-cert --peer-subject --crl --tls-ciphers
 * --tls-min-version --tls-max-version --tls-servername --tls-renegotiate --tls-test-invalid-cert`,
 * plus `--insecure` for the validation commands).
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { IEC104_PORT, parseHostPort } from '../master/tcp.js';
import { checkKeyStrength, DEFAULT_TLS_PORT, keyStrength, type ResolvedTlsConfig, resolveTlsConfig, tlsClientOptions, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';

/** A command-line usage error: the message says what was wrong; commands exit 2 with it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** Stable code for programs. */
  readonly code = 'E_USAGE' as const;
}

/**
 * Join a negative number to the option before it (`--setpoint-scaled -300` becomes
 * `--setpoint-scaled=-300`), so `node:util` parseArgs takes it as the value, not as an option.
 */
export function joinNegativeValues(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (/^--[a-z-]+$/.test(argv[i]) && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      args.push(`${argv[i]}=${next}`);
      i++;
    } else args.push(argv[i]);
  }
  return args;
}

/** `node:util` parseArgs options naming a command's target and value, shared by `command` and `measure`. */
export const COMMAND_VALUE_OPTIONS = {
  ca: { type: 'string' },
  ioa: { type: 'string' },
  single: { type: 'string' },
  double: { type: 'string' },
  'setpoint-normalized': { type: 'string' },
  'setpoint-scaled': { type: 'string' },
  'setpoint-float': { type: 'string' },
  select: { type: 'boolean' },
  time: { type: 'boolean' },
} as const;

/** `node:util` parseArgs options of the TLS flags shared by every TLS-capable command (`connect`, `command`, `probe`, `test`, `measure`; `serve` parses the same names). */
export const TLS_CLI_OPTIONS = {
  tls: { type: 'boolean' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'tls-ca': { type: 'string', multiple: true },
  'peer-cert': { type: 'string', multiple: true },
  'peer-subject': { type: 'string', multiple: true },
  crl: { type: 'string', multiple: true },
  'tls-ciphers': { type: 'string' },
  'tls-min-version': { type: 'string' },
  'tls-max-version': { type: 'string' },
  'tls-servername': { type: 'string' },
  'tls-renegotiate': { type: 'string' },
  'tls-test-invalid-cert': { type: 'boolean' },
} as const;

/** TLS flags as parsed. */
export interface TlsCliValues {
  tls?: boolean;
  cert?: string;
  key?: string;
  'tls-ca'?: string[];
  'peer-cert'?: string[];
  'peer-subject'?: string[];
  crl?: string[];
  'tls-ciphers'?: string;
  'tls-min-version'?: string;
  'tls-max-version'?: string;
  'tls-servername'?: string;
  'tls-renegotiate'?: string;
  'tls-test-invalid-cert'?: boolean;
}

/**
 * Help text of the TLS flags (`caFlag`: `--ca` for serve, `--tls-ca` where `--ca` is the common
 * address; `client`: with `--tls-servername`, the option of the connecting commands).
 */
export function tlsHelp(caFlag: '--ca' | '--tls-ca', client = caFlag === '--tls-ca'): string {
  return `  --tls                 mutual TLS (IEC 62351-3 profile, docs/security.md; default port
                        19998): needs --cert, --key, ${caFlag}
  --cert FILE           own certificate (PEM; RSA or EC)
  --key FILE            own private key (PEM, unencrypted)
  ${`${caFlag} FILE`.padEnd(22)}CA certificate(s) the peer's certificate must chain to (repeatable)
  --peer-cert FILE|FP   accept only this peer: a PEM certificate FILE or a SHA-256
                        fingerprint (repeatable; default any certificate of the CA)
  --peer-subject NAME   accept only peers with this certificate subject: a CN, a whole
                        subject (CN=..., O=...) or a /regex/ (repeatable)
  --crl FILE            certificate revocation list (PEM, repeatable; every CA of a
                        chain then needs a current CRL)
  --tls-ciphers LIST    OpenSSL cipher list (default: TLS 1.3 suites, ECDHE suites, then
                        the 62351-3 mandatory AES128-SHA256; weak suites are refused)
  --tls-min-version V   1.2 (default) or 1.3
  --tls-max-version V   1.2 or 1.3 (default)
${client ? `  --tls-servername NAME the station's certificate must be issued for NAME (DNS name or
                        IP address; default: no name check, the chain and pins decide)
` : ''}  --tls-renegotiate S   renegotiate TLS 1.2 sessions every S seconds (62351-3 session
                        renewal; a TLS 1.3 session is renewed by reconnecting)
  --tls-test-invalid-cert
                        TEST ONLY: present our own certificate even when it is expired or
                        not yet valid, to see how the peer refuses it`;
}

function tlsVersionArg(flag: string, v: string | undefined): 'TLSv1.2' | 'TLSv1.3' | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().replace(/^TLSv?/i, '');
  if (t === '1.2') return 'TLSv1.2';
  if (t === '1.3') return 'TLSv1.3';
  throw new UsageError(`${flag} expects 1.2 or 1.3, not '${v}' (TLS 1.1 and lower are refused)`);
}

/**
 * The {@link TlsConfig} of the TLS flags, or undefined without `--tls`. Throws {@link UsageError}
 * for a TLS flag without `--tls` or `--tls` without certificate, key and CA.
 */
export function tlsConfigFromArgs(o: TlsCliValues, caFlag = '--tls-ca'): TlsConfig | undefined {
  const flags = ['cert', 'key', 'tls-ca', 'peer-cert', 'peer-subject', 'crl', 'tls-ciphers', 'tls-min-version', 'tls-max-version', 'tls-servername', 'tls-renegotiate', 'tls-test-invalid-cert'] as const;
  const given = flags.filter((k) => o[k] !== undefined);
  if (!o.tls) {
    if (given.length) throw new UsageError(`${given.map((k) => (k === 'tls-ca' ? caFlag : `--${k}`)).join(', ')} need${given.length === 1 ? 's' : ''} --tls`);
    return undefined;
  }
  const missing = [o.cert === undefined ? '--cert' : '', o.key === undefined ? '--key' : '', o['tls-ca'] === undefined ? caFlag : ''].filter(Boolean);
  if (missing.length) throw new UsageError(`--tls needs ${missing.join(', ')} (mutual authentication: own certificate and key, and the CA of the peer)`);
  const cfg: TlsConfig = { cert: o.cert!, key: o.key!, ca: o['tls-ca']! };
  if (o['peer-cert']?.length) cfg.peerCertificates = o['peer-cert'];
  if (o['peer-subject']?.length) cfg.peerSubjects = o['peer-subject'];
  if (o.crl?.length) cfg.crl = o.crl;
  if (o['tls-ciphers'] !== undefined) cfg.ciphers = o['tls-ciphers'];
  const min = tlsVersionArg('--tls-min-version', o['tls-min-version']);
  if (min) cfg.minVersion = min;
  const max = tlsVersionArg('--tls-max-version', o['tls-max-version']);
  if (max) cfg.maxVersion = max;
  if (o['tls-servername'] !== undefined) cfg.servername = o['tls-servername'];
  const reneg = numArg('tls-renegotiate', o['tls-renegotiate'], 1);
  if (reneg !== undefined) cfg.renegotiationInterval = reneg * 1000;
  if (o['tls-test-invalid-cert']) cfg.presentInvalidCertificate = true;
  return cfg;
}

/** Parse a non-negative integer option, or throw {@link UsageError}. */
export function intArg(name: string, v: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t, 16) : /^-?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} expects an integer ${min}..${max}, not '${v}'`);
  return n;
}

/**
 * The station a connecting command (`connect`, `command`, `files`) talks to: its one `HOST[:PORT]`
 * positional; without a port in it, `--port`, else 19998 with TLS and 2404 without. `defaultPort`
 * is that fallback (for more addresses, e.g. standbys). Throws {@link UsageError}.
 */
export function targetArg(positionals: readonly string[], port: string | undefined, tls: boolean): { host: string; port: number; defaultPort: number } {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'HOST[:PORT] is missing' : `one HOST[:PORT] expected, got ${positionals.join(' ')}`);
  const defaultPort = intArg('port', port, 1, 65535) ?? (tls ? DEFAULT_TLS_PORT : IEC104_PORT);
  return { ...hostPortArg(positionals[0], defaultPort), defaultPort };
}

/** Run `f`: whatever it throws becomes a {@link UsageError} with the same message (option parsing, addresses, TLS flags). */
export function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** {@link parseHostPort} with a {@link UsageError} for a bad address. */
export function hostPortArg(text: string, defaultPort: number): { host: string; port: number } {
  return asUsage(() => parseHostPort(text, defaultPort));
}

/** Parse a positive number option (may be fractional). */
export function numArg(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name} expects a number >= ${min}, not '${v}'`);
  return n;
}

/** `node:util` parseArgs options of the TLS flags of `probe`, `test` and `measure`: the shared table, plus `--servername` (an alias of `--tls-servername`) and the lab-only `--insecure`. */
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
  const cfg = asUsage(() => tlsConfigFromArgs(v));
  if (!cfg) {
    if (v.servername !== undefined || v.insecure) throw new UsageError('--servername and --insecure need --tls');
    return undefined;
  }
  if (v.servername) cfg.servername = v.servername;
  // a validation command reports a refusal itself (probe: the TLS step): no acceptance wait
  cfg.acceptanceWait = 0;
  let r: ResolvedTlsConfig;
  try {
    r = resolveTlsConfig(cfg);
  } catch (e) {
    if (e instanceof TlsConfigError) throw new UsageError(`TLS: ${e.message}`);
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
  --servername NAME     the same as --tls-servername
  --insecure            LAB USE ONLY: do not refuse a station certificate that fails
                        verification (chain, name, key size, --peer-cert); still reported`;
