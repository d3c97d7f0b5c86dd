/**
 * Policy validation and enforcement; baseline learn -> YAML -> parse -> enforce round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import {
  PolicyError, RULES, baselineToYaml, inferPolicy, learnBaseline, monitorTraffic, parseBaselineYaml, parsePolicy, parseAddressMatch,
  formatRanges, parseRangeList, type Alert, type MonitorResult,
} from '../../src/monitor/index.js';
import { Capture, Conversation, T0, normalSession, rulesOf, show } from './helpers.js';

const covered = new Set<string>();
function fires(r: MonitorResult, rule: string): Alert {
  const a = r.alerts.find((x) => x.rule === rule);
  assert.ok(a, `expected ${rule}, got:\n${show(r.alerts)}`);
  assert.ok(RULES[rule]);
  if (rule !== 'baseline.new-type' && rule !== 'baseline.new-ioa') assert.equal(a.severity, RULES[rule].severity, rule);
  covered.add(rule);
  return a;
}

function issuesOf(yaml: string): Array<{ path: string; message: string }> {
  try {
    parsePolicy(yaml);
  } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    return e.issues;
  }
  assert.fail('expected a PolicyError');
}

const POLICY = `
version: 1
masters:
  - name: scada
    addresses: [10.0.0.0/24]
    allow:
      - types: [C_SC_NA_1, C_DC_NA_1]
        ca: 1
        ioa: [4100-4199]
      - types: [C_SE_NC_1]
        ca: [1]
        ioa: 6000
        value: { min: 0, max: 20 }
      - types: [system]
  - name: engineering
    addresses: [10.9.0.5]
    allow:
      - types: [commands]
        ca: '*'
        days: [mon-fri]
        hours: '08:00-17:00'
stations:
  - addresses: [10.0.0.2, 10.0.0.3]
`;

test('a valid policy parses: CIDR, ranges, groups, days and hours', () => {
  const p = parsePolicy(POLICY);
  assert.equal(p.masters.length, 2);
  assert.ok(p.masters[0].addresses[0].matches('10.0.0.200'));
  assert.ok(!p.masters[0].addresses[0].matches('10.0.1.1'));
  assert.deepEqual(p.masters[0].allow[0].ioa, [{ lo: 4100, hi: 4199 }]);
  assert.deepEqual([...p.masters[0].allow[2].types!].sort((a, b) => a - b), [100, 101, 102, 103, 104, 105, 106, 107]);
  assert.deepEqual([...p.masters[1].allow[0].days!].sort(), [1, 2, 3, 4, 5]);
  assert.deepEqual(p.masters[1].allow[0].hours, { from: 480, to: 1020 });
  assert.equal(p.stations!.length, 2);
});

test('policy validation names the path of every problem', () => {
  const issues = issuesOf(`
masters:
  - addresses: [10.0.0.1]
  - addresses: [10.0.0.300, 10.1.0.0/40]
    allow:
      - ioa: hundred
        types: [C_SC_NA_1, M_SP_NA_1, FOO]
        ca: 20-10
        hours: 'morning'
        days: [someday]
        value: { min: 5, max: 1 }
        colour: red
stations: nope
`);
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
  assert.equal(byPath['masters[1].allow[0].ioa'], 'expected a range like 100-200 (or a number, a list of them, or \'*\'), found string "hundred"');
  assert.match(byPath['masters[1].addresses[0]'], /expected an IP address or network/);
  assert.match(byPath['masters[1].addresses[1]'], /expected an IP address or network/);
  assert.match(byPath['masters[1].allow[0].types[1]'], /M_SP_NA_1 is not a command type/);
  assert.match(byPath['masters[1].allow[0].types[2]'], /unknown type "FOO"/);
  assert.match(byPath['masters[1].allow[0].ca'], /ends before it starts/);
  assert.match(byPath['masters[1].allow[0].hours'], /expected hours like '06:00-18:00'/);
  assert.match(byPath['masters[1].allow[0].days[0]'], /expected a day like mon/);
  assert.match(byPath['masters[1].allow[0].value'], /max 1 is below min 5/);
  assert.match(byPath['masters[1].allow[0].colour'], /unknown key/);
  assert.match(byPath.stations, /expected a list/);
  assert.equal(issues.length, 11, JSON.stringify(issues, null, 1));
  // the error message lists them one a line, each with its path
  try {
    parsePolicy('masters:\n  - addresses: [10.0.0.1]\n    allow:\n      - ioa: x\n');
  } catch (e) {
    assert.equal((e as Error).message, 'masters[0].allow[0].ioa: expected a range like 100-200 (or a number, a list of them, or \'*\'), found string "x"');
  }
});

test('policy validation: missing addresses, YAML syntax errors, bad baseline, wrong version', () => {
  assert.deepEqual(issuesOf('masters:\n  - name: a\n').map((i) => i.path), ['masters[0].addresses']);
  const syntax = issuesOf('masters: [\n  - a: b\n');
  assert.equal(syntax[0].path, '(yaml)');
  assert.match(issuesOf('version: 2\nmasters: []\n')[0].path, /^version$/);
  const b = issuesOf('masters: []\nbaseline: { version: 1, learned: {}, stations: { "1.2.3.4:2404": { masters: x } } }\n');
  assert.ok(b.some((i) => i.path === 'baseline.stations["1.2.3.4:2404"].masters'), JSON.stringify(b));
  assert.throws(() => parseBaselineYaml('masters: []\n'), (e: unknown) => e instanceof PolicyError && e.issues[0].path === 'baseline');
});

test('address matching: IPv4 host and CIDR, IPv6, invalid input', () => {
  assert.ok(parseAddressMatch('192.168.0.0/16')!.matches('192.168.44.1'));
  assert.ok(!parseAddressMatch('192.168.0.0/16')!.matches('192.169.0.1'));
  assert.ok(parseAddressMatch('fd00::/8')!.matches('fd12:3456::1'));
  assert.ok(!parseAddressMatch('fd00::/8')!.matches('fe80::1'));
  assert.ok(parseAddressMatch('::1')!.matches('0:0:0:0:0:0:0:1'));
  assert.equal(parseAddressMatch('10.0.0.1/33'), undefined);
  assert.equal(parseAddressMatch('example.com'), undefined);
});

test('policy enforcement: allowed traffic is silent', () => {
  const cap = new Capture();
  normalSession(cap, new Conversation(cap), 1);
  const r = monitorTraffic(cap.items, { policy: parsePolicy(POLICY) });
  assert.deepEqual(rulesOf(r.alerts), [], show(r.alerts));
});

test('policy.* rules: unknown master and station, command type, CA, IOA, value, time window', () => {
  const cap = new Capture(Date.UTC(2024, 2, 9, 22, 0, 0)); // Saturday 22:00 UTC
  const c = new Conversation(cap);
  c.startdt();
  c.command(46, 4150, 2, 1); // allowed
  c.i('m', { typeId: 47, cot: 6, objects: [{ ioa: 4150, value: 2, select: false }] }); // type not allowed
  c.command(45, 4101, true, 2); // CA 2 not allowed
  c.command(45, 4300, true, 1); // IOA outside 4100-4199
  c.setpoint(6000, 55); // value > 20
  const intruder = new Conversation(cap, { master: '172.16.0.9:50000', station: '10.0.0.77:2404' });
  intruder.startdt();
  intruder.command(45, 4101, true);
  const eng = new Conversation(cap, { master: '10.9.0.5:40000' });
  eng.startdt();
  eng.command(45, 4101, true); // Saturday night
  const r = monitorTraffic(cap.items, { policy: parsePolicy(POLICY) });
  assert.equal(fires(r, 'policy.unknown-master').mitre, 'T0849');
  fires(r, 'policy.unknown-station');
  const notAllowed = r.alerts.filter((a) => a.rule === 'policy.command-not-allowed');
  assert.deepEqual(notAllowed.map((a) => a.evidence.type), ['C_RC_NA_1', 'C_SC_NA_1']);
  assert.equal(notAllowed[1].evidence.reason, 'unknown master');
  covered.add('policy.command-not-allowed');
  assert.equal(fires(r, 'policy.ca-not-allowed').evidence.ca, 2);
  assert.equal(fires(r, 'policy.ioa-not-allowed').evidence.ioa, 4300);
  const v = fires(r, 'policy.value-out-of-range');
  assert.equal(v.evidence.value, 55);
  assert.equal(v.mitre, 'T0836');
  assert.equal(fires(r, 'policy.time-window').src, '10.9.0.5:40000');
  // the allowed double command raised nothing
  assert.ok(!r.alerts.some((a) => a.rule.startsWith('policy.') && a.evidence.ioa === 4150 && a.evidence.typeId === 46), show(r.alerts));
});

test('the same engineering command inside its time window is allowed', () => {
  const cap = new Capture(T0); // Monday 10:00 UTC
  const eng = new Conversation(cap, { master: '10.9.0.5:40000' });
  eng.startdt();
  eng.command(45, 4101, true);
  const r = monitorTraffic(cap.items, { policy: parsePolicy(POLICY) });
  assert.ok(!rulesOf(r.alerts).some((x) => x.startsWith('policy.')), show(r.alerts));
});

test('range text helpers', () => {
  assert.equal(formatRanges([5, 1, 2, 3, 9, 10]), '1-3,5,9-10');
  assert.deepEqual(parseRangeList('1-3,5'), [[1, 3], [5, 5]]);
  assert.deepEqual(parseRangeList(''), []);
});

function learnedSession(): { cap: Capture; yaml: string } {
  const cap = new Capture();
  normalSession(cap, new Conversation(cap), 4);
  const b = learnBaseline(cap.items);
  return { cap, yaml: baselineToYaml(b) };
}

test('learn -> YAML -> parse -> enforce: the learned traffic is silent, the YAML is readable', () => {
  const { cap, yaml } = learnedSession();
  const doc = parseYaml(yaml) as { masters: Array<{ addresses: string[] }>; baseline: { stations: Record<string, { periods: { interrogationMs: number } }> } };
  assert.deepEqual(doc.masters[0].addresses, ['10.0.0.1']);
  assert.equal(doc.baseline.stations['10.0.0.2:2404'].periods.interrogationMs, 60000);
  const p = parseBaselineYaml(yaml);
  assert.deepEqual(p.baseline.stations['10.0.0.2:2404'].masters, ['10.0.0.1']);
  // replay the learning traffic (shifted a day later) against the policy and baseline
  const later = cap.items.map((o) => ({ ...o, ts: o.ts + 86400000 }));
  const r = monitorTraffic(later, { policy: p });
  assert.deepEqual(rulesOf(r.alerts), [], show(r.alerts));
  // inferred policy: commands as learned, set-point range learned
  const inferred = inferPolicy(p.baseline);
  const sp = inferred.masters[0].allow!.find((a) => a.types![0] === 'C_SE_NC_1')!;
  assert.deepEqual(sp.value, { min: 12.5, max: 12.5 });
  assert.deepEqual(sp.ioa, [6000]);
});

test('baseline.* rules: new master, station, type, cause, IOA, rate and period changes', () => {
  const { yaml } = learnedSession();
  const p = parseBaselineYaml(yaml);
  const cap = new Capture(T0 + 86400000);
  const c = new Conversation(cap);
  normalSession(cap, c, 1);
  c.i('s', { typeId: 9, cot: 3, objects: [{ ioa: 200, value: 0.5, quality: {} }] }); // new type
  c.i('s', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: true, quality: {} }] }); // known type, new cause
  c.i('s', { typeId: 1, cot: 20, objects: [{ ioa: 999, value: true, quality: {} }] }); // new IOA
  c.ack('m');
  c.gi(); // on time (60 s after the previous one)
  cap.wait(3000);
  c.gi(); // 3 s later: period far below the learned 60 s
  for (let k = 0; k < 100; k++) {
    c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: k, quality: {} }] });
    if (k % 8 === 7) c.ack('m');
  }
  c.ack('m');
  const other = new Conversation(cap, { master: '10.0.0.50:40000' });
  other.startdt();
  const newStation = new Conversation(cap, { station: '10.0.0.99:2404', master: '10.0.0.1:40100' });
  newStation.startdt();
  const r = monitorTraffic(cap.items, { policy: p, disabled: ['policy.'] });
  assert.equal(fires(r, 'baseline.new-master').evidence.master, '10.0.0.50');
  assert.equal(fires(r, 'baseline.new-station').evidence.station, '10.0.0.99:2404');
  assert.equal(fires(r, 'baseline.new-type').evidence.type, 'M_ME_NA_1');
  assert.equal(fires(r, 'baseline.new-cause').evidence.cot, 3);
  assert.equal(fires(r, 'baseline.new-ioa').evidence.ioa, 999);
  assert.ok((fires(r, 'baseline.rate-change').evidence.count as number) > 30);
  assert.ok((fires(r, 'baseline.period-change').evidence.intervalMs as number) < 30000);
});

test('baseline.period-change: interrogation overdue by capture time; commands to unseen IOAs are high severity', () => {
  const { yaml } = learnedSession();
  const p = parseBaselineYaml(yaml);
  const cap = new Capture(T0 + 86400000);
  const c = new Conversation(cap);
  c.startdt();
  c.gi();
  for (let k = 0; k < 10; k++) {
    cap.wait(20000);
    c.testfr();
  }
  c.command(45, 4999, true);
  const r = monitorTraffic(cap.items, { policy: p, disabled: ['policy.'] });
  const overdue = r.alerts.find((a) => a.rule === 'baseline.period-change');
  assert.ok(overdue, show(r.alerts));
  assert.ok((overdue.evidence.overdueMs as number) > 120000);
  const ioa = r.alerts.find((a) => a.rule === 'baseline.new-ioa' && a.evidence.ioa === 4999)!;
  assert.equal(ioa.severity, 'high');
  assert.equal(ioa.mitre, 'T0855');
});

test('every policy and baseline rule of the catalogue was shown firing', () => {
  const expected = Object.keys(RULES).filter((r) => r.startsWith('policy.') || r.startsWith('baseline.'));
  assert.deepEqual(expected.filter((r) => !covered.has(r)), []);
});
