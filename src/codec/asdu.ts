/**
 * ASDU decode and encode, driven entirely by the type table.
 */
import { CodecError, type CodecWarning, type CodecWarningCode, type DecodeResult, cerr, hex2 } from './errors.js';
import { CP24, CP56, type ReadContext } from './elements.js';
import { type CodecOptions, IEC104_OPTIONS, headerSize } from './options.js';
import { type TypeInfo, allTypes, typeInfo, typeName } from './type-table.js';
import { isDefinedCause } from './cause.js';
import { MAX_ASDU_LENGTH } from './apci.js';

/**
 * One information object: its address and the properties its type's elements define
 * (for example `value`, `quality`, `time` for M_SP_TB_1). See docs of each element in `elements.ts`.
 */
export interface InformationObject {
  ioa: number;
  [property: string]: unknown;
}

/** Application service data unit. */
export interface Asdu<O extends InformationObject = InformationObject> {
  /** Type identification 1..255 (0, 'not used' by the standard, is decoded raw with W_TYPE_RESERVED). */
  typeId: number;
  /** VSQ SQ bit: objects are a sequence starting at the first IOA. */
  sq: boolean;
  /** Cause of transmission 0..63. */
  cot: number;
  /** P/N bit: negative confirmation. */
  negative: boolean;
  /** T bit: test. */
  test: boolean;
  /** Originator address (0 when COT is one octet). */
  originator: number;
  /** Common address of ASDU. */
  ca: number;
  objects: O[];
  /** Types whose layout is not decoded (reserved, private, security): information-object octets as sent. */
  raw?: Uint8Array;
  /** Number of objects in VSQ for a raw ASDU. */
  rawCount?: number;
  /** Semantic problems of a frame that still decoded. Absent when none. */
  warnings?: CodecWarning[];
}

/** Decode options. */
export interface DecodeOptions extends CodecOptions {
  /** Run semantic checks and attach warnings (default true). */
  checks: boolean;
}

class Warnings implements ReadContext {
  list: CodecWarning[] | undefined = undefined;
  warn(code: CodecWarningCode, offset: number, field: string, message: string): void {
    (this.list ??= []).push({ code, offset, field, message });
  }
}

const SHARED_WARNINGS = new Warnings();

const SYSTEM_TYPES_BROADCAST = new Set([100, 101, 103, 105]);

/**
 * Decode the ASDU in `b[start..end)`. Offsets in errors and warnings are indexes into `b`.
 * Never throws.
 */
export function decodeAsduAt(b: Uint8Array, start: number, end: number, o: CodecOptions = IEC104_OPTIONS, checks = true): DecodeResult<Asdu> {
  const r = decodeAsduBody(b, start, end, o, checks);
  return r instanceof CodecError ? { ok: false, error: r } : { ok: true, value: r };
}

