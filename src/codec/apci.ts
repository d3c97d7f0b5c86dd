import { type DecodeResult, fail, hex2 } from './errors.js';

/** Start byte of every APDU. */
export const START_BYTE = 0x68;
/** Smallest value of the APDU length octet (control field only). */
export const MIN_APDU_LENGTH = 4;
/** Largest value of the APDU length octet (IEC 60870-5-104 clause 5). */
export const MAX_APDU_LENGTH = 253;
/** Largest ASDU that fits in an I-frame. */
export const MAX_ASDU_LENGTH = MAX_APDU_LENGTH - 4;
/** Sequence numbers are 15 bits and wrap at this modulus. */
export const SEQ_MODULO = 32768;

/** U-format functions; the value is the bit in the first control octet. */
export const U_FUNCTIONS = {
  STARTDT_ACT: 0x04,
  STARTDT_CON: 0x08,
  STOPDT_ACT: 0x10,
  STOPDT_CON: 0x20,
  TESTFR_ACT: 0x40,
  TESTFR_CON: 0x80,
} as const;

/** Name of a U-format function. */
export type UFunction = keyof typeof U_FUNCTIONS;

const U_BY_BIT = new Map<number, UFunction>(Object.entries(U_FUNCTIONS).map(([k, v]) => [v, k as UFunction]));

/** The control field of an APDU, decoded. */
export type Apci =
  | { format: 'I'; sendSeq: number; recvSeq: number }
  | { format: 'S'; recvSeq: number }
  | { format: 'U'; uFunction: UFunction };

/**
 * Decode the 4 control octets at `offset` of `b` (the caller has checked 4 bytes are there).
 * `length` is the APDU length octet, used to check that S/U frames carry nothing else and
 * I-frames carry an ASDU.
 */
export function decodeControlField(b: Uint8Array, offset: number, length: number): DecodeResult<Apci> {
  const c1 = b[offset];
  const c2 = b[offset + 1];
  const c3 = b[offset + 2];
  const c4 = b[offset + 3];
  if ((c1 & 1) === 0) {
    if ((c3 & 1) !== 0) return fail('E_CONTROL_FIELD', offset + 2, 'control field octet 3', 'bit 0 = 0 (reserved) in an I-frame', hex2(c3));
    if (length <= 4) return fail('E_APDU_LENGTH', offset - 1, 'APDU length', 'more than 4 for an I-frame (an ASDU must follow)', String(length));
    return { ok: true, value: { format: 'I', sendSeq: (c1 >>> 1) | (c2 << 7), recvSeq: (c3 >>> 1) | (c4 << 7) } };
  }
  if ((c1 & 3) === 1) {
    if (c1 !== 1 || c2 !== 0) return fail('E_CONTROL_FIELD', offset, 'control field octets 1-2', '01 00 in an S-frame', `${hex2(c1)} ${hex2(c2)}`);
    if ((c3 & 1) !== 0) return fail('E_CONTROL_FIELD', offset + 2, 'control field octet 3', 'bit 0 = 0 (reserved) in an S-frame', hex2(c3));
    if (length !== 4) return fail('E_APDU_LENGTH', offset - 1, 'APDU length', '4 for an S-frame', String(length));
    return { ok: true, value: { format: 'S', recvSeq: (c3 >>> 1) | (c4 << 7) } };
  }
  const fn = U_BY_BIT.get(c1 & 0xfc);
  if (fn === undefined) return fail('E_CONTROL_FIELD', offset, 'U-format function', 'exactly one of STARTDT/STOPDT/TESTFR act/con (0x07,0x0B,0x13,0x23,0x43,0x83)', hex2(c1));
  if (c2 !== 0 || c3 !== 0 || c4 !== 0) return fail('E_CONTROL_FIELD', offset + 1, 'control field octets 2-4', '00 00 00 in a U-frame', `${hex2(c2)} ${hex2(c3)} ${hex2(c4)}`);
  if (length !== 4) return fail('E_APDU_LENGTH', offset - 1, 'APDU length', '4 for a U-frame', String(length));
  return { ok: true, value: { format: 'U', uFunction: fn } };
}

/** Write the 4 control octets of `apci` at `offset`. Sequence numbers are taken modulo 32768. */
export function writeControlField(apci: Apci, b: Uint8Array, offset: number): void {
  switch (apci.format) {
    case 'I': {
      const s = apci.sendSeq & 0x7fff;
      const r = apci.recvSeq & 0x7fff;
      b[offset] = (s << 1) & 0xfe;
      b[offset + 1] = s >>> 7;
      b[offset + 2] = (r << 1) & 0xfe;
      b[offset + 3] = r >>> 7;
      return;
    }
    case 'S': {
      const r = apci.recvSeq & 0x7fff;
      b[offset] = 1;
      b[offset + 1] = 0;
      b[offset + 2] = (r << 1) & 0xfe;
      b[offset + 3] = r >>> 7;
      return;
    }
    case 'U':
      b[offset] = U_FUNCTIONS[apci.uFunction] | 3;
      b[offset + 1] = 0;
      b[offset + 2] = 0;
      b[offset + 3] = 0;
  }
}

/** A complete S-frame (6 bytes) acknowledging up to `recvSeq`. */
export function encodeSFrame(recvSeq: number): Uint8Array {
  const b = new Uint8Array(6);
  b[0] = START_BYTE;
  b[1] = 4;
  writeControlField({ format: 'S', recvSeq }, b, 2);
  return b;
}

const U_FRAMES = new Map<UFunction, Uint8Array>();
/** A complete U-frame (6 bytes). The returned array is shared: do not modify it. */
export function encodeUFrame(fn: UFunction): Uint8Array {
  let f = U_FRAMES.get(fn);
  if (f === undefined) {
    f = new Uint8Array([START_BYTE, 4, U_FUNCTIONS[fn] | 3, 0, 0, 0]);
    U_FRAMES.set(fn, f);
  }
  return f;
}

/** (a - b) mod 32768: how far sequence number `a` is ahead of `b`. */
export function seqDistance(a: number, b: number): number {
  return (a - b + SEQ_MODULO) & 0x7fff;
}
