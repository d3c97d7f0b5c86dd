/**
 * TCP adapter over loopback (127.0.0.1, port 0): L40.. of docs/CONFORMANCE.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { VirtualClock } from '../../src/clock.js';
import type { Link } from '../../src/link/link.js';
import type { LinkCloseReason } from '../../src/link/types.js';
import { bindLink, connectTcp, listenTcp, TcpConnectTimeoutError } from '../../src/transport/tcp-link.js';
import { measured, U } from './helpers.js';

function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('timed out waiting'));
      setImmediate(tick);
    };
    tick();
  });
}

test('L40 two links over loopback exchange 50 000 I-frames each way, in order', async () => {
  const N = 50_000;
  const params = { k: 12, w: 8 };
  const got = { srv: [] as number[], cli: [] as number[] };
  const closes: LinkCloseReason[] = [];
  let srvLink: Link | undefined;
  const sender = (getLink: () => Link | undefined) => {
    let sent = 0;
    return {
      get sent() {
        return sent;
      },
      go() {
        const l = getLink();
        if (!l) return;
        while (sent < N && l.send(measured(sent, sent), sent)) sent++;
      },
    };
  };
  const srvSend = sender(() => srvLink);
  const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled', params } }, (conn) => {
    srvLink = conn.bind({
      asdu: (a) => got.srv.push(a.objects[0].ioa),
      stateChange: (s) => {
        if (s === 'started') srvSend.go();
      },
      drain: () => srvSend.go(),
      close: (r) => closes.push(r),
    });
  });
  const socket = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  let cliLink: Link | undefined;
  const cliSend = sender(() => cliLink);
  const acked: number[] = [];
  cliLink = bindLink(socket, { role: 'controlling', params }, {
    asdu: (a) => got.cli.push(a.objects[0].ioa),
    acknowledged: (tags) => {
      for (const t of tags) acked.push(t as number);
    },
    stateChange: (s) => {
      if (s === 'started') cliSend.go();
    },
    drain: () => cliSend.go(),
    close: (r) => closes.push(r),
  });
  cliLink.start();
  await waitFor(() => (got.srv.length === N && got.cli.length === N && acked.length === N) || closes.length > 0, 60_000);
  assert.equal(closes.length, 0, JSON.stringify(closes));
  assert.equal(got.srv.length, N);
  assert.equal(got.cli.length, N);
  for (let i = 0; i < N; i++) {
    if (got.srv[i] !== i || got.cli[i] !== i) assert.fail(`frame ${i} out of order: ${got.srv[i]} / ${got.cli[i]}`);
  }
  for (let i = 0; i < N; i++) if (acked[i] !== i) assert.fail(`ack ${i} out of order`);
  assert.equal(cliLink.snapshot().vs, N & 0x7fff);
  assert.equal(srvLink?.snapshot().vr, N & 0x7fff);
  assert.equal(server.links.size, 1);
  cliLink.close('done');
  await waitFor(() => closes.length === 2);
  assert.equal(closes[0].code, 'E_LOCAL');
  assert.equal(closes[1].code, 'E_PEER_CLOSED');
  assert.equal(server.links.size, 0);
  await server.close();
});

test('L41 connectTcp: refused connection rejects with the socket error; t0 bounds a connect that never completes', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await assert.rejects(connectTcp('127.0.0.1', port, { t0: 5_000 }), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  const clock = new VirtualClock();
  const never = new PassThrough();
  const p = connectTcp('127.0.0.1', 2404, { t0: 30_000, clock, connect: () => never });
  clock.advance(29_999);
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false);
  clock.advance(1);
  await assert.rejects(p, (e: unknown) => e instanceof TcpConnectTimeoutError && e.t0 === 30_000 && e.code === 'E_T0_TIMEOUT');
  assert.equal(never.destroyed, true);
  assert.equal(clock.pending, 0);
});

test('L42 transport closes -> E_PEER_CLOSED with unacknowledged tags; link errors destroy the socket', async () => {
  const closes: { reason: LinkCloseReason; un: unknown[] }[] = [];
  let serverSocket: net.Socket | undefined;
  const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' } }, (conn) => {
    serverSocket = conn.socket;
    conn.bind({ asdu() {}, close: (reason, un) => closes.push({ reason, un }) });
  });
  // a raw peer: STARTDT act, then malformed junk -> server link E_MALFORMED -> socket destroyed
  const raw = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  const received: Buffer[] = [];
  raw.on('data', (d: Buffer) => received.push(d));
  const rawClosed = new Promise<void>((r) => raw.once('close', () => r()));
  raw.write(U('STARTDT_ACT'));
  await waitFor(() => Buffer.concat(received).length >= 6);
  assert.equal(Buffer.concat(received).toString('hex'), '68040b000000');
  raw.write(Buffer.from('ff', 'hex'));
  await rawClosed;
  await waitFor(() => closes.length === 1);
  assert.equal(closes[0].reason.code, 'E_MALFORMED');
  assert.ok(serverSocket?.destroyed);

  // peer end with unacknowledged frames
  const cli = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  let link: Link | undefined;
  await waitFor(() => server.links.size === 1);
  const srvLink = [...server.links][0];
  const got: number[] = [];
  // eslint-disable-next-line prefer-const -- read by a callback inside its own initializer
  link = bindLink(cli, { role: 'controlling' }, { asdu: (a) => got.push(a.objects[0].ioa), close: (reason, un) => closes.push({ reason, un }) });
  link.start();
  await waitFor(() => srvLink.state === 'started');
  assert.equal(srvLink.send(measured(1), 'one'), true);
  await waitFor(() => got.length === 1);
  cli.destroy();
  await waitFor(() => closes.length === 3);
  const srvClose = closes.find((c) => c.un.length > 0);
  assert.equal(srvClose?.reason.code, 'E_PEER_CLOSED');
  assert.deepEqual(srvClose?.un, ['one']);
  await server.close();
});

test('L43 a handler that throws closes the link (E_LOCAL) instead of crashing', async () => {
  let closed: LinkCloseReason | undefined;
  const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' } }, (conn) => {
    conn.bind({
      asdu() {},
      stateChange(s) {
        if (s === 'started') throw new Error('boom');
      },
      close: (r) => (closed = r),
    });
  });
  const raw = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  raw.on('data', () => {});
  const rawClosed = new Promise<void>((r) => raw.once('close', () => r()));
  raw.write(U('STARTDT_ACT'));
  await waitFor(() => closed !== undefined);
  assert.equal(closed?.code, 'E_LOCAL');
  assert.match(closed?.message ?? '', /boom/);
  raw.end();
  await rawClosed;
  await server.close();
});

test('L44 write buffer limit: a peer that does not read -> E_BUFFER_LIMIT', () => {
  // a stream whose writes never complete
  const stuck = new Duplex({ read() {}, write(_c, _e, _cb) {} , highWaterMark: 16 });
  const closes: LinkCloseReason[] = [];
  const clock = new VirtualClock();
  const link = bindLink(stuck, { role: 'controlled', clock, params: { k: 100, w: 50 }, maxWriteBuffer: 200 }, { asdu() {}, close: (r) => closes.push(r) });
  stuck.push(U('STARTDT_ACT'));
  return new Promise<void>((resolve) => {
    setImmediate(() => {
      assert.equal(link.state, 'started');
      for (let i = 0; i < 20 && link.send(measured(i)); i++);
      queueMicrotask(() => {
        assert.equal(closes.length, 1);
        assert.equal(closes[0].code, 'E_BUFFER_LIMIT');
        assert.equal(stuck.destroyed, true);
        resolve();
      });
    });
  });
});

test('L45 listenTcp: an unbound connection is closed; maxConnections refuses extra connections once the started ones fill it', async () => {
  let n = 0;
  const server = await listenTcp({ host: '127.0.0.1', port: 0, link: { role: 'controlled' }, maxConnections: 1 }, (conn) => {
    n++;
    if (n === 1) return; // not bound
    conn.bind({ asdu() {}, close() {} });
  });
  const a = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  await new Promise<void>((r) => a.once('close', () => r()));
  const b = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  await waitFor(() => server.links.size === 1);
  b.write(Uint8Array.from([0x68, 0x04, 0x07, 0x00, 0x00, 0x00])); // STARTDT act: b takes the protected slot
  await waitFor(() => server.slots().protected === 1);
  const c = await connectTcp('127.0.0.1', server.port, { t0: 5_000 });
  await new Promise<void>((r) => c.once('close', () => r()));
  assert.equal(n, 2);
  assert.equal(server.links.size, 1);
  b.destroy();
  await waitFor(() => server.links.size === 0);
  await server.close();
});
