/**
 * Every built-in rule (validity, link, behaviour): fires on its attack, silent on normal traffic.
 * The last test checks that every such rule of the catalogue was shown firing here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeApdu, cp56FromDate, type Asdu } from '../../src/index.js';
import { Detector, RULES, monitorTraffic, type Alert, type DetectorOptions, type MonitorResult } from '../../src/monitor/index.js';
import { Capture, Conversation, T0, normalSession, rulesOf, show } from './helpers.js';

const covered = new Set<string>();

function run(build: (cap: Capture) => void, opts: DetectorOptions = {}): MonitorResult {
  const cap = new Capture();
  build(cap);
  return monitorTraffic(cap.items, opts);
}

/** Assert `rule` fired (and return its first alert); records coverage. */
function fires(r: MonitorResult, rule: string): Alert {
  const a = r.alerts.find((x) => x.rule === rule);
  assert.ok(a, `expected ${rule}, got:\n${show(r.alerts)}`);
  assert.equal(a.kind, 'alert');
  assert.ok(RULES[rule], `${rule} is in the catalogue`);
  // a few rules raise their severity with the circumstances; all others use the catalogue's
  if (rule === 'valid.cot-direction') assert.ok(a.severity === 'medium' || a.severity === 'high');
  else assert.equal(a.severity, RULES[rule].severity, rule);
  if (RULES[rule].mitre && a.mitre) assert.match(a.mitre, /^T0\d{3}$/);
  assert.equal(typeof a.evidence.flow, 'string');
  assert.doesNotThrow(() => JSON.stringify(a));
  covered.add(rule);
  return a;
}

/** A session opened and acknowledged, ready for the attack. */
function opened(cap: Capture, opts: ConstructorParameters<typeof Conversation>[1] = {}): Conversation {
  const c = new Conversation(cap, opts);
  c.startdt();
  c.gi();
  return c;
}

/** Patch octet `i` of an encoded APDU. */
function patched(bytes: Uint8Array, i: number, v: number): Uint8Array {
  const b = Uint8Array.from(bytes);
  b[i] = v;
  return b;
}

function iframe(c: Conversation, side: 'm' | 's', asdu: Partial<Asdu> & { typeId: number; cot: number; objects: Asdu['objects'] }): Uint8Array {
  const full: Asdu = { sq: false, negative: false, test: false, originator: 0, ca: c.ca, ...asdu };
  const b = encodeApdu({ apci: { format: 'I', sendSeq: c.ns[side], recvSeq: c.nr[side] }, asdu: full });
  c.ns[side] = (c.ns[side] + 1) & 0x7fff;
  c.nr[side === 'm' ? 's' : 'm'] = (c.nr[side === 'm' ? 's' : 'm'] + 1) & 0x7fff;
  return b;
}

test('a normal session (GI, spontaneous data, SBO commands, set-point, clock sync, TESTFR) raises no alert', () => {
  const r = run((cap) => normalSession(cap));
  assert.deepEqual(rulesOf(r.alerts), [], show(r.alerts));
  assert.ok(r.commands.length >= 8);
});

test('a normal session with explicit directions and two stations raises no alert', () => {
  const r = run((cap) => {
    const a = new Conversation(cap, { station: '10.0.0.2:2404', withDirection: true });
    const b = new Conversation(cap, { station: '10.0.0.3:2404', master: '10.0.0.1:40002', ca: 7 });
    normalSession(cap, a, 1);
    normalSession(cap, b, 1);
  });
  assert.deepEqual(rulesOf(r.alerts), [], show(r.alerts));
  assert.equal(r.inventory.stations.length, 2);
});

test('a capture starting mid-session (no handshake, high sequence numbers) raises no link alert', () => {
  const r = run((cap) => {
    const c = new Conversation(cap);
    c.ns = { m: 1200, s: 30000 };
    c.nr = { m: 30000, s: 1200 };
    c.spont();
    c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1.5, quality: {} }] });
    c.ack('m');
    c.command(45, 4101, true);
    // sequence numbers wrap past 32767
    for (let k = 0; k < 6; k++) c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: k, quality: {} }] });
    c.ack('m');
  });
  assert.deepEqual(rulesOf(r.alerts), [], show(r.alerts));
});

