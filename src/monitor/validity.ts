/**
 * Validity checks of single APDUs: every codec error and warning becomes an alert, plus the
 * checks that need the direction (causes and types that are wrong for who sent them) and a few
 * qualifier checks the codec does not make. Together they cover the checks of Snort 3's iec104
 * inspector (GID 151: length vs type, start byte, reserved type ids, APCI reserved bits and U
 * codes, element count and SQ misuse, reserved qualifiers and causes, invalid common address,
 * reserved bits of SIQ/DIQ/QDS/QDP/SEP/SPE/OCI/SCO, invalid DCO/RCO, NaN/infinity floats,
 * CP56Time2a field ranges and reserved bits, test pattern, segment length, file qualifiers).
 */
import { type TypeInfo, TypeId, typeInfo, typeName } from '../codec/type-table.js';
import type { Asdu } from '../codec/asdu.js';
import type { CodecWarning } from '../codec/errors.js';
import { type Alert, type Observation, type Severity, makeAlert } from './types.js';


/** Rule ids and severities for decode errors, by codec error code. */
const ERROR_RULES: Record<string, [string, Severity, string]> = {
  E_TRUNCATED: ['valid.truncated', 'medium', 'APDU ends before a field that must be there'],
  E_START_BYTE: ['valid.start-byte', 'medium', 'start byte is not 0x68'],
  E_APDU_LENGTH: ['valid.apdu-length', 'medium', 'APDU length impossible or not matching the frame'],
  E_CONTROL_FIELD: ['valid.control-field', 'medium', 'reserved control-field bits set or invalid U function'],
  E_ASDU_LENGTH: ['valid.asdu-length', 'medium', 'length does not match what the type identification needs'],
  E_VSQ_COUNT: ['valid.vsq-count', 'medium', 'number of objects impossible for the type'],
  E_IOA_OVERFLOW: ['valid.ioa-overflow', 'medium', 'SQ=1 sequence runs past the largest IOA'],
  E_BUFFER_LIMIT: ['valid.buffer-limit', 'high', 'APDU stream exceeded the buffer limit'],
};

/** Rule ids and severities for codec warnings, by warning code. */
const WARNING_RULES: Record<string, [string, Severity]> = {
  W_COT_NOT_ALLOWED: ['valid.cot-not-allowed', 'medium'],
  W_COT_UNKNOWN: ['valid.cot-reserved', 'medium'],
  W_SQ_NOT_ALLOWED: ['valid.sq-not-allowed', 'medium'],
  W_EMPTY_ASDU: ['valid.empty-asdu', 'medium'],
  W_RESERVED_BITS: ['valid.reserved-bits', 'low'],
  W_RESERVED_VALUE: ['valid.reserved-value', 'low'],
  W_TIME_FIELD: ['valid.time-field', 'low'],
  W_FLOAT_NOT_FINITE: ['valid.float-not-finite', 'medium'],
  W_TYPE_RESERVED: ['valid.type-reserved', 'medium'],
  W_BROADCAST: ['valid.broadcast', 'medium'],
  W_IOA_ZERO: ['valid.ioa-zero', 'low'],
};

/** Every rule id this module can emit (for documentation and tests). */
export const VALIDITY_RULES: readonly string[] = [
  ...new Set([
    ...Object.values(ERROR_RULES).map((r) => r[0]),
    'valid.malformed',
    ...Object.values(WARNING_RULES).map((r) => r[0]),
    'valid.ca-zero',
    'valid.count-not-allowed',
    'valid.sq-single',
    'valid.cot-direction',
    'valid.type-direction',
    'valid.coi-reserved',
    'valid.qpm-unused',
    'valid.file-qualifier',
    'valid.segment-length',
    'valid.iec101-only',
  ]),
];

function warningAlert(o: Observation, w: CodecWarning, a: Asdu): Alert {
  const [base, sev] = WARNING_RULES[w.code] ?? ['valid.malformed', 'low'];
  const rule = w.code === 'W_RESERVED_VALUE' && w.field === 'common address' ? 'valid.ca-zero' : base;
  return makeAlert(o, rule, sev, `${typeName(a.typeId)}: ${w.message}`, { code: w.code, field: w.field, offset: w.offset, typeId: a.typeId, cot: a.cot, ca: a.ca });
}

/**
 * Causes a master may send with a control-direction type (`info`): a read is a request (5), the
 * others are activated or deactivated (6, 8). More tolerant than the table's control causes on
 * purpose: the monitor accepts a deactivation of any command (clock sync included) from the master.
 */
