import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allTypes,
  apduToJson,
  type CodecOptions,
  decodeApdu,
  encodeApdu,
  type ExplainRow,
  explainApdu,
  formatExplanation,
  IEC104_OPTIONS,
  octetsToHex,
  type TypeInfo,
} from '../../src/codec/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));

const GI = '68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00 14';
// M_ME_NC_1, spontaneous, CA 1, IOA 1001, 230.5, good quality; N(S)=1 N(R)=1
const FLOAT = '68 12 02 00 02 00 0D 01 03 00 01 00 E9 03 00 00 80 66 43 00';

/** Rows must be contiguous from 0 and cover exactly `n` octets, each row's bytes matching the input. */
function assertCovers(rows: ExplainRow[], input: Uint8Array, n = input.length): void {
  let p = 0;
  for (const r of rows) {
    assert.equal(r.offset, p, `row ${r.field} starts at ${r.offset}, expected ${p}`);
    assert.ok(r.length >= 1, `row ${r.field} is empty`);
    assert.equal(r.bytes, octetsToHex(input.subarray(r.offset, r.offset + r.length)));
    assert.ok(r.meaning.length > 0, `row ${r.field} has no meaning`);
    p += r.length;
  }
  assert.equal(p, n, `rows cover ${p} of ${n} octets`);
}

/** Deterministic pseudo-random octets. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s & 0xff;
  };
}

/** A frame of `t` with `count` objects (SQ as given) whose element octets are pseudo-random. */
function sampleFrame(t: TypeInfo, count: number, sq: boolean, o: CodecOptions = IEC104_OPTIONS, seed = t.id): { bytes: Uint8Array; elementRows: number } {
  const rnd = prng(seed * 7919 + count);
  const body: number[] = [t.id, count | (sq ? 0x80 : 0), t.causes.has(3) ? 3 : [...t.causes][0]];
  if (o.cotSize === 2) body.push(0);
  body.push(1);
  if (o.caSize === 2) body.push(0);
  let elementRows = 0;
  const ioa = (i: number): number[] => [10 + i, 0, 0].slice(0, o.ioaSize);
  if (t.raw) {
    for (let i = 0; i < 9; i++) body.push(rnd());
    elementRows = 1;
  } else {
    for (let i = 0; i < count; i++) {
      if (!sq || i === 0) {
        body.push(...ioa(i));
        elementRows++;
      }
      for (const f of t.fields) {
        if (f.size === 0) {
          const len = 1 + (i % 3); // LOS + segment octets
          body.push(len);
          for (let k = 0; k < len; k++) body.push(rnd());
        } else {
          for (let k = 0; k < f.size; k++) body.push(rnd());
        }
        elementRows++;
      }
    }
  }
  return { bytes: Uint8Array.from([0x68, body.length + 4, 0x02, 0x00, 0x04, 0x00, ...body]), elementRows };
}

test('every type explains with one row per field, covering all octets exactly', () => {
  const types = allTypes();
  assert.ok(types.length > 80, 'type table is populated');
  for (const t of types) {
    const variants: Array<[number, boolean]> = [[1, false], [2, false]];
    if (t.sqAllowed) variants.push([3, true]);
    for (const [count, sq] of variants) {
      const { bytes, elementRows } = sampleFrame(t, count, sq);
      const x = explainApdu(bytes);
      assert.equal(x.error, undefined, `${t.name} ${count} SQ=${sq}: ${x.error?.message}`);
      assert.ok(x.apdu, `${t.name} decoded`);
      assertCovers(x.rows, bytes);
      // start, length, control, type, VSQ, COT, CA + IOA and element rows
      assert.equal(x.rows.length, 7 + elementRows, `${t.name} count=${count} SQ=${sq} rows: ${x.rows.map((r) => r.field).join(', ')}`);
      assert.equal(x.rows[3].meaning, `${t.id} ${t.name}: ${t.description}`);
      if (!t.raw) {
        // element rows are the FieldCodec's own explanation (prefixed by the IOA for SQ=1 followers)
        const el = x.rows.filter((r) => /^object\[\d+\]\./.test(r.field) && !r.field.endsWith('.IOA'));
        assert.equal(el.length, count * t.fields.length);
        el.forEach((r, k) => {
          const fc = t.fields[k % t.fields.length];
          assert.ok(r.field.startsWith(`object[${Math.floor(k / t.fields.length)}].${fc.ie}`), r.field);
          assert.ok(r.meaning.endsWith(fc.explain(bytes, r.offset)), `${t.name} ${r.field}: ${r.meaning}`);
        });
      } else {
        assert.equal(x.rows[7].field, 'objects (raw)');
      }
    }
  }
});

