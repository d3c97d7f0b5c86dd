/**
 * Test builder: scripted master/station conversations encoded with the codec and decoded back,
 * delivered as ObservedApdu records with capture timestamps.
 */
import { decodeApdu, encodeApdu, type Asdu, type InformationObject, type UFunction, cp56FromDate } from '../../src/index.js';
import type { Alert, ObservedApdu } from '../../src/monitor/index.js';

export const T0 = Date.UTC(2024, 2, 4, 10, 0, 0); // Monday 2024-03-04 10:00 UTC

/** A capture being written: shared frame counter and clock for several conversations. */
export class Capture {
  readonly items: ObservedApdu[] = [];
  t: number;
  constructor(start = T0) {
    this.t = start;
  }
  push(o: Omit<ObservedApdu, 'frame' | 'ts'>): ObservedApdu {
    const rec: ObservedApdu = { frame: this.items.length + 1, ts: this.t, ...o };
    this.items.push(rec);
    return rec;
  }
  wait(ms: number): this {
    this.t += ms;
    return this;
  }
}

export type Side = 'm' | 's';

export interface ConvOptions {
  master?: string;
  station?: string;
  flow?: string;
  /** Time between consecutive frames, ms (default 5). */
  step?: number;
  /** Put `direction` on records (default false: the monitor infers it from port 2404). */
  withDirection?: boolean;
  /** Default common address (default 1). */
  ca?: number;
  /** `peerSubject` on every record of the connection (default: absent, as in a capture). */
  peerSubject?: string | null;
}

let flowCounter = 0;

/** One TCP connection between a master and a station, with automatic N(S)/N(R). */
export class Conversation {
  readonly master: string;
  readonly station: string;
  readonly flow: string;
  readonly ca: number;
  readonly peerSubject: string | null | undefined;
  private readonly step: number;
  private readonly withDirection: boolean;
  /** N(S) next, per side. */
  ns = { m: 0, s: 0 };
  /** I-frames received, per side (= N(R) it sends). */
  nr = { m: 0, s: 0 };

  constructor(readonly cap: Capture, opts: ConvOptions = {}) {
    this.master = opts.master ?? '10.0.0.1:40001';
    this.station = opts.station ?? '10.0.0.2:2404';
    this.flow = opts.flow ?? `flow-${++flowCounter}`;
    this.step = opts.step ?? 5;
    this.withDirection = opts.withDirection ?? false;
    this.ca = opts.ca ?? 1;
    this.peerSubject = opts.peerSubject;
  }

  private emit(side: Side, raw: Uint8Array): ObservedApdu {
    this.cap.t += this.step;
    const r = decodeApdu(raw);
    const base = {
      src: side === 'm' ? this.master : this.station,
      dst: side === 'm' ? this.station : this.master,
      flow: this.flow,
      raw,
      ...(this.withDirection ? { direction: side === 'm' ? ('master→station' as const) : ('station→master' as const) } : {}),
      ...(this.peerSubject !== undefined ? { peerSubject: this.peerSubject } : {}),
    };
    if (r.ok) return this.cap.push({ ...base, apdu: r.value });
    const e = r.error;
    return this.cap.push({ ...base, error: { code: e.code, offset: e.offset, field: e.field, message: e.message } });
  }

  /** Send an I-frame; sequence numbers automatic unless given. */
  i(side: Side, asdu: Partial<Asdu> & { typeId: number; cot: number; objects: InformationObject[] }, seq: { ns?: number; nr?: number } = {}): ObservedApdu {
    const other: Side = side === 'm' ? 's' : 'm';
    const full: Asdu = { sq: false, negative: false, test: false, originator: 0, ca: this.ca, ...asdu };
    const ns = seq.ns ?? this.ns[side];
    const nr = seq.nr ?? this.nr[side];
    if (seq.ns === undefined) this.ns[side] = (this.ns[side] + 1) & 0x7fff;
    this.nr[other] = (this.nr[other] + 1) & 0x7fff;
    return this.emit(side, encodeApdu({ apci: { format: 'I', sendSeq: ns, recvSeq: nr }, asdu: full }));
  }

  /** S-frame acknowledging everything this side received. */
  ack(side: Side, nr?: number): ObservedApdu {
    return this.emit(side, encodeApdu({ apci: { format: 'S', recvSeq: nr ?? this.nr[side] } }));
  }

  u(side: Side, fn: UFunction): ObservedApdu {
    return this.emit(side, encodeApdu({ apci: { format: 'U', uFunction: fn } }));
  }

  /** Arbitrary bytes as one APDU (malformed frames). */
  raw(side: Side, bytes: number[] | Uint8Array): ObservedApdu {
    return this.emit(side, Uint8Array.from(bytes));
  }

  // ---- scripted exchanges

  startdt(): this {
    this.u('m', 'STARTDT_ACT');
    this.u('s', 'STARTDT_CON');
    return this;
  }

  testfr(from: Side = 'm'): this {
    this.u(from, 'TESTFR_ACT');
    this.u(from === 'm' ? 's' : 'm', 'TESTFR_CON');
    return this;
  }

  /** General interrogation with `points` single points (IOA 100..) and one measurement (IOA 200). */
  gi(points = 6, ca = this.ca): this {
    this.i('m', { typeId: 100, cot: 6, ca, objects: [{ ioa: 0, qoi: 20 }] });
    this.i('s', { typeId: 100, cot: 7, ca, objects: [{ ioa: 0, qoi: 20 }] });
    const objs = Array.from({ length: points }, (_, k) => ({ ioa: 100 + k, value: k % 2 === 0, quality: {} }));
    this.i('s', { typeId: 1, cot: 20, ca, objects: objs });
    this.i('s', { typeId: 13, cot: 20, ca, objects: [{ ioa: 200, value: 49.98, quality: {} }] });
    this.i('s', { typeId: 100, cot: 10, ca, objects: [{ ioa: 0, qoi: 20 }] });
    this.ack('m');
    return this;
  }

