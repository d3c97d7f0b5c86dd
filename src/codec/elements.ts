/**
 * Information elements of IEC 60870-5-101/104 (clause 7.2.6 of IEC 60870-5-101), each as a
 * small codec that reads its octets into named properties of an information object, writes them
 * back, and explains them bit by bit. The type table composes these; nothing else in the codec
 * knows a byte layout.
 */
import { CodecError, type CodecWarningCode, hex2 } from './errors.js';
import { formatFloat32 } from './float32-text.js';
import { type Cp56Time, type Cp24Time, checkCp24, checkCp56, formatCp56, readCp24, readCp56, writeCp24, writeCp56 } from './time.js';

/** Quality descriptor (QDS), also the quality part of SIQ and DIQ (which have no OV bit). Shared and frozen: do not mutate. */
export interface Quality {
  /** IV: invalid */
  readonly iv: boolean;
  /** NT: not topical (not updated) */
  readonly nt: boolean;
  /** SB: substituted */
  readonly sb: boolean;
  /** BL: blocked */
  readonly bl: boolean;
  /** OV: overflow (QDS only; always false for SIQ/DIQ) */
  readonly ov: boolean;
}

/** Quality descriptor for protection equipment events (QDP and the quality bits of SEP). Shared and frozen. */
export interface ProtectionQuality {
  readonly iv: boolean;
  readonly nt: boolean;
  readonly sb: boolean;
  readonly bl: boolean;
  /** EI: elapsed time invalid */
  readonly ei: boolean;
}

/** Start events of protection equipment (SPE). */
export interface StartEvents {
  /** GS: general start of operation */
  gs: boolean;
  /** SL1..SL3: start of operation phase L1..L3 */
  sl1: boolean;
  sl2: boolean;
  sl3: boolean;
  /** SIE: start of operation IE (earth current) */
  sie: boolean;
  /** SRD: start of operation in reverse direction */
  srd: boolean;
}

/** Output circuit information of protection equipment (OCI). */
export interface OutputCircuits {
  /** GC: general command to output circuit */
  gc: boolean;
  cl1: boolean;
  cl2: boolean;
  cl3: boolean;
}

type Obj = Record<string, unknown>;

/** Where warnings found while reading go. */
export interface ReadContext {
  warn(code: CodecWarningCode, offset: number, field: string, message: string): void;
}

/** One information element (or a fixed group of them) of an information object. */
export interface FieldCodec {
  /** Abbreviation as in the standard, e.g. `SIQ`, `NVA+QDS`, `CP56Time2a`. */
  readonly ie: string;
  /** What it is, in words. */
  readonly title: string;
  /** Octets; 0 when variable (see `sizeAt`). */
  readonly size: number;
  /** Property names it reads and writes. */
  readonly keys: readonly string[];
  /** Variable-size elements: octets at `o` (given the bytes left), or -1 when they cannot be there. */
  sizeAt?(b: Uint8Array, o: number, left: number): number;
  /** Variable-size elements: octets needed to write `obj`. */
  sizeOf?(obj: Obj): number;
  read(b: Uint8Array, o: number, obj: Obj, cx: ReadContext | undefined): void;
  /** Write; throws {@link CodecError} `E_VALUE_RANGE` for a value the field cannot carry. */
  write(obj: Obj, b: Uint8Array, o: number): void;
  /** Meaning of the octets at `o`, for the byte-by-byte explainer. */
  explain(b: Uint8Array, o: number): string;
}

// ---------------------------------------------------------------------------------------------
// value checks used by writers

