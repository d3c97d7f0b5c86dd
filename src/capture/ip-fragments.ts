/**
 * IPv4 and IPv6 fragment reassembly for the capture reader.
 *
 * Fragments are grouped by datagram, keyed as the RFCs say: IPv4 by source, destination, protocol
 * and identification (RFC 791); IPv6 by source, destination and the Fragment header's
 * identification (RFC 8200). A datagram is complete when its first fragment (offset 0, which
 * carries the header), its last fragment (MF / M flag clear, which gives the length) and every
 * octet in between were seen, in any order. It is then returned as one unfragmented IP packet.
 *
 * Policies (deterministic, whatever the arrival order):
 *
 * - exact duplicates (same octets at the same place) are ignored quietly: captures often hold a
 *   frame twice;
 * - IPv4 overlaps: the first copy of every octet wins (what many IDSes do); the overlap is reported
 *   (`W_IP_FRAGMENT_OVERLAP`), since overlapping fragments are an evasion technique;
 * - IPv6 overlaps: the whole datagram is dropped, including fragments still to come (RFC 5722);
 * - fragments whose lengths contradict each other (two different ends, data past the end given by
 *   the last fragment) drop the datagram (`W_IP_FRAGMENT`), as Linux does; so does a datagram with
 *   more than `maxFragments` fragments (`W_IP_FRAGMENT_LIMIT`). Later fragments of a dropped
 *   datagram are ignored until its timeout;
 * - a fragment that is malformed, cut by the capture (snap length), would make the datagram longer
 *   than 65535 octets, or is not the last one but does not carry a multiple of 8 octets is skipped
 *   (`W_IP_FRAGMENT`);
 * - an incomplete datagram is dropped `ipv4TimeoutSec` / `ipv6TimeoutSec` of *capture time* after
 *   its first fragment (checked when the next fragment arrives), or at {@link IpDefragmenter.end}
 *   (`W_IP_FRAGMENT_TIMEOUT`, naming what is missing);
 * - memory is bounded: at most `maxDatagrams` datagrams in progress and `maxBytes` octets held
 *   (data plus a fixed cost per piece); beyond that the oldest datagram is evicted
 *   (`W_IP_FRAGMENT_LIMIT`).
 *
 * Nothing here throws on bad input, and the work per fragment is bounded.
 */
import { type CaptureIssue, type CaptureIssueCode, issue } from './issues.js';
import { formatIp } from './packet.js';

/** Limits of an {@link IpDefragmenter}. */
export interface IpDefragOptions {
  /** Capture-time seconds an incomplete IPv4 datagram is kept after its first fragment (default 30, as Linux). */
  ipv4TimeoutSec?: number;
  /** The same for IPv6 (default 60, RFC 8200). */
  ipv6TimeoutSec?: number;
  /** Datagrams in progress at once (default 1024); the oldest is evicted beyond. */
  maxDatagrams?: number;
  /** Octets held in all datagrams in progress, counting 64 octets of overhead per piece (default 8 MiB). */
  maxBytes?: number;
  /** Fragments of one datagram (default 256); a datagram with more is dropped. */
  maxFragments?: number;
}

/** A datagram rebuilt from its fragments. */
export interface ReassembledDatagram {
  /** IP version of the datagram. */
  version: 4 | 6;
  /**
   * The datagram as if it had never been fragmented: IPv4 header (of the first fragment, with
   * total length, flags, offset and checksum rewritten) or IPv6 header and the extension headers
   * before the Fragment header (which is removed; payload length and next header rewritten),
   * followed by the reassembled payload.
   */
  datagram: Uint8Array;
  /** Offset of the payload in `datagram`. */
  payloadOffset: number;
  /** The reassembled payload (a view of `datagram`): for TCP, the TCP segment. */
  payload: Uint8Array;
  /** IPv4 protocol, or the IPv6 Fragment header's next header (first header of the payload). */
  protocol: number;
  /** Fragments that made it (duplicates not counted). */
  fragments: number;
  /** Frame of the first fragment seen. */
  firstFrame: number;
}

