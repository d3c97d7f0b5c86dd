/**
 * Engine benchmarks: our controlled station (src/station) and controlling station (src/master)
 * over loopback TCP.
 *
 * - spontaneous events station -> master, one value per ASDU (M_ME_NC_1 and M_ME_TF_1), at
 *   k=12/w=8 and k=32767/w=21844: `station.update()` to the master's `asdu` event;
 * - command round trip: 10 000 sequential C_SC_NA_1 direct executes resolved at ACT_CON, p50/p99,
 *   against a bare Node-to-Node TCP ping-pong of the same sizes (16 octets out, 32 back: the
 *   station sends ACT_CON and ACT_TERM together) measured in the same run;
 * - memory per idle connection (data transfer started) held by one station, 1 000 and 10 000
 *   connections opened by a child process (fd limit per process): heap and RSS delta / connection.
 *
 * Run alone: `node --import tsx bench/engine.bench.ts`.
 */
import type { TlsConfig } from '../src/transport/tls-config.js';
import { spawn } from 'node:child_process';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ControllingStation } from '../src/master/master.js';
import { tcpConnector } from '../src/master/tcp.js';
import { createStation } from '../src/station/station.js';
import type { LinkParameters } from '../src/link/types.js';
import type { BenchResult } from './types.js';

/** Shown by bench/run.ts above the table. */
export const description =
  'Station and master together over 127.0.0.1 (src/station, src/master): spontaneous events station->master (one value per ASDU, the station alternates two CAs so that no two events share an ASDU), ' +
  'command round trip against a bare TCP ping-pong of the same sizes, memory per idle started connection held by one station (clients in a child process).';

// ------------------------------------------------------------------------------------------------
// spontaneous events

/**
 * `n` events raised on the station by a producer that keeps at least `2 k` (and at least 20 000)
 * events pending, refilling from `setImmediate` (so the queue never runs dry and a million events
 * are not all held in memory at once); time from the first `update()` until the master has
 * received them all.
 */
/** TLS configurations for both ends (the TLS benchmark runs the engine benchmarks over TLS with these). */
export interface EngineTls {
  station: TlsConfig;
  master: TlsConfig;
}

export async function eventThroughput(type: 13 | 36, params: Partial<LinkParameters>, n: number, tls?: EngineTls): Promise<{ rate: number; ms: number }> {
  const station = createStation({
    points: [
      { ca: 1, ioa: 1, type: 13, eventType: type },
      { ca: 2, ioa: 1, type: 13, eventType: type },
    ],
    link: params,
    endOfInitialization: 'none',
    cyclicPeriodMs: 0,
    eventQueue: { capacity: n + 10 },
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0, ...(tls ? { tls: tls.station } : {}) });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port, tls ? { tls: tls.master } : {}), params, reconnect: false });
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  master.on('asdu', (a) => {
    if (a.cot === 3 && ++received === n) resolveDone();
  });
  await master.connect();
  const time = Date.now();
  const t0 = performance.now();
  const low = Math.max(20_000, 2 * (params.k ?? 12));
  let i = 0;
  const produce = (): void => {
    const until = Math.min(n, i + 2 * low - station.queue.pending);
    for (; i < until; i++) station.update(1 + (i & 1), 1, i, { time });
    if (i < n) setImmediate(produce);
  };
  produce();
  await done;
  const ms = performance.now() - t0;
  await master.close();
  await station.close();
  return { rate: (n / ms) * 1000, ms };
}

// ------------------------------------------------------------------------------------------------
// command round trip

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `n` sequential single commands (direct execute, resolved at ACT_CON): round trips in ms. */
export async function commandRoundTrips(n: number, tls?: EngineTls): Promise<number[]> {
  const station = createStation({ commands: [{ ca: 1, ioa: 5000, type: 45, mode: 'direct' }], endOfInitialization: 'none', cyclicPeriodMs: 0 });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0, ...(tls ? { tls: tls.station } : {}) });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port, tls ? { tls: tls.master } : {}), reconnect: false });
  await master.connect();
  const rtts: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await master.single(1, 5000, (i & 1) === 0);
    rtts[i] = performance.now() - t0;
  }
  await master.close();
  await station.close();
  return rtts;
}

