import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureReader, formatPacketTime } from '../../src/capture/reader.js';
import type { CaptureIssue } from '../../src/capture/issues.js';
import { writePcap, writePcapng, type PacketToWrite, concatBytes } from '../../src/capture/writer.js';
import { analyzeBytes } from '../../src/capture/analyze.js';

interface Seen {
  frame: number;
  ts: string;
  link: number;
  iface: number;
  data: number[];
  fileOffset: number;
}

function read(bytes: Uint8Array, chunk = 0): { pkts: Seen[]; issues: CaptureIssue[]; format: string | undefined } {
  const pkts: Seen[] = [];
  const issues: CaptureIssue[] = [];
  const r = new CaptureReader({
    packet: (p) => pkts.push({ frame: p.frame, ts: formatPacketTime(p), link: p.linkType, iface: p.interfaceId, data: [...p.data], fileOffset: p.fileOffset }),
    issue: (i) => issues.push(i),
  });
  if (chunk > 0) for (let i = 0; i < bytes.length; i += chunk) r.push(bytes.subarray(i, i + chunk));
  else r.push(bytes);
  r.end();
  return { pkts, issues, format: r.format };
}

const P: PacketToWrite[] = [
  { data: Uint8Array.from([1, 2, 3]), tsSec: 1700000000, tsNsec: 123456789 },
  { data: Uint8Array.from([4, 5, 6, 7, 8]), tsSec: 1700000001, tsNsec: 1000 },
  { data: new Uint8Array(300).fill(9), tsSec: 1700000002, tsNsec: 999999999 },
];

test('pcap: little- and big-endian, µs and ns magic', () => {
  for (const bigEndian of [false, true]) {
    for (const nanos of [false, true]) {
      const { pkts, issues, format } = read(writePcap(P, { bigEndian, nanos, linkType: 101 }));
      assert.equal(format, 'pcap');
      assert.deepEqual(issues, []);
      assert.deepEqual(pkts.map((p) => p.frame), [1, 2, 3]);
      assert.deepEqual(pkts[1].data, [4, 5, 6, 7, 8]);
      assert.equal(pkts[0].link, 101);
      assert.equal(pkts[0].ts, nanos ? '2023-11-14T22:13:20.123456789Z' : '2023-11-14T22:13:20.123456Z');
      assert.equal(pkts[2].ts, nanos ? '2023-11-14T22:13:22.999999999Z' : '2023-11-14T22:13:22.999999Z');
      assert.equal(pkts[0].fileOffset, 24);
    }
  }
});

test('pcapng: two interfaces with their own link types and resolutions, both byte orders', () => {
  for (const bigEndian of [false, true]) {
    const bytes = writePcapng(
      [
        { ...P[0], interfaceId: 0 },
        { ...P[1], interfaceId: 1 },
        { ...P[2], interfaceId: 2 },
      ],
      { bigEndian, unknownBlock: true, interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 9 }, { linkType: 276, tsresol: 0x80 | 20 }] },
    );
    const { pkts, issues, format } = read(bytes);
    assert.equal(format, 'pcapng');
    assert.deepEqual(issues, []);
    assert.deepEqual(pkts.map((p) => [p.frame, p.link, p.iface]), [[1, 1, 0], [2, 113, 1], [3, 276, 2]]);
    assert.equal(pkts[0].ts, '2023-11-14T22:13:20.123456Z');
    assert.equal(pkts[1].ts, '2023-11-14T22:13:21.000001000Z');
    // 2^-20 s resolution: shown with 9 digits, within one unit (~954 ns)
    const frac = Number(pkts[2].ts.slice(20, 29));
    assert.ok(Math.abs(frac - 999999999) < 1000, pkts[2].ts);
    assert.deepEqual(pkts[2].data.length, 300);
  }
});

test('pcapng: simple packet blocks take interface 0 and have no timestamp', () => {
  const { pkts, issues } = read(writePcapng(P, { simple: true, interfaces: [{ linkType: 101 }] }));
  assert.deepEqual(issues, []);
  assert.equal(pkts.length, 3);
  assert.deepEqual(pkts[1].data, [4, 5, 6, 7, 8]);
  assert.equal(pkts[0].ts, '1970-01-01T00:00:00Z');
});

test('pcapng: packet for an undescribed interface is reported, frame still counted', () => {
  const bytes = writePcapng([P[0], { ...P[1], interfaceId: 5 }, P[2]]);
  const { pkts, issues } = read(bytes);
  assert.deepEqual(pkts.map((p) => p.frame), [1, 3]);
  assert.equal(issues.length, 1);
  assert.equal(issues[0].code, 'E_CAP_INTERFACE');
  assert.equal(issues[0].frame, 2);
});

