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

test('targetArg: one HOST[:PORT]; the port from HOST:PORT, else --port, else 19998 with TLS and 2404 without', async () => {
  const { targetArg, hostPortArg, UsageError } = await import('../../src/cli/args.js');
  assert.deepEqual(targetArg(['10.0.0.1'], undefined, false), { host: '10.0.0.1', port: 2404, defaultPort: 2404 });
  assert.deepEqual(targetArg(['10.0.0.1'], undefined, true), { host: '10.0.0.1', port: 19998, defaultPort: 19998 });
  assert.deepEqual(targetArg(['10.0.0.1'], '2405', true), { host: '10.0.0.1', port: 2405, defaultPort: 2405 });
  assert.deepEqual(targetArg(['[::1]:2410'], '2405', false), { host: '::1', port: 2410, defaultPort: 2405 });
  assert.throws(() => targetArg([], undefined, false), (e: Error) => e instanceof UsageError && /HOST\[:PORT\] is missing/.test(e.message));
  assert.throws(() => targetArg(['a', 'b'], undefined, false), (e: Error) => e instanceof UsageError && /one HOST\[:PORT\] expected, got a b/.test(e.message));
  assert.throws(() => targetArg(['a'], '70000', false), (e: Error) => e instanceof UsageError && /--port/.test(e.message));
  assert.throws(() => hostPortArg('a:x', 2404), (e: Error) => e instanceof UsageError);
});
