/**
 * `session.keepalive-only` (T0869): a connection that lasts long with keep-alives only fires once
 * (medium when started, low when stopped without an active sibling); normal sessions, redundancy
 * standby connections, short idle connections and every fixture capture stay silent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { monitorCapture } from '../../src/monitor/index.js';
import { runAnalyzeOn } from '../capture/helpers.js';
import { CAPTURES_DIR, readCapture } from '../helpers/captures.js';
import { mergePcap, SynthLink104 } from './synth-attacks.js';

/** `minutes` of TESTFR act/con every 20 s (t3), answered by S-frames nowhere: nothing but keep-alives. */
function keepAlive(l: SynthLink104, minutes: number): SynthLink104 {
  for (let k = 0; k < minutes * 3; k++) l.wait(20000).u('m', 'TESTFR_ACT').u('s', 'TESTFR_CON');
  return l;
}
const keepAliveAlerts = (pcap: Uint8Array): ReturnType<typeof monitorCapture>['alerts'] =>
  monitorCapture(pcap).alerts.filter((a) => a.rule === 'session.keepalive-only');

test('a started connection that carries only TESTFR for 15 minutes: one medium session.keepalive-only (T0869) through analyze', async () => {
  const l = keepAlive(new SynthLink104().start(), 15);
  const r = await runAnalyzeOn(['cap', '--alerts'], l.pcap());
  const recs = r.out.trim().split('\n').map((x) => JSON.parse(x) as { kind: string; rule: string; severity: string; mitre: string; evidence: Record<string, unknown> });
  const a = recs.filter((x) => x.rule === 'session.keepalive-only');
  assert.equal(a.length, 1, r.out);
  assert.equal(a[0].severity, 'medium');
  assert.equal(a[0].mitre, 'T0869');
  assert.equal(a[0].evidence.started, true);
  assert.ok((a[0].evidence.durationMs as number) >= 600000);
  assert.ok((a[0].evidence.testfr as number) >= 5);
});

test('a stopped connection kept alive with no active connection of the same master and station: low', () => {
  const a = keepAliveAlerts(keepAlive(new SynthLink104(), 15).pcap());
  assert.deepEqual(a.map((x) => [x.severity, x.evidence.started]), [['low', false]]);
});

test('a redundancy standby (stopped, TESTFR only) next to an active connection of the same master host: silent', () => {
  const active = new SynthLink104({ master: { ip: '10.0.0.1', port: 40001 } }).start().gi(4);
  for (let k = 0; k < 45; k++) active.wait(20000).spont(300, k).s('m');
  const standby = keepAlive(new SynthLink104({ master: { ip: '10.0.0.1', port: 40002 }, startMs: Date.UTC(2024, 2, 4, 10, 0, 1) }), 15);
  assert.deepEqual(keepAliveAlerts(mergePcap(active, standby)), []);
  // the same standby from another host, with no active connection of its own: flagged
  const stranger = keepAlive(new SynthLink104({ master: { ip: '10.0.0.9', port: 40002 }, startMs: Date.UTC(2024, 2, 4, 10, 0, 1) }), 15);
  assert.deepEqual(keepAliveAlerts(mergePcap(active, stranger)).map((x) => x.evidence.master), ['10.0.0.9:40002']);
});

test('silent: keep-alives for less than 10 minutes; a session with data and TESTFR on idle; data after a long idle start', () => {
  assert.deepEqual(keepAliveAlerts(keepAlive(new SynthLink104().start(), 9).pcap()), []);
  const normal = new SynthLink104().start().gi(4);
  for (let k = 0; k < 60; k++) {
    normal.wait(20000).u('m', 'TESTFR_ACT').u('s', 'TESTFR_CON');
    if (k % 10 === 0) normal.spont(300, k).s('m');
  }
  assert.deepEqual(keepAliveAlerts(normal.pcap()), []);
  // an I-frame before the thresholds are met ends the candidacy for good
  const late = keepAlive(new SynthLink104().start(), 5).gi(2);
  assert.deepEqual(keepAliveAlerts(keepAlive(late, 20).pcap()), []);
});

test('thresholds are configurable (1 minute, 2 TESTFR)', () => {
  const pcap = keepAlive(new SynthLink104().start(), 3).pcap();
  assert.equal(monitorCapture(pcap, { sessions: { minDurationMs: 60000, minKeepAlives: 2 } }).alerts.filter((a) => a.rule === 'session.keepalive-only').length, 1);
});

for (const name of readdirSync(CAPTURES_DIR).filter((f) => /\.pcap(ng)?$/.test(f))) {
  test(`fixture ${name}: no session.keepalive-only`, () => {
    assert.deepEqual(keepAliveAlerts(readCapture(name)), []);
  });
}
