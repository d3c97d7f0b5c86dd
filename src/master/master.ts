/**
 * The controlling station (SCADA master, TCP client) of IEC 60870-5-104: connection management
 * with reconnect back-off, awaitable requests matched to their confirmations, received data as
 * values. It speaks in {@link Asdu} values; bytes are the link's and the codec's business.
 */
import { EventEmitter } from 'node:events';
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { encodeAsdu } from '../codec/asdu.js';
import { COT, cotName } from '../codec/cause.js';
import { CodecError } from '../codec/errors.js';
import { type CodecOptions, broadcastAddress, resolveOptions } from '../codec/options.js';
import { cp56FromDate } from '../codec/time.js';
import { typeInfo, typeName } from '../codec/type-table.js';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { type Logger, isNullLogger, nullLogger } from '../log.js';
import { DEFAULT_LINK_PARAMETERS, type LinkCloseReason, type LinkEvents, type LinkParameters, type LinkSnapshot, type LinkState } from '../link/types.js';
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { Channel } from './channel.js';
import type { Connector, MasterLink } from './connection.js';
import { ConnectionLostError, MasterError, NegativeConfirmationError, type RequestKey, type RequestPhase, RequestTimeoutError } from './errors.js';
import { PointImage, type PointValue, toPointValues } from './points.js';
import type { AuditLog, CommandAuditRecord } from '../transport/audit-log.js';
import { type DownloadOptions, type FileOperationOptions, type FileTransferResult, FileTransferClient, type RemoteFile, type UploadOptions } from './file-transfer.js';
import type { ConnectionTls } from '../transport/security-events.js';

// ------------------------------------------------------------------------------------------------
// public types

/** Options of {@link ControllingStation}. Times in milliseconds. */
export interface ControllingStationOptions {
  /** Opens connections: `tcpConnector(host, port)` for TCP, or an in-memory connector in tests. */
  connector: Connector;
  /** Time source for t0, request timeouts, back-off and round-trip times. Default: the system clock. */
  clock?: Clock;
  /** Structured logs (events `master.*`). Default: discard. */
  logger?: Logger;
  /** APCI parameters for the link (k, w, t0..t3). t0 bounds each connection attempt. */
  params?: Partial<LinkParameters>;
  /** ASDU field widths (default IEC 104: COT 2, CA 2, IOA 3). */
  codec?: Partial<CodecOptions>;
  /** Send STARTDT act as soon as connected. Default true. */
  startDt?: boolean;
  /** Reconnect after a failed attempt or a lost connection: false, true (default policy) or a policy. Default true. */
  reconnect?: boolean | Partial<BackoffOptions>;
  /** Random source for the back-off jitter, [0, 1). Default Math.random. */
  random?: () => number;
  /** Time allowed from a request to its confirmation (or response). Default 15 000. */
  requestTimeout?: number;
  /**
   * Broadcast interrogations (CA 0xFFFF) are answered per common address, and the master cannot know
   * how many will answer: such a request resolves once every address that confirmed has terminated
   * and no new confirmation arrived for this many ms. Default 250.
   */
  broadcastSettle?: number;
  /** Time allowed from the confirmation to the termination (`until: 'actterm'`). Default 60 000. */
  terminationTimeout?: number;
  /** Requests held while the link's send window is full. Default 256. */
  queueLimit?: number;
  /** Keep a live point image of received monitor data ({@link ControllingStation.points}). Default false. */
  pointImage?: boolean;
  /** Originator address put in every sent ASDU (COT 2 octets). Default 0. */
  originator?: number;
  /** Wall clock for time tags (C_CS_NA_1, C_TS_TA_1, commands with time tag). Default `() => new Date()`. */
  wallClock?: () => Date;
  /** Buffer of each `asdus()` iterator; the oldest item is dropped beyond it. Default 10 000. */
  iteratorBuffer?: number;
  /**
   * Audit log: every command sent (process, clock synchronisation, test, reset process; not
   * interrogations or reads) is recorded with its outcome (`executed`, `confirmed`, `selected`,
   * `rejected`, `timeout`, `connection-lost`, ...) when it ends.
   */
  audit?: AuditLog;
  /** `source` of the audit records (default `controlling station`). */
  auditSource?: CommandAuditRecord['source'];
}

/** Connection state of the master. */
export type MasterState =
  | 'idle' // not connecting (before connect(), or after a failure without reconnect)
  | 'connecting' // a connection attempt is under way
  | 'connected' // transport and link up, data transfer not started
  | 'started' // data transfer started: requests can be sent
  | 'reconnecting' // waiting for the back-off delay before the next attempt
  | 'closed'; // close() was called

/** Events of {@link ControllingStation} (a typed EventEmitter). */
export type ControllingStationEventMap = {
  /** A connection attempt begins (`attempt` counts retries since the last success, 0 first). */
  connecting: [info: { attempt: number }];
  /** Transport connected. */
  connected: [];
  /** Data transfer started (STARTDT confirmed). */
  started: [];
  /** Data transfer stopped (STOPDT confirmed). */
  stopped: [];
  /** The connection closed, with the link's reason. */
  disconnected: [reason: LinkCloseReason];
  /** A connection attempt failed. */
  connectFailed: [error: MasterError];
  /** The next attempt is scheduled after `delay` ms. */
  reconnecting: [info: { delay: number; attempt: number }];
  /** Every received ASDU, decoded. */
  asdu: [asdu: Asdu];
  /** Every APDU received or sent (raw octets), for traces. */
  frame: [direction: 'in' | 'out', bytes: Uint8Array];
  /** close() finished. */
  closed: [];
};

/** Common options of a request. */
export interface RequestOptions {
  /** Override the confirmation timeout (ms). */
  timeout?: number;
  /** Override the termination timeout (ms, from the confirmation). */
  terminationTimeout?: number;
  /** Resolve at the confirmation (`actcon`, default for commands) or the termination (`actterm`, default for interrogations). */
  until?: 'actcon' | 'actterm';
  /** Cancel the request (rejects with `E_ABORTED`; nothing is sent to the station). */
  signal?: AbortSignal;
  /** Set the T (test) bit of the sent ASDU. */
  test?: boolean;
}

