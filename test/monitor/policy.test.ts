/**
 * Policy validation and enforcement; baseline learn -> YAML -> parse -> enforce round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import {
  PolicyError, RULES, baselineToYaml, inferPolicy, learnBaseline, monitorTraffic, parseBaselineYaml, parsePolicy, parseAddressMatch,
  formatRanges, parseRangeList, certificateSubjectMatches, parseDistinguishedName, type Alert, type MonitorResult, agreedPeriod,
} from '../../src/monitor/index.js';
import { Capture, Conversation, T0, idle, normalSession, rulesOf, show } from './helpers.js';

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

test('learn: an interrogation repeated 10 ms later (a retry) is not a period; the same capture raises no baseline.period-change', () => {
  const cap = new Capture();
  const c = new Conversation(cap);
  c.startdt();
  c.gi();
  cap.wait(10);
  c.gi(); // retry
  c.spont();
  idle(c, cap.t + 300000); // five quiet minutes with TESTFR
  const b = learnBaseline(cap.items);
  assert.deepEqual(b.stations['10.0.0.2:2404'].periods, {});
  const r = monitorTraffic(cap.items, { policy: parseBaselineYaml(baselineToYaml(b)) });
  assert.ok(!r.alerts.some((a) => a.rule === 'baseline.period-change'), show(r.alerts));
});

test('learn: a period needs several agreeing intervals; retries among periodic interrogations are left out', () => {
  assert.equal(agreedPeriod([]), undefined);
  assert.equal(agreedPeriod([10]), undefined);
  assert.equal(agreedPeriod([60000, 60010]), undefined, 'two intervals are not enough');
  assert.equal(agreedPeriod([60000, 10, 59990, 60010]), 60000);
  assert.equal(agreedPeriod([10, 12, 11, 60000]), 11, 'a group needs to agree, whatever its size');
  assert.equal(agreedPeriod([10, 60000, 12, 600000, 11, 30000, 900000, 5]), undefined, 'no group holds half of the intervals');
  // a capture: GI every 60 s, one retried 10 ms after it was sent
  const cap = new Capture();
  const c = new Conversation(cap);
  c.startdt();
  let next = cap.t + 60000;
  c.gi();
  for (let k = 0; k < 4; k++) {
    idle(c, next);
    next += 60000;
    c.gi();
    if (k === 1) {
      cap.wait(10);
      c.gi();
    }
  }
  const b = learnBaseline(cap.items);
  const gi = b.stations['10.0.0.2:2404'].periods.interrogationMs!;
  assert.ok(Math.abs(gi - 60000) < 100, `learned ${gi} ms`);
});

test('learn writes YAML without anchors and with ISO 8601 UTC times', () => {
  const { yaml } = learnedSession();
  assert.doesNotMatch(yaml, /(^|[\s:[,-])[&*][A-Za-z0-9]/m, 'no YAML anchors or aliases');
  const doc = parseYaml(yaml) as { baseline: { learned: { start: unknown; end: unknown } } };
  assert.match(String(doc.baseline.learned.start), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(String(doc.baseline.learned.end), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const start = Date.parse(String(doc.baseline.learned.start));
  assert.ok(start >= T0 && start < T0 + 60000 && start <= Date.parse(String(doc.baseline.learned.end)), String(doc.baseline.learned.start));
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

// ---------------------------------------------------------------------------------------------
// certificate subjects

test('distinguished names: separators, multi-valued RDNs, escapes, quotes, attribute aliases, malformed text', () => {
  const node = 'C=DE\nO=Utility\\, Inc.\nOU=a + OU=b\nCN=scada-a'; // Node's X509Certificate.subject
  assert.deepEqual(parseDistinguishedName(node), [
    { type: 'C', value: 'DE' }, { type: 'O', value: 'Utility, Inc.' }, { type: 'OU', value: 'a' }, { type: 'OU', value: 'b' }, { type: 'CN', value: 'scada-a' },
  ]);
  assert.deepEqual(parseDistinguishedName(node.replace(/\n/g, ', ')), parseDistinguishedName(node), 'PeerCertificateInfo.subject form');
  assert.deepEqual(parseDistinguishedName('commonName=x; 2.5.4.10=y;emailAddress=a@b'), [{ type: 'CN', value: 'x' }, { type: 'O', value: 'y' }, { type: 'emailAddress', value: 'a@b' }]);
  assert.deepEqual(parseDistinguishedName('CN=Zo\\C3\\AB, O="A, B + C", 1.2.3.4=z'), [{ type: 'CN', value: 'Zoë' }, { type: 'O', value: 'A, B + C' }, { type: '1.2.3.4', value: 'z' }]);
  assert.deepEqual(parseDistinguishedName('CN=a\\+b\\\\c'), [{ type: 'CN', value: 'a+b\\c' }]);
  for (const bad of ['', 'scada-a', 'CN=a,', '=a', 'CN=a, b', '/CN=a/O=b', 'CN="open', 'CN=a\\']) assert.equal(parseDistinguishedName(bad), undefined, JSON.stringify(bad));
});

test('certificate subject matching is on the set of attributes, not the text', () => {
  const m = certificateSubjectMatches;
  // an entry naming CN only matches whatever else the subject carries
  assert.ok(m('CN=scada-a', 'C=DE\nO=X\nCN=scada-a'));
  assert.ok(m('CN=scada-a', 'CN=scada-a, O=iec104 test PKI'));
  // order, separators, case, spacing and attribute name aliases do not matter
  assert.ok(m('O=X, CN=scada-a', 'CN=scada-a\nO=X\nC=DE'));
  assert.ok(m('commonName = SCADA-A ; o=x', 'C=DE, O=X, CN=scada-a'));
  assert.ok(m('CN=scada   a', 'CN=Scada a'));
  assert.ok(m('OU=b+OU=a', 'OU=a\nOU=b\nCN=z'));
  // every attribute of the entry must be there, with its whole value
  assert.ok(!m('O=X, CN=scada-a', 'CN=scada-a, O=Y'));
  assert.ok(!m('CN=scada-a', 'CN=scada-a2, O=X'));
  assert.ok(!m('CN=scada', 'CN=scada-a'));
  assert.ok(!m('OU=a, OU=b', 'OU=a, CN=z'));
  assert.ok(!m('CN=scada-a', 'CN=other, OU=CN\\=scada-a'), 'no substring matching');
  assert.ok(!m('CN=scada-a', 'O=X'));
  // escapes are resolved on both sides
  assert.ok(m('O=Utility\\, Inc.', 'CN=a\nO=Utility\\2C Inc.'));
  assert.ok(!m('O=Utility', 'CN=a\nO=Utility\\, Inc.'));
  // what is not a distinguished name matches nothing
  assert.ok(!m('scada-a', 'CN=scada-a'));
  assert.ok(!m('CN=scada-a', ''));
});

test('certificateSubjects are validated as distinguished names, with their path', () => {
  const issues = issuesOf(`
masters:
  - addresses: [10.0.0.1]
    certificateSubjects: ["CN=ok", scada-a, 5]
  - addresses: [10.0.0.2]
    certificateSubjects: CN=x
`);
  assert.deepEqual(issues.map((i) => i.path), ['masters[0].certificateSubjects[1]', 'masters[0].certificateSubjects[2]', 'masters[1].certificateSubjects']);
  assert.match(issues[0].message, /distinguished name like CN=scada-a/);
  assert.deepEqual(parsePolicy('masters:\n  - addresses: [10.0.0.1]\n    certificateSubjects: ["C=DE, O=X, CN=scada-a"]\n').masters[0].certificateSubjects, ['C=DE, O=X, CN=scada-a']);
});

const SUBJECT_POLICY = parsePolicy(`
version: 1
masters:
  - name: scada
    addresses: [10.0.0.0/24]
    certificateSubjects: ["CN=scada-a, O=Utility", "CN=scada-b"]
    allow:
      - types: [C_SC_NA_1, C_DC_NA_1]
        ca: 1
        ioa: [4100-4199]
      - types: [system]
  - name: engineering
    addresses: [10.0.0.0/24]
    certificateSubjects: ["CN=eng"]
    allow:
      - types: [C_SE_NC_1]
        ioa: 6000
  - name: hmi
    addresses: [10.0.5.1]
    allow:
      - types: [C_IC_NA_1]
`);

/** A connection from `master` (default 10.0.0.1) with `peerSubject`: STARTDT, GI, two allowed commands. */
function subjectSession(cap: Capture, peerSubject: string | null | undefined, master = '10.0.0.1:40001'): Conversation {
  const c = new Conversation(cap, { master, ...(peerSubject !== undefined ? { peerSubject } : {}) });
  c.startdt();
  c.gi();
  c.command(46, 4150, 2);
  c.command(45, 4101, true);
  return c;
}

