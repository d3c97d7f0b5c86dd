/**
 * `npm run eval:detections`: a labelled evaluation of the monitor on generated captures
 * (test/monitor/synth-attacks.ts), with the default rules and with a learned baseline.
 *
 * * Benign traffic of two station styles (a polled station: GI every 15 min, spontaneous
 *   measurands, a few commands; a cyclic station: periodic measurands every 2 s, hourly clock
 *   sync), each in every capture variant (TCP handshake, none, frozen TCP sequence numbers with
 *   and without handshake, one direction only: master side, station side).
 * * Attacks per ATT&CK for ICS technique, each in every variant but the station-side-only one,
 *   after a little normal traffic.
 * * Without baseline: default rules only. With baseline: `learn` on one benign training session
 *   per style (what `iec104 learn` writes, read back as `--policy`), then the other benign
 *   sessions (other values, another day, another source port) and the attacks are analysed
 *   with it.
 *
 * Prints per technique and mode: detected variants, time from the attack's first frame to the
 * first alert naming the technique (`mitre` or `techniques`), alerts per attack (naming it, all,
 * and the records an analyst reads after aggregation); per mode: false alerts per benign hour (all
 * and high/critical), recall (attack runs with an alert naming the technique), precision (alerts
 * on attack runs over all alerts: every alert on benign traffic is false) and the share of attack
 * alerts that name the attack's technique.
 * `EVAL_SMALL=1` runs two variants only (the CI test).
 */
import { analyzeBytes } from '../src/capture/analyze.js';
import { cp56FromDate } from '../src/codec/time.js';
import { baselineToYaml, learnBaseline, parseBaselineYaml } from '../src/monitor/baseline.js';
import { AlertAggregator, monitorCapture, observedFromRecord, type Policy } from '../src/monitor/index.js';
import { SynthLink104, type Synth104Options } from '../test/monitor/synth-attacks.js';

type Variant = Synth104Options;
const ALL_VARIANTS: Array<[string, Variant]> = [
  ['handshake', {}],
  ['no handshake', { handshake: false }],
  ['frozen seq, no handshake', { handshake: false, frozenSeq: true }],
  ['frozen seq, handshake', { frozenSeq: true }],
  ['master side only', { only: 'm' }],
];
/** Benign traffic is also captured from the station side only (attacks from there are mostly invisible: the master's frames are missing). */
const BENIGN_ONLY_VARIANTS: Array<[string, Variant]> = [['station side only', { only: 's' }]];
const VARIANTS = process.env.EVAL_SMALL ? ALL_VARIANTS.slice(0, 2) : ALL_VARIANTS;
const BENIGN_VARIANTS = process.env.EVAL_SMALL ? VARIANTS : [...VARIANTS, ...BENIGN_ONLY_VARIANTS];
const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2024, 2, 4, 10, 0, 0);
const quality = { ov: false, bl: false, sb: false, nt: false, iv: false };