/** Options of process commands (C_SC .. C_BO). */
export interface CommandOptions extends RequestOptions {
  /** Send the time-tagged variant (58..64): `true` = now (wall clock), or the given Date. */
  time?: boolean | Date;
  /** Qualifier of command QU 0..31 (single, double, regulating step): 0 default, 1 short, 2 long pulse, 3 persistent. */
  qu?: number;
  /** Qualifier of set-point command QL 0..127. */
  ql?: number;
  /** Send the select only (S/E=1). */
  select?: boolean;
  /** Select before operate: select, await a positive ACT_CON, then execute. */
  sbo?: boolean;
}

/** Round-trip times in milliseconds, measured on the master's clock from the moment the request was sent. */
export interface RoundTrip {
  /** Request -> activation (or deactivation) confirmation. */
  actCon?: number;
  /** Request -> activation termination. */
  actTerm?: number;
  /** Read request -> the requested object. */
  response?: number;
}

/** Outcome of a positive request. */
export interface RequestResult {
  request: RequestKey;
  /** The ASDU that was sent. */
  sent: Asdu;
  /** The confirmation (ACT_CON / DEACT_CON), when received. */
  confirmation?: Asdu;
  /** The termination (ACT_TERM), when received. */
  termination?: Asdu;
  rtt: RoundTrip;
}

/** Outcome of a command; with select-before-operate, `select` is the select's outcome. */
export interface CommandResult extends RequestResult {
  select?: RequestResult;
}

/** Outcome of an (counter) interrogation: the objects received with the interrogation's cause. */
export interface InterrogationResult extends RequestResult {
  /** Data ASDUs received with cause 20..36 (or 37..41), in order. */
  asdus: Asdu[];
  /** Their objects as values. */
  objects: PointValue[];
}

/** Outcome of a read command: the requested object. */
export interface ReadResult extends RequestResult {
  response: Asdu;
  value: PointValue;
}

/** Double command state: OFF (1) or ON (2). */
export type DoubleCommandValue = 'off' | 'on' | 1 | 2;
/** Regulating step: next step LOWER (1) or HIGHER (2). */
export type StepCommandValue = 'lower' | 'higher' | 1 | 2;

/** Counters for observability. */
export interface MasterCounters {
  /** Requests accepted (sent or queued). */
  requests: number;
  /** Positive confirmations. */
  confirmations: number;
  /** Terminations. */
  terminations: number;
  /** Negative confirmations. */
  negatives: number;
  /** Requests that timed out. */
  timeouts: number;
  /** Requests refused locally (pending duplicate, queue full, not connected, invalid). */
  refused: number;
  /** Requests ended by a lost connection. */
  lost: number;
  /** Requests that waited in the queue for the window. */
  queued: number;
  /** ASDUs received. */
  asdusIn: number;
  /** ASDUs dropped by slow `asdus()` consumers. */
  dropped: number;
  /** Successful connections. */
  connects: number;
  /** Failed connection attempts. */
  connectFailures: number;
  /** Connections that closed. */
  disconnects: number;
}

/** Live state of the master. */
export interface MasterSnapshot {
  state: MasterState;
  /** The link's snapshot while connected. */
  link?: LinkSnapshot;
  /** Open requests (sent or queued). */
  pending: number;
  /** Requests waiting for the send window. */
  queued: number;
  /** Failed attempts since the last successful connection. */
  reconnectAttempt: number;
  counters: MasterCounters;
  /** TLS facts of the current connection, when it is TLS. */
  tls?: ConnectionTls;
}

// ------------------------------------------------------------------------------------------------
// internals

type Kind = 'command' | 'interrogation' | 'counter' | 'read';
type Step = 'select' | 'execute' | 'request';

interface Pending {
  id: number;
  key: RequestKey;
  keyStr: string;
  asdu: Asdu;
  kind: Kind;
  step: Step;
  until: 'actcon' | 'actterm';
  /** Cause of the data an interrogation collects. */
  dataCot?: number;
  /** Monitor type a read expects (any when undefined). */
  readType?: number;
  state: 'queued' | 'sent' | 'done';
  submittedAt: number;
  sentAt?: number;
  confirmation?: Asdu;
  termination?: Asdu;
  rtt: RoundTrip;
  asdus: Asdu[];
  objects: PointValue[];
  timer?: TimerHandle;
  termTimeout: number;
  /** Broadcast interrogation: addresses that confirmed / terminated. */
  bcastCon?: Set<number>;
  bcastTerm?: Set<number>;
  resolve(r: RequestResult): void;
  reject(e: MasterError): void;
  cleanup?: () => void;
}

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

const CONTROL_BASE_TO_TIMED: Record<number, number> = { 45: 58, 46: 59, 47: 60, 48: 61, 49: 62, 50: 63, 51: 64 };
const TIMED_COMMANDS = new Set([58, 59, 60, 61, 62, 63, 64]);
const QU_TYPES = new Set([45, 46, 47, 58, 59, 60]);
const QL_TYPES = new Set([48, 49, 50, 61, 62, 63]);
const isRefusal = (cot: number): boolean => cot >= COT.UNKNOWN_TYPE && cot <= COT.UNKNOWN_IOA;

/**
 * A shallow copy of `o` that properties are then added to: the same own properties as `{ ...o }`.
 * Not a spread because V8 (Node 20) takes a slow path, about 0.5 µs, when properties are added to a
 * spread copy (or written next to a spread in a literal); `Object.assign` onto `{}` stays fast. An
 * own `__proto__` key would set the prototype through `Object.assign`: such objects keep the spread.
 */
function copyFields(o: Record<string, unknown>): Record<string, unknown> {
  return Object.hasOwn(o, '__proto__') ? { ...o } : Object.assign({}, o);
}

/**
 * What a negative confirmation most likely means, from the cause and P/N alone: the station's own
 * reason (a station may log one) does not travel on the wire, so this names the causes that fit.
 */
