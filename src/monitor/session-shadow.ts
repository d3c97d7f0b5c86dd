/**
 * Session shadowing: the IEC 60870-5-104 link rules applied passively to each observed
 * connection. It never sees the endpoints' timers, only the capture, so every time check uses
 * capture time (`ObservedApdu.ts`).
 *
 * Captures that start mid-session are tolerated: the first sequence numbers seen in each direction
 * are learned, not flagged. A connection whose first APDU is STARTDT act is taken as fresh
 * (both sequences start at 0).
 *
 * Why this is not built on {@link Link} (src/link/link.ts): a `Link` is one end of a connection. It
 * owns one V(S)/V(R) pair, runs its timers on a {@link Clock}, writes the frames the rules demand
 * (S-frames, TESTFR con) and closes at the first violation. The shadow watches both ends at once
 * from outside: it keeps the state of both directions, never sends, measures time from capture
 * time stamps, learns the sequence numbers of a capture that starts mid-session instead of
 * refusing them, and keeps following a connection after a violation so that every later one is
 * reported too. Only the parameters are shared: the defaults below are the link's one definition,
 * {@link DEFAULT_LINK_PARAMETERS}.
 */
import { seqDistance } from '../codec/apci.js';
import { DEFAULT_LINK_PARAMETERS } from '../link/types.js';
import { type ObjectKey, isProcessCommand, objectKey } from './roles.js';
import { type Alert, type JsonValue, type Observation, makeAlert } from './types.js';

/** Link-rule parameters (IEC 60870-5-104 clause 5 defaults). */
export interface LinkConfig {
  /** Maximum unacknowledged I-frames a sender may have outstanding (default 12). */
  k: number;
  /** A receiver acknowledges at the latest after this many I-frames (default 8). */
  w: number;
  /** t1: an I-frame or U act must be answered within this time, ms (default 15000). */
  t1Ms: number;
  /** t3: idle time after which a TESTFR act is due, ms (default 20000). */
  t3Ms: number;
  /** A connection silent for longer than t3 + t1 without TESTFR is reported once per gap (default true). */
  checkKeepAlive: boolean;
  /** How long a confirmed select stays valid for its execute, ms (default 60000). */
  sboSelectTimeoutMs: number;
  /** Bound on remembered objects per flow / station for SBO (default 1024). */
  maxSboObjects: number;
  /** Bound on remembered unacknowledged I-frames per direction (default 256). */
  maxPending: number;
  /** Sequence numbers remembered per direction to tell duplicates from replays (default 64). */
  replayMemory: number;
}

/** Default link rules. */
export const DEFAULT_LINK_CONFIG: Readonly<LinkConfig> = Object.freeze({
  k: DEFAULT_LINK_PARAMETERS.k,
  w: DEFAULT_LINK_PARAMETERS.w,
  t1Ms: DEFAULT_LINK_PARAMETERS.t1,
  t3Ms: DEFAULT_LINK_PARAMETERS.t3,
  checkKeepAlive: true,
  sboSelectTimeoutMs: 60000,
  maxSboObjects: 1024,
  maxPending: 256,
  replayMemory: 64,
});

interface Pending {
  seq: number;
  ts: number;
  frame: number;
  src: string;
  dst: string;
  flagged: boolean;
}

interface Side {
  /** N(S) expected next from this side. */
  nextSend: number | undefined;
  /** Last N(R) this side sent (acknowledges the other side's I-frames below it). */
  lastAck: number | undefined;
  /** I-frames of this side not yet acknowledged. */
  pending: Pending[];
  /** Recent N(S) -> fingerprint of the ASDU. */
  recent: RecentSeqs;
  /** U act sent by this side and not yet confirmed. */
  uPending: { fn: string; ts: number; frame: number; src: string; dst: string } | undefined;
  kExceeded: boolean;
  /**
   * This side sent an APDU in this capture. A peer never seen (a one-way capture, or a tap that
   * saw one direction) cannot be said to have left anything unanswered or unsent.
   */
  seen: boolean;
}

type DtState = 'unknown' | 'pending-start' | 'started' | 'pending-stop' | 'stopped';

