/**
 * The monitor through the CLI (`iec104 analyze`, `iec104 learn`) on captures generated from the
 * real engine: our station and master over loopback, recorded through a relay (engine-capture.ts).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runAnalyzeOn } from '../capture/helpers.js';
import { runLearn } from '../../src/cli/learn.js';
import { EngineLab, normalTraffic, settle } from './engine-capture.js';

function analyze(argv: string[], pcap: Uint8Array, files: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return runAnalyzeOn(['cap.pcap', ...argv], pcap, 0, {
    readText: (p) => {
      if (!(p in files)) throw new Error(`ENOENT ${p}`);
      return files[p];
    },
  });
}

async function learn(pcap: Uint8Array): Promise<string> {
  let out = '';
  let err = '';
  const code = await runLearn(['clean.pcap'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, open: async function* () { yield pcap; } });
  assert.equal(code, 0, err);
  return out;
}

/** Rule ids of the alert records (incident records, which group several rules, left out). */
const rulesOf = (out: string): string[] =>
  [...new Set(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; rule: string }).filter((r) => r.kind !== 'incident').map((r) => r.rule))].sort();

/** Build a capture: normal traffic first, then `attack`. */
async function capture(attack?: (lab: EngineLab) => Promise<void>): Promise<Uint8Array> {
  const lab = await new EngineLab().start();
  try {
    await normalTraffic(lab);
    if (attack) await attack(lab);
    return await lab.capture();
  } finally {
    await lab.close();
  }
}

const caps: Record<string, Uint8Array> = {};

before(async () => {
  caps.clean = await capture();
  caps.bruteforce = await capture(async (lab) => {
    const m = await lab.master('10.0.0.1');
    for (let i = 0; i < 14; i++) await settle(m.single(1, 7001 + i, true));
  });
  caps.toggle = await capture(async (lab) => {
    const m = await lab.master('10.0.0.1');
    for (let i = 0; i < 7; i++) await m.single(1, 5002, i % 2 === 0, { until: 'actterm' });
  });
  caps.broadcast = await capture(async (lab) => {
    const m = await lab.master('10.0.0.1');
    await settle(m.single(0xffff, 5002, true));
  });
  caps.unknownMaster = await capture(async (lab) => {
    const m = await lab.master('10.0.0.66');
    await m.interrogation(1);
    await m.double(1, 5001, 'on', { sbo: true, until: 'actterm' });
  });
  caps.giFlood = await capture(async (lab) => {
    const m = await lab.master('10.0.0.1');
    for (let i = 0; i < 8; i++) await m.interrogation(1);
  });
  caps.caSweep = await capture(async (lab) => {
    const m = await lab.master('10.0.0.1');
    for (let ca = 2; ca <= 12; ca++) await settle(m.interrogation(ca));
  });
  caps.reset = await capture(async (lab) => {
    const m = await lab.master('10.0.0.77');
    await settle(m.resetProcess(1));
  });
  caps.newType = await capture(async (lab) => {
    const m = await lab.master('10.0.0.1');
    await settle(m.regulatingStep(1, 5001, 'higher'));
    await m.counterInterrogation(1);
  });
});

test('normal engine traffic (GI, spontaneous, SBO, set-point, clock sync): no alert at all through the CLI', async () => {
  const r = await analyze(['--alerts'], caps.clean);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '');
  const h = await analyze([], caps.clean);
  assert.match(h.out, /alerts: none/);
  assert.match(h.out, /Inventory: 1 master\(s\), 1 station\(s\)/);
  assert.match(h.out, /10\.0\.0\.2:2404 C_DC_NA_1: 4 \(positive 4, negative 0, no answer 0\)/);
});

test('each behavioural rule category fires on its attack (cmd, flood, recon, sys)', async () => {
  const expect: Array<[string, string[]]> = [
    ['bruteforce', ['cmd.ioa-bruteforce']],
    ['toggle', ['cmd.toggle']],
    ['broadcast', ['cmd.broadcast']],
    ['giFlood', ['flood.gi']],
    ['caSweep', ['recon.ca-sweep', 'recon.unknown-ca']],
    ['reset', ['sys.reset-process']],
  ];
  for (const [name, rules] of expect) {
    const r = await analyze(['--alerts'], caps[name]);
    assert.equal(r.code, 0, r.err);
    const got = rulesOf(r.out);
    for (const rule of rules) assert.ok(got.includes(rule), `${name}: expected ${rule}, got ${got.join(', ')}`);
    assert.ok(got.every((g) => !g.startsWith('policy.') && !g.startsWith('baseline.')), `${name}: no policy/baseline rule without --policy`);
  }
  // attacks that are not this rule's do not trigger it
  assert.ok(!rulesOf((await analyze(['--alerts'], caps.giFlood)).out).includes('cmd.toggle'));
  assert.ok(!rulesOf((await analyze(['--alerts'], caps.toggle)).out).includes('flood.gi'));
});

