/**
 * Per-APDU analysis of a capture: pcap / pcapng bytes in, one {@link ApduRecord} per APDU out.
 *
 * Pipeline: {@link CaptureReader} (file records) → {@link PacketDecoder} (link, IP, TCP) → flow
 * table → {@link TcpDirection} (reassembly per direction) → codec `ApduSplitter` → `decodeApdu`.
 *
 * IEC 104 flows are recognised by port (2404 and `ports`), or heuristically on any port when the
 * first bytes of a direction form a valid APDU. Flows on `tlsPorts` (19998, IEC 62351-3) are reported
 * as encrypted with what their hellos show. The station is the side with the IEC 104 port; when that
 * does not decide (both or neither side), the first APDU that shows a role (STARTDT act/con,
 * monitor-direction types, activation vs confirmation causes) decides.
 */
import { decodeApdu, type Apdu } from '../codec/apdu.js';
import type { CodecError } from '../codec/errors.js';
import { ApduSplitter, type SplitterEvents } from '../codec/frame-splitter.js';
import { apduJsonText, apduToJson, type ApduJson } from '../codec/json-view.js';
import { octetsToHex } from '../codec/explain.js';
import { type CodecOptions, IEC104_OPTIONS, resolveOptions } from '../codec/options.js';
import { typeInfo } from '../codec/type-table.js';
import { type CaptureIssue, type CaptureIssueCode, issue } from './issues.js';
import { type IpDefragOptions, IpDefragmenter } from './ip-fragments.js';
import { formatIp, formatEndpoint, LINKTYPE, PacketDecoder, type PacketSkip, TCP_ACK, TCP_SYN } from './packet.js';
import { type CaptureFormat, CaptureReader, type CapturedPacket, formatPacketTime } from './reader.js';
import { type ReassemblyOptions, type SegmentMeta, type StreamEndReason, type StreamSink, TcpDirection } from './tcp-reassembly.js';
import { parseTlsHello, type TlsInfo } from './tls.js';

/** Direction of an APDU between the controlling station (master) and the controlled station. */
export type ApduDirection = 'master→station' | 'station→master';

/** One endpoint of a flow. */
export interface Endpoint {
  /** Address text (dotted IPv4 or compressed IPv6). */
  ip: string;
  port: number;
  /** `ip:port`, IPv6 as `[addr]:port`. */
  text: string;
}

/** One APDU found in the capture. */
export interface ApduRecord {
  /** Capture frame number (1-based, as Wireshark) of the segment that completed the APDU. */
  frame: number;
  /** Time of that frame, ISO 8601 UTC with the capture's precision (µs or ns). */
  ts: string;
  /** The same time as epoch milliseconds (fractional; sub-µs digits may round). */
  tsMs: number;
  /** Sender `ip:port`. */
  src: string;
  /** Receiver `ip:port`. */
  dst: string;
  /** Who sent it, when known. */
  direction: ApduDirection | undefined;
  /** Flow index (0-based, order of first appearance in the capture). */
  flow: number;
  /** The decoded APDU, or absent when `error` is set. */
  apdu?: Apdu;
  /** Why the APDU could not be decoded. */
  error?: CodecError;
  /** The APDU octets (present on errors only; the splitter's buffer is reused otherwise). */
  raw?: Uint8Array;
  /** Sender and receiver endpoints (for filters). */
  from: Endpoint;
  to: Endpoint;
}

/** JSON form of an {@link ApduRecord} (`iec104 analyze --json`). */
export interface ApduRecordJson {
  frame: number;
  ts: string;
  src: string;
  dst: string;
  direction: ApduDirection | null;
  flow: number;
  apdu?: ApduJson;
  error?: ReturnType<CodecError['toJSON']>;
  /** Hex of the APDU octets, with `error`. */
  raw?: string;
}

/** What kind of traffic a TCP flow carries. */
export type FlowKind = 'iec104' | 'tls' | 'other' | 'pending';

/** A TCP flow as the analyzer sees it. */
export interface FlowInfo {
  index: number;
  /** The side that opened the connection (or the first sender when the handshake is missing). */
  a: Endpoint;
  b: Endpoint;
  kind: FlowKind;
  /** How the kind was decided. */
  detectedBy?: 'port' | 'heuristic' | 'tls-port';
  /** Which side is the controlled station, when known. */
  station?: 'a' | 'b';
  firstFrame: number;
  lastFrame: number;
  packets: number;
  /** TCP payload octets a→b and b→a. */
  payloadBytes: [number, number];
  apdus: number;
  decodeErrors: number;
  /** For TLS flows: what the hellos show. */
  tls?: TlsInfo;
  /** Directions read in arrival order because sequence numbers do not advance. */
  arrivalOrder: boolean;
}

/** Why the analyser stopped following a flow's TCP connection. */
export type FlowEndReason = 'fin' | 'rst' | 'syn' | 'idle' | 'evicted';

/**
 * A TCP stream of a flow could not be followed the way its receiver reads it: `E_TCP_DESYNC` (two
 * copies of unacknowledged bytes differ: evasion or a damaged capture) or `W_TCP_OUT_OF_WINDOW`
 * (a data segment the receiver drops). The monitor turns these into alerts.
 */
export interface StreamAnomaly {
  code: 'E_TCP_DESYNC' | 'W_TCP_OUT_OF_WINDOW';
  message: string;
  frame: number;
  /** Frame time, epoch milliseconds. */
  tsMs: number;
  /** Sender and receiver of the direction. */
  src: string;
  dst: string;
  /** Who sent it, when known. */
  direction: ApduDirection | undefined;
  flow: number;
}

