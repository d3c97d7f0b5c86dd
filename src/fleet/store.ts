/**
 * The fleet store: one interface over SQLite (`sqlite:PATH`, better-sqlite3, WAL) and PostgreSQL
 * (`postgres://…`, pg). The drivers are loaded only when a store of their kind is opened (dynamic
 * import), so a sensor that never collects never loads a database binding.
 *
 * Use: `const store = await openFleetStore('sqlite:fleet.db'); await store.ingest(envelopes);
 * await store.sites(); await store.close();` (the collector does this; docs/fleet.md).
 */
import type { FleetEnvelope } from './envelope.js';
import { FleetStoreCore, type SqlDriver } from './store-core.js';
import type { FleetSite, FleetSensor, FleetStation, FleetStationDetail, FleetAlert, FleetCommand, IngestResult } from './store-rows.js';

export type { FleetSite, FleetSensor, FleetStation, FleetStationDetail, FleetAlert, FleetCommand, FleetPoint, IngestResult } from './store-rows.js';
export type { SqlDriver } from './store-core.js';

/** A bad `--store` URL or a database that cannot be opened. */
export class FleetStoreError extends Error {
  readonly code: 'E_FLEET_STORE_URL' | 'E_FLEET_STORE_OPEN';
  constructor(code: string, message: string) {
    super(`fleet store: ${message}`);
    this.code = code === 'E_FLEET_STORE_OPEN' ? 'E_FLEET_STORE_OPEN' : 'E_FLEET_STORE_URL';
    this.name = 'FleetStoreError';
  }
}

/** What the collector and the fleet view need from a store. */
export interface FleetStore {
  /** `sqlite` or `postgres`. */
  readonly dialect: 'sqlite' | 'postgres';
  /** Schema version of the open database (after migrations). */
  schemaVersion(): Promise<number>;
  /**
   * Stores a batch in one transaction: each envelope once (by id; a repeated id is a duplicate and
   * has no effect), with its effect on the fleet model. `received` defaults to now.
   */
  ingest(batch: readonly FleetEnvelope[], received?: number): Promise<IngestResult>;
  /** Deletes history (envelopes, commands) received before `cutoff` (ms); current state stays. Returns the rows deleted. */
  prune(cutoff: number): Promise<number>;
  sites(): Promise<FleetSite[]>;
  sensors(site?: string): Promise<FleetSensor[]>;
  stations(site: string): Promise<FleetStation[]>;
  station(site: string, station: string): Promise<FleetStationDetail | undefined>;
  alerts(q?: { site?: string; limit?: number }): Promise<FleetAlert[]>;
  commands(q?: { site?: string; station?: string; limit?: number }): Promise<FleetCommand[]>;
  /** Stored envelopes by kind (history still kept). */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Options of {@link openFleetStore}. */
export interface FleetStoreOptions {
  /** Apply migrations only up to this version (tests of the migration path). */
  migrateTo?: number;
  /** Clock for `received` (default Date.now). */
  now?: () => number;
}

/** Parses a store URL: `sqlite:PATH` (or a bare path ending in .db/.sqlite) or `postgres://` / `postgresql://`. */
export function parseStoreUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new FleetStoreError('E_FLEET_STORE_URL', `'${url}' is not a valid postgres:// URL`);
    }
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new FleetStoreError('E_FLEET_STORE_URL', `'${url}' names no file (sqlite:PATH, e.g. sqlite:fleet.db)`);
    return { kind: 'sqlite', path };
  }
  throw new FleetStoreError('E_FLEET_STORE_URL', `'${url}' is neither sqlite:PATH nor postgres://USER@HOST:PORT/DB`);
}

/** Opens (and migrates) a store. Throws {@link FleetStoreError} or `FleetSchemaError`. */
export async function openFleetStore(url: string, o: FleetStoreOptions = {}): Promise<FleetStore> {
  const u = parseStoreUrl(url);
  let driver: SqlDriver;
  try {
    driver = u.kind === 'sqlite' ? await (await import('./driver-sqlite.js')).openSqlite(u.path) : await (await import('./driver-postgres.js')).openPostgres(u.url);
  } catch (e) {
    throw new FleetStoreError('E_FLEET_STORE_OPEN', `cannot open ${u.kind === 'sqlite' ? u.path : redact(u.url)}: ${(e as Error).message}`);
  }
  const store = new FleetStoreCore(driver, o.now ?? Date.now);
  try {
    await store.migrate(o.migrateTo);
  } catch (e) {
    await driver.close();
    throw e;
  }
  return store;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