type Style = (v: Variant, seed: number) => { pcap: Uint8Array; hours: number };
/** A polled station, one hour: GI every 15 min, a spontaneous measurand every 10 s, two commands. */
const polled: Style = (v, seed) => {
  const l = new SynthLink104({ ...v, startMs: T0 + seed * DAY, master: { ip: '10.0.0.1', port: 40001 + seed } }).start();
  for (let k = 0; k < 360; k++) {
    if (k % 90 === 0) l.gi(8);
    l.spont(300 + (k % 5), (k * (seed + 1)) / 10).s('m');
    if (k % 120 === 60) l.command({ typeId: 45, objects: [{ ioa: 2001, value: k % 240 === 60, select: false, qu: 0 }] }, { term: true });
    l.wait(10000);
  }
  return { pcap: l.pcap(), hours: 1 };
};
/** A cyclic station, one hour: a GI at start, three measurands every 2 s (cause 1), clock sync at start and after the hour. */
const cyclic: Style = (v, seed) => {
  const l = new SynthLink104({ ...v, startMs: T0 + seed * DAY + 3600000, master: { ip: '10.0.0.1', port: 41001 + seed }, station: { ip: '10.0.0.3', port: 2404 } }).start();
  const sync = (): void => {
    l.i('m', { typeId: 103, cot: 6, objects: [{ ioa: 0, time: cp56FromDate(new Date(l.t)) }] });
    l.i('s', { typeId: 103, cot: 7, objects: [{ ioa: 0, time: cp56FromDate(new Date(l.t)) }] }).s('m');
  };
  sync();
  l.gi(6);
  for (let k = 0; k < 1800; k++) {
    l.i('s', { typeId: 13, cot: 1, objects: [0, 1, 2].map((j) => ({ ioa: 700 + j, value: 50 + j + ((k + seed) % 7) / 10, quality })) });
    if (k % 8 === 7) l.s('m');
    l.wait(2000);
  }
  sync();
  return { pcap: l.pcap(), hours: 1 };
};
const STYLES: Array<[string, Style]> = [['polled', polled], ['cyclic', cyclic]];

type Attack = (l: SynthLink104) => void;
/**
 * Technique, description, attack, and for an attack on a connection of its own (no normal traffic
 * before it on that connection) the master host it comes from.
 */
const ATTACKS: Array<[string, string, Attack, string?]> = [
  ['T0846', 'GI to 12 common addresses', (l) => { for (let ca = 2; ca < 14; ca++) l.gi(0, ca); }],
  ['T0888', 'reads at 12 common addresses', (l) => { for (let ca = 2; ca < 14; ca++) l.i('m', { typeId: 102, cot: 5, ca, objects: [{ ioa: 100 }] }).s('s'); }],
  ['T0861', 'reads of 25 IOAs', (l) => { for (let i = 0; i < 25; i++) l.i('m', { typeId: 102, cot: 5, objects: [{ ioa: 100 + i }] }).s('s'); }],
  ['T0801', '8 GIs in 3 s', (l) => { for (let i = 0; i < 8; i++) l.gi(2).wait(400); }],
  ['T0802', '60 reads in 6 s', (l) => { for (let i = 0; i < 60; i++) l.i('m', { typeId: 102, cot: 5, objects: [{ ioa: 100 + (i % 4) }] }).wait(100); }],
  ['T0806', '14 commands to unknown IOAs', (l) => { for (let i = 0; i < 14; i++) l.command({ typeId: 45, objects: [{ ioa: 5000 + i, value: true, select: false, qu: 0 }] }); }],
  ['T0831', '8 alternating commands 0.5 s apart', (l) => { for (let i = 0; i < 8; i++) l.command({ typeId: 45, objects: [{ ioa: 2001, value: i % 2 === 0, select: false, qu: 0 }] }).wait(500); }],
  ['T0814', '10 GIs in 3 s', (l) => { for (let i = 0; i < 10; i++) l.gi(2).wait(200); }],
  ['T0815', 'station stops answering (20 s)', (l) => { l.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] }).wait(20000).u('m', 'TESTFR_ACT'); }],
  ['T0816', 'reset process', (l) => { l.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] }); }],
  ['T0858', 'reset process (operating mode)', (l) => { l.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] }); }],
  ['T0836', 'P_ME_NC_1', (l) => { l.command({ typeId: 112, objects: [{ ioa: 3001, value: 900, kpa: 3, lpc: false, pop: false }] }); }],
  ['T0878', 'P_AC_NA_1 deact', (l) => { l.i('m', { typeId: 113, cot: 8, objects: [{ ioa: 3001, qpa: 3 }] }); }],
  ['T0856', 'M_SP_NA_1 from the master', (l) => { l.i('m', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: true, quality: { bl: false, sb: false, nt: false, iv: false } }] }); }],
  ['T0855', 'command with cause 3', (l) => { l.i('m', { typeId: 45, cot: 3, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] }); }],
  ['T0869', 'second connection, keep-alives only, 15 min', (l) => { for (let k = 0; k < 45; k++) l.wait(20000).u('m', 'TESTFR_ACT').u('s', 'TESTFR_CON'); }, '10.0.0.1'],
  // needs the baseline: ordinary traffic from a host that does not fit
  ['T0801', 'one GI from a host not in the baseline', (l) => { l.gi(8); }, '10.0.0.66'],
  ['T0855', 'one ordinary command from a host not in the baseline', (l) => { l.command({ typeId: 45, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] }, { term: true }); }, '10.0.0.66'],
];

