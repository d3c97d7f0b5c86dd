/**
 * TCP reassembly of one direction of a connection: ordered delivery by sequence number.
 *
 * - Retransmissions and overlapping segments: the first copy is kept; overlapping bytes that differ
 *   from what was delivered are reported (`W_TCP_OVERLAP_DIFFERS`, compared over the last
 *   {@link HISTORY_BYTES} delivered octets).
 * - Out-of-order segments are buffered (copied) up to `maxBufferedBytes` / `maxBufferedSegments`;
 *   when the bound is hit the missing range is reported as a gap (`W_TCP_GAP`) and the stream skips
 *   ahead. Missing bytes at FIN, RST or end of capture are reported the same way.
 * - Captures starting mid-session or lacking the handshake: the first data segment sets the origin.
 * - What the receiver accepts: the receiver's acknowledgements and windows (seen in the other
 *   direction, {@link TcpDirection.peerAck}) prove that the sequence numbers are real. From then on
 *   segments the receiver's TCP would drop — wholly before its acknowledged sequence with other bytes,
 *   or beyond the right edge of its window — are never decoded (`W_TCP_OUT_OF_WINDOW`), bytes the
 *   receiver acknowledged but the capture lacks are a gap, and a segment that carries other bytes for
 *   stream octets the receiver has not acknowledged yet makes the stream impossible to follow
 *   (`E_TCP_DESYNC`: evasion or capture damage): the contradicting copy is not decoded, the partial
 *   APDU is dropped and decoding resynchronises on the next APDU.
 * - Sequence numbers that do not advance (generated captures, never acknowledged by a receiver):
 *   after two segments that contradict the byte stream (old sequence numbers with different bytes, or
 *   far jumps) the direction switches to arrival order (`W_TCP_SEQ_FALLBACK`). Once the receiver's
 *   acknowledgements have proven the sequence numbers this never happens.
 * - SYN sets the initial sequence number (a new SYN with another ISN starts a new connection); FIN
 *   ends the direction once its bytes are delivered; RST ends it at once.
 */
import { type CaptureIssue, type CaptureIssueCode, issue } from './issues.js';
import { type PacketTime } from './reader.js';
import { TCP_FIN, TCP_RST, TCP_SYN } from './packet.js';

/** Frame number and time of the segment that carried some bytes. */
export interface SegmentMeta extends PacketTime {
  frame: number;
}

/** Receiver of a reassembled direction. */
export interface StreamSink {
  /** In-order bytes. `bytes` is valid only during the call. `meta` is the segment that carried them. */
  data(bytes: Uint8Array, meta: SegmentMeta): void;
  /** `length` bytes are missing before the next data (0 when unknown, e.g. a restart). */
  gap(length: number, meta: SegmentMeta): void;
  /**
   * The direction ended (FIN, RST, new SYN, end of capture, or the analyser dropped the flow: idle
   * timeout or flow table full).
   */
  end(meta: SegmentMeta | undefined, reason: StreamEndReason): void;
  /**
   * A problem of the stream (gap, overlap, desync, ...), used when the {@link TcpDirection} was made
   * without a `report` function (one object per direction instead of a closure: the analyser keeps
   * thousands of flows).
   */
  issue?(i: CaptureIssue): void;
}

/** Why a direction ended. */
export type StreamEndReason = 'fin' | 'rst' | 'syn' | 'eof' | 'idle' | 'evicted';

/** Limits of a {@link TcpDirection}. */
export interface ReassemblyOptions {
  /** Out-of-order bytes buffered before skipping ahead. Default 256 KiB. */
  maxBufferedBytes?: number;
  /** Out-of-order segments buffered before skipping ahead. Default 256. */
  maxBufferedSegments?: number;
}

/** Delivered bytes kept to compare retransmissions with. */
export const HISTORY_BYTES = 4096;
/** First size of the history ring (it grows to {@link HISTORY_BYTES} as the stream does). */
const HISTORY_START = 64;
/** Jumps further than this (either way) are not believed as TCP sequence numbers. */
const FAR = 1 << 24;

