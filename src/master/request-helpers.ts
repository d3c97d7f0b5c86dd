/**
 * The request methods of the controlling station (interrogation, read, clock synchronisation,
 * process commands, ...), written once and shared by {@link ControllingStation} and
 * {@link RedundancyGroup}: each builds one request and hands it to a {@link RequestPort} (the
 * station's own request tracker, or the active member's). Process commands are typed
 * ({@link Command}, src/codec/command.ts): the type identification is derived from the command's
 * kind, and a set time tag selects the CP56Time2a variant.
 */
import { EventEmitter } from 'node:events';
import { COT } from '../codec/cause.js';
import { type Command, COMMAND_KINDS, commandFromObject, commandToObject, commandTypeFor, commandTypeId, isTimedCommandType } from '../codec/command.js';
import { cp56FromDate } from '../codec/time.js';
import { TypeId, isProcessCommand, typeInfo, typeName } from '../codec/type-table.js';
import { MasterError } from './errors.js';
import type { RefusalCode, RequestSpec, RequestStep } from './request-tracker.js';
import type {
  CommandOptions, CommandResult, DoubleCommandValue, InterrogationResult, ReadResult, RequestOptions, RequestResult, SendOptions,
  StepCommandValue,
} from './types.js';

/**
 * Where the request helpers send: one controlling station's request tracker.
 * @internal
 */
export interface RequestPort {
  /** Send and track a request (see `RequestTracker.submit`). */
  submit<R extends RequestResult>(spec: RequestSpec): Promise<R>;
  /** Refuse a request before sending (counted, logged): a rejected promise. */
  refuse<T>(code: RefusalCode, message: string): Promise<T>;
  /** The wall clock for time tags. */
  wallClock(): Date;
  /** The next test sequence counter (C_TS_TA_1). */
  nextTestCounter(): number;
}

/**
 * A shallow copy of `o` that properties are then added to: the same own properties as `{ ...o }`.
 * Not a spread because V8 (Node 20) takes a slow path, about 0.5 µs, when properties are added to a
 * spread copy (or written next to a spread in a literal); `Object.assign` onto `{}` stays fast. An
 * own `__proto__` key would set the prototype through `Object.assign`: such objects keep the spread.
 */
function copyFields(o: Record<string, unknown>): Record<string, unknown> {
  return Object.hasOwn(o, '__proto__') ? { ...o } : Object.assign({}, o);
}

function checkInt(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new MasterError('E_INVALID', `${what} must be an integer ${min}..${max}, got ${String(v)}`);
  return v;
}

/** The elements of a typed command, checked: QU 0..31, QL 0..127, no select on a bitstring. Throws `E_INVALID`. */
function commandObject(cmd: Command, step: RequestStep): Record<string, unknown> {
  if (!COMMAND_KINDS.includes(cmd.kind)) throw new MasterError('E_INVALID', `unknown command kind '${String((cmd as { kind: unknown }).kind)}' (one of ${COMMAND_KINDS.join(', ')})`);
  if ('qu' in cmd && cmd.qu !== undefined) checkInt(cmd.qu, 0, 31, 'QU');
  if ('ql' in cmd && cmd.ql !== undefined) checkInt(cmd.ql, 0, 127, 'QL');
  if (cmd.kind === 'bitstring') {
    if (step === 'select' || cmd.select === true) throw new MasterError('E_INVALID', 'bitstring commands have no select (no S/E bit)');
  }
  const o = commandToObject(cmd, 0) as Record<string, unknown>;
  delete o.ioa; // set by the tracker
  if (cmd.kind !== 'bitstring') o.select = step === 'select';
  return o;
}

/** `opts.time` of the helpers as a time tag: `true` = the wall clock now. */
function timeTag(time: CommandOptions['time'], port: RequestPort): Command['time'] {
  if (time === undefined || time === false) return undefined;
  return cp56FromDate(time instanceof Date ? time : port.wallClock());
}

/**
 * The request methods, built on one abstract {@link MasterRequests.requestPort}. Subclasses say
 * where requests go; nothing else.
 */
