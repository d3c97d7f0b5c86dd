/**
 * `iec104 command HOST[:PORT] --ca N --ioa N --single on ...`: send one process command as
 * controlling station and report the outcome with its round-trip times.
 */
import { parseArgs } from 'node:util';
import { cotName } from '../codec/cause.js';
import { typeName } from '../codec/type-table.js';
import { type Clock, systemClock } from '../clock.js';
import { type LogLevel, createLogger, nullLogger } from '../log.js';
import type { Connector } from '../master/connection.js';
import { ConnectionLostError, MasterError, NegativeConfirmationError, RequestTimeoutError } from '../master/errors.js';
import { msText, rttText } from '../master/format.js';
import { type CommandOptions, type CommandResult, ControllingStation } from '../master/master.js';
import { IEC104_PORT, parseHostPort, tcpConnector } from '../master/tcp.js';
import { AuditLog } from '../transport/audit-log.js';
import { DEFAULT_TLS_PORT, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';
import type { CliCommand } from './command.js';
import { COMMAND_VALUE_OPTIONS, TLS_CLI_OPTIONS, UsageError, intArg, joinNegativeValues, tlsConfigFromArgs, tlsHelp } from './args.js';

const HELP = `usage: iec104 command HOST[:PORT] --ca N --ioa N COMMAND [options]

Connect as controlling station, start data transfer, send one process command and
print the outcome (positive / negative with its cause / timeout) with the round-trip
time(s) measured from sending the command.

COMMAND (exactly one):
  --single on|off              single command C_SC_NA_1 (45)
  --double on|off              double command C_DC_NA_1 (46)
  --step higher|lower          regulating step command C_RC_NA_1 (47)
  --setpoint-normalized V      set-point, normalized value -1..+1, C_SE_NA_1 (48)
  --setpoint-scaled V          set-point, scaled value -32768..32767, C_SE_NB_1 (49)
  --setpoint-float V           set-point, short floating point, C_SE_NC_1 (50)
  --bitstring HEX              bitstring of 32 bit, C_BO_NA_1 (51), e.g. 0x0000FF00

options:
  --ca N             common address (required)
  --ioa N            information object address (required)
  --select           select before operate: select (S/E=1), wait for a positive
                     ACT_CON, then execute (not for --bitstring)
  --time             send the variant with time tag CP56Time2a (58..64), time = now (UTC)
  --qu N             qualifier of command 0..31 (single, double, step): 0 none,
                     1 short pulse, 2 long pulse, 3 persistent
  --ql N             qualifier of set-point 0..127
  --until actcon|actterm
                     succeed at the activation confirmation (default) or wait for
                     the activation termination
  --timeout MS       time allowed for each answer (default 15000)
  --t0 MS            connection establishment time-out (default 30000)
  --port N           port, when not given as HOST:PORT (default ${IEC104_PORT}, ${DEFAULT_TLS_PORT} with --tls)
  --json             print the outcome as one JSON object
  --audit FILE|-     append an audit record of the command and its outcome (JSON line)
                     to FILE, or to stderr with -
  --log-level L      write link/master logs to stderr: debug, info, warn, error
  -h, --help         this text

TLS:
${tlsHelp('--tls-ca')}

examples:
  $ iec104 command 10.0.0.5 --ca 1 --ioa 5000 --single on --select
  positive: C_SC_NA_1 CA 1 IOA 5000 ON; select ACT_CON 14 ms; execute ACT_CON 12 ms
  $ iec104 command 10.0.0.5:2404 --ca 1 --ioa 6001 --setpoint-float 49.5 --time --until actterm --json
  $ iec104 command 10.0.0.5 --tls --cert client.crt --key client.key --tls-ca ca.crt --ca 1 --ioa 5000 --single on

exit codes:
  0  positive confirmation (and termination with --until actterm)
  2  usage error
  3  negative confirmation (P/N=1, or cause 44..47), of the select or the command
  4  timeout: no confirmation (or termination) in time
  5  connection failure (refused, t0 elapsed, STARTDT not confirmed, connection lost)`;

/** The command kinds of the CLI. */
export type CommandKind = 'single' | 'double' | 'step' | 'setpoint-normalized' | 'setpoint-scaled' | 'setpoint-float' | 'bitstring';
const KINDS: CommandKind[] = ['single', 'double', 'step', 'setpoint-normalized', 'setpoint-scaled', 'setpoint-float', 'bitstring'];

/** Parsed `iec104 command` arguments. */
export interface CommandArgs {
  host: string;
  port: number;
  ca: number;
  ioa: number;
  kind: CommandKind;
  /** The value as sent: boolean (single), 1/2 (double OFF/ON, step LOWER/HIGHER), or a number. */
  value: boolean | number;
  /** Base type identification (45..51). */
  typeId: number;
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

const BASE_TYPE: Record<CommandKind, number> = { single: 45, double: 46, step: 47, 'setpoint-normalized': 48, 'setpoint-scaled': 49, 'setpoint-float': 50, bitstring: 51 };

function parseValue(kind: CommandKind, text: string): boolean | number {
  const t = text.trim().toLowerCase();
  const fail = (what: string): never => {
    throw new UsageError(`--${kind} expects ${what}, not '${text}'`);
  };
  switch (kind) {
    case 'single':
      return t === 'on' || t === '1' ? true : t === 'off' || t === '0' ? false : fail('on or off');
    case 'double':
      return t === 'on' ? 2 : t === 'off' ? 1 : fail('on or off');
    case 'step':
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
  let v;
  try {
    v = parseArgs({
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
        ...TLS_CLI_OPTIONS,
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const o = v.values;
  if (v.positionals.length !== 1) throw new UsageError(v.positionals.length === 0 ? 'HOST[:PORT] is missing' : `one HOST[:PORT] expected, got ${v.positionals.join(' ')}`);
  const tls = tlsConfigFromArgs(o);
  let hp;
  try {
    hp = parseHostPort(v.positionals[0], intArg('port', o.port, 1, 65535) ?? (tls ? DEFAULT_TLS_PORT : IEC104_PORT));
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const given = KINDS.filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw new UsageError(given.length === 0 ? `a command is missing (one of ${KINDS.map((k) => `--${k}`).join(', ')})` : `only one command at a time, got ${given.map((k) => `--${k}`).join(' and ')}`);
  const kind = given[0];
  const ca = intArg('ca', o.ca, 0, 65535);
  if (ca === undefined) throw new UsageError('--ca is required');
  const ioa = intArg('ioa', o.ioa, 0, 0xffffff);
  if (ioa === undefined) throw new UsageError('--ioa is required');
  const until = o.until ?? 'actcon';
  if (until !== 'actcon' && until !== 'actterm') throw new UsageError(`--until must be actcon or actterm, not '${until}'`);
  if (o.select && kind === 'bitstring') throw new UsageError('--select does not apply to --bitstring (no S/E bit)');
  const qu = intArg('qu', o.qu, 0, 31);
  if (qu !== undefined && kind !== 'single' && kind !== 'double' && kind !== 'step') throw new UsageError('--qu applies to --single, --double and --step');
  const ql = intArg('ql', o.ql, 0, 127);
  if (ql !== undefined && !kind.startsWith('setpoint-')) throw new UsageError('--ql applies to the --setpoint-* commands');
  const level = o['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be one of debug, info, warn, error');
  const a: CommandArgs = {
    host: hp.host, port: hp.port, ca, ioa, kind,
    value: parseValue(kind, o[kind] as string),
    typeId: BASE_TYPE[kind],
    select: o.select ?? false,
    time: o.time ?? false,
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

function valueText(a: CommandArgs): string {
  switch (a.kind) {
    case 'single':
    case 'double':
      return a.kind === 'single' ? (a.value ? 'ON' : 'OFF') : a.value === 2 ? 'ON' : 'OFF';
    case 'step':
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
  const type = typeName(a.time ? a.typeId + 13 : a.typeId);
  const what = `${type} CA ${a.ca} IOA ${a.ioa} ${valueText(a)}`;
  const base = { type, typeId: a.time ? a.typeId + 13 : a.typeId, ca: a.ca, ioa: a.ioa, value: a.value, select: a.select, until: a.until };
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
    const opts: CommandOptions = { until: a.until, sbo: a.select, time: a.time };
    if (a.qu !== undefined) opts.qu = a.qu;
    if (a.ql !== undefined) opts.ql = a.ql;
    let r: CommandResult;
    try {
      r = await master.command(a.typeId, a.ca, a.ioa, { value: a.value }, opts);
    } catch (e) {
      if (e instanceof NegativeConfirmationError) {
        const step = e.step === 'select' ? 'select ' : e.step === 'execute' ? 'execute ' : '';
        return out(EXIT.NEGATIVE, `negative: ${what}; ${step}refused with cause ${e.cot} ${cotName(e.cot)}${e.asdu.negative ? ' (P/N=1)' : ''} after ${msText(e.rtt)}`,
          { outcome: 'negative', step: e.step, cot: e.cot, cotName: cotName(e.cot), pn: e.asdu.negative, rtt: e.rtt });
      }
      if (e instanceof RequestTimeoutError) {
        const step = e.step === 'select' ? 'select: ' : e.step === 'execute' ? 'execute: ' : '';
        return out(EXIT.TIMEOUT, `timeout: ${what}; ${step}no ${e.phase === 'actterm' ? 'ACT_TERM' : 'ACT_CON'} within ${msText(e.elapsed)}${e.actConRtt !== undefined ? ` (ACT_CON after ${msText(e.actConRtt)})` : ''}`,
          { outcome: 'timeout', step: e.step, phase: e.phase, elapsed: e.elapsed, actConRtt: e.actConRtt });
      }
      if (e instanceof ConnectionLostError) return out(EXIT.CONNECTION, `connection lost: ${e.reason.code} ${e.reason.message}`, { outcome: 'connection-lost', reason: e.reason.code, error: e.reason.message });
      if (e instanceof MasterError && e.code === 'E_INVALID') {
        io.stderr.write(`iec104 command: ${e.message}\n`);
        return EXIT.USAGE;
      }
      throw e;
    }
    const parts = [r.select ? `select ${rttText(r.select.rtt)}` : '', `${r.select ? 'execute ' : ''}${rttText(r.rtt)}`].filter(Boolean);
    return out(EXIT.POSITIVE, `positive: ${what}; ${parts.join('; ')}`, {
      outcome: 'positive',
      rtt: { ...(r.select ? { select: r.select.rtt } : {}), ...r.rtt },
    });
  } finally {
    await master.close();
    await audit?.close();
  }
}

/** The `command` sub-command. */
export const command: CliCommand = {
  summary: 'send one command (single/double/step/set-point/bitstring) and report the outcome',
  help: HELP,
  run: (argv) => runCommandSend(argv, { stdout: process.stdout, stderr: process.stderr }),
};
