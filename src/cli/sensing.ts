/**
 * The sensor options of `iec104 analyze`: live capture (`--interface`, `--bpf`, `--snaplen`,
 * `--buffer`, `--rotate`, `--rotate-dir`), output formats for analysts (`--format`, `--log-dir`),
 * `--syslog` and `--metrics`. Parsing, and one {@link Sensor} object that analyze feeds with what
 * it sees (records, alerts, commands, capture bytes) and that owns the capture process, the
 * rotated files, the logs, the syslog connection and the metrics endpoint.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type CaptureStats, defaultBpf, LiveCapture, LiveCaptureError } from '../capture/live.js';
import { PcapRotator, parseRotateSpec, RotateError } from '../capture/rotate.js';
import type { AnalyzeSummary, ApduRecord } from '../capture/analyze.js';
import type { CommandRecord } from '../monitor/commands.js';
import type { Alert } from '../monitor/types.js';
import { cefAlert, cefRecord } from '../outputs/cef.js';
import { ecsAlert, ecsRecord } from '../outputs/ecs.js';
import { eveAlert, eveRecord } from '../outputs/eve.js';
import { MetricsRegistry, MetricsServer, parseMetricsAddress } from '../outputs/metrics.js';
import { parseSyslogUrl, SyslogSender, type SyslogTarget } from '../outputs/syslog.js';
import { alertLogValues, IEC104_ALERTS_LOG_FIELDS, IEC104_LOG_FIELDS, iec104LogValues, type LogSink, ZeekLog } from '../outputs/zeek.js';

/** Output formats of `--format`. */
export const FORMATS = ['text', 'json', 'zeek', 'zeek-json', 'eve', 'ecs', 'cef'] as const;
export type OutputFormat = (typeof FORMATS)[number];

/** Package version written into the outputs. */
export const SENSOR_VERSION = '0.1.0';

/** Parsed sensor options. */
export interface SensingArgs {
  iface?: string;
  bpf?: string;
  snaplen?: number;
  bufferKiB?: number;
  rotate?: { maxBytes: number } | { maxMs: number };
  rotateDir?: string;
  format?: OutputFormat;
  logDir?: string;
  syslog?: SyslogTarget;
  syslogBody: 'rfc5424' | 'cef';
  metrics?: { host: string; port: number };
  /** Most flows followed at once (the analyzer's bound). */
  maxFlows?: number;
}

/** Help text of the sensor options (part of `iec104 analyze --help`). */
export const SENSING_HELP = `live capture and outputs for analysts (docs/outputs.md):
  --interface IFACE   capture live from IFACE (runs 'tcpdump -U -w -'; needs tcpdump and
                      capture rights); stop with Ctrl-C / SIGTERM: the summary is printed
                      with the capture's counters (packets dropped by the kernel)
  --bpf EXPR          capture filter (default: TCP ports 2404, 19998 and --port/--tls-port,
                      with VLAN tags, and IPv4 fragments); '' = everything
  --snaplen N         octets captured per packet (default 262144)
  --buffer KIB        kernel capture buffer in KiB (tcpdump -B)
  --rotate SIZE|TIME  also write the raw capture to pcapng files of at most SIZE (100M, 1G)
                      or TIME of capture each (30s, 15min, 1h, 1d), in --rotate-dir
  --rotate-dir DIR    where the rotated files go (default .): iec104-<time>-<n>.pcapng
  --format F          text (default) | json (= --json) | zeek | zeek-json (iec104.log and
                      iec104_alerts.log in --log-dir) | eve (Suricata EVE JSON) | ecs
                      (Elastic Common Schema JSON) | cef (one CEF line per event); eve, ecs
                      and cef go to stdout, one event a line, the summary to stderr
  --log-dir DIR       directory of the Zeek logs (default .)
  --syslog URL        also send every alert to syslog (RFC 5424): udp://HOST[:514],
                      tcp://HOST[:601], tls://HOST[:6514][?ca=FILE], unix:///dev/log
  --syslog-format F   rfc5424 (default: structured data + text) | cef (CEF as the message)
  --max-flows N       follow at most N TCP flows at once (default 20000); beyond, the
                      least recently active flow is closed (W_FLOW_EVICTED): memory stays
                      bounded under floods of new connections
  --metrics [ADDR:]PORT
                      serve Prometheus metrics at http://ADDR:PORT/metrics (APDUs, bytes,
                      flows, alerts by rule and severity, commands by outcome, capture
                      drops, lag); ADDR defaults to 0.0.0.0`;

