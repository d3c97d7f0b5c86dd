/**
 * The station's test-only misbehaviour reaches its sessions through one injected seam
 * (`StationOptions.testHooks`, built from `misbehave` by misbehave.ts): the production code of the
 * session and the station names no misbehaviour flag, and a hook injected directly is used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Asdu } from '../../src/codec/asdu.js';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';
import { misbehaviourHooks } from '../../src/station/misbehave.js';
import { createStation } from '../../src/station/station.js';

test('session.ts and station.ts name no misbehaviour flag (only the seam)', () => {
  for (const f of ['session.ts', 'station.ts']) {
    const src = readFileSync(new URL(`../../src/station/${f}`, import.meta.url), 'utf8');
    for (const flag of ['ignoreSelect', 'noActTerm', 'slowAcks', 'acceptStale', 'unknownIoaPositive', 'noActCon', 'misbehaviourWithholds', 'slowAckDelay']) {
      assert.ok(!src.includes(flag), `${f} mentions ${flag}`);
    }
  }
});

test('misbehaviourHooks: none for a correct station; the flags become seam members', () => {
  assert.equal(misbehaviourHooks(undefined), undefined);
  assert.equal(misbehaviourHooks({ noActTerm: false }), undefined);
  const h = misbehaviourHooks({ noActCon: true, ignoreSelect: true, slowAcks: true })!;
  assert.equal(h.session?.skipSelectCheck, true);
  assert.equal(h.session?.skipCommandAgeCheck, undefined);
  const actCon = { typeId: 45, cot: 7 } as Asdu;
  assert.equal(h.session?.withhold?.(actCon), true);
  assert.equal(h.session?.withhold?.({ ...actCon, typeId: 100 }), false, 'only process commands lose their ACT_CON');
  const p = { k: 12, w: 8, t0: 30_000, t1: 15_000, t2: 10_000, t3: 20_000 };
  assert.deepEqual([h.linkParameters?.(p).w, h.receiveDelay?.(h.linkParameters!(p))], [12, 13_500]);
});

test('an injected session hook sees every answer and can withhold one (no ACT_TERM here)', async () => {
  const seen: number[] = [];
  const station = createStation({
    commands: [{ ca: 1, ioa: 5000, type: 45, mode: 'direct' }], endOfInitialization: 'none', cyclicPeriodMs: 0,
    testHooks: { session: { withhold: (a) => (seen.push(a.cot), a.cot === 10) } },
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false });
  await master.connect();
  try {
    // the station answers in one turn: ACT_CON and ACT_TERM reach the hook before ACT_CON reaches the master
    const r = await master.single(1, 5000, true);
    assert.equal(r.confirmation?.cot, 7);
    assert.deepEqual(seen, [7, 10]);
  } finally {
    await master.close();
    await station.close();
  }
});
