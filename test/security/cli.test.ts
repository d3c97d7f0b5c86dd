/**
 * `iec104 serve --tls` + `iec104 connect --tls` / `iec104 command --tls` in-process over loopback
 * with the test PKI: mutual TLS session with data, a client without certificate refused
 * (E_TLS_NO_CLIENT_CERT in the audit file), allow-list refusal, connection limit, roles file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServe } from '../../src/cli/serve.js';
import { runConnect } from '../../src/cli/connect.js';
import { runCommandSend } from '../../src/cli/command-send.js';
import type { StationListener } from '../../src/station/station.js';
import { makePki, waitFor } from '../transport/helpers.js';

const pki = await makePki();
const dir = mkdtempSync(join(tmpdir(), 'iec104-security-cli-'));
const CONFIG = join(dir, 'rtu.yaml');
writeFileSync(CONFIG, `
station: { endOfInitialization: none, cyclicPeriodMs: 0 }
points:
  - { ca: 1, ioa: 1001, type: M_DP_NA_1, value: 2 }
  - { ca: 1, ioa: 2001, type: M_ME_NC_1, value: 230.5 }
commands:
  - { ca: 1, ioa: 5001, type: C_SC_NA_1, mode: direct }
  - { ca: 1, ioa: 6001, type: C_SC_NA_1, mode: direct }
`);

const sink = (): { write(s: string): boolean; text: () => string } => {
  let t = '';
  return { write: (s: string) => ((t += s), true), text: () => t };
};

interface Served {
  port: number;
  stderr: ReturnType<typeof sink>;
  stop(): Promise<number>;
}

async function serve(args: string[]): Promise<Served> {
  const ac = new AbortController();
  const stderr = sink();
  let listeners: StationListener[] = [];
  const exit = runServe([CONFIG, '--host', '127.0.0.1', '--port', '0', '--no-simulate', '--log-level', 'warn', '--log-format', 'json', ...args], {
    stdout: sink(), stderr, signal: ac.signal, onListening: (l) => (listeners = l),
  });
  await Promise.race([waitFor(() => listeners.length > 0), exit.then((c) => assert.fail(`serve exited ${c}: ${stderr.text()}`))]);
  return { port: listeners[0].port, stderr, stop: () => (ac.abort(), exit) };
}

const auditOf = (file: string): Record<string, unknown>[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];

const clientTlsArgs = ['--tls', '--cert', pki.leaves.client.cert, '--key', pki.leaves.client.key, '--tls-ca', pki.ca.cert];

test('serve --tls + connect --tls: mutual TLS session, interrogation data flows; a client without certificate is refused with E_TLS_NO_CLIENT_CERT in the audit file', async () => {
  const audit = join(dir, 'audit-tls.jsonl');
  const s = await serve(['--tls', '--cert', pki.leaves.server.cert, '--key', pki.leaves.server.key, '--ca', pki.ca.cert, '--crl', pki.crl, '--audit', audit]);
  try {
    const out = sink();
    const err = sink();
    const ac = new AbortController();
    const run = runConnect(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--json', ...clientTlsArgs], { stdout: out, stderr: err, isTTY: false, signal: ac.signal });
    // point records (confirmations, terminations and the interrogation outcome carry a `kind`)
    const points = (): Array<{ ioa: number; value: unknown }> =>
      out.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { ioa: number; value: unknown; kind?: string }).filter((o) => o.kind === undefined);
    await waitFor(() => points().length >= 2 || /failed|disconnected/.test(err.text()));
    ac.abort();
    assert.equal(await run, 0, err.text());
    assert.deepEqual(points().map((o) => o.ioa).sort(), [1001, 2001]);
    assert.match(err.text(), /data transfer started/);

    // a TLS client without a certificate
    const raw = tls.connect({ host: '127.0.0.1', port: s.port, ca: readFileSync(pki.ca.cert), servername: 'localhost' });
    raw.on('error', () => {});
    await new Promise<void>((res) => raw.once('close', () => res()));
    await waitFor(() => auditOf(audit).some((r) => r.code === 'E_TLS_NO_CLIENT_CERT'));
    const recs = auditOf(audit);
    const accepted = recs.find((r) => r.kind === 'connection' && r.outcome === 'accepted') as { tls: { version: string }; peer: { subject: string } };
    assert.equal(accepted.peer.subject, 'CN=iec104 client, O=iec104 test PKI');
    assert.match(accepted.tls.version, /^TLSv1\.[23]$/);
    assert.ok(recs.some((r) => r.kind === 'link' && r.event === 'STARTDT'));
    const refused = recs.find((r) => r.code === 'E_TLS_NO_CLIENT_CERT')!;
    assert.equal(refused.outcome, 'refused');

    // command --tls: executed and audited on both sides
    const cmdAudit = join(dir, 'audit-cmd.jsonl');
    const cout = sink();
    const cerr = sink();
    const code = await runCommandSend(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--ioa', '5001', '--single', 'on', '--until', 'actterm', '--audit', cmdAudit, ...clientTlsArgs], { stdout: cout, stderr: cerr });
    assert.equal(code, 0, cerr.text());
    await waitFor(() => auditOf(audit).some((r) => r.kind === 'command'));
    const cmd = auditOf(audit).find((r) => r.kind === 'command')!;
    assert.equal(cmd.outcome, 'executed');
    assert.deepEqual(cmd.target, { ca: 1, ioa: 5001, typeId: 45 });
    assert.deepEqual(auditOf(cmdAudit).map((r) => r.outcome), ['executed']);
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('connect --tls with a certificate of another CA is refused: exit 5', async () => {
  const audit = join(dir, 'audit-other.jsonl');
  const s = await serve(['--tls', '--cert', pki.leaves.server.cert, '--key', pki.leaves.server.key, '--ca', pki.ca.cert, '--audit', audit]);
  try {
    const err = sink();
    const code = await runCommandSend(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--ioa', '5001', '--single', 'on', '--tls', '--cert', pki.leaves.otherClient.cert, '--key', pki.leaves.otherClient.key, '--tls-ca', pki.ca.cert, '--t0', '5000'], { stdout: sink(), stderr: err });
    assert.equal(code, 5, err.text());
    await waitFor(() => auditOf(audit).some((r) => r.outcome === 'refused'));
    assert.equal(auditOf(audit).find((r) => r.outcome === 'refused')!.code, 'E_TLS_UNKNOWN_CA');
  } finally {
    await s.stop();
  }
});

test('serve --allow: a source outside the list is refused (E_ACCESS_SOURCE), command exits 5', async () => {
  const audit = join(dir, 'audit-allow.jsonl');
  const s = await serve(['--allow', '10.0.0.0/8', '--audit', audit]);
  try {
    const code = await runCommandSend(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--ioa', '5001', '--single', 'on'], { stdout: sink(), stderr: sink() });
    assert.equal(code, 5);
    await waitFor(() => auditOf(audit).length > 0);
    const r = auditOf(audit)[0];
    assert.equal(r.outcome, 'refused');
    assert.equal(r.code, 'E_ACCESS_SOURCE');
    assert.doesNotMatch(s.stderr.text(), /without --allow/);
  } finally {
    await s.stop();
  }
});

test('serve --max-connections 1: with the started connection holding the slot, the second connection is refused (E_ACCESS_LIMIT); plain TCP on 0.0.0.0 without --allow warns', async () => {
  const audit = join(dir, 'audit-limit.jsonl');
  const s = await serve(['--max-connections', '1', '--audit', audit]);
  try {
    const first = net.connect(s.port, '127.0.0.1');
    await new Promise<void>((res) => first.once('connect', () => res()));
    first.on('data', () => {});
    first.write(Uint8Array.from([0x68, 0x04, 0x07, 0x00, 0x00, 0x00])); // STARTDT act: a started connection holds the protected slot
    await waitFor(() => auditOf(audit).some((r) => r.event === 'STARTDT'));
    const code = await runCommandSend(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--ioa', '5001', '--single', 'on'], { stdout: sink(), stderr: sink() });
    assert.equal(code, 5);
    await waitFor(() => auditOf(audit).some((r) => r.code === 'E_ACCESS_LIMIT'));
    first.destroy();
  } finally {
    await s.stop();
  }
  // the warning for plain TCP without an allow-list on a non-loopback address (--check: nothing listens)
  const err = sink();
  const code = await runServe([CONFIG, '--host', '0.0.0.0', '--port', '2404', '--log-level', 'error', '--check'], { stdout: sink(), stderr: err });
  assert.equal(code, 0);
  assert.match(err.text(), /warning: plain IEC 104 \(no TLS\) on 0\.0\.0\.0:2404 without --allow/);
  const quiet = sink();
  assert.equal(await runServe([CONFIG, '--host', '0.0.0.0', '--allow', '10.0.0.0/8', '--log-level', 'error', '--check'], { stdout: sink(), stderr: quiet }), 0);
  assert.doesNotMatch(quiet.text(), /warning/);
});

test('serve --roles FILE: a monitor-only master (matched by certificate subject) gets exit 3 (negative ACT_CON); the control IOA range is enforced', async () => {
  const roles = join(dir, 'roles.yaml');
  writeFileSync(roles, `
roles:
  - match: { subject: iec104 client }
    role: control
    commands: [{ types: [C_SC_NA_1], ca: [1], ioa: [[5000, 5099]] }]
  - match: { subject: iec104 other-client }
    role: monitor
defaultRole: monitor
`);
  const audit = join(dir, 'audit-roles.jsonl');
  const s = await serve(['--tls', '--cert', pki.leaves.server.cert, '--key', pki.leaves.server.key, '--ca', pki.ca.cert, '--roles', roles, '--audit', audit]);
  try {
    const ok = await runCommandSend(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--ioa', '5001', '--single', 'on', ...clientTlsArgs], { stdout: sink(), stderr: sink() });
    assert.equal(ok, 0);
    const out = sink();
    const outside = await runCommandSend(['127.0.0.1', '--port', String(s.port), '--ca', '1', '--ioa', '6001', '--single', 'on', '--json', ...clientTlsArgs], { stdout: out, stderr: sink() });
    assert.equal(outside, 3);
    const j = JSON.parse(out.text()) as { cot: number; pn: boolean };
    assert.equal(j.cot, 7);
    assert.equal(j.pn, true);
    await waitFor(() => auditOf(audit).filter((r) => r.kind === 'command').length === 2);
    assert.deepEqual(auditOf(audit).filter((r) => r.kind === 'command').map((r) => r.outcome), ['executed', 'rejected']);
  } finally {
    await s.stop();
  }
  // an invalid roles file: exit 2 with the path
  const bad = join(dir, 'bad-roles.yaml');
  writeFileSync(bad, 'roles:\n  - { match: { address: [300.1.1.1] }, role: control }\n');
  const err = sink();
  assert.equal(await runServe([CONFIG, '--roles', bad, '--check'], { stdout: sink(), stderr: err }), 2);
  assert.match(err.text(), /roles\[0\]\.match\.address/);
});

test('usage errors: TLS flags without --tls, --tls without certificate', async () => {
  const err = sink();
  assert.equal(await runServe([CONFIG, '--cert', 'x.crt'], { stdout: sink(), stderr: err }), 2);
  assert.match(err.text(), /--cert needs --tls/);
  const err2 = sink();
  assert.equal(await runServe([CONFIG, '--tls', '--cert', 'x.crt'], { stdout: sink(), stderr: err2 }), 2);
  assert.match(err2.text(), /--tls needs --key, --ca/);
  const err3 = sink();
  assert.equal(await runConnect(['127.0.0.1', '--tls'], { stdout: sink(), stderr: err3, isTTY: false }), 2);
  assert.match(err3.text(), /--tls needs --cert, --key, --tls-ca/);
});