interface Held {
  seq: number;
  data: Uint8Array;
  meta: SegmentMeta;
  /** Why it was held (non-advancing detection). */
  why?: 'far' | 'differs' | 'unknown';
}

function copyMeta(m: SegmentMeta): SegmentMeta {
  return { frame: m.frame, tsSec: m.tsSec, tsNsec: m.tsNsec, tsDigits: m.tsDigits };
}

/** Reassembles one direction of a TCP connection and feeds a {@link StreamSink}. */
export class TcpDirection {
  /** Next expected sequence number, once known. */
  private nextSeq = 0;
  private started = false;
  private isn: number | undefined;
  private mode: 'seq' | 'arrival' = 'seq';
  private ended = false;
  private finSeq: number | undefined;
  private ooo: Held[] = [];
  private oooBytes = 0;
  private suspects: Held[] = [];
  private lastSeq = -1;
  private firstSeq = -1;
  private advanced = false;
  /** History ring of delivered bytes (allocated at the first delivery, grows to HISTORY_BYTES). */
  private hist: Uint8Array | undefined;
  /** Delivered octets that are contiguous and end at nextSeq (0 after a gap). */
  private contig = 0;
  /** Highest acknowledgement of this direction's bytes seen from the receiver. */
  private rcvAck: number | undefined;
  /** Right edge of the receiver's window (rcvAck + scaled window), the furthest seen. */
  private rcvRight = 0;
  /** The receiver acknowledged a sequence number inside this stream: sequence numbers are real. */
  private proven = false;
  /** The receiver acknowledged at least one data octet of this connection (not only the SYN). */
  private ackedData = false;
  /** Acknowledgements of the SYN alone (ISN + 1) the receiver sent after data of this direction was delivered. */
  private staleAcks = 0;
  /** Segments the receiver would drop that were not decoded. */
  outOfWindow = 0;
  /** Times the stream could not be followed (contradicting copies of unacknowledged bytes). */
  desyncs = 0;
  /** Delivered bytes so far in this connection. */
  delivered = 0;
  /** Bytes reported missing. */
  gapBytes = 0;
  /** Segments that were pure retransmissions of delivered bytes. */
  retransmissions = 0;
  private readonly maxBytes: number;
  private readonly maxSegs: number;

  constructor(
    private readonly sink: StreamSink,
    /** Where issues go; when undefined, to `sink.issue`. */
    private readonly report: ((i: CaptureIssue) => void) | undefined,
    /** Location data added to reports (flow index). */
    private readonly flow: number,
    opts: ReassemblyOptions = {},
  ) {
    this.maxBytes = opts.maxBufferedBytes ?? 256 * 1024;
    this.maxSegs = opts.maxBufferedSegments ?? 256;
  }

  /** Whether the receiver's acknowledgements proved the sequence numbers of this direction. */
  get acknowledged(): boolean {
    return this.proven;
  }

  /**
   * The receiver (the other direction) acknowledged `ack` and advertised `windowBytes` (already
   * scaled). Called for every segment of the other direction that has the ACK flag.
   */
  peerAck(ack: number, windowBytes: number, meta: SegmentMeta): void {
    if (this.isn !== undefined && this.started) {
      const fromSyn = (ack - this.isn - 1) | 0;
      if (fromSyn > 0 && fromSyn < FAR) this.ackedData = true;
      else if (fromSyn === 0 && this.delivered > 0) this.staleAcks++;
    }
    if (this.rcvAck === undefined || (((ack - this.rcvAck) | 0) > 0 && ((ack - this.rcvAck) | 0) < FAR)) this.rcvAck = ack;
    else if (((ack - this.rcvAck) | 0) < 0) return; // an older acknowledgement (reordered)
    const right = (ack + Math.max(0, windowBytes)) >>> 0;
    if (((right - this.rcvRight) | 0) > 0 || !this.proven) this.rcvRight = right;
    if (!this.started || this.mode !== 'seq' || this.ended) return;
    if (!this.proven) {
      const base = this.isn !== undefined ? (this.isn + 1) >>> 0 : (this.nextSeq - this.contig) >>> 0;
      const fromBase = (ack - base) | 0;
      const toNext = (ack - this.nextSeq) | 0;
      if (fromBase >= 0 && toNext <= 0 && (this.isn !== undefined || fromBase > 0)) {
        this.proven = true;
        this.rcvRight = right;
        this.settleSuspects();
      }
      return;
    }
    const ahead = (ack - this.nextSeq) | 0;
    if (ahead > 0 && ahead < FAR) {
      // the receiver has bytes the capture does not: take what is buffered, then skip the rest
      this.drain(meta);
      const missing = (ack - this.nextSeq) | 0;
      if (missing > 0) {
        this.gapBytes += missing;
        this.warn('W_TCP_GAP', `${missing} octets acknowledged by the receiver are missing from the capture; skipping to seq ${ack}`, meta);
        this.sink.gap(missing, meta);
        this.nextSeq = ack;
        this.contig = 0;
        this.drain(meta);
      }
    }
  }