// ---------------------------------------------------------------------------------------------
// validity

test('valid.* decode errors: truncated, start byte, APDU length, control field, ASDU length, IOA overflow', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.raw('s', [0x68, 0x0e, 0, 0, 0, 0, 0x64, 0x01]);
    c.raw('s', [0x69, 0x04, 0x07, 0, 0, 0]);
    c.raw('m', [0x68, 0x02, 0x07, 0]);
    c.raw('m', [0x68, 0x04, 0x0f, 0, 0, 0]);
    const gi = iframe(c, 'm', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] });
    const longer = new Uint8Array(gi.length + 1);
    longer.set(gi);
    longer[1] = gi[1] + 1;
    c.raw('m', longer);
    // SQ=1, two single points starting at IOA 0xFFFFFF
    c.raw('s', [0x68, 0x0f, 0, 0, 0, 0, 0x01, 0x82, 0x14, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0x00, 0x01]);
  });
  for (const rule of ['valid.truncated', 'valid.start-byte', 'valid.apdu-length', 'valid.control-field', 'valid.asdu-length', 'valid.ioa-overflow']) fires(r, rule);
  assert.equal(fires(r, 'valid.start-byte').evidence.code, 'E_START_BYTE');
});

test('valid.* for errors reported by the capture layer: VSQ count, buffer limit, anything else', () => {
  const cap = new Capture();
  const c = opened(cap);
  const base = { src: c.station, dst: c.master, flow: c.flow, raw: new Uint8Array([0x68]) };
  cap.push({ ...base, error: { code: 'E_VSQ_COUNT', offset: 7, field: 'VSQ', message: 'too many objects' } });
  cap.push({ ...base, error: { code: 'E_BUFFER_LIMIT', offset: 0, field: 'stream', message: 'limit' } });
  cap.push({ ...base, error: { code: 'W_TCP_PARTIAL_APDU', offset: 0, field: 'stream', message: 'partial' } });
  const r = monitorTraffic(cap.items);
  fires(r, 'valid.vsq-count');
  fires(r, 'valid.buffer-limit');
  assert.equal(fires(r, 'valid.malformed').evidence.code, 'W_TCP_PARTIAL_APDU');
});

test('valid.* codec warnings: causes, SQ, empty, reserved bits/values, CA 0, time fields, NaN, reserved type, broadcast, IOA 0', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.i('s', { typeId: 1, cot: 7, objects: [{ ioa: 100, value: true, quality: {} }] });
    c.i('s', { typeId: 13, cot: 17, objects: [{ ioa: 200, value: 1, quality: {} }] });
    const t = cp56FromDate(new Date(T0));
    c.i('s', { typeId: 30, cot: 3, sq: true, objects: [{ ioa: 100, value: true, quality: {}, time: t }, { ioa: 101, value: true, quality: {}, time: t }] });
    c.i('s', { typeId: 1, cot: 3, objects: [] });
    c.raw('s', patched(iframe(c, 's', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: true, quality: {} }] }), 15, 0x03));
    c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4101, value: true, select: false, qu: 5 }] });
    c.i('s', { typeId: 1, cot: 3, ca: 0, objects: [{ ioa: 100, value: true, quality: {} }] });
    c.i('s', { typeId: 30, cot: 3, objects: [{ ioa: 100, value: true, quality: {}, time: { ...t, minute: 61 } }] });
    const nan = iframe(c, 's', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1, quality: {} }] });
    nan.set([0x00, 0x00, 0xc0, 0x7f], 15);
    c.raw('s', nan);
    c.i('s', { typeId: 22, cot: 3, objects: [], raw: Uint8Array.from([1, 0, 0, 0]), rawCount: 1 });
    c.i('s', { typeId: 1, cot: 3, ca: 0xffff, objects: [{ ioa: 100, value: true, quality: {} }] });
    c.i('s', { typeId: 1, cot: 3, objects: [{ ioa: 0, value: true, quality: {} }] });
    c.ack('m');
  });
  for (const rule of ['valid.cot-not-allowed', 'valid.cot-reserved', 'valid.sq-not-allowed', 'valid.empty-asdu', 'valid.reserved-bits', 'valid.reserved-value',
    'valid.ca-zero', 'valid.time-field', 'valid.float-not-finite', 'valid.type-reserved', 'valid.broadcast', 'valid.ioa-zero']) fires(r, rule);
  assert.equal(fires(r, 'valid.reserved-value').evidence.field, 'SCO.QU');
});

