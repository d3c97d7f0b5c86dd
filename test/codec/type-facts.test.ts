/**
 * The type table owns the protocol's facts: families, time-tag variants, qualifiers, which types
 * are commands, which are ended by ACT_TERM, single-object types and the causes of each direction.
 * The expectations below are written from IEC 60870-5-101/104's tables, independently of the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allTypes, causeAllowed, directionOf, familyOf, isAnsweredByActTerm, isControlType, isFileType, isMeasuredValueParameter,
  isMonitorType, isParameterType, isProcessCommand, isSingleObjectType, isSystemCommand, isTypeIdNumber, qualifierOf,
  timedVariantOf, TYPE_ID_NOT_USED, TypeId, typeInfo, untimedVariantOf,
} from '../../src/codec/type-table.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('process commands are 45–51 and 58–64, nothing else (private 52–57 and reserved ids are not)', () => {
  for (let t = 0; t < 256; t++) assert.equal(isProcessCommand(t), [...range(45, 51), ...range(58, 64)].includes(t), `type ${t}`);
  for (const bad of [-1, 45.5, 256 + 45, Number.NaN]) assert.equal(isProcessCommand(bad), false, String(bad));
});

test('control-direction types are the process commands, system commands 100–107 and parameters 110–113', () => {
  const expected = [...range(45, 51), ...range(58, 64), ...range(100, 107), ...range(110, 113)];
  for (let t = 0; t < 256; t++) assert.equal(isControlType(t), expected.includes(t), `type ${t}`);
  for (let t = 0; t < 256; t++) assert.equal(isSystemCommand(t), t >= 100 && t <= 107, `system ${t}`);
  for (let t = 0; t < 256; t++) assert.equal(isParameterType(t), t >= 110 && t <= 113, `parameter ${t}`);
  for (let t = 0; t < 256; t++) assert.equal(isFileType(t), t >= 120 && t <= 127, `file ${t}`);
  const monitor = [...range(1, 21), ...range(30, 40), 70];
  for (let t = 0; t < 256; t++) assert.equal(isMonitorType(t), monitor.includes(t), `monitor ${t}`);
});

test('time-tag variants: commands 45–51 ↔ 58–64, monitor types to their CP56Time2a form, CP24 types to CP56', () => {
  for (let t = 45; t <= 51; t++) {
    assert.equal(timedVariantOf(t), t + 13);
    assert.equal(untimedVariantOf(t + 13), t);
    assert.equal(timedVariantOf(t + 13), t + 13, 'a timed type is its own timed variant');
  }
  const pairs: Array<[number, number, number | undefined]> = [
    // [untimed, CP56 form, CP24 form]
    [1, 30, 2], [3, 31, 4], [5, 32, 6], [7, 33, 8], [9, 34, 10], [11, 35, 12], [13, 36, 14], [15, 37, 16],
  ];
  for (const [u, t56, t24] of pairs) {
    assert.equal(timedVariantOf(u), t56, `timed of ${u}`);
    assert.equal(untimedVariantOf(t56), u, `untimed of ${t56}`);
    if (t24 !== undefined) {
      assert.equal(timedVariantOf(t24), t56, `CP56 form of ${t24}`);
      assert.equal(untimedVariantOf(t24), u);
    }
  }
  assert.equal(timedVariantOf(17), 38, 'protection events: CP24 → CP56');
  assert.equal(untimedVariantOf(38), undefined, 'protection events have no untimed form');
  assert.equal(timedVariantOf(21), undefined, 'M_ME_ND_1 has no time-tagged form');
  assert.equal(timedVariantOf(20), undefined, 'M_PS_NA_1 has no time-tagged form');
  assert.equal(timedVariantOf(TypeId.C_TS_NA_1), TypeId.C_TS_TA_1);
  assert.equal(untimedVariantOf(TypeId.C_TS_TA_1), TypeId.C_TS_NA_1);
  assert.equal(timedVariantOf(TypeId.C_IC_NA_1), undefined);
  assert.equal(timedVariantOf(TypeId.C_CS_NA_1), undefined, 'clock sync carries a time but is no variant of another type');
  assert.equal(timedVariantOf(300), undefined);
});

test('families group measured values, commands, set-points and parameters of one representation', () => {
  const fam: Record<string, number[]> = {
    single: [1, 2, 30, 45, 58], double: [3, 4, 31, 46, 59], step: [5, 6, 32, 47, 60], bitstring: [7, 8, 33, 51, 64],
    normalized: [9, 10, 21, 34, 48, 61, 110], scaled: [11, 12, 35, 49, 62, 111], float: [13, 14, 36, 50, 63, 112],
    counter: [15, 16, 37], interrogation: [100], 'counter-interrogation': [101], read: [102], 'clock-sync': [103],
    test: [104, 107], 'reset-process': [105], 'parameter-activation': [113], 'end-of-initialization': [70], file: range(120, 127),
  };
  for (const [f, ids] of Object.entries(fam)) for (const id of ids) assert.equal(familyOf(id), f, `family of ${id}`);
  assert.equal(familyOf(200), undefined);
});

test('qualifiers, select/execute, ACT_TERM and single-object types', () => {
  for (const t of [45, 46, 47, 58, 59, 60]) assert.equal(typeInfo(t)?.qualifier, 'QU', `QU ${t}`);
  for (const t of [48, 49, 50, 61, 62, 63]) assert.equal(typeInfo(t)?.qualifier, 'QL', `QL ${t}`);
  for (const t of [51, 64, 100, 102, 103]) assert.equal(typeInfo(t)?.qualifier, 'none', `none ${t}`);
  for (const t of [110, 111, 112]) assert.equal(typeInfo(t)?.qualifier, 'QPM');
  assert.equal(typeInfo(113)?.qualifier, 'QPA');
  for (const t of [...range(45, 50), ...range(58, 63)]) assert.equal(typeInfo(t)?.selectable, true, `S/E ${t}`);
  for (const t of [51, 64, 100, 103]) assert.equal(typeInfo(t)?.selectable, false, `no S/E ${t}`);
  for (const t of allTypes()) {
    assert.equal(t.terminated, t.processCommand || t.id === 100 || t.id === 101, `ACT_TERM ${t.name}`);
    const single = t.direction === 'control' || t.id === 70 || (t.category === 'file' && t.id !== 126);
    assert.equal(t.singleObject, single, `single object ${t.name}`);
  }
});

test('causes per direction: a master activates and deactivates, a station confirms, terminates and mirrors', () => {
  assert.equal(causeAllowed(45, 6, 'control'), true);
  assert.equal(causeAllowed(45, 8, 'control'), true);
  assert.equal(causeAllowed(45, 7, 'control'), false, 'ACT_CON is not sent by the master');
  assert.equal(causeAllowed(45, 7, 'monitor'), true);
  assert.equal(causeAllowed(45, 10, 'monitor'), true);
  assert.equal(causeAllowed(45, 44, 'monitor'), true);
  assert.equal(causeAllowed(45, 44, 'control'), false, 'mirrored negative causes come from the station only');
  assert.equal(causeAllowed(45, 3, 'control'), false);
  assert.equal(causeAllowed(102, 5, 'control'), true, 'read is a request');
  assert.equal(causeAllowed(103, 3, 'monitor'), true, 'a station may report its clock spontaneously');
  assert.equal(causeAllowed(1, 3, 'monitor'), true);
  assert.equal(causeAllowed(1, 3, 'control'), false, 'monitor types never travel in control direction');
  assert.equal(causeAllowed(1, 20, 'monitor'), true);
  assert.equal(causeAllowed(122, 13, 'control'), true);
  assert.equal(causeAllowed(122, 13, 'monitor'), true, 'file transfer goes both ways');
  assert.equal(causeAllowed(250, 3, 'monitor'), false);
});

test('single-object types: commands, system commands, parameters, end of initialisation, file services but the directory', () => {
  const single = [...range(45, 51), ...range(58, 64), 70, ...range(100, 107), ...range(110, 113), ...range(120, 125), 127];
  for (let t = 0; t < 256; t++) assert.equal(isSingleObjectType(t), single.includes(t), `single object ${t}`);
  assert.equal(isSingleObjectType(TypeId.F_DR_TA_1), false, 'a directory lists many files');
  for (const bad of [-45, 45.5, 256 + 45]) assert.equal(isSingleObjectType(bad), false, String(bad));
});

test('answered by ACT_TERM: process commands, interrogation and counter interrogation only', () => {
  const term = [...range(45, 51), ...range(58, 64), 100, 101];
  for (let t = 0; t < 256; t++) assert.equal(isAnsweredByActTerm(t), term.includes(t), `ACT_TERM ${t}`);
  assert.equal(isAnsweredByActTerm(54), false, 'private types inside the command range are not commands');
});

test('parameters of measured value are P_ME_NA_1, P_ME_NB_1, P_ME_NC_1 (not the parameter activation)', () => {
  for (let t = 0; t < 256; t++) assert.equal(isMeasuredValueParameter(t), t >= 110 && t <= 112, `QPM ${t}`);
});

test('direction and qualifier of a type by id, undefined for reserved and private ids', () => {
  assert.equal(directionOf(1), 'monitor');
  assert.equal(directionOf(70), 'monitor');
  assert.equal(directionOf(45), 'control');
  assert.equal(directionOf(113), 'control');
  assert.equal(directionOf(122), 'both');
  assert.equal(directionOf(54), undefined);
  assert.equal(qualifierOf(59), 'QU');
  assert.equal(qualifierOf(63), 'QL');
  assert.equal(qualifierOf(1), 'none');
  assert.equal(qualifierOf(300), undefined);
});

test('a type identification is one octet 1..255; 0 is "not used"; typeInfo answers undefined outside the table', () => {
  assert.equal(TYPE_ID_NOT_USED, 0);
  assert.equal(isTypeIdNumber(0), false);
  assert.equal(isTypeIdNumber(1), true);
  assert.equal(isTypeIdNumber(54), true, 'private types are type identifications too');
  assert.equal(isTypeIdNumber(255), true);
  assert.equal(isTypeIdNumber(256), false);
  assert.equal(isTypeIdNumber(1.5), false);
  assert.equal(isTypeIdNumber(Number.NaN), false);
  for (const bad of [-1, 0, 45.5, 256, 256 + 45, Number.NaN, 1e9]) assert.equal(typeInfo(bad), undefined, String(bad));
  assert.equal(typeInfo(45)?.name, 'C_SC_NA_1');
  assert.equal(typeInfo(127)?.name, 'F_SC_NB_1');
});
