/**
 * The web workbench server: a small node:http server that serves the bundled page (src/web/public,
 * no external assets) and a JSON API under `/api/`, with live updates by server-sent events
 * (`/api/events`). It composes library objects passed in — a controlled station, a controlling
 * station (master), a proxy, an analysed capture — and has no protocol logic of its own.
 *
 * Security: binds 127.0.0.1 by default; on any other address every request needs the token
 * (`Authorization: Bearer …`, `?token=…`, or the cookie the page receives) or gets 401. Commands
 * are refused with 403 unless `commands` is set. See docs/web.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { decodeApdu } from '../codec/apdu.js';
import { TYPE_ID_NOT_USED, familyOf, isProcessCommand, typeName } from '../codec/type-table.js';
import type { Asdu } from '../codec/asdu.js';
import type { ControllingStation } from '../master/master.js';
import { NegativeConfirmationError, RequestTimeoutError } from '../master/errors.js';
import { isMonitorData, toPointValues } from '../master/points.js';
import type { ControlledStation } from '../station/station.js';
import type { StationPoint } from '../station/point-database.js';
import type { RunningProxy } from '../monitor/proxy.js';
import { Detector } from '../monitor/detector.js';
import type { Alert, JsonValue } from '../monitor/types.js';
import { type CaptureView, captureApduHex } from './capture-view.js';
import {
  type CommandRow, type ConnectionRow, type GroupRow, type PointRow, decodeAnswer, linkFields, parseHexText, rowFromPointValue, rowFromStationPoint, tlsRow,
} from './model.js';
import { latencyGroups } from './latency.js';
import { watchProxy } from './proxy-view.js';

/** Options of {@link startWorkbench}. */
export interface WorkbenchOptions {
  /** Address to bind (default `127.0.0.1`). Any non-loopback address requires the token. */
  host?: string;
  /** Port (default 8104; 0 picks a free one). */
  port?: number;
  /** Token required off loopback (default: 32 random hex digits, generated when needed). */
  token?: string;
  /** Accept command requests from the page (default false: read-only, command requests get 403). */
  commands?: boolean;
  /** A controlled station to show (its connections and, without a master, its points). */
  station?: ControlledStation;
  /** A controlling station to show (its connection, received points) and to command through. */
  master?: ControllingStation;
  /** A running proxy (its counters; feed its alerts with {@link Workbench.addAlert}). */
  proxy?: RunningProxy;
  /** An analysed capture for the capture page. */
  capture?: CaptureView;
  /** The station the master talks to (`host:port`), shown in the connection panel. */
  masterPeer?: string;
  /** Watch the master's frames with the monitor's detector and show its alerts (default true with a master). */
  monitorMaster?: boolean;
  /** Title shown in the page header. */
  title?: string;
  /** Period of the live updates pushed to the page, ms (default 250). */
  flushMs?: number;
  /** Timers of the live updates (default: the system clock). */
  clock?: Clock;
  /** Wall clock for `updated` and command times (default Date.now). */
  now?: () => number;
  /** Most alerts and commands kept (default 1000 each). */
  keep?: number;
}

/** A running workbench. */
export interface Workbench {
  /** `http://host:port/` (with `?token=…` when a token is required). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The token, when one is required (off loopback). */
  readonly token: string | undefined;
  /** Show an alert (e.g. from a proxy's `onAlert`). */
  addAlert(a: Alert): void;
  /** Show a command record (e.g. tracked by a monitor). */
  addCommand(c: Omit<CommandRow, 'id'>): void;
  close(): Promise<void>;
}

/** A command request of `POST /api/command`. */
export interface CommandRequest {
  ca: number;
  ioa: number;
  /** Process command type 45..51 (58..64 time-tagged). */
  typeId: number;
  /** Single: true/false; double: 1 off / 2 on; step: 1 lower / 2 higher; set-points and bitstrings: a number. */
  value: boolean | number;
  /** `direct` (S/E=0), `select` (S/E=1), `execute` (S/E=0 after a select), `sbo` (select then execute). */
  step: 'direct' | 'select' | 'execute' | 'sbo';
}

