/**
 * Per-client roles of the controlled station over real loopback mutual TLS: a monitor-only master's
 * command is refused (negative ACT_CON, COT 7, P/N=1) without reaching the handler, with a security
 * event and an audit record; a control master outside its IOA range likewise; inside it executes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog } from '../../src/transport/audit-log.js';
import { createStation } from '../../src/station/station.js';
import { ControllingStation } from '../../src/master/master.js';
import { NegativeConfirmationError } from '../../src/master/errors.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { AccessRoles, AccessRoleError } from '../../src/station/access-roles.js';
import type { StationCommand } from '../../src/station/commands.js';
import { makePki } from '../transport/helpers.js';

const pki = await makePki();

function records(lines: string[], kind: string): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === kind);
}

async function setup(roles: ConstructorParameters<typeof AccessRoles>[0], defaultRole: 'monitor' | 'control' = 'monitor') {
  const lines: string[] = [];
  const handled: StationCommand[] = [];
  const station = createStation({
    endOfInitialization: 'none',
    points: [{ ca: 1, ioa: 1001, type: 3, value: 1 }],
    commands: [
      { ca: 1, ioa: 5001, type: 46, mode: 'direct' },
      { ca: 1, ioa: 6001, type: 46, mode: 'direct' },
    ],
    roles, defaultRole,
    onCommand: (cmd) => {
      handled.push(cmd);
      return undefined;
    },
  });
  const listener = await station.listen({
    host: '127.0.0.1', port: 0,
    tls: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert, crl: [pki.crl] },
    audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }),
  });
  const masterLines: string[] = [];
  const master = new ControllingStation({
    connector: tcpConnector('127.0.0.1', listener.port, { tls: { cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: pki.ca.cert } }),
    reconnect: false,
    audit: new AuditLog({ sink: { write: (l) => masterLines.push(l) } }),
  });
  await master.connect();
  return { station, master, lines, masterLines, handled, listener };
}

test('monitor-only master: a command is refused with a negative ACT_CON (COT 7, P/N=1), the handler is not called, security event and audit record', async () => {
  const s = await setup([{ match: { subject: 'iec104 client' }, role: 'monitor', name: 'hmi' }]);
  try {
    const gi = await s.master.interrogation(1);
    assert.equal(gi.objects.length, 1, 'a monitor may interrogate');
    const err = await s.master.double(1, 5001, 'on').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NegativeConfirmationError, `expected a negative confirmation, got ${String(err)}`);
    assert.equal(err.cot, 7);
    assert.equal(err.asdu.negative, true);
    const sync = await s.master.clockSync(1).then(() => undefined, (e: unknown) => e);
    assert.ok(sync instanceof NegativeConfirmationError, 'C_CS_NA_1 changes state: refused too');
    assert.equal(s.handled.length, 0, 'the command handler must not be called');
    assert.equal(s.station.security.count('E_ACCESS_ROLE'), 2);
    const cmds = records(s.lines, 'command');
    assert.equal(cmds.length, 2, s.lines.join('\n'));
    assert.equal(cmds[0].outcome, 'rejected');
    assert.deepEqual(cmds[0].target, { ca: 1, ioa: 5001, typeId: 46 });
    assert.match(String(cmds[0].reason), /role monitor \(hmi\) may not send C_DC_NA_1/);
    assert.equal((cmds[0].source as { subject: string }).subject, 'CN=iec104 client, O=iec104 test PKI');
    assert.equal(cmds[1].outcome, 'rejected');
    assert.equal((cmds[1].target as { typeId: number }).typeId, 103);
    // master side audit: the same two commands, rejected
    const sent = records(s.masterLines, 'command');
    assert.deepEqual(sent.map((r) => r.outcome), ['rejected', 'rejected']);
  } finally {
    await s.master.close();
    await s.station.close();
  }
});

test('control master limited to IOA 5000..5099: IOA 6001 refused (COT 7, P/N=1), IOA 5001 executed and audited', async () => {
  const s = await setup([{ match: { subject: '/^iec104 cli/', address: ['127.0.0.0/8'] }, role: 'control', commands: [{ types: [46], ca: [1], ioa: [[5000, 5099]] }] }]);
  try {
    const err = await s.master.double(1, 6001, 'on').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NegativeConfirmationError);
    assert.equal(err.cot, 7);
    assert.equal(err.asdu.negative, true);
    assert.equal(s.handled.length, 0);
    const ok = await s.master.double(1, 5001, 'on', { until: 'actterm' });
    assert.equal(ok.termination?.cot, 10);
    assert.equal(s.handled.length, 1);
    assert.equal(s.handled[0].ioa, 5001);
    const cmds = records(s.lines, 'command');
    assert.deepEqual(cmds.map((r) => [(r.target as { ioa: number }).ioa, r.outcome]), [[6001, 'rejected'], [5001, 'executed']]);
    assert.match(String(cmds[0].reason), /outside the permitted command scope/);
    assert.equal(s.station.security.count('E_ACCESS_ROLE'), 1);
    assert.deepEqual(records(s.masterLines, 'command').map((r) => r.outcome), ['rejected', 'executed']);
  } finally {
    await s.master.close();
    await s.station.close();
  }
});

test('no matching rule: the default role applies (monitor unless configured)', async () => {
  const s = await setup([{ match: { fingerprint256: pki.leaves.otherClient.fingerprint256 }, role: 'control' }]);
  try {
    const err = await s.master.double(1, 5001, 'on').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NegativeConfirmationError);
    assert.equal(s.handled.length, 0);
  } finally {
    await s.master.close();
    await s.station.close();
  }
  const c = await setup([{ match: { fingerprint256: pki.leaves.client.fingerprint256 }, role: 'control' }]);
  try {
    const r = await c.master.double(1, 5001, 'on');
    assert.equal(r.confirmation?.negative, false);
    assert.equal(c.handled.length, 1);
  } finally {
    await c.master.close();
    await c.station.close();
  }
});

test('invalid role rules are refused with the rule path', () => {
  assert.throws(() => new AccessRoles([{ match: { address: ['10.0.0.0/99'] }, role: 'control' }]), (e: unknown) => e instanceof AccessRoleError && e.path === 'roles[0].match.address');
  assert.throws(() => new AccessRoles([{ match: {}, role: 'monitor', commands: [{}] }]), (e: unknown) => e instanceof AccessRoleError && e.path === 'roles[0].commands');
  assert.throws(() => new AccessRoles([{ match: {}, role: 'control', commands: [{ ioa: [[10, 5]] }] }]), (e: unknown) => e instanceof AccessRoleError && e.path === 'roles[0].commands[0].ioa[0]');
  assert.throws(() => createStation({ roles: [{ match: { fingerprint256: 'nope' }, role: 'control' }] }), /roles\[0\]\.match\.fingerprint256/);
});
