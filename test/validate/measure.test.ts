import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencyStats, measure, formatMeasure } from '../../src/validate/measure.js';
import { measureSvg, niceTicks } from '../../src/validate/plot.js';
import { startFakeStation } from './fake-station.js';
import { checkXml } from './xml-check.js';

test('latency statistics use nearest-rank percentiles', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.deepEqual(latencyStats(v), { count: 100, min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  assert.deepEqual(latencyStats([7]), { count: 1, min: 7, p50: 7, p90: 7, p99: 7, max: 7, mean: 7 });
  assert.equal(latencyStats([]), undefined);
});

test('axis ticks are round and cover the data', () => {
  assert.deepEqual(niceTicks(0, 12.3, 5), [0, 2.5, 5, 7.5, 10, 12.5]);
  assert.deepEqual(niceTicks(0, 238, 5), [0, 50, 100, 150, 200, 250]);
  const t = niceTicks(0, 2.43, 8);
  assert.ok(t[t.length - 1] >= 2.43 && t[0] === 0);
});

test('measure: single commands with toggle, ACT_CON/ACT_TERM latency and feedback', async () => {
  const st = await startFakeStation({ commandDelayMs: 2, feedbackDelayMs: 3 });
  try {
    const r = await measure({ target: { host: '127.0.0.1', port: st.port }, ca: 1, ioa: 5000, kind: 'single', value: 'toggle', count: 20, feedbackIoa: 100, timeout: 1000 });
    assert.equal(r.error, undefined);
    assert.equal(r.sent, 20);
    assert.deepEqual(r.outcomes, { positive: 20, negative: 0, timeout: 0, closed: 0 });
    assert.equal(r.actTermTimeouts, 0);
    assert.equal(r.feedbackTimeouts, 0);
    assert.deepEqual(st.executed.slice(0, 3).map((e) => e.value), [true, false, true], 'toggle alternates ON/OFF');
    const { actCon, actTerm, feedback } = r.stats;
    assert.ok(actCon && actTerm && feedback);
    assert.equal(actCon.count, 20);
    // libuv timers run on a millisecond loop clock and can fire up to ~1 ms before a full 2 ms of
    // performance.now() time has passed; an undelayed answer takes ~0.05 ms, so >= 1 ms still shows the wait
    assert.ok(actCon.min >= 1, `ACT_CON waits for the station's 2 ms delay (${actCon.min})`);
    assert.ok(actTerm.p50 >= actCon.p50 + 1, 'ACT_TERM comes after ACT_CON plus the feedback delay');
    assert.ok(actCon.min <= actCon.p50 && actCon.p50 <= actCon.p90 && actCon.p90 <= actCon.p99 && actCon.p99 <= actCon.max);
    assert.match(formatMeasure(r), /ACT_CON\s+20\s/);

    const svg = measureSvg(r);
    const names = checkXml(svg);
    assert.equal(names[0], 'svg');
    assert.equal(names.filter((n) => n === 'circle').length, 60, 'one point per sample and series');
    for (const label of ['latency (ms) from sending the command', 'time since the first command (s)', 'Latency distribution', 'Latency over time', 'ACT_CON', 'ACT_TERM', 'feedback', 'p99']) assert.ok(svg.includes(label), label);
  } finally {
    await st.close();
  }
});

test('measure: refusals, missing ACT_TERM and select-before-operate are counted', async () => {
  const st = await startFakeStation({ misbehave: { noActTerm: true } });
  try {
    const target = { host: '127.0.0.1', port: st.port };
    const refused = await measure({ target, ca: 1, ioa: 5001, kind: 'single', value: 'on', count: 3, timeout: 300 });
    assert.deepEqual(refused.outcomes, { positive: 0, negative: 3, timeout: 0, closed: 0 });
    assert.ok(refused.samples.every((s) => s.cause === 7));
    const sbo = await measure({ target, ca: 1, ioa: 5001, kind: 'single', value: 'toggle', count: 3, select: true, timeout: 300, termTimeout: 60 });
    assert.equal(sbo.outcomes.positive, 3);
    assert.equal(sbo.actTermTimeouts, 3);
    assert.equal(sbo.stats.selectCon?.count, 3);
    assert.equal(sbo.stats.actTerm, undefined);
    const svg = measureSvg({ ...refused });
    checkXml(svg);
    assert.ok(svg.includes('no latency measured') || svg.includes('negative / timeout'));
  } finally {
    await st.close();
  }
});

test('measure: a closed port ends with an error, not an exception', async () => {
  const st = await startFakeStation();
  const port = st.port;
  await st.close();
  const r = await measure({ target: { host: '127.0.0.1', port }, ca: 1, ioa: 5000, kind: 'single', value: 'on', count: 2, t0: 500 });
  assert.match(r.error ?? '', /cannot connect/);
  assert.equal(r.samples.length, 0);
});

test('measure text: commands counted when every select is refused; ACT_TERM missing only when awaited', async () => {
  const st = await startFakeStation();
  try {
    const target = { host: '127.0.0.1', port: st.port };
    // selects to an unknown IOA: refused (COT 47), no execute sent
    const refused = await measure({ target, ca: 1, ioa: 9999, kind: 'single', value: 'on', count: 3, select: true, timeout: 300 });
    assert.deepEqual([refused.attempted, refused.selects, refused.sent], [3, 3, 0]);
    const text = formatMeasure(refused);
    assert.match(text, /, 3 command\(s\) \(3 select\(s\), 0 execute\(s\)\) in /);
    assert.doesNotMatch(text, /0 command\(s\)|ACT_TERM missing/);
    // without waiting for ACT_TERM: say so rather than "missing 0"
    const noTerm = await measure({ target, ca: 1, ioa: 5000, kind: 'single', value: 'on', count: 2, waitTerm: false, timeout: 300 });
    assert.equal(noTerm.outcomes.positive, 2);
    assert.match(formatMeasure(noTerm), /; ACT_TERM not awaited/);
    assert.doesNotMatch(formatMeasure(noTerm) + measureSvg(noTerm), /ACT_TERM missing/);
    // awaited and all there
    const ok = await measure({ target, ca: 1, ioa: 5000, kind: 'single', value: 'on', count: 2, timeout: 300 });
    assert.match(formatMeasure(ok), /, 2 command\(s\) in .*\n.*; ACT_TERM missing 0 of 2/);
  } finally {
    await st.close();
  }
});

test('measure SVG: ACT_TERM and feedback bars of one bin stand side by side, none hidden behind another', async () => {
  const st = await startFakeStation({ commandDelayMs: 1 });
  try {
    // feedback right after ACT_TERM: both fall into the same histogram bins
    const r = await measure({ target: { host: '127.0.0.1', port: st.port }, ca: 1, ioa: 5000, kind: 'single', value: 'toggle', count: 10, feedbackIoa: 100, timeout: 1000 });
    const svg = measureSvg(r);
    const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" [^>]*data-series="(\w+)"/g)].map((m) => ({ x: Number(m[1]), w: Number(m[2]), series: m[3] }));
    const term = bars.filter((b) => b.series === 'actTerm');
    const fb = bars.filter((b) => b.series === 'feedback');
    assert.ok(term.length > 0 && fb.length > 0, 'both series have bars');
    for (const a of bars) {
      for (const b of bars) {
        if (a === b) continue;
        assert.ok(a.x + a.w <= b.x + 1e-6 || b.x + b.w <= a.x + 1e-6, `${a.series} bar at ${a.x} (w ${a.w}) overlaps ${b.series} bar at ${b.x} (w ${b.w})`);
      }
    }
  } finally {
    await st.close();
  }
});
