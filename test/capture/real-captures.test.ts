/**
 * Our decoding of the real captures in test/fixtures/captures compared, APDU by APDU, with tshark's
 * decoding of the same files (test/fixtures/captures/*.json, from scripts/gen-capture-expectations.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURES_DIR } from '../helpers/captures.js';
import { analyzeBytes, type ApduRecord } from '../../src/capture/analyze.js';
import { U_FUNCTIONS } from '../../src/codec/apci.js';
import type { TsharkFixture } from '../../scripts/gen-capture-expectations.js';

const CAPS = CAPTURES_DIR;
const FIX = join(new URL('../fixtures/captures', import.meta.url).pathname);
const FILES: Array<[string, number]> = [
  ['fkie_epf_iec104.pcap', 115],
  ['ITI_090813_diverse.pcap', 86],
  ['nDPI_IEC104.pcap', 8],
  ['automayt_IEC104_SQ.pcapng', 4],
];

function epochOf(ts: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(ts)!;
  return `${Date.parse(m[1] + 'Z') / 1000}.${(m[2] ?? '').padEnd(9, '0')}`;
}

function ipOf(ep: string): [string, number] {
  const i = ep.lastIndexOf(':');
  return [ep.slice(0, i).replace(/^\[|\]$/g, ''), Number(ep.slice(i + 1))];
}

for (const [file, count] of FILES) {
  const fixture = JSON.parse(readFileSync(join(FIX, file.replace(/\.pcap(ng)?$/, '') + '.json'), 'utf8')) as TsharkFixture;
  const path = join(CAPS, file);
  test(`${file}: ${count} APDUs, each equal to tshark's decoding`, () => {
    const { records, issues } = analyzeBytes(readFileSync(path));
    assert.equal(fixture.apdus.length, count, 'fixture count');
    assert.equal(records.length, count);
    assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
    records.forEach((r: ApduRecord, k) => {
      const t = fixture.apdus[k];
      const where = `APDU ${k} (frame ${t.frame})`;
      assert.ok(r.apdu, `${where}: decoded`);
      const a = r.apdu!;
      assert.equal(r.frame, t.frame, `${where}: frame`);
      assert.equal(epochOf(r.ts), t.epoch, `${where}: time`);
      assert.deepEqual(ipOf(r.src), [t.src, t.srcPort], `${where}: src`);
      assert.deepEqual(ipOf(r.dst), [t.dst, t.dstPort], `${where}: dst`);
      assert.equal({ I: 0, S: 1, U: 3 }[a.apci.format], t.type, `${where}: format`);
      if (a.apci.format === 'U') assert.equal(U_FUNCTIONS[a.apci.uFunction] >> 2, t.utype, `${where}: utype`);
      if (a.apci.format === 'I') {
        assert.equal(a.apci.sendSeq, t.tx, `${where}: tx`);
        assert.equal(a.apci.recvSeq, t.rx, `${where}: rx`);
        const s = a.asdu!;
        assert.equal(s.typeId, t.typeId, `${where}: type`);
        assert.equal(s.cot, t.cot, `${where}: cot`);
        assert.equal(s.ca, t.ca, `${where}: ca`);
        assert.equal(s.originator, t.oa, `${where}: oa`);
        assert.equal(s.negative, t.negative, `${where}: P/N`);
        assert.equal(s.test, t.test, `${where}: test`);
        assert.equal(s.sq, t.sq, `${where}: sq`);
        assert.equal(s.objects.length, t.numix, `${where}: count`);
        assert.deepEqual(s.objects.map((o) => o.ioa), t.ioas, `${where}: IOAs`);
      }
      if (a.apci.format === 'S') assert.equal(a.apci.recvSeq, t.rx, `${where}: rx`);
    });
  });

  test(`${file}: fed in 1- and 7-octet chunks gives the same records`, () => {
    const bytes = readFileSync(path);
    const whole = analyzeBytes(bytes).records.map((r) => JSON.stringify([r.frame, r.ts, r.src, r.apdu]));
    for (const size of [1, 7]) {
      const parts = analyzeBytes(bytes, {}, size).records.map((r) => JSON.stringify([r.frame, r.ts, r.src, r.apdu]));
      assert.deepEqual(parts, whole, `chunk size ${size}`);
    }
  });
}

test('real captures: directions and flows', () => {
  const fk = analyzeBytes(readFileSync(join(CAPS, 'fkie_epf_iec104.pcap')));
  assert.equal(fk.summary.flows.length, 1);
  assert.equal(fk.summary.flows[0].station, 'b');
  assert.equal(fk.records[0].direction, 'master→station');
  assert.equal(fk.records[1].direction, 'station→master');
  const nd = analyzeBytes(readFileSync(join(CAPS, 'nDPI_IEC104.pcap')));
  assert.deepEqual(nd.summary.flows.map((f) => [f.kind, f.station]), [['iec104', 'a'], ['iec104', 'a']]);
  assert.ok(nd.records.every((r) => r.direction === (r.src.endsWith(':2404') ? 'station→master' : 'master→station')));
  // client and server on the same IP: ports tell the sides apart
  const iti = analyzeBytes(readFileSync(join(CAPS, 'ITI_090813_diverse.pcap')));
  assert.ok(iti.records.every((r) => r.direction === (r.src.endsWith(':2404') ? 'station→master' : 'master→station')));
});
