/**
 * The point database of a controlled station: monitor-direction points under one or more common
 * addresses, each with a typed value, a quality descriptor and the time of its last change.
 *
 * A point has a *static* type (used for interrogation, cyclic, background and read answers: never
 * time-tagged, e.g. `M_SP_NA_1`) and an *event* type (used for spontaneous transmission, e.g.
 * `M_SP_TB_1`). Protection-equipment types (38..40) are event-only. Values are plain JavaScript
 * values typed per kind (see {@link PointValueMap}); this module turns them into the codec's
 * {@link InformationObject}s and never builds bytes.
 */
import type { InformationObject } from '../codec/asdu.js';
import type { OutputCircuits, ProtectionQuality, Quality, StartEvents } from '../codec/elements.js';
import { cp56FromDate, type Cp24Time, type Cp56Time } from '../codec/time.js';
import { allTypes, typeInfo, typeName } from '../codec/type-table.js';

/** Kind of value a point holds, derived from its type identification. */
export type PointKind =
  | 'single' // M_SP_*: boolean
  | 'double' // M_DP_*: 0..3 (1 OFF, 2 ON)
  | 'step' // M_ST_*: {value -64..63, transient}
  | 'bitstring' // M_BO_*: uint32
  | 'normalized' // M_ME_NA/TA/TD: -1..+1
  | 'scaled' // M_ME_NB/TB/TE: int16
  | 'float' // M_ME_NC/TC/TF: number
  | 'counter' // M_IT_*: int32 counter
  | 'packed-single' // M_PS_NA_1: {status, changes}
  | 'normalized-no-quality' // M_ME_ND_1: -1..+1, no quality descriptor
  | 'protection-event' // M_EP_TA/TD: {state 0..3, elapsed}
  | 'protection-start' // M_EP_TB/TE: {events, duration}
  | 'protection-output'; // M_EP_TC/TF: {circuits, operating}

/** Step position (VTI). */
export interface StepPosition {
  /** -64..63 */
  value: number;
  /** Equipment in transient state. */
  transient: boolean;
}

/** Reading of an integrated total (BCR) as held by the station. */
export interface CounterValue {
  /** Counter reading, int32. */
  value: number;
  /** CY: counter overflowed since the last reading. */
  carry?: boolean;
  /** CA: counter was adjusted since the last reading. */
  adjusted?: boolean;
  /** IV: reading invalid. */
  invalid?: boolean;
}

/** Packed single points with status change detection (SCD). */
export interface PackedSinglePoints {
  /** 16 status bits. */
  status: number;
  /** 16 change-detection bits. */
  changes: number;
}

/** Event of protection equipment (SEP + elapsed time). */
export interface ProtectionEventValue {
  /** Event state 0..3 (1 OFF, 2 ON). */
  state: number;
  /** Elapsed time in ms (CP16Time2a). */
  elapsed: number;
}

/** Packed start events of protection equipment (SPE + relay duration). */
export interface ProtectionStartValue {
  events: StartEvents;
  /** Relay duration time in ms. */
  duration: number;
}

/** Packed output circuit information of protection equipment (OCI + relay operating time). */
export interface ProtectionOutputValue {
  circuits: OutputCircuits;
  /** Relay operating time in ms. */
  operating: number;
}

/** The value type of each point kind. */
export interface PointValueMap {
  single: boolean;
  double: number;
  step: StepPosition;
  bitstring: number;
  normalized: number;
  scaled: number;
  float: number;
  counter: CounterValue;
  'packed-single': PackedSinglePoints;
  'normalized-no-quality': number;
  'protection-event': ProtectionEventValue;
  'protection-start': ProtectionStartValue;
  'protection-output': ProtectionOutputValue;
}

/** Any point value. Update calls also accept shorthands: a number for a step position or a counter. */
export type StationPointValue = PointValueMap[PointKind];

