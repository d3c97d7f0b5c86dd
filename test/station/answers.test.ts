/**
 * CONFORMANCE A01: a station never answers an answer. An ASDU with P/N=1, a cause 7, 9, 10 or
 * 44..47, or of a monitor-direction type arriving at the controlled station is counted, logged
 * once per connection and kind, and never answered; our master answers nothing either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { createStation } from '../../src/station/station.js';
import { mirrorClient, mirrorServer } from '../helpers/mirror-peer.js';
import { asdu, brief, fakeStation } from './helpers.js';

const points = [{ ca: 1, ioa: 10, type: 1 }, { ca: 1, ioa: 11, type: 13, value: 1.5 }];
const commands = [{ ca: 1, ioa: 500, type: 45 }];

test('A01 answers are not answered: P/N=1, COT 7, 9, 10, 44..47 and monitor-direction types are counted, logged once per kind', () => {
  const h = fakeStation({ points, commands });
  const m = h.started();
  const gi = [{ ioa: 0, qoi: 20 }];
  const sc = [{ ioa: 500, value: true, select: false, qu: 0 }];
  m.deliver(asdu(100, 6, 1, gi, { negative: true })); // a request with P/N=1
  m.deliver(asdu(100, 7, 1, gi)); // confirmation
  m.deliver(asdu(45, 7, 1, sc, { negative: true }));
  m.deliver(asdu(45, 9, 1, sc)); // deactivation confirmation
  m.deliver(asdu(100, 10, 1, gi)); // termination
  for (const cot of [44, 45, 46, 47]) m.deliver(asdu(45, cot, 1, sc)); // mirrors
  m.deliver(asdu(200, 44, 1, [], { raw: Uint8Array.from([1, 0, 0, 5]), rawCount: 1 })); // mirror of an unknown type
  m.deliver(asdu(1, 3, 1, [{ ioa: 10, value: true }])); // monitor direction
  m.deliver(asdu(70, 4, 1, [{ ioa: 0, cause: 0, localChange: false }]));
  m.deliver(asdu(13, 44, 9, [{ ioa: 11, value: 1.5 }])); // mirror of our own data, unknown CA too
  assert.deepEqual(m.take().map(brief), [], 'nothing answered');
  const c = h.station.stats().sessions[0].counters;
  assert.equal(c.answersIgnored, 13);
  assert.deepEqual([c.negative, c.unknownType, c.unknownCause, c.unknownCa, c.unknownIoa, c.commands], [0, 0, 0, 0, 0, 0]);
  const lines = h.logs.filter((l) => l.event === 'station.answer.ignored');
  assert.deepEqual(lines.map((l) => l.kind), ['negative', 'confirmation', 'termination', 'mirror', 'monitor-type']);
  assert.match(String(lines[0].msg), /P\/N=1.*not answered/);
  // requests are still served after the ignored answers
  m.deliver(asdu(100, 6, 1, gi));
  assert.deepEqual(m.take().map(brief), ['100/7@1:1', '1/20@1:1', '13/20@1:1', '100/10@1:1']);
  // a second connection logs again (once per connection and kind)
  const m2 = h.started();
  m2.deliver(asdu(45, 44, 1, sc));
  m2.deliver(asdu(45, 44, 1, sc));
  assert.deepEqual(m2.take(), []);
  assert.equal(h.logs.filter((l) => l.event === 'station.answer.ignored').length, 6);
});

test('A01 requests the station cannot serve are still refused (44..47 with P/N=1)', () => {
  const h = fakeStation({ points, commands });
  const m = h.started();
  m.deliver(asdu(106, 6, 1, [{ ioa: 0, delay: 5 }])); // C_CD_NA_1 (101 only): unknown type
  m.deliver(asdu(100, 3, 1, [{ ioa: 0, qoi: 20 }])); // GI with COT 3: unknown cause
  assert.deepEqual(m.take().map(brief), ['106/44-@1:1', '100/45-@1:1']);
});

test('A01 audit: a mirrored command is not tracked as a command (no "unanswered" record at close)', () => {
  const lines: string[] = [];
  const h = fakeStation({ points, commands, audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }) });
  const m = h.started();
  m.deliver(asdu(45, 44, 1, [{ ioa: 500, value: true, select: false, qu: 0 }]));
  m.deliver(asdu(45, 7, 1, [{ ioa: 500, value: true, select: false, qu: 0 }]));
  m.drop();
  assert.deepEqual(lines.map((l) => JSON.parse(l) as { kind?: string; type?: string }).filter((r) => JSON.stringify(r).includes('"outcome"')), []);
});

test('A01 over TCP: a raw peer that mirrors every I-frame with COT 44 gets the GI once, then silence', async () => {
  const station = createStation({ points, commands, cyclicPeriodMs: 0, endOfInitialization: 'none' });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const peer = await mirrorClient(port);
  try {
    await peer.started;
    peer.send(asdu(100, 6, 1, [{ ioa: 0, qoi: 20 }]));
    // two barriers: the GI answer arrives before the first TESTFR con, our mirrors of it are
    // processed before the second; any answer to a mirror would have been sent before that
    await peer.barrier();
    await peer.barrier();
    assert.deepEqual(peer.received.map(brief), ['100/7@1:1', '1/20@1:1', '13/20@1:1', '100/10@1:1']);
    assert.equal(peer.mirrored, 4);
    assert.equal(station.stats().sessions[0].counters.answersIgnored, 4);
    assert.equal(station.stats().sessions[0].counters.negative, 0);
  } finally {
    peer.close();
    await station.close();
  }
});

test('A01 master: a raw station mirroring every request with COT 44 and sending unsolicited answers gets no answer back', async () => {
  const { server, port, peer: peerP } = await mirrorServer();
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, requestTimeout: 3000, terminationTimeout: 3000 });
  try {
    await master.connect();
    const peer = await peerP;
    await peer.started;
    await assert.rejects(master.interrogation(1), (e: Error) => /44|unknown type|refused/i.test(e.message));
    // unsolicited answers and a negative ASDU from the "station"
    peer.send(asdu(45, 7, 1, [{ ioa: 500, value: true, select: false, qu: 0 }]));
    peer.send(asdu(45, 10, 1, [{ ioa: 500, value: true, select: false, qu: 0 }]));
    peer.send(asdu(100, 47, 1, [{ ioa: 0, qoi: 20 }], { negative: true }));
    peer.send(asdu(13, 3, 1, [{ ioa: 11, value: 1.5 }], { negative: true }));
    await peer.barrier();
    await peer.barrier();
    assert.deepEqual(peer.received.map(brief), ['100/6@1:1'], 'the master sent its GI and nothing else');
  } finally {
    await master.close();
    server.close();
  }
});
