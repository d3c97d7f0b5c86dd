/**
 * `iec104 serve` writes its log lines in one chunk after the event-loop turn (batchedLines), so
 * that a line logged while a command is processed does not hold its ACT_CON back by a system call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchedLines } from '../../src/log.js';

test('batchedLines: the lines of one turn leave together, in order, after the turn; flush() writes at once', async () => {
  const chunks: string[] = [];
  const b = batchedLines((c) => chunks.push(c));
  b.write('a');
  b.write('b');
  assert.deepEqual(chunks, [], 'nothing written inside the turn');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(chunks, ['a\nb\n']);
  b.write('c');
  b.flush();
  assert.deepEqual(chunks, ['a\nb\n', 'c\n'], 'flush writes what is gathered');
  await new Promise((r) => setImmediate(r));
  assert.equal(chunks.length, 2, 'a flushed batch is not written twice');
  b.flush();
  assert.equal(chunks.length, 2, 'flush with nothing gathered writes nothing');
});
