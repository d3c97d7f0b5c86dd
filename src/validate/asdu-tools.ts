/**
 * ASDU helpers shared by scenarios, suites and measurement: names of types and causes, building
 * commands from plain specifications, matching received ASDUs against patterns, one-line text.
 */
import type { Asdu, InformationObject } from '../codec/asdu.js';
import { COT, cotShortName } from '../codec/cause.js';
import { cp56FromDate, formatCp56, type Cp56Time } from '../codec/time.js';
import { isTypeIdNumber, typeInfo, typeName, TypeId } from '../codec/type-table.js';
import { commandKindOf } from '../codec/command.js';

/** A value in a specification is not usable. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  /** Stable code for programs. */
  readonly code = 'E_SPEC' as const;
}

/** Type identification from a number or a mnemonic (`C_SC_NA_1`, case-insensitive). */
export function parseTypeId(x: unknown): number {
  if (typeof x === 'number' && isTypeIdNumber(x)) return x;
  if (typeof x === 'string') {
    const t = x.trim();
    if (/^\d+$/.test(t)) return parseTypeId(Number(t));
    const id = (TypeId as Record<string, number>)[t.toUpperCase()];
    if (id !== undefined) return id;
  }
  throw new SpecError(`unknown type identification ${JSON.stringify(x)} (a number 1..255 or a name like C_SC_NA_1)`);
}

const COT_BY_NAME = new Map<string, number>();
for (let c = 0; c < 64; c++) COT_BY_NAME.set(cotShortName(c).toLowerCase(), c);
COT_BY_NAME.set('spontaneous', 3);
COT_BY_NAME.set('activation', 6);
COT_BY_NAME.set('unknown_type', 44);
COT_BY_NAME.set('unknown_cause', 45);
COT_BY_NAME.set('unknown_ca', 46);
COT_BY_NAME.set('unknown_ioa', 47);

/** Cause of transmission from a number or a short name (`act`, `actcon`, `actterm`, `spont`, `inrogen`, `unknown_ioa`, ...). */
export function parseCot(x: unknown): number {
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 63) return x;
  if (typeof x === 'string') {
    const t = x.trim().toLowerCase();
    if (/^\d+$/.test(t)) return parseCot(Number(t));
    const c = COT_BY_NAME.get(t);
    if (c !== undefined) return c;
  }
  throw new SpecError(`unknown cause of transmission ${JSON.stringify(x)} (a number 0..63 or a name like act, actcon, actterm, spont, inrogen)`);
}

