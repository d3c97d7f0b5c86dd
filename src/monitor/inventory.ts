/**
 * Inventory: which masters talk to which stations, the common addresses and information objects
 * of each station, how often it is interrogated and clock-synchronised, and how it keeps the link
 * alive. Built incrementally from observations; memory is bounded per station.
 */
import type { ObservedFileTransfer } from './file-transfers.js';
import { TypeId, isControlType, typeName } from '../codec/type-table.js';
import { cotShortName } from '../codec/cause.js';
import { float32Number } from '../codec/float32-text.js';
import { hasFloat32Value } from '../codec/json-view.js';
import { type Observation, hostOf } from './types.js';

/** Bounds of {@link Inventory}. */
export interface InventoryConfig {
  /** Information objects remembered per station (default 50000; more are counted, not listed). */
  maxIoasPerStation: number;
  /** Intervals remembered per periodic activity, for the median (default 256). */
  maxIntervals: number;
}

/** Default inventory bounds. */
export const DEFAULT_INVENTORY_CONFIG: Readonly<InventoryConfig> = Object.freeze({ maxIoasPerStation: 50000, maxIntervals: 256 });

/** One information object of a station. */
export interface IoaSummary {
  ca: number;
  ioa: number;
  /** Type mnemonics seen for this object. */
  types: string[];
  /** Cause short name -> count. */
  causes: { [cause: string]: number };
  /** Numeric value range seen (booleans count as 0/1); null when no numeric value. */
  min: number | null;
  max: number | null;
  /** Quality flag -> number of reports with it set (iv, nt, sb, bl, ov). */
  quality: { [flag: string]: number };
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** A periodic activity (interrogation, clock synchronisation) of one master towards one station. */
export interface PeriodSummary {
  master: string;
  count: number;
  /** Median interval between consecutive activations, ms (null with fewer than 2). */
  medianIntervalMs: number | null;
  minIntervalMs: number | null;
  maxIntervalMs: number | null;
}

/** Keep-alive behaviour of a station's connections. */
export interface TestfrSummary {
  actFromMaster: number;
  actFromStation: number;
  con: number;
  medianIntervalMs: number | null;
}

/** A controlled station (RTU), keyed by `ip:port`. */
export interface StationSummary {
  address: string;
  commonAddresses: number[];
  /** Master hosts (IP) that talked to it. */
  masters: string[];
  /** More than one master host: redundant masters (or an intruder). */
  redundantMasters: boolean;
  connections: number;
  /** Type mnemonic -> APDUs in either direction. */
  types: { [type: string]: number };
  iFramesFromStation: number;
  iFramesToStation: number;
  interrogation: PeriodSummary[];
  counterInterrogation: PeriodSummary[];
  clockSync: PeriodSummary[];
  testfr: TestfrSummary;
  ioaCount: number;
  /** True when more objects were seen than `maxIoasPerStation`. */
  ioasTruncated: boolean;
  ioas: IoaSummary[];
  firstSeen: number;
  lastSeen: number;
}

/** A controlling station (master), keyed by host. */
export interface MasterSummary {
  host: string;
  /** `ip:port` endpoints it used. */
  endpoints: string[];
  stations: string[];
  commands: number;
  firstSeen: number;
  lastSeen: number;
}

/** JSON-serialisable inventory. */
export interface InventorySummary {
  kind: 'inventory';
  frames: number;
  start: number | null;
  end: number | null;
  masters: MasterSummary[];
  stations: StationSummary[];
  /** Flows whose roles could not be determined. */
  unresolvedFlows: number;
  /** File transfers seen (name = NOF, size, sections, outcome, duration); absent when none. */
  fileTransfers?: ObservedFileTransfer[];
}

/** One file transfer as a text line (inventory, `analyze --commands`). */
export function formatFileTransfer(f: ObservedFileTransfer): string {
  return `${f.direction} ${f.master} ${f.direction === 'download' ? '<-' : '->'} ${f.station}  CA ${f.ca} IOA ${f.ioa} NOF ${f.nof}  ${f.length ?? '?'} octets, ${f.sections} section(s)${f.repeatedSections ? `, ${f.repeatedSections} repeated` : ''}${f.checksumMismatches ? `, ${f.checksumMismatches} checksum mismatch(es)` : ''}  ${f.outcome}${f.reason ? ` (${f.reason})` : ''}  ${f.durationMs === null ? 'open' : fmtMs(f.durationMs)}`;
}

/** Median of a non-empty sample. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Intervals between events, bounded. */
export class PeriodTracker {
  count = 0;
  last: number | undefined;
  readonly intervals: number[] = [];
  constructor(private readonly max = 256) {}
  add(ts: number): number | undefined {
    this.count++;
    const iv = this.last === undefined ? undefined : ts - this.last;
    this.last = ts;
    if (iv !== undefined) {
      this.intervals.push(iv);
      if (this.intervals.length > this.max) this.intervals.shift();
    }
    return iv;
  }
  median(): number | null {
    return this.intervals.length ? median(this.intervals) : null;
  }
}

/*
 * Per-object accumulators of one station, packed into typed-array slabs (found through an
 * open-addressing index) instead of one JS object (plus a Map entry, a quality object and boxed
 * doubles) per information object. The inventory updates an accumulator for every object a
 * station reports; at that rate the cost is in the cache lines touched, not in the arithmetic, so
 * what a report reads or writes fits one 64-byte record and the rest lies apart.
 *
 * Slots are dense (0 .. size - 1) and never move. Record of slot s in `F` at `s * STRIDE`, fields
 * R_* below. The key, the one the inventory always grouped by (`ca * 2^24 + ioa`), is `K[s]`,
 * next to the index; colder fields are in `C` (C_*, at `s * C_STRIDE`), quality counts in `Q`
 * (at `s * 5`), types and further causes in arrays by slot. Every field is a double, so any
 * value a caller passes is kept exactly. The report count is not stored: every report adds one to
 * exactly one cause count, so it is their sum (plus C_LOST).
 */
const R_LAST = 0;
const R_N0 = 1;
const R_N1 = 2;
const R_MIN = 3;
const R_MAX = 4;
const R_LAST_TYPE = 5;
const R_C0 = 6;
const R_C1 = 7;
const STRIDE = 8;
const C_FIRST = 0;
const C_CA = 1;
const C_IOA = 2;
/** The type seen before the last one (skips the search of `types` when an object alternates between two). */
const C_PREV_TYPE = 3;
/** Reports a cause count held before its cause was set (only with cause -1, the "unset" value). */
const C_LOST = 4;
const C_STRIDE = 5;
const HASH_SEED = (Math.random() * 0x100000000) | 0;
/** Quality flags in the order of the quality counts and of the summary. */
const QUALITY_FLAGS = ['iv', 'nt', 'sb', 'bl', 'ov'] as const;

/** Map semantics for the key (SameValueZero: NaN equals NaN). */
function sameKey(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** murmur3's finalizer over the key's two halves, seeded per process (crafted IOAs cannot be made to collide). */
function hashKey(key: number): number {
  let h = (key >>> 0) ^ Math.imul(((key / 0x100000000) | 0) ^ HASH_SEED, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

class IoaTable {
  size = 0;
  /** The records, keys and cold fields (replaced when the table grows: re-read after {@link IoaTable.insert}). */
  F: Float64Array;
  K: Float64Array;
  C: Float64Array;
  Q: Float64Array;
  /** Distinct types seen per slot (sorted in the summary). */
  readonly types: number[][] = [];
  /** Counts of causes other than c0 / c1, per slot (sparse, by cause). */
  readonly more: Array<number[] | undefined> = [];
  /** Slot + 1 by hash, 0 = empty; linear probing, at most half full. */
  private index: Int32Array;

  constructor(capacity = 16) {
    this.F = new Float64Array(capacity * STRIDE);
    this.K = new Float64Array(capacity);
    this.C = new Float64Array(capacity * C_STRIDE);
    this.Q = new Float64Array(capacity * 5);
    this.index = new Int32Array(capacity * 2);
  }

  /** Slot of `key`, or -1. */
  find(key: number): number {
    const idx = this.index;
    const mask = idx.length - 1;
    for (let h = hashKey(key) & mask; ; h = (h + 1) & mask) {
      const s = idx[h] - 1;
      if (s < 0) return -1;
      if (sameKey(this.K[s], key)) return s;
    }
  }

  /** Add `key` (known to be missing) for the object (ca, ioa) first seen at `ts`; returns its slot. */
  insert(key: number, ca: number, ioa: number, ts: number): number {
    const s = this.size;
    if ((s + 1) * 2 > this.index.length) this.grow();
    this.size = s + 1;
    const r = s * STRIDE;
    const F = this.F;
    F[r + R_LAST] = ts;
    F[r + R_MIN] = Infinity;
    F[r + R_MAX] = -Infinity;
    F[r + R_LAST_TYPE] = -1;
    F[r + R_C0] = -1;
    F[r + R_C1] = -1;
    this.K[s] = key;
    const c = s * C_STRIDE;
    this.C[c + C_FIRST] = ts;
    this.C[c + C_CA] = ca;
    this.C[c + C_IOA] = ioa;
    this.C[c + C_PREV_TYPE] = -1;
    this.types.push([]);
    this.more.push(undefined);
    this.link(s);
    return s;
  }

  /** Count by cause of slot `s` (sparse array indexed by the cause value). */
  causeCounts(s: number): number[] {
    const m = this.more[s];
    const out: number[] = m ? [...m] : [];
    const r = s * STRIDE;
    if (this.F[r + R_C0] >= 0) out[this.F[r + R_C0]] = this.F[r + R_N0];
    if (this.F[r + R_C1] >= 0) out[this.F[r + R_C1]] = this.F[r + R_N1];
    return out;
  }

  /** Reports of slot `s`: each counted under exactly one cause. */
  count(s: number): number {
    let n = this.F[s * STRIDE + R_N0] + this.F[s * STRIDE + R_N1] + this.C[s * C_STRIDE + C_LOST];
    const m = this.more[s];
    // (values, not iteration: a cause that is no array index is a named property)
    if (m) for (const x of Object.values(m)) n += x;
    return n;
  }

  private link(s: number): void {
    const idx = this.index;
    const mask = idx.length - 1;
    let h = hashKey(this.K[s]) & mask;
    while (idx[h] !== 0) h = (h + 1) & mask;
    idx[h] = s + 1;
  }

  private grow(): void {
    // double the slots (there are index.length / 2)
    const cap = this.index.length;
    const F = new Float64Array(cap * STRIDE);
    F.set(this.F);
    this.F = F;
    const K = new Float64Array(cap);
    K.set(this.K);
    this.K = K;
    const C = new Float64Array(cap * C_STRIDE);
    C.set(this.C);
    this.C = C;
    const Q = new Float64Array(cap * 5);
    Q.set(this.Q);
    this.Q = Q;
    this.index = new Int32Array(cap * 2);
    for (let s = 0; s < this.size; s++) this.link(s);
  }
}

/** The objects of a table as summaries, ordered by common address and IOA. */
function ioaSummaries(t: IoaTable): IoaSummary[] {
  const { F, C, Q } = t;
  const slots: number[] = [];
  for (let s = 0; s < t.size; s++) slots.push(s);
  slots.sort((a, b) => C[a * C_STRIDE + C_CA] - C[b * C_STRIDE + C_CA] || C[a * C_STRIDE + C_IOA] - C[b * C_STRIDE + C_IOA]);
  return slots.map((s) => {
    const r = s * STRIDE;
    const quality: { [flag: string]: number } = {};
    QUALITY_FLAGS.forEach((flag, k) => {
      if (Q[s * 5 + k] > 0) quality[flag] = Q[s * 5 + k];
    });
    // short floats as the shortest number that reads back (3.14, not 3.140000104904175)
    const f32 = t.types[s].some(hasFloat32Value);
    const num = (v: number): number => (f32 && Math.fround(v) === v ? float32Number(v) : v);
    return {
      ca: C[s * C_STRIDE + C_CA], ioa: C[s * C_STRIDE + C_IOA],
      types: [...t.types[s]].sort((a, b) => a - b).map(typeName),
      causes: Object.fromEntries(t.causeCounts(s).flatMap((n, c) => (n ? [[cotShortName(c), n] as const] : []))),
      min: F[r + R_MIN] === Infinity ? null : num(F[r + R_MIN]),
      max: F[r + R_MAX] === -Infinity ? null : num(F[r + R_MAX]),
      quality,
      count: t.count(s), firstSeen: C[s * C_STRIDE + C_FIRST], lastSeen: F[r + R_LAST],
    };
  });
}

interface StationAcc {
  address: string;
  cas: Set<number>;
  masters: Set<string>;
  /** Open connections (flows not closed yet). */
  flows: Set<string>;
  /** Connections closed (forgotten by {@link Inventory.closeFlow}). */
  closedFlows: number;
  /** APDU count by type identification. */
  types: Float64Array;
  /** Last common address added to `cas`. */
  lastCa: number;
  iFrom: number;
  iTo: number;
  gi: Map<string, PeriodTracker>;
  ci: Map<string, PeriodTracker>;
  cs: Map<string, PeriodTracker>;
  testfr: { actM: number; actS: number; con: number; period: PeriodTracker };
  ioas: IoaTable;
  ioaOverflow: boolean;
  first: number;
  last: number;
}

/** @internal The accumulators one flow's roles point to. */
export interface InventoryFlow {
  master: string;
  station: string;
  st: StationAcc;
  m: MasterAcc;
}

interface MasterAcc {
  host: string;
  endpoints: Set<string>;
  stations: Set<string>;
  commands: number;
  first: number;
  last: number;
}

/** Builds the inventory from observations. */
export class Inventory {
  readonly config: InventoryConfig;
  private readonly stations = new Map<string, StationAcc>();
  private readonly masters = new Map<string, MasterAcc>();
  private readonly unresolved = new Set<string>();
  /** Closed flows whose roles were never determined. */
  private unresolvedClosed = 0;
  private readonly resolvedFlows = new Set<string>();
  /** Per flow: the accumulators its roles point to (saves the per-APDU set updates). */
  private readonly flowCache = new Map<string, InventoryFlow>();
  private frames = 0;
  /** A frozen quality object with no flag set (shared by the codec). */
  private cleanQuality: object | undefined;
  /** Meaningful once `frames` > 0. */
  private start = 0;
  private end = 0;

  constructor(config: Partial<InventoryConfig> = {}) {
    this.config = { ...DEFAULT_INVENTORY_CONFIG, ...config };
  }

  /** Flows the inventory holds state for (bounded by closing flows with {@link Inventory.closeFlow}). */
  get flowCount(): number {
    return this.unresolved.size + this.resolvedFlows.size;
  }

  /**
   * A connection ended: keep what it taught (counted in `connections`, `unresolvedFlows`) and drop
   * its per-flow state.
   */
  closeFlow(flow: string): void {
    if (this.unresolved.delete(flow)) this.unresolvedClosed++;
    if (!this.resolvedFlows.delete(flow)) return;
    const fc = this.flowCache.get(flow);
    this.flowCache.delete(flow);
    if (fc !== undefined && fc.st.flows.delete(flow)) fc.st.closedFlows++;
    else {
      for (const st of this.stations.values()) {
        if (st.flows.delete(flow)) {
          st.closedFlows++;
          break;
        }
      }
    }
  }

  /** Account for one observation. */
  observe(o: Observation): void {
    this.observeWith(o, undefined);
  }

  /**
   * @internal {@link Inventory.observe} with the flow's entry returned by the previous call for
   * the same flow (or undefined); returns the entry to pass next time. An entry only caches what
   * the flow's roles point to, so a stale one is detected and replaced.
   */
  observeWith(o: Observation, kept: InventoryFlow | undefined): InventoryFlow | undefined {
    // first and last capture time (numbers only, kept unboxed: no allocation per APDU)
    if (this.frames++ === 0) this.start = this.end = o.ts;
    else {
      if (o.ts < this.start) this.start = o.ts;
      if (o.ts > this.end) this.end = o.ts;
    }
    if (!o.master || !o.station || !o.dir) {
      if (!this.resolvedFlows.has(o.flow)) this.unresolved.add(o.flow);
      return kept;
    }
    let fc = kept ?? this.flowCache.get(o.flow);
    let st: StationAcc;
    let m: MasterAcc;
    if (fc !== undefined && fc.master === o.master && fc.station === o.station) {
      st = fc.st;
      m = fc.m;
      st.last = o.ts;
      m.last = o.ts;
    } else {
      this.unresolved.delete(o.flow);
      this.resolvedFlows.add(o.flow);
      st = this.station(o.station, o.ts);
      m = this.master(hostOf(o.master), o.ts);
      m.endpoints.add(o.master);
      m.stations.add(o.station);
      st.masters.add(m.host);
      st.flows.add(o.flow);
      fc = { master: o.master, station: o.station, st, m };
      this.flowCache.set(o.flow, fc);
      if (this.flowCache.size > 65536) this.flowCache.delete(this.flowCache.keys().next().value as string);
    }
    const mh = m.host;
    const a = o.apdu;
    if (!a) return fc;
    const fromMaster = o.dir === 'master→station';
    if (a.apci.format === 'U') {
      const f = a.apci.uFunction;
      if (f === 'TESTFR_ACT') {
        if (fromMaster) st.testfr.actM++;
        else st.testfr.actS++;
        st.testfr.period.add(o.ts);
      } else if (f === 'TESTFR_CON') st.testfr.con++;
      return fc;
    }
    const asdu = a.asdu;
    if (!asdu) return fc;
    st.types[asdu.typeId]++;
    if (asdu.ca !== 0xffff && asdu.ca !== st.lastCa) {
      st.cas.add(asdu.ca);
      st.lastCa = asdu.ca;
    }
    if (fromMaster) {
      st.iTo++;
      if (asdu.cot === 6) {
        const per = asdu.typeId === TypeId.C_IC_NA_1 ? st.gi : asdu.typeId === TypeId.C_CI_NA_1 ? st.ci : asdu.typeId === TypeId.C_CS_NA_1 ? st.cs : undefined;
        if (per) {
          let p = per.get(mh);
          if (!p) per.set(mh, (p = new PeriodTracker(this.config.maxIntervals)));
          p.add(o.ts);
        }
      }
      // commands the master sent: the control-direction types of the table (not the private 52–57)
      if (isControlType(asdu.typeId)) {
        if (asdu.cot === 6 || asdu.cot === 8) m.commands++;
      }
      return fc;
    }
    st.iFrom++;
    // objects reported by the station (monitor direction and command mirrors)
    const ca = asdu.ca;
    const typeId = asdu.typeId;
    const cot = asdu.cot;
    const ts = o.ts;
    const objs = asdu.objects;
    const t = st.ioas;
    let F = t.F;
    for (let k = 0; k < objs.length; k++) {
      const obj = objs[k];
      const ioa = obj.ioa;
      const key = ca * 16777216 + ioa;
      let s = t.find(key);
      if (s < 0) {
        if (t.size >= this.config.maxIoasPerStation) {
          st.ioaOverflow = true;
          continue;
        }
        s = t.insert(key, ca, ioa, ts);
        F = t.F;
      }
      const r = s * STRIDE;
      const lastType = F[r + R_LAST_TYPE];
      if (lastType !== typeId) {
        const C = t.C;
        if (C[s * C_STRIDE + C_PREV_TYPE] !== typeId) {
          const types = t.types[s];
          if (!types.includes(typeId)) types.push(typeId);
        }
        C[s * C_STRIDE + C_PREV_TYPE] = lastType;
        F[r + R_LAST_TYPE] = typeId;
      }
      // causes: the first two inline, further ones in `more`
      const c0 = F[r + R_C0];
      if (c0 === cot) F[r + R_N0]++;
      else if (F[r + R_C1] === cot) F[r + R_N1]++;
      else if (c0 === -1) {
        if (F[r + R_N0] !== 0) t.C[s * C_STRIDE + C_LOST] += F[r + R_N0];
        F[r + R_C0] = cot;
        F[r + R_N0] = 1;
      } else if (F[r + R_C1] === -1) {
        if (F[r + R_N1] !== 0) t.C[s * C_STRIDE + C_LOST] += F[r + R_N1];
        F[r + R_C1] = cot;
        F[r + R_N1] = 1;
      } else {
        const m = (t.more[s] ??= []);
        m[cot] = (m[cot] ?? 0) + 1;
      }
      F[r + R_LAST] = ts;
      const v = obj.value;
      if (typeof v === 'number') {
        if (Number.isFinite(v)) {
          if (v < F[r + R_MIN]) F[r + R_MIN] = v;
          if (v > F[r + R_MAX]) F[r + R_MAX] = v;
        }
      } else if (typeof v === 'boolean') {
        const x = v ? 1 : 0;
        if (x < F[r + R_MIN]) F[r + R_MIN] = x;
        if (x > F[r + R_MAX]) F[r + R_MAX] = x;
      }
      const q = obj.quality as Record<string, boolean> | undefined;
      // the codec shares one frozen object per quality combination: remember the clean one
      if (q !== this.cleanQuality && q && typeof q === 'object') {
        if (q.iv || q.nt || q.sb || q.bl || q.ov) {
          const Q = t.Q;
          if (q.iv) Q[s * 5]++;
          if (q.nt) Q[s * 5 + 1]++;
          if (q.sb) Q[s * 5 + 2]++;
          if (q.bl) Q[s * 5 + 3]++;
          if (q.ov) Q[s * 5 + 4]++;
        } else if (Object.isFrozen(q)) this.cleanQuality = q;
      }
    }
    return fc;
  }

  /** The JSON-serialisable summary. */
  summary(): InventorySummary {
    const periods = (m: Map<string, PeriodTracker>): PeriodSummary[] =>
      [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([master, p]) => ({
        master, count: p.count, medianIntervalMs: p.median(),
        minIntervalMs: p.intervals.length ? p.intervals.reduce((x, y) => (y < x ? y : x), Infinity) : null,
        maxIntervalMs: p.intervals.length ? p.intervals.reduce((x, y) => (y > x ? y : x), -Infinity) : null,
      }));
    const stations: StationSummary[] = [...this.stations.values()].sort((a, b) => (a.address < b.address ? -1 : 1)).map((s) => ({
      address: s.address,
      commonAddresses: [...s.cas].sort((a, b) => a - b),
      masters: [...s.masters].sort(),
      redundantMasters: s.masters.size > 1,
      connections: s.flows.size + s.closedFlows,
      types: Object.fromEntries([...s.types].flatMap((n, t) => (n > 0 ? [[typeName(t), n] as const] : []))),
      iFramesFromStation: s.iFrom,
      iFramesToStation: s.iTo,
      interrogation: periods(s.gi),
      counterInterrogation: periods(s.ci),
      clockSync: periods(s.cs),
      testfr: { actFromMaster: s.testfr.actM, actFromStation: s.testfr.actS, con: s.testfr.con, medianIntervalMs: s.testfr.period.median() },
      ioaCount: s.ioas.size,
      ioasTruncated: s.ioaOverflow,
      ioas: ioaSummaries(s.ioas),
      firstSeen: s.first,
      lastSeen: s.last,
    }));
    const masters: MasterSummary[] = [...this.masters.values()].sort((a, b) => (a.host < b.host ? -1 : 1)).map((m) => ({
      host: m.host, endpoints: [...m.endpoints].sort(), stations: [...m.stations].sort(), commands: m.commands, firstSeen: m.first, lastSeen: m.last,
    }));
    return { kind: 'inventory', frames: this.frames, start: this.frames > 0 ? this.start : null, end: this.frames > 0 ? this.end : null, masters, stations, unresolvedFlows: this.unresolved.size + this.unresolvedClosed };
  }

  private station(addr: string, ts: number): StationAcc {
    let s = this.stations.get(addr);
    if (!s) {
      s = {
        address: addr, cas: new Set(), masters: new Set(), flows: new Set(), closedFlows: 0, types: new Float64Array(256), lastCa: -1, iFrom: 0, iTo: 0,
        gi: new Map(), ci: new Map(), cs: new Map(), testfr: { actM: 0, actS: 0, con: 0, period: new PeriodTracker(this.config.maxIntervals) },
        ioas: new IoaTable(), ioaOverflow: false, first: ts, last: ts,
      };
      this.stations.set(addr, s);
    }
    s.last = ts;
    return s;
  }

  private master(host: string, ts: number): MasterAcc {
    let m = this.masters.get(host);
    if (!m) this.masters.set(host, (m = { host, endpoints: new Set(), stations: new Set(), commands: 0, first: ts, last: ts }));
    m.last = ts;
    return m;
  }
}

function fmtMs(ms: number | null): string {
  if (ms === null) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
function fmtTs(ts: number | null): string {
  return ts === null ? '-' : new Date(ts).toISOString();
}

/** Options of {@link renderInventory}. */
export interface RenderInventoryOptions {
  /** Information objects listed per station (default 50; the rest are counted). */
  maxIoas?: number;
}

/** Human-readable text of an inventory summary. */
export function renderInventory(s: InventorySummary, opts: RenderInventoryOptions = {}): string {
  const maxIoas = opts.maxIoas ?? 50;
  const L: string[] = [];
  L.push(`Inventory: ${s.masters.length} master(s), ${s.stations.length} station(s), ${s.frames} APDUs, ${fmtTs(s.start)} .. ${fmtTs(s.end)}`);
  if (s.unresolvedFlows) L.push(`  (${s.unresolvedFlows} connection(s) with undetermined roles)`);
  L.push('Masters');
  for (const m of s.masters) {
    L.push(`  ${m.host}  -> ${m.stations.join(', ')}  commands ${m.commands}  endpoints ${m.endpoints.length}`);
  }
  L.push('Stations');
  for (const st of s.stations) {
    L.push(`  ${st.address}  CA ${st.commonAddresses.join(',') || '-'}  masters ${st.masters.join(', ')}${st.redundantMasters ? '  [several masters]' : ''}  connections ${st.connections}`);
    L.push(`    types: ${Object.entries(st.types).map(([t, n]) => `${t}×${n}`).join(' ')}`);
    L.push(`    I-frames: ${st.iFramesToStation} to station, ${st.iFramesFromStation} from station`);
    const per = (label: string, ps: PeriodSummary[]): void => {
      for (const p of ps) L.push(`    ${label} from ${p.master}: ${p.count}×, median interval ${fmtMs(p.medianIntervalMs)} (min ${fmtMs(p.minIntervalMs)}, max ${fmtMs(p.maxIntervalMs)})`);
    };
    per('interrogation', st.interrogation);
    per('counter interrogation', st.counterInterrogation);
    per('clock sync', st.clockSync);
    const t = st.testfr;
    L.push(`    TESTFR: act ${t.actFromMaster} from master, ${t.actFromStation} from station, con ${t.con}, median interval ${fmtMs(t.medianIntervalMs)}`);
    L.push(`    objects: ${st.ioaCount}${st.ioasTruncated ? ' (truncated)' : ''}`);
    for (const i of st.ioas.slice(0, maxIoas)) {
      const causes = Object.entries(i.causes).map(([c, n]) => `${c}×${n}`).join(',');
      const q = Object.entries(i.quality).map(([f, n]) => `${f.toUpperCase()}×${n}`).join(',');
      const range = i.min === null ? '' : i.min === i.max ? `  value ${i.min}` : `  range ${i.min}..${i.max}`;
      L.push(`      CA ${i.ca} IOA ${i.ioa}  ${i.types.join('/')}  ${causes}${range}${q ? '  quality ' + q : ''}  ×${i.count}`);
    }
    if (st.ioas.length > maxIoas) L.push(`      ... ${st.ioas.length - maxIoas} more`);
  }
  if (s.fileTransfers?.length) {
    L.push('File transfers');
    for (const f of s.fileTransfers) L.push(`  ${formatFileTransfer(f)}`);
  }
  return L.join('\n');
}
