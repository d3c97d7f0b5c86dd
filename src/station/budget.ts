/**
 * The memory budget of one controlled-station connection (issue 11: a master that streams
 * interrogations and never reads must not make the station queue snapshots without bound).
 *
 * What a connection can make the station hold, and what bounds it:
 *
 * | part | bound |
 * |---|---|
 * | session queues (`responses`, `background`: confirmations, interrogation snapshots, read answers) | the budget ({@link ConnectionBudget}), counted in estimated bytes |
 * | interrogations in progress | one per CA and QOI, one counter interrogation per CA and RQT, one read answer per object (a second is refused or merged) |
 * | the socket's write buffer | `maxWriteBuffer` of the listener, set to the same budget by `ControlledStation.listen` |
 * | its share of the event queue | the group's `eventQueue.capacity` (events are shared, not per connection) |
 * | reassembly of received APDUs | the link's fixed 255-octet frame buffer |
 *
 * A connection whose session queues exceed the budget is closed with `E_BUFFER_LIMIT`, a message
 * naming the figures, a warning log `station.budget.exceeded` and a security/audit record
 * `E_ACCESS_BUDGET`.
 */
import type { Asdu } from '../codec/asdu.js';

/** Estimated in-memory cost of one queued ASDU, apart from its information objects (bytes). */
export const QUEUED_ASDU_COST = 160;
/** Estimated in-memory cost of one queued information object (bytes). */
export const QUEUED_OBJECT_COST = 72;
/** Smallest default budget of a connection's session queues (bytes): 4 MiB. */
export const MIN_DEFAULT_CONNECTION_BUDGET = 4 * 1024 * 1024;

/**
 * Estimated memory (bytes) a queued ASDU holds: a fixed allowance per ASDU plus one per
 * information object. An estimate of the JavaScript objects, not the encoded size (which is
 * smaller); used to enforce the per-connection budget without encoding anything.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { queuedAsduBytes } from 'iec104';
 * const a = { typeId: 100, sq: false, cot: 7, negative: true, test: false, originator: 0, ca: 1, objects: [{ ioa: 0, qoi: 20 }] };
 * assert.equal(queuedAsduBytes(a), 160 + 72);
 * ```
 */
export function queuedAsduBytes(a: Pick<Asdu, 'objects'>): number {
  return QUEUED_ASDU_COST + a.objects.length * QUEUED_OBJECT_COST;
}

/**
 * Default budget of a station with `points` points: 4 MiB, or room for four full interrogations of
 * every point when that is more (a general interrogation and a few group interrogations in
 * progress at once must fit).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { defaultConnectionBudget } from 'iec104';
 * assert.equal(defaultConnectionBudget(10), 4 * 1024 * 1024);
 * assert.ok(defaultConnectionBudget(1_000_000) > 4 * 1024 * 1024);
 * ```
 */
export function defaultConnectionBudget(points: number): number {
  // a full snapshot packs ~30+ objects per ASDU: ASDU cost amortised into the per-object figure
  return Math.max(MIN_DEFAULT_CONNECTION_BUDGET, Math.ceil(points * (QUEUED_OBJECT_COST + 8) * 4));
}

/** What a connection holds now, in estimated bytes (see {@link queuedAsduBytes}). */
export interface ConnectionMemory {
  /** Confirmations, interrogation and read answers waiting to be sent. */
  responses: number;
  /** Cyclic and background data waiting to be sent. */
  background: number;
  /** `responses + background`. */
  total: number;
  /** The budget `total` may not exceed. */
  budget: number;
  /** Highest `total` seen on this connection. */
  peak: number;
}

/** The budget was exceeded: what the station reports before closing the connection. */
export interface BudgetExceeded {
  /** Estimated bytes queued. */
  queued: number;
  budget: number;
  /** A sentence for logs and the audit record. */
  reason: string;
}
