/**
 * The sensor's disk buffer: every envelope is appended to a segment file before it goes to a
 * broker, and leaves the disk only when every destination acknowledged it (or when the buffer is
 * full: then the OLDEST segment is dropped and its undelivered envelopes are counted).
 *
 * Layout of the directory:
 * - `seg-<first seq, 16 digits>.log`: one line per envelope, `<seq>\t<site>\t<kind>\t<JSON>\n`
 *   (the prefix lets a reader route a line without parsing the JSON); segments roll at
 *   {@link DiskBufferOptions.segmentBytes}; the newest one is the only one written.
 * - `state.json`: the sensor name the buffer belongs to and, per destination (broker URL), the
 *   last sequence number it acknowledged.
 *
 * The next sequence number after a restart is one more than the last envelope of the newest
 * segment (the newest segment is never deleted, even when delivered), so `seq` continues across
 * sensor restarts. A line cut short by a crash is cut off when the buffer opens.
 *
 * Memory stays bounded: the buffer keeps one small record per segment and one read position per
 * destination; envelopes are read back from the files in batches.
 *
 * @packageDocumentation
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetEnvelope, FleetKind } from './envelope.js';

/** The buffer directory cannot be used (not writable, or it belongs to another sensor). */
export class FleetBufferError extends Error {
  readonly code = 'E_FLEET_BUFFER';
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(`buffer directory ${dir}: ${message}`);
    this.name = 'FleetBufferError';
  }
}

/** Options of {@link DiskBuffer.open}. */
export interface DiskBufferOptions {
  /** The directory (created when missing). One directory per sensor. */
  dir: string;
  /** Sensor name: the buffer refuses a directory of another sensor (its `seq` would collide). */
  sensor: string;
  /** Most octets the segment files may hold together; beyond, the oldest segment is dropped. */
  maxBytes: number;
  /** Size at which a segment is closed and a new one begun (default maxBytes/8, 1 KiB..16 MiB). */
  segmentBytes?: number;
  /** The destinations (broker URL keys) delivered to in this run. */
  destinations: readonly string[];
}

/** One buffered envelope as read back: its routing fields and its JSON payload. */
export interface BufferedEnvelope {
  seq: number;
  site: string;
  kind: FleetKind;
  /** The envelope's JSON text (the message payload). */
  json: string;
}

/** What {@link DiskBuffer.append} did to make room. */
export interface AppendResult {
  seq: number;
  /** Envelopes dropped (undelivered to at least one destination) to make room; 0 normally. */
  dropped: number;
}

interface Segment {
  first: number;
  last: number; // first - 1 while empty
  bytes: number;
  path: string;
}

interface Cursor {
  seg: number; // segment's first seq
  offset: number;
  seq: number; // seq of the line at offset
}

/** Smallest `--buffer-size`: a few segments of 1 KiB. */
export const MIN_BUFFER_BYTES = 8192;

const STATE = 'state.json';
const SEGMENT = /^seg-(\d{16})\.log$/;

function segName(first: number): string {
  return `seg-${String(first).padStart(16, '0')}.log`;
}

/** See the module comment. */
export class DiskBuffer {
  private readonly segments: Segment[] = [];
  private fd: number | undefined;
  private next = 1;
  private readonly acked = new Map<string, number>();
  private readonly cursors = new Map<string, Cursor>();
  private total = 0;
  private droppedTotal = 0;
  private readonly segmentBytes: number;
  private stateDirty = false;

  private constructor(private readonly o: DiskBufferOptions) {
    this.segmentBytes = o.segmentBytes ?? Math.min(16 << 20, Math.max(1024, Math.floor(o.maxBytes / 8)));
  }

