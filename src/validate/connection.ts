/**
 * The validation client's connection: a controlling-station end with raw control. Unlike the
 * {@link Link} state machine (which closes on any protocol error and never sends a wrong frame),
 * a {@link TestConnection} sends whatever it is told (raw bytes, I-frames with any N(S)/N(R),
 * S-frames acknowledging anything), keeps its own V(S)/V(R), acknowledges by policy (automatic
 * after w frames or t2, or never), records every received frame with its time, and lets callers
 * wait for frames, acknowledgements or the close, bounded by timeouts on an injected {@link Clock}.
 *
 * Connecting goes through the transport's {@link connectTcp} (bounded by t0); TLS is layered on
 * the connected socket so that the TCP connect and the TLS handshake are timed separately.
 *
 * Why this is not a {@link Link} in a raw mode: the conformance and robustness tests need to break
 * the rules on purpose (wrong N(S), an acknowledgement of frames never sent, withheld
 * acknowledgements, frames after STOPDT) and to watch the peer's reaction, while `Link` is built so
 * that it cannot send a wrong frame and closes at the first wrong frame it receives. A raw mode
 * would put a second, rule-free path through every branch of the link; keeping the small
 * V(S)/V(R) bookkeeping here keeps the link's guarantees simple. The defaults (t0, w, t2) are the
 * link's one definition, {@link DEFAULT_LINK_PARAMETERS}.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { encodeSFrame, encodeUFrame, seqDistance, type UFunction } from '../codec/apci.js';
import { type Apdu, decodeApdu, encodeIFrame } from '../codec/apdu.js';
import type { Asdu } from '../codec/asdu.js';
import { ApduSplitter } from '../codec/frame-splitter.js';
import { type CodecOptions, resolveOptions } from '../codec/options.js';
import { type Clock, type TimerHandle } from '../clock.js';
import { connectTcp } from '../transport/tcp-link.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';

/** Where to connect. */
export interface Target {
  host: string;
  port: number;
}

/** The registered IEC 60870-5-104 port. */
export const IEC104_DEFAULT_PORT = 2404;

/**
 * Parse `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address.
 * @throws Error for an empty host or a port outside 1..65535.
 */
