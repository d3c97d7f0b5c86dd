import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyzeBytes, type ApduRecord } from '../../src/capture/analyze.js';
import { IpDefragmenter, type IpDefragOptions, type ReassembledDatagram } from '../../src/capture/ip-fragments.js';
import type { CaptureIssue } from '../../src/capture/issues.js';
import { LINKTYPE, PacketDecoder, parseIp } from '../../src/capture/packet.js';
import { buildTcpPacket, concatBytes, fragmentFrame, linkTypeOf, type PacketToWrite, SynthSession, type SynthLink, writePcap } from '../../src/capture/writer.js';
import { formatSummary } from '../../src/cli/analyze.js';
import { describe, floats, gi, STARTDT_ACT, STARTDT_CON } from './helpers.js';

// ---------------------------------------------------------------- helpers

const RAW: SynthLink = { type: 'raw' };
const V4 = ['10.0.0.1', '10.0.0.2'] as const;
const V6 = ['2001:db8::1', '2001:db8::2'] as const;

/** A raw-IP TCP packet with `n` payload octets 0, 1, 2, ... */
function tcpIp(v6: boolean, n: number, ipv6Ext = 0): Uint8Array {
  const [src, dst] = v6 ? V6 : V4;
  const payload = Uint8Array.from({ length: n }, (_, i) => i & 255);
  return buildTcpPacket({ src, dst, sport: 40000, dport: 2404, seq: 1000, payload, ipv6Ext }, RAW);
}

/** A defragmenter that collects its issues. */
function defrag(opts: IpDefragOptions = {}): { df: IpDefragmenter; issues: CaptureIssue[] } {
  const issues: CaptureIssue[] = [];
  return { df: new IpDefragmenter(opts, (i) => issues.push(i)), issues };
}

/** Push fragments in the given order (frame numbers 1, 2, ...; 1 ms apart); returns the completions. */
function feed(df: IpDefragmenter, frags: Uint8Array[], order = frags.map((_, i) => i), t0 = 0): Array<{ at: number; d: ReassembledDatagram }> {
  const out: Array<{ at: number; d: ReassembledDatagram }> = [];
  order.forEach((k, i) => {
    const d = df.push(frags[k], i + 1, t0 + i / 1000);
    if (d) out.push({ at: i + 1, d });
  });
  return out;
}

/** A hand-made IPv4 fragment: offset in octets, payload `data`. */
function v4frag(off: number, more: boolean, data: Uint8Array, id = 0x1234, proto = 6, src: string = V4[0]): Uint8Array {
  const h = new Uint8Array(20 + data.length);
  h[0] = 0x45;
  h[2] = h.length >> 8;
  h[3] = h.length & 255;
  h[4] = id >> 8;
  h[5] = id & 255;
  h[6] = (more ? 0x20 : 0) | ((off / 8) >> 8);
  h[7] = (off / 8) & 255;
  h[8] = 64;
  h[9] = proto;
  h.set(parseIp(src)!, 12);
  h.set(parseIp(V4[1])!, 16);
  h.set(data, 20);
  return h;
}

/** A hand-made IPv6 fragment. */
function v6frag(off: number, more: boolean, data: Uint8Array, id = 0xabcd, nh = 6): Uint8Array {
  const h = new Uint8Array(48 + data.length);
  h[0] = 0x60;
  const pl = 8 + data.length;
  h[4] = pl >> 8;
  h[5] = pl & 255;
  h[6] = 44;
  h[7] = 64;
  h.set(parseIp(V6[0])!, 8);
  h.set(parseIp(V6[1])!, 24);
  h.set([nh, 0, off >> 8, (off & 0xf8) | (more ? 1 : 0), id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255], 40);
  h.set(data, 48);
  return h;
}

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  return out;
}