  /** Held suspects once the sequence numbers are proven: contradictions, not a generator. */
  private settleSuspects(): void {
    const held = this.suspects;
    this.suspects = [];
    for (const h of held) {
      if (h.why === 'far') {
        this.outOfWindow++;
        this.warn('W_TCP_OUT_OF_WINDOW', `segment with seq ${h.seq} far outside the stream not decoded`, h.meta);
      } else this.inOrder(h.seq, h.data, h.meta);
    }
  }

  /** Whether this direction is read in arrival order (sequence numbers did not make sense). */
  get arrivalOrder(): boolean {
    return this.mode === 'arrival';
  }

  private emit(i: CaptureIssue): void {
    if (this.report !== undefined) this.report(i);
    else this.sink.issue?.(i);
  }

  private warn(code: CaptureIssueCode, message: string, meta: SegmentMeta): void {
    this.emit(issue(code, message, { frame: meta.frame, flow: this.flow, streamOffset: this.delivered }));
  }

  /**
   * One captured segment of this direction. `payload` is what was captured, `payloadLen` what the
   * IP header says (larger when the capture cut the packet). `meta` may be a reused object.
   */
  segment(seq: number, flags: number, payload: Uint8Array, payloadLen: number, meta: SegmentMeta): void {
    if (flags & TCP_SYN) {
      // a retransmitted SYN; the same ISN after data is a new connection of a peer that restarts its numbers
      if (this.isn !== undefined && this.isn === seq && this.delivered === 0 && this.ooo.length === 0 && this.suspects.length === 0) return;
      if (this.started && (this.delivered > 0 || this.ooo.length > 0 || this.suspects.length > 0)) this.finish(meta, 'syn');
      this.reset();
      this.isn = seq;
      this.nextSeq = (seq + 1) >>> 0;
      this.started = true;
      seq = (seq + 1) >>> 0;
    }
    if (this.ended && !(flags & TCP_SYN)) {
      if (payloadLen > 0 && this.mode === 'arrival') this.deliver(payload, meta);
      return;
    }
    if (payloadLen > 0) {
      if (this.mode === 'arrival') this.deliver(payload, meta);
      else this.inSeqMode(seq, payload, payloadLen, meta);
    }
    if (flags & TCP_RST) {
      this.finish(meta, 'rst');
      this.reset();
      return;
    }
    if (flags & TCP_FIN) {
      this.finSeq = (seq + payloadLen) >>> 0;
      if (this.mode === 'arrival' || (this.ooo.length === 0 && this.nextSeq === this.finSeq)) {
        this.finish(meta, 'fin');
      }
    }
  }

  /**
   * End of capture (or the flow is dropped: `why` idle / evicted): deliver what is buffered
   * (reporting gaps) and end the direction.
   */
  flush(meta?: SegmentMeta, why: 'eof' | 'idle' | 'evicted' = 'eof'): void {
    if (!this.started || this.ended) return;
    this.finish(meta, why);
  }

  private reset(): void {
    this.started = false;
    this.isn = undefined;
    this.ended = false;
    this.finSeq = undefined;
    this.ooo = [];
    this.oooBytes = 0;
    this.suspects = [];
    this.mode = 'seq';
    this.delivered = 0;
    this.lastSeq = -1;
    this.firstSeq = -1;
    this.advanced = false;
    this.contig = 0;
    this.rcvAck = undefined;
    this.rcvRight = 0;
    this.proven = false;
    this.ackedData = false;
    this.staleAcks = 0;
  }

