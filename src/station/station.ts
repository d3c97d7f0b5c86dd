/**
 * The controlled station (RTU/IED, TCP server side of IEC 60870-5-104): a point database, a
 * shared event queue, command objects with select-before-operate, and one {@link StationSession}
 * per connection.
 *
 * Events go to one connection at a time: the most recently started one (`servesEvents`). When it
 * stops or closes, the next started connection (if any) takes over, and events it never got
 * acknowledged are sent again first. This is the behaviour of one redundancy group.
 */
import type { Asdu } from '../codec/asdu.js';
import { COT } from '../codec/cause.js';
import { type CodecOptions, resolveOptions } from '../codec/options.js';
import { cp56ToDate, type Cp56Time } from '../codec/time.js';
import { typeInfo, typeName } from '../codec/type-table.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { Link } from '../link/link.js';
import { resolveLinkParameters } from '../link/params.js';
import type { LinkCloseReason, LinkEvents, LinkOptions, LinkParameters } from '../link/types.js';
import { type Logger, nullLogger } from '../log.js';
import { listenTcp, type TcpLinkServer } from '../transport/tcp-link.js';
import {
  type CommandHandler, commandKindOf, type CommandOutcome, type CommandPoint, type CommandPointConfig, feedbackValue, type StationCommand,
} from './commands.js';
import { EventQueue, type EventQueueStats, type OverflowPolicy, type StationEvent } from './event-queue.js';
import { type StationPoint, type PointConfig, PointDatabase, PointError, pointObject, type PointQuality, type StationPointValue, type TimeTagOptions } from './point-database.js';
import { type ClockSyncRequest, type ParameterRequest, type SessionHost, StationSession, type SessionSnapshot, type StationLink } from './session.js';

/** A link machine as the station drives it: `Link` satisfies it. */
export interface StationLinkMachine extends StationLink {
  /** The transport connected. */
  open(): void;
  /** Bytes from the transport. */
  receive(bytes: Uint8Array): void;
  /** The transport ended. */
  transportClosed(message?: string): void;
}

/** Makes the link machine of a new connection (default: `new Link(options, events)`). */
export type LinkFactory = (options: LinkOptions, events: LinkEvents) => StationLinkMachine;

/** When M_EI_NA_1 (end of initialisation) is sent. */
export type EndOfInitializationMode =
  /** once per station start: queued as an event (one per CA), delivered after the first STARTDT (default) */
  | 'station'
  /** at the start of every connection's first data transfer */
  | 'connection'
  | 'none';

/** Options of {@link createStation}. */
export interface StationOptions {
  /** Common addresses served (those of `points` and `commands` are added). */
  commonAddresses?: number[];
  points?: PointConfig[];
  commands?: CommandPointConfig[];
  /** Timers (default: the system clock). */
  clock?: Clock;
  /** Wall time in ms since the epoch, for time tags (default `Date.now`). Clock synchronisation adds an offset to it. */
  time?: () => number;
  /** Time tags in UTC (default true) or local time. */
  utc?: boolean;
  logger?: Logger;
  /** APCI parameters k, w, t0..t3. */
  link?: Partial<LinkParameters>;
  /** Field widths (default IEC 104: COT 2, CA 2, IOA 3). */
  codec?: Partial<CodecOptions>;
  /** Event queue bound and overflow policy (default 10 000, `drop-oldest`). */
  eventQueue?: { capacity?: number; overflow?: OverflowPolicy };
  /** Period of cyclic transmission (COT 1) of `cyclic` points; 0 = off. Default 10 000 ms. */
  cyclicPeriodMs?: number;
  /** Period of the background scan (COT 2) of `background` points; 0 = off (default). */
  backgroundPeriodMs?: number;
  /** A selection (SBO) expires after this time without execute. Default 10 000 ms. */
  selectTimeoutMs?: number;
  /** Time-tagged commands older (or further in the future) than this are refused. Default 10 000 ms. */
  maxCommandAgeMs?: number;
  /** Default `station`. */
  endOfInitialization?: EndOfInitializationMode;
  /** COI cause sent in M_EI_NA_1: 0 power on (default), 1 local reset, 2 remote reset. */
  initializationCause?: number;
  /** Shortest run of contiguous IOAs sent as SQ=1 (see `packObjects`). */
  sqMinRun?: number;
  /** Decides on commands; undefined result → the object's configured behaviour. */
  onCommand?: CommandHandler;
  /** Clock synchronisation: return false to refuse (negative ACT_CON). By default accepted and applied to the station time. */
  onClockSync?: (req: ClockSyncRequest) => boolean | void;
  /** Reset process command (QRP 1 general, 2 pending time-tagged information): return false to refuse. */
  onResetProcess?: (qrp: number, ca: number) => boolean | void;
  /** Parameter commands P_ME_NA/NB/NC_1, P_AC_NA_1: return false to refuse. Accepted ones are stored in `db.parameters` / `db.activations`. */
  onParameter?: (req: ParameterRequest) => boolean | void;
  /** Link machine factory (tests inject fakes). */
  linkFactory?: LinkFactory;
  /** Most simultaneous connections accepted by `listen` (default 8). */
  maxConnections?: number;
}

