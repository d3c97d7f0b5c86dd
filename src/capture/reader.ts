/**
 * Streaming, push-based readers for pcap and pcapng files.
 *
 * Feed the file in chunks of any size (`push`), then call `end`. Each packet is reported through a
 * callback while the chunk is being parsed; the reader keeps at most one record or block of its own
 * (needed when a record crosses a chunk boundary), so memory stays flat whatever the file size, and
 * stdin (`tcpdump -w - | iec104 analyze -`) is read incrementally.
 *
 * Damage in the file (truncated record, impossible length, unknown block) is reported as a
 * {@link CaptureIssue} with the file offset and record / block number; the reader resynchronises
 * and goes on. It never throws.
 */
import { type CaptureIssue, issue } from './issues.js';

/** Timestamp of a packet: whole seconds since the epoch, nanoseconds, and how many fraction digits the capture has. */
export interface PacketTime {
  /** Seconds since 1970-01-01 UTC. */
  tsSec: number;
  /** Nanoseconds within the second (0..999 999 999). */
  tsNsec: number;
  /** Fraction digits the file's resolution carries (6 for µs, 9 for ns, 0..9). */
  tsDigits: number;
}

/** One captured packet. The object and `data` are reused: valid only during the callback (copy to keep). */
export interface CapturedPacket extends PacketTime {
  /** 1-based frame number, counted as Wireshark does (every packet record of the file). */
  frame: number;
  /** Link-layer type (LINKTYPE_* value: 1 Ethernet, 113 SLL, 276 SLL2, 101 raw IP, ...). */
  linkType: number;
  /** pcapng interface id (0 for pcap). */
  interfaceId: number;
  /** Captured bytes, starting at the link-layer header. */
  data: Uint8Array;
  /** Length of the packet on the wire. */
  origLen: number;
  /** File offset of the record / block holding this packet. */
  fileOffset: number;
}

/** Callbacks of a {@link CaptureReader}. */
export interface CaptureReaderEvents {
  /** A packet. The object is reused; copy what you keep. */
  packet(p: CapturedPacket): void;
  /** A problem in the file. Reading goes on. */
  issue?(i: CaptureIssue): void;
  /** The file format, once the magic number has been read. */
  format?(f: CaptureFormat): void;
}

/** File formats the reader understands. */
export type CaptureFormat = 'pcap' | 'pcapng';

/** Largest record or block the reader accepts (bigger lengths are treated as damage). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

interface Iface {
  linkType: number;
  snapLen: number;
  /** Units per second when the resolution is a power of ten, else 0. */
  pow10: number;
  /** Exponent of the resolution: 10^-exp or 2^-exp. */
  exp: number;
  base2: boolean;
  tsOffset: number;
}

type Mode = 'detect' | 'pcap-header' | 'pcap' | 'pcap-resync' | 'pcapng' | 'pcapng-resync' | 'dead';

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const KNOWN_BLOCKS = new Set([0x0a0d0d0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x0b, 0x80000001, 0x00000bad, 0x40000bad]);
const TWO32 = 4294967296;

/**
 * Push-based pcap / pcapng reader (format detected from the magic number).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { CaptureReader, SynthSession, writePcapng } from 'iec104';
 * const s = new SynthSession({ ip: '10.0.0.1', port: 50000 }, { ip: '10.0.0.2', port: 2404 }).handshake();
 * const frames: number[] = [];
 * const r = new CaptureReader({ packet: (p) => frames.push(p.frame) });
 * r.push(writePcapng(s.packets));
 * r.end();
 * assert.deepEqual(frames, [1, 2, 3]);
 * ```
 */
export class CaptureReader {
  private mode: Mode = 'detect';
  private buf = new Uint8Array(4096);
  private bufLen = 0;
  /** Bytes the unit at the start of `buf` needs in total. */
  private need = 4;
  /** File offset of the next byte `step` looks at. */
  private offset = 0;
  private le = true;
  private nanos = false;
  private snapLen = 0;
  private pcapLink = 1;
  private ifaces: Iface[] = [];
  private record = 0;
  private frame = 0;
  private lastTs = -1;
  private resyncFrom = -1;
  private resyncRecord = 0;
  private reportedBadIface = new Set<number>();
  private readonly pkt: CapturedPacket = { frame: 0, tsSec: 0, tsNsec: 0, tsDigits: 6, linkType: 1, interfaceId: 0, data: new Uint8Array(0), origLen: 0, fileOffset: 0 };
  private fmt: CaptureFormat | undefined;

