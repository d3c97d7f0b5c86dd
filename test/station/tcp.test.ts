/** The station over real loopback sockets (TCP adapter on both sides). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import type { Link } from '../../src/link/link.js';
import { createStation, type ControlledStation } from '../../src/station/station.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';
import { asdu, brief } from './helpers.js';

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function master(port: number): Promise<{ link: Link; got: Asdu[]; closed: () => boolean }> {
  const socket = await connectTcp('127.0.0.1', port, { t0: 2000 });
  const got: Asdu[] = [];
  let closed = false;
  const link = bindLink(socket, { role: 'controlling' }, {
    asdu: (a) => {
      delete a.warnings;
      got.push(a);
    },
    close: () => {
      closed = true;
    },
  });
  link.start();
  await until(() => link.state === 'started');
  return { link, got, closed: () => closed };
}

function station(): ControlledStation {
  return createStation({
    points: [
      { ca: 1, ioa: 1, type: 31, value: 2 },
      { ca: 1, ioa: 2, type: 36, value: 230.5, cyclic: true },
    ],
    commands: [{ ca: 1, ioa: 100, type: 46, mode: 'direct', behaviour: { feedback: { ioa: 1 } } }],
    cyclicPeriodMs: 0,
  });
}

test('loopback: listen on port 0, STARTDT, M_EI_NA_1, GI, command, spontaneous event', async () => {
  const s = station();
  const { port } = await s.listen({ host: '127.0.0.1', port: 0 });
  assert.ok(port > 0);
  try {
    const m = await master(port);
    await until(() => m.got.length >= 1);
    assert.deepEqual(m.got.map(brief), ['70/4@1:1']);
    m.link.send(asdu(100, 6, 1, [{ ioa: 0, qoi: 20 }]));
    await until(() => m.got.some((a) => a.typeId === 100 && a.cot === 10));
    assert.deepEqual(m.got.slice(1).map(brief), ['100/7@1:1', '3/20@1:1', '13/20@1:1', '100/10@1:1']);
    m.link.send(asdu(46, 6, 1, [{ ioa: 100, value: 1, select: false, qu: 0 }]));
    await until(() => m.got.some((a) => a.typeId === 46 && a.cot === 10));
    assert.deepEqual(m.got.slice(5).map(brief), ['46/7@1:1', '31/11@1:1', '46/10@1:1']);
    s.update(1, 2, 231.25);
    await until(() => m.got.length === 9);
    assert.equal(m.got[8].objects[0].value, 231.25);
    const snap = s.stats().sessions[0];
    assert.equal(snap.link.state, 'started');
    assert.match(snap.remote ?? '', /^127\.0\.0\.1:\d+$/);
    m.link.close();
    await until(() => s.stats().sessions.length === 0);
  } finally {
    await s.close();
  }
});

test('loopback: events raised between connections are delivered to the next one', async () => {
  const s = station();
  const { port } = await s.listen({ host: '127.0.0.1', port: 0 });
  try {
    const a = await master(port);
    await until(() => a.got.length === 1);
    a.link.close();
    await until(() => s.stats().sessions.length === 0);
    s.update(1, 1, 1);
    s.update(1, 1, 2);
    const b = await master(port);
    await until(() => b.got.length >= 2);
    // the first master closed before acknowledging M_EI_NA_1 (w not reached, t2 not expired): it is sent again
    assert.deepEqual(b.got.map(brief), ['70/4@1:1', '31/3@1:2']);
    assert.deepEqual(b.got[1].objects.map((o) => o.value), [1, 2]);
    b.link.close();
  } finally {
    await s.close();
  }
});

test('loopback: station.close() closes connections', async () => {
  const s = station();
  const { port } = await s.listen({ host: '127.0.0.1', port: 0 });
  const m = await master(port);
  await s.close();
  await until(() => m.closed());
  assert.equal(m.link.state, 'closed');
});
