/**
 * Alerts to syslog: RFC 5424 messages (structured data `[iec104@32473 ...]` with the rule,
 * severity, endpoints, flow, frame and MITRE technique) or CEF text as the message, over
 *
 * * `udp://HOST[:PORT]` (RFC 5426, default port 514): one message per datagram;
 * * `tcp://HOST[:PORT]` (RFC 6587 octet counting, default port 601);
 * * `tls://HOST[:PORT][?ca=FILE&servername=NAME]` (RFC 5425, default port 6514), the server
 *   certificate verified against the system CAs or `ca`;
 * * `unix:///dev/log` (or a plain absolute path): the local syslog socket. A stream socket is
 *   written directly (octet counting); a datagram socket (the usual /dev/log of journald and
 *   rsyslog, which Node cannot open) goes through util-linux `logger --socket PATH --prio-prefix`,
 *   which then builds the header itself.
 *
 * Sending never blocks the analysis and never stops it: messages queue while a connection is
 * being made (at most {@link MAX_QUEUE}; beyond that the oldest are dropped and counted), a lost
 * connection is retried with a growing pause, errors are counted and reported once.
 *
 * 32473 is the private enterprise number RFC 5612 reserves for documentation; a site with its own
 * number can set `sdId`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { Alert } from '../monitor/types.js';
import { cefAlert } from './cef.js';
import { alertFields, isoMicros, SYSLOG_SEVERITY } from './fields.js';

/** Messages kept while the connection is down. */
export const MAX_QUEUE = 10_000;

/** Where syslog messages go. */
export type SyslogTarget =
  | { transport: 'udp' | 'tcp' | 'tls'; host: string; port: number; ca?: string; servername?: string }
  | { transport: 'unix'; path: string };

/** Parse a `--syslog` URL; a string is the reason it is not valid. */
export function parseSyslogUrl(s: string): SyslogTarget | string {
  if (s.startsWith('/')) return { transport: 'unix', path: s };
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `not a syslog URL: '${s}' (udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or unix:///dev/log)`;
  }
  const proto = u.protocol.replace(/:$/, '');
  if (proto === 'unix') return u.pathname ? { transport: 'unix', path: decodeURIComponent(u.pathname) } : 'unix: needs a path, e.g. unix:///dev/log';
  if (proto !== 'udp' && proto !== 'tcp' && proto !== 'tls') return `unknown syslog transport '${proto}' (udp, tcp, tls or unix)`;
  if (!u.hostname) return `${proto}: needs a host`;
  const port = u.port ? Number(u.port) : proto === 'udp' ? 514 : proto === 'tcp' ? 601 : 6514;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const t: SyslogTarget = { transport: proto, host, port };
  const ca = u.searchParams.get('ca');
  if (ca) t.ca = ca;
  const sn = u.searchParams.get('servername');
  if (sn) t.servername = sn;
  return t;
}

/** Options of {@link formatSyslog}. */
export interface SyslogFormatOptions {
  /** Facility number (default 16, local0). */
  facility?: number;
  /** Message body: RFC 5424 text with structured data (default) or a CEF line. */
  body?: 'rfc5424' | 'cef';
  hostname?: string;
  procId?: string | number;
  /** SD-ID of the structured data (default `iec104@32473`). */
  sdId?: string;
  version?: string;
  iface?: string;
}

