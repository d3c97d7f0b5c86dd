/**
 * `--ui` on serve, connect and proxy as real processes (analyze FILE --ui is in
 * test/web/server.test.ts): each prints its workbench URL, the API shows what the command built
 * (the station's points, the master's connection and received points, the proxy's sessions and the
 * points passing), `--ui-commands` lets a command through the master reach ACT_CON, read-only
 * refuses it, and SIGINT/SIGTERM end the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CommandRow, ConnectionRow, PointRow } from '../../src/web/model.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Proc {
  child: ChildProcess;
  url: string;
  /** Everything written on stderr so far. */
  err(): string;
}

/** Start `iec104 ARGS` and wait until it printed its workbench URL and `ready` matches stderr. */
function start(args: string[], ready: RegExp = /workbench: http/): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start within 60 s: ${err}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /workbench: (http:\/\/\S+)/.exec(err);
      if (m && ready.test(err)) {
        clearTimeout(timer);
        resolve({ child, url: m[1], err: () => err });
      }
    });
    child.stdout!.resume();
    child.on('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${c}: ${err}`));
    });
  });
}

const get = async <T>(base: string, path: string): Promise<T> => (await (await fetch(new URL(path, base))).json()) as T;
async function until<T>(base: string, path: string, ok: (v: T) => boolean): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get<T>(base, path);
    if (ok(v)) return v;
    if (Date.now() - t0 > 20_000) assert.fail(`${path}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
async function stop(p: Proc | undefined, signal: NodeJS.Signals): Promise<number | null> {
  if (!p || p.child.exitCode !== null) return p?.child.exitCode ?? null;
  const done = new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  const c = await done;
  clearTimeout(t);
  return c;
}

test('serve --ui, connect --ui --ui-commands and proxy --ui as real processes', async () => {
  let serve: Proc | undefined;
  let connect: Proc | undefined;
  let readOnly: Proc | undefined;
  let proxy: Proc | undefined;
  try {
    serve = await start(['serve', 'examples/substation.yaml', '--host', '127.0.0.1', '--port', '0', '--ui', '127.0.0.1:0'], /listening on 127\.0\.0\.1:\d+/);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(serve.err())![1]);
    const info = await get<{ sources: { station: boolean; master: boolean } }>(serve.url, '/api/info');
    assert.deepEqual([info.sources.station, info.sources.master], [true, false]);
    const stationPoints = await get<PointRow[]>(serve.url, '/api/points');
    assert.ok(stationPoints.some((p) => p.key === '1:2001' && p.source === 'station'), 'the station\'s point database');

    connect = await start(['connect', `127.0.0.1:${port}`, '--ui', '127.0.0.1:0', '--ui-commands']);
    readOnly = await start(['connect', `127.0.0.1:${port}`, '--ui', '127.0.0.1:0']);
    proxy = await start(['proxy', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${port}`, '--ui', '127.0.0.1:0']);

    const conns = await until<ConnectionRow[]>(connect.url, '/api/connections', (r) => r.some((c) => c.role === 'master' && c.started));
    assert.equal(conns[0].peer, `127.0.0.1:${port}`);
    await until<PointRow[]>(connect.url, '/api/points', (p) => p.some((x) => x.key === '1:2001' && x.source === 'master'));
    // the station sees both masters
    await until<ConnectionRow[]>(serve.url, '/api/connections', (r) => r.filter((c) => c.role === 'station' && c.started).length === 2);

    const body = JSON.stringify({ ca: 1, ioa: 5031, typeId: 46, value: 2, step: 'sbo' });
    const headers = { 'Content-Type': 'application/json' };
    const r = await fetch(new URL('/api/command', connect.url), { method: 'POST', headers, body });
    assert.equal(r.status, 200);
    const row = (await r.json()) as CommandRow;
    assert.equal(row.outcome, 'positive');
    assert.equal(typeof row.actConMs, 'number');
    assert.equal((await fetch(new URL('/api/command', readOnly.url), { method: 'POST', headers, body })).status, 403);

    // the proxy: a master through it; the workbench shows its session and the points passing
    const proxyRow = (await get<ConnectionRow[]>(proxy.url, '/api/connections'))[0];
    const proxyPort = Number(proxyRow.peer.slice(1));
    assert.ok(proxyPort > 0, proxyRow.peer);
    const through = await start(['connect', `127.0.0.1:${proxyPort}`, '--ui', '127.0.0.1:0']);
    try {
      await until<ConnectionRow[]>(proxy.url, '/api/connections', (c) => c.some((x) => x.id === 'proxy-1 RTU leg' && x.started));
      await until<PointRow[]>(proxy.url, '/api/points', (p) => p.some((x) => x.key === '1:2001' && x.source === 'proxy'));
    } finally {
      await stop(through, 'SIGINT');
    }
  } finally {
    const codes = await Promise.all([stop(connect, 'SIGINT'), stop(readOnly, 'SIGINT'), stop(proxy, 'SIGTERM')]);
    const serveCode = await stop(serve, 'SIGTERM');
    assert.deepEqual([...codes, serveCode].map((c) => c !== null), [true, true, true, true], 'every process ended');
    assert.equal(serveCode, 0);
  }
});
