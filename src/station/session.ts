/**
 * One connection of a controlled station: the procedures of IEC 60870-5-104 / -101 clause 7.4 as
 * seen from the station, at the ASDU level. A {@link StationSession} receives ASDUs from its link,
 * answers them, and sends three streams in this order of priority:
 *
 * 1. `responses`: confirmations, interrogation data, read answers, M_EI_NA_1 (session-local FIFO);
 * 2. events from the {@link EventQueue} of the session's redundancy group (only the session that
 *    currently serves the group's queue, see `ControlledStation` and `redundancy-group.ts`);
 * 3. `background`: cyclic (COT 1) and background-scan (COT 2) data.
 *
 * Interrogation data is snapshotted when the request arrives and sent before any later event,
 * so a value changing during an interrogation always ends with the event's (newer) value at the
 * master. An ACT_TERM that follows a command's feedback update waits until that feedback event
 * has been handed to the link (a barrier on the event sequence number).
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { COT, cotName, isAnswerCause } from '../codec/cause.js';
import type { CodecOptions } from '../codec/options.js';
import { cp56FieldProblems, cp56ToDate, type Cp56Time } from '../codec/time.js';
import { TypeId, allTypes, typeInfo, typeName, untimedVariantOf } from '../codec/type-table.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { LinkCloseCode, LinkCloseReason, LinkSnapshot, LinkState } from '../link/types.js';
import { isNullLogger, type Logger } from '../log.js';
import {
  behaviourOutcome, stationCommandFromObject, type CommandOutcome, type CommandPoint, isCommandType, sameCommand, staleReason, type StationCommand,
} from './commands.js';
import { type BudgetExceeded, type ConnectionMemory, MIN_DEFAULT_CONNECTION_BUDGET, queuedAsduBytes } from './budget.js';
import { EventBatch, type EventQueue } from './event-queue.js';
import { maxObjects, packObjects } from './packing.js';
import { type StationPoint, pointObject, type TimeTagOptions } from './point-database.js';
import type { PointDatabase } from './point-database.js';
import type { ConnectionTls } from '../transport/security-events.js';

/** The part of `Link` (src/link/link.ts) a station session uses. `Link` satisfies it structurally. */
export interface StationLink {
  /** Whether `send` would accept an ASDU now. */
  readonly canSend: boolean;
  /** Send an ASDU in an I-frame; false when not started or the window is full (then `drain` follows). */
  send(asdu: Asdu, tag?: unknown): boolean;
  /** Close locally (a string: `E_LOCAL` with that message). */
  close(reason?: string | { code?: LinkCloseCode; message?: string }): void;
  /** Live state. */
  snapshot(): LinkSnapshot;
}

/** Counters of one session. */
export interface SessionCounters {
  asduIn: number;
  asduOut: number;
  eventsOut: number;
  interrogations: number;
  counterInterrogations: number;
  reads: number;
  commands: number;
  commandsRejected: number;
  /** Negative confirmations sent (P/N=1), including 44..47 mirrors. */
  negative: number;
  unknownType: number;
  unknownCause: number;
  unknownCa: number;
  unknownIoa: number;
  clockSyncs: number;
  testCommands: number;
  resets: number;
  parameters: number;
  /**
   * Received ASDUs that are themselves answers (P/N=1, COT 7, 9, 10, 44..47) or monitor-direction
   * types: logged once per kind, counted, never answered (docs/CONFORMANCE.md A01).
   */
  answersIgnored: number;
}

/** Why a received ASDU is not answered (see {@link answerKind}). */
export type IgnoredAnswerKind = 'negative' | 'confirmation' | 'termination' | 'mirror' | 'monitor-type';

/**
 * Whether a received ASDU must not be answered by a controlled station, and why: it carries
 * P/N=1, an answer cause (7, 9, 10, 44..47), or a type of the monitor direction. Answering such an
 * ASDU (for instance with a negative confirmation) lets two stations answer each other forever.
 */
export function answerKind(a: Asdu): IgnoredAnswerKind | undefined {
  if (a.negative) return 'negative';
  if (isAnswerCause(a.cot)) return a.cot >= COT.UNKNOWN_TYPE ? 'mirror' : a.cot === COT.ACTIVATION_TERMINATION ? 'termination' : 'confirmation';
  if (typeInfo(a.typeId)?.direction === 'monitor') return 'monitor-type';
  return undefined;
}

/** Live view of one connection. */
export interface SessionSnapshot {
  id: number;
  remote: string | undefined;
  /** Link state, sequence numbers, deadlines, frame counters. */
  link: LinkSnapshot;
  /** Whether this connection currently serves its redundancy group's event queue (is the active one). */
  servesEvents: boolean;
  /** Name of its redundancy group (`single`, a configured name, `*` catch-all, `conn-<id>`). */
  group: string;
  /** ASDUs waiting in the session's own queues, and their estimated memory against the connection's budget. */
  queued: { responses: number; background: number; memory: ConnectionMemory };
  /** Depth of its group's event queue. */
  events: { pending: number; inFlight: number };
  counters: SessionCounters;
  /** TLS facts of the connection (set by the station for connections of a TLS listener). */
  tls?: ConnectionTls;
}

/** Parameters given to the clock synchronisation handler. */
export interface ClockSyncRequest {
  /** The time received. */
  time: Cp56Time;
  /** The time received as a Date (UTC or local fields per the station's `utc` option). */
  date: Date;
  ca: number;
  sessionId: number;
}

/** A received parameter of measured value (P_ME_NA/NB/NC_1) or parameter activation (P_AC_NA_1). */
export interface ParameterRequest {
  typeId: number;
  ca: number;
  ioa: number;
  /** P_ME: the parameter value; P_AC: undefined. */
  value?: number;
  /** P_ME: kind of parameter (1 threshold, 2 smoothing, 3 low limit, 4 high limit). */
  kpa?: number;
  /** P_AC: qualifier of parameter activation. */
  qpa?: number;
  /** P_AC: true for activation (COT 6), false for deactivation (COT 8). */
  activate?: boolean;
  sessionId: number;
}