/** What `iec104 learn` writes for a capture, read back as `--policy` reads it. */
function learn(pcap: Uint8Array): Policy {
  return parseBaselineYaml(baselineToYaml(learnBaseline(analyzeBytes(pcap).records.map((r) => observedFromRecord(r)))));
}
const names = (a: { mitre?: string; techniques?: string[] }): string[] => a.techniques ?? (a.mitre ? [a.mitre] : []);

interface ModeResult {
  benignAlerts: number;
  benignHigh: number;
  benignHours: number;
  benignRules: Map<string, number>;
  runs: number;
  detected: number;
  /** Alerts on attack runs naming the attack's technique, and all alerts on attack runs. */
  tagged: number;
  attackAlerts: number;
  /** Records an analyst reads on attack runs (alerts folded per rule and flow, 60 s windows). */
  attackRecords: number;
  rows: string[];
}

function evaluate(mode: 'default rules' | 'learned baseline'): ModeResult {
  const r: ModeResult = { benignAlerts: 0, benignHigh: 0, benignHours: 0, benignRules: new Map(), runs: 0, detected: 0, tagged: 0, attackAlerts: 0, attackRecords: 0, rows: [] };
  // the baseline of each style is learned on its first session (seed 0, with handshake) and applies to both stations
  const policy = mode === 'learned baseline' ? learn(mergeCaptures(STYLES.map(([, style]) => style({}, 0).pcap))) : undefined;
  const opts = policy ? { policy } : {};
  for (const [, style] of STYLES) {
    for (const [k, [, v]] of BENIGN_VARIANTS.entries()) {
      const b = style(v, k + 1); // other sessions than the training one
      const res = monitorCapture(b.pcap, opts);
      r.benignAlerts += res.alerts.length;
      r.benignHigh += res.alerts.filter((a) => a.severity === 'high' || a.severity === 'critical').length;
      r.benignHours += b.hours;
      for (const a of res.alerts) r.benignRules.set(a.rule, (r.benignRules.get(a.rule) ?? 0) + 1);
    }
  }
  for (const [tech, what, attack, own] of ATTACKS) {
    let hit = 0;
    let first = 0;
    let firstN = 0;
    let tagged = 0;
    let all = 0;
    let records = 0;
    for (const [, v] of VARIANTS) {
      const l = new SynthLink104({ ...v, startMs: T0 + 30 * DAY, ...(own !== undefined ? { master: { ip: own, port: 49999 } } : {}) }).start();
      if (!own) l.gi(4).wait(1000);
      const start = l.t;
      attack(l);
      const res = monitorCapture(l.pcap(), opts);
      const hits = res.alerts.filter((a) => names(a).includes(tech));
      r.runs++;
      all += res.alerts.length;
      const agg = new AlertAggregator();
      records += agg.push(res.alerts).length + agg.flush().length;
      tagged += hits.length;
      if (hits.length) {
        hit++;
        first += hits[0].ts - start;
        firstN++;
      }
    }
    r.detected += hit;
    r.tagged += tagged;
    r.attackAlerts += all;
    r.attackRecords += records;
    const n = VARIANTS.length;
    r.rows.push(`| ${tech} (${what}) | ${hit}/${n} | ${firstN ? `${Math.round(first / firstN)} ms` : '-'} | ${(tagged / n).toFixed(1)} | ${(all / n).toFixed(1)} | ${(records / n).toFixed(1)} |`);
  }
  return r;
}

