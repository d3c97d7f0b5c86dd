/**
 * The APCI link layer of IEC 60870-5-104 (clause 5) as a socket-free state machine.
 *
 * Behaviour decisions are listed, row by row, in docs/CONFORMANCE.md (L01..); the tests in
 * test/link check every row. Summary:
 *
 * - one timer at most, re-armed lazily: t1/t2/t3 are kept as absolute deadlines and the timer is
 *   only moved when a deadline becomes earlier than the armed one (it never churns per frame);
 * - sent I-frames' tags and send times live in a ring buffer of size k (O(1) per frame);
 * - an S-frame is sent as soon as w received I-frames are unacknowledged, right after the w-th
 *   frame's `asdu` handler had the chance to piggy-back the acknowledgement on an I-frame: never
 *   more than w received I-frames are unacknowledged, however many frames a chunk carries.
 */
import { encodeSFrame, encodeUFrame, seqDistance, type UFunction } from '../codec/apci.js';
import { decodeApdu, encodeIFrame } from '../codec/apdu.js';
import { type Asdu, decodeAsduBody } from '../codec/asdu.js';
import { CodecError } from '../codec/errors.js';
import { ApduSplitter } from '../codec/frame-splitter.js';
import { type CodecOptions, resolveOptions } from '../codec/options.js';
import { type Clock, type TimerHandle, systemClock } from '../clock.js';
import { type Logger, nullLogger } from '../log.js';
import { resolveLinkParameters } from './params.js';
import type {
  LinkCloseCode,
  LinkCloseReason,
  LinkEvents,
  LinkOptions,
  LinkParameters,
  LinkRole,
  LinkSnapshot,
  LinkState,
} from './types.js';

/**
 * A method was called that the link's role does not offer (e.g. `start()` on the controlled
 * station), or `receive()` was called from inside a link event handler.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { Link, LinkUsageError } from 'iec104';
 * const link = new Link({ role: 'controlled' }, { write() {}, asdu() {}, close() {} });
 * assert.throws(() => link.start(), LinkUsageError);
 * ```
 */
export class LinkUsageError extends Error {
  override readonly name = 'LinkUsageError';
  readonly code = 'E_LINK_USAGE' as const;
}

/**
 * The APCI link machine of one connection. Feed it received bytes ({@link receive}), ASDUs to send
 * ({@link send}) and, for the controlling station, {@link start}/{@link stop}; it emits the bytes
 * to write, received ASDUs, acknowledgements and exactly one `close`.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { Link, VirtualClock } from 'iec104';
 * const clock = new VirtualClock();
 * const out: string[] = [];
 * const link = new Link({ role: 'controlled', clock }, {
 *   write: (b) => out.push(Buffer.from(b).toString('hex')),
 *   asdu: () => {},
 *   close: () => {},
 * });
 * link.open();
 * link.receive(Uint8Array.from([0x68, 0x04, 0x07, 0x00, 0x00, 0x00])); // STARTDT act
 * assert.deepEqual(out, ['68040b000000']); // STARTDT con
 * assert.equal(link.snapshot().state, 'started');
 * const ok = link.send({ typeId: 13, sq: false, cot: 3, negative: false, test: false, originator: 0, ca: 1, objects: [{ ioa: 1, value: 1.5 }] });
 * assert.ok(ok);
 * assert.equal(out[1].slice(0, 12), '681200000000'); // I-frame N(S)=0 N(R)=0
 * ```
 */
export class Link {
  /** Which end this is. */
  readonly role: LinkRole;
  /** The resolved, validated APCI parameters. */
  readonly parameters: Readonly<LinkParameters>;

  private readonly ev: LinkEvents;
  private readonly clock: Clock;
  private readonly codec: CodecOptions;
  private readonly log: Logger;
  private readonly splitter: ApduSplitter;
  private readonly k: number;
  private readonly w: number;
  private readonly t1: number;
  private readonly t2: number;
  private readonly t3: number;

  private st: LinkState = 'stopped';
  private opened = false;
  /** V(S) */
  private vs = 0;
  /** V(R) */
  private vr = 0;
  /** Oldest unacknowledged sent sequence number (V(A)). */
  private va = 0;
  /** Sent I-frames not yet acknowledged (vs - va). */
  private unacked = 0;
  /** Received I-frames not yet acknowledged by us. */
  private rcvUnacked = 0;
  /** An S-frame was sent for w frames during the current `receive()` call (a burst). */
  private burstAcked = false;
  /** Ring of tags of unacknowledged sent I-frames, oldest at `head`. */
  private readonly tags: unknown[];
  /** Ring of send times, parallel to `tags`. */
  private readonly sentAt: Float64Array;
  private head = 0;