export abstract class MasterRequests<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {
  /**
   * Where requests go now, or why none can (a refused request). The same port serves both steps
   * of a select-before-operate.
   * @internal
   */
  abstract requestPort(): RequestPort | MasterError;

  private withPort<R>(f: (p: RequestPort) => Promise<R>): Promise<R> {
    const p = this.requestPort();
    return p instanceof MasterError ? Promise.reject(p) : f(p);
  }

  // ---------------------------------------------------------------------------------------------
  // process commands

  /**
   * Send a typed process command to `ca`/`ioa` (C_SC … C_BO; the CP56Time2a variant when
   * `cmd.time` is set). `cmd.select` sends a select only; `opts.sbo` runs select-before-operate
   * (select, a positive ACT_CON, then the execute). Resolves at ACT_CON (or `opts.until`).
   *
   * @example
   * ```ts
   * import assert from 'node:assert/strict';
   * import { ControllingStation, createStation, tcpConnector } from 'iec104';
   * const station = createStation({ commands: [{ ca: 1, ioa: 5000, type: 46, mode: 'sbo' }], endOfInitialization: 'none' });
   * const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
   * const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false });
   * await master.connect();
   * const r = await master.send(1, 5000, { kind: 'double', value: 2 }, { sbo: true, until: 'actterm' });
   * assert.equal(r.sent.typeId, 46); // C_DC_NA_1
   * assert.equal(r.select?.confirmation?.cot, 7);
   * assert.equal(r.termination?.cot, 10);
   * await master.close();
   * await station.close();
   * ```
   */
  send(ca: number, ioa: number, cmd: Command, opts: SendOptions = {}): Promise<CommandResult> {
    return this.withPort((port) => (opts.sbo ? this.sbo(port, ca, ioa, cmd, opts) : this.commandStep(port, ca, ioa, cmd, opts, cmd.select === true ? 'select' : 'request')));
  }

  private async sbo(port: RequestPort, ca: number, ioa: number, cmd: Command, opts: RequestOptions): Promise<CommandResult> {
    const select = await this.commandStep(port, ca, ioa, cmd, { ...opts, until: 'actcon' }, 'select');
    const execute = await this.commandStep(port, ca, ioa, cmd, opts, 'execute');
    return { ...execute, select };
  }

  private commandStep(port: RequestPort, ca: number, ioa: number, cmd: Command, opts: RequestOptions, step: RequestStep): Promise<CommandResult> {
    let object: Record<string, unknown>;
    let typeId: number;
    try {
      object = commandObject(cmd, step);
      typeId = commandTypeId(cmd);
    } catch (e) {
      return port.refuse('E_INVALID', e instanceof Error ? e.message : String(e));
    }
    return port.submit<CommandResult>({ typeId, ca, ioa, object, cot: COT.ACTIVATION, kind: 'command', step, opts });
  }

  /** The typed command a helper call stands for (`opts.select`, `opts.qu`/`ql`, `opts.time`). */
  private helper(kind: Command['kind'], ca: number, ioa: number, value: number | boolean, opts: CommandOptions): Promise<CommandResult> {
    return this.withPort((port) => {
      const cmd = { kind, value, select: opts.select === true } as Command & { qu?: number; ql?: number };
      const base = commandTypeFor(kind, false);
      const qualifier = typeInfo(base)?.qualifier;
      if (opts.qu !== undefined) {
        if (qualifier !== 'QU') return port.refuse('E_INVALID', `QU applies to single, double and regulating step commands, not ${typeName(base)}`);
        cmd.qu = opts.qu;
      }
      if (opts.ql !== undefined) {
        if (qualifier !== 'QL') return port.refuse('E_INVALID', `QL applies to set-point commands, not ${typeName(base)}`);
        cmd.ql = opts.ql;
      }
      const time = timeTag(opts.time, port);
      if (time !== undefined) cmd.time = time;
      if (opts.sbo) return this.sbo(port, ca, ioa, cmd, opts);
      return this.commandStep(port, ca, ioa, cmd, opts, opts.select ? 'select' : 'request');
    });
  }

