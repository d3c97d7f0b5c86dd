/**
 * `iec104 analyze`: read a pcap / pcapng capture (file or stdin), reassemble TCP, and print one
 * line (or JSON object) per IEC 104 APDU, then a summary.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { cotShortName } from '../codec/cause.js';
import { octetsToHex } from '../codec/explain.js';
import { objectsText } from '../codec/object-text.js';
import type { CodecOptions } from '../codec/options.js';
import { typeName } from '../codec/type-table.js';
import { type AnalyzeSummary, type ApduRecord, CaptureAnalyzer, type FlowInfo } from '../capture/analyze.js';
import { compileFilter, FilterSyntaxError, type RecordFilter } from '../capture/filter.js';
import type { CaptureIssue } from '../capture/issues.js';
import type { CommandRecord, CommandStats, Percentiles } from '../monitor/commands.js';
import { Detector, type DetectorOptions } from '../monitor/detector.js';
import { type BatchResult, type DetectorFinal, DetectorThread, type SeqEvents } from '../monitor/detector-thread.js';
import { observedFromRecord } from '../monitor/from-capture.js';
import { formatFileTransfer, renderInventory } from '../monitor/inventory.js';
import { type AlertAggregate, AlertAggregator, type AlertRecord, DEFAULT_AGGREGATE_WINDOW_MS } from '../monitor/aggregate.js';
import { alertAggregateJson, alertJson, commandJson, type InventoryJson, inventoryJson } from '../monitor/json-output.js';
import { type Policy, PolicyError, parsePolicy } from '../monitor/policy.js';
import type { Alert, Severity } from '../monitor/types.js';
import { basename } from 'node:path';
import type { CliCommand } from './command.js';
import { startUi, takeUiFlagsOrUsage, UI_HELP, type UiFlags } from './ui.js';
import type { Workbench } from '../web/server.js';
import { analyzeCaptureForView } from '../web/capture-view.js';
import { OutBuffer } from './out-buffer.js';
import type { FleetSensor } from '../fleet/sensor.js';
import { checkPublishArgs, closeFleetSensor, openFleetSensor, parsePublishArg, PUBLISH_HELP, type PublishArgs, publishArgs } from './publish.js';
import { checkSensingArgs, formatLiveLine, parseSensingArg, SENSING_HELP, Sensor, type SensingArgs, sensingActive, type SensorFinal } from './sensing.js';

const HELP = `usage: iec104 analyze FILE|- [--json] [--filter EXPR] [--port N ...] [options]
       iec104 analyze --interface IFACE [--bpf EXPR] [--rotate SIZE|TIME] [--format F] [options]

Read a pcap or pcapng capture (or '-' for standard input, e.g. from tcpdump -w -),
reassemble TCP and decode every IEC 60870-5-104 APDU: one line per APDU (I-frames with
their objects as IOA=value flags, four at most, then …+N), then a summary of flows,
APDU counts by format and type, and errors.

IEC 104 is recognised on port 2404 and the --port ports, and on any other port when the
first bytes of a direction are valid APDUs. Port 19998 (IEC 62351-3, TLS) is shown as an
encrypted flow with what its ClientHello / ServerHello reveal.

Every APDU also goes through the passive monitor (validity, link shadowing, behavioural
rules, and with --policy the policy and baseline): alerts are printed in capture order
among the APDUs, and the summary adds the inventory, command statistics and alert counts.

options:
${UI_HELP}
                    (analyze FILE --ui: the capture page, served until Ctrl-C)
  --json              one JSON object per APDU on stdout:
                      {frame, ts, src, dst, direction, flow, apdu:{apci, asdu}} or
                      {frame, ts, src, dst, direction, flow, error:{...}, raw},
                      alert objects {kind:"alert", rule, severity, ...} in capture order,
                      then one {kind:"summary", capture, alerts, inventory, commands};
                      every time is ISO 8601 UTC text (e.g. "ts":"2013-07-04T06:23:17.333710Z")
  --policy FILE       enforce a policy and/or baseline (YAML, e.g. from 'iec104 learn')
  --alerts            print only the alerts, one JSON object a line
  --inventory         print only the inventory (endpoints and roles, CAs, IOA map,
                      interrogation / clock-sync periods, TESTFR, masters per station);
                      with --json as one {kind:"inventory"} object
  --commands          print only the commands (outcome, latencies) and per station and
                      type the outcome counts and latency percentiles; with --json one
                      {kind:"command"} object a line and {kind:"command-stats"} objects
  --fail-on SEVERITY  exit 4 when an alert of this severity or higher was raised
                      (low, medium, high, critical)
  --disable RULE      silence a rule id or prefix ending in '.' or '-' (repeatable)
  --aggregate-window D  print an alert of one rule on one flow once per window D of
                      capture time (e.g. 500ms, 60s, 5min; default 60s; with --format,
                      --syslog or --log-dir only when given): the first occurrence as
                      raised, and when the window closes with repeats one record
                      {kind:"alert-aggregate", rule, count, firstSeen, lastSeen,
                      firstFrame, lastFrame, severity (highest), evidence (the first's)}
  --no-aggregate      print every alert occurrence
  --no-monitor        decode only: no alerts, inventory or command tracking
  --threads 1|2|auto  2: run the monitor on a second thread (same output, about twice
                      as fast on a multi-core machine); auto (default): 2 for capture
                      files of 8 MB or more when 2 cores are available, else 1
  --progress          show progress on stderr (default: when stderr is a terminal)
  --no-progress       no progress, even when stderr is a terminal
  --filter EXPR       only APDUs matching a Wireshark-style expression, e.g.
                      'iec60870_asdu.typeid == 45 && ip.src == 10.0.0.0/8'
                      fields: frame.number ip.src ip.dst ip.addr tcp.port tcp.srcport
                      tcp.dstport iec60870_104.type (0 I, 1 S, 3 U) iec60870_104.utype
                      iec60870_104.tx .rx iec60870_asdu.typeid .causetx .addr .ioa
                      .nega .test .oa .sq .numix; operators == != < <= > >= in {..}
                      && || ! and or not ( )
  --port N            also treat TCP port N as IEC 104 (repeatable)
  --tls-port N        also treat TCP port N as TLS-protected IEC 104 (repeatable)
  --no-heuristic      only recognise IEC 104 by port
  --cot-size 1|2      octets of the cause of transmission (default 2)
  --ca-size 1|2       octets of the common address (default 2)
  --ioa-size 1|2|3    octets of the information object address (default 3)
  --no-summary        no summary after the APDU lines (with --json: no summary object)
  --max-issues N      print at most N problems of each kind on stderr (default 20)
  -h, --help          this text

${SENSING_HELP}

${PUBLISH_HELP}
                        (analyze: --filter also limits the points and records published;
                        alerts are published as raised, every occurrence)

example:
  $ iec104 analyze capture.pcap --filter 'iec60870_104.type == 0'
       12 2013-07-04T06:23:17.333710Z 10.20.100.108:2404 → 10.20.102.1:46413 S→M I(1,1) C_IC_NA_1 actcon ca=10 0 qoi=20
  ...
  $ tcpdump -i eth0 -w - 'tcp port 2404' | iec104 analyze - --json | jq .apdu.asdu.typeName
  $ iec104 analyze --interface eth0 --format eve --rotate 1h --rotate-dir /var/lib/iec104 \\
      --metrics 127.0.0.1:9464 --syslog udp://siem.example:514 >> eve.json
  $ iec104 analyze --interface eth0 --alerts --publish nats://broker.example:4222 --site north

Problems in the file (truncated records, bad blocks), in packets and in TCP streams (gaps,
retransmissions with other bytes) are printed on stderr and counted in the summary; the
analysis goes on after each.

exit codes:
  0  the capture was read (APDUs that did not decode do not count)
  1  the input could not be read, or is not a pcap / pcapng file (or the policy file
     could not be read, or the --buffer-dir cannot be used)
  2  usage error (unknown option, bad value, bad filter expression, invalid policy)
  3  the capture file is damaged (truncated or bad records); what could be read was analysed
  4  alerts at or above --fail-on were raised (takes precedence over 3)
  With --interface: 0 after a stop by SIGINT / SIGTERM; 1 when the capture could not start
  (no tcpdump, no such interface, no permission, bad --bpf) or failed, or the outputs could
  not be opened (--metrics port in use, --log-dir not writable).`;

/** Where the command reads and writes. */
export interface AnalyzeIo {
  stdout: NodeJS.WritableStream;
  stderr: { write(s: string): unknown };
  /** Open the capture (`-` is standard input). */
  open(path: string): AsyncIterable<Uint8Array>;
  /** Read a policy file (default: `readFileSync(path, 'utf8')`). */
  readText?(path: string): string;
  /** Show progress on stderr (default false; the CLI sets it when stderr is a terminal). */
  progress?: boolean;
  /** Clock for the progress display (ms; default `performance.now`). */
  now?(): number;
  /**
   * Size of the capture in octets, when known (a regular file): with `--threads auto`, captures of
   * 8 MB and more run the monitor on a second thread.
   */
  size?(path: string): number | undefined;
  /** Batch size (octets) of the monitor thread (default 1 MiB; tests use small ones). */
  threadBatchBytes?: number;
  /** Live capture: stop on SIGINT / SIGTERM (the CLI). */
  signals?: boolean;
  /** Live capture: stop when aborted (in-process use). */
  signal?: AbortSignal;
}

