/**
 * IEC 62351-3 TLS against lib60870-C's TLS examples (mbedTLS: TLS 1.2 only, the suite
 * TLS_RSA_WITH_AES_128_CBC_SHA256 only, RSA certificates without subjectAltName, reached by IP;
 * `tls_server` renegotiates every 2 s), with the CLI and its flags only (issue 13):
 *
 * - `iec104 connect 127.0.0.1 --tls --cert --key --tls-ca` against `tls_server`: the session is
 *   TLS 1.2 AES128-SHA256 (reported with the no-forward-secrecy warning), the station's
 *   renegotiations are accepted and counted, data keeps flowing (interrogation and periodic values).
 * - `tls_client` against `iec104 serve --tls --cert --key --ca`: STARTDT, interrogation, command
 *   and clock synchronisation answered; the audit log names the version and suite.
 *
 * Each example reads its certificates from its working directory (a temp copy of
 * IEC104_LIB60870_CERTS). Both bind/connect 127.0.0.1:19998 inside the namespace `npm run interop`
 * gives this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { lib60870Certs, lib60870Example, skipUnless } from './peers.js';

const server = lib60870Example('tls_server');
const client = lib60870Example('tls_client');
const certs = lib60870Certs();
const root = new URL('../..', import.meta.url).pathname;

function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'iec104-lib60870-tls-'));
  const src = (certs as { path: string }).path;
  for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
  return dir;
}

function run(cmd: string, args: string[], cwd: string, ms: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

async function listening(port: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test('iec104 connect --tls (flags only) against lib60870 tls_server: TLS 1.2 RSA-only, no SAN, renegotiation every 2 s accepted with data flowing', skipUnless(server, certs), async () => {
  const dir = workdir();
  const station = spawn((server as { path: string }).path, [], { cwd: dir, stdio: 'ignore' });
  try {
    assert.ok(await listening(19998), 'tls_server listens on 19998');
    const r = await run(process.execPath, [join(root, 'bin', 'iec104.js'), 'connect', '127.0.0.1', '--tls', '--cert', 'client_CA1_1.pem', '--key', 'client_CA1_1.key', '--tls-ca', 'root_CA1.pem', '--ca', '1', '--lines', '--duration', '7500'], dir, 30_000);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /TLS session: TLSv1\.2 AES128-SHA256; WARNING no forward secrecy/);
    const renegotiations = r.err.match(/TLS renegotiated \(\d+, by the station\)/g) ?? [];
    assert.ok(renegotiations.length >= 2, `the station renegotiated (every 2 s): ${r.err}`);
    assert.ok(r.out.split('\n').some((l) => /inrogen/.test(l)), `interrogated values arrive:\n${r.out}`);
    const periodic = r.out.split('\n').filter((l) => /\b110\b.*per\/cyc/.test(l));
    assert.ok(periodic.length >= 5, `periodic values keep arriving across renegotiations:\n${r.out}`);
  } finally {
    station.kill('SIGKILL');
  }
});

test('lib60870 tls_client against iec104 serve --tls (flags only): STARTDT, interrogation, command answered; audit names TLS 1.2 AES128-SHA256', skipUnless(client, certs), async () => {
  const dir = workdir();
  const audit = join(dir, 'audit.jsonl');
  const serve = spawn(process.execPath, [join(root, 'bin', 'iec104.js'), 'serve', '--tls', '--cert', 'server_CA1_1.pem', '--key', 'server_CA1_1.key', '--ca', 'root_CA1.pem', '--host', '127.0.0.1', '--audit', audit, '--log-format', 'json'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  serve.stderr.on('data', (c: Buffer) => (log += c.toString()));
  try {
    // ready when it says so (a test connection would be refused and audited as a bad handshake)
    for (let i = 0; i < 400 && !log.includes('station.listening'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(log, /station\.listening/);
    const r = await run((client as { path: string }).path, ['127.0.0.1'], dir, 40_000);
    assert.match(r.out, /Received STARTDT_CON/, r.out);
    assert.match(r.out, /RECVD ASDU type: C_IC_NA_1/);
    assert.match(r.out, /RECVD ASDU type: C_SC_NA_1/);
    const records = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; outcome?: string; tls?: { version: string; cipher: string }; warning?: string });
    const acc = records.find((x) => x.kind === 'connection' && x.outcome === 'accepted');
    assert.equal(acc?.tls?.version, 'TLSv1.2');
    assert.equal(acc?.tls?.cipher, 'AES128-SHA256');
    assert.match(String(records.find((x) => x.kind === 'tls')?.warning), /no forward secrecy/);
    assert.ok(!records.some((x) => x.outcome === 'refused'), 'nothing refused');
  } finally {
    serve.kill('SIGTERM');
  }
});
