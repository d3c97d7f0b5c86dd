/**
 * The one table describing every type identification: name, direction, element layout, time tag,
 * allowed causes of transmission, whether SQ=1 is allowed. The decoder, encoder, explainer,
 * validators and INTEROPERABILITY.md are all driven by it.
 */
import * as E from './elements.js';
import type { FieldCodec } from './elements.js';

/** Which way a type travels: monitor (station → master), control (master → station, mirrored back in confirmations), or both (file transfer). */
export type Direction = 'monitor' | 'control' | 'both';

/** Groups of type identifications as the standard lists them. */
export type TypeCategory = 'process-monitor' | 'protection' | 'process-control' | 'system-monitor' | 'system-control' | 'parameter' | 'file' | 'security';

/**
 * What a type carries, whatever its time tag and direction: `single` is M_SP_* and C_SC_*,
 * `step` is M_ST_* (step position) and C_RC_* (regulating step), `normalized`/`scaled`/`float` are
 * measured values, set-points and parameters of that representation, and so on.
 */
export type TypeFamily =
  | 'single' | 'double' | 'step' | 'bitstring' | 'normalized' | 'scaled' | 'float' | 'counter'
  | 'packed-single' | 'protection-event' | 'protection-start' | 'protection-output'
  | 'end-of-initialization' | 'interrogation' | 'counter-interrogation' | 'read' | 'clock-sync' | 'test'
  | 'reset-process' | 'delay-acquisition' | 'parameter-activation' | 'file' | 'security';

/** The qualifier a command carries: QU (single, double, regulating step), QL (set-points), QPM (parameters), QPA (parameter activation), or none. */
export type QualifierKind = 'QU' | 'QL' | 'QPM' | 'QPA' | 'none';

