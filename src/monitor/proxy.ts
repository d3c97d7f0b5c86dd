/**
 * Enforcing IEC 104 proxy: sits between a master and an RTU, terminates the link on both sides
 * (a controlled-role {@link Link} toward the master, a controlling-role {@link Link} toward the
 * RTU, each with its own sequence numbers, acknowledgements and timers), forwards ASDUs both ways
 * with back-pressure, mirrors STARTDT / STOPDT, and feeds every forwarded APDU to a
 * {@link Detector}. With `enforce`, a command the policy forbids never reaches the RTU, whatever its
 * cause of transmission: the proxy answers the master itself with a negative confirmation (cause 7
 * for act, 9 for deact, 45 "unknown cause" for any other cause) and raises an alert. Set-points
 * that are NaN or infinite never satisfy a policy value range.
 *
 * Either leg can use mutual TLS (IEC 62351-3): `listenTls` toward the masters (the proxy presents
 * a server certificate and requires a client certificate), `upstreamTls` toward the RTU (the proxy
 * presents a client certificate and verifies the RTU's). Every refusal is a {@link SecurityEvent}
 * (`RunningProxy.security`) and a `proxy.tls-refused` / `proxy.access-refused` alert.
 *
 * The verified subject of the master's certificate goes into every `ObservedApdu` of that
 * connection (`peerSubject`, both directions; `null` on a plain TCP listener), so the policy's
 * `masters[].certificateSubjects` are enforced: a master whose subject is not allowed gets a
 * `policy.certificate-subject` alert once per connection, and with `enforce` each of its commands
 * is refused like any other forbidden command.
 *
 * A master's STARTDT act is answered only once the RTU connection is up: until then the proxy
 * does not read from the master. When the RTU cannot be reached the master's connection is
 * closed without a STARTDT con, a warning is logged, and a `proxy.upstream-unreachable` alert is
 * raised (the master sees an RTU that is down, not one that accepted data transfer and vanished).
 */
import type net from 'node:net';
import type { Asdu } from '../codec/asdu.js';
import { decodeApdu } from '../codec/apdu.js';
import { typeInfo } from '../codec/type-table.js';
import type { CodecOptions } from '../codec/options.js';
import type { Link } from '../link/link.js';
import type { LinkCloseReason, LinkParameters } from '../link/types.js';
import { type Logger, nullLogger } from '../log.js';
import { type SecurityEvent, SecurityEvents } from '../transport/security-events.js';
import { bindLink, connectTcp, listenTcp, type TcpLinkServer } from '../transport/tcp-link.js';
import type { TlsConfig } from '../transport/tls-config.js';
import { connectTls, TlsSecurity } from '../transport/tls-verify.js';
import { Detector, type DetectorOptions } from './detector.js';
import type { CommandRecord } from './commands.js';
import type { InventorySummary } from './inventory.js';
import type { Policy } from './policy.js';
import { isTrackedCommandType } from './roles.js';
import { type Alert, type FlowDirection, type ObservedApdu, makeAlert } from './types.js';

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** Where masters connect (port 0: any free port). */
  listen: { host?: string; port: number };
  /** The RTU. */
  upstream: { host: string; port: number };
  /** Policy (and baseline) enforced by the detector. */
  policy?: Policy;
  /** Block commands that raise an alert of a blocking rule (default false: monitor only). */
  enforce?: boolean;
  /**
   * Rule ids or prefixes that block a command when `enforce` is set (default `['policy.']`: any
   * policy violation). Add e.g. `'baseline.new-ioa'` to block commands to unseen objects too.
   */
  blockRules?: string[];
  /** Detector options (rules, thresholds, disabled rules). `link.*` rules are always disabled: each leg's Link enforces the link layer itself. */
  detector?: Omit<DetectorOptions, 'policy'>;
  /** Every alert (detector alerts and `proxy.command-blocked`). */
  onAlert?: (a: Alert) => void;
  /** Commands tracked to their end (outcome, latencies), as the detector completes them. */
  onCommands?: (cs: CommandRecord[]) => void;
  /** Every ASDU forwarded or blocked, with its direction, the RTU's and the master's endpoints and the time. */
  onAsdu?: (asdu: Asdu, o: { direction: FlowDirection; station: string; master: string; ts: number }) => void;
  /** APCI parameters of both legs. */
  params?: Partial<LinkParameters>;
  codec?: Partial<CodecOptions>;
  /**
   * ASDUs queued per direction while the other leg cannot send (default 1024); beyond it the source
   * is paused until the queue drains. A queue that still grows to 4× this (the proxy's own negative
   * confirmations to a master that blocks forbidden commands and does not acknowledge) closes the
   * session (log `proxy.queue_limit`): a per-connection memory bound.
   */
  queueLimit?: number;
  /**
   * Mutual TLS toward the masters: the proxy presents `cert` and requires a client certificate
   * chaining to `ca` (a {@link TlsConfig}, or a shared {@link TlsSecurity}). Refused masters never
   * cause an upstream connection.
   */
  listenTls?: TlsConfig | TlsSecurity;
  /** Mutual TLS toward the RTU: the proxy presents `cert` as its client certificate and verifies the RTU's against `ca`. */
  upstreamTls?: TlsConfig | TlsSecurity;
  /** Watch the CRL files of `listenTls` / `upstreamTls` and reload them on change while running (default true). */
  watchCrl?: boolean;
  /** Most simultaneous master connections (default 16). */
  maxConnections?: number;
  logger?: Logger;
  /** Wall clock for observations (ms since the epoch, default `Date.now`). */
  now?: () => number;
}

