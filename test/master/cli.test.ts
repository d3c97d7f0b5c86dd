import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnectArgs, runConnect } from '../../src/cli/connect.js';
import { UsageError } from '../../src/cli/args.js';
import { EXIT, parseCommandArgs, runCommandSend } from '../../src/cli/command-send.js';
import { MemoryNetwork, flush, mirror, monitor } from './harness.js';

function sink(): { text: string; write(s: string): void } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

test('parseCommandArgs: every command kind, qualifiers and defaults', () => {
  const a = parseCommandArgs(['10.0.0.5', '--ca', '1', '--ioa', '5000', '--single', 'on']);
  assert.deepEqual({ host: a.host, port: a.port, ca: a.ca, ioa: a.ioa, kind: a.kind, value: a.value, typeId: a.typeId, until: a.until, select: a.select, time: a.time },
    { host: '10.0.0.5', port: 2404, ca: 1, ioa: 5000, kind: 'single', value: true, typeId: 45, until: 'actcon', select: false, time: false });
  assert.equal(parseCommandArgs(['h:2405', '--ca=2', '--ioa=1', '--double', 'off']).value, 1);
  assert.equal(parseCommandArgs(['h:2405', '--ca=2', '--ioa=1', '--double', 'off']).port, 2405);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--ioa', '1', '--step', 'higher']).value, 2);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--ioa', '1', '--setpoint-normalized', '-0.5']).value, -0.5);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--ioa', '1', '--setpoint-scaled', '-300']).typeId, 49);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--ioa', '1', '--setpoint-float', '49.5']).value, 49.5);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--ioa', '1', '--bitstring', '0x0000FF00']).value, 0xff00);
  const b = parseCommandArgs(['[::1]:2404', '--ca', '1', '--ioa', '7', '--single', 'off', '--select', '--time', '--qu', '2', '--until', 'actterm', '--timeout', '500', '--json']);
  assert.deepEqual([b.host, b.select, b.time, b.qu, b.until, b.timeout, b.json], ['::1', true, true, 2, 'actterm', 500, true]);
});

test('parseCommandArgs: usage errors name the problem', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--ca', '1', '--ioa', '1', '--single', 'on'], /HOST/],
    [['h', '--ioa', '1', '--single', 'on'], /--ca is required/],
    [['h', '--ca', '1', '--single', 'on'], /--ioa is required/],
    [['h', '--ca', '1', '--ioa', '1'], /command is missing/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'on', '--double', 'on'], /only one command/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'maybe'], /on or off/],
    [['h', '--ca', '1', '--ioa', '1', '--setpoint-normalized', '2'], /-1\.\.\+1/],
    [['h', '--ca', '1', '--ioa', '1', '--bitstring', '0x123456789'], /hex/],
    [['h', '--ca', '1', '--ioa', '1', '--bitstring', '1', '--select'], /--select/],
    [['h', '--ca', '1', '--ioa', '1', '--setpoint-float', '1', '--qu', '1'], /--qu/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'on', '--ql', '1'], /--ql/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'on', '--until', 'never'], /--until/],
    [['h', '--ca', '70000', '--ioa', '1', '--single', 'on'], /--ca/],
    [['h:99999', '--ca', '1', '--ioa', '1', '--single', 'on'], /port/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'on', '--bogus'], /bogus/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseCommandArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
});

test('parseConnectArgs: defaults and options', () => {
  const a = parseConnectArgs(['10.0.0.5']);
  assert.deepEqual([a.host, a.port, a.ca, a.gi, a.qoi, a.json, a.view, a.reconnect], ['10.0.0.5', 2404, 65535, true, 20, false, undefined, false]);
  const b = parseConnectArgs(['h', '--port', '2405', '--ca', '3', '--no-gi', '--json', '--duration', '1000', '--reconnect']);
  assert.deepEqual([b.port, b.ca, b.gi, b.json, b.duration, b.reconnect], [2405, 3, false, true, 1000, true]);
  assert.throws(() => parseConnectArgs([]), UsageError);
  assert.throws(() => parseConnectArgs(['h', '--qoi', '40']), /qoi/);
  assert.throws(() => parseConnectArgs(['h', '--table', '--json']), /--table/);
});