/** Fixed settings of the station that a session reads. */
export interface SessionSettings {
  readonly clock: Clock;
  readonly codec: CodecOptions;
  readonly timeTags: TimeTagOptions;
  readonly sqMinRun: number | undefined;
  readonly maxCommandAgeMs: number;
  /** Largest clock step (ms, either direction) a clock synchronisation may make; undefined = any. */
  readonly maxClockStepMs?: number;
  /** Memory budget of a connection's session queues, estimated bytes (see `budget.ts`); default 4 MiB. */
  readonly connectionBudget?: number;
}

/** The station's process image and its time. */
export interface SessionData {
  readonly db: PointDatabase;
  /** Station time, ms since the epoch (wall time + clock synchronisation offset). */
  now(): number;
}

/** Process commands: the command objects, the handler, feedback, and the select-before-operate registry shared by all connections. */
export interface SessionCommands {
  commandPoint(ca: number, ioa: number): CommandPoint | undefined;
  decide(cmd: StationCommand, cp: CommandPoint): CommandOutcome | undefined | Promise<CommandOutcome | undefined>;
  applyFeedback(cmd: StationCommand, outcome: CommandOutcome & { result: 'accept' }): void;
  selection(key: string): { cmd: StationCommand; sessionId: number } | undefined;
  select(key: string, cmd: StationCommand, sessionId: number): void;
  deselect(key: string): boolean;
}

/** System requests the station answers through its handlers (true: positive confirmation). */
export interface SessionSystemRequests {
  clockSync(req: ClockSyncRequest): boolean;
  resetProcess(qrp: number, ca: number, sessionId: number): boolean;
  parameter(req: ParameterRequest): boolean;
}

/** The station's part in a session's life: redundancy group, end of initialization, access control, budget, audit. */
export interface SessionLifecycle {
  /** Whether the session's redundancy group sends its events through this session now. */
  servesEvents(s: StationSession): boolean;
  sessionStarted(s: StationSession): void;
  sessionStopped(s: StationSession): void;
  sessionClosed(s: StationSession, reason: LinkCloseReason): void;
  endOfInitializationPerConnection(): { cause: number; localChange: boolean } | undefined;
  /** Access control: why this connection may not send `req` (refused with P/N=1), or undefined. */
  authorize?(s: StationSession, req: Asdu): string | undefined;
  /** A request is refused for `why` (audit). */
  commandRefused?(s: StationSession, req: Asdu, why: string): void;
  /** The connection exceeded its budget and is being closed (log, security event, audit). */
  budgetExceeded?(s: StationSession, e: BudgetExceeded): void;
}

/**
 * Deliberate deviations a test may inject into a session (misbehave.ts builds them from
 * `StationOptions.misbehave`); a correct station has none.
 * @internal
 */
export interface SessionTestHooks {
  /** Whether the session must not send `asdu` at all. */
  withhold?(asdu: Asdu): boolean;
  /** Confirm a command to an object without command point positively (instead of cause 47). */
  confirmUnknownCommandObject?: boolean;
  /** Execute time-tagged commands whatever their age. */
  skipCommandAgeCheck?: boolean;
  /** Execute on a select-before-operate object without a valid select. */
  skipSelectCheck?: boolean;
}

/**
 * What a session needs from its station, in small parts (each one job). `ControlledStation` builds
 * one for all its sessions.
 */
export interface SessionHost {
  readonly settings: SessionSettings;
  readonly data: SessionData;
  readonly commands: SessionCommands;
  readonly system: SessionSystemRequests;
  readonly lifecycle: SessionLifecycle;
  /** File transfer (types 120..127), when the station offers or accepts files. */
  readonly files?: { onAsdu(s: StationSession, req: Asdu): void };
  /** @internal */
  readonly testHooks?: SessionTestHooks;
}

interface OutItem {
  asdu: Asdu;
  /** Interrogation job the item belongs to (deactivation removes them). */
  job?: number;
  /** Send only after every event with seq <= barrier was handed to a link. */
  barrier?: number;
  /** Called when handed to the link. */
  sent?: () => void;
  /** Estimated memory (set when queued). */
  cost?: number;
}

/** A command being executed (accepted, ACT_TERM not yet sent). */
interface Execution {
  timer: TimerHandle | undefined;
  cancelled: boolean;
}

const SYSTEM_IOA0 = new Set<number>([TypeId.C_IC_NA_1, TypeId.C_CI_NA_1, TypeId.C_CS_NA_1, TypeId.C_TS_NA_1, TypeId.C_RP_NA_1, TypeId.C_TS_TA_1]);
const BROADCAST_TYPES = new Set<number>([TypeId.C_IC_NA_1, TypeId.C_CI_NA_1, TypeId.C_CS_NA_1, TypeId.C_RP_NA_1]);
const INCOMING_CAUSES: Record<number, readonly number[]> = {
  [TypeId.C_IC_NA_1]: [6, 8], [TypeId.C_CI_NA_1]: [6], [TypeId.C_RD_NA_1]: [5], [TypeId.C_CS_NA_1]: [6], [TypeId.C_TS_NA_1]: [6], [TypeId.C_RP_NA_1]: [6], [TypeId.C_TS_TA_1]: [6],
  [TypeId.P_ME_NA_1]: [6], [TypeId.P_ME_NB_1]: [6], [TypeId.P_ME_NC_1]: [6], [TypeId.P_AC_NA_1]: [6, 8],
};
for (const t of allTypes()) if (t.processCommand) INCOMING_CAUSES[t.id] = [6, 8];

/** Events that may share one ASDU: same type, CA and cause. */
const sameAsdu = (a: { typeId: number; ca: number; cot: number }, b: { typeId: number; ca: number; cot: number }): boolean => a.typeId === b.typeId && a.ca === b.ca && a.cot === b.cot;

function copyObject(o: InformationObject): InformationObject {
  return { ...o };
}

