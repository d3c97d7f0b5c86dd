/**
 * fast-check arbitraries for the codec, table-driven: one arbitrary per information element,
 * keyed by the FieldCodec's `ie` (and checked against its `keys`), composed per type from the
 * type table. Shared by property.test.ts and fuzz.test.ts.
 */
import fc from 'fast-check';
import { type Asdu, type CodecOptions, type FieldCodec, type InformationObject, type TypeInfo, allTypes, headerSize, MAX_ASDU_LENGTH } from '../../src/codec/index.js';

const plain = <T extends object>(a: fc.Arbitrary<T>): fc.Arbitrary<T> => a.map((r) => ({ ...r }));
const b = fc.boolean();
const int = (min: number, max: number) => fc.integer({ min, max });
const quality = plain(fc.record({ iv: b, nt: b, sb: b, bl: b, ov: b }));
const qualityNoOv = quality.map((q) => ({ ...q, ov: false }));
const pquality = plain(fc.record({ iv: b, nt: b, sb: b, bl: b, ei: b }));
export const cp56Arb = plain(fc.record({ ms: int(0, 65535), minute: int(0, 63), hour: int(0, 31), day: int(0, 31), dayOfWeek: int(0, 7), month: int(0, 15), year: int(0, 127), invalid: b, summerTime: b }));
const cp24 = plain(fc.record({ ms: int(0, 65535), minute: int(0, 63), invalid: b }));

/** Arbitrary of the properties each element reads/writes, keyed by `ie` (CP16/CP56 take the key from the codec). */
const BY_IE: Record<string, (key: string) => fc.Arbitrary<Record<string, unknown>>> = {
  SIQ: () => plain(fc.record({ value: b, quality: qualityNoOv })),
  DIQ: () => plain(fc.record({ value: int(0, 3), quality: qualityNoOv })),
  QDS: () => plain(fc.record({ quality })),
  VTI: () => plain(fc.record({ value: int(-64, 63), transient: b })),
  BSI: () => plain(fc.record({ value: int(0, 0xffffffff) })),
  SCD: () => plain(fc.record({ status: int(0, 0xffff), changes: int(0, 0xffff) })),
  NVA: () => int(-32768, 32767).map((raw) => ({ value: raw / 32768, raw })),
  SVA: () => plain(fc.record({ value: int(-32768, 32767) })),
  R32: () => fc.float().map((value) => ({ value })),
  BCR: () => plain(fc.record({ value: fc.integer(), sequence: int(0, 31), carry: b, adjusted: b, invalid: b })),
  SEP: () => plain(fc.record({ value: int(0, 3), quality: pquality })),
  SPE: () => plain(fc.record({ events: plain(fc.record({ gs: b, sl1: b, sl2: b, sl3: b, sie: b, srd: b })) })),
  OCI: () => plain(fc.record({ circuits: plain(fc.record({ gc: b, cl1: b, cl2: b, cl3: b })) })),
  QDP: () => plain(fc.record({ quality: pquality })),
  CP16Time2a: (k) => int(0, 0xffff).map((v) => ({ [k]: v })),
  CP56Time2a: (k) => cp56Arb.map((t) => ({ [k]: t })),
  CP24Time2a: () => cp24.map((time) => ({ time })),
  SCO: () => plain(fc.record({ value: b, select: b, qu: int(0, 31) })),
  DCO: () => plain(fc.record({ value: int(0, 3), select: b, qu: int(0, 31) })),
  RCO: () => plain(fc.record({ value: int(0, 3), select: b, qu: int(0, 31) })),
  QOS: () => plain(fc.record({ ql: int(0, 127), select: b })),
  COI: () => plain(fc.record({ cause: int(0, 127), localChange: b })),
  QOI: () => plain(fc.record({ qoi: int(0, 255) })),
  QCC: () => plain(fc.record({ rqt: int(0, 63), frz: int(0, 3) })),
  QRP: () => plain(fc.record({ qrp: int(0, 255) })),
  FBP: () => plain(fc.record({ pattern: int(0, 0xffff) })),
  TSC: () => plain(fc.record({ counter: int(0, 0xffff) })),
  QPM: () => plain(fc.record({ kpa: int(0, 63), lpc: b, pop: b })),
  QPA: () => plain(fc.record({ qpa: int(0, 255) })),
  NOF: () => plain(fc.record({ file: int(0, 0xffff) })),
  NOS: () => plain(fc.record({ section: int(0, 255) })),
  LOF: () => plain(fc.record({ length: int(0, 0xffffff) })),
  CHS: () => plain(fc.record({ checksum: int(0, 255) })),
  FRQ: () => plain(fc.record({ frq: int(0, 127), negative: b })),
  SRQ: () => plain(fc.record({ srq: int(0, 127), notReady: b })),
  SCQ: () => plain(fc.record({ action: int(0, 15), error: int(0, 15) })),
  LSQ: () => plain(fc.record({ lsq: int(0, 255) })),
  AFQ: () => plain(fc.record({ ack: int(0, 15), error: int(0, 15) })),
  SOF: () => plain(fc.record({ status: int(0, 31), lfd: b, for: b, fa: b })),
  'LOS+segment': () => fc.uint8Array({ maxLength: 24 }).map((segment) => ({ segment })),
};

