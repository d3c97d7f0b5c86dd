/**
 * The JSON view of a decoded APDU: a plain object that `JSON.stringify` renders without loss or
 * surprise, used by `iec104 decode --json` and `iec104 analyze --json`. Its shape is part of the
 * toolkit's stable interface: fields are only ever added, never renamed or removed.
 *
 * Conversions applied to information-object properties (recursively):
 * - quality descriptors (`{ iv, nt, sb, bl, ov }`, `{ iv, nt, sb, bl, ei }`) are kept as they are;
 * - CP56Time2a values (`time`, `start`, `stop`) keep every field and gain `iso` (see {@link JsonCp56Time});
 * - short floats (the `value` of R32 types: M_ME_NC_1, M_ME_TC_1, M_ME_TF_1, C_SE_NC_1, C_SE_TC_1,
 *   P_ME_NC_1) are written as the shortest number that reads back as the same float32
 *   ({@link formatFloat32}: `3.14`, not `3.140000104904175`);
 * - `Uint8Array` (file segments, raw octets) become upper-case hex separated by spaces (`01 02 0A`);
 * - non-finite numbers become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; bigint becomes a decimal string;
 * - `undefined` properties are left out.
 */
import type { UFunction } from './apci.js';
import type { Apdu } from './apdu.js';
import { cotName } from './cause.js';
import type { CodecWarning } from './errors.js';
import { R32 } from './elements.js';
import { octetsToHex } from './explain.js';
import { float32Number, formatFloat32 } from './float32-text.js';
import type { Cp56Time } from './time.js';
import { typeInfo, typeName } from './type-table.js';

/** Per type identification: whether the objects' `value` is a short float (R32). */
const FLOAT_VALUE: readonly boolean[] = Array.from({ length: 256 }, (_, t) => typeInfo(t)?.fields.includes(R32) ?? false);

/**
 * Whether the objects of a type carry their `value` as a short float (R32): print it with
 * {@link formatFloat32}, or store {@link float32Number} of it in a JSON view.
 */
export function hasFloat32Value(typeId: number): boolean {
  return typeId >= 0 && typeId < 256 && FLOAT_VALUE[typeId] === true;
}

/** Any value JSON can carry. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The control field. `sendSeq` on I-frames, `recvSeq` on I- and S-frames, `uFunction` on U-frames. */
export interface JsonApci {
  format: 'I' | 'S' | 'U';
  /** N(S), I-frames only. */
  sendSeq?: number;
  /** N(R), I- and S-frames. */
  recvSeq?: number;
  /** U-frames only, e.g. `STARTDT_ACT`. */
  uFunction?: UFunction;
}

/** A CP56Time2a as decoded, plus its ISO 8601 text. */
export interface JsonCp56Time extends Cp56Time {
  /**
   * The time as sent in ISO 8601 form *without* a time zone (CP56Time2a carries none), year
   * 2000 + `year`, e.g. `2026-11-21T13:05:07.123`; `null` when a field is out of range
   * (month 13, minute 61, ...).
   */
  iso: string | null;
}

/** One information object: its address and its type's properties, converted as described in the module comment. */
export interface JsonObject {
  ioa: number;
  [property: string]: JsonValue;
}

/** The ASDU of an I-frame. */
export interface JsonAsdu {
  /** Type identification number. */
  typeId: number;
  /** Mnemonic such as `M_ME_NC_1`, or `reserved(N)` / `private(N)`. */
  typeName: string;
  /** VSQ SQ bit. */
  sq: boolean;
  /** Number of information objects (VSQ number). */
  count: number;
  /** Cause of transmission value. */
  cot: number;
  /** Descriptive name of the cause, e.g. `activation confirmation`. */
  cotName: string;
  /** P/N bit. */
  negative: boolean;
  /** T bit. */
  test: boolean;
  /** Originator address (0 with a one-octet COT). */
  originator: number;
  /** Common address of ASDU. */
  ca: number;
  /** Decoded objects (empty for raw types). */
  objects: JsonObject[];
  /** Information-object octets of a type whose layout is not decoded (reserved, private, security), as hex. */
  raw?: string;
  /** Semantic warnings; absent when none. */
  warnings?: CodecWarning[];
}

