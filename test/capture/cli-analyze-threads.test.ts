/**
 * `iec104 analyze --threads 2` (the monitor on a worker thread) must print exactly what
 * `--threads 1` prints: the same APDU lines, the alerts and command records at the same places,
 * the same summary, inventory and exit code, whatever the batch size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTcpPacket, writePcap, type PacketToWrite } from '../../src/capture/writer.js';
import { TCP_ACK, TCP_FIN } from '../../src/capture/packet.js';
import type { ObservedApdu } from '../../src/monitor/index.js';
import { DetectorThread } from '../../src/monitor/detector-thread.js';
import { Capture, Conversation, normalSession } from '../monitor/helpers.js';
import { runAnalyzeOn } from './helpers.js';

/** Capture items (monitor test builder) as a pcap: one TCP connection per flow, FIN at the end of some. */
function toPcap(items: ObservedApdu[], finFlows: ReadonlySet<string> = new Set()): Uint8Array {
  const seq = new Map<string, number>();
  const packets: PacketToWrite[] = [];
  const split = (a: string): [string, number] => {
    const i = a.lastIndexOf(':');
    return [a.slice(0, i), Number(a.slice(i + 1))];
  };
  const seg = (src: string, dst: string, ts: number, payload: Uint8Array, flags: number): void => {
    const [sip, sport] = split(src);
    const [dip, dport] = split(dst);
    const s = seq.get(src + '>' + dst) ?? 1000;
    seq.set(src + '>' + dst, (s + payload.length + (flags & TCP_FIN ? 1 : 0)) >>> 0);
    const us = Math.round(ts * 1000);
    packets.push({ data: buildTcpPacket({ src: sip, dst: dip, sport, dport, seq: s, ack: seq.get(dst + '>' + src) ?? 1000, flags, payload }), tsSec: Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000 });
  };
  const last = new Map<string, ObservedApdu>();
  for (const o of items) {
    seg(o.src, o.dst, o.ts, o.raw, TCP_ACK | 0x08);
    last.set(o.flow, o);
  }
  for (const f of finFlows) {
    const o = last.get(f);
    if (!o) continue;
    seg(o.src, o.dst, o.ts + 1, new Uint8Array(0), TCP_FIN | TCP_ACK);
    seg(o.dst, o.src, o.ts + 2, new Uint8Array(0), TCP_FIN | TCP_ACK);
  }
  return writePcap(packets);
}

/** Normal sessions plus attacks on several flows: bursts, toggling, broadcast, bad causes, malformed frames, sequence gaps. */
function attackCapture(): Uint8Array {
  const cap = new Capture();
  const a = normalSession(cap, new Conversation(cap, { master: '10.0.0.1:40001', station: '10.0.0.2:2404', flow: 'a' }), 2);
  const b = new Conversation(cap, { master: '10.0.0.9:50123', station: '10.0.0.2:2404', flow: 'b' });
  b.startdt();
  for (let i = 0; i < 30; i++) {
    b.command(45, 4101, i % 2 === 0);
    cap.wait(50);
  }
  b.command(45, 4101, true, 0xffff);
  b.i('m', { typeId: 45, cot: 3, objects: [{ ioa: 4200, value: true, select: false, qu: 0 }] });
  for (let ca = 1; ca <= 40; ca++) b.i('m', { typeId: 100, cot: 6, ca, objects: [{ ioa: 0, qoi: 20 }] });
  b.raw('m', [0x68, 0x04, 0x0f, 0, 0, 0]);
  b.raw('s', [0x68, 0x04, 0x03, 0x00, 0x00, 0x00, 0x68]);
  b.i('s', { typeId: 13, cot: 3, objects: [{ ioa: 700, value: Number.NaN, quality: {} }] }, { ns: 500 });
  const c = normalSession(cap, new Conversation(cap, { master: '10.0.0.1:40002', station: '10.0.0.3:2404', flow: 'c' }), 1);
  for (let i = 0; i < 20; i++) c.setpoint(6000 + i, i * 10);
  c.i('m', { typeId: 105, cot: 6, objects: [{ ioa: 0, qrp: 1 }] });
  a.command(46, 4102, 1, 1, 'negative');
  a.command(46, 4102, 2, 1, 'none');
  // capture order is time order across the flows
  const items = [...cap.items].sort((x, y) => x.ts - y.ts || x.frame - y.frame);
  return toPcap(items, new Set(['b']));
}

/** `iec104 analyze` on `input` fed in 3000-octet pieces, with the monitor thread's batch size. */
function run(argv: string[], input: Uint8Array, batch?: number): Promise<{ code: number; out: string; err: string }> {
  return runAnalyzeOn(argv, input, 3000, batch ? { threadBatchBytes: batch } : {});
}