/** The arbitrary for one element; throws when an element of the table has none (so new elements get one). */
export function elementArb(f: FieldCodec): fc.Arbitrary<Record<string, unknown>> {
  const mk = BY_IE[f.ie];
  if (!mk) throw new Error(`arbitraries.ts: no arbitrary for element ${f.ie}`);
  return mk(f.keys[0]);
}

/** Field widths. */
export const optionsArb: fc.Arbitrary<CodecOptions> = plain(fc.record({ cotSize: fc.constantFrom(1 as const, 2 as const), caSize: fc.constantFrom(1 as const, 2 as const), ioaSize: fc.constantFrom(1 as const, 2 as const, 3 as const) }));

/** Largest object count of `t` that fits an ASDU (variable elements counted at their largest sample). */
function maxObjects(t: TypeInfo, o: CodecOptions, sq: boolean): number {
  const el = t.elementSize > 0 || t.fields.length === 0 ? t.elementSize : t.fields.reduce((s, f) => s + (f.size || 25), 0);
  const room = MAX_ASDU_LENGTH - headerSize(o) - (sq ? o.ioaSize : 0);
  const per = el + (sq ? 0 : o.ioaSize);
  return Math.min(127, per === 0 ? 127 : Math.floor(room / per));
}

/** A random valid ASDU of type `t` for widths `o` (decode(encode(x)) must deep-equal x). */
export function asduArb(t: TypeInfo, o: CodecOptions): fc.Arbitrary<Asdu> {
  const ioaMax = 2 ** (8 * o.ioaSize) - 1;
  const header = plain(fc.record({
    cot: int(0, 63), negative: b, test: b, originator: o.cotSize === 2 ? int(0, 255) : fc.constant(0), ca: int(0, 2 ** (8 * o.caSize) - 1),
  }));
  if (t.raw) {
    return fc.tuple(header, fc.uint8Array({ maxLength: MAX_ASDU_LENGTH - headerSize(o) }), int(0, 127), b).map(([h, raw, rawCount, sq]) => ({ typeId: t.id, sq, ...h, objects: [], raw, rawCount }));
  }
  const obj = fc.tuple(...t.fields.map(elementArb)).map((parts) => Object.assign({}, ...parts) as Record<string, unknown>);
  return fc.boolean().chain((sq) => {
    const max = Math.min(maxObjects(t, o, sq), 12);
    return fc.tuple(header, fc.array(obj, { maxLength: max }), int(0, ioaMax), fc.array(int(0, ioaMax), { minLength: max, maxLength: max })).map(([h, objs, first, ioas]) => {
      const start = Math.min(first, ioaMax - Math.max(0, objs.length - 1));
      const objects: InformationObject[] = objs.map((x, i) => ({ ioa: sq ? start + i : ioas[i], ...x }));
      return { typeId: t.id, sq, ...h, objects };
    });
  });
}

/** Random type (defined, reserved or private) with widths. */
export const anyTypeId = fc.oneof(fc.constantFrom(...allTypes().map((t) => t.id)), int(1, 255));