/** Options of {@link ControlledStation.update}. */
export interface UpdateOptions {
  quality?: PointQuality;
  /** Time of the change: ms since the epoch, a Date or a CP56Time2a (default: station time now). */
  time?: number | Date | Cp56Time;
  /** Cause of transmission of the event (default 3 spontaneous; 11/12 return information). */
  cause?: number;
  /** Raise an event (default: the point's `spontaneous` setting). */
  event?: boolean;
}

/** A byte transport for {@link ControlledStation.attach}. */
export interface StationTransport {
  write(bytes: Uint8Array): void;
  /** Close the transport (called once, after the link closed). */
  end(): void;
  /** Remote address for logs and snapshots. */
  remote?: string;
}

/** An attached connection: feed it the transport's bytes and its end. */
export interface StationConnection {
  readonly session: StationSession;
  receive(bytes: Uint8Array): void;
  transportClosed(message?: string): void;
}

/** Station-wide observability. */
export interface StationStats {
  commonAddresses: number[];
  points: number;
  commandObjects: number;
  selections: number;
  queue: EventQueueStats;
  sessions: SessionSnapshot[];
  /** Connections opened since the station started. */
  connectionsAccepted: number;
}

/** Thrown for misuse of the station API (bad config, unknown point). */
export class StationError extends Error {
  override readonly name = 'StationError';
}

/**
 * A controlled station.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { createStation } from 'iec104';
 * const station = createStation({ points: [{ ca: 1, ioa: 100, type: 1 }], endOfInitialization: 'none' });
 * const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
 * assert.ok(port > 0);
 * station.update(1, 100, true); // queued as a spontaneous M_SP_TB_1 (COT 3) until a master starts data transfer
 * assert.equal(station.queue.pending, 1);
 * await station.close();
 * ```
 */
export class ControlledStation implements SessionHost {
  readonly db: PointDatabase;
  readonly queue: EventQueue;
  readonly clock: Clock;
  readonly codec: CodecOptions;
  readonly timeTags: TimeTagOptions;
  readonly sqMinRun: number | undefined;
  readonly selectTimeoutMs: number;
  readonly maxCommandAgeMs: number;
  readonly linkParameters: Readonly<LinkParameters>;
  private readonly opts: StationOptions;
  private readonly log: Logger;
  private readonly wall: () => number;
  private clockOffset = 0;
  private readonly commandPoints = new Map<string, CommandPoint>();
  private readonly selections = new Map<string, { cmd: StationCommand; sessionId: number; timer: TimerHandle }>();
  private readonly connections = new Set<StationSession>();
  private consumer: StationSession | undefined;
  private sessionSeq = 0;
  private cyclicTimer: TimerHandle | undefined;
  private backgroundTimer: TimerHandle | undefined;
  private server: TcpLinkServer | undefined;
  private closed = false;
  private accepted = 0;

