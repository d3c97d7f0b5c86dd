/**
 * `iec104 command HOST[:PORT] --ca N --ioa N --single on ...`: send one process command as
 * controlling station and report the outcome with its round-trip times.
 */
import { parseArgs } from 'node:util';
import { cotName } from '../codec/cause.js';
import { TYPE_ID_NOT_USED, TypeId, typeName, timedVariantOf } from '../codec/type-table.js';
import { COMMAND_KINDS, type CommandKind, commandTypeFor } from '../codec/command.js';
import { type Clock, systemClock } from '../clock.js';
import { type LogLevel, createLogger, nullLogger } from '../log.js';
import type { Connector } from '../master/connection.js';
import { ConnectionLostError, MasterError, NegativeConfirmationError, RequestTimeoutError } from '../master/errors.js';
import { msText, pointCells, pointToJson, qualityFlags, rttText } from '../master/format.js';
import { type CommandOptions, type CommandResult, ControllingStation, type InterrogationResult, type ReadResult, type RoundTrip } from '../master/master.js';
import type { PointValue } from '../master/points.js';
import { cp56FromDate } from '../codec/time.js';
import { IEC104_PORT, tcpConnector } from '../master/tcp.js';
import { AuditLog } from '../transport/audit-log.js';
import { DEFAULT_TLS_PORT, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';
import type { CliCommand } from './command.js';
import { COMMAND_VALUE_OPTIONS, TLS_CLI_OPTIONS, UsageError, intArg, joinNegativeValues, targetArg, tlsConfigFromArgs, tlsHelp, asUsage } from './args.js';

const HELP = `usage: iec104 command HOST[:PORT] --ca N [--ioa N] COMMAND [options]

Connect as controlling station, start data transfer, send one command (process, system
or parameter) and print the outcome (positive / negative with its cause / timeout) with
the round-trip time(s) measured from sending it.

COMMAND (exactly one), process commands (need --ioa):
  --single on|off              single command C_SC_NA_1 (45)
  --double on|off              double command C_DC_NA_1 (46)
  --step higher|lower          regulating step command C_RC_NA_1 (47)
  --setpoint-normalized V      set-point, normalized value -1..+1, C_SE_NA_1 (48)
  --setpoint-scaled V          set-point, scaled value -32768..32767, C_SE_NB_1 (49)
  --setpoint-float V           set-point, short floating point, C_SE_NC_1 (50)
  --bitstring HEX              bitstring of 32 bit, C_BO_NA_1 (51), e.g. 0x0000FF00
system commands (IOA 0 unless --ioa):
  --read                       read command C_RD_NA_1 (102) of the object --ioa N: prints
                               the value the station sends back (cause 5)
  --clock-sync now|ISO         clock synchronisation C_CS_NA_1 (103) with the time now
                               (UTC) or the given one, e.g. 2026-01-01T12:00:00Z
  --interrogation station|N    interrogation C_IC_NA_1 (100) of the station (QOI 20) or
                               group N 1..16 (QOI 20+N); waits for ACT_TERM, prints the
                               objects received
  --counter-interrogation M    counter interrogation C_CI_NA_1 (101), M (FRZ): read,
                               freeze, freeze-reset or reset; --group N (1..4) for a
                               counter group, else general (RQT 5); waits for ACT_TERM
  --test-command               test command with time tag C_TS_TA_1 (107); with
                               --no-time the test command C_TS_NA_1 (104, IEC 101)
  --reset-process Q            reset process C_RP_NA_1 (105), Q (QRP): general (1) or
                               events (2, reset of pending time-tagged information)
parameters (need --ioa, except --parameter-activation loaded):
  --parameter-normalized V     parameter of measured value P_ME_NA_1 (110), -1..+1
  --parameter-scaled V         P_ME_NB_1 (111), -32768..32767
  --parameter-float V          P_ME_NC_1 (112)
    --kpa K                    kind of parameter (required): threshold (1), smoothing (2),
                               low (3, low limit), high (4, high limit), or 1..63
    --lpc                      local parameter change (LPC=1)
    --pop                      parameter not in operation (POP=1)
  --parameter-activation Q     parameter activation P_AC_NA_1 (113), Q (QPA): loaded (1,
                               previously loaded parameters, IOA 0), object (2, the
                               parameter of --ioa N), cyclic (3, persistent cyclic or
                               periodic transmission of --ioa N), or 1..255

options:
  --ca N             common address (required)
  --ioa N            information object address (process commands, --read, parameters)
  --deactivate       send a deactivation (cause 8) instead of an activation: of a process
                     command (same value; stops an execution or drops a selection), of
                     --interrogation, or of --parameter-activation; waits for DEACT_CON
  --select           select before operate: select (S/E=1), wait for a positive
                     ACT_CON, then execute (not for --bitstring)
  --time             send the variant with time tag CP56Time2a (58..64), time = now (UTC)
  --qu N             qualifier of command 0..31 (single, double, step): 0 none,
                     1 short pulse, 2 long pulse, 3 persistent
  --ql N             qualifier of set-point 0..127
  --until actcon|actterm
                     succeed at the activation confirmation (default for commands) or
                     wait for the activation termination (default for interrogations)
  --timeout MS       time allowed for each answer (default 15000)
  --t0 MS            connection establishment time-out (default 30000)
  --port N           port, when not given as HOST:PORT (default ${IEC104_PORT}, ${DEFAULT_TLS_PORT} with --tls)
  --json             print the outcome as one JSON object (with "objects" for
                     interrogations and "response" for --read)
  --audit FILE|-     append an audit record of the command and its outcome (JSON line)
                     to FILE, or to stderr with -
  --log-level L      write link/master logs to stderr: debug, info, warn, error (debug
                     shows why a station refused: cause, P/N and the request)
  -h, --help         this text

TLS:
${tlsHelp('--tls-ca')}

examples:
  $ iec104 command 10.0.0.5 --ca 1 --ioa 5000 --single on --select
  positive: C_SC_NA_1 CA 1 IOA 5000 ON; select ACT_CON 14 ms; execute ACT_CON 12 ms
  $ iec104 command 10.0.0.5:2404 --ca 1 --ioa 6001 --setpoint-float 49.5 --time --until actterm --json
  $ iec104 command 10.0.0.5 --tls --cert client.crt --key client.key --tls-ca ca.crt --ca 1 --ioa 5000 --single on
  $ iec104 command 10.0.0.5 --ca 1 --ioa 2001 --read
  positive: C_RD_NA_1 CA 1 IOA 2001: M_ME_NC_1 110.3 ok; response 9 ms
  $ iec104 command 10.0.0.5 --ca 1 --clock-sync now
  $ iec104 command 10.0.0.5 --ca 1 --interrogation 1 --json
  $ iec104 command 10.0.0.5 --ca 1 --counter-interrogation freeze-reset --group 2
  $ iec104 command 10.0.0.5 --ca 1 --test-command
  $ iec104 command 10.0.0.5 --ca 1 --reset-process general
  $ iec104 command 10.0.0.5 --ca 1 --ioa 2001 --parameter-float 0.5 --kpa threshold
  $ iec104 command 10.0.0.5 --ca 1 --ioa 2001 --parameter-activation object
  $ iec104 command 10.0.0.5 --ca 1 --ioa 5000 --double on --deactivate
  $ iec104 command 10.0.0.5 --ca 1 --interrogation station --deactivate

exit codes:
  0  positive confirmation (and termination with --until actterm; the response of --read)
  2  usage error
  3  negative confirmation (P/N=1, or cause 44..47), of the select or the command
  4  timeout: no confirmation (or termination, or read response) in time
  5  connection failure (refused, t0 elapsed, STARTDT not confirmed, connection lost)`;

/** The process command kinds: the codec's one {@link CommandKind} (re-exported for the CLI's callers). */
export type { CommandKind };
/** The command-line flag of each kind: `--step` names the regulating step command (kind `regulating`). */
const FLAG_OF: Record<CommandKind, string> = {
  single: 'single', double: 'double', regulating: 'step', 'setpoint-normalized': 'setpoint-normalized', 'setpoint-scaled': 'setpoint-scaled', 'setpoint-float': 'setpoint-float', bitstring: 'bitstring',
};
const KIND_OF_FLAG = new Map<string, CommandKind>(COMMAND_KINDS.map((k) => [FLAG_OF[k], k]));
const KINDS: string[] = COMMAND_KINDS.map((k) => FLAG_OF[k]);
/** The system and parameter command kinds of the CLI. */
export type SystemKind =
  | 'read' | 'clock-sync' | 'interrogation' | 'counter-interrogation' | 'test-command' | 'reset-process'
  | 'parameter-normalized' | 'parameter-scaled' | 'parameter-float' | 'parameter-activation';
const SYSTEM_KINDS: SystemKind[] = ['read', 'clock-sync', 'interrogation', 'counter-interrogation', 'test-command', 'reset-process', 'parameter-normalized', 'parameter-scaled', 'parameter-float', 'parameter-activation'];
const SYSTEM_TYPE: Record<SystemKind, number> = {
  read: TypeId.C_RD_NA_1, 'clock-sync': TypeId.C_CS_NA_1, interrogation: TypeId.C_IC_NA_1, 'counter-interrogation': TypeId.C_CI_NA_1,
  'test-command': TypeId.C_TS_TA_1, 'reset-process': TypeId.C_RP_NA_1, 'parameter-normalized': TypeId.P_ME_NA_1,
  'parameter-scaled': TypeId.P_ME_NB_1, 'parameter-float': TypeId.P_ME_NC_1, 'parameter-activation': TypeId.P_AC_NA_1,
};
const FRZ: Record<string, number> = { read: 0, freeze: 1, 'freeze-reset': 2, reset: 3 };
const KPA: Record<string, number> = { threshold: 1, smoothing: 2, low: 3, high: 4 };
const QRP: Record<string, number> = { general: 1, events: 2 };
const QPA: Record<string, number> = { loaded: 1, object: 2, cyclic: 3 };

/** The qualifiers and value of a system or parameter command, as sent. */
export interface SystemRequest {
  kind: SystemKind;
  /** C_IC_NA_1: QOI. */
  qoi?: number;
  /** C_CI_NA_1: RQT and FRZ. */
  rqt?: number;
  frz?: number;
  /** C_CS_NA_1: the time to set (undefined = now). */
  time?: Date;
  /** C_RP_NA_1: QRP. */
  qrp?: number;
  /** P_ME_*: value and QPM. */
  value?: number;
  kpa?: number;
  lpc?: boolean;
  pop?: boolean;
  /** P_AC_NA_1: QPA. */
  qpa?: number;
  /** C_TS: false = C_TS_NA_1 (no time tag). */
  timeTag?: boolean;
}

/** Parsed `iec104 command` arguments. */
export interface CommandArgs {
  host: string;
  port: number;
  ca: number;
  ioa: number;
  /** The process command kind, or `system` (see {@link CommandArgs.system}). */
  kind: CommandKind | 'system';
  /** The value as sent: boolean (single), 1/2 (double OFF/ON, regulating step LOWER/HIGHER), or a number (0 for system commands). */
  value: boolean | number;
  /** Base type identification (45..51), or the system/parameter type (100..113). */
  typeId: number;
  /** The system or parameter command, when `kind` is `system`. */
  system?: SystemRequest;
  /** Send a deactivation (cause 8). */
  deactivate: boolean;
  select: boolean;
  time: boolean;
  qu?: number;
  ql?: number;
  until: 'actcon' | 'actterm';
  timeout?: number;
  t0?: number;
  json: boolean;
  logLevel?: LogLevel;
  /** Mutual TLS. */
  tls?: TlsConfig;
  /** Audit destination: a file, or `-` (stderr). */
  audit?: string;
}

function parseValue(kind: CommandKind, text: string): boolean | number {
  const t = text.trim().toLowerCase();
  const fail = (what: string): never => {
    throw new UsageError(`--${FLAG_OF[kind]} expects ${what}, not '${text}'`);
  };
  switch (kind) {
    case 'single':
      return t === 'on' || t === '1' ? true : t === 'off' || t === '0' ? false : fail('on or off');
    case 'double':
      return t === 'on' ? 2 : t === 'off' ? 1 : fail('on or off');
    case 'regulating':
      return t === 'higher' ? 2 : t === 'lower' ? 1 : fail('higher or lower');
    case 'setpoint-normalized': {
      const n = Number(t);
      return t !== '' && Number.isFinite(n) && n >= -1 && n <= 1 ? n : fail('a number -1..+1');
    }
    case 'setpoint-scaled': {
      const n = Number(t);
      return /^-?\d+$/.test(t) && n >= -32768 && n <= 32767 ? n : fail('an integer -32768..32767');
    }
    case 'setpoint-float': {
      const n = Number(t);
      return t !== '' && Number.isFinite(n) && Math.abs(n) <= 3.4028234663852886e38 ? n : fail('a finite number');
    }
    case 'bitstring': {
      const h = t.replace(/^0x/, '').replace(/[_\s]/g, '');
      return /^[0-9a-f]{1,8}$/.test(h) ? Number.parseInt(h, 16) : fail('up to 8 hex digits (e.g. 0x0000FF00)');
    }
  }
}

/** Parse `iec104 command` arguments. Throws {@link UsageError}. */
export function parseCommandArgs(argv: string[]): CommandArgs {
  const args = joinNegativeValues(argv);
  const v = asUsage(() =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        ...COMMAND_VALUE_OPTIONS,
        step: { type: 'string' },
        bitstring: { type: 'string' },
        qu: { type: 'string' },
        ql: { type: 'string' },
        until: { type: 'string' },
        timeout: { type: 'string' },
        t0: { type: 'string' },
        port: { type: 'string' },
        json: { type: 'boolean' },
        'log-level': { type: 'string' },
        audit: { type: 'string' },
        deactivate: { type: 'boolean' },
        read: { type: 'boolean' },
        'clock-sync': { type: 'string' },
        interrogation: { type: 'string' },
        'counter-interrogation': { type: 'string' },
        group: { type: 'string' },
        'test-command': { type: 'boolean' },
        'no-time': { type: 'boolean' },
        'reset-process': { type: 'string' },
        'parameter-normalized': { type: 'string' },
        'parameter-scaled': { type: 'string' },
        'parameter-float': { type: 'string' },
        kpa: { type: 'string' },
        lpc: { type: 'boolean' },
        pop: { type: 'boolean' },
        'parameter-activation': { type: 'string' },
        ...TLS_CLI_OPTIONS,
      },
    }),
  );
  const o = v.values;
  const tls = tlsConfigFromArgs(o);
  const hp = targetArg(v.positionals, o.port, tls !== undefined);
  const all: string[] = [...KINDS, ...SYSTEM_KINDS];
  const given = all.filter((k) => (o as Record<string, unknown>)[k] !== undefined && (o as Record<string, unknown>)[k] !== false);
  if (given.length !== 1) throw new UsageError(given.length === 0 ? `a command is missing (one of ${all.map((k) => `--${k}`).join(', ')})` : `only one command at a time, got ${given.map((k) => `--${k}`).join(' and ')}`);
  const ca = intArg('ca', o.ca, 0, 65535);
  if (ca === undefined) throw new UsageError('--ca is required');
  const ioaArg = intArg('ioa', o.ioa, 0, 0xffffff);
  if (o.until !== undefined && o.until !== 'actcon' && o.until !== 'actterm') throw new UsageError(`--until must be actcon or actterm, not '${o.until}'`);
  const level0 = o['log-level'];
  if (level0 !== undefined && !['debug', 'info', 'warn', 'error'].includes(level0)) throw new UsageError('--log-level must be one of debug, info, warn, error');
  if ((SYSTEM_KINDS as string[]).includes(given[0])) return systemArgs(given[0] as SystemKind, o, hp, ca, ioaArg, tls);
  for (const f of ['group', 'kpa', 'lpc', 'pop', 'no-time'] as const) if (o[f] !== undefined) throw new UsageError(`--${f} does not apply to --${given[0]}`);
  const kind = KIND_OF_FLAG.get(given[0]) as CommandKind;
  const ioa = ioaArg;
  if (ioa === undefined) throw new UsageError('--ioa is required');
  const until = o.until ?? 'actcon';
  if (o.deactivate && (o.select || o.until === 'actterm')) throw new UsageError('--deactivate cannot be combined with --select or --until actterm (a deactivation ends at DEACT_CON)');
  if (o.select && kind === 'bitstring') throw new UsageError('--select does not apply to --bitstring (no S/E bit)');
  const qu = intArg('qu', o.qu, 0, 31);
  if (qu !== undefined && kind !== 'single' && kind !== 'double' && kind !== 'regulating') throw new UsageError('--qu applies to --single, --double and --step');
  const ql = intArg('ql', o.ql, 0, 127);
  if (ql !== undefined && !kind.startsWith('setpoint-')) throw new UsageError('--ql applies to the --setpoint-* commands');
  const level = o['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be one of debug, info, warn, error');
  const a: CommandArgs = {
    host: hp.host, port: hp.port, ca, ioa, kind,
    value: parseValue(kind, o[given[0] as keyof typeof o] as string),
    typeId: commandTypeFor(kind, false),
    select: o.select ?? false,
    time: o.time ?? false,
    deactivate: o.deactivate ?? false,
    until,
    json: o.json ?? false,
  };
  if (qu !== undefined) a.qu = qu;
  if (ql !== undefined) a.ql = ql;
  if (tls) a.tls = tls;
  if (o.audit !== undefined) a.audit = o.audit;
  const timeout = intArg('timeout', o.timeout, 1, 2 ** 31);
  if (timeout !== undefined) a.timeout = timeout;
  const t0 = intArg('t0', o.t0, 1, 2 ** 31);
  if (t0 !== undefined) a.t0 = t0;
  if (level !== undefined) a.logLevel = level as LogLevel;
  return a;
}