/** One capture holding the packets of several (time-ordered by the merge of the writer). */
function mergeCaptures(pcaps: Uint8Array[]): Uint8Array {
  // pcap files of one link type: keep the first header, append the records of the others
  const parts = [pcaps[0], ...pcaps.slice(1).map((p) => p.subarray(24))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Rate- and count-based techniques at several intensities (default rules, handshake): where the thresholds cut. */
const INTENSITIES: Array<[string, string, (n: number) => Attack, number[]]> = [
  ['T0846', 'GI to N common addresses within 50 s', (n) => (l) => { for (let ca = 2; ca < 2 + n; ca++) l.gi(0, ca).wait(50000 / n); }, [8, 9, 12, 50]],
  ['T0806', 'commands to N unknown IOAs within 25 s', (n) => (l) => { for (let i = 0; i < n; i++) l.command({ typeId: 45, objects: [{ ioa: 5000 + i, value: true, select: false, qu: 0 }] }).wait(25000 / n); }, [10, 11, 14, 100]],
  ['T0814', 'N GIs within 50 s', (n) => (l) => { for (let i = 0; i < n; i++) l.gi(2).wait(50000 / n); }, [5, 6, 10, 100]],
  ['T0831', 'N alternating commands to one object within 50 s', (n) => (l) => { for (let i = 0; i < n; i++) l.command({ typeId: 45, objects: [{ ioa: 2001, value: i % 2 === 0, select: false, qu: 0 }] }).wait(50000 / n); }, [4, 5, 6, 40]],
  ['T0802', 'N reads within 8 s', (n) => (l) => { for (let i = 0; i < n; i++) l.i('m', { typeId: 102, cot: 5, objects: [{ ioa: 100 + (i % 4) }] }).wait(8000 / n); }, [50, 51, 60, 500]],
];

function intensities(): string[] {
  const rows: string[] = [];
  for (const [tech, what, make, ns] of INTENSITIES) {
    const cells = ns.map((n) => {
      const l = new SynthLink104({ startMs: T0 + 30 * DAY }).start().wait(1000);
      make(n)(l);
      return `${n}: ${monitorCapture(l.pcap()).alerts.some((a) => names(a).includes(tech)) ? 'yes' : 'no'}`;
    });
    rows.push(`| ${tech} | ${what} | ${cells.join(', ')} |`);
  }
  return rows;
}

if (!process.env.EVAL_SMALL) {
  console.log('\n## intensities (default rules, handshake)');
  console.log('| technique | attack | N: detected |');
  console.log('|---|---|---|');
  for (const row of intensities()) console.log(row);
}

for (const mode of ['default rules', 'learned baseline'] as const) {
  const r = evaluate(mode);
  const fp = r.benignAlerts;
  console.log(`\n## ${mode}`);
  console.log(`benign: ${STYLES.length * BENIGN_VARIANTS.length} sessions, ${r.benignHours} h: ${(r.benignAlerts / r.benignHours).toFixed(2)} alerts/h, ${(r.benignHigh / r.benignHours).toFixed(2)} high or critical/h${r.benignRules.size ? ` (${[...r.benignRules].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`);
  console.log('| technique (attack) | detected | time to first alert | alerts naming it per attack | all alerts per attack | records per attack (aggregated) |');
  console.log('|---|---|---|---|---|---|');
  for (const row of r.rows) console.log(row);
  const precision = r.attackAlerts / Math.max(1, r.attackAlerts + fp);
  console.log(
    `${mode}: recall ${(r.detected / r.runs).toFixed(2)} (${r.detected} of ${r.runs} attack runs); precision ${precision.toFixed(2)} (${r.attackAlerts} alerts on attack runs, ${fp} on benign runs); ` +
      `alerts naming the attack's technique ${(r.tagged / Math.max(1, r.attackAlerts)).toFixed(2)} (${r.tagged} of ${r.attackAlerts}); ${r.attackRecords} records after aggregation`,
  );
}
