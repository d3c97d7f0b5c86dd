/**
 * Built-in test suites run against a controlled station:
 *
 * - `conformance`: the link layer (STARTDT, TESTFR, k, w, t1) and the application procedures
 *   (station interrogation, refusals with causes 44..47, select-before-operate, time-tagged
 *   commands, clock synchronisation) behave as IEC 60870-5-104 (and the IEC 60870-5-101
 *   procedures it uses) require;
 * - `robustness`: malformed APDUs, wrong lengths, junk, sequence errors, I-frames before STARTDT
 *   and bounded floods are closed or refused as the standard says, and the station still accepts
 *   a clean connection afterwards.
 *
 * Every check states what it expects and why, and reports pass, fail or skip (with the reason).
 * Every wait is an option ({@link SuiteTiming}) so that tests can shrink them; the defaults suit
 * real devices with the standard's parameters.
 *
 * Commands are sent only to the points named by the options (`ioaSingle`, `ioaSbo`): those
 * points may operate. Use test points, never live plant equipment.
 */
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { encodeUFrame } from '../codec/apci.js';
import type { Asdu } from '../codec/asdu.js';
import { COT } from '../codec/cause.js';
import { encodeIFrame } from '../codec/apdu.js';
import { TypeId, familyOf, typeInfo } from '../codec/type-table.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';
import type { Clock } from '../clock.js';
import { buildAsdu, describeAsdu, isMirrorOf } from './asdu-tools.js';
import { ConnectFailure, delay, formatTarget, refClock, type Target, TestConnection } from './connection.js';
import type { CaseResult, SuiteResult } from './report.js';

/** Names of the built-in suites. */
export type SuiteName = 'conformance' | 'robustness';

/** The station's APCI parameters the checks compare against (defaults: the standard's). */
export interface PeerParameters {
  /** Default 12. */
  k?: number;
  /** Default 8. */
  w?: number;
  /** Default 15 000 ms. */
  t1?: number;
  /** Default 10 000 ms. */
  t2?: number;
}

/** Every wait of the suites (ms). */
export interface SuiteTiming {
  /** Connection establishment time-out. Default 10 000. */
  t0?: number;
  /** Time allowed for an answer (STARTDT con, ACT_CON, mirrored refusal). Default 5 000. */
  answer?: number;
  /** Time allowed for a whole station interrogation. Default 30 000. */
  interrogation?: number;
  /** Tolerance added to t1/t2 deadlines. Default 1 000. */
  margin?: number;
  /** Silence after which a burst of frames is considered over. Default 500. */
  settle?: number;
  /** The station's select timeout (the expired-select check waits this plus `margin`). Default 10 000. */
  selectTimeout?: number;
  /** Age of the stale time tag. Default 3 600 000 (one hour). */
  staleAge?: number;
  /** Time allowed to close the connection after a protocol violation. Default 5 000. */
  closeWait?: number;
  /** Frames sent by a flood check. Default 500. */
  floodCount?: number;
  /** Upper bound of a flood's duration. Default 5 000. */
  floodMs?: number;
  /** Simultaneous connections opened by the connection-flood check. Default 20. */
  floodConnections?: number;
  /** Pause before the recovery connection after a violation. Default 200. */
  recoveryDelay?: number;
}

/** Options of {@link runSuite}. */
export interface SuiteOptions {
  target: Target;
  /** Common address of the station. Default 1. */
  ca?: number;
  /** Single-command points (C_SC_NA_1, direct execute) used for time-tagged command checks. */
  ioaSingle?: number[];
  /** A command point configured for select-before-operate. */
  ioaSbo?: number;
  /** Command type of the select-before-operate point: `single` (C_SC_NA_1, default) or `double` (C_DC_NA_1). */
  sboType?: 'single' | 'double';
  /** Value the single commands send (default ON). */
  commandValue?: boolean;
  /** An IOA the station does not have. Default 16 777 200 (0xFFFFF0). */
  unknownIoa?: number;
  /** A common address the station does not have. Default `ca + 1` (1 when `ca` is 65534). */
  unknownCa?: number;
  /** A type identification the station does not support. Default 24 (reserved by the standard). */
  unknownType?: number;
  /** IOA for read commands (C_RD_NA_1) of the w check. Default: the first IOA the interrogation returned. */
  ioaRead?: number;
  peer?: PeerParameters;
  timing?: SuiteTiming;
  /** Run only these check ids (e.g. `C04`, `R07`). */
  only?: string[];
  tls?: tls.ConnectionOptions;
  clock?: Clock;
  connect?: (host: string, port: number) => Duplex;
  /** Progress: called after each check. */
  onCheck?: (c: CaseResult) => void;
  /** Wall clock (time tags, report). */
  now?: () => Date;
}

/** A check's definition: what it expects and why. */
export interface CheckInfo {
  id: string;
  title: string;
  /** The expected behaviour and the reason (the clause, in words). */
  expectation: string;
}

interface Outcome {
  status: 'pass' | 'fail' | 'skip';
  message: string;
}

