import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Asdu, CodecError, type CodecWarningCode, decodeAsdu, encodeAsdu, nvaFromRaw, nvaToRaw, NVA, R32, resolveOptions, typeInfo, allTypes,
  IEC104_OPTIONS, type DecodeResult,
} from '../../src/codec/index.js';
import { sampleElement } from './samples.js';

const H = { sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1 };
const asdu = (typeId: number, objects: Asdu['objects'], extra: Partial<Asdu> = {}): Asdu => ({ typeId, ...H, objects, ...extra });
function ok<T>(r: DecodeResult<T>): T {
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}
function warns(b: Uint8Array): Array<[CodecWarningCode, number]> {
  return (ok(decodeAsdu(b)).warnings ?? []).map((w) => [w.code, w.offset]);
}
const throwsCode = (fn: () => unknown, code: string) => assert.throws(fn, (e: unknown) => e instanceof CodecError && e.code === code);

test('NVA: value = raw / 32768; encode rounds half up (Math.round), clamps +1.0 to 32767, rejects outside [-1, 1]', () => {
  assert.equal(nvaFromRaw(-32768), -1);
  assert.equal(nvaFromRaw(16384), 0.5);
  assert.equal(nvaFromRaw(32767), 32767 / 32768);
  assert.equal(nvaToRaw(1), 32767);
  assert.equal(nvaToRaw(-1), -32768);
  assert.equal(nvaToRaw(0.5), 16384);
  assert.equal(nvaToRaw(2.5 / 32768), 3); // half rounds up
  assert.equal(nvaToRaw(-2.5 / 32768), -2); // half rounds towards +inf
  assert.equal(nvaToRaw(1.4 / 32768), 1);
  assert.equal(nvaToRaw(-0.6 / 32768), -1);
  for (const bad of [1.0001, -1.0001, NaN, Infinity]) throwsCode(() => nvaToRaw(bad), 'E_VALUE_RANGE');
  // every raw value round-trips exactly
  for (let raw = -32768; raw <= 32767; raw += 7) assert.equal(nvaToRaw(nvaFromRaw(raw)), raw);
  // decode(encode(v)) is the nearest representable value
  for (const v of [0.1, -0.3333, 0.99998, -0.99999]) {
    const b = new Uint8Array(2);
    NVA.write({ value: v }, b, 0);
    const o: Record<string, unknown> = {};
    NVA.read(b, 0, o, undefined);
    assert.ok(Math.abs((o.value as number) - v) <= 0.5 / 32768);
    assert.equal(o.raw, Math.round(v * 32768));
  }
  // above 32767.5/32768 the nearest representable value is the largest one, 32767/32768
  assert.equal(nvaToRaw(0.99999), 32767);
});

test('R32: NaN and infinities decode with W_FLOAT_NOT_FINITE; finite values do not', () => {
  const b = new Uint8Array(4);
  for (const [v, warn] of [[NaN, true], [Infinity, true], [-Infinity, true], [1.5, false], [-0, false], [3.4028234663852886e38, false]] as const) {
    R32.write({ value: v }, b, 0);
    const got: string[] = [];
    const o: Record<string, unknown> = {};
    R32.read(b, 0, o, { warn: (c) => got.push(c) });
    assert.ok(Object.is(o.value, v), String(v));
    assert.deepEqual(got, warn ? ['W_FLOAT_NOT_FINITE'] : []);
  }
  throwsCode(() => R32.write({ value: '1' }, b, 0), 'E_VALUE_RANGE');
});

test('element writers reject values their field cannot carry (E_VALUE_RANGE naming the field)', () => {
  const cases: Array<[number, Record<string, unknown>]> = [
    [3, { value: 4 }], [5, { value: 64 }], [5, { value: -65 }], [7, { value: 2 ** 32 }], [11, { value: 32768 }], [15, { value: 2 ** 31 }],
    [45, { value: true, qu: 32 }], [46, { value: 1, qu: -1 }], [48, { value: 1.5 }], [100, { qoi: 256 }], [101, { rqt: 64 }],
    [30, { value: true, time: null }], [30, { value: true, time: { ms: 0, minute: 64, hour: 0, day: 1, month: 1, year: 0 } }],
    [1, { value: 'yes' }], [1, { value: true, quality: 5 }], [125, { file: 1, section: 1, segment: [1, 2] }],
  ];
  for (const [typeId, obj] of cases) {
    try {
      encodeAsdu(asdu(typeId, [{ ioa: 1, ...obj }]));
      assert.fail(`type ${typeId} ${JSON.stringify(obj)} should not encode`);
    } catch (e) {
      assert.ok(e instanceof CodecError, String(e));
      assert.equal(e.code, 'E_VALUE_RANGE');
      assert.match(e.field, /^object\[0\] \(IOA 1\)/);
    }
  }
  throwsCode(() => encodeAsdu(asdu(1, [{ ioa: 0x1000000, value: true }])), 'E_VALUE_RANGE');
  throwsCode(() => encodeAsdu(asdu(1, [{ ioa: 1, value: true }], { ca: 65536 })), 'E_VALUE_RANGE');
  throwsCode(() => encodeAsdu(asdu(1, [{ ioa: 1, value: true }], { cot: 64 })), 'E_VALUE_RANGE');
  throwsCode(() => encodeAsdu(asdu(1, [{ ioa: 1, value: true }, { ioa: 3, value: true }], { sq: true })), 'E_ENCODE_TYPE');
  throwsCode(() => encodeAsdu(asdu(200, [])), 'E_ENCODE_TYPE');
});

