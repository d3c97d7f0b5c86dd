/**
 * Issue 11, item 1 (proxy): a master that streams forbidden commands through an enforcing proxy and
 * never reads or acknowledges made the proxy queue its own negative confirmations without bound
 * (the queue toward the master paused the upstream socket, which does not stop the master). The
 * queue is now bounded: at 4 × queueLimit the session is closed. Real sockets, port 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeAsdu, type Asdu } from '../../src/codec/asdu.js';
import { createLogger } from '../../src/log.js';
import { createStation, type StationCommand } from '../../src/station/index.js';
import { startProxy } from '../../src/monitor/proxy.js';
import { PROXY_POLICY as POLICY, STATION } from './engine-capture.js';

function iFrame(ns: number, a: Asdu): Buffer {
  const body = encodeAsdu(a);
  return Buffer.from([0x68, body.length + 4, (ns << 1) & 0xff, (ns >> 7) & 0xff, 0, 0, ...body]);
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('proxy: a master flooding forbidden commands without acknowledging is closed when the queue toward it reaches 4 x queueLimit', async () => {
  const seen: StationCommand[] = [];
  const station = createStation({ ...STATION, onCommand: (cmd) => void seen.push(cmd) });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  const logs: string[] = [];
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stationPort }, policy: POLICY, enforce: true, queueLimit: 8,
    logger: createLogger({ level: 'warn', write: (l) => logs.push(l) }),
  });
  const s = net.connect(proxy.port, '127.0.0.1');
  s.on('error', () => {});
  try {
    await new Promise<void>((res) => s.once('connect', () => res()));
    const con = new Promise<void>((res) => s.once('data', () => res()));
    s.write(Buffer.from([0x68, 4, 7, 0, 0, 0]));
    await con;
    s.pause(); // never reads again, never acknowledges
    await until(() => proxy.stats.open === 1, 'the session');
    const cmd: Asdu = { typeId: 45, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 5002, value: true, select: false, qu: 0 }] };
    const frames: Buffer[] = [];
    for (let ns = 0; ns < 500; ns++) frames.push(iFrame(ns, cmd));
    s.write(Buffer.concat(frames));
    await until(() => proxy.stats.open === 0, 'the proxy to close the session');
    assert.ok(proxy.stats.blocked >= 4 * 8, `blocked ${proxy.stats.blocked}`);
    assert.ok(proxy.stats.blocked < 500, 'closed before the whole flood was queued');
    assert.ok(logs.some((l) => /proxy\.queue_limit/.test(l) && /queue toward the master over 32 ASDUs/.test(l)), logs.join('\n'));
    assert.deepEqual(seen, [], 'no forbidden command reached the station');
  } finally {
    s.destroy();
    await proxy.close();
    await station.close();
  }
});
