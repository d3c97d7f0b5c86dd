/**
 * Redundancy groups of a controlled station (IEC 60870-5-104 clause 10.3): which connections share
 * an event queue, and which of them receives the events.
 *
 * A *redundancy group* is a set of connections with one {@link EventQueue}; within a group one
 * connection at a time is *active* (the most recently started one); the others are standbys
 * (connected, data transfer stopped). When a standby sends STARTDT it becomes the active one and
 * the events still unacknowledged on the previous active connection return to the head of the
 * queue, in order, and are sent first on the new one (at least once, no gap, no reordering).
 *
 * Three modes, after those users know from other IEC 104 stacks:
 *
 * - `single` (default): one group holding every connection; its queue exists from station start
 *   and keeps events while nobody is connected.
 * - `per-connection`: every connection is its own group with its own queue, created when the
 *   connection opens and discarded when it closes. Every started connection receives every event
 *   raised while it is open (events raised while it is open but stopped wait in its queue). Events
 *   raised before a connection exists are not kept for it (counted as `unrouted` when no
 *   connection exists at all); a master learns the current state by interrogation.
 * - `groups`: named groups chosen by the client's source address (a CIDR list per group; the first
 *   matching group in configuration order wins), optionally a catch-all group ({@link CATCH_ALL_GROUP})
 *   for connections no group matches; without it such connections are refused (logged, counted,
 *   security event `E_ACCESS_SOURCE`). Every group's queue exists from station start and keeps its
 *   events (bounded) while the group has no connection; within a group, `single` semantics apply.
 */
import { type Logger, nullLogger } from '../log.js';
import { AccessRuleError, AddressAllowList } from '../transport/access-control.js';
import { EventQueue, type EventQueueStats, type OverflowPolicy, type StationEvent } from './event-queue.js';

/** Redundancy mode of a controlled station. */
export type RedundancyMode = 'single' | 'per-connection' | 'groups';

/** One named group of the `groups` mode. */
export interface RedundancyGroupConfig {
  /** Unique name (logs, stats). */
  name: string;
  /** Client source addresses of the group (CIDR: `10.0.1.0/24`, `192.168.2.9`, `fd00::/8`, `::1`). */
  allow: readonly string[];
}

/** Redundancy configuration of `createStation({ redundancy })` (default `{ mode: 'single' }`). */
export type RedundancyOptions =
  | { mode: 'single' }
  | { mode: 'per-connection' }
  | {
    mode: 'groups';
    /** Groups in matching order. */
    groups: readonly RedundancyGroupConfig[];
    /** A group for connections no group matches (default false: such connections are refused). */
    catchAll?: boolean;
  };

/** Name of the catch-all group of the `groups` mode. */
export const CATCH_ALL_GROUP = '*';

/** An invalid redundancy configuration; `path` is relative to the `redundancy` option (`groups[1].allow[0]`). */
export class RedundancyConfigError extends Error {
  override readonly name = 'RedundancyConfigError';
  /** Stable code for programs. */
  readonly code = 'E_REDUNDANCY_CONFIG' as const;
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem);
  }
}

/** A connection as its group sees it (`StationSession` satisfies it). */
export interface RedundancyMember {
  readonly id: number;
  readonly isStarted: boolean;
  readonly isClosed: boolean;
  /** Send what the window allows. */
  pump(): void;
}

/** Observability of one group. */
export interface RedundancyGroupStats {
  name: string;
  /** Whether the group (and its queue) lives on while it has no connection. */
  persistent: boolean;
  /** Ids of its open connections, in order of opening. */
  connections: number[];
  /** Id of the connection receiving the events (the active one), if any. */
  active: number | undefined;
  /** Switchovers: how many times the events moved on to another connection than the one that had them last. */
  takeovers: number;
  /** Queue depths (`pending`, `inFlight`) and counters, overflow (`dropped`) included. */
  queue: EventQueueStats;
}

/** Observability of the station's redundancy. */
export interface RedundancyStats {
  mode: RedundancyMode;
  groups: RedundancyGroupStats[];
  /** Connections refused because no group matched their address (`groups` mode without catch-all). */
  refused: number;
  /** Events raised while no group existed (`per-connection` mode with no connection). */
  unrouted: number;
  /** Events still queued (pending or unacknowledged) when a `per-connection` group ended with its connection. */
  discarded: number;
}

