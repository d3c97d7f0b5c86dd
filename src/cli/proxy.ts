/**
 * `iec104 proxy`: an enforcing IEC 104 proxy between masters and one RTU (see `src/monitor/proxy.ts`).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { parseHostPort } from '../master/tcp.js';
import { parseMetricsAddress, startMetricsEndpoint, type MetricsServer } from '../outputs/metrics.js';
import { proxyMetrics } from '../outputs/live-metrics.js';
import { type Policy, PolicyError, parsePolicy } from '../monitor/policy.js';
import { alertJson } from '../monitor/json-output.js';
import { type RunningProxy, startProxy } from '../monitor/proxy.js';
import type { Alert } from '../monitor/types.js';
import { createLogger, type LogLevel } from '../log.js';
import { DEFAULT_TLS_PORT, type TlsConfig, TlsConfigError } from '../transport/tls-config.js';
import { TlsSecurity } from '../transport/tls-verify.js';
import { UsageError } from './args.js';
import type { CliCommand } from './command.js';
import { startUi, takeUiFlagsOrUsage, UI_HELP } from './ui.js';
import type { Workbench } from '../web/server.js';
import type { Asdu } from '../codec/asdu.js';
import type { CommandRecord } from '../monitor/commands.js';
import type { FleetSensor } from '../fleet/sensor.js';
import { checkPublishArgs, closeFleetSensor, openFleetSensor, parsePublishArg, PUBLISH_HELP, type PublishArgs, publishArgs } from './publish.js';

const HELP = `usage: iec104 proxy --listen [HOST:]PORT --upstream HOST[:PORT] [--policy FILE] [--enforce] [options]

An IEC 60870-5-104 proxy between masters and an RTU. It terminates the link on both sides
(its own sequence numbers, acknowledgements and timers toward the master and toward the
RTU), forwards every ASDU both ways with back-pressure, mirrors STARTDT / STOPDT (the RTU
connection opens when a master connects and starts when the master starts), and runs the
passive monitor on everything it forwards: alerts are written as JSON lines.

With --enforce, a command (process, system or parameter type with cause act / deact) that
violates the policy never reaches the RTU: the proxy answers the master itself with the
ASDU mirrored, P/N=1, cause 7 (actcon; 9 for a deactivation), and raises a high
proxy.command-blocked alert next to the policy alert.

options:
${UI_HELP}
  --listen [HOST:]PORT   where masters connect (default host 0.0.0.0)
  --upstream HOST[:PORT] the RTU (default port 2404, 19998 with --upstream-tls)
  --policy FILE          policy and/or baseline YAML (e.g. from 'iec104 learn')
  --enforce              block commands the policy forbids (default: monitor only)
  --block RULE           also block commands raising this rule (id or prefix ending in
                         '.' or '-', repeatable; default policy.)
  --alerts-file FILE     append alerts to FILE instead of standard output
  --disable RULE         silence a rule id or prefix (repeatable)
  --duration MS          stop after MS milliseconds (default: run until Ctrl-C)
  --log-level L          log to standard error from level L: debug, info, warn (default),
                         error
  --metrics [ADDR:]PORT  serve Prometheus metrics at http://ADDR:PORT/metrics (ASDUs
                         forwarded, alerts by rule and severity, blocked commands,
                         connections; docs/outputs.md)
  -h, --help             this text

${PUBLISH_HELP}
                        (proxy: point values from the RTU, alerts, commands with outcomes,
                        inventory deltas at each health interval, health with the
                        proxy's counters)

A master's STARTDT act is confirmed only once the RTU connection is up. When the RTU cannot
be reached, the master's connection is closed without STARTDT con, a warning is logged and a
proxy.upstream-unreachable alert (high) is written.

TLS (IEC 62351-3, mutual authentication), each leg on its own:
  --listen-tls           masters must connect with TLS: needs --listen-cert, --listen-key,
                         --listen-ca; a master without a valid certificate is refused
  --listen-cert FILE     the proxy's server certificate (PEM) shown to masters
  --listen-key FILE      its private key (PEM, unencrypted)
  --listen-ca FILE       CA certificate(s) the masters' certificates must chain to (repeatable)
  --listen-peer-cert X   accept only this master: a PEM certificate FILE or a SHA-256
                         fingerprint (repeatable; default any certificate of the CA)
  --listen-crl FILE      revocation list of the masters' CA (PEM, repeatable; reloaded on change)
  --upstream-tls         connect to the RTU with TLS: needs --upstream-cert, --upstream-key,
                         --upstream-ca
  --upstream-cert FILE   the proxy's client certificate (PEM) shown to the RTU
  --upstream-key FILE    its private key
  --upstream-ca FILE     CA certificate(s) the RTU's certificate must chain to (repeatable)
  --upstream-peer-cert X accept only this RTU certificate (FILE or fingerprint, repeatable)
  --upstream-crl FILE    revocation list of the RTU's CA (PEM, repeatable)
  --upstream-servername NAME
                         name expected in the RTU's certificate (default: the host)
Refusals on either leg are alerts: proxy.tls-refused (high; code, reason, peer certificate),
proxy.access-refused (medium; connection limit, no STARTDT within t0 on a TLS listener).
The policy's masters[].certificateSubjects (e.g. ["CN=scada-a"]) are checked against the
subject of the master's verified client certificate: another subject, or none (plain TCP),
raises policy.certificate-subject once per connection, and with --enforce every command of
that connection is refused.

example:
  $ iec104 learn clean.pcap > baseline.yaml
  $ iec104 proxy --listen 0.0.0.0:2404 --upstream 10.0.0.5:2404 --policy baseline.yaml --enforce
  {"kind":"alert","rule":"policy.ioa-not-allowed","severity":"high",...}
  {"kind":"alert","rule":"proxy.command-blocked","severity":"high",...}
  $ iec104 proxy --listen 0.0.0.0:19998 --upstream 10.0.0.5 --policy baseline.yaml --enforce \\
      --listen-tls --listen-cert proxy-server.crt --listen-key proxy-server.key --listen-ca masters-ca.crt \\
      --upstream-tls --upstream-cert proxy-client.crt --upstream-key proxy-client.key --upstream-ca rtu-ca.crt

exit codes:
  0  stopped (Ctrl-C, --duration)
  1  the policy file could not be read, or the port could not be bound
  2  usage error, invalid policy, or an unusable TLS certificate/key/CA/CRL`;

/** Parsed `proxy` arguments. */
export interface ProxyArgs {
  listen: { host?: string; port: number };
  upstream: { host: string; port: number };
  policyFile?: string;
  enforce: boolean;
  block: string[];
  alertsFile?: string;
  metrics?: { host: string; port: number };
  disabled: string[];
  durationMs?: number;
  /** `--log-level` (default `warn`). */
  logLevel: LogLevel;
  /** `--listen-tls ...`: mutual TLS toward the masters. */
  listenTls?: TlsConfig;
  /** `--upstream-tls ...`: mutual TLS toward the RTU. */
  upstreamTls?: TlsConfig;
  /** Fleet publishing (`--publish ...`). */
  publish: PublishArgs;
}

