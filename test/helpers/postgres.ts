/**
 * A real PostgreSQL server for the fleet tests: `initdb` + `pg_ctl` from Debian's versioned bin
 * folder (/usr/lib/postgresql/<v>/bin), run as the `postgres` user through `runuser -u postgres --`
 * when the test runs as root (CI does; PostgreSQL refuses to run as root), with a temporary data
 * directory (chowned to postgres), a free loopback port, the unix socket in the temporary
 * directory, the C locale (byte order, as SQLite sorts), and `trust` authentication on loopback
 * only. `close()` stops the server and removes the directory. When PostgreSQL is not installed the
 * helper throws {@link PostgresMissingError} saying that `.ci/run` installs it.
 *
 * @example
 * ```ts
 * const pgs = await startPostgres();
 * t.after(() => pgs.close());
 * const url = await pgs.createDatabase('fleet1'); // postgres://postgres@127.0.0.1:PORT/fleet1
 * ```
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PostgreSQL server binaries are not installed. */
export class PostgresMissingError extends Error {
  readonly code = 'E_POSTGRES_MISSING';
  constructor(where: string) {
    super(`PostgreSQL is not installed (no initdb/pg_ctl under ${where}): the fleet tests need the real server; .ci/run installs it (apt-get install -y postgresql)`);
    this.name = 'PostgresMissingError';
  }
}

/** A running test server. */
export interface TestPostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL through psql (as the postgres user) in database `db`; returns its stdout. */
  psql(db: string, sql: string): Promise<string>;
  close(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<v>/bin holding initdb and pg_ctl. */
export function postgresBin(root = '/usr/lib/postgresql'): string {
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  throw new PostgresMissingError(`${root}/<version>/bin`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Starts a throw-away PostgreSQL server. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  const asRoot = userInfo().uid === 0;
  const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const dir = mkdtempSync(join(tmpdir(), 'iec104-pg-'));
  const data = join(dir, 'data');
  chmodSync(dir, 0o755);
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pw.status !== 0) throw new PostgresMissingError('(no postgres user)');
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const port = await freePort();
  const exec = async (cmd: string, args: string[]): Promise<string> => {
    const [c, a] = as(cmd, args);
    try {
      return (await run(c, a, { cwd: dir, timeout: 60000 })).stdout;
    } catch (e) {
      const x = e as { stderr?: string; message: string };
      throw new Error(`${cmd} failed: ${x.stderr || x.message}`);
    }
  };
  await exec(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40 -c shared_buffers=32MB`;
  await exec(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  const psql = (db: string, sql: string): Promise<string> => exec(join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atc', sql]);
  let closed = false;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async createDatabase(name) {
      await psql('postgres', `CREATE DATABASE "${name}"`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    psql,
    async close() {
      if (closed) return;
      closed = true;
      await exec(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