function checkV4(d: ReassembledDatagram, orig: Uint8Array): void {
  assert.equal(d.version, 4);
  assert.equal(d.protocol, 6);
  assert.equal(d.payloadOffset, 20);
  assert.deepEqual(d.payload, orig.subarray(20));
  for (const i of [0, 1, 2, 3, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19]) assert.equal(d.datagram[i], orig[i], `header octet ${i}`);
  assert.equal(d.datagram[6] & 0x3f, 0, 'MF and offset cleared');
  assert.equal(d.datagram[7], 0);
  // header checksum verifies
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (d.datagram[i] << 8) | d.datagram[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
  const dec = new PacketDecoder();
  assert.equal(dec.decode(LINKTYPE.IPV4, d.datagram), 'ok');
  assert.equal(dec.pkt.payload.length, orig.length - 40);
}

// ---------------------------------------------------------------- unit tests

for (const v6 of [false, true]) {
  const name = v6 ? 'IPv6' : 'IPv4';

  test(`${name}: fragments in order, reversed and in every order give the datagram back`, () => {
    const orig = tcpIp(v6, 100);
    const frags = fragmentFrame(orig, 32, { link: RAW, id: 77 });
    assert.equal(frags.length, 4); // 120 octets of TCP segment in 32-octet pieces
    for (const order of permutations(4)) {
      const { df, issues } = defrag();
      const done = feed(df, frags, order);
      assert.equal(done.length, 1, `order ${order}`);
      assert.equal(done[0].at, 4, 'completed by the last fragment pushed');
      assert.equal(done[0].d.fragments, 4);
      assert.equal(done[0].d.firstFrame, 1);
      if (v6) assert.deepEqual(done[0].d.datagram, orig, 'IPv6: header and payload exactly as before fragmentation');
      else checkV4(done[0].d, orig);
      assert.deepEqual(issues, []);
      assert.equal(df.pendingDatagrams, 0);
      assert.equal(df.pendingBytes, 0);
      assert.equal(df.stats.datagrams, 1);
    }
  });

  test(`${name}: exact duplicates are ignored quietly`, () => {
    const orig = tcpIp(v6, 100);
    const frags = fragmentFrame(orig, 48, { link: RAW, id: 5 });
    const { df, issues } = defrag();
    const done = feed(df, [frags[0], frags[0], frags[1], frags[1], frags[2]]);
    assert.equal(done.length, 1);
    assert.deepEqual(done[0].d.payload, orig.subarray(v6 ? 40 : 20));
    assert.equal(done[0].d.fragments, 3);
    assert.equal(df.stats.duplicates, 2);
    assert.equal(issues.length, 0);
    // a duplicate arriving after completion starts a new datagram that never completes
    assert.equal(df.push(frags[1], 6, 0.1), undefined);
    df.end(6);
    assert.deepEqual(issues.map((i) => [i.code, i.frame]), [['W_IP_FRAGMENT_TIMEOUT', 6]]);
  });

  test(`${name}: Ethernet padding after a small fragment is ignored, atomic / unfragmented packets pass through`, () => {
    const orig = tcpIp(v6, 10);
    const frags = fragmentFrame(orig, 16, { link: RAW });
    const padded = frags.map((f) => concatBytes(f, fill(6, 0xee)));
    const { df, issues } = defrag();
    const done = feed(df, padded);
    assert.equal(done.length, 1);
    assert.deepEqual(done[0].d.payload, orig.subarray(v6 ? 40 : 20));
    assert.deepEqual(issues, []);
    // not a fragment: back at once, on its own
    if (!v6) {
      const whole = df.push(concatBytes(orig, fill(4, 0)), 9, 1)!;
      assert.deepEqual(whole.datagram, orig);
      assert.equal(whole.fragments, 1);
    } else {
      const atomic = v6frag(0, false, orig.subarray(40), 0x77);
      const d = df.push(atomic, 9, 1)!;
      assert.deepEqual(d.datagram, orig, 'Fragment header removed');
    }
    assert.equal(df.pendingDatagrams, 0);
  });

  test(`${name}: a missing fragment times out by capture time and says what is missing`, () => {
    const orig = tcpIp(v6, 100);
    const frags = fragmentFrame(orig, 40, { link: RAW, id: 9 });
    assert.equal(frags.length, 3);
    const timeout = v6 ? 60 : 30;
    const { df, issues } = defrag();
    assert.equal(df.push(frags[0], 1, 1000), undefined);
    assert.equal(df.push(frags[2], 2, 1001), undefined);
    // another datagram just before the timeout: nothing yet
    const other = fragmentFrame(tcpIp(v6, 100), 40, { link: RAW, id: 10 });
    df.push(other[0], 3, 1000 + timeout);
    assert.equal(issues.length, 0);
    assert.equal(df.pendingDatagrams, 2);
    df.push(other[1], 4, 1000 + timeout + 0.5);
    assert.equal(issues.length, 1);
    const i = issues[0];
    assert.equal(i.code, 'W_IP_FRAGMENT_TIMEOUT');
    assert.equal(i.severity, 'warning');
    assert.equal(i.frame, 1);
    assert.match(i.message, new RegExp(`IPv${v6 ? 6 : 4} datagram ${v6 ? '2001:db8::1 → 2001:db8::2 id 0x00000009' : '10.0.0.1 → 10.0.0.2 id 0x0009 protocol 6'}`));
    assert.match(i.message, /2 fragments in frames 1, 2/);
    assert.match(i.message, new RegExp(`not complete ${timeout} s after its first fragment \\(timeout noticed at frame 4\\)`));
    assert.match(i.message, /octets 40-79 missing, 80 octet\(s\) received of 120/);
    // the late piece now starts a new datagram, which is incomplete at the end
    assert.equal(df.push(frags[1], 5, 1000 + timeout + 1), undefined);
    df.end(5);
    assert.deepEqual(issues.map((x) => [x.code, x.frame]), [['W_IP_FRAGMENT_TIMEOUT', 1], ['W_IP_FRAGMENT_TIMEOUT', 3], ['W_IP_FRAGMENT_TIMEOUT', 5]]);
    assert.match(issues[2].message, /still incomplete at the end of the capture: first fragment \(offset 0\) missing, last fragment missing, octets 0-39 missing, 40 octet\(s\) received; dropped$/);
    assert.equal(df.pendingDatagrams, 0);
    assert.equal(df.pendingBytes, 0);
  });

  test(`${name}: the timeout is configurable and time going backwards does not expire anything`, () => {
    const frags = fragmentFrame(tcpIp(v6, 100), 40, { link: RAW, id: 9 });
    const { df, issues } = defrag(v6 ? { ipv6TimeoutSec: 2 } : { ipv4TimeoutSec: 2 });
    df.push(frags[0], 1, 100);
    df.push(frags[1], 2, 50); // earlier timestamp (merged captures)
    assert.equal(issues.length, 0);
    assert.equal(df.push(frags[2], 3, 101.5)?.fragments, 3);
    df.push(frags[0], 4, 200);
    df.push(frags[1], 5, 202.5); // same datagram key, 2.5 s later: the old one has expired
    assert.deepEqual(issues.map((x) => [x.code, x.frame]), [['W_IP_FRAGMENT_TIMEOUT', 4]]);
  });
}

test('IPv4 overlap: first copy wins, whatever the arrival order, and it is reported', () => {
  // octets 0-15 'A', then a fragment 8-23 'B' overlapping 8-15, then the last fragment 24-31 'C'
  const a = v4frag(0, true, fill(16, 0xaa));
  const b = v4frag(8, true, fill(16, 0xbb));
  const c = v4frag(24, false, fill(8, 0xcc));
  const { df, issues } = defrag();
  const done = feed(df, [a, b, c]);
  assert.equal(done.length, 1);
  assert.deepEqual(done[0].d.payload, concatBytes(fill(16, 0xaa), fill(8, 0xbb), fill(8, 0xcc)));
  assert.equal(issues.length, 1);
  assert.equal(issues[0].code, 'W_IP_FRAGMENT_OVERLAP');
  assert.equal(issues[0].frame, 2);
  assert.match(issues[0].message, /IPv4 fragment in frame 2 \(offset 8, 16 octets\) overlaps 8 octet\(s\) already received \(first from frame 1\) with different octets in IPv4 datagram 10\.0\.0\.1 → 10\.0\.0\.2 id 0x1234 protocol 6 .*: first copy kept/);
  // B first: B's octets win over A's for 8-15
  const r2 = defrag();
  const d2 = feed(r2.df, [b, a, c]);
  assert.deepEqual(d2[0].d.payload, concatBytes(fill(8, 0xaa), fill(16, 0xbb), fill(8, 0xcc)));
  assert.equal(r2.issues[0].code, 'W_IP_FRAGMENT_OVERLAP');
  // a fragment inside a bigger one, with the same octets: still an overlap (different placement)
  const r3 = defrag();
  const d3 = feed(r3.df, [v4frag(0, true, fill(24, 1)), v4frag(8, true, fill(8, 1)), v4frag(24, false, fill(8, 2))]);
  assert.equal(d3.length, 1);
  assert.equal(r3.df.stats.overlaps, 0, 'fully covered with the same octets: a duplicate');
  const r4 = defrag();
  const d4 = feed(r4.df, [v4frag(0, true, fill(16, 1)), v4frag(8, true, fill(16, 1)), v4frag(24, false, fill(8, 2))]);
  assert.equal(d4.length, 1);
  assert.deepEqual(r4.issues.map((i) => i.code), ['W_IP_FRAGMENT_OVERLAP']);
  assert.doesNotMatch(r4.issues[0].message, /different/);
  // a fragment that fills two holes between pieces and overlaps both
  const r5 = defrag();
  const d5 = feed(r5.df, [v4frag(8, true, fill(8, 1)), v4frag(24, true, fill(8, 3)), v4frag(0, true, fill(40, 9)), v4frag(40, false, fill(8, 4))]);
  assert.deepEqual(d5[0].d.payload, Uint8Array.from([...fill(8, 9), ...fill(8, 1), ...fill(8, 9), ...fill(8, 3), ...fill(8, 9), ...fill(8, 4)]));
  assert.equal(r5.issues.length, 1);
});

test('IPv6 overlap drops the whole datagram, including fragments still to come (RFC 5722)', () => {
  const { df, issues } = defrag();
  assert.equal(df.push(v6frag(0, true, fill(16, 0xaa)), 1, 0), undefined);
  assert.equal(df.push(v6frag(8, true, fill(16, 0xbb)), 2, 0), undefined);
  assert.equal(df.push(v6frag(24, false, fill(8, 0xcc)), 3, 0), undefined);
  assert.equal(df.push(v6frag(8, true, fill(16, 0xbb)), 4, 0), undefined);
  assert.deepEqual(issues.map((i) => [i.code, i.frame]), [['W_IP_FRAGMENT_OVERLAP', 2]]);
  assert.match(issues[0].message, /IPv6 fragment in frame 2 \(offset 8, 16 octets\) overlaps 8 octet\(s\) already received \(first from frame 1\) with different octets in IPv6 datagram 2001:db8::1 → 2001:db8::2 id 0x0000abcd .*: datagram dropped \(RFC 5722\)/);
  assert.equal(df.pendingBytes, 0);
  df.end(4);
  assert.equal(issues.length, 1, 'a dropped datagram is not reported again as incomplete');
  // identical octets at the same place: a duplicate; same place, other octets: an overlap
  const r2 = defrag();
  feed(r2.df, [v6frag(0, true, fill(16, 1)), v6frag(0, true, fill(16, 1))]);
  assert.equal(r2.issues.length, 0);
  r2.df.push(v6frag(0, true, fill(16, 2)), 3, 0);
  assert.deepEqual(r2.issues.map((i) => i.code), ['W_IP_FRAGMENT_OVERLAP']);
  // identical octets inside a bigger fragment: still an overlap for IPv6
  const r3 = defrag();
  feed(r3.df, [v6frag(0, true, fill(24, 1)), v6frag(8, true, fill(8, 1))]);
  assert.deepEqual(r3.issues.map((i) => i.code), ['W_IP_FRAGMENT_OVERLAP']);
});

test('contradicting lengths drop the datagram', () => {
  for (const [name, frags] of [
    ['two different ends', [v4frag(16, false, fill(8, 1)), v4frag(8, false, fill(8, 1))]],
    ['data past the end', [v4frag(8, false, fill(8, 1)), v4frag(16, true, fill(8, 1))]],
    ['end before data', [v4frag(16, true, fill(8, 1)), v4frag(8, false, fill(8, 1))]],
  ] as Array<[string, Uint8Array[]]>) {
    const { df, issues } = defrag();
    feed(df, frags);
    assert.deepEqual(issues.map((i) => i.code), ['W_IP_FRAGMENT'], name);
    assert.match(issues[0].message, /datagram dropped/);
    assert.equal(df.push(v4frag(0, true, fill(8, 1)), 9, 0), undefined, 'later fragments of it are ignored');
    df.end();
    assert.equal(issues.length, 1);
  }
});

test('malformed fragments are skipped with a reason, never thrown', () => {
  const { df, issues } = defrag();
  const bad: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(0), /empty IP packet/],
    [Uint8Array.from([0x50, 1, 2]), /IP version 5/],
    [v4frag(0, true, fill(8, 1)).subarray(0, 12), /IPv4 fragment header needs 20 octets, captured 12/],
    [(() => { const f = v4frag(0, true, fill(8, 1)); f[0] = 0x44; return f; })(), /header length 16 < 20/],
    [(() => { const f = v4frag(0, true, fill(8, 1)); f[3] = 10; return f; })(), /total length 10 < header length 20/],
    [v4frag(0, true, fill(16, 1)).subarray(0, 30), /cut by the capture: 36 octets sent, 30 captured/],
    [v4frag(0, true, fill(12, 1)), /carries 12 octets, not a positive multiple of 8/],
    [v4frag(0, true, fill(0, 1)), /carries 0 octets/],
    [v4frag(65528, false, fill(16, 1)), /longer than 65535 octets/],
    [v6frag(0, true, fill(8, 1)).subarray(0, 30), /IPv6 header needs 40 octets/],
    [(() => { const f = v6frag(0, true, fill(8, 1)); f[4] = 0; f[5] = 0; return f; })(), /jumbogram/],
    [(() => { const f = v6frag(0, true, fill(8, 1)); f[6] = 17; return f; })(), /without a Fragment header \(next header 17\)/],
    [(() => { const f = v6frag(0, true, fill(8, 1)); f[6] = 60; f[41] = 200; return f; })(), /truncated before the Fragment header/],
    [(() => { const f = v6frag(0, true, fill(8, 1)); f[5] = 6; return f; })(), /IPv6 Fragment header truncated/],
    [v6frag(65528, false, fill(16, 1)), /longer than 65535 octets/],
  ];
  bad.forEach(([pkt, why], k) => {
    assert.equal(df.push(pkt, k + 1, 0), undefined);
    assert.equal(issues.length, k + 1, `case ${k}`);
    assert.equal(issues[k].code, 'W_IP_FRAGMENT');
    assert.equal(issues[k].frame, k + 1);
    assert.match(issues[k].message, why);
    assert.match(issues[k].message, new RegExp(`^frame ${k + 1}: .*: fragment skipped$`));
  });
  assert.equal(df.pendingDatagrams, 0);
  assert.equal(df.stats.malformed, bad.length);
});

