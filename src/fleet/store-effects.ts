/**
 * What one envelope does to the fleet model, as portable SQL statements (the same text for SQLite
 * and PostgreSQL, `?` placeholders). Bodies are the JSON the CLI writes with `--json` for the kind
 * (alert / alert-aggregate, command record, inventory, point value, health); fields are read
 * tolerantly, and a body with nothing usable yields no statement (counted as ignored).
 */
import type { FleetEnvelope } from './envelope.js';

/** One statement to run. */
export interface Stmt {
  sql: string;
  params: unknown[];
}

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown, dflt = ''): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : dflt);
const int = (x: unknown): number | undefined => (typeof x === 'number' && Number.isSafeInteger(x) ? x : undefined);
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** A time as ms: a number, or ISO text (`2013-07-04T06:23:17.528631Z`); `dflt` otherwise. */
export function timeMs(x: unknown, dflt: number): number {
  if (typeof x === 'number' && Number.isFinite(x)) return Math.round(x);
  if (typeof x === 'string') {
    const t = Date.parse(x);
    if (Number.isFinite(t)) return t;
  }
  return dflt;
}

const least = (t: string, col: string): string => `CASE WHEN excluded.${col} < ${t}.${col} THEN excluded.${col} ELSE ${t}.${col} END`;
const greatest = (t: string, col: string): string => `CASE WHEN excluded.${col} > ${t}.${col} THEN excluded.${col} ELSE ${t}.${col} END`;
const SEV = (x: string): string => `CASE ${x} WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END`;

const UPSERT_STATION = `INSERT INTO stations (site, station, first_seen, last_seen) VALUES (?, ?, ?, ?)
  ON CONFLICT (site, station) DO UPDATE SET first_seen = ${least('stations', 'first_seen')}, last_seen = ${greatest('stations', 'last_seen')}`;
const UPSERT_CA = 'INSERT INTO station_cas (site, station, ca) VALUES (?, ?, ?) ON CONFLICT (site, station, ca) DO NOTHING';
const UPSERT_MASTER = `INSERT INTO masters (site, master, first_seen, last_seen, commands) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (site, master) DO UPDATE SET first_seen = ${least('masters', 'first_seen')}, last_seen = ${greatest('masters', 'last_seen')}, commands = masters.commands + excluded.commands`;
const UPSERT_ALERT = `INSERT INTO alerts (site, rule, flow, station, severity, message, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (site, rule, flow) DO UPDATE SET count = alerts.count + excluded.count, first_seen = ${least('alerts', 'first_seen')}, last_seen = ${greatest('alerts', 'last_seen')},
  severity = CASE WHEN ${SEV('excluded.severity')} > ${SEV('alerts.severity')} THEN excluded.severity ELSE alerts.severity END`;