test('certificateSubjects: an allowed subject is silent, in any form the front end gives it; several subjects per master', () => {
  const cap = new Capture();
  subjectSession(cap, 'CN=scada-a, O=Utility'); // PeerCertificateInfo.subject
  subjectSession(cap, 'C=DE\nO=Utility\nCN=scada-a', '10.0.0.1:40002'); // X509Certificate.subject, more attributes
  subjectSession(cap, 'CN=scada-b, O=Elsewhere', '10.0.0.7:40003'); // the second entry of the list
  const r = monitorTraffic(cap.items, { policy: SUBJECT_POLICY });
  assert.deepEqual(rulesOf(r.alerts).filter((x) => x.startsWith('policy.')), [], show(r.alerts));
});

test('policy.certificate-subject: a subject not in the list alerts once per flow; each command is not allowed', () => {
  const cap = new Capture();
  const c = subjectSession(cap, 'CN=scada-c, O=Utility'); // same CA, other subject
  c.command(45, 4102, true);
  subjectSession(cap, 'CN=scada-a, O=Other', '10.0.0.1:40002'); // CN right, O wrong
  const r = monitorTraffic(cap.items, { policy: SUBJECT_POLICY });
  const subj = r.alerts.filter((a) => a.rule === 'policy.certificate-subject');
  assert.equal(subj.length, 2, show(r.alerts));
  const a = fires(r, 'policy.certificate-subject');
  assert.equal(a.mitre, 'T0859');
  assert.equal(a.src, '10.0.0.1:40001');
  assert.equal(a.frame, 1, 'raised on the first master→station APDU (STARTDT act)');
  assert.equal(a.evidence.peerSubject, 'CN=scada-c, O=Utility');
  assert.deepEqual(a.evidence.masters, ['scada', 'engineering']);
  assert.deepEqual(a.evidence.allowedSubjects, ['CN=scada-a, O=Utility', 'CN=scada-b', 'CN=eng']);
  assert.equal(subj[1].evidence.peerSubject, 'CN=scada-a, O=Other');
  const cmds = r.alerts.filter((x) => x.rule === 'policy.command-not-allowed' && x.evidence.flow === a.evidence.flow);
  assert.deepEqual(cmds.map((x) => x.evidence.typeId), [100, 46, 45, 45], 'the GI and each of the three commands');
  assert.ok(cmds.every((x) => x.evidence.reason === 'certificate subject not allowed' && x.evidence.peerSubject === 'CN=scada-c, O=Utility'), show(cmds));
  assert.ok(cmds.some((x) => x.evidence.typeId === 100), 'interrogation too');
});

