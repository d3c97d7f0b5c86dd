/**
 * The controlled station (RTU/IED, TCP server side of IEC 60870-5-104): a point database, a
 * shared event queue, command objects with select-before-operate, and one {@link StationSession}
 * per connection.
 *
 * Events are queued per redundancy group (`redundancy`: one group by default, one per connection,
 * or groups by client address; see `redundancy-group.ts`). Within a group, events go to one
 * connection at a time: the most recently started one (`servesEvents`). When it stops or closes,
 * the next started connection of the group (if any) takes over, and events it never got
 * acknowledged are sent again first.
 */
import type { Asdu } from '../codec/asdu.js';
import { COT } from '../codec/cause.js';
import { type CodecOptions, resolveOptions } from '../codec/options.js';
import { cp56ToDate, type Cp56Time } from '../codec/time.js';
import { TypeId, typeInfo, typeName, untimedVariantOf } from '../codec/type-table.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { Link } from '../link/link.js';
import { resolveLinkParameters } from '../link/params.js';
import type { LinkCloseReason, LinkEvents, LinkOptions, LinkParameters } from '../link/types.js';
import { type Logger, nullLogger } from '../log.js';
import { listenTcp, type TcpLinkServer } from '../transport/tcp-link.js';
import type { AuditLog } from '../transport/audit-log.js';
import { type ConnectionEndpoints, type ConnectionTls, type PeerCertificateInfo, type SecurityEvent, SecurityEvents } from '../transport/security-events.js';
import { normalizeAddress } from '../transport/access-control.js';
import { DEFAULT_TLS_PORT, type TlsConfig } from '../transport/tls-config.js';
import { TlsSecurity } from '../transport/tls-verify.js';
import { type AccessGrant, AccessRoles, type DefaultRole, identityOf, type PeerIdentity, type RoleRule } from './access-roles.js';
import { CommandAuditTrail } from './command-audit.js';
import { type BudgetExceeded, defaultConnectionBudget } from './budget.js';
import { activeMisbehaviours, misbehaviourHooks, type StationMisbehaviour, type StationTestHooks } from './misbehave.js';
import {
  type CommandHandler, commandKindOf, type CommandOutcome, type CommandPoint, type CommandPointConfig, feedbackValue, type StationCommand,
} from './commands.js';
import { EventQueue, type EventQueueStats, type OverflowPolicy, type StationEvent } from './event-queue.js';
import { type StationPoint, type PointConfig, PointDatabase, pointObject, type PointQuality, type StationPointValue, type TimeTagOptions } from './point-database.js';
import { type RedundancyOptions, type RedundancyStats, RedundancyConfigError, StationRedundancy, type StationRedundancyGroup } from './redundancy-group.js';
import { type ClockSyncRequest, type ParameterRequest, type SessionHost, StationSession, type SessionSnapshot, type StationLink } from './session.js';
import { FileService, type StationFileOptions } from './file-service.js';