/** The parsed option values `systemArgs` reads. */
interface ParsedValues {
  [k: string]: string | boolean | string[] | undefined;
  ca?: string; ioa?: string; until?: string; timeout?: string; t0?: string; json?: boolean; 'log-level'?: string; audit?: string;
  deactivate?: boolean; select?: boolean; time?: boolean; qu?: string; ql?: string; group?: string; kpa?: string; lpc?: boolean; pop?: boolean; 'no-time'?: boolean;
}

/** A name from `names` or an integer min..max. */
function namedInt(flag: string, text: string, names: Record<string, number>, min: number, max: number): number {
  const t = text.trim().toLowerCase();
  if (names[t] !== undefined) return names[t];
  if (/^\d+$/.test(t) && Number(t) >= min && Number(t) <= max) return Number(t);
  throw new UsageError(`--${flag} expects ${Object.keys(names).join(', ')} or an integer ${min}..${max}, not '${text}'`);
}

function parameterValue(kind: SystemKind, text: string): number {
  const t = text.trim();
  const n = Number(t);
  const fail = (what: string): never => {
    throw new UsageError(`--${kind} expects ${what}, not '${text}'`);
  };
  if (t === '' || !Number.isFinite(n)) fail('a number');
  if (kind === 'parameter-normalized' && (n < -1 || n > 1)) fail('a number -1..+1');
  if (kind === 'parameter-scaled' && (!/^-?\d+$/.test(t) || n < -32768 || n > 32767)) fail('an integer -32768..32767');
  if (kind === 'parameter-float' && Math.abs(n) > 3.4028234663852886e38) fail('a finite float32 number');
  return n;
}

