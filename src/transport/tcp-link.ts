/**
 * Binds a byte stream (a `net.Socket`, a `tls.TLSSocket`, any `Duplex`) to a {@link Link}, plus
 * TCP connect (bounded by t0) and listen helpers. Role-agnostic: the controlled station
 * (src/station) and the controlling station (src/master) build on these.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { type Logger, nullLogger } from '../log.js';
import { Link } from '../link/link.js';
import { DEFAULT_LINK_PARAMETERS, type LinkEvents, type LinkOptions } from '../link/types.js';
import { type AddressAllowList, ConnectionGate, ConnectionSlots, normalizeAddress } from './access-control.js';
import type { AuditLog } from './audit-log.js';
import { type AccessRefusalCode, type ConnectionEndpoints, type PeerCertificateInfo, type SecurityEvent, SecurityEvents, type TlsSessionInfo, tlsSessionInfo } from './security-events.js';
import { classifyTlsCode, type TlsSecurity } from './tls-verify.js';

/** Events of a bound link: those of {@link LinkEvents} except `write`, which goes to the stream. */
export type StreamLinkEvents = Omit<LinkEvents, 'write'>;

/** Options of {@link bindLink}. */
export interface BindLinkOptions extends LinkOptions {
  /**
   * Close the link with `E_BUFFER_LIMIT` when more than this many bytes wait in the stream's write
   * buffer (a peer that does not read). Default 16 MiB (k=32767 full frames need about 8.2 MiB).
   */
  maxWriteBuffer?: number;
  /** Grace period for a locally closed link's stream to end before it is destroyed (ms, default 2000). */
  endTimeout?: number;
}

const RESOLVED = Promise.resolve();

/** Default of {@link BindLinkOptions.maxWriteBuffer}. */
export const DEFAULT_MAX_WRITE_BUFFER = 16 * 1024 * 1024;

interface SocketLike extends Duplex {
  setNoDelay?(noDelay?: boolean): unknown;
  remoteAddress?: string;
  remotePort?: number;
}

/**
 * `host:port` of a socket's peer (`[v6]:port` for IPv6, `stream` for a stream without address), for logs.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { PassThrough } from 'node:stream';
 * import { describePeer } from 'iec104';
 * assert.equal(describePeer(new PassThrough()), 'stream');
 * ```
 */
export function describePeer(socket: Duplex): string {
  const s = socket as SocketLike;
  if (s.remoteAddress === undefined) return 'stream';
  return s.remoteAddress.includes(':') ? `[${s.remoteAddress}]:${s.remotePort}` : `${s.remoteAddress}:${s.remotePort}`;
}

/**
 * Bind a connected stream to a new {@link Link} and open it: stream data goes to `link.receive`
 * (a handler that throws closes the link with `E_LOCAL`), the link's writes are gathered within one
 * tick and written as one chunk, stream end/error calls `link.transportClosed()`, and the link's
 * close ends (`E_LOCAL`) or destroys (any other reason) the stream.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { PassThrough } from 'node:stream';
 * import { bindLink } from 'iec104';
 * const stream = new PassThrough();
 * const link = bindLink(stream, { role: 'controlled' }, { asdu: () => {}, close: () => {} });
 * assert.equal(link.state, 'stopped');
 * link.close();
 * assert.equal(link.state, 'closed');
 * ```
 */
