/**
 * The TLS profile from the command line (issues 10 item 7, 13): `serve --tls` / `connect --tls`
 * with an RSA PKI without subjectAltName, the TEST ONLY `--tls-test-invalid-cert` walkthrough of the
 * README (an expired own certificate refused by the station, the master told so without printing
 * "connected"), `connect --tls` against openssl s_server offering only AES128-SHA256, the shared
 * flags' values checked, and the FILE placeholders in the help texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';
import { runConnect } from '../../src/cli/connect.js';
import { command as connectCommand } from '../../src/cli/connect.js';
import { command as commandCommand } from '../../src/cli/command-send.js';
import { command as probeCommand } from '../../src/cli/probe.js';
import { command as serveCommand } from '../../src/cli/serve.js';
import type { StationListener } from '../../src/station/station.js';
import { createTestPki } from '../../src/transport/test-pki.js';
import { sServer } from '../transport/openssl.js';
import { waitFor } from '../transport/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iec104-tls-profile-cli-'));
const pki = await createTestPki(join(dir, 'pki'), { keyType: 'rsa', san: false });
const L = pki.leaves;
const CONFIG = join(dir, 'rtu.yaml');
writeFileSync(CONFIG, `
station: { endOfInitialization: none, cyclicPeriodMs: 0 }
points:
  - { ca: 1, ioa: 2001, type: M_ME_NC_1, value: 230.5 }
`);

const sink = (): { write(s: string): boolean; text: () => string } => {
  let t = '';
  return { write: (s: string) => ((t += s), true), text: () => t };
};

async function serve(args: string[]): Promise<{ port: number; stop(): Promise<number> }> {
  const ac = new AbortController();
  const stderr = sink();
  let listeners: StationListener[] = [];
  const exit = runServe([CONFIG, '--host', '127.0.0.1', '--port', '0', '--no-simulate', '--log-level', 'warn', '--log-format', 'json', ...args], {
    stdout: sink(), stderr, signal: ac.signal, onListening: (l) => (listeners = l),
  });
  await Promise.race([waitFor(() => listeners.length > 0), exit.then((c) => assert.fail(`serve exited ${c}: ${stderr.text()}`))]);
  return { port: listeners[0].port, stop: () => (ac.abort(), exit) };
}

const serverArgs = ['--tls', '--cert', L.server.cert, '--key', L.server.key, '--ca', pki.ca.cert];
const clientArgs = (leaf: 'client' | 'expired') => ['--tls', '--cert', L[leaf].cert, '--key', L[leaf].key, '--tls-ca', pki.ca.cert];

async function connect(args: string[], until: (out: string, err: string) => boolean): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const ac = new AbortController();
  const run = runConnect(['127.0.0.1', '--lines', ...args], { stdout: out, stderr: err, isTTY: false, signal: ac.signal });
  let done = false;
  void run.then(() => (done = true));
  await waitFor(() => done || until(out.text(), err.text()));
  ac.abort();
  return { code: await run, out: out.text(), err: err.text() };
}

test('serve --tls + connect --tls with RSA certificates without SAN, reached by IP, TLS 1.2 and the mandatory suite only: data flows, the suite is reported with its warning', async () => {
  const s = await serve([...serverArgs, '--tls-max-version', '1.2', '--tls-ciphers', 'AES128-SHA256']);
  try {
    const r = await connect(['--port', String(s.port), '--ca', '1', ...clientArgs('client')], (out) => /2001/.test(out));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /2001/);
    assert.match(r.err, /TLS session: TLSv1\.2 AES128-SHA256; WARNING no forward secrecy/);
  } finally {
    await s.stop();
  }
});

test('README walkthrough: connect --tls-test-invalid-cert with an expired certificate -> exit 5, "refused our certificate", never "connected"; the audit names E_TLS_CERT_EXPIRED', async () => {
  const audit = join(dir, 'audit-expired.jsonl');
  const s = await serve([...serverArgs, '--audit', audit]);
  try {
    const without = await connect(['--port', String(s.port), ...clientArgs('expired')], () => false);
    assert.equal(without.code, 2, 'without the TEST ONLY flag an expired own certificate is a configuration error');
    assert.match(without.err, /own certificate expired .*--tls-test-invalid-cert/);
    const r = await connect(['--port', String(s.port), '--ca', '1', ...clientArgs('expired'), '--tls-test-invalid-cert'], () => false);
    assert.equal(r.code, 5, r.err);
    assert.match(r.err, /E_TLS_CERT_REFUSED: the station closed the connection .*it most likely refused our certificate/);
    assert.doesNotMatch(r.err, /connected to/);
    await waitFor(() => readFileSync(audit, 'utf8').includes('E_TLS_CERT_EXPIRED'));
  } finally {
    await s.stop();
  }
});

test('connect --tls (defaults) against openssl s_server with TLS 1.2, AES128-SHA256 only, RSA without SAN: connected, STARTDT sent', async () => {
  const srv = await sServer(['-tls1_2', '-cipher', 'AES128-SHA256', '-cert', L.server.cert, '-key', L.server.key, '-CAfile', pki.ca.cert, '-Verify', '1', '-verify_return_error']);
  try {
    const r = await connect(['--port', String(srv.port), '--no-gi', ...clientArgs('client')], (_o, err) => /connected to/.test(err) && srv.out().includes(Buffer.from('680407000000', 'hex')));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /TLS session: TLSv1\.2 AES128-SHA256/);
  } finally {
    srv.kill();
  }
});

test('the shared TLS flags: bad values are usage errors (exit 2); help texts show FILE placeholders and the profile flags', async () => {
  for (const bad of [['--tls-min-version', '1.1'], ['--tls-max-version', 'x'], ['--tls-renegotiate', '0'], ['--tls-ciphers', 'RC4-SHA']]) {
    const r = await connect(['--port', '1', ...clientArgs('client'), ...bad], () => false);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.err}`);
  }
  const r = await connect(['--port', '1', '--tls-ciphers', 'AES128-SHA256'], () => false);
  assert.equal(r.code, 2);
  assert.match(r.err, /--tls-ciphers needs --tls/);
  for (const c of [connectCommand, commandCommand, probeCommand]) {
    for (const f of ['--tls-ca FILE', '--cert FILE', '--key FILE', '--crl FILE', '--tls-ciphers LIST', '--tls-min-version V', '--tls-max-version V', '--tls-servername NAME', '--peer-subject NAME', '--tls-renegotiate S', '--tls-test-invalid-cert']) assert.ok(c.help.includes(f), `${f} in ${c.help.slice(0, 40)}`);
  }
  for (const f of ['--ca FILE', '--tls-ciphers LIST', '--tls-min-version V', '--tls-renegotiate S']) assert.ok(serveCommand.help.includes(f), f);
});