test('valid.* checks beyond the codec: count, SQ single, direction of causes and types, COI, QPM, file qualifiers, segment, 101-only', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4101, value: true, select: true }, { ioa: 4102, value: true, select: true }] });
    c.i('s', { typeId: 1, cot: 3, sq: true, objects: [{ ioa: 100, value: true, quality: {} }] });
    c.i('s', { typeId: 45, cot: 6, objects: [{ ioa: 4101, value: true, select: false }] });
    c.i('m', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: true, quality: {} }] });
    c.i('s', { typeId: 70, cot: 4, objects: [{ ioa: 0, cause: 5, localChange: false }] });
    c.i('m', { typeId: 111, cot: 6, objects: [{ ioa: 200, value: 10, kpa: 1, lpc: true, pop: false }] });
    c.i('m', { typeId: 124, cot: 13, objects: [{ ioa: 300, file: 1, section: 1, ack: 7, error: 0 }] });
    c.i('s', { typeId: 125, cot: 13, objects: [{ ioa: 300, file: 1, section: 1, segment: new Uint8Array(0) }] });
    c.i('s', { typeId: 2, cot: 3, objects: [{ ioa: 100, value: true, quality: {}, time: { ms: 1000, minute: 5, invalid: false } }] });
    c.ack('m');
  });
  for (const rule of ['valid.count-not-allowed', 'valid.sq-single', 'valid.cot-direction', 'valid.type-direction', 'valid.coi-reserved',
    'valid.qpm-unused', 'valid.file-qualifier', 'valid.segment-length', 'valid.iec101-only']) fires(r, rule);
  const dir = fires(r, 'valid.cot-direction');
  assert.equal(dir.severity, 'high');
  assert.equal(dir.src, '10.0.0.2:2404');
  assert.equal(fires(r, 'valid.type-direction').mitre, 'T0856');
});

// ---------------------------------------------------------------------------------------------
// link rules

test('link.seq-gap, link.seq-duplicate and link.seq-replay', () => {
  const r = run((cap) => {
    const c = opened(cap);
    const frame = iframe(c, 's', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1, quality: {} }] });
    c.raw('s', frame);
    c.raw('s', frame); // duplicate of the last one
    c.ns.s += 3; // three frames never seen
    c.spont();
    c.i('s', { typeId: 1, cot: 3, objects: [{ ioa: 100, value: false, quality: {} }] }, { ns: 1 }); // old N(S), new content
    c.ack('m');
  });
  assert.equal(fires(r, 'link.seq-gap').evidence.missing, 3);
  fires(r, 'link.seq-duplicate');
  const rp = fires(r, 'link.seq-replay');
  assert.equal(rp.evidence.identicalToEarlier, false);
  assert.equal(rp.mitre, 'T0830');
});

test('link.ack-unsent and link.ack-backwards', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.spont();
    c.ack('m', c.nr.m + 5);
    c.ack('m', 1);
  });
  assert.equal(fires(r, 'link.ack-unsent').severity, 'high');
  fires(r, 'link.ack-backwards');
});

test('link.k-exceeded (13 unacknowledged) and link.w-exceeded (10 acknowledged at once)', () => {
  const r = run((cap) => {
    const c = opened(cap);
    for (let k = 0; k < 13; k++) c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: k, quality: {} }] });
    c.ack('m');
  });
  assert.equal(fires(r, 'link.k-exceeded').evidence.outstanding, 13);
  assert.equal(fires(r, 'link.w-exceeded').evidence.acknowledged, 13);
});

test('link.data-before-startdt and link.data-after-stopdt', () => {
  const r = run((cap) => {
    const c = new Conversation(cap);
    c.u('m', 'STARTDT_ACT');
    c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1, quality: {} }] });
    c.u('s', 'STARTDT_CON');
    c.ack('m');
    c.u('m', 'STOPDT_ACT');
    c.u('s', 'STOPDT_CON');
    c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 2, quality: {} }] });
  });
  fires(r, 'link.data-before-startdt');
  fires(r, 'link.data-after-stopdt');
});

