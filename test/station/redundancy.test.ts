/**
 * Redundancy groups of the controlled station at the ASDU level (FakeLink masters, virtual clock):
 * `single`, `per-connection`, `groups`. Each mode switches over in the middle of a stream of
 * 20 000 numbered events (M_ME_NC_1, value = number) and checks, for what the masters of a group
 * receive in order of arrival, that every number arrives, in order, without gap (re-sent
 * duplicates of numbers already seen are allowed: delivery is at least once).
 */
import { NumberedStream } from '../helpers/numbered-stream.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Asdu } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import type { LinkEvents, LinkOptions } from '../../src/link/types.js';
import { createLogger } from '../../src/log.js';
import { runServe } from '../../src/cli/serve.js';
import { parseStationConfig, StationConfigError } from '../../src/station/config.js';
import { type ControlledStation, createStation, StationError, type StationOptions } from '../../src/station/station.js';
import { asdu, FakeLink, WALL0 } from './helpers.js';

const N = 20_000;


interface Harness {
  station: ControlledStation;
  logs: Record<string, unknown>[];
  /** Open a connection from `remote` (`address:port`), not started; `onSent` sees every ASDU it carries. */
  connect(remote?: string, onSent?: (a: Asdu) => void): FakeLink;
}

function harness(opts: StationOptions, k = 12): Harness {
  const logs: Record<string, unknown>[] = [];
  let last: FakeLink | undefined;
  let onSent: ((a: Asdu) => void) | undefined;
  const station = createStation({
    clock: new VirtualClock(1000),
    time: () => WALL0,
    logger: createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>), time: () => 't' }),
    endOfInitialization: 'none',
    cyclicPeriodMs: 0,
    points: [{ ca: 1, ioa: 1, type: 13, eventType: 13 }, { ca: 1, ioa: 2, type: 1 }],
    ...opts,
    linkFactory: (_o: LinkOptions, ev: LinkEvents) => {
      const l = new FakeLink(ev, k);
      const cb = onSent;
      if (cb) {
        const send = l.send.bind(l);
        l.send = (a, tag) => {
          const ok = send(a, tag);
          if (ok) cb(l.sent[l.sent.length - 1]);
          return ok;
        };
      }
      return (last = l);
    },
  });
  return {
    station,
    logs,
    connect(remote = '10.0.0.1:40000', cb) {
      onSent = cb;
      station.attach({ write: () => {}, end: () => {}, remote });
      onSent = undefined;
      return last!;
    },
  };
}

/** A small deterministic generator (tests must not depend on Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Raise events 0..n-1; the masters in `ackers()` acknowledge a random number of frames every few
 * events; `at(i)` runs before event i is raised (switchovers). At the end every master acknowledges
 * until nothing is left.
 */
function stream(station: ControlledStation, n: number, ackers: () => FakeLink[], at: (i: number) => void, seed = 7): void {
  const rnd = lcg(seed);
  for (let i = 0; i < n; i++) {
    at(i);
    station.update(1, 1, i);
    if (rnd() < 0.2) for (const l of ackers()) if (l.state !== 'closed') l.ack(Math.floor(rnd() * (l.unacked.length + 1)));
  }
  for (let guard = 0; guard < 100_000; guard++) {
    const open = ackers().filter((l) => l.state === 'started' && l.unacked.length > 0);
    if (open.length === 0) break;
    for (const l of open) l.ack();
  }
}

// ---------------------------------------------------------------------------------------------
// single

