/**
 * Whole APDUs: APCI + optional ASDU.
 */
import { type Apci, decodeControlField, MAX_APDU_LENGTH, MIN_APDU_LENGTH, START_BYTE, writeControlField } from './apci.js';
import { type Asdu, asduSize, decodeAsduAt, decodeAsduBody, encodeAsduInto } from './asdu.js';
import { CodecError, type DecodeResult, fail, hex2 } from './errors.js';
import { type CodecOptions, IEC104_OPTIONS } from './options.js';

/** A decoded APDU. `asdu` is present on I-frames. */
export type Apdu =
  | { apci: Extract<Apci, { format: 'I' }>; asdu: Asdu }
  | { apci: Extract<Apci, { format: 'S' | 'U' }>; asdu?: undefined };

/**
 * Decode one complete APDU (`68 LL` + LL octets). The input must hold exactly one APDU; use
 * {@link ApduSplitter} to cut a stream. Never throws: returns a typed error with the byte offset.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { decodeApdu } from 'iec104';
 * const r = decodeApdu(Uint8Array.from([0x68, 0x04, 0x07, 0x00, 0x00, 0x00]));
 * assert.ok(r.ok);
 * assert.deepEqual(r.value.apci, { format: 'U', uFunction: 'STARTDT_ACT' });
 * const bad = decodeApdu(Uint8Array.from([0x68, 0x02, 0x07, 0x00]));
 * assert.ok(!bad.ok && bad.error.code === 'E_APDU_LENGTH' && bad.error.offset === 1);
 * ```
 */
export function decodeApdu(b: Uint8Array, o: CodecOptions = IEC104_OPTIONS, checks = true): DecodeResult<Apdu> {
  if (b.length < 1) return fail('E_TRUNCATED', 0, 'start byte', '0x68', 'end of input');
  if (b[0] !== START_BYTE) return fail('E_START_BYTE', 0, 'start byte', '0x68', hex2(b[0]));
  if (b.length < 2) return fail('E_TRUNCATED', 1, 'APDU length', 'one octet', 'end of input');
  const len = b[1];
  if (len < MIN_APDU_LENGTH || len > MAX_APDU_LENGTH) return fail('E_APDU_LENGTH', 1, 'APDU length', `${MIN_APDU_LENGTH}..${MAX_APDU_LENGTH}`, String(len));
  if (b.length < len + 2) return fail('E_TRUNCATED', b.length, 'APDU', `${len + 2} octets (length octet ${len})`, `${b.length} octets`);
  if (b.length > len + 2) return fail('E_APDU_LENGTH', 1, 'APDU length', `${b.length - 2} (the octets that follow)`, String(len));
  if ((b[2] & 1) === 0 && (b[4] & 1) === 0 && len > 4) {
    // I-frame fast path (the common case): no intermediate result objects
    const a = decodeAsduBody(b, 6, len + 2, o, checks);
    if (a instanceof CodecError) return { ok: false, error: a };
    return { ok: true, value: { apci: { format: 'I', sendSeq: (b[2] >>> 1) | (b[3] << 7), recvSeq: (b[4] >>> 1) | (b[5] << 7) }, asdu: a } };
  }
  const c = decodeControlField(b, 2, len);
  if (!c.ok) return c;
  const apci = c.value;
  if (apci.format !== 'I') return { ok: true, value: { apci } };
  const a = decodeAsduAt(b, 6, len + 2, o, checks);
  if (!a.ok) return a;
  return { ok: true, value: { apci, asdu: a.value } };
}

/**
 * Encode an APDU. For an I-frame, writes APCI and ASDU into one buffer. Throws
 * {@link CodecError} for values that cannot be sent (`E_VALUE_RANGE` naming the field).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { encodeApdu } from 'iec104';
 * const bytes = encodeApdu({
 *   apci: { format: 'I', sendSeq: 0, recvSeq: 0 },
 *   asdu: { typeId: 100, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 0, qoi: 20 }] },
 * });
 * assert.equal(Buffer.from(bytes).toString('hex'), '680e0000000064010600010000000014');
 * ```
 */
export function encodeApdu(a: Apdu, o: CodecOptions = IEC104_OPTIONS): Uint8Array {
  if (a.apci.format !== 'I') {
    const b = new Uint8Array(6);
    b[0] = START_BYTE;
    b[1] = 4;
    writeControlField(a.apci, b, 2);
    return b;
  }
  if (!a.asdu) throw new CodecError('E_ENCODE_TYPE', 0, 'asdu', 'an ASDU for an I-frame', 'none');
  return encodeIFrame(a.apci.sendSeq, a.apci.recvSeq, a.asdu, o);
}

/** Encode an I-frame with the given sequence numbers. */
export function encodeIFrame(sendSeq: number, recvSeq: number, asdu: Asdu, o: CodecOptions = IEC104_OPTIONS): Uint8Array {
  const size = asduSize(asdu, o);
  if (size + 4 > MAX_APDU_LENGTH) throw new CodecError('E_VALUE_RANGE', 0, 'ASDU length', `at most ${MAX_APDU_LENGTH - 4} octets (split the objects over several ASDUs)`, `${size} octets`);
  const b = new Uint8Array(size + 6);
  b[0] = START_BYTE;
  b[1] = size + 4;
  writeControlField({ format: 'I', sendSeq, recvSeq }, b, 2);
  encodeAsduInto(asdu, b, 6, o);
  return b;
}

/**
 * Re-stamp the sequence numbers of an already encoded I-frame in place (the link layer encodes an
 * ASDU once and fixes N(S)/N(R) when it actually sends it).
 */
export function setIFrameSeq(frame: Uint8Array, sendSeq: number, recvSeq: number): void {
  writeControlField({ format: 'I', sendSeq, recvSeq }, frame, 2);
}