  private finish(meta: SegmentMeta | undefined, reason: StreamEndReason): void {
    if (this.ended) return;
    // undecided suspects: bytes that could not be compared are delivered, differing ones reported
    if (this.suspects.length > 0) {
      const s = this.suspects;
      this.suspects = [];
      if (s.some((h) => h.why !== 'differs')) {
        this.fallback(s, 'at the end of the direction');
      } else {
        for (const h of s) this.warn('W_TCP_OVERLAP_DIFFERS', `retransmitted bytes at seq ${h.seq} differ from the first copy (first copy kept)`, h.meta);
      }
    }
    const why = reason === 'eof' ? 'end of capture' : reason === 'idle' ? 'idle timeout' : reason === 'evicted' ? 'flow evicted' : reason.toUpperCase();
    while (this.ooo.length > 0) this.skipToFirstBuffered(why);
    this.ended = true;
    this.sink.end(meta, reason);
  }

  private skipToFirstBuffered(why: string, trigger?: SegmentMeta): void {
    const h = this.ooo[0];
    const missing = (h.seq - this.nextSeq) | 0;
    if (missing > 0) {
      this.gapBytes += missing;
      this.warn('W_TCP_GAP', `${missing} octets missing before seq ${h.seq} (${why}); skipping ahead`, h.meta);
      this.sink.gap(missing, h.meta);
      this.nextSeq = h.seq;
      this.contig = 0;
    }
    this.drain(trigger);
  }

  private inSeqMode(seq: number, payload: Uint8Array, payloadLen: number, meta: SegmentMeta): void {
    let rel = (seq - this.nextSeq) | 0;
    if (!this.started || (this.delivered === 0 && this.ooo.length === 0 && this.suspects.length === 0 && rel < 0 && rel > -FAR)) {
      // first data of a capture that starts mid-session, or data that starts before ISN+1
      this.started = true;
      this.nextSeq = seq;
      rel = 0;
    }
    if (this.proven && this.receiverDrops(seq, rel, payload, payloadLen, meta)) return;
    if (this.proven && rel > 0 && this.rcvAck !== undefined) {
      // trim what lies beyond the receiver's window
      const room = (this.rcvRight - seq) | 0;
      if (room < payload.length) {
        this.outOfWindow++;
        this.warn('W_TCP_OUT_OF_WINDOW', `${payload.length - room} octets beyond the receiver's window at seq ${seq} not decoded`, meta);
        payload = payload.subarray(0, room);
        payloadLen = payload.length;
      }
    }
    const lastSeq = this.lastSeq;
    this.lastSeq = seq;
    if (this.firstSeq === -1) this.firstSeq = seq;
    else if (seq !== this.firstSeq) this.advanced = true;
    let why: Held['why'];
    if (rel > FAR || rel < -FAR) why = 'far';
    else if (rel < 0) {
      const ov = Math.min(-rel, payload.length);
      const cmp = this.compare(rel, payload, ov);
      if (cmp === 'differs') {
        if (this.proven && !this.frozenAfterHandshake(seq, lastSeq)) {
          this.desync(seq, payload, ov, meta);
          return;
        }
        if (seq === lastSeq && !this.advanced) {
          // every data segment so far had this sequence number: a generator that does not advance them
          const held = [...this.suspects, { seq, data: payload.slice(), meta: copyMeta(meta) }];
          this.suspects = [];
          this.fallback(held, 'sequence numbers do not advance');
          return;
        }
        why = 'differs';
      }
    }
    if (why !== undefined && this.proven) {
      // far from the stream while the receiver's window is known: receiverDrops caught it already
      this.outOfWindow++;
      this.warn('W_TCP_OUT_OF_WINDOW', `segment with seq ${seq} far outside the stream not decoded`, meta);
      return;
    }
    if (why !== undefined) {
      this.suspects.push({ seq, data: payload.slice(), meta: copyMeta(meta), why });
      if (this.suspects.length >= 2) {
        const s = this.suspects;
        this.suspects = [];
        const [a, b] = s;
        if (a.why === 'far' && b.seq === ((a.seq + a.data.length) >>> 0)) {
          // a real jump: the stream continues from the new position
          const missing = (a.seq - this.nextSeq) | 0;
          this.gapBytes += Math.max(0, missing);
          this.warn('W_TCP_GAP', `sequence numbers jump by ${missing}; continuing from seq ${a.seq}`, a.meta);
          this.sink.gap(Math.max(0, missing), a.meta);
          this.nextSeq = a.seq;
          this.ooo = [];
          this.oooBytes = 0;
          for (const h of s) this.inOrder(h.seq, h.data, h.meta);
        } else {
          this.fallback(s, 'sequence numbers do not advance');
        }
      }
      return;
    }
    if (this.suspects.length > 0) {
      // the stream went on coherently: the held segments were genuine retransmissions (first copy kept) or strays
      const held = this.suspects;
      this.suspects = [];
      for (const h of held) {
        if (h.why === 'far') this.warn('W_TCP_GAP', `segment with seq ${h.seq} far outside the stream ignored`, h.meta);
        else this.inOrder(h.seq, h.data, h.meta);
      }
      rel = (seq - this.nextSeq) | 0;
    }
    if (rel > 0) {
      this.buffer(seq, payload, meta);
      return;
    }
    this.inOrder(seq, payload, meta);
    if (payloadLen > payload.length) {
      const missing = payloadLen - payload.length;
      this.gapBytes += missing;
      this.warn('W_SNAPLEN', `segment cut by the capture: ${missing} of ${payloadLen} payload octets missing`, meta);
      this.sink.gap(missing, meta);
      this.nextSeq = (seq + payloadLen) >>> 0;
      this.contig = 0;
      this.drain(meta);
    }
  }

