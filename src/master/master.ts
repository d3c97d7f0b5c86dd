/**
 * The controlling station (SCADA master, TCP client) of IEC 60870-5-104: connection management
 * with reconnect back-off (this file), awaitable requests matched to their confirmations
 * (request-tracker.ts), the request methods (request-helpers.ts, shared with the redundancy
 * group), received data as values. It speaks in {@link Asdu} values; bytes are the link's and the
 * codec's business. Its public types are in types.ts.
 */
import type { Asdu } from '../codec/asdu.js';
import { type CodecOptions, resolveOptions } from '../codec/options.js';
import { isFileType } from '../codec/type-table.js';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { type Logger, isNullLogger, nullLogger } from '../log.js';
import { DEFAULT_LINK_PARAMETERS, type LinkCloseReason, type LinkEvents, type LinkParameters, type LinkState } from '../link/types.js';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { Channel } from './channel.js';
import type { Connector, MasterLink } from './connection.js';
import { ConnectionLostError, MasterError } from './errors.js';
import { PointImage } from './points.js';
import { MasterRequests, type RequestPort } from './request-helpers.js';
import { RequestTracker } from './request-tracker.js';
import type { ControllingStationEventMap, ControllingStationOptions, MasterCounters, MasterSnapshot, MasterState } from './types.js';
import { type DownloadOptions, type FileOperationOptions, type FileTransferResult, FileTransferClient, type RemoteFile, type UploadOptions } from './file-transfer.js';

export type {
  CommandOptions, CommandResult, ControllingStationEventMap, ControllingStationOptions, DoubleCommandValue, InterrogationResult,
  MasterCounters, MasterSnapshot, MasterState, ReadResult, RequestOptions, RequestResult, RoundTrip, SendOptions, StepCommandValue,
} from './types.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: Error): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}


/**
 * The controlling station: connects (bounded by t0), starts data transfer, reconnects with
 * exponential back-off, and sends awaitable requests that resolve at the confirmation or the
 * termination and reject with typed errors.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { ControllingStation, listenTcp, tcpConnector } from 'iec104';
 * // a minimal controlled station on loopback: confirms and terminates every activation
 * const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' } }, (conn) => {
 *   const link = conn.bind({
 *     asdu: (a) => {
 *       link.send({ ...a, cot: 7 });
 *       link.send({ ...a, cot: 10 });
 *     },
 *     close: () => {},
 *   });
 * });
 * const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', server.port), reconnect: false });
 * await master.connect(); // TCP, then STARTDT act/con
 * const r = await master.single(1, 5000, true, { until: 'actterm' });
 * assert.equal(r.confirmation?.cot, 7);
 * assert.equal(r.termination?.cot, 10);
 * assert.ok(r.rtt.actTerm !== undefined && r.rtt.actTerm >= 0);
 * await master.close();
 * await server.close();
 * ```
 */
export class ControllingStation extends MasterRequests<ControllingStationEventMap> {
  private readonly connector: Connector;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** False when logs are discarded: hot paths then skip building messages. */
  private readonly logOn: boolean;
  private readonly params: Partial<LinkParameters>;
  private readonly codec: CodecOptions;
  private readonly t0: number;
  private readonly startDt: boolean;
  private readonly backoff: BackoffOptions | undefined;
  private readonly random: () => number;
  private readonly originator: number;
  private readonly wallClock: () => Date;
  private readonly iteratorBuffer: number;
  private readonly image: PointImage | undefined;

  private _state: MasterState = 'idle';
  private link: MasterLink | undefined;
  private linkState: LinkState = 'closed';
  private gen = 0;
  private attemptNo = 0;
  private attemptAbort: AbortController | undefined;
  private attemptTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  /** Releases the clock's hold on the process (see setState). */
  private releaseHold: (() => void) | undefined;
  private ready: Deferred | undefined;
  private startWaiters: Deferred[] = [];
  private stopWaiters: Deferred[] = [];
  private closeWaiters: Array<() => void> = [];
  private closed = false;
  private testCounter = 0;
  /** Open requests and the matching of their answers (request-tracker.ts). */
  private readonly requests: RequestTracker;
  /** What the request helpers send through (request-helpers.ts). */
  private readonly ownPort: RequestPort;
  private readonly channels = new Set<Channel<Asdu>>();
  /** File transfer procedures, made at the first file operation. */
  private fileClient: FileTransferClient | undefined;
  private readonly _counters: MasterCounters = {
    requests: 0, confirmations: 0, terminations: 0, negatives: 0, timeouts: 0, refused: 0, lost: 0, queued: 0,
    asdusIn: 0, dropped: 0, connects: 0, connectFailures: 0, disconnects: 0,
  };

