/**
 * Replay of real device sessions (test/fixtures/captures) through our link machines.
 *
 * Each TCP connection of a capture is read with the capture reader (src/capture/reader.ts,
 * packet.ts, tcp-reassembly.ts) into the two directions' byte streams, in capture order. Then,
 * for a session that is captured from its start (STARTDT act before any I-frame):
 *
 * - the station's bytes, in their original TCP segmentation, are fed to a `Link` in the
 *   **controlling** role, and the master's bytes to a `Link` in the **controlled** role;
 * - each link *mirrors* the other real peer: every I-frame the real master sent is sent again by
 *   our controlling link (`send(decodedAsdu)`), and its STARTDT/STOPDT act by `start()`/`stop()`;
 *   every I-frame the real station sent is sent again by our controlled link. So our links' V(S)
 *   follow the real peers' and the real N(R) values can be checked against them.
 *
 * Asserted per session:
 * 1. neither link closes: no E_SEQ_ORDER (N(S) continuity), E_SEQ_ACK (N(R) acknowledging only
 *    frames sent, never going back), E_I_WHILE_STOPPED, E_UNEXPECTED_U (U-frames valid for role
 *    and state), E_MALFORMED (every APDU decodes);
 * 2. every received I-frame is delivered as an ASDU, in order, as many as the capture holds;
 * 3. every I-frame our links mirror is accepted by `send` (state and window) and is **byte for byte
 *    the real device's frame** except possibly N(R) (our N(R) is what this replay fed before it;
 *    the capture's vantage point can order a frame before an acknowledgement the device had not seen);
 * 4. both links end in the data transfer state the session ended in.
 *
 * Sessions captured mid-way (no STARTDT, sequence numbers not starting at 0) cannot be replayed into
 * a fresh link; for them the test decodes every APDU and checks N(S) continuity per direction and
 * that N(R) never goes backwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURES_DIR } from '../helpers/captures.js';
import { CaptureReader } from '../../src/capture/reader.js';
import { formatEndpoint, formatIp, PacketDecoder } from '../../src/capture/packet.js';
import { TcpDirection, type StreamSink } from '../../src/capture/tcp-reassembly.js';
import type { Asdu } from '../../src/codec/asdu.js';
import { decodeApdu } from '../../src/codec/apdu.js';
import { ApduSplitter } from '../../src/codec/frame-splitter.js';
import { VirtualClock } from '../../src/clock.js';
import { Link } from '../../src/link/link.js';
import type { LinkCloseReason } from '../../src/link/types.js';

const CAPS = CAPTURES_DIR;
/** File, and how many of its connections are replayed from their start. */
const FILES: [string, number][] = [['fkie_epf_iec104.pcap', 1], ['ITI_090813_diverse.pcap', 0], ['nDPI_IEC104.pcap', 0], ['automayt_IEC104_SQ.pcapng', 0]];
const PORT = 2404;

type Dir = 'toStation' | 'toMaster';
interface Chunk {
  dir: Dir;
  bytes: Uint8Array;
  frame: number;
}
interface Session {
  name: string;
  chunks: Chunk[];
  gaps: number;
}

