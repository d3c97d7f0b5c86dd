/**
 * Output buffer of `iec104 analyze`: lines are written as bytes straight into a large buffer
 * (digits, ASCII text and pre-encoded names), flushed to the stream in chunks of up to 4 MiB.
 * Building a JavaScript string per APDU line and converting it to UTF-8 cost more than the
 * whole capture decoding; this writer produces the same bytes without either.
 */
import { cotShortName } from '../codec/cause.js';
import type { InformationObject } from '../codec/asdu.js';
import { octetsToHex } from '../codec/explain.js';
import { objectText } from '../codec/object-text.js';
import { typeName } from '../codec/type-table.js';
import { type ApduRecord, recordJsonHead, recordJsonTail } from '../capture/analyze.js';

const enc = new TextEncoder();
const JSON_DIR_BYTES = { 'master→station': enc.encode('"master→station"'), 'station→master': enc.encode('"station→master"'), none: enc.encode('null') };

/** Pre-encoded `typeName(t) + ' '` for every type identification. */
const TYPE_BYTES: Uint8Array[] = Array.from({ length: 256 }, (_, t) => enc.encode(typeName(t) + ' '));
/** Pre-encoded cause short names for 0..63 (the whole 6-bit range). */
const COT_BYTES: Uint8Array[] = Array.from({ length: 64 }, (_, c) => enc.encode(cotShortName(c)));
const U_BYTES = new Map<string, Uint8Array>();
/** ` …+` before the number of objects not shown. */
const MORE = enc.encode(' …+');

/** Output sink: the stream `iec104 analyze` writes to. */
export interface OutStream {
  write(chunk: Uint8Array): boolean;
  on(ev: 'error' | 'drain', f: () => void): unknown;
  off(ev: 'error' | 'drain', f: () => void): unknown;
}

/**
 * Buffered line output. {@link OutBuffer.recordLine} and {@link OutBuffer.recordJson} write the
 * text and `--json` APDU lines byte-identical to `formatRecordLine` / `recordJsonText`.
 */
export class OutBuffer {
  private static readonly SIZE = 4 << 20;
  private buf = Buffer.allocUnsafe(OutBuffer.SIZE);
  private pos = 0;
  private full: Buffer[] = [];
  private fullBytes = 0;
  /** Bytes written before `buf[0]`. */
  private base = 0;
  private holding = false;
  private held: Array<{ start: number; b: Buffer }> = [];
  broken = false;
  constructor(private readonly stdout: OutStream) {
    stdout.on('error', this.onErr);
  }
  private readonly onErr = (): void => {
    this.broken = true;
  };

  /** Bytes written so far and not flushed. */
  get pending(): number {
    return this.fullBytes + this.pos + this.held.reduce((n, x) => n + x.b.length, 0);
  }

  /** One line of any text. */
  line(s: string): void {
    this.room(s.length * 3 + 1);
    this.pos += this.buf.write(s, this.pos);
    this.buf[this.pos++] = 10;
  }

  /** Raw bytes (already complete lines). */
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The line of `formatRecordLine(r)`. */
  recordLine(r: ApduRecord): void {
    // worst case: every character 3 UTF-8 octets; the objects shown (at most 4) make room for their own text
    this.room((r.ts.length + r.src.length + r.dst.length) * 3 + 200 + (r.error ? r.error.message.length * 3 + (r.raw?.length ?? 0) * 3 : 0) + (r.apdu?.asdu?.warnings?.length ?? 0) * 40);
    this.padInt(r.frame, 8);
    this.buf[this.pos++] = 32;
    this.text(r.ts);
    // the addresses are the same for the APDUs of one direction of a flow: encoded once, copied
    this.copy(this.endpoints(r));
    this.recordTail(r);
    this.buf[this.pos++] = 10;
  }

  /** The line of `recordJsonText(r)`. */
  recordJson(r: ApduRecord): void {
    const head = recordJsonHead(r);
    const tail = recordJsonTail(r);
    this.room((head.length + tail.length) * 3 + 24);
    this.text(head);
    this.raw(JSON_DIR_BYTES[r.direction ?? 'none']);
    this.text(tail);
    this.buf[this.pos++] = 10;
  }

