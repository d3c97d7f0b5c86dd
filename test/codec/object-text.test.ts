/**
 * Compact text of decoded objects (the values on `iec104 analyze` lines), driven by the type
 * table's families.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectText, objectsText, objectValueText } from '../../src/codec/object-text.js';

const Q = { ov: false, bl: false, sb: false, nt: false, iv: false };

test('values read by family: single, double point, double and step commands, bitstring, float, counter', () => {
  assert.equal(objectText(1, { ioa: 5, value: true, quality: Q }), '5=ON');
  assert.equal(objectText(31, { ioa: 5, value: 0, quality: { ...Q, iv: true } }), '5=INTERMEDIATE iv');
  assert.equal(objectText(3, { ioa: 5, value: 3, quality: Q }), '5=INDETERMINATE');
  assert.equal(objectText(46, { ioa: 4102, value: 2, select: true, qu: 0 }), '4102=ON sel');
  assert.equal(objectText(47, { ioa: 7, value: 1, select: false, qu: 0 }), '7=LOWER');
  assert.equal(objectText(5, { ioa: 8, value: -3, transient: true, quality: Q }), '8=-3 t');
  assert.equal(objectText(33, { ioa: 9, value: 0xa5, quality: Q }), '9=0x000000A5');
  assert.equal(objectText(36, { ioa: 10, value: Math.fround(49.98), quality: { ...Q, nt: true } }), '10=49.98 nt');
  assert.equal(objectText(50, { ioa: 11, value: Math.fround(3.14), ql: 0, select: false }), '11=3.14');
  assert.equal(objectText(15, { ioa: 12, value: 1234, sequence: 3, carry: true, adjusted: false, invalid: true }), '12=1234 cy,iv');
  assert.equal(objectText(9, { ioa: 13, value: 0.5, raw: 16384, quality: Q }), '13=0.5');
  assert.equal(objectValueText(13, NaN), 'NaN');
});

test('objects without a value show their qualifiers, times as ISO text', () => {
  assert.equal(objectText(100, { ioa: 0, qoi: 20 }), '0 qoi=20');
  assert.equal(objectText(70, { ioa: 0, cause: 0, localChange: true }), '0 cause=0 localChange');
  const time = { ms: 7123, minute: 5, hour: 13, day: 21, dayOfWeek: 6, month: 11, year: 26, invalid: false, summerTime: false };
  assert.equal(objectText(103, { ioa: 0, time }), '0 time=2026-11-21T13:05:07.123');
  assert.equal(objectText(103, { ioa: 0, time: { ...time, month: 13 } }), '0 time=invalid');
  assert.equal(objectText(39, { ioa: 3, events: { gs: true, sl1: true, sl2: false }, quality: { ...Q, ei: false }, duration: 20 }), '3 gs,sl1 duration=20');
  assert.equal(objectText(125, { ioa: 1, file: 2, section: 1, segment: Uint8Array.of(1, 2, 3) }), '1 file=2 section=1 segment=3 octets');
});

test('objectsText: four objects, then …+N', () => {
  const objs = [1, 2, 3, 4, 5, 6].map((ioa) => ({ ioa, value: ioa % 2 === 0, quality: Q }));
  assert.equal(objectsText(1, objs), '1=OFF, 2=ON, 3=OFF, 4=ON …+2');
  assert.equal(objectsText(1, objs.slice(0, 4)), '1=OFF, 2=ON, 3=OFF, 4=ON');
  assert.equal(objectsText(1, objs, 2), '1=OFF, 2=ON …+4');
});