/** The captured connections of a file, each as its byte chunks in capture order. */
function sessions(bytes: Uint8Array): Session[] {
  const out = new Map<string, { s: Session; dirs: Map<Dir, TcpDirection> }>();
  const dec = new PacketDecoder();
  const problems: string[] = [];
  const reader = new CaptureReader({
    packet(p) {
      if (dec.decode(p.linkType, p.data) !== 'ok') return;
      const k = dec.pkt;
      const src = formatEndpoint(formatIp(k.srcIp), k.srcPort);
      const dst = formatEndpoint(formatIp(k.dstIp), k.dstPort);
      const dir: Dir = k.dstPort === PORT ? 'toStation' : 'toMaster';
      if (k.dstPort !== PORT && k.srcPort !== PORT) return;
      const key = dir === 'toStation' ? `${src} -> ${dst}` : `${dst} -> ${src}`;
      let f = out.get(key);
      if (!f) {
        const s: Session = { name: key, chunks: [], gaps: 0 };
        const sink = (d: Dir): StreamSink => ({
          data: (b, meta) => s.chunks.push({ dir: d, bytes: new Uint8Array(b), frame: meta.frame }),
          gap: () => void s.gaps++,
          end: () => {},
        });
        f = { s, dirs: new Map([['toStation', new TcpDirection(sink('toStation'), (i) => problems.push(i.message), out.size)], ['toMaster', new TcpDirection(sink('toMaster'), (i) => problems.push(i.message), out.size)]]) };
        out.set(key, f);
      }
      f.dirs.get(dir)!.segment(k.seq, k.flags, k.payload, k.payloadLen, { frame: p.frame, tsSec: p.tsSec, tsNsec: p.tsNsec, tsDigits: p.tsDigits });
    },
  });
  reader.push(bytes);
  reader.end();
  for (const f of out.values()) for (const d of f.dirs.values()) d.segment(0, 0, new Uint8Array(0), 0, { frame: 0, tsSec: 0, tsNsec: 0, tsDigits: 6 });
  return [...out.values()].map((f) => f.s).filter((s) => s.chunks.length > 0);
}

/** Split every chunk of one direction into APDUs (copies), keeping the chunk index. */
function apdusOf(chunks: Chunk[]): { chunk: number; apdu: Uint8Array }[] {
  const out: { chunk: number; apdu: Uint8Array }[] = [];
  let current = 0;
  const sp = new ApduSplitter({ frame: (f) => void out.push({ chunk: current, apdu: new Uint8Array(f) }), junk: () => assert.fail('junk in the stream'), error: (e) => assert.fail(e.message) });
  chunks.forEach((c, i) => {
    current = i;
    sp.push(c.bytes);
  });
  return out;
}

const isI = (f: Uint8Array): boolean => (f[2] & 1) === 0;
const uFn = (f: Uint8Array): number | undefined => ((f[2] & 3) === 3 ? f[2] & 0xfc : undefined);
const STARTDT_ACT = 0x04;
const STOPDT_ACT = 0x10;

interface ReplayOutcome {
  iToStation: number;
  iToMaster: number;
  nrDiffers: number;
  states: [string, string];
}

/** Replay a session from its start through two links (see the file comment). */
function replay(s: Session): ReplayOutcome {
  const clock = new VirtualClock(); // no time passes: no t1/t2/t3 expiry during the replay
  const params = { k: 32767, w: 32767 };
  const closes: string[] = [];
  const closed = (who: string) => (r: LinkCloseReason): void => void closes.push(`${who}: ${r.code} ${r.message}`);
  let lastWrite: Uint8Array | undefined;
  const delivered: Record<Dir, Asdu[]> = { toStation: [], toMaster: [] };
  // fed with the station's bytes, mirrors the real master
  const asMaster = new Link({ role: 'controlling', params, clock }, { write: (b) => (lastWrite = b), asdu: (a) => void delivered.toMaster.push(a), close: closed('controlling link') });
  // fed with the master's bytes, mirrors the real station
  const asStation = new Link({ role: 'controlled', params, clock }, { write: (b) => (lastWrite = b), asdu: (a) => void delivered.toStation.push(a), close: closed('controlled link') });
  asMaster.open();
  asStation.open();
  const real: Record<Dir, Asdu[]> = { toStation: [], toMaster: [] };
  let nrDiffers = 0;
  for (const c of s.chunks) {
    const feed = c.dir === 'toMaster' ? asMaster : asStation;
    const mirror = c.dir === 'toMaster' ? asStation : asMaster;
    feed.receive(c.bytes);
    for (const { apdu } of apdusOf([c])) {
      const where = `${s.name} frame ${c.frame}`;
      if (isI(apdu)) {
        const d = decodeApdu(apdu);
        assert.ok(d.ok, `${where}: decodes`);
        const a = d.value.asdu!;
        real[c.dir].push(a);
        lastWrite = undefined;
        assert.ok(mirror.send(a), `${where}: our ${mirror.role} link accepts the peer's I-frame for sending (state ${mirror.state})`);
        assert.ok(lastWrite, `${where}: written`);
        const ours: Uint8Array = lastWrite;
        assert.deepEqual([...ours.subarray(0, 4)], [...apdu.subarray(0, 4)], `${where}: start, length and N(S) as the device's`);
        assert.deepEqual(Buffer.from(ours.subarray(6)).toString('hex'), Buffer.from(apdu.subarray(6)).toString('hex'), `${where}: ASDU re-encoded byte for byte`);
        if (ours[4] !== apdu[4] || ours[5] !== apdu[5]) nrDiffers++;
      } else if (c.dir === 'toStation' && uFn(apdu) === STARTDT_ACT) asMaster.start();
      else if (c.dir === 'toStation' && uFn(apdu) === STOPDT_ACT) asMaster.stop();
    }
    assert.deepEqual(closes, [], `${s.name} frame ${c.frame}: no protocol error`);
  }
  for (const d of ['toStation', 'toMaster'] as const) {
    assert.equal(delivered[d].length, real[d].length, `${s.name}: every ${d} I-frame delivered`);
    delivered[d].forEach((a, i) => {
      assert.equal(a.typeId, real[d][i].typeId);
      assert.equal(a.cot, real[d][i].cot);
      assert.deepEqual(a.objects.map((o) => o.ioa), real[d][i].objects.map((o) => o.ioa));
    });
  }
  return { iToStation: real.toStation.length, iToMaster: real.toMaster.length, nrDiffers, states: [asMaster.state, asStation.state] };
}