test('memory bounds: datagrams in progress, bytes held and fragments per datagram', () => {
  // at most 4 datagrams: the oldest are evicted and reported
  const { df, issues } = defrag({ maxDatagrams: 4 });
  for (let id = 1; id <= 10; id++) df.push(v4frag(0, true, fill(8, id), id), id, id);
  assert.equal(df.pendingDatagrams, 4);
  assert.equal(issues.length, 6);
  assert.ok(issues.every((i) => i.code === 'W_IP_FRAGMENT_LIMIT'));
  assert.deepEqual(issues.map((i) => i.frame), [5, 6, 7, 8, 9, 10]);
  assert.match(issues[0].message, /^frame 5: more than 4 datagrams in progress: oldest IPv4 datagram 10\.0\.0\.1 → 10\.0\.0\.2 id 0x0001 protocol 6 \(1 fragment in frame 1\) evicted incomplete \(last fragment missing, 8 octet\(s\) received\)$/);
  assert.equal(df.push(v4frag(8, false, fill(8, 0), 1), 11, 11), undefined, 'evicted: cannot complete');
  assert.equal(df.push(v4frag(8, false, fill(8, 0), 10), 12, 12)?.fragments, 2, 'kept: completes');

  // bytes: every fragment counts its octets and 64 of overhead
  const b = defrag({ maxBytes: 4000 });
  for (let id = 1; id <= 20; id++) {
    b.df.push(v4frag(0, true, fill(1000, 1), id), id, 0);
    assert.ok(b.df.pendingBytes <= 4000, `${b.df.pendingBytes} octets held`);
  }
  assert.equal(b.df.pendingDatagrams, 3);
  assert.equal(b.issues.length, 17);
  assert.match(b.issues[0].message, /more than 4000 octets held/);
  // a single datagram bigger than the bound evicts itself
  const c = defrag({ maxBytes: 1000 });
  assert.equal(c.df.push(v4frag(0, true, fill(1000, 1)), 1, 0), undefined);
  assert.equal(c.df.pendingDatagrams, 0);
  assert.deepEqual(c.issues.map((i) => i.code), ['W_IP_FRAGMENT_LIMIT']);

  // fragments per datagram
  const f = defrag({ maxFragments: 8 });
  for (let k = 0; k < 12; k++) f.df.push(v6frag(k * 8, true, fill(8, k)), k + 1, 0);
  assert.deepEqual(f.issues.map((i) => [i.code, i.frame]), [['W_IP_FRAGMENT_LIMIT', 9]]);
  assert.match(f.issues[0].message, /more than 8 fragments \(frame 9\): datagram dropped/);
  assert.equal(f.df.pendingBytes, 0);
});