async function runCmd(net: MemoryNetwork, argv: string[], advance = 0): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const p = runCommandSend(argv, { stdout: out, stderr: err, connector: () => net.connector, clock: net.clock, wallClock: () => new Date(Date.UTC(2026, 0, 1)) });
  await flush();
  if (advance) {
    net.clock.advance(advance);
    await flush();
  }
  return { code: await p, out: out.text, err: err.text };
}

test('iec104 command: positive with select-before-operate prints both round trips (exit 0)', async () => {
  const net = new MemoryNetwork((a, st) => {
    net.clock.setTimeout(() => st.confirm(a), 7);
    if (!a.objects[0].select) net.clock.setTimeout(() => st.terminate(a), 30);
  });
  const out = sink();
  const p = runCommandSend(['h', '--ca', '1', '--ioa', '5000', '--single', 'on', '--select', '--until', 'actterm'], { stdout: out, stderr: sink(), connector: () => net.connector, clock: net.clock });
  for (let i = 0; i < 60; i++) {
    await flush(2);
    net.clock.advance(1);
  }
  assert.equal(await p, EXIT.POSITIVE);
  assert.match(out.text, /^positive: C_SC_NA_1 CA 1 IOA 5000 ON; select ACT_CON 7 ms; execute ACT_CON 7 ms, ACT_TERM 30 ms\n$/);
  assert.deepEqual(net.stations[0].received.map((a) => a.objects[0].select), [true, false]);
});

test('iec104 command --json: negative confirmation (exit 3) with cause', async () => {
  const net = new MemoryNetwork((a, st) => st.send(mirror(a, 47, true)));
  const r = await runCmd(net, ['h', '--ca', '1', '--ioa', '9', '--setpoint-float', '1.5', '--time', '--json']);
  assert.equal(r.code, EXIT.NEGATIVE);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  assert.equal(j.outcome, 'negative');
  assert.equal(j.cot, 47);
  assert.equal(j.typeId, 63);
  assert.equal(net.station.received[0].typeId, 63);
});

test('iec104 command: timeout (exit 4) and connection failure (exit 5)', async () => {
  const net = new MemoryNetwork(() => {});
  const r = await runCmd(net, ['h', '--ca', '1', '--ioa', '9', '--double', 'on', '--timeout', '300'], 300);
  assert.equal(r.code, EXIT.TIMEOUT);
  assert.match(r.err, /^timeout: C_DC_NA_1 CA 1 IOA 9 ON; no ACT_CON within 300 ms/);

  const refused = new MemoryNetwork();
  refused.defaultPlan = 'refuse';
  const c = await runCmd(refused, ['h', '--ca', '1', '--ioa', '9', '--single', 'on']);
  assert.equal(c.code, EXIT.CONNECTION);
  assert.match(c.err, /connection failed/);

  const usage = await runCmd(refused, ['h', '--ca', '1']);
  assert.equal(usage.code, EXIT.USAGE);
  assert.equal(refused.attempts.length, 1, 'no connection attempt on a usage error');
});