test('policy.certificate-subject: no verified certificate (null) when subjects are required is a violation', () => {
  const cap = new Capture();
  subjectSession(cap, null);
  const r = monitorTraffic(cap.items, { policy: SUBJECT_POLICY });
  const subj = r.alerts.filter((a) => a.rule === 'policy.certificate-subject');
  assert.equal(subj.length, 1, show(r.alerts));
  assert.equal(subj[0].evidence.peerSubject, null);
  assert.match(subj[0].message, /without a verified client certificate/);
  assert.ok(r.alerts.some((a) => a.rule === 'policy.command-not-allowed' && a.evidence.reason === 'certificate subject not allowed'), show(r.alerts));
});

test('certificateSubjects select which master entry applies: a subject gets the allow rules of its own entry only', () => {
  const cap = new Capture();
  const eng = new Conversation(cap, { peerSubject: 'CN=eng, O=Utility' });
  eng.startdt();
  eng.setpoint(6000, 12.5); // allowed for engineering
  eng.command(45, 4101, true); // allowed for scada, not for engineering
  const r = monitorTraffic(cap.items, { policy: SUBJECT_POLICY });
  assert.ok(!r.alerts.some((a) => a.rule === 'policy.certificate-subject'), show(r.alerts));
  const na = r.alerts.filter((a) => a.rule.startsWith('policy.'));
  assert.ok(na.length > 0 && na.every((a) => a.rule === 'policy.command-not-allowed' && a.evidence.typeId === 45), show(na));
  assert.deepEqual(na[0].evidence.masters, ['engineering']);
  // a master entry without certificateSubjects accepts any subject (or none)
  const cap2 = new Capture();
  const hmi = new Conversation(cap2, { master: '10.0.5.1:40000', peerSubject: 'CN=anything' });
  hmi.startdt();
  hmi.gi();
  const hmi2 = new Conversation(cap2, { master: '10.0.5.1:40001', peerSubject: null });
  hmi2.startdt();
  hmi2.gi();
  const r2 = monitorTraffic(cap2.items, { policy: SUBJECT_POLICY });
  assert.deepEqual(rulesOf(r2.alerts).filter((x) => x.startsWith('policy.')), [], show(r2.alerts));
});

