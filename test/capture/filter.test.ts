import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture } from '../helpers/captures.js';
import { analyzeBytes } from '../../src/capture/analyze.js';
import { compileFilter, FilterSyntaxError, FILTER_FIELDS } from '../../src/capture/filter.js';
import { SynthSession, writePcap } from '../../src/capture/writer.js';
import { conversation } from './helpers.js';

const fk = analyzeBytes(readCapture('fkie_epf_iec104.pcap')).records;
const frames = (expr: string): number => new Set(fk.filter(compileFilter(expr)).map((r) => r.frame)).size;
const apdus = (expr: string): number => fk.filter(compileFilter(expr)).length;

test('frame counts equal tshark -Y on fkie_epf_iec104.pcap (any-value semantics)', () => {
  // tshark 4.0.17: tshark -r fkie_epf_iec104.pcap -Y EXPR | wc -l
  assert.equal(frames('iec60870_104'), 64);
  assert.equal(frames('iec60870_asdu.typeid == 1'), 3);
  assert.equal(frames('iec60870_asdu.typeid == M_SP_NA_1'), 3);
  assert.equal(frames('iec60870_104.type == 1'), 14);
  assert.equal(frames('iec60870_asdu.ioa in {1,2}'), 15); // tshark 4.0 needs commas ({1 2} means something else there)
  assert.equal(frames('iec60870_asdu.ioa == 1 || iec60870_asdu.ioa == 2'), 15);
  assert.equal(frames('iec60870_asdu.ioa > 10 && iec60870_asdu.ioa < 12'), 3);
  assert.equal(frames('iec60870_asdu.ioa > 10'), 18);
  assert.equal(frames('iec60870_asdu.nega == 0'), 40);
  assert.equal(frames('iec60870_asdu.nega == False'), 40);
  assert.equal(frames('ip.addr == 10.20.100.0/24'), 64);
});

test('per-APDU semantics of the operators', () => {
  assert.equal(apdus('iec60870_104.type == 0'), 91);
  assert.equal(apdus('iec60870_104.type == S'), 14);
  assert.equal(apdus('iec60870_104.type eq 3'), 10);
  assert.equal(apdus('iec60870_asdu.typeid != 1'), 88, '!= : present and not equal; S/U frames have no typeid');
  assert.equal(apdus('!(iec60870_asdu.typeid == 1)'), 112);
  assert.equal(apdus('iec60870_104.utype == STARTDT_ACT'), 1);
  assert.equal(apdus('iec60870_104.utype == 0x10 || iec60870_104.utype == 0x20'), 8);
  assert.equal(apdus('iec60870_asdu.causetx == actcon and iec60870_asdu.typeid >= 45 and iec60870_asdu.typeid <= 51'), 14);
  assert.equal(apdus('iec60870_asdu.typeid in {45, 46 47}'), 18);
  assert.equal(apdus('tcp.srcport == 2404'), apdus('ip.src == 10.20.100.108'));
  assert.equal(apdus('tcp.port == 2404'), 115);
  assert.equal(apdus('tcp.dstport == 2404 && not iec60870_104.type == 1'), fk.filter((r) => r.to.port === 2404 && r.apdu?.apci.format !== 'S').length);
  assert.equal(apdus('tcp.dstport == 2404 && not iec60870_104.type == 1'), 21);
  assert.equal(apdus('frame.number <= 5'), 2);
  assert.equal(apdus('frame.number > 5 && frame.number < 9'), 2);
  assert.equal(apdus('iec60870_asdu.addr == 10 && iec60870_asdu.oa == 0 && iec60870_asdu.test == 0'), 91);
  assert.equal(apdus('iec60870_asdu.sq == 1'), 0);
  assert.equal(apdus('iec60870_asdu.numix == 4'), fk.filter((r) => r.apdu?.asdu?.objects.length === 4).length);
  assert.equal(apdus('iec60870_asdu.numix == 4 && iec60870_asdu.ioa == 4 && iec60870_asdu.ioa == 1'), 14);
  assert.equal(apdus('iec60870_104.tx == 0'), 2);
  assert.equal(apdus('ip.src == 10.20.102.1 and (iec60870_104.type == 1 or iec60870_104.type == 3)'), 9 + 5, 'master: 9 S-frames, 5 U-frames');
  assert.equal(apdus('ip.src == 10.20.102.1 and iec60870_104.type == 1 or iec60870_104.type == 3'), 9 + 10, 'and binds tighter than or');
});

test('IPv6 addresses and prefixes', () => {
  const s = new SynthSession({ ip: '2001:db8::1', port: 40000 }, { ip: '2001:db8:1::2', port: 2404 }).handshake();
  for (const m of conversation()) s.send(m.side, m.bytes);
  const recs = analyzeBytes(writePcap(s.packets)).records;
  const n = (e: string): number => recs.filter(compileFilter(e)).length;
  assert.equal(n('ipv6.src == 2001:db8::1'), 3);
  assert.equal(n('ipv6.addr == 2001:db8:1::/48'), 8);
  assert.equal(n('ipv6.dst == 2001:db8::/48'), 5);
  assert.equal(n('ip.addr == 10.0.0.0/8'), 0);
});

test('syntax errors carry the column', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['iec60870_asdu.typeid ==', 24, /value expected/],
    ['foo.bar == 1', 1, /unknown field/],
    ['iec60870_asdu.typeid == 1 &&', 29, /expression expected/],
    ['(tcp.port == 1', 15, /'\)' expected/],
    ['ip.src == 1.2.3', 11, /not an IP address/],
    ['ip.src == 10.0.0.0/33', 11, /prefix/],
    ['iec60870_asdu.nega == 2', 23, /boolean/],
    ['tcp.port == 1 2', 15, /unexpected '2'/],
    ['tcp.port in 1', 13, /'\{' expected/],
    ['tcp.port in {}', 10, /empty set/],
    ['tcp.port == $', 13, /unexpected character/],
    ['', 1, /empty/],
    ['iec60870_asdu.typeid == NOPE', 25, /not a valid value/],
  ];
  for (const [e, col, re] of cases) {
    assert.throws(() => compileFilter(e), (err: unknown) => err instanceof FilterSyntaxError && err.column === col && re.test(err.message), e);
  }
});

test('every listed field compiles', () => {
  for (const f of FILTER_FIELDS) assert.equal(typeof compileFilter(f), 'function');
  assert.ok(FILTER_FIELDS.includes('iec60870_asdu.ioa'));
});
