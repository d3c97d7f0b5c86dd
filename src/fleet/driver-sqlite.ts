/**
 * SQLite driver of the fleet store (better-sqlite3, loaded only when a `sqlite:` store is opened):
 * WAL journal, `synchronous=NORMAL` (a commit survives a process crash; the last transactions may
 * be lost on a power cut, and the broker redelivers what was not acknowledged), statements
 * prepared once and cached.
 */
import Database from 'better-sqlite3';
import type { SqlDriver } from './store-core.js';

/** Opens (creating) the SQLite database at `path`. */
export async function openSqlite(path: string): Promise<SqlDriver> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      if (cache.size > 200) cache.clear();
      cache.set(sql, s);
    }
    return s;
  };
  let depth = 0;
  return {
    dialect: 'sqlite',
    async query(sql, params = []) {
      const s = prepare(sql);
      if (s.reader) return s.all(...params) as Array<Record<string, unknown>>;
      s.run(...params);
      return [];
    },
    async transaction(fn) {
      if (depth > 0) return fn();
      db.exec('BEGIN IMMEDIATE');
      depth++;
      try {
        const r = await fn();
        db.exec('COMMIT');
        return r;
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      } finally {
        depth--;
      }
    },
    async close() {
      db.close();
    },
  };
}