export {
  CATCH_ALL_GROUP, RedundancyConfigError, type RedundancyGroupConfig, type RedundancyGroupStats, type RedundancyMember, type RedundancyMode, type RedundancyOptions,
  type RedundancyStats, StationRedundancy, StationRedundancyGroup, type StationRedundancyOptions, validateRedundancy,
} from './redundancy-group.js';

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
  /** Event queue bound and overflow policy (default 10 000, `drop-oldest`); with several redundancy groups, of each group's queue. */
  eventQueue?: { capacity?: number; overflow?: OverflowPolicy };
  /**
   * Redundancy groups (default `{ mode: 'single' }`: one group, one queue kept while nobody is
   * connected). `per-connection`: every connection has its own queue and receives every event
   * raised while it is open. `groups`: named groups by client address, each with its own queue.
   * See `docs/station.md` (Redundancy).
   */
  redundancy?: RedundancyOptions;
  /** Period of cyclic transmission (COT 1) of `cyclic` points; 0 = off. Default 10 000 ms. */
  cyclicPeriodMs?: number;
  /** Period of the background scan (COT 2) of `background` points; 0 = off (default). */
  backgroundPeriodMs?: number;
  /** A selection (SBO) expires after this time without execute. Default 10 000 ms. */
  selectTimeoutMs?: number;
  /** Time-tagged commands older (or further in the future) than this are refused. Default 10 000 ms. */
  maxCommandAgeMs?: number;
  /** Default `station` (`connection` with `redundancy: { mode: 'per-connection' }`, whose queues do not exist before a connection does). */
  endOfInitialization?: EndOfInitializationMode;
  /** COI cause sent in M_EI_NA_1: 0 power on (default), 1 local reset, 2 remote reset. */
  initializationCause?: number;
  /** Shortest run of contiguous IOAs sent as SQ=1 (see `packObjects`). */
  sqMinRun?: number;
  /** Decides on commands; undefined result → the object's configured behaviour. */
  onCommand?: CommandHandler;
  /**
   * Largest step (ms, forwards or backwards from the station time) a clock synchronisation may
   * make; a larger one gets a negative ACT_CON with the reason in the log and audit. Default: no
   * limit. (IV=1 and out-of-range fields are always refused.)
   */
  maxClockStepMs?: number;
  /** Clock synchronisation: return false to refuse (negative ACT_CON). By default accepted and applied to the station time. */
  onClockSync?: (req: ClockSyncRequest) => boolean | void;
  /** Reset process command (QRP 1 general, 2 pending time-tagged information): return false to refuse. */
  onResetProcess?: (qrp: number, ca: number) => boolean | void;
  /** Parameter commands P_ME_NA/NB/NC_1, P_AC_NA_1: return false to refuse. Accepted ones are stored in `db.parameters` / `db.activations`. */
  onParameter?: (req: ParameterRequest) => boolean | void;
  /** Link machine factory (tests inject fakes). */
  linkFactory?: LinkFactory;
  /**
   * Most simultaneous started connections accepted by `listen` (default 8; per listener). Connections
   * that have not started (or, on TLS, not authenticated) use a separate pending pool (see
   * {@link StationListenOptions.maxPending}).
   */
  maxConnections?: number;
  /**
   * Memory budget of each connection's queued answers (estimated bytes, see `budget.ts`): a
   * connection that asks for more than it acknowledges (interrogation floods, no reading) is closed
   * with `E_BUFFER_LIMIT` and a security/audit record `E_ACCESS_BUDGET` when its queues exceed it.
   * Listeners also use it as the socket write-buffer limit. Default: 4 MiB, or room for four full
   * interrogations of every point when that is more.
   */
  connectionBudget?: number;
  /**
   * Per-client roles (first match wins; see `access-roles.ts`). With `roles` or `defaultRole`,
   * every request is checked; without both, every master has the `control` role.
   */
  roles?: readonly RoleRule[];
  /** Role of a master no rule matches (default `monitor` when `roles` is given). */
  defaultRole?: DefaultRole;
  /** Audit log of every command received (listeners without their own `audit` use it for connections too). */
  audit?: AuditLog;
  /**
   * TEST-ONLY. Deliberate protocol violations (ignore select, no ACT_TERM, slow acknowledgements,
   * stale or unknown-IOA commands accepted, no ACT_CON) so that the validation suites can be shown
   * to catch them (see `misbehave.ts`, docs/station.md). Logged as a warning at creation. Never
   * set it on a station that operates anything.
   */
  misbehave?: StationMisbehaviour;
  /**
   * A test seam (link parameters, receive delay, session deviations); `misbehave` builds one.
   * @internal
   */
  testHooks?: StationTestHooks;
  /** File transfer: a provider of files to download and/or a receiver of uploads (see `file-service.ts`, docs/files.md). */
  files?: StationFileOptions;
}

/** Options of {@link ControlledStation.listen}: one listener. */
export interface StationListenOptions {
  /** Listen address (default all interfaces). */
  host?: string;
  /** Port (default 2404, 19998 with `tls`; 0 = any free port). */
  port?: number;
  /** Mutual TLS (IEC 62351-3): a {@link TlsConfig} or a shared {@link TlsSecurity}. */
  tls?: TlsConfig | TlsSecurity;
  /** Watch the CRL files of `tls` and reload them on change while listening (default true). */
  watchCrl?: boolean;
  /** Source-address allow-list (CIDR); others are refused at accept (`E_ACCESS_SOURCE`). */
  allow?: readonly string[];
  /**
   * Most simultaneous started (plain TCP) or authenticated (TLS) connections on this listener
   * (default: the station's `maxConnections`, 8). Connections not started or authenticated yet use
   * the separate pending pool (`maxPending`), from which the oldest is evicted for a new peer.
   */
  maxConnections?: number;
  /** Pending slots (not yet started / authenticated). Default: half of `maxConnections` rounded up (4 of 8). */
  maxPending?: number;
  /** Pending slots one source address may hold. Default: half of `maxPending` rounded up (2 of 4). */
  maxPendingPerSource?: number;
  /** Close a connection without STARTDT within this time (ms; default t0, also on plain TCP; 0 = off). */
  startTimeout?: number;
  /** Audit log of connections, STARTDT/STOPDT and commands of this listener (default: the station's `audit`). */
  audit?: AuditLog;
}

/** A listener of {@link ControlledStation.listen}. */
export interface StationListener {
  host: string | undefined;
  /** The bound port. */
  port: number;
  /** Whether it speaks TLS. */
  tls: boolean;
  /** Refusals of this listener (shared with the station's `security` events). */
  readonly server: TcpLinkServer;
  /** Stop this listener and close its connections. */
  close(): Promise<void>;
}