  /** Single command (C_SC_NA_1, or C_SC_TA_1 with `time`). */
  single(ca: number, ioa: number, value: boolean, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('single', ca, ioa, value, opts);
  }

  /** Double command (C_DC_NA_1 / C_DC_TA_1): `'off'` (1) or `'on'` (2). */
  double(ca: number, ioa: number, value: DoubleCommandValue, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('double', ca, ioa, value === 'off' ? 1 : value === 'on' ? 2 : value, opts);
  }

  /** Regulating step command (C_RC_NA_1 / C_RC_TA_1): `'lower'` (1) or `'higher'` (2). */
  regulatingStep(ca: number, ioa: number, value: StepCommandValue, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('regulating', ca, ioa, value === 'lower' ? 1 : value === 'higher' ? 2 : value, opts);
  }

  /** Set-point command, normalized value -1..+1 (C_SE_NA_1 / C_SE_TA_1). */
  setpointNormalized(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('setpoint-normalized', ca, ioa, value, opts);
  }

  /** Set-point command, scaled value -32768..32767 (C_SE_NB_1 / C_SE_TB_1). */
  setpointScaled(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('setpoint-scaled', ca, ioa, value, opts);
  }

  /** Set-point command, short floating point (C_SE_NC_1 / C_SE_TC_1). */
  setpointFloat(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('setpoint-float', ca, ioa, value, opts);
  }

  /** Bitstring of 32 bit command (C_BO_NA_1 / C_BO_TA_1), value 0..0xFFFFFFFF. No select. */
  bitstring(ca: number, ioa: number, value: number, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.helper('bitstring', ca, ioa, value, opts);
  }

  /**
   * Any process command by type identification (45..51, 58..64), its elements in `object`
   * (`value`, `qu`, `ql`); a time-tagged type gets the time tag itself (`opts.time`, else now).
   *
   * @deprecated Use {@link MasterRequests.send} with a typed {@link Command}
   * (`send(ca, ioa, { kind: 'single', value: true })`) or the helpers (`single`, `double`, ...).
   * Kept as a thin wrapper for code written against the numeric form.
   */
  command(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.withPort((port) => {
      const cmd = isProcessCommand(typeId) ? commandFromObject(typeId, { ...copyFields(object), ioa }) : undefined;
      if (!cmd) return port.refuse('E_INVALID', `${typeName(typeId)} is not a process command (45..51, 58..64)`);
      // the value as given (the encoder checks it), not normalised as a decoded one would be
      (cmd as { value: unknown }).value = object.value;
      const time = timeTag(opts.time, port) ?? (isTimedCommandType(typeId) ? (cmd.time ?? cp56FromDate(port.wallClock())) : undefined);
      if (time !== undefined) cmd.time = time;
      // the numeric form always carried QU/QL 0 unless given: commandFromObject did the same
      const c = cmd as Command & { qu?: number; ql?: number };
      if (opts.qu !== undefined) {
        if (!('qu' in c)) return port.refuse('E_INVALID', `QU applies to single, double and regulating step commands, not ${typeName(typeId)}`);
        c.qu = opts.qu;
      }
      if (opts.ql !== undefined) {
        if (!('ql' in c)) return port.refuse('E_INVALID', `QL applies to set-point commands, not ${typeName(typeId)}`);
        c.ql = opts.ql;
      }
      if (opts.sbo) return this.sbo(port, ca, ioa, cmd, opts);
      return this.commandStep(port, ca, ioa, cmd, opts, opts.select ? 'select' : 'request');
    });
  }

  /**
   * Select before operate by type identification.
   *
   * @deprecated Use {@link MasterRequests.send} with `{ sbo: true }`.
   */
  selectBeforeOperate(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(typeId, ca, ioa, object, { ...opts, sbo: true });
  }

  // ---------------------------------------------------------------------------------------------
  // system commands

