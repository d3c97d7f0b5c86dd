/**
 * The analyser's flow table is bounded (issue 11, item 2): FIN/RST free a connection's state, idle
 * flows expire by capture time, and a full table evicts the least recently active flow, with
 * counters in the summary. (Memory for a million flows is measured in bench/, not here.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureAnalyzer, type FlowEndReason, type AnalyzeOptions } from '../../src/capture/analyze.js';
import { TCP_ACK, TCP_RST } from '../../src/capture/packet.js';
import { type PacketToWrite, SynthSession, writePcap } from '../../src/capture/writer.js';
import { Detector, observedFromRecord } from '../../src/monitor/index.js';
import { formatSummary } from '../../src/cli/analyze.js';
import { gi, STARTDT_ACT, STARTDT_CON } from './helpers.js';

const EMPTY = new Uint8Array(0);

function run(packets: PacketToWrite[], opts: AnalyzeOptions): { an: CaptureAnalyzer; ends: Array<[number, FlowEndReason]>; maxActive: number; issues: string[] } {
  const ends: Array<[number, FlowEndReason]> = [];
  const issues: string[] = [];
  let maxActive = 0;
  const an = new CaptureAnalyzer({ flowEnd: (f, why) => ends.push([f.index, why]), issue: (i) => issues.push(i.code), record: () => (maxActive = Math.max(maxActive, an.activeFlows)) }, opts);
  const file = writePcap(packets);
  // small chunks: the table is checked after every few packets
  for (let i = 0; i < file.length; i += 200) {
    an.push(file.subarray(i, i + 200));
    maxActive = Math.max(maxActive, an.activeFlows);
  }
  an.end();
  return { an, ends, maxActive, issues };
}

/** `n` IEC 104 connections from distinct ports, each: handshake, STARTDT act; one second apart. */
function manyFlows(n: number, close?: 'fin' | 'rst'): PacketToWrite[] {
  const out: PacketToWrite[] = [];
  for (let i = 0; i < n; i++) {
    const s = new SynthSession({ ip: '10.0.0.1', port: 20000 + i }, { ip: '10.0.0.2', port: 2404 }, { type: 'ethernet' }, { startSec: 1700000000 + i });
    s.handshake().send('client', STARTDT_ACT);
    if (close === 'fin') s.fin('client').fin('server');
    if (close === 'rst') s.raw('client', s.nextSeq('client'), EMPTY, TCP_RST | TCP_ACK);
    out.push(...s.packets);
  }
  return out;
}

test('a full table evicts the least recently active flow: count stays at the cap, counters right', () => {
  const { an, ends, maxActive, issues } = run(manyFlows(50), { maxFlows: 8, maxListedFlows: 5 });
  const s = an.summary();
  assert.ok(maxActive <= 8, `at most 8 flows at once, saw ${maxActive}`);
  assert.equal(an.activeFlows, 8);
  assert.deepEqual({ ...s.flowTable }, { total: 50, active: 8, peak: 8, closed: 0, idle: 0, evicted: 42, maxFlows: 8, unlisted: 45 });
  assert.equal(s.flows.length, 5);
  assert.deepEqual(s.flows.map((f) => f.index), [0, 1, 2, 3, 4]);
  assert.equal(issues.filter((c) => c === 'W_FLOW_EVICTED').length, 42);
  const text = formatSummary(s);
  assert.match(text, /, 50 TCP flows \(IEC 104 5, TLS 0, other 0, 45 more not listed\)/);
  assert.match(text, /flow table: at most 8 flows followed at once \(peak 8\); 0 closed when idle, 42 evicted when full/);
  // the monitor is told, oldest first, so it can forget them too
  assert.deepEqual(ends.slice(0, 3), [[0, 'evicted'], [1, 'evicted'], [2, 'evicted']]);
  assert.equal(ends.length, 42);
});

test('FIN both ways and RST free the connection; a new SYN on the same ports is followed again', () => {
  const fin = run(manyFlows(5, 'fin'), {});
  assert.equal(fin.an.summary().flowTable.closed, 5);
  assert.deepEqual(fin.ends.map(([, w]) => w), ['fin', 'fin', 'fin', 'fin', 'fin']);
  const rst = run(manyFlows(5, 'rst'), {});
  assert.equal(rst.an.summary().flowTable.closed, 5);
  // the same ports again after a RST: a new connection, decoded
  const s = new SynthSession({ ip: '10.0.0.1', port: 20000 }, { ip: '10.0.0.2', port: 2404 });
  s.handshake().send('client', STARTDT_ACT);
  s.raw('client', s.nextSeq('client'), EMPTY, TCP_RST | TCP_ACK);
  s.raw('client', s.nextSeq('client'), EMPTY, TCP_ACK); // straggler: ignored
  const t = new SynthSession({ ip: '10.0.0.1', port: 20000 }, { ip: '10.0.0.2', port: 2404 }, { type: 'ethernet' }, { clientIsn: 90000, serverIsn: 70000, startSec: 1700000100 });
  t.handshake().send('client', STARTDT_ACT).send('server', STARTDT_CON);
  const recs: string[] = [];
  const an = new CaptureAnalyzer({ record: (r) => recs.push(`${r.frame}:${r.flow}:${r.apdu?.apci.format === 'U' ? r.apdu.apci.uFunction : '?'}`) });
  an.push(writePcap([...s.packets, ...t.packets]));
  an.end();
  assert.deepEqual(recs, ['4:0:STARTDT_ACT', '10:0:STARTDT_ACT', '11:0:STARTDT_CON']);
  assert.equal(an.summary().flowTable.total, 1);
});

