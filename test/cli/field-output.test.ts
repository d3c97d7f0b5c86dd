/**
 * What a new user hit in the output of `analyze` and `decode` (issue 10, item 7): short floats as
 * widened doubles, JSON times in two formats, `--no-summary` ignored with `--json`, text lines
 * without values, alert texts without the field, `decode` hiding the error code, no
 * IEC-101-only warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DecodeIo, runDecode } from '../../src/cli/decode.js';
import { explainApdu, formatExplanation } from '../../src/codec/explain.js';
import { SynthSession, writePcap } from '../../src/capture/writer.js';
import { readCapture } from '../helpers/captures.js';
import { runAnalyzeOn } from '../capture/helpers.js';

/** M_ME_NC_1, spontaneous, CA 1, IOA 1001, value float32(3.14) (C3 F5 48 40), quality 0. */
const FLOAT_314 = '68 12 02 00 02 00 0D 01 03 00 01 00 E9 03 00 C3 F5 48 40 00';

async function decode(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: DecodeIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readStdin: async () => '',
    stdinIsTTY: true,
    color: false,
  };
  const code = await runDecode(args, io);
  return { code, stdout, stderr };
}

const lines = (s: string): string[] => s.trimEnd().split('\n');
const jsonLines = (s: string): Array<Record<string, unknown>> => lines(s).map((l) => JSON.parse(l) as Record<string, unknown>);
const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.split(' ').map((x) => parseInt(x, 16)));

test('short floats: decode --json and the decode table print 3.14, not 3.140000104904175', async () => {
  const j = await decode(['--json', ...FLOAT_314.split(' ')]);
  assert.equal(j.code, 0, j.stderr);
  assert.match(j.stdout, /"value":3\.14,/);
  assert.doesNotMatch(j.stdout, /3\.1400001/);
  const t = await decode(FLOAT_314.split(' '));
  assert.match(t.stdout, /float 3\.14$/m);
  assert.match(formatExplanation(explainApdu(hexBytes(FLOAT_314))), /float 3\.14$/m);
});

test('short floats: analyze --json prints the set-point 3.14 of the fkie capture in the APDU and in the command record', async () => {
  const cap = readCapture('fkie_epf_iec104.pcap');
  const r = await runAnalyzeOn(['-', '--json'], cap);
  assert.equal(r.code, 0, r.err);
  const apdus = jsonLines(r.out).filter((x) => x.frame === 78 && x.apdu !== undefined);
  assert.equal(apdus.length, 1);
  assert.match(JSON.stringify(apdus[0]), /"typeName":"C_SE_NC_1".*"value":3\.14,/);
  assert.doesNotMatch(r.out, /3\.140000104904175|9\.869999885559082/);
  const c = await runAnalyzeOn(['-', '--commands', '--json'], cap);
  const cmd = jsonLines(c.out).find((x) => x.kind === 'command' && x.frame === 78)!;
  assert.equal(cmd.value, 3.14);
  const text = await runAnalyzeOn(['-', '--commands'], cap);
  assert.match(text.out, /C_SE_NC_1 execute ca=10 ioa=1 value=3\.14 /);
  assert.match(text.out, /C_SE_NC_1 execute ca=10 ioa=12 value=9\.87 /);
});

test('decode table: a frame that does not decode shows its error code in the table, junk names its code on stderr', async () => {
  const t = await decode('68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00'.split(' '));
  assert.equal(t.code, 1);
  assert.match(t.stdout, /^error E_TRUNCATED at byte 15 \(APDU\)/m);
  const j = await decode(['01', '02', '68', '04', '07', '00', '00', '00']);
  assert.equal(j.code, 1);
  assert.match(j.stderr, /E_START_BYTE/);
  const l = await decode(['68', '01']);
  assert.match(l.stderr, /E_APDU_LENGTH/);
});

/** One I-frame of type `typeId` with one all-zero object (IOA 1) and an allowed cause. */
function frameOf(typeId: number, elementSize: number, cot: number): Uint8Array {
  const asdu = [typeId, 1, cot, 0, 1, 0, 1, 0, 0, ...new Array<number>(elementSize).fill(0)];
  return Uint8Array.from([0x68, asdu.length + 4, 0, 0, 0, 0, ...asdu]);
}

