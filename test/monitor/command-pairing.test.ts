/**
 * Command tracking pairs answers with requests in order (first in, first out per type, CA and
 * IOA): two identical requests that overlap are both answered, not one `no-answer` and one
 * positive (issue 10, item 7; the fkie capture's frames 9 and 11).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureAnalyzer } from '../../src/capture/analyze.js';
import { Detector } from '../../src/monitor/detector.js';
import { observedFromRecord } from '../../src/monitor/from-capture.js';
import { monitorTraffic, type CommandRecord } from '../../src/monitor/index.js';
import { readCapture } from '../helpers/captures.js';
import { Capture, Conversation } from './helpers.js';

function commandsOf(file: string): CommandRecord[] {
  const det = new Detector();
  const out: CommandRecord[] = [];
  const an = new CaptureAnalyzer({
    record: (r, octets) => {
      det.observe(observedFromRecord(r, octets));
      out.push(...det.takeCommands());
    },
  });
  an.push(readCapture(file));
  an.end();
  det.finish();
  out.push(...det.takeCommands());
  return out;
}

test('fkie capture: the two overlapping interrogations (frames 9 and 11) are both answered, in order', () => {
  const gi = commandsOf('fkie_epf_iec104.pcap').filter((c) => c.typeId === 100).sort((a, b) => a.frame - b.frame);
  assert.deepEqual(
    gi.map((c) => [c.frame, c.outcome, c.conFrame, c.termFrame]),
    [
      [9, 'positive', 12, 16],
      [11, 'positive', 16, 18],
    ],
  );
});

test('identical requests answered in order: first confirmation and termination go to the first request', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 5, value: true, select: false, qu: 0 }] }); // t+10
  c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 5, value: true, select: false, qu: 0 }] }); // t+20
  c.i('s', { typeId: 45, cot: 7, objects: [{ ioa: 5, value: true, select: false, qu: 0 }] }); // con 1
  c.i('s', { typeId: 45, cot: 7, negative: true, objects: [{ ioa: 5, value: true, select: false, qu: 0 }] }); // con 2 (negative)
  c.i('s', { typeId: 45, cot: 10, objects: [{ ioa: 5, value: true, select: false, qu: 0 }] }); // term of 1
  const r = monitorTraffic(cap.items);
  const cmds = r.commands.filter((x) => x.ioa === 5).sort((a, b) => a.frame - b.frame);
  assert.equal(cmds.length, 2);
  assert.deepEqual(cmds.map((x) => x.outcome), ['positive', 'negative']);
  assert.equal(cmds[0].conLatencyMs, 20);
  assert.equal(cmds[0].termLatencyMs, 40);
  assert.equal(cmds[1].conLatencyMs, 20);
  assert.equal(cmds[1].negativeCause, 'P/N=1 actcon');
  const st = r.commandStats.find((s) => s.typeId === 45)!;
  assert.deepEqual([st.count, st.positive, st.negative, st.noAnswer], [2, 1, 1, 0]);
});

test('a request never answered still times out while a later identical one is answered', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  c.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] });
  cap.wait(20000); // past the 15 s answer timeout
  c.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] });
  c.i('s', { typeId: 100, cot: 7, objects: [{ ioa: 0, qoi: 20 }] });
  c.i('s', { typeId: 100, cot: 10, objects: [{ ioa: 0, qoi: 20 }] });
  const r = monitorTraffic(cap.items);
  const gi = r.commands.filter((x) => x.typeId === 100).sort((a, b) => a.frame - b.frame);
  assert.deepEqual(gi.map((x) => x.outcome), ['no-answer', 'positive']);
  assert.equal(gi[1].conLatencyMs, 10);
});

test('a deactivation confirmation goes to the deactivation, not to a waiting activation', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  c.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] });
  c.i('s', { typeId: 100, cot: 7, objects: [{ ioa: 0, qoi: 20 }] });
  c.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] }); // second GI, unconfirmed
  c.i('m', { typeId: 100, cot: 8, objects: [{ ioa: 0, qoi: 20 }] }); // deactivation
  c.i('s', { typeId: 100, cot: 9, objects: [{ ioa: 0, qoi: 20 }] }); // deactivation confirmation
  const r = monitorTraffic(cap.items);
  const byFrame = new Map(r.commands.map((x) => [x.frame, x]));
  const deact = r.commands.find((x) => x.cot === 8)!;
  assert.equal(deact.outcome, 'positive');
  assert.equal(deact.conLatencyMs, 10);
  const second = [...byFrame.values()].filter((x) => x.cot === 6).sort((a, b) => a.frame - b.frame)[1];
  assert.equal(second.conFrame, undefined);
});

test('open commands stay bounded per flow when identical requests are never answered', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { step: 1 });
  c.startdt();
  for (let i = 0; i < 300; i++) c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 7, value: true, select: false, qu: 0 }] });
  const det = new Detector({ commands: { maxOpenPerFlow: 256 } });
  for (const o of cap.items) det.observe(o);
  const early = det.takeCommands();
  assert.equal(early.length, 300 - 256);
  assert.ok(early.every((x) => x.outcome === 'no-answer'));
  assert.deepEqual(early.map((x) => x.frame), early.map((x) => x.frame).sort((a, b) => a - b));
  assert.equal(early[0].frame, 3);
});
