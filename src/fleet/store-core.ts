/**
 * The fleet store's logic, written once over a minimal SQL driver ({@link SqlDriver}) so that
 * SQLite and PostgreSQL run the same statements and answer the same queries: migrations, batched
 * ingest with de-duplication by envelope id in the same transaction as the effects, retention, and
 * the fleet queries.
 */
import type { FleetEnvelope } from './envelope.js';
import { FLEET_MIGRATIONS, FLEET_SCHEMA_VERSION, FleetSchemaError } from './schema.js';
import { effectsOf, healthOf } from './store-effects.js';
import type { FleetStore } from './store.js';
import type { FleetAlert, FleetCommand, FleetSensor, FleetSite, FleetStation, FleetStationDetail, FleetPoint, IngestResult } from './store-rows.js';

/** The little a store needs from a database binding. SQL uses `?` placeholders. */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Rows of a statement (an empty list for statements without rows). */
  query(sql: string, params?: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Runs `fn` in one transaction (commit on success, rollback on a throw); `fn` uses this driver. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const CHUNK = 200;

const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
function rows<T>(list: Array<Record<string, unknown>>): T[] {
  return list.map((r) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) o[camel(k)] = typeof v === 'bigint' ? Number(v) : v;
    return o as T;
  });
}

/** `INSERT … VALUES (…), (…)` for `n` rows of `cols` columns, with the conflict clause `tail`. */
const multi = (head: string, cols: number, n: number, tail: string): string => `${head} VALUES ${Array.from({ length: n }, () => `(${Array.from({ length: cols }, () => '?').join(', ')})`).join(', ')} ${tail}`;
const SITE_HEAD = 'INSERT INTO sites (site, first_seen, last_seen, messages)';
const SITE_TAIL = `ON CONFLICT (site) DO UPDATE SET last_seen = CASE WHEN excluded.last_seen > sites.last_seen THEN excluded.last_seen ELSE sites.last_seen END,
  messages = sites.messages + excluded.messages`;
const SENSOR_HEAD = 'INSERT INTO sensors (sensor, site, first_seen, last_seen, messages, max_seq, lag_ms, drops, health, buffer_depth)';
const SENSOR_TAIL = `ON CONFLICT (sensor) DO UPDATE SET site = excluded.site,
  last_seen = CASE WHEN excluded.last_seen > sensors.last_seen THEN excluded.last_seen ELSE sensors.last_seen END,
  messages = sensors.messages + excluded.messages,
  lag_ms = CASE WHEN excluded.max_seq >= sensors.max_seq THEN excluded.lag_ms ELSE sensors.lag_ms END,
  max_seq = CASE WHEN excluded.max_seq > sensors.max_seq THEN excluded.max_seq ELSE sensors.max_seq END,
  drops = CASE WHEN excluded.health IS NULL THEN sensors.drops ELSE excluded.drops END,
  buffer_depth = CASE WHEN excluded.health IS NULL THEN sensors.buffer_depth ELSE excluded.buffer_depth END,
  health = COALESCE(excluded.health, sensors.health)`;

const STATION_COLS = `s.site, s.station, s.first_seen, s.last_seen,
  (SELECT COUNT(*) FROM points p WHERE p.site = s.site AND p.station = s.station) AS points,
  (SELECT COALESCE(SUM(a.count), 0) FROM alerts a WHERE a.site = s.site AND a.station = s.station) AS alerts,
  (SELECT COUNT(*) FROM commands c WHERE c.site = s.site AND c.station = s.station) AS commands`;

/** A {@link FleetStore} over any {@link SqlDriver}. */
export class FleetStoreCore implements FleetStore {
  constructor(private readonly db: SqlDriver, private readonly now: () => number) {}

  get dialect(): 'sqlite' | 'postgres' {
    return this.db.dialect;
  }