/** Access state of one connection. */
interface SessionAccess {
  identity: PeerIdentity;
  peer?: PeerCertificateInfo;
  grant?: AccessGrant;
  trail?: CommandAuditTrail;
  localPort: number;
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
  /** Counters of the event queues, summed over the redundancy groups (with one group: its queue's). */
  queue: EventQueueStats;
  /** Mode, and per group: queue depth and counters (overflow included), connections, the active one. */
  redundancy: RedundancyStats;
  sessions: SessionSnapshot[];
  /** Connections opened since the station started. */
  connectionsAccepted: number;
}

/** Thrown for misuse of the station API (bad config, unknown point). */
export class StationError extends Error {
  override readonly name = 'StationError';
  /** Stable code for programs. */
  readonly code = 'E_STATION_USAGE' as const;
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
export class ControlledStation {
  readonly db: PointDatabase;
  /**
   * The event queue of the single redundancy group (mode `single`); with `groups`, the first
   * group's; with `per-connection`, a queue no event enters (see {@link redundancy}).
   */
  readonly queue: EventQueue;
  /** Redundancy groups: their queues, connections and active connections. */
  readonly redundancy: StationRedundancy;
  readonly clock: Clock;
  readonly codec: CodecOptions;
  readonly timeTags: TimeTagOptions;
  readonly sqMinRun: number | undefined;
  readonly selectTimeoutMs: number;
  readonly maxCommandAgeMs: number;
  /** See {@link StationOptions.maxClockStepMs}. */
  readonly maxClockStepMs: number | undefined;
  readonly linkParameters: Readonly<LinkParameters>;
  /** TEST-ONLY misbehaviour flags (undefined for a correct station, also when every flag is false). */
  readonly misbehave: StationMisbehaviour | undefined;
  private readonly opts: StationOptions;
  /** What every session of this station uses (session.ts: small parts, one job each). */
  private readonly sessionHost: SessionHost;
  /** The injected test seam (misbehave.ts), undefined for a correct station. */
  private readonly testHooks: StationTestHooks | undefined;
  private readonly log: Logger;
  private readonly wall: () => number;
  private clockOffset = 0;
  private readonly commandPoints = new Map<string, CommandPoint>();
  private readonly selections = new Map<string, { cmd: StationCommand; sessionId: number; timer: TimerHandle }>();
  private readonly connections = new Set<StationSession>();
  private readonly groupOf = new Map<StationSession, StationRedundancyGroup>();
  private readonly eiMode: EndOfInitializationMode;
  private sessionSeq = 0;
  private cyclicTimer: TimerHandle | undefined;
  private backgroundTimer: TimerHandle | undefined;
  private readonly listeners = new Set<StationListener>();
  private readonly roles: AccessRoles | undefined;
  private readonly access = new Map<StationSession, SessionAccess>();
  /** Endpoints and audit log of the connections accepted by a listener (for budget records). */
  private readonly endpoints = new Map<StationSession, { ep: ConnectionEndpoints; audit?: AuditLog; peer?: PeerCertificateInfo; tls?: ConnectionTls }>();
  /** See {@link StationOptions.connectionBudget}. */
  readonly connectionBudget: number;
  /** Security events of every listener (TLS and access refusals) and role refusals (`E_ACCESS_ROLE`). */
  readonly security: SecurityEvents;
  private closed = false;
  private accepted = 0;
  /** File transfer procedures (undefined without `files`). */
  readonly files: FileService | undefined;