/** Captures from this size on run the monitor on its own thread (with `--threads auto`). */
const THREAD_MIN_BYTES = 8e6;

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

interface Parsed {
  file: string;
  json: boolean;
  filter?: RecordFilter;
  ports: number[];
  tlsPorts: number[];
  heuristic: boolean;
  codec: Partial<CodecOptions>;
  summary: boolean;
  maxIssues: number;
  monitor: boolean;
  policyFile?: string;
  alertsOnly: boolean;
  inventory: boolean;
  commands: boolean;
  failOn?: Severity;
  disabled: string[];
  /** Alert aggregation window, ms; undefined: every occurrence (`--no-aggregate`). */
  aggregateMs: number | undefined;
  /** `--aggregate-window` was given. */
  aggregateSet?: boolean;
  progress?: boolean;
  /** Threads: 1 (all in one), 2 (monitor on a worker thread), or 0 = auto. */
  threads: number;
  /** Live capture and analyst outputs. */
  sensing: SensingArgs;
  /** Fleet publishing. */
  publish: PublishArgs;
}

function parseArgs(argv: string[]): Parsed | string {
  const p: Parsed = { file: '', json: false, ports: [2404], tlsPorts: [19998], heuristic: true, codec: {}, summary: true, maxIssues: 20, monitor: true, alertsOnly: false, inventory: false, commands: false, disabled: [], aggregateMs: DEFAULT_AGGREGATE_WINDOW_MS, threads: 0, sensing: { syslogBody: 'rfc5424' }, publish: publishArgs() };
  const files: string[] = [];
  const intArg = (name: string, v: string | undefined, lo: number, hi: number): number | string => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) return `${name} needs a number ${lo}..${hi}, got '${v ?? ''}'`;
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--json':
        p.json = true;
        break;
      case '--no-heuristic':
        p.heuristic = false;
        break;
      case '--no-summary':
        p.summary = false;
        break;
      case '--no-monitor':
        p.monitor = false;
        break;
      case '--alerts':
        p.alertsOnly = true;
        break;
      case '--inventory':
        p.inventory = true;
        break;
      case '--commands':
        p.commands = true;
        break;
      case '--progress':
        p.progress = true;
        break;
      case '--no-aggregate':
        p.aggregateMs = undefined;
        break;
      case '--aggregate-window': {
        const v = argv[++i];
        const ms = v === undefined ? undefined : parseWindow(v);
        if (ms === undefined) return `--aggregate-window needs a duration such as 500ms, 60s, 5min or 1h, got '${v ?? ''}'`;
        p.aggregateMs = ms;
        p.aggregateSet = true;
        break;
      }
      case '--no-progress':
        p.progress = false;
        break;
      case '--policy': {
        const f = argv[++i];
        if (f === undefined) return '--policy needs a file';
        p.policyFile = f;
        break;
      }
      case '--disable': {
        const r = argv[++i];
        if (r === undefined || r === '') return '--disable needs a rule id or prefix';
        p.disabled.push(r);
        break;
      }
      case '--fail-on': {
        const v = argv[++i];
        if (v === undefined || !(SEVERITIES as readonly string[]).includes(v)) return `--fail-on needs one of ${SEVERITIES.join(', ')}, got '${v ?? ''}'`;
        p.failOn = v as Severity;
        break;
      }
      case '--filter': {
        const e = argv[++i];
        if (e === undefined) return '--filter needs an expression';
        try {
          p.filter = compileFilter(e);
        } catch (err) {
          if (err instanceof FilterSyntaxError) return `bad filter: ${err.message}\n  ${e}\n  ${' '.repeat(err.column - 1)}^`;
          throw err;
        }
        break;
      }
      case '--port':
      case '--tls-port': {
        const n = intArg(a, argv[++i], 1, 65535);
        if (typeof n === 'string') return n;
        (a === '--port' ? p.ports : p.tlsPorts).push(n);
        break;
      }
      case '--cot-size':
      case '--ca-size': {
        const n = intArg(a, argv[++i], 1, 2);
        if (typeof n === 'string') return n;
        if (a === '--cot-size') p.codec.cotSize = n as 1 | 2;
        else p.codec.caSize = n as 1 | 2;
        break;
      }
      case '--ioa-size': {
        const n = intArg(a, argv[++i], 1, 3);
        if (typeof n === 'string') return n;
        p.codec.ioaSize = n as 1 | 2 | 3;
        break;
      }
      case '--threads': {
        const v = argv[++i];
        if (v === 'auto') p.threads = 0;
        else {
          const n = intArg(a, v, 1, 2);
          if (typeof n === 'string') return `${n} or auto`;
          p.threads = n;
        }
        break;
      }
      case '--max-issues': {
        const n = intArg(a, argv[++i], 0, 1e9);
        if (typeof n === 'string') return n;
        p.maxIssues = n;
        break;
      }
      default: {
        const pr = parsePublishArg(argv, i, p.publish);
        if (typeof pr === 'string') return pr;
        if (pr !== undefined) {
          i = pr;
          break;
        }
        const r = parseSensingArg(argv, i, p.sensing);
        if (typeof r === 'string') return r;
        if (r !== undefined) {
          i = r;
          break;
        }
        if (a.startsWith('-') && a !== '-') return `unknown option '${a}'`;
        files.push(a);
      }
    }
  }
  const sensingError = checkSensingArgs(p.sensing, { file: files[0], json: p.json });
  if (p.sensing.format === 'json') p.json = true;
  if (sensingError) return sensingError;
  if (p.sensing.iface !== undefined) files.push('');
  if (files.length !== 1) return files.length === 0 ? 'a capture file (or - for standard input) is needed' : 'only one capture file can be analysed at a time';
  p.file = files[0];
  if (!p.monitor && (p.policyFile || p.alertsOnly || p.inventory || p.commands || p.failOn)) return '--no-monitor cannot be combined with --policy, --alerts, --inventory, --commands or --fail-on';
  return p;
}

