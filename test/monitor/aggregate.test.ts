/**
 * Alert aggregation: repeated alerts of one rule on one flow fold into one record per window
 * (library and `iec104 analyze`), on every fixture capture and on synthetic attack captures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { AlertAggregator, makeAlert } from '../../src/monitor/index.js';
import { runAnalyzeOn } from '../capture/helpers.js';
import { CAPTURES_DIR, readCapture } from '../helpers/captures.js';
import { SynthLink104 } from './synth-attacks.js';

const o = (frame: number, ts: number, flow = '1') => ({ frame, ts, src: '10.0.0.1:40001', dst: '10.0.0.2:2404', flow });

test('AlertAggregator: first occurrence at once, repeats counted, one summary per rule, flow and window', () => {
  const agg = new AlertAggregator({ windowMs: 1000 });
  const got = agg.push([
    makeAlert(o(1, 0), 'flood.gi', 'medium', 'a', { n: 1 }),
    makeAlert(o(2, 100), 'flood.gi', 'high', 'b', { n: 2 }),
    makeAlert(o(3, 200, '2'), 'flood.gi', 'medium', 'c'),
    makeAlert(o(4, 900), 'flood.gi', 'medium', 'd', { n: 3 }),
  ]);
  assert.deepEqual(got.map((r) => [r.kind, r.rule, r.kind === 'alert' ? r.frame : 0]), [['alert', 'flood.gi', 1], ['alert', 'flood.gi', 3]]);
  // an alert past the first window closes it (flow 1 and 2 windows end at 1000 and 1200)
  const r1 = agg.push([makeAlert(o(5, 1100), 'cmd.burst', 'high', 'e')]);
  assert.equal(r1.length, 2);
  const s = r1[0];
  assert.ok(s.kind === 'alert-aggregate');
  assert.deepEqual(
    { ...s },
    { kind: 'alert-aggregate', rule: 'flood.gi', severity: 'high', flow: '1', src: '10.0.0.1:40001', dst: '10.0.0.2:2404', count: 3, firstSeen: 0, lastSeen: 900, firstFrame: 1, lastFrame: 4, windowMs: 1000, message: 'a', evidence: { flow: '1', n: 1 } },
  );
  assert.equal(r1[1].rule, 'cmd.burst');
  // flow 2 held one occurrence: no summary; a new window for flow 1 opens with a new first occurrence
  assert.deepEqual(agg.push([makeAlert(o(6, 1300), 'flood.gi', 'medium', 'f')]).map((r) => r.kind), ['alert']);
  assert.deepEqual(agg.flush(), []);
  assert.equal(agg.pending, 0);
  assert.throws(() => new AlertAggregator({ windowMs: -1 }), RangeError);
});

interface Rec {
  kind: 'alert' | 'alert-aggregate';
  rule: string;
  ts: string;
  evidence: { flow: string };
  severity: string;
  count?: number;
  firstSeen?: string;
  lastSeen?: string;
}
/** The alert and aggregation records of `--alerts` output (incident records left out). */
const parse = (out: string): Rec[] => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec).filter((r) => r.kind === 'alert' || r.kind === 'alert-aggregate');

/** No two records of one rule and flow start within `windowMs` of each other. */
function assertOnePerWindow(recs: Rec[], windowMs: number, what: string): void {
  const last = new Map<string, number>();
  for (const r of recs.filter((x) => x.kind === 'alert').sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))) {
    const k = `${r.rule}|${r.evidence.flow}`;
    const t = Date.parse(r.ts);
    const prev = last.get(k);
    assert.ok(prev === undefined || t - prev > windowMs, `${what}: two records of ${k} within ${windowMs} ms`);
    last.set(k, t);
  }
}

/** A GI flood: 300 interrogations in 60 s on one connection. */
function giFlood(opts: { frozenSeq?: boolean; handshake?: boolean } = {}): Uint8Array {
  const l = new SynthLink104(opts).start();
  for (let k = 0; k < 300; k++) l.gi(2).wait(200);
  return l.pcap();
}

