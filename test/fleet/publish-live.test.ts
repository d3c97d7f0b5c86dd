/**
 * `serve`, `proxy` and `connect` with `--publish`, in one chain against a real nats-server:
 * connect → proxy → serve, plus one command through the proxy. Each sensor's messages arrive in
 * order from seq 1: the station's points and the command's audit record (serve), the forwarded
 * points, the tracked command and an inventory delta (proxy), the received points (connect), and
 * each one's last health message with its own counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';
import { runProxy } from '../../src/cli/proxy.js';
import { runConnect } from '../../src/cli/connect.js';
import { runCommandSend } from '../../src/cli/command-send.js';
import type { RunningProxy } from '../../src/monitor/proxy.js';
import { startNats } from '../helpers/brokers.js';
import { readNatsStream, until } from '../helpers/fleet-readback.js';

test('serve, proxy and connect publish their points, commands, inventory and health', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const dir = mkdtempSync(join(tmpdir(), 'iec104-publive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pub = (sensor: string): string[] => ['--publish', nats.url, '--site', 'lab', '--sensor', sensor, '--buffer-dir', join(dir, sensor), '--health-interval', '0'];
  const logs = { serve: '', proxy: '', connect: '', command: '' };
  const sink = (k: keyof typeof logs) => ({ write: (s: string) => ((logs[k] += s), true) });

  const stopServe = new AbortController();
  let stationPort = 0;
  const serving = runServe(['--host', '127.0.0.1', '--port', '0', '--no-simulate', '--log-level', 'error', ...pub('rtu')], {
    stdout: sink('serve'),
    stderr: sink('serve'),
    signal: stopServe.signal,
    onListening: (l) => (stationPort = l[0].port),
  });
  await until(() => stationPort > 0, 15_000, `serve to listen: ${logs.serve}`);

  let proxy: RunningProxy | undefined;
  let stopProxy = (): void => {};
  const proxied = runProxy(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${stationPort}`, ...pub('gw')], {
    stdout: sink('proxy'),
    stderr: sink('proxy'),
    stopped: (p) => {
      proxy = p;
      return new Promise<void>((r) => (stopProxy = r));
    },
  });
  await until(() => proxy !== undefined, 15_000, `proxy to listen: ${logs.proxy}`);

  const stopConnect = new AbortController();
  const connected = runConnect([`127.0.0.1:${proxy!.port}`, '--ca', '1', '--lines', ...pub('hmi')], { stdout: sink('connect'), stderr: sink('connect'), isTTY: false, signal: stopConnect.signal });
  await until(() => /terminated/.test(logs.connect), 15_000, `the interrogation: ${logs.connect}`);

  const code = await runCommandSend([`127.0.0.1:${proxy!.port}`, '--ca', '1', '--ioa', '5001', '--double', 'on', '--select'], { stdout: sink('command'), stderr: sink('command') });
  assert.equal(code, 0, logs.command);

  stopConnect.abort();
  assert.equal(await connected, 0, logs.connect);
  stopProxy();
  assert.equal(await proxied, 0, logs.proxy);
  stopServe.abort();
  assert.equal(await serving, 0, logs.serve);
  for (const k of ['serve', 'proxy', 'connect'] as const) assert.match(logs[k], /all delivered/, logs[k]);

  const got = await readNatsStream(nats.url);
  const of = (sensor: string) => got.filter((m) => m.env.sensor === sensor);
  for (const s of ['rtu', 'gw', 'hmi']) {
    const mine = of(s);
    assert.deepEqual(mine.map((m) => m.env.seq), mine.map((_, i) => i + 1), `${s}: in order from 1`);
    assert.ok(mine.every((m) => m.subject === `iec104.lab.${m.env.kind}`));
    assert.equal(mine.at(-1)!.env.kind, 'health');
  }
  const kinds = (s: string): Set<string> => new Set(of(s).map((m) => m.env.kind));
  assert.deepEqual([...kinds('rtu')].sort(), ['command', 'health', 'point']);
  assert.deepEqual([...kinds('gw')].sort(), ['command', 'health', 'inventory', 'point']);
  assert.deepEqual([...kinds('hmi')].sort(), ['health', 'point']);
  const rtuCommands = of('rtu').filter((m) => m.env.kind === 'command').map((m) => m.env.body as { ioa: number; outcome: string });
  assert.ok(rtuCommands.some((c) => c.ioa === 5001), JSON.stringify(rtuCommands));
  const gwCommands = of('gw').filter((m) => m.env.kind === 'command').map((m) => m.env.body as { ioa: number; typeName: string });
  assert.ok(gwCommands.some((c) => c.ioa === 5001 && c.typeName === 'C_DC_NA_1'), JSON.stringify(gwCommands));
  assert.ok(gwCommands.some((c) => c.typeName === 'C_IC_NA_1'), 'the interrogation is tracked too');
  // the points the master received through the proxy are the ones the proxy forwarded
  const pointKeys = (s: string): string[] => of(s).filter((m) => m.env.kind === 'point').map((m) => { const b = m.env.body as { ca: number; ioa: number }; return `${b.ca}/${b.ioa}`; });
  assert.deepEqual(pointKeys('hmi'), pointKeys('gw'));
  assert.ok(pointKeys('hmi').includes('1/2001'));
  const gwHealth = of('gw').at(-1)!.env.body as { counters: { toStation: number } };
  assert.ok(gwHealth.counters.toStation > 0);
});
