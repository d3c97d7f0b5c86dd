/**
 * ATT&CK for ICS tags beyond the primary technique (src/monitor/techniques.ts): the alerts carry
 * `techniques` with every id (primary first), in the library, in aggregation records and in the
 * text output of `iec104 analyze`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes } from '../../src/capture/analyze.js';
import { baselineToYaml, learnBaseline, parseBaselineYaml } from '../../src/monitor/baseline.js';
import { monitorCapture, observedFromRecord } from '../../src/monitor/index.js';
import { ALSO_TECHNIQUES, phaseOf, ruleTechniques } from '../../src/monitor/techniques.js';
import { RULES } from '../../src/monitor/rules.js';
import { runAnalyzeOn } from '../capture/helpers.js';
import { SynthLink104 } from './synth-attacks.js';

const techniquesOf = (pcap: Uint8Array, rule: string, opts = {}): string[][] =>
  monitorCapture(pcap, opts).alerts.filter((a) => a.rule === rule).map((a) => a.techniques ?? (a.mitre ? [a.mitre] : []));

test('every rule named in ALSO_TECHNIQUES is in the catalogue with a primary technique', () => {
  for (const rule of Object.keys(ALSO_TECHNIQUES)) {
    assert.ok(RULES[rule], rule);
    assert.ok(RULES[rule].mitre, `${rule} has a primary technique`);
  }
  assert.deepEqual(ruleTechniques('recon.ca-sweep', 'T0846'), ['T0846', 'T0888']);
  assert.deepEqual(ruleTechniques('cmd.toggle', 'T0831'), ['T0831']);
  assert.deepEqual(['T0846', 'T0888', 'T0801', 'T0855', 'T0869'].map(phaseOf), ['discovery', 'discovery', 'collection', 'control', 'access']);
});

test('T0888: a common-address sweep is tagged T0846 and T0888', () => {
  const l = new SynthLink104().start();
  for (let ca = 2; ca < 14; ca++) l.gi(0, ca);
  assert.deepEqual(techniquesOf(l.pcap(), 'recon.ca-sweep'), [['T0846', 'T0888']]);
});

test('T0801/T0802: an interrogation flood is tagged T0814, T0801 and T0802', () => {
  const l = new SynthLink104().start();
  for (let i = 0; i < 8; i++) l.gi(2).wait(200);
  assert.deepEqual(techniquesOf(l.pcap(), 'flood.gi'), [['T0814', 'T0801', 'T0802']]);
});

test('T0858: a reset process is tagged T0816 and T0858; T0815: a P_AC_NA_1 deactivation is tagged T0878 and T0815', () => {
  const l = new SynthLink104().start().gi(2);
  l.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] });
  l.i('m', { typeId: 113, cot: 8, objects: [{ ioa: 3001, qpa: 3 }] });
  const pcap = l.pcap();
  assert.deepEqual(techniquesOf(pcap, 'sys.restart'), [['T0816', 'T0858']]);
  assert.deepEqual(techniquesOf(pcap, 'param.deactivation'), [['T0878', 'T0815']]);
});

test('T0815: an I-frame the station never answers within t1 is tagged T0815', () => {
  const l = new SynthLink104().start().gi(2);
  l.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] }).wait(20000).u('m', 'TESTFR_ACT');
  assert.deepEqual(techniquesOf(l.pcap(), 'link.t1-expired')[0], ['T0815']);
});

test('T0801: an interrogation from a master the policy does not allow is tagged T0801 too; a command is not', () => {
  const clean = new SynthLink104().start().gi(4).wait(1000).command({ typeId: 45, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] });
  const baseline = learnBaseline(analyzeBytes(clean.pcap()).records.map((r) => observedFromRecord(r)));
  const policy = parseBaselineYaml(baselineToYaml(baseline));
  const polling = new SynthLink104({ master: { ip: '10.0.0.66', port: 50000 } }).start().gi(4);
  assert.deepEqual(techniquesOf(polling.pcap(), 'policy.command-not-allowed', { policy }), [['T0855', 'T0801']]);
  const commanding = new SynthLink104({ master: { ip: '10.0.0.66', port: 50000 } }).start().command({ typeId: 45, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] });
  assert.deepEqual(techniquesOf(commanding.pcap(), 'policy.command-not-allowed', { policy }), [['T0855']]);
});

test('analyze: the text line names every technique, the JSON alert and the aggregation record carry techniques', async () => {
  const l = new SynthLink104().start();
  for (let round = 0; round < 2; round++) for (let ca = 2; ca < 14; ca++) l.gi(0, ca).wait(3000);
  const text = await runAnalyzeOn(['cap', '--alerts'], l.pcap());
  const recs = text.out.trim().split('\n').map((x) => JSON.parse(x) as { kind: string; rule: string; techniques?: string[] });
  assert.deepEqual(recs.find((r) => r.kind === 'alert' && r.rule === 'recon.ca-sweep')?.techniques, ['T0846', 'T0888']);
  const plain = await runAnalyzeOn(['cap'], l.pcap());
  assert.match(plain.out, /ALERT medium recon\.ca-sweep .*\[T0846,T0888\]/);
});