/** Counters of an {@link IpDefragmenter}. */
export interface IpDefragStats {
  /** Fragments pushed. */
  fragments: number;
  /** Datagrams completed. */
  datagrams: number;
  /** Exact duplicate fragments ignored. */
  duplicates: number;
  /** Fragments that overlapped others with different placement or octets. */
  overlaps: number;
  /** Datagrams dropped incomplete (timeout or end). */
  timedOut: number;
  /** Datagrams evicted or dropped by the limits. */
  evicted: number;
  /** Fragments skipped as unusable, and datagrams dropped for inconsistent lengths. */
  malformed: number;
}

/** Accounting cost of one piece besides its octets. */
const PIECE_COST = 64;
/** Largest IP datagram. */
const MAX_IP = 65535;

interface Piece {
  start: number;
  end: number;
  data: Uint8Array;
  frame: number;
}

interface Pending {
  key: string;
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  id: number;
  /** IPv4 protocol / IPv6 next header of the Fragment header (from the first fragment). */
  protocol: number;
  firstTime: number;
  /** Frames of the fragments (up to maxFragments). */
  frames: number[];
  /** Unfragmentable part from the offset-0 fragment. */
  header: Uint8Array | undefined;
  /** IPv6: offset in `header` of the next-header octet that pointed to the Fragment header. */
  nextAt: number;
  /** Sorted, disjoint. */
  pieces: Piece[];
  /** Payload length, once the last fragment was seen; -1 before. */
  total: number;
  /** Largest end offset seen. */
  maxEnd: number;
  /** Payload octets held. */
  have: number;
  /** Octets accounted to this datagram. */
  cost: number;
  /** Dropped: later fragments are ignored until the timeout. */
  dead: boolean;
}

function clampInt(v: number | undefined, dflt: number, min: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.max(min, Math.floor(v));
}

