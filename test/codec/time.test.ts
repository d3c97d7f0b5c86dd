import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkCp24, checkCp56, cp56FromDate, cp56ToDate, decodeAsdu, encodeAsdu, formatCp56, readCp24, readCp56, writeCp24, writeCp56, type Cp56Time,
} from '../../src/codec/index.js';

const T: Cp56Time = { ms: 59999, minute: 59, hour: 23, day: 31, dayOfWeek: 7, month: 12, year: 99, invalid: false, summerTime: false };

test('CP56Time2a layout: ms LE, IV bit 7 of minute, SU bit 7 of hour, DOW bits 5-7 of day', () => {
  const b = new Uint8Array(7);
  writeCp56({ ...T, invalid: true, summerTime: true }, b, 0);
  assert.deepEqual([...b], [0x5f, 0xea, 0x80 | 59, 0x80 | 23, (7 << 5) | 31, 12, 99]);
  const t = readCp56(b, 0);
  assert.deepEqual(t, { ...T, invalid: true, summerTime: true });
  assert.deepEqual(checkCp56(b, 0), []);
});

test('CP56Time2a round-trips every field combination (fast-check)', () => {
  fc.assert(fc.property(
    fc.record({ ms: fc.integer({ min: 0, max: 65535 }), minute: fc.integer({ min: 0, max: 63 }), hour: fc.integer({ min: 0, max: 31 }), day: fc.integer({ min: 0, max: 31 }),
      dayOfWeek: fc.integer({ min: 0, max: 7 }), month: fc.integer({ min: 0, max: 15 }), year: fc.integer({ min: 0, max: 127 }), invalid: fc.boolean(), summerTime: fc.boolean() }),
    (t) => {
      const b = new Uint8Array(9);
      writeCp56(t, b, 1);
      assert.deepEqual(readCp56(b, 1), { ...t });
      assert.equal(b[0], 0);
      assert.equal(b[8], 0);
    }));
});

test('checkCp56 flags each out-of-range field and reserved bit', () => {
  const b = new Uint8Array(7);
  const bad = (mut: (x: Uint8Array) => void) => { writeCp56(T, b, 0); mut(b); return checkCp56(b, 0).map((x) => x[0]); };
  assert.deepEqual(bad(() => {}), []);
  assert.deepEqual(bad((x) => { x[0] = 0x60; x[1] = 0xea; }), ['milliseconds']); // 60000
  assert.deepEqual(bad((x) => { x[2] = 60; }), ['minute']);
  assert.deepEqual(bad((x) => { x[3] = 24; }), ['hour']);
  assert.deepEqual(bad((x) => { x[4] = 0; }), ['day']);
  assert.deepEqual(bad((x) => { x[5] = 0; }), ['month']);
  assert.deepEqual(bad((x) => { x[5] = 13; }), ['month']);
  assert.deepEqual(bad((x) => { x[6] = 100; }), ['year']);
  assert.deepEqual(bad((x) => { x[2] |= 0x40; }), ['reserved']);
  assert.deepEqual(bad((x) => { x[3] |= 0x20; }), ['reserved']);
  assert.deepEqual(bad((x) => { x[5] |= 0x10; }), ['reserved']);
  assert.deepEqual(bad((x) => { x[6] |= 0x80; }), ['reserved']);
});

test('out-of-range CP56 fields give W_TIME_FIELD warnings at the time tag offset; reserved bits W_RESERVED_BITS', () => {
  const a = { typeId: 30, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 5, value: true, quality: undefined, time: { ...T, minute: 61, month: 13 } }] };
  const b = encodeAsdu(a);
  const r = decodeAsdu(b);
  assert.ok(r.ok);
  const w = r.value.warnings ?? [];
  assert.deepEqual(w.filter((x) => x.code === 'W_TIME_FIELD').map((x) => [x.field, x.offset]), [['CP56Time2a.minute', 10], ['CP56Time2a.month', 10]]);
  b[12] |= 0x40; // RES1 in minute octet
  const r2 = decodeAsdu(b);
  assert.ok(r2.ok);
  assert.ok(r2.value.warnings!.some((x) => x.code === 'W_RESERVED_BITS' && x.field === 'CP56Time2a.reserved'));
});