  /** Applies the missing migrations up to `to` (default: all); refuses a newer database. */
  async migrate(to = FLEET_SCHEMA_VERSION): Promise<void> {
    await this.db.query('CREATE TABLE IF NOT EXISTS fleet_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)');
    for (const m of FLEET_MIGRATIONS) {
      if (m.version > to) break;
      await this.db.transaction(async () => {
        // several collectors may start at once on one PostgreSQL database: one migrates, the others wait
        if (this.db.dialect === 'postgres') await this.db.query('SELECT pg_advisory_xact_lock(104104)');
        const have = await this.schemaVersion();
        if (have > FLEET_SCHEMA_VERSION) throw new FleetSchemaError(have);
        if (have >= m.version) return;
        for (const s of m.statements) await this.db.query(s);
        await this.db.query('INSERT INTO fleet_migrations (version, name, applied) VALUES (?, ?, ?)', [m.version, m.name, this.now()]);
      });
    }
    const have = await this.schemaVersion();
    if (have > FLEET_SCHEMA_VERSION) throw new FleetSchemaError(have);
  }

  async schemaVersion(): Promise<number> {
    const r = await this.db.query('SELECT COALESCE(MAX(version), 0) AS v FROM fleet_migrations');
    return Number(r[0]?.v ?? 0);
  }

  async ingest(batch: readonly FleetEnvelope[], received = this.now()): Promise<IngestResult> {
    const unique = new Map<string, FleetEnvelope>();
    for (const e of batch) if (!unique.has(e.id)) unique.set(e.id, e);
    const list = [...unique.values()];
    return this.db.transaction(async () => {
      const fresh = new Set<string>();
      for (let i = 0; i < list.length; i += CHUNK) {
        const part = list.slice(i, i + CHUNK);
        const params: unknown[] = [];
        for (const e of part) params.push(e.id, e.site, e.sensor, e.seq, e.kind, Math.round(e.ts), received, JSON.stringify(e.body) ?? 'null');
        const values = part.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
        const got = await this.db.query(`INSERT INTO envelopes (id, site, sensor, seq, kind, ts, received, body) VALUES ${values} ON CONFLICT (id) DO NOTHING RETURNING id`, params);
        for (const r of got) fresh.add(String(r.id));
      }
      let ignored = 0;
      const sites = new Map<string, number>();
      const sensors = new Map<string, { site: string; n: number; maxSeq: number; lag: number; health?: ReturnType<typeof healthOf> }>();
      for (const e of list) {
        if (!fresh.has(e.id)) continue;
        const effects = effectsOf(e, received);
        for (const s of effects) await this.db.query(s.sql, s.params);
        if (effects.length === 0 && e.kind !== 'record' && e.kind !== 'health') ignored++;
        sites.set(e.site, (sites.get(e.site) ?? 0) + 1);
        const s = sensors.get(e.sensor) ?? { site: e.site, n: 0, maxSeq: 0, lag: 0 };
        s.n++;
        s.site = e.site;
        if (e.seq >= s.maxSeq) {
          s.maxSeq = e.seq;
          s.lag = received - e.ts;
        }
        if (e.kind === 'health') s.health = healthOf(e.body) ?? s.health;
        sensors.set(e.sensor, s);
      }
      // one statement per table for the whole batch (keys are unique within it: aggregated above)
      if (sites.size > 0) await this.db.query(multi(SITE_HEAD, 4, sites.size, SITE_TAIL), [...sites].flatMap(([site, n]) => [site, received, received, n]));
      const sensorRows = [...sensors];
      for (let i = 0; i < sensorRows.length; i += 100) {
        const part = sensorRows.slice(i, i + 100);
        const params = part.flatMap(([sensor, s]) => [sensor, s.site, received, received, s.n, s.maxSeq, s.lag, s.health?.drops ?? 0, s.health?.text ?? null, s.health?.bufferDepth ?? 0]);
        await this.db.query(multi(SENSOR_HEAD, 10, part.length, SENSOR_TAIL), params);
      }
      return { stored: fresh.size, duplicates: batch.length - fresh.size, ignored };
    });
  }

  async prune(cutoff: number): Promise<number> {
    return this.db.transaction(async () => {
      const a = await this.db.query('DELETE FROM envelopes WHERE received < ? RETURNING id', [cutoff]);
      const b = await this.db.query('DELETE FROM commands WHERE received < ? RETURNING id', [cutoff]);
      return a.length + b.length;
    });
  }

