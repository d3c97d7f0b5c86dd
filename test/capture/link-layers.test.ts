import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes } from '../../src/capture/analyze.js';
import { formatIp, PacketDecoder, parseIp } from '../../src/capture/packet.js';
import { buildTcpPacket, linkTypeOf, SynthSession, type SynthLink, writePcap, writePcapng } from '../../src/capture/writer.js';
import { conversation, describe } from './helpers.js';

const EXPECTED = ['4:U', '5:U', '6:I:100/6/0', '7:I:100/7/0', '7:I:13/3/100,101,102', '8:I:13/3/200,201', '8:I:100/10/0', '9:S'];

function session(link: SynthLink, client = '10.0.0.1', server = '10.0.0.2'): SynthSession {
  const s = new SynthSession({ ip: client, port: 40000 }, { ip: server, port: 2404 }, link).handshake();
  for (const m of conversation()) s.send(m.side, m.bytes);
  return s.fin('client').fin('server');
}

const LINKS: Array<[string, SynthLink]> = [
  ['Ethernet', { type: 'ethernet' }],
  ['802.1Q VLAN', { type: 'ethernet', vlans: [42] }],
  ['802.1ad QinQ', { type: 'ethernet', vlans: [100, 42] }],
  ['Linux SLL', { type: 'sll' }],
  ['Linux SLL2', { type: 'sll2' }],
  ['raw IP', { type: 'raw' }],
  ['BSD null (little-endian family)', { type: 'null' }],
  ['BSD null (big-endian family)', { type: 'null', bigEndian: true }],
  ['OpenBSD LOOP', { type: 'loop' }],
];

for (const [name, link] of LINKS) {
  for (const v6 of [false, true]) {
    test(`${name}, ${v6 ? 'IPv6' : 'IPv4'}: all APDUs with frames and directions`, () => {
      const s = v6 ? session(link, '2001:db8::1', '2001:db8::2') : session(link);
      const bytes = writePcap(s.packets, { linkType: linkTypeOf(link) });
      const r = analyzeBytes(bytes);
      assert.deepEqual(r.records.map(describe), EXPECTED);
      assert.deepEqual(r.issues, []);
      assert.equal(r.records[0].src, v6 ? '[2001:db8::1]:40000' : '10.0.0.1:40000');
      assert.equal(r.records[0].direction, 'master→station');
      assert.equal(r.records[1].direction, 'station→master');
    });
  }
}

test('raw IP under link types 12 and 14, and IPv6 with extension headers', () => {
  for (const lt of [12, 14, 101]) {
    const s = new SynthSession({ ip: '2001:db8::a', port: 5555 }, { ip: '2001:db8::b', port: 2404 }, { type: 'raw' });
    s.handshake();
    for (const m of conversation()) s.send(m.side, m.bytes, 0, { ipv6Ext: 2 });
    const r = analyzeBytes(writePcap(s.packets, { linkType: lt }));
    assert.deepEqual(r.records.map(describe), EXPECTED);
  }
});

test('IPv4 options and Ethernet padding are handled', () => {
  const s = new SynthSession({ ip: '192.168.1.1', port: 1234 }, { ip: '192.168.1.2', port: 2404 });
  s.handshake();
  for (const m of conversation()) s.send(m.side, m.bytes, 0, { ipOptions: Uint8Array.from([1, 1, 1, 0]), trailer: Uint8Array.from([0, 0, 0, 0, 0, 0]) });
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map(describe), EXPECTED);
  assert.deepEqual(r.issues, []);
});

test('pcapng with two interfaces (Ethernet and SLL) carrying two sessions', () => {
  const a = session({ type: 'ethernet' });
  const b = new SynthSession({ ip: '10.1.0.1', port: 40001 }, { ip: '10.1.0.2', port: 2404 }, { type: 'sll' }, { interfaceId: 1, startSec: 1700000000 });
  b.handshake().send('client', conversation()[0].bytes).send('server', conversation()[1].bytes);
  const merged = [...a.packets, ...b.packets].sort((x, y) => (x.tsSec! - y.tsSec!) || (x.tsNsec! - y.tsNsec!));
  const bytes = writePcapng(merged, { interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 9 }] });
  const r = analyzeBytes(bytes);
  assert.equal(r.summary.flows.length, 2);
  assert.equal(r.records.length, EXPECTED.length + 2);
  const fromB = r.records.filter((x) => x.flow === 1);
  assert.deepEqual(fromB.map((x) => x.apdu?.apci.format), ['U', 'U']);
  assert.match(fromB[0].ts, /\.\d{9}Z$/, 'ns interface keeps 9 digits');
  assert.match(r.records.find((x) => x.flow === 0)!.ts, /\.\d{6}Z$/);
});

test('a lone IPv4 fragment is held, then reported incomplete at the end (reassembly: ip-fragments.test.ts)', () => {
  const p = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2404, seq: 1, payload: Uint8Array.from([0x68, 4, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0]) });
  p[14 + 6] = 0x20; // MF
  const r = analyzeBytes(writePcap([{ data: p }]));
  assert.equal(r.records.length, 0);
  assert.deepEqual(r.issues.map((i) => [i.code, i.frame]), [['W_IP_FRAGMENT_TIMEOUT', 1]]);
  assert.equal(r.summary.ipFragments, 1);
});

test('truncated headers are reported with the frame', () => {
  const p = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2404, seq: 1 });
  const r = analyzeBytes(writePcap([{ data: p.subarray(0, 30) }, { data: p.subarray(0, 40) }, { data: p }]));
  assert.deepEqual(r.issues.map((i) => [i.code, i.frame]), [['E_PKT_TRUNCATED', 1], ['E_PKT_TRUNCATED', 2]]);
  assert.equal(r.summary.tcpSegments, 1);
});

test('decoder: non-IP and non-TCP are skipped quietly', () => {
  const d = new PacketDecoder();
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.equal(d.decode(1, arp), 'not-ip');
  const udp = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, seq: 0 });
  udp[14 + 9] = 17;
  assert.equal(d.decode(1, udp), 'not-tcp');
  assert.equal(d.decode(999, udp), 'linktype');
});

test('formatIp / parseIp round trip, RFC 5952 compression', () => {
  for (const s of ['10.0.0.1', '2001:db8::1', '::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1', '::']) assert.equal(formatIp(parseIp(s)!), s);
  assert.equal(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001')!), '2001:db8::1');
  assert.equal(parseIp('1.2.3.256'), undefined);
  assert.equal(parseIp('1::2::3'), undefined);
});