  constructor(options: StationOptions = {}) {
    this.opts = options;
    this.log = options.logger ?? nullLogger;
    this.clock = options.clock ?? systemClock;
    this.wall = options.time ?? Date.now;
    this.codec = resolveOptions(options.codec);
    this.misbehave = activeMisbehaviours(options.misbehave).length ? { ...options.misbehave } : undefined;
    this.testHooks = options.testHooks ?? misbehaviourHooks(this.misbehave);
    const linkParameters = resolveLinkParameters(options.link);
    this.linkParameters = this.testHooks?.linkParameters?.(linkParameters) ?? linkParameters;
    this.timeTags = { utc: options.utc ?? true };
    this.sqMinRun = options.sqMinRun;
    this.selectTimeoutMs = nonNegative(options.selectTimeoutMs ?? 10_000, 'selectTimeoutMs');
    this.maxCommandAgeMs = nonNegative(options.maxCommandAgeMs ?? 10_000, 'maxCommandAgeMs');
    this.maxClockStepMs = options.maxClockStepMs === undefined ? undefined : nonNegative(options.maxClockStepMs, 'maxClockStepMs');
    if (options.connectionBudget !== undefined && !(Number.isInteger(options.connectionBudget) && options.connectionBudget >= 1024)) {
      throw new StationError(`connectionBudget must be an integer >= 1024 (bytes), got ${JSON.stringify(options.connectionBudget)}`);
    }
    try {
      this.redundancy = new StationRedundancy({ redundancy: options.redundancy, eventQueue: options.eventQueue, logger: this.log });
    } catch (e) {
      if (e instanceof RedundancyConfigError) throw new StationError(`redundancy${e.path ? (e.path.startsWith('[') ? '' : '.') + e.path : ''}: ${e.problem}`);
      throw new StationError(e instanceof Error ? e.message : String(e));
    }
    this.queue = this.redundancy.groups()[0]?.queue ?? new EventQueue({ ...options.eventQueue });
    this.eiMode = options.endOfInitialization ?? (this.redundancy.mode === 'per-connection' ? 'connection' : 'station');
    this.db = new PointDatabase(this.now());
    const mis = activeMisbehaviours(this.misbehave);
    if (mis.length) {
      this.log.log('warn', 'station.misbehave', `TEST-ONLY: this station deliberately violates IEC 60870-5-104 (${mis.join(', ')}); never use it to operate anything`, { misbehave: mis });
    }
    this.security = new SecurityEvents(this.log.child({ component: 'security' }));
    if (options.roles !== undefined || options.defaultRole !== undefined) {
      try {
        this.roles = new AccessRoles(options.roles ?? [], options.defaultRole ?? (options.roles ? 'monitor' : 'control'));
      } catch (e) {
        throw new StationError(e instanceof Error ? e.message : String(e));
      }
    }
    for (const ca of options.commonAddresses ?? []) this.wrap(() => this.db.addCommonAddress(ca), `commonAddresses: ${ca}`);
    for (const ca of options.files?.commonAddresses ?? []) this.wrap(() => this.db.addCommonAddress(ca), `files.commonAddresses: ${ca}`);
    this.files = options.files ? this.wrapValue(() => new FileService({ clock: this.clock, codec: this.codec, timeTags: this.timeTags, hasCommonAddress: (ca) => this.db.hasCommonAddress(ca), now: () => this.now(), uploadDenied: (s) => this.uploadDenied(s as StationSession) }, options.files!, this.log.child({ component: 'files' })), 'files') : undefined;
    (options.points ?? []).forEach((p, i) => this.wrap(() => this.db.add(p), `points[${i}] (CA ${p.ca} IOA ${p.ioa})`));
    (options.commands ?? []).forEach((c, i) => this.wrap(() => this.addCommand(c), `commands[${i}] (CA ${c.ca} IOA ${c.ioa})`));
    this.connectionBudget = options.connectionBudget ?? defaultConnectionBudget(this.db.size);
    this.sessionHost = {
      settings: this,
      data: this,
      commands: {
        commandPoint: (ca, ioa) => this.commandPoints.get(`${ca}:${ioa}`),
        decide: (cmd, cp) => this.decide(cmd, cp),
        applyFeedback: (cmd, outcome) => this.applyFeedback(cmd, outcome),
        selection: (key) => this.selections.get(key),
        select: (key, cmd, sessionId) => this.select(key, cmd, sessionId),
        deselect: (key) => this.deselect(key),
      },
      system: {
        clockSync: (req) => this.clockSync(req),
        resetProcess: (qrp, ca, sessionId) => this.resetProcess(qrp, ca, sessionId),
        parameter: (req) => this.parameter(req),
      },
      lifecycle: {
        servesEvents: (s) => this.groupOf.get(s)?.serves(s) ?? false,
        sessionStarted: (s) => this.groupOf.get(s)?.started(s),
        sessionStopped: (s) => this.groupOf.get(s)?.stopped(s),
        sessionClosed: (s, reason) => this.sessionClosed(s, reason),
        endOfInitializationPerConnection: () => this.endOfInitializationPerConnection(),
        authorize: (s, req) => this.authorize(s, req),
        commandRefused: (s, req, why) => this.commandRefused(s, req, why),
        budgetExceeded: (s, e) => this.budgetExceeded(s, e),
      },
      files: this.files,
      testHooks: this.testHooks?.session,
    };
    if (this.eiMode === 'station') this.raiseEndOfInitialization(options.initializationCause ?? 0);
    const cyc = nonNegative(options.cyclicPeriodMs ?? 10_000, 'cyclicPeriodMs');
    if (cyc > 0 && this.db.points().some((p) => p.cyclic)) this.armCyclic(cyc);
    const bg = nonNegative(options.backgroundPeriodMs ?? 0, 'backgroundPeriodMs');
    if (bg > 0) this.armBackground(bg);
  }

