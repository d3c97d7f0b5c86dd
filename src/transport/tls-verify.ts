/**
 * TLS peer verification with classified refusals, run-time CRL reload and session tracking.
 *
 * A {@link TlsSecurity} holds one resolved {@link TlsConfig}. Servers (`listenTcp({ secure })`) and
 * clients ({@link connectTls}) call {@link TlsSecurity.verify} right after the handshake and before
 * any application byte is handled; each refusal gets a {@link TlsRefusalCode}, is logged and counted
 * ({@link SecurityEvents}).
 *
 * CRL reload ({@link TlsSecurity.reloadCrl}, {@link TlsSecurity.watchCrl}): new handshakes use the
 * new CRLs at once (the listeners' secure context is replaced, the listener keeps running), and
 * **already open sessions whose peer certificate the new CRL revokes are closed** (event
 * `E_TLS_REVOKED`, action `closed`): keeping a revoked peer connected would defeat revocation.
 */
import { X509Certificate, webcrypto } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { type Logger, nullLogger } from '../log.js';
import {
  type ConnectionEndpoints,
  type ConnectionTls,
  type PeerCertificateInfo,
  SecurityEvents,
  type SecurityEvent,
  type TlsRefusalCode,
  type TlsSessionEvent,
  type TlsSessionInfo,
  tlsSessionInfo,
} from './security-events.js';
import {
  checkKeyStrength,
  keyStrength,
  loadCrls,
  type ResolvedTlsConfig,
  resolveTlsConfig,
  splitPemCertificates,
  type TlsConfig,
  tlsClientOptions,
  tlsServerOptions,
} from './tls-config.js';
import { type ConnectTcpOptions, connectTcp } from './tcp-link.js';

/** A classified TLS failure. */
export interface TlsClassification {
  code: TlsRefusalCode;
  reason: string;
  /** The OpenSSL verify code or Node error code it was derived from. */
  detail?: string;
}

/** Result of {@link TlsSecurity.verify}. */
export type TlsVerdict =
  | { ok: true; tls: TlsSessionInfo; peer?: PeerCertificateInfo }
  | ({ ok: false; tls?: TlsSessionInfo; peer?: PeerCertificateInfo } & TlsClassification);

const UNKNOWN_CA = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'INVALID_CA',
  'CERT_REJECTED',
]);

/** Context of a classification: who we are, and what the handshake had reached. */
export interface TlsFailureContext {
  /** `client`: we connected (the peer is the station); `server`: we accepted (the peer is a master). */
  side?: 'server' | 'client';
  /** Whether the peer's certificate had been received when it failed (a failure after it is no cipher problem). */
  peerCertificateSeen?: boolean;
  /** The suites we offered/accept, for "no cipher suite in common (we offered ...)". */
  offered?: string;
}

/** The TLS alert name in a Node/OpenSSL error code or message (`ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE`, `sslv3 alert bad certificate`): `bad_certificate`. */
export function tlsAlertName(detail: string | undefined, message?: string): string | undefined {
  const m = /ALERT_([A-Z0-9_]+)$/.exec(detail ?? '');
  if (m) return m[1].toLowerCase();
  const t = /(?:sslv3|tlsv1|tlsv13) alert ([a-z0-9 ]+)/i.exec(message ?? '');
  return t ? t[1].trim().toLowerCase().replace(/ /g, '_') : undefined;
}

const CERT_ALERTS = new Set([
  'bad_certificate',
  'unsupported_certificate',
  'certificate_revoked',
  'certificate_expired',
  'certificate_unknown',
  'unknown_ca',
  'access_denied',
  'certificate_required',
  'decrypt_error',
]);

/**
 * Map an OpenSSL verify code (`socket.authorizationError`, e.g. `CERT_HAS_EXPIRED`), a Node TLS
 * error (`err.code`, e.g. `ERR_SSL_UNSUPPORTED_PROTOCOL`) or a received TLS alert
 * (`ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE`) to a {@link TlsRefusalCode} and a reason a user can act on.
 * An alert is the **peer's** verdict: `bad_certificate`, `unknown_ca`, `certificate_expired`...
 * mean the peer refused our certificate (`E_TLS_CERT_REFUSED`); `handshake_failure` before the
 * peer's certificate arrived means no common cipher suite (`E_TLS_NO_SHARED_CIPHER`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { classifyTlsCode } from 'iec104';
 * assert.equal(classifyTlsCode('CERT_HAS_EXPIRED').code, 'E_TLS_CERT_EXPIRED');
 * assert.equal(classifyTlsCode('ERR_SSL_UNSUPPORTED_PROTOCOL').code, 'E_TLS_PROTOCOL_VERSION');
 * assert.equal(classifyTlsCode('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', undefined, { side: 'client' }).reason, 'the station refused our certificate (alert bad_certificate)');
 * assert.equal(classifyTlsCode('SOMETHING_ELSE').code, 'E_TLS_HANDSHAKE');
 * ```
 */