  constructor(private readonly ev: CaptureReaderEvents) {}

  /** The detected format, once known. */
  get format(): CaptureFormat | undefined {
    return this.fmt;
  }
  /** Packets reported so far (the last frame number). */
  get frames(): number {
    return this.frame;
  }
  /** Bytes consumed so far. */
  get bytes(): number {
    return this.offset + this.bufLen;
  }

  /** Feed the next bytes of the file. */
  push(chunk: Uint8Array): void {
    // Node Buffers: work on a plain Uint8Array view (its subarray is much cheaper than Buffer's)
    if (Object.getPrototypeOf(chunk) !== Uint8Array.prototype) chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = chunk.length;
    let i = 0;
    while (this.bufLen > 0 && i < n) {
      const take = Math.min(this.need - this.bufLen, n - i);
      this.ensure(this.bufLen + take);
      this.buf.set(chunk.subarray(i, i + take), this.bufLen);
      this.bufLen += take;
      i += take;
      if (this.bufLen < this.need) return;
      let p = 0;
      for (;;) {
        const r = this.step(this.buf, p, this.bufLen - p);
        if (r === 0) break;
        p += r;
        if (p >= this.bufLen) break;
      }
      if (p > 0) {
        this.buf.copyWithin(0, p, this.bufLen);
        this.bufLen -= p;
      }
    }
    let p = i;
    while (p < n) {
      const r = this.step(chunk, p, n - p);
      if (r === 0) break;
      p += r;
    }
    if (p < n) {
      this.ensure(n - p);
      this.buf.set(chunk.subarray(p), 0);
      this.bufLen = n - p;
    }
  }

  /** The file has ended: reports a truncated final record, if any. */
  end(): void {
    if (this.bufLen > 0 && this.mode !== 'dead') {
      const what = this.mode === 'detect' || this.mode === 'pcap-header' ? 'file header' : this.mode === 'pcapng' || this.mode === 'pcapng-resync' ? `block ${this.record + 1}` : `record ${this.record + 1}`;
      this.report(issue('E_CAP_TRUNCATED', `file ends inside ${what}: ${this.bufLen} of ${this.need} octets present`, { fileOffset: this.offset, record: this.record + 1 }));
    } else if (this.mode === 'detect' && this.offset === 0) {
      this.report(issue('E_CAP_FORMAT', 'empty input: no capture file header', { fileOffset: 0 }));
    }
    this.endResync();
    this.bufLen = 0;
  }

