/**
 * Byte-by-byte explainer: what every octet of an APDU means, as a table of rows, driven by the
 * type table and each information element's {@link FieldCodec.explain}.
 *
 * The explainer is total: it never throws and, for a frame that does not decode, it still explains
 * every octet it can (start byte, length, control field, data unit identifier, the objects up to
 * the point where the input runs out), then reports the decoder's {@link CodecError}. Octets it
 * cannot place (after the end announced by the length octet, after the last object, or after a
 * wrong start byte) get a row of their own, so the rows always cover the input exactly.
 */
import { decodeControlField, MAX_APDU_LENGTH, MIN_APDU_LENGTH, START_BYTE, type UFunction, U_FUNCTIONS } from './apci.js';
import { type Apdu, decodeApdu } from './apdu.js';
import { cotName, cotShortName } from './cause.js';
import { CodecError, type CodecWarning, hex2 } from './errors.js';
import type { FieldCodec } from './elements.js';
import { broadcastAddress, type CodecOptions, resolveOptions } from './options.js';
import { typeInfo, typeName } from './type-table.js';

/** One explained range of octets. */
export interface ExplainRow {
  /** Offset of the first octet within the explained input. */
  offset: number;
  /** Number of octets (always at least 1). */
  length: number;
  /** The octets as sent, upper-case hex separated by spaces, e.g. `06 00`. */
  bytes: string;
  /**
   * Field name: `start`, `length`, `control`, `type ID`, `VSQ`, `COT`, `CA`, `object[i].IOA`,
   * `object[i].<IE>` (e.g. `object[0].SIQ`), `objects (raw)`, `extra`, `trailing`, `unexplained`.
   * Object indexes are zero-based, as in the codec's error messages.
   */
  field: string;
  /**
   * The value the field carries: the cause value for `COT`, otherwise the unsigned little-endian
   * integer of the octets for fields of 1 to 4 octets, or the hex string of the octets (no
   * spaces) for longer fields.
   */
  raw: number | string;
  /** What it means, in words. */
  meaning: string;
}

/** Result of {@link explainApdu}. */
export interface Explanation {
  /** Rows in input order; together they cover every input octet exactly once. */
  rows: ExplainRow[];
  /** The decoded APDU, when the input is one valid APDU. */
  apdu?: Apdu;
  /** Why the input does not decode, when it does not. */
  error?: CodecError;
  /** Semantic warnings of the decoded APDU (empty when none or when decoding failed). */
  warnings: CodecWarning[];
}

/** Upper-case hex of octets separated by spaces (`68 04 07 00 00 00`). */
export function octetsToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ' ' : '') + (b[i] < 16 ? '0' : '') + b[i].toString(16).toUpperCase();
  return s;
}

function rawOf(b: Uint8Array, o: number, len: number): number | string {
  if (len <= 4) {
    let v = 0;
    for (let i = len - 1; i >= 0; i--) v = v * 256 + b[o + i];
    return v;
  }
  return octetsToHex(b.subarray(o, o + len)).replace(/ /g, '');
}

const U_TEXT: Record<UFunction, string> = {
  STARTDT_ACT: 'STARTDT act (start data transfer, activation)',
  STARTDT_CON: 'STARTDT con (start data transfer, confirmation)',
  STOPDT_ACT: 'STOPDT act (stop data transfer, activation)',
  STOPDT_CON: 'STOPDT con (stop data transfer, confirmation)',
  TESTFR_ACT: 'TESTFR act (test frame, activation)',
  TESTFR_CON: 'TESTFR con (test frame, confirmation)',
};

