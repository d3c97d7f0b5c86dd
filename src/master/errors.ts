/**
 * Typed errors of the controlling station. Every error has a stable `code`; requests reject with
 * one of these and never with a bare `Error`.
 */
import type { Asdu } from '../codec/asdu.js';
import { cotName } from '../codec/cause.js';
import { typeName } from '../codec/type-table.js';
import type { LinkCloseReason } from '../link/types.js';

/** Stable codes of {@link MasterError}. */
export type MasterErrorCode =
  | 'E_NEGATIVE' // the station answered with P/N=1 or a cause 44..47
  | 'E_TIMEOUT' // no (complete) answer within the request timeout
  | 'E_REQUEST_PENDING' // an identical request (type, CA, IOA, cause) is still open
  | 'E_NOT_CONNECTED' // no connection, or data transfer not started
  | 'E_QUEUE_FULL' // the send window is full and the bounded request queue too
  | 'E_CONNECTION_LOST' // the connection closed while the request was open
  | 'E_CONNECT_FAILED' // connecting failed (refused, t0 elapsed, ...)
  | 'E_CLOSED' // the station object was closed
  | 'E_INVALID' // the request cannot be built (bad value, bad type identification)
  | 'E_ABORTED'; // cancelled by the caller

/** Base class of every error raised by the controlling station. */
export class MasterError extends Error {
  override name = 'MasterError';
  constructor(
    /** Stable machine-readable code. */
    readonly code: MasterErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** Plain JSON form for logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Which answer a request was waiting for when it ended. */
export type RequestPhase = 'actcon' | 'actterm' | 'response';

/** Identifies a request in errors and results. */
export interface RequestKey {
  typeId: number;
  ca: number;
  ioa: number;
  /** Cause the request was sent with (6 act, 8 deact, 5 req). */
  cot: number;
}

function describe(k: RequestKey): string {
  return `${typeName(k.typeId)} CA ${k.ca} IOA ${k.ioa} (${cotName(k.cot)})`;
}

/**
 * The station refused the request: P/N=1 in the confirmation, or a mirrored ASDU with cause
 * 44 (unknown type), 45 (unknown cause), 46 (unknown common address) or 47 (unknown IOA).
 */
export class NegativeConfirmationError extends MasterError {
  override name = 'NegativeConfirmationError';
  /** Cause of transmission of the refusing ASDU (7 with P/N=1, 9, 10, or 44..47). */
  readonly cot: number;
  constructor(
    readonly request: RequestKey,
    /** The mirrored ASDU as received. */
    readonly asdu: Asdu,
    /** Milliseconds from sending to the refusal. */
    readonly rtt: number,
    /** For select-before-operate: which step was refused. */
    readonly step: 'select' | 'execute' | 'request' = 'request',
  ) {
    super('E_NEGATIVE', `negative confirmation of ${describe(request)}${step !== 'request' ? ` (${step})` : ''}: cause ${asdu.cot} ${cotName(asdu.cot)}${asdu.negative ? ', P/N=1' : ''}`);
    this.cot = asdu.cot;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), request: this.request, cot: this.cot, negative: this.asdu.negative, step: this.step, rtt: this.rtt };
  }
}

/** No answer (or no termination) within the request timeout. */
export class RequestTimeoutError extends MasterError {
  override name = 'RequestTimeoutError';
  constructor(
    readonly request: RequestKey,
    /** The answer that did not come in time. */
    readonly phase: RequestPhase,
    /** Milliseconds waited. */
    readonly elapsed: number,
    /** Round-trip time of the confirmation, when it came and the termination did not. */
    readonly actConRtt?: number,
    readonly step: 'select' | 'execute' | 'request' = 'request',
  ) {
    super('E_TIMEOUT', `timeout after ${Math.round(elapsed)} ms waiting for ${phase === 'actcon' ? 'the confirmation' : phase === 'actterm' ? 'the termination' : 'the response'} of ${describe(request)}${step !== 'request' ? ` (${step})` : ''}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), request: this.request, phase: this.phase, elapsed: this.elapsed, actConRtt: this.actConRtt, step: this.step };
  }
}

/** The connection closed while the request was open (or queued). */
export class ConnectionLostError extends MasterError {
  override name = 'ConnectionLostError';
  constructor(
    readonly request: RequestKey | undefined,
    /** The link's close reason. */
    readonly reason: LinkCloseReason,
  ) {
    super('E_CONNECTION_LOST', `connection lost${request ? ` while ${describe(request)} was open` : ''}: ${reason.code} ${reason.message}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), request: this.request, reason: this.reason };
  }
}
