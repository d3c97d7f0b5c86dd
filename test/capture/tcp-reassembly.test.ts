import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes } from '../../src/capture/analyze.js';
import { TcpDirection, type SegmentMeta } from '../../src/capture/tcp-reassembly.js';
import type { CaptureIssue } from '../../src/capture/issues.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/capture/packet.js';
import { concatBytes, SynthSession, writePcap } from '../../src/capture/writer.js';
import { conversation, describe, floats, gi, sFrame, STARTDT_ACT, STARTDT_CON } from './helpers.js';

function dir(opts = {}): { d: TcpDirection; out: number[]; gaps: number[]; ends: string[]; issues: CaptureIssue[] } {
  const out: number[] = [];
  const gaps: number[] = [];
  const ends: string[] = [];
  const issues: CaptureIssue[] = [];
  const d = new TcpDirection({ data: (b) => out.push(...b), gap: (n) => gaps.push(n), end: (_m, r) => ends.push(r) }, (i) => issues.push(i), 0, opts);
  return { d, out, gaps, ends, issues };
}
let fr = 0;
const meta = (): SegmentMeta => ({ frame: ++fr, tsSec: 0, tsNsec: 0, tsDigits: 6 });
const B = (...x: number[]): Uint8Array => Uint8Array.from(x);

test('in order, out of order, retransmitted, overlapping', () => {
  const t = dir();
  t.d.segment(99, TCP_SYN, B(), 0, meta());
  t.d.segment(100, TCP_ACK, B(1, 2, 3), 3, meta());
  t.d.segment(106, TCP_ACK, B(7, 8), 2, meta()); // out of order
  t.d.segment(103, TCP_ACK, B(4, 5, 6), 3, meta()); // fills the hole
  t.d.segment(100, TCP_ACK, B(1, 2, 3), 3, meta()); // retransmission
  t.d.segment(107, TCP_ACK, B(8, 9, 10), 3, meta()); // overlap by 1, same bytes
  assert.deepEqual(t.out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(t.issues, []);
  assert.equal(t.d.retransmissions, 1);
});

test('overlap with other bytes: first copy kept, reported', () => {
  const t = dir();
  t.d.segment(0, TCP_ACK, B(1, 2, 3, 4), 4, meta());
  t.d.segment(2, TCP_ACK, B(0x33, 0x44, 5, 6), 4, meta());
  t.d.segment(6, TCP_ACK, B(7), 1, meta()); // coherent: settles the suspect
  assert.deepEqual(t.out, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(t.issues.map((i) => i.code), ['W_TCP_OVERLAP_DIFFERS']);
});

test('out-of-order buffer bound: gap reported, stream skips ahead', () => {
  const t = dir({ maxBufferedSegments: 2 });
  t.d.segment(0, TCP_ACK, B(1), 1, meta());
  t.d.segment(10, TCP_ACK, B(10), 1, meta());
  t.d.segment(11, TCP_ACK, B(11), 1, meta());
  assert.deepEqual(t.out, [1]);
  t.d.segment(12, TCP_ACK, B(12), 1, meta()); // third buffered segment: bound hit
  assert.deepEqual(t.out, [1, 10, 11, 12]);
  assert.deepEqual(t.gaps, [9]);
  assert.equal(t.issues[0].code, 'W_TCP_GAP');
});

test('end of capture flushes buffered segments with a gap', () => {
  const t = dir();
  t.d.segment(0, TCP_ACK, B(1), 1, meta());
  t.d.segment(5, TCP_ACK, B(5), 1, meta());
  t.d.flush();
  assert.deepEqual(t.out, [1, 5]);
  assert.deepEqual(t.gaps, [4]);
  assert.deepEqual(t.ends, ['eof']);
});

test('sequence numbers wrap around 2^32', () => {
  const t = dir();
  t.d.segment(0xfffffffe, TCP_ACK, B(1, 2), 2, meta());
  t.d.segment(1, TCP_ACK, B(4), 1, meta());
  t.d.segment(0, TCP_ACK, B(3), 1, meta());
  assert.deepEqual(t.out, [1, 2, 3, 4]);
});

test('FIN ends the direction once its bytes are in; RST at once; new SYN restarts', () => {
  const t = dir();
  t.d.segment(10, TCP_SYN, B(), 0, meta());
  t.d.segment(14, TCP_ACK | TCP_FIN, B(4), 1, meta());
  assert.deepEqual(t.ends, []);
  t.d.segment(11, TCP_ACK, B(1, 2, 3), 3, meta());
  assert.deepEqual(t.ends, ['fin']);
  assert.deepEqual(t.out, [1, 2, 3, 4]);
  t.d.segment(500, TCP_SYN, B(), 0, meta());
  t.d.segment(501, TCP_ACK, B(9), 1, meta());
  t.d.segment(502, TCP_RST, B(), 0, meta());
  assert.deepEqual(t.out, [1, 2, 3, 4, 9]);
  assert.deepEqual(t.ends, ['fin', 'rst']);
});

test('non-advancing sequence numbers: falls back to arrival order', () => {
  const t = dir();
  t.d.segment(0, TCP_SYN, B(), 0, meta());
  t.d.segment(0, TCP_ACK, B(1, 2), 2, meta());
  t.d.segment(0, TCP_ACK, B(3, 4), 2, meta());
  t.d.segment(0, TCP_ACK, B(5), 1, meta());
  assert.deepEqual(t.out, [1, 2, 3, 4, 5]);
  assert.ok(t.d.arrivalOrder);
  assert.deepEqual(t.issues.map((i) => i.code), ['W_TCP_SEQ_FALLBACK']);
});

test('a far jump followed by contiguous data is a gap, not a fallback', () => {
  const t = dir();
  t.d.segment(1000, TCP_ACK, B(1), 1, meta());
  t.d.segment(1000 + 50_000_000, TCP_ACK, B(2), 1, meta());
  t.d.segment(1000 + 50_000_001, TCP_ACK, B(3), 1, meta());
  assert.deepEqual(t.out, [1, 2, 3]);
  assert.equal(t.d.arrivalOrder, false);
  assert.deepEqual(t.issues.map((i) => i.code), ['W_TCP_GAP']);
});

// ---- through the analyzer, with IEC 104 ----

function base(): SynthSession {
  return new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
}

test('1 octet per segment: every APDU decoded, frame = the segment that completed it', () => {
  const s = base();
  for (const m of conversation()) s.send(m.side, m.bytes, 1);
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 8);
  assert.deepEqual(r.issues, []);
  assert.equal(r.records[0].frame, 3 + 6, 'STARTDT act ends with its 6th segment');
});

test('out-of-order and retransmitted segments of IEC 104', () => {
  const s = base();
  s.send('client', STARTDT_ACT).send('server', STARTDT_CON);
  const a = gi(0, 0);
  const seq = s.nextSeq('client');
  s.raw('client', seq + 8, a.subarray(8)); // second half first
  s.raw('client', seq, a.subarray(0, 8));
  s.raw('client', seq, a.subarray(0, 8)); // retransmission
  s.skip('client', a.length);
  s.send('client', sFrame(0));
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map(describe), ['4:U', '5:U', '7:I:100/6/0', '9:S']);
  assert.deepEqual(r.issues, []);
});