  private readonly pairs = new Map<string, { dst: string; dir: ApduRecord['direction']; bytes: Uint8Array }>();

  /** Bytes of ` src → dst DIR` (cached per sender; replaced when its receiver or direction changes). */
  private endpoints(r: ApduRecord): Uint8Array {
    let e = this.pairs.get(r.src);
    if (e === undefined || e.dst !== r.dst || e.dir !== r.direction) {
      if (this.pairs.size >= 4096) this.pairs.clear();
      e = { dst: r.dst, dir: r.direction, bytes: enc.encode(` ${r.src} → ${r.dst}${r.direction === 'master→station' ? ' M→S' : r.direction === 'station→master' ? ' S→M' : ' ?→?'}`) };
      this.pairs.set(r.src, e);
    }
    return e.bytes;
  }

  /** Copy bytes (short ones element by element: cheaper than `set` for a few dozen octets). */
  private copy(src: Uint8Array): void {
    const b = this.buf;
    const p = this.pos;
    const n = src.length;
    if (n > 64) b.set(src, p);
    else for (let i = 0; i < n; i++) b[p + i] = src[i];
    this.pos = p + n;
  }

  /** Hand what was written (and released, when holding) to the stream; resolves when the stream can take more. */
  async flush(): Promise<void> {
    this.seal();
    if (this.full.length === 0) return;
    const chunks = this.full;
    this.full = [];
    this.fullBytes = 0;
    if (this.broken) return;
    let ok = true;
    for (const c of chunks) ok = this.stdout.write(c) && ok;
    if (!ok) {
      await new Promise<void>((res) => {
        const done = (): void => {
          this.stdout.off('drain', done);
          this.stdout.off('error', done);
          res();
        };
        this.stdout.on('drain', done);
        this.stdout.on('error', done);
      });
    }
  }

  /**
   * Hold what is written from now on: it reaches the stream only through {@link OutBuffer.release}
   * (lines can then be inserted at earlier {@link OutBuffer.mark}s with {@link OutBuffer.insertLine}).
   */
  hold(): void {
    this.seal();
    this.holding = true;
  }

  /** Position of the next byte written (for {@link OutBuffer.release}). */
  mark(): number {
    return this.base + this.pos;
  }

  /** Release held bytes before position `upTo` (a {@link OutBuffer.mark}) to the stream queue. */
  release(upTo: number): void {
    if (upTo > this.base) this.seal();
    const h = this.held;
    let i = 0;
    for (; i < h.length; i++) {
      const { start, b } = h[i];
      if (start >= upTo) break;
      const end = start + b.length;
      if (end <= upTo) {
        this.full.push(b);
        this.fullBytes += b.length;
      } else {
        const cut = upTo - start;
        this.full.push(b.subarray(0, cut));
        this.fullBytes += cut;
        h[i] = { start: upTo, b: b.subarray(cut) };
        break;
      }
    }
    if (i > 0) h.splice(0, i);
  }

  /** A line straight to the stream queue, after what was released so far (holding only). */
  insertLine(s: string): void {
    const b = Buffer.from(s + '\n');
    this.full.push(b);
    this.fullBytes += b.length;
  }

  /** Stop holding: release everything. */
  unhold(): void {
    this.release(Infinity);
    this.holding = false;
  }

  /** Stop listening for stream errors. */
  detach(): void {
    this.stdout.off('error', this.onErr);
  }