export function parseTarget(text: string, defaultPort = IEC104_DEFAULT_PORT): Target {
  const t = text.trim();
  let host = t;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    host = v6[1];
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if ((t.match(/:/g) ?? []).length === 1) {
    const i = t.indexOf(':');
    host = t.slice(0, i);
    const p = t.slice(i + 1);
    if (!/^\d+$/.test(p)) throw new Error(`invalid port in '${text}'`);
    port = Number(p);
  }
  if (host === '') throw new Error(`no host in '${text}'`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port must be 1..65535 in '${text}'`);
  return { host, port };
}

/** `host:port` (`[v6]:port`). */
export function formatTarget(t: Target): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/**
 * A real clock whose timers keep the process alive (the library's `systemClock` unrefs its
 * timers; a validation run waiting for an answer must not exit early).
 */
export const refClock: Clock = (() => {
  let seq = 0;
  const timers = new Map<number, NodeJS.Timeout>();
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms));
      return { id };
    },
    clearTimeout(h) {
      if (!h) return;
      const t = timers.get(h.id);
      if (t) {
        clearTimeout(t);
        timers.delete(h.id);
      }
    },
  };
})();

/** Resolve after `ms` on `clock`. */
export function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((res) => {
    clock.setTimeout(res, Math.max(0, ms));
  });
}

/** What the TLS handshake negotiated. */
export interface TlsSessionInfo {
  /** e.g. `TLSv1.3`. */
  protocol: string | null;
  /** Negotiated cipher suite, e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: string;
  /** Peer certificate subject (`CN=..., O=...`), when it sent one. */
  peerSubject?: string;
  peerIssuer?: string;
  /** Certificate validity (`notBefore`/`notAfter` as the certificate states them). */
  validFrom?: string;
  validTo?: string;
  /** Whether the peer certificate verified against the CA list. */
  authorized: boolean;
  authorizationError?: string;
}

/** Where a connection attempt failed. */
export type ConnectStage = 'tcp' | 'tls';

/** A connection attempt failed: TCP connect (refused, t0, unreachable) or the TLS handshake. */
export class ConnectFailure extends Error {
  override readonly name = 'ConnectFailure';
  constructor(
    readonly stage: ConnectStage,
    /** `ECONNREFUSED`, `E_T0_TIMEOUT`, `EHOSTUNREACH`, an OpenSSL/Node TLS code, ... */
    readonly code: string,
    message: string,
    /** Milliseconds from the start of the stage to the failure. */
    readonly ms: number,
    /** Milliseconds the TCP connect took, for a TLS failure. */
    readonly tcpMs?: number,
  ) {
    super(message);
  }
}

/** Options of {@link openStream}. */
export interface OpenStreamOptions {
  /** Connection establishment time-out t0 (ms), also bounding the TLS handshake. Default 30 000. */
  t0?: number;
  clock?: Clock;
  /** TLS client options: when given, a TLS handshake follows the TCP connect. */
  tls?: tls.ConnectionOptions;
  /** Stream factory replacing `net.connect` (tests, proxies); see `connectTcp`. */
  connect?: (host: string, port: number) => Duplex;
  /** The factory's ready event (default `connect`). */
  readyEvent?: string;
}

/** A connected (and, with TLS, secured) stream. */
export interface OpenedStream {
  socket: Duplex;
  /** TCP connect time (ms). */
  tcpMs: number;
  /** TLS handshake time (ms). */
  tlsMs?: number;
  tls?: TlsSessionInfo;
}

function errCode(e: unknown): string {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : e instanceof Error ? e.name : 'ERROR';
}
function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function dn(x: unknown): string | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const parts = Object.entries(x as Record<string, unknown>).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`);
  return parts.length ? parts.join(', ') : undefined;
}

/** TLS session details of a connected `TLSSocket`. */
export function tlsSessionInfo(s: tls.TLSSocket): TlsSessionInfo {
  const cert = s.getPeerCertificate();
  const has = cert && Object.keys(cert).length > 0;
  const info: TlsSessionInfo = {
    protocol: s.getProtocol(),
    cipher: s.getCipher()?.standardName ?? s.getCipher()?.name ?? 'unknown',
    authorized: s.authorized,
  };
  if (has) {
    const subject = dn(cert.subject);
    const issuer = dn(cert.issuer);
    if (subject) info.peerSubject = subject;
    if (issuer) info.peerIssuer = issuer;
    if (cert.valid_from) info.validFrom = cert.valid_from;
    if (cert.valid_to) info.validTo = cert.valid_to;
  }
  if (s.authorizationError) info.authorizationError = String(s.authorizationError);
  return info;
}

/**
 * Connect (TCP through `connectTcp`, bounded by t0) and, with `tls`, run the TLS handshake on the
 * connected socket (bounded by t0 again). Rejects with {@link ConnectFailure} naming the stage.
 */
export async function openStream(target: Target, opts: OpenStreamOptions = {}): Promise<OpenedStream> {
  const clock = opts.clock ?? refClock;
  const t0 = opts.t0 ?? DEFAULT_LINK_PARAMETERS.t0;
  const start = clock.now();
  let socket: Duplex;
  try {
    socket = await connectTcp(target.host, target.port, { t0, clock, connect: opts.connect, readyEvent: opts.readyEvent });
  } catch (e) {
    throw new ConnectFailure('tcp', errCode(e), errMessage(e), clock.now() - start);
  }
  const tcpMs = clock.now() - start;
  if (!opts.tls) return { socket, tcpMs };
  const tlsStart = clock.now();
  const servername = opts.tls.servername ?? (net.isIP(target.host) ? undefined : target.host);
  const secure = tls.connect({ ...opts.tls, socket: socket, ...(servername ? { servername } : {}) });
  return new Promise<OpenedStream>((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      secure.off('secureConnect', onOk);
      secure.off('error', finish);
      secure.off('close', onClose);
      if (err !== undefined) {
        secure.destroy();
        socket.destroy();
        reject(new ConnectFailure('tls', errCode(err), errMessage(err), clock.now() - tlsStart, tcpMs));
      } else resolve({ socket: secure, tcpMs, tlsMs: clock.now() - tlsStart, tls: tlsSessionInfo(secure) });
    };
    const onOk = (): void => finish();
    const onClose = (): void => finish(Object.assign(new Error('the station closed the connection during the TLS handshake'), { code: 'ECONNRESET' }));
    const timer = clock.setTimeout(() => finish(Object.assign(new Error(`TLS handshake not finished within ${t0} ms`), { code: 'E_TLS_TIMEOUT' })), t0);
    secure.once('secureConnect', onOk);
    secure.once('error', finish);
    secure.once('close', onClose);
  });
}

