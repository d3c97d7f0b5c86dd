/**
 * `iec104 proxy`: an enforcing IEC 104 proxy between masters and one RTU (see `src/monitor/proxy.ts`).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { parseHostPort } from '../master/tcp.js';
import { type Policy, PolicyError, parsePolicy } from '../monitor/policy.js';
import { type RunningProxy, startProxy } from '../monitor/proxy.js';
import type { Alert } from '../monitor/types.js';
import type { CliCommand } from './command.js';

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
  --listen [HOST:]PORT   where masters connect (default host 0.0.0.0)
  --upstream HOST[:PORT] the RTU (default port 2404)
  --policy FILE          policy and/or baseline YAML (e.g. from 'iec104 learn')
  --enforce              block commands the policy forbids (default: monitor only)
  --block RULE           also block commands raising this rule (id or prefix ending in
                         '.' or '-', repeatable; default policy.)
  --alerts-file FILE     append alerts to FILE instead of standard output
  --disable RULE         silence a rule id or prefix (repeatable)
  --duration MS          stop after MS milliseconds (default: run until Ctrl-C)
  -h, --help             this text

Not supported yet: TLS (IEC 62351-3) on either side.

example:
  $ iec104 learn clean.pcap > baseline.yaml
  $ iec104 proxy --listen 0.0.0.0:2404 --upstream 10.0.0.5:2404 --policy baseline.yaml --enforce
  {"kind":"alert","rule":"policy.ioa-not-allowed","severity":"high",...}
  {"kind":"alert","rule":"proxy.command-blocked","severity":"high",...}

exit codes:
  0  stopped (Ctrl-C, --duration)
  1  the policy file could not be read, or the port could not be bound
  2  usage error or invalid policy`;

/** Parsed `proxy` arguments. */
export interface ProxyArgs {
  listen: { host?: string; port: number };
  upstream: { host: string; port: number };
  policyFile?: string;
  enforce: boolean;
  block: string[];
  alertsFile?: string;
  disabled: string[];
  durationMs?: number;
}

/** Parse `proxy` arguments; a string is a usage error. */
export function parseProxyArgs(argv: string[]): ProxyArgs | string {
  let listen: ProxyArgs['listen'] | undefined;
  let upstream: ProxyArgs['upstream'] | undefined;
  const a: Omit<ProxyArgs, 'listen' | 'upstream'> = { enforce: false, block: [], disabled: [] };
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
        try {
          upstream = parseHostPort(v);
        } catch (e) {
          return `--upstream: ${e instanceof Error ? e.message : String(e)}`;
        }
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
      case '--duration': {
        const v = val();
        if (v === undefined || !/^\d+$/.test(v)) return `--duration needs milliseconds, got '${v ?? ''}'`;
        a.durationMs = Number(v);
        break;
      }
      default:
        return `unknown argument '${k}'`;
    }
  }
  if (!listen) return '--listen is required';
  if (!upstream) return '--upstream is required';
  if (a.enforce && !a.policyFile) return '--enforce needs --policy';
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
export async function runProxy(argv: string[], io: ProxyIo): Promise<number> {
  const a = parseProxyArgs(argv);
  if (typeof a === 'string') {
    io.stderr.write(`iec104 proxy: ${a}\n\nRun 'iec104 proxy --help' for usage.\n`);
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
  const write = (al: Alert): void => {
    const line = JSON.stringify(al) + '\n';
    if (a.alertsFile) appendFileSync(a.alertsFile, line);
    else io.stdout.write(line);
  };
  let proxy: RunningProxy;
  try {
    proxy = await startProxy({
      listen: a.listen, upstream: a.upstream, enforce: a.enforce, onAlert: write,
      detector: { disabled: a.disabled }, ...(policy ? { policy } : {}), ...(a.block.length ? { blockRules: ['policy.', ...a.block] } : {}),
    });
  } catch (e) {
    io.stderr.write(`iec104 proxy: cannot listen on ${a.listen.host ?? '0.0.0.0'}:${a.listen.port}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  io.stderr.write(`iec104 proxy: listening on ${a.listen.host ?? '0.0.0.0'}:${proxy.port} -> ${a.upstream.host}:${a.upstream.port}${a.enforce ? ' (enforcing)' : ' (monitor only)'}\n`);
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
  const s = proxy.stats;
  io.stderr.write(`iec104 proxy: ${s.connections} connection(s), ${s.toStation} ASDUs to the RTU, ${s.toMaster} to masters, ${s.blocked} blocked, ${s.alerts} alerts\n`);
  return 0;
}

/** The `proxy` sub-command. */
export const command: CliCommand = {
  summary: 'enforcing IEC 104 proxy: forwards both ways, monitors, blocks forbidden commands',
  help: HELP,
  run: (argv) => runProxy(argv, { stdout: process.stdout, stderr: process.stderr }),
};
