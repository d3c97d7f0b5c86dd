/**
 * Received monitor data as typed values, and a live point image (CA/IOA -> last value).
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import type { OutputCircuits, ProtectionQuality, Quality, StartEvents } from '../codec/elements.js';
import type { Cp24Time, Cp56Time } from '../codec/time.js';
import { cp56ToDate } from '../codec/time.js';
import { typeInfo, typeName } from '../codec/type-table.js';

/** Value of a monitor information object, by element: SIQ boolean; DIQ/SEP 0..3; VTI, NVA, SVA, R32, BSI, BCR numbers; SCD, SPE, OCI objects. */
export type PointValueType = boolean | number | StartEvents | OutputCircuits | { status: number; changes: number };

/** One received information object as a value. */
export interface PointValue {
  /** Common address of the ASDU. */
  ca: number;
  ioa: number;
  typeId: number;
  /** Mnemonic, e.g. `M_ME_NC_1`. */
  type: string;
  /** The value (absent for objects without one, e.g. end of initialisation). */
  value?: PointValueType;
  /** Quality descriptor (QDS/SIQ/DIQ/QDP), when the type carries one. */
  quality?: Quality | ProtectionQuality;
  /** Time tag as sent, when the type carries one. */
  time?: Cp56Time | Cp24Time;
  /** The CP56Time2a tag as a Date (UTC reading, century 2000), when there is one. */
  timestamp?: Date;
  /** Cause of transmission of the ASDU. */
  cot: number;
  /** T bit of the ASDU. */
  test: boolean;
  /** Clock time (the master's clock) at which it was received. */
  receivedAt: number;
  /** The decoded object with every property (e.g. `transient`, `carry`, `raw`). */
  object: InformationObject;
}

function isCp56(t: unknown): t is Cp56Time {
  return typeof t === 'object' && t !== null && 'year' in t && 'month' in t;
}

/** Typed values of the objects of an ASDU (every object, whatever the direction). */
export function toPointValues(asdu: Asdu, receivedAt = 0): PointValue[] {
  const type = typeName(asdu.typeId);
  const out: PointValue[] = [];
  for (const o of asdu.objects) {
    const p: PointValue = { ca: asdu.ca, ioa: o.ioa, typeId: asdu.typeId, type, cot: asdu.cot, test: asdu.test, receivedAt, object: o };
    let v: unknown = o.value;
    if (v === undefined && o.events !== undefined) v = o.events;
    if (v === undefined && o.circuits !== undefined) v = o.circuits;
    if (v === undefined && typeof o.status === 'number' && typeof o.changes === 'number') v = { status: o.status, changes: o.changes };
    if (v !== undefined) p.value = v as PointValueType;
    if (o.quality !== undefined) p.quality = o.quality as Quality | ProtectionQuality;
    if (o.time !== undefined) {
      p.time = o.time as Cp56Time | Cp24Time;
      if (isCp56(o.time)) p.timestamp = cp56ToDate(o.time);
    }
    out.push(p);
  }
  return out;
}

/** Whether an ASDU carries process data for the point image (monitor direction, not a refusal). */
export function isMonitorData(asdu: Asdu): boolean {
  const info = typeInfo(asdu.typeId);
  if (!info || (info.category !== 'process-monitor' && info.category !== 'protection')) return false;
  return asdu.cot < 44 || asdu.cot > 47;
}

/**
 * Last value of every monitor point seen, keyed by common address and IOA.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { PointImage } from 'iec104';
 * const image = new PointImage();
 * image.update({ typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1,
 *   objects: [{ ioa: 100, value: 1.5, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }] });
 * assert.equal(image.get(1, 100)?.value, 1.5);
 * ```
 */
export class PointImage {
  private readonly map = new Map<string, PointValue>();

  /** Take the monitor objects of an ASDU; returns how many points were updated. */
  update(asdu: Asdu, receivedAt = 0): number {
    if (!isMonitorData(asdu)) return 0;
    const values = toPointValues(asdu, receivedAt);
    for (const v of values) this.map.set(`${v.ca}/${v.ioa}`, v);
    return values.length;
  }
  /** Last value of a point. */
  get(ca: number, ioa: number): PointValue | undefined {
    return this.map.get(`${ca}/${ioa}`);
  }
  /** Every point, sorted by CA then IOA. */
  values(): PointValue[] {
    return [...this.map.values()].sort((a, b) => a.ca - b.ca || a.ioa - b.ioa);
  }
  /** Number of points. */
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}