  /** Spontaneous measurement and single point from the station, acknowledged by the master. */
  spont(value = 50.01): this {
    this.i('s', { typeId: 36, cot: 3, objects: [{ ioa: 200, value, quality: {}, time: cp56FromDate(new Date(this.cap.t)) }] });
    this.i('s', { typeId: 30, cot: 3, objects: [{ ioa: 101, value: true, quality: {}, time: cp56FromDate(new Date(this.cap.t)) }] });
    this.ack('m');
    return this;
  }

  /** Select-before-operate of a command (typeId 45 single / 46 double) with positive answers and return information. */
  sbo(typeId: 45 | 46, ioa: number, value: boolean | number, opts: { ca?: number } = {}): this {
    const ca = opts.ca ?? this.ca;
    this.i('m', { typeId, cot: 6, ca, objects: [{ ioa, value, select: true, qu: 0 }] });
    this.i('s', { typeId, cot: 7, ca, objects: [{ ioa, value, select: true, qu: 0 }] });
    this.cap.wait(200);
    this.i('m', { typeId, cot: 6, ca, objects: [{ ioa, value, select: false, qu: 0 }] });
    this.i('s', { typeId, cot: 7, ca, objects: [{ ioa, value, select: false, qu: 0 }] });
    this.cap.wait(300);
    const fb = typeId === 45 ? { typeId: 30, value } : { typeId: 31, value };
    this.i('s', { typeId: fb.typeId, cot: 11, ca, objects: [{ ioa: ioa - 4000, value: fb.value, quality: {}, time: cp56FromDate(new Date(this.cap.t)) }] });
    this.i('s', { typeId, cot: 10, ca, objects: [{ ioa, value, select: false, qu: 0 }] });
    this.ack('m');
    return this;
  }

  /** Direct-execute set-point (short float) with confirmation and termination. */
  setpoint(ioa: number, value: number, ca = this.ca): this {
    this.i('m', { typeId: 50, cot: 6, ca, objects: [{ ioa, value, ql: 0, select: false }] });
    this.i('s', { typeId: 50, cot: 7, ca, objects: [{ ioa, value, ql: 0, select: false }] });
    this.i('s', { typeId: 50, cot: 10, ca, objects: [{ ioa, value, ql: 0, select: false }] });
    this.ack('m');
    return this;
  }

  clockSync(ca = this.ca): this {
    const time = cp56FromDate(new Date(this.cap.t));
    this.i('m', { typeId: 103, cot: 6, ca, objects: [{ ioa: 0, time }] });
    this.i('s', { typeId: 103, cot: 7, ca, objects: [{ ioa: 0, time }] });
    this.ack('m');
    return this;
  }

  /** Single command direct execute (no select) with answers. */
  command(typeId: 45 | 46, ioa: number, value: boolean | number, ca = this.ca, answer: 'positive' | 'negative' | 'none' = 'positive'): this {
    this.i('m', { typeId, cot: 6, ca, objects: [{ ioa, value, select: false, qu: 0 }] });
    if (answer === 'none') return this;
    this.i('s', { typeId, cot: 7, ca, negative: answer === 'negative', objects: [{ ioa, value, select: false, qu: 0 }] });
    if (answer === 'positive') this.i('s', { typeId, cot: 10, ca, objects: [{ ioa, value, select: false, qu: 0 }] });
    this.ack('m');
    return this;
  }
}

/**
 * A normal session: STARTDT, end of initialisation, GI, spontaneous data, SBO single and double
 * commands, a direct set-point, clock sync, TESTFR on idle, and `cycles` more minutes of periodic
 * GI (every 60 s) with spontaneous data and TESTFR every 20 s.
 */
export function normalSession(cap: Capture, conv: Conversation = new Conversation(cap), cycles = 3): Conversation {
  conv.startdt();
  conv.i('s', { typeId: 70, cot: 4, objects: [{ ioa: 0, cause: 0, localChange: false }] });
  conv.clockSync();
  let next = cap.t + 60000;
  conv.gi();
  cap.wait(1000);
  conv.spont();
  cap.wait(2000);
  conv.sbo(45, 4101, true);
  cap.wait(2000);
  conv.sbo(46, 4102, 2);
  cap.wait(1000);
  conv.setpoint(6000, 12.5);
  for (let c = 0; c < cycles; c++) {
    // 60-s cycle: GI at the start, spontaneous data, TESTFR during the quiet 20-s stretches
    idle(conv, next);
    next += 60000;
    conv.gi();
    cap.wait(5000);
    conv.spont(50 + c / 100);
  }
  idle(conv, next);
  return conv;
}

/** Stay idle until `until`, with TESTFR from the master every 20 s (t3). */
export function idle(conv: Conversation, until: number): void {
  while (until - conv.cap.t > 20000) {
    conv.cap.wait(20000);
    conv.testfr();
  }
  conv.cap.t = until;
}

/** Rules in a list of alerts. */
export function rulesOf(alerts: readonly Alert[]): string[] {
  return [...new Set(alerts.map((a) => a.rule))].sort();
}

/** Short text of alerts for assertion messages. */
export function show(alerts: readonly Alert[]): string {
  return alerts.map((a) => `#${a.frame} ${a.rule}: ${a.message}`).join('\n');
}