  /**
   * A generator that wrote a correct handshake and then never advanced its numbers: every data
   * segment so far carried the sequence number ISN + 1, and the receiver, after data was delivered,
   * still acknowledged only the SYN (a real TCP acknowledges what it read, and answers carry that
   * acknowledgement). The handshake's "proof" of the sequence numbers is withdrawn and the direction
   * is read in arrival order. A decoy right after the handshake, before the receiver sent anything,
   * is still a desync.
   */
  private frozenAfterHandshake(seq: number, lastSeq: number): boolean {
    if (seq !== lastSeq || this.advanced || this.ackedData || this.staleAcks === 0 || this.isn === undefined) return false;
    if (seq !== ((this.isn + 1) >>> 0)) return false;
    this.proven = false;
    return true;
  }

  /**
   * Whether the receiver's TCP would drop this segment (sequence numbers proven): wholly before its
   * acknowledged sequence with other bytes than delivered (a keep-alive octet excepted), or starting
   * at or beyond the right edge of its window (a one-octet zero-window probe excepted). Reported, not decoded.
   */
  private receiverDrops(seq: number, rel: number, payload: Uint8Array, payloadLen: number, meta: SegmentMeta): boolean {
    const ack = this.rcvAck;
    if (ack === undefined) return false;
    const end = (seq + payloadLen) >>> 0;
    if (((end - ack) | 0) <= 0) {
      if (rel >= 0) return false; // not delivered yet (cannot be: nextSeq follows the acknowledgements)
      if (payloadLen <= 1 && ((ack - end) | 0) <= 1) return true; // keep-alive
      const ov = Math.min(-rel, payload.length);
      if (this.compare(rel, payload, ov) === 'differs') {
        this.outOfWindow++;
        this.warn('W_TCP_OUT_OF_WINDOW', `segment at seq ${seq} lies before the receiver's acknowledged seq ${ack} and carries other bytes: the receiver drops it; not decoded`, meta);
      } else this.retransmissions++;
      return true;
    }
    if (((seq - this.rcvRight) | 0) >= 0 && rel >= 0) {
      if (payloadLen === 1 && seq === this.rcvRight && this.rcvRight === ack) return true; // zero-window probe
      this.outOfWindow++;
      this.warn('W_TCP_OUT_OF_WINDOW', `segment at seq ${seq} lies beyond the receiver's window (acknowledged ${ack}, window ends at ${this.rcvRight}): the receiver drops it; not decoded`, meta);
      return true;
    }
    return false;
  }