/** Quality bits of a point (QDS; `ov` ignored for SIQ/DIQ; `ei` only for protection types). Missing bits are false. */
export interface PointQuality {
  iv?: boolean;
  nt?: boolean;
  sb?: boolean;
  bl?: boolean;
  ov?: boolean;
  ei?: boolean;
}

/** Static description of one monitor type family. */
interface Family {
  kind: PointKind;
  /** Type used for interrogation/cyclic/background/read; undefined for event-only types. */
  static?: number;
  /** Time-tagged types of the family (CP24 first, CP56 second). */
  timed: number[];
  /** Default event type. */
  event: number;
}

/**
 * The point families, from the type table: the process information and protection types of the
 * monitor direction grouped by their CP56Time2a variant (or, without one, by themselves). The
 * untimed member is the static type, the time-tagged members (CP24 then CP56) the event types,
 * the CP56Time2a variant the default event type. M_ME_ND_1 (normalized without quality) is its own
 * kind.
 */
function pointFamilies(): Map<number, Family> {
  const byKey = new Map<number, Family>();
  const of = new Map<number, Family>();
  for (const t of allTypes()) {
    if (t.raw || t.direction !== 'monitor' || (t.category !== 'process-monitor' && t.category !== 'protection')) continue;
    const key = t.timedVariant ?? t.id;
    let f = byKey.get(key);
    if (!f) {
      const noQuality = t.family === 'normalized' && !t.fields.some((e) => e.ie === 'QDS');
      byKey.set(key, (f = { kind: (noQuality ? 'normalized-no-quality' : t.family) as PointKind, timed: [], event: t.timedVariant ?? t.id }));
    }
    if (t.timeTag === 'none') f.static = t.id;
    else f.timed.push(t.id);
    of.set(t.id, f);
  }
  return of;
}
const FAMILY_OF = pointFamilies();

/** Monitor type identifications a point may be configured with (1..21 except 17..19 as static, 30..40). */
export const MONITOR_POINT_TYPES: readonly number[] = Object.freeze([...FAMILY_OF.keys()].sort((a, b) => a - b));

/** The kind of value for a monitor type, or undefined when the type is not a point type. */
export function pointKindOf(typeId: number): PointKind | undefined {
  return FAMILY_OF.get(typeId)?.kind;
}

/**
 * Static and event types for a configured type and optional event type. Throws {@link PointError}
 * when the event type is not of the same family.
 */
export function resolvePointTypes(type: number, eventType?: number): { kind: PointKind; staticType: number | undefined; eventType: number } {
  const f = FAMILY_OF.get(type);
  if (!f) throw new PointError(`type ${typeName(type)} (${type}) is not a monitor point type`);
  let ev: number;
  if (eventType === undefined) ev = f.timed.includes(type) ? type : f.event;
  else {
    const ef = FAMILY_OF.get(eventType);
    if (ef !== f) throw new PointError(`event type ${typeName(eventType)} is not of the family of ${typeName(type)}`);
    ev = eventType;
  }
  return { kind: f.kind, staticType: f.static, eventType: ev };
}

/** A problem with a point or a value given to the database. */
export class PointError extends Error {
  override readonly name = 'PointError';
  /** Stable code for programs. */
  readonly code = 'E_POINT' as const;
}

/** Configuration of one point. */
export interface PointConfig {
  /** Common address of ASDU. */
  ca: number;
  /** Information object address. */
  ioa: number;
  /** Monitor type identification (static or time-tagged, e.g. 1 or 30). */
  type: number;
  /** Type used for spontaneous events (same family). Default: the CP56 time-tagged type of the family (1 → 30); a configured time-tagged type is its own event type. */
  eventType?: number;
  /** Initial value (default: the kind's zero: false, 0, {value:0, transient:false}, …). */
  value?: StationPointValue;
  /** Initial quality (default all good). */
  quality?: PointQuality;
  /** Human name, for logs and the CLI. */
  name?: string;
  /** Part of the station interrogation (QOI 20). Default true (false for counters and protection types, which are never interrogated). */
  interrogation?: boolean;
  /** Interrogation groups 1..16 (QOI 21..36) the point belongs to. */
  groups?: number[];
  /** Counter interrogation group 1..4 (counters only). */
  counterGroup?: number;
  /** Transmitted cyclically with COT 1 (measured value types 9, 11, 13, 21 only). */
  cyclic?: boolean;
  /** Transmitted by the background scan with COT 2 (default true for interrogated points whose type allows COT 2). */
  background?: boolean;
  /** Updates raise spontaneous events. Default true, false for counters. */
  spontaneous?: boolean;
}