test('decode: every type the table marks IEC 101-only gets W_IEC101_ONLY_TYPE (M_SP_TA_1 naming M_SP_TB_1); 104 types do not', async () => {
  const { allTypes } = await import('../../src/codec/type-table.js');
  const { decodeApdu } = await import('../../src/codec/apdu.js');
  const only101 = allTypes().filter((t) => t.iec101Only).map((t) => t.id);
  assert.deepEqual(only101, [2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19, 104, 106]);
  for (const t of allTypes()) {
    if (t.raw || t.variableSize) continue;
    const r = decodeApdu(frameOf(t.id, t.elementSize, [...t.causes][0]));
    assert.ok(r.ok, `${t.name}: ${r.ok ? '' : r.error.message}`);
    const codes = (r.value.asdu?.warnings ?? []).map((w) => w.code);
    assert.equal(codes.includes('W_IEC101_ONLY_TYPE'), t.iec101Only, `${t.name}: ${codes.join(',')}`);
  }
  const hex = [...frameOf(2, 4, 3)].map((b) => b.toString(16).padStart(2, '0'));
  const table = await decode(hex);
  assert.equal(table.code, 0, 'a warning is not an error');
  assert.match(table.stdout, /warning W_IEC101_ONLY_TYPE at byte 6 \(type identification\): M_SP_TA_1 .*IEC 60870-5-101 only.*M_SP_TB_1/);
  const json = await decode(['--json', ...hex]);
  assert.match(json.stdout, /"code":"W_IEC101_ONLY_TYPE"/);
});

test('analyze: an IEC 101-only type raises one valid.iec101-only alert, not two', async () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
  s.send('server', frameOf(2, 4, 3));
  const r = await runAnalyzeOn(['-', '--alerts'], writePcap(s.packets));
  const alerts = jsonLines(r.out).filter((a) => a.rule === 'valid.iec101-only');
  assert.equal(alerts.length, 1, r.out);
  assert.match(String(alerts[0].message), /M_SP_TA_1/);
});

test('alert texts name the field: "C_SC_TA_1: CP56Time2a year 109 > 99" (ITI capture)', async () => {
  const r = await runAnalyzeOn(['-', '--alerts'], readCapture('ITI_090813_diverse.pcap'));
  const first = jsonLines(r.out).find((a) => a.rule === 'valid.time-field')!;
  assert.equal(first.message, 'C_SC_TA_1: CP56Time2a year 109 > 99');
  const t = await decode(['--json', '68', '15', '00', '00', '00', '00', '3A', '01', '06', '00', '03', '00', '01', '00', '00', '01', '00', '00', '00', '00', '01', '01', '6D']);
  assert.match(t.stdout, /"field":"CP56Time2a.year","message":"CP56Time2a year 109 > 99"/);
});

const ISO_US = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

test('analyze --json: --no-summary leaves the summary out', async () => {
  const cap = readCapture('fkie_epf_iec104.pcap');
  const withSummary = jsonLines((await runAnalyzeOn(['-', '--json'], cap)).out);
  assert.equal(withSummary[withSummary.length - 1].kind, 'summary');
  const r = await runAnalyzeOn(['-', '--json', '--no-summary'], cap);
  assert.equal(r.code, 0, r.err);
  const out = jsonLines(r.out);
  assert.equal(out.filter((x) => x.kind === 'summary').length, 0);
  assert.equal(out.length, withSummary.length - 1);
  const noMon = jsonLines((await runAnalyzeOn(['-', '--json', '--no-summary', '--no-monitor'], cap)).out);
  assert.ok(noMon.every((x) => x.kind === undefined));
});