  /**
   * A segment carries other bytes than those delivered for stream octets the receiver has not
   * acknowledged: which copy the receiver took cannot be told. Reported as `E_TCP_DESYNC`; the
   * contradicting octets are not decoded, the partial APDU is dropped (a gap of 0) and what the
   * segment adds beyond the delivered bytes is decoded from a fresh start.
   */
  private desync(seq: number, payload: Uint8Array, ov: number, meta: SegmentMeta): void {
    this.desyncs++;
    this.emit(issue('E_TCP_DESYNC', `segment at seq ${seq} carries other bytes than the first copy for ${ov} octets the receiver has not acknowledged: the stream the receiver sees cannot be told (evasion attempt or damaged capture); the contradicting copy is not decoded and decoding resynchronises`, { frame: meta.frame, flow: this.flow, streamOffset: this.delivered }));
    this.sink.gap(0, meta);
    this.contig = 0;
    if (ov < payload.length) {
      const part = payload.subarray(ov);
      this.deliver(part, meta);
      this.nextSeq = (this.nextSeq + part.length) >>> 0;
      if (this.ooo.length > 0) this.drain(meta);
    }
  }

  /** A segment that starts at or before nextSeq. */
  private inOrder(seq: number, payload: Uint8Array, meta: SegmentMeta): void {
    const rel = (seq - this.nextSeq) | 0;
    if (rel < 0) {
      const ov = Math.min(-rel, payload.length);
      if (this.compare(rel, payload, ov) === 'differs') {
        if (this.proven) {
          this.desync(seq, payload, ov, meta);
          return;
        }
        this.warn('W_TCP_OVERLAP_DIFFERS', `overlapping bytes at seq ${seq} differ from the first copy (first copy kept)`, meta);
      }
      if (ov === payload.length) {
        this.retransmissions++;
        return;
      }
      payload = payload.subarray(ov);
    }
    this.deliver(payload, meta);
    this.nextSeq = (this.nextSeq + payload.length) >>> 0;
    if (this.ooo.length > 0) this.drain(meta);
  }

  /** Compare `ov` octets of a segment starting `-rel` octets before nextSeq with the history. */
  private compare(rel: number, payload: Uint8Array, ov: number): 'same' | 'differs' | 'unknown' {
    const back = -rel; // octets before nextSeq where the segment starts
    const hist = this.hist;
    if (hist === undefined) return ov > 0 ? 'unknown' : 'same';
    const size = hist.length;
    const histLen = Math.min(this.contig, size);
    let unknown = false;
    for (let i = 0; i < ov; i++) {
      const dist = back - i; // 1..back
      if (dist > histLen) {
        unknown = true;
        continue;
      }
      const pos = (this.delivered - dist) % size;
      if (hist[pos] !== payload[i]) return 'differs';
    }
    return unknown ? 'unknown' : 'same';
  }

  private buffer(seq: number, payload: Uint8Array, meta: SegmentMeta): void {
    const h: Held = { seq, data: payload.slice(), meta: copyMeta(meta) };
    // insert sorted by distance from nextSeq; equal seq: keep the first copy
    let i = this.ooo.length;
    const rel = (seq - this.nextSeq) | 0;
    while (i > 0 && ((this.ooo[i - 1].seq - this.nextSeq) | 0) > rel) i--;
    if (i > 0 && this.ooo[i - 1].seq === seq && this.ooo[i - 1].data.length >= payload.length) {
      const f = this.ooo[i - 1].data;
      for (let k = 0; k < payload.length; k++) {
        if (f[k] !== payload[k]) {
          if (this.proven) {
            // neither copy is decoded: the hole stays until a retransmission or the end
            this.desyncs++;
            this.emit(issue('E_TCP_DESYNC', `two copies of out-of-order bytes at seq ${seq} differ before the receiver acknowledged them: the stream the receiver sees cannot be told (evasion attempt or damaged capture); neither copy is decoded`, { frame: meta.frame, flow: this.flow, streamOffset: this.delivered }));
            const drop = this.ooo.splice(i - 1, 1)[0];
            this.oooBytes -= drop.data.length;
          } else this.warn('W_TCP_OVERLAP_DIFFERS', `retransmitted out-of-order bytes at seq ${seq} differ from the first copy (first copy kept)`, meta);
          break;
        }
      }
      return;
    }
    this.ooo.splice(i, 0, h);
    this.oooBytes += payload.length;
    while (this.ooo.length > 0 && (this.oooBytes > this.maxBytes || this.ooo.length > this.maxSegs)) this.skipToFirstBuffered('out-of-order buffer full', meta);
  }

