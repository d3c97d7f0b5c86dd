/**
 * `iec104 command` system and parameter commands (issue 10, item 5) through the CLI entry
 * (`runCommandSend`, real TCP) against our controlled station on loopback: read, clock
 * synchronisation, (counter) interrogation, test command, reset process, parameters, parameter
 * activation and deactivations; `--json`; exit codes 0/2/3 as for process commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT, parseCommandArgs, runCommandSend } from '../../src/cli/command-send.js';
import { UsageError } from '../../src/cli/args.js';
import { createStation } from '../../src/station/station.js';
import type { ClockSyncRequest, ParameterRequest } from '../../src/station/session.js';

function sink(): { text: string; write(s: string): void } {
  return {
    text: '',
    write(s: string) {
      this.text += s;
    },
  };
}

async function withStation(fn: (run: (...argv: string[]) => Promise<{ code: number; out: string; err: string }>, seen: { clock: ClockSyncRequest[]; resets: number[]; params: ParameterRequest[] }) => Promise<void>): Promise<void> {
  const seen = { clock: [] as ClockSyncRequest[], resets: [] as number[], params: [] as ParameterRequest[] };
  const station = createStation({
    points: [
      { ca: 1, ioa: 100, type: 13, value: 49.5 },
      { ca: 1, ioa: 200, type: 1, value: true, groups: [1] },
      { ca: 1, ioa: 300, type: 15, value: 1234, counterGroup: 1 },
    ],
    commands: [{ ca: 1, ioa: 5000, type: 46 }],
    onClockSync: (r) => {
      seen.clock.push(r);
    },
    onResetProcess: (qrp) => {
      seen.resets.push(qrp);
    },
    onParameter: (r) => {
      seen.params.push(r);
    },
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out = sink();
    const err = sink();
    const code = await runCommandSend([`127.0.0.1:${port}`, '--ca', '1', '--timeout', '5000', ...argv], { stdout: out, stderr: err });
    return { code, out: out.text, err: err.text };
  };
  try {
    await fn(run, seen);
  } finally {
    await station.close();
  }
}

const json = (s: string): Record<string, unknown> => JSON.parse(s) as Record<string, unknown>;

test('iec104 command --read prints the object the station sends back; unknown IOA exits 3', async () => {
  await withStation(async (run) => {
    const r = await run('--ioa', '100', '--read');
    assert.equal(r.code, EXIT.POSITIVE, r.err);
    assert.match(r.out, /^positive: C_RD_NA_1 CA 1 IOA 100: M_ME_NC_1 49\.5 ok; response \d+(\.\d)? ms\n$/);
    const j = json((await run('--ioa', '100', '--read', '--json')).out);
    assert.equal(j.outcome, 'positive');
    assert.equal(j.command, 'read');
    assert.deepEqual((j.response as Record<string, unknown>).value, 49.5);
    const bad = await run('--ioa', '999', '--read', '--json');
    assert.equal(bad.code, EXIT.NEGATIVE);
    assert.equal(json(bad.out).cot, 47);
  });
});

test('iec104 command --clock-sync now|ISO, --test-command (with and without time tag), --reset-process', async () => {
  await withStation(async (run, seen) => {
    const a = await run('--clock-sync', '2026-01-02T03:04:05.678Z');
    assert.equal(a.code, EXIT.POSITIVE, a.err);
    assert.match(a.out, /^positive: C_CS_NA_1 CA 1 2026-01-02T03:04:05\.678Z; ACT_CON/);
    assert.equal(seen.clock[0].date.toISOString(), '2026-01-02T03:04:05.678Z');
    const before = Date.now();
    assert.equal((await run('--clock-sync', 'now')).code, EXIT.POSITIVE);
    assert.ok(Math.abs(seen.clock[1].date.getTime() - before) < 60_000);
    const t = await run('--test-command', '--json');
    assert.equal(t.code, EXIT.POSITIVE);
    assert.deepEqual([json(t.out).type, json(t.out).outcome], ['C_TS_TA_1', 'positive']);
    const t2 = await run('--test-command', '--no-time');
    assert.equal(t2.code, EXIT.POSITIVE, t2.err);
    assert.match(t2.out, /^positive: C_TS_NA_1 CA 1 pattern 0x55AA; ACT_CON/);
    const rp = await run('--reset-process', 'events');
    assert.equal(rp.code, EXIT.POSITIVE, rp.err);
    assert.match(rp.out, /C_RP_NA_1 CA 1 QRP 2 \(reset of pending time-tagged information\)/);
    assert.deepEqual(seen.resets, [2]);
  });
});

test('iec104 command --interrogation and --counter-interrogation wait for ACT_TERM and list the objects', async () => {
  await withStation(async (run) => {
    const gi = await run('--interrogation', 'station');
    assert.equal(gi.code, EXIT.POSITIVE, gi.err);
    assert.match(gi.out, /^positive: C_IC_NA_1 CA 1 QOI 20 \(station\): 2 objects; ACT_CON \S+ ms, ACT_TERM/);
    assert.match(gi.out, /\n {2}1 {2}100 {2}M_ME_NC_1 {2}49\.5/);
    const g1 = json((await run('--interrogation', '1', '--json')).out);
    assert.deepEqual((g1.objects as Array<Record<string, unknown>>).map((o) => [o.ioa, o.cot]), [[200, 21]]);
    assert.deepEqual(g1.qualifier, { qoi: 21 });
    const fr = await run('--counter-interrogation', 'freeze', '--group', '1', '--json');
    assert.equal(fr.code, EXIT.POSITIVE, fr.err);
    assert.deepEqual(json(fr.out).qualifier, { rqt: 1, frz: 1 });
    const ci = await run('--counter-interrogation', 'read', '--group', '1', '--json');
    assert.equal(ci.code, EXIT.POSITIVE, ci.err);
    const c = json(ci.out);
    assert.deepEqual(c.qualifier, { rqt: 1, frz: 0 });
    assert.equal(c.type, 'C_CI_NA_1');
    assert.ok((c.objects as Array<Record<string, unknown>>).some((o) => o.ioa === 300 && o.cot === 38), ci.out);
  });
});

test('iec104 command parameters and parameter activation; deactivations (DEACT_CON, refused ones exit 3)', async () => {
  await withStation(async (run, seen) => {
    const p = await run('--ioa', '100', '--parameter-float', '0.25', '--kpa', 'threshold', '--json');
    assert.equal(p.code, EXIT.POSITIVE, p.err);
    assert.deepEqual([json(p.out).type, json(p.out).value, json(p.out).qualifier], ['P_ME_NC_1', 0.25, { kpa: 1, lpc: false, pop: false }]);
    assert.deepEqual([seen.params[0].typeId, seen.params[0].ioa, seen.params[0].value, seen.params[0].kpa], [112, 100, 0.25, 1]);
    assert.equal((await run('--ioa', '100', '--parameter-scaled', '-12', '--kpa', '4')).code, EXIT.POSITIVE);
    assert.equal((await run('--ioa', '100', '--parameter-normalized', '0.5', '--kpa', 'low', '--lpc')).code, EXIT.POSITIVE);
    assert.deepEqual(seen.params.slice(1).map((r) => [r.typeId, r.kpa]), [[111, 4], [110, 3]]);
    const act = await run('--ioa', '100', '--parameter-activation', 'object');
    assert.equal(act.code, EXIT.POSITIVE, act.err);
    const deact = await run('--ioa', '100', '--parameter-activation', 'object', '--deactivate');
    assert.equal(deact.code, EXIT.POSITIVE, deact.err);
    assert.match(deact.out, /^positive: P_AC_NA_1 CA 1 IOA 100 QPA 2 \(object\) \(deactivation\); DEACT_CON/);
    assert.deepEqual(seen.params.slice(3).map((r) => [r.typeId, r.qpa, r.activate]), [[113, 2, true], [113, 2, false]]);
    // nothing selected or executing: the station refuses the deactivation (DEACT_CON P/N=1)
    const cmd = await run('--ioa', '5000', '--double', 'on', '--deactivate', '--json');
    assert.equal(cmd.code, EXIT.NEGATIVE);
    assert.deepEqual([json(cmd.out).cot, json(cmd.out).pn, json(cmd.out).deactivate], [9, true, true]);
    const gi = await run('--interrogation', 'station', '--deactivate');
    assert.equal(gi.code, EXIT.NEGATIVE);
    assert.match(gi.err, /^negative: C_IC_NA_1 CA 1 QOI 20 \(station\) \(deactivation\); refused with cause 9 deactivation confirmation \(P\/N=1\)/);
  });
});

test('parseCommandArgs: system commands, their qualifiers and usage errors', () => {
  const a = parseCommandArgs(['h', '--ca', '1', '--counter-interrogation', 'freeze-reset']);
  assert.deepEqual([a.typeId, a.system?.rqt, a.system?.frz, a.until, a.ioa], [101, 5, 2, 'actterm', 0]);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--parameter-activation', 'loaded']).ioa, 0);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--test-command', '--no-time']).typeId, 104);
  assert.equal(parseCommandArgs(['h', '--ca', '1', '--reset-process', '1']).system?.qrp, 1);
  const bad: Array<[string[], RegExp]> = [
    [['h', '--ca', '1', '--read'], /--read needs --ioa/],
    [['h', '--ca', '1', '--clock-sync', 'yesterday'], /ISO 8601/],
    [['h', '--ca', '1', '--interrogation', '17'], /--interrogation expects/],
    [['h', '--ca', '1', '--counter-interrogation', 'melt'], /read, freeze, freeze-reset, reset/],
    [['h', '--ca', '1', '--counter-interrogation', 'read', '--group', '5'], /--group/],
    [['h', '--ca', '1', '--ioa', '1', '--parameter-float', '1'], /needs --kpa/],
    [['h', '--ca', '1', '--ioa', '1', '--parameter-normalized', '2', '--kpa', '1'], /-1\.\.\+1/],
    [['h', '--ca', '1', '--parameter-activation', 'object'], /needs --ioa/],
    [['h', '--ca', '1', '--reset-process', 'general', '--deactivate'], /--deactivate applies to/],
    [['h', '--ca', '1', '--clock-sync', 'now', '--select'], /--select applies to process commands/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'on', '--kpa', '1'], /--kpa does not apply/],
    [['h', '--ca', '1', '--ioa', '1', '--single', 'on', '--deactivate', '--select'], /--deactivate cannot be combined/],
    [['h', '--ca', '1', '--read', '--ioa', '1', '--until', 'actterm'], /--until actterm applies/],
    [['h', '--ca', '1', '--test-command', '--read', '--ioa', '1'], /only one command/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseCommandArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
});
