/**
 * Station listeners: several at once (plain + TLS), the start time-out on plain listeners by
 * default (virtual clock), and the configuration keys (listen list, tls, allow, roles, audit) with
 * path-named errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { VirtualClock } from '../../src/clock.js';
import { createStation } from '../../src/station/station.js';
import { StationConfigError, parseStationConfig } from '../../src/station/config.js';
import { makePki, waitFor } from '../transport/helpers.js';

const pki = await makePki();

test('listen twice: 2404-style plain and TLS listeners of one station, each with its own port; close one, the other stays', async () => {
  const station = createStation({ endOfInitialization: 'none', points: [{ ca: 1, ioa: 1, type: 1 }] });
  try {
    const plain = await station.listen({ host: '127.0.0.1', port: 0 });
    const secure = await station.listen({ host: '127.0.0.1', port: 0, tls: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert, crl: [pki.crl] } });
    assert.equal(plain.tls, false);
    assert.equal(secure.tls, true);
    assert.notEqual(plain.port, secure.port);
    assert.equal(station.listening().length, 2);
    await plain.close();
    assert.deepEqual(station.listening().map((l) => l.port), [secure.port]);
  } finally {
    await station.close();
  }
  assert.equal(station.listening().length, 0);
});

test('plain listener: a connection without STARTDT is closed after t0 by default (E_ACCESS_NO_STARTDT)', async () => {
  const clock = new VirtualClock();
  const station = createStation({ endOfInitialization: 'none', clock, link: { t0: 5_000 }, points: [{ ca: 1, ioa: 1, type: 1 }] });
  try {
    const l = await station.listen({ host: '127.0.0.1', port: 0, allow: ['127.0.0.1'] });
    const sock = net.connect(l.port, '127.0.0.1');
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    await waitFor(() => station.sessions().length === 1);
    clock.advance(4_999);
    await new Promise((r) => setImmediate(r));
    assert.equal(station.sessions().length, 1, 'still open before t0');
    clock.advance(1);
    await waitFor(() => closed);
    assert.equal(station.security.count('E_ACCESS_NO_STARTDT'), 1);
  } finally {
    await station.close();
  }
});

test('config: listen list with tls/allow/maxConnections, roles, defaultRole, audit; errors name the path', () => {
  const cfg = parseStationConfig(`
listen:
  - { host: 127.0.0.1, port: 2404, allow: [127.0.0.0/8], maxConnections: 2 }
  - { host: 127.0.0.1, tls: { cert: pki/server.crt, key: pki/server.key, ca: pki/ca.crt, crl: [pki/ca.crl] } }
roles:
  - { match: { subject: scada-1 }, role: control, commands: [{ types: [C_SC_NA_1, 46], ca: [1], ioa: [[5000, 5099], 6000] }] }
defaultRole: monitor
audit: audit.jsonl
`);
  assert.equal(cfg.listeners.length, 2);
  assert.deepEqual(cfg.listen, { host: '127.0.0.1', port: 2404, allow: ['127.0.0.0/8'], maxConnections: 2 });
  assert.equal(cfg.listeners[1].port, 19998, 'TLS listeners default to 19998');
  assert.deepEqual(cfg.listeners[1].tls, { cert: 'pki/server.crt', key: 'pki/server.key', ca: ['pki/ca.crt'], crl: ['pki/ca.crl'] });
  assert.deepEqual(cfg.station.roles?.[0].commands, [{ types: [45, 46], ca: [1], ioa: [[5000, 5099], [6000, 6000]] }]);
  assert.equal(cfg.station.defaultRole, 'monitor');
  assert.equal(cfg.audit, 'audit.jsonl');
  const bad = (yaml: string, path: RegExp): void => {
    assert.throws(() => parseStationConfig(yaml), (e: unknown) => e instanceof StationConfigError && path.test(e.message), yaml);
  };
  bad('listen: [{ tls: { cert: a } }]\n', /^listen\[0\]\.tls\.key: expected a string/);
  bad('listen: { allow: [1] }\n', /^listen\.allow\[0\]: expected a string/);
  bad('roles: [{ match: {}, role: admin }]\n', /^roles\[0\]\.role: expected one of monitor, control/);
  bad('roles: [{ match: { address: [10.0.0.0/40] }, role: monitor }]\n', /^roles\[0\]\.match\.address: allow rule/);
  bad('roles: [{ match: {}, role: control, commands: [{ types: [M_SP_NA_1] }] }]\n', /^roles\[0\]\.commands\[0\]\.types\[0\]: M_SP_NA_1 is not a command type/);
  bad('roles: [{ match: { subject: "/(/" }, role: monitor }]\n', /^roles\[0\]\.match\.subject: invalid regular expression/);
  bad('defaultRole: { role: control, commands: [{ ioa: [[9, 1]] }] }\n', /^defaultRole\.commands\[0\]\.ioa\[0\]: from 9 is greater than to 1/);
  // the original single-listener shape is unchanged
  assert.deepEqual(parseStationConfig('listen: { host: 127.0.0.1, port: 0 }\n').listen, { host: '127.0.0.1', port: 0 });
});

test('a redundancy standby that stays stopped but sends TESTFR is not closed by the no-STARTDT timeout; a silent one is', async () => {
  const clock = new VirtualClock();
  const station = createStation({ clock, endOfInitialization: 'none' });
  const l = await station.listen({ host: '127.0.0.1', port: 0, startTimeout: 1000 });
  const port = l.port;
  const open = (): Promise<net.Socket> => new Promise((res, rej) => {
    const s = net.connect(port, '127.0.0.1', () => res(s));
    s.once('error', rej);
  });
  const standby = await open();
  const silent = await open();
  const closed = (s: net.Socket) => new Promise<boolean>((res) => {
    if (s.destroyed) res(true);
    s.once('close', () => res(true));
  });
  const silentClosed = closed(silent);
  let standbyClosed = false;
  standby.once('close', () => { standbyClosed = true; });
  let conBytes = 0;
  standby.on('data', (d: Buffer) => { conBytes += d.length; }); // TESTFR con answers, 6 octets each
  await waitFor(() => station.sessions().length === 2); // the station bound both connections
  for (let i = 1; i <= 5; i++) {
    standby.write(Uint8Array.from([0x68, 0x04, 0x43, 0x00, 0x00, 0x00]));
    await waitFor(() => conBytes >= 6 * i); // the station answered this TESTFR act
    clock.advance(600);
  }
  assert.equal(await silentClosed, true, 'the silent connection is closed');
  assert.equal(station.sessions().length, 1, 'only the standby is left');
  assert.equal(standbyClosed, false, 'the TESTFR-sending standby stays connected after 3000 ms > startTimeout');
  standby.destroy();
  await station.close();
});