const pass = (message: string): Outcome => ({ status: 'pass', message });
const fail = (message: string): Outcome => ({ status: 'fail', message });
const skip = (message: string): Outcome => ({ status: 'skip', message });

/**
 * Causes of monitor data a station may send while an interrogation runs (C03): cyclic, background
 * scan, spontaneous, end of initialisation, return information. The standard orders neither these
 * nor the interrogated objects among each other.
 */
const INTERLEAVING_CAUSES: ReadonlySet<number> = new Set([COT.PERIODIC, COT.BACKGROUND, COT.SPONTANEOUS, COT.INITIALIZED, COT.RETURN_REMOTE, COT.RETURN_LOCAL]);

interface Check extends CheckInfo {
  run(h: Harness): Promise<Outcome>;
}

/**
 * A check that sends one request on a fresh started session and expects the station to mirror it
 * with the refusal cause `cot` (44..47); `negativeRequired`: P/N=0 with that cause is a failure,
 * otherwise only noted.
 */
function refusalCheck(id: string, title: string, expectation: string, cot: number, negativeRequired: boolean, build: (h: Harness) => { asdu: Asdu; what?: string }): Check {
  return {
    id,
    title,
    expectation,
    async run(h) {
      const c = await h.session();
      try {
        const { asdu, what } = build(h);
        const a = await h.request(c, asdu);
        if (!a) return fail(c.closed ? `the station closed the connection (a refusal with COT ${cot} was expected)` : `no answer${what ? ` for ${what}` : ''} within ${h.tm.answer} ms`);
        if (a.cot !== cot) return fail(`answered ${describeAsdu(a)} instead of COT ${cot}`);
        if (negativeRequired && !a.negative) return fail(`COT ${cot} but P/N=0 (positive): ${describeAsdu(a)}`);
        return pass(`${describeAsdu(a)}${a.negative ? '' : ' (note: P/N=0)'}`);
      } finally {
        c.close(100);
      }
    },
  };
}

class Harness {
  readonly clock: Clock;
  readonly ca: number;
  readonly k: number;
  readonly w: number;
  readonly t1: number;
  readonly t2: number;
  readonly tm: Required<SuiteTiming>;
  readonly conns = new Set<TestConnection>();
  /** Filled by the interrogation check. */
  firstIoa: number | undefined;
  startdtOk: boolean | undefined;
  freshTimedOk: boolean | undefined;
  /** Set when a recovery connection failed: later checks are skipped. */
  dead: string | undefined;

  constructor(readonly o: SuiteOptions) {
    this.clock = o.clock ?? refClock;
    this.ca = o.ca ?? 1;
    this.k = o.peer?.k ?? DEFAULT_LINK_PARAMETERS.k;
    this.w = o.peer?.w ?? DEFAULT_LINK_PARAMETERS.w;
    this.t1 = o.peer?.t1 ?? DEFAULT_LINK_PARAMETERS.t1;
    this.t2 = o.peer?.t2 ?? DEFAULT_LINK_PARAMETERS.t2;
    const t = o.timing ?? {};
    this.tm = {
      t0: t.t0 ?? 10_000,
      answer: t.answer ?? 5_000,
      interrogation: t.interrogation ?? 30_000,
      margin: t.margin ?? 1_000,
      settle: t.settle ?? 500,
      selectTimeout: t.selectTimeout ?? 10_000,
      staleAge: t.staleAge ?? 3_600_000,
      closeWait: t.closeWait ?? 5_000,
      floodCount: t.floodCount ?? 500,
      floodMs: t.floodMs ?? 5_000,
      floodConnections: t.floodConnections ?? 20,
      recoveryDelay: t.recoveryDelay ?? 200,
    };
  }

  now(): Date {
    return (this.o.now ?? (() => new Date()))();
  }

  /** Connect (no STARTDT). Throws an Error with a readable message. */
  async connect(opts: { autoAck?: boolean } = {}): Promise<TestConnection> {
    try {
      const c = await TestConnection.connect(this.o.target, { clock: this.clock, t0: this.tm.t0, tls: this.o.tls, connect: this.o.connect, autoAck: opts.autoAck ?? true, w: this.w, t2: Math.max(1, Math.floor(this.t2 / 2)) });
      this.conns.add(c);
      return c;
    } catch (e) {
      if (e instanceof ConnectFailure) throw new Error(`cannot connect: ${e.code}: ${e.message}`);
      throw e;
    }
  }

  /** Connect and start data transfer. */
  async session(opts: { autoAck?: boolean } = {}): Promise<TestConnection> {
    const c = await this.connect(opts);
    if (!(await c.startdt(this.tm.answer))) {
      c.close(100);
      throw new Error(c.closed?.by === 'peer' ? 'the station closed the connection instead of confirming STARTDT' : `no STARTDT con within ${this.tm.answer} ms`);
    }
    return c;
  }