/** Error of {@link startWorkbench} (bad options, address in use). */
export class WorkbenchError extends Error {
  override readonly name = 'WorkbenchError';
  constructor(readonly code: 'E_WEB_OPTIONS' | 'E_WEB_LISTEN', message: string) {
    super(message);
  }
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Parse `[ADDR:]PORT` of `--ui` (`8104`, `0.0.0.0:8104`, `[::1]:8104`). Throws WorkbenchError on bad input. */
export function parseUiAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new WorkbenchError('E_WEB_OPTIONS', `--ui: expected [ADDR:]PORT (e.g. 8104 or 127.0.0.1:8104), got '${text}'`);
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1', port };
}


function publicDir(): string {
  const candidates = [fileURLToPath(new URL('./public/', import.meta.url)), fileURLToPath(new URL('../../src/web/public/', import.meta.url))];
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  throw new WorkbenchError('E_WEB_OPTIONS', `the workbench's page is missing (looked in ${candidates.join(', ')})`);
}

const MIME: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
const ASSETS = ['index.html', 'app.js', 'style.css', 'favicon.svg'];
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Start the workbench.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { startWorkbench } from 'iec104';
 * const wb = await startWorkbench({ port: 0 });
 * const r = await fetch(new URL('/api/decode?hex=68040700 0000', wb.url));
 * assert.equal((await r.json()).summary, 'U-frame STARTDT_ACT');
 * await wb.close();
 * ```
 */
export async function startWorkbench(o: WorkbenchOptions = {}): Promise<Workbench> {
  const host = o.host ?? '127.0.0.1';
  const loopback = isLoopback(host);
  const token = loopback ? undefined : (o.token ?? randomBytes(16).toString('hex'));
  if (o.token !== undefined && o.token.length < 8) throw new WorkbenchError('E_WEB_OPTIONS', 'the token needs at least 8 characters');
  const clock = o.clock ?? systemClock;
  const now = o.now ?? Date.now;
  const keep = o.keep ?? 1000;
  const flushMs = o.flushMs ?? 250;
  const dir = publicDir();
  const assets = new Map<string, Buffer>();
  for (const a of ASSETS) if (existsSync(join(dir, a))) assets.set(a, readFileSync(join(dir, a)));

  const { station, master, proxy, capture } = o;
  const points = new Map<string, PointRow>();
  const dirty = new Map<string, PointRow>();
  const alerts: Alert[] = [];
  const commands: CommandRow[] = [];
  let commandSeq = 0;
  const clients = new Set<ServerResponse>();
  const stationSeen = new Map<StationPoint, { time: number; value: unknown; quality: unknown }>();

  const send = (event: string, data: unknown): void => {
    if (!clients.size) return;
    const msg = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of clients) c.write(msg);
  };
  const keepBounded = <T>(list: T[]): void => {
    if (list.length > keep) list.splice(0, list.length - keep);
  };
  const addAlert = (a: Alert): void => {
    alerts.push(a);
    keepBounded(alerts);
    send('alert', a);
  };
  const addCommand = (c: Omit<CommandRow, 'id'>): CommandRow => {
    const row: CommandRow = { id: ++commandSeq, ...c };
    commands.push(row);
    keepBounded(commands);
    send('command', row);
    return row;
  };
  const nameOf = (ca: number, ioa: number): string => station?.point(ca, ioa)?.name ?? station?.commandPoint(ca, ioa)?.name ?? '';

  // --- live sources ---------------------------------------------------------------------------
  const cleanups: (() => void)[] = [];
  // activations the page sent, per type:CA:IOA, not to be listed again when the master's monitor tracks them
  const pageSent = new Map<string, number>();
  const proxyView = proxy
    ? watchProxy(proxy, {
      point(row) {
        points.set(row.key, row);
        dirty.set(row.key, row);
      },
      command: addCommand,
      commandUpdated: (row) => send('command', row),
    }, now, nameOf, keep)
    : undefined;
  if (proxyView) cleanups.push(() => proxyView.close());
  const termWatch = new Set<(a: Asdu) => void>();
  if (master) {
    const onAsdu = (a: Asdu): void => {
      for (const w of termWatch) w(a);
      if (!isMonitorData(a)) return;
      const t = now();
      for (const p of toPointValues(a, t)) {
        const row = rowFromPointValue(p, t, nameOf(p.ca, p.ioa));
        points.set(row.key, row);
        dirty.set(row.key, row);
      }
    };
    master.on('asdu', onAsdu);
    cleanups.push(() => master.off('asdu', onAsdu));
    if (o.monitorMaster !== false) {
      const det = new Detector({});
      let frame = 0;
      const onFrame = (d: 'in' | 'out', bytes: Uint8Array): void => {
        const r = decodeApdu(bytes);
        const out = d === 'out';
        const obs = {
          frame: ++frame, ts: now(), src: out ? 'master:0' : 'station:0', dst: out ? 'station:0' : 'master:0', flow: '0',
          direction: out ? ('master→station' as const) : ('station→master' as const), raw: Uint8Array.from(bytes),
          ...(r.ok ? { apdu: r.value } : { error: { code: r.error.code, offset: r.error.offset, field: r.error.field, message: r.error.message } }),
        };
        for (const a of det.observe(obs)) addAlert(a);
        // commands the master's own program sent (the page's are listed already)
        for (const c of det.takeCommands()) {
          const key = `${c.typeId}:${c.ca}:${c.ioa}`;
          const expected = pageSent.get(key) ?? 0;
          if (expected > 0) {
            if (expected === 1) pageSent.delete(key);
            else pageSent.set(key, expected - 1);
            continue;
          }
          addCommand({
            ts: c.ts, ca: c.ca, ioa: c.ioa, typeId: c.typeId, type: c.typeName, value: c.value, step: c.select === null ? 'direct' : c.select ? 'select' : 'execute',
            outcome: c.outcome, ...(c.negativeCause ? { reason: c.negativeCause } : {}), ...(c.conLatencyMs !== undefined ? { actConMs: c.conLatencyMs } : {}),
            ...(c.termLatencyMs !== undefined ? { actTermMs: c.termLatencyMs } : {}), origin: 'master',
          });
        }
      };
      master.on('frame', onFrame);
      cleanups.push(() => master.off('frame', onFrame));
    }
  }
  const pollStation = (): void => {
    if (!station || master) return;
    for (const p of station.db.points()) {
      const seen = stationSeen.get(p);
      if (seen && seen.time === p.time && seen.value === p.value && seen.quality === p.quality) continue;
      stationSeen.set(p, { time: p.time, value: p.value, quality: p.quality });
      const row = rowFromStationPoint(p);
      points.set(row.key, row);
      dirty.set(row.key, row);
    }
  };
  pollStation();
  dirty.clear();

  const connections = (): ConnectionRow[] => {
    const rows: ConnectionRow[] = [];
    if (master) {
      const s = master.snapshot();
      const l = linkFields(s.link);
      const tls = tlsRow(s.tls);
      rows.push({
        role: 'master', id: 'master', peer: masterPeer ?? '', state: s.state, started: s.state === 'started', vs: l.vs, vr: l.vr,
        unacknowledged: l.unacknowledged, queued: s.queued, ...(tls ? { tls } : {}), counters: { ...l.counters, ...numeric(s.counters), pending: s.pending },
      });
    }
    if (station) {
      const st = station.stats();
      for (const c of st.sessions) {
        const l = linkFields(c.link);
        const tls = tlsRow(c.tls);
        rows.push({
          role: 'station', id: String(c.id), peer: c.remote ?? '', state: l.linkState, started: l.linkState === 'started', vs: l.vs, vr: l.vr,
          unacknowledged: l.unacknowledged, queued: c.events.pending, group: c.group, active: c.servesEvents, ...(tls ? { tls } : {}), counters: { ...l.counters, ...numeric(c.counters) },
        });
      }
    }
    if (proxy) {
      rows.push({ role: 'proxy', id: 'proxy', peer: `:${proxy.port}`, state: 'listening', started: true, vs: null, vr: null, unacknowledged: null, queued: null, counters: numeric(proxy.stats) });
      for (const p of proxy.sessions()) {
        const legs = [['master', p.master, p.masterLink, p.masterTls, p.queued.toMaster], ['station', p.station, p.stationLink, p.stationTls, p.queued.toStation]] as const;
        for (const [leg, peer, link, t, queued] of legs) {
          const l = linkFields(link);
          const tls = tlsRow(t);
          rows.push({
            role: 'proxy', leg, id: `${p.flow} ${leg === 'master' ? 'master leg' : 'RTU leg'}`, peer, state: l.linkState, started: l.linkState === 'started', vs: l.vs, vr: l.vr,
            unacknowledged: l.unacknowledged, queued, ...(tls ? { tls } : {}), counters: l.counters,
          });
        }
      }
    }
    return rows;
  };
  const masterPeer = o.masterPeer;
  let lastConnections = '';
  const groups = (): GroupRow[] => {
    if (!station) return [];
    return station.stats().redundancy.groups.map((g) => ({
      name: g.name, persistent: g.persistent, connections: g.connections.map(String), ...(g.active !== undefined ? { active: String(g.active) } : {}),
      capacity: g.queue.capacity, pending: g.queue.pending, inFlight: g.queue.inFlight, enqueued: g.queue.enqueued, sent: g.queue.sent, acknowledged: g.queue.acknowledged,
      requeued: g.queue.requeued, dropped: g.queue.dropped, takeovers: g.takeovers,
    }));
  };
  let lastGroups = '';

  let timer: TimerHandle | undefined;
  let closed = false;
  const tick = (): void => {
    if (closed) return;
    pollStation();
    proxyView?.poll();
    if (dirty.size) {
      send('points', [...dirty.values()]);
      dirty.clear();
    }
    const c = JSON.stringify(connections());
    if (c !== lastConnections) {
      lastConnections = c;
      if (clients.size) for (const cl of clients) cl.write(`event: connections\ndata: ${c}\n\n`);
    }
    const g = JSON.stringify(groups());
    if (g !== lastGroups) {
      lastGroups = g;
      if (clients.size) for (const cl of clients) cl.write(`event: groups\ndata: ${g}\n\n`);
    }
    timer = clock.setTimeout(tick, flushMs);
  };
  timer = clock.setTimeout(tick, flushMs);
  let keepAlive = 0;

  // --- commands -------------------------------------------------------------------------------
  const runCommand = async (req: CommandRequest): Promise<CommandRow> => {
    if (!master) throw new HttpError(409, 'no controlling station (master) in this process: commands go through a master (iec104 connect, npm start)');
    const bad = checkCommand(req);
    if (bad) throw new HttpError(400, bad);
    const value = commandValue(req);
    const key = `${req.typeId}:${req.ca}:${req.ioa}`;
    pageSent.set(key, (pageSent.get(key) ?? 0) + (req.step === 'sbo' ? 2 : 1));
    const t0 = clock.now();
    const row = addCommand({
      ts: now(), ca: req.ca, ioa: req.ioa, typeId: req.typeId, type: typeName(req.typeId), value: value as JsonValue,
      step: req.step === 'sbo' ? 'select+execute' : req.step, outcome: 'pending', origin: 'page',
    });
    const update = (): void => send('command', row);
    let watch: ((a: Asdu) => void) | undefined;
    if (req.step !== 'select') {
      watch = (a: Asdu): void => {
        if (a.ca === req.ca && a.cot === 10 && a.objects.some((x) => x.ioa === req.ioa) && (a.typeId === req.typeId || a.typeId === TYPE_ID_NOT_USED)) {
          row.actTermMs = clock.now() - t0;
          termWatch.delete(watch!);
          update();
        }
      };
      termWatch.add(watch);
      const stop = clock.setTimeout(() => watch && termWatch.delete(watch), 30000);
      cleanups.push(() => clock.clearTimeout(stop));
    }
    try {
      const obj = { value };
      const r = req.step === 'sbo'
        ? await master.selectBeforeOperate(req.typeId, req.ca, req.ioa, obj)
        : await master.command(req.typeId, req.ca, req.ioa, obj, { select: req.step === 'select' });
      row.outcome = 'positive';
      if (r.rtt.actCon !== undefined) row.actConMs = r.rtt.actCon;
      if (r.rtt.actTerm !== undefined) row.actTermMs = r.rtt.actTerm;
    } catch (e) {
      if (watch) termWatch.delete(watch);
      const code = (e as { code?: string }).code ?? '';
      row.outcome = e instanceof NegativeConfirmationError ? 'negative' : e instanceof RequestTimeoutError ? 'timeout' : 'refused';
      if (code) row.reason = code;
      row.reason = `${row.reason ? `${row.reason}: ` : ''}${e instanceof Error ? e.message : String(e)}`;
    }
    update();
    return row;
  };

  // --- HTTP -----------------------------------------------------------------------------------
  const authorized = (req: IncomingMessage, url: URL): { ok: boolean; viaQuery: boolean } => {
    if (token === undefined) return { ok: true, viaQuery: false };
    const given: string[] = [];
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) given.push(auth.slice(7).trim());
    const q = url.searchParams.get('token');
    if (q) given.push(q);
    const cookie = /(?:^|;\s*)iec104_token=([^;]+)/.exec(req.headers.cookie ?? '');
    if (cookie) given.push(decodeURIComponent(cookie[1]));
    const want = Buffer.from(token);
    const ok = given.some((g) => {
      const b = Buffer.from(g);
      return b.length === want.length && timingSafeEqual(b, want);
    });
    return { ok, viaQuery: ok && q !== null };
  };

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const info = (): Record<string, unknown> => ({
    title: o.title ?? 'iec104 workbench',
    commands: o.commands === true,
    sources: { station: station !== undefined, master: master !== undefined, proxy: proxy !== undefined, capture: capture !== undefined },
    commandPoints: station ? station.commandObjects().map((c) => ({ ca: c.ca, ioa: c.ioa, name: c.name ?? '', typeId: c.type, type: typeName(c.type) })) : [],
  });

  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      let size = 0;
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => {
        size += d.length;
        if (size > 65536) {
          reject(new HttpError(413, 'request body over 64 KiB'));
          req.destroy();
        } else parts.push(d);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8') || 'null'));
        } catch {
          reject(new HttpError(400, 'the body is not JSON'));
        }
      });
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://workbench.invalid');
    const path = url.pathname;
    // DNS rebinding: on loopback, only loopback host names may address us
    if (loopback) {
      const h = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (h && !isLoopback(h)) throw new HttpError(403, `host '${h}' is not a loopback name (the workbench binds loopback)`);
    }
    const auth = authorized(req, url);
    if (!auth.ok) {
      res.writeHead(401, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer realm="iec104 workbench"' });
      res.end('401: this workbench listens off loopback and needs its token (printed at start): Authorization: Bearer TOKEN, or ?token=TOKEN\n');
      return;
    }
    const extra: Record<string, string> = {};
    if (auth.viaQuery && token) extra['Set-Cookie'] = `iec104_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;

    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin && new URL(origin).host !== req.headers.host) throw new HttpError(403, `cross-origin request from ${origin} refused`);
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send the request as Content-Type: application/json');
      if (path === '/api/command' || path === '/api/points/set') {
        if (!o.commands) throw new HttpError(403, 'read-only workbench: start the process with --ui-commands to send commands from the page');
        const body = await readBody(req);
        if (path === '/api/command') return json(res, 200, await runCommand(body as CommandRequest));
        return json(res, 200, setStationPoint(station, body));
      }
      throw new HttpError(404, `no such API: POST ${path}`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method ${req.method} not allowed`);

    if (path === '/' || path === '/decode' || path === '/capture' || path === '/index.html') return asset(res, 'index.html', extra);
    if (path === '/app.js' || path === '/style.css' || path === '/favicon.svg') return asset(res, path.slice(1), extra);
    switch (path) {
      case '/api/info':
        return json(res, 200, info());
      case '/api/points':
        return json(res, 200, [...points.values()]);
      case '/api/connections':
        return json(res, 200, connections());
      case '/api/alerts':
        return json(res, 200, alerts);
      case '/api/commands':
        return json(res, 200, commands);
      case '/api/groups':
        return json(res, 200, groups());
      case '/api/latency':
        return json(res, 200, latencyGroups(commands));
      case '/api/decode': {
        const hex = url.searchParams.get('hex') ?? '';
        const bytes = parseHexText(hex);
        if (typeof bytes === 'string') throw new HttpError(400, `hex: ${bytes}`);
        return json(res, 200, decodeAnswer(bytes));
      }
      case '/api/capture': {
        if (!capture) throw new HttpError(404, 'no capture in this process (iec104 analyze FILE --ui)');
        const { octets: _o, apdus: _a, ...rest } = capture;
        return json(res, 200, rest);
      }
      case '/api/capture/apdus': {
        if (!capture) throw new HttpError(404, 'no capture in this process (iec104 analyze FILE --ui)');
        const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) | 0);
        const limit = Math.min(5000, Math.max(1, Number(url.searchParams.get('limit') ?? 500) | 0));
        return json(res, 200, { total: capture.apdus.length, offset, rows: capture.apdus.slice(offset, offset + limit) });
      }
      case '/api/events':
        return events(req, res);
    }
    const m = /^\/api\/capture\/apdus\/(\d+)$/.exec(path);
    if (m && capture) {
      const hex = captureApduHex(capture, Number(m[1]));
      if (hex === undefined) throw new HttpError(404, `no APDU ${m[1]} (the capture lists ${capture.apdus.length})`);
      return json(res, 200, { apdu: capture.apdus[Number(m[1])], ...decodeAnswer(parseHexText(hex) as Uint8Array) });
    }
    throw new HttpError(404, `not found: ${path}`);
  };

  const asset = (res: ServerResponse, name: string, extra: Record<string, string>): void => {
    const body = assets.get(name);
    if (!body) throw new HttpError(404, `not found: /${name}`);
    res.writeHead(200, { ...SECURITY_HEADERS, ...extra, 'Content-Type': MIME[name.split('.').pop() ?? ''] ?? 'application/octet-stream', 'Content-Length': body.length });
    res.end(body);
  };

  const events = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write(`retry: 2000\nevent: connections\ndata: ${JSON.stringify(connections())}\n\n`);
    if (station) res.write(`event: groups\ndata: ${JSON.stringify(groups())}\n\n`);
    clients.add(res);
    req.on('close', () => clients.delete(res));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof Error ? e.message : String(e);
      if (res.headersSent) {
        res.end();
        return;
      }
      json(res, status, { error: message, status });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new WorkbenchError('E_WEB_LISTEN', `workbench: cannot listen on ${host}:${o.port ?? 8104}: ${e.code ?? e.message}`)));
    server.listen(o.port ?? 8104, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const ka = setInterval(() => {
    keepAlive++;
    for (const c of clients) c.write(`: keep-alive ${keepAlive}\n\n`);
  }, 15000);
  ka.unref();
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${port}/${token ? `?token=${token}` : ''}`;
  return {
    url, host, port, token,
    addAlert,
    addCommand: (c) => void addCommand(c),
    async close() {
      closed = true;
      clock.clearTimeout(timer);
      clearInterval(ka);
      for (const c of cleanups) c();
      for (const c of clients) c.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function numeric(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[k] = v;
  return out;
}

function checkCommand(r: CommandRequest): string | undefined {
  if (typeof r !== 'object' || r === null) return 'body: expected {ca, ioa, typeId, value, step}';
  if (!Number.isInteger(r.ca) || r.ca < 0 || r.ca > 65535) return 'ca: an integer 0..65535';
  if (!Number.isInteger(r.ioa) || r.ioa < 0 || r.ioa > 16777215) return 'ioa: an integer 0..16777215';
  if (!isProcessCommand(r.typeId)) return 'typeId: a process command type (45..51, 58..64)';
  if (!['direct', 'select', 'execute', 'sbo'].includes(r.step)) return "step: 'direct', 'select', 'execute' or 'sbo'";
  if (typeof r.value !== 'number' && typeof r.value !== 'boolean') return 'value: a number or a boolean';
  return undefined;
}

function commandValue(r: CommandRequest): boolean | number {
  if (familyOf(r.typeId) === 'single') return r.value === true || r.value === 1;
  return Number(r.value);
}

function setStationPoint(station: ControlledStation | undefined, body: unknown): { ok: true } {
  if (!station) throw new HttpError(409, 'no controlled station in this process (iec104 serve)');
  const b = body as { ca?: unknown; ioa?: unknown; value?: unknown };
  if (typeof b !== 'object' || b === null || !Number.isInteger(b.ca) || !Number.isInteger(b.ioa)) throw new HttpError(400, 'body: expected {ca, ioa, value}');
  if (!station.point(b.ca as number, b.ioa as number)) throw new HttpError(404, `no point CA ${b.ca} IOA ${b.ioa}`);
  try {
    station.update(b.ca as number, b.ioa as number, b.value as never);
  } catch (e) {
    throw new HttpError(400, e instanceof Error ? e.message : String(e));
  }
  return { ok: true };
}