/** Counters of a running proxy. */
export interface ProxyStats {
  connections: number;
  open: number;
  toStation: number;
  toMaster: number;
  blocked: number;
  alerts: number;
  /** Times a source was paused because the other leg's queue was full. */
  paused: number;
  /** Security events: refused or closed connections on either leg (TLS verification, connection limit, no STARTDT). */
  refused: number;
}

/** A running proxy. */
export interface RunningProxy {
  /** The bound listening port. */
  port: number;
  readonly stats: ProxyStats;
  /**
   * Where the proxy records refusals of both legs (logged at `warn`, counted by code). Events of a
   * {@link TlsSecurity} passed in by the caller go to that instance's own `events` (they still
   * become alerts).
   */
  readonly security: SecurityEvents;
  /** Alert counts by rule. */
  alertCounts(): Record<string, number>;
  /** What the proxy's monitor has seen: stations, masters, CAs, IOAs. */
  inventory(): InventorySummary;
  /** Stop listening and close every session. */
  close(): Promise<void>;
}

/** One ASDU queue toward a link, bounded, pausing the source socket when full, `onOverflow` at 4× the limit. */
class Pump {
  readonly q: Asdu[] = [];
  pausedSource = false;
  target: Link | undefined;
  private overflowed = false;
  constructor(
    private readonly limit: number,
    private readonly source: () => net.Socket | undefined,
    private readonly onPause: () => void,
    private readonly onOverflow: (queued: number) => void = () => {},
  ) {}
  push(a: Asdu): void {
    this.q.push(a);
    this.run();
    if (this.q.length > 4 * this.limit && !this.overflowed) {
      this.overflowed = true;
      this.q.length = 0;
      this.onOverflow(4 * this.limit);
      return;
    }
    if (this.q.length >= this.limit && !this.pausedSource) {
      const s = this.source();
      if (s) {
        s.pause();
        this.pausedSource = true;
        this.onPause();
      }
    }
  }
  run(): number {
    const l = this.target;
    let n = 0;
    if (!l || l.state !== 'started') return 0;
    while (this.q.length > 0 && l.send(this.q[0])) {
      this.q.shift();
      n++;
    }
    if (this.pausedSource && this.q.length <= this.limit >> 1) {
      this.pausedSource = false;
      this.source()?.resume();
    }
    return n;
  }
}