/** @internal Same as {@link decodeAsduAt}, returning the error itself (no result wrapper on the hot path). */
export function decodeAsduBody(b: Uint8Array, start: number, end: number, o: CodecOptions, checks: boolean): Asdu | CodecError {
  const hs = headerSize(o);
  if (end - start < hs) {
    const have = end - start;
    const field = have < 1 ? 'type identification' : have < 2 ? 'VSQ' : have < 2 + o.cotSize ? 'cause of transmission' : 'common address';
    return cerr('E_TRUNCATED', end, field, `an ASDU header of ${hs} octets`, `${have} octets`);
  }
  let p = start;
  const typeId = b[p];
  const vsq = b[p + 1];
  const sq = (vsq & 0x80) !== 0;
  const n = vsq & 0x7f;
  const c = b[p + 2];
  const cot = c & 0x3f;
  const negative = (c & 0x40) !== 0;
  const test = (c & 0x80) !== 0;
  p += 3;
  let originator = 0;
  if (o.cotSize === 2) originator = b[p++];
  let ca = b[p++];
  if (o.caSize === 2) ca |= b[p++] << 8;
  // one collector reused across calls (decoding is synchronous): allocates only when a warning is found
  const w = checks ? SHARED_WARNINGS : undefined;
  if (w) w.list = undefined;
  const info = typeInfo(typeId);
  const asdu: Asdu = { typeId, sq, cot, negative, test, originator, ca, objects: [] };

  if (info === undefined || info.raw) {
    asdu.raw = b.slice(p, end);
    asdu.rawCount = n;
    if (w) {
      if (info === undefined) w.warn('W_TYPE_RESERVED', start, 'type identification', `type ${typeId} is ${typeName(typeId).replace(/\(.*/, '')}: objects kept as raw octets`);
      if (!isDefinedCause(cot)) w.warn('W_COT_UNKNOWN', start + 2, 'cause of transmission', `cause ${cot} is not defined`);
      if (w.list) asdu.warnings = w.list;
    }
    return asdu;
  }

  const ioaSize = o.ioaSize;
  const body = end - p;
  if (n === 0) {
    if (body !== 0) return cerr('E_ASDU_LENGTH', p, 'VSQ', `no octets after the header when VSQ number is 0`, `${body} octets`);
  } else if (!info.variableSize) {
    // fixed-size objects (elementSize may be 0: C_RD_NA_1 objects are an IOA only)
    const need = sq ? ioaSize + n * info.elementSize : n * (ioaSize + info.elementSize);
    if (body !== need) {
      return cerr(body < need ? 'E_TRUNCATED' : 'E_ASDU_LENGTH', body < need ? end : p + need, 'information objects',
        `${need} octets for ${n} object(s) of ${info.name} (SQ=${sq ? 1 : 0}, IOA ${ioaSize} octets, element ${info.elementSize} octets)`, `${body} octets`);
    }
  } else if (body < (sq ? ioaSize : n * ioaSize)) {
    return cerr('E_TRUNCATED', end, 'information objects', `at least ${sq ? ioaSize : n * ioaSize} octets for ${n} object(s)`, `${body} octets`);
  }

  const fields = info.fields;
  const nf = fields.length;
  const maxIoa = ioaSize === 3 ? 0xffffff : ioaSize === 2 ? 0xffff : 0xff;
  let ioa = 0;
  if (sq && n > 0) {
    ioa = readIoa(b, p, ioaSize);
    if (ioa + n - 1 > maxIoa) return cerr('E_IOA_OVERFLOW', p, 'IOA', `first IOA + ${n - 1} <= ${maxIoa} for SQ=1`, String(ioa));
    p += ioaSize;
  }
  // sized up front (n is known): a pushed-to [] allocates room for 17 objects
  const objects: InformationObject[] = n === 0 ? asdu.objects : (asdu.objects = new Array<InformationObject>(n));
  for (let i = 0; i < n; i++) {
    if (!sq) {
      if (end - p < ioaSize) return cerr('E_TRUNCATED', end, `object[${i}].IOA`, `${ioaSize} octets`, `${end - p} octets`);
      ioa = readIoa(b, p, ioaSize);
      p += ioaSize;
    } else if (i > 0) ioa++;
    const obj: InformationObject = { ioa };
    for (let f = 0; f < nf; f++) {
      const fc = fields[f];
      let size = fc.size;
      if (size === 0) {
        size = fc.sizeAt!(b, p, end - p);
        if (size < 0) return cerr('E_TRUNCATED', end, `object[${i}].${fc.ie}`, 'a complete variable-length element', `${end - p} octets`);
      } else if (p + size > end) {
        return cerr('E_TRUNCATED', end, `object[${i}].${fc.ie}`, `${size} octets`, `${end - p} octets`);
      }
      fc.read(b, p, obj, w);
      p += size;
    }
    objects[i] = obj;
  }
  if (p !== end) return cerr('E_ASDU_LENGTH', p, 'information objects', `ASDU to end after ${n} object(s)`, `${end - p} extra octets`);
  if (w) {
    semanticChecks(info, asdu, w, start, o);
    if (w.list) asdu.warnings = w.list;
  }
  return asdu;
}

/** Warning text per IEC 101-only type (built from the type table on first use). */
let iec101OnlyTexts: Map<number, string> | undefined;

/**
 * Why a type is not used in IEC 60870-5-104, naming the 104 type that replaces it: the type with
 * the same elements and a CP56Time2a where this one has its CP24Time2a (M_SP_TA_1 → M_SP_TB_1).
 */
