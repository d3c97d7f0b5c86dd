/**
 * Inventory: which masters talk to which stations, the common addresses and information objects
 * of each station, how often it is interrogated and clock-synchronised, and how it keeps the link
 * alive. Built incrementally from observations; memory is bounded per station.
 */
import { typeName } from '../codec/type-table.js';
import { cotShortName } from '../codec/cause.js';
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

interface IoaAcc {
  ca: number;
  ioa: number;
  /** Distinct types seen (sorted in the summary). */
  types: number[];
  /** Last type seen and the one before (skip the search on repeats and alternations). */
  lastType: number;
  prevType: number;
  /** The first two causes and their counts inline; further causes in `more` (sparse, by cause). */
  c0: number;
  n0: number;
  c1: number;
  n1: number;
  more: number[] | undefined;
  min: number;
  max: number;
  quality: { iv: number; nt: number; sb: number; bl: number; ov: number };
  count: number;
  first: number;
  last: number;
  /** The object that followed this one in an ASDU (predicts the next lookup of a sequence). */
  next: IoaAcc | undefined;
}

function newIoaAcc(ca: number, ioa: number, ts: number): IoaAcc {
  return { ca, ioa, types: [], lastType: -1, prevType: -1, c0: -1, n0: 0, c1: -1, n1: 0, more: undefined, min: Infinity, max: -Infinity, quality: { iv: 0, nt: 0, sb: 0, bl: 0, ov: 0 }, count: 0, first: ts, last: ts, next: undefined };
}

function addCause(acc: IoaAcc, cot: number): void {
  if (acc.c0 === cot) acc.n0++;
  else if (acc.c1 === cot) acc.n1++;
  else if (acc.c0 === -1) {
    acc.c0 = cot;
    acc.n0 = 1;
  } else if (acc.c1 === -1) {
    acc.c1 = cot;
    acc.n1 = 1;
  } else {
    const m = (acc.more ??= []);
    m[cot] = (m[cot] ?? 0) + 1;
  }
}

/** Count by cause (sparse array indexed by the cause value). */
function causeCounts(acc: IoaAcc): number[] {
  const out: number[] = acc.more ? [...acc.more] : [];
  if (acc.c0 >= 0) out[acc.c0] = acc.n0;
  if (acc.c1 >= 0) out[acc.c1] = acc.n1;
  return out;
}

interface StationAcc {
  address: string;
  cas: Set<number>;
  masters: Set<string>;
  flows: Set<string>;
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
  /** Keyed `ca * 2^24 + ioa`. */
  ioas: Map<number, IoaAcc>;
  ioaOverflow: boolean;
  first: number;
  last: number;
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
  private readonly resolvedFlows = new Set<string>();
  /** Per flow: the accumulators its roles point to (saves the per-APDU set updates). */
  private readonly flowCache = new Map<string, { master: string; station: string; st: StationAcc; m: MasterAcc }>();
  private frames = 0;
  /** A frozen quality object with no flag set (shared by the codec). */
  private cleanQuality: object | undefined;
  private start: number | null = null;
  private end: number | null = null;

  constructor(config: Partial<InventoryConfig> = {}) {
    this.config = { ...DEFAULT_INVENTORY_CONFIG, ...config };
  }

