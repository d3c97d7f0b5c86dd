/**
 * `--syslog URL`: RFC 5424 messages (header, structured data escaping) and their delivery over
 * UDP, TCP (octet counting), TLS (server certificate verified against a CA file) and a local
 * stream socket, one message per alert of a public capture; an unreachable collector costs the
 * analysis nothing (exit 0, one error line, no hang).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as netServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServer as tlsServer } from 'node:tls';
import type { Alert } from '../../src/monitor/types.js';
import { formatSyslog, parseSyslogUrl } from '../../src/outputs/syslog.js';
import { createTestPki } from '../../src/transport/test-pki.js';
import { runAnalyzeOn } from '../capture/helpers.js';
import { readCapture } from '../helpers/captures.js';

const CAPTURE = 'fkie_epf_iec104.pcap';
const RFC5424 = /^<(\d{1,3})>1 (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z) ([\x21-\x7e]{1,255}) iec104 ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (\[iec104@32473(?: [a-z]+="(?:[^"\\\]]|\\["\\\]])*")+\]) ([\s\S]*)$/;

async function alertsOf(): Promise<Alert[]> {
  const r = await runAnalyzeOn([CAPTURE, '--alerts', '--no-aggregate'], readCapture(CAPTURE));
  return r.out.trim().split('\n').map((l) => JSON.parse(l) as Alert);
}

/** Octet-counted frames (RFC 6587) from a stream. */
function frames(buf: string): string[] {
  const out: string[] = [];
  let b = Buffer.from(buf);
  for (;;) {
    const sp = b.indexOf(32);
    if (sp < 0) break;
    const n = Number(b.subarray(0, sp).toString());
    if (b.length < sp + 1 + n) break;
    out.push(b.subarray(sp + 1, sp + 1 + n).toString());
    b = b.subarray(sp + 1 + n);
  }
  return out;
}

test('RFC 5424 message: header fields, structured data escaping, severity mapping', () => {
  const a: Alert = { kind: 'alert', rule: 'x"y]z\\ w', severity: 'critical', message: 'line one\nline two', frame: 3, ts: 1700000000000.5, src: '10.0.0.1:5000', dst: '10.0.0.2:2404', evidence: { flow: '2' }, mitre: 'T0836' };
  const m = formatSyslog(a, { hostname: 'sensor-1', procId: 42 });
  const g = RFC5424.exec(m);
  assert.ok(g, m);
  assert.equal(Number(g[1]), 16 * 8 + 2); // local0.crit
  assert.equal(g[2], '2023-11-14T22:13:20.000500Z');
  assert.equal(g[3], 'sensor-1');
  assert.equal(g[4], '42');
  assert.equal(g[5], 'x"y]z\\_w');
  assert.equal(g[6], '[iec104@32473 rule="x\\"y\\]z\\\\ w" severity="critical" src="10.0.0.1:5000" dst="10.0.0.2:2404" frame="3" flow="2" mitre="T0836"]');
  assert.equal(g[7], 'line one\nline two');
  assert.equal(Number(RFC5424.exec(formatSyslog({ ...a, severity: 'low' }))![1]), 16 * 8 + 5);
  assert.match(formatSyslog(a, { body: 'cef' }), /\] CEF:0\|iec104\|iec104\|/);
  assert.deepEqual(parseSyslogUrl('udp://127.0.0.1'), { transport: 'udp', host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseSyslogUrl('tls://[::1]?ca=/x.pem'), { transport: 'tls', host: '::1', port: 6514, ca: '/x.pem' });
  assert.deepEqual(parseSyslogUrl('unix:///dev/log'), { transport: 'unix', path: '/dev/log' });
  assert.equal(typeof parseSyslogUrl('http://x'), 'string');
});