/** JSON view of an APDU; `asdu` only on I-frames. */
export interface ApduJson {
  apci: JsonApci;
  asdu?: JsonAsdu;
}

/**
 * Convert a decoded APDU to its JSON view.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { apduToJson, decodeApdu } from 'iec104';
 * const r = decodeApdu(Uint8Array.from([0x68, 0x0e, 0, 0, 0, 0, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0, 0, 0, 0x14]));
 * assert.ok(r.ok);
 * const j = apduToJson(r.value);
 * assert.equal(j.asdu?.typeName, 'C_IC_NA_1');
 * assert.deepEqual(j.asdu?.objects, [{ ioa: 0, qoi: 20 }]);
 * ```
 */
export function apduToJson(apdu: Apdu): ApduJson {
  const a = apdu.apci;
  const apci: JsonApci =
    a.format === 'I' ? { format: 'I', sendSeq: a.sendSeq, recvSeq: a.recvSeq } : a.format === 'S' ? { format: 'S', recvSeq: a.recvSeq } : { format: 'U', uFunction: a.uFunction };
  if (!apdu.asdu) return { apci };
  const s = apdu.asdu;
  const floats = s.typeId >= 0 && s.typeId < 256 && FLOAT_VALUE[s.typeId];
  const asdu: JsonAsdu = {
    typeId: s.typeId,
    typeName: typeName(s.typeId),
    sq: s.sq,
    count: s.raw !== undefined ? (s.rawCount ?? 0) : s.objects.length,
    cot: s.cot,
    cotName: cotName(s.cot),
    negative: s.negative,
    test: s.test,
    originator: s.originator,
    ca: s.ca,
    objects: s.objects.map((obj) => {
      const out: JsonObject = { ioa: obj.ioa };
      for (const [k, v] of Object.entries(obj)) {
        if (k === 'ioa' || v === undefined) continue;
        out[k] = toJsonValue(floats && k === 'value' && typeof v === 'number' ? float32Number(v) : v);
      }
      return out;
    }),
  };
  if (s.raw !== undefined) asdu.raw = octetsToHex(s.raw);
  if (s.warnings && s.warnings.length > 0) asdu.warnings = s.warnings.map((w) => ({ code: w.code, offset: w.offset, field: w.field, message: w.message }));
  return { apci, asdu };
}

function isCp56(v: Record<string, unknown>): v is Record<string, unknown> & Cp56Time {
  return (
    typeof v.ms === 'number' && typeof v.minute === 'number' && typeof v.hour === 'number' && typeof v.day === 'number' &&
    typeof v.dayOfWeek === 'number' && typeof v.month === 'number' && typeof v.year === 'number' &&
    typeof v.invalid === 'boolean' && typeof v.summerTime === 'boolean'
  );
}

function p2(n: number, w = 2): string {
  if (w === 2 && n >= 0 && n < 100) return n < 10 ? '0' + n : '' + n;
  return String(n).padStart(w, '0');
}

/** ISO 8601 text (no zone) of a CP56Time2a, or null when a field is out of range. */
export function cp56Iso(t: Cp56Time): string | null {
  const ok =
    Number.isInteger(t.ms) && t.ms >= 0 && t.ms <= 59999 && t.minute >= 0 && t.minute <= 59 && t.hour >= 0 && t.hour <= 23 &&
    t.day >= 1 && t.day <= 31 && t.month >= 1 && t.month <= 12 && t.year >= 0 && t.year <= 99;
  if (!ok) return null;
  return `${2000 + t.year}-${p2(t.month)}-${p2(t.day)}T${p2(t.hour)}:${p2(t.minute)}:${p2(Math.floor(t.ms / 1000))}.${p2(t.ms % 1000, 3)}`;
}

/**
 * Convert any decoded value to a JSON-safe value with the rules of the module comment
 * (exported for views that hold decoded values outside an APDU).
 */
export function toJsonValue(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return v.toString();
    case 'object':
      break;
    default:
      return String(v);
  }
  if (v instanceof Uint8Array) return octetsToHex(v);
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  const r = v as Record<string, unknown>;
  const out: { [key: string]: JsonValue } = {};
  for (const [k, x] of Object.entries(r)) if (x !== undefined) out[k] = toJsonValue(x);
  if (isCp56(r)) out.iso = cp56Iso(r);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Direct JSON text (no intermediate objects): the hot path of `iec104 analyze --json`.