  constructor(options: StationOptions = {}) {
    this.opts = options;
    this.log = options.logger ?? nullLogger;
    this.clock = options.clock ?? systemClock;
    this.wall = options.time ?? Date.now;
    this.codec = resolveOptions(options.codec);
    this.linkParameters = resolveLinkParameters(options.link);
    this.timeTags = { utc: options.utc ?? true };
    this.sqMinRun = options.sqMinRun;
    this.selectTimeoutMs = nonNegative(options.selectTimeoutMs ?? 10_000, 'selectTimeoutMs');
    this.maxCommandAgeMs = nonNegative(options.maxCommandAgeMs ?? 10_000, 'maxCommandAgeMs');
    this.queue = new EventQueue({ ...options.eventQueue, logger: this.log.child({ component: 'event-queue' }) });
    this.db = new PointDatabase(this.now());
    for (const ca of options.commonAddresses ?? []) this.wrap(() => this.db.addCommonAddress(ca), `commonAddresses: ${ca}`);
    (options.points ?? []).forEach((p, i) => this.wrap(() => this.db.add(p), `points[${i}] (CA ${p.ca} IOA ${p.ioa})`));
    (options.commands ?? []).forEach((c, i) => this.wrap(() => this.addCommand(c), `commands[${i}] (CA ${c.ca} IOA ${c.ioa})`));
    if ((options.endOfInitialization ?? 'station') === 'station') this.raiseEndOfInitialization(options.initializationCause ?? 0);
    const cyc = nonNegative(options.cyclicPeriodMs ?? 10_000, 'cyclicPeriodMs');
    if (cyc > 0 && this.db.points().some((p) => p.cyclic)) this.armCyclic(cyc);
    const bg = nonNegative(options.backgroundPeriodMs ?? 0, 'backgroundPeriodMs');
    if (bg > 0) this.armBackground(bg);
  }

