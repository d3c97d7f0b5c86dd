/**
 * The incident view (src/monitor/incidents.ts): a multi-stage attack made by the test (a CA sweep,
 * then an interrogation flood, then breaker toggling and a reset, from one host, next to an
 * ordinary SCADA session) becomes one incident with its kill-chain phases in order, as a record
 * of `iec104 analyze --json`, a line of the text output and its summary, and in `GET /api/capture`
 * of the workbench. Benign traffic and the fixture captures give no incident.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { IncidentCorrelator } from '../../src/monitor/incidents.js';
import { makeAlert, monitorCapture } from '../../src/monitor/index.js';
import { analyzeCaptureForView } from '../../src/web/capture-view.js';
import { startWorkbench } from '../../src/web/server.js';
import { runAnalyzeOn } from '../capture/helpers.js';
import { CAPTURES_DIR, readCapture } from '../helpers/captures.js';
import { mergePcap, SynthLink104 } from './synth-attacks.js';

const T = Date.UTC(2024, 2, 4, 10, 0, 0);
const scada = (): SynthLink104 => {
  const l = new SynthLink104({ startMs: T }).start().gi(6);
  for (let k = 0; k < 60; k++) l.wait(5000).spont(300 + (k % 3), k).s('m');
  return l;
};
/** Reads of one object at common addresses 2..13 (a CA sweep that is not also an interrogation flood). */
const sweep = (l: SynthLink104): SynthLink104 => {
  for (let ca = 2; ca < 14; ca++) {
    l.i('m', { typeId: 102, cot: 5, ca, objects: [{ ioa: 100 }] });
    l.i('s', { typeId: 1, cot: 5, ca, objects: [{ ioa: 100, value: true, quality: { bl: false, sb: false, nt: false, iv: false } }] }).s('m').wait(200);
  }
  return l.wait(20000);
};
const flood = (l: SynthLink104): SynthLink104 => {
  for (let i = 0; i < 8; i++) l.gi(4).wait(300);
  return l.wait(20000);
};
const toggle = (l: SynthLink104): SynthLink104 => {
  for (let i = 0; i < 8; i++) l.command({ typeId: 45, objects: [{ ioa: 2001, value: i % 2 === 0, select: false, qu: 0 }] }).wait(500);
  return l.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] });
};
const attacker = (startMs = T + 10000): SynthLink104 => new SynthLink104({ master: { ip: '10.0.0.66', port: 50123 }, startMs }).start();

interface IncidentRec {
  kind: 'incident';
  id: number;
  severity: string;
  sources: string[];
  targets: string[];
  rules: string[];
  techniques: string[];
  order: string[];
  killChainOrder: boolean;
  firstSeen: string;
  phases: Array<{ phase: string; rules: string[]; firstSeen: string }>;
}

test('a campaign (sweep → polling flood → toggling and reset) from one host is one incident in kill-chain order: --json record, text line, summary', async () => {
  const pcap = mergePcap(scada(), toggle(flood(sweep(attacker()))));
  const j = await runAnalyzeOn(['cap', '--json'], pcap);
  const recs = j.out.trim().split('\n').map((x) => JSON.parse(x) as { kind: string; alerts?: { incidents: number } });
  const incidents = recs.filter((r) => r.kind === 'incident') as unknown as IncidentRec[];
  assert.equal(incidents.length, 1, j.out);
  const [i] = incidents;
  assert.deepEqual(i.sources, ['10.0.0.66']);
  assert.deepEqual(i.targets, ['10.0.0.2:2404']);
  assert.deepEqual(i.order, ['discovery', 'collection', 'control']);
  assert.equal(i.killChainOrder, true);
  assert.equal(i.severity, 'critical');
  for (const r of ['recon.ca-sweep', 'flood.gi', 'cmd.toggle', 'sys.restart']) assert.ok(i.rules.includes(r), `${r} in ${i.rules.join(',')}`);
  for (const t of ['T0846', 'T0888', 'T0801', 'T0831', 'T0816']) assert.ok(i.techniques.includes(t), t);
  assert.deepEqual(i.phases.map((p) => p.phase), ['discovery', 'collection', 'control']);
  assert.match(i.firstSeen, /^2024-03-04T10:00:\d\d\.\d{6}Z$/);
  assert.equal(recs.find((r) => r.kind === 'summary')?.alerts?.incidents, 1);

  const text = await runAnalyzeOn(['cap'], pcap);
  assert.match(text.out, /INCIDENT 1 critical 10\.0\.0\.66 → 10\.0\.0\.2:2404: \d+ alerts of \d+ rules.*discovery .*\(recon\.ca-sweep\) → collection .*flood\.gi.* → control .*cmd\.toggle.*\(kill-chain order\)/);
  assert.match(text.out, /^incidents: 1$/m);
  // --alerts prints the incident record among the alert records
  const alertsOnly = await runAnalyzeOn(['cap', '--alerts'], pcap);
  assert.equal(alertsOnly.out.trim().split('\n').filter((l) => l.includes('"kind":"incident"')).length, 1);
});