test('retransmission with other bytes of unacknowledged octets: the stream cannot be followed (E_TCP_DESYNC), first copy decoded', () => {
  const s = base();
  s.send('client', STARTDT_ACT);
  const seq = s.nextSeq('client');
  s.send('client', gi(0, 0));
  s.raw('client', seq, gi(0, 0, 8)); // same seq, cot 8 instead of 6
  s.send('client', sFrame(0));
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map(describe), ['4:U', '5:I:100/6/0', '7:S']);
  assert.deepEqual(r.issues.map((i) => [i.code, i.frame]), [['E_TCP_DESYNC', 6]]);
});

test('capture starting mid-session and mid-APDU: junk reported, the rest decoded', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 });
  const two = concatBytes(floats(5, 1, 10), floats(6, 1, 11));
  s.send('server', two.subarray(7)); // no handshake; first APDU cut
  s.send('server', floats(7, 1, 12));
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map(describe), ['1:I:13/3/11', '2:I:13/3/12']);
  assert.equal(r.issues[0].code, 'W_JUNK');
  assert.equal(r.records[0].direction, 'station→master');
});

test('lost bytes in the middle of an APDU: gap, partial APDU dropped, resynchronised', () => {
  const s = base();
  s.send('server', floats(0, 0, 1));
  const f = floats(1, 0, 2);
  s.send('server', f.subarray(0, 5));
  s.skip('server', f.length - 5); // lost, never retransmitted
  s.send('server', floats(2, 0, 3));
  s.fin('server');
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map(describe), ['4:I:13/3/1', '6:I:13/3/3']);
  const codes = r.issues.map((i) => i.code);
  assert.ok(codes.includes('W_TCP_GAP'));
  assert.ok(codes.includes('W_TCP_PARTIAL_APDU'));
});