test('CP24Time2a layout, IV, range checks and W_TIME_FIELD', () => {
  const b = new Uint8Array(3);
  writeCp24({ ms: 59999, minute: 59, invalid: true }, b, 0);
  assert.deepEqual([...b], [0x5f, 0xea, 0x80 | 59]);
  assert.deepEqual(readCp24(b, 0), { ms: 59999, minute: 59, invalid: true });
  assert.deepEqual(checkCp24(b, 0), []);
  b[2] = 60;
  assert.deepEqual(checkCp24(b, 0).map((x) => x[0]), ['minute']);
  b[2] = 0x40;
  assert.deepEqual(checkCp24(b, 0).map((x) => x[0]), ['reserved']);
  const a = { typeId: 2, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 5, value: true, time: { ms: 60000, minute: 0, invalid: false } }] };
  const r = decodeAsdu(encodeAsdu(a));
  assert.ok(r.ok);
  assert.deepEqual(r.value.warnings!.map((x) => [x.code, x.field, x.offset]), [['W_TIME_FIELD', 'CP24Time2a.milliseconds', 10], ['W_IEC101_ONLY_TYPE', 'type identification', 0]]);
});

test('CP16Time2a above 59999 ms gives W_TIME_FIELD', () => {
  const a = { typeId: 38, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 5, value: 1, elapsed: 60000, time: T }] };
  const r = decodeAsdu(encodeAsdu(a));
  assert.ok(r.ok);
  assert.deepEqual(r.value.warnings!.map((x) => [x.code, x.field, x.offset]), [['W_TIME_FIELD', 'CP16Time2a', 10]]);
  assert.equal(r.value.objects[0].elapsed, 60000);
});

test('Date conversions: UTC fields, day of week 1 (Mon)..7 (Sun), century rule 2000', () => {
  const d = new Date(Date.UTC(2026, 10, 22, 13, 5, 7, 123)); // Sunday 22 Nov 2026
  const t = cp56FromDate(d);
  assert.deepEqual(t, { ms: 7123, minute: 5, hour: 13, day: 22, dayOfWeek: 7, month: 11, year: 26, invalid: false, summerTime: false });
  assert.equal(cp56ToDate(t).getTime(), d.getTime());
  assert.equal(cp56FromDate(new Date(Date.UTC(2024, 0, 1))).dayOfWeek, 1); // Monday
  assert.equal(cp56FromDate(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999))).year, 99);
  // 00..99 -> 2000..2099 by default; another century on request
  assert.equal(cp56ToDate({ ...T, year: 99 }).getUTCFullYear(), 2099);
  assert.equal(cp56ToDate({ ...T, year: 0 }).getUTCFullYear(), 2000);
  assert.equal(cp56ToDate({ ...T, year: 99 }, true, 1900).getUTCFullYear(), 1999);
  // local-time variant reads local fields
  const local = cp56FromDate(d, false);
  assert.equal(local.hour, d.getHours());
  assert.equal(cp56ToDate(local, false).getTime(), d.getTime());
});

test('Date round trip over 2000..2099 (fast-check)', () => {
  fc.assert(fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31, 23, 59, 59, 999) }), (ms) => {
    const d = new Date(ms);
    const t = cp56FromDate(d);
    assert.equal(cp56ToDate(t).getTime(), ms);
    const b = new Uint8Array(7);
    writeCp56(t, b, 0);
    assert.deepEqual(checkCp56(b, 0), []);
    assert.equal(t.dayOfWeek, ((d.getUTCDay() + 6) % 7) + 1);
  }));
});

test('formatCp56 shows the fields as sent, with DOW, SU and IV', () => {
  assert.equal(formatCp56({ ...T, invalid: true, summerTime: true }), '2099-12-31 23:59:59.999 (dow 7) SU IV');
  assert.equal(formatCp56({ ms: 7005, minute: 1, hour: 2, day: 3, dayOfWeek: 0, month: 4, year: 5, invalid: false, summerTime: false }), '2005-04-03 02:01:07.005');
});
