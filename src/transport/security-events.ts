/**
 * Security events of the transport: every refused (or, after acceptance, closed for a security
 * reason) connection gets a stable code and a human reason, is logged as one structured record and
 * counted. Used by the TLS verification ({@link TlsSecurity}), the access gate of `listenTcp` and the
 * audit log.
 */
import type tls from 'node:tls';
import type { Logger } from '../log.js';
import { nullLogger } from '../log.js';

/** Why a TLS connection was refused. Stable: tools and dashboards may match on them. */
export type TlsRefusalCode =
  | 'E_TLS_CERT_EXPIRED' // peer certificate (or one in its chain) is past notAfter
  | 'E_TLS_CERT_NOT_YET_VALID' // peer certificate is before notBefore
  | 'E_TLS_UNKNOWN_CA' // chain does not lead to a configured trust anchor
  | 'E_TLS_NOT_ALLOWED' // certificate valid but not on the peerCertificates allow-list (or not issued for the host)
  | 'E_TLS_REVOKED' // serial listed in a CRL of the issuer
  | 'E_TLS_PROTOCOL_VERSION' // peer offered only TLS versions we refuse (1.1 or lower)
  | 'E_TLS_NO_CLIENT_CERT' // client sent no certificate though one is required
  | 'E_TLS_HANDSHAKE_TIMEOUT' // handshake not finished in time
  | 'E_TLS_KEY_TOO_SMALL' // RSA < minKeyBits.rsa, EC < minKeyBits.ec
  | 'E_TLS_CERT_PURPOSE' // peer certificate not for this use (extended key usage / key usage)
  | 'E_TLS_CERT_REFUSED' // the peer refused OUR certificate (alert received, or closed right after the handshake)
  | 'E_TLS_NO_SHARED_CIPHER' // no cipher suite both ends accept
  | 'E_TLS_RENEGOTIATION' // renegotiation refused by the peer, failed, or requested too often
  | 'E_TLS_HANDSHAKE'; // any other handshake or verification failure (OpenSSL code in `detail`)

/** Why the access gate refused or closed a connection. */
export type AccessRefusalCode =
  | 'E_ACCESS_SOURCE' // source address not on the `allow` list
  | 'E_ACCESS_LIMIT' // `maxConnections` open connections already
  | 'E_ACCESS_NO_STARTDT' // the link did not reach `started` (no STARTDT) within `startTimeout`
  | 'E_ACCESS_ROLE' // a command refused by the station's per-client roles (the connection stays open)
  | 'E_ACCESS_EVICTED' // a not yet started (or not yet authenticated) connection evicted from the pending pool for a newer one
  | 'E_ACCESS_BUDGET'; // a connection closed for exceeding its memory budget (it asked for more than it acknowledged)

/** Every security code. */
export type SecurityCode = TlsRefusalCode | AccessRefusalCode;

/** Every {@link TlsRefusalCode}, in a stable order. */
export const TLS_REFUSAL_CODES: readonly TlsRefusalCode[] = Object.freeze([
  'E_TLS_CERT_EXPIRED',
  'E_TLS_CERT_NOT_YET_VALID',
  'E_TLS_UNKNOWN_CA',
  'E_TLS_NOT_ALLOWED',
  'E_TLS_REVOKED',
  'E_TLS_PROTOCOL_VERSION',
  'E_TLS_NO_CLIENT_CERT',
  'E_TLS_HANDSHAKE_TIMEOUT',
  'E_TLS_KEY_TOO_SMALL',
  'E_TLS_CERT_PURPOSE',
  'E_TLS_CERT_REFUSED',
  'E_TLS_NO_SHARED_CIPHER',
  'E_TLS_RENEGOTIATION',
  'E_TLS_HANDSHAKE',
] as const);

/** Every {@link AccessRefusalCode}. */
export const ACCESS_REFUSAL_CODES: readonly AccessRefusalCode[] = Object.freeze(['E_ACCESS_SOURCE', 'E_ACCESS_LIMIT', 'E_ACCESS_NO_STARTDT', 'E_ACCESS_ROLE', 'E_ACCESS_EVICTED', 'E_ACCESS_BUDGET'] as const);