/** Milliseconds of `500ms`, `60s`, `5min`, `1h` (a bare number is seconds); undefined when not a duration. */
function parseWindow(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min|m|h)?$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]) * ({ ms: 1, s: 1000, min: 60000, m: 60000, h: 3600000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'min' | 'm' | 'h'];
  return Number.isFinite(n) ? n : undefined;
}

/** Compact one-line form of an APDU record. */
export function formatRecordLine(r: ApduRecord): string {
  const dir = r.direction === 'master→station' ? 'M→S' : r.direction === 'station→master' ? 'S→M' : '?→?';
  return `${String(r.frame).padStart(8)} ${r.ts} ${r.src} → ${r.dst} ${dir}${recordLineTail(r)}`;
}

/** What follows `frame ts src → dst dir` in {@link formatRecordLine}. */
function recordLineTail(r: ApduRecord): string {
  if (!r.apdu) return ` ERROR ${r.error?.message ?? ''}${r.raw ? ' [' + octetsToHex(r.raw) + ']' : ''}`;
  const c = r.apdu.apci;
  if (c.format === 'U') return ` U ${c.uFunction}`;
  if (c.format === 'S') return ` S(${c.recvSeq})`;
  const a = r.apdu.asdu!;
  let s = ` I(${c.sendSeq},${c.recvSeq}) ${typeName(a.typeId)} ${cotShortName(a.cot)}${a.negative ? ' neg' : ''}${a.test ? ' test' : ''} ca=${a.ca}`;
  if (a.originator) s += ` oa=${a.originator}`;
  // the objects with their values: `IOA=value flags`, four at most, then `…+N`
  if (a.objects.length > 0) s += ' ' + objectsText(a.typeId, a.objects);
  else if (a.rawCount !== undefined) s += ` objects=${a.rawCount} (raw)`;
  if (a.warnings?.length) s += ` !${a.warnings.map((w) => w.code).join(',')}`;
  return s;
}

