/**
 * Long fuzz run of the codec, the link state machine and the capture side (npm run fuzz --
 * [--seed N] [--count N] [--full-every N] [--capture-every N]).
 *
 * Mutates the seed corpus (test/fixtures/tshark-vectors.json plus one sample per type) with bit
 * flips, truncation, length-octet and VSQ changes, SQ flips, splices and random frames, and feeds
 * every frame to decodeApdu (which must never throw and must return a CodecError on failure).
 * Every `--full-every`-th frame also runs the full invariant check (no read past the input,
 * byte-identical re-encode) and all frames are streamed through an ApduSplitter in random chunks.
 *
 * Every frame also goes through
 * - a link state machine (src/link, virtual clock, alternating roles): fed in random chunks, with
 *   STARTDT / sends / stops / timer advances mixed in; a closed link is replaced by a new one. The
 *   link must never throw, and its receive buffer and queues stay bounded;
 * - TCP reassembly: the frame is the payload of a segment of a connection whose sequence numbers,
 *   flags, acknowledgements and windows are mutated (in order mostly; also overlapping, stale,
 *   out of window, far, SYN / FIN / RST), reassembled by a TcpDirection pair into an ApduSplitter;
 * - every `--capture-every`-th frame, the last frames are written as a pcap / pcapng capture
 *   (mutated sequence numbers, bit flips, truncation) and analysed with a small flow table
 *   (reader, packet decoder, IP defragmentation, flow table, reassembly, decoder).
 * No call may throw or use more than 1 s of CPU (counted as a hang). Prints frames/s, the histogram of
 * results and the link / reassembly / capture counters. Exit code 1 on the first broken invariant.
 */
import { ApduSplitter, CodecError, decodeApdu, encodeUFrame } from '../src/codec/index.js';
import { CaptureAnalyzer } from '../src/capture/analyze.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../src/capture/packet.js';
import { TcpDirection, type SegmentMeta } from '../src/capture/tcp-reassembly.js';
import { type PacketToWrite, SynthSession, writePcap, writePcapng } from '../src/capture/writer.js';
import { VirtualClock } from '../src/clock.js';
import { Link } from '../src/link/link.js';
import { checkFrame, mutate, prng, seedCorpus } from '../test/codec/mutate.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}
const seed = arg('seed', Date.now() & 0x7fffffff);
const count = arg('count', 10_000_000);
const fullEvery = Math.max(1, arg('full-every', 16));
const captureEvery = Math.max(1, arg('capture-every', 256));

const corpus = seedCorpus();
const rnd = prng(seed);
const hist = new Map<string, number>();
let splitterFrames = 0;
const splitter = new ApduSplitter({
  frame: (f) => {
    splitterFrames++;
    const r = decodeApdu(f);
    if (!r.ok && !(r.error instanceof CodecError)) throw new Error('splitter frame: non-CodecError');
  },
});
// ---- link state machine ----
const clock = new VirtualClock(0);
const STARTDT_ACT = encodeUFrame('STARTDT_ACT');
const STARTDT_CON = encodeUFrame('STARTDT_CON');
const linkStats = { links: 0, closes: new Map<string, number>(), asdus: 0, started: 0 };
let link: Link;
let linkRole: 'controlled' | 'controlling' = 'controlled';
function newLink(): void {
  linkStats.links++;
  linkRole = linkRole === 'controlled' ? 'controlling' : 'controlled';
  const l: Link = new Link(
    { role: linkRole, clock, params: { k: 12, w: 8, t0: 30_000, t1: 15_000, t2: 10_000, t3: 20_000 } },
    {
      write: () => {},
      asdu: () => void linkStats.asdus++,
      close: (r) => void linkStats.closes.set(r.code, (linkStats.closes.get(r.code) ?? 0) + 1),
      stateChange: (st) => {
        if (st === 'started') linkStats.started++;
      },
    },
  );
  link = l;
  l.open();
  // most links get their data transfer started so that I-frames are processed
  if (rnd() < 0.8) {
    if (linkRole === 'controlled') l.receive(STARTDT_ACT);
    else if (l.start()) l.receive(STARTDT_CON);
  }
}
function linkStep(f: Uint8Array): void {
  if (link.state === 'closed') newLink();
  const r = rnd();
  if (r < 0.02) clock.advance(Math.floor(rnd() * 40_000));
  else if (r < 0.03 && link.state === 'started') {
    const d = decodeApdu(f);
    if (d.ok && d.value.asdu) link.send(d.value.asdu);
  } else if (r < 0.035) {
    if (linkRole === 'controlling') link.stop();
  }
  if (f.length >= 6 && f[0] === 0x68 && (f[2] & 1) === 0 && link.state === 'started' && rnd() < 0.7) {
    // an I-frame with the sequence numbers the link expects, so that its ASDU is processed
    const snap = link.snapshot();
    f = Uint8Array.from(f);
    f[2] = (snap.vr << 1) & 0xfe;
    f[3] = (snap.vr >> 7) & 0xff;
    f[4] = (snap.vs << 1) & 0xfe;
    f[5] = (snap.vs >> 7) & 0xff;
  }
  // feed in 1-3 random chunks
  let o = 0;
  while (o < f.length && link.state !== 'closed') {
    const n = 1 + Math.floor(rnd() * (f.length - o));
    link.receive(f.subarray(o, o + n));
    o += n;
  }
  clock.advance(Math.floor(rnd() * 50));
}

