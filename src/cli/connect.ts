/**
 * `iec104 connect HOST[:PORT]`: connect as controlling station, STARTDT, general interrogation,
 * then show the data live (a redrawn table on a terminal, appended lines otherwise, or JSON lines).
 */
import { TLS_CLI_OPTIONS, UsageError, intArg, hostPortArg, targetArg, tlsConfigFromArgs, tlsHelp, asUsage } from './args.js';
import { parseArgs } from 'node:util';
import type { Asdu } from '../codec/asdu.js';
import { typeInfo, typeName } from '../codec/type-table.js';
import { toJsonValue } from '../codec/json-view.js';
import { type Clock, systemClock } from '../clock.js';
import { type LogLevel, createLogger, nullLogger } from '../log.js';
import type { Connector } from '../master/connection.js';
import { COT, cotName } from '../codec/cause.js';
import { NegativeConfirmationError, RequestTimeoutError } from '../master/errors.js';
import { POINT_COLUMNS, formatTable, pointCells, pointToJson, rttText } from '../master/format.js';
import { ControllingStation, type InterrogationResult } from '../master/master.js';
import { PointImage, toPointValues } from '../master/points.js';
import { IEC104_PORT, tcpConnector } from '../master/tcp.js';
import { RedundancyGroup } from '../master/redundancy-group.js';
import { DEFAULT_TLS_PORT, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';
import { TlsSecurity } from '../transport/tls-verify.js';
import type { CliCommand } from './command.js';
import { startUi, takeUiFlags, UI_HELP, type UiFlags } from './ui.js';
import type { Workbench } from '../web/server.js';
import { parseMetricsAddress, startMetricsEndpoint, type MetricsServer } from '../outputs/metrics.js';
import { masterMetrics } from '../outputs/live-metrics.js';
import { checkPublishArgs, closeFleetSensor, openFleetSensor, PUBLISH_HELP, type PublishArgs, takePublishArgs } from './publish.js';

const HELP = `usage: iec104 connect HOST[:PORT] [options]

Connect to a controlled station (outstation) as controlling station, start data transfer
(STARTDT), send a general interrogation (C_IC_NA_1, QOI 20) and show every received
object live until interrupted (Ctrl-C).

options:
${UI_HELP}
  --ca N            common address for the interrogation (default 65535, the broadcast
                    address; answers from any common address are shown)
  --no-gi           do not send the general interrogation
  --qoi N           qualifier of interrogation, 20 (station) or 21..36 (group 1..16)
  --json            one JSON line per received object on stdout:
                    {"ca","ioa","type","typeId","value","quality","time","cot"}
                    (quality: list of set flags, [] when good; time: ISO text or null),
                    and one record per confirmation and termination the station sends
                    and per interrogation outcome, told apart by "kind":
                    {"kind":"confirmation","type","typeId","ca","ioa","cot","cotName",
                     "positive","qualifier","at"}   (ACT_CON/DEACT_CON, or refusal 44..47)
                    {"kind":"termination", ...same fields}   (ACT_TERM)
                    {"kind":"interrogation","ca","qoi","outcome":"terminated"|"refused"|
                     "timeout","objects","rtt","cot"?}   (our interrogation's end)
                    (at: ISO 8601 UTC reception time; points have no "kind")
  --table           redraw a table of the last value of every point (default on a terminal)
  --lines           append one line per received object (default when not a terminal)
  --reconnect       reconnect with back-off when the connection is lost or cannot be
                    made, and repeat the interrogation (default: exit 5)
  --reconnect-min MS  first reconnect delay (default 1000); doubles per failed attempt
  --reconnect-max MS  longest reconnect delay (default 30000)
  --duration MS     stop after MS milliseconds
  --t0 MS           connection establishment time-out (default 30000)
  --timeout MS      time allowed for the interrogation's confirmation and termination
                    (default 15000 and 60000)
  --port N          port, when not given as HOST:PORT (default ${IEC104_PORT}, ${DEFAULT_TLS_PORT} with --tls)
  --standby H[:P]   redundancy group: also connect to this endpoint (repeatable), kept
                    connected and stopped (TESTFR); when the active connection fails,
                    a standby is started (failover) and the interrogation repeated
  --log-level L     write link/master logs to stderr: debug, info, warn, error
  --metrics [ADDR:]PORT
                    serve Prometheus metrics at http://ADDR:PORT/metrics (APDUs and octets
                    in/out, requests by outcome, connection state; docs/outputs.md)
  -h, --help        this text

TLS:
${tlsHelp('--tls-ca')}

${PUBLISH_HELP}
                        (connect: every received point value, and health with the
                        number of ASDUs received; no inventory, that comes from the
                        passive monitor of analyze and proxy)

example:
  $ iec104 connect 10.0.0.5 --ca 1
  $ iec104 connect 10.0.0.5 --reconnect --lines --publish mqtt://broker.example --site north
  $ iec104 connect 10.0.0.5:2404 --json | jq 'select(.type == "M_ME_NC_1")'
  $ iec104 connect 10.0.0.5 --tls --cert client.crt --key client.key --tls-ca ca.crt
  $ iec104 connect 10.0.0.5 --standby 10.0.0.6 --reconnect
  $ iec104 connect 10.0.0.5 --reconnect --reconnect-min 500 --reconnect-max 5000
  $ iec104 connect 10.0.0.5 --ca 1 --json | jq -c 'select(.kind == "interrogation")'
  {"kind":"interrogation","ca":1,"qoi":20,"outcome":"terminated","objects":41,...}

Status messages (connected, interrogation confirmed/terminated with round-trip times,
disconnections) go to stderr.

A station whose interrogations end with an ACT_TERM of type ID 0 and no object (some
stations built on a widely used C library do) is tolerated: the interrogation completes
with a warning in the log (--log-level warn).

exit codes:
  0  stopped (Ctrl-C or --duration)
  1  the --metrics port could not be opened, or the --buffer-dir cannot be used
  2  usage error
  3  the interrogation was refused (negative confirmation, e.g. cause 46 unknown common
     address: a station that does not accept the broadcast address 65535 needs --ca N)
  5  connection failure, or connection lost without --reconnect`;

/** Parsed `iec104 connect` arguments. */
export interface ConnectArgs {
  host: string;
  port: number;
  /** Common address for the interrogation. */
  ca: number;
  gi: boolean;
  qoi: number;
  json: boolean;
  /** `table` redraws, `lines` appends; undefined = by terminal. */
  view: 'table' | 'lines' | undefined;
  reconnect: boolean;
  /** Reconnect back-off: first delay and ceiling (ms). */
  reconnectMin?: number;
  reconnectMax?: number;
  duration?: number;
  t0?: number;
  timeout?: number;
  logLevel?: LogLevel;
  /** Mutual TLS. */
  tls?: TlsConfig;
  /** Standby endpoints of a redundancy group. */
  standby: { host: string; port: number }[];
  /** `--metrics [ADDR:]PORT`. */
  metrics?: { host: string; port: number };
}

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Parse `iec104 connect` arguments. Throws {@link UsageError}. */
export function parseConnectArgs(argv: string[]): ConnectArgs {
  const v = asUsage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ca: { type: 'string' },
        'no-gi': { type: 'boolean' },
        qoi: { type: 'string' },
        json: { type: 'boolean' },
        table: { type: 'boolean' },
        lines: { type: 'boolean' },
        reconnect: { type: 'boolean' },
        'reconnect-min': { type: 'string' },
        'reconnect-max': { type: 'string' },
        duration: { type: 'string' },
        metrics: { type: 'string' },
        t0: { type: 'string' },
        timeout: { type: 'string' },
        port: { type: 'string' },
        'log-level': { type: 'string' },
        standby: { type: 'string', multiple: true },
        ...TLS_CLI_OPTIONS,
      },
    }),
  );
  const o = v.values;
  const tls = tlsConfigFromArgs(o);
  const hp = targetArg(v.positionals, o.port, tls !== undefined);
  const standby = (o.standby ?? []).map((s) => hostPortArg(s, hp.defaultPort));
  if (o.table && (o.lines || o.json)) throw new UsageError('--table cannot be combined with --lines or --json');
  const level = o['log-level'];
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
  const a: ConnectArgs = {
    host: hp.host,
    port: hp.port,
    ca: intArg('ca', o.ca, 0, 65535) ?? 65535,
    gi: !o['no-gi'],
    qoi: intArg('qoi', o.qoi, 20, 36) ?? 20,
    json: o.json ?? false,
    view: o.table ? 'table' : o.lines ? 'lines' : undefined,
    reconnect: o.reconnect ?? false,
    standby,
  };
  if (tls) a.tls = tls;
  const rmin = intArg('reconnect-min', o['reconnect-min'], 1, 2 ** 31);
  const rmax = intArg('reconnect-max', o['reconnect-max'], 1, 2 ** 31);
  if ((rmin !== undefined || rmax !== undefined) && !a.reconnect) throw new UsageError('--reconnect-min and --reconnect-max need --reconnect');
  if (rmin !== undefined && rmax !== undefined && rmin > rmax) throw new UsageError(`--reconnect-min (${rmin}) is larger than --reconnect-max (${rmax})`);
  if (rmin !== undefined) a.reconnectMin = rmin;
  if (rmax !== undefined) a.reconnectMax = rmax;
  const duration = intArg('duration', o.duration, 1, 2 ** 31);
  if (duration !== undefined) a.duration = duration;
  const t0 = intArg('t0', o.t0, 1, 2 ** 31);
  if (t0 !== undefined) a.t0 = t0;
  const timeout = intArg('timeout', o.timeout, 1, 2 ** 31);
  if (timeout !== undefined) a.timeout = timeout;
  if (level !== undefined) a.logLevel = level as LogLevel;
  if (o.metrics !== undefined) {
    const m = parseMetricsAddress(o.metrics);
    if (typeof m === 'string') throw new UsageError(m);
    a.metrics = m;
  }
  return a;
}

