import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError, decodeApdu, decodeControlField, encodeApdu, encodeIFrame, encodeSFrame, encodeUFrame, seqDistance, setIFrameSeq,
  U_FUNCTIONS, type UFunction, type DecodeResult, type Apdu,
} from '../../src/codec/index.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
function err<T>(r: DecodeResult<T>): CodecError {
  assert.equal(r.ok, false, 'expected a decode error');
  if (r.ok) throw new Error('unreachable');
  assert.ok(r.error instanceof CodecError);
  return r.error;
}
const IC = { typeId: 100, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 0, qoi: 20 }] };

test('U-frames: every function encodes to its documented octet and decodes back', () => {
  const expect: Record<UFunction, number> = { STARTDT_ACT: 0x07, STARTDT_CON: 0x0b, STOPDT_ACT: 0x13, STOPDT_CON: 0x23, TESTFR_ACT: 0x43, TESTFR_CON: 0x83 };
  for (const fn of Object.keys(U_FUNCTIONS) as UFunction[]) {
    const f = encodeUFrame(fn);
    assert.deepEqual([...f], [0x68, 4, expect[fn], 0, 0, 0]);
    assert.deepEqual([...encodeApdu({ apci: { format: 'U', uFunction: fn } })], [...f]);
    const r = decodeApdu(f);
    assert.ok(r.ok);
    assert.deepEqual(r.value, { apci: { format: 'U', uFunction: fn } });
  }
});

test('S-frame encode/decode, N(R) 15 bits little endian', () => {
  assert.deepEqual([...encodeSFrame(0)], [0x68, 4, 1, 0, 0, 0]);
  assert.deepEqual([...encodeSFrame(1)], [0x68, 4, 1, 0, 2, 0]);
  assert.deepEqual([...encodeSFrame(32767)], [0x68, 4, 1, 0, 0xfe, 0xff]);
  assert.deepEqual([...encodeSFrame(300)], [0x68, 4, 1, 0, (300 << 1) & 0xff, 300 >> 7]);
  for (const n of [0, 1, 127, 128, 255, 256, 16383, 16384, 32767]) {
    const r = decodeApdu(encodeSFrame(n));
    assert.ok(r.ok);
    assert.deepEqual(r.value.apci, { format: 'S', recvSeq: n });
  }
});

test('I-frame encode/decode of N(S)/N(R)', () => {
  const f = encodeIFrame(0x1234, 0x2abc, IC);
  assert.deepEqual([...f.subarray(0, 6)], [0x68, 14, (0x1234 << 1) & 0xfe, 0x1234 >> 7, (0x2abc << 1) & 0xfe, 0x2abc >> 7]);
  const r = decodeApdu(f);
  assert.ok(r.ok);
  assert.deepEqual(r.value.apci, { format: 'I', sendSeq: 0x1234, recvSeq: 0x2abc });
  assert.deepEqual([...f], [0x68, 0x0e, 0x68, 0x24, 0x78, 0x55, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x14]);
});

test('15-bit sequence numbers wrap: 32767 -> 0', () => {
  const last = decodeApdu(encodeIFrame(32767, 32767, IC));
  const wrapped = decodeApdu(encodeIFrame(32768, 32768 + 5, IC));
  assert.ok(last.ok && wrapped.ok);
  assert.deepEqual(last.value.apci, { format: 'I', sendSeq: 32767, recvSeq: 32767 });
  assert.deepEqual(wrapped.value.apci, { format: 'I', sendSeq: 0, recvSeq: 5 });
  assert.deepEqual([...encodeSFrame(32768)], [...encodeSFrame(0)]);
  assert.equal(seqDistance(0, 32767), 1);
  assert.equal(seqDistance(5, 32765), 8);
  assert.equal(seqDistance(32767, 0), 32767);
  assert.equal(seqDistance(10, 10), 0);
  const f = encodeIFrame(1, 2, IC);
  setIFrameSeq(f, 32767, 32768);
  const r = decodeApdu(f);
  assert.ok(r.ok);
  assert.deepEqual(r.value.apci, { format: 'I', sendSeq: 32767, recvSeq: 0 });
});

test('I-frame: reserved bit 0 of octet 3 -> E_CONTROL_FIELD at offset 4', () => {
  const f = encodeIFrame(0, 0, IC);
  f[4] |= 1;
  const e = err(decodeApdu(f));
  assert.equal(e.code, 'E_CONTROL_FIELD');
  assert.equal(e.offset, 4);
});

test('I-frame with length 4 (no ASDU) -> E_APDU_LENGTH at offset 1', () => {
  const e = err(decodeApdu(bytes(0x68, 4, 0x02, 0, 0, 0)));
  assert.equal(e.code, 'E_APDU_LENGTH');
  assert.equal(e.offset, 1);
  assert.equal(e.found, '4');
});

test('S-frame with extra bits in octets 1-2 -> E_CONTROL_FIELD at offset 2', () => {
  for (const [c1, c2] of [[0x05, 0], [0x01, 0x01], [0xfd, 0], [0x01, 0x80]]) {
    const e = err(decodeApdu(bytes(0x68, 4, c1, c2, 0, 0)));
    assert.equal(e.code, 'E_CONTROL_FIELD', `${c1} ${c2}`);
    assert.equal(e.offset, 2);
  }
});