/** 16-bit ones' complement checksum of an IPv4 header. */
function ipv4Checksum(h: Uint8Array, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (h[i] << 8) | h[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function keyChars(d: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(d[i]);
  return s;
}

/**
 * Reassembles IPv4 and IPv6 fragments (see the module comment for the policies). Push every
 * fragment with its frame number and capture time; the fragment that completes a datagram gets
 * the datagram back. Problems go to the issue callback; memory stays within the limits whatever
 * the input.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { IpDefragmenter, buildTcpPacket, fragmentFrame } from 'iec104';
 * const frame = buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 2404, seq: 1, payload: new Uint8Array(100).fill(7) }, { type: 'raw' });
 * const parts = fragmentFrame(frame, 48, { link: { type: 'raw' }, id: 0x1234 }); // 3 fragments
 * const df = new IpDefragmenter({}, (i) => assert.fail(i.message));
 * assert.equal(df.push(parts[2], 1, 0), undefined); // out of order: held
 * assert.equal(df.push(parts[0], 2, 0), undefined);
 * const done = df.push(parts[1], 3, 0.001)!;
 * assert.deepEqual(done.payload, frame.subarray(20)); // the TCP segment, whole again
 * assert.equal(done.fragments, 3);
 * ```
 */
export class IpDefragmenter {
  /** Counters so far. */
  readonly stats: IpDefragStats = { fragments: 0, datagrams: 0, duplicates: 0, overlaps: 0, timedOut: 0, evicted: 0, malformed: 0 };
  private readonly v4 = new Map<string, Pending>();
  private readonly v6 = new Map<string, Pending>();
  private readonly timeout4: number;
  private readonly timeout6: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly maxFragments: number;
  private bytes = 0;
  private lastTime = 0;
  private readonly report: (i: CaptureIssue) => void;

  constructor(opts: IpDefragOptions = {}, onIssue?: (i: CaptureIssue) => void) {
    this.timeout4 = opts.ipv4TimeoutSec !== undefined && opts.ipv4TimeoutSec > 0 ? opts.ipv4TimeoutSec : 30;
    this.timeout6 = opts.ipv6TimeoutSec !== undefined && opts.ipv6TimeoutSec > 0 ? opts.ipv6TimeoutSec : 60;
    this.maxDatagrams = clampInt(opts.maxDatagrams, 1024, 1);
    this.maxBytes = clampInt(opts.maxBytes, 8 * 1024 * 1024, 1);
    this.maxFragments = clampInt(opts.maxFragments, 256, 1);
    this.report = onIssue ?? (() => {});
  }

  /** Datagrams in progress (including dropped ones still swallowing their late fragments). */
  get pendingDatagrams(): number {
    return this.v4.size + this.v6.size;
  }

  /** Octets held by datagrams in progress (as counted against `maxBytes`). */
  get pendingBytes(): number {
    return this.bytes;
  }

  /**
   * Feed one IP packet (`ip` starts at the IP header; octets after the IP length, such as
   * Ethernet padding, are ignored) seen in `frame` at capture time `timeSec` (epoch seconds,
   * fractional). Returns the datagram this fragment completed, if any. A packet that is not a
   * fragment (IPv4 without MF and offset, IPv6 atomic fragment) comes back at once on its own.
   * `ip` is not kept: the octets needed are copied.
   */
  push(ip: Uint8Array, frame: number, timeSec: number): ReassembledDatagram | undefined {
    this.stats.fragments++;
    const now = Number.isFinite(timeSec) ? timeSec : this.lastTime;
    this.lastTime = now;
    this.expire(this.v4, now, this.timeout4, frame);
    this.expire(this.v6, now, this.timeout6, frame);
    if (ip.length < 1) return this.skip(frame, 'empty IP packet');
    const v = ip[0] >> 4;
    if (v === 4) return this.push4(ip, frame, now);
    if (v === 6) return this.push6(ip, frame, now);
    return this.skip(frame, `IP version ${v} in a fragment`);
  }

  /**
   * End of the capture: every datagram still incomplete is dropped and reported
   * (`W_IP_FRAGMENT_TIMEOUT`). `frame` is the last frame, for the location of the reports.
   */
  end(frame?: number): void {
    for (const m of [this.v4, this.v6]) {
      for (const e of m.values()) {
        if (!e.dead) this.incomplete(e, 'still incomplete at the end of the capture', frame);
        this.drop(e);
      }
    }
  }

  private push4(ip: Uint8Array, frame: number, now: number): ReassembledDatagram | undefined {
    if (ip.length < 20) return this.skip(frame, `IPv4 fragment header needs 20 octets, captured ${ip.length}`);
    const ihl = (ip[0] & 15) * 4;
    if (ihl < 20) return this.skip(frame, `IPv4 fragment with header length ${ihl} < 20`);
    const total = (ip[2] << 8) | ip[3];
    if (total < ihl) return this.skip(frame, `IPv4 fragment with total length ${total} < header length ${ihl}`);
    if (ip.length < total) return this.skip(frame, `IPv4 fragment cut by the capture: ${total} octets sent, ${ip.length} captured`);
    const fw = (ip[6] << 8) | ip[7];
    const more = (fw & 0x2000) !== 0;
    const off = (fw & 0x1fff) * 8;
    const data = ip.subarray(ihl, total);
    if (!more && off === 0) return this.whole(4, ip.slice(0, total), ihl, ip[9], frame);
    const id = (ip[4] << 8) | ip[5];
    const key = keyChars(ip, 12, 20) + String.fromCharCode(ip[9], ip[4], ip[5]);
    return this.add(this.v4, key, 4, ip, 12, 4, id, ip[9], ihl, 0, off, more, data, MAX_IP - ihl, frame, now);
  }

  private push6(ip: Uint8Array, frame: number, now: number): ReassembledDatagram | undefined {
    if (ip.length < 40) return this.skip(frame, `IPv6 header needs 40 octets, captured ${ip.length}`);
    const plen = (ip[4] << 8) | ip[5];
    if (plen === 0) return this.skip(frame, 'IPv6 jumbogram (payload length 0) with a Fragment header');
    const end = 40 + plen;
    if (ip.length < end) return this.skip(frame, `IPv6 fragment cut by the capture: ${end} octets sent, ${ip.length} captured`);
    let next = ip[6];
    let nextAt = 6;
    let p = 40;
    while (next !== 44) {
      if (p + 2 > end) return this.skip(frame, 'IPv6 extension header truncated before the Fragment header');
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        nextAt = p;
        next = ip[p];
        p += (ip[p + 1] + 1) * 8;
      } else if (next === 51) {
        nextAt = p;
        next = ip[p];
        p += (ip[p + 1] + 2) * 4;
      } else {
        return this.skip(frame, `IPv6 packet without a Fragment header (next header ${next})`);
      }
    }
    if (p + 8 > end) return this.skip(frame, 'IPv6 Fragment header truncated');
    const nh = ip[p];
    const offM = (ip[p + 2] << 8) | ip[p + 3];
    const off = offM & 0xfff8;
    const more = (offM & 1) !== 0;
    const data = ip.subarray(p + 8, end);
    const id = ((ip[p + 4] << 24) | (ip[p + 5] << 16) | (ip[p + 6] << 8) | ip[p + 7]) >>> 0;
    if (!more && off === 0) {
      // atomic fragment (RFC 6946): handled on its own, never merged with other fragments
      const out = new Uint8Array(p + data.length);
      out.set(ip.subarray(0, p));
      out.set(data, p);
      out[nextAt] = nh;
      const pl = out.length - 40;
      out[4] = pl >> 8;
      out[5] = pl & 255;
      return this.whole(6, out, p, nh, frame);
    }
    const key = keyChars(ip, 8, 40) + keyChars(ip, p + 4, p + 8);
    return this.add(this.v6, key, 6, ip, 8, 16, id, nh, p, nextAt, off, more, data, MAX_IP - (p - 40), frame, now);
  }

  /** A packet that needed no reassembly. */
  private whole(version: 4 | 6, datagram: Uint8Array, hl: number, protocol: number, frame: number): ReassembledDatagram {
    this.stats.datagrams++;
    return { version, datagram, payloadOffset: hl, payload: datagram.subarray(hl), protocol, fragments: 1, firstFrame: frame };
  }

  private add(
    map: Map<string, Pending>,
    key: string,
    version: 4 | 6,
    ip: Uint8Array,
    addrAt: number,
    addrLen: number,
    id: number,
    protocol: number,
    hdrLen: number,
    nextAt: number,
    off: number,
    more: boolean,
    data: Uint8Array,
    maxPayload: number,
    frame: number,
    now: number,
  ): ReassembledDatagram | undefined {
    const name = version === 4 ? 'IPv4' : 'IPv6';
    if (more && (data.length === 0 || data.length % 8 !== 0)) return this.skip(frame, `${name} fragment (offset ${off}, more fragments) carries ${data.length} octets, not a positive multiple of 8`);
    if (off + data.length > maxPayload) return this.skip(frame, `${name} fragment at offset ${off} with ${data.length} octets would make the datagram longer than ${MAX_IP} octets`);
    let e = map.get(key);
    if (e !== undefined && now - e.firstTime > (version === 4 ? this.timeout4 : this.timeout6)) {
      // time went backwards earlier, or the map head was younger: expire this one now
      if (!e.dead) this.timedOut(e, frame);
      this.drop(e);
      e = undefined;
    }
    if (e === undefined) {
      while (this.v4.size + this.v6.size >= this.maxDatagrams) this.evictOldest(frame, `more than ${this.maxDatagrams} datagrams in progress`);
      e = {
        key,
        version,
        src: ip.slice(addrAt, addrAt + addrLen),
        dst: ip.slice(addrAt + addrLen, addrAt + 2 * addrLen),
        id,
        protocol,
        firstTime: now,
        frames: [],
        header: undefined,
        nextAt,
        pieces: [],
        total: -1,
        maxEnd: 0,
        have: 0,
        cost: 0,
        dead: false,
      };
      map.set(key, e);
    }
    if (e.dead) return undefined;
    const end = off + data.length;
    // lengths must agree (a contradiction is malformed or an evasion attempt: drop the datagram)
    if (!more) {
      if (e.total >= 0 && e.total !== end) return this.kill(e, 'W_IP_FRAGMENT', frame, `last fragment ends at ${end}, an earlier last fragment at ${e.total}`);
      if (e.total < 0 && e.maxEnd > end) return this.kill(e, 'W_IP_FRAGMENT', frame, `last fragment ends at ${end}, before data already received up to ${e.maxEnd}`);
    } else if (e.total >= 0 && end > e.total) {
      return this.kill(e, 'W_IP_FRAGMENT', frame, `fragment at offset ${off} ends at ${end}, past the end ${e.total} given by the last fragment`);
    }
    // place the data: find what is already covered
    const pieces = e.pieces;
    let i = 0;
    while (i < pieces.length && pieces[i].end <= off) i++;
    let cursor = off;
    let overlap = 0;
    let differs = false;
    let exact = false;
    let firstOverlapFrame = 0;
    const gaps: Array<[number, number]> = [];
    for (let j = i; j < pieces.length && pieces[j].start < end; j++) {
      const pc = pieces[j];
      if (pc.start > cursor) gaps.push([cursor, pc.start]);
      const a = Math.max(pc.start, off);
      const b = Math.min(pc.end, end);
      if (overlap === 0) firstOverlapFrame = pc.frame;
      overlap += b - a;
      if (!differs) {
        for (let x = a; x < b; x++) {
          if (pc.data[x - pc.start] !== data[x - off]) {
            differs = true;
            break;
          }
        }
      }
      if (pc.start === off && pc.end === end) exact = true;
      cursor = Math.max(cursor, pc.end);
    }
    if (cursor < end) gaps.push([cursor, end]);
    if (overlap > 0) {
      if (overlap === data.length && !differs && (version === 4 || exact)) {
        this.stats.duplicates++; // the same octets again: a duplicated frame
        return undefined;
      }
      this.stats.overlaps++;
      const what = `${name} fragment in frame ${frame} (offset ${off}, ${data.length} octets) overlaps ${overlap} octet(s) already received (first from frame ${firstOverlapFrame})${differs ? ' with different octets' : ''} in ${this.describe(e)}`;
      if (version === 6) return this.kill(e, 'W_IP_FRAGMENT_OVERLAP', frame, `${what}: datagram dropped (RFC 5722)`);
      this.report(issue('W_IP_FRAGMENT_OVERLAP', `${what}: first copy kept`, { frame }));
    }
    if (e.frames.length >= this.maxFragments) {
      this.stats.evicted++;
      return this.kill(e, 'W_IP_FRAGMENT_LIMIT', frame, `more than ${this.maxFragments} fragments`);
    }
    e.frames.push(frame);
    if (off === 0 && e.header === undefined) {
      e.header = ip.slice(0, hdrLen);
      e.nextAt = nextAt;
      e.protocol = protocol;
      e.cost += hdrLen;
      this.bytes += hdrLen;
    }
    if (!more) e.total = end;
    if (end > e.maxEnd) e.maxEnd = end;
    for (const [a, b] of gaps) {
      pieces.push({ start: a, end: b, data: data.slice(a - off, b - off), frame });
      e.have += b - a;
      e.cost += b - a + PIECE_COST;
      this.bytes += b - a + PIECE_COST;
    }
    if (gaps.length > 0 && pieces.length > gaps.length) pieces.sort((x, y) => x.start - y.start); // at most 2 × maxFragments pieces
    if (e.total >= 0 && e.header !== undefined && e.have === e.total) return this.complete(map, e, frame);
    while (this.bytes > this.maxBytes && this.v4.size + this.v6.size > 0) {
      const victim = this.oldest();
      this.evictOldest(frame, `more than ${this.maxBytes} octets held`);
      if (victim === e) break;
    }
    return undefined;
  }

  private complete(map: Map<string, Pending>, e: Pending, frame: number): ReassembledDatagram | undefined {
    const h = e.header!;
    const hl = h.length;
    if (hl + e.total > MAX_IP) return this.kill(e, 'W_IP_FRAGMENT', frame, `reassembled datagram would be ${hl + e.total} octets, more than ${MAX_IP}`);
    const out = new Uint8Array(hl + e.total);
    out.set(h);
    for (const pc of e.pieces) out.set(pc.data, hl + pc.start);
    if (e.version === 4) {
      const tot = out.length;
      out[2] = tot >> 8;
      out[3] = tot & 255;
      out[6] &= 0xc0; // clear MF and the offset (reserved and DF bits kept)
      out[7] = 0;
      out[10] = 0;
      out[11] = 0;
      const c = ipv4Checksum(out, hl);
      out[10] = c >> 8;
      out[11] = c & 255;
    } else {
      out[e.nextAt] = e.protocol;
      const pl = out.length - 40;
      out[4] = pl >> 8;
      out[5] = pl & 255;
    }
    const fragments = e.frames.length;
    const firstFrame = e.frames[0];
    this.bytes -= e.cost;
    map.delete(e.key);
    this.stats.datagrams++;
    return { version: e.version, datagram: out, payloadOffset: hl, payload: out.subarray(hl), protocol: e.protocol, fragments, firstFrame };
  }

  /** Drop expired datagrams, oldest first (insertion order is first-fragment order). */
  private expire(map: Map<string, Pending>, now: number, timeout: number, frame: number): void {
    for (const e of map.values()) {
      if (now - e.firstTime <= timeout) break;
      if (!e.dead) this.timedOut(e, frame);
      this.drop(e);
    }
  }

  private timedOut(e: Pending, frame: number): void {
    const t = e.version === 4 ? this.timeout4 : this.timeout6;
    this.incomplete(e, `not complete ${t} s after its first fragment (timeout noticed at frame ${frame})`, e.frames[0]);
  }

  private incomplete(e: Pending, why: string, frame: number | undefined): void {
    this.stats.timedOut++;
    this.report(issue('W_IP_FRAGMENT_TIMEOUT', `${this.describe(e)} ${why}: ${this.missing(e)}; dropped`, { frame: e.frames[0] ?? frame }));
  }

  private oldest(): Pending | undefined {
    const a = this.v4.values().next().value;
    const b = this.v6.values().next().value;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return b.firstTime < a.firstTime ? b : a;
  }

  private evictOldest(frame: number, why: string): void {
    const e = this.oldest();
    if (e === undefined) return;
    if (!e.dead) {
      this.stats.evicted++;
      this.report(issue('W_IP_FRAGMENT_LIMIT', `frame ${frame}: ${why}: oldest ${this.describe(e)} evicted incomplete (${this.missing(e)})`, { frame }));
    }
    this.drop(e);
  }

  /** Drop a datagram now, keep a tombstone that swallows its later fragments until the timeout. */
  private kill(e: Pending, code: CaptureIssueCode, frame: number, why: string): undefined {
    if (code === 'W_IP_FRAGMENT') this.stats.malformed++;
    const text = code === 'W_IP_FRAGMENT_OVERLAP' ? why : `${this.describe(e)}: ${why} (frame ${frame}): datagram dropped`;
    this.report(issue(code, text, { frame }));
    this.bytes -= e.cost;
    e.cost = 0;
    e.pieces = [];
    e.header = undefined;
    e.dead = true;
    return undefined;
  }

  private drop(e: Pending): void {
    this.bytes -= e.cost;
    e.cost = 0;
    (e.version === 4 ? this.v4 : this.v6).delete(e.key);
  }

  private skip(frame: number, why: string): undefined {
    this.stats.malformed++;
    this.report(issue('W_IP_FRAGMENT', `frame ${frame}: ${why}: fragment skipped`, { frame }));
    return undefined;
  }

  private describe(e: Pending): string {
    const n = e.frames.length;
    const shown = e.frames.slice(0, 8).join(', ') + (n > 8 ? ', …' : '');
    const id = e.version === 4 ? `0x${e.id.toString(16).padStart(4, '0')}` : `0x${e.id.toString(16).padStart(8, '0')}`;
    return `IPv${e.version} datagram ${formatIp(e.src)} → ${formatIp(e.dst)} id ${id}${e.version === 4 ? ` protocol ${e.protocol}` : ''} (${n} fragment${n === 1 ? '' : 's'}${n ? ` in frame${n === 1 ? '' : 's'} ${shown}` : ''})`;
  }

  /** What a datagram lacks, in words. */
  private missing(e: Pending): string {
    const parts: string[] = [];
    if (e.header === undefined) parts.push('first fragment (offset 0) missing');
    if (e.total < 0) parts.push('last fragment missing');
    const holes: string[] = [];
    let at = 0;
    for (const pc of e.pieces) {
      if (pc.start > at) holes.push(`${at}-${pc.start - 1}`);
      at = pc.end;
    }
    if (e.total >= 0 && at < e.total) holes.push(`${at}-${e.total - 1}`);
    if (holes.length) parts.push(`octets ${holes.slice(0, 4).join(', ')}${holes.length > 4 ? ', …' : ''} missing`);
    parts.push(`${e.have} octet(s) received${e.total >= 0 ? ` of ${e.total}` : ''}`);
    return parts.join(', ');
  }
}