/** Where `runConnect` writes and how it connects; {@link command} uses the process's. */
export interface ConnectIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Whether stdout is a terminal (then the table view is the default). */
  isTTY: boolean;
  /** Stops the session (Ctrl-C). */
  signal?: AbortSignal;
  /** Connector factory (default: TCP). */
  connector?: (host: string, port: number) => Connector;
  clock?: Clock;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Run `iec104 connect` with `argv` (the arguments after `connect`). Resolves to the exit code
 * (0 stopped, 2 usage, 5 connection failure or lost).
 */
export async function runConnect(argvIn: string[], io: ConnectIo): Promise<number> {
  let args: ConnectArgs;
  const argv = [...argvIn];
  let ui: UiFlags;
  let pub: PublishArgs | string;
  try {
    ui = takeUiFlags(argv);
    pub = takePublishArgs(argv);
    if (typeof pub === 'string') throw new UsageError(pub);
    args = parseConnectArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`iec104 connect: ${e.message}\n\nRun 'iec104 connect --help' for usage.\n`);
    return 2;
  }
  const publish = pub;
  const publishError = await checkPublishArgs(publish, 'connect');
  if (publishError !== undefined) {
    io.stderr.write(`iec104 connect: ${publishError}\n\nRun 'iec104 connect --help' for usage.\n`);
    return 2;
  }
  const clock = io.clock ?? systemClock;
  const logger = args.logLevel ? createLogger({ level: args.logLevel, format: 'pretty', write: (l) => io.stderr.write(l + '\n') }) : nullLogger;
  let security: TlsSecurity | undefined;
  try {
    security = args.tls ? new TlsSecurity(args.tls, { logger: logger.child({ component: 'tls' }) }) : undefined;
  } catch (e) {
    if (!(e instanceof TlsConfigError)) throw e;
    io.stderr.write(`iec104 connect: ${e.message}\n`);
    return 2;
  }
  // the negotiated TLS version and suite (with a warning without forward secrecy) and renegotiations
  security?.events.onSession((e) =>
    io.stderr.write(`iec104 connect: TLS ${e.event === 'renegotiated' ? `renegotiated (${e.renegotiations}, by ${e.initiator === 'local' ? 'us' : 'the station'})` : 'session'}: ${e.tls.version} ${e.tls.cipher}${e.tls.resumed ? ' resumed' : ''}${e.warning && e.event === 'established' ? `; WARNING ${e.warning}` : ''}\n`),
  );
  const view = args.json ? 'json' : (args.view ?? (io.isTTY ? 'table' : 'lines'));
  const connectorOf = io.connector ?? ((h: string, p: number) => tcpConnector(h, p, security ? { tls: security } : {}));
  const common = {
    clock, logger,
    params: args.t0 !== undefined ? { t0: args.t0 } : undefined,
    reconnect: args.reconnect ? { ...(args.reconnectMin !== undefined ? { min: args.reconnectMin, max: Math.max(args.reconnectMin, args.reconnectMax ?? 30_000) } : {}), ...(args.reconnectMax !== undefined ? { max: args.reconnectMax } : {}) } : false,
    requestTimeout: args.timeout, terminationTimeout: args.timeout,
  };
  let metrics: MetricsServer | undefined;
  const withMetrics = async (masters: readonly ControllingStation[], run: () => Promise<number>): Promise<number> => {
    let wb: Workbench | undefined;
    try {
      // the workbench shows the first master (with --standby: the first endpoint)
      const peer = `${args.host}:${args.port}`;
      wb = await startUi(ui, { master: masters[0], masterPeer: peer, title: `iec104 connect ${peer}` });
    } catch (e) {
      io.stderr.write(`iec104 connect: ${(e as Error).message}\n`);
      return 1;
    }
    if (args.metrics) {
      const m = await startMetricsEndpoint(args.metrics, (reg) => masterMetrics(reg, masters), (l) => io.stderr.write(`iec104 connect: ${l}\n`));
      if (typeof m === 'string') {
        io.stderr.write(`iec104 connect: ${m}\n`);
        await wb?.close();
        return 1;
      }
      metrics = m;
    }
    const fleetLog = (l: string): unknown => io.stderr.write(`iec104 connect: ${l}\n`);
    const fleet = await openFleetSensor(publish, fleetLog);
    if (typeof fleet === 'string') {
      io.stderr.write(`iec104 connect: ${fleet}\n`);
      await metrics?.close();
      await wb?.close();
      return 1;
    }
    if (fleet) {
      // received point values, each with the address of the endpoint that sent it
      const names = [`${args.host}:${args.port}`, ...args.standby.map((e) => `${e.host}:${e.port}`)];
      let asdus = 0;
      masters.forEach((m, i) =>
        m.on('asdu', (a: Asdu) => {
          asdus++;
          fleet.points(a, names[i] ?? names[0], Date.now());
        }),
      );
      fleet.setCounters(() => ({ asdusReceived: asdus, connected: masters.filter((m) => m.snapshot().state === 'started').length }));
    }
    try {
      return await run();
    } finally {
      await metrics?.close();
      await wb?.close();
      await closeFleetSensor(fleet, publish, fleetLog);
    }
  };
  if (args.standby.length > 0) {
    const endpoints = [{ host: args.host, port: args.port }, ...args.standby];
    const group = new RedundancyGroup({ ...common, endpoints: endpoints.map((e) => ({ connector: connectorOf(e.host, e.port), name: `${e.host}:${e.port}` })) });
    return withMetrics(group.members, () => runView(args, io, clock, view, group, {
      attach(status, finish, isDone, gi) {
        group.on('active', (i) => {
          status(`${i.name} active (${i.reason}): data transfer started`);
          gi(group);
        });
        group.on('failover', (f) => {
          status(`failover: ${group.names[f.from]} failed (${f.reason})${f.to === undefined ? ': no connected standby' : `, starting ${group.names[f.to]}`}`);
          if (f.to === undefined && !args.reconnect && !isDone()) finish(5);
        });
        group.connect().then(
          () => status(`redundancy group: ${endpoints.length} endpoints, active ${group.names[group.activeIndex ?? 0]}`),
          (e: unknown) => {
            if (isDone()) return;
            status(`connection failed: ${errText(e)}`);
            finish(5);
          },
        );
      },
    }));
  }
  const master = new ControllingStation({ ...common, connector: connectorOf(args.host, args.port) });
  return withMetrics([master], () => runView(args, io, clock, view, master, {
    attach(status, finish, isDone, gi) {
      master.on('connected', () => status(`connected to ${args.host}:${args.port}`));
      master.on('reconnecting', (i) => status(`reconnecting in ${i.delay} ms (attempt ${i.attempt})`));
      master.on('connectFailed', (e) => {
        if (args.reconnect) status(`connection failed: ${e.message}`);
      });
      master.on('disconnected', (r) => {
        if (isDone()) return;
        status(`disconnected: ${r.code} ${r.message}`);
        if (!args.reconnect) finish(5);
      });
      master.on('started', () => {
        status('data transfer started');
        gi(master);
      });
      master.connect().then(
        () => {},
        (e: unknown) => {
          if (isDone()) return;
          status(`connection failed: ${errText(e)}`);
          finish(5);
        },
      );
    },
  }));
}