const INSERT_COMMAND = `INSERT INTO commands (id, site, station, master, ca, ioa, type, value, outcome, con_latency_ms, term_latency_ms, ts, received)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;
const UPSERT_POINT = `INSERT INTO points (site, station, ca, ioa, type, value, quality, ts, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (site, station, ca, ioa) DO UPDATE SET type = excluded.type, value = excluded.value, quality = excluded.quality, ts = excluded.ts, envelope = excluded.envelope
  WHERE excluded.ts >= points.ts`;
const UPSERT_IOA = `INSERT INTO ioas (site, station, ca, ioa, types, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (site, station, ca, ioa) DO UPDATE SET types = excluded.types, count = ${greatest('ioas', 'count')}, first_seen = ${least('ioas', 'first_seen')}, last_seen = ${greatest('ioas', 'last_seen')}`;

/** Host part of `ip:port` (`[v6]:port`). */
function hostOf(addr: string): string {
  if (addr.startsWith('[')) return addr.slice(1, Math.max(1, addr.indexOf(']')));
  const i = addr.lastIndexOf(':');
  return i > 0 && addr.indexOf(':') === i ? addr.slice(0, i) : addr;
}

/** The statements of one (new) envelope; an empty list when its body has nothing usable. */
export function effectsOf(e: FleetEnvelope, received: number): Stmt[] {
  const b = e.body;
  if (!isObj(b)) return [];
  switch (e.kind) {
    case 'alert': {
      const rule = str(b.rule);
      if (rule === '') return [];
      const ev = isObj(b.evidence) ? b.evidence : {};
      const aggregate = b.kind === 'alert-aggregate';
      const flow = str(b.flow, str(ev.flow, `${str(b.src)}-${str(b.dst)}`));
      const station = str(ev.station, str(b.station, str(b.dst)));
      const count = aggregate ? Math.max(0, (int(b.count) ?? 1) - 1) : 1; // an aggregate's first occurrence was published as an alert
      const first = timeMs(aggregate ? b.firstSeen : b.ts, e.ts);
      const last = timeMs(aggregate ? b.lastSeen : b.ts, e.ts);
      return [{ sql: UPSERT_ALERT, params: [e.site, rule, flow, station, str(b.severity, 'low'), str(b.message), count, first, last] }];
    }
    case 'command': {
      const station = str(b.station);
      const ca = int(b.ca);
      const ioa = int(b.ioa);
      if (ca === undefined || ioa === undefined) return [];
      const ts = timeMs(b.ts, e.ts);
      const master = hostOf(str(b.source, str(b.master)));
      const value = b.value === undefined ? null : JSON.stringify(b.value);
      const out: Stmt[] = [
        { sql: INSERT_COMMAND, params: [e.id, e.site, station, master, ca, ioa, str(b.typeName, str(b.type)), value, str(b.outcome, 'unknown'), num(b.conLatencyMs), num(b.termLatencyMs), ts, received] },
      ];
      if (station !== '') out.push({ sql: UPSERT_STATION, params: [e.site, station, ts, ts] }, { sql: UPSERT_CA, params: [e.site, station, ca] });
      if (master !== '') out.push({ sql: UPSERT_MASTER, params: [e.site, master, ts, ts, 1] });
      return out;
    }
    case 'point': {
      const ca = int(b.ca);
      const ioa = int(b.ioa);
      if (ca === undefined || ioa === undefined) return [];
      const station = str(b.station);
      const ts = timeMs(b.ts ?? b.receivedAt, e.ts);
      const value = b.value === undefined ? null : JSON.stringify(b.value);
      const quality = b.quality === undefined ? null : JSON.stringify(b.quality);
      const out: Stmt[] = [{ sql: UPSERT_POINT, params: [e.site, station, ca, ioa, str(b.type, str(b.typeName)), value, quality, ts, e.id] }];
      if (station !== '') out.push({ sql: UPSERT_STATION, params: [e.site, station, ts, ts] }, { sql: UPSERT_CA, params: [e.site, station, ca] });
      return out;
    }
    case 'inventory':
      return inventoryEffects(e, b);
    default:
      return []; // record and health: history / sensor row only
  }
}

function inventoryEffects(e: FleetEnvelope, b: Obj): Stmt[] {
  const out: Stmt[] = [];
  for (const s of Array.isArray(b.stations) ? b.stations : []) {
    if (!isObj(s)) continue;
    const station = str(s.address, str(s.station));
    if (station === '') continue;
    out.push({ sql: UPSERT_STATION, params: [e.site, station, timeMs(s.firstSeen, e.ts), timeMs(s.lastSeen, e.ts)] });
    const cas = new Set<number>();
    for (const ca of Array.isArray(s.commonAddresses) ? s.commonAddresses : []) if (int(ca) !== undefined) cas.add(ca as number);
    for (const x of Array.isArray(s.ioas) ? s.ioas : []) {
      if (!isObj(x) || int(x.ca) === undefined || int(x.ioa) === undefined) continue;
      cas.add(x.ca as number);
      const types = JSON.stringify(Array.isArray(x.types) ? x.types.filter((t) => typeof t === 'string') : []);
      out.push({ sql: UPSERT_IOA, params: [e.site, station, x.ca, x.ioa, types, int(x.count) ?? 0, timeMs(x.firstSeen, e.ts), timeMs(x.lastSeen, e.ts)] });
    }
    for (const ca of cas) out.push({ sql: UPSERT_CA, params: [e.site, station, ca] });
  }
  // the publisher's inventory deltas carry changed IOAs at the top level, each naming its station
  for (const x of Array.isArray(b.ioas) ? b.ioas : []) {
    if (!isObj(x) || int(x.ca) === undefined || int(x.ioa) === undefined || str(x.station) === '') continue;
    const station = str(x.station);
    const types = JSON.stringify(Array.isArray(x.types) ? x.types.filter((t) => typeof t === 'string') : []);
    out.push(
      { sql: UPSERT_STATION, params: [e.site, station, timeMs(x.firstSeen, e.ts), timeMs(x.lastSeen, e.ts)] },
      { sql: UPSERT_IOA, params: [e.site, station, x.ca, x.ioa, types, int(x.count) ?? 0, timeMs(x.firstSeen, e.ts), timeMs(x.lastSeen, e.ts)] },
      { sql: UPSERT_CA, params: [e.site, station, x.ca] },
    );
  }
  for (const m of Array.isArray(b.masters) ? b.masters : []) {
    if (!isObj(m)) continue;
    const master = str(m.host, str(m.master));
    if (master !== '') out.push({ sql: UPSERT_MASTER, params: [e.site, master, timeMs(m.firstSeen, e.ts), timeMs(m.lastSeen, e.ts), 0] });
  }
  return out;
}

/** Health facts of a `health` body: drops and buffer depth (several spellings accepted). */
export function healthOf(body: unknown): { drops: number; bufferDepth: number; text: string } | undefined {
  if (!isObj(body)) return undefined;
  const pick = (...names: string[]): number => {
    for (const n of names) {
      const v = int(body[n]);
      if (v !== undefined) return v;
    }
    return 0;
  };
  let bufferDepth = pick('bufferDepth', 'buffered', 'depth', 'pending');
  // the publisher's health: messages not yet acknowledged by its slowest destination
  if (Array.isArray(body.destinations)) {
    for (const d of body.destinations) if (isObj(d) && int(d.pending) !== undefined) bufferDepth = Math.max(bufferDepth, d.pending as number);
  }
  return { drops: pick('dropped', 'drops', 'droppedMessages'), bufferDepth, text: JSON.stringify(body) };
}