  /**
   * Interrogation (C_IC_NA_1) of station (`qoi` 20) or group n (`qoi` 20+n). Resolves at ACT_TERM
   * (by default) with the objects received with cause `qoi`. Tolerates an empty terminating ASDU
   * and a termination without data.
   */
  interrogation(ca: number, qoi = 20, opts: RequestOptions = {}): Promise<InterrogationResult> {
    return this.withPort((port) => {
      try {
        checkInt(qoi, 0, 255, 'QOI');
      } catch (e) {
        return port.refuse('E_INVALID', (e as Error).message);
      }
      return port.submit<InterrogationResult>({ typeId: TypeId.C_IC_NA_1, ca, ioa: 0, object: { qoi }, cot: COT.ACTIVATION, kind: 'interrogation', step: 'request', opts, dataCot: qoi });
    });
  }

  /**
   * Counter interrogation (C_CI_NA_1). `rqt` 5 = general (data cause 37), 1..4 = group (37+n);
   * `frz` 0 read, 1 freeze, 2 freeze and reset, 3 reset. Resolves at ACT_TERM by default with the
   * counters received.
   */
  counterInterrogation(ca: number, qcc: { rqt?: number; frz?: number } = {}, opts: RequestOptions = {}): Promise<InterrogationResult> {
    return this.withPort((port) => {
      const rqt = qcc.rqt ?? 5;
      const frz = qcc.frz ?? 0;
      try {
        checkInt(rqt, 0, 63, 'RQT');
        checkInt(frz, 0, 3, 'FRZ');
      } catch (e) {
        return port.refuse('E_INVALID', (e as Error).message);
      }
      const dataCot = rqt === 5 ? COT.REQUESTED_COUNTER_GENERAL : rqt >= 1 && rqt <= 4 ? COT.REQUESTED_COUNTER_GENERAL + rqt : undefined;
      return port.submit<InterrogationResult>({ typeId: TypeId.C_CI_NA_1, ca, ioa: 0, object: { rqt, frz }, cot: COT.ACTIVATION, kind: 'counter', step: 'request', opts, dataCot });
    });
  }

  /**
   * Read command (C_RD_NA_1): resolves with the object of `ioa` the station sends back with cause 5
   * (of type `typeId` when given).
   */
  read(ca: number, ioa: number, typeId?: number, opts: Omit<RequestOptions, 'until'> = {}): Promise<ReadResult> {
    return this.withPort((port) => port.submit<ReadResult>({ typeId: TypeId.C_RD_NA_1, ca, ioa, object: {}, cot: COT.REQUEST, kind: 'read', step: 'request', opts, readType: typeId }));
  }

  /** Clock synchronisation (C_CS_NA_1) with `date` (default: the wall clock now). Resolves at ACT_CON. */
  clockSync(ca: number, date?: Date, opts: RequestOptions = {}): Promise<RequestResult> {
    return this.withPort((port) => port.submit({ typeId: TypeId.C_CS_NA_1, ca, ioa: 0, object: { time: cp56FromDate(date ?? port.wallClock()) }, cot: COT.ACTIVATION, kind: 'command', step: 'request', opts }));
  }

  /**
   * Test command with time tag (C_TS_TA_1); the test sequence counter increases with every call.
   * With `timeTag: false`, the test command without time tag (C_TS_NA_1, fixed test bit pattern
   * 0x55AA; defined for IEC 60870-5-101, some 104 stations accept it). Resolves at ACT_CON.
   */
  testCommand(ca: number, opts: RequestOptions & { timeTag?: boolean } = {}): Promise<RequestResult> {
    return this.withPort((port) => {
      if (opts.timeTag === false) return port.submit({ typeId: TypeId.C_TS_NA_1, ca, ioa: 0, object: { pattern: 0x55aa }, cot: COT.ACTIVATION, kind: 'command', step: 'request', opts });
      const counter = port.nextTestCounter();
      return port.submit({ typeId: TypeId.C_TS_TA_1, ca, ioa: 0, object: { counter, time: cp56FromDate(port.wallClock()) }, cot: COT.ACTIVATION, kind: 'command', step: 'request', opts });
    });
  }