export function bindLink(socket: Duplex, options: BindLinkOptions, events: StreamLinkEvents): Link {
  const s = socket as SocketLike;
  const clock = options.clock ?? systemClock;
  const peer = describePeer(socket);
  const log = (options.logger ?? nullLogger).child({ peer });
  const maxWrite = options.maxWriteBuffer ?? DEFAULT_MAX_WRITE_BUFFER;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  let lastError: Error | undefined;
  let link: Link | undefined;

  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const n = pendingBytes;
    // Always hand the socket a Buffer copy: given a small Uint8Array, the socket wraps its
    // ArrayBuffer, which makes V8 move an on-heap array's storage off-heap (~0.3 µs); a copy into
    // a pooled Buffer is cheaper. (Buffer.concat copies even a single chunk.) The list is reused.
    const data = socket.destroyed || socket.writableEnded ? undefined : Buffer.concat(pending, n);
    pending.length = 0;
    pendingBytes = 0;
    if (!data) return;
    socket.write(data);
    if (socket.writableLength > maxWrite && link && link.state !== 'closed') {
      log.log('warn', 'tcp.write_buffer', 'peer does not read: write buffer limit reached', { bytes: socket.writableLength, limit: maxWrite });
      link.close({ code: 'E_BUFFER_LIMIT', message: `write buffer holds ${socket.writableLength} bytes, over the limit of ${maxWrite}` });
    }
  };

  const l = new Link({ ...options, logger: options.logger ? log : undefined }, {
    ...events,
    write(bytes) {
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (!scheduled) {
        scheduled = true;
        // a microtask, as queueMicrotask would schedule it, without its per-call AsyncResource
        RESOLVED.then(flush);
      }
    },
    close(reason, unacknowledged) {
      try {
        events.close(reason, unacknowledged);
      } finally {
        if (reason.code === 'E_LOCAL') {
          flush();
          if (!socket.destroyed) {
            socket.end();
            const t = clock.setTimeout(() => socket.destroy(), options.endTimeout ?? 2000);
            socket.once('close', () => clock.clearTimeout(t));
          }
        } else {
          pending = [];
          pendingBytes = 0;
          socket.destroy();
        }
        log.log(reason.code === 'E_LOCAL' || reason.code === 'E_PEER_CLOSED' ? 'info' : 'warn', 'tcp.link_closed', reason.message, { code: reason.code });
      }
    },
  });
  link = l;

  s.setNoDelay?.(true);
  socket.on('data', (chunk: Buffer) => {
    try {
      l.receive(chunk);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      log.log('error', 'tcp.handler_error', `a link event handler threw: ${msg}`, { error: e });
      l.close(`a link event handler threw: ${msg}`);
    }
  });
  socket.on('error', (err: Error) => {
    lastError = err;
    log.log('debug', 'tcp.error', err.message, { error: err });
  });
  socket.on('close', () => {
    log.log('debug', 'tcp.closed', 'stream closed');
    l.transportClosed(lastError ? `transport error: ${describeStreamError(lastError, options.role)}` : 'transport closed');
  });
  log.log('info', 'tcp.connected', `connection with ${peer}`);
  if (socket.destroyed) l.transportClosed('transport closed before binding');
  else l.open();
  return l;
}

/**
 * A stream error in words: a TLS failure on an open session (an alert from the peer, a refused or
 * too frequent renegotiation) gets its refusal code and reason (`E_TLS_CERT_REFUSED: the station
 * refused our certificate (alert certificate_revoked)`); anything else its message.
 */
export function describeStreamError(err: Error, role?: 'controlling' | 'controlled'): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !/^ERR_SSL|^ERR_TLS/.test(code)) return err.message;
  const c = classifyTlsCode(code, err.message, { side: role === 'controlling' ? 'client' : role === 'controlled' ? 'server' : undefined, peerCertificateSeen: true });
  return `${c.code}: ${c.reason}`;
}

/**
 * Connecting took longer than t0.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { PassThrough } from 'node:stream';
 * import { connectTcp, TcpConnectTimeoutError, VirtualClock } from 'iec104';
 * const clock = new VirtualClock();
 * const p = connectTcp('127.0.0.1', 2404, { t0: 1_000, clock, connect: () => new PassThrough() });
 * clock.advance(1_000);
 * await assert.rejects(p, TcpConnectTimeoutError);
 * ```
 */
export class TcpConnectTimeoutError extends Error {
  override readonly name = 'TcpConnectTimeoutError';
  readonly code = 'E_T0_TIMEOUT' as const;
  constructor(
    readonly host: string,
    readonly port: number,
    readonly t0: number,
  ) {
    super(`connection to ${host}:${port} not established within t0 (${t0} ms)`);
  }
}