const POLICY = `
version: 1
masters:
  - name: scada
    addresses: [10.0.0.1]
    allow:
      - types: [C_SC_NA_1, C_DC_NA_1, C_SE_NC_1, C_IC_NA_1, C_CS_NA_1]
        ca: [1]
`;

test('--threads 2 prints byte for byte what --threads 1 prints, in every output mode and batch size', async () => {
  const pcap = attackCapture();
  const modes: string[][] = [[], ['--no-aggregate'], ['--json'], ['--alerts'], ['--commands', '--json'], ['--inventory'], ['--filter', 'iec60870_asdu.typeid == 45', '--disable', 'link.', '--fail-on', 'high']];
  let alertLines = 0;
  // the default text of --threads 2 with small batches (each worker start costs seconds: reused below)
  let threadedText = '';
  for (const mode of modes) {
    const one = await run(['x.pcap', ...mode, '--threads', '1'], pcap);
    for (const batch of [4096, 1 << 20]) {
      const two = await run(['x.pcap', ...mode, '--threads', '2'], pcap, batch);
      assert.equal(two.code, one.code, `exit code ${mode.join(' ')} batch ${batch}`);
      assert.equal(two.err, one.err, `stderr ${mode.join(' ')}`);
      assert.equal(two.out, one.out, `stdout ${mode.join(' ')} batch ${batch}`);
      if (mode.length === 0 && batch === 4096) threadedText = two.out;
    }
    if (mode[0] === '--no-aggregate') alertLines = one.out.split('\n').filter((l) => l.includes(' ALERT ')).length;
  }
  // the comparison means something: many alerts, and interleaved with the APDU lines (not all at the end)
  assert.ok(alertLines >= 20, `${alertLines} alert lines`);
  const text = threadedText.split('\n');
  const firstAlert = text.findIndex((l) => l.includes(' ALERT '));
  let lastApdu = -1;
  text.forEach((l, i) => {
    if (/^\s+\d+ \d{4}-/.test(l)) lastApdu = i;
  });
  assert.ok(firstAlert > 0 && firstAlert < lastApdu, 'alerts are interleaved with the APDU lines');
});

test('--threads 2 with a policy: the worker parses the same policy and raises the same policy alerts', async () => {
  const pcap = attackCapture();
  const go = async (threads: string, batch?: number): Promise<string> =>
    (await runAnalyzeOn(['x.pcap', '--alerts', '--policy', 'p.yaml', '--threads', threads], pcap, 0, { readText: () => POLICY, ...(batch ? { threadBatchBytes: batch } : {}) })).out;
  const one = await go('1');
  assert.match(one, /"rule":"policy\./);
  assert.equal(await go('2', 4096), one);
});

test('--threads: usage errors, and auto picks one thread for small files and for stdin', async () => {
  const pcap = attackCapture();
  assert.equal((await run(['x.pcap', '--threads', '3'], pcap)).code, 2);
  assert.equal((await run(['x.pcap', '--threads', 'x'], pcap)).code, 2);
  assert.equal((await run(['x.pcap', '--threads', 'auto'], pcap)).code, (await run(['x.pcap', '--threads', '1'], pcap)).code);
});

test('DetectorThread: results come back per batch in order, the final inventory is the in-process one', async () => {
  const cap = new Capture();
  normalSession(cap, new Conversation(cap, { master: '10.0.0.1:40001', station: '10.0.0.2:2404', flow: '0' }), 1);
  const t = new DetectorThread({ batchBytes: 512, commands: true });
  const results = [];
  for (const o of cap.items) {
    t.observe(o.frame, o.ts, o.src, o.dst, 0, o.direction, o.raw);
    while (t.ready) results.push(t.take()!);
  }
  t.flush();
  while (t.inFlight) results.push(await t.next());
  const fin = await t.finish();
  assert.ok(results.length >= 2, 'several batches');
  for (let i = 1; i < results.length; i++) assert.ok(results[i].lastSeq > results[i - 1].lastSeq);
  assert.equal(results[results.length - 1].lastSeq, cap.items.length - 1);
  const commands = results.flatMap((r) => r.events.flatMap((e) => e.commands)).concat(fin.events.commands);
  assert.ok(commands.length >= 3, `${commands.length} commands`);
  assert.deepEqual(fin.inventory.masters.map((m) => m.host), ['10.0.0.1']);
  assert.equal(fin.inventory.stations[0].address, '10.0.0.2:2404');
});

test('DetectorThread: asking for a result with nothing in flight is an error, not a hang', async () => {
  const t = new DetectorThread();
  try {
    await assert.rejects(t.next(), /no batch in flight/);
    assert.equal(t.inFlight, 0);
  } finally {
    await t.terminate();
  }
});