test('S-frame with bit 0 of octet 3 set -> E_CONTROL_FIELD at offset 4', () => {
  const e = err(decodeApdu(bytes(0x68, 4, 1, 0, 1, 0)));
  assert.equal(e.code, 'E_CONTROL_FIELD');
  assert.equal(e.offset, 4);
});

test('S-frame and U-frame with wrong length -> E_APDU_LENGTH at offset 1', () => {
  for (const head of [[1, 0, 0, 0], [0x07, 0, 0, 0], [0x43, 0, 0, 0]]) {
    const f = bytes(0x68, 5, ...head, 0x99);
    const e = err(decodeApdu(f));
    assert.equal(e.code, 'E_APDU_LENGTH');
    assert.equal(e.offset, 1);
    assert.equal(e.found, '5');
  }
});

test('U-frame with no function, two functions, or reserved bits -> E_CONTROL_FIELD at offset 2', () => {
  for (const c1 of [0x03, 0x0f, 0x47, 0x0b | 0x04, 0xc3, 0x33, 0xff]) {
    const e = err(decodeApdu(bytes(0x68, 4, c1, 0, 0, 0)));
    assert.equal(e.code, 'E_CONTROL_FIELD', c1.toString(16));
    assert.equal(e.offset, 2);
    assert.match(e.found, /0x/);
  }
});

test('U-frame with non-zero octets 2-4 -> E_CONTROL_FIELD at offset 3', () => {
  for (const tail of [[1, 0, 0], [0, 1, 0], [0, 0, 0x80]]) {
    const e = err(decodeApdu(bytes(0x68, 4, 0x07, ...tail)));
    assert.equal(e.code, 'E_CONTROL_FIELD');
    assert.equal(e.offset, 3);
  }
});

test('decodeControlField reports offsets relative to the buffer it is given', () => {
  const b = bytes(0xaa, 0xbb, 0x68, 4, 0x07, 0, 1, 0);
  const r = decodeControlField(b, 4, 4);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.offset, 5);
});

test('APDU framing errors: empty, start byte, truncated, length out of range, trailing octets', () => {
  let e = err(decodeApdu(bytes()));
  assert.deepEqual([e.code, e.offset], ['E_TRUNCATED', 0]);
  e = err(decodeApdu(bytes(0x67, 4, 7, 0, 0, 0)));
  assert.deepEqual([e.code, e.offset], ['E_START_BYTE', 0]);
  e = err(decodeApdu(bytes(0x68)));
  assert.deepEqual([e.code, e.offset], ['E_TRUNCATED', 1]);
  for (const len of [0, 1, 2, 3, 254, 255]) {
    e = err(decodeApdu(bytes(0x68, len, 7, 0, 0, 0)));
    assert.deepEqual([e.code, e.offset], ['E_APDU_LENGTH', 1]);
  }
  e = err(decodeApdu(bytes(0x68, 4, 7, 0, 0)));
  assert.deepEqual([e.code, e.offset], ['E_TRUNCATED', 5]);
  e = err(decodeApdu(bytes(0x68, 4, 7, 0, 0, 0, 0)));
  assert.deepEqual([e.code, e.offset], ['E_APDU_LENGTH', 1]);
});

test('errors carry field/expected/found and a JSON form', () => {
  const e = err(decodeApdu(bytes(0x68, 4, 0x0f, 0, 0, 0)));
  const j = e.toJSON();
  assert.equal(j.code, 'E_CONTROL_FIELD');
  assert.equal(j.offset, 2);
  assert.equal(j.field, 'U-format function');
  assert.equal(j.found, '0x0F');
  assert.match(j.message, /^E_CONTROL_FIELD at byte 2/);
  assert.equal(e.name, 'CodecError');
});

test('encodeApdu: I-frame without ASDU throws E_ENCODE_TYPE', () => {
  assert.throws(() => encodeApdu({ apci: { format: 'I', sendSeq: 0, recvSeq: 0 } } as unknown as Apdu), (x: unknown) => x instanceof CodecError && x.code === 'E_ENCODE_TYPE');
});

test('I-frame too large to fit 253 octets throws E_VALUE_RANGE', () => {
  const objects = Array.from({ length: 40 }, (_, i) => ({ ioa: i + 1, value: 1.5, quality: undefined }));
  assert.throws(() => encodeIFrame(0, 0, { ...IC, typeId: 13, cot: 3, objects }), (x: unknown) => x instanceof CodecError && x.code === 'E_VALUE_RANGE');
  // the largest that fits: 249-octet ASDU
  const fit = Array.from({ length: 30 }, (_, i) => ({ ioa: i + 1, value: 1.5 }));
  const f = encodeIFrame(0, 0, { ...IC, typeId: 13, cot: 3, objects: fit }); // 6 + 30*8 = 246
  assert.equal(f[1], 4 + 246);
});