/** Live state of one point. */
export interface StationPoint {
  readonly ca: number;
  readonly ioa: number;
  readonly kind: PointKind;
  /** Type as configured (counter interrogation answers with it: M_IT_NA_1 or M_IT_TB_1). */
  readonly type: number;
  /** Type for interrogation/cyclic/background/read; undefined for event-only (protection) points. */
  readonly staticType: number | undefined;
  /** Type of spontaneous events. */
  readonly eventType: number;
  readonly name: string | undefined;
  readonly interrogation: boolean;
  readonly groups: ReadonlySet<number>;
  readonly counterGroup: number | undefined;
  readonly cyclic: boolean;
  readonly background: boolean;
  readonly spontaneous: boolean;
  /** Current value (for counters: the running count). */
  value: StationPointValue;
  quality: PointQuality;
  /** Station time (ms since the epoch) of the last update. */
  time: number;
  /** Counters only: the frozen reading (what counter interrogation transmits) and its sequence number 0..31. */
  frozen?: { value: CounterValue; sequence: number; time: number };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Zero value of a kind. */
export function defaultValue(kind: PointKind): StationPointValue {
  switch (kind) {
    case 'single': return false;
    case 'step': return { value: 0, transient: false };
    case 'counter': return { value: 0 };
    case 'packed-single': return { status: 0, changes: 0 };
    case 'protection-event': return { state: 1, elapsed: 0 };
    case 'protection-start': return { events: { gs: false, sl1: false, sl2: false, sl3: false, sie: false, srd: false }, duration: 0 };
    case 'protection-output': return { circuits: { gc: false, cl1: false, cl2: false, cl3: false }, operating: 0 };
    default: return 0;
  }
}

/**
 * Check a value for a kind and return it normalised (shorthands expanded, copies made).
 * Throws {@link PointError} with a message saying what was expected.
 */
export function normalizeValue(kind: PointKind, v: unknown): StationPointValue {
  // no closure per call: this runs for every update
  switch (kind) {
    case 'single':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      return valueError(kind, v, 'a boolean');
    case 'double':
      return isInt(v, 0, 3) ? v : valueError(kind, v, 'an integer 0..3 (1 OFF, 2 ON)');
    case 'step': {
      if (isInt(v, -64, 63)) return { value: v, transient: false };
      if (isObj(v) && isInt(v.value, -64, 63)) return { value: v.value, transient: v.transient === true };
      return valueError(kind, v, 'an integer -64..63 or {value, transient}');
    }
    case 'bitstring':
      return isInt(v, 0, 0xffffffff) ? v : valueError(kind, v, 'an integer 0..0xFFFFFFFF');
    case 'normalized':
    case 'normalized-no-quality':
      return typeof v === 'number' && Number.isFinite(v) && v >= -1 && v <= 1 ? v : valueError(kind, v, 'a number -1..+1');
    case 'scaled':
      return isInt(v, -32768, 32767) ? v : valueError(kind, v, 'an integer -32768..32767');
    case 'float':
      return typeof v === 'number' ? v : valueError(kind, v, 'a number');
    case 'counter': {
      if (isInt(v, -2147483648, 2147483647)) return { value: v };
      if (isObj(v) && isInt(v.value, -2147483648, 2147483647)) {
        const c: CounterValue = { value: v.value };
        if (v.carry === true) c.carry = true;
        if (v.adjusted === true) c.adjusted = true;
        if (v.invalid === true) c.invalid = true;
        return c;
      }
      return valueError(kind, v, 'an int32 or {value, carry?, adjusted?, invalid?}');
    }
    case 'packed-single':
      return isObj(v) && isInt(v.status, 0, 0xffff) && isInt(v.changes, 0, 0xffff) ? { status: v.status, changes: v.changes } : valueError(kind, v, '{status: 0..0xFFFF, changes: 0..0xFFFF}');
    case 'protection-event':
      return isObj(v) && isInt(v.state, 0, 3) && isInt(v.elapsed ?? 0, 0, 0xffff) ? { state: v.state, elapsed: (v.elapsed as number | undefined) ?? 0 } : valueError(kind, v, '{state: 0..3, elapsed: ms}');
    case 'protection-start': {
      if (!isObj(v) || !isObj(v.events) || !isInt(v.duration ?? 0, 0, 0xffff)) return valueError(kind, v, '{events: {gs, sl1, sl2, sl3, sie, srd}, duration: ms}');
      const e = v.events;
      return { events: { gs: e.gs === true, sl1: e.sl1 === true, sl2: e.sl2 === true, sl3: e.sl3 === true, sie: e.sie === true, srd: e.srd === true }, duration: (v.duration as number | undefined) ?? 0 };
    }
    case 'protection-output': {
      if (!isObj(v) || !isObj(v.circuits) || !isInt(v.operating ?? 0, 0, 0xffff)) return valueError(kind, v, '{circuits: {gc, cl1, cl2, cl3}, operating: ms}');
      const c = v.circuits;
      return { circuits: { gc: c.gc === true, cl1: c.cl1 === true, cl2: c.cl2 === true, cl3: c.cl3 === true }, operating: (v.operating as number | undefined) ?? 0 };
    }
  }
}

function valueError(kind: PointKind, v: unknown, expected: string): never {
  throw new PointError(`expected ${expected} for a ${kind} point, got ${JSON.stringify(v)}`);
}

/** Check a quality object; returns a copy with only the known boolean bits. */
export function normalizeQuality(q: unknown): PointQuality {
  if (q === undefined) return {};
  if (!isObj(q)) throw new PointError(`expected a quality object {iv, nt, sb, bl, ov, ei}, got ${JSON.stringify(q)}`);
  const out: PointQuality = {};
  for (const k of ['iv', 'nt', 'sb', 'bl', 'ov', 'ei'] as const) {
    const b = q[k];
    if (b === undefined) continue;
    if (typeof b !== 'boolean') throw new PointError(`quality.${k} must be a boolean, got ${JSON.stringify(b)}`);
    if (b) out[k] = true;
  }
  return out;
}

function quality(q: PointQuality): Quality {
  return { iv: q.iv === true, nt: q.nt === true, sb: q.sb === true, bl: q.bl === true, ov: q.ov === true };
}
function pquality(q: PointQuality): ProtectionQuality {
  return { iv: q.iv === true, nt: q.nt === true, sb: q.sb === true, bl: q.bl === true, ei: q.ei === true };
}

/** How station times become time tags. */
export interface TimeTagOptions {
  /** Fields in UTC (default) or the local time of this process. */
  utc: boolean;
}

/** CP56Time2a for a station time (ms since the epoch). */
export function cp56At(ms: number, o: TimeTagOptions = { utc: true }): Cp56Time {
  return cp56FromDate(new Date(ms), o.utc);
}
/** CP24Time2a for a station time. */
export function cp24At(ms: number, o: TimeTagOptions = { utc: true }): Cp24Time {
  const t = cp56At(ms, o);
  return { ms: t.ms, minute: t.minute, invalid: false };
}

/**
 * The information object of a point for a given type of the point's family (static or event
 * type), with the point's current value, or `value` given explicitly (counter readings).
 */
export function pointObject(p: StationPoint, typeId: number, o: TimeTagOptions = { utc: true }, value: StationPointValue = p.value, time: number = p.time): InformationObject {
  const v = value as unknown;
  const kind = p.kind;
  if (kind === 'single' || kind === 'double' || kind === 'bitstring' || kind === 'normalized' || kind === 'scaled' || kind === 'float') {
    // The usual event: one literal with every property, the same object the general path below
    // builds (same keys, same order) without growing it property by property.
    const tt = typeInfo(typeId)?.timeTag;
    const q = quality(p.quality);
    if (tt === 'CP56Time2a') return { ioa: p.ioa, value: v, quality: q, time: cp56At(time, o) };
    if (tt === 'CP24Time2a') return { ioa: p.ioa, value: v, quality: q, time: cp24At(time, o) };
    return { ioa: p.ioa, value: v, quality: q };
  }
  const obj: InformationObject = { ioa: p.ioa };
  switch (kind) {
    case 'step': {
      const s = v as StepPosition;
      obj.value = s.value;
      obj.transient = s.transient;
      obj.quality = quality(p.quality);
      break;
    }
    case 'normalized-no-quality':
      obj.value = v;
      break;
    case 'counter': {
      const c = v as CounterValue;
      obj.value = c.value | 0;
      obj.sequence = p.frozen?.sequence ?? 0;
      obj.carry = c.carry === true;
      obj.adjusted = c.adjusted === true;
      obj.invalid = c.invalid === true || p.quality.iv === true;
      break;
    }
    case 'packed-single': {
      const s = v as PackedSinglePoints;
      obj.status = s.status;
      obj.changes = s.changes;
      obj.quality = quality(p.quality);
      break;
    }
    case 'protection-event': {
      const e = v as ProtectionEventValue;
      obj.value = e.state;
      obj.quality = pquality(p.quality);
      obj.elapsed = e.elapsed;
      break;
    }
    case 'protection-start': {
      const e = v as ProtectionStartValue;
      obj.events = { ...e.events };
      obj.quality = pquality(p.quality);
      obj.duration = e.duration;
      break;
    }
    case 'protection-output': {
      const e = v as ProtectionOutputValue;
      obj.circuits = { ...e.circuits };
      obj.quality = pquality(p.quality);
      obj.operating = e.operating;
      break;
    }
  }
  const tt = typeInfo(typeId)?.timeTag;
  if (tt === 'CP56Time2a') obj.time = cp56At(time, o);
  else if (tt === 'CP24Time2a') obj.time = cp24At(time, o);
  return obj;
}

/** A value, quality and time to record. */
export interface PointUpdate {
  value: StationPointValue;
  quality?: PointQuality;
  /** Station time (ms since the epoch) of the change. */
  time: number;
}

/**
 * Points indexed by common address and IOA.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { PointDatabase } from 'iec104';
 * const db = new PointDatabase(Date.now());
 * db.add({ ca: 1, ioa: 100, type: 1, value: true });
 * assert.equal(db.get(1, 100)?.eventType, 30); // M_SP_NA_1 point → M_SP_TB_1 events
 * ```
 */
export class PointDatabase {
  private readonly byCa = new Map<number, Map<number, StationPoint>>();
  /** Parameters of measured values (P_ME_*), keyed `ca:ioa:kpa`. */
  readonly parameters = new Map<string, { typeId: number; value: number; kpa: number; lpc: boolean; pop: boolean }>();
  /** Parameter activation state (P_AC_NA_1), keyed `ca:ioa:qpa`: true = activated. */
  readonly activations = new Map<string, boolean>();

