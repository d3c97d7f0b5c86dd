/**
 * Typed commands (issue 12): `send(ca, ioa, cmd)` derives the type identification from the
 * command's kind and its time tag (a set `time` selects the CP56Time2a variant), the helpers are
 * built on it, and the redundancy group shares the same request methods instead of re-declaring
 * them (its requests go to the active member).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import type { Command } from '../../src/codec/command.js';
import { cp56FromDate } from '../../src/codec/time.js';
import { MasterError } from '../../src/master/errors.js';
import { ControllingStation } from '../../src/master/master.js';
import { RedundancyGroup } from '../../src/master/redundancy-group.js';
import { MasterRequests } from '../../src/master/request-helpers.js';
import { MemoryNetwork, flush, mirror, started } from './harness.js';

test('send: every kind goes out as its type; a set time tag selects the CP56Time2a variant (asked of the type table)', async () => {
  const { net, master } = await started();
  const time = cp56FromDate(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)));
  const cases: Array<[Command, number]> = [
    [{ kind: 'single', value: true }, 45],
    [{ kind: 'double', value: 2, qu: 1 }, 46],
    [{ kind: 'regulating', value: 1 }, 47],
    [{ kind: 'setpoint-normalized', value: 0.5, ql: 2 }, 48],
    [{ kind: 'setpoint-scaled', value: -7 }, 49],
    [{ kind: 'setpoint-float', value: 1.5 }, 50],
    [{ kind: 'bitstring', value: 0xf0 }, 51],
    [{ kind: 'single', value: false, time }, 58],
    [{ kind: 'double', value: 1, time }, 59],
    [{ kind: 'setpoint-float', value: 2.5, time }, 63],
    [{ kind: 'bitstring', value: 1, time }, 64],
  ];
  let ioa = 100;
  for (const [cmd, typeId] of cases) {
    const p = master.send(1, ++ioa, cmd);
    await flush();
    const r = await p;
    const got = net.station.received.at(-1)!;
    assert.equal(got.typeId, typeId, `${cmd.kind}${cmd.time ? ' with time' : ''}`);
    assert.equal(r.request.typeId, typeId);
    assert.equal(got.objects[0].ioa, ioa);
    assert.equal(got.objects[0].value, cmd.value);
    if (cmd.time) assert.deepEqual(got.objects[0].time, time);
    if ('qu' in cmd && cmd.qu !== undefined) assert.equal(got.objects[0].qu, cmd.qu);
    if ('ql' in cmd && cmd.ql !== undefined) assert.equal(got.objects[0].ql, cmd.ql);
    if (cmd.kind === 'bitstring') assert.equal(got.objects[0].select, undefined);
    else assert.equal(got.objects[0].select, false);
  }
  await master.close();
});

test('send: select only, select-before-operate, and local refusals (bad qualifier, bitstring select, unknown kind)', async () => {
  const { net, master } = await started();
  let p = master.send(1, 300, { kind: 'single', value: true, select: true });
  await flush();
  await p;
  assert.equal(net.station.received.at(-1)!.objects[0].select, true);
  const n = net.station.received.length;
  p = master.send(1, 301, { kind: 'double', value: 2 }, { sbo: true, until: 'actterm' });
  await flush();
  const r = await p;
  assert.deepEqual(net.station.received.slice(n).map((a: Asdu) => [a.typeId, a.objects[0].select]), [[46, true], [46, false]]);
  assert.equal(r.select?.confirmation?.cot, 7);
  const before = net.station.received.length;
  const invalid = (e: unknown): boolean => e instanceof MasterError && e.code === 'E_INVALID';
  await assert.rejects(master.send(1, 1, { kind: 'single', value: true, qu: 32 }), invalid);
  await assert.rejects(master.send(1, 1, { kind: 'setpoint-float', value: 1, ql: 128 }), invalid);
  await assert.rejects(master.send(1, 1, { kind: 'bitstring', value: 1 }, { sbo: true }), /no select/);
  await assert.rejects(master.send(1, 1, { kind: 'bitstring', value: 1, select: true } as unknown as Command), /no select/);
  await assert.rejects(master.send(1, 1, { kind: 'switch', value: 1 } as unknown as Command), /unknown command kind 'switch'/);
  await flush();
  assert.equal(net.station.received.length, before, 'nothing sent for a refused command');
  await master.close();
});

test('the deprecated numeric command() is a wrapper over send: same ASDU as the typed form', async () => {
  const { net, master } = await started();
  let p = master.command(46, 1, 400, { value: 2 }, { qu: 3 });
  await flush();
  await p;
  const a = net.station.received.at(-1)!;
  p = master.send(1, 401, { kind: 'double', value: 2, qu: 3 });
  await flush();
  await p;
  const b = net.station.received.at(-1)!;
  assert.deepEqual({ ...a.objects[0], ioa: 0 }, { ...b.objects[0], ioa: 0 });
  assert.equal(a.typeId, b.typeId);
  await master.close();
});

test('RedundancyGroup shares the request methods of every controlling station (none re-declared) and sends them to the active member', async () => {
  for (const m of ['send', 'single', 'double', 'interrogation', 'read', 'clockSync', 'deactivate', 'command']) {
    assert.ok(!Object.hasOwn(RedundancyGroup.prototype, m), `RedundancyGroup re-declares ${m}`);
    assert.ok(!Object.hasOwn(ControllingStation.prototype, m), `ControllingStation re-declares ${m}`);
    assert.equal(typeof (MasterRequests.prototype as unknown as Record<string, unknown>)[m], 'function');
  }
  const net = new MemoryNetwork((a, st) => st.send(mirror(a, 7)));
  const group = new RedundancyGroup({ endpoints: [net.connector, net.connector], clock: net.clock, reconnect: false });
  await assert.rejects(group.send(1, 5, { kind: 'single', value: true }), (e: unknown) => e instanceof MasterError && e.code === 'E_NOT_CONNECTED');
  const ready = group.connect();
  await flush();
  await ready;
  const active = net.stations.find((s) => s.link.snapshot().state === 'started')!;
  const p = group.send(1, 5, { kind: 'setpoint-scaled', value: 9, select: true });
  await flush();
  await p;
  assert.deepEqual(active.received.map((a) => [a.typeId, a.objects[0].value, a.objects[0].select]), [[49, 9, true]]);
  await group.close();
});
