/**
 * Chaos: 100 000 numbered events (M_ME_NC_1, value = sequence number) raised on the station while
 * the connection is killed at random moments — the socket destroyed on the master's or the
 * station's side, seeded random, at random times and in the middle of received chunks — and the
 * master reconnects by itself. Asserted: every event arrives at least once, and the numbers the
 * master sees, after dropping re-sent duplicates of numbers already seen, are strictly increasing
 * without gaps. The number of kills and duplicates is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import netModule from 'node:net';
import type net from 'node:net';
import type { Connector } from '../../src/master/connection.js';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { createStation } from '../../src/station/station.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';
import { mulberry32 } from './helpers.js';
import { NumberedStream } from '../helpers/numbered-stream.js';
import type { ControlledStation } from '../../src/station/station.js';

/** Raise numbers 0..n-1 (M_ME_NC_1, CA 1, IOA 1) in random bursts of up to 400, whatever the connection state. */
async function produceInBursts(station: ControlledStation, n: number, rnd: () => number): Promise<void> {
  let produced = 0;
  while (produced < n) {
    const burst = 1 + Math.floor(rnd() * 400);
    for (let i = 0; i < burst && produced < n; i++) station.update(1, 1, produced++);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const N = 100_000;
const SEED = Number(process.env.CHAOS_SEED ?? 0x104);

test(`chaos: ${N} events through random connection kills (seed ${SEED}): at least once, in order, no gaps`, async () => {
  const rnd = mulberry32(SEED);
  const station = createStation({
    points: [{ ca: 1, ioa: 1, type: 13, eventType: 13 }],
    endOfInitialization: 'none',
    cyclicPeriodMs: 0,
    eventQueue: { capacity: N + 10 },
  });
  const listener = await station.listen({ host: '127.0.0.1', port: 0 });
  const { port } = listener;
  // the station's accepted sockets (the listener's net.Server)
  const server = listener.server.server;
  let stationSocket: net.Socket | undefined;
  server.on('connection', (s: net.Socket) => (stationSocket = s));

  // tcpConnector, keeping the master's socket
  let masterSocket: net.Socket | undefined;
  const connector: Connector = async (ctx) => {
    const socket = await connectTcp('127.0.0.1', port, { t0: ctx.timeout, clock: ctx.clock });
    masterSocket = socket;
    const { write: _write, ...events } = ctx.events;
    return bindLink(socket, ctx.linkOptions, events);
  };
  const master = new ControllingStation({ connector, reconnect: { min: 1, max: 5, factor: 2, jitter: 0 } });

  let frames = 0;
  const kills = { master: 0, station: 0, midChunk: 0 };
  let killAfterValues = Infinity; // kill in the middle of a received chunk after so many more numbers

  const kill = (side: 'master' | 'station'): void => {
    const s = side === 'master' ? masterSocket : stationSocket;
    if (!s || s.destroyed) return;
    kills[side]++;
    s.destroy();
  };

  // kill in the middle of a received chunk, after `killAfterValues` more numbers
  const stream = new NumberedStream(() => {
    if (--killAfterValues === 0) {
      kills.midChunk++;
      kill(rnd() < 0.5 ? 'master' : 'station');
    }
  });
  master.on('asdu', (a) => {
    if (a.typeId === 13 && a.cot === 3) frames++;
    stream.add(a);
  });

  // random kills in time, on either side, while the stream is running
  let running = true;
  const chaos = async (): Promise<void> => {
    while (running) {
      await new Promise((r) => setTimeout(r, 1 + rnd() * 8));
      if (!running) break;
      const x = rnd();
      if (x < 0.4) kill('master');
      else if (x < 0.8) kill('station');
      else killAfterValues = 1 + Math.floor(rnd() * 3000);
    }
  };

  const started = performance.now();
  try {
    await master.connect();
    const chaosDone = chaos();
    await Promise.all([produceInBursts(station, N, rnd), stream.until(N, 'chaos run', 45_000)]);
    running = false;
    await chaosDone;
    const ms = performance.now() - started;
    const q = station.stats().queue;
    const totalKills = kills.master + kills.station;
    console.log(
      `chaos seed ${SEED}: ${N} events in ${ms.toFixed(0)} ms, ${frames} ASDUs, ${totalKills} kills (master side ${kills.master}, station side ${kills.station}, ${kills.midChunk} mid-chunk), ` +
        `${master.counters.connects} connections, ${stream.duplicates} duplicates, requeued ${q.requeued}, dropped ${q.dropped}`,
    );
    stream.complete(N, 'chaos');
    assert.equal(q.dropped, 0);
    assert.ok(totalKills >= 20, `the connection was killed often enough (${totalKills})`);
    assert.ok(master.counters.connects >= totalKills / 2, 'the master reconnected');
  } finally {
    running = false;
    await master.close();
    await station.close();
  }
});

/**
 * Partition: the connection goes through a proxy; a kill cuts the master's leg and leaves the
 * station's leg open and silent (as a network failure does), so the station still holds the old
 * connection — started, with events in flight — when the master's new connection starts data
 * transfer. The new connection must take over without a gap or reordering; the old one ends on
 * the station's t1.
 */
test(`chaos with partitions: ${N / 2} events, new connections start while the station still holds the old one`, async () => {
  const rnd = mulberry32(SEED + 1);
  const M = N / 2;
  const station = createStation({
    points: [{ ca: 1, ioa: 1, type: 13, eventType: 13 }],
    endOfInitialization: 'none',
    cyclicPeriodMs: 0,
    eventQueue: { capacity: M + 10 },
    link: { t1: 300, t2: 100, t3: 10_000 },
    maxConnections: 64,
  });
  const { port: stationPort } = await station.listen({ host: '127.0.0.1', port: 0 });
  const legs = new Set<{ client: net.Socket; upstream: net.Socket; cut: boolean }>();
  const proxy = netModule.createServer((client) => {
    const upstream = netModule.connect(stationPort, '127.0.0.1');
    const leg = { client, upstream, cut: false };
    legs.add(leg);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d) => void (leg.cut || upstream.write(d)));
    upstream.on('data', (d) => void (leg.cut || client.write(d)));
    client.on('close', () => {
      if (!leg.cut) upstream.destroy();
    });
    upstream.on('close', () => {
      legs.delete(leg);
      client.destroy();
    });
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', proxyPort), reconnect: { min: 1, max: 5, factor: 2, jitter: 0 } });

  let partitions = 0;
  let maxSessions = 0;
  const stream = new NumberedStream();
  master.on('asdu', (a) => {
    stream.add(a);
    if (a.typeId === 13 && a.cot === 3) maxSessions = Math.max(maxSessions, station.sessions().length);
  });
  let running = true;
  const chaos = async (): Promise<void> => {
    while (running) {
      await new Promise((r) => setTimeout(r, 2 + rnd() * 20));
      const live = [...legs].filter((l) => !l.cut);
      const leg = live[live.length - 1];
      if (!running || !leg) continue;
      leg.cut = true; // the station's leg stays open, silent
      partitions++;
      leg.client.destroy();
    }
  };
  const started = performance.now();
  try {
    await master.connect();
    const chaosDone = chaos();
    await Promise.all([produceInBursts(station, M, rnd), stream.until(M, 'partition run', 30_000)]);
    running = false;
    await chaosDone;
    const q = station.stats().queue;
    console.log(`partitions seed ${SEED + 1}: ${M} events in ${(performance.now() - started).toFixed(0)} ms, ${partitions} partitions, up to ${maxSessions} station connections at once, ${stream.duplicates} duplicates, requeued ${q.requeued}`);
    stream.complete(M, 'partitions');
    assert.ok(partitions >= 10, `partitioned often enough (${partitions})`);
    assert.ok(maxSessions >= 2, 'new connections started while the station still held an old one');
  } finally {
    running = false;
    await master.close();
    await station.close();
    for (const l of legs) {
      l.client.destroy();
      l.upstream.destroy();
    }
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});
