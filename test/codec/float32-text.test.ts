/**
 * Shortest text of short floats (issue 10, item 7: `3.140000104904175` must print as `3.14`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { float32Number, formatFloat32 } from '../../src/codec/float32-text.js';

/** Significant digits of a decimal text (`0.00120` → 2, `3.4028235e+38` → 8, `1000` → 1). */
function significantDigits(s: string): number {
  const m = s.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.max(1, m.length);
}

/** The float32 next to `v` towards +∞ (`up`) or −∞. */
function nextFloat32(v: number, up: boolean): number {
  const f = new Float32Array([v]);
  const i = new Int32Array(f.buffer);
  if (v === 0) {
    i[0] = up ? 1 : -2147483647; // smallest subnormals
    return f[0];
  }
  i[0] += (v > 0) === up ? 1 : -1;
  return f[0];
}

/**
 * Some decimal with at most `k` significant digits that reads back as `v`, or undefined. Every
 * decimal that reads back as v lies between the midpoints to the neighbouring float32 values;
 * the k-digit decimals there are searched on the grids of the exponents around v.
 */
function shorterThatRoundTrips(v: number, k: number): string | undefined {
  const lo = (v + nextFloat32(v, false)) / 2;
  const hi = (v + nextFloat32(v, true)) / 2;
  const e = Math.floor(Math.log10(Math.abs(v)));
  for (let q = e - k - 1; q <= e - k + 2; q++) {
    const step = 10 ** q;
    const a = Math.floor(Math.min(lo, hi) / step);
    const b = Math.ceil(Math.max(lo, hi) / step);
    if (b - a > 50) continue; // the grid is much finer than the interval: more than k digits apart
    for (let n = a - 1; n <= b + 1; n++) {
      const text = `${n}e${q}`;
      if (significantDigits(String(Math.abs(n))) > k) continue;
      if (Math.fround(Number(text)) === v) return text;
    }
  }
  return undefined;
}

test('short floats print as the shortest text that reads back: 3.14, 0.1, 9.87, 49.98', () => {
  assert.equal(formatFloat32(Math.fround(3.14)), '3.14');
  assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
  assert.equal(formatFloat32(Math.fround(9.87)), '9.87');
  assert.equal(formatFloat32(Math.fround(49.98)), '49.98');
  assert.equal(formatFloat32(Math.fround(-273.15)), '-273.15');
  assert.equal(formatFloat32(16777216), '16777216');
  assert.equal(formatFloat32(Math.fround(3.4028234663852886e38)), '3.4028235e+38');
  assert.equal(formatFloat32(Math.fround(1.401298464324817e-45)), '1e-45');
  assert.equal(formatFloat32(0), '0');
  assert.equal(formatFloat32(-0), '-0');
  assert.equal(formatFloat32(NaN), 'NaN');
  assert.equal(formatFloat32(-Infinity), '-Infinity');
  assert.equal(formatFloat32(0.1), '0.1', 'a double that is no float32 prints as String does');
  assert.equal(JSON.stringify({ v: float32Number(Math.fround(3.14)) }), '{"v":3.14}');
});

test('powers of two (uneven gaps around them) still get their shortest text', () => {
  for (let e = -149; e <= 127; e++) {
    const v = 2 ** e;
    const s = formatFloat32(v);
    assert.equal(Math.fround(Number(s)), v, `2^${e}: ${s}`);
    const d = significantDigits(s);
    if (d > 1) assert.equal(shorterThatRoundTrips(v, d - 1), undefined, `2^${e}: ${s} has a shorter form`);
  }
});

test('property: every float32 reads back from its text, and no shorter text does', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
      const s = formatFloat32(v);
      assert.ok(Object.is(Math.fround(Number(s)), v), `${v} → ${s}`);
      assert.ok(Object.is(Math.fround(float32Number(v)), v));
      if (v === 0) return;
      const d = significantDigits(s);
      if (d > 1) assert.equal(shorterThatRoundTrips(v, d - 1), undefined, `${v} → ${s}: a text with ${d - 1} digits reads back too`);
    }),
    { numRuns: 20000 },
  );
});

test('property: float32 values from raw bit patterns (all exponents equally likely)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const v = new Float32Array(new Uint32Array([bits]).buffer)[0];
      if (!Number.isFinite(v)) return;
      const s = formatFloat32(v);
      assert.ok(Object.is(Math.fround(Number(s)), v), `${v} → ${s}`);
      if (v === 0) return;
      const d = significantDigits(s);
      if (d > 1) assert.equal(shorterThatRoundTrips(v, d - 1), undefined, `${v} → ${s}`);
    }),
    { numRuns: 20000 },
  );
});
