/** `connect --json` point records print short floats as the shortest text that reads back as the same float32. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pointToJson } from '../../src/master/format.js';
import type { PointValue } from '../../src/master/points.js';

test('pointToJson: M_ME_NC_1 3.14 (stored as float32) prints 3.14, scaled values unchanged', () => {
  const f32 = Math.fround(3.14);
  assert.notEqual(String(f32), '3.14', 'the float32 widened to a double does not print as 3.14');
  const p = { ca: 1, ioa: 7, type: 'M_ME_NC_1', typeId: 13, value: f32, object: { ioa: 7, value: f32 }, cot: 3 } as unknown as PointValue;
  assert.equal(JSON.stringify(pointToJson(p).value), '3.14');
  const s = { ca: 1, ioa: 8, type: 'M_ME_NB_1', typeId: 11, value: 1234, object: { ioa: 8, value: 1234 }, cot: 3 } as unknown as PointValue;
  assert.equal(pointToJson(s).value, 1234);
});
