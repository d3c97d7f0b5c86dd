/**
 * Injectable time source. Every timer of the stack (t0..t3, select timeouts, reconnect back-off)
 * goes through a {@link Clock}, so tests drive time with {@link VirtualClock} instead of sleeping.
 */

/** Opaque timer handle. */
export interface TimerHandle {
  readonly id: number;
}

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle | undefined): void;
  /**
   * Keep the process alive until the returned function is called (timers of the system clock are
   * unref'd and never do that on their own). Used while something must happen later with no
   * socket open, e.g. a reconnect back-off. Optional: virtual clocks have no process to hold.
   */
  hold?(): () => void;
}

/** Handle of a {@link systemClock} timer: carries the Node timer itself (no lookup table). */
class SystemTimer implements TimerHandle {
  constructor(
    readonly id: number,
    readonly timeout: NodeJS.Timeout,
  ) {}
}

/** The real clock: `performance.now()` and Node timers (unref'd, so they never keep a process alive on their own). */
export const systemClock: Clock = (() => {
  let seq = 0;
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      // The handle holds the Node timer: no id -> timer map and no wrapper closure per timer (the
      // master arms one per request). Clearing a timer that already fired is a no-op for Node.
      const t = setTimeout(fn, ms);
      t.unref?.();
      return new SystemTimer(++seq, t);
    },
    clearTimeout(h) {
      if (h instanceof SystemTimer) clearTimeout(h.timeout);
    },
    hold() {
      // a ref'd interval that never fires in practice (~24.8 days): it only keeps the loop alive
      const t = setInterval(() => {}, 2 ** 31 - 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        clearInterval(t);
      };
    },
  };
})();

/**
 * A clock that only moves when told to. Timers fire in deadline order during {@link advance}.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { VirtualClock } from 'iec104';
 * const clock = new VirtualClock();
 * let fired = 0;
 * clock.setTimeout(() => fired++, 15_000);
 * clock.advance(14_999);
 * assert.equal(fired, 0);
 * clock.advance(1);
 * assert.equal(fired, 1);
 * ```
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void; seq: number }>();

  constructor(start = 0) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, seq: id });
    return { id };
  }
  clearTimeout(h: TimerHandle | undefined): void {
    if (h) this.timers.delete(h.id);
  }
  /** Number of pending timers. */
  get pending(): number {
    return this.timers.size;
  }
  /** Deadline of the next timer, or undefined. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const v of this.timers.values()) if (best === undefined || v.at < best) best = v.at;
    return best;
  }
  /** Move time forward by `ms`, firing due timers in order (timers set by fired timers fire too when due). */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      let nextId = -1;
      let next: { at: number; fn: () => void; seq: number } | undefined;
      for (const [id, v] of this.timers) {
        if (v.at <= target && (next === undefined || v.at < next.at || (v.at === next.at && v.seq < next.seq))) {
          next = v;
          nextId = id;
        }
      }
      if (!next) break;
      this.timers.delete(nextId);
      this.t = next.at;
      next.fn();
    }
    this.t = target;
  }
}