/**
 * Parse one sensor option at `argv[i]`: the index of its last argument, an error text, or
 * undefined when `argv[i]` is not a sensor option.
 */
export function parseSensingArg(argv: string[], i: number, s: SensingArgs): number | string | undefined {
  const a = argv[i];
  const val = (): string | undefined => argv[i + 1];
  const need = (what: string): string => `${a} needs ${what}`;
  switch (a) {
    case '--interface':
    case '-i': {
      const v = val();
      if (!v || v.startsWith('-')) return need('an interface name');
      s.iface = v;
      return i + 1;
    }
    case '--bpf': {
      const v = val();
      if (v === undefined) return need("a capture filter expression ('' for everything)");
      s.bpf = v;
      return i + 1;
    }
    case '--snaplen':
    case '--buffer': {
      const v = val();
      const lo = a === '--snaplen' ? 64 : 1;
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < lo || Number(v) > 262144 * 16) return need(`a number ${lo}..${262144 * 16}, got '${v ?? ''}'`);
      if (a === '--snaplen') s.snaplen = Number(v);
      else s.bufferKiB = Number(v);
      return i + 1;
    }
    case '--rotate': {
      const v = val();
      const r = v === undefined ? undefined : parseRotateSpec(v);
      if (!r) return need(`a size (at least 1024 octets: 100M, 1G) or a time (30s, 15min, 1h), got '${v ?? ''}'`);
      s.rotate = r;
      return i + 1;
    }
    case '--rotate-dir':
    case '--log-dir': {
      const v = val();
      if (!v) return need('a directory');
      if (a === '--rotate-dir') s.rotateDir = v;
      else s.logDir = v;
      return i + 1;
    }
    case '--format': {
      const v = val();
      if (!v || !(FORMATS as readonly string[]).includes(v)) return need(`one of ${FORMATS.join(', ')}, got '${v ?? ''}'`);
      s.format = v as OutputFormat;
      return i + 1;
    }
    case '--syslog': {
      const v = val();
      if (!v) return need('a URL (udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT, unix:///dev/log)');
      const t = parseSyslogUrl(v);
      if (typeof t === 'string') return `--syslog: ${t}`;
      s.syslog = t;
      return i + 1;
    }
    case '--syslog-format': {
      const v = val();
      if (v !== 'rfc5424' && v !== 'cef') return need(`rfc5424 or cef, got '${v ?? ''}'`);
      s.syslogBody = v;
      return i + 1;
    }
    case '--max-flows': {
      const v = val();
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1e7) return need(`a number 1..10000000, got '${v ?? ''}'`);
      s.maxFlows = Number(v);
      return i + 1;
    }
    case '--metrics': {
      const v = val();
      if (!v) return need('[ADDR:]PORT');
      const m = parseMetricsAddress(v);
      if (typeof m === 'string') return m;
      s.metrics = m;
      return i + 1;
    }
    default:
      return undefined;
  }
}