/** Validated redundancy configuration. */
interface ResolvedRedundancy {
  mode: RedundancyMode;
  groups: { name: string; allow: AddressAllowList }[];
  catchAll: boolean;
}

/**
 * Validate a redundancy configuration. Throws {@link RedundancyConfigError} naming the path of the
 * problem (relative to `redundancy`, e.g. `groups[1].allow[0]`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { validateRedundancy, RedundancyConfigError } from 'iec104';
 * assert.equal(validateRedundancy(undefined).mode, 'single');
 * assert.throws(() => validateRedundancy({ mode: 'groups', groups: [{ name: 'a', allow: ['10.0.0.0/33'] }] }), (e: unknown) => e instanceof RedundancyConfigError && e.path === 'groups[0].allow[0]');
 * ```
 */
export function validateRedundancy(o: RedundancyOptions | undefined): { mode: RedundancyMode; groups: RedundancyGroupConfig[]; catchAll: boolean } {
  const r = resolve(o);
  return { mode: r.mode, groups: r.groups.map((g) => ({ name: g.name, allow: [...g.allow.rules] })), catchAll: r.catchAll };
}

function resolve(o: RedundancyOptions | undefined): ResolvedRedundancy {
  if (o === undefined) return { mode: 'single', groups: [], catchAll: false };
  if (typeof o !== 'object' || o === null) throw new RedundancyConfigError('', `expected { mode: single | per-connection | groups }, got ${JSON.stringify(o)}`);
  const mode = (o as { mode?: unknown }).mode;
  if (mode === 'single' || mode === 'per-connection') return { mode, groups: [], catchAll: false };
  if (mode !== 'groups') throw new RedundancyConfigError('mode', `expected one of single, per-connection, groups, got ${JSON.stringify(mode)}`);
  const g = o as { groups?: unknown; catchAll?: unknown };
  if (g.catchAll !== undefined && typeof g.catchAll !== 'boolean') throw new RedundancyConfigError('catchAll', `expected true or false, got ${JSON.stringify(g.catchAll)}`);
  const catchAll = g.catchAll === true;
  if (!Array.isArray(g.groups)) throw new RedundancyConfigError('groups', `expected a list of { name, allow }, got ${JSON.stringify(g.groups)}`);
  if (g.groups.length === 0 && !catchAll) throw new RedundancyConfigError('groups', 'no group and no catch-all: every connection would be refused');
  const names = new Set<string>();
  const groups = (g.groups as unknown[]).map((x, i) => {
    const p = `groups[${i}]`;
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new RedundancyConfigError(p, `expected { name, allow }, got ${JSON.stringify(x)}`);
    const { name, allow } = x as { name?: unknown; allow?: unknown };
    if (typeof name !== 'string' || name.trim() === '') throw new RedundancyConfigError(`${p}.name`, `expected a non-empty string, got ${JSON.stringify(name)}`);
    if (name === CATCH_ALL_GROUP) throw new RedundancyConfigError(`${p}.name`, `'${CATCH_ALL_GROUP}' is the catch-all group's name (use catchAll: true)`);
    if (names.has(name)) throw new RedundancyConfigError(`${p}.name`, `duplicate group name '${name}'`);
    names.add(name);
    if (!Array.isArray(allow) || allow.length === 0) throw new RedundancyConfigError(`${p}.allow`, `expected a non-empty list of addresses (CIDR), got ${JSON.stringify(allow)}${catchAll ? '' : ' (a group for every other address: catchAll: true)'}`);
    allow.forEach((a, j) => {
      if (typeof a !== 'string') throw new RedundancyConfigError(`${p}.allow[${j}]`, `expected an address or CIDR string, got ${JSON.stringify(a)}`);
      try {
        new AddressAllowList([a]);
      } catch (e) {
        throw new RedundancyConfigError(`${p}.allow[${j}]`, e instanceof AccessRuleError ? e.message : String(e));
      }
    });
    return { name, allow: new AddressAllowList(allow as string[]) };
  });
  return { mode, groups, catchAll };
}