test('hostile input: memory stays bounded and nothing throws', () => {
  const limits = { maxDatagrams: 16, maxBytes: 64 * 1024, maxFragments: 32 };
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 80 }),
          fc.record({ v6: fc.boolean(), off: fc.integer({ min: 0, max: 8191 }), more: fc.boolean(), len: fc.integer({ min: 0, max: 64 }), id: fc.integer({ min: 0, max: 3 }), b: fc.integer({ min: 0, max: 2 }) }).map((r) => {
            const data = fill(r.len, r.b);
            return r.v6 ? v6frag(r.off * 8, r.more, data, r.id) : v4frag(r.off * 8, r.more, data, r.id);
          }),
        ),
        { maxLength: 200 },
      ),
      fc.array(fc.double({ min: 0, max: 200, noNaN: false })),
      (pkts, times) => {
        const { df } = defrag(limits);
        pkts.forEach((p, i) => {
          df.push(p, i + 1, times[i % Math.max(1, times.length)] ?? 0);
          assert.ok(df.pendingBytes <= limits.maxBytes);
          assert.ok(df.pendingDatagrams <= limits.maxDatagrams);
          assert.ok(df.pendingBytes >= 0);
        });
        df.end();
        assert.equal(df.pendingDatagrams, 0);
        assert.equal(df.pendingBytes, 0);
      },
    ),
    { numRuns: 300, seed: 104 },
  );
  // a flood of 8-octet fragments of distinct datagrams, and of one datagram
  // (how fast this goes is a benchmark's business, not a unit test's: no wall-clock assertion here)
  const { df } = defrag();
  for (let i = 0; i < 50000; i++) df.push(v4frag(8 * (i % 4000), true, fill(8, 1), i & 0xffff, 6, `10.0.${(i >> 16) & 255}.1`), i, i / 1000);
  assert.ok(df.pendingDatagrams <= 1024);
  assert.ok(df.pendingBytes <= 8 * 1024 * 1024);
  for (let i = 0; i < 20000; i++) df.push(v6frag(8 * ((i * 7919) % 8000), true, fill(8, i & 1), 1), i, 100);
  assert.ok(df.pendingDatagrams <= 1024);
  assert.ok(df.pendingBytes <= 8 * 1024 * 1024);
});