function controlMeaning(b: Uint8Array, o: number, length: number): string {
  const c1 = b[o];
  let text: string;
  if ((c1 & 1) === 0) {
    text = `I-format, N(S)=${(c1 >>> 1) | (b[o + 1] << 7)}, N(R)=${(b[o + 2] >>> 1) | (b[o + 3] << 7)}`;
  } else if ((c1 & 3) === 1) {
    text = `S-format, N(R)=${(b[o + 2] >>> 1) | (b[o + 3] << 7)}`;
  } else {
    const bits = c1 & 0xfc;
    const fn = (Object.keys(U_FUNCTIONS) as UFunction[]).find((k) => U_FUNCTIONS[k] === bits);
    text = fn ? `U-format, ${U_TEXT[fn]}` : `U-format, function bits ${hex2(bits)} (not exactly one function)`;
  }
  const check = decodeControlField(b, o, length);
  if (!check.ok && check.error.code === 'E_CONTROL_FIELD') text += `; invalid: expected ${check.error.expected}`;
  return text;
}

/**
 * Explain one APDU octet by octet. Never throws.
 *
 * @param bytes the APDU (`68 LL` and what follows); extra or missing octets are explained as such
 * @param opts field widths (default IEC 60870-5-104: COT 2, CA 2, IOA 3)
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { explainApdu } from 'iec104';
 * const x = explainApdu(Uint8Array.from([0x68, 0x0e, 0, 0, 0, 0, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0, 0, 0, 0x14]));
 * assert.equal(x.rows[3].field, 'type ID');
 * assert.equal(x.rows[3].meaning, '100 C_IC_NA_1: interrogation command');
 * assert.equal(x.error, undefined);
 * ```
 */
export function explainApdu(bytes: Uint8Array, opts?: Partial<CodecOptions>): Explanation {
  const rows: ExplainRow[] = [];
  const n = bytes.length;
  const add = (offset: number, length: number, field: string, meaning: string, raw?: number | string): void => {
    rows.push({ offset, length, bytes: octetsToHex(bytes.subarray(offset, offset + length)), field, raw: raw ?? rawOf(bytes, offset, length), meaning });
  };
  let o: CodecOptions;
  try {
    o = resolveOptions(opts);
  } catch (e) {
    if (n > 0) add(0, n, 'unexplained', 'not explained: invalid codec options');
    return { rows, error: e instanceof CodecError ? e : new CodecError('E_OPTIONS', 0, 'options', 'valid options', String(e)), warnings: [] };
  }
  const decoded = decodeApdu(bytes, o);
  const result: Explanation = { rows, warnings: [] };
  if (decoded.ok) {
    result.apdu = decoded.value;
    result.warnings = decoded.value.asdu?.warnings ?? [];
  } else {
    result.error = decoded.error;
  }
  explainRows(bytes, o, add);
  return result;
}

type Add = (offset: number, length: number, field: string, meaning: string, raw?: number | string) => void;

function plural(k: number, one: string, many = one + 's'): string {
  return `${k} ${k === 1 ? one : many}`;
}

function explainRows(b: Uint8Array, o: CodecOptions, add: Add): void {
  const n = b.length;
  if (n === 0) return;
  if (b[0] !== START_BYTE) {
    add(0, 1, 'start', `${hex2(b[0])} is not the start byte 0x68`);
    if (n > 1) add(1, n - 1, 'unexplained', `${plural(n - 1, 'octet')} not explained (no start byte)`);
    return;
  }
  add(0, 1, 'start', 'start byte');
  if (n < 2) return;
  const len = b[1];
  const lenOk = len >= MIN_APDU_LENGTH && len <= MAX_APDU_LENGTH;
  let lenText: string;
  if (!lenOk) lenText = `APDU length ${len}: invalid, must be ${MIN_APDU_LENGTH}..${MAX_APDU_LENGTH}`;
  else if (len === 4) lenText = `${len} octets follow: control field only`;
  else lenText = `${len} octets follow: control field 4 + ASDU ${len - 4}`;
  if (n - 2 !== len) lenText += ` (input has ${n - 2})`;
  add(1, 1, 'length', lenText);
  // Where the APDU ends: as announced, or the input's end when shorter or when the length is invalid.
  const end = lenOk ? Math.min(n, len + 2) : n;
  explainBody(b, o, add, end, lenOk ? len : n - 2);
  if (end < n) add(end, n - end, 'trailing', `${plural(n - end, 'octet')} after the end of the APDU (length octet ${len})`);
}