function negativeHint(request: RequestKey, step: Step, answer: Asdu): string {
  const what = `${typeName(request.typeId)} CA ${request.ca} IOA ${request.ioa}`;
  switch (answer.cot) {
    case COT.UNKNOWN_TYPE:
      return `${what}: the station does not support type ${request.typeId} (cause 44 unknown type)`;
    case COT.UNKNOWN_CAUSE:
      return `${what}: the station does not accept cause ${request.cot} for this type (cause 45 unknown cause)`;
    case COT.UNKNOWN_CA:
      return `${what}: the station has no common address ${request.ca} (cause 46 unknown common address)${request.ca === 0xffff ? '; it does not accept broadcasts: address the station by its own CA' : ''}`;
    case COT.UNKNOWN_IOA:
      return `${what}: the station has no object ${request.ioa} for this type at CA ${request.ca} (cause 47 unknown IOA)`;
    default:
      break;
  }
  const refused = `${what}: refused by the station (cause ${answer.cot} ${cotName(answer.cot)} with P/N=1)`;
  if (step === 'select') return `${refused}: the select was not accepted (object blocked, already selected by another master, or not selectable)`;
  if (step === 'execute') return `${refused}: the execute after a positive select was refused (select timed out at the station, or the value is not allowed)`;
  if (typeInfo(request.typeId)?.category === 'process-control') return `${refused}: possible reasons: the object requires select before operate (--select), the value or qualifier is not allowed, the object is blocked or in local mode`;
  return `${refused}: the station refused the request (not supported in this state, or a qualifier it does not accept)`;
}

const NO_ASDUS: readonly Asdu[] = Object.freeze([]);
const NO_VALUES: readonly PointValue[] = Object.freeze([]);