function apciOf(frame: Uint8Array): { format: 'I'; sendSeq: number; recvSeq: number } {
  return { format: 'I', sendSeq: ((frame[2] | (frame[3] << 8)) >> 1) & 0x7fff, recvSeq: ((frame[4] | (frame[5] << 8)) >> 1) & 0x7fff };
}

function endpoint(host: string, port: number): string {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/**
 * Start the proxy. Each master connection gets its own upstream connection (opened when the
 * master connects, started when the master starts data transfer).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { startProxy } from 'iec104';
 * const proxy = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 1 } });
 * assert.ok(proxy.port > 0);
 * assert.equal(proxy.stats.connections, 0);
 * await proxy.close();
 * ```
 */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const log = opts.logger ?? nullLogger;
  const now = opts.now ?? Date.now;
  const disabled = [...(opts.detector?.disabled ?? []), 'link.'];
  const det = new Detector({ ...opts.detector, disabled, ...(opts.policy ? { policy: opts.policy } : {}) });
  const blockRules = opts.blockRules ?? ['policy.'];
  const limit = opts.queueLimit ?? 1024;
  const stats: ProxyStats = { connections: 0, open: 0, toStation: 0, toMaster: 0, blocked: 0, alerts: 0, paused: 0, refused: 0 };
  const sessions = new Set<{ close(why: string): void }>();
  let frameNo = 0;
  let sessionNo = 0;
  const extra = new Map<string, number>();
  const emit = (alerts: Alert[]): void => {
    for (const a of alerts) {
      stats.alerts++;
      if (a.rule.startsWith('proxy.')) extra.set(a.rule, (extra.get(a.rule) ?? 0) + 1);
      try {
        opts.onAlert?.(a);
      } catch (e) {
        log.log('error', 'proxy.alert_handler_error', `onAlert threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  const blocks = (rule: string): boolean => blockRules.some((r) => rule === r || ((r.endsWith('.') || r.endsWith('-')) && rule.startsWith(r)));
  const security = new SecurityEvents(log.child({ component: 'security' }));
  const tlsOf = (t: TlsConfig | TlsSecurity | undefined, side: string): TlsSecurity | undefined =>
    t === undefined ? undefined : t instanceof TlsSecurity ? t : new TlsSecurity(t, { logger: log.child({ component: 'tls', side }), events: security });
  // both resolved (files read, checked) before anything listens: a bad configuration throws TlsConfigError
  const listenSec = tlsOf(opts.listenTls, 'master');
  const upSec = tlsOf(opts.upstreamTls, 'upstream');
  const station = endpoint(opts.upstream.host, opts.upstream.port);
  if (!listenSec && opts.policy?.masters.some((m) => m.certificateSubjects.length > 0)) {
    log.log('warn', 'proxy.subjects_without_tls', 'the policy names certificateSubjects but the master leg is plain TCP: every connection of a master whose entry requires them violates the policy (policy.certificate-subject)');
  }
  let listenPort = opts.listen.port;
  const onSecurity = (ev: SecurityEvent): void => {
    stats.refused++;
    const tlsCode = ev.code.startsWith('E_TLS');
    const rule = tlsCode ? 'proxy.tls-refused' : 'proxy.access-refused';
    const peer = endpoint(ev.remoteAddress, ev.remotePort);
    const o = ev.side === 'server'
      ? { frame: frameNo, ts: now(), src: peer, dst: endpoint(opts.listen.host ?? '0.0.0.0', ev.localPort || listenPort), flow: 'proxy-listen' }
      : { frame: frameNo, ts: now(), src: 'proxy', dst: station, flow: 'proxy-upstream' };
    const leg = ev.side === 'server' ? `master ${peer}` : `RTU ${station}`;
    const evidence: { [key: string]: string } = { code: ev.code, side: ev.side, action: ev.action, reason: ev.reason };
    if (ev.detail) evidence.detail = ev.detail;
    if (ev.peer) {
      evidence.subject = ev.peer.subject;
      evidence.fingerprint256 = ev.peer.fingerprint256;
    }
    emit([makeAlert(o, rule, tlsCode ? 'high' : 'medium', `${leg} ${ev.action}: ${ev.code} ${ev.reason}`, evidence)]);
  };
  const unsubscribe = [...new Set([security, listenSec?.events, upSec?.events])].flatMap((e) => (e ? [e.on(onSecurity)] : []));
  const watching = opts.watchCrl ?? true;
  const stopCrl = [...new Set([listenSec, upSec])].flatMap((t) => (t && watching && t.config.crlSources.length > 0 ? [t.watchCrl()] : []));
  const stopSecurity = (): void => {
    for (const f of unsubscribe) f();
    for (const f of stopCrl) f();
  };
  const timer = setInterval(() => emit(det.advance(now())), 1000);
  timer.unref();

  let server: TcpLinkServer;
  try {
    server = await listenTcp(
      {
        host: opts.listen.host, port: opts.listen.port, link: { role: 'controlled', params: opts.params, codec: opts.codec }, maxConnections: opts.maxConnections ?? 16, logger: log,
        events: security, ...(listenSec ? { secure: listenSec } : {}),
      },
      (conn) => {
        stats.connections++;
        stats.open++;
        const flow = `proxy-${++sessionNo}`;
        const master = endpoint(conn.remoteAddress, conn.remotePort);
        // the master's verified certificate subject (null: plain TCP or no client certificate), on every APDU of the flow
        const peerSubject = conn.peer ? conn.peer.subject : null;
        let up: Link | undefined;
        let upSocket: net.Socket | undefined;
        let closed = false;
        const observe = (dir: FlowDirection, raw: Uint8Array, asdu?: Asdu): Alert[] => {
          const o: ObservedApdu = {
            frame: ++frameNo, ts: now(), src: dir === 'master→station' ? master : station, dst: dir === 'master→station' ? station : master,
            flow, direction: dir, raw, peerSubject,
          };
          if (asdu) o.apdu = { apci: apciOf(raw), asdu };
          else {
            const r = decodeApdu(raw);
            if (!r.ok) return [];
            o.apdu = r.value;
          }
          const alerts = det.observe(o);
          if (opts.onCommands) {
            const cs = det.takeCommands();
            if (cs.length) opts.onCommands(cs);
          }
          if (asdu) opts.onAsdu?.(asdu, { direction: dir, station, master, ts: o.ts });
          return alerts;
        };
        // nothing from the master is read (so its STARTDT act is not confirmed) until the RTU
        // connection is up; resumed on connect, closed when the RTU cannot be reached
        conn.socket.pause();
        const overflow = (leg: string) => (n: number): void => {
          log.log('warn', 'proxy.queue_limit', `queue toward the ${leg} over ${n} ASDUs: session closed`, { master, queued: n });
          session.close(`queue toward the ${leg} over ${n} ASDUs (4 x queueLimit): closed`);
        };
        const toUp = new Pump(limit, () => conn.socket, () => stats.paused++, overflow('station'));
        const toDown = new Pump(limit, () => upSocket, () => stats.paused++, overflow('master'));
        const session = {
          close(why: string): void {
            if (closed) return;
            closed = true;
            sessions.delete(session);
            stats.open--;
            det.closeFlow(flow);
            if (down.state !== 'closed') down.close(why);
            if (up && up.state !== 'closed') up.close(why);
            else if (upSocket && !up) upSocket.destroy();
          },
        };
        sessions.add(session);
        const down: Link = conn.bind({
          asdu(asdu, frame) {
            const alerts = observe('master→station', frame, asdu);
            // every control-direction ASDU is checked, whatever its cause (a lenient RTU may act on
            // a command sent with cause 3 or 20)
            const isCommand = isTrackedCommandType(asdu.typeId) || typeInfo(asdu.typeId)?.direction === 'control';
            const why = opts.enforce && isCommand ? alerts.filter((a) => blocks(a.rule)) : [];
            if (why.length > 0) {
              stats.blocked++;
              const o = { frame: frameNo, ts: now(), src: master, dst: station, flow };
              alerts.push(makeAlert(o, 'proxy.command-blocked', 'high', `${asdu.typeId === 100 ? 'interrogation' : 'command'} type ${asdu.typeId} to CA ${asdu.ca} IOA ${asdu.objects.map((x) => x.ioa).join(',')} blocked: ${why.map((a) => a.rule).join(', ')}`, { typeId: asdu.typeId, ca: asdu.ca, ioas: asdu.objects.map((x) => x.ioa), rules: why.map((a) => a.rule) }, 'T0855'));
              emit(alerts);
              // the mirror of act / deact; an ASDU with any other cause gets "unknown cause" (45)
              toDown.push({ ...asdu, cot: asdu.cot === 8 ? 9 : asdu.cot === 6 ? 7 : 45, negative: true });
              return;
            }
            emit(alerts);
            stats.toStation++;
            toUp.push(asdu);
          },
          frame(direction, bytes) {
            if (direction === 'in' && (bytes[2] & 1) === 1) emit(observe('master→station', bytes));
          },
          stateChange(state, previous) {
            if (state === 'started' && up && up.state === 'stopped') up.start();
            if ((state === 'stopping' || state === 'stopped') && previous === 'started' && up && up.state === 'started') up.stop();
            if (state === 'started') toDown.run();
          },
          drain() {
            toDown.run();
          },
          close(reason: LinkCloseReason) {
            log.log('info', 'proxy.master_closed', reason.message, { master, code: reason.code });
            session.close(`master side closed: ${reason.message}`);
          },
        });
        toDown.target = down;
        const t0 = opts.params?.t0 ?? 30_000;
        (upSec ? connectTls(opts.upstream.host, opts.upstream.port, upSec, { t0, logger: log }) : connectTcp(opts.upstream.host, opts.upstream.port, { t0 })).then(
          (socket) => {
            if (closed) {
              socket.destroy();
              return;
            }
            upSocket = socket;
            up = bindLink(socket, { role: 'controlling', params: opts.params, codec: opts.codec }, {
              asdu(asdu, frame) {
                emit(observe('station→master', frame, asdu));
                stats.toMaster++;
                toDown.push(asdu);
              },
              frame(direction, bytes) {
                if (direction === 'in' && (bytes[2] & 1) === 1) emit(observe('station→master', bytes));
              },
              stateChange(state) {
                if (state === 'started') toUp.run();
              },
              drain() {
                toUp.run();
              },
              close(reason) {
                if (!closed) log.log('warn', 'proxy.upstream_closed', `RTU ${station} closed the connection of master ${master}: ${reason.code} ${reason.message}`, { station, master, code: reason.code });
                session.close(`upstream closed: ${reason.message}`);
              },
            });
            toUp.target = up;
            if (down.state === 'started') up.start();
            if (!toUp.pausedSource) conn.socket.resume();
          },
          (err: unknown) => {
            if (closed) return;
            const why = err instanceof Error ? err.message : String(err);
            const code = (err as { code?: unknown } | undefined)?.code;
            log.log('warn', 'proxy.upstream_failed', `cannot connect to the RTU ${station} for master ${master}: ${why}; closing the master's connection without confirming STARTDT`, { station, master, ...(typeof code === 'string' ? { code } : {}) });
            const o = { frame: frameNo, ts: now(), src: 'proxy', dst: station, flow };
            emit([makeAlert(o, 'proxy.upstream-unreachable', 'high', `RTU ${station} unreachable for master ${master}: ${why}`, { station, master, reason: why, ...(typeof code === 'string' ? { code } : {}) })]);
            session.close('upstream connection failed');
          },
        );
      },
    );
  } catch (e) {
    clearInterval(timer);
    stopSecurity();
    throw e;
  }
  listenPort = server.port;

  return {
    port: server.port,
    stats,
    security,
    alertCounts: () => {
      const c: Record<string, number> = { ...det.alertCounts() };
      for (const [k, n] of extra) c[k] = n;
      return c;
    },
    inventory: () => det.inventory(),
    async close() {
      clearInterval(timer);
      for (const s of [...sessions]) s.close('proxy closed');
      stopSecurity();
      await server.close();
    },
  };
}