function masterCauseOk(info: TypeInfo, cot: number): boolean {
  if (info.family === 'read') return cot === 5;
  if (info.category === 'file') return cot === 13 || cot === 5;
  return cot === 6 || cot === 8;
}

/** Causes a station may send with a control-direction type (`info`). */
function stationCauseOk(info: TypeInfo, cot: number): boolean {
  if (cot === 7 || cot === 9 || cot === 10 || (cot >= 44 && cot <= 47)) return true;
  if (cot === 3 && (info.family === 'clock-sync' || info.family === 'delay-acquisition')) return true; // spontaneous clock / delay information
  if (cot >= 20 && cot <= 36 && info.qualifier === 'QPM') return true; // parameters returned by interrogation
  return info.category === 'file' && cot === 13;
}

/**
 * Validity alerts for one APDU. `o.dir` (when known) enables the direction checks.
 */
export function validityAlerts(o: Observation): Alert[] {
  const out: Alert[] = [];
  validityInto(o, out);
  return out;
}

/** @internal {@link validityAlerts} pushing the alerts to `out`. */
export function validityInto(o: Observation, out: Alert[]): void {
  if (o.error) {
    const r = ERROR_RULES[o.error.code];
    const [rule, sev, what] = r ?? ['valid.malformed', 'medium', 'malformed APDU'];
    out.push(makeAlert(o, rule, sev, `${what}: ${o.error.message}`, { code: o.error.code, field: o.error.field, offset: o.error.offset }));
    return;
  }
  const a = o.apdu?.asdu;
  if (!a) return;
  // W_IEC101_ONLY_TYPE is the codec's side of valid.iec101-only, raised below from the type table
  if (a.warnings !== undefined) for (const w of a.warnings) if (w.code !== 'W_IEC101_ONLY_TYPE') out.push(warningAlert(o, w, a));
  const info = typeInfo(a.typeId);
  if (!info || info.raw) return;
  const n = a.objects.length;
  const file = info.category === 'file';
  const perObject = info.family === 'end-of-initialization' || info.qualifier === 'QPM' || file;
  // the common case (monitor data from the station, commands from the master) raises nothing
  if (!(n > 1 && info.singleObject) && !(a.sq && n === 1) && !info.iec101Only && !perObject) {
    if (!o.dir) return;
    if (info.direction === 'monitor' ? o.dir !== 'master→station' : info.direction !== 'control') return;
    if (info.direction === 'control' && (o.dir === 'master→station' ? masterCauseOk(info, a.cot) : stationCauseOk(info, a.cot))) return;
  }
  const ev = { typeId: a.typeId, cot: a.cot, ca: a.ca };
  if (n > 1 && info.singleObject) {
    out.push(makeAlert(o, 'valid.count-not-allowed', 'medium', `${info.name} carries ${n} information objects; it is defined with one`, { ...ev, count: n }));
  }
  if (a.sq && n === 1 && info.sqAllowed && a.typeId !== TypeId.F_DR_TA_1) {
    out.push(makeAlert(o, 'valid.sq-single', 'low', `${info.name} with SQ=1 and a single object`, ev));
  }
  if (info.iec101Only) {
    out.push(makeAlert(o, 'valid.iec101-only', 'low', `${info.name} is defined for IEC 60870-5-101 only`, ev));
  }
  if (perObject) for (const obj of a.objects) {
    if (info.family === 'end-of-initialization' && typeof obj.cause === 'number' && obj.cause >= 3 && obj.cause < 32) {
      out.push(makeAlert(o, 'valid.coi-reserved', 'low', `cause of initialisation ${obj.cause} is reserved`, { ...ev, coi: obj.cause }));
    }
    if (info.qualifier === 'QPM' && (obj.lpc === true || obj.pop === true)) {
      out.push(makeAlert(o, 'valid.qpm-unused', 'low', `parameter qualifier with ${obj.lpc ? 'LPC' : 'POP'}=1 (technically valid, not used)`, { ...ev, ioa: obj.ioa, lpc: obj.lpc === true, pop: obj.pop === true }));
    }
    const fq = file ? fileQualifierProblem(a.typeId, obj, a.cot) : undefined;
    if (fq) out.push(makeAlert(o, 'valid.file-qualifier', 'low', `${info.name}: ${fq}`, { ...ev, ioa: obj.ioa }));
    if (a.typeId === TypeId.F_SG_NA_1 && obj.segment instanceof Uint8Array && obj.segment.length === 0) {
      out.push(makeAlert(o, 'valid.segment-length', 'low', 'file segment with length of segment 0', { ...ev, ioa: obj.ioa }));
    }
  }
  if (file && o.dir) fileDirectionInto(o, a, info, ev, out);
  if (o.dir) {
    if (info.direction === 'monitor' && o.dir === 'master→station') {
      out.push(makeAlert(o, 'valid.type-direction', 'high', `monitor-direction type ${info.name} sent by the master`, { ...ev, direction: o.dir }, 'T0856'));
    } else if (info.direction === 'control') {
      const ok = o.dir === 'master→station' ? masterCauseOk(info, a.cot) : stationCauseOk(info, a.cot);
      if (!ok) {
        const who = o.dir === 'master→station' ? 'master' : 'station';
        const sev: Severity = o.dir === 'station→master' && (a.cot === 6 || a.cot === 8) ? 'high' : 'medium';
        out.push(makeAlert(o, 'valid.cot-direction', sev, `${info.name} with cause ${a.cot} is not valid from the ${who}`, { ...ev, direction: o.dir }, sev === 'high' ? 'T0855' : undefined));
      }
    }
  }
}

