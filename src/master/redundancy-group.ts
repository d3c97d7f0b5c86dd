/**
 * Redundancy group of the controlling station (IEC 60870-5-104 clause 10.3 / IEC TS 60870-5-7
 * practice): several connections to the same outstation data (a dual RTU, or one RTU reachable at
 * two addresses), all connected, exactly one started (STARTDT) and the others stopped but kept
 * alive by TESTFR (t3).
 *
 * When the active connection fails (link closed: peer gone, t1 expired, ...), a connected standby
 * is started at once (`failover`); `switchover(index)` does the same on request (STOPDT on the
 * active, then STARTDT on the target). Requests go to the active connection. Commands are never
 * repeated: a command open when its connection fails rejects with `ConnectionLostError`, one open
 * at a manual switchover with `E_NOT_CONNECTED` (data transfer stopped). The failed connection
 * reconnects in the background (back-off) and rejoins as a standby. The request methods are those
 * of every controlling station (request-helpers.ts), sent through the active member.
 */
import type { Asdu } from '../codec/asdu.js';
import { type Logger, nullLogger } from '../log.js';
import { Channel } from './channel.js';
import type { Connector } from './connection.js';
import { MasterError } from './errors.js';
import { ControllingStation } from './master.js';
import { MasterRequests, type RequestPort } from './request-helpers.js';
import type { ControllingStationOptions, MasterState } from './types.js';

/** One endpoint of a {@link RedundancyGroup}. */
export interface RedundancyEndpoint {
  connector: Connector;
  /** Name for logs and events (default `#index`). */
  name?: string;
}

/** Options of {@link RedundancyGroup}: those of each member's {@link ControllingStation}, plus the endpoints. */
export interface RedundancyGroupOptions extends Omit<ControllingStationOptions, 'connector' | 'startDt'> {
  /** The connections of the group, in order of preference (index 0 is the primary). At least one. */
  endpoints: readonly (Connector | RedundancyEndpoint)[];
  /** Send this interrogation on every activation (initial, failover, switchover) to resynchronise. */
  interrogation?: { ca: number; qoi?: number };
}

/** Why a member became active. */
export type ActivationReason = 'initial' | 'failover' | 'switchover' | 'recovered';

/** Events of {@link RedundancyGroup}. */
export type RedundancyGroupEventMap = {
  /** A member's data transfer started: it is the active connection now. */
  active: [info: { index: number; name: string; previous: number | undefined; reason: ActivationReason }];
  /** The active member failed; `to` is the standby being started (undefined: none is connected). */
  failover: [info: { from: number; to: number | undefined; reason: string }];
  /** Every ASDU received by any member, with the member's index. */
  asdu: [asdu: Asdu, index: number];
  /** An interrogation sent on activation failed. */
  error: [error: MasterError];
  /** close() finished. */
  closed: [];
};

/** Live state of a {@link RedundancyGroup}. */
export interface RedundancyGroupSnapshot {
  active: number | undefined;
  members: { index: number; name: string; state: MasterState }[];
}

/**
 * A redundancy group of connections: one active (started), the others standby (connected,
 * stopped), automatic failover and manual switchover.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { createStation, RedundancyGroup, tcpConnector } from 'iec104';
 * const station = createStation({ points: [{ ca: 1, ioa: 100, type: 13, value: 1.5 }], endOfInitialization: 'none' });
 * const [a, b] = await station.listen([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }]);
 * const group = new RedundancyGroup({ endpoints: [tcpConnector('127.0.0.1', a.port), tcpConnector('127.0.0.1', b.port)], reconnect: false });
 * await group.connect();
 * assert.equal(group.activeIndex, 0);
 * await group.switchover(1);
 * assert.equal(group.activeIndex, 1);
 * const gi = await group.interrogation(1);
 * assert.equal(gi.objects.length, 1);
 * await group.close();
 * await station.close();
 * ```
 */
