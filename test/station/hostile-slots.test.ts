/**
 * Issue 11, item 4: connection slots. Started (plain) or authenticated (TLS) sessions hold
 * protected slots; connections that have not started or authenticated share a smaller pending
 * pool, limited per source address, from which the oldest is evicted when a new peer needs a slot
 * (E_ACCESS_EVICTED, audited). Before the fix, 8 plain peers that never sent STARTDT (but kept
 * the connection alive with TESTFR), or 8 stalled TLS handshakes, held all 8 slots and every master
 * was refused (E_ACCESS_LIMIT). Real sockets; the station runs on a VirtualClock, so no time-out
 * frees a slot: only the pools do. Peers use several loopback source addresses (127.0.0.x).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Asdu } from '../../src/codec/asdu.js';
import { VirtualClock } from '../../src/clock.js';
import type { Link } from '../../src/link/link.js';
import { createStation, type ControlledStation } from '../../src/station/station.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';
import { connectTls, TlsSecurity } from '../../src/transport/tls-verify.js';
import { makePki, waitFor } from '../transport/helpers.js';
import { asdu } from './helpers.js';

const pki = await makePki();
const TESTFR_ACT = Uint8Array.from([0x68, 4, 0x43, 0, 0, 0]);
/** The first octets of a TLS record carrying a ClientHello, then nothing: a handshake that never completes. */
const STALLED_HELLO = Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

function newStation(lines: string[]): ControlledStation {
  return createStation({
    clock: new VirtualClock(), points: [{ ca: 1, ioa: 1, type: 1 }], endOfInitialization: 'none', cyclicPeriodMs: 0,
    audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }),
  });
}

/** A peer from `source` that connects, writes `hello` and then holds the connection. */
async function holder(port: number, source: string, hello: Uint8Array, answer: boolean): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress: source });
  s.on('error', () => {});
  await new Promise<void>((res) => s.once('connect', () => res()));
  const got = answer ? new Promise<void>((res) => s.once('data', () => res())) : Promise.resolve();
  s.write(hello);
  await got;
  return s;
}

/** A good master: start, GI, wait for ACT_TERM. */
async function goodMaster(link: Link, got: Asdu[]): Promise<void> {
  link.start();
  await waitFor(() => link.state === 'started' || link.state === 'closed');
  assert.equal(link.state, 'started', 'the good master got STARTDT con');
  link.send(asdu(100, 6, 1, [{ ioa: 0, qoi: 20 }]));
  await waitFor(() => got.some((a) => a.typeId === 100 && a.cot === 10) || link.state === 'closed');
  assert.ok(got.some((a) => a.typeId === 100 && a.cot === 10), 'the good master got its interrogation answered');
}

