/**
 * Text and JSON views of received values and request outcomes (used by the CLIs).
 */
import { COI, R32, formatF32 } from '../codec/elements.js';
import { TypeId, familyOf, isMonitorType, typeInfo } from '../codec/type-table.js';
import { cotShortName } from '../codec/cause.js';
import { type JsonValue, cp56Iso, hasFloat32Value, toJsonValue } from '../codec/json-view.js';
import { float32Number } from '../codec/float32-text.js';
import type { Cp24Time, Cp56Time } from '../codec/time.js';
import type { ProtectionQuality, Quality } from '../codec/elements.js';
import type { PointValue } from './points.js';
import type { RoundTrip } from './types.js';

/** One received object as a JSON line: `{ca, ioa, type, typeId, value, quality, time, cot}`. */
export interface PointJson {
  ca: number;
  ioa: number;
  type: string;
  typeId: number;
  value: JsonValue;
  /** Set quality flags (`iv`, `nt`, `sb`, `bl`, `ov`, `ei`); empty when good; null when the type has none. */
  quality: string[] | null;
  /** Time tag as ISO text (CP56Time2a, no zone), `mm:ss.mmm` (CP24Time2a), or null. */
  time: string | null;
  cot: number;
  test?: boolean;
}

function isCp56(t: Cp56Time | Cp24Time): t is Cp56Time {
  return 'year' in t;
}

/** Names of the set quality flags, e.g. `['iv', 'nt']`. */
export function qualityFlags(q: Quality | ProtectionQuality | undefined): string[] | null {
  if (!q) return null;
  return Object.entries(q)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
}

function timeText(t: Cp56Time | Cp24Time | undefined): string | null {
  if (!t) return null;
  if (isCp56(t)) {
    const iso = cp56Iso(t);
    const flags = `${t.summerTime ? ' SU' : ''}${t.invalid ? ' IV' : ''}`;
    return iso === null ? null : iso + flags;
  }
  return `${String(t.minute).padStart(2, '0')}:${String(Math.floor(t.ms / 1000)).padStart(2, '0')}.${String(t.ms % 1000).padStart(3, '0')}${t.invalid ? ' IV' : ''}`;
}

/** JSON view of a received object. */
export function pointToJson(p: PointValue): PointJson {
  const j: PointJson = {
    ca: p.ca, ioa: p.ioa, type: p.type, typeId: p.typeId,
    // a short float as the shortest number that reads back as the same float32 (3.14, not 3.140000104904175)
    value: p.value === undefined ? toJsonValue(valueOf(p)) : typeof p.value === 'number' && hasFloat32Value(p.typeId) ? float32Number(p.value) : toJsonValue(p.value),
    quality: qualityFlags(p.quality), time: timeText(p.time), cot: p.cot,
  };
  if (p.test) j.test = true;
  return j;
}

/** Objects without a `value` (e.g. M_EI_NA_1): their properties without the IOA. */
function valueOf(p: PointValue): unknown {
  const { ioa: _ioa, ...rest } = p.object;
  return Object.keys(rest).length ? rest : null;
}

/** Text of a value: ON/OFF for single points, the DPI name for double points, numbers as they are. */
export function valueText(p: PointValue): string {
  const v = p.value;
  if (typeof v === 'boolean') return v ? 'ON' : 'OFF';
  const family = isMonitorType(p.typeId) ? familyOf(p.typeId) : undefined; // M_DP_*, M_BO_*
  if (family === 'double' && typeof v === 'number') return ['INTERMEDIATE', 'OFF', 'ON', 'INDETERMINATE'][v] ?? String(v);
  if (family === 'bitstring') return `0x${(v as number).toString(16).padStart(8, '0')}`;
  if (p.typeId === TypeId.M_EI_NA_1) return endOfInitText(p.object);
  if (v === undefined) return JSON.stringify(toJsonValue(valueOf(p)));
  if (typeof v === 'number') return typeInfo(p.typeId)?.fields.includes(R32) ? formatF32(v) : String(v);
  return JSON.stringify(v);
}

/** M_EI_NA_1 as text, e.g. `end of initialization: COI=2 remote reset, BS1=0 with unchanged local parameters`. */
function endOfInitText(o: Record<string, unknown>): string {
  const cause = typeof o.cause === 'number' ? o.cause & 0x7f : 0;
  return `end of initialization: ${COI.explain(Uint8Array.of(cause | (o.localChange === true ? 0x80 : 0)), 0)}`;
}

/** Columns of the text view. */
export const POINT_COLUMNS = ['CA', 'IOA', 'TYPE', 'VALUE', 'QUALITY', 'COT', 'TIME'] as const;

/** Cells of one point in the text view (see {@link POINT_COLUMNS}). */
export function pointCells(p: PointValue): string[] {
  const q = qualityFlags(p.quality);
  return [String(p.ca), String(p.ioa), p.type, valueText(p), q === null ? '' : q.length ? q.join(',').toUpperCase() : 'ok', `${cotShortName(p.cot)}${p.test ? ' T' : ''}`, timeText(p.time) ?? ''];
}

/** Lay out rows under a header, left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: string[][]): string {
  // widest cell per column (a loop, not Math.max(...): a table may have more rows than a call takes arguments)
  const w = header.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < w.length; i++) w[i] = Math.max(w[i], (r[i] ?? '').length);
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Round-trip times as text, e.g. `ACT_CON 12 ms, ACT_TERM 40 ms`. */
export function rttText(r: RoundTrip): string {
  const parts: string[] = [];
  if (r.actCon !== undefined) parts.push(`ACT_CON ${msText(r.actCon)}`);
  if (r.actTerm !== undefined) parts.push(`ACT_TERM ${msText(r.actTerm)}`);
  if (r.response !== undefined) parts.push(`response ${msText(r.response)}`);
  return parts.join(', ');
}

/** Milliseconds as text: one decimal below 10 ms, whole numbers above (`0.4 ms`, `12 ms`). */
export function msText(ms: number): string {
  return `${Number.isInteger(ms) || ms >= 10 ? Math.round(ms) : ms.toFixed(1)} ms`;
}
