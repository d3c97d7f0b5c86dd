/** The controlling station against the controlled station of src/station, over loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStation } from '../../src/station/station.js';
import { ControllingStation } from '../../src/master/master.js';
import { NegativeConfirmationError } from '../../src/master/errors.js';
import { tcpConnector } from '../../src/master/tcp.js';

test('e2e with the controlled station: GI, read, SBO command with feedback, refused command, clock sync', async () => {
  const station = createStation({
    points: [
      { ca: 1, ioa: 100, type: 13, value: 49.5 },
      { ca: 1, ioa: 200, type: 1, value: false },
    ],
    commands: [
      { ca: 1, ioa: 5000, type: 45, behaviour: { feedback: { ioa: 200 } } },
      { ca: 1, ioa: 5001, type: 45, behaviour: { result: 'reject' } },
    ],
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, pointImage: true });
  try {
    await master.connect();
    const gi = await master.interrogation(1);
    const byIoa = new Map(gi.objects.map((o) => [o.ioa, o.value]));
    assert.equal(byIoa.get(100), 49.5);
    assert.equal(byIoa.get(200), false);
    const rd = await master.read(1, 100);
    assert.equal(rd.value.value, 49.5);
    const cmd = await master.single(1, 5000, true, { sbo: true, until: 'actterm' });
    assert.equal(cmd.select?.confirmation?.negative, false);
    assert.equal(cmd.termination?.cot, 10);
    // feedback arrives as monitor data
    for (let i = 0; i < 50 && master.points?.get(1, 200)?.value !== true; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(master.points?.get(1, 200)?.value, true);
    await assert.rejects(master.single(1, 5001, true), NegativeConfirmationError);
    await assert.rejects(master.single(1, 4242, true), (e: unknown) => e instanceof NegativeConfirmationError && e.cot === 47);
    const cs = await master.clockSync(1);
    assert.equal(cs.confirmation?.cot, 7);
  } finally {
    await master.close();
    await station.close();
  }
});