  /** `now` is the station time used as the initial time of points. */
  constructor(private readonly now: number) {}

  /** Declare a common address with no points yet. */
  addCommonAddress(ca: number): void {
    if (!isInt(ca, 1, 0xfffe)) throw new PointError(`common address must be an integer 1..65534, got ${JSON.stringify(ca)}`);
    if (!this.byCa.has(ca)) this.byCa.set(ca, new Map());
  }

  /** Add a point; throws {@link PointError} for a bad config or a duplicate address. */
  add(c: PointConfig): StationPoint {
    this.addCommonAddress(c.ca);
    if (!isInt(c.ioa, 1, 0xffffff)) throw new PointError(`ioa must be an integer 1..16777215, got ${JSON.stringify(c.ioa)}`);
    const m = this.byCa.get(c.ca)!;
    if (m.has(c.ioa)) throw new PointError(`duplicate point CA ${c.ca} IOA ${c.ioa}`);
    const t = resolvePointTypes(c.type, c.eventType);
    const groups = new Set<number>();
    for (const g of c.groups ?? []) {
      if (!isInt(g, 1, 16)) throw new PointError(`interrogation group must be 1..16, got ${JSON.stringify(g)}`);
      groups.add(g);
    }
    const isCounter = t.kind === 'counter';
    if (c.counterGroup !== undefined && (!isCounter || !isInt(c.counterGroup, 1, 4))) {
      throw new PointError(isCounter ? `counterGroup must be 1..4, got ${JSON.stringify(c.counterGroup)}` : 'counterGroup is only for counter points');
    }
    const staticInfo = t.staticType === undefined ? undefined : typeInfo(t.staticType);
    const interrogable = staticInfo !== undefined && staticInfo.causes.has(20) && !isCounter;
    if (c.interrogation === true && !interrogable) throw new PointError(`${typeName(c.type)} points cannot be interrogated`);
    if (groups.size > 0 && !interrogable) throw new PointError(`${typeName(c.type)} points cannot be in interrogation groups`);
    if (c.cyclic === true && !(staticInfo?.causes.has(1) ?? false)) throw new PointError(`${typeName(c.type)} points cannot be sent cyclically (only measured values: M_ME_NA/NB/NC/ND)`);
    if (c.background === true && (isCounter || !(staticInfo?.causes.has(2) ?? false))) throw new PointError(`${typeName(c.type)} points cannot be sent by background scan`);
    const interrogation = interrogable && c.interrogation !== false;
    const p: StationPoint = {
      ca: c.ca,
      ioa: c.ioa,
      kind: t.kind,
      type: c.type,
      staticType: t.staticType,
      eventType: t.eventType,
      name: c.name,
      interrogation,
      groups,
      counterGroup: isCounter ? c.counterGroup : undefined,
      cyclic: c.cyclic === true,
      background: c.background ?? (interrogation && (staticInfo?.causes.has(2) ?? false)),
      spontaneous: c.spontaneous ?? !isCounter,
      value: c.value === undefined ? defaultValue(t.kind) : normalizeValue(t.kind, c.value),
      quality: normalizeQuality(c.quality),
      time: this.now,
    };
    m.set(c.ioa, p);
    return p;
  }