export function classifyTlsCode(detail: string | undefined, message?: string, ctx: TlsFailureContext = {}): TlsClassification {
  const d = detail ?? '';
  const c = (code: TlsRefusalCode, reason: string): TlsClassification => ({ code, reason, ...(d ? { detail: d } : {}) });
  const peerName = ctx.side === 'client' ? 'the station' : ctx.side === 'server' ? 'the master' : 'the peer';
  const peerCert = ctx.side === 'client' ? "the station's certificate" : 'peer certificate';
  const offered = ctx.offered ? ` (we offered ${ctx.offered})` : '';
  const alert = tlsAlertName(d, message);
  if (alert) {
    if (alert === 'protocol_version') return c('E_TLS_PROTOCOL_VERSION', `${peerName} refused our TLS versions (alert protocol_version): IEC 62351-3 needs TLS 1.2 or 1.3; check --tls-min-version/--tls-max-version`);
    if (alert === 'no_renegotiation') return c('E_TLS_RENEGOTIATION', `renegotiation refused by ${peerName} (alert no_renegotiation)`);
    if ((alert === 'handshake_failure' || alert === 'insufficient_security') && !ctx.peerCertificateSeen) {
      return c('E_TLS_NO_SHARED_CIPHER', `no cipher suite in common${offered} (alert ${alert}): ${peerName} accepts other suites; set --tls-ciphers`);
    }
    if (CERT_ALERTS.has(alert) || alert === 'handshake_failure') return c('E_TLS_CERT_REFUSED', `${peerName} refused our certificate (alert ${alert})`);
    return c('E_TLS_HANDSHAKE', `${peerName} ended the TLS handshake (alert ${alert})`);
  }
  if (d === 'CERT_HAS_EXPIRED') return c('E_TLS_CERT_EXPIRED', `${peerCert} has expired`);
  if (d === 'CERT_NOT_YET_VALID') return c('E_TLS_CERT_NOT_YET_VALID', `${peerCert} is not yet valid (check both clocks)`);
  if (UNKNOWN_CA.has(d)) return c('E_TLS_UNKNOWN_CA', ctx.side === 'client' ? 'peer certificate not issued by --tls-ca (none of the trusted CAs signed the station\'s certificate)' : 'peer certificate is not issued by a trusted CA');
  if (d === 'CERT_SIGNATURE_FAILURE') return c('E_TLS_UNKNOWN_CA', `${peerCert} has an invalid signature: not issued by a trusted CA (forged or corrupted)`);
  if (d === 'CERT_REVOKED') return c('E_TLS_REVOKED', `${peerCert} is revoked (CRL)`);
  if (d === 'INVALID_PURPOSE') return c('E_TLS_CERT_PURPOSE', `${peerCert} is not for TLS ${ctx.side === 'client' ? 'server' : 'client'} authentication (extended key usage or key usage)`);
  if (d === 'EE_KEY_TOO_SMALL' || d === 'CA_KEY_TOO_SMALL' || /KEY_TOO_SMALL/.test(d)) return c('E_TLS_KEY_TOO_SMALL', 'peer key is too small');
  if (d === 'ERR_TLS_CERT_ALTNAME_INVALID') return c('E_TLS_NOT_ALLOWED', `${peerCert} is not issued for the name asked with servername (--tls-servername)${message ? `: ${message}` : ''}`);
  if (/UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_LOW|UNSUPPORTED_SSL_VERSION/.test(d)) {
    return c('E_TLS_PROTOCOL_VERSION', 'TLS version refused (TLS 1.2 or 1.3 required)');
  }
  if (/NO_SHARED_CIPHER|NO_CIPHERS_AVAILABLE|WRONG_CIPHER_RETURNED|NO_SUITABLE/.test(d)) return c('E_TLS_NO_SHARED_CIPHER', `no cipher suite in common with ${peerName}${ctx.offered ? ` (we ${ctx.side === 'server' ? 'accept' : 'offered'} ${ctx.offered})` : ''}; set --tls-ciphers`);
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/.test(d)) return c('E_TLS_NO_CLIENT_CERT', 'no client certificate');
  if (d === 'ERR_TLS_HANDSHAKE_TIMEOUT') return c('E_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timed out');
  if (d === 'ERR_TLS_SESSION_ATTACK') return c('E_TLS_RENEGOTIATION', `${peerName} renegotiates too often (more than the renegotiation burst within minRenegotiationInterval)`);
  if (/^ERR_TLS_RENEGOTIATION_DISABLED$|NO_RENEGOTIATION|UNSAFE_LEGACY_RENEGOTIATION|RENEGOTIATION/.test(d)) return c('E_TLS_RENEGOTIATION', `renegotiation refused${ctx.side ? ` (${peerName} does not allow it)` : ''}`);
  if (/^(UNABLE_TO_GET_CRL|CRL_HAS_EXPIRED|CRL_NOT_YET_VALID|CRL_SIGNATURE_FAILURE|UNABLE_TO_DECRYPT_CRL_SIGNATURE)$/.test(d)) {
    return c('E_TLS_HANDSHAKE', `revocation status cannot be established (${d}): the issuer's CRL is missing, expired or invalid`);
  }
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG/.test(d)) return c('E_TLS_HANDSHAKE', `${peerName} does not speak TLS (plain IEC 104 on the TLS port?)`);
  return c('E_TLS_HANDSHAKE', `TLS handshake failed${message ? `: ${firstLine(message)}` : d ? ` (${d})` : ''}`);
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/^[0-9A-F]+:error:[0-9A-F]+:/, '').trim();
}

const peerCertificates = new WeakMap<tls.TLSSocket, X509Certificate>();

/**
 * The peer certificate of a TLS socket, remembered from the first time it is seen: Node 20's
 * `getPeerX509Certificate()` returns it only once on a client socket (later calls, and calls after
 * a renegotiation, return undefined).
 */
export function peerCertificateOf(socket: tls.TLSSocket): X509Certificate | undefined {
  const known = peerCertificates.get(socket);
  if (known) return known;
  const x = socket.getPeerX509Certificate();
  if (x) peerCertificates.set(socket, x);
  return x;
}