function sdValue(s: string): string {
  return s.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** PRINTUSASCII without spaces, at most `max` characters, `-` when empty (RFC 5424 header fields). */
function headerField(s: string, max: number): string {
  const v = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return v === '' ? '-' : v;
}

/** The RFC 5424 message of an alert (without transport framing). */
export function formatSyslog(a: Alert, o: SyslogFormatOptions = {}): string {
  const f = alertFields(a);
  const pri = (o.facility ?? 16) * 8 + SYSLOG_SEVERITY[f.severity];
  const params: Array<[string, string]> = [
    ['rule', f.rule],
    ['severity', f.severity],
    ['src', `${f.src.ip}:${f.src.port}`],
    ['dst', `${f.dst.ip}:${f.dst.port}`],
    ['frame', String(f.frame)],
  ];
  if (f.flow !== undefined) params.push(['flow', String(f.flow)]);
  if (f.mitre) params.push(['mitre', f.mitre]);
  const sd = `[${o.sdId ?? 'iec104@32473'} ${params.map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ')}]`;
  const msg = o.body === 'cef' ? cefAlert(a, { ...(o.version ? { version: o.version } : {}), ...(o.iface ? { iface: o.iface } : {}) }) : f.message;
  return `<${pri}>1 ${isoMicros(a.ts)} ${headerField(o.hostname ?? hostname(), 255)} iec104 ${headerField(String(o.procId ?? process.pid), 128)} ${headerField(f.rule, 32)} ${sd} ${msg}`;
}

/** Counters of a {@link SyslogSender}. */
export interface SyslogStats {
  sent: number;
  dropped: number;
  errors: number;
}

/** Sends alerts to a syslog target; see the module comment. */
export class SyslogSender {
  readonly stats: SyslogStats = { sent: 0, dropped: 0, errors: 0 };
  private udp: UdpSocket | undefined;
  private stream: Socket | undefined;
  private logger: ChildProcess | undefined;
  private connecting = false;
  private queue: string[] = [];
  private retryMs = 500;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private reported = false;
  private useLogger = false;
  private udpPending = 0;

  constructor(
    private readonly target: SyslogTarget,
    private readonly fmt: SyslogFormatOptions = {},
    private readonly onError: (msg: string) => void = () => {},
  ) {}

  /** Queue one alert. */
  send(a: Alert): void {
    if (this.closed) return;
    this.sendText(formatSyslog(a, this.fmt));
  }

  /** Queue one ready message. */
  sendText(m: string): void {
    if (this.closed) return;
    const t = this.target;
    if (t.transport === 'udp') {
      this.udp ??= this.openUdp(t.host);
      this.udpPending++;
      this.udp.send(Buffer.from(m), t.port, t.host, (err) => {
        this.udpPending--;
        if (err) this.fail(err);
        else this.stats.sent++;
      });
      return;
    }
    if (this.useLogger && this.logger) {
      this.writeLogger(m);
      return;
    }
    if (this.stream && !this.connecting) {
      this.writeFramed(m);
      return;
    }
    if (this.queue.length >= MAX_QUEUE) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(m);
    if (!this.connecting && !this.retryTimer) this.connect();
  }

  private openUdp(host: string): UdpSocket {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.on('error', (e) => this.fail(e));
    s.unref();
    return s;
  }

  private writeFramed(m: string): void {
    const b = Buffer.from(m);
    this.stream!.write(`${b.length} `);
    this.stream!.write(b);
    this.stats.sent++;
  }

  private writeLogger(m: string): void {
    // logger builds its own header: give it the priority prefix and the message
    const pri = /^<(\d+)>1 \S+ \S+ \S+ \S+ \S+ (?:-|\[(?:[^\]\\]|\\.)*\]) ([\s\S]*)$/.exec(m);
    const line = pri ? `<${/^<(\d+)>/.exec(m)![1]}>${pri[2].replace(/\n/g, ' ')}` : m.replace(/\n/g, ' ');
    this.logger!.stdin!.write(line + '\n');
    this.stats.sent++;
  }

  private connect(): void {
    const t = this.target;
    if (t.transport === 'udp') return;
    this.connecting = true;
    let s: Socket;
    if (t.transport === 'unix') s = netConnect(t.path);
    else if (t.transport === 'tcp') s = netConnect(t.port, t.host);
    else {
      let ca: Buffer | undefined;
      try {
        ca = t.ca ? readFileSync(t.ca) : undefined;
      } catch (e) {
        this.fail(e as Error);
        this.connecting = false;
        return;
      }
      const servername = t.servername ?? (isIP(t.host) ? undefined : t.host);
      s = tlsConnect({ host: t.host, port: t.port, ...(servername ? { servername } : {}), ...(ca ? { ca } : {}) });
    }
    const onUp = (): void => {
      this.connecting = false;
      this.stream = s;
      this.retryMs = 500;
      const q = this.queue;
      this.queue = [];
      for (const m of q) this.writeFramed(m);
    };
    s.once(t.transport === 'tls' ? 'secureConnect' : 'connect', onUp);
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (t.transport === 'unix' && this.connecting && (e.code === 'EPROTOTYPE' || e.code === 'ENOTSOCK' || e.code === 'EPROTONOSUPPORT')) {
        this.connecting = false;
        this.startLogger(t.path);
        return;
      }
      this.fail(e);
    });
    s.on('close', () => {
      if (this.stream === s) this.stream = undefined;
      this.connecting = false;
      if (this.closed || this.useLogger) return;
      if (this.queue.length && !this.retryTimer) this.scheduleRetry();
    });
    s.unref();
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  private startLogger(path: string): void {
    this.useLogger = true;
    const child = spawn('logger', ['--socket', path, '--socket-errors=on', '--prio-prefix', '--rfc5424', '-t', 'iec104'], { stdio: ['pipe', 'ignore', 'pipe'] });
    child.on('error', (e) => this.fail(e));
    child.stderr!.on('data', (d: Buffer) => this.fail(new Error(`logger: ${d.toString().trim()}`)));
    child.stdin!.on('error', (e) => this.fail(e));
    this.logger = child;
    const q = this.queue;
    this.queue = [];
    for (const m of q) this.writeLogger(m);
  }

  private fail(e: Error): void {
    this.stats.errors++;
    if (!this.reported) {
      this.reported = true;
      this.onError(`syslog: ${e.message} (further errors only counted)`);
    }
    if (this.queue.length && !this.retryTimer && !this.connecting && this.target.transport !== 'udp' && !this.useLogger) this.scheduleRetry();
  }

  /** Send what is queued (waits up to `timeoutMs` for a connection) and close. */
  close(timeoutMs = 2000): Promise<void> {
    this.closing ??= this.doClose(timeoutMs);
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async doClose(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length || this.connecting || this.udpPending > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stats.dropped += this.queue.length;
    this.queue = [];
    if (this.udp) {
      const u = this.udp;
      await new Promise<void>((r) => u.close(() => r()));
    }
    if (this.stream) {
      const s = this.stream;
      await new Promise<void>((r) => {
        s.end(() => r());
        setTimeout(r, 500).unref();
      });
      s.destroy();
    }
    if (this.logger) {
      const l = this.logger;
      await new Promise<void>((r) => {
        l.once('close', () => r());
        l.stdin!.end();
        setTimeout(r, 1000).unref();
      });
    }
  }
}