  private ensure(size: number): void {
    if (size <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < size) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.bufLen));
    this.buf = nb;
  }

  private report(i: CaptureIssue): void {
    this.ev.issue?.(i);
  }

  private u32(b: Uint8Array, o: number): number {
    return this.le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
  private u16(b: Uint8Array, o: number): number {
    return this.le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  }

  /** Handle one unit at `b[o..]`. Returns bytes consumed, or 0 with `need` set when more bytes are needed. */
  private step(b: Uint8Array, o: number, avail: number): number {
    switch (this.mode) {
      case 'detect':
        return this.detect(b, o, avail);
      case 'pcap-header':
        return this.pcapHeader(b, o, avail);
      case 'pcap':
        return this.pcapRecord(b, o, avail);
      case 'pcap-resync':
        return this.pcapResync(b, o, avail);
      case 'pcapng':
        return this.pcapngBlock(b, o, avail, false);
      case 'pcapng-resync':
        return this.pcapngBlock(b, o, avail, true);
      case 'dead':
        this.offset += avail;
        return avail;
    }
  }

  private wait(n: number): number {
    this.need = n;
    return 0;
  }

  private detect(b: Uint8Array, o: number, avail: number): number {
    if (avail < 4) return this.wait(4);
    const be = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    const le = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
    if (be === PCAPNG_SHB) {
      this.mode = 'pcapng';
      this.fmt = 'pcapng';
      this.ev.format?.('pcapng');
      return this.pcapngBlock(b, o, avail, false);
    }
    const m = [[le, true], [be, false]] as const;
    for (const [v, isLe] of m) {
      if (v === 0xa1b2c3d4 || v === 0xa1b23c4d) {
        this.le = isLe;
        this.nanos = v === 0xa1b23c4d;
        this.mode = 'pcap-header';
        this.fmt = 'pcap';
        this.ev.format?.('pcap');
        return this.pcapHeader(b, o, avail);
      }
    }
    this.report(issue('E_CAP_FORMAT', `not a pcap or pcapng file: magic ${Array.from(b.subarray(o, o + 4), (x) => x.toString(16).padStart(2, '0')).join(' ')}`, { fileOffset: this.offset }));
    this.mode = 'dead';
    this.offset += avail;
    return avail;
  }

  private pcapHeader(b: Uint8Array, o: number, avail: number): number {
    if (avail < 24) return this.wait(24);
    this.snapLen = this.u32(b, o + 16);
    this.pcapLink = this.u32(b, o + 20) & 0xffff;
    this.mode = 'pcap';
    this.offset += 24;
    return 24;
  }

  private recordLimit(): number {
    return Math.min(MAX_RECORD_BYTES, Math.max(this.snapLen, 262144));
  }

  private pcapRecord(b: Uint8Array, o: number, avail: number): number {
    if (avail < 16) return this.wait(16);
    const incl = this.u32(b, o + 8);
    if (incl > this.recordLimit()) {
      this.report(issue('E_CAP_RECORD_LENGTH', `record ${this.record + 1}: captured length ${incl} exceeds ${this.recordLimit()}; skipping to the next plausible record`, { fileOffset: this.offset, record: this.record + 1 }));
      this.mode = 'pcap-resync';
      this.resyncFrom = this.offset;
      this.resyncRecord = this.record + 1;
      this.offset += 1;
      return 1;
    }
    const total = 16 + incl;
    if (avail < total) return this.wait(total);
    this.record++;
    const sec = this.u32(b, o);
    const sub = this.u32(b, o + 4);
    const p = this.pkt;
    p.frame = ++this.frame;
    p.tsSec = sec;
    p.tsNsec = this.nanos ? sub : sub * 1000;
    p.tsDigits = this.nanos ? 9 : 6;
    p.linkType = this.pcapLink;
    p.interfaceId = 0;
    p.data = b.subarray(o + 16, o + total);
    p.origLen = this.u32(b, o + 12);
    p.fileOffset = this.offset;
    this.lastTs = sec;
    this.offset += total;
    this.ev.packet(p);
    return total;
  }

  /** Look for a plausible record header byte by byte. */
  private pcapResync(b: Uint8Array, o: number, avail: number): number {
    if (avail < 16) return this.wait(16);
    const sec = this.u32(b, o);
    const sub = this.u32(b, o + 4);
    const incl = this.u32(b, o + 8);
    const orig = this.u32(b, o + 12);
    const plausible =
      incl <= this.recordLimit() && orig >= incl && orig <= 262144 && sub < (this.nanos ? 1e9 : 1e6) && (this.lastTs < 0 || Math.abs(sec - this.lastTs) <= 86400);
    if (plausible) {
      this.endResync();
      this.mode = 'pcap';
      return this.pcapRecord(b, o, avail);
    }
    this.offset += 1;
    return 1;
  }

  private endResync(): void {
    if (this.resyncFrom < 0) return;
    const skipped = this.offset - this.resyncFrom;
    this.report(issue(this.fmt === 'pcapng' ? 'E_CAP_BLOCK_LENGTH' : 'E_CAP_RECORD_LENGTH', `skipped ${skipped} octets of damaged data after ${this.fmt === 'pcapng' ? 'block' : 'record'} ${this.resyncRecord - 1}`, { fileOffset: this.resyncFrom, record: this.resyncRecord }));
    this.resyncFrom = -1;
  }

  private pcapngBlock(b: Uint8Array, o: number, avail: number, resync: boolean): number {
    if (avail < 12) return this.wait(12);
    let type = this.u32(b, o);
    if (type === PCAPNG_SHB) {
      const bomLe = (b[o + 8] | (b[o + 9] << 8) | (b[o + 10] << 16) | (b[o + 11] << 24)) >>> 0;
      const bomBe = ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0;
      if (bomLe === PCAPNG_BOM) this.le = true;
      else if (bomBe === PCAPNG_BOM) this.le = false;
      else return this.badBlock(resync, `section header block with unknown byte-order magic`);
      type = PCAPNG_SHB;
    }
    const len = this.u32(b, o + 4);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES || (resync && (!KNOWN_BLOCKS.has(type) || len > 1 << 20))) {
      return this.badBlock(resync, `block ${this.record + 1}: impossible block length ${len}`);
    }
    if (avail < len) return this.wait(len);
    if (this.u32(b, o + len - 4) !== len) return this.badBlock(resync, `block ${this.record + 1}: trailing length ${this.u32(b, o + len - 4)} differs from leading length ${len}`);
    if (resync) {
      this.endResync();
      this.mode = 'pcapng';
    }
    this.record++;
    const start = this.offset;
    this.offset += len;
    this.block(type, b, o, len, start);
    return len;
  }

  private badBlock(resync: boolean, message: string): number {
    if (!resync) {
      this.report(issue('E_CAP_BLOCK_LENGTH', message + '; skipping to the next plausible block', { fileOffset: this.offset, record: this.record + 1 }));
      this.mode = 'pcapng-resync';
      this.resyncFrom = this.offset;
      this.resyncRecord = this.record + 1;
    }
    this.offset += 1;
    return 1;
  }

  private block(type: number, b: Uint8Array, o: number, len: number, fileOffset: number): void {
    const body = o + 8;
    const bodyEnd = o + len - 4;
    switch (type) {
      case PCAPNG_SHB:
        this.ifaces = [];
        return;
      case 1: {
        // Interface Description Block
        if (bodyEnd - body < 8) return this.blockError(fileOffset, 'interface description block shorter than 16 octets');
        const f: Iface = { linkType: this.u16(b, body), snapLen: this.u32(b, body + 4), pow10: 1e6, exp: 6, base2: false, tsOffset: 0 };
        let p = body + 8;
        while (p + 4 <= bodyEnd) {
          const code = this.u16(b, p);
          const olen = this.u16(b, p + 2);
          if (code === 0 || p + 4 + olen > bodyEnd) break;
          if (code === 9 && olen >= 1) {
            const v = b[p + 4];
            f.base2 = (v & 0x80) !== 0;
            f.exp = v & 0x7f;
            f.pow10 = f.base2 ? 0 : f.exp <= 15 ? 10 ** f.exp : 0;
          } else if (code === 14 && olen >= 8) {
            const lo = this.u32(b, p + 4);
            const hi = this.u32(b, p + 8);
            const v = this.le ? hi * TWO32 + lo : lo * TWO32 + hi;
            f.tsOffset = v >= 2 ** 63 ? v - 2 ** 64 : v;
          }
          p += 4 + ((olen + 3) & ~3);
        }
        this.ifaces.push(f);
        return;
      }
      case 6:
      case 2: {
        // Enhanced Packet Block / obsolete Packet Block
        if (bodyEnd - body < 20) return this.blockError(fileOffset, `${type === 6 ? 'enhanced' : 'obsolete'} packet block too short`);
        const ifId = type === 6 ? this.u32(b, body) : this.u16(b, body);
        const hi = this.u32(b, body + 4);
        const lo = this.u32(b, body + 8);
        const cap = this.u32(b, body + 12);
        const orig = this.u32(b, body + 16);
        const frame = ++this.frame;
        if (body + 20 + cap > bodyEnd) return this.blockError(fileOffset, `packet block: captured length ${cap} runs past the block`, frame);
        const f = this.ifaces[ifId];
        if (f === undefined) {
          if (!this.reportedBadIface.has(ifId)) {
            this.reportedBadIface.add(ifId);
            this.report(issue('E_CAP_INTERFACE', `packet refers to interface ${ifId}, but only ${this.ifaces.length} interface(s) are described in this section`, { fileOffset, record: this.record, frame }));
          }
          return;
        }
        const p = this.pkt;
        this.setTime(f, hi, lo);
        p.frame = frame;
        p.linkType = f.linkType;
        p.interfaceId = ifId;
        p.data = b.subarray(body + 20, body + 20 + cap);
        p.origLen = orig;
        p.fileOffset = fileOffset;
        this.ev.packet(p);
        return;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp
        if (bodyEnd - body < 4) return this.blockError(fileOffset, 'simple packet block too short');
        const frame = ++this.frame;
        const f = this.ifaces[0];
        if (f === undefined) {
          if (!this.reportedBadIface.has(0)) {
            this.reportedBadIface.add(0);
            this.report(issue('E_CAP_INTERFACE', 'simple packet block before any interface description block', { fileOffset, record: this.record, frame }));
          }
          return;
        }
        const orig = this.u32(b, body);
        let cap = Math.min(orig, bodyEnd - body - 4);
        if (f.snapLen > 0) cap = Math.min(cap, f.snapLen);
        const p = this.pkt;
        p.frame = frame;
        p.tsSec = 0;
        p.tsNsec = 0;
        p.tsDigits = 0;
        p.linkType = f.linkType;
        p.interfaceId = 0;
        p.data = b.subarray(body + 4, body + 4 + cap);
        p.origLen = orig;
        p.fileOffset = fileOffset;
        this.ev.packet(p);
        return;
      }
      default:
        return; // NRB, ISB, DSB, custom, unknown: skipped
    }
  }

  private blockError(fileOffset: number, message: string, frame?: number): void {
    this.report(issue('E_CAP_BLOCK', `block ${this.record}: ${message}`, frame === undefined ? { fileOffset, record: this.record } : { fileOffset, record: this.record, frame }));
  }

  private setTime(f: Iface, hi: number, lo: number): void {
    const p = this.pkt;
    if (f.pow10 > 0 && f.pow10 <= 1e9 && hi < 0x200000) {
      // exact in a double
      const t = hi * TWO32 + lo;
      const sec = Math.floor(t / f.pow10);
      p.tsSec = sec + f.tsOffset;
      p.tsNsec = Math.round((t - sec * f.pow10) * (1e9 / f.pow10));
      p.tsDigits = f.exp;
      return;
    }
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    if (f.base2) {
      const sec = t >> BigInt(f.exp);
      const frac = t - (sec << BigInt(f.exp));
      p.tsSec = Number(sec) + f.tsOffset;
      p.tsNsec = Number((frac * 1000000000n) >> BigInt(f.exp));
      p.tsDigits = 9;
    } else {
      const unit = 10n ** BigInt(f.exp);
      const sec = t / unit;
      const frac = t - sec * unit;
      p.tsSec = Number(sec) + f.tsOffset;
      p.tsNsec = f.exp <= 9 ? Number(frac * 10n ** BigInt(9 - f.exp)) : Number(frac / 10n ** BigInt(f.exp - 9));
      p.tsDigits = Math.min(9, f.exp);
    }
  }
}

/** ISO 8601 UTC string of a packet time with as many fraction digits as the capture has (6 → µs, 9 → ns). */
export function formatPacketTime(t: PacketTime): string {
  if (t.tsSec !== lastSec) {
    lastSec = t.tsSec;
    const ms = t.tsSec * 1000;
    // outside Date's range (damaged timestamps): seconds since the epoch instead of throwing
    lastSecText = Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().slice(0, 19) : `epoch+${t.tsSec}s`;
  }
  if (t.tsDigits <= 0) return lastSecText + 'Z';
  const ns = t.tsNsec;
  // one conversion: 1e9 + ns has exactly 10 digits for 0 <= ns < 1e9
  const frac = ns >= 0 && ns < 1e9 && Number.isInteger(ns) ? String(1e9 + ns).slice(1, 1 + t.tsDigits) : String(ns).padStart(9, '0').slice(0, t.tsDigits);
  return lastSecText + '.' + frac + 'Z';
}
let lastSec = NaN;
let lastSecText = '';
