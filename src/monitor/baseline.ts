/**
 * Baseline: learn what normal traffic looks like (peers, type/cause mix per station, object sets,
 * I-frame rates, interrogation and clock-sync periods, the commands each master sends), write it
 * to YAML together with the policy it implies, and enforce it: new peers, unseen types, causes and
 * objects, rate and period changes become `baseline.*` alerts.
 */
import { stringify as toYaml } from 'yaml';
import { TypeId, isSystemCommand, qualifierOf, typeName } from '../codec/type-table.js';
import { PeriodTracker, median } from './inventory.js';
import { type PolicyDocument, type AllowDocument, type Policy, PolicyError, parsePolicy } from './policy.js';
import { RoleTracker, type RoleOptions, isTrackedCommandType } from './roles.js';
import { type Alert, type ObservedApdu, type Observation, hostOf, makeAlert } from './types.js';
import { BoundedMap } from './window.js';

/** The periodic activities a baseline learns the interval of: interrogation, counter interrogation, clock synchronisation. */
const PERIODIC_TYPES = [TypeId.C_IC_NA_1, TypeId.C_CI_NA_1, TypeId.C_CS_NA_1];

/** What a station looked like during learning. */
export interface BaselineStation {
  /** Master hosts. */
  masters: string[];
  commonAddresses: number[];
  /** Type mnemonic -> causes seen. */
  types: { [type: string]: number[] };
  /** CA -> IOA ranges seen (either direction), e.g. `'1-10,15'`. */
  objects: { [ca: string]: string };
  /** I-frames per minute (both directions). */
  rate: { minutes: number; meanPerMinute: number; maxPerMinute: number };
  /**
   * Learned intervals, ms: the median of the largest group of intervals that agree (within a
   * factor {@link PERIOD_AGREEMENT} of each other), absent unless at least
   * {@link MIN_PERIOD_INTERVALS} intervals agree and they are at least half of all intervals (a
   * retry 10 ms after an interrogation is not a period).
   */
  periods: { interrogationMs?: number; counterInterrogationMs?: number; clockSyncMs?: number };
}

/** Commands one master sent during learning, by type mnemonic. */
export interface BaselineMaster {
  stations: string[];
  commands: { [type: string]: { ca: number[]; ioa: string; min?: number; max?: number } };
}

/** A learned baseline (plain JSON, serialisable to YAML). */
export interface Baseline {
  version: 1;
  /** What was learned from: first and last capture time (ISO 8601 UTC, null without traffic) and the APDU count. */
  learned: { start: string | null; end: string | null; frames: number };
  stations: { [address: string]: BaselineStation };
  masters?: { [host: string]: BaselineMaster };
}

/** Intervals that agree lie within this factor of the smallest of them. */
export const PERIOD_AGREEMENT = 1.5;
/** Intervals that must agree before a period is learned. */
export const MIN_PERIOD_INTERVALS = 3;

/**
 * The period several intervals agree on, or undefined: the median of the largest group of
 * intervals within {@link PERIOD_AGREEMENT} of each other (on a tie, the longer intervals: short
 * ones are retries), when that group has at least {@link MIN_PERIOD_INTERVALS} members and holds at
 * least half of all intervals.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { agreedPeriod } from 'iec104';
 * assert.equal(agreedPeriod([10]), undefined); // one retry is not a period
 * assert.equal(agreedPeriod([60000, 10, 59990, 60010]), 60000);
 * assert.equal(agreedPeriod([60000, 60010]), undefined); // two intervals are not enough
 * ```
 */
export function agreedPeriod(intervals: readonly number[]): number | undefined {
  const s = intervals.filter((x) => Number.isFinite(x) && x >= 0).sort((a, b) => a - b);
  let best: [number, number] | undefined; // [from, to) of the largest group
  for (let i = 0, j = 0; i < s.length; i++) {
    if (j < i) j = i;
    while (j < s.length && s[j] <= Math.max(s[i], 1) * PERIOD_AGREEMENT) j++;
    if (!best || j - i >= best[1] - best[0]) best = [i, j];
  }
  if (!best) return undefined;
  const n = best[1] - best[0];
  if (n < MIN_PERIOD_INTERVALS || n * 2 < s.length) return undefined;
  return median(s.slice(best[0], best[1]));
}