  /** Deadlines (absolute clock times; Infinity = not armed). */
  private t2At = Infinity;
  private lastRx = 0;
  private testAt = Infinity;
  private ctlAt = Infinity;
  private ctlWhat: UFunction | undefined;

  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private wantDrain = false;
  private receiving = false;
  private rxNow = 0;

  /** Whether received frames are copied for the handlers (not when they borrow them, see onFrame). */
  private readonly copyFrames: boolean;
  /** Reused copy of a received I-frame when no handler keeps the frame. */
  private readonly scratch = new Uint8Array(256);

  private readonly c = { iIn: 0, iOut: 0, sIn: 0, sOut: 0, uIn: 0, uOut: 0, bytesIn: 0, bytesOut: 0 };

  /**
   * @throws {@link LinkParameterError} for an unusable parameter set; `CodecError` `E_OPTIONS` for bad codec widths.
   */
  constructor(options: LinkOptions, events: LinkEvents) {
    if (options.role !== 'controlling' && options.role !== 'controlled') throw new LinkUsageError(`role must be 'controlling' or 'controlled', found ${String(options.role)}`);
    this.role = options.role;
    this.parameters = Object.freeze(resolveLinkParameters(options.params));
    this.k = this.parameters.k;
    this.w = this.parameters.w;
    this.t1 = this.parameters.t1;
    this.t2 = this.parameters.t2;
    this.t3 = this.parameters.t3;
    this.ev = events;
    this.clock = options.clock ?? systemClock;
    this.codec = resolveOptions(options.codec);
    this.log = options.logger ?? nullLogger;
    this.tags = new Array<unknown>(this.k);
    this.copyFrames = events.borrowFrames !== true;
    this.sentAt = new Float64Array(this.k);
    this.splitter = new ApduSplitter({
      frame: (f) => this.onFrame(f),
      junk: (b, at) => this.fail('E_MALFORMED', `${b.length} byte(s) not starting an APDU at stream offset ${at} (expected start byte 0x68)`),
      error: (e) => this.fail('E_MALFORMED', e.message, e),
    });
  }

  /** Current state. */
  get state(): LinkState {
    return this.st;
  }

  /** True when an I-frame can be sent now: data transfer started and fewer than k frames unacknowledged. */
  get canSend(): boolean {
    return this.st === 'started' && this.unacked < this.k;
  }

  /** The transport is connected: start idle supervision (t3). Implied by the first `receive`, `start` or `send`. */
  open(): void {
    if (this.opened || this.st === 'closed') return;
    this.opened = true;
    this.lastRx = this.clock.now();
    this.log.log('debug', 'link.open', 'link opened', { role: this.role });
    this.schedule();
  }

  /** Feed bytes received from the transport, in any chunking. */
  receive(bytes: Uint8Array): void {
    if (this.isClosed()) return;
    if (!this.opened) this.open();
    if (this.receiving) throw new LinkUsageError('receive() called re-entrantly from a link event handler');
    this.receiving = true;
    this.burstAcked = false;
    this.rxNow = this.clock.now();
    this.c.bytesIn += bytes.length;
    try {
      this.splitter.push(bytes);
    } finally {
      this.receiving = false;
    }
    if (this.isClosed()) return;
    if (this.wantDrain && this.st === 'started' && this.unacked < this.k) {
      this.wantDrain = false;
      this.ev.drain?.();
      if (this.isClosed()) return;
    }
    // after a burst that needed an S-frame for w frames, the rest of the chunk is acknowledged too
    // (earlier than w allows, never later): the sender gets its whole window back at once
    if (this.rcvUnacked >= this.w || (this.rcvUnacked > 0 && (this.st === 'stopping' || this.burstAcked))) this.sendS();
    this.schedule();
  }

  /**
   * Send an ASDU in an I-frame (acknowledging everything received so far). Returns false, sending
   * nothing, when data transfer is not started or k frames are unacknowledged; `drain` fires when
   * sending is possible again. `tag` is handed back in `acknowledged` or in `close`.
   * @throws CodecError when the ASDU cannot be encoded (nothing is sent, the link is unchanged).
   */
  send(asdu: Asdu, tag?: unknown): boolean {
    if (this.st !== 'started' || this.unacked >= this.k) {
      if (this.st !== 'closed') this.wantDrain = true;
      return false;
    }
    const frame = encodeIFrame(this.vs, this.vr, asdu, this.codec);
    // inside receive() (a reply from an event handler) the time read at its start is current
    const now = this.receiving ? this.rxNow : this.clock.now();
    let i = this.head + this.unacked;
    if (i >= this.k) i -= this.k;
    this.tags[i] = tag;
    this.sentAt[i] = now;
    const first = this.unacked === 0;
    this.unacked++;
    this.vs = (this.vs + 1) & 0x7fff;
    if (this.rcvUnacked !== 0) {
      this.rcvUnacked = 0;
      this.t2At = Infinity;
    }
    this.c.iOut++;
    this.out(frame);
    if (first && !this.receiving) this.schedule();
    return true;
  }