  /** Send `asdu` and wait for its first reply (mirror: same type, CA and IOA) other than spontaneous/interrogated data. */
  async request(c: TestConnection, asdu: Asdu, timeout = this.tm.answer): Promise<Asdu | undefined> {
    c.sendAsdu(asdu);
    const x = await c.takeAsdu((a) => isMirrorOf(a, asdu) && a.cot !== COT.SPONTANEOUS && a.cot !== COT.ACTIVATION_TERMINATION, timeout);
    return x?.asdu;
  }

  command(ioa: number, opts: { select?: boolean; time?: unknown; type?: number } = {}): Asdu {
    const type = opts.type ?? TypeId.C_SC_NA_1;
    const on = this.o.commandValue ?? true;
    const value = familyOf(type) === 'double' ? (on ? 'on' : 'off') : on;
    return buildAsdu({ type, ca: this.ca, ioa, value, select: opts.select ?? false, ...(opts.time !== undefined ? { time: opts.time } : {}) }, () => this.now());
  }

  /** A command to the select-before-operate point. */
  sbo(select: boolean): Asdu {
    return this.command(this.o.ioaSbo!, { select, type: this.o.sboType === 'double' ? TypeId.C_DC_NA_1 : TypeId.C_SC_NA_1 });
  }

  /** A clean session works: connect, STARTDT con, TESTFR con. Retries twice (the station may still be releasing the previous connection). */
  async recovers(): Promise<string | undefined> {
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      await delay(this.clock, this.tm.recoveryDelay * (attempt + 1));
      let c: TestConnection | undefined;
      try {
        c = await this.session();
        if (!(await c.testfr(this.tm.answer))) {
          last = 'no TESTFR con on the new connection';
          continue;
        }
        return undefined;
      } catch (e) {
        last = (e as Error).message;
      } finally {
        c?.close(100);
      }
    }
    this.dead = `the station stopped accepting connections (${last})`;
    return `the station did not accept a clean connection afterwards: ${last}`;
  }

  closeAll(): void {
    for (const c of this.conns) if (!c.closed) c.destroy();
    this.conns.clear();
  }
}

function ms(n: number): string {
  return `${Math.round(n)} ms`;
}

function reply(a: Asdu | undefined): string {
  return a ? describeAsdu(a) : 'no answer';
}

// ---------------------------------------------------------------------------------------------
// conformance