/** What `runView` needs of a master or a redundancy group. */
interface ViewSource {
  on(event: 'asdu', listener: (a: Asdu) => void): unknown;
  interrogation(ca: number, qoi: number): Promise<InterrogationResult>;
  close(): Promise<void>;
}

type StatusFn = (s: string) => void;

function runView(
  args: ConnectArgs, io: ConnectIo, clock: Clock, view: 'json' | 'table' | 'lines', source: ViewSource,
  wiring: { attach(status: StatusFn, finish: (code: number) => void, isDone: () => boolean, gi: (s: ViewSource) => void): void },
): Promise<number> {
  const master = source;
  const status = (s: string): void => {
    io.stderr.write(`iec104 connect: ${s}\n`);
  };
  const image = new PointImage();
  let lastDraw = 0;
  let drawTimer: ReturnType<Clock['setTimeout']> | undefined;
  const draw = (): void => {
    drawTimer = undefined;
    lastDraw = clock.now();
    const rows = image.values().map(pointCells);
    io.stdout.write(`\x1b[H\x1b[2J${args.host}:${args.port}  ${rows.length} points\n\n${formatTable(POINT_COLUMNS, rows)}\n`);
  };
  /** Common addresses seen in received data (suggested when a broadcast interrogation is refused). */
  const seenCas = new Set<number>();
  const onAsdu = (a: Asdu): void => {
    const answer = answerKind(a);
    if (answer) {
      // confirmations and terminations: records in JSON, status on stderr otherwise
      if (view === 'json') io.stdout.write(JSON.stringify(answerRecord(answer, a)) + '\n');
      return;
    }
    if (typeInfo(a.typeId)?.direction === 'control') return;
    seenCas.add(a.ca);
    const values = toPointValues(a, clock.now());
    if (view === 'json') {
      for (const p of values) io.stdout.write(JSON.stringify(pointToJson(p)) + '\n');
    } else if (view === 'lines') {
      for (const p of values) io.stdout.write(pointCells(p).filter((c, i) => i !== 6 || c !== '').join('  ') + '\n');
    } else if (image.update(a, clock.now()) > 0 && drawTimer === undefined) {
      // redraw at most 5 times a second
      drawTimer = clock.setTimeout(draw, Math.max(0, 200 - (clock.now() - lastDraw)));
    }
  };
  master.on('asdu', onAsdu);

  return new Promise<number>((resolve) => {
    let done = false;
    let durationTimer: ReturnType<Clock['setTimeout']> | undefined;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(durationTimer);
      clock.clearTimeout(drawTimer);
      io.signal?.removeEventListener('abort', onAbort);
      master.close().then(() => resolve(code), () => resolve(code));
    };
    const onAbort = (): void => finish(0);
    if (io.signal?.aborted) {
      finish(0);
      return;
    }
    io.signal?.addEventListener('abort', onAbort, { once: true });
    if (args.duration !== undefined) durationTimer = clock.setTimeout(() => finish(0), args.duration);

    const record = (r: Record<string, unknown>): void => {
      if (view === 'json') io.stdout.write(JSON.stringify({ kind: 'interrogation', ca: args.ca, qoi: args.qoi, ...r }) + '\n');
    };
    wiring.attach(status, finish, () => done, (src) => {
      if (!args.gi) return;
      src.interrogation(args.ca, args.qoi).then(
        (r) => {
          if (r.termination?.typeId === 0) status('interrogation terminated by an ACT_TERM of type ID 0 without object (non-standard; tolerated)');
          status(`interrogation terminated: ${r.objects.length} objects (${rttText(r.rtt)})`);
          record({ outcome: 'terminated', objects: r.objects.length, rtt: r.rtt });
        },
        (e: unknown) => {
          if (done) return;
          if (e instanceof NegativeConfirmationError) {
            status(refusalText(args.ca, e, seenCas));
            record({ outcome: 'refused', cot: e.cot, cotName: cotName(e.cot), rtt: { actCon: e.rtt } });
            finish(3);
            return;
          }
          status(`interrogation: ${errText(e)}`);
          if (e instanceof RequestTimeoutError) record({ outcome: 'timeout', phase: e.phase, elapsed: e.elapsed });
        },
      );
    });
  });
}

