/**
 * Typed TLS configuration for IEC 60870-5-104 over TLS and its translation to Node `tls`
 * server/client options. The defaults are the IEC 62351-3 (Ed. 2 with amendment 1) profile, so a
 * default station and master interoperate with a default 62351-3 peer (docs/security.md, "The TLS
 * profile"): port 19998, TLS 1.2 and 1.3, mutual X.509 authentication, chain validation to the
 * configured CAs (host name matching only on request), revocation by CRL, the mandatory TLS 1.2
 * suite `TLS_RSA_WITH_AES_128_CBC_SHA256` next to the recommended ECDHE suites, peer-initiated
 * TLS 1.2 renegotiation accepted at a bounded rate, session resumption on the server.
 *
 * What Node (OpenSSL through `node:tls`) cannot do, and what this module does instead:
 * - **TLS 1.3 KeyUpdate cannot be initiated** (no binding of `SSL_key_update`); a KeyUpdate sent by
 *   the peer is answered by OpenSSL. Instead, {@link TlsConfig.maxSessionDuration} closes a session
 *   after a configured time so the peer reconnects with a fresh handshake (new keys).
 * - **Renegotiation exists only up to TLS 1.2.** Peer-initiated renegotiation is accepted by
 *   default (62351-3 session renewal), bounded by {@link TlsConfig.minRenegotiationInterval};
 *   `allowRenegotiation: false` refuses it (`SSL_OP_NO_RENEGOTIATION`). A periodic local
 *   renegotiation ({@link TlsConfig.renegotiationInterval}, the 62351-3 "session key renegotiation"
 *   interval) works on TLS 1.2 sessions only.
 * - **No OCSP** (stapling or responder queries): revocation is by CRL files only, reloadable at run
 *   time ({@link TlsSecurity.reloadCrl}).
 * - Session resumption: session IDs (a bounded in-memory cache) and tickets; `sessionTimeout`
 *   (seconds) and `ticketKeys` are passed to Node; Node has no per-session "maximum resumption count".
 */
import { X509Certificate, createPrivateKey, constants as cryptoConstants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type tls from 'node:tls';

/** The IANA port of IEC 60870-5-104 over TLS (IEC 62351-3). */
export const DEFAULT_TLS_PORT = 19998;

/**
 * The TLS 1.3 suites of the profile (all AEAD, all with forward secrecy).
 */
export const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'] as const;

/**
 * The TLS 1.2 suites of the profile, most preferred first: the ECDHE suites IEC 62351-3 Ed. 2
 * recommends (forward secrecy; AES-GCM, ChaCha20-Poly1305, AES-CBC with SHA-256/384), then the
 * suite it makes mandatory, `TLS_RSA_WITH_AES_128_CBC_SHA256` (OpenSSL `AES128-SHA256`: RSA key
 * exchange, **no forward secrecy**; kept for interoperability, last, and reported with a warning
 * when negotiated).
 */
export const TLS12_SUITES = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'AES128-SHA256',
] as const;

/** Default cipher list: {@link TLS13_SUITES} then {@link TLS12_SUITES} (the IEC 62351-3 profile). */
export const DEFAULT_TLS_CIPHERS = [...TLS13_SUITES, ...TLS12_SUITES].join(':');

/** `SSL_OP_ALLOW_CLIENT_RENEGOTIATION` of OpenSSL 3 (not in Node's `crypto.constants`): a server accepts client-initiated renegotiation. */
const SSL_OP_ALLOW_CLIENT_RENEGOTIATION = 0x100;

/** PEM text (starts with `-----BEGIN`) or a file path. */
export type PemSource = string | Uint8Array;

/** TLS protocol versions we accept (1.1 and lower are refused). */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** Minimum key sizes in bits. */
export interface MinKeyBits {
  /** RSA modulus (default 2048). */
  rsa?: number;
  /** EC curve size (default 256). */
  ec?: number;
}