  /** Account for one observation. */
  observe(o: Observation): void {
    this.frames++;
    if (this.start === null || o.ts < this.start) this.start = o.ts;
    if (this.end === null || o.ts > this.end) this.end = o.ts;
    if (!o.master || !o.station || !o.dir) {
      if (!this.resolvedFlows.has(o.flow)) this.unresolved.add(o.flow);
      return;
    }
    let fc = this.flowCache.get(o.flow);
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
    if (!a) return;
    const fromMaster = o.dir === 'master→station';
    if (a.apci.format === 'U') {
      const f = a.apci.uFunction;
      if (f === 'TESTFR_ACT') {
        if (fromMaster) st.testfr.actM++;
        else st.testfr.actS++;
        st.testfr.period.add(o.ts);
      } else if (f === 'TESTFR_CON') st.testfr.con++;
      return;
    }
    const asdu = a.asdu;
    if (!asdu) return;
    st.types[asdu.typeId]++;
    if (asdu.ca !== 0xffff && asdu.ca !== st.lastCa) {
      st.cas.add(asdu.ca);
      st.lastCa = asdu.ca;
    }
    if (fromMaster) {
      st.iTo++;
      if (asdu.cot === 6) {
        const per = asdu.typeId === 100 ? st.gi : asdu.typeId === 101 ? st.ci : asdu.typeId === 103 ? st.cs : undefined;
        if (per) {
          let p = per.get(mh);
          if (!p) per.set(mh, (p = new PeriodTracker(this.config.maxIntervals)));
          p.add(o.ts);
        }
      }
      if ((asdu.typeId >= 45 && asdu.typeId <= 64) || (asdu.typeId >= 100 && asdu.typeId <= 113)) {
        if (asdu.cot === 6 || asdu.cot === 8) m.commands++;
      }
      return;
    }
    st.iFrom++;
    // objects reported by the station (monitor direction and command mirrors)
    const ca = asdu.ca;
    const typeId = asdu.typeId;
    const cot = asdu.cot;
    const ts = o.ts;
    const objs = asdu.objects;
    let prev: IoaAcc | undefined;
    for (let i = 0; i < objs.length; i++) {
      const obj = objs[i];
      const ioa = obj.ioa;
      let acc = prev?.next;
      if (acc === undefined || acc.ioa !== ioa || acc.ca !== ca) {
        const key = ca * 16777216 + ioa;
        acc = st.ioas.get(key);
        if (!acc) {
          if (st.ioas.size >= this.config.maxIoasPerStation) {
            st.ioaOverflow = true;
            continue;
          }
          acc = newIoaAcc(ca, ioa, ts);
          st.ioas.set(key, acc);
        }
        if (prev !== undefined && prev.next === undefined) prev.next = acc;
      }
      prev = acc;
      if (acc.lastType !== typeId) {
        if (acc.prevType !== typeId && !acc.types.includes(typeId)) acc.types.push(typeId);
        acc.prevType = acc.lastType;
        acc.lastType = typeId;
      }
      addCause(acc, cot);
      acc.count++;
      acc.last = ts;
      const v = obj.value;
      if (typeof v === 'number') {
        if (Number.isFinite(v)) {
          if (v < acc.min) acc.min = v;
          if (v > acc.max) acc.max = v;
        }
      } else if (typeof v === 'boolean') {
        const x = v ? 1 : 0;
        if (x < acc.min) acc.min = x;
        if (x > acc.max) acc.max = x;
      }
      const q = obj.quality as Record<string, boolean> | undefined;
      // the codec shares one frozen object per quality combination: remember the clean one
      if (q !== this.cleanQuality && q && typeof q === 'object') {
        if (q.iv || q.nt || q.sb || q.bl || q.ov) {
          const aq = acc.quality;
          if (q.iv) aq.iv++;
          if (q.nt) aq.nt++;
          if (q.sb) aq.sb++;
          if (q.bl) aq.bl++;
          if (q.ov) aq.ov++;
        } else if (Object.isFrozen(q)) this.cleanQuality = q;
      }
    }
  }

  /** The JSON-serialisable summary. */
  summary(): InventorySummary {
    const periods = (m: Map<string, PeriodTracker>): PeriodSummary[] =>
      [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([master, p]) => ({
        master, count: p.count, medianIntervalMs: p.median(),
        minIntervalMs: p.intervals.length ? Math.min(...p.intervals) : null,
        maxIntervalMs: p.intervals.length ? Math.max(...p.intervals) : null,
      }));
    const stations: StationSummary[] = [...this.stations.values()].sort((a, b) => (a.address < b.address ? -1 : 1)).map((s) => ({
      address: s.address,
      commonAddresses: [...s.cas].sort((a, b) => a - b),
      masters: [...s.masters].sort(),
      redundantMasters: s.masters.size > 1,
      connections: s.flows.size,
      types: Object.fromEntries([...s.types].flatMap((n, t) => (n > 0 ? [[typeName(t), n] as const] : []))),
      iFramesFromStation: s.iFrom,
      iFramesToStation: s.iTo,
      interrogation: periods(s.gi),
      counterInterrogation: periods(s.ci),
      clockSync: periods(s.cs),
      testfr: { actFromMaster: s.testfr.actM, actFromStation: s.testfr.actS, con: s.testfr.con, medianIntervalMs: s.testfr.period.median() },
      ioaCount: s.ioas.size,
      ioasTruncated: s.ioaOverflow,
      ioas: [...s.ioas.values()].sort((a, b) => a.ca - b.ca || a.ioa - b.ioa).map((i) => ({
        ca: i.ca, ioa: i.ioa,
        types: [...i.types].sort((a, b) => a - b).map(typeName),
        causes: Object.fromEntries(causeCounts(i).flatMap((n, c) => (n ? [[cotShortName(c), n] as const] : []))),
        min: i.min === Infinity ? null : i.min,
        max: i.max === -Infinity ? null : i.max,
        quality: Object.fromEntries(Object.entries(i.quality).filter(([, n]) => n > 0)),
        count: i.count, firstSeen: i.first, lastSeen: i.last,
      })),
      firstSeen: s.first,
      lastSeen: s.last,
    }));
    const masters: MasterSummary[] = [...this.masters.values()].sort((a, b) => (a.host < b.host ? -1 : 1)).map((m) => ({
      host: m.host, endpoints: [...m.endpoints].sort(), stations: [...m.stations].sort(), commands: m.commands, firstSeen: m.first, lastSeen: m.last,
    }));
    return { kind: 'inventory', frames: this.frames, start: this.start, end: this.end, masters, stations, unresolvedFlows: this.unresolved.size };
  }

  private station(addr: string, ts: number): StationAcc {
    let s = this.stations.get(addr);
    if (!s) {
      s = {
        address: addr, cas: new Set(), masters: new Set(), flows: new Set(), types: new Float64Array(256), lastCa: -1, iFrom: 0, iTo: 0,
        gi: new Map(), ci: new Map(), cs: new Map(), testfr: { actM: 0, actS: 0, con: 0, period: new PeriodTracker(this.config.maxIntervals) },
        ioas: new Map(), ioaOverflow: false, first: ts, last: ts,
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
  return L.join('\n');
}
