/**
 * Packing of information objects into ASDUs: as many objects per ASDU as fit the 249-octet ASDU
 * limit (and the 127 objects of VSQ), SQ=1 for runs of contiguous IOAs when the type allows it and
 * it saves frames.
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { MAX_ASDU_LENGTH } from '../codec/apci.js';
import { type CodecOptions, headerSize, IEC104_OPTIONS } from '../codec/options.js';
import { typeInfo } from '../codec/type-table.js';

/** Header fields shared by the ASDUs built. */
export interface AsduHeader {
  cot: number;
  ca: number;
  originator?: number;
  test?: boolean;
  negative?: boolean;
}

/** Packing options. */
export interface PackingOptions {
  codec?: CodecOptions;
  /**
   * Shortest run of contiguous IOAs sent as its own SQ=1 ASDU. Default: the length from which
   * SQ=1 saves more octets (one IOA per object after the first) than a separate frame costs
   * (APCI 6 + ASDU header + IOA): 6 with IEC 104 field widths. Shorter runs join SQ=0 ASDUs.
   */
  sqMinRun?: number;
}

/** Most objects of a type in one ASDU (SQ=0 or SQ=1), given the field widths. */
export function maxObjects(typeId: number, sq: boolean, codec: CodecOptions = IEC104_OPTIONS): number {
  const info = typeInfo(typeId);
  if (!info || info.elementSize === 0) return 1;
  const room = MAX_ASDU_LENGTH - headerSize(codec);
  const n = sq ? Math.floor((room - codec.ioaSize) / info.elementSize) : Math.floor(room / (codec.ioaSize + info.elementSize));
  return Math.max(1, Math.min(127, n));
}

function defaultMinRun(codec: CodecOptions): number {
  // frame cost ≈ APCI (6) + header + one IOA; SQ=1 saves ioaSize per object after the first
  return Math.ceil((6 + headerSize(codec) + codec.ioaSize) / codec.ioaSize) + 1;
}

function asdu(typeId: number, sq: boolean, h: AsduHeader, objects: InformationObject[]): Asdu {
  return { typeId, sq, cot: h.cot, negative: h.negative ?? false, test: h.test ?? false, originator: h.originator ?? 0, ca: h.ca, objects };
}

/**
 * ASDUs carrying `objects` (all of type `typeId`), densely packed. Objects are sorted by IOA
 * first; duplicates are kept in SQ=0 ASDUs.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { packObjects } from 'iec104';
 * const objs = Array.from({ length: 200 }, (_, i) => ({ ioa: 1 + i, value: true }));
 * const asdus = packObjects(1, objs, { cot: 20, ca: 1 });
 * assert.deepEqual(asdus.map((a) => [a.sq, a.objects.length]), [[true, 127], [true, 73]]);
 * ```
 */
export function packObjects(typeId: number, objects: readonly InformationObject[], h: AsduHeader, o: PackingOptions = {}): Asdu[] {
  const codec = o.codec ?? IEC104_OPTIONS;
  const info = typeInfo(typeId);
  const sorted = [...objects].sort((a, b) => a.ioa - b.ioa);
  const out: Asdu[] = [];
  const maxSq0 = maxObjects(typeId, false, codec);
  if (!info?.sqAllowed) {
    for (let i = 0; i < sorted.length; i += maxSq0) out.push(asdu(typeId, false, h, sorted.slice(i, i + maxSq0)));
    return out;
  }
  const maxSq1 = maxObjects(typeId, true, codec);
  const minRun = Math.max(2, o.sqMinRun ?? defaultMinRun(codec));
  let loose: InformationObject[] = [];
  const flushLoose = (force: boolean) => {
    // full ASDUs from the front; the rest is kept once (not re-sliced per ASDU: a long run would be quadratic)
    let k = 0;
    while (loose.length - k >= maxSq0 || (force && loose.length - k > 0)) {
      out.push(asdu(typeId, false, h, loose.slice(k, k + maxSq0)));
      k += maxSq0;
    }
    if (k > 0) loose = loose.slice(k);
  };
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    while (j < sorted.length && sorted[j].ioa === sorted[j - 1].ioa + 1) j++;
    const run = sorted.slice(i, j);
    if (run.length >= minRun) {
      for (let k = 0; k < run.length; k += maxSq1) {
        const chunk = run.slice(k, k + maxSq1);
        if (chunk.length >= minRun) out.push(asdu(typeId, true, h, chunk));
        else for (const x of chunk) loose.push(x);
      }
    } else for (const x of run) loose.push(x); // (a loop: a run may be longer than a call takes arguments)
    flushLoose(false);
    i = j;
  }
  flushLoose(true);
  return out;
}
