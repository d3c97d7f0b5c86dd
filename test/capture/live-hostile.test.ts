/**
 * Bad input on a live interface never stops the sensor. For a bounded time (10 s here; set
 * IEC104_HOSTILE_SECONDS=60 for the full minute) raw Ethernet frames are written onto the
 * veth link from the station's namespace (a packet socket, by perl — core on every Debian), as
 * fast as the machine lets them out, up to ~10 000 frames/s:
 *
 * * frames cut inside the Ethernet, IPv4 and TCP headers and inside the payload (the IP length
 *   claiming more than the frame holds);
 * * impossible headers: IP version 5 and 7, header length below 20, total length below the
 *   header, TCP data offset below 5 and beyond the frame;
 * * junk TCP payloads and lying APDUs on port 2404 (start byte with lengths 0..3 and 255, random
 *   control fields, random bytes), over ever-new flows (thousands, more than the sensor's
 *   `--max-flows 2000`) with sequence numbers jumping about;
 * * IPv4 fragments that never complete, overlapping fragments, VLAN-tagged junk;
 * * SYN / FIN / RST storms on the same flows;
 *
 * while a real master and station talk across the same link. The sensor must stay up, keep its
 * metrics endpoint answering, keep decoding the real session, keep its memory bounded, and stop
 * with exit 0 on SIGINT.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeApdu } from '../../src/codec/index.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../src/capture/packet.js';
import { buildTcpPacket, fragmentFrame } from '../../src/capture/writer.js';
import { cli, httpGet, makeLab, start } from './live-lab.js';

const SECONDS = Number(process.env.IEC104_HOSTILE_SECONDS ?? 10);

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** The hostile frames (sent round-robin). */
export function hostileFrames(dstIp: string, net: string, count = 20000): Uint8Array[] {
  const r = rng(0x104);
  const int = (n: number): number => Math.floor(r() * n);
  const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  const frames: Uint8Array[] = [];
  // ever-new flows: up to 150 × 64 000 source addresses and ports
  const flow = (): { src: string; sport: number } => ({ src: `${net}.${50 + int(150)}`, sport: 1024 + int(64000) });
  const iframe = (): Uint8Array =>
    encodeApdu({ apci: { format: 'I', sendSeq: int(32768), recvSeq: int(32768) }, asdu: { typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: int(1 << 24), value: r(), quality: { ov: false, bl: false, sb: false, nt: false, iv: false } }] } });
  const lies = (): Uint8Array => {
    switch (int(6)) {
      case 0:
        return Uint8Array.of(0x68, int(4));
      case 1:
        return Uint8Array.of(0x68, 255, ...bytes(int(40)));
      case 2:
        return Uint8Array.of(0x68, 4, ...bytes(4));
      case 3:
        return bytes(1 + int(300));
      case 4: {
        const f = iframe();
        return f.subarray(0, 1 + int(f.length - 1)); // cut APDU
      }
      default:
        return Uint8Array.of(...iframe(), ...bytes(int(20)), ...iframe());
    }
  };
  while (frames.length < count) {
    const f = flow();
    const seg = (payload: Uint8Array, flags = TCP_ACK): Uint8Array => buildTcpPacket({ src: f.src, dst: dstIp, sport: f.sport, dport: 2404, seq: int(2 ** 32), ack: int(2 ** 32), flags, payload });
    const kind = int(10);
    if (kind === 0) {
      // truncated: cut anywhere (Ethernet, IP, TCP header or payload)
      const full = seg(lies());
      frames.push(full.subarray(0, Math.max(1, int(full.length))));
    } else if (kind === 1) {
      // impossible IP / TCP header fields
      const p = seg(lies());
      switch (int(4)) {
        case 0:
          p[14] = (int(2) ? 0x50 : 0x70) | (p[14] & 0x0f);
          break;
        case 1:
          p[14] = 0x40 | int(5);
          break;
        case 2:
          p[16] = 0;
          p[17] = int(20);
          break;
        default:
          p[14 + 20 + 12] = (int(2) ? 15 : int(5)) << 4;
      }
      frames.push(p);
    } else if (kind === 2) {
      // fragments that never complete, or overlap
      const p = seg(bytes(200 + int(600)));
      p[20] = 0; // clear DF
      const parts = fragmentFrame(p, 8 * (3 + int(20)), { id: int(65536) });
      if (int(2)) frames.push(...parts.slice(0, parts.length - 1));
      else frames.push(...parts, parts[0]);
    } else if (kind === 3) {
      frames.push(buildTcpPacket({ src: f.src, dst: dstIp, sport: f.sport, dport: 2404, seq: int(2 ** 32), payload: lies() }, { type: 'ethernet', vlans: [int(4096)] }));
    } else if (kind === 4) {
      frames.push(seg(new Uint8Array(0), [TCP_SYN, TCP_FIN | TCP_ACK, TCP_RST, TCP_SYN | TCP_FIN | TCP_RST][int(4)]));
    } else if (kind === 5) {
      // a flood of valid I-frames on one flow
      let seq = int(2 ** 32);
      for (let i = 0; i < 20; i++) {
        const pl = iframe();
        frames.push(buildTcpPacket({ src: f.src, dst: dstIp, sport: f.sport, dport: 2404, seq, payload: pl }));
        seq = (seq + pl.length) >>> 0;
      }
    } else frames.push(seg(lies()));
  }
  return frames.filter((x) => x.length >= 14); // a packet socket refuses less than a link header
}

