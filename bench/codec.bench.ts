/**
 * Codec benchmark: decode and encode of I-frames carrying M_ME_NC_1 (30 objects, SQ=0) and
 * M_SP_TB_1 (CP56Time2a), in information objects per second on one core; and the frame
 * splitter in MB/s.
 */
import { ApduSplitter, cp56FromDate, decodeApdu, encodeIFrame, type Asdu } from '../src/codec/index.js';
import type { BenchResult } from './types.js';

function timeLoop(minMs: number, body: () => number): { opsPerSec: number; iterations: number } {
  // warm-up
  let t0 = performance.now();
  while (performance.now() - t0 < 200) body();
  let n = 0;
  let units = 0;
  t0 = performance.now();
  let el = 0;
  do {
    for (let i = 0; i < 200; i++) units += body();
    n += 200;
    el = performance.now() - t0;
  } while (el < minMs);
  return { opsPerSec: (units / el) * 1000, iterations: n };
}

export function meNc30(): Asdu {
  const objects = [];
  for (let i = 0; i < 30; i++) objects.push({ ioa: 1000 + i * 3, value: 230.5 + i, quality: { iv: false, nt: false, sb: false, bl: false, ov: i === 7 } });
  return { typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects };
}

export function spTb(count: number): Asdu {
  const time = cp56FromDate(new Date(Date.UTC(2026, 10, 21, 13, 5, 7, 123)));
  const objects = [];
  for (let i = 0; i < count; i++) objects.push({ ioa: 2000 + i, value: i % 2 === 0, quality: { iv: false, nt: false, sb: false, bl: false, ov: false }, time });
  return { typeId: 30, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects };
}

export const description = "Decode/encode of whole I-frames (APCI + ASDU) on one core, objects per second; the splitter over a 1 MiB stream of mixed APDUs in 1460-byte chunks.";

export async function run(minMs = 1500): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const workloads: Array<[string, Asdu]> = [
    ['M_ME_NC_1 x30 SQ=0', meNc30()],
    ['M_SP_TB_1 x1 (CP56Time2a)', spTb(1)],
    ['M_SP_TB_1 x22 SQ=0 (CP56Time2a)', spTb(22)],
  ];
  for (const [name, asdu] of workloads) {
    const frame = encodeIFrame(5, 7, asdu);
    const n = asdu.objects.length;
    let sink = 0;
    const dec = timeLoop(minMs, () => {
      const r = decodeApdu(frame);
      if (r.ok) sink += r.value.asdu!.objects.length;
      return n;
    });
    out.push({ name: `decode ${name}`, value: dec.opsPerSec, unit: 'objects/s', note: `${frame.length}-byte APDU, checks on` });
    const decNoCheck = timeLoop(minMs, () => {
      const r = decodeApdu(frame, undefined, false);
      if (r.ok) sink += 1;
      return n;
    });
    out.push({ name: `decode ${name} (no semantic checks)`, value: decNoCheck.opsPerSec, unit: 'objects/s' });
    const enc = timeLoop(minMs, () => {
      sink += encodeIFrame(5, 7, asdu).length;
      return n;
    });
    out.push({ name: `encode ${name}`, value: enc.opsPerSec, unit: 'objects/s' });
    if (sink === -1) console.log(sink);
  }
  // splitter: a 1 MiB stream of mixed APDUs, in 1460-byte chunks (TCP segment size)
  const frames = [encodeIFrame(1, 1, meNc30()), encodeIFrame(1, 1, spTb(1)), Uint8Array.from([0x68, 4, 1, 0, 2, 0])];
  const stream = new Uint8Array(1 << 20);
  let p = 0;
  for (let i = 0; p < stream.length; i++) {
    const f = frames[i % 3];
    if (p + f.length > stream.length) break;
    stream.set(f, p);
    p += f.length;
  }
  const used = stream.subarray(0, p);
  let count = 0;
  const s = new ApduSplitter({ frame: () => void count++ });
  const sp = timeLoop(minMs, () => {
    for (let o = 0; o < used.length; o += 1460) s.push(used.subarray(o, Math.min(o + 1460, used.length)));
    return used.length;
  });
  out.push({ name: 'frame splitter (1460-byte chunks, mixed APDUs)', value: sp.opsPerSec / 1e6, unit: 'MB/s' });
  return out;
}
