import { test } from 'node:test';
import assert from 'node:assert/strict';
import { command } from '../../src/cli/demo.js';

test('demo (npm start) runs every step against the example substation and exits 0', async () => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await command.run(['--duration', '0']);
  } finally {
    process.stdout.write = write;
  }
  const text = out.join('');
  assert.equal(code, 0, text);
  assert.match(text, /connected, STARTDT act -> STARTDT con/);
  assert.match(text, /general interrogation \(C_IC_NA_1, QOI 20\): \d+ objects/);
  assert.match(text, /E01 Q0 circuit breaker/);
  assert.match(text, /counter interrogation .*: 3 counters/);
  assert.match(text, /C_DC_NA_1 select\+execute OFF to IOA 5031 .*positive, ACT_CON [\d.]+ ms, ACT_TERM [\d.]+ ms/);
  assert.match(text, /feedback: IOA 1031 M_DP_TB_1 = OFF \(cause 11/);
  assert.match(text, /negative confirmation, cause 47/);
});

test('demo refuses unknown arguments with exit code 2', async () => {
  const err = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await command.run(['--bogus']), 2);
  } finally {
    process.stderr.write = err;
  }
});