const quoted = new Map<string, string>();
/** `JSON.stringify(s)`, cached for the few distinct keys and names of the JSON view. */
function q(s: string): string {
  let t = quoted.get(s);
  if (t === undefined) {
    t = JSON.stringify(s);
    if (quoted.size < 4096) quoted.set(s, t);
  }
  return t;
}

function valueText(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? String(v) : `"${String(v)}"`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'bigint':
      return `"${v.toString()}"`;
    case 'object':
      break;
    default:
      return v === undefined ? 'null' : JSON.stringify(String(v));
  }
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `"${octetsToHex(v)}"`;
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + valueText(v[i]);
    return s + ']';
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'null' : `"${v.toISOString()}"`;
  const r = v as Record<string, unknown>;
  let s = '{';
  let first = true;
  let hasIso = false;
  for (const k in r) {
    if (!Object.prototype.hasOwnProperty.call(r, k)) continue;
    const x = r[k];
    if (x === undefined) continue;
    if (k === 'iso') hasIso = true;
    s += (first ? '' : ',') + q(k) + ':' + (k === 'iso' && isCp56(r) ? valueText(cp56Iso(r)) : valueText(x));
    first = false;
  }
  if (!hasIso && isCp56(r)) s += (first ? '' : ',') + '"iso":' + valueText(cp56Iso(r));
  return s + '}';
}

/**
 * The JSON text of {@link apduToJson}'s view, written directly: the same string as
 * `JSON.stringify(apduToJson(apdu))`, several times faster (no intermediate objects).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { apduJsonText, apduToJson, decodeApdu } from 'iec104';
 * const r = decodeApdu(Uint8Array.from([0x68, 0x0e, 0, 0, 0, 0, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0, 0, 0, 0x14]));
 * assert.ok(r.ok);
 * assert.equal(apduJsonText(r.value), JSON.stringify(apduToJson(r.value)));
 * ```
 */
export function apduJsonText(apdu: Apdu): string {
  const a = apdu.apci;
  const apci =
    a.format === 'I' ? `{"format":"I","sendSeq":${a.sendSeq},"recvSeq":${a.recvSeq}}` : a.format === 'S' ? `{"format":"S","recvSeq":${a.recvSeq}}` : `{"format":"U","uFunction":${q(a.uFunction)}}`;
  const s = apdu.asdu;
  if (!s) return `{"apci":${apci}}`;
  let t = `{"apci":${apci},"asdu":{"typeId":${s.typeId},"typeName":${q(typeName(s.typeId))},"sq":${s.sq},"count":${s.raw !== undefined ? (s.rawCount ?? 0) : s.objects.length},"cot":${s.cot},"cotName":${q(cotName(s.cot))},"negative":${s.negative},"test":${s.test},"originator":${s.originator},"ca":${s.ca},"objects":[`;
  const objs = s.objects;
  const floats = s.typeId >= 0 && s.typeId < 256 && FLOAT_VALUE[s.typeId];
  for (let i = 0; i < objs.length; i++) {
    const obj = objs[i] as Record<string, unknown> & { ioa: number };
    t += (i ? ',{"ioa":' : '{"ioa":') + valueText(obj.ioa);
    for (const k in obj) {
      if (k === 'ioa' || !Object.prototype.hasOwnProperty.call(obj, k)) continue;
      const v = obj[k];
      if (v === undefined) continue;
      t += ',' + q(k) + ':' + (floats && k === 'value' && typeof v === 'number' && Number.isFinite(v) ? (v === 0 ? '0' : formatFloat32(v)) : valueText(v));
    }
    t += '}';
  }
  t += ']';
  if (s.raw !== undefined) t += `,"raw":"${octetsToHex(s.raw)}"`;
  if (s.warnings && s.warnings.length > 0) {
    t += ',"warnings":[';
    for (let i = 0; i < s.warnings.length; i++) {
      const w = s.warnings[i];
      t += `${i ? ',' : ''}{"code":${q(w.code)},"offset":${valueText(w.offset)},"field":${JSON.stringify(w.field)},"message":${JSON.stringify(w.message)}}`;
    }
    t += ']';
  }
  return t + '}}';
}