function flowLine(f: FlowInfo): string {
  const role = (side: 'a' | 'b'): string => (f.station === undefined ? '' : f.station === side ? ' (station)' : ' (master)');
  let s = `  flow ${f.index}: ${f.a.text}${role('a')} ⇄ ${f.b.text}${role('b')}  ${f.kind}`;
  if (f.detectedBy) s += ` (${f.detectedBy})`;
  if (f.kind === 'iec104') s += `  ${f.apdus} APDUs${f.decodeErrors ? `, ${f.decodeErrors} undecodable` : ''}`;
  if (f.tls) {
    const t = f.tls;
    const parts = [t.sni && `SNI ${t.sni}`, t.clientVersion && `client offers ${t.clientVersion}`, t.serverVersion && `server chose ${t.serverVersion}`, t.cipher && `cipher ${t.cipher}`].filter(Boolean);
    s += `  ${parts.length ? parts.join(', ') : 'no hello seen'}`;
  }
  if (f.arrivalOrder) s += '  [arrival order: sequence numbers do not advance]';
  s += `  frames ${f.firstFrame}-${f.lastFrame}`;
  return s;
}

/** Text of the summary printed after the APDU lines. */
export function formatSummary(s: AnalyzeSummary): string {
  const lines: string[] = [];
  const kinds = { iec104: 0, tls: 0, other: 0, pending: 0 };
  for (const f of s.flows) kinds[f.kind]++;
  const frags = s.ipFragments ? `, ${s.ipFragments} IP fragments (${s.ipReassembled} datagrams reassembled)` : '';
  const ft = s.flowTable;
  lines.push(`summary: ${s.format ?? 'unknown format'}, ${s.frames} frames${frags}, ${s.tcpSegments} TCP segments, ${ft.total} TCP flows (IEC 104 ${kinds.iec104}, TLS ${kinds.tls}, other ${kinds.other + kinds.pending}${ft.unlisted ? `, ${ft.unlisted} more not listed` : ''})`);
  for (const f of s.flows) if (f.kind === 'iec104' || f.kind === 'tls') lines.push(flowLine(f));
  if (ft.idle || ft.evicted) lines.push(`flow table: at most ${ft.maxFlows} flows followed at once (peak ${ft.peak}); ${ft.idle} closed when idle, ${ft.evicted} evicted when full`);
  const undecodable = Object.values(s.decodeErrors).reduce((a, b) => a + b, 0);
  lines.push(`APDUs: ${s.apdus.total} (I ${s.apdus.I}, S ${s.apdus.S}, U ${s.apdus.U}${undecodable ? `, undecodable ${undecodable}` : ''})`);
  const types = Object.entries(s.types).sort((a, b) => Number(a[0]) - Number(b[0]));
  if (types.length) lines.push(`types: ${types.map(([t, n]) => `${typeName(Number(t))}(${t}) ${n}`).join(', ')}`);
  const u = Object.entries(s.uFunctions);
  if (u.length) lines.push(`U-frames: ${u.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (undecodable) lines.push(`undecodable: ${Object.entries(s.decodeErrors).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const iss = Object.entries(s.issues);
  lines.push(`problems: ${iss.length ? iss.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`);
  return lines.join('\n');
}

function issueLine(i: CaptureIssue): string {
  const loc: string[] = [];
  if (i.frame !== undefined) loc.push(`frame ${i.frame}`);
  if (i.flow !== undefined) loc.push(`flow ${i.flow}`);
  if (i.record !== undefined) loc.push(`record ${i.record}`);
  if (i.fileOffset !== undefined) loc.push(`file offset ${i.fileOffset}`);
  if (i.streamOffset !== undefined) loc.push(`stream offset ${i.streamOffset}`);
  return `iec104 analyze: ${i.severity} ${i.code}${loc.length ? ` (${loc.join(', ')})` : ''}: ${i.message}\n`;
}

/** One line for an alert in the human output. */
export function formatAlertLine(a: Alert): string {
  return `${String(a.frame).padStart(8)} ALERT ${a.severity} ${a.rule} ${a.src} → ${a.dst}${a.mitre ? ` [${a.mitre}]` : ''}: ${a.message}`;
}

/** One line for an aggregation record in the human output. */
export function formatAggregateLine(a: AlertAggregate): string {
  return `${String(a.lastFrame).padStart(8)} ALERT×${a.count} ${a.severity} ${a.rule} ${a.src} → ${a.dst}${a.mitre ? ` [${a.mitre}]` : ''}: ${a.count} times in frames ${a.firstFrame}–${a.lastFrame} over ${Math.round(a.lastSeen - a.firstSeen)} ms (window ${a.windowMs} ms): ${a.message}`;
}

function ms(v: number | undefined): string {
  return v === undefined ? '-' : `${Math.round(v * 10) / 10} ms`;
}

/** One line for a tracked command in the human output. */
export function formatCommandLine(c: CommandRecord): string {
  const sel = c.select === true ? ' select' : c.select === false ? ' execute' : '';
  return `${String(c.frame).padStart(8)} ${c.source} → ${c.station} ${c.typeName}${sel} ca=${c.ca} ioa=${c.ioa} value=${JSON.stringify(c.value)} ${c.outcome}${c.negativeCause ? ` (${c.negativeCause})` : ''} actcon ${ms(c.conLatencyMs)} actterm ${ms(c.termLatencyMs)}`;
}

function pct(p: Percentiles | null): string {
  if (!p) return '-';
  const f = (x: number): string => String(Math.round(x * 10) / 10);
  return `p50 ${f(p.p50)} p90 ${f(p.p90)} p99 ${f(p.p99)} max ${f(p.max)} ms (n=${p.count})`;
}

/** Text of the command statistics (per station and type). */
export function formatCommandStats(stats: readonly CommandStats[]): string {
  if (stats.length === 0) return 'commands: none';
  const lines = ['commands (per station and type):'];
  for (const s of stats) {
    lines.push(`  ${s.station} ${s.typeName}: ${s.count} (positive ${s.positive}, negative ${s.negative}, no answer ${s.noAnswer})  actcon ${pct(s.actCon)}  actterm ${pct(s.actTerm)}`);
  }
  return lines.join('\n');
}

/** Text of the alert counts. */
export function formatAlertCounts(counts: Record<string, number>, bySeverity: Record<Severity, number>): string {
  const e = Object.entries(counts);
  if (e.length === 0) return 'alerts: none';
  const total = e.reduce((n, [, c]) => n + c, 0);
  return `alerts: ${total} (${SEVERITIES.filter((x) => bySeverity[x]).map((x) => `${x} ${bySeverity[x]}`).join(', ')}): ${e.map(([r, n]) => `${r} ${n}`).join(', ')}`;
}

/** The final `{kind:"summary"}` object of `--json`. */
export interface AnalyzeJsonSummary {
  kind: 'summary';
  capture: AnalyzeSummary;
  /** Alert counts by rule and by severity (absent with `--no-monitor`). */
  alerts?: { total: number; byRule: Record<string, number>; bySeverity: Record<Severity, number> };
  /** The inventory, times as ISO 8601 text. */
  inventory?: InventoryJson;
  commands?: CommandStats[];
  /** Live capture: interface, filter and the capture's counters (drops). */
  live?: SensorFinal['live'];
}

function fmtRate(bytes: number, apdus: number, alerts: number, secs: number): string {
  const mb = bytes / 1e6;
  return `iec104 analyze: ${mb.toFixed(1)} MB, ${(mb / Math.max(secs, 1e-3)).toFixed(1)} MB/s, ${apdus.toLocaleString('en-US')} APDUs (${Math.round(apdus / Math.max(secs, 1e-3)).toLocaleString('en-US')}/s), ${alerts} alerts`;
}

/** `analyze FILE --ui`: analyse the whole capture, then serve the capture page until stopped (SIGINT / SIGTERM, or `io.signal`). */
async function serveCaptureUi(p: Parsed, io: AnalyzeIo, ui: UiFlags, policy: Policy | undefined): Promise<number> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const c of io.open(p.file)) chunks.push(Uint8Array.from(c));
  } catch (e) {
    io.stderr.write(`iec104 analyze: cannot read ${p.file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const bytes = Buffer.concat(chunks);
  const view = analyzeCaptureForView(p.file === '-' ? 'stdin' : basename(p.file), bytes, {
    detector: { disabled: p.disabled, ...(policy ? { policy } : {}) },
    analyze: { ports: p.ports, tlsPorts: p.tlsPorts, heuristic: p.heuristic, codec: p.codec },
  });
  let wb: Workbench | undefined;
  try {
    wb = await startUi(ui, { capture: view, title: `iec104 analyze ${view.name}` });
  } catch (e) {
    io.stderr.write(`iec104 analyze: ${(e as Error).message}\n`);
    return 1;
  }
  io.stderr.write(`iec104 analyze: ${view.apdusTotal} APDUs, ${view.alerts.length} alerts, ${view.commands.length} commands; serving the capture page until Ctrl-C\n`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (io.signal?.aborted) done();
    else io.signal?.addEventListener('abort', done, { once: true });
  });
  await wb?.close();
  return 0;
}

/** Run `analyze` with the given streams; resolves to the exit code. */
export async function runAnalyze(argvIn: string[], io: AnalyzeIo): Promise<number> {
  const argv = [...argvIn];
  const ui = takeUiFlagsOrUsage(argv, 'analyze', io.stderr);
  if (!ui) return 2;
  const p = parseArgs(argv);
  if (typeof p === 'string') {
    io.stderr.write(`iec104 analyze: ${p}\n\nRun 'iec104 analyze --help' for usage.\n`);
    return 2;
  }
  const publishError = await checkPublishArgs(p.publish, 'analyze');
  if (publishError !== undefined) {
    io.stderr.write(`iec104 analyze: ${publishError}\n\nRun 'iec104 analyze --help' for usage.\n`);
    return 2;
  }
  if (ui.ui && p.publish.urls.length) {
    io.stderr.write(`iec104 analyze: --publish cannot be combined with --ui on a capture file\n`);
    return 2;
  }
  let policy: Policy | undefined;
  let policyText: string | undefined;
  if (p.policyFile !== undefined) {
    try {
      policyText = io.readText ? io.readText(p.policyFile) : readFileSync(p.policyFile, 'utf8');
    } catch (err) {
      io.stderr.write(`iec104 analyze: cannot read the policy ${p.policyFile}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    try {
      policy = parsePolicy(policyText);
    } catch (err) {
      if (err instanceof PolicyError) {
        io.stderr.write(`iec104 analyze: invalid policy ${p.policyFile}:\n${err.issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}\n`);
        return 2;
      }
      throw err;
    }
  }
  if (ui.ui) return serveCaptureUi(p, io, ui, policy);
  const sections = p.alertsOnly || p.inventory || p.commands;
  const showApdus = !sections;
  const showAlerts = p.monitor && (showApdus || p.alertsOnly);
  const showCommands = p.commands;
  let threads = p.threads;
  if (threads === 0) {
    const size = p.file === '-' ? undefined : io.size?.(p.file);
    threads = size !== undefined && size >= THREAD_MIN_BYTES && availableParallelism() >= 2 ? 2 : 1;
  }
  // the monitor in this thread, or on a worker thread (same results, merged in the same places)
  const detOpts: DetectorOptions = { disabled: p.disabled };
  if (policy) detOpts.policy = policy;
  const det = p.monitor && threads === 1 ? new Detector(detOpts) : undefined;
  let sensor: Sensor | undefined;
  if (sensingActive(p.sensing)) {
    const s = await Sensor.open(p.sensing, { stderr: io.stderr, ports: p.ports, tlsPorts: p.tlsPorts, ...(io.signals ? { signals: true } : {}), ...(io.signal ? { signal: io.signal } : {}) });
    if (typeof s === 'string') {
      io.stderr.write(`iec104 analyze: ${s}\n`);
      return 1;
    }
    sensor = s;
  }
  const fleetLog = (l: string): unknown => io.stderr.write(`iec104 analyze: ${l}\n`);
  const fleet = await openFleetSensor(p.publish, fleetLog);
  if (typeof fleet === 'string') {
    io.stderr.write(`iec104 analyze: ${fleet}\n`);
    await sensor?.finish();
    return 1;
  }
  const wantCommands = showCommands || sensor?.wantsCommands === true || fleet !== undefined;
  const td = p.monitor && threads === 2 ? new DetectorThread({ ...(policyText !== undefined ? { policyText } : {}), disabled: p.disabled, codec: p.codec, commands: wantCommands, ...(io.threadBatchBytes ? { batchBytes: io.threadBatchBytes } : {}) }) : undefined;
  try {
    return await analyzeWith(p, io, det, td, { showApdus, showAlerts, showCommands }, sensor, fleet);
  } finally {
    await td?.terminate();
    await sensor?.finish();
    await closeFleetSensor(fleet, p.publish, fleetLog);
  }
}