  /**
   * Deliver buffered segments that have become contiguous. Their bytes are attributed to `trigger`
   * (the segment that filled the hole, i.e. the frame in which they became readable) when given.
   */
  private drain(trigger?: SegmentMeta): void {
    while (this.ooo.length > 0) {
      const h = this.ooo[0];
      const rel = (h.seq - this.nextSeq) | 0;
      if (rel > 0) break;
      this.ooo.shift();
      this.oooBytes -= h.data.length;
      const ov = Math.min(-rel, h.data.length);
      if (ov > 0 && this.compare(rel, h.data, ov) === 'differs') {
        if (this.proven) {
          this.desync(h.seq, h.data, ov, trigger ?? h.meta);
          continue;
        }
        this.warn('W_TCP_OVERLAP_DIFFERS', `overlapping bytes at seq ${h.seq} differ from the first copy (first copy kept)`, h.meta);
      }
      if (ov === h.data.length) continue;
      const part = h.data.subarray(ov);
      this.deliver(part, trigger ?? h.meta);
      this.nextSeq = (this.nextSeq + part.length) >>> 0;
    }
    if (this.finSeq !== undefined && this.ooo.length === 0 && this.nextSeq === this.finSeq && !this.ended) {
      this.ended = true;
      this.sink.end(undefined, 'fin');
    }
  }

  private fallback(held: Held[], why: string): void {
    this.mode = 'arrival';
    this.warn('W_TCP_SEQ_FALLBACK', `${why}: reading this direction in arrival order`, held[0].meta);
    // buffered out-of-order segments go first only if they arrived first; keep arrival order by frame
    const all = [...this.ooo, ...held].sort((x, y) => x.meta.frame - y.meta.frame);
    this.ooo = [];
    this.oooBytes = 0;
    for (const h of all) this.deliver(h.data, h.meta);
  }

  private deliver(bytes: Uint8Array, meta: SegmentMeta): void {
    if (bytes.length === 0) return;
    const n = bytes.length;
    let h = this.hist;
    if (h === undefined || (h.length < HISTORY_BYTES && this.delivered + n > h.length)) h = this.growHistory(this.delivered + n);
    const size = h.length;
    if (n >= size) {
      const tail = bytes.subarray(n - size);
      const start = (this.delivered + n - size) % size;
      const first = size - start;
      h.set(tail.subarray(0, first), start);
      h.set(tail.subarray(first), 0);
    } else if (n <= 256) {
      // small segments (the common case): a plain loop beats two subarrays and set()
      let p = this.delivered % size;
      for (let i = 0; i < n; i++) {
        h[p] = bytes[i];
        p = p + 1 === size ? 0 : p + 1;
      }
    } else {
      const start = this.delivered % size;
      const first = Math.min(n, size - start);
      h.set(bytes.subarray(0, first), start);
      if (first < n) h.set(bytes.subarray(first), 0);
    }
    this.delivered += n;
    this.contig += n;
    this.sink.data(bytes, meta);
  }

  /** A larger history ring holding the same last bytes at the positions the new size gives them. */
  private growHistory(want: number): Uint8Array {
    let size = this.hist?.length ?? HISTORY_START;
    while (size < want && size < HISTORY_BYTES) size *= 2;
    const old = this.hist;
    const h = new Uint8Array(size);
    if (old !== undefined) {
      const keep = Math.min(this.delivered, old.length);
      for (let d = 1; d <= keep; d++) h[(this.delivered - d) % size] = old[(this.delivered - d) % old.length];
    }
    this.hist = h;
    return h;
  }
}
