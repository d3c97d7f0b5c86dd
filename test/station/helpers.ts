/**
 * Scripted masters for station tests.
 *
 * - `fakeStation`: the station's links are {@link FakeLink}s, driven at the ASDU level: the test
 *   starts/stops data transfer, delivers ASDUs, acknowledges sent I-frames (by count) and drops
 *   connections. Every ASDU the station sends is encoded and decoded by the codec (so it must be
 *   a valid, ≤ 249-octet ASDU) and recorded decoded.
 * - `linkPair`: a real controlled `Link` (inside the station) against a real controlling `Link`,
 *   bytes passed synchronously through `settle()`, time from a VirtualClock.
 */
import assert from 'node:assert/strict';
import { decodeAsdu, encodeAsdu } from '../../src/codec/asdu.js';
import type { Asdu, InformationObject } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import { Link } from '../../src/link/link.js';
import type { LinkCloseCode, LinkEvents, LinkOptions, LinkSnapshot, LinkState } from '../../src/link/types.js';
import { createLogger, type Logger } from '../../src/log.js';
import { type ControlledStation, createStation, type StationConnection, type StationOptions } from '../../src/station/station.js';
import type { StationLinkMachine } from '../../src/station/station.js';

/** 2026-01-15 10:00:00 UTC */
export const WALL0 = Date.UTC(2026, 0, 15, 10, 0, 0);

export function asdu(typeId: number, cot: number, ca: number, objects: InformationObject[], extra: Partial<Asdu> = {}): Asdu {
  return { typeId, sq: false, cot, negative: false, test: false, originator: 0, ca, objects, ...extra };
}

/** An ASDU-level link double. */
export class FakeLink implements StationLinkMachine {
  state: LinkState = 'stopped';
  /** Sent I-frames not yet acknowledged: their tags. */
  unacked: unknown[] = [];
  /** Every ASDU sent, decoded after an encode round trip. */
  sent: Asdu[] = [];
  private mark = 0;
  private wantDrain = false;
  closedWith: { code: LinkCloseCode; message: string } | undefined;

  constructor(readonly ev: LinkEvents, readonly k: number) {}

  get canSend(): boolean {
    return this.state === 'started' && this.unacked.length < this.k;
  }
  send(a: Asdu, tag?: unknown): boolean {
    if (!this.canSend) {
      this.wantDrain = true;
      return false;
    }
    const bytes = encodeAsdu(a);
    const r = decodeAsdu(bytes);
    assert.ok(r.ok, 'station sent an ASDU that does not decode');
    const d = r.value;
    delete d.warnings;
    this.sent.push(d);
    this.unacked.push(tag);
    return true;
  }
  close(reason?: string | { code?: LinkCloseCode; message?: string }): void {
    if (typeof reason === 'object') this.finish(reason.code ?? 'E_LOCAL', reason.message ?? 'closed locally');
    else this.finish('E_LOCAL', reason ?? 'closed locally');
  }
  open(): void {}
  receive(): void {}
  transportClosed(m?: string): void {
    this.finish('E_PEER_CLOSED', m ?? 'transport closed');
  }
  snapshot(): LinkSnapshot {
    return {
      state: this.state, vs: this.sent.length & 0x7fff, vr: 0, unacknowledged: this.unacked.length, receivedUnacknowledged: 0, deadlines: {},
      counters: { iIn: 0, iOut: this.sent.length, sIn: 0, sOut: 0, uIn: 0, uOut: 0, bytesIn: 0, bytesOut: 0 },
    };
  }

