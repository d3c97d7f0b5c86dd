/**
 * The fleet view of `iec104 collect --ui`: one page with every site (health, alert counts), a
 * drill-down to a site (stations, sensor health, alerts) and to a station (current points,
 * alerts, commands), and the JSON it reads under `/api/`. It uses the web workbench's primitives
 * (address parsing, the loopback rule) and the same security: binds 127.0.0.1 by default; off
 * loopback every request needs the token (`Authorization: Bearer …`, `?token=…` or the cookie the
 * page receives). Read-only: the fleet view sends no commands.
 *
 * API (JSON): `/api/info`, `/api/sites`, `/api/sites/SITE` (stations, sensors, alerts),
 * `/api/sites/SITE/stations/STATION` (points, alerts, commands, IOA map), `/api/alerts?site=`,
 * `/api/commands?site=&station=`, `/api/sensors?site=`, `/api/collector` (counters, lag).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { isLoopback } from '../web/server.js';
import type { FleetStore } from './store.js';
import type { CollectorStats } from './collector.js';
import { FLEET_PAGE_CSS, FLEET_PAGE_HTML, FLEET_PAGE_JS } from './fleet-page.js';

/** Options of {@link startFleetUi}. */
export interface FleetUiOptions {
  store: FleetStore;
  /** Counters of the collector feeding the store (shown on the page). */
  stats?: () => CollectorStats;
  host?: string;
  port?: number;
  /** Token required off loopback (default: 32 random hex digits). */
  token?: string;
  title?: string;
}

/** A running fleet view. */
export interface FleetUi {
  readonly url: string;
  readonly port: number;
  readonly token: string | undefined;
  close(): Promise<void>;
}

const HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Starts the fleet view's HTTP server. */
export async function startFleetUi(o: FleetUiOptions): Promise<FleetUi> {
  const host = o.host ?? '127.0.0.1';
  const token = isLoopback(host) ? undefined : (o.token ?? randomBytes(16).toString('hex'));
  const authorized = (req: IncomingMessage, url: URL): boolean => {
    if (token === undefined) return true;
    const given = url.searchParams.get('token') ?? /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? /(?:^|;\s*)fleet_token=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const send = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { ...HEADERS, 'Content-Type': type, ...extra });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

  const api = async (path: string, q: URLSearchParams): Promise<unknown> => {
    const opt = (k: string): string | undefined => q.get(k) ?? undefined;
    const limit = Math.min(5000, Number(q.get('limit') ?? 1000) || 1000);
    if (path === '/api/info') return { title: o.title ?? 'iec104 fleet', dialect: o.store.dialect, schema: await o.store.schemaVersion(), collector: o.stats?.() ?? null };
    if (path === '/api/collector') return o.stats?.() ?? null;
    if (path === '/api/sites') return o.store.sites();
    if (path === '/api/alerts') return o.store.alerts({ site: opt('site'), limit });
    if (path === '/api/commands') return o.store.commands({ site: opt('site'), station: opt('station'), limit });
    if (path === '/api/sensors') return o.store.sensors(opt('site'));
    const m = /^\/api\/sites\/([^/]+)(?:\/stations\/([^/]+))?$/.exec(path);
    if (m) {
      const site = decodeURIComponent(m[1]);
      if (m[2] !== undefined) return (await o.store.station(site, decodeURIComponent(m[2]))) ?? null;
      const all = await o.store.sites();
      const head = all.find((s) => s.site === site);
      if (!head) return null;
      return { ...head, stationRows: await o.store.stations(site), sensorRows: await o.store.sensors(site), alertRows: await o.store.alerts({ site, limit: 200 }) };
    }
    return undefined;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!authorized(req, url)) return json(res, 401, { error: 'token required (see the URL collect printed)' });
    const cookie: Record<string, string> = token !== undefined && url.searchParams.has('token') ? { 'Set-Cookie': `fleet_token=${token}; HttpOnly; SameSite=Strict; Path=/` } : {};
    if (req.method !== 'GET') return json(res, 405, { error: 'the fleet view is read-only' });
    if (url.pathname === '/' || url.pathname === '/index.html') return send(res, 200, 'text/html; charset=utf-8', FLEET_PAGE_HTML, cookie);
    if (url.pathname === '/fleet.js') return send(res, 200, 'text/javascript; charset=utf-8', FLEET_PAGE_JS);
    if (url.pathname === '/fleet.css') return send(res, 200, 'text/css; charset=utf-8', FLEET_PAGE_CSS);
    if (!url.pathname.startsWith('/api/')) return json(res, 404, { error: `no such page: ${url.pathname}` });
    api(url.pathname, url.searchParams).then(
      (body) => (body === undefined ? json(res, 404, { error: `no such API: ${url.pathname}` }) : body === null ? json(res, 404, { error: 'not found' }) : json(res, 200, body)),
      (e: unknown) => json(res, 503, { error: `store: ${(e as Error).message}` }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8105, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/${token ? `?token=${token}` : ''}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