test('every element has a sample, and every sample round-trips through its element', () => {
  for (const t of allTypes()) {
    for (const f of t.fields) {
      for (let i = 0; i < 3; i++) {
        const obj = sampleElement(f, i);
        for (const k of f.keys) assert.ok(k in obj || f.ie === 'NVA', `${f.ie} sample lacks ${k}`);
        const size = f.size || f.sizeOf!(obj);
        const b = new Uint8Array(size + 2);
        f.write(obj, b, 1);
        const back: Record<string, unknown> = {};
        f.read(b, 1, back, { warn: (c, _o, field, m) => assert.fail(`${f.ie}: unexpected ${c} ${field} ${m}`) });
        assert.deepEqual(back, obj, f.ie);
        assert.equal(typeof f.explain(b, 1), 'string');
      }
    }
  }
});

/** One frame per warning code the decoder can produce. `satisfies` makes this list complete at compile time. */
const WARNING_FRAMES = {
  W_COT_NOT_ALLOWED: [encodeAsdu(asdu(1, [{ ioa: 1, value: true }], { cot: 6 })), 2],
  W_COT_UNKNOWN: [encodeAsdu(asdu(1, [{ ioa: 1, value: true }], { cot: 42 })), 2],
  W_SQ_NOT_ALLOWED: [encodeAsdu(asdu(30, [{ ioa: 1, value: true, time: { ms: 0, minute: 0, hour: 0, day: 1, dayOfWeek: 0, month: 1, year: 0, invalid: false, summerTime: false } }], { sq: true })), 1],
  W_EMPTY_ASDU: [encodeAsdu(asdu(1, [])), 1],
  W_RESERVED_BITS: [Uint8Array.of(1, 1, 3, 0, 1, 0, 1, 0, 0, 0x02), 9],
  W_RESERVED_VALUE: [encodeAsdu(asdu(46, [{ ioa: 1, value: 0 }], { cot: 6 })), 9],
  W_TIME_FIELD: [encodeAsdu(asdu(30, [{ ioa: 1, value: true, time: { ms: 0, minute: 0, hour: 24, day: 1, dayOfWeek: 0, month: 1, year: 0, invalid: false, summerTime: false } }])), 10],
  W_FLOAT_NOT_FINITE: [encodeAsdu(asdu(13, [{ ioa: 1, value: NaN }])), 9],
  W_TYPE_RESERVED: [encodeAsdu({ ...asdu(22, []), raw: Uint8Array.of(1, 0, 0, 5), rawCount: 1 }), 0],
  W_BROADCAST: [encodeAsdu(asdu(1, [{ ioa: 1, value: true }], { ca: 0xffff })), 4],
  W_IOA_ZERO: [encodeAsdu(asdu(1, [{ ioa: 0, value: true }])), 6],
  W_IEC101_ONLY_TYPE: [encodeAsdu(asdu(2, [{ ioa: 1, value: true, time: { ms: 0, minute: 0, invalid: false } }])), 0],
} satisfies Record<CodecWarningCode, [Uint8Array, number]>;

for (const [code, [frame, offset]] of Object.entries(WARNING_FRAMES)) {
  test(`decoder produces ${code} at byte ${offset}`, () => {
    const w = warns(frame);
    assert.ok(w.some(([c, o]) => c === code && o === offset), JSON.stringify(w));
    assert.equal(ok(decodeAsdu(frame, IEC104_OPTIONS, false)).warnings, undefined, 'checks=false gives no warnings');
  });
}

test('reserved values of qualifiers give W_RESERVED_VALUE', () => {
  const cases: Array<[number, Record<string, unknown>, number]> = [
    [45, { value: true, qu: 5 }, 6], [47, { value: 3 }, 6], [48, { value: 0.5, ql: 5 }, 6], [100, { qoi: 19 }, 6], [101, { rqt: 6 }, 6],
    [105, { qrp: 0 }, 6], [104, { pattern: 0x1234 }, 6], [110, { value: 0, kpa: 0 }, 6], [113, { qpa: 4 }, 6],
  ];
  for (const [typeId, obj, cot] of cases) {
    const w = warns(encodeAsdu(asdu(typeId, [{ ioa: 1, ...obj }], { cot })));
    // C_TS_NA_1 (104) also carries W_IEC101_ONLY_TYPE
    assert.deepEqual(w.map((x) => x[0]).filter((c) => c !== 'W_IEC101_ONLY_TYPE'), ['W_RESERVED_VALUE'], `type ${typeId}`);
  }
  // common address 0
  assert.ok(warns(encodeAsdu(asdu(1, [{ ioa: 1, value: true }], { ca: 0 }))).some(([c, o]) => c === 'W_RESERVED_VALUE' && o === 4));
});

