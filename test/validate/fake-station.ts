/**
 * A small, configurable controlled station for the validation tests, written at the Link level
 * (listenTcp + Link callbacks): correct behaviour by default, and deliberate misbehaviours to show
 * that the suites notice them.
 */
import type { Asdu, InformationObject } from '../../src/codec/asdu.js';
import { COT } from '../../src/codec/cause.js';
import { cp56ToDate, type Cp56Time } from '../../src/codec/time.js';
import { typeInfo } from '../../src/codec/type-table.js';
import type { Link } from '../../src/link/link.js';
import type { LinkParameters } from '../../src/link/types.js';
import { listenTcp, type TcpLinkServer } from '../../src/transport/tcp-link.js';

/** Deliberate deviations from the standard. */
export interface Misbehaviour {
  /** Execute commands on SBO points without a select (and after an expired select). */
  ignoreSelect?: boolean;
  /** Never send ACT_TERM (interrogation and commands). */
  noActTerm?: boolean;
  /** No S-frames within t2 and no answer to read commands (acknowledgements come only with t2 = 5 s). */
  slowAck?: boolean;
  /** Execute time-tagged commands whatever their age. */
  acceptStale?: boolean;
  /** Answer commands to unknown IOAs positively. */
  acceptUnknownIoa?: boolean;
  /** Accept TCP and never confirm STARTDT. */
  silent?: boolean;
  /** Close every accepted connection at once. */
  closeOnAccept?: boolean;
  /** Stop listening (as if crashed) after the first malformed frame. */
  dieOnMalformed?: boolean;
}

export interface FakeStationOptions {
  ca?: number;
  /** Monitored single points (M_SP_NA_1), sent one per ASDU in an interrogation. Default 100..129. */
  singlePoints?: number[];
  /** Command points: IOA -> configuration. Default 5000 direct (feedback 100), 5001 SBO (feedback 101). */
  commands?: Record<number, { sbo?: boolean; feedbackIoa?: number }>;
  link?: Partial<LinkParameters>;
  selectTimeoutMs?: number;
  /** Maximum age of a time-tagged command. Default 10 s. */
  maxCommandAgeMs?: number;
  /** Delay before ACT_CON of commands (ms). */
  commandDelayMs?: number;
  /** Delay between ACT_CON and the spontaneous feedback. */
  feedbackDelayMs?: number;
  misbehave?: Misbehaviour;
  /**
   * Correct, but less tidy: interleave cyclic (COT 1), background (COT 2) and spontaneous (COT 3)
   * data with the interrogation replies, as the standard allows.
   */
  interleave?: boolean;
}

export interface FakeStation {
  port: number;
  /** Commands executed: IOA and value. */
  executed: Array<{ ioa: number; value: unknown }>;
  /** Connections accepted so far. */
  accepted: number;
  /** Malformed-frame closes seen. */
  malformed: number;
  close(): Promise<void>;
}

const mirror = (a: Asdu, cot: number, negative: boolean): Asdu => ({ ...a, cot, negative, warnings: undefined });

