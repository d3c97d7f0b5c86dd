/**
 * Compact one-line text of decoded information objects (the values on `iec104 analyze`'s APDU
 * lines): `IOA=value flags`, e.g. `1001=230.5`, `12=ON iv,nt`, `4101=OFF sel`, and for objects
 * without a value their qualifiers, e.g. `0 qoi=20`. Short floats print as their shortest text
 * ({@link formatFloat32}); time tags of objects with a value are left out (the capture line has
 * the frame's time, the JSON view carries everything).
 */
import type { InformationObject } from './asdu.js';
import { BSI, DCO, DIQ, type FieldCodec, R32, RCO, SEP } from './elements.js';
import { formatFloat32 } from './float32-text.js';
import { cp56Iso } from './json-view.js';
import type { Cp56Time } from './time.js';
import { typeInfo } from './type-table.js';

/** How the `value` of a type reads, by the element that carries it. */
type ValueKind = 'float' | 'double-point' | 'double-command' | 'step-command' | 'bitstring' | 'plain';

const KIND_OF_ELEMENT = new Map<FieldCodec, ValueKind>([
  [R32, 'float'], [DIQ, 'double-point'], [SEP, 'double-point'], [DCO, 'double-command'], [RCO, 'step-command'], [BSI, 'bitstring'],
]);

/** Per type identification (0..255): how its `value` reads. */
const VALUE_KIND: readonly ValueKind[] = Array.from({ length: 256 }, (_, t): ValueKind => {
  for (const f of typeInfo(t)?.fields ?? []) {
    const k = KIND_OF_ELEMENT.get(f);
    if (k) return k;
  }
  return 'plain';
});

const DPI = ['INTERMEDIATE', 'OFF', 'ON', 'INDETERMINATE'];
const DCS = ['DCS=0', 'OFF', 'ON', 'DCS=3'];
const RCS = ['RCS=0', 'LOWER', 'HIGHER', 'RCS=3'];

/**
 * Text of an object's `value` for type `typeId`: `ON`/`OFF` for single points and single
 * commands, the state name for double points, double and regulating step commands, `0x0000FFFF`
 * for bitstrings, the shortest float32 text for short floats, the number otherwise.
 */
export function objectValueText(typeId: number, v: unknown): string {
  if (typeof v === 'boolean') return v ? 'ON' : 'OFF';
  if (typeof v !== 'number') return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  switch (typeId >= 0 && typeId < 256 ? VALUE_KIND[typeId] : 'plain') {
    case 'float':
      return formatFloat32(v);
    case 'double-point':
      return DPI[v] ?? String(v);
    case 'double-command':
      return DCS[v] ?? String(v);
    case 'step-command':
      return RCS[v] ?? String(v);
    case 'bitstring':
      return '0x' + (v >>> 0).toString(16).toUpperCase().padStart(8, '0');
    default:
      return String(v);
  }
}

/** Names of the true properties of a flag object (`{iv: true, nt: false}` → `iv`). */
function trueKeys(o: object, into: string[]): void {
  for (const k in o) if ((o as Record<string, unknown>)[k] === true) into.push(k);
}

function isCp56(v: object): v is Cp56Time {
  return typeof (v as Cp56Time).year === 'number' && typeof (v as Cp56Time).month === 'number' && typeof (v as Cp56Time).ms === 'number';
}

/**
 * One object as text: `IOA=value` and its set flags (quality `iv,nt,sb,bl,ov,ei`, `t` transient,
 * `sel` select, counter `cy,ca,iv`), or, without a value, `IOA` and its qualifiers (`0 qoi=20`,
 * `0 time=2026-11-21T13:05:07.123`, `7 gs,sl1`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { objectText } from 'iec104';
 * assert.equal(objectText(13, { ioa: 1001, value: Math.fround(3.14), quality: { iv: true, nt: false } }), '1001=3.14 iv');
 * assert.equal(objectText(100, { ioa: 0, qoi: 20 }), '0 qoi=20');
 * ```
 */
export function objectText(typeId: number, obj: InformationObject): string {
  const v = obj.value;
  if (v !== undefined) {
    let s = `${obj.ioa}=${objectValueText(typeId, v)}`;
    const flags: string[] = [];
    const q = obj.quality;
    if (typeof q === 'object' && q !== null) trueKeys(q, flags);
    if (obj.transient === true) flags.push('t');
    if (obj.select === true) flags.push('sel');
    if (obj.carry === true) flags.push('cy');
    if (obj.adjusted === true) flags.push('ca');
    if (obj.invalid === true) flags.push('iv');
    if (flags.length) s += ' ' + flags.join(',');
    return s;
  }
  let s = String(obj.ioa);
  for (const k in obj) {
    if (k === 'ioa') continue;
    const x = obj[k];
    if (typeof x === 'number' || typeof x === 'string') s += ` ${k}=${x}`;
    else if (x === true) s += ` ${k}`;
    else if (x instanceof Uint8Array) s += ` ${k}=${x.length} octets`;
    else if (typeof x === 'object' && x !== null) {
      if (isCp56(x)) s += ` ${k}=${cp56Iso(x) ?? 'invalid'}`;
      else {
        const f: string[] = [];
        trueKeys(x, f);
        if (f.length) s += ' ' + f.join(',');
      }
    }
  }
  return s;
}

/**
 * The objects of an ASDU as text: up to `max` (default 4) {@link objectText}s separated by
 * `, `, then ` …+N` for the rest.
 */
export function objectsText(typeId: number, objects: readonly InformationObject[], max = 4): string {
  const n = objects.length;
  const shown = n > max ? max : n;
  let s = '';
  for (let i = 0; i < shown; i++) s += (i ? ', ' : '') + objectText(typeId, objects[i]);
  if (n > shown) s += ` …+${n - shown}`;
  return s;
}