/**
 * One redundancy group: an event queue, its connections, the active one. Created by
 * {@link StationRedundancy}.
 */
export class StationRedundancyGroup {
  private readonly members: RedundancyMember[] = [];
  private consumer: RedundancyMember | undefined;
  /** Id of the connection that received the events last (the active one, or the one before a STOPDT/close). */
  private lastServed: number | undefined;
  private takeovers = 0;

  constructor(
    /** Group name (`single` for the single group, `conn-<id>` per connection). */
    readonly name: string,
    /** The group's event queue. */
    readonly queue: EventQueue,
    /** Whether the group lives on without connections. */
    readonly persistent: boolean,
    private readonly log: Logger,
  ) {}

  /** The connection receiving the events, if any. */
  get active(): RedundancyMember | undefined {
    return this.consumer;
  }

  /** Open connections of the group. */
  get connections(): readonly RedundancyMember[] {
    return this.members;
  }

  /** Whether `m` receives the group's events. */
  serves(m: RedundancyMember): boolean {
    return this.consumer === m;
  }

  /** A connection of the group opened. */
  join(m: RedundancyMember): void {
    this.members.push(m);
  }

  /** `m` started data transfer: it becomes the active connection. */
  started(m: RedundancyMember): void {
    if (this.consumer === m) return;
    this.switchTo(m);
    // events still unacknowledged on the previous connection (e.g. one that died silently) go first
    this.queue.requeueInFlight();
  }

  /** `m` stopped data transfer. */
  stopped(m: RedundancyMember): void {
    if (this.consumer === m) this.handOver(m);
  }

  /** `m` closed. */
  left(m: RedundancyMember): void {
    const i = this.members.indexOf(m);
    if (i >= 0) this.members.splice(i, 1);
    if (this.consumer === m) this.handOver(m);
  }

  /** Queue an event and let the active connection send it. */
  push(e: { ca: number; typeId: number; cot: number; object: StationEvent['object'] }): StationEvent | undefined {
    const ev = this.queue.push(e);
    this.consumer?.pump();
    return ev;
  }

  /** Observability. */
  stats(): RedundancyGroupStats {
    return { name: this.name, persistent: this.persistent, connections: this.members.map((m) => m.id), active: this.consumer?.id, takeovers: this.takeovers, queue: this.queue.stats() };
  }

  private handOver(from: RedundancyMember): void {
    let next: RedundancyMember | undefined;
    for (let i = this.members.length - 1; i >= 0; i--) {
      const x = this.members[i];
      if (x !== from && x.isStarted && !x.isClosed) {
        next = x;
        break;
      }
    }
    this.consumer = undefined;
    if (next) {
      this.switchTo(next);
      this.queue.requeueInFlight();
      next.pump();
    }
  }

  private switchTo(m: RedundancyMember): void {
    const prev = this.lastServed;
    if (prev !== undefined && prev !== m.id) {
      this.takeovers++;
      this.log.log('info', 'station.events.takeover', `connection ${m.id} takes over event transmission from connection ${prev}${this.persistent ? ` (group ${this.name})` : ''}`, { from: prev, to: m.id, group: this.name });
    }
    this.consumer = m;
    this.lastServed = m.id;
  }
}

/** Options of {@link StationRedundancy}. */
export interface StationRedundancyOptions {
  redundancy?: RedundancyOptions;
  /** Bound and overflow policy of every group's queue. */
  eventQueue?: { capacity?: number; overflow?: OverflowPolicy };
  logger?: Logger;
}

/**
 * The redundancy groups of a station: assigns connections to groups, fans events out to every
 * group's queue. Throws {@link RedundancyConfigError} for an invalid configuration.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { StationRedundancy } from 'iec104';
 * const r = new StationRedundancy({ redundancy: { mode: 'groups', groups: [{ name: 'scada-a', allow: ['10.0.1.0/24'] }], catchAll: true } });
 * assert.equal(r.assign('10.0.1.7', 1)?.name, 'scada-a');
 * assert.equal(r.assign('192.168.1.1', 2)?.name, '*');
 * r.push({ ca: 1, typeId: 30, cot: 3, object: { ioa: 1, value: true } }); // kept in both groups' queues
 * assert.deepEqual(r.groups().map((g) => g.queue.pending), [1, 1]);
 * ```
 */
