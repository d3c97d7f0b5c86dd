/**
 * One CommandKind (issue 12): `iec104 command` parses into the codec's kind (`regulating` for the
 * regulating step command), the `--step` flag keeps its name, and the type sent is the table's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandArgs } from '../../src/cli/command-send.js';
import { UsageError } from '../../src/cli/args.js';
import { COMMAND_KINDS, type CommandKind, commandTypeFor } from '../../src/codec/command.js';

const FLAG: Record<CommandKind, [string, string]> = {
  single: ['--single', 'on'], double: ['--double', 'off'], regulating: ['--step', 'higher'],
  'setpoint-normalized': ['--setpoint-normalized', '0.5'], 'setpoint-scaled': ['--setpoint-scaled', '12'],
  'setpoint-float': ['--setpoint-float', '1.5'], bitstring: ['--bitstring', '0xff'],
};

test('every codec command kind has its flag; the parsed kind is the codec\'s and the type its untimed type', () => {
  for (const kind of COMMAND_KINDS) {
    const a = parseCommandArgs(['h', '--ca', '1', '--ioa', '7', ...FLAG[kind]]);
    const k: CommandKind | 'system' = a.kind;
    assert.equal(k, kind);
    assert.equal(a.typeId, commandTypeFor(kind, false), kind);
  }
});

test('--step (kept for compatibility) is the regulating step command C_RC_NA_1; --qu applies to it', () => {
  const a = parseCommandArgs(['h', '--ca', '1', '--ioa', '7', '--step', 'lower', '--qu', '1']);
  assert.deepEqual([a.kind, a.typeId, a.value, a.qu], ['regulating', 47, 1, 1]);
  assert.throws(() => parseCommandArgs(['h', '--ca', '1', '--ioa', '7', '--step', 'up']), (e) => e instanceof UsageError && /--step expects higher or lower/.test(e.message));
  assert.throws(() => parseCommandArgs(['h', '--ca', '1', '--ioa', '7', '--regulating', 'higher']), UsageError, 'the kind name is not a flag');
});
