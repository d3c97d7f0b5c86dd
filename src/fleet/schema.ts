/**
 * The collector's database schema as numbered migrations, one SQL text for SQLite and PostgreSQL
 * (natural keys, `BIGINT`/`DOUBLE PRECISION`/`TEXT` only, no auto-increment, so both engines read
 * the same DDL). A table `fleet_migrations` records which versions are applied; a store opens a
 * database by applying the missing ones in order, each in its own transaction, and refuses a
 * database that has a version it does not know ({@link FleetSchemaError}).
 *
 * Tables:
 * - `envelopes`: every message stored once (primary key = envelope id, the de-duplication key);
 *   the records/alerts/commands history that retention prunes.
 * - current state, kept by retention: `sites`, `sensors` (health), `stations`, `station_cas`,
 *   `masters`, `ioas` (IOA map), `points` (current value per site/station/CA/IOA), `alerts`
 *   (aggregated per site + rule + flow).
 * - `commands`: one row per command with its outcome and latencies (pruned by retention).
 */

/** One numbered migration. */
export interface FleetMigration {
  version: number;
  name: string;
  statements: string[];
}

/** Migrations in order; a new schema change appends one, never edits a published one. */
export const FLEET_MIGRATIONS: readonly FleetMigration[] = [
  {
    version: 1,
    name: 'fleet model',
    statements: [
      `CREATE TABLE envelopes (id TEXT PRIMARY KEY, site TEXT NOT NULL, sensor TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL,
        ts BIGINT NOT NULL, received BIGINT NOT NULL, body TEXT NOT NULL)`,
      'CREATE INDEX envelopes_received ON envelopes (received)',
      'CREATE TABLE sites (site TEXT PRIMARY KEY, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, messages BIGINT NOT NULL)',
      `CREATE TABLE sensors (sensor TEXT PRIMARY KEY, site TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        messages BIGINT NOT NULL, max_seq BIGINT NOT NULL, lag_ms DOUBLE PRECISION NOT NULL, drops BIGINT NOT NULL, health TEXT)`,
      `CREATE TABLE stations (site TEXT NOT NULL, station TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        PRIMARY KEY (site, station))`,
      'CREATE TABLE station_cas (site TEXT NOT NULL, station TEXT NOT NULL, ca BIGINT NOT NULL, PRIMARY KEY (site, station, ca))',
      `CREATE TABLE masters (site TEXT NOT NULL, master TEXT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        commands BIGINT NOT NULL, PRIMARY KEY (site, master))`,
      `CREATE TABLE ioas (site TEXT NOT NULL, station TEXT NOT NULL, ca BIGINT NOT NULL, ioa BIGINT NOT NULL, types TEXT NOT NULL,
        count BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, PRIMARY KEY (site, station, ca, ioa))`,
      `CREATE TABLE points (site TEXT NOT NULL, station TEXT NOT NULL, ca BIGINT NOT NULL, ioa BIGINT NOT NULL, type TEXT NOT NULL,
        value TEXT, quality TEXT, ts BIGINT NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (site, station, ca, ioa))`,
      `CREATE TABLE alerts (site TEXT NOT NULL, rule TEXT NOT NULL, flow TEXT NOT NULL, station TEXT NOT NULL, severity TEXT NOT NULL,
        message TEXT NOT NULL, count BIGINT NOT NULL, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, PRIMARY KEY (site, rule, flow))`,
      `CREATE TABLE commands (id TEXT PRIMARY KEY, site TEXT NOT NULL, station TEXT NOT NULL, master TEXT NOT NULL, ca BIGINT NOT NULL,
        ioa BIGINT NOT NULL, type TEXT NOT NULL, value TEXT, outcome TEXT NOT NULL, con_latency_ms DOUBLE PRECISION,
        term_latency_ms DOUBLE PRECISION, ts BIGINT NOT NULL, received BIGINT NOT NULL)`,
      'CREATE INDEX commands_site_ts ON commands (site, ts)',
      'CREATE INDEX commands_received ON commands (received)',
    ],
  },
  {
    version: 2,
    name: 'sensor buffer depth, alert index',
    statements: [
      'ALTER TABLE sensors ADD COLUMN buffer_depth BIGINT NOT NULL DEFAULT 0',
      'CREATE INDEX alerts_last_seen ON alerts (last_seen)',
    ],
  },
];

/** Newest schema version this build knows. */
export const FLEET_SCHEMA_VERSION = FLEET_MIGRATIONS[FLEET_MIGRATIONS.length - 1].version;

/** The database was written by a newer build (or is not a fleet database). */
export class FleetSchemaError extends Error {
  readonly code = 'E_FLEET_SCHEMA';
  constructor(readonly found: number, readonly known: number = FLEET_SCHEMA_VERSION) {
    super(`fleet store: the database has schema version ${found}, newer than this build knows (${known}): upgrade iec104 or use another database`);
    this.name = 'FleetSchemaError';
  }
}