function iec101OnlyText(info: TypeInfo): string {
  iec101OnlyTexts ??= new Map();
  let t = iec101OnlyTexts.get(info.id);
  if (t === undefined) {
    const cp56 = info.fields.map((f) => (f === CP24 ? CP56 : f));
    const twin = info.timeTag === 'CP24Time2a' ? allTypes().find((u) => !u.iec101Only && u.fields.length === cp56.length && u.fields.every((f, i) => f === cp56[i])) : undefined;
    t = `${info.name} is defined for IEC 60870-5-101 only (IEC 60870-5-104 does not use it${twin ? `; its CP56Time2a variant is ${twin.name}` : ''})`;
    iec101OnlyTexts.set(info.id, t);
  }
  return t;
}

function semanticChecks(info: TypeInfo, a: Asdu, w: Warnings, start: number, o: CodecOptions): void {
  if (info.iec101Only) w.warn('W_IEC101_ONLY_TYPE', start, 'type identification', iec101OnlyText(info));
  if (!isDefinedCause(a.cot)) w.warn('W_COT_UNKNOWN', start + 2, 'cause of transmission', `cause ${a.cot} is not defined`);
  else if (!info.causes.has(a.cot)) w.warn('W_COT_NOT_ALLOWED', start + 2, 'cause of transmission', `cause ${a.cot} is not allowed for ${info.name}`);
  if (a.sq && !info.sqAllowed) w.warn('W_SQ_NOT_ALLOWED', start + 1, 'VSQ', `SQ=1 is not used with ${info.name}`);
  if (a.objects.length === 0) w.warn('W_EMPTY_ASDU', start + 1, 'VSQ', 'ASDU carries no information object');
  const bc = o.caSize === 1 ? 0xff : 0xffff;
  if (a.ca === bc && !SYSTEM_TYPES_BROADCAST.has(info.id) && a.cot !== 46) {
    w.warn('W_BROADCAST', start + 2 + o.cotSize, 'common address', `broadcast address ${hex2(bc)} is allowed only with C_IC_NA_1, C_CI_NA_1, C_CS_NA_1 and C_RP_NA_1`);
  }
  if (a.ca === 0) w.warn('W_RESERVED_VALUE', start + 2 + o.cotSize, 'common address', 'common address 0 is not used');
  if (info.category === 'process-monitor' || info.category === 'process-control' || info.category === 'protection') {
    const first = start + headerSize(o);
    const objs = a.objects;
    for (let i = 0; i < objs.length; i++) {
      if (objs[i].ioa === 0) {
        // SQ=1 carries one IOA (so only object 0 can be 0); SQ=0 objects are evenly spaced for fixed layouts
        const at = a.sq || info.variableSize ? first : first + i * (o.ioaSize + info.elementSize);
        w.warn('W_IOA_ZERO', at, `object[${i}].IOA`, `IOA 0 (irrelevant) used with process type ${info.name}`);
        break;
      }
    }
  }
}

function readIoa(b: Uint8Array, p: number, size: number): number {
  return size === 3 ? b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) : size === 2 ? b[p] | (b[p + 1] << 8) : b[p];
}

/** Decode an ASDU that fills `b`. Never throws. */
export function decodeAsdu(b: Uint8Array, o: CodecOptions = IEC104_OPTIONS, checks = true): DecodeResult<Asdu> {
  return decodeAsduAt(b, 0, b.length, o, checks);
}

// -----------------------------------------------------------------------------------------------
// encode

/** Octets the ASDU will take. Throws {@link CodecError} for an unknown shape. */
export function asduSize(a: Asdu, o: CodecOptions = IEC104_OPTIONS): number {
  const info = typeInfo(a.typeId);
  let size = headerSize(o);
  if (info === undefined || info.raw) {
    if (!(a.raw instanceof Uint8Array)) throw new CodecError('E_ENCODE_TYPE', 0, 'raw', `raw octets for ${typeName(a.typeId)}`, String(a.raw));
    return size + a.raw.length;
  }
  const n = a.objects.length;
  if (n === 0) return size;
  if (info.elementSize > 0) return size + (a.sq ? o.ioaSize + n * info.elementSize : n * (o.ioaSize + info.elementSize));
  for (const obj of a.objects) {
    size += a.sq ? 0 : o.ioaSize;
    for (const f of info.fields) size += f.size === 0 ? f.sizeOf!(obj) : f.size;
  }
  return size + (a.sq ? o.ioaSize : 0);
}

