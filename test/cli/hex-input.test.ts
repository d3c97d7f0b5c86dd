import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHex, parseHexLine, parseHexLines } from '../../src/cli/hex-input.js';

const STARTDT = [0x68, 0x04, 0x07, 0x00, 0x00, 0x00];

test('every accepted notation gives the same octets', () => {
  const forms = [
    '68 04 07 00 00 00',
    '68:04:07:00:00:00',
    '68,04,07,00,00,00',
    '0x68, 0x04, 0x07, 0x00, 0x00, 0x00',
    '[0x68,0x04,0x07,0x00,0x00,0x00]',
    '\\x68\\x04\\x07\\x00\\x00\\x00',
    '68-04-07-00-00-00',
    '680407000000',
    '0x680407000000',
    '  68 04\t07 00 00 00  # STARTDT act',
    '68 4 7 0 0 0',
    '0X68 0x4 0x07 00 00 00',
    '68 04 07 00 00 00\r',
  ];
  for (const f of forms) {
    const r = parseHexLine(f);
    assert.ok('bytes' in r, `${f}: ${'problem' in r ? r.problem.message : ''}`);
    assert.deepEqual([...r.bytes], STARTDT, f);
  }
});

test('upper and lower case', () => {
  assert.deepEqual([...parseHex('aB Cd EF')], [0xab, 0xcd, 0xef]);
});

test('problems name the line, column and token', () => {
  const odd = parseHexLine('68 040 07', 3);
  assert.ok('problem' in odd);
  assert.deepEqual(odd.problem, { line: 3, column: 4, token: '040', message: "'040' has an odd number of hex digits" });
  const bad = parseHexLine('68 zz');
  assert.ok('problem' in bad);
  assert.equal(bad.problem.column, 4);
  assert.equal(bad.problem.message, "'zz' is not hex");
  const bare = parseHexLine('0x');
  assert.ok('problem' in bare);
});

test('lines: blank and comment lines are skipped, bad lines are reported and left out', () => {
  const r = parseHexLines('# frames\n68 04 07 00 00 00\n\n68 04 zz\r\n0x68,0x04,0x0B,0,0,0\n');
  assert.deepEqual(r.lines.map((l) => [l.line, [...l.bytes]]), [[2, STARTDT], [5, [0x68, 4, 0x0b, 0, 0, 0]]]);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].line, 4);
});

test('parseHex concatenates lines and throws on a problem', () => {
  assert.deepEqual([...parseHex('68 04\n07 00 00 00')], STARTDT);
  assert.throws(() => parseHex('68\n0g'), /line 2, column 1: '0g' is not hex/);
  assert.equal(parseHex('').length, 0);
});
