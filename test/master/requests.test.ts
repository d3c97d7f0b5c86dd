import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import { MasterError, NegativeConfirmationError, RequestTimeoutError } from '../../src/master/errors.js';
import type { InterrogationResult } from '../../src/master/master.js';
import { flush, mirror, monitor, politeScript, started, track } from './harness.js';

/** A script that answers after `delay` ms of virtual time. */

test('every command type is sent with its values and resolves at ACT_CON', async () => {
  const { net, master } = await started();
  const cases: Array<[() => Promise<unknown>, number, Record<string, unknown>]> = [
    [() => master.single(1, 5000, true), 45, { value: true, select: false, qu: 0 }],
    [() => master.double(1, 5001, 'on'), 46, { value: 2, select: false }],
    [() => master.double(1, 5002, 'off', { qu: 2 }), 46, { value: 1, qu: 2 }],
    [() => master.regulatingStep(1, 5003, 'higher'), 47, { value: 2 }],
    [() => master.regulatingStep(1, 5004, 'lower', { qu: 1 }), 47, { value: 1, qu: 1 }],
    [() => master.setpointNormalized(1, 5005, 0.5), 48, { value: 0.5, ql: 0, select: false }],
    [() => master.setpointScaled(1, 5006, -1234, { ql: 3 }), 49, { value: -1234, ql: 3 }],
    [() => master.setpointFloat(1, 5007, 12.5), 50, { value: 12.5 }],
    [() => master.bitstring(1, 5008, 0xdeadbeef), 51, { value: 0xdeadbeef }],
  ];
  for (const [send, typeId, expect] of cases) {
    const p = send();
    await flush();
    const r = (await p) as { confirmation?: Asdu; request: { typeId: number } };
    assert.equal(r.request.typeId, typeId);
    assert.equal(r.confirmation?.cot, 7);
    const got = net.station.received.at(-1)!;
    assert.equal(got.typeId, typeId);
    assert.equal(got.cot, 6);
    assert.equal(got.ca, 1);
    for (const [k, v] of Object.entries(expect)) assert.deepEqual(got.objects[0][k], v, `type ${typeId} ${k}`);
  }
  assert.equal(master.counters.confirmations, cases.length);
  await master.close();
});

test('commands with time tag use types 58..64 and carry the wall-clock time', async () => {
  const { net, master } = await started();
  const sends: Array<[() => Promise<unknown>, number]> = [
    [() => master.single(1, 1, false, { time: true }), 58],
    [() => master.double(1, 2, 'on', { time: true }), 59],
    [() => master.regulatingStep(1, 3, 'lower', { time: true }), 60],
    [() => master.setpointNormalized(1, 4, -0.25, { time: true }), 61],
    [() => master.setpointScaled(1, 5, 7, { time: true }), 62],
    [() => master.setpointFloat(1, 6, 1.25, { time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)) }), 63],
    [() => master.bitstring(1, 7, 5, { time: true }), 64],
  ];
  for (const [send, typeId] of sends) {
    const p = send();
    await flush();
    await p;
    const got = net.station.received.at(-1)!;
    assert.equal(got.typeId, typeId);
    const t = got.objects[0].time as { year: number; month: number; day: number; hour: number; minute: number; ms: number };
    if (typeId === 63) assert.deepEqual([t.year, t.month, t.day, t.hour, t.minute, t.ms], [25, 1, 2, 3, 4, 5006]);
    else assert.deepEqual([t.year, t.month, t.day, t.hour, t.minute, t.ms], [26, 11, 21, 13, 5, 7123]);
  }
  await master.close();
});

test('until actterm resolves at ACT_TERM and measures both round-trip times', async () => {
  const { net, master } = await started();
  net.script = (a, st) => {
    net.clock.setTimeout(() => st.confirm(a), 40);
    net.clock.setTimeout(() => st.terminate(a), 250);
  };
  let settled = false;
  const p = master.single(1, 10, true, { until: 'actterm' }).finally(() => (settled = true));
  await flush();
  net.clock.advance(40);
  await flush();
  assert.equal(settled, false, 'still waiting for ACT_TERM after ACT_CON');
  net.clock.advance(210);
  await flush();
  const r = await p;
  assert.equal(r.rtt.actCon, 40);
  assert.equal(r.rtt.actTerm, 250);
  assert.equal(r.termination?.cot, 10);
  await master.close();
});

