/**
 * Field repairs of the controlling station (docs/CONFORMANCE.md, rows M50..): tolerated quirks of
 * real stations, debug lines for every ASDU the request tracking ignores, the process hold while a
 * reconnect is pending, and the system / parameter / deactivation requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { NegativeConfirmationError } from '../../src/master/errors.js';
import { MemoryNetwork, flush, makeMaster, mirror, monitor, started, track } from './harness.js';

interface Line {
  level: string;
  event: string;
  msg: string;
  [k: string]: unknown;
}

function logSink(): { lines: Line[]; logger: ReturnType<typeof createLogger> } {
  const lines: Line[] = [];
  return { lines, logger: createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l) as Line) }) };
}

/** The empty ACT_TERM of type ID 0 that stations built on a widely used C stack send. */
const typeZeroTerm = (ca: number): Asdu => ({ typeId: 0, sq: false, cot: 10, negative: false, test: false, originator: 0, ca, objects: [], raw: new Uint8Array(0), rawCount: 0 });

test('M50 an ACT_TERM of type ID 0 without objects completes the interrogation of that CA at once, with a warning', async () => {
  const log = logSink();
  const { net, master } = await started((a, st) => {
    st.confirm(a);
    if (a.typeId === 100) st.send(monitor(1, a.ca, 20, [{ ioa: 1, value: true }]));
    if (a.typeId === 101) st.send(monitor(15, a.ca, 37, [{ ioa: 200, value: 7, sequence: 1 }]));
    st.send(typeZeroTerm(a.ca));
  }, { logger: log.logger });
  const gi = track(master.interrogation(1));
  await flush();
  const r = await gi;
  assert.equal(r.termination?.typeId, 0);
  assert.equal(r.objects.length, 1);
  assert.equal(net.clock.now(), 1_000, 'completed without any time passing (no 60 s termination timeout)');
  const ci = track(master.counterInterrogation(1));
  await flush();
  const c = await ci;
  assert.equal(c.termination?.typeId, 0);
  assert.equal(c.objects[0].value, 7);
  const warns = log.lines.filter((l) => l.event === 'master.type0_termination');
  assert.equal(warns.length, 2);
  assert.equal(warns[0].level, 'warn');
  assert.match(warns[0].msg, /type ID 0 .*C_IC_NA_1 CA 1/);
  await master.close();
});

test('M50 type-0 ACT_TERM: only the CA it names; a broadcast interrogation counts it per CA', async () => {
  const { master, net } = await started(() => {});
  const gi = track(master.interrogation(2, 20, { timeout: 1_000, terminationTimeout: 1_000 }));
  await flush();
  const st = net.station;
  st.confirm(st.received[0]);
  st.send(typeZeroTerm(3)); // another CA: not ours
  await flush();
  net.clock.advance(999);
  await flush();
  st.send(typeZeroTerm(2));
  await flush();
  assert.equal((await gi).termination?.ca, 2);

  const b = track(master.interrogation(0xffff, 20, { terminationTimeout: 5_000 }));
  await flush();
  const req = st.received[1];
  st.send({ ...mirror(req, 7), ca: 1 });
  st.send({ ...mirror(req, 7), ca: 4 });
  st.send(typeZeroTerm(1));
  st.send(typeZeroTerm(4));
  await flush();
  net.clock.advance(300); // broadcast settle
  await flush();
  const br = await b;
  assert.equal(br.termination?.typeId, 0);
  await master.close();
});

test('M51 every received ASDU the request tracking does not use gets a debug line saying why', async () => {
  const log = logSink();
  const { net, master } = await started(() => {}, { logger: log.logger });
  const st = net.station;
  st.send(monitor(45, 1, 7, [{ ioa: 5, value: true, select: false, qu: 0 }])); // ACT_CON of nothing we sent
  st.send(monitor(1, 1, 20, [{ ioa: 1, value: true }])); // GI data without a GI
  st.send(monitor(13, 1, 5, [{ ioa: 9, value: 1.5 }])); // read answer without a read
  st.send(typeZeroTerm(1)); // type-0 termination without an interrogation
  st.send({ typeId: 200, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [], raw: new Uint8Array([1, 2]), rawCount: 1 }); // private type
  await flush();
  const events = log.lines.filter((l) => l.level === 'debug' && (l.event === 'master.unmatched' || l.event === 'master.unknown_type'));
  assert.equal(events.length, 5, JSON.stringify(events.map((e) => e.msg)));
  assert.match(events[0].msg, /C_SC_NA_1 activation confirmation CA 1 IOA 5: no open request/);
  assert.match(events[1].msg, /cause 20 .*no open \(counter\) interrogation/);
  assert.match(events[2].msg, /no open read command/);
  assert.match(events[3].msg, /reserved\(0\) activation termination CA 1: no open request/);
  assert.match(events[4].msg, /private\(200\).*not defined by the standard/);
  // a slow iterator: what it loses is logged too
  const it = master.asdus({ bufferLimit: 1 });
  for (let i = 0; i < 3; i++) st.send(monitor(1, 1, 3, [{ ioa: i, value: true }]));
  await flush();
  const over = log.lines.filter((l) => l.event === 'master.iterator_overflow');
  assert.equal(over.length, 2);
  assert.match(over[1].msg, /too slow.*2 dropped so far/);
  assert.equal((await it.next()).value?.objects[0].ioa, 2);
  await master.close();
});

