import { CodecError, hex2 } from './errors.js';
import { MAX_APDU_LENGTH, MIN_APDU_LENGTH, START_BYTE } from './apci.js';

/** What the splitter reports besides frames. */
export interface SplitterEvents {
  /** A complete APDU (start byte, length and body). Valid until the next `push` (copy to keep). */
  frame(apdu: Uint8Array, streamOffset: number): void;
  /** Bytes skipped before a start byte was found, with their position in the stream. */
  junk?(bytes: Uint8Array, streamOffset: number): void;
  /** A start byte followed by an impossible length octet: the splitter skips it and resynchronises. */
  error?(err: CodecError): void;
}

/**
 * Streaming APDU splitter: accepts TCP data in any chunking (one byte at a time, many APDUs per
 * chunk, an APDU over several chunks), emits whole APDUs, skips and reports junk before a start
 * byte, and never buffers more than one APDU (255 bytes) of its own.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { ApduSplitter } from 'iec104';
 * const frames: number[][] = [];
 * const s = new ApduSplitter({ frame: (f) => frames.push([...f]) });
 * s.push(Uint8Array.from([0x68, 0x04, 0x07]));
 * s.push(Uint8Array.from([0x00, 0x00, 0x00, 0x68, 0x04, 0x0b, 0, 0, 0]));
 * assert.deepEqual(frames, [[0x68, 4, 7, 0, 0, 0], [0x68, 4, 0x0b, 0, 0, 0]]);
 * ```
 */
export class ApduSplitter {
  /**
   * The APDU being completed across chunks; made the first time one is split (a capture analyser
   * keeps a splitter per followed direction, and most see whole APDUs or none).
   */
  private pending: Uint8Array | undefined;
  private pendingLen = 0;
  /** Total bytes consumed so far. */
  private offset = 0;
  /** Count of bytes skipped as junk. */
  junkBytes = 0;
  /** Count of frames emitted. */
  frames = 0;

  constructor(private readonly ev: SplitterEvents) {}

  /** Bytes of an incomplete APDU held now (0..254). */
  get buffered(): number {
    return this.pendingLen;
  }

  /** Feed bytes. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    // Finish an APDU started in an earlier chunk (pendingLen > 0: `pending` exists).
    const pending = this.pending!;
    while (this.pendingLen > 0 && i < n) {
      if (this.pendingLen === 1) {
        const len = chunk[i];
        if (len < MIN_APDU_LENGTH || len > MAX_APDU_LENGTH) {
          this.badLength(this.offset - 1, len);
          this.junkBytes += 1;
          this.ev.junk?.(pending.subarray(0, 1), this.offset - 1);
          this.pendingLen = 0;
          continue; // re-scan this byte as a possible start
        }
        pending[1] = len;
        this.pendingLen = 2;
        i++;
        this.offset++;
        continue;
      }
      const need = pending[1] + 2 - this.pendingLen;
      const take = Math.min(need, n - i);
      pending.set(chunk.subarray(i, i + take), this.pendingLen);
      this.pendingLen += take;
      i += take;
      this.offset += take;
      if (take === need) {
        const total = this.pendingLen;
        this.pendingLen = 0;
        this.frames++;
        this.ev.frame(pending.subarray(0, total), this.offset - total);
      }
    }
    while (i < n) {
      if (chunk[i] !== START_BYTE) {
        let j = i + 1;
        while (j < n && chunk[j] !== START_BYTE) j++;
        this.junkBytes += j - i;
        this.ev.junk?.(chunk.subarray(i, j), this.offset);
        this.offset += j - i;
        i = j;
        continue;
      }
      if (i + 1 >= n) {
        (this.pending ??= new Uint8Array(MAX_APDU_LENGTH + 2))[0] = START_BYTE;
        this.pendingLen = 1;
        this.offset += 1;
        return;
      }
      const len = chunk[i + 1];
      if (len < MIN_APDU_LENGTH || len > MAX_APDU_LENGTH) {
        this.badLength(this.offset, len);
        // skip the start byte only; the length octet may itself be a start byte
        this.junkBytes += 1;
        this.ev.junk?.(chunk.subarray(i, i + 1), this.offset);
        i += 1;
        this.offset += 1;
        continue;
      }
      const total = len + 2;
      if (i + total <= n) {
        this.frames++;
        this.ev.frame(chunk.subarray(i, i + total), this.offset);
        i += total;
        this.offset += total;
      } else {
        const rest = n - i;
        (this.pending ??= new Uint8Array(MAX_APDU_LENGTH + 2)).set(chunk.subarray(i, n), 0);
        this.pendingLen = rest;
        this.offset += rest;
        return;
      }
    }
  }

  /** Drop any partial APDU (for example when the connection closes). Returns how many bytes were dropped. */
  reset(): number {
    const n = this.pendingLen;
    this.pendingLen = 0;
    return n;
  }

  private badLength(at: number, len: number): void {
    this.ev.error?.(new CodecError('E_APDU_LENGTH', at + 1, 'APDU length', `${MIN_APDU_LENGTH}..${MAX_APDU_LENGTH}`, `${len} (${hex2(len)})`));
  }
}