function checkInt(v: unknown, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new CodecError('E_VALUE_RANGE', 0, field, `integer ${min}..${max}`, String(v));
  }
  return v;
}

/**
 * Write the ASDU at `b[offset..]` and return the octets written. `b` must have room
 * ({@link asduSize}). Throws {@link CodecError} (`E_VALUE_RANGE`, `E_ENCODE_TYPE`) for values that
 * cannot be sent, naming the field.
 */
export function encodeAsduInto(a: Asdu, b: Uint8Array, offset: number, o: CodecOptions = IEC104_OPTIONS): number {
  const info = typeInfo(a.typeId);
  let p = offset;
  const raw = info === undefined || info.raw;
  const n = raw ? checkInt(a.rawCount ?? 0, 0, 127, 'VSQ number') : a.objects.length;
  if (n > 127) throw new CodecError('E_VALUE_RANGE', 0, 'VSQ number', 'at most 127 objects', String(n));
  b[p++] = checkInt(a.typeId, 0, 255, 'type identification'); // 0 ('not used') is decoded raw, so it must re-encode
  b[p++] = n | (a.sq ? 0x80 : 0);
  b[p++] = checkInt(a.cot, 0, 63, 'cause of transmission') | (a.negative ? 0x40 : 0) | (a.test ? 0x80 : 0);
  if (o.cotSize === 2) b[p++] = checkInt(a.originator ?? 0, 0, 255, 'originator address');
  const ca = checkInt(a.ca, 0, o.caSize === 2 ? 0xffff : 0xff, 'common address');
  b[p++] = ca & 0xff;
  if (o.caSize === 2) b[p++] = ca >>> 8;
  if (raw) {
    b.set(a.raw!, p);
    return p + a.raw!.length - offset;
  }
  const ioaMax = o.ioaSize === 3 ? 0xffffff : o.ioaSize === 2 ? 0xffff : 0xff;
  const fields = info.fields;
  const objs = a.objects;
  for (let i = 0; i < n; i++) {
    const obj = objs[i];
    if (!a.sq || i === 0) {
      const ioa = obj.ioa;
      if (typeof ioa !== 'number' || !Number.isInteger(ioa) || ioa < 0 || ioa > ioaMax) {
        throw new CodecError('E_VALUE_RANGE', 0, `object[${i}].ioa`, `integer 0..${ioaMax}`, String(ioa));
      }
      b[p++] = ioa & 0xff;
      if (o.ioaSize > 1) b[p++] = (ioa >>> 8) & 0xff;
      if (o.ioaSize > 2) b[p++] = ioa >>> 16;
    } else if (obj.ioa !== objs[0].ioa + i) {
      throw new CodecError('E_ENCODE_TYPE', 0, `object[${i}].ioa`, `${objs[0].ioa + i} (SQ=1 needs consecutive IOAs)`, String(obj.ioa));
    }
    for (let f = 0; f < fields.length; f++) {
      const fc = fields[f];
      try {
        fc.write(obj, b, p);
      } catch (e) {
        if (e instanceof CodecError) throw new CodecError(e.code, 0, `object[${i}] (IOA ${obj.ioa}) ${e.field}`, e.expected, e.found);
        throw e;
      }
      p += fc.size === 0 ? fc.sizeOf!(obj) : fc.size;
    }
  }
  return p - offset;
}

/** Encode an ASDU to a new array. Throws {@link CodecError} for values that cannot be sent. */
export function encodeAsdu(a: Asdu, o: CodecOptions = IEC104_OPTIONS): Uint8Array {
  const size = asduSize(a, o);
  if (size > MAX_ASDU_LENGTH) throw new CodecError('E_VALUE_RANGE', 0, 'ASDU length', `at most ${MAX_ASDU_LENGTH} octets`, `${size} octets`);
  const b = new Uint8Array(size);
  encodeAsduInto(a, b, 0, o);
  return b;
}