// ---- TCP reassembly ----
const tcpStats = { connections: 0, segments: 0, delivered: 0, apdus: 0, issues: new Map<string, number>() };
const tcpSplitter = new ApduSplitter({
  frame: (fr) => {
    tcpStats.apdus++;
    const r = decodeApdu(fr);
    if (!r.ok && !(r.error instanceof CodecError)) throw new Error('reassembled frame: non-CodecError');
  },
});
const tcpReport = (i: { code: string }): void => void tcpStats.issues.set(i.code, (tcpStats.issues.get(i.code) ?? 0) + 1);
const segMeta: SegmentMeta = { frame: 0, tsSec: 0, tsNsec: 0, tsDigits: 6 };
const sink = {
  data: (b: Uint8Array) => {
    tcpStats.delivered += b.length;
    tcpSplitter.push(b);
  },
  gap: () => void tcpSplitter.reset(),
  end: () => void tcpSplitter.reset(),
};
let tcpDir = new TcpDirection(sink, tcpReport, 0, { maxBufferedSegments: 64, maxBufferedBytes: 16384 });
let tcpSeq = 0;
let tcpSegs = 0;
function newConnection(): void {
  tcpStats.connections++;
  tcpDir = new TcpDirection(sink, tcpReport, 0, { maxBufferedSegments: 64, maxBufferedBytes: 16384 });
  tcpSeq = Math.floor(rnd() * 0x100000000) >>> 0;
  tcpSegs = 0;
  if (rnd() < 0.7) tcpDir.segment(tcpSeq, TCP_SYN, new Uint8Array(0), 0, segMeta);
  tcpSeq = (tcpSeq + 1) >>> 0;
}
newConnection();
function tcpStep(f: Uint8Array): void {
  segMeta.frame++;
  tcpStats.segments++;
  if (++tcpSegs > 2000 || rnd() < 0.002) newConnection();
  const r = rnd();
  let seq = tcpSeq;
  if (r < 0.05) seq = (tcpSeq - Math.floor(rnd() * 600)) >>> 0; // overlap / stale
  else if (r < 0.1) seq = (tcpSeq + Math.floor(rnd() * 3000)) >>> 0; // out of order / beyond window
  else if (r < 0.11) seq = Math.floor(rnd() * 0x100000000) >>> 0; // far
  let flags = TCP_ACK;
  const fl = rnd();
  if (fl < 0.002) flags |= TCP_SYN;
  else if (fl < 0.004) flags |= TCP_FIN;
  else if (fl < 0.006) flags = TCP_RST;
  // the receiver's acknowledgement: mostly what was sent, sometimes behind or ahead
  const ar = rnd();
  if (ar < 0.6) tcpDir.peerAck(tcpSeq, 65535, segMeta);
  else if (ar < 0.7) tcpDir.peerAck((tcpSeq - Math.floor(rnd() * 100)) >>> 0, Math.floor(rnd() * 70000), segMeta);
  else if (ar < 0.72) tcpDir.peerAck((tcpSeq + Math.floor(rnd() * 100)) >>> 0, Math.floor(rnd() * 2000), segMeta);
  const cut = rnd() < 0.01 ? Math.floor(rnd() * f.length) : f.length;
  tcpDir.segment(seq, flags, f.subarray(0, cut), f.length, segMeta);
  if (seq === tcpSeq) tcpSeq = (tcpSeq + f.length) >>> 0;
  if (flags & (TCP_FIN | TCP_RST)) newConnection();
}

