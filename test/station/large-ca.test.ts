/**
 * More points in one common address than a call takes arguments (issue 11, item 6): the station's
 * runtime, the packer and the master's table view use loops, never `push(...list)` or
 * `Math.max(...list)`, so a general interrogation over 250,000 points completes and nothing throws
 * `RangeError: Maximum call stack size exceeded` (V8 takes about 125,000 spread arguments).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { formatTable } from '../../src/master/format.js';
import { createStation } from '../../src/station/station.js';
import type { PointConfig } from '../../src/station/point-database.js';
import { packObjects } from '../../src/station/packing.js';

test('packObjects: a run of 300,000 consecutive IOAs that must go out as SQ=0 (sqMinRun above the run) is packed, none lost', () => {
  const objects = Array.from({ length: 300_000 }, (_, i) => ({ ioa: i + 1, value: i % 2 === 0 }));
  const asdus = packObjects(1, objects, { cot: 20, ca: 1 }, { sqMinRun: 1_000_000 });
  let n = 0;
  for (const a of asdus) {
    assert.equal(a.sq, false);
    n += a.objects.length;
  }
  assert.equal(n, 300_000);
  assert.equal(asdus[asdus.length - 1].objects.at(-1)?.ioa, 300_000);
});

test('formatTable (the master\'s table view) lays out 200,000 rows', () => {
  const rows = Array.from({ length: 200_000 }, (_, i) => [String(1), String(i + 1), i === 199_999 ? 'M_SP_NA_1-widest' : 'M_SP_NA_1']);
  const text = formatTable(['CA', 'IOA', 'TYPE'], rows);
  const lines = text.split('\n');
  assert.equal(lines.length, 200_001);
  assert.equal(lines[0], 'CA  IOA     TYPE');
  assert.equal(lines[200_000], '1   200000  M_SP_NA_1-widest');
});

test('a general interrogation over 250,000 points in one common address completes over TCP with every object', async () => {
  const points: PointConfig[] = [];
  // 200,000 single points in one run (SQ=1 ASDUs) and 50,000 floats at every other IOA (SQ=0)
  for (let i = 0; i < 200_000; i++) points.push({ ca: 1, ioa: i + 1, type: 1, value: i % 3 === 0 });
  for (let i = 0; i < 50_000; i++) points.push({ ca: 1, ioa: 300_000 + 2 * i, type: 13, value: i / 4 });
  const station = createStation({ points, endOfInitialization: 'none', cyclicPeriodMs: 0, backgroundPeriodMs: 0 });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, requestTimeout: 120_000, terminationTimeout: 120_000 });
  try {
    await master.connect();
    const gi = await master.interrogation(1);
    assert.equal(gi.objects.length, 250_000);
    let singles = 0;
    let floats = 0;
    let last = 0;
    for (const o of gi.objects) {
      if (o.typeId === 1) singles++;
      else if (o.typeId === 13) floats++;
      if (o.ioa > last) last = o.ioa;
    }
    assert.deepEqual([singles, floats, last], [200_000, 50_000, 300_000 + 2 * 49_999]);
    // and the station still answers afterwards
    assert.equal((await master.interrogation(1)).objects.length, 250_000);
  } finally {
    await master.close();
    await station.close();
  }
});