test('a negative confirmation (P/N=1) rejects with NegativeConfirmationError carrying the mirrored ASDU', async () => {
  const { net, master } = await started((a, st) => st.confirm(a, true));
  const p = track(master.setpointFloat(1, 77, 3.5));
  await flush();
  const e = await p.then(() => assert.fail('should reject'), (x: unknown) => x);
  assert.ok(e instanceof NegativeConfirmationError);
  assert.equal(e.code, 'E_NEGATIVE');
  assert.equal(e.cot, 7);
  assert.equal(e.asdu.negative, true);
  assert.equal(e.asdu.objects[0].value, 3.5);
  assert.equal(master.counters.negatives, 1);
  assert.equal(net.station.received.length, 1);
  await master.close();
});

test('causes 44..47 reject as negative confirmations with that cause', async () => {
  for (const cot of [44, 45, 46, 47]) {
    const { master } = await started((a, st) => st.send(mirror(a, cot, true)));
    const p = track(master.single(9, 1, true));
    await flush();
    await assert.rejects(p, (e: unknown) => e instanceof NegativeConfirmationError && e.cot === cot && e.request.ca === 9);
    await master.close();
  }
});

test('no answer rejects with RequestTimeoutError after the timeout (virtual time)', async () => {
  const { net, master } = await started(() => {}, { requestTimeout: 5_000 });
  const out: { err?: unknown } = {};
  const p = master.double(1, 3, 'off').catch((e: unknown) => (out.err = e));
  await flush();
  net.clock.advance(4_999);
  await flush();
  assert.equal(out.err, undefined);
  net.clock.advance(1);
  await flush();
  await p;
  const err = (out as { err?: unknown }).err;
  assert.ok(err instanceof RequestTimeoutError);
  assert.equal(err.phase, 'actcon');
  assert.equal(err.elapsed, 5_000);
  assert.equal(master.counters.timeouts, 1);
  await master.close();
});

test('ACT_CON but no ACT_TERM times out in phase actterm with the ACT_CON round trip', async () => {
  const { net, master } = await started((a, st) => st.confirm(a), { terminationTimeout: 2_000 });
  const p = track(master.single(1, 3, true, { until: 'actterm' }));
  await flush();
  net.clock.advance(2_000);
  await flush();
  await assert.rejects(p, (e: unknown) => e instanceof RequestTimeoutError && e.phase === 'actterm' && e.actConRtt === 0);
  await master.close();
});

test('a second identical request while one is open is refused with E_REQUEST_PENDING', async () => {
  const { net, master } = await started(() => {});
  const first = master.single(1, 5000, true);
  await assert.rejects(master.single(1, 5000, false), (e: unknown) => e instanceof MasterError && e.code === 'E_REQUEST_PENDING');
  // a different IOA, CA or type is not identical
  const other = master.single(1, 5001, true);
  const other2 = master.double(1, 5000, 'on');
  await flush();
  assert.equal(net.station.received.length, 3);
  for (const a of net.station.received) net.station.confirm(a);
  await flush();
  await Promise.all([first, other, other2]);
  // once closed, the same request can be sent again
  const again = master.single(1, 5000, false);
  await flush();
  net.station.confirm(net.station.received.at(-1)!);
  await flush();
  await again;
  assert.equal(master.counters.refused, 1);
  await master.close();
});

test('select before operate: select, positive ACT_CON, then execute', async () => {
  const { net, master } = await started();
  const r = master.double(1, 300, 'on', { sbo: true, until: 'actterm' });
  await flush();
  const res = await r;
  const sent = net.station.received;
  assert.equal(sent.length, 2);
  assert.equal(sent[0].objects[0].select, true);
  assert.equal(sent[1].objects[0].select, false);
  assert.equal(res.select?.confirmation?.cot, 7);
  assert.equal(res.termination?.cot, 10);
  await master.close();
});