test('generated capture whose sequence numbers never advance: arrival order', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 });
  s.raw('client', 0, new Uint8Array(0), TCP_SYN).raw('server', 0, new Uint8Array(0), TCP_SYN | TCP_ACK);
  for (const m of conversation()) s.raw(m.side, 0, m.bytes);
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map(describe), ['3:U', '4:U', '5:I:100/6/0', '6:I:100/7/0', '6:I:13/3/100,101,102', '7:I:13/3/200,201', '7:I:100/10/0', '8:S']);
  assert.ok(r.summary.flows[0].arrivalOrder);
  assert.ok(r.issues.some((i) => i.code === 'W_TCP_SEQ_FALLBACK'));
});

test('connection closed with an incomplete APDU: reported', () => {
  const s = base();
  s.send('client', gi(0, 0).subarray(0, 9)).fin('client');
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 0);
  assert.deepEqual(r.issues.map((i) => i.code), ['W_TCP_PARTIAL_APDU']);
});

test('generator that adds 1 to the sequence number per packet: arrival order, nothing lost', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 });
  const seq = { client: 100, server: 900 };
  for (const m of conversation()) s.raw(m.side, seq[m.side]++, m.bytes);
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 8);
  assert.deepEqual(r.records.map(describe).sort(), ['1:U', '2:U', '3:I:100/6/0', '4:I:100/7/0', '4:I:13/3/100,101,102', '5:I:13/3/200,201', '5:I:100/10/0', '6:S'].sort());
  assert.ok(r.issues.some((i) => i.code === 'W_TCP_SEQ_FALLBACK'));
});

test('generator with a correct handshake whose numbers then stay at ISN + 1 (receiver acknowledging only the SYN): arrival order, no E_TCP_DESYNC', () => {
  const t = dir();
  t.d.segment(99, TCP_SYN, B(), 0, meta());
  t.d.peerAck(100, 65535, meta()); // SYN-ACK
  t.d.segment(100, TCP_ACK, B(1, 2, 3), 3, meta());
  t.d.peerAck(100, 65535, meta()); // the receiver answers, still acknowledging the SYN alone
  t.d.segment(100, TCP_ACK, B(4, 5), 2, meta());
  t.d.peerAck(100, 65535, meta());
  t.d.segment(100, TCP_ACK, B(6, 7, 8, 9), 4, meta());
  assert.deepEqual(t.out, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(t.issues.map((i) => i.code), ['W_TCP_SEQ_FALLBACK']);
  assert.equal(t.d.desyncs, 0);
  assert.ok(t.d.arrivalOrder);
});

test('a decoy at ISN + 1 right after the handshake, before the receiver sent anything, is still a desync', () => {
  const t = dir();
  t.d.segment(99, TCP_SYN, B(), 0, meta());
  t.d.peerAck(100, 65535, meta());
  t.d.segment(100, TCP_ACK, B(1, 2, 3), 3, meta());
  t.d.segment(100, TCP_ACK, B(9, 9, 9), 3, meta());
  assert.equal(t.d.desyncs, 1);
  assert.deepEqual(t.out, [1, 2, 3]);
});

test('a SYN with the same ISN after data is a new connection (a peer that restarts its numbers), not a retransmitted SYN', () => {
  const t = dir();
  t.d.segment(99, TCP_SYN, B(), 0, meta());
  t.d.peerAck(100, 65535, meta());
  t.d.segment(100, TCP_ACK, B(1, 2, 3), 3, meta());
  t.d.peerAck(103, 65535, meta());
  t.d.segment(99, TCP_SYN, B(), 0, meta()); // no FIN before it
  t.d.segment(99, TCP_SYN, B(), 0, meta()); // retransmitted SYN of a connection without data yet: ignored
  t.d.peerAck(100, 65535, meta());
  t.d.segment(100, TCP_ACK, B(4, 5, 6), 3, meta());
  t.d.segment(103, TCP_ACK, B(7), 1, meta());
  assert.deepEqual(t.out, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(t.d.desyncs, 0);
  assert.deepEqual(t.ends, ['syn']);
  assert.deepEqual(t.issues, []);
});