test('M53 a negative confirmation is logged with cause, P/N, the request and a hint', async () => {
  const log = logSink();
  const { master } = await started((a, st) => st.send(mirror(a, 7, true)), { logger: log.logger });
  const p = track(master.single(1, 5000, true));
  await flush();
  await assert.rejects(p, NegativeConfirmationError);
  const warn = log.lines.find((l) => l.event === 'master.negative')!;
  assert.match(warn.msg, /C_SC_NA_1 CA 1 IOA 5000: cause 7 activation confirmation, P\/N=1/);
  assert.equal(warn.negative, true);
  const detail = log.lines.find((l) => l.event === 'master.negative_detail')!;
  assert.equal(detail.level, 'debug');
  assert.match(detail.msg, /select before operate \(--select\)/);
  assert.deepEqual((detail.answer as Record<string, unknown>).cot, 7);
  assert.deepEqual((detail.request as Record<string, unknown>).type, 'C_SC_NA_1');

  const { master: m2 } = await started((a, st) => st.send(mirror(a, 46, true)), { logger: log.logger });
  const gi = track(m2.interrogation(0xffff, 20, { timeout: 1_000 }));
  await flush();
  const neg = log.lines.filter((l) => l.event === 'master.negative_detail').at(-1)!;
  assert.match(neg.msg, /C_IC_NA_1 CA 65535 IOA 0: the station has no common address 65535 \(cause 46 unknown common address\); it does not accept broadcasts/);
  await m2.close();
  await assert.rejects(gi);
  await master.close();
});

test('M52 the master holds the process (clock.hold) while connecting and during the reconnect back-off, never once connected or closed', async () => {
  class HoldingClock extends VirtualClock {
    held = 0;
    holds = 0;
    hold(): () => void {
      this.held++;
      this.holds++;
      let done = false;
      return () => {
        if (!done) {
          done = true;
          this.held--;
        }
      };
    }
  }
  const clock = new HoldingClock(1_000);
  const net = new MemoryNetwork(undefined, clock);
  net.plans = ['refuse', 'refuse'];
  const master = makeMaster(net, { reconnect: { min: 100, max: 100, factor: 1, jitter: 0 } });
  const ready = master.connect();
  await flush();
  assert.equal(master.state, 'reconnecting');
  assert.equal(clock.held, 1, 'held during the back-off');
  clock.advance(100);
  await flush();
  assert.equal(clock.held, 1, 'still held after the second failure');
  clock.advance(100);
  await flush();
  await ready;
  assert.equal(master.state, 'started');
  assert.equal(clock.held, 0, 'released once connected');
  net.station.drop();
  await flush();
  assert.equal(master.state, 'reconnecting');
  assert.equal(clock.held, 1, 'held again after the loss');
  await master.close();
  assert.equal(clock.held, 0, 'released by close()');

  const once = new MemoryNetwork(undefined, new HoldingClock());
  once.plans = ['refuse'];
  const m = makeMaster(once, { reconnect: false });
  await assert.rejects(m.connect());
  assert.equal((once.clock as HoldingClock).held, 0, 'no reconnect: released when giving up');
});

test('parameters, parameter activation, deactivation and the test command without time tag', async () => {
  const { net, master } = await started((a, st) => st.send(mirror(a, a.cot === 8 ? 9 : 7)));
  const sent = (): Asdu => net.station.received.at(-1)!;
  let p: Promise<unknown> = master.parameter(112, 1, 4001, 2.5, { kpa: 1 });
  await flush();
  await p;
  assert.deepEqual([sent().typeId, sent().cot, sent().objects[0].value, sent().objects[0].kpa, sent().objects[0].lpc, sent().objects[0].pop], [112, 6, 2.5, 1, false, false]);
  p = master.parameter(110, 1, 4002, -0.5, { kpa: 3, lpc: true });
  await flush();
  await p;
  assert.deepEqual([sent().typeId, sent().objects[0].kpa, sent().objects[0].lpc], [110, 3, true]);
  p = master.parameterActivation(1, 4001, 3, { deactivate: true });
  await flush();
  const pa = (await p) as { confirmation?: Asdu };
  assert.deepEqual([sent().typeId, sent().cot, sent().objects[0].qpa, pa.confirmation?.cot], [113, 8, 3, 9]);
  p = master.deactivate(45, 1, 5000, { value: true });
  await flush();
  assert.equal(((await p) as { confirmation?: Asdu }).confirmation?.cot, 9);
  assert.deepEqual([sent().typeId, sent().cot], [45, 8]);
  p = master.testCommand(1, { timeTag: false });
  await flush();
  await p;
  assert.deepEqual([sent().typeId, sent().objects[0].pattern], [104, 0x55aa]);
  await assert.rejects(master.deactivate(101, 1, 0, { rqt: 5 }), /cannot be deactivated/);
  await assert.rejects(master.parameter(113 as 112, 1, 1, 1, { kpa: 1 }), /not a parameter of measured values/);
  await master.close();
});

test('the redundancy group sends parameters, parameter activation and deactivations on its active member', async () => {
  const { RedundancyGroup } = await import('../../src/master/redundancy-group.js');
  const net = new MemoryNetwork((a, st) => st.send(mirror(a, a.cot === 8 ? 9 : 7)));
  const group = new RedundancyGroup({ endpoints: [net.connector, net.connector], clock: net.clock, reconnect: false });
  const ready = group.connect();
  await flush();
  await ready;
  const active = net.stations.find((s) => s.link.snapshot().state === 'started')!;
  let p: Promise<unknown> = group.parameter(111, 1, 7, -5, { kpa: 2 });
  await flush();
  await p;
  p = group.parameterActivation(1, 0, 1);
  await flush();
  await p;
  p = group.deactivate(100, 1, 0, { qoi: 20 });
  await flush();
  assert.equal(((await p) as { confirmation?: Asdu }).confirmation?.cot, 9);
  assert.deepEqual(active.received.map((a) => [a.typeId, a.cot]), [[111, 6], [113, 6], [100, 8]]);
  await group.close();
});
