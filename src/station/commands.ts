/**
 * Process commands (types 45..51 and their time-tagged forms 58..64) as the controlled station
 * sees them: typed values, the configuration of command objects, handler outcomes, and the
 * pieces of select-before-operate that do not depend on a connection.
 */
import type { InformationObject } from '../codec/asdu.js';
import type { Cp56Time } from '../codec/time.js';
import { cp56ToDate } from '../codec/time.js';
import { typeName, isProcessCommand, untimedVariantOf } from '../codec/type-table.js';
import {
  commandKindOf, type BitstringCommandSpec, type CommandKind, type DoubleCommandSpec, type RegulatingStepCommandSpec,
  type SetpointFloatCommandSpec, type SetpointNormalizedCommandSpec, type SetpointScaledCommandSpec, type SingleCommandSpec,
} from '../codec/command.js';
import type { StationPoint, PointQuality, StationPointValue, StepPosition } from './point-database.js';

// the one command vocabulary lives in the codec (codec/command.ts); the station adds who sent it
export type { CommandKind };
export { commandKindOf };

/** Whether `typeId` is a process command type (the type table's process commands). */
export function isCommandType(typeId: number): boolean {
  return isProcessCommand(typeId);
}
/** The untimed type of a command family (C_SC_TA_1 → C_SC_NA_1). */
export function untimedCommandType(typeId: number): number {
  return untimedVariantOf(typeId) ?? typeId;
}

/** Who sent a command. */
export interface CommandSource {
  /** Station-local connection id. */
  sessionId: number;
  /** Remote address of the connection, when known. */
  remote?: string;
  /** Originator address of the ASDU. */
  originator: number;
}

interface CommandBase {
  /** Type identification as received (45..51 or 58..64). */
  typeId: number;
  ca: number;
  ioa: number;
  /** S/E: true for a select, false for an execute. Always false for bitstring commands (no S/E bit). */
  select: boolean;
  /** Time tag of 58..64 commands. */
  time?: Cp56Time;
  source: CommandSource;
}
/** C_SC_NA_1 / C_SC_TA_1 as received (the codec's {@link SingleCommandSpec} with its address and sender). */
export interface SingleCommand extends CommandBase, Omit<SingleCommandSpec, 'select' | 'time'> { kind: 'single'; value: boolean; qu: number }
/** C_DC_NA_1 / C_DC_TA_1: value 1 OFF, 2 ON. */
export interface DoubleCommand extends CommandBase, Omit<DoubleCommandSpec, 'select' | 'time'> { kind: 'double'; value: number; qu: number }
/** C_RC_NA_1 / C_RC_TA_1: value 1 next step LOWER, 2 next step HIGHER. */
export interface RegulatingStepCommand extends CommandBase, Omit<RegulatingStepCommandSpec, 'select' | 'time'> { kind: 'regulating'; value: number; qu: number }
/** C_SE_NA_1 / C_SE_TA_1. */
export interface SetpointNormalizedCommand extends CommandBase, Omit<SetpointNormalizedCommandSpec, 'select' | 'time'> { kind: 'setpoint-normalized'; value: number; ql: number }
/** C_SE_NB_1 / C_SE_TB_1. */
export interface SetpointScaledCommand extends CommandBase, Omit<SetpointScaledCommandSpec, 'select' | 'time'> { kind: 'setpoint-scaled'; value: number; ql: number }
/** C_SE_NC_1 / C_SE_TC_1. */
export interface SetpointFloatCommand extends CommandBase, Omit<SetpointFloatCommandSpec, 'select' | 'time'> { kind: 'setpoint-float'; value: number; ql: number }
/** C_BO_NA_1 / C_BO_TA_1. */
export interface BitstringCommand extends CommandBase, Omit<BitstringCommandSpec, 'select' | 'time'> { kind: 'bitstring'; value: number }

/** A received process command, typed by kind. */
export type StationCommand =
  | SingleCommand | DoubleCommand | RegulatingStepCommand
  | SetpointNormalizedCommand | SetpointScaledCommand | SetpointFloatCommand | BitstringCommand;

/** Build a typed station command (the command, its address and its sender) from a received object. */
export function stationCommandFromObject(typeId: number, ca: number, obj: InformationObject, source: CommandSource): StationCommand {
  const kind = commandKindOf(typeId);
  const ioa = obj.ioa;
  const select = obj.select === true;
  // One object literal per kind, no `{ ...base, ... }`: spreading a freshly built object and adding
  // properties takes V8's slow clone path (about 2 µs a call, the largest single cost of a command).
  let cmd: StationCommand;
  switch (kind) {
    case 'single': cmd = { typeId, ca, ioa, select, source, kind, value: obj.value === true, qu: Number(obj.qu ?? 0) }; break;
    case 'double':
    case 'regulating': cmd = { typeId, ca, ioa, select, source, kind, value: Number(obj.value), qu: Number(obj.qu ?? 0) }; break;
    case 'setpoint-normalized':
    case 'setpoint-scaled':
    case 'setpoint-float': cmd = { typeId, ca, ioa, select, source, kind, value: Number(obj.value), ql: Number(obj.ql ?? 0) }; break;
    case 'bitstring': cmd = { typeId, ca, ioa, select: false, source, kind, value: Number(obj.value) }; break;
    default: throw new RangeError(`${typeName(typeId)} is not a process command`);
  }
  if (obj.time !== undefined) cmd.time = obj.time as Cp56Time;
  return cmd;
}

/** Whether `exec` is the execute matching the select `sel`: same type, CA, IOA, value and qualifier. */
export function sameCommand(sel: StationCommand, exec: StationCommand): boolean {
  if (sel.typeId !== exec.typeId || sel.ca !== exec.ca || sel.ioa !== exec.ioa || sel.value !== exec.value) return false;
  const q = (c: StationCommand) => ('qu' in c ? c.qu : 'ql' in c ? c.ql : 0);
  return q(sel) === q(exec);
}