/** The reply to `req`: same ASDU with another cause (and P/N), CA and objects optional. */
export function mirrorAsdu(req: Asdu, cot: number, negative: boolean, ca = req.ca, objects: InformationObject[] = req.objects.map(copyObject)): Asdu {
  const a: Asdu = { typeId: req.typeId, sq: req.sq, cot, negative, test: req.test, originator: req.originator, ca, objects };
  if (req.raw) {
    a.raw = req.raw;
    a.rawCount = req.rawCount;
  }
  return a;
}

/** One connection of a controlled station. Created by `ControlledStation`. */
export class StationSession {
  private readonly responses: OutItem[] = [];
  private readonly background: OutItem[] = [];
  private pumping = false;
  private pumpAgain = false;
  /** A send was refused (the link's `drain` is armed) and not drained since. */
  private blocked = false;
  private started = false;
  private everStarted = false;
  private closed = false;
  private jobSeq = 0;
  /** Interrogation in progress (ACT_CON queued, ACT_TERM not yet handed to the link) per `ca:qoi`: job id. */
  private readonly interrogations = new Map<string, number>();
  /** Counter interrogations in progress per `ca:rqt`. */
  private readonly counterRuns = new Set<string>();
  /** Read answers queued and not yet sent, per `ca:ioa` (a second read of the object is merged into it). */
  private readonly readsQueued = new Map<string, OutItem>();
  /** Estimated bytes in `responses` and `background`, the highest total seen, and the budget. */
  private responseBytes = 0;
  private backgroundBytes = 0;
  private peakBytes = 0;
  private readonly budget: number;
  private overBudget = false;
  /** Commands being executed (accepted, ACT_TERM not yet sent), by object key. */
  private readonly executing = new Map<string, Execution>();
  /** Objects whose handler has not answered yet. */
  private readonly deciding = new Set<string>();
  private link: StationLink | undefined;
  /** False when logs are discarded: hot paths then skip building messages. */
  private readonly logOn: boolean;
  /** Injected deviations (tests only; undefined for a correct station). */
  private readonly hooks: SessionTestHooks | undefined;
  private readonly settings: SessionSettings;
  private readonly data: SessionData;
  private readonly commands: SessionCommands;
  private readonly lifecycle: SessionLifecycle;
  /** The event queue of the session's redundancy group. */
  readonly queue: EventQueue;
  /** Name of the session's redundancy group. */
  readonly group: string;
  /** Counters. */
  readonly counters: SessionCounters = {
    asduIn: 0, asduOut: 0, eventsOut: 0, interrogations: 0, counterInterrogations: 0, reads: 0, commands: 0, commandsRejected: 0,
    negative: 0, unknownType: 0, unknownCause: 0, unknownCa: 0, unknownIoa: 0, clockSyncs: 0, testCommands: 0, resets: 0, parameters: 0,
    answersIgnored: 0,
  };
  /** Kinds of ignored answers already logged on this connection (one line per kind). */
  private readonly ignoredLogged = new Set<IgnoredAnswerKind>();

  constructor(
    /** Station-local connection id (1, 2, …). */
    readonly id: number,
    private readonly host: SessionHost,
    private readonly log: Logger,
    /** Remote address, when known. */
    readonly remote: string | undefined,
    /** Its redundancy group's event queue and name. */
    events: { queue: EventQueue; group: string },
  ) {
    this.logOn = !isNullLogger(log);
    this.hooks = host.testHooks;
    this.settings = host.settings;
    this.data = host.data;
    this.commands = host.commands;
    this.lifecycle = host.lifecycle;
    this.queue = events.queue;
    this.group = events.group;
    this.budget = host.settings.connectionBudget ?? MIN_DEFAULT_CONNECTION_BUDGET;
  }

  /** Estimated memory held by this connection's session queues, against its budget (see `budget.ts`). */
  memory(): ConnectionMemory {
    return { responses: this.responseBytes, background: this.backgroundBytes, total: this.responseBytes + this.backgroundBytes, budget: this.budget, peak: this.peakBytes };
  }

  /** Bind the link (done once by the station, right after constructing the link). */
  bind(link: StationLink): void {
    this.link = link;
  }

  /** Whether data transfer is started. */
  get isStarted(): boolean {
    return this.started;
  }
  /** Whether the connection is over. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Close the connection. */
  close(reason = 'closed by station'): void {
    this.link?.close(reason);
  }

  /** Live state. */
  snapshot(): SessionSnapshot {
    const q = this.queue;
    return {
      id: this.id,
      remote: this.remote,
      link: this.link!.snapshot(),
      servesEvents: this.lifecycle.servesEvents(this),
      group: this.group,
      queued: { responses: this.responses.length, background: this.background.length, memory: this.memory() },
      events: { pending: q.pending, inFlight: q.inFlight },
      counters: { ...this.counters },
    };
  }

  // ------------------------------------------------------------------------------------------
  // link events

  /** Link `stateChange`. */
  onStateChange(state: LinkState, previous: LinkState): void {
    this.log.log('info', 'station.session.state', `data transfer ${state}`, { state, previous });
    if (state === 'started') {
      this.started = true;
      if (!this.everStarted) {
        this.everStarted = true;
        const ei = this.lifecycle.endOfInitializationPerConnection();
        if (ei) {
          for (const ca of this.data.db.commonAddresses()) {
            this.enqueue(this.responses, { asdu: { typeId: TypeId.M_EI_NA_1, sq: false, cot: COT.INITIALIZED, negative: false, test: false, originator: 0, ca, objects: [{ ioa: 0, cause: ei.cause, localChange: ei.localChange }] } });
          }
        }
      }
      this.lifecycle.sessionStarted(this);
      this.pump();
    } else if (this.started) {
      this.started = false;
      this.lifecycle.sessionStopped(this);
    }
  }

  /** Link `acknowledged`. */
  onAcknowledged(tags: unknown[]): void {
    const q = this.queue;
    for (const t of tags) if (t instanceof EventBatch && t.queue === q) q.acknowledge(t);
  }