/** Start the fake station on 127.0.0.1, port 0. */
export async function startFakeStation(opts: FakeStationOptions = {}): Promise<FakeStation> {
  const ca = opts.ca ?? 1;
  const mis = opts.misbehave ?? {};
  const points = new Map<number, boolean>((opts.singlePoints ?? Array.from({ length: 30 }, (_, i) => 100 + i)).map((ioa) => [ioa, false]));
  const commands = opts.commands ?? { 5000: { feedbackIoa: 100 }, 5001: { sbo: true, feedbackIoa: 101 } };
  const selectTimeout = opts.selectTimeoutMs ?? 200;
  const maxAge = opts.maxCommandAgeMs ?? 10_000;
  const params: Partial<LinkParameters> = mis.slowAck ? { k: 12, w: 12, t1: 6000, t2: 5000, t3: 20_000 } : { k: 12, w: 8, t1: 300, t2: 100, t3: 20_000, ...opts.link };
  const links = new Set<Link>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const st: FakeStation = { port: 0, executed: [], accepted: 0, malformed: 0, close: async () => {} };
  let server: TcpLinkServer;

  // eslint-disable-next-line prefer-const -- read by a callback inside its own initializer
  server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled', params } }, (conn) => {
    st.accepted++;
    if (mis.closeOnAccept) {
      conn.socket.destroy();
      conn.bind({ asdu: () => {}, close: () => {} });
      return;
    }
    const queue: Asdu[] = [];
    const selected = new Map<number, number>(); // ioa -> select time
    const flush = (): void => {
      while (queue.length && link.state === 'started') {
        if (!link.send(queue[0])) break; // full window: `drain` calls flush again
        queue.shift();
      }
    };
    const send = (a: Asdu): void => {
      queue.push(a);
      flush();
    };
    const spont = (ioa: number, value: boolean): void => {
      points.set(ioa, value);
      send({ typeId: 1, sq: false, cot: COT.SPONTANEOUS, negative: false, test: false, originator: 0, ca, objects: [{ ioa, value, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }] });
    };
    const onAsdu = (a: Asdu): void => {
      const info = typeInfo(a.typeId);
      if (!info || info.raw) return send(mirror(a, COT.UNKNOWN_TYPE, true));
      if (a.ca !== ca) return send(mirror(a, COT.UNKNOWN_CA, true));
      const obj = a.objects[0] as InformationObject | undefined;
      if (a.typeId === 100) {
        if (a.cot !== COT.ACTIVATION) return send(mirror(a, COT.UNKNOWN_CAUSE, true));
        send(mirror(a, COT.ACTIVATION_CON, false));
        let n = 0;
        for (const [ioa, value] of points) {
          send({ typeId: 1, sq: false, cot: COT.INTERROGATED_STATION, negative: false, test: false, originator: 0, ca, objects: [{ ioa, value, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }] });
          if (opts.interleave && n++ % 5 === 0) {
            const cot = [COT.PERIODIC, COT.BACKGROUND, COT.SPONTANEOUS][(n / 5) % 3 | 0];
            send({ typeId: 13, sq: false, cot, negative: false, test: false, originator: 0, ca, objects: [{ ioa: 9000 + n, value: 50, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }] });
          }
        }
        if (!mis.noActTerm) send(mirror(a, COT.ACTIVATION_TERMINATION, false));
        return;
      }
      if (a.typeId === 102) {
        if (mis.slowAck) return;
        if (!obj || !points.has(obj.ioa)) return send(mirror(a, COT.UNKNOWN_IOA, true));
        return send({ typeId: 1, sq: false, cot: COT.REQUEST, negative: false, test: false, originator: 0, ca, objects: [{ ioa: obj.ioa, value: points.get(obj.ioa)!, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }] });
      }
      if (a.typeId === 103) {
        if (a.cot !== COT.ACTIVATION) return send(mirror(a, COT.UNKNOWN_CAUSE, true));
        return send(mirror(a, COT.ACTIVATION_CON, false));
      }
      if (a.typeId === 45 || a.typeId === 58) {
        if (a.cot !== COT.ACTIVATION) return send(mirror(a, COT.UNKNOWN_CAUSE, true));
        if (!obj) return send(mirror(a, COT.UNKNOWN_IOA, true));
        const cfg = commands[obj.ioa];
        if (!cfg && !mis.acceptUnknownIoa) return send(mirror(a, COT.UNKNOWN_IOA, true));
        if (a.typeId === 58 && !mis.acceptStale) {
          const age = Date.now() - cp56ToDate(obj.time as Cp56Time).getTime();
          if (Math.abs(age) > maxAge) return; // ignored (not executed, no answer)
        }
        if (obj.select === true) {
          selected.set(obj.ioa, Date.now());
          return later(opts.commandDelayMs ?? 0, () => send(mirror(a, COT.ACTIVATION_CON, false)));
        }
        if (cfg?.sbo && !mis.ignoreSelect) {
          const at = selected.get(obj.ioa);
          selected.delete(obj.ioa);
          if (at === undefined || Date.now() - at > selectTimeout) return send(mirror(a, COT.ACTIVATION_CON, true));
        }
        st.executed.push({ ioa: obj.ioa, value: obj.value });
        later(opts.commandDelayMs ?? 0, () => {
          if (link.state !== 'started') return;
          send(mirror(a, COT.ACTIVATION_CON, false));
          later(opts.feedbackDelayMs ?? 0, () => {
            if (link.state !== 'started') return;
            if (!mis.noActTerm) send(mirror(a, COT.ACTIVATION_TERMINATION, false));
            if (cfg?.feedbackIoa !== undefined) spont(cfg.feedbackIoa, obj.value === true);
          });
        });
        return;
      }
      return send(mirror(a, COT.UNKNOWN_TYPE, true));
    };
    const link: Link = conn.bind(
      {
        asdu: (a) => {
          if (!mis.silent) onAsdu(a);
        },
        drain: flush,
        close: (reason) => {
          links.delete(link);
          if (reason.code === 'E_MALFORMED' || reason.code === 'E_SEQ_ORDER' || reason.code === 'E_SEQ_ACK' || reason.code === 'E_UNEXPECTED_U') {
            st.malformed++;
            if (mis.dieOnMalformed) server.server.close();
          }
        },
      },
      mis.silent ? { params: { ...params, t1: 60_000, t2: 1000, t3: 120_000 } } : undefined,
    );
    if (mis.silent) {
      // swallow STARTDT: a Link would confirm it, so read the socket ourselves instead
      conn.socket.removeAllListeners('data');
    }
    links.add(link);
  });
  st.port = server.port;
  st.close = async () => {
    for (const t of timers) clearTimeout(t);
    await server.close();
  };
  return st;
}