/** A frame received by a {@link TestConnection}. */
export interface ReceivedFrame {
  /** Clock time of arrival. */
  at: number;
  /** The APDU's octets (a copy). For undecodable input, the offending octets. */
  bytes: Uint8Array;
  /** The decoded APDU, when it decoded. */
  apdu?: Apdu;
  /** Why it did not decode (junk, bad length, malformed ASDU). */
  error?: string;
}

/** An ASDU received in an I-frame, waiting in the inbox. */
export interface InboxAsdu {
  at: number;
  asdu: Asdu;
  /** Position in {@link TestConnection.frames}. */
  index: number;
}

/** How the connection ended. */
export interface CloseInfo {
  at: number;
  /** `peer`: the station closed or reset it; `local`: we did. */
  by: 'peer' | 'local';
  /** Socket error (e.g. `ECONNRESET`), when there was one. */
  error?: string;
}

/** Options of a {@link TestConnection}. */
export interface TestConnectionOptions {
  clock?: Clock;
  codec?: Partial<CodecOptions>;
  /** Acknowledge received I-frames automatically (after `w` frames or `t2`). Default true. */
  autoAck?: boolean;
  /** Acknowledge after this many received I-frames. Default 8. */
  w?: number;
  /** Acknowledge at the latest this long after the first unacknowledged I-frame (ms). Default 10 000. */
  t2?: number;
  /** Answer TESTFR act with TESTFR con. Default true. */
  answerTestfr?: boolean;
  /** Keep at most this many received frames (older ones are dropped). Default 100 000. */
  maxFrames?: number;
  /** Every frame in either direction (for traces). */
  onFrame?: (direction: 'in' | 'out', bytes: Uint8Array) => void;
}

interface Waiter {
  check(): boolean;
}

/** A validation client connection with raw control. See the module comment. */
export class TestConnection {
  /** Received frames in order (bounded by `maxFrames`). */
  readonly frames: ReceivedFrame[] = [];
  /** Received ASDUs not yet taken by {@link takeAsdu}. */
  readonly inbox: InboxAsdu[] = [];
  /** V(S): N(S) of the next I-frame sent by default. */
  vs = 0;
  /** V(R): N(S) expected of the peer's next I-frame (counted over every I-frame received, in order or not). */
  vr = 0;
  /** The last N(R) received: our I-frames up to here are acknowledged. */
  peerAck = 0;
  /** The N(R) we last sent (in an S- or I-frame). */
  ackSent = 0;
  /** The largest number of the peer's I-frames that were outstanding (unacknowledged by us) at once. */
  maxPeerOutstanding = 0;
  /** Counters. */
  readonly counts = { iIn: 0, sIn: 0, uIn: 0, iOut: 0, sOut: 0, uOut: 0, bad: 0, rawOut: 0 };
  /** Set when the connection ended. */
  closed: CloseInfo | undefined;
  /** Acknowledge automatically (can be switched at any time). */
  autoAck: boolean;
  /** Answer TESTFR act (can be switched at any time). */
  answerTestfr: boolean;
  /** Clock time at which the connection was made. */
  readonly openedAt: number;

