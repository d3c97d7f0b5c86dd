import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinNegativeValues } from '../../src/cli/args.js';

test('joinNegativeValues: a negative number after an option becomes its value; nothing else moves', () => {
  assert.deepEqual(joinNegativeValues(['h', '--setpoint-scaled', '-300', '--select']), ['h', '--setpoint-scaled=-300', '--select']);
  assert.deepEqual(joinNegativeValues(['--setpoint-float', '-.5']), ['--setpoint-float=-.5']);
  // a flag followed by a flag, a positional, or a short option stays as it is
  assert.deepEqual(joinNegativeValues(['--select', '--time', 'host', '-h']), ['--select', '--time', 'host', '-h']);
  assert.deepEqual(joinNegativeValues(['--ca', '-x']), ['--ca', '-x']);
  assert.deepEqual(joinNegativeValues(['--ca']), ['--ca']);
});
