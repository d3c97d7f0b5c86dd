/** The controlling station over real loopback sockets (127.0.0.1, port 0), with the system clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Asdu } from '../../src/codec/asdu.js';
import { listenTcp, type TcpLinkServer } from '../../src/transport/tcp-link.js';
import type { Link } from '../../src/link/link.js';
import { ControllingStation } from '../../src/master/master.js';
import { MasterError, NegativeConfirmationError } from '../../src/master/errors.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { runCommandSend } from '../../src/cli/command-send.js';
import { mirror, monitor } from './harness.js';

/** A controlled station scripted at the ASDU level, on loopback. */
async function station(script: (a: Asdu, link: Link) => void): Promise<{ server: TcpLinkServer; links: Link[] }> {
  const links: Link[] = [];
  const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' } }, (conn) => {
    const link: Link = conn.bind({ asdu: (a) => script(a, link), close: () => {} });
    links.push(link);
  });
  return { server, links };
}

const polite = (a: Asdu, link: Link): void => {
  if (a.objects[0]?.ioa === 13) {
    link.send(mirror(a, 7, true));
    return;
  }
  link.send(mirror(a, 7));
  if (a.typeId === 100) link.send(monitor(13, a.ca, 20, [{ ioa: 1, value: 2.5 }, { ioa: 2, value: -1 }]));
  if (!a.objects[0]?.select) link.send(mirror(a, 10));
};

test('loopback: connect, interrogation, SBO command, negative command, close', async () => {
  const { server } = await station(polite);
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', server.port), reconnect: false, pointImage: true });
  const events: string[] = [];
  for (const e of ['connecting', 'connected', 'started', 'disconnected'] as const) master.on(e, () => events.push(e));
  await master.connect();
  const gi = await master.interrogation(1);
  assert.deepEqual(gi.objects.map((o) => o.value), [2.5, -1]);
  assert.ok((gi.rtt.actTerm ?? -1) >= (gi.rtt.actCon ?? Infinity));
  assert.equal(master.points?.get(1, 1)?.value, 2.5);
  const r = await master.double(1, 5000, 'on', { sbo: true, until: 'actterm', time: true });
  assert.equal(r.select?.confirmation?.typeId, 59);
  assert.equal(r.termination?.cot, 10);
  await assert.rejects(master.single(1, 13, true), NegativeConfirmationError);
  const snap = master.snapshot();
  assert.ok((snap.link?.counters.iOut ?? 0) >= 4);
  await master.close();
  assert.deepEqual(events, ['connecting', 'connected', 'started', 'disconnected']);
  await server.close();
});

test('loopback: connection refused fails connect() with E_CONNECT_FAILED', async () => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false });
  await assert.rejects(master.connect(), (e: unknown) => e instanceof MasterError && e.code === 'E_CONNECT_FAILED' && /ECONNREFUSED/.test(e.message));
  await master.close();
});

test('loopback: the master reconnects after the station drops the connection', async () => {
  const { server, links } = await station(polite);
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', server.port), reconnect: { min: 20, max: 100, jitter: 0 } });
  await master.connect();
  const restarted = new Promise<void>((resolve) => master.once('started', () => resolve()));
  const delays: number[] = [];
  master.on('reconnecting', (i) => delays.push(i.delay));
  links[0].close('station restart');
  await restarted;
  assert.deepEqual(delays, [20]);
  assert.equal(links.length, 2);
  const r = await master.single(1, 1, true);
  assert.equal(r.confirmation?.cot, 7);
  await master.close();
  await server.close();
});

test('loopback: iec104 command end to end (exit 0 and JSON round-trip times)', async () => {
  const { server } = await station(polite);
  let out = '';
  const code = await runCommandSend(['127.0.0.1', '--port', String(server.port), '--ca', '1', '--ioa', '77', '--setpoint-scaled', '-300', '--select', '--until', 'actterm', '--json'],
    { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} } });
  assert.equal(code, 0);
  const j = JSON.parse(out) as { outcome: string; rtt: { select: { actCon: number }; actCon: number; actTerm: number } };
  assert.equal(j.outcome, 'positive');
  assert.ok(j.rtt.select.actCon >= 0 && j.rtt.actTerm >= j.rtt.actCon);
  await server.close();
});
