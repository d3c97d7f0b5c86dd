/**
 * `iec104 collect` as a real process: usage errors exit 2 naming the option; a store that cannot
 * be opened exits 3; a running collector consumes from a real nats-server, serves the fleet view
 * and its API, logs a bad envelope without stopping, and exits 0 on SIGTERM after committing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats } from '../helpers/brokers.js';
import { ensureStream, natsConnect, publishNats } from '../helpers/sim-sensors.js';
import { sensorEnvelopes } from '../helpers/fleet-envelopes.js';
import { parseDuration } from '../../src/cli/collect.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'iec104-cli-collect-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'collect', ...args], { cwd: root, encoding: 'utf8', timeout: 60000 });

test('usage errors exit 2 and name what was wrong; an unopenable store exits 3', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /--from is required/],
    [['--from', 'http://x:1'], /neither nats/],
    [['--from', 'nats://127.0.0.1:1', '--store', 'mysql://db'], /neither sqlite:PATH nor postgres/],
    [['--from', 'nats://127.0.0.1:1', '--retain', '30 days'], /--retain: expected a duration/],
    [['--from', 'nats://127.0.0.1:1', '--bogus'], /unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(String(r.stderr), re);
  }
  const r = cli(['--from', 'nats://127.0.0.1:1', '--store', `sqlite:${join(dir, 'no', 'dir', 'x.db')}`]);
  assert.equal(r.status, 3);
  assert.match(String(r.stderr), /cannot open/);
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  assert.equal(parseDuration('90m'), 5_400_000);
});

test('a running collector stores what sensors publish, serves the fleet view, survives a bad envelope, exits 0 on SIGTERM', async (t) => {
  const nats = await startNats();
  t.after(() => nats.close());
  const nc = await natsConnect(nats.url);
  t.after(() => nc.close());
  await ensureStream(nc);
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'collect', '--from', nats.url, '--store', `sqlite:${join(dir, 'cli.db')}`, '--ui', '0', '--json', '--retain', '30d'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => p.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60000;
  while (!/fleet view: (\S+)/.test(stdout)) {
    if (Date.now() > deadline || p.exitCode !== null) throw new Error(`no fleet view URL: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /fleet view: (\S+)/.exec(stdout)![1];
  await publishNats(nc, sensorEnvelopes('north', 0, 20), { window: 5 });
  const { jetstream } = await import('@nats-io/jetstream');
  await jetstream(nc).publish('iec104.north.record', new TextEncoder().encode('{"v":1}'));
  await publishNats(nc, sensorEnvelopes('south', 0, 20), { window: 5 });
  let sites: Array<{ site: string; messages: number }> = [];
  while (sites.reduce((a, s) => a + s.messages, 0) < 40) {
    if (Date.now() > deadline) throw new Error(`not stored: ${JSON.stringify(sites)} ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
    sites = (await (await fetch(new URL('/api/sites', url))).json()) as typeof sites;
  }
  assert.deepEqual(sites.map((s) => [s.site, s.messages]), [['north', 20], ['south', 20]]);
  const stats = (await (await fetch(new URL('/api/collector', url))).json()) as { bad: number; stored: number };
  assert.equal(stats.bad, 1);
  assert.match(await (await fetch(url)).text(), /iec104 fleet/);
  const code = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  p.kill('SIGTERM');
  assert.equal(await code, 0);
  const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as { event: string; error?: string });
  assert.ok(lines.some((l) => l.event === 'bad-envelope' && /site: missing/.test(l.error ?? '')), stderr);
  assert.ok(lines.some((l) => l.event === 'stopped'));
});