/** Flow table counters (the table is bounded: see {@link AnalyzeOptions.maxFlows}). */
export interface FlowTableStats {
  /** Flows seen (each TCP connection once; a new SYN on the same addresses keeps its flow). */
  total: number;
  /** Flows in the table now. */
  active: number;
  /** Most flows in the table at once. */
  peak: number;
  /** Flows whose connection ended (FIN both ways or RST) and whose state was freed. */
  closed: number;
  /** Flows dropped after `idleTimeout` seconds of capture time without a packet. */
  idle: number;
  /** Flows dropped because the table was full (least recently active first). */
  evicted: number;
  /** The table's bound. */
  maxFlows: number;
  /** Flows not in `AnalyzeSummary.flows` (beyond `maxListedFlows`). */
  unlisted: number;
}

/** Options of the analyzer. */
export interface AnalyzeOptions {
  /** TCP ports that carry IEC 104 (default [2404]). */
  ports?: number[];
  /** TCP ports of TLS-protected IEC 104 (default [19998]). */
  tlsPorts?: number[];
  /** Recognise IEC 104 on other ports from the first bytes (default true). */
  heuristic?: boolean;
  /** Field widths of the ASDU (default IEC 104: COT 2, CA 2, IOA 3). */
  codec?: Partial<CodecOptions>;
  /** Out-of-order buffering limits. */
  reassembly?: ReassemblyOptions;
  /** IP fragment reassembly timeouts and memory bounds. */
  fragments?: IpDefragOptions;
  /**
   * Most flows followed at once (default 20000, a few KB each). When a new flow needs room the
   * least recently active flow is closed (`W_FLOW_EVICTED`, counted in `flowTable.evicted`).
   * Memory stays flat whatever the number of flows in the capture.
   */
  maxFlows?: number;
  /** A flow without a packet for this many seconds of capture time is closed (default 300). */
  idleTimeout?: number;
  /** Flows described in `AnalyzeSummary.flows` (default 10000, the first ones); the rest are counted. */
  maxListedFlows?: number;
}

/** Callbacks of a {@link CaptureAnalyzer}. */
export interface AnalyzeHandlers {
  /**
   * One APDU. `octets` are the APDU's bytes as sent; they are only valid during the call (the
   * splitter's buffer is reused): copy them to keep them.
   */
  record?(r: ApduRecord, octets: Uint8Array): void;
  /** A problem in the file, a packet or a stream. */
  issue?(i: CaptureIssue): void;
  /** A flow's kind was decided (iec104, tls or other). */
  flow?(f: FlowInfo): void;
  /**
   * A TCP connection of a flow ended: FIN seen in both directions, a RST, a SYN that starts a
   * new connection on the same addresses and ports (the flow index is then reused), or the analyser
   * dropped it (`idle` timeout, `evicted` from a full flow table). Forget per-flow state here.
   */
  flowEnd?(f: FlowInfo, reason: FlowEndReason): void;
  /** A TCP stream could not be followed as its receiver reads it (also reported as an issue). */
  streamAnomaly?(a: StreamAnomaly): void;
}

/** Totals after (or during) an analysis. */
export interface AnalyzeSummary {
  format: CaptureFormat | undefined;
  frames: number;
  fileBytes: number;
  tcpSegments: number;
  /** Frames that were not TCP over IP (ARP, UDP, ...). */
  otherFrames: number;
  /** Frames holding an IP fragment of a (possibly) TCP packet (not counted in `otherFrames`). */
  ipFragments: number;
  /** IP datagrams reassembled from those fragments (each counted once in `tcpSegments`). */
  ipReassembled: number;
  /** The first `maxListedFlows` flows (all of them in small captures). */
  flows: FlowInfo[];
  /** Flow table counters. */
  flowTable: FlowTableStats;
  apdus: { total: number; I: number; S: number; U: number };
  /** APDU count by type identification (I-frames). */
  types: Record<number, number>;
  /** U-frame count by function. */
  uFunctions: Record<string, number>;
  /** Undecodable APDUs by codec error code. */
  decodeErrors: Record<string, number>;
  /** Capture / packet / stream problems by code. */
  issues: Partial<Record<CaptureIssueCode, number>>;
}

const END_TEXT: Record<StreamEndReason, string> = { eof: 'the end of the capture', fin: 'FIN', rst: 'RST', syn: 'a new SYN', idle: 'the idle timeout of the flow', evicted: 'the eviction of the flow (flow table full)' };

/** Bytes of a direction kept while deciding whether a flow carries IEC 104. */
const PROBE_LIMIT = 2048;

interface ProbeChunk {
  data: Uint8Array;
  meta: SegmentMeta;
  dir: number;
}

/** First bytes of a flow whose kind is not decided yet (heuristic or TLS hello). */
class Probe {
  readonly chunks: ProbeChunk[] = [];
  /** Bytes kept per direction. */
  readonly len: [number, number] = [0, 0];
}

/*
 * Per-flow memory matters: a port scan or a flood of one-segment connections fills the table
 * (maxFlows, default 20,000). A flow followed as IEC 104 costs its Flow and FlowInfo, two
 * TcpDirections and two FlowSides (prototype methods, no closures), a splitter only in a direction
 * that carried IEC 104 bytes, and a history ring only in a direction that delivered bytes.
 */