/** How commands for an object may be executed. */
export type CommandMode = 'direct' | 'sbo' | 'both';

/** Where a command's effect shows: a monitor point updated when the command executes. */
export interface CommandFeedback {
  /** Common address of the point (default: the command's). */
  ca?: number;
  ioa: number;
  /** Fixed value to set. When absent the value derives from the command (see `from`). */
  value?: StationPointValue;
  /** `command` (default): the commanded value mapped to the point's kind; `step`: regulating step moves a step position by ±1. */
  from?: 'command' | 'step';
  /** Limits of a `step` feedback (default -64..63). */
  min?: number;
  max?: number;
  quality?: PointQuality;
}

/** Configured reaction of a command object (used when no handler decides). */
export interface CommandBehaviour {
  /** Default `accept`. */
  result?: 'accept' | 'reject';
  /** Execution time: ACT_TERM (and the feedback update) this long after ACT_CON. Default 0. */
  delayMs?: number;
  feedback?: CommandFeedback;
}

/** Configuration of one command object. */
export interface CommandPointConfig {
  ca: number;
  ioa: number;
  /** Command type 45..51; the time-tagged form (58..64) of the family is accepted too, and vice versa. */
  type: number;
  /** Default `both` (bitstring commands have no S/E bit and are always direct). */
  mode?: CommandMode;
  name?: string;
  behaviour?: CommandBehaviour;
  /**
   * Accept NaN and ±infinity set-point values (C_SE_NC_1 / C_SE_TC_1). Default false: such a
   * set-point gets a negative ACT_CON and the audit record says why.
   */
  allowNonFinite?: boolean;
}

/** A configured command object. */
export interface CommandPoint {
  readonly ca: number;
  readonly ioa: number;
  readonly kind: CommandKind;
  /** Untimed type (45..51). */
  readonly type: number;
  readonly mode: CommandMode;
  readonly name: string | undefined;
  readonly behaviour: CommandBehaviour;
  /** Whether NaN and ±infinity set-points are accepted (default false). */
  readonly allowNonFinite?: boolean;
}

/**
 * What a command handler decides.
 * - `accept`: positive ACT_CON; for an execute, ACT_TERM after `delayMs` (default 0), with the
 *   optional feedback point updated just before it (cause 11 where the type allows it, else 3).
 * - `reject`: negative ACT_CON.
 */
export type CommandOutcome =
  | { result: 'accept'; delayMs?: number; feedback?: CommandFeedback }
  | { result: 'reject'; reason?: string };

/**
 * Decides on a command (select or execute). Return undefined to use the object's configured
 * behaviour. A promise keeps the command pending until it settles (a rejection counts as `reject`).
 */
export type CommandHandler = (cmd: StationCommand, point: CommandPoint) => CommandOutcome | undefined | Promise<CommandOutcome | undefined>;

/** Outcome of a configured behaviour. */
export function behaviourOutcome(b: CommandBehaviour): CommandOutcome {
  if (b.result === 'reject') return { result: 'reject', reason: 'configured to reject' };
  const o: CommandOutcome = { result: 'accept' };
  if (b.delayMs !== undefined) o.delayMs = b.delayMs;
  if (b.feedback !== undefined) o.feedback = b.feedback;
  return o;
}

/**
 * Age check of a time-tagged command: undefined when acceptable, else the reason. `now` is the
 * station time (ms since the epoch); a time tag more than `maxAgeMs` before (or after) it, or
 * flagged invalid, is refused.
 */
export function staleReason(time: Cp56Time, now: number, maxAgeMs: number, utc = true): string | undefined {
  if (time.invalid) return 'time tag flagged invalid';
  const t = cp56ToDate(time, utc).getTime();
  if (!Number.isFinite(t)) return 'time tag not a valid date';
  const age = now - t;
  if (age > maxAgeMs) return `command ${age} ms old (max ${maxAgeMs} ms)`;
  if (-age > maxAgeMs) return `command time ${-age} ms in the future (max ${maxAgeMs} ms)`;
  return undefined;
}

/**
 * The value a feedback point takes for an executed command. Throws `RangeError` when the command
 * value does not map to the point's kind.
 */
export function feedbackValue(cmd: StationCommand, fb: CommandFeedback, point: StationPoint): StationPointValue {
  if (fb.value !== undefined) return fb.value;
  if (fb.from === 'step') {
    if (point.kind !== 'step') throw new RangeError(`step feedback needs a step position point, CA ${point.ca} IOA ${point.ioa} is ${point.kind}`);
    const cur = (point.value as StepPosition).value;
    const delta = cmd.value === 2 ? 1 : cmd.value === 1 ? -1 : 0;
    const min = fb.min ?? -64;
    const max = fb.max ?? 63;
    return { value: Math.min(max, Math.max(min, cur + delta)), transient: false };
  }
  const v = cmd.value;
  switch (point.kind) {
    case 'single':
      return typeof v === 'boolean' ? v : v === 2;
    case 'double':
      return typeof v === 'boolean' ? (v ? 2 : 1) : v;
    case 'step':
      if (typeof v === 'number' && Number.isInteger(v)) return { value: v, transient: false };
      break;
    case 'normalized':
    case 'normalized-no-quality':
    case 'scaled':
    case 'float':
    case 'bitstring':
      if (typeof v === 'number') return point.kind === 'scaled' ? Math.round(v) : v;
      break;
    default:
      break;
  }
  throw new RangeError(`a ${cmd.kind} command value cannot be mirrored to a ${point.kind} point (CA ${point.ca} IOA ${point.ioa})`);
}