test('link.t1-expired: I-frame acknowledged late, I-frame never acknowledged, STARTDT never confirmed', () => {
  const late = run((cap) => {
    const c = opened(cap);
    c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1, quality: {} }] });
    cap.wait(16000);
    c.ack('m');
  });
  const la = fires(late, 'link.t1-expired');
  assert.equal(la.evidence.sendSeq, 4);
  assert.equal(la.ts, la.evidence.sentTs as number + 15000);
  const never = run((cap) => {
    const c = opened(cap);
    c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1, quality: {} }] });
    cap.wait(16000);
    c.testfr();
  });
  assert.equal(fires(never, 'link.t1-expired').evidence.sendSeq, 4);
  const u = run((cap) => {
    const c = new Conversation(cap);
    c.u('m', 'STARTDT_ACT');
    cap.wait(16000);
    c.u('m', 'STARTDT_ACT');
  });
  assert.equal(fires(u, 'link.t1-expired').evidence.uFunction, 'STARTDT_ACT');
});

test('link.unsolicited-con and link.no-keepalive', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.u('s', 'TESTFR_CON');
    cap.wait(40000);
    c.spont();
  });
  fires(r, 'link.unsolicited-con');
  assert.ok((fires(r, 'link.no-keepalive').evidence.silentMs as number) >= 40000);
});

test('link.sbo-order, link.sbo-value-mismatch, link.sbo-execute-without-select', () => {
  const r = run((cap) => {
    const c = opened(cap);
    // execute before the select is confirmed
    c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4101, value: true, select: true }] });
    c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4101, value: true, select: false }] });
    c.i('s', { typeId: 45, cot: 7, objects: [{ ioa: 4101, value: true, select: true }] });
    c.i('s', { typeId: 45, cot: 7, objects: [{ ioa: 4101, value: true, select: false }] });
    c.i('s', { typeId: 45, cot: 10, objects: [{ ioa: 4101, value: true, select: false }] });
    // select ON, execute OFF
    c.i('m', { typeId: 46, cot: 6, objects: [{ ioa: 4102, value: 2, select: true }] });
    c.i('s', { typeId: 46, cot: 7, objects: [{ ioa: 4102, value: 2, select: true }] });
    c.i('m', { typeId: 46, cot: 6, objects: [{ ioa: 4102, value: 1, select: false }] });
    c.ack('m');
    // another connection executes an SBO object directly
    const intruder = new Conversation(cap, { master: '10.0.0.1:40999' });
    intruder.startdt();
    intruder.command(45, 4101, false);
  });
  fires(r, 'link.sbo-order');
  assert.deepEqual([fires(r, 'link.sbo-value-mismatch').evidence.selected, fires(r, 'link.sbo-value-mismatch').evidence.executed], [2, 1]);
  const ex = fires(r, 'link.sbo-execute-without-select');
  assert.equal(ex.evidence.ioa, 4101);
  assert.equal(ex.src, '10.0.0.1:40999');
});

// ---------------------------------------------------------------------------------------------
// behaviour

test('recon.ca-sweep and recon.unknown-ca: interrogation of CA 1..10, answered "unknown CA"', () => {
  const r = run((cap) => {
    const c = opened(cap);
    for (let ca = 2; ca <= 10; ca++) {
      c.i('m', { typeId: 100, cot: 6, ca, objects: [{ ioa: 0, qoi: 20 }] });
      c.i('s', { typeId: 100, cot: 46, ca, negative: true, objects: [{ ioa: 0, qoi: 20 }] });
    }
    c.ack('m');
  });
  assert.equal(fires(r, 'recon.ca-sweep').mitre, 'T0846');
  fires(r, 'recon.unknown-ca');
});

test('recon.station-sweep: one host opens 11 stations', () => {
  const r = run((cap) => {
    for (let k = 0; k < 11; k++) new Conversation(cap, { master: `10.0.0.66:${41000 + k}`, station: `10.0.1.${k + 1}:2404` }).startdt();
  });
  assert.equal((fires(r, 'recon.station-sweep').evidence.stations as string[]).length, 11);
});