/** perl: send the frames of FILE (u16 length + bytes each) on IFACE for SECONDS, ~3 000/s at most. */
const SENDER = String.raw`
use strict; use Socket;
my ($if, $file, $secs) = @ARGV;
open(my $fh, '<', "/sys/class/net/$if/ifindex") or die "ifindex: $!"; my $idx = <$fh>; chomp $idx; close $fh;
open(my $in, '<:raw', $file) or die "$file: $!"; local $/; my $all = <$in>; close $in;
my @f; my $p = 0; while ($p < length $all) { my $n = unpack('n', substr($all, $p, 2)); push @f, substr($all, $p + 2, $n); $p += 2 + $n; }
socket(my $s, 17, SOCK_RAW, 0) or die "packet socket: $!";
my $to = pack('S n i S C C a8', 17, 0x0800, $idx, 1, 0, 6, "\0" x 8);
my ($sent, $err, $i) = (0, 0, 0); my $end = time + $secs;
while (time < $end) {
  for (1..30) { if (send($s, $f[$i], 0, $to)) { $sent++ } else { $err++ } $i = ($i + 1) % @f; }
  select(undef, undef, undef, 0.01);
}
print "sent $sent errors $err\n";
`;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

test(`a hostile mix on the live interface for ${SECONDS} s: the sensor stays up with bounded memory`, { timeout: (SECONDS + 60) * 1000 }, async (t) => {
  const lab = makeLab();
  if (typeof lab === 'string') {
    t.skip(lab);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'iec104-hostile-'));
  const procs: Array<ReturnType<typeof start>> = [];
  try {
    const net = lab.nsIp.split('.').slice(0, 3).join('.');
    const hostile = hostileFrames(lab.hostIp, net);
    const file = join(dir, 'frames.bin');
    const parts: Uint8Array[] = [];
    for (const f of hostile) parts.push(Uint8Array.of(f.length >> 8, f.length & 255), f);
    writeFileSync(file, Buffer.concat(parts));

    const station = cli(['serve', '--host', lab.nsIp, '--port', '2404', '--no-simulate', '--log-format', 'json', '--start-timeout', '0'], lab.ns);
    procs.push(station);
    const sensor = cli(['analyze', '--interface', lab.hostIf, '--alerts', '--metrics', '127.0.0.1:0', '--max-issues', '3', '--max-flows', '2000']);
    procs.push(sensor);
    // the sensor's output is not kept by this test beyond a count (a flood makes a lot of it)
    let outBytes = 0;
    sensor.child.stdout!.removeAllListeners('data');
    sensor.child.stdout!.on('data', (d: Buffer) => (outBytes += d.length));
    await Promise.all([sensor.waitFor(/capturing on/), station.waitFor(/listening/)]);
    const url = (await sensor.waitFor(/metrics at (http:\S+)/))[1];
    const pid = sensor.child.pid!;

    const master = cli(['connect', lab.nsIp, '--ca', '1', '--lines', '--duration', String((SECONDS + 1) * 1000)]);
    procs.push(master);
    const sender = start('ip', ['netns', 'exec', lab.ns, 'perl', '-e', SENDER, lab.nsIf, file, String(SECONDS)]);
    procs.push(sender);

    const rss: number[] = [];
    let scrapes = 0;
    let slowest = 0;
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(sensor.child.exitCode, null, `the sensor died: ${sensor.err().slice(-2000)}`);
      rss.push(rssKiB(pid));
      const t0 = Date.now();
      const m = await httpGet(url);
      slowest = Math.max(slowest, Date.now() - t0);
      assert.equal(m.status, 200);
      scrapes++;
    }
    const se = await sender.exited;
    assert.equal(se.code, 0, sender.err());
    const sent = /sent (\d+) errors (\d+)/.exec(sender.out());
    assert.ok(sent && Number(sent[1]) > 1000, sender.out() + sender.err());
    await master.exited;
    // let the sensor drain its pipe, then read its counters
    let body = '';
    for (let i = 0; i < 50; i++) {
      body = (await httpGet(url)).body;
      await new Promise((r) => setTimeout(r, 200));
      if (Number(/^iec104_frames_total (\d+)/m.exec(body)?.[1] ?? 0) >= Number(/^iec104_capture_packets_received_total (\d+)/m.exec(body)?.[1] ?? Infinity) * 0.5) break;
    }
    assert.equal(sensor.child.exitCode, null, 'still up after the flood');
    const frames = Number(/^iec104_frames_total (\d+)/m.exec(body)?.[1]);
    const errors = Number(/^iec104_apdus_total\{format="error"\} (\d+)/m.exec(body)?.[1] ?? 0);
    const iframes = Number(/^iec104_apdus_total\{format="I"\} (\d+)/m.exec(body)?.[1] ?? 0);
    const dropped = Number(/^iec104_capture_packets_dropped_total\{by="kernel"\} (\d+)/m.exec(body)?.[1]);
    const flowsActive = Number(/^iec104_flows_active (\d+)/m.exec(body)?.[1]);
    const flowsTotal = Number(/^iec104_flows_total (\d+)/m.exec(body)?.[1]);
    const evicted = Number(/^iec104_flows_ended_total\{reason="evicted"\} (\d+)/m.exec(body)?.[1]);
    t.diagnostic(`sent ${sent[1]} hostile frames (${sent[2]} refused by the kernel); sensor read ${frames} frames, ${iframes} I-frames, ${errors} undecodable APDUs; kernel drops ${dropped}; flows ${flowsTotal} seen, ${flowsActive} followed, ${evicted} evicted; ${scrapes} scrapes, slowest ${slowest} ms; RSS ${Math.round(rss[0] / 1024)}..${Math.round(Math.max(...rss) / 1024)} MiB; ${outBytes} octets of alerts`);
    assert.ok(frames > 1000, body);
    assert.ok(errors > 0, 'the junk was read as undecodable APDUs');
    assert.ok(iframes > 0);
    // more flows than the table holds: the oldest were evicted, the table stayed at its bound
    assert.ok(flowsTotal > 2000, `${flowsTotal} flows`);
    assert.ok(flowsActive <= 2000, `${flowsActive} flows followed`);
    assert.ok(evicted > 0);
    // bounded memory: no runaway growth over the run (second half vs first half)
    const half = Math.floor(rss.length / 2);
    const firstMax = Math.max(...rss.slice(0, half));
    const lastMax = Math.max(...rss.slice(half));
    assert.ok(Math.max(...rss) < 512 * 1024, `RSS ${Math.max(...rss)} KiB`);
    assert.ok(lastMax - firstMax < 96 * 1024, `RSS grew from ${firstMax} to ${lastMax} KiB`);

    sensor.child.kill('SIGINT');
    const e = await sensor.exited;
    assert.equal(e.code, 0, sensor.err().slice(-2000));
    // problems were reported, each kind at most --max-issues times
    const lines = sensor.err().split('\n').filter((l) => /^iec104 analyze: (error|warning) /.test(l));
    const perCode = new Map<string, number>();
    for (const l of lines) {
      const code = /(?:error|warning) (\w+)/.exec(l)![1];
      perCode.set(code, (perCode.get(code) ?? 0) + 1);
    }
    assert.ok(perCode.size >= 2, sensor.err().slice(0, 3000));
    for (const [code, n] of perCode) assert.ok(n <= 3, `${code} printed ${n} times`);
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