test('analyze JSON: every time is ISO 8601 UTC (APDUs, alerts, commands, inventory), the same text for the same frame', async () => {
  const cap = readCapture('fkie_epf_iec104.pcap');
  const all = jsonLines((await runAnalyzeOn(['-', '--json'], cap)).out);
  const apduTs = new Map<number, string>();
  for (const x of all) if (x.kind === undefined) apduTs.set(x.frame as number, x.ts as string);
  const alerts = all.filter((x) => x.kind === 'alert');
  assert.ok(alerts.length > 0);
  for (const a of alerts) {
    assert.match(String(a.ts), ISO_US);
    assert.equal(a.ts, apduTs.get(a.frame as number), `alert of frame ${a.frame}`);
  }
  const summary = all[all.length - 1] as { inventory: { start: string; end: string; stations: Array<{ firstSeen: string; lastSeen: string; ioas: Array<{ firstSeen: string }> }>; masters: Array<{ firstSeen: string }> } };
  assert.match(summary.inventory.start, ISO_US);
  assert.match(summary.inventory.end, ISO_US);
  assert.match(summary.inventory.stations[0].firstSeen, ISO_US);
  assert.match(summary.inventory.stations[0].ioas[0].firstSeen, ISO_US);
  assert.match(summary.inventory.masters[0].firstSeen, ISO_US);
  const cmds = jsonLines((await runAnalyzeOn(['-', '--commands', '--json'], cap)).out).filter((x) => x.kind === 'command');
  assert.equal(cmds.length, 16);
  for (const c of cmds) assert.equal(c.ts, apduTs.get(c.frame as number));
  const inv = jsonLines((await runAnalyzeOn(['-', '--inventory', '--json'], cap)).out)[0] as { kind: string; start: string };
  assert.equal(inv.kind, 'inventory');
  assert.match(inv.start, ISO_US);
  // nothing anywhere is a time in epoch milliseconds
  for (const args of [['--json'], ['--alerts'], ['--commands', '--json'], ['--inventory', '--json'], ['--json', '--threads', '2']]) {
    const text = (await runAnalyzeOn(['-', ...args], cap)).out;
    assert.doesNotMatch(text, /"(ts|firstSeen|lastSeen|start|end)":\d/, args.join(' '));
  }
});

test('analyze text lines show the values: IOA=value flags, four objects then …+N, short floats shortest', async () => {
  const fkie = await runAnalyzeOn(['-', '--no-summary', '--no-monitor'], readCapture('fkie_epf_iec104.pcap'));
  const byFrame = (f: number): string[] => lines(fkie.out).filter((l) => l.startsWith(String(f).padStart(8) + ' '));
  assert.match(byFrame(78)[0], / C_SE_NC_1 act ca=10 1=3\.14$/);
  assert.match(byFrame(9)[0], / C_IC_NA_1 act ca=10 0 qoi=20$/);
  assert.ok(byFrame(12).some((l) => l.endsWith(' M_SP_NA_1 inrogen ca=10 1=OFF, 2=OFF, 3=OFF, 4=OFF')));

  const { encodeApdu } = await import('../../src/codec/apdu.js');
  const q = { ov: false, bl: false, sb: false, nt: false, iv: false };
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
  const base = { sq: false, negative: false, test: false, originator: 0, ca: 7 };
  s.send('server', encodeApdu({ apci: { format: 'I', sendSeq: 0, recvSeq: 0 }, asdu: { ...base, typeId: 13, cot: 3, objects: [1, 2, 3, 4, 5, 6].map((ioa) => ({ ioa, value: Math.fround(ioa + 0.1), quality: { ...q, iv: ioa === 2, nt: ioa === 2 } })) } }));
  s.send('server', encodeApdu({ apci: { format: 'I', sendSeq: 1, recvSeq: 0 }, asdu: { ...base, typeId: 31, cot: 3, objects: [{ ioa: 9, value: 2, quality: q, time: { ms: 1, minute: 2, hour: 3, day: 4, dayOfWeek: 5, month: 6, year: 26, invalid: false, summerTime: false } }] } }));
  s.send('client', encodeApdu({ apci: { format: 'I', sendSeq: 0, recvSeq: 2 }, asdu: { ...base, typeId: 46, cot: 6, objects: [{ ioa: 4102, value: 1, select: true, qu: 0 }] } }));
  s.send('client', encodeApdu({ apci: { format: 'I', sendSeq: 1, recvSeq: 2 }, asdu: { ...base, typeId: 7, cot: 3, objects: [{ ioa: 77, value: 0xa5, quality: q }] } }));
  const r = await runAnalyzeOn(['-', '--no-summary', '--no-monitor'], writePcap(s.packets));
  const out = lines(r.out);
  assert.match(out[0], / M_ME_NC_1 spont ca=7 1=1\.1, 2=2\.1 nt,iv, 3=3\.1, 4=4\.1 …\+2$/);
  assert.match(out[1], / M_DP_TB_1 spont ca=7 9=ON$/);
  assert.match(out[2], / C_DC_NA_1 act ca=7 4102=OFF sel$/);
  assert.match(out[3], / M_BO_NA_1 spont ca=7 77=0x000000A5$/);
  // the fast writer and formatRecordLine agree byte for byte
  const { analyzeBytes } = await import('../../src/capture/analyze.js');
  const { formatRecordLine } = await import('../../src/cli/analyze.js');
  assert.deepEqual(out, analyzeBytes(writePcap(s.packets)).records.map(formatRecordLine));
});

