/**
 * Test harness for the controlling station: an in-memory connector that pairs the master's Link
 * with a controlled-role Link, and a station scripted at the ASDU level. Bytes cross between the
 * two links asynchronously (microtasks), like a socket; time is a VirtualClock.
 */
import type { Asdu, InformationObject } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import { Link } from '../../src/link/link.js';
import type { LinkCloseReason, LinkParameters } from '../../src/link/types.js';
import type { Connector, MasterLink } from '../../src/master/connection.js';
import { ControllingStation, type ControllingStationOptions } from '../../src/master/master.js';

/** Let pending microtasks and immediates run (bytes in flight, promise callbacks). */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A received ASDU mirrored back with another cause (and P/N). */
export function mirror(a: Asdu, cot: number, negative = false): Asdu {
  return { ...a, cot, negative, objects: a.objects.map((o) => ({ ...o })) };
}

/** Build a monitor ASDU. */
export function monitor(typeId: number, ca: number, cot: number, objects: InformationObject[]): Asdu {
  return { typeId, sq: false, cot, negative: false, test: false, originator: 0, ca, objects };
}

export type Script = (a: Asdu, st: ScriptedStation) => void;

/** The controlled end of one in-memory connection, scripted at the ASDU level. */
export class ScriptedStation {
  readonly received: Asdu[] = [];
  readonly link: Link;
  closed: LinkCloseReason | undefined;
  /** Set false to stop the station from answering STARTDT (the link still does: use `mute`). */
  constructor(
    clock: VirtualClock,
    private readonly script: Script,
    toMaster: (b: Uint8Array) => void,
    onClose: () => void,
    params?: Partial<LinkParameters>,
  ) {
    this.link = new Link({ role: 'controlled', clock, params }, {
      write: toMaster,
      asdu: (a) => {
        this.received.push(a);
        this.script(a, this);
      },
      close: (r) => {
        this.closed = r;
        onClose();
      },
    });
    this.link.open();
  }
  /** Send an ASDU to the master (false when the window is full). */
  send(a: Asdu): boolean {
    return this.link.send(a);
  }
  /** Confirm (ACT_CON, or negative) a received request. */
  confirm(a: Asdu, negative = false): void {
    this.send(mirror(a, 7, negative));
  }
  /** Terminate (ACT_TERM) a received request. */
  terminate(a: Asdu): void {
    this.send(mirror(a, 10));
  }
  /** Drop the connection as if the station went away. */
  drop(): void {
    this.link.close('station dropped');
  }
}

/** Well-behaved default script: ACT_CON (+ ACT_TERM for commands, C_IC and C_CI) for everything; read answers with a float. */
export const politeScript: Script = (a, st) => {
  if (a.typeId === 102) {
    st.send(monitor(13, a.ca, 5, [{ ioa: a.objects[0].ioa, value: 42.5, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }]));
    return;
  }
  st.confirm(a);
  if (a.typeId === 100) {
    st.send(monitor(1, a.ca, a.objects[0].qoi as number, [{ ioa: 1, value: true }, { ioa: 2, value: false }]));
    st.send(monitor(13, a.ca, a.objects[0].qoi as number, [{ ioa: 100, value: 1.5 }]));
  }
  if (a.typeId === 101) st.send(monitor(15, a.ca, 37, [{ ioa: 200, value: 1234, sequence: 1 }]));
  if ((a.typeId >= 45 && a.typeId <= 51) || (a.typeId >= 58 && a.typeId <= 64) || a.typeId === 100 || a.typeId === 101) {
    if (!a.objects[0]?.select) st.terminate(a);
  }
};

/** How the next connection attempts behave. */
export type AttemptPlan = 'accept' | 'refuse' | 'hang';

/** An in-memory connector with a scripted station behind it. */
export class MemoryNetwork {
  readonly clock: VirtualClock;
  /** Clock times of each connection attempt. */
  readonly attempts: number[] = [];
  /** Stations of accepted connections, newest last. */
  readonly stations: ScriptedStation[] = [];
  /** Plans for the next attempts (consumed in order); when empty, `defaultPlan`. */
  plans: AttemptPlan[] = [];
  defaultPlan: AttemptPlan = 'accept';
  /** Station-side link parameters. */
  stationParams: Partial<LinkParameters> | undefined;
  /** Master links made. */
  readonly masterLinks: Link[] = [];

  constructor(public script: Script = politeScript, clock = new VirtualClock(1_000)) {
    this.clock = clock;
  }

  get station(): ScriptedStation {
    return this.stations[this.stations.length - 1];
  }

  readonly connector: Connector = (ctx) => {
    this.attempts.push(this.clock.now());
    const plan = this.plans.shift() ?? this.defaultPlan;
    if (plan === 'refuse') return Promise.reject(new Error('connect ECONNREFUSED (memory)'));
    if (plan === 'hang') {
      return new Promise<MasterLink>((_res, rej) => ctx.signal.addEventListener('abort', () => rej(new Error('aborted'))));
    }
    let station: ScriptedStation | undefined;
    let up = true;
    const master: Link = new Link(ctx.linkOptions, {
      ...ctx.events,
      write: (b) => {
        const copy = b.slice();
        queueMicrotask(() => station?.link.receive(copy));
      },
      close: (r, u) => {
        if (up) {
          up = false;
          queueMicrotask(() => station?.link.transportClosed('master closed'));
        }
        ctx.events.close(r, u);
      },
    });
    station = new ScriptedStation(
      this.clock,
      (a, st) => this.script(a, st),
      (b) => {
        const copy = b.slice();
        queueMicrotask(() => master.receive(copy));
      },
      () => {
        if (up) {
          up = false;
          queueMicrotask(() => master.transportClosed('station closed'));
        }
      },
      this.stationParams,
    );
    this.stations.push(station);
    this.masterLinks.push(master);
    master.open();
    return Promise.resolve(master);
  };
}

/** A master on a memory network, with the reconnect off unless given. */
export function makeMaster(net: MemoryNetwork, opts: Partial<ControllingStationOptions> = {}): ControllingStation {
  return new ControllingStation({ connector: net.connector, clock: net.clock, reconnect: false, random: () => 0.5, wallClock: () => new Date(Date.UTC(2026, 10, 21, 13, 5, 7, 123)), ...opts });
}

/** Connect a master on a fresh network and wait until started. */
export async function started(script: Script = politeScript, opts: Partial<ControllingStationOptions> = {}): Promise<{ net: MemoryNetwork; master: ControllingStation }> {
  const net = new MemoryNetwork(script);
  const master = makeMaster(net, opts);
  const p = master.connect();
  await flush();
  await p;
  return { net, master };
}

/** Mark a promise as handled now (it is asserted later, after virtual time has moved). */
export function track<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
