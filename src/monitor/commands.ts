/**
 * Command tracking: every command the masters send (process commands 45–64, system commands
 * 100–107, parameters 110–113), matched with the station's answers, with outcome and latencies
 * measured in capture time.
 */
import { TypeId, isAnsweredByActTerm, typeName } from '../codec/type-table.js';
import { cotShortName } from '../codec/cause.js';
import { float32Number } from '../codec/float32-text.js';
import { hasFloat32Value } from '../codec/json-view.js';
import { type ObjectKey, isTrackedCommandType, objectKey } from './roles.js';
import type { JsonValue, Observation } from './types.js';

/** Outcome of a command. */
export type TrackedOutcome = 'pending' | 'positive' | 'negative' | 'no-answer';

/** One command and what happened to it. */
export interface CommandRecord {
  /** Frame of the activation. */
  frame: number;
  ts: number;
  flow: string;
  /** Sender (`ip:port`). */
  source: string;
  /** Receiving station (`ip:port`). */
  station: string;
  ca: number;
  ioa: number;
  typeId: number;
  typeName: string;
  /** 6 = activation, 8 = deactivation (5 for read). */
  cot: number;
  /** Commanded value (state, set-point, bitstring), when the type has one; short floats as their shortest text reads (`3.14`). */
  value: JsonValue;
  /** S/E bit: true = select, false = execute, null when the type has none. */
  select: boolean | null;
  /** Qualifier fields of the command (qu, ql, qoi, qcc, qrp, qpm/kpa, qpa), when present. */
  qualifier: { [k: string]: JsonValue };
  outcome: TrackedOutcome;
  /** Cause of a negative outcome: `P/N=1 actcon`, `unknown IOA (47)`, ... */
  negativeCause?: string;
  /** Frame of the confirmation (or negative answer). */
  conFrame?: number;
  /** Activation → ACT_CON, ms. */
  conLatencyMs?: number;
  /** Activation → ACT_TERM, ms. */
  termLatencyMs?: number;
  termFrame?: number;
}

/** Timeouts and bounds of {@link CommandTracker}. */
export interface CommandConfig {
  /** No ACT_CON within this time (capture time) = `no-answer` (default 15000, t1). */
  answerTimeoutMs: number;
  /** After a positive ACT_CON, how long to wait for ACT_TERM before closing the record (default 60000). */
  termTimeoutMs: number;
  /** Bound on open commands per flow (default 256; the oldest is closed as no-answer). */
  maxOpenPerFlow: number;
  /** Latency samples kept per (station, type) for percentiles (default 2048, most recent). */
  maxSamples: number;
}

/** Default command-tracking parameters. */
export const DEFAULT_COMMAND_CONFIG: Readonly<CommandConfig> = Object.freeze({
  answerTimeoutMs: 15000,
  termTimeoutMs: 60000,
  maxOpenPerFlow: 256,
  maxSamples: 2048,
});

/** Latency percentiles, ms. */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Outcome counts and latencies for one station and command type. */
export interface CommandStats {
  station: string;
  typeId: number;
  typeName: string;
  count: number;
  positive: number;
  negative: number;
  noAnswer: number;
  actCon: Percentiles | null;
  actTerm: Percentiles | null;
}

const QUAL_KEYS = ['qu', 'ql', 'qoi', 'qcc', 'rqt', 'frz', 'qrp', 'kpa', 'lpc', 'pop', 'qpa'];
function json(v: unknown): JsonValue {
  if (v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'object') return jsonCopy(v);
  return String(v);
}

/**
 * `JSON.parse(JSON.stringify(v))`, without the text for a plain object of primitive values (the
 * CP56Time2a of a clock synchronisation or time-tagged command): the same keys in the same order,
 * numbers as JSON gives them back (-0 as 0, non-finite as null), undefined, functions and symbols
 * left out. Anything else (nested objects, toJSON, bigint, other prototypes) takes the text way.
 */
function jsonCopy(v: object): JsonValue {
  const text = (): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
  if (Object.getPrototypeOf(v) !== Object.prototype || typeof (v as { toJSON?: unknown }).toJSON === 'function') return text();
  const out: { [k: string]: JsonValue } = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (k === '__proto__') return text();
    if (typeof x === 'number') out[k] = Number.isFinite(x) ? (x === 0 ? 0 : x) : null;
    else if (typeof x === 'string' || typeof x === 'boolean' || x === null) out[k] = x;
    else if (x !== undefined && typeof x !== 'function' && typeof x !== 'symbol') return text();
  }
  return out;
}

/** Percentiles (nearest rank) of a sample. */
export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { count: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1] };
}

interface StatAcc {
  station: string;
  typeId: number;
  count: number;
  positive: number;
  negative: number;
  noAnswer: number;
  con: number[];
  term: number[];
}

/** Open commands of one flow: per (type, CA, IOA) key, the requests in the order they were sent. */
interface OpenCommands {
  readonly byKey: Map<ObjectKey, CommandRecord[]>;
  /** Records in all queues. */
  size: number;
}

