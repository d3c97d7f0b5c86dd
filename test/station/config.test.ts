import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../src/clock.js';
import { StationConfigError, parseStationConfig } from '../../src/station/config.js';
import { nextSimulatedValue, startSimulations } from '../../src/station/simulator.js';
import { createStation } from '../../src/station/station.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { asdu, brief, fakeStation } from './helpers.js';

const bad = (yaml: string, re: RegExp) => {
  assert.throws(() => parseStationConfig(yaml), (e: unknown) => e instanceof StationConfigError && re.test(e.message), `expected ${re}`);
};

test('config errors name the path in the file', () => {
  bad('points:\n  - {ca: 1, ioa: 1, type: M_SP_NA_1}\n  - {ca: 1, ioa: 2, type: M_SP_NA_1}\n  - {ca: 1, ioa: 3, type: M_SP_NA_1}\n  - {ca: 1, ioa: 4, type: M_XX}\n', /^points\[3\]\.type: unknown type 'M_XX'$/);
  bad('points:\n  - {ca: 1, ioa: 1, type: C_SC_NA_1}\n', /^points\[0\]\.type: C_SC_NA_1 is not a monitor point type/);
  bad('points:\n  - {ca: 1, ioa: 1, type: M_DP_NA_1, value: 5}\n', /^points\[0\]\.value: expected an integer 0\.\.3/);
  bad('points:\n  - {ca: 1, ioa: 1, type: M_SP_NA_1, eventType: M_DP_TB_1}\n', /^points\[0\]\.eventType: event type M_DP_TB_1 is not of the family/);
  bad('points:\n  - {ca: 1, ioa: 1, type: 1}\n  - {ca: 1, ioa: 1, type: 3}\n', /^points\[1\]\.ioa: CA 1 IOA 1 already used by points\[0\]/);
  bad('points:\n  - {ca: 1, ioa: 1, type: 1, colour: red}\n', /^points\[0\]\.colour: unknown key/);
  bad('points:\n  - {ca: 1, ioa: 1, type: 1, simulate: {kind: random-walk, periodMs: 100, step: 1}}\n', /^points\[0\]\.simulate\.kind: 'random-walk' needs a measured value/);
  bad('points:\n  - {ca: 1, ioa: 1, type: 1, cyclic: true}\n', /^points\[0\]: M_SP_NA_1 points cannot be sent cyclically/);
  bad('points:\n  - {ca: 0, ioa: 1, type: 1}\n', /^points\[0\]\.ca: expected an integer 1\.\.65534/);
  bad('commands:\n  - {ca: 1, ioa: 9, type: C_DC_NA_1, behaviour: {feedback: {ioa: 77}}}\n', /^commands\[0\]\.behaviour\.feedback\.ioa: no point CA 1 IOA 77/);
  bad('commands:\n  - {ca: 1, ioa: 9, type: M_SP_NA_1}\n', /^commands\[0\]\.type: M_SP_NA_1 is not a process command type/);
  bad('commands:\n  - {ca: 1, ioa: 9, type: C_DC_NA_1, mode: maybe}\n', /^commands\[0\]\.mode: expected one of direct, sbo, both/);
  bad('station:\n  eventQueue: {overflow: drop-all}\n', /^station\.eventQueue\.overflow: expected one of drop-oldest, drop-newest/);
  bad('station:\n  link: {k: 4, w: 8}\n', /^station\.link\.w: w \(8\) must not exceed k \(4\)/);
  bad('listen: {port: 70000}\n', /^listen\.port: expected an integer 0\.\.65535/);
  bad('points: [ {', /not valid YAML/);
  bad('{"points": 3}', /^points: expected a list/);
});

test('a valid YAML config builds a working station; types by name or number; JSON accepted', () => {
  const cfg = parseStationConfig(`
station:
  cyclicPeriodMs: 0
  eventQueue: { capacity: 50, overflow: drop-newest }
listen: { host: 127.0.0.1, port: 0 }
points:
  - { ca: 3, ioa: 10, type: M_DP_NA_1, value: 2, groups: [1] }
  - { ca: 3, ioa: 11, type: 13, value: 1.5, simulate: { kind: random-walk, periodMs: 1000, step: 1, min: 0, max: 10 } }
commands:
  - { ca: 3, ioa: 100, type: C_DC_NA_1, mode: direct, behaviour: { delayMs: 50, feedback: { ioa: 10 } } }
`);
  assert.deepEqual(cfg.listen, { host: '127.0.0.1', port: 0 });
  assert.equal(cfg.simulations.length, 1);
  assert.equal(cfg.station.eventQueue?.overflow, 'drop-newest');
  const json = parseStationConfig(JSON.stringify({ points: [{ ca: 1, ioa: 1, type: 'M_SP_NA_1' }] }));
  assert.equal(json.station.points?.[0].type, 1);
  const h = fakeStation(cfg.station);
  const m = h.started();
  m.deliver(asdu(46, 6, 3, [{ ioa: 100, value: 1, select: false, qu: 0 }]));
  h.tick(50);
  assert.deepEqual(m.take().map(brief), ['46/7@3:1', '31/11@3:1', '46/10@3:1']);
});

