/**
 * Fleet collector at scale: 50 simulated sensors publishing 1,000 records/s each (50,000/s) to a
 * real nats-server with JetStream, one `iec104 collect` process (SQLite store) consuming them.
 * Sustained phase: sent vs stored (no loss), the collector's end-to-end lag (sensor time → commit),
 * its RSS over the run (flat) and the largest backlog. Saturation: a backlog of messages published
 * with no collector running, then drained by a fresh collector: the collector's top rate. The same
 * drain into PostgreSQL when it is installed.
 *
 * Environment: FLEET_BENCH_SECONDS (sustained phase, default 30), FLEET_BENCH_RATE (per sensor,
 * default 1000), FLEET_BENCH_SENSORS (default 50), FLEET_BENCH_BACKLOG (default 300000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNats } from '../test/helpers/brokers.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { ensureStream, natsConnect } from '../test/helpers/sim-sensors.js';
import { encodeEnvelope, makeEnvelope, natsSubject } from '../src/fleet/envelope.js';
import type { CollectorStats } from '../src/fleet/collector.js';
import type { BenchResult } from './types.js';

const SECONDS = Number(process.env.FLEET_BENCH_SECONDS ?? 30);
const RATE = Number(process.env.FLEET_BENCH_RATE ?? 1000);
const SENSORS = Number(process.env.FLEET_BENCH_SENSORS ?? 50);
const BACKLOG = Number(process.env.FLEET_BENCH_BACKLOG ?? 300000);

export const description =
  `${SENSORS} simulated sensors × ${RATE} records/s (${(SENSORS * RATE).toLocaleString('en-US')}/s), ${SECONDS} s, each record a ~250-byte JSON envelope published to ` +
  'JetStream (stream IEC104, file storage; core publishes flushed every 20 ms, the stream count checked) on a local nats-server; one `iec104 collect` process ' +
  '(node, SQLite WAL, batches of 1000) with its durable consumer. All on the same 2-core machine, shared with other agents\' builds and tests while measured ' +
  '(figures are lower bounds). Lag = commit time − sensor timestamp.';

const root = fileURLToPath(new URL('../', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startCollectorProcess(natsUrl: string, store: string, durable: string): Promise<{ p: ChildProcess; stats: () => Promise<CollectorStats>; stop: () => Promise<void> }> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'collect', '--from', natsUrl, '--store', store, '--ui', '0', '--durable', durable, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const end = Date.now() + 60000;
  while (!/fleet view: (\S+)/.test(out)) {
    if (Date.now() > end || p.exitCode !== null) throw new Error(`collector did not start: ${err}`);
    await sleep(50);
  }
  const url = /fleet view: (\S+)/.exec(out)![1];
  return {
    p,
    stats: async () => {
      // a busy machine can outlast the server's keep-alive between two samples: retry a reset
      for (let i = 0; ; i++) {
        try {
          return (await (await fetch(new URL('/api/collector', url))).json()) as CollectorStats;
        } catch (e) {
          if (i >= 5) throw e;
          await sleep(200);
        }
      }
    },
    stop: async () => {
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await done;
    },
  };
}

/**
 * Publishes `perSensor` messages/s from each of `sensors` sensors for `seconds` with core NATS
 * publishes on the stream's subjects (the stream stores them; a PubAck per message would make the
 * load generator, not the collector, the bottleneck on 2 cores); flushes every 20 ms tick.
 * Returns the number sent; the stream's message count proves what it stored.
 */