test('policy.certificate-unverified: an offline capture carries no subject: one low alert per master host, commands checked by address', () => {
  const cap = new Capture();
  const c = subjectSession(cap, undefined);
  c.command(45, 4300, true); // outside the IOA ranges: still reported as usual
  subjectSession(cap, undefined, '10.0.0.1:40002'); // same host, another flow
  subjectSession(cap, undefined, '10.0.0.9:40003'); // another host
  const r = monitorTraffic(cap.items, { policy: SUBJECT_POLICY });
  const un = r.alerts.filter((a) => a.rule === 'policy.certificate-unverified');
  assert.deepEqual(un.map((a) => a.evidence.master), ['10.0.0.1', '10.0.0.9'], show(r.alerts));
  const a = fires(r, 'policy.certificate-unverified');
  assert.equal(a.mitre, undefined);
  assert.ok(!r.alerts.some((x) => x.rule === 'policy.certificate-subject'), show(r.alerts));
  const policyRules = r.alerts.filter((x) => x.rule.startsWith('policy.') && x.rule !== 'policy.certificate-unverified');
  assert.deepEqual(policyRules.map((x) => [x.rule, x.evidence.ioa]), [['policy.ioa-not-allowed', 4300]], show(policyRules));
  // without certificateSubjects in the policy nothing of this runs
  const plain = monitorTraffic(cap.items, { policy: parsePolicy(POLICY) });
  assert.ok(!plain.alerts.some((x) => x.rule.startsWith('policy.certificate')), show(plain.alerts));
});

test('every policy and baseline rule of the catalogue was shown firing', () => {
  const expected = Object.keys(RULES).filter((r) => r.startsWith('policy.') || r.startsWith('baseline.'));
  assert.deepEqual(expected.filter((r) => !covered.has(r)), []);
});
