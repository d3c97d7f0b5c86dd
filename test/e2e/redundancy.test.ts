/**
 * Station redundancy groups end to end: a station and several masters over loopback sockets
 * (port 0; client addresses 127.0.0.2/3/4 bound with `localAddress` select the groups). Each mode
 * switches over in the middle of a stream of 20 000 numbered events (M_ME_NC_1, value = number):
 * the active master is killed or sends STOPDT, the standby sends STARTDT. Asserted for what the
 * masters of a group receive, merged in order of arrival: every number, in order, no gap
 * (duplicates allowed: at least once, as in the chaos tests).
 */
import { NumberedStream } from '../helpers/numbered-stream.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Connector } from '../../src/master/connection.js';
import { ControllingStation } from '../../src/master/master.js';
import { createStation, type ControlledStation, type StationOptions } from '../../src/station/station.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';

const N = 20_000;


interface Master {
  m: ControllingStation;
  /** Destroy the master's socket (a crash of the master or its network). */
  kill(): void;
}

/** A master on 127.0.0.1:port from `localAddress`, feeding `stream`; started unless `standby`. */
async function master(port: number, stream: NumberedStream, o: { localAddress?: string; standby?: boolean } = {}): Promise<Master> {
  let socket: net.Socket | undefined;
  const connector: Connector = async (ctx) => {
    socket = await connectTcp('127.0.0.1', port, { t0: ctx.timeout, clock: ctx.clock, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    const { write: _write, ...events } = ctx.events;
    return bindLink(socket, ctx.linkOptions, events);
  };
  const m = new ControllingStation({ connector, reconnect: false, startDt: !o.standby, requestTimeout: 5000 });
  m.on('asdu', (a) => stream.add(a));
  await m.connect();
  return { m, kill: () => socket?.destroy() };
}

async function station(o: StationOptions): Promise<{ station: ControlledStation; port: number }> {
  const st = createStation({ points: [{ ca: 1, ioa: 1, type: 13, eventType: 13 }], endOfInitialization: 'none', cyclicPeriodMs: 0, eventQueue: { capacity: N + 1000 }, ...o });
  const { port } = await st.listen({ host: '127.0.0.1', port: 0, startTimeout: 0 });
  return { station: st, port };
}

/** Raise events from..to-1 in bursts, yielding to the event loop between bursts; `at(i)` before event i. */
async function produce(st: ControlledStation, from: number, to: number, at: (i: number) => Promise<void> | void = () => {}): Promise<void> {
  for (let i = from; i < to;) {
    await at(i);
    const end = Math.min(to, i + 250);
    for (; i < end; i++) st.update(1, 1, i);
    await new Promise((r) => setImmediate(r));
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('timed out waiting');
    await new Promise((r) => setImmediate(r));
  }
}

for (const how of ['kill', 'STOPDT'] as const) {
  test(`single over TCP: ${N} events, the active master ${how === 'kill' ? 'is killed' : 'sends STOPDT'} mid-stream, the standby sends STARTDT: no loss, in order`, async () => {
    const { station: st, port } = await station({});
    const merged = new NumberedStream();
    const a = await master(port, merged);
    const b = await master(port, merged, { standby: true });
    try {
      await waitFor(() => st.sessions().length === 2);
      let switched = false;
      await produce(st, 0, N, async (i) => {
        if (switched || i < N / 2) return;
        switched = true;
        if (how === 'kill') a.kill();
        else await a.m.stopDataTransfer();
        await b.m.startDataTransfer();
      });
      await merged.until(N, 'A then B');
      merged.complete(N, 'A then B');
      const s = st.stats();
      assert.equal(s.queue.dropped, 0);
      assert.equal(s.redundancy.groups[0].takeovers, 1);
      assert.equal(s.redundancy.groups[0].active, 2);
      console.log(`e2e single/${how}: ${N} events, ${merged.duplicates} duplicates, requeued ${s.queue.requeued}`);
    } finally {
      await a.m.close();
      await b.m.close();
      await st.close();
    }
  });
}

test(`per-connection over TCP: two started masters each get all ${N} events, in order`, async () => {
  const { station: st, port } = await station({ redundancy: { mode: 'per-connection' } });
  const sa = new NumberedStream();
  const sb = new NumberedStream();
  const a = await master(port, sa);
  const b = await master(port, sb);
  try {
    await waitFor(() => st.stats().redundancy.groups.filter((g) => g.active !== undefined).length === 2);
    await produce(st, 0, N);
    await Promise.all([sa.until(N, 'master A'), sb.until(N, 'master B')]);
    sa.complete(N, 'master A');
    sb.complete(N, 'master B');
    assert.equal(sa.duplicates + sb.duplicates, 0);
    assert.deepEqual(st.stats().redundancy.groups.map((g) => [g.name, g.queue.enqueued, g.queue.dropped]), [['conn-1', N, 0], ['conn-2', N, 0]]);
  } finally {
    await a.m.close();
    await b.m.close();
    await st.close();
  }
});

test(`per-connection over TCP: the active master is killed mid-stream; the standby (its own queue since it connected) sends STARTDT and gets every event`, async () => {
  const { station: st, port } = await station({ redundancy: { mode: 'per-connection' } });
  const merged = new NumberedStream();
  const a = await master(port, merged);
  const b = await master(port, merged, { standby: true });
  try {
    await waitFor(() => st.sessions().length === 2);
    let switched = false;
    await produce(st, 0, N, async (i) => {
      if (switched || i < N / 2) return;
      switched = true;
      a.kill();
      await b.m.startDataTransfer();
    });
    await merged.until(N, 'A then B');
    merged.complete(N, 'A then B');
    await waitFor(() => st.stats().redundancy.groups.length === 1);
    console.log(`e2e per-connection/kill: ${N} events, ${merged.duplicates} duplicates (B's own copy of what A had), discarded with A ${st.stats().redundancy.discarded}`);
  } finally {
    await a.m.close();
    await b.m.close();
    await st.close();
  }
});

test(`groups over TCP (client 127.0.0.2 vs 127.0.0.3): events before any connection kept per group; switchover in group A mid-stream (${N} events); group B on its own queue`, async () => {
  const { station: st, port } = await station({ redundancy: { mode: 'groups', groups: [{ name: 'A', allow: ['127.0.0.2/32'] }, { name: 'B', allow: ['127.0.0.3'] }] } });
  const PRE = 100;
  await produce(st, 0, PRE); // nobody connected: kept in both groups
  assert.deepEqual(st.stats().redundancy.groups.map((g) => [g.name, g.queue.pending]), [['A', PRE], ['B', PRE]]);
  const ga = new NumberedStream();
  const gb = new NumberedStream();
  const a1 = await master(port, ga, { localAddress: '127.0.0.2' });
  const a2 = await master(port, ga, { localAddress: '127.0.0.2', standby: true });
  const b1 = await master(port, gb, { localAddress: '127.0.0.3' });
  try {
    await waitFor(() => st.sessions().length === 3);
    assert.deepEqual(st.sessions().map((s) => s.snapshot().group), ['A', 'A', 'B']);
    let switched = false;
    await produce(st, PRE, PRE + N, async (i) => {
      if (switched || i < PRE + N / 2) return;
      switched = true;
      await a1.m.stopDataTransfer();
      await a2.m.startDataTransfer();
    });
    await Promise.all([ga.until(PRE + N, 'group A'), gb.until(PRE + N, 'group B')]);
    ga.complete(PRE + N, 'group A (A1 then A2)');
    gb.complete(PRE + N, 'group B');
    const r = st.stats().redundancy;
    assert.deepEqual(r.groups.map((g) => [g.name, g.connections, g.active, g.takeovers, g.queue.dropped]), [['A', [1, 2], 2, 1, 0], ['B', [3], 3, 0, 0]]);
    console.log(`e2e groups: ${PRE + N} events per group, group A ${ga.duplicates} duplicates across the switchover, group B ${gb.duplicates}`);
  } finally {
    await Promise.all([a1.m.close(), a2.m.close(), b1.m.close()]);
    await st.close();
  }
});

test('groups over TCP: a client no group matches is refused (no catch-all); with catchAll it lands in "*" and gets the events kept for it', async () => {
  const { station: st, port } = await station({ redundancy: { mode: 'groups', groups: [{ name: 'A', allow: ['127.0.0.2'] }] } });
  try {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.4' });
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('close', () => r()));
    assert.equal(st.stats().redundancy.refused, 1);
    assert.equal(st.security.count('E_ACCESS_SOURCE'), 1);
    assert.equal(st.sessions().length, 0);
  } finally {
    await st.close();
  }

  const c = await station({ redundancy: { mode: 'groups', groups: [{ name: 'A', allow: ['127.0.0.2'] }], catchAll: true } });
  const got = new NumberedStream();
  try {
    await produce(c.station, 0, 10);
    const x = await master(c.port, got, { localAddress: '127.0.0.4' });
    try {
      await got.until(10, 'catch-all');
      got.complete(10, 'catch-all');
      assert.deepEqual(c.station.stats().redundancy.groups.map((g) => [g.name, g.queue.pending, g.connections.length]), [['A', 10, 0], ['*', 0, 1]]);
    } finally {
      await x.m.close();
    }
  } finally {
    await c.station.close();
  }
});