/** The warning of a negotiated session that is weaker than the profile recommends. */
export function sessionWarning(info: TlsSessionInfo): string | undefined {
  if (!info.forwardSecrecy) return `no forward secrecy (${info.standardName ?? info.cipher}: RSA key exchange): whoever obtains the server's private key can decrypt recorded traffic; prefer an ECDHE suite`;
  return undefined;
}

/** Whether a certificate's subject matches an allow-list entry: a common name, a whole subject, or `/regex/flags`. */
export function subjectMatches(pattern: string, x: X509Certificate): boolean {
  const subject = x.subject.replace(/\n/g, ', ');
  const re = /^\/(.+)\/([a-z]*)$/.exec(pattern);
  if (re) return new RegExp(re[1], re[2]).test(subject);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1];
  return pattern === cn || pattern.replace(/\s*,\s*/g, ', ') === subject;
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

/** Why a certificate OpenSSL refused with INVALID_PURPOSE is not for the TLS role it was used in. */
export function purposeReason(x: X509Certificate, side: 'server' | 'client'): string {
  const need = side === 'server' ? 'clientAuth' : 'serverAuth';
  const who = side === 'client' ? "the station's certificate" : 'peer certificate';
  const eku = x.keyUsage as string[] | undefined;
  if (eku && eku.length) {
    const names = eku.map((o) => EKU_NAMES[o] ?? o);
    if (!names.includes(need) && !eku.includes('2.5.29.37.0')) return `${who} is not for TLS ${side === 'server' ? 'client' : 'server'} authentication: its extended key usage (${names.join(', ')}) lacks ${need}`;
  }
  return `${who} is not for TLS ${side === 'server' ? 'client' : 'server'} authentication: its key usage does not allow ${side === 'server' ? 'digitalSignature' : 'digitalSignature or keyEncipherment'} (or a CA in its chain is not marked for it)`;
}

/** Public data of a certificate, for logs and audit. */
export function describeCertificate(x: X509Certificate): PeerCertificateInfo {
  const k = keyStrength(x);
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    serialNumber: normSerial(x.serialNumber),
    fingerprint256: x.fingerprint256,
    validFrom: x.validFrom,
    validTo: x.validTo,
    keyType: k.type,
    keyBits: k.bits,
  };
}

/** Endpoints of a socket (IPv4-mapped IPv6 addresses shown as IPv4). */
export function endpointsOf(s: Duplex): ConnectionEndpoints {
  const x = s as Duplex & { remoteAddress?: string; remotePort?: number; localPort?: number };
  const a = x.remoteAddress ?? '';
  return { remoteAddress: a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a, remotePort: x.remotePort ?? 0, localPort: x.localPort ?? 0 };
}

function normSerial(s: string): string {
  return s.toUpperCase().replace(/^(00)+(?=.)/, '');
}

/** Thrown by {@link connectTls} when the server is refused or refuses us. */
export class TlsRefusedError extends Error {
  override readonly name = 'TlsRefusedError';
  constructor(
    readonly code: TlsRefusalCode,
    readonly reason: string,
    readonly detail?: string,
  ) {
    super(`${code}: ${reason}${detail ? ` (${detail})` : ''}`);
  }
}

interface RevocationList {
  ca: X509Certificate;
  serials: Set<string>;
}

interface Tracked {
  socket: tls.TLSSocket;
  cert?: X509Certificate;
  endpoints: ConnectionEndpoints;
  side: 'server' | 'client';
  close(reason: string, event?: SecurityEvent): void;
  timers: TimerHandle[];
}

/** Options of {@link TlsSecurity}. */
export interface TlsSecurityOptions {
  logger?: Logger;
  /** Where refusals are recorded (default: a new one on `logger`). */
  events?: SecurityEvents;
  /** Clock for the handshake timeout, session duration and renegotiation timers (default system clock). */
  clock?: Clock;
}

/**
 * One TLS policy (a resolved {@link TlsConfig}) shared by listeners and connections: Node options,
 * post-handshake verification, classified refusals, CRL reload.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { TlsSecurity, TlsConfigError } from 'iec104';
 * assert.throws(() => new TlsSecurity({ cert: '/nonexistent.crt', key: '/nonexistent.key', ca: [] }), TlsConfigError);
 * ```
 */
export class TlsSecurity {
  /** The resolved configuration (files read). Contains the private key: never log it. */
  config: ResolvedTlsConfig;
  readonly events: SecurityEvents;
  readonly clock: Clock;
  private readonly log: Logger;
  private readonly servers = new Set<tls.Server>();
  private readonly sessions = new Set<Tracked>();
  private revocations: RevocationList[] = [];
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(config: TlsConfig | ResolvedTlsConfig, opts: TlsSecurityOptions = {}) {
    this.config = 'certificate' in config ? config : resolveTlsConfig(config);
    this.log = opts.logger ?? nullLogger;
    this.events = opts.events ?? new SecurityEvents(this.log);
    this.clock = opts.clock ?? systemClock;
    if (this.config.invalidOwnCertificate) this.log.log('warn', 'tls.test_invalid_certificate', `TEST ONLY: presenting an invalid own certificate (${this.config.invalidOwnCertificate}); peers should refuse it`);
    if (this.config.crl.length) this.reloading = this.parseRevocations(this.config.crl).then((r) => (this.revocations = r), () => undefined);
  }

  /** Resolves when the initial CRLs are parsed (the JavaScript-side revocation list; OpenSSL checks at once). */
  ready(): Promise<void> {
    return this.reloading.then(() => undefined);
  }

  /** Handshake time-out (ms). */
  get handshakeTimeout(): number {
    return this.config.handshakeTimeout;
  }

  /** Options for `tls.createServer` (see {@link tlsServerOptions}). */
  serverOptions(): tls.TlsOptions {
    return tlsServerOptions(this.config);
  }