test('policy alert on a short-float set-point names the value as sent (20.3, not 20.299999237060547)', async () => {
  const { parsePolicy, monitorTraffic } = await import('../../src/monitor/index.js');
  const { Capture, Conversation } = await import('../monitor/helpers.js');
  const cap = new Capture();
  const c = new Conversation(cap);
  c.startdt();
  c.setpoint(6000, 20.3);
  const policy = parsePolicy(`
version: 1
masters:
  - name: scada
    addresses: [10.0.0.0/24]
    allow:
      - types: [C_SE_NC_1]
        ca: 1
        ioa: 6000
        value: { min: 0, max: 20 }
`);
  const a = monitorTraffic(cap.items, { policy }).alerts.find((x) => x.rule === 'policy.value-out-of-range')!;
  assert.match(a.message, /C_SE_NC_1 value 20\.3 for IOA 6000/);
  assert.equal(a.evidence.value, 20.3);
});

test('the fast line writer stays byte-identical to formatRecordLine across its 4 MiB buffer boundary', async () => {
  const { OutBuffer } = await import('../../src/cli/out-buffer.js');
  const { formatRecordLine } = await import('../../src/cli/analyze.js');
  const { decodeApdu, encodeApdu } = await import('../../src/codec/apdu.js');
  const q = { ov: false, bl: false, sb: false, nt: true, iv: true };
  const base = { sq: false, negative: false, test: false, originator: 0, ca: 0xffff };
  const time = { ms: 1234, minute: 5, hour: 6, day: 7, dayOfWeek: 1, month: 8, year: 26, invalid: false, summerTime: false };
  const frames = [
    { ...base, typeId: 13, cot: 3, objects: [1, 2, 3, 4, 5, 6].map((ioa) => ({ ioa, value: Math.fround(ioa / 7), quality: q })) },
    { ...base, typeId: 103, cot: 6, objects: [{ ioa: 0, time: { ...time, year: 109 } }] },
    { ...base, typeId: 2, cot: 3, objects: [{ ioa: 0, value: true, quality: q, time: { ms: 1, minute: 2, invalid: false } }] },
    // long object texts: four directory entries fill more than the line's first reservation
    { ...base, typeId: 126, cot: 3, objects: [1, 2, 3, 4, 5, 6, 7, 8].map((ioa) => ({ ioa, file: 1000 + ioa, length: 16000000, status: 17, lfd: true, for: true, fa: true, time })) },
  ].map((asdu, i) => {
    const r = decodeApdu(encodeApdu({ apci: { format: 'I', sendSeq: i, recvSeq: 0 }, asdu }));
    assert.ok(r.ok);
    assert.ok(r.value.asdu!.warnings!.length > 0, 'lines end with warnings');
    return r.value;
  });
  const ep = (ip: string, port: number) => ({ ip, port, text: `${ip}:${port}` });
  const chunks: Buffer[] = [];
  const out = new OutBuffer({ write: (c: Uint8Array) => (chunks.push(Buffer.from(c)), true), on: () => undefined, off: () => undefined });
  const expected: string[] = [];
  for (let i = 0; i < 20000; i++) {
    const r = { frame: i + 1, ts: '2026-12-03T17:00:00.000001Z', tsMs: 0, src: '10.0.0.2:2404', dst: '10.0.0.1:40000', direction: 'station→master' as const, flow: 0, apdu: frames[i % 4], from: ep('10.0.0.2', 2404), to: ep('10.0.0.1', 40000) };
    out.recordLine(r);
    expected.push(formatRecordLine(r));
  }
  await out.flush();
  const all = Buffer.concat(chunks);
  assert.ok(all.length > 4 << 20, `${all.length} octets: more than one buffer`);
  const text = all.toString('utf8');
  assert.equal(text, expected.join('\n') + '\n');
});