for (const [n, how] of (['STOPDT', 'kill', 'silent'] as const).entries()) {
  test(`single: ${N} events, the active master ${how === 'STOPDT' ? 'sends STOPDT' : how === 'kill' ? 'is killed' : 'goes silent (the station does not know)'} mid-stream, the standby's STARTDT takes over without loss`, () => {
    const merged = new NumberedStream();
    const h = harness({ eventQueue: { capacity: N + 10 } });
    const a = h.connect('10.0.0.1:40000', (x) => merged.add(x));
    const b = h.connect('10.0.0.2:40000', (x) => merged.add(x));
    a.start();
    let active = a;
    stream(h.station, N, () => [active], (i) => {
      if (i !== N / 2) return;
      assert.ok(a.unacked.length > 0 || h.station.queue.pending > 0, 'something in flight or pending at the switchover');
      if (how === 'STOPDT') a.stop();
      else if (how === 'kill') a.drop();
      b.start(); // 'silent': A still started, still holding unacknowledged events
      active = b;
      if (how === 'silent') a.ack(); // a late acknowledgement on the old connection is ignored
    }, 7 + n);
    merged.complete(N, 'A then B');
    const s = h.station.stats();
    assert.equal(s.queue.dropped, 0);
    assert.equal(s.queue.pending + s.queue.inFlight, 0);
    assert.equal(s.redundancy.mode, 'single');
    assert.deepEqual(s.redundancy.groups.map((g) => [g.name, g.active, g.takeovers]), [['single', 2, 1]]);
    assert.ok(h.logs.some((l) => l.event === 'station.events.takeover' && l.to === 2));
    console.log(`single/${how}: ${N} events, A got ${a.sent.length} ASDUs, B ${b.sent.length}, ${merged.duplicates} duplicates, requeued ${s.queue.requeued}`);
  });
}

test('single is the default: events raised while nobody is connected are kept for the next connection', () => {
  const h = harness({});
  for (let i = 0; i < 5; i++) h.station.update(1, 1, i);
  assert.equal(h.station.stats().redundancy.mode, 'single');
  assert.equal(h.station.queue.pending, 5);
  const a = h.connect();
  a.start();
  const got = new NumberedStream();
  for (const x of a.takeAck()) got.add(x);
  got.complete(5, 'after connecting');
  assert.equal(h.station.sessions()[0].snapshot().group, 'single');
});

// ---------------------------------------------------------------------------------------------
// per-connection

test(`per-connection: two started masters each get every one of ${N} events, in order`, () => {
  const sa = new NumberedStream();
  const sb = new NumberedStream();
  const h = harness({ redundancy: { mode: 'per-connection' }, eventQueue: { capacity: 1000 } });
  const a = h.connect('10.0.0.1:40000', (x) => sa.add(x));
  const b = h.connect('10.0.0.2:40000', (x) => sb.add(x));
  a.start();
  b.start();
  stream(h.station, N, () => [a, b], () => {});
  sa.complete(N, 'master A');
  sb.complete(N, 'master B');
  assert.equal(sa.duplicates + sb.duplicates, 0);
  const s = h.station.stats();
  assert.deepEqual(s.redundancy.groups.map((g) => [g.name, g.connections, g.active, g.queue.enqueued, g.queue.acknowledged]), [['conn-1', [1], 1, N, N], ['conn-2', [2], 2, N, N]]);
  assert.equal(s.queue.enqueued, 2 * N, 'summed over the groups');
  assert.deepEqual(h.station.sessions().map((x) => [x.snapshot().group, x.snapshot().servesEvents]), [['conn-1', true], ['conn-2', true]]);
});

test(`per-connection: switchover mid-stream — A killed, B (connected since the start) sends STARTDT and gets all ${N} events from its own queue`, () => {
  const merged = new NumberedStream();
  const h = harness({ redundancy: { mode: 'per-connection' }, eventQueue: { capacity: N + 10 } });
  const a = h.connect('10.0.0.1:40000', (x) => merged.add(x));
  const b = h.connect('10.0.0.2:40000', (x) => merged.add(x));
  a.start();
  let active = a;
  stream(h.station, N, () => [active], (i) => {
    if (i !== N / 2) return;
    a.drop();
    b.start();
    active = b;
  });
  merged.complete(N, 'A then B');
  assert.ok(merged.duplicates >= N / 2, 'B had its own copy of the first half (re-sent, at least once)');
  const s = h.station.stats().redundancy;
  assert.deepEqual(s.groups.map((g) => g.name), ['conn-2'], "A's group ended with its connection");
  assert.ok(s.discarded > 0, `A's queued events ended with it (${s.discarded} discarded)`);
});