test('select refused: no execute is sent', async () => {
  const { net, master } = await started((a, st) => st.confirm(a, true));
  const p = track(master.single(1, 300, true, { sbo: true }));
  await flush();
  await assert.rejects(p, (e: unknown) => e instanceof NegativeConfirmationError && e.step === 'select');
  await flush();
  assert.equal(net.station.received.length, 1);
  assert.equal(net.station.received[0].objects[0].select, true);
  await master.close();
});

test('select unanswered: times out with step select, no execute', async () => {
  const { net, master } = await started(() => {}, { requestTimeout: 1_000 });
  const p = track(master.setpointScaled(1, 300, 5, { sbo: true }));
  await flush();
  net.clock.advance(1_000);
  await flush();
  await assert.rejects(p, (e: unknown) => e instanceof RequestTimeoutError && e.step === 'select');
  assert.equal(net.station.received.length, 1);
  await master.close();
});

test('select only (S/E=1) and bitstring select refused locally', async () => {
  const { net, master } = await started();
  const p = master.single(1, 8, true, { select: true });
  await flush();
  await p;
  assert.equal(net.station.received[0].objects[0].select, true);
  await assert.rejects(master.bitstring(1, 8, 1, { sbo: true }), (e: unknown) => e instanceof MasterError && e.code === 'E_INVALID');
  await master.close();
});

test('invalid values and qualifiers are refused before sending', async () => {
  const { net, master } = await started();
  await assert.rejects(master.setpointNormalized(1, 1, 2), (e: unknown) => e instanceof MasterError && e.code === 'E_INVALID');
  await assert.rejects(master.single(1, 1, true, { qu: 32 }), (e: unknown) => e instanceof MasterError && e.code === 'E_INVALID');
  await assert.rejects(master.setpointFloat(1, 1, 1, { qu: 1 }), (e: unknown) => e instanceof MasterError && e.code === 'E_INVALID');
  await assert.rejects(master.command(13, 1, 1, { value: 1 }), (e: unknown) => e instanceof MasterError && e.code === 'E_INVALID');
  await flush();
  assert.equal(net.station.received.length, 0);
  await master.close();
});

test('station interrogation collects the data and resolves at ACT_TERM', async () => {
  const { net, master } = await started();
  const p = master.interrogation(1);
  await flush();
  const r = await p;
  assert.equal(r.asdus.length, 2);
  assert.deepEqual(r.objects.map((o) => [o.ioa, o.value, o.cot]), [[1, true, 20], [2, false, 20], [100, 1.5, 20]]);
  assert.equal(r.confirmation?.cot, 7);
  assert.equal(r.termination?.cot, 10);
  assert.equal(net.station.received[0].objects[0].qoi, 20);
  await master.close();
});

test('group interrogation collects only its cause; data of other causes is not collected', async () => {
  const { master } = await started((a, st) => {
    st.confirm(a);
    st.send(monitor(1, 1, 3, [{ ioa: 9, value: true }])); // spontaneous: not part of it
    st.send(monitor(1, 1, 22, [{ ioa: 10, value: true }]));
    st.terminate(a);
  });
  const p = master.interrogation(1, 22);
  await flush();
  const r = await p;
  assert.deepEqual(r.objects.map((o) => o.ioa), [10]);
  await master.close();
});

test('interrogation ended by an empty ASDU (no object) and without data', async () => {
  const { master } = await started((a, st) => {
    st.send({ ...mirror(a, 7), objects: [] });
    st.send({ ...mirror(a, 10), objects: [] });
  });
  const p = master.interrogation(1);
  await flush();
  const r: InterrogationResult = await p;
  assert.equal(r.objects.length, 0);
  assert.equal(r.termination?.objects.length, 0);
  await master.close();
});

test('ACT_TERM without ACT_CON still resolves; an empty data ASDU is tolerated', async () => {
  const { master } = await started((a, st) => {
    st.send(monitor(1, 1, 20, []));
    st.send(monitor(3, 1, 20, [{ ioa: 4, value: 2 }]));
    st.terminate(a);
  });
  const p = master.interrogation(1);
  await flush();
  const r = await p;
  assert.equal(r.rtt.actCon, undefined);
  assert.equal(r.rtt.actTerm, 0);
  assert.deepEqual(r.objects.map((o) => o.value), [2]);
  await master.close();
});

