/**
 * The workbench's HTTP API without a browser: the decoder endpoint, security (read-only 403,
 * token 401 off loopback, DNS-rebinding Host refusal, JSON-only POST), `--ui` address parsing,
 * live point updates over server-sent events, and `iec104 analyze FILE --ui` as a real process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createStation } from '../../src/station/station.js';
import { isLoopback, parseUiAddress, startWorkbench } from '../../src/web/server.js';
import { layerOf, parseHexText } from '../../src/web/model.js';
import { VirtualClock } from '../../src/clock.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('--ui addresses: PORT, ADDR:PORT, [v6]:PORT; bad ones are refused with the flag named', () => {
  assert.deepEqual(parseUiAddress('8104'), { host: '127.0.0.1', port: 8104 });
  assert.deepEqual(parseUiAddress('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseUiAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseUiAddress('host:99999'), /--ui: expected \[ADDR:\]PORT/);
  assert.throws(() => parseUiAddress('abc'), /--ui/);
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('localhost'), true);
  assert.equal(isLoopback('0.0.0.0'), false);
  assert.equal(isLoopback('192.168.1.5'), false);
});

test('hex text and field layers', () => {
  assert.deepEqual(parseHexText('0x68 04:07,00 0000'), Uint8Array.of(0x68, 4, 7, 0, 0, 0));
  assert.match(parseHexText('68 0') as string, /odd number/);
  assert.match(parseHexText('68 zz') as string, /not a hex digit: 'z'/);
  assert.equal(layerOf('control'), 'apci');
  assert.equal(layerOf('COT'), 'asdu-header');
  assert.equal(layerOf('object[2].IOA'), 'ioa');
  assert.equal(layerOf('object[0].SIQ'), 'element');
  assert.equal(layerOf('trailing'), 'other');
});

test('the decode API explains like iec104 decode and reports malformed frames and bad hex', async () => {
  const wb = await startWorkbench({ port: 0 });
  try {
    const ok = (await (await fetch(new URL('/api/decode?hex=68 04 07 00 00 00', wb.url))).json()) as { summary: string; rows: { field: string; layer: string }[] };
    assert.equal(ok.summary, 'U-frame STARTDT_ACT');
    assert.deepEqual(ok.rows.map((r) => [r.field, r.layer]), [['start', 'apci'], ['length', 'apci'], ['control', 'apci']]);
    const bad = (await (await fetch(new URL('/api/decode?hex=68 0E 00 00 00 00 64', wb.url))).json()) as { error: { code: string; offset: number } };
    assert.match(bad.error.code, /^E_/);
    const r = await fetch(new URL('/api/decode?hex=xyz', wb.url));
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /not a hex digit/);
    assert.equal((await fetch(new URL('/nothing', wb.url))).status, 404);
    // the page and its assets are served from the package with a strict CSP
    const page = await fetch(wb.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal((await fetch(new URL('/app.js', wb.url))).status, 200);
  } finally {
    await wb.close();
  }
});

test('security: read-only refuses commands (403), POST must be JSON, a foreign Host is refused on loopback', async () => {
  const station = createStation({ points: [{ ca: 1, ioa: 100, type: 1 }], endOfInitialization: 'none' });
  const wb = await startWorkbench({ port: 0, station });
  const rw = await startWorkbench({ port: 0, station, commands: true });
  try {
    const post = (base: string, path: string, body: string, type = 'application/json') => fetch(new URL(path, base), { method: 'POST', headers: { 'Content-Type': type }, body });
    assert.equal((await post(wb.url, '/api/command', '{}')).status, 403);
    assert.equal((await post(wb.url, '/api/points/set', '{"ca":1,"ioa":100,"value":true}')).status, 403);
    assert.equal(station.point(1, 100)?.value, false, 'the refused update did not happen');
    assert.equal((await post(rw.url, '/api/points/set', '{"ca":1,"ioa":100,"value":true}', 'text/plain')).status, 415);
    // commands need a master; a station-only workbench says so
    assert.equal((await post(rw.url, '/api/command', '{"ca":1,"ioa":100,"typeId":45,"value":true,"step":"direct"}')).status, 409);
    assert.equal((await post(rw.url, '/api/points/set', '{"ca":1,"ioa":100,"value":true}')).status, 200);
    assert.equal(station.point(1, 100)?.value, true);
    assert.equal((await post(rw.url, '/api/points/set', '{"ca":1,"ioa":999,"value":true}')).status, 404);
    // DNS rebinding: a request naming another host is refused
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: wb.port, path: '/api/info', headers: { Host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);
  } finally {
    await wb.close();
    await rw.close();
    await station.close();
  }
});

test('points changed at the station reach an SSE client at the next flush (virtual clock)', async () => {
  const clock = new VirtualClock();
  const station = createStation({ points: [{ ca: 1, ioa: 100, type: 13, name: 'P' }], endOfInitialization: 'none', clock });
  const wb = await startWorkbench({ port: 0, station, clock, flushMs: 250 });
  const ac = new AbortController();
  try {
    const res = await fetch(new URL('/api/events', wb.url), { signal: ac.signal });
    const reader = res.body!.getReader();
    let text = '';
    const first = await reader.read();
    text += new TextDecoder().decode(first.value);
    assert.match(text, /event: connections/);
    station.update(1, 100, 42.5);
    clock.advance(250);
    while (!/event: points/.test(text)) {
      const c = await reader.read();
      if (c.done) break;
      text += new TextDecoder().decode(c.value);
    }
    const data = /event: points\ndata: (.*)\n/.exec(text)![1];
    const rows = JSON.parse(data) as { key: string; value: string; name: string; type: string }[];
    assert.deepEqual(rows.map((r) => [r.key, r.value, r.name, r.type]), [['1:100', '42.5', 'P', 'M_ME_NC_1']]);
  } finally {
    ac.abort();
    await wb.close();
    await station.close();
  }
});

test('iec104 analyze FILE --ui serves the capture (a real process, stopped by SIGTERM, exit 0)', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'analyze', 'test/fixtures/captures/fkie_epf_iec104.pcap', '--ui', '127.0.0.1:0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /workbench: (http:\/\/\S+)/.exec(err);
        if (m && /serving/.test(err)) resolve(m[1]);
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}: ${err}`)));
    });
    const cap = (await (await fetch(new URL('/api/capture', url))).json()) as { inventory: { masters: { host: string }[] }; apdusTotal: number };
    assert.deepEqual(cap.inventory.masters.map((m) => m.host), ['10.20.102.1']);
    assert.equal(cap.apdusTotal, 115);
    const x = (await (await fetch(new URL('/api/capture/apdus/0', url))).json()) as { rows: unknown[]; summary: string };
    assert.match(x.summary, /TESTFR_ACT/);
    assert.equal((await fetch(new URL('/api/command', url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, 403);
    const code = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