/** `iec104 command` arguments of a system or parameter command. */
function systemArgs(kind: SystemKind, o: ParsedValues, hp: { host: string; port: number }, ca: number, ioaArg: number | undefined, tls: TlsConfig | undefined): CommandArgs {
  const text = (o as Record<string, unknown>)[kind] as string;
  for (const f of ['select', 'time', 'qu', 'ql'] as const) if (o[f] !== undefined) throw new UsageError(`--${f} applies to process commands, not --${kind}`);
  const onlyFor = (flag: 'group' | 'kpa' | 'lpc' | 'pop' | 'no-time', kinds: SystemKind[]): void => {
    if (o[flag] !== undefined && !kinds.includes(kind)) throw new UsageError(`--${flag} applies to ${kinds.map((k) => `--${k}`).join(', ')}, not --${kind}`);
  };
  onlyFor('group', ['counter-interrogation']);
  onlyFor('kpa', ['parameter-normalized', 'parameter-scaled', 'parameter-float']);
  onlyFor('lpc', ['parameter-normalized', 'parameter-scaled', 'parameter-float']);
  onlyFor('pop', ['parameter-normalized', 'parameter-scaled', 'parameter-float']);
  onlyFor('no-time', ['test-command']);
  if (o.deactivate && kind !== 'interrogation' && kind !== 'parameter-activation') throw new UsageError(`--deactivate applies to process commands, --interrogation and --parameter-activation, not --${kind} (no cause 8 for ${typeName(SYSTEM_TYPE[kind])})`);
  const needsIoa = kind === 'read' || kind.startsWith('parameter-');
  const sys: SystemRequest = { kind };
  let typeId = SYSTEM_TYPE[kind];
  switch (kind) {
    case 'read':
      break;
    case 'clock-sync': {
      if (text.trim().toLowerCase() !== 'now') {
        const d = new Date(text);
        if (!/^\d{4}-\d\d-\d\d/.test(text.trim()) || Number.isNaN(d.getTime())) throw new UsageError(`--clock-sync expects now or an ISO 8601 time (e.g. 2026-01-01T12:00:00Z), not '${text}'`);
        sys.time = d;
      }
      break;
    }
    case 'interrogation':
      sys.qoi = 20 + namedInt('interrogation', text, { station: 0, general: 0 }, 1, 16);
      break;
    case 'counter-interrogation': {
      const frz = FRZ[text.trim().toLowerCase()];
      if (frz === undefined) throw new UsageError(`--counter-interrogation expects ${Object.keys(FRZ).join(', ')}, not '${text}'`);
      sys.frz = frz;
      sys.rqt = intArg('group', o.group, 1, 4) ?? 5;
      break;
    }
    case 'test-command':
      sys.timeTag = !o['no-time'];
      if (!sys.timeTag) typeId = TypeId.C_TS_NA_1;
      break;
    case 'reset-process':
      sys.qrp = namedInt('reset-process', text, QRP, 1, 255);
      break;
    case 'parameter-activation':
      sys.qpa = namedInt('parameter-activation', text, QPA, 1, 255);
      break;
    default: {
      sys.value = parameterValue(kind, text);
      if (o.kpa === undefined) throw new UsageError(`--${kind} needs --kpa (threshold, smoothing, low, high, or 1..63)`);
      sys.kpa = namedInt('kpa', o.kpa, KPA, 1, 63);
      sys.lpc = o.lpc ?? false;
      sys.pop = o.pop ?? false;
    }
  }
  let ioa = ioaArg ?? 0;
  if (needsIoa && ioaArg === undefined && !(kind === 'parameter-activation')) throw new UsageError(`--${kind} needs --ioa`);
  if (kind === 'parameter-activation' && sys.qpa !== 1 && ioaArg === undefined) throw new UsageError('--parameter-activation object/cyclic needs --ioa (the object whose parameter or transmission is (de)activated)');
  if (kind === 'parameter-activation' && sys.qpa === 1) ioa = ioaArg ?? 0;
  const interrogating = kind === 'interrogation' || kind === 'counter-interrogation';
  if (o.until === 'actterm' && !interrogating) throw new UsageError(`--until actterm applies to process commands and interrogations, not --${kind} (answered by ACT_CON${kind === 'read' ? ' or the object' : ''} only)`);
  if (o.deactivate && o.until === 'actterm') throw new UsageError('--deactivate ends at DEACT_CON: --until actterm does not apply');
  const a: CommandArgs = {
    host: hp.host, port: hp.port, ca, ioa, kind: 'system', value: 0, typeId, system: sys,
    select: false, time: false, deactivate: o.deactivate ?? false,
    until: (o.until as 'actcon' | 'actterm' | undefined) ?? (interrogating && !o.deactivate ? 'actterm' : 'actcon'),
    json: o.json ?? false,
  };
  if (tls) a.tls = tls;
  if (o.audit !== undefined) a.audit = o.audit;
  const timeout = intArg('timeout', o.timeout, 1, 2 ** 31);
  if (timeout !== undefined) a.timeout = timeout;
  const t0 = intArg('t0', o.t0, 1, 2 ** 31);
  if (t0 !== undefined) a.t0 = t0;
  if (o['log-level'] !== undefined) a.logLevel = o['log-level'] as LogLevel;
  return a;
}

