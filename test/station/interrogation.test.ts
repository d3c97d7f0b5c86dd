import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PointConfig } from '../../src/station/point-database.js';
import { asdu, brief, fakeStation } from './helpers.js';

const GI = (ca = 1, qoi = 20, cot = 6) => asdu(100, cot, ca, [{ ioa: 0, qoi }]);

function sps(ca: number, from: number, n: number, extra: Partial<PointConfig> = {}): PointConfig[] {
  return Array.from({ length: n }, (_, i) => ({ ca, ioa: from + i, type: 1, value: i % 2 === 0, ...extra }));
}

test('GI: ACT_CON first, densely packed data with COT 20, SQ=1 for contiguous IOAs, ACT_TERM last', () => {
  const points: PointConfig[] = [
    ...sps(1, 1, 300), // contiguous run of 300 single points → SQ=1, 127 per ASDU
    { ca: 1, ioa: 1000, type: 13, value: 1.5 },
    { ca: 1, ioa: 1002, type: 13, value: 2.5 }, // not contiguous → SQ=0
    ...Array.from({ length: 60 }, (_, i): PointConfig => ({ ca: 1, ioa: 2000 + i, type: 13, value: i })), // 60 floats contiguous → SQ=1 (max 48 per ASDU)
    { ca: 1, ioa: 3000, type: 31, value: 2 }, // DP configured time-tagged: GI sends M_DP_NA_1
    { ca: 1, ioa: 4000, type: 15, value: 7 }, // counter: not in GI
  ];
  const h = fakeStation({ points }, 1000);
  const m = h.started();
  m.deliver(GI());
  const out = m.take();
  assert.equal(brief(out[0]), '100/7@1:1');
  assert.equal(out[0].objects[0].qoi, 20);
  assert.equal(brief(out[out.length - 1]), '100/10@1:1');
  const data = out.slice(1, -1);
  assert.ok(data.every((a) => a.cot === 20 && !a.negative));
  assert.deepEqual(data.map(brief), [
    '1/20@1:127sq', '1/20@1:127sq', '1/20@1:46sq',
    '3/20@1:1',
    '13/20@1:48sq', '13/20@1:12sq', '13/20@1:2',
  ]);
  // values and IOAs survive
  assert.equal(data[0].objects[0].ioa, 1);
  assert.equal(data[0].objects[0].value, true);
  assert.equal(data[2].objects[45].ioa, 300);
  assert.equal(data[3].objects[0].value, 2);
  assert.equal(data[3].objects[0].time, undefined, 'GI data carries no time tag');
  assert.deepEqual(data[6].objects.map((o) => [o.ioa, o.value]), [[1000, 1.5], [1002, 2.5]]);
  const total = data.reduce((n, a) => n + a.objects.length, 0);
  assert.equal(total, 300 + 2 + 60 + 1);
});

test('GI: scattered IOAs pack many objects per SQ=0 ASDU up to the 249-octet limit', () => {
  const points = Array.from({ length: 100 }, (_, i): PointConfig => ({ ca: 1, ioa: 10 + i * 2, type: 11, value: i }));
  const h = fakeStation({ points }, 1000);
  const m = h.started();
  m.deliver(GI());
  const data = m.take().slice(1, -1);
  // M_ME_NB_1 element 3 octets + IOA 3: (249 - 6) / 6 = 40 per ASDU
  assert.deepEqual(data.map(brief), ['11/20@1:40', '11/20@1:40', '11/20@1:20']);
});

test('group interrogation (QOI 21..36) sends only the group, with COT 20+n', () => {
  const h = fakeStation({ points: [...sps(1, 1, 3, { groups: [1] }), ...sps(1, 10, 2, { groups: [2] }), { ca: 1, ioa: 20, type: 9, value: 0.5, groups: [1, 2] }] });
  const m = h.started();
  m.deliver(GI(1, 22));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['100/7@1:1', '1/22@1:2', '9/22@1:1', '100/10@1:1']);
  assert.deepEqual(out[1].objects.map((o) => o.ioa), [10, 11]);
  assert.equal(out[3].objects[0].qoi, 22);
});