/** What is logged of a peer certificate: public data only. */
export interface PeerCertificateInfo {
  subject: string;
  issuer: string;
  /** Serial number, hexadecimal upper case. */
  serialNumber: string;
  /** SHA-256 fingerprint `AA:BB:...`. */
  fingerprint256: string;
  validFrom: string;
  validTo: string;
  /** `rsa`, `ec`, `ed25519`, ... */
  keyType: string;
  /** RSA modulus length or EC curve size in bits (0 if unknown). */
  keyBits: number;
}

/** Negotiated TLS parameters. */
export interface TlsSessionInfo {
  /** `TLSv1.2`, `TLSv1.3`. */
  version: string;
  /** OpenSSL cipher suite name (`AES128-SHA256`, `ECDHE-RSA-AES128-GCM-SHA256`, `TLS_AES_256_GCM_SHA384`). */
  cipher: string;
  /** IANA (RFC) suite name (`TLS_RSA_WITH_AES_128_CBC_SHA256`), when Node knows it. */
  standardName?: string;
  /** Whether the session was resumed from a ticket/session id. */
  resumed: boolean;
  /**
   * Whether the key exchange gives forward secrecy (TLS 1.3 always; TLS 1.2 with ECDHE/DHE). A
   * recorded session without it (the RSA key exchange of `TLS_RSA_WITH_AES_128_CBC_SHA256`) can be
   * decrypted later by whoever obtains the server's private key.
   */
  forwardSecrecy: boolean;
}

/** TLS facts of one open, verified connection (for snapshots and the web workbench). */
export interface ConnectionTls {
  /** Negotiated version and suite (as at the handshake). */
  session: TlsSessionInfo;
  /** The peer's certificate, when it sent one (public data only). */
  peer?: PeerCertificateInfo;
  /**
   * Result of the verification the connection passed, as a sentence: `verified: …` naming the
   * checks made (chain to the trust anchors, key size, revocation list, allow-lists), or why the
   * peer is unauthenticated (`no client certificate (not required)`).
   */
  verification: string;
  /** Whether the peer was authenticated by a certificate. */
  verified: boolean;
}

/** Whether a negotiated suite has forward secrecy (TLS 1.3: always; TLS 1.2: ECDHE/DHE key exchange). */
export function hasForwardSecrecy(version: string, cipher: string): boolean {
  if (version === 'TLSv1.3') return true;
  return /^(ECDHE|DHE|EDH)-/.test(cipher) || /^TLS_(ECDHE|DHE)_/.test(cipher);
}

/** Negotiated version and cipher of a TLS socket. */
export function tlsSessionInfo(s: tls.TLSSocket): TlsSessionInfo {
  const c = s.getCipher() as (tls.CipherNameAndProtocol & { standardName?: string }) | undefined;
  const version = s.getProtocol() ?? 'unknown';
  const cipher = c?.name ?? 'unknown';
  return { version, cipher, ...(c?.standardName && c.standardName !== cipher ? { standardName: c.standardName } : {}), resumed: s.isSessionReused(), forwardSecrecy: hasForwardSecrecy(version, cipher) };
}

/** What happened to an established TLS session (see {@link SecurityEvents.session}). */
export interface TlsSessionEvent extends ConnectionEndpoints {
  /**
   * `established`: handshake done and peer verified (or resumed); `renegotiated`: a TLS 1.2
   * renegotiation completed (`initiator` says who asked).
   */
  event: 'established' | 'renegotiated';
  side: 'server' | 'client';
  tls: TlsSessionInfo;
  /** Renegotiations of this session so far (with `renegotiated`). */
  renegotiations?: number;
  /** Who started the renegotiation. */
  initiator?: 'peer' | 'local';
  /** Peer certificate subject, when known. */
  peerSubject?: string;
  /** Why the session is weaker than the profile recommends (e.g. no forward secrecy). */
  warning?: string;
}

/** Listener of TLS session events. */
export type TlsSessionListener = (event: TlsSessionEvent) => void;

/** Where a connection came from and where it arrived. */
export interface ConnectionEndpoints {
  remoteAddress: string;
  remotePort: number;
  localPort: number;
}