/** TLS configuration of one end (server or client). All times in milliseconds unless said. */
export interface TlsConfig {
  /** Own certificate chain (PEM file path or PEM text). */
  cert: PemSource;
  /** Own private key. Never logged. */
  key: PemSource;
  /** Passphrase of an encrypted `key`. Never logged. */
  passphrase?: string;
  /** Trust anchors: CA certificates the peer's certificate must chain to. Required. */
  ca: PemSource | PemSource[];
  /**
   * Allow-list of peer certificates: SHA-256 fingerprints (`AA:BB:..`, or 64 hex digits) or PEM
   * certificates (files or text). When given, a peer whose (valid) certificate is not listed is
   * refused with `E_TLS_NOT_ALLOWED`. Default: any certificate issued by `ca`.
   */
  peerCertificates?: PemSource[];
  /**
   * Allow-list of peer certificate subjects: a common name (`scada-1`), a whole subject
   * (`CN=scada-1, O=Utility`, as Node prints it with `, ` separators) or a `/regex/` matched against
   * the whole subject. When given, a (valid) peer whose subject matches none is refused with
   * `E_TLS_NOT_ALLOWED`. Applies together with `peerCertificates` (both must match when both are set).
   */
  peerSubjects?: string[];
  /** CRL files (PEM) of the CAs. Reloadable at run time. With CRLs, every CA of a chain needs one (OpenSSL CRL_CHECK_ALL). */
  crl?: PemSource[];
  /** Lowest TLS version (default `TLSv1.2`). */
  minVersion?: TlsVersion;
  /** Highest TLS version (default `TLSv1.3`). */
  maxVersion?: TlsVersion;
  /**
   * OpenSSL cipher list (TLS 1.2 suites and TLS 1.3 suite names, `:`-separated). Refused when it
   * enables NULL, EXPORT, anonymous, RC4, DES/3DES or MD5 suites. Default: Node's default list.
   * Those suites are also always excluded by appending `!aNULL:!eNULL:!EXPORT:!DES:!3DES:!RC4:!MD5`.
   */
  ciphers?: string;
  /** Server: require a client certificate (default true: mutual authentication). */
  requireClientCert?: boolean;
  /** Minimum key sizes, checked on our own certificate at load and on the peer's at each handshake. */
  minKeyBits?: MinKeyBits;
  /** TLS handshake must finish within this time after the TCP connection (default 30 000 = t0). */
  handshakeTimeout?: number;
  /**
   * Accept peer-initiated TLS 1.2 renegotiation (IEC 62351-3 session renewal; default true). Each
   * one is counted and reported ({@link SecurityEvents.session}); see `minRenegotiationInterval`.
   * `false`: refused (`SSL_OP_NO_RENEGOTIATION`; the peer gets a `no_renegotiation` alert).
   */
  allowRenegotiation?: boolean;
  /**
   * Rate bound of peer-initiated renegotiation (ms, default 1000): more than `renegotiationBurst`
   * (default 3) handshakes in a row, each less than this after the previous one, close the session
   * (`E_TLS_RENEGOTIATION`). A peer renegotiating every 2 s is fine.
   */
  minRenegotiationInterval?: number;
  /** See `minRenegotiationInterval` (default 3). */
  renegotiationBurst?: number;
  /** Renegotiate TLS 1.2 sessions every this many ms (default off; a TLS 1.3 session is renewed by reconnecting, see `maxSessionDuration`). */
  renegotiationInterval?: number;
  /** Close a session after this many ms so a fresh handshake renews keys (TLS 1.3 has no initiable KeyUpdate in Node; default off). */
  maxSessionDuration?: number;
  /** Server: lifetime of resumable sessions and tickets in seconds (1..86 400; Node default 300). */
  sessionTimeout?: number;
  /** Server: 48-byte session ticket keys (share between servers of a cluster; rotate). Never logged. */
  ticketKeys?: Uint8Array;
  /** Server: issue session tickets (default true; false sets `SSL_OP_NO_TICKET`). */
  sessionTickets?: boolean;
  /** Server: how many TLS 1.2 sessions are kept for resumption by session ID (default 1000; 0 = none: tickets only). */
  sessionCacheSize?: number;
  /**
   * Client: check that the server certificate names the server (SAN DNS/IP, else CN). Default: only
   * when `servername` is given. IEC 62351-3 identifies peers by their certificate chain (and
   * optionally by pinning: `peerCertificates`, `peerSubjects`), not by host name: stations are
   * reached by IP address and their certificates often carry no subjectAltName.
   */
  checkServerIdentity?: boolean;
  /**
   * Client: the name (DNS name or IP address) the server certificate must be issued for; turns on
   * `checkServerIdentity`. A DNS name is also sent as SNI.
   */
  servername?: string;
  /**
   * Client: after the handshake, wait this long (ms, default 250, 0 = not at all) for the server to
   * refuse our certificate before the connection counts as established. A TLS 1.3 server (and any
   * Node-based server) checks the client certificate after the client has finished its handshake;
   * a refusal then arrives as an alert or a close right after it, and is reported as
   * `E_TLS_CERT_REFUSED` instead of a connection that opens and drops.
   */
  acceptanceWait?: number;
  /**
   * TEST ONLY: present our own certificate even when it is expired or not yet valid (normally a
   * configuration error, refused at load), to see how a peer refuses it. Logged as a warning.
   */
  presentInvalidCertificate?: boolean;
}

