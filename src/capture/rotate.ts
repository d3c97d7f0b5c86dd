/**
 * Raw capture rotation: a pcap byte stream (as tcpdump writes it) in, size- or time-bounded
 * pcapng files out, each complete on its own (section header, interface description, packets,
 * and an interface statistics block with the drop counters known when it was closed).
 *
 * Files are cut on packet boundaries: a file is closed before the packet that would make it
 * larger than `maxBytes`, or whose capture time is `maxMs` or more after the file's first packet.
 * Time is the packets' own (capture time), so the cut points do not depend on how busy the
 * machine is, and a quiet link does not produce empty files.
 */
import type { CaptureStats } from './live.js';

/** Where a rotated file goes. */
export interface RotateSink {
  /** Open a new file; returns its writer. */
  open(index: number, firstPacketMs: number): { write(b: Uint8Array): void; close(): void };
}

/** Options of {@link PcapRotator}. */
export interface RotateOptions {
  /** Close a file before it grows beyond this many octets. */
  maxBytes?: number;
  /** Close a file when a packet comes this long (capture time) after its first packet. */
  maxMs?: number;
  /** Interface name recorded in the files. */
  interfaceName?: string;
  /** Counters to record in each file's statistics block when it is closed. */
  stats?(): CaptureStats;
}

/** Codes the rotator reports when the stream is not what tcpdump writes. */
export class RotateError extends Error {
  constructor(
    readonly code: 'E_ROTATE_FORMAT' | 'E_ROTATE_RECORD',
    message: string,
  ) {
    super(message);
    this.name = 'RotateError';
  }
}

const MAX_RECORD = 1 << 20;
/** Room kept at the end of a size-bounded file for its statistics block. */
const ISB_RESERVE = 64;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Parse `100M`, `1G`, `512k` (octets, powers of 1000; plain octets allowed, at least 1024) or `30s`, `15min`, `1h`, `1d`. */
export function parseRotateSpec(s: string): { maxBytes: number } | { maxMs: number } | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb|s|min|h|d)?$/i.exec(s.trim());
  if (!m) return undefined;
  const v = Number(m[1]);
  const u = (m[2] ?? 'b').toLowerCase();
  const bytes: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9 };
  const time: Record<string, number> = { s: 1e3, min: 60e3, h: 3600e3, d: 86400e3 };
  if (u in time) return v > 0 ? { maxMs: v * time[u] } : undefined;
  const n = Math.floor(v * bytes[u]);
  return n >= 1024 ? { maxBytes: n } : undefined;
}

/**
 * Split a pcap stream into pcapng files. `push` the stream's chunks in order, `end` at the end.
 * Throws {@link RotateError} when the stream is not pcap (the caller stops rotating; the
 * analysis is not affected).
 */
export class PcapRotator {
  private buf = new Uint8Array(65536);
  private len = 0;
  private le = true;
  private nanos = false;
  private linkType = 1;
  private snapLen = 0;
  private headerDone = false;
  private file: { write(b: Uint8Array): void; close(): void } | undefined;
  private fileBytes = 0;
  private fileStartMs = 0;
  private index = 0;
  private packetsInFile = 0;
  /** Files opened so far. */
  get files(): number {
    return this.index;
  }