export class RedundancyGroup extends MasterRequests<RedundancyGroupEventMap> {
  /** The members, one {@link ControllingStation} per endpoint (started with `startDt: false`). */
  readonly members: readonly ControllingStation[];
  /** Endpoint names. */
  readonly names: readonly string[];
  private readonly log: Logger;
  private readonly gi: { ca: number; qoi?: number } | undefined;
  private readonly iteratorBuffer: number;
  private readonly channels = new Set<Channel<Asdu>>();
  private _active: number | undefined;
  private activating: number | undefined;
  private connecting = false;
  private closed = false;
  private firstRound = new Set<number>();
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];

  constructor(options: RedundancyGroupOptions) {
    super();
    const { endpoints, interrogation, ...common } = options;
    if (!Array.isArray(endpoints) || endpoints.length === 0) throw new MasterError('E_INVALID', 'a redundancy group needs at least one endpoint');
    this.log = (options.logger ?? nullLogger).child({ component: 'redundancy' });
    this.gi = interrogation;
    this.iteratorBuffer = options.iteratorBuffer ?? 10_000;
    const eps = endpoints.map((e) => (typeof e === 'function' ? { connector: e } : e));
    this.names = eps.map((e, i) => e.name ?? `#${i}`);
    this.members = eps.map((e, i) => {
      const m = new ControllingStation({
        ...common,
        connector: e.connector,
        startDt: false,
        logger: (options.logger ?? nullLogger).child({ member: this.names[i] }),
        auditSource: options.auditSource ?? `controlling station (redundancy member ${this.names[i]})`,
      });
      this.watch(m, i);
      return m;
    });
  }

  /** Index of the active (started) member, if any. */
  get activeIndex(): number | undefined {
    return this._active;
  }

  /** The active member, if any. */
  get active(): ControllingStation | undefined {
    return this._active === undefined ? undefined : this.members[this._active];
  }

  /** Members and their states. */
  snapshot(): RedundancyGroupSnapshot {
    return { active: this._active, members: this.members.map((m, index) => ({ index, name: this.names[index], state: m.state })) };
  }

  /**
   * Connect every member; once each has made its first attempt, the connected member with the
   * lowest index is started. Resolves when a member is active. Without reconnect, rejects with
   * `E_CONNECT_FAILED` when no member could connect.
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new MasterError('E_CLOSED', 'the redundancy group is closed'));
    if (this._active !== undefined) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.connecting) {
      this.connecting = true;
      this.firstRound = new Set(this.members.map((_, i) => i));
      this.members.forEach((m) => m.connect().catch(() => {}));
    }
    return p;
  }

  /**
   * Make member `index` the active one: STOPDT on the active member (its open requests reject with
   * `E_NOT_CONNECTED`), then STARTDT on `index`. Rejects with `E_NOT_CONNECTED` when that member is
   * not connected, `E_INVALID` for a bad index.
   */
  async switchover(index: number): Promise<void> {
    if (this.closed) throw new MasterError('E_CLOSED', 'the redundancy group is closed');
    if (!Number.isInteger(index) || index < 0 || index >= this.members.length) throw new MasterError('E_INVALID', `no member ${index} (0..${this.members.length - 1})`);
    if (index === this._active) return;
    const m = this.members[index];
    if (m.state !== 'connected') throw new MasterError('E_NOT_CONNECTED', `member ${this.names[index]} is not a connected standby (state ${m.state})`);
    const prev = this._active;
    this.log.log('info', 'redundancy.switchover', `switchover ${prev === undefined ? '-' : this.names[prev]} -> ${this.names[index]}`, { from: prev, to: index });
    if (prev !== undefined) {
      this._active = undefined;
      await this.members[prev].stopDataTransfer().catch(() => {});
    }
    await this.activate(index, 'switchover', prev);
  }

  /** Close every member. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this._active = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new MasterError('E_CLOSED', 'the redundancy group was closed'));
    for (const c of [...this.channels]) c.end();
    await Promise.all(this.members.map((m) => m.close()));
    this.emit('closed');
  }

  /** Every ASDU received by any member, as an async iterator (ends at close()). */
  asdus(options: { bufferLimit?: number } = {}): AsyncIterableIterator<Asdu> {
    const c = new Channel<Asdu>(options.bufferLimit ?? this.iteratorBuffer, (ch) => this.channels.delete(ch));
    if (this.closed) c.end();
    else this.channels.add(c);
    return c;
  }

  // ---------------------------------------------------------------------------------------------
  // requests: the helpers of MasterRequests (interrogation, read, send, single, ...) go to the
  // active member, never repeated on another one

  /** @internal */
  override requestPort(): RequestPort | MasterError {
    const m = this.active;
    return m ? m.requestPort() : new MasterError('E_NOT_CONNECTED', 'no active connection in the redundancy group');
  }

  // ---------------------------------------------------------------------------------------------
  // internals

  private watch(m: ControllingStation, i: number): void {
    m.on('asdu', (a) => {
      this.emitSafe('asdu', a, i);
      for (const c of this.channels) c.push(a);
    });
    m.on('connected', () => {
      this.firstRoundDone(i);
      if (this.closed || this._active !== undefined || this.activating !== undefined || this.firstRound.size > 0) return;
      this.activate(i, 'recovered', undefined).catch(() => {});
    });
    m.on('connectFailed', () => this.firstRoundDone(i));
    m.on('started', () => {
      // exactly one started: a member started by someone else is stopped again
      if (this._active !== i && this.activating !== i && !this.closed) {
        this.log.log('warn', 'redundancy.unexpected_start', `member ${this.names[i]} started while not active: stopping it`, { member: i });
        m.stopDataTransfer().catch(() => {});
      }
    });
    m.on('disconnected', (reason) => {
      if (this.closed) return;
      if (this._active === i || this.activating === i) {
        if (this._active === i) this._active = undefined;
        if (this.activating === i) this.activating = undefined;
        this.failover(i, `${reason.code} ${reason.message}`);
      }
    });
    m.on('stopped', () => {
      if (this._active === i && !this.closed) {
        // the outstation (or someone) stopped the active connection: use another one
        this._active = undefined;
        this.failover(i, 'data transfer stopped');
      }
    });
  }

  private firstRoundDone(i: number): void {
    if (!this.firstRound.delete(i) || this.firstRound.size > 0 || this.closed) return;
    const first = this.members.findIndex((m) => m.state === 'connected');
    if (first >= 0) {
      this.activate(first, 'initial', undefined).catch(() => {});
      return;
    }
    // a member's state becomes `idle` (no reconnect) right after its connectFailed event
    queueMicrotask(() => {
      if (this.closed || this._active !== undefined || this.activating !== undefined) return;
      if (this.members.every((m) => m.state === 'idle')) {
        for (const w of this.waiters.splice(0)) w.reject(new MasterError('E_CONNECT_FAILED', 'no member of the redundancy group could connect'));
        this.connecting = false;
      }
    });
  }

  private failover(from: number, reason: string): void {
    const n = this.members.length;
    let to: number | undefined;
    for (let k = 1; k <= n; k++) {
      const j = (from + k) % n;
      if (j !== from && this.members[j].state === 'connected') {
        to = j;
        break;
      }
    }
    this.log.log('warn', 'redundancy.failover', `active member ${this.names[from]} failed (${reason}): ${to === undefined ? 'no connected standby' : `starting ${this.names[to]}`}`, { from, to, reason });
    this.emitSafe('failover', { from, to, reason });
    if (to !== undefined) this.activate(to, 'failover', from).catch(() => {});
  }

  private async activate(index: number, reason: ActivationReason, previous: number | undefined): Promise<void> {
    const m = this.members[index];
    this.activating = index;
    try {
      await m.startDataTransfer();
    } catch (e) {
      if (this.activating === index) {
        this.activating = undefined;
        this.failover(index, e instanceof Error ? e.message : String(e));
      }
      throw e;
    }
    if (this.activating !== index || this.closed) return;
    this.activating = undefined;
    this._active = index;
    this.log.log('info', 'redundancy.active', `member ${this.names[index]} is active (${reason})`, { member: index, reason });
    for (const w of this.waiters.splice(0)) w.resolve();
    this.emitSafe('active', { index, name: this.names[index], previous, reason });
    if (this.gi) {
      m.interrogation(this.gi.ca, this.gi.qoi ?? 20).catch((e: unknown) => {
        if (e instanceof MasterError) this.emitSafe('error', e);
      });
    }
  }

  private emitSafe<K extends keyof RedundancyGroupEventMap>(event: K, ...args: RedundancyGroupEventMap[K]): void {
    if (event === 'error' && this.listenerCount('error') === 0) return;
    try {
      (this.emit as (e: K, ...a: RedundancyGroupEventMap[K]) => boolean)(event, ...args);
    } catch (e) {
      this.log.log('error', 'redundancy.handler_error', `a '${String(event)}' handler threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