test('reserved bits of SIQ/DIQ/QDS/SEP/SPE/OCI/QDP/SCO give W_RESERVED_BITS at the element', () => {
  const cases: Array<[number, number]> = [[1, 0x0e], [3, 0x0c], [9, 0], [45, 0x02]];
  for (const [typeId, mask] of cases) {
    const a = asdu(typeId, [{ ioa: 1, ...Object.assign({}, ...typeInfo(typeId)!.fields.map((f) => sampleElement(f, 0))) }], { cot: typeId === 45 ? 6 : 3 });
    const b = encodeAsdu(a);
    const at = typeId === 9 ? 11 : 9;
    b[at] |= mask || 0x02;
    assert.ok(warns(b).some(([c, o]) => c === 'W_RESERVED_BITS' && o === at), `type ${typeId}`);
  }
  for (const [typeId, at, bit] of [[38, 9, 0x04], [39, 9, 0x40], [39, 10, 0x01], [40, 9, 0x80]] as const) {
    const b = encodeAsdu(asdu(typeId, [{ ioa: 1, ...Object.assign({}, ...typeInfo(typeId)!.fields.map((f) => sampleElement(f, 0))) }]));
    b[at] |= bit;
    assert.ok(warns(b).some(([c, o]) => c === 'W_RESERVED_BITS' && o === at), `type ${typeId}`);
  }
});

test('ASDU structure errors: truncated header, object length mismatch, SQ IOA overflow', () => {
  const e = (b: Uint8Array, o = IEC104_OPTIONS) => { const r = decodeAsdu(b, o); assert.equal(r.ok, false); return r.ok ? assert.fail() : [r.error.code, r.error.offset]; };
  assert.deepEqual(e(Uint8Array.of(1, 1, 3, 0, 1)), ['E_TRUNCATED', 5]);
  const good = encodeAsdu(asdu(1, [{ ioa: 1, value: true }, { ioa: 2, value: false }]));
  assert.deepEqual(e(good.subarray(0, good.length - 1)), ['E_TRUNCATED', good.length - 1]);
  assert.deepEqual(e(Uint8Array.of(...good, 0)), ['E_ASDU_LENGTH', good.length]);
  const empty = encodeAsdu(asdu(1, []));
  assert.deepEqual(e(Uint8Array.of(...empty, 1)), ['E_ASDU_LENGTH', 6]);
  // SQ=1 with 3 objects from IOA 0xFFFFFE overflows
  assert.deepEqual(e(Uint8Array.of(1, 0x83, 3, 0, 1, 0, 0xfe, 0xff, 0xff, 1, 0, 1)), ['E_IOA_OVERFLOW', 6]);
  // segment longer than the ASDU
  assert.deepEqual(e(Uint8Array.of(125, 1, 13, 0, 1, 0, 1, 0, 0, 0x34, 0x12, 1, 9, 1, 2)), ['E_TRUNCATED', 15]);
});

test('options: widths validated (E_OPTIONS) and honoured', () => {
  throwsCode(() => resolveOptions({ cotSize: 3 as 1 }), 'E_OPTIONS');
  throwsCode(() => resolveOptions({ caSize: 0 as 1 }), 'E_OPTIONS');
  throwsCode(() => resolveOptions({ ioaSize: 4 as 1 }), 'E_OPTIONS');
  assert.deepEqual(resolveOptions({ ioaSize: 2 }), { cotSize: 2, caSize: 2, ioaSize: 2 });
  // default widths, however given, resolve to the one shared (frozen) default object
  assert.equal(resolveOptions({}), resolveOptions());
  assert.equal(resolveOptions({ cotSize: 2, caSize: 2, ioaSize: 3 }), resolveOptions());
  assert.ok(Object.isFrozen(resolveOptions({})));
  const o = resolveOptions({ cotSize: 1, caSize: 1, ioaSize: 1 });
  const b = encodeAsdu(asdu(100, [{ ioa: 0, qoi: 20 }], { cot: 6, ca: 0xff }), o);
  assert.deepEqual([...b], [100, 1, 6, 0xff, 0, 20]);
  const a = ok(decodeAsdu(b, o));
  assert.equal(a.ca, 0xff);
  assert.equal(a.warnings, undefined, 'broadcast 0xFF allowed for C_IC_NA_1');
});