  /**
   * Controlling station: send STARTDT act (state `starting`, then `started` on STARTDT con, supervised
   * by t1). Returns true when started or starting, false when it cannot (closed, or stopping).
   * @throws {@link LinkUsageError} on a controlled link.
   */
  start(): boolean {
    if (this.role !== 'controlling') throw new LinkUsageError('start() sends STARTDT act: only the controlling station does that');
    if (this.st === 'started' || this.st === 'starting') return true;
    if (this.st !== 'stopped') return false;
    if (!this.opened) this.open();
    this.writeU('STARTDT_ACT');
    this.ctlAt = this.clock.now() + this.t1;
    this.ctlWhat = 'STARTDT_ACT';
    this.setState('starting');
    if (!this.receiving) this.schedule();
    return true;
  }

  /**
   * Controlling station: acknowledge what was received, send STOPDT act (state `stopping`, then
   * `stopped` on STOPDT con, supervised by t1). Returns true when stopped or stopping, false when
   * it cannot (closed, or starting).
   * @throws {@link LinkUsageError} on a controlled link.
   */
  stop(): boolean {
    if (this.role !== 'controlling') throw new LinkUsageError('stop() sends STOPDT act: only the controlling station does that');
    if (this.st === 'stopped' || this.st === 'stopping') return true;
    if (this.st !== 'started') return false;
    if (this.rcvUnacked > 0) this.sendS();
    this.writeU('STOPDT_ACT');
    this.ctlAt = this.clock.now() + this.t1;
    this.ctlWhat = 'STOPDT_ACT';
    this.setState('stopping');
    if (!this.receiving) this.schedule();
    return true;
  }

  /**
   * Close the link locally (`E_LOCAL`, or the code given). Emits `close` once; later calls do nothing.
   * Transports use `{ code: 'E_BUFFER_LIMIT', ... }` for their own limits.
   */
  close(reason?: string | { code?: LinkCloseCode; message?: string }): void {
    if (typeof reason === 'string') this.fail('E_LOCAL', reason);
    else this.fail(reason?.code ?? 'E_LOCAL', reason?.message ?? 'closed locally');
  }

  /** The transport ended (closed by the peer or failed): close with `E_PEER_CLOSED` unless already closed. */
  transportClosed(message = 'transport closed'): void {
    this.fail('E_PEER_CLOSED', message);
  }

  /** Live state for observability. */
  snapshot(): LinkSnapshot {
    const deadlines: LinkSnapshot['deadlines'] = {};
    const t1 = Math.min(this.unacked > 0 ? this.sentAt[this.head] + this.t1 : Infinity, this.ctlAt, this.testAt);
    if (this.st !== 'closed') {
      if (t1 !== Infinity) deadlines.t1 = t1;
      if (this.t2At !== Infinity) deadlines.t2 = this.t2At;
      if (this.opened && this.testAt === Infinity) deadlines.t3 = this.lastRx + this.t3;
    }
    return {
      state: this.st,
      vs: this.vs,
      vr: this.vr,
      unacknowledged: this.unacked,
      receivedUnacknowledged: this.rcvUnacked,
      deadlines,
      counters: { ...this.c },
    };
  }

  // ------------------------------------------------------------------------------------------
  // receive path