test('examples/substation.yaml is valid and realistic', () => {
  const cfg = parseStationConfig(readFileSync(new URL('../../examples/substation.yaml', import.meta.url), 'utf8'));
  const st = createStation({ ...cfg.station, clock: new VirtualClock() });
  const pts = st.db.points();
  const kinds = new Set(pts.map((p) => p.kind));
  for (const k of ['double', 'float', 'step', 'counter', 'single'] as const) assert.ok(kinds.has(k), `has ${k} points`);
  const cmdTypes = new Set(st.commandObjects().map((c) => c.type));
  for (const t of [45, 46, 47, 50]) assert.ok(cmdTypes.has(t), `has command type ${t}`);
  assert.ok(cfg.simulations.length > 5);
  assert.equal(cfg.listen.port, 2404);
});

test('simulations: random walk within limits, toggle, periodic, counter', () => {
  const clock = new VirtualClock(0);
  const st = createStation({
    clock, cyclicPeriodMs: 0, endOfInitialization: 'none',
    points: [
      { ca: 1, ioa: 1, type: 13, value: 9.5 },
      { ca: 1, ioa: 2, type: 3, value: 1 },
      { ca: 1, ioa: 3, type: 11, value: 0 },
      { ca: 1, ioa: 4, type: 15, value: 100 },
      { ca: 1, ioa: 5, type: 5, value: 16 },
    ],
  });
  const stop = startSimulations(st, [
    { ca: 1, ioa: 1, simulation: { kind: 'random-walk', periodMs: 100, step: 1, min: 0, max: 10 } },
    { ca: 1, ioa: 2, simulation: { kind: 'toggle', periodMs: 1000 } },
    { ca: 1, ioa: 3, simulation: { kind: 'periodic', periodMs: 250, offset: 100, amplitude: 50, wavePeriodMs: 1000 } },
    { ca: 1, ioa: 4, simulation: { kind: 'counter', periodMs: 500, increment: 7 } },
    { ca: 1, ioa: 5, simulation: { kind: 'random-walk', periodMs: 100, step: 3, min: 1, max: 17 } },
  ], { random: () => 0.99 });
  clock.advance(1000);
  assert.equal(st.point(1, 1)!.value, 10, 'walk clamped at max');
  assert.equal(st.point(1, 2)!.value, 2, 'toggled once');
  assert.equal(st.point(1, 3)!.value, 100, 'sine at t=1000 back to offset');
  assert.deepEqual(st.point(1, 4)!.value, { value: 114 });
  assert.deepEqual(st.point(1, 5)!.value, { value: 17, transient: false });
  assert.ok(st.queue.pending > 10, 'changes raised events');
  stop();
  const before = st.queue.stats().enqueued;
  clock.advance(5000);
  assert.equal(st.queue.stats().enqueued, before, 'stopped');
  // toggle with probability: skipped when random >= p
  const p = st.point(1, 2)!;
  assert.equal(nextSimulatedValue(p, { kind: 'toggle', periodMs: 1, probability: 0.5 }, 0, () => 0.7), undefined);
  assert.equal(nextSimulatedValue(p, { kind: 'toggle', periodMs: 1, probability: 0.5 }, 0, () => 0.2), 1);
});

test('iec104 serve --check: exit 0 for a valid file, 2 with the path of the problem for a bad one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-serve-'));
  const good = join(dir, 'good.yaml');
  const badFile = join(dir, 'bad.yaml');
  writeFileSync(good, 'points:\n  - {ca: 1, ioa: 1, type: M_SP_NA_1}\n');
  writeFileSync(badFile, 'points:\n  - {ca: 1, ioa: 1, type: M_SP_NA_1}\n  - {ca: 1, ioa: 2, type: M_XX}\n');
  const bin = fileURLToPath(new URL('../../bin/iec104.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'serve', ...args], { encoding: 'utf8', timeout: 30_000 });
  const ra = run(good, '--check');
  const rb = run(badFile, '--check');
  const rc = run('--bogus');
  const [a, b, c] = [ra.status, rb.status, rc.status];
  const out = [ra.stdout, rb.stderr, rc.stderr];
  assert.equal(a, 0);
  assert.equal(b, 2);
  assert.equal(c, 2);
  assert.ok(out[0].includes('valid — 1 point(s)'), out[0]);
  assert.ok(out[2].includes("unknown option '--bogus'"), out[2]);
  assert.ok(out.some((l) => l.includes("points[1].type: unknown type 'M_XX'")), out.join(''));
});
