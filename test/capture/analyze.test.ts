import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeBytes, analyzeStream, recordJsonHead, recordJsonText, recordJsonTail, recordToJson, CaptureAnalyzer, type FlowInfo } from '../../src/capture/analyze.js';
import { TCP_ACK } from '../../src/capture/packet.js';
import { parseTlsHello } from '../../src/capture/tls.js';
import { concatBytes, SynthSession, writePcap, writePcapng } from '../../src/capture/writer.js';
import { conversation, describe, floats, gi, sFrame, STARTDT_ACT, STARTDT_CON } from './helpers.js';

function conv(client: { ip: string; port: number }, server: { ip: string; port: number }): SynthSession {
  const s = new SynthSession(client, server).handshake();
  for (const m of conversation()) s.send(m.side, m.bytes);
  return s;
}

test('IEC 104 on a non-standard port is recognised from its first bytes', () => {
  const s = conv({ ip: '10.0.0.1', port: 51000 }, { ip: '10.0.0.2', port: 12345 });
  const flows: FlowInfo[] = [];
  const records: string[] = [];
  const an = new CaptureAnalyzer({ record: (r) => records.push(describe(r)), flow: (f) => flows.push(f) });
  an.push(writePcap(s.packets));
  an.end();
  assert.equal(records.length, 8);
  assert.equal(flows.length, 1);
  assert.equal(flows[0].kind, 'iec104');
  assert.equal(flows[0].detectedBy, 'heuristic');
  // station found from STARTDT act (client sends it): b is the station
  assert.equal(an.summary().flows[0].station, 'b');
  // disabled heuristic: nothing
  assert.equal(analyzeBytes(writePcap(s.packets), { heuristic: false }).records.length, 0);
  // configured port: by port
  const byPort = analyzeBytes(writePcap(s.packets), { ports: [12345], heuristic: false });
  assert.equal(byPort.records.length, 8);
  assert.equal(byPort.summary.flows[0].detectedBy, 'port');
});

test('heuristic: a flow whose first bytes are not APDUs is other, and produces nothing', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 51000 }, { ip: '10.0.0.2', port: 80 }).handshake();
  s.send('client', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  s.send('server', concatBytes(new TextEncoder().encode('HTTP/1.1 200 OK\r\n\r\n'), STARTDT_ACT));
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 0);
  assert.equal(r.summary.flows[0].kind, 'other');
  assert.deepEqual(r.issues, []);
});

test('heuristic with 1-octet segments still decides and replays in frame order', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 51000 }, { ip: '10.0.0.2', port: 7777 }).handshake();
  for (const m of conversation()) s.send(m.side, m.bytes, 1);
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 8);
  const frames = r.records.map((x) => x.frame);
  assert.deepEqual(frames, [...frames].sort((a, b) => a - b));
});

test('direction without a port hint comes from the first APDU that shows a role', () => {
  // station sends spontaneous data first (monitor type), both ports non-standard
  const s = new SynthSession({ ip: '10.0.0.1', port: 3000 }, { ip: '10.0.0.2', port: 3001 });
  s.send('client', sFrame(0)).send('server', floats(0, 0, 1)).send('client', sFrame(1));
  const r = analyzeBytes(writePcap(s.packets));
  assert.deepEqual(r.records.map((x) => x.direction), [undefined, 'station→master', 'master→station']);
});

test('records: timestamps with the capture precision, IPv6 endpoints in brackets', () => {
  const s = conv({ ip: 'fd00::1', port: 40000 }, { ip: 'fd00::2', port: 2404 });
  const us = analyzeBytes(writePcap(s.packets)).records;
  const ns = analyzeBytes(writePcap(s.packets, { nanos: true })).records;
  const ng = analyzeBytes(writePcapng(s.packets, { interfaces: [{ linkType: 1, tsresol: 9 }] })).records;
  assert.match(us[0].ts, /^2023-11-14T22:13:20\.\d{6}Z$/);
  assert.match(ns[0].ts, /^2023-11-14T22:13:20\.\d{6}123Z$/);
  assert.equal(ng[0].ts, ns[0].ts);
  assert.equal(us[0].src, '[fd00::1]:40000');
  assert.equal(us[0].dst, '[fd00::2]:2404');
});

test('JSON form: shape of apdu records and error records', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
  const bad = gi(0, 0).slice();
  bad[7] = 2; // VSQ says 2 objects, 1 present
  s.send('client', concatBytes(STARTDT_ACT, bad)).send('server', STARTDT_CON);
  const r = analyzeBytes(writePcap(s.packets));
  const j = r.records.map((x) => JSON.parse(JSON.stringify(recordToJson(x))));
  assert.deepEqual(Object.keys(j[0]), ['frame', 'ts', 'src', 'dst', 'direction', 'flow', 'apdu']);
  assert.equal(j[0].apdu.apci.uFunction, 'STARTDT_ACT');
  assert.equal(j[0].direction, 'master→station');
  assert.equal(j[1].error.code, 'E_TRUNCATED');
  assert.equal(j[1].raw.split(' ').length, 16);
  assert.equal(j[1].frame, 4);
  assert.deepEqual(r.summary.decodeErrors, { E_TRUNCATED: 1 });
});

test('TLS on port 19998: encrypted flow with SNI, versions and cipher; no APDUs', () => {
  const ch = clientHello('rtu7.example');
  const sh = serverHello();
  const s = new SynthSession({ ip: '10.0.0.1', port: 45000 }, { ip: '10.0.0.2', port: 19998 }).handshake();
  s.send('client', ch).send('server', sh).send('client', Uint8Array.from([0x17, 3, 3, 0, 2, 0xaa, 0xbb]));
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 0);
  const f = r.summary.flows[0];
  assert.equal(f.kind, 'tls');
  assert.equal(f.station, 'b');
  assert.deepEqual(f.tls, { sni: 'rtu7.example', clientVersion: 'TLS 1.3', serverVersion: 'TLS 1.3', cipher: 'TLS_AES_128_GCM_SHA256 (0x1301)', offeredCiphers: 2 });
});

