/**
 * Issue 11, item 3 (station part): NaN and ±infinity set-points are refused by default (negative
 * ACT_CON, audit reason, handler not called, feedback point untouched); an object configured with
 * `allowNonFinite: true` takes them. Before the fix the station confirmed and executed them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';
import type { Link } from '../../src/link/link.js';
import { parseStationConfig } from '../../src/station/config.js';
import { createStation } from '../../src/station/station.js';
import { AuditLog } from '../../src/transport/audit-log.js';
import { bindLink, connectTcp } from '../../src/transport/tcp-link.js';
import { asdu } from './helpers.js';

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function master(port: number): Promise<{ link: Link; got: Asdu[] }> {
  const socket = await connectTcp('127.0.0.1', port, { t0: 2000 });
  const got: Asdu[] = [];
  const link = bindLink(socket, { role: 'controlling' }, { asdu: (a) => got.push(a), close: () => {} });
  link.start();
  await until(() => link.state === 'started');
  return { link, got };
}

test('socket: NaN and ±infinity set-points get a negative ACT_CON with an audit reason; allowNonFinite objects take them', async () => {
  const lines: string[] = [];
  const decided: number[] = [];
  const cfg = parseStationConfig(`
points:
  - { ca: 1, ioa: 1, type: M_ME_NC_1, value: 1.5 }
  - { ca: 1, ioa: 2, type: M_ME_NC_1, value: 1.5 }
commands:
  - { ca: 1, ioa: 100, type: C_SE_NC_1, mode: direct, behaviour: { feedback: { ioa: 1 } } }
  - { ca: 1, ioa: 101, type: C_SE_NC_1, mode: direct, allowNonFinite: true, behaviour: { feedback: { ioa: 2 } } }
`);
  const station = createStation({
    ...cfg.station, endOfInitialization: 'none', cyclicPeriodMs: 0,
    onCommand: (cmd) => { decided.push(cmd.value as number); return undefined; },
    audit: new AuditLog({ sink: { write: (l) => lines.push(l) } }),
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  try {
    const m = await master(port);
    for (const v of [NaN, Infinity, -Infinity]) {
      const n = m.got.length;
      m.link.send(asdu(50, 6, 1, [{ ioa: 100, value: v, select: false, ql: 0 }]));
      await until(() => m.got.length > n);
      assert.equal(m.got[n].cot, 7);
      assert.equal(m.got[n].negative, true, `${v}: negative ACT_CON`);
      await until(() => lines.some((l) => l.includes(`set-point value ${v} is not a finite number`)));
    }
    // select (SBO) of a NaN is refused the same way
    m.link.send(asdu(50, 6, 1, [{ ioa: 100, value: NaN, select: true, ql: 0 }]));
    await until(() => m.got.length === 4);
    assert.equal(m.got[3].negative, true);
    assert.deepEqual(decided, [], 'the command handler never saw them');
    assert.equal(station.point(1, 1)!.value, 1.5, 'the feedback point is untouched');
    const recs = lines.map((l) => JSON.parse(l) as { kind: string; outcome: string; reason?: string }).filter((r) => r.kind === 'command');
    assert.equal(recs.length, 4);
    assert.ok(recs.every((r) => r.outcome === 'rejected' && /not a finite number/.test(r.reason ?? '')));
    // a finite value still executes
    m.link.send(asdu(50, 6, 1, [{ ioa: 100, value: 2.25, select: false, ql: 0 }]));
    await until(() => m.got.some((a) => a.typeId === 50 && a.cot === 10));
    assert.equal(station.point(1, 1)!.value, 2.25);
    // allowNonFinite: true takes NaN
    m.link.send(asdu(50, 6, 1, [{ ioa: 101, value: NaN, select: false, ql: 0 }]));
    await until(() => m.got.filter((a) => a.typeId === 50 && a.cot === 10).length === 2);
    assert.ok(Number.isNaN(station.point(1, 2)!.value as number));
    m.link.close();
  } finally {
    await station.close();
  }
});

test('config: allowNonFinite only on floating-point set-points, a boolean', () => {
  assert.equal(parseStationConfig('commands: [{ ca: 1, ioa: 5, type: C_SE_TC_1, allowNonFinite: true }]\n').station.commands![0].allowNonFinite, true);
  assert.throws(() => parseStationConfig('commands: [{ ca: 1, ioa: 5, type: C_SC_NA_1, allowNonFinite: true }]\n'), /commands\[0\]\.allowNonFinite: only for floating-point set-points/);
  assert.throws(() => parseStationConfig('commands: [{ ca: 1, ioa: 5, type: C_SE_NC_1, allowNonFinite: 1 }]\n'), /commands\[0\]\.allowNonFinite/);
});
