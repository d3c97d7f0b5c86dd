import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture } from '../helpers/captures.js';
import { command } from '../../src/cli/analyze.js';
import { SynthSession, writePcap } from '../../src/capture/writer.js';
import { conversation, runAnalyzeOn } from './helpers.js';

const FKIE = readCapture('fkie_epf_iec104.pcap');

const run = runAnalyzeOn;

test('--json: one parseable object per APDU, nothing else on stdout', async () => {
  const r = await run(['x.pcap', '--json'], FKIE);
  assert.equal(r.code, 0);
  const all = r.out.trim().split('\n').map((l) => JSON.parse(l));
  // APDU objects have no `kind`; alerts (kind "alert", and "alert-aggregate" for repeats) are interleaved, one summary comes last
  assert.equal(all[all.length - 1].kind, 'summary');
  assert.ok(all.every((o) => o.kind === undefined || o.kind === 'alert' || o.kind === 'alert-aggregate' || o === all[all.length - 1]));
  const objs = all.filter((o) => o.kind === undefined);
  assert.equal(objs.length, 115);
  assert.equal(objs[0].frame, 4);
  assert.equal(objs[0].apdu.apci.uFunction, 'TESTFR_ACT');
  assert.equal(objs[4].apdu.asdu.typeName, 'C_IC_NA_1');
  assert.equal(objs[4].apdu.asdu.cotName, 'activation');
  assert.equal(r.err, '');
});

test('human output: a line per APDU and a summary; --filter; stdin-style 1-octet chunks', async () => {
  const r = await run(['-', '--filter', 'iec60870_asdu.typeid == 45'], FKIE, 1);
  assert.equal(r.code, 0);
  const lines = r.out.trimEnd().split('\n');
  const apduLines = lines.filter((l) => /^\s+\d+ \d{4}-/.test(l));
  assert.equal(apduLines.length, 6);
  assert.ok(apduLines.every((l) => l.includes('C_SC_NA_1')));
  assert.match(r.out, /summary: pcap, 105 frames/);
  assert.match(r.out, /APDUs: 115 \(I 91, S 14, U 10\)/);
  assert.match(r.out, /flow 0: 10\.20\.102\.1:46413 \(master\) ⇄ 10\.20\.100\.108:2404 \(station\)/);
  assert.match(r.out, /problems: none/);
});

test('exit codes: 2 usage / bad filter, 1 not a capture, 3 damaged file', async () => {
  assert.equal((await run([], FKIE)).code, 2);
  assert.equal((await run(['a', 'b'], FKIE)).code, 2);
  assert.equal((await run(['a', '--port', 'x'], FKIE)).code, 2);
  assert.equal((await run(['a', '--bogus'], FKIE)).code, 2);
  const bad = await run(['a', '--filter', 'iec60870_asdu.typeid === 1'], FKIE);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /column 24/);
  const notCap = await run(['a'], new TextEncoder().encode('just some text'));
  assert.equal(notCap.code, 1);
  assert.match(notCap.err, /E_CAP_FORMAT/);
  const cut = await run(['a', '--json'], FKIE.subarray(0, FKIE.length - 20));
  assert.equal(cut.code, 3);
  assert.match(cut.err, /E_CAP_TRUNCATED/);
  assert.equal(cut.out.trim().split('\n').filter((l) => !l.includes('"kind":')).length, 115, 'the cut frame 105 is a bare ACK: every APDU is still out');
});

test('--port, --no-heuristic and --max-issues', async () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.2', port: 6000 }).handshake();
  for (const m of conversation()) s.send(m.side, m.bytes);
  const pcap = writePcap(s.packets);
  assert.equal((await run(['a', '--json', '--no-heuristic', '--no-monitor'], pcap)).out, '{"kind":"summary","capture":' + JSON.stringify((await import('../../src/capture/analyze.js')).analyzeBytes(pcap, { heuristic: false }).summary) + '}\n');
  const byPort = await run(['a', '--json', '--no-heuristic', '--no-monitor', '--port', '6000'], pcap);
  assert.equal(byPort.out.trim().split('\n').length, 9); // 8 APDUs + the summary
  assert.equal(JSON.parse(byPort.out.split('\n')[0]).direction, 'master→station');
  const junk = new SynthSession({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.2', port: 2404 });
  for (let i = 0; i < 5; i++) junk.send('client', Uint8Array.from([1, 2, 3]));
  const j = await run(['a', '--max-issues', '2'], writePcap(junk.packets));
  assert.equal(j.err.split('\n').filter((l) => l.includes('W_JUNK')).length, 3); // 2 shown + the "only counted" note
  assert.match(j.out, /problems: W_JUNK 5/);
});

test('help text names the exit codes and has an example', () => {
  assert.match(command.help, /exit codes:/);
  assert.match(command.help, /example:/);
  assert.match(command.help, /--filter EXPR/);
  assert.match(command.summary, /pcap/);
});

test('text and --json lines written in pieces are byte-identical to formatRecordLine / recordJsonText', async () => {
  const { analyzeBytes, recordJsonText } = await import('../../src/capture/analyze.js');
  const { formatRecordLine } = await import('../../src/cli/analyze.js');
  const { encodeApdu } = await import('../../src/codec/index.js');
  // FKIE plus a synthetic session with an unknown direction, 6 non-SQ objects (the '…' form) and an error
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 40001 }).handshake();
  const q = { ov: false, bl: false, sb: false, nt: false, iv: false };
  const six = encodeApdu({ apci: { format: 'I', sendSeq: 0, recvSeq: 0 }, asdu: { typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [1, 3, 5, 7, 9, 11].map((ioa) => ({ ioa, value: 1.5, quality: q })) } });
  const bad = six.slice();
  bad[7] = 7;
  s.send('client', Uint8Array.from([0x68, 4, 1, 0, 0, 0])).send('server', six).send('server', bad);
  for (const input of [FKIE, writePcap(s.packets)]) {
    const recs = analyzeBytes(input).records;
    const text = await run(['x.pcap', '--no-monitor', '--no-summary'], input);
    assert.equal(text.out, recs.map((r) => formatRecordLine(r) + '\n').join(''));
    const json = await run(['x.pcap', '--no-monitor', '--json'], input);
    const lines = json.out.split('\n');
    assert.deepEqual(lines.slice(0, recs.length), recs.map(recordJsonText));
  }
});