class Flow {
  readonly info: FlowInfo;
  dirs: [TcpDirection, TcpDirection] | undefined;
  /** Made with `dirs`: the sinks of the two directions (each holds its splitter). */
  sides: [FlowSide, FlowSide] | undefined;
  /** Only while the kind is being decided. */
  probe: Probe | undefined;
  /** Direction index (0: a→b, 1: b→a) in which the station sends. */
  stationDir: 0 | 1 | undefined;
  /** Directions ended by FIN since the connection began (bit 0: a→b, bit 1: b→a). */
  finned = 0;
  /** Key (IPv4: ip*65536+port; IPv6: hex/port) of side a. */
  aKey: number | string = 0;
  /** Table keys: IPv4 lo/hi endpoint keys, or the IPv6 pair key. */
  lo = 0;
  hi = 0;
  v6key: string | undefined;
  /** Least-recently-active list. */
  prev: Flow | undefined;
  next: Flow | undefined;
  /** Capture time of the last packet, seconds. */
  lastTs = 0;
  /** Window-scale shift each side (a, b) announced in its SYN: -2 no SYN seen, -1 SYN without the option. */
  wscaleA = -2;
  wscaleB = -2;
  /** The connection ended (FIN both ways or RST): reassembly state freed until a new SYN. */
  released = false;
  releasePending = false;
  constructor(info: FlowInfo) {
    this.info = info;
  }
}

/**
 * One direction of a flow: the sink of its reassembly, the receiver of its issues and the events
 * of its splitter, in one small object whose methods live on the prototype (closures per flow cost
 * several hundred bytes each, see {@link Flow}).
 */
class FlowSide implements StreamSink, SplitterEvents {
  /** Made at the direction's first IEC 104 bytes. */
  splitter: ApduSplitter | undefined;
  constructor(
    private readonly an: CaptureAnalyzer,
    readonly flow: Flow,
    readonly dir: 0 | 1,
  ) {}
  data(bytes: Uint8Array, meta: SegmentMeta): void {
    this.an.sideData(this, bytes, meta);
  }
  gap(length: number, meta: SegmentMeta): void {
    this.an.sideGap(this, length, meta);
  }
  end(meta: SegmentMeta | undefined, reason: StreamEndReason): void {
    this.an.sideEnd(this, meta, reason);
  }
  issue(i: CaptureIssue): void {
    this.an.sideIssue(this, i);
  }
  frame(apdu: Uint8Array): void {
    this.an.sideFrame(this, apdu);
  }
  junk(bytes: Uint8Array, streamOffset: number): void {
    this.an.sideJunk(this, bytes, streamOffset);
  }
  error(err: CodecError): void {
    this.an.sideError(this, err);
  }
}

/** Role of the sender an APDU reveals, if any. */
export function senderRole(a: Apdu): 'master' | 'station' | undefined {
  if (a.apci.format === 'U') {
    const f = a.apci.uFunction;
    if (f === 'STARTDT_ACT' || f === 'STOPDT_ACT') return 'master';
    if (f === 'STARTDT_CON' || f === 'STOPDT_CON') return 'station';
    return undefined;
  }
  if (a.asdu === undefined) return undefined;
  const t = typeInfo(a.asdu.typeId);
  if (t === undefined) return undefined;
  if (t.direction === 'monitor') return 'station';
  const cot = a.asdu.cot;
  if (t.direction === 'control') {
    if (cot === 6 || cot === 8) return 'master';
    if (cot === 7 || cot === 9 || cot === 10 || (cot >= 44 && cot <= 47)) return 'station';
  }
  return undefined;
}

/**
 * Streaming capture analyzer. Push file bytes in any chunking; records, issues and flow decisions
 * come through the handlers. Never throws on bad input.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { CaptureAnalyzer, SynthSession, writePcap, encodeUFrame } from 'iec104';
 * // a tiny capture: handshake, then STARTDT act / con
 * const s = new SynthSession({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
 * s.send('client', encodeUFrame('STARTDT_ACT')).send('server', encodeUFrame('STARTDT_CON'));
 * const file = writePcap(s.packets);
 * const seen: string[] = [];
 * const an = new CaptureAnalyzer({ record: (r) => seen.push(`${r.frame} ${r.direction} ${r.apdu?.apci.format}`) });
 * an.push(file.subarray(0, 50)); // any chunking: a file, stdin, a live pipe
 * an.push(file.subarray(50));
 * an.end();
 * assert.deepEqual(seen, ['4 master→station U', '5 station→master U']);
 * assert.equal(an.summary().apdus.U, 2);
 * ```
 */
export class CaptureAnalyzer {
  private readonly reader: CaptureReader;
  private readonly dec = new PacketDecoder();
  private readonly v4 = new Map<number, Map<number, Flow>>();
  private readonly v6 = new Map<string, Flow>();
  /** The first flows (kept for the summary). */
  private readonly listed: Flow[] = [];
  /** Least recently active flow (head) to most recent (tail). */
  private lruHead: Flow | undefined;
  private lruTail: Flow | undefined;
  private readonly maxFlows: number;
  private readonly idleTimeout: number;
  private readonly maxListed: number;
  private readonly table: FlowTableStats;
  private readonly ports: Set<number>;
  private readonly tlsPorts: Set<number>;
  private readonly heuristic: boolean;
  private readonly codec: CodecOptions;
  private readonly reassembly: ReassemblyOptions;
  private readonly meta: SegmentMeta = { frame: 0, tsSec: 0, tsNsec: 0, tsDigits: 6 };
  private readonly reportedLink = new Set<number>();
  private lastMeta: SegmentMeta | undefined;
  /** Created at the first IP fragment. */
  private defrag: IpDefragmenter | undefined;
  private readonly fragOpts: IpDefragOptions;
  private tsFrame = -1;
  private tsText = '';
  private ended = false;
  private readonly counts: AnalyzeSummary;
  /** Meta of the bytes being pushed into a splitter. */
  private cur: { flow: Flow; dir: number; meta: SegmentMeta } | undefined;