  /** Link `close`: unacknowledged event batches go back to the group's queue. */
  onClose(reason: LinkCloseReason, unacknowledged: unknown[]): void {
    if (this.closed) return;
    this.closed = true;
    const batches = unacknowledged.filter((t): t is EventBatch => t instanceof EventBatch && t.queue === this.queue);
    const n = this.queue.requeue(batches);
    this.responses.length = 0;
    this.background.length = 0;
    this.responseBytes = 0;
    this.backgroundBytes = 0;
    this.interrogations.clear();
    this.counterRuns.clear();
    this.readsQueued.clear();
    this.started = false;
    this.log.log('info', 'station.session.closed', `connection closed: ${reason.code} ${reason.message}`, { code: reason.code, requeued: n });
    this.lifecycle.sessionClosed(this, reason);
  }

  /** Link `drain`. */
  onDrain(): void {
    this.blocked = false;
    this.pump();
  }

  /** Link `asdu`: a received ASDU. */
  onAsdu(asdu: Asdu): void {
    if (this.closed) return;
    this.counters.asduIn++;
    try {
      this.dispatch(asdu);
    } catch (e) {
      this.log.log('error', 'station.session.error', `failed to handle ${typeName(asdu.typeId)}: ${e instanceof Error ? e.message : String(e)}`, { typeId: asdu.typeId, error: e });
    }
    this.pump();
  }

  // ------------------------------------------------------------------------------------------
  // sending

  /** Queue a session-local ASDU (responses stream) and send what the window allows. */
  sendResponse(asdu: Asdu): void {
    if (this.closed) return;
    this.enqueue(this.responses, { asdu });
    this.pump();
  }

  /** Queue a file-transfer ASDU after the events raised so far; `sent` runs when it is handed to the link. */
  sendFile(asdu: Asdu, sent?: () => void): void {
    if (this.closed) return;
    this.responses.push({ asdu, barrier: this.queue.lastSeq, sent });
    this.pump();
  }

  /** Queue cyclic or background data unless the previous batch is still waiting. Returns whether queued. */
  queueBackground(asdus: Asdu[]): boolean {
    if (!this.started || this.background.length > 0) return false;
    for (const a of asdus) this.enqueue(this.background, { asdu: a });
    this.pump();
    return true;
  }

