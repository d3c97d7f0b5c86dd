/**
 * The one typed command: kinds map to type identifications through the type table, a set time tag
 * selects the CP56Time2a variant, and a command survives encode → decode → commandFromObject.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  COMMAND_KINDS, type Command, commandFromObject, commandKindOf, commandToObject, commandTypeFor, commandTypeId, isTimedCommandType,
} from '../../src/codec/command.js';
import { decodeAsdu, encodeAsdu } from '../../src/codec/asdu.js';
import { typeName } from '../../src/codec/type-table.js';

const TIME = { ms: 12345, minute: 7, hour: 8, day: 3, dayOfWeek: 4, month: 12, year: 26, invalid: false, substituted: false, summerTime: false };

test('each kind has one untimed and one timed type; the kind of each process command type is known', () => {
  const expected: Record<string, [string, string]> = {
    single: ['C_SC_NA_1', 'C_SC_TA_1'], double: ['C_DC_NA_1', 'C_DC_TA_1'], regulating: ['C_RC_NA_1', 'C_RC_TA_1'],
    'setpoint-normalized': ['C_SE_NA_1', 'C_SE_TA_1'], 'setpoint-scaled': ['C_SE_NB_1', 'C_SE_TB_1'],
    'setpoint-float': ['C_SE_NC_1', 'C_SE_TC_1'], bitstring: ['C_BO_NA_1', 'C_BO_TA_1'],
  };
  assert.deepEqual([...COMMAND_KINDS].sort(), Object.keys(expected).sort());
  for (const k of COMMAND_KINDS) {
    assert.equal(typeName(commandTypeFor(k, false)), expected[k][0]);
    assert.equal(typeName(commandTypeFor(k, true)), expected[k][1]);
    assert.equal(commandKindOf(commandTypeFor(k, false)), k);
    assert.equal(commandKindOf(commandTypeFor(k, true)), k);
    assert.equal(isTimedCommandType(commandTypeFor(k, true)), true);
    assert.equal(isTimedCommandType(commandTypeFor(k, false)), false);
  }
  for (const t of [0, 1, 30, 52, 57, 100, 103, 110, 255]) assert.equal(commandKindOf(t), undefined, `type ${t}`);
});

test('a set time tag selects the CP56Time2a variant', () => {
  assert.equal(commandTypeId({ kind: 'single', value: true }), 45);
  assert.equal(commandTypeId({ kind: 'single', value: true, time: TIME }), 58);
  assert.equal(commandTypeId({ kind: 'setpoint-float', value: 1.5, time: TIME }), 63);
  assert.deepEqual(commandToObject({ kind: 'bitstring', value: 0xdeadbeef, time: TIME }, 7), { ioa: 7, value: 0xdeadbeef, time: TIME });
  assert.deepEqual(commandToObject({ kind: 'setpoint-scaled', value: -5, ql: 3, select: true }, 9), { ioa: 9, value: -5, ql: 3, select: true });
});

const cmdArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('single' as const), value: fc.boolean(), select: fc.boolean(), qu: fc.integer({ min: 0, max: 31 }) }),
  fc.record({ kind: fc.constant('double' as const), value: fc.constantFrom(1, 2), select: fc.boolean(), qu: fc.integer({ min: 0, max: 31 }) }),
  fc.record({ kind: fc.constant('regulating' as const), value: fc.constantFrom(1, 2), select: fc.boolean(), qu: fc.integer({ min: 0, max: 31 }) }),
  fc.record({ kind: fc.constant('setpoint-scaled' as const), value: fc.integer({ min: -32768, max: 32767 }), select: fc.boolean(), ql: fc.integer({ min: 0, max: 127 }) }),
  fc.record({ kind: fc.constant('setpoint-float' as const), value: fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround), select: fc.boolean(), ql: fc.integer({ min: 0, max: 127 }) }),
  fc.record({ kind: fc.constant('bitstring' as const), value: fc.integer({ min: 0, max: 0xffffffff }) }),
);

test('property: a command survives encode, decode and commandFromObject, timed or not', () => {
  fc.assert(fc.property(cmdArb, fc.boolean(), fc.integer({ min: 1, max: 0xffffff }), (c, timed, ioa) => {
    const cmd: Command = timed ? { ...c, time: TIME } : c;
    const bytes = encodeAsdu({ typeId: commandTypeId(cmd), sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [commandToObject(cmd, ioa)] });
    const r = decodeAsdu(bytes);
    assert.ok(r.ok);
    const back = commandFromObject(r.value.typeId, r.value.objects[0]);
    assert.ok(back);
    assert.equal(back.kind, cmd.kind);
    assert.equal(back.value, cmd.kind === 'setpoint-float' ? Math.fround(cmd.value) : cmd.value);
    if (cmd.kind !== 'bitstring') assert.equal(back.select, cmd.select === true);
    assert.equal(back.time !== undefined, timed);
  }), { numRuns: 500 });
});