test('every type explains with other field widths', () => {
  const widths: CodecOptions[] = [
    { cotSize: 1, caSize: 1, ioaSize: 1 },
    { cotSize: 1, caSize: 2, ioaSize: 2 },
    { cotSize: 2, caSize: 1, ioaSize: 2 },
  ];
  for (const o of widths) {
    for (const t of allTypes()) {
      const { bytes, elementRows } = sampleFrame(t, 2, false, o);
      const x = explainApdu(bytes, o);
      assert.equal(x.error, undefined, `${t.name} ${JSON.stringify(o)}: ${x.error?.message}`);
      assertCovers(x.rows, bytes);
      assert.equal(x.rows.length, 7 + elementRows);
      assert.equal(x.rows[5].length, o.cotSize);
      assert.equal(x.rows[6].length, o.caSize);
      if (!t.raw) assert.equal(x.rows[7].length, o.ioaSize);
    }
  }
});

test('every prefix of a frame explains partially and reports an error', () => {
  for (const t of allTypes()) {
    const { bytes } = sampleFrame(t, 2, false);
    for (let k = 0; k < bytes.length; k++) {
      const cut = bytes.subarray(0, k);
      const x = explainApdu(cut);
      assert.ok(x.error, `${t.name} cut at ${k} must fail`);
      assert.equal(x.apdu, undefined);
      assertCovers(x.rows, cut);
    }
  }
});

test('the GI frame explains exactly', () => {
  const x = explainApdu(hex(GI));
  assert.equal(x.error, undefined);
  assert.deepEqual(x.warnings, []);
  assert.equal(
    formatExplanation(x),
    [
      'offset │ bytes       │ field         │ meaning',
      '     0 │ 68          │ start         │ start byte',
      '     1 │ 0E          │ length        │ 14 octets follow: control field 4 + ASDU 10',
      '     2 │ 00 00 00 00 │ control       │ I-format, N(S)=0, N(R)=0',
      '     6 │ 64          │ type ID       │ 100 C_IC_NA_1: interrogation command',
      '     7 │ 01          │ VSQ           │ SQ=0 (one IOA per object), 1 object',
      '     8 │ 06 00       │ COT           │ 6 activation (act), P/N=0 positive, T=0 not a test, originator 0',
      '    10 │ 01 00       │ CA            │ common address 1',
      '    12 │ 00 00 00    │ object[0].IOA │ address 0',
      '    15 │ 14          │ object[0].QOI │ QOI=20 station interrogation (global)',
    ].join('\n'),
  );
  const cot = x.rows.find((r) => r.field === 'COT');
  assert.deepEqual(cot && { offset: cot.offset, length: cot.length, bytes: cot.bytes, raw: cot.raw }, { offset: 8, length: 2, bytes: '06 00', raw: 6 });
  assert.equal(x.rows.find((r) => r.field === 'type ID')?.raw, 100);
  assert.equal(x.rows.find((r) => r.field === 'CA')?.raw, 1);
});

test('a float measurement explains exactly', () => {
  const x = explainApdu(hex(FLOAT));
  assert.equal(x.error, undefined);
  assert.equal(
    formatExplanation(x),
    [
      'offset │ bytes       │ field         │ meaning',
      '     0 │ 68          │ start         │ start byte',
      '     1 │ 12          │ length        │ 18 octets follow: control field 4 + ASDU 14',
      '     2 │ 02 00 02 00 │ control       │ I-format, N(S)=1, N(R)=1',
      '     6 │ 0D          │ type ID       │ 13 M_ME_NC_1: measured value, short floating point number',
      '     7 │ 01          │ VSQ           │ SQ=0 (one IOA per object), 1 object',
      '     8 │ 03 00       │ COT           │ 3 spontaneous (spont), P/N=0 positive, T=0 not a test, originator 0',
      '    10 │ 01 00       │ CA            │ common address 1',
      '    12 │ E9 03 00    │ object[0].IOA │ address 1001',
      '    15 │ 00 80 66 43 │ object[0].R32 │ float 230.5',
      '    19 │ 00          │ object[0].QDS │ OV=0 BL=0 SB=0 NT=0 IV=0',
    ].join('\n'),
  );
  assert.equal(x.rows[7].raw, 1001);
  assert.equal(x.rows[8].raw, 0x43668000);
});