  private readonly clock: Clock;
  private readonly codec: CodecOptions;
  private readonly w: number;
  private readonly t2: number;
  private readonly maxFrames: number;
  private readonly splitter: ApduSplitter;
  private readonly waiters = new Set<Waiter>();
  private t2Timer: TimerHandle | undefined;
  private lastError: string | undefined;
  private readonly onFrameCb: TestConnectionOptions['onFrame'];
  private dropped = 0;

  constructor(
    /** The connected stream. */
    readonly socket: Duplex,
    opts: TestConnectionOptions = {},
    /** What connecting found (timings, TLS). */
    readonly stream?: OpenedStream,
  ) {
    this.clock = opts.clock ?? refClock;
    this.codec = resolveOptions(opts.codec);
    this.autoAck = opts.autoAck ?? true;
    this.answerTestfr = opts.answerTestfr ?? true;
    this.w = opts.w ?? DEFAULT_LINK_PARAMETERS.w;
    this.t2 = opts.t2 ?? DEFAULT_LINK_PARAMETERS.t2;
    this.maxFrames = opts.maxFrames ?? 100_000;
    this.onFrameCb = opts.onFrame;
    this.openedAt = this.clock.now();
    this.splitter = new ApduSplitter({
      frame: (f) => this.onFrame(new Uint8Array(f)),
      junk: (b) => this.record({ at: this.clock.now(), bytes: new Uint8Array(b), error: `${b.length} octet(s) that do not start an APDU` }),
      error: (e) => this.record({ at: this.clock.now(), bytes: new Uint8Array(0), error: e.message }),
    });
    (socket as net.Socket).setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.splitter.push(chunk));
    socket.on('error', (e: Error) => {
      this.lastError = errCode(e);
    });
    socket.on('close', () => this.markClosed('peer'));
    if (socket.destroyed) this.markClosed('peer');
  }

  /** Connect to `target` (see {@link openStream}) and wrap the stream. */
  static async connect(target: Target, opts: OpenStreamOptions & TestConnectionOptions = {}): Promise<TestConnection> {
    const s = await openStream(target, opts);
    return new TestConnection(s.socket, opts, s);
  }

  /** Number of the peer's I-frames we received and have not acknowledged. */
  get peerOutstanding(): number {
    return seqDistance(this.vr, this.ackSent);
  }

  /** Number of our I-frames the peer has not acknowledged (by default sequence numbers). */
  get unacknowledged(): number {
    return seqDistance(this.vs, this.peerAck);
  }

  /** Milliseconds since the connection was made. */
  elapsed(): number {
    return this.clock.now() - this.openedAt;
  }

  // ------------------------------------------------------------------------------------------
  // sending

  /** Write octets as they are. Returns false when the connection is closed. */
  sendRaw(bytes: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return false;
    this.counts.rawOut++;
    this.socket.write(bytes);
    this.onFrameCb?.('out', bytes);
    return true;
  }

  /** Send a U-frame. */
  sendU(fn: UFunction): boolean {
    this.counts.uOut++;
    return this.sendRaw(encodeUFrame(fn));
  }

  /** Send an S-frame acknowledging up to `nr` (default V(R): everything received). */
  sendS(nr = this.vr): boolean {
    this.counts.sOut++;
    this.ackSent = nr & 0x7fff;
    this.stopT2();
    return this.sendRaw(encodeSFrame(nr));
  }

  /**
   * Send an ASDU in an I-frame. Without `ns` it uses V(S) and advances it; with `ns` the frame
   * carries that N(S) and V(S) is left alone (a deliberately wrong sequence number). `nr` defaults
   * to V(R) (acknowledging everything received). Throws `CodecError` for an unencodable ASDU.
   */
  sendAsdu(asdu: Asdu, opts: { ns?: number; nr?: number } = {}): boolean {
    const ns = opts.ns ?? this.vs;
    const nr = opts.nr ?? this.vr;
    const frame = encodeIFrame(ns, nr, asdu, this.codec);
    if (opts.ns === undefined) this.vs = (this.vs + 1) & 0x7fff;
    this.counts.iOut++;
    if (opts.nr === undefined || seqDistance(nr, this.ackSent) <= seqDistance(this.vr, this.ackSent)) {
      this.ackSent = nr & 0x7fff;
      if (this.peerOutstanding === 0) this.stopT2();
    }
    return this.sendRaw(frame);
  }

  /** Close locally: end the stream (destroyed after `graceMs`). */
  close(graceMs = 1000): void {
    this.stopT2();
    if (this.closed) return;
    this.closed = { at: this.clock.now(), by: 'local' };
    this.notify();
    if (!this.socket.destroyed) {
      this.socket.end();
      const t = this.clock.setTimeout(() => this.socket.destroy(), graceMs);
      this.socket.once('close', () => this.clock.clearTimeout(t));
    }
  }

  /** Destroy the stream at once (a TCP reset where the platform does that). */
  destroy(): void {
    this.stopT2();
    if (!this.closed) {
      this.closed = { at: this.clock.now(), by: 'local' };
      this.notify();
    }
    const s = this.socket as net.Socket;
    if (typeof s.resetAndDestroy === 'function' && s instanceof net.Socket) s.resetAndDestroy();
    else this.socket.destroy();
  }

  // ------------------------------------------------------------------------------------------
  // waiting

  /**
   * Resolve with the first non-undefined result of `check` (evaluated now and after every received
   * frame and the close), or with undefined after `timeoutMs` or when `signal` aborts.
   */
  until<T>(check: () => T | undefined, timeoutMs: number, signal?: AbortSignal): Promise<T | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T | undefined>((resolve) => {
      const onAbort = (): void => {
        this.waiters.delete(w);
        this.clock.clearTimeout(timer);
        resolve(undefined);
      };
      const w: Waiter = {
        check: () => {
          const r = check();
          if (r === undefined) return false;
          this.clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
          return true;
        },
      };
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(w);
        signal?.removeEventListener('abort', onAbort);
        resolve(check());
      }, Math.max(0, timeoutMs));
      this.waiters.add(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Wait for a received frame (from position `from`, default: frames arriving after this call)
   * matching `pred`. Resolves undefined after the timeout, or at once when the connection closed.
   */
  waitFrame(pred: (f: ReceivedFrame) => boolean, timeoutMs: number, from = this.frames.length + this.dropped): Promise<ReceivedFrame | undefined> {
    let i = from;
    return this.until<{ f: ReceivedFrame | undefined }>(() => {
      for (; i < this.frames.length + this.dropped; i++) {
        const f = this.frames[i - this.dropped];
        if (f && pred(f)) {
          i++;
          return { f };
        }
      }
      return this.closed ? { f: undefined } : undefined;
    }, timeoutMs).then((r) => r?.f);
  }

  /** Wait for a U-frame with this function arriving after the call. */
  waitU(fn: UFunction, timeoutMs: number): Promise<ReceivedFrame | undefined> {
    return this.waitFrame((f) => f.apdu?.apci.format === 'U' && f.apdu.apci.uFunction === fn, timeoutMs);
  }

  /**
   * Take the first inbox ASDU (received at any time and not taken before) matching `pred`,
   * waiting up to `timeoutMs` for one to arrive. Resolves undefined at once when the connection closed.
   */
  takeAsdu(pred: (a: Asdu) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<InboxAsdu | undefined> {
    return this.until<{ x: InboxAsdu | undefined }>(() => {
      const i = this.inbox.findIndex((x) => pred(x.asdu));
      if (i < 0) return this.closed ? { x: undefined } : undefined;
      return { x: this.inbox.splice(i, 1)[0] };
    }, timeoutMs, signal).then((r) => r?.x);
  }

  /** Wait until the connection is closed; true when it is. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    return (await this.until(() => (this.closed ? true : undefined), timeoutMs)) === true;
  }

  /** Wait until the peer acknowledged all our I-frames; true when it did. */
  async waitAcknowledged(timeoutMs: number): Promise<boolean> {
    return (await this.until(() => (this.unacknowledged === 0 ? true : this.closed ? false : undefined), timeoutMs)) === true;
  }

  /** Wait until no frame arrived for `quietMs` (or the connection closed), at most `maxMs`. */
  async waitQuiet(quietMs: number, maxMs: number): Promise<void> {
    const end = this.clock.now() + maxMs;
    for (;;) {
      const last = this.frames.length ? this.frames[this.frames.length - 1].at : this.openedAt;
      const now = this.clock.now();
      if (this.closed || now >= end) return;
      const wait = Math.min(end - now, Math.max(1, last + quietMs - now));
      if (last + quietMs <= now) return;
      await delay(this.clock, wait);
    }
  }

  /** Send STARTDT act; true when STARTDT con arrives within `timeoutMs`. */
  async startdt(timeoutMs: number): Promise<boolean> {
    const p = this.waitU('STARTDT_CON', timeoutMs);
    this.sendU('STARTDT_ACT');
    return (await p) !== undefined;
  }

  /** Send STOPDT act; true when STOPDT con arrives within `timeoutMs`. */
  async stopdt(timeoutMs: number): Promise<boolean> {
    if (this.peerOutstanding > 0) this.sendS();
    const p = this.waitU('STOPDT_CON', timeoutMs);
    this.sendU('STOPDT_ACT');
    return (await p) !== undefined;
  }

  /** Send TESTFR act; true when TESTFR con arrives within `timeoutMs`. */
  async testfr(timeoutMs: number): Promise<boolean> {
    const p = this.waitU('TESTFR_CON', timeoutMs);
    this.sendU('TESTFR_ACT');
    return (await p) !== undefined;
  }

  // ------------------------------------------------------------------------------------------
  // receiving

  private record(f: ReceivedFrame): void {
    if (f.error) this.counts.bad++;
    this.frames.push(f);
    if (this.frames.length > this.maxFrames) {
      this.frames.shift();
      this.dropped++;
    }
    this.notify();
  }

  private onFrame(bytes: Uint8Array): void {
    const at = this.clock.now();
    this.onFrameCb?.('in', bytes);
    const r = decodeApdu(bytes, this.codec);
    if (!r.ok) {
      this.record({ at, bytes, error: r.error.message });
      return;
    }
    const apdu = r.value;
    const apci = apdu.apci;
    if (apci.format === 'I') {
      this.counts.iIn++;
      this.vr = (apci.sendSeq + 1) & 0x7fff;
      this.peerAck = apci.recvSeq;
      this.inbox.push({ at, asdu: apdu.asdu as Asdu, index: this.frames.length + this.dropped });
      if (this.inbox.length > this.maxFrames) this.inbox.shift();
      const out = this.peerOutstanding;
      if (out > this.maxPeerOutstanding) this.maxPeerOutstanding = out;
      if (this.autoAck) {
        if (out >= this.w) this.sendS();
        else if (!this.t2Timer) this.t2Timer = this.clock.setTimeout(() => this.onT2(), this.t2);
      }
    } else if (apci.format === 'S') {
      this.counts.sIn++;
      this.peerAck = apci.recvSeq;
    } else {
      this.counts.uIn++;
      if (apci.uFunction === 'TESTFR_ACT' && this.answerTestfr) this.sendU('TESTFR_CON');
    }
    this.record({ at, bytes, apdu });
  }

  private onT2(): void {
    this.t2Timer = undefined;
    if (this.closed) return;
    if (this.autoAck && this.peerOutstanding > 0) this.sendS();
  }

  private stopT2(): void {
    if (this.t2Timer) this.clock.clearTimeout(this.t2Timer);
    this.t2Timer = undefined;
  }

  private markClosed(by: 'peer' | 'local'): void {
    this.stopT2();
    if (!this.closed) this.closed = { at: this.clock.now(), by, ...(this.lastError ? { error: this.lastError } : {}) };
    else if (this.lastError && !this.closed.error && this.closed.by === 'peer') this.closed.error = this.lastError;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) if (w.check()) this.waiters.delete(w);
  }
}
