/**
 * Long fuzz run of the codec, the link state machine and the capture side (npm run fuzz --
 * [--seed N] [--count N] [--full-every N] [--capture-every N] [--hang-ms MS] [--watch-frame N]).
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
 * No call may throw. Every step counts its work (bytes fed, events and timers of the link, segments,
 * deliveries and issues of the reassembly, bytes, records and issues of a capture). A step that uses
 * more than `--hang-ms` (1000) ms of CPU is reported with its frame number, user/system split and
 * work; it counts as a hang unless a step of the same kind did at least as much work in less CPU
 * time than that: then the time was not spent on the work (on this shared VM, time the host takes
 * the virtual CPU away is charged to the running process: `steal` stays 0 in /proc/stat), and the run
 * goes on. Prints frames/s, the histogram of results, the link / reassembly / capture counters and
 * the work figures. Exit code 1 on a broken invariant (at once) or a hang (at the end).
 */
import { ApduSplitter, CodecError, decodeApdu, encodeUFrame } from '../src/codec/index.js';
import { CaptureAnalyzer } from '../src/capture/analyze.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../src/capture/packet.js';
import { TcpDirection, type SegmentMeta } from '../src/capture/tcp-reassembly.js';
import { type PacketToWrite, SynthSession, writePcap, writePcapng } from '../src/capture/writer.js';
import { type TimerHandle, VirtualClock } from '../src/clock.js';
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
const hangMs = arg('hang-ms', 1000);
/** Print the CPU time and work of every step of this frame (to replay a slow step: same seed). */
const watchFrame = arg('watch-frame', -1);

/** Work units of the current run (see the header): a step's work is the difference across it. */
let work = 0;

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
/** A virtual clock that counts the timers it fires as work. */
class CountingClock extends VirtualClock {
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    return super.setTimeout(() => {
      work++;
      fn();
    }, ms);
  }
}
const clock = new CountingClock(0);
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
      write: () => void work++,
      asdu: () => {
        work++;
        linkStats.asdus++;
      },
      close: (r) => {
        work++;
        linkStats.closes.set(r.code, (linkStats.closes.get(r.code) ?? 0) + 1);
      },
      stateChange: (st) => {
        work++;
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
    work += n;
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
    work++;
    const r = decodeApdu(fr);
    if (!r.ok && !(r.error instanceof CodecError)) throw new Error('reassembled frame: non-CodecError');
  },
});
const tcpReport = (i: { code: string }): void => {
  work++;
  tcpStats.issues.set(i.code, (tcpStats.issues.get(i.code) ?? 0) + 1);
};
const segMeta: SegmentMeta = { frame: 0, tsSec: 0, tsNsec: 0, tsDigits: 6 };
const sink = {
  data: (b: Uint8Array) => {
    tcpStats.delivered += b.length;
    work += 1 + b.length;
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
  work += 1 + cut;
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
      record: () => {
        work++;
        capStats.apdus++;
      },
      issue: () => {
        work++;
        capStats.issues++;
      },
    },
    { maxFlows: 2, idleTimeout: 1 },
  );
  work += bytes.length;
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
let maxOpAt = '';
/** Index of the frame being processed (named in reports). */
let frameIndex = 0;
interface StepKind {
  /** Most work of a step that stayed under the CPU limit, its CPU time and frame. */
  maxWork: number;
  maxWorkMs: number;
  maxWorkFrame: number;
  steps: number;
  totalWork: number;
}
const kinds = new Map<string, StepKind>();
interface SlowStep {
  what: string;
  frame: number;
  cpuMs: number;
  userMs: number;
  sysMs: number;
  work: number;
}
const slow: SlowStep[] = [];
/**
 * Run one step, measuring its CPU time and its work. A step over `hangMs` of CPU is kept for the
 * verdict at the end (see the header). CPU time, not wall time: the run is meant to be niced on a
 * busy machine.
 */
