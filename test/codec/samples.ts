/**
 * Deterministic, non-trivial sample values for every information element of the type table,
 * keyed by the element's `ie` and first key (CP16Time2a and CP56Time2a occur under several keys).
 * Used by scripts/gen-tshark-vectors.ts to build the tshark fixture vectors and by the unit tests.
 */
import type { FieldCodec, Asdu, InformationObject, TypeInfo } from '../../src/codec/index.js';
import { IEC104_OPTIONS, type CodecOptions } from '../../src/codec/index.js';

const Q = (i: number, withOv: boolean) => ({
  ov: withOv && (i & 1) !== 0,
  bl: (i & 2) !== 0,
  sb: (i & 4) !== 0,
  nt: (i & 8) !== 0,
  iv: (i & 16) !== 0,
});
const PQ = (i: number) => ({ ei: (i & 1) !== 0, bl: (i & 2) !== 0, sb: (i & 4) !== 0, nt: (i & 8) !== 0, iv: (i & 16) !== 0 });
const pick = <T>(xs: readonly T[], i: number): T => xs[((i % xs.length) + xs.length) % xs.length];

/** A valid CP56Time2a with every field non-trivial; `i` varies it. */
export function sampleCp56(i: number) {
  return {
    ms: pick([59999, 12345, 0, 30001], i),
    minute: pick([59, 7, 0, 33], i),
    hour: pick([23, 0, 13, 9], i),
    day: pick([31, 1, 15, 29], i),
    dayOfWeek: pick([7, 1, 0, 3], i),
    month: pick([12, 1, 7, 2], i),
    year: pick([99, 0, 26, 24], i),
    invalid: i % 3 === 1,
    summerTime: i % 2 === 1,
  };
}