/**
 * Who may send which file service with which cause: the directory (F_DR_TA_1, cause 3 or 5) and
 * its call (F_SC_NA_1 cause 5) and the query log (F_SC_NB_1) have one direction; the others go both
 * ways (download and upload) with cause 13; a station may mirror a request with 44..47.
 */
function fileDirectionInto(o: Observation, a: Asdu, info: TypeInfo, ev: { typeId: number; cot: number; ca: number }, out: Alert[]): void {
  const dir = o.dir ?? 'master→station';
  const fromMaster = dir === 'master→station';
  if (!fromMaster && a.cot >= 44 && a.cot <= 47) return;
  if (fromMaster ? a.typeId === TypeId.F_DR_TA_1 : a.typeId === TypeId.F_SC_NB_1) {
    out.push(makeAlert(o, 'valid.type-direction', 'high', `${info.name} sent by the ${fromMaster ? 'master' : 'station'} (${fromMaster ? 'a directory comes from the station' : 'a query log comes from the master'})`, { ...ev, direction: dir }, 'T0856'));
    return;
  }
  const ok = a.typeId === TypeId.F_DR_TA_1 ? a.cot === 3 || a.cot === 5 : a.typeId === TypeId.F_SC_NA_1 && a.cot === 5 ? fromMaster : a.cot === 13;
  if (!ok) out.push(makeAlert(o, 'valid.cot-direction', 'medium', `${info.name} with cause ${a.cot} is not valid from the ${fromMaster ? 'master' : 'station'}`, { ...ev, direction: dir }));
}

function fileQualifierProblem(typeId: number, obj: Record<string, unknown>, cot = 13): string | undefined {
  const num = (k: string): number => (typeof obj[k] === 'number' ? (obj[k] as number) : 0);
  if (typeId !== TypeId.F_DR_TA_1 && !(typeId === TypeId.F_SC_NA_1 && cot === 5) && obj.file === 0) return 'name of file 0 is not used';
  if ((typeId === TypeId.F_SR_NA_1 || typeId === TypeId.F_SG_NA_1) && obj.section === 0) return 'name of section 0 is not used (sections are 1..255)';
  switch (typeId) {
    case TypeId.F_FR_NA_1:
      return num('frq') > 0 && num('frq') < 64 ? `file ready qualifier ${num('frq')} is reserved` : undefined;
    case TypeId.F_SR_NA_1:
      return num('srq') > 0 && num('srq') < 64 ? `section ready qualifier ${num('srq')} is reserved` : undefined;
    case TypeId.F_SC_NA_1:
      if (num('action') > 7) return `select and call qualifier action ${num('action')} is reserved`;
      return num('error') > 5 ? `select and call qualifier error ${num('error')} is reserved` : undefined;
    case TypeId.F_LS_NA_1:
      return num('lsq') === 0 || (num('lsq') > 4 && num('lsq') < 128) ? `last section/segment qualifier ${num('lsq')} is ${num('lsq') === 0 ? 'not used' : 'reserved'}` : undefined;
    case TypeId.F_AF_NA_1:
      if (num('ack') === 0 || num('ack') > 4) return `acknowledge qualifier ${num('ack')} is ${num('ack') === 0 ? 'not used' : 'reserved'}`;
      return num('error') > 5 ? `acknowledge qualifier error ${num('error')} is reserved` : undefined;
    case TypeId.F_DR_TA_1:
      return num('status') > 0 && num('status') < 16 ? `status of file ${num('status')} is reserved` : undefined;
    default:
      return undefined;
  }
}