function timed(what: string, f: () => void): void {
  const w0 = work;
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  const w = work - w0;
  const d = (u.user + u.system) / 1000;
  let k = kinds.get(what);
  if (k === undefined) kinds.set(what, (k = { maxWork: -1, maxWorkMs: 0, maxWorkFrame: 0, steps: 0, totalWork: 0 }));
  k.steps++;
  k.totalWork += w;
  if (frameIndex === watchFrame) console.log(`watched frame ${frameIndex}: ${what} step ${d.toFixed(3)} ms of CPU (user ${(u.user / 1000).toFixed(3)}, system ${(u.system / 1000).toFixed(3)}), work ${w}`);
  if (d > maxOpMs) {
    maxOpMs = d;
    maxOpAt = `${what} step of frame ${frameIndex}, work ${w}`;
  }
  if (d > hangMs) {
    slow.push({ what, frame: frameIndex, cpuMs: d, userMs: u.user / 1000, sysMs: u.system / 1000, work: w });
    console.error(`  slow ${what} step of frame ${frameIndex}: ${d.toFixed(0)} ms of CPU (user ${(u.user / 1000).toFixed(0)}, system ${(u.system / 1000).toFixed(0)}), work ${w}`);
  } else if (w > k.maxWork) {
    k.maxWork = w;
    k.maxWorkMs = d;
    k.maxWorkFrame = frameIndex;
  }
}

const started = process.hrtime.bigint();
let last = Date.now();
let bytes = 0;
try {
  for (let i = 0; i < count; i++) {
    frameIndex = i;
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
  console.error(`FAILED (seed ${seed}, frame ${frameIndex}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
}
const secs = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`seed ${seed}: ${count.toLocaleString('en')} frames (${(bytes / 1e6).toFixed(1)} MB) in ${secs.toFixed(1)} s = ${Math.round(count / secs).toLocaleString('en')} frames/s; full invariant check on every ${fullEvery}th frame; splitter emitted ${splitterFrames.toLocaleString('en')} frames, skipped ${splitter.junkBytes.toLocaleString('en')} junk bytes`);
console.log(`link: ${linkStats.links.toLocaleString('en')} links (${linkStats.started.toLocaleString('en')} started), ${linkStats.asdus.toLocaleString('en')} ASDUs delivered; closes: ${[...linkStats.closes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`reassembly: ${tcpStats.segments.toLocaleString('en')} segments in ${tcpStats.connections.toLocaleString('en')} connections, ${(tcpStats.delivered / 1e6).toFixed(1)} MB delivered, ${tcpStats.apdus.toLocaleString('en')} APDUs split; issues: ${[...tcpStats.issues].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`captures: ${capStats.captures.toLocaleString('en')} (${(capStats.bytes / 1e6).toFixed(1)} MB, ${capStats.flows.toLocaleString('en')} flows, ${capStats.evicted.toLocaleString('en')} evicted), ${capStats.apdus.toLocaleString('en')} APDUs, ${capStats.issues.toLocaleString('en')} issues`);
// a slow step is a hang unless a faster step of its kind did at least as much work
const hangs = slow.filter((x) => x.work > (kinds.get(x.what)?.maxWork ?? -1));
console.log(`crashes 0, hangs ${hangs.length}; slowest single step ${maxOpMs.toFixed(1)} ms of CPU (${maxOpAt})`);
for (const [what, k] of kinds) console.log(`work per ${what} step: mean ${(k.totalWork / k.steps).toFixed(1)}, most in a step under ${hangMs} ms of CPU ${k.maxWork} (frame ${k.maxWorkFrame}, ${k.maxWorkMs.toFixed(1)} ms)`);
for (const x of slow) console.log(`slow step: ${x.what} of frame ${x.frame}, ${x.cpuMs.toFixed(0)} ms of CPU (user ${x.userMs.toFixed(0)}, system ${x.sysMs.toFixed(0)}), work ${x.work}: ${hangs.includes(x) ? 'HANG (more work than any fast step)' : "not a hang (as much work ran fast elsewhere: the time was the machine's)"}`);
console.log('result histogram:');
for (const [k, v] of [...hist].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(16)} ${String(v).padStart(10)}  ${((100 * v) / count).toFixed(2)}%`);
if (hangs.length > 0) process.exitCode = 1;