  // ---- test-side controls
  /** STARTDT act → con. */
  start(): void {
    this.setState('started');
  }
  /** STOPDT. */
  stop(): void {
    this.setState('stopped');
  }
  /** Deliver an ASDU from the master (through an encode/decode round trip). */
  deliver(a: Asdu): void {
    const r = decodeAsdu(encodeAsdu(a));
    assert.ok(r.ok);
    this.ev.asdu(r.value, new Uint8Array());
  }
  /** Acknowledge the oldest `n` (default all) unacknowledged I-frames. */
  ack(n = this.unacked.length): void {
    const tags = this.unacked.splice(0, n);
    this.ev.acknowledged?.(tags);
    if (this.wantDrain && this.canSend) {
      this.wantDrain = false;
      this.ev.drain?.();
    }
  }
  /** ASDUs sent since the last call. */
  take(): Asdu[] {
    const r = this.sent.slice(this.mark);
    this.mark = this.sent.length;
    return r;
  }
  /** ASDUs sent since the last call, then acknowledge everything (and what that lets through). */
  takeAck(): Asdu[] {
    const out: Asdu[] = [];
    for (;;) {
      const r = this.take();
      if (r.length === 0 && this.unacked.length === 0) return out;
      out.push(...r);
      this.ack();
    }
  }
  /** The connection breaks. */
  drop(): void {
    this.finish('E_PEER_CLOSED', 'dropped by test');
  }
  private finish(code: LinkCloseCode, message: string): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    this.closedWith = { code, message };
    const un = this.unacked;
    this.unacked = [];
    this.ev.close({ code, message }, un);
  }
  private setState(s: LinkState): void {
    const prev = this.state;
    if (prev === s) return;
    this.state = s;
    this.ev.stateChange?.(s, prev);
  }
}

export interface FakeHarness {
  station: ControlledStation;
  clock: VirtualClock;
  /** Wall time (ms since the epoch) seen by the station; advance with `tick`. */
  wall: { t: number };
  logs: Record<string, unknown>[];
  /** Open a connection (not started). */
  connect(): FakeLink;
  /** Open and start a connection. */
  started(): FakeLink;
  /** Advance both the virtual clock and the wall clock. */
  tick(ms: number): void;
}

export function fakeStation(opts: StationOptions = {}, k = 12): FakeHarness {
  const clock = new VirtualClock(1000);
  const wall = { t: WALL0 };
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>), time: () => 't' });
  let last: FakeLink | undefined;
  const station = createStation({
    clock,
    time: () => wall.t,
    logger,
    endOfInitialization: 'none',
    ...opts,
    linkFactory: (_o: LinkOptions, ev: LinkEvents) => (last = new FakeLink(ev, k)),
  });
  const h: FakeHarness = {
    station, clock, wall, logs,
    connect() {
      station.attach({ write: () => {}, end: () => {}, remote: 'fake' });
      return last!;
    },
    started() {
      const l = h.connect();
      l.start();
      return l;
    },
    tick(ms) {
      wall.t += ms;
      clock.advance(ms);
    },
  };
  return h;
}

/** A real controlling Link connected to the station through synchronous byte passing. */
export interface LinkPair {
  master: Link;
  conn: StationConnection;
  /** ASDUs received by the master. */
  received: Asdu[];
  take(): Asdu[];
  closed: { code: string }[];
  /** Deliver pending bytes both ways until quiet. */
  settle(): void;
  /** Master sends an ASDU (and settles). */
  send(a: Asdu): void;
}

export function linkPair(station: ControlledStation, clock: VirtualClock, params: LinkOptions['params'] = {}): LinkPair {
  const toMaster: Uint8Array[] = [];
  const toStation: Uint8Array[] = [];
  let mark = 0;
  const p: LinkPair = {
    master: undefined as unknown as Link,
    conn: undefined as unknown as StationConnection,
    received: [],
    closed: [],
    take() {
      const r = p.received.slice(mark);
      mark = p.received.length;
      return r;
    },
    settle() {
      for (let guard = 0; guard < 100_000 && (toMaster.length > 0 || toStation.length > 0); guard++) {
        const a = toStation.shift();
        if (a) p.conn.receive(a);
        const b = toMaster.shift();
        if (b) p.master.receive(b);
      }
    },
    send(a) {
      assert.ok(p.master.send(a), 'master could not send');
      p.settle();
    },
  };
  p.master = new Link({ role: 'controlling', clock, params }, {
    write: (b) => toStation.push(b),
    asdu: (a) => {
      delete a.warnings;
      p.received.push(a);
    },
    close: (r) => p.closed.push(r),
  });
  p.conn = station.attach({ write: (b) => toMaster.push(b), end: () => p.master.transportClosed('station ended transport'), remote: 'pair' });
  p.master.open();
  return p;
}

/** Short description of an ASDU for assertions: `type/cot[/neg]@ca:n`. */
export function brief(a: Asdu): string {
  return `${a.typeId}/${a.cot}${a.negative ? '-' : ''}@${a.ca}:${a.objects.length}${a.sq ? 'sq' : ''}`;
}