/** One row of the type table. */
export interface TypeInfo {
  readonly id: number;
  /** Standard mnemonic, e.g. `M_SP_NA_1`. */
  readonly name: string;
  readonly description: string;
  readonly category: TypeCategory;
  readonly direction: Direction;
  /** Information elements of one object (after the IOA). Empty for raw (layout-unknown) types. */
  readonly fields: readonly FieldCodec[];
  /** Time tag carried in each object. */
  readonly timeTag: 'none' | 'CP24Time2a' | 'CP56Time2a';
  /** Causes of transmission the standard allows for this type (44..47 mirrored replies always allowed). */
  readonly causes: ReadonlySet<number>;
  /** Whether SQ=1 (one IOA, a sequence of elements) is allowed. */
  readonly sqAllowed: boolean;
  /** Defined for IEC 60870-5-101 only (not used in 104 by the standard's companion profile). */
  readonly iec101Only: boolean;
  /** The layout is not decoded: objects are kept as raw octets (secure-authentication types). */
  readonly raw: boolean;
  /** Octets of one object's elements (without IOA); 0 when variable (and for C_RD_NA_1, whose objects are an IOA only). */
  readonly elementSize: number;
  /** Some element has a variable size (F_SG_NA_1): objects must be walked to find their length. */
  readonly variableSize: boolean;
  /** What the type carries (see {@link TypeFamily}). */
  readonly family: TypeFamily;
  /** The qualifier the type's objects carry. */
  readonly qualifier: QualifierKind;
  /** A process command (C_SC … C_BO, with or without time tag): what a station executes on its process. */
  readonly processCommand: boolean;
  /** The command carries a select/execute bit (S/E): it can be sent as select-before-operate. */
  readonly selectable: boolean;
  /** An activation of this type may be ended by the station with ACT_TERM (COT 10). */
  readonly terminated: boolean;
  /** An ASDU of this type carries exactly one information object. */
  readonly singleObject: boolean;
  /** The same type with a CP56Time2a time tag (itself when it has one), or undefined. */
  readonly timedVariant: number | undefined;
  /** The same type without time tag (itself when it has none), or undefined. */
  readonly untimedVariant: number | undefined;
  /** Causes allowed in control direction (sent by the controlling station): activations, deactivations, requests. */
  readonly controlCauses: ReadonlySet<number>;
  /** Causes allowed in monitor direction (sent by the controlled station), the mirrored negative causes 44..47 included. */
  readonly monitorCauses: ReadonlySet<number>;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const MIRROR = [44, 45, 46, 47];
const INRO = [20, ...range(21, 36)];
const REQCO = [37, ...range(38, 41)];
const C = {
  status: [2, 3, 5, 11, 12, ...INRO],
  // M_BO_NA_1 also allows retrem/retloc (11, 12): IEC 60870-5-101 COT table as reproduced by Snort 3's iec104 inspector
  // (iec104_parse_apdu.cc, case IEC104_ASDU_M_BO_NA_1); a bitstring is the return information of C_BO_NA_1.
  bitstring: [2, 3, 5, 11, 12, ...INRO],
  measured: [1, 2, 3, 5, ...INRO],
  statusTimed: [3, 5, 11, 12],
  measuredTimed: [3, 5],
  counter: [3, ...REQCO],
  protection: [3],
  command: [6, 7, 8, 9, 10],
  init: [4],
};

const TABLE = new Map<number, TypeInfo>();

const FAMILY_BY_FIRST_FIELD = new Map<FieldCodec, TypeFamily>([
  [E.SIQ, 'single'], [E.SCO, 'single'], [E.DIQ, 'double'], [E.DCO, 'double'], [E.VTI, 'step'], [E.RCO, 'step'],
  [E.BSI, 'bitstring'], [E.NVA, 'normalized'], [E.SVA, 'scaled'], [E.R32, 'float'], [E.BCR, 'counter'],
  [E.SCD, 'packed-single'], [E.SEP, 'protection-event'], [E.SPE, 'protection-start'], [E.OCI, 'protection-output'],
]);
const FAMILY_BY_ID: Record<number, TypeFamily> = {
  70: 'end-of-initialization', 100: 'interrogation', 101: 'counter-interrogation', 102: 'read', 103: 'clock-sync',
  104: 'test', 105: 'reset-process', 106: 'delay-acquisition', 107: 'test', 113: 'parameter-activation',
};
/** Causes a controlling station sends (requests, activations, deactivations, file transfer). */
const CONTROL_SENT = new Set([5, 6, 8, 13]);

function def(
  id: number,
  name: string,
  description: string,
  category: TypeCategory,
  fields: FieldCodec[],
  causes: number[],
  opts: { sq?: boolean; only101?: boolean; raw?: boolean; direction?: Direction } = {},
): void {
  const last = fields[fields.length - 1];
  const timeTag = fields.some((f) => f === E.CP56) ? 'CP56Time2a' : last === E.CP24 ? 'CP24Time2a' : 'none';
  const direction: Direction = opts.direction ?? (category === 'process-monitor' || category === 'protection' || category === 'system-monitor' ? 'monitor' : category === 'file' ? 'both' : 'control');
  const family: TypeFamily = category === 'file' ? 'file' : category === 'security' ? 'security' : FAMILY_BY_ID[id] ?? FAMILY_BY_FIRST_FIELD.get(fields[0]) ?? 'security';
  const qualifier: QualifierKind = fields.includes(E.SCO) || fields.includes(E.DCO) || fields.includes(E.RCO) ? 'QU'
    : fields.includes(E.QOS) ? 'QL' : fields.includes(E.QPM) ? 'QPM' : fields.includes(E.QPA) ? 'QPA' : 'none';
  const processCommand = category === 'process-control';
  const control = direction === 'control';
  const all = new Set([...causes, ...MIRROR]);
  // monitor-direction types travel from the station only; control types are sent with their
  // request causes and answered with the others; file types travel both ways with cause 13
  const controlCauses = direction === 'monitor' ? new Set<number>() : new Set(causes.filter((c) => CONTROL_SENT.has(c)));
  const monitorCauses = direction === 'monitor' || direction === 'both' ? all : new Set([...causes.filter((c) => !CONTROL_SENT.has(c)), ...MIRROR]);
  TABLE.set(id, Object.freeze({
    id, name, description, category, direction, fields: Object.freeze(fields), timeTag,
    causes: all,
    sqAllowed: opts.sq ?? false,
    iec101Only: opts.only101 ?? false,
    raw: opts.raw ?? false,
    elementSize: fields.some((f) => f.size === 0) ? 0 : fields.reduce((s, f) => s + f.size, 0),
    variableSize: fields.some((f) => f.size === 0),
    family,
    qualifier,
    processCommand,
    selectable: processCommand && !fields.includes(E.BSI),
    terminated: processCommand || id === 100 || id === 101,
    singleObject: control || id === 70 || (category === 'file' && id !== 126),
    timedVariant: undefined,
    untimedVariant: undefined,
    controlCauses,
    monitorCauses,
  }));
}

const isTime = (f: FieldCodec): boolean => f === E.CP56 || f === E.CP24;
/** The time-tagged and untagged variants: same category, family and elements apart from the time tag. */
function linkVariants(): void {
  const rows = [...TABLE.values()];
  const key = (t: TypeInfo): string => `${t.category}/${t.family}/${t.fields.filter((f) => !isTime(f)).map((f) => f.ie).join(',')}`;
  for (const t of rows) {
    // only information and process commands come in time-tagged and untagged forms (and the test command)
    const paired = t.category === 'process-monitor' || t.category === 'protection' || t.category === 'process-control' || t.family === 'test';
    if (t.raw || !paired) continue;
    const same = rows.filter((o) => !o.raw && key(o) === key(t));
    let timed = same.find((o) => o.timeTag === 'CP56Time2a')?.id;
    let untimed = same.find((o) => o.timeTag === 'none')?.id;
    // the test command's time-tagged form carries a test sequence counter instead of the fixed pattern
    if (t.family === 'test') { timed = 107; untimed = 104; }
    TABLE.set(t.id, Object.freeze({ ...t, timedVariant: timed, untimedVariant: untimed }));
  }
}


// ---- process information in monitor direction
def(1, 'M_SP_NA_1', 'single-point information', 'process-monitor', [E.SIQ], C.status, { sq: true });
def(2, 'M_SP_TA_1', 'single-point information with time tag', 'process-monitor', [E.SIQ, E.CP24], C.statusTimed, { only101: true });
def(3, 'M_DP_NA_1', 'double-point information', 'process-monitor', [E.DIQ], C.status, { sq: true });
def(4, 'M_DP_TA_1', 'double-point information with time tag', 'process-monitor', [E.DIQ, E.CP24], C.statusTimed, { only101: true });
def(5, 'M_ST_NA_1', 'step position information', 'process-monitor', [E.VTI, E.QDS], C.status, { sq: true });
def(6, 'M_ST_TA_1', 'step position information with time tag', 'process-monitor', [E.VTI, E.QDS, E.CP24], C.statusTimed, { only101: true });
def(7, 'M_BO_NA_1', 'bitstring of 32 bit', 'process-monitor', [E.BSI, E.QDS], C.bitstring, { sq: true });
def(8, 'M_BO_TA_1', 'bitstring of 32 bit with time tag', 'process-monitor', [E.BSI, E.QDS, E.CP24], C.measuredTimed, { only101: true });
def(9, 'M_ME_NA_1', 'measured value, normalized value', 'process-monitor', [E.NVA, E.QDS], C.measured, { sq: true });
def(10, 'M_ME_TA_1', 'measured value, normalized value with time tag', 'process-monitor', [E.NVA, E.QDS, E.CP24], C.measuredTimed, { only101: true });
def(11, 'M_ME_NB_1', 'measured value, scaled value', 'process-monitor', [E.SVA, E.QDS], C.measured, { sq: true });
def(12, 'M_ME_TB_1', 'measured value, scaled value with time tag', 'process-monitor', [E.SVA, E.QDS, E.CP24], C.measuredTimed, { only101: true });
def(13, 'M_ME_NC_1', 'measured value, short floating point number', 'process-monitor', [E.R32, E.QDS], C.measured, { sq: true });
def(14, 'M_ME_TC_1', 'measured value, short floating point number with time tag', 'process-monitor', [E.R32, E.QDS, E.CP24], C.measuredTimed, { only101: true });
def(15, 'M_IT_NA_1', 'integrated totals', 'process-monitor', [E.BCR], C.counter, { sq: true });
def(16, 'M_IT_TA_1', 'integrated totals with time tag', 'process-monitor', [E.BCR, E.CP24], C.counter, { only101: true });
def(17, 'M_EP_TA_1', 'event of protection equipment with time tag', 'protection', [E.SEP, E.CP16_ELAPSED, E.CP24], C.protection, { only101: true });
def(18, 'M_EP_TB_1', 'packed start events of protection equipment with time tag', 'protection', [E.SPE, E.QDP, E.CP16_DURATION, E.CP24], C.protection, { only101: true });
def(19, 'M_EP_TC_1', 'packed output circuit information of protection equipment with time tag', 'protection', [E.OCI, E.QDP, E.CP16_OPERATING, E.CP24], C.protection, { only101: true });
def(20, 'M_PS_NA_1', 'packed single-point information with status change detection', 'process-monitor', [E.SCD, E.QDS], C.status, { sq: true });
def(21, 'M_ME_ND_1', 'measured value, normalized value without quality descriptor', 'process-monitor', [E.NVA], C.measured, { sq: true });
def(30, 'M_SP_TB_1', 'single-point information with time tag CP56Time2a', 'process-monitor', [E.SIQ, E.CP56], C.statusTimed);
def(31, 'M_DP_TB_1', 'double-point information with time tag CP56Time2a', 'process-monitor', [E.DIQ, E.CP56], C.statusTimed);
def(32, 'M_ST_TB_1', 'step position information with time tag CP56Time2a', 'process-monitor', [E.VTI, E.QDS, E.CP56], C.statusTimed);
def(33, 'M_BO_TB_1', 'bitstring of 32 bit with time tag CP56Time2a', 'process-monitor', [E.BSI, E.QDS, E.CP56], C.measuredTimed);
def(34, 'M_ME_TD_1', 'measured value, normalized value with time tag CP56Time2a', 'process-monitor', [E.NVA, E.QDS, E.CP56], C.measuredTimed);
def(35, 'M_ME_TE_1', 'measured value, scaled value with time tag CP56Time2a', 'process-monitor', [E.SVA, E.QDS, E.CP56], C.measuredTimed);
def(36, 'M_ME_TF_1', 'measured value, short floating point number with time tag CP56Time2a', 'process-monitor', [E.R32, E.QDS, E.CP56], C.measuredTimed);
def(37, 'M_IT_TB_1', 'integrated totals with time tag CP56Time2a', 'process-monitor', [E.BCR, E.CP56], C.counter);
def(38, 'M_EP_TD_1', 'event of protection equipment with time tag CP56Time2a', 'protection', [E.SEP, E.CP16_ELAPSED, E.CP56], C.protection);
def(39, 'M_EP_TE_1', 'packed start events of protection equipment with time tag CP56Time2a', 'protection', [E.SPE, E.QDP, E.CP16_DURATION, E.CP56], C.protection);
def(40, 'M_EP_TF_1', 'packed output circuit information of protection equipment with time tag CP56Time2a', 'protection', [E.OCI, E.QDP, E.CP16_OPERATING, E.CP56], C.protection);
// ---- process information in control direction
def(45, 'C_SC_NA_1', 'single command', 'process-control', [E.SCO], C.command);
def(46, 'C_DC_NA_1', 'double command', 'process-control', [E.DCO], C.command);
def(47, 'C_RC_NA_1', 'regulating step command', 'process-control', [E.RCO], C.command);
def(48, 'C_SE_NA_1', 'set-point command, normalized value', 'process-control', [E.NVA, E.QOS], C.command);
def(49, 'C_SE_NB_1', 'set-point command, scaled value', 'process-control', [E.SVA, E.QOS], C.command);
def(50, 'C_SE_NC_1', 'set-point command, short floating point number', 'process-control', [E.R32, E.QOS], C.command);
def(51, 'C_BO_NA_1', 'bitstring of 32 bit command', 'process-control', [E.BSI], C.command);
def(58, 'C_SC_TA_1', 'single command with time tag CP56Time2a', 'process-control', [E.SCO, E.CP56], C.command);
def(59, 'C_DC_TA_1', 'double command with time tag CP56Time2a', 'process-control', [E.DCO, E.CP56], C.command);
def(60, 'C_RC_TA_1', 'regulating step command with time tag CP56Time2a', 'process-control', [E.RCO, E.CP56], C.command);
def(61, 'C_SE_TA_1', 'set-point command, normalized value with time tag CP56Time2a', 'process-control', [E.NVA, E.QOS, E.CP56], C.command);
def(62, 'C_SE_TB_1', 'set-point command, scaled value with time tag CP56Time2a', 'process-control', [E.SVA, E.QOS, E.CP56], C.command);
def(63, 'C_SE_TC_1', 'set-point command, short floating point number with time tag CP56Time2a', 'process-control', [E.R32, E.QOS, E.CP56], C.command);
def(64, 'C_BO_TA_1', 'bitstring of 32 bit command with time tag CP56Time2a', 'process-control', [E.BSI, E.CP56], C.command);
// ---- system information
def(70, 'M_EI_NA_1', 'end of initialization', 'system-monitor', [E.COI], C.init);
def(100, 'C_IC_NA_1', 'interrogation command', 'system-control', [E.QOI], C.command);
def(101, 'C_CI_NA_1', 'counter interrogation command', 'system-control', [E.QCC], [6, 7, 10]);
def(102, 'C_RD_NA_1', 'read command', 'system-control', [], [5]);
def(103, 'C_CS_NA_1', 'clock synchronization command', 'system-control', [E.CP56], [3, 6, 7]);
def(104, 'C_TS_NA_1', 'test command', 'system-control', [E.FBP], [6, 7], { only101: true });
def(105, 'C_RP_NA_1', 'reset process command', 'system-control', [E.QRP], [6, 7]);
def(106, 'C_CD_NA_1', 'delay acquisition command', 'system-control', [E.CP16_DELAY], [3, 6, 7], { only101: true });
def(107, 'C_TS_TA_1', 'test command with time tag CP56Time2a', 'system-control', [E.TSC, E.CP56], [6, 7]);
// ---- parameters
def(110, 'P_ME_NA_1', 'parameter of measured value, normalized value', 'parameter', [E.NVA, E.QPM], [6, 7, ...INRO]);
def(111, 'P_ME_NB_1', 'parameter of measured value, scaled value', 'parameter', [E.SVA, E.QPM], [6, 7, ...INRO]);
def(112, 'P_ME_NC_1', 'parameter of measured value, short floating point number', 'parameter', [E.R32, E.QPM], [6, 7, ...INRO]);
def(113, 'P_AC_NA_1', 'parameter activation', 'parameter', [E.QPA], [6, 7, 8, 9]);
// ---- file transfer
def(120, 'F_FR_NA_1', 'file ready', 'file', [E.NOF, E.LOF, E.FRQ], [13]);
def(121, 'F_SR_NA_1', 'section ready', 'file', [E.NOF, E.NOS, E.LOF, E.SRQ], [13]);
def(122, 'F_SC_NA_1', 'call directory, select file, call file, call section', 'file', [E.NOF, E.NOS, E.SCQ], [5, 13]);
def(123, 'F_LS_NA_1', 'last section, last segment', 'file', [E.NOF, E.NOS, E.LSQ, E.CHS], [13]);
def(124, 'F_AF_NA_1', 'ack file, ack section', 'file', [E.NOF, E.NOS, E.AFQ], [13]);
def(125, 'F_SG_NA_1', 'segment', 'file', [E.NOF, E.NOS, E.SEGMENT], [13]);
def(126, 'F_DR_TA_1', 'directory', 'file', [E.NOF, E.LOF, E.SOF, E.CP56], [3, 5], { sq: true });
def(127, 'F_SC_NB_1', 'query log, request archive file', 'file', [E.NOF, E.CP56_START, E.CP56_STOP], [13]);
// ---- secure authentication (IEC 60870-5-7 / IEC 62351-5): names known, layouts kept raw
const SECURITY: Array<[number, string, string]> = [
  [41, 'S_IT_TC_1', 'integrated totals containing time-tagged security statistics'],
  [81, 'S_CH_NA_1', 'authentication challenge'],
  [82, 'S_RP_NA_1', 'authentication reply'],
  [83, 'S_AR_NA_1', 'aggressive mode authentication request'],
  [84, 'S_KR_NA_1', 'session key status request'],
  [85, 'S_KS_NA_1', 'session key status'],
  [86, 'S_KC_NA_1', 'session key change'],
  [87, 'S_ER_NA_1', 'authentication error'],
  [90, 'S_US_NA_1', 'user status change'],
  [91, 'S_UQ_NA_1', 'update key change request'],
  [92, 'S_UR_NA_1', 'update key change reply'],
  [93, 'S_UK_NA_1', 'update key change symmetric'],
  [94, 'S_UA_NA_1', 'update key change asymmetric'],
  [95, 'S_UC_NA_1', 'update key change confirmation'],
];
for (const [id, name, d] of SECURITY) def(id, name, d, 'security', [], [3, 5, 6, 7, 14, 15, 16, 37, 38, 39, 40, 41], { raw: true, direction: 'both' });

linkVariants();

// the rows by type identification 0..255: an array read instead of a Map lookup on hot paths (one per APDU)
const BY_ID: Array<TypeInfo | undefined> = Array.from({ length: 256 }, (_, t) => TABLE.get(t));

/** The row for a type identification, or undefined for reserved and private types. */
export function typeInfo(typeId: number): TypeInfo | undefined {
  return typeId >>> 0 === typeId && typeId < 256 ? BY_ID[typeId] : undefined;
}

/** Every defined type, in ascending order. */
export function allTypes(): TypeInfo[] {
  return [...TABLE.values()].sort((a, b) => a.id - b.id);
}

/** Mnemonic of a type, or `reserved(N)` / `private(N)`. */
export function typeName(typeId: number): string {
  const t = TABLE.get(typeId);
  if (t) return t.name;
  return typeId >= 128 || (typeId >= 52 && typeId <= 57) || (typeId >= 65 && typeId <= 69) ? `private(${typeId})` : `reserved(${typeId})`;
}

/** Type identifications by mnemonic, e.g. `TypeId.C_SC_NA_1 === 45`. */
export const TypeId = Object.freeze(Object.fromEntries([...TABLE.values()].map((t) => [t.name, t.id]))) as Readonly<Record<string, number>> & {
  readonly M_SP_NA_1: 1; readonly M_SP_TA_1: 2; readonly M_DP_NA_1: 3; readonly M_DP_TA_1: 4; readonly M_ST_NA_1: 5; readonly M_ST_TA_1: 6;
  readonly M_BO_NA_1: 7; readonly M_BO_TA_1: 8; readonly M_ME_NA_1: 9; readonly M_ME_TA_1: 10; readonly M_ME_NB_1: 11; readonly M_ME_TB_1: 12;
  readonly M_ME_NC_1: 13; readonly M_ME_TC_1: 14; readonly M_IT_NA_1: 15; readonly M_IT_TA_1: 16; readonly M_EP_TA_1: 17; readonly M_EP_TB_1: 18;
  readonly M_EP_TC_1: 19; readonly M_PS_NA_1: 20; readonly M_ME_ND_1: 21; readonly M_SP_TB_1: 30; readonly M_DP_TB_1: 31; readonly M_ST_TB_1: 32;
  readonly M_BO_TB_1: 33; readonly M_ME_TD_1: 34; readonly M_ME_TE_1: 35; readonly M_ME_TF_1: 36; readonly M_IT_TB_1: 37; readonly M_EP_TD_1: 38;
  readonly M_EP_TE_1: 39; readonly M_EP_TF_1: 40; readonly C_SC_NA_1: 45; readonly C_DC_NA_1: 46; readonly C_RC_NA_1: 47; readonly C_SE_NA_1: 48;
  readonly C_SE_NB_1: 49; readonly C_SE_NC_1: 50; readonly C_BO_NA_1: 51; readonly C_SC_TA_1: 58; readonly C_DC_TA_1: 59; readonly C_RC_TA_1: 60;
  readonly C_SE_TA_1: 61; readonly C_SE_TB_1: 62; readonly C_SE_TC_1: 63; readonly C_BO_TA_1: 64; readonly M_EI_NA_1: 70; readonly C_IC_NA_1: 100;
  readonly C_CI_NA_1: 101; readonly C_RD_NA_1: 102; readonly C_CS_NA_1: 103; readonly C_TS_NA_1: 104; readonly C_RP_NA_1: 105; readonly C_CD_NA_1: 106;
  readonly C_TS_TA_1: 107; readonly P_ME_NA_1: 110; readonly P_ME_NB_1: 111; readonly P_ME_NC_1: 112; readonly P_AC_NA_1: 113; readonly F_FR_NA_1: 120;
  readonly F_SR_NA_1: 121; readonly F_SC_NA_1: 122; readonly F_LS_NA_1: 123; readonly F_AF_NA_1: 124; readonly F_SG_NA_1: 125; readonly F_DR_TA_1: 126;
  readonly F_SC_NB_1: 127;
};

// ---- named predicates: callers ask the table, nobody counts type identifications

/**
 * Type identification 0, "not used" by the standard. Some stations end an interrogation with an
 * ACT_TERM of type 0 and no object: masters and tools tolerate it and say so.
 */
export const TYPE_ID_NOT_USED = 0;

/** Whether `n` can be written as a type identification: an integer 1..255 (one octet; 0 is not used), defined or not. */
export function isTypeIdNumber(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 255;
}

// one flag byte per type identification, so the predicates cost an array read on hot paths
const F_PROCESS = 1, F_CONTROL = 2, F_MONITOR = 4, F_SYSTEM = 8, F_PARAMETER = 16, F_FILE = 32, F_SINGLE = 64, F_TERM = 128, F_QPM = 256;
const FLAGS = new Uint16Array(256);
for (const t of TABLE.values()) {
  FLAGS[t.id] = (t.processCommand ? F_PROCESS : 0) | (t.direction === 'control' ? F_CONTROL : 0) | (t.direction === 'monitor' ? F_MONITOR : 0)
    | (t.category === 'system-control' ? F_SYSTEM : 0) | (t.category === 'parameter' ? F_PARAMETER : 0) | (t.category === 'file' ? F_FILE : 0)
    | (t.singleObject ? F_SINGLE : 0) | (t.terminated ? F_TERM : 0) | (t.qualifier === 'QPM' ? F_QPM : 0);
}
const flag = (typeId: number, f: number): boolean => (FLAGS[typeId & 0xff] & f) !== 0 && typeId >>> 0 === typeId && typeId < 256;

/** Whether `typeId` is a process command (C_SC_NA_1 … C_BO_TA_1: 45–51, 58–64). */
export function isProcessCommand(typeId: number): boolean {
  return flag(typeId, F_PROCESS);
}

/**
 * Whether `typeId` is sent by a controlling station to make the controlled station act: a process
 * command, a system command (interrogation, counter interrogation, read, clock synchronisation,
 * test, reset process, delay acquisition) or a parameter (P_ME_*, P_AC_NA_1).
 */
export function isControlType(typeId: number): boolean {
  return flag(typeId, F_CONTROL);
}

/** Whether `typeId` travels in monitor direction only (process, protection and system information from the station). */
export function isMonitorType(typeId: number): boolean {
  return flag(typeId, F_MONITOR);
}

/** Whether `typeId` is a system command (interrogation, counter interrogation, read, clock sync, test, reset, delay). */
export function isSystemCommand(typeId: number): boolean {
  return flag(typeId, F_SYSTEM);
}

/** Whether `typeId` is a parameter type (P_ME_NA_1, P_ME_NB_1, P_ME_NC_1, P_AC_NA_1). */
export function isParameterType(typeId: number): boolean {
  return flag(typeId, F_PARAMETER);
}

/** Whether `typeId` belongs to file transfer (F_*: 120–127). */
export function isFileType(typeId: number): boolean {
  return flag(typeId, F_FILE);
}

/** Whether an ASDU of `typeId` carries exactly one information object: commands, system commands, parameters, end of initialisation, file services but the directory (F_DR_TA_1). */
export function isSingleObjectType(typeId: number): boolean {
  return flag(typeId, F_SINGLE);
}

/** Whether an activation of `typeId` may be ended by the station with ACT_TERM (COT 10): process commands, interrogation, counter interrogation. */
export function isAnsweredByActTerm(typeId: number): boolean {
  return flag(typeId, F_TERM);
}

/** Whether `typeId` is a parameter of measured value (P_ME_NA_1, P_ME_NB_1, P_ME_NC_1: the types carrying QPM). */
export function isMeasuredValueParameter(typeId: number): boolean {
  return flag(typeId, F_QPM);
}

/** Which way `typeId` travels (see {@link Direction}), or undefined for reserved and private types. */
export function directionOf(typeId: number): Direction | undefined {
  return TABLE.get(typeId)?.direction;
}

/** The qualifier `typeId`'s objects carry (see {@link QualifierKind}), or undefined for reserved and private types. */
export function qualifierOf(typeId: number): QualifierKind | undefined {
  return TABLE.get(typeId)?.qualifier;
}

/** The CP56Time2a variant of a type (`C_SC_NA_1` → `C_SC_TA_1`, `M_SP_TA_1` → `M_SP_TB_1`), itself when it has one, or undefined. */
export function timedVariantOf(typeId: number): number | undefined {
  return TABLE.get(typeId)?.timedVariant;
}

/** The variant without time tag (`C_SC_TA_1` → `C_SC_NA_1`), itself when it has none, or undefined. */
export function untimedVariantOf(typeId: number): number | undefined {
  return TABLE.get(typeId)?.untimedVariant;
}

/** The family of a type (see {@link TypeFamily}), or undefined for reserved and private types. */
export function familyOf(typeId: number): TypeFamily | undefined {
  return TABLE.get(typeId)?.family;
}

/** Whether `cause` may be sent with `typeId` in the given direction (the mirrored causes 44–47 only in monitor direction). */
export function causeAllowed(typeId: number, cause: number, direction: 'control' | 'monitor'): boolean {
  const t = TABLE.get(typeId);
  if (!t) return false;
  return (direction === 'control' ? t.controlCauses : t.monitorCauses).has(cause);
}
