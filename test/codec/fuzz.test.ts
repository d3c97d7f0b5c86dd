import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApduSplitter, CodecError, decodeApdu } from '../../src/codec/index.js';
import { checkFrame, mutate, prng, seedCorpus } from './mutate.js';

const corpus = seedCorpus();

test('seed corpus passes every invariant unmutated', () => {
  const rnd = prng(1);
  assert.ok(corpus.length > 150);
  for (const f of corpus) assert.equal(checkFrame(f, rnd), 'ok');
});

test('120,000 mutated and random frames through decodeApdu: never throws, typed errors, no read past the input', () => {
  const rnd = prng(0xc0dec);
  const hist = new Map<string, number>();
  for (let i = 0; i < 120_000; i++) {
    const f = mutate(corpus[i % corpus.length], rnd, corpus);
    const code = checkFrame(f, rnd);
    hist.set(code, (hist.get(code) ?? 0) + 1);
  }
  // the mutations reach both successful decodes and the structural errors
  for (const c of ['ok', 'E_TRUNCATED', 'E_APDU_LENGTH', 'E_ASDU_LENGTH', 'E_CONTROL_FIELD', 'E_START_BYTE']) assert.ok((hist.get(c) ?? 0) > 50, `${c}: ${hist.get(c)}`);
});

test('error offsets point into the frame for truncations of every vector', () => {
  for (const f of corpus) {
    for (let n = 0; n < f.length; n++) {
      const r = decodeApdu(f.subarray(0, n));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.ok(r.error instanceof CodecError);
        assert.ok(r.error.offset <= n);
      }
    }
  }
});

test('mutated streams through the splitter: never throws, bounded, every byte accounted for', () => {
  const rnd = prng(42);
  for (let round = 0; round < 400; round++) {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 60; k++) parts.push(rnd() < 0.7 ? corpus[(rnd() * corpus.length) | 0] : mutate(corpus[(rnd() * corpus.length) | 0], rnd, corpus));
    const total = parts.reduce((s, p) => s + p.length, 0);
    const stream = new Uint8Array(total);
    let k = 0;
    for (const p of parts) { stream.set(p, k); k += p.length; }
    let framed = 0;
    let junk = 0;
    let lastEnd = 0;
    const s = new ApduSplitter({
      frame: (f, at) => {
        assert.ok(f[0] === 0x68 && f[1] >= 4 && f[1] <= 253 && f.length === f[1] + 2);
        assert.ok(at >= lastEnd);
        assert.deepEqual(f, stream.subarray(at, at + f.length));
        lastEnd = at + f.length;
        framed += f.length;
        const r = decodeApdu(f);
        assert.ok(r.ok || r.error instanceof CodecError);
      },
      junk: (j, at) => { assert.deepEqual(j, stream.subarray(at, at + j.length)); junk += j.length; },
      error: (e) => assert.equal(e.code, 'E_APDU_LENGTH'),
    });
    for (let p = 0; p < total;) {
      const n = 1 + ((rnd() * 300) | 0);
      s.push(stream.subarray(p, p + n));
      assert.ok(s.buffered <= 254);
      p += n;
    }
    assert.equal(framed + junk + s.buffered, total);
    assert.equal(s.junkBytes, junk);
  }
});
