/**
 * Evasion of the analyser by TCP decoys (issue 11, item 2): `iec104 analyze --policy … --fail-on
 * high` on captures where a master hides a forbidden command behind segments the station's TCP
 * treats differently from a naive reassembler. Before the fix both captures exited 0 with no alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeApdu } from '../../src/codec/index.js';
import { analyzeBytes } from '../../src/capture/analyze.js';
import { SynthSession, writePcap } from '../../src/capture/writer.js';
import { monitorCapture, parsePolicy } from '../../src/monitor/index.js';
import { gi, runAnalyzeOn, STARTDT_ACT, STARTDT_CON } from './helpers.js';

const POLICY = `version: 1
masters:
  - name: scada
    addresses: [10.0.0.1]
    allow:
      - types: [C_IC_NA_1]
`;

/** C_SC_NA_1 act to CA 1 IOA 5000: forbidden by POLICY. Same length (16 octets) as a GI. */
function forbidden(sendSeq: number): Uint8Array {
  return encodeApdu({ apci: { format: 'I', sendSeq, recvSeq: 0 }, asdu: { typeId: 45, sq: false, cot: 6, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 5000, value: true, select: false }] } });
}

function session(): SynthSession {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
  return s.send('client', STARTDT_ACT).send('server', STARTDT_CON);
}

/**
 * The decoy comes first with the same sequence numbers (in the field: a TTL too small to reach the
 * station, or a bad checksum): a benign interrogation, then the real command. A reassembler that
 * keeps the first copy decodes the interrogation and drops the command as a mere retransmission.
 */
function decoyFirst(): Uint8Array {
  const s = session();
  const seq = s.nextSeq('client');
  s.raw('client', seq, gi(0, 0)); // decoy
  s.send('client', forbidden(0)); // what the station reads
  s.send('server', gi(0, 1, 7));
  return writePcap(s.packets);
}

/**
 * Stale decoys (wholly before what the station already acknowledged, with other bytes): the
 * station's TCP drops them; they used to switch the reassembler to arrival order, where the first
 * one (a start byte and length 253) swallowed the real command into an APDU that never completes.
 */
function staleDecoys(): Uint8Array {
  const s = session();
  const acked = 1001; // client ISN + 1: STARTDT act (6 octets) is acknowledged by STARTDT con
  s.raw('client', acked, Uint8Array.of(0x68, 0xfd, 0, 0, 0, 0));
  s.raw('client', acked, Uint8Array.of(1, 2, 3, 4, 5, 6));
  s.send('client', forbidden(0));
  s.send('server', gi(0, 1, 7));
  return writePcap(s.packets);
}

async function analyze(pcap: Uint8Array): Promise<{ code: number; out: string; err: string }> {
  return runAnalyzeOn(['cap.pcap', '--alerts', '--policy', 'p.yaml', '--fail-on', 'high'], pcap, 0, { readText: () => POLICY });
}

const rules = (out: string): string[] => out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { rule: string }).rule);

test('a decoy with the same sequence numbers as a forbidden command: stream.desync alert, exit 4', async () => {
  const r = await analyze(decoyFirst());
  assert.equal(r.code, 4, r.out + r.err);
  assert.ok(rules(r.out).includes('stream.desync'), r.out);
  assert.match(r.err, /E_TCP_DESYNC/);
  // the same through the library
  const m = monitorCapture(decoyFirst(), { policy: parsePolicy(POLICY) });
  const a = m.alerts.find((x) => x.rule === 'stream.desync');
  assert.ok(a);
  assert.equal(a.severity, 'high');
  assert.equal(a.mitre, 'T0830');
  assert.equal(a.src, '10.0.0.1:40000');
});

test('with the detector on a worker thread the stream.desync alert is raised too', async () => {
  const r = await runAnalyzeOn(['cap.pcap', '--alerts', '--policy', 'p.yaml', '--fail-on', 'high', '--threads', '2'], decoyFirst(), 0, { readText: () => POLICY });
  assert.equal(r.code, 4, r.out + r.err);
  assert.ok(rules(r.out).includes('stream.desync'), r.out);
});

test('stale decoys before the acknowledged sequence are not decoded: the forbidden command is seen, exit 4', async () => {
  const r = await analyze(staleDecoys());
  assert.equal(r.code, 4, r.out + r.err);
  const got = rules(r.out);
  assert.ok(got.includes('policy.command-not-allowed'), r.out);
  assert.ok(got.includes('stream.out-of-window'), r.out);
  const a = analyzeBytes(staleDecoys());
  assert.ok(!a.issues.some((i) => i.code === 'W_TCP_SEQ_FALLBACK'), 'no fallback to arrival order once the receiver acknowledged');
  assert.deepEqual(a.issues.filter((i) => i.code === 'W_TCP_OUT_OF_WINDOW').length, 2);
  assert.ok(a.records.some((x) => x.apdu?.asdu?.typeId === 45), 'the real command is decoded');
});

test('data beyond the receiver window is not decoded; bytes acknowledged but not captured are a gap', () => {
  const s = session();
  const seq = s.nextSeq('client');
  // the station's last acknowledgement (STARTDT con) advertised a window of 65535 octets from seq
  s.raw('client', seq + 70_000, forbidden(1)); // beyond the right edge: the station drops it
  s.send('client', gi(0, 0));
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.filter((x) => x.apdu?.asdu).map((x) => x.apdu!.asdu!.typeId), [100]);
  assert.deepEqual(r.issues.map((i) => i.code), ['W_TCP_OUT_OF_WINDOW']);
  // the station acknowledges 16 octets the capture never had: a gap, then decoding goes on
  const t = session();
  t.skip('client', 16);
  t.send('server', gi(0, 1, 7)); // acknowledges the missing octets
  t.send('client', gi(1, 1));
  const q = analyzeBytes(writePcap(t.packets));
  assert.deepEqual(q.issues.map((i) => i.code), ['W_TCP_GAP']);
  assert.match(q.issues[0].message, /acknowledged by the receiver/);
  assert.equal(q.records.filter((x) => x.apdu?.asdu?.typeId === 100).length, 2);
});