  constructor(
    private readonly h: AnalyzeHandlers,
    opts: AnalyzeOptions = {},
  ) {
    this.ports = new Set(opts.ports ?? [2404]);
    this.tlsPorts = new Set(opts.tlsPorts ?? [19998]);
    this.heuristic = opts.heuristic ?? true;
    this.codec = opts.codec ? resolveOptions(opts.codec) : IEC104_OPTIONS;
    this.reassembly = opts.reassembly ?? {};
    this.fragOpts = opts.fragments ?? {};
    this.maxFlows = Math.max(1, opts.maxFlows ?? 20_000);
    this.idleTimeout = opts.idleTimeout ?? 300;
    this.maxListed = Math.max(0, opts.maxListedFlows ?? 10_000);
    this.table = { total: 0, active: 0, peak: 0, closed: 0, idle: 0, evicted: 0, maxFlows: this.maxFlows, unlisted: 0 };
    this.counts = { format: undefined, frames: 0, fileBytes: 0, tcpSegments: 0, otherFrames: 0, ipFragments: 0, ipReassembled: 0, flows: [], flowTable: this.table, apdus: { total: 0, I: 0, S: 0, U: 0 }, types: {}, uFunctions: {}, decodeErrors: {}, issues: {} };
    this.reader = new CaptureReader({ packet: (p) => this.packet(p), issue: (i) => this.issue(i) });
  }

  /** Feed the next bytes of the capture file. */
  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  /** End of file: flush buffered segments and partial APDUs of every flow. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.reader.end();
    this.defrag?.end(this.lastMeta?.frame);
    for (let f = this.lruHead; f !== undefined; f = f.next) {
      // (flushing one direction may decide the flow's kind and detach both: keep the pair)
      const d = f.dirs;
      if (d) {
        d[0].flush(this.lastMeta);
        d[1].flush(this.lastMeta);
      }
      if (f.info.kind === 'pending') this.decideAtEnd(f);
    }
  }

  /** Flows in the table now. */
  get activeFlows(): number {
    return this.table.active;
  }

  /** Totals so far (complete after `end`). */
  summary(): AnalyzeSummary {
    const s = this.counts;
    s.format = this.reader.format;
    s.frames = this.reader.frames;
    s.fileBytes = this.reader.bytes;
    s.flows = this.listed.map((f) => ({ ...f.info, arrivalOrder: f.dirs ? f.dirs[0].arrivalOrder || f.dirs[1].arrivalOrder : f.info.arrivalOrder }));
    this.table.unlisted = this.table.total - this.listed.length;
    s.flowTable = { ...this.table };
    return s;
  }

  private issue(i: CaptureIssue): void {
    this.counts.issues[i.code] = (this.counts.issues[i.code] ?? 0) + 1;
    this.h.issue?.(i);
  }

  private packet(p: CapturedPacket): void {
    const m = this.meta;
    m.frame = p.frame;
    m.tsSec = p.tsSec;
    m.tsNsec = p.tsNsec;
    m.tsDigits = p.tsDigits;
    this.lastMeta = m;
    let r = this.dec.decode(p.linkType, p.data);
    if (r === 'fragment') {
      r = this.fragment(p);
      if (r === 'fragment') return; // held until its datagram is complete
    }
    if (r !== 'ok') {
      if (r === 'linktype') {
        if (!this.reportedLink.has(p.linkType)) {
          this.reportedLink.add(p.linkType);
          this.issue(issue('E_CAP_LINKTYPE', `link type ${p.linkType} is not supported; its packets are skipped`, { frame: p.frame, fileOffset: p.fileOffset }));
        }
      } else if (r === 'error') {
        this.issue(issue(this.dec.lastError.code, this.dec.lastError.message, { frame: p.frame, fileOffset: p.fileOffset }));
      }
      this.counts.otherFrames++;
      return;
    }
    this.counts.tcpSegments++;
    const t = this.dec.pkt;
    const now = p.tsSec + p.tsNsec / 1e9;
    const head = this.lruHead;
    if (head !== undefined && now - head.lastTs > this.idleTimeout) this.expireIdle(now);
    let flow: Flow | undefined;
    let srcKey: number | string;
    let dstKey: number | string;
    if (t.ipVersion === 4) {
      const s = ((t.srcIp[0] << 24) | (t.srcIp[1] << 16) | (t.srcIp[2] << 8) | t.srcIp[3]) >>> 0;
      const d = ((t.dstIp[0] << 24) | (t.dstIp[1] << 16) | (t.dstIp[2] << 8) | t.dstIp[3]) >>> 0;
      const ks = s * 65536 + t.srcPort;
      const kd = d * 65536 + t.dstPort;
      srcKey = ks;
      dstKey = kd;
      const lo = ks < kd ? ks : kd;
      const hi = ks < kd ? kd : ks;
      let inner = this.v4.get(lo);
      flow = inner?.get(hi);
      if (flow === undefined) {
        flow = this.newFlow();
        if (inner === undefined) this.v4.set(lo, (inner = new Map()));
        inner.set(hi, flow);
        flow.lo = lo;
        flow.hi = hi;
      }
    } else {
      const ks = octetsToHex(t.srcIp) + '/' + t.srcPort;
      const kd = octetsToHex(t.dstIp) + '/' + t.dstPort;
      srcKey = ks;
      dstKey = kd;
      const key = ks < kd ? ks + '|' + kd : kd + '|' + ks;
      flow = this.v6.get(key);
      if (flow === undefined) {
        flow = this.newFlow();
        this.v6.set(key, flow);
        flow.v6key = key;
      }
    }
    if (flow !== this.lruTail) this.touch(flow);
    if (now > flow.lastTs) flow.lastTs = now;
    const info = flow.info;
    if (info.packets === 0) this.initFlow(flow, p.frame, srcKey, dstKey);
    const dir = srcKey === flow.aKey ? 0 : 1;
    info.packets++;
    info.lastFrame = p.frame;
    info.payloadBytes[dir] += t.payloadLen;
    if (t.flags & TCP_SYN) {
      if (dir === 0) flow.wscaleA = t.wscale;
      else flow.wscaleB = t.wscale;
      if (flow.released) this.restart(flow);
    }
    const dirs = flow.dirs;
    if (dirs === undefined) return;
    if (t.flags & TCP_ACK) {
      // what this side acknowledges and accepts of the other direction (RFC 7323 window scaling)
      const wa = flow.wscaleA;
      const wb = flow.wscaleB;
      const scale = t.flags & TCP_SYN ? 0 : wa >= 0 && wb >= 0 ? (dir === 0 ? wa : wb) : wa !== -2 && wb !== -2 ? 0 : 14;
      dirs[1 - dir].peerAck(t.ack, t.window * 2 ** scale, m);
    }
    dirs[dir].segment(t.seq, t.flags, t.payload, t.payloadLen, m);
    if (flow.releasePending) this.release(flow);
  }

