/** Shared helpers of the capture tests: IEC 104 frames and small sessions. */
import { encodeApdu, encodeSFrame, encodeUFrame } from '../../src/codec/index.js';
import { PassThrough } from 'node:stream';
import { concatBytes } from '../../src/capture/writer.js';
import { type AnalyzeIo, runAnalyze } from '../../src/cli/analyze.js';

export const STARTDT_ACT = encodeUFrame('STARTDT_ACT');
export const STARTDT_CON = encodeUFrame('STARTDT_CON');
export const sFrame = (n: number): Uint8Array => encodeSFrame(n);

/** C_IC_NA_1 act (master) or actcon (station). */
export function gi(sendSeq: number, recvSeq: number, cot = 6, ca = 1): Uint8Array {
  return encodeApdu({ apci: { format: 'I', sendSeq, recvSeq }, asdu: { typeId: 100, sq: false, cot, negative: false, test: false, originator: 0, ca, objects: [{ ioa: 0, qoi: 20 }] } });
}

/** M_ME_NC_1 spontaneous from the station with `n` objects starting at IOA `ioa`. */
export function floats(sendSeq: number, recvSeq: number, ioa: number, n = 1, ca = 1): Uint8Array {
  const objects = Array.from({ length: n }, (_, i) => ({ ioa: ioa + i, value: i + 0.5, quality: { ov: false, bl: false, sb: false, nt: false, iv: false } }));
  return encodeApdu({ apci: { format: 'I', sendSeq, recvSeq }, asdu: { typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca, objects } });
}

/** A typical conversation: master STARTDT, station CON, master GI, station actcon + 2 measurements + actterm, master S. */
export function conversation(): Array<{ side: 'client' | 'server'; bytes: Uint8Array }> {
  return [
    { side: 'client', bytes: STARTDT_ACT },
    { side: 'server', bytes: STARTDT_CON },
    { side: 'client', bytes: gi(0, 0) },
    { side: 'server', bytes: concatBytes(gi(0, 1, 7), floats(1, 1, 100, 3)) },
    { side: 'server', bytes: concatBytes(floats(2, 1, 200, 2), gi(3, 1, 10)) },
    { side: 'client', bytes: sFrame(4) },
  ];
}

/** Short description of an APDU record, for comparisons. */
export function describe(r: { frame: number; apdu?: { apci: { format: string }; asdu?: { typeId: number; cot: number; objects: Array<{ ioa: number }> } }; error?: { code: string } }): string {
  if (!r.apdu) return `${r.frame}:ERR:${r.error?.code}`;
  const a = r.apdu.asdu;
  return `${r.frame}:${r.apdu.apci.format}${a ? `:${a.typeId}/${a.cot}/${a.objects.map((o) => o.ioa).join(',')}` : ''}`;
}

/**
 * Run `iec104 analyze` in-process on a capture held in memory (fed in `chunk`-octet pieces when
 * `chunk` > 0); extra `io` fields (policy files, thread batch size) are passed through.
 */
export async function runAnalyzeOn(
  argv: string[],
  input: Uint8Array,
  chunk = 0,
  io: Omit<Partial<AnalyzeIo>, 'stdout' | 'stderr' | 'open'> = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  const code = await runAnalyze(argv, {
    stdout,
    stderr: { write: (s: string) => (err += s) },
    open: async function* () {
      if (chunk > 0) for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk);
      else yield input;
    },
    ...io,
  });
  return { code, out, err };
}