test('learn on the clean capture, then analyze --policy: clean is silent, attacks raise baseline and policy alerts', async () => {
  const yaml = await learn(caps.clean);
  assert.match(yaml, /baseline:/);
  assert.match(yaml, /10\.0\.0\.1/);
  const files = { 'b.yaml': yaml };
  const clean = await analyze(['--alerts', '--policy', 'b.yaml'], caps.clean, files);
  assert.equal(clean.code, 0, clean.err);
  assert.equal(clean.out, '', 'no baseline or policy alert on the traffic it was learned from');
  const unknown = rulesOf((await analyze(['--alerts', '--policy', 'b.yaml'], caps.unknownMaster, files)).out);
  assert.ok(unknown.includes('baseline.new-master'), unknown.join());
  assert.ok(unknown.includes('policy.unknown-master'), unknown.join());
  const brute = rulesOf((await analyze(['--alerts', '--policy', 'b.yaml'], caps.bruteforce, files)).out);
  assert.ok(brute.includes('baseline.new-ioa'), brute.join());
  assert.ok(brute.includes('policy.ioa-not-allowed'), brute.join());
  const newType = rulesOf((await analyze(['--alerts', '--policy', 'b.yaml'], caps.newType, files)).out);
  assert.ok(newType.includes('baseline.new-type'), newType.join());
  assert.ok(newType.includes('policy.command-not-allowed'), newType.join());
  // an invalid policy is a usage error naming the path
  const bad = await analyze(['--policy', 'x.yaml'], caps.clean, { 'x.yaml': 'masters: [{ allow: [{ ioa: hundred }] }]' });
  assert.equal(bad.code, 2);
  assert.match(bad.err, /masters\[0\]\.allow\[0\]\.ioa/);
  assert.equal((await analyze(['--policy', 'missing.yaml'], caps.clean)).code, 1);
});

test('--json: APDU and alert objects interleaved in capture order, then one summary', async () => {
  const r = await analyze(['--json'], caps.broadcast);
  assert.equal(r.code, 0);
  const objs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; frame?: number; rule?: string; alerts?: { byRule: Record<string, number> } });
  const last = objs[objs.length - 1];
  assert.equal(last.kind, 'summary');
  assert.equal(last.alerts?.byRule['cmd.broadcast'], 1);
  const alertAt = objs.findIndex((o) => o.rule === 'cmd.broadcast');
  assert.ok(alertAt > 0);
  // the alert comes right after the APDU that raised it
  const before = objs.slice(0, alertAt).filter((o) => o.kind === undefined);
  assert.equal(before[before.length - 1].frame, objs[alertAt].frame);
  assert.ok(objs.slice(alertAt + 1).some((o) => o.kind === undefined), 'APDUs continue after the alert');
  const frames = objs.filter((o) => o.kind === undefined || o.kind === 'alert').map((o) => o.frame!);
  assert.deepEqual(frames, [...frames].sort((a, b) => a - b), 'capture order');
});

test('--inventory and --commands; --fail-on exit code 4', async () => {
  const inv = await analyze(['--inventory', '--json'], caps.unknownMaster);
  const o = JSON.parse(inv.out) as { kind: string; masters: Array<{ host: string }>; stations: Array<{ address: string; masters: string[]; redundantMasters: boolean; commonAddresses: number[]; interrogation: unknown[]; ioaCount: number }> };
  assert.equal(o.kind, 'inventory');
  assert.deepEqual(o.masters.map((m) => m.host), ['10.0.0.1', '10.0.0.66']);
  assert.deepEqual(o.stations[0].masters, ['10.0.0.1', '10.0.0.66']);
  assert.equal(o.stations[0].redundantMasters, true);
  assert.deepEqual(o.stations[0].commonAddresses, [1]);
  assert.equal(o.stations[0].interrogation.length, 2);
  assert.ok(o.stations[0].ioaCount >= 12);
  const text = await analyze(['--inventory'], caps.clean);
  assert.match(text.out, /CA 1 IOA 2001 {2}M_ME_NC_1\/M_ME_TF_1/);

  const cmds = await analyze(['--commands', '--json'], caps.bruteforce);
  const lines = cmds.out.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; ioa?: number; outcome?: string; negativeCause?: string; typeName?: string; count?: number; negative?: number; actCon?: { p50: number } | null });
  const brute = lines.filter((l) => l.kind === 'command' && l.ioa !== undefined && l.ioa >= 7001);
  assert.equal(brute.length, 14);
  assert.ok(brute.every((c) => c.outcome === 'negative' && /47/.test(c.negativeCause ?? '')), JSON.stringify(brute[0]));
  const st = lines.find((l) => l.kind === 'command-stats' && l.typeName === 'C_SC_NA_1');
  assert.ok(st && st.negative === 14 && st.count! >= 16 && st.actCon && st.actCon.p50 >= 0);

  assert.equal((await analyze(['--alerts', '--fail-on', 'high'], caps.broadcast)).code, 4);
  assert.equal((await analyze(['--alerts', '--fail-on', 'critical'], caps.broadcast)).code, 0);
  assert.equal((await analyze(['--alerts', '--fail-on', 'low'], caps.clean)).code, 0);
  assert.equal((await analyze(['--fail-on', 'severe'], caps.clean)).code, 2);
  assert.equal((await analyze(['--alerts', '--disable', 'cmd.', '--fail-on', 'high'], caps.broadcast)).code, 0);
});

test('child process: iec104 learn > baseline.yaml, then iec104 analyze --policy --fail-on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-cli-'));
  try {
    writeFileSync(join(dir, 'clean.pcap'), caps.clean);
    writeFileSync(join(dir, 'attack.pcap'), caps.unknownMaster);
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'iec104.js');
    const l = spawnSync(process.execPath, [bin, 'learn', join(dir, 'clean.pcap')], { encoding: 'utf8' });
    assert.equal(l.status, 0, l.stderr);
    writeFileSync(join(dir, 'baseline.yaml'), l.stdout);
    const ok = spawnSync(process.execPath, [bin, 'analyze', join(dir, 'clean.pcap'), '--policy', join(dir, 'baseline.yaml'), '--alerts', '--fail-on', 'low'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, '');
    const bad = spawnSync(process.execPath, [bin, 'analyze', join(dir, 'attack.pcap'), '--policy', join(dir, 'baseline.yaml'), '--alerts', '--fail-on', 'high'], { encoding: 'utf8' });
    assert.equal(bad.status, 4, bad.stderr);
    assert.ok(rulesOf(bad.stdout).includes('baseline.new-master'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