test('GI waits for the window and is sent as the master acknowledges; ACT_TERM last', () => {
  const h = fakeStation({ points: Array.from({ length: 40 }, (_, i): PointConfig => ({ ca: 1, ioa: 1 + i * 10, type: 13, value: i })) }, 2);
  const m = h.started();
  m.deliver(GI());
  assert.deepEqual(m.take().map(brief), ['100/7@1:1', '13/20@1:30']);
  m.ack();
  assert.deepEqual(m.take().map(brief), ['13/20@1:10', '100/10@1:1']);
});

test('GI deactivation (COT 8) removes the rest and is confirmed; without a running GI the DEACT_CON is negative', () => {
  const h = fakeStation({ points: Array.from({ length: 200 }, (_, i): PointConfig => ({ ca: 1, ioa: 1 + i * 10, type: 13, value: i })) }, 2);
  const m = h.started();
  m.deliver(GI());
  assert.equal(m.take().length, 2);
  m.deliver(GI(1, 20, 8));
  m.ack();
  const out = m.take();
  assert.deepEqual(out.map(brief), ['100/9@1:1']);
  m.ack();
  assert.deepEqual(m.take(), [], 'nothing more, no ACT_TERM');
  m.deliver(GI(1, 20, 8));
  assert.deepEqual(m.take().map(brief), ['100/9-@1:1']);
});

test('GI with an undefined QOI gets a negative ACT_CON', () => {
  const h = fakeStation({ points: sps(1, 1, 1) });
  const m = h.started();
  m.deliver(GI(1, 5));
  assert.deepEqual(m.take().map(brief), ['100/7-@1:1']);
});

test('broadcast CA 0xFFFF: GI answered per configured CA, each with its own address', () => {
  const h = fakeStation({ points: [...sps(1, 1, 2), ...sps(7, 1, 1)] });
  const m = h.started();
  m.deliver(GI(0xffff));
  assert.deepEqual(m.take().map(brief), ['100/7@1:1', '1/20@1:2', '100/10@1:1', '100/7@7:1', '1/20@7:1', '100/10@7:1']);
});

test('broadcast CA with a type that does not allow it → unknown CA (46)', () => {
  const h = fakeStation({ points: sps(1, 1, 1) });
  const m = h.started();
  m.deliver(asdu(102, 5, 0xffff, [{ ioa: 1 }]));
  assert.deepEqual(m.take().map(brief), ['102/46-@65535:1']);
});

