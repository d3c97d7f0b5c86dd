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
  type PeerCertificateInfo,
  SecurityEvents,
  type SecurityEvent,
  type TlsRefusalCode,
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

/**
 * Map an OpenSSL verify code (`socket.authorizationError`, e.g. `CERT_HAS_EXPIRED`) or a Node TLS
 * error (`err.code`, e.g. `ERR_SSL_UNSUPPORTED_PROTOCOL`) to a {@link TlsRefusalCode}.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { classifyTlsCode } from 'iec104';
 * assert.equal(classifyTlsCode('CERT_HAS_EXPIRED').code, 'E_TLS_CERT_EXPIRED');
 * assert.equal(classifyTlsCode('ERR_SSL_UNSUPPORTED_PROTOCOL').code, 'E_TLS_PROTOCOL_VERSION');
 * assert.equal(classifyTlsCode('SOMETHING_ELSE').code, 'E_TLS_HANDSHAKE');
 * ```
 */
export function classifyTlsCode(detail: string | undefined, message?: string): TlsClassification {
  const d = detail ?? '';
  const c = (code: TlsRefusalCode, reason: string): TlsClassification => ({ code, reason, ...(d ? { detail: d } : {}) });
  if (d === 'CERT_HAS_EXPIRED' || /ALERT_CERTIFICATE_EXPIRED/.test(d)) return c('E_TLS_CERT_EXPIRED', 'peer certificate has expired');
  if (d === 'CERT_NOT_YET_VALID') return c('E_TLS_CERT_NOT_YET_VALID', 'peer certificate is not yet valid');
  if (UNKNOWN_CA.has(d) || /ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE/.test(d)) return c('E_TLS_UNKNOWN_CA', 'peer certificate is not issued by a trusted CA');
  if (d === 'CERT_REVOKED' || /ALERT_CERTIFICATE_REVOKED/.test(d)) return c('E_TLS_REVOKED', 'peer certificate is revoked (CRL)');
  if (d === 'EE_KEY_TOO_SMALL' || d === 'CA_KEY_TOO_SMALL' || /KEY_TOO_SMALL/.test(d)) return c('E_TLS_KEY_TOO_SMALL', 'peer key is too small');
  if (d === 'ERR_TLS_CERT_ALTNAME_INVALID') return c('E_TLS_NOT_ALLOWED', `server certificate is not issued for this host${message ? `: ${message}` : ''}`);
  if (/UNSUPPORTED_PROTOCOL|ALERT_PROTOCOL_VERSION|NO_PROTOCOLS_AVAILABLE|VERSION_TOO_LOW|UNSUPPORTED_SSL_VERSION/.test(d)) {
    return c('E_TLS_PROTOCOL_VERSION', 'TLS version refused (TLS 1.2 or 1.3 required)');
  }
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/.test(d)) return c('E_TLS_NO_CLIENT_CERT', 'no client certificate');
  if (d === 'ERR_TLS_HANDSHAKE_TIMEOUT') return c('E_TLS_HANDSHAKE_TIMEOUT', 'TLS handshake timed out');
  if (/^(UNABLE_TO_GET_CRL|CRL_HAS_EXPIRED|CRL_NOT_YET_VALID|CRL_SIGNATURE_FAILURE|UNABLE_TO_DECRYPT_CRL_SIGNATURE)$/.test(d)) {
    return c('E_TLS_HANDSHAKE', `revocation status cannot be established (${d}): the issuer's CRL is missing, expired or invalid`);
  }
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|UNKNOWN_PROTOCOL/.test(d)) return c('E_TLS_HANDSHAKE', 'peer does not speak TLS (plain IEC 104 on the TLS port?)');
  return c('E_TLS_HANDSHAKE', `TLS handshake failed${message ? `: ${firstLine(message)}` : d ? ` (${d})` : ''}`);
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/^[0-9A-F]+:error:[0-9A-F]+:/, '').trim();
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
    return server;
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
    const x = socket.getPeerX509Certificate();
    if (!x) {
      if (side === 'client') return { ok: false, tls: info, code: 'E_TLS_HANDSHAKE', reason: 'server sent no certificate' };
      if (this.config.requireClientCert) return { ok: false, tls: info, code: 'E_TLS_NO_CLIENT_CERT', reason: 'client sent no certificate (mutual authentication required)' };
      return { ok: true, tls: info };
    }
    const peer = describeCertificate(x);
    if (!socket.authorized) {
      const err = socket.authorizationError as unknown;
      const code = typeof err === 'string' ? err : err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
      return { ok: false, tls: info, peer, ...classifyTlsCode(code) };
    }
    const weak = checkKeyStrength(keyStrength(x), this.config.minKeyBits);
    if (weak) return { ok: false, tls: info, peer, code: 'E_TLS_KEY_TOO_SMALL', reason: `peer ${weak}` };
    if (this.isRevoked(x)) return { ok: false, tls: info, peer, code: 'E_TLS_REVOKED', reason: 'peer certificate is revoked (CRL)' };
    const allowed = this.config.allowedFingerprints;
    if (allowed && !allowed.has(x.fingerprint256)) return { ok: false, tls: info, peer, code: 'E_TLS_NOT_ALLOWED', reason: `certificate ${peer.subject} (${peer.fingerprint256}) is not on the peerCertificates allow-list` };
    return { ok: true, tls: info, peer };
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

  /** Classify a handshake error (`tlsClientError`, a client's `error`). */
  classify(err: Error): TlsClassification {
    return classifyTlsCode((err as NodeJS.ErrnoException).code, err.message);
  }

  /**
   * Track an accepted, verified session: closed when a reloaded CRL revokes its certificate, after
   * `maxSessionDuration`, and renegotiated every `renegotiationInterval` (TLS 1.2). `close` must
   * close the link/socket; it gets the recorded security event when there is one. Untracked when the
   * socket closes.
   */
  track(socket: tls.TLSSocket, side: 'server' | 'client', close: (reason: string, event?: SecurityEvent) => void): void {
    const t: Tracked = { socket, side, endpoints: endpointsOf(socket), cert: socket.getPeerX509Certificate(), close, timers: [] };
    this.sessions.add(t);
    const { maxSessionDuration, renegotiationInterval } = this.config;
    if (maxSessionDuration) {
      t.timers.push(this.clock.setTimeout(() => {
        this.log.log('info', 'tls.session_expired', `session closed after maxSessionDuration (${maxSessionDuration} ms) to renew keys`, { ...t.endpoints });
        close(`TLS session older than maxSessionDuration (${maxSessionDuration} ms)`);
      }, maxSessionDuration));
    }
    if (renegotiationInterval && socket.getProtocol() === 'TLSv1.2') {
      const again = (): void => {
        t.timers.push(this.clock.setTimeout(() => {
          if (socket.destroyed) return;
          socket.renegotiate({ rejectUnauthorized: side === 'client' }, (err) => {
            if (err) {
              this.log.log('warn', 'tls.renegotiate_failed', err.message, { ...t.endpoints });
              close(`TLS renegotiation failed: ${err.message}`);
            } else again();
          });
        }, renegotiationInterval));
      };
      again();
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
export type ConnectTlsOptions = Omit<ConnectTcpOptions, 'tls' | 'connect' | 'readyEvent'>;

/**
 * Connect with TLS to `host:port` (default port 19998), bounded by t0, and verify the server like a
 * listener verifies clients (chain and host by Node; allow-list, key size, revocation by
 * {@link TlsSecurity.verify}). Rejects with {@link TlsRefusedError} (recorded as a `client` side
 * security event) or the socket error. The session is tracked (CRL reload closes it).
 */
export async function connectTls(host: string, port: number, security: TlsSecurity, opts: ConnectTlsOptions = {}): Promise<tls.TLSSocket> {
  let socket: tls.TLSSocket;
  const endpoints: ConnectionEndpoints = { remoteAddress: host, remotePort: port, localPort: 0 };
  try {
    socket = (await connectTcp(host, port, { ...opts, tls: security.clientOptions(host) })) as unknown as tls.TLSSocket;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // TLS failures: Node's ERR_SSL_*/ERR_TLS_* and OpenSSL verify codes (CERT_HAS_EXPIRED, ...);
    // not socket errors (ECONNREFUSED) nor our own E_* codes (E_T0_TIMEOUT)
    const code = typeof err.code === 'string' ? err.code : '';
    if (/^ERR_SSL|^ERR_TLS/.test(code) || (/^[A-Z][A-Z0-9_]+$/.test(code) && !/^E[A-Z]+$/.test(code) && !code.startsWith('E_'))) {
      const c = security.classify(err);
      security.refuse(c, endpoints, 'client');
      throw new TlsRefusedError(c.code, c.reason, c.detail);
    }
    throw e;
  }
  const v = security.verify(socket, 'client');
  if (!v.ok) {
    socket.destroy();
    security.refuse(v, { ...endpointsOf(socket), remoteAddress: host, remotePort: port }, 'client');
    throw new TlsRefusedError(v.code, v.reason, v.detail);
  }
  security.track(socket, 'client', () => socket.destroy());
  return socket;
}