  /** Opens (or creates) the buffer; throws {@link FleetBufferError}. */
  static open(o: DiskBufferOptions): DiskBuffer {
    const b = new DiskBuffer(o);
    try {
      mkdirSync(o.dir, { recursive: true });
    } catch (e) {
      throw new FleetBufferError(o.dir, `cannot create it (${(e as Error).message})`);
    }
    let state: { sensor?: unknown; acked?: unknown; next?: unknown } = {};
    const sp = join(o.dir, STATE);
    if (existsSync(sp)) {
      try {
        state = JSON.parse(readFileSync(sp, 'utf8')) as typeof state;
      } catch (e) {
        throw new FleetBufferError(o.dir, `${STATE} is not readable JSON (${(e as Error).message}); remove the directory to start afresh`);
      }
      if (state.sensor !== o.sensor) {
        throw new FleetBufferError(o.dir, `it belongs to sensor ${JSON.stringify(state.sensor)}, not ${JSON.stringify(o.sensor)} (give each sensor its own --buffer-dir)`);
      }
    }
    let names: string[];
    try {
      names = readdirSync(o.dir).filter((n) => SEGMENT.test(n)).sort();
    } catch (e) {
      throw new FleetBufferError(o.dir, `cannot read it (${(e as Error).message})`);
    }
    for (const n of names) {
      const first = Number(SEGMENT.exec(n)![1]);
      b.segments.push({ first, last: first - 1, bytes: 0, path: join(o.dir, n) });
    }
    // sizes and last seq of every segment; the newest may end in a line cut by a crash
    for (let i = 0; i < b.segments.length; i++) {
      const s = b.segments[i];
      const text = readFileSync(s.path);
      const end = text.lastIndexOf(0x0a) + 1;
      if (end < text.length) {
        const fd = openSync(s.path, 'r+');
        ftruncateSync(fd, end);
        closeSync(fd);
      }
      s.bytes = end;
      if (end > 0) {
        const start = text.lastIndexOf(0x0a, end - 2) + 1;
        const seq = Number(text.subarray(start, text.indexOf(0x09, start)).toString('latin1'));
        if (Number.isSafeInteger(seq) && seq >= s.first) s.last = seq;
      }
      b.total += s.bytes;
    }
    const lastSeg = b.segments.at(-1);
    const stateNext = typeof state.next === 'number' && Number.isSafeInteger(state.next) ? state.next : 1;
    b.next = Math.max(stateNext, lastSeg ? lastSeg.last + 1 : 1);
    const oldest = b.segments[0] ? b.segments[0].first - 1 : b.next - 1;
    const acked = (state.acked ?? {}) as Record<string, unknown>;
    for (const d of o.destinations) {
      const a = acked[d];
      // a new destination gets what the buffer still holds
      b.acked.set(d, typeof a === 'number' && Number.isSafeInteger(a) ? Math.max(a, oldest) : oldest);
    }
    if (!lastSeg) b.startSegment();
    else b.fd = openSync(lastSeg.path, 'a');
    b.stateDirty = true;
    b.saveState();
    return b;
  }

  /** The sequence number the next envelope gets. */
  get nextSeq(): number {
    return this.next;
  }

  /** Octets in the segment files. */
  get bytes(): number {
    return this.total;
  }

  /** Segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Envelopes dropped because the buffer was full (this run). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Last sequence number `dest` acknowledged. */
  ackedBy(dest: string): number {
    return this.acked.get(dest) ?? this.next - 1;
  }

  /** Envelopes not yet acknowledged by `dest`. */
  pending(dest: string): number {
    return this.next - 1 - this.ackedBy(dest);
  }

  /**
   * Appends an envelope made by `make(seq)` (the buffer assigns the sequence number). Written to
   * the file before this returns. When the files then exceed the maximum, the oldest segment is
   * dropped.
   */
  append(make: (seq: number) => FleetEnvelope): AppendResult {
    const seq = this.next;
    const e = make(seq);
    if (e.seq !== seq) throw new Error(`DiskBuffer.append: the envelope has seq ${e.seq}, expected ${seq}`);
    const line = `${seq}\t${e.site}\t${e.kind}\t${JSON.stringify(e)}\n`;
    const buf = Buffer.from(line, 'utf8');
    let cur = this.segments.at(-1)!;
    if (cur.bytes > 0 && cur.bytes + buf.length > this.segmentBytes) {
      this.startSegment();
      cur = this.segments.at(-1)!;
    }
    writeSync(this.fd!, buf);
    cur.bytes += buf.length;
    cur.last = seq;
    this.total += buf.length;
    this.next = seq + 1;
    let dropped = 0;
    while (this.total > this.o.maxBytes && this.segments.length > 1) dropped += this.dropOldest();
    return { seq, dropped };
  }