/** Combinations that make no sense; the reason, or undefined. */
export function checkSensingArgs(s: SensingArgs, o: { file: string | undefined; json: boolean }): string | undefined {
  if (s.iface !== undefined && o.file !== undefined) return '--interface and a capture file cannot be combined';
  if (s.iface === undefined) {
    for (const [flag, set] of [['--bpf', s.bpf !== undefined], ['--snaplen', s.snaplen !== undefined], ['--buffer', s.bufferKiB !== undefined], ['--rotate', s.rotate !== undefined], ['--rotate-dir', s.rotateDir !== undefined]] as const) {
      if (set) return `${flag} needs --interface`;
    }
  }
  if (s.rotateDir !== undefined && !s.rotate) return '--rotate-dir needs --rotate';
  if (s.logDir !== undefined && s.format !== 'zeek' && s.format !== 'zeek-json') return '--log-dir needs --format zeek or zeek-json';
  if (o.json && s.format !== undefined && s.format !== 'json') return `--json cannot be combined with --format ${s.format}`;
  return undefined;
}

/** Where the sensor writes and what it needs from analyze. */
export interface SensorIo {
  stderr: { write(s: string): unknown };
  /** Ports for the default capture filter. */
  ports: number[];
  tlsPorts: number[];
  /** Install SIGINT / SIGTERM handlers that stop the live capture (the CLI; not in-process tests). */
  signals?: boolean;
  /** Stop the live capture when aborted (tests). */
  signal?: AbortSignal;
  /** File writer factory (default: the file system). */
  openFile?(path: string): { write(b: Uint8Array | string): void; close(): void };
  /** Wall clock, ms (default Date.now). */
  now?(): number;
}

function fsFile(path: string): { write(b: Uint8Array | string): void; close(): void } {
  const fd = openSync(path, 'w');
  return {
    write: (b) => {
      writeSync(fd, typeof b === 'string' ? Buffer.from(b) : b);
    },
    close: () => closeSync(fd),
  };
}

/** A buffered text file (written in 64 KiB pieces, and on flush). */
class BufferedText implements LogSink {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly f: { write(b: Uint8Array | string): void; close(): void }) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= 65536) this.flush();
  }
  flush(): void {
    if (this.parts.length === 0) return;
    this.f.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    this.f.close();
  }
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** What {@link Sensor.finish} reports. */
export interface SensorFinal {
  /** Live capture: interface, filter and the capture's final counters. */
  live?: { interface: string; filter: string; stats: CaptureStats; exitCode: number | null; error?: string };
  rotatedFiles?: string[];
  syslog?: { sent: number; dropped: number; errors: number };
}

/** The sensor side of one analyze run; see the module comment. */
export class Sensor {
  /** The live byte stream (with --interface). */
  source: AsyncIterable<Uint8Array> | undefined;
  private live: LiveCapture | undefined;
  private rotator: PcapRotator | undefined;
  private rotated: string[] = [];
  private zeek: { apdu: ZeekLog; alerts: ZeekLog; files: BufferedText[] } | undefined;
  private syslog: SyslogSender | undefined;
  private metrics: MetricsRegistry | undefined;
  private server: MetricsServer | undefined;
  private summaryFn: (() => AnalyzeSummary) | undefined;
  private lastPacketMs = 0;
  private readonly cleanup: Array<() => void> = [];
  private stopped = false;

  private constructor(
    private readonly s: SensingArgs,
    private readonly io: SensorIo,
  ) {}