  private onFrame(f: Uint8Array): void {
    if (this.isClosed()) return;
    this.lastRx = this.rxNow;
    // The splitter's view is reused (and a Buffer's slice() is a view): copy I-frames, which are
    // handed out, and decode from the copy so that anything the ASDU references stays valid. When
    // the handlers borrow frames (`borrowFrames`), they get the view and the link decodes from a
    // reused scratch copy: the decoder copies what it keeps (`slice` of a plain Uint8Array), and
    // the allocation per frame is spared (events at large k, command round trips).
    const isI = (f[2] & 1) === 0;
    /** Handed to the handlers. */
    let frame = f;
    /** Decoded (from 0 to f.length). */
    let src = f;
    if (isI) {
      if (this.copyFrames) src = frame = new Uint8Array(f);
      else {
        this.scratch.set(f);
        src = this.scratch;
      }
    }
    if (this.ev.frame) {
      this.ev.frame('in', isI || !this.copyFrames ? frame : new Uint8Array(f));
      if (this.isClosed()) return;
    }
    if (isI && (src[4] & 1) === 0 && f.length > 6) {
      // I-frame: decodeApdu's own I-frame path, without its result wrappers (one frame is one
      // APDU, checked by the splitter)
      const a = decodeAsduBody(src, 6, f.length, this.codec, true);
      if (a instanceof CodecError) {
        this.fail('E_MALFORMED', `malformed APDU: ${a.message}`, a);
        return;
      }
      this.onIFrame((frame[2] >>> 1) | (frame[3] << 7), (frame[4] >>> 1) | (frame[5] << 7), a, frame);
      return;
    }
    const r = decodeApdu(isI && !this.copyFrames ? new Uint8Array(f) : frame, this.codec);
    if (!r.ok) {
      this.fail('E_MALFORMED', `malformed APDU: ${r.error.message}`, r.error);
      return;
    }
    const apci = r.value.apci;
    if (apci.format === 'I') {
      this.onIFrame(apci.sendSeq, apci.recvSeq, r.value.asdu as Asdu, frame);
      return;
    }
    if (apci.format === 'S') {
      this.c.sIn++;
      this.acknowledge(apci.recvSeq, 'S');
      return;
    }
    this.c.uIn++;
    this.onU(apci.uFunction);
  }

  private onIFrame(ns: number, nr: number, asdu: Asdu, frame: Uint8Array): void {
    this.c.iIn++;
    if (this.st !== 'started' && !(this.st === 'stopping' && this.role === 'controlling')) {
      this.fail('E_I_WHILE_STOPPED', `I-frame N(S)=${ns} received in state ${this.st}`);
      return;
    }
    if (ns !== this.vr) {
      this.fail('E_SEQ_ORDER', `I-frame N(S)=${ns}, expected V(R)=${this.vr}`);
      return;
    }
    if (!this.acknowledge(nr, 'I')) return;
    this.vr = (this.vr + 1) & 0x7fff;
    if (this.rcvUnacked++ === 0) this.t2At = this.rxNow + this.t2;
    this.ev.asdu(asdu, frame);
    // at the latest after w I-frames (clause 5.5): acknowledged right after the w-th frame's
    // handler (which may have piggy-backed it on an I-frame), never later in a long chunk
    if (this.rcvUnacked >= this.w && !this.isClosed()) {
      this.sendS();
      this.burstAcked = true;
    }
  }

  /** Process N(R). Returns false when the link closed. */
  private acknowledge(nr: number, kind: 'I' | 'S'): boolean {
    const n = seqDistance(nr, this.va);
    if (n > this.unacked) {
      this.fail('E_SEQ_ACK', `${kind}-frame N(R)=${nr} outside the unacknowledged range ${this.va}..${this.vs} (V(S)=${this.vs})`);
      return false;
    }
    if (n === 0) return true;
    const cb = this.ev.acknowledged;
    const acked = cb ? new Array<unknown>(n) : undefined;
    const tags = this.tags;
    const k = this.k;
    let i = this.head;
    for (let j = 0; j < n; j++) {
      if (acked) acked[j] = tags[i];
      tags[i] = undefined;
      if (++i === k) i = 0;
    }
    this.head = i;
    this.unacked -= n;
    this.va = nr;
    if (cb && acked) {
      cb.call(this.ev, acked);
      if (this.isClosed()) return false;
    }
    if (this.unacked === 0 && this.st === 'stopping' && this.role === 'controlled') {
      this.writeU('STOPDT_CON');
      this.setState('stopped');
    }
    return this.st !== 'closed';
  }