/** Where `runCommandSend` writes and how it connects; {@link command} uses the process's. */
export interface CommandSendIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Connector factory (default: TCP). */
  connector?: (host: string, port: number) => Connector;
  clock?: Clock;
  /** Wall clock for the time tag (default: now). */
  wallClock?: () => Date;
}

/** The qualifiers of a system command as text, e.g. `QOI 20 (station)`, `RQT 5 FRZ 1 (general, freeze)`. */
function systemText(r: SystemRequest): string {
  switch (r.kind) {
    case 'read':
      return '';
    case 'clock-sync':
      return r.time ? r.time.toISOString() : 'now';
    case 'interrogation':
      return `QOI ${r.qoi} (${r.qoi === 20 ? 'station' : `group ${r.qoi! - 20}`})`;
    case 'counter-interrogation':
      return `RQT ${r.rqt} FRZ ${r.frz} (${r.rqt === 5 ? 'general' : `group ${r.rqt}`}, ${Object.keys(FRZ)[r.frz!]})`;
    case 'test-command':
      return r.timeTag ? '' : 'pattern 0x55AA';
    case 'reset-process':
      return `QRP ${r.qrp}${r.qrp === 1 ? ' (general reset)' : r.qrp === 2 ? ' (reset of pending time-tagged information)' : ''}`;
    case 'parameter-activation':
      return `QPA ${r.qpa}${r.qpa! >= 1 && r.qpa! <= 3 ? ` (${Object.keys(QPA)[r.qpa! - 1]})` : ''}`;
    default:
      return `${r.value} KPA ${r.kpa}${r.lpc ? ' LPC' : ''}${r.pop ? ' POP' : ''}`;
  }
}

