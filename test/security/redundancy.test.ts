/**
 * Master redundancy group over loopback: one station listening twice (two addresses of one RTU).
 * Killing the active listener mid-stream fails over to the standby, and the data continues from it
 * without loss; manual switchover; a command in flight at failover rejects and is not repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createStation, type ControlledStation, type StationListener } from '../../src/station/station.js';
import { RedundancyGroup } from '../../src/master/redundancy-group.js';
import { ConnectionLostError, MasterError } from '../../src/master/errors.js';
import { tcpConnector } from '../../src/master/tcp.js';
import type { CommandOutcome } from '../../src/station/commands.js';
import { waitFor } from '../transport/helpers.js';

async function twoAddresses(onCommand?: () => Promise<CommandOutcome | undefined>): Promise<{ station: ControlledStation; a: StationListener; b: StationListener }> {
  const station = createStation({
    endOfInitialization: 'none',
    points: [{ ca: 1, ioa: 100, type: 13, value: 0 }],
    commands: [{ ca: 1, ioa: 5001, type: 45, mode: 'direct' }],
    ...(onCommand ? { onCommand } : {}),
  });
  const [a, b] = await station.listen([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }]);
  return { station, a, b };
}

function valuesOf(group: RedundancyGroup): { values: number[]; from: Set<number> } {
  const got = { values: [] as number[], from: new Set<number>() };
  group.on('asdu', (a, index) => {
    if (a.cot !== 3) return;
    for (const o of a.objects) got.values.push(Number(o.value));
    got.from.add(index);
  });
  return got;
}

test('all members connected, exactly one started; the standby is kept alive without data transfer', async () => {
  const { station, a, b } = await twoAddresses();
  const group = new RedundancyGroup({ endpoints: [tcpConnector('127.0.0.1', a.port), tcpConnector('127.0.0.1', b.port)], reconnect: false });
  try {
    const actives: number[] = [];
    group.on('active', (i) => actives.push(i.index));
    await group.connect();
    assert.equal(group.activeIndex, 0);
    assert.deepEqual(actives, [0]);
    assert.deepEqual(group.snapshot().members.map((m) => m.state), ['started', 'connected']);
    await waitFor(() => station.sessions().length === 2);
    assert.deepEqual(station.sessions().map((s) => s.isStarted).sort(), [false, true]);
  } finally {
    await group.close();
    await station.close();
  }
});

test('failover: the active address dies mid-stream, the standby is started and the data continues without loss', async () => {
  const { station, a, b } = await twoAddresses();
  const group = new RedundancyGroup({ endpoints: [{ connector: tcpConnector('127.0.0.1', a.port), name: 'A' }, { connector: tcpConnector('127.0.0.1', b.port), name: 'B' }], reconnect: false });
  const got = valuesOf(group);
  const failovers: { from: number; to: number | undefined }[] = [];
  group.on('failover', (f) => failovers.push({ from: f.from, to: f.to }));
  try {
    await group.connect();
    assert.equal(group.activeIndex, 0);
    for (let i = 0; i < 100; i++) station.update(1, 100, i);
    await waitFor(() => got.values.length >= 50);
    await a.close(); // the active connection's address goes away
    for (let i = 100; i < 200; i++) station.update(1, 100, i);
    await waitFor(() => got.values.includes(199));
    assert.deepEqual(failovers, [{ from: 0, to: 1 }]);
    assert.equal(group.activeIndex, 1);
    assert.ok(got.from.has(0) && got.from.has(1), 'data came from both members');
    const seen = new Set(got.values);
    for (let i = 0; i < 200; i++) assert.ok(seen.has(i), `value ${i} lost in the failover`);
  } finally {
    await group.close();
    await station.close();
  }
});

test('manual switchover: STOPDT on the active, STARTDT on the target; requests go to the new active', async () => {
  const { station, a, b } = await twoAddresses();
  const group = new RedundancyGroup({ endpoints: [tcpConnector('127.0.0.1', a.port), tcpConnector('127.0.0.1', b.port)], reconnect: false });
  const got = valuesOf(group);
  try {
    await group.connect();
    const reasons: string[] = [];
    group.on('active', (i) => reasons.push(`${i.index}:${i.reason}`));
    await group.switchover(1);
    assert.equal(group.activeIndex, 1);
    assert.deepEqual(reasons, ['1:switchover']);
    assert.deepEqual(group.snapshot().members.map((m) => m.state), ['connected', 'started']);
    station.update(1, 100, 42);
    await waitFor(() => got.values.includes(42));
    assert.deepEqual([...got.from], [1]);
    const gi = await group.interrogation(1);
    assert.equal(gi.objects.length, 1);
    await assert.rejects(group.switchover(5), (e: unknown) => e instanceof MasterError && e.code === 'E_INVALID');
    await group.switchover(0);
    assert.equal(group.activeIndex, 0);
  } finally {
    await group.close();
    await station.close();
  }
});

test('a command in flight when the active connection fails rejects with ConnectionLostError and is not repeated on the standby', async () => {
  let calls = 0;
  const { station, a, b } = await twoAddresses(() => {
    calls++;
    return new Promise<CommandOutcome | undefined>(() => {}); // the outstation never answers
  });
  const group = new RedundancyGroup({ endpoints: [tcpConnector('127.0.0.1', a.port), tcpConnector('127.0.0.1', b.port)], reconnect: false });
  try {
    await group.connect();
    const pending = group.single(1, 5001, true);
    await waitFor(() => calls === 1);
    const failedOver = new Promise<void>((res) => group.once('active', () => res()));
    await a.close();
    await assert.rejects(pending, ConnectionLostError);
    await failedOver;
    assert.equal(group.activeIndex, 1);
    // give the standby's link a chance to carry a repeated command: a test frame round trip on it
    await group.testCommand(1);
    assert.equal(calls, 1, 'the command must not be sent again');
  } finally {
    await group.close();
    await station.close();
  }
});

test('no standby connected when the active fails: failover reports none, connect() of a group without any endpoint rejects', async () => {
  const { station, a } = await twoAddresses();
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const group = new RedundancyGroup({ endpoints: [tcpConnector('127.0.0.1', a.port), tcpConnector('127.0.0.1', deadPort)], reconnect: false });
  const failovers: (number | undefined)[] = [];
  group.on('failover', (f) => failovers.push(f.to));
  try {
    await group.connect();
    assert.equal(group.activeIndex, 0);
    await a.close();
    await waitFor(() => failovers.length === 1);
    assert.deepEqual(failovers, [undefined]);
    assert.equal(group.activeIndex, undefined);
    await assert.rejects(group.single(1, 5001, true), (e: unknown) => e instanceof MasterError && e.code === 'E_NOT_CONNECTED');
  } finally {
    await group.close();
    await station.close();
  }
  const none = new RedundancyGroup({ endpoints: [tcpConnector('127.0.0.1', deadPort)], reconnect: false });
  await assert.rejects(none.connect(), (e: unknown) => e instanceof MasterError && e.code === 'E_CONNECT_FAILED');
  await none.close();
});