test('--syslog udp:// sends one RFC 5424 datagram per alert', async () => {
  const want = await alertsOf();
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    const r = await runAnalyzeOn([CAPTURE, '--no-summary', '--syslog', `udp://127.0.0.1:${sock.address().port}`], readCapture(CAPTURE));
    assert.equal(r.code, 0, r.err);
    for (let i = 0; i < 100 && got.length < want.length; i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      const g = RFC5424.exec(got[i]);
      assert.ok(g, got[i]);
      assert.equal(g[5], want[i].rule);
      assert.equal(g[7], want[i].message);
    }
  } finally {
    sock.close();
  }
});

async function streamCollector(make: (onSock: (s: Socket) => void) => Server, listen: (s: Server) => Promise<string>): Promise<{ url: string; data: () => string; close: () => Promise<void> }> {
  let data = '';
  const socks: Socket[] = [];
  const server = make((s) => {
    socks.push(s);
    s.on('data', (d: Buffer) => (data += d.toString()));
  });
  const url = await listen(server);
  return {
    url,
    data: () => data,
    close: () =>
      new Promise((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

async function expectFrames(url: string, c: { data: () => string }): Promise<void> {
  const want = await alertsOf();
  const r = await runAnalyzeOn([CAPTURE, '--no-summary', '--syslog', url, '--syslog-format', 'cef'], readCapture(CAPTURE));
  assert.equal(r.code, 0, r.err);
  for (let i = 0; i < 100 && frames(c.data()).length < want.length; i++) await new Promise((res) => setTimeout(res, 20));
  const f = frames(c.data());
  assert.equal(f.length, want.length);
  for (let i = 0; i < f.length; i++) {
    const g = RFC5424.exec(f[i]);
    assert.ok(g, f[i]);
    assert.ok(g[7].startsWith(`CEF:0|iec104|iec104|0.1.0|${want[i].rule}|`), g[7]);
  }
}

test('--syslog tcp:// and unix:// (stream socket): octet-counted frames, CEF body', async () => {
  const tcp = await streamCollector(
    (on) => netServer(on),
    (s) => new Promise((r) => s.listen(0, '127.0.0.1', () => r(`tcp://127.0.0.1:${(s.address() as { port: number }).port}`))),
  );
  try {
    await expectFrames(tcp.url, tcp);
  } finally {
    await tcp.close();
  }
  const dir = mkdtempSync(join(tmpdir(), 'iec104-syslog-'));
  const path = join(dir, 'log.sock');
  const unix = await streamCollector(
    (on) => netServer(on),
    (s) => new Promise((r) => s.listen(path, () => r(`unix://${path}`))),
  );
  try {
    await expectFrames(unix.url, unix);
  } finally {
    await unix.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--syslog tls://: the collector certificate is verified against ?ca=', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-syslog-tls-'));
  try {
    const pki = await createTestPki(dir);
    const c = await streamCollector(
      (on) => tlsServer({ cert: readFileSync(pki.leaves.server.cert), key: readFileSync(pki.leaves.server.key) }, on),
      (s) => new Promise((r) => s.listen(0, '127.0.0.1', () => r(`tls://127.0.0.1:${(s.address() as { port: number }).port}?ca=${encodeURIComponent(pki.ca.cert)}`))),
    );
    try {
      await expectFrames(c.url, c);
      // another CA: refused, counted, the analysis unaffected
      const bad = c.url.replace(/\?ca=.*$/, `?ca=${encodeURIComponent(pki.otherCa.cert)}`);
      const r = await runAnalyzeOn([CAPTURE, '--no-summary', '--alerts', '--no-aggregate', '--syslog', bad], readCapture(CAPTURE));
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /syslog: .*certificate/i);
    } finally {
      await c.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--syslog to a closed port: the analysis completes (exit 0), the error is reported once', async () => {
  const s = netServer();
  const port = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
  await new Promise((r) => s.close(r));
  const t0 = Date.now();
  const r = await runAnalyzeOn([CAPTURE, '--alerts', '--no-aggregate', '--syslog', `tcp://127.0.0.1:${port}`], readCapture(CAPTURE));
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err.match(/syslog:/g)?.length, 1, r.err);
  assert.match(r.err, /ECONNREFUSED/);
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(r.out.trim().split('\n').length, (await alertsOf()).length); // stdout unaffected
});