  /** Options for `tls.connect` to `host` (see {@link tlsClientOptions}). */
  clientOptions(host: string): tls.ConnectionOptions {
    return tlsClientOptions(this.config, host);
  }

  /**
   * A `tls.Server` (not listening) whose secure context follows CRL reloads. Node's own handshake
   * time-out is set 1 s above ours as a backstop; `listenTcp` runs the clock-driven one.
   */
  createServer(): tls.Server {
    const server = tls.createServer({ ...this.serverOptions(), handshakeTimeout: this.config.handshakeTimeout + 1_000 });
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    this.attachSessionCache(server);
    if (this.config.allowRenegotiation) {
      // Node's own guard against client-initiated renegotiation floods is process-wide and on the
      // real clock (tls.CLIENT_RENEG_LIMIT handshakes, each less than CLIENT_RENEG_WINDOW s after the
      // previous, close the session; default 3 per 600 s, which refuses a 62351-3 peer renewing
      // every few seconds). It becomes a looser backstop of the profile's bound (track(): a burst
      // of renegotiationBurst, each within minRenegotiationInterval, on this.clock).
      const g = tls as { CLIENT_RENEG_LIMIT: number; CLIENT_RENEG_WINDOW: number };
      g.CLIENT_RENEG_LIMIT = Math.max(10, this.config.renegotiationBurst * 4);
      g.CLIENT_RENEG_WINDOW = this.config.minRenegotiationInterval / 1000;
    }
    return server;
  }