interface SboState {
  phase: 'select-sent' | 'selected' | 'select-failed' | 'exec-sent' | 'exec-confirmed';
  value: JsonValue;
  ts: number;
}

/** @internal The link state of one flow. */
export interface FlowState {
  sides: Map<string, Side>;
  dt: DtState;
  frames: number;
  lastTs: number;
  sbo: Map<ObjectKey, SboState>;
  /** Cache of the first two sides. */
  addr0: string | undefined;
  side0: Side | undefined;
  addr1: string | undefined;
  side1: Side | undefined;
  /** Set when the flow was closed: a reference kept elsewhere (the detector's per-flow context) is stale. */
  closed: boolean;
}

const HALF = 16384;

function fnv(bytes: ArrayLike<number>, from: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < bytes.length; i++) {
    h ^= bytes[i] & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Fingerprint of an I-frame's ASDU: from the octets when present, else from the decoded ASDU. */
function fingerprint(o: Observation): number {
  if (o.raw.length > 6) return fnv(o.raw, 6);
  const a = o.apdu?.asdu;
  if (!a) return 0;
  const text = JSON.stringify([a.typeId, a.sq, a.cot, a.negative, a.test, a.originator, a.ca, a.objects, a.raw], (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
  const codes = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i);
  return fnv(codes, 0);
}

/**
 * The last `cap` N(S) values of a side with the fingerprints of their ASDUs: the semantics of an
 * insertion-ordered Map (set on a present key updates it in place; the oldest key is dropped beyond
 * `cap`), in a ring buffer with a bucket count filter so that the common case (a new N(S)) needs
 * no search and allocates nothing. Small on purpose (this runs for every I-frame of every flow):
 * buckets, keys and values in one array, and just enough buckets (twice the keys) that the
 * sequential N(S) of a side never share one with the keys kept, ordered so that the bucket of a
 * new N(S) and that of the one it evicts (cap before it) are neighbours.
 */
class RecentSeqs {
  /**
   * One array: the bucket counts at [0, 2 * half), then key and value of ring entry p at base + 2p
   * and base + 2p + 1. Made at the first `set` (4 KB for the default memory; a flow that never
   * carries an I-frame in this direction, e.g. one of a port scan's, never needs it).
   */
  private a: Float64Array | undefined;
  private readonly base: number;
  /** Half the buckets, and its log2. */
  private readonly half: number;
  private readonly shift: number;
  private readonly len: number;
  private start = 0;
  private n = 0;
  constructor(private readonly cap: number) {
    this.len = Math.max(1, cap);
    let shift = 6;
    while (2 ** (shift + 1) < 2 * cap) shift++;
    this.shift = shift;
    this.half = 2 ** shift;
    this.base = 2 * this.half;
  }
  /** Bucket of key `k`: its low bits select a pair of neighbours, the next bit one of the pair. */
  private bucket(k: number): number {
    return ((k & (this.half - 1)) << 1) | ((k >> this.shift) & 1);
  }
  private find(k: number): number {
    const a = this.a;
    if (a === undefined || a[this.bucket(k)] === 0) return -1;
    const len = this.len;
    for (let i = 0, p = this.start; i < this.n; i++, p = p + 1 === len ? 0 : p + 1) if (a[this.base + 2 * p] === k) return p;
    return -1;
  }
  get(k: number): number | undefined {
    const p = this.find(k);
    return p < 0 ? undefined : this.a![this.base + 2 * p + 1];
  }
  set(k: number, v: number): void {
    const p = this.find(k);
    if (p >= 0) {
      this.a![this.base + 2 * p + 1] = v;
      return;
    }
    if (this.cap <= 0) return;
    const a = (this.a ??= new Float64Array(this.base + 2 * this.len));
    const len = this.len;
    if (this.n === this.cap) {
      a[this.bucket(a[this.base + 2 * this.start])]--;
      this.start = this.start + 1 === len ? 0 : this.start + 1;
      this.n--;
    }
    let end = this.start + this.n;
    if (end >= len) end -= len;
    a[this.base + 2 * end] = k;
    a[this.base + 2 * end + 1] = v;
    a[this.bucket(k)]++;
    this.n++;
  }
}

function newSide(replayMemory: number): Side {
  return { nextSend: undefined, lastAck: undefined, pending: [], recent: new RecentSeqs(replayMemory), uPending: undefined, kExceeded: false, seen: false };
}

function jsonValue(v: unknown): JsonValue {
  if (v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  return String(v);
}

/**
 * Passive link-layer checker. Feed every observation of every flow in capture order to
 * {@link SessionShadow.observe}; call {@link SessionShadow.tick} with the capture clock to report
 * timeouts (observe calls it too), and {@link SessionShadow.close} when a flow ends.
 */
export class SessionShadow {
  readonly config: LinkConfig;
  private readonly flows = new Map<string, FlowState>();
  /** Objects operated with select-before-operate, per station. */
  private readonly sboKnown = new Map<string, Set<ObjectKey>>();
  private lastTick = -Infinity;

  constructor(config: Partial<LinkConfig> = {}) {
    this.config = { ...DEFAULT_LINK_CONFIG, ...config };
  }

  /** Number of flows currently tracked. */
  get flowCount(): number {
    return this.flows.size;
  }

  /** Check one APDU against the link rules. */
  observe(o: Observation): Alert[] {
    const out: Alert[] = [];
    this.observeInto(o, this.flowState(o.flow, o.ts), out);
    return out;
  }

  /**
   * @internal The state of `flow` (created, as first seen at `ts`, when missing). It stays the
   * flow's state until {@link SessionShadow.close} (which sets its `closed`), so callers may keep it.
   */
  flowState(flow: string, ts: number): FlowState {
    let f = this.flows.get(flow);
    if (!f) {
      f = { sides: new Map(), dt: 'unknown', frames: 0, lastTs: ts, sbo: new Map(), addr0: undefined, side0: undefined, addr1: undefined, side1: undefined, closed: false };
      this.flows.set(flow, f);
    }
    return f;
  }

  /** @internal {@link SessionShadow.observe} given the flow's state (from flowState); pushes the alerts to `out`. */
  observeInto(o: Observation, f: FlowState, out: Alert[]): void {
    // the timeouts first (a flow created just now has nothing pending, so creating it before does not matter)
    if (o.ts - this.lastTick >= 1000) this.tickInto(o.ts, out);
    const c = this.config;
    if (c.checkKeepAlive && f.frames > 0 && o.ts - f.lastTs > c.t3Ms + c.t1Ms) {
      out.push(makeAlert(o, 'link.no-keepalive', 'low', `connection silent for ${Math.round(o.ts - f.lastTs)} ms without TESTFR (t3 ${c.t3Ms} ms)`, { silentMs: Math.round(o.ts - f.lastTs), t3Ms: c.t3Ms }));
    }
    const first = f.frames === 0;
    f.frames++;
    f.lastTs = o.ts;
    const a = o.apdu;
    if (!a) return;
    const me = this.side(f, o.src);
    const peer = this.side(f, o.dst);
    me.seen = true;
    switch (a.apci.format) {
      case 'U':
        this.onU(o, f, me, peer, a.apci.uFunction, first, out);
        break;
      case 'S':
        this.onAck(o, me, peer, a.apci.recvSeq, out);
        break;
      case 'I': {
        if (!peer.seen) {
          // the other direction is not in the capture: the STARTDT/STOPDT answers cannot be known
        } else if (f.dt === 'stopped') {
          out.push(makeAlert(o, 'link.data-after-stopdt', 'medium', 'I-frame sent after STOPDT con (data transfer stopped)', { sendSeq: a.apci.sendSeq }));
        } else if (f.dt === 'pending-start') {
          out.push(makeAlert(o, 'link.data-before-startdt', 'medium', 'I-frame sent after STARTDT act but before STARTDT con', { sendSeq: a.apci.sendSeq }));
        }
        this.onSend(o, me, peer, a.apci.sendSeq, out);
        this.onAck(o, me, peer, a.apci.recvSeq, out);
        this.onSbo(o, f, out);
        break;
      }
    }
  }

  /** Report I-frames and U acts left unanswered longer than t1 by capture time `now`. */
  tick(now: number): Alert[] {
    const out: Alert[] = [];
    this.tickInto(now, out);
    return out;
  }

  private tickInto(now: number, out: Alert[]): void {
    this.lastTick = now;
    for (const [flow, f] of this.flows) {
      // the sides in map order: the two cached ones are the first two inserted
      // (an I-frame or act is unanswered only if its receiver was seen sending at all)
      if (f.sides.size <= 2) {
        if (f.side0 !== undefined && f.side1?.seen === true) this.expire(flow, f.side0, now, out);
        if (f.side1 !== undefined && f.side0?.seen === true) this.expire(flow, f.side1, now, out);
      } else for (const s of f.sides.values()) this.expire(flow, s, now, out);
    }
  }

  private expire(flow: string, s: Side, now: number, out: Alert[]): void {
    const t1 = this.config.t1Ms;
    const p = s.pending[0];
    if (p && !p.flagged && now - p.ts > t1) {
      p.flagged = true;
      out.push(makeAlert({ frame: p.frame, ts: p.ts + t1, src: p.src, dst: p.dst, flow }, 'link.t1-expired', 'medium',
        `I-frame N(S)=${p.seq} not acknowledged within t1 (${t1} ms)`, { sendSeq: p.seq, sentTs: p.ts, t1Ms: t1 }));
    }
    const u = s.uPending;
    if (u && now - u.ts > t1) {
      s.uPending = undefined;
      out.push(makeAlert({ frame: u.frame, ts: u.ts + t1, src: u.src, dst: u.dst, flow }, 'link.t1-expired', 'medium',
        `${u.fn} not confirmed within t1 (${t1} ms)`, { uFunction: u.fn, sentTs: u.ts, t1Ms: t1 }));
    }
  }

  /** Forget a flow (its TCP connection ended). */
  close(flow: string): void {
    const f = this.flows.get(flow);
    if (f === undefined) return;
    f.closed = true;
    this.flows.delete(flow);
  }

  private side(f: FlowState, addr: string): Side {
    // the two endpoints of a connection, cached (the map holds them all)
    if (addr === f.addr0) return f.side0!;
    if (addr === f.addr1) return f.side1!;
    let s = f.sides.get(addr);
    if (!s) {
      s = newSide(this.config.replayMemory);
      f.sides.set(addr, s);
    }
    if (f.addr0 === undefined) {
      f.addr0 = addr;
      f.side0 = s;
    } else if (f.addr1 === undefined) {
      f.addr1 = addr;
      f.side1 = s;
    }
    return s;
  }

  private onU(o: Observation, f: FlowState, me: Side, peer: Side, fn: string, first: boolean, out: Alert[]): void {
    if (fn.endsWith('_ACT')) {
      const u = me.uPending;
      if (u !== undefined && u.fn === fn && fn !== 'TESTFR_ACT' && !peer.seen && o.ts - u.ts > this.config.t1Ms) {
        // the peer never sent anything (so the tick did not judge the act), but the sender repeats
        // its STARTDT/STOPDT: the sender itself says it went unanswered (TESTFR repeats by design)
        out.push(makeAlert({ frame: u.frame, ts: u.ts + this.config.t1Ms, src: u.src, dst: u.dst, flow: o.flow }, 'link.t1-expired', 'medium',
          `${u.fn} not confirmed within t1 (${this.config.t1Ms} ms)`, { uFunction: u.fn, sentTs: u.ts, t1Ms: this.config.t1Ms }));
      }
      me.uPending = { fn, ts: o.ts, frame: o.frame, src: o.src, dst: o.dst };
      if (fn === 'STARTDT_ACT') {
        if (first) {
          me.nextSend = 0;
          peer.nextSend = 0;
          me.lastAck = 0;
          peer.lastAck = 0;
        }
        if (f.dt !== 'started') f.dt = 'pending-start';
      } else if (fn === 'STOPDT_ACT') {
        f.dt = 'pending-stop';
      }
      return;
    }
    const act = fn.replace('_CON', '_ACT');
    if (peer.uPending?.fn === act) {
      peer.uPending = undefined;
    } else if (peer.seen) {
      // (a peer never seen in the capture may have sent the act where the capture did not look)
      out.push(makeAlert(o, 'link.unsolicited-con', 'low', `${fn} without a preceding ${act}`, { uFunction: fn }));
    }
    if (fn === 'STARTDT_CON') f.dt = 'started';
    else if (fn === 'STOPDT_CON') f.dt = 'stopped';
  }

  private onSend(o: Observation, me: Side, peer: Side, ns: number, out: Alert[]): void {
    const c = this.config;
    const fp = fingerprint(o);
    if (me.nextSend === undefined) {
      me.nextSend = (ns + 1) & 0x7fff;
    } else {
      const d = seqDistance(ns, me.nextSend);
      if (d !== 0 && d < HALF) {
        out.push(makeAlert(o, 'link.seq-gap', 'medium', `N(S) jumped from expected ${me.nextSend} to ${ns}: ${d} I-frame(s) missing`, { expected: me.nextSend, found: ns, missing: d }));
        me.nextSend = (ns + 1) & 0x7fff;
        me.pending.length = 0;
      } else if (d >= HALF) {
        const earlier = me.recent.get(ns);
        const last = (me.nextSend - 1) & 0x7fff;
        if (ns === last && earlier === fp) {
          out.push(makeAlert(o, 'link.seq-duplicate', 'medium', `I-frame N(S)=${ns} sent again with identical content`, { sendSeq: ns, expected: me.nextSend }, 'T0830'));
        } else {
          out.push(makeAlert(o, 'link.seq-replay', 'high',
            earlier === fp ? `earlier I-frame N(S)=${ns} replayed (expected ${me.nextSend})` : `I-frame reuses old N(S)=${ns} (expected ${me.nextSend})${earlier !== undefined ? ' with different content' : ''}`,
            { sendSeq: ns, expected: me.nextSend, identicalToEarlier: earlier === fp }, 'T0830'));
        }
        return;
      } else {
        me.nextSend = (ns + 1) & 0x7fff;
      }
    }
    me.recent.set(ns, fp);
    me.pending.push({ seq: ns, ts: o.ts, frame: o.frame, src: o.src, dst: o.dst, flagged: false });
    if (me.pending.length > c.maxPending) me.pending.shift();
    if (peer.lastAck !== undefined) {
      const outstanding = seqDistance(me.nextSend, peer.lastAck);
      if (outstanding > c.k && outstanding < HALF) {
        if (!me.kExceeded) {
          me.kExceeded = true;
          out.push(makeAlert(o, 'link.k-exceeded', 'medium', `${outstanding} unacknowledged I-frames outstanding (k = ${c.k})`, { outstanding, k: c.k }, 'T0814'));
        }
      } else me.kExceeded = false;
    }
  }

  /** `me` sent N(R) = nr, acknowledging `peer`'s I-frames. */
  private onAck(o: Observation, me: Side, peer: Side, nr: number, out: Alert[]): void {
    const c = this.config;
    if (peer.nextSend !== undefined && peer.seen) {
      const ahead = seqDistance(nr, peer.nextSend);
      if (ahead !== 0 && ahead < HALF) {
        out.push(makeAlert(o, 'link.ack-unsent', 'high', `N(R)=${nr} acknowledges I-frames the peer never sent (its next N(S) is ${peer.nextSend})`, { recvSeq: nr, peerNextSend: peer.nextSend }, 'T0830'));
        return;
      }
    }
    if (me.lastAck !== undefined) {
      const back = seqDistance(me.lastAck, nr);
      if (back !== 0 && back < HALF) {
        out.push(makeAlert(o, 'link.ack-backwards', 'medium', `N(R) went back from ${me.lastAck} to ${nr}`, { previous: me.lastAck, recvSeq: nr }));
        return;
      }
      const acked = seqDistance(nr, me.lastAck);
      if (acked > c.w) {
        out.push(makeAlert(o, 'link.w-exceeded', 'low', `${acked} I-frames acknowledged at once (w = ${c.w})`, { acknowledged: acked, w: c.w }));
      }
    }
    me.lastAck = nr;
    while (peer.pending.length > 0) {
      const p = peer.pending[0];
      const d = seqDistance(nr, p.seq);
      if (d === 0 || d >= HALF) break;
      peer.pending.shift();
      if (!p.flagged && o.ts - p.ts > c.t1Ms) {
        out.push(makeAlert(o, 'link.t1-expired', 'medium', `I-frame N(S)=${p.seq} acknowledged after ${Math.round(o.ts - p.ts)} ms (t1 ${c.t1Ms} ms)`, { sendSeq: p.seq, sentFrame: p.frame, latencyMs: Math.round(o.ts - p.ts), t1Ms: c.t1Ms }));
      }
    }
    if (peer.nextSend !== undefined && seqDistance(peer.nextSend, nr) <= c.k) peer.kExceeded = false;
  }

  private onSbo(o: Observation, f: FlowState, out: Alert[]): void {
    const asdu = o.apdu?.asdu;
    if (!asdu || !isProcessCommand(asdu.typeId) || !o.dir || !o.station) return;
    const c = this.config;
    let known = this.sboKnown.get(o.station);
    for (const obj of asdu.objects) {
      if (typeof obj.select !== 'boolean') continue;
      const key = objectKey(asdu.typeId, asdu.ca, obj.ioa);
      const st = f.sbo.get(key);
      const ev = { typeId: asdu.typeId, ca: asdu.ca, ioa: obj.ioa };
      if (o.dir === 'master→station') {
        if (asdu.cot === 8) {
          f.sbo.delete(key);
          continue;
        }
        if (asdu.cot !== 6) continue;
        if (obj.select) {
          f.sbo.set(key, { phase: 'select-sent', value: jsonValue(obj.value), ts: o.ts });
          if (!known) this.sboKnown.set(o.station, (known = new Set()));
          known.add(key);
          if (known.size > c.maxSboObjects) known.delete(known.values().next().value as ObjectKey);
          if (f.sbo.size > c.maxSboObjects) f.sbo.delete(f.sbo.keys().next().value as ObjectKey);
          continue;
        }
        const valid = st && o.ts - st.ts <= c.sboSelectTimeoutMs ? st : undefined;
        if (valid?.phase === 'selected') {
          if (valid.value !== jsonValue(obj.value)) {
            out.push(makeAlert(o, 'link.sbo-value-mismatch', 'high', `execute of IOA ${obj.ioa} with value ${String(obj.value)} differs from the selected value ${String(valid.value)}`, { ...ev, selected: valid.value, executed: jsonValue(obj.value) }, 'T0855'));
          }
          valid.phase = 'exec-sent';
          valid.ts = o.ts;
        } else if (valid?.phase === 'select-sent') {
          out.push(makeAlert(o, 'link.sbo-order', 'medium', `execute of IOA ${obj.ioa} sent before the select was confirmed`, { ...ev, phase: valid.phase }));
          valid.phase = 'exec-sent';
          valid.ts = o.ts;
        } else if (valid || known?.has(key)) {
          const why = valid?.phase === 'select-failed' ? 'after a rejected select' : valid ? 'without a new select' : st ? 'after the select expired' : 'without select';
          out.push(makeAlert(o, 'link.sbo-execute-without-select', 'high', `execute of IOA ${obj.ioa} (CA ${asdu.ca}) ${why}; this object is operated with select-before-operate`, { ...ev, reason: why }, 'T0855'));
          f.sbo.set(key, { phase: 'exec-sent', value: jsonValue(obj.value), ts: o.ts });
        }
      } else {
        if (!st) continue;
        if (asdu.cot === 7 || (asdu.cot >= 44 && asdu.cot <= 47)) {
          const neg = asdu.negative || asdu.cot !== 7;
          if (st.phase === 'select-sent') st.phase = neg ? 'select-failed' : 'selected';
          else if (st.phase === 'exec-sent') {
            if (neg) f.sbo.delete(key);
            else st.phase = 'exec-confirmed';
          }
          st.ts = o.ts;
        } else if (asdu.cot === 10) {
          if (st.phase === 'exec-confirmed') f.sbo.delete(key);
          else {
            out.push(makeAlert(o, 'link.sbo-order', 'medium', `ACT_TERM for IOA ${obj.ioa} while the command is ${st.phase}`, { ...ev, phase: st.phase }));
            f.sbo.delete(key);
          }
        }
      }
    }
  }
}