  /** Send as much as the link's window allows. */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const link = this.link;
    if (!link || this.closed || !this.started) return;
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        // send() is tried even with a full window: a refused send is what arms the link's `drain`
        while (!this.closed) {
          if (!this.sendOne(link)) break;
        }
      } while (this.pumpAgain && !this.closed);
    } finally {
      this.pumping = false;
    }
  }

  private sendOne(link: StationLink): boolean {
    // window still full after a refused send: the link's drain is armed, nothing to try (taking
    // and putting back an event batch per raised event made a backlog cost O(events x window))
    if (this.blocked && !link.canSend) return false;
    const q = this.queue;
    const serves = this.lifecycle.servesEvents(this);
    const head = this.responses[0];
    if (head && (head.barrier === undefined || !serves || !q.hasPendingUpTo(head.barrier))) {
      this.dequeue(this.responses);
      return this.transmit(link, head, undefined);
    }
    if (serves && q.pending > 0) {
      const batch = q.take(sameAsdu, maxObjects(q.peek()!.typeId, false, this.settings.codec));
      if (!batch) return false;
      const f = batch.events[0];
      const asdu: Asdu = { typeId: f.typeId, sq: false, cot: f.cot, negative: false, test: false, originator: 0, ca: f.ca, objects: batch.events.map((e) => e.object) };
      let ok = false;
      try {
        ok = link.send(asdu, batch);
      } catch (e) {
        q.acknowledge(batch); // cannot be encoded: never will be; do not loop on it
        this.log.log('error', 'station.event.encode', `event cannot be encoded, dropped: ${e instanceof Error ? e.message : String(e)}`, { typeId: f.typeId, ca: f.ca, error: e });
        return true;
      }
      if (!ok) {
        q.untake(batch);
        this.blocked = true;
        return false;
      }
      this.counters.asduOut++;
      this.counters.eventsOut += batch.events.length;
      return true;
    }
    if (head) {
      this.dequeue(this.responses);
      return this.transmit(link, head, undefined);
    }
    const bg = this.dequeue(this.background);
    if (bg) return this.transmit(link, bg, undefined);
    return false;
  }

  private transmit(link: StationLink, item: OutItem, tag: unknown): boolean {
    let ok = false;
    try {
      ok = link.send(item.asdu, tag);
    } catch (e) {
      this.log.log('error', 'station.send.encode', `ASDU cannot be encoded, dropped: ${e instanceof Error ? e.message : String(e)}`, { typeId: item.asdu.typeId, error: e });
      item.sent?.();
      return true;
    }
    if (!ok) {
      this.blocked = true;
      const list = item.asdu.cot === COT.PERIODIC || item.asdu.cot === COT.BACKGROUND ? this.background : this.responses;
      list.unshift(item);
      this.account(list, item.cost ?? 0);
      return false;
    }
    this.counters.asduOut++;
    if (item.asdu.negative) this.counters.negative++;
    item.sent?.();
    return true;
  }

  private reply(item: OutItem): void {
    if (this.hooks?.withhold?.(item.asdu)) { // an injected test deviation (misbehave.ts)
      item.sent?.();
      return;
    }
    if (this.closed) return;
    this.enqueue(this.responses, item);
  }

  /** Queue `item` on `list` and charge it to the budget; over budget, the connection is closed. */
  private enqueue(list: OutItem[], item: OutItem): void {
    item.cost = queuedAsduBytes(item.asdu);
    list.push(item);
    this.account(list, item.cost);
    const total = this.responseBytes + this.backgroundBytes;
    if (total > this.peakBytes) this.peakBytes = total;
    if (total > this.budget) this.exceeded(total);
  }

  /** Take the head of `list` (crediting the budget). */
  private dequeue(list: OutItem[]): OutItem | undefined {
    const item = list.shift();
    if (item) this.account(list, -(item.cost ?? 0));
    return item;
  }

  private account(list: OutItem[], bytes: number): void {
    if (list === this.background) this.backgroundBytes += bytes;
    else this.responseBytes += bytes;
  }

  /** The session queues exceed the budget: close with `E_BUFFER_LIMIT` (once), reported to the host. */
  private exceeded(total: number): void {
    if (this.overBudget || this.closed) return;
    this.overBudget = true;
    const reason = `connection memory budget exceeded: ${total} bytes queued (responses ${this.responseBytes}, background ${this.backgroundBytes}) over the budget of ${this.budget}; the master asks for more than it acknowledges`;
    this.log.log('warn', 'station.budget.exceeded', reason, { queued: total, budget: this.budget, responses: this.responses.length, background: this.background.length });
    try {
      this.lifecycle.budgetExceeded?.(this, { queued: total, budget: this.budget, reason });
    } finally {
      this.link?.close({ code: 'E_BUFFER_LIMIT', message: reason });
    }
  }

  // ------------------------------------------------------------------------------------------
  // dispatch

  private negative(req: Asdu, cot: number, why: string): void {
    if (cot === COT.UNKNOWN_TYPE) this.counters.unknownType++;
    else if (cot === COT.UNKNOWN_CAUSE) this.counters.unknownCause++;
    else if (cot === COT.UNKNOWN_CA) this.counters.unknownCa++;
    else if (cot === COT.UNKNOWN_IOA) this.counters.unknownIoa++;
    this.log.log('info', 'station.negative', `${typeName(req.typeId)} CA ${req.ca}: ${why} (COT ${cot})`, { typeId: req.typeId, ca: req.ca, cot: req.cot, reply: cot });
    this.lifecycle.commandRefused?.(this, req, why);
    this.reply({ asdu: mirrorAsdu(req, cot, true) });
  }

  /** An answer (or monitor-direction ASDU) arrived: count it, log its kind once, never answer it. */
  private ignoreAnswer(req: Asdu, kind: IgnoredAnswerKind): void {
    this.counters.answersIgnored++;
    if (this.ignoredLogged.has(kind)) return;
    this.ignoredLogged.add(kind);
    const what = kind === 'negative' ? 'P/N=1' : kind === 'monitor-type' ? 'a monitor-direction type' : `cause ${req.cot} (${cotName(req.cot)})`;
    this.log.log('warn', 'station.answer.ignored', `${typeName(req.typeId)} CA ${req.ca} with ${what} is an answer, not a request: not answered (further ${kind} ASDUs on this connection are counted, not logged)`, {
      typeId: req.typeId, ca: req.ca, cot: req.cot, negative: req.negative, kind,
    });
  }

  private dispatch(req: Asdu): void {
    const t = req.typeId;
    const ignored = answerKind(req);
    if (ignored !== undefined) return this.ignoreAnswer(req, ignored);
    const info = typeInfo(t);
    if (info?.category === 'file' && this.host.files) return this.host.files.onAsdu(this, req);
    const causes = INCOMING_CAUSES[t];
    if (!info || info.raw || !causes) return this.negative(req, COT.UNKNOWN_TYPE, 'type not supported by this station');
    if (!causes.includes(req.cot)) return this.negative(req, COT.UNKNOWN_CAUSE, `cause ${req.cot} not accepted for ${info.name}`);
    const denied = this.lifecycle.authorize?.(this, req);
    if (denied !== undefined) {
      this.counters.commandsRejected++;
      this.lifecycle.commandRefused?.(this, req, denied);
      this.log.log('warn', 'station.command.denied', `${info.name} CA ${req.ca} refused: ${denied}`, { typeId: t, ca: req.ca, reason: denied });
      return this.reply({ asdu: mirrorAsdu(req, req.cot === COT.DEACTIVATION ? COT.DEACTIVATION_CON : COT.ACTIVATION_CON, true) });
    }
    const broadcastCa = this.settings.codec.caSize === 1 ? 0xff : 0xffff;
    let cas: number[];
    if (req.ca === broadcastCa && BROADCAST_TYPES.has(t)) cas = this.data.db.commonAddresses();
    else if (this.data.db.hasCommonAddress(req.ca)) cas = [req.ca];
    else return this.negative(req, COT.UNKNOWN_CA, `common address ${req.ca} not configured`);
    const obj = req.objects[0];
    if (obj === undefined || req.objects.length !== 1) return this.negative(req, COT.UNKNOWN_IOA, `${req.objects.length} information objects (expected 1)`);
    if (SYSTEM_IOA0.has(t) && obj.ioa !== 0) return this.negative(req, COT.UNKNOWN_IOA, `IOA ${obj.ioa} (system commands use IOA 0)`);
    switch (t) {
      case TypeId.C_IC_NA_1: for (const ca of cas) this.interrogation(req, ca, obj); return;
      case TypeId.C_CI_NA_1: for (const ca of cas) this.counterInterrogation(req, ca, obj); return;
      case TypeId.C_RD_NA_1: return this.read(req, obj);
      case TypeId.C_CS_NA_1: return this.clockSync(req, cas, obj);
      case TypeId.C_TS_NA_1:
      case TypeId.C_TS_TA_1:
        this.counters.testCommands++;
        return this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, false) });
      case TypeId.C_RP_NA_1: return this.resetProcess(req, cas, obj);
      case TypeId.P_ME_NA_1: case TypeId.P_ME_NB_1: case TypeId.P_ME_NC_1: return this.parameterMeasured(req, obj);
      case TypeId.P_AC_NA_1: return this.parameterActivation(req, obj);
      default:
        if (isCommandType(t)) return this.command(req, obj);
        return this.negative(req, COT.UNKNOWN_TYPE, 'type not supported by this station');
    }
  }

  // ---- interrogation

  private interrogation(req: Asdu, ca: number, obj: InformationObject): void {
    const qoi = Number(obj.qoi);
    const key = `${ca}:${qoi}`;
    if (req.cot === COT.DEACTIVATION) {
      const job = this.interrogations.get(key);
      if (job === undefined) {
        this.reply({ asdu: mirrorAsdu(req, COT.DEACTIVATION_CON, true, ca) });
        return;
      }
      this.interrogations.delete(key);
      for (let i = this.responses.length - 1; i >= 0; i--) {
        const it = this.responses[i];
        if (it.job === job) {
          this.responses.splice(i, 1);
          this.responseBytes -= it.cost ?? 0;
        }
      }
      this.log.log('info', 'station.interrogation.deactivated', `interrogation of CA ${ca} deactivated`, { ca });
      this.reply({ asdu: mirrorAsdu(req, COT.DEACTIVATION_CON, false, ca) });
      return;
    }
    if (!(qoi >= 20 && qoi <= 36)) {
      this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, true, ca) });
      return;
    }
    if (this.interrogations.has(key)) {
      // one interrogation per CA and QOI in progress (issue 11): a master that streams them while
      // not acknowledging would otherwise make the station queue a snapshot per request
      this.refuseBusy(req, ca, `interrogation QOI ${qoi} of CA ${ca} already in progress`);
      return;
    }
    this.counters.interrogations++;
    const job = ++this.jobSeq;
    this.interrogations.set(key, job);
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, false, ca, [{ ioa: 0, qoi }]) });
    const group = qoi - 20;
    const pts = this.data.db.points(ca).filter((p) => (group === 0 ? p.interrogation : p.groups.has(group)));
    for (const a of this.pack(pts, qoi, ca, req)) this.reply({ asdu: a, job });
    this.reply({
      asdu: mirrorAsdu(req, COT.ACTIVATION_TERMINATION, false, ca, [{ ioa: 0, qoi }]),
      job,
      sent: () => {
        if (this.interrogations.get(key) === job) this.interrogations.delete(key);
      },
    });
    this.log.log('debug', 'station.interrogation', `interrogation QOI ${qoi} of CA ${ca}: ${pts.length} point(s)`, { ca, qoi, points: pts.length });
  }

  /** ASDUs of the points' static types with cause `cot`, densely packed. */
  pack(points: StationPoint[], cot: number, ca: number, req?: Asdu): Asdu[] {
    const byType = new Map<number, InformationObject[]>();
    for (const p of points) {
      if (p.staticType === undefined) continue;
      let l = byType.get(p.staticType);
      if (!l) byType.set(p.staticType, (l = []));
      l.push(pointObject(p, p.staticType, this.settings.timeTags));
    }
    const out: Asdu[] = [];
    for (const t of [...byType.keys()].sort((a, b) => a - b)) {
      // (a loop, not push(...): any number of points)
      for (const a of packObjects(t, byType.get(t)!, { cot, ca, originator: req?.originator ?? 0, test: req?.test ?? false }, { codec: this.settings.codec, sqMinRun: this.settings.sqMinRun })) out.push(a);
    }
    return out;
  }

  // ---- counter interrogation

  private counterInterrogation(req: Asdu, ca: number, obj: InformationObject): void {
    const rqt = Number(obj.rqt);
    const frz = Number(obj.frz ?? 0);
    if (!(rqt >= 1 && rqt <= 5)) {
      this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, true, ca) });
      return;
    }
    const key = `${ca}:${rqt}`;
    if (this.counterRuns.has(key)) {
      this.refuseBusy(req, ca, `counter interrogation RQT ${rqt} of CA ${ca} already in progress`);
      return;
    }
    this.counterRuns.add(key);
    this.counters.counterInterrogations++;
    const counters = this.data.db.points(ca).filter((p) => p.kind === 'counter' && (rqt === 5 || p.counterGroup === rqt));
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, false, ca, [{ ioa: 0, rqt, frz }]) });
    const now = this.data.now();
    const cot = rqt === 5 ? COT.REQUESTED_COUNTER_GENERAL : COT.REQUESTED_COUNTER_GROUP_1 + rqt - 1;
    if (frz === 0) {
      const byType = new Map<number, InformationObject[]>();
      for (const p of counters) {
        const type = p.type;
        let l = byType.get(type);
        if (!l) byType.set(type, (l = []));
        l.push(pointObject(p, type, this.settings.timeTags, p.frozen?.value ?? p.value, p.frozen?.time ?? now));
      }
      for (const t of [...byType.keys()].sort((a, b) => a - b)) {
        for (const a of packObjects(t, byType.get(t)!, { cot, ca, originator: req.originator, test: req.test }, { codec: this.settings.codec, sqMinRun: this.settings.sqMinRun })) this.reply({ asdu: a });
      }
    } else {
      for (const p of counters) {
        const cur = p.value as { value: number; carry?: boolean; adjusted?: boolean; invalid?: boolean };
        if (frz === 1 || frz === 2) p.frozen = { value: { ...cur }, sequence: ((p.frozen?.sequence ?? -1) + 1) & 31, time: now };
        if (frz === 2 || frz === 3) {
          p.value = { value: 0 };
          p.time = now;
        }
      }
    }
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_TERMINATION, false, ca, [{ ioa: 0, rqt, frz }]), sent: () => this.counterRuns.delete(key) });
  }

  /** Negative ACT_CON for a request of which one is already in progress on this connection. */
  private refuseBusy(req: Asdu, ca: number, why: string): void {
    this.log.log('info', 'station.request.busy', `${typeName(req.typeId)} refused: ${why}`, { typeId: req.typeId, ca, reason: why });
    this.lifecycle.commandRefused?.(this, req, why);
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, true, ca) });
  }

  // ---- read

  private read(req: Asdu, obj: InformationObject): void {
    const p = this.data.db.get(req.ca, obj.ioa);
    const info = p?.staticType === undefined ? undefined : typeInfo(p.staticType);
    if (!p || !info || !info.causes.has(COT.REQUEST)) return this.negative(req, COT.UNKNOWN_IOA, `no readable point at IOA ${obj.ioa}`);
    this.counters.reads++;
    const key = `${req.ca}:${obj.ioa}`;
    const objects = [pointObject(p, p.staticType!, this.settings.timeTags)];
    const queued = this.readsQueued.get(key);
    if (queued) {
      // the answer to an earlier read of the object is still queued: it answers this one too,
      // with the value of now (one answer per object queued, whatever the number of reads)
      queued.asdu.objects = objects;
      return;
    }
    const item: OutItem = {
      asdu: { typeId: p.staticType!, sq: false, cot: COT.REQUEST, negative: false, test: req.test, originator: req.originator, ca: req.ca, objects },
      sent: () => {
        if (this.readsQueued.get(key) === item) this.readsQueued.delete(key);
      },
    };
    this.readsQueued.set(key, item);
    this.reply(item);
  }

  // ---- clock synchronisation, reset process

  private clockSync(req: Asdu, cas: number[], obj: InformationObject): void {
    const time = obj.time as Cp56Time;
    this.counters.clockSyncs++;
    let why = this.clockSyncProblem(time);
    const date = why === undefined ? cp56ToDate(time, this.settings.timeTags.utc) : undefined;
    if (date && !this.host.system.clockSync({ time, date, ca: req.ca, sessionId: this.id })) why = 'refused by the clock synchronisation handler';
    const ok = why === undefined;
    this.log.log(ok ? 'info' : 'warn', 'station.clock_sync', `clock synchronisation ${ok ? 'accepted' : 'refused'}: ${ok ? date!.toISOString() : why}`, { ok, ...(why ? { reason: why } : {}) });
    if (!ok) this.lifecycle.commandRefused?.(this, req, why!);
    for (const ca of cas) this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, !ok, ca) });
  }

  /**
   * Why a clock synchronisation with `time` is refused (issue 11): IV set, a field out of range
   * (ms > 59999, minute > 59, hour > 23, day 0 or past the month's end, month 0 or > 12), or a step
   * larger than `maxClockStepMs` from the station time. Undefined when acceptable.
   */
  private clockSyncProblem(time: Cp56Time | undefined): string | undefined {
    if (!time || typeof time !== 'object') return 'no time tag';
    if (time.invalid) return 'time flagged invalid (IV=1)';
    const bad = cp56FieldProblems(time);
    if (bad.length > 0) return `time out of range: ${bad.map(([f, m]) => `${f} ${m}`).join(', ')}`;
    const t = cp56ToDate(time, this.settings.timeTags.utc).getTime();
    if (!Number.isFinite(t)) return 'time is not a valid date';
    const max = this.settings.maxClockStepMs;
    if (max !== undefined) {
      const step = t - this.data.now();
      if (Math.abs(step) > max) return `clock step of ${step} ms exceeds maxClockStepMs (${max} ms)`;
    }
    return undefined;
  }

  private resetProcess(req: Asdu, cas: number[], obj: InformationObject): void {
    const qrp = Number(obj.qrp);
    this.counters.resets++;
    for (const ca of cas) {
      const ok = qrp >= 1 && this.host.system.resetProcess(qrp, ca, this.id);
      this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, !ok, ca) });
    }
  }

  // ---- parameters

  private parameterMeasured(req: Asdu, obj: InformationObject): void {
    if (!this.data.db.get(req.ca, obj.ioa)) return this.negative(req, COT.UNKNOWN_IOA, `no point at IOA ${obj.ioa}`);
    this.counters.parameters++;
    const ok = this.host.system.parameter({ typeId: req.typeId, ca: req.ca, ioa: obj.ioa, value: Number(obj.value), kpa: Number(obj.kpa), sessionId: this.id });
    if (ok) this.data.db.parameters.set(`${req.ca}:${obj.ioa}:${Number(obj.kpa)}`, { typeId: req.typeId, value: Number(obj.value), kpa: Number(obj.kpa), lpc: obj.lpc === true, pop: obj.pop === true });
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, !ok) });
  }

  private parameterActivation(req: Asdu, obj: InformationObject): void {
    const qpa = Number(obj.qpa);
    if (!(qpa === 1 && obj.ioa === 0) && !this.data.db.get(req.ca, obj.ioa)) return this.negative(req, COT.UNKNOWN_IOA, `no point at IOA ${obj.ioa}`);
    this.counters.parameters++;
    const activate = req.cot === COT.ACTIVATION;
    const ok = qpa >= 1 && qpa <= 3 && this.host.system.parameter({ typeId: TypeId.P_AC_NA_1, ca: req.ca, ioa: obj.ioa, qpa, activate, sessionId: this.id });
    if (ok) this.data.db.activations.set(`${req.ca}:${obj.ioa}:${qpa}`, activate);
    this.reply({ asdu: mirrorAsdu(req, activate ? COT.ACTIVATION_CON : COT.DEACTIVATION_CON, !ok) });
  }

  // ---- process commands
  //
  // The pipeline is written as methods taking their state as arguments rather than closures made
  // per command: the command round trip is a benchmarked hot path, and (under tsx/esbuild with
  // keepNames) each named closure also costs a property definition. A synchronous handler result
  // is used synchronously: ACT_CON and ACT_TERM leave in the same turn as the request.

  private command(req: Asdu, obj: InformationObject): void {
    const cp = this.commands.commandPoint(req.ca, obj.ioa);
    if (!cp) {
      if (this.hooks?.confirmUnknownCommandObject) { // an injected test deviation (misbehave.ts)
        this.reply({ asdu: mirrorAsdu(req, req.cot === COT.DEACTIVATION ? COT.DEACTIVATION_CON : COT.ACTIVATION_CON, false) });
        if (req.cot === COT.ACTIVATION && obj.select !== true) this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_TERMINATION, false) });
        return;
      }
      return this.negative(req, COT.UNKNOWN_IOA, `no command object at IOA ${obj.ioa}`);
    }
    this.counters.commands++;
    const cmd = stationCommandFromObject(req.typeId, req.ca, obj, { sessionId: this.id, remote: this.remote, originator: req.originator });
    const key = `${req.ca}:${obj.ioa}`;
    if (req.cot === COT.DEACTIVATION) {
      const sel = this.commands.selection(key);
      const ex = this.executing.get(key);
      if (ex) {
        ex.cancelled = true;
        if (ex.timer) this.settings.clock.clearTimeout(ex.timer);
        this.executing.delete(key);
        this.log.log('info', 'station.command.cancelled', `execution of CA ${req.ca} IOA ${obj.ioa} cancelled by deactivation`, { ca: req.ca, ioa: obj.ioa });
        this.reply({ asdu: mirrorAsdu(req, COT.DEACTIVATION_CON, false) });
      } else if (sel && sel.sessionId === this.id) {
        this.commands.deselect(key);
        this.log.log('info', 'station.command.deselected', `CA ${req.ca} IOA ${obj.ioa} deselected`, { ca: req.ca, ioa: obj.ioa });
        this.reply({ asdu: mirrorAsdu(req, COT.DEACTIVATION_CON, false) });
      } else {
        this.refuseCommand(req, obj, cmd, 'nothing selected or executing to deactivate', COT.DEACTIVATION_CON);
      }
      return;
    }
    if (cp.type !== (untimedVariantOf(req.typeId) ?? req.typeId)) return this.refuseCommand(req, obj, cmd, `object takes ${typeName(cp.type)}`);
    if (typeof cmd.value === 'number' && !Number.isFinite(cmd.value) && !cp.allowNonFinite) {
      // issue 11: a NaN or infinite set-point is refused unless the object is configured to take it
      const why = `set-point value ${cmd.value} is not a finite number (allowNonFinite is off for this object)`;
      this.lifecycle.commandRefused?.(this, req, why);
      return this.refuseCommand(req, obj, cmd, why);
    }
    if (cmd.time !== undefined && !this.hooks?.skipCommandAgeCheck) { // (skipped only by an injected test deviation)
      const stale = staleReason(cmd.time, this.data.now(), this.settings.maxCommandAgeMs, this.settings.timeTags.utc);
      if (stale) return this.refuseCommand(req, obj, cmd, stale);
    }
    if (this.executing.has(key) || this.deciding.has(key)) return this.refuseCommand(req, obj, cmd, 'object busy (previous command still executing)');
    const sel = this.commands.selection(key);
    if (cmd.select) {
      if (cp.mode === 'direct') return this.refuseCommand(req, obj, cmd, 'object configured for direct execute only');
      if (sel && sel.sessionId !== this.id) return this.refuseCommand(req, obj, cmd, 'object selected by another connection');
    } else {
      if (sel) {
        if (sel.sessionId !== this.id) return this.refuseCommand(req, obj, cmd, 'object selected by another connection');
        this.commands.deselect(key);
        if (!sameCommand(sel.cmd, cmd)) return this.refuseCommand(req, obj, cmd, 'execute does not match the selected command (type, value, qualifier)');
      } else if (cp.mode === 'sbo' && cmd.kind !== 'bitstring' && !this.hooks?.skipSelectCheck) return this.refuseCommand(req, obj, cmd, 'object requires select before operate: no valid selection');
    }
    this.deciding.add(key);
    let r: CommandOutcome | undefined | Promise<CommandOutcome | undefined>;
    try {
      r = this.commands.decide(cmd, cp);
    } catch (e) {
      this.log.log('error', 'station.command.handler', `command handler threw: ${e instanceof Error ? e.message : String(e)}`, { error: e });
      r = { result: 'reject', reason: 'handler error' };
    }
    if (r instanceof Promise) {
      r.then(
        (o) => this.commandDecided(req, obj, cmd, cp, key, o),
        (e: unknown) => {
          this.log.log('error', 'station.command.handler', `command handler failed: ${e instanceof Error ? e.message : String(e)}`, { error: e });
          this.commandDecided(req, obj, cmd, cp, key, { result: 'reject', reason: 'handler error' });
        },
      );
    } else this.commandDecided(req, obj, cmd, cp, key, r);
  }

  /** Negative confirmation of a command (ACT_CON, or DEACT_CON for a deactivation). */
  private refuseCommand(req: Asdu, obj: InformationObject, cmd: StationCommand, why: string, cot: number = COT.ACTIVATION_CON): void {
    this.counters.commandsRejected++;
    this.lifecycle.commandRefused?.(this, req, why);
    this.log.log('info', 'station.command.refused', `${typeName(req.typeId)} CA ${req.ca} IOA ${obj.ioa} ${cmd.select ? 'select' : 'execute'} refused: ${why}`, { typeId: req.typeId, ca: req.ca, ioa: obj.ioa, select: cmd.select, reason: why });
    this.reply({ asdu: mirrorAsdu(req, cot, true) });
  }

  /** The handler (or the configured behaviour) decided on a command. */
  private commandDecided(req: Asdu, obj: InformationObject, cmd: StationCommand, cp: CommandPoint, key: string, outcome: CommandOutcome | undefined): void {
    this.deciding.delete(key);
    const o = outcome ?? behaviourOutcome(cp.behaviour);
    if (this.closed) return;
    if (o.result !== 'accept') {
      this.refuseCommand(req, obj, cmd, o.reason ?? 'rejected by handler');
      this.pump();
      return;
    }
    if (cmd.select) {
      this.commands.select(key, cmd, this.id);
      if (this.logOn) this.log.log('info', 'station.command.selected', `${typeName(req.typeId)} CA ${req.ca} IOA ${obj.ioa} selected`, { ca: req.ca, ioa: obj.ioa, value: cmd.value });
      this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, false) });
      this.pump();
      return;
    }
    if (this.logOn) this.log.log('info', 'station.command.executed', `${typeName(req.typeId)} CA ${req.ca} IOA ${obj.ioa} executing`, { ca: req.ca, ioa: obj.ioa, value: cmd.value, delayMs: o.delayMs ?? 0 });
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_CON, false) });
    const ex: Execution = { timer: undefined, cancelled: false };
    this.executing.set(key, ex);
    const delay = o.delayMs ?? 0;
    if (delay > 0) ex.timer = this.settings.clock.setTimeout(() => this.commandExecuted(req, cmd, o, key, ex), delay);
    else this.commandExecuted(req, cmd, o, key, ex);
    this.pump();
  }

  /** Execution time over: feedback update, then ACT_TERM (after the feedback event). */
  private commandExecuted(req: Asdu, cmd: StationCommand, o: CommandOutcome & { result: 'accept' }, key: string, ex: Execution): void {
    if (ex.cancelled) return;
    this.executing.delete(key);
    this.commands.applyFeedback(cmd, o);
    if (this.closed) return;
    this.reply({ asdu: mirrorAsdu(req, COT.ACTIVATION_TERMINATION, false), barrier: this.queue.lastSeq });
    this.pump();
  }
}
