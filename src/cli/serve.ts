/**
 * `iec104 serve`: an RTU simulator. Loads a station configuration (YAML or JSON, see
 * src/station/config.ts), listens for IEC 104 masters, simulates changes, executes commands
 * according to the configured behaviour.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { createLogger, type LogLevel } from '../log.js';
import { type ListenFileConfig, StationConfigError, parseStationConfig, validateRolesConfig } from '../station/config.js';
import { activeMisbehaviours, MISBEHAVIOUR_NAMES, parseMisbehaviourList, type StationMisbehaviour } from '../station/misbehave.js';
import { startSimulations } from '../station/simulator.js';
import { folderFiles, FolderFilesError } from '../station/file-folder.js';
import { createStation, type RedundancyStats, StationError, type StationListener, type StationListenOptions } from '../station/station.js';
import { AccessRuleError } from '../transport/access-control.js';
import { AuditLog, type AuditSink, type CommandAuditRecord } from '../transport/audit-log.js';
import { normalizeFingerprint, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';
import type { CliCommand } from './command.js';
import { startUi, takeUiFlags, UI_HELP, type UiFlags } from './ui.js';
import type { Workbench } from '../web/server.js';
import { tlsConfigFromArgs, tlsHelp } from './args.js';
import { parseMetricsAddress, startMetricsEndpoint, type MetricsServer } from '../outputs/metrics.js';
import { stationMetrics } from '../outputs/live-metrics.js';
import type { FleetSensor } from '../fleet/sensor.js';
import { checkPublishArgs, closeFleetSensor, openFleetSensor, parsePublishArg, PUBLISH_HELP, type PublishArgs, publishArgs } from './publish.js';

const HELP = `usage: iec104 serve [CONFIG] [--host H] [--port N] [options]

Run a controlled station (RTU simulator) from a YAML or JSON configuration file:
common addresses, points (IOA, type, initial value), simulated changes (random walk,
toggles, periodic, counters) and command behaviour (accept, reject, delay, feedback point).
Without CONFIG, the bundled examples/substation.yaml is used.

options:
${UI_HELP}
  --host H             listen address (default: the file's listen.host, else 0.0.0.0)
  --port N             TCP port (default: the file's listen.port, else 2404, 19998 with
                       --tls; 0 = any free port)
  --allow CIDR         accept connections from these source addresses only (repeatable);
                       others are refused before any byte is exchanged (E_ACCESS_SOURCE)
  --max-connections N  refuse connections beyond N started (TLS: authenticated) ones
                       (default 8; E_ACCESS_LIMIT). Connections not started or not
                       authenticated yet share a pool of half as many slots (max 2 per
                       source address); the oldest is evicted for a new peer
                       (E_ACCESS_EVICTED; listen.maxPending in CONFIG, docs/security.md)
  --start-timeout MS   close a connection without STARTDT after MS (default t0, 30000;
                       0 = never: needed when masters keep standby connections, which
                       stay stopped by design; E_ACCESS_NO_STARTDT)
  --max-clock-step MS  refuse a clock synchronisation (C_CS_NA_1) that would move the
                       station clock by more than MS (negative ACT_CON, reason in the log
                       and audit; default: any step). IV=1 and out-of-range time fields
                       are always refused
  --audit FILE|-       audit log (JSON lines): every connection accepted or refused and
                       why, STARTDT/STOPDT, every command and its outcome; - = stdout
  --redundancy M       single (default: one redundancy group, one active connection,
                       events kept while nobody is connected) | per-connection (every
                       connection has its own event queue and gets every event); groups
                       by client address with station.redundancy in CONFIG (docs/station.md)
  --roles FILE         per-client roles (YAML/JSON: roles: [...], defaultRole: ...), see
                       docs/security.md; also possible as roles: in CONFIG
  --misbehave LIST     TEST-ONLY: violate the standard on purpose, to check that a
                       validator notices (comma-separated: ${Object.keys(MISBEHAVIOUR_NAMES).join(', ')});
                       see docs/station.md. Never on a station that operates anything
  --files DIR          offer the files of DIR by file transfer (one IOA per file, from
                       the file's files.firstIoa, default 1, at files.ca, default 1;
                       files.map in CONFIG fixes IOAs; see docs/files.md)
  --files-upload       also accept uploads into DIR (a verified upload replaces the
                       file of its IOA; other IOAs write ioa-<IOA>.bin)
  --check              validate the configuration, print a summary and exit
  --no-simulate        do not run the simulated changes
  --log-level L        debug | info | warn | error (default info)
  --log-format F       pretty (default on a terminal) | json
  --metrics [ADDR:]PORT  serve Prometheus metrics at http://ADDR:PORT/metrics (APDUs and
                       octets in/out, commands, connections, event queue; docs/outputs.md)
  -h, --help           this text

${PUBLISH_HELP}
                        (serve: the station's point values as they change (checked every
                        second), every command received with its outcome (the audit
                        record), and health with the station's counters)

TLS (the flags apply to the first listener of CONFIG; more listeners, e.g. 2404 and
19998 at once, with listen: [...] in CONFIG):
${tlsHelp('--ca')}
  --tls-ca FILE         the same as --ca (the spelling of the connecting commands)
  Without a client certificate (or with one the CA did not sign, expired, revoked, not
  on --peer-cert) a master is refused and the audit log says why (E_TLS_*).

A station on plain TCP, on a non-loopback address, without --allow gets a warning: any
host that reaches the port can read its data and send commands.

example:
  $ iec104 serve examples/substation.yaml --port 2404
  ... INFO  station.listening listening on 0.0.0.0:2404
  $ iec104 serve my-rtu.yaml --check
  $ iec104 serve --tls --cert pki/server.crt --key pki/server.key --ca pki/ca.crt --crl pki/ca.crl --audit -
  my-rtu.yaml: points[3].type: unknown type 'M_XX'

Stop with Ctrl-C (SIGINT) or SIGTERM: connections are closed and the process exits 0.

exit codes:
  0  stopped by a signal, or --check found the configuration valid
  1  the station could not start (port in use, permission denied), or the --buffer-dir
     cannot be used
  2  usage error, or the configuration file is missing or invalid (the message names the
     path in the file, e.g. points[3].type)`;

/** The bundled examples/substation.yaml (works from src/ and from dist/). */
export function defaultConfigPath(): string {
  // src/cli/serve.ts or dist/cli/serve.js: two levels below the package root either way
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'examples', 'substation.yaml');
}