test('recon.ioa-sweep and flood.read', () => {
  const sweep = run((cap) => {
    const c = opened(cap);
    for (let ioa = 1; ioa <= 21; ioa++) {
      c.i('m', { typeId: 102, cot: 5, objects: [{ ioa }] });
      c.i('s', { typeId: 1, cot: 5, objects: [{ ioa, value: true, quality: {} }] });
    }
    c.ack('m');
  });
  assert.equal(fires(sweep, 'recon.ioa-sweep').mitre, 'T0861');
  assert.ok(!rulesOf(sweep.alerts).includes('flood.read'));
  const flood = run((cap) => {
    const c = opened(cap);
    for (let k = 0; k < 51; k++) {
      c.i('m', { typeId: 102, cot: 5, objects: [{ ioa: 100 }] });
      c.i('s', { typeId: 1, cot: 5, objects: [{ ioa: 100, value: true, quality: {} }] });
      if (k % 4 === 3) c.ack('m');
    }
  });
  fires(flood, 'flood.read');
  assert.ok(!rulesOf(flood.alerts).includes('recon.ioa-sweep'));
});

test('cmd.burst (21 commands in 10 s) without brute force or toggling', () => {
  const r = run((cap) => {
    const c = opened(cap);
    for (let k = 0; k < 21; k++) c.command(45, 4101, true);
  });
  fires(r, 'cmd.burst');
  assert.ok(!rulesOf(r.alerts).includes('cmd.toggle'));
  assert.ok(!rulesOf(r.alerts).includes('cmd.ioa-bruteforce'));
});

test('cmd.ioa-bruteforce: commands to 11 different IOAs', () => {
  const r = run((cap) => {
    const c = opened(cap);
    for (let k = 0; k < 11; k++) c.command(45, 5000 + k, true, 1, 'negative');
  });
  assert.equal((fires(r, 'cmd.ioa-bruteforce').evidence.objects as string[]).length, 11);
  fires(r, 'cmd.negative-storm');
});

test('cmd.toggle: breaker switched ON/OFF five times in a minute', () => {
  const r = run((cap) => {
    const c = opened(cap);
    for (let k = 0; k < 6; k++) {
      c.sbo(46, 4102, k % 2 === 0 ? 2 : 1);
      cap.wait(5000);
    }
  });
  const a = fires(r, 'cmd.toggle');
  assert.equal(a.severity, 'critical');
  assert.equal(a.evidence.ioa, 4102);
});

test('cmd.invalid-cause supersedes the generic cause alerts; cmd.broadcast', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.i('m', { typeId: 45, cot: 3, objects: [{ ioa: 4101, value: true, select: false }] });
    c.i('m', { typeId: 45, cot: 6, ca: 0xffff, objects: [{ ioa: 4101, value: true, select: false }] });
  });
  fires(r, 'cmd.invalid-cause');
  fires(r, 'cmd.broadcast');
  const rules = rulesOf(r.alerts);
  assert.ok(!rules.includes('valid.cot-not-allowed') && !rules.includes('valid.broadcast'), show(r.alerts));
});

test('flood.gi, flood.testfr, flood.startdt', () => {
  const r = run((cap) => {
    const c = opened(cap);
    for (let k = 0; k < 6; k++) {
      c.gi();
      cap.wait(1000);
    }
    for (let k = 0; k < 11; k++) c.testfr();
    for (let k = 0; k < 6; k++) new Conversation(cap, { master: `10.0.0.1:${42000 + k}` }).startdt();
  });
  fires(r, 'flood.gi');
  fires(r, 'flood.testfr');
  fires(r, 'flood.startdt');
});

