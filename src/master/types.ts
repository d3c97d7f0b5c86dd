/**
 * Public types of the controlling station: options, states, events, request options and results,
 * counters. The behaviour lives in master.ts (connection lifecycle), request-tracker.ts (matching
 * answers to requests) and request-helpers.ts (the request methods).
 */
import type { Asdu } from '../codec/asdu.js';
import type { CodecOptions } from '../codec/options.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { LinkCloseReason, LinkParameters, LinkSnapshot } from '../link/types.js';
import type { AuditLog, CommandAuditRecord } from '../transport/audit-log.js';
import type { ConnectionTls } from '../transport/security-events.js';
import type { BackoffOptions } from './backoff.js';
import type { Connector } from './connection.js';
import type { MasterError, RequestKey } from './errors.js';
import type { PointValue } from './points.js';

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

/** Options of {@link MasterRequests.send}: the command itself carries select, qualifier and time tag. */
export interface SendOptions extends RequestOptions {
  /** Select before operate: send the command with S/E=1, await a positive ACT_CON, then execute it. */
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
