/**
 * Text of IEEE 754 short floats (R32: M_ME_NC_1, M_ME_TC_1, M_ME_TF_1, C_SE_NC_1, C_SE_TC_1,
 * P_ME_NC_1). A short float widened to a JavaScript number prints with up to 17 digits
 * (`3.140000104904175`); every printer of the toolkit shows instead the shortest decimal text that
 * reads back as the same float32 (`3.14`): `Math.fround(Number(text)) === value`.
 */

/**
 * Shortest decimal text that reads back as the same float32: `Math.fround(Number(text))` is
 * `v` (with its sign, `-0` included), and no text with fewer significant digits does that.
 * Non-finite values give `NaN`, `Infinity`, `-Infinity`; a number that is not a float32 gives
 * `String(v)`. Numbers are written as `String` writes them (`0.1`, `1e-45`, `3.4028235e+38`),
 * so the text is also a JSON number (except the non-finite ones).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { formatFloat32 } from 'iec104';
 * assert.equal(formatFloat32(Math.fround(3.14)), '3.14');
 * assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
 * ```
 */
export function formatFloat32(v: number): string {
  if (v !== v || v === Infinity || v === -Infinity) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  if (Math.fround(v) !== v) return String(v);
  // integers that a float32 holds exactly print as they are (counts, set-points)
  if (v === Math.trunc(v) && v > -1e7 && v < 1e7) return String(v);
  F32[0] = v;
  const bits = U32[0];
  const slot = bits & (CACHE_SIZE - 1);
  if (cacheBits[slot] === bits && cacheText[slot] !== undefined) return cacheText[slot]!;
  const text = (bits & 0x7fffff) === 0 ? powerOfTwoText(v) : shortestText(v);
  cacheBits[slot] = bits;
  cacheText[slot] = text;
  return text;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** Recently formatted values (direct-mapped by their low bits): captures repeat values a lot. */
const CACHE_SIZE = 1024;
const cacheBits = new Uint32Array(CACHE_SIZE);
const cacheText: Array<string | undefined> = new Array<string | undefined>(CACHE_SIZE).fill(undefined);

/** Whether the nearest decimal of `p` significant digits reads back as `v`. */
function nearestReadsBack(v: number, p: number): number | undefined {
  const x = Number(v.toExponential(p - 1));
  return Math.fround(x) === v ? x : undefined;
}

/**
 * `v` not a power of two: the values that read back as `v` lie evenly around it, so some p-digit
 * decimal reads back exactly when the nearest one does, and then the nearest of p + 1 digits does
 * too; the fewest digits are found by bisection (9 always suffice for a float32).
 */
function shortestText(v: number): string {
  let lo = 1;
  let hi = 9;
  let found: number | undefined;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const x = nearestReadsBack(v, mid);
    if (x !== undefined) {
      hi = mid;
      found = x;
    } else lo = mid + 1;
  }
  // `found` is the decimal of `hi` digits; never set: 9 digits, which always read back
  return String(found ?? Number(v.toExponential(8)));
}

/**
 * `v` a power of two: the gap below it is half the gap above, so the nearest p-digit decimal can
 * miss (on the narrow side) while its neighbour on the other side of `v` reads back: each length
 * is tried with the nearest decimal and both neighbours (and the finer grid below a power of ten,
 * when the rounding carried into the next decade).
 */
function powerOfTwoText(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const t = v.toExponential(p - 1);
    if (Math.fround(Number(t)) === v) return String(Number(t));
    const e = t.indexOf('e');
    const neg = v < 0;
    const digits = Number(t.slice(neg ? 1 : 0, e).replace('.', ''));
    const exp = Number(t.slice(e + 1)) - (p - 1);
    const sign = neg ? '-' : '';
    const near = [`${sign}${digits + 1}e${exp}`, `${sign}${digits - 1}e${exp}`];
    if (digits === 10 ** (p - 1)) near.push(`${sign}${10 ** p - 1}e${exp - 1}`);
    for (const c of near) {
      const x = Number(c);
      if (Math.fround(x) === v) return String(x);
    }
  }
  return String(v);
}

/**
 * The number whose shortest text (`String`, `JSON.stringify`) is {@link formatFloat32}'s text of
 * `v`: `3.14` for the float32 nearest 3.14. Storing it back as a float32 gives `v` again. For the
 * JSON views: `JSON.stringify({ value: float32Number(v) })` is `{"value":3.14}`. Non-finite and
 * non-float32 numbers are returned unchanged.
 */
export function float32Number(v: number): number {
  if (v !== v || v === Infinity || v === -Infinity || v === 0) return v;
  return Number(formatFloat32(v));
}
