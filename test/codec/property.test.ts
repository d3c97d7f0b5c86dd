import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type Asdu, type CodecOptions, allTypes, decodeApdu, decodeAsdu, encodeApdu, encodeAsdu, encodeIFrame, headerSize, IEC104_OPTIONS, typeInfo, MAX_ASDU_LENGTH,
} from '../../src/codec/index.js';
import { asduArb, elementArb, optionsArb } from './arbitraries.js';

function strip(a: Asdu): Asdu {
  const { warnings: _w, ...rest } = a;
  return rest;
}

test('every element of the table has an arbitrary covering exactly its keys', () => {
  for (const t of allTypes()) {
    for (const f of t.fields) {
      const [sample] = fc.sample(elementArb(f), { numRuns: 1, seed: 1 });
      assert.deepEqual(Object.keys(sample).sort(), [...f.keys].sort(), `${t.name} ${f.ie}`);
    }
  }
});

for (const t of allTypes()) {
  test(`decode(encode(x)) = x: ${t.id} ${t.name}`, () => {
    fc.assert(fc.property(asduArb(t, IEC104_OPTIONS), (a) => {
      const b = encodeAsdu(a);
      const r = decodeAsdu(b);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(strip(r.value), a);
      // and the encoding is canonical
      assert.deepEqual(encodeAsdu(r.value), b);
    }), { numRuns: 60 });
  });
}

test('decode(encode(x)) = x for random field widths (cotSize 1|2, caSize 1|2, ioaSize 1|2|3) and every type', () => {
  const arb = optionsArb.chain((o) => fc.constantFrom(...allTypes()).chain((t) => asduArb(t, o).map((a) => [o, a] as [CodecOptions, Asdu])));
  fc.assert(fc.property(arb, ([o, a]) => {
    const b = encodeAsdu(a, o);
    const r = decodeAsdu(b, o);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(strip(r.value), a);
  }), { numRuns: 3000 });
});

test('whole APDUs: decode(encode(x)) = x with sequence numbers', () => {
  const arb = fc.tuple(fc.integer({ min: 0, max: 32767 }), fc.integer({ min: 0, max: 32767 }), fc.constantFrom(...allTypes()).chain((t) => asduArb(t, IEC104_OPTIONS)));
  fc.assert(fc.property(arb, ([s, r0, a]) => {
    const f = encodeIFrame(s, r0, a);
    const r = decodeApdu(f);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(r.value.apci, { format: 'I', sendSeq: s, recvSeq: r0 });
    assert.deepEqual(strip(r.value.asdu!), a);
  }), { numRuns: 1000 });
});

/** A random frame of valid structure: header + objects of random octets with the right lengths. */
const validFrameArb = (o: CodecOptions) => fc.tuple(fc.integer({ min: 1, max: 255 }), fc.boolean(), fc.integer({ min: 0, max: 12 }), fc.uint8Array({ minLength: 260, maxLength: 260 })).map(([typeId, sq, n0, rnd]) => {
  const t = typeInfo(typeId);
  const hs = headerSize(o);
  const out: number[] = [typeId, 0, ...rnd.subarray(0, hs - 2)];
  let k = hs;
  const take = (m: number) => { const x = [...rnd.subarray(k % 200, (k % 200) + m)]; k += m; return x; };
  let n = n0;
  if (!t || t.raw) {
    out.push(...take(n * 3));
  } else {
    const sizeOf = () => t.fields.reduce((s, f) => s + (f.size || 0), 0);
    const varField = t.fields.find((f) => f.size === 0);
    const per = sizeOf() + (varField ? 1 + 10 : 0);
    n = Math.min(n, Math.floor((MAX_ASDU_LENGTH - hs - o.ioaSize) / (per + (sq ? 0 : o.ioaSize))));
    if (sq && n > 0) { const ioa = take(o.ioaSize); ioa[o.ioaSize - 1] &= 0x7f; out.push(...ioa); }
    for (let i = 0; i < n; i++) {
      if (!sq) out.push(...take(o.ioaSize));
      for (const f of t.fields) {
        if (f.size > 0) out.push(...take(f.size));
        else out.push(10, ...take(10));
      }
    }
  }
  out[1] = n | (sq ? 0x80 : 0);
  return Uint8Array.from(out);
});

test('encode(decode(b)) = b for random valid frames (all widths), unless reserved bits or NaN payloads were dropped', () => {
  let identical = 0;
  fc.assert(fc.property(optionsArb.chain((o) => validFrameArb(o).map((b) => [o, b] as const)), ([o, b]) => {
    const r = decodeAsdu(b, o);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const lossy = r.value.warnings?.some((w) => w.code === 'W_RESERVED_BITS' || w.code === 'W_FLOAT_NOT_FINITE');
    const again = encodeAsdu(r.value, o);
    if (!lossy) {
      assert.deepEqual(again, b);
      identical++;
    } else {
      assert.equal(again.length, b.length);
    }
  }), { numRuns: 5000 });
  assert.ok(identical > 1000, `only ${identical} frames without reserved bits`);
});

test('U and S frames: encode(decode(b)) = b', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 32767 }), (n) => {
    const b = Uint8Array.of(0x68, 4, 1, 0, (n << 1) & 0xfe, n >> 7);
    const r = decodeApdu(b);
    assert.ok(r.ok);
    assert.deepEqual(encodeApdu(r.value), b);
  }));
});