// ---------------------------------------------------------------- through CaptureAnalyzer

/** STARTDT, then a big I-frame (in one TCP segment) from the station, then a GI from the master. */
function session(v6: boolean, link: SynthLink): SynthSession {
  const [client, server] = v6 ? V6 : V4;
  const s = new SynthSession({ ip: client, port: 40000 }, { ip: server, port: 2404 }, link).handshake();
  s.send('client', STARTDT_ACT).send('server', STARTDT_CON);
  s.send('server', floats(0, 0, 100, 20)); // 172 octets of APDU, 192 of TCP segment: frame 6
  s.send('client', gi(0, 1));
  return s;
}

/** Replace packet `k` by its fragments, in `order`. */
function fragmented(s: SynthSession, link: SynthLink, k: number, size: number, order?: number[]): PacketToWrite[] {
  const p = s.packets[k];
  const frags = fragmentFrame(p.data, size, { link, id: 0x4242 });
  const ord = order ?? frags.map((_, i) => i);
  return [...s.packets.slice(0, k), ...ord.map((i) => ({ ...p, data: frags[i] })), ...s.packets.slice(k + 1)];
}

function same(a: ApduRecord, b: ApduRecord): void {
  assert.deepEqual(a.apdu, b.apdu);
  assert.equal(a.src, b.src);
  assert.equal(a.dst, b.dst);
  assert.equal(a.direction, b.direction);
  assert.equal(a.flow, b.flow);
  assert.equal(a.ts, b.ts);
}