  async sites(): Promise<FleetSite[]> {
    return rows<FleetSite>(await this.db.query(`SELECT s.site, s.messages, s.first_seen, s.last_seen,
      (SELECT COUNT(*) FROM sensors x WHERE x.site = s.site) AS sensors,
      (SELECT COUNT(*) FROM stations x WHERE x.site = s.site) AS stations,
      (SELECT COALESCE(SUM(a.count), 0) FROM alerts a WHERE a.site = s.site) AS alerts,
      (SELECT COUNT(*) FROM alerts a WHERE a.site = s.site) AS alert_rows,
      (SELECT COUNT(*) FROM commands c WHERE c.site = s.site) AS commands,
      (SELECT COUNT(*) FROM points p WHERE p.site = s.site) AS points
      FROM sites s ORDER BY s.site`));
  }

  async sensors(site?: string): Promise<FleetSensor[]> {
    const where = site === undefined ? '' : 'WHERE site = ?';
    return rows<FleetSensor>(await this.db.query(`SELECT sensor, site, first_seen, last_seen, messages, max_seq, lag_ms, drops, buffer_depth, health FROM sensors ${where} ORDER BY sensor`, site === undefined ? [] : [site]));
  }

  async stations(site: string): Promise<FleetStation[]> {
    const list = rows<Omit<FleetStation, 'cas'>>(await this.db.query(`SELECT ${STATION_COLS} FROM stations s WHERE s.site = ? ORDER BY s.station`, [site]));
    const cas = await this.db.query('SELECT station, ca FROM station_cas WHERE site = ? ORDER BY station, ca', [site]);
    return list.map((s) => ({ ...s, cas: cas.filter((c) => c.station === s.station).map((c) => Number(c.ca)) }));
  }

  async station(site: string, station: string): Promise<FleetStationDetail | undefined> {
    const head = rows<Omit<FleetStation, 'cas'>>(await this.db.query(`SELECT ${STATION_COLS} FROM stations s WHERE s.site = ? AND s.station = ?`, [site, station]))[0];
    if (!head) return undefined;
    const cas = (await this.db.query('SELECT ca FROM station_cas WHERE site = ? AND station = ? ORDER BY ca', [site, station])).map((c) => Number(c.ca));
    const pointValues = rows<FleetPoint>(await this.db.query('SELECT site, station, ca, ioa, type, value, quality, ts FROM points WHERE site = ? AND station = ? ORDER BY ca, ioa', [site, station]));
    const alertRows = rows<FleetAlert>(await this.db.query('SELECT site, rule, flow, station, severity, message, count, first_seen, last_seen FROM alerts WHERE site = ? AND station = ? ORDER BY last_seen DESC, rule, flow', [site, station]));
    const commandRows = await this.commands({ site, station, limit: 200 });
    const ioaMap = rows<{ ca: number; ioa: number; types: string; count: number; firstSeen: number; lastSeen: number }>(
      await this.db.query('SELECT ca, ioa, types, count, first_seen, last_seen FROM ioas WHERE site = ? AND station = ? ORDER BY ca, ioa', [site, station]),
    ).map((x) => ({ ...x, types: JSON.parse(x.types) as string[] }));
    return { ...head, cas, pointValues, alertRows, commandRows, ioaMap };
  }

  async alerts(q: { site?: string; limit?: number } = {}): Promise<FleetAlert[]> {
    const where = q.site === undefined ? '' : 'WHERE site = ?';
    const params: unknown[] = q.site === undefined ? [] : [q.site];
    params.push(q.limit ?? 1000);
    return rows<FleetAlert>(await this.db.query(`SELECT site, rule, flow, station, severity, message, count, first_seen, last_seen FROM alerts ${where} ORDER BY last_seen DESC, site, rule, flow LIMIT ?`, params));
  }

  async commands(q: { site?: string; station?: string; limit?: number } = {}): Promise<FleetCommand[]> {
    const conds: string[] = [];
    const params: unknown[] = [];
    if (q.site !== undefined) {
      conds.push('site = ?');
      params.push(q.site);
    }
    if (q.station !== undefined) {
      conds.push('station = ?');
      params.push(q.station);
    }
    params.push(q.limit ?? 1000);
    return rows<FleetCommand>(await this.db.query(`SELECT id, site, station, master, ca, ioa, type, value, outcome, con_latency_ms, term_latency_ms, ts FROM commands
      ${conds.length ? 'WHERE ' + conds.join(' AND ') : ''} ORDER BY ts DESC, id LIMIT ?`, params));
  }

  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.db.query('SELECT kind, COUNT(*) AS n FROM envelopes GROUP BY kind ORDER BY kind')) out[String(r.kind)] = Number(r.n);
    return out;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