/** A confirmation (ACT_CON, DEACT_CON or a refusal 44..47) or a termination (ACT_TERM) the station sent. */
function answerKind(a: Asdu): 'confirmation' | 'termination' | undefined {
  const control = typeInfo(a.typeId)?.direction === 'control' || (a.typeId === 0 && a.objects.length === 0);
  if (!control) return undefined;
  if (a.cot === COT.ACTIVATION_TERMINATION) return 'termination';
  if (a.cot === COT.ACTIVATION_CON || a.cot === COT.DEACTIVATION_CON || (a.cot >= COT.UNKNOWN_TYPE && a.cot <= COT.UNKNOWN_IOA)) return 'confirmation';
  return undefined;
}

function answerRecord(kind: 'confirmation' | 'termination', a: Asdu): Record<string, unknown> {
  const o = a.objects[0];
  const qualifier = o ? Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'ioa')) : null;
  return {
    kind, type: typeName(a.typeId), typeId: a.typeId, ca: a.ca, ioa: o?.ioa ?? null, cot: a.cot, cotName: cotName(a.cot),
    positive: !a.negative && !(a.cot >= COT.UNKNOWN_TYPE && a.cot <= COT.UNKNOWN_IOA),
    qualifier: qualifier && Object.keys(qualifier).length ? toJsonValue(qualifier) : null,
    at: new Date().toISOString(),
  };
}

