/**
 * Command tracking (outcomes, latencies, percentiles) and inventory (roles, objects, periods,
 * redundancy, text rendering).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Detector, monitorTraffic, percentiles, renderInventory, RoleTracker } from '../../src/monitor/index.js';
import { Capture, Conversation, normalSession } from './helpers.js';

test('commands: positive with ACT_CON and ACT_TERM latencies, negative with cause, no answer after the timeout', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  c.command(45, 4101, true); // +10 con, +20 term
  c.command(46, 4102, 1, 1, 'negative');
  c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4103, value: true, select: false }] });
  c.i('s', { typeId: 45, cot: 47, negative: true, objects: [{ ioa: 4103, value: true, select: false }] });
  c.command(45, 4104, false, 1, 'none');
  cap.wait(20000);
  c.testfr();
  const r = monitorTraffic(cap.items);
  const by = Object.fromEntries(r.commands.map((x) => [x.ioa, x]));
  assert.equal(by[4101].outcome, 'positive');
  assert.equal(by[4101].conLatencyMs, 10);
  assert.equal(by[4101].termLatencyMs, 20);
  assert.equal(by[4101].value, true);
  assert.equal(by[4101].select, false);
  assert.deepEqual(by[4101].qualifier, { qu: 0 });
  assert.equal(by[4101].source, '10.0.0.1:40001');
  assert.equal(by[4101].station, '10.0.0.2:2404');
  assert.equal(by[4102].outcome, 'negative');
  assert.equal(by[4102].negativeCause, 'P/N=1 actcon');
  assert.equal(by[4103].negativeCause, 'unknown_object_address (47)');
  assert.equal(by[4104].outcome, 'no-answer');
  assert.equal(by[4104].conLatencyMs, undefined);
  const st = r.commandStats.find((s) => s.typeId === 45)!;
  assert.deepEqual([st.count, st.positive, st.negative, st.noAnswer], [3, 1, 1, 1]);
  assert.deepEqual(st.actCon, { count: 2, p50: 10, p90: 10, p99: 10, max: 10 });
});

test('commands: select and execute are separate records; interrogation and read are tracked; a command still waiting at the end stays pending', () => {
  const cap = new Capture();
  const c = new Conversation(cap);
  c.startdt();
  c.sbo(45, 4101, true);
  c.i('m', { typeId: 102, cot: 5, objects: [{ ioa: 100 }] });
  c.i('s', { typeId: 1, cot: 5, objects: [{ ioa: 100, value: true, quality: {} }] });
  c.gi();
  c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4200, value: true, select: false }] });
  const r = monitorTraffic(cap.items);
  const sel = r.commands.filter((x) => x.ioa === 4101);
  assert.deepEqual(sel.map((x) => [x.select, x.outcome]), [[true, 'positive'], [false, 'positive']]);
  assert.equal(sel[1].termLatencyMs! > 0, true);
  const read = r.commands.find((x) => x.typeId === 102)!;
  assert.equal(read.outcome, 'positive');
  const gi = r.commands.find((x) => x.typeId === 100)!;
  assert.equal(gi.qualifier.qoi, 20);
  assert.equal(gi.outcome, 'positive');
  assert.ok(gi.termLatencyMs! > gi.conLatencyMs!);
  assert.equal(r.commands.find((x) => x.ioa === 4200)!.outcome, 'pending');
});

test('percentiles use the nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(percentiles(xs), { count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
  assert.equal(percentiles([]), null);
  assert.deepEqual(percentiles([7]), { count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
});

test('inventory: roles, common addresses, IOA map with types, causes, ranges and quality, periods, TESTFR', () => {
  const cap = new Capture();
  const c = normalSession(cap, new Conversation(cap), 3);
  c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 61.25, quality: { iv: true } }] });
  c.ack('m');
  const r = monitorTraffic(cap.items);
  const inv = r.inventory;
  assert.equal(inv.kind, 'inventory');
  assert.deepEqual(inv.masters.map((m) => m.host), ['10.0.0.1']);
  assert.equal(inv.masters[0].commands, 10);
  const st = inv.stations[0];
  assert.equal(st.address, '10.0.0.2:2404');
  assert.deepEqual(st.commonAddresses, [1]);
  assert.equal(st.redundantMasters, false);
  const m200 = st.ioas.find((i) => i.ioa === 200)!;
  assert.deepEqual(m200.types, ['M_ME_NC_1', 'M_ME_TF_1']);
  assert.equal(m200.max, 61.25);
  assert.ok(m200.min! < 50);
  assert.equal(m200.quality.iv, 1);
  assert.equal(m200.causes.inrogen, 4);
  assert.deepEqual(st.interrogation.map((p) => [p.master, p.count, p.medianIntervalMs]), [['10.0.0.1', 4, 60000]]);
  assert.equal(st.clockSync[0].count, 1);
  assert.equal(st.testfr.actFromMaster, st.testfr.con);
  assert.ok(Math.abs(st.testfr.medianIntervalMs! - 20000) <= 10, String(st.testfr.medianIntervalMs));
  assert.deepEqual(JSON.parse(JSON.stringify(inv)), inv);
  const text = renderInventory(inv);
  assert.match(text, /10\.0\.0\.2:2404 {2}CA 1 {2}masters 10\.0\.0\.1/);
  assert.match(text, /interrogation from 10\.0\.0\.1: 4×, median interval 60\.0 s/);
  assert.match(text, /CA 1 IOA 200 {2}M_ME_NC_1\/M_ME_TF_1 .* quality IV×1/);
});

test('inventory: two masters on one station are reported as redundant', () => {
  const cap = new Capture();
  normalSession(cap, new Conversation(cap, { master: '10.0.0.1:40001' }), 1);
  normalSession(cap, new Conversation(cap, { master: '10.0.0.11:40001' }), 1);
  const d = new Detector();
  for (const o of cap.items) d.observe(o);
  d.finish();
  const st = d.inventory().stations[0];
  assert.deepEqual(st.masters, ['10.0.0.1', '10.0.0.11']);
  assert.equal(st.redundantMasters, true);
  assert.equal(st.connections, 2);
  assert.match(renderInventory(d.inventory()), /\[several masters\]/);
});

test('roles are inferred without port 2404 from STARTDT, monitor types and confirmations', () => {
  const cap = new Capture();
  const c = new Conversation(cap, { master: '10.0.0.1:5000', station: '10.0.0.2:6000' });
  c.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 200, value: 1, quality: {} }] });
  const roles = new RoleTracker();
  const o = roles.resolve(cap.items[0]);
  assert.equal(o.dir, 'station→master');
  assert.equal(o.master, '10.0.0.1:5000');
  const c2 = new Conversation(cap, { master: '10.0.0.5:5000', station: '10.0.0.6:6000' });
  c2.u('s', 'TESTFR_ACT');
  assert.equal(roles.resolve(cap.items[1]).dir, undefined);
  c2.u('m', 'STARTDT_ACT');
  assert.equal(roles.resolve(cap.items[2]).dir, 'master→station');
  assert.equal(roles.resolve(cap.items[1]).dir, 'station→master');
});