  /** What follows `frame ts src → dst dir` (see `recordLineTail` in analyze.ts). */
  private recordTail(r: ApduRecord): void {
    const a0 = r.apdu;
    if (!a0) {
      this.text(` ERROR ${r.error?.message ?? ''}${r.raw ? ' [' + octetsToHex(r.raw) + ']' : ''}`);
      return;
    }
    const c = a0.apci;
    const b = this.buf;
    if (c.format === 'U') {
      let u = U_BYTES.get(c.uFunction);
      if (u === undefined) U_BYTES.set(c.uFunction, (u = enc.encode(` U ${c.uFunction}`)));
      this.raw(u);
      return;
    }
    if (c.format === 'S') {
      this.ascii(' S(');
      this.int(c.recvSeq);
      b[this.pos++] = 41; // )
      return;
    }
    const a = a0.asdu!;
    this.ascii(' I(');
    this.int(c.sendSeq);
    b[this.pos++] = 44; // ,
    this.int(c.recvSeq);
    this.ascii(') ');
    this.raw(TYPE_BYTES[a.typeId]);
    if (a.cot < 64) this.raw(COT_BYTES[a.cot]);
    else this.text(cotShortName(a.cot));
    if (a.negative) this.ascii(' neg');
    if (a.test) this.ascii(' test');
    this.ascii(' ca=');
    this.int(a.ca);
    if (a.originator) {
      this.ascii(' oa=');
      this.int(a.originator);
    }
    const o = a.objects;
    const n = o.length;
    if (n > 0) {
      // `IOA=value flags` of up to four objects, then ` …+N` (as objectsText)
      const shown = n > 4 ? 4 : n;
      for (let i = 0; i < shown; i++) {
        this.ascii(i ? ', ' : ' ');
        this.objectText(a.typeId, o[i]);
      }
      if (n > 4) {
        this.raw(MORE);
        this.int(n - 4);
      }
    } else if (a.rawCount !== undefined) {
      this.ascii(' objects=');
      this.int(a.rawCount);
      this.ascii(' (raw)');
    }
    if (a.warnings?.length) {
      const w = ` !${a.warnings.map((x) => x.code).join(',')}`;
      this.room(w.length * 3 + 1);
      this.text(w);
    }
  }

  /**
   * {@link objectText} of one object, with room made for it (a qualifier can be long) and for what
   * may follow it on the line without a check of its own (`, `, ` …+N`, the line feed).
   */
  private objectText(typeId: number, obj: InformationObject): void {
    const t = objectText(typeId, obj);
    this.room(t.length * 3 + 32);
    this.text(t);
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      this.seal();
      if (this.buf.length < Math.max(n, 64 << 10)) this.buf = Buffer.allocUnsafe(Math.max(OutBuffer.SIZE, n));
    }
  }

  /** Move the written part of the buffer to the stream queue (or, holding, to the held queue). */
  private seal(): void {
    if (this.pos === 0) return;
    const part = this.buf.subarray(0, this.pos);
    if (this.holding) this.held.push({ start: this.base, b: part });
    else {
      this.full.push(part);
      this.fullBytes += this.pos;
    }
    this.base += this.pos;
    // the written part now belongs to the queue: continue in the rest, or a new buffer
    this.buf = this.buf.length - this.pos >= 64 << 10 ? this.buf.subarray(this.pos) : Buffer.allocUnsafe(OutBuffer.SIZE);
    this.pos = 0;
  }

  private raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Text known to be ASCII (literals of this file). */
  private ascii(s: string): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any text: copied byte by byte while ASCII, the rest through the UTF-8 encoder. */
  private text(s: string): void {
    const b = this.buf;
    let p = this.pos;
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch >= 0x80) {
        this.pos = p + b.write(s.slice(i), p);
        return;
      }
      b[p++] = ch;
    }
    this.pos = p;
  }

  /** A non-negative integer in decimal (anything else through its string form). */
  private int(v: number): void {
    if (!(v >= 0 && v < 4294967296) || v !== Math.floor(v)) {
      this.text(String(v));
      return;
    }
    const b = this.buf;
    if (v < 10) {
      b[this.pos++] = 48 + v;
      return;
    }
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    do {
      const q = Math.floor(v / 10);
      b[--p] = 48 + (v - q * 10);
      v = q;
    } while (v > 0);
  }

  /** An integer right-aligned in `width` columns (as `String(v).padStart(width)`). */
  private padInt(v: number, width: number): void {
    if (!(v >= 0 && v < 4294967296) || v !== Math.floor(v)) {
      this.text(String(v).padStart(width));
      return;
    }
    let digits = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
    for (let i = digits; i < width; i++) this.buf[this.pos++] = 32;
    this.int(v);
  }
}