function checkInt(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new MasterError('E_INVALID', `${what} must be an integer ${min}..${max}, got ${String(v)}`);
  return v;
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
export class ControllingStation extends EventEmitter<ControllingStationEventMap> {
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
  private readonly requestTimeout: number;
  private readonly terminationTimeout: number;
  private readonly broadcastSettle: number;
  /**
   * Commands that resolved at ACT_CON and may still get their ACT_TERM: key -> deadline. A
   * termination for such a key belongs to that earlier command, not to a newer identical one.
   */
  private readonly awaitingTerm = new Map<string, number>();
  private readonly queueLimit: number;
  private readonly originator: number;
  private readonly wallClock: () => Date;
  private readonly iteratorBuffer: number;
  private readonly image: PointImage | undefined;
  private readonly audit: AuditLog | undefined;
  private readonly auditSource: CommandAuditRecord['source'];

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
  private seq = 0;
  private testCounter = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly queue: Pending[] = [];
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
    this.requestTimeout = options.requestTimeout ?? 15_000;
    this.terminationTimeout = options.terminationTimeout ?? 60_000;
    this.broadcastSettle = options.broadcastSettle ?? 250;
    this.queueLimit = options.queueLimit ?? 256;
    this.originator = options.originator ?? 0;
    this.wallClock = options.wallClock ?? (() => new Date());
    this.iteratorBuffer = options.iteratorBuffer ?? 10_000;
    this.audit = options.audit;
    this.auditSource = options.auditSource ?? 'controlling station';
    this.image = options.pointImage ? new PointImage() : undefined;
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
    const s: MasterSnapshot = { state: this._state, pending: this.pending.size, queued: this.queue.length, reconnectAttempt: this.attemptNo, counters: this.counters };
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
      this.failAll(() => new MasterError('E_CLOSED', 'the controlling station was closed'));
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
        this.flush();
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
    this.flush();
  }

  private onStopped(): void {
    this.setState('connected');
    this.log.log('info', 'master.stopped', 'data transfer stopped');
    this.failAll(() => new MasterError('E_NOT_CONNECTED', 'data transfer was stopped'));
    this.fileClient?.onLinkLost('data transfer was stopped');
    this.emitSafe('stopped');
    for (const d of this.stopWaiters.splice(0)) d.resolve();
  }

  private onLinkClosed(reason: LinkCloseReason): void {
    this.link = undefined;
    this._counters.disconnects++;
    const level = reason.code === 'E_LOCAL' ? 'info' : 'warn';
    this.log.log(level, 'master.disconnected', `connection closed: ${reason.code} ${reason.message}`, { code: reason.code });
    const lost = this.pending.size;
    this.failAll((p) => (this.closed ? new MasterError('E_CLOSED', 'the controlling station was closed') : new ConnectionLostError(p.key, reason)));
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
    this.match(asdu, now);
    if (this.fileClient !== undefined && typeInfo(asdu.typeId)?.category === 'file') this.fileClient.onAsdu(asdu);
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
  // matching

  private caMatches(p: Pending, ca: number): boolean {
    return p.key.ca === ca || p.key.ca === broadcastAddress(this.codec);
  }

  private match(asdu: Asdu, now: number): void {
    const cot = asdu.cot;
    if ((cot === COT.ACTIVATION_TERMINATION || cot === COT.ACTIVATION_CON) && this.awaitingTerm.size > 0 && asdu.objects.length > 0) {
      const k = `${asdu.typeId}/${asdu.ca}/${asdu.objects[0].ioa}/${COT.ACTIVATION}`;
      const deadline = this.awaitingTerm.get(k);
      if (deadline !== undefined) {
        this.awaitingTerm.delete(k);
        // TCP keeps order and a station confirms no new command on an object before it terminated
        // the previous one: an ACT_TERM arriving before any newer ACT_CON for the same object
        // belongs to the earlier command that already resolved at ACT_CON. A newer ACT_CON means
        // that termination has passed (or never comes), so the record is just dropped.
        if (cot === COT.ACTIVATION_TERMINATION && deadline >= now) {
          if (this.logOn) this.log.log('debug', 'master.late_termination', `${typeName(asdu.typeId)} ACT_TERM CA ${asdu.ca} IOA ${k.split('/')[2]}: termination of a command that already resolved at its ACT_CON`, { typeId: asdu.typeId, ca: asdu.ca });
          return;
        }
      }
    }
    if (cot === COT.ACTIVATION_CON || cot === COT.DEACTIVATION_CON || cot === COT.ACTIVATION_TERMINATION || isRefusal(cot) || (asdu.negative && typeInfo(asdu.typeId)?.direction === 'control')) {
      const p = asdu.typeId === 0 && cot === COT.ACTIVATION_TERMINATION && asdu.objects.length === 0 ? this.findTypeZeroTermination(asdu) : this.findRequest(asdu);
      if (p) {
        this.onAnswer(p, asdu, now);
        return;
      }
      if (this.logOn) this.log.log('debug', 'master.unmatched', `${typeName(asdu.typeId)} ${cotName(cot)}${asdu.negative ? ' (P/N=1)' : ''} CA ${asdu.ca}${asdu.objects.length ? ` IOA ${asdu.objects[0].ioa}` : ''}: no open request of ours matches it (type, common address, IOA, cause); ignored for request tracking`, { typeId: asdu.typeId, ca: asdu.ca, cot, negative: asdu.negative });
      return;
    }
    if (cot >= COT.INTERROGATED_STATION && cot <= 41) {
      let used = false;
      for (const p of this.pending.values()) {
        if (p.state === 'sent' && p.dataCot === cot && this.caMatches(p, asdu.ca)) {
          used = true;
          p.asdus.push(asdu);
          for (const v of toPointValues(asdu, now)) p.objects.push(v);
        }
      }
      if (!used && this.logOn) this.log.log('debug', 'master.unmatched', `${typeName(asdu.typeId)} CA ${asdu.ca} with cause ${cot} (${cotName(cot)}): no open (counter) interrogation of that group; delivered as data only`, { typeId: asdu.typeId, ca: asdu.ca, cot });
      return;
    }
    if (cot === COT.REQUEST) {
      for (const p of this.pending.values()) {
        if (p.state !== 'sent' || p.kind !== 'read' || !this.caMatches(p, asdu.ca)) continue;
        if (p.readType !== undefined ? asdu.typeId !== p.readType : asdu.typeId === 102) continue;
        const obj = asdu.objects.find((o) => o.ioa === p.key.ioa);
        if (!obj) continue;
        p.rtt.response = now - (p.sentAt ?? p.submittedAt);
        this._counters.confirmations++;
        const value = toPointValues({ ...asdu, objects: [obj] }, now)[0];
        const r: ReadResult = { request: p.key, sent: p.asdu, rtt: p.rtt, response: asdu, value };
        this.finish(p, r);
        return;
      }
      if (this.logOn) this.log.log('debug', 'master.unmatched', `${typeName(asdu.typeId)} CA ${asdu.ca} with cause 5 (request): no open read command of that object; delivered as data only`, { typeId: asdu.typeId, ca: asdu.ca, cot });
      return;
    }
    if (this.logOn && typeInfo(asdu.typeId) === undefined) {
      this.log.log('debug', 'master.unknown_type', `${typeName(asdu.typeId)} CA ${asdu.ca} cause ${cot}: type not defined by the standard; delivered raw`, { typeId: asdu.typeId, ca: asdu.ca, cot });
    }
  }

  /**
   * Tolerance for stations built on a widely used C stack: they end an interrogation with an
   * ACT_TERM of type ID 0 and no object. It completes the open (counter) interrogation of that
   * common address: the confirmed one first, the oldest first (CONFORMANCE M50).
   */
  private findTypeZeroTermination(asdu: Asdu): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending.values()) {
      if (p.state !== 'sent' || (p.kind !== 'interrogation' && p.kind !== 'counter') || p.key.cot !== COT.ACTIVATION || !this.caMatches(p, asdu.ca)) continue;
      if (!best || (p.confirmation !== undefined && best.confirmation === undefined) || ((p.confirmation !== undefined) === (best.confirmation !== undefined) && p.id < best.id)) best = p;
    }
    if (best) {
      this.log.log('warn', 'master.type0_termination', `ACT_TERM with type ID 0 and no object from CA ${asdu.ca}: taken as the termination of ${typeName(best.key.typeId)} CA ${best.key.ca} (a non-standard station; tolerated)`, { request: best.key, ca: asdu.ca });
    }
    return best;
  }

  private findRequest(asdu: Asdu): Pending | undefined {
    const ioa = asdu.objects.length > 0 ? asdu.objects[0].ioa : undefined;
    const cot = asdu.cot;
    const family = cot === COT.DEACTIVATION_CON ? COT.DEACTIVATION : cot === COT.ACTIVATION_CON || cot === COT.ACTIVATION_TERMINATION ? COT.ACTIVATION : undefined;
    let loose: Pending | undefined;
    for (const p of this.pending.values()) {
      if (p.state !== 'sent' || p.asdu.typeId !== asdu.typeId || !this.caMatches(p, asdu.ca)) continue;
      if (family !== undefined && p.key.cot !== family) continue;
      if (ioa === p.key.ioa) return p;
      // an empty ASDU (no object, no IOA): tolerated, matched by type, CA and cause
      if (ioa === undefined && loose === undefined) loose = p;
    }
    return loose;
  }

  private onAnswer(p: Pending, asdu: Asdu, now: number): void {
    const rtt = now - (p.sentAt ?? p.submittedAt);
    if (p.until === 'actterm' && (p.kind === 'interrogation' || p.kind === 'counter') && p.key.ca === broadcastAddress(this.codec)) {
      this.onBroadcastAnswer(p, asdu, rtt);
      return;
    }
    if (asdu.negative || isRefusal(asdu.cot)) {
      this._counters.negatives++;
      this.log.log('warn', 'master.negative', `negative confirmation of ${typeName(p.key.typeId)} CA ${p.key.ca} IOA ${p.key.ioa}${p.step !== 'request' ? ` (${p.step})` : ''}: cause ${asdu.cot} ${cotName(asdu.cot)}${asdu.negative ? ', P/N=1' : ''}`, { request: p.key, cot: asdu.cot, negative: asdu.negative, rtt, step: p.step });
      if (this.logOn) this.log.log('debug', 'master.negative_detail', negativeHint(p.key, p.step, asdu), { request: { ...p.key, type: typeName(p.key.typeId), object: p.asdu.objects[0] }, answer: { typeId: asdu.typeId, cot: asdu.cot, cotName: cotName(asdu.cot), negative: asdu.negative, ca: asdu.ca, originator: asdu.originator, object: asdu.objects[0] } });
      this.finish(p, new NegativeConfirmationError(p.key, asdu, rtt, p.step));
      return;
    }
    if (asdu.cot === COT.ACTIVATION_CON || asdu.cot === COT.DEACTIVATION_CON) {
      if (p.confirmation) {
        this.log.log('warn', 'master.duplicate_confirmation', 'a second confirmation for the same request was ignored', { request: p.key });
        return;
      }
      p.confirmation = asdu;
      p.rtt.actCon = rtt;
      this._counters.confirmations++;
      if (this.logOn) this.log.log('debug', 'master.confirmation', `confirmation after ${rtt} ms`, { request: p.key, rtt });
      if (p.until === 'actcon' || asdu.cot === COT.DEACTIVATION_CON) {
        this.finish(p, this.result(p));
        return;
      }
      this.clock.clearTimeout(p.timer);
      p.timer = this.clock.setTimeout(() => this.onTimeout(p), p.termTimeout);
      return;
    }
    // ACT_TERM
    if (!p.confirmation) this.log.log('warn', 'master.term_without_con', 'termination received without a confirmation first', { request: p.key });
    p.termination = asdu;
    p.rtt.actTerm = rtt;
    this._counters.terminations++;
    if (this.logOn) this.log.log('debug', 'master.termination', `termination after ${rtt} ms`, { request: p.key, rtt });
    this.finish(p, this.result(p));
  }

  /** Answers to a broadcast interrogation: one ACT_CON/ACT_TERM (or a negative) per common address. */
  private onBroadcastAnswer(p: Pending, asdu: Asdu, rtt: number): void {
    const con = (p.bcastCon ??= new Set());
    const term = (p.bcastTerm ??= new Set());
    if (asdu.cot === COT.ACTIVATION_CON && !asdu.negative) {
      con.add(asdu.ca);
      if (!p.confirmation) {
        p.confirmation = asdu;
        p.rtt.actCon = rtt;
        this._counters.confirmations++;
      }
      // wait for the terminations (again) rather than settling
      this.clock.clearTimeout(p.timer);
      p.timer = this.clock.setTimeout(() => this.onTimeout(p), p.termTimeout);
      return;
    }
    if (asdu.negative || isRefusal(asdu.cot)) {
      this._counters.negatives++;
      this.log.log('warn', 'master.negative', `negative answer of CA ${asdu.ca} to a broadcast ${typeName(p.key.typeId)}: cause ${asdu.cot} ${cotName(asdu.cot)}${asdu.negative ? ', P/N=1' : ''}`, { request: p.key, ca: asdu.ca, cot: asdu.cot, negative: asdu.negative });
      if (this.logOn) this.log.log('debug', 'master.negative_detail', negativeHint(p.key, p.step, asdu), { request: { ...p.key, type: typeName(p.key.typeId), object: p.asdu.objects[0] }, answer: { typeId: asdu.typeId, cot: asdu.cot, cotName: cotName(asdu.cot), negative: asdu.negative, ca: asdu.ca, originator: asdu.originator, object: asdu.objects[0] } });
      con.add(asdu.ca);
    } else {
      p.termination = asdu;
      p.rtt.actTerm = rtt;
      this._counters.terminations++;
    }
    term.add(asdu.ca);
    for (const ca of con) if (!term.has(ca)) return;
    this.clock.clearTimeout(p.timer);
    p.timer = this.clock.setTimeout(() => {
      if (p.confirmation) this.finish(p, this.result(p));
      else this.finish(p, new NegativeConfirmationError(p.key, asdu, rtt, p.step));
    }, this.broadcastSettle);
  }

  private result(p: Pending): RequestResult {
    const r: RequestResult = { request: p.key, sent: p.asdu, rtt: p.rtt };
    if (p.confirmation) r.confirmation = p.confirmation;
    if (p.termination) r.termination = p.termination;
    if (p.kind === 'interrogation' || p.kind === 'counter') {
      const ir: InterrogationResult = { ...r, asdus: p.asdus, objects: p.objects };
      return ir;
    }
    return r;
  }

  private onTimeout(p: Pending): void {
    if (p.state === 'done') return;
    const phase: RequestPhase = p.kind === 'read' ? 'response' : p.confirmation ? 'actterm' : 'actcon';
    const elapsed = this.clock.now() - (p.sentAt ?? p.submittedAt);
    this._counters.timeouts++;
    this.log.log('warn', 'master.timeout', `no ${phase} within ${Math.round(elapsed)} ms`, { request: p.key, phase, step: p.step });
    this.finish(p, new RequestTimeoutError(p.key, phase, elapsed, p.rtt.actCon, p.step));
  }

  private finish(p: Pending, outcome: RequestResult | MasterError): void {
    if (p.state === 'done') return;
    p.state = 'done';
    if (!(outcome instanceof MasterError) && p.kind === 'command' && p.step !== 'select' && p.asdu.objects[0]?.select !== true && p.confirmation && !p.termination && p.key.cot === COT.ACTIVATION) {
      this.awaitingTerm.set(p.keyStr, this.clock.now() + p.termTimeout);
      if (this.awaitingTerm.size > 1024) this.awaitingTerm.delete(this.awaitingTerm.keys().next().value as string);
    }
    this.clock.clearTimeout(p.timer);
    p.cleanup?.();
    if (this.pending.get(p.keyStr) === p) this.pending.delete(p.keyStr);
    const qi = this.queue.indexOf(p);
    if (qi >= 0) this.queue.splice(qi, 1);
    if (this.audit && p.kind === 'command' && p.sentAt !== undefined) this.auditCommand(p, outcome);
    if (outcome instanceof MasterError) p.reject(outcome);
    else p.resolve(outcome);
  }

  private auditCommand(p: Pending, outcome: RequestResult | MasterError): void {
    const { ioa: _ioa, ...obj } = p.asdu.objects[0];
    const value = obj.value !== undefined ? (p.step === 'select' ? { select: true, value: obj.value } : obj.value) : obj;
    const result = outcome instanceof MasterError
      ? outcome instanceof NegativeConfirmationError ? 'rejected' : outcome.code === 'E_TIMEOUT' ? 'timeout' : outcome.code === 'E_CONNECTION_LOST' ? 'connection-lost' : outcome.code === 'E_ABORTED' ? 'aborted' : outcome.code === 'E_CLOSED' ? 'closed' : 'failed'
      : p.termination ? 'executed' : p.step === 'select' ? 'selected' : 'confirmed';
    const wall = this.wallClock().getTime();
    this.audit!.auditCommand({
      source: this.auditSource,
      target: { ca: p.key.ca, ioa: p.key.ioa, typeId: p.key.typeId },
      value,
      outcome: result,
      timing: { sentAt: new Date(wall - (this.clock.now() - (p.sentAt ?? 0))).toISOString(), ...(p.rtt.actCon !== undefined ? { actConMs: p.rtt.actCon } : {}), ...(p.rtt.actTerm !== undefined ? { actTermMs: p.rtt.actTerm } : {}) },
      ...(outcome instanceof MasterError ? { reason: outcome.message } : {}),
    });
  }

  private failAll(make: (p: Pending) => MasterError): void {
    for (const p of [...this.pending.values()]) this.finish(p, make(p));
  }

  // ---------------------------------------------------------------------------------------------
  // sending

  private flush(): void {
    while (this.queue.length > 0 && this.link && this.linkState === 'started') {
      const p = this.queue[0];
      if (!this.trySend(p)) break;
      if (this.queue[0] === p) this.queue.shift();
    }
  }

  /** `now`: the clock's time when the caller just read it (saves a clock read per request). */
  private trySend(p: Pending, now = this.clock.now()): boolean {
    const link = this.link;
    if (!link) return false;
    p.state = 'sent';
    p.sentAt = now;
    let ok: boolean;
    try {
      ok = link.send(p.asdu, p.id);
    } catch (e) {
      p.state = 'queued';
      p.sentAt = undefined;
      this._counters.refused++;
      this.finish(p, new MasterError('E_INVALID', `the link refused the ASDU: ${e instanceof Error ? e.message : String(e)}`));
      return true;
    }
    if (!ok && p.state === 'sent') {
      p.state = 'queued';
      p.sentAt = undefined;
    }
    if (ok && this.logOn) this.log.log('debug', 'master.sent', `sent ${typeName(p.key.typeId)} CA ${p.key.ca} IOA ${p.key.ioa}`, { request: p.key, step: p.step });
    return ok;
  }

  private refuse<T>(code: 'E_REQUEST_PENDING' | 'E_NOT_CONNECTED' | 'E_QUEUE_FULL' | 'E_CLOSED' | 'E_INVALID' | 'E_ABORTED', message: string): Promise<T> {
    this._counters.refused++;
    this.log.log('warn', 'master.refused', message, { code });
    return Promise.reject(new MasterError(code, message));
  }

  /**
   * Send a request ASDU and track it. The single entry point of every request helper.
   * @internal
   */
  private submit<R extends RequestResult>(
    typeId: number, ca: number, ioa: number, object: Record<string, unknown>, cot: number,
    kind: Kind, step: Step, opts: RequestOptions, extra: { dataCot?: number; readType?: number } = {},
  ): Promise<R> {
    if (this.closed) return this.refuse('E_CLOSED', 'the controlling station is closed');
    const key: RequestKey = { typeId, ca, ioa, cot };
    const keyStr = `${typeId}/${ca}/${ioa}/${cot}`;
    const io = copyFields(object) as InformationObject; // = { ...object, ioa } (see copyFields)
    io.ioa = ioa;
    const asdu: Asdu = { typeId, sq: false, cot, negative: false, test: opts.test ?? false, originator: this.originator, ca, objects: [io] };
    // Validate by encoding, unless it goes to the link at once: the link encodes it and throws the
    // same CodecError, which trySend turns into E_INVALID (saves one encode per request).
    if (this.queue.length > 0 || !this.link || this.linkState !== 'started') {
      try {
        encodeAsdu(asdu, this.codec);
      } catch (e) {
        return this.refuse('E_INVALID', `cannot build ${typeName(typeId)}: ${e instanceof CodecError ? e.message : String(e)}`);
      }
    }
    if (opts.signal?.aborted) return this.refuse('E_ABORTED', 'aborted before sending');
    if (!this.link || this.linkState !== 'started') return this.refuse('E_NOT_CONNECTED', `cannot send ${typeName(typeId)}: data transfer is not started (state ${this._state})`);
    if (this.pending.has(keyStr)) {
      return this.refuse('E_REQUEST_PENDING', `an identical request is still open: ${typeName(typeId)} CA ${ca} IOA ${ioa} cause ${cot}`);
    }
    // always try the link first when nothing waits: a refused send arms its `drain`
    const sendNow = this.queue.length === 0;
    if (!sendNow && this.queue.length >= this.queueLimit) return this.refuse('E_QUEUE_FULL', `send window full and ${this.queueLimit} requests queued`);

    const now = this.clock.now();
    return new Promise<R>((resolve, reject) => {
      const p: Pending = {
        id: ++this.seq, key, keyStr, asdu, kind, step,
        until: opts.until ?? (kind === 'interrogation' || kind === 'counter' ? 'actterm' : 'actcon'),
        dataCot: extra.dataCot, readType: extra.readType,
        state: 'queued', submittedAt: now, rtt: {},
        // only interrogations collect data objects (see match); other kinds share an empty, frozen list
        asdus: kind === 'interrogation' || kind === 'counter' ? [] : (NO_ASDUS as Asdu[]),
        objects: kind === 'interrogation' || kind === 'counter' ? [] : (NO_VALUES as PointValue[]),
        termTimeout: opts.terminationTimeout ?? this.terminationTimeout,
        resolve: resolve as (r: RequestResult) => void,
        reject,
      };
      this.pending.set(keyStr, p);
      this._counters.requests++;
      p.timer = this.clock.setTimeout(() => this.onTimeout(p), opts.timeout ?? this.requestTimeout);
      const signal = opts.signal;
      if (signal) {
        const onAbort = (): void => this.finish(p, new MasterError('E_ABORTED', 'request aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      if (sendNow && this.trySend(p, now)) return;
      if (p.state !== 'queued') return;
      if (this.queue.length >= this.queueLimit) {
        this._counters.refused++;
        this.finish(p, new MasterError('E_QUEUE_FULL', `send window full and ${this.queueLimit} requests queued`));
        return;
      }
      this._counters.queued++;
      this.queue.push(p);
      this.log.log('debug', 'master.queued', 'send window full: request queued', { request: key, queued: this.queue.length });
    });
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

  // ---------------------------------------------------------------------------------------------
  // system commands

  /**
   * Interrogation (C_IC_NA_1) of station (`qoi` 20) or group n (`qoi` 20+n). Resolves at ACT_TERM
   * (by default) with the objects received with cause `qoi`. Tolerates an empty terminating ASDU
   * and a termination without data.
   */
  interrogation(ca: number, qoi = 20, opts: RequestOptions = {}): Promise<InterrogationResult> {
    try {
      checkInt(qoi, 0, 255, 'QOI');
    } catch (e) {
      return this.refuse('E_INVALID', (e as Error).message);
    }
    return this.submit<InterrogationResult>(100, ca, 0, { qoi }, COT.ACTIVATION, 'interrogation', 'request', opts, { dataCot: qoi });
  }

  /**
   * Counter interrogation (C_CI_NA_1). `rqt` 5 = general (data cause 37), 1..4 = group (37+n);
   * `frz` 0 read, 1 freeze, 2 freeze and reset, 3 reset. Resolves at ACT_TERM by default with the
   * counters received.
   */
  counterInterrogation(ca: number, qcc: { rqt?: number; frz?: number } = {}, opts: RequestOptions = {}): Promise<InterrogationResult> {
    const rqt = qcc.rqt ?? 5;
    const frz = qcc.frz ?? 0;
    try {
      checkInt(rqt, 0, 63, 'RQT');
      checkInt(frz, 0, 3, 'FRZ');
    } catch (e) {
      return this.refuse('E_INVALID', (e as Error).message);
    }
    const dataCot = rqt === 5 ? COT.REQUESTED_COUNTER_GENERAL : rqt >= 1 && rqt <= 4 ? COT.REQUESTED_COUNTER_GENERAL + rqt : undefined;
    return this.submit<InterrogationResult>(101, ca, 0, { rqt, frz }, COT.ACTIVATION, 'counter', 'request', opts, { dataCot });
  }

  /**
   * Read command (C_RD_NA_1): resolves with the object of `ioa` the station sends back with cause 5
   * (of type `typeId` when given).
   */
  read(ca: number, ioa: number, typeId?: number, opts: Omit<RequestOptions, 'until'> = {}): Promise<ReadResult> {
    return this.submit<ReadResult>(102, ca, ioa, {}, COT.REQUEST, 'read', 'request', opts, { readType: typeId });
  }

  /** Clock synchronisation (C_CS_NA_1) with `date` (default: the wall clock now). Resolves at ACT_CON. */
  clockSync(ca: number, date?: Date, opts: RequestOptions = {}): Promise<RequestResult> {
    return this.submit(103, ca, 0, { time: cp56FromDate(date ?? this.wallClock()) }, COT.ACTIVATION, 'command', 'request', opts);
  }

  /**
   * Test command with time tag (C_TS_TA_1); the test sequence counter increases with every call.
   * With `timeTag: false`, the test command without time tag (C_TS_NA_1, fixed test bit pattern
   * 0x55AA; defined for IEC 60870-5-101, some 104 stations accept it). Resolves at ACT_CON.
   */
  testCommand(ca: number, opts: RequestOptions & { timeTag?: boolean } = {}): Promise<RequestResult> {
    if (opts.timeTag === false) return this.submit(104, ca, 0, { pattern: 0x55aa }, COT.ACTIVATION, 'command', 'request', opts);
    const counter = this.testCounter;
    this.testCounter = (this.testCounter + 1) & 0xffff;
    return this.submit(107, ca, 0, { counter, time: cp56FromDate(this.wallClock()) }, COT.ACTIVATION, 'command', 'request', opts);
  }

  /**
   * Parameter of measured values (P_ME_NA_1 110 normalized -1..+1, P_ME_NB_1 111 scaled, P_ME_NC_1
   * 112 float) for the object `ioa`. `qpm.kpa`: 1 threshold, 2 smoothing factor, 3 low limit, 4 high
   * limit; `lpc` local parameter change, `pop` parameter not in operation. Resolves at ACT_CON.
   */
  parameter(typeId: 110 | 111 | 112, ca: number, ioa: number, value: number, qpm: { kpa: number; lpc?: boolean; pop?: boolean }, opts: RequestOptions = {}): Promise<RequestResult> {
    if (typeInfo(typeId)?.category !== 'parameter' || (typeId as number) === 113) return this.refuse('E_INVALID', `${typeName(typeId)} is not a parameter of measured values (P_ME_NA_1, P_ME_NB_1, P_ME_NC_1)`);
    try {
      checkInt(qpm.kpa, 0, 63, 'QPM.KPA');
    } catch (e) {
      return this.refuse('E_INVALID', (e as Error).message);
    }
    return this.submit(typeId, ca, ioa, { value, kpa: qpm.kpa, lpc: qpm.lpc ?? false, pop: qpm.pop ?? false }, COT.ACTIVATION, 'command', 'request', opts);
  }

  /**
   * Parameter activation (P_AC_NA_1) with qualifier `qpa`: 1 previously loaded parameters (IOA 0),
   * 2 the parameter of the addressed object, 3 persistent cyclic or periodic transmission of the
   * addressed object. `deactivate: true` sends it with cause 8. Resolves at the (de)activation confirmation.
   */
  parameterActivation(ca: number, ioa: number, qpa: number, opts: RequestOptions & { deactivate?: boolean } = {}): Promise<RequestResult> {
    try {
      checkInt(qpa, 0, 255, 'QPA');
    } catch (e) {
      return this.refuse('E_INVALID', (e as Error).message);
    }
    return this.submit(113, ca, ioa, { qpa }, opts.deactivate ? COT.DEACTIVATION : COT.ACTIVATION, 'command', 'request', opts);
  }

  /**
   * Deactivation (cause 8) of a command the station is executing or has selected, or of an
   * interrogation: the same type and object as the activation (`object` holds its elements, e.g.
   * `{ value: true, select: false }` or `{ qoi: 20 }`). Resolves at DEACT_CON; P/N=1 rejects.
   */
  deactivate(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: Omit<RequestOptions, 'until'> = {}): Promise<RequestResult> {
    const info = typeInfo(typeId);
    if (!info || !info.causes.has(COT.DEACTIVATION)) return this.refuse('E_INVALID', `${typeName(typeId)} cannot be deactivated (cause 8 is not defined for it)`);
    return this.submit(typeId, ca, ioa, object, COT.DEACTIVATION, 'command', 'request', { ...opts, until: 'actcon' });
  }

  /** Reset process command (C_RP_NA_1): `qrp` 1 general reset, 2 reset of pending time-tagged information. */
  resetProcess(ca: number, qrp = 1, opts: RequestOptions = {}): Promise<RequestResult> {
    try {
      checkInt(qrp, 0, 255, 'QRP');
    } catch (e) {
      return this.refuse('E_INVALID', (e as Error).message);
    }
    return this.submit(105, ca, 0, { qrp }, COT.ACTIVATION, 'command', 'request', opts);
  }

  // ---------------------------------------------------------------------------------------------
  // process commands

  /**
   * Any process command (45..51, 58..64) to `ca`/`ioa`. `object` holds the element properties
   * (`value`, `qu`, `ql`); `opts.time` selects the time-tagged variant, `opts.select` sends a select,
   * `opts.sbo` runs select-before-operate.
   */
  command(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: CommandOptions = {}): Promise<CommandResult> {
    if (opts.sbo) return this.selectBeforeOperate(typeId, ca, ioa, object, opts);
    return this.commandStep(typeId, ca, ioa, object, opts, opts.select ? 'select' : 'request');
  }

  /**
   * Select before operate: send the command with S/E=1, await a positive ACT_CON, then send it
   * with S/E=0 and await its answer (`opts.until`). A refused or unanswered select rejects
   * (`NegativeConfirmationError`/`RequestTimeoutError` with `step: 'select'`) and nothing is executed.
   */
  async selectBeforeOperate(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: CommandOptions = {}): Promise<CommandResult> {
    const select = await this.commandStep(typeId, ca, ioa, object, { ...opts, until: 'actcon' }, 'select');
    const execute = await this.commandStep(typeId, ca, ioa, object, opts, 'execute');
    return { ...execute, select };
  }

  private commandStep(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: CommandOptions, step: Step): Promise<CommandResult> {
    let t = typeId;
    const obj = copyFields(object);
    try {
      if (opts.time !== undefined && opts.time !== false) {
        if (CONTROL_BASE_TO_TIMED[t] !== undefined) t = CONTROL_BASE_TO_TIMED[t];
        if (!TIMED_COMMANDS.has(t)) throw new MasterError('E_INVALID', `${typeName(typeId)} has no time-tagged variant`);
      }
      if (CONTROL_BASE_TO_TIMED[t] === undefined && !TIMED_COMMANDS.has(t)) throw new MasterError('E_INVALID', `${typeName(typeId)} is not a process command (45..51, 58..64)`);
      if (TIMED_COMMANDS.has(t) && obj.time === undefined) obj.time = cp56FromDate(opts.time instanceof Date ? opts.time : this.wallClock());
      if (opts.qu !== undefined) {
        if (!QU_TYPES.has(t)) throw new MasterError('E_INVALID', `QU applies to single, double and regulating step commands, not ${typeName(t)}`);
        obj.qu = checkInt(opts.qu, 0, 31, 'QU');
      }
      if (opts.ql !== undefined) {
        if (!QL_TYPES.has(t)) throw new MasterError('E_INVALID', `QL applies to set-point commands, not ${typeName(t)}`);
        obj.ql = checkInt(opts.ql, 0, 127, 'QL');
      }
      if (t !== 51 && t !== 64) obj.select = step === 'select';
      else if (step === 'select') throw new MasterError('E_INVALID', 'bitstring commands have no select (no S/E bit)');
    } catch (e) {
      return this.refuse('E_INVALID', e instanceof Error ? e.message : String(e));
    }
    return this.submit<CommandResult>(t, ca, ioa, obj, COT.ACTIVATION, 'command', step, opts);
  }

  /** Single command (C_SC_NA_1, or C_SC_TA_1 with `time`). */
  single(ca: number, ioa: number, value: boolean, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(45, ca, ioa, { value }, opts);
  }

  /** Double command (C_DC_NA_1 / C_DC_TA_1): `'off'` (1) or `'on'` (2). */
  double(ca: number, ioa: number, value: DoubleCommandValue, opts: CommandOptions = {}): Promise<CommandResult> {
    const v = value === 'off' ? 1 : value === 'on' ? 2 : value;
    return this.command(46, ca, ioa, { value: v }, opts);
  }

  /** Regulating step command (C_RC_NA_1 / C_RC_TA_1): `'lower'` (1) or `'higher'` (2). */
  regulatingStep(ca: number, ioa: number, value: StepCommandValue, opts: CommandOptions = {}): Promise<CommandResult> {
    const v = value === 'lower' ? 1 : value === 'higher' ? 2 : value;
    return this.command(47, ca, ioa, { value: v }, opts);
  }

  /** Set-point command, normalized value -1..+1 (C_SE_NA_1 / C_SE_TA_1). */
  setpointNormalized(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(48, ca, ioa, { value }, opts);
  }

  /** Set-point command, scaled value -32768..32767 (C_SE_NB_1 / C_SE_TB_1). */
  setpointScaled(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(49, ca, ioa, { value }, opts);
  }

  /** Set-point command, short floating point (C_SE_NC_1 / C_SE_TC_1). */
  setpointFloat(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(50, ca, ioa, { value }, opts);
  }

  /** Bitstring of 32 bit command (C_BO_NA_1 / C_BO_TA_1), value 0..0xFFFFFFFF. No select. */
  bitstring(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(51, ca, ioa, { value }, opts);
  }
}