  private onU(fn: UFunction): void {
    const controlling = this.role === 'controlling';
    switch (fn) {
      case 'TESTFR_ACT':
        this.writeU('TESTFR_CON');
        return;
      case 'TESTFR_CON':
        if (this.testAt !== Infinity) this.testAt = Infinity;
        else this.log.log('debug', 'link.unsolicited', 'TESTFR con without a TESTFR act: ignored');
        return;
      case 'STARTDT_ACT':
        if (controlling) return this.fail('E_UNEXPECTED_U', 'STARTDT act received by the controlling station (both ends controlling?)');
        this.writeU('STARTDT_CON');
        if (this.st !== 'started') this.setState('started');
        return;
      case 'STOPDT_ACT':
        if (controlling) return this.fail('E_UNEXPECTED_U', 'STOPDT act received by the controlling station (both ends controlling?)');
        if (this.st === 'stopped') {
          this.writeU('STOPDT_CON');
          return;
        }
        if (this.st === 'started') this.setState('stopping');
        if (this.rcvUnacked > 0) this.sendS();
        if (this.unacked === 0 && this.st === 'stopping') {
          this.writeU('STOPDT_CON');
          this.setState('stopped');
        }
        return;
      case 'STARTDT_CON':
        if (!controlling) return this.fail('E_UNEXPECTED_U', 'STARTDT con received by the controlled station');
        if (this.st !== 'starting') return this.fail('E_UNEXPECTED_U', `STARTDT con received in state ${this.st} (no STARTDT act outstanding)`);
        this.ctlAt = Infinity;
        this.ctlWhat = undefined;
        this.setState('started');
        return;
      case 'STOPDT_CON':
        if (!controlling) return this.fail('E_UNEXPECTED_U', 'STOPDT con received by the controlled station');
        if (this.st !== 'stopping') return this.fail('E_UNEXPECTED_U', `STOPDT con received in state ${this.st} (no STOPDT act outstanding)`);
        this.ctlAt = Infinity;
        this.ctlWhat = undefined;
        this.setState('stopped');
        return;
    }
  }

  // ------------------------------------------------------------------------------------------
  // output and timers

  private isClosed(): boolean {
    return this.st === 'closed';
  }

  private out(b: Uint8Array): void {
    this.c.bytesOut += b.length;
    this.ev.write(b);
    this.ev.frame?.('out', b);
  }

  private writeU(fn: UFunction): void {
    this.c.uOut++;
    this.out(encodeUFrame(fn));
  }

  private sendS(): void {
    this.rcvUnacked = 0;
    this.t2At = Infinity;
    this.c.sOut++;
    this.out(encodeSFrame(this.vr));
  }

  private setState(s: LinkState): void {
    const prev = this.st;
    if (prev === s) return;
    this.st = s;
    this.log.log('info', 'link.state', `link ${prev} -> ${s}`, { role: this.role, state: s, previous: prev });
    this.ev.stateChange?.(s, prev);
  }

  /** Arm the single timer for the earliest deadline if it is earlier than the armed one. */
  private schedule(): void {
    if (this.isClosed()) return;
    let next = this.t2At;
    if (this.unacked > 0) {
      const d = this.sentAt[this.head] + this.t1;
      if (d < next) next = d;
    }
    if (this.ctlAt < next) next = this.ctlAt;
    if (this.testAt !== Infinity) {
      if (this.testAt < next) next = this.testAt;
    } else if (this.opened) {
      const d = this.lastRx + this.t3;
      if (d < next) next = d;
    }
    if (next >= this.timerAt || next === Infinity) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = this.clock.setTimeout(this.onTimer, Math.max(0, Math.ceil(next - this.clock.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.isClosed()) return;
    const now = this.clock.now();
    if (this.unacked > 0 && this.sentAt[this.head] + this.t1 <= now) {
      return this.fail('E_T1_TIMEOUT', `I-frame N(S)=${this.va} not acknowledged within t1 (${this.t1} ms); ${this.unacked} unacknowledged`);
    }
    if (this.ctlAt <= now) return this.fail('E_T1_TIMEOUT', `${this.ctlWhat ?? 'act'} not confirmed within t1 (${this.t1} ms)`);
    if (this.testAt <= now) return this.fail('E_T1_TIMEOUT', `TESTFR act not confirmed within t1 (${this.t1} ms)`);
    if (this.t2At <= now) this.sendS();
    if (this.testAt === Infinity && this.lastRx + this.t3 <= now) {
      this.writeU('TESTFR_ACT');
      this.testAt = now + this.t1;
    }
    this.schedule();
  };

  private fail(code: LinkCloseCode, message: string, error?: CodecError): void {
    if (this.isClosed()) return;
    const prev = this.st;
    this.st = 'closed';
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.t2At = this.testAt = this.ctlAt = Infinity;
    this.splitter.reset();
    const unackTags = new Array<unknown>(this.unacked);
    {
      let i = this.head;
      for (let j = 0; j < this.unacked; j++) {
        unackTags[j] = this.tags[i];
        this.tags[i] = undefined;
        if (++i === this.k) i = 0;
      }
    }
    const reason: LinkCloseReason = error ? { code, message, error } : { code, message };
    const level = code === 'E_LOCAL' || code === 'E_PEER_CLOSED' ? 'info' : 'warn';
    this.log.log(level, 'link.closed', message, { role: this.role, code, previous: prev, unacknowledged: this.unacked, vs: this.vs, vr: this.vr });
    this.ev.stateChange?.('closed', prev);
    this.ev.close(reason, unackTags);
  }
}