test('sys.reset-process and sys.clock-sync-unexpected from new sources or stations; silent from the known master', () => {
  const r = run((cap) => {
    const known = opened(cap);
    known.i('m', { typeId: 105, cot: 6, objects: [{ ioa: 0, qrp: 1 }] });
    known.clockSync();
    const stranger = new Conversation(cap, { master: '192.168.7.7:5555' });
    stranger.i('m', { typeId: 105, cot: 6, objects: [{ ioa: 0, qrp: 1 }] });
    // the station host 10.0.0.2 acting as a master of another station
    const pivot = new Conversation(cap, { master: '10.0.0.2:45000', station: '10.0.0.9:2404' });
    pivot.clockSync();
  });
  const reset = r.alerts.filter((a) => a.rule === 'sys.reset-process');
  assert.equal(reset.length, 1, show(r.alerts));
  assert.equal(reset[0].src, '192.168.7.7:5555');
  fires(r, 'sys.reset-process');
  const cs = r.alerts.filter((a) => a.rule === 'sys.clock-sync-unexpected');
  assert.equal(cs.length, 1, show(r.alerts));
  assert.equal(cs[0].evidence.reason, 'a host seen only as a station');
  fires(r, 'sys.clock-sync-unexpected');
});

test('sys.restart (T0816) on a reset process from the known master; param.change (T0836) and param.deactivation (T0878)', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.i('m', { typeId: 105, cot: 6, objects: [{ ioa: 0, qrp: 1 }] });
    c.i('m', { typeId: 112, cot: 6, objects: [{ ioa: 3001, value: 250.5, kpa: 3, lpc: false, pop: false }] });
    c.i('m', { typeId: 113, cot: 8, objects: [{ ioa: 3001, qpa: 3 }] });
  });
  assert.equal(fires(r, 'sys.restart').mitre, 'T0816');
  assert.ok(!rulesOf(r.alerts).includes('sys.reset-process'), show(r.alerts));
  const p = fires(r, 'param.change');
  assert.equal(p.mitre, 'T0836');
  assert.equal(p.evidence.ioa, 3001);
  assert.equal(p.evidence.value, 250.5);
  const d = fires(r, 'param.deactivation');
  assert.equal(d.mitre, 'T0878');
  assert.equal(d.evidence.qpa, 3);
});

test('disabled rules are silenced by id or prefix', () => {
  const r = run((cap) => {
    const c = opened(cap);
    c.i('m', { typeId: 45, cot: 3, objects: [{ ioa: 4101, value: true, select: false }] });
    c.u('s', 'TESTFR_CON');
  }, { disabled: ['cmd.invalid-cause', 'link.'] });
  assert.ok(!rulesOf(r.alerts).some((x) => x === 'cmd.invalid-cause' || x.startsWith('link.')), show(r.alerts));
  assert.ok(rulesOf(r.alerts).includes('valid.cot-not-allowed'));
});

test('stream anomalies of the capture layer: stream.desync (high) and stream.out-of-window (medium), silenced like any rule', () => {
  const d = new Detector();
  const base = { message: 'segment at seq 1 …', frame: 7, ts: T0, src: '10.0.0.1:40000', dst: '10.0.0.2:2404', flow: '0' };
  const desync = d.streamAnomaly({ ...base, code: 'E_TCP_DESYNC' });
  const oow = d.streamAnomaly({ ...base, code: 'W_TCP_OUT_OF_WINDOW' });
  const r = { alerts: [...desync, ...oow] } as MonitorResult;
  assert.equal(fires(r, 'stream.desync').mitre, 'T0830');
  assert.equal(fires(r, 'stream.out-of-window').evidence.code, 'W_TCP_OUT_OF_WINDOW');
  assert.deepEqual(d.alertCounts(), { 'stream.desync': 1, 'stream.out-of-window': 1 });
  assert.deepEqual(new Detector({ disabled: ['stream.'] }).streamAnomaly({ ...base, code: 'E_TCP_DESYNC' }), []);
});

test('session.keepalive-only: a started connection with nothing but TESTFR for 12 minutes', () => {
  const r = run((cap) => {
    const c = new Conversation(cap).startdt();
    for (let k = 0; k < 36; k++) {
      cap.wait(20000);
      c.testfr();
    }
  });
  const a = fires(r, 'session.keepalive-only');
  assert.equal(a.severity, 'medium');
  assert.equal(a.mitre, 'T0869');
  assert.equal(r.alerts.filter((x) => x.rule === 'session.keepalive-only').length, 1);
});

test('every validity, link and behaviour rule of the catalogue was shown firing', () => {
  const expected = Object.keys(RULES).filter((r) => !r.startsWith('policy.') && !r.startsWith('baseline.'));
  const missing = expected.filter((r) => !covered.has(r));
  assert.deepEqual(missing, []);
});