test('per-connection: events before a connection exists are not kept (unrouted); a stopped connection keeps its events; closing discards its queue; M_EI_NA_1 per connection by default', () => {
  const h = harness({ redundancy: { mode: 'per-connection' }, endOfInitialization: undefined });
  h.station.update(1, 1, -1);
  h.station.update(1, 1, -2);
  assert.equal(h.station.stats().redundancy.unrouted, 2);
  assert.equal(h.station.stats().queue.pending, 0);
  assert.equal(h.station.queue.pending, 0, 'station.queue: no event enters it in this mode');
  const a = h.connect();
  h.station.update(1, 1, 0); // A is open but stopped: kept in A's queue
  a.start();
  const first = a.takeAck();
  assert.equal(first[0].typeId, 70, 'M_EI_NA_1 at the first STARTDT (endOfInitialization defaults to connection)');
  assert.deepEqual(first.filter((x) => x.typeId === 13).map((x) => x.objects[0].value), [0]);
  a.stop();
  h.station.update(1, 1, 1);
  h.station.update(1, 1, 2);
  assert.equal(a.take().length, 0);
  a.start();
  assert.deepEqual(a.takeAck().map((x) => x.objects.map((o) => o.value)).flat(), [1, 2], 'kept while stopped');
  a.stop();
  h.station.update(1, 1, 3);
  a.drop();
  const s = h.station.stats().redundancy;
  assert.equal(s.discarded, 1);
  assert.deepEqual(s.groups, []);
  assert.ok(h.logs.some((l) => l.event === 'station.redundancy.discarded'));
});

// ---------------------------------------------------------------------------------------------
// groups

const GROUPS: StationOptions['redundancy'] = { mode: 'groups', groups: [{ name: 'scada-a', allow: ['10.0.1.0/24'] }, { name: 'scada-b', allow: ['10.0.2.0/24', 'fd00::/8'] }] };

test(`groups: switchover inside group A mid-stream (${N} events, STOPDT then STARTDT of the standby) while group B streams on its own queue — no loss in either`, () => {
  const ga = new NumberedStream();
  const gb = new NumberedStream();
  const h = harness({ redundancy: GROUPS, eventQueue: { capacity: N + 10 } });
  const a1 = h.connect('10.0.1.5:40000', (x) => ga.add(x));
  const a2 = h.connect('10.0.1.6:40000', (x) => ga.add(x));
  const b1 = h.connect('[fd00::7]:40000', (x) => gb.add(x));
  a1.start();
  b1.start();
  let activeA = a1;
  stream(h.station, N, () => [activeA, b1], (i) => {
    if (i === N / 2) {
      a1.stop();
      a2.start();
      activeA = a2;
    }
  });
  ga.complete(N, 'group A (A1 then A2)');
  gb.complete(N, 'group B');
  const s = h.station.stats();
  assert.deepEqual(s.redundancy.groups.map((g) => [g.name, g.connections, g.active, g.takeovers, g.queue.dropped, g.queue.pending, g.queue.inFlight]), [
    ['scada-a', [1, 2], 2, 1, 0, 0, 0],
    ['scada-b', [3], 3, 0, 0, 0, 0],
  ]);
  assert.deepEqual(h.station.sessions().map((x) => x.snapshot().group), ['scada-a', 'scada-a', 'scada-b']);
  console.log(`groups: group A ${ga.duplicates} duplicates across the switchover, group B ${gb.duplicates}`);
});