/** Invalid {@link TlsConfig}: `field` names the offending option. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  readonly code = 'E_TLS_CONFIG' as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`tls.${field}: ${message}`);
  }
}

/** A {@link TlsConfig} with files read, defaults applied and everything validated. */
export interface ResolvedTlsConfig {
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
  ca: Buffer[];
  /** Allowed peer fingerprints (upper case, colon separated); undefined = any. */
  allowedFingerprints?: ReadonlySet<string>;
  /** Allowed peer subjects (see {@link TlsConfig.peerSubjects}); undefined = any. */
  peerSubjects?: readonly string[];
  crl: Buffer[];
  /** CRL sources as given (for reload). */
  crlSources: PemSource[];
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  ciphers: string;
  requireClientCert: boolean;
  minKeyBits: Required<MinKeyBits>;
  handshakeTimeout: number;
  allowRenegotiation: boolean;
  minRenegotiationInterval: number;
  renegotiationBurst: number;
  renegotiationInterval?: number;
  maxSessionDuration?: number;
  sessionTimeout?: number;
  ticketKeys?: Buffer;
  sessionTickets: boolean;
  sessionCacheSize: number;
  checkServerIdentity: boolean;
  servername?: string;
  acceptanceWait: number;
  /** Own certificate is expired or not yet valid and `presentInvalidCertificate` let it through: why. */
  invalidOwnCertificate?: string;
  /** Own certificate, parsed. */
  certificate: X509Certificate;
}

const VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];
/** Suites never accepted in `ciphers`. */
const FORBIDDEN = /(^|[-_+])(NULL|ENULL|ANULL|EXP|EXPORT|EXPORT40|EXPORT56|ANON|ADH|AECDH|RC4|DES|3DES|DES-CBC3|MD5|IDEA|SEED)([-_]|$)|^(ALL|COMPLEMENTOFALL|COMPLEMENTOFDEFAULT|LOW|SSLV3)$/i;
const ALWAYS_EXCLUDED = '!aNULL:!eNULL:!EXPORT:!DES:!3DES:!RC4:!MD5';

