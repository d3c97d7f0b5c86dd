/**
 * Prometheus metrics: counters and gauges with labels, rendered in the text exposition format
 * 0.0.4, served at `/metrics` by {@link MetricsServer} (`--metrics [ADDR:]PORT` of analyze, proxy,
 * serve and connect).
 *
 * Written here rather than taken from `prom-client`: we need counters and gauges only (no
 * histograms, no default process collectors, no push gateway), the format is a few lines of text,
 * and the package would add a runtime dependency (with its own dependencies) for about 100 lines.
 */
import { createServer, type Server } from 'node:http';

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  /** Computed at scrape time (gauges of state owned elsewhere). */
  collect?: () => Array<{ labels?: Labels; value: number }> | number;
}

function labelKey(l: Labels): string {
  return Object.keys(l)
    .sort()
    .map((k) => `${k}\u0000${l[k]}`)
    .join('\u0001');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** A set of metric families. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, type: 'counter' | 'gauge'): Family {
    let f = this.families.get(name);
    if (!f) {
      if (!NAME_RE.test(name)) throw new Error(`invalid metric name '${name}'`);
      f = { name, help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** Declare a counter (so it is exposed, at 0, before the first increment). */
  counter(name: string, help: string): void {
    this.family(name, help, 'counter');
  }

  /** Declare a gauge. */
  gauge(name: string, help: string): void {
    this.family(name, help, 'gauge');
  }

  /** Add `by` (default 1) to a counter. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric '${name}' was not declared`);
    const k = labelKey(labels);
    const v = f.values.get(k);
    if (v) v.value += by;
    else f.values.set(k, { labels, value: by });
  }

  /** Set a gauge (or a counter mirrored from another counter). */
  set(name: string, value: number, labels: Labels = {}): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`metric '${name}' was not declared`);
    const k = labelKey(labels);
    const v = f.values.get(k);
    if (v) v.value = value;
    else f.values.set(k, { labels, value });
  }

  /** A gauge (or counter) whose values are computed when scraped. */
  collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => Array<{ labels?: Labels; value: number }> | number): void {
    const f = this.family(name, help, type);
    f.collect = fn;
  }

  /** Current value (for tests and summaries). */
  value(name: string, labels: Labels = {}): number | undefined {
    return this.families.get(name)?.values.get(labelKey(labels))?.value;
  }

  /** The text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      let rows: Array<{ labels?: Labels; value: number }> = [...f.values.values()];
      if (f.collect) {
        const c = f.collect();
        rows = typeof c === 'number' ? [{ value: c }] : c;
      }
      if (rows.length === 0 && f.values.size === 0 && !f.collect) rows = [];
      for (const r of rows) {
        const ls = Object.entries(r.labels ?? {});
        const lt = ls.length ? `{${ls.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
        out.push(`${f.name}${lt} ${fmtValue(r.value)}`);
      }
    }
    return out.join('\n') + '\n';
  }
}

/** Parse `--metrics [ADDR:]PORT` (`9464`, `127.0.0.1:9464`, `[::1]:9464`, `0` = any free port). */
export function parseMetricsAddress(s: string): { host: string; port: number } | string {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(s);
  if (!m) return `--metrics needs [ADDR:]PORT, got '${s}'`;
  const port = Number(m[2]);
  if (port > 65535) return `--metrics port must be 0..65535, got ${port}`;
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '0.0.0.0';
  return { host, port };
}

/** The Prometheus text content type. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** HTTP server for `/metrics`. */
export class MetricsServer {
  private constructor(
    private readonly server: Server,
    /** Bound address and port. */
    readonly address: { host: string; port: number },
  ) {}

  /** Listen; `before` is called before each scrape (to refresh computed values). */
  static listen(reg: MetricsRegistry, at: { host: string; port: number }, before?: () => void): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
        return;
      }
      let body: string;
      try {
        before?.();
        body = reg.render();
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    server.keepAliveTimeout = 5000;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => {
        server.off('error', reject);
        server.unref();
        const a = server.address();
        const port = typeof a === 'object' && a ? a.port : at.port;
        resolve(new MetricsServer(server, { host: at.host, port }));
      });
    });
  }

  /** Stop listening. */
  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections?.();
      this.server.close(() => r());
    });
  }
}

/**
 * Start a `/metrics` endpoint for a command: `setup` declares the metrics on a new registry.
 * Writes `PREFIX: metrics at URL` on `log`; resolves to the server, or to an error text.
 */
export async function startMetricsEndpoint(at: { host: string; port: number }, setup: (reg: MetricsRegistry) => void, log: (line: string) => void): Promise<MetricsServer | string> {
  const reg = new MetricsRegistry();
  setup(reg);
  try {
    const s = await MetricsServer.listen(reg, at);
    log(`metrics at http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${s.address.port}/metrics`);
    return s;
  } catch (e) {
    return `cannot serve metrics on ${at.host}:${at.port}: ${(e as Error).message}`;
  }
}