/** Bare TCP ping-pong over 127.0.0.1: `out` octets, answered by `back` octets, `n` times sequentially. */
export async function pingPong(n: number, out: number, back: number): Promise<number[]> {
  const reply = Buffer.alloc(back, 0x68);
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      while (got >= out) {
        got -= out;
        s.write(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const c = net.connect(port, '127.0.0.1');
  c.setNoDelay(true);
  await new Promise<void>((r) => c.once('connect', () => r()));
  const msg = Buffer.alloc(out, 0x68);
  const rtts: number[] = new Array<number>(n);
  let got = 0;
  let wake: (() => void) | undefined;
  c.on('data', (d) => {
    got += d.length;
    if (got >= back && wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      wake = r;
      c.write(msg);
    });
    got -= back;
    rtts[i] = performance.now() - t0;
  }
  c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return rtts;
}

// ------------------------------------------------------------------------------------------------
// memory per idle connection

const CLIENT = `
const net = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
const sockets = [];
let open = 0, started = 0, failed = 0;
const STARTDT = Buffer.from([0x68, 4, 7, 0, 0, 0]);
function one() {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => { failed++; resolve(); });
    s.once('connect', () => { open++; s.write(STARTDT); });
    s.once('data', () => { started++; resolve(); });
    sockets.push(s);
  });
}
(async () => {
  let next = 0;
  const worker = async () => { while (next < count) { next++; await one(); } };
  await Promise.all(Array.from({ length: 100 }, worker));
  process.send({ open, started, failed });
})();
process.on('message', () => { for (const s of sockets) s.destroy(); process.exit(0); });
`;

function getGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

async function settle(gc: () => void): Promise<{ heap: number; rss: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

/** Heap and RSS growth of this process (the station) per idle started connection. */
export async function memoryPerConnection(count: number): Promise<{ heapPerConn: number; rssPerConn: number; started: number }> {
  const gc = getGc();
  const station = createStation({
    points: [{ ca: 1, ioa: 1, type: 13, value: 1 }],
    endOfInitialization: 'none',
    cyclicPeriodMs: 0,
    maxConnections: count + 10,
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const before = await settle(gc);
  const child = spawn(process.execPath, ['-e', CLIENT, String(port), String(count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = await new Promise<{ open: number; started: number; failed: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { open: number; started: number; failed: number }));
    child.once('exit', (code) => reject(new Error(`client process exited with ${code}`)));
  });
  const after = await settle(gc);
  const sessions = station.sessions().filter((s) => s.isStarted).length;
  child.send('exit');
  await new Promise<void>((r) => child.once('exit', () => r()));
  await station.close();
  if (report.started !== count || sessions !== count) throw new Error(`only ${report.started} of ${count} connections started (station sees ${sessions}, ${report.failed} failed)`);
  return { heapPerConn: (after.heap - before.heap) / count, rssPerConn: (after.rss - before.rss) / count, started: sessions };
}

// ------------------------------------------------------------------------------------------------

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // warm-up (JIT)
  await eventThroughput(13, { k: 12, w: 8 }, 30_000);
  await eventThroughput(36, { k: 32767, w: 21844 }, 30_000);
  const cases: [string, Partial<LinkParameters>, number][] = [
    ['k=12 w=8', { k: 12, w: 8 }, 300_000],
    ['k=32767 w=21844', { k: 32767, w: 21844 }, 1_000_000],
  ];
  for (const [label, p, n] of cases) {
    for (const type of [13, 36] as const) {
      const r = await eventThroughput(type, p, n);
      const target = p.k === 12 ? 150_000 : 500_000;
      results.push({
        name: `events station->master ${type === 13 ? 'M_ME_NC_1' : 'M_ME_TF_1'} ${label}`,
        value: Math.round(r.rate),
        unit: 'ASDU/s',
        note: `${n} ASDUs in ${r.ms.toFixed(0)} ms; target >= ${target.toLocaleString('en-US')}`,
      });
    }
  }

  await commandRoundTrips(2_000);
  await pingPong(2_000, 16, 32);
  // interleaved in 10 blocks, so that both see the same machine noise (and GC state)
  const N = 10_000;
  const cmd: number[] = [];
  const pp: number[] = [];
  for (let b = 0; b < 10; b++) {
    cmd.push(...(await commandRoundTrips(N / 10)));
    pp.push(...(await pingPong(N / 10, 16, 32)));
  }
  cmd.sort((a, b) => a - b);
  pp.sort((a, b) => a - b);
  for (const p of [50, 99]) {
    const c = percentile(cmd, p) * 1000;
    const b = percentile(pp, p) * 1000;
    results.push({ name: `command round trip p${p} (C_SC_NA_1 direct, ACT_CON)`, value: c, unit: 'µs', note: `${(c / b).toFixed(2)}x the TCP ping-pong; ${N} sequential` });
    results.push({ name: `TCP ping-pong p${p} (16 octets, 32 back)`, value: b, unit: 'µs', note: `bare Node sockets, ${N} sequential` });
  }

  for (const count of [1_000, 10_000]) {
    const m = await memoryPerConnection(count);
    results.push({ name: `memory per idle started connection, ${count} connections: heap`, value: m.heapPerConn / 1024, unit: 'KiB', note: 'station process heapUsed delta / connections; target < 64 KiB' });
    results.push({ name: `memory per idle started connection, ${count} connections: RSS`, value: m.rssPerConn / 1024, unit: 'KiB', note: 'station process RSS delta / connections (sockets, buffers, heap)' });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv[2];
  if (only === 'events') {
    for (const type of [13, 36] as const) for (const p of [{ k: 12, w: 8 }, { k: 32767, w: 21844 }]) console.log(type, p.k, (await eventThroughput(type, p, p.k === 12 ? 300_000 : 1_000_000)).rate.toFixed(0));
  } else {
    const results = await run();
    for (const r of results) console.log(`${r.name.padEnd(64)} ${String(Math.round(r.value * 10) / 10).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ''}`);
  }
}