/** Properties one element contributes to information object number `i` of a sample. */
export function sampleElement(fc: FieldCodec, i: number): Record<string, unknown> {
  const key = fc.keys[0];
  switch (fc.ie) {
    case 'SIQ': return { value: i % 2 === 0, quality: Q(i * 7 + 3, false) };
    case 'DIQ': return { value: pick([2, 1, 0, 3], i), quality: Q(i * 5 + 16, false) };
    case 'QDS': return { quality: Q(i * 11 + 1, true) };
    case 'VTI': return { value: pick([-64, 63, 5, -1], i), transient: i % 2 === 1 };
    case 'BSI': return { value: pick([0xdeadbeef, 0x00000001, 0x80000000, 0x12345678], i) };
    case 'SCD': return { status: pick([0xa55a, 0x0001, 0xffff], i), changes: pick([0x0f0f, 0x8000, 0], i) };
    case 'NVA': { const raw = pick([-32768, 16384, 12345, 32767, -1], i); return { value: raw / 32768, raw }; }
    case 'SVA': return { value: pick([-32768, 32767, -1234, 0], i) };
    case 'R32': return { value: pick([1.5, Math.fround(-273.15), Math.fround(3.4e38), Math.fround(1e-30), 0], i) };
    case 'BCR': return { value: pick([-2147483648, 2147483647, 123456, -1], i), sequence: pick([31, 0, 17], i), carry: i % 2 === 0, adjusted: i % 3 === 0, invalid: i % 2 === 1 };
    case 'SEP': return { value: pick([1, 2, 0, 3], i), quality: PQ(i * 9 + 1) };
    case 'SPE': return { events: { gs: i % 2 === 0, sl1: i % 3 === 0, sl2: true, sl3: i % 2 === 1, sie: i === 1, srd: i !== 1 } };
    case 'OCI': return { circuits: { gc: i % 2 === 0, cl1: true, cl2: i % 3 === 1, cl3: i !== 0 } };
    case 'QDP': return { quality: PQ(i * 13 + 8) };
    case 'CP16Time2a': return { [key]: pick([59999, 0, 1234, 100], i) };
    case 'CP56Time2a': return { [key]: sampleCp56(i + (key === 'stop' ? 1 : 0)) };
    case 'CP24Time2a': return { time: { ms: pick([59999, 0, 4321], i), minute: pick([59, 0, 17], i), invalid: i % 2 === 1 } };
    case 'SCO': return { value: i % 2 === 0, select: i % 3 === 1, qu: pick([0, 1, 2, 3, 31], i) };
    case 'DCO': return { value: pick([1, 2], i), select: i % 2 === 1, qu: pick([3, 0, 2, 16], i) };
    case 'RCO': return { value: pick([2, 1], i), select: i % 2 === 0, qu: pick([1, 2, 0], i) };
    case 'QOS': return { ql: pick([0, 64, 127], i), select: i % 2 === 1 };
    case 'COI': return { cause: pick([0, 1, 2], i), localChange: i % 2 === 1 };
    case 'QOI': return { qoi: pick([20, 21, 36, 30], i) };
    case 'QCC': return { rqt: pick([5, 1, 4, 3], i), frz: pick([0, 1, 2, 3], i) };
    case 'QRP': return { qrp: pick([1, 2], i) };
    case 'FBP': return { pattern: 0x55aa };
    case 'TSC': return { counter: pick([0xbeef, 1, 65535], i) };
    case 'QPM': return { kpa: pick([1, 2, 3, 4], i), lpc: i % 2 === 1, pop: i % 3 === 0 };
    case 'QPA': return { qpa: pick([1, 2, 3], i) };
    case 'NOF': return { file: pick([0x1234, 1, 65535], i) };
    case 'NOS': return { section: pick([1, 2, 255], i) };
    case 'LOF': return { length: pick([0x0abcde, 1, 0xffffff], i) };
    case 'CHS': return { checksum: pick([0xa5, 0, 0xff], i) };
    case 'FRQ': return { frq: pick([0, 5, 127], i), negative: i % 2 === 1 };
    case 'SRQ': return { srq: pick([0, 1, 100], i), notReady: i % 2 === 0 };
    case 'SCQ': return { action: pick([1, 2, 6, 7], i), error: pick([0, 3, 5], i) };
    case 'LSQ': return { lsq: pick([1, 2, 3, 4], i) };
    case 'AFQ': return { ack: pick([1, 2, 3, 4], i), error: pick([0, 1, 2], i) };
    case 'SOF': return { status: pick([0, 17, 31], i), lfd: i % 2 === 1, for: i % 3 === 0, fa: i === 2 };
    case 'LOS+segment': return { segment: Uint8Array.from({ length: pick([12, 1, 30], i) }, (_, k) => (k * 37 + i) & 0xff) };
    default: throw new Error(`samples.ts: no sample for element ${fc.ie}/${key}: add one`);
  }
}

/** A sample information object of `info` with address `ioa`. */
export function sampleObject(info: TypeInfo, ioa: number, i: number): InformationObject {
  const obj: InformationObject = { ioa };
  for (const f of info.fields) Object.assign(obj, sampleElement(f, i));
  return obj;
}

/** A sample ASDU of a non-raw type with `n` objects, SQ as given; `v` varies the header. */
export function sampleAsdu(info: TypeInfo, sq: boolean, n: number, v: number, o: CodecOptions = IEC104_OPTIONS): Asdu {
  const causes = [...info.causes].filter((c) => c < 44).sort((a, b) => a - b);
  const cot = causes[v % causes.length];
  const maxIoa = o.ioaSize === 3 ? 0xffffff : o.ioaSize === 2 ? 0xffff : 0xff;
  const ioas = sq
    ? Array.from({ length: n }, (_, k) => Math.min(1000, maxIoa - n) + k)
    : Array.from({ length: n }, (_, k) => pick([0x010203 + v, 1, 0xfedcba, 4711 + k], k) % (maxIoa + 1));
  return {
    typeId: info.id,
    sq,
    cot,
    negative: (cot === 7 || cot === 9) && v % 2 === 1,
    test: v % 3 === 2,
    originator: o.cotSize === 2 ? (v * 37) & 0xff : 0,
    ca: pick([0x1234, 1, 0xfffe, 10516], v) % (o.caSize === 2 ? 0x10000 : 0x100),
    objects: ioas.map((ioa, k) => sampleObject(info, ioa, k)),
  };
}