function valueText(a: CommandArgs): string {
  if (a.system) return systemText(a.system);
  switch (a.kind) {
    case 'single':
    case 'double':
      return a.kind === 'single' ? (a.value ? 'ON' : 'OFF') : a.value === 2 ? 'ON' : 'OFF';
    case 'regulating':
      return a.value === 2 ? 'HIGHER' : 'LOWER';
    case 'bitstring':
      return `0x${(a.value as number).toString(16).padStart(8, '0').toUpperCase()}`;
    default:
      return String(a.value);
  }
}

/** Exit codes of `iec104 command`. */
export const EXIT = { POSITIVE: 0, USAGE: 2, NEGATIVE: 3, TIMEOUT: 4, CONNECTION: 5 } as const;

/**
 * Run `iec104 command` with `argv` (the arguments after `command`). Resolves to the exit code
 * ({@link EXIT}).
 */
export async function runCommandSend(argv: string[], io: CommandSendIo): Promise<number> {
  let a: CommandArgs;
  try {
    a = parseCommandArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`iec104 command: ${e.message}\n\nRun 'iec104 command --help' for usage.\n`);
    return EXIT.USAGE;
  }
  const logger = a.logLevel ? createLogger({ level: a.logLevel, format: 'pretty', write: (l) => io.stderr.write(l + '\n') }) : nullLogger;
  let connector: Connector;
  try {
    connector = io.connector ? io.connector(a.host, a.port) : tcpConnector(a.host, a.port, a.tls ? { tls: a.tls } : {});
  } catch (e) {
    if (!(e instanceof TlsConfigError)) throw e;
    io.stderr.write(`iec104 command: ${e.message}\n`);
    return EXIT.USAGE;
  }
  const audit = a.audit === undefined ? undefined : new AuditLog({ sink: a.audit === '-' ? { write: (l) => io.stderr.write(l + '\n') } : { file: a.audit } });
  const master = new ControllingStation({
    connector,
    audit,
    auditSource: 'iec104 command',
    clock: io.clock ?? systemClock,
    logger,
    wallClock: io.wallClock,
    params: a.t0 !== undefined ? { t0: a.t0 } : undefined,
    reconnect: false,
    requestTimeout: a.timeout,
    terminationTimeout: a.timeout,
  });
  const typeId = a.time ? (timedVariantOf(a.typeId) ?? a.typeId) : a.typeId;
  const type = typeName(typeId);
  const what = [type, `CA ${a.ca}`, a.kind !== 'system' || a.ioa !== 0 || a.system?.kind === 'read' ? `IOA ${a.ioa}` : '', valueText(a), a.deactivate ? '(deactivation)' : ''].filter(Boolean).join(' ');
  const base: Record<string, unknown> = { type, typeId, ca: a.ca, ioa: a.ioa, value: a.value, select: a.select, until: a.until };
  if (a.system) {
    const { kind: _k, time, value, ...q } = a.system;
    base.command = a.system.kind;
    base.value = value ?? null;
    base.qualifier = { ...q, ...(time ? { time: time.toISOString() } : {}) };
  }
  if (a.deactivate) base.deactivate = true;
  const conName = a.deactivate ? 'DEACT_CON' : 'ACT_CON';
  const rtts = (r: RoundTrip): string => (a.deactivate ? rttText(r).replace('ACT_CON', 'DEACT_CON') : rttText(r));
  const out = (code: number, text: string, json: Record<string, unknown>): number => {
    if (a.json) io.stdout.write(JSON.stringify({ ...base, ...json }) + '\n');
    else (code === EXIT.POSITIVE ? io.stdout : io.stderr).write(text + '\n');
    return code;
  };
  try {
    try {
      await master.connect();
    } catch (e) {
      return out(EXIT.CONNECTION, `connection failed: ${e instanceof Error ? e.message : String(e)}`, { outcome: 'connection-failed', error: e instanceof Error ? e.message : String(e) });
    }
    let r: CommandResult | ReadResult | InterrogationResult;
    try {
      r = await send(master, a, io.wallClock ?? (() => new Date()));
    } catch (e) {
      if (e instanceof NegativeConfirmationError) {
        const step = e.step === 'select' ? 'select ' : e.step === 'execute' ? 'execute ' : '';
        return out(EXIT.NEGATIVE, `negative: ${what}; ${step}refused with cause ${e.cot} ${cotName(e.cot)}${e.asdu.negative ? ' (P/N=1)' : ''} after ${msText(e.rtt)}`,
          { outcome: 'negative', step: e.step, cot: e.cot, cotName: cotName(e.cot), pn: e.asdu.negative, rtt: e.rtt });
      }
      if (e instanceof RequestTimeoutError) {
        const step = e.step === 'select' ? 'select: ' : e.step === 'execute' ? 'execute: ' : '';
        const missing = e.phase === 'actterm' ? 'ACT_TERM' : e.phase === 'response' ? 'response (the requested object)' : conName;
        return out(EXIT.TIMEOUT, `timeout: ${what}; ${step}no ${missing} within ${msText(e.elapsed)}${e.actConRtt !== undefined ? ` (${conName} after ${msText(e.actConRtt)})` : ''}`,
          { outcome: 'timeout', step: e.step, phase: e.phase, elapsed: e.elapsed, actConRtt: e.actConRtt });
      }
      if (e instanceof ConnectionLostError) return out(EXIT.CONNECTION, `connection lost: ${e.reason.code} ${e.reason.message}`, { outcome: 'connection-lost', reason: e.reason.code, error: e.reason.message });
      if (e instanceof MasterError && e.code === 'E_INVALID') {
        io.stderr.write(`iec104 command: ${e.message}\n`);
        return EXIT.USAGE;
      }
      throw e;
    }
    if ('response' in r) {
      const v = r.value;
      const q = qualityFlags(v.quality);
      return out(EXIT.POSITIVE, `positive: ${what}: ${v.type} ${valueOfPoint(v)} ${q === null ? '' : q.length ? q.join(',').toUpperCase() : 'ok'}; ${rtts(r.rtt)}`.replace(/ +;/, ';'), {
        outcome: 'positive', rtt: r.rtt, response: pointToJson(v),
      });
    }
    if ('objects' in r) {
      const lines = a.json ? [] : r.objects.map((p) => `  ${pointCells(p).filter((c, i) => i !== 6 || c !== '').join('  ')}`);
      const term = r.termination?.typeId === TYPE_ID_NOT_USED ? ' (terminated by an ACT_TERM of type ID 0 without object: non-standard, tolerated)' : '';
      return out(EXIT.POSITIVE, [`positive: ${what}: ${r.objects.length} objects${term}; ${rtts(r.rtt)}`, ...lines].join('\n'), {
        outcome: 'positive', rtt: r.rtt, objects: r.objects.map(pointToJson),
      });
    }
    const c = r as CommandResult;
    const parts = [c.select ? `select ${rtts(c.select.rtt)}` : '', `${c.select ? 'execute ' : ''}${rtts(c.rtt)}`].filter(Boolean);
    return out(EXIT.POSITIVE, `positive: ${what}; ${parts.join('; ')}`, {
      outcome: 'positive',
      rtt: { ...(c.select ? { select: c.select.rtt } : {}), ...c.rtt },
    });
  } finally {
    await master.close();
    await audit?.close();
  }
}