test('U- and S-frames explain their control field', () => {
  assert.equal(explainApdu(hex('68 04 07 00 00 00')).rows[2].meaning, 'U-format, STARTDT act (start data transfer, activation)');
  assert.equal(explainApdu(hex('68 04 83 00 00 00')).rows[2].meaning, 'U-format, TESTFR con (test frame, confirmation)');
  const s = explainApdu(hex('68 04 01 00 0A 01'));
  assert.equal(s.rows[2].meaning, 'S-format, N(R)=133');
  assert.equal(s.error, undefined);
  assert.equal(s.rows.length, 3);
  const bad = explainApdu(hex('68 04 0F 00 00 00'));
  assert.equal(bad.error?.code, 'E_CONTROL_FIELD');
  assert.match(bad.rows[2].meaning, /^U-format, function bits 0x0C \(not exactly one function\); invalid: expected/);
});

test('SQ=1 sequences name the IOA of each element', () => {
  const x = explainApdu(hex('68 10 00 00 00 00 01 83 14 00 01 00 01 00 00 01 00 81'));
  assert.equal(x.error, undefined);
  assert.deepEqual(
    x.rows.slice(7).map((r) => [r.field, r.meaning]),
    [
      ['object[0].IOA', 'address 1, first of 3 (1..3)'],
      ['object[0].SIQ', 'SPI=1 ON, BL=0 SB=0 NT=0 IV=0'],
      ['object[1].SIQ', 'IOA 2: SPI=0 OFF, BL=0 SB=0 NT=0 IV=0'],
      ['object[2].SIQ', 'IOA 3: SPI=1 ON, BL=0 SB=0 NT=0 IV=1'],
    ],
  );
});

test('a truncated GI explains what is there and reports the error', () => {
  const b = hex(GI).subarray(0, 15);
  const x = explainApdu(b);
  assert.equal(x.error?.code, 'E_TRUNCATED');
  assert.equal(x.error?.offset, 15);
  assertCovers(x.rows, b);
  assert.equal(x.rows[x.rows.length - 1].field, 'object[0].IOA');
  assert.match(x.rows[1].meaning, /\(input has 13\)$/);
  const text = formatExplanation(x);
  assert.equal(text.split('\n').pop(), 'error E_TRUNCATED at byte 15 (APDU): expected 16 octets (length octet 14), found 15 octets');
  assert.doesNotMatch(formatExplanation(x, { error: false }), /error/);
});

test('a truncated element gets a row of its own', () => {
  // length octet claims 18 but the float is cut after 2 octets
  const b = hex(FLOAT).subarray(0, 17);
  const x = explainApdu(b);
  assert.equal(x.error?.code, 'E_TRUNCATED');
  assertCovers(x.rows, b);
  const last = x.rows[x.rows.length - 1];
  assert.deepEqual([last.field, last.meaning, last.bytes], ['object[0].R32', 'truncated R32: 2 octets of 4', '00 80']);
});

test('octets after the objects and after the APDU get rows', () => {
  // VSQ says 1 object but two are there; the length octet covers them
  const extra = hex('68 12 00 00 00 00 64 01 06 00 01 00 00 00 00 14 00 00 00 14');
  const x = explainApdu(extra);
  assert.equal(x.error?.code, 'E_ASDU_LENGTH');
  assertCovers(x.rows, extra);
  assert.deepEqual([x.rows[x.rows.length - 1].field, x.rows[x.rows.length - 1].meaning], ['extra', '4 octets after the last of 1 object (VSQ number 1)']);
  // octets beyond the length octet
  const trailing = hex(GI + ' AA BB');
  const y = explainApdu(trailing);
  assert.equal(y.error?.code, 'E_APDU_LENGTH');
  assertCovers(y.rows, trailing);
  const t = y.rows[y.rows.length - 1];
  assert.deepEqual([t.field, t.offset, t.bytes, t.raw], ['trailing', 16, 'AA BB', 0xbbaa]);
  // S-frame with octets after the control field
  const s = hex('68 06 01 00 00 00 01 02');
  const z = explainApdu(s);
  assert.equal(z.error?.code, 'E_APDU_LENGTH');
  assertCovers(z.rows, s);
  assert.equal(z.rows[3].field, 'extra');
});