test('interrogation until actcon resolves at the confirmation', async () => {
  const { master } = await started();
  const p = master.interrogation(1, 20, { until: 'actcon' });
  await flush();
  const r = await p;
  assert.equal(r.termination, undefined);
  assert.equal(r.confirmation?.cot, 7);
  await master.close();
});

test('negative interrogation (unknown CA) rejects', async () => {
  const { master } = await started((a, st) => st.send(mirror(a, 46, true)));
  const p = track(master.interrogation(77));
  await flush();
  await assert.rejects(p, (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 46);
  await master.close();
});

test('broadcast interrogation collects every common address and resolves after the last ACT_TERM settles', async () => {
  const { net, master } = await started((a, st) => {
    for (const ca of [3, 4]) {
      st.send({ ...mirror(a, 7), ca });
      st.send(monitor(1, ca, 20, [{ ioa: ca * 10, value: true }]));
      st.send({ ...mirror(a, 10), ca });
    }
  });
  let done = false;
  const p = master.interrogation(0xffff).then((r) => {
    done = true;
    return r;
  });
  await flush();
  assert.equal(done, false, 'not resolved at the first address ACT_TERM');
  net.clock.advance(249);
  await flush();
  assert.equal(done, false, 'still settling');
  net.clock.advance(1);
  await flush();
  const r = await p;
  assert.deepEqual(r.objects.map((o) => [o.ca, o.ioa]), [[3, 30], [4, 40]]);
  assert.ok(r.rtt.actCon !== undefined && r.rtt.actTerm !== undefined);
  await master.close();
});

test('a late ACT_TERM of a command that resolved at ACT_CON does not complete the next identical command', async () => {
  const pending: Array<() => void> = [];
  const { net, master } = await started((a, st) => {
    st.confirm(a);
    pending.push(() => st.terminate(a)); // the station terminates later, when the test says so
  });
  await master.single(1, 5000, true); // resolves at ACT_CON; its ACT_TERM is still to come
  let second = false;
  const p2 = master.single(1, 5000, true, { until: 'actterm' }).then(() => (second = true));
  await flush();
  pending.shift()!(); // the FIRST command's termination arrives after the second command's ACT_CON
  await flush();
  // a conforming station refuses a second command before terminating the first, but this scripted
  // one confirmed it: the record was dropped at that ACT_CON, so this ACT_TERM completes command 2
  assert.equal(second, true);
  await p2;
  // now the ordering a real station produces: command 3 resolves at ACT_CON, its ACT_TERM comes
  // while command 4 is outstanding without a confirmation yet
  net.script = (a, st) => {
    st.confirm(a);
    pending.push(() => st.terminate(a));
  };
  await master.single(1, 5000, false);
  let fourth = false;
  net.script = (a, st) => {
    pending.shift()!(); // command 3's late ACT_TERM first
    st.confirm(a);
    pending.push(() => st.terminate(a));
  };
  const p4 = master.single(1, 5000, false, { until: 'actterm' }).then(() => (fourth = true));
  await flush();
  assert.equal(fourth, false, 'the late ACT_TERM of command 3 did not complete command 4');
  pending.shift()!();
  await flush();
  await p4;
  assert.equal(fourth, true);
  await master.close();
});

test('counter interrogation sends QCC and collects counters with cause 37..41', async () => {
  const { net, master } = await started();
  const p = master.counterInterrogation(1, { rqt: 5, frz: 1 });
  await flush();
  const r = await p;
  assert.deepEqual(net.station.received[0].objects[0], { ioa: 0, rqt: 5, frz: 1 });
  assert.deepEqual(r.objects.map((o) => [o.ioa, o.value, o.cot]), [[200, 1234, 37]]);
  const g = await (async () => {
    net.script = (a, st) => {
      st.confirm(a);
      st.send(monitor(15, 1, 37, [{ ioa: 1, value: 1 }])); // general, not group 2
      st.send(monitor(15, 1, 39, [{ ioa: 2, value: 2 }]));
      st.terminate(a);
    };
    const q = master.counterInterrogation(1, { rqt: 2 });
    await flush();
    return q;
  })();
  assert.deepEqual(g.objects.map((o) => o.ioa), [2]);
  await master.close();
});

test('read resolves with the requested object; negative and timeout reject', async () => {
  const { net, master } = await started();
  net.script = (a, st) => net.clock.setTimeout(() => politeScript(a, st), 12);
  const p = master.read(1, 4711);
  await flush();
  net.clock.advance(12);
  await flush();
  const r = await p;
  assert.equal(r.value.value, 42.5);
  assert.equal(r.value.ioa, 4711);
  assert.equal(r.rtt.response, 12);
  assert.equal(r.response.typeId, 13);
  assert.deepEqual(net.station.received[0].objects, [{ ioa: 4711 }]);
  assert.equal(net.station.received[0].cot, 5);

  net.script = (a, st) => st.send(mirror(a, 47, true));
  const n = track(master.read(1, 1));
  await flush();
  await assert.rejects(n, (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 47);

  net.script = () => {};
  const t = track(master.read(1, 2, 13, { timeout: 100 }));
  await flush();
  net.clock.advance(100);
  await flush();
  await assert.rejects(t, (e: unknown) => e instanceof RequestTimeoutError && e.phase === 'response');
  await master.close();
});

test('read with a type filter ignores other types at the same IOA', async () => {
  const { master } = await started((a, st) => {
    st.send(monitor(1, 1, 5, [{ ioa: 5, value: true }]));
    st.send(monitor(13, 1, 5, [{ ioa: 5, value: 9.5 }]));
  });
  const p = master.read(1, 5, 13);
  await flush();
  assert.equal((await p).value.value, 9.5);
  await master.close();
});

test('clock synchronisation sends the date and resolves at ACT_CON', async () => {
  const { net, master } = await started();
  const p = master.clockSync(1, new Date(Date.UTC(2030, 5, 7, 8, 9, 10, 11)));
  await flush();
  const r = await p;
  assert.equal(r.confirmation?.typeId, 103);
  const t = net.station.received[0].objects[0].time as { year: number; month: number; hour: number; ms: number };
  assert.deepEqual([t.year, t.month, t.hour, t.ms], [30, 6, 8, 10011]);
  const q = master.clockSync(1); // wall clock
  await flush();
  await q;
  assert.equal((net.station.received[1].objects[0].time as { year: number }).year, 26);
  await master.close();
});

test('test command counts up and reset process carries the qualifier', async () => {
  const { net, master } = await started();
  for (let i = 0; i < 3; i++) {
    const p = master.testCommand(1);
    await flush();
    await p;
  }
  assert.deepEqual(net.station.received.map((a) => [a.typeId, a.objects[0].counter]), [[107, 0], [107, 1], [107, 2]]);
  const r = master.resetProcess(1, 2);
  await flush();
  await r;
  assert.equal(net.station.received[3].typeId, 105);
  assert.equal(net.station.received[3].objects[0].qrp, 2);
  net.script = (a, st) => st.confirm(a, true);
  const n = track(master.testCommand(1));
  await flush();
  await assert.rejects(n, NegativeConfirmationError);
  await master.close();
});

test('requests before connect or after close are refused', async () => {
  const { master } = await started();
  await master.close();
  await assert.rejects(master.single(1, 1, true), (e: unknown) => e instanceof MasterError && e.code === 'E_CLOSED');
});

test('the generic command() with a timed type adds the time tag itself; T bit on request', async () => {
  const { net, master } = await started();
  const p = master.command(58, 1, 2, { value: true }, { test: true });
  await flush();
  await p;
  const got = net.station.received[0];
  assert.equal(got.test, true);
  assert.equal((got.objects[0].time as { minute: number }).minute, 5);
  await master.close();
});

test('aborting a request rejects it with E_ABORTED and frees its key', async () => {
  const { master } = await started(() => {});
  const ac = new AbortController();
  const p = master.single(1, 1, true, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof MasterError && e.code === 'E_ABORTED');
  assert.equal(master.snapshot().pending, 0);
  await master.close();
});