/** Options of {@link connectTcp}. */
export interface ConnectTcpOptions {
  /** Connection establishment time-out (ms). Default 30 000 (IEC 60870-5-104 t0). */
  t0?: number;
  clock?: Clock;
  logger?: Logger;
  /** Connect with TLS using these options (waits for `secureConnect`). */
  tls?: tls.ConnectionOptions;
  /** Local address to bind. */
  localAddress?: string;
  /** Stream factory (tests, proxies); `readyEvent` names its ready event (default `connect`). */
  connect?: (host: string, port: number) => Duplex;
  readyEvent?: string;
}

/**
 * Open a TCP (or TLS) connection, bounded by t0. Rejects with {@link TcpConnectTimeoutError}
 * after t0, or with the socket error (e.g. `ECONNREFUSED`). Resolves with the connected stream,
 * ready for {@link bindLink}.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { connectTcp, listenTcp } from 'iec104';
 * const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' } }, (c) => {
 *   c.bind({ asdu: () => {}, close: () => {} });
 * });
 * const socket = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
 * assert.equal(socket.remotePort, server.port);
 * socket.destroy();
 * await server.close();
 * ```
 */
export function connectTcp(host: string, port: number, opts: ConnectTcpOptions = {}): Promise<net.Socket> {
  const clock = opts.clock ?? systemClock;
  const t0 = opts.t0 ?? DEFAULT_LINK_PARAMETERS.t0;
  const log = (opts.logger ?? nullLogger).child({ peer: `${host}:${port}` });
  return new Promise<net.Socket>((resolve, reject) => {
    let socket: Duplex;
    let ready: string;
    if (opts.connect) {
      socket = opts.connect(host, port);
      ready = opts.readyEvent ?? 'connect';
    } else if (opts.tls) {
      socket = tls.connect({ ...opts.tls, host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      ready = 'secureConnect';
    } else {
      socket = net.connect({ host, port, localAddress: opts.localAddress });
      ready = 'connect';
    }
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      socket.off(ready, onReady);
      socket.off('error', onError);
      if (err) {
        socket.destroy();
        log.log('warn', 'tcp.connect_failed', err.message, { error: err });
        reject(err);
      } else {
        log.log('info', 'tcp.connect', 'connected');
        resolve(socket as net.Socket);
      }
    };
    const onReady = (): void => finish();
    const onError = (err: Error): void => finish(err);
    const timer = clock.setTimeout(() => finish(new TcpConnectTimeoutError(host, port, t0)), t0);
    socket.once(ready, onReady);
    socket.once('error', onError);
  });
}

/** A connection accepted by {@link listenTcp}. */
export interface AcceptedConnection {
  socket: net.Socket;
  remoteAddress: string;
  remotePort: number;
  /** TLS version and cipher, on a TLS listener. */
  tls?: TlsSessionInfo;
  /** The verified peer certificate, on a TLS listener (with `secure`). */
  peer?: PeerCertificateInfo;
  /**
   * Bind the connection to a new link (options default to the server's `link` options). Call it
   * synchronously in the connection handler; a connection left unbound is closed.
   */
  bind(events: StreamLinkEvents, options?: Partial<BindLinkOptions>): Link;
}

/** Options of {@link listenTcp}. */
export interface ListenTcpOptions {
  host?: string;
  /** Port (0 = any free port). Default 2404. */
  port?: number;
  /** Link options of accepted connections. */
  link: BindLinkOptions;
  /** TLS: accept TLS connections with these options. */
  tls?: tls.TlsOptions;
  /**
   * Protected connection slots (default unlimited): connections that started data transfer (STARTDT)
   * or, on a `secure` listener, passed TLS verification. While all are taken, new connections are
   * refused at TCP accept (`E_ACCESS_LIMIT`). Connections not yet started or authenticated use the
   * separate pending pool (`maxPending`), so idle or unauthenticated peers cannot take these slots.
   */
  maxConnections?: number;
  /**
   * Pending slots: connections that have not started (plain TCP) or not authenticated (TLS
   * handshake and verification). Default: half of `maxConnections` rounded up (at least 1). When
   * full, the oldest pending connection is evicted for a new one (`E_ACCESS_EVICTED`).
   */
  maxPending?: number;
  /** Pending slots one source address may hold; beyond, its oldest is evicted. Default: half of `maxPending` rounded up. */
  maxPendingPerSource?: number;
  logger?: Logger;
  /**
   * TLS with classified post-handshake verification, allow-list, CRL reload and session tracking
   * (see {@link TlsSecurity}). Takes precedence over `tls`. The handshake is bounded by
   * `secure.handshakeTimeout` on `clock` (`E_TLS_HANDSHAKE_TIMEOUT`).
   */
  secure?: TlsSecurity;
  /** Source-address allow-list (CIDR, IPv4/IPv6; IPv4-mapped IPv6 handled). Others are refused at TCP accept (`E_ACCESS_SOURCE`). */
  allow?: readonly string[] | AddressAllowList;
  /**
   * Close a connection whose link has not reached `started` (no STARTDT act received, or none sent)
   * within this time in ms (`E_ACCESS_NO_STARTDT`). Each TESTFR act received re-arms it: a
   * redundancy standby (stopped, kept alive by TESTFR) is not closed. Default: the link's t0 (30 s) on a `secure`
   * listener, off otherwise (plain listeners keep their former behaviour); 0 turns it off.
   */
  startTimeout?: number;
  /** Called for every refused connection, and every connection closed for a security reason. */
  onRefused?: (event: SecurityEvent) => void;
  /** Called for every accepted connection (after TLS verification), before `onConnection`. */
  onAccepted?: (conn: AcceptedConnection) => void;
  /** Audit log: every accepted/refused connection and every STARTDT/STOPDT of this listener. */
  audit?: AuditLog;
  /** Where refusals are recorded (default: `secure.events`, else a new one on `logger`). */
  events?: SecurityEvents;
  /** Clock of the handshake and start time-outs (default: `link.clock`, else the system clock). */
  clock?: Clock;
}

/** A listening server whose connections are bound to links. */
export interface TcpLinkServer {
  server: net.Server;
  /** The bound port (useful with port 0). */
  port: number;
  /** Links of open connections. */
  readonly links: ReadonlySet<Link>;
  /** Refusals of this listener, logged and counted (shared with `secure.events` when given). */
  readonly security: SecurityEvents;
  /** Slots taken: protected (started/authenticated) and pending. */
  slots(): { protected: number; pending: number };
  /** The TLS server the accepted sockets are handed to (TLS listeners only; not itself listening). */
  readonly tlsServer?: tls.Server;
  /** Stop listening and close every link (`E_LOCAL`). */
  close(): Promise<void>;
}

function endpointsOfSocket(s: net.Socket): ConnectionEndpoints {
  const n = normalizeAddress(s.remoteAddress ?? '');
  return { remoteAddress: n?.address ?? s.remoteAddress ?? '', remotePort: s.remotePort ?? 0, localPort: s.localPort ?? 0 };
}

/**
 * Listen for TCP (or TLS) connections; `onConnection` binds each with `conn.bind(events)`.
 *
 * Order of checks for each connection: source allow-list and the protected slots (`maxConnections`)
 * at TCP accept (no TLS byte is exchanged with a refused address), then a pending slot (the oldest
 * pending connection of the source, or of all, is evicted when full: `maxPending`,
 * `maxPendingPerSource`), then the TLS handshake (bounded), then the peer verification of `secure`
 * (which moves the connection to a protected slot), then `onConnection`; then the start time-out
 * until STARTDT (which, on a plain or non-verifying listener, moves it to a protected slot).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { listenTcp } from 'iec104';
 * const srv = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' } }, (conn) => {
 *   conn.bind({ asdu: () => {}, close: () => {} });
 * });
 * assert.ok(srv.port > 0);
 * await srv.close();
 * ```
 */
export function listenTcp(opts: ListenTcpOptions, onConnection: (conn: AcceptedConnection) => void): Promise<TcpLinkServer> {
  const log = (opts.logger ?? nullLogger).child({ listener: `${opts.host ?? '*'}:${opts.port ?? 2404}` });
  const links = new Set<Link>();
  const sockets = new Set<net.Socket>();
  const raws = new Set<net.Socket>();
  const clock = opts.clock ?? opts.link.clock ?? systemClock;
  const secure = opts.secure;
  const events = secure?.events ?? opts.events ?? new SecurityEvents(log);
  const gate = new ConnectionGate({ allow: opts.allow });
  const slots = new ConnectionSlots<net.Socket>({ maxConnections: opts.maxConnections, maxPending: opts.maxPending, maxPendingPerSource: opts.maxPendingPerSource });
  /** How to close a pending connection that is evicted (by raw socket), and its endpoints. */
  const evictors = new Map<net.Socket, { ep: ConnectionEndpoints; close: (why: string) => void }>();
  const startTimeout = opts.startTimeout ?? (secure ? (opts.link.params?.t0 ?? DEFAULT_LINK_PARAMETERS.t0) : 0);

  const report = (ev: SecurityEvent): void => {
    try {
      opts.onRefused?.(ev);
    } catch (e) {
      log.log('error', 'tcp.refused_handler_error', `onRefused threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    opts.audit?.security(ev);
  };
  const refuseAccess = (code: AccessRefusalCode, reason: string, ep: ConnectionEndpoints, action: 'refused' | 'closed'): void => {
    const ev: SecurityEvent = { code, reason, side: 'server', action, ...ep };
    events.record(ev);
    report(ev);
  };

  /** Move `raw` to a protected slot; false (refusal reported, caller closes) when none is free. */
  const promote = (raw: net.Socket, ep: ConnectionEndpoints, action: 'refused' | 'closed'): boolean => {
    const no = slots.promote(raw);
    evictors.delete(raw);
    if (!no) return true;
    log.log('warn', 'tcp.refused', `connection ${action}: ${no.reason}`, { ...ep, code: no.code });
    refuseAccess(no.code, no.reason, ep, action);
    return false;
  };

  const handle = (socket: net.Socket, raw: net.Socket, ep: ConnectionEndpoints, verdict?: { tls?: TlsSessionInfo; peer?: PeerCertificateInfo }): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let link: Link | undefined;
    const conn: AcceptedConnection = {
      socket,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      ...(verdict?.tls ? { tls: verdict.tls } : {}),
      ...(verdict?.peer ? { peer: verdict.peer } : {}),
      bind(events, options) {
        if (link) throw new Error('connection already bound');
        let started = false;
        let startTimer: TimerHandle | undefined;
        const armStartTimer = (): void => {
          clock.clearTimeout(startTimer);
          startTimer = clock.setTimeout(() => {
            if (started || l.state === 'closed') return;
            refuseAccess('E_ACCESS_NO_STARTDT', `no STARTDT and no TESTFR within ${startTimeout} ms: connection closed`, ep, 'closed');
            l.close({ code: 'E_LOCAL', message: `no STARTDT within startTimeout (${startTimeout} ms)` });
          }, startTimeout);
        };
        const l = bindLink(socket, { ...opts.link, ...options }, {
          ...events,
          // A redundancy standby stays stopped but keeps its connection alive with TESTFR act
          // (IEC 60870-5-104 clause 10): that liveness re-arms the timer, so only connections that
          // neither start nor test are closed. (The hook is only installed when it is needed.)
          ...(startTimeout > 0 || events.frame
            ? {
                frame(direction: 'in' | 'out', bytes: Uint8Array) {
                  if (startTimeout > 0 && !started && direction === 'in' && bytes.length === 6 && bytes[2] === 0x43) armStartTimer();
                  events.frame?.(direction, bytes);
                },
              }
            : {}),
          stateChange(state, previous) {
            if (state === 'started') {
              started = true;
              clock.clearTimeout(startTimer);
              if (!slots.isProtected(raw) && !promote(raw, ep, 'closed')) {
                l.close({ code: 'E_LOCAL', message: 'connection limit reached (maxConnections)' });
                return;
              }
            }
            if (opts.audit && (state === 'started' || (state === 'stopped' && (previous === 'started' || previous === 'stopping')))) {
              opts.audit.link({ ...ep, event: state === 'started' ? 'STARTDT' : 'STOPDT', state, ...(verdict?.peer ? { peerSubject: verdict.peer.subject } : {}) });
            }
            events.stateChange?.(state, previous);
          },
          close(reason, unacknowledged) {
            clock.clearTimeout(startTimer);
            links.delete(l);
            events.close(reason, unacknowledged);
          },
        });
        link = l;
        if (l.state !== 'closed') {
          links.add(l);
          if (startTimeout > 0) armStartTimer();
          if (evictors.has(raw)) {
            evictors.set(raw, {
              ep,
              close: (why) => {
                l.close({ code: 'E_LOCAL', message: why });
                socket.destroy();
              },
            });
          }
        }
        return l;
      },
    };
    if (opts.onAccepted || opts.audit) {
      try {
        opts.onAccepted?.(conn);
      } catch (e) {
        log.log('error', 'tcp.accepted_handler_error', `onAccepted threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      opts.audit?.connection({ outcome: 'accepted', side: 'server', ...ep, ...(verdict?.tls ? { tls: verdict.tls } : {}), ...(verdict?.peer ? { peer: verdict.peer } : {}) });
    }
    try {
      onConnection(conn);
    } catch (e) {
      log.log('error', 'tcp.accept_error', `connection handler threw: ${e instanceof Error ? e.message : String(e)}`, { error: e });
      if (link) link.close('connection handler threw');
    }
    if (!link) {
      log.log('info', 'tcp.unbound', 'connection not bound by the handler: closed', { peer: describePeer(socket) });
      socket.destroy();
    }
    if (secure && link && link.state !== 'closed') {
      const l: Link = link;
      const ts = socket as tls.TLSSocket;
      opts.audit?.tlsSession(secure.established(ts, 'server', ep, verdict?.peer));
      secure.track(
        ts,
        'server',
        (message, ev) => {
          if (ev) report(ev);
          l.close({ code: 'E_LOCAL', message });
          socket.destroy();
        },
        { endpoints: ep, ...(opts.audit ? { onSession: (e) => opts.audit!.tlsSession(e) } : {}) },
      );
    }
  };

  // TLS: sockets are accepted by the net server (gate first), then handed to a tls.Server.
  const tlsServer = secure ? secure.createServer() : opts.tls ? tls.createServer(opts.tls) : undefined;
  type Pending = { ep: ConnectionEndpoints; timer?: TimerHandle; timedOut: boolean };
  const pending = new Map<net.Socket, Pending>();
  // A TLSSocket made by a tls.Server keeps its raw socket in `_parent` (Node internal, stable since
  // v0.x); the raw socket's endpoints are used because a destroyed socket has none.
  const rawOf = (ts: tls.TLSSocket): net.Socket | undefined => (ts as tls.TLSSocket & { _parent?: net.Socket })._parent;
  if (tlsServer) {
    tlsServer.on('secureConnection', (ts: tls.TLSSocket) => {
      const raw = rawOf(ts);
      const p = raw && pending.get(raw);
      if (raw) pending.delete(raw);
      if (p) clock.clearTimeout(p.timer);
      const ep = p?.ep ?? endpointsOfSocket(ts);
      if (!raw || raw.destroyed) {
        ts.destroy();
        return;
      }
      if (!secure) return handle(ts, raw, ep, { tls: tlsSessionInfo(ts) });
      const v = secure.verify(ts, 'server');
      if (!v.ok) {
        ts.destroy();
        report(secure.refuse(v, ep, 'server'));
        return;
      }
      // authenticated: a protected slot (or refused when none is free)
      if (!promote(raw, ep, 'refused')) {
        ts.destroy();
        return;
      }
      handle(ts, raw, ep, v);
    });
    tlsServer.on('tlsClientError', (err: Error, ts: tls.TLSSocket) => {
      const raw = rawOf(ts);
      const p = raw && pending.get(raw);
      if (raw) pending.delete(raw);
      if (p) clock.clearTimeout(p.timer);
      if (p?.timedOut) return;
      const ep = p?.ep ?? endpointsOfSocket(ts);
      if (secure) report(secure.refuse(secure.classify(err, { side: 'server' }), ep, 'server'));
      else log.log('warn', 'tls.client_error', err.message, { ...ep, code: (err as NodeJS.ErrnoException).code });
    });
  }

  const onRaw = (raw: net.Socket): void => {
    const ep = endpointsOfSocket(raw);
    const denied = gate.check(ep.remoteAddress, 0);
    const admission = denied ? undefined : slots.admit(raw, ep.remoteAddress);
    const refusal = denied ?? admission?.refusal;
    if (refusal || !admission) {
      const why = refusal ?? { code: 'E_ACCESS_LIMIT' as const, reason: 'connection refused' };
      log.log('warn', 'tcp.refused', `connection refused: ${why.reason}`, { peer: describePeer(raw), code: why.code, max: opts.maxConnections });
      raw.destroy();
      refuseAccess(why.code, why.reason, ep, 'refused');
      return;
    }
    for (const { conn, reason } of admission.evict) {
      const ev = evictors.get(conn);
      evictors.delete(conn);
      const p = pending.get(conn);
      if (p) {
        // still in the TLS handshake: no handshake error report for it
        p.timedOut = true;
        clock.clearTimeout(p.timer);
      }
      const eep = ev?.ep ?? p?.ep ?? endpointsOfSocket(conn);
      log.log('warn', 'tcp.evicted', `pending connection evicted: ${reason}`, { ...eep, code: 'E_ACCESS_EVICTED' });
      refuseAccess('E_ACCESS_EVICTED', reason, eep, 'closed');
      if (ev) ev.close(`evicted from the pending pool: ${reason}`);
      else conn.destroy();
    }
    raws.add(raw);
    evictors.set(raw, { ep, close: () => raw.destroy() });
    raw.once('close', () => {
      raws.delete(raw);
      evictors.delete(raw);
      slots.release(raw);
    });
    if (!tlsServer) return handle(raw, raw, ep);
    const entry: Pending = { ep, timedOut: false };
    pending.set(raw, entry);
    raw.once('close', () => {
      clock.clearTimeout(entry.timer);
      // kept until tlsClientError/secureConnection looked it up (they may follow the close)
      setImmediate(() => pending.delete(raw));
    });
    if (secure) {
      entry.timer = clock.setTimeout(() => {
        if (pending.get(raw) !== entry) return;
        entry.timedOut = true;
        report(secure.refuse({ code: 'E_TLS_HANDSHAKE_TIMEOUT', reason: `TLS handshake not finished within ${secure.handshakeTimeout} ms` }, ep, 'server'));
        raw.destroy();
      }, secure.handshakeTimeout);
    }
    tlsServer.emit('connection', raw);
  };
  const server = net.createServer(onRaw);
  return new Promise<TcpLinkServer>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 2404, opts.host, () => {
      server.off('error', reject);
      server.on('error', (err) => log.log('error', 'tcp.server_error', err.message, { error: err }));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 2404);
      log.log('info', 'tcp.listening', `listening on port ${port}`);
      resolve({
        server,
        port,
        links,
        security: events,
        slots: () => slots.counts(),
        ...(tlsServer ? { tlsServer } : {}),
        close: () =>
          new Promise<void>((res) => {
            for (const l of [...links]) l.close('server closing');
            for (const s of sockets) s.destroy();
            for (const s of raws) s.destroy();
            for (const p of pending.values()) clock.clearTimeout(p.timer);
            pending.clear();
            if (tlsServer && secure) secure.detach(tlsServer);
            server.close(() => res());
          }),
      });
    });
  });
}
