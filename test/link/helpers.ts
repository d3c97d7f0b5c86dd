/**
 * Scripted peer helpers for link tests: frame builders and a link wired to recorders.
 */
import { encodeIFrame } from '../../src/codec/apdu.js';
import { encodeSFrame, encodeUFrame, type UFunction } from '../../src/codec/apci.js';
import type { Asdu } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import { Link } from '../../src/link/link.js';
import type { LinkCloseReason, LinkParameters, LinkRole, LinkState } from '../../src/link/types.js';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A measured value M_ME_NC_1 with IOA `ioa` and value `v`. */
export function measured(ioa: number, v = 1.5): Asdu {
  return { typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa, value: v }] };
}

export const U = (fn: UFunction): Uint8Array => encodeUFrame(fn);
export const S = (nr: number): Uint8Array => encodeSFrame(nr);
export const I = (ns: number, nr: number, asdu: Asdu = measured(ns)): Uint8Array => encodeIFrame(ns, nr, asdu);

export const STARTDT_ACT = '680407000000';
export const STARTDT_CON = '68040b000000';
export const STOPDT_ACT = '680413000000';
export const STOPDT_CON = '680423000000';
export const TESTFR_ACT = '680443000000';
export const TESTFR_CON = '680483000000';
export const sHex = (nr: number): string => hex(S(nr));
/** The first 6 bytes (APCI) of an I-frame with these numbers, as hex. */
export const iApci = (ns: number, nr: number): string => hex(I(ns, nr)).slice(0, 12);

export interface Harness {
  link: Link;
  clock: VirtualClock;
  /** Every write, as hex. */
  out: string[];
  /** Writes since the last `take()`, and clear. */
  take(): string[];
  asdus: { asdu: Asdu; frame: Uint8Array }[];
  acked: unknown[][];
  states: [LinkState, LinkState][];
  drains: number;
  closes: { reason: LinkCloseReason; unacknowledged: unknown[] }[];
  /** Events emitted after close (must stay empty). */
  afterClose: string[];
  feed(...frames: Uint8Array[]): void;
}

export function harness(role: LinkRole, params: Partial<LinkParameters> = {}, opts: { open?: boolean; start?: boolean } = {}): Harness {
  const clock = new VirtualClock(1000);
  let mark = 0;
  const h: Harness = {
    link: undefined as unknown as Link,
    clock,
    out: [],
    take() {
      const r = h.out.slice(mark);
      mark = h.out.length;
      return r;
    },
    asdus: [],
    acked: [],
    states: [],
    drains: 0,
    closes: [],
    afterClose: [],
    feed(...frames) {
      for (const f of frames) h.link.receive(f);
    },
  };
  const guard = (name: string): void => {
    if (h.closes.length > 0) h.afterClose.push(name);
  };
  h.link = new Link(
    { role, clock, params },
    {
      write: (b) => {
        guard('write');
        h.out.push(hex(b));
      },
      asdu: (asdu, frame) => {
        guard('asdu');
        h.asdus.push({ asdu, frame });
      },
      acknowledged: (tags) => {
        guard('acknowledged');
        h.acked.push(tags);
      },
      stateChange: (s, p) => {
        guard('stateChange');
        h.states.push([s, p]);
      },
      drain: () => {
        guard('drain');
        h.drains++;
      },
      close: (reason, unacknowledged) => {
        guard('close');
        h.closes.push({ reason, unacknowledged });
      },
    },
  );
  if (opts.open !== false) h.link.open();
  if (opts.start) {
    if (role === 'controlled') h.link.receive(U('STARTDT_ACT'));
    else {
      h.link.start();
      h.link.receive(U('STARTDT_CON'));
    }
    h.take();
  }
  return h;
}

/** Two links wired back to back in memory; `pump()` delivers written bytes until quiet. */
export function pair(params: Partial<LinkParameters> = {}, clock = new VirtualClock()) {
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  const got = { a: [] as Asdu[], b: [] as Asdu[] };
  const closes: LinkCloseReason[] = [];
  const drains = { a: 0, b: 0 };
  const a = new Link({ role: 'controlled', clock, params }, {
    write: (x) => toB.push(x),
    asdu: (x) => got.a.push(x),
    drain: () => drains.a++,
    close: (r) => closes.push(r),
  });
  const b = new Link({ role: 'controlling', clock, params }, {
    write: (x) => toA.push(x),
    asdu: (x) => got.b.push(x),
    drain: () => drains.b++,
    close: (r) => closes.push(r),
  });
  a.open();
  b.open();
  const pump = (): void => {
    while (toA.length || toB.length) {
      if (toA.length) a.receive(Buffer.concat(toA.splice(0)));
      if (toB.length) b.receive(Buffer.concat(toB.splice(0)));
    }
  };
  return { a, b, got, closes, drains, pump, clock };
}