/** One security event: a refused connection, or an open one closed for a security reason. */
export interface SecurityEvent extends ConnectionEndpoints {
  code: SecurityCode;
  /** A sentence saying why. */
  reason: string;
  /** Which end refused: `server` (we accepted the TCP connection) or `client` (we connected). */
  side: 'server' | 'client';
  /** `refused` before any link was bound, `closed` for an already open session (CRL reload, no STARTDT). */
  action: 'refused' | 'closed';
  /** Low-level code (OpenSSL verify error, Node error code), when there is one. */
  detail?: string;
  tls?: TlsSessionInfo;
  peer?: PeerCertificateInfo;
}

/** Listener of {@link SecurityEvents}. */
export type SecurityEventListener = (event: SecurityEvent) => void;

/**
 * Logs (structured, level `warn`, event `security.refused` / `security.closed`), counts, and fans out
 * security events.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { SecurityEvents, createLogger } from 'iec104';
 * const lines: string[] = [];
 * const events = new SecurityEvents(createLogger({ write: (l) => lines.push(l) }));
 * events.record({ code: 'E_ACCESS_SOURCE', reason: 'not allowed', side: 'server', action: 'refused', remoteAddress: '10.0.0.9', remotePort: 4000, localPort: 19998 });
 * assert.equal(events.count('E_ACCESS_SOURCE'), 1);
 * assert.equal(JSON.parse(lines[0]).code, 'E_ACCESS_SOURCE');
 * ```
 */
export class SecurityEvents {
  private readonly counts = new Map<SecurityCode, number>();
  private readonly listeners = new Set<SecurityEventListener>();
  private readonly sessionListeners = new Set<TlsSessionListener>();
  private renegotiationCount = 0;

  constructor(private readonly logger: Logger = nullLogger) {}

  /** Log, count and deliver one event to the listeners (a listener that throws is logged, not rethrown). */
  record(event: SecurityEvent): void {
    this.counts.set(event.code, (this.counts.get(event.code) ?? 0) + 1);
    this.logger.log('warn', `security.${event.action}`, `${event.side === 'server' ? 'connection from' : 'connection to'} ${event.remoteAddress}:${event.remotePort} ${event.action}: ${event.reason}`, { ...event });
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (e) {
        this.logger.log('error', 'security.listener_error', `a security event listener threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /**
   * Log and deliver a TLS session event: negotiated version and suite (level `info`, `warn` when
   * `warning` is set, e.g. no forward secrecy), resumption, renegotiations.
   */
  session(event: TlsSessionEvent): void {
    if (event.event === 'renegotiated') this.renegotiationCount++;
    const who = `${event.side === 'server' ? 'connection from' : 'connection to'} ${event.remoteAddress}:${event.remotePort}`;
    const what =
      event.event === 'established'
        ? `${event.tls.version} ${event.tls.cipher}${event.tls.resumed ? ' (resumed)' : ''}`
        : `renegotiated by ${event.initiator === 'local' ? 'us' : 'the peer'} (${event.renegotiations ?? 1}): ${event.tls.version} ${event.tls.cipher}`;
    this.logger.log(event.warning ? 'warn' : 'info', `tls.${event.event}`, `${who}: ${what}${event.warning ? `: WARNING ${event.warning}` : ''}`, { ...event });
    for (const l of this.sessionListeners) {
      try {
        l(event);
      } catch (e) {
        this.logger.log('error', 'security.listener_error', `a TLS session listener threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Add a TLS session listener; returns a function removing it. */
  onSession(listener: TlsSessionListener): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }

  /** TLS 1.2 renegotiations completed so far (both initiators). */
  get renegotiations(): number {
    return this.renegotiationCount;
  }

  /** Add a listener; returns a function removing it. */
  on(listener: SecurityEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of events with `code` so far. */
  count(code: SecurityCode): number {
    return this.counts.get(code) ?? 0;
  }

  /** All counters (codes never seen are 0). */
  snapshot(): Record<SecurityCode, number> {
    const out = {} as Record<SecurityCode, number>;
    for (const c of [...TLS_REFUSAL_CODES, ...ACCESS_REFUSAL_CODES]) out[c] = this.count(c);
    return out;
  }
}