function bad(field: string, expected: string, v: unknown): never {
  throw new CodecError('E_VALUE_RANGE', 0, field, expected, typeof v === 'string' ? JSON.stringify(v) : String(v));
}
function int(obj: Obj, key: string, min: number, max: number, field: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `integer ${min}..${max} in '${key}'`, v);
  return v;
}
function bool(obj: Obj, key: string, field: string): boolean {
  const v = obj[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') bad(field, `boolean in '${key}'`, v);
  return v;
}
function optInt(obj: Obj, key: string, min: number, max: number, field: string): number {
  return obj[key] === undefined ? 0 : int(obj, key, min, max, field);
}

// ---------------------------------------------------------------------------------------------
// quality tables: every combination precomputed and frozen, so decoding allocates nothing for them

const QUALITY: Quality[] = [];
for (let i = 0; i < 32; i++) {
  QUALITY.push(Object.freeze({ ov: (i & 1) !== 0, bl: (i & 2) !== 0, sb: (i & 4) !== 0, nt: (i & 8) !== 0, iv: (i & 16) !== 0 }));
}
/** Quality from the high nibble (BL,SB,NT,IV at bits 4..7) and OV (bit 0) of a QDS-like octet. */
function qualityOf(byte: number, withOv: boolean): Quality {
  return QUALITY[((byte >>> 3) & 0x1e) | (withOv ? byte & 1 : 0)];
}
const PQUALITY: ProtectionQuality[] = [];
for (let i = 0; i < 32; i++) {
  PQUALITY.push(Object.freeze({ ei: (i & 1) !== 0, bl: (i & 2) !== 0, sb: (i & 4) !== 0, nt: (i & 8) !== 0, iv: (i & 16) !== 0 }));
}
function pqualityOf(byte: number): ProtectionQuality {
  return PQUALITY[((byte >>> 3) & 0x1e) | ((byte >>> 3) & 1)];
}

function qualityBits(obj: Obj, field: string, withOv: boolean): number {
  const q = obj.quality;
  if (q === undefined) return 0;
  if (typeof q !== 'object' || q === null) bad(field, 'a quality object {iv, nt, sb, bl, ov}', q);
  const r = q as Record<string, unknown>;
  return (withOv && r.ov ? 1 : 0) | (r.bl ? 0x10 : 0) | (r.sb ? 0x20 : 0) | (r.nt ? 0x40 : 0) | (r.iv ? 0x80 : 0);
}
function pqualityBits(obj: Obj, field: string): number {
  const q = obj.quality;
  if (q === undefined) return 0;
  if (typeof q !== 'object' || q === null) bad(field, 'a quality object {iv, nt, sb, bl, ei}', q);
  const r = q as Record<string, unknown>;
  return (r.ei ? 0x08 : 0) | (r.bl ? 0x10 : 0) | (r.sb ? 0x20 : 0) | (r.nt ? 0x40 : 0) | (r.iv ? 0x80 : 0);
}

function qText(byte: number, withOv: boolean): string {
  return `${withOv ? `OV=${byte & 1} ` : ''}BL=${(byte >> 4) & 1} SB=${(byte >> 5) & 1} NT=${(byte >> 6) & 1} IV=${(byte >> 7) & 1}`;
}
function reservedCheck(b: number, mask: number, o: number, field: string, cx: ReadContext | undefined): void {
  if (cx && (b & mask) !== 0) cx.warn('W_RESERVED_BITS', o, field, `reserved bits ${hex2(b & mask)} set in ${field} (${hex2(b)})`);
}

// ---------------------------------------------------------------------------------------------
// scalar helpers

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function readF32(b: Uint8Array, o: number): number {
  if (LITTLE) {
    f32b[0] = b[o]; f32b[1] = b[o + 1]; f32b[2] = b[o + 2]; f32b[3] = b[o + 3];
  } else {
    f32b[3] = b[o]; f32b[2] = b[o + 1]; f32b[1] = b[o + 2]; f32b[0] = b[o + 3];
  }
  return f32[0];
}
/** Shortest decimal text that reads back as the same float32 (0.1, not 0.10000000149011612): {@link formatFloat32}. */
export function formatF32(v: number): string {
  return formatFloat32(v);
}
function writeF32(v: number, b: Uint8Array, o: number): void {
  f32[0] = v;
  if (LITTLE) {
    b[o] = f32b[0]; b[o + 1] = f32b[1]; b[o + 2] = f32b[2]; b[o + 3] = f32b[3];
  } else {
    b[o] = f32b[3]; b[o + 1] = f32b[2]; b[o + 2] = f32b[1]; b[o + 3] = f32b[0];
  }
}
function readI16(b: Uint8Array, o: number): number {
  return ((b[o] | (b[o + 1] << 8)) << 16) >> 16;
}
function writeU16(v: number, b: Uint8Array, o: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
function readU16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function writeU32(v: number, b: Uint8Array, o: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/**
 * Normalized value (NVA) of a raw int16: `raw / 32768`, so -1 <= value < 1. Encoding takes
 * `round(value × 32768)` (halves round towards +∞, as `Math.round`), clamps +1.0 to 32767, and
 * refuses values outside [-1, +1] or not finite: decode(encode(v)) is the nearest representable value.
 */
export function nvaFromRaw(raw: number): number {
  return raw / 32768;
}
/** The raw int16 for a normalized value (see {@link nvaFromRaw} for the rounding rule). */
export function nvaToRaw(value: number, field = 'NVA'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -1 || value > 1) bad(field, 'normalized value -1..+1', value);
  const r = Math.round(value * 32768);
  return r > 32767 ? 32767 : r;
}

// ---------------------------------------------------------------------------------------------
// elements

export const SIQ: FieldCodec = {
  ie: 'SIQ', title: 'single-point information with quality descriptor', size: 1, keys: ['value', 'quality'],
  read(b, o, obj, cx) {
    const v = b[o];
    reservedCheck(v, 0x0e, o, 'SIQ', cx);
    obj.value = (v & 1) !== 0;
    obj.quality = qualityOf(v, false);
  },
  write(obj, b, o) {
    b[o] = (bool(obj, 'value', 'SIQ.SPI') ? 1 : 0) | qualityBits(obj, 'SIQ', false);
  },
  explain: (b, o) => `SPI=${b[o] & 1} ${b[o] & 1 ? 'ON' : 'OFF'}, ${qText(b[o], false)}`,
};

const DPI_NAMES = ['indeterminate or intermediate (0)', 'OFF', 'ON', 'indeterminate (3)'];
export const DIQ: FieldCodec = {
  ie: 'DIQ', title: 'double-point information with quality descriptor', size: 1, keys: ['value', 'quality'],
  read(b, o, obj, cx) {
    const v = b[o];
    reservedCheck(v, 0x0c, o, 'DIQ', cx);
    obj.value = v & 3;
    obj.quality = qualityOf(v, false);
  },
  write(obj, b, o) {
    b[o] = int(obj, 'value', 0, 3, 'DIQ.DPI') | qualityBits(obj, 'DIQ', false);
  },
  explain: (b, o) => `DPI=${b[o] & 3} ${DPI_NAMES[b[o] & 3]}, ${qText(b[o], false)}`,
};

export const QDS: FieldCodec = {
  ie: 'QDS', title: 'quality descriptor', size: 1, keys: ['quality'],
  read(b, o, obj, cx) {
    reservedCheck(b[o], 0x0e, o, 'QDS', cx);
    obj.quality = qualityOf(b[o], true);
  },
  write(obj, b, o) {
    b[o] = qualityBits(obj, 'QDS', true);
  },
  explain: (b, o) => qText(b[o], true),
};

export const VTI: FieldCodec = {
  ie: 'VTI', title: 'value with transient state indication', size: 1, keys: ['value', 'transient'],
  read(b, o, obj) {
    obj.value = ((b[o] & 0x7f) << 25) >> 25;
    obj.transient = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = (int(obj, 'value', -64, 63, 'VTI.value') & 0x7f) | (bool(obj, 'transient', 'VTI.T') ? 0x80 : 0);
  },
  explain: (b, o) => `value ${((b[o] & 0x7f) << 25) >> 25}, T=${b[o] >> 7} ${b[o] & 0x80 ? 'in transient state' : 'not in transient state'}`,
};

export const BSI: FieldCodec = {
  ie: 'BSI', title: 'binary state information (32-bit string)', size: 4, keys: ['value'],
  read(b, o, obj) {
    obj.value = readU32(b, o);
  },
  write(obj, b, o) {
    writeU32(int(obj, 'value', 0, 0xffffffff, 'BSI'), b, o);
  },
  explain: (b, o) => `bitstring 0x${readU32(b, o).toString(16).padStart(8, '0').toUpperCase()}`,
};

export const SCD: FieldCodec = {
  ie: 'SCD', title: 'status and status change detection', size: 4, keys: ['status', 'changes'],
  read(b, o, obj) {
    obj.status = readU16(b, o);
    obj.changes = readU16(b, o + 2);
  },
  write(obj, b, o) {
    writeU16(int(obj, 'status', 0, 0xffff, 'SCD.ST'), b, o);
    writeU16(int(obj, 'changes', 0, 0xffff, 'SCD.CD'), b, o + 2);
  },
  explain: (b, o) => `ST=0x${readU16(b, o).toString(16).padStart(4, '0')} CD=0x${readU16(b, o + 2).toString(16).padStart(4, '0')}`,
};

export const NVA: FieldCodec = {
  ie: 'NVA', title: 'normalized value', size: 2, keys: ['value', 'raw'],
  read(b, o, obj) {
    const raw = readI16(b, o);
    obj.value = raw / 32768;
    obj.raw = raw;
  },
  write(obj, b, o) {
    writeU16(nvaToRaw(obj.value as number, 'NVA.value') & 0xffff, b, o);
  },
  explain: (b, o) => `normalized ${readI16(b, o) / 32768} (raw ${readI16(b, o)})`,
};

export const SVA: FieldCodec = {
  ie: 'SVA', title: 'scaled value', size: 2, keys: ['value'],
  read(b, o, obj) {
    obj.value = readI16(b, o);
  },
  write(obj, b, o) {
    writeU16(int(obj, 'value', -32768, 32767, 'SVA') & 0xffff, b, o);
  },
  explain: (b, o) => `scaled ${readI16(b, o)}`,
};

export const R32: FieldCodec = {
  ie: 'R32', title: 'short floating point (IEEE 754)', size: 4, keys: ['value'],
  read(b, o, obj, cx) {
    const v = readF32(b, o);
    if (cx && !Number.isFinite(v)) cx.warn('W_FLOAT_NOT_FINITE', o, 'R32', `short float is ${v}`);
    obj.value = v;
  },
  write(obj, b, o) {
    const v = obj.value;
    if (typeof v !== 'number') bad('R32', 'number', v);
    writeF32(v, b, o);
  },
  explain: (b, o) => `float ${formatF32(readF32(b, o))}`,
};

export const BCR: FieldCodec = {
  ie: 'BCR', title: 'binary counter reading', size: 5, keys: ['value', 'sequence', 'carry', 'adjusted', 'invalid'],
  read(b, o, obj) {
    obj.value = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
    const s = b[o + 4];
    obj.sequence = s & 0x1f;
    obj.carry = (s & 0x20) !== 0;
    obj.adjusted = (s & 0x40) !== 0;
    obj.invalid = (s & 0x80) !== 0;
  },
  write(obj, b, o) {
    writeU32(int(obj, 'value', -2147483648, 2147483647, 'BCR.counter') >>> 0, b, o);
    b[o + 4] = optInt(obj, 'sequence', 0, 31, 'BCR.SQ') | (bool(obj, 'carry', 'BCR.CY') ? 0x20 : 0) | (bool(obj, 'adjusted', 'BCR.CA') ? 0x40 : 0) | (bool(obj, 'invalid', 'BCR.IV') ? 0x80 : 0);
  },
  explain: (b, o) => `counter ${b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)}, SQ=${b[o + 4] & 0x1f} CY=${(b[o + 4] >> 5) & 1} CA=${(b[o + 4] >> 6) & 1} IV=${b[o + 4] >> 7}`,
};

const ES_NAMES = ['indeterminate (0)', 'OFF', 'ON', 'indeterminate (3)'];
export const SEP: FieldCodec = {
  ie: 'SEP', title: 'single event of protection equipment', size: 1, keys: ['value', 'quality'],
  read(b, o, obj, cx) {
    reservedCheck(b[o], 0x04, o, 'SEP', cx);
    obj.value = b[o] & 3;
    obj.quality = pqualityOf(b[o]);
  },
  write(obj, b, o) {
    b[o] = int(obj, 'value', 0, 3, 'SEP.ES') | pqualityBits(obj, 'SEP');
  },
  explain: (b, o) => `ES=${b[o] & 3} ${ES_NAMES[b[o] & 3]}, EI=${(b[o] >> 3) & 1} ${qText(b[o], false)}`,
};

export const SPE: FieldCodec = {
  ie: 'SPE', title: 'start events of protection equipment', size: 1, keys: ['events'],
  read(b, o, obj, cx) {
    const v = b[o];
    reservedCheck(v, 0xc0, o, 'SPE', cx);
    obj.events = { gs: (v & 1) !== 0, sl1: (v & 2) !== 0, sl2: (v & 4) !== 0, sl3: (v & 8) !== 0, sie: (v & 16) !== 0, srd: (v & 32) !== 0 };
  },
  write(obj, b, o) {
    const e = (obj.events ?? {}) as Record<string, unknown>;
    b[o] = (e.gs ? 1 : 0) | (e.sl1 ? 2 : 0) | (e.sl2 ? 4 : 0) | (e.sl3 ? 8 : 0) | (e.sie ? 16 : 0) | (e.srd ? 32 : 0);
  },
  explain: (b, o) => `GS=${b[o] & 1} SL1=${(b[o] >> 1) & 1} SL2=${(b[o] >> 2) & 1} SL3=${(b[o] >> 3) & 1} SIE=${(b[o] >> 4) & 1} SRD=${(b[o] >> 5) & 1}`,
};

export const OCI: FieldCodec = {
  ie: 'OCI', title: 'output circuit information of protection equipment', size: 1, keys: ['circuits'],
  read(b, o, obj, cx) {
    const v = b[o];
    reservedCheck(v, 0xf0, o, 'OCI', cx);
    obj.circuits = { gc: (v & 1) !== 0, cl1: (v & 2) !== 0, cl2: (v & 4) !== 0, cl3: (v & 8) !== 0 };
  },
  write(obj, b, o) {
    const e = (obj.circuits ?? {}) as Record<string, unknown>;
    b[o] = (e.gc ? 1 : 0) | (e.cl1 ? 2 : 0) | (e.cl2 ? 4 : 0) | (e.cl3 ? 8 : 0);
  },
  explain: (b, o) => `GC=${b[o] & 1} CL1=${(b[o] >> 1) & 1} CL2=${(b[o] >> 2) & 1} CL3=${(b[o] >> 3) & 1}`,
};

export const QDP: FieldCodec = {
  ie: 'QDP', title: 'quality descriptor for events of protection equipment', size: 1, keys: ['quality'],
  read(b, o, obj, cx) {
    reservedCheck(b[o], 0x07, o, 'QDP', cx);
    obj.quality = pqualityOf(b[o]);
  },
  write(obj, b, o) {
    b[o] = pqualityBits(obj, 'QDP');
  },
  explain: (b, o) => `EI=${(b[o] >> 3) & 1} ${qText(b[o], false)}`,
};

/** CP16Time2a as a named duration in milliseconds (0..59999 by the standard, 65535 carried). */
function cp16(key: string, title: string): FieldCodec {
  return {
    ie: 'CP16Time2a', title, size: 2, keys: [key],
    read(b, o, obj, cx) {
      const v = readU16(b, o);
      if (cx && v > 59999) cx.warn('W_TIME_FIELD', o, 'CP16Time2a', `CP16Time2a ${title} ${v} ms > 59999`);
      obj[key] = v;
    },
    write(obj, b, o) {
      writeU16(int(obj, key, 0, 0xffff, `CP16Time2a.${key}`), b, o);
    },
    explain: (b, o) => `${title}: ${readU16(b, o)} ms`,
  };
}
export const CP16_ELAPSED = cp16('elapsed', 'elapsed time');
export const CP16_DURATION = cp16('duration', 'relay duration time');
export const CP16_OPERATING = cp16('operating', 'relay operating time');
export const CP16_DELAY = cp16('delay', 'delay acquisition');

function cp56(key: string): FieldCodec {
  return {
    ie: 'CP56Time2a', title: 'seven-octet binary time', size: 7, keys: [key],
    read(b, o, obj, cx) {
      if (cx) for (const [f, m] of checkCp56(b, o)) cx.warn(f === 'reserved' ? 'W_RESERVED_BITS' : 'W_TIME_FIELD', o, `CP56Time2a.${f}`, `CP56Time2a ${m}`);
      obj[key] = readCp56(b, o);
    },
    write(obj, b, o) {
      const t = obj[key] as Cp56Time | undefined;
      if (typeof t !== 'object' || t === null) bad(`CP56Time2a.${key}`, 'a CP56Time2a object', t);
      int(t as unknown as Obj, 'ms', 0, 0xffff, 'CP56Time2a.ms');
      int(t as unknown as Obj, 'minute', 0, 63, 'CP56Time2a.minute');
      int(t as unknown as Obj, 'hour', 0, 31, 'CP56Time2a.hour');
      int(t as unknown as Obj, 'day', 0, 31, 'CP56Time2a.day');
      optInt(t as unknown as Obj, 'dayOfWeek', 0, 7, 'CP56Time2a.dayOfWeek');
      int(t as unknown as Obj, 'month', 0, 15, 'CP56Time2a.month');
      int(t as unknown as Obj, 'year', 0, 127, 'CP56Time2a.year');
      writeCp56(t, b, o);
    },
    explain: (b, o) => formatCp56(readCp56(b, o)),
  };
}
/** CP56Time2a time tag of an information object (property `time`). */
export const CP56 = cp56('time');
/** CP56Time2a start time (F_SC_NB_1). */
export const CP56_START = cp56('start');
/** CP56Time2a stop time (F_SC_NB_1). */
export const CP56_STOP = cp56('stop');

export const CP24: FieldCodec = {
  ie: 'CP24Time2a', title: 'three-octet binary time', size: 3, keys: ['time'],
  read(b, o, obj, cx) {
    if (cx) for (const [f, m] of checkCp24(b, o)) cx.warn(f === 'reserved' ? 'W_RESERVED_BITS' : 'W_TIME_FIELD', o, `CP24Time2a.${f}`, `CP24Time2a ${m}`);
    obj.time = readCp24(b, o);
  },
  write(obj, b, o) {
    const t = obj.time as Cp24Time | undefined;
    if (typeof t !== 'object' || t === null) bad('CP24Time2a', 'a CP24Time2a object', t);
    int(t as unknown as Obj, 'ms', 0, 0xffff, 'CP24Time2a.ms');
    int(t as unknown as Obj, 'minute', 0, 63, 'CP24Time2a.minute');
    writeCp24(t, b, o);
  },
  explain: (b, o) => {
    const t = readCp24(b, o);
    return `${t.minute} min ${(t.ms / 1000).toFixed(3)} s${t.invalid ? ' IV' : ''}`;
  },
};

// ---- commands

const QU_NAMES: Record<number, string> = { 0: 'no additional definition', 1: 'short pulse', 2: 'long pulse', 3: 'persistent output' };
function quText(qu: number): string {
  return QU_NAMES[qu] ?? (qu < 16 ? 'reserved (standard)' : 'reserved (private)');
}
function quCheck(v: number, o: number, field: string, cx: ReadContext | undefined): void {
  const qu = (v >>> 2) & 0x1f;
  if (cx && qu > 3 && qu < 16) cx.warn('W_RESERVED_VALUE', o, `${field}.QU`, `qualifier of command ${qu} is reserved`);
}
function seText(v: number): string {
  return `S/E=${v >> 7} ${v & 0x80 ? 'select' : 'execute'}`;
}

export const SCO: FieldCodec = {
  ie: 'SCO', title: 'single command', size: 1, keys: ['value', 'select', 'qu'],
  read(b, o, obj, cx) {
    const v = b[o];
    reservedCheck(v, 0x02, o, 'SCO', cx);
    quCheck(v, o, 'SCO', cx);
    obj.value = (v & 1) !== 0;
    obj.select = (v & 0x80) !== 0;
    obj.qu = (v >>> 2) & 0x1f;
  },
  write(obj, b, o) {
    b[o] = (bool(obj, 'value', 'SCO.SCS') ? 1 : 0) | (optInt(obj, 'qu', 0, 31, 'SCO.QU') << 2) | (bool(obj, 'select', 'SCO.S/E') ? 0x80 : 0);
  },
  explain: (b, o) => `SCS=${b[o] & 1} ${b[o] & 1 ? 'ON' : 'OFF'}, QU=${(b[o] >> 2) & 0x1f} ${quText((b[o] >> 2) & 0x1f)}, ${seText(b[o])}`,
};

const DCS_NAMES = ['not permitted (0)', 'OFF', 'ON', 'not permitted (3)'];
export const DCO: FieldCodec = {
  ie: 'DCO', title: 'double command', size: 1, keys: ['value', 'select', 'qu'],
  read(b, o, obj, cx) {
    const v = b[o];
    quCheck(v, o, 'DCO', cx);
    if (cx && ((v & 3) === 0 || (v & 3) === 3)) cx.warn('W_RESERVED_VALUE', o, 'DCO.DCS', `double command state ${v & 3} is not permitted`);
    obj.value = v & 3;
    obj.select = (v & 0x80) !== 0;
    obj.qu = (v >>> 2) & 0x1f;
  },
  write(obj, b, o) {
    b[o] = int(obj, 'value', 0, 3, 'DCO.DCS') | (optInt(obj, 'qu', 0, 31, 'DCO.QU') << 2) | (bool(obj, 'select', 'DCO.S/E') ? 0x80 : 0);
  },
  explain: (b, o) => `DCS=${b[o] & 3} ${DCS_NAMES[b[o] & 3]}, QU=${(b[o] >> 2) & 0x1f} ${quText((b[o] >> 2) & 0x1f)}, ${seText(b[o])}`,
};

const RCS_NAMES = ['not permitted (0)', 'next step LOWER', 'next step HIGHER', 'not permitted (3)'];
export const RCO: FieldCodec = {
  ie: 'RCO', title: 'regulating step command', size: 1, keys: ['value', 'select', 'qu'],
  read(b, o, obj, cx) {
    const v = b[o];
    quCheck(v, o, 'RCO', cx);
    if (cx && ((v & 3) === 0 || (v & 3) === 3)) cx.warn('W_RESERVED_VALUE', o, 'RCO.RCS', `regulating step state ${v & 3} is not permitted`);
    obj.value = v & 3;
    obj.select = (v & 0x80) !== 0;
    obj.qu = (v >>> 2) & 0x1f;
  },
  write(obj, b, o) {
    b[o] = int(obj, 'value', 0, 3, 'RCO.RCS') | (optInt(obj, 'qu', 0, 31, 'RCO.QU') << 2) | (bool(obj, 'select', 'RCO.S/E') ? 0x80 : 0);
  },
  explain: (b, o) => `RCS=${b[o] & 3} ${RCS_NAMES[b[o] & 3]}, QU=${(b[o] >> 2) & 0x1f} ${quText((b[o] >> 2) & 0x1f)}, ${seText(b[o])}`,
};

export const QOS: FieldCodec = {
  ie: 'QOS', title: 'qualifier of set-point command', size: 1, keys: ['ql', 'select'],
  read(b, o, obj, cx) {
    const ql = b[o] & 0x7f;
    if (cx && ql > 0 && ql < 64) cx.warn('W_RESERVED_VALUE', o, 'QOS.QL', `set-point qualifier ${ql} is reserved`);
    obj.ql = ql;
    obj.select = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = optInt(obj, 'ql', 0, 127, 'QOS.QL') | (bool(obj, 'select', 'QOS.S/E') ? 0x80 : 0);
  },
  explain: (b, o) => `QL=${b[o] & 0x7f}${(b[o] & 0x7f) === 0 ? ' default' : (b[o] & 0x7f) < 64 ? ' reserved (standard)' : ' reserved (private)'}, ${seText(b[o])}`,
};

// ---- system information

function uint8(ie: string, title: string, key: string, text: (v: number) => string, check?: (v: number) => string | undefined): FieldCodec {
  return {
    ie, title, size: 1, keys: [key],
    read(b, o, obj, cx) {
      if (cx && check) {
        const m = check(b[o]);
        if (m) cx.warn('W_RESERVED_VALUE', o, ie, m);
      }
      obj[key] = b[o];
    },
    write(obj, b, o) {
      b[o] = int(obj, key, 0, 255, ie);
    },
    explain: (b, o) => `${ie}=${b[o]} ${text(b[o])}`,
  };
}

export const COI: FieldCodec = {
  ie: 'COI', title: 'cause of initialisation', size: 1, keys: ['cause', 'localChange'],
  read(b, o, obj) {
    obj.cause = b[o] & 0x7f;
    obj.localChange = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = int(obj, 'cause', 0, 127, 'COI') | (bool(obj, 'localChange', 'COI.BS1') ? 0x80 : 0);
  },
  explain: (b, o) => {
    const c = b[o] & 0x7f;
    const n = ['local power switch on', 'local manual reset', 'remote reset'][c] ?? (c < 32 ? 'reserved (standard)' : 'reserved (private)');
    return `COI=${c} ${n}, BS1=${b[o] >> 7} ${b[o] & 0x80 ? 'after change of local parameters' : 'with unchanged local parameters'}`;
  },
};

/** Name of a qualifier of interrogation value. */
export function qoiName(v: number): string {
  if (v === 20) return 'station interrogation (global)';
  if (v >= 21 && v <= 36) return `interrogation of group ${v - 20}`;
  if (v === 0) return 'not used';
  return v < 64 ? 'reserved (standard)' : 'reserved (private)';
}
export const QOI = uint8('QOI', 'qualifier of interrogation', 'qoi', qoiName, (v) => (v !== 20 && !(v >= 21 && v <= 36) && v < 64 ? `qualifier of interrogation ${v} is not defined` : undefined));

const RQT_NAMES = ['no counter requested', 'request counter group 1', 'request counter group 2', 'request counter group 3', 'request counter group 4', 'general request counter'];
const FRZ_NAMES = ['read (no freeze or reset)', 'counter freeze without reset', 'counter freeze with reset', 'counter reset'];
export const QCC: FieldCodec = {
  ie: 'QCC', title: 'qualifier of counter interrogation', size: 1, keys: ['rqt', 'frz'],
  read(b, o, obj, cx) {
    const r = b[o] & 0x3f;
    if (cx && (r === 0 || (r > 5 && r < 32))) cx.warn('W_RESERVED_VALUE', o, 'QCC.RQT', `counter request ${r} is ${r === 0 ? 'not used' : 'reserved'}`);
    obj.rqt = r;
    obj.frz = b[o] >>> 6;
  },
  write(obj, b, o) {
    b[o] = int(obj, 'rqt', 0, 63, 'QCC.RQT') | (optInt(obj, 'frz', 0, 3, 'QCC.FRZ') << 6);
  },
  explain: (b, o) => `RQT=${b[o] & 0x3f} ${RQT_NAMES[b[o] & 0x3f] ?? 'reserved'}, FRZ=${b[o] >> 6} ${FRZ_NAMES[b[o] >> 6]}`,
};

export const QRP = uint8('QRP', 'qualifier of reset process command', 'qrp', (v) => ['not used', 'general reset of process', 'reset of pending time-tagged information'][v] ?? (v < 128 ? 'reserved (standard)' : 'reserved (private)'), (v) => (v === 0 || (v > 2 && v < 128) ? `reset qualifier ${v} is ${v === 0 ? 'not used' : 'reserved'}` : undefined));

export const FBP: FieldCodec = {
  ie: 'FBP', title: 'fixed test bit pattern', size: 2, keys: ['pattern'],
  read(b, o, obj, cx) {
    const v = readU16(b, o);
    if (cx && v !== 0x55aa) cx.warn('W_RESERVED_VALUE', o, 'FBP', `test pattern 0x${v.toString(16)} is not 0x55AA`);
    obj.pattern = v;
  },
  write(obj, b, o) {
    writeU16(obj.pattern === undefined ? 0x55aa : int(obj, 'pattern', 0, 0xffff, 'FBP'), b, o);
  },
  explain: (b, o) => `pattern 0x${readU16(b, o).toString(16).toUpperCase()}${readU16(b, o) === 0x55aa ? ' (correct)' : ' (should be 0x55AA)'}`,
};

export const TSC: FieldCodec = {
  ie: 'TSC', title: 'test sequence counter', size: 2, keys: ['counter'],
  read(b, o, obj) {
    obj.counter = readU16(b, o);
  },
  write(obj, b, o) {
    writeU16(int(obj, 'counter', 0, 0xffff, 'TSC'), b, o);
  },
  explain: (b, o) => `test sequence counter ${readU16(b, o)}`,
};

// ---- parameters

const KPA_NAMES = ['not used', 'threshold value', 'smoothing factor (filter time constant)', 'low limit for transmission', 'high limit for transmission'];
export const QPM: FieldCodec = {
  ie: 'QPM', title: 'qualifier of parameter of measured values', size: 1, keys: ['kpa', 'lpc', 'pop'],
  read(b, o, obj, cx) {
    const k = b[o] & 0x3f;
    if (cx && (k === 0 || (k > 4 && k < 32))) cx.warn('W_RESERVED_VALUE', o, 'QPM.KPA', `kind of parameter ${k} is ${k === 0 ? 'not used' : 'reserved'}`);
    obj.kpa = k;
    obj.lpc = (b[o] & 0x40) !== 0;
    obj.pop = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = int(obj, 'kpa', 0, 63, 'QPM.KPA') | (bool(obj, 'lpc', 'QPM.LPC') ? 0x40 : 0) | (bool(obj, 'pop', 'QPM.POP') ? 0x80 : 0);
  },
  explain: (b, o) => `KPA=${b[o] & 0x3f} ${KPA_NAMES[b[o] & 0x3f] ?? 'reserved'}, LPC=${(b[o] >> 6) & 1} ${b[o] & 0x40 ? 'change' : 'no change'}, POP=${b[o] >> 7} ${b[o] & 0x80 ? 'not in operation' : 'operation'}`,
};

export const QPA = uint8('QPA', 'qualifier of parameter activation', 'qpa', (v) => ['not used', 'act/deact of previously loaded parameters (IOA 0)', 'act/deact of the parameter of the addressed object', 'act/deact of persistent cyclic or periodic transmission of the addressed object'][v] ?? (v < 128 ? 'reserved (standard)' : 'reserved (private)'), (v) => (v === 0 || (v > 3 && v < 128) ? `parameter activation qualifier ${v} is ${v === 0 ? 'not used' : 'reserved'}` : undefined));

// ---- file transfer

function uintN(ie: string, title: string, key: string, size: 1 | 2 | 3): FieldCodec {
  const max = 2 ** (8 * size) - 1;
  return {
    ie, title, size, keys: [key],
    read(b, o, obj) {
      obj[key] = size === 1 ? b[o] : size === 2 ? readU16(b, o) : b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
    },
    write(obj, b, o) {
      const v = int(obj, key, 0, max, ie);
      b[o] = v & 0xff;
      if (size > 1) b[o + 1] = (v >>> 8) & 0xff;
      if (size > 2) b[o + 2] = (v >>> 16) & 0xff;
    },
    explain: (b, o) => `${title} ${size === 1 ? b[o] : size === 2 ? readU16(b, o) : b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)}`,
  };
}
export const NOF = uintN('NOF', 'name of file', 'file', 2);
export const NOS = uintN('NOS', 'name of section', 'section', 1);
export const LOF = uintN('LOF', 'length of file or section', 'length', 3);
export const CHS = uintN('CHS', 'checksum', 'checksum', 1);

export const FRQ: FieldCodec = {
  ie: 'FRQ', title: 'file ready qualifier', size: 1, keys: ['frq', 'negative'],
  read(b, o, obj) {
    obj.frq = b[o] & 0x7f;
    obj.negative = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = optInt(obj, 'frq', 0, 127, 'FRQ') | (bool(obj, 'negative', 'FRQ.BS1') ? 0x80 : 0);
  },
  explain: (b, o) => `FRQ=${b[o] & 0x7f}, ${b[o] & 0x80 ? 'negative confirm of select, request, deactivate or delete' : 'positive confirm'}`,
};
export const SRQ: FieldCodec = {
  ie: 'SRQ', title: 'section ready qualifier', size: 1, keys: ['srq', 'notReady'],
  read(b, o, obj) {
    obj.srq = b[o] & 0x7f;
    obj.notReady = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = optInt(obj, 'srq', 0, 127, 'SRQ') | (bool(obj, 'notReady', 'SRQ.BS1') ? 0x80 : 0);
  },
  explain: (b, o) => `SRQ=${b[o] & 0x7f}, ${b[o] & 0x80 ? 'section not ready to load' : 'section ready to load'}`,
};
const SCQ_ACTION = ['default', 'select file', 'request file', 'deactivate file', 'delete file', 'select section', 'request section', 'deactivate section'];
const FILE_ERRORS = ['default', 'requested memory space not available', 'checksum failed', 'unexpected communication service', 'unexpected name of file', 'unexpected name of section'];
export const SCQ: FieldCodec = {
  ie: 'SCQ', title: 'select and call qualifier', size: 1, keys: ['action', 'error'],
  read(b, o, obj) {
    obj.action = b[o] & 0x0f;
    obj.error = b[o] >>> 4;
  },
  write(obj, b, o) {
    b[o] = optInt(obj, 'action', 0, 15, 'SCQ.action') | (optInt(obj, 'error', 0, 15, 'SCQ.error') << 4);
  },
  explain: (b, o) => `action ${b[o] & 15} ${SCQ_ACTION[b[o] & 15] ?? 'reserved'}, error ${b[o] >> 4} ${FILE_ERRORS[b[o] >> 4] ?? 'reserved'}`,
};
const LSQ_NAMES = ['not used', 'file transfer without deactivation', 'file transfer with deactivation', 'section transfer without deactivation', 'section transfer with deactivation'];
export const LSQ = uint8('LSQ', 'last section or segment qualifier', 'lsq', (v) => LSQ_NAMES[v] ?? 'reserved');
const AFQ_NAMES = ['not used', 'positive acknowledge of file transfer', 'negative acknowledge of file transfer', 'positive acknowledge of section transfer', 'negative acknowledge of section transfer'];
export const AFQ: FieldCodec = {
  ie: 'AFQ', title: 'acknowledge file or section qualifier', size: 1, keys: ['ack', 'error'],
  read(b, o, obj) {
    obj.ack = b[o] & 0x0f;
    obj.error = b[o] >>> 4;
  },
  write(obj, b, o) {
    b[o] = optInt(obj, 'ack', 0, 15, 'AFQ.ack') | (optInt(obj, 'error', 0, 15, 'AFQ.error') << 4);
  },
  explain: (b, o) => `${AFQ_NAMES[b[o] & 15] ?? 'reserved'} (${b[o] & 15}), error ${b[o] >> 4} ${FILE_ERRORS[b[o] >> 4] ?? 'reserved'}`,
};
export const SOF: FieldCodec = {
  ie: 'SOF', title: 'status of file', size: 1, keys: ['status', 'lfd', 'for', 'fa'],
  read(b, o, obj) {
    obj.status = b[o] & 0x1f;
    obj.lfd = (b[o] & 0x20) !== 0;
    obj.for = (b[o] & 0x40) !== 0;
    obj.fa = (b[o] & 0x80) !== 0;
  },
  write(obj, b, o) {
    b[o] = optInt(obj, 'status', 0, 31, 'SOF.STATUS') | (bool(obj, 'lfd', 'SOF.LFD') ? 0x20 : 0) | (bool(obj, 'for', 'SOF.FOR') ? 0x40 : 0) | (bool(obj, 'fa', 'SOF.FA') ? 0x80 : 0);
  },
  explain: (b, o) => `STATUS=${b[o] & 0x1f}, LFD=${(b[o] >> 5) & 1} ${b[o] & 0x20 ? 'last file of the directory' : 'additional file follows'}, FOR=${(b[o] >> 6) & 1} ${b[o] & 0x40 ? 'name defines a subdirectory' : 'name defines a file'}, FA=${b[o] >> 7} ${b[o] & 0x80 ? 'transfer active' : 'waits for transfer'}`,
};

/** LOS + segment octets (F_SG_NA_1): variable length. */
export const SEGMENT: FieldCodec = {
  ie: 'LOS+segment', title: 'length of segment and segment data', size: 0, keys: ['segment'],
  sizeAt(b, o, left) {
    if (left < 1) return -1;
    return 1 + b[o] <= left ? 1 + b[o] : -1;
  },
  sizeOf(obj) {
    const s = obj.segment;
    return 1 + (s instanceof Uint8Array ? s.length : 0);
  },
  read(b, o, obj) {
    obj.segment = b.slice(o + 1, o + 1 + b[o]);
  },
  write(obj, b, o) {
    const s = obj.segment;
    if (!(s instanceof Uint8Array) || s.length > 240) bad('segment', 'Uint8Array of at most 240 octets', s);
    b[o] = s.length;
    b.set(s, o + 1);
  },
  explain: (b, o) => `LOS=${b[o]}, ${b[o]} octets of file data`,
};