  /** Start what the options ask for. Returns an error text when something cannot start. */
  static async open(s: SensingArgs, io: SensorIo): Promise<Sensor | string> {
    const x = new Sensor(s, io);
    const now = io.now ?? Date.now;
    const open = io.openFile ?? fsFile;
    try {
      if (s.format === 'zeek' || s.format === 'zeek-json') {
        const dir = s.logDir ?? '.';
        mkdirSync(dir, { recursive: true });
        const json = s.format === 'zeek-json';
        const a = new BufferedText(open(join(dir, 'iec104.log')));
        const b = new BufferedText(open(join(dir, 'iec104_alerts.log')));
        x.zeek = { apdu: new ZeekLog(a, 'iec104', IEC104_LOG_FIELDS, json, now), alerts: new ZeekLog(b, 'iec104_alerts', IEC104_ALERTS_LOG_FIELDS, json, now), files: [a, b] };
      }
    } catch (e) {
      return `cannot write the Zeek logs: ${(e as Error).message}`;
    }
    if (s.syslog) x.syslog = new SyslogSender(s.syslog, { body: s.syslogBody, version: SENSOR_VERSION, ...(s.iface ? { iface: s.iface } : {}) }, (m) => io.stderr.write(`iec104 analyze: ${m}\n`));
    if (s.metrics) {
      x.metrics = x.declareMetrics();
      try {
        x.server = await MetricsServer.listen(x.metrics, s.metrics, () => x.refreshMetrics());
        io.stderr.write(`iec104 analyze: metrics at http://${s.metrics.host.includes(':') ? `[${s.metrics.host}]` : s.metrics.host}:${x.server.address.port}/metrics\n`);
      } catch (e) {
        await x.closeOutputs();
        return `cannot serve metrics on ${s.metrics.host}:${s.metrics.port}: ${(e as Error).message}`;
      }
    }
    if (s.iface !== undefined) {
      const filter = s.bpf ?? defaultBpf(io.ports, io.tlsPorts);
      try {
        x.live = await LiveCapture.start({ interface: s.iface, bpf: filter, ...(s.snaplen ? { snaplen: s.snaplen } : {}), ...(s.bufferKiB ? { bufferKiB: s.bufferKiB } : {}), onMessage: (l) => io.stderr.write(`iec104 analyze: tcpdump: ${l}\n`) });
      } catch (e) {
        await x.closeOutputs();
        if (e instanceof LiveCaptureError) return e.message;
        throw e;
      }
      x.source = x.live;
      io.stderr.write(`iec104 analyze: capturing on ${s.iface} (filter: ${filter || 'none'})\n`);
      if (s.rotate) {
        const dir = s.rotateDir ?? '.';
        try {
          mkdirSync(dir, { recursive: true });
        } catch (e) {
          x.live.stop();
          await x.live.done;
          await x.closeOutputs();
          return `cannot write the rotated captures to ${dir}: ${(e as Error).message}`;
        }
        const live = x.live;
        x.rotator = new PcapRotator(
          {
            open: (n, ms) => {
              const path = join(dir, `iec104-${stamp(ms)}-${String(n).padStart(4, '0')}.pcapng`);
              x.rotated.push(path);
              return open(path);
            },
          },
          { ...s.rotate, interfaceName: s.iface, stats: () => live.stats },
        );
      }
      const stop = (): void => x.stop();
      if (io.signals) {
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        x.cleanup.push(() => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        });
      }
      if (io.signal) {
        if (io.signal.aborted) stop();
        else io.signal.addEventListener('abort', stop, { once: true });
      }
    }
    return x;
  }

  /** Stop the live capture (the byte stream then ends and analyze prints its summary). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.live?.stop();
  }

  /** True when records and alerts go to stdout in one of eve, ecs, cef (not the text / JSON lines). */
  get stdoutFormat(): boolean {
    return this.s.format === 'eve' || this.s.format === 'ecs' || this.s.format === 'cef';
  }

  /** True when records go to the Zeek logs and not to stdout. */
  get zeekFormat(): boolean {
    return this.zeek !== undefined;
  }

  /** True when the command outcomes are needed (metrics). */
  get wantsCommands(): boolean {
    return this.metrics !== undefined;
  }

  /** Give the sensor the analyzer's summary (flow and frame gauges). */
  setSummary(fn: () => AnalyzeSummary): void {
    this.summaryFn = fn;
  }

  /** Bytes of the capture stream, in order. */
  chunk(b: Uint8Array): void {
    this.metrics?.inc('iec104_capture_bytes_total', {}, b.length);
    if (this.rotator) {
      try {
        this.rotator.push(b);
      } catch (e) {
        if (!(e instanceof RotateError)) throw e;
        this.io.stderr.write(`iec104 analyze: ${e.code}: ${e.message}\n`);
        this.rotator = undefined;
      }
    }
  }

  /** Every APDU (before the display filter): counters. */
  count(r: ApduRecord, octets: Uint8Array): void {
    this.lastPacketMs = r.tsMs;
    const m = this.metrics;
    if (!m) return;
    m.inc('iec104_apdus_total', { format: r.apdu ? r.apdu.apci.format : 'error' });
    m.inc('iec104_apdu_bytes_total', {}, octets.length);
    m.set('iec104_capture_lag_seconds', Math.max(0, ((this.io.now ?? Date.now)() - r.tsMs) / 1000));
  }

  /** A selected record: its line in the chosen format, or undefined (then analyze prints its own). */
  recordLine(r: ApduRecord): string | undefined {
    if (this.zeek) {
      this.zeek.apdu.write(iec104LogValues(r));
      return '';
    }
    const o = { version: SENSOR_VERSION, ...(this.s.iface ? { iface: this.s.iface } : {}) };
    switch (this.s.format) {
      case 'eve':
        return JSON.stringify(eveRecord(r, o));
      case 'ecs':
        return JSON.stringify(ecsRecord(r, o));
      case 'cef':
        return cefRecord(r, o);
      default:
        return undefined;
    }
  }

  /** An alert: counters, syslog, Zeek log; its stdout line in the chosen format, or undefined. */
  alert(a: Alert): string | undefined {
    this.metrics?.inc('iec104_alerts_total', { rule: a.rule, severity: a.severity });
    this.syslog?.send(a);
    if (this.zeek) {
      this.zeek.alerts.write(alertLogValues(a));
      return '';
    }
    const o = { version: SENSOR_VERSION, ...(this.s.iface ? { iface: this.s.iface } : {}) };
    switch (this.s.format) {
      case 'eve':
        return JSON.stringify(eveAlert(a, o));
      case 'ecs':
        return JSON.stringify(ecsAlert(a, o));
      case 'cef':
        return cefAlert(a, o);
      default:
        return undefined;
    }
  }

  /** Completed commands. */
  commands(cs: readonly CommandRecord[]): void {
    if (!this.metrics) return;
    for (const c of cs) this.metrics.inc('iec104_commands_total', { outcome: c.outcome, type: c.typeName });
  }

  /** Write buffered log lines (called after each chunk). */
  flush(): void {
    if (this.zeek) for (const f of this.zeek.files) f.flush();
  }

  private declareMetrics(): MetricsRegistry {
    const m = new MetricsRegistry();
    m.counter('iec104_apdus_total', 'APDUs analysed, by APCI format (I, S, U; error = undecodable)');
    m.counter('iec104_apdu_bytes_total', 'Octets of the APDUs analysed');
    m.counter('iec104_capture_bytes_total', 'Octets of the capture stream read');
    m.counter('iec104_alerts_total', 'Alerts raised, by rule and severity');
    m.counter('iec104_commands_total', 'Commands tracked to their end, by outcome and type');
    m.gauge('iec104_capture_lag_seconds', 'Wall-clock time minus the capture time of the last APDU analysed');
    m.collect('iec104_frames_total', 'Frames (packets) read from the capture', 'counter', () => this.summaryFn?.().frames ?? 0);
    m.collect('iec104_flows', 'TCP flows listed in the summary (the first 10000), by kind (iec104, tls, other)', 'gauge', () => {
      const k: Record<string, number> = { iec104: 0, tls: 0, other: 0 };
      for (const f of this.summaryFn?.().flows ?? []) k[f.kind === 'pending' ? 'other' : f.kind]++;
      return Object.entries(k).map(([kind, value]) => ({ labels: { kind }, value }));
    });
    m.collect('iec104_flows_active', 'TCP flows followed now (bounded by --max-flows)', 'gauge', () => this.summaryFn?.().flowTable.active ?? 0);
    m.collect('iec104_flows_total', 'TCP flows seen', 'counter', () => this.summaryFn?.().flowTable.total ?? 0);
    m.collect('iec104_flows_ended_total', 'TCP flows whose state was freed, by why (closed: FIN/RST, idle, evicted: table full)', 'counter', () => {
      const t = this.summaryFn?.().flowTable;
      return [
        { labels: { reason: 'closed' }, value: t?.closed ?? 0 },
        { labels: { reason: 'idle' }, value: t?.idle ?? 0 },
        { labels: { reason: 'evicted' }, value: t?.evicted ?? 0 },
      ];
    });
    m.collect('iec104_capture_packets_dropped_total', 'Packets the capture lost, by where (kernel buffer full, interface)', 'counter', () => {
      const st = this.live?.stats;
      return [
        { labels: { by: 'kernel' }, value: st?.droppedByKernel ?? 0 },
        { labels: { by: 'interface' }, value: st?.droppedByInterface ?? 0 },
      ];
    });
    m.collect('iec104_capture_packets_received_total', 'Packets that matched the capture filter (kernel count)', 'counter', () => this.live?.stats.receivedByFilter ?? 0);
    m.collect('iec104_syslog_messages_total', 'Syslog messages, by result (sent, dropped, error)', 'counter', () => {
      const st = this.syslog?.stats ?? { sent: 0, dropped: 0, errors: 0 };
      return [
        { labels: { result: 'sent' }, value: st.sent },
        { labels: { result: 'dropped' }, value: st.dropped },
        { labels: { result: 'error' }, value: st.errors },
      ];
    });
    return m;
  }

  private refreshMetrics(): void {
    this.live?.requestStats();
  }

  private async closeOutputs(): Promise<void> {
    if (this.zeek) {
      this.zeek.apdu.close();
      this.zeek.alerts.close();
      for (const f of this.zeek.files) f.close();
      this.zeek = undefined;
    }
    await this.syslog?.close();
    await this.server?.close();
    this.server = undefined;
  }

  /** End: wait for the capture process, close files and connections; what to report. */
  finish(): Promise<SensorFinal> {
    this.finished ??= this.doFinish();
    return this.finished;
  }

  private finished: Promise<SensorFinal> | undefined;

  private async doFinish(): Promise<SensorFinal> {
    const f: SensorFinal = {};
    if (this.live) {
      this.stop();
      const end = await this.live.done;
      f.live = { interface: this.s.iface!, filter: this.live.filter, stats: end.stats, exitCode: end.code, ...(end.error ? { error: end.error } : {}) };
    }
    if (this.rotator) {
      this.rotator.end(this.lastPacketMs);
      f.rotatedFiles = this.rotated;
    }
    if (this.syslog) {
      await this.syslog.close();
      f.syslog = { ...this.syslog.stats };
    }
    await this.closeOutputs();
    for (const c of this.cleanup) c();
    return f;
  }
}

/** The text summary line of the live capture. */
export function formatLiveLine(f: SensorFinal): string | undefined {
  const l = f.live;
  if (!l) return undefined;
  const st = l.stats;
  const n = (v: number | undefined): string => (v === undefined ? '?' : String(v));
  let s = `capture: interface ${l.interface}, ${n(st.captured)} packets captured, ${n(st.receivedByFilter)} received by filter, ${n(st.droppedByKernel)} dropped by kernel`;
  if (st.droppedByInterface !== undefined) s += `, ${st.droppedByInterface} dropped by interface`;
  if (f.rotatedFiles?.length) s += `; ${f.rotatedFiles.length} capture file(s) written`;
  if (l.error) s += `; tcpdump: ${l.error}`;
  return s;
}

/** True when any sensor option is set (live capture, a format of its own, syslog, metrics). */
export function sensingActive(s: SensingArgs): boolean {
  return s.iface !== undefined || (s.format !== undefined && s.format !== 'text' && s.format !== 'json') || s.syslog !== undefined || s.metrics !== undefined;
}