test('groups: events raised while a group has no connection are kept for it (bounded, per-group overflow counters)', () => {
  const h = harness({ redundancy: GROUPS, eventQueue: { capacity: 50 } });
  const a = h.connect('10.0.1.5:40000');
  a.start();
  for (let i = 0; i < 60; i++) {
    h.station.update(1, 1, i);
    a.ack();
  }
  const s = h.station.stats().redundancy;
  assert.deepEqual(s.groups.map((g) => [g.name, g.queue.pending, g.queue.dropped]), [['scada-a', 0, 0], ['scada-b', 50, 10]]);
  assert.ok(h.logs.some((l) => l.event === 'station.queue.overflow' && l.group === 'scada-b'));
  const b = h.connect('10.0.2.9:40000');
  b.start();
  const got = b.takeAck().flatMap((x) => x.objects.map((o) => Number(o.value)));
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i + 10), 'the newest 50 (drop-oldest), in order');
});

test('groups: no matching group and no catch-all → refused (logged, counted); with catchAll → the catch-all group "*" with its own queue', () => {
  const h = harness({ redundancy: GROUPS });
  assert.throws(() => h.connect('192.168.1.1:40000'), (e: unknown) => e instanceof StationError && /no redundancy group matches 192\.168\.1\.1:40000/.test(e.message));
  assert.equal(h.station.stats().redundancy.refused, 1);
  assert.equal(h.station.sessions().length, 0);
  assert.ok(h.logs.some((l) => l.event === 'station.redundancy.refused' && l.level === 'warn'));

  const c = harness({ redundancy: { ...GROUPS, catchAll: true } as StationOptions['redundancy'] });
  c.station.update(1, 1, 42);
  const x = c.connect('192.168.1.1:40000');
  x.start();
  assert.deepEqual(x.takeAck().map((a) => a.objects[0].value), [42]);
  assert.deepEqual(c.station.stats().redundancy.groups.map((g) => [g.name, g.queue.pending, g.queue.acknowledged]), [['scada-a', 1, 0], ['scada-b', 1, 0], ['*', 0, 1]]);
  assert.equal(c.station.sessions()[0].snapshot().group, '*');
  // the first matching group wins; IPv4-mapped addresses match IPv4 rules
  const m = c.connect('[::ffff:10.0.2.3]:1');
  assert.equal(c.station.sessions().find((s) => s.id === 2)?.snapshot().group, 'scada-b');
  m.drop();
});

test('groups: station M_EI_NA_1 goes to every group; reset of pending time-tagged information (QRP 2) only in the requester\'s group', () => {
  const h = harness({ redundancy: GROUPS, endOfInitialization: 'station' });
  assert.deepEqual(h.station.stats().redundancy.groups.map((g) => g.queue.pending), [1, 1]);
  const a = h.connect('10.0.1.5:40000');
  a.start();
  a.takeAck();
  for (let i = 0; i < 20; i++) h.station.update(1, 2, i % 2 === 0); // M_SP_TB_1 (time-tagged); A acknowledges nothing: 12 in flight, 8 pending
  assert.deepEqual(h.station.stats().redundancy.groups.map((g) => [g.queue.inFlight, g.queue.pending]), [[12, 8], [0, 21]]);
  a.deliver(asdu(105, 6, 1, [{ ioa: 0, qrp: 2 }]));
  const out = a.takeAck();
  assert.ok(out.some((x) => x.typeId === 105 && x.cot === 7 && !x.negative));
  assert.equal(out.filter((x) => x.typeId === 30).length, 12, 'the 8 pending events of group A were discarded');
  assert.deepEqual(h.station.stats().redundancy.groups.map((g) => [g.name, g.queue.pending]), [['scada-a', 0], ['scada-b', 21]], 'group B keeps its events');
});

// ---------------------------------------------------------------------------------------------
// configuration