/** What to tell a user whose interrogation was refused, with the common addresses seen in data. */
function refusalText(ca: number, e: NegativeConfirmationError, seen: ReadonlySet<number>): string {
  const why = `cause ${e.cot} ${cotName(e.cot)}${e.asdu.negative ? ', P/N=1' : ''}`;
  if (ca === 0xffff && e.cot === COT.UNKNOWN_CA) {
    const cas = [...seen].filter((c) => c !== 0xffff).sort((x, y) => x - y);
    return `the station refused the broadcast interrogation (CA 65535: ${why}): it does not accept the broadcast address; run again with --ca N, N its common address${cas.length ? ` (data came from CA ${cas.join(', ')}: --ca ${cas[0]})` : ''}`;
  }
  if (e.cot === COT.UNKNOWN_CA) return `the station refused the interrogation of CA ${ca} (${why}): it has no common address ${ca}; check --ca`;
  return `the station refused the interrogation of CA ${ca} (${why})${e.cot === COT.UNKNOWN_TYPE ? '; it does not support interrogations: use --no-gi' : ''}`;
}

/** The `connect` sub-command. */
export const command: CliCommand = {
  summary: 'connect as controlling station: STARTDT, interrogation, live data',
  help: HELP,
  run: (argv) => {
    const ac = new AbortController();
    const onSigint = (): void => ac.abort();
    // a reader that went away (`| head`): stop like Ctrl-C instead of dying on EPIPE
    const onStdoutError = (e: NodeJS.ErrnoException): void => {
      if (e.code === 'EPIPE') ac.abort();
      else throw e;
    };
    process.once('SIGINT', onSigint);
    process.stdout.on('error', onStdoutError);
    return runConnect(argv, { stdout: process.stdout, stderr: process.stderr, isTTY: process.stdout.isTTY === true, signal: ac.signal }).finally(() => {
      process.off('SIGINT', onSigint);
      process.stdout.off('error', onStdoutError);
    });
  },
};
