/**
 * `iec104 analyze --interface`: live capture on a veth pair made by the test. Our station runs in
 * a network namespace, our master in the root namespace talks to it across the veth; the sensor
 * captures on the root end. Its records must be the records of the same traffic analysed from a
 * file: byte-identical to the rotated pcapng it wrote, and (apart from the kernel timestamps of a
 * second capture socket, a few µs apart) to an independent `tcpdump -w` of the link. The summary
 * and the metrics carry the capture's counters; SIGTERM stops it with the summary.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader.js';
import { runAnalyzeOn } from './helpers.js';
import { cli, httpGet, makeLab, start } from './live-lab.js';

interface Rec {
  kind?: string;
  frame: number;
  ts: string;
  [k: string]: unknown;
}

function records(text: string): Rec[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Rec)
    .filter((r) => r.kind === undefined);
}

test('live capture on a veth pair gives the records of the file of the same traffic', { timeout: 90_000 }, async (t) => {
  const lab = makeLab();
  if (typeof lab === 'string') {
    t.skip(lab);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'iec104-live-'));
  const procs: Array<ReturnType<typeof start>> = [];
  try {
    const station = cli(['serve', '--host', lab.nsIp, '--port', '2404', '--no-simulate', '--log-format', 'json'], lab.ns);
    procs.push(station);
    // the monitor on its own thread: a live run flushes each read to it (no batching delay)
    const sensor = cli(['analyze', '--interface', lab.hostIf, '--json', '--threads', '2', '--rotate', '10M', '--rotate-dir', join(dir, 'rot'), '--metrics', '127.0.0.1:0']);
    procs.push(sensor);
    const ref = start('tcpdump', ['-i', lab.hostIf, '-U', '-n', '-w', join(dir, 'ref.pcap'), 'tcp port 2404']);
    procs.push(ref);
    await Promise.all([station.waitFor(/listening/), sensor.waitFor(/capturing on/), ref.waitFor(/listening on/)]);
    const url = (await sensor.waitFor(/metrics at (http:\S+)/))[1];

    const master = cli(['connect', lab.nsIp, '--ca', '1', '--duration', '800', '--lines']);
    procs.push(master);
    const m = await master.exited;
    assert.equal(m.code, 0, master.err());
    assert.match(master.out(), /4001/); // the interrogation answered

    // the metrics follow the traffic (the sensor reads the pipe as it comes)
    let body = '';
    for (let i = 0; i < 100; i++) {
      body = (await httpGet(url)).body;
      if (/^iec104_apdus_total\{format="I"\} (\d+)/m.test(body) && Number(/^iec104_apdus_total\{format="I"\} (\d+)/m.exec(body)![1]) >= 8) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(Number(/^iec104_apdus_total\{format="I"\} (\d+)/m.exec(body)?.[1] ?? 0) >= 8, body);
    assert.match(body, /^iec104_capture_packets_dropped_total\{by="kernel"\} \d+$/m);
    assert.match(body, /^iec104_flows\{kind="iec104"\} 1$/m);

    // stop: SIGTERM to the sensor, SIGINT to the reference tcpdump
    sensor.child.kill('SIGTERM');
    ref.child.kill('SIGINT');
    const [se] = await Promise.all([sensor.exited, ref.exited]);
    assert.equal(se.code, 0, sensor.err());

    const out = sensor.out();
    const live = records(out);
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { kind: string; live: { interface: string; stats: { captured: number; droppedByKernel: number; receivedByFilter: number } }; capture: { apdus: { I: number } } };
    assert.equal(summary.kind, 'summary');
    assert.equal(summary.live.interface, lab.hostIf);
    assert.equal(summary.live.stats.droppedByKernel, 0);
    assert.ok(summary.live.stats.captured >= 10, JSON.stringify(summary.live));
    assert.ok(live.length >= 10, out);
    assert.equal(summary.capture.apdus.I, live.filter((r) => (r.apdu as { apci: { format: string } } | undefined)?.apci.format === 'I').length);

    // the rotated capture holds exactly what the sensor analysed
    const rotated = readdirSync(join(dir, 'rot'));
    assert.equal(rotated.length, 1);
    assert.match(rotated[0], /^iec104-\d{8}T\d{6}Z-0001\.pcapng$/);
    const rot = readFileSync(join(dir, 'rot', rotated[0]));
    const fromRotated = await runAnalyzeOn(['x.pcapng', '--json'], rot);
    assert.equal(fromRotated.code, 0, fromRotated.err);
    assert.deepEqual(records(fromRotated.out), live);
    // alerts and records in the same order, line for line (everything but the summary)
    const lines = (t: string): string[] => t.trim().split('\n').filter((l) => !l.startsWith('{"kind":"summary"'));
    assert.deepEqual(lines(out), lines(fromRotated.out));
    // ... and ends with the capture's final counters (interface statistics block)
    let format = '';
    new CaptureReader({ packet: () => {}, format: (f) => (format = f) }).push(rot);
    assert.equal(format, 'pcapng');
    assert.equal(rot.readUInt32LE(rot.length - rot.readUInt32LE(rot.length - 4)), 5, 'last block is an ISB');

    // an independent capture of the same link: the same records (timestamps of another socket)
    const fromFile = await runAnalyzeOn(['ref.pcap', '--json'], readFileSync(join(dir, 'ref.pcap')));
    const refRecs = records(fromFile.out);
    const strip = (rs: Rec[]): unknown[] => rs.map(({ ts: _ts, ...rest }) => rest);
    assert.deepEqual(strip(live), strip(refRecs));
    for (let i = 0; i < live.length; i++) assert.ok(Math.abs(Date.parse(live[i].ts) - Date.parse(refRecs[i].ts)) < 50, `${live[i].ts} vs ${refRecs[i].ts}`);
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('analyze --interface on a missing interface: exit 1 with tcpdump’s reason', { timeout: 30_000 }, async () => {
  const p = cli(['analyze', '--interface', 'no-such-if0']);
  const e = await p.exited;
  assert.equal(e.code, 1, p.err());
  assert.match(p.err(), /no-such-if0/);
});

test('analyze sensor options: usage errors', { timeout: 30_000 }, async () => {
  for (const [args, re] of [
    [['x.pcap', '--interface', 'eth0'], /cannot be combined/],
    [['x.pcap', '--rotate', '1h'], /--rotate needs --interface/],
    [['--interface', 'eth0', '--rotate', '5'], /--rotate needs a size/],
    [['x.pcap', '--format', 'xml'], /--format needs one of/],
    [['x.pcap', '--json', '--format', 'eve'], /--json cannot be combined/],
    [['x.pcap', '--syslog', 'ftp://x'], /unknown syslog transport/],
    [['x.pcap', '--metrics', 'host:port'], /--metrics needs \[ADDR:\]PORT/],
    [['x.pcap', '--log-dir', 'd'], /--log-dir needs --format zeek/],
  ] as Array<[string[], RegExp]>) {
    const r = await runAnalyzeOn(args, new Uint8Array(0));
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
});