  constructor(options: ControllingStationOptions) {
    super();
    this.connector = options.connector;
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? nullLogger).child({ component: 'master' });
    this.logOn = !isNullLogger(this.log);
    this.params = { ...options.params };
    this.codec = resolveOptions(options.codec);
    this.t0 = options.params?.t0 ?? DEFAULT_LINK_PARAMETERS.t0;
    this.startDt = options.startDt ?? true;
    const rc = options.reconnect ?? true;
    this.backoff = rc === false ? undefined : { ...DEFAULT_BACKOFF, ...(rc === true ? {} : rc) };
    this.random = options.random ?? Math.random;
    this.originator = options.originator ?? 0;
    this.wallClock = options.wallClock ?? (() => new Date());
    this.iteratorBuffer = options.iteratorBuffer ?? 10_000;
    this.image = options.pointImage ? new PointImage() : undefined;
    this.requests = new RequestTracker({
      startedLink: () => (this.linkState === 'started' ? this.link : undefined),
      closed: () => this.closed,
      state: () => this._state,
    }, {
      clock: this.clock, log: this.log, logOn: this.logOn, codec: this.codec, originator: this.originator,
      requestTimeout: options.requestTimeout ?? 15_000,
      terminationTimeout: options.terminationTimeout ?? 60_000,
      broadcastSettle: options.broadcastSettle ?? 250,
      queueLimit: options.queueLimit ?? 256,
      wallClock: this.wallClock,
      audit: options.audit,
      auditSource: options.auditSource ?? 'controlling station',
      counters: this._counters,
    });
    const requests = this.requests;
    this.ownPort = {
      submit: (spec) => requests.submit(spec),
      refuse: (code, message) => requests.refuse(code, message),
      wallClock: this.wallClock,
      nextTestCounter: () => {
        const c = this.testCounter;
        this.testCounter = (this.testCounter + 1) & 0xffff;
        return c;
      },
    };
  }

  /** @internal */
  override requestPort(): RequestPort {
    return this.ownPort;
  }

  // ---------------------------------------------------------------------------------------------
  // connection

  /** Current connection state. */
  get state(): MasterState {
    return this._state;
  }

  /** The live point image, when enabled with `pointImage: true`. */
  get points(): PointImage | undefined {
    return this.image;
  }

  /** Counters since construction (a copy). */
  get counters(): MasterCounters {
    return { ...this._counters };
  }

  /** Live state: connection, link snapshot, open requests, counters. */
  snapshot(): MasterSnapshot {
    const s: MasterSnapshot = { state: this._state, pending: this.requests.pending.size, queued: this.requests.queue.length, reconnectAttempt: this.attemptNo, counters: this.counters };
    if (this.link) s.link = this.link.snapshot();
    if (this.link?.tls) s.tls = this.link.tls;
    return s;
  }

  /**
   * Connect (and start data transfer unless `startDt: false`). Resolves once started (or connected).
   * Without reconnect, rejects with `E_CONNECT_FAILED` when the attempt fails (t0 elapsed, refused,
   * STARTDT not confirmed); with reconnect, keeps trying and rejects only on close().
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new MasterError('E_CLOSED', 'the controlling station is closed'));
    if (this.ready) return this.ready.promise;
    if (this._state === 'started' || (this._state === 'connected' && !this.startDt)) return Promise.resolve();
    this.ready = deferred();
    const p = this.ready.promise;
    if (this._state === 'idle') this.attempt();
    else if (this._state === 'connected' && this.link) this.startDataTransfer().catch(() => {});
    return p;
  }

  /** Send STARTDT act and resolve when confirmed. */
  startDataTransfer(): Promise<void> {
    if (!this.link) return Promise.reject(new MasterError('E_NOT_CONNECTED', 'not connected'));
    if (this.linkState === 'started') return Promise.resolve();
    const d = deferred();
    this.startWaiters.push(d);
    if (this.linkState !== 'starting') this.link.start();
    return d.promise;
  }

  /** Send STOPDT act and resolve when confirmed. Open requests are rejected then. */
  stopDataTransfer(): Promise<void> {
    if (!this.link) return Promise.reject(new MasterError('E_NOT_CONNECTED', 'not connected'));
    if (this.linkState === 'stopped') return Promise.resolve();
    const d = deferred();
    this.stopWaiters.push(d);
    if (this.linkState !== 'stopping') this.link.stop();
    return d.promise;
  }

  /**
   * Close the connection for good: no reconnect, open requests reject with `E_CLOSED`, `asdus()`
   * iterators end. Resolves when the link has closed.
   */
  close(): Promise<void> {
    if (this.closed && !this.link) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (!this.closed) {
      this.closed = true;
      this.log.log('info', 'master.close', 'closing');
      this.clock.clearTimeout(this.reconnectTimer);
      this.clock.clearTimeout(this.attemptTimer);
      this.attemptAbort?.abort();
      this.requests.failAll(() => new MasterError('E_CLOSED', 'the controlling station was closed'));
      this.ready?.reject(new MasterError('E_CLOSED', 'closed before the connection was ready'));
      this.ready = undefined;
      for (const c of [...this.channels]) c.end();
      this.setState('closed');
    }
    if (this.link) this.link.close();
    else this.finishClose();
    return done;
  }

  private finishClose(): void {
    const ws = this.closeWaiters.splice(0);
    if (ws.length === 0) return;
    for (const w of ws) w();
    this.emitSafe('closed');
  }

  private setState(s: MasterState): void {
    this._state = s;
    // Keep the process alive while a connection is wanted but no socket is open to do it: during
    // a connection attempt and the reconnect back-off (the clock's timers are unref'd). Released
    // once connected (the socket holds the loop then), when giving up (idle) and on close().
    if (s === 'connecting' || s === 'reconnecting') this.releaseHold ??= this.clock.hold?.();
    else if (this.releaseHold) {
      this.releaseHold();
      this.releaseHold = undefined;
    }
  }

  private attempt(): void {
    if (this.closed) return;
    const gen = ++this.gen;
    const ac = new AbortController();
    this.attemptAbort = ac;
    this.linkState = 'stopped';
    this.setState('connecting');
    this.log.log('info', 'master.connecting', 'connecting', { attempt: this.attemptNo });
    this.emitSafe('connecting', { attempt: this.attemptNo });
    let settled = false;
    let link: MasterLink | undefined;
    const fail = (err: MasterError): void => {
      if (settled) return;
      settled = true;
      this.clock.clearTimeout(this.attemptTimer);
      ac.abort();
      if (link) link.close();
      if (this.closed) return;
      this.connectFailed(err);
    };
    this.attemptTimer = this.clock.setTimeout(() => fail(new MasterError('E_CONNECT_FAILED', `no connection within t0 = ${this.t0} ms`)), this.t0);
    const events = this.linkEvents(gen, (reason) => fail(new MasterError('E_CONNECT_FAILED', `connection closed while opening: ${reason.code} ${reason.message}`)));
    let promise: Promise<MasterLink>;
    try {
      promise = this.connector({
        linkOptions: { role: 'controlling', params: this.params, clock: this.clock, codec: this.codec, logger: this.log.child({ component: 'link' }) },
        events,
        timeout: this.t0,
        signal: ac.signal,
        clock: this.clock,
        logger: this.log,
      });
    } catch (e) {
      promise = Promise.reject(e);
    }
    promise.then(
      (l) => {
        link = l;
        if (settled || gen !== this.gen || this.closed) {
          settled = true;
          l.close();
          return;
        }
        settled = true;
        this.clock.clearTimeout(this.attemptTimer);
        this.attemptAbort = undefined;
        this.link = l;
        this._counters.connects++;
        this.setState('connected');
        this.log.log('info', 'master.connected', 'connected');
        this.emitSafe('connected');
        if (this.startDt) {
          if (this.linkState === 'started') this.onStarted();
          else if (this.linkState !== 'starting') l.start();
        } else {
          this.attemptNo = 0;
          this.ready?.resolve();
          this.ready = undefined;
        }
      },
      (e: unknown) => fail(e instanceof MasterError ? e : new MasterError('E_CONNECT_FAILED', e instanceof Error ? e.message : String(e))),
    );
  }

  private connectFailed(err: MasterError): void {
    this._counters.connectFailures++;
    this.log.log('warn', 'master.connect_failed', err.message, { attempt: this.attemptNo });
    this.emitSafe('connectFailed', err);
    this.afterLoss(err);
  }

  /** After a failed attempt or a lost connection: reconnect, or give up. */
  private afterLoss(err: MasterError): void {
    if (this.closed) return;
    if (this.backoff) {
      this.attemptNo++;
      const delay = backoffDelay(this.attemptNo, this.backoff, this.random);
      this.setState('reconnecting');
      this.log.log('info', 'master.reconnecting', `reconnecting in ${delay} ms`, { delay, attempt: this.attemptNo });
      this.emitSafe('reconnecting', { delay, attempt: this.attemptNo });
      this.reconnectTimer = this.clock.setTimeout(() => {
        this.reconnectTimer = undefined;
        this.attempt();
      }, delay);
    } else {
      this.setState('idle');
      this.ready?.reject(err);
      this.ready = undefined;
    }
  }

  private linkEvents(gen: number, failOpening: (reason: LinkCloseReason) => void): LinkEvents {
    const live = (): boolean => gen === this.gen;
    return {
      write: () => {
        // bytes go to the transport; the connector handles them
      },
      asdu: (asdu) => {
        if (live()) this.onAsdu(asdu);
      },
      stateChange: (state, previous) => {
        if (!live()) return;
        this.linkState = state;
        this.log.log('debug', 'master.link_state', `link ${previous} -> ${state}`, { state, previous });
        if (!this.link) return;
        if (state === 'started') this.onStarted();
        else if (state === 'stopped' && (previous === 'stopping' || previous === 'started')) this.onStopped();
      },
      drain: () => {
        if (!live()) return;
        this.requests.flush();
        this.fileClient?.onDrain();
      },
      close: (reason) => {
        if (!live()) return;
        this.linkState = 'closed';
        if (!this.link) {
          failOpening(reason);
          this.finishClose();
          return;
        }
        this.onLinkClosed(reason);
      },
      // Received frames are borrowed (views, valid during the call): copied here only when someone
      // listens, instead of by the link for every frame (an allocation per I-frame).
      borrowFrames: true,
      frame: (direction, bytes) => {
        // (a listener check first: emitSafe's rest arguments cost an array per frame)
        if (live() && this.listenerCount('frame') > 0) this.emitSafe('frame', direction, direction === 'in' ? new Uint8Array(bytes) : bytes);
      },
    };
  }

  private onStarted(): void {
    this.attemptNo = 0;
    this.setState('started');
    this.log.log('info', 'master.started', 'data transfer started');
    this.emitSafe('started');
    this.ready?.resolve();
    this.ready = undefined;
    for (const d of this.startWaiters.splice(0)) d.resolve();
    this.requests.flush();
  }

  private onStopped(): void {
    this.setState('connected');
    this.log.log('info', 'master.stopped', 'data transfer stopped');
    this.requests.failAll(() => new MasterError('E_NOT_CONNECTED', 'data transfer was stopped'));
    this.fileClient?.onLinkLost('data transfer was stopped');
    this.emitSafe('stopped');
    for (const d of this.stopWaiters.splice(0)) d.resolve();
  }

  private onLinkClosed(reason: LinkCloseReason): void {
    this.link = undefined;
    this._counters.disconnects++;
    const level = reason.code === 'E_LOCAL' ? 'info' : 'warn';
    this.log.log(level, 'master.disconnected', `connection closed: ${reason.code} ${reason.message}`, { code: reason.code });
    const lost = this.requests.pending.size;
    this.requests.failAll((p) => (this.closed ? new MasterError('E_CLOSED', 'the controlling station was closed') : new ConnectionLostError(p.key, reason)));
    if (!this.closed) this._counters.lost += lost;
    this.fileClient?.onLinkLost(`${reason.code} ${reason.message}`);
    const err = new MasterError('E_CONNECT_FAILED', `connection closed: ${reason.code} ${reason.message}`);
    for (const d of this.startWaiters.splice(0)) d.reject(err);
    for (const d of this.stopWaiters.splice(0)) d.reject(err);
    this.emitSafe('disconnected', reason);
    if (this.closed) {
      this.finishClose();
      return;
    }
    this.afterLoss(err);
  }

  // ---------------------------------------------------------------------------------------------
  // received data

  /**
   * Every received ASDU, as an async iterator. Each call makes an independent consumer with its
   * own bounded buffer (oldest dropped when full); iteration ends at close().
   */
  asdus(options: { bufferLimit?: number } = {}): AsyncIterableIterator<Asdu> {
    const c = new Channel<Asdu>(options.bufferLimit ?? this.iteratorBuffer, (ch) => this.channels.delete(ch));
    if (this.closed) c.end();
    else this.channels.add(c);
    return c;
  }

  private onAsdu(asdu: Asdu): void {
    this._counters.asdusIn++;
    const now = this.clock.now();
    this.image?.update(asdu, now);
    this.requests.match(asdu, now);
    if (this.fileClient !== undefined && isFileType(asdu.typeId)) this.fileClient.onAsdu(asdu);
    if (this.listenerCount('asdu') > 0) this.emitSafe('asdu', asdu);
    for (const c of this.channels) {
      if (c.push(asdu)) continue;
      this._counters.dropped++;
      if (this.logOn) this.log.log('debug', 'master.iterator_overflow', `an asdus() consumer is too slow: its buffer is full and its oldest ASDU was dropped (${c.dropped} dropped so far)`, { dropped: c.dropped });
    }
  }

  private emitSafe<K extends keyof ControllingStationEventMap>(event: K, ...args: ControllingStationEventMap[K]): void {
    try {
      (this.emit as (e: K, ...a: ControllingStationEventMap[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log.log('error', 'master.handler_error', `a '${String(event)}' handler threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // file transfer (see file-transfer.ts)

  private files(): FileTransferClient {
    if (this.fileClient === undefined) {
      const isStarted = (): boolean => this.link !== undefined && this.linkState === 'started';
      this.fileClient = new FileTransferClient({
        clock: this.clock, codec: this.codec, originator: this.originator, utc: true, log: this.log,
        get started() {
          return isStarted();
        },
        send: (asdu) => (this.link !== undefined && this.linkState === 'started' ? this.link.send(asdu) : false),
      });
    }
    return this.fileClient;
  }

  /** Directory of a common address (call directory, F_DR_TA_1). Rejects with `FileTransferError`. */
  listFiles(ca: number, opts: Omit<FileOperationOptions, 'nof' | 'onProgress' | 'maxRetries'> & { ioa?: number } = {}): Promise<RemoteFile[]> {
    return this.files().listFiles(ca, opts);
  }

  /** Download the file at (ca, ioa): resolves with its verified octets. Rejects with `FileTransferError`. */
  downloadFile(ca: number, ioa: number, opts: DownloadOptions = {}): Promise<FileTransferResult & { data: Uint8Array }> {
    return this.files().downloadFile(ca, ioa, opts);
  }

  /** Upload `data` as the file at (ca, ioa). Rejects with `FileTransferError`. */
  uploadFile(ca: number, ioa: number, data: Uint8Array, opts: UploadOptions = {}): Promise<FileTransferResult> {
    return this.files().uploadFile(ca, ioa, data, opts);
  }
}