/** Time tag of a command: `now`, `now-3600s` / `now+500ms` / `now-2h`, an ISO date, or a Date. */
export function parseTimeTag(x: unknown, now: () => Date = () => new Date()): Cp56Time {
  if (x instanceof Date) return cp56FromDate(x);
  if (typeof x === 'string') {
    const t = x.trim();
    const m = /^now(?:\s*([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?)?$/i.exec(t);
    if (m) {
      const unit = (m[3] ?? 's').toLowerCase();
      const mult = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
      const off = m[1] ? (m[1] === '-' ? -1 : 1) * Number(m[2]) * mult : 0;
      return cp56FromDate(new Date(now().getTime() + off));
    }
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return cp56FromDate(d);
  }
  throw new SpecError(`time tag must be 'now', 'now-30s', 'now+2m', 'now-1h' or an ISO date, not ${JSON.stringify(x)}`);
}

/** A command (or any control-direction ASDU with one object) as plain values. */
export interface CommandSpec {
  /** Type: a name or number (45..51, 58..64, 100..107, ...). */
  type: number | string;
  ca: number;
  ioa?: number;
  /** Single: true/false/on/off; double: on/off/1/2; step: higher/lower; set-points: a number; bitstring: a number. */
  value?: unknown;
  /** S/E bit: select (true) or execute. */
  select?: boolean;
  /** Qualifier of command (single, double, step). */
  qu?: number;
  /** Qualifier of set-point. */
  ql?: number;
  /** Qualifier of interrogation (C_IC_NA_1, default 20) or counter interrogation request (C_CI_NA_1 rqt, default 5). */
  qualifier?: number;
  /** Time tag for 58..64, 103, 107: see {@link parseTimeTag}. Default `now`. */
  time?: unknown;
  /** Cause (default act). */
  cot?: number | string;
  negative?: boolean;
  test?: boolean;
  originator?: number;
  /** File services (120..127): name of file (NOF, default 1; 0 for a directory call). */
  file?: number;
  /** File services: name of section (NOS, default 0). */
  section?: number;
  /** F_SC_NA_1: SCQ action, a number or `directory`, `select`, `call`, `deactivate`, `delete`, `select-section`, `call-section`, `deactivate-section`. */
  action?: number | string;
  /** F_FR_NA_1, F_SR_NA_1: length (LOF). */
  length?: number;
  /** F_LS_NA_1: LSQ (default 1). */
  lsq?: number;
  /** F_AF_NA_1: AFQ (default 1). */
  ack?: number;
  /** F_SC_NA_1, F_AF_NA_1: error cause (high nibble). */
  error?: number;
  /** F_LS_NA_1: checksum. */
  checksum?: number;
  /** F_SG_NA_1: the octets, as hex text (`'01 02 ff'`) or a list of numbers. */
  segment?: unknown;
}

const SCQ_NAMES: Record<string, number> = { directory: 0, select: 1, call: 2, deactivate: 3, delete: 4, 'select-section': 5, 'call-section': 6, 'deactivate-section': 7 };

/** The information object of a file service (types 120..127) from a spec. */
function fileObject(typeId: number, spec: CommandSpec, obj: InformationObject, now?: () => Date): void {
  const name = typeName(typeId);
  let action = 0;
  if (spec.action !== undefined) {
    action = typeof spec.action === 'string' && SCQ_NAMES[spec.action] !== undefined ? SCQ_NAMES[spec.action] : num(spec.action, `${name} action`);
  }
  obj.file = spec.file ?? (typeId === TypeId.F_SC_NA_1 && action === 0 ? 0 : 1);
  if (typeId !== TypeId.F_FR_NA_1 && typeId !== TypeId.F_DR_TA_1 && typeId !== TypeId.F_SC_NB_1) obj.section = spec.section ?? 0;
  switch (typeId) {
    case TypeId.F_FR_NA_1:
      obj.length = spec.length ?? 0;
      obj.frq = 0;
      obj.negative = spec.negative ?? false;
      break;
    case TypeId.F_SR_NA_1:
      obj.length = spec.length ?? 0;
      obj.srq = 0;
      obj.notReady = false;
      break;
    case TypeId.F_SC_NA_1:
      obj.action = action;
      obj.error = spec.error ?? 0;
      break;
    case TypeId.F_LS_NA_1:
      obj.lsq = spec.lsq ?? 1;
      obj.checksum = spec.checksum ?? 0;
      break;
    case TypeId.F_AF_NA_1:
      obj.ack = spec.ack ?? 1;
      obj.error = spec.error ?? 0;
      break;
    case TypeId.F_SG_NA_1: {
      const v = spec.segment ?? [];
      let octets: number[];
      if (typeof v === 'string') {
        const h = v.replace(/0x/gi, '').replace(/[\s,_]/g, '');
        if (!/^([0-9a-f]{2})*$/i.test(h)) throw new SpecError(`${name} segment must be hex octets, not ${JSON.stringify(v)}`);
        octets = (h.match(/../g) ?? []).map((x) => Number.parseInt(x, 16));
      } else if (Array.isArray(v)) octets = v.map((x) => num(x, `${name} segment octet`) & 0xff);
      else throw new SpecError(`${name} segment must be hex text or a list of octets`);
      obj.segment = Uint8Array.from(octets);
      break;
    }
    case TypeId.F_SC_NB_1:
      obj.start = parseTimeTag(spec.time ?? 'now-1h', now);
      obj.stop = parseTimeTag('now', now);
      break;
    default:
  }
}

function onOff(v: unknown, what: string): boolean {
  if (v === true || v === 1 || v === 'on' || v === 'ON' || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === 'off' || v === 'OFF' || v === '0' || v === 'false') return false;
  throw new SpecError(`${what} value must be on/off (true/false), not ${JSON.stringify(v)}`);
}
function num(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new SpecError(`${what} must be a number, not ${JSON.stringify(v)}`);
  return n;
}

/** Build the ASDU of a {@link CommandSpec}. */
export function buildAsdu(spec: CommandSpec, now?: () => Date): Asdu {
  const typeId = parseTypeId(spec.type);
  const info = typeInfo(typeId);
  const base = {
    typeId,
    sq: false,
    cot: spec.cot === undefined ? COT.ACTIVATION : parseCot(spec.cot),
    negative: spec.negative ?? false,
    test: spec.test ?? false,
    originator: spec.originator ?? 0,
    ca: spec.ca,
  };
  if (!info || info.raw) return { ...base, objects: [], raw: new Uint8Array([0, 0, 0, 0]), rawCount: 1 };
  const obj: InformationObject = { ioa: spec.ioa ?? 0 };
  if (info.category === 'file') {
    fileObject(typeId, spec, obj, now);
    const directory = typeId === TypeId.F_SC_NA_1 && obj.action === 0;
    return { ...base, cot: spec.cot === undefined ? (directory ? COT.REQUEST : 13) : base.cot, negative: typeId === TypeId.F_FR_NA_1 ? false : base.negative, objects: [obj] };
  }
  const name = typeName(typeId);
  // process commands by kind (timed or not), the system commands by type
  switch (commandKindOf(typeId) ?? typeId) {
    case 'single':
      obj.value = onOff(spec.value ?? true, name);
      obj.select = spec.select ?? false;
      obj.qu = spec.qu ?? 0;
      break;
    case 'double':
    case 'regulating': {
      const v = spec.value ?? 'on';
      const t = typeof v === 'string' ? v.toLowerCase() : v;
      obj.value = t === 'on' || t === 'higher' || t === true ? 2 : t === 'off' || t === 'lower' || t === false ? 1 : num(v, `${name} value`);
      obj.select = spec.select ?? false;
      obj.qu = spec.qu ?? 0;
      break;
    }
    case 'setpoint-normalized':
    case 'setpoint-scaled':
    case 'setpoint-float':
      obj.value = num(spec.value ?? 0, `${name} value`);
      obj.select = spec.select ?? false;
      obj.ql = spec.ql ?? 0;
      break;
    case 'bitstring':
      obj.value = num(spec.value ?? 0, `${name} value`) >>> 0;
      break;
    case TypeId.C_IC_NA_1:
      obj.qoi = spec.qualifier ?? 20;
      break;
    case TypeId.C_CI_NA_1:
      obj.rqt = spec.qualifier ?? 5;
      obj.frz = 0;
      break;
    case TypeId.C_RP_NA_1:
      obj.qrp = spec.qualifier ?? 1;
      break;
    case TypeId.C_TS_TA_1:
      obj.counter = spec.qualifier ?? 0;
      break;
    default:
      break;
  }
  if (info.timeTag === 'CP56Time2a') obj.time = parseTimeTag(spec.time ?? 'now', now);
  return { ...base, objects: [obj] };
}

/** Expected value of an object: exact, one of several, or a range. */
export type ValuePattern = number | boolean | string | { min?: number; max?: number } | Array<number | boolean | string>;

/** What an expected ASDU must look like; absent fields match anything. */
export interface AsduPattern {
  /** Type identification (name or number). */
  type?: number | string;
  /** Cause (name or number). */
  cot?: number | string;
  /** P/N: `positive` (P/N=0) or `negative` (P/N=1). */
  pn?: 'positive' | 'negative';
  ca?: number;
  /** Some object has this IOA (and, with `value`, that object has the value). */
  ioa?: number;
  value?: ValuePattern;
  /** T bit. */
  test?: boolean;
}

function valueOf(v: unknown): number | boolean | string | undefined {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return undefined;
}

/** Whether one object value matches a value pattern (`on`/`off` match booleans and double points 2/1). */
export function matchValue(actual: unknown, p: ValuePattern): boolean {
  const a = valueOf(actual);
  if (a === undefined) return false;
  if (Array.isArray(p)) return p.some((x) => matchValue(actual, x));
  if (typeof p === 'object') {
    if (typeof a !== 'number') return false;
    return (p.min === undefined || a >= p.min) && (p.max === undefined || a <= p.max);
  }
  if (typeof p === 'string') {
    const t = p.toLowerCase();
    if (t === 'on') return a === true || a === 2;
    if (t === 'off') return a === false || a === 1;
    if (/^-?\d+(\.\d+)?$/.test(t)) return a === Number(t);
    return String(a).toLowerCase() === t;
  }
  if (typeof p === 'boolean') return a === p || (typeof a === 'number' && a === (p ? 1 : 0));
  if (typeof a === 'boolean') return (a ? 1 : 0) === p;
  return a === p || (typeof a === 'number' && Math.abs(a - p) < 1e-6 * Math.max(1, Math.abs(p)));
}

/** Whether `asdu` matches `p`. Type and cause names are resolved with {@link parseTypeId}/{@link parseCot}. */
export function matchAsdu(asdu: Asdu, p: AsduPattern): boolean {
  if (p.type !== undefined && asdu.typeId !== parseTypeId(p.type)) return false;
  if (p.cot !== undefined && asdu.cot !== parseCot(p.cot)) return false;
  if (p.pn !== undefined && asdu.negative !== (p.pn === 'negative')) return false;
  if (p.ca !== undefined && asdu.ca !== p.ca) return false;
  if (p.test !== undefined && asdu.test !== p.test) return false;
  if (p.ioa !== undefined || p.value !== undefined) {
    return asdu.objects.some((o) => (p.ioa === undefined || o.ioa === p.ioa) && (p.value === undefined || matchValue(o.value, p.value)));
  }
  return true;
}

/** Text of a pattern: `C_SC_NA_1 actcon positive CA 1 IOA 5000 value on`. */
export function describePattern(p: AsduPattern): string {
  const parts: string[] = [];
  parts.push(p.type === undefined ? 'any type' : typeName(parseTypeId(p.type)));
  if (p.cot !== undefined) parts.push(cotShortName(parseCot(p.cot)));
  if (p.pn) parts.push(p.pn);
  if (p.ca !== undefined) parts.push(`CA ${p.ca}`);
  if (p.ioa !== undefined) parts.push(`IOA ${p.ioa}`);
  if (p.value !== undefined) parts.push(`value ${JSON.stringify(p.value)}`);
  if (p.test !== undefined) parts.push(`T=${p.test ? 1 : 0}`);
  return parts.join(' ');
}

function objText(o: InformationObject): string {
  const parts = [`IOA ${o.ioa}`];
  for (const [k, v] of Object.entries(o)) {
    if (k === 'ioa' || k === 'quality') continue;
    if (k === 'time' && v && typeof v === 'object') parts.push(`time ${formatCp56(v as Cp56Time)}`);
    else if (typeof v !== 'object') parts.push(`${k}=${String(v)}`);
  }
  return parts.join(' ');
}

/** One line: `C_SC_NA_1 actcon P/N=0 CA 1 IOA 5000 value=true select=false qu=0`. */
export function describeAsdu(a: Asdu): string {
  const head = `${typeName(a.typeId)} ${cotShortName(a.cot)}${a.negative ? ' NEGATIVE' : ''}${a.test ? ' TEST' : ''} CA ${a.ca}`;
  if (a.objects.length === 0) return head;
  const first = objText(a.objects[0]);
  return a.objects.length === 1 ? `${head} ${first}` : `${head} ${first} (+${a.objects.length - 1} objects)`;
}

/** Whether `reply` is the mirror of `sent`: same type, CA and (when `sent` has objects) first IOA. */
export function isMirrorOf(reply: Asdu, sent: Asdu): boolean {
  if (reply.typeId !== sent.typeId || reply.ca !== sent.ca) return false;
  if (sent.objects.length === 0 || reply.objects.length === 0) return true;
  return reply.objects[0].ioa === sent.objects[0].ioa;
}