test('redundancy configuration: createStation errors name the path; YAML station.redundancy validated with path-named errors', () => {
  const bad = (redundancy: unknown, re: RegExp) => assert.throws(() => createStation({ redundancy: redundancy as StationOptions['redundancy'] }), (e: unknown) => e instanceof StationError && re.test(e.message), String(JSON.stringify(redundancy)));
  bad({ mode: 'double' }, /^redundancy\.mode: expected one of single, per-connection, groups/);
  bad({ mode: 'groups', groups: [{ name: 'a', allow: ['10.0.0.0/40'] }] }, /^redundancy\.groups\[0\]\.allow\[0\]: .*prefix/);
  bad({ mode: 'groups', groups: [{ name: 'a', allow: ['10.0.0.1'] }, { name: 'a', allow: ['10.0.0.2'] }] }, /^redundancy\.groups\[1\]\.name: duplicate group name 'a'/);
  bad({ mode: 'groups', groups: [] }, /^redundancy\.groups: no group and no catch-all/);
  bad({ mode: 'groups', groups: [{ name: 'a', allow: [] }] }, /^redundancy\.groups\[0\]\.allow: expected a non-empty list/);
  bad({ mode: 'groups', groups: [{ name: '*', allow: ['::1'] }] }, /^redundancy\.groups\[0\]\.name: '\*' is the catch-all/);

  const ok = parseStationConfig('station:\n  redundancy:\n    mode: groups\n    catchAll: true\n    groups:\n      - { name: a, allow: [10.0.1.0/24] }\n      - { name: b, allow: 10.0.2.0/24 }\n');
  assert.deepEqual(ok.station.redundancy, { mode: 'groups', groups: [{ name: 'a', allow: ['10.0.1.0/24'] }, { name: 'b', allow: ['10.0.2.0/24'] }], catchAll: true });
  assert.deepEqual(parseStationConfig('station: { redundancy: per-connection }').station.redundancy, { mode: 'per-connection' });
  const cfgErr = (text: string, path: string) => assert.throws(() => parseStationConfig(text), (e: unknown) => e instanceof StationConfigError && e.path === path, text);
  cfgErr('station: { redundancy: { mode: groups, groups: [{ name: a, allow: [10.0.1.0/33] }] } }', 'station.redundancy.groups[0].allow[0]');
  cfgErr('station: { redundancy: { mode: groups, groups: [{ name: a, allow: [10.0.0.1] }, { name: a, allow: [10.0.0.2] }] } }', 'station.redundancy.groups[1].name');
  cfgErr('station: { redundancy: { mode: groups, groups: [{ name: a }] } }', 'station.redundancy.groups[0].allow');
  cfgErr('station: { redundancy: { mode: groups, groups: [{ name: a, allow: [10.0.0.1], extra: 1 }] } }', 'station.redundancy.groups[0].extra');
  cfgErr('station: { redundancy: { mode: single, groups: [] } }', 'station.redundancy.groups');
  cfgErr('station: { redundancy: { mode: groups, catchAll: yes please } }', 'station.redundancy.catchAll');
  cfgErr('station: { redundancy: groups }', 'station.redundancy');
  cfgErr('station: { redundancy: { mode: hot-standby } }', 'station.redundancy.mode');
});

test('iec104 serve: --redundancy single|per-connection, groups from the file; --check names the mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-red-'));
  const file = join(dir, 'rtu.yaml');
  writeFileSync(file, 'station:\n  redundancy: { mode: groups, catchAll: true, groups: [{ name: control-centre, allow: [10.0.1.0/24] }] }\npoints:\n  - {ca: 1, ioa: 1, type: M_SP_NA_1}\nlisten: { host: 127.0.0.1, port: 0 }\n');
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runServe(argv, { stdout: { write: (s) => out.push(s) }, stderr: { write: (s) => err.push(s) } });
    return { code, out: out.join(''), err: err.join('') };
  };
  const g = await run(file, '--check');
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /redundancy groups control-centre, \* \(catch-all\)/);
  const p = await run(file, '--check', '--redundancy', 'per-connection');
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /redundancy per-connection/);
  const bad = await run(file, '--check', '--redundancy', 'groups');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--redundancy groups needs the groups/);
  const worse = await run(file, '--redundancy', 'hot');
  assert.equal(worse.code, 2);
  assert.match(worse.err, /--redundancy must be single or per-connection/);
});