for (const v6 of [false, true]) {
  for (const [lname, link] of [['Ethernet', { type: 'ethernet' }], ['VLAN', { type: 'ethernet', vlans: [7] }], ['SLL', { type: 'sll' }]] as Array<[string, SynthLink]>) {
    test(`analyzer, ${v6 ? 'IPv6' : 'IPv4'} over ${lname}: an I-frame in 3 IP fragments decodes as without fragmentation`, () => {
      const s = session(v6, link);
      const plain = analyzeBytes(writePcap(s.packets, { linkType: linkTypeOf(link) }));
      assert.deepEqual(plain.records.map(describe), ['4:U', '5:U', '6:I:13/3/' + Array.from({ length: 20 }, (_, i) => 100 + i).join(','), '7:I:100/6/0']);
      for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
        const r = analyzeBytes(writePcap(fragmented(s, link, 5, 72, order), { linkType: linkTypeOf(link) }));
        assert.deepEqual(r.issues, [], `order ${order}`);
        assert.equal(r.records.length, 4);
        r.records.forEach((x, i) => same(x, plain.records[i]));
        assert.deepEqual(r.records.map((x) => x.frame), [4, 5, 8, 9], 'the APDU belongs to the frame of the fragment that completed it');
        assert.equal(r.summary.ipFragments, 3);
        assert.equal(r.summary.ipReassembled, 1);
        assert.equal(r.summary.tcpSegments, plain.summary.tcpSegments);
        assert.equal(r.summary.otherFrames, 0);
        assert.equal(r.summary.flows[0].packets, plain.summary.flows[0].packets);
        assert.deepEqual(r.summary.flows[0].payloadBytes, plain.summary.flows[0].payloadBytes);
      }
    });
  }

  test(`analyzer, ${v6 ? 'IPv6' : 'IPv4'}: tiny fragments that split the TCP header, streamed in small chunks`, () => {
    const link: SynthLink = { type: 'ethernet' };
    const s = session(v6, link);
    const plain = analyzeBytes(writePcap(s.packets));
    const pkts = fragmented(s, link, 5, 8); // 24 fragments, the first with only 8 octets of TCP header
    assert.equal(pkts.length, s.packets.length + 23);
    const r = analyzeBytes(writePcap(pkts), {}, 17);
    assert.deepEqual(r.issues, []);
    r.records.forEach((x, i) => same(x, plain.records[i]));
    assert.equal(r.records[2].frame, 6 + 23);
    assert.equal(r.summary.ipFragments, 24);
  });

  test(`analyzer, ${v6 ? 'IPv6' : 'IPv4'}: a lost fragment is reported, the stream goes on after the gap`, () => {
    const link: SynthLink = { type: 'ethernet' };
    const s = session(v6, link);
    s.send('server', floats(1, 1, 500, 1));
    const pkts = fragmented(s, link, 5, 72);
    pkts.splice(6, 1); // the middle fragment never arrives
    const r = analyzeBytes(writePcap(pkts));
    assert.deepEqual(r.records.map(describe), ['4:U', '5:U', '8:I:100/6/0', '9:I:13/3/500']);
    const codes = r.issues.map((i) => [i.code, i.frame]);
    // the receiver's acknowledgement (frame 8) already shows the missing bytes: a TCP gap first
    const ti = codes.findIndex(([c]) => c === 'W_IP_FRAGMENT_TIMEOUT');
    assert.deepEqual(codes[ti], ['W_IP_FRAGMENT_TIMEOUT', 6]);
    assert.match(r.issues[ti].message, /still incomplete at the end of the capture: octets 72-143 missing, 120 octet\(s\) received of 192/);
    assert.ok(codes.some(([c]) => c === 'W_TCP_GAP'), JSON.stringify(codes));
    assert.equal(r.summary.issues.W_IP_FRAGMENT_TIMEOUT, 1);
    assert.equal(r.summary.ipFragments, 2);
    assert.equal(r.summary.ipReassembled, 0);
    assert.match(formatSummary(r.summary), /, 2 IP fragments \(0 datagrams reassembled\),/);
  });
}

