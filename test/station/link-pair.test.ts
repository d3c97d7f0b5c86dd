/**
 * The station over real link machines (controlled Link inside the station, controlling Link as
 * the scripted master), time from a VirtualClock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.js';
import { createStation } from '../../src/station/station.js';
import { asdu, brief, linkPair, WALL0 } from './helpers.js';

function setup(k = 12, w = 8) {
  const clock = new VirtualClock(0);
  const station = createStation({
    clock, time: () => WALL0 + clock.now(), link: { k, w }, endOfInitialization: 'station',
    points: Array.from({ length: 500 }, (_, i) => ({ ca: 1, ioa: 1 + i, type: 1, value: i % 3 === 0 })),
    commands: [{ ca: 1, ioa: 5000, type: 45, mode: 'sbo', behaviour: { feedback: { ioa: 1 } } }],
  });
  return { clock, station };
}

test('over real links: STARTDT, M_EI_NA_1, GI of 500 points through a k=4 window, ACT_TERM last', () => {
  const { clock, station } = setup(4, 2);
  const p = linkPair(station, clock, { k: 4, w: 2 });
  p.master.start();
  p.settle();
  assert.equal(p.master.state, 'started');
  assert.deepEqual(p.take().map(brief), ['70/4@1:1']);
  p.send(asdu(100, 6, 1, [{ ioa: 0, qoi: 20 }]));
  const out = p.take();
  assert.deepEqual(out.map(brief), ['100/7@1:1', '1/20@1:127sq', '1/20@1:127sq', '1/20@1:127sq', '1/20@1:119sq', '100/10@1:1']);
  assert.equal(station.stats().sessions[0].link.unacknowledged <= 4, true);
});

test('over real links: SBO select + execute, feedback event, ACT_TERM', () => {
  const { clock, station } = setup();
  const p = linkPair(station, clock);
  p.master.start();
  p.settle();
  p.take();
  p.send(asdu(45, 6, 1, [{ ioa: 5000, value: false, select: true, qu: 0 }]));
  p.send(asdu(45, 6, 1, [{ ioa: 5000, value: false, select: false, qu: 0 }]));
  const out = p.take();
  assert.deepEqual(out.map(brief), ['45/7@1:1', '45/7@1:1', '30/11@1:1', '45/10@1:1']);
  assert.equal(out[2].objects[0].value, false);
});

test('over real links: events unacknowledged at a t1 timeout are re-sent on the next connection', () => {
  const { clock, station } = setup(12, 8);
  // a master that receives but never acknowledges: k large, w large
  const p = linkPair(station, clock, { k: 12, w: 12 });
  p.master.start();
  p.settle();
  station.update(1, 2, true);
  station.update(1, 3, true);
  p.settle();
  assert.deepEqual(p.take().map(brief), ['70/4@1:1', '30/3@1:1', '30/3@1:1']);
  // master stays silent (its t2 would acknowledge; drop its link before)
  p.master.close('test: master gone silent');
  clock.advance(15_000); // station t1 expires → E_T1_TIMEOUT, unacknowledged handed back
  assert.equal(station.stats().sessions.length, 0);
  assert.equal(station.queue.pending, 3, 'M_EI and both events back in the queue');
  const q = linkPair(station, clock);
  q.master.start();
  q.settle();
  const out = q.take();
  assert.deepEqual(out.map(brief), ['70/4@1:1', '30/3@1:2']);
  q.settle();
  clock.advance(10_000); // master t2 → S-frame acknowledges
  q.settle();
  assert.equal(station.queue.stats().acknowledged, 3);
  assert.equal(station.queue.inFlight, 0);
});

test('over real links: STOPDT by the master, events kept until the next STARTDT', () => {
  const { clock, station } = setup();
  const p = linkPair(station, clock);
  p.master.start();
  p.settle();
  p.take();
  p.master.stop();
  p.settle();
  assert.equal(p.master.state, 'stopped');
  station.update(1, 10, true);
  p.settle();
  assert.deepEqual(p.take(), []);
  p.master.start();
  p.settle();
  assert.deepEqual(p.take().map(brief), ['30/3@1:1']);
});