  /**
   * Parameter of measured values (P_ME_NA_1 110 normalized -1..+1, P_ME_NB_1 111 scaled, P_ME_NC_1
   * 112 float) for the object `ioa`. `qpm.kpa`: 1 threshold, 2 smoothing factor, 3 low limit, 4 high
   * limit; `lpc` local parameter change, `pop` parameter not in operation. Resolves at ACT_CON.
   */
  parameter(typeId: typeof TypeId.P_ME_NA_1 | typeof TypeId.P_ME_NB_1 | typeof TypeId.P_ME_NC_1, ca: number, ioa: number, value: number, qpm: { kpa: number; lpc?: boolean; pop?: boolean }, opts: RequestOptions = {}): Promise<RequestResult> {
    return this.withPort((port) => {
      if (typeInfo(typeId)?.qualifier !== 'QPM') return port.refuse('E_INVALID', `${typeName(typeId)} is not a parameter of measured values (P_ME_NA_1, P_ME_NB_1, P_ME_NC_1)`);
      try {
        checkInt(qpm.kpa, 0, 63, 'QPM.KPA');
      } catch (e) {
        return port.refuse('E_INVALID', (e as Error).message);
      }
      return port.submit({ typeId, ca, ioa, object: { value, kpa: qpm.kpa, lpc: qpm.lpc ?? false, pop: qpm.pop ?? false }, cot: COT.ACTIVATION, kind: 'command', step: 'request', opts });
    });
  }

  /**
   * Parameter activation (P_AC_NA_1) with qualifier `qpa`: 1 previously loaded parameters (IOA 0),
   * 2 the parameter of the addressed object, 3 persistent cyclic or periodic transmission of the
   * addressed object. `deactivate: true` sends it with cause 8. Resolves at the (de)activation confirmation.
   */
  parameterActivation(ca: number, ioa: number, qpa: number, opts: RequestOptions & { deactivate?: boolean } = {}): Promise<RequestResult> {
    return this.withPort((port) => {
      try {
        checkInt(qpa, 0, 255, 'QPA');
      } catch (e) {
        return port.refuse('E_INVALID', (e as Error).message);
      }
      return port.submit({ typeId: TypeId.P_AC_NA_1, ca, ioa, object: { qpa }, cot: opts.deactivate ? COT.DEACTIVATION : COT.ACTIVATION, kind: 'command', step: 'request', opts });
    });
  }

  /**
   * Deactivation (cause 8) of a command the station is executing or has selected, or of an
   * interrogation: the same type and object as the activation (`object` holds its elements, e.g.
   * `{ value: true, select: false }` or `{ qoi: 20 }`). Resolves at DEACT_CON; P/N=1 rejects.
   */
  deactivate(typeId: number, ca: number, ioa: number, object: Record<string, unknown>, opts: Omit<RequestOptions, 'until'> = {}): Promise<RequestResult> {
    return this.withPort((port) => {
      const info = typeInfo(typeId);
      if (!info || !info.causes.has(COT.DEACTIVATION)) return port.refuse('E_INVALID', `${typeName(typeId)} cannot be deactivated (cause 8 is not defined for it)`);
      return port.submit({ typeId, ca, ioa, object: copyFields(object), cot: COT.DEACTIVATION, kind: 'command', step: 'request', opts: { ...opts, until: 'actcon' } });
    });
  }

  /** Reset process command (C_RP_NA_1): `qrp` 1 general reset, 2 reset of pending time-tagged information. */
  resetProcess(ca: number, qrp = 1, opts: RequestOptions = {}): Promise<RequestResult> {
    return this.withPort((port) => {
      try {
        checkInt(qrp, 0, 255, 'QRP');
      } catch (e) {
        return port.refuse('E_INVALID', (e as Error).message);
      }
      return port.submit({ typeId: TypeId.C_RP_NA_1, ca, ioa: 0, object: { qrp }, cot: COT.ACTIVATION, kind: 'command', step: 'request', opts });
    });
  }
}