test('phases out of kill-chain order are reported as such; two sources and targets far apart in time are two incidents', () => {
  const c = new IncidentCorrelator({ windowMs: 60000 });
  const o = (ts: number, src: string, dst: string) => ({ frame: ts, ts, src, dst, flow: `${src}>${dst}` });
  const out = [
    ...c.push([
      makeAlert(o(0, '10.0.0.9:1', '10.0.0.2:2404'), 'cmd.toggle', 'critical', 'x', {}, 'T0831'),
      makeAlert(o(1000, '10.0.0.9:1', '10.0.0.2:2404'), 'recon.ca-sweep', 'medium', 'x', {}, 'T0846'),
      // unrelated host and station, same time: another group (one rule: not an incident)
      makeAlert(o(1500, '10.0.0.7:1', '10.0.0.3:2404'), 'flood.gi', 'medium', 'x', {}, 'T0814'),
      // the first source again, long after the window: a new group
      makeAlert(o(500000, '10.0.0.9:1', '10.0.0.2:2404'), 'recon.ca-sweep', 'medium', 'x', {}, 'T0846'),
      makeAlert(o(501000, '10.0.0.9:2', '10.0.0.2:2404'), 'cmd.burst', 'high', 'x', {}, 'T0806'),
    ]),
    ...c.flush(),
  ];
  assert.equal(out.length, 2);
  assert.deepEqual(out[0].order, ['control', 'discovery']);
  assert.equal(out[0].killChainOrder, false);
  assert.deepEqual(out.map((i) => i.id), [1, 2]);
  assert.deepEqual(out[1].order, ['discovery', 'control']);
  assert.equal(out[1].killChainOrder, true);
  // alerts without a technique are not correlated
  const c2 = new IncidentCorrelator();
  c2.push([makeAlert(o(0, 'a:1', 'b:2'), 'valid.ioa-zero', 'low', 'x'), makeAlert(o(1, 'a:1', 'b:2'), 'valid.ca-zero', 'low', 'x')]);
  assert.deepEqual(c2.flush(), []);
});

test('a shared target joins two sources into one incident; groups that meet later are merged', () => {
  const c = new IncidentCorrelator();
  const o = (ts: number, src: string, dst: string) => ({ frame: ts, ts, src, dst, flow: src });
  c.push([
    makeAlert(o(0, '10.0.0.8:1', '10.0.0.2:2404'), 'recon.ca-sweep', 'medium', 'x', {}, 'T0846'),
    makeAlert(o(10, '10.0.0.9:1', '10.0.0.5:2404'), 'flood.gi', 'medium', 'x', {}, 'T0814'),
    // 10.0.0.9 now attacks 10.0.0.2: both groups are one campaign
    makeAlert(o(20, '10.0.0.9:1', '10.0.0.2:2404'), 'cmd.toggle', 'critical', 'x', {}, 'T0831'),
  ]);
  const all = c.flush();
  assert.equal(all.length, 1);
  assert.deepEqual(all[0].sources.sort(), ['10.0.0.8', '10.0.0.9']);
  assert.deepEqual(all[0].targets.sort(), ['10.0.0.2:2404', '10.0.0.5:2404']);
  assert.equal(all[0].alerts, 3);
});

test('the workbench serves the incidents of an analysed capture at GET /api/capture', async () => {
  const pcap = mergePcap(scada(), toggle(flood(sweep(attacker()))));
  const view = analyzeCaptureForView('campaign.pcap', pcap);
  assert.equal(view.incidents.length, 1);
  const wb = await startWorkbench({ port: 0, capture: view, title: 'capture' });
  try {
    const res = await fetch(new URL('/api/capture', wb.url));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { incidents: Array<{ sources: string[]; order: string[] }> };
    assert.deepEqual(body.incidents.map((i) => [i.sources, i.order]), [[['10.0.0.66'], ['discovery', 'collection', 'control']]]);
  } finally {
    await wb.close();
  }
});

test('benign traffic and the fixture captures give no incident', () => {
  const benign = [scada().pcap(), ...readdirSync(CAPTURES_DIR).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => readCapture(f))];
  for (const pcap of benign) {
    const c = new IncidentCorrelator();
    const r = monitorCapture(pcap);
    assert.deepEqual([...c.push(r.alerts), ...c.flush()], []);
  }
});