// ---- whole captures ----
const capStats = { captures: 0, bytes: 0, apdus: 0, issues: 0, flows: 0, evicted: 0 };
const recent: Uint8Array[] = [];
function captureStep(): void {
  const packets: PacketToWrite[] = [];
  const nflows = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < nflows; k++) {
    const s = new SynthSession({ ip: `10.0.${k}.1`, port: 40000 + Math.floor(rnd() * 100) }, { ip: '10.0.0.2', port: rnd() < 0.8 ? 2404 : 5000 + k }, { type: 'ethernet' }, { clientIsn: Math.floor(rnd() * 0xffffffff), serverIsn: Math.floor(rnd() * 0xffffffff) });
    if (rnd() < 0.8) s.handshake();
    for (const f of recent) {
      const side = rnd() < 0.5 ? 'client' : 'server';
      const m = rnd();
      if (m < 0.85) s.send(side, f, rnd() < 0.2 ? 1 + Math.floor(rnd() * 8) : 0);
      else if (m < 0.92) s.raw(side, (s.nextSeq(side) - Math.floor(rnd() * 40)) >>> 0, f);
      else if (m < 0.97) s.raw(side, (s.nextSeq(side) + Math.floor(rnd() * 4000)) >>> 0, f, TCP_ACK, { window: Math.floor(rnd() * 65536) });
      else s.raw(side, Math.floor(rnd() * 0xffffffff), f, [TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_SYN][Math.floor(rnd() * 4)]);
    }
    packets.push(...s.packets);
  }
  const file = rnd() < 0.5 ? writePcap(packets) : writePcapng(packets);
  // damage: bit flips and truncation
  const flips = Math.floor(rnd() * 6);
  for (let k = 0; k < flips; k++) file[Math.floor(rnd() * file.length)] ^= 1 << Math.floor(rnd() * 8);
  const bytes = rnd() < 0.1 ? file.subarray(0, Math.floor(rnd() * file.length)) : file;
  const an = new CaptureAnalyzer(
    {
      record: () => void capStats.apdus++,
      issue: () => void capStats.issues++,
    },
    { maxFlows: 2, idleTimeout: 1 },
  );
  const chunk = rnd() < 0.5 ? bytes.length : 1 + Math.floor(rnd() * 300);
  for (let o = 0; o < bytes.length; o += chunk) an.push(bytes.subarray(o, o + chunk));
  an.end();
  const sm = an.summary();
  if (sm.flowTable.active > 2) throw new Error(`flow table above its bound: ${sm.flowTable.active}`);
  capStats.captures++;
  capStats.bytes += bytes.length;
  capStats.flows += sm.flowTable.total;
  capStats.evicted += sm.flowTable.evicted;
}

newLink();
let maxOpMs = 0;
let hangs = 0;
/**
 * Run one step; a step that uses more than 1 s of CPU counts as a hang (reported, the run fails).
 * CPU time, not wall time: the run is meant to be niced on a busy machine.
 */
function timed(what: string, f: () => void): void {
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  const d = (u.user + u.system) / 1000;
  if (d > maxOpMs) maxOpMs = d;
  if (d > 1000) {
    hangs++;
    throw new Error(`${what} took ${d.toFixed(0)} ms of CPU`);
  }
}

const started = process.hrtime.bigint();
let last = Date.now();
let bytes = 0;
try {
  for (let i = 0; i < count; i++) {
    const f = mutate(corpus[i % corpus.length], rnd, corpus);
    bytes += f.length;
    let code: string;
    if (i % fullEvery === 0) code = checkFrame(f, rnd);
    else {
      const r = decodeApdu(f);
      if (!r.ok && !(r.error instanceof CodecError)) throw new Error(`non-CodecError for ${Buffer.from(f).toString('hex')}`);
      code = r.ok ? 'ok' : r.error.code;
    }
    hist.set(code, (hist.get(code) ?? 0) + 1);
    splitter.push(f);
    if (splitter.buffered > 254) throw new Error('splitter buffered more than 254 bytes');
    timed('link', () => linkStep(f));
    timed('reassembly', () => tcpStep(f));
    recent.push(f);
    if (recent.length > 24) recent.shift();
    if (i % captureEvery === captureEvery - 1) timed('capture', captureStep);
    if ((i & 0xffff) === 0 && Date.now() - last > 5000) {
      last = Date.now();
      console.error(`  ${i.toLocaleString('en')} frames...`);
    }
  }
} catch (e) {
  console.error(`FAILED (seed ${seed}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
}
const secs = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`seed ${seed}: ${count.toLocaleString('en')} frames (${(bytes / 1e6).toFixed(1)} MB) in ${secs.toFixed(1)} s = ${Math.round(count / secs).toLocaleString('en')} frames/s; full invariant check on every ${fullEvery}th frame; splitter emitted ${splitterFrames.toLocaleString('en')} frames, skipped ${splitter.junkBytes.toLocaleString('en')} junk bytes`);
console.log(`link: ${linkStats.links.toLocaleString('en')} links (${linkStats.started.toLocaleString('en')} started), ${linkStats.asdus.toLocaleString('en')} ASDUs delivered; closes: ${[...linkStats.closes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`reassembly: ${tcpStats.segments.toLocaleString('en')} segments in ${tcpStats.connections.toLocaleString('en')} connections, ${(tcpStats.delivered / 1e6).toFixed(1)} MB delivered, ${tcpStats.apdus.toLocaleString('en')} APDUs split; issues: ${[...tcpStats.issues].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`captures: ${capStats.captures.toLocaleString('en')} (${(capStats.bytes / 1e6).toFixed(1)} MB, ${capStats.flows.toLocaleString('en')} flows, ${capStats.evicted.toLocaleString('en')} evicted), ${capStats.apdus.toLocaleString('en')} APDUs, ${capStats.issues.toLocaleString('en')} issues`);
console.log(`crashes 0, hangs ${hangs}; slowest single step ${maxOpMs.toFixed(1)} ms of CPU`);
console.log('result histogram:');
for (const [k, v] of [...hist].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(16)} ${String(v).padStart(10)}  ${((100 * v) / count).toFixed(2)}%`);
