/**
 * Checks a stream of numbered events (M_ME_NC_1 spontaneous, value = sequence number, as the
 * redundancy and chaos tests raise them): counts re-sent duplicates, records gaps and reordering.
 */
import assert from 'node:assert/strict';
import type { Asdu } from '../../src/codec/asdu.js';

export class NumberedStream {
  last = -1;
  seen = 0;
  duplicates = 0;
  readonly errors: string[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  /** `onNext` runs after each number that arrives in order (the chaos test kills a connection from it). */
  constructor(private readonly onNext?: (v: number) => void) {}

  /** Feed a received ASDU (anything but spontaneous M_ME_NC_1 is ignored). */
  add(a: Asdu): void {
    if (a.typeId !== 13 || a.cot !== 3) return;
    for (const o of a.objects) {
      const v = Number(o.value);
      if (v <= this.last) this.duplicates++;
      else if (v === this.last + 1) {
        this.last = v;
        this.seen++;
        this.onNext?.(v);
      } else {
        if (this.errors.length < 10) this.errors.push(`got ${v} after ${this.last}: ${v - this.last - 1} missing`);
        this.last = v;
      }
    }
    if (this.waiters.length === 0) return;
    for (const w of [...this.waiters]) {
      if (this.last >= w.n - 1) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }

  /** Resolves once numbers up to n-1 arrived (rejects after `ms` of real time: a test guard, not protocol time). */
  until(n: number, what: string, ms = 20_000): Promise<void> {
    if (this.last >= n - 1) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${what}: timed out, ${this.seen} seen, last ${this.last}; ${this.errors.join('; ')}`)), ms);
      t.unref();
      this.waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  /** Every number 0..n-1 arrived, in order, without gap. */
  complete(n: number, what: string): void {
    assert.deepEqual(this.errors, [], `${what}: no gap and no reordering`);
    assert.equal(this.seen, n, `${what}: every event arrived`);
    assert.equal(this.last, n - 1, what);
  }
}