  private wrap(f: () => void, where: string): void {
    try {
      f();
    } catch (e) {
      throw new StationError(`${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private addCommand(c: CommandPointConfig): void {
    const kind = commandKindOf(c.type);
    if (!kind) throw new StationError(`type ${typeName(c.type)} is not a process command type (45..51, 58..64)`);
    if (!Number.isInteger(c.ioa) || c.ioa < 1 || c.ioa > 0xffffff) throw new StationError(`ioa must be an integer 1..16777215, got ${JSON.stringify(c.ioa)}`);
    this.db.addCommonAddress(c.ca);
    const key = `${c.ca}:${c.ioa}`;
    if (this.commandPoints.has(key)) throw new StationError('duplicate command object');
    const mode = kind === 'bitstring' ? 'direct' : (c.mode ?? 'both');
    if (mode !== 'direct' && mode !== 'sbo' && mode !== 'both') throw new StationError(`mode must be direct, sbo or both, got ${JSON.stringify(c.mode)}`);
    const fb = c.behaviour?.feedback;
    if (fb && !this.db.get(fb.ca ?? c.ca, fb.ioa)) throw new StationError(`feedback point CA ${fb.ca ?? c.ca} IOA ${fb.ioa} is not configured`);
    this.commandPoints.set(key, { ca: c.ca, ioa: c.ioa, kind, type: c.type >= 58 ? c.type - 13 : c.type, mode, name: c.name, behaviour: { ...c.behaviour } });
  }

  // ------------------------------------------------------------------------------------------
  // public API

  /** Station time: wall time plus the offset set by clock synchronisation (ms since the epoch). */
  now(): number {
    return this.wall() + this.clockOffset;
  }

  /** The point at (ca, ioa). */
  point(ca: number, ioa: number): StationPoint | undefined {
    return this.db.get(ca, ioa);
  }

  /** The command object at (ca, ioa). */
  commandPoint(ca: number, ioa: number): CommandPoint | undefined {
    return this.commandPoints.get(`${ca}:${ioa}`);
  }

  /** Configured command objects. */
  commandObjects(): CommandPoint[] {
    return [...this.commandPoints.values()];
  }

  /**
   * Record a new value of a point and (by default) raise a spontaneous event with the point's
   * event type. Returns the queued event, or undefined when none was raised (or it was dropped by
   * a full `drop-newest` queue). Throws {@link StationError} for an unknown point, a value of the
   * wrong kind, or a cause the event type does not allow.
   */
  update(ca: number, ioa: number, value: StationPointValue, o: UpdateOptions = {}): StationEvent | undefined {
    const p = this.db.get(ca, ioa);
    if (!p) throw new StationError(`no point at CA ${ca} IOA ${ioa}`);
    const time = o.time === undefined ? this.now() : o.time instanceof Date ? o.time.getTime() : typeof o.time === 'number' ? o.time : cp56ToDate(o.time, this.timeTags.utc).getTime();
    const cause = o.cause ?? COT.SPONTANEOUS;
    const raise = o.event ?? p.spontaneous;
    if (raise && !typeInfo(p.eventType)!.causes.has(cause)) throw new StationError(`cause ${cause} is not allowed for ${typeName(p.eventType)} (CA ${ca} IOA ${ioa})`);
    try {
      this.db.record(p, { value, quality: o.quality, time });
    } catch (e) {
      throw new StationError(`CA ${ca} IOA ${ioa}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!raise) return undefined;
    return this.raise({ ca, typeId: p.eventType, cot: cause, object: pointObject(p, p.eventType, this.timeTags) });
  }

  /** Queue an arbitrary monitor ASDU object as an event (for types without points). */
  raise(e: { ca: number; typeId: number; cot: number; object: Asdu['objects'][number] }): StationEvent | undefined {
    const ev = this.queue.push(e);
    this.consumer?.pump();
    return ev;
  }

  /** Queue M_EI_NA_1 (end of initialisation) for every common address. */
  raiseEndOfInitialization(cause = 0, localChange = false): void {
    for (const ca of this.db.commonAddresses()) this.raise({ ca, typeId: 70, cot: COT.INITIALIZED, object: { ioa: 0, cause, localChange } });
  }

  /** Live connections. */
  sessions(): StationSession[] {
    return [...this.connections];
  }

  /** Observability snapshot. */
  stats(): StationStats {
    return {
      commonAddresses: this.db.commonAddresses(),
      points: this.db.size,
      commandObjects: this.commandPoints.size,
      selections: this.selections.size,
      queue: this.queue.stats(),
      sessions: this.sessions().map((s) => s.snapshot()),
      connectionsAccepted: this.accepted,
    };
  }

  /** A new session and the link events that drive it (all but `write`). */
  private newSession(remote: string | undefined): { session: StationSession; events: Omit<LinkEvents, 'write'>; log: Logger } {
    if (this.closed) throw new StationError('station is closed');
    const id = ++this.sessionSeq;
    const log = this.log.child({ conn: id, ...(remote ? { remote } : {}) });
    const session = new StationSession(id, this, log, remote);
    this.connections.add(session);
    this.accepted++;
    log.log('info', 'station.session.open', `connection ${id} opened${remote ? ` from ${remote}` : ''}`, {});
    return {
      session,
      log,
      events: {
        asdu: (a) => session.onAsdu(a),
        acknowledged: (tags) => session.onAcknowledged(tags),
        stateChange: (st, prev) => session.onStateChange(st, prev),
        drain: () => session.onDrain(),
        close: (reason, unacked) => session.onClose(reason, unacked),
      },
    };
  }

  private linkOptions(log: Logger): LinkOptions {
    return { role: 'controlled', params: this.linkParameters, clock: this.clock, codec: this.codec, logger: log.child({ component: 'link' }) };
  }

  /**
   * Attach a connected byte transport (in-memory pairs, custom transports): creates the link
   * machine (controlled role, through `linkFactory`) and the session. Feed received bytes to
   * `receive` and the transport's end to `transportClosed`; the station calls `transport.end()`
   * once when the link closes.
   */
  attach(transport: StationTransport): StationConnection {
    const { session, events, log } = this.newSession(transport.remote);
    let ended = false;
    const factory = this.opts.linkFactory ?? ((o: LinkOptions, e: LinkEvents) => new Link(o, e));
    const link = factory(this.linkOptions(log), {
      ...events,
      write: (b) => {
        if (!ended) transport.write(b);
      },
      close: (reason, unacked) => {
        session.onClose(reason, unacked);
        if (!ended) {
          ended = true;
          transport.end();
        }
      },
    });
    session.bind(link);
    link.open();
    return {
      session,
      receive: (b) => link.receive(b),
      transportClosed: (m) => link.transportClosed(m),
    };
  }

  /**
   * Listen for TCP connections on the TCP adapter (`listenTcp`; default port 2404, all
   * interfaces). Resolves with the bound port. Connections beyond `maxConnections` are refused.
   */
  async listen(o: { host?: string; port?: number } = {}): Promise<{ host: string | undefined; port: number }> {
    if (this.server) throw new StationError('already listening');
    if (this.closed) throw new StationError('station is closed');
    const srv = await listenTcp(
      { host: o.host, port: o.port ?? 2404, link: this.linkOptions(this.log), maxConnections: this.opts.maxConnections ?? 8, logger: this.log.child({ component: 'tcp' }) },
      (conn) => {
        const { session, events, log } = this.newSession(`${conn.remoteAddress}:${conn.remotePort}`);
        const link = conn.bind(events, { logger: log.child({ component: 'link' }) });
        session.bind(link);
      },
    );
    this.server = srv;
    this.log.log('info', 'station.listening', `listening on ${o.host ?? '*'}:${srv.port}`, { host: o.host, port: srv.port });
    return { host: o.host, port: srv.port };
  }

  /** Stop listening, close every connection, stop timers. */
  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.cyclicTimer);
    this.clock.clearTimeout(this.backgroundTimer);
    for (const s of this.selections.values()) this.clock.clearTimeout(s.timer);
    this.selections.clear();
    for (const s of [...this.connections]) s.close('station closing');
    const server = this.server;
    this.server = undefined;
    if (server) await server.close();
  }

  // ------------------------------------------------------------------------------------------
  // SessionHost

  /** @internal */
  decide(cmd: StationCommand, cp: CommandPoint): CommandOutcome | undefined | Promise<CommandOutcome | undefined> {
    return this.opts.onCommand?.(cmd, cp);
  }

  /** @internal */
  applyFeedback(cmd: StationCommand, outcome: CommandOutcome & { result: 'accept' }): void {
    const fb = outcome.feedback;
    if (!fb) return;
    const ca = fb.ca ?? cmd.ca;
    const p = this.db.get(ca, fb.ioa);
    if (!p) {
      this.log.log('warn', 'station.feedback.unknown', `feedback point CA ${ca} IOA ${fb.ioa} does not exist`, { ca, ioa: fb.ioa });
      return;
    }
    try {
      const v = feedbackValue(cmd, fb, p);
      const cause = typeInfo(p.eventType)!.causes.has(COT.RETURN_REMOTE) ? COT.RETURN_REMOTE : COT.SPONTANEOUS;
      this.update(ca, fb.ioa, v, { cause, quality: fb.quality, event: true });
    } catch (e) {
      this.log.log('warn', 'station.feedback.failed', `feedback of CA ${ca} IOA ${fb.ioa} failed: ${e instanceof Error ? e.message : String(e)}`, { ca, ioa: fb.ioa });
    }
  }

  /** @internal */
  clockSync(req: ClockSyncRequest): boolean {
    const r = this.opts.onClockSync?.(req);
    if (r === false) return false;
    this.clockOffset = req.date.getTime() - this.wall();
    return true;
  }

  /** @internal */
  resetProcess(qrp: number, ca: number): boolean {
    const r = this.opts.onResetProcess?.(qrp, ca);
    if (r === false) return false;
    if (qrp === 2) {
      const n = this.queue.discard((e) => e.ca === ca && typeInfo(e.typeId)?.timeTag !== 'none');
      this.log.log('info', 'station.reset.pending', `reset of pending time-tagged information: ${n} event(s) discarded`, { ca, discarded: n });
    }
    return true;
  }

  /** @internal */
  parameter(req: ParameterRequest): boolean {
    return this.opts.onParameter?.(req) !== false;
  }

  /** @internal */
  selection(key: string): { cmd: StationCommand; sessionId: number } | undefined {
    return this.selections.get(key);
  }

  /** @internal */
  select(key: string, cmd: StationCommand, sessionId: number): void {
    this.deselect(key);
    const timer = this.clock.setTimeout(() => {
      if (this.selections.get(key)?.timer === timer) {
        this.selections.delete(key);
        this.log.log('info', 'station.command.select_timeout', `selection of CA ${cmd.ca} IOA ${cmd.ioa} expired after ${this.selectTimeoutMs} ms`, { ca: cmd.ca, ioa: cmd.ioa });
      }
    }, this.selectTimeoutMs);
    this.selections.set(key, { cmd, sessionId, timer });
  }

  /** @internal */
  deselect(key: string): boolean {
    const s = this.selections.get(key);
    if (!s) return false;
    this.clock.clearTimeout(s.timer);
    this.selections.delete(key);
    return true;
  }

  /** @internal */
  servesEvents(s: StationSession): boolean {
    return this.consumer === s;
  }

  /** @internal */
  sessionStarted(s: StationSession): void {
    if (this.consumer !== s) {
      if (this.consumer) this.log.log('info', 'station.events.takeover', `connection ${s.id} takes over event transmission from connection ${this.consumer.id}`, { from: this.consumer.id, to: s.id });
      this.consumer = s;
      // events still unacknowledged on the previous connection (e.g. one that died silently) go first
      this.queue.requeueInFlight();
    }
  }

  /** @internal */
  sessionStopped(s: StationSession): void {
    if (this.consumer === s) this.handOver(s);
  }

  /** @internal */
  sessionClosed(s: StationSession, _reason: LinkCloseReason): void {
    this.connections.delete(s);
    for (const [k, sel] of this.selections) {
      if (sel.sessionId === s.id) {
        this.clock.clearTimeout(sel.timer);
        this.selections.delete(k);
      }
    }
    if (this.consumer === s) this.handOver(s);
  }

  private handOver(from: StationSession): void {
    const next = [...this.connections].reverse().find((x) => x !== from && x.isStarted && !x.isClosed);
    this.consumer = next;
    if (next) this.queue.requeueInFlight();
    next?.pump();
  }

  /** @internal */
  endOfInitializationPerConnection(): { cause: number; localChange: boolean } | undefined {
    return this.opts.endOfInitialization === 'connection' ? { cause: this.opts.initializationCause ?? 0, localChange: false } : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // cyclic and background

  private armCyclic(period: number): void {
    this.cyclicTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.transmitPeriodic(COT.PERIODIC, (p) => p.cyclic);
      this.armCyclic(period);
    }, period);
  }

  private armBackground(period: number): void {
    this.backgroundTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.transmitPeriodic(COT.BACKGROUND, (p) => p.background);
      this.armBackground(period);
    }, period);
  }

  private transmitPeriodic(cot: number, pick: (p: StationPoint) => boolean): void {
    for (const s of this.connections) {
      if (!s.isStarted) continue;
      const asdus: Asdu[] = [];
      for (const ca of this.db.commonAddresses()) asdus.push(...s.pack(this.db.points(ca).filter(pick), cot, ca));
      if (asdus.length > 0 && !s.queueBackground(asdus)) this.log.log('debug', 'station.periodic.skipped', `connection ${s.id}: previous ${cot === COT.PERIODIC ? 'cyclic' : 'background'} data still queued, cycle skipped`, { conn: s.id });
    }
  }
}

function nonNegative(v: number, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new StationError(`${name} must be a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

/** Create a controlled station. Throws {@link StationError} naming the bad point or option. */
export function createStation(options: StationOptions = {}): ControlledStation {
  return new ControlledStation(options);
}