test('iec104 connect --json: GI then live data as JSON lines; lost connection exits 5', async () => {
  const net = new MemoryNetwork((a, st) => {
    st.confirm(a);
    st.send(monitor(36, a.ca === 0xffff ? 1 : a.ca, 20, [{ ioa: 100, value: 1.5, quality: { iv: true, nt: false, sb: false, bl: false, ov: false }, time: { ms: 1500, minute: 2, hour: 3, day: 4, dayOfWeek: 0, month: 5, year: 26, invalid: false, summerTime: false } }]));
    st.terminate(a);
  });
  const out = sink();
  const err = sink();
  const p = runConnect(['h', '--json'], { stdout: out, stderr: err, isTTY: false, connector: () => net.connector, clock: net.clock });
  await flush();
  net.clock.advance(250); // a broadcast interrogation settles after the last ACT_TERM (broadcastSettle)
  await flush();
  net.station.send(monitor(1, 1, 3, [{ ioa: 7, value: true }]));
  await flush();
  const all = out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const lines = all.filter((l) => l.kind === undefined);
  assert.deepEqual(all.filter((l) => l.kind !== undefined).map((l) => [l.kind, l.type, l.cot, l.positive]), [
    ['confirmation', 'C_IC_NA_1', 7, true], ['termination', 'C_IC_NA_1', 10, true], ['interrogation', undefined, undefined, undefined],
  ]);
  assert.deepEqual(lines[0], { ca: 1, ioa: 100, type: 'M_ME_TF_1', typeId: 36, value: 1.5, quality: ['iv'], time: '2026-05-04T03:02:01.500', cot: 20 });
  assert.deepEqual(lines.at(-1), { ca: 1, ioa: 7, type: 'M_SP_NA_1', typeId: 1, value: true, quality: [], time: null, cot: 3 });
  assert.equal(net.station.received[0].ca, 0xffff, 'GI to the broadcast address by default');
  assert.match(err.text, /interrogation terminated: 1 objects/);
  net.station.drop();
  await flush();
  assert.equal(await p, 5);
});

test('iec104 connect: --no-gi and stop by signal (exit 0); lines view', async () => {
  const net = new MemoryNetwork();
  const out = sink();
  const ac = new AbortController();
  const p = runConnect(['h', '--no-gi', '--lines'], { stdout: out, stderr: sink(), isTTY: false, connector: () => net.connector, clock: net.clock, signal: ac.signal });
  await flush();
  net.station.send(monitor(3, 1, 3, [{ ioa: 8, value: 2 }]));
  await flush();
  ac.abort();
  assert.equal(await p, 0);
  assert.equal(net.station.received.length, 0, 'no interrogation sent');
  assert.match(out.text, /^1 {2}8 {2}M_DP_NA_1 {2}ON {2}ok {2}spont\n$/);
});

test('iec104 connect: table view redraws the point image; --duration ends it', async () => {
  const net = new MemoryNetwork();
  const out = sink();
  const p = runConnect(['h', '--ca', '1', '--table', '--duration', '1000'], { stdout: out, stderr: sink(), isTTY: true, connector: () => net.connector, clock: net.clock });
  await flush();
  net.clock.advance(200);
  await flush();
  assert.match(out.text, /3 points/);
  assert.match(out.text, /CA {2}IOA {2}TYPE/);
  net.clock.advance(800);
  assert.equal(await p, 0);
});

test('iec104 connect: connection refused exits 5', async () => {
  const net = new MemoryNetwork();
  net.defaultPlan = 'refuse';
  const err = sink();
  const code = await runConnect(['h'], { stdout: sink(), stderr: err, isTTY: false, connector: () => net.connector, clock: net.clock });
  assert.equal(code, 5);
  assert.match(err.text, /connection failed/);
});