test('a wrong start byte, an invalid length and empty input', () => {
  const a = hex('69 0E 00 00');
  const x = explainApdu(a);
  assert.equal(x.error?.code, 'E_START_BYTE');
  assertCovers(x.rows, a);
  assert.deepEqual(x.rows.map((r) => r.field), ['start', 'unexplained']);
  assert.equal(x.rows[0].meaning, '0x69 is not the start byte 0x68');

  const b = hex('68 02 07 00 00');
  const y = explainApdu(b);
  assert.equal(y.error?.code, 'E_APDU_LENGTH');
  assertCovers(y.rows, b);
  assert.equal(y.rows[1].meaning, 'APDU length 2: invalid, must be 4..253 (input has 3)');

  const e = explainApdu(new Uint8Array(0));
  assert.deepEqual(e.rows, []);
  assert.equal(e.error?.code, 'E_TRUNCATED');
});

test('invalid options are reported, not thrown', () => {
  const b = hex(GI);
  const x = explainApdu(b, { ioaSize: 4 as 3 });
  assert.equal(x.error?.code, 'E_OPTIONS');
  assertCovers(x.rows, b);
});

test('warnings are listed after the table and the rows are highlighted with colour', () => {
  // C_IC_NA_1 with cause 3 (spontaneous): not allowed
  const b = hex('68 0E 00 00 00 00 64 01 03 00 01 00 00 00 00 14');
  const x = explainApdu(b);
  assert.equal(x.error, undefined);
  assert.equal(x.warnings[0]?.code, 'W_COT_NOT_ALLOWED');
  const plain = formatExplanation(x);
  assert.equal(plain.split('\n').pop(), 'warning W_COT_NOT_ALLOWED at byte 8 (cause of transmission): cause 3 is not allowed for C_IC_NA_1');
  assert.doesNotMatch(plain, /\x1b\[/);
  const colored = formatExplanation(x, { color: true });
  assert.match(colored, /\x1b\[33m3 spontaneous/);
  assert.doesNotMatch(formatExplanation(x, { warnings: false }), /warning/);
});

test('long rows continue on the next lines', () => {
  // F_SG_NA_1 with a segment of 12 octets: the row wraps after 8
  const seg = hex('68 1D 00 00 00 00 7D 01 0D 00 01 00 00 00 00 02 00 01 0C 01 02 03 04 05 06 07 08 09 0A 0B 0C');
  const x = explainApdu(seg);
  assert.equal(x.error, undefined, x.error?.message);
  const lines = formatExplanation(x).split('\n');
  const i = lines.findIndex((l) => l.includes('object[0].LOS+segment'));
  assert.ok(i > 0);
  assert.match(lines[i], /│ 0C 01 02 03 04 05 06 07 │ object\[0\]\.LOS\+segment │ LOS=12, 12 octets of file data$/);
  assert.match(lines[i + 1], /^ +│ 08 09 0A 0B 0C +│ +│$/);
});

test('F_SC_NB_1 names its two time tags apart', () => {
  const t = allTypes().find((x) => x.name === 'F_SC_NB_1');
  assert.ok(t);
  const { bytes } = sampleFrame(t, 1, false);
  const fields = explainApdu(bytes).rows.map((r) => r.field);
  assert.ok(fields.includes('object[0].CP56Time2a(start)'));
  assert.ok(fields.includes('object[0].CP56Time2a(stop)'));
});

// ------------------------------------------------------------------------------------------------
// JSON view

function decoded(h: string) {
  const r = decodeApdu(hex(h));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

test('apduToJson: GI, float and U/S frames', () => {
  assert.deepEqual(apduToJson(decoded(GI)), {
    apci: { format: 'I', sendSeq: 0, recvSeq: 0 },
    asdu: { typeId: 100, typeName: 'C_IC_NA_1', sq: false, count: 1, cot: 6, cotName: 'activation', negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 0, qoi: 20 }] },
  });
  const f = apduToJson(decoded(FLOAT));
  assert.deepEqual(f.apci, { format: 'I', sendSeq: 1, recvSeq: 1 });
  assert.deepEqual(f.asdu?.objects, [{ ioa: 1001, value: 230.5, quality: { iv: false, nt: false, sb: false, bl: false, ov: false } }]);
  assert.equal(f.asdu?.warnings, undefined);
  assert.deepEqual(apduToJson(decoded('68 04 07 00 00 00')), { apci: { format: 'U', uFunction: 'STARTDT_ACT' } });
  assert.deepEqual(apduToJson(decoded('68 04 01 00 0A 00')), { apci: { format: 'S', recvSeq: 5 } });
});

test('apduToJson: NaN and infinities become strings, CP56 gains iso, warnings are kept', () => {
  // M_ME_TF_1: NaN float with a CP56Time2a 2026-11-21 13:05:07.123, SU
  const bytes = encodeApdu({
    apci: { format: 'I', sendSeq: 0, recvSeq: 0 },
    asdu: {
      typeId: 36, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1,
      objects: [
        { ioa: 1, value: NaN, time: { ms: 7123, minute: 5, hour: 13, day: 21, dayOfWeek: 6, month: 11, year: 26, invalid: false, summerTime: true } },
        { ioa: 2, value: -Infinity, time: { ms: 0, minute: 0, hour: 0, day: 1, dayOfWeek: 0, month: 13, year: 26, invalid: true, summerTime: false } },
      ],
    },
  });
  const r = decodeApdu(bytes);
  assert.ok(r.ok);
  const j = apduToJson(r.value);
  const [o1, o2] = j.asdu?.objects ?? [];
  assert.equal(o1.value, 'NaN');
  assert.equal(o2.value, '-Infinity');
  assert.deepEqual(o1.time, { ms: 7123, minute: 5, hour: 13, day: 21, dayOfWeek: 6, month: 11, year: 26, invalid: false, summerTime: true, iso: '2026-11-21T13:05:07.123' });
  assert.equal((o2.time as { iso: unknown }).iso, null);
  const codes = (j.asdu?.warnings ?? []).map((w) => w.code);
  assert.ok(codes.includes('W_FLOAT_NOT_FINITE'));
  assert.ok(codes.includes('W_TIME_FIELD'));
  // survives a JSON round trip unchanged
  assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
});

test('apduToJson: segments and raw types become hex', () => {
  const seg = apduToJson(decoded('68 14 00 00 00 00 7D 01 0D 00 01 00 00 00 00 02 00 01 03 0A 0B 0C'));
  assert.deepEqual(seg.asdu?.objects, [{ ioa: 0, file: 2, section: 1, segment: '0A 0B 0C' }]);
  const raw = apduToJson(decoded('68 0E 00 00 00 00 51 02 06 00 01 00 01 02 FF 10'));
  assert.equal(raw.asdu?.typeName, 'S_CH_NA_1');
  assert.equal(raw.asdu?.raw, '01 02 FF 10');
  assert.equal(raw.asdu?.count, 2);
  assert.deepEqual(raw.asdu?.objects, []);
});

test('apduToJson: every type gives a JSON-safe view that survives a round trip', () => {
  for (const t of allTypes()) {
    const { bytes } = sampleFrame(t, 2, false);
    const r = decodeApdu(bytes);
    assert.ok(r.ok, `${t.name}`);
    const j = apduToJson(r.value);
    assert.deepEqual(JSON.parse(JSON.stringify(j)), j, t.name);
    assert.equal(j.asdu?.typeId, t.id);
    assert.equal(j.asdu?.count, 2);
    if (!t.raw) {
      assert.equal(j.asdu?.objects.length, 2);
      for (const f of t.fields) for (const k of f.keys) assert.ok(k in (j.asdu?.objects[0] ?? {}), `${t.name} has ${k}`);
    }
  }
});