function readPem(field: string, src: PemSource): Buffer {
  if (typeof src !== 'string') return Buffer.from(src);
  if (src.includes('-----BEGIN')) return Buffer.from(src);
  try {
    return readFileSync(src);
  } catch (e) {
    throw new TlsConfigError(field, `cannot read ${src}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Split a PEM bundle into its certificates. */
export function splitPemCertificates(pem: Buffer | string): string[] {
  return String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Normalise a SHA-256 fingerprint (`aa:bb..`, `AABB..`) to Node's `AA:BB:..` form; undefined if it is not one. */
export function normalizeFingerprint(s: string): string | undefined {
  const hex = s.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return (hex.match(/../g) ?? []).join(':');
}

/** Key type and size in bits of a certificate's public key. */
export function keyStrength(cert: X509Certificate): { type: string; bits: number } {
  const k = cert.publicKey;
  const type = k.asymmetricKeyType ?? 'unknown';
  const d = k.asymmetricKeyDetails ?? {};
  if (d.modulusLength) return { type, bits: d.modulusLength };
  if (d.namedCurve) {
    const m = /(\d{3})/.exec(d.namedCurve);
    return { type, bits: m ? Number(m[1]) : 0 };
  }
  if (type === 'ed25519' || type === 'x25519') return { type, bits: 256 };
  if (type === 'ed448' || type === 'x448') return { type, bits: 448 };
  return { type, bits: 0 };
}

/** Whether `strength` meets `min`; returns the reason when not. */
export function checkKeyStrength(strength: { type: string; bits: number }, min: Required<MinKeyBits>): string | undefined {
  if (strength.type === 'rsa' || strength.type === 'rsa-pss' || strength.type === 'dsa') {
    return strength.bits < min.rsa ? `${strength.type.toUpperCase()} key of ${strength.bits} bits (minimum ${min.rsa})` : undefined;
  }
  if (strength.type === 'ec' || strength.type === 'ed25519' || strength.type === 'ed448') {
    return strength.bits < min.ec ? `${strength.type.toUpperCase()} key of ${strength.bits} bits (minimum ${min.ec})` : undefined;
  }
  return `unsupported key type ${strength.type}`;
}

/** Validate an OpenSSL cipher string; returns it with the weak classes always excluded. */
export function validateCiphers(ciphers: string): string {
  const tokens = ciphers.split(/[:,\s]+/).filter((t) => t.length > 0);
  if (tokens.length === 0) throw new TlsConfigError('ciphers', 'empty cipher list');
  for (const t of tokens) {
    if (t.startsWith('!') || t.startsWith('-') || t.startsWith('@')) continue; // exclusions and @STRENGTH/@SECLEVEL
    for (const part of t.replace(/^\+/, '').split('+')) {
      if (FORBIDDEN.test(part)) throw new TlsConfigError('ciphers', `'${t}' enables weak suites (NULL, EXPORT, anonymous, RC4, DES/3DES or MD5 are refused)`);
    }
  }
  if (tokens.some((t) => /^@SECLEVEL=0$/i.test(t))) throw new TlsConfigError('ciphers', '@SECLEVEL=0 is refused');
  return `${tokens.join(':')}:${ALWAYS_EXCLUDED}`;
}

function positiveMs(field: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v <= 0) throw new TlsConfigError(field, `must be a positive number of milliseconds, got ${v}`);
  return v;
}

/**
 * Read the files of a {@link TlsConfig}, apply defaults and validate everything; throws
 * {@link TlsConfigError} naming the field.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { resolveTlsConfig, TlsConfigError } from 'iec104';
 * assert.throws(
 *   () => resolveTlsConfig({ cert: 'x', key: 'y', ca: [], minVersion: 'TLSv1.1' as 'TLSv1.2' }),
 *   (e: unknown) => e instanceof TlsConfigError && e.field === 'minVersion',
 * );
 * ```
 */
export function resolveTlsConfig(cfg: TlsConfig): ResolvedTlsConfig {
  const version = (field: 'minVersion' | 'maxVersion', v: string | undefined, d: TlsVersion): TlsVersion => {
    if (v === undefined) return d;
    if (!(VERSIONS as readonly string[]).includes(v)) throw new TlsConfigError(field, `'${v}' is not allowed: only TLSv1.2 and TLSv1.3 (TLS 1.1 and lower are refused)`);
    return v as TlsVersion;
  };
  const minVersion = version('minVersion', cfg.minVersion, 'TLSv1.2');
  const maxVersion = version('maxVersion', cfg.maxVersion, 'TLSv1.3');
  if (VERSIONS.indexOf(minVersion) > VERSIONS.indexOf(maxVersion)) throw new TlsConfigError('maxVersion', `${maxVersion} is below minVersion ${minVersion}`);

  const minKeyBits = { rsa: cfg.minKeyBits?.rsa ?? 2048, ec: cfg.minKeyBits?.ec ?? 256 };
  if (!Number.isInteger(minKeyBits.rsa) || minKeyBits.rsa < 2048) throw new TlsConfigError('minKeyBits.rsa', `must be an integer >= 2048, got ${minKeyBits.rsa}`);
  if (!Number.isInteger(minKeyBits.ec) || minKeyBits.ec < 256) throw new TlsConfigError('minKeyBits.ec', `must be an integer >= 256, got ${minKeyBits.ec}`);

  if (cfg.cert === undefined) throw new TlsConfigError('cert', 'required');
  if (cfg.key === undefined) throw new TlsConfigError('key', 'required');
  const cert = readPem('cert', cfg.cert);
  const key = readPem('key', cfg.key);
  const firstCert = splitPemCertificates(cert)[0];
  if (!firstCert) throw new TlsConfigError('cert', 'no PEM certificate found');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(firstCert);
  } catch (e) {
    throw new TlsConfigError('cert', `not a valid certificate: ${(e as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey({ key, passphrase: cfg.passphrase });
  } catch {
    // never echo the key material or the library message (it may quote the input)
    throw new TlsConfigError('key', 'not a readable private key (wrong format or passphrase)');
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new TlsConfigError('key', 'does not match the certificate in cert');
  const own = checkKeyStrength(keyStrength(certificate), minKeyBits);
  if (own) throw new TlsConfigError('cert', `own key too small or unsupported: ${own}`);
  const now = Date.now();
  let invalidOwnCertificate: string | undefined;
  if (Date.parse(certificate.validTo) < now) invalidOwnCertificate = `own certificate expired on ${certificate.validTo}`;
  else if (Date.parse(certificate.validFrom) > now) invalidOwnCertificate = `own certificate not valid before ${certificate.validFrom}`;
  if (invalidOwnCertificate && !cfg.presentInvalidCertificate) throw new TlsConfigError('cert', `${invalidOwnCertificate} (to present it anyway for a test, set presentInvalidCertificate / --tls-test-invalid-cert)`);

  const caList = cfg.ca === undefined ? [] : Array.isArray(cfg.ca) ? cfg.ca : [cfg.ca];
  const ca = caList.map((c, i) => readPem(`ca[${i}]`, c));
  if (ca.length === 0 || ca.every((c) => splitPemCertificates(c).length === 0)) throw new TlsConfigError('ca', 'at least one trust anchor certificate is required');

  let allowedFingerprints: Set<string> | undefined;
  if (cfg.peerCertificates !== undefined) {
    allowedFingerprints = new Set();
    cfg.peerCertificates.forEach((p, i) => {
      const fp = typeof p === 'string' ? normalizeFingerprint(p) : undefined;
      if (fp) {
        allowedFingerprints!.add(fp);
        return;
      }
      const pems = splitPemCertificates(readPem(`peerCertificates[${i}]`, p));
      if (pems.length === 0) throw new TlsConfigError(`peerCertificates[${i}]`, 'neither a SHA-256 fingerprint nor a PEM certificate');
      for (const c of pems) allowedFingerprints!.add(new X509Certificate(c).fingerprint256);
    });
    if (allowedFingerprints.size === 0) throw new TlsConfigError('peerCertificates', 'empty allow-list would refuse every peer (omit it to allow any certificate of ca)');
  }

  let peerSubjects: string[] | undefined;
  if (cfg.peerSubjects !== undefined) {
    if (!Array.isArray(cfg.peerSubjects) || cfg.peerSubjects.length === 0) throw new TlsConfigError('peerSubjects', 'empty allow-list would refuse every peer (omit it to allow any subject)');
    peerSubjects = cfg.peerSubjects.map((p, i) => {
      if (typeof p !== 'string' || p.trim() === '') throw new TlsConfigError(`peerSubjects[${i}]`, 'must be a non-empty common name, subject or /regex/');
      const m = /^\/(.+)\/([a-z]*)$/.exec(p);
      if (m) {
        try {
          new RegExp(m[1], m[2]);
        } catch (e) {
          throw new TlsConfigError(`peerSubjects[${i}]`, `invalid regular expression: ${(e as Error).message}`);
        }
      }
      return p;
    });
  }

  const crlSources = cfg.crl ?? [];
  const crl = loadCrls(crlSources);

  const ciphers = validateCiphers(cfg.ciphers ?? DEFAULT_TLS_CIPHERS);
  const handshakeTimeout = positiveMs('handshakeTimeout', cfg.handshakeTimeout) ?? 30_000;
  const allowRenegotiation = cfg.allowRenegotiation ?? true;
  const renegotiationInterval = positiveMs('renegotiationInterval', cfg.renegotiationInterval);
  if (renegotiationInterval !== undefined && !allowRenegotiation) throw new TlsConfigError('renegotiationInterval', 'needs allowRenegotiation (renegotiation is disabled)');
  if (renegotiationInterval !== undefined && minVersion === 'TLSv1.3') throw new TlsConfigError('renegotiationInterval', 'TLS 1.3 has no renegotiation; use maxSessionDuration (renewal by reconnecting)');
  const minRenegotiationInterval = positiveMs('minRenegotiationInterval', cfg.minRenegotiationInterval) ?? 1_000;
  const renegotiationBurst = cfg.renegotiationBurst ?? 3;
  if (!Number.isInteger(renegotiationBurst) || renegotiationBurst < 1 || renegotiationBurst > 100) throw new TlsConfigError('renegotiationBurst', `must be an integer 1..100, got ${renegotiationBurst}`);
  const sessionCacheSize = cfg.sessionCacheSize ?? 1_000;
  if (!Number.isInteger(sessionCacheSize) || sessionCacheSize < 0 || sessionCacheSize > 1_000_000) throw new TlsConfigError('sessionCacheSize', `must be an integer 0..1000000, got ${sessionCacheSize}`);
  const acceptanceWait = cfg.acceptanceWait ?? 250;
  if (!Number.isFinite(acceptanceWait) || acceptanceWait < 0 || acceptanceWait > 60_000) throw new TlsConfigError('acceptanceWait', `must be 0..60000 ms, got ${acceptanceWait}`);
  if (cfg.servername !== undefined && (typeof cfg.servername !== 'string' || cfg.servername.trim() === '')) throw new TlsConfigError('servername', 'must be a non-empty DNS name or IP address');
  const maxSessionDuration = positiveMs('maxSessionDuration', cfg.maxSessionDuration);
  if (cfg.sessionTimeout !== undefined && (!Number.isInteger(cfg.sessionTimeout) || cfg.sessionTimeout < 1 || cfg.sessionTimeout > 86_400)) {
    throw new TlsConfigError('sessionTimeout', `must be an integer number of seconds in 1..86400, got ${cfg.sessionTimeout}`);
  }
  if (cfg.ticketKeys !== undefined && cfg.ticketKeys.length !== 48) throw new TlsConfigError('ticketKeys', `must be 48 bytes, got ${cfg.ticketKeys.length}`);
  return {
    cert,
    key,
    passphrase: cfg.passphrase,
    ca,
    allowedFingerprints,
    ...(peerSubjects ? { peerSubjects } : {}),
    crl,
    crlSources,
    minVersion,
    maxVersion,
    ciphers,
    requireClientCert: cfg.requireClientCert ?? true,
    minKeyBits,
    handshakeTimeout,
    allowRenegotiation,
    minRenegotiationInterval,
    renegotiationBurst,
    renegotiationInterval,
    maxSessionDuration,
    sessionTimeout: cfg.sessionTimeout,
    ticketKeys: cfg.ticketKeys ? Buffer.from(cfg.ticketKeys) : undefined,
    sessionTickets: cfg.sessionTickets ?? true,
    sessionCacheSize,
    checkServerIdentity: cfg.checkServerIdentity ?? cfg.servername !== undefined,
    servername: cfg.servername,
    acceptanceWait,
    ...(invalidOwnCertificate ? { invalidOwnCertificate } : {}),
    certificate,
  };
}

/** Read CRL files/texts (PEM `X509 CRL`); throws {@link TlsConfigError} for `crl[i]`. */
export function loadCrls(sources: readonly PemSource[]): Buffer[] {
  return sources.map((s, i) => {
    const b = readPem(`crl[${i}]`, s);
    if (!String(b).includes('-----BEGIN X509 CRL-----')) throw new TlsConfigError(`crl[${i}]`, 'no PEM CRL (-----BEGIN X509 CRL-----) found');
    return b;
  });
}

function secureOptionsOf(r: ResolvedTlsConfig, server: boolean): number {
  let o = 0;
  if (!r.allowRenegotiation) o |= cryptoConstants.SSL_OP_NO_RENEGOTIATION ?? 0;
  // OpenSSL 3 servers refuse client-initiated renegotiation unless told otherwise
  else if (server) o |= SSL_OP_ALLOW_CLIENT_RENEGOTIATION;
  if (server && !r.sessionTickets) o |= cryptoConstants.SSL_OP_NO_TICKET;
  return o;
}

/** Credentials, trust anchors, CRLs, versions and ciphers: the same for both ends. */
function commonTlsOptions(r: ResolvedTlsConfig): tls.SecureContextOptions {
  return {
    cert: r.cert,
    key: r.key,
    passphrase: r.passphrase,
    ca: r.ca,
    crl: r.crl.length ? r.crl : undefined,
    minVersion: r.minVersion,
    maxVersion: r.maxVersion,
    ciphers: r.ciphers,
  };
}

/**
 * Node `tls.createServer` options. The client certificate is requested (`requestCert`) but not
 * rejected by Node (`rejectUnauthorized: false`): {@link TlsSecurity.verify} decides after the
 * handshake and before any application byte is read, so every refusal gets its own code. Used alone
 * with `tls.createServer`, call `verify` in `secureConnection` yourself.
 */
export function tlsServerOptions(r: ResolvedTlsConfig): tls.TlsOptions {
  return {
    ...commonTlsOptions(r),
    honorCipherOrder: true,
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: r.handshakeTimeout,
    secureOptions: secureOptionsOf(r, true),
    ...(r.sessionTimeout !== undefined ? { sessionTimeout: r.sessionTimeout } : {}),
    ...(r.ticketKeys ? { ticketKeys: r.ticketKeys } : {}),
  };
}

/**
 * Node `tls.connect` options for connecting to `host`. The server certificate chain is verified by
 * Node (`rejectUnauthorized: true`); its name only with `checkServerIdentity` (on with
 * `servername`: the certificate must name `servername`, else `host`). The allow-lists and key
 * sizes are checked by {@link TlsSecurity.verify} (done by {@link connectTls}). SNI is sent for a
 * DNS name (never for an IP address, RFC 6066).
 */
export function tlsClientOptions(r: ResolvedTlsConfig, host: string): tls.ConnectionOptions {
  const isIp = (h: string): boolean => isIP(h) !== 0 || h.includes(':');
  const expected = r.servername ?? host;
  const sni = r.servername !== undefined ? (isIp(r.servername) ? undefined : r.servername) : isIp(host) ? undefined : host;
  return {
    ...commonTlsOptions(r),
    rejectUnauthorized: true,
    secureOptions: secureOptionsOf(r, false),
    ...(sni ? { servername: sni } : {}),
    checkServerIdentity: r.checkServerIdentity ? (_host: string, cert: tls.PeerCertificate) => checkServerIdentity(expected, cert) : () => undefined,
  };
}