async function analyzeWith(
  p: Parsed,
  io: AnalyzeIo,
  det: Detector | undefined,
  td: DetectorThread | undefined,
  show: { showApdus: boolean; showAlerts: boolean; showCommands: boolean },
  sensor: Sensor | undefined,
  fleet: FleetSensor | undefined,
): Promise<number> {
  const { showApdus, showAlerts, showCommands } = show;
  const failRank = p.failOn ? SEVERITIES.indexOf(p.failOn) : Infinity;
  const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  let failed = false;
  let alertTotal = 0;

  const out = new OutBuffer(io.stdout);
  // with the worker, APDU lines wait until its alerts for them are known (inserted after their line)
  const holding = td !== undefined && showApdus;
  if (holding) out.hold();
  const emitLine = (s: string): void => (holding ? out.insertLine(s) : out.line(s));
  /** Output position after each APDU's line, from sequence number `endsBase` on (holding only). */
  let ends: number[] = [];
  let endsBase = 0;
  const perCode = new Map<string, number>();
  let damaged = false;
  let notCapture = false;
  // repeated alerts of one rule on one flow are folded into one record per window (--aggregate-window)
  // (the analyst outputs of a sensor keep every occurrence unless the window was asked for)
  const agg = p.aggregateMs !== undefined && (sensor === undefined || p.aggregateSet) ? new AlertAggregator({ windowMs: p.aggregateMs }) : undefined;
  const emitAlerts = (alerts: Alert[]): void => {
    for (const a of alerts) {
      fleet?.alert(a);
      bySeverity[a.severity]++;
      alertTotal++;
      if (SEVERITIES.indexOf(a.severity) >= failRank) failed = true;
    }
    emitRecords(agg ? agg.push(alerts) : alerts);
  };
  const emitRecords = (records: AlertRecord[]): void => {
    for (const a of records) {
      if (a.kind === 'alert-aggregate') {
        if (showAlerts) emitLine(p.json || p.alertsOnly ? JSON.stringify(alertAggregateJson(a)) : formatAggregateLine(a));
        continue;
      }
      const formatted = sensor?.alert(a);
      if (showAlerts && formatted !== '') emitLine(formatted ?? (p.json || p.alertsOnly ? JSON.stringify(alertJson(a)) : formatAlertLine(a)));
    }
  };
  const emitCommandRecords = (recs: CommandRecord[]): void => {
    sensor?.commands(recs);
    fleet?.commands(recs);
    if (!showCommands) return;
    for (const c of recs) emitLine(p.json ? JSON.stringify(commandJson(c)) : formatCommandLine(c));
  };
  const emitCommands = (): void => {
    if (det) emitCommandRecords(det.takeCommands()); // also when not shown: the detector buffers completed commands until taken
  };
  const applyEvents = (ev: SeqEvents): void => {
    if (holding && ev.seq >= endsBase) out.release(ends[ev.seq - endsBase]);
    emitAlerts(ev.alerts);
    emitCommandRecords(ev.commands);
  };
  const applyBatch = (b: BatchResult): void => {
    for (const ev of b.events) applyEvents(ev);
    if (holding && b.lastSeq >= endsBase) {
      out.release(ends[b.lastSeq - endsBase]);
      ends = ends.slice(b.lastSeq - endsBase + 1);
      endsBase = b.lastSeq + 1;
    }
  };
  const an = new CaptureAnalyzer(
    {
      record: (r, octets) => {
        sensor?.count(r, octets);
        const selected = !p.filter || p.filter(r);
        if (selected) fleet?.record(r);
        const formatted = selected && showApdus ? sensor?.recordLine(r) : undefined;
        if (formatted !== undefined) {
          if (formatted !== '') out.line(formatted);
        } else if (selected && showApdus) {
          if (p.json) out.recordJson(r);
          else out.recordLine(r);
        }
        if (det) {
          const alerts = det.observe(observedFromRecord(r, octets));
          if (alerts.length) emitAlerts(alerts);
          emitCommands();
        } else if (td) {
          td.observe(r.frame, r.tsMs, r.src, r.dst, r.flow, r.direction, octets);
          if (holding) ends.push(out.mark());
        }
      },
      flowEnd: det ? (f) => det.closeFlow(String(f.index)) : td ? (f) => td.closeFlow(f.index) : undefined,
      streamAnomaly: det
        ? (a) => emitAlerts(det.streamAnomaly({ ...a, ts: a.tsMs, flow: String(a.flow) }))
        : td
          ? (a) => td.streamAnomaly({ ...a, ts: a.tsMs, flow: String(a.flow) })
          : undefined,
      issue: (i) => {
        if (i.code === 'E_CAP_FORMAT') notCapture = true;
        else if (i.code.startsWith('E_CAP_')) damaged = true;
        const n = (perCode.get(i.code) ?? 0) + 1;
        perCode.set(i.code, n);
        if (n <= p.maxIssues) io.stderr.write(issueLine(i));
        else if (n === p.maxIssues + 1) io.stderr.write(`iec104 analyze: further ${i.code} problems are only counted\n`);
      },
    },
    { ports: p.ports, tlsPorts: p.tlsPorts, heuristic: p.heuristic, codec: p.codec, ...(p.sensing.maxFlows ? { maxFlows: p.sensing.maxFlows } : {}) },
  );
  sensor?.setSummary(() => an.summary());
  fleet?.setCounters(() => {
    const s = an.summary();
    return { frames: s.frames, apdus: s.apdus.total, alerts: alertTotal, flowsActive: s.flowTable.active, flowsTotal: s.flowTable.total, captureBytes: bytes };
  });
  // the inventory as it grows (live captures): a delta at most every health interval of wall time
  const inventoryEvery = p.publish.healthMs ?? 10_000;
  let lastInventory = performance.now();
  const now = io.now ?? (() => performance.now());
  const progress = p.progress ?? io.progress ?? false;
  const t0 = now();
  let lastProgress = t0;
  let bytes = 0;
  let progressShown = false;
  try {
    for await (const chunk of sensor?.source ?? io.open(p.file)) {
      an.push(chunk);
      sensor?.chunk(chunk);
      bytes += chunk.length;
      if (notCapture) break;
      if (td) {
        // live capture: no batching delay, the alerts of what arrived are out before the next read
        if (sensor?.source) td.flush();
        for (let b = td.take(); b; b = td.take()) applyBatch(b);
        while (td.inFlight > (sensor?.source ? 0 : 3)) applyBatch(await td.next());
      }
      await out.flush();
      sensor?.flush();
      if (fleet && det && inventoryEvery > 0 && performance.now() - lastInventory >= inventoryEvery) {
        lastInventory = performance.now();
        fleet.inventory(det.inventory());
      }
      if (out.broken) return 0; // reader went away (e.g. | head)
      if (progress) {
        const t = now();
        if (t - lastProgress >= 500) {
          lastProgress = t;
          progressShown = true;
          io.stderr.write(`\r${fmtRate(bytes, an.summary().apdus.total, alertTotal, (t - t0) / 1000)}\x1b[K`);
        }
      }
    }
  } catch (err) {
    if (progressShown) io.stderr.write('\n');
    io.stderr.write(`iec104 analyze: cannot read ${p.file === '-' ? 'standard input' : p.sensing.iface !== undefined ? `the capture of ${p.sensing.iface}` : p.file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  an.end();
  const sensorFinal: SensorFinal | undefined = await sensor?.finish();
  let final: Pick<DetectorFinal, 'inventory' | 'commandStats' | 'alertCounts'> | undefined;
  if (det) {
    emitAlerts(det.finish());
    emitCommands();
    final = { inventory: det.inventory(), commandStats: det.commandStatistics(), alertCounts: det.alertCounts() };
  } else if (td) {
    td.flush();
    while (td.inFlight > 0) applyBatch(await td.next());
    const f = await td.finish();
    if (holding) out.unhold();
    emitAlerts(f.events.alerts);
    emitCommandRecords(f.events.commands);
    final = f;
  }
  if (agg) emitRecords(agg.flush());
  if (fleet && final) fleet.inventory(final.inventory);
  if (progressShown) io.stderr.write(`\r${fmtRate(bytes, an.summary().apdus.total, alertTotal, (now() - t0) / 1000)}\x1b[K\n`);
  if (!notCapture) {
    const capture = an.summary();
    const counts = final?.alertCounts ?? {};
    if (p.json) {
      if (showApdus && p.summary) {
        const sum: AnalyzeJsonSummary = { kind: 'summary', capture };
        if (sensorFinal?.live) sum.live = sensorFinal.live;
        if (final) {
          sum.alerts = { total: alertTotal, byRule: counts, bySeverity };
          sum.inventory = inventoryJson(final.inventory);
          sum.commands = final.commandStats;
        }
        out.line(JSON.stringify(sum));
      }
      if (p.inventory && final) out.line(JSON.stringify(inventoryJson(final.inventory)));
      if (p.commands && final) for (const st of final.commandStats) out.line(JSON.stringify({ kind: 'command-stats', ...st }));
      if (p.commands && final) for (const f of final.inventory.fileTransfers ?? []) out.line(JSON.stringify({ kind: 'file-transfer', ...f }));
    } else {
      if (showApdus && p.summary) {
        // with eve, ecs and cef stdout carries events only: the summary goes to stderr
        const sumLine = sensor?.stdoutFormat ? (t: string): unknown => io.stderr.write(t + '\n') : (t: string): void => out.line(t);
        sumLine(formatSummary(capture));
        const liveLine = sensorFinal && formatLiveLine(sensorFinal);
        if (liveLine) sumLine(liveLine);
        if (final) {
          sumLine(formatAlertCounts(counts, bySeverity));
          sumLine(formatCommandStats(final.commandStats));
          sumLine(renderInventory(final.inventory));
        }
      }
      if (p.inventory && final) out.line(renderInventory(final.inventory, { maxIoas: Infinity }));
      if (p.commands && final) out.line(formatCommandStats(final.commandStats));
      if (p.commands && final?.inventory.fileTransfers?.length) out.line(['File transfers', ...final.inventory.fileTransfers.map((f) => `  ${formatFileTransfer(f)}`)].join('\n'));
    }
  }
  if (holding) out.unhold();
  await out.flush();
  out.detach();
  if (notCapture) return 1;
  if (sensorFinal?.live?.error !== undefined) return 1;
  if (failed) return 4;
  return damaged ? 3 : 0;
}

/** The `analyze` sub-command. */
export const command: CliCommand = {
  summary: 'decode every IEC 104 APDU in a pcap/pcapng capture (TCP reassembled)',
  help: HELP,
  run: (argv) =>
    runAnalyze(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      open: (path) => (path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 })),
      size: (path) => {
        try {
          const st = statSync(path);
          return st.isFile() ? st.size : undefined;
        } catch {
          return undefined;
        }
      },
      progress: process.stderr.isTTY === true,
      signals: true,
    }),
};