  private wrapValue<T>(f: () => T, where: string): T {
    try {
      return f();
    } catch (e) {
      throw new StationError(`${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
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
    this.commandPoints.set(key, { ca: c.ca, ioa: c.ioa, kind, type: untimedVariantOf(c.type) ?? c.type, mode, name: c.name, behaviour: { ...c.behaviour }, allowNonFinite: c.allowNonFinite === true });
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

  /**
   * Queue an arbitrary monitor ASDU object as an event (for types without points), in every
   * redundancy group's queue. Returns the event queued in the first group (undefined when no group
   * exists — `per-connection` without connection — or it was refused by a full `drop-newest` queue).
   */
  raise(e: { ca: number; typeId: number; cot: number; object: Asdu['objects'][number] }): StationEvent | undefined {
    return this.redundancy.push(e);
  }

  /** Queue M_EI_NA_1 (end of initialisation) for every common address. */
  raiseEndOfInitialization(cause = 0, localChange = false): void {
    for (const ca of this.db.commonAddresses()) this.raise({ ca, typeId: TypeId.M_EI_NA_1, cot: COT.INITIALIZED, object: { ioa: 0, cause, localChange } });
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
      queue: this.queueTotals(),
      redundancy: this.redundancy.stats(),
      sessions: this.sessions().map((s) => {
        const snap = s.snapshot();
        const tls = this.endpoints.get(s)?.tls;
        return tls ? { ...snap, tls } : snap;
      }),
      connectionsAccepted: this.accepted,
    };
  }

  /** Queue counters summed over the groups (the single group's own stats with one group). */
  private queueTotals(): EventQueueStats {
    const gs = this.redundancy.groups();
    if (gs.length === 1) return gs[0].queue.stats();
    const t: EventQueueStats = { ...this.queue.stats(), pending: 0, inFlight: 0, enqueued: 0, sent: 0, acknowledged: 0, requeued: 0, dropped: 0 };
    for (const g of gs) {
      const q = g.queue.stats();
      t.pending += q.pending;
      t.inFlight += q.inFlight;
      t.enqueued += q.enqueued;
      t.sent += q.sent;
      t.acknowledged += q.acknowledged;
      t.requeued += q.requeued;
      t.dropped += q.dropped;
    }
    return t;
  }

  /**
   * A new session and the link events that drive it (all but `write`); undefined when no
   * redundancy group takes a connection from `address` (refusal logged and counted).
   */
  private newSession(remote: string | undefined, address: string | undefined): { session: StationSession; events: Omit<LinkEvents, 'write'>; log: Logger } | undefined {
    if (this.closed) throw new StationError('station is closed');
    const id = this.sessionSeq + 1;
    const group = this.redundancy.assign(address, id);
    if (!group) {
      this.redundancy.refused();
      this.log.log('warn', 'station.redundancy.refused', `connection${remote ? ` from ${remote}` : ''} refused: no redundancy group matches address ${address ?? '(unknown)'} and there is no catch-all group`, { remote, address });
      return undefined;
    }
    this.sessionSeq = id;
    const log = this.log.child({ conn: id, ...(remote ? { remote } : {}) });
    const session = new StationSession(id, this.sessionHost, log, remote, { queue: group.queue, group: group.name });
    this.connections.add(session);
    this.groupOf.set(session, group);
    group.join(session);
    if (this.redundancy.mode !== 'single') log.log('info', 'station.redundancy.group', `connection ${id} in redundancy group ${group.name}`, { group: group.name });
    this.accepted++;
    log.log('info', 'station.session.open', `connection ${id} opened${remote ? ` from ${remote}` : ''}`, {});
    const slow = this.testHooks?.receiveDelay?.(this.linkParameters);
    return {
      session,
      log,
      events: {
        // the session never keeps the raw frame: the link need not copy each one (see LinkEvents)
        borrowFrames: true,
        asdu: slow === undefined ? (a) => session.onAsdu(a) : (a) => void this.clock.setTimeout(() => session.onAsdu(a), slow),
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
   * once when the link closes. With `redundancy: { mode: 'groups' }` the group is chosen by the
   * address in `transport.remote` (`addr:port`, `[v6]:port`); throws {@link StationError} when no
   * group matches and there is no catch-all.
   */
  attach(transport: StationTransport): StationConnection {
    const identity = identityOf(transport.remote);
    const made = this.newSession(transport.remote, identity.address);
    if (!made) throw new StationError(`no redundancy group matches ${transport.remote ?? 'a connection without address'} (and no catch-all group)`);
    const { session, events: sessionEvents, log } = made;
    const acc = this.setupAccess(session, identity, this.opts.audit, 0, undefined, sessionEvents);
    const events = acc.events;
    let ended = false;
    const factory = this.opts.linkFactory ?? ((o: LinkOptions, e: LinkEvents) => new Link(o, e));
    const link = factory(this.linkOptions(log), {
      ...events,
      write: (b) => {
        if (!ended) transport.write(b);
      },
      close: (reason, unacked) => {
        events.close(reason, unacked);
        if (!ended) {
          ended = true;
          transport.end();
        }
      },
    });
    session.bind(acc.wrap(link));
    link.open();
    return {
      session,
      receive: (b) => link.receive(b),
      transportClosed: (m) => link.transportClosed(m),
    };
  }

  /**
   * Listen for TCP connections (`listenTcp`): default port 2404, or 19998 with `tls` (mutual TLS
   * per IEC 62351-3, CRL files watched while listening). Callable several times (one listener per
   * call: e.g. 2404 plain and 19998 TLS), or with a list. Each listener applies its `allow` list,
   * `maxConnections` (default the station's, 8) and `startTimeout` (default t0, also on plain TCP:
   * a connection without STARTDT is closed). Resolves with the listener (its bound port, `close()`).
   *
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { createStation } from 'iec104';
   * const station = createStation({ points: [{ ca: 1, ioa: 100, type: 1 }], endOfInitialization: 'none' });
   * const [a, b] = await station.listen([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0, allow: ['127.0.0.0/8'], maxConnections: 2 }]);
   * assert.notEqual(a.port, b.port);
   * await a.close(); // the other one keeps listening
   * assert.equal(station.listening().length, 1);
   * await station.close();
   * ```
   */
  listen(o?: StationListenOptions): Promise<StationListener>;
  listen(o: readonly StationListenOptions[]): Promise<StationListener[]>;
  async listen(o: StationListenOptions | readonly StationListenOptions[] = {}): Promise<StationListener | StationListener[]> {
    if (!Array.isArray(o)) return this.listenOne(o as StationListenOptions);
    const out: StationListener[] = [];
    try {
      for (const x of o as readonly StationListenOptions[]) out.push(await this.listenOne(x));
    } catch (e) {
      await Promise.all(out.map((l) => l.close()));
      throw e;
    }
    return out;
  }

  /** Open listeners. */
  listening(): StationListener[] {
    return [...this.listeners];
  }

  private async listenOne(o: StationListenOptions): Promise<StationListener> {
    if (this.closed) throw new StationError('station is closed');
    const security = o.tls === undefined ? undefined : o.tls instanceof TlsSecurity ? o.tls : new TlsSecurity(o.tls, { logger: this.log.child({ component: 'tls' }), events: this.security, clock: this.clock });
    const audit = o.audit ?? this.opts.audit;
    const port = o.port ?? (security ? DEFAULT_TLS_PORT : 2404);
    const loopback = o.host !== undefined && /^(127\.|::1$|localhost$|::ffff:127\.)/i.test(o.host);
    if (!security && !loopback && !o.allow) {
      this.log.log('warn', 'station.insecure', `plain IEC 104 (no TLS) on ${o.host ?? 'all interfaces'}:${port} without an allow-list: any host that reaches the port can read and command`, { host: o.host, port });
    }
    const stopCrl = security && (o.watchCrl ?? true) && security.config.crlSources.length > 0 ? security.watchCrl() : undefined;
    let srv: TcpLinkServer;
    try {
      srv = await listenTcp(
        {
          host: o.host, port, logger: this.log.child({ component: 'tcp' }),
          maxConnections: o.maxConnections ?? this.opts.maxConnections ?? 8,
          ...(o.maxPending !== undefined ? { maxPending: o.maxPending } : {}),
          ...(o.maxPendingPerSource !== undefined ? { maxPendingPerSource: o.maxPendingPerSource } : {}),
          // the write buffer never legitimately holds more than the k window of full frames (and a few S/U frames)
          link: { ...this.linkOptions(this.log), maxWriteBuffer: Math.max(this.connectionBudget, 2 * 261 * this.linkParameters.k) },
          startTimeout: o.startTimeout ?? this.linkParameters.t0,
          events: this.security,
          ...(security ? { secure: security } : {}),
          ...(o.allow ? { allow: o.allow } : {}),
          ...(audit ? { audit } : {}),
        },
        (conn) => {
          const address = normalizeAddress(conn.remoteAddress)?.address ?? conn.remoteAddress;
          const made = this.newSession(`${conn.remoteAddress}:${conn.remotePort}`, address);
          if (!made) {
            // not bound: listenTcp closes the socket
            this.security.record({
              code: 'E_ACCESS_SOURCE', reason: `no redundancy group matches ${address} (and no catch-all group)`, side: 'server', action: 'refused',
              remoteAddress: address, remotePort: conn.remotePort, localPort: conn.socket.localPort ?? 0, ...(conn.peer ? { peer: conn.peer } : {}),
            });
            return;
          }
          const { session, events, log } = made;
          const identity: PeerIdentity = { address, port: conn.remotePort, ...(conn.peer ? { subject: conn.peer.subject, fingerprint256: conn.peer.fingerprint256 } : {}) };
          const acc = this.setupAccess(session, identity, audit, conn.socket.localPort ?? 0, conn.peer, events);
          this.endpoints.set(session, { ep: { remoteAddress: address, remotePort: conn.remotePort, localPort: conn.socket.localPort ?? 0 }, ...(audit ? { audit } : {}), ...(conn.peer ? { peer: conn.peer } : {}),
            ...(conn.tls && security ? { tls: { session: conn.tls, ...(conn.peer ? { peer: conn.peer } : {}), ...security.verificationOf(conn.peer !== undefined) } } : {}) });
          const link = conn.bind(acc.events, { logger: log.child({ component: 'link' }) });
          session.bind(acc.wrap(link));
        },
      );
    } catch (e) {
      stopCrl?.();
      throw e;
    }
    const listener: StationListener = {
      host: o.host,
      port: srv.port,
      tls: security !== undefined,
      server: srv,
      close: async () => {
        if (!this.listeners.delete(listener)) return;
        stopCrl?.();
        await srv.close();
      },
    };
    this.listeners.add(listener);
    this.log.log('info', 'station.listening', `listening on ${o.host ?? '*'}:${srv.port}${security ? ' (TLS)' : ''}`, { host: o.host, port: srv.port, tls: security !== undefined });
    return listener;
  }

  /** Role and command audit of a new connection: wraps its link events and (with an audit log) its link. */
  private setupAccess(
    session: StationSession, identity: PeerIdentity, audit: AuditLog | undefined, localPort: number, peer: PeerCertificateInfo | undefined, events: Omit<LinkEvents, 'write'>,
  ): { events: Omit<LinkEvents, 'write'>; wrap(link: StationLink): StationLink } {
    const grant = this.roles?.resolve(identity);
    const trail = audit
      ? new CommandAuditTrail({
        audit, now: () => this.clock.now(), wall: this.wall, broadcastCa: this.codec.caSize === 1 ? 0xff : 0xffff,
        source: { address: identity.address ?? session.remote ?? 'unknown', ...(identity.port !== undefined ? { port: identity.port } : {}), ...(identity.subject ? { subject: identity.subject } : {}), ...(identity.fingerprint256 ? { fingerprint256: identity.fingerprint256 } : {}) },
      })
      : undefined;
    if (!grant && !trail) return { events, wrap: (l) => l };
    if (grant) this.log.log('info', 'station.access.role', `connection ${session.id}: role ${grant.role}${grant.name ? ` (${grant.name})` : ''} (rule ${grant.rule})`, { conn: session.id, role: grant.role, rule: grant.rule, subject: identity.subject });
    this.access.set(session, { identity, grant, trail, localPort, peer });
    return {
      events: {
        ...events,
        asdu: trail ? (a, frame) => {
          trail.received(a);
          events.asdu(a, frame);
        } : events.asdu,
        close: (reason, unacked) => {
          try {
            events.close(reason, unacked);
          } finally {
            trail?.closed();
            this.access.delete(session);
          }
        },
      },
      wrap: (l) => (trail ? auditedLink(l, trail) : l),
    };
  }

  /** Stop listening, close every connection, stop timers. */
  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.cyclicTimer);
    this.clock.clearTimeout(this.backgroundTimer);
    for (const s of this.selections.values()) this.clock.clearTimeout(s.timer);
    this.selections.clear();
    this.files?.close();
    for (const s of [...this.connections]) s.close('station closing');
    await Promise.all([...this.listeners].map((l) => l.close()));
  }

  private authorize(s: StationSession, req: Asdu): string | undefined {
    if (!this.roles) return undefined;
    const a = this.access.get(s);
    const why = AccessRoles.check(a?.grant ?? this.roles.resolve(identityOf(s.remote)), req);
    if (why !== undefined) {
      this.security.record({
        code: 'E_ACCESS_ROLE', reason: why, side: 'server', action: 'refused',
        remoteAddress: a?.identity.address ?? '', remotePort: a?.identity.port ?? 0, localPort: a?.localPort ?? 0, ...(a?.peer ? { peer: a.peer } : {}),
      });
    }
    return why;
  }

  /** Why a connection may not upload files (its role is `monitor`), or undefined. */
  private uploadDenied(s: StationSession): string | undefined {
    if (!this.roles) return undefined;
    const grant = this.access.get(s)?.grant ?? this.roles.resolve(identityOf(s.remote));
    return grant.role === 'monitor' ? `role monitor${grant.name ? ` (${grant.name})` : ''} may not upload files` : undefined;
  }

  private budgetExceeded(s: StationSession, e: BudgetExceeded): void {
    const known = this.endpoints.get(s);
    const id = identityOf(s.remote);
    const ev: SecurityEvent = {
      code: 'E_ACCESS_BUDGET', reason: e.reason, side: 'server', action: 'closed',
      ...(known?.ep ?? { remoteAddress: id.address ?? s.remote ?? '', remotePort: id.port ?? 0, localPort: 0 }), ...(known?.peer ? { peer: known.peer } : {}),
    };
    this.security.record(ev);
    (known ? known.audit : this.opts.audit)?.security(ev);
  }

  private commandRefused(s: StationSession, req: Asdu, why: string): void {
    this.access.get(s)?.trail?.reason(req, why);
  }

  // ------------------------------------------------------------------------------------------
  // what the sessions ask of the station (through `sessionHost`)

  private decide(cmd: StationCommand, cp: CommandPoint): CommandOutcome | undefined | Promise<CommandOutcome | undefined> {
    return this.opts.onCommand?.(cmd, cp);
  }

  private applyFeedback(cmd: StationCommand, outcome: CommandOutcome & { result: 'accept' }): void {
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

  private clockSync(req: ClockSyncRequest): boolean {
    const r = this.opts.onClockSync?.(req);
    if (r === false) return false;
    this.clockOffset = req.date.getTime() - this.wall();
    return true;
  }

  private resetProcess(qrp: number, ca: number, sessionId?: number): boolean {
    const r = this.opts.onResetProcess?.(qrp, ca);
    if (r === false) return false;
    if (qrp === 2) {
      // the pending events of the requesting connection's group (all groups when called without one)
      const own = sessionId === undefined ? undefined : [...this.groupOf].find(([s]) => s.id === sessionId)?.[1];
      let n = 0;
      for (const g of own ? [own] : this.redundancy.groups()) n += g.queue.discard((e) => e.ca === ca && typeInfo(e.typeId)?.timeTag !== 'none');
      this.log.log('info', 'station.reset.pending', `reset of pending time-tagged information: ${n} event(s) discarded`, { ca, discarded: n });
    }
    return true;
  }

  private parameter(req: ParameterRequest): boolean {
    return this.opts.onParameter?.(req) !== false;
  }

  private select(key: string, cmd: StationCommand, sessionId: number): void {
    this.deselect(key);
    const timer = this.clock.setTimeout(() => {
      if (this.selections.get(key)?.timer === timer) {
        this.selections.delete(key);
        this.log.log('info', 'station.command.select_timeout', `selection of CA ${cmd.ca} IOA ${cmd.ioa} expired after ${this.selectTimeoutMs} ms`, { ca: cmd.ca, ioa: cmd.ioa });
      }
    }, this.selectTimeoutMs);
    this.selections.set(key, { cmd, sessionId, timer });
  }

  private deselect(key: string): boolean {
    const s = this.selections.get(key);
    if (!s) return false;
    this.clock.clearTimeout(s.timer);
    this.selections.delete(key);
    return true;
  }

  private sessionClosed(s: StationSession, _reason: LinkCloseReason): void {
    this.connections.delete(s);
    this.files?.sessionClosed(s);
    this.endpoints.delete(s);
    for (const [k, sel] of this.selections) {
      if (sel.sessionId === s.id) {
        this.clock.clearTimeout(sel.timer);
        this.selections.delete(k);
      }
    }
    const g = this.groupOf.get(s);
    if (g) {
      this.groupOf.delete(s);
      g.left(s);
      this.redundancy.release(g);
    }
  }

  private endOfInitializationPerConnection(): { cause: number; localChange: boolean } | undefined {
    return this.eiMode === 'connection' ? { cause: this.opts.initializationCause ?? 0, localChange: false } : undefined;
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
      // (a loop, not push(...): a common address may hold more points than a call takes arguments)
      for (const ca of this.db.commonAddresses()) for (const a of s.pack(this.db.points(ca).filter(pick), cot, ca)) asdus.push(a);
      if (asdus.length > 0 && !s.queueBackground(asdus)) this.log.log('debug', 'station.periodic.skipped', `connection ${s.id}: previous ${cot === COT.PERIODIC ? 'cyclic' : 'background'} data still queued, cycle skipped`, { conn: s.id });
    }
  }
}

/** A link whose sent ASDUs are shown to the command audit trail. */
function auditedLink(l: StationLink, trail: CommandAuditTrail): StationLink {
  return {
    get canSend() {
      return l.canSend;
    },
    send(asdu, tag) {
      const ok = l.send(asdu, tag);
      if (ok) trail.sent(asdu);
      return ok;
    },
    close: (reason) => l.close(reason),
    snapshot: () => l.snapshot(),
  };
}

function nonNegative(v: number, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new StationError(`${name} must be a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

/** Create a controlled station. Throws {@link StationError} naming the bad point or option. */
export function createStation(options: StationOptions = {}): ControlledStation {
  return new ControlledStation(options);
}