  /**
   * TLS 1.2 resumption by session ID: Node keeps no server-side session cache of its own, so a
   * bounded one (`sessionCacheSize` entries, oldest evicted, `sessionTimeout` lifetime) is attached.
   * Tickets (TLS 1.2 and 1.3) work without it. A resumed session is verified like a full handshake
   * (the peer certificate is part of the session) and shows `resumed: true` in the audit log.
   */
  private attachSessionCache(server: tls.Server): void {
    const max = this.config.sessionCacheSize;
    if (max === 0) return;
    const lifetime = (this.config.sessionTimeout ?? 300) * 1000;
    const cache = new Map<string, { data: Buffer; at: number }>();
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      const key = id.toString('hex');
      cache.delete(key);
      cache.set(key, { data, at: Date.now() });
      while (cache.size > max) cache.delete(cache.keys().next().value as string);
      done();
    });
    server.on('resumeSession', (id: Buffer, done: (err: Error | null, data?: Buffer | null) => void) => {
      const key = id.toString('hex');
      const e = cache.get(key);
      if (e && Date.now() - e.at > lifetime) cache.delete(key);
      done(null, e && Date.now() - e.at <= lifetime ? e.data : null);
    });
  }

  /** Stop applying reloads to `server`. */
  detach(server: tls.Server): void {
    this.servers.delete(server);
  }

  /**
   * Verify a TLS socket right after its handshake: OpenSSL's chain result (expiry, CA, CRL), client
   * certificate presence (server side), key sizes, the allow-list, and the run-time revocation list.
   * Does not record anything (see {@link refuse}).
   */
  verify(socket: tls.TLSSocket, side: 'server' | 'client'): TlsVerdict {
    const info = tlsSessionInfo(socket);
    if (info.version !== 'TLSv1.2' && info.version !== 'TLSv1.3') return { ok: false, tls: info, code: 'E_TLS_PROTOCOL_VERSION', reason: `negotiated ${info.version}`, detail: info.version };
    const x = peerCertificateOf(socket);
    if (!x) {
      if (side === 'client') return { ok: false, tls: info, code: 'E_TLS_HANDSHAKE', reason: 'server sent no certificate' };
      if (this.config.requireClientCert) return { ok: false, tls: info, code: 'E_TLS_NO_CLIENT_CERT', reason: 'client sent no certificate (mutual authentication required)' };
      return { ok: true, tls: info };
    }
    const peer = describeCertificate(x);
    if (!socket.authorized) {
      const err = socket.authorizationError as unknown;
      const code = typeof err === 'string' ? err : err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
      // OpenSSL reports the LAST verification error (Node lets verification run to the end): a
      // certificate no trusted CA signed often ends with a CRL error. Check the chain ourselves first.
      const untrusted = this.untrustedReason(socket, x, side);
      if (untrusted) return { ok: false, tls: info, peer, code: 'E_TLS_UNKNOWN_CA', reason: untrusted, detail: code };
      const c = classifyTlsCode(code, undefined, { side });
      if (c.code === 'E_TLS_CERT_PURPOSE') c.reason = purposeReason(x, side);
      return { ok: false, tls: info, peer, ...c };
    }
    const weak = checkKeyStrength(keyStrength(x), this.config.minKeyBits);
    if (weak) return { ok: false, tls: info, peer, code: 'E_TLS_KEY_TOO_SMALL', reason: `peer ${weak}` };
    if (this.isRevoked(x)) return { ok: false, tls: info, peer, code: 'E_TLS_REVOKED', reason: 'peer certificate is revoked (CRL)' };
    const allowed = this.config.allowedFingerprints;
    if (allowed && !allowed.has(x.fingerprint256)) return { ok: false, tls: info, peer, code: 'E_TLS_NOT_ALLOWED', reason: `certificate ${peer.subject} (${peer.fingerprint256}) is not on the peerCertificates allow-list (--peer-cert)` };
    const subjects = this.config.peerSubjects;
    if (subjects && !subjects.some((p) => subjectMatches(p, x))) return { ok: false, tls: info, peer, code: 'E_TLS_NOT_ALLOWED', reason: `certificate subject ${peer.subject} is not on the peerSubjects allow-list (--peer-subject)` };
    return { ok: true, tls: info, peer };
  }

  /**
   * Why the peer's chain does not lead to a trust anchor, checked on the certificates themselves
   * (signatures, not names), or undefined when it does. Names a self-signed certificate and a
   * certificate that copies a trusted CA's name (or a known peer's subject) without its signature.
   */
  private untrustedReason(socket: tls.TLSSocket, leaf: X509Certificate, side: 'server' | 'client'): string | undefined {
    const anchors = this.anchors();
    const chain: X509Certificate[] = [leaf];
    let pc: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate;
    for (let i = 0; i < 8 && pc?.issuerCertificate && pc.issuerCertificate !== pc; i++) {
      pc = pc.issuerCertificate;
      if (pc.raw) chain.push(new X509Certificate(pc.raw));
    }
    for (const c of chain) {
      if (anchors.some((a) => a.fingerprint256 === c.fingerprint256)) return undefined;
      if (anchors.some((a) => c.checkIssued(a) && c.verify(a.publicKey))) return undefined;
    }
    const who = side === 'client' ? "the station's certificate" : 'peer certificate';
    const subject = leaf.subject.replace(/\n/g, ', ');
    const known = this.knownSubject(leaf) ? ' It copies the subject of a known peer, but a subject proves nothing without a trusted signature.' : '';
    const ca = side === 'client' ? '--tls-ca' : 'a trusted CA';
    if (leaf.issuer === leaf.subject && leaf.verify(leaf.publicKey)) return `${who} (${subject}) is self-signed: not issued by ${ca}.${known}`;
    const namedAnchor = anchors.find((a) => leaf.issuer === a.subject);
    if (namedAnchor) return `${who} (${subject}) names ${namedAnchor.subject.replace(/\n/g, ', ')} as issuer but that CA's signature does not verify: forged or copied certificate, not issued by ${ca}.${known}`;
    return `${who} (${subject}, issuer ${leaf.issuer.replace(/\n/g, ', ')}) is not issued by ${ca}.${known}`;
  }

  private anchorCache?: X509Certificate[];
  private anchors(): X509Certificate[] {
    this.anchorCache ??= this.config.ca.flatMap((b) => splitPemCertificates(b)).map((p) => new X509Certificate(p));
    return this.anchorCache;
  }

  /** Whether `x`'s subject is the one of a pinned certificate or matches the subject allow-list. */
  private knownSubject(x: X509Certificate): boolean {
    if (this.config.peerSubjects?.some((p) => subjectMatches(p, x))) return true;
    return false;
  }

  /** Record a refusal (log + count + listeners) and return the event. */
  refuse(c: TlsClassification & { tls?: TlsSessionInfo; peer?: PeerCertificateInfo }, endpoints: ConnectionEndpoints, side: 'server' | 'client', action: 'refused' | 'closed' = 'refused'): SecurityEvent {
    const ev: SecurityEvent = { code: c.code, reason: c.reason, side, action, ...endpoints };
    if (c.detail) ev.detail = c.detail;
    if (c.tls) ev.tls = c.tls;
    if (c.peer) ev.peer = c.peer;
    this.events.record(ev);
    return ev;
  }

  /** Classify a handshake error (`tlsClientError`, a client's `error`); `ctx.offered` defaults to our suites. */
  classify(err: Error, ctx: TlsFailureContext = {}): TlsClassification {
    return classifyTlsCode((err as NodeJS.ErrnoException).code, err.message, { offered: this.offeredText(), ...ctx });
  }

  /** Our versions and suites in words, for "no cipher suite in common (we offered ...)". */
  offeredText(): string {
    const { minVersion, maxVersion, ciphers } = this.config;
    const v = minVersion === maxVersion ? minVersion : `${minVersion}-${maxVersion}`;
    const suites = ciphers.split(':').filter((t) => t && !/^[!@+-]/.test(t) && (maxVersion === 'TLSv1.3' || !t.startsWith('TLS_')) && (minVersion === 'TLSv1.2' || t.startsWith('TLS_')));
    return `${v}: ${suites.join(', ')}`;
  }

  /**
   * Record an established (verified) session: a session event with the negotiated version and
   * suite, with a warning when the suite has no forward secrecy. Returns the event.
   */
  established(socket: tls.TLSSocket, side: 'server' | 'client', endpoints: ConnectionEndpoints, peer?: PeerCertificateInfo): TlsSessionEvent {
    const info = tlsSessionInfo(socket);
    const ev: TlsSessionEvent = { event: 'established', side, ...endpoints, tls: info, ...(peer ? { peerSubject: peer.subject } : {}) };
    const w = sessionWarning(info);
    if (w) ev.warning = w;
    this.events.session(ev);
    return ev;
  }

  /**
   * The TLS facts of a connection that passed {@link verify}: negotiated session, the peer's
   * certificate and which checks it passed (for snapshots; call after verification).
   */
  describeConnection(socket: tls.TLSSocket, peer?: PeerCertificateInfo): ConnectionTls {
    const x = peer ? undefined : peerCertificateOf(socket);
    const p = peer ?? (x ? describeCertificate(x) : undefined);
    return { session: tlsSessionInfo(socket), ...(p ? { peer: p } : {}), ...this.verificationOf(p !== undefined) };
  }

  /** The verification sentence of {@link ConnectionTls} for a verified connection. */
  verificationOf(peerPresent: boolean): Pick<ConnectionTls, 'verification' | 'verified'> {
    if (!peerPresent) return { verified: false, verification: 'no peer certificate (not required by the configuration)' };
    const c = this.config;
    const checks = ['chain to a configured CA', 'validity dates', `key size (RSA ≥ ${c.minKeyBits.rsa}, EC ≥ ${c.minKeyBits.ec} bits)`];
    if (c.crlSources.length || c.crl.length) checks.push('revocation list');
    if (c.allowedFingerprints) checks.push('fingerprint allow-list');
    if (c.peerSubjects) checks.push('subject allow-list');
    return { verified: true, verification: `verified: ${checks.join(', ')}` };
  }

  /**
   * Track an accepted, verified session: closed when a reloaded CRL revokes its certificate, after
   * `maxSessionDuration`, and renegotiated every `renegotiationInterval` (TLS 1.2). Renegotiations
   * started by the peer (TLS 1.2) are accepted, counted, re-verified and reported
   * (`opts.onSession` and {@link SecurityEvents.session}); more than `renegotiationBurst` of them in a
   * row, each within `minRenegotiationInterval`, close the session (`E_TLS_RENEGOTIATION`), and so
   * does a renegotiation the peer refuses. `close` must close the link/socket; it gets the recorded
   * security event when there is one. Untracked when the socket closes.
   */
  track(
    socket: tls.TLSSocket,
    side: 'server' | 'client',
    close: (reason: string, event?: SecurityEvent) => void,
    opts: { endpoints?: ConnectionEndpoints; onSession?: (ev: TlsSessionEvent) => void } = {},
  ): void {
    const endpoints = opts.endpoints ?? endpointsOf(socket);
    const t: Tracked = { socket, side, endpoints, cert: peerCertificateOf(socket), close, timers: [] };
    this.sessions.add(t);
    const { maxSessionDuration, renegotiationInterval, minRenegotiationInterval, renegotiationBurst, handshakeTimeout } = this.config;
    let closed = false;
    const fail = (c: TlsClassification): void => {
      if (closed) return;
      closed = true;
      const ev = this.refuse({ ...c, tls: tlsSessionInfo(socket), ...(t.cert ? { peer: describeCertificate(t.cert) } : {}) }, endpoints, side, 'closed');
      close(`${c.code}: ${c.reason}`, ev);
    };
    if (maxSessionDuration) {
      t.timers.push(this.clock.setTimeout(() => {
        this.log.log('info', 'tls.session_expired', `session closed after maxSessionDuration (${maxSessionDuration} ms) to renew keys`, { ...endpoints });
        close(`TLS session older than maxSessionDuration (${maxSessionDuration} ms)`);
      }, maxSessionDuration));
    }
    let renegotiations = 0;
    let burst = 0;
    let lastHandshake = this.clock.now();
    let localPending = false;
    let pendingTimer: TimerHandle | undefined;
    socket.on('secure', () => {
      const now = this.clock.now();
      const initiator = localPending ? 'local' : 'peer';
      localPending = false;
      this.clock.clearTimeout(pendingTimer);
      renegotiations++;
      if (initiator === 'peer') {
        burst = now - lastHandshake < minRenegotiationInterval ? burst + 1 : 1;
        if (burst > renegotiationBurst) {
          fail({ code: 'E_TLS_RENEGOTIATION', reason: `the peer renegotiated ${burst} times in a row, each less than ${minRenegotiationInterval} ms after the previous handshake (limit ${renegotiationBurst})` });
          return;
        }
      }
      lastHandshake = now;
      // a renegotiation that shows a certificate is verified like the first handshake (it may be
      // another one); one that shows none (an abbreviated handshake; Node does not always expose
      // the certificate of a renegotiation) keeps the identity verified before: secure
      // renegotiation (RFC 5746, required by OpenSSL) binds it to the verified session
      let peer: PeerCertificateInfo | undefined = t.cert ? describeCertificate(t.cert) : undefined;
      const shown = socket.getPeerX509Certificate();
      if (shown && shown.fingerprint256 !== t.cert?.fingerprint256) {
        peerCertificates.set(socket, shown);
        const v = this.verify(socket, side);
        if (!v.ok) {
          fail({ code: v.code, reason: `after renegotiation: ${v.reason}`, ...(v.detail ? { detail: v.detail } : {}) });
          return;
        }
        t.cert = shown;
        peer = v.peer;
      }
      const info = tlsSessionInfo(socket);
      // (the suite's warning was given when the session was established)
      const ev: TlsSessionEvent = { event: 'renegotiated', side, ...endpoints, tls: info, renegotiations, initiator, ...(peer ? { peerSubject: peer.subject } : {}) };
      this.events.session(ev);
      opts.onSession?.(ev);
    });
    socket.on('error', (err: Error) => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!/^ERR_SSL|^ERR_TLS/.test(code)) return;
      fail(this.classify(err, { side, peerCertificateSeen: true }));
    });
    if (renegotiationInterval && socket.getProtocol() === 'TLSv1.2') {
      const again = (): void => {
        t.timers.push(this.clock.setTimeout(() => {
          if (socket.destroyed || closed) return;
          localPending = true;
          const ok = socket.renegotiate({ rejectUnauthorized: side === 'client' }, (err) => {
            if (err) fail({ code: 'E_TLS_RENEGOTIATION', reason: `renegotiation refused: ${err.message}`, detail: (err as NodeJS.ErrnoException).code });
            else again();
          });
          if (ok === false) return;
          pendingTimer = this.clock.setTimeout(() => {
            if (localPending) fail({ code: 'E_TLS_RENEGOTIATION', reason: `renegotiation refused: the peer did not renegotiate within ${handshakeTimeout} ms` });
          }, handshakeTimeout);
          t.timers.push(pendingTimer);
        }, renegotiationInterval));
      };
      again();
    } else if (renegotiationInterval) {
      this.log.log('info', 'tls.no_renegotiation', `${socket.getProtocol()} session: no renegotiation (TLS 1.3 has none and Node cannot send KeyUpdate); keys are renewed by reconnecting (maxSessionDuration)`, { ...endpoints });
    }
    socket.once('close', () => {
      for (const h of t.timers) this.clock.clearTimeout(h);
      this.sessions.delete(t);
    });
  }

  /** Number of tracked open sessions. */
  get openSessions(): number {
    return this.sessions.size;
  }

  /**
   * Re-read the CRL files: new handshakes on every attached listener use them at once (the
   * listener is not restarted); open sessions whose certificate is now revoked are closed and
   * reported (`E_TLS_REVOKED`, action `closed`). If a file cannot be read or parsed, the old CRLs
   * stay in force and the error is thrown.
   */
  async reloadCrl(): Promise<{ crls: number; closed: number }> {
    const run = async (): Promise<{ crls: number; closed: number }> => {
      const crl = loadCrls(this.config.crlSources);
      const revocations = await this.parseRevocations(crl);
      this.config = { ...this.config, crl };
      this.revocations = revocations;
      for (const s of this.servers) s.setSecureContext({ ...this.serverOptions() });
      let closed = 0;
      for (const t of [...this.sessions]) {
        if (t.cert && this.isRevoked(t.cert)) {
          closed++;
          const ev = this.refuse({ code: 'E_TLS_REVOKED', reason: 'peer certificate revoked by a reloaded CRL: open session closed', peer: describeCertificate(t.cert) }, t.endpoints, t.side, 'closed');
          this.sessions.delete(t);
          t.close('peer certificate revoked (E_TLS_REVOKED)', ev);
        }
      }
      this.log.log('info', 'tls.crl_reloaded', `CRLs reloaded (${crl.length}); ${closed} open session(s) closed`, { crls: crl.length, closed });
      return { crls: crl.length, closed };
    };
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => undefined);
    return p;
  }

  /**
   * Watch the CRL files and {@link reloadCrl} when one changes (debounced by `debounceMs`, default
   * 200 ms, on the real clock). Returns a function that stops watching. Reload errors are logged.
   */
  watchCrl(debounceMs = 200): () => void {
    const watchers: FSWatcher[] = [];
    let timer: NodeJS.Timeout | undefined;
    const kick = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.reloadCrl().catch((e: unknown) => this.log.log('error', 'tls.crl_reload_failed', e instanceof Error ? e.message : String(e)));
      }, debounceMs);
      timer.unref?.();
    };
    for (const s of this.config.crlSources) if (typeof s === 'string' && !s.includes('-----BEGIN')) watchers.push(watch(s, { persistent: false }, kick));
    return () => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    };
  }

  private isRevoked(x: X509Certificate): boolean {
    const serial = normSerial(x.serialNumber);
    return this.revocations.some((r) => r.serials.has(serial) && x.checkIssued(r.ca));
  }

  /** Parse CRLs (signature checked against the trust anchors) into serial sets; a CRL no anchor signed is ignored with a warning. */
  private async parseRevocations(crls: Buffer[]): Promise<RevocationList[]> {
    if (crls.length === 0) return [];
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);
    const anchors = this.config.ca.flatMap((b) => splitPemCertificates(b)).map((p) => ({ node: new X509Certificate(p), pec: new x509.X509Certificate(p) }));
    const out: RevocationList[] = [];
    for (const buf of crls) {
      for (const pem of String(buf).match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? []) {
        const crl = new x509.X509Crl(pem);
        let issuer: X509Certificate | undefined;
        for (const a of anchors) {
          if (a.pec.subject !== crl.issuer) continue;
          if (await crl.verify({ publicKey: a.pec.publicKey }).catch(() => false)) issuer = a.node;
        }
        if (!issuer) {
          this.log.log('warn', 'tls.crl_unverified', `CRL of ${crl.issuer} is not signed by a configured CA: ignored for open sessions`);
          continue;
        }
        out.push({ ca: issuer, serials: new Set(crl.entries.map((e) => normSerial(e.serialNumber))) });
      }
    }
    return out;
  }
}