  /** The point at (ca, ioa), if any. */
  get(ca: number, ioa: number): StationPoint | undefined {
    return this.byCa.get(ca)?.get(ioa);
  }

  /** Whether the common address is configured. */
  hasCommonAddress(ca: number): boolean {
    return this.byCa.has(ca);
  }

  /** Configured common addresses, ascending. */
  commonAddresses(): number[] {
    return [...this.byCa.keys()].sort((a, b) => a - b);
  }

  /** Points of a common address (or all), sorted by CA then IOA. */
  points(ca?: number): StationPoint[] {
    const cas = ca === undefined ? this.commonAddresses() : this.byCa.has(ca) ? [ca] : [];
    const out: StationPoint[] = [];
    // (no spread: a common address may hold far more points than a call takes arguments)
    for (const c of cas) for (const p of [...this.byCa.get(c)!.values()].sort((a, b) => a.ioa - b.ioa)) out.push(p);
    return out;
  }

  /** Number of points. */
  get size(): number {
    let n = 0;
    for (const m of this.byCa.values()) n += m.size;
    return n;
  }

  /** Record a new value (checked against the point's kind). Throws {@link PointError}. */
  record(p: StationPoint, u: PointUpdate): void {
    const v = normalizeValue(p.kind, u.value);
    const q = u.quality === undefined ? p.quality : normalizeQuality(u.quality);
    p.value = v;
    p.quality = q;
    p.time = u.time;
  }
}