test('counter interrogation: read, freeze, freeze+reset, reset, groups; COT 37..41', () => {
  const h = fakeStation({
    points: [
      { ca: 1, ioa: 100, type: 15, value: 1000, counterGroup: 1 },
      { ca: 1, ioa: 101, type: 15, value: 2000, counterGroup: 2 },
      { ca: 1, ioa: 102, type: 37, value: 3000, counterGroup: 2 },
      { ca: 1, ioa: 1, type: 1 },
    ],
  });
  const m = h.started();
  const CI = (rqt: number, frz: number) => asdu(101, 6, 1, [{ ioa: 0, rqt, frz }]);
  // read general: current values (never frozen)
  m.deliver(CI(5, 0));
  let out = m.takeAck();
  assert.deepEqual(out.map(brief), ['101/7@1:1', '15/37@1:2', '37/37@1:1', '101/10@1:1']);
  assert.deepEqual(out[1].objects.map((o) => o.value), [1000, 2000]);
  assert.ok(out[2].objects[0].time, 'M_IT_TB_1 carries a time tag');
  // freeze group 2 without reset, then change the counters, then read group 2: frozen values, sequence 0
  m.deliver(CI(2, 1));
  assert.deepEqual(m.takeAck().map(brief), ['101/7@1:1', '101/10@1:1']);
  h.station.update(1, 101, 2500);
  h.station.update(1, 102, 3500);
  m.deliver(CI(2, 0));
  out = m.takeAck();
  assert.deepEqual(out.map(brief), ['101/7@1:1', '15/39@1:1', '37/39@1:1', '101/10@1:1']);
  assert.equal(out[1].objects[0].value, 2000);
  assert.equal(out[2].objects[0].value, 3000);
  assert.equal(out[1].objects[0].sequence, 0);
  // freeze with reset: frozen = 2500, current → 0, sequence 1
  m.deliver(CI(2, 2));
  m.takeAck();
  assert.deepEqual(h.station.point(1, 101)!.value, { value: 0 });
  m.deliver(CI(2, 0));
  out = m.takeAck();
  assert.equal(out[1].objects[0].value, 2500);
  assert.equal(out[1].objects[0].sequence, 1);
  // reset group 1 (no freeze)
  m.deliver(CI(1, 3));
  m.takeAck();
  assert.deepEqual(h.station.point(1, 100)!.value, { value: 0 });
  // group 3 has no counters: just ACT_CON / ACT_TERM with COT 40 data none
  m.deliver(CI(3, 0));
  assert.deepEqual(m.takeAck().map(brief), ['101/7@1:1', '101/10@1:1']);
  // RQT 0 is not a request
  m.deliver(CI(0, 0));
  assert.deepEqual(m.takeAck().map(brief), ['101/7-@1:1']);
});

test('counter updates raise no spontaneous event by default', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 100, type: 15 }] });
  const m = h.started();
  assert.equal(h.station.update(1, 100, 5), undefined);
  assert.deepEqual(m.take(), []);
});

test('read command: COT 5 answer, unknown IOA → negative 47, unreadable counter → 47', () => {
  const h = fakeStation({ points: [{ ca: 1, ioa: 10, type: 36, value: 42.5 }, { ca: 1, ioa: 11, type: 15 }] });
  const m = h.started();
  m.deliver(asdu(102, 5, 1, [{ ioa: 10 }]));
  m.deliver(asdu(102, 5, 1, [{ ioa: 99 }]));
  m.deliver(asdu(102, 5, 1, [{ ioa: 11 }]));
  const out = m.take();
  assert.deepEqual(out.map(brief), ['13/5@1:1', '102/47-@1:1', '102/47-@1:1']);
  assert.equal(out[0].objects[0].value, 42.5);
  assert.equal(out[1].objects[0].ioa, 99);
});

test('cyclic transmission (COT 1) every period via the clock; skipped while the previous cycle is queued', () => {
  const h = fakeStation({ cyclicPeriodMs: 5000, points: [{ ca: 1, ioa: 1, type: 13, value: 1, cyclic: true }, { ca: 1, ioa: 2, type: 13, value: 2, cyclic: true }, { ca: 1, ioa: 3, type: 13 }] }, 1);
  const m = h.started();
  h.tick(4999);
  assert.deepEqual(m.take(), []);
  h.tick(1);
  const out = m.take();
  assert.deepEqual(out.map(brief), ['13/1@1:2']);
  h.tick(5000); // window full (k=1): nothing sent
  h.tick(5000);
  m.ack();
  assert.deepEqual(m.take().map(brief), ['13/1@1:2'], 'one cycle, not two');
});

test('background scan (COT 2) sends interrogated points when enabled', () => {
  const h = fakeStation({ backgroundPeriodMs: 60_000, points: [...sps(1, 1, 2), { ca: 1, ioa: 5, type: 15 }] });
  const m = h.started();
  h.tick(60_000);
  assert.deepEqual(m.take().map(brief), ['1/2@1:2']);
});

test('config rejects cyclic for non-measured types', () => {
  assert.throws(() => fakeStation({ points: [{ ca: 1, ioa: 1, type: 1, cyclic: true }] }), /points\[0\].*cyclically/);
});