/** Send what the arguments ask for. */
function send(master: ControllingStation, a: CommandArgs, wallClock: () => Date): Promise<CommandResult | ReadResult | InterrogationResult> {
  const sys = a.system;
  const timing = { until: a.until };
  if (!sys) {
    if (a.deactivate) {
      const obj: Record<string, unknown> = { value: a.value };
      if (a.kind !== 'bitstring') obj.select = false;
      if (a.qu !== undefined) obj.qu = a.qu;
      if (a.ql !== undefined) obj.ql = a.ql;
      if (a.time) obj.time = cp56FromDate(wallClock());
      return master.deactivate(a.time ? (timedVariantOf(a.typeId) ?? a.typeId) : a.typeId, a.ca, a.ioa, obj);
    }
    const opts: CommandOptions = { until: a.until, sbo: a.select, time: a.time };
    if (a.qu !== undefined) opts.qu = a.qu;
    if (a.ql !== undefined) opts.ql = a.ql;
    return master.command(a.typeId, a.ca, a.ioa, { value: a.value }, opts);
  }
  switch (sys.kind) {
    case 'read':
      return master.read(a.ca, a.ioa);
    case 'clock-sync':
      return master.clockSync(a.ca, sys.time ?? wallClock(), timing);
    case 'interrogation':
      return a.deactivate ? master.deactivate(100, a.ca, 0, { qoi: sys.qoi }) : master.interrogation(a.ca, sys.qoi, timing);
    case 'counter-interrogation':
      return master.counterInterrogation(a.ca, { rqt: sys.rqt, frz: sys.frz }, timing);
    case 'test-command':
      return master.testCommand(a.ca, { ...timing, timeTag: sys.timeTag });
    case 'reset-process':
      return master.resetProcess(a.ca, sys.qrp, timing);
    case 'parameter-activation':
      return master.parameterActivation(a.ca, a.ioa, sys.qpa!, { ...timing, deactivate: a.deactivate });
    default:
      return master.parameter(a.typeId as 110 | 111 | 112, a.ca, a.ioa, sys.value!, { kpa: sys.kpa!, lpc: sys.lpc, pop: sys.pop }, timing);
  }
}

/** A read value as text (ON/OFF, DPI names, numbers). */
function valueOfPoint(p: PointValue): string {
  return pointCells(p)[3];
}

/** The `command` sub-command. */
export const command: CliCommand = {
  summary: 'send one command (process, read, clock sync, (counter) interrogation, test, reset, parameter, deactivation) and report the outcome',
  help: HELP,
  run: (argv) => runCommandSend(argv, { stdout: process.stdout, stderr: process.stderr }),
};
