/**
 * Security audit log: one JSON object a line (or a pretty line) to a file, stdout, a function, or
 * syslog (RFC 5424; UDP, or a unix *stream* socket with RFC 6587 octet counting: Node has no unix
 * datagram sockets, so `/dev/log` itself cannot be used: point it at an rsyslog `imptcp`/`imuxsock`
 * stream socket or syslog-ng `unix-stream()`).
 *
 * Recorded: every connection attempt accepted or refused and why (source, local port, TLS version
 * and cipher, peer certificate subject and fingerprint), every STARTDT/STOPDT, and commands
 * ({@link AuditLog.auditCommand}, called by the stations). Never recorded: keys, passphrases,
 * ticket keys (fields with those names are replaced by `[redacted]`, and so is any string holding
 * a PEM private key).
 */
import dgram from 'node:dgram';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import type { ConnectionEndpoints, PeerCertificateInfo, SecurityCode, SecurityEvent, SecurityEvents, TlsSessionEvent, TlsSessionInfo } from './security-events.js';

/** Syslog destination. */
export interface SyslogTarget {
  /** UDP host (default 127.0.0.1) and port (default 514); ignored when `path` is set. */
  host?: string;
  port?: number;
  /** Unix stream socket path (octet-counted framing). */
  path?: string;
  /** APP-NAME (default `iec104`). */
  appName?: string;
  /** Facility number (default 13, "log audit"). */
  facility?: number;
}

/** Where audit lines go. */
export type AuditSink = 'stdout' | { file: string } | { syslog: SyslogTarget } | { write: (line: string) => void };

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  /** One or more sinks (default stdout). */
  sink?: AuditSink | AuditSink[];
  /** `json` (default): one JSON object a line; `pretty`: one readable line. Syslog always gets JSON. */
  format?: 'json' | 'pretty';
  /** Time source (default: wall clock ISO 8601). */
  time?: () => string;
}

/** A connection attempt or a security close. */
export interface ConnectionAuditRecord extends ConnectionEndpoints {
  outcome: 'accepted' | 'refused' | 'closed';
  /** `server`: someone connected to us; `client`: we connected. */
  side: 'server' | 'client';
  code?: SecurityCode;
  reason?: string;
  detail?: string;
  tls?: TlsSessionInfo;
  peer?: PeerCertificateInfo;
}

/** STARTDT / STOPDT seen on a link. */
export interface LinkAuditRecord extends ConnectionEndpoints {
  event: 'STARTDT' | 'STOPDT';
  /** State the link entered (`started`, `stopped`, `stopping`). */
  state: string;
  /** Peer certificate subject of a TLS session. */
  peerSubject?: string;
}

/** A command (control direction) and what became of it. */
export interface CommandAuditRecord {
  /** Who sent it: `host:port`, plus the certificate subject where known. */
  source: string | { address: string; port?: number; subject?: string; fingerprint256?: string };
  target: { ca: number; ioa: number; typeId: number };
  /** The commanded value (JSON-safe). */
  value: unknown;
  /** e.g. `executed`, `rejected`, `timeout`, `failed`, `select`, `cancelled`. */
  outcome: string;
  /** e.g. `{ receivedAt, confirmedAt, durationMs }`. */
  timing?: Record<string, string | number | undefined>;
  /** Free text (why rejected). */
  reason?: string;
}