test('flows idle longer than the timeout (capture time) are closed and their partial APDUs reported', () => {
  const a = new SynthSession({ ip: '10.0.0.1', port: 20001 }, { ip: '10.0.0.2', port: 2404 }, { type: 'ethernet' }, { startSec: 1700000000 });
  a.handshake().send('client', gi(0, 0).subarray(0, 9)); // an APDU cut short, then silence
  const b = new SynthSession({ ip: '10.0.0.1', port: 20002 }, { ip: '10.0.0.2', port: 2404 }, { type: 'ethernet' }, { startSec: 1700000400 });
  b.handshake().send('client', STARTDT_ACT);
  const { an, ends, issues } = run([...a.packets, ...b.packets], { idleTimeout: 60 });
  assert.deepEqual(ends, [[0, 'idle']]);
  assert.deepEqual({ ...an.summary().flowTable, unlisted: 0 }, { total: 2, active: 1, peak: 1, closed: 0, idle: 1, evicted: 0, maxFlows: 20000, unlisted: 0 });
  assert.ok(issues.includes('W_TCP_PARTIAL_APDU'));
});

test('the monitor forgets evicted, idle and closed flows: per-flow state bounded by the table, counts kept', () => {
  for (const [close, opts, live] of [['fin', {}, 0], [undefined, { maxFlows: 4 }, 4]] as const) {
    const det = new Detector();
    let peak = 0;
    const an = new CaptureAnalyzer({
      record: (r, octets) => {
        det.observe(observedFromRecord(r, octets));
        const st = det.flowState();
        peak = Math.max(peak, st.contexts, st.roles, st.shadow, st.inventory, st.rules, st.sessions);
      },
      flowEnd: (f) => det.closeFlow(String(f.index)),
    }, opts);
    an.push(writePcap(manyFlows(60, close)));
    an.end();
    const st = det.flowState();
    assert.ok(peak <= Math.max(live, 1) + 1, `per-flow state stayed bounded (peak ${peak})`);
    assert.deepEqual(st, { contexts: live, roles: live, shadow: live, inventory: live, rules: live, sessions: live }, String(close));
    const inv = det.inventory();
    assert.equal(inv.stations[0].connections, 60, 'closed connections are still counted');
  }
});

test('end of capture: flushing one direction may decide the flow is not IEC 104 (found by npm run fuzz)', () => {
  const s = new SynthSession({ ip: '10.0.0.1', port: 40000 }, { ip: '10.0.0.2', port: 5000 });
  s.handshake();
  s.raw('client', s.nextSeq('client') + 10, Uint8Array.of(1, 2, 3)); // out of order, never filled
  s.raw('server', s.nextSeq('server') + 10, Uint8Array.of(4, 5, 6));
  const an = new CaptureAnalyzer({});
  an.push(writePcap(s.packets));
  assert.doesNotThrow(() => an.end());
  assert.equal(an.summary().flows[0].kind, 'other');
  // the same through an idle timeout
  const t = new SynthSession({ ip: '10.0.0.1', port: 40001 }, { ip: '10.0.0.2', port: 5000 }, { type: 'ethernet' }, { startSec: 1700000000 });
  t.handshake();
  t.raw('client', t.nextSeq('client') + 10, Uint8Array.of(1, 2, 3));
  t.raw('server', t.nextSeq('server') + 10, Uint8Array.of(4, 5, 6));
  const u = new SynthSession({ ip: '10.0.0.1', port: 40002 }, { ip: '10.0.0.2', port: 2404 }, { type: 'ethernet' }, { startSec: 1700001000 });
  u.handshake();
  const an2 = new CaptureAnalyzer({}, { idleTimeout: 60 });
  assert.doesNotThrow(() => an2.push(writePcap([...t.packets, ...u.packets])));
  an2.end();
  assert.equal(an2.summary().flowTable.idle, 1);
});