/** A confirmation's cause says which request it answers: 7 an activation, 9 a deactivation, 44–47 or P/N=1 either. */
function answers(rec: CommandRecord, cot: number): boolean {
  if (rec.conFrame !== undefined) return false;
  return cot === 9 ? rec.cot === 8 : cot === 7 ? rec.cot !== 8 : true;
}

/**
 * Follows commands and their answers. {@link CommandTracker.observe} returns the records that
 * completed with this APDU (and any that timed out by its capture time); {@link CommandTracker.finish}
 * closes the rest at the end of the capture.
 *
 * Answers are paired with requests in order: when a master sends the same request (type, CA,
 * IOA) again before the first is answered, the first confirmation goes to the first request, the
 * next to the second (first in, first out), and each request closes on its own answer or timeout.
 */
export class CommandTracker {
  readonly config: CommandConfig;
  /** Open commands per flow, keyed by {@link objectKey}, oldest first. */
  private readonly open = new Map<string, OpenCommands>();
  /** Per station: statistics by type identification. */
  private readonly stats = new Map<string, StatAcc[]>();
  private lastSweep = -Infinity;

  constructor(config: Partial<CommandConfig> = {}) {
    this.config = { ...DEFAULT_COMMAND_CONFIG, ...config };
  }

  /** Feed one APDU; returns records completed now. */
  observe(o: Observation): CommandRecord[] {
    const done: CommandRecord[] = [];
    this.observeInto(o, done);
    return done;
  }

  /** @internal {@link CommandTracker.observe} pushing the completed records to `done`. */
  observeInto(o: Observation, done: CommandRecord[]): void {
    if (o.ts - this.lastSweep >= 1000) {
      for (const r of this.sweep(o.ts)) done.push(r);
    }
    const a = o.apdu?.asdu;
    if (!a || !o.dir) return;
    if (o.dir === 'master→station') {
      if (!isTrackedCommandType(a.typeId) || !(a.cot === 6 || a.cot === 8 || (a.typeId === TypeId.C_RD_NA_1 && a.cot === 5))) return;
      let open = this.open.get(o.flow);
      if (!open) this.open.set(o.flow, (open = { byKey: new Map(), size: 0 }));
      for (const obj of a.objects) {
        const key = objectKey(a.typeId, a.ca, obj.ioa);
        const qualifier: { [k: string]: JsonValue } = {};
        for (const k of QUAL_KEYS) if (obj[k] !== undefined) qualifier[k] = json(obj[k]);
        const rec: CommandRecord = {
          frame: o.frame, ts: o.ts, flow: o.flow, source: o.src, station: o.station ?? o.dst, ca: a.ca, ioa: obj.ioa,
          typeId: a.typeId, typeName: typeName(a.typeId), cot: a.cot,
          value: typeof obj.value === 'number' && hasFloat32Value(a.typeId) ? float32Number(obj.value) : json(obj.value ?? obj.time ?? obj.qoi ?? null), select: typeof obj.select === 'boolean' ? obj.select : null,
          qualifier, outcome: 'pending',
        };
        const q = open.byKey.get(key);
        if (q) q.push(rec);
        else open.byKey.set(key, [rec]);
        if (++open.size > this.config.maxOpenPerFlow) {
          const r0 = this.dropOldest(open);
          done.push(this.close(r0, r0.outcome === 'pending' ? 'no-answer' : r0.outcome));
        }
      }
      return;
    }
    // answers are command types, or data with cause 5 (request) for a read (checked before the
    // lookup: most of the station's traffic is neither)
    if (a.cot !== 5 && !isTrackedCommandType(a.typeId)) return;
    const open = this.open.get(o.flow);
    if (!open || open.size === 0) return;
    for (const obj of a.objects) {
      // read commands are answered by the data itself (cause 5, any monitor type)
      const key = objectKey(a.cot === 5 && a.typeId !== TypeId.C_RD_NA_1 ? TypeId.C_RD_NA_1 : a.typeId, a.ca, obj.ioa);
      const q = open.byKey.get(key);
      if (q === undefined) continue;
      if (q[0].typeId === TypeId.C_RD_NA_1) {
        const rec = q[0];
        if (a.cot === 5 && !a.negative && a.typeId !== TypeId.C_RD_NA_1) this.confirm(rec, o, true, undefined);
        else if (a.typeId === TypeId.C_RD_NA_1 && (a.negative || a.cot >= 44)) this.confirm(rec, o, false, a.negative ? 'P/N=1' : `${cotShortName(a.cot)} (${a.cot})`);
        else continue;
        this.remove(open, key, q, 0);
        done.push(this.close(rec, rec.outcome));
        continue;
      }
      if (a.cot === 7 || a.cot === 9 || (a.cot >= 44 && a.cot <= 47)) {
        let i = 0;
        while (i < q.length && !answers(q[i], a.cot)) i++;
        if (i === q.length) {
          // a confirmation with the other cause (7 for a deactivation, 9 for an activation): the oldest unconfirmed
          i = 0;
          while (i < q.length && q[i].conFrame !== undefined) i++;
          if (i === q.length) continue;
        }
        const rec = q[i];
        const neg = a.negative || a.cot >= 44;
        this.confirm(rec, o, !neg, neg ? (a.cot >= 44 ? `${cotShortName(a.cot)} (${a.cot})` : `P/N=1 ${cotShortName(a.cot)}`) : undefined);
        if (neg || !isAnsweredByActTerm(rec.typeId) || rec.cot === 8 || rec.select === true) {
          this.remove(open, key, q, i);
          done.push(this.close(rec, rec.outcome));
        }
      } else if (a.cot === 10) {
        // the oldest activation still open (a deactivation is not terminated)
        let i = 0;
        while (i < q.length && q[i].cot === 8) i++;
        if (i === q.length) i = 0;
        const rec = q[i];
        rec.termLatencyMs = o.ts - rec.ts;
        rec.termFrame = o.frame;
        if (rec.outcome === 'pending') rec.outcome = a.negative ? 'negative' : 'positive';
        this.remove(open, key, q, i);
        done.push(this.close(rec, rec.outcome));
      }
    }
  }