function explainBody(b: Uint8Array, o: CodecOptions, add: Add, end: number, len: number): void {
  let p = 2;
  if (end - p < 4) {
    if (end > p) add(p, end - p, 'control', `truncated control field: ${plural(end - p, 'octet')} of 4`);
    return;
  }
  add(p, 4, 'control', controlMeaning(b, p, len));
  const isI = (b[p] & 1) === 0;
  p += 4;
  if (!isI) {
    if (end > p) add(p, end - p, 'extra', `${plural(end - p, 'octet')} after an S/U-format control field (must be none)`);
    return;
  }
  explainAsdu(b, o, add, p, end);
}

function explainAsdu(b: Uint8Array, o: CodecOptions, add: Add, start: number, end: number): void {
  let p = start;
  if (p >= end) return;
  const typeId = b[p];
  const info = typeInfo(typeId);
  add(p, 1, 'type ID', info ? `${typeId} ${info.name}: ${info.description}` : `${typeId} ${typeName(typeId)}: not defined, objects not decoded`);
  p++;
  if (p >= end) return;
  const vsq = b[p];
  const sq = (vsq & 0x80) !== 0;
  const count = vsq & 0x7f;
  add(p, 1, 'VSQ', `SQ=${sq ? 1 : 0} (${sq ? 'one IOA, a sequence of elements' : 'one IOA per object'}), ${plural(count, 'object')}`);
  p++;
  if (p >= end) return;
  if (end - p < o.cotSize) {
    add(p, end - p, 'COT', `truncated cause of transmission: ${plural(end - p, 'octet')} of ${o.cotSize}`);
    return;
  }
  const c = b[p];
  const cot = c & 0x3f;
  const short = cotShortName(cot);
  let cotText = `${cot} ${cotName(cot)}${/^(reserved|private)\(/.test(short) ? '' : ` (${short})`}, P/N=${(c >> 6) & 1} ${c & 0x40 ? 'negative' : 'positive'}, T=${c >> 7} ${c & 0x80 ? 'test' : 'not a test'}`;
  if (o.cotSize === 2) cotText += `, originator ${b[p + 1]}`;
  add(p, o.cotSize, 'COT', cotText, cot);
  p += o.cotSize;
  if (p >= end) return;
  if (end - p < o.caSize) {
    add(p, end - p, 'CA', `truncated common address: ${plural(end - p, 'octet')} of ${o.caSize}`);
    return;
  }
  const ca = o.caSize === 2 ? b[p] | (b[p + 1] << 8) : b[p];
  add(p, o.caSize, 'CA', `common address ${ca}${ca === broadcastAddress(o) ? ' (broadcast)' : ca === 0 ? ' (not used)' : ''}`);
  p += o.caSize;
  if (p >= end) return;

  if (info === undefined || info.raw) {
    add(p, end - p, 'objects (raw)', `${plural(end - p, 'octet')} of ${plural(count, 'object')}, layout not decoded`);
    return;
  }
  const ioaSize = o.ioaSize;
  const readIoa = (q: number): number => (ioaSize === 3 ? b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) : ioaSize === 2 ? b[q] | (b[q + 1] << 8) : b[q]);
  // Disambiguate repeated elements (F_SC_NB_1 has two CP56Time2a): name them by their property.
  const names = info.fields.map((f: FieldCodec, i: number) =>
    info.fields.some((g, j) => j !== i && g.ie === f.ie) ? `${f.ie}(${f.keys[0]})` : f.ie);
  let ioa = 0;
  for (let i = 0; i < count && p < end; i++) {
    const objName = `object[${i}]`;
    let prefix = '';
    if (!sq || i === 0) {
      if (end - p < ioaSize) {
        add(p, end - p, `${objName}.IOA`, `truncated IOA: ${plural(end - p, 'octet')} of ${ioaSize}`);
        return;
      }
      ioa = readIoa(p);
      add(p, ioaSize, `${objName}.IOA`, sq && count > 1 ? `address ${ioa}, first of ${count} (${ioa}..${ioa + count - 1})` : `address ${ioa}`);
      p += ioaSize;
    } else {
      prefix = `IOA ${ioa + i}: `;
    }
    for (let f = 0; f < info.fields.length && p < end; f++) {
      const fc = info.fields[f];
      const field = `${objName}.${names[f]}`;
      const size = fc.size === 0 ? fc.sizeAt!(b, p, end - p) : fc.size;
      if (size < 0 || p + size > end) {
        add(p, end - p, field, `truncated ${fc.ie}: ${plural(end - p, 'octet')}${size > 0 ? ` of ${size}` : ''}`);
        return;
      }
      add(p, size, field, prefix + fc.explain(b, p));
      p += size;
    }
  }
  if (p < end) add(p, end - p, 'extra', `${plural(end - p, 'octet')} after the last of ${plural(count, 'object')} (VSQ number ${count})`);
}