test('analyzer: IPv6 with a hop-by-hop header before the Fragment header, and options after it', () => {
  const p = buildTcpPacket({ src: V6[0], dst: V6[1], sport: 40000, dport: 2404, seq: 1, payload: floats(0, 0, 1, 10), ipv6Ext: 2 }, RAW);
  const frags = fragmentFrame(p, 32, { link: RAW, id: 3 }); // hop-by-hop stays, destination options are fragmented
  assert.equal(frags[0][6], 0);
  assert.equal(frags[0][40], 44);
  const r = analyzeBytes(writePcap(frags.reverse().map((data) => ({ data })), { linkType: LINKTYPE.RAW }));
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.records.map(describe), [`${frags.length}:I:13/3/1,2,3,4,5,6,7,8,9,10`]);
});

test('analyzer: fragments of non-TCP traffic are skipped quietly; options reach the defragmenter', () => {
  const udp4 = v4frag(0, true, fill(8, 1), 1, 17);
  const udp6 = v6frag(0, true, fill(8, 1), 1, 17);
  const r = analyzeBytes(writePcap([udp4, udp6].map((data) => ({ data })), { linkType: LINKTYPE.RAW }));
  assert.deepEqual(r.issues, []);
  assert.equal(r.summary.otherFrames, 2);
  assert.equal(r.summary.ipFragments, 0);
  // first fragment at t=0, the rest 2 s later with a 1 s timeout
  const s = session(false, RAW);
  const pkts = fragmented(s, RAW, 5, 72);
  pkts[6] = { ...pkts[6], tsSec: pkts[6].tsSec! + 2 };
  pkts[7] = { ...pkts[7], tsSec: pkts[7].tsSec! + 2 };
  const t = analyzeBytes(writePcap(pkts, { linkType: LINKTYPE.RAW }), { fragments: { ipv4TimeoutSec: 1 } });
  assert.equal(t.issues[0].code, 'W_IP_FRAGMENT_TIMEOUT');
  assert.equal(t.issues[0].frame, 6);
  assert.match(t.issues[0].message, /timeout noticed at frame 7/);
  assert.equal(analyzeBytes(writePcap(pkts, { linkType: LINKTYPE.RAW })).summary.ipReassembled, 1);
});
