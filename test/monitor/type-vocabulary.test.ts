/**
 * The monitor asks the type table (issue 12): what counts as a command, which answers end with
 * ACT_TERM, and the link rules' defaults come from the codec and the link, not from copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorTraffic } from '../../src/monitor/index.js';
import { DEFAULT_LINK_CONFIG } from '../../src/monitor/session-shadow.js';
import { DEFAULT_LINK_PARAMETERS } from '../../src/link/types.js';
import { Capture, Conversation } from './helpers.js';

test('inventory: a master\'s commands are the table\'s control-direction types, private types 52..57 are not commands', () => {
  const cap = new Capture();
  const c = new Conversation(cap);
  c.startdt();
  c.i('m', { typeId: 45, cot: 6, objects: [{ ioa: 4101, value: true, select: false, qu: 0 }] });
  c.i('m', { typeId: 100, cot: 6, objects: [{ ioa: 0, qoi: 20 }] });
  c.i('m', { typeId: 113, cot: 8, objects: [{ ioa: 3001, qpa: 3 }] });
  // a private type in the gap of the command range: decoded raw, not a command of the standard
  c.i('m', { typeId: 54, cot: 6, objects: [], raw: new Uint8Array([1, 0, 0, 1]), rawCount: 1 });
  c.i('m', { typeId: 45, cot: 3, objects: [{ ioa: 4101, value: true, select: false, qu: 0 }] });
  const r = monitorTraffic(cap.items);
  assert.equal(r.inventory.masters[0].commands, 3, 'C_SC_NA_1 act, C_IC_NA_1 act, P_AC_NA_1 deact; not type 54, not cause 3');
});

test('commands: only types answered by ACT_TERM wait for it (a clock sync is done at ACT_CON)', () => {
  const time = { ms: 0, minute: 0, hour: 10, day: 4, month: 3, year: 24, iv: false, su: false, dayOfWeek: 1 };
  const cap = new Capture();
  const c = new Conversation(cap, { step: 10 });
  c.startdt();
  for (const [typeId, obj] of [[103, { ioa: 0, time }], [58, { ioa: 4101, value: true, select: false, qu: 0, time }]] as const) {
    c.i('m', { typeId, cot: 6, objects: [obj] });
    c.i('s', { typeId, cot: 7, objects: [obj] });
    c.i('s', { typeId, cot: 10, objects: [obj] });
  }
  const r = monitorTraffic(cap.items);
  const by = Object.fromEntries(r.commands.map((x) => [x.typeId, x]));
  assert.equal(by[103].outcome, 'positive');
  assert.equal(by[103].termLatencyMs, undefined, 'clock sync: closed at ACT_CON, a later ACT_TERM is not its');
  assert.equal(by[58].outcome, 'positive');
  assert.equal(by[58].termLatencyMs, 20, 'a timed single command waits for its ACT_TERM');
});

test('the session shadow\'s link rules default to the link\'s one definition of k, w, t1, t3', () => {
  assert.equal(DEFAULT_LINK_CONFIG.k, DEFAULT_LINK_PARAMETERS.k);
  assert.equal(DEFAULT_LINK_CONFIG.w, DEFAULT_LINK_PARAMETERS.w);
  assert.equal(DEFAULT_LINK_CONFIG.t1Ms, DEFAULT_LINK_PARAMETERS.t1);
  assert.equal(DEFAULT_LINK_CONFIG.t3Ms, DEFAULT_LINK_PARAMETERS.t3);
});