/** The TLS flags of one leg as given (`--listen-*` or `--upstream-*`). */
interface LegTlsFlags {
  tls: boolean;
  cert?: string;
  key?: string;
  ca: string[];
  peerCert: string[];
  crl: string[];
  servername?: string;
}

const newLeg = (): LegTlsFlags => ({ tls: false, ca: [], peerCert: [], crl: [] });

/**
 * The {@link TlsConfig} of one leg's flags, or undefined without `--<leg>-tls`. Throws
 * {@link UsageError} naming the flag: a TLS flag without `--<leg>-tls`, or `--<leg>-tls` without
 * certificate, key and CA.
 */
function legTlsConfig(leg: 'listen' | 'upstream', f: LegTlsFlags): TlsConfig | undefined {
  const given = [
    f.cert !== undefined ? 'cert' : '', f.key !== undefined ? 'key' : '', f.ca.length ? 'ca' : '', f.peerCert.length ? 'peer-cert' : '', f.crl.length ? 'crl' : '',
    f.servername !== undefined ? 'servername' : '',
  ].filter(Boolean).map((k) => `--${leg}-${k}`);
  if (!f.tls) {
    if (given.length) throw new UsageError(`${given.join(', ')} need${given.length === 1 ? 's' : ''} --${leg}-tls`);
    return undefined;
  }
  const missing = [f.cert === undefined ? 'cert' : '', f.key === undefined ? 'key' : '', f.ca.length ? '' : 'ca'].filter(Boolean).map((k) => `--${leg}-${k}`);
  if (missing.length) throw new UsageError(`--${leg}-tls needs ${missing.join(', ')} (mutual authentication: own certificate and key, and the CA of the peer)`);
  const cfg: TlsConfig = { cert: f.cert!, key: f.key!, ca: f.ca };
  if (f.peerCert.length) cfg.peerCertificates = f.peerCert;
  if (f.crl.length) cfg.crl = f.crl;
  if (f.servername !== undefined) cfg.servername = f.servername;
  return cfg;
}