test('iec104 connect --json: confirmation, termination and interrogation records a script can follow', async () => {
  const net = new MemoryNetwork((a, st) => {
    st.confirm(a);
    st.send(monitor(13, a.ca, 20, [{ ioa: 100, value: 2.5 }]));
    st.terminate(a);
  });
  const out = sink();
  const ac = new AbortController();
  const p = runConnect(['h', '--ca', '1', '--json'], { stdout: out, stderr: sink(), isTTY: false, connector: () => net.connector, clock: net.clock, signal: ac.signal });
  await flush();
  ac.abort();
  assert.equal(await p, 0);
  const recs = out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(recs.map((r) => r.kind ?? 'point'), ['confirmation', 'point', 'termination', 'interrogation']);
  const { at, ...con } = recs[0];
  assert.match(String(at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(con, { kind: 'confirmation', type: 'C_IC_NA_1', typeId: 100, ca: 1, ioa: 0, cot: 7, cotName: 'activation confirmation', positive: true, qualifier: { qoi: 20 } });
  assert.deepEqual({ ...recs[3], rtt: undefined }, { kind: 'interrogation', ca: 1, qoi: 20, outcome: 'terminated', objects: 1, rtt: undefined });
});

test('iec104 connect: an ACT_TERM of type ID 0 without object ends the interrogation at once (record and status)', async () => {
  const net = new MemoryNetwork((a, st) => {
    st.confirm(a);
    st.send(monitor(1, a.ca, 20, [{ ioa: 1, value: true }]));
    st.send({ typeId: 0, sq: false, cot: 10, negative: false, test: false, originator: 0, ca: a.ca, objects: [], raw: new Uint8Array(0), rawCount: 0 });
  });
  const out = sink();
  const err = sink();
  const ac = new AbortController();
  const p = runConnect(['h', '--ca', '1', '--json'], { stdout: out, stderr: err, isTTY: false, connector: () => net.connector, clock: net.clock, signal: ac.signal });
  await flush();
  assert.equal(net.clock.now(), 1_000, 'no time passed');
  ac.abort();
  assert.equal(await p, 0);
  const recs = out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(recs.map((r) => [r.kind ?? 'point', r.typeId]), [['confirmation', 100], ['point', 1], ['termination', 0], ['interrogation', undefined]]);
  assert.equal(recs[3].outcome, 'terminated');
  assert.match(err.text, /type ID 0 without object \(non-standard; tolerated\)/);
});

test('M54 iec104 connect: a broadcast interrogation refused with cause 46 says so, suggests --ca and exits 3', async () => {
  const net = new MemoryNetwork((a, st) => {
    st.send(monitor(13, 7, 3, [{ ioa: 100, value: 1 }])); // spontaneous data from CA 7
    st.send({ ...mirror(a, 46, true) });
  });
  const out = sink();
  const err = sink();
  const p = runConnect(['h', '--json'], { stdout: out, stderr: err, isTTY: false, connector: () => net.connector, clock: net.clock });
  await flush();
  net.clock.advance(250); // broadcast settle
  await flush();
  assert.equal(await p, 3);
  assert.match(err.text, /refused the broadcast interrogation \(CA 65535: cause 46 unknown common address of ASDU, P\/N=1\).*--ca N.*data came from CA 7: --ca 7/);
  const recs = out.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(recs.filter((r) => r.kind).map((r) => [r.kind, r.cot, r.positive ?? r.outcome]), [['confirmation', 46, false], ['interrogation', 46, 'refused']]);

  const one = new MemoryNetwork((a, st) => st.send(mirror(a, 46, true)));
  const err2 = sink();
  const code = await runConnect(['h', '--ca', '2'], { stdout: sink(), stderr: err2, isTTY: false, connector: () => one.connector, clock: one.clock });
  assert.equal(code, 3);
  assert.match(err2.text, /refused the interrogation of CA 2 \(cause 46 .*\): it has no common address 2; check --ca/);
});

test('iec104 connect: M_EI_NA_1 is printed as text, not raw JSON', async () => {
  const net = new MemoryNetwork();
  const out = sink();
  const ac = new AbortController();
  const p = runConnect(['h', '--no-gi', '--lines'], { stdout: out, stderr: sink(), isTTY: false, connector: () => net.connector, clock: net.clock, signal: ac.signal });
  await flush();
  net.station.send(monitor(70, 1, 4, [{ ioa: 0, cause: 2, localChange: true }]));
  await flush();
  ac.abort();
  assert.equal(await p, 0);
  assert.match(out.text, /^1 {2}0 {2}M_EI_NA_1 {2}end of initialization: COI=2 remote reset, BS1=1 after change of local parameters {2}.*init\n$/);
  assert.doesNotMatch(out.text, /\{/);
});

test('parseConnectArgs: --reconnect-min/--reconnect-max need --reconnect and an order', () => {
  const a = parseConnectArgs(['h', '--reconnect', '--reconnect-min', '200', '--reconnect-max', '400']);
  assert.deepEqual([a.reconnectMin, a.reconnectMax], [200, 400]);
  assert.throws(() => parseConnectArgs(['h', '--reconnect-min', '200']), /need --reconnect/);
  assert.throws(() => parseConnectArgs(['h', '--reconnect', '--reconnect-min', '500', '--reconnect-max', '400']), /larger than/);
});