  /** Take record `i` out of the queue of `key`. */
  private remove(open: OpenCommands, key: ObjectKey, q: CommandRecord[], i: number): void {
    if (q.length === 1) open.byKey.delete(key);
    else q.splice(i, 1);
    open.size--;
  }

  /** Take the oldest open record of a flow out (the bound on open commands was passed). */
  private dropOldest(open: OpenCommands): CommandRecord {
    let bestKey: ObjectKey | undefined;
    let best: CommandRecord[] | undefined;
    for (const [k, q] of open.byKey) {
      if (best === undefined || q[0].frame < best[0].frame) {
        best = q;
        bestKey = k;
      }
    }
    const r = best![0];
    this.remove(open, bestKey!, best!, 0);
    return r;
  }

  /** Close commands whose timeouts passed by capture time `now`. */
  sweep(now: number): CommandRecord[] {
    this.lastSweep = now;
    const done: CommandRecord[] = [];
    for (const [flow, open] of this.open) {
      for (const [k, q] of open.byKey) {
        let kept = 0;
        for (let i = 0; i < q.length; i++) {
          const r = q[i];
          if (r.outcome === 'pending' && now - r.ts > this.config.answerTimeoutMs) done.push(this.close(r, 'no-answer'));
          else if (r.outcome !== 'pending' && now - r.ts > this.config.termTimeoutMs) done.push(this.close(r, r.outcome));
          else q[kept++] = r;
        }
        open.size -= q.length - kept;
        if (kept === 0) open.byKey.delete(k);
        else q.length = kept;
      }
      if (open.size === 0) this.open.delete(flow);
    }
    return done;
  }

  /** Close everything still open: unanswered commands become `no-answer` only if their timeout passed by `now`. */
  finish(now: number): CommandRecord[] {
    const done = this.sweep(now);
    for (const open of this.open.values()) for (const q of open.byKey.values()) for (const r of q) done.push(this.close(r, r.outcome));
    this.open.clear();
    return done;
  }

  /** Per station and type: counts and latency percentiles of the records closed so far. */
  statistics(): CommandStats[] {
    return [...this.stats.values()]
      .flatMap((byType) => byType.filter((x) => x !== undefined))
      .sort((a, b) => (a.station < b.station ? -1 : a.station > b.station ? 1 : a.typeId - b.typeId))
      .map((s) => ({
        station: s.station, typeId: s.typeId, typeName: typeName(s.typeId), count: s.count,
        positive: s.positive, negative: s.negative, noAnswer: s.noAnswer,
        actCon: percentiles(s.con), actTerm: percentiles(s.term),
      }));
  }

  private confirm(rec: CommandRecord, o: Observation, positive: boolean, cause: string | undefined): void {
    rec.outcome = positive ? 'positive' : 'negative';
    if (cause) rec.negativeCause = cause;
    rec.conFrame = o.frame;
    rec.conLatencyMs = o.ts - rec.ts;
  }

  private close(rec: CommandRecord, outcome: TrackedOutcome): CommandRecord {
    rec.outcome = outcome;
    let byType = this.stats.get(rec.station);
    if (!byType) this.stats.set(rec.station, (byType = []));
    let s = byType[rec.typeId];
    if (!s) byType[rec.typeId] = s = { station: rec.station, typeId: rec.typeId, count: 0, positive: 0, negative: 0, noAnswer: 0, con: [], term: [] };
    s.count++;
    if (outcome === 'positive') s.positive++;
    else if (outcome === 'negative') s.negative++;
    else if (outcome === 'no-answer') s.noAnswer++;
    this.sample(s.con, rec.conLatencyMs);
    this.sample(s.term, rec.termLatencyMs);
    return rec;
  }

  private sample(arr: number[], v: number | undefined): void {
    if (v === undefined) return;
    arr.push(v);
    if (arr.length > this.config.maxSamples) arr.shift();
  }
}