/** Parse `proxy` arguments; a string is a usage error. */
export function parseProxyArgs(argv: string[]): ProxyArgs | string {
  let listen: ProxyArgs['listen'] | undefined;
  let upstreamText: string | undefined;
  const legs = { listen: newLeg(), upstream: newLeg() };
  const a: Omit<ProxyArgs, 'listen' | 'upstream'> = { enforce: false, block: [], disabled: [], logLevel: 'warn', publish: publishArgs() };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = (): string | undefined => argv[++i];
    switch (k) {
      case '--listen': {
        const v = val();
        if (v === undefined) return '--listen needs [HOST:]PORT';
        const zero = /^(.*):0$/.exec(v);
        if (/^\d+$/.test(v)) listen = { port: Number(v) };
        else if (zero && zero[1] !== '') listen = { host: zero[1].replace(/^\[(.*)\]$/, '$1'), port: 0 };
        else {
          try {
            const hp = parseHostPort(v, -1);
            if (hp.port < 0) return `--listen needs a port, got '${v}'`;
            listen = hp;
          } catch (e) {
            return `--listen: ${e instanceof Error ? e.message : String(e)}`;
          }
        }
        if (listen.port > 65535) return `--listen: bad port in '${v}'`;
        break;
      }
      case '--upstream': {
        const v = val();
        if (v === undefined) return '--upstream needs HOST[:PORT]';
        upstreamText = v;
        break;
      }
      case '--listen-tls':
      case '--upstream-tls':
        legs[k === '--listen-tls' ? 'listen' : 'upstream'].tls = true;
        break;
      case '--listen-cert':
      case '--listen-key':
      case '--listen-ca':
      case '--listen-peer-cert':
      case '--listen-crl':
      case '--upstream-cert':
      case '--upstream-key':
      case '--upstream-ca':
      case '--upstream-peer-cert':
      case '--upstream-crl':
      case '--upstream-servername': {
        const v = val();
        if (!v) return `${k} needs ${k.endsWith('peer-cert') ? 'a certificate file or a SHA-256 fingerprint' : k.endsWith('servername') ? 'a name' : 'a file'}`;
        const f = legs[k.startsWith('--listen-') ? 'listen' : 'upstream'];
        const what = k.slice(k.indexOf('-', 2) + 1);
        if (what === 'cert') f.cert = v;
        else if (what === 'key') f.key = v;
        else if (what === 'ca') f.ca.push(v);
        else if (what === 'peer-cert') f.peerCert.push(v);
        else if (what === 'crl') f.crl.push(v);
        else f.servername = v;
        break;
      }
      case '--policy': {
        const v = val();
        if (v === undefined) return '--policy needs a file';
        a.policyFile = v;
        break;
      }
      case '--alerts-file': {
        const v = val();
        if (v === undefined) return '--alerts-file needs a file';
        a.alertsFile = v;
        break;
      }
      case '--enforce':
        a.enforce = true;
        break;
      case '--block':
      case '--disable': {
        const v = val();
        if (!v) return `${k} needs a rule id or prefix`;
        (k === '--block' ? a.block : a.disabled).push(v);
        break;
      }
      case '--metrics': {
        const m = parseMetricsAddress(val() ?? '');
        if (typeof m === 'string') return m;
        a.metrics = m;
        break;
      }
      case '--duration': {
        const v = val();
        if (v === undefined || !/^\d+$/.test(v)) return `--duration needs milliseconds, got '${v ?? ''}'`;
        a.durationMs = Number(v);
        break;
      }
      case '--log-level': {
        const v = val();
        if (v !== 'debug' && v !== 'info' && v !== 'warn' && v !== 'error') return `--log-level needs debug, info, warn or error, got '${v ?? ''}'`;
        a.logLevel = v;
        break;
      }
      default: {
        const r = parsePublishArg(argv, i, a.publish);
        if (typeof r === 'string') return r;
        if (r === undefined) return `unknown argument '${k}'`;
        i = r;
      }
    }
  }
  if (!listen) return '--listen is required';
  if (upstreamText === undefined) return '--upstream is required';
  if (a.enforce && !a.policyFile) return '--enforce needs --policy';
  try {
    const listenTls = legTlsConfig('listen', legs.listen);
    const upstreamTls = legTlsConfig('upstream', legs.upstream);
    if (listenTls) a.listenTls = listenTls;
    if (upstreamTls) a.upstreamTls = upstreamTls;
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  let upstream: ProxyArgs['upstream'];
  try {
    upstream = parseHostPort(upstreamText, a.upstreamTls ? DEFAULT_TLS_PORT : undefined);
  } catch (e) {
    return `--upstream: ${e instanceof Error ? e.message : String(e)}`;
  }
  return { ...a, listen, upstream };
}

