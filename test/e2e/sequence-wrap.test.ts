/**
 * Sequence numbers wrap (15 bits, 32 768) in both directions over real sockets: 45 000 spontaneous
 * events station -> master (one per I-frame) while the master sends 45 000 set-point commands
 * (C_SE_NC_1, value = command number) -> station. Nothing is lost, nothing reordered, and V(S)/V(R)
 * of both ends agree with the frame counts modulo 32 768.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStation } from '../../src/station/station.js';
import { ControllingStation } from '../../src/master/master.js';
import { tcpConnector } from '../../src/master/tcp.js';

const N = 45_000;
const POOL = 200; // command objects; as many commands in flight

test(`> 32 768 I-frames each way: ${N} events station->master and ${N} commands master->station, V(S)/V(R) wrapped, nothing lost`, async () => {
  const received: number[] = [];
  const station = createStation({
    points: [
      { ca: 1, ioa: 1, type: 13, eventType: 13 },
      { ca: 2, ioa: 1, type: 13, eventType: 13 },
    ],
    commands: Array.from({ length: POOL }, (_, i) => ({ ca: 1, ioa: 1000 + i, type: 50, mode: 'direct' as const })),
    onCommand: (cmd) => {
      received.push(cmd.value as number);
      return undefined;
    },
    endOfInitialization: 'none',
    cyclicPeriodMs: 0,
    eventQueue: { capacity: N + 10 },
  });
  const { port } = await station.listen({ host: '127.0.0.1', port: 0 });
  const master = new ControllingStation({ connector: tcpConnector('127.0.0.1', port), reconnect: false, requestTimeout: 20_000, queueLimit: POOL });
  const events: number[] = [];
  let eventFrames = 0;
  let allEvents!: () => void;
  const eventsDone = new Promise<void>((r) => (allEvents = r));
  master.on('asdu', (a) => {
    if (a.cot !== 3) return;
    eventFrames++;
    for (const o of a.objects) events.push(o.value as number);
    if (events.length === N) allEvents();
  });
  try {
    await master.connect();
    // events alternate between two CAs, so that each one travels in its own I-frame
    for (let i = 0; i < N; i++) station.update(1 + (i & 1), 1, i);
    // commands: POOL in flight at a time
    let next = 0;
    const worker = async (slot: number): Promise<void> => {
      while (next < N) {
        const v = next++;
        // until ACT_TERM: an object is reused only once its previous command is complete (a late
        // ACT_TERM of the previous command would otherwise answer the next one: no request ids in 104)
        const r = await master.setpointFloat(1, 1000 + slot, v, { until: 'actterm' });
        assert.equal(r.confirmation?.negative, false);
        assert.equal(r.termination?.objects[0].value, v);
      }
    };
    await Promise.all([...Array.from({ length: POOL }, (_, s) => worker(s)), eventsDone]);

    assert.equal(eventFrames, N, 'one event per I-frame');
    assert.equal(events.length, N);
    for (let i = 0; i < N; i++) if (events[i] !== i) assert.fail(`event ${i}: got ${events[i]} (lost or reordered)`);
    assert.equal(received.length, N);
    for (let i = 0; i < N; i++) if (received[i] !== i) assert.fail(`command ${i}: station got ${received[i]} (lost or reordered)`);

    // let the last acknowledgements and ACT_TERMs settle (the master waits for t2 or w frames)
    const ms = master.snapshot().link!;
    const ss = station.stats().sessions[0].link;
    assert.ok(ms.counters.iOut >= N && ms.counters.iIn >= 3 * N, `frames out ${ms.counters.iOut}, in ${ms.counters.iIn}`);
    assert.ok(ms.counters.iOut > 32_768 && ms.counters.iIn > 32_768, 'both directions went past 32 767');
    assert.equal(ms.vs, ms.counters.iOut % 32_768, 'master V(S) wrapped');
    assert.equal(ss.vs, ss.counters.iOut % 32_768, 'station V(S) wrapped');
    assert.equal(ss.vr, ms.vs, 'station V(R) = master V(S)');
    assert.ok(ms.vs < ms.counters.iOut && ss.vs < ss.counters.iOut);
    const q = station.stats().queue;
    assert.equal(q.dropped, 0);
    assert.equal(q.sent, N);
    assert.equal(station.stats().sessions[0].counters.commands, N);
  } finally {
    await master.close();
    await station.close();
  }
});