  /** Move a flow to the most recently active end of the list (or add it). */
  private touch(f: Flow): void {
    if (f.prev !== undefined || this.lruHead === f) {
      // unlink
      if (f.prev) f.prev.next = f.next;
      else this.lruHead = f.next;
      if (f.next) f.next.prev = f.prev;
      else this.lruTail = f.prev;
    }
    f.prev = this.lruTail;
    f.next = undefined;
    if (this.lruTail) this.lruTail.next = f;
    else this.lruHead = f;
    this.lruTail = f;
  }

  /** Close the flows idle for longer than the timeout (capture time `now`, seconds). */
  private expireIdle(now: number): void {
    while (this.lruHead !== undefined && now - this.lruHead.lastTs > this.idleTimeout) {
      this.table.idle++;
      this.drop(this.lruHead, 'idle');
    }
  }

  /**
   * Stop following a flow: flush its directions (partial APDUs reported), tell the handlers, and
   * remove it from the table.
   */
  private drop(f: Flow, why: 'idle' | 'evicted'): void {
    const d = f.dirs;
    if (d) {
      d[0].flush(this.lastMeta, why);
      d[1].flush(this.lastMeta, why);
    }
    if (f.info.kind === 'pending') this.decideAtEnd(f);
    if (f.info.kind === 'iec104' && !f.released) this.h.flowEnd?.(this.snapshot(f), why);
    this.freeState(f);
    // unlink and forget
    if (f.prev) f.prev.next = f.next;
    else this.lruHead = f.next;
    if (f.next) f.next.prev = f.prev;
    else this.lruTail = f.prev;
    f.prev = f.next = undefined;
    if (f.v6key !== undefined) this.v6.delete(f.v6key);
    else {
      const inner = this.v4.get(f.lo);
      if (inner !== undefined) {
        inner.delete(f.hi);
        if (inner.size === 0) this.v4.delete(f.lo);
      }
    }
    this.table.active--;
  }

  /** The connection ended (FIN both ways, RST): free its reassembly state until a new SYN. */
  private release(f: Flow): void {
    f.releasePending = false;
    if (f.released) return;
    if (f.sides) for (const d of [0, 1]) this.dropPartial(f, d, this.lastMeta, 'the end of the connection');
    f.released = true;
    this.table.closed++;
    this.freeState(f);
  }

  private freeState(f: Flow): void {
    if (f.dirs) f.info.arrivalOrder ||= f.dirs[0].arrivalOrder || f.dirs[1].arrivalOrder;
    f.dirs = undefined;
    f.sides = undefined;
    f.probe = undefined;
  }

  /** A new SYN on a released flow: follow the new connection. */
  private restart(f: Flow): void {
    f.released = false;
    f.finned = 0;
    if (f.info.kind === 'other') return;
    if (f.info.kind !== 'iec104') f.probe = new Probe();
    this.makeDirections(f);
  }

  /**
   * An IP fragment: held by the defragmenter. When it completes a datagram, that datagram is
   * decoded in its place (so its TCP segment belongs to this frame): returns the decoder's result,
   * or 'fragment' while the datagram is incomplete.
   */
  private fragment(p: CapturedPacket): PacketSkip {
    this.counts.ipFragments++;
    const df = (this.defrag ??= new IpDefragmenter(this.fragOpts, (i) => this.issue(i)));
    const d = df.push(p.data.subarray(this.dec.fragmentAt), p.frame, p.tsSec + p.tsNsec / 1e9);
    if (d === undefined) return 'fragment';
    this.counts.ipReassembled++;
    const r = this.dec.decode(d.version === 4 ? LINKTYPE.IPV4 : LINKTYPE.IPV6, d.datagram);
    if (r !== 'fragment') return r;
    this.dec.lastError = { code: 'E_PKT_MALFORMED', message: 'reassembled IPv6 datagram holds another Fragment header' };
    return 'error';
  }