async function publishLoad(nc: NatsConnection, sensors: number, perSensor: number, seconds: number, seqBase: number[], stamp = true): Promise<number> {
  let sent = 0;
  const tickMs = 20;
  const perTick = (perSensor * tickMs) / 1000;
  const t0 = Date.now();
  const body = { src: '10.0.0.2:50000', dst: '10.0.0.1:2404', type: 'I', typeName: 'M_ME_NC_1', cot: 3, ca: 1, ioa: 1001, value: 1.5 };
  for (let tick = 0; (tick * tickMs) / 1000 < seconds; tick++) {
    const now = stamp ? Date.now() : 0;
    for (let s = 0; s < sensors; s++) {
      const site = `site${s % 10}`;
      const subject = natsSubject(site, 'record');
      for (let k = 0; k < perTick; k++) {
        const seq = ++seqBase[s];
        nc.publish(subject, encodeEnvelope(makeEnvelope({ site, sensor: `sensor${s}`, seq, kind: 'record', ts: now, body: { ...body, frame: seq } })));
        sent++;
      }
    }
    await nc.flush();
    const wait = t0 + (tick + 1) * tickMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  return sent;
}

async function streamCount(nc: NatsConnection): Promise<number> {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  return (await (await jetstreamManager(nc)).streams.info('IEC104')).state.messages;
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'iec104-fleet-bench-'));
  const nats = await startNats();
  const nc = await natsConnect(nats.url);
  try {
    await ensureStream(nc);
    const seq = Array.from({ length: SENSORS }, () => 0);
    // sustained
    const c = await startCollectorProcess(nats.url, `sqlite:${join(dir, 'sustained.db')}`, 'sustained');
    const rss: number[] = [];
    let maxBacklog = 0;
    let running = true;
    let sentSoFar = 0;
    const sampler = (async () => {
      while (running) {
        await sleep(1000);
        rss.push(rssMiB(c.p.pid!));
        const s = await c.stats();
        sentSoFar = seq.reduce((a, b) => a + b, 0);
        maxBacklog = Math.max(maxBacklog, sentSoFar - s.stored);
      }
    })();
    const t0 = Date.now();
    const sent = await publishLoad(nc, SENSORS, RATE, SECONDS, seq);
    const pubSeconds = (Date.now() - t0) / 1000;
    const acked = await streamCount(nc);
    let s = await c.stats();
    const drainEnd = Date.now() + 120000;
    while (s.stored + s.duplicates < acked && Date.now() < drainEnd) {
      await sleep(200);
      s = await c.stats();
    }
    const tail = (Date.now() - t0) / 1000 - pubSeconds;
    running = false;
    await sampler;
    await c.stop();
    const third = rss.slice(Math.floor(rss.length / 3), Math.floor(rss.length / 3) + 3);
    const last = rss.slice(-3);
    const avg = (x: number[]): number => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length);
    out.push(
      { name: `sustained: offered (${SENSORS} sensors × ${RATE}/s)`, value: sent / pubSeconds, unit: 'records/s', note: `${sent.toLocaleString('en-US')} sent in ${pubSeconds.toFixed(1)} s, ${acked.toLocaleString('en-US')} in the stream` },
      { name: 'sustained: stored by the collector', value: s.stored, unit: 'records', note: `lost ${sent - s.stored}, duplicates ${s.duplicates}, drained ${tail.toFixed(1)} s after the last publish` },
      { name: 'sustained: end-to-end lag p50', value: s.lag.p50, unit: 'ms' },
      { name: 'sustained: end-to-end lag p99', value: s.lag.p99, unit: 'ms', note: `max ${s.lag.max} ms; target < 2000` },
      { name: 'sustained: largest backlog (published − stored)', value: maxBacklog, unit: 'records' },
      { name: 'sustained: collector RSS at 1/3 of the run', value: avg(third), unit: 'MiB' },
      { name: 'sustained: collector RSS at the end', value: avg(last), unit: 'MiB', note: `samples each second: min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)}` },
    );
    // saturation: a backlog, drained by a fresh collector
    const drain = async (label: string, store: string, durable: string): Promise<void> => {
      const d = await startCollectorProcess(nats.url, store, durable);
      const start = Date.now();
      let st = await d.stats();
      let first = 0;
      while (st.stored < BACKLOG && Date.now() - start < 300000) {
        await sleep(200);
        st = await d.stats();
        if (first === 0 && st.stored > 0) first = Date.now();
      }
      const secs = (Date.now() - (first || start)) / 1000;
      await d.stop();
      out.push({ name: `saturation: ${label} drain of a ${BACKLOG.toLocaleString('en-US')}-record backlog`, value: st.stored / secs, unit: 'records/s', note: `${st.stored.toLocaleString('en-US')} stored in ${secs.toFixed(1)} s` });
    };
    const { jetstreamManager } = await import('@nats-io/jetstream');
    await (await jetstreamManager(nc)).streams.purge('IEC104');
    const t1 = Date.now();
    const backlogSensors = 10;
    const got = await publishLoad(nc, backlogSensors, BACKLOG / backlogSensors / 5, 5, Array.from({ length: backlogSensors }, () => 0), false);
    out.push({ name: 'saturation: JetStream ingest of the backlog (core publishes)', value: got / ((Date.now() - t1) / 1000), unit: 'records/s', note: `${(await streamCount(nc)).toLocaleString('en-US')} of ${got.toLocaleString('en-US')} in the stream` });
    await drain('SQLite', `sqlite:${join(dir, 'drain.db')}`, 'drain-sqlite');
    let pgs;
    try {
      pgs = await startPostgres();
    } catch (e) {
      out.push({ name: 'saturation: PostgreSQL drain', value: 0, unit: 'records/s', note: `not run: ${(e as Error).message}` });
    }
    if (pgs) {
      try {
        await drain('PostgreSQL 15', await pgs.createDatabase('drain'), 'drain-pg');
      } finally {
        await pgs.close();
      }
    }
  } finally {
    await nc.close();
    await nats.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