/** Spoofed reports: 200 monitor-direction single points sent by the master (one alert each). */
function spoofedReports(opts: { frozenSeq?: boolean; handshake?: boolean } = {}): Uint8Array {
  const l = new SynthLink104(opts).start().gi(2);
  for (let k = 0; k < 200; k++) l.i('m', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: k % 2 === 0, quality: { bl: false, sb: false, nt: false, iv: false } }] }).wait(100);
  return l.pcap();
}

/** Breaker toggling: 40 direct single commands alternating on one object. */
function toggling(): Uint8Array {
  const l = new SynthLink104().start().gi(4);
  for (let k = 0; k < 40; k++) l.command({ typeId: 45, objects: [{ ioa: 2001, value: k % 2 === 0, select: false, qu: 0 }] }, { term: true }).wait(200);
  return l.pcap();
}

const attacks: Array<[string, () => Uint8Array]> = [
  ['spoofed reports', () => spoofedReports()],
  ['spoofed reports, no handshake, frozen TCP sequence numbers', () => spoofedReports({ handshake: false, frozenSeq: true })],
  ['GI flood', () => giFlood()],
  ['toggling', toggling],
];
const fixtures = readdirSync(CAPTURES_DIR).filter((f) => /\.pcap(ng)?$/.test(f));

for (const name of fixtures) {
  test(`fixture ${name}: at most one alert record per rule and flow within the default 60 s window`, async () => {
    const r = await runAnalyzeOn(['cap', '--alerts'], readCapture(name));
    assertOnePerWindow(parse(r.out), 60000, name);
  });
}

for (const [name, make] of attacks) {
  test(`synthetic ${name}: one record per rule and flow by default, every occurrence with --no-aggregate`, async () => {
    const pcap = make();
    const agg = parse((await runAnalyzeOn(['cap', '--alerts'], pcap)).out);
    const all = parse((await runAnalyzeOn(['cap', '--alerts', '--no-aggregate'], pcap)).out);
    assertOnePerWindow(agg, 60000, name);
    if (name.startsWith('spoofed')) assert.ok(all.length >= 200 && agg.length < 10, `${name}: aggregation folded the repeats (${all.length} occurrences → ${agg.length} records)`);
    // the counts of the summaries (or 1 for an alert without one) add up to the occurrences
    const alerts = agg.filter((r) => r.kind === 'alert');
    const sums = agg.filter((r) => r.kind === 'alert-aggregate');
    assert.ok(sums.length <= alerts.length);
    const folded = alerts.length - sums.length + sums.reduce((n, r) => n + r.count!, 0);
    assert.equal(folded, all.length, name);
    for (const r of sums) assert.ok(r.count! >= 2 && Date.parse(r.lastSeen!) - Date.parse(r.firstSeen!) <= 60000);
  });
}

test('spoofed reports: 200 occurrences give one valid.type-direction record with the count; a 5 s window gives one per window', async () => {
  const pcap = spoofedReports();
  const recs = parse((await runAnalyzeOn(['cap', '--alerts'], pcap)).out).filter((r) => r.rule === 'valid.type-direction');
  assert.deepEqual(recs.map((r) => [r.kind, r.count]), [['alert', undefined], ['alert-aggregate', 200]]);
  const short = parse((await runAnalyzeOn(['cap', '--alerts', '--aggregate-window', '5s'], pcap)).out).filter((r) => r.rule === 'valid.type-direction');
  assert.ok(short.length >= 3, `${short.length} records`);
  assertOnePerWindow(short, 5000, '5 s window');
  // text output: the alert, then one line with the count
  const text = (await runAnalyzeOn(['cap', '--no-summary'], pcap)).out.split('\n').filter((l) => l.includes('ALERT') && l.includes('valid.type-direction'));
  assert.equal(text.length, 2);
  assert.match(text[1], /ALERT×200 high valid\.type-direction .*200 times in frames \d+–\d+ over \d+ ms/);
  const bad = await runAnalyzeOn(['cap', '--aggregate-window', 'soon'], pcap);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--aggregate-window needs a duration/);
});

test('aggregation gives the same records with the monitor on a worker thread', async () => {
  const pcap = spoofedReports();
  const one = await runAnalyzeOn(['cap', '--alerts', '--threads', '1'], pcap);
  const two = await runAnalyzeOn(['cap', '--alerts', '--threads', '2'], pcap, 0, { threadBatchBytes: 4096 });
  assert.equal(two.out, one.out);
});
