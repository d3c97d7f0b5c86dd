import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApduSplitter, CodecError, encodeIFrame, encodeSFrame, encodeUFrame, typeInfo } from '../../src/codec/index.js';
import { sampleAsdu } from './samples.js';

interface Out { frames: Array<[string, number]>; junk: Array<[string, number]>; errors: CodecError[]; maxBuffered: number }
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function run(chunks: Uint8Array[]): Out & { s: ApduSplitter } {
  const o: Out = { frames: [], junk: [], errors: [], maxBuffered: 0 };
  const s = new ApduSplitter({
    frame: (f, at) => o.frames.push([hex(f), at]),
    junk: (j, at) => o.junk.push([hex(j), at]),
    error: (e) => o.errors.push(e),
  });
  for (const c of chunks) {
    s.push(c);
    o.maxBuffered = Math.max(o.maxBuffered, s.buffered);
  }
  return Object.assign(o, { s });
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) { out.set(p, k); k += p.length; }
  return out;
}
function chunk(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const pos = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pos, b.length]) { out.push(b.slice(prev, p)); prev = p; }
  return out;
}

const FRAMES = [
  encodeUFrame('STARTDT_ACT'),
  encodeIFrame(0, 0, sampleAsdu(typeInfo(36)!, false, 3, 1)),
  encodeSFrame(12345),
  encodeIFrame(1, 0, sampleAsdu(typeInfo(1)!, true, 100, 2)),
  encodeIFrame(2, 0, sampleAsdu(typeInfo(13)!, false, 30, 3)), // 252-octet APDU (length 250)
  encodeUFrame('TESTFR_CON'),
];
const STREAM = concat(FRAMES);
const EXPECTED = (() => { let at = 0; return FRAMES.map((f) => { const r: [string, number] = [hex(f), at]; at += f.length; return r; }); })();

test('whole stream in one chunk: every APDU with its stream offset', () => {
  assert.ok(FRAMES[4].length >= 250);
  const o = run([STREAM]);
  assert.deepEqual(o.frames, EXPECTED);
  assert.deepEqual(o.junk, []);
  assert.equal(o.s.frames, FRAMES.length);
  assert.equal(o.s.buffered, 0);
});

test('one byte at a time', () => {
  const o = run([...STREAM].map((x) => Uint8Array.of(x)));
  assert.deepEqual(o.frames, EXPECTED);
  assert.ok(o.maxBuffered <= 254);
  assert.equal(o.s.buffered, 0);
});

test('APDU split across chunks at every position', () => {
  const f = FRAMES[1];
  for (let cut = 1; cut < f.length; cut++) {
    const o = run([f.slice(0, cut), f.slice(cut)]);
    assert.deepEqual(o.frames, [[hex(f), 0]], `cut at ${cut}`);
  }
});

test('many APDUs per chunk, ending inside the next one', () => {
  const o = run([STREAM.slice(0, 30), STREAM.slice(30, 300), STREAM.slice(300)]);
  assert.deepEqual(o.frames, EXPECTED);
});

test('random chunkings (fast-check) give the same frames', () => {
  fc.assert(fc.property(fc.array(fc.nat(STREAM.length), { maxLength: 40 }), (cuts) => {
    const o = run(chunk(STREAM, cuts));
    assert.deepEqual(o.frames, EXPECTED);
    assert.ok(o.maxBuffered <= 254);
  }), { numRuns: 300 });
});

test('junk before 0x68 is reported with stream offsets', () => {
  const junk = Uint8Array.of(0x00, 0x11, 0x22);
  const mid = Uint8Array.of(0xff, 0xee);
  const o = run([concat([junk, FRAMES[0], mid, FRAMES[2]])]);
  assert.deepEqual(o.frames, [[hex(FRAMES[0]), 3], [hex(FRAMES[2]), 3 + 6 + 2]]);
  assert.deepEqual(o.junk, [['001122', 0], ['ffee', 9]]);
  assert.equal(o.s.junkBytes, 5);
  // same with one byte at a time: junk may come in several pieces but covers the same bytes
  const o1 = run([...concat([junk, FRAMES[0], mid, FRAMES[2]])].map((x) => Uint8Array.of(x)));
  assert.deepEqual(o1.frames, o.frames);
  assert.equal(o1.junk.map((j) => j[0]).join(''), '001122ffee');
  assert.deepEqual(o1.junk.map((j) => j[1]), [0, 1, 2, 9, 10]);
});

test('bad length octet: error with offset, start byte skipped, resync on the next 0x68', () => {
  // 68 02 is impossible, 68 FE and 68 FF too (0x68 itself is a valid length, so 68 68 is not an error)
  const input = concat([Uint8Array.of(0x68, 0x02, 0x68, 0xfe), Uint8Array.of(0x68, 0xff), FRAMES[0]]);
  for (const chunks of [[input], [...input].map((x) => Uint8Array.of(x))]) {
    const o = run(chunks);
    assert.deepEqual(o.frames, [[hex(FRAMES[0]), 6]]);
    assert.deepEqual(o.errors.map((e) => [e.code, e.offset]), [['E_APDU_LENGTH', 1], ['E_APDU_LENGTH', 3], ['E_APDU_LENGTH', 5]]);
    assert.equal(o.junk.map((j) => j[0]).join(''), '680268fe68ff');
    assert.deepEqual(o.junk.filter((j) => j[0].startsWith('68')).map((j) => j[1]), [0, 2, 4]);
    assert.equal(o.s.junkBytes, 6);
  }
});

test('splitter bounded: buffered never exceeds 254, reset drops the partial APDU', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }), (chunks) => {
    const s = new ApduSplitter({ frame: (f) => assert.ok(f.length >= 6 && f.length <= 255 && f[0] === 0x68 && f[1] + 2 === f.length) });
    let total = 0;
    for (const c of chunks) {
      s.push(c);
      total += c.length;
      assert.ok(s.buffered <= 254);
    }
    assert.ok(s.junkBytes <= total);
  }), { numRuns: 300 });
  const s = new ApduSplitter({ frame: () => assert.fail('no frame expected') });
  s.push(FRAMES[4].subarray(0, 251));
  assert.equal(s.buffered, 251);
  assert.equal(s.reset(), 251);
  assert.equal(s.buffered, 0);
});

test('frames are views valid until the next push; copies are stable', () => {
  const got: Uint8Array[] = [];
  const s = new ApduSplitter({ frame: (f) => got.push(f.slice()) });
  s.push(FRAMES[1].subarray(0, 10));
  s.push(FRAMES[1].subarray(10));
  s.push(FRAMES[0]);
  assert.deepEqual(got.map(hex), [hex(FRAMES[1]), hex(FRAMES[0])]);
});