  private newFlow(): Flow {
    if (this.table.active >= this.maxFlows && this.lruHead !== undefined) {
      const old = this.lruHead;
      this.table.evicted++;
      this.issue(issue('W_FLOW_EVICTED', `flow table full (${this.maxFlows} flows): the least recently active flow ${old.info.a.text} ⇄ ${old.info.b.text} is no longer followed`, { frame: this.meta.frame, flow: old.info.index }));
      this.drop(old, 'evicted');
    }
    const blank: Endpoint = { ip: '', port: 0, text: '' };
    const f = new Flow({ index: this.table.total++, a: blank, b: blank, kind: 'pending', firstFrame: 0, lastFrame: 0, packets: 0, payloadBytes: [0, 0], apdus: 0, decodeErrors: 0, arrivalOrder: false });
    if (this.listed.length < this.maxListed) this.listed.push(f);
    if (++this.table.active > this.table.peak) this.table.peak = this.table.active;
    return f;
  }

  private initFlow(f: Flow, frame: number, srcKey: number | string, dstKey: number | string): void {
    const t = this.dec.pkt;
    const src: Endpoint = { ip: formatIp(t.srcIp), port: t.srcPort, text: '' };
    src.text = formatEndpoint(src.ip, src.port);
    const dst: Endpoint = { ip: formatIp(t.dstIp), port: t.dstPort, text: '' };
    dst.text = formatEndpoint(dst.ip, dst.port);
    // side a: the SYN sender, or the receiver of a SYN/ACK, else the first sender
    const synAck = (t.flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
    const info = f.info;
    info.a = synAck ? dst : src;
    info.b = synAck ? src : dst;
    info.firstFrame = frame;
    f.aKey = synAck ? dstKey : srcKey;
    const aIsPort = this.ports.has(info.a.port);
    const bIsPort = this.ports.has(info.b.port);
    if (aIsPort || bIsPort) {
      info.kind = 'iec104';
      info.detectedBy = 'port';
      if (aIsPort !== bIsPort) this.setStation(f, bIsPort ? 1 : 0);
    } else if (this.tlsPorts.has(info.a.port) || this.tlsPorts.has(info.b.port)) {
      info.kind = 'tls';
      info.detectedBy = 'tls-port';
      info.tls = {};
      if (this.tlsPorts.has(info.a.port) !== this.tlsPorts.has(info.b.port)) this.setStation(f, this.tlsPorts.has(info.b.port) ? 1 : 0);
    } else if (!this.heuristic) {
      info.kind = 'other';
    }
    if (info.kind === 'other') {
      this.h.flow?.(this.snapshot(f));
      return;
    }
    if (info.kind === 'iec104') {
      this.h.flow?.(this.snapshot(f));
    } else {
      f.probe = new Probe();
    }
    this.makeDirections(f);
  }

  private makeDirections(f: Flow): void {
    const s0 = new FlowSide(this, f, 0);
    const s1 = new FlowSide(this, f, 1);
    f.sides = [s0, s1];
    f.dirs = [new TcpDirection(s0, undefined, f.info.index, this.reassembly), new TcpDirection(s1, undefined, f.info.index, this.reassembly)];
  }

  /**
   * An issue of one direction's reassembly; anomalies also go to `streamAnomaly`.
   * @internal
   */
  sideIssue(side: FlowSide, i: CaptureIssue): void {
    this.issue(i);
    if ((i.code === 'E_TCP_DESYNC' || i.code === 'W_TCP_OUT_OF_WINDOW') && this.h.streamAnomaly) {
      const f = side.flow;
      const dir = side.dir;
      const m = this.meta;
      const from = dir === 0 ? f.info.a : f.info.b;
      const to = dir === 0 ? f.info.b : f.info.a;
      this.h.streamAnomaly({ code: i.code, message: i.message, frame: i.frame ?? m.frame, tsMs: m.tsSec * 1000 + m.tsNsec / 1e6, src: from.text, dst: to.text, direction: this.dirOf(f, dir), flow: f.info.index });
    }
  }

  private snapshot(f: Flow): FlowInfo {
    return { ...f.info, payloadBytes: [...f.info.payloadBytes] as [number, number] };
  }

  /** `stationDir`: the direction index (0 a→b, 1 b→a) in which the station sends. */
  private setStation(f: Flow, stationDir: 0 | 1): void {
    f.stationDir = stationDir;
    f.info.station = stationDir === 0 ? 'a' : 'b';
  }

  /** Push IEC 104 bytes of a direction into its splitter (made at the direction's first IEC 104 bytes). */
  private split(f: Flow, dir: number, bytes: Uint8Array, meta: SegmentMeta): void {
    const side = (f.sides ??= [new FlowSide(this, f, 0), new FlowSide(this, f, 1)])[dir];
    this.cur = { flow: f, dir, meta };
    (side.splitter ??= new ApduSplitter(side)).push(bytes);
    this.cur = undefined;
  }

  /** @internal */
  sideJunk(side: FlowSide, bytes: Uint8Array, off: number): void {
    const m = this.cur?.meta;
    this.issue(issue('W_JUNK', `${bytes.length} octet(s) before a start byte 0x68 skipped`, { frame: m?.frame, flow: side.flow.info.index, streamOffset: off }));
  }

  /** @internal */
  sideError(side: FlowSide, e: CodecError): void {
    const m = this.cur?.meta;
    this.issue(issue('E_APDU_LENGTH', e.message, { frame: m?.frame, flow: side.flow.info.index, streamOffset: e.offset }));
  }

  /** @internal */
  sideData(side: FlowSide, bytes: Uint8Array, meta: SegmentMeta): void {
    const f = side.flow;
    if (f.info.kind === 'iec104') this.split(f, side.dir, bytes, meta);
    else if (f.probe) this.probeData(f, side.dir, bytes, meta);
  }

  /** @internal */
  sideGap(side: FlowSide, len: number, meta: SegmentMeta): void {
    this.dropPartial(side.flow, side.dir, meta, len === 0 ? 'a contradiction in the TCP stream' : 'a gap in the TCP stream');
  }

  /** @internal */
  sideEnd(side: FlowSide, meta: SegmentMeta | undefined, reason: StreamEndReason): void {
    const f = side.flow;
    const dir = side.dir;
    this.dropPartial(f, dir, meta, END_TEXT[reason]);
    if (reason === 'eof' || reason === 'idle' || reason === 'evicted') return;
    if (reason === 'fin') {
      f.finned |= 1 << dir;
      if (f.finned !== 3) return;
    }
    f.finned = 0;
    if (f.info.kind === 'iec104') this.h.flowEnd?.(this.snapshot(f), reason);
    if (reason !== 'syn') f.releasePending = true;
  }

  private dropPartial(f: Flow, dir: number, meta: SegmentMeta | undefined, why: string): void {
    const n = f.sides?.[dir].splitter?.reset() ?? 0;
    if (n > 0) this.issue(issue('W_TCP_PARTIAL_APDU', `incomplete APDU (${n} octets) dropped at ${why}`, { frame: meta?.frame, flow: f.info.index }));
  }

  private probeData(f: Flow, dir: number, bytes: Uint8Array, meta: SegmentMeta): void {
    const probe = f.probe!;
    const room = PROBE_LIMIT - probe.len[dir];
    if (room > 0) {
      const d = bytes.length > room ? bytes.slice(0, room) : bytes.slice();
      probe.chunks.push({ data: d, meta: { frame: meta.frame, tsSec: meta.tsSec, tsNsec: meta.tsNsec, tsDigits: meta.tsDigits }, dir });
      probe.len[dir] += d.length;
    }
    if (f.info.kind === 'tls') {
      const tls = f.info.tls!;
      const got = parseTlsHello(this.probeBytes(f, dir), tls);
      if ((got && tls.clientVersion !== undefined && tls.serverVersion !== undefined) || probe.len[0] + probe.len[1] >= 2 * PROBE_LIMIT) this.stopFlow(f);
      return;
    }
    const verdict = this.judge(this.probeBytes(f, dir));
    if (verdict === 'yes') {
      f.info.kind = 'iec104';
      f.info.detectedBy = 'heuristic';
      this.h.flow?.(this.snapshot(f));
      this.replay(f);
    } else if (verdict === 'no' || probe.len[dir] >= PROBE_LIMIT) {
      f.info.kind = 'other';
      this.h.flow?.(this.snapshot(f));
      this.stopFlow(f);
    }
  }

  private probeBytes(f: Flow, dir: number): Uint8Array {
    const probe = f.probe!;
    const parts = probe.chunks.filter((c) => c.dir === dir);
    if (parts.length === 1) return parts[0].data;
    const out = new Uint8Array(probe.len[dir]);
    let o = 0;
    for (const c of parts) {
      out.set(c.data, o);
      o += c.data.length;
    }
    return out;
  }

  /** Whether the first bytes of a direction are IEC 104 APDUs. */
  private judge(b: Uint8Array): 'yes' | 'no' | 'wait' {
    if (b.length === 0) return 'wait';
    if (b[0] !== 0x68) return 'no';
    if (b.length < 2) return 'wait';
    const len = b[1];
    if (len < 4 || len > 253) return 'no';
    if (b.length < len + 2) return 'wait';
    const r = decodeApdu(b.subarray(0, len + 2), this.codec, false);
    if (!r.ok) return 'no';
    if (b.length > len + 2 && b[len + 2] !== 0x68) return 'no';
    return 'yes';
  }

  private replay(f: Flow): void {
    const chunks = f.probe!.chunks;
    f.probe = undefined;
    chunks.sort((x, y) => x.meta.frame - y.meta.frame); // stable: keeps per-direction order
    for (const c of chunks) this.split(f, c.dir, c.data, c.meta);
  }

  private stopFlow(f: Flow): void {
    if (f.dirs) f.info.arrivalOrder = f.dirs[0].arrivalOrder || f.dirs[1].arrivalOrder;
    f.dirs = undefined;
    f.probe = undefined;
  }

  private decideAtEnd(f: Flow): void {
    if (!f.probe) return;
    const probe = f.probe;
    const yes = [0, 1].some((d) => probe.len[d] > 0 && this.judge(this.probeBytes(f, d)) === 'yes');
    if (yes) {
      f.info.kind = 'iec104';
      f.info.detectedBy = 'heuristic';
      this.h.flow?.(this.snapshot(f));
      this.replay(f);
      for (const d of [0, 1]) this.dropPartial(f, d, this.lastMeta, 'the end of the capture');
    } else {
      f.info.kind = 'other';
      this.h.flow?.(this.snapshot(f));
      this.stopFlow(f);
    }
  }

  /** One APDU from a direction's splitter. @internal */
  sideFrame(side: FlowSide, bytes: Uint8Array): void {
    const f = side.flow;
    const dir = side.dir;
    const cur = this.cur!;
    const meta = cur.meta;
    const info = f.info;
    const from = dir === 0 ? info.a : info.b;
    const to = dir === 0 ? info.b : info.a;
    if (meta.frame !== this.tsFrame || meta !== this.lastTsMeta) {
      this.tsFrame = meta.frame;
      this.lastTsMeta = meta;
      this.tsText = formatPacketTime(meta);
      this.tsMs = meta.tsSec * 1000 + meta.tsNsec / 1e6;
    }
    const res = decodeApdu(bytes, this.codec);
    const c = this.counts;
    c.apdus.total++;
    info.apdus++;
    if (res.ok) {
      const a = res.value;
      if (f.stationDir === undefined) {
        const role = senderRole(a);
        if (role !== undefined) this.setStation(f, (role === 'station' ? dir : 1 - dir) as 0 | 1);
      }
      const fmt = a.apci.format;
      if (fmt === 'I') c.apdus.I++;
      else if (fmt === 'S') c.apdus.S++;
      else c.apdus.U++;
      if (a.asdu !== undefined) c.types[a.asdu.typeId] = (c.types[a.asdu.typeId] ?? 0) + 1;
      else if (a.apci.format === 'U') c.uFunctions[a.apci.uFunction] = (c.uFunctions[a.apci.uFunction] ?? 0) + 1;
      this.h.record?.({ frame: meta.frame, ts: this.tsText, tsMs: this.tsMs, src: from.text, dst: to.text, direction: this.dirOf(f, dir), flow: info.index, apdu: a, from, to }, bytes);
    } else {
      info.decodeErrors++;
      c.decodeErrors[res.error.code] = (c.decodeErrors[res.error.code] ?? 0) + 1;
      const raw = bytes.slice();
      this.h.record?.({ frame: meta.frame, ts: this.tsText, tsMs: this.tsMs, src: from.text, dst: to.text, direction: this.dirOf(f, dir), flow: info.index, error: res.error, raw, from, to }, raw);
    }
  }
  private lastTsMeta: SegmentMeta | undefined;
  private tsMs = 0;

  private dirOf(f: Flow, dir: number): ApduDirection | undefined {
    if (f.stationDir === undefined) return undefined;
    return dir === f.stationDir ? 'station→master' : 'master→station';
  }
}

/** JSON form of a record: `apdu` through the codec's `apduToJson`, `error` through `CodecError.toJSON`. */
export function recordToJson(r: ApduRecord): ApduRecordJson {
  const o: ApduRecordJson = { frame: r.frame, ts: r.ts, src: r.src, dst: r.dst, direction: r.direction ?? null, flow: r.flow };
  if (r.apdu) o.apdu = apduToJson(r.apdu);
  if (r.error) {
    o.error = r.error.toJSON();
    if (r.raw) o.raw = octetsToHex(r.raw);
  }
  return o;
}

/**
 * The JSON text of a record: the same string as `JSON.stringify(recordToJson(r))`, written
 * directly (the `iec104 analyze --json` hot path).
 */
export function recordJsonText(r: ApduRecord): string {
  return recordJsonHead(r) + recordJsonDirection(r) + recordJsonTail(r);
}

/** Start of {@link recordJsonText}: up to `"direction":`. */
export function recordJsonHead(r: ApduRecord): string {
  return `{"frame":${r.frame},"ts":${jsonString(r.ts)},"src":${jsonString(r.src)},"dst":${jsonString(r.dst)},"direction":`;
}

/** The direction value of {@link recordJsonText} (the only non-ASCII part of a decoded record). */
export function recordJsonDirection(r: ApduRecord): 'null' | '"master→station"' | '"station→master"' {
  return r.direction === undefined ? 'null' : r.direction === 'master→station' ? '"master→station"' : '"station→master"';
}

/** End of {@link recordJsonText}: from `,"flow":`. */
export function recordJsonTail(r: ApduRecord): string {
  let t = `,"flow":${r.flow}`;
  if (r.apdu) t += `,"apdu":${apduJsonText(r.apdu)}`;
  if (r.error) {
    t += `,"error":${JSON.stringify(r.error.toJSON())}`;
    if (r.raw) t += `,"raw":"${octetsToHex(r.raw)}"`;
  }
  return t + '}';
}

/** `JSON.stringify` of a string, without the call when nothing needs escaping (addresses, times). */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/** Everything an analysis produced, collected in memory (convenient for tests and small files). */
export interface AnalysisResult {
  records: ApduRecord[];
  issues: CaptureIssue[];
  summary: AnalyzeSummary;
}

/**
 * Analyse a whole capture held in memory (optionally fed in `chunkSize` pieces, to exercise the
 * streaming path).
 */
export function analyzeBytes(bytes: Uint8Array, opts: AnalyzeOptions = {}, chunkSize = 0): AnalysisResult {
  const records: ApduRecord[] = [];
  const issues: CaptureIssue[] = [];
  const an = new CaptureAnalyzer({ record: (r) => records.push(r), issue: (i) => issues.push(i) }, opts);
  if (chunkSize > 0) for (let i = 0; i < bytes.length; i += chunkSize) an.push(bytes.subarray(i, i + chunkSize));
  else an.push(bytes);
  an.end();
  return { records, issues, summary: an.summary() };
}

/**
 * Analyse a stream of capture bytes (a file stream, stdin), yielding one record per APDU as the
 * bytes arrive. Issues go to `onIssue`; the summary to `onSummary` at the end.
 */
export async function* analyzeStream(
  source: AsyncIterable<Uint8Array>,
  opts: AnalyzeOptions & { onIssue?: (i: CaptureIssue) => void; onSummary?: (s: AnalyzeSummary) => void } = {},
): AsyncGenerator<ApduRecord, void, undefined> {
  let queue: ApduRecord[] = [];
  const an = new CaptureAnalyzer({ record: (r) => queue.push(r), issue: opts.onIssue }, opts);
  for await (const chunk of source) {
    an.push(chunk);
    if (queue.length) {
      const q = queue;
      queue = [];
      yield* q;
    }
  }
  an.end();
  yield* queue;
  opts.onSummary?.(an.summary());
}

export { formatPacketTime };