const records = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('plain: 8 peers that never send STARTDT but send TESTFR do not lock out a master; the oldest pending is evicted; started sessions are never evicted', async () => {
  const lines: string[] = [];
  const station = newStation(lines);
  const l = await station.listen({ host: '127.0.0.1', port: 0 }); // defaults: 8 protected, 4 pending, 2 per source
  const peers: net.Socket[] = [];
  try {
    for (let i = 0; i < 8; i++) peers.push(await holder(l.port, `127.0.0.${11 + i}`, TESTFR_ACT, true));
    await waitFor(() => station.security.count('E_ACCESS_EVICTED') === 4);
    assert.deepEqual(l.server.slots(), { protected: 0, pending: 4 });
    await waitFor(() => peers.slice(0, 4).every((p) => p.destroyed || p.readableEnded));
    const got: Asdu[] = [];
    const link = bindLink(await connectTcp('127.0.0.1', l.port, { t0: 5000 }), { role: 'controlling' }, { asdu: (a) => got.push(a), close: () => {} });
    await goodMaster(link, got);
    assert.equal(station.security.count('E_ACCESS_EVICTED'), 5, 'the master evicted the oldest holder');
    assert.equal(station.security.count('E_ACCESS_LIMIT'), 0);
    assert.deepEqual(l.server.slots(), { protected: 1, pending: 3 });
    // 8 more holders: the started session keeps its slot and is served
    for (let i = 0; i < 8; i++) peers.push(await holder(l.port, `127.0.0.${31 + i}`, TESTFR_ACT, true));
    assert.equal(link.state, 'started');
    got.length = 0;
    link.send(asdu(100, 6, 1, [{ ioa: 0, qoi: 20 }]));
    await waitFor(() => got.some((a) => a.typeId === 100 && a.cot === 10));
    // per source: a third pending connection of one address evicts that address's oldest, not another's
    const before = station.security.count('E_ACCESS_EVICTED');
    const a1 = await holder(l.port, '127.0.0.99', TESTFR_ACT, true);
    const a2 = await holder(l.port, '127.0.0.99', TESTFR_ACT, true);
    await holder(l.port, '127.0.0.99', TESTFR_ACT, true).then((p) => peers.push(p));
    peers.push(a1, a2);
    await waitFor(() => station.security.count('E_ACCESS_EVICTED') === before + 3);
    const ev = records(lines).filter((r) => r.code === 'E_ACCESS_EVICTED');
    assert.equal(ev.at(-1)!.remoteAddress, '127.0.0.99', 'the source over its share lost its own oldest');
    assert.match(String(ev.at(-1)!.reason), /maxPendingPerSource \(2\)/);
    assert.equal(ev.at(-1)!.outcome, 'closed');
    await waitFor(() => a1.destroyed || a1.readableEnded);
    link.close();
  } finally {
    for (const p of peers) p.destroy();
    await station.close();
  }
});

test('TLS: 8 stalled certificate-less handshakes do not lock out a master with a valid certificate; authenticated sessions are protected', async () => {
  const lines: string[] = [];
  const station = newStation(lines);
  const l = await station.listen({ host: '127.0.0.1', port: 0, tls: { cert: pki.leaves.server.cert, key: pki.leaves.server.key, ca: pki.ca.cert, crl: [pki.crl] } });
  const peers: net.Socket[] = [];
  try {
    for (let i = 0; i < 8; i++) peers.push(await holder(l.port, `127.0.0.${51 + i}`, STALLED_HELLO, false));
    await waitFor(() => station.security.count('E_ACCESS_EVICTED') === 4);
    assert.deepEqual(l.server.slots(), { protected: 0, pending: 4 });
    const sec = new TlsSecurity({ cert: pki.leaves.client.cert, key: pki.leaves.client.key, ca: [pki.ca.cert] });
    const masters: Array<{ link: Link; got: Asdu[] }> = [];
    for (let i = 0; i < 3; i++) {
      const got: Asdu[] = [];
      const link = bindLink(await connectTls('127.0.0.1', l.port, sec, { t0: 5000 }), { role: 'controlling' }, { asdu: (a) => got.push(a), close: () => {} });
      await goodMaster(link, got);
      masters.push({ link, got });
    }
    assert.equal(station.security.count('E_ACCESS_LIMIT'), 0);
    assert.equal(l.server.slots().protected, 3);
    // the stalled handshakes keep coming: the authenticated masters stay
    for (let i = 0; i < 8; i++) peers.push(await holder(l.port, `127.0.0.${71 + i}`, STALLED_HELLO, false));
    await waitFor(() => station.security.count('E_ACCESS_EVICTED') >= 4 + 3 + 8 - 4);
    for (const m of masters) assert.equal(m.link.state, 'started');
    assert.ok(records(lines).some((r) => r.code === 'E_ACCESS_EVICTED' && r.outcome === 'closed'), 'evictions are audited');
    assert.equal(station.security.count('E_TLS_HANDSHAKE'), 0, 'an evicted handshake is not also reported as a handshake failure');
    for (const m of masters) m.link.close();
  } finally {
    for (const p of peers) p.destroy();
    await station.close();
  }
});
