/**
 * Long fuzz run of the codec (npm run fuzz -- [--seed N] [--count N] [--full-every N]).
 *
 * Mutates the seed corpus (test/fixtures/tshark-vectors.json plus one sample per type) with bit
 * flips, truncation, length-octet and VSQ changes, SQ flips, splices and random frames, and feeds
 * every frame to decodeApdu (which must never throw and must return a CodecError on failure).
 * Every `--full-every`-th frame also runs the full invariant check (no read past the input,
 * byte-identical re-encode) and all frames are streamed through an ApduSplitter in random chunks.
 * Prints frames/s and the histogram of results. Exit code 1 on the first broken invariant.
 */
import { ApduSplitter, CodecError, decodeApdu } from '../src/codec/index.js';
import { checkFrame, mutate, prng, seedCorpus } from '../test/codec/mutate.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}
const seed = arg('seed', Date.now() & 0x7fffffff);
const count = arg('count', 10_000_000);
const fullEvery = Math.max(1, arg('full-every', 16));

const corpus = seedCorpus();
const rnd = prng(seed);
const hist = new Map<string, number>();
let splitterFrames = 0;
const splitter = new ApduSplitter({
  frame: (f) => {
    splitterFrames++;
    const r = decodeApdu(f);
    if (!r.ok && !(r.error instanceof CodecError)) throw new Error('splitter frame: non-CodecError');
  },
});
const started = process.hrtime.bigint();
let last = Date.now();
let bytes = 0;
try {
  for (let i = 0; i < count; i++) {
    const f = mutate(corpus[i % corpus.length], rnd, corpus);
    bytes += f.length;
    let code: string;
    if (i % fullEvery === 0) code = checkFrame(f, rnd);
    else {
      const r = decodeApdu(f);
      if (!r.ok && !(r.error instanceof CodecError)) throw new Error(`non-CodecError for ${Buffer.from(f).toString('hex')}`);
      code = r.ok ? 'ok' : r.error.code;
    }
    hist.set(code, (hist.get(code) ?? 0) + 1);
    splitter.push(f);
    if (splitter.buffered > 254) throw new Error('splitter buffered more than 254 bytes');
    if ((i & 0xffff) === 0 && Date.now() - last > 5000) {
      last = Date.now();
      console.error(`  ${i.toLocaleString('en')} frames...`);
    }
  }
} catch (e) {
  console.error(`FAILED (seed ${seed}): ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
const secs = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`seed ${seed}: ${count.toLocaleString('en')} frames (${(bytes / 1e6).toFixed(1)} MB) in ${secs.toFixed(1)} s = ${Math.round(count / secs).toLocaleString('en')} frames/s; full invariant check on every ${fullEvery}th frame; splitter emitted ${splitterFrames.toLocaleString('en')} frames, skipped ${splitter.junkBytes.toLocaleString('en')} junk bytes`);
console.log('result histogram:');
for (const [k, v] of [...hist].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(16)} ${String(v).padStart(10)}  ${((100 * v) / count).toFixed(2)}%`);