/** Where `proxy` writes. */
export interface ProxyIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  readText?(path: string): string;
  /** Resolves when the proxy should stop (default: SIGINT / SIGTERM or --duration). */
  stopped?(proxy: RunningProxy): Promise<void>;
}

/** Run `proxy`; resolves to the exit code when it stops. */
export async function runProxy(argvIn: string[], io: ProxyIo): Promise<number> {
  const argv = [...argvIn];
  const ui = takeUiFlagsOrUsage(argv, 'proxy', io.stderr);
  if (!ui) return 2;
  const a = parseProxyArgs(argv);
  if (typeof a === 'string') {
    io.stderr.write(`iec104 proxy: ${a}\n\nRun 'iec104 proxy --help' for usage.\n`);
    return 2;
  }
  const publishError = await checkPublishArgs(a.publish, 'proxy');
  if (publishError !== undefined) {
    io.stderr.write(`iec104 proxy: ${publishError}\n\nRun 'iec104 proxy --help' for usage.\n`);
    return 2;
  }
  let policy: Policy | undefined;
  if (a.policyFile) {
    let text: string;
    try {
      text = io.readText ? io.readText(a.policyFile) : readFileSync(a.policyFile, 'utf8');
    } catch (e) {
      io.stderr.write(`iec104 proxy: cannot read the policy ${a.policyFile}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    try {
      policy = parsePolicy(text);
    } catch (e) {
      if (e instanceof PolicyError) {
        io.stderr.write(`iec104 proxy: invalid policy ${a.policyFile}:\n${e.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}\n`);
        return 2;
      }
      throw e;
    }
  }
  let proxy: RunningProxy | undefined;
  let metrics: MetricsServer | undefined;
  let countAlert: ((al: Alert) => void) | undefined;
  let wb: Workbench | undefined;
  let fleet: FleetSensor | undefined;
  const fleetLog = (l: string): unknown => io.stderr.write(`iec104 proxy: ${l}\n`);
  const write = (al: Alert): void => {
    countAlert?.(al);
    fleet?.alert(al);
    wb?.addAlert(al);
    const line = JSON.stringify(alertJson(al)) + '\n'; // times as ISO 8601 UTC, as in analyze
    if (a.alertsFile) appendFileSync(a.alertsFile, line);
    else io.stdout.write(line);
  };
  // read and check the certificates, keys, CAs and CRLs before listening (exit 2 when unusable)
  let listenTls: TlsSecurity | undefined;
  let upstreamTls: TlsSecurity | undefined;
  for (const [flag, cfg] of [['--listen-tls', a.listenTls], ['--upstream-tls', a.upstreamTls]] as const) {
    if (!cfg) continue;
    try {
      const sec = new TlsSecurity(cfg);
      if (flag === '--listen-tls') listenTls = sec;
      else upstreamTls = sec;
    } catch (e) {
      if (!(e instanceof TlsConfigError)) throw e;
      io.stderr.write(`iec104 proxy: ${flag}: ${e.message}\n`);
      return 2;
    }
  }
  if (a.metrics) {
    const m = await startMetricsEndpoint(a.metrics, (reg) => (countAlert = proxyMetrics(reg, () => proxy).alert), (l) => io.stderr.write(`iec104 proxy: ${l}\n`));
    if (typeof m === 'string') {
      io.stderr.write(`iec104 proxy: ${m}\n`);
      return 1;
    }
    metrics = m;
  }
  const f = await openFleetSensor(a.publish, fleetLog);
  if (typeof f === 'string') {
    io.stderr.write(`iec104 proxy: ${f}\n`);
    await metrics?.close();
    return 1;
  }
  fleet = f;
  try {
    proxy = await startProxy({
      listen: a.listen, upstream: a.upstream, enforce: a.enforce, onAlert: write,
      ...(fleet
        ? {
            onCommands: (cs: CommandRecord[]) => fleet?.commands(cs),
            onAsdu: (asdu: Asdu, o: { direction: string; station: string; ts: number }) => {
              if (o.direction === 'station→master') fleet?.points(asdu, o.station, o.ts);
            },
          }
        : {}),
      logger: createLogger({ level: a.logLevel, format: 'pretty', write: (l) => io.stderr.write(l + '\n') }),
      ...(listenTls ? { listenTls } : {}), ...(upstreamTls ? { upstreamTls } : {}),
      detector: { disabled: a.disabled }, ...(policy ? { policy } : {}), ...(a.block.length ? { blockRules: ['policy.', ...a.block] } : {}),
    });
  } catch (e) {
    io.stderr.write(`iec104 proxy: cannot listen on ${a.listen.host ?? '0.0.0.0'}:${a.listen.port}: ${e instanceof Error ? e.message : String(e)}\n`);
    await metrics?.close();
    await closeFleetSensor(fleet, a.publish, fleetLog);
    return 1;
  }
  try {
    wb = await startUi(ui, { proxy, title: `iec104 proxy :${proxy.port} -> ${a.upstream.host}:${a.upstream.port}` });
  } catch (e) {
    io.stderr.write(`iec104 proxy: ${(e as Error).message}\n`);
    await proxy.close();
    await metrics?.close();
    await closeFleetSensor(fleet, a.publish, fleetLog);
    return 1;
  }
  if (fleet) {
    const running = proxy;
    fleet.publisher.onHealthTick(() => fleet?.inventory(running.inventory()));
    fleet.setCounters(() => ({ ...running.stats }));
  }
  if (!listenTls && policy?.masters.some((m) => m.certificateSubjects.length > 0)) {
    io.stderr.write(`iec104 proxy: warning: the policy names certificateSubjects but --listen-tls is not set: every connection of a master whose entry requires a subject violates the policy (policy.certificate-subject)\n`);
  }
  io.stderr.write(`iec104 proxy: listening on ${a.listen.host ?? '0.0.0.0'}:${proxy.port}${listenTls ? ' (TLS)' : ''} -> ${a.upstream.host}:${a.upstream.port}${upstreamTls ? ' (TLS)' : ''}${a.enforce ? ' (enforcing)' : ' (monitor only)'}\n`);
  const stopped =
    io.stopped?.(proxy) ??
    new Promise<void>((resolve) => {
      const done = (): void => {
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
      if (a.durationMs !== undefined) setTimeout(done, a.durationMs).unref();
    });
  await stopped;
  await proxy.close();
  await metrics?.close();
  await wb?.close();
  fleet?.inventory(proxy.inventory());
  await closeFleetSensor(fleet, a.publish, fleetLog);
  const s = proxy.stats;
  io.stderr.write(`iec104 proxy: ${s.connections} connection(s), ${s.toStation} ASDUs to the RTU, ${s.toMaster} to masters, ${s.blocked} blocked, ${s.refused} refused, ${s.alerts} alerts\n`);
  return 0;
}

/** The `proxy` sub-command. */
export const command: CliCommand = {
  summary: 'enforcing IEC 104 proxy: forwards both ways, monitors, blocks forbidden commands',
  help: HELP,
  run: (argv) => runProxy(argv, { stdout: process.stdout, stderr: process.stderr }),
};