/** Options of {@link formatExplanation}. */
export interface FormatOptions {
  /** ANSI colours (errors red, warnings yellow, field names bold). Default false. */
  color?: boolean;
  /** Append one line per warning after the table. Default true. */
  warnings?: boolean;
  /** Append the error line after the table (rows at the error are still highlighted). Default true. */
  error?: boolean;
}

const BYTES_PER_LINE = 8;

/**
 * Format an {@link Explanation} as an aligned text table (`offset │ bytes │ field │ meaning`),
 * followed by one line per warning and one for the error. Rows of more than 8 octets continue on
 * the next lines. Offsets are decimal, as in the codec's error messages.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { explainApdu, formatExplanation } from 'iec104';
 * const text = formatExplanation(explainApdu(Uint8Array.from([0x68, 0x04, 0x43, 0, 0, 0])));
 * assert.match(text, /TESTFR act/);
 * ```
 */
export function formatExplanation(result: Explanation, opts: FormatOptions = {}): string {
  const color = opts.color === true;
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const headers = ['offset', 'bytes', 'field', 'meaning'];
  const lines: Array<{ cells: [string, string, string, string]; tone?: 'error' | 'warning' }> = [];
  const err = result.error;
  const warnAt = new Set(result.warnings.map((w) => w.offset));
  for (const r of result.rows) {
    const within = (x: number): boolean => x >= r.offset && x < r.offset + r.length;
    let tone: 'error' | 'warning' | undefined;
    if (err && (within(err.offset) || (r === result.rows[result.rows.length - 1] && err.offset >= r.offset + r.length))) tone = 'error';
    else if ([...warnAt].some(within)) tone = 'warning';
    const parts = r.bytes.split(' ');
    for (let i = 0; i < parts.length; i += BYTES_PER_LINE) {
      const chunk = parts.slice(i, i + BYTES_PER_LINE).join(' ');
      lines.push(i === 0 ? { cells: [String(r.offset), chunk, r.field, r.meaning], tone } : { cells: ['', chunk, '', ''], tone });
    }
  }
  const w = [0, 1, 2].map((c) => Math.max(headers[c].length, ...lines.map((l) => l.cells[c].length)));
  const fmt = (cells: readonly string[], tone?: 'error' | 'warning'): string => {
    const off = cells[0].padStart(w[0]);
    const by = cells[1].padEnd(w[1]);
    const fi = cells[2].padEnd(w[2]);
    const me = cells[3];
    if (!color) return `${off} │ ${by} │ ${fi} │ ${me}`.trimEnd();
    const tc = tone === 'error' ? '31' : tone === 'warning' ? '33' : '';
    return `${paint('2', off)} │ ${paint('36', by)} │ ${paint('1', fi)} │ ${tc ? paint(tc, me) : me}`.trimEnd();
  };
  const out: string[] = [fmt(headers)];
  for (const l of lines) out.push(fmt(l.cells, l.tone));
  if (opts.warnings !== false) for (const wn of result.warnings) out.push(paint('33', `warning ${wn.code} at byte ${wn.offset} (${wn.field}): ${wn.message}`));
  if (err && opts.error !== false) out.push(paint('31', `error ${err.message}`));
  return out.join('\n');
}