  /**
   * Reads up to `max` envelopes for `dest` from sequence number `from` on (in order). Returns
   * fewer (or none) at the end; when `from` was dropped, starts at the oldest envelope held.
   */
  read(dest: string, from: number, max: number): BufferedEnvelope[] {
    const out: BufferedEnvelope[] = [];
    if (this.segments.length === 0 || from >= this.next) return out;
    let c = this.cursors.get(dest);
    if (!c || c.seq !== from || !this.segments.some((s) => s.first === c!.seg)) c = this.locate(from);
    let budget = 1 << 20;
    while (out.length < max && budget > 0) {
      const si = this.segments.findIndex((s) => s.first === c!.seg);
      if (si < 0) break;
      const s = this.segments[si];
      if (c.offset >= s.bytes) {
        const nx = this.segments[si + 1];
        if (!nx) break;
        c = { seg: nx.first, offset: 0, seq: nx.first };
        continue;
      }
      let chunk = this.readAt(s, c.offset, Math.min(s.bytes - c.offset, 256 * 1024));
      // a line longer than the chunk: read the rest of the segment
      if (chunk.indexOf(0x0a) < 0) chunk = this.readAt(s, c.offset, s.bytes - c.offset);
      let pos = 0;
      let seq: number = c.seq - 1;
      while (out.length < max) {
        const nl = chunk.indexOf(0x0a, pos);
        if (nl < 0) break;
        const line = chunk.toString('utf8', pos, nl);
        const t1 = line.indexOf('\t');
        const t2 = line.indexOf('\t', t1 + 1);
        const t3 = line.indexOf('\t', t2 + 1);
        seq = Number(line.slice(0, t1));
        if (seq >= from) out.push({ seq, site: line.slice(t1 + 1, t2), kind: line.slice(t2 + 1, t3) as FleetKind, json: line.slice(t3 + 1) });
        pos = nl + 1;
      }
      if (pos === 0) break;
      c = { seg: s.first, offset: c.offset + pos, seq: seq + 1 };
      budget -= pos;
    }
    this.cursors.set(dest, c);
    return out;
  }

  private readAt(s: Segment, offset: number, len: number): Buffer {
    const fd = openSync(s.path, 'r');
    try {
      const b = Buffer.allocUnsafe(len);
      const n = readSync(fd, b, 0, len, offset);
      return b.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  /** A cursor at the line of `seq` (or the oldest held, when dropped). */
  private locate(seq: number): Cursor {
    const s = this.segments.find((x) => x.last >= seq && x.first <= seq) ?? (seq < this.segments[0].first ? this.segments[0] : this.segments.at(-1)!);
    if (seq <= s.first) return { seg: s.first, offset: 0, seq: s.first };
    // scan the segment for the line
    let offset = 0;
    let cur = s.first;
    while (offset < s.bytes) {
      const chunk = this.readAt(s, offset, Math.min(s.bytes - offset, 256 * 1024));
      let pos = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, pos);
        if (nl < 0) break;
        const lineSeq = Number(chunk.toString('latin1', pos, chunk.indexOf(0x09, pos)));
        if (lineSeq >= seq) return { seg: s.first, offset: offset + pos, seq: lineSeq };
        cur = lineSeq + 1;
        pos = nl + 1;
      }
      if (pos === 0) break;
      offset += pos;
    }
    return { seg: s.first, offset, seq: cur };
  }

  /** `dest` acknowledged every envelope up to `seq`: segments every destination has are deleted. */
  ack(dest: string, seq: number): void {
    const prev = this.acked.get(dest);
    if (prev !== undefined && seq <= prev) return;
    this.acked.set(dest, seq);
    this.stateDirty = true;
    this.trim();
  }

  /** Writes the delivery positions (called by the publisher now and then, and on close). */
  saveState(): void {
    if (!this.stateDirty) return;
    this.stateDirty = false;
    const p = join(this.o.dir, STATE);
    const tmp = `${p}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, sensor: this.o.sensor, next: this.next, acked: Object.fromEntries(this.acked) }) + '\n');
    renameSync(tmp, p);
  }

  /** Saves the state and closes the file. */
  close(): void {
    this.stateDirty = true;
    this.saveState();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private startSegment(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    const first = this.next;
    const path = join(this.o.dir, segName(first));
    this.fd = openSync(path, 'a');
    const st = fstatSync(this.fd);
    this.segments.push({ first, last: first - 1, bytes: st.size, path });
    this.total += st.size;
    this.trim();
  }

  private minAcked(): number {
    let m = this.next - 1;
    for (const a of this.acked.values()) m = Math.min(m, a);
    return m;
  }

  private trim(): void {
    const m = this.minAcked();
    while (this.segments.length > 1 && this.segments[0].last <= m) {
      const s = this.segments.shift()!;
      this.total -= s.bytes;
      // the state is saved before the file goes, so a restart never resends what was delivered
      this.stateDirty = true;
      this.saveState();
      unlinkSync(s.path);
    }
  }

  /** Drops the oldest segment (buffer full); returns the envelopes some destination had not had. */
  private dropOldest(): number {
    const s = this.segments.shift()!;
    this.total -= s.bytes;
    let lost = 0;
    for (const [d, a] of this.acked) {
      if (a < s.last) {
        lost = Math.max(lost, s.last - Math.max(a, s.first - 1));
        this.acked.set(d, s.last);
      }
    }
    this.droppedTotal += lost;
    this.stateDirty = true;
    this.saveState();
    unlinkSync(s.path);
    return lost;
  }
}