interface Args {
  config?: string;
  host?: string;
  port?: number;
  tls: boolean;
  cert?: string;
  key?: string;
  ca: string[];
  peerCerts: string[];
  peerSubjects: string[];
  crl: string[];
  /** `--tls-ciphers`, `--tls-min-version`, ... as given (name -> value), parsed by `tlsConfigFromArgs`. */
  tlsFlags: Record<string, string | boolean>;
  allow: string[];
  maxConnections?: number;
  startTimeout?: number;
  maxClockStepMs?: number;
  audit?: string;
  roles?: string;
  redundancy?: 'single' | 'per-connection';
  misbehave?: StationMisbehaviour;
  check: boolean;
  simulate: boolean;
  level: LogLevel;
  format: 'json' | 'pretty';
  files?: string;
  filesUpload: boolean;
  metrics?: { host: string; port: number };
  /** Fleet publishing (`--publish ...`). */
  publish: PublishArgs;
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { publish: publishArgs(), check: false, simulate: true, level: 'info', format: process.stderr.isTTY ? 'pretty' : 'json', tls: false, ca: [], peerCerts: [], peerSubjects: [], crl: [], tlsFlags: {}, allow: [], filesUpload: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const val = (): string | undefined => argv[++i];
    switch (x) {
      case '--host': {
        const v = val();
        if (!v) return '--host needs a value';
        a.host = v;
        break;
      }
      case '--port': {
        const v = Number(val());
        if (!Number.isInteger(v) || v < 0 || v > 65535) return '--port needs an integer 0..65535';
        a.port = v;
        break;
      }
      case '--tls': a.tls = true; break;
      case '--tls-test-invalid-cert': a.tlsFlags['tls-test-invalid-cert'] = true; break;
      case '--tls-ciphers':
      case '--tls-min-version':
      case '--tls-max-version':
      case '--tls-renegotiate': {
        const v = val();
        if (!v || v.startsWith('--')) return `${x} needs a value`;
        a.tlsFlags[x.slice(2)] = v;
        break;
      }
      case '--peer-subject': {
        const v = val();
        if (!v || v.startsWith('--')) return `${x} needs a certificate subject or CN`;
        a.peerSubjects.push(v);
        break;
      }
      case '--cert':
      case '--key':
      case '--ca':
      case '--tls-ca':
      case '--peer-cert':
      case '--crl':
      case '--allow':
      case '--audit':
      case '--roles': {
        const v = val();
        if (!v || (v.startsWith('--') && v !== '-')) return `${x} needs a value`;
        if (x === '--cert') a.cert = v;
        else if (x === '--key') a.key = v;
        else if (x === '--ca' || x === '--tls-ca') a.ca.push(v);
        else if (x === '--peer-cert') a.peerCerts.push(v);
        else if (x === '--crl') a.crl.push(v);
        else if (x === '--allow') a.allow.push(v);
        else if (x === '--audit') a.audit = v;
        else a.roles = v;
        break;
      }
      case '--max-connections': {
        const v = Number(val());
        if (!Number.isInteger(v) || v < 1 || v > 1000) return '--max-connections needs an integer 1..1000';
        a.maxConnections = v;
        break;
      }
      case '--start-timeout': {
        const v = Number(val());
        if (!Number.isInteger(v) || v < 0) return '--start-timeout needs an integer >= 0 (ms)';
        a.startTimeout = v;
        break;
      }
      case '--max-clock-step': {
        const v = Number(val());
        if (!Number.isInteger(v) || v < 0) return '--max-clock-step needs an integer >= 0 (ms)';
        a.maxClockStepMs = v;
        break;
      }
      case '--redundancy': {
        const v = val();
        if (v === 'groups') return '--redundancy groups needs the groups: configure station.redundancy in CONFIG (docs/station.md)';
        if (v !== 'single' && v !== 'per-connection') return '--redundancy must be single or per-connection';
        a.redundancy = v;
        break;
      }
      case '--misbehave': {
        const v = val();
        if (!v || v.startsWith('--')) return '--misbehave needs a comma-separated list';
        try {
          a.misbehave = { ...a.misbehave, ...parseMisbehaviourList(v) };
        } catch (e) {
          return `--misbehave: ${(e as Error).message}`;
        }
        break;
      }
      case '--metrics': {
        const m = parseMetricsAddress(val() ?? '');
        if (typeof m === 'string') return m;
        a.metrics = m;
        break;
      }
      case '--check': a.check = true; break;
      case '--files': {
        const v = val();
        if (!v || v.startsWith('--')) return '--files needs a folder';
        a.files = v;
        break;
      }
      case '--files-upload': a.filesUpload = true; break;
      case '--no-simulate': a.simulate = false; break;
      case '--log-level': {
        const v = val();
        if (v !== 'debug' && v !== 'info' && v !== 'warn' && v !== 'error') return '--log-level must be debug, info, warn or error';
        a.level = v;
        break;
      }
      case '--log-format': {
        const v = val();
        if (v !== 'json' && v !== 'pretty') return '--log-format must be json or pretty';
        a.format = v;
        break;
      }
      default: {
        const r = parsePublishArg(argv, i, a.publish);
        if (typeof r === 'string') return r;
        if (r !== undefined) {
          i = r;
          break;
        }
        if (x.startsWith('-')) return `unknown option '${x}'`;
        if (a.config) return `unexpected argument '${x}'`;
        a.config = x;
      }
    }
  }
  if (!a.tls) {
    const stray = [a.cert && '--cert', a.key && '--key', a.ca.length && '--ca', a.peerCerts.length && '--peer-cert', a.peerSubjects.length && '--peer-subject', a.crl.length && '--crl', ...Object.keys(a.tlsFlags).map((k) => `--${k}`)].filter(Boolean);
    if (stray.length) return `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} --tls`;
  } else {
    const missing = [!a.cert && '--cert', !a.key && '--key', !a.ca.length && '--ca'].filter(Boolean);
    if (missing.length) return `--tls needs ${missing.join(', ')} (mutual authentication: own certificate and key, and the CA of the masters)`;
    try {
      listenTlsOf(a);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
  return a;
}

/** The listener's {@link TlsConfig} of the TLS flags (`--tls` given); throws UsageError for a bad value. */
function listenTlsOf(a: Args): TlsConfig {
  const cfg = tlsConfigFromArgs({ tls: true, cert: a.cert, key: a.key, 'tls-ca': a.ca, ...(a.peerCerts.length ? { 'peer-cert': a.peerCerts } : {}), ...(a.peerSubjects.length ? { 'peer-subject': a.peerSubjects } : {}), ...(a.crl.length ? { crl: a.crl } : {}), ...a.tlsFlags }, '--ca');
  return cfg!;
}

/** `single`, `per-connection`, `groups a, b, * (catch-all)`. */
function describeRedundancy(r: RedundancyStats): string {
  return r.mode === 'groups' ? `groups ${r.groups.map((g) => (g.name === '*' ? '* (catch-all)' : g.name)).join(', ')}` : r.mode;
}

/** Resolve the file paths of a TLS configuration against `dir` (PEM text and fingerprints stay). */
function resolveTlsPaths(t: TlsConfig, dir: string): TlsConfig {
  const f = (p: string): string => (p.includes('-----BEGIN') || isAbsolute(p) ? p : resolve(dir, p));
  const list = (x: TlsConfig['ca']): string[] => (Array.isArray(x) ? x : [x]).map((p) => f(String(p)));
  return {
    ...t,
    cert: f(String(t.cert)),
    key: f(String(t.key)),
    ca: list(t.ca),
    ...(t.peerCertificates ? { peerCertificates: t.peerCertificates.map((p) => (normalizeFingerprint(String(p)) ? String(p) : f(String(p)))) } : {}),
    ...(t.crl ? { crl: t.crl.map((p) => f(String(p))) } : {}),
  };
}

/** Where `runServe` writes; {@link command} uses the process's. */
export interface ServeIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Stops the station (SIGINT/SIGTERM in the CLI). */
  signal?: AbortSignal;
  /** Called once listening, with the listeners (their bound ports). */
  onListening?: (listeners: StationListener[]) => void;
}

/**
 * Run `iec104 serve` with `argv` (the arguments after `serve`) until `io.signal` aborts. Resolves to
 * the exit code (0 stopped or valid, 1 cannot listen, 2 usage or configuration error).
 */
export async function runServe(argvIn: string[], io: ServeIo): Promise<number> {
  const argv = [...argvIn];
  let ui: UiFlags;
  try {
    ui = takeUiFlags(argv);
  } catch (e) {
    io.stderr.write(`iec104 serve: ${(e as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    io.stderr.write(`iec104 serve: ${args}\n\n${HELP}\n`);
    return 2;
  }
  const publishError = await checkPublishArgs(args.publish, 'serve');
  if (publishError !== undefined) {
    io.stderr.write(`iec104 serve: ${publishError}\n\nRun 'iec104 serve --help' for usage.\n`);
    return 2;
  }
  const file = args.config ?? defaultConfigPath();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    io.stderr.write(`iec104 serve: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  let cfg;
  try {
    cfg = parseStationConfig(text, /\.json$/i.test(file) ? 'json' : undefined);
    if (args.roles) {
      let rolesText: string;
      try {
        rolesText = await readFile(args.roles, 'utf8');
      } catch (e) {
        io.stderr.write(`iec104 serve: cannot read ${args.roles}: ${(e as Error).message}\n`);
        return 2;
      }
      try {
        Object.assign(cfg.station, validateRolesConfig(parseYaml(rolesText)));
      } catch (e) {
        if (e instanceof StationConfigError) {
          io.stderr.write(`${args.roles}: ${e.message}\n`);
          return 2;
        }
        io.stderr.write(`${args.roles}: not valid YAML/JSON: ${(e as Error).message}\n`);
        return 2;
      }
    }
  } catch (e) {
    if (e instanceof StationConfigError) {
      io.stderr.write(`${file}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const logger = createLogger({ level: args.level, format: args.format, write: (l) => io.stderr.write(l + '\n') });
  const auditTarget = args.audit ?? cfg.audit;
  // with --publish, the audit records of commands are published too (once the publisher is open)
  let fleet: FleetSensor | undefined;
  let fleetStation = 'local';
  const sinks: AuditSink[] = [];
  if (auditTarget !== undefined) sinks.push(auditTarget === '-' ? { write: (l) => io.stdout.write(l + '\n') } : { file: args.audit ? auditTarget : resolve(dirname(file), auditTarget) });
  if (args.publish.urls.length) {
    sinks.push({
      write: (l) => {
        const r = JSON.parse(l) as CommandAuditRecord & { kind: string; time: string };
        if (r.kind === 'command') fleet?.stationCommand(r, fleetStation, Date.parse(r.time));
      },
    });
  }
  const audit = sinks.length ? new AuditLog({ sink: sinks }) : undefined;
  if (args.redundancy) cfg.station.redundancy = { mode: args.redundancy };
  if (args.maxClockStepMs !== undefined) cfg.station.maxClockStepMs = args.maxClockStepMs;
  if (args.misbehave) cfg.station.misbehave = { ...cfg.station.misbehave, ...args.misbehave };
  const misbehaving = activeMisbehaviours(cfg.station.misbehave);
  if (misbehaving.length) {
    io.stderr.write(`iec104 serve: WARNING: TEST-ONLY misbehaviour enabled (${misbehaving.join(', ')}): this station deliberately violates IEC 60870-5-104; use it only as a target for validators, never to operate anything\n`);
  }
  if (args.files !== undefined || args.filesUpload) cfg.files = { ...cfg.files, ...(args.files !== undefined ? { dir: resolve(args.files) } : {}), ...(args.filesUpload ? { upload: true } : {}) };
  if (cfg.files) {
    const fc = cfg.files;
    if (fc.dir === undefined) {
      io.stderr.write(`iec104 serve: files: a folder is needed (files.dir in ${file}, or --files DIR)\n`);
      await audit?.close();
      return 2;
    }
    try {
      const st = await stat(resolve(dirname(file), fc.dir));
      if (!st.isDirectory()) throw new Error('not a folder');
    } catch (e) {
      io.stderr.write(`iec104 serve: files: ${fc.dir}: ${(e as Error).message}\n`);
      await audit?.close();
      return 2;
    }
    try {
      const folder = folderFiles({ dir: resolve(dirname(file), fc.dir), ca: fc.ca, firstIoa: fc.firstIoa, upload: fc.upload, map: fc.map });
      cfg.station.files = {
        ...folder,
        ...(fc.sectionSize !== undefined ? { sectionSize: fc.sectionSize } : {}),
        ...(fc.timeoutMs !== undefined ? { timeoutMs: fc.timeoutMs } : {}),
      };
    } catch (e) {
      if (e instanceof FolderFilesError) {
        io.stderr.write(`${file}: ${e.message}\n`);
        await audit?.close();
        return 2;
      }
      throw e;
    }
  }
  let station;
  try {
    station = createStation({ ...cfg.station, logger, ...(audit ? { audit } : {}) });
  } catch (e) {
    if (e instanceof StationError) {
      io.stderr.write(`${file}: ${e.message}\n`);
      await audit?.close();
      return 2;
    }
    throw e;
  }
  // listeners: the file's, the first one overridden by the command line
  const dir = dirname(file);
  const listeners: StationListenOptions[] = cfg.listeners.map((l: ListenFileConfig, i) => {
    const o: StationListenOptions = { host: l.host, port: l.port };
    if (l.tls) o.tls = resolveTlsPaths(l.tls, dir);
    if (l.allow) o.allow = l.allow;
    if (l.maxConnections !== undefined) o.maxConnections = l.maxConnections;
    if (l.startTimeout !== undefined) o.startTimeout = l.startTimeout;
    if (l.maxPending !== undefined) o.maxPending = l.maxPending;
    if (l.maxPendingPerSource !== undefined) o.maxPendingPerSource = l.maxPendingPerSource;
    if (i === 0) {
      if (args.host !== undefined) o.host = args.host;
      if (args.tls) {
        o.tls = listenTlsOf(args);
        o.port = args.port ?? 19998;
      } else if (args.port !== undefined) o.port = args.port;
      if (args.allow.length) o.allow = args.allow;
      if (args.maxConnections !== undefined) o.maxConnections = args.maxConnections;
      if (args.startTimeout !== undefined) o.startTimeout = args.startTimeout;
    }
    return o;
  });
  for (const l of listeners) {
    const loopback = l.host !== undefined && /^(127\.|::1$|localhost$|::ffff:127\.)/i.test(l.host);
    if (!l.tls && !loopback && !l.allow) {
      io.stderr.write(`iec104 serve: warning: plain IEC 104 (no TLS) on ${l.host ?? '0.0.0.0'}:${l.port} without --allow: any host that reaches the port can read the data and send commands\n`);
    }
  }
  if (args.check) {
    const s = station.stats();
    io.stdout.write(`${file}: valid — ${s.points} point(s), ${s.commandObjects} command object(s), common address(es) ${s.commonAddresses.join(', ')}, ${cfg.simulations.length} simulation(s), ${listeners.length} listener(s), redundancy ${describeRedundancy(s.redundancy)}${cfg.station.roles ? `, ${cfg.station.roles.length} role rule(s)` : ''}\n`);
    await station.close();
    await audit?.close();
    return 0;
  }
  let bound: StationListener[];
  try {
    bound = await station.listen(listeners);
  } catch (e) {
    const where = listeners.map((l) => `${l.host ?? '*'}:${l.port}`).join(', ');
    io.stderr.write(`iec104 serve: cannot listen on ${where}: ${(e as Error).message}\n`);
    await station.close();
    await audit?.close();
    return e instanceof TlsConfigError || e instanceof AccessRuleError ? 2 : 1;
  }
  let metrics: MetricsServer | undefined;
  if (args.metrics) {
    const m = await startMetricsEndpoint(args.metrics, (reg) => stationMetrics(reg, station), (l) => io.stderr.write(`iec104 serve: ${l}\n`));
    if (typeof m === 'string') {
      io.stderr.write(`iec104 serve: ${m}\n`);
      await station.close();
      await audit?.close();
      return 1;
    }
    metrics = m;
  }
  let wb: Workbench | undefined;
  try {
    wb = await startUi(ui, { station, title: `iec104 serve ${basename(file)}` });
  } catch (e) {
    io.stderr.write(`iec104 serve: ${(e as Error).message}\n`);
    await Promise.all([station.close(), audit?.close(), metrics?.close()]);
    return 1;
  }
  const fleetLog = (l: string): unknown => io.stderr.write(`iec104 serve: ${l}\n`);
  const f = await openFleetSensor(args.publish, fleetLog);
  if (typeof f === 'string') {
    io.stderr.write(`iec104 serve: ${f}\n`);
    await Promise.all([station.close(), audit?.close(), metrics?.close(), wb?.close()]);
    return 1;
  }
  fleet = f;
  let pollPoints: NodeJS.Timeout | undefined;
  if (fleet) {
    const fs = fleet;
    fleetStation = `${listeners[0]?.host ?? '0.0.0.0'}:${bound[0]?.port ?? 0}`;
    fs.stationPoints(station.db.points(), fleetStation);
    pollPoints = setInterval(() => fs.stationPoints(station.db.points(), fleetStation), 1000);
    pollPoints.unref();
    fs.setCounters(() => numericCounters(station.stats()));
  }
  io.onListening?.(bound);
  const stopSims = args.simulate ? startSimulations(station, cfg.simulations, { logger: logger.child({ component: 'simulator' }) }) : () => {};
  // keep the process alive: station timers are unref'd, the server keeps the loop busy
  return new Promise<number>((resolveExit) => {
    const stop = (why: string): void => {
      logger.log('info', 'station.stopping', `${why}: closing`, {});
      stopSims();
      clearInterval(pollPoints);
      station.close().then(
        () => {
          fleet?.stationPoints(station.db.points(), fleetStation);
          return Promise.all([audit?.close(), metrics?.close(), wb?.close(), closeFleetSensor(fleet, args.publish, fleetLog)]);
        },
      ).then(() => resolveExit(0), () => resolveExit(1));
    };
    if (io.signal?.aborted) stop('aborted');
    else io.signal?.addEventListener('abort', () => stop(typeof io.signal?.reason === 'string' ? io.signal.reason : 'stop requested'), { once: true });
  });
}

/** The numeric counters of the station's statistics (for the fleet health message). */
function numericCounters(o: object, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') out[prefix + k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v) && prefix === '') numericCounters(v as object, `${k}.`, out);
  }
  return out;
}

/** The `serve` sub-command. */
export const command: CliCommand = {
  summary: 'run an RTU simulator (controlled station) from a YAML/JSON config',
  help: HELP,
  run(argv) {
    const ac = new AbortController();
    const onInt = (): void => ac.abort('SIGINT received');
    const onTerm = (): void => ac.abort('SIGTERM received');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    return runServe(argv, { stdout: process.stdout, stderr: process.stderr, signal: ac.signal }).finally(() => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    });
  },
};