const SECRET_FIELDS = new Set(['key', 'privatekey', 'passphrase', 'password', 'secret', 'ticketkeys', 'pfx']);
const PEM_SECRET = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Deep copy with secret fields and PEM private keys replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return PEM_SECRET.test(value) ? '[redacted]' : value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) {
    const s = Buffer.from(value).toString('latin1');
    return PEM_SECRET.test(s) ? '[redacted]' : Buffer.from(value).toString('hex');
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELDS.has(k.toLowerCase()) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

const SEVERITY = { accepted: 5, refused: 4, closed: 4, link: 6, command: 5, tls: 6, tlsWarning: 4 } as const;

interface Writer {
  /** Always JSON (syslog). */
  jsonOnly?: boolean;
  write(line: string, severity: number, msgid: string, time: string): void;
  close(): Promise<void>;
}

function syslogWriter(t: SyslogTarget): Writer {
  const app = t.appName ?? 'iec104';
  const facility = t.facility ?? 13;
  const host = hostname().replace(/\s/g, '') || '-';
  const frame = (line: string, severity: number, msgid: string, time: string): string => `<${facility * 8 + severity}>1 ${time} ${host} ${app} ${process.pid} ${msgid} - ${line}`;
  if (t.path) {
    const sock = net.connect({ path: t.path });
    sock.on('error', () => {}); // an audit sink that is down must not crash the station
    sock.unref();
    return {
      jsonOnly: true,
      write(line, sev, msgid, time) {
        const m = Buffer.from(frame(line, sev, msgid, time));
        if (!sock.destroyed) sock.write(`${m.length} ${m}`);
      },
      close: () =>
        new Promise<void>((res) => {
          if (sock.destroyed) res();
          else sock.end(() => res());
        }),
    };
  }
  const host4 = t.host ?? '127.0.0.1';
  const sock = dgram.createSocket(net.isIPv6(host4) ? 'udp6' : 'udp4');
  sock.on('error', () => {});
  sock.unref();
  let pending = 0;
  let onIdle: (() => void) | undefined;
  return {
    jsonOnly: true,
    write(line, sev, msgid, time) {
      pending++;
      sock.send(frame(line, sev, msgid, time), t.port ?? 514, host4, () => {
        if (--pending === 0) onIdle?.();
      });
    },
    close: () =>
      new Promise<void>((res) => {
        const done = (): void => {
          sock.close(() => res());
        };
        if (pending === 0) done();
        else onIdle = done;
      }),
  };
}

function makeWriter(s: AuditSink): Writer {
  if (s === 'stdout') return { write: (l) => void process.stdout.write(l + '\n'), close: async () => {} };
  if ('write' in s) return { write: (l) => s.write(l), close: async () => {} };
  if ('file' in s) {
    const ws: WriteStream = createWriteStream(s.file, { flags: 'a', mode: 0o640 });
    ws.on('error', () => {});
    // close() resolves once the descriptor is closed ('close'), not merely flushed ('finish')
    const close = (): Promise<void> => new Promise<void>((res) => {
      if (ws.closed) return res();
      ws.once('close', () => res());
      ws.end();
    });
    return { write: (l) => void ws.write(l + '\n'), close };
  }
  return syslogWriter(s.syslog);
}

function endpoint(r: ConnectionEndpoints): string {
  return `${r.remoteAddress.includes(':') ? `[${r.remoteAddress}]` : r.remoteAddress}:${r.remotePort} -> :${r.localPort}`;
}

/**
 * The audit log.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { AuditLog } from 'iec104';
 * const lines: string[] = [];
 * const audit = new AuditLog({ sink: { write: (l) => lines.push(l) }, time: () => 't' });
 * audit.auditCommand({ source: '10.0.0.5:40001', target: { ca: 1, ioa: 5000, typeId: 45 }, value: true, outcome: 'executed', timing: { durationMs: 12 } });
 * const rec = JSON.parse(lines[0]);
 * assert.equal(rec.kind, 'command');
 * assert.deepEqual(rec.target, { ca: 1, ioa: 5000, typeId: 45 });
 * ```
 */
export class AuditLog {
  private readonly writers: Writer[];
  private readonly pretty: boolean;
  private readonly time: () => string;

  constructor(opts: AuditLogOptions = {}) {
    const sinks = opts.sink === undefined ? ['stdout' as const] : Array.isArray(opts.sink) ? opts.sink : [opts.sink];
    this.writers = sinks.map(makeWriter);
    this.pretty = opts.format === 'pretty';
    this.time = opts.time ?? (() => new Date().toISOString());
  }

  /** A connection accepted, refused, or closed for a security reason. */
  connection(rec: ConnectionAuditRecord): void {
    const r = redact(rec) as ConnectionAuditRecord;
    const word = rec.outcome.toUpperCase();
    const tlsPart = r.tls ? ` ${r.tls.version} ${r.tls.cipher}${r.tls.resumed ? ' resumed' : ''}${r.tls.forwardSecrecy === false ? ' no-forward-secrecy' : ''}` : '';
    const peerPart = r.peer ? ` peer="${r.peer.subject}" sha256=${r.peer.fingerprint256}` : '';
    const why = r.code ? ` ${r.code}: ${r.reason ?? ''}` : '';
    this.emit('connection', { ...r }, `${word.padEnd(8)} ${endpoint(r)}${tlsPart}${peerPart}${why}`, SEVERITY[rec.outcome], 'CONN');
  }

  /** A security event (from {@link SecurityEvents}) as a `refused`/`closed` connection record. */
  security(ev: SecurityEvent): void {
    this.connection({
      outcome: ev.action,
      side: ev.side,
      remoteAddress: ev.remoteAddress,
      remotePort: ev.remotePort,
      localPort: ev.localPort,
      code: ev.code,
      reason: ev.reason,
      ...(ev.detail ? { detail: ev.detail } : {}),
      ...(ev.tls ? { tls: ev.tls } : {}),
      ...(ev.peer ? { peer: ev.peer } : {}),
    });
  }

  /**
   * A TLS session event (`kind: 'tls'`): the negotiated version and suite with a warning when it
   * has no forward secrecy, resumption, and every TLS 1.2 renegotiation (who started it, how many).
   */
  tlsSession(ev: TlsSessionEvent): void {
    const r = redact(ev) as TlsSessionEvent;
    const what = ev.event === 'renegotiated' ? `RENEG    ${endpoint(r)} by ${ev.initiator === 'local' ? 'us' : 'peer'} #${ev.renegotiations ?? 1}` : `TLS      ${endpoint(r)}`;
    this.emit(
      'tls',
      { ...r },
      `${what} ${r.tls.version} ${r.tls.cipher}${r.tls.resumed ? ' resumed' : ''}${r.peerSubject ? ` peer="${r.peerSubject}"` : ''}${r.warning ? ` WARNING ${r.warning}` : ''}`,
      r.warning ? SEVERITY.tlsWarning : SEVERITY.tls,
      'TLS',
    );
  }

  /** Record every event of `events`, refusals and TLS sessions (returns a function that stops). */
  follow(events: SecurityEvents): () => void {
    const a = events.on((ev) => this.security(ev));
    const b = events.onSession((ev) => this.tlsSession(ev));
    return () => {
      a();
      b();
    };
  }

  /** STARTDT / STOPDT. */
  link(rec: LinkAuditRecord): void {
    const r = redact(rec) as LinkAuditRecord;
    this.emit('link', { ...r }, `${rec.event.padEnd(8)} ${endpoint(r)} state=${r.state}${r.peerSubject ? ` peer="${r.peerSubject}"` : ''}`, SEVERITY.link, rec.event);
  }

  /** A command and its outcome (called by the stations). */
  auditCommand(rec: CommandAuditRecord): void {
    const r = redact(rec) as CommandAuditRecord;
    const src = typeof r.source === 'string' ? r.source : `${r.source.address}${r.source.port !== undefined ? `:${r.source.port}` : ''}${r.source.subject ? ` "${r.source.subject}"` : ''}`;
    const timing = r.timing ? ' ' + Object.entries(r.timing).map(([k, v]) => `${k}=${v}`).join(' ') : '';
    this.emit(
      'command',
      { ...r },
      `COMMAND  ${src} -> ca=${r.target.ca} ioa=${r.target.ioa} type=${r.target.typeId} value=${JSON.stringify(r.value)} ${r.outcome}${r.reason ? ` (${r.reason})` : ''}${timing}`,
      SEVERITY.command,
      'CMD',
    );
  }

  /** Flush and close the sinks. */
  async close(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.close()));
  }

  private emit(kind: string, fields: object, prettyText: string, severity: number, msgid: string): void {
    const time = this.time();
    const json = JSON.stringify({ time, kind, ...fields });
    const line = this.pretty ? `${time} ${prettyText}` : json;
    for (const w of this.writers) {
      try {
        w.write(w.jsonOnly ? json : line, severity, msgid, time);
      } catch {
        // an audit sink failure must not break the connection handling
      }
    }
  }
}
