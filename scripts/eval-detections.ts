/**
 * `npm run eval:detections`: a small labelled evaluation of the monitor's default rules on
 * generated captures (test/monitor/synth-attacks.ts). Benign sessions (with and without TCP
 * handshake, frozen TCP sequence numbers) and attack variants per ATT&CK for ICS technique; prints
 * per technique whether it was detected (an alert tagged with the technique), the time from the
 * attack's first frame to the first such alert, alerts per attack, and the alerts on benign traffic
 * per benign hour (all and high/critical).
 */
import { monitorCapture } from '../src/monitor/index.js';
import { SynthLink104, type Synth104Options } from '../test/monitor/synth-attacks.js';

type Variant = Synth104Options;
const VARIANTS: Array<[string, Variant]> = [
  ['handshake', {}],
  ['no handshake', { handshake: false }],
  ['frozen seq, no handshake', { handshake: false, frozenSeq: true }],
];

/** Benign traffic of one hour-ish: GI every 15 min, spontaneous data every 10 s, a few commands. */
function benign(v: Variant): { pcap: Uint8Array; hours: number } {
  const l = new SynthLink104(v).start();
  for (let k = 0; k < 360; k++) {
    if (k % 90 === 0) l.gi(8);
    l.spont(300 + (k % 5), k / 10).s('m');
    if (k % 120 === 60) l.command({ typeId: 45, objects: [{ ioa: 2001, value: k % 240 === 60, select: false, qu: 0 }] }, { term: true });
    l.wait(10000);
  }
  return { pcap: l.pcap(), hours: 1 };
}

type Attack = (l: SynthLink104) => void;
const ATTACKS: Array<[string, Attack]> = [
  ['T0846', (l) => { for (let ca = 2; ca < 14; ca++) l.gi(0, ca); }],
  ['T0806', (l) => { for (let i = 0; i < 14; i++) l.command({ typeId: 45, objects: [{ ioa: 5000 + i, value: true, select: false, qu: 0 }] }); }],
  ['T0831', (l) => { for (let i = 0; i < 8; i++) l.command({ typeId: 45, objects: [{ ioa: 2001, value: i % 2 === 0, select: false, qu: 0 }] }).wait(500); }],
  ['T0814', (l) => { for (let i = 0; i < 10; i++) l.gi(2).wait(200); }],
  ['T0816', (l) => { l.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] }); }],
  ['T0836', (l) => { l.command({ typeId: 112, objects: [{ ioa: 3001, value: 900, kpa: 3, lpc: false, pop: false }] }); }],
  ['T0878', (l) => { l.i('m', { typeId: 113, cot: 8, objects: [{ ioa: 3001, qpa: 3 }] }); }],
  ['T0856', (l) => { l.i('m', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: true, quality: { bl: false, sb: false, nt: false, iv: false } }] }); }],
  ['T0855', (l) => { l.i('m', { typeId: 45, cot: 3, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] }); }],
];

let benignAlerts = 0;
let benignHigh = 0;
let benignHours = 0;
for (const [, v] of VARIANTS) {
  const b = benign(v);
  const r = monitorCapture(b.pcap);
  benignAlerts += r.alerts.length;
  if (process.env.EVAL_DEBUG) console.log(Object.entries(r.alertCounts));
  benignHigh += r.alerts.filter((a) => a.severity === 'high' || a.severity === 'critical').length;
  benignHours += b.hours;
}
console.log(`benign: ${VARIANTS.length} sessions, ${benignHours} h: ${(benignAlerts / benignHours).toFixed(2)} alerts/h, ${(benignHigh / benignHours).toFixed(2)} high or critical/h`);
console.log('technique | variant | detected | time to first alert (ms) | alerts tagged / all alerts');
let tp = 0;
let fn = 0;
for (const [tech, attack] of ATTACKS) {
  for (const [vname, v] of VARIANTS) {
    const l = new SynthLink104(v).start().gi(4).wait(1000);
    const start = l.t;
    attack(l);
    const r = monitorCapture(l.pcap());
    const hits = r.alerts.filter((a) => a.mitre === tech);
    if (hits.length) tp++;
    else fn++;
    console.log(`${tech} | ${vname} | ${hits.length ? 'yes' : 'NO'} | ${hits.length ? Math.round(hits[0].ts - start) : '-'} | ${hits.length} / ${r.alerts.length}`);
  }
}
console.log(`recall ${(tp / (tp + fn)).toFixed(2)} (${tp} of ${tp + fn} attack runs); benign runs with an alert count as false positives: ${benignAlerts}`);
