/**
 * PostgreSQL driver of the fleet store (pg, loaded only when a `postgres://` store is opened): a
 * small pool; a transaction holds one client for its statements; 64-bit integers and numerics come
 * back as JavaScript numbers (times in ms and counts stay far below 2^53).
 */
import pg from 'pg';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SqlDriver } from './store-core.js';

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** `?` placeholders to `$1, $2, …`. */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Connects to the database of `url` (fails fast when it cannot). */
export async function openPostgres(url: string): Promise<SqlDriver> {
  const pool = new pg.Pool({ connectionString: url, max: 4, types, connectionTimeoutMillis: 10000 });
  pool.on('error', () => undefined); // an idle client's error: the next query reports it
  const c = await pool.connect();
  c.release();
  const inTx = new AsyncLocalStorage<pg.PoolClient>();
  return {
    dialect: 'postgres',
    async query(sql, params = []) {
      const r = await (inTx.getStore() ?? pool).query(numbered(sql), params as unknown[]);
      return r.rows as Array<Record<string, unknown>>;
    },
    async transaction(fn) {
      if (inTx.getStore()) return fn();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const r = await inTx.run(client, fn);
        await client.query('COMMIT');
        return r;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