/** Mid-session captures: N(S) continuity and N(R) monotony per direction. */
function continuity(s: Session): { iFrames: number } {
  let n = 0;
  for (const dir of ['toStation', 'toMaster'] as const) {
    let ns: number | undefined;
    let nr: number | undefined;
    for (const { apdu } of apdusOf(s.chunks.filter((c) => c.dir === dir))) {
      const d = decodeApdu(apdu);
      assert.ok(d.ok, `${s.name} ${dir}: APDU decodes`);
      const apci = d.value.apci;
      if (apci.format === 'U') continue;
      if (nr !== undefined) assert.ok(((apci.recvSeq - nr) & 0x7fff) < 0x4000, `${s.name} ${dir}: N(R) ${apci.recvSeq} after ${nr} went back`);
      nr = apci.recvSeq;
      if (apci.format !== 'I') continue;
      n++;
      if (ns !== undefined) assert.equal(apci.sendSeq, (ns + 1) & 0x7fff, `${s.name} ${dir}: N(S) continuity`);
      ns = apci.sendSeq;
    }
  }
  return { iFrames: n };
}

function fromStart(s: Session): boolean {
  for (const c of s.chunks) {
    for (const { apdu } of apdusOf([c])) {
      if (isI(apdu)) return false;
      if (c.dir === 'toStation' && uFn(apdu) === STARTDT_ACT) return true;
    }
  }
  return false;
}

for (const [file, replayable] of FILES) {
  const path = join(CAPS, file);
  test(`replay ${file} through our link machines`, () => {
    const list = sessions(readFileSync(path));
    assert.ok(list.length > 0, 'at least one IEC 104 connection');
    let iFrames = 0;
    assert.equal(list.filter(fromStart).length, replayable, 'connections captured from STARTDT on');
    for (const s of list) {
      assert.equal(s.gaps, 0, `${s.name}: no missing TCP bytes`);
      if (fromStart(s)) {
        const r = replay(s);
        console.log(`${file} ${s.name}: replayed ${r.iToStation} master I-frames and ${r.iToMaster} station I-frames, final states ${r.states.join('/')}, ${r.nrDiffers} N(R) differing by vantage point`);
        assert.equal(r.states[0], r.states[1], 'both links in the same data transfer state');
        iFrames += r.iToMaster + r.iToStation;
      } else {
        const r = continuity(s);
        console.log(`${file} ${s.name}: mid-session capture, ${r.iFrames} I-frames checked for continuity`);
        iFrames += r.iFrames;
      }
    }
    assert.ok(iFrames > 0, 'I-frames checked');
  });
}