/** Options of {@link connectTls}. */
export type ConnectTlsOptions = Omit<ConnectTcpOptions, 'tls' | 'connect' | 'readyEvent'> & {
  /** Called with each TLS session event of this connection (established, renegotiated). */
  onSession?: (ev: TlsSessionEvent) => void;
};

/**
 * Connect with TLS to `host:port` (default port 19998), bounded by t0, and verify the server like a
 * listener verifies clients ({@link TlsSecurity.verify}: chain to the trust anchors, allow-lists,
 * key size, revocation; host name only with `servername`). Then wait up to `acceptanceWait` for
 * the server to refuse our certificate (TLS 1.3 servers, and Node-based ones in any version, judge
 * it after our side of the handshake is done). Rejects with {@link TlsRefusedError} (recorded as a
 * `client` side security event) or the socket error: `E_TLS_CERT_REFUSED` "the station refused
 * our certificate (alert bad_certificate)", `E_TLS_NO_SHARED_CIPHER` "no cipher suite in common
 * (we offered ...)", `E_TLS_UNKNOWN_CA` "peer certificate not issued by --tls-ca", ... The session
 * is tracked (CRL reload, renegotiation) and reported ({@link TlsSecurity.established}).
 */
export async function connectTls(host: string, port: number, security: TlsSecurity, opts: ConnectTlsOptions = {}): Promise<tls.TLSSocket> {
  let socket: tls.TLSSocket;
  const endpoints: ConnectionEndpoints = { remoteAddress: host, remotePort: port, localPort: 0 };
  const { onSession, ...tcpOpts } = opts;
  let peerCertificateSeen = false;
  try {
    // rejectUnauthorized: false: verify() below decides, so that each refusal gets its own code and
    // reason (a self-signed or forged station certificate, a wrong purpose); nothing is read or
    // written before it has.
    const options: tls.ConnectionOptions = { ...security.clientOptions(host), rejectUnauthorized: false };
    socket = (await connectTcp(host, port, {
      ...tcpOpts,
      connect: (h, p) => {
        const s = tls.connect({ ...options, host: h, port: p, ...(tcpOpts.localAddress ? { localAddress: tcpOpts.localAddress } : {}) });
        // how far did the handshake get before a failure? The key log names each secret when it
        // is derived (nothing of it is kept): the master secret of TLS 1.2 (CLIENT_RANDOM) comes
        // after the station's certificate, the TLS 1.3 traffic secrets after its Finished.
        s.on('keylog', (line: Buffer) => {
          if (/^(CLIENT_RANDOM|SERVER_TRAFFIC_SECRET_0|CLIENT_TRAFFIC_SECRET_0) /.test(line.toString('latin1', 0, 32))) peerCertificateSeen = true;
        });
        return s;
      },
      readyEvent: 'secureConnect',
    })) as unknown as tls.TLSSocket;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // TLS failures: Node's ERR_SSL_*/ERR_TLS_* and OpenSSL verify codes (CERT_HAS_EXPIRED, ...);
    // not socket errors (ECONNREFUSED) nor our own E_* codes (E_T0_TIMEOUT)
    const code = typeof err.code === 'string' ? err.code : '';
    if (/^ERR_SSL|^ERR_TLS/.test(code) || (/^[A-Z][A-Z0-9_]+$/.test(code) && !/^E[A-Z]+$/.test(code) && !code.startsWith('E_'))) {
      const c = security.classify(err, { side: 'client', peerCertificateSeen });
      security.refuse(c, endpoints, 'client');
      throw new TlsRefusedError(c.code, c.reason, c.detail);
    }
    if (code === 'ECONNRESET' || /socket disconnected before secure/i.test(err.message)) {
      const c: TlsClassification = peerCertificateSeen
        ? { code: 'E_TLS_CERT_REFUSED', reason: 'the station closed the connection during the TLS handshake, after receiving our certificate, without an alert: it most likely refused our certificate', detail: code || err.message }
        : { code: 'E_TLS_HANDSHAKE', reason: `the station closed the connection during the TLS handshake (${err.message}): it may not speak TLS on this port`, detail: code || err.message };
      security.refuse(c, endpoints, 'client');
      throw new TlsRefusedError(c.code, c.reason, c.detail);
    }
    throw e;
  }
  const ep = { ...endpointsOf(socket), remoteAddress: host, remotePort: port };
  const v = security.verify(socket, 'client');
  if (!v.ok) {
    socket.destroy();
    security.refuse(v, ep, 'client');
    throw new TlsRefusedError(v.code, v.reason, v.detail);
  }
  const refused = await awaitAcceptance(socket, security);
  if (refused) {
    socket.destroy();
    security.refuse({ ...refused, tls: v.tls, ...(v.peer ? { peer: v.peer } : {}) }, ep, 'client');
    throw new TlsRefusedError(refused.code, refused.reason, refused.detail);
  }
  const ev = security.established(socket, 'client', ep, v.peer);
  onSession?.(ev);
  security.track(socket, 'client', () => socket.destroy(), { endpoints: ep, ...(onSession ? { onSession } : {}) });
  return socket;
}

