/**
 * Replays test/fixtures/tshark-vectors.json (made by scripts/gen-tshark-vectors.ts with tshark):
 * our decoder must agree with tshark's stored decoding field by field (modulo the documented
 * `differences`), and every vector must re-encode byte-identical. Runs without tshark.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allTypes, decodeApdu, encodeApdu, typeInfo } from '../../src/codec/index.js';
import { compareViews, DIFFERENCE_TRANSFORMS, type FieldView, type KnownDifference, ourView } from './tshark-map.js';

interface Fixture {
  tshark: string;
  differences: KnownDifference[];
  vectors: Array<{ name: string; hex: string; fields: FieldView; comment?: string }>;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/tshark-vectors.json', import.meta.url), 'utf8')) as Fixture;

test('fixture records how it was made and justifies each difference', () => {
  assert.match(fx.tshark, /^TShark \(Wireshark\) \d+\.\d+/);
  assert.ok(fx.vectors.length >= 100);
  for (const d of fx.differences) {
    assert.ok(d.comment.length > 40, `difference ${d.field} needs a justification`);
    assert.ok(d.transform in DIFFERENCE_TRANSFORMS);
  }
});

test('every type of the table has vectors (SQ=0, and SQ=1 where allowed), plus reserved/private raw types', () => {
  const seen = new Map<number, Set<string>>();
  for (const v of fx.vectors) {
    const f = v.fields['iec60870_asdu.typeid'];
    if (!f) continue;
    const id = Number(f[0]);
    const s = seen.get(id) ?? new Set<string>();
    s.add(v.fields['iec60870_asdu.sq'][0]);
    seen.set(id, s);
  }
  for (const t of allTypes()) {
    if (t.raw) {
      assert.ok(seen.has(t.id), `${t.name} raw vector missing`);
      continue;
    }
    assert.ok(seen.get(t.id)?.has('0'), `${t.name} SQ=0 vector missing`);
    if (t.sqAllowed) assert.ok(seen.get(t.id)?.has('1'), `${t.name} SQ=1 vector missing`);
  }
  const reserved = [...seen.keys()].filter((id) => typeInfo(id) === undefined);
  assert.ok(reserved.length >= 10, 'reserved/private types');
  assert.ok(reserved.some((id) => id >= 128), 'a private type');
});

for (const v of fx.vectors) {
  test(`vector ${v.name}`, () => {
    const b = Buffer.from(v.hex, 'hex');
    const r = decodeApdu(b);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    // encode(decode(b)) = b
    assert.equal(Buffer.from(encodeApdu(r.value)).toString('hex'), v.hex);
    // field by field against tshark
    const { mismatches, compared } = compareViews(v.fields, ourView(r.value, b), fx.differences);
    assert.deepEqual(mismatches, []);
    assert.ok(compared >= 3, 'something was compared');
    if (r.value.asdu && !r.value.asdu.raw) {
      // types tshark dissects: all objects' IOAs compared; otherwise first IOA + raw data
      const ioas = v.fields['iec60870_asdu.ioa'];
      assert.ok(ioas.length === r.value.asdu.objects.length || v.fields['iec60870_asdu.rawdata'] !== undefined);
    }
    if (r.value.asdu?.raw) assert.ok(r.value.asdu.warnings?.some((w) => w.code === 'W_TYPE_RESERVED') || typeInfo(r.value.asdu.typeId)?.raw);
  });
}

test('documented difference: BSI octet order (tshark 4.0 reads big-endian)', () => {
  // bytes 01 02 03 04: standard (LSB first) = 0x04030201
  const b = Uint8Array.from([0x68, 0x12, 0, 0, 0, 0, 7, 1, 3, 0, 1, 0, 1, 0, 0, 1, 2, 3, 4, 0]);
  const r = decodeApdu(b);
  assert.ok(r.ok);
  assert.equal(r.value.asdu!.objects[0].value, 0x04030201);
  assert.equal(DIFFERENCE_TRANSFORMS.byteswap32(String(0x04030201)), '0x01020304');
});

test('non-finite float vector produces W_FLOAT_NOT_FINITE for NaN, +Inf, -Inf', () => {
  const v = fx.vectors.find((x) => x.name.includes('non-finite'))!;
  const r = decodeApdu(Buffer.from(v.hex, 'hex'));
  assert.ok(r.ok);
  const w = r.value.asdu!.warnings!.filter((x) => x.code === 'W_FLOAT_NOT_FINITE');
  assert.equal(w.length, 3);
  assert.deepEqual(w.map((x) => x.offset), [15, 23, 31]);
});