export class StationRedundancy {
  /** The mode. */
  readonly mode: RedundancyMode;
  private readonly config: ResolvedRedundancy;
  private readonly log: Logger;
  private readonly queueOptions: { capacity?: number; overflow?: OverflowPolicy };
  /** Live groups (persistent ones first, in configuration order; per-connection ones in order of opening). */
  private readonly live: StationRedundancyGroup[] = [];
  private catchAllGroup: StationRedundancyGroup | undefined;
  private counters = { refused: 0, unrouted: 0, discarded: 0 };

  constructor(o: StationRedundancyOptions = {}) {
    this.config = resolve(o.redundancy);
    this.mode = this.config.mode;
    this.log = o.logger ?? nullLogger;
    this.queueOptions = { ...o.eventQueue };
    if (this.mode === 'single') this.live.push(this.newGroup('single', true));
    else if (this.mode === 'groups') {
      for (const g of this.config.groups) this.live.push(this.newGroup(g.name, true));
      if (this.config.catchAll) this.live.push((this.catchAllGroup = this.newGroup(CATCH_ALL_GROUP, true)));
    }
  }

  private newGroup(name: string, persistent: boolean): StationRedundancyGroup {
    return new StationRedundancyGroup(name, new EventQueue({ ...this.queueOptions, logger: this.log.child({ component: 'event-queue', ...(this.mode === 'single' ? {} : { group: name }) }) }), persistent, this.log);
  }

  /** Live groups. */
  groups(): StationRedundancyGroup[] {
    return [...this.live];
  }

  /** The live group named `name`. */
  group(name: string): StationRedundancyGroup | undefined {
    return this.live.find((g) => g.name === name);
  }

  /**
   * The group of a new connection from `address` (IPv4, IPv6 or IPv4-mapped; undefined when
   * unknown), with station connection id `id`; `per-connection` creates it. Undefined: no group
   * matches (`groups` mode without catch-all): refuse the connection (see {@link refused}).
   */
  assign(address: string | undefined, id: number): StationRedundancyGroup | undefined {
    if (this.mode === 'single') return this.live[0];
    if (this.mode === 'per-connection') {
      const g = this.newGroup(`conn-${id}`, false);
      this.live.push(g);
      return g;
    }
    if (address !== undefined) {
      for (let i = 0; i < this.config.groups.length; i++) if (this.config.groups[i].allow.has(address)) return this.live[i];
    }
    return this.catchAllGroup;
  }

  /** Count a connection refused for want of a group. */
  refused(): void {
    this.counters.refused++;
  }

  /** A connection of `g` closed (after `g.left`): a `per-connection` group ends with it. */
  release(g: StationRedundancyGroup): void {
    if (g.persistent || g.connections.length > 0) return;
    const i = this.live.indexOf(g);
    if (i < 0) return;
    this.live.splice(i, 1);
    const lost = g.queue.pending + g.queue.inFlight;
    this.counters.discarded += lost;
    if (lost > 0) this.log.log('info', 'station.redundancy.discarded', `group ${g.name} ended with its connection: ${lost} queued event(s) discarded`, { group: g.name, discarded: lost });
  }

  /**
   * Queue an event in every live group. Returns the event queued in the first group that accepted
   * it (undefined when no group exists or every queue refused it).
   */
  push(e: { ca: number; typeId: number; cot: number; object: StationEvent['object'] }): StationEvent | undefined {
    const live = this.live;
    if (live.length === 1) return live[0].push(e);
    if (live.length === 0) {
      this.counters.unrouted++;
      return undefined;
    }
    let first: StationEvent | undefined;
    for (const g of [...live]) {
      const ev = g.push(e);
      first ??= ev;
    }
    return first;
  }

  /** Observability. */
  stats(): RedundancyStats {
    return { mode: this.mode, groups: this.live.map((g) => g.stats()), ...this.counters };
  }
}