/**
 * Wait up to `acceptanceWait` ms after the handshake: an alert or a close in that time means the
 * station refused our certificate (it judged it after our side of the handshake was done).
 * Resolves undefined when nothing happened (the session stands).
 */
function awaitAcceptance(socket: tls.TLSSocket, security: TlsSecurity): Promise<TlsClassification | undefined> {
  const wait = security.config.acceptanceWait;
  if (wait <= 0 || socket.destroyed) return Promise.resolve(socket.destroyed ? { code: 'E_TLS_CERT_REFUSED', reason: 'the station closed the connection right after the TLS handshake' } : undefined);
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: TlsClassification | undefined): void => {
      if (done) return;
      done = true;
      security.clock.clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('end', onClose);
      resolve(r);
    };
    const onError = (err: Error): void => {
      const c = security.classify(err, { side: 'client', peerCertificateSeen: true });
      finish(c.code === 'E_TLS_HANDSHAKE' && !tlsAlertName((err as NodeJS.ErrnoException).code, err.message) ? noAlert(err.message) : c);
    };
    const onClose = (): void => finish(noAlert());
    // when the time is up, let a few more I/O turns pass before concluding: on a busy machine the
    // timer and the station's close can become due together, and timers run before I/O
    const timer = security.clock.setTimeout(() => {
      let turns = 0;
      const spin = (): void => {
        if (done) return;
        if (++turns >= 5) finish(undefined);
        else setImmediate(spin);
      };
      setImmediate(spin);
    }, wait);
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.once('end', onClose);
  });
}

function noAlert(why?: string): TlsClassification {
  return {
    code: 'E_TLS_CERT_REFUSED',
    reason: `the station closed the connection right after the TLS handshake, without an alert: it most likely refused our certificate (not issued by a CA it trusts, expired, revoked, or not on its allow-list)${why ? ` (${why})` : ''}`,
  };
}
