/**
 * Soak test of the controlled station against hostile peers (issue 11):
 * `npm run soak -- [--minutes N] [--points N] [--write]`.
 *
 * The station runs in a child process (its RSS is what is measured, read from /proc); this process
 * drives, over loopback TCP, for `--minutes` (default 10):
 *
 * - **GI flooders** (2): start data transfer, then stream general interrogations (200/s each) without
 *   reading and acknowledge exactly the k window every 5 s; reconnect when the station closes them;
 * - **slot holders** (6): connect and keep the connection alive with TESTFR every 10 s, never STARTDT;
 * - **half-open peers** (4): start data transfer, then go silent (no acknowledgement, no TESTFR con),
 *   as a peer that vanished without closing;
 * - **malformed frames** (2/s): connect, STARTDT, then a broken frame (bad start octet, length 3,
 *   an I-frame whose ASDU does not decode, random octets);
 * - **a good master**: one connection, a general interrogation every second and a read every
 *   250 ms; the latency of each answer (ACT_CON of the GI, ACT_TERM of the GI, the read's answer)
 *   is recorded; a lost connection is counted and re-opened.
 *
 * Every 30 s a line reports the station's RSS and heap, the hostile connections closed so far and
 * the good master's latencies. At the end a markdown section is printed; `--write` puts it into
 * BENCHMARKS.md between `<!-- soak:begin -->` and `<!-- soak:end -->`. Exit code 1 when the good
 * master went unanswered for more than 10 s at any time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { encodeAsdu, type Asdu } from '../src/codec/asdu.js';
import { bindLink, connectTcp } from '../src/transport/tcp-link.js';
import type { Link } from '../src/link/link.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

// ------------------------------------------------------------------------------------------------
// child: the station

if (process.argv.includes('--station-child')) {
  const { createStation } = await import('../src/station/station.js');
  const n = arg('points', 2000);
  const points = Array.from({ length: n }, (_, i) => ({ ca: 1, ioa: 1 + i, type: i % 2 ? 13 : 1, value: i % 2 ? i / 10 : false, groups: [1 + (i % 4)] }));
  const station = createStation({ points, cyclicPeriodMs: 0, endOfInitialization: 'none' });
  const l = await station.listen({ host: '127.0.0.1', port: 0 });
  // a changing process: 20 spontaneous events a second
  let k = 0;
  setInterval(() => {
    for (let i = 0; i < 20; i++) {
      const ioa = 1 + ((k++ * 7) % n);
      const p = station.point(1, ioa)!;
      station.update(1, ioa, typeof p.value === 'boolean' ? !p.value : (p.value as number) + 1);
    }
  }, 1000);
  setInterval(() => {
    const m = process.memoryUsage();
    const st = station.stats();
    process.stdout.write(`${JSON.stringify({ rss: m.rss, heap: m.heapUsed, sessions: st.sessions.length, security: station.security.snapshot(), slots: l.server.slots() })}\n`);
  }, 5000);
  process.stdout.write(`${JSON.stringify({ port: l.port })}\n`);
  process.on('SIGTERM', () => void station.close().then(() => process.exit(0)));
  process.stdout.on('error', () => process.exit(0)); // the parent is gone
}

// ------------------------------------------------------------------------------------------------
// parent: the peers

interface ChildReport {
  rss: number;
  heap: number;
  sessions: number;
  security: Record<string, number>;
  slots: { protected: number; pending: number };
}

function iFrame(ns: number, nr: number, a: Asdu): Buffer {
  const body = encodeAsdu(a);
  return Buffer.from([0x68, body.length + 4, (ns << 1) & 0xff, (ns >> 7) & 0xff, (nr << 1) & 0xff, (nr >> 7) & 0xff, ...body]);
}
const sFrame = (nr: number): Buffer => Buffer.from([0x68, 4, 1, 0, (nr << 1) & 0xff, (nr >> 7) & 0xff]);
const STARTDT = Buffer.from([0x68, 4, 7, 0, 0, 0]);
const TESTFR = Buffer.from([0x68, 4, 0x43, 0, 0, 0]);
const asdu = (typeId: number, cot: number, objects: Asdu['objects']): Asdu => ({ typeId, sq: false, cot, negative: false, test: false, originator: 0, ca: 1, objects });
const GI = asdu(100, 6, [{ ioa: 0, qoi: 20 }]);

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '–');

async function main(): Promise<void> {
  const minutes = arg('minutes', 10);
  const points = arg('points', 2000);
  const durationMs = minutes * 60_000;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--station-child', '--points', String(points)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let port = 0;
  let last: ChildReport | undefined;
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const o = JSON.parse(line) as { port?: number } & ChildReport;
      if (o.port) port = o.port;
      else last = o;
    }
  });
  const t0 = Date.now();
  while (!port) {
    if (Date.now() - t0 > 60_000) throw new Error('the station child did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`soak: station pid ${child.pid} on 127.0.0.1:${port}, ${points} points, ${minutes} min; ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);

  let stopping = false;
  const hostile = { flooderConnections: 0, flooderGis: 0, holderConnections: 0, halfOpenConnections: 0, malformedSent: 0 };
  const sockets = new Set<net.Socket>();
  const open = (source?: string): Promise<net.Socket> =>
    new Promise((res) => {
      const s = net.connect({ port, host: '127.0.0.1', ...(source ? { localAddress: source } : {}) });
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
      s.once('connect', () => res(s));
      s.once('close', () => res(s));
    });
  const closed = (s: net.Socket): Promise<void> => new Promise((res) => (s.destroyed ? res() : s.once('close', () => res())));
  const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

  // GI flooders: stream GIs, never read, acknowledge exactly the k window every 5 s
  const flooder = async (id: number): Promise<void> => {
    while (!stopping) {
      const s = await open(`127.0.2.${id}`);
      hostile.flooderConnections++;
      if (s.destroyed) { await sleep(1000); continue; }
      s.write(STARTDT);
      s.pause(); // never reads (the STARTDT con and everything after stay unread)
      let ns = 0;
      let round = 0;
      const gi = setInterval(() => {
        if (s.destroyed) return;
        const frames: Buffer[] = [];
        for (let i = 0; i < 20; i++) frames.push(iFrame(ns++ & 0x7fff, (12 * round) & 0x7fff, GI));
        hostile.flooderGis += 20;
        s.write(Buffer.concat(frames));
      }, 100);
      const ack = setInterval(() => {
        if (s.destroyed) return;
        round++;
        s.write(sFrame((12 * round) & 0x7fff));
      }, 5000);
      // a paused socket sees no end of stream: poll for the station's close via a failed write
      while (!s.destroyed && !stopping) await sleep(500);
      clearInterval(gi);
      clearInterval(ack);
      s.destroy();
      await sleep(1000);
    }
  };

  // slot holders: TESTFR every 10 s, never STARTDT
  const holder = async (id: number): Promise<void> => {
    while (!stopping) {
      const s = await open(`127.0.3.${id}`);
      hostile.holderConnections++;
      s.on('data', () => {});
      const t = setInterval(() => !s.destroyed && s.write(TESTFR), 10_000);
      if (!s.destroyed) s.write(TESTFR);
      await closed(s);
      clearInterval(t);
      await sleep(1000);
    }
  };

  // half-open: start data transfer, then go silent (no acknowledgement, no TESTFR con), as a peer
  // that vanished without closing; the station's t3/t1 must free the slot
  const halfOpen = async (id: number): Promise<void> => {
    while (!stopping) {
      const s = await open(`127.0.4.${id}`);
      hostile.halfOpenConnections++;
      s.on('data', () => {});
      if (!s.destroyed) s.write(STARTDT);
      await closed(s);
      await sleep(500);
    }
  };

  // malformed frames, two a second
  const BAD: Buffer[] = [
    Buffer.from([0x67, 4, 7, 0, 0, 0]), // bad start octet
    Buffer.from([0x68, 3, 1, 0, 0]), // length below 4
    Buffer.from([0x68, 6, 0, 0, 0, 0, 0xff, 0x01]), // I-frame, ASDU cut short
    Buffer.from([0x68, 4, 0x0b, 0, 0, 0]), // STARTDT act+con at once
  ];
  const malformed = async (): Promise<void> => {
    let i = 0;
    while (!stopping) {
      const s = await open(`127.0.5.${1 + (i % 50)}`);
      s.on('data', () => {});
      const bad = i % 5 === 4 ? Buffer.from(Array.from({ length: 40 }, () => Math.floor(Math.random() * 256))) : BAD[i % BAD.length];
      i++;
      if (!s.destroyed) {
        s.write(STARTDT);
        s.write(bad);
        hostile.malformedSent++;
      }
      setTimeout(() => s.destroy(), 2000);
      await sleep(500);
    }
  };

  // the good master
  const lat = { giCon: [] as number[], giTerm: [] as number[], read: [] as number[] };
  const window = { giCon: [] as number[], giTerm: [] as number[], read: [] as number[] };
  let goodLost = 0;
  let goodConnects = 0;
  let goodRefused = 0;
  let lastAnswer = Date.now();
  let worstGap = 0;
  const good = async (): Promise<void> => {
    while (!stopping) {
      let link: Link;
      let done = false;
      const pendingGi: number[] = [];
      const pendingRead: number[] = [];
      try {
        const socket = await connectTcp('127.0.0.1', port, { t0: 10_000, localAddress: '127.0.0.1' });
        link = bindLink(socket, { role: 'controlling' }, {
          asdu: (a) => {
            const now = performance.now();
            lastAnswer = Date.now();
            if (a.typeId === 100 && a.cot === 7 && pendingGi.length) {
              const d = now - pendingGi[0];
              lat.giCon.push(d);
              window.giCon.push(d);
            } else if (a.typeId === 100 && a.cot === 10 && pendingGi.length) {
              const d = now - pendingGi.shift()!;
              lat.giTerm.push(d);
              window.giTerm.push(d);
            } else if (a.cot === 5 && pendingRead.length) {
              const d = now - pendingRead.shift()!;
              lat.read.push(d);
              window.read.push(d);
            }
          },
          close: () => {
            done = true;
          },
        });
      } catch {
        goodRefused++;
        await sleep(1000);
        continue;
      }
      goodConnects++;
      link.start();
      let tick = 0;
      while (!done && !stopping) {
        await sleep(250);
        if (link.state !== 'started') continue;
        const gap = Date.now() - lastAnswer;
        if (gap > worstGap) worstGap = gap;
        if (tick % 4 === 0 && pendingGi.length === 0) {
          pendingGi.push(performance.now());
          if (!link.send(GI)) pendingGi.pop();
        }
        if (pendingRead.length === 0) {
          pendingRead.push(performance.now());
          if (!link.send(asdu(102, 5, [{ ioa: 1 + ((tick * 13) % points) }]))) pendingRead.pop();
        }
        tick++;
      }
      if (!stopping) goodLost++;
      link.close();
      await sleep(500);
    }
  };

  const rows: string[] = [];
  const samples: Array<{ t: number; rss: number; heap: number }> = [];
  const report = (): void => {
    const t = (Date.now() - t0) / 1000;
    const rss = rssOf(child.pid!);
    samples.push({ t, rss, heap: last?.heap ?? 0 });
    const w = (a: number[]) => [...a].sort((x, y) => x - y);
    const gc = w(window.giCon);
    const gt = w(window.giTerm);
    const rd = w(window.read);
    const sec = last?.security ?? {};
    const line = `| ${(t / 60).toFixed(1)} | ${mb(rss)} | ${mb(last?.heap ?? 0)} | ${last?.sessions ?? '?'} | ${sec.E_ACCESS_BUDGET ?? 0} | ${sec.E_ACCESS_EVICTED ?? 0} | ${sec.E_ACCESS_NO_STARTDT ?? 0} | ${hostile.flooderGis} | ${ms(quantile(rd, 0.5))} / ${ms(quantile(rd, 0.99))} | ${ms(quantile(gc, 0.5))} / ${ms(quantile(gc, 0.99))} | ${ms(quantile(gt, 0.5))} / ${ms(quantile(gt, 0.99))} |`;
    rows.push(line);
    console.log(line);
    window.giCon.length = 0;
    window.giTerm.length = 0;
    window.read.length = 0;
  };
  console.log('| min | station RSS MB | heap MB | sessions | budget closes | evictions | no-STARTDT closes | GIs flooded | read p50/p99 ms | GI ACT_CON p50/p99 ms | GI ACT_TERM p50/p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const tasks = [good(), flooder(1), flooder(2), ...[1, 2, 3, 4, 5, 6].map(holder), ...[1, 2, 3, 4].map(halfOpen), malformed()];
  const timer = setInterval(report, 30_000);
  await sleep(durationMs);
  clearInterval(timer);
  report();
  stopping = true;
  for (const s of sockets) s.destroy();
  await Promise.race([Promise.all(tasks), sleep(5000)]);
  child.kill('SIGTERM');

  const all = (a: number[]) => [...a].sort((x, y) => x - y);
  const rd = all(lat.read);
  const gc = all(lat.giCon);
  const gt = all(lat.giTerm);
  const rssAfterWarm = samples.filter((s) => s.t >= 60).map((s) => s.rss);
  const sec = last?.security ?? {};
  const summary = [
    `Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${minutes} min, station with ${points} points (one child process, RSS from /proc),`,
    `${os.cpus().length} CPUs shared with other work (load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}).`,
    '',
    `- hostile peers: ${hostile.flooderConnections} GI-flooder connections (${hostile.flooderGis} GIs sent), ${hostile.holderConnections} slot-holder and ${hostile.halfOpenConnections} half-open connections, ${hostile.malformedSent} malformed frames;`,
    `- station closes: ${sec.E_ACCESS_BUDGET ?? 0} for the memory budget, ${sec.E_ACCESS_EVICTED ?? 0} pending-pool evictions, ${sec.E_ACCESS_NO_STARTDT ?? 0} no-STARTDT closes, ${sec.E_ACCESS_LIMIT ?? 0} refused for the limit;`,
    `- station RSS: min ${mb(Math.min(...samples.map((s) => s.rss)))} MB, max ${mb(Math.max(...samples.map((s) => s.rss)))} MB; after the first minute min ${mb(Math.min(...rssAfterWarm))} MB, max ${mb(Math.max(...rssAfterWarm))} MB, last ${mb(samples.at(-1)!.rss)} MB;`,
    `- good master: ${goodConnects} connection(s), ${goodLost} lost, ${goodRefused} refused; ${rd.length} reads p50 ${ms(quantile(rd, 0.5))} ms p99 ${ms(quantile(rd, 0.99))} ms max ${ms(rd.at(-1) ?? NaN)} ms; ${gt.length} GIs ACT_CON p50 ${ms(quantile(gc, 0.5))} ms p99 ${ms(quantile(gc, 0.99))} ms, ACT_TERM p50 ${ms(quantile(gt, 0.5))} ms p99 ${ms(quantile(gt, 0.99))} ms; longest time without an answer ${(worstGap / 1000).toFixed(1)} s.`,
    '',
    '| min | station RSS MB | heap MB | sessions | budget closes | evictions | no-STARTDT closes | GIs flooded | read p50/p99 ms | GI ACT_CON p50/p99 ms | GI ACT_TERM p50/p99 ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(`\n${summary}`);
  if (process.argv.includes('--write')) {
    const file = `${root}BENCHMARKS.md`;
    const text = readFileSync(file, 'utf8');
    const section = `<!-- soak:begin -->\n${summary}\n<!-- soak:end -->`;
    const re = /<!-- soak:begin -->[\s\S]*<!-- soak:end -->/;
    writeFileSync(file, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n## Soak: hostile peers (npm run soak)\n\n${section}\n`);
    console.log('soak: BENCHMARKS.md updated');
  }
  process.exit(worstGap > 10_000 ? 1 : 0);
}

if (!process.argv.includes('--station-child')) await main();