/** Compact `1-10,15` text of a set of integers. */
export function formatRanges(values: Iterable<number>): string {
  const s = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Parse `1-10,15` to inclusive ranges. */
export function parseRangeList(text: string): Array<[number, number]> {
  if (!text.trim()) return [];
  return text.split(',').map((p) => {
    const [a, b] = p.split('-').map((x) => Number(x.trim()));
    return [a, b === undefined ? a : b];
  });
}

/** Type id from a mnemonic, `reserved(N)`/`private(N)` or a number text. */
export function typeIdFromName(name: string): number | undefined {
  const id = (TypeId as Record<string, number>)[name];
  if (id !== undefined) return id;
  const m = /^(?:reserved|private)?\(?(\d+)\)?$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

interface StationLearn {
  masters: Set<string>;
  cas: Set<number>;
  types: Map<number, Set<number>>;
  objects: Map<number, Set<number>>;
  minuteBucket: number;
  minuteCount: number;
  minutes: number[];
  gi: Map<string, PeriodTracker>;
  ci: Map<string, PeriodTracker>;
  cs: Map<string, PeriodTracker>;
}

interface MasterLearn {
  stations: Set<string>;
  commands: Map<number, { cas: Set<number>; ioas: Set<number>; min: number; max: number }>;
}

/** Bounds of {@link BaselineLearner}. */
export interface LearnOptions {
  roles?: Partial<RoleOptions>;
  /** Objects remembered per station (default 50000). */
  maxObjectsPerStation?: number;
}

/** Incremental learner: feed observations, then call {@link BaselineLearner.result}. */
export class BaselineLearner {
  private readonly roles: RoleTracker;
  private readonly stations = new Map<string, StationLearn>();
  private readonly masters = new Map<string, MasterLearn>();
  private readonly maxObjects: number;
  private frames = 0;
  private start: number | null = null;
  private end: number | null = null;

  constructor(opts: LearnOptions = {}) {
    this.roles = new RoleTracker(opts.roles);
    this.maxObjects = opts.maxObjectsPerStation ?? 50000;
  }

  /** Learn from one APDU (roles resolved here unless already an {@link Observation}). */
  observe(input: ObservedApdu | Observation): void {
    const o = 'station' in input && 'dir' in input ? input : this.roles.resolve(input);
    this.frames++;
    if (this.start === null || o.ts < this.start) this.start = o.ts;
    if (this.end === null || o.ts > this.end) this.end = o.ts;
    if (!o.dir || !o.master || !o.station) return;
    const mh = hostOf(o.master);
    let s = this.stations.get(o.station);
    if (!s) {
      s = { masters: new Set(), cas: new Set(), types: new Map(), objects: new Map(), minuteBucket: Math.floor(o.ts / 60000), minuteCount: 0, minutes: [], gi: new Map(), ci: new Map(), cs: new Map() };
      this.stations.set(o.station, s);
    }
    s.masters.add(mh);
    let m = this.masters.get(mh);
    if (!m) this.masters.set(mh, (m = { stations: new Set(), commands: new Map() }));
    m.stations.add(o.station);
    if (o.apdu?.apci.format === 'U' && o.apdu.apci.uFunction === 'STARTDT_ACT') {
      // a new session: its first interrogation / clock sync is not part of the periodic cycle
      for (const per of [s.gi, s.ci, s.cs]) {
        const p = per.get(mh);
        if (p) p.last = undefined;
      }
    }
    const asdu = o.apdu?.asdu;
    if (!asdu) return;
    const bucket = Math.floor(o.ts / 60000);
    if (bucket !== s.minuteBucket) {
      s.minutes.push(s.minuteCount);
      for (let b = s.minuteBucket + 1; b < bucket && s.minutes.length < 100000; b++) s.minutes.push(0);
      s.minuteBucket = bucket;
      s.minuteCount = 0;
    }
    s.minuteCount++;
    if (asdu.ca !== 0xffff) s.cas.add(asdu.ca);
    let causes = s.types.get(asdu.typeId);
    if (!causes) s.types.set(asdu.typeId, (causes = new Set()));
    causes.add(asdu.cot);
    if (!isSystemCommand(asdu.typeId) && asdu.ca !== 0xffff) {
      let objs = s.objects.get(asdu.ca);
      if (!objs) s.objects.set(asdu.ca, (objs = new Set()));
      for (const obj of asdu.objects) if (objs.size < this.maxObjects) objs.add(obj.ioa);
    }
    if (o.dir !== 'master→station' || !isTrackedCommandType(asdu.typeId) || asdu.cot !== 6) return;
    const per = asdu.typeId === TypeId.C_IC_NA_1 ? s.gi : asdu.typeId === TypeId.C_CI_NA_1 ? s.ci : asdu.typeId === TypeId.C_CS_NA_1 ? s.cs : undefined;
    if (per) {
      let p = per.get(mh);
      if (!p) per.set(mh, (p = new PeriodTracker()));
      p.add(o.ts);
    }
    let c = m.commands.get(asdu.typeId);
    if (!c) m.commands.set(asdu.typeId, (c = { cas: new Set(), ioas: new Set(), min: Infinity, max: -Infinity }));
    c.cas.add(asdu.ca);
    for (const obj of asdu.objects) {
      if (c.ioas.size < this.maxObjects) c.ioas.add(obj.ioa);
      const v = typeof obj.value === 'number' && Number.isFinite(obj.value) ? obj.value : undefined;
      if (v !== undefined && !isBinaryCommand(asdu.typeId)) {
        c.min = Math.min(c.min, v);
        c.max = Math.max(c.max, v);
      }
    }
  }

  /** The baseline learned so far. */
  result(): Baseline {
    const stations: Baseline['stations'] = {};
    for (const [addr, s] of [...this.stations].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const minutes = [...s.minutes, s.minuteCount];
      const periodOf = (m: Map<string, PeriodTracker>): number | undefined => {
        const meds = [...m.values()].map((p) => agreedPeriod(p.intervals)).filter((x): x is number => x !== undefined);
        return meds.length ? median(meds) : undefined;
      };
      const periods: BaselineStation['periods'] = {};
      const gi = periodOf(s.gi);
      const ci = periodOf(s.ci);
      const cs = periodOf(s.cs);
      if (gi !== undefined) periods.interrogationMs = gi;
      if (ci !== undefined) periods.counterInterrogationMs = ci;
      if (cs !== undefined) periods.clockSyncMs = cs;
      stations[addr] = {
        masters: [...s.masters].sort(),
        commonAddresses: [...s.cas].sort((a, b) => a - b),
        types: Object.fromEntries([...s.types].sort((a, b) => a[0] - b[0]).map(([t, c]) => [typeName(t), [...c].sort((a, b) => a - b)])),
        objects: Object.fromEntries([...s.objects].sort((a, b) => a[0] - b[0]).map(([ca, set]) => [String(ca), formatRanges(set)])),
        rate: { minutes: minutes.length, meanPerMinute: round(minutes.reduce((x, y) => x + y, 0) / minutes.length), maxPerMinute: minutes.reduce((x, y) => (y > x ? y : x), -Infinity) },
        periods,
      };
    }
    const masters: NonNullable<Baseline['masters']> = {};
    for (const [host, m] of [...this.masters].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const commands: BaselineMaster['commands'] = {};
      for (const [t, c] of [...m.commands].sort((a, b) => a[0] - b[0])) {
        const e: BaselineMaster['commands'][string] = { ca: [...c.cas].sort((a, b) => a - b), ioa: formatRanges(c.ioas) };
        if (c.min !== Infinity) {
          e.min = c.min;
          e.max = c.max;
        }
        commands[typeName(t)] = e;
      }
      masters[host] = { stations: [...m.stations].sort(), commands };
    }
    const iso = (t: number | null): string | null => (t === null || !Number.isFinite(t) ? null : new Date(t).toISOString());
    return { version: 1, learned: { start: iso(this.start), end: iso(this.end), frames: this.frames }, stations, masters };
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Single, double and regulating step commands (the commands carrying QU): their value is a state, not a set-point. */
function isBinaryCommand(typeId: number): boolean {
  return qualifierOf(typeId) === 'QU';
}

/** Learn a baseline from a whole stream of observations. */
export function learnBaseline(stream: Iterable<ObservedApdu>, opts: LearnOptions = {}): Baseline {
  const l = new BaselineLearner(opts);
  for (const o of stream) l.observe(o);
  return l.result();
}

/**
 * The policy a baseline implies: each master may send the command types it sent, to the common
 * addresses and IOAs it sent them to, with set-point values in the range it used.
 */
export function inferPolicy(b: Baseline): PolicyDocument {
  const masters: PolicyDocument['masters'] = [];
  for (const [host, m] of Object.entries(b.masters ?? {})) {
    const allow: AllowDocument[] = [];
    for (const [t, c] of Object.entries(m.commands)) {
      const a: AllowDocument = { types: [t], ca: c.ca };
      const id = typeIdFromName(t);
      if (id !== undefined && !(id >= 100 && id <= 107) && c.ioa) a.ioa = c.ioa.split(',').map((x) => (/^\d+$/.test(x) ? Number(x) : x));
      if (c.min !== undefined && c.max !== undefined) a.value = { min: c.min, max: c.max };
      allow.push(a);
    }
    masters.push({ name: host, addresses: [host], allow });
  }
  const stationHosts = [...new Set(Object.keys(b.stations).map(hostOf))].sort();
  return { version: 1, masters, stations: stationHosts.length ? [{ addresses: stationHosts }] : [] };
}

/** YAML text holding the inferred policy and the baseline (readable back with `parsePolicy`). */
export function baselineToYaml(b: Baseline, policy: PolicyDocument = inferPolicy(b)): string {
  const doc: PolicyDocument = { ...policy, baseline: b };
  // no anchors/aliases: the policy shares arrays with the baseline, and a reviewer reads (and
  // edits) each place on its own
  return '# iec104 monitor policy and baseline (learned; review before enforcing)\n' + toYaml(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Read a YAML policy that must contain a baseline. Throws `PolicyError` otherwise. */
export function parseBaselineYaml(text: string): Policy & { baseline: Baseline } {
  const p = parsePolicy(text);
  if (!p.baseline) throw new PolicyError([{ path: 'baseline', message: 'required: a baseline written by baselineToYaml' }]);
  return p as Policy & { baseline: Baseline };
}

/** Tolerances of baseline enforcement. */
export interface BaselineTolerance {
  /** Alert when a minute's I-frames exceed the learned maximum times this factor (default 3). */
  rateFactor: number;
  /** ... and exceed this absolute count (default 30), so that quiet stations do not alert on small bursts. */
  minRatePerMinute: number;
  /** Alert when an interrogation/clock-sync interval is below base / factor or above base × factor (default 2). */
  periodFactor: number;
  /** Report unseen IOAs (default true). */
  newIoas: boolean;
  /** Bound on remembered reported keys (default 10000). */
  maxKeys: number;
}

/** Default tolerances. */
export const DEFAULT_BASELINE_TOLERANCE: Readonly<BaselineTolerance> = Object.freeze({ rateFactor: 3, minRatePerMinute: 30, periodFactor: 2, newIoas: true, maxKeys: 10000 });

interface StationEnforce {
  types: Map<number, Set<number>>;
  objects: Map<number, Array<[number, number]>>;
  masters: Set<string>;
  base: BaselineStation;
  bucket: number;
  count: number;
  rateReported: boolean;
}

interface PeriodState {
  last: number;
  abnormal: boolean;
  overdueReported: boolean;
  frame: number;
  src: string;
  dst: string;
  flow: string;
}

/** Enforces a {@link Baseline}. */
export class BaselineEnforcer {
  readonly tolerance: BaselineTolerance;
  private readonly st = new Map<string, StationEnforce>();
  private readonly reported: BoundedMap<string, true>;
  private readonly periods: BoundedMap<string, PeriodState>;

  constructor(readonly baseline: Baseline, tolerance: Partial<BaselineTolerance> = {}) {
    this.tolerance = { ...DEFAULT_BASELINE_TOLERANCE, ...tolerance };
    this.reported = new BoundedMap(this.tolerance.maxKeys);
    this.periods = new BoundedMap(this.tolerance.maxKeys);
    for (const [addr, s] of Object.entries(baseline.stations)) {
      const types = new Map<number, Set<number>>();
      for (const [t, causes] of Object.entries(s.types)) {
        const id = typeIdFromName(t);
        if (id !== undefined) types.set(id, new Set(causes));
      }
      const objects = new Map<number, Array<[number, number]>>();
      for (const [ca, r] of Object.entries(s.objects)) objects.set(Number(ca), parseRangeList(r));
      this.st.set(addr, { types, objects, masters: new Set(s.masters), base: s, bucket: -1, count: 0, rateReported: false });
    }
  }

  private once(key: string): boolean {
    if (this.reported.has(key)) return false;
    this.reported.use(key, () => true);
    return true;
  }

  /** Evaluate one observation. */
  observe(o: Observation): Alert[] {
    const out: Alert[] = [];
    if (!o.dir || !o.master || !o.station) return out;
    const mh = hostOf(o.master);
    const s = this.st.get(o.station);
    if (!s) {
      if (this.once(`station|${o.station}`)) out.push(makeAlert(o, 'baseline.new-station', 'medium', `station ${o.station} was not seen while learning`, { station: o.station, master: mh }, 'T0846'));
      return out;
    }
    if (!s.masters.has(mh) && this.once(`master|${o.station}|${mh}`)) {
      out.push(makeAlert(o, 'baseline.new-master', 'high', `${mh} talks to ${o.station}; learned masters: ${[...s.masters].join(', ') || 'none'}`, { station: o.station, master: mh, learned: [...s.masters] }, 'T0849'));
    }
    if (o.apdu?.apci.format === 'U' && o.apdu.apci.uFunction === 'STARTDT_ACT') {
      for (const t of PERIODIC_TYPES) this.periods.delete(`${o.station}|${mh}|${t}`);
    }
    const asdu = o.apdu?.asdu;
    if (!asdu) return out;
    const tol = this.tolerance;
    const tn = typeName(asdu.typeId);
    const cmd = isTrackedCommandType(asdu.typeId) && o.dir === 'master→station';
    const ev = { station: o.station, master: mh, typeId: asdu.typeId, type: tn, ca: asdu.ca, cot: asdu.cot };
    // rate per minute
    const bucket = Math.floor(o.ts / 60000);
    if (bucket !== s.bucket) {
      s.bucket = bucket;
      s.count = 0;
      s.rateReported = false;
    }
    s.count++;
    const limit = Math.max(s.base.rate.maxPerMinute * tol.rateFactor, tol.minRatePerMinute);
    if (!s.rateReported && s.count > limit) {
      s.rateReported = true;
      out.push(makeAlert(o, 'baseline.rate-change', 'medium', `${s.count} I-frames within a minute at ${o.station} (learned max ${s.base.rate.maxPerMinute}/min, tolerance ×${tol.rateFactor})`, { ...ev, count: s.count, learnedMax: s.base.rate.maxPerMinute, factor: tol.rateFactor }, 'T0814'));
    }
    const causes = s.types.get(asdu.typeId);
    if (!causes) {
      if (this.once(`type|${o.station}|${asdu.typeId}`)) {
        out.push(makeAlert(o, 'baseline.new-type', cmd ? 'high' : 'medium', `${tn} never seen at ${o.station} while learning`, ev, cmd ? 'T0855' : undefined));
      }
    } else if (!causes.has(asdu.cot) && this.once(`cause|${o.station}|${asdu.typeId}|${asdu.cot}`)) {
      out.push(makeAlert(o, 'baseline.new-cause', 'low', `${tn} with cause ${asdu.cot} never seen at ${o.station} while learning`, ev));
    }
    if (tol.newIoas && asdu.ca !== 0xffff && !isSystemCommand(asdu.typeId)) {
      const ranges = s.objects.get(asdu.ca);
      for (const obj of asdu.objects) {
        const known = ranges?.some(([a, b]) => obj.ioa >= a && obj.ioa <= b) ?? false;
        if (!known && this.once(`ioa|${o.station}|${asdu.ca}|${obj.ioa}`)) {
          out.push(makeAlert(o, 'baseline.new-ioa', cmd ? 'high' : 'medium', `${cmd ? 'command to' : 'object'} IOA ${obj.ioa} (CA ${asdu.ca}) never seen at ${o.station} while learning`, { ...ev, ioa: obj.ioa }, cmd ? 'T0855' : 'T0861'));
        }
      }
    }
    if (cmd && asdu.cot === 6) {
      const base = asdu.typeId === TypeId.C_IC_NA_1 ? s.base.periods.interrogationMs : asdu.typeId === TypeId.C_CI_NA_1 ? s.base.periods.counterInterrogationMs : asdu.typeId === TypeId.C_CS_NA_1 ? s.base.periods.clockSyncMs : undefined;
      if (base !== undefined) {
        const key = `${o.station}|${mh}|${asdu.typeId}`;
        const p = this.periods.get(key);
        if (p) {
          const iv = o.ts - p.last;
          const f = tol.periodFactor;
          const abnormal = iv < base / f || iv > base * f;
          if (abnormal && !p.abnormal) {
            out.push(makeAlert(o, 'baseline.period-change', 'medium', `${tn} interval ${Math.round(iv)} ms at ${o.station} vs learned ${Math.round(base)} ms (tolerance ×${f})`, { ...ev, intervalMs: Math.round(iv), learnedMs: base, factor: f }));
          }
          p.abnormal = abnormal;
          p.last = o.ts;
          p.overdueReported = false;
          p.frame = o.frame;
        } else {
          this.periods.use(key, () => ({ last: o.ts, abnormal: false, overdueReported: false, frame: o.frame, src: o.src, dst: o.dst, flow: o.flow }));
        }
      }
    }
    return out;
  }

  /** Report periodic activities overdue by capture time `now` (interval above base × factor). */
  tick(now: number): Alert[] {
    const out: Alert[] = [];
    for (const [addr, s] of this.st) {
      for (const [t, base] of [[TypeId.C_IC_NA_1, s.base.periods.interrogationMs], [TypeId.C_CI_NA_1, s.base.periods.counterInterrogationMs], [TypeId.C_CS_NA_1, s.base.periods.clockSyncMs]] as Array<[number, number | undefined]>) {
        if (base === undefined) continue;
        for (const m of s.masters) {
          const p = this.periods.get(`${addr}|${m}|${t}`);
          if (!p || p.overdueReported || p.abnormal) continue;
          if (now - p.last > base * this.tolerance.periodFactor) {
            p.overdueReported = true;
            out.push(makeAlert({ frame: p.frame, ts: now, src: p.src, dst: p.dst, flow: p.flow }, 'baseline.period-change', 'medium',
              `no ${typeName(t)} at ${addr} for ${Math.round(now - p.last)} ms (learned interval ${Math.round(base)} ms, tolerance ×${this.tolerance.periodFactor})`,
              { station: addr, master: m, typeId: t, type: typeName(t), overdueMs: Math.round(now - p.last), learnedMs: base, factor: this.tolerance.periodFactor }));
          }
        }
      }
    }
    return out;
  }
}