const CONFORMANCE: Check[] = [
  {
    id: 'C01',
    title: 'STARTDT act is confirmed',
    expectation: 'STARTDT con within t1 (clause 5.3: the controlled station confirms STARTDT act with STARTDT con before any I-frame may flow)',
    async run(h) {
      const c = await h.connect();
      const t = h.clock.now();
      const ok = await c.startdt(Math.min(h.t1, h.tm.answer));
      h.startdtOk = ok;
      c.close(100);
      if (!ok) return fail(c.closed?.by === 'peer' ? 'the station closed the connection instead' : `no STARTDT con within ${Math.min(h.t1, h.tm.answer)} ms`);
      return pass(`STARTDT con after ${ms(h.clock.now() - t)}`);
    },
  },
  {
    id: 'C02',
    title: 'TESTFR act is confirmed, before and after STARTDT',
    expectation: 'TESTFR con within t1 in both states (clause 5.2, test procedure: a TESTFR act is answered with TESTFR con whether or not data transfer is started)',
    async run(h) {
      const c = await h.connect();
      try {
        const t = h.clock.now();
        if (!(await c.testfr(h.tm.answer))) return fail(`no TESTFR con before STARTDT (stopped state) within ${h.tm.answer} ms`);
        const t1 = h.clock.now() - t;
        if (!(await c.startdt(h.tm.answer))) return skip('STARTDT not confirmed');
        const t2 = h.clock.now();
        if (!(await c.testfr(h.tm.answer))) return fail(`no TESTFR con after STARTDT within ${h.tm.answer} ms`);
        return pass(`TESTFR con ${ms(t1)} (stopped), ${ms(h.clock.now() - t2)} (started)`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C03',
    title: 'station interrogation: ACT_CON, objects with COT 20, ACT_TERM',
    expectation: 'C_IC_NA_1 act is confirmed with ACT_CON (COT 7), the objects follow with COT 20 (interrogated by station interrogation), and ACT_TERM (COT 10) ends it (IEC 60870-5-101 station interrogation procedure, used by IEC 60870-5-104)',
    async run(h) {
      const c = await h.session();
      try {
        const asdu = buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, qualifier: 20 });
        const t = h.clock.now();
        const con = await h.request(c, asdu);
        if (!con) return fail(c.closed ? 'the station closed the connection' : `no ACT_CON within ${h.tm.answer} ms`);
        if (con.negative || con.cot !== COT.ACTIVATION_CON) return fail(`refused: ${describeAsdu(con)}`);
        let objects = 0;
        let interleaved = 0;
        const wrong: string[] = [];
        const term = await c.until(() => {
          for (let x = c.inbox.shift(); x; x = c.inbox.shift()) {
            const a = x.asdu;
            if (a.typeId === TypeId.C_IC_NA_1) {
              if (a.cot === COT.ACTIVATION_TERMINATION) return a;
              continue;
            }
            if (a.cot === COT.INTERROGATED_STATION) {
              objects += a.objects.length;
              if (h.firstIoa === undefined && a.objects.length) h.firstIoa = a.objects[0].ioa;
            } else if (INTERLEAVING_CAUSES.has(a.cot) && typeInfo(a.typeId)?.direction === 'monitor') interleaved++;
            else wrong.push(describeAsdu(a));
          }
          return c.closed ? null : undefined;
        }, h.tm.interrogation);
        if (!term) return fail(`${objects} object(s) with COT 20, then ${c.closed ? 'the connection closed' : `no ACT_TERM within ${h.tm.interrogation} ms`}`);
        if (term.negative) return fail(`ACT_TERM carries P/N=1: ${describeAsdu(term)}`);
        if (wrong.length) return fail(`${wrong.length} ASDU(s) during the interrogation that are neither its objects (COT 20) nor monitor data a station may send meanwhile (cyclic 1, background 2, spontaneous 3, end of initialisation 4, return information 11/12): ${wrong.slice(0, 3).join(' | ')}`);
        const other = interleaved ? `, ${interleaved} other monitor ASDU(s) interleaved (allowed)` : '';
        return pass(`ACT_CON, ${objects} object(s) with COT 20${other}, ACT_TERM after ${ms(h.clock.now() - t)}`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C04',
    title: 'honours k: at most k unacknowledged I-frames',
    expectation: 'with our acknowledgements withheld, the station stops sending after k I-frames (clause 5.5: a sender may have at most k I-frames unacknowledged; default k = 12)',
    async run(h) {
      const c = await h.session({ autoAck: false });
      try {
        // an interrogation plus k + 4 read commands: every request is answered with at least
        // one I-frame (data or a negative mirror), so the station has more than k to send
        const ioa = h.o.ioaRead ?? h.firstIoa ?? h.o.ioaSingle?.[0] ?? 1;
        c.sendAsdu(buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, qualifier: 20 }));
        for (let i = 0; i < h.k + 4; i++) c.sendAsdu(buildAsdu({ type: TypeId.C_RD_NA_1, ca: h.ca, ioa, cot: COT.REQUEST }));
        // collect until the station falls silent; acknowledge well before its t1 runs out
        await c.waitQuiet(h.tm.settle, Math.max(h.tm.settle, Math.floor(h.t1 / 2)));
        const n = c.maxPeerOutstanding;
        const closed = c.closed;
        if (n > h.k) return fail(`${n} I-frames unacknowledged at once, more than k = ${h.k}`);
        if (closed) return fail(`the station closed the connection while ${n} I-frame(s) were unacknowledged (before t1 = ${h.t1} ms)`);
        const before = c.counts.iIn;
        c.sendS();
        if (n < h.k) return skip(`the station stopped at ${n} unacknowledged I-frame(s), fewer than k = ${h.k}: its k is smaller (give --k) or it had no more to send`);
        const resumed = await c.waitFrame((f) => f.apdu?.apci.format === 'I', h.tm.answer);
        return pass(`stopped at exactly k = ${h.k} unacknowledged I-frames${resumed ? ' and resumed after our S-frame' : ''} (${before} I-frames before the S-frame)`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C05',
    title: 'honours w: acknowledges after w I-frames',
    expectation: 'after receiving w of our I-frames the station acknowledges them at once (S-frame, or N(R) in its own I-frames), and any I-frame within t2 (clause 5.5: the receiver acknowledges at the latest after w I-frames or when t2 runs out; default w = 8, t2 = 10 s)',
    async run(h) {
      const c = await h.session();
      try {
        const ioa = h.o.ioaRead ?? h.firstIoa ?? h.o.ioaSingle?.[0] ?? 1;
        const t = h.clock.now();
        for (let i = 0; i < h.w; i++) c.sendAsdu(buildAsdu({ type: TypeId.C_RD_NA_1, ca: h.ca, ioa, cot: COT.REQUEST }));
        const prompt = await c.waitAcknowledged(h.tm.margin);
        if (prompt) return pass(`${h.w} read commands (C_RD_NA_1 IOA ${ioa}) acknowledged after ${ms(h.clock.now() - t)}`);
        if (c.closed) return fail('the station closed the connection');
        const late = await c.waitAcknowledged(h.t2 + h.tm.margin);
        if (late) return fail(`${h.w} I-frames were acknowledged only after ${ms(h.clock.now() - t)}: the station waits for t2 instead of acknowledging after w = ${h.w} frames (or its w is larger)`);
        return fail(`${c.unacknowledged} of our ${h.w} I-frames still unacknowledged after ${ms(h.clock.now() - t)} (t2 = ${h.t2} ms): no S-frames in time`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C06',
    title: 'closes the connection on t1',
    expectation: 'when we stop acknowledging, the station closes the connection t1 after its oldest unacknowledged I-frame (clause 5.5 and 5.2: time-out t1 expired, the connection is closed; default t1 = 15 s)',
    async run(h) {
      const c = await h.session({ autoAck: false });
      try {
        c.sendAsdu(buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, qualifier: 20 }));
        const first = await c.waitFrame((f) => f.apdu?.apci.format === 'I', h.tm.answer, 0);
        if (!first) return skip(c.closed ? 'the station closed the connection before sending an I-frame' : 'the station sent no I-frame to leave unacknowledged');
        const limit = h.t1 + h.tm.margin;
        const left = Math.max(0, first.at + limit - h.clock.now());
        const closed = await c.waitClosed(left);
        if (!closed) return fail(`still open ${ms(h.clock.now() - first.at)} after an unacknowledged I-frame (t1 = ${h.t1} ms, margin ${h.tm.margin} ms)`);
        const after = c.closed!.at - first.at;
        if (after < h.t1 - h.tm.margin) return pass(`closed ${ms(after)} after the first unacknowledged I-frame (earlier than t1 = ${h.t1} ms: its t1 is shorter)`);
        return pass(`closed ${ms(after)} after the first unacknowledged I-frame (t1 = ${h.t1} ms)`);
      } finally {
        c.close(100);
      }
    },
  },
  refusalCheck('C07', 'refuses an unknown type identification with COT 44',
    'an ASDU of a type the station does not support is mirrored with COT 44 (unknown type identification) and P/N=1 (IEC 60870-5-101 clause 7.2.3 causes of transmission; IEC 60870-5-104 clause 7)',
    COT.UNKNOWN_TYPE, false, (h) => ({ asdu: buildAsdu({ type: h.o.unknownType ?? 24, ca: h.ca, ioa: 0 }) })),
  refusalCheck('C08', 'refuses an unknown cause of transmission with COT 45',
    'C_IC_NA_1 with cause 5 (request), which the type does not allow, is mirrored with COT 45 (unknown cause of transmission) and P/N=1 (IEC 60870-5-101 clause 7.2.3)',
    COT.UNKNOWN_CAUSE, false, (h) => ({ asdu: buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, cot: COT.REQUEST, qualifier: 20 }) })),
  refusalCheck('C09', 'refuses an unknown common address with COT 46',
    'an interrogation of a common address the station does not have is mirrored with COT 46 (unknown common address of ASDU) and P/N=1 (IEC 60870-5-101 clause 7.2.3)',
    COT.UNKNOWN_CA, false, (h) => {
      const ca = h.o.unknownCa ?? (h.ca >= 65534 ? 1 : h.ca + 1);
      return { asdu: buildAsdu({ type: TypeId.C_IC_NA_1, ca, qualifier: 20 }), what: `CA ${ca}` };
    }),
  refusalCheck('C10', 'refuses a command to an unknown IOA with COT 47',
    'a single command to an information object address the station does not have is mirrored with COT 47 (unknown information object address) and P/N=1; a positive confirmation means it accepts commands for objects it does not have (IEC 60870-5-101 clause 7.2.3)',
    COT.UNKNOWN_IOA, true, (h) => {
      const ioa = h.o.unknownIoa ?? 0xfffff0;
      return { asdu: h.command(ioa), what: `IOA ${ioa}` };
    }),
  {
    id: 'C11',
    title: 'select-before-operate works (select, then execute)',
    expectation: 'on a select-before-operate point, a select (S/E=1) and then an execute (S/E=0) are both confirmed positively (IEC 60870-5-101 clause 7.4.7, command transmission with select and execute)',
    async run(h) {
      if (h.o.ioaSbo === undefined) return skip('no select-before-operate point given (--ioa-sbo)');
      const c = await h.session();
      try {
        const sel = await h.request(c, h.sbo(true));
        if (!sel || sel.negative || sel.cot !== COT.ACTIVATION_CON) return fail(`select: ${reply(sel)}`);
        const exe = await h.request(c, h.sbo(false));
        if (!exe || exe.negative || exe.cot !== COT.ACTIVATION_CON) return fail(`execute after select: ${reply(exe)}`);
        return pass('select and execute confirmed positively');
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C12',
    title: 'refuses execute without select',
    expectation: 'on a select-before-operate point, an execute with no preceding select is answered with a negative ACT_CON (P/N=1) and not executed (IEC 60870-5-101 clause 7.4.7: the execute must follow a confirmed select)',
    async run(h) {
      if (h.o.ioaSbo === undefined) return skip('no select-before-operate point given (--ioa-sbo)');
      const c = await h.session();
      try {
        const exe = await h.request(c, h.sbo(false));
        if (!exe) return fail(c.closed ? 'the station closed the connection' : `no answer within ${h.tm.answer} ms (a negative ACT_CON is required)`);
        if (!exe.negative) return fail(`executed without select: ${describeAsdu(exe)}`);
        return pass(`refused: ${describeAsdu(exe)}`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C13',
    title: 'refuses execute after the select timed out',
    expectation: 'an execute that comes after the station\'s select timeout is refused (negative ACT_CON): the selection expired (IEC 60870-5-101 clause 7.4.7, select-before-operate with a supervision time)',
    async run(h) {
      if (h.o.ioaSbo === undefined) return skip('no select-before-operate point given (--ioa-sbo)');
      const c = await h.session();
      try {
        const sel = await h.request(c, h.sbo(true));
        if (!sel || sel.negative) return skip(`the select itself was not confirmed (${reply(sel)})`);
        await delay(h.clock, h.tm.selectTimeout + h.tm.margin);
        if (c.closed) return fail('the station closed the connection while waiting');
        const exe = await h.request(c, h.sbo(false));
        if (!exe) return fail(`no answer to the late execute within ${h.tm.answer} ms (a negative ACT_CON is required)`);
        if (!exe.negative) return fail(`executed ${ms(h.tm.selectTimeout + h.tm.margin)} after the select (select timeout ${h.tm.selectTimeout} ms): ${describeAsdu(exe)}`);
        return pass(`refused after ${ms(h.tm.selectTimeout + h.tm.margin)}: ${describeAsdu(exe)}`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C14',
    title: 'clock synchronisation is confirmed',
    expectation: 'C_CS_NA_1 act with the current time is confirmed with ACT_CON (COT 7), P/N=0 (IEC 60870-5-104 clause 7, clock synchronisation procedure). Note: this sets the station clock to this machine\'s UTC time',
    async run(h) {
      const c = await h.session();
      try {
        const t = h.clock.now();
        const a = await h.request(c, buildAsdu({ type: TypeId.C_CS_NA_1, ca: h.ca, ioa: 0, time: h.now() }));
        if (!a) return fail(c.closed ? 'the station closed the connection' : `no answer within ${h.tm.answer} ms`);
        if (a.negative || a.cot !== COT.ACTIVATION_CON) return fail(`answered ${describeAsdu(a)}`);
        return pass(`ACT_CON after ${ms(h.clock.now() - t)}`);
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C15',
    title: 'accepts a fresh time-tagged command',
    expectation: 'C_SC_TA_1 with the current time is confirmed positively (IEC 60870-5-104 clause 7: time-tagged commands); needed to interpret C16',
    async run(h) {
      const ioa = h.o.ioaSingle?.[0];
      if (ioa === undefined) return skip('no single-command point given (--ioa-single)');
      const c = await h.session();
      try {
        await h.request(c, buildAsdu({ type: TypeId.C_CS_NA_1, ca: h.ca, ioa: 0, time: h.now() }));
        const a = await h.request(c, h.command(ioa, { type: TypeId.C_SC_TA_1, time: h.now() }));
        h.freshTimedOk = !!a && !a.negative && a.cot === COT.ACTIVATION_CON;
        if (!h.freshTimedOk) return fail(`answered ${reply(a)}`);
        return pass(describeAsdu(a!));
      } finally {
        c.close(100);
      }
    },
  },
  {
    id: 'C16',
    title: 'refuses a stale time-tagged command',
    expectation: 'C_SC_TA_1 whose time tag is far older than the allowed delay is not executed: ignored, or answered negatively (IEC 60870-5-104 clause 7: a command with time tag that arrives later than the configured maximum delay is discarded; protects against delayed and replayed commands)',
    async run(h) {
      const ioa = h.o.ioaSingle?.[0];
      if (ioa === undefined) return skip('no single-command point given (--ioa-single)');
      if (h.freshTimedOk === false) return skip('inconclusive: the station refuses fresh time-tagged commands too (C15)');
      const c = await h.session();
      try {
        const age = h.tm.staleAge;
        const a = await h.request(c, h.command(ioa, { type: TypeId.C_SC_TA_1, time: new Date(h.now().getTime() - age) }));
        if (!a) return c.closed ? fail('the station closed the connection') : pass(`ignored (no ACT_CON within ${h.tm.answer} ms) for a time tag ${ms(age)} old`);
        if (a.negative) return pass(`refused: ${describeAsdu(a)}`);
        return fail(`accepted a command ${ms(age)} old: ${describeAsdu(a)}`);
      } finally {
        c.close(100);
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// robustness

/** A robustness check: send something bad, expect a close (or a refusal), then a clean connection must work. */
function violation(
  id: string,
  title: string,
  expectation: string,
  opts: { started: boolean; accept: 'close' | 'close-or-ignore' | 'close-or-refuse'; send: (c: TestConnection, h: Harness) => Asdu | undefined },
): Check {
  return {
    id,
    title,
    expectation: `${expectation}; afterwards a clean connection (STARTDT, TESTFR) must still work`,
    async run(h) {
      const c = opts.started ? await h.session() : await h.connect();
      let outcome: Outcome;
      try {
        const sent = opts.send(c, h);
        const t = h.clock.now();
        if (opts.accept === 'close') {
          const closed = await c.waitClosed(h.tm.closeWait);
          outcome = closed ? pass(`closed after ${ms(c.closed!.at - t)}`) : fail(`the connection is still open ${ms(h.tm.closeWait)} later (a close was expected)`);
        } else {
          const answer = sent ? c.takeAsdu((a) => isMirrorOf(a, sent), h.tm.closeWait) : Promise.resolve(undefined);
          const r = await Promise.race([answer, c.waitClosed(h.tm.closeWait).then(() => undefined)]);
          if (c.closed) outcome = pass(`closed after ${ms(c.closed.at - t)}`);
          else if (r && r.asdu.negative) outcome = opts.accept === 'close-or-refuse' ? pass(`refused: ${describeAsdu(r.asdu)}`) : fail(`processed: ${describeAsdu(r.asdu)}`);
          else if (r) outcome = fail(`accepted: ${describeAsdu(r.asdu)}`);
          else outcome = pass(`ignored: no answer and no close within ${ms(h.tm.closeWait)}`);
        }
      } finally {
        c.destroy();
      }
      const rec = await h.recovers();
      if (rec) return fail(`${outcome.message}; but ${rec}`);
      return outcome.status === 'pass' ? pass(`${outcome.message}; a clean connection works afterwards`) : outcome;
    },
  };
}

function flood(id: string, title: string, expectation: string, kind: 'testfr' | 'read'): Check {
  return {
    id,
    title,
    expectation: `${expectation}; the station must either keep serving (answer TESTFR afterwards) or close, never hang, and accept a clean connection afterwards`,
    async run(h) {
      const c = await h.session();
      let outcome: Outcome;
      try {
        const n = h.tm.floodCount;
        const t = h.clock.now();
        let sent = 0;
        if (kind === 'testfr') {
          const u = encodeUFrame('TESTFR_ACT');
          const all = new Uint8Array(u.length * n);
          for (let i = 0; i < n; i++) all.set(u, i * u.length);
          c.sendRaw(all);
          sent = n;
        } else {
          const ioa = h.o.ioaRead ?? h.firstIoa ?? 1;
          for (; sent < n && !c.closed && h.clock.now() - t < h.tm.floodMs; sent++) c.sendAsdu(buildAsdu({ type: TypeId.C_RD_NA_1, ca: h.ca, ioa, cot: COT.REQUEST }));
        }
        await c.waitQuiet(h.tm.settle, h.tm.floodMs);
        if (c.closed) outcome = pass(`closed after ${ms(c.closed.at - t)} (${sent} frames sent)`);
        else {
          const alive = await c.testfr(h.tm.answer);
          const answered = kind === 'testfr' ? `${c.counts.uIn - 1} TESTFR con` : `${c.counts.iIn} answers`;
          outcome = alive ? pass(`still serving after ${sent} frames (${answered} received)`) : c.closed ? pass(`closed after the flood (${sent} frames)`) : fail(`hung: no TESTFR con ${ms(h.tm.answer)} after a flood of ${sent} frames, connection still open`);
        }
      } finally {
        c.destroy();
      }
      const rec = await h.recovers();
      if (rec) return fail(`${outcome.message}; but ${rec}`);
      return outcome.status === 'pass' ? pass(`${outcome.message}; a clean connection works afterwards`) : outcome;
    },
  };
}

const CLOSE_FRAMING = 'the station closes the connection (clause 5: an APDU starts with 68H and a length of 4..253; a receiver that finds anything else has lost the frame synchronisation and must close)';

const ROBUSTNESS: Check[] = [
  {
    id: 'R00',
    title: 'baseline: a clean connection works',
    expectation: 'a clean connection works: connect, STARTDT con and TESTFR con within the answer time (clauses 5.2 and 5.3); without it the other checks say nothing',
    async run(h) {
      const rec = await h.recovers();
      return rec ? fail(rec) : pass('STARTDT and TESTFR confirmed');
    },
  },
  violation('R01', 'junk octets instead of an APDU', CLOSE_FRAMING, {
    started: false,
    accept: 'close',
    send: (c) => (c.sendRaw(Uint8Array.from([0xff, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06])), undefined),
  }),
  violation('R02', 'APDU length below 4', CLOSE_FRAMING, {
    started: false,
    accept: 'close',
    send: (c) => (c.sendRaw(Uint8Array.from([0x68, 0x02, 0x01, 0x00])), undefined),
  }),
  violation('R03', 'APDU length above 253', CLOSE_FRAMING, {
    started: false,
    accept: 'close',
    send: (c) => (c.sendRaw(Uint8Array.from([0x68, 0xfe, ...new Array<number>(254).fill(0)])), undefined),
  }),
  violation('R04', 'U-frame with two functions set', 'the station closes the connection (clause 5.3: exactly one of the U-format functions may be active)', {
    started: false,
    accept: 'close',
    send: (c) => (c.sendRaw(Uint8Array.from([0x68, 0x04, 0x0f, 0x00, 0x00, 0x00])), undefined),
  }),
  violation('R05', 'S-frame carrying data', 'the station closes the connection (clause 5.2: an S-format APDU is the 4-octet control field only)', {
    started: true,
    accept: 'close',
    send: (c) => (c.sendRaw(Uint8Array.from([0x68, 0x08, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04])), undefined),
  }),
  violation('R06', 'I-frame before STARTDT', 'the station does not process I-frames before data transfer is started: it closes the connection or ignores the frame (clause 5.3: I-format APDUs are transferred only after STARTDT)', {
    started: false,
    accept: 'close-or-ignore',
    send: (c, h) => {
      const a = buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, qualifier: 20 });
      c.sendAsdu(a);
      return a;
    },
  }),
  violation('R07', 'I-frame with an out-of-sequence N(S)', 'the station closes the connection (clause 5.1: a received N(S) other than the expected V(R) is a sequence error, and the connection is closed)', {
    started: true,
    accept: 'close',
    send: (c, h) => (c.sendAsdu(buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, qualifier: 20 }), { ns: 5 }), undefined),
  }),
  violation('R08', 'N(R) acknowledging frames never sent', 'the station closes the connection (clause 5.1: an N(R) outside the range of sent, unacknowledged I-frames is a sequence error)', {
    started: true,
    accept: 'close',
    send: (c) => (c.sendS((c.peerAck + 100) & 0x7fff), undefined),
  }),
  violation('R09', 'truncated ASDU in an I-frame', 'a malformed ASDU (interrogation without its qualifier octet) is not executed: the station closes the connection or refuses it negatively', {
    started: true,
    accept: 'close-or-refuse',
    send: (c, h) => {
      const a = buildAsdu({ type: TypeId.C_IC_NA_1, ca: h.ca, qualifier: 20 });
      const full = encodeIFrame(c.vs, c.vr, a);
      const cut = full.slice(0, full.length - 1);
      cut[1] = cut.length - 2;
      c.sendRaw(cut);
      c.vs = (c.vs + 1) & 0x7fff;
      return a;
    },
  }),
  flood('R10', 'flood of TESTFR act', 'TESTFR act frames sent back to back (floodCount, in one write)', 'testfr'),
  flood('R11', 'flood of read commands', 'read commands (C_RD_NA_1) sent as fast as possible, ignoring the send window (floodCount frames, at most floodMs)', 'read'),
  {
    id: 'R12',
    title: 'burst of connections',
    expectation: 'floodConnections TCP connections opened at once and dropped: the station may refuse the extras, but must accept a clean connection afterwards (a station must not be disabled by connection attempts)',
    async run(h) {
      const n = h.tm.floodConnections;
      const results = await Promise.allSettled(Array.from({ length: n }, () => h.connect()));
      let ok = 0;
      for (const r of results) {
        if (r.status === 'fulfilled') {
          ok++;
          r.value.destroy();
        }
      }
      const rec = await h.recovers();
      if (rec) return fail(`${ok} of ${n} connections accepted; ${rec}`);
      return pass(`${ok} of ${n} connections accepted; a clean connection works afterwards`);
    },
  },
];

/** The checks of a suite (id, title, expectation). */
export function listChecks(suite: SuiteName): CheckInfo[] {
  return (suite === 'conformance' ? CONFORMANCE : ROBUSTNESS).map(({ id, title, expectation }) => ({ id, title, expectation }));
}

/** Run a built-in suite. Never throws for station behaviour: each check reports. */
export async function runSuite(suite: SuiteName, opts: SuiteOptions): Promise<SuiteResult> {
  const h = new Harness(opts);
  const startedAt = h.now().toISOString();
  const t0 = h.clock.now();
  const checks = (suite === 'conformance' ? CONFORMANCE : ROBUSTNESS).filter((c) => !opts.only || opts.only.includes(c.id) || (suite === 'conformance' && c.id === 'C01') || (suite === 'robustness' && c.id === 'R00'));
  const result: SuiteResult = { name: suite, file: `suite:${suite}`, target: formatTarget(opts.target), startedAt, ms: 0, cases: [] };
  let gate: string | undefined;
  for (const check of checks) {
    const start = h.clock.now();
    let o: Outcome;
    if (gate) o = skip(gate);
    else {
      try {
        o = await check.run(h);
      } catch (e) {
        o = fail(e instanceof Error ? e.message : String(e));
      } finally {
        h.closeAll();
      }
      if ((check.id === 'C01' || check.id === 'R00') && o.status === 'fail') gate = `not run: ${check.id} failed (${o.message})`;
      else if (h.dead) gate = `not run: after ${check.id} ${h.dead}`;
    }
    const c: CaseResult = { id: check.id, name: check.title, status: o.status, ms: Math.round((h.clock.now() - start) * 10) / 10, message: o.message, expectation: check.expectation };
    result.cases.push(c);
    opts.onCheck?.(c);
  }
  result.ms = Math.round((h.clock.now() - t0) * 10) / 10;
  return result;
}