test('1-octet chunks give the same packets as one buffer (pcap and pcapng)', () => {
  for (const bytes of [writePcap(P), writePcap(P, { bigEndian: true, nanos: true }), writePcapng(P, { interfaces: [{ linkType: 1, tsresol: 9 }] })]) {
    const whole = read(bytes);
    assert.deepEqual(read(bytes, 1), whole);
    assert.deepEqual(read(bytes, 5), whole);
  }
});

test('truncated file: earlier packets delivered, then a located E_CAP_TRUNCATED', () => {
  const full = writePcap(P);
  const cut = full.subarray(0, full.length - 100);
  for (const chunk of [0, 1, 64]) {
    const { pkts, issues } = read(cut, chunk);
    assert.deepEqual(pkts.map((p) => p.frame), [1, 2]);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].code, 'E_CAP_TRUNCATED');
    assert.equal(issues[0].record, 3);
    assert.equal(issues[0].fileOffset, 24 + 16 + 3 + 16 + 5);
  }
  const ng = writePcapng(P);
  const r = read(ng.subarray(0, ng.length - 10));
  assert.equal(r.pkts.length, 2);
  assert.equal(r.issues[0].code, 'E_CAP_TRUNCATED');
});

test('pcap: impossible record length is reported and the reader resynchronises', () => {
  const good = writePcap(P);
  const bad = good.slice();
  // record 2 header at 24+16+3: captured length := 0x7fffffff
  const o = 24 + 16 + 3 + 8;
  bad.set([0xff, 0xff, 0xff, 0x7f], o);
  const { pkts, issues } = read(bad);
  assert.deepEqual(pkts.map((p) => p.data.length), [3, 300]);
  assert.equal(issues[0].code, 'E_CAP_RECORD_LENGTH');
  assert.equal(issues[0].record, 2);
  assert.equal(issues[0].fileOffset, 24 + 16 + 3);
  assert.ok(issues.length >= 1 && issues.every((i) => i.code === 'E_CAP_RECORD_LENGTH'));
});

test('pcapng: bad block length is reported and the next block is found', () => {
  const ng = writePcapng(P);
  const bad = ng.slice();
  // first EPB follows SHB (28) and IDB (20): set its length to 13 (not a multiple of 4)
  const at = 28 + 24; // after SHB (28) and IDB (24); length 13 is not a multiple of 4
  assert.equal(bad[at], 6);
  bad.set([13, 0, 0, 0], at + 4);
  const { pkts, issues } = read(bad);
  assert.deepEqual(pkts.map((p) => p.data.length), [5, 300]);
  assert.equal(issues[0].code, 'E_CAP_BLOCK_LENGTH');
  assert.equal(issues[0].fileOffset, at);
  assert.equal(issues[0].record, 3);
});

test('not a capture: E_CAP_FORMAT, nothing else, no throw', () => {
  const { pkts, issues, format } = read(new TextEncoder().encode('hello world, not a pcap'));
  assert.equal(format, undefined);
  assert.equal(pkts.length, 0);
  assert.deepEqual(issues.map((i) => i.code), ['E_CAP_FORMAT']);
  assert.deepEqual(read(new Uint8Array(0)).issues.map((i) => i.code), ['E_CAP_FORMAT']);
});

test('unknown link type is reported once; frame numbers go on', () => {
  const bytes = writePcap(P, { linkType: 147 });
  const r = analyzeBytes(bytes);
  assert.equal(r.summary.frames, 3);
  assert.deepEqual(r.issues.map((i) => [i.code, i.frame]), [['E_CAP_LINKTYPE', 1]]);
});

test('random damage never throws', () => {
  const base = concatBytes(writePcap(P), new Uint8Array(0));
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let k = 0; k < 200; k++) {
    const b = base.slice();
    for (let j = 0; j < 4; j++) b[24 + (rnd() % (b.length - 24))] = rnd() & 255;
    assert.doesNotThrow(() => read(b, 1 + (k % 13)));
  }
});

test('formatPacketTime: µs, ns, whole seconds, and out-of-range seconds without throwing', () => {
  assert.equal(formatPacketTime({ tsSec: 0, tsNsec: 5000, tsDigits: 6 }), '1970-01-01T00:00:00.000005Z');
  assert.equal(formatPacketTime({ tsSec: 1, tsNsec: 5, tsDigits: 9 }), '1970-01-01T00:00:01.000000005Z');
  assert.equal(formatPacketTime({ tsSec: 2, tsNsec: 0, tsDigits: 0 }), '1970-01-01T00:00:02Z');
  assert.equal(formatPacketTime({ tsSec: 1e15, tsNsec: 0, tsDigits: 6 }), 'epoch+1000000000000000s.000000Z');
});
