import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAsdu } from '../../src/codec/asdu.js';
import { maxObjects, packObjects } from '../../src/station/packing.js';
import { PointDatabase, pointObject, resolvePointTypes } from '../../src/station/point-database.js';

const sp = (ioa: number) => ({ ioa, value: true, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } });
const shape = (typeId: number, ioas: number[], minRun?: number) => packObjects(typeId, ioas.map(sp), { cot: 20, ca: 1 }, { sqMinRun: minRun }).map((a) => `${a.sq ? 'sq' : 'n'}${a.objects.length}`);

test('maxObjects honours the 249-octet ASDU and 127 objects', () => {
  assert.equal(maxObjects(1, true), 127);
  assert.equal(maxObjects(1, false), 60); // (249-6)/(3+1)
  assert.equal(maxObjects(13, true), 48); // (249-6-3)/5
  assert.equal(maxObjects(13, false), 30); // 243/8
  assert.equal(maxObjects(37, false), 16); // 243/(3+12)
});

test('short runs join SQ=0 ASDUs; long runs get SQ=1; every ASDU encodes within 249 octets', () => {
  const pairs = Array.from({ length: 50 }, (_, i) => [i * 3 + 1, i * 3 + 2]).flat();
  assert.deepEqual(shape(1, pairs), ['n60', 'n40'], 'pairs of contiguous IOAs are not worth a frame each');
  assert.deepEqual(shape(1, [1, 2, 3, 4, 5, 6, 100]), ['sq6', 'n1']);
  assert.deepEqual(shape(1, [1, 2, 3, 4, 5, 100]), ['n6']);
  assert.deepEqual(shape(1, [1, 2, 100], 2), ['sq2', 'n1']);
  assert.deepEqual(shape(30, [1, 2, 3, 4, 5, 6, 7, 8]), ['n8'], 'time-tagged types never use SQ=1');
  for (const a of packObjects(1, Array.from({ length: 1000 }, (_, i) => sp(i * 2 + 1)), { cot: 20, ca: 1 })) assert.ok(encodeAsdu(a).length <= 249);
});

test('point types: static/event type resolution and objects per type', () => {
  assert.deepEqual(resolvePointTypes(1), { kind: 'single', staticType: 1, eventType: 30 });
  assert.deepEqual(resolvePointTypes(30), { kind: 'single', staticType: 1, eventType: 30 });
  assert.deepEqual(resolvePointTypes(11, 12), { kind: 'scaled', staticType: 11, eventType: 12 });
  assert.deepEqual(resolvePointTypes(38), { kind: 'protection-event', staticType: undefined, eventType: 38 });
  assert.throws(() => resolvePointTypes(45), /not a monitor point type/);
  const db = new PointDatabase(Date.UTC(2026, 0, 1));
  const p = db.add({ ca: 1, ioa: 5, type: 5, value: { value: -2, transient: true }, quality: { bl: true } });
  const o = pointObject(p, 32);
  assert.deepEqual([o.value, o.transient, (o.quality as { bl: boolean }).bl], [-2, true, true]);
  assert.equal((o.time as { year: number }).year, 26);
  assert.throws(() => db.add({ ca: 1, ioa: 5, type: 1 }), /duplicate/);
  assert.throws(() => db.add({ ca: 1, ioa: 6, type: 15, groups: [1] }), /cannot be in interrogation groups/);
  assert.throws(() => db.add({ ca: 1, ioa: 7, type: 1, counterGroup: 1 }), /only for counter/);
  assert.equal(db.add({ ca: 1, ioa: 8, type: 38 }).interrogation, false);
});