test('parseTlsHello: not TLS, or not yet complete', () => {
  const info = {};
  assert.equal(parseTlsHello(STARTDT_ACT, info), false);
  assert.equal(parseTlsHello(clientHello('x').subarray(0, 4), info), false);
});

test('analyzeStream yields the same records in 1-octet chunks (stdin style)', async () => {
  const s = conv({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 });
  const bytes = writePcap(s.packets);
  async function* chunks(size: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const whole = analyzeBytes(bytes).records.map((r) => JSON.stringify(recordToJson(r)));
  const got: string[] = [];
  let summarized = 0;
  for await (const r of analyzeStream(chunks(1), { onSummary: (x) => (summarized = x.apdus.total) })) got.push(JSON.stringify(recordToJson(r)));
  assert.deepEqual(got, whole);
  assert.equal(summarized, 8);
});

test('truncated capture: APDUs of earlier packets are out, the damage is reported', () => {
  const s = conv({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 });
  const bytes = writePcap(s.packets);
  const r = analyzeBytes(bytes.subarray(0, bytes.length - 10));
  assert.deepEqual(r.records.map(describe), ['4:U', '5:U', '6:I:100/6/0', '7:I:100/7/0', '7:I:13/3/100,101,102', '8:I:13/3/200,201', '8:I:100/10/0']);
  assert.equal(r.issues.filter((i) => i.code === 'E_CAP_TRUNCATED').length, 1);
});

test('same 4-tuple reused after FIN: a new SYN restarts the stream', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
  s.send('client', STARTDT_ACT).fin('client').fin('server');
  const t = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }, { type: 'ethernet' }, { clientIsn: 777777, serverIsn: 999999, startSec: 1700000100 }).handshake();
  t.send('client', STARTDT_ACT).send('server', STARTDT_CON);
  const r = analyzeBytes(writePcap([...s.packets, ...t.packets]));
  assert.deepEqual(r.records.map((x) => x.apdu?.apci.format === 'U' && x.apdu.apci.uFunction), ['STARTDT_ACT', 'STARTDT_ACT', 'STARTDT_CON']);
  assert.deepEqual(r.issues, []);
  assert.equal(r.summary.flows.length, 1);
});

test('ACK-only packets and a capture without IEC 104 produce no records', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
  s.raw('client', s.nextSeq('client'), new Uint8Array(0), TCP_ACK);
  const r = analyzeBytes(writePcap(s.packets));
  assert.equal(r.records.length, 0);
  assert.equal(r.summary.tcpSegments, 4);
});

function clientHello(sni: string): Uint8Array {
  const name = new TextEncoder().encode(sni);
  const sniExt = [0, 0, 0, name.length + 5, 0, name.length + 3, 0, 0, name.length, ...name];
  const sv = [0, 0x2b, 0, 5, 4, 0x03, 0x04, 0x03, 0x03];
  const ext = [...sniExt, ...sv];
  const body = [3, 3, ...new Array(32).fill(7), 0, 0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0, ext.length >> 8, ext.length & 255, ...ext];
  const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
  return Uint8Array.from([0x16, 3, 1, hs.length >> 8, hs.length & 255, ...hs]);
}

function serverHello(): Uint8Array {
  const ext = [0, 0x2b, 0, 2, 3, 4];
  const body = [3, 3, ...new Array(32).fill(9), 0, 0x13, 0x01, 0, 0, ext.length, ...ext];
  const hs = [2, 0, body.length >> 8, body.length & 255, ...body];
  return Uint8Array.from([0x16, 3, 3, hs.length >> 8, hs.length & 255, ...hs]);
}

test('recordJsonText is byte-identical to JSON.stringify(recordToJson(r)): IPv4, IPv6, ns times, unknown direction, errors', () => {
  const records = [];
  // IPv4 on 2404, IPv6, nanosecond pcap
  records.push(...analyzeBytes(writePcap(conv({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 2404 }).packets)).records);
  records.push(...analyzeBytes(writePcap(conv({ ip: 'fd00::1', port: 40000 }, { ip: 'fd00::2', port: 2404 }).packets, { nanos: true })).records);
  // heuristic port: direction unknown until a role shows (S-frame and floats first)
  const h = new SynthSession({ ip: '10.0.0.3', port: 40001 }, { ip: '10.0.0.4', port: 40002 }).handshake();
  h.send('client', sFrame(0)).send('server', sFrame(0)).send('client', STARTDT_ACT).send('server', floats(0, 0, 7, 2));
  records.push(...analyzeBytes(writePcap(h.packets)).records);
  // an undecodable APDU (error + raw)
  const e = new SynthSession({ ip: '10.0.0.5', port: 40003 }, { ip: '10.0.0.6', port: 2404 }).handshake();
  const bad = gi(0, 0).slice();
  bad[7] = 2;
  e.send('client', concatBytes(STARTDT_ACT, bad));
  records.push(...analyzeBytes(writePcap(e.packets)).records);
  assert.ok(records.some((r) => r.direction === undefined));
  assert.ok(records.some((r) => r.error !== undefined));
  assert.ok(records.some((r) => r.src.startsWith('[')));
  for (const r of records) {
    const want = JSON.stringify(recordToJson(r));
    assert.equal(recordJsonText(r), want);
    assert.equal(Buffer.from(recordJsonText(r)).equals(Buffer.from(want)), true);
    assert.ok(recordJsonTail(r).startsWith(',"flow":') && recordJsonHead(r).endsWith('"direction":'));
  }
});