  constructor(
    private readonly sink: RotateSink,
    private readonly o: RotateOptions,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const nb = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    let pos = 0;
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.len);
    if (!this.headerDone) {
      if (this.len < 24) return;
      const magicLe = dv.getUint32(0, true);
      if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) this.le = true;
      else if (dv.getUint32(0, false) === 0xa1b2c3d4 || dv.getUint32(0, false) === 0xa1b23c4d) this.le = false;
      else throw new RotateError('E_ROTATE_FORMAT', 'the capture stream is not pcap: nothing is written to the rotated files');
      this.nanos = dv.getUint32(0, this.le) === 0xa1b23c4d;
      this.snapLen = dv.getUint32(16, this.le);
      this.linkType = dv.getUint32(20, this.le) & 0x0fffffff;
      this.headerDone = true;
      pos = 24;
    }
    while (this.len - pos >= 16) {
      const sec = dv.getUint32(pos, this.le);
      const frac = dv.getUint32(pos + 4, this.le);
      const incl = dv.getUint32(pos + 8, this.le);
      const orig = dv.getUint32(pos + 12, this.le);
      if (incl > MAX_RECORD) throw new RotateError('E_ROTATE_RECORD', `pcap record of ${incl} octets in the capture stream: rotation stopped`);
      if (this.len - pos < 16 + incl) break;
      this.packet(sec, frac, incl, orig, this.buf.subarray(pos + 16, pos + 16 + incl));
      pos += 16 + incl;
    }
    this.buf.copyWithin(0, pos, this.len);
    this.len -= pos;
  }

  private packet(sec: number, frac: number, incl: number, orig: number, data: Uint8Array): void {
    const ms = sec * 1000 + (this.nanos ? frac / 1e6 : frac / 1e3);
    const epbLen = 28 + pad4(incl) + 4;
    if (this.file && this.packetsInFile > 0) {
      const tooBig = this.o.maxBytes !== undefined && this.fileBytes + epbLen + ISB_RESERVE > this.o.maxBytes;
      const tooOld = this.o.maxMs !== undefined && ms - this.fileStartMs >= this.o.maxMs;
      if (tooBig || tooOld) this.closeFile(ms);
    }
    if (!this.file) this.openFile(ms);
    const b = new Uint8Array(epbLen);
    const v = new DataView(b.buffer);
    const units = BigInt(sec) * (this.nanos ? 1_000_000_000n : 1_000_000n) + BigInt(frac);
    v.setUint32(0, 6, true);
    v.setUint32(4, epbLen, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, Number(units >> 32n), true);
    v.setUint32(16, Number(units & 0xffffffffn), true);
    v.setUint32(20, incl, true);
    v.setUint32(24, orig, true);
    b.set(data, 28);
    v.setUint32(epbLen - 4, epbLen, true);
    this.write(b);
    this.packetsInFile++;
  }

  private write(b: Uint8Array): void {
    this.file!.write(b);
    this.fileBytes += b.length;
  }

  private openFile(ms: number): void {
    this.file = this.sink.open(++this.index, ms);
    this.fileBytes = 0;
    this.fileStartMs = ms;
    this.packetsInFile = 0;
    // section header block: little-endian, version 1.0, section length unknown
    const shb = new Uint8Array(28);
    const s = new DataView(shb.buffer);
    s.setUint32(0, 0x0a0d0d0a, true);
    s.setUint32(4, 28, true);
    s.setUint32(8, 0x1a2b3c4d, true);
    s.setUint16(12, 1, true);
    s.setUint16(14, 0, true);
    s.setBigInt64(16, -1n, true);
    s.setUint32(24, 28, true);
    this.write(shb);
    // interface description: link type, snap length, if_name (2), if_tsresol (9)
    const name = new TextEncoder().encode(this.o.interfaceName ?? '');
    const opts: Uint8Array[] = [];
    if (name.length) opts.push(option(2, name));
    opts.push(option(9, Uint8Array.of(this.nanos ? 9 : 6)));
    opts.push(new Uint8Array(4)); // opt_endofopt
    const optLen = opts.reduce((n, x) => n + x.length, 0);
    const idbLen = 20 + optLen;
    const idb = new Uint8Array(idbLen);
    const d = new DataView(idb.buffer);
    d.setUint32(0, 1, true);
    d.setUint32(4, idbLen, true);
    d.setUint16(8, this.linkType, true);
    d.setUint32(12, this.snapLen, true);
    let p = 16;
    for (const o of opts) {
      idb.set(o, p);
      p += o.length;
    }
    d.setUint32(idbLen - 4, idbLen, true);
    this.write(idb);
  }

  private closeFile(ms: number): void {
    if (!this.file) return;
    const st = this.o.stats?.();
    if (st) {
      // interface statistics block: isb_ifdrop (5), isb_filteraccept (6), isb_osdrop (7) when known
      const opts: Uint8Array[] = [];
      const u64 = (code: number, n: number): Uint8Array => {
        const o = new Uint8Array(8);
        new DataView(o.buffer).setBigUint64(0, BigInt(n), true);
        return option(code, o);
      };
      if (st.receivedByFilter !== undefined) opts.push(u64(6, st.receivedByFilter));
      if (st.droppedByInterface !== undefined) opts.push(u64(5, st.droppedByInterface));
      if (st.droppedByKernel !== undefined) opts.push(u64(7, st.droppedByKernel));
      if (opts.length) {
        opts.push(new Uint8Array(4));
        const optLen = opts.reduce((n, x) => n + x.length, 0);
        const len = 24 + optLen;
        const b = new Uint8Array(len);
        const v = new DataView(b.buffer);
        const units = BigInt(Math.floor(ms * (this.nanos ? 1e6 : 1e3)));
        v.setUint32(0, 5, true);
        v.setUint32(4, len, true);
        v.setUint32(8, 0, true);
        v.setUint32(12, Number(units >> 32n), true);
        v.setUint32(16, Number(units & 0xffffffffn), true);
        let p = 20;
        for (const o of opts) {
          b.set(o, p);
          p += o.length;
        }
        v.setUint32(len - 4, len, true);
        this.write(b);
      }
    }
    this.file.close();
    this.file = undefined;
  }

  /** Close the current file (with the final counters). */
  end(lastMs = this.fileStartMs): void {
    this.closeFile(lastMs);
  }
}

function option(code: number, value: Uint8Array): Uint8Array {
  const o = new Uint8Array(4 + pad4(value.length));
  const v = new DataView(o.buffer);
  v.setUint16(0, code, true);
  v.setUint16(2, value.length, true);
  o.set(value, 4);
  return o;
}
