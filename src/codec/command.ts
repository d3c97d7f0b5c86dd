/**
 * One typed process command for every layer: the master sends it, the station's command handler
 * receives it, the CLI parses into it, the proxy and the monitor read it. The type identification
 * is derived from the kind and whether a time tag is set (a set `time` selects the CP56Time2a
 * variant, C_SC_NA_1 → C_SC_TA_1), never chosen by hand.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { commandTypeId, commandToObject } from 'iec104';
 * const cmd = { kind: 'double', value: 2, select: true } as const; // ON, select
 * assert.equal(commandTypeId(cmd), 46); // C_DC_NA_1
 * assert.deepEqual(commandToObject(cmd, 5001), { ioa: 5001, value: 2, select: true, qu: 0 });
 * ```
 */
import type { InformationObject } from './asdu.js';
import type { Cp56Time } from './time.js';
import { familyOf, timedVariantOf, typeInfo, untimedVariantOf } from './type-table.js';

/** Kinds of process command (one per command family of the type table). */
export type CommandKind = 'single' | 'double' | 'regulating' | 'setpoint-normalized' | 'setpoint-scaled' | 'setpoint-float' | 'bitstring';

/** Fields every command may carry. */
export interface CommandCommon {
  /** S/E: true sends a select (select-before-operate), false or absent an execute. Bitstring commands have no S/E. */
  select?: boolean;
  /** A time tag: when set, the command goes out as the CP56Time2a variant (58–64). */
  time?: Cp56Time;
}
/** C_SC_NA_1 / C_SC_TA_1: `value` true is ON. */
export interface SingleCommandSpec extends CommandCommon { kind: 'single'; value: boolean; qu?: number }
/** C_DC_NA_1 / C_DC_TA_1: `value` 1 is OFF, 2 is ON (0 and 3 are not permitted). */
export interface DoubleCommandSpec extends CommandCommon { kind: 'double'; value: number; qu?: number }
/** C_RC_NA_1 / C_RC_TA_1: `value` 1 is next step LOWER, 2 next step HIGHER. */
export interface RegulatingStepCommandSpec extends CommandCommon { kind: 'regulating'; value: number; qu?: number }
/** C_SE_NA_1 / C_SE_TA_1: normalized value −1 … +1−2⁻¹⁵. */
export interface SetpointNormalizedCommandSpec extends CommandCommon { kind: 'setpoint-normalized'; value: number; ql?: number }
/** C_SE_NB_1 / C_SE_TB_1: scaled value −32768 … 32767. */
export interface SetpointScaledCommandSpec extends CommandCommon { kind: 'setpoint-scaled'; value: number; ql?: number }
/** C_SE_NC_1 / C_SE_TC_1: IEEE 754 short float. */
export interface SetpointFloatCommandSpec extends CommandCommon { kind: 'setpoint-float'; value: number; ql?: number }
/** C_BO_NA_1 / C_BO_TA_1: 32-bit string, no select. */
export interface BitstringCommandSpec extends CommandCommon { kind: 'bitstring'; value: number }

/** A process command, typed by kind. */
export type Command =
  | SingleCommandSpec | DoubleCommandSpec | RegulatingStepCommandSpec
  | SetpointNormalizedCommandSpec | SetpointScaledCommandSpec | SetpointFloatCommandSpec | BitstringCommandSpec;

/** Double command states by name. */
export const DoubleCommandState = Object.freeze({ OFF: 1, ON: 2 } as const);
/** Regulating step states by name. */
export const RegulatingStepState = Object.freeze({ LOWER: 1, HIGHER: 2 } as const);

// the untimed type of each kind, and back: the only place kinds meet type identifications
const KIND_TYPE: Record<CommandKind, number> = {
  single: 45, double: 46, regulating: 47, 'setpoint-normalized': 48, 'setpoint-scaled': 49, 'setpoint-float': 50, bitstring: 51,
};
const KIND_BY_FAMILY: Record<string, CommandKind> = {
  single: 'single', double: 'double', step: 'regulating', normalized: 'setpoint-normalized', scaled: 'setpoint-scaled', float: 'setpoint-float', bitstring: 'bitstring',
};

/** Every command kind. */
export const COMMAND_KINDS: readonly CommandKind[] = Object.freeze(Object.keys(KIND_TYPE) as CommandKind[]);

/** The command kind of a process command type (45–51, 58–64), or undefined for any other type. */
export function commandKindOf(typeId: number): CommandKind | undefined {
  const t = typeInfo(typeId);
  if (!t?.processCommand) return undefined;
  return KIND_BY_FAMILY[t.family];
}

/** The type identification a kind is sent with: the untimed type, or its CP56Time2a variant when `timed`. */
export function commandTypeFor(kind: CommandKind, timed: boolean): number {
  const base = KIND_TYPE[kind];
  return timed ? (timedVariantOf(base) as number) : base;
}

/** The type identification a command goes out with (the CP56Time2a variant when its time is set). */
export function commandTypeId(cmd: Command): number {
  return commandTypeFor(cmd.kind, cmd.time !== undefined);
}

/** Whether `typeId` is the time-tagged variant of a process command. */
export function isTimedCommandType(typeId: number): boolean {
  return commandKindOf(typeId) !== undefined && untimedVariantOf(typeId) !== typeId;
}

/**
 * The information object (element values keyed as the codec's element codecs expect) that carries
 * `cmd` at `ioa`. QU and QL default to 0; a bitstring command carries no S/E.
 */
export function commandToObject(cmd: Command, ioa: number): InformationObject {
  const o: InformationObject = { ioa, value: cmd.value };
  switch (cmd.kind) {
    case 'single':
    case 'double':
    case 'regulating':
      o.select = cmd.select === true;
      o.qu = cmd.qu ?? 0;
      break;
    case 'setpoint-normalized':
    case 'setpoint-scaled':
    case 'setpoint-float':
      o.ql = cmd.ql ?? 0;
      o.select = cmd.select === true;
      break;
    case 'bitstring':
      break;
  }
  if (cmd.time !== undefined) o.time = cmd.time;
  return o;
}

/**
 * The command carried by a decoded object of a process command type, or undefined when `typeId`
 * is not one. Values are taken as decoded (a double command state 0 or 3 stays as it came: the
 * station refuses it).
 */
export function commandFromObject(typeId: number, obj: InformationObject): Command | undefined {
  const kind = commandKindOf(typeId);
  if (kind === undefined) return undefined;
  const time = obj.time as Cp56Time | undefined;
  let cmd: Command;
  switch (kind) {
    case 'single': cmd = { kind, value: obj.value === true, select: obj.select === true, qu: Number(obj.qu ?? 0) }; break;
    case 'double':
    case 'regulating': cmd = { kind, value: Number(obj.value), select: obj.select === true, qu: Number(obj.qu ?? 0) }; break;
    case 'setpoint-normalized':
    case 'setpoint-scaled':
    case 'setpoint-float': cmd = { kind, value: Number(obj.value), select: obj.select === true, ql: Number(obj.ql ?? 0) }; break;
    case 'bitstring': cmd = { kind, value: Number(obj.value) }; break;
  }
  if (time !== undefined) cmd.time = time;
  return cmd;
}

/** The family name the type table gives a kind's types (`regulating` → `step`). */
export function commandFamily(kind: CommandKind): string {
  return familyOf(KIND_TYPE[kind]) as string;
}
