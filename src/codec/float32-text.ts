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
  const text = shortestText(v);
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
/** 10^k, correctly rounded, k = 0..70. */
const POW10: readonly number[] = Array.from({ length: 71 }, (_, k) => Number(`1e${k}`));
/** `x × 10^k` (one rounding: a multiplication or a division by a correctly rounded power). */
function scaled(x: number, k: number): number {
  return k >= 0 ? x * POW10[k] : x / POW10[-k];
}
/** Slack for the rounding of {@link scaled} (values below 1e9 in scaled units): candidates are verified exactly. */
const SLACK = 1e-6;

/**
 * The shortest decimal in the interval of values that read back as the float32 `v` (the
 * midpoints to its neighbours; uneven next to powers of two), nearest to `v` among those of that
 * length. Digit counts p = 1..9 are tried on the grid of p-digit decimals around `v` with plain
 * arithmetic; a candidate is accepted only when `Math.fround(Number(text)) === v` (exact).
 */
function shortestText(v: number): string {
  const av = v < 0 ? -v : v;
  F32[0] = av;
  const bits = U32[0];
  U32[0] = bits - 1;
  const down = F32[0];
  U32[0] = bits + 1;
  const up = F32[0];
  const lo = (av + down) / 2;
  const hi = up === Infinity ? av + (av - down) / 2 : (av + up) / 2;
  let e10 = Math.floor(Math.log10(av));
  if (scaled(av, -e10) < 1) e10--;
  else if (scaled(av, -e10) >= 10) e10++;
  const sign = v < 0 ? '-' : '';
  for (let p = 1; p <= 9; p++) {
    const k = p - 1 - e10;
    const a = scaled(lo, k) - SLACK;
    const b = scaled(hi, k) + SLACK;
    let n = Math.round(scaled(av, k));
    if (n < a) n = Math.ceil(a);
    else if (n > b) n = Math.floor(b);
    if (n < a || n > b) continue;
    if (readsBack(n, k, av)) return decimalText(sign, n, k);
    // the candidate sat on an edge that does not read back: its neighbour inside, if any
    const m = n < scaled(av, k) ? n + 1 : n - 1;
    if (m >= a && m <= b && readsBack(m, k, av)) return decimalText(sign, m, k);
  }
  return String(Number(v.toExponential(8)));
}

/** Whether `n × 10^-k` read as a number (as `Number` parses its text) is the float32 `av`. */
function readsBack(n: number, k: number, av: number): boolean {
  // n < 2^53 and 10^|k| exact (|k| <= 22): one correctly rounded operation, the same double as parsing
  const x = k >= -22 && k <= 22 ? scaled(n, -k) : Number(`${n}e${-k}`);
  return Math.fround(x) === av;
}

/**
 * `String(n × 10^-k)` for an integer n of at most 9 digits, without computing the number: the
 * nearest double of a decimal of at most 15 digits prints as that decimal, so the text follows
 * from the digits and the rules of Number.prototype.toString (plain from 1e-6 to below 1e21,
 * exponent form otherwise).
 */
function decimalText(sign: string, n: number, k: number): string {
  while (n % 10 === 0) {
    n /= 10;
    k--;
  }
  const d = String(n);
  const e = d.length - k; // the value is 0.d × 10^e
  if (e >= d.length && e <= 21) return sign + d + '0'.repeat(e - d.length);
  if (e > 0 && e <= 21) return sign + d.slice(0, e) + '.' + d.slice(e);
  if (e > -6 && e <= 0) return sign + '0.' + '0'.repeat(-e) + d;
  const x = e - 1;
  return sign + d[0] + (d.length > 1 ? '.' + d.slice(1) : '') + 'e' + (x < 0 ? '-' : '+') + Math.abs(x);
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
