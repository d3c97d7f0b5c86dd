/**
 * Fuzzing helpers shared by test/codec/fuzz.test.ts and scripts/fuzz.ts: a seeded PRNG, a seed
 * corpus (the tshark fixture vectors plus one encoded sample per type), structure-aware mutations
 * and the invariant check run on every frame.
 */
import { readFileSync } from 'node:fs';
import { type Apdu, allTypes, CodecError, decodeApdu, encodeApdu, encodeIFrame, type DecodeResult } from '../../src/codec/index.js';
import { sampleAsdu } from './samples.js';

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid APDUs to mutate. */
export function seedCorpus(): Uint8Array[] {
  const fx = JSON.parse(readFileSync(new URL('../fixtures/tshark-vectors.json', import.meta.url), 'utf8')) as { vectors: Array<{ hex: string }> };
  const out: Uint8Array[] = fx.vectors.map((v) => Uint8Array.from(Buffer.from(v.hex, "hex")));
  for (const t of allTypes()) if (!t.raw) out.push(encodeIFrame(5, 9, sampleAsdu(t, t.sqAllowed, 1, t.id)));
  return out;
}

export const MUTATIONS = ['bitflip', 'byte', 'truncate', 'extend', 'length', 'vsq-count', 'sq-flip', 'type', 'splice', 'random'] as const;

/** One mutated copy of `f` (several mutations stacked at random). */
export function mutate(f: Uint8Array, rnd: () => number, corpus: readonly Uint8Array[]): Uint8Array {
  let b = f.slice();
  const r = (n: number) => Math.floor(rnd() * n);
  const rounds = 1 + r(3);
  for (let k = 0; k < rounds; k++) {
    switch (MUTATIONS[r(MUTATIONS.length)]) {
      case 'bitflip': if (b.length) b[r(b.length)] ^= 1 << r(8); break;
      case 'byte': if (b.length) b[r(b.length)] = r(256); break;
      case 'truncate': b = b.slice(0, r(b.length + 1)); break;
      case 'extend': { const x = new Uint8Array(b.length + 1 + r(8)); x.set(b); for (let i = b.length; i < x.length; i++) x[i] = r(256); b = x; break; }
      case 'length': if (b.length > 1) b[1] = rnd() < 0.5 ? (b[1] + r(5) - 2) & 0xff : r(256); break;
      case 'vsq-count': if (b.length > 7) b[7] = (b[7] & 0x80) | ((b[7] & 0x7f) + r(5) - 2) & 0x7f; break;
      case 'sq-flip': if (b.length > 7) b[7] ^= 0x80; break;
      case 'type': if (b.length > 6) b[6] = r(256); break;
      case 'splice': { const o = corpus[r(corpus.length)]; const cut = r(b.length + 1); b = Uint8Array.from([...b.subarray(0, cut), ...o.subarray(r(o.length + 1))]); break; }
      case 'random': b = Uint8Array.from({ length: r(40) }, () => r(256)); if (b.length > 1 && rnd() < 0.5) { b[0] = 0x68; b[1] = b.length - 2; } break;
    }
  }
  // keep the length octet consistent half of the time so the ASDU decoder is reached
  if (b.length >= 6 && b.length <= 255 && rnd() < 0.5) { b[0] = 0x68; b[1] = b.length - 2; }
  return b;
}

function stable(r: DecodeResult<Apdu>): string {
  return JSON.stringify(r.ok ? r.value : r.error.toJSON(), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/**
 * Run every invariant on one input: decodeApdu never throws; errors are CodecErrors with an
 * offset inside the input; the result does not depend on bytes past the end of a subarray view;
 * a successful decode without dropped bits re-encodes byte-identical. Returns the error code or
 * 'ok'. Throws (an assertion failure) when an invariant breaks.
 */
export function checkFrame(b: Uint8Array, rnd: () => number): string {
  let r: DecodeResult<Apdu>;
  try {
    r = decodeApdu(b);
  } catch (e) {
    throw new Error(`decodeApdu threw on ${Buffer.from(b).toString('hex')}: ${String(e)}`);
  }
  // a view into a larger buffer with junk after its end must decode the same
  const big = new Uint8Array(b.length + 300);
  const at = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < big.length; i++) big[i] = (rnd() * 256) | 0;
  big.set(b, at);
  const view = big.subarray(at, at + b.length);
  const r2 = decodeApdu(view);
  const s1 = stable(r);
  if (stable(r2) !== s1) throw new Error(`result depends on bytes outside the input: ${Buffer.from(b).toString('hex')}`);
  if (!r.ok) {
    if (!(r.error instanceof CodecError)) throw new Error('error is not a CodecError');
    if (r.error.offset < 0 || r.error.offset > b.length) throw new Error(`error offset ${r.error.offset} outside 0..${b.length}`);
    return r.error.code;
  }
  const ws = r.value.asdu?.warnings;
  if (ws) for (const w of ws) if (w.offset < 0 || w.offset >= b.length) throw new Error(`warning ${w.code} offset ${w.offset} outside the input`);
  if (!ws?.some((w) => w.code === 'W_RESERVED_BITS' || w.code === 'W_FLOAT_NOT_FINITE')) {
    const again = encodeApdu(r.value);
    if (Buffer.compare(Buffer.from(again), Buffer.from(b)) !== 0) throw new Error(`re-encode differs: ${Buffer.from(b).toString('hex')} -> ${Buffer.from(again).toString('hex')}`);
  }
  return 'ok';
}
