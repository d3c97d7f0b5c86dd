/**
 * ATT&CK for ICS coverage through the CLI: `iec104 analyze --alerts` on generated captures, one
 * test per technique row added by issue 15, and the severity calibration of capture artefacts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAnalyzeOn } from '../capture/helpers.js';
import { SynthLink104 } from './synth-attacks.js';

interface Rec {
  kind: string;
  rule: string;
  severity: string;
  mitre?: string;
  evidence: Record<string, unknown>;
}
async function alerts(pcap: Uint8Array): Promise<Rec[]> {
  const r = await runAnalyzeOn(['cap', '--alerts'], pcap);
  assert.ok(r.code === 0, r.err);
  return r.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec).filter((x) => x.kind === 'alert');
}
const benign = (l: SynthLink104): SynthLink104 => l.start().gi(4).spont(300, 1.5).wait(1000).command({ typeId: 45, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] }, { term: true });

test('T0816: a reset process from the known master → sys.restart (medium); from a stranger → sys.reset-process', async () => {
  const l = benign(new SynthLink104());
  l.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] });
  const a = await alerts(l.pcap());
  const r = a.find((x) => x.rule === 'sys.restart');
  assert.ok(r, JSON.stringify(a));
  assert.equal(r.mitre, 'T0816');
  assert.equal(r.severity, 'medium');
  const s = new SynthLink104({ master: { ip: '192.168.9.9', port: 5000 } }).start();
  s.command({ typeId: 105, objects: [{ ioa: 0, qrp: 1 }] });
  const b = await alerts(s.pcap());
  assert.deepEqual(b.filter((x) => x.mitre === 'T0816').map((x) => x.rule), ['sys.reset-process']);
});

test('T0836: P_ME_NC_1 parameter change → param.change with the IOA and value', async () => {
  const l = benign(new SynthLink104());
  l.command({ typeId: 112, objects: [{ ioa: 3001, value: 250.5, kpa: 3, lpc: false, pop: false }] });
  const a = (await alerts(l.pcap())).filter((x) => x.rule === 'param.change');
  assert.equal(a.length, 1);
  assert.equal(a[0].mitre, 'T0836');
  assert.equal(a[0].evidence.ioa, 3001);
  assert.equal(a[0].evidence.value, 250.5);
});

test('T0878: P_AC_NA_1 deactivation → param.deactivation (high); activation does not fire it', async () => {
  const l = benign(new SynthLink104());
  l.command({ typeId: 113, objects: [{ ioa: 3001, qpa: 3 }] });
  l.i('m', { typeId: 113, cot: 8, objects: [{ ioa: 3001, qpa: 3 }] });
  const a = (await alerts(l.pcap())).filter((x) => x.rule === 'param.deactivation');
  assert.equal(a.length, 1);
  assert.equal(a[0].mitre, 'T0878');
  assert.equal(a[0].severity, 'high');
});

test('benign synthetic sessions raise no alert, also without TCP handshake; frozen TCP sequence numbers without handshake raise nothing high', async () => {
  for (const opts of [{}, { handshake: false }]) {
    const a = await alerts(benign(new SynthLink104(opts)).pcap());
    assert.deepEqual(a.map((x) => x.rule), [], JSON.stringify(opts));
  }
  const frozen = await alerts(benign(new SynthLink104({ handshake: false, frozenSeq: true })).pcap());
  assert.deepEqual(frozen.filter((x) => x.severity === 'high' || x.severity === 'critical').map((x) => x.rule), []);
});

test('frozen TCP sequence numbers after a correct handshake, and a peer that restarts its numbers on a new connection: no stream.desync, nothing high, every APDU decoded', async () => {
  const cases: Array<[string, () => SynthLink104]> = [
    ['frozen after handshake', () => benign(new SynthLink104({ frozenSeq: true }))],
    ['restart, same ISN, FIN first', () => benign(benign(new SynthLink104()).restart())],
    ['restart, same ISN, no FIN', () => benign(benign(new SynthLink104()).restart({ fin: false }))],
    ['frozen, restart, no FIN', () => benign(benign(new SynthLink104({ frozenSeq: true })).restart({ fin: false }))],
  ];
  for (const [what, make] of cases) {
    const l = make();
    const r = await runAnalyzeOn(['cap', '--json', '--no-aggregate'], l.pcap());
    const recs = r.out.trim().split('\n').map((x) => JSON.parse(x) as { kind: string; rule?: string; severity?: string; capture?: { apdus: { total: number } } });
    assert.deepEqual(recs.filter((x) => x.kind === 'alert').map((x) => x.rule), [], what);
    assert.doesNotMatch(r.err, /E_TCP_DESYNC/, what);
    // every APDU the script wrote was decoded (one APDU per data segment)
    const written = l.packets.length - (what.includes('restart') ? 6 : 3) - (what.includes('FIN first') ? 2 : 0);
    assert.equal(recs.find((x) => x.kind === 'summary')?.capture?.apdus.total, written, what);
  }
});

test('a capture of one direction only (a one-way tap): no alert on benign traffic (before: link.ack-unsent high on every S-frame, t1 and STARTDT rules), attacks still seen', async () => {
  const session = (only: 'm' | 's'): SynthLink104 => {
    const l = new SynthLink104({ only }).start().gi(6);
    for (let k = 0; k < 40; k++) l.wait(5000).spont(300, k).s('m');
    l.command({ typeId: 45, objects: [{ ioa: 2001, value: true, select: false, qu: 0 }] }, { term: true });
    // an idle link: TESTFR every t3 (repeated acts whose answers a one-way capture cannot see)
    for (let k = 0; k < 4; k++) l.wait(20000).u('m', 'TESTFR_ACT').u('s', 'TESTFR_CON');
    return l;
  };
  for (const only of ['m', 's'] as const) assert.deepEqual((await alerts(session(only).pcap())).map((x) => x.rule), [], `only ${only}`);
  const attack = session('m');
  for (let i = 0; i < 8; i++) attack.command({ typeId: 45, objects: [{ ioa: 2001, value: i % 2 === 0, select: false, qu: 0 }] }).wait(500);
  assert.deepEqual((await alerts(attack.pcap())).map((x) => x.rule), ['cmd.toggle']);
});
